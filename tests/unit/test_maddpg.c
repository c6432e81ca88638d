/* test_maddpg.c: MADDPG (learner/maddpg.c) proven against its definition.
 *
 * - Critic loss: the module's float gradient w.r.t. every critic parameter
 *   against central differences (h = 1e-6) of a double-precision reference
 *   written here from the formulas in maddpg.h (target actors' Gumbel-max
 *   actions, target critics, TD targets, masked MSE), with avail masks,
 *   terminal rows and trunc_obs_missing rows in the batch.
 * - Actor loss: the forward of the straight-through estimator is piecewise
 *   constant in the logits, so its gradient is checked against its definition:
 *   central differences of the surrogate
 *     L_ST(theta) = mean -Q(s, .., onehot(h0_i) + y_i(theta) - y_i(theta0), ..)
 *                   + reg * mean logits(theta)^2
 *   (h0 the hard actions at theta0, y the soft Gumbel-softmax sample), whose
 *   value at theta0 is the true loss and whose gradient is the backward of the
 *   soft sample through dQ/da at the hard action. Every policy parameter of
 *   both classes; every other student parameter must get exactly zero.
 * - Soft update: target' = (1 - tau) target + tau online, element by element.
 * - Checkpoint: round trip gives bit-identical continuation; malformed blobs
 *   are rejected and leave the module unchanged.
 * - Learning: on a one-step cooperative game from random behaviour data the
 *   greedy actors reach the optimum.
 * - Contracts: bad batches, a communicating student, allocation failures.
 * Tolerance of the gradient checks: |g - fd| <= GC_ATOL * max|fd| +
 * GC_RTOL * |fd| (float32 analytic side, as tests/unit/test_nn.c).
 */
#include "learner/maddpg.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/nn/adam.h"

#include "tests/unit/test_util.h"

#include <string.h>

#define GC_H 1e-6
#define GC_ATOL 2e-5
#define GC_RTOL 2e-4

enum { N = 6, A = 3, O = 5, S = 4, NA = 3 };

static env_dims_t tiny_dims(int S_) {
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
  d.state_dim = S_;
  return d;
}

static hint_config_t tiny_cfg(void) {
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.student.comm = HINT_COMM_NONE;
  cfg.student.hidden = 8;
  cfg.student.layers = 2;
  return cfg;
}

static maddpg_hparams_t tiny_hp(void) {
  hint_config_t cfg = tiny_cfg();
  maddpg_hparams_t hp = maddpg_hparams_from_config(&cfg);
  hp.batch = 16;
  hp.critic_hidden = 10;
  hp.critic_layers = 2;
  hp.gamma = 0.9f;
  hp.tau = 0.05f;
  hp.gumbel_tau = 0.7f;  /* != 1 so the 1/tau factor is exercised */
  hp.logit_reg = 0.05f;  /* large enough that its gradient shows */
  return hp;
}

typedef struct {
  float obs[N * A * O], state[N * S], next_obs[N * A * O], next_state[N * S];
  float reward[N], done[N];
  int32_t actions[N * A];
  uint8_t avail[N * A * NA], next_avail[N * A * NA], missing[N];
  float gnext[N * A * NA], gcur[N * A * NA];
} batch_t;

static float gumbel(hint_rng_t *r) {
  return (float)-log(-log(hint_rng_double(r) + 0x1p-54));
}

