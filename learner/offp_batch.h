/* offp_batch.h: a batch of transitions for the learner's off-policy student
 * algorithms (qmix, maddpg).
 *
 * One row is one (step, env) pair with all its agents, taken from actors'
 * segments (common/wire/msg.h) by learner/offpolicy.c: obs[t], state[t],
 * actions[t], the team reward of step t, and the next row obs[t+1],
 * state[t+1]. A terminal row (done) does not bootstrap at all. offpolicy.c
 * makes time-limit cuts terminal (the state carries step/episode_limit; see
 * offpolicy.h) and marks them in trunc_obs_missing, since their next_obs is
 * the next episode's first observation. All arrays are contiguous and owned
 * by the caller.
 *
 *   obs        f32 [n][A][O]     local observations (O = obs_dim, batch stride)
 *   state      f32 [n][S]        global state
 *   actions    i32 [n][A]        the actions taken
 *   reward     f32 [n]           team reward (m-step rows: the discounted sum
 *                                of rewards t .. t+m-1)
 *   done       f32 [n]           1: terminal (no bootstrap), else 0
 *   next_obs   f32 [n][A][O]     observations after the step (t+m for m-step rows)
 *   next_state f32 [n][S]
 *   avail, next_avail u8 [n][A][NA] or NULL (all actions available)
 *   trunc_obs_missing u8 [n] or NULL: next_obs is not the pre-cut observation
 *   discount   f32 [n] or NULL:  the bootstrap's discount gamma^m of m-step
 *                                rows (offpolicy.nstep > 1); NULL: 1-step rows,
 *                                the algorithm's gamma. Only qmix supports it;
 *                                offpolicy.c passes NULL to the others.
 */
#ifndef HINT_LEARNER_OFFP_BATCH_H
#define HINT_LEARNER_OFFP_BATCH_H

#include <stdint.h>

typedef struct {
  int n;
  const float *obs, *state;
  const int32_t *actions;
  const float *reward, *done;
  const float *next_obs, *next_state;
  const uint8_t *avail, *next_avail;
  const uint8_t *trunc_obs_missing;
  const float *discount;
} offp_batch_t;

/* Statistics of one gradient step of an off-policy algorithm (qmix_update,
 * maddpg_update fill it; the caller averages over steps for metrics). */
typedef struct {
  double loss;       /* TD loss (qmix) / critic loss (maddpg) */
  double q_mean;     /* mean Q_tot (qmix) / mean critic Q (maddpg) on the batch */
  double grad_norm;  /* global gradient norm before clipping */
  double actor_loss; /* maddpg actor loss; 0 for qmix */
  int steps;         /* gradient steps these figures cover */
} offp_stats_t;

#endif
