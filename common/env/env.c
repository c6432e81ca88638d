/* env.c: config checks, sizes, and the vector of env copies (see env.h).
 *
 * The vector owns E copies of one env kind in one array, and for MARINE the
 * shared wave field. Stepping is a plain loop over the copies: each writes
 * its slice of the caller's buffers, and a finished copy is reset at once so
 * the next observation it writes is the new episode's.
 *
 * Checkpoint blob (env_vec_state_save), packed little-endian:
 *   header (ENV_STATE_HEADER = 40 bytes):
 *     u8  magic[8] "HINTENVS"
 *     u32 version (ENV_STATE_VERSION)
 *     u32 env kind (hint_env_name_t)
 *     u32 n_envs, size, n_agents
 *     u32 per-copy bytes (copy record + last-episode stats)
 *     u64 fingerprint of the config values the copies read (and, for MARINE,
 *         of the wave field's levels)
 *   n_envs times: the copy's record (fc.h / marine.h), then its last episode
 *     as f32 [episodes, ret, length, success, events]
 *   the running stats sum, f32 [episodes, ret, length, success, events]
 * Nothing config-derived is stored raw: sizes, pointers and scratch come
 * from the vector that loads, and the header proves they are the same.
 */
#include "common/env/env.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/ckpt.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/env/blob.h"
#include "common/env/fc.h"
#include "common/env/marine.h"
#include "common/env/waves.h"

/* Rank stream reserved for the evaluation set (no real rank is this large). */
#define ENV_EVAL_RANK 0x6576616cULL

struct env_vec {
  hint_config_t cfg;
  env_dims_t dims;
  int n_envs;
  int rank;
  uint64_t seed;
  fc_t *fc;           /* [E] when FireCommander */
  marine_t *mar;      /* [E] when MARINE */
  waves_t *waves;
  env_stats_t *last;  /* [E] last finished episode */
  env_stats_t sum;
  uint64_t fingerprint; /* config (and wave field) a checkpoint blob must match */
};

#define BAD(code, ...)                          \
  do {                                          \
    if (err && err_cap)                         \
      snprintf(err, err_cap, __VA_ARGS__);      \
    return (code);                              \
  } while (0)