static void make_batch(batch_t *b, uint64_t seed) {
  hint_rng_t r;
  hint_rng_seed(&r, seed, 0, 0);
  for (int i = 0; i < N * A * O; i++) {
    b->obs[i] = (float)hint_rng_normal(&r);
    b->next_obs[i] = (float)hint_rng_normal(&r);
  }
  for (int i = 0; i < N * S; i++) {
    b->state[i] = (float)hint_rng_normal(&r);
    b->next_state[i] = (float)hint_rng_normal(&r);
  }
  for (int p = 0; p < N; p++) {
    b->reward[p] = (float)hint_rng_normal(&r);
    b->done[p] = p == 1 ? 1.0f : 0.0f;
    b->missing[p] = p == 4 || p == 1; /* row 1 is done: kept, no bootstrap */
  }
  for (int i = 0; i < N * A; i++) {
    /* a third of the rows have one unavailable action (never the taken one) */
    b->actions[i] = (int32_t)hint_rng_below(&r, NA);
    const int off = i % 3 == 0 ? (b->actions[i] + 1) % NA : -1;
    const int noff = i % 3 == 1 ? (int)hint_rng_below(&r, NA) : -1;
    for (int j = 0; j < NA; j++) {
      b->avail[i * NA + j] = j != off;
      b->next_avail[i * NA + j] = j != noff;
    }
  }
  for (int i = 0; i < N * A * NA; i++) {
    b->gnext[i] = gumbel(&r);
    b->gcur[i] = gumbel(&r);
  }
}

static offp_batch_t view(const batch_t *b) {
  offp_batch_t v = {.n = N, .obs = b->obs, .state = b->state, .actions = b->actions,
                    .reward = b->reward, .done = b->done, .next_obs = b->next_obs,
                    .next_state = b->next_state, .avail = b->avail, .next_avail = b->next_avail,
                    .trunc_obs_missing = b->missing, .discount = NULL};
  return v;
}

/* ---- double reference ------------------------------------------------------ */

/* out (B, out) = net(x) with parameters theta (the arena w, as doubles, with
 * the net's slice at net->offset), written from mlp.h's layout. */
static void ref_mlp(const nn_mlp_t *net, const double *theta, const double *x, int B, double *out) {
  const double *p = theta + net->offset;
  double cur[64], nxt[64];
  for (int b = 0; b < B; b++) {
    const double *w = p;
    int in = net->desc.in_dim;
    memcpy(cur, x + (size_t)b * in, (size_t)in * sizeof(double));
    for (int l = 0; l < net->n_layers; l++) {
      const int o = net->layer[l].out;
      const double *bias = w + (size_t)in * o;
      for (int j = 0; j < o; j++) {
        double s = bias[j];
        for (int i = 0; i < in; i++)
          s += cur[i] * w[(size_t)i * o + j];
        if (l < net->n_layers - 1)
          s = net->desc.act == NN_ACT_RELU ? (s > 0 ? s : 0) : net->desc.act == NN_ACT_TANH ? tanh(s) : s;
        nxt[j] = s;
      }
      memcpy(cur, nxt, (size_t)o * sizeof(double));
      w = bias + o;
      in = o;
    }
    memcpy(out + (size_t)b * net->desc.out_dim, cur, (size_t)net->desc.out_dim * sizeof(double));
  }
}

typedef struct {
  maddpg_t *m;
  student_t *stu;
  const batch_t *b;
  double *sw, *cw, *tw; /* student, critic and target arenas as doubles */
  int hard0[N * A];
  double y0[N * A * NA];
  int use_st;           /* surrogate: onehot(hard0) + y - y0 */
  const float *disc;    /* m-step discounts, or NULL: gamma */
} ref_t;

static int cls(int i) { return i < 2 ? 0 : 1; }
static int kin(int i) { return i < 2 ? i : 0; }

/* Q_c of agent i (class c, index k) on a state and a joint action given as
 * NA floats per agent (one-hot or the ST sum). */
static double ref_q(const nn_mlp_t *net, const double *theta, const float *state,
                    const double *act, int i) {
  const int c = cls(i), ident = c == 0 ? 2 : 0;
  double x[S + A * NA + 2];
  for (int j = 0; j < S; j++)
    x[j] = state[j];
  for (int j = 0; j < A * NA; j++)
    x[S + j] = act[j];
  if (ident) {
    x[S + A * NA] = kin(i) == 0;
    x[S + A * NA + 1] = kin(i) == 1;
  }
  double q;
  ref_mlp(net, theta, x, 1, &q);
  return q;
}

