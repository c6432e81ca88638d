/* test_filter.c: the performance-based filter on hand-made segments.
 *
 * Three agents (agent 0 class 0, agents 1 and 2 class 1), O = 2, NA = 3,
 * C = 2. Every figure a test expects is worked out by hand in its comment or
 * computed by an independent double-precision reference in the test (the
 * consistency KL directly as a mean of KLs, not through the filter's
 * entropy identity; the window against a linear-search FIFO model).
 * Thresholds are bracketed: a value v must keep at margin v - eps and drop at
 * v + eps, which pins the filter's figure to within eps.
 */
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "learner/filter.h"

#include "tests/unit/test_util.h"

#include <stdint.h>
#include <string.h>

#define TM 8 /* largest T */
#define EM 4 /* largest E */
#define NAG 3
#define NO 2
#define NACT 3
#define NC 2

typedef struct {
  int T, E;
  float obs[(TM + 1) * EM * NAG * NO];
  float value[(TM + 1) * EM];
  int32_t actions[TM * EM * NAG];
  float rewards[TM * EM];
  uint8_t dones[TM * EM], truncated[TM * EM], driver[TM * EM];
  float comm[TM * EM * NAG * NC];
  float pi[TM * EM * NAG * NACT];
  float vT[TM * EM];
  float vboot[EM];
  uint8_t mask[TM * EM * NAG];
} fx_t;

static fx_t fx;

static env_dims_t make_dims(void) {
  env_dims_t d;
  memset(&d, 0, sizeof d);
  d.n_agents = NAG;
  d.n_classes = 2;
  d.class_of[0] = 0;
  d.class_of[1] = 1;
  d.class_of[2] = 1;
  d.class_first[0] = 0;
  d.class_first[1] = 1;
  d.class_count[0] = 1;
  d.class_count[1] = 2;
  d.class_obs_dim[0] = d.class_obs_dim[1] = NO;
  d.class_n_actions[0] = d.class_n_actions[1] = NACT;
  d.obs_dim = NO;
  d.n_actions = NACT;
  d.state_dim = 4;
  d.base_state_dim = 4;
  return d;
}

static hint_config_t make_cfg(int modes) {
  hint_config_t c;
  hint_config_defaults(&c);
  c.filter.modes = modes;
  c.filter.value_margin = 0.0;
  c.filter.adv_margin = 0.0;
  c.filter.consistency_bins = 4;
  c.filter.consistency_kl = 0.1;
  c.filter.consistency_window = 100;
  c.filter.max_entropy = 0.8;
  c.student.gamma = 0.5;
  c.student.gae_lambda = 0.5;
  c.student.comm = HINT_COMM_NONE;
  c.student.comm_dim = NC;
  c.actor.segment_len = TM;
  c.actor.envs = EM;
  return c;
}

static filter_t *make_filter(const hint_config_t *c) {
  env_dims_t d = make_dims();
  filter_t *f = NULL;
  assert_int_equal(filter_create(&f, c, &d), HINT_OK);
  assert_non_null(f);
  return f;
}

/* A fresh T x E segment: every sample eligible and student-driven, obs
 * distinct per (t, e, i), pi confident on action 0, V_T = V_S = 0. */
static void fx_reset(int T, int E) {
  memset(&fx, 0, sizeof fx);
  fx.T = T;
  fx.E = E;
  for (int k = 0; k < (T + 1) * E * NAG; k++) {
    fx.obs[k * NO] = (float)k;
    fx.obs[k * NO + 1] = 0.5f;
  }
  for (int k = 0; k < T * E * NAG; k++) {
    fx.pi[k * NACT] = 1.0f;
    fx.mask[k] = 1;
  }
}

static size_t K(int t, int e, int i) { return ((size_t)t * fx.E + e) * NAG + i; }
static size_t TE(int t, int e) { return (size_t)t * fx.E + e; }

static void set_pi(int t, int e, int i, float a, float b, float c) {
  float *p = fx.pi + K(t, e, i) * NACT;
  p[0] = a;
  p[1] = b;
  p[2] = c;
}

static void set_obs(int t, int e, int i, float a, float b) {
  fx.obs[K(t, e, i) * NO] = a;
  fx.obs[K(t, e, i) * NO + 1] = b;
}

static void set_comm(int t, int e, int i, float a, float b) {
  fx.comm[K(t, e, i) * NC] = a;
  fx.comm[K(t, e, i) * NC + 1] = b;
}

static teacher_seg_t view(int with_comm) {
  teacher_seg_t s;
  memset(&s, 0, sizeof s);
  s.T = fx.T;
  s.E = fx.E;
  s.obs = fx.obs;
  s.actions = fx.actions;
  s.rewards = fx.rewards;
  s.dones = fx.dones;
  s.truncated = fx.truncated;
  s.value = fx.value;
  s.driver = fx.driver;
  s.comm = with_comm ? fx.comm : NULL;
  return s;
}

static void run(filter_t *f, int with_comm, filter_stats_t *st) {
  teacher_seg_t s = view(with_comm);
  filter_apply(f, &s, fx.pi, fx.vT, fx.vboot, fx.mask, st);
}

/* Runs a fresh filter with cfg on the current fixture and returns the mask
 * at sample k (the fixture's mask is restored afterwards). */
static int kept_with(const hint_config_t *c, size_t k) {
  uint8_t saved[sizeof fx.mask];
  memcpy(saved, fx.mask, sizeof saved);
  filter_t *f = make_filter(c);
  run(f, 0, NULL);
  const int r = fx.mask[k];
  filter_destroy(&f);
  memcpy(fx.mask, saved, sizeof saved);
  return r;
}

