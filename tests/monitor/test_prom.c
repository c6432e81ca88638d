/* test_prom.c: the learner's Prometheus endpoint (learner/prom.c) over real
 * HTTP on loopback: the exposition format, labels and escaping, 404 / 405,
 * and clear errors for a port in use and a bad address. */
#include "common/core/error.h"
#include "learner/prom.h"

#include "tests/unit/test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static char resp[1 << 17];

/* One request; returns the HTTP status and leaves the body in resp (after
 * the headers; *body points at it). */
static int http(int port, const char *method, const char *path, const char **body) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  char req[256];
  const int n = snprintf(req, sizeof req, "%s %s HTTP/1.0\r\nHost: x\r\n\r\n", method, path);
  assert_int_equal(write(fd, req, (size_t)n), n);
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd, resp + got, sizeof resp - 1 - got)) > 0)
    got += (size_t)r;
  close(fd);
  resp[got] = '\0';
  int status = 0;
  assert_int_equal(sscanf(resp, "HTTP/1.%*d %d", &status), 1);
  const char *b = strstr(resp, "\r\n\r\n");
  assert_non_null(b);
  if (body)
    *body = b + 4;
  return status;
}

/* Every line is "# HELP name text", "# TYPE name counter|gauge" or a sample
 * "name{labels} value" whose name has a TYPE line before it; returns the
 * number of samples. */
static int check_exposition(const char *body) {
  char typed[64][96];
  int n_typed = 0, samples = 0;
  const char *p = body;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl); /* every line ends in a newline */
    char line[1024];
    const size_t len = (size_t)(nl - p);
    assert_true(len < sizeof line);
    memcpy(line, p, len);
    line[len] = '\0';
    char name[96], kind[32];
    if (strncmp(line, "# HELP ", 7) == 0) {
      assert_int_equal(sscanf(line + 7, "%95s", name), 1);
    } else if (strncmp(line, "# TYPE ", 7) == 0) {
      assert_int_equal(sscanf(line + 7, "%95s %31s", name, kind), 2);
      assert_true(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0);
      assert_true(n_typed < 64);
      snprintf(typed[n_typed++], sizeof typed[0], "%s", name);
    } else {
      const char *brace = strchr(line, '{'), *close = strrchr(line, '}');
      assert_non_null(brace);
      assert_non_null(close);
      snprintf(name, sizeof name, "%.*s", (int)(brace - line), line);
      int found = 0;
      for (int i = 0; i < n_typed; i++)
        found |= strcmp(typed[i], name) == 0;
      if (!found)
        fail_msg("sample without a TYPE line: %s", line);
      assert_true(strstr(brace, "run=\"") != NULL && strstr(brace, "algo=\"") != NULL);
      char *end;
      const char *v = close + 2;
      assert_true(close[1] == ' ');
      if (strcmp(v, "NaN") != 0 && strcmp(v, "+Inf") != 0 && strcmp(v, "-Inf") != 0) {
        strtod(v, &end);
        if (end == v || *end != '\0')
          fail_msg("bad sample value: %s", line);
      }
      samples++;
    }
    p = nl + 1;
  }
  return samples;
}

