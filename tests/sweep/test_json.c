/* test_json.c: the flat-object JSON reader behind hint-sweep-agg: every
 * value type, escapes, nested values kept raw, every malformed class
 * rejected with the object left empty, .jsonl reading that skips and counts
 * malformed lines, single-object files, and allocation failures. */
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/metrics/metrics.h"
#include "common/sweep/json.h"

#include "tests/unit/test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int parse(json_obj_t *o, const char *s) { return json_obj_parse(o, s, strlen(s)); }

static void test_types(void **state) {
  (void)state;
  json_obj_t o;
  const char *s = " { \"run\" : \"a,b\", \"n\":-12.5e-1,\"i\":7, \"z\":0, \"t\":true,\"f\":false,"
                  "\"nul\":null, \"nest\":{\"a\":[1,{\"b\":\"]}\"}]}, \"arr\":[] }\n";
  assert_int_equal(parse(&o, s), HINT_OK);
  assert_int_equal(o.n, 9);
  assert_string_equal(json_obj_get(&o, "run")->text, "a,b");
  assert_int_equal(json_obj_get(&o, "run")->type, JSON_STR);
  assert_true(json_obj_num(&o, "n") == -1.25);
  assert_string_equal(json_obj_get(&o, "n")->text, "-12.5e-1"); /* source text kept */
  assert_true(json_obj_num(&o, "i") == 7.0);
  assert_true(json_obj_num(&o, "z") == 0.0);
  assert_int_equal(json_obj_get(&o, "t")->type, JSON_BOOL);
  assert_true(json_obj_get(&o, "t")->num == 1.0);
  assert_true(json_obj_get(&o, "f")->num == 0.0);
  assert_int_equal(json_obj_get(&o, "nul")->type, JSON_NULL);
  assert_string_equal(json_obj_get(&o, "nul")->text, "");
  assert_true(isnan(json_obj_num(&o, "nul")));
  assert_true(isnan(json_obj_num(&o, "run"))); /* a string is not a number */
  assert_true(isnan(json_obj_num(&o, "missing")));
  assert_null(json_obj_get(&o, "missing"));
  assert_int_equal(json_obj_get(&o, "nest")->type, JSON_RAW);
  assert_string_equal(json_obj_get(&o, "nest")->text, "{\"a\":[1,{\"b\":\"]}\"}]}");
  assert_string_equal(json_obj_get(&o, "arr")->text, "[]");
  json_obj_fini(&o);
  assert_int_equal(o.n, 0);
  json_obj_fini(&o); /* twice is harmless */

  assert_int_equal(parse(&o, "{}"), HINT_OK);
  assert_int_equal(o.n, 0);
  json_obj_fini(&o);
}

