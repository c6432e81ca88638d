/* test_qmix.c: QMIX (learner/qmix.c) and the off-policy plumbing
 * (learner/offpolicy.c).
 *
 *   - mixer: Q_tot and its gradients w.r.t. every mixer parameter (the
 *     hypernetworks, through |.| of W1 and W2) and w.r.t. the agent Qs,
 *     against central differences (h = 1e-6) of a double-precision reference;
 *     the batch is checked to hold raw hypernetwork outputs of both signs, so
 *     the sign of d|w|/dw is exercised both ways;
 *   - the whole TD loss w.r.t. the agent networks (both classes, message
 *     encoders through the communication mean) and the mixer, the same way;
 *   - TD targets against the reference: double-Q (online argmax, target
 *     value) and plain max, done and trunc_obs_missing rows, unavailable
 *     actions masked out of the max;
 *   - updates: the loss falls on a fixed batch, hard target copies every
 *     target_update steps;
 *   - checkpoint round trips (qmix blob; the whole offpolicy blob with the
 *     replay) continue bit-for-bit; bad blobs are refused and change nothing;
 *   - transition extraction from a hand-made segment (dones, truncation,
 *     avail, n-step returns) and the replay ring's overwrite;
 *   - allocation failures during create are clean.
 */
#include "learner/offpolicy.h"
#include "learner/qmix.h"

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/runtime/runtime.h"

#include "tests/unit/test_util.h"

#include <string.h>

enum { N = 6, A = 3, O = 5, S = 6, NA = 4, C = 2, HID = 8, EMB = 4, HH = 5 };

static env_dims_t tiny_dims(void) {
  env_dims_t d;
  memset(&d, 0, sizeof d);
  d.n_agents = A;
  d.n_classes = 2;
  d.class_of[0] = d.class_of[1] = 0;
  d.class_of[2] = 1;
  d.class_first[0] = 0;
  d.class_first[1] = 2;
  d.class_count[0] = 2;
  d.class_count[1] = 1;
  d.class_obs_dim[0] = d.class_obs_dim[1] = O;
  d.class_n_actions[0] = d.class_n_actions[1] = NA;
  d.obs_dim = O;
  d.n_actions = NA;
  d.state_dim = S;
  d.base_state_dim = S;
  return d;
}

static hint_config_t tiny_cfg(int comm) {
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.algo.name = HINT_ALGO_QMIX;
  cfg.student.comm = comm;
  cfg.student.comm_dim = C;
  cfg.student.hidden = HID;
  cfg.student.layers = 2;
  cfg.offpolicy.batch_size = N;
  cfg.offpolicy.mixer_embed = EMB;
  cfg.offpolicy.hyper_hidden = HH;
  cfg.offpolicy.gamma = 0.9;
  cfg.offpolicy.lr = 1e-3;
  cfg.offpolicy.target_update = 1000000;
  return cfg;
}

typedef struct {
  hint_config_t cfg;
  env_dims_t dims;
  student_t *stu;
  qmix_t *q;
} fx_t;

static void fx_init(fx_t *f, int comm, int double_q) {
  f->cfg = tiny_cfg(comm);
  f->cfg.offpolicy.double_q = double_q;
  f->dims = tiny_dims();
  assert_int_equal(student_create(&f->stu, &f->cfg, &f->dims, N, 11), 0);
  assert_int_equal(qmix_create(&f->q, &f->cfg, &f->dims, f->stu, 11), 0);
}

static void fx_fini(fx_t *f) {
  qmix_destroy(&f->q);
  assert_null(f->q);
  student_destroy(&f->stu);
}

/* A batch with its own storage. */
typedef struct {
  float obs[N * A * O], state[N * S], next_obs[N * A * O], next_state[N * S], reward[N], done[N];
  int32_t actions[N * A];
  uint8_t avail[N * A * NA], next_avail[N * A * NA], trunc[N];
  offp_batch_t b;
} batch_t;

static void make_batch(batch_t *t, uint64_t seed) {
  hint_rng_t r;
  hint_rng_seed(&r, seed, 0, 0);
  for (int i = 0; i < N * A * O; i++) {
    t->obs[i] = (float)hint_rng_normal(&r);
    t->next_obs[i] = (float)hint_rng_normal(&r);
  }
  for (int i = 0; i < N * S; i++) {
    t->state[i] = (float)hint_rng_normal(&r);
    t->next_state[i] = (float)hint_rng_normal(&r);
  }
  for (int i = 0; i < N * A; i++)
    t->actions[i] = (int32_t)hint_rng_below(&r, NA);
  for (int p = 0; p < N; p++) {
    t->reward[p] = (float)hint_rng_normal(&r);
    t->done[p] = p == 1 ? 1.0f : 0.0f;
    t->trunc[p] = p == 4;
  }
  memset(t->avail, 1, sizeof t->avail);
  memset(t->next_avail, 1, sizeof t->next_avail);
  memset(&t->b, 0, sizeof t->b);
  t->b.n = N;
  t->b.obs = t->obs;
  t->b.state = t->state;
  t->b.actions = t->actions;
  t->b.reward = t->reward;
  t->b.done = t->done;
  t->b.next_obs = t->next_obs;
  t->b.next_state = t->next_state;
  t->b.trunc_obs_missing = t->trunc;
}

/* Adds Gaussian noise of scale sd to every float of an arena. */
static void jitter(nn_params_t *p, double sd, uint64_t seed) {
  hint_rng_t r;
  hint_rng_seed(&r, seed, 1, 1);
  for (size_t i = 0; i < p->n; i++)
    p->w[i] += (float)(sd * hint_rng_normal(&r));
}

/* ---- double-precision reference ----------------------------------------- */

