/* hint-top: a terminal view of a running (or finished) HINT job.
 *
 *   hint-top RUN_DIR [--interval S] [--once]
 *   hint-top --csv KEY[,KEY...] FILE|RUN_DIR
 *
 * It follows RUN_DIR/metrics.jsonl and eval.jsonl as the learner appends to
 * them (common/metrics/jsonline.h: whole lines only, malformed ones skipped
 * and counted), reads config.yaml for the run's algorithm, environment and
 * budget, and redraws every interval: progress and ETA, throughput with a
 * sparkline, the learner's and the actors' time split as bars, the pipeline
 * (in-flight segments, policy lag, dropped and rejected frames), success,
 * memory, per-actor rates, and warnings (the learner is the bottleneck, an
 * actor lags, no new metrics, finished). Plain ANSI escape codes, no curses:
 * the alternate screen, cursor home and clear-to-end-of-line are all it needs.
 *
 * --once prints one frame as plain text (no escape codes) and exits, for
 * scripts and tests. --csv exports columns of a JSON-lines file for
 * deploy/hint-plot, through the same parser.
 *
 * Exit codes: 0 ok; 1 a --csv key is in no record; 2 bad command line;
 * 5 the run directory or a file in it is missing or unreadable.
 */
#include "common/config/config.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/metrics/jsonline.h"
#include "common/metrics/metrics.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
  HIST = 600,         /* records kept for the sparkline and the averages */
  MAX_ACTORS = 64,    /* the learner writes actor<k> rates for k <= 64 */
  AVG_N = 10,         /* records averaged for ETA, actor rates, training success */
  WARN_N = 5,         /* records averaged for the bottleneck warning */
  MAX_LINES = 96,
  LINE_CAP = 1024,
  EXIT_CLI = 2,
  EXIT_RUNDIR = 5,
};
#define INITIAL_TAIL_BYTES (8u << 20) /* a long run's file: read only its end */

/* What hint-top keeps of one metrics record. */
typedef struct {
  double elapsed, steps, sps, wait, idle, success, episodes;
  int n_act;
  float act[MAX_ACTORS]; /* actor k at [k - 1]; NaN when absent */
} sample_t;

typedef struct {
  char dir[4096];
  metrics_tail_t mt, et;        /* metrics.jsonl, eval.jsonl */
  metrics_line_t last, eval, result;
  int have_last, have_eval, have_result;
  sample_t hist[HIST];
  int h_head, h_n;              /* ring: newest at h_head - 1 */
  /* config.yaml */
  int have_cfg;
  double cfg_mtime;
  char cfg_err[4400];
  char run[256], algo[32], env[32];
  int size, actors, envs;
  double budget, interval;
} top_t;

typedef struct {
  int n, width, utf8;
  char text[MAX_LINES][LINE_CAP];
  char style[MAX_LINES];        /* 0 plain, 'h' header, 'w' warning, 'g' good */
} screen_t;

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/* ---- small formatting helpers -------------------------------------------- */

static void fmt_si(double v, char *buf, size_t cap) {
  const double a = fabs(v);
  if (!isfinite(v))
    snprintf(buf, cap, "-");
  else if (a >= 1e9)
    snprintf(buf, cap, "%.2fG", v / 1e9);
  else if (a >= 1e6)
    snprintf(buf, cap, "%.2fM", v / 1e6);
  else if (a >= 1e3)
    snprintf(buf, cap, "%.1fk", v / 1e3);
  else if (a >= 10 || v == floor(v))
    snprintf(buf, cap, "%.0f", v);
  else
    snprintf(buf, cap, "%.1f", v);
}

/* v with prec decimals, "-" when absent (NaN). */
static const char *fmt_f(double v, int prec, char *buf, size_t cap) {
  if (isfinite(v))
    snprintf(buf, cap, "%.*f", prec, v);
  else
    snprintf(buf, cap, "-");
  return buf;
}

static void fmt_pct(double v, char *buf, size_t cap) {
  if (isfinite(v))
    snprintf(buf, cap, "%.1f%%", 100 * v);
  else
    snprintf(buf, cap, "-");
}

static void bar(double frac, int width, char *buf, size_t cap) {
  if (!isfinite(frac))
    frac = 0;
  frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
  const int fill = (int)(frac * width + 0.5);
  size_t j = 0;
  buf[j++] = '[';
  for (int i = 0; i < width && j + 2 < cap; i++)
    buf[j++] = i < fill ? '#' : '.';
  buf[j++] = ']';
  buf[j] = '\0';
}

