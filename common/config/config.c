/* config.c: YAML -> hint_config_t through the schema table (schema.c).
 *
 * The loader parses the whole file with libyaml's document API (so every node
 * keeps its line), walks mappings by dotted path, and sets each field through
 * the one setter that also parses defaults and --set overrides. The first
 * problem stops the load with an error naming file, line and key; nothing is
 * half-applied to the caller's struct (we load into a copy).
 */
#include "common/config/config.h"
#include "common/config/schema.h"
#include "common/core/alloc.h"
#include "common/core/error.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <yaml.h>

/* ---- error reporting ---------------------------------------------------- */

typedef struct {
  const char *file;
  hint_config_error_t *err;
  int no_lines; /* a --set value: its one-line text has no line worth naming */
} load_ctx_t;

__attribute__((format(printf, 5, 6)))
static int fail(load_ctx_t *ctx, int code, int line, const char *key, const char *fmt, ...) {
  hint_config_error_t *e = ctx->err;
  if (e == NULL)
    return code;
  if (ctx->no_lines)
    line = 0;
  snprintf(e->file, sizeof e->file, "%s", ctx->file);
  e->line = line;
  snprintf(e->key, sizeof e->key, "%s", key ? key : "");
  char detail[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  if (line > 0 && key && key[0])
    snprintf(e->msg, sizeof e->msg, "%s:%d: %s: %s", ctx->file, line, key, detail);
  else if (line > 0)
    snprintf(e->msg, sizeof e->msg, "%s:%d: %s", ctx->file, line, detail);
  else if (key && key[0])
    snprintf(e->msg, sizeof e->msg, "%s: %s: %s", ctx->file, key, detail);
  else
    snprintf(e->msg, sizeof e->msg, "%s: %s", ctx->file, detail);
  return code;
}

/* ---- scalar parsing ----------------------------------------------------- */

static const char *type_name(cfg_type_t t) {
  switch (t) {
  case CFG_INT: case CFG_INT64: return "an integer";
  case CFG_FLOAT: return "a number";
  case CFG_BOOL: return "true or false";
  case CFG_STRING: return "a string";
  case CFG_ENUM: return "one name";
  case CFG_ENUM_SET: return "a list of names";
  }
  return "?";
}

static void names_list(const cfg_entry_t *e, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (int i = 0; e->names[i] != NULL && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", e->names[i]);
}

static int enum_index(const cfg_entry_t *e, const char *s) {
  for (int i = 0; e->names[i] != NULL; i++)
    if (strcmp(e->names[i], s) == 0)
      return i;
  return -1;
}

/* Length of the UTF-8 sequence at s (1-4) with its code point in *cp, or 0
 * if it is not valid UTF-8 (bad lead or continuation byte, overlong form,
 * surrogate, above U+10FFFF). */
static int utf8_seq(const unsigned char *s, uint32_t *cp) {
  static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
  int n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3
        : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
  if (n == 0)
    return 0;
  uint32_t c = n == 1 ? s[0] : s[0] & (0x7fu >> n);
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3fu);
  }
  if (c < min_cp[n] || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
    return 0;
  *cp = c;
  return n;
}

/* Sets one scalar value (text s) of entry e into cfg. */
static int set_scalar(load_ctx_t *ctx, hint_config_t *cfg, const cfg_entry_t *e,
                      const char *s, int line) {
  char *field = (char *)cfg + e->offset;
  char *end = NULL;
  switch (e->type) {
  case CFG_INT:
  case CFG_INT64: {
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (s[0] == '\0' || *end != '\0' || errno == ERANGE) {
      /* Accept integral floats written as 1e6 or 4000000.0: common in budgets. */
      double d = strtod(s, &end);
      if (s[0] == '\0' || *end != '\0' || !isfinite(d) || d != floor(d) || fabs(d) > 9.2e18)
        return fail(ctx, HINT_ETYPE, line, e->key, "expected %s, got '%s'", type_name(e->type), s);
      v = (long long)d;
    }
    if ((double)v < e->min || (double)v > e->max)
      return fail(ctx, HINT_ERANGE, line, e->key, "%lld is out of range [%.15g, %.15g]", v, e->min, e->max);
    if (e->type == CFG_INT)
      *(int *)field = (int)v;
    else
      *(int64_t *)field = (int64_t)v;
    return HINT_OK;
  }
  case CFG_FLOAT: {
    errno = 0;
    double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || !isfinite(v))
      return fail(ctx, HINT_ETYPE, line, e->key, "expected %s, got '%s'", type_name(e->type), s);
    if (v < e->min || v > e->max)
      return fail(ctx, HINT_ERANGE, line, e->key, "%g is out of range [%g, %g]", v, e->min, e->max);
    *(double *)field = v;
    return HINT_OK;
  }
  case CFG_BOOL: {
    static const char *const t[] = {"true", "yes", "on", "True", "TRUE", "Yes", "On", NULL};
    static const char *const f[] = {"false", "no", "off", "False", "FALSE", "No", "Off", NULL};
    for (int i = 0; t[i]; i++)
      if (strcmp(s, t[i]) == 0) { *(int *)field = 1; return HINT_OK; }
    for (int i = 0; f[i]; i++)
      if (strcmp(s, f[i]) == 0) { *(int *)field = 0; return HINT_OK; }
    return fail(ctx, HINT_ETYPE, line, e->key, "expected %s, got '%s'", type_name(e->type), s);
  }
  case CFG_STRING: {
    size_t len = strlen(s);
    /* YAML text is Unicode: a string that is not UTF-8 (possible through
     * --set) could not be printed as a config that loads back. */
    uint32_t cp;
    for (size_t i = 0, n; i < len; i += n)
      if ((n = (size_t)utf8_seq((const unsigned char *)s + i, &cp)) == 0)
        return fail(ctx, HINT_ETYPE, line, e->key, "not valid UTF-8 (byte %zu)", i + 1);
    if (len >= e->size)
      return fail(ctx, HINT_ERANGE, line, e->key, "string of %zu bytes is longer than the limit of %zu",
                  len, e->size - 1);
    memcpy(field, s, len + 1);
    return HINT_OK;
  }
  case CFG_ENUM: {
    int i = enum_index(e, s);
    if (i < 0) {
      char names[256];
      names_list(e, names, sizeof names);
      return fail(ctx, HINT_ERANGE, line, e->key, "'%s' is not one of: %s", s, names);
    }
    *(int *)field = i;
    return HINT_OK;
  }
  case CFG_ENUM_SET:
    break;
  }
  return fail(ctx, HINT_ETYPE, line, e->key, "expected %s, got '%s'", type_name(e->type), s);
}

