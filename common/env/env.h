/* env.h: what the rest of the system knows about an environment.
 *
 * Sizes first: students share parameters per agent class, so per-class
 * observation and action sizes are queryable from the config alone, before any
 * env exists (the learner validates message shapes with them). Batch buffers
 * are [E][n_agents][obs_dim] with obs_dim the same for every class (shorter
 * class observations are zero-padded), so one stride serves all agents.
 *
 * Then the vector: env_vec_t holds E copies of one environment (FireCommander
 * or MARINE, see fc.h and marine.h for the behaviour) and steps them into
 * buffers the caller owns (PufferLib style): env i writes at base + i*stride.
 * The vector allocates everything at create and nothing afterwards. Every copy
 * owns its RNG, seeded from (seed, rank, env index), so a copy's trajectory
 * depends only on that triple and the actions it is given.
 *
 * Auto-reset: when a step ends an episode, reward/done/truncated report the
 * finished episode, and obs/state already hold the first observation of the
 * next one. The finished episode's return, length and success are added to the
 * vector's stats and kept as the env's last episode.
 *
 * Global state layout, both envs: the first 2*n_agents floats are the
 * [row, col] of every agent in agent order (raw cell coordinates, exact small
 * integers as floats); env_state_pos() reads them. See fc.h / marine.h for the
 * rest of each layout.
 */
#ifndef HINT_ENV_ENV_H
#define HINT_ENV_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"

#define ENV_MAX_AGENTS 64
#define ENV_MAX_CLASSES 2
#define ENV_MAX_TARGETS 64
#define ENV_MIN_SIZE 5
#define ENV_MAX_SIZE 50
#define ENV_MAX_VISION 3

typedef struct {
  int n_agents;
  int n_classes;                       /* FireCommander: P, A; MARINE: R, L */
  int class_of[ENV_MAX_AGENTS];        /* agent index -> class */
  int class_first[ENV_MAX_CLASSES];    /* first agent index of each class */
  int class_count[ENV_MAX_CLASSES];    /* agents per class */
  int class_obs_dim[ENV_MAX_CLASSES];  /* meaningful observation length */
  int class_n_actions[ENV_MAX_CLASSES];
  int obs_dim;                         /* batch stride: max of class_obs_dim */
  int n_actions;                       /* max of class_n_actions */
  int state_dim;                       /* global state incl. privileged extras if on */
  int base_state_dim;                  /* state_dim without the privileged extras */
} env_dims_t;

/* Checks that the env section of cfg describes a possible environment (and
 * that teacher.crop / teacher.n_targets are usable by the feature helpers).
 * For MARINE with waves.source netcdf it opens the file and checks the
 * variable and region. Returns 0, HINT_ECONFIG (a value out of range),
 * HINT_EINFEASIBLE (values that cannot go together, e.g. more agents than
 * cells) or HINT_ENETCDF (file, variable or region problem), with a message
 * naming the key in err ("env.vision: 3 is larger than the map (size 5)",
 * i.e. the (2v+1)^2 window is wider than the map).
 * err may be NULL. Call it before any rank starts work. */
int env_validate(const hint_config_t *cfg, char *err, size_t err_cap);

/* Fills dims from cfg (runs env_validate's checks except the netCDF file
 * ones). Returns 0 or the env_validate codes. */
int env_dims(const hint_config_t *cfg, env_dims_t *dims, char *err, size_t err_cap);

/* Agent i's cell from a global state (either env). */
static inline void env_state_pos(const float *state, int i, int *row, int *col) {
  *row = (int)state[2 * i];
  *col = (int)state[2 * i + 1];
}

/* ---- The vector ---------------------------------------------------------- */

/* How a step ended for one env. */
enum { ENV_RUNNING = 0, ENV_SUCCESS = 1, ENV_FAILURE = 2, ENV_TIMEOUT = 3 };

/* Per-episode figures; float-only so a vector of them sums with one loop. */
typedef struct {
  float episodes;  /* finished episodes summed in (1 per episode) */
  float ret;       /* team return */
  float length;    /* steps */
  float success;   /* 1 if the episode ended in success */
  float events;    /* FireCommander: false water drops; MARINE: fuel units transferred */
} env_stats_t;

/* Caller-owned batch buffers, indexed by absolute env index. Any pointer may
 * be NULL to skip writing that output (obs and state are then not computed,
 * which is what a pure-throughput or greedy-only run wants). */