__attribute__((format(printf, 3, 4)))
static void line(screen_t *s, char style, const char *fmt, ...) {
  if (s->n >= MAX_LINES)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->text[s->n], LINE_CAP, fmt, ap);
  va_end(ap);
  s->style[s->n++] = style;
}

/* ---- reading the run directory ------------------------------------------- */

static double num_or(const metrics_line_t *l, const char *key, double dflt) {
  const double v = metrics_line_num(l, key);
  return isnan(v) ? dflt : v;
}

static void on_metrics(void *ctx, const metrics_line_t *l) {
  top_t *t = ctx;
  t->last = *l;
  t->have_last = 1;
  sample_t *s = &t->hist[t->h_head];
  s->elapsed = metrics_line_num(l, "elapsed_s");
  s->steps = metrics_line_num(l, "env_steps");
  s->sps = metrics_line_num(l, "env_steps_per_s");
  s->wait = metrics_line_num(l, "actor_wait_frac");
  s->idle = metrics_line_num(l, "frac_idle");
  s->success = metrics_line_num(l, "success");
  s->episodes = num_or(l, "episodes", 0);
  s->n_act = 0;
  for (int k = 0; k < MAX_ACTORS; k++)
    s->act[k] = NAN;
  for (int i = 0; i < l->n; i++) {
    const char *key = metrics_line_key(l, i);
    int k = 0, end = 0;
    if (sscanf(key, "actor%d_env_steps_per_s%n", &k, &end) == 1 && key[end] == '\0' && k >= 1 &&
        k <= MAX_ACTORS && l->field[i].type == METRICS_JSON_NUM) {
      s->act[k - 1] = (float)l->field[i].num;
      if (k > s->n_act)
        s->n_act = k;
    }
  }
  t->h_head = (t->h_head + 1) % HIST;
  if (t->h_n < HIST)
    t->h_n++;
}

static void on_eval(void *ctx, const metrics_line_t *l) {
  top_t *t = ctx;
  t->eval = *l;
  t->have_eval = 1;
}

/* The i-th newest sample (0 = newest); i < h_n. */
static const sample_t *hist_at(const top_t *t, int i) {
  return &t->hist[((t->h_head - 1 - i) % HIST + HIST) % HIST];
}

static void read_config(top_t *t) {
  char path[4200];
  snprintf(path, sizeof path, "%s/config.yaml", t->dir);
  struct stat st;
  if (stat(path, &st) != 0) {
    t->have_cfg = 0;
    snprintf(t->cfg_err, sizeof t->cfg_err, "%s: %s", path, strerror(errno));
    return;
  }
  const double mt = (double)st.st_mtim.tv_sec + 1e-9 * (double)st.st_mtim.tv_nsec;
  if (t->have_cfg && mt == t->cfg_mtime)
    return; /* unchanged (a resume may rewrite it with a new budget) */
  t->cfg_mtime = mt;
  static hint_config_t cfg;
  hint_config_error_t err;
  if (hint_config_load(&cfg, path, NULL, 0, &err) != HINT_OK) {
    t->have_cfg = 0;
    snprintf(t->cfg_err, sizeof t->cfg_err, "%s", err.msg);
    return;
  }
  t->have_cfg = 1;
  t->cfg_err[0] = '\0';
  snprintf(t->run, sizeof t->run, "%s", cfg.run.name);
  snprintf(t->algo, sizeof t->algo, "%s", hint_config_enum_name("algo.name", cfg.algo.name));
  snprintf(t->env, sizeof t->env, "%s", hint_config_enum_name("env.name", cfg.env.name));
  t->size = cfg.env.size;
  t->actors = cfg.actor.count;
  t->envs = cfg.actor.envs;
  t->budget = (double)cfg.run.total_env_steps;
  t->interval = cfg.metrics.interval_s;
}

static void read_result(top_t *t) {
  char path[4200];
  snprintf(path, sizeof path, "%s/result.json", t->dir);
  FILE *f = fopen(path, "rb");
  t->have_result = 0;
  if (f == NULL)
    return;
  static char buf[METRICS_LINE_BYTES];
  const size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  t->have_result = n > 0 && n < sizeof buf && metrics_line_parse(&t->result, buf, n) == HINT_OK;
}