typedef struct {
  size_t w, b; /* offsets of the (in, out) weight and the bias */
  int in, out;
} lay_t;

typedef struct {
  int n;
  lay_t l[4];
  int tanh_hidden; /* else relu */
} net_t;

/* out = net(x) in double; weights read from arena p at the offsets. */
static void net_fwd(const net_t *m, const double *p, const double *x, double *out) {
  double a[64], b[64];
  memcpy(a, x, sizeof(double) * (size_t)m->l[0].in);
  for (int l = 0; l < m->n; l++) {
    const lay_t *L = &m->l[l];
    for (int o = 0; o < L->out; o++) {
      double s = p[L->b + o];
      for (int i = 0; i < L->in; i++)
        s += a[i] * p[L->w + (size_t)i * L->out + o];
      if (l < m->n - 1)
        s = m->tanh_hidden ? tanh(s) : (s > 0 ? s : 0);
      b[o] = s;
    }
    memcpy(a, b, sizeof(double) * (size_t)L->out);
  }
  memcpy(out, a, sizeof(double) * (size_t)m->l[m->n - 1].out);
}

/* Sequential layers from offset `at`: dims d0 -> d1 -> ... */
static size_t seq_net(net_t *m, size_t at, const int *dims, int n_layers, int tanh_hidden) {
  m->n = n_layers;
  m->tanh_hidden = tanh_hidden;
  for (int l = 0; l < n_layers; l++) {
    m->l[l].in = dims[l];
    m->l[l].out = dims[l + 1];
    m->l[l].w = at;
    at += (size_t)dims[l] * dims[l + 1];
    m->l[l].b = at;
    at += (size_t)dims[l + 1];
  }
  return at;
}

typedef struct {
  net_t pol[2], enc[2];
  int comm;
  net_t hw1, hb1, hw2, hv;
  size_t n_mix;
} ref_t;

static void ref_init(ref_t *r, student_t *stu, int comm) {
  memset(r, 0, sizeof *r);
  r->comm = comm;
  for (int c = 0; c < 2; c++) {
    nn_mlp_t *m = student_policy_mlp(stu, c);
    const size_t off = m->offset;
    const int in = O + (comm ? C : 0);
    const int pd[] = {in, HID, HID, NA};
    assert_int_equal(seq_net(&r->pol[c], off, pd, 3, 1) - off, m->count);
    if (comm) { /* the class's encoder sits right before its policy (student.c) */
      const int ed[] = {O, HID, C};
      const size_t cnt = (size_t)O * HID + HID + (size_t)HID * C + C;
      seq_net(&r->enc[c], off - cnt, ed, 2, 1);
    }
  }
  const int w1[] = {S, HH, A * EMB}, b1[] = {S, EMB}, w2[] = {S, HH, EMB}, v[] = {S, EMB, 1};
  size_t at = 0;
  at = seq_net(&r->hw1, at, w1, 2, 0);
  at = seq_net(&r->hb1, at, b1, 1, 0);
  at = seq_net(&r->hw2, at, w2, 2, 0);
  at = seq_net(&r->hv, at, v, 2, 0);
  r->n_mix = at;
}

/* Q (n, A, NA) of the agent nets in arena sp. */
static void ref_agents(const ref_t *r, const double *sp, const float *obs, int n, double *Q) {
  for (int p = 0; p < n; p++) {
    double msg[A][C], x[A][O];
    for (int a = 0; a < A; a++)
      for (int k = 0; k < O; k++)
        x[a][k] = obs[((size_t)p * A + a) * O + k];
    if (r->comm)
      for (int a = 0; a < A; a++) {
        double e[C];
        net_fwd(&r->enc[a < 2 ? 0 : 1], sp, x[a], e);
        for (int j = 0; j < C; j++)
          msg[a][j] = tanh(e[j]);
      }
    for (int a = 0; a < A; a++) {
      double in[O + C];
      for (int k = 0; k < O; k++)
        in[k] = x[a][k];
      if (r->comm)
        for (int j = 0; j < C; j++) {
          double s = 0;
          for (int b = 0; b < A; b++)
            if (b != a)
              s += msg[b][j];
          in[O + j] = s / (A - 1);
        }
      net_fwd(&r->pol[a < 2 ? 0 : 1], sp, in, Q + ((size_t)p * A + a) * NA);
    }
  }
}

/* Q_tot of one row; raw_min (may be NULL) gets min |raw W1, W2| and signs
 * counts the negative and positive raw weights. */
static double ref_mixer(const ref_t *r, const double *mp, const float *state, const double *qs,
                        double *raw_min, int signs[2]) {
  double s[S], w1[A * EMB], b1[EMB], w2[EMB], v[1];
  for (int k = 0; k < S; k++)
    s[k] = state[k];
  net_fwd(&r->hw1, mp, s, w1);
  net_fwd(&r->hb1, mp, s, b1);
  net_fwd(&r->hw2, mp, s, w2);
  net_fwd(&r->hv, mp, s, v);
  double y = v[0];
  for (int e = 0; e < EMB; e++) {
    double z = b1[e];
    for (int a = 0; a < A; a++)
      z += qs[a] * fabs(w1[a * EMB + e]);
    y += (z > 0 ? z : expm1(z)) * fabs(w2[e]);
  }
  if (raw_min) {
    for (int i = 0; i < A * EMB + EMB; i++) {
      const double w = i < A * EMB ? w1[i] : w2[i - A * EMB];
      if (fabs(w) < *raw_min)
        *raw_min = fabs(w);
      signs[w > 0]++;
    }
  }
  return y;
}

static double *to_double(const nn_params_t *p) {
  double *d = hint_malloc(p->n * sizeof(double));
  for (size_t i = 0; i < p->n; i++)
    d[i] = p->w[i];
  return d;
}

