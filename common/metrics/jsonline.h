/* jsonline.h: reads one line of the flat JSON this project writes.
 *
 * metrics.jsonl, eval.jsonl and result.json hold one flat object per line:
 * string keys whose values are numbers, strings, true/false or null (see
 * metrics.h). hint-top, hint-plot (through hint-top --csv) and the learner's
 * Prometheus endpoint read them back with this parser, so there is one reader
 * for one format. Anything else -- nesting, a trailing comma, a cut-off line --
 * is rejected with HINT_EPARSE, so a caller can skip and count it.
 *
 * A parsed line lives entirely inside metrics_line_t (fields refer to their
 * text by offset), so a line may be copied by assignment. Nothing allocates.
 */
#ifndef HINT_METRICS_JSONLINE_H
#define HINT_METRICS_JSONLINE_H

#include <stddef.h>
#include <stdint.h>

enum {
  METRICS_LINE_FIELDS = 256, /* fields per line */
  METRICS_LINE_BYTES = 16384 /* unescaped keys and strings, with their NULs */
};

typedef enum {
  METRICS_JSON_NULL,
  METRICS_JSON_NUM,
  METRICS_JSON_STR,
  METRICS_JSON_BOOL,
} metrics_json_type_t;

typedef struct {
  uint32_t key;  /* offset of the key in text */
  uint32_t str;  /* offset of the string value (METRICS_JSON_STR) */
  double num;    /* the number; 0/1 for a bool */
  int type;      /* metrics_json_type_t */
} metrics_field_t;

typedef struct {
  int n;
  metrics_field_t field[METRICS_LINE_FIELDS];
  char text[METRICS_LINE_BYTES];
} metrics_line_t;

/* Parses s[0..len) -- one object, optionally followed by whitespace and a
 * newline -- into l. Returns 0; HINT_EPARSE if it is not one flat object
 * (l->n is then 0); HINT_ETOOBIG if it has more than METRICS_LINE_FIELDS
 * fields or more text than fits. A key given twice keeps its last value. */
int metrics_line_parse(metrics_line_t *l, const char *s, size_t len);

/* The field named key, or NULL. */
const metrics_field_t *metrics_line_find(const metrics_line_t *l, const char *key);

/* Key of field i (0 <= i < l->n). */
static inline const char *metrics_line_key(const metrics_line_t *l, int i) {
  return l->text + l->field[i].key;
}

/* The number (or bool as 0/1) under key; NAN when absent, null or a string. */
double metrics_line_num(const metrics_line_t *l, const char *key);

/* The string under key, or NULL when absent or not a string. */
const char *metrics_line_str(const metrics_line_t *l, const char *key);

/* ---- following a growing file ------------------------------------------ */

/* Follows a JSON-lines file another process appends to (tail -f). Only whole
 * lines (ending in a newline) are parsed; a partial last line waits for the
 * next poll. Malformed or overlong lines are skipped and counted, never
 * fatal. A file that shrank or was replaced (a run started afresh) is read
 * again from its beginning. Caller-owned; about 40 KB, so keep it static or
 * on the heap. */
typedef struct {
  char path[4096];
  uint64_t off;            /* bytes of the file consumed */
  uint64_t dev, ino;       /* identity of the file being followed */
  int64_t size;            /* file size at the last poll */
  double mtime;            /* its modification time (wall s), 0 = none yet */
  uint64_t max_initial;    /* on the first read, start this many bytes before the end */
  int skipping;            /* discarding up to the next newline */
  uint64_t lines, malformed;
  size_t part_len;
  char part[METRICS_LINE_BYTES];
  metrics_line_t line;     /* scratch: the line handed to the callback */
} metrics_tail_t;

typedef void (*metrics_tail_fn)(void *ctx, const metrics_line_t *line);

/* Starts following path (nothing is read yet). max_initial > 0 skips all but
 * the last max_initial bytes of a long existing file (first partial line
 * dropped, not counted); 0 reads everything. */
void metrics_tail_init(metrics_tail_t *t, const char *path, uint64_t max_initial);

/* Reads what was appended since the last poll and calls fn(ctx, line) for
 * each well-formed line, in order. When the file shrank or was replaced, the
 * follower rewinds; if restarted is non-NULL it then sets *restarted = 1 and
 * returns 0 without reading, so the caller can drop what it derived from the
 * old content and poll again (else *restarted = 0). Returns the number of
 * lines handed to fn (>= 0), HINT_ENOENT if the file does not exist (yet), or
 * HINT_EIO if it cannot be read (errno tells why). */
int metrics_tail_poll(metrics_tail_t *t, metrics_tail_fn fn, void *ctx, int *restarted);

#endif
