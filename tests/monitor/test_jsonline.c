/* test_jsonline.c: the flat JSON-line reader (common/metrics/jsonline.h) and
 * the file follower hint-top and the Prometheus endpoint build on. */
#include "common/core/error.h"
#include "common/metrics/jsonline.h"
#include "common/metrics/metrics.h"

#include "tests/unit/test_util.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static metrics_line_t L; /* 24 KB: not on the stack */

static int parse(const char *s) { return metrics_line_parse(&L, s, strlen(s)); }

static void test_record_round_trip(void **state) {
  (void)state;
  /* What the learner writes, read back through the same module's writer. */
  char buf[512];
  metrics_rec_t r;
  metrics_rec_begin(&r, buf, sizeof buf);
  metrics_rec_num(&r, "time", 1795610970.25);
  metrics_rec_int(&r, "env_steps", 123456789012LL);
  metrics_rec_num(&r, "success", NAN);
  metrics_rec_num(&r, "frac_idle", 0.997412887);
  metrics_rec_str(&r, "run", "a \"q\"\\ \n");
  metrics_rec_bool(&r, "sync", 1);
  metrics_rec_num(&r, "neg", -1.5e-7);
  assert_int_equal(metrics_rec_end(&r), HINT_OK);
  assert_int_equal(metrics_line_parse(&L, buf, r.len), HINT_OK);
  assert_int_equal(L.n, 7);
  assert_true(metrics_line_num(&L, "env_steps") == 123456789012.0);
  assert_true(isnan(metrics_line_num(&L, "success")));
  assert_int_equal(metrics_line_find(&L, "success")->type, METRICS_JSON_NULL);
  assert_true(fabs(metrics_line_num(&L, "frac_idle") - 0.997412887) < 1e-12);
  assert_true(metrics_line_num(&L, "neg") == -1.5e-7);
  assert_string_equal(metrics_line_str(&L, "run"), "a \"q\"\\ \n");
  assert_true(metrics_line_num(&L, "sync") == 1.0);
  assert_true(isnan(metrics_line_num(&L, "run")));   /* a string is not a number */
  assert_null(metrics_line_str(&L, "env_steps"));    /* and a number not a string */
  assert_null(metrics_line_find(&L, "absent"));
  assert_true(isnan(metrics_line_num(&L, "absent")));
  assert_string_equal(metrics_line_key(&L, 1), "env_steps");
}

static void test_whitespace_empty_and_duplicates(void **state) {
  (void)state;
  assert_int_equal(parse("  { \"a\" : 1 , \"b\":\t\"x\" }\r\n"), HINT_OK);
  assert_int_equal(L.n, 2);
  assert_int_equal(parse("{}"), HINT_OK);
  assert_int_equal(L.n, 0);
  assert_int_equal(parse("{\"a\":1,\"a\":2}"), HINT_OK);
  assert_true(metrics_line_num(&L, "a") == 2.0); /* the last wins */
  assert_int_equal(parse("{\"t\":true,\"f\":false,\"z\":0,\"e\":1E+2,\"m\":-0.5}"), HINT_OK);
  assert_true(metrics_line_num(&L, "f") == 0.0);
  assert_true(metrics_line_num(&L, "e") == 100.0);
  assert_true(metrics_line_num(&L, "m") == -0.5);
}

static void test_unicode_escapes(void **state) {
  (void)state;
  assert_int_equal(parse("{\"k\":\"\\u00e9\\u20ac\\ud83d\\ude00\\t\\/\"}"), HINT_OK);
  assert_string_equal(metrics_line_str(&L, "k"), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\t/");
  assert_int_equal(parse("{\"k\":\"caf\xc3\xa9\"}"), HINT_OK); /* raw UTF-8 passes through */
  assert_string_equal(metrics_line_str(&L, "k"), "caf\xc3\xa9");
}

static void test_malformed_rejected(void **state) {
  (void)state;
  static const char *const bad[] = {
      "", "   ", "{", "}", "[]", "[1]", "1", "\"a\"", "null",
      "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{,}", "{\"a\":1 \"b\":2}", "{a:1}", "{'a':1}",
      "{\"a\":{\"b\":1}}", "{\"a\":[1,2]}",                       /* nesting is not flat */
      "{\"a\":NaN}", "{\"a\":Infinity}", "{\"a\":+1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":.5}",
      "{\"a\":1e}", "{\"a\":-}", "{\"a\":0x10}", "{\"a\":tru}", "{\"a\":nul}", "{\"a\":True}",
      "{\"a\":1}x", "{\"a\":1}{\"b\":2}", "{\"a\":1}\n{",         /* something after the object */
      "{\"a\":\"x}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"\\ud83d\"}", "{\"a\":\"\\ude00\"}",
      "{\"a\":\"\\u0000\"}", "{\"a\":\"tab\there\"}", "{\"a\":\"\n\"}",
      "{\"a\":1,\"b\":2",
      "{\"a\":12345678901234567890123456789012345678901234567890123456789012345678901234567890}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    L.n = 99;
    const int rc = parse(bad[i]);
    if (rc != HINT_EPARSE)
      fail_msg("accepted or wrong code %d for bad line #%zu: %s", rc, i, bad[i]);
    assert_int_equal(L.n, 0);
  }
}