/* Compares analytic float gradients g with central differences of f over
 * x[lo, hi) (double), h = 1e-6. */
typedef double (*ref_fn)(const void *ctx, const double *x);
static void fd_check(const char *what, ref_fn f, const void *ctx, double *x, const float *g,
                     size_t lo, size_t hi, double atol, double rtol) {
  int bad = 0;
  double max_err = 0;
  for (size_t i = lo; i < hi; i++) {
    const double x0 = x[i], h = 1e-6;
    x[i] = x0 + h;
    const double lp = f(ctx, x);
    x[i] = x0 - h;
    const double lm = f(ctx, x);
    x[i] = x0;
    const double num = (lp - lm) / (2 * h), err = fabs(num - g[i]);
    if (err > max_err)
      max_err = err;
    if (err > atol + rtol * fabs(num)) {
      if (bad++ < 10)
        print_error("%s[%zu]: analytic %.9g numeric %.9g\n", what, i, (double)g[i], num);
    }
  }
  print_message("%s: %zu gradients, max |error| %.2g\n", what, hi - lo, max_err);
  assert_int_equal(bad, 0);
}

/* ---- mixer gradient check ------------------------------------------------- */

typedef struct {
  const ref_t *r;
  const float *state;
  const double *qs, *R, *mp; /* mp: mixer params when x are the qs */
} mix_ctx_t;

/* L = sum_p R_p Q_tot(state_p, qs_p) over mixer params x. */
static double mix_loss_params(const void *c, const double *x) {
  const mix_ctx_t *m = c;
  double l = 0;
  for (int p = 0; p < N; p++)
    l += m->R[p] * ref_mixer(m->r, x, m->state + p * S, m->qs + p * A, NULL, NULL);
  return l;
}
static double mix_loss_qs(const void *c, const double *x) {
  const mix_ctx_t *m = c;
  double l = 0;
  for (int p = 0; p < N; p++)
    l += m->R[p] * ref_mixer(m->r, m->mp, m->state + p * S, x + p * A, NULL, NULL);
  return l;
}

static void test_mixer_gradients(void **state) {
  (void)state;
  fx_t f;
  fx_init(&f, HINT_COMM_NONE, 1);
  ref_t r;
  ref_init(&r, f.stu, 0);
  nn_params_t *mp = qmix_mixer_params(f.q);
  assert_int_equal(r.n_mix, mp->n);
  batch_t t;
  make_batch(&t, 3);
  float qs[N * A], R[N], qtot[N], dq[N * A];
  double qsd[N * A], Rd[N];
  hint_rng_t g;
  hint_rng_seed(&g, 5, 0, 0);
  for (int i = 0; i < N * A; i++)
    qsd[i] = qs[i] = (float)(2.0 * hint_rng_normal(&g));
  for (int p = 0; p < N; p++)
    Rd[p] = R[p] = (float)hint_rng_normal(&g);
  double *md = to_double(mp);
  /* Forward agrees with the reference, and the batch exercises both signs
   * of the raw hypernetwork outputs away from the kink at 0. */
  double raw_min = 1e9;
  int signs[2] = {0, 0};
  nn_params_zero_grad(mp);
  qmix_mixer_eval(f.q, t.state, qs, N, qtot, R, dq);
  for (int p = 0; p < N; p++) {
    const double ref = ref_mixer(&r, md, t.state + p * S, qsd + p * A, &raw_min, signs);
    assert_true(fabs(qtot[p] - ref) < 1e-5 * (1 + fabs(ref)));
  }
  print_message("raw |W1|,|W2| inputs: %d negative, %d positive, min magnitude %.3g\n", signs[0], signs[1],
                raw_min);
  assert_true(signs[0] >= 10 && signs[1] >= 10);
  assert_true(raw_min > 1e-4);
  /* ELU on both sides of 0 too: some pre-activations negative, some positive
   * (checked through the reference's hidden units indirectly by the values). */
  mix_ctx_t ctx = {&r, t.state, qsd, Rd, md};
  fd_check("mixer params", mix_loss_params, &ctx, md, mp->g, 0, mp->n, 2e-5, 1e-4);
  fd_check("mixer dQtot/dq", mix_loss_qs, &ctx, qsd, dq, 0, N * A, 2e-5, 1e-4);
  /* Monotonic: every dQ_tot/dq_i >= 0 (R = 1 gives the plain derivative). */
  float ones[N], dq1[N * A];
  for (int p = 0; p < N; p++)
    ones[p] = 1.0f;
  qmix_mixer_eval(f.q, t.state, qs, N, qtot, ones, dq1);
  for (int i = 0; i < N * A; i++)
    assert_true(dq1[i] >= 0.0f);
  hint_free(md);
  fx_fini(&f);
}

/* ---- whole TD loss gradient check ---------------------------------------- */

typedef struct {
  const ref_t *r;
  const batch_t *t;
  const float *y;
  double *sp, *mp;
  int which; /* 0: x is the student arena, 1: x is the mixer arena */
} td_ctx_t;

static double td_loss(const void *c, const double *x) {
  const td_ctx_t *m = c;
  const double *sp = m->which == 0 ? x : m->sp, *mp = m->which == 1 ? x : m->mp;
  double Q[N * A * NA], l = 0;
  ref_agents(m->r, sp, m->t->obs, N, Q);
  for (int p = 0; p < N; p++) {
    double qs[A];
    for (int a = 0; a < A; a++)
      qs[a] = Q[((size_t)p * A + a) * NA + m->t->actions[p * A + a]];
    const double d = ref_mixer(m->r, mp, m->t->state + p * S, qs, NULL, NULL) - m->y[p];
    l += d * d;
  }
  return l / N;
}