/* Polls every file. Returns 0, or EXIT_RUNDIR with msg filled. */
static int refresh(top_t *t, char *msg, size_t cap) {
  struct stat st;
  if (stat(t->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(msg, cap, "run directory %s: %s", t->dir, stat(t->dir, &st) != 0 ? strerror(errno) : "not a directory");
    return EXIT_RUNDIR;
  }
  int restarted = 0;
  int rc = metrics_tail_poll(&t->mt, on_metrics, t, &restarted);
  if (restarted) { /* a new run in the same directory: forget the old one */
    t->h_n = t->h_head = 0;
    t->have_last = 0;
    rc = metrics_tail_poll(&t->mt, on_metrics, t, NULL);
  }
  if (rc == HINT_EIO) {
    snprintf(msg, cap, "cannot read %s: %s", t->mt.path, strerror(errno));
    return EXIT_RUNDIR;
  }
  restarted = 0;
  rc = metrics_tail_poll(&t->et, on_eval, t, &restarted);
  if (restarted) {
    t->have_eval = 0;
    rc = metrics_tail_poll(&t->et, on_eval, t, NULL);
  }
  if (rc == HINT_EIO) {
    snprintf(msg, cap, "cannot read %s: %s", t->et.path, strerror(errno));
    return EXIT_RUNDIR;
  }
  read_config(t);
  read_result(t);
  return 0;
}

/* ---- the frame -------------------------------------------------------------- */

static void sparkline(const top_t *t, int width, int utf8, char *buf, size_t cap, double *vmax, int *used) {
  static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                       "\u2585", "\u2586", "\u2587", "\u2588"};
  static const char ascii[] = "_.-:=+*#";
  int n = t->h_n < width ? t->h_n : width;
  double mx = 0;
  for (int i = 0; i < n; i++) {
    const double v = hist_at(t, i)->sps;
    if (isfinite(v) && v > mx)
      mx = v;
  }
  size_t j = 0;
  buf[0] = '\0';
  for (int i = n - 1; i >= 0; i--) { /* oldest first */
    const double v = hist_at(t, i)->sps;
    int level = isfinite(v) && mx > 0 ? (int)(v / mx * 7.0 + 0.5) : 0;
    level = level < 0 ? 0 : level > 7 ? 7 : level;
    const char *glyph = utf8 ? blocks[level] : (char[]){ascii[level], '\0'};
    const size_t g = strlen(glyph);
    if (j + g + 1 >= cap)
      break;
    memcpy(buf + j, glyph, g);
    j += g;
  }
  buf[j] = '\0';
  *vmax = mx;
  *used = n;
}

