/* test_teacher.c: the teacher (flat and hierarchical), proven rather than
 * trusted. Learning runs live in test_teacher_learn.c.
 *
 * Flat teacher:
 * - Forward: teacher_targets and teacher_act against an independent double
 *   precision reference written here (inputs built from the state with
 *   env_feat_agent, plain-loop MLPs with exact tanh, the return normaliser).
 * - Gradient check of the WHOLE teacher loss (PPO surrogate + value + entropy,
 *   GAE advantages with driver changes, dones, truncations and the
 *   false-drop shaping, per-minibatch normalisation) w.r.t. every parameter
 *   of the arena: central differences (h = 1e-6) of the double reference
 *   against the gradient teacher_update leaves in the arena (lr = 0, clipping
 *   off, one epoch, one minibatch). Tolerance: |g - fd| <= GC_ATOL * max|fd|
 *   + GC_RTOL * |fd|; the analytic side is float32, hence float-sized.
 * - Determinism: same seed and data give bit-identical parameters; a
 *   checkpoint (arena with Adam + RNG) restored into another teacher
 *   continues identically.
 * - Contracts: capacity, view and action-range errors, no teacher-driven
 *   step does nothing, allocation failures leak nothing (flat and hier).
 * Hierarchical teacher (white-box through teacher_int.h):
 * - Acting: goals persist for manager_period steps, re-decided on arrival,
 *   on reset and at expiry; greedy acting agrees with the guidance pi_T.
 * - Batch formation on a hand-made segment: decision points re-derived from
 *   logged goals, hindsight relabelling of student windows, and every target
 *   (worker GAE / V-trace, V_H GAE / joint-ratio V-trace, manager semi-MDP
 *   GAE, intrinsic reward) recomputed here from the rules.
 * - Gradient check of the minibatch loss of all four networks with per-row
 *   weights (own 1, student beta) and the dual clip, for goal_set cells and
 *   targets; targets-mode goals are always candidates.
 */
#include "teacher/teacher.h"
#include "teacher/teacher_int.h" /* white-box checks of the hierarchical batch */

#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/env/env.h"

#include "tests/unit/test_util.h"
#include "tests/unit/test_teacher_util.h"

#include <string.h>

#define GC_H 1e-6
#define GC_ATOL 1e-4
#define GC_RTOL 2e-3

/* ---- double reference ----------------------------------------------------
 * The arena layout is teacher.h's contract: policy MLP (P_in -> H -> ... ->
 * NA), critic MLP (S -> H -> ... -> 1), return normaliser [m, sq, deb, 0];
 * each MLP as layer weight then bias, in order, weights (in, out) as mlp.h
 * lays them out. */
typedef struct {
  int S, F, A, NA, P_in, H, L;
  env_feat_t feat;
  float pos_scale;
  size_t pi_off, vf_off, vn_off, n;
} ref_t;

static void ref_init(ref_t *r, const hint_config_t *c) {
  memset(r, 0, sizeof *r);
  assert_int_equal(env_feat_init(&r->feat, c, NULL, 0), 0);
  r->S = r->feat.dims.state_dim;
  r->F = r->feat.feat_dim;
  r->A = r->feat.dims.n_agents;
  r->NA = r->feat.dims.n_actions;
  r->P_in = r->S + r->F + r->A;
  r->H = c->teacher.hidden;
  r->L = c->teacher.layers;
  r->pos_scale = 1.0f / (float)(c->env.size - 1);
  size_t pi = (size_t)r->H * (r->P_in + 1) + (size_t)(r->L - 1) * r->H * (r->H + 1) +
              (size_t)r->NA * (r->H + 1);
  size_t vf = (size_t)r->H * (r->S + 1) + (size_t)(r->L - 1) * r->H * (r->H + 1) +
              (size_t)(r->H + 1);
  r->pi_off = 0;
  r->vf_off = pi;
  r->vn_off = pi + vf;
  r->n = pi + vf + 4;
}

/* out (out_dim) = MLP(x) over w (doubles) starting at w[off]. */
static void ref_mlp(const ref_t *r, const double *w, size_t off, const double *x, int in,
                    int out_dim, double *out) {
  double h0[256], h1[256];
  const double *cur = x;
  int cur_n = in;
  for (int l = 0; l <= r->L; l++) {
    int o = l == r->L ? out_dim : r->H;
    double *dst = l == r->L ? out : (l % 2 ? h1 : h0);
    const double *W = w + off, *b = w + off + (size_t)o * cur_n;
    for (int j = 0; j < o; j++) {
      double z = b[j];
      for (int k = 0; k < cur_n; k++)
        z += W[(size_t)k * o + j] * cur[k];
      dst[j] = l == r->L ? z : tanh(z);
    }
    off += (size_t)o * (cur_n + 1);
    cur = dst;
    cur_n = o;
  }
}

static void ref_state_in(const ref_t *r, const float *s, double *x) {
  for (int k = 0; k < r->S; k++)
    x[k] = (double)(k < 2 * r->A ? s[k] * r->pos_scale : s[k]);
}

/* log pi(. | s, i) (NA) and the critic's raw output. */
static void ref_logpi(const ref_t *r, const double *w, const float *s, int i, double *lp) {
  double x[1024];
  float feat[1024];
  assert_true(r->P_in <= 1024);
  ref_state_in(r, s, x);
  env_feat_agent(&r->feat, s, i, feat);
  for (int k = 0; k < r->F; k++)
    x[r->S + k] = feat[k];
  for (int k = 0; k < r->A; k++)
    x[r->S + r->F + k] = k == i;
  double z[64], mx = -1e300, se = 0.0;
  ref_mlp(r, w, r->pi_off, x, r->P_in, r->NA, z);
  for (int a = 0; a < r->NA; a++)
    mx = z[a] > mx ? z[a] : mx;
  for (int a = 0; a < r->NA; a++)
    se += exp(z[a] - mx);
  for (int a = 0; a < r->NA; a++)
    lp[a] = z[a] - mx - log(se);
}

static double ref_vraw(const ref_t *r, const double *w, const float *s) {
  double x[1024], v;
  ref_state_in(r, s, x);
  ref_mlp(r, w, r->vf_off, x, r->S, 1, &v);
  return v;
}

static void ref_vnorm(const double *vn, double *mean, double *sd) {
  if (vn[2] <= 0.0) {
    *mean = 0.0, *sd = 1.0;
    return;
  }
  double m = vn[0] / vn[2], var = vn[1] / vn[2] - m * m;
  *mean = m;
  *sd = sqrt(var > 1e-2 ? var : 1e-2);
}

static double *to_double(const float *w, size_t n) {
  double *d = hint_malloc(n * sizeof(double));
  assert_non_null(d);
  for (size_t k = 0; k < n; k++)
    d[k] = w[k];
  return d;
}

/* ---- forward ------------------------------------------------------------- */

static void test_forward_matches_reference(void **state) {
  (void)state;
  hint_config_t c;
  small_cfg(&c, 4, 8);
  teacher_t *t = NULL;
  assert_int_equal(teacher_create(&t, &c, 5, 11, NULL, 0), 0); /* 5: chunks split */
  ref_t r;
  ref_init(&r, &c);
  nn_params_t *p = teacher_params(t);
  assert_int_equal(p->n, r.n);
  /* Non-trivial weights and a non-trivial normaliser (mean -3, var 4). */
  hint_rng_t g;
  hint_rng_seed(&g, 5, 0, 0);
  for (size_t k = 0; k < r.vn_off; k++)
    p->w[k] = (float)hint_rng_uniform(&g, -0.3, 0.3);
  p->w[r.vn_off + 0] = -3.0f * 0.5f;
  p->w[r.vn_off + 1] = 13.0f * 0.5f;
  p->w[r.vn_off + 2] = 0.5f;

  env_vec_t *v = NULL;
  assert_int_equal(env_vec_create(&v, &c, 4, 0, 3, NULL, 0), 0);
  seg_buf_t b;
  seg_alloc(&b, 8, 4, r.A, r.S);
  seg_random_rollout(&b, v, &g);
  const int n = 9 * 4;
  float *pi = hint_malloc((size_t)n * r.A * r.NA * sizeof(float));
  float *val = hint_malloc((size_t)n * sizeof(float));
  int32_t *act = hint_malloc((size_t)n * r.A * sizeof(int32_t));
  float *lp = hint_malloc((size_t)n * r.A * sizeof(float));
  assert_true(pi && val && act && lp);
  assert_int_equal(teacher_targets(t, b.state, n, pi, val), 0);
  double *w = to_double(p->w, p->n);
  double m, sd;
  ref_vnorm(w + r.vn_off, &m, &sd);
  assert_true(fabs(m + 3.0) < 1e-6 && fabs(sd - 2.0) < 1e-6);
  for (int k = 0; k < n; k++) {
    const float *s = b.state + (size_t)k * r.S;
    float want_v = (float)(ref_vraw(&r, w, s) * sd + m);
    assert_close(&val[k], &want_v, 1, 1e-5, 1e-5);
    double rowsum = 0.0;
    for (int i = 0; i < r.A; i++) {
      double l[64];
      float want[64];
      ref_logpi(&r, w, s, i, l);
      for (int a = 0; a < r.NA; a++) {
        want[a] = (float)exp(l[a]);
        rowsum += pi[((size_t)k * r.A + i) * r.NA + a];
      }
      assert_close(pi + ((size_t)k * r.A + i) * r.NA, want, (size_t)r.NA, 1e-6, 1e-4);
    }
    assert_true(fabs(rowsum - r.A) < 1e-4);
  }
  /* Greedy: the argmax of pi, logp its log-probability; no RNG needed. */
  assert_int_equal(teacher_act(t, NULL, 0, b.state, n, 1, NULL, act, lp, NULL, NULL), 0);
  for (int k = 0; k < n * r.A; k++) {
    const float *row = pi + (size_t)k * r.NA;
    for (int a = 0; a < r.NA; a++)
      assert_true(row[a] <= row[act[k]]);
    float want = logf(row[act[k]]);
    assert_close(&lp[k], &want, 1, 1e-5, 1e-4);
  }
  /* Sampled: reproducible from the caller's RNG, logp consistent with pi, and
   * the empirical frequencies of one row follow pi. */
  hint_rng_t r1, r2;
  hint_rng_seed(&r1, 9, 0, 0);
  hint_rng_seed(&r2, 9, 0, 0);
  int32_t *act2 = hint_malloc((size_t)n * r.A * sizeof(int32_t));
  assert_non_null(act2);
  assert_int_equal(teacher_act(t, NULL, 0, b.state, n, 0, &r1, act, lp, NULL, NULL), 0);
  assert_int_equal(teacher_act(t, NULL, 0, b.state, n, 0, &r2, act2, lp, NULL, NULL), 0);
  assert_memory_equal(act, act2, (size_t)n * r.A * sizeof(int32_t));
  for (int k = 0; k < n * r.A; k++) {
    float want = logf(pi[(size_t)k * r.NA + act[k]]);
    assert_close(&lp[k], &want, 1, 1e-5, 1e-4);
  }
  int counts[64] = {0};
  const int draws = 20000;
  for (int d = 0; d < draws; d++) {
    assert_int_equal(teacher_act(t, NULL, 0, b.state, 1, 0, &r1, act2, lp, NULL, NULL), 0);
    counts[act2[0]]++;
  }
  for (int a = 0; a < r.NA; a++) {
    double f = (double)counts[a] / draws, q = pi[a];
    assert_true(fabs(f - q) < 5.0 * sqrt(q * (1 - q) / draws) + 1e-3);
  }
  assert_int_equal(teacher_act(t, NULL, 0, b.state, n, 0, NULL, act, lp, NULL, NULL),
                   HINT_EINVAL);
  hint_free(w);
  hint_free(act2);
  hint_free(pi);
  hint_free(val);
  hint_free(act);
  hint_free(lp);
  seg_free(&b);
  env_vec_destroy(&v);
  teacher_destroy(&t);
  assert_null(t);
}