static void td_grad_check(int comm) {
  fx_t f;
  fx_init(&f, comm, 1);
  ref_t r;
  ref_init(&r, f.stu, comm);
  batch_t t;
  make_batch(&t, 9);
  float y[N];
  for (int p = 0; p < N; p++)
    y[p] = 3.0f * t.reward[p];
  nn_params_t *sp = student_params(f.stu), *mp = qmix_mixer_params(f.q);
  /* Larger policy outputs than the 0.01-gain init, so every path carries weight. */
  jitter(sp, 0.3, 21);
  double qm = 0;
  const double loss = qmix_loss_grad(f.q, &t.b, y, &qm);
  double *sd = to_double(sp), *md = to_double(mp);
  td_ctx_t ctx = {&r, &t, y, sd, md, 0};
  assert_true(fabs(loss - td_loss(&ctx, sd)) < 1e-5 * (1 + loss));
  /* Every parameter the agents use: policies of both classes (and the
   * encoders); the critic and return normaliser get no gradient. */
  size_t used = 0;
  for (int c = 0; c < 2; c++) {
    nn_mlp_t *m = student_policy_mlp(f.stu, c);
    size_t lo = m->offset, hi = m->offset + m->count;
    if (comm)
      lo = r.enc[c].l[0].w;
    fd_check(c == 0 ? "agent nets class 0" : "agent nets class 1", td_loss, &ctx, sd, sp->g, lo, hi, 2e-5, 1e-4);
    used = hi;
  }
  for (size_t i = used; i < sp->n; i++) /* the critic and return normaliser */
    assert_true(sp->g[i] == 0.0f);
  ctx.which = 1;
  fd_check("mixer", td_loss, &ctx, md, mp->g, 0, mp->n, 2e-5, 1e-4);
  hint_free(sd);
  hint_free(md);
  fx_fini(&f);
}

static void test_td_gradients_comm(void **state) {
  (void)state;
  td_grad_check(HINT_COMM_MEAN);
}
static void test_td_gradients_nocomm(void **state) {
  (void)state;
  td_grad_check(HINT_COMM_NONE);
}

/* ---- targets ---------------------------------------------------------------- */

static void targets_check(int double_q) {
  fx_t f;
  fx_init(&f, HINT_COMM_MEAN, double_q);
  ref_t r;
  ref_init(&r, f.stu, 1);
  /* Online differs from target: the test must see which one picks and which
   * one evaluates. */
  jitter(student_params(f.stu), 0.3, 31);
  jitter(qmix_target_agent_params(f.q), 0.3, 32);
  jitter(qmix_mixer_params(f.q), 0.1, 33);
  batch_t t;
  make_batch(&t, 13);
  double *sd = to_double(student_params(f.stu)), *td = to_double(qmix_target_agent_params(f.q)),
         *tmd = to_double(qmix_target_mixer_params(f.q));
  double Qon[N * A * NA], Qtg[N * A * NA];
  ref_agents(&r, sd, t.next_obs, N, Qon);
  ref_agents(&r, td, t.next_obs, N, Qtg);
  const double *pick = double_q ? Qon : Qtg;
  /* Mask each odd row's preferred next action: the max must skip it. */
  int masked = 0;
  for (int i = 0; i < N * A; i++)
    if (i % 2) {
      int best = 0;
      for (int j = 1; j < NA; j++)
        if (pick[i * NA + j] > pick[i * NA + best])
          best = j;
      t.next_avail[i * NA + best] = 0;
      masked++;
    }
  t.b.next_avail = t.next_avail;
  float y[N], y_nomask[N];
  assert_int_equal(qmix_targets(f.q, &t.b, y), 0);
  t.b.next_avail = NULL;
  assert_int_equal(qmix_targets(f.q, &t.b, y_nomask), 0);
  t.b.next_avail = t.next_avail;
  int differs = 0;
  for (int p = 0; p < N; p++) {
    double qs[A];
    for (int a = 0; a < A; a++) {
      const int i = p * A + a;
      int best = -1;
      for (int j = 0; j < NA; j++)
        if (t.next_avail[i * NA + j] && (best < 0 || pick[i * NA + j] > pick[i * NA + best]))
          best = j;
      qs[a] = Qtg[i * NA + best];
    }
    const int boot = t.done[p] == 0.0f && !t.trunc[p];
    const double ref = t.reward[p] + (boot ? 0.9 * ref_mixer(&r, tmd, t.next_state + p * S, qs, NULL, NULL) : 0.0);
    assert_true(fabs(y[p] - ref) < 1e-4 * (1 + fabs(ref)));
    if (!boot)
      assert_true(y[p] == t.reward[p]);
    differs += boot && fabs(y[p] - y_nomask[p]) > 1e-6;
  }
  print_message("double_q %d: %d masked next actions, %d targets changed by the mask\n", double_q, masked, differs);
  assert_true(differs > 0);
  /* A row with no available next action is refused. */
  memset(t.next_avail, 0, NA);
  assert_int_equal(qmix_targets(f.q, &t.b, y), HINT_EINVAL);
  hint_free(sd);
  hint_free(td);
  hint_free(tmd);
  fx_fini(&f);
}

static void test_targets_double_q(void **state) {
  (void)state;
  targets_check(1);
}
static void test_targets_max(void **state) {
  (void)state;
  targets_check(0);
}

/* ---- updates ------------------------------------------------------------------ */

