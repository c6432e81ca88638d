/* hint-sweep-agg: results of a sweep (the engine behind deploy/hint-sweep
 * status|aggregate).
 *
 *   hint-sweep-agg [--out DIR] SWEEP.yaml            aggregate
 *   hint-sweep-agg [--out DIR] --status SWEEP.yaml   table of run states
 *   hint-sweep-agg --progress RUNDIR                 last env_steps of a run
 *
 * Aggregate reads every run's result.json, eval.jsonl and metrics.jsonl and
 * writes into the sweep directory <out>/<name>/:
 *   results.csv  one row per finished run: id, varied keys, every result.json
 *                field, and from the logs: evals, best sampled/greedy
 *                success, metrics records, peak RSS, malformed lines
 *   results.md   a Markdown table grouped by the varied keys except run.seed
 *                (seeds, success mean +- std, episode length, env steps/s)
 *                and the list of missing runs
 *   success.dat/.gp, throughput.dat/.gp   gnuplot inputs for success.png and
 *                throughput.png; one "gnuplot<TAB>GP<TAB>PNG" line per plot
 *                is printed for the caller to render
 * Missing or unreadable results are listed, never fatal; malformed log lines
 * are skipped and counted. Exit codes: 0 ok, 1 usage, 2 invalid sweep file,
 * 5 an output file cannot be written.
 *
 * All three files are the runtime's flat JSON, read with the one reader for
 * it, common/metrics/jsonline.h (a nested value makes a line malformed).
 */
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/metrics/jsonline.h"
#include "common/sweep/sweep.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { ST_NEW, ST_PARTIAL, ST_DONE };

typedef struct {
  int state;
  int started;        /* the run directory exists */
  int res_ok;         /* result.json parsed */
  int res_rc;         /* its error when it did not */
  metrics_line_t *res; /* result.json, allocated for finished runs */
  long long ckpt_id;  /* newest complete checkpoint (env steps), -1 if none */
  long evals;
  double best_sampled, best_greedy;
  long mrecs;
  double last_env_steps, peak_rss;
  long malformed;
} rundata_t;

/* ---- reading one run ---------------------------------------------------- */

/* The number under key; NAN when absent, null, a string or a bool. */
static double fnum(const metrics_line_t *l, const char *key) {
  const metrics_field_t *f = metrics_line_find(l, key);
  return f != NULL && f->type == METRICS_JSON_NUM ? f->num : NAN;
}

static void on_eval(rundata_t *d, const metrics_line_t *o) {
  double s = fnum(o, "sampled_success"), g = fnum(o, "greedy_success");
  d->evals++;
  if (isfinite(s) && (!isfinite(d->best_sampled) || s > d->best_sampled))
    d->best_sampled = s;
  if (isfinite(g) && (!isfinite(d->best_greedy) || g > d->best_greedy))
    d->best_greedy = g;
}

static void on_metrics(rundata_t *d, const metrics_line_t *o) {
  double steps = fnum(o, "env_steps"), rss = fnum(o, "rss_mb");
  d->mrecs++;
  if (isfinite(steps))
    d->last_env_steps = steps;
  if (isfinite(rss) && (!isfinite(d->peak_rss) || rss > d->peak_rss))
    d->peak_rss = rss;
}

typedef struct {
  long records;              /* lines parsed */
  long malformed;            /* non-blank lines that were not one flat object: skipped */
  long first_malformed_line; /* 1-based line number of the first, 0 if none */
} lines_stats_t;

static int blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
      return 0;
  return 1;
}

/* Calls fn for every well-formed line of the JSON-lines file path, in order;
 * blank lines are ignored, malformed ones (a crashed writer's cut-off last
 * line, garbage, nesting, more fields than a line holds) skipped and counted
 * in *st. Returns 0, HINT_ENOENT when path does not exist, or HINT_EIO. */
static int read_lines(const char *path, void (*fn)(rundata_t *, const metrics_line_t *),
                      rundata_t *d, lines_stats_t *st) {
  static metrics_line_t line; /* ~22 KB: one parse at a time */
  memset(st, 0, sizeof *st);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return errno == ENOENT ? HINT_ENOENT : HINT_EIO;
  char *buf = NULL;
  size_t cap = 0;
  ssize_t n;
  long lineno = 0;
  while ((n = getline(&buf, &cap, f)) >= 0) {
    lineno++;
    if (blank(buf, (size_t)n))
      continue;
    if (metrics_line_parse(&line, buf, (size_t)n) != HINT_OK) {
      if (st->malformed++ == 0)
        st->first_malformed_line = lineno;
      continue;
    }
    st->records++;
    fn(d, &line);
  }
  const int rc = ferror(f) ? HINT_EIO : HINT_OK;
  free(buf);
  fclose(f);
  return rc;
}