/* ---- gradient check ------------------------------------------------------- */

typedef struct {
  const ref_t *r;
  const teacher_seg_t *segs;
  int n;
  /* the batch as formed: per teacher-driven step */
  int cnt;
  int *seg, *tt, *ee;
  double *adv_n;  /* normalised advantage */
  double *ret_n;  /* normalised return target */
  double clip, ent, vf, false_drop;
  int n_false;    /* false drops seen among the teacher-driven steps */
} ref_batch_t;

/* GAE with V_T from w and the normaliser vn_old (the teacher's rules: cut at
 * dones, truncations and student-driven next steps), then the normaliser
 * update with the returns; fills b and returns the updated normaliser. */
/* The reward the teacher trains on: minus `pen` per action agent (index >=
 * perception_agents) extinguishing a cell with no fire and no front in s_t. */
static double ref_reward(const ref_t *r, const teacher_seg_t *s, size_t te, double pen,
                         int *n_false) {
  double rew = s->rewards[te];
  const float *st = s->state + te * r->S;
  const int size = r->feat.size, s2 = size * size;
  for (int i = r->feat.n_first; i < r->A; i++) {
    if (s->actions[te * r->A + i] != 5)
      continue;
    int cell = (int)st[2 * i] * size + (int)st[2 * i + 1];
    if (st[2 * r->A + cell] <= 0.0f && st[2 * r->A + s2 + 1 + cell] <= 0.0f) {
      rew -= pen;
      (*n_false)++;
    }
  }
  return rew;
}

static void ref_form_batch(ref_batch_t *b, const double *w, const double *vn_old,
                           double gamma, double lam, double *vn_new) {
  const ref_t *r = b->r;
  double m, sd;
  ref_vnorm(vn_old, &m, &sd);
  int cap = 0;
  for (int j = 0; j < b->n; j++)
    cap += b->segs[j].T * b->segs[j].E;
  b->seg = hint_malloc((size_t)cap * sizeof(int));
  b->tt = hint_malloc((size_t)cap * sizeof(int));
  b->ee = hint_malloc((size_t)cap * sizeof(int));
  b->adv_n = hint_malloc((size_t)cap * sizeof(double));
  b->ret_n = hint_malloc((size_t)cap * sizeof(double));
  double *ret = hint_malloc((size_t)cap * sizeof(double));
  assert_true(b->seg && b->tt && b->ee && b->adv_n && b->ret_n && ret);
  b->cnt = 0;
  for (int j = 0; j < b->n; j++) {
    const teacher_seg_t *s = &b->segs[j];
    for (int e = 0; e < s->E; e++) {
      double next = 0.0;
      int next_teacher = 0;
      for (int t = s->T - 1; t >= 0; t--) {
        size_t te = (size_t)t * s->E + e;
        if (!s->driver[te]) {
          next_teacher = 0;
          continue;
        }
        double v0 = ref_vraw(r, w, s->state + te * r->S) * sd + m;
        double v1 = ref_vraw(r, w, s->state + (te + s->E) * r->S) * sd + m;
        int nt = !s->dones[te];
        double delta = ref_reward(r, s, te, b->false_drop, &b->n_false) + gamma * nt * v1 - v0;
        double adv = delta + gamma * lam * (nt && next_teacher) * next;
        b->seg[b->cnt] = j, b->tt[b->cnt] = t, b->ee[b->cnt] = e;
        b->adv_n[b->cnt] = adv;
        ret[b->cnt] = adv + v0;
        b->cnt++;
        next = adv;
        next_teacher = 1;
      }
    }
  }
  double am = 0, as = 0, rm = 0, rsq = 0;
  for (int k = 0; k < b->cnt; k++)
    am += b->adv_n[k], rm += ret[k], rsq += ret[k] * ret[k];
  am /= b->cnt, rm /= b->cnt, rsq /= b->cnt;
  for (int k = 0; k < b->cnt; k++)
    as += (b->adv_n[k] - am) * (b->adv_n[k] - am);
  double inv = 1.0 / (sqrt(as / b->cnt) + 1e-8);
  const double beta = 0.99999;
  vn_new[0] = beta * vn_old[0] + (1 - beta) * rm;
  vn_new[1] = beta * vn_old[1] + (1 - beta) * rsq;
  vn_new[2] = beta * vn_old[2] + (1 - beta);
  vn_new[3] = 0.0;
  double m2, sd2;
  ref_vnorm(vn_new, &m2, &sd2);
  for (int k = 0; k < b->cnt; k++) {
    b->adv_n[k] = (b->adv_n[k] - am) * inv;
    b->ret_n[k] = (ret[k] - m2) / sd2;
  }
  hint_free(ret);
}

static void ref_batch_free(ref_batch_t *b) {
  hint_free(b->seg);
  hint_free(b->tt);
  hint_free(b->ee);
  hint_free(b->adv_n);
  hint_free(b->ret_n);
}

typedef struct {
  double total, pl, vl, ent;
} ref_loss_t;

/* The full-batch teacher loss at parameters w with the batch held fixed. */
static ref_loss_t ref_loss(const ref_batch_t *b, const double *w) {
  const ref_t *r = b->r;
  double pl = 0, ent = 0, vl = 0;
  for (int k = 0; k < b->cnt; k++) {
    const teacher_seg_t *s = &b->segs[b->seg[k]];
    size_t te = (size_t)b->tt[k] * s->E + b->ee[k];
    const float *st = s->state + te * r->S;
    for (int i = 0; i < r->A; i++) {
      double lp[64];
      ref_logpi(r, w, st, i, lp);
      int a = s->actions[te * r->A + i];
      double ratio = exp(lp[a] - s->logp[te * r->A + i]);
      double adv = b->adv_n[k];
      double rc = ratio < 1 - b->clip ? 1 - b->clip : (ratio > 1 + b->clip ? 1 + b->clip : ratio);
      double s1 = ratio * adv, s2 = rc * adv;
      pl += -(s1 < s2 ? s1 : s2);
      for (int q = 0; q < r->NA; q++)
        ent += -exp(lp[q]) * lp[q];
    }
    double dv = ref_vraw(r, w, st) - b->ret_n[k];
    vl += 0.5 * dv * dv;
  }
  ref_loss_t L;
  L.pl = pl / (b->cnt * r->A);
  L.ent = ent / (b->cnt * r->A);
  L.vl = vl / b->cnt;
  L.total = L.pl + b->vf * L.vl - b->ent * L.ent;
  return L;
}