static void test_update_fits_and_copies_targets(void **state) {
  (void)state;
  fx_t f;
  f.cfg = tiny_cfg(HINT_COMM_MEAN);
  f.cfg.offpolicy.target_update = 5;
  f.dims = tiny_dims();
  assert_int_equal(student_create(&f.stu, &f.cfg, &f.dims, N, 11), 0);
  assert_int_equal(qmix_create(&f.q, &f.cfg, &f.dims, f.stu, 11), 0);
  batch_t t;
  make_batch(&t, 17);
  nn_params_t *sp = student_params(f.stu), *mp = qmix_mixer_params(f.q);
  nn_params_t *tsp = qmix_target_agent_params(f.q), *tmp = qmix_target_mixer_params(f.q);
  assert_memory_equal(sp->w, tsp->w, sp->n * sizeof(float));
  double first = 0, last = 0;
  for (int k = 1; k <= 200; k++) {
    offp_stats_t st;
    memset(&st, 0, sizeof st);
    assert_int_equal(qmix_update(f.q, &t.b, &st), 0);
    assert_int_equal(st.steps, 1);
    if (k == 1)
      first = st.loss;
    last = st.loss;
    const int copied = memcmp(sp->w, tsp->w, sp->n * sizeof(float)) == 0 &&
                       memcmp(mp->w, tmp->w, mp->n * sizeof(float)) == 0;
    assert_int_equal(copied, k % 5 == 0);
  }
  assert_int_equal(qmix_updates(f.q), 200);
  print_message("TD loss on a fixed batch: %.4f -> %.4f\n", first, last);
  assert_true(last < 0.2 * first);
  /* Bad batches change nothing. */
  float w0 = sp->w[0];
  t.actions[0] = NA;
  assert_int_equal(qmix_update(f.q, &t.b, NULL), HINT_EINVAL);
  t.actions[0] = 0;
  t.b.n = N + 1;
  assert_int_equal(qmix_update(f.q, &t.b, NULL), HINT_EINVAL);
  assert_true(sp->w[0] == w0);
  fx_fini(&f);
}

/* ---- checkpoints ------------------------------------------------------------ */

static void test_qmix_ckpt_round_trip(void **state) {
  (void)state;
  fx_t a, b;
  fx_init(&a, HINT_COMM_MEAN, 1);
  fx_init(&b, HINT_COMM_MEAN, 1);
  qmix_destroy(&a.q);
  qmix_hparams_t hp = qmix_hparams_from_config(&a.cfg);
  hp.target_update = 3;
  assert_int_equal(qmix_create_hp(&a.q, &hp, &a.cfg, &a.dims, a.stu, 11), 0);
  qmix_destroy(&b.q);
  assert_int_equal(qmix_create_hp(&b.q, &hp, &b.cfg, &b.dims, b.stu, 99), 0); /* other seed */
  batch_t t;
  make_batch(&t, 23);
  for (int k = 0; k < 4; k++)
    assert_int_equal(qmix_update(a.q, &t.b, NULL), 0);
  /* a's state into b: the student arena (with Adam) and the qmix blob. */
  nn_params_t *sa = student_params(a.stu), *sb = student_params(b.stu);
  size_t cap = nn_params_blob_size(sa, 1), len = 0;
  void *sblob = hint_malloc(cap);
  assert_int_equal(nn_params_save(sa, 1, sblob, cap, &len), 0);
  assert_int_equal(nn_params_load(sb, sblob, len), 0);
  const size_t qn = qmix_ckpt_size(a.q);
  unsigned char *blob = hint_malloc(qn);
  assert_int_equal(qmix_ckpt_save(a.q, blob, qn - 1), HINT_ERANGE);
  assert_int_equal(qmix_ckpt_save(a.q, blob, qn), 0);
  /* Bad blobs: refused, b unchanged. */
  nn_params_t *mb = qmix_mixer_params(b.q);
  const float m0 = mb->w[0];
  assert_int_equal(qmix_ckpt_load(b.q, blob, qn - 1), HINT_ETRUNC);
  blob[0] ^= 1;
  assert_int_equal(qmix_ckpt_load(b.q, blob, qn), HINT_EMAGIC);
  blob[0] ^= 1;
  blob[20] ^= 1; /* embed */
  assert_int_equal(qmix_ckpt_load(b.q, blob, qn), HINT_ESHAPE);
  blob[20] ^= 1;
  assert_true(mb->w[0] == m0);
  assert_int_equal(qmix_ckpt_load(b.q, blob, qn), 0);
  assert_int_equal(qmix_updates(b.q), 4);
  /* Both continue identically (including the next hard copy at 6). */
  for (int k = 0; k < 3; k++) {
    assert_int_equal(qmix_update(a.q, &t.b, NULL), 0);
    assert_int_equal(qmix_update(b.q, &t.b, NULL), 0);
  }
  assert_memory_equal(sa->w, sb->w, sa->n * sizeof(float));
  assert_memory_equal(qmix_mixer_params(a.q)->w, mb->w, mb->n * sizeof(float));
  assert_memory_equal(qmix_target_agent_params(a.q)->w, qmix_target_agent_params(b.q)->w, sa->n * sizeof(float));
  hint_free(sblob);
  hint_free(blob);
  fx_fini(&a);
  fx_fini(&b);
}

/* ---- off-policy plumbing: extraction, ring, checkpoint -------------------- */

enum { ST = 3, SE = 2 }; /* segment: T = 3 steps of E = 2 envs */

typedef struct {
  hint_config_t cfg;
  env_dims_t dims;
  int A_, O_, S_, NA_;
  float *obs, *state, *rewards;
  int32_t *actions;
  uint8_t *dones, *trunc, *avail;
  offp_seg_t seg;
} seg_t;

