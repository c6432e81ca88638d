/* jsonline.c: see jsonline.h. A recursive-descent reader for exactly one
 * level: '{' (string ':' scalar (',' string ':' scalar)*)? '}'. Numbers follow
 * the JSON grammar strictly (no NaN, no leading '+', no hex) before strtod
 * converts them; strings are unescaped, \uXXXX (with surrogate pairs) to
 * UTF-8. */
#include "common/metrics/jsonline.h"
#include "common/core/error.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  const char *s, *end;
  metrics_line_t *l;
  size_t used; /* bytes of l->text in use */
  int err;     /* first error; 0 = none */
} reader_t;

static void fail(reader_t *r, int code) {
  if (r->err == 0)
    r->err = code;
}

static void skip_ws(reader_t *r) {
  while (r->s < r->end && (*r->s == ' ' || *r->s == '\t' || *r->s == '\n' || *r->s == '\r'))
    r->s++;
}

static int peek(const reader_t *r) { return r->s < r->end ? (unsigned char)*r->s : -1; }

static void put_byte(reader_t *r, unsigned c) {
  if (r->used >= METRICS_LINE_BYTES) {
    fail(r, HINT_ETOOBIG);
    return;
  }
  r->l->text[r->used++] = (char)c;
}

static void put_utf8(reader_t *r, unsigned long cp) {
  if (cp < 0x80) {
    put_byte(r, (unsigned)cp);
  } else if (cp < 0x800) {
    put_byte(r, 0xC0 | (unsigned)(cp >> 6));
    put_byte(r, 0x80 | (unsigned)(cp & 0x3F));
  } else if (cp < 0x10000) {
    put_byte(r, 0xE0 | (unsigned)(cp >> 12));
    put_byte(r, 0x80 | (unsigned)((cp >> 6) & 0x3F));
    put_byte(r, 0x80 | (unsigned)(cp & 0x3F));
  } else {
    put_byte(r, 0xF0 | (unsigned)(cp >> 18));
    put_byte(r, 0x80 | (unsigned)((cp >> 12) & 0x3F));
    put_byte(r, 0x80 | (unsigned)((cp >> 6) & 0x3F));
    put_byte(r, 0x80 | (unsigned)(cp & 0x3F));
  }
}

static long hex4(reader_t *r) {
  if (r->end - r->s < 4)
    return -1;
  long v = 0;
  for (int i = 0; i < 4; i++) {
    const char c = r->s[i];
    v <<= 4;
    if (c >= '0' && c <= '9')
      v |= c - '0';
    else if (c >= 'a' && c <= 'f')
      v |= c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v |= c - 'A' + 10;
    else
      return -1;
  }
  r->s += 4;
  return v;
}