/* ---- modes == 0 --------------------------------------------------------------- */

static void test_no_modes_keeps_everything(void **state) {
  (void)state;
  hint_config_t c = make_cfg(0);
  filter_t *f = make_filter(&c);
  fx_reset(2, 2);
  /* Garbage the filters would reject if they ran: NaN values, uniform pi. */
  fx.vT[0] = NAN;
  set_pi(0, 0, 1, 1.f / 3, 1.f / 3, 1.f / 3);
  fx.mask[K(0, 0, 0)] = 0;
  fx.mask[K(1, 1, 2)] = 0;
  fx.mask[K(1, 0, 1)] = 7; /* any nonzero is eligible, written back as 1 */
  filter_stats_t st;
  run(f, 0, &st);
  for (int t = 0; t < 2; t++)
    for (int e = 0; e < 2; e++)
      for (int i = 0; i < NAG; i++) {
        const int off = (t == 0 && e == 0 && i == 0) || (t == 1 && e == 1 && i == 2);
        assert_int_equal(fx.mask[K(t, e, i)], off ? 0 : 1);
      }
  /* class 0: 4 samples, one ineligible; class 1: 8, one ineligible */
  assert_true(st.offered[0] == 3.0 && st.kept[0] == 3.0);
  assert_true(st.offered[1] == 7.0 && st.kept[1] == 7.0);
  for (int m = 0; m < FILTER_N_MODES; m++)
    assert_true(st.dropped_by[m] == 0.0);
  assert_int_equal(filter_keys(f, 0), 0);
  filter_destroy(&f);
  assert_null(f);
  filter_destroy(&f); /* NULL-safe */
  filter_destroy(NULL);
}

/* ---- value ---------------------------------------------------------------------- */

static void test_value(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_VALUE);
  c.filter.value_margin = 0.25;
  filter_t *f = make_filter(&c);
  fx_reset(1, 4);
  /* gaps V_T - V_S: 0.5 keep, 0 drop, 1.0 keep, NaN drop */
  const float vt[4] = {1.0f, 0.5f, 2.0f, NAN}, vs[4] = {0.5f, 0.5f, 1.0f, 0.0f};
  for (int e = 0; e < 4; e++) {
    fx.vT[TE(0, e)] = vt[e];
    fx.value[TE(0, e)] = vs[e];
  }
  fx.value[TE(1, 1)] = 100.0f; /* V_S of state T: must not be read */
  fx.mask[K(0, 2, 1)] = 0;     /* ineligible stays 0, uncounted */
  filter_stats_t st;
  run(f, 0, &st);
  const int want[4] = {1, 0, 1, 0};
  for (int e = 0; e < 4; e++)
    for (int i = 0; i < NAG; i++)
      assert_int_equal(fx.mask[K(0, e, i)], (e == 2 && i == 1) ? 0 : want[e]);
  assert_true(st.offered[0] == 4.0 && st.kept[0] == 2.0);
  assert_true(st.offered[1] == 7.0 && st.kept[1] == 3.0);
  assert_true(st.dropped_by[FILTER_BY_VALUE] == 6.0);
  assert_true(st.dropped_by[FILTER_BY_ADVANTAGE] == 0.0);
  filter_destroy(&f);

  /* The margin is strict and exact: gap 0.5 keeps just below 0.5, drops at it. */
  fx_reset(1, 1);
  fx.vT[0] = 1.0f;
  fx.value[0] = 0.5f;
  c.filter.value_margin = 0.4999;
  assert_int_equal(kept_with(&c, K(0, 0, 0)), 1);
  c.filter.value_margin = 0.5;
  assert_int_equal(kept_with(&c, K(0, 0, 0)), 0);
  /* A negative margin keeps a teacher slightly worse than the students. */
  fx.vT[0] = 0.4f;
  c.filter.value_margin = -0.2;
  assert_int_equal(kept_with(&c, K(0, 0, 0)), 1);
}

/* ---- advantage ------------------------------------------------------------------ */

/* gamma = lambda = 0.5 (gamma * lambda = 0.25).
 * env 0: r = {0, 0, 1}, V_T = {1, 1, 1}, v_boot 2, no done:
 *   t2: 1 + 0.5*2 - 1 = 1                    A = 1
 *   t1: 0 + 0.5*1 - 1 = -0.5; + 0.25*1       A = -0.25
 *   t0: -0.5 + 0.25*(-0.25)                  A = -0.5625
 * env 1: r = {0, -1, 0}, V_T = {2, 1, 4}, v_boot 0, done at t1:
 *   t2: 0 + 0.5*0 - 4                        A = -4
 *   t1: -1 - 1 (done: no bootstrap, cut)     A = -2
 *   t0: 0 + 0.5*1 - 2 = -1.5; + 0.25*(-2)    A = -2 */
static void adv_fixture(void) {
  fx_reset(3, 2);
  const float r0[3] = {0, 0, 1}, v0[3] = {1, 1, 1}, r1[3] = {0, -1, 0}, v1[3] = {2, 1, 4};
  for (int t = 0; t < 3; t++) {
    fx.rewards[TE(t, 0)] = r0[t];
    fx.vT[TE(t, 0)] = v0[t];
    fx.rewards[TE(t, 1)] = r1[t];
    fx.vT[TE(t, 1)] = v1[t];
  }
  fx.vboot[0] = 2.0f;
  fx.vboot[1] = 0.0f;
  fx.dones[TE(1, 1)] = 1;
  /* pi argmax 1 everywhere; agent 0 plays it, agents 1 and 2 do not. */
  for (int t = 0; t < 3; t++)
    for (int e = 0; e < 2; e++)
      for (int i = 0; i < NAG; i++) {
        set_pi(t, e, i, 0.2f, 0.7f, 0.1f);
        fx.actions[K(t, e, i)] = i == 0 ? 1 : (i == 1 ? 0 : 2);
      }
}