static int line_of(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

/* Sets entry e from a YAML node (scalar, or sequence for sets). */
static int set_node(load_ctx_t *ctx, hint_config_t *cfg, const cfg_entry_t *e,
                    yaml_document_t *doc, yaml_node_t *n) {
  if (e->type == CFG_ENUM_SET) {
    int mask = 0;
    if (n->type == YAML_SCALAR_NODE) {
      /* A single name is a one-element set; an empty plain scalar is []. */
      const char *s = (const char *)n->data.scalar.value;
      if (s[0] != '\0') {
        int i = enum_index(e, s);
        if (i < 0) {
          char names[256];
          names_list(e, names, sizeof names);
          return fail(ctx, HINT_ERANGE, line_of(n), e->key, "'%s' is not one of: %s", s, names);
        }
        mask |= 1 << i;
      }
    } else if (n->type == YAML_SEQUENCE_NODE) {
      for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
        yaml_node_t *item = yaml_document_get_node(doc, *it);
        if (item == NULL || item->type != YAML_SCALAR_NODE)
          return fail(ctx, HINT_ETYPE, item ? line_of(item) : line_of(n), e->key,
                      "expected a list of names, got a nested structure");
        const char *s = (const char *)item->data.scalar.value;
        int i = enum_index(e, s);
        if (i < 0) {
          char names[256];
          names_list(e, names, sizeof names);
          return fail(ctx, HINT_ERANGE, line_of(item), e->key, "'%s' is not one of: %s", s, names);
        }
        if (mask & (1 << i))
          return fail(ctx, HINT_EDUPKEY, line_of(item), e->key, "'%s' is listed twice", s);
        mask |= 1 << i;
      }
    } else {
      return fail(ctx, HINT_ETYPE, line_of(n), e->key, "expected a list of names, got a mapping");
    }
    *(int *)((char *)cfg + e->offset) = mask;
    return HINT_OK;
  }
  if (n->type != YAML_SCALAR_NODE)
    return fail(ctx, HINT_ETYPE, line_of(n), e->key, "expected %s, got a %s", type_name(e->type),
                n->type == YAML_MAPPING_NODE ? "mapping" : "list");
  const char *s = (const char *)n->data.scalar.value;
  /* "key:" with nothing after it is a null, allowed only for strings. */
  if (s[0] == '\0' && e->type != CFG_STRING)
    return fail(ctx, HINT_ETYPE, line_of(n), e->key, "expected %s, got nothing", type_name(e->type));
  return set_scalar(ctx, cfg, e, s, line_of(n));
}

