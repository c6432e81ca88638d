/* test_metrics.c: JSON records, durations, RSS. */
#include "common/core/error.h"
#include "common/metrics/metrics.h"

#include "tests/unit/test_util.h"

#include <string.h>

static void test_record(void **state) {
  (void)state;
  char buf[256];
  metrics_rec_t r;
  metrics_rec_begin(&r, buf, sizeof buf);
  metrics_rec_int(&r, "env_steps", 123456789012LL);
  metrics_rec_num(&r, "sps", 1.5);
  metrics_rec_num(&r, "loss", NAN);
  metrics_rec_str(&r, "note", "a \"q\"\n");
  metrics_rec_bool(&r, "ok", 1);
  assert_int_equal(metrics_rec_end(&r), 0);
  assert_string_equal(buf, "{\"env_steps\":123456789012,\"sps\":1.5,\"loss\":null,"
                           "\"note\":\"a \\\"q\\\"\\u000a\",\"ok\":true}\n");
}

static void test_record_overflow(void **state) {
  (void)state;
  char buf[16];
  metrics_rec_t r;
  metrics_rec_begin(&r, buf, sizeof buf);
  metrics_rec_num(&r, "a_long_key_name", 1.0);
  assert_int_equal(metrics_rec_end(&r), HINT_ERANGE);
  assert_int_equal(metrics_rec_write(&r, stdout), HINT_ERANGE);
}

static void test_duration_and_rss(void **state) {
  (void)state;
  char b[32];
  metrics_fmt_duration(42.2, b, sizeof b);
  assert_string_equal(b, "42s");
  metrics_fmt_duration(185, b, sizeof b);
  assert_string_equal(b, "3m05s");
  metrics_fmt_duration(3720, b, sizeof b);
  assert_string_equal(b, "1h02m");
  metrics_fmt_duration(-1, b, sizeof b);
  assert_string_equal(b, "?");
  assert_true(metrics_rss_bytes() > 100000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record),
      cmocka_unit_test(test_record_overflow),
      cmocka_unit_test(test_duration_and_rss),
  };
  return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