static void test_escapes(void **state) {
  (void)state;
  json_obj_t o;
  assert_int_equal(parse(&o, "{\"s\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20ac \\ud83d\\ude00\"}"),
                   HINT_OK);
  assert_string_equal(json_obj_get(&o, "s")->text,
                      "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  json_obj_fini(&o);
  /* what metrics.c writes reads back */
  char buf[256];
  metrics_rec_t r;
  metrics_rec_begin(&r, buf, sizeof buf);
  metrics_rec_str(&r, "note", "a \"q\"\n");
  metrics_rec_num(&r, "loss", NAN);
  metrics_rec_int(&r, "steps", 123456789012LL);
  assert_int_equal(metrics_rec_end(&r), HINT_OK);
  assert_int_equal(parse(&o, buf), HINT_OK);
  assert_string_equal(json_obj_get(&o, "note")->text, "a \"q\"\n");
  assert_int_equal(json_obj_get(&o, "loss")->type, JSON_NULL);
  assert_true(json_obj_num(&o, "steps") == 123456789012.0);
  json_obj_fini(&o);
  /* a repeated key keeps the last value */
  assert_int_equal(parse(&o, "{\"a\":1,\"a\":\"x\"}"), HINT_OK);
  assert_int_equal(o.n, 1);
  assert_string_equal(json_obj_get(&o, "a")->text, "x");
  json_obj_fini(&o);
}

static void test_malformed(void **state) {
  (void)state;
  static const char *const bad[] = {
      "", "   ", "{", "}", "[1]", "\"a\"", "{\"a\":}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1} x",
      "{\"a\":1}{}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}", "{\"a\":1e}", "{\"a\":-}",
      "{\"a\":+1}", "{\"a\":nul}", "{\"a\":tru}", "{\"a\":NaN}", "{\"a\":Infinity}",
      "{\"a\":\"x}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud800\"}",
      "{\"a\":\"\\udc00\"}", "{\"a\":\"\\ud800\\u0041\"}", "{\"a\":\"tab\there\"}",
      "{\"a\":[1,2}", "{\"a\":{\"b\":1]}", "{\"a\":[[[", "{a:1}", "{\"a\":1", "{\"a\":1,\"b\"",
      "{\"a\":\"x\\", "{\"a\":1 \"b\":2}", "{,}", "{\"a\":'x'}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_obj_t o;
    int rc = parse(&o, bad[i]);
    if (rc != HINT_EPARSE)
      fail_msg("accepted malformed input #%zu: %s (rc %d)", i, bad[i], rc);
    assert_int_equal(o.n, 0);
    assert_null(o.f);
  }
  /* a NUL inside the length is malformed, and nothing past len is read */
  json_obj_t o;
  assert_int_equal(json_obj_parse(&o, "{\"a\":\"x\0y\"}", 11), HINT_EPARSE);
  assert_int_equal(json_obj_parse(&o, "{\"a\":1}garbage", 7), HINT_OK);
  json_obj_fini(&o);
  /* nesting deeper than the limit */
  char deep[300] = "{\"a\":";
  for (int i = 0; i < 100; i++)
    strcat(deep, "[");
  for (int i = 0; i < 100; i++)
    strcat(deep, "]");
  strcat(deep, "}");
  assert_int_equal(parse(&o, deep), HINT_EPARSE);
}

typedef struct {
  double sum;
  int calls, stop_at;
} sum_t;

static int add_x(const json_obj_t *o, void *ud) {
  sum_t *s = ud;
  s->sum += json_obj_num(o, "x");
  return ++s->calls == s->stop_at;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_lines(void **state) {
  (void)state;
  char dir[] = "/tmp/test_json_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256];
  snprintf(path, sizeof path, "%s/m.jsonl", dir);
  /* a crashed writer leaves a truncated last line; blank lines are not errors */
  write_file(path, "{\"x\":1}\n\n{\"x\":2}\r\n{\"x\":oops}\n   \n{\"x\":4}\n{\"x\":8,\"y\":[1,2]}\n{\"x\":1");
  sum_t s = {0, 0, 0};
  json_lines_stats_t st;
  assert_int_equal(json_lines_read(path, add_x, &s, &st), HINT_OK);
  assert_int_equal(st.records, 4);
  assert_int_equal(st.malformed, 2);
  assert_int_equal(st.first_malformed_line, 4);
  assert_int_equal(s.calls, 4);
  assert_true(s.sum == 15.0);
  /* the callback stops early */
  sum_t s2 = {0, 0, 2};
  assert_int_equal(json_lines_read(path, add_x, &s2, &st), HINT_OK);
  assert_int_equal(s2.calls, 2);
  assert_true(s2.sum == 3.0);
  /* a missing file */
  char none[300];
  snprintf(none, sizeof none, "%s/none.jsonl", dir);
  assert_int_equal(json_lines_read(none, add_x, &s, &st), HINT_ENOENT);
  assert_int_equal(st.records, 0);
  /* one-object files */
  json_obj_t o;
  char res[256];
  snprintf(res, sizeof res, "%s/result.json", dir);
  write_file(res, "{\"run\":\"r\",\"sampled_success\":0.75}\n");
  assert_int_equal(json_file_read(res, &o), HINT_OK);
  assert_true(json_obj_num(&o, "sampled_success") == 0.75);
  json_obj_fini(&o);
  write_file(res, "{\"run\":\"r\",\"sampled_success\":0.75}\n{}\n");
  assert_int_equal(json_file_read(res, &o), HINT_EPARSE);
  write_file(res, "");
  assert_int_equal(json_file_read(res, &o), HINT_EPARSE);
  assert_int_equal(json_file_read(none, &o), HINT_ENOENT);
  /* a big file (more than the first read buffer) */
  FILE *f = fopen(res, "w");
  assert_non_null(f);
  fputc('{', f);
  for (int i = 0; i < 2000; i++)
    fprintf(f, "%s\"k%d\":%d", i ? "," : "", i, i);
  fputs("}\n", f);
  fclose(f);
  assert_int_equal(json_file_read(res, &o), HINT_OK);
  assert_int_equal(o.n, 2000);
  assert_true(json_obj_num(&o, "k1999") == 1999.0);
  json_obj_fini(&o);
  unlink(path);
  unlink(res);
  rmdir(dir);
}

/* Every allocation that can fail makes the parse fail with HINT_ENOMEM and
 * leak nothing; with enough allocations it succeeds. */
static void test_alloc_failure(void **state) {
  (void)state;
  const char *s = "{\"a\":\"x\",\"b\":[1],\"c\":1,\"d\":null,\"e\":true,\"f1\":1,\"f2\":2,"
                  "\"f3\":3,\"f4\":4,\"f5\":5,\"f6\":6,\"f7\":7,\"f8\":8,\"f9\":9,\"f10\":10,"
                  "\"f11\":11,\"f12\":12}";
  const long base = hint_alloc_live();
  int ok = 0;
  for (long n = 0; n < 200 && !ok; n++) {
    json_obj_t o;
    hint_alloc_fail_after(n);
    int rc = parse(&o, s);
    hint_alloc_fail_after(-1);
    if (rc == HINT_OK) {
      ok = 1;
      assert_int_equal(o.n, 17);
      json_obj_fini(&o);
    } else {
      assert_int_equal(rc, HINT_ENOMEM);
      assert_int_equal(o.n, 0);
    }
    assert_int_equal(hint_alloc_live(), base);
  }
  assert_true(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types),        cmocka_unit_test(test_escapes),
      cmocka_unit_test(test_malformed),    cmocka_unit_test(test_lines),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests_name("sweep_json", tests, NULL, NULL);
}