typedef struct {
  float *obs;         /* [E][n_agents][obs_dim]; unused tail of a class is 0 */
  float *state;       /* [E][state_dim] */
  float *reward;      /* [E] team reward of the step */
  uint8_t *done;      /* [E] 1 if the step ended the episode (any reason) */
  uint8_t *truncated; /* [E] 1 if it ended by episode_limit (bootstrap value) */
  uint8_t *status;    /* [E] ENV_* of the step (success/failure/timeout/running) */
} env_buffers_t;

typedef struct env_vec env_vec_t;

/* Creates E copies of the env in cfg (validated with env_validate first),
 * env i seeded from (seed, rank, i), and resets them all (without writing
 * buffers; call env_vec_observe for the first observation). MARINE copies share one
 * read-only wave field (synthetic, seeded from env.eval_seed so every run sees
 * the same ocean, or read from the netCDF file). Returns 0 or an error code
 * with a message in err. */
int env_vec_create(env_vec_t **out, const hint_config_t *cfg, int n_envs, int rank,
                   uint64_t seed, char *err, size_t err_cap);
/* NULL-safe; clears *vp. */
void env_vec_destroy(env_vec_t **vp);

int env_vec_size(const env_vec_t *v);
const env_dims_t *env_vec_dims(const env_vec_t *v);

/* Writes obs and state of envs [first, first+count) without stepping. */
void env_vec_observe(env_vec_t *v, int first, int count, const env_buffers_t *b);

/* Steps envs [first, first+count) with actions int32 [E][n_agents] (rows of
 * the other envs are not read). Actions out of range for the agent's class
 * are a programmer error (assert). Auto-resets finished envs. */
void env_vec_step(env_vec_t *v, int first, int count, const int32_t *actions,
                  const env_buffers_t *b);
static inline void env_vec_step_all(env_vec_t *v, const int32_t *actions,
                                    const env_buffers_t *b) {
  env_vec_step(v, 0, env_vec_size(v), actions, b);
}

/* Resets env i with a fresh training episode from its own RNG. */
void env_vec_reset(env_vec_t *v, int i);

/* Resets env i to initial condition k (0 <= k < env.eval_episodes, wrapped
 * modulo otherwise) of the fixed evaluation set: the env's RNG is reseeded
 * from (env.eval_seed, k) before the reset, so the initial condition and the
 * episode's own randomness (fire spread draws, wave window) are the same in
 * every run, whatever the rank, index or run seed. The env keeps that RNG
 * stream afterwards (use a separate vector for evaluation). Like
 * env_vec_reset it writes no buffer: call env_vec_observe(v, i, 1, b). */
void env_vec_reset_eval(env_vec_t *v, int i, int k);

/* The last finished episode of env i (all zero before the first one). */
env_stats_t env_vec_last_episode(const env_vec_t *v, int i);
/* Sum of all finished episodes since the last take; zeroes the sum. */
env_stats_t env_vec_take_stats(env_vec_t *v);

/* ---- Checkpoint: exact save and restore of a vector ----------------------
 *
 * A blob holds everything that decides the vector's future steps and
 * statistics: every copy's episode state (RNG, step, positions, maps, wind
 * or wave window, accumulators), its last episode, and the running stats sum.
 * A vector created from the same config and n_envs (any seed or rank) that
 * loads it then steps bit-for-bit like the one that saved it. Sizes,
 * pointers and scratch are not stored: a header (magic, version, env kind,
 * n_envs, size, n_agents, per-copy bytes, a fingerprint of the config values
 * the env reads and of the MARINE wave field) pins the shape instead. The
 * layout is in env.c; it is little-endian memory, like the wire format.
 * Neither call allocates; the caller owns buf (e.g. a hint_ckpt section). */

/* Bytes env_vec_state_save writes for v (fixed for the vector's lifetime). */
size_t env_vec_state_size(const env_vec_t *v);

/* Writes the blob into buf[cap]. Returns 0, or HINT_ERANGE (nothing
 * written) when cap < env_vec_state_size(v). v is not changed. */
int env_vec_state_save(const env_vec_t *v, void *buf, size_t cap);

/* Restores v from a blob of len bytes. Returns 0; HINT_ESHAPE when the blob
 * was saved by a vector of another env kind, n_envs, size, agent count or
 * config (fingerprint); HINT_EPARSE when it is malformed: shorter than a
 * header, wrong magic or version, len not the size its header implies, or
 * a value a step would trip over (a cell off the map, a wave frame outside
 * the field, an even RNG increment, ...). On any error v is unchanged: every
 * copy is checked before the first is restored. buf is only read. */