static void ref_logits(const double *theta, const nn_mlp_t *net, const float *obs, double *lg) {
  double x[O];
  for (int j = 0; j < O; j++)
    x[j] = obs[j];
  ref_mlp(net, theta, x, 1, lg);
}

/* Critic loss as a function of the critic arena cw. */
static double ref_critic(ref_t *r, const double *cw) {
  const batch_t *b = r->b;
  double loss = 0;
  int kept = 0;
  for (int p = 0; p < N; p++) {
    if (b->missing[p] && !b->done[p])
      continue;
    kept++;
    double na[A * NA], a[A * NA];
    memset(na, 0, sizeof na);
    memset(a, 0, sizeof a);
    for (int i = 0; i < A; i++) {
      double lg[NA];
      ref_logits(r->tw, maddpg_target_policy_mlp(r->m, cls(i)), b->next_obs + (p * A + i) * O, lg);
      int best = -1;
      for (int j = 0; j < NA; j++)
        if (b->next_avail[(p * A + i) * NA + j] &&
            (best < 0 || lg[j] + b->gnext[(p * A + i) * NA + j] > lg[best] + b->gnext[(p * A + i) * NA + best]))
          best = j;
      na[i * NA + best] = 1;
      a[i * NA + b->actions[p * A + i]] = 1;
    }
    for (int i = 0; i < A; i++) {
      double qn = ref_q(maddpg_target_critic_mlp(r->m, cls(i)), r->tw, b->next_state + p * S, na, i);
      double y = b->reward[p] + (r->disc ? r->disc[p] : 0.9) * (1.0 - b->done[p]) * qn;
      double q = ref_q(maddpg_critic_mlp(r->m, cls(i)), cw, b->state + p * S, a, i);
      loss += (q - y) * (q - y);
    }
  }
  return loss / (kept * A);
}

/* Actor loss (true, or the ST surrogate when r->use_st) of the student arena sw.
 * With record set it stores hard0 and y0. */
static double ref_actor(ref_t *r, const double *sw, int record) {
  const batch_t *b = r->b;
  const double tau = 0.7, reg = 0.05;
  double loss = 0, sq = 0;
  for (int p = 0; p < N; p++)
    for (int i = 0; i < A; i++) {
      const int row = p * A + i;
      double lg[NA], y[NA], z[NA], mx = -INFINITY, sum = 0;
      ref_logits(sw, student_policy_mlp(r->stu, cls(i)), b->obs + row * O, lg);
      int h = -1;
      for (int j = 0; j < NA; j++) {
        sq += lg[j] * lg[j];
        z[j] = b->avail[row * NA + j] ? (lg[j] + b->gcur[row * NA + j]) / tau : -INFINITY;
        if (z[j] > mx) {
          mx = z[j];
          h = j;
        }
      }
      for (int j = 0; j < NA; j++)
        sum += y[j] = b->avail[row * NA + j] ? exp(z[j] - mx) : 0.0;
      for (int j = 0; j < NA; j++)
        y[j] /= sum;
      if (record) {
        r->hard0[row] = h;
        memcpy(r->y0 + row * NA, y, sizeof y);
      }
      double a[A * NA];
      memset(a, 0, sizeof a);
      for (int k = 0; k < A; k++)
        a[k * NA + b->actions[p * A + k]] = 1;
      for (int j = 0; j < NA; j++)
        a[i * NA + j] = r->use_st ? (j == r->hard0[row]) + y[j] - r->y0[row * NA + j] : (j == h);
      loss -= ref_q(maddpg_critic_mlp(r->m, cls(i)), r->cw, b->state + p * S, a, i);
    }
  return loss / (N * A) + reg * sq / (N * A * NA);
}

static double *to_d(const float *x, size_t n) {
  double *d = hint_malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++)
    d[i] = x[i];
  return d;
}