static void seg_init(seg_t *g, int algo) {
  hint_config_defaults(&g->cfg);
  g->cfg.algo.name = algo;
  g->cfg.actor.envs = SE;
  g->cfg.actor.segment_len = ST;
  g->cfg.student.hidden = 16;
  g->cfg.student.layers = 1;
  g->cfg.offpolicy.batch_size = 8;
  g->cfg.offpolicy.replay_transitions = 2 * ST * SE; /* two segments */
  g->cfg.offpolicy.warmup_transitions = 6;
  g->cfg.offpolicy.mixer_embed = 8;
  g->cfg.offpolicy.hyper_hidden = 8;
  g->cfg.offpolicy.critic_hidden = 16;
  g->cfg.offpolicy.target_update = 2;
  runtime_apply_algo(&g->cfg); /* as every rank does: maddpg without communication */
  char err[256];
  assert_int_equal(env_dims(&g->cfg, &g->dims, err, sizeof err), 0);
  g->A_ = g->dims.n_agents;
  g->O_ = g->dims.obs_dim;
  g->S_ = g->dims.state_dim;
  g->NA_ = g->dims.n_actions;
  g->obs = hint_malloc(sizeof(float) * (ST + 1) * SE * g->A_ * g->O_);
  g->state = hint_malloc(sizeof(float) * (ST + 1) * SE * g->S_);
  g->rewards = hint_malloc(sizeof(float) * ST * SE);
  g->actions = hint_malloc(sizeof(int32_t) * ST * SE * g->A_);
  g->dones = hint_malloc(ST * SE);
  g->trunc = hint_malloc(ST * SE);
  g->avail = hint_malloc((size_t)(ST + 1) * SE * g->A_ * g->NA_);
}

/* Fills the segment with values that encode (tag, t, e, agent, k). */
static void seg_fill(seg_t *g, int tag) {
  const int A_ = g->A_, O_ = g->O_, S_ = g->S_, NA_ = g->NA_;
  for (int t = 0; t <= ST; t++)
    for (int e = 0; e < SE; e++) {
      for (int a = 0; a < A_; a++)
        for (int k = 0; k < O_; k++)
          g->obs[(((size_t)t * SE + e) * A_ + a) * O_ + k] = tag * 1e5f + t * 1e4f + e * 1e3f + a * 100 + k;
      for (int k = 0; k < S_; k++)
        g->state[((size_t)t * SE + e) * S_ + k] = -(tag * 1e5f + t * 1e4f + e * 1e3f + k);
      for (int a = 0; a < A_; a++)
        for (int j = 0; j < NA_; j++)
          g->avail[(((size_t)t * SE + e) * A_ + a) * NA_ + j] = (uint8_t)((t + e + a + j) % 3 != 0);
    }
  for (int t = 0; t < ST; t++)
    for (int e = 0; e < SE; e++) {
      g->rewards[t * SE + e] = (float)(tag * 100 + t * 10 + e);
      g->dones[t * SE + e] = (t == 1 && e == 0) || (t == 2 && e == 1); /* (2, 1) is a time-limit cut */
      g->trunc[t * SE + e] = t == 2 && e == 1;
      for (int a = 0; a < A_; a++)
        g->actions[(t * SE + e) * A_ + a] = (t + e + a) % NA_;
    }
  offp_seg_t s = {ST, SE, g->obs, g->state, g->actions, g->rewards, g->dones, g->trunc, g->avail};
  g->seg = s;
}

static void seg_fini(seg_t *g) {
  hint_free(g->obs);
  hint_free(g->state);
  hint_free(g->rewards);
  hint_free(g->actions);
  hint_free(g->dones);
  hint_free(g->trunc);
  hint_free(g->avail);
}

/* Row r = t * E + e of the gathered batch against the segment filled with tag. */
static void check_row(const seg_t *g, const offp_batch_t *b, int i, int tag, int t, int e, int with_avail) {
  const int A_ = g->A_, O_ = g->O_, S_ = g->S_, NA_ = g->NA_;
  for (int a = 0; a < A_; a++)
    for (int k = 0; k < O_; k++) {
      assert_true(b->obs[((size_t)i * A_ + a) * O_ + k] == tag * 1e5f + t * 1e4f + e * 1e3f + a * 100 + k);
      assert_true(b->next_obs[((size_t)i * A_ + a) * O_ + k] == tag * 1e5f + (t + 1) * 1e4f + e * 1e3f + a * 100 + k);
    }
  for (int k = 0; k < S_; k++) {
    assert_true(b->state[(size_t)i * S_ + k] == -(tag * 1e5f + t * 1e4f + e * 1e3f + k));
    assert_true(b->next_state[(size_t)i * S_ + k] == -(tag * 1e5f + (t + 1) * 1e4f + e * 1e3f + k));
  }
  for (int a = 0; a < A_; a++)
    assert_int_equal(b->actions[i * A_ + a], (t + e + a) % NA_);
  assert_true(b->reward[i] == (float)(tag * 100 + t * 10 + e));
  const int done = (t == 1 && e == 0) || (t == 2 && e == 1), trunc = t == 2 && e == 1;
  assert_true(b->done[i] == (float)done);
  assert_int_equal(b->trunc_obs_missing[i], trunc);
  if (b->avail)
    for (int a = 0; a < A_; a++)
      for (int j = 0; j < NA_; j++) {
        const int now = with_avail ? (t + e + a + j) % 3 != 0 : 1, next = with_avail ? (t + 1 + e + a + j) % 3 != 0 : 1;
        assert_int_equal(b->avail[((size_t)i * A_ + a) * NA_ + j], now);
        assert_int_equal(b->next_avail[((size_t)i * A_ + a) * NA_ + j], next);
      }
}