static void test_exposition(void **state) {
  (void)state;
  prom_t *p = NULL;
  char err[512];
  const prom_info_t info = {"run \"1\"\\x", "mappo", 300000};
  assert_int_equal(prom_create(&p, "127.0.0.1", 0, &info, err, sizeof err), HINT_OK);
  const int port = prom_port(p);
  assert_true(port > 0);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
  assert_string_equal(prom_url(p), url);
  const char *body;

  /* Before the first record: valid, with the budget and no env steps. */
  assert_int_equal(http(port, "GET", "/metrics", &body), 200);
  assert_true(strstr(resp, "Content-Type: text/plain; version=0.0.4") != NULL);
  assert_true(check_exposition(body) >= 2);
  assert_non_null(strstr(body, "hint_budget_env_steps{run=\"run \\\"1\\\"\\\\x\",algo=\"mappo\"} 300000\n"));
  assert_null(strstr(body, "hint_env_steps_total"));

  const char *rec = "{\"time\":1.79561097e+09,\"elapsed_s\":12.5,\"env_steps\":123456789012,"
                    "\"env_steps_per_s\":16283.7777,\"segments\":40,\"frac_idle\":0.5,\"frac_decode\":0.25,"
                    "\"actor_wait_frac\":0.125,\"success\":null,\"rss_mb\":2,\"rejected_frames\":3,"
                    "\"eval_sampled_success\":0.75,\"actor1_env_steps_per_s\":8000,"
                    "\"actor2_env_steps_per_s\":5,\"actorx_env_steps_per_s\":1}\n";
  prom_publish(p, rec, strlen(rec));
  assert_int_equal(http(port, "GET", "/metrics", &body), 200);
  const int samples = check_exposition(body);
  const char *lab = "{run=\"run \\\"1\\\"\\\\x\",algo=\"mappo\"";
  char want[512];
#define HAS(fmt_tail, ...)                                                        \
  do {                                                                            \
    snprintf(want, sizeof want, fmt_tail, __VA_ARGS__);                           \
    if (strstr(body, want) == NULL)                                               \
      fail_msg("missing: %s\nin:\n%s", want, body);                               \
  } while (0)
  HAS("# TYPE hint_env_steps_total counter\nhint_env_steps_total%s} 123456789012\n", lab);
  HAS("hint_env_steps_per_second%s} 16283.7777\n", lab);
  HAS("hint_segments_total%s} 40\n", lab);
  HAS("hint_learner_time_ratio%s,part=\"idle\"} 0.5\n", lab);
  HAS("hint_learner_time_ratio%s,part=\"decode\"} 0.25\n", lab);
  HAS("hint_actor_time_ratio%s,part=\"wait\"} 0.125\n", lab);
  HAS("hint_success_ratio%s} NaN\n", lab); /* null: no episode finished */
  HAS("hint_learner_resident_memory_bytes%s} 2097152\n", lab);
  HAS("hint_rejected_frames_total%s} 3\n", lab);
  HAS("hint_eval_success_ratio%s,mode=\"sampled\"} 0.75\n", lab);
  HAS("hint_actor_env_steps_per_second%s,actor=\"1\"} 8000\n", lab);
  HAS("hint_actor_env_steps_per_second%s,actor=\"2\"} 5\n", lab);
  HAS("hint_metrics_records_total%s} 1\n", lab);
  assert_null(strstr(body, "mode=\"greedy\""));     /* absent keys give no sample */
  assert_null(strstr(body, "hint_teacher_updates_total"));
  assert_null(strstr(body, "actorx"));
  assert_true(samples >= 16);

  /* A record longer than the snapshot buffer is ignored: the old one stays. */
  static char huge[1 << 15];
  memset(huge, ' ', sizeof huge);
  prom_publish(p, huge, sizeof huge);
  assert_int_equal(http(port, "GET", "/metrics", &body), 200);
  HAS("hint_env_steps_total%s} 123456789012\n", lab);

  /* Only /metrics, only GET / HEAD. */
  assert_int_equal(http(port, "GET", "/", NULL), 404);
  assert_int_equal(http(port, "GET", "/metrics/x", NULL), 404);
  assert_int_equal(http(port, "POST", "/metrics", NULL), 405);
  assert_int_equal(http(port, "HEAD", "/metrics", NULL), 200);

  prom_destroy(&p);
  assert_null(p);
  prom_destroy(&p); /* NULL-safe */
}

static void test_bind_errors(void **state) {
  (void)state;
  prom_t *a = NULL, *b = NULL;
  char err[512], want[64];
  const prom_info_t info = {"r", "hint", 1};
  assert_int_equal(prom_create(&a, "127.0.0.1", 0, &info, err, sizeof err), HINT_OK);
  const int port = prom_port(a);
  /* The same port again: in use, and the message names address and port. */
  assert_int_equal(prom_create(&b, "127.0.0.1", port, &info, err, sizeof err), HINT_ECONN);
  assert_null(b);
  snprintf(want, sizeof want, "127.0.0.1:%d", port);
  if (strstr(err, want) == NULL || strstr(err, "in use") == NULL)
    fail_msg("unclear error: %s", err);
  prom_destroy(&a);
  /* Not an address, and an address this host does not have. */
  assert_int_equal(prom_create(&b, "not-an-address", 9100, &info, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "not-an-address:9100"));
  assert_int_equal(prom_create(&b, "300.1.2.3", 9100, &info, err, sizeof err), HINT_EINVAL);
  assert_int_equal(prom_create(&b, "192.0.2.1", 0, &info, err, sizeof err), HINT_ECONN);
  if (strstr(err, "192.0.2.1:0") == NULL || strstr(err, "prometheus_bind") == NULL)
    fail_msg("unclear error: %s", err);
  assert_int_equal(prom_create(&b, "127.0.0.1", 70000, &info, err, sizeof err), HINT_EINVAL);
  /* IPv6 loopback, where the host has it. */
  if (prom_create(&b, "::1", 0, &info, err, sizeof err) == HINT_OK) {
    assert_true(prom_port(b) > 0);
    assert_non_null(strstr(prom_url(b), "http://[::1]:"));
    prom_destroy(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exposition),
      cmocka_unit_test(test_bind_errors),
  };
  return cmocka_run_group_tests_name("prom", tests, NULL, NULL);
}