static void test_gradcheck_whole_loss(void **state) {
  (void)state;
  const int E = 4, T = 8;
  hint_config_t c;
  small_cfg(&c, E, T);
  c.teacher.epochs = 1;
  c.teacher.minibatches = 1;
  c.teacher.lr = 0.0;           /* the update leaves w as it was ... */
  c.teacher.max_grad_norm = 0;  /* ... and g unclipped: the gradient to check */
  c.teacher.ent_coef = 0.05;    /* large enough to matter in the check */
  c.teacher.false_drop_penalty = 0.5; /* the teacher-only shaping is in the rewards */
  teacher_t *t = NULL;
  assert_int_equal(teacher_create(&t, &c, 7, 21, NULL, 0), 0); /* 7: minibatch chunks */
  ref_t r;
  ref_init(&r, &c);
  nn_params_t *p = teacher_params(t);
  hint_rng_t g;
  hint_rng_seed(&g, 17, 0, 0);
  for (size_t k = 0; k < r.vn_off; k++)
    p->w[k] = (float)hint_rng_uniform(&g, -0.3, 0.3);

  env_vec_t *v = NULL;
  assert_int_equal(env_vec_create(&v, &c, E, 0, 5, NULL, 0), 0);
  seg_buf_t b[2];
  for (int j = 0; j < 2; j++) {
    seg_alloc(&b[j], T, E, r.A, r.S);
    seg_random_rollout(&b[j], v, &g);
  }
  /* Drivers: env 0 teacher throughout, env 1 student throughout, env 2
   * switches to the teacher mid-segment, env 3 switches away (GAE must cut
   * there); in segment 1 envs 0 and 2 are teacher-driven, env 1 too except
   * at steps 3-4 (the trace must not bridge the gap), env 3 never. */
  for (int t0 = 0; t0 < T; t0++)
    for (int e = 0; e < E; e++) {
      uint8_t d0 = e == 0 || (e == 2 && t0 >= 3) || (e == 3 && t0 < 5);
      b[0].drv[t0 * E + e] = d0;
      b[1].drv[t0 * E + e] = (uint8_t)(e % 2 == 0 || (e == 1 && (t0 < 3 || t0 > 4)));
    }
  int n_done = 0, n_trunc = 0;
  for (int j = 0; j < 2; j++)
    for (int k = 0; k < T * E; k++)
      n_done += b[j].done[k], n_trunc += b[j].trunc[k];
  assert_true(n_done > 0 && n_trunc > 0); /* the rules under test occur */

  /* A first update moves the return normaliser off its initial (0, 1), so the
   * checked update denormalises V_T with real statistics. */
  teacher_seg_t segs[2] = {b[0].seg, b[1].seg};
  teacher_stats_t st;
  assert_int_equal(teacher_update(t, segs, 2, &st), 0);

  /* Behaviour log-probs: the current policy's, shifted by noise, so ratios
   * spread around 1 with some rows beyond the clip. */
  double *w = to_double(p->w, p->n);
  for (int j = 0; j < 2; j++)
    for (int t0 = 0; t0 < T; t0++)
      for (int e = 0; e < E; e++)
        for (int i = 0; i < r.A; i++) {
          double lp[64];
          size_t te = (size_t)t0 * E + e;
          ref_logpi(&r, w, b[j].state + te * r.S, i, lp);
          b[j].logp[te * r.A + i] =
              (float)(lp[b[j].act[te * r.A + i]] + hint_rng_uniform(&g, -0.35, 0.35));
        }

  double vn_old[4], vn_new[4];
  for (int k = 0; k < 4; k++)
    vn_old[k] = p->w[r.vn_off + k];
  assert_true(vn_old[2] > 0.0);
  assert_int_equal(teacher_update(t, segs, 2, &st), 0);
  /* lr 0: parameters unchanged; the normaliser moved as the reference says. */
  for (size_t k = 0; k < r.vn_off; k++)
    assert_true(p->w[k] == (float)w[k]);

  ref_batch_t rb = {.r = &r, .segs = segs, .n = 2, .clip = c.teacher.clip,
                    .ent = c.teacher.ent_coef, .vf = c.teacher.vf_coef,
                    .false_drop = c.teacher.false_drop_penalty};
  ref_form_batch(&rb, w, vn_old, c.teacher.gamma, c.teacher.gae_lambda, vn_new);
  assert_true(rb.n_false > 0); /* the shaping was exercised */
  assert_int_equal(st.steps, rb.cnt);
  assert_int_equal(st.agent_steps, (int64_t)rb.cnt * r.A);
  assert_int_equal(st.adam_steps, 1);
  for (int k = 0; k < 3; k++) {
    float got = p->w[r.vn_off + k], want = (float)vn_new[k];
    assert_close(&got, &want, 1, 1e-9, 1e-4);
  }
  /* Hold the teacher's normaliser exactly (float) in the reference too. */
  for (int k = 0; k < 4; k++)
    w[r.vn_off + k] = p->w[r.vn_off + k];
  double m2, sd2;
  ref_vnorm(vn_new, &m2, &sd2);

  ref_loss_t L = ref_loss(&rb, w);
  float got3[3] = {st.policy_loss, st.value_loss, st.entropy};
  float want3[3] = {(float)L.pl, (float)L.vl, (float)L.ent};
  assert_close(got3, want3, 3, 1e-5, 1e-3);
  int clipped = 0;
  for (int k = 0; k < rb.cnt; k++)
    for (int i = 0; i < r.A; i++) {
      const teacher_seg_t *s = &segs[rb.seg[k]];
      size_t te = (size_t)rb.tt[k] * s->E + rb.ee[k];
      double lp[64];
      ref_logpi(&r, w, s->state + te * r.S, i, lp);
      double ratio = exp(lp[s->actions[te * r.A + i]] - s->logp[te * r.A + i]);
      clipped += fabs(ratio - 1.0) > c.teacher.clip;
    }
  assert_true(clipped > 0 && clipped < rb.cnt * r.A); /* both branches in play */
  assert_close(&st.clip_frac, &(float){(float)clipped / (rb.cnt * r.A)}, 1, 1e-6, 0);

  /* Central differences over every trained parameter (the normaliser gets no
   * gradient: checked to be exactly 0). */
  double *fd = hint_calloc(p->n, sizeof(double));
  assert_non_null(fd);
  double scale = 0.0;
  for (size_t k = 0; k < r.vn_off; k++) {
    double w0 = w[k];
    w[k] = w0 + GC_H;
    double lp_ = ref_loss(&rb, w).total;
    w[k] = w0 - GC_H;
    double lm = ref_loss(&rb, w).total;
    w[k] = w0;
    fd[k] = (lp_ - lm) / (2 * GC_H);
    scale = fabs(fd[k]) > scale ? fabs(fd[k]) : scale;
  }
  assert_true(scale > 1e-3); /* a check of a zero gradient proves nothing */
  int nonzero_pi = 0, nonzero_vf = 0;
  for (size_t k = 0; k < r.vn_off; k++) {
    double d = fabs((double)p->g[k] - fd[k]);
    if (!(d <= GC_ATOL * scale + GC_RTOL * fabs(fd[k]))) {
      print_error("param %zu (%s): analytic %.9g vs numeric %.9g (scale %.3g)\n", k,
                  k < r.vf_off ? "policy" : "critic", (double)p->g[k], fd[k], scale);
      fail();
    }
    if (fabs(fd[k]) > 1e-3 * scale) {
      if (k < r.vf_off)
        nonzero_pi++;
      else
        nonzero_vf++;
    }
  }
  assert_true(nonzero_pi > 100 && nonzero_vf > 50);
  for (size_t k = r.vn_off; k < p->n; k++)
    assert_true(p->g[k] == 0.0f);
  print_message("gradcheck: %d teacher steps, %zu params, max|g| %.3g, %d clipped rows\n",
                rb.cnt, r.vn_off, scale, clipped);
  hint_free(fd);
  hint_free(w);
  ref_batch_free(&rb);
  for (int j = 0; j < 2; j++)
    seg_free(&b[j]);
  env_vec_destroy(&v);
  teacher_destroy(&t);
}

/* ---- determinism, checkpoints, contracts ---------------------------------- */

static void test_determinism_and_resume(void **state) {
  (void)state;
  const int E = 6, T = 10;
  hint_config_t c;
  small_cfg(&c, E, T);
  c.teacher.minibatches = 3;
  teacher_t *t1 = NULL, *t2 = NULL, *t3 = NULL;
  assert_int_equal(teacher_create(&t1, &c, 16, 3, NULL, 0), 0);
  assert_int_equal(teacher_create(&t2, &c, 16, 3, NULL, 0), 0);
  assert_int_equal(teacher_create(&t3, &c, 16, 4, NULL, 0), 0);
  nn_params_t *p1 = teacher_params(t1), *p2 = teacher_params(t2), *p3 = teacher_params(t3);
  assert_memory_equal(p1->w, p2->w, p1->n * sizeof(float));
  assert_memory_not_equal(p1->w, p3->w, p1->n * sizeof(float));

  env_vec_t *v = NULL;
  assert_int_equal(env_vec_create(&v, &c, E, 0, 8, NULL, 0), 0);
  seg_buf_t b;
  seg_alloc(&b, T, E, env_vec_dims(v)->n_agents, env_vec_dims(v)->state_dim);
  hint_rng_t g;
  hint_rng_seed(&g, 1, 0, 0);
  seg_random_rollout(&b, v, &g);
  memset(b.drv, 1, (size_t)T * E);
  for (int k = 0; k < T * E * b.A; k++)
    b.logp[k] = -logf(6.0f);

  teacher_stats_t s1, s2;
  for (int u = 0; u < 2; u++) {
    assert_int_equal(teacher_update(t1, &b.seg, 1, &s1), 0);
    assert_int_equal(teacher_update(t2, &b.seg, 1, &s2), 0);
  }
  assert_memory_equal(p1->w, p2->w, p1->n * sizeof(float));
  assert_memory_equal(&s1, &s2, sizeof s1);
  assert_int_equal(s1.adam_steps, c.teacher.epochs * 3);
  assert_int_equal(s1.steps, T * E);

  /* Checkpoint t1 (arena with Adam, RNG) into t3, then both continue: same. */
  size_t cap = nn_params_blob_size(p1, 1), len = 0;
  void *blob = hint_malloc(cap);
  assert_non_null(blob);
  assert_int_equal(nn_params_save(p1, 1, blob, cap, &len), 0);
  assert_int_equal(nn_params_load(p3, blob, len), 0);
  *teacher_rng(t3) = *teacher_rng(t1);
  assert_int_equal(teacher_update(t1, &b.seg, 1, &s1), 0);
  assert_int_equal(teacher_update(t3, &b.seg, 1, &s2), 0);
  assert_memory_equal(p1->w, p3->w, p1->n * sizeof(float));
  /* A different shuffle stream gives different parameters. */
  hint_rng_seed(teacher_rng(t2), 99, 0, 0);
  assert_int_equal(teacher_update(t2, &b.seg, 1, &s2), 0);
  assert_memory_not_equal(p1->w, p2->w, p1->n * sizeof(float));

  hint_free(blob);
  seg_free(&b);
  env_vec_destroy(&v);
  teacher_destroy(&t1);
  teacher_destroy(&t2);
  teacher_destroy(&t3);
}