static void check_grad(const char *what, const float *g, const double *fd, size_t n) {
  double scale = 0;
  for (size_t i = 0; i < n; i++)
    scale = fabs(fd[i]) > scale ? fabs(fd[i]) : scale;
  assert_true(scale > 0); /* a gradcheck of a zero gradient proves nothing */
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    const double d = fabs((double)g[i] - fd[i]), lim = GC_ATOL * scale + GC_RTOL * fabs(fd[i]);
    worst = d / lim > worst ? d / lim : worst;
    if (!(d <= lim)) {
      print_error("%s[%zu]: analytic %.9g fd %.9g (scale %.3g)\n", what, i, (double)g[i], fd[i], scale);
      fail();
    }
  }
  print_message("%s: %zu gradients, worst |g-fd|/tolerance %.3f\n", what, n, worst);
}

typedef struct {
  hint_config_t cfg;
  env_dims_t dims;
  student_t *stu;
  maddpg_t *m;
  batch_t b;
} fix_t;

static int setup(void **state) {
  fix_t *f = hint_calloc(1, sizeof *f);
  f->cfg = tiny_cfg();
  f->dims = tiny_dims(S);
  maddpg_hparams_t hp = tiny_hp();
  if (student_create(&f->stu, &f->cfg, &f->dims, N, 3) != 0 ||
      maddpg_create_hp(&f->m, &hp, &f->dims, f->stu, 11) != 0)
    return -1;
  /* Larger policy outputs than the 0.01 init so the softmax is not flat. */
  nn_params_t *sp = student_params(f->stu);
  for (int c = 0; c < 2; c++) {
    nn_mlp_t *pol = student_policy_mlp(f->stu, c);
    nn_linear_t *L = &pol->layer[pol->n_layers - 1];
    for (int j = 0; j < L->in * L->out; j++)
      L->w[j] *= 100.0f;
    memcpy(maddpg_target_policy_mlp(f->m, c)->params->w + maddpg_target_policy_mlp(f->m, c)->offset,
           sp->w + pol->offset, pol->count * sizeof(float));
  }
  make_batch(&f->b, 5);
  /* Move the targets away from the online nets so the two are not confused. */
  nn_params_t *tp = maddpg_target_params(f->m);
  hint_rng_t r;
  hint_rng_seed(&r, 77, 0, 0);
  for (size_t i = 0; i < tp->n; i++)
    tp->w[i] += 0.1f * (float)hint_rng_normal(&r);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fix_t *f = *state;
  maddpg_destroy(&f->m);
  assert_null(f->m);
  student_destroy(&f->stu);
  hint_free(f);
  return 0;
}

/* disc: m-step discounts passed in the batch, or NULL (gamma). */
static void critic_grad_check(fix_t *f, const float *disc) {
  offp_batch_t v = view(&f->b);
  v.discount = disc;
  double qm = 0;
  const double loss = maddpg_critic_loss_grad(f->m, &v, f->b.gnext, &qm);
  nn_params_t *cp = maddpg_critic_params(f->m);
  ref_t r = {f->m, f->stu, &f->b, to_d(student_params(f->stu)->w, student_params(f->stu)->n),
             to_d(cp->w, cp->n), to_d(maddpg_target_params(f->m)->w, maddpg_target_params(f->m)->n),
             {0}, {0}, 0, disc};
  const double rl = ref_critic(&r, r.cw);
  print_message("critic loss %.6f (reference %.6f), q_mean %.4f%s\n", loss, rl, qm,
                disc ? ", m-step discounts" : "");
  assert_true(fabs(loss - rl) <= 1e-5 * fabs(rl) + 1e-6);
  double *fd = hint_malloc(cp->n * sizeof(double));
  for (size_t i = 0; i < cp->n; i++) {
    const double w0 = r.cw[i];
    r.cw[i] = w0 + GC_H;
    const double lp = ref_critic(&r, r.cw);
    r.cw[i] = w0 - GC_H;
    const double lm = ref_critic(&r, r.cw);
    r.cw[i] = w0;
    fd[i] = (lp - lm) / (2 * GC_H);
  }
  check_grad(disc ? "critic (m-step)" : "critic", cp->g, fd, cp->n);
  /* The loss must actually depend on the masking: with no avail mask for the
   * next actions the targets (and the loss) change. */
  offp_batch_t v2 = v;
  v2.next_avail = NULL;
  const double l2 = maddpg_critic_loss_grad(f->m, &v2, f->b.gnext, NULL);
  assert_true(fabs(l2 - loss) > 1e-6);
  hint_free(fd);
  hint_free(r.sw);
  hint_free(r.cw);
  hint_free(r.tw);
}

