/* test_student.c: the actor's students (policy per class, message encoder,
 * central or local critic) are differentiated correctly, including through
 * the communication mean, and can fit a distillation target. */
#include "actor/student.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/nn/adam.h"

#include "tests/unit/test_util.h"

#include <string.h>

enum { N = 6, A = 3, O = 5, S = 4, NA = 3 };

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
  return d;
}

typedef struct {
  float obs[N * A * O], state[N * S], logp[N * A], adv[N * A], ret[N * A], oldv[N * A];
  float teacher[N * A * NA], mask[N * A];
  int32_t actions[N * A];
} batch_t;

static void make_batch(student_t *s, batch_t *b, int V) {
  hint_rng_t r;
  hint_rng_seed(&r, 7, 0, 0);
  for (int i = 0; i < N * A * O; i++)
    b->obs[i] = (float)hint_rng_normal(&r);
  for (int i = 0; i < N * S; i++)
    b->state[i] = (float)hint_rng_normal(&r);
  float values[N * A];
  student_act(s, b->obs, b->state, N, &r, 0, b->actions, b->logp, values, NULL);
  for (int i = 0; i < N * A; i++) {
    b->adv[i] = (float)hint_rng_normal(&r);
    b->mask[i] = (float)(hint_rng_below(&r, 3) != 0);
    float sum = 0;
    for (int k = 0; k < NA; k++)
      sum += b->teacher[i * NA + k] = 0.1f + hint_rng_float(&r);
    for (int k = 0; k < NA; k++)
      b->teacher[i * NA + k] /= sum;
  }
  for (int i = 0; i < N * V; i++) {
    b->ret[i] = (float)hint_rng_normal(&r);
    b->oldv[i] = values[i];
  }
}

static double total_loss(student_t *s, const batch_t *b, const student_coefs_t *co) {
  student_mb_t mb = {N, b->obs, b->state, b->actions, b->logp, b->adv, b->ret, b->oldv, b->teacher, b->mask};
  student_stats_t st;
  memset(&st, 0, sizeof st);
  nn_params_zero_grad(student_params(s));
  student_loss_grad(s, &mb, co, &st);
  return st.pg_loss + co->vf_coef * st.value_loss - co->ent_coef * st.entropy + co->kd_coef * st.kd_loss;
}

static void grad_check(int algo, int comm) {
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.algo.name = algo;
  cfg.student.comm = comm;
  cfg.student.comm_dim = 2;
  cfg.student.hidden = 8;
  cfg.student.layers = 1;
  env_dims_t d = tiny_dims();
  student_t *s = NULL;
  assert_int_equal(student_create(&s, &cfg, &d, N, 3), 0);
  assert_int_equal(student_comm_dim(s), comm ? 2 : 0);
  const int V = student_value_width(s);
  batch_t b;
  make_batch(s, &b, V);
  student_coefs_t co = {0.2f, 0.0f, 0.5f, 0.05f, 0.7f};
  nn_params_t *p = student_params(s);
  total_loss(s, &b, &co);
  float *g = hint_malloc(p->n * sizeof(float));
  memcpy(g, p->g, p->n * sizeof(float));
  int checked = 0, bad = 0;
  double max_rel = 0;
  /* Every trained parameter: encoder, both class policies, critic(s). The
   * last 3 floats of the arena are the return normaliser's statistics,
   * which no gradient reaches by design (student.c). */
  const size_t trained = p->n - 3;
  for (size_t i = 0; i < trained; i++) {
    const float w0 = p->w[i], h = 1e-2f;
    p->w[i] = w0 + h;
    double lp = total_loss(s, &b, &co);
    p->w[i] = w0 - h;
    double lm = total_loss(s, &b, &co);
    p->w[i] = w0;
    double num = (lp - lm) / (2.0 * h);
    double diff = fabs(num - g[i]);
    double rel = diff / (fabs(num) + fabs(g[i]) + 1e-4);
    if (diff > 2e-4 && rel > 1e-2) {
      bad++;
      print_error("param %zu: analytic %.6g numeric %.6g\n", i, (double)g[i], num);
    }
    if (rel > max_rel && diff > 1e-4)
      max_rel = rel;
    checked++;
  }
  assert_int_equal(checked, (int)trained);
  for (size_t i = trained; i < p->n; i++)
    assert_true(g[i] == 0.0f);
  print_message("%d parameters checked, max relative error %.2g\n", checked, max_rel);
  assert_int_equal(bad, 0);
  hint_free(g);
  student_destroy(&s);
  assert_null(s);
}