static void test_contracts(void **state) {
  (void)state;
  const int E = 3, T = 4;
  hint_config_t c;
  small_cfg(&c, E, T);
  c.teacher.replay_segments = 1;
  teacher_t *t = NULL;
  char err[256] = "";
  assert_int_equal(teacher_create(&t, &c, 0, 1, err, sizeof err), HINT_EINVAL);
  assert_int_equal(teacher_create(&t, &c, 4, 1, NULL, 0), 0);
  const env_dims_t *d = teacher_dims(t);
  assert_int_equal(d->n_agents, 3);
  assert_int_equal(teacher_hierarchical(t), 0);
  env_vec_t *v = NULL;
  assert_int_equal(env_vec_create(&v, &c, E, 0, 2, NULL, 0), 0);
  seg_buf_t b;
  seg_alloc(&b, T, E, d->n_agents, d->state_dim);
  hint_rng_t g;
  hint_rng_seed(&g, 2, 0, 0);
  seg_random_rollout(&b, v, &g);
  nn_params_t *p = teacher_params(t);
  float *w0 = hint_malloc(p->n * sizeof(float));
  assert_non_null(w0);
  memcpy(w0, p->w, p->n * sizeof(float));
  teacher_stats_t st;

  /* No teacher-driven step: nothing happens. */
  assert_int_equal(teacher_update(t, &b.seg, 1, &st), 0);
  assert_int_equal(st.steps, 0);
  assert_memory_equal(w0, p->w, p->n * sizeof(float));
  /* Capacity: more segments than teacher.replay_segments, or more states. */
  teacher_seg_t two[2] = {b.seg, b.seg};
  assert_int_equal(teacher_update(t, two, 2, &st), HINT_ERANGE);
  teacher_seg_t big = b.seg;
  big.T = T + 1; /* (T+2)*E states > (T+1)*E */
  assert_int_equal(teacher_update(t, &big, 1, &st), HINT_ERANGE);
  /* Malformed views. */
  teacher_seg_t bad = b.seg;
  bad.state = NULL;
  assert_int_equal(teacher_update(t, &bad, 1, &st), HINT_EINVAL);
  assert_int_equal(teacher_update(t, NULL, 1, &st), HINT_EINVAL);
  /* An action out of its agent's range is refused before any step. */
  b.drv[0] = 1;
  b.act[1] = 6;
  assert_int_equal(teacher_update(t, &b.seg, 1, &st), HINT_ERANGE);
  assert_memory_equal(w0, p->w, p->n * sizeof(float));
  b.act[1] = 0;
  /* Hierarchical: bad goal keys are refused with a message naming the key;
   * teacher-driven steps must carry goals, in range. */
  teacher_t *h = NULL;
  c.teacher.hierarchical = 1;
  c.teacher.goal_set = 7;
  assert_int_equal(teacher_create(&h, &c, 4, 1, err, sizeof err), HINT_ECONFIG);
  assert_non_null(strstr(err, "teacher.goal_set"));
  assert_null(h);
  c.teacher.goal_set = HINT_GOALS_CELLS;
  c.teacher.goal_cell = 9;
  assert_int_equal(teacher_create(&h, &c, 4, 1, err, sizeof err), HINT_ECONFIG);
  assert_non_null(strstr(err, "teacher.goal_cell"));
  c.teacher.goal_cell = 0;
  assert_int_equal(teacher_create(&h, &c, 4, 1, err, sizeof err), 0);
  assert_int_equal(teacher_hierarchical(h), 1);
  assert_int_equal(teacher_update(h, &b.seg, 1, &st), HINT_EINVAL); /* no goals */
  int32_t *goals = hint_calloc((size_t)T * E * d->n_agents, sizeof(int32_t));
  float *glp = hint_calloc((size_t)T * E * d->n_agents, sizeof(float));
  assert_true(goals && glp);
  b.seg.goals = goals;
  b.seg.goal_logp = glp;
  goals[0] = 25; /* G = 25 on 5x5 with goal_cell 1 */
  assert_int_equal(teacher_update(h, &b.seg, 1, &st), HINT_ERANGE);
  goals[0] = 24;
  assert_int_equal(teacher_update(h, &b.seg, 1, &st), 0);
  assert_int_equal(st.steps, 1);
  int32_t a1[3];
  float l1[3];
  assert_int_equal(teacher_act(h, NULL, 0, b.state, 1, 1, NULL, a1, l1, NULL, NULL),
                   HINT_EINVAL); /* the hierarchical teacher needs goal slots */
  teacher_goals_t *gs = NULL;
  assert_int_equal(teacher_goals_create(&gs, h, 1), 0);
  assert_int_equal(teacher_act(h, gs, 1, b.state, 1, 1, NULL, a1, l1, NULL, NULL),
                   HINT_EINVAL); /* env 1 of 1 */
  assert_int_equal(teacher_act(h, gs, 0, b.state, 1, 1, NULL, a1, l1, NULL, NULL), 0);
  teacher_goals_destroy(&gs);
  teacher_goals_destroy(&gs);
  assert_null(gs);
  hint_free(goals);
  hint_free(glp);
  teacher_destroy(&h);
  hint_free(w0);
  seg_free(&b);
  env_vec_destroy(&v);
  teacher_destroy(&t);
  teacher_destroy(&t); /* NULL-safe */
}

/* Makes the k-th allocation of teacher_create fail for every k until create
 * succeeds: each failure must be HINT_ENOMEM and leave nothing allocated. */
static void alloc_failures(const hint_config_t *c) {
  long base = hint_alloc_live();
  int failures = 0;
  for (long k = 0; k < 128; k++) {
    teacher_t *t = NULL;
    hint_alloc_fail_after(k);
    int rc = teacher_create(&t, c, 8, 1, NULL, 0);
    hint_alloc_fail_after(-1);
    if (rc == 0) {
      teacher_destroy(&t);
      break;
    }
    assert_int_equal(rc, HINT_ENOMEM);
    assert_null(t);
    assert_int_equal(hint_alloc_live(), base);
    failures++;
  }
  assert_true(failures > 5 && failures < 128); /* reached the end, then succeeded */
  assert_int_equal(hint_alloc_live(), base);
}

static void test_alloc_failures_leak_nothing(void **state) {
  (void)state;
  hint_config_t c;
  small_cfg(&c, 4, 8);
  alloc_failures(&c);
  c.teacher.hierarchical = 1;
  alloc_failures(&c);
}

/* ---- hierarchical teacher --------------------------------------------------
 * White-box where the rules live in the batch (teacher_int.h): decision
 * points, windows, relabelled goals and every target are recomputed here from
 * the rules as hier.c states them. */

static void hier_cfg(hint_config_t *c, int E, int T) {
  small_cfg(c, E, T);
  c->teacher.hierarchical = 1;
  c->teacher.goal_set = HINT_GOALS_CELLS; /* the targets tests switch it explicitly */
  c->teacher.goal_cell = 2; /* 5x5 -> a 3x3 grid of goals, the last row/col narrow */
  c->teacher.manager_period = 3;
  c->teacher.intrinsic_coef = 0.1;
  c->teacher.student_data_coef = 0.5;
  c->teacher.rho_bar = 1.0;
  c->teacher.c_bar = 0.9;
  c->teacher.replay_segments = 1;
}

static int ref_goal_of(int r, int c) { return (r / 2) * 3 + c / 2; }
static int ref_goal_dist(int r, int c, int g) {
  int r0 = (g / 3) * 2, c0 = (g % 3) * 2, r1 = r0 + 1 > 4 ? 4 : r0 + 1, c1 = c0 + 1 > 4 ? 4 : c0 + 1;
  int dr = r < r0 ? r0 - r : (r > r1 ? r - r1 : 0), dc = c < c0 ? c0 - c : (c > c1 ? c - c1 : 0);
  return dr + dc;
}
static void set_pos(float *s, int i, int r, int c) {
  s[2 * i] = (float)r;
  s[2 * i + 1] = (float)c;
}