/* Everything except the netCDF file itself. */
static int check_env(const hint_config_t *cfg, char *err, size_t err_cap) {
  const int s = cfg->env.size, v = cfg->env.vision;
  if (cfg->env.name != HINT_ENV_FIRE_COMMANDER && cfg->env.name != HINT_ENV_MARINE)
    BAD(HINT_ECONFIG, "env.name: unknown environment %d (fire_commander or marine)",
        cfg->env.name);
  if (s < ENV_MIN_SIZE || s > ENV_MAX_SIZE)
    BAD(HINT_ECONFIG, "env.size: %d is outside %d..%d", s, ENV_MIN_SIZE, ENV_MAX_SIZE);
  if (cfg->env.episode_limit < 1)
    BAD(HINT_ECONFIG, "env.episode_limit: %d must be >= 1", cfg->env.episode_limit);
  if (v < 0)
    BAD(HINT_ECONFIG, "env.vision: %d must be >= 0", v);
  if (2 * v + 1 > s)
    BAD(HINT_EINFEASIBLE,
        "env.vision: %d is larger than the map (size %d): the window is %dx%d cells", v, s,
        2 * v + 1, 2 * v + 1);
  if (v > ENV_MAX_VISION)
    BAD(HINT_ECONFIG, "env.vision: %d is outside 0..%d", v, ENV_MAX_VISION);
  if (cfg->env.privileged != 0 && cfg->env.privileged != 1)
    BAD(HINT_ECONFIG, "env.privileged: %d is not a boolean", cfg->env.privileged);
  if (cfg->env.eval_episodes < 1)
    BAD(HINT_ECONFIG, "env.eval_episodes: %d must be >= 1", cfg->env.eval_episodes);
  if (cfg->teacher.crop < 0 || cfg->teacher.crop > 2 * s)
    BAD(HINT_ECONFIG, "teacher.crop: %d is outside 0..%d (twice env.size)", cfg->teacher.crop,
        2 * s);
  if (cfg->teacher.n_targets < 1 || cfg->teacher.n_targets > ENV_MAX_TARGETS)
    BAD(HINT_ECONFIG, "teacher.n_targets: %d is outside 1..%d", cfg->teacher.n_targets,
        ENV_MAX_TARGETS);
  const int cells = s * s;
  if (cfg->env.name == HINT_ENV_FIRE_COMMANDER) {
    const int p = cfg->env.perception_agents, a = cfg->env.action_agents, f = cfg->env.fires;
    if (p < 0)
      BAD(HINT_ECONFIG, "env.perception_agents: %d must be >= 0", p);
    if (a < 1)
      BAD(HINT_ECONFIG, "env.action_agents: %d must be >= 1 (nothing could put a fire out)", a);
    if (f < 1)
      BAD(HINT_ECONFIG, "env.fires: %d must be >= 1", f);
    if (p + a > ENV_MAX_AGENTS)
      BAD(HINT_EINFEASIBLE,
          "env.perception_agents + env.action_agents: %d agents, at most %d are supported",
          p + a, ENV_MAX_AGENTS);
    if ((long)p + a + f > cells)
      BAD(HINT_EINFEASIBLE,
          "env.perception_agents + env.action_agents + env.fires: %d need distinct cells, "
          "the %dx%d map has %d",
          p + a + f, s, s, cells);
    if (cfg->env.pruned_trap != 0 && cfg->env.pruned_trap != 1)
      BAD(HINT_ECONFIG, "env.pruned_trap: %d is not a boolean", cfg->env.pruned_trap);
    if (cfg->env.fire_spread != 0 && cfg->env.fire_spread != 1)
      BAD(HINT_ECONFIG, "env.fire_spread: %d is not a boolean", cfg->env.fire_spread);
    if (cfg->env.reward != HINT_REWARD_PER_FIRE && cfg->env.reward != HINT_REWARD_CAPTURE &&
        cfg->env.reward != HINT_REWARD_FALSE_DROP)
      BAD(HINT_ECONFIG, "env.reward: unknown reward type %d (per_fire, capture, false_drop)",
          cfg->env.reward);
    return 0;
  }
  const int r = cfg->env.routing_ships, l = cfg->env.logistics_ships, e = cfg->env.enemies;
  if (r < 1)
    BAD(HINT_ECONFIG, "env.routing_ships: %d must be >= 1", r);
  if (r > s)
    BAD(HINT_EINFEASIBLE,
        "env.routing_ships: %d cannot start in distinct rows of column 0 (size %d)", r, s);
  if (l < 0)
    BAD(HINT_ECONFIG, "env.logistics_ships: %d must be >= 0", l);
  if (l > cells)
    BAD(HINT_EINFEASIBLE, "env.logistics_ships: %d need distinct cells, the %dx%d map has %d", l,
        s, s, cells);
  if (r + l > ENV_MAX_AGENTS)
    BAD(HINT_EINFEASIBLE,
        "env.routing_ships + env.logistics_ships: %d ships, at most %d are supported", r + l,
        ENV_MAX_AGENTS);
  if (e < 0 || e > MARINE_MAX_ENEMIES)
    BAD(HINT_ECONFIG, "env.enemies: %d is outside 0..%d", e, MARINE_MAX_ENEMIES);
  if (cfg->env.privileged_frames < 0)
    BAD(HINT_ECONFIG, "env.privileged_frames: %d must be >= 0", cfg->env.privileged_frames);
  if (cfg->env.waves.source == HINT_WAVES_SYNTHETIC ||
      cfg->env.waves.source == HINT_WAVES_NETCDF) {
    /* bins and the synthetic parameters; the file is env_validate's job */
    if (cfg->env.waves.source == HINT_WAVES_SYNTHETIC)
      return waves_check(cfg, err, err_cap);
    if (cfg->env.waves.bins != HINT_WAVE_BINS_HARD && cfg->env.waves.bins != HINT_WAVE_BINS_EASY)
      BAD(HINT_ECONFIG, "env.waves.bins: unknown value %d (hard or easy)", cfg->env.waves.bins);
    return 0;
  }
  BAD(HINT_ECONFIG, "env.waves.source: unknown value %d (synthetic or netcdf)",
      cfg->env.waves.source);
}