/* Asserts A_t(t, e) == a to within 1e-6 by bracketing adv_margin with a
 * student action that differs from the teacher's argmax (agent 1). */
static void assert_adv(int t, int e, double a) {
  hint_config_t c = make_cfg(HINT_FILTER_ADVANTAGE);
  assert_true(a < 0.0); /* adv_margin >= 0 in the schema; a drop needs A < 0 */
  c.filter.adv_margin = -a - 1e-6;
  assert_int_equal(kept_with(&c, K(t, e, 1)), 1);
  c.filter.adv_margin = -a + 1e-6;
  assert_int_equal(kept_with(&c, K(t, e, 1)), 0);
}

static void test_advantage(void **state) {
  (void)state;
  adv_fixture();
  hint_config_t c = make_cfg(HINT_FILTER_ADVANTAGE);
  c.filter.adv_margin = 0.5;
  filter_t *f = make_filter(&c);
  filter_stats_t st;
  run(f, 0, &st);
  /* A < -0.5 at (0,0), (0,1), (1,1), (2,1); agent 0 follows the argmax. */
  const int worse[3][2] = {{1, 1}, {0, 1}, {0, 1}};
  for (int t = 0; t < 3; t++)
    for (int e = 0; e < 2; e++)
      for (int i = 0; i < NAG; i++)
        assert_int_equal(fx.mask[K(t, e, i)], worse[t][e] && i != 0);
  assert_true(st.offered[0] == 6.0 && st.kept[0] == 0.0);
  assert_true(st.offered[1] == 12.0 && st.kept[1] == 8.0);
  assert_true(st.dropped_by[FILTER_BY_ADVANTAGE] == 10.0);
  filter_destroy(&f);

  adv_fixture();
  assert_adv(1, 0, -0.25);
  assert_adv(0, 0, -0.5625);
  assert_adv(2, 1, -4.0);
  assert_adv(1, 1, -2.0);
  assert_adv(0, 1, -2.0);
  /* A positive advantage is never kept: (2, 0) has A = 1. */
  c.filter.adv_margin = 0.0;
  assert_int_equal(kept_with(&c, K(2, 0, 1)), 0);

  /* Truncation is a done (bootstrapped as terminal): the same figures with
   * truncated set beside the done. */
  adv_fixture();
  fx.truncated[TE(1, 1)] = 1;
  assert_adv(1, 1, -2.0);
  assert_adv(0, 1, -2.0);
  /* A NaN V_T beyond a done cannot leak back through it. */
  fx.vT[TE(2, 1)] = NAN;
  assert_adv(1, 1, -2.0);
  assert_adv(0, 1, -2.0);

  /* A change of driver cuts the trace but keeps the bootstrap: env 0 with
   * the teacher driving t2 gives t1: -0.5 (no carry), t0: -0.5 + 0.25*(-0.5). */
  adv_fixture();
  fx.driver[TE(2, 0)] = 1;
  for (int i = 0; i < NAG; i++)
    fx.mask[K(2, 0, i)] = 0;
  assert_adv(1, 0, -0.5);
  assert_adv(0, 0, -0.625);
}

static void test_advantage_argmax_ties(void **state) {
  (void)state;
  /* One very bad step; the first argmax counts as the teacher's action. */
  fx_reset(1, 1);
  fx.rewards[0] = -10.0f;
  for (int i = 0; i < NAG; i++)
    set_pi(0, 0, i, 0.4f, 0.4f, 0.2f);
  fx.actions[K(0, 0, 0)] = 0; /* the first argmax: drop */
  fx.actions[K(0, 0, 1)] = 1; /* tied but not first: differs, keep */
  fx.actions[K(0, 0, 2)] = 2;
  hint_config_t c = make_cfg(HINT_FILTER_ADVANTAGE);
  filter_t *f = make_filter(&c);
  run(f, 0, NULL);
  assert_int_equal(fx.mask[K(0, 0, 0)], 0);
  assert_int_equal(fx.mask[K(0, 0, 1)], 1);
  assert_int_equal(fx.mask[K(0, 0, 2)], 1);
  filter_destroy(&f);
}

/* ---- consistency ---------------------------------------------------------------- */

/* Independent reference: the mean over j of KL(p_j || m), m the mean. */
static double ref_mean_kl(const double (*p)[NACT], int n) {
  double m[NACT] = {0};
  for (int j = 0; j < n; j++)
    for (int a = 0; a < NACT; a++)
      m[a] += p[j][a] / n;
  double kl = 0.0;
  for (int j = 0; j < n; j++)
    for (int a = 0; a < NACT; a++)
      if (p[j][a] > 0)
        kl += p[j][a] * log(p[j][a] / m[a]) / n;
  return kl;
}