static void test_hier_act_goals(void **state) {
  (void)state;
  const int N = 64;
  hint_config_t c;
  hier_cfg(&c, N, 4);
  teacher_t *t = NULL;
  assert_int_equal(teacher_create(&t, &c, 20, 5, NULL, 0), 0); /* 20: chunks split */
  const env_dims_t *d = teacher_dims(t);
  const int S = d->state_dim, A = d->n_agents, NA = d->n_actions;
  /* Non-trivial weights so the manager is far from uniform. */
  nn_params_t *p = teacher_params(t);
  hint_rng_t g;
  hint_rng_seed(&g, 8, 0, 0);
  for (size_t k = 0; k < p->n; k++)
    if (p->w[k] != 0.0f) /* weights, not the zero biases or normalisers */
      p->w[k] = (float)hint_rng_uniform(&g, -0.4, 0.4);
  float *st = hint_calloc((size_t)N * S, sizeof(float));
  int32_t *act = hint_calloc((size_t)N * A, sizeof(int32_t)), *goals = hint_calloc((size_t)N * A, sizeof(int32_t)),
          *prev = hint_calloc((size_t)N * A, sizeof(int32_t));
  float *lp = hint_calloc((size_t)N * A, sizeof(float)), *glp = hint_calloc((size_t)N * A, sizeof(float));
  float *pi = hint_calloc((size_t)N * A * NA, sizeof(float));
  assert_true(st && act && goals && prev && lp && glp && pi);
  for (int e = 0; e < N; e++)
    for (int i = 0; i < A; i++)
      set_pos(st + (size_t)e * S, i, (e + i) % 5, (2 * e + 3 * i) % 5);
  teacher_goals_t *gs = NULL;
  assert_int_equal(teacher_goals_create(&gs, t, N), 0);
  hint_rng_t r;
  hint_rng_seed(&r, 3, 0, 0);
  /* The same states, six calls: an agent keeps its goal until K = 3 calls
   * after its last decision, or re-decides at once when it stands in its
   * goal; a decision samples afresh, so many goals change. */
  int last[64 * 3], expired_changes = 0, expired = 0;
  for (int call = 0; call < 6; call++) {
    assert_int_equal(teacher_act(t, gs, 0, st, N, 0, &r, act, lp, goals, glp), 0);
    for (int k = 0; k < N * A; k++) {
      assert_true(goals[k] >= 0 && goals[k] < 9);
      assert_true(glp[k] <= 0.0f && isfinite(glp[k]));
      assert_true(act[k] >= 0 && act[k] < NA);
      int e = k / A, i = k % A;
      int decide = call == 0 ||
                   ref_goal_dist((int)st[(size_t)e * S + 2 * i],
                                 (int)st[(size_t)e * S + 2 * i + 1], prev[k]) == 0 ||
                   call - last[k] >= 3;
      if (!decide) {
        assert_int_equal(goals[k], prev[k]); /* kept between decisions */
      } else {
        if (call > 0 && call - last[k] >= 3) {
          expired++;
          expired_changes += goals[k] != prev[k];
        }
        last[k] = call;
      }
    }
    memcpy(prev, goals, (size_t)N * A * sizeof(int32_t));
  }
  assert_true(expired > N && expired_changes > expired / 4);
  /* Arrival: move every agent into its goal; each re-chooses (some change). */
  for (int e = 0; e < N; e++)
    for (int i = 0; i < A; i++) {
      int gg = prev[e * A + i];
      set_pos(st + (size_t)e * S, i, (gg / 3) * 2, (gg % 3) * 2);
    }
  assert_int_equal(teacher_act(t, gs, 0, st, N, 0, &r, act, lp, goals, glp), 0);
  int changed = 0;
  for (int k = 0; k < N * A; k++)
    changed += goals[k] != prev[k];
  assert_true(changed > N / 4);
  /* Greedy with fresh goals is the argmax of the guidance pi_T, which uses
   * the manager's argmax goal; logp is its log-probability. */
  teacher_goals_reset_all(gs);
  assert_int_equal(teacher_targets(t, st, N, pi, NULL), 0);
  assert_int_equal(teacher_act(t, gs, 0, st, N, 1, NULL, act, lp, goals, glp), 0);
  for (int k = 0; k < N * A; k++) {
    const float *row = pi + (size_t)k * NA;
    double sum = 0.0;
    for (int a = 0; a < NA; a++) {
      sum += row[a];
      assert_true(row[a] <= row[act[k]]);
    }
    assert_true(fabs(sum - 1.0) < 1e-5);
    float want = logf(row[act[k]]);
    assert_close(&lp[k], &want, 1, 1e-5, 1e-4);
  }
  /* Resetting the even envs makes only their agents re-decide. */
  for (int e = 0; e < N; e++)
    for (int i = 0; i < A; i++)
      set_pos(st + (size_t)e * S, i, (e + i) % 5, (2 * e + 3 * i) % 5);
  teacher_goals_reset_all(gs);
  assert_int_equal(teacher_act(t, gs, 0, st, N, 0, &r, act, lp, prev, glp), 0);
  for (int e = 0; e < N; e += 2)
    teacher_goals_reset(gs, e);
  teacher_goals_reset(gs, N); /* out of range: ignored */
  assert_int_equal(teacher_act(t, gs, 0, st, N, 0, &r, act, lp, goals, glp), 0);
  changed = 0;
  for (int k = 0; k < N * A; k++) {
    int e = k / A, i = k % A;
    int in_goal = ref_goal_dist((int)st[(size_t)e * S + 2 * i], (int)st[(size_t)e * S + 2 * i + 1],
                                prev[k]) == 0;
    if (e % 2 && !in_goal)
      assert_int_equal(goals[k], prev[k]);
    changed += e % 2 == 0 && goals[k] != prev[k];
  }
  assert_true(changed > N / 8);
  hint_free(st);
  hint_free(act);
  hint_free(goals);
  hint_free(prev);
  hint_free(lp);
  hint_free(glp);
  hint_free(pi);
  teacher_goals_destroy(&gs);
  teacher_destroy(&t);
}

/* The hand-made segment of the formation tests: E = 2, T = 8.
 * env 0: student-driven, done at t = 4; agent i at (stud_row(t), stud_col(i)).
 * env 1: teacher-driven; agent 0 walks (4,4) (4,3) (3,3) (2,2) (1,1) (1,2)
 *   (2,2) (2,3) (3,3) with goals 8 8 0 0 0 0 0 0: decisions at t = 0, 2
 *   (goal changed), 4 (stands in goal 0), 7 (period 3 expired); agent 1
 *   stays at (0,4) inside its goal 2: a decision every step; agent 2 stays
 *   at (4,0) with goal 2: decisions at 0, 3, 6. */
static const int HM_T = 8, HM_E = 2;
static const int A0_R[9] = {4, 4, 3, 2, 1, 1, 2, 2, 3}, A0_C[9] = {4, 3, 3, 2, 1, 2, 2, 3, 3};
static const int A0_G[8] = {8, 8, 0, 0, 0, 0, 0, 0};

/* env 0 agents: row 2 until t = 3, then row 4; column 2i: burning cells. */
static int stud_row(int t) { return t < 4 ? 2 : 4; }
static int stud_col(int i) { return (2 * i) % 5; }

static void hand_made_segment(seg_buf_t *b, hint_rng_t *g, int32_t *goals, float *glp) {
  const int T = HM_T, E = HM_E, A = b->A, S = b->S;
  for (int t = 0; t <= T; t++) {
    float *s0 = b->state + ((size_t)t * E + 0) * S, *s1 = b->state + ((size_t)t * E + 1) * S;
    for (int i = 0; i < A; i++)
      set_pos(s0, i, stud_row(t), stud_col(i));
    set_pos(s1, 0, A0_R[t], A0_C[t]);
    set_pos(s1, 1, 0, 4);
    set_pos(s1, 2, 4, 0);
    s0[2 * A + 25] = s1[2 * A + 25] = (float)t / 80.0f; /* step fraction */
    /* Fire on a checkerboard, fronts on two of its cells: the targets goal
     * set has candidates (fronts primary, burning cells secondary). */
    for (int cell = 0; cell < 25; cell++)
      s0[2 * A + cell] = s1[2 * A + cell] = (float)((cell / 5 + cell % 5) % 2 == 0);
    s0[2 * A + 26 + 12] = s1[2 * A + 26 + 12] = 1.0f;
    s0[2 * A + 26 + (t % 2 ? 0 : 24)] = s1[2 * A + 26 + (t % 2 ? 0 : 24)] = 1.0f;
  }
  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) {
      size_t te = (size_t)t * E + e;
      b->rew[te] = (float)hint_rng_uniform(g, -1.0, 0.0);
      b->done[te] = e == 0 && t == 4;
      b->drv[te] = (uint8_t)(e == 1);
      for (int i = 0; i < A; i++) {
        b->act[te * A + i] = (int32_t)hint_rng_below(g, 6);
        /* Student logp spread wide so student ratios are large and small. */
        b->logp[te * A + i] = e == 0 ? (float)hint_rng_uniform(g, -5.0, -0.3)
                                     : (float)hint_rng_uniform(g, -2.5, -1.0);
        goals[te * A + i] = e == 0 ? -1 : (i == 0 ? A0_G[t] : 2);
        glp[te * A + i] = e == 0 ? 0.0f : (float)hint_rng_uniform(g, -3.0, -1.0);
      }
    }
  b->seg.goals = goals;
  b->seg.goal_logp = glp;
}

/* teacher.student_data_frac: the update uses a random share of the student-
 * driven env copies (per segment and env) and all of the teacher's own data;
 * 1 uses everything. 40 copies of the hand-made segment: 40 student runs. */
static void test_hier_student_frac(void **state) {
  (void)state;
  enum { NSEG = 40 };
  for (int pass = 0; pass < 2; pass++) {
    hint_config_t c;
    hier_cfg(&c, HM_E, HM_T);
    c.teacher.replay_segments = NSEG;
    c.teacher.student_data_frac = pass == 0 ? 1.0 : 0.5;
    teacher_t *t = NULL;
    assert_int_equal(teacher_create(&t, &c, 64, 2, NULL, 0), 0);
    hint_rng_t g;
    hint_rng_seed(&g, 4, 0, 0);
    seg_buf_t b;
    seg_alloc(&b, HM_T, HM_E, t->A, t->S);
    int32_t goals[8 * 2 * 3];
    float glp[8 * 2 * 3];
    hand_made_segment(&b, &g, goals, glp);
    teacher_seg_t segs[NSEG];
    for (int j = 0; j < NSEG; j++)
      segs[j] = b.seg;
    long cnt = 0;
    assert_int_equal(teacher_hier_form(t, segs, NSEG, &cnt), 0);
    long own = 0, stu = 0;
    for (long k = 0; k < cnt; k++)
      *(t->src[k] ? &stu : &own) += 1;
    assert_int_equal(own, NSEG * HM_T); /* env 1 of every segment */
    if (pass == 0)
      assert_int_equal(stu, NSEG * HM_T); /* env 0 of every segment */
    else {
      assert_int_equal(stu % HM_T, 0);  /* whole env runs, never parts */
      assert_in_range(stu / HM_T, 10, 30); /* ~20 of 40; binomial sd 3.2 */
    }
    seg_free(&b);
    teacher_destroy(&t);
  }
}

/* The steppable update (what the async learner does): begin, then one
 * minibatch step at a time with teacher_targets and teacher_act called
 * between the steps, ends with the same parameters, RNG and figures as the
 * blocking teacher_update, bit for bit; a second begin while one is active is
 * refused. Flat and hierarchical. */