static void test_critic_grad(void **state) {
  fix_t *f = *state;
  critic_grad_check(f, NULL);
  const float disc[N] = {0.5f, 0.9f, 0.81f, 0.729f, 0.3f, 0.95f};
  critic_grad_check(f, disc);
}

static void test_actor_st_grad(void **state) {
  fix_t *f = *state;
  const offp_batch_t v = view(&f->b);
  const double loss = maddpg_actor_loss_grad(f->m, &v, f->b.gcur);
  nn_params_t *sp = student_params(f->stu), *cp = maddpg_critic_params(f->m);
  ref_t r = {f->m, f->stu, &f->b, to_d(sp->w, sp->n), to_d(cp->w, cp->n), NULL, {0}, {0}, 0, NULL};
  const double rl = ref_actor(&r, r.sw, 1);
  r.use_st = 1;
  const double rs = ref_actor(&r, r.sw, 0);
  print_message("actor loss %.6f (reference %.6f, surrogate %.6f)\n", loss, rl, rs);
  assert_true(fabs(loss - rl) <= 1e-5 * fabs(rl) + 1e-6);
  assert_true(fabs(rs - rl) <= 1e-12);
  /* The chosen actions must vary (else the check is weak) and respect avail. */
  int distinct[NA] = {0};
  for (int i = 0; i < N * A; i++) {
    distinct[r.hard0[i]] = 1;
    assert_true(f->b.avail[i * NA + r.hard0[i]]);
  }
  assert_int_equal(distinct[0] + distinct[1] + distinct[2], 3);
  for (int c = 0; c < 2; c++) {
    const nn_mlp_t *pol = student_policy_mlp(f->stu, c);
    double *fd = hint_malloc(pol->count * sizeof(double));
    for (size_t k = 0; k < pol->count; k++) {
      const size_t i = pol->offset + k;
      const double w0 = r.sw[i];
      r.sw[i] = w0 + GC_H;
      const double lp = ref_actor(&r, r.sw, 0);
      r.sw[i] = w0 - GC_H;
      const double lm = ref_actor(&r, r.sw, 0);
      r.sw[i] = w0;
      fd[k] = (lp - lm) / (2 * GC_H);
    }
    check_grad(c == 0 ? "policy class 0 (ST)" : "policy class 1 (ST)", sp->g + pol->offset, fd,
               pol->count);
    hint_free(fd);
  }
  /* Nothing else in the student arena (its V critic, return statistics). */
  for (size_t i = 0; i < sp->n; i++) {
    const nn_mlp_t *p0 = student_policy_mlp(f->stu, 0), *p1 = student_policy_mlp(f->stu, 1);
    const int in0 = i >= p0->offset && i < p0->offset + p0->count;
    const int in1 = i >= p1->offset && i < p1->offset + p1->count;
    if (!in0 && !in1)
      assert_true(sp->g[i] == 0.0f);
  }
  hint_free(r.sw);
  hint_free(r.cw);
}

