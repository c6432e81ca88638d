/* prom.c: see prom.h.
 *
 * Threads: the learner's thread only calls prom_publish (memcpy under mu);
 * libmicrohttpd's one internal polling thread runs on_request, which copies
 * the snapshot out under mu and then parses and formats without holding it,
 * so a slow scrape never stalls the learner. Every buffer is allocated in
 * prom_create; the response is copied by libmicrohttpd (MHD_RESPMEM_MUST_COPY)
 * because it is sent after on_request returns.
 *
 * The listening socket is made here (socket, bind, listen) and handed to
 * libmicrohttpd, so a failure reports the exact errno for the exact address
 * instead of a generic "daemon failed to start".
 */
#include "learner/prom.h"
#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/metrics/jsonline.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
  PROM_SNAP_MAX = METRICS_LINE_BYTES, /* the learner's records are at most 8 KB */
  PROM_OUT_MAX = 1 << 16,             /* one exposition; ~6 KB with 64 actors */
};

struct prom {
  struct MHD_Daemon *mhd;
  int port;
  char url[200];
  double budget;
  char labels[512];              /* run="..",algo=".." (escaped) */
  pthread_mutex_t mu;
  /* guarded by mu */
  char snap[PROM_SNAP_MAX];
  size_t snap_len;
  unsigned long long records;
  double published_at;           /* hint_now_s of the newest record */
  /* the server thread's own */
  char scratch[PROM_SNAP_MAX];
  metrics_line_t rec;
  char out[PROM_OUT_MAX];
  size_t out_len;
};

/* ---- exposition text ----------------------------------------------------- */

