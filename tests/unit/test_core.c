/* test_core.c: error table, RNG streams and the allocation hook. */
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/core/rng.h"

#include "tests/unit/test_util.h"

#include <string.h>

static void test_error_table(void **state) {
  (void)state;
  assert_string_equal(hint_strerror(HINT_OK), "success");
  assert_string_equal(hint_strerror(HINT_ETIMEDOUT), "timed out");
  assert_string_equal(hint_errname(HINT_ECONFIG), "HINT_ECONFIG");
  assert_string_equal(hint_strerror(-9999), "unknown error");
  /* Codes are distinct and negative. */
  int codes[] = {
#define XX(name, value, msg) HINT_##name,
      HINT_ERRNO_MAP(XX)
#undef XX
  };
  size_t n = sizeof codes / sizeof codes[0];
  for (size_t i = 0; i < n; i++) {
    assert_true(codes[i] < 0);
    assert_string_not_equal(hint_strerror(codes[i]), "unknown error");
    for (size_t j = 0; j < i; j++)
      assert_int_not_equal(codes[i], codes[j]);
  }
}

static void test_rng_reproducible_and_streams_differ(void **state) {
  (void)state;
  hint_rng_t a, b, c, d;
  hint_rng_seed(&a, 42, 1, 7);
  hint_rng_seed(&b, 42, 1, 7);
  hint_rng_seed(&c, 42, 1, 8);
  hint_rng_seed(&d, 42, 2, 7);
  int same_c = 0, same_d = 0;
  for (int i = 0; i < 1000; i++) {
    uint32_t x = hint_rng_u32(&a);
    assert_int_equal(x, hint_rng_u32(&b));
    same_c += x == hint_rng_u32(&c);
    same_d += x == hint_rng_u32(&d);
  }
  assert_true(same_c < 3);
  assert_true(same_d < 3);
}

static void test_rng_distributions(void **state) {
  (void)state;
  hint_rng_t r;
  hint_rng_seed(&r, 1, 0, 0);
  enum { N = 200000 };
  double sum = 0, sum2 = 0, usum = 0;
  int counts[7] = {0};
  for (int i = 0; i < N; i++) {
    double z = hint_rng_normal(&r);
    sum += z;
    sum2 += z * z;
    float u = hint_rng_float(&r);
    assert_true(u >= 0.0f && u < 1.0f);
    usum += u;
    counts[hint_rng_below(&r, 7)]++;
  }
  /* 5 sigma bounds: mean of N normals has sd 1/sqrt(N) ~ 0.0022. */
  assert_true(fabs(sum / N) < 0.012);
  assert_true(fabs(sum2 / N - 1.0) < 0.02);
  assert_true(fabs(usum / N - 0.5) < 0.004);
  for (int k = 0; k < 7; k++)
    assert_true(abs(counts[k] - N / 7) < 700); /* sd ~ 157 */
  float p[4] = {0.0f, 1.0f, 3.0f, 0.0f};
  int hist[4] = {0};
  for (int i = 0; i < 40000; i++)
    hist[hint_rng_categorical(&r, p, 4)]++;
  assert_int_equal(hist[0], 0);
  assert_int_equal(hist[3], 0);
  assert_true(abs(hist[2] - 30000) < 500);
}

static void test_alloc_injection_and_alignment(void **state) {
  (void)state;
  long live = hint_alloc_live();
  void *p = hint_malloc(100);
  assert_non_null(p);
  assert_int_equal((uintptr_t)p % 64, 0);
  hint_alloc_fail_after(1);
  void *q = hint_malloc(10);
  void *r = hint_malloc(10);
  hint_alloc_fail_after(-1);
  assert_non_null(q);
  assert_null(r);
  assert_null(hint_calloc((size_t)1 << 62, 16)); /* overflow */
  int *z = hint_calloc(5, sizeof *z);
  for (int i = 0; i < 5; i++)
    assert_int_equal(z[i], 0);
  hint_free(z);
  hint_free(p);
  hint_free(q);
  hint_free(NULL);
  assert_int_equal(hint_alloc_live(), live);
}

static void test_log_levels(void **state) {
  (void)state;
  hint_log_level_t l;
  assert_int_equal(hint_log_level_parse("warn", &l), 0);
  assert_int_equal(l, HINT_LOG_WARN);
  assert_int_equal(hint_log_level_parse("loud", &l), HINT_EINVAL);
  hint_log_init("test", 3, HINT_LOG_ERROR);
  assert_int_equal(hint_log_get_level(), HINT_LOG_ERROR);
  LOG_INFO("hidden %d", 1);
  hint_log_set_level(HINT_LOG_INFO);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_error_table),
      cmocka_unit_test(test_rng_reproducible_and_streams_differ),
      cmocka_unit_test(test_rng_distributions),
      cmocka_unit_test(test_alloc_injection_and_alignment),
      cmocka_unit_test(test_log_levels),
  };
  return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
