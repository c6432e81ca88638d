/* hint-sweep-plan: expand and validate a sweep file (the engine behind
 * deploy/hint-sweep plan|run|submit).
 *
 *   hint-sweep-plan [options] SWEEP.yaml
 *     --out DIR            parent of the sweep directory (default: runs)
 *     --set key=value      one more override for every run (repeatable)
 *     --write              also write <out>/<name>/plan.txt (every run)
 *     --pending-file FILE  also write the plan lines of the unfinished runs
 *                          (no result.json yet) to FILE; prints their count
 *     --tsv                print one row per run instead of plan lines:
 *                          index, state (done|partial|new), id, run dir,
 *                          run.total_env_steps, actor.count, plan line
 *     --dir                print only the sweep directory
 *
 * Every run is validated like hint-config does (schema, bounds, cross-key
 * rules, environment feasibility) before anything is printed or written.
 * Exit codes: 0 ok, 1 usage, 2 invalid sweep file or run config, 5 a plan
 * file cannot be written.
 */
#include "common/core/error.h"
#include "common/sweep/sweep.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SET 128

static void usage(FILE *out) {
  fputs("usage: hint-sweep-plan [--out DIR] [--set key=value]... [--write]\n"
        "                       [--pending-file FILE] [--tsv | --dir] SWEEP.yaml\n",
        out);
}

static int pending(const sweep_run_t *r) { return !sweep_run_done(r); }

static const char *state_of(const sweep_run_t *r) {
  if (sweep_run_done(r))
    return "done";
  return sweep_run_has_ckpt(r) ? "partial" : "new";
}

int main(int argc, char **argv) {
  const char *path = NULL, *out = "runs", *pending_file = NULL;
  const char *sets[MAX_SET];
  int n_set = 0, write = 0, tsv = 0, dir_only = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int has_val = i + 1 < argc;
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--out") == 0 && has_val) {
      out = argv[++i];
    } else if (strcmp(a, "--set") == 0 && has_val) {
      if (n_set == MAX_SET) {
        fprintf(stderr, "hint-sweep-plan: more than %d --set options\n", MAX_SET);
        return 1;
      }
      sets[n_set++] = argv[++i];
    } else if (strcmp(a, "--pending-file") == 0 && has_val) {
      pending_file = argv[++i];
    } else if (strcmp(a, "--write") == 0) {
      write = 1;
    } else if (strcmp(a, "--tsv") == 0) {
      tsv = 1;
    } else if (strcmp(a, "--dir") == 0) {
      dir_only = 1;
    } else if (a[0] == '-') {
      fprintf(stderr, "hint-sweep-plan: unknown option or missing value: '%s'\n", a);
      usage(stderr);
      return 1;
    } else if (path != NULL) {
      fprintf(stderr, "hint-sweep-plan: more than one sweep file ('%s' and '%s')\n", path, a);
      return 1;
    } else {
      path = a;
    }
  }
  if (path == NULL) {
    fprintf(stderr, "hint-sweep-plan: no sweep file given\n");
    usage(stderr);
    return 1;
  }
  if (out[0] == '\0') {
    fprintf(stderr, "hint-sweep-plan: --out needs a directory\n");
    return 1;
  }
  char err[2048];
  sweep_t *s = NULL;
  if (sweep_load(&s, path, out, sets, n_set, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "hint-sweep-plan: %s\n", err);
    return 2;
  }
  if (dir_only) {
    printf("%s\n", s->dir);
    sweep_destroy(&s);
    return 0;
  }
  if (sweep_validate(s, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "hint-sweep-plan: %s\n", err);
    sweep_destroy(&s);
    return 2;
  }
  if (write) {
    char plan[PATH_MAX];
    snprintf(plan, sizeof plan, "%s/plan.txt", s->dir);
    if (sweep_write_plan(s, plan, NULL, err, sizeof err) < 0) {
      fprintf(stderr, "hint-sweep-plan: %s\n", err);
      sweep_destroy(&s);
      return 5;
    }
  }
  if (pending_file != NULL) {
    int n = sweep_write_plan(s, pending_file, pending, err, sizeof err);
    if (n < 0) {
      fprintf(stderr, "hint-sweep-plan: %s\n", err);
      sweep_destroy(&s);
      return 5;
    }
    printf("%d\n", n);
    sweep_destroy(&s);
    return 0;
  }
  for (int i = 0; i < s->n_runs; i++) {
    const sweep_run_t *r = &s->runs[i];
    if (tsv)
      printf("%d\t%s\t%s\t%s\t%lld\t%d\t%s\n", i + 1, state_of(r), r->id, r->dir,
             (long long)r->total_env_steps, r->actors, r->line);
    else
      printf("%s\n", r->line);
  }
  int rc = fflush(stdout) == 0 ? 0 : 5;
  sweep_destroy(&s);
  return rc;
}