/* Every cut-off prefix of a good record (a line the learner is still
 * writing, a crash mid-write) is rejected, never misread. */
static void test_every_prefix_rejected(void **state) {
  (void)state;
  const char *good = "{\"time\":1.79561097e+09,\"env_steps\":8192,\"run\":\"x\\\"y\",\"success\":null,"
                     "\"ok\":true,\"frac_idle\":0.997412887}";
  const size_t n = strlen(good);
  assert_int_equal(metrics_line_parse(&L, good, n), HINT_OK);
  for (size_t k = 0; k < n; k++)
    if (metrics_line_parse(&L, good, k) == HINT_OK)
      fail_msg("prefix of length %zu parsed: %.*s", k, (int)k, good);
}

/* Seeded byte mutations of a real record: the reader never reads outside
 * its input (run under valgrind or ASan to see that), and what it accepts
 * is consistent: every field is findable by its key. */
static void test_mutations(void **state) {
  (void)state;
  const char *good = "{\"time\":1.79561097e+09,\"env_steps\":8192,\"run\":\"x\\u00e9\\\"y\",\"success\":null,"
                     "\"ok\":true,\"frac_idle\":0.997412887,\"actor1_env_steps_per_s\":-7.5E-3}";
  const size_t n = strlen(good);
  static const char alphabet[] = "{}[]:,\"\\u0123456789abcdefeE+-.ntrl \n\t\x01\xff";
  uint64_t x = 42;
  int accepted = 0;
  for (int it = 0; it < 20000; it++) {
    char *buf = malloc(n + 8); /* exactly sized heap copies: overreads are caught */
    memcpy(buf, good, n);
    size_t len = n;
    const int edits = 1 + it % 4;
    for (int e = 0; e < edits; e++) {
      x = x * 6364136223846793005ULL + 1442695040888963407ULL;
      const size_t at = (size_t)(x >> 33) % len;
      const char c = alphabet[(x >> 17) % (sizeof alphabet - 1)];
      switch ((x >> 8) % 3) {
      case 0: buf[at] = c; break;                        /* replace */
      case 1: len = at; break;                           /* truncate */
      default:                                           /* insert */
        memmove(buf + at + 1, buf + at, len - at);
        buf[at] = c;
        len++;
      }
      if (len == 0)
        break;
    }
    char *exact = malloc(len ? len : 1);
    memcpy(exact, buf, len);
    free(buf);
    if (metrics_line_parse(&L, exact, len) == HINT_OK) {
      accepted++;
      for (int i = 0; i < L.n; i++)
        assert_non_null(metrics_line_find(&L, metrics_line_key(&L, i)));
    }
    free(exact);
  }
  assert_true(accepted > 0 && accepted < 20000);
}

static void test_limits(void **state) {
  (void)state;
  /* METRICS_LINE_FIELDS fields fit, one more does not. */
  static char buf[METRICS_LINE_FIELDS * 16 + 64];
  size_t j = 0;
  buf[j++] = '{';
  for (int i = 0; i <= METRICS_LINE_FIELDS; i++)
    j += (size_t)snprintf(buf + j, sizeof buf - j, "%s\"k%d\":%d", i ? "," : "", i, i);
  buf[j++] = '}';
  assert_int_equal(metrics_line_parse(&L, buf, j), HINT_ETOOBIG);
  char *cut = strstr(buf, ",\"k256\"");
  assert_non_null(cut);
  cut[0] = '}';
  assert_int_equal(metrics_line_parse(&L, buf, (size_t)(cut - buf) + 1), HINT_OK);
  assert_int_equal(L.n, METRICS_LINE_FIELDS);
  assert_true(metrics_line_num(&L, "k255") == 255.0);
  /* More string text than fits. */
  static char big[METRICS_LINE_BYTES + 64];
  j = (size_t)snprintf(big, sizeof big, "{\"s\":\"");
  memset(big + j, 'x', METRICS_LINE_BYTES);
  j += METRICS_LINE_BYTES;
  j += (size_t)snprintf(big + j, sizeof big - j, "\"}");
  assert_int_equal(metrics_line_parse(&L, big, j), HINT_ETOOBIG);
}