__attribute__((format(printf, 2, 3)))
static void put(prom_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const size_t room = p->out_len < sizeof p->out ? sizeof p->out - p->out_len : 0;
  const int n = vsnprintf(room ? p->out + p->out_len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    p->out_len += (size_t)n;
}

/* Label values escape backslash, double quote and newline (format 0.0.4). */
static void escape_label(char *dst, size_t cap, const char *s) {
  size_t j = 0;
  for (; *s && j + 3 < cap; s++) {
    if (*s == '\\' || *s == '"') {
      dst[j++] = '\\';
      dst[j++] = *s;
    } else if (*s == '\n') {
      dst[j++] = '\\';
      dst[j++] = 'n';
    } else {
      dst[j++] = *s;
    }
  }
  dst[j] = '\0';
}

static void family(prom_t *p, const char *name, const char *type, const char *help) {
  put(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels[,lk="lv"]} value */
static void sample(prom_t *p, const char *name, const char *lk, const char *lv, double v) {
  char val[64];
  if (isnan(v))
    snprintf(val, sizeof val, "NaN");
  else if (isinf(v))
    snprintf(val, sizeof val, v > 0 ? "+Inf" : "-Inf");
  else if (v == floor(v) && fabs(v) < 1e15)
    snprintf(val, sizeof val, "%.0f", v); /* counters stay exact integers */
  else
    snprintf(val, sizeof val, "%.9g", v);
  if (lk)
    put(p, "%s{%s,%s=\"%s\"} %s\n", name, p->labels, lk, lv, val);
  else
    put(p, "%s{%s} %s\n", name, p->labels, val);
}

/* The value of key in the record: 1 and *v (NaN for null) if present. */
static int value_of(const prom_t *p, const char *key, double scale, double *v) {
  const metrics_field_t *f = metrics_line_find(&p->rec, key);
  if (f == NULL || f->type == METRICS_JSON_STR)
    return 0;
  *v = f->type == METRICS_JSON_NULL ? NAN : f->num * scale;
  return 1;
}

/* One metric per record key. */
static const struct {
  const char *name, *type, *key, *help;
  double scale;
} plain[] = {
  {"hint_env_steps_total", "counter", "env_steps", "Environment steps collected by all actors.", 1},
  {"hint_env_steps_per_second", "gauge", "env_steps_per_s", "Environment steps per second over the last metrics interval.", 1},
  {"hint_segments_total", "counter", "segments", "Segments received by the learner.", 1},
  {"hint_segments_per_second", "gauge", "segments_per_s", "Segments received per second over the last metrics interval.", 1},
  {"hint_teacher_updates_total", "counter", "teacher_updates", "Teacher updates done by the learner.", 1},
  {"hint_teacher_updates_per_second", "gauge", "teacher_updates_per_s", "Teacher updates per second over the last metrics interval.", 1},
  {"hint_ingest_bytes_per_second", "gauge", "ingest_mb_per_s", "Bytes received by the learner per second, averaged since the start.", 1e6},
  {"hint_inflight_segments", "gauge", "inflight", "Segments sent by actors and not yet answered.", 1},
  {"hint_policy_lag_versions", "gauge", "policy_lag_mean", "Mean versions the segments' policy was behind over the last interval.", 1},
  {"hint_dropped_lag_segments_total", "counter", "dropped_lag", "Segments dropped for exceeding transport.max_policy_lag.", 1},
  {"hint_rejected_frames_total", "counter", "rejected_frames", "Malformed or unexpected frames the learner rejected.", 1},
  {"hint_auth_refused_total", "counter", "auth_refused", "Connections refused by CURVE authentication.", 1},
  {"hint_success_ratio", "gauge", "success", "Success rate of training episodes finished in the last interval (NaN: none finished).", 1},
  {"hint_learner_resident_memory_bytes", "gauge", "rss_mb", "Resident memory of the learner process.", 1048576.0},
  {"hint_elapsed_seconds", "gauge", "elapsed_s", "Training wall time, summed across resumes.", 1},
};

/* One metric, several record keys told apart by one label. */
typedef struct {
  const char *label, *key;
} part_t;
static const part_t learner_parts[] = {
  {"decode", "frac_decode"}, {"teacher_update", "frac_teacher_update"}, {"targets", "frac_targets"},
  {"publish", "frac_publish"}, {"idle", "frac_idle"}, {NULL, NULL}};
static const part_t actor_parts[] = {
  {"env", "actor_frac_env"}, {"inference", "actor_frac_inference"}, {"update", "actor_frac_update"},
  {"allreduce", "actor_frac_allreduce"}, {"wait", "actor_wait_frac"}, {NULL, NULL}};
static const part_t eval_modes[] = {
  {"sampled", "eval_sampled_success"}, {"greedy", "eval_greedy_success"}, {NULL, NULL}};

static void labelled(prom_t *p, const char *name, const char *type, const char *help, const char *lk,
                     const part_t *parts) {
  int any = 0;
  double v;
  for (const part_t *q = parts; q->label; q++)
    if (value_of(p, q->key, 1, &v)) {
      if (!any++)
        family(p, name, type, help);
      sample(p, name, lk, q->label, v);
    }
}

static void per_actor(prom_t *p) {
  int any = 0;
  for (int i = 0; i < p->rec.n; i++) {
    const char *key = metrics_line_key(&p->rec, i);
    int k = 0, end = 0;
    if (sscanf(key, "actor%d_env_steps_per_s%n", &k, &end) != 1 || key[end] != '\0' ||
        p->rec.field[i].type != METRICS_JSON_NUM)
      continue;
    if (!any++)
      family(p, "hint_actor_env_steps_per_second", "gauge",
             "Environment steps per second of one actor over the last metrics interval.");
    char lv[16];
    snprintf(lv, sizeof lv, "%d", k);
    sample(p, "hint_actor_env_steps_per_second", "actor", lv, p->rec.field[i].num);
  }
}

/* Formats the exposition of the newest record into p->out. Server thread. */
static void format(prom_t *p) {
  pthread_mutex_lock(&p->mu);
  const size_t len = p->snap_len;
  memcpy(p->scratch, p->snap, len);
  const unsigned long long records = p->records;
  const double age = records ? hint_now_s() - p->published_at : NAN;
  pthread_mutex_unlock(&p->mu);

  p->out_len = 0;
  if (records > 0 && metrics_line_parse(&p->rec, p->scratch, len) == HINT_OK) {
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
      double v;
      if (value_of(p, plain[i].key, plain[i].scale, &v)) {
        family(p, plain[i].name, plain[i].type, plain[i].help);
        sample(p, plain[i].name, NULL, NULL, v);
      }
    }
    labelled(p, "hint_learner_time_ratio", "gauge",
             "Fraction of the learner's time per activity over the last interval.", "part", learner_parts);
    labelled(p, "hint_actor_time_ratio", "gauge", "Fraction of the actors' time per activity (mean over actors).",
             "part", actor_parts);
    labelled(p, "hint_eval_success_ratio", "gauge", "Success rate of the newest evaluation.", "mode", eval_modes);
    per_actor(p);
    family(p, "hint_metrics_record_age_seconds", "gauge", "Seconds since the newest metrics record.");
    sample(p, "hint_metrics_record_age_seconds", NULL, NULL, age);
  }
  family(p, "hint_metrics_records_total", "counter", "Metrics records the learner has written since it started.");
  sample(p, "hint_metrics_records_total", NULL, NULL, (double)records);
  family(p, "hint_budget_env_steps", "gauge", "The run's budget, run.total_env_steps.");
  sample(p, "hint_budget_env_steps", NULL, NULL, p->budget);
}

/* ---- HTTP ------------------------------------------------------------------ */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body, size_t len,
                             const char *type) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  const enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  prom_t *p = cls;
  static const char text[] = "text/plain; charset=utf-8";
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
    static const char msg[] = "method not allowed: use GET /metrics\n";
    return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, msg, sizeof msg - 1, text);
  }
  if (strcmp(url, "/metrics") != 0) {
    static const char msg[] = "not found: the Prometheus metrics are at /metrics\n";
    return reply(c, MHD_HTTP_NOT_FOUND, msg, sizeof msg - 1, text);
  }
  format(p);
  const size_t n = p->out_len < sizeof p->out ? p->out_len : sizeof p->out;
  return reply(c, MHD_HTTP_OK, p->out, n, "text/plain; version=0.0.4; charset=utf-8");
}