int env_validate(const hint_config_t *cfg, char *err, size_t err_cap) {
  int rc = check_env(cfg, err, err_cap);
  if (rc)
    return rc;
  if (cfg->env.name == HINT_ENV_MARINE && cfg->env.waves.source == HINT_WAVES_NETCDF)
    return waves_check(cfg, err, err_cap);
  return 0;
}

int env_dims(const hint_config_t *cfg, env_dims_t *d, char *err, size_t err_cap) {
  int rc = check_env(cfg, err, err_cap);
  if (rc)
    return rc;
  memset(d, 0, sizeof(*d));
  const int s = cfg->env.size, s2 = s * s, w = 2 * cfg->env.vision + 1;
  int first, second, obs, base, priv, nact;
  if (cfg->env.name == HINT_ENV_FIRE_COMMANDER) {
    first = cfg->env.perception_agents;
    second = cfg->env.action_agents;
    obs = 3 * w * w + s2;
    base = 2 * (first + second) + s2 + 1;
    priv = 2 * s2 + 3 * s;
    nact = FC_N_ACTIONS;
  } else {
    first = cfg->env.routing_ships;
    second = cfg->env.logistics_ships;
    const int n = first + second, e = cfg->env.enemies;
    obs = 2 * marine_bit_length(s2) + marine_bit_length(s) + w * w * (n + 4 + (e > 0));
    base = 2 * n + 2 + first + 2 * e + 1;
    priv = (1 + cfg->env.privileged_frames) * s2;
    nact = MARINE_N_ACTIONS;
  }
  d->n_agents = first + second;
  d->n_classes = 2;
  d->class_first[0] = 0;
  d->class_count[0] = first;
  d->class_first[1] = first;
  d->class_count[1] = second;
  for (int i = 0; i < d->n_agents; i++)
    d->class_of[i] = i < first ? 0 : 1;
  for (int c = 0; c < 2; c++) {
    d->class_obs_dim[c] = obs;
    d->class_n_actions[c] = nact;
  }
  d->obs_dim = obs;
  d->n_actions = nact;
  d->base_state_dim = base;
  d->state_dim = base + (cfg->env.privileged ? priv : 0);
  return 0;
}

static uint64_t fold(uint64_t h, int64_t x) { return hint_mix64(h ^ (uint64_t)x); }

/* Hash of every config value the copies and the vector read (nothing else,
 * so an unrelated key does not orphan a checkpoint), and for MARINE of the
 * wave field the copies play: two vectors with equal fingerprints step
 * alike from equal states. */
static uint64_t config_fingerprint(const hint_config_t *c, const waves_t *w) {
  uint64_t h = 0x48494e54454e5653ULL; /* "HINTENVS" */
  const int64_t common[] = {c->env.name,       c->env.size,      c->env.episode_limit,
                            c->env.vision,     c->env.privileged, c->env.eval_seed,
                            c->env.eval_episodes};
  for (size_t k = 0; k < sizeof common / sizeof common[0]; k++)
    h = fold(h, common[k]);
  if (c->env.name == HINT_ENV_FIRE_COMMANDER) {
    const int64_t f[] = {c->env.perception_agents, c->env.action_agents, c->env.fires,
                         c->env.reward, c->env.pruned_trap, c->env.fire_spread};
    for (size_t k = 0; k < sizeof f / sizeof f[0]; k++)
      h = fold(h, f[k]);
    return h;
  }
  const int64_t m[] = {c->env.routing_ships, c->env.logistics_ships, c->env.enemies,
                       c->env.privileged_frames, w->size, w->frames};
  for (size_t k = 0; k < sizeof m / sizeof m[0]; k++)
    h = fold(h, m[k]);
  const size_t cells = (size_t)w->frames * (size_t)w->size * (size_t)w->size;
  return fold(h, (int64_t)hint_checksum64(w->level, cells));
}