/* A string at r->s (which is '"'); returns its offset in l->text. */
static uint32_t read_string(reader_t *r) {
  const uint32_t at = (uint32_t)r->used;
  r->s++; /* the opening quote */
  for (;;) {
    if (r->s >= r->end) {
      fail(r, HINT_EPARSE);
      return at;
    }
    const unsigned char c = (unsigned char)*r->s++;
    if (c == '"')
      break;
    if (c < 0x20) { /* raw control characters are not allowed in JSON strings */
      fail(r, HINT_EPARSE);
      return at;
    }
    if (c != '\\') {
      put_byte(r, c);
      continue;
    }
    if (r->s >= r->end) {
      fail(r, HINT_EPARSE);
      return at;
    }
    const char e = *r->s++;
    switch (e) {
    case '"': put_byte(r, '"'); break;
    case '\\': put_byte(r, '\\'); break;
    case '/': put_byte(r, '/'); break;
    case 'b': put_byte(r, '\b'); break;
    case 'f': put_byte(r, '\f'); break;
    case 'n': put_byte(r, '\n'); break;
    case 'r': put_byte(r, '\r'); break;
    case 't': put_byte(r, '\t'); break;
    case 'u': {
      long cp = hex4(r);
      if (cp < 0) {
        fail(r, HINT_EPARSE);
        return at;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) { /* a high surrogate needs its low half */
        long lo = -1;
        if (r->end - r->s >= 2 && r->s[0] == '\\' && r->s[1] == 'u') {
          r->s += 2;
          lo = hex4(r);
        }
        if (lo < 0xDC00 || lo > 0xDFFF) {
          fail(r, HINT_EPARSE);
          return at;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(r, HINT_EPARSE);
        return at;
      }
      if (cp == 0) { /* would cut the C string short */
        fail(r, HINT_EPARSE);
        return at;
      }
      put_utf8(r, (unsigned long)cp);
      break;
    }
    default:
      fail(r, HINT_EPARSE);
      return at;
    }
    if (r->err)
      return at;
  }
  put_byte(r, '\0');
  return at;
}

static int is_digit(int c) { return c >= '0' && c <= '9'; }

/* A number per the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static double read_number(reader_t *r) {
  const char *start = r->s;
  if (peek(r) == '-')
    r->s++;
  if (peek(r) == '0') {
    r->s++;
  } else if (is_digit(peek(r))) {
    while (is_digit(peek(r)))
      r->s++;
  } else {
    fail(r, HINT_EPARSE);
    return 0;
  }
  if (peek(r) == '.') {
    r->s++;
    if (!is_digit(peek(r))) {
      fail(r, HINT_EPARSE);
      return 0;
    }
    while (is_digit(peek(r)))
      r->s++;
  }
  if (peek(r) == 'e' || peek(r) == 'E') {
    r->s++;
    if (peek(r) == '+' || peek(r) == '-')
      r->s++;
    if (!is_digit(peek(r))) {
      fail(r, HINT_EPARSE);
      return 0;
    }
    while (is_digit(peek(r)))
      r->s++;
  }
  char tmp[64];
  const size_t n = (size_t)(r->s - start);
  if (n >= sizeof tmp) { /* no number we write is this long */
    fail(r, HINT_EPARSE);
    return 0;
  }
  memcpy(tmp, start, n);
  tmp[n] = '\0';
  return strtod(tmp, NULL);
}

static int literal(reader_t *r, const char *word) {
  const size_t n = strlen(word);
  if ((size_t)(r->end - r->s) < n || memcmp(r->s, word, n) != 0)
    return 0;
  r->s += n;
  return 1;
}

static void read_value(reader_t *r, metrics_field_t *f) {
  const int c = peek(r);
  f->str = 0;
  f->num = 0;
  if (c == '"') {
    f->type = METRICS_JSON_STR;
    f->str = read_string(r);
  } else if (c == '-' || is_digit(c)) {
    f->type = METRICS_JSON_NUM;
    f->num = read_number(r);
  } else if (literal(r, "null")) {
    f->type = METRICS_JSON_NULL;
  } else if (literal(r, "true")) {
    f->type = METRICS_JSON_BOOL;
    f->num = 1;
  } else if (literal(r, "false")) {
    f->type = METRICS_JSON_BOOL;
  } else {
    fail(r, HINT_EPARSE); /* nested objects, arrays, NaN, garbage */
  }
}

int metrics_line_parse(metrics_line_t *l, const char *s, size_t len) {
  reader_t r = {.s = s, .end = s + len, .l = l};
  l->n = 0;
  skip_ws(&r);
  if (peek(&r) != '{') {
    fail(&r, HINT_EPARSE);
  } else {
    r.s++;
    skip_ws(&r);
    if (peek(&r) == '}') {
      r.s++;
    } else {
      for (;;) {
        skip_ws(&r);
        if (peek(&r) != '"') {
          fail(&r, HINT_EPARSE);
          break;
        }
        if (l->n >= METRICS_LINE_FIELDS) {
          fail(&r, HINT_ETOOBIG);
          break;
        }
        metrics_field_t *f = &l->field[l->n];
        f->key = read_string(&r);
        skip_ws(&r);
        if (r.err || peek(&r) != ':') {
          fail(&r, HINT_EPARSE);
          break;
        }
        r.s++;
        skip_ws(&r);
        read_value(&r, f);
        if (r.err)
          break;
        l->n++;
        skip_ws(&r);
        if (peek(&r) == ',') {
          r.s++;
          continue;
        }
        if (peek(&r) == '}') {
          r.s++;
          break;
        }
        fail(&r, HINT_EPARSE);
        break;
      }
    }
  }
  skip_ws(&r);
  if (r.err == 0 && r.s != r.end)
    fail(&r, HINT_EPARSE); /* something after the object */
  if (r.err)
    l->n = 0;
  return r.err;
}

const metrics_field_t *metrics_line_find(const metrics_line_t *l, const char *key) {
  for (int i = l->n - 1; i >= 0; i--) /* the last of duplicate keys wins */
    if (strcmp(l->text + l->field[i].key, key) == 0)
      return &l->field[i];
  return NULL;
}