static double median(double *v, int n) {
  for (int i = 1; i < n; i++) /* insertion sort: n <= 64 */
    for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
      const double x = v[j];
      v[j] = v[j - 1];
      v[j - 1] = x;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Mean over the newest n records of the double at byte offset off of
 * sample_t (offsetof), NaN skipped; NaN if there is none. */
static double hist_mean(const top_t *t, int n, size_t off) {
  double sum = 0;
  int c = 0;
  for (int i = 0; i < n && i < t->h_n; i++) {
    double v;
    memcpy(&v, (const char *)hist_at(t, i) + off, sizeof v);
    if (isfinite(v)) {
      sum += v;
      c++;
    }
  }
  return c ? sum / c : NAN;
}

static void warnings(const top_t *t, double now_wall, screen_t *s) {
  int n = 0;
  if (t->have_result) {
    char steps[32], wall[32], sp[32], gp[32];
    fmt_si(metrics_line_num(&t->result, "env_steps"), steps, sizeof steps);
    metrics_fmt_duration(metrics_line_num(&t->result, "train_wall_s"), wall, sizeof wall);
    fmt_pct(metrics_line_num(&t->result, "sampled_success"), sp, sizeof sp);
    fmt_pct(metrics_line_num(&t->result, "greedy_success"), gp, sizeof gp);
    line(s, 'g', "  finished: %s env steps in %s; final eval sampled %s, greedy %s (result.json)", steps, wall, sp,
         gp);
    n++;
  } else if (t->mt.mtime > 0) {
    const double age = now_wall - t->mt.mtime;
    const double limit = fmax(5.0, 3.0 * (t->have_cfg ? t->interval : 2.0));
    if (age > limit) {
      line(s, 'w', "  ! stale: no new metrics for %.0f s (the job stopped, hung or lost its actors; "
                   "no result.json)", age);
      n++;
    }
  }
  if (t->h_n > 0) {
    const double wait = hist_mean(t, WARN_N, offsetof(sample_t, wait)),
                 idle = hist_mean(t, WARN_N, offsetof(sample_t, idle));
    if (wait > 0.3 && idle < 0.1) {
      line(s, 'w', "  ! learner is the bottleneck: actors wait %.0f%% of their time, learner idle %.0f%%",
           100 * wait, 100 * idle);
      n++;
    }
    /* Actor rates averaged over the newest records: one interval's rate is
     * lumpy (a segment lands in one interval or the next). */
    const int na = hist_at(t, 0)->n_act;
    double rate[MAX_ACTORS], sorted[MAX_ACTORS];
    int m = 0;
    for (int k = 0; k < na; k++) {
      double sum = 0;
      int c = 0;
      for (int i = 0; i < AVG_N && i < t->h_n; i++)
        if (isfinite(hist_at(t, i)->act[k])) {
          sum += hist_at(t, i)->act[k];
          c++;
        }
      rate[k] = c ? sum / c : NAN;
      if (c)
        sorted[m++] = rate[k];
    }
    if (m >= 2 && !t->have_result) {
      const double med = median(sorted, m);
      for (int k = 0; k < na; k++)
        if (med > 0 && isfinite(rate[k]) && rate[k] < 0.5 * med) {
          char r[32], md[32];
          fmt_si(rate[k], r, sizeof r);
          fmt_si(med, md, sizeof md);
          line(s, 'w', "  ! actor %d lags: %s env steps/s, under half the median %s", k + 1, r, md);
          n++;
        }
    }
  }
  if (t->have_last) {
    const double rej = num_or(&t->last, "rejected_frames", 0), auth = num_or(&t->last, "auth_refused", 0),
                 drop = num_or(&t->last, "dropped_lag", 0);
    if (rej > 0) {
      line(s, 'w', "  ! %.0f frames rejected by the learner (malformed or unexpected; see its log)", rej);
      n++;
    }
    if (auth > 0) {
      line(s, 'w', "  ! %.0f connections refused by CURVE authentication", auth);
      n++;
    }
    if (drop > 0) {
      line(s, 'w', "  ! %.0f segments dropped for policy lag (transport.max_policy_lag)", drop);
      n++;
    }
  }
  if (t->mt.malformed > 0) {
    line(s, 'w', "  ! %llu malformed lines skipped in metrics.jsonl", (unsigned long long)t->mt.malformed);
    n++;
  }
  if (!t->have_cfg) {
    line(s, 'w', "  ! config.yaml unreadable, budget unknown: %s", t->cfg_err);
    n++;
  }
  if (n == 0)
    line(s, 0, "  none");
}

static void render(const top_t *t, screen_t *s, double interval, int live) {
  s->n = 0;
  const double now_wall = hint_wall_s();
  char clock[16];
  const time_t tt = (time_t)now_wall;
  struct tm tmv;
  strftime(clock, sizeof clock, "%H:%M:%S", localtime_r(&tt, &tmv));
  const char *state = t->have_result ? "finished"
                      : !t->have_last ? "waiting"
                      : now_wall - t->mt.mtime > fmax(5.0, 3.0 * (t->have_cfg ? t->interval : 2.0)) ? "stale"
                                                                                                    : "running";
  if (t->have_cfg)
    line(s, 'h', "hint-top  %s: %s on %s %dx%d, %d actors x %d envs  [%s]  %s", t->run, t->algo, t->env, t->size,
         t->size, t->actors, t->envs, state, clock);
  else
    line(s, 'h', "hint-top  %s  [%s]  %s", t->dir, state, clock);
  line(s, 0, "run dir     %s", t->dir);
  if (!t->have_last) {
    if (t->mt.mtime == 0)
      line(s, 0, "waiting for %s (the learner writes it once the actors are connected)", t->mt.path);
    else
      line(s, 0, "waiting for the first metrics record in %s", t->mt.path);
    return;
  }
  const metrics_line_t *L = &t->last;
  const sample_t *now = hist_at(t, 0);
  char a[32], b[32], c[32], d[32], e[32];

  /* progress */
  const double steps = now->steps, budget = t->have_cfg ? t->budget : NAN;
  double rate = NAN;
  if (t->h_n >= 2) {
    const sample_t *old = hist_at(t, t->h_n - 1 < AVG_N ? t->h_n - 1 : AVG_N);
    if (now->elapsed > old->elapsed)
      rate = (now->steps - old->steps) / (now->elapsed - old->elapsed);
  } else {
    rate = now->sps;
  }
  char pbar[64], eta[32], el[32];
  const double frac = isfinite(budget) && budget > 0 ? steps / budget : NAN;
  bar(frac, 20, pbar, sizeof pbar);
  fmt_si(steps, a, sizeof a);
  fmt_si(budget, b, sizeof b);
  metrics_fmt_duration(now->elapsed, el, sizeof el);
  if (t->have_result)
    snprintf(eta, sizeof eta, "done");
  else
    metrics_fmt_duration(rate > 0 && isfinite(budget) ? (budget - steps) / rate : NAN, eta, sizeof eta);
  char pct[16];
  fmt_pct(isfinite(frac) && frac > 1 ? 1 : frac, pct, sizeof pct);
  line(s, 0, "progress    %s %6s  %s / %s env steps   elapsed %s   ETA %s", pbar, pct, a, b, el, eta);

  /* throughput */
  fmt_si(now->sps, a, sizeof a);
  fmt_si(now->elapsed > 0 ? now->steps / now->elapsed : NAN, b, sizeof b);
  line(s, 0, "throughput  %s env steps/s (run average %s)   %s segments/s   %s MB/s ingest   "
             "%s teacher updates/s",
       a, b, fmt_f(metrics_line_num(L, "segments_per_s"), 1, c, sizeof c),
       fmt_f(metrics_line_num(L, "ingest_mb_per_s"), 1, d, sizeof d),
       fmt_f(metrics_line_num(L, "teacher_updates_per_s"), 1, e, sizeof e));
  char spark[LINE_CAP];
  double mx;
  int used;
  int sw = s->width - 12 - 40; /* room for the "max ... records" note */
  sw = sw < 10 ? 10 : sw > HIST ? HIST : sw;
  sparkline(t, sw, s->utf8, spark, sizeof spark, &mx, &used);
  fmt_si(mx, a, sizeof a);
  line(s, 0, "            %s  max %s/s over the last %d records", spark, a, used);

  line(s, 'h', "warnings");
  warnings(t, now_wall, s);

  /* time split: learner left, actors right */
  line(s, 'h', "learner time split                        actor time split (mean over actors)");
  static const char *const lk[5] = {"frac_decode", "frac_teacher_update", "frac_targets", "frac_publish", "frac_idle"};
  static const char *const ln[5] = {"decode", "update", "targets", "publish", "idle"};
  static const char *const ak[5] = {"actor_frac_env", "actor_frac_inference", "actor_frac_update",
                                    "actor_frac_allreduce", "actor_wait_frac"};
  static const char *const an[5] = {"env", "inference", "update", "allreduce", "wait"};
  for (int i = 0; i < 5; i++) {
    char lb[64], ab[64];
    const double lv = metrics_line_num(L, lk[i]), av = metrics_line_num(L, ak[i]);
    bar(lv, 16, lb, sizeof lb);
    bar(av, 16, ab, sizeof ab);
    fmt_pct(lv, a, sizeof a);
    fmt_pct(av, b, sizeof b);
    line(s, 0, "  %-9s %s %6s       %-9s %s %6s", ln[i], lb, a, an[i], ab, b);
  }

  /* pipeline */
  char f[32];
  line(s, 0, "pipeline    inflight %s   policy lag %s   dropped (lag) %s   rejected frames %s   auth refused %s",
       fmt_f(metrics_line_num(L, "inflight"), 0, a, sizeof a),
       fmt_f(metrics_line_num(L, "policy_lag_mean"), 2, b, sizeof b),
       fmt_f(metrics_line_num(L, "dropped_lag"), 0, c, sizeof c),
       fmt_f(metrics_line_num(L, "rejected_frames"), 0, d, sizeof d),
       fmt_f(metrics_line_num(L, "auth_refused"), 0, f, sizeof f));

  /* success: training over the newest records, weighted by episodes */
  double wsum = 0, eps = 0;
  for (int i = 0; i < AVG_N && i < t->h_n; i++) {
    const sample_t *h = hist_at(t, i);
    if (isfinite(h->success) && h->episodes > 0) {
      wsum += h->success * h->episodes;
      eps += h->episodes;
    }
  }
  fmt_pct(eps > 0 ? wsum / eps : NAN, a, sizeof a);
  if (t->have_eval) {
    fmt_pct(metrics_line_num(&t->eval, "sampled_success"), b, sizeof b);
    fmt_pct(metrics_line_num(&t->eval, "greedy_success"), c, sizeof c);
    fmt_si(metrics_line_num(&t->eval, "env_steps"), d, sizeof d);
    fmt_pct(metrics_line_num(&t->eval, "reference_success"), e, sizeof e);
    line(s, 0, "success     training %s (%.0f episodes)   eval sampled %s  greedy %s  at %s steps "
               "(reference %s)",
         a, eps, b, c, d, e);
  } else {
    line(s, 0, "success     training %s (%.0f episodes)   eval: none yet", a, eps);
  }
  line(s, 0, "memory      learner rss %s MB", fmt_f(metrics_line_num(L, "rss_mb"), 0, a, sizeof a));

  /* per actor, wrapped */
  char row[LINE_CAP];
  int len = snprintf(row, sizeof row, "actors     ");
  int rows = 0;
  for (int k = 0; k < now->n_act; k++) {
    char item[48];
    fmt_si(now->act[k], a, sizeof a);
    const int il = snprintf(item, sizeof item, " #%d %s/s ", k + 1, a);
    if (len + il > s->width && len > 12) {
      if (++rows == 4) {
        snprintf(row + len, sizeof row - (size_t)len, " ... (+%d more)", now->n_act - k);
        break;
      }
      line(s, 0, "%s", row);
      len = snprintf(row, sizeof row, "           ");
    }
    len += snprintf(row + len, sizeof row - (size_t)len, "%s", item);
  }
  if (now->n_act == 0)
    snprintf(row + len, sizeof row - (size_t)len, " (no per-actor rates yet)");
  line(s, 0, "%s", row);

  line(s, 0, "%smetrics records %llu (malformed, skipped: %llu), evaluations %llu; refresh every %g s",
       live ? "q quits | " : "", (unsigned long long)t->mt.lines, (unsigned long long)t->mt.malformed,
       (unsigned long long)t->et.lines, interval);
}

/* ---- output ------------------------------------------------------------------ */

/* Bytes of s that fit in cols terminal columns (UTF-8: continuation bytes take none). */
static size_t fit(const char *s, int cols) {
  size_t i = 0;
  int c = 0;
  for (; s[i]; i++) {
    if (((unsigned char)s[i] & 0xC0) != 0x80 && c++ == cols)
      break;
  }
  return i;
}

static void draw_plain(const screen_t *s, FILE *out) {
  for (int i = 0; i < s->n; i++)
    fprintf(out, "%.*s\n", (int)fit(s->text[i], s->width), s->text[i]);
  fflush(out);
}

static void draw_live(const screen_t *s, int rows) {
  static char buf[MAX_LINES * (LINE_CAP + 32)];
  size_t j = 0;
  j += (size_t)snprintf(buf + j, sizeof buf - j, "\033[H");
  for (int i = 0; i < s->n && i < rows; i++) {
    const char *pre = s->style[i] == 'h' ? "\033[1m" : s->style[i] == 'w' ? "\033[1;31m"
                      : s->style[i] == 'g' ? "\033[32m" : "";
    j += (size_t)snprintf(buf + j, sizeof buf - j, "%s%.*s\033[0m\033[K%s", pre, (int)fit(s->text[i], s->width),
                          s->text[i], i + 1 < s->n && i + 1 < rows ? "\r\n" : "");
  }
  j += (size_t)snprintf(buf + j, sizeof buf - j, "\033[J");
  if (j > sizeof buf)
    j = sizeof buf;
  if (write(STDOUT_FILENO, buf, j) < 0) {
    /* the terminal is gone; the loop ends on the next signal or 'q' */
  }
}

static struct termios saved_tio;
static int tio_saved, screen_on;

static void restore_terminal(void) {
  if (screen_on) {
    static const char s[] = "\033[0m\033[?25h\033[?1049l";
    if (write(STDOUT_FILENO, s, sizeof s - 1) < 0) {
    }
    screen_on = 0;
  }
  if (tio_saved) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
    tio_saved = 0;
  }
}