int env_vec_create(env_vec_t **out, const hint_config_t *cfg, int n_envs, int rank,
                   uint64_t seed, char *err, size_t err_cap) {
  *out = NULL;
  if (n_envs < 1)
    BAD(HINT_EINVAL, "env vector: %d copies, need at least 1", n_envs);
  int rc = env_validate(cfg, err, err_cap);
  if (rc)
    return rc;
  env_vec_t *v = hint_calloc(1, sizeof(*v));
  if (!v)
    BAD(HINT_ENOMEM, "env vector: out of memory");
  v->cfg = *cfg;
  v->n_envs = n_envs;
  v->rank = rank;
  v->seed = seed;
  rc = env_dims(cfg, &v->dims, err, err_cap);
  if (rc)
    goto fail;
  rc = HINT_ENOMEM;
  v->last = hint_calloc((size_t)n_envs, sizeof(env_stats_t));
  if (!v->last)
    goto fail;
  if (cfg->env.name == HINT_ENV_FIRE_COMMANDER) {
    v->fc = hint_calloc((size_t)n_envs, sizeof(fc_t));
    if (!v->fc)
      goto fail;
    for (int i = 0; i < n_envs; i++)
      if ((rc = fc_init(&v->fc[i], cfg, seed, rank, i)) != 0)
        goto fail;
  } else {
    if ((rc = waves_create(&v->waves, cfg, err, err_cap)) != 0)
      goto fail;
    rc = HINT_ENOMEM;
    v->mar = hint_calloc((size_t)n_envs, sizeof(marine_t));
    if (!v->mar)
      goto fail;
    for (int i = 0; i < n_envs; i++)
      if ((rc = marine_init(&v->mar[i], cfg, v->waves, seed, rank, i)) != 0)
        goto fail;
  }
  v->fingerprint = config_fingerprint(cfg, v->waves);
  *out = v;
  return 0;
fail:
  env_vec_destroy(&v);
  if (rc == HINT_ENOMEM) /* callers log err: never leave it unset */
    BAD(HINT_ENOMEM, "env vector: out of memory (%d copies)", n_envs);
  return rc;
}

void env_vec_destroy(env_vec_t **vp) {
  if (!vp || !*vp)
    return;
  env_vec_t *v = *vp;
  if (v->fc)
    for (int i = 0; i < v->n_envs; i++)
      fc_fini(&v->fc[i]); /* safe on zeroed copies: hint_free(NULL) */
  if (v->mar)
    for (int i = 0; i < v->n_envs; i++)
      marine_fini(&v->mar[i]);
  hint_free(v->fc);
  hint_free(v->mar);
  waves_destroy(&v->waves);
  hint_free(v->last);
  hint_free(v);
  *vp = NULL;
}

int env_vec_size(const env_vec_t *v) { return v->n_envs; }
const env_dims_t *env_vec_dims(const env_vec_t *v) { return &v->dims; }

static void write_one(env_vec_t *v, int i, const env_buffers_t *b) {
  const size_t od = (size_t)v->dims.obs_dim, na = (size_t)v->dims.n_agents;
  float *obs = b->obs ? b->obs + (size_t)i * na * od : NULL;
  float *st = b->state ? b->state + (size_t)i * (size_t)v->dims.state_dim : NULL;
  if (v->fc) {
    if (obs)
      fc_write_obs(&v->fc[i], obs, (int)od);
    if (st)
      fc_write_state(&v->fc[i], st);
  } else {
    if (obs)
      marine_write_obs(&v->mar[i], obs, (int)od);
    if (st)
      marine_write_state(&v->mar[i], st);
  }
}

void env_vec_observe(env_vec_t *v, int first, int count, const env_buffers_t *b) {
  assert(first >= 0 && count >= 0 && first + count <= v->n_envs);
  for (int i = first; i < first + count; i++)
    write_one(v, i, b);
}

void env_vec_reset(env_vec_t *v, int i) {
  assert(i >= 0 && i < v->n_envs);
  if (v->fc)
    fc_reset(&v->fc[i]);
  else
    marine_reset(&v->mar[i]);
}

