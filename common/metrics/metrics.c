/* metrics.c: see metrics.h. */
#include "common/metrics/metrics.h"
#include "common/core/error.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

__attribute__((format(printf, 2, 3)))
static void put(metrics_rec_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = r->len < r->cap ? r->cap - r->len : 0;
  int n = vsnprintf(room ? r->buf + r->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    r->len += (size_t)n;
}

static void put_key(metrics_rec_t *r, const char *key) {
  put(r, "%s\"%s\":", r->n_fields++ ? "," : "", key);
}

void metrics_rec_begin(metrics_rec_t *r, char *buf, size_t cap) {
  r->buf = buf;
  r->cap = cap;
  r->len = 0;
  r->n_fields = 0;
  put(r, "{");
}

void metrics_rec_num(metrics_rec_t *r, const char *key, double v) {
  put_key(r, key);
  if (isfinite(v) && fabs(v) >= 1e8 && fabs(v) < 1e15)
    put(r, "%.3f", v); /* wall-clock timestamps: millisecond precision, not %.9g's 10 s */
  else if (isfinite(v))
    put(r, "%.9g", v);
  else
    put(r, "null");
}

void metrics_rec_int(metrics_rec_t *r, const char *key, int64_t v) {
  put_key(r, key);
  put(r, "%lld", (long long)v);
}

void metrics_rec_bool(metrics_rec_t *r, const char *key, int v) {
  put_key(r, key);
  put(r, "%s", v ? "true" : "false");
}

void metrics_rec_str(metrics_rec_t *r, const char *key, const char *v) {
  put_key(r, key);
  put(r, "\"");
  for (const unsigned char *s = (const unsigned char *)v; *s; s++) {
    if (*s == '"' || *s == '\\')
      put(r, "\\%c", *s);
    else if (*s < 0x20)
      put(r, "\\u%04x", *s);
    else
      put(r, "%c", *s);
  }
  put(r, "\"");
}

int metrics_rec_end(metrics_rec_t *r) {
  put(r, "}\n");
  return r->len < r->cap ? HINT_OK : HINT_ERANGE;
}

int metrics_rec_write(const metrics_rec_t *r, FILE *f) {
  if (r->len >= r->cap)
    return HINT_ERANGE;
  errno = 0;
  if (fwrite(r->buf, 1, r->len, f) != r->len || fflush(f) != 0)
    return errno == ENOSPC ? HINT_ENOSPC : HINT_EIO;
  return HINT_OK;
}

uint64_t metrics_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL)
    return 0;
  unsigned long long size = 0, resident = 0;
  int n = fscanf(f, "%llu %llu", &size, &resident);
  fclose(f);
  if (n != 2)
    return 0;
  return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void metrics_status(FILE *out, int is_tty, const char *text) {
  if (is_tty)
    fprintf(out, "\r%s\033[K", text);
  else
    fprintf(out, "%s\n", text);
  fflush(out);
}

void metrics_fmt_duration(double s, char *buf, size_t cap) {
  if (!isfinite(s) || s < 0) {
    snprintf(buf, cap, "?");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, cap, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60)
    snprintf(buf, cap, "%ldm%02lds", t / 60, t % 60);
  else
    snprintf(buf, cap, "%lds", t);
}
