/* offp_batch.h: a batch of transitions for the learner's off-policy student
 * algorithms (qmix, maddpg).
 *
 * One row is one (step, env) pair with all its agents, taken from actors'
 * segments (common/wire/msg.h): obs[t], state[t], actions[t], the team reward
 * of step t, and the next row obs[t+1], state[t+1]. A row cut by the time limit
 * (truncated) bootstraps from the pre-reset state; a terminal row (done) does not
 * bootstrap at all. All arrays are contiguous and owned by the caller.
 *
 *   obs        f32 [n][A][O]     local observations (O = obs_dim, batch stride)
 *   state      f32 [n][S]        global state
 *   actions    i32 [n][A]        the actions taken
 *   reward     f32 [n]           team reward
 *   done       f32 [n]           1: terminal (no bootstrap), else 0
 *   next_obs   f32 [n][A][O]     observations after the step (pre-reset where truncated)
 *   next_state f32 [n][S]
 *   avail, next_avail u8 [n][A][NA] or NULL (all actions available)
 *
 * Where the pre-reset observation of a truncated row is not on the wire
 * (segments carry only trunc_state), next_obs of that row is the reset
 * observation and the row is marked in `trunc_obs_missing` (may be NULL):
 * algorithms bootstrap such rows from the state-conditioned parts only, or
 * treat them as documented in their own file.
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
} offp_batch_t;

#endif