/* Reads a file holding exactly one flat object (result.json) into *out,
 * allocated here. Returns 0, HINT_ENOENT, HINT_EIO, HINT_ENOMEM, HINT_EPARSE
 * (not one flat object, or empty) or HINT_ETOOBIG. */
static int read_result(const char *path, metrics_line_t **out) {
  static char buf[1 << 20]; /* a result.json is a few hundred bytes */
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return errno == ENOENT ? HINT_ENOENT : HINT_EIO;
  const size_t len = fread(buf, 1, sizeof buf, f);
  int rc = ferror(f) ? HINT_EIO : HINT_OK;
  if (rc == HINT_OK && len == sizeof buf && fgetc(f) != EOF)
    rc = HINT_ETOOBIG;
  fclose(f);
  if (rc != HINT_OK)
    return rc;
  metrics_line_t *l = hint_malloc(sizeof *l);
  if (l == NULL)
    return HINT_ENOMEM;
  rc = metrics_line_parse(l, buf, len);
  if (rc != HINT_OK) {
    hint_free(l);
    return rc;
  }
  *out = l;
  return HINT_OK;
}

static void read_log(const char *dir, const char *file,
                     void (*fn)(rundata_t *, const metrics_line_t *), rundata_t *d) {
  char p[PATH_MAX];
  lines_stats_t st;
  snprintf(p, sizeof p, "%s/%s", dir, file);
  int rc = read_lines(p, fn, d, &st);
  if (rc != HINT_OK && rc != HINT_ENOENT)
    fprintf(stderr, "hint-sweep-agg: %s: %s (read %ld records)\n", p, hint_strerror(rc),
            st.records);
  if (st.malformed > 0)
    fprintf(stderr, "hint-sweep-agg: %s: %ld malformed line%s skipped (first at line %ld)\n", p,
            st.malformed, st.malformed == 1 ? "" : "s", st.first_malformed_line);
  d->malformed += st.malformed;
}

static long long newest_ckpt(const char *dir) {
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/ckpt", dir);
  DIR *dd = opendir(p);
  if (dd == NULL)
    return -1;
  long long best = -1;
  struct dirent *e;
  while ((e = readdir(dd)) != NULL) {
    if (strncmp(e->d_name, "ckpt-", 5) != 0)
      continue;
    char *end = NULL;
    long long id = strtoll(e->d_name + 5, &end, 10);
    if (end != e->d_name + 5 && *end == '\0' && id > best)
      best = id;
  }
  closedir(dd);
  return best;
}

static void read_run(const sweep_run_t *r, rundata_t *d, int logs) {
  memset(d, 0, sizeof *d);
  d->best_sampled = d->best_greedy = d->peak_rss = NAN;
  struct stat st;
  d->started = stat(r->dir, &st) == 0 && S_ISDIR(st.st_mode);
  d->ckpt_id = newest_ckpt(r->dir);
  if (sweep_run_done(r)) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/result.json", r->dir);
    d->state = ST_DONE;
    d->res_rc = read_result(p, &d->res);
    d->res_ok = d->res_rc == HINT_OK;
    if (!d->res_ok)
      fprintf(stderr, "hint-sweep-agg: %s: unreadable (%s); the run is counted as missing\n", p,
              hint_strerror(d->res_rc));
  } else {
    d->state = d->ckpt_id >= 0 ? ST_PARTIAL : ST_NEW;
  }
  if (logs && d->started) {
    read_log(r->dir, "eval.jsonl", on_eval, d);
    read_log(r->dir, "metrics.jsonl", on_metrics, d);
  }
}

/* ---- statistics --------------------------------------------------------- */

typedef struct {
  double sum, sum2;
  int n;
} acc_t;