static void test_update_steps_interleaved(void **state) {
  (void)state;
  for (int hier = 0; hier < 2; hier++) {
    hint_config_t c;
    if (hier)
      hier_cfg(&c, HM_E, HM_T);
    else
      small_cfg(&c, 6, 10);
    c.teacher.minibatches = 3;
    teacher_t *t1 = NULL, *t2 = NULL;
    assert_int_equal(teacher_create(&t1, &c, 16, 5, NULL, 0), 0);
    assert_int_equal(teacher_create(&t2, &c, 16, 5, NULL, 0), 0);
    seg_buf_t b;
    int32_t goals[8 * 2 * 3];
    float glp[8 * 2 * 3];
    env_vec_t *v = NULL;
    hint_rng_t g;
    hint_rng_seed(&g, 7, 0, 0);
    if (hier) {
      seg_alloc(&b, HM_T, HM_E, t1->A, t1->S);
      hand_made_segment(&b, &g, goals, glp);
    } else {
      assert_int_equal(env_vec_create(&v, &c, 6, 0, 8, NULL, 0), 0);
      seg_alloc(&b, 10, 6, env_vec_dims(v)->n_agents, env_vec_dims(v)->state_dim);
      seg_random_rollout(&b, v, &g);
      memset(b.drv, 1, (size_t)10 * 6);
      for (int k = 0; k < 10 * 6 * b.A; k++)
        b.logp[k] = -logf(6.0f);
    }
    const int n_states = b.seg.T * b.seg.E;
    float *pi = hint_malloc((size_t)n_states * t1->A * t1->NA * sizeof(float));
    float *val = hint_malloc((size_t)n_states * sizeof(float));
    assert_non_null(pi);
    assert_non_null(val);
    teacher_stats_t s1, s2;
    for (int u = 0; u < 2; u++) {
      assert_int_equal(teacher_update(t1, &b.seg, 1, &s1), 0);
      memset(&s2, 0, sizeof s2);
      assert_int_equal(teacher_update_begin(t2, &b.seg, 1), 0);
      assert_true(teacher_update_active(t2));
      assert_int_equal(teacher_update_begin(t2, &b.seg, 1), HINT_ESTATE);
      int done = 0, steps = 0;
      while (!done) {
        assert_int_equal(teacher_targets(t2, b.seg.state, n_states, pi, val), 0);
        assert_int_equal(teacher_update_step(t2, &done, &s2), 0);
        steps++;
      }
      assert_false(teacher_update_active(t2));
      assert_int_equal(steps, c.teacher.epochs * c.teacher.minibatches);
      assert_int_equal(steps, s2.adam_steps);
      nn_params_t *p1 = teacher_params(t1), *p2 = teacher_params(t2);
      assert_memory_equal(p1->w, p2->w, p1->n * sizeof(float));
      assert_memory_equal(p1->m, p2->m, p1->n * sizeof(float));
      assert_memory_equal(teacher_rng(t1), teacher_rng(t2), sizeof(hint_rng_t));
      assert_memory_equal(&s1, &s2, sizeof s1);
    }
    int done = 0;
    assert_int_equal(teacher_update_step(t2, &done, NULL), 0); /* nothing active */
    assert_true(done);
    hint_free(pi);
    hint_free(val);
    seg_free(&b);
    env_vec_destroy(&v);
    teacher_destroy(&t1);
    teacher_destroy(&t2);
  }
}

static void test_hier_batch_formation(void **state) {
  (void)state;
  hint_config_t c;
  hier_cfg(&c, HM_E, HM_T);
  teacher_t *t = NULL;
  assert_int_equal(teacher_create(&t, &c, 5, 2, NULL, 0), 0);
  const int A = t->A, S = t->S, T = HM_T, E = HM_E;
  assert_int_equal(t->G, 9);
  nn_params_t *p = teacher_params(t);
  hint_rng_t g;
  hint_rng_seed(&g, 4, 0, 0);
  for (size_t k = 0; k < p->n; k++)
    p->w[k] += (float)hint_rng_uniform(&g, -0.1, 0.1) * (fabsf(p->w[k]) > 0.0f);
  seg_buf_t b;
  seg_alloc(&b, T, E, A, S);
  int32_t goals[8 * 2 * 3];
  float glp[8 * 2 * 3];
  hand_made_segment(&b, &g, goals, glp);
  long cnt = 0;
  assert_int_equal(teacher_hier_form(t, &b.seg, 1, &cnt), 0);
  assert_int_equal(cnt, T * E);

  /* Sample order: (segment, env, time); env 0 is student data. */
  const int mrow_own[3][8] = {{1, 0, 1, 0, 1, 0, 0, 1}, {1, 1, 1, 1, 1, 1, 1, 1},
                              {1, 0, 0, 1, 0, 0, 1, 0}};
  for (long k = 0; k < cnt; k++) {
    const teacher_sample_t *sm = &t->samples[k];
    int e = (int)(k / T), tt = (int)(k % T);
    assert_int_equal(sm->e, e);
    assert_int_equal(sm->t, tt);
    assert_int_equal(t->src[k], e == 0);
    for (int i = 0; i < A; i++) {
      const teacher_hrow_t *h = &t->hrows[k * A + i];
      size_t te = (size_t)tt * E + e;
      assert_true(h->w_old == b.logp[te * A + i]);
      if (e == 1) {
        assert_int_equal(h->goal, goals[te * A + i]);
        assert_int_equal(h->mrow, mrow_own[i][tt]);
        int wend = tt == T - 1 || mrow_own[i][tt + 1];
        assert_int_equal(h->wend, wend);
        if (h->mrow)
          assert_true(h->m_old == glp[te * A + i]);
      } else {
        /* Windows [0,2] [3,4] (done at 4) [5,7]; g~ from s3, s4 (done:
         * the last in-episode state), s8. */
        int w0 = tt <= 2 ? 0 : (tt <= 4 ? 3 : 5), we = tt <= 2 ? 2 : (tt <= 4 ? 4 : 7);
        int send = tt <= 2 ? 3 : (tt <= 4 ? 4 : 8);
        assert_int_equal(h->goal, ref_goal_of(stud_row(send), stud_col(i)));
        assert_int_equal(h->mrow, tt == w0);
        assert_int_equal(h->wend, tt == we);
        if (h->mrow)
          assert_true(h->m_old < 0.0f && isfinite(h->m_old));
      }
    }
  }

  /* Targets, recomputed in double from the values cached at formation. */
  const double gm = c.teacher.gamma, lam = c.teacher.gae_lambda;
  const float *v = t->v_all; /* one segment: offset 0, [T+1][E] */
  double got[64], want[64];
  int n_cmp = 0, n_vtrace_cut = 0;
  for (int e = 0; e < E; e++) {
    for (int i = 0; i < A; i++) {
      double next = 0.0;
      for (int tt = T - 1; tt >= 0; tt--) {
        long k = (long)e * T + tt;
        const teacher_hrow_t *h = &t->hrows[k * A + i];
        size_t te = (size_t)tt * E + e;
        const float *s0 = b.state + te * S, *s1 = b.state + (te + E) * S;
        int dn = b.done[te];
        double rl = b.rew[te];
        if (!dn) {
          int d0 = ref_goal_dist((int)s0[2 * i], (int)s0[2 * i + 1], h->goal);
          int d1 = ref_goal_dist((int)s1[2 * i], (int)s1[2 * i + 1], h->goal);
          rl += c.teacher.intrinsic_coef * ((d0 - d1) + (d1 == 0 && d0 > 0 ? c.teacher.arrival_bonus : 0.0));
        }
        double delta = rl + gm * !dn * h->vl_next - h->vl_cur;
        int cont = !h->wend;
        double adv, tgt;
        if (e == 1) {
          adv = delta + gm * lam * cont * next;
          tgt = adv + h->vl_cur;
          next = adv;
        } else {
          double ratio = exp((double)h->lp_new - h->w_old);
          double rho = ratio < 1.0 ? ratio : 1.0, cc = ratio < 0.9 ? ratio : 0.9;
          n_vtrace_cut += ratio > 1.0;
          double gap = rho * delta + gm * cc * cont * next;
          adv = rl + gm * !dn * (h->vl_next + (cont ? next : 0.0)) - h->vl_cur;
          tgt = h->vl_cur + gap;
          next = gap;
        }
        got[0] = h->w_adv, got[1] = h->w_tgt, want[0] = adv, want[1] = tgt;
        assert_close_d(got, want, 2, 1e-5, 1e-4);
        n_cmp++;
      }
    }
    /* V_H */
    double next = 0.0;
    for (int tt = T - 1; tt >= 0; tt--) {
      long k = (long)e * T + tt;
      size_t te = (size_t)tt * E + e;
      int dn = b.done[te], cont = !dn && tt + 1 < T;
      double delta = b.rew[te] + gm * !dn * v[te + E] - v[te], tgt;
      if (e == 1) {
        double adv = delta + gm * lam * cont * next;
        tgt = adv + v[te];
        next = adv;
      } else {
        double lr = 0.0;
        for (int i = 0; i < A; i++)
          lr += (double)t->hrows[k * A + i].lp_new - t->hrows[k * A + i].w_old;
        double ratio = exp(lr), rho = ratio < 1.0 ? ratio : 1.0, cc = ratio < 0.9 ? ratio : 0.9;
        double gap = rho * delta + gm * cc * cont * next;
        tgt = v[te] + gap;
        next = gap;
      }
      got[0] = t->samples[k].ret, want[0] = tgt;
      assert_close_d(got, want, 1, 1e-5, 1e-4);
    }
    /* Manager: windows from the decision flags, semi-MDP GAE. */
    for (int i = 0; i < A; i++) {
      double next_adv = 0.0;
      int have = 0;
      for (int tt = T - 1; tt >= 0; tt--) {
        long k = (long)e * T + tt;
        const teacher_hrow_t *h = &t->hrows[k * A + i];
        if (!h->mrow)
          continue;
        int we = tt;
        while (!t->hrows[((long)e * T + we) * A + i].wend)
          we++;
        double R = 0.0, disc = 1.0;
        for (int q = tt; q <= we; q++) {
          R += disc * b.rew[(size_t)q * E + e];
          disc *= gm;
        }
        int dn = b.done[(size_t)we * E + e];
        double delta = R + disc * !dn * v[(size_t)(we + 1) * E + e] - v[(size_t)tt * E + e];
        double adv = delta + disc * lam * (!dn && have) * next_adv;
        got[0] = h->m_adv, want[0] = adv;
        assert_close_d(got, want, 1, 1e-5, 1e-4);
        next_adv = adv;
        have = 1;
      }
    }
  }
  assert_int_equal(n_cmp, T * E * A);
  assert_true(n_vtrace_cut > 0); /* truncation was exercised */
  /* The intrinsic reward was exercised: agent 0 of env 1 reaches goal 0 at
   * s4, so its step-3 reward carries the arrival bonus. */
  assert_int_equal(ref_goal_dist(A0_R[4], A0_C[4], 0), 0);

  /* Same data, same seed: the same parameters after an update, bit for bit. */
  teacher_t *t2 = NULL;
  assert_int_equal(teacher_create(&t2, &c, 5, 2, NULL, 0), 0);
  memcpy(teacher_params(t2)->w, p->w, p->n * sizeof(float));
  /* t's normalisers moved during the direct formation above; align them. */
  teacher_stats_t s1, s2;
  assert_int_equal(teacher_update(t, &b.seg, 1, &s1), 0);
  assert_int_equal(teacher_update(t2, &b.seg, 1, &s2), 0);
  assert_memory_equal(p->w, teacher_params(t2)->w, p->n * sizeof(float));
  assert_memory_equal(&s1, &s2, sizeof s1);
  assert_int_equal(s1.steps, T);
  assert_int_equal(s1.student_steps, T);
  assert_int_equal(s1.manager_rows, 4 + 8 + 3 + 3 * 3);
  assert_true(isfinite(s1.manager_loss) && isfinite(s1.worker_value_loss));
  teacher_t *t3 = NULL;
  assert_int_equal(teacher_create(&t3, &c, 5, 2, NULL, 0), 0);
  memcpy(teacher_params(t3)->w, teacher_params(t2)->w, p->n * sizeof(float));
  *teacher_rng(t3) = *teacher_rng(t2);
  for (size_t k = 0; k < p->n; k++) {
    teacher_params(t3)->m[k] = teacher_params(t2)->m[k];
    teacher_params(t3)->v[k] = teacher_params(t2)->v[k];
  }
  teacher_params(t3)->step = teacher_params(t2)->step;
  assert_int_equal(teacher_update(t2, &b.seg, 1, &s2), 0);
  assert_int_equal(teacher_update(t3, &b.seg, 1, &s1), 0);
  assert_memory_equal(teacher_params(t2)->w, teacher_params(t3)->w, p->n * sizeof(float));
  teacher_destroy(&t3);
  teacher_destroy(&t2);
  seg_free(&b);
  teacher_destroy(&t);
}

