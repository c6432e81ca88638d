/* hint-grid-report: the results grid's tables, marl-eval JSON and plots.
 *
 *   hint-grid-report --out DIR --configs LIST --methods LIST --seeds N
 *
 * Reads DIR/runs/<config>/<method>-s<seed>/{result.json,eval.jsonl} (written by
 * deploy/hint-grid through hint-launch) and writes into DIR:
 *   RESULTS.md        per config: sampled success (mean +- sample std over
 *                     seeds) with greedy beside it, episode length, the
 *                     teacher alone, env steps to 80% sampled success, wall
 *                     time; then the headline ratios (hint vs the best online
 *                     MARL baseline, hint vs kd) with whether the gap exceeds
 *                     the spread across seeds
 *   results.csv       one row per finished run
 *   marl_eval.json    the same evaluations in marl-eval's raw-data layout
 *                     (env -> task -> algorithm -> run -> step_k / absolute_metrics);
 *                     each metric list holds the evaluation's mean over its
 *                     episodes (per-episode outcomes are not logged)
 *   curves/<config>.png  sampled success vs env steps, mean over seeds per
 *                     method (gnuplot; skipped with a warning if it is missing)
 * Missing runs are listed, not fatal. Exit 0, or 2 for a bad command line or
 * an unwritable DIR.
 */
#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/core/error.h"
#include "common/metrics/jsonline.h"

#define MAX_CFG 8
#define MAX_METH 16
#define MAX_SEED 16
#define MAX_EVAL 256

typedef struct {
  int n;
  double steps[MAX_EVAL], sampled[MAX_EVAL], greedy[MAX_EVAL], length[MAX_EVAL], teacher[MAX_EVAL];
} curve_t;

typedef struct {
  int done;
  double sampled, greedy, length, ret, teacher, reference, ref_length, wall, sps, env_steps;
  curve_t curve;
} run_t;

static char out_dir[4096];
static char *cfgs[MAX_CFG], *meths[MAX_METH];
static int n_cfg, n_meth, n_seed;
static run_t runs[MAX_CFG][MAX_METH][MAX_SEED];
static metrics_line_t line;

static void die(const char *msg, const char *arg) {
  fprintf(stderr, "hint-grid-report: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
  exit(2);
}

static int split(char *s, char **out, int cap, const char *what) {
  int n = 0;
  for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
    if (n == cap)
      die("too many entries in", what);
    out[n++] = tok;
  }
  if (n == 0)
    die("empty list for", what);
  return n;
}

/* Calls fn on each well-formed line of path; returns lines read or -1. */
static int each_line(const char *path, void (*fn)(void *, const metrics_line_t *), void *ctx) {
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  static char buf[METRICS_LINE_BYTES * 2];
  int n = 0;
  while (fgets(buf, sizeof buf, f)) {
    if (metrics_line_parse(&line, buf, strlen(buf)) == HINT_OK) {
      fn(ctx, &line);
      n++;
    }
  }
  fclose(f);
  return n;
}

static void on_result(void *ctx, const metrics_line_t *l) {
  run_t *r = ctx;
  r->done = 1;
  r->sampled = metrics_line_num(l, "sampled_success");
  r->greedy = metrics_line_num(l, "greedy_success");
  r->length = metrics_line_num(l, "sampled_length");
  r->ret = metrics_line_num(l, "sampled_return");
  r->teacher = metrics_line_num(l, "teacher_success");
  r->reference = metrics_line_num(l, "reference_success");
  r->ref_length = metrics_line_num(l, "reference_length");
  r->wall = metrics_line_num(l, "train_wall_s");
  r->sps = metrics_line_num(l, "env_steps_per_s");
  r->env_steps = metrics_line_num(l, "env_steps");
}

static void on_eval(void *ctx, const metrics_line_t *l) {
  curve_t *c = ctx;
  double s = metrics_line_num(l, "env_steps");
  if (isnan(s) || c->n == MAX_EVAL)
    return;
  /* A resumed run may repeat an evaluation: keep the later one. */
  while (c->n > 0 && s <= c->steps[c->n - 1])
    c->n--;
  c->steps[c->n] = s;
  c->sampled[c->n] = metrics_line_num(l, "sampled_success");
  c->greedy[c->n] = metrics_line_num(l, "greedy_success");
  c->length[c->n] = metrics_line_num(l, "sampled_length");
  c->teacher[c->n] = metrics_line_num(l, "teacher_success");
  c->n++;
}

typedef struct {
  int n;
  double mean, sd;
} stat_t;