/* ---- walking the document ----------------------------------------------- */

static int is_section(const char *path) {
  size_t n = strlen(path);
  for (int i = 0; i < cfg_schema_len; i++)
    if (strncmp(cfg_schema[i].key, path, n) == 0 && cfg_schema[i].key[n] == '.')
      return 1;
  return 0;
}

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63)
    return 99;
  int d[64][64];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      d[i][j] = c;
    }
  return d[la][lb];
}

static int unknown_key(load_ctx_t *ctx, int line, const char *path) {
  const char *best = NULL;
  int best_d = 4;
  size_t lp = strlen(path);
  for (int i = 0; i < cfg_schema_len; i++) {
    size_t lk = strlen(cfg_schema[i].key);
    if ((lp > lk ? lp - lk : lk - lp) >= (size_t)best_d)
      continue; /* the distance is at least the length difference */
    int d = edit_distance(path, cfg_schema[i].key);
    if (d < best_d) {
      best_d = d;
      best = cfg_schema[i].key;
    }
  }
  if (best)
    return fail(ctx, HINT_EUNKNOWN_KEY, line, path, "unknown key (did you mean '%s'?)", best);
  return fail(ctx, HINT_EUNKNOWN_KEY, line, path, "unknown key (see --help-config)");
}

static int walk(load_ctx_t *ctx, hint_config_t *cfg, yaml_document_t *doc, yaml_node_t *map,
                const char *prefix, int depth) {
  if (depth > 8)
    return fail(ctx, HINT_EPARSE, line_of(map), prefix, "nesting too deep");
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(doc, p->key);
    yaml_node_t *v = yaml_document_get_node(doc, p->value);
    if (k == NULL || v == NULL)
      return fail(ctx, HINT_EPARSE, line_of(map), prefix, "malformed mapping");
    if (k->type != YAML_SCALAR_NODE)
      return fail(ctx, HINT_ETYPE, line_of(k), prefix, "keys must be plain names");
    const char *name = (const char *)k->data.scalar.value;
    /* libyaml keeps duplicate keys; YAML forbids them and a silent
     * last-one-wins would hide typos, so reject. */
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
      yaml_node_t *k2 = yaml_document_get_node(doc, q->key);
      if (k2 && k2->type == YAML_SCALAR_NODE && strcmp((const char *)k2->data.scalar.value, name) == 0) {
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", name);
        return fail(ctx, HINT_EDUPKEY, line_of(k), path, "duplicate key (first given on line %d)", line_of(k2));
      }
    }
    char path[256];
    int n = snprintf(path, sizeof path, "%s%s%s", prefix, prefix[0] ? "." : "", name);
    if (n < 0 || (size_t)n >= sizeof path)
      return fail(ctx, HINT_EUNKNOWN_KEY, line_of(k), prefix, "key too long");
    const cfg_entry_t *e = cfg_schema_find(path);
    int rc;
    if (e != NULL) {
      rc = set_node(ctx, cfg, e, doc, v);
    } else if (is_section(path)) {
      if (v->type != YAML_MAPPING_NODE)
        return fail(ctx, HINT_ETYPE, line_of(v), path, "is a section: expected a mapping of keys");
      rc = walk(ctx, cfg, doc, v, path, depth + 1);
    } else {
      rc = unknown_key(ctx, line_of(k), path);
    }
    if (rc != HINT_OK)
      return rc;
  }
  return HINT_OK;
}