/* Sizes of one MLP (in -> H x L -> out) in floats. */
static size_t mlp_floats(int in, int out, int H, int L) {
  return (size_t)H * (in + 1) + (size_t)(L - 1) * H * (H + 1) + (size_t)out * (H + 1);
}

typedef struct {
  const ref_t *r;
  int rows, c, P_L, G;
  int mrows;              /* manager decision rows (compacted) */
  int targets, KT, PM;    /* targets: K candidates scored from PM inputs each */
  int *cand;              /* targets: (rows, K) candidate cells, -1 masked */
  size_t wk, vh, mg, vl;  /* arena offsets */
  double *xw, *xm, *xv;   /* inputs */
  int *act, *mgoal;
  double *old, *adv, *ww, *vlt, *mold, *madv, *mw, *vht, *vhw;
  double clip, ent, vf;
  int dual;               /* rows where the dual clip is active */
} href_t;

static double href_ppo(const double *z, int NA, int a, double old, double adv, double clip,
                       int *dual) {
  double mx = z[0], se = 0.0;
  for (int j = 1; j < NA; j++)
    mx = z[j] > mx ? z[j] : mx;
  for (int j = 0; j < NA; j++)
    se += exp(z[j] - mx);
  double lp = z[a] - mx - log(se), r = exp(lp - old);
  double rc = r < 1 - clip ? 1 - clip : (r > 1 + clip ? 1 + clip : r);
  double o = r * adv < rc * adv ? r * adv : rc * adv;
  if (adv < 0 && o < 3.0 * adv) {
    o = 3.0 * adv;
    if (dual)
      (*dual)++;
  }
  return -o;
}
static double href_ent(const double *z, int NA) {
  double mx = z[0], se = 0.0, h = 0.0;
  for (int j = 1; j < NA; j++)
    mx = z[j] > mx ? z[j] : mx;
  for (int j = 0; j < NA; j++)
    se += exp(z[j] - mx);
  for (int j = 0; j < NA; j++) {
    double lp = z[j] - mx - log(se);
    h -= exp(lp) * lp;
  }
  return h;
}

static double href_loss(href_t *h, const double *w, int *dual) {
  const ref_t *r = h->r;
  double L = 0.0, z[64];
  for (int q = 0; q < h->rows; q++) {
    if (h->ww[q] != 0.0) {
      ref_mlp(r, w, h->wk, h->xw + (size_t)q * h->P_L, h->P_L, r->NA, z);
      L += h->ww[q] * (href_ppo(z, r->NA, h->act[q], h->old[q], h->adv[q], h->clip, dual) -
                       h->ent * href_ent(z, r->NA));
      double vv;
      ref_mlp(r, w, h->vl, h->xw + (size_t)q * h->P_L, h->P_L, 1, &vv);
      L += h->vf * h->ww[q] * 0.5 * (vv - h->vlt[q]) * (vv - h->vlt[q]);
    }
  }
  /* The manager's rows are the compacted decision rows (m_sel). */
  for (int q = 0; q < h->mrows; q++) {
    if (h->mw[q] != 0.0) {
      int GM = h->targets ? h->KT : h->G;
      if (!h->targets) {
        ref_mlp(r, w, h->mg, h->xm + (size_t)q * h->PM, h->PM, h->G, z);
      } else {
        for (int k = 0; k < h->KT; k++) {
          ref_mlp(r, w, h->mg, h->xm + ((size_t)q * h->KT + k) * h->PM, h->PM, 1, &z[k]);
          if (h->cand[(size_t)q * h->KT + k] < 0)
            z[k] = -1e9;
        }
      }
      L += h->mw[q] * (href_ppo(z, GM, h->mgoal[q], h->mold[q], h->madv[q], h->clip, dual) -
                       h->ent * href_ent(z, GM));
    }
  }
  for (int k = 0; k < h->c; k++) {
    double vv;
    ref_mlp(r, w, h->vh, h->xv + (size_t)k * r->S, r->S, 1, &vv);
    L += h->vf * h->vhw[k] * 0.5 * (vv - h->vht[k]) * (vv - h->vht[k]);
  }
  return L;
}

static double *dcopy_f(const float *x, size_t n) { return to_double(x, n); }
static int *icopy(const int *x, size_t n) {
  int *y = hint_malloc(n * sizeof(int));
  assert_non_null(y);
  memcpy(y, x, n * sizeof(int));
  return y;
}