/* ---- lifecycle ------------------------------------------------------------- */

static void fmt_endpoint(char *buf, size_t cap, const char *host, int port) {
  snprintf(buf, cap, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

int prom_create(prom_t **pp, const char *bind_addr, int port, const prom_info_t *info, char *err,
                size_t err_cap) {
  *pp = NULL;
  char where[160];
  fmt_endpoint(where, sizeof where, bind_addr, port);
  if (port < 0 || port > 65535) {
    snprintf(err, err_cap, "port %d is out of range 0..65535", port);
    return HINT_EINVAL;
  }
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  /* Numeric addresses only: a name lookup could hang the start on a
   * cluster node without DNS. */
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST;
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%d", port);
  const char *host = strcmp(bind_addr, "localhost") == 0 ? "127.0.0.1" : bind_addr;
  const int gai = getaddrinfo(host, port_s, &hints, &res);
  if (gai != 0) {
    snprintf(err, err_cap, "cannot listen on %s: '%s' is not a numeric IPv4 or IPv6 address (%s; "
             "use e.g. 127.0.0.1, 0.0.0.0 or ::1 in metrics.prometheus_bind)", where, bind_addr, gai_strerror(gai));
    return HINT_EINVAL;
  }
  int fd = -1, saved = 0, family_v6 = 0;
  for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      saved = errno;
      continue;
    }
    const int one = 1; /* a restart may reuse a port in TIME_WAIT; never a live listener's */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 16) != 0) {
      saved = errno;
      close(fd);
      fd = -1;
      continue;
    }
    family_v6 = a->ai_family == AF_INET6;
  }
  freeaddrinfo(res);
  if (fd < 0) {
    snprintf(err, err_cap, "cannot listen on %s: %s%s", where, strerror(saved),
             saved == EADDRINUSE ? " (another process has this port: choose another metrics.prometheus_port)"
             : saved == EADDRNOTAVAIL ? " (not an address of this host: check metrics.prometheus_bind)"
                                      : "");
    return HINT_ECONN;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  int actual = port;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
    actual = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                            : ((struct sockaddr_in *)&ss)->sin_port);

  prom_t *p = hint_calloc(1, sizeof *p);
  if (p == NULL) {
    close(fd);
    snprintf(err, err_cap, "out of memory");
    return HINT_ENOMEM;
  }
  p->port = actual;
  char actual_where[160];
  fmt_endpoint(actual_where, sizeof actual_where, bind_addr, actual);
  snprintf(p->url, sizeof p->url, "http://%s/metrics", actual_where);
  p->budget = info ? info->budget_env_steps : NAN;
  char run[200], algo[64];
  escape_label(run, sizeof run, info && info->run ? info->run : "");
  escape_label(algo, sizeof algo, info && info->algo ? info->algo : "");
  snprintf(p->labels, sizeof p->labels, "run=\"%s\",algo=\"%s\"", run, algo);
  pthread_mutex_init(&p->mu, NULL);
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
  if (family_v6)
    flags |= MHD_USE_IPv6;
  p->mhd = MHD_start_daemon(flags, (uint16_t)actual, NULL, NULL, on_request, p,
                            MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                            MHD_OPTION_END);
  if (p->mhd == NULL) {
    saved = errno;
    close(fd);
    pthread_mutex_destroy(&p->mu);
    hint_free(p);
    snprintf(err, err_cap, "cannot serve on %s: libmicrohttpd did not start (%s)", where, strerror(saved));
    return HINT_ECONN;
  }
  *pp = p;
  return HINT_OK;
}

int prom_port(const prom_t *p) { return p->port; }

const char *prom_url(const prom_t *p) { return p->url; }

void prom_publish(prom_t *p, const char *record, size_t len) {
  if (p == NULL || len > sizeof p->snap)
    return;
  const double now = hint_now_s();
  pthread_mutex_lock(&p->mu);
  memcpy(p->snap, record, len);
  p->snap_len = len;
  p->records++;
  p->published_at = now;
  pthread_mutex_unlock(&p->mu);
}

void prom_destroy(prom_t **pp) {
  prom_t *p = *pp;
  if (p == NULL)
    return;
  MHD_stop_daemon(p->mhd); /* joins the server thread, closes the socket */
  pthread_mutex_destroy(&p->mu);
  hint_free(p);
  *pp = NULL;
}