static void test_soft_update(void **state) {
  fix_t *f = *state;
  nn_params_t *tp = maddpg_target_params(f->m), *cp = maddpg_critic_params(f->m);
  nn_params_t *sp = student_params(f->stu);
  float *old = hint_malloc(tp->n * sizeof(float));
  memcpy(old, tp->w, tp->n * sizeof(float));
  const offp_batch_t v = view(&f->b);
  offp_stats_t st;
  memset(&st, 0, sizeof st);
  assert_int_equal(maddpg_update_noise(f->m, &v, f->b.gnext, f->b.gcur, &st), 0);
  assert_int_equal(st.steps, 1);
  assert_true(st.grad_norm > 0 && isfinite(st.loss) && isfinite(st.actor_loss));
  const float tau = maddpg_hparams(f->m)->tau;
  size_t covered = 0, moved = 0;
  for (int c = 0; c < 2; c++) {
    const nn_mlp_t *pairs[2][2] = {{maddpg_target_policy_mlp(f->m, c), student_policy_mlp(f->stu, c)},
                                   {maddpg_target_critic_mlp(f->m, c), maddpg_critic_mlp(f->m, c)}};
    const nn_params_t *src[2] = {sp, cp};
    for (int t = 0; t < 2; t++) {
      const nn_mlp_t *dst = pairs[t][0], *on = pairs[t][1];
      assert_int_equal(dst->count, on->count);
      for (size_t k = 0; k < dst->count; k++) {
        const double o = old[dst->offset + k], s = src[t]->w[on->offset + k];
        const double want = (1.0 - tau) * o + tau * s;
        assert_true(fabs(tp->w[dst->offset + k] - want) <= 1e-6 * (fabs(want) + 1e-3));
        moved += tp->w[dst->offset + k] != old[dst->offset + k];
      }
      covered += dst->count;
    }
  }
  assert_int_equal(covered, tp->n);
  assert_true(moved > tp->n / 2);
  hint_free(old);
}

/* A fresh (student, module) pair with the same seeds. */
static void make_pair(const fix_t *f, student_t **s, maddpg_t **m, uint64_t mseed) {
  maddpg_hparams_t hp = tiny_hp();
  assert_int_equal(student_create(s, &f->cfg, &f->dims, N, 3), 0);
  assert_int_equal(maddpg_create_hp(m, &hp, &f->dims, *s, mseed), 0);
}

static void copy_student(student_t *dst, student_t *src) {
  nn_params_t *a = student_params(dst), *b = student_params(src);
  const size_t bytes = a->n * sizeof(float);
  memcpy(a->w, b->w, bytes);
  memcpy(a->m, b->m, bytes);
  memcpy(a->v, b->v, bytes);
  a->step = b->step;
}