static void test_consistency_conflict_and_agreement(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
  c.filter.consistency_kl = 0.1;
  filter_t *f = make_filter(&c);
  fx_reset(2, 1);
  /* Obs X = (1, 2) for all three agents at t0, and agent 1 at t1. Order is
   * (t, e, i). Class 1 at X: {1,0,0} (first: kept), {0,1,0} (mean KL log 2 =
   * 0.69: dropped), then {1,0,0} again (m = {2/3, 1/3, 0}: mean KL
   * H(m) = 0.64: dropped). Agent 0 is class 0: its own table, kept. */
  for (int i = 0; i < NAG; i++)
    set_obs(0, 0, i, 1.0f, 2.0f);
  set_obs(1, 0, 1, 1.0f, 2.0f);
  set_pi(0, 0, 0, 0, 0, 1);
  set_pi(0, 0, 1, 1, 0, 0);
  set_pi(0, 0, 2, 0, 1, 0);
  set_pi(1, 0, 1, 1, 0, 0);
  /* Obs Y = (3, 4) for agents 0 and 2 at t1: class 0 and class 1 each see it
   * once (kept). */
  set_obs(1, 0, 0, 3.0f, 4.0f);
  set_obs(1, 0, 2, 3.0f, 4.0f);
  filter_stats_t st;
  run(f, 0, &st);
  assert_int_equal(fx.mask[K(0, 0, 0)], 1);
  assert_int_equal(fx.mask[K(0, 0, 1)], 1);
  assert_int_equal(fx.mask[K(0, 0, 2)], 0);
  assert_int_equal(fx.mask[K(1, 0, 1)], 0);
  assert_int_equal(fx.mask[K(1, 0, 0)], 1);
  assert_int_equal(fx.mask[K(1, 0, 2)], 1);
  assert_true(st.offered[0] == 2.0 && st.kept[0] == 2.0);
  assert_true(st.offered[1] == 4.0 && st.kept[1] == 2.0);
  assert_true(st.dropped_by[FILTER_BY_CONSISTENCY] == 2.0);
  assert_int_equal(filter_keys(f, 0), 2); /* X, Y */
  assert_int_equal(filter_keys(f, 1), 2); /* X, Y */

  /* The table persists across calls: X in class 1 now holds {2/3, 1/3, 0}
   * over three samples; a fourth {1,0,0} gives m = {3/4, 1/4, 0}, mean KL
   * H(m) = 0.562: still dropped. Consistent guidance elsewhere, repeated
   * exactly, has mean KL exactly 0 and is always kept, even at kl 0. */
  fx_reset(1, 1);
  set_obs(0, 0, 1, 1.0f, 2.0f);
  set_pi(0, 0, 1, 1, 0, 0);
  set_obs(0, 0, 0, 9.0f, 9.0f);
  set_pi(0, 0, 0, 0.7f, 0.2f, 0.1f);
  set_obs(0, 0, 2, 8.0f, 8.0f);
  set_pi(0, 0, 2, 0.7f, 0.2f, 0.1f);
  run(f, 0, &st);
  assert_int_equal(fx.mask[K(0, 0, 1)], 0);
  assert_int_equal(fx.mask[K(0, 0, 0)], 1);
  assert_int_equal(fx.mask[K(0, 0, 2)], 1);
  filter_destroy(&f);

  c.filter.consistency_kl = 0.0;
  f = make_filter(&c);
  for (int rep = 0; rep < 5; rep++) {
    fx_reset(1, 1);
    for (int i = 0; i < NAG; i++) {
      set_obs(0, 0, i, 5.0f, 5.0f);
      set_pi(0, 0, i, 0.7f, 0.2f, 0.1f);
    }
    run(f, 0, &st);
    for (int i = 0; i < NAG; i++)
      assert_int_equal(fx.mask[K(0, 0, i)], 1);
  }
  assert_int_equal(filter_keys(f, 1), 1);
  filter_destroy(&f);
}

/* The filter's mean KL matches the direct mean of KLs: three close
 * distributions at one key, the threshold bracketed around the reference
 * after the second and the third sample. */
static void test_consistency_kl_value(void **state) {
  (void)state;
  const double p[3][NACT] = {{0.7, 0.2, 0.1}, {0.5, 0.3, 0.2}, {0.6, 0.1, 0.3}};
  for (int n = 2; n <= 3; n++) {
    double pd[3][NACT];
    for (int j = 0; j < n; j++)
      for (int a = 0; a < NACT; a++)
        pd[j][a] = (double)(float)p[j][a]; /* what the filter sees */
    const double kl = ref_mean_kl((const double (*)[NACT])pd, n);
    assert_true(kl > 0.01 && kl < 0.1);
    for (int side = 0; side < 2; side++) {
      hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
      c.filter.consistency_kl = side ? kl * (1 + 1e-6) : kl * (1 - 1e-6);
      filter_t *f = make_filter(&c);
      fx_reset(n, 1);
      for (int t = 0; t < n; t++) {
        set_obs(t, 0, 1, 7.0f, -7.0f);
        set_pi(t, 0, 1, (float)p[t][0], (float)p[t][1], (float)p[t][2]);
      }
      run(f, 0, NULL);
      for (int t = 0; t < n - 1; t++)
        assert_int_equal(fx.mask[K(t, 0, 1)], t == 0 || ref_mean_kl((const double (*)[NACT])pd, t + 1) <= c.filter.consistency_kl);
      assert_int_equal(fx.mask[K(n - 1, 0, 1)], side); /* above: kept; below: dropped */
      filter_destroy(&f);
    }
  }
}

/* Same obs, conflicting guidance; comm decides whether the inputs are the
 * same key. bins = 4: levels split [-1, 1] at -0.5, 0, 0.5. */
