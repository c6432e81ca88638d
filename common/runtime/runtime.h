/* runtime.h: what the learner and the actors must agree on at run time.
 *
 * Schedules (teacher-driven fraction, KD weight) are pure functions of the
 * global env-step count, so every rank computes the same value without
 * talking. The run directory layout and the checkpoint protocol live here too:
 *
 *   <run.dir>/<run.name>/
 *     config.yaml       effective config        metrics.jsonl, eval.jsonl
 *     ckpt/partial-<id>/   being written: actor-<rank>.ckpt, learner.ckpt
 *     ckpt/ckpt-<id>/      complete (the learner renames partial-<id> once
 *                          every file is on disk; a rename is atomic)
 * <id> is the global env-step count when the checkpoint was requested, so
 * "newest" is "largest id". A checkpoint is valid only if its directory is
 * complete and every file in it reads back with matching checksums and config
 * hash; resume takes the newest valid one and names every one it skips.
 */
#ifndef HINT_RUNTIME_RUNTIME_H
#define HINT_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "common/wire/boot.h"

/* An actor's checkpointed counters. */
typedef struct {
  uint64_t seq;             /* next segment number */
  uint64_t env_steps;       /* this actor's env steps */
  uint64_t policy_version;  /* student updates applied */
  uint64_t teacher_version; /* newest teacher parameters received */
  uint64_t updates;
  uint64_t checksums_ok;
} actor_counters_t;

/* What algo.name implies for the rest of the config, applied by every rank
 * after loading (and by hint-config when printing): kd is the classic
 * baseline, a FLAT teacher trained on its own data with every guidance kept,
 * whatever the teacher.* and filter.* keys say; mappo and ippo ignore the
 * teacher keys; maddpg runs without communication (student.comm none). */
void runtime_apply_algo(hint_config_t *cfg);
/* 1 for the off-policy algorithms (qmix, maddpg): students trained on the
 * learner and published to the actors, which only act. */
int runtime_offpolicy(const hint_config_t *cfg);
/* qmix exploration: offpolicy.eps_start -> eps_end linearly over
 * offpolicy.eps_anneal_env_steps. */
double runtime_epsilon(const hint_config_t *cfg, uint64_t global_env_steps);

/* interaction.teacher_env_frac annealed linearly over anneal_env_steps. */
double runtime_teacher_frac(const hint_config_t *cfg, uint64_t global_env_steps);
/* lambda_t: 0 before the teacher warm-up ends, then kd_coef_start ->
 * kd_coef_end linearly over student.kd_anneal_env_steps (counted from 0). */
double runtime_kd_coef(const hint_config_t *cfg, uint64_t global_env_steps);

/* "<run.dir>/<run.name>" into buf. */
void runtime_run_dir(const hint_config_t *cfg, char *buf, size_t cap);
/* Paths of checkpoint id: the partial directory, an actor's file in it. */
void runtime_ckpt_partial_dir(const hint_config_t *cfg, uint64_t id, char *buf, size_t cap);
void runtime_ckpt_final_dir(const hint_config_t *cfg, uint64_t id, char *buf, size_t cap);
void runtime_ckpt_actor_path(const hint_config_t *cfg, uint64_t id, int rank, char *buf, size_t cap);

/* mkdir -p of path's parent directory. 0 or HINT_EIO/HINT_ENOSPC with err. */
int runtime_mkdirs_for(const char *path, char *err, size_t cap);
/* mkdir -p of dir itself. */
int runtime_mkdirs(const char *dir, char *err, size_t cap);

/* Newest valid complete checkpoint of this run for n_actors actors into
 * out_dir (empty string when there is none). Invalid ones are logged with
 * the reason and skipped. Returns 0 (found or not) or HINT_EIO. */
int runtime_find_resume(const hint_config_t *cfg, int n_actors, char *out_dir, size_t cap,
                        uint64_t *out_id);
/* Renames every complete checkpoint newer than id (ones find_resume skipped
 * as invalid) to ckpt-<id>.invalid, logging each: set aside, never deleted,
 * and no longer "newest" for pruning or the next resume. */
void runtime_set_aside_newer(const hint_config_t *cfg, uint64_t id);
/* Removes complete checkpoints beyond the newest `keep`, and partial ones
 * older than the newest complete one. */
void runtime_prune(const hint_config_t *cfg, int keep);

/* Collective over the world: the learner's dir (may be "") reaches every
 * actor. 0 or HINT_EMPI. */
int runtime_bcast_resume(const boot_t *b, char *dir, size_t cap);

/* "hint <version> (<compiler date>)". */
const char *runtime_build_id(void);

#endif