static stat_t stats(const double *x, int n) {
  stat_t s = {0, 0, 0};
  double sum = 0, sq = 0;
  for (int i = 0; i < n; i++)
    if (!isnan(x[i]))
      sum += x[i], s.n++;
  if (s.n == 0)
    return (stat_t){0, NAN, NAN};
  s.mean = sum / s.n;
  for (int i = 0; i < n; i++)
    if (!isnan(x[i]))
      sq += (x[i] - s.mean) * (x[i] - s.mean);
  s.sd = s.n > 1 ? sqrt(sq / (s.n - 1)) : 0.0;
  return s;
}

/* One statistic over the finished seeds of (config c, method m). */
static stat_t over_seeds(int c, int m, size_t field_off) {
  double x[MAX_SEED];
  int n = 0;
  for (int s = 0; s < n_seed; s++)
    if (runs[c][m][s].done)
      x[n++] = *(const double *)((const char *)&runs[c][m][s] + field_off);
  return stats(x, n);
}
#define OVER(c, m, field) over_seeds(c, m, offsetof(run_t, field))

static void pct(char *buf, size_t cap, stat_t s) {
  if (s.n == 0 || isnan(s.mean))
    snprintf(buf, cap, "-");
  else if (s.n == 1)
    snprintf(buf, cap, "%.1f%%", 100 * s.mean);
  else
    snprintf(buf, cap, "%.1f ± %.1f%%", 100 * s.mean, 100 * s.sd);
}

/* Env steps at which the sampled success first reaches thr (linear between
 * evaluations is not assumed: the first evaluation at or above it), NAN if
 * never. */
static double steps_to(const curve_t *cv, double thr) {
  for (int i = 0; i < cv->n; i++)
    if (cv->sampled[i] >= thr)
      return cv->steps[i];
  return NAN;
}

static int find_meth(const char *name) {
  for (int m = 0; m < n_meth; m++)
    if (strcmp(meths[m], name) == 0)
      return m;
  return -1;
}

static FILE *open_out(const char *name) {
  char p[4200];
  snprintf(p, sizeof p, "%s/%s", out_dir, name);
  FILE *f = fopen(p, "w");
  if (!f) {
    fprintf(stderr, "hint-grid-report: cannot write %s: %s\n", p, strerror(errno));
    exit(2);
  }
  return f;
}