static void acc_add(acc_t *a, double v) {
  if (!isfinite(v))
    return;
  a->sum += v;
  a->sum2 += v * v;
  a->n++;
}
static double acc_mean(const acc_t *a) { return a->n ? a->sum / a->n : NAN; }
/* Sample standard deviation (n - 1); 0 for a single value. */
static double acc_std(const acc_t *a) {
  if (a->n < 2)
    return a->n ? 0.0 : NAN;
  double m = a->sum / a->n, v = (a->sum2 - a->n * m * m) / (a->n - 1);
  return v > 0 ? sqrt(v) : 0.0;
}

/* ---- output helpers ----------------------------------------------------- */

static void csv_cell(FILE *f, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL && s[0] != ' ') {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void csv_num(FILE *f, double v) {
  if (isfinite(v))
    fprintf(f, "%.10g", v);
}

/* "45.0 ± 3.2" in percent, "45.0" for one value, "–" for none. */
static void md_pct(FILE *f, const acc_t *a) {
  if (a->n == 0)
    fputs("–", f);
  else if (a->n == 1)
    fprintf(f, "%.1f", 100.0 * acc_mean(a));
  else
    fprintf(f, "%.1f ± %.1f", 100.0 * acc_mean(a), 100.0 * acc_std(a));
}

/* Short label of some varied keys of a run: "2P1A" for FireCommander team
 * sizes, "3R2L" for MARINE fleets, "hint" for an algorithm or any single
 * key (the axis title names it), "lr=3e-4" for anything else. */
static void label_of(const sweep_t *s, const sweep_run_t *r, const int *use, char *buf,
                     size_t cap) {
  static const char *const abbrev[][2] = {
      {"env.perception_agents", "P"}, {"env.action_agents", "A"}, {"env.fires", "F"},
      {"env.routing_ships", "R"},     {"env.logistics_ships", "L"}, {"env.enemies", "E"},
  };
  size_t n = 0;
  buf[0] = '\0';
  int prev_abbrev = 0, n_use = 0;
  for (int k = 0; k < s->n_keys; k++)
    n_use += use[k] != 0;
  for (int k = 0; k < s->n_keys; k++) {
    if (!use[k])
      continue;
    const char *ab = NULL;
    for (size_t i = 0; i < sizeof abbrev / sizeof abbrev[0]; i++)
      if (strcmp(s->keys[k], abbrev[i][0]) == 0)
        ab = abbrev[i][1];
    const char *dot = strrchr(s->keys[k], '.');
    const char *last = dot ? dot + 1 : s->keys[k];
    int w;
    if (ab != NULL)
      w = snprintf(buf + n, cap - n, "%s%s%s", n && !prev_abbrev ? " " : "", r->values[k], ab);
    else if (n_use == 1 || strcmp(s->keys[k], "algo.name") == 0 || strcmp(s->keys[k], "env.name") == 0)
      w = snprintf(buf + n, cap - n, "%s%s", n ? " " : "", r->values[k]);
    else if (strcmp(s->keys[k], "env.size") == 0)
      w = snprintf(buf + n, cap - n, "%s%sx%s", n ? " " : "", r->values[k], r->values[k]);
    else
      w = snprintf(buf + n, cap - n, "%s%s=%s", n ? " " : "", last, r->values[k]);
    if (w < 0 || (size_t)w >= cap - n)
      return;
    n += (size_t)w;
    prev_abbrev = ab != NULL;
  }
  if (n == 0)
    snprintf(buf, cap, "all");
}

/* Index of run r's values over the keys in use among the first n runs'
 * distinct combinations (cats[]: a representative run per category). */
static int category(const sweep_t *s, const int *use, int *cats, int *n_cats, int r) {
  for (int c = 0; c < *n_cats; c++) {
    int same = 1;
    for (int k = 0; k < s->n_keys && same; k++)
      if (use[k] && strcmp(s->runs[cats[c]].values[k], s->runs[r].values[k]) != 0)
        same = 0;
    if (same)
      return c;
  }
  cats[*n_cats] = r;
  return (*n_cats)++;
}

static FILE *open_out(const char *dir, const char *file, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", dir, file);
  FILE *f = fopen(path, "w");
  if (f == NULL)
    fprintf(stderr, "hint-sweep-agg: cannot write %s: %s\n", path, strerror(errno));
  return f;
}

static int close_out(FILE *f, const char *path) {
  int bad = ferror(f);
  if (fclose(f) != 0 || bad) {
    fprintf(stderr, "hint-sweep-agg: cannot write %s: %s\n", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- plots -------------------------------------------------------------- */

typedef struct {
  const char *field;  /* result.json field */
  const char *title;  /* series suffix */
  double scale;
  int dashed;
} metric_t;

/* One gnuplot line chart: x = categories over xuse keys, one line per
 * category over suse keys and metric, points = mean, error bars = std over
 * the remaining keys (the seeds). Writes <stem>.dat and <stem>.gp and prints
 * the gnuplot line. Returns 0, or -1 when a file cannot be written. */
static int plot(const sweep_t *s, const rundata_t *d, const char *stem, const char *title,
                const char *ylabel, const int *xuse, const int *suse, const metric_t *m,
                int n_m, int percent) {
  const int n = s->n_runs;
  int *xcat = hint_calloc((size_t)n, sizeof(int)), *scat = hint_calloc((size_t)n, sizeof(int));
  int *xrep = hint_calloc((size_t)n, sizeof(int)), *srep = hint_calloc((size_t)n, sizeof(int));
  int nx = 0, ns = 0, rc = -1;
  acc_t *acc = NULL;
  FILE *dat = NULL, *gp = NULL;
  char datp[PATH_MAX], gpp[PATH_MAX], png[PATH_MAX];
  if (!xcat || !scat || !xrep || !srep)
    goto out;
  for (int r = 0; r < n; r++) {
    xcat[r] = category(s, xuse, xrep, &nx, r);
    scat[r] = category(s, suse, srep, &ns, r);
  }
  acc = hint_calloc((size_t)nx * (size_t)ns * (size_t)n_m, sizeof(acc_t));
  if (acc == NULL)
    goto out;
  for (int r = 0; r < n; r++)
    if (d[r].res_ok)
      for (int j = 0; j < n_m; j++)
        acc_add(&acc[((size_t)scat[r] * (size_t)n_m + (size_t)j) * (size_t)nx + (size_t)xcat[r]],
                m[j].scale * fnum(d[r].res, m[j].field));
  char f[64];
  snprintf(f, sizeof f, "%s.dat", stem);
  if ((dat = open_out(s->dir, f, datp, sizeof datp)) == NULL)
    goto out;
  snprintf(f, sizeof f, "%s.gp", stem);
  if ((gp = open_out(s->dir, f, gpp, sizeof gpp)) == NULL)
    goto out;
  snprintf(png, sizeof png, "%s/%s.png", s->dir, stem);
  fprintf(gp,
          "# %s: written by hint-sweep-agg from %s.dat; render with gnuplot %s.gp\n"
          "set terminal pngcairo noenhanced size 960,600 font 'sans,11'\n"
          "set output '%s'\n"
          "set title '%s'\n"
          "set ylabel '%s'\nset grid ytics\nset key outside right top\n"
          "set xrange [-0.5:%g]\n",
          stem, stem, stem, png, title, ylabel, nx - 0.5);
  if (percent)
    fprintf(gp, "set yrange [0:105]\n");
  else
    fprintf(gp, "set yrange [0:*]\n");
  char xl[256] = "";
  for (int k = 0, nk = 0; k < s->n_keys; k++)
    if (xuse[k]) {
      size_t used = strlen(xl);
      snprintf(xl + used, sizeof xl - used, "%s%s", nk++ ? ", " : "", s->keys[k]);
    }
  fprintf(gp, "set xlabel '%s'\nset xtics (", xl[0] ? xl : "runs");
  for (int c = 0; c < nx; c++) {
    char lab[256];
    label_of(s, &s->runs[xrep[c]], xuse, lab, sizeof lab);
    fprintf(gp, "%s'%s' %d", c ? ", " : "", lab, c);
  }
  fprintf(gp, ")\n");
  int block = 0;
  const int lines = ns * n_m;
  for (int si = 0; si < ns; si++)
    for (int j = 0; j < n_m; j++) {
      const acc_t *a = &acc[((size_t)si * (size_t)n_m + (size_t)j) * (size_t)nx];
      int points = 0;
      for (int c = 0; c < nx; c++)
        points += a[c].n > 0;
      if (points == 0)
        continue;
      /* spread the lines a little so error bars do not hide each other */
      double off = lines > 1 ? 0.12 * ((si * n_m + j) - (lines - 1) / 2.0) / (lines - 1) : 0.0;
      fprintf(dat, "# %s %s\n", stem, m[j].title);
      for (int c = 0; c < nx; c++)
        if (a[c].n > 0)
          fprintf(dat, "%g %.10g %.10g %d\n", c + off, acc_mean(&a[c]), acc_std(&a[c]), a[c].n);
      fprintf(dat, "\n\n");
      char lab[256];
      label_of(s, &s->runs[srep[si]], suse, lab, sizeof lab);
      fprintf(gp, "%s '%s' index %d using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lc %d dt %d title '%s%s%s'",
              block ? ", \\\n    " : "plot", datp, block, si + 1, m[j].dashed ? 2 : 1,
              strcmp(lab, "all") == 0 ? "" : lab, strcmp(lab, "all") == 0 || !m[j].title[0] ? "" : " ",
              m[j].title);
      block++;
    }
  fprintf(gp, "\n");
  if (close_out(dat, datp) != 0) {
    dat = NULL;
    goto out;
  }
  dat = NULL;
  if (close_out(gp, gpp) != 0) {
    gp = NULL;
    goto out;
  }
  gp = NULL;
  if (block > 0)
    printf("gnuplot\t%s\t%s\n", gpp, png);
  rc = 0;
out:
  if (dat)
    fclose(dat);
  if (gp)
    fclose(gp);
  hint_free(acc);
  hint_free(xcat);
  hint_free(scat);
  hint_free(xrep);
  hint_free(srep);
  return rc;
}

/* ---- aggregate ---------------------------------------------------------- */

/* A result.json value as CSV text: a string decoded, true/false, nothing for
 * null, and a number in full precision -- an integer (|v| < 1e15) in plain
 * digits, anything else in the shortest %g form that reads back to the same
 * double (which is what the runtime's %lld and %.9g wrote). */
static void csv_value(FILE *f, const metrics_line_t *l, const metrics_field_t *v) {
  char num[64];
  switch (v->type) {
  case METRICS_JSON_STR:
    csv_cell(f, l->text + v->str);
    break;
  case METRICS_JSON_BOOL:
    fputs(v->num != 0 ? "true" : "false", f);
    break;
  case METRICS_JSON_NUM:
    if (v->num == trunc(v->num) && fabs(v->num) < 1e15) {
      snprintf(num, sizeof num, "%.0f", v->num);
    } else {
      for (int p = 1; p <= 17; p++) {
        snprintf(num, sizeof num, "%.*g", p, v->num);
        if (strtod(num, NULL) == v->num)
          break;
      }
    }
    fputs(num, f);
    break;
  default: /* null */
    break;
  }
}

static int write_csv(const sweep_t *s, const rundata_t *d) {
  /* columns: union of the result.json fields in first-seen order */
  const char **cols = NULL;
  int ncols = 0, cap = 0;
  for (int r = 0; r < s->n_runs; r++)
    for (int i = 0; d[r].res_ok && i < d[r].res->n; i++) {
      const char *k = metrics_line_key(d[r].res, i);
      int seen = 0;
      for (int c = 0; c < ncols && !seen; c++)
        seen = strcmp(cols[c], k) == 0;
      if (seen)
        continue;
      if (ncols == cap) {
        cap = cap ? 2 * cap : 64;
        const char **nc = hint_malloc((size_t)cap * sizeof *nc);
        if (nc == NULL) {
          hint_free(cols);
          fprintf(stderr, "hint-sweep-agg: out of memory\n");
          return -1;
        }
        if (ncols)
          memcpy(nc, cols, (size_t)ncols * sizeof *nc);
        hint_free(cols);
        cols = nc;
      }
      cols[ncols++] = k;
    }
  char path[PATH_MAX];
  FILE *f = open_out(s->dir, "results.csv", path, sizeof path);
  if (f == NULL) {
    hint_free(cols);
    return -1;
  }
  fputs("id", f);
  for (int k = 0; k < s->n_keys; k++) {
    fputc(',', f);
    csv_cell(f, s->keys[k]);
  }
  for (int c = 0; c < ncols; c++) {
    fputc(',', f);
    csv_cell(f, cols[c]);
  }
  fputs(",evals,best_sampled_success,best_greedy_success,metrics_records,peak_rss_mb,"
        "malformed_lines\n",
        f);
  for (int r = 0; r < s->n_runs; r++) {
    if (!d[r].res_ok)
      continue;
    csv_cell(f, s->runs[r].id);
    for (int k = 0; k < s->n_keys; k++) {
      fputc(',', f);
      csv_cell(f, s->runs[r].values[k]);
    }
    for (int c = 0; c < ncols; c++) {
      fputc(',', f);
      const metrics_field_t *v = metrics_line_find(d[r].res, cols[c]);
      if (v != NULL)
        csv_value(f, d[r].res, v);
    }
    fprintf(f, ",%ld,", d[r].evals);
    csv_num(f, d[r].best_sampled);
    fputc(',', f);
    csv_num(f, d[r].best_greedy);
    fprintf(f, ",%ld,", d[r].mrecs);
    csv_num(f, d[r].peak_rss);
    fprintf(f, ",%ld\n", d[r].malformed);
  }
  hint_free(cols);
  return close_out(f, path);
}

static void describe_missing(FILE *f, const sweep_run_t *r, const rundata_t *d) {
  if (d->state == ST_DONE)
    fprintf(f, "result.json unreadable (%s)", hint_strerror(d->res_rc));
  else if (d->state == ST_PARTIAL)
    fprintf(f, "partial: resumes from the checkpoint at %lld env steps", d->ckpt_id);
  else if (d->started && d->last_env_steps > 0)
    fprintf(f, "not started: reached %.0f env steps without a checkpoint", d->last_env_steps);
  else
    fputs("not started", f);
  if (r->total_env_steps > 0)
    fprintf(f, " (budget %lld)", (long long)r->total_env_steps);
}

static int write_md(const sweep_t *s, const rundata_t *d, int seed_k, int n_done) {
  const int n = s->n_runs;
  int use[SWEEP_MAX_KEYS];
  for (int k = 0; k < s->n_keys; k++)
    use[k] = k != seed_k;
  int *cat = hint_calloc((size_t)n, sizeof(int)), *rep = hint_calloc((size_t)n, sizeof(int));
  acc_t(*acc)[5] = hint_calloc((size_t)n, sizeof *acc);
  int *runs_in = hint_calloc((size_t)n, sizeof(int));
  int ng = 0, rc = -1;
  char path[PATH_MAX];
  FILE *f = NULL;
  if (!cat || !rep || !acc || !runs_in) {
    fprintf(stderr, "hint-sweep-agg: out of memory\n");
    goto out;
  }
  for (int r = 0; r < n; r++) {
    cat[r] = category(s, use, rep, &ng, r);
    runs_in[cat[r]]++;
    if (!d[r].res_ok)
      continue;
    acc_add(&acc[cat[r]][0], fnum(d[r].res, "sampled_success"));
    acc_add(&acc[cat[r]][1], fnum(d[r].res, "greedy_success"));
    acc_add(&acc[cat[r]][2], fnum(d[r].res, "sampled_length"));
    acc_add(&acc[cat[r]][3], fnum(d[r].res, "env_steps_per_s"));
    acc_add(&acc[cat[r]][4], 1.0);
  }
  if ((f = open_out(s->dir, "results.md", path, sizeof path)) == NULL)
    goto out;
  fprintf(f, "# Sweep %s\n\n", s->name);
  fprintf(f, "Sweep file `%s`, base config `%s`: %d runs, %d finished.\n", s->path, s->base, n,
          n_done);
  fprintf(f, "Success in %% over the final evaluation, mean ± sample std over %s; episode length "
             "is the sampled policy's; env steps/s over the whole run.\n\n",
          seed_k >= 0 ? "seeds (run.seed)" : "runs");
  fputs("|", f);
  for (int k = 0; k < s->n_keys; k++)
    if (use[k])
      fprintf(f, " %s |", s->keys[k]);
  fputs(" seeds | sampled success % | greedy success % | episode length | env steps/s |\n|", f);
  for (int k = 0; k < s->n_keys; k++)
    if (use[k])
      fputs("---|", f);
  fputs("--:|--:|--:|--:|--:|\n", f);
  for (int g = 0; g < ng; g++) {
    fputs("|", f);
    for (int k = 0; k < s->n_keys; k++)
      if (use[k])
        fprintf(f, " %s |", s->runs[rep[g]].values[k]);
    fprintf(f, " %d", acc[g][4].n);
    if (acc[g][4].n < runs_in[g])
      fprintf(f, " of %d", runs_in[g]);
    fputs(" | ", f);
    md_pct(f, &acc[g][0]);
    fputs(" | ", f);
    md_pct(f, &acc[g][1]);
    fputs(" | ", f);
    if (acc[g][2].n)
      fprintf(f, "%.1f", acc_mean(&acc[g][2]));
    else
      fputs("–", f);
    fputs(" | ", f);
    if (acc[g][3].n)
      fprintf(f, "%.0f", acc_mean(&acc[g][3]));
    else
      fputs("–", f);
    fputs(" |\n", f);
  }
  if (n_done > 0)
    fputs("\n![success vs team size](success.png)\n\n![throughput](throughput.png)\n", f);
  if (n_done < n) {
    fprintf(f, "\n## Missing runs (%d)\n\n", n - n_done);
    for (int r = 0; r < n; r++)
      if (!d[r].res_ok) {
        fprintf(f, "- `%s`: ", s->runs[r].id);
        describe_missing(f, &s->runs[r], &d[r]);
        fputc('\n', f);
      }
  }
  rc = close_out(f, path);
  f = NULL;
out:
  if (f)
    fclose(f);
  hint_free(cat);
  hint_free(rep);
  hint_free(acc);
  hint_free(runs_in);
  return rc;
}

static int aggregate(const sweep_t *s, rundata_t *d) {
  int n_done = 0;
  for (int r = 0; r < s->n_runs; r++)
    n_done += d[r].res_ok;
  const int seed_k = sweep_key_index(s, "run.seed"), algo_k = sweep_key_index(s, "algo.name"),
            actors_k = sweep_key_index(s, "actor.count");
  int rc = 0;
  if (write_csv(s, d) != 0 || write_md(s, d, seed_k, n_done) != 0)
    rc = -1;
  /* remove plots of an earlier aggregation that this one would not redraw */
  static const char *const old[] = {"success.dat", "success.gp", "success.png",
                                    "throughput.dat", "throughput.gp", "throughput.png"};
  for (size_t i = 0; i < sizeof old / sizeof old[0]; i++) {
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", s->dir, old[i]);
    unlink(p);
  }
  if (rc == 0 && n_done > 0) {
    int xuse[SWEEP_MAX_KEYS], suse[SWEEP_MAX_KEYS];
    for (int k = 0; k < s->n_keys; k++) {
      xuse[k] = k != seed_k && k != algo_k;
      suse[k] = k == algo_k;
    }
    char title[512];
    static const metric_t succ[] = {{"sampled_success", "sampled", 100.0, 0},
                                    {"greedy_success", "greedy", 100.0, 1}};
    snprintf(title, sizeof title, "%s: success (mean, std over seeds)", s->name);
    if (plot(s, d, "success", title, "success (%)", xuse, suse, succ, 2, 1) != 0)
      rc = -1;
    /* throughput against actor.count when the sweep varies it, else like success */
    static const metric_t sps[] = {{"env_steps_per_s", "", 1.0, 0}};
    if (actors_k >= 0)
      for (int k = 0; k < s->n_keys; k++) {
        xuse[k] = k == actors_k;
        suse[k] = k != actors_k && k != seed_k;
      }
    snprintf(title, sizeof title, "%s: throughput (mean, std over seeds)", s->name);
    if (plot(s, d, "throughput", title, "env steps/s", xuse, suse, sps, 1, 0) != 0)
      rc = -1;
  }
  fprintf(stderr, "hint-sweep-agg: %s: %d of %d runs finished; wrote results.csv (%d rows), results.md%s\n",
          s->dir, n_done, s->n_runs, n_done, n_done > 0 ? ", success and throughput plots" : "");
  for (int r = 0; r < s->n_runs; r++)
    if (!d[r].res_ok) {
      fprintf(stderr, "  missing %s: ", s->runs[r].id);
      describe_missing(stderr, &s->runs[r], &d[r]);
      fputc('\n', stderr);
    }
  return rc;
}

/* ---- status ------------------------------------------------------------- */

static void status(const sweep_t *s, const rundata_t *d) {
  int w = 2;
  for (int r = 0; r < s->n_runs; r++) {
    int l = (int)strlen(s->runs[r].id);
    if (l > w)
      w = l;
  }
  printf("sweep %s: %s (%d runs)\n", s->name, s->dir, s->n_runs);
  printf("%4s  %-*s  %-11s  %-24s  %8s  %8s\n", "#", w, "id", "state", "env steps", "sampled",
         "greedy");
  int count[3] = {0};
  for (int r = 0; r < s->n_runs; r++) {
    const sweep_run_t *run = &s->runs[r];
    const rundata_t *x = &d[r];
    count[x->state]++;
    char steps[64] = "", samp[16] = "", greedy[16] = "";
    const char *st = x->state == ST_DONE ? "done" : x->state == ST_PARTIAL ? "partial" : "not started";
    double at = x->state == ST_DONE && x->res_ok ? fnum(x->res, "env_steps")
                : x->state == ST_PARTIAL        ? (double)x->ckpt_id
                                                : NAN;
    if (x->state == ST_DONE && isfinite(at))
      snprintf(steps, sizeof steps, "%.0f", at);
    else if (isfinite(at) && run->total_env_steps > 0)
      snprintf(steps, sizeof steps, "%.0f/%lld (%.0f%%)", at, (long long)run->total_env_steps,
               100.0 * at / (double)run->total_env_steps);
    else if (run->total_env_steps > 0)
      snprintf(steps, sizeof steps, "0/%lld", (long long)run->total_env_steps);
    if (x->res_ok) {
      double a = fnum(x->res, "sampled_success"), b = fnum(x->res, "greedy_success");
      if (isfinite(a))
        snprintf(samp, sizeof samp, "%.1f%%", 100.0 * a);
      if (isfinite(b))
        snprintf(greedy, sizeof greedy, "%.1f%%", 100.0 * b);
    } else if (x->state == ST_DONE) {
      snprintf(samp, sizeof samp, "unreadable");
    }
    printf("%4d  %-*s  %-11s  %-24s  %8s  %8s\n", r + 1, w, run->id, st, steps, samp, greedy);
  }
  printf("%d runs: %d done, %d partial (resume from checkpoint), %d not started\n", s->n_runs,
         count[ST_DONE], count[ST_PARTIAL], count[ST_NEW]);
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *out) {
  fputs("usage: hint-sweep-agg [--out DIR] [--status] SWEEP.yaml\n"
        "       hint-sweep-agg --progress RUNDIR\n",
        out);
}

int main(int argc, char **argv) {
  const char *path = NULL, *out = "runs", *progress = NULL;
  int do_status = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
      out = argv[++i];
    } else if (strcmp(a, "--progress") == 0 && i + 1 < argc) {
      progress = argv[++i];
    } else if (strcmp(a, "--status") == 0) {
      do_status = 1;
    } else if (a[0] == '-') {
      fprintf(stderr, "hint-sweep-agg: unknown option or missing value: '%s'\n", a);
      usage(stderr);
      return 1;
    } else if (path != NULL) {
      fprintf(stderr, "hint-sweep-agg: more than one sweep file ('%s' and '%s')\n", path, a);
      return 1;
    } else {
      path = a;
    }
  }
  if (progress != NULL) {
    rundata_t d;
    memset(&d, 0, sizeof d);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/metrics.jsonl", progress);
    lines_stats_t st;
    read_lines(p, on_metrics, &d, &st);
    printf("%.0f\n", d.last_env_steps);
    return 0;
  }
  if (path == NULL) {
    fprintf(stderr, "hint-sweep-agg: no sweep file given\n");
    usage(stderr);
    return 1;
  }
  char err[2048];
  sweep_t *s = NULL;
  if (sweep_load(&s, path, out, NULL, 0, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "hint-sweep-agg: %s\n", err);
    return 2;
  }
  /* Budgets for the progress columns; a config that no longer validates
   * (the base changed since the runs) does not stop a report. */
  if (sweep_validate(s, err, sizeof err) != HINT_OK)
    fprintf(stderr, "hint-sweep-agg: warning: %s\n", err);
  rundata_t *d = hint_calloc((size_t)s->n_runs, sizeof *d);
  if (d == NULL) {
    fprintf(stderr, "hint-sweep-agg: out of memory\n");
    sweep_destroy(&s);
    return 5;
  }
  for (int r = 0; r < s->n_runs; r++)
    read_run(&s->runs[r], &d[r], !do_status);
  int rc = 0;
  if (do_status) {
    status(s, d);
  } else {
    struct stat st;
    if (stat(s->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
      fprintf(stderr, "hint-sweep-agg: %s does not exist: no run of this sweep has started "
                      "(wrong --out?)\n", s->dir);
      rc = 5;
    } else if (aggregate(s, d) != 0) {
      rc = 5;
    }
  }
  for (int r = 0; r < s->n_runs; r++)
    hint_free(d[r].res);
  hint_free(d);
  sweep_destroy(&s);
  return rc;
}
