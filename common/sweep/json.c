/* json.c: the flat-object JSON reader of json.h.
 *
 * A recursive-descent parser over one object: strict JSON (RFC 8259) for the
 * top level, keys and scalar values; nested containers are only checked for
 * balance (brackets matched outside strings, at most JSON_MAX_DEPTH deep)
 * and kept as raw text. Every read is bounds-checked against len; the input
 * need not be NUL-terminated.
 */
#include "common/sweep/json.h"
#include "common/core/alloc.h"
#include "common/core/error.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON_MAX_DEPTH 64

typedef struct {
  const char *s;
  size_t len, pos;
  int nomem;
} cur_t;

static int at_end(const cur_t *c) { return c->pos >= c->len; }
static char peek(const cur_t *c) { return at_end(c) ? '\0' : c->s[c->pos]; }

static void skip_ws(cur_t *c) {
  while (!at_end(c) && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t' || c->s[c->pos] == '\n' ||
                        c->s[c->pos] == '\r'))
    c->pos++;
}

static char *dup_n(const char *s, size_t n) {
  char *d = hint_malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

static int read_hex4(cur_t *c, unsigned *out) {
  if (c->len - c->pos < 4)
    return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    int h = hexval(c->s[c->pos + (size_t)i]);
    if (h < 0)
      return -1;
    v = v * 16u + (unsigned)h;
  }
  c->pos += 4;
  *out = v;
  return 0;
}