static void write_markdown(void) {
  FILE *f = open_out("RESULTS.md");
  fprintf(f, "# Results grid\n\n"
             "Produced by `deploy/hint-grid` (runs under `runs/<config>/<method>-s<seed>/`, each with its "
             "exact `config.yaml`). Sync mode: every run is bit-for-bit reproducible from its config and "
             "seed. Success rates are on each config's fixed evaluation set at the end of the budget; "
             "mean ± sample standard deviation over the finished seeds (n). The headline is the "
             "**sampled** policy; greedy is beside it. `to 80%%`: env steps until the sampled success "
             "first reached 80%% (median over the seeds that reached it, with how many did).\n\n");
  for (int c = 0; c < n_cfg; c++) {
    double ref = NAN, refl = NAN, budget = NAN;
    for (int m = 0; m < n_meth && isnan(ref); m++)
      for (int s = 0; s < n_seed; s++)
        if (runs[c][m][s].done) {
          ref = runs[c][m][s].reference, refl = runs[c][m][s].ref_length;
          budget = runs[c][m][s].env_steps;
          break;
        }
    fprintf(f, "## %s\n\n", cfgs[c]);
    if (!isnan(ref))
      fprintf(f, "Budget %.2fM env steps per run. Greedy full-information reference controller: %.1f%% "
                 "success in %.1f steps.\n\n", budget / 1e6, 100 * ref, refl);
    fprintf(f, "| method | n | sampled success | greedy success | episode length | teacher alone | to 80%% | wall s | env steps/s |\n"
               "|---|---|---|---|---|---|---|---|---|\n");
    for (int m = 0; m < n_meth; m++) {
      stat_t sa = OVER(c, m, sampled), gr = OVER(c, m, greedy), le = OVER(c, m, length),
             te = OVER(c, m, teacher), wa = OVER(c, m, wall), sp = OVER(c, m, sps);
      char a[64], b[64], t[64], len[32] = "-", to[48] = "-", w[32] = "-", ss[32] = "-";
      pct(a, sizeof a, sa);
      pct(b, sizeof b, gr);
      pct(t, sizeof t, te);
      if (le.n)
        snprintf(len, sizeof len, "%.1f", le.mean);
      if (wa.n)
        snprintf(w, sizeof w, "%.0f", wa.mean);
      if (sp.n)
        snprintf(ss, sizeof ss, "%.0f", sp.mean);
      double st[MAX_SEED];
      int nr = 0;
      for (int s = 0; s < n_seed; s++)
        if (runs[c][m][s].done) {
          double v = steps_to(&runs[c][m][s].curve, 0.8);
          if (!isnan(v))
            st[nr++] = v;
        }
      if (nr > 0) {
        for (int i = 1; i < nr; i++) /* insertion sort for the median */
          for (int j = i; j > 0 && st[j] < st[j - 1]; j--) {
            double tmp = st[j];
            st[j] = st[j - 1];
            st[j - 1] = tmp;
          }
        double med = nr % 2 ? st[nr / 2] : 0.5 * (st[nr / 2 - 1] + st[nr / 2]);
        snprintf(to, sizeof to, "%.2fM (%d/%d)", med / 1e6, nr, sa.n);
      }
      fprintf(f, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", meths[m], sa.n, a, b, len, t, to, w, ss);
    }
    if (!isnan(ref))
      fprintf(f, "\n![%s learning curves](curves/%s.png)\n\n", cfgs[c], cfgs[c]);
    else
      fprintf(f, "\nNo run of this config has finished yet.\n\n");
  }
  /* Headline ratios. */
  const int mh = find_meth("hint"), mk = find_meth("kd");
  const int online[4] = {find_meth("mappo"), find_meth("ippo"), find_meth("qmix"), find_meth("maddpg")};
  if (mh >= 0) {
    fprintf(f, "## HINT against the baselines (sampled success)\n\n"
               "`clear` = the gap exceeds the spread: mean(hint) - sd(hint) > mean(other) + sd(other).\n\n"
               "| config | hint | best online MARL | ratio | clear | kd | ratio vs kd | clear |\n"
               "|---|---|---|---|---|---|---|---|\n");
    for (int c = 0; c < n_cfg; c++) {
      stat_t h = OVER(c, mh, sampled);
      stat_t best = {0, NAN, NAN};
      const char *bname = "-";
      for (int q = 0; q < 4; q++) {
        if (online[q] < 0)
          continue;
        stat_t o = OVER(c, online[q], sampled);
        if (o.n && (best.n == 0 || o.mean > best.mean))
          best = o, bname = meths[online[q]];
      }
      stat_t k = mk >= 0 ? OVER(c, mk, sampled) : (stat_t){0, NAN, NAN};
      char hs[64], bs[96], ks[64], r1[32] = "-", r2[32] = "-";
      pct(hs, sizeof hs, h);
      char tmp[64];
      pct(tmp, sizeof tmp, best);
      snprintf(bs, sizeof bs, "%s (%s)", tmp, bname);
      pct(ks, sizeof ks, k);
      if (h.n && best.n)
        snprintf(r1, sizeof r1, best.mean > 0 ? "%.2fx" : "inf", h.mean / best.mean);
      if (h.n && k.n)
        snprintf(r2, sizeof r2, k.mean > 0 ? "%.2fx" : "inf", h.mean / k.mean);
      const char *c1 = h.n && best.n ? (h.mean - h.sd > best.mean + best.sd ? "yes" : "no") : "-";
      const char *c2 = h.n && k.n ? (h.mean - h.sd > k.mean + k.sd ? "yes" : (k.mean - k.sd > h.mean + h.sd ? "kd better" : "no")) : "-";
      fprintf(f, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", cfgs[c], hs, bs, r1, c1, ks, r2, c2);
    }
    fprintf(f, "\n");
  }
  /* What is missing. */
  int missing = 0;
  for (int c = 0; c < n_cfg; c++)
    for (int m = 0; m < n_meth; m++)
      for (int s = 0; s < n_seed; s++)
        missing += !runs[c][m][s].done;
  if (missing) {
    fprintf(f, "## Not finished yet (%d runs)\n\n", missing);
    for (int c = 0; c < n_cfg; c++)
      for (int m = 0; m < n_meth; m++) {
        int first = 1;
        for (int s = 0; s < n_seed; s++)
          if (!runs[c][m][s].done) {
            if (first)
              fprintf(f, "- %s %s: seed %d", cfgs[c], meths[m], s + 1);
            else
              fprintf(f, ", %d", s + 1);
            first = 0;
          }
        if (!first)
          fprintf(f, "\n");
      }
    fprintf(f, "\n");
  }
  fclose(f);
}

static void write_csv(void) {
  FILE *f = open_out("results.csv");
  fprintf(f, "config,method,seed,env_steps,sampled_success,greedy_success,sampled_length,sampled_return,"
             "teacher_success,reference_success,train_wall_s,env_steps_per_s,steps_to_80pct\n");
  for (int c = 0; c < n_cfg; c++)
    for (int m = 0; m < n_meth; m++)
      for (int s = 0; s < n_seed; s++) {
        const run_t *r = &runs[c][m][s];
        if (!r->done)
          continue;
        fprintf(f, "%s,%s,%d,%.0f,%.4f,%.4f,%.2f,%.3f,%.4f,%.4f,%.1f,%.0f,%.0f\n", cfgs[c], meths[m], s + 1,
                r->env_steps, r->sampled, r->greedy, r->length, r->ret, r->teacher, r->reference, r->wall,
                r->sps, steps_to(&r->curve, 0.8));
      }
  fclose(f);
}

static void jnum(FILE *f, double v) {
  if (isnan(v) || isinf(v))
    fprintf(f, "null");
  else
    fprintf(f, "%.6g", v);
}

/* marl-eval raw data: environment_name -> task_name -> algorithm_name ->
 * run_k -> step_k {step_count, metric: [..]} + absolute_metrics. */
static void write_marl_eval(void) {
  FILE *f = open_out("marl_eval.json");
  const char *envs[2] = {"FireCommander", "MARINE"};
  fprintf(f, "{");
  int first_env = 1;
  for (int e = 0; e < 2; e++) {
    int any = 0;
    for (int c = 0; c < n_cfg; c++)
      any |= (e == 0) == (strncmp(cfgs[c], "fc", 2) == 0);
    if (!any)
      continue;
    fprintf(f, "%s\n \"%s\": {", first_env ? "" : ",", envs[e]);
    first_env = 0;
    int first_task = 1;
    for (int c = 0; c < n_cfg; c++) {
      if ((e == 0) != (strncmp(cfgs[c], "fc", 2) == 0))
        continue;
      fprintf(f, "%s\n  \"%s\": {", first_task ? "" : ",", cfgs[c]);
      first_task = 0;
      int first_alg = 1;
      for (int m = 0; m < n_meth; m++) {
        int any_run = 0;
        for (int s = 0; s < n_seed; s++)
          any_run |= runs[c][m][s].done;
        if (!any_run) /* marl-eval wants at least one run per algorithm */
          continue;
        fprintf(f, "%s\n   \"%s\": {", first_alg ? "" : ",", meths[m]);
        first_alg = 0;
        int first_run = 1;
        for (int s = 0; s < n_seed; s++) {
          const run_t *r = &runs[c][m][s];
          if (!r->done)
            continue;
          fprintf(f, "%s\n    \"run_%d\": {", first_run ? "" : ",", s + 1);
          first_run = 0;
          for (int i = 0; i < r->curve.n; i++) {
            fprintf(f, "\"step_%d\": {\"step_count\": %.0f, \"success_rate\": [", i, r->curve.steps[i]);
            jnum(f, r->curve.sampled[i]);
            fprintf(f, "], \"greedy_success_rate\": [");
            jnum(f, r->curve.greedy[i]);
            fprintf(f, "], \"episode_length\": [");
            jnum(f, r->curve.length[i]);
            fprintf(f, "]}, ");
          }
          fprintf(f, "\"absolute_metrics\": {\"success_rate\": [");
          jnum(f, r->sampled);
          fprintf(f, "], \"greedy_success_rate\": [");
          jnum(f, r->greedy);
          fprintf(f, "], \"episode_length\": [");
          jnum(f, r->length);
          fprintf(f, "], \"episode_return\": [");
          jnum(f, r->ret);
          fprintf(f, "]}}");
        }
        fprintf(f, "}");
      }
      fprintf(f, "}");
    }
    fprintf(f, "}");
  }
  fprintf(f, "\n}\n");
  fclose(f);
}

/* Mean (and sd) over seeds of the sampled success at each evaluation index. */
static void write_curves(void) {
  char dir[4200];
  snprintf(dir, sizeof dir, "%s/curves", out_dir);
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "hint-grid-report: cannot create %s: %s\n", dir, strerror(errno));
    exit(2);
  }
  for (int c = 0; c < n_cfg; c++) {
    char dat[4300];
    snprintf(dat, sizeof dat, "%s/%s.dat", dir, cfgs[c]);
    FILE *f = fopen(dat, "w");
    if (!f) {
      fprintf(stderr, "hint-grid-report: cannot write %s: %s\n", dat, strerror(errno));
      exit(2);
    }
    int blocks = 0;
    char used[MAX_METH] = {0};
    for (int m = 0; m < n_meth; m++) {
      int len = MAX_EVAL, n = 0;
      for (int s = 0; s < n_seed; s++)
        if (runs[c][m][s].done) {
          len = runs[c][m][s].curve.n < len ? runs[c][m][s].curve.n : len;
          n++;
        }
      if (n == 0 || len == 0)
        continue;
      fprintf(f, "# %s\n", meths[m]);
      for (int i = 0; i < len; i++) {
        double x[MAX_SEED], st = 0;
        int k = 0;
        for (int s = 0; s < n_seed; s++)
          if (runs[c][m][s].done) {
            x[k++] = runs[c][m][s].curve.sampled[i];
            st = runs[c][m][s].curve.steps[i];
          }
        stat_t sv = stats(x, k);
        fprintf(f, "%.0f %.4f %.4f\n", st, sv.mean, sv.sd);
      }
      fprintf(f, "\n\n");
      used[m] = 1;
      blocks++;
    }
    fclose(f);
    if (blocks == 0)
      continue;
    FILE *g = popen("gnuplot 2>&1", "w");
    if (!g) {
      fprintf(stderr, "hint-grid-report: gnuplot not available: %s (no plots)\n", strerror(errno));
      return;
    }
    fprintf(g, "set terminal pngcairo size 900,560 noenhanced\nset output '%s/%s.png'\n", dir, cfgs[c]);
    fprintf(g, "set title '%s: sampled success on the evaluation set (mean over seeds, bars: sd)'\n", cfgs[c]);
    fprintf(g, "set xlabel 'env steps (millions)'\nset ylabel 'success rate'\nset yrange [0:1.05]\n"
               "set key bottom right\nset grid\nplot ");
    int idx = 0, first = 1;
    for (int m = 0; m < n_meth; m++) {
      if (!used[m])
        continue;
      fprintf(g, "%s'%s' index %d using ($1/1e6):2:3 with yerrorlines lw 2 title '%s'", first ? "" : ", ", dat,
              idx, meths[m]);
      first = 0;
      idx++;
    }
    fprintf(g, "\n");
    if (pclose(g) != 0)
      fprintf(stderr, "hint-grid-report: gnuplot failed for %s (is gnuplot-nox installed?)\n", cfgs[c]);
  }
}