static void test_extraction_and_ring(void **state) {
  (void)state;
  seg_t g;
  seg_init(&g, HINT_ALGO_QMIX);
  offpolicy_t *op = NULL;
  assert_int_equal(offpolicy_create(&op, &g.cfg, &g.dims, 1), 0);
  assert_int_equal(offpolicy_rows(op), 0);
  assert_false(offpolicy_ready(op));
  seg_fill(&g, 1);
  g.seg.avail = NULL; /* first segment without availability masks */
  assert_int_equal(offpolicy_add(op, &g.seg), 0);
  assert_int_equal(offpolicy_rows(op), ST * SE);
  assert_true(offpolicy_ready(op));
  int64_t idx[ST * SE];
  for (int i = 0; i < ST * SE; i++)
    idx[i] = i;
  offp_batch_t b;
  assert_int_equal(offpolicy_gather(op, idx, ST * SE, &b), 0);
  assert_null(b.avail);
  assert_null(b.discount); /* 1-step rows: the algorithm's gamma */
  for (int i = 0; i < ST * SE; i++)
    check_row(&g, &b, i, 1, i / SE, i % SE, 0);
  /* A second segment with masks: both slots readable, the first all ones. */
  seg_fill(&g, 2);
  assert_int_equal(offpolicy_add(op, &g.seg), 0);
  assert_int_equal(offpolicy_rows(op), 2 * ST * SE);
  int64_t two[2] = {1, ST * SE + 3};
  assert_int_equal(offpolicy_gather(op, two, 2, &b), 0);
  assert_non_null(b.avail);
  check_row(&g, &b, 0, 1, 0, 1, 0);
  check_row(&g, &b, 1, 2, 1, 1, 1);
  /* A third overwrites the oldest slot (capacity two segments). */
  seg_fill(&g, 3);
  g.seg.truncated = NULL; /* then no row is a time-limit cut, only done */
  assert_int_equal(offpolicy_add(op, &g.seg), 0);
  assert_int_equal(offpolicy_rows(op), 2 * ST * SE);
  int64_t i5 = 5; /* slot 0, t = 2, e = 1 */
  assert_int_equal(offpolicy_gather(op, &i5, 1, &b), 0);
  assert_true(b.obs[0] == 3e5f + 2e4f + 1e3f);
  assert_true(b.done[0] == 1.0f);
  assert_int_equal(b.trunc_obs_missing[0], 0);
  /* Out-of-range requests are refused. */
  int64_t bad = 2 * ST * SE;
  assert_int_equal(offpolicy_gather(op, &bad, 1, &b), HINT_EINVAL);
  g.seg.T = ST + 1;
  assert_int_equal(offpolicy_add(op, &g.seg), HINT_ESHAPE);
  offpolicy_destroy(&op);
  assert_null(op);
  seg_fini(&g);
}

/* offpolicy.nstep = 2, gamma 0.5: discounted 2-step returns that stop at a
 * done and at the segment's end, the bootstrap row m steps on, discount 0.5^m. */
static void test_nstep_extraction(void **state) {
  (void)state;
  seg_t g;
  seg_init(&g, HINT_ALGO_QMIX);
  g.cfg.offpolicy.nstep = 2;
  g.cfg.offpolicy.gamma = 0.5;
  offpolicy_t *op = NULL;
  assert_int_equal(offpolicy_create(&op, &g.cfg, &g.dims, 1), 0);
  seg_fill(&g, 1);
  assert_int_equal(offpolicy_add(op, &g.seg), 0);
  int64_t idx[ST * SE];
  for (int i = 0; i < ST * SE; i++)
    idx[i] = i;
  offp_batch_t b;
  assert_int_equal(offpolicy_gather(op, idx, ST * SE, &b), 0);
  assert_non_null(b.discount);
  /* row r = t * E + e: {return, done, trunc, next t, m} (rewards 100 + 10 t + e;
   * (1, 0) is done, (2, 1) a time-limit cut). */
  const struct {
    float ret;
    int done, trunc, next_t, m;
  } want[ST * SE] = {
      {100 + 0.5f * 110, 1, 0, 2, 2}, /* (0, 0): stops at the done of t = 1 */
      {101 + 0.5f * 111, 0, 0, 2, 2}, /* (0, 1) */
      {110, 1, 0, 2, 1},              /* (1, 0): done at once */
      {111 + 0.5f * 121, 1, 1, 3, 2}, /* (1, 1): ends in the cut */
      {120, 0, 0, 3, 1},              /* (2, 0): the segment ends */
      {121, 1, 1, 3, 1},              /* (2, 1) */
  };
  for (int i = 0; i < ST * SE; i++) {
    const int e = i % SE;
    assert_true(b.reward[i] == want[i].ret);
    assert_true(b.done[i] == (float)want[i].done);
    assert_int_equal(b.trunc_obs_missing[i], want[i].trunc);
    assert_true(b.discount[i] == (want[i].m == 2 ? 0.25f : 0.5f));
    assert_true(b.next_obs[0 + (size_t)i * g.A_ * g.O_] == 1e5f + want[i].next_t * 1e4f + e * 1e3f);
    assert_true(b.next_state[(size_t)i * g.S_] == -(1e5f + want[i].next_t * 1e4f + e * 1e3f));
    assert_true(b.obs[(size_t)i * g.A_ * g.O_] == 1e5f + (i / SE) * 1e4f + e * 1e3f);
  }
  offpolicy_destroy(&op);
  seg_fini(&g);
}