int env_vec_state_load(env_vec_t *v, const void *buf, size_t len);

/* Full-information greedy actions for envs [first, first+count) into
 * actions [E][n_agents] (see fc_greedy / marine_greedy). */
void env_vec_greedy(const env_vec_t *v, int first, int count, int32_t *actions);

/* Text render of env i into buf (NUL-terminated, truncated to cap). Returns
 * the length the full render needs (like snprintf). */
size_t env_vec_render(const env_vec_t *v, int i, char *buf, size_t cap);

/* ---- Teacher helpers: agent-centred features and goal candidates ---------
 *
 * They read a global state only (never an env), so the learner can apply them
 * to any stored segment and an actor to its teacher-driven copies with
 * identical results. What they can see is what the state carries:
 * FireCommander fronts are only in the privileged front map; with
 * env.privileged off, "nearest front" features and front targets fall back
 * to burning cells (is_front is then 0 everywhere). MARINE intensity is only
 * in the privileged extras; without them the intensity channel is absent.
 *
 * Agent feature layout (feat_dim floats), coordinates normalised by size-1:
 *   own   : FireCommander [row, col, is_action_agent, step_frac]
 *           MARINE [row, col, is_routing, fuel/max_fuel (0 for logistics),
 *                   at_destination, step_frac]
 *   crop  : (2c+1)^2 cells, c = teacher.crop, centred on the agent, row-major,
 *           n_channels per cell:
 *           FireCommander [outside, burning, n_perception, n_action]
 *                         (+ [front, R/7] when privileged)
 *           MARINE [outside, destination, n_routing, n_logistics]
 *                  (+ [patrol] when enemies > 0) (+ [intensity] when privileged)
 *   near  : blocks of [drow, dcol, manhattan/(2(size-1)), exists]:
 *           FireCommander: nearest front (burning cell without privileged),
 *                          nearest burning cell, then [burning_cells/size^2]
 *           MARINE: destination; nearest partner (routing: logistics ship;
 *                   logistics: routing ship not yet arrived, most in need:
 *                   lowest fuel minus distance to destination) + [its fuel
 *                   frac]; nearest patrol when enemies > 0.
 * Lengths (c = teacher.crop, w = (2c+1)^2, p = env.privileged, e = enemies > 0):
 *   FireCommander feat_dim = 4 + w * (4 + 2p) + 9
 *   MARINE        feat_dim = 6 + w * (4 + e + p) + 9 + 4e
 * Targets: up to K = teacher.n_targets candidate cells, nearest first
 * (Manhattan, ties by cell index); per target target_dim = 6 floats
 *   [drow, dcol, dist, is_primary, is_secondary, extra]:
 *   FireCommander: fronts (primary) then other burning cells (secondary),
 *                  extra = R/7 at the cell when privileged, else 0.
 *   MARINE routing ship: the destination (primary) then logistics ships
 *                  (secondary, extra 0); logistics ship: routing ships not
 *                  arrived (secondary, extra = their fuel frac), then the
 *                  destination (primary).
 */
typedef struct {
  int name;           /* hint_env_name_t */
  int size;
  int n_agents;
  int n_first;        /* agents in the first class (P or R) */
  int n_enemies;
  int privileged;
  int crop;           /* c */
  int n_targets;      /* K */
  int n_channels;     /* per crop cell */
  int own_dim, crop_dim, near_dim;
  int feat_dim;       /* own_dim + crop_dim + near_dim */
  int target_dim;     /* 6 */
  int max_fuel;
  env_dims_t dims;
} env_feat_t;

/* Fills f from cfg; returns 0 or a config error with a message in err. */
int env_feat_init(env_feat_t *f, const hint_config_t *cfg, char *err, size_t err_cap);

/* Features of agent i from state (state_dim floats) into out[feat_dim]. */
void env_feat_agent(const env_feat_t *f, const float *state, int agent, float *out);

/* Up to K goal candidates for agent i: cells[K] (row*size+col, -1 when
 * unused) and tfeat[K][target_dim] (zero when unused). Returns the number of
 * valid candidates (they come first). */
int env_feat_targets(const env_feat_t *f, const float *state, int agent,
                     int32_t *cells, float *tfeat);

#endif