static void start_terminal(void) {
  if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
    struct termios raw = saved_tio;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
      tio_saved = 1;
  }
  static const char s[] = "\033[?1049h\033[?25l\033[2J";
  if (write(STDOUT_FILENO, s, sizeof s - 1) < 0) {
  }
  screen_on = 1;
  atexit(restore_terminal);
}

/* Sleeps up to secs; returns 1 if the user pressed q. */
static int wait_key(double secs) {
  struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
  const int has_tty = tio_saved;
  const int r = poll(has_tty ? &p : NULL, has_tty ? 1 : 0, (int)(secs * 1000));
  if (r > 0 && (p.revents & POLLIN)) {
    char ch[16];
    const ssize_t n = read(STDIN_FILENO, ch, sizeof ch);
    for (ssize_t i = 0; i < n; i++)
      if (ch[i] == 'q' || ch[i] == 'Q')
        return 1;
  }
  return 0;
}

/* ---- --csv ----------------------------------------------------------------- */

typedef struct {
  int n;
  char keys[64][64];
  int seen[64];
  int print;             /* 0: first pass, only note which keys occur */
  unsigned long rows;
} csv_t;

static void csv_row(void *ctx, const metrics_line_t *l) {
  csv_t *c = ctx;
  const metrics_field_t *f[64];
  int any = 0;
  for (int i = 0; i < c->n; i++) {
    f[i] = metrics_line_find(l, c->keys[i]);
    if (f[i]) {
      c->seen[i] = 1;
      any |= f[i]->type != METRICS_JSON_NULL;
    }
  }
  if (!any || !c->print)
    return; /* nothing asked for is in this record */
  for (int i = 0; i < c->n; i++) {
    if (i)
      putchar(',');
    if (f[i] == NULL || f[i]->type == METRICS_JSON_NULL)
      continue; /* an empty field: gnuplot and spreadsheets read it as missing */
    if (f[i]->type == METRICS_JSON_STR) {
      putchar('"');
      for (const char *p = l->text + f[i]->str; *p; p++) {
        if (*p == '"')
          putchar('"');
        putchar(*p);
      }
      putchar('"');
    } else {
      printf("%.10g", f[i]->num);
    }
  }
  putchar('\n');
  c->rows++;
}

