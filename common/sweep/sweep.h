/* sweep.h: a sweep file and the runs it expands to.
 *
 * A sweep file (configs/sweeps/NAME.yaml) names a base config and how to vary
 * it:
 *
 *   name: fc10x10-team-size        # the sweep directory is <out>/<name>
 *   base: ../fire_commander_10x10.yaml   # relative to the sweep file
 *   set:                           # overrides applied to every run
 *     run.total_env_steps: 300000
 *   grid:                          # cartesian product of these lists
 *     algo.name: [hint, mappo]
 *     run.seed: [1, 2]
 *   zip:                           # lists varied together (equal lengths)
 *     env.perception_agents: [2, 3, 4, 6]
 *     env.action_agents: [1, 2, 3, 4]
 *
 * Keys may also be written nested (algo: {name: [hint, mappo]}); a value may
 * be a flow sequence (filter.modes: [[value], []]). Runs are the product of
 * the grid lists (first key slowest) with the zip rows (fastest). The varied
 * keys are the grid keys then the zip keys, in file order; a run's id is
 * "key=value,key=value,..." over them ("algo.name" shortened to "algo";
 * characters a directory name cannot safely hold become '_'; ids longer than
 * SWEEP_ID_MAX end in a hash), its directory <out>/<name>/<id>, its plan line
 *
 *   BASE --set k=v ... --set run.dir=<out>/<name> --set run.name=<id>
 *
 * with BASE absolute and the overrides in order: set, extra (command line),
 * varied keys, run.dir, run.name. Plan lines are split on white space by
 * their consumers (deploy/hint-sweep, deploy/slurm/hint-array.sbatch), so no
 * path or value may contain white space, quotes or shell metacharacters.
 *
 * Every problem is reported with the sweep file, line and key, and stops the
 * load: nothing is half-expanded.
 */
#ifndef HINT_SWEEP_SWEEP_H
#define HINT_SWEEP_SWEEP_H

#include <stddef.h>
#include <stdint.h>

#define SWEEP_MAX_RUNS 100000
#define SWEEP_MAX_KEYS 64
#define SWEEP_ID_MAX 200 /* longer ids are shortened and suffixed with a hash */

/* One key with its list of values (a `set` key has exactly one). */
typedef struct {
  char *key;
  char **values;
  int n_values;
  int line; /* in the sweep file */
} sweep_axis_t;

typedef struct {
  char *id;       /* directory name inside the sweep directory */
  char *dir;      /* <out>/<name>/<id> */
  char *line;     /* the plan line */
  const char *values[SWEEP_MAX_KEYS]; /* one per varied key, borrowed from the axes */
  int64_t total_env_steps; /* filled by sweep_validate, else 0 */
  int actors;              /* actor.count, filled by sweep_validate, else 0 */
} sweep_run_t;

typedef struct {
  char *path;     /* the sweep file as given */
  char *name;
  char *base;     /* absolute path of the base config */
  char *dir;      /* absolute <out>/<name> */
  sweep_axis_t *set, *grid, *zip;
  int n_set, n_grid, n_zip;
  char **extra;   /* extra overrides "k=v" (command line) */
  int n_extra;
  const char *keys[SWEEP_MAX_KEYS]; /* varied keys: grid then zip */
  int n_keys;
  sweep_run_t *runs;
  int n_runs;
} sweep_t;

/* Loads and expands the sweep file at path. out is the parent of the sweep
 * directory (relative paths are taken from the current directory); extra
 * holds n_extra "key=value" overrides added to every run after `set`.
 * On success *out_sweep owns everything (free with sweep_destroy). On
 * failure returns HINT_ENOENT, HINT_EPARSE, HINT_ECONFIG, HINT_EUNKNOWN_KEY,
 * HINT_EDUPKEY, HINT_ETYPE, HINT_ERANGE or HINT_ENOMEM with a message naming
 * file, line and key in err. Does not touch the file system beyond reading. */
int sweep_load(sweep_t **out_sweep, const char *path, const char *out,
               const char *const *extra, int n_extra, char *err, size_t err_cap);

/* Validates every run's effective config exactly as hint-config does (schema,
 * bounds, cross-key rules, environment feasibility) and fills each run's
 * total_env_steps and actors. Returns 0, or the config error of the first
 * bad run, with err naming the sweep file (and line, for a key the file
 * sets), the run and the key. */
int sweep_validate(sweep_t *s, char *err, size_t err_cap);

void sweep_destroy(sweep_t **sp);

/* Index of a varied key, or -1. */
int sweep_key_index(const sweep_t *s, const char *key);

/* Writes the plan lines of the runs for which pick(run) is non-zero (all when
 * pick is NULL) to path atomically (a temporary file renamed into place),
 * creating parent directories. Returns the number of lines written, or
 * HINT_EIO with err naming the path and the reason. */
int sweep_write_plan(const sweep_t *s, const char *path, int (*pick)(const sweep_run_t *r),
                     char *err, size_t err_cap);

/* 1 if run r has finished (its directory holds result.json). */
int sweep_run_done(const sweep_run_t *r);
/* 1 if run r has a complete checkpoint (ckpt/ckpt-* exists). */
int sweep_run_has_ckpt(const sweep_run_t *r);

#endif
