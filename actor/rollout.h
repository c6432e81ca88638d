/* rollout.h: one segment of experience on an actor, and the student update.
 *
 * A rollout holds T steps of E env copies (the segment sent to the learner),
 * the learner's targets for it once they arrive, and the advantages computed
 * from it. The actor keeps two and alternates, so it can collect segment k+1
 * while the learner still works on segment k. Env copies [0, n_teacher) are
 * driven by the teacher for the whole segment, the rest by the students;
 * only student-driven pairs (step, env) train the students.
 *
 * Truncated episodes (time limit) are bootstrapped as terminal: the global
 * state carries step/episode_limit, so for the centralized critic the time
 * limit is part of the state and the episode really ends there; trunc_value
 * on the wire is therefore 0.
 */
#ifndef HINT_ACTOR_ROLLOUT_H
#define HINT_ACTOR_ROLLOUT_H

#include <mpi.h>
#include <stdint.h>

#include "actor/student.h"
#include "common/config/config.h"
#include "common/env/env.h"
#include "common/wire/msg.h"

typedef struct {
  int T, E, A, O, S, NA, C, V;
  float *obs;          /* [T+1][E][A][O] */
  float *state;        /* [T+1][E][S] */
  int32_t *actions;    /* [T][E][A] */
  float *logp;         /* [T][E][A] behaviour log-prob */
  float *rewards;      /* [T][E] */
  uint8_t *dones;      /* [T][E] */
  uint8_t *truncated;  /* [T][E] */
  uint8_t *status;     /* [T][E] ENV_* */
  float *value;        /* [T+1][E] V_S on the wire (mean of agents for ippo) */
  float *vagent;       /* [T+1][E][V] the critic's outputs */
  float *trunc_value;  /* [T][E] zeros (see above) */
  uint8_t *driver;     /* [T][E] */
  float *comm;         /* [T][E][A][C] when communication is on */
  int32_t *goals;      /* [T][E][A] teacher goals (-1 none) */
  float *goal_logp;    /* [T][E][A] */
  /* targets from the learner */
  float *pi;           /* [T][E][A][NA] */
  float *mask;         /* [T][E][A] */
  float *vT;           /* [T][E] */
  int has_targets;
  uint64_t teacher_version_targets;
  /* header */
  uint64_t seq, policy_version, teacher_version, env_steps;
  int n_teacher;
  /* advantages */
  float *adv;          /* [T][E][A] */
  float *ret;          /* [T][E][V] */
  void *block;
} rollout_t;

int rollout_init(rollout_t *r, const hint_config_t *cfg, const env_dims_t *dims, int value_width,
                 int comm_dim);
void rollout_fini(rollout_t *r);

/* The wire view of r (goals only when with_goals). */
void rollout_segment_view(const rollout_t *r, uint32_t actor_rank, int with_goals,
                          msg_segment_t *m);
/* Copies the targets of a message into r (mask u8 -> float). */
void rollout_set_targets(rollout_t *r, const msg_targets_t *t);

/* Scratch for the update, sized once for a whole segment. */
typedef struct {
  int max_pairs;
  int *pairs;          /* (t * E + e) of the student-driven pairs */
  float *obs, *state, *old_logp, *adv, *ret, *old_value, *teacher, *mask;
  int32_t *actions;
  void *block;
} update_ws_t;

int update_ws_init(update_ws_t *w, const rollout_t *r);
void update_ws_fini(update_ws_t *w);

typedef struct {
  student_stats_t loss;
  double grad_norm;
  double t_allreduce;  /* seconds in the gradient allreduces */
  int steps;           /* Adam steps taken */
  int pairs;
} update_stats_t;

/* GAE over the student-driven pairs, then student.epochs x
 * student.minibatches PPO steps: each minibatch's gradients are summed over
 * the actors' communicator (MPI_Allreduce), divided by the actor count, and
 * applied by Adam on every actor alike. kd_coef > 0 uses r's targets.
 * Returns 0, HINT_EMPI, or HINT_EDIVERGED (non-finite gradients). */
int rollout_update(rollout_t *r, student_t *s, update_ws_t *w, const hint_config_t *cfg,
                   float kd_coef, MPI_Comm actors, int n_actors, hint_rng_t *rng,
                   update_stats_t *out);

#endif