static void test_grad_mappo_comm(void **state) {
  (void)state;
  grad_check(HINT_ALGO_MAPPO, HINT_COMM_MEAN);
}
static void test_grad_mappo_nocomm(void **state) {
  (void)state;
  grad_check(HINT_ALGO_MAPPO, HINT_COMM_NONE);
}
static void test_grad_ippo_comm(void **state) {
  (void)state;
  grad_check(HINT_ALGO_IPPO, HINT_COMM_MEAN);
}

/* The communication channel must carry information: agent 2 of class 1 sees
 * nothing useful, its target depends on a teammate's observation. */
static void test_comm_learns_teammates_signal(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.algo.name = HINT_ALGO_MAPPO;
  cfg.student.comm = HINT_COMM_MEAN;
  cfg.student.comm_dim = 4;
  cfg.student.hidden = 32;
  cfg.student.layers = 1;
  env_dims_t d = tiny_dims();
  enum { M = 64 };
  student_t *s = NULL;
  assert_int_equal(student_create(&s, &cfg, &d, M, 5), 0);
  static float obs[M * A * O], st[M * S], teacher[M * A * NA], mask[M * A], zero[M * A];
  static int32_t actions[M * A];
  hint_rng_t r;
  hint_rng_seed(&r, 9, 0, 0);
  for (int p = 0; p < M; p++) {
    const int label = (int)hint_rng_below(&r, NA);
    for (int a = 0; a < A; a++) {
      for (int k = 0; k < O; k++)
        obs[(p * A + a) * O + k] = a == 0 && k == label ? 1.0f : 0.0f; /* only agent 0 sees it */
      for (int k = 0; k < NA; k++)
        teacher[(p * A + a) * NA + k] = a == 2 ? (k == label ? 0.98f : 0.01f) : 1.0f / NA;
      mask[p * A + a] = a == 2;
    }
  }
  student_coefs_t co = {0.2f, 0.0f, 0.0f, 0.0f, 1.0f};
  nn_adam_t opt = nn_adam_defaults();
  opt.lr = 3e-3f;
  double first = 0, last = 0;
  for (int it = 0; it < 400; it++) {
    student_mb_t mb = {M, obs, st, actions, zero, zero, zero, zero, teacher, mask};
    student_stats_t ss;
    memset(&ss, 0, sizeof ss);
    nn_params_zero_grad(student_params(s));
    student_loss_grad(s, &mb, &co, &ss);
    if (it == 0)
      first = ss.kd_loss;
    last = ss.kd_loss;
    assert_int_equal(nn_adam_step(student_params(s), &opt, NULL), 0);
  }
  /* Without the message the best achievable KL is ~0.9 nats (uniform over 3
   * labels vs a 0.98 target); through it the loss must fall near zero. */
  print_message("kd loss %.3f -> %.3f\n", first, last);
  assert_true(first > 0.7);
  assert_true(last < 0.25);
  student_destroy(&s);
}

static void test_alloc_failure_is_clean(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  env_dims_t d = tiny_dims();
  for (long k = 0; k < 64; k++) {
    long live = hint_alloc_live();
    student_t *s = NULL;
    hint_alloc_fail_after(k);
    int rc = student_create(&s, &cfg, &d, N, 1);
    hint_alloc_fail_after(-1);
    if (rc == HINT_OK) {
      student_destroy(&s);
      assert_int_equal(hint_alloc_live(), live);
      return;
    }
    assert_int_equal(rc, HINT_ENOMEM);
    assert_null(s);
    assert_int_equal(hint_alloc_live(), live);
  }
  fail_msg("student_create never succeeded");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grad_mappo_comm),
      cmocka_unit_test(test_grad_mappo_nocomm),
      cmocka_unit_test(test_grad_ippo_comm),
      cmocka_unit_test(test_comm_learns_teammates_signal),
      cmocka_unit_test(test_alloc_failure_is_clean),
  };
  return cmocka_run_group_tests_name("student", tests, NULL, NULL);
}