static void test_consistency_comm_bins(void **state) {
  (void)state;
  struct {
    float a0, a1, b0, b1;
    int same;
  } cases[] = {
      {0.1f, -0.9f, 0.6f, -0.9f, 0},   /* level 2 vs 3 */
      {0.1f, -0.9f, 0.1f, 0.9f, 0},    /* second dimension differs */
      {0.1f, -0.9f, 0.4f, -0.6f, 1},   /* both (2, 0) */
      {0.9f, -1.0f, 1.0f, -0.6f, 1},   /* edges clamp: (3, 0) */
      {0.49f, 0.0f, 0.51f, 0.0f, 0},   /* around 0.5 */
      {-1.5f, NAN, -0.9f, -0.7f, 1},   /* below range and NaN go to level 0 */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
    c.student.comm = HINT_COMM_MEAN;
    filter_t *f = make_filter(&c);
    fx_reset(1, 1);
    set_obs(0, 0, 1, 1.0f, 1.0f);
    set_obs(0, 0, 2, 1.0f, 1.0f);
    set_pi(0, 0, 1, 1, 0, 0);
    set_pi(0, 0, 2, 0, 1, 0);
    set_comm(0, 0, 1, cases[k].a0, cases[k].a1);
    set_comm(0, 0, 2, cases[k].b0, cases[k].b1);
    run(f, 1, NULL);
    assert_int_equal(fx.mask[K(0, 0, 1)], 1);
    assert_int_equal(fx.mask[K(0, 0, 2)], cases[k].same ? 0 : 1);
    assert_int_equal(filter_keys(f, 1), cases[k].same ? 1 : 2);
    filter_destroy(&f);
  }

  /* bins = 1: comm never separates keys. The segment without comm (NULL):
   * the key is the obs alone. A config without communication ignores the
   * segment's comm. */
  for (int variant = 0; variant < 3; variant++) {
    hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
    c.student.comm = variant == 2 ? HINT_COMM_NONE : HINT_COMM_MEAN;
    c.filter.consistency_bins = variant == 0 ? 1 : 4;
    filter_t *f = make_filter(&c);
    fx_reset(1, 1);
    set_obs(0, 0, 1, 1.0f, 1.0f);
    set_obs(0, 0, 2, 1.0f, 1.0f);
    set_pi(0, 0, 1, 1, 0, 0);
    set_pi(0, 0, 2, 0, 1, 0);
    set_comm(0, 0, 1, -0.9f, -0.9f);
    set_comm(0, 0, 2, 0.9f, 0.9f);
    run(f, variant != 1, NULL);
    assert_int_equal(fx.mask[K(0, 0, 2)], 0);
    assert_int_equal(filter_keys(f, 1), 1);
    filter_destroy(&f);
  }

  /* Every obs byte is part of the key: obs differing only in the last float
   * are different keys, and so are 0.0f and -0.0f, which print alike. */
  const float o2[2][2] = {{1.0f, 1.0f}, {0.0f, 1.0f}}, o3[2][2] = {{1.0f, 1.5f}, {-0.0f, 1.0f}};
  for (int k = 0; k < 2; k++) {
    hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
    filter_t *f = make_filter(&c);
    fx_reset(1, 1);
    set_obs(0, 0, 1, o2[k][0], o2[k][1]);
    set_obs(0, 0, 2, o3[k][0], o3[k][1]);
    set_pi(0, 0, 1, 1, 0, 0);
    set_pi(0, 0, 2, 0, 1, 0);
    run(f, 0, NULL);
    assert_int_equal(fx.mask[K(0, 0, 2)], 1);
    assert_int_equal(filter_keys(f, 1), 2);
    filter_destroy(&f);
  }
}

/* Feeds one class-1 sample (agent 1) at obs (key, 0) with pi p. */
static int feed(filter_t *f, float key, float p0, float p1, float p2) {
  fx_reset(1, 1);
  fx.mask[K(0, 0, 0)] = 0;
  fx.mask[K(0, 0, 2)] = 0;
  set_obs(0, 0, 1, key, 0.0f);
  set_pi(0, 0, 1, p0, p1, p2);
  run(f, 0, NULL);
  return fx.mask[K(0, 0, 1)];
}

static void test_consistency_window_eviction(void **state) {
  (void)state;
  /* A, B, C with W = 2: C evicts A (the oldest), so A's conflicting second
   * sample starts a fresh key and is kept. With W = 3 nothing is evicted and
   * it is dropped. Then, at W = 2, A's re-entry has evicted B and C is still
   * remembered (conflict: dropped); at W = 3, B is remembered (dropped). */
  for (int W = 2; W <= 3; W++) {
    hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
    c.filter.consistency_window = W;
    filter_t *f = make_filter(&c);
    assert_int_equal(feed(f, 1.0f, 1, 0, 0), 1); /* A */
    assert_int_equal(feed(f, 2.0f, 1, 0, 0), 1); /* B */
    assert_int_equal(feed(f, 3.0f, 1, 0, 0), 1); /* C */
    assert_int_equal(filter_keys(f, 1), W == 2 ? 2 : 3);
    assert_int_equal(feed(f, 1.0f, 0, 1, 0), W == 2 ? 1 : 0); /* A again */
    if (W == 2) /* A re-entered and evicted B; C stays */
      assert_int_equal(feed(f, 3.0f, 0, 1, 0), 0);
    else
      assert_int_equal(feed(f, 2.0f, 0, 1, 0), 0);
    assert_int_equal(filter_keys(f, 1), W == 2 ? 2 : 3);
    assert_int_equal(filter_keys(f, 0), 0); /* class 0 never fed */
    filter_destroy(&f);
  }

  /* FIFO by first insertion, not by use: with W = 2, A is used again after
   * B, yet C still evicts A. */
  hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
  c.filter.consistency_window = 2;
  filter_t *f = make_filter(&c);
  assert_int_equal(feed(f, 1.0f, 1, 0, 0), 1); /* A */
  assert_int_equal(feed(f, 2.0f, 1, 0, 0), 1); /* B */
  assert_int_equal(feed(f, 1.0f, 1, 0, 0), 1); /* A, consistent */
  assert_int_equal(feed(f, 3.0f, 1, 0, 0), 1); /* C evicts A */
  assert_int_equal(feed(f, 1.0f, 0, 0, 1), 1); /* A fresh, evicts B */
  assert_int_equal(feed(f, 3.0f, 0, 0, 1), 0); /* C remembered */
  filter_destroy(&f);
}

