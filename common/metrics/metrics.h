/* metrics.h: one-line JSON records, the live status line, process memory.
 *
 * A metrics record is built into a caller-owned buffer (no allocation, so the
 * learner can emit one every interval from its main loop) and appended to
 * metrics.jsonl as one line. Non-finite numbers are written as null so every
 * line stays valid JSON for the tools that read it.
 */
#ifndef HINT_METRICS_METRICS_H
#define HINT_METRICS_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
  char *buf;
  size_t cap;
  size_t len;       /* bytes written so far (may exceed cap: then truncated) */
  int n_fields;
} metrics_rec_t;

/* Starts a record "{" in buf[0..cap). */
void metrics_rec_begin(metrics_rec_t *r, char *buf, size_t cap);
void metrics_rec_num(metrics_rec_t *r, const char *key, double v);
void metrics_rec_int(metrics_rec_t *r, const char *key, int64_t v);
void metrics_rec_str(metrics_rec_t *r, const char *key, const char *v);
void metrics_rec_bool(metrics_rec_t *r, const char *key, int v);
/* Closes the record with "}\n". Returns 0, or HINT_ERANGE if it did not fit
 * (the buffer then holds a truncated, invalid line: do not write it). */
int metrics_rec_end(metrics_rec_t *r);

/* Appends the finished record to f and flushes, so a reader (hint-top, a
 * crash) always sees whole lines. Returns 0, HINT_ENOSPC or HINT_EIO. */
int metrics_rec_write(const metrics_rec_t *r, FILE *f);

/* Resident set size of this process in bytes (from /proc/self/statm); 0 if
 * unavailable. */
uint64_t metrics_rss_bytes(void);

/* Writes the live status line: on a terminal it rewrites the current line
 * ("\r" + text + clear to end of line); elsewhere it prints plain lines. */
void metrics_status(FILE *out, int is_tty, const char *text);

/* Formats seconds as "1h02m", "3m05s" or "42s" (for ETA). */
void metrics_fmt_duration(double s, char *buf, size_t cap);

#endif