static void test_copy_by_assignment(void **state) {
  (void)state;
  static metrics_line_t copy;
  assert_int_equal(parse("{\"run\":\"abc\",\"x\":2}"), HINT_OK);
  copy = L;
  assert_int_equal(parse("{\"run\":\"zzz\"}"), HINT_OK);
  assert_string_equal(metrics_line_str(&copy, "run"), "abc");
  assert_true(metrics_line_num(&copy, "x") == 2.0);
}

/* ---- the follower ---------------------------------------------------------- */

typedef struct {
  int n;
  double v[64];
} seen_t;

static void collect(void *ctx, const metrics_line_t *l) {
  seen_t *s = ctx;
  if (s->n < 64)
    s->v[s->n++] = metrics_line_num(l, "v");
}

static void append(const char *path, const char *text) {
  FILE *f = fopen(path, "a");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void test_tail_follows_and_counts(void **state) {
  (void)state;
  char path[] = "/tmp/test_jsonline_XXXXXX";
  const int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  static metrics_tail_t t;
  seen_t s = {0};
  metrics_tail_init(&t, path, 0);
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), 0); /* empty */

  append(path, "{\"v\":1}\n{\"v\":2}\n{\"v\":");                 /* two whole lines, one partial */
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), 2);
  assert_int_equal(s.n, 2);
  append(path, "3}\nnot json\n{\"v\":4,}\n\n{\"v\":5}\n");        /* the partial completes */
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), 2);
  assert_int_equal(s.n, 4);
  assert_true(s.v[2] == 3.0 && s.v[3] == 5.0);
  assert_int_equal((int)t.lines, 4);
  assert_int_equal((int)t.malformed, 3);                          /* skipped and counted */
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), 0);  /* nothing new */

  /* An overlong line is one malformed line; the next one reads normally. */
  static char big[METRICS_LINE_BYTES + 100];
  memset(big, 'x', sizeof big - 2);
  big[sizeof big - 2] = '\n';
  big[sizeof big - 1] = '\0';
  append(path, big);
  append(path, "{\"v\":6}\n");
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), 1);
  assert_int_equal((int)t.malformed, 4);
  assert_true(s.v[4] == 6.0);

  /* Truncated and rewritten (a fresh run): read again from the start. */
  FILE *f = fopen(path, "w");
  fputs("{\"v\":7}\n", f);
  fclose(f);
  int restarted = 0;
  assert_int_equal(metrics_tail_poll(&t, collect, &s, &restarted), 0);
  assert_int_equal(restarted, 1);
  assert_int_equal(s.n, 5);                                       /* nothing read yet */
  assert_int_equal(metrics_tail_poll(&t, collect, &s, &restarted), 1);
  assert_int_equal(restarted, 0);
  assert_true(s.v[5] == 7.0);
  assert_int_equal((int)t.malformed, 0);

  /* A missing file is HINT_ENOENT, not an error to die of. */
  unlink(path);
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), HINT_ENOENT);
}

static void test_tail_skips_to_the_end_of_long_files(void **state) {
  (void)state;
  char path[] = "/tmp/test_jsonline_XXXXXX";
  const int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  FILE *f = fopen(path, "w");
  for (int i = 0; i < 1000; i++)
    fprintf(f, "{\"v\":%d}\n", i);
  fclose(f);
  static metrics_tail_t t;
  seen_t s = {0};
  metrics_tail_init(&t, path, 50); /* ~5 lines' worth: the first cut line is dropped quietly */
  const int n = metrics_tail_poll(&t, collect, &s, NULL);
  assert_true(n >= 4 && n <= 6);
  assert_int_equal((int)t.malformed, 0);
  assert_true(s.v[s.n - 1] == 999.0);
  unlink(path);
}

static void test_tail_unreadable(void **state) {
  (void)state;
  static metrics_tail_t t;
  seen_t s = {0};
  metrics_tail_init(&t, "/tmp", 0); /* a directory */
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), HINT_EIO);
  metrics_tail_init(&t, "/nonexistent/dir/metrics.jsonl", 0);
  assert_int_equal(metrics_tail_poll(&t, collect, &s, NULL), HINT_ENOENT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_record_round_trip),
      cmocka_unit_test(test_whitespace_empty_and_duplicates),
      cmocka_unit_test(test_unicode_escapes),
      cmocka_unit_test(test_malformed_rejected),
      cmocka_unit_test(test_every_prefix_rejected),
      cmocka_unit_test(test_mutations),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_copy_by_assignment),
      cmocka_unit_test(test_tail_follows_and_counts),
      cmocka_unit_test(test_tail_skips_to_the_end_of_long_files),
      cmocka_unit_test(test_tail_unreadable),
  };
  return cmocka_run_group_tests_name("jsonline", tests, NULL, NULL);
}