/* The hash table against a linear-search FIFO model over a long sequence
 * with few keys and a small window, so probe runs collide and evictions
 * shift entries back constantly: every decision and the key count must
 * agree. */
typedef struct {
  float key;
  double n, hbar, m[NACT];
} ref_entry_t;

static double ref_entropy(const double *p) {
  double h = 0.0;
  for (int a = 0; a < NACT; a++)
    if (p[a] > 0)
      h -= p[a] * log(p[a]);
  return h;
}

static void test_consistency_matches_fifo_model(void **state) {
  (void)state;
  const int W = 5;
  hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
  c.filter.consistency_window = W;
  c.filter.consistency_kl = 0.05;
  filter_t *f = make_filter(&c);
  ref_entry_t ref[5];
  int count = 0, head = 0, drops = 0, evictions = 0;
  const float dist[3][NACT] = {{0.8f, 0.1f, 0.1f}, {0.7f, 0.2f, 0.1f}, {0.1f, 0.1f, 0.8f}};
  uint32_t s = 12345u;
  for (int step = 0; step < 3000; step++) {
    s = s * 1664525u + 1013904223u;
    const float key = (float)((s >> 8) % 13);
    s = s * 1664525u + 1013904223u;
    const int d = (int)((s >> 8) % 100) < 90 ? (int)(key) % 2 : 2; /* mostly one per key */
    int r = -1;
    for (int j = 0; j < count; j++)
      if (ref[j].key == key)
        r = j;
    if (r < 0) {
      r = head;
      evictions += count == W;
      if (count < W)
        count++;
      head = (head + 1) % W;
      memset(&ref[r], 0, sizeof ref[r]);
      ref[r].key = key;
    }
    ref_entry_t *q = &ref[r];
    double p[NACT];
    for (int a = 0; a < NACT; a++)
      p[a] = dist[d][a];
    q->n += 1;
    for (int a = 0; a < NACT; a++)
      q->m[a] += (p[a] - q->m[a]) / q->n;
    q->hbar += (ref_entropy(p) - q->hbar) / q->n;
    double kl = ref_entropy(q->m) - q->hbar;
    kl = kl > 0 ? kl : 0;
    const int want = kl <= 0.05;
    drops += !want;
    assert_int_equal(feed(f, key, dist[d][0], dist[d][1], dist[d][2]), want);
    assert_int_equal(filter_keys(f, 1), count);
  }
  /* The sequence must exercise both outcomes and many evictions. */
  assert_true(drops > 50 && drops < 2900);
  assert_true(evictions > 500);
  filter_destroy(&f);
}

static void test_consistency_rejects_bad_rows(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY);
  filter_t *f = make_filter(&c);
  fx_reset(1, 1);
  for (int i = 0; i < NAG; i++)
    set_obs(0, 0, i, 1.0f, 1.0f);
  set_pi(0, 0, 1, NAN, 0.5f, 0.5f);
  set_pi(0, 0, 2, 1.0f, 0.0f, 0.0f);
  filter_stats_t st;
  run(f, 0, &st);
  /* The NaN row is dropped and never enters the table: agent 2 then starts
   * the key and is kept (a NaN mean there would have dropped it). */
  assert_int_equal(fx.mask[K(0, 0, 1)], 0);
  assert_int_equal(fx.mask[K(0, 0, 2)], 1);
  assert_int_equal(filter_keys(f, 1), 1);
  assert_true(st.dropped_by[FILTER_BY_CONSISTENCY] == 1.0);
  filter_destroy(&f);
}

/* ---- confidence ------------------------------------------------------------------- */

static void test_confidence(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_CONFIDENCE);
  c.filter.max_entropy = 0.8;
  filter_t *f = make_filter(&c);
  fx_reset(1, 1);
  /* {1,0,0}: 0 keep; uniform: 1 drop; {0.8,0.1,0.1}: 0.5817 keep. */
  set_pi(0, 0, 0, 1, 0, 0);
  set_pi(0, 0, 1, 1.f / 3, 1.f / 3, 1.f / 3);
  set_pi(0, 0, 2, 0.8f, 0.1f, 0.1f);
  filter_stats_t st;
  run(f, 0, &st);
  assert_int_equal(fx.mask[K(0, 0, 0)], 1);
  assert_int_equal(fx.mask[K(0, 0, 1)], 0);
  assert_int_equal(fx.mask[K(0, 0, 2)], 1);
  assert_true(st.kept[0] == 1.0 && st.kept[1] == 1.0 && st.offered[1] == 2.0);
  assert_true(st.dropped_by[FILTER_BY_CONFIDENCE] == 1.0);
  filter_destroy(&f);

  /* Bracket the normalised entropy of {0.8, 0.1, 0.1}. */
  const double p[3] = {(float)0.8f, (float)0.1f, (float)0.1f};
  const double hn = ref_entropy(p) / log(3.0);
  assert_true(fabs(hn - 0.5817) < 1e-3);
  fx_reset(1, 1);
  set_pi(0, 0, 2, 0.8f, 0.1f, 0.1f);
  c.filter.max_entropy = hn * (1 + 1e-6);
  assert_int_equal(kept_with(&c, K(0, 0, 2)), 1);
  c.filter.max_entropy = hn * (1 - 1e-6);
  assert_int_equal(kept_with(&c, K(0, 0, 2)), 0);
}