double metrics_line_num(const metrics_line_t *l, const char *key) {
  const metrics_field_t *f = metrics_line_find(l, key);
  return f && (f->type == METRICS_JSON_NUM || f->type == METRICS_JSON_BOOL) ? f->num : NAN;
}

const char *metrics_line_str(const metrics_line_t *l, const char *key) {
  const metrics_field_t *f = metrics_line_find(l, key);
  return f && f->type == METRICS_JSON_STR ? l->text + f->str : NULL;
}

/* ---- following a growing file ------------------------------------------ */

void metrics_tail_init(metrics_tail_t *t, const char *path, uint64_t max_initial) {
  memset(t, 0, offsetof(metrics_tail_t, part));
  snprintf(t->path, sizeof t->path, "%s", path);
  t->max_initial = max_initial;
}

static void tail_line(metrics_tail_t *t, const char *s, size_t n, metrics_tail_fn fn, void *ctx,
                      int *delivered) {
  if (metrics_line_parse(&t->line, s, n) != HINT_OK) {
    t->malformed++;
    return;
  }
  t->lines++;
  (*delivered)++;
  fn(ctx, &t->line);
}

int metrics_tail_poll(metrics_tail_t *t, metrics_tail_fn fn, void *ctx, int *restarted) {
  if (restarted)
    *restarted = 0;
  struct stat st;
  if (stat(t->path, &st) != 0)
    return errno == ENOENT || errno == ENOTDIR ? HINT_ENOENT : HINT_EIO;
  if (S_ISDIR(st.st_mode)) {
    errno = EISDIR;
    return HINT_EIO;
  }
  const int fresh = t->mtime == 0 && t->off == 0;
  if (!fresh && ((uint64_t)st.st_dev != t->dev || (uint64_t)st.st_ino != t->ino ||
                 (uint64_t)st.st_size < t->off)) {
    /* Replaced or truncated: a new run in the same directory. */
    t->off = 0;
    t->part_len = 0;
    t->skipping = 0;
    t->lines = t->malformed = 0;
    if (restarted) {
      *restarted = 1; /* the caller drops what it derived, then polls again */
      t->mtime = 0;
      t->dev = t->ino = 0;
      return 0;
    }
  }
  t->dev = (uint64_t)st.st_dev;
  t->ino = (uint64_t)st.st_ino;
  t->size = (int64_t)st.st_size;
  t->mtime = (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
  if ((uint64_t)st.st_size == t->off)
    return 0;
  FILE *f = fopen(t->path, "rb");
  if (f == NULL)
    return errno == ENOENT ? HINT_ENOENT : HINT_EIO;
  if (fresh && t->max_initial > 0 && (uint64_t)st.st_size > t->max_initial) {
    t->off = (uint64_t)st.st_size - t->max_initial;
    t->skipping = 1; /* the first line is probably cut: drop it quietly */
  }
  if (fseeko(f, (off_t)t->off, SEEK_SET) != 0) {
    fclose(f);
    return HINT_EIO;
  }
  int delivered = 0;
  char chunk[1 << 15];
  size_t got;
  while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
    t->off += got;
    size_t i = 0;
    while (i < got) {
      const char *nl = memchr(chunk + i, '\n', got - i);
      const size_t n = nl ? (size_t)(nl - (chunk + i)) : got - i;
      if (t->skipping) {
        if (nl) { /* the dropped line ends here */
          t->skipping = 0;
          t->part_len = 0;
        }
      } else if (t->part_len + n > sizeof t->part) {
        /* Longer than any record: count it once and drop the rest of it. */
        t->malformed++;
        t->part_len = 0;
        t->skipping = nl == NULL;
      } else if (nl == NULL) {
        memcpy(t->part + t->part_len, chunk + i, n);
        t->part_len += n;
      } else if (t->part_len > 0) {
        memcpy(t->part + t->part_len, chunk + i, n);
        tail_line(t, t->part, t->part_len + n, fn, ctx, &delivered);
        t->part_len = 0;
      } else {
        tail_line(t, chunk + i, n, fn, ctx, &delivered);
      }
      i += n + (nl ? 1 : 0);
    }
  }
  const int bad = ferror(f);
  fclose(f);
  return bad ? HINT_EIO : delivered;
}