static void offp_ckpt_check(int algo) {
  seg_t g;
  seg_init(&g, algo);
  offpolicy_t *a = NULL, *b = NULL;
  assert_int_equal(offpolicy_create(&a, &g.cfg, &g.dims, 1), 0);
  assert_int_equal(offpolicy_create(&b, &g.cfg, &g.dims, 1), 0);
  seg_fill(&g, 1);
  for (size_t i = 0; i < (size_t)(ST + 1) * SE * g.A_ * g.O_; i++)
    g.obs[i] = (float)((i * 2654435761u) % 1000) / 1000.0f; /* sane inputs for training */
  for (size_t i = 0; i < (size_t)(ST + 1) * SE * g.S_; i++)
    g.state[i] = (float)((i * 40503u) % 100) / 100.0f;
  g.seg.avail = NULL;
  assert_int_equal(offpolicy_add(a, &g.seg), 0);
  offp_stats_t st;
  memset(&st, 0, sizeof st);
  assert_int_equal(offpolicy_train(a, 3, &st), 0);
  assert_int_equal(st.steps, 3);
  assert_int_equal(offpolicy_updates(a), 3);
  assert_true(offpolicy_publish_due(a));
  assert_int_equal(offpolicy_published(a), 1);
  assert_false(offpolicy_publish_pending(a));
  size_t cap = offpolicy_ckpt_size(a), len = 0;
  unsigned char *blob = hint_malloc(cap);
  assert_int_equal(offpolicy_ckpt_save(a, blob, cap, &len), 0);
  assert_int_equal(len, cap);
  assert_int_equal(offpolicy_ckpt_load(b, blob, len - 1), HINT_ETRUNC);
  blob[1] ^= 1;
  assert_int_equal(offpolicy_ckpt_load(b, blob, len), HINT_EMAGIC);
  blob[1] ^= 1;
  assert_int_equal(offpolicy_ckpt_load(b, blob, len), 0);
  assert_int_equal(offpolicy_rows(b), offpolicy_rows(a));
  assert_int_equal(offpolicy_version(b), 1);
  assert_int_equal(offpolicy_updates(b), 3);
  /* Both continue the same: same batches (RNG), same updates. */
  assert_int_equal(offpolicy_train(a, 4, NULL), 0);
  assert_int_equal(offpolicy_train(b, 4, NULL), 0);
  nn_params_t *pa = student_params(offpolicy_student(a)), *pb = student_params(offpolicy_student(b));
  assert_memory_equal(pa->w, pb->w, pa->n * sizeof(float));
  assert_memory_equal(pa->m, pb->m, pa->n * sizeof(float));
  hint_free(blob);
  offpolicy_destroy(&a);
  offpolicy_destroy(&b);
  /* Without the replay in checkpoints a resumed replay starts empty. */
  g.cfg.offpolicy.ckpt_replay = 0;
  assert_int_equal(offpolicy_create(&a, &g.cfg, &g.dims, 1), 0);
  assert_int_equal(offpolicy_create(&b, &g.cfg, &g.dims, 1), 0);
  assert_int_equal(offpolicy_add(a, &g.seg), 0);
  cap = offpolicy_ckpt_size(a);
  blob = hint_malloc(cap);
  assert_int_equal(offpolicy_ckpt_save(a, blob, cap, &len), 0);
  assert_int_equal(offpolicy_ckpt_load(b, blob, len), 0);
  assert_int_equal(offpolicy_rows(b), 0);
  hint_free(blob);
  offpolicy_destroy(&a);
  offpolicy_destroy(&b);
  seg_fini(&g);
}

static void test_offpolicy_ckpt_qmix(void **state) {
  (void)state;
  offp_ckpt_check(HINT_ALGO_QMIX);
}
/* The same plumbing dispatches to maddpg (learner/maddpg.h). */
static void test_offpolicy_ckpt_maddpg(void **state) {
  (void)state;
  offp_ckpt_check(HINT_ALGO_MADDPG);
}

static void test_create_refuses_onpolicy(void **state) {
  (void)state;
  seg_t g;
  seg_init(&g, HINT_ALGO_MAPPO);
  offpolicy_t *op = NULL;
  assert_int_equal(offpolicy_create(&op, &g.cfg, &g.dims, 1), HINT_EINVAL);
  assert_null(op);
  seg_fini(&g);
}

/* Every allocation of offpolicy_create (student, qmix and its target
 * student, replay, buffers) failing in turn: HINT_ENOMEM, nothing leaked. */
static void test_alloc_failure_is_clean(void **state) {
  (void)state;
  seg_t g;
  seg_init(&g, HINT_ALGO_QMIX);
  for (long k = 0; k < 200; k++) {
    long live = hint_alloc_live();
    offpolicy_t *op = NULL;
    hint_alloc_fail_after(k);
    int rc = offpolicy_create(&op, &g.cfg, &g.dims, 1);
    hint_alloc_fail_after(-1);
    if (rc == HINT_OK) {
      print_message("offpolicy_create: %ld allocations, each failure clean\n", k);
      offpolicy_destroy(&op);
      assert_int_equal(hint_alloc_live(), live);
      seg_fini(&g);
      return;
    }
    assert_int_equal(rc, HINT_ENOMEM);
    assert_null(op);
    assert_int_equal(hint_alloc_live(), live);
  }
  fail_msg("offpolicy_create never succeeded");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mixer_gradients),
      cmocka_unit_test(test_td_gradients_comm),
      cmocka_unit_test(test_td_gradients_nocomm),
      cmocka_unit_test(test_targets_double_q),
      cmocka_unit_test(test_targets_max),
      cmocka_unit_test(test_update_fits_and_copies_targets),
      cmocka_unit_test(test_qmix_ckpt_round_trip),
      cmocka_unit_test(test_extraction_and_ring),
      cmocka_unit_test(test_nstep_extraction),
      cmocka_unit_test(test_offpolicy_ckpt_qmix),
      cmocka_unit_test(test_offpolicy_ckpt_maddpg),
      cmocka_unit_test(test_create_refuses_onpolicy),
      cmocka_unit_test(test_alloc_failure_is_clean),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