int main(int argc, char **argv) {
  char *configs = NULL, *methods = NULL;
  const char *out = NULL;
  n_seed = 3;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc)
      die("missing value after", argv[i]);
    if (strcmp(argv[i], "--out") == 0)
      out = argv[++i];
    else if (strcmp(argv[i], "--configs") == 0)
      configs = argv[++i];
    else if (strcmp(argv[i], "--methods") == 0)
      methods = argv[++i];
    else if (strcmp(argv[i], "--seeds") == 0) {
      char *end;
      long v = strtol(argv[++i], &end, 10);
      if (*end || v < 1 || v > MAX_SEED)
        die("--seeds must be 1..16, not", argv[i]);
      n_seed = (int)v;
    } else
      die("unknown argument", argv[i]);
  }
  if (!out || !configs || !methods)
    die("usage: hint-grid-report --out DIR --configs LIST --methods LIST [--seeds N]", NULL);
  snprintf(out_dir, sizeof out_dir, "%s", out);
  n_cfg = split(configs, cfgs, MAX_CFG, "--configs");
  n_meth = split(methods, meths, MAX_METH, "--methods");
  int done = 0, total = 0;
  for (int c = 0; c < n_cfg; c++)
    for (int m = 0; m < n_meth; m++)
      for (int s = 0; s < n_seed; s++) {
        char p[4400];
        run_t *r = &runs[c][m][s];
        snprintf(p, sizeof p, "%s/runs/%s/%s-s%d/result.json", out_dir, cfgs[c], meths[m], s + 1);
        each_line(p, on_result, r);
        snprintf(p, sizeof p, "%s/runs/%s/%s-s%d/eval.jsonl", out_dir, cfgs[c], meths[m], s + 1);
        if (r->done)
          each_line(p, on_eval, &r->curve);
        done += r->done;
        total++;
      }
  write_markdown();
  write_csv();
  write_marl_eval();
  write_curves();
  printf("hint-grid-report: %d of %d runs finished; wrote %s/RESULTS.md, results.csv, marl_eval.json, curves/\n",
         done, total, out_dir);
  return 0;
}