static void test_ckpt_round_trip(void **state) {
  fix_t *f = *state;
  student_t *s1 = NULL, *s2 = NULL;
  maddpg_t *m1 = NULL, *m2 = NULL;
  make_pair(f, &s1, &m1, 21);
  make_pair(f, &s2, &m2, 22); /* another seed: different critics and RNG */
  const offp_batch_t v = view(&f->b);
  for (int i = 0; i < 3; i++)
    assert_int_equal(maddpg_update(m1, &v, NULL), 0);
  const size_t len = maddpg_ckpt_size(m1);
  unsigned char *buf = hint_malloc(len), *bad = hint_malloc(len);
  assert_int_equal(maddpg_ckpt_save(m1, buf, len - 1), HINT_ERANGE);
  assert_int_equal(maddpg_ckpt_save(m1, buf, len), 0);

  /* Malformed blobs: rejected, m2 unchanged. */
  nn_params_t *c2 = maddpg_critic_params(m2);
  float *before = hint_malloc(c2->n * sizeof(float));
  memcpy(before, c2->w, c2->n * sizeof(float));
  assert_int_equal(maddpg_ckpt_load(m2, buf, 10), HINT_ETRUNC);
  assert_int_equal(maddpg_ckpt_load(m2, buf, len - 1), HINT_ETRUNC);
  memcpy(bad, buf, len);
  bad[0] = 'X';
  assert_int_equal(maddpg_ckpt_load(m2, bad, len), HINT_EMAGIC);
  memcpy(bad, buf, len);
  bad[4] = 9;
  assert_int_equal(maddpg_ckpt_load(m2, bad, len), HINT_EVERSION);
  memcpy(bad, buf, len);
  bad[8 + 4 * 4] ^= 1; /* critic_hidden */
  assert_int_equal(maddpg_ckpt_load(m2, bad, len), HINT_ESHAPE);
  memcpy(bad, buf, len);
  memcpy(bad + len - 4, &(float){NAN}, 4); /* last target weight */
  assert_int_equal(maddpg_ckpt_load(m2, bad, len), HINT_EPARSE);
  assert_memory_equal(before, c2->w, c2->n * sizeof(float));
  assert_int_equal(maddpg_updates(m2), 0);

  assert_int_equal(maddpg_ckpt_load(m2, buf, len), 0);
  copy_student(s2, s1); /* the caller's part of the checkpoint */
  assert_int_equal(maddpg_updates(m2), 3);
  /* Continuing gives bit-identical results (same RNG draws, same Adam). */
  for (int i = 0; i < 2; i++) {
    assert_int_equal(maddpg_update(m1, &v, NULL), 0);
    assert_int_equal(maddpg_update(m2, &v, NULL), 0);
  }
  nn_params_t *arenas[3][2] = {{maddpg_critic_params(m1), maddpg_critic_params(m2)},
                               {maddpg_target_params(m1), maddpg_target_params(m2)},
                               {student_params(s1), student_params(s2)}};
  for (int k = 0; k < 3; k++) {
    assert_memory_equal(arenas[k][0]->w, arenas[k][1]->w, arenas[k][0]->n * sizeof(float));
    assert_memory_equal(arenas[k][0]->m, arenas[k][1]->m, arenas[k][0]->n * sizeof(float));
  }
  /* A module that continued without the load would differ. */
  maddpg_t *m3 = NULL;
  student_t *s3 = NULL;
  make_pair(f, &s3, &m3, 22);
  copy_student(s3, s2);
  assert_int_equal(maddpg_update(m3, &v, NULL), 0);
  assert_true(memcmp(maddpg_critic_params(m3)->w, maddpg_critic_params(m2)->w,
                     maddpg_critic_params(m2)->n * sizeof(float)) != 0);
  hint_free(before);
  hint_free(buf);
  hint_free(bad);
  maddpg_destroy(&m1);
  maddpg_destroy(&m2);
  maddpg_destroy(&m3);
  student_destroy(&s1);
  student_destroy(&s2);
  student_destroy(&s3);
}

static void test_contracts(void **state) {
  fix_t *f = *state;
  batch_t b = f->b;
  offp_batch_t v = view(&b);
  v.n = 0;
  assert_int_equal(maddpg_update(f->m, &v, NULL), HINT_EINVAL);
  v.n = maddpg_hparams(f->m)->batch + 1;
  assert_int_equal(maddpg_update(f->m, &v, NULL), HINT_EINVAL);
  v = view(&b);
  b.actions[5] = NA;
  assert_int_equal(maddpg_update(f->m, &v, NULL), HINT_EINVAL);
  b.actions[5] = 0;
  memset(b.next_avail + 7 * NA, 0, NA);
  assert_int_equal(maddpg_update(f->m, &v, NULL), HINT_EINVAL);
  assert_true(isnan(maddpg_actor_loss_grad(f->m, &v, b.gcur)));
  assert_int_equal(maddpg_updates(f->m), 0);
  /* NULL masks are all-available. */
  v.avail = v.next_avail = NULL;
  v.trunc_obs_missing = NULL;
  assert_int_equal(maddpg_update(f->m, &v, NULL), 0);
  /* A communicating student cannot be a MADDPG actor. */
  hint_config_t cfg = f->cfg;
  cfg.student.comm = HINT_COMM_MEAN;
  cfg.student.comm_dim = 2;
  student_t *s = NULL;
  maddpg_t *m = NULL;
  assert_int_equal(student_create(&s, &cfg, &f->dims, N, 1), 0);
  assert_int_equal(maddpg_create(&m, &cfg, &f->dims, s, 1), HINT_EINVAL);
  assert_null(m);
  student_destroy(&s);
  maddpg_hparams_t hp = tiny_hp();
  hp.tau = 0.0f;
  assert_int_equal(maddpg_create_hp(&m, &hp, &f->dims, f->stu, 1), HINT_EINVAL);
  maddpg_destroy(&m); /* NULL-safe */
}