/* Parses text into doc; on error fills ctx. */
static int parse_doc(load_ctx_t *ctx, const char *text, size_t len, yaml_document_t *doc, int *empty) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser))
    return fail(ctx, HINT_ENOMEM, 0, NULL, "cannot initialise the YAML parser");
  yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
  if (!yaml_parser_load(&parser, doc)) {
    int line = (int)parser.problem_mark.line + 1;
    int rc = fail(ctx, HINT_EPARSE, line, NULL, "malformed YAML: %s%s%s",
                  parser.problem ? parser.problem : "parse error",
                  parser.context ? " " : "", parser.context ? parser.context : "");
    yaml_parser_delete(&parser);
    return rc;
  }
  *empty = yaml_document_get_root_node(doc) == NULL;
  /* A second document would be silently ignored: refuse it. */
  if (!*empty) {
    yaml_document_t extra;
    if (yaml_parser_load(&parser, &extra)) {
      yaml_node_t *root2 = yaml_document_get_root_node(&extra);
      int more = root2 != NULL;
      int line = more ? (int)root2->start_mark.line + 1 : 0;
      yaml_document_delete(&extra);
      if (more) {
        yaml_document_delete(doc);
        yaml_parser_delete(&parser);
        return fail(ctx, HINT_EPARSE, line, NULL, "more than one YAML document");
      }
    } else {
      int line = (int)parser.problem_mark.line + 1;
      int rc = fail(ctx, HINT_EPARSE, line, NULL, "malformed YAML: %s",
                    parser.problem ? parser.problem : "parse error");
      yaml_document_delete(doc);
      yaml_parser_delete(&parser);
      return rc;
    }
  }
  yaml_parser_delete(&parser);
  return HINT_OK;
}

/* Sets entry e from a YAML text fragment (a default or an override value). */
static int set_from_text(load_ctx_t *ctx, hint_config_t *cfg, const cfg_entry_t *e, const char *text) {
  if (e->type == CFG_STRING)
    return set_scalar(ctx, cfg, e, text, 0); /* strings verbatim: paths need no quoting */
  yaml_document_t doc;
  int empty = 0;
  int rc = parse_doc(ctx, text, strlen(text), &doc, &empty);
  if (rc != HINT_OK) {
    if (ctx->err) /* re-aim the message at the key, not a line of a one-line text */
      fail(ctx, rc, 0, e->key, "cannot parse value '%s'", text);
    return rc;
  }
  if (empty) {
    rc = e->type == CFG_ENUM_SET ? (*(int *)((char *)cfg + e->offset) = 0, HINT_OK)
                                 : fail(ctx, HINT_ETYPE, 0, e->key, "expected %s, got nothing", type_name(e->type));
  } else {
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    rc = set_node(ctx, cfg, e, &doc, root);
    if (rc != HINT_OK && ctx->err)
      ctx->err->line = 0;
  }
  yaml_document_delete(&doc); /* an empty document still owns its node stack */
  return rc;
}