static size_t put_utf8(char *d, unsigned cp) {
  if (cp < 0x80) {
    d[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    d[0] = (char)(0xC0 | (cp >> 6));
    d[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    d[0] = (char)(0xE0 | (cp >> 12));
    d[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    d[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  d[0] = (char)(0xF0 | (cp >> 18));
  d[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  d[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
  d[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* At an opening quote: decodes the string into a new buffer (*out). Decoded
 * text is never longer than the source, so one allocation of the remaining
 * length bounds it. */
static int parse_string(cur_t *c, char **out) {
  if (peek(c) != '"')
    return -1;
  c->pos++;
  size_t start = c->pos, end = start;
  while (end < c->len && c->s[end] != '"') { /* find the closing quote */
    if (c->s[end] == '\\')
      end++;
    end++;
  }
  if (end >= c->len)
    return -1;
  char *d = hint_malloc(end - start + 1);
  if (d == NULL) {
    c->nomem = 1;
    return -1;
  }
  size_t n = 0;
  while (c->pos < end) {
    unsigned char ch = (unsigned char)c->s[c->pos++];
    if (ch < 0x20)
      goto bad;
    if (ch != '\\') {
      d[n++] = (char)ch;
      continue;
    }
    char e = c->s[c->pos++];
    switch (e) {
    case '"': d[n++] = '"'; break;
    case '\\': d[n++] = '\\'; break;
    case '/': d[n++] = '/'; break;
    case 'b': d[n++] = '\b'; break;
    case 'f': d[n++] = '\f'; break;
    case 'n': d[n++] = '\n'; break;
    case 'r': d[n++] = '\r'; break;
    case 't': d[n++] = '\t'; break;
    case 'u': {
      unsigned cp;
      if (read_hex4(c, &cp) != 0 || c->pos > end)
        goto bad;
      if (cp >= 0xD800 && cp <= 0xDBFF) { /* high surrogate: a low one must follow */
        unsigned lo;
        if (end - c->pos < 6 || c->s[c->pos] != '\\' || c->s[c->pos + 1] != 'u')
          goto bad;
        c->pos += 2;
        if (read_hex4(c, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
          goto bad;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        goto bad;
      }
      /* \uXXXX is 6 source bytes for at most 3 decoded; a pair is 12 for 4. */
      n += put_utf8(d + n, cp);
      break;
    }
    default:
      goto bad;
    }
  }
  d[n] = '\0';
  c->pos = end + 1;
  *out = d;
  return 0;
bad:
  hint_free(d);
  return -1;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int scan_number(cur_t *c) {
  size_t p = c->pos;
  if (p < c->len && c->s[p] == '-')
    p++;
  if (p >= c->len)
    return -1;
  if (c->s[p] == '0') {
    p++;
  } else if (c->s[p] >= '1' && c->s[p] <= '9') {
    while (p < c->len && c->s[p] >= '0' && c->s[p] <= '9')
      p++;
  } else {
    return -1;
  }
  if (p < c->len && c->s[p] == '.') {
    p++;
    size_t d0 = p;
    while (p < c->len && c->s[p] >= '0' && c->s[p] <= '9')
      p++;
    if (p == d0)
      return -1;
  }
  if (p < c->len && (c->s[p] == 'e' || c->s[p] == 'E')) {
    p++;
    if (p < c->len && (c->s[p] == '+' || c->s[p] == '-'))
      p++;
    size_t d0 = p;
    while (p < c->len && c->s[p] >= '0' && c->s[p] <= '9')
      p++;
    if (p == d0)
      return -1;
  }
  c->pos = p;
  return 0;
}

/* Skips a nested object or array, checking bracket balance outside strings. */
static int skip_container(cur_t *c) {
  char stack[JSON_MAX_DEPTH];
  int depth = 0;
  while (!at_end(c)) {
    char ch = c->s[c->pos];
    if (ch == '"') {
      char *tmp;
      if (parse_string(c, &tmp) != 0)
        return -1;
      hint_free(tmp);
      continue;
    }
    c->pos++;
    if (ch == '{' || ch == '[') {
      if (depth == JSON_MAX_DEPTH)
        return -1;
      stack[depth++] = ch == '{' ? '}' : ']';
    } else if (ch == '}' || ch == ']') {
      if (depth == 0 || stack[depth - 1] != ch)
        return -1;
      if (--depth == 0)
        return 0;
    } else if ((unsigned char)ch < 0x20 && ch != '\n' && ch != '\r' && ch != '\t') {
      return -1;
    }
  }
  return -1;
}

static int literal(cur_t *c, const char *word) {
  size_t n = strlen(word);
  if (c->len - c->pos < n || memcmp(c->s + c->pos, word, n) != 0)
    return -1;
  c->pos += n;
  return 0;
}

static int parse_value(cur_t *c, json_field_t *f) {
  size_t start = c->pos;
  char ch = peek(c);
  f->num = NAN;
  if (ch == '"') {
    f->type = JSON_STR;
    return parse_string(c, &f->text);
  }
  if (ch == '{' || ch == '[') {
    f->type = JSON_RAW;
    if (skip_container(c) != 0)
      return -1;
  } else if (ch == 't' || ch == 'f') {
    f->type = JSON_BOOL;
    if (literal(c, ch == 't' ? "true" : "false") != 0)
      return -1;
    f->num = ch == 't' ? 1.0 : 0.0;
  } else if (ch == 'n') {
    f->type = JSON_NULL;
    if (literal(c, "null") != 0)
      return -1;
    f->text = dup_n("", 0);
    if (f->text == NULL)
      c->nomem = 1;
    return f->text ? 0 : -1;
  } else {
    f->type = JSON_NUM;
    if (scan_number(c) != 0)
      return -1;
  }
  f->text = dup_n(c->s + start, c->pos - start);
  if (f->text == NULL) {
    c->nomem = 1;
    return -1;
  }
  if (f->type == JSON_NUM) {
    errno = 0;
    f->num = strtod(f->text, NULL); /* the grammar was checked; overflow gives +-HUGE_VAL */
  }
  return 0;
}

void json_obj_fini(json_obj_t *o) {
  if (o == NULL)
    return;
  for (int i = 0; i < o->n; i++) {
    hint_free(o->f[i].key);
    hint_free(o->f[i].text);
  }
  hint_free(o->f);
  memset(o, 0, sizeof *o);
}

static int add_field(json_obj_t *o, json_field_t *nf) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->f[i].key, nf->key) == 0) { /* repeated key: the last one wins */
      hint_free(o->f[i].key);
      hint_free(o->f[i].text);
      o->f[i] = *nf;
      return 0;
    }
  if (o->n == o->cap) {
    int cap = o->cap ? 2 * o->cap : 16;
    json_field_t *f = hint_malloc((size_t)cap * sizeof *f);
    if (f == NULL)
      return -1;
    if (o->n)
      memcpy(f, o->f, (size_t)o->n * sizeof *f);
    hint_free(o->f);
    o->f = f;
    o->cap = cap;
  }
  o->f[o->n++] = *nf;
  return 0;
}

int json_obj_parse(json_obj_t *o, const char *text, size_t len) {
  memset(o, 0, sizeof *o);
  cur_t c = {text, len, 0, 0};
  skip_ws(&c);
  if (peek(&c) != '{')
    goto bad;
  c.pos++;
  skip_ws(&c);
  if (peek(&c) == '}') {
    c.pos++;
  } else {
    for (;;) {
      json_field_t f = {0};
      skip_ws(&c);
      if (parse_string(&c, &f.key) != 0)
        goto bad;
      skip_ws(&c);
      if (peek(&c) != ':') {
        hint_free(f.key);
        goto bad;
      }
      c.pos++;
      skip_ws(&c);
      int vrc = parse_value(&c, &f);
      if (vrc == 0 && add_field(o, &f) != 0) {
        c.nomem = 1;
        vrc = -1;
      }
      if (vrc != 0) {
        hint_free(f.key);
        hint_free(f.text);
        goto bad;
      }
      skip_ws(&c);
      if (peek(&c) == ',') {
        c.pos++;
        continue;
      }
      if (peek(&c) == '}') {
        c.pos++;
        break;
      }
      goto bad;
    }
  }
  skip_ws(&c);
  if (!at_end(&c))
    goto bad;
  return HINT_OK;
bad:
  json_obj_fini(o);
  return c.nomem ? HINT_ENOMEM : HINT_EPARSE;
}

const json_field_t *json_obj_get(const json_obj_t *o, const char *key) {
  for (int i = 0; i < o->n; i++)
    if (strcmp(o->f[i].key, key) == 0)
      return &o->f[i];
  return NULL;
}

double json_obj_num(const json_obj_t *o, const char *key) {
  const json_field_t *f = json_obj_get(o, key);
  return f != NULL && f->type == JSON_NUM ? f->num : NAN;
}

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

int json_lines_read(const char *path, int (*fn)(const json_obj_t *o, void *ud), void *ud,
                    json_lines_stats_t *stats) {
  json_lines_stats_t st = {0};
  if (stats)
    *stats = st;
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return errno == ENOENT ? HINT_ENOENT : HINT_EIO;
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  long lineno = 0;
  int rc = HINT_OK;
  while ((n = getline(&line, &cap, f)) >= 0) {
    lineno++;
    if (blank(line, (size_t)n))
      continue;
    json_obj_t o;
    int prc = json_obj_parse(&o, line, (size_t)n);
    if (prc == HINT_ENOMEM) {
      rc = prc;
      break;
    }
    if (prc != HINT_OK) {
      if (st.malformed++ == 0)
        st.first_malformed_line = lineno;
      continue;
    }
    st.records++;
    int stop = fn ? fn(&o, ud) : 0;
    json_obj_fini(&o);
    if (stop)
      break;
  }
  if (rc == HINT_OK && ferror(f))
    rc = HINT_EIO;
  free(line);
  fclose(f);
  if (stats)
    *stats = st;
  return rc;
}

int json_file_read(const char *path, json_obj_t *o) {
  memset(o, 0, sizeof *o);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return errno == ENOENT ? HINT_ENOENT : HINT_EIO;
  size_t cap = 4096, len = 0;
  char *buf = hint_malloc(cap);
  int rc = HINT_OK;
  while (buf != NULL) {
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
    if (len == cap) {
      if (cap >= ((size_t)1 << 26)) { /* 64 MiB: no result file is that big */
        rc = HINT_EPARSE;
        break;
      }
      char *nb = hint_malloc(cap * 2);
      if (nb != NULL)
        memcpy(nb, buf, len);
      hint_free(buf);
      buf = nb;
      cap *= 2;
    }
  }
  if (buf == NULL)
    rc = HINT_ENOMEM;
  else if (rc == HINT_OK && ferror(f))
    rc = HINT_EIO;
  fclose(f);
  if (rc == HINT_OK)
    rc = json_obj_parse(o, buf, len);
  hint_free(buf);
  return rc;
}
