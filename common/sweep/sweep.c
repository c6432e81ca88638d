/* sweep.c: loading, expanding and validating a sweep file (see sweep.h).
 *
 * The file is read with libyaml's document API so every node keeps its line
 * for messages. Loading builds the axes (set, grid, zip) as flat dotted keys
 * with their values already formatted as --set text, then expands the runs;
 * validation runs each run's overrides through the config loader and
 * env_validate, the same path hint-config takes. The sweep owns every
 * string; runs borrow their values from the axes.
 */
#include "common/sweep/sweep.h"
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/env/env.h"
#include "common/runtime/runtime.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ---- small helpers ------------------------------------------------------ */

typedef struct {
  const char *file;
  char *err;
  size_t cap;
} ctx_t;

__attribute__((format(printf, 5, 6)))
static int fail(ctx_t *c, int code, int line, const char *key, const char *fmt, ...) {
  char detail[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  if (c->err == NULL || c->cap == 0)
    return code;
  if (line > 0 && key)
    snprintf(c->err, c->cap, "%s:%d: %s: %s", c->file, line, key, detail);
  else if (line > 0)
    snprintf(c->err, c->cap, "%s:%d: %s", c->file, line, detail);
  else if (key)
    snprintf(c->err, c->cap, "%s: %s: %s", c->file, key, detail);
  else
    snprintf(c->err, c->cap, "%s: %s", c->file, detail);
  return code;
}

static char *sdup(const char *s) {
  size_t n = strlen(s);
  char *d = hint_malloc(n + 1);
  if (d)
    memcpy(d, s, n + 1);
  return d;
}

/* Growable string. */
typedef struct {
  char *s;
  size_t n, cap;
  int nomem;
} str_t;

static void str_add(str_t *b, const char *t) {
  size_t k = strlen(t);
  if (b->nomem)
    return;
  if (b->n + k + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + k + 1)
      cap *= 2;
    char *s = hint_malloc(cap);
    if (s == NULL) {
      b->nomem = 1;
      return;
    }
    if (b->n)
      memcpy(s, b->s, b->n);
    hint_free(b->s);
    b->s = s;
    b->cap = cap;
  }
  memcpy(b->s + b->n, t, k + 1);
  b->n += k;
}

/* The first character a plan line cannot carry (it is split on white space
 * by shell scripts), or 0. */
static int unsafe_char(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p <= ' ' || *p == 0x7f || strchr("'\"\\$`;&|<>(){}*?#", *p) != NULL)
      return *p;
  return 0;
}