/* The defaults are parsed from the schema's text once per process (a YAML
 * parse per key); every load starts from a copy. */
static hint_config_t defaults_cache;
static once_flag defaults_once = ONCE_FLAG_INIT;

static void defaults_parse(void) {
  hint_config_t *cfg = &defaults_cache;
  memset(cfg, 0, sizeof *cfg);
  load_ctx_t ctx = {"<defaults>", NULL, 0};
  for (int i = 0; i < cfg_schema_len; i++) {
    int rc = set_from_text(&ctx, cfg, &cfg_schema[i], cfg_schema[i].def);
    (void)rc;
    /* A default that fails its own row is a bug in schema.c. */
    assert(rc == HINT_OK);
  }
}

void hint_config_defaults(hint_config_t *cfg) {
  call_once(&defaults_once, defaults_parse);
  memcpy(cfg, &defaults_cache, sizeof *cfg);
}

/* Cross-key rules the per-key bounds cannot express. Environment feasibility
 * (agents vs cells, vision vs map, netCDF contents) lives in env_validate(). */
static int validate(load_ctx_t *ctx, const hint_config_t *c) {
  if (c->eval.episodes > c->env.eval_episodes)
    return fail(ctx, HINT_ECONFIG, 0, "eval.episodes",
                "%d is more than the fixed evaluation set holds (env.eval_episodes = %d)",
                c->eval.episodes, c->env.eval_episodes);
  if (c->student.minibatches > c->actor.envs * c->actor.segment_len)
    return fail(ctx, HINT_ECONFIG, 0, "student.minibatches",
                "%d minibatches but a batch has only %d samples (actor.envs x actor.segment_len)",
                c->student.minibatches, c->actor.envs * c->actor.segment_len);
  if (c->transport.bind == HINT_BIND_INTERFACE && c->transport.interface[0] == '\0')
    return fail(ctx, HINT_ECONFIG, 0, "transport.interface", "must be set when transport.bind is interface");
  if (c->env.name == HINT_ENV_MARINE && c->env.waves.source == HINT_WAVES_NETCDF &&
      c->env.waves.netcdf_path[0] == '\0')
    return fail(ctx, HINT_ECONFIG, 0, "env.waves.netcdf_path", "must be set when env.waves.source is netcdf");
  if (c->run.name[0] == '\0' || strchr(c->run.name, '/') != NULL)
    return fail(ctx, HINT_ECONFIG, 0, "run.name", "must be a non-empty name without '/'");
  if (c->run.dir[0] == '\0')
    return fail(ctx, HINT_ECONFIG, 0, "run.dir", "must not be empty");
  if (c->algo.name == HINT_ALGO_MADDPG && c->offpolicy.nstep != 1)
    return fail(ctx, HINT_ECONFIG, 0, "offpolicy.nstep", "is %d, but maddpg supports only 1-step targets",
                c->offpolicy.nstep);
  return HINT_OK;
}

static int apply_overrides(load_ctx_t *ctx, hint_config_t *cfg, const char *const *ov, int n) {
  for (int i = 0; i < n; i++) {
    const char *eq = strchr(ov[i], '=');
    char key[128];
    if (eq == NULL || eq == ov[i] || (size_t)(eq - ov[i]) >= sizeof key)
      return fail(ctx, HINT_EINVAL, 0, NULL, "override '%s' is not of the form key=value", ov[i]);
    memcpy(key, ov[i], (size_t)(eq - ov[i]));
    key[eq - ov[i]] = '\0';
    const cfg_entry_t *e = cfg_schema_find(key);
    if (e == NULL)
      return unknown_key(ctx, 0, key);
    int rc = set_from_text(ctx, cfg, e, eq + 1);
    if (rc != HINT_OK)
      return rc;
  }
  return HINT_OK;
}