void env_vec_reset_eval(env_vec_t *v, int i, int k) {
  assert(i >= 0 && i < v->n_envs && k >= 0);
  const uint64_t idx = (uint64_t)(k % v->cfg.env.eval_episodes);
  hint_rng_t *r = v->fc ? &v->fc[i].rng : &v->mar[i].rng;
  hint_rng_seed(r, (uint64_t)v->cfg.env.eval_seed, ENV_EVAL_RANK, idx);
  env_vec_reset(v, i);
}

void env_vec_step(env_vec_t *v, int first, int count, const int32_t *actions,
                  const env_buffers_t *b) {
  assert(first >= 0 && count >= 0 && first + count <= v->n_envs);
  const size_t od = (size_t)v->dims.obs_dim, na = (size_t)v->dims.n_agents;
  const size_t sd = (size_t)v->dims.state_dim;
  for (int i = first; i < first + count; i++) {
    const int32_t *a = actions + (size_t)i * na;
    float *obs = b->obs ? b->obs + (size_t)i * na * od : NULL;
    float *st = b->state ? b->state + (size_t)i * sd : NULL;
    float rew;
    int status;
    float ret, events;
    int len;
    if (v->fc) {
      fc_t *e = &v->fc[i];
      status = fc_step(e, a, obs, (int)od, st, &rew);
      ret = e->ret;
      len = e->step;
      events = (float)e->false_drops;
    } else {
      marine_t *e = &v->mar[i];
      status = marine_step(e, a, obs, (int)od, st, &rew);
      ret = e->ret;
      len = e->step;
      events = (float)e->transferred;
    }
    if (b->reward)
      b->reward[i] = rew;
    if (b->done)
      b->done[i] = status != ENV_RUNNING;
    if (b->truncated)
      b->truncated[i] = status == ENV_TIMEOUT;
    if (b->status)
      b->status[i] = (uint8_t)status;
    if (status != ENV_RUNNING) {
      env_stats_t ep = {1.0f, ret, (float)len, status == ENV_SUCCESS ? 1.0f : 0.0f, events};
      v->last[i] = ep;
      v->sum.episodes += ep.episodes;
      v->sum.ret += ep.ret;
      v->sum.length += ep.length;
      v->sum.success += ep.success;
      v->sum.events += ep.events;
      env_vec_reset(v, i);
      write_one(v, i, b);
    }
  }
}

env_stats_t env_vec_last_episode(const env_vec_t *v, int i) {
  assert(i >= 0 && i < v->n_envs);
  return v->last[i];
}

env_stats_t env_vec_take_stats(env_vec_t *v) {
  env_stats_t s = v->sum;
  memset(&v->sum, 0, sizeof(v->sum));
  return s;
}

void env_vec_greedy(const env_vec_t *v, int first, int count, int32_t *actions) {
  assert(first >= 0 && count >= 0 && first + count <= v->n_envs);
  const size_t na = (size_t)v->dims.n_agents;
  for (int i = first; i < first + count; i++) {
    if (v->fc)
      fc_greedy(&v->fc[i], actions + (size_t)i * na);
    else
      marine_greedy(&v->mar[i], actions + (size_t)i * na);
  }
}

size_t env_vec_render(const env_vec_t *v, int i, char *buf, size_t cap) {
  assert(i >= 0 && i < v->n_envs);
  return v->fc ? fc_render(&v->fc[i], buf, cap) : marine_render(&v->mar[i], buf, cap);
}

fc_t *env_vec_fc(env_vec_t *v, int i) { return v->fc ? &v->fc[i] : NULL; }
marine_t *env_vec_marine(env_vec_t *v, int i) { return v->mar ? &v->mar[i] : NULL; }

/* ---- Checkpoint ---------------------------------------------------------- */

#define ENV_STATE_MAGIC "HINTENVS"
#define ENV_STATE_VERSION 1u
#define ENV_STATE_HEADER 40u
#define ENV_STATE_STATS (5u * 4u) /* one env_stats_t as f32 x 5 */

static size_t copy_record_size(const env_vec_t *v) {
  return v->fc ? fc_state_size(&v->fc[0]) : marine_state_size(&v->mar[0]);
}

static size_t per_copy_size(const env_vec_t *v) { return copy_record_size(v) + ENV_STATE_STATS; }