static const char *char_name(int ch, char *buf, size_t cap) {
  if (ch == ' ')
    return "a space";
  if (ch == '\t')
    return "a tab";
  if (ch < ' ' || ch == 0x7f)
    snprintf(buf, cap, "control character 0x%02x", ch);
  else
    snprintf(buf, cap, "'%c'", ch);
  return buf;
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static const char *scalar(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* A null node: `key:` with nothing after it, or ~ / null. */
static int is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return 0;
  const char *v = scalar(n);
  return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
         strcmp(v, "NULL") == 0;
}

/* ---- values ------------------------------------------------------------- */

/* Formats a value node as --set text: a scalar verbatim, a sequence of
 * scalars as "[a,b]". */
static int format_value(ctx_t *c, yaml_document_t *doc, yaml_node_t *n, const char *key,
                        char **out) {
  str_t b = {0};
  if (n->type == YAML_SCALAR_NODE) {
    str_add(&b, scalar(n));
  } else if (n->type == YAML_SEQUENCE_NODE) {
    str_add(&b, "[");
    for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
      yaml_node_t *e = yaml_document_get_node(doc, *it);
      if (e->type != YAML_SCALAR_NODE) {
        hint_free(b.s);
        return fail(c, HINT_ETYPE, line_of(e), key, "a value may be a scalar or a list of scalars, not deeper");
      }
      if (it != n->data.sequence.items.start)
        str_add(&b, ",");
      str_add(&b, scalar(e));
    }
    str_add(&b, "]");
  } else {
    return fail(c, HINT_ETYPE, line_of(n), key, "expected a value, got a mapping");
  }
  if (b.nomem) {
    hint_free(b.s);
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  }
  if (b.s == NULL && (b.s = sdup("")) == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  int bad = unsafe_char(b.s);
  if (bad) {
    char nb[32];
    int rc = fail(c, HINT_EINVAL, line_of(n), key,
                  "value '%s' contains %s, which a plan line (split on white space) cannot carry",
                  b.s, char_name(bad, nb, sizeof nb));
    hint_free(b.s);
    return rc;
  }
  *out = b.s;
  return HINT_OK;
}

static void axis_fini(sweep_axis_t *a) {
  hint_free(a->key);
  for (int i = 0; i < a->n_values; i++)
    hint_free(a->values[i]);
  hint_free(a->values);
  memset(a, 0, sizeof *a);
}

/* ---- sections ----------------------------------------------------------- */

typedef enum { SEC_SET, SEC_GRID, SEC_ZIP } section_t;
static const char *const section_name[] = {"set", "grid", "zip"};

typedef struct {
  sweep_axis_t *a;
  int n, cap;
} axes_t;

/* Adds the leaf `key: node` of a section. */
static int add_leaf(ctx_t *c, yaml_document_t *doc, section_t sec, const char *key,
                    yaml_node_t *n, axes_t *ax) {
  if (ax->n == SWEEP_MAX_KEYS)
    return fail(c, HINT_ERANGE, line_of(n), key, "more than %d keys in %s", SWEEP_MAX_KEYS,
                section_name[sec]);
  for (int i = 0; i < ax->n; i++)
    if (strcmp(ax->a[i].key, key) == 0)
      return fail(c, HINT_EDUPKEY, line_of(n), key, "appears twice in %s (first at line %d)",
                  section_name[sec], ax->a[i].line);
  if (ax->n == ax->cap) {
    int cap = ax->cap ? 2 * ax->cap : 8;
    sweep_axis_t *a = hint_calloc((size_t)cap, sizeof *a);
    if (a == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
    if (ax->n)
      memcpy(a, ax->a, (size_t)ax->n * sizeof *a);
    hint_free(ax->a);
    ax->a = a;
    ax->cap = cap;
  }
  sweep_axis_t *a = &ax->a[ax->n];
  memset(a, 0, sizeof *a);
  a->line = line_of(n);
  if ((a->key = sdup(key)) == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  ax->n++; /* from here on the axis is owned by ax, whatever happens */
  if (sec == SEC_SET) {
    a->values = hint_calloc(1, sizeof(char *));
    if (a->values == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
    int rc = format_value(c, doc, n, key, &a->values[0]);
    if (rc == HINT_OK)
      a->n_values = 1;
    return rc;
  }
  if (n->type != YAML_SEQUENCE_NODE)
    return fail(c, HINT_ETYPE, line_of(n), key,
                "%s needs a list of values (e.g. [1, 2]); a single value belongs under set:",
                section_name[sec]);
  int count = (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (count == 0)
    return fail(c, HINT_EINVAL, line_of(n), key, "empty list in %s: a run needs a value",
                section_name[sec]);
  a->values = hint_calloc((size_t)count, sizeof(char *));
  if (a->values == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
    yaml_node_t *e = yaml_document_get_node(doc, *it);
    int rc = format_value(c, doc, e, key, &a->values[a->n_values]);
    if (rc != HINT_OK)
      return rc;
    a->n_values++;
    if (sec == SEC_GRID)
      for (int j = 0; j + 1 < a->n_values; j++)
        if (strcmp(a->values[j], a->values[a->n_values - 1]) == 0)
          return fail(c, HINT_EINVAL, line_of(e), key, "value '%s' appears twice in the list",
                      a->values[j]);
  }
  return HINT_OK;
}

/* Walks a section mapping, flattening nested mappings into dotted keys. */
static int walk_section(ctx_t *c, yaml_document_t *doc, section_t sec, yaml_node_t *map,
                        const char *prefix, int depth, axes_t *ax) {
  if (map->type != YAML_MAPPING_NODE)
    return fail(c, HINT_ETYPE, line_of(map), prefix[0] ? prefix : section_name[sec],
                "expected a mapping of config keys");
  if (depth > 8)
    return fail(c, HINT_EINVAL, line_of(map), prefix, "nested too deeply");
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    yaml_node_t *v = yaml_document_get_node(doc, p->value);
    if (k->type != YAML_SCALAR_NODE || scalar(k)[0] == '\0')
      return fail(c, HINT_ETYPE, line_of(k), section_name[sec], "keys must be non-empty names");
    char key[256];
    if (snprintf(key, sizeof key, "%s%s%s", prefix, prefix[0] ? "." : "", scalar(k)) >=
        (int)sizeof key)
      return fail(c, HINT_EINVAL, line_of(k), section_name[sec], "key too long");
    int bad = unsafe_char(key);
    if (bad || strchr(key, '=') != NULL) {
      char nb[32];
      return fail(c, HINT_EINVAL, line_of(k), key, "a config key cannot contain %s",
                  bad ? char_name(bad, nb, sizeof nb) : "'='");
    }
    if (strcmp(key, "run.dir") == 0 || strcmp(key, "run.name") == 0)
      return fail(c, HINT_EINVAL, line_of(k), key,
                  "is set by the sweep for every run (run.dir = <out>/<name>, run.name = run id)");
    int rc = v->type == YAML_MAPPING_NODE
                 ? walk_section(c, doc, sec, v, key, depth + 1, ax)
                 : add_leaf(c, doc, sec, key, v, ax);
    if (rc != HINT_OK)
      return rc;
  }
  return HINT_OK;
}

/* ---- paths -------------------------------------------------------------- */

/* Absolute form of path (relative ones from the current directory), resolved
 * with realpath when it exists. */
static char *absolute(const char *path) {
  char buf[PATH_MAX];
  if (realpath(path, buf) != NULL)
    return sdup(buf);
  if (path[0] == '/')
    return sdup(path);
  char cwd[PATH_MAX];
  if (getcwd(cwd, sizeof cwd) == NULL)
    return NULL;
  while (path[0] == '.' && path[1] == '/')
    path += 2;
  str_t b = {0};
  str_add(&b, cwd);
  str_add(&b, "/");
  str_add(&b, path);
  if (b.nomem) {
    hint_free(b.s);
    return NULL;
  }
  while (b.n > 1 && b.s[b.n - 1] == '/') /* "runs/" -> "runs" */
    b.s[--b.n] = '\0';
  return b.s;
}

static int valid_name(const char *s) {
  if (s[0] == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 || strlen(s) > 128)
    return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          *p == '.' || *p == '_' || *p == '-'))
      return 0;
  return 1;
}

/* ---- expansion ---------------------------------------------------------- */

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
  return h;
}

static char *make_id(const sweep_t *s, const sweep_run_t *r) {
  if (s->n_keys == 0)
    return sdup("run");
  str_t b = {0};
  for (int k = 0; k < s->n_keys; k++) {
    if (k)
      str_add(&b, ",");
    /* "algo.name" reads as "algo" */
    const char *key = s->keys[k];
    size_t kl = strlen(key);
    char shortkey[256];
    if (kl > 5 && strcmp(key + kl - 5, ".name") == 0) {
      snprintf(shortkey, sizeof shortkey, "%.*s", (int)(kl - 5), key);
      key = shortkey;
    }
    str_add(&b, key);
    str_add(&b, "=");
    str_add(&b, r->values[k]);
  }
  if (b.nomem) {
    hint_free(b.s);
    return NULL;
  }
  for (char *p = b.s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
          strchr("._,=+-", *p) != NULL))
      *p = '_';
  if (b.n > SWEEP_ID_MAX) { /* keep the readable start, make the rest unique */
    char tail[24];
    snprintf(tail, sizeof tail, "~%016llx", (unsigned long long)fnv1a(b.s));
    memcpy(b.s + SWEEP_ID_MAX - strlen(tail), tail, strlen(tail) + 1);
    b.n = SWEEP_ID_MAX;
  }
  return b.s;
}

