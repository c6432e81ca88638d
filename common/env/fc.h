/* fc.h: FireCommander, one env copy (the vector in env.c drives many).
 *
 * Behaviour is environments.md, "FireCommander". P perception agents (scouts)
 * then A action agents (firefighters); Discrete(6) for both (5 = no-op for P,
 * extinguish for A). Fire fronts move by the simplified FARSITE rule and leave
 * a trail of burning cells; success when nothing burns.
 *
 * Speed: the wind enters the spread only through C/R = f(wind_speed[k1]) and
 * (sin, cos)(wind_dir[k2]) for rows k1, k2 drawn per front per step, so reset
 * tabulates f, sin and cos per row and a step does no transcendental math.
 *
 * Local observation (obs_dim = 3*(2v+1)^2 + size^2, same for both classes):
 *   window  : (2v+1)^2 cells centred on the agent, row-major, 3 channels per
 *             cell [n_perception, n_action, burning]; -1 in every channel off
 *             the map. Action agents are blind: all zeros.
 *   own cell: size^2 one-hot of the agent's cell (row-major).
 * Global state (state_dim):
 *   [row, col] x (P + A), burning map size^2, step/episode_limit
 *   privileged extras: front map size^2 (fronts per cell), R map size^2
 *   (R / 7), per-row wind [speed, sin(dir), cos(dir)] x size.
 *
 * Ownership: fc_init allocates the copy's maps in one block; fc_fini frees
 * it. Nothing allocates after init.
 */
#ifndef HINT_ENV_FC_H
#define HINT_ENV_FC_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "common/core/rng.h"
#include "common/env/env.h"

enum { FC_UP = 0, FC_RIGHT = 1, FC_DOWN = 2, FC_LEFT = 3, FC_STAY = 4, FC_EXTINGUISH = 5 };
#define FC_N_ACTIONS 6
#define FC_R_MAX 7.0f

typedef struct {
  /* config (read-only after init) */
  int size, n_p, n_a, n, n_fires, vision, limit, reward, pruned_trap, fire_spread,
      privileged;
  int obs_dim, state_dim, window; /* window = 2v+1 */
  /* episode state */
  hint_rng_t rng;
  int step;
  int n_fronts;
  int n_burning;
  int16_t pos[ENV_MAX_AGENTS][2];
  float *fx, *fy;          /* [n_fires] front positions (row, col), alive ones first */
  uint8_t *burning;        /* [size^2] */
  uint8_t *extinguished;   /* [size^2] ever extinguished this episode */
  float *rmap;             /* [size^2] spread rate R */
  float *wind_speed, *wind_dir;     /* [size] */
  float *ratio, *wsin, *wcos;       /* [size] C/R of wind_speed, sin/cos of wind_dir */
  uint16_t *perm;          /* [size^2] scratch permutation for distinct cells */
  /* per-episode accumulators */
  float ret;
  int false_drops;
  /* last step's events (tests and stats) */
  int last_false_drops, last_fronts_killed, last_cells_killed;
} fc_t;

/* C/R as a function of wind speed U (the simplified FARSITE shape). */
double fc_spread_ratio(double u);

/* Sets up one copy in caller memory for a config that env_validate accepted:
 * allocates its maps (one block), seeds its RNG from (seed, rank, index) and
 * resets it. Returns 0 or HINT_ENOMEM (nothing left allocated). */
int fc_init(fc_t *fc, const hint_config_t *cfg, uint64_t seed, int rank, int index);
/* Frees the maps and zeroes *fc; safe on a zeroed fc_t. */
void fc_fini(fc_t *fc);
/* A new episode drawn from the copy's own RNG: the initial condition is a
 * function of the RNG state alone. */
void fc_reset(fc_t *fc);
/* One step with actions[n]; writes the team reward into *reward, and, while
 * the episode goes on, obs ([n][obs_stride]) and state when non-NULL.
 * Returns ENV_RUNNING, ENV_SUCCESS or ENV_TIMEOUT. */
int fc_step(fc_t *fc, const int32_t *actions, float *obs, int obs_stride, float *state,
            float *reward);
void fc_write_obs(const fc_t *fc, float *obs, int obs_stride);
void fc_write_state(const fc_t *fc, float *state);
/* Full information greedy: P agents stay; each A agent extinguishes if its
 * cell holds a front (or, once no fronts are left, is burning), else moves
 * toward the nearest front (Manhattan, ties by front order), or when no
 * fronts are left the nearest burning cell (ties by cell index); the larger
 * offset is closed first, rows on a tie. */
void fc_greedy(const fc_t *fc, int32_t *actions);
size_t fc_render(const fc_t *fc, char *buf, size_t cap);

/* Checkpoint record of one copy's episode state (env_vec_state_save frames
 * these with a header that pins the config; the record itself carries no
 * sizes). Packed little-endian, no padding, n = P + A, F = fires, s = size:
 *   u64 rng.state, rng.inc
 *   i32 step, n_fronts, n_burning, false_drops, last_false_drops,
 *       last_fronts_killed, last_cells_killed
 *   f32 ret
 *   i16 pos[n][2]
 *   f32 fx[F], fy[F]            (all F slots; alive fronts first)
 *   u8  burning[s^2], extinguished[s^2]
 *   f32 rmap[s^2], wind_speed[s], wind_dir[s], ratio[s], wsin[s], wcos[s]
 * The scratch permutation is not part of it (reset rebuilds it). */
size_t fc_state_size(const fc_t *fc);
/* Writes fc_state_size(fc) bytes to out. */
void fc_state_save(const fc_t *fc, void *out);
/* Reads a record of fc_state_size(fc) bytes written for a copy of the same
 * config. Checks every value a step indexes with or relies on (RNG stream
 * odd, step below the limit, cells and fronts on the map, 0/1 maps and the
 * burning count, bounded spread factors) and returns HINT_EPARSE, fc
 * untouched, when one is off. With apply 0 it only checks; otherwise it
 * also restores the state. Returns 0 or HINT_EPARSE. */
int fc_state_load(fc_t *fc, const void *in, int apply);

/* Copy i of a FireCommander vector (NULL for MARINE), for tests and tools
 * that set up or inspect a state directly. */
fc_t *env_vec_fc(env_vec_t *v, int i);

#endif