static int csv_main(const char *keys, const char *path) {
  static csv_t c;
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", keys);
  for (char *save = NULL, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
    if (c.n == 64 || strlen(k) >= sizeof c.keys[0]) {
      fprintf(stderr, "hint-top: --csv takes at most 64 keys of at most 63 characters\n");
      return EXIT_CLI;
    }
    snprintf(c.keys[c.n++], sizeof c.keys[0], "%s", k);
  }
  if (c.n == 0) {
    fprintf(stderr, "hint-top: --csv needs a comma-separated list of keys (e.g. env_steps,success)\n");
    return EXIT_CLI;
  }
  char file[4200];
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "hint-top: %s: %s\n", path, strerror(errno));
    return EXIT_RUNDIR;
  }
  if (S_ISDIR(st.st_mode))
    snprintf(file, sizeof file, "%s/metrics.jsonl", path);
  else
    snprintf(file, sizeof file, "%s", path);
  /* Two passes, so a mistyped key is an error before any output. */
  static metrics_tail_t tail;
  for (c.print = 0; c.print < 2; c.print++) {
    metrics_tail_init(&tail, file, 0);
    if (c.print) {
      for (int i = 0; i < c.n; i++)
        printf("%s%s", i ? "," : "", c.keys[i]);
      putchar('\n');
    }
    const int rc = metrics_tail_poll(&tail, csv_row, &c, NULL);
    if (rc < 0) {
      fprintf(stderr, "hint-top: cannot read %s: %s\n", file, rc == HINT_ENOENT ? "no such file" : strerror(errno));
      return EXIT_RUNDIR;
    }
    if (c.print)
      break;
    if (tail.lines == 0) {
      fprintf(stderr, "hint-top: %s has no records yet\n", file);
      continue; /* the header alone */
    }
    for (int i = 0; i < c.n; i++)
      if (!c.seen[i]) {
        fprintf(stderr, "hint-top: key '%s' is in no record of %s (keys of its last record: ", c.keys[i], file);
        for (int j = 0; j < tail.line.n && j < 12; j++)
          fprintf(stderr, "%s%s", j ? ", " : "", metrics_line_key(&tail.line, j));
        fprintf(stderr, "%s)\n", tail.line.n > 12 ? ", ..." : "");
        return 1;
      }
  }
  fflush(stdout);
  if (tail.malformed)
    fprintf(stderr, "hint-top: %s: skipped %llu malformed lines\n", file, (unsigned long long)tail.malformed);
  return ferror(stdout) ? EXIT_RUNDIR : 0;
}