int hint_config_load_text(hint_config_t *cfg, const char *text, size_t len, const char *name,
                          const char *const *overrides, int n_overrides, hint_config_error_t *err) {
  hint_config_t tmp;
  hint_config_defaults(&tmp);
  load_ctx_t ctx = {name ? name : "<config>", err, 0};
  if (err)
    memset(err, 0, sizeof *err);
  if (text != NULL) {
    yaml_document_t doc;
    int empty = 0;
    int rc = parse_doc(&ctx, text, len, &doc, &empty);
    if (rc != HINT_OK)
      return rc;
    if (!empty) {
      yaml_node_t *root = yaml_document_get_root_node(&doc);
      if (root->type != YAML_MAPPING_NODE)
        rc = fail(&ctx, HINT_ETYPE, line_of(root), NULL, "the top level must be a mapping of sections");
      else
        rc = walk(&ctx, &tmp, &doc, root, "", 0);
    }
    yaml_document_delete(&doc); /* an empty document still owns its node stack */
    if (rc != HINT_OK)
      return rc;
  }
  load_ctx_t octx = {"--set", err, 1};
  int rc = apply_overrides(&octx, &tmp, overrides, n_overrides);
  if (rc != HINT_OK)
    return rc;
  rc = validate(&ctx, &tmp);
  if (rc != HINT_OK)
    return rc;
  *cfg = tmp;
  return HINT_OK;
}

int hint_config_load(hint_config_t *cfg, const char *path, const char *const *overrides,
                     int n_overrides, hint_config_error_t *err) {
  if (path == NULL)
    return hint_config_load_text(cfg, NULL, 0, "<defaults>", overrides, n_overrides, err);
  load_ctx_t ctx = {path, err, 0};
  if (err)
    memset(err, 0, sizeof *err);
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return fail(&ctx, errno == ENOENT ? HINT_ENOENT : HINT_EIO, 0, NULL, "cannot open: %s", strerror(errno));
  /* Configs are small; a huge file is a mistake, not a config. */
  enum { MAX_CONFIG = 1 << 20 };
  char *buf = hint_malloc(MAX_CONFIG + 1);
  if (buf == NULL) {
    fclose(f);
    return fail(&ctx, HINT_ENOMEM, 0, NULL, "out of memory reading the file");
  }
  size_t len = fread(buf, 1, MAX_CONFIG + 1, f);
  int rd_err = ferror(f);
  fclose(f);
  if (rd_err || len > MAX_CONFIG) {
    hint_free(buf);
    return fail(&ctx, rd_err ? HINT_EIO : HINT_ETOOBIG, 0, NULL,
                rd_err ? "read error" : "larger than 1 MiB; not a config file");
  }
  buf[len] = '\0';
  int rc = hint_config_load_text(cfg, buf, len, path, overrides, n_overrides, err);
  hint_free(buf);
  return rc;
}

/* ---- printing ----------------------------------------------------------- */

typedef struct {
  char *buf;
  size_t cap, len;
} out_t;

__attribute__((format(printf, 2, 3)))
static void outf(out_t *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->cap ? o->cap - o->len : 0;
  int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    o->len += (size_t)n;
}