size_t env_vec_state_size(const env_vec_t *v) {
  return ENV_STATE_HEADER + (size_t)v->n_envs * per_copy_size(v) + ENV_STATE_STATS;
}

static void put_stats(env_wr_t *w, const env_stats_t *s) {
  env_put_f32(w, s->episodes);
  env_put_f32(w, s->ret);
  env_put_f32(w, s->length);
  env_put_f32(w, s->success);
  env_put_f32(w, s->events);
}

static env_stats_t get_stats(env_rd_t *r) {
  env_stats_t s;
  s.episodes = env_get_f32(r);
  s.ret = env_get_f32(r);
  s.length = env_get_f32(r);
  s.success = env_get_f32(r);
  s.events = env_get_f32(r);
  return s;
}

int env_vec_state_save(const env_vec_t *v, void *buf, size_t cap) {
  const size_t need = env_vec_state_size(v);
  if (cap < need)
    return HINT_ERANGE;
  env_wr_t w = {buf};
  env_put(&w, ENV_STATE_MAGIC, 8);
  env_put_u32(&w, ENV_STATE_VERSION);
  env_put_u32(&w, (uint32_t)v->cfg.env.name);
  env_put_u32(&w, (uint32_t)v->n_envs);
  env_put_u32(&w, (uint32_t)v->cfg.env.size);
  env_put_u32(&w, (uint32_t)v->dims.n_agents);
  env_put_u32(&w, (uint32_t)per_copy_size(v));
  env_put_u64(&w, v->fingerprint);
  const size_t rec = copy_record_size(v);
  for (int i = 0; i < v->n_envs; i++) {
    if (v->fc)
      fc_state_save(&v->fc[i], w.p);
    else
      marine_state_save(&v->mar[i], w.p);
    w.p += rec;
    put_stats(&w, &v->last[i]);
  }
  put_stats(&w, &v->sum);
  assert((size_t)(w.p - (uint8_t *)buf) == need);
  return 0;
}

/* Checks (apply 0) or restores (apply 1) every copy from the records after
 * the header. */
static int load_copies(env_vec_t *v, const uint8_t *p, int apply) {
  const size_t rec = copy_record_size(v);
  for (int i = 0; i < v->n_envs; i++) {
    int rc = v->fc ? fc_state_load(&v->fc[i], p, apply)
                   : marine_state_load(&v->mar[i], p, apply);
    if (rc)
      return rc;
    p += rec;
    env_rd_t r = {p};
    env_stats_t last = get_stats(&r);
    if (apply)
      v->last[i] = last;
    p = r.p;
  }
  if (apply) {
    env_rd_t r = {p};
    v->sum = get_stats(&r);
  }
  return 0;
}

int env_vec_state_load(env_vec_t *v, const void *buf, size_t len) {
  if (len < ENV_STATE_HEADER)
    return HINT_EPARSE;
  env_rd_t r = {buf};
  char magic[8];
  env_get(&r, magic, 8);
  if (memcmp(magic, ENV_STATE_MAGIC, 8) != 0 || env_get_u32(&r) != ENV_STATE_VERSION)
    return HINT_EPARSE;
  const uint32_t kind = env_get_u32(&r), n_envs = env_get_u32(&r), size = env_get_u32(&r),
                 n_agents = env_get_u32(&r), per_copy = env_get_u32(&r);
  const uint64_t fingerprint = env_get_u64(&r);
  if (kind != (uint32_t)v->cfg.env.name || n_envs != (uint32_t)v->n_envs ||
      size != (uint32_t)v->cfg.env.size || n_agents != (uint32_t)v->dims.n_agents ||
      per_copy != (uint32_t)per_copy_size(v) || fingerprint != v->fingerprint)
    return HINT_ESHAPE;
  if (len != env_vec_state_size(v))
    return HINT_EPARSE;
  /* Check every copy before touching any, so a bad record deep in the blob
   * leaves the whole vector as it was. */
  int rc = load_copies(v, r.p, 0);
  if (rc)
    return rc;
  rc = load_copies(v, r.p, 1);
  assert(rc == 0);
  return rc;
}