static void test_confidence_class_actions(void **state) {
  (void)state;
  /* Class 0 with 2 actions, class 1 with 1: normalised by log(n_c), not
   * log(NA). {0.5, 0.5, 0} is uniform for class 0 (1.0: dropped at 0.99,
   * where log 3 would have given 0.63), and a one-action class is 0. */
  env_dims_t d = make_dims();
  d.class_n_actions[0] = 2;
  d.class_n_actions[1] = 1;
  hint_config_t c = make_cfg(HINT_FILTER_CONFIDENCE);
  c.filter.max_entropy = 0.99;
  filter_t *f = NULL;
  assert_int_equal(filter_create(&f, &c, &d), HINT_OK);
  fx_reset(1, 1);
  set_pi(0, 0, 0, 0.5f, 0.5f, 0.0f);
  set_pi(0, 0, 1, 1.0f, 0.0f, 0.0f);
  run(f, 0, NULL);
  assert_int_equal(fx.mask[K(0, 0, 0)], 0);
  assert_int_equal(fx.mask[K(0, 0, 1)], 1);
  filter_destroy(&f);

  /* "Below" is strict: ln 2 / ln 2 is exactly 1, dropped at max_entropy 1;
   * a one-hot row is exactly 0, dropped at max_entropy 0. */
  c.filter.max_entropy = 1.0;
  assert_int_equal(filter_create(&f, &c, &d), HINT_OK);
  run(f, 0, NULL);
  assert_int_equal(fx.mask[K(0, 0, 0)], 0);
  assert_int_equal(fx.mask[K(0, 0, 1)], 1);
  filter_destroy(&f);
  c.filter.max_entropy = 0.0;
  assert_int_equal(filter_create(&f, &c, &d), HINT_OK);
  fx_reset(1, 1);
  set_pi(0, 0, 1, 1.0f, 0.0f, 0.0f);
  run(f, 0, NULL);
  assert_int_equal(fx.mask[K(0, 0, 1)], 0);
  filter_destroy(&f);
}

/* ---- combinations ----------------------------------------------------------------- */

static void test_combination_is_and(void **state) {
  (void)state;
  /* value x confidence truth table over four envs (T = 1):
   *   env 0: gap 1 (keep), pi {1,0,0} (keep)      -> kept
   *   env 1: gap 1 (keep), pi uniform (drop)      -> dropped by confidence
   *   env 2: gap -1 (drop), pi {1,0,0} (keep)     -> dropped by value
   *   env 3: gap -1 (drop), pi uniform (drop)     -> dropped by both */
  hint_config_t c = make_cfg(HINT_FILTER_VALUE | HINT_FILTER_CONFIDENCE);
  filter_t *f = make_filter(&c);
  fx_reset(1, 4);
  for (int e = 0; e < 4; e++) {
    fx.vT[e] = e < 2 ? 1.0f : -1.0f;
    for (int i = 0; i < NAG; i++) {
      if (e % 2)
        set_pi(0, e, i, 1.f / 3, 1.f / 3, 1.f / 3);
      else
        set_pi(0, e, i, 1, 0, 0);
    }
  }
  filter_stats_t st;
  run(f, 0, &st);
  for (int e = 0; e < 4; e++)
    for (int i = 0; i < NAG; i++)
      assert_int_equal(fx.mask[K(0, e, i)], e == 0);
  assert_true(st.offered[0] == 4.0 && st.kept[0] == 1.0);
  assert_true(st.offered[1] == 8.0 && st.kept[1] == 2.0);
  assert_true(st.dropped_by[FILTER_BY_VALUE] == 6.0);
  assert_true(st.dropped_by[FILTER_BY_CONFIDENCE] == 6.0);
  assert_true(st.dropped_by[FILTER_BY_ADVANTAGE] == 0.0);
  assert_true(st.dropped_by[FILTER_BY_CONSISTENCY] == 0.0);
  filter_destroy(&f);

  /* All four at once: only a sample every test keeps survives; the
   * consistency table still learns from samples other tests drop. */
  c = make_cfg(HINT_FILTER_VALUE | HINT_FILTER_ADVANTAGE | HINT_FILTER_CONSISTENCY |
               HINT_FILTER_CONFIDENCE);
  f = make_filter(&c);
  fx_reset(2, 1);
  fx.rewards[TE(0, 0)] = -5.0f;
  fx.rewards[TE(1, 0)] = -5.0f;
  fx.vT[TE(0, 0)] = fx.vT[TE(1, 0)] = 1.0f; /* gap 1, A < 0 at both steps */
  for (int t = 0; t < 2; t++)
    for (int i = 0; i < NAG; i++) {
      set_pi(t, 0, i, 0.05f, 0.9f, 0.05f);
      fx.actions[K(t, 0, i)] = 0;
    }
  fx.actions[K(0, 0, 2)] = 1;               /* follows argmax: advantage drops */
  set_obs(0, 0, 2, 4.0f, 4.0f);             /* ... but the table learns it */
  set_obs(1, 0, 1, 4.0f, 4.0f);             /* conflicting at the same key */
  set_pi(1, 0, 1, 0.9f, 0.05f, 0.05f);
  set_pi(1, 0, 0, 0.4f, 0.3f, 0.3f);        /* indecisive: confidence drops */
  fx.actions[K(1, 0, 0)] = 1;               /* t1 actions all differ from argmax */
  fx.actions[K(1, 0, 1)] = 2;
  fx.value[TE(1, 0)] = 1.0f; /* gap 0 at t1: value drops all of t1 */
  run(f, 0, &st);
  assert_int_equal(fx.mask[K(0, 0, 0)], 1);
  assert_int_equal(fx.mask[K(0, 0, 1)], 1);
  assert_int_equal(fx.mask[K(0, 0, 2)], 0);
  for (int i = 0; i < NAG; i++)
    assert_int_equal(fx.mask[K(1, 0, i)], 0);
  assert_true(st.dropped_by[FILTER_BY_ADVANTAGE] == 1.0);
  assert_true(st.dropped_by[FILTER_BY_CONSISTENCY] == 1.0);
  assert_true(st.dropped_by[FILTER_BY_CONFIDENCE] == 1.0);
  assert_true(st.dropped_by[FILTER_BY_VALUE] == 3.0);
  assert_true(st.kept[0] + st.kept[1] == 2.0);
  filter_destroy(&f);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void test_create_invalid(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_CONSISTENCY | HINT_FILTER_ADVANTAGE);
  env_dims_t d = make_dims();
  filter_t *f = (filter_t *)&c; /* must be cleared on failure */
  assert_int_equal(filter_create(NULL, &c, &d), HINT_EINVAL);
  assert_int_equal(filter_create(&f, NULL, &d), HINT_EINVAL);
  assert_null(f);
  assert_int_equal(filter_create(&f, &c, NULL), HINT_EINVAL);
  env_dims_t bad = d;
  bad.class_of[2] = 2;
  assert_int_equal(filter_create(&f, &c, &bad), HINT_EINVAL);
  bad = d;
  bad.class_n_actions[1] = 4;
  assert_int_equal(filter_create(&f, &c, &bad), HINT_EINVAL);
  bad = d;
  bad.n_agents = 0;
  assert_int_equal(filter_create(&f, &c, &bad), HINT_EINVAL);
  hint_config_t b = c;
  b.filter.modes |= 1 << 4;
  assert_int_equal(filter_create(&f, &b, &d), HINT_EINVAL);
  b = c;
  b.filter.consistency_window = 0;
  assert_int_equal(filter_create(&f, &b, &d), HINT_EINVAL);
  b = c;
  b.actor.envs = 0;
  assert_int_equal(filter_create(&f, &b, &d), HINT_EINVAL);
  /* Without those modes the same sizes are not needed. */
  b.filter.modes = HINT_FILTER_VALUE;
  b.filter.consistency_window = 0;
  assert_int_equal(filter_create(&f, &b, &d), HINT_OK);
  filter_destroy(&f);
  assert_null(f);
}