static void hier_gradcheck(int targets) {
  hint_config_t c;
  hier_cfg(&c, HM_E, HM_T);
  c.teacher.ent_coef = 0.05;
  if (targets) {
    c.teacher.goal_set = HINT_GOALS_TARGETS;
    c.teacher.n_targets = 6;
  }
  teacher_t *t = NULL;
  assert_int_equal(teacher_create(&t, &c, HM_T * HM_E, 6, NULL, 0), 0); /* one chunk */
  const int A = t->A, S = t->S, T = HM_T, E = HM_E;
  ref_t r;
  ref_init(&r, &c);
  nn_params_t *p = teacher_params(t);
  href_t h = {.r = &r, .P_L = t->P_L, .G = t->G, .clip = c.teacher.clip,
              .ent = c.teacher.ent_coef, .vf = c.teacher.vf_coef, .targets = targets,
              .KT = c.teacher.n_targets, .PM = r.P_in + (targets ? 6 : 0)};
  h.wk = 0;
  h.vh = h.wk + mlp_floats(h.P_L, r.NA, r.H, r.L);
  size_t vn1 = h.vh + mlp_floats(S, 1, r.H, r.L);
  h.mg = vn1 + 4;
  h.vl = h.mg + mlp_floats(h.PM, targets ? 1 : h.G, r.H, r.L);
  size_t vn2 = h.vl + mlp_floats(h.P_L, 1, r.H, r.L);
  assert_int_equal(p->n, vn2 + 4);
  hint_rng_t g;
  hint_rng_seed(&g, 12, 0, 0);
  for (size_t k = 0; k < p->n; k++)
    if (k < vn1 || (k >= h.mg && k < vn2))
      p->w[k] = (float)hint_rng_uniform(&g, -0.3, 0.3);
  seg_buf_t b;
  seg_alloc(&b, T, E, A, S);
  int32_t goals[8 * 2 * 3];
  float glp[8 * 2 * 3];
  hand_made_segment(&b, &g, goals, glp);
  long cnt = 0;
  assert_int_equal(teacher_hier_form(t, &b.seg, 1, &cnt), 0);
  uint32_t idx[16];
  for (int k = 0; k < cnt; k++)
    idx[k] = (uint32_t)k;
  double loss = teacher_hier_mb_loss(t, &b.seg, idx, (int)cnt, NULL);

  /* The rows the teacher built (inputs, targets, weights), as constants. */
  h.c = (int)cnt;
  h.rows = (int)cnt * A;
  h.xw = dcopy_f(t->x_pi, (size_t)h.rows * h.P_L);
  /* The manager sees only decision rows, compacted in order (m_sel). */
  h.mrows = 0;
  for (int q = 0; q < h.rows; q++)
    if (t->hrows[q].mchoice >= 0) {
      assert_int_equal(t->m_sel[h.mrows], q);
      h.mrows++;
    }
  h.xm = dcopy_f(t->x_m, (size_t)h.mrows * (targets ? h.KT : 1) * h.PM);
  h.cand = targets ? icopy(t->cand, (size_t)h.mrows * h.KT) : NULL;
  h.xv = dcopy_f(t->x_v, (size_t)h.c * S);
  h.act = icopy(t->act_rows, (size_t)h.rows);
  h.mgoal = icopy(t->m_goal_rows, (size_t)h.mrows);
  h.old = dcopy_f(t->logp_rows, (size_t)h.rows);
  h.adv = dcopy_f(t->adv_rows, (size_t)h.rows);
  h.ww = dcopy_f(t->row_w, (size_t)h.rows);
  h.vlt = dcopy_f(t->vl_tgt_rows, (size_t)h.rows);
  h.mold = dcopy_f(t->m_old_rows, (size_t)h.mrows);
  h.madv = dcopy_f(t->m_adv_rows, (size_t)h.mrows);
  h.mw = dcopy_f(t->row_w2, (size_t)h.mrows);
  h.vht = dcopy_f(t->ret_rows, (size_t)h.c);
  h.vhw = dcopy_f(t->vh_w, (size_t)h.c);
  /* Weights: own rows mean 1 each, student rows beta. */
  double sw = 0, smw = 0, svw = 0;
  for (int q = 0; q < h.rows; q++)
    sw += h.ww[q];
  for (int q = 0; q < h.mrows; q++)
    smw += h.mw[q];
  for (int k = 0; k < h.c; k++)
    svw += h.vhw[k];
  /* Manager decisions are trained where the goal was a choice (always for
   * cells; for targets, where it was a candidate at the window's start). */
  int any_m[2] = {0, 0};
  for (long k = 0; k < cnt; k++)
    for (int i = 0; i < A; i++)
      any_m[t->src[k]] |= t->hrows[k * A + i].mchoice >= 0;
  if (!targets)
    assert_true(any_m[0] && any_m[1]);
  assert_true(any_m[1]); /* relabelled decisions */
  double want_smw = any_m[0] + 0.5 * any_m[1];
  assert_true(fabs(sw - 1.5) < 1e-5 && fabs(smw - want_smw) < 1e-5 && fabs(svw - 1.5) < 1e-5);

  double *w = to_double(p->w, p->n);
  int dual = 0;
  double L = href_loss(&h, w, &dual);
  assert_close_d(&loss, &L, 1, 1e-5, 1e-4);
  assert_true(dual > 0); /* the dual clip is exercised */
  double *fd = hint_calloc(p->n, sizeof(double));
  assert_non_null(fd);
  double scale = 0.0;
  for (size_t k = 0; k < p->n; k++) {
    if (k >= vn1 && k < h.mg)
      continue;
    if (k >= vn2)
      continue;
    double w0 = w[k];
    w[k] = w0 + GC_H;
    double lp_ = href_loss(&h, w, NULL);
    w[k] = w0 - GC_H;
    double lm = href_loss(&h, w, NULL);
    w[k] = w0;
    fd[k] = (lp_ - lm) / (2 * GC_H);
    scale = fabs(fd[k]) > scale ? fabs(fd[k]) : scale;
  }
  assert_true(scale > 1e-3);
  int nz[4] = {0};
  for (size_t k = 0; k < p->n; k++) {
    double dd = fabs((double)p->g[k] - fd[k]);
    if (!(dd <= GC_ATOL * scale + GC_RTOL * fabs(fd[k]))) {
      print_error("param %zu: analytic %.9g vs numeric %.9g (scale %.3g)\n", k,
                  (double)p->g[k], fd[k], scale);
      fail();
    }
    if (fabs(fd[k]) > 1e-3 * scale)
      nz[k < h.vh ? 0 : (k < h.mg ? 1 : (k < h.vl ? 2 : 3))]++;
  }
  for (int q = 0; q < 4; q++)
    assert_true(nz[q] > 20); /* every network is in the check */
  int mrows = 0;
  for (int q = 0; q < h.mrows; q++)
    mrows += h.mw[q] != 0.0;
  assert_true(mrows > 4); /* manager decisions are in the loss */
  print_message("hier gradcheck (%s): %ld steps, %zu params, max|g| %.3g, %d manager rows, "
                "%d dual-clipped rows\n", targets ? "targets" : "cells", cnt, p->n - 8, scale,
                mrows, dual);
  hint_free(fd);
  hint_free(w);
  double *dl[] = {h.xw, h.xm, h.xv, h.old, h.adv, h.ww, h.vlt, h.mold, h.madv, h.mw, h.vht, h.vhw};
  for (size_t q = 0; q < sizeof dl / sizeof dl[0]; q++)
    hint_free(dl[q]);
  hint_free(h.act);
  hint_free(h.mgoal);
  hint_free(h.cand);
  seg_free(&b);
  teacher_destroy(&t);
}

static void test_hier_gradcheck(void **state) {
  (void)state;
  hier_gradcheck(0);
}

static void test_hier_targets_gradcheck(void **state) {
  (void)state;
  hier_gradcheck(1);
}

/* goal_set: targets. Decisions pick among env_feat_targets' candidates (an
 * agent with none holds its own cell); relabelled goals are map cells whose
 * decision is trained only when the cell was a candidate at the window's
 * start. */
static void test_hier_targets_goals(void **state) {
  (void)state;
  hint_config_t c;
  hier_cfg(&c, HM_E, HM_T);
  c.teacher.goal_set = HINT_GOALS_TARGETS;
  c.teacher.n_targets = 6;
  teacher_t *t = NULL;
  assert_int_equal(teacher_create(&t, &c, 3, 9, NULL, 0), 0); /* 3: chunks split */
  const int A = t->A, S = t->S, T = HM_T, E = HM_E, K = 6;
  env_feat_t feat;
  assert_int_equal(env_feat_init(&feat, &c, NULL, 0), 0);
  hint_rng_t g;
  hint_rng_seed(&g, 21, 0, 0);
  seg_buf_t b;
  seg_alloc(&b, T, E, A, S);
  int32_t goals[8 * 2 * 3];
  float glp[8 * 2 * 3];
  hand_made_segment(&b, &g, goals, glp);
  int32_t cells[64];
  float tf[64 * 6];

  /* Acting: every goal is a candidate of the state it was chosen in. */
  teacher_goals_t *gs = NULL;
  assert_int_equal(teacher_goals_create(&gs, t, E), 0);
  int32_t act[2 * 3], ag[2 * 3];
  float lp[2 * 3], alp[2 * 3];
  for (int tt = 0; tt < T; tt++) {
    teacher_goals_reset_all(gs); /* every call decides */
    const float *st = b.state + (size_t)tt * E * S;
    assert_int_equal(teacher_act(t, gs, 0, st, E, 0, &g, act, lp, ag, alp), 0);
    for (int e = 0; e < E; e++)
      for (int i = 0; i < A; i++) {
        int n = env_feat_targets(&feat, st + (size_t)e * S, i, cells, tf);
        assert_true(n > 0);
        int found = 0;
        for (int q = 0; q < n; q++)
          found |= cells[q] == ag[e * A + i];
        assert_true(found);
        assert_true(alp[e * A + i] <= 0.0f);
      }
  }
  /* No fire anywhere: no candidate, the agent holds its own cell. */
  float *calm = hint_calloc((size_t)S, sizeof(float));
  assert_non_null(calm);
  for (int i = 0; i < A; i++)
    set_pos(calm, i, i, 4 - i);
  assert_int_equal(env_feat_targets(&feat, calm, 0, cells, tf), 0);
  teacher_goals_reset_all(gs);
  assert_int_equal(teacher_act(t, gs, 0, calm, 1, 0, &g, act, lp, ag, alp), 0);
  for (int i = 0; i < A; i++) {
    assert_int_equal(ag[i], i * 5 + (4 - i));
    assert_true(alp[i] == 0.0f);
  }
  float pi[3 * 6];
  assert_int_equal(teacher_targets(t, calm, 1, pi, NULL), 0); /* finite guidance */
  for (int k = 0; k < A * 6; k++)
    assert_true(isfinite(pi[k]));
  hint_free(calm);
  teacher_goals_destroy(&gs);

  /* Batch: student goals are the end cells; a decision is trained iff that
   * cell was a candidate at the window's start, with its slot recorded. */
  long cnt = 0;
  assert_int_equal(teacher_hier_form(t, &b.seg, 1, &cnt), 0);
  int valid = 0, invalid = 0;
  for (long k = 0; k < T; k++) { /* env 0: student */
    int tt = (int)k, send = tt <= 2 ? 3 : (tt <= 4 ? 4 : 8);
    for (int i = 0; i < A; i++) {
      const teacher_hrow_t *h = &t->hrows[k * A + i];
      assert_int_equal(h->goal, stud_row(send) * 5 + stud_col(i));
      if (!h->mrow) {
        assert_int_equal(h->mchoice, -1);
        continue;
      }
      int n = env_feat_targets(&feat, b.state + ((size_t)tt * E + 0) * S, i, cells, tf);
      int slot = -1;
      for (int q = 0; q < n && q < K; q++)
        if (cells[q] == h->goal && slot < 0)
          slot = q;
      assert_int_equal(h->mchoice, slot);
      if (slot >= 0) {
        valid++;
        assert_true(h->m_old < 0.0f && isfinite(h->m_old));
      } else {
        invalid++;
      }
    }
  }
  assert_true(valid > 0 && invalid >= 0);
  teacher_stats_t st;
  assert_int_equal(teacher_update(t, &b.seg, 1, &st), 0);
  assert_true(isfinite(st.manager_loss) && st.manager_rows > 0);
  seg_free(&b);
  teacher_destroy(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_forward_matches_reference),
      cmocka_unit_test(test_gradcheck_whole_loss),
      cmocka_unit_test(test_determinism_and_resume),
      cmocka_unit_test(test_contracts),
      cmocka_unit_test(test_alloc_failures_leak_nothing),
      cmocka_unit_test(test_hier_act_goals),
      cmocka_unit_test(test_hier_batch_formation),
      cmocka_unit_test(test_hier_student_frac),
      cmocka_unit_test(test_update_steps_interleaved),
      cmocka_unit_test(test_hier_gradcheck),
      cmocka_unit_test(test_hier_targets_gradcheck),
      cmocka_unit_test(test_hier_targets_goals),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