/* Shortest decimal that reads back as the same double. */
static void fmt_double(double v, char *buf, size_t cap) {
  for (int prec = 6; prec <= 17; prec++) {
    snprintf(buf, cap, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  /* Keep floats recognisable as floats ("1" -> "1.0"). */
  if (strpbrk(buf, ".eEn") == NULL && strlen(buf) + 2 < cap)
    strcat(buf, ".0");
}

static void fmt_value(const hint_config_t *cfg, const cfg_entry_t *e, out_t *o) {
  const char *field = (const char *)cfg + e->offset;
  switch (e->type) {
  case CFG_INT: outf(o, "%d", *(const int *)field); break;
  case CFG_INT64: outf(o, "%lld", (long long)*(const int64_t *)field); break;
  case CFG_FLOAT: {
    char b[40];
    fmt_double(*(const double *)field, b, sizeof b);
    outf(o, "%s", b);
    break;
  }
  case CFG_BOOL: outf(o, "%s", *(const int *)field ? "true" : "false"); break;
  case CFG_STRING:
    outf(o, "\"");
    for (const unsigned char *s = (const unsigned char *)field; *s; s++) {
      uint32_t cp = *s;
      int n = 1;
      if (*s == '"' || *s == '\\')
        outf(o, "\\%c", *s);
      else if (*s < 0x20 || *s == 0x7f)
        outf(o, "\\x%02x", *s);
      else if (*s < 0x80)
        outf(o, "%c", *s);
      else if ((n = utf8_seq(s, &cp)) == 0)
        outf(o, "\\x%02x", *s), n = 1; /* not from a loaded config (set_scalar checks) */
      else if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || (cp >= 0xfffe && cp <= 0xffff))
        /* Code points YAML reads as line breaks inside quotes (NEL, LS, PS:
         * folded to a space) or refuses raw (C1 controls, BOM, U+FFFE/F):
         * escaped, so the printed config loads back to the same bytes. */
        outf(o, "\\u%04x", (unsigned)cp);
      else
        outf(o, "%.*s", n, (const char *)s);
      s += n - 1;
    }
    outf(o, "\"");
    break;
  case CFG_ENUM: {
    int v = *(const int *)field;
    outf(o, "%s", v >= 0 ? e->names[v] : "?");
    break;
  }
  case CFG_ENUM_SET: {
    int v = *(const int *)field, first = 1;
    outf(o, "[");
    for (int i = 0; e->names[i]; i++)
      if (v & (1 << i)) {
        outf(o, "%s%s", first ? "" : ", ", e->names[i]);
        first = 0;
      }
    outf(o, "]");
    break;
  }
  }
}

/* Splits a dotted key into components; returns their count. */
static int split_key(const char *key, char parts[][64], int max) {
  int n = 0;
  const char *s = key;
  while (n < max) {
    const char *dot = strchr(s, '.');
    size_t len = dot ? (size_t)(dot - s) : strlen(s);
    if (len > 63) len = 63;
    memcpy(parts[n], s, len);
    parts[n][len] = '\0';
    n++;
    if (!dot) break;
    s = dot + 1;
  }
  return n;
}

static void format_all(const hint_config_t *cfg, out_t *o) {
  char prev[8][64];
  int n_prev = 0;
  for (int i = 0; i < cfg_schema_len; i++) {
    char parts[8][64];
    int n = split_key(cfg_schema[i].key, parts, 8);
    int common = 0;
    while (common < n - 1 && common < n_prev - 1 && strcmp(parts[common], prev[common]) == 0)
      common++;
    for (int d = common; d < n - 1; d++)
      outf(o, "%*s%s:\n", 2 * d, "", parts[d]);
    outf(o, "%*s%s: ", 2 * (n - 1), "", parts[n - 1]);
    fmt_value(cfg, &cfg_schema[i], o);
    outf(o, "\n");
    memcpy(prev, parts, sizeof prev);
    n_prev = n;
  }
}

size_t hint_config_format(const hint_config_t *cfg, char *buf, size_t cap) {
  out_t o = {buf, cap, 0};
  if (cap > 0)
    buf[0] = '\0';
  format_all(cfg, &o);
  return o.len;
}

int hint_config_write(const hint_config_t *cfg, FILE *out) {
  size_t need = hint_config_format(cfg, NULL, 0);
  char *buf = hint_malloc(need + 1);
  if (buf == NULL)
    return HINT_ENOMEM;
  hint_config_format(cfg, buf, need + 1);
  size_t w = fwrite(buf, 1, need, out);
  hint_free(buf);
  return w == need ? HINT_OK : HINT_EIO;
}

uint64_t hint_config_hash(const hint_config_t *cfg) {
  size_t need = hint_config_format(cfg, NULL, 0);
  char *buf = hint_malloc(need + 1);
  uint64_t h = 1469598103934665603ULL;
  if (buf == NULL)
    return 0; /* never equal to a real hash of a non-empty text in practice */
  hint_config_format(cfg, buf, need + 1);
  for (size_t i = 0; i < need; i++) {
    h ^= (unsigned char)buf[i];
    h *= 1099511628211ULL;
  }
  hint_free(buf);
  return h;
}

int hint_config_key_resumable(const char *key) {
  static const char *const prefixes[] = {
      "run.name", "run.dir", "run.total_env_steps", "run.resume", "run.max_wall_s", "run.log_level", "eval.", "ckpt.",
      "metrics.", "transport.actor_timeout_s", "transport.bind", "transport.interface",
      "transport.port", "transport.curve", "transport.hwm", "transport.linger_ms",
      "transport.max_inflight", "blas.", NULL};
  for (int i = 0; prefixes[i]; i++)
    if (strncmp(key, prefixes[i], strlen(prefixes[i])) == 0)
      return 1;
  return 0;
}

uint64_t hint_config_hash_resume(const hint_config_t *cfg) {
  hint_config_t c = *cfg;
  load_ctx_t ctx = {"<defaults>", NULL, 0};
  for (int i = 0; i < cfg_schema_len; i++)
    if (hint_config_key_resumable(cfg_schema[i].key))
      set_from_text(&ctx, &c, &cfg_schema[i], cfg_schema[i].def);
  return hint_config_hash(&c);
}

void hint_config_help(FILE *out) {
  hint_config_t def;
  hint_config_defaults(&def);
  fprintf(out, "Configuration keys (YAML sections, or --set key=value):\n\n");
  for (int i = 0; i < cfg_schema_len; i++) {
    const cfg_entry_t *e = &cfg_schema[i];
    char dflt[320];
    out_t o = {dflt, sizeof dflt, 0};
    fmt_value(&def, e, &o);
    char bounds[288] = "";
    switch (e->type) {
    case CFG_INT: case CFG_INT64:
      snprintf(bounds, sizeof bounds, "integer in [%.15g, %.15g]", e->min, e->max);
      break;
    case CFG_FLOAT:
      snprintf(bounds, sizeof bounds, "number in [%g, %g]", e->min, e->max);
      break;
    case CFG_BOOL: snprintf(bounds, sizeof bounds, "true|false"); break;
    case CFG_STRING: snprintf(bounds, sizeof bounds, "string (< %zu bytes)", e->size); break;
    case CFG_ENUM: case CFG_ENUM_SET: {
      char names[256];
      names_list(e, names, sizeof names);
      snprintf(bounds, sizeof bounds, e->type == CFG_ENUM ? "one of: %s" : "list of: %s", names);
      break;
    }
    }
    fprintf(out, "  %-40s %s\n      %s; default %s\n", e->key, e->help, bounds, dflt);
  }
}

int hint_config_get(const hint_config_t *cfg, const char *key, char *buf, size_t cap) {
  const cfg_entry_t *e = cfg_schema_find(key);
  if (e == NULL)
    return HINT_EUNKNOWN_KEY;
  if (e->type == CFG_STRING) {
    snprintf(buf, cap, "%s", (const char *)cfg + e->offset);
    return HINT_OK;
  }
  out_t o = {buf, cap, 0};
  if (cap > 0)
    buf[0] = '\0';
  fmt_value(cfg, e, &o);
  return HINT_OK;
}

const char *hint_config_enum_name(const char *key, int value) {
  const cfg_entry_t *e = cfg_schema_find(key);
  if (e == NULL || e->type != CFG_ENUM || value < 0)
    return "?";
  for (int i = 0; e->names[i]; i++)
    if (i == value)
      return e->names[i];
  return "?";
}