static void test_create_alloc_failure(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_VALUE | HINT_FILTER_ADVANTAGE |
                             HINT_FILTER_CONSISTENCY | HINT_FILTER_CONFIDENCE);
  env_dims_t d = make_dims();
  const long live = hint_alloc_live();
  long n = 0;
  for (;; n++) {
    filter_t *f = (filter_t *)&c;
    hint_alloc_fail_after(n);
    const int rc = filter_create(&f, &c, &d);
    hint_alloc_fail_after(-1);
    if (rc == HINT_OK) {
      filter_destroy(&f);
      break;
    }
    assert_int_equal(rc, HINT_ENOMEM);
    assert_null(f);
    assert_int_equal(hint_alloc_live(), live);
  }
  /* struct + scratch + 5 arrays for each of 2 classes */
  assert_int_equal(n, 12);
  assert_int_equal(hint_alloc_live(), live);
}

static void test_apply_allocates_nothing(void **state) {
  (void)state;
  hint_config_t c = make_cfg(HINT_FILTER_VALUE | HINT_FILTER_ADVANTAGE |
                             HINT_FILTER_CONSISTENCY | HINT_FILTER_CONFIDENCE);
  c.filter.consistency_window = 3;
  filter_t *f = make_filter(&c);
  const long live = hint_alloc_live();
  hint_alloc_fail_after(0);
  for (int rep = 0; rep < 4; rep++) {
    fx_reset(TM, EM); /* the full capacity; distinct keys force evictions */
    run(f, 0, NULL);
  }
  hint_alloc_fail_after(-1);
  assert_int_equal(hint_alloc_live(), live);
  assert_int_equal(filter_keys(f, 0), 3);
  filter_destroy(&f);
  assert_int_equal(hint_alloc_live(), live - 12);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_no_modes_keeps_everything),
      cmocka_unit_test(test_value),
      cmocka_unit_test(test_advantage),
      cmocka_unit_test(test_advantage_argmax_ties),
      cmocka_unit_test(test_consistency_conflict_and_agreement),
      cmocka_unit_test(test_consistency_kl_value),
      cmocka_unit_test(test_consistency_comm_bins),
      cmocka_unit_test(test_consistency_window_eviction),
      cmocka_unit_test(test_consistency_matches_fifo_model),
      cmocka_unit_test(test_consistency_rejects_bad_rows),
      cmocka_unit_test(test_confidence),
      cmocka_unit_test(test_confidence_class_actions),
      cmocka_unit_test(test_combination_is_and),
      cmocka_unit_test(test_create_invalid),
      cmocka_unit_test(test_create_alloc_failure),
      cmocka_unit_test(test_apply_allocates_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