static char *make_line(const sweep_t *s, const sweep_run_t *r) {
  str_t b = {0};
  str_add(&b, s->base);
  for (int i = 0; i < s->n_set; i++) {
    str_add(&b, " --set ");
    str_add(&b, s->set[i].key);
    str_add(&b, "=");
    str_add(&b, s->set[i].values[0]);
  }
  for (int i = 0; i < s->n_extra; i++) {
    str_add(&b, " --set ");
    str_add(&b, s->extra[i]);
  }
  for (int k = 0; k < s->n_keys; k++) {
    str_add(&b, " --set ");
    str_add(&b, s->keys[k]);
    str_add(&b, "=");
    str_add(&b, r->values[k]);
  }
  str_add(&b, " --set run.dir=");
  str_add(&b, s->dir);
  str_add(&b, " --set run.name=");
  str_add(&b, r->id);
  if (b.nomem) {
    hint_free(b.s);
    return NULL;
  }
  return b.s;
}

static int cmp_id(const void *a, const void *b, void *sweep) {
  const sweep_t *s = sweep;
  return strcmp(s->runs[*(const int *)a].id, s->runs[*(const int *)b].id);
}

static int expand(ctx_t *c, sweep_t *s) {
  long n = 1;
  for (int i = 0; i < s->n_grid; i++) {
    n *= s->grid[i].n_values;
    if (n > SWEEP_MAX_RUNS)
      break;
  }
  int zip_len = s->n_zip ? s->zip[0].n_values : 1;
  n *= zip_len;
  if (n > SWEEP_MAX_RUNS)
    return fail(c, HINT_ERANGE, 0, NULL, "the grid expands to more than %d runs", SWEEP_MAX_RUNS);
  s->runs = hint_calloc((size_t)n, sizeof *s->runs);
  if (s->runs == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  int idx[SWEEP_MAX_KEYS] = {0};
  for (long i = 0; i < n; i++) {
    sweep_run_t *r = &s->runs[i];
    /* mixed radix: grid keys (first slowest), then the zip row (fastest) */
    long rest = i;
    int row = (int)(rest % zip_len);
    rest /= zip_len;
    for (int g = s->n_grid - 1; g >= 0; g--) {
      idx[g] = (int)(rest % s->grid[g].n_values);
      rest /= s->grid[g].n_values;
    }
    for (int g = 0; g < s->n_grid; g++)
      r->values[g] = s->grid[g].values[idx[g]];
    for (int z = 0; z < s->n_zip; z++)
      r->values[s->n_grid + z] = s->zip[z].values[row];
    s->n_runs++;
    if ((r->id = make_id(s, r)) == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
    size_t dl = strlen(s->dir) + strlen(r->id) + 2;
    if ((r->dir = hint_malloc(dl)) == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
    snprintf(r->dir, dl, "%s/%s", s->dir, r->id);
    if ((r->line = make_line(s, r)) == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  }
  /* Distinct values can sanitise to one id ("a/b" and "a_b"), and equal zip
   * rows give equal runs: both would share a directory. */
  int *order = hint_malloc((size_t)n * sizeof(int));
  if (order == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  for (int i = 0; i < n; i++)
    order[i] = i;
  qsort_r(order, (size_t)n, sizeof(int), cmp_id, s);
  int rc = HINT_OK;
  for (int i = 1; i < n && rc == HINT_OK; i++)
    if (strcmp(s->runs[order[i]].id, s->runs[order[i - 1]].id) == 0) {
      int a = order[i - 1] < order[i] ? order[i - 1] : order[i];
      int b = order[i - 1] < order[i] ? order[i] : order[i - 1];
      rc = fail(c, HINT_EINVAL, 0, NULL,
                "runs %d and %d get the same id '%s' (equal zip rows, or values that differ only "
                "in characters a directory name cannot hold)",
                a + 1, b + 1, s->runs[a].id);
    }
  hint_free(order);
  return rc;
}

/* ---- loading ------------------------------------------------------------ */

static int load_doc(ctx_t *c, sweep_t *s, yaml_document_t *doc, const char *out,
                    const char *const *extra, int n_extra) {
  yaml_node_t *root = yaml_document_get_root_node(doc);
  if (root == NULL)
    return fail(c, HINT_EPARSE, 0, NULL, "the file is empty (a sweep needs name: and base:)");
  if (root->type != YAML_MAPPING_NODE)
    return fail(c, HINT_ETYPE, line_of(root), NULL,
                "the top level must be a mapping (name, base, set, grid, zip)");
  yaml_node_t *sec[5] = {0};
  static const char *const top[5] = {"name", "base", "set", "grid", "zip"};
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    const char *ks = k->type == YAML_SCALAR_NODE ? scalar(k) : "";
    int which = -1;
    for (int i = 0; i < 5; i++)
      if (strcmp(ks, top[i]) == 0)
        which = i;
    if (which < 0)
      return fail(c, HINT_EUNKNOWN_KEY, line_of(k), NULL,
                  "unknown top-level key '%s' (a sweep file has name, base, set, grid, zip)", ks);
    if (sec[which] != NULL)
      return fail(c, HINT_EDUPKEY, line_of(k), ks, "appears twice (first at line %d)",
                  line_of(sec[which]));
    sec[which] = yaml_document_get_node(doc, p->value);
  }
  /* name */
  if (sec[0] == NULL || is_null(sec[0]))
    return fail(c, HINT_ECONFIG, sec[0] ? line_of(sec[0]) : 0, "name",
                "missing: the sweep needs a name (its directory is <out>/<name>)");
  if (sec[0]->type != YAML_SCALAR_NODE || !valid_name(scalar(sec[0])))
    return fail(c, HINT_EINVAL, line_of(sec[0]), "name",
                "'%s' is not a directory name (letters, digits, '.', '_', '-'; at most 128)",
                sec[0]->type == YAML_SCALAR_NODE ? scalar(sec[0]) : "<not a scalar>");
  if ((s->name = sdup(scalar(sec[0]))) == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  /* base, relative to the sweep file */
  if (sec[1] == NULL || is_null(sec[1]))
    return fail(c, HINT_ECONFIG, sec[1] ? line_of(sec[1]) : 0, "base",
                "missing: the sweep needs a base config (relative to the sweep file)");
  if (sec[1]->type != YAML_SCALAR_NODE)
    return fail(c, HINT_ETYPE, line_of(sec[1]), "base", "expected a path");
  {
    const char *b = scalar(sec[1]);
    char joined[PATH_MAX];
    const char *slash = strrchr(s->path, '/');
    if (b[0] == '/' || slash == NULL)
      snprintf(joined, sizeof joined, "%s", b);
    else
      snprintf(joined, sizeof joined, "%.*s/%s", (int)(slash - s->path), s->path, b);
    char real[PATH_MAX];
    struct stat st;
    if (realpath(joined, real) == NULL)
      return fail(c, HINT_ENOENT, line_of(sec[1]), "base", "cannot open '%s' (as %s): %s", b,
                  joined, strerror(errno));
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode))
      return fail(c, HINT_ENOENT, line_of(sec[1]), "base", "'%s' (as %s) is not a regular file",
                  b, real);
    int bad = unsafe_char(real);
    if (bad) {
      char nb[32];
      return fail(c, HINT_EINVAL, line_of(sec[1]), "base",
                  "the path %s contains %s, which a plan line cannot carry", real,
                  char_name(bad, nb, sizeof nb));
    }
    if ((s->base = sdup(real)) == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  }
  /* the sweep directory */
  {
    char *o = absolute(out && out[0] ? out : "runs");
    if (o == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "cannot make '%s' absolute", out);
    int bad = unsafe_char(o);
    if (bad) {
      char nb[32];
      fail(c, HINT_EINVAL, 0, NULL, "--out %s contains %s, which a plan line cannot carry", o,
           char_name(bad, nb, sizeof nb));
      hint_free(o);
      return HINT_EINVAL;
    }
    size_t dl = strlen(o) + strlen(s->name) + 2;
    s->dir = hint_malloc(dl);
    if (s->dir != NULL)
      snprintf(s->dir, dl, "%s%s%s", o, strcmp(o, "/") == 0 ? "" : "/", s->name);
    hint_free(o);
    if (s->dir == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  }
  /* set, grid, zip */
  axes_t ax[3] = {{0}};
  int rc = HINT_OK;
  for (int i = 0; i < 3 && rc == HINT_OK; i++)
    if (sec[2 + i] != NULL && !is_null(sec[2 + i]))
      rc = walk_section(c, doc, (section_t)i, sec[2 + i], "", 0, &ax[i]);
  s->set = ax[0].a, s->n_set = ax[0].n;
  s->grid = ax[1].a, s->n_grid = ax[1].n;
  s->zip = ax[2].a, s->n_zip = ax[2].n;
  if (rc != HINT_OK)
    return rc;
  for (int z = 1; z < s->n_zip; z++)
    if (s->zip[z].n_values != s->zip[0].n_values)
      return fail(c, HINT_EINVAL, s->zip[z].line, "zip",
                  "lists of unequal length: %s has %d values, %s has %d (line %d)",
                  s->zip[z].key, s->zip[z].n_values, s->zip[0].key, s->zip[0].n_values,
                  s->zip[0].line);
  /* A key lives in one place only; which one would win is not obvious. */
  const sweep_axis_t *groups[3] = {s->set, s->grid, s->zip};
  const int counts[3] = {s->n_set, s->n_grid, s->n_zip};
  for (int g = 0; g < 3; g++)
    for (int i = 0; i < counts[g]; i++)
      for (int h = g + 1; h < 3; h++)
        for (int j = 0; j < counts[h]; j++)
          if (strcmp(groups[g][i].key, groups[h][j].key) == 0)
            return fail(c, HINT_EDUPKEY, groups[h][j].line, groups[h][j].key,
                        "is in both %s (line %d) and %s: give it one place", section_name[g],
                        groups[g][i].line, section_name[h]);
  if (s->n_grid + s->n_zip > SWEEP_MAX_KEYS)
    return fail(c, HINT_ERANGE, 0, NULL, "more than %d varied keys", SWEEP_MAX_KEYS);
  for (int i = 0; i < s->n_grid; i++)
    s->keys[s->n_keys++] = s->grid[i].key;
  for (int i = 0; i < s->n_zip; i++)
    s->keys[s->n_keys++] = s->zip[i].key;
  /* extra overrides from the command line */
  if (n_extra > 0 && (s->extra = hint_calloc((size_t)n_extra, sizeof(char *))) == NULL)
    return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
  for (int i = 0; i < n_extra; i++) {
    const char *eq = strchr(extra[i], '=');
    if (eq == NULL || eq == extra[i])
      return fail(c, HINT_EINVAL, 0, NULL, "--set '%s' is not of the form key=value", extra[i]);
    char key[256];
    snprintf(key, sizeof key, "%.*s", (int)(eq - extra[i]), extra[i]);
    if (strcmp(key, "run.dir") == 0 || strcmp(key, "run.name") == 0)
      return fail(c, HINT_EINVAL, 0, NULL, "--set %s: is set by the sweep for every run", key);
    if (sweep_key_index(s, key) >= 0)
      return fail(c, HINT_EINVAL, 0, NULL, "--set %s: the sweep varies this key", key);
    int bad = unsafe_char(extra[i]);
    if (bad) {
      char nb[32];
      return fail(c, HINT_EINVAL, 0, NULL, "--set '%s' contains %s, which a plan line cannot carry",
                  extra[i], char_name(bad, nb, sizeof nb));
    }
    if ((s->extra[i] = sdup(extra[i])) == NULL)
      return fail(c, HINT_ENOMEM, 0, NULL, "out of memory");
    s->n_extra++;
  }
  return expand(c, s);
}

int sweep_load(sweep_t **out_sweep, const char *path, const char *out,
               const char *const *extra, int n_extra, char *err, size_t err_cap) {
  *out_sweep = NULL;
  ctx_t c = {path, err, err_cap};
  if (err && err_cap)
    err[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return fail(&c, errno == ENOENT ? HINT_ENOENT : HINT_EIO, 0, NULL, "cannot open: %s",
                strerror(errno));
  sweep_t *s = hint_calloc(1, sizeof *s);
  if (s == NULL || (s->path = sdup(path)) == NULL) {
    fclose(f);
    sweep_destroy(&s);
    return fail(&c, HINT_ENOMEM, 0, NULL, "out of memory");
  }
  yaml_parser_t parser;
  yaml_document_t doc;
  int rc;
  if (!yaml_parser_initialize(&parser)) {
    fclose(f);
    sweep_destroy(&s);
    return fail(&c, HINT_ENOMEM, 0, NULL, "cannot initialise the YAML parser");
  }
  yaml_parser_set_input_file(&parser, f);
  if (!yaml_parser_load(&parser, &doc)) {
    rc = fail(&c, HINT_EPARSE, (int)parser.problem_mark.line + 1, NULL, "malformed YAML: %s",
              parser.problem ? parser.problem : "parse error");
    yaml_parser_delete(&parser);
    fclose(f);
    sweep_destroy(&s);
    return rc;
  }
  rc = load_doc(&c, s, &doc, out, extra, n_extra);
  yaml_document_delete(&doc);
  yaml_parser_delete(&parser);
  fclose(f);
  if (rc != HINT_OK) {
    sweep_destroy(&s);
    return rc;
  }
  *out_sweep = s;
  return HINT_OK;
}

int sweep_key_index(const sweep_t *s, const char *key) {
  for (int k = 0; k < s->n_keys; k++)
    if (strcmp(s->keys[k], key) == 0)
      return k;
  return -1;
}

void sweep_destroy(sweep_t **sp) {
  if (sp == NULL || *sp == NULL)
    return;
  sweep_t *s = *sp;
  for (int i = 0; i < s->n_runs; i++) {
    hint_free(s->runs[i].id);
    hint_free(s->runs[i].dir);
    hint_free(s->runs[i].line);
  }
  hint_free(s->runs);
  for (int i = 0; i < s->n_set; i++)
    axis_fini(&s->set[i]);
  for (int i = 0; i < s->n_grid; i++)
    axis_fini(&s->grid[i]);
  for (int i = 0; i < s->n_zip; i++)
    axis_fini(&s->zip[i]);
  hint_free(s->set);
  hint_free(s->grid);
  hint_free(s->zip);
  for (int i = 0; i < s->n_extra; i++)
    hint_free(s->extra[i]);
  hint_free(s->extra);
  hint_free(s->path);
  hint_free(s->name);
  hint_free(s->base);
  hint_free(s->dir);
  hint_free(s);
  *sp = NULL;
}

/* ---- validation --------------------------------------------------------- */

/* Line in the sweep file of a key it sets or varies, or 0 (also when a
 * command-line override, which comes later and wins, sets it). */
static int line_of_key(const sweep_t *s, const char *key) {
  size_t kl = strlen(key);
  for (int i = 0; i < s->n_extra; i++)
    if (strncmp(s->extra[i], key, kl) == 0 && s->extra[i][kl] == '=')
      return 0;
  const sweep_axis_t *groups[3] = {s->set, s->grid, s->zip};
  const int counts[3] = {s->n_set, s->n_grid, s->n_zip};
  for (int g = 0; g < 3; g++)
    for (int i = 0; i < counts[g]; i++)
      if (strcmp(groups[g][i].key, key) == 0)
        return groups[g][i].line;
  return 0;
}

int sweep_validate(sweep_t *s, char *err, size_t err_cap) {
  ctx_t c = {s->path, err, err_cap};
  const int n_ov = s->n_set + s->n_extra + s->n_keys + 2;
  char **ov = hint_calloc((size_t)n_ov, sizeof(char *));
  str_t *b = hint_calloc((size_t)n_ov, sizeof(str_t));
  if (ov == NULL || b == NULL) {
    hint_free(ov);
    hint_free(b);
    return fail(&c, HINT_ENOMEM, 0, NULL, "out of memory");
  }
  int rc = HINT_OK, n_bad = 0;
  for (int i = 0; i < s->n_runs; i++) {
    sweep_run_t *r = &s->runs[i];
    int k = 0;
    memset(b, 0, (size_t)n_ov * sizeof(str_t));
    for (int j = 0; j < s->n_set; j++) {
      str_add(&b[k], s->set[j].key), str_add(&b[k], "="), str_add(&b[k], s->set[j].values[0]);
      k++;
    }
    for (int j = 0; j < s->n_extra; j++)
      str_add(&b[k++], s->extra[j]);
    for (int j = 0; j < s->n_keys; j++) {
      str_add(&b[k], s->keys[j]), str_add(&b[k], "="), str_add(&b[k], r->values[j]);
      k++;
    }
    str_add(&b[k], "run.dir="), str_add(&b[k], s->dir);
    k++;
    str_add(&b[k], "run.name="), str_add(&b[k], r->id);
    k++;
    int nomem = 0;
    for (int j = 0; j < k; j++) {
      ov[j] = b[j].s;
      nomem |= b[j].nomem;
    }
    hint_config_t cfg;
    hint_config_error_t cerr;
    int lrc = nomem ? HINT_ENOMEM
                    : hint_config_load(&cfg, s->base, (const char *const *)ov, k, &cerr);
    char detail[1024] = "";
    if (lrc == HINT_ENOMEM) {
      snprintf(detail, sizeof detail, "out of memory");
    } else if (lrc != HINT_OK) {
      snprintf(detail, sizeof detail, "%s", cerr.msg);
    } else {
      runtime_apply_algo(&cfg);
      char eerr[512];
      lrc = env_validate(&cfg, eerr, sizeof eerr);
      if (lrc != HINT_OK) {
        snprintf(cerr.key, sizeof cerr.key, "%.*s", (int)strcspn(eerr, ": "), eerr);
        snprintf(detail, sizeof detail, "%s", eerr);
      } else {
        r->total_env_steps = cfg.run.total_env_steps;
        r->actors = cfg.actor.count;
      }
    }
    for (int j = 0; j < k; j++)
      hint_free(b[j].s);
    if (lrc == HINT_OK)
      continue;
    if (n_bad++ == 0) {
      rc = lrc;
      int line = line_of_key(s, cerr.key);
      if (line > 0)
        fail(&c, lrc, line, cerr.key, "run %d of %d (%s): %s", i + 1, s->n_runs, r->id, detail);
      else
        fail(&c, lrc, 0, NULL, "run %d of %d (%s): %s", i + 1, s->n_runs, r->id, detail);
    }
  }
  hint_free(ov);
  hint_free(b);
  if (n_bad > 1 && err && err_cap) {
    size_t used = strlen(err);
    snprintf(err + used, err_cap - used, " (%d of %d runs are invalid; the first is shown)",
             n_bad, s->n_runs);
  }
  return rc;
}

/* ---- run state and plan files ------------------------------------------- */

int sweep_run_done(const sweep_run_t *r) {
  char p[PATH_MAX];
  struct stat st;
  snprintf(p, sizeof p, "%s/result.json", r->dir);
  return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int sweep_run_has_ckpt(const sweep_run_t *r) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/ckpt", r->dir);
  DIR *d = opendir(p);
  if (d == NULL)
    return 0;
  int found = 0;
  struct dirent *e;
  while (!found && (e = readdir(d)) != NULL)
    found = strncmp(e->d_name, "ckpt-", 5) == 0;
  closedir(d);
  return found;
}

int sweep_write_plan(const sweep_t *s, const char *path, int (*pick)(const sweep_run_t *r),
                     char *err, size_t err_cap) {
  char tmp[PATH_MAX];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (runtime_mkdirs_for(path, err, err_cap) != HINT_OK)
    return HINT_EIO;
  FILE *f = fopen(tmp, "w");
  if (f == NULL) {
    snprintf(err, err_cap, "cannot write %s: %s", tmp, strerror(errno));
    return HINT_EIO;
  }
  int n = 0;
  for (int i = 0; i < s->n_runs; i++)
    if (pick == NULL || pick(&s->runs[i])) {
      fprintf(f, "%s\n", s->runs[i].line);
      n++;
    }
  int bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
  int e = errno;
  if (fclose(f) != 0 && !bad) {
    bad = 1;
    e = errno;
  }
  if (bad || rename(tmp, path) != 0) {
    if (!bad)
      e = errno;
    snprintf(err, err_cap, "cannot write %s: %s", path, strerror(e));
    unlink(tmp);
    return HINT_EIO;
  }
  return n;
}
