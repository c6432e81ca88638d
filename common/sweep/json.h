/* json.h: a minimal reader for the flat JSON objects the runtime writes
 * (result.json, one object per line of metrics.jsonl and eval.jsonl).
 *
 * An object is {"key": value, ...} with string, number, true/false and null
 * values. A nested object or array is accepted and kept as its raw text, so a
 * future field never makes a whole line unreadable. Anything else (trailing
 * garbage, a missing quote, a truncated line from a crashed writer) makes the
 * object malformed: json_obj_parse returns HINT_EPARSE and the caller skips
 * and counts it.
 *
 * The object owns copies of every key and value (strings decoded, numbers
 * also kept as their original text so a CSV keeps full precision).
 */
#ifndef HINT_SWEEP_JSON_H
#define HINT_SWEEP_JSON_H

#include <stddef.h>

typedef enum { JSON_NULL, JSON_BOOL, JSON_NUM, JSON_STR, JSON_RAW } json_type_t;

typedef struct {
  char *key;
  json_type_t type;
  double num;  /* JSON_NUM: the value; JSON_BOOL: 0 or 1; else NAN */
  char *text;  /* JSON_STR: decoded string; NUM/BOOL/RAW: source text; NULL: "" */
} json_field_t;

typedef struct {
  json_field_t *f;
  int n, cap;
} json_obj_t;

/* Parses text[0..len) into o (which must be zeroed or fini'd). Returns 0,
 * HINT_EPARSE (o is left empty) or HINT_ENOMEM. A repeated key keeps the
 * last value, as most JSON readers do. */
int json_obj_parse(json_obj_t *o, const char *text, size_t len);
/* Frees everything o owns and leaves it empty (reusable). */
void json_obj_fini(json_obj_t *o);

/* Field named key, or NULL. */
const json_field_t *json_obj_get(const json_obj_t *o, const char *key);
/* Number of key; NAN when missing, null or not a number. */
double json_obj_num(const json_obj_t *o, const char *key);

/* Line-by-line reading of a .jsonl file. */
typedef struct {
  long records;   /* objects parsed */
  long malformed; /* non-empty lines that were not an object: skipped */
  long first_malformed_line; /* 1-based line number of the first, 0 if none */
} json_lines_stats_t;

/* Calls fn for every well-formed object of path, in order; fn returns 0 to go
 * on or non-zero to stop early. Returns 0, HINT_ENOENT when path does not
 * exist (stats zeroed), HINT_EIO or HINT_ENOMEM. */
int json_lines_read(const char *path, int (*fn)(const json_obj_t *o, void *ud), void *ud,
                    json_lines_stats_t *stats);

/* Reads a file holding exactly one object (result.json). Returns 0,
 * HINT_ENOENT, HINT_EIO, HINT_EPARSE or HINT_ENOMEM. */
int json_file_read(const char *path, json_obj_t *o);

#endif
