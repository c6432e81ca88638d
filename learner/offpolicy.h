/* offpolicy.h: the learner's off-policy student training (qmix, maddpg).
 *
 * For these algorithms the students are trained on the learner, not on the
 * actors: the actors act with the published student parameters (qmix:
 * epsilon-greedy on the agent Q-networks; maddpg: sampling the actors'
 * softmax) and stream segments; the learner keeps a replay of transitions,
 * takes gradient steps on uniform samples of it, and publishes the whole
 * student arena (MSG_STUDENT_PARAMS, the same PUB path as teacher
 * parameters). This module owns that student (a student_t built with the
 * actors' config, dimensions and seed, so its arena layout and initial
 * values are the actors'), the replay, the sampling RNG and the algorithm
 * (learner/qmix.h or learner/maddpg.h, chosen by algo.name).
 *
 * Replay. A ring of whole segments (so a transition's next observation is
 * the segment's next row and is stored once), capacity
 * ceil(offpolicy.replay_transitions / (T * E)) segments; the oldest segment
 * is overwritten. Transition (t, e) of a stored segment is
 *   obs[t][e], state[t][e], actions[t][e], rewards[t][e],
 *   done = dones[t][e] | truncated[t][e],
 *   next_obs[t+1][e], next_state[t+1][e], avail[t][e], avail[t+1][e],
 *   trunc_obs_missing = truncated[t][e].
 * Time-limit cuts are terminal (done = 1), as for every other learner in this
 * system (teacher.h, rollout.h): both environments put step/episode_limit in
 * the global state, the episode really ends at the limit (a timeout is a
 * failure), so for the state-conditioned Q_tot / centralized critics the
 * target without bootstrap is exact. The agent networks see no clock; that
 * is the algorithm's partial observability, not a bias of the target. The
 * pre-reset observation is not on the wire (obs[t+1] is the next episode's
 * first observation), which is why such rows are also marked
 * trunc_obs_missing; segments' optional trunc_state is not needed.
 *
 * Determinism: segments are added in the order the caller gives (sync mode:
 * rank order) and batches are drawn from this module's RNG, so a seeded
 * sync run is bit-for-bit reproducible; the RNG, counters and (with
 * offpolicy.ckpt_replay) the replay are checkpointed, so a resumed run is
 * too.
 *
 * Allocation happens at create (and in offpolicy_ckpt_load's scratch).
 */
#ifndef HINT_LEARNER_OFFPOLICY_H
#define HINT_LEARNER_OFFPOLICY_H

#include <stddef.h>
#include <stdint.h>

#include "actor/student.h"
#include "common/config/config.h"
#include "common/env/env.h"
#include "learner/offp_batch.h"

typedef struct offpolicy offpolicy_t;

/* One segment to add (aligned arrays; T and E must be the config's). */
typedef struct {
  int T, E;
  const float *obs;          /* [T+1][E][A][O] */
  const float *state;        /* [T+1][E][S] */
  const int32_t *actions;    /* [T][E][A] */
  const float *rewards;      /* [T][E] */
  const uint8_t *dones;      /* [T][E] */
  const uint8_t *truncated;  /* [T][E] or NULL */
  const uint8_t *avail;      /* [T+1][E][A][NA] or NULL (all available) */
} offp_seg_t;

/* Builds the student, the algorithm (algo.name qmix or maddpg) and the
 * replay for cfg/dims. seed is run.seed (the student's initial values are
 * the actors'). Returns 0, HINT_EINVAL (not an off-policy algo.name, bad
 * dims or hyperparameters) or HINT_ENOMEM. cfg is borrowed. */
int offpolicy_create(offpolicy_t **out, const hint_config_t *cfg, const env_dims_t *dims,
                     uint64_t seed);
/* NULL-safe; clears *op. */
void offpolicy_destroy(offpolicy_t **op);

/* The trained student (its arena is what gets published). */
student_t *offpolicy_student(offpolicy_t *op);

/* Copies a segment into the replay. Returns 0 or HINT_ESHAPE (T or E
 * differ from the config's). */
int offpolicy_add(offpolicy_t *op, const offp_seg_t *seg);
/* Transitions stored. */
int64_t offpolicy_rows(const offpolicy_t *op);
/* 1 once the replay holds offpolicy.warmup_transitions (and at least one). */
int offpolicy_ready(const offpolicy_t *op);

/* Up to `steps` gradient steps on batches of offpolicy.batch_size drawn
 * uniformly (with replacement) from the replay; none before offpolicy_ready.
 * st (may be NULL) is ADDED to (see offp_stats_t). Returns 0 or the
 * algorithm's error (HINT_EDIVERGED: that step changed nothing). */
int offpolicy_train(offpolicy_t *op, int steps, offp_stats_t *st);

/* Publishing: the version counts publishes. due: at least
 * offpolicy.publish_every steps since the last publish; pending: any. */
int offpolicy_publish_due(const offpolicy_t *op);
int offpolicy_publish_pending(const offpolicy_t *op);
/* Records a publish; returns the new version. */
uint64_t offpolicy_published(offpolicy_t *op);
uint64_t offpolicy_version(const offpolicy_t *op);
/* Gradient steps taken. */
uint64_t offpolicy_updates(const offpolicy_t *op);

/* Gathers the transitions with the given replay indices (0 <= idx <
 * offpolicy_rows, in ring order: index i is row (i mod T*E) of the i / (T*E)-th
 * slot, row r = t * E + e) into the module's batch buffers and points *out at
 * them (valid until the next call). n <= offpolicy.batch_size. */
int offpolicy_gather(offpolicy_t *op, const int64_t *idx, int n, offp_batch_t *out);

/* Checkpoint blob: magic "OFFP", version, counters, RNG, the student arena
 * (with Adam), the algorithm's blob, and the replay (empty unless
 * offpolicy.ckpt_replay). load returns 0, HINT_ETRUNC, HINT_EMAGIC,
 * HINT_EVERSION, HINT_ESHAPE, HINT_EPARSE or HINT_ENOMEM. */
size_t offpolicy_ckpt_size(const offpolicy_t *op);
int offpolicy_ckpt_save(const offpolicy_t *op, void *buf, size_t cap, size_t *len);
int offpolicy_ckpt_load(offpolicy_t *op, const void *buf, size_t len);

#endif