static void test_alloc_failure_is_clean(void **state) {
  fix_t *f = *state;
  maddpg_hparams_t hp = tiny_hp();
  for (long k = 0; k < 64; k++) {
    long live = hint_alloc_live();
    maddpg_t *m = NULL;
    hint_alloc_fail_after(k);
    int rc = maddpg_create_hp(&m, &hp, &f->dims, f->stu, 1);
    hint_alloc_fail_after(-1);
    if (rc == HINT_OK) {
      maddpg_destroy(&m);
      assert_int_equal(hint_alloc_live(), live);
      return;
    }
    assert_int_equal(rc, HINT_ENOMEM);
    assert_null(m);
    assert_int_equal(hint_alloc_live(), live);
  }
  fail_msg("maddpg_create never succeeded");
}

/* One-step cooperative game: agent i sees a label l_i in 0..2 (one-hot in its
 * observation; the state holds all three), the team reward is the number of
 * agents whose action equals their label. The behaviour data are uniform
 * random actions; from them the critics learn Q and the actors its argmax.
 * Random play scores 1/3 per agent; the greedy actors must score > 0.95. */
static void test_learns_cooperative_game(void **state) {
  (void)state;
  enum { M = 64, SL = A * NA };
  hint_config_t cfg = tiny_cfg();
  cfg.student.hidden = 32;
  env_dims_t d = tiny_dims(SL);
  maddpg_hparams_t hp = maddpg_hparams_from_config(&cfg);
  hp.batch = M;
  hp.lr_actor = hp.lr_critic = 3e-3f;
  student_t *s = NULL;
  maddpg_t *m = NULL;
  assert_int_equal(student_create(&s, &cfg, &d, M, 4), 0);
  assert_int_equal(maddpg_create_hp(&m, &hp, &d, s, 4), 0);
  static float obs[M * A * O], st[M * SL], rew[M], done[M];
  static int32_t act[M * A], greedy[M * A];
  hint_rng_t r;
  hint_rng_seed(&r, 8, 0, 0);
  double acc = 0, acc0 = -1;
  for (int it = 0; it <= 400; it++) {
    memset(obs, 0, sizeof obs);
    memset(st, 0, sizeof st);
    for (int p = 0; p < M; p++) {
      rew[p] = 0;
      done[p] = 1;
      for (int i = 0; i < A; i++) {
        const int l = (int)hint_rng_below(&r, NA);
        obs[(p * A + i) * O + l] = 1;
        st[p * SL + i * NA + l] = 1;
        act[p * A + i] = (int32_t)hint_rng_below(&r, NA);
        rew[p] += act[p * A + i] == l;
      }
    }
    if (it % 100 == 0) {
      student_act(s, obs, st, M, &r, 1, greedy, NULL, NULL, NULL);
      int hit = 0;
      for (int p = 0; p < M; p++)
        for (int i = 0; i < A; i++)
          hit += obs[(p * A + i) * O + greedy[p * A + i]] == 1.0f;
      acc = hit / (double)(M * A);
      if (acc0 < 0)
        acc0 = acc;
      print_message("update %d: greedy accuracy %.3f\n", it, acc);
    }
    offp_batch_t v = {.n = M, .obs = obs, .state = st, .actions = act, .reward = rew, .done = done,
                      .next_obs = obs, .next_state = st};
    offp_stats_t ss;
    memset(&ss, 0, sizeof ss);
    assert_int_equal(maddpg_update(m, &v, &ss), 0);
  }
  assert_true(acc0 < 0.7);
  assert_true(acc > 0.95);
  maddpg_destroy(&m);
  student_destroy(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_critic_grad, setup, teardown),
      cmocka_unit_test_setup_teardown(test_actor_st_grad, setup, teardown),
      cmocka_unit_test_setup_teardown(test_soft_update, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ckpt_round_trip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_contracts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alloc_failure_is_clean, setup, teardown),
      cmocka_unit_test(test_learns_cooperative_game),
  };
  return cmocka_run_group_tests_name("maddpg", tests, NULL, NULL);
}