/* ---- main -------------------------------------------------------------------- */

static void usage(FILE *f) {
  fputs("usage: hint-top RUN_DIR [--interval S] [--once]\n"
        "       hint-top --csv KEY[,KEY...] FILE|RUN_DIR\n"
        "A live terminal view of a HINT run directory (metrics.jsonl, eval.jsonl,\n"
        "config.yaml, result.json); q or Ctrl-C quits.\n"
        "  --interval S   seconds between refreshes (default 1)\n"
        "  --once         print one frame as plain text and exit\n"
        "  --csv KEYS     print these keys of every record of a JSON-lines file (a run\n"
        "                 directory means its metrics.jsonl) as CSV with a header;\n"
        "                 null or absent values are empty fields\n"
        "Exit codes: 0 ok, 1 a --csv key is in no record, 2 bad command line,\n"
        "5 run directory or file missing or unreadable.\n",
        f);
}

int main(int argc, char **argv) {
  const char *dir = NULL, *csv = NULL;
  double interval = 1.0;
  int once = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--once") == 0) {
      once = 1;
    } else if (strcmp(a, "--interval") == 0 || strcmp(a, "--csv") == 0) {
      if (i + 1 >= argc) {
        fprintf(stderr, "hint-top: %s needs a value (see --help)\n", a);
        return EXIT_CLI;
      }
      const char *v = argv[++i];
      if (a[2] == 'c') {
        csv = v;
        continue;
      }
      char *end;
      errno = 0;
      interval = strtod(v, &end);
      if (errno || end == v || *end || !(interval >= 0.1 && interval <= 3600)) {
        fprintf(stderr, "hint-top: --interval '%s' is not a number of seconds in [0.1, 3600]\n", v);
        return EXIT_CLI;
      }
    } else if (a[0] == '-' && a[1] != '\0') {
      fprintf(stderr, "hint-top: unknown option '%s' (see --help)\n", a);
      return EXIT_CLI;
    } else if (dir == NULL) {
      dir = a;
    } else {
      fprintf(stderr, "hint-top: more than one run directory ('%s' and '%s')\n", dir, a);
      return EXIT_CLI;
    }
  }
  if (dir == NULL) {
    usage(stderr);
    return EXIT_CLI;
  }
  if (csv)
    return csv_main(csv, dir);

  struct stat st;
  if (stat(dir, &st) != 0) {
    fprintf(stderr, "hint-top: run directory %s: %s\n", dir, strerror(errno));
    return EXIT_RUNDIR;
  }
  if (!S_ISDIR(st.st_mode)) {
    fprintf(stderr, "hint-top: %s is not a directory (give the run directory, e.g. runs/NAME)\n", dir);
    return EXIT_RUNDIR;
  }
  static top_t t;
  snprintf(t.dir, sizeof t.dir, "%s", dir);
  char path[4200];
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  metrics_tail_init(&t.mt, path, INITIAL_TAIL_BYTES);
  snprintf(path, sizeof path, "%s/eval.jsonl", dir);
  metrics_tail_init(&t.et, path, INITIAL_TAIL_BYTES);

  static screen_t s;
  setlocale(LC_CTYPE, "");
  s.utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
  char msg[4600];
  if (once) {
    if (refresh(&t, msg, sizeof msg) != 0) {
      fprintf(stderr, "hint-top: %s\n", msg);
      return EXIT_RUNDIR;
    }
    if (t.mt.mtime == 0) {
      fprintf(stderr, "hint-top: %s does not exist (not a run directory, or the job has not started yet)\n",
              t.mt.path);
      return EXIT_RUNDIR;
    }
    const char *cols = getenv("COLUMNS");
    s.width = cols && atoi(cols) >= 40 ? atoi(cols) : 120;
    render(&t, &s, interval, 0);
    draw_plain(&s, stdout);
    return 0;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sigaction(SIGWINCH, &sa, NULL); /* interrupts the wait: redraw at the new size */
  const int tty = isatty(STDOUT_FILENO);
  if (tty)
    start_terminal();
  int code = 0;
  for (;;) {
    if (got_signal == SIGWINCH)
      got_signal = 0;
    if (got_signal)
      break;
    if (refresh(&t, msg, sizeof msg) != 0) {
      code = EXIT_RUNDIR;
      break;
    }
    struct winsize ws;
    int rows = 40;
    s.width = 120;
    if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
      s.width = ws.ws_col;
      rows = ws.ws_row;
    }
    render(&t, &s, interval, tty);
    if (tty) {
      draw_live(&s, rows);
    } else {
      draw_plain(&s, stdout); /* a pipe or a file: frames one after another */
      fputs("\n", stdout);
      fflush(stdout);
    }
    if (wait_key(interval))
      break;
  }
  restore_terminal();
  if (code) {
    fprintf(stderr, "hint-top: %s\n", msg);
    return code;
  }
  return 0;
}
