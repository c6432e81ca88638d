/* marine.h: MARINE ("replenishment at sea"), one env copy.
 *
 * Behaviour is environments.md, "MARINE". R routing ships then L logistics
 * ships, Discrete(5) for both; routing ships must all reach one destination
 * in the last column before their fuel runs out; logistics ships refuel the
 * routing ships they share a cell with, more in calmer water. With
 * enemies > 0, patrols sweep fixed lanes and sink unescorted routing ships.
 *
 * Choices beyond the spec text (marked in the code too):
 * - A connected logistics ship's reward is set to 0.05 * intensity (it
 *   replaces the -0.05 every agent starts at, as a routing ship's distance
 *   term does).
 * - Patrols: a lane is a row or column segment of 2..size cells; a patrol
 *   moves one cell per step after the ships and bounces at the ends. A
 *   routing ship not yet arrived is lost when it shares a cell with a patrol
 *   and no logistics ship is on that cell or 4-adjacent to it.
 * - The wave frame an episode plays at step s is t0 + s for a random window
 *   start t0; obs and state show the frame of the step just taken (t0 at
 *   reset); privileged extras add frames +1..+k.
 *
 * Local observation (obs_dim, both classes):
 *   own cell index (row*size+col) in B = bit_length(size^2) bits, MSB first;
 *   destination cell index in B bits; own fuel in bit_length(size) bits
 *   (zeros for logistics ships; the fuel before this step's burn and refuel);
 *   then (2v+1)^2 window cells, row-major, each with n_agents + 4 (+1 with
 *   enemies) channels: one-hot presence of each agent index, outside-map,
 *   destination, intensity level as 2 bits (MSB first), [patrol].
 * Global state:
 *   [row, col] x (R + L), destination [row, col], fuel x R (same lag as the
 *   obs), [row, col] x enemies, step/episode_limit;
 *   privileged extras: intensity (level/3) of the current frame and the next
 *   privileged_frames frames, size^2 each.
 */
#ifndef HINT_ENV_MARINE_H
#define HINT_ENV_MARINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/env/waves.h"

#define MARINE_N_ACTIONS 5
#define MARINE_MAX_ENEMIES 64

typedef struct {
  /* config (read-only after init) */
  int size, n_r, n_l, n, n_e, vision, window, limit, privileged, pframes;
  int obs_dim, state_dim, bits_cell, bits_fuel, n_ch, max_fuel;
  int refuel[4];          /* fuel a logistics ship transfers per level */
  const waves_t *waves;   /* shared, read-only */
  /* episode state */
  hint_rng_t rng;
  int step, t0;
  const uint8_t *frame;   /* [size^2] levels of the last step's frame */
  int16_t pos[ENV_MAX_AGENTS][2];
  int dest_r, dest_c;
  int fuel[ENV_MAX_AGENTS];      /* routing ships */
  int fuel_obs[ENV_MAX_AGENTS];  /* what obs/state show: fuel before the last burn */
  uint8_t arrived[ENV_MAX_AGENTS];
  int16_t e_pos[MARINE_MAX_ENEMIES][2];
  int16_t e_lo[MARINE_MAX_ENEMIES], e_hi[MARINE_MAX_ENEMIES];
  int8_t e_axis[MARINE_MAX_ENEMIES], e_dir[MARINE_MAX_ENEMIES];
  uint16_t *perm;         /* [size^2] scratch permutation */
  uint16_t *rows;         /* [size] scratch permutation */
  /* accumulators */
  float ret;
  int transferred;        /* fuel units transferred this episode */
  float last_rewards[ENV_MAX_AGENTS]; /* per-agent rewards of the last step */
} marine_t;

/* bit_length(x): bits needed to write x >= 0 (0 for 0). */
static inline int marine_bit_length(int x) {
  int b = 0;
  while (x > 0) {
    b++;
    x >>= 1;
  }
  return b;
}

/* Fuel transferred per step by one logistics ship at intensity level lv. */
int marine_refuel_amount(int size, int level);

/* Sets up one copy in caller memory for a config env_validate accepted;
 * waves (borrowed, must outlive the copy) needs at least episode_limit +
 * privileged_frames frames. Seeds the RNG from (seed, rank, index) and
 * resets. Returns 0 or HINT_ENOMEM. */
int marine_init(marine_t *m, const hint_config_t *cfg, const waves_t *waves, uint64_t seed,
                int rank, int index);
/* Frees the scratch and zeroes *m; safe on a zeroed marine_t. */
void marine_fini(marine_t *m);
/* A new episode (ships, destination, wave window, patrol lanes) drawn from
 * the copy's own RNG; a function of the RNG state alone. */
void marine_reset(marine_t *m);
/* One step; see fc_step for the contract. Returns ENV_RUNNING, ENV_SUCCESS,
 * ENV_FAILURE or ENV_TIMEOUT. */
int marine_step(marine_t *m, const int32_t *actions, float *obs, int obs_stride,
                float *state, float *reward);
void marine_write_obs(const marine_t *m, float *obs, int obs_stride);
void marine_write_state(const marine_t *m, float *state);
/* Full-information greedy: each routing ship that cannot reach the
 * destination on its fuel (fuel < distance - 1), in index order, is paired
 * with the nearest logistics ship not yet paired; a paired pair closes in on
 * each other and, once on one cell, travels together toward the destination
 * (so it keeps refuelling) until the routing ship has fuel enough. Other
 * routing ships head for the destination; unpaired logistics ships stay.
 * Patrols are ignored. */
void marine_greedy(const marine_t *m, int32_t *actions);
size_t marine_render(const marine_t *m, char *buf, size_t cap);

/* Checkpoint record of one copy's episode state (see fc_state_size: the
 * vector frames it with a header that pins the config and the wave field).
 * Packed little-endian, no padding, n = R + L ships, R routing, e enemies:
 *   u64 rng.state, rng.inc
 *   i32 step, t0, frame (index of the shown frame in the shared field, never
 *       a pointer), dest_r, dest_c, transferred
 *   f32 ret
 *   i16 pos[n][2]
 *   i32 fuel[R], fuel_obs[R]
 *   u8  arrived[R]
 *   f32 last_rewards[n]
 *   per patrol: i16 row, col, lo, hi; i8 axis, dir
 * The scratch permutations are not part of it (reset rebuilds them). */
size_t marine_state_size(const marine_t *m);
/* Writes marine_state_size(m) bytes to out. */
void marine_state_save(const marine_t *m, void *out);
/* Reads a record of marine_state_size(m) bytes written for a copy of the
 * same config and wave field. Checks every value a step indexes with or
 * relies on (RNG stream odd, step below the limit, t0 and frame inside the
 * field with the look-ahead, cells on the map, fuel in 0..max_fuel, 0/1
 * flags, patrols inside lanes of two cells or more with direction +-1) and
 * returns HINT_EPARSE, m untouched, when one is off. With apply 0 it only
 * checks; otherwise it also restores the state. Returns 0 or HINT_EPARSE. */
int marine_state_load(marine_t *m, const void *in, int apply);

/* Copy i of a MARINE vector (NULL for FireCommander), for tests and tools. */
marine_t *env_vec_marine(env_vec_t *v, int i);

#endif
