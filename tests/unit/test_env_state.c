/* test_env_state.c: exact checkpoint/restore of an env vector.
 *
 * For FireCommander 5x5 (defaults), FireCommander 10x10 (3 fires,
 * privileged) and MARINE 5x5 / 10x10 (synthetic waves; 2 patrols on 10x10):
 * a vector stepped 150 steps is saved, stepped 300 more while every output
 * is recorded; a vector with another seed, rank and history loads the blob
 * and must produce the same 300 steps byte for byte, the same stats sum and
 * the same last episodes. Actions come from a hint_rng_t for odd envs and
 * from the greedy controller for even ones, so the saved states include
 * extinguished cells, refuelling and arrived ships (checked before saving);
 * neither call may allocate. Then the refusals: blobs from another config,
 * kind or vector size (HINT_ESHAPE), truncated, padded, re-labelled or
 * corrupted blobs (HINT_EPARSE), a too-small save buffer (HINT_ERANGE), and
 * a failed load leaves the vector exactly as it was (same blob on re-save,
 * same steps as an untouched twin). Offsets poked below follow the layout
 * in env.c, fc.h and marine.h.
 */
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/env/fc.h"
#include "common/env/marine.h"

#include "tests/unit/test_util.h"

#include <string.h>

#define E 16
#define WARMUP 150
#define STEPS 300
#define HEADER 40 /* env.c: ENV_STATE_HEADER */

enum { FC5, FC10, MAR5, MAR10, N_CASES };

static hint_config_t case_cfg(int k) {
  hint_config_t c;
  hint_config_defaults(&c);
  switch (k) {
  case FC5:
    c.env.name = HINT_ENV_FIRE_COMMANDER;
    break;
  case FC10:
    c.env.name = HINT_ENV_FIRE_COMMANDER;
    c.env.size = 10;
    c.env.fires = 3;
    c.env.privileged = 1;
    break;
  case MAR5:
    c.env.name = HINT_ENV_MARINE;
    c.env.waves.source = HINT_WAVES_SYNTHETIC;
    break;
  default:
    c.env.name = HINT_ENV_MARINE;
    c.env.waves.source = HINT_WAVES_SYNTHETIC;
    c.env.size = 10;
    c.env.enemies = 2;
    break;
  }
  return c;
}

static env_vec_t *make(const hint_config_t *c, int n, int rank, uint64_t seed) {
  env_vec_t *v = NULL;
  char err[256] = "";
  int rc = env_vec_create(&v, c, n, rank, seed, err, sizeof err);
  if (rc)
    print_error("env_vec_create: %s (%s)\n", hint_strerror(rc), err);
  assert_int_equal(rc, 0);
  return v;
}

/* One step's outputs for a whole vector. */
typedef struct {
  float *obs, *state, *rew;
  uint8_t *done, *trunc, *status;
  env_buffers_t b;
  size_t obs_n, state_n;
} out_t;

static void out_init(out_t *o, const env_dims_t *d) {
  o->obs_n = (size_t)E * (size_t)d->n_agents * (size_t)d->obs_dim;
  o->state_n = (size_t)E * (size_t)d->state_dim;
  o->obs = hint_calloc(o->obs_n, sizeof(float));
  o->state = hint_calloc(o->state_n, sizeof(float));
  o->rew = hint_calloc(E, sizeof(float));
  o->done = hint_calloc(E, 1);
  o->trunc = hint_calloc(E, 1);
  o->status = hint_calloc(E, 1);
  env_buffers_t b = {o->obs, o->state, o->rew, o->done, o->trunc, o->status};
  o->b = b;
}

static void out_fini(out_t *o) {
  hint_free(o->obs);
  hint_free(o->state);
  hint_free(o->rew);
  hint_free(o->done);
  hint_free(o->trunc);
  hint_free(o->status);
}

static void out_equal(const out_t *a, const out_t *b) {
  assert_memory_equal(a->obs, b->obs, sizeof(float) * a->obs_n);
  assert_memory_equal(a->state, b->state, sizeof(float) * a->state_n);
  assert_memory_equal(a->rew, b->rew, sizeof(float) * E);
  assert_memory_equal(a->done, b->done, E);
  assert_memory_equal(a->trunc, b->trunc, E);
  assert_memory_equal(a->status, b->status, E);
}

static void random_actions(hint_rng_t *r, const env_dims_t *d, int32_t *act) {
  for (int i = 0; i < E * d->n_agents; i++)
    act[i] = (int32_t)hint_rng_below(r, (uint32_t)d->n_actions);
}

/* Greedy actions for even envs, random for odd ones: the greedy half puts
 * fires out, meets, refuels and arrives, so the saved states hold
 * extinguished cells, arrived ships and transfers, not only fresh starts. */
static void mixed_actions(const env_vec_t *v, hint_rng_t *r, int32_t *act) {
  const env_dims_t *d = env_vec_dims(v);
  random_actions(r, d, act);
  for (int i = 0; i < E; i += 2)
    env_vec_greedy(v, i, 1, act);
}

/* Steps v n times with mixed actions, outputs into o; returns finished episodes. */
static int run(env_vec_t *v, hint_rng_t *r, int n, out_t *o, int32_t *act) {
  int dones = 0;
  for (int t = 0; t < n; t++) {
    mixed_actions(v, r, act);
    env_vec_step_all(v, act, &o->b);
    for (int i = 0; i < E; i++)
      dones += o->done[i];
  }
  return dones;
}

static uint8_t *save(const env_vec_t *v, size_t *len) {
  *len = env_vec_state_size(v);
  uint8_t *blob = hint_malloc(*len);
  assert_int_equal(env_vec_state_save(v, blob, *len), 0);
  return blob;
}

static void poke_i32(uint8_t *p, size_t off, int32_t x) { memcpy(p + off, &x, 4); }
static void poke_i16(uint8_t *p, size_t off, int16_t x) { memcpy(p + off, &x, 2); }
static uint32_t per_copy(const uint8_t *blob) {
  uint32_t x;
  memcpy(&x, blob + 28, 4);
  return x;
}
static size_t copy_off(const uint8_t *blob, int i) { return HEADER + (size_t)i * per_copy(blob); }

/* ---- Resume is exact ----------------------------------------------------- */

static void check_resume(int k) {
  const hint_config_t c = case_cfg(k);
  env_vec_t *a = make(&c, E, 0, 11);
  const env_dims_t *d = env_vec_dims(a);
  const size_t na = (size_t)d->n_agents;
  out_t o, snap;
  out_init(&o, d);
  out_init(&snap, d);
  int32_t *act = hint_calloc((size_t)E * na, sizeof(int32_t));
  hint_rng_t ar;
  hint_rng_seed(&ar, 2024, 7, (uint64_t)k);
  env_vec_observe(a, 0, E, &o.b);
  const int before = run(a, &ar, WARMUP, &o, act);
  assert_true(before > 0); /* the stats sum carried over is not zero */

  /* the saved state is mostly mid-episode, and holds the rarer parts */
  int mid = 0, extinguished = 0, arrived = 0, transferred = 0, patrols = 0;
  for (int i = 0; i < E; i++) {
    const fc_t *f = env_vec_fc(a, i);
    const marine_t *m = env_vec_marine(a, i);
    if (f) {
      mid += f->step > 0;
      for (int cell = 0; cell < f->size * f->size; cell++)
        extinguished += f->extinguished[cell];
    } else {
      mid += m->step > 0;
      for (int j = 0; j < m->n_r; j++)
        arrived += m->arrived[j];
      transferred += m->transferred;
      patrols += m->n_e;
    }
  }
  assert_true(mid > E / 2);
  if (k == FC5 || k == FC10)
    assert_true(extinguished > 0);
  else
    assert_true(transferred > 0);
  if (k == MAR5) /* on 10x10 the patrols sink ships before they arrive */
    assert_true(arrived > 0);
  if (k == MAR10)
    assert_true(patrols > 0);

  size_t len;
  uint8_t *blob = save(a, &len);
  env_vec_observe(a, 0, E, &snap.b);

  /* the uninterrupted run, recorded */
  int32_t *acts = hint_calloc((size_t)STEPS * E * na, sizeof(int32_t));
  float *obs = hint_calloc((size_t)STEPS * o.obs_n, sizeof(float));
  float *state = hint_calloc((size_t)STEPS * o.state_n, sizeof(float));
  float *rew = hint_calloc((size_t)STEPS * E, sizeof(float));
  uint8_t *flags = hint_calloc((size_t)STEPS * 3 * E, 1);
  int after = 0;
  for (int t = 0; t < STEPS; t++) {
    int32_t *at = acts + (size_t)t * E * na;
    mixed_actions(a, &ar, at);
    env_vec_step_all(a, at, &o.b);
    memcpy(obs + (size_t)t * o.obs_n, o.obs, sizeof(float) * o.obs_n);
    memcpy(state + (size_t)t * o.state_n, o.state, sizeof(float) * o.state_n);
    memcpy(rew + (size_t)t * E, o.rew, sizeof(float) * E);
    memcpy(flags + (size_t)t * 3 * E, o.done, E);
    memcpy(flags + (size_t)t * 3 * E + E, o.trunc, E);
    memcpy(flags + (size_t)t * 3 * E + 2 * E, o.status, E);
    for (int i = 0; i < E; i++)
      after += o.done[i];
  }
  assert_true(after > 0); /* auto-resets happen after the restore */
  const env_stats_t sa = env_vec_take_stats(a);
  assert_true(sa.episodes == (float)(before + after));

  /* another seed and rank, and a history of its own: different until it
   * loads */
  env_vec_t *b = make(&c, E, 3, 987654321);
  out_t ob;
  out_init(&ob, d);
  hint_rng_t br;
  hint_rng_seed(&br, 31, 0, 0);
  run(b, &br, 97, &ob, act);
  env_vec_observe(b, 0, E, &ob.b);
  assert_true(memcmp(ob.state, snap.state, sizeof(float) * ob.state_n) != 0);
  assert_int_equal(env_vec_state_size(b), len);
  uint8_t *blob2 = hint_malloc(len);
  const long live = hint_alloc_live();
  hint_alloc_fail_after(0); /* neither call may allocate */
  const int rc_load = env_vec_state_load(b, blob, len);
  const int rc_save = env_vec_state_save(b, blob2, len);
  hint_alloc_fail_after(-1);
  assert_int_equal(rc_load, 0);
  assert_int_equal(rc_save, 0);
  assert_int_equal(hint_alloc_live(), live);
  env_vec_observe(b, 0, E, &ob.b);
  assert_memory_equal(ob.obs, snap.obs, sizeof(float) * ob.obs_n);
  assert_memory_equal(ob.state, snap.state, sizeof(float) * ob.state_n);
  /* the restored vector saves the same blob */
  assert_memory_equal(blob2, blob, len);

  for (int t = 0; t < STEPS; t++) {
    env_vec_step_all(b, acts + (size_t)t * E * na, &ob.b);
    assert_memory_equal(ob.obs, obs + (size_t)t * o.obs_n, sizeof(float) * o.obs_n);
    assert_memory_equal(ob.state, state + (size_t)t * o.state_n, sizeof(float) * o.state_n);
    assert_memory_equal(ob.rew, rew + (size_t)t * E, sizeof(float) * E);
    assert_memory_equal(ob.done, flags + (size_t)t * 3 * E, E);
    assert_memory_equal(ob.trunc, flags + (size_t)t * 3 * E + E, E);
    assert_memory_equal(ob.status, flags + (size_t)t * 3 * E + 2 * E, E);
  }
  const env_stats_t sb = env_vec_take_stats(b);
  assert_memory_equal(&sb, &sa, sizeof sa);
  for (int i = 0; i < E; i++) {
    env_stats_t la = env_vec_last_episode(a, i), lb = env_vec_last_episode(b, i);
    assert_memory_equal(&la, &lb, sizeof la);
  }
  /* and the end states agree too */
  size_t la_len, lb_len;
  uint8_t *end_a = save(a, &la_len), *end_b = save(b, &lb_len);
  assert_memory_equal(end_a, end_b, la_len);

  hint_free(end_a);
  hint_free(end_b);
  hint_free(blob2);
  hint_free(acts);
  hint_free(obs);
  hint_free(state);
  hint_free(rew);
  hint_free(flags);
  hint_free(blob);
  hint_free(act);
  out_fini(&o);
  out_fini(&ob);
  out_fini(&snap);
  env_vec_destroy(&a);
  env_vec_destroy(&b);
  assert_null(a);
}

static void test_resume_fc5(void **st) {
  (void)st;
  check_resume(FC5);
}
static void test_resume_fc10(void **st) {
  (void)st;
  check_resume(FC10);
}
static void test_resume_marine5(void **st) {
  (void)st;
  check_resume(MAR5);
}
static void test_resume_marine10(void **st) {
  (void)st;
  check_resume(MAR10);
}

/* ---- Refusals leave the vector alone ------------------------------------- */

/* Loads that must fail, each checked to leave v's blob as it was. */
static void expect_refused(env_vec_t *v, const uint8_t *blob, size_t len, int code,
                           const uint8_t *before, size_t before_len) {
  assert_int_equal(env_vec_state_load(v, blob, len), code);
  uint8_t *now = hint_malloc(before_len);
  assert_int_equal(env_vec_state_save(v, now, before_len), 0);
  assert_memory_equal(now, before, before_len);
  hint_free(now);
}

static void check_refusals(int k) {
  const hint_config_t c = case_cfg(k);
  const int marine = c.env.name == HINT_ENV_MARINE;
  /* a donor with another state, and the victim with its untouched twin */
  env_vec_t *donor = make(&c, E, 0, 5);
  env_vec_t *v = make(&c, E, 1, 6), *twin = make(&c, E, 1, 6);
  const env_dims_t *d = env_vec_dims(v);
  out_t o, ot;
  out_init(&o, d);
  out_init(&ot, d);
  int32_t *act = hint_calloc((size_t)E * (size_t)d->n_agents, sizeof(int32_t));
  hint_rng_t r1, r2, r3;
  hint_rng_seed(&r1, 1, 0, 0);
  hint_rng_seed(&r2, 1, 0, 0);
  hint_rng_seed(&r3, 9, 0, 0);
  run(donor, &r3, 120, &o, act);
  run(v, &r1, 90, &o, act);
  run(twin, &r2, 90, &ot, act);
  size_t len, vlen;
  uint8_t *good = save(donor, &len);
  uint8_t *mine = save(v, &vlen);
  assert_int_equal(len, vlen);
  assert_true(memcmp(good, mine, len) != 0);
  uint8_t *bad = hint_malloc(len + 1);

  /* truncated, padded, empty */
  expect_refused(v, good, len - 1, HINT_EPARSE, mine, vlen);
  expect_refused(v, good, HEADER - 1, HINT_EPARSE, mine, vlen);
  expect_refused(v, good, HEADER, HINT_EPARSE, mine, vlen);
  expect_refused(v, good, 0, HINT_EPARSE, mine, vlen);
  memcpy(bad, good, len);
  bad[len] = 0;
  expect_refused(v, bad, len + 1, HINT_EPARSE, mine, vlen);
  /* magic, version */
  memcpy(bad, good, len);
  bad[0] ^= 1;
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  memcpy(bad, good, len);
  poke_i32(bad, 8, 2);
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  /* header fields that disagree with the vector */
  const size_t shape_fields[] = {12, 16, 20, 24, 28, 32};
  for (size_t f = 0; f < sizeof shape_fields / sizeof shape_fields[0]; f++) {
    memcpy(bad, good, len);
    bad[shape_fields[f]] ^= 1;
    expect_refused(v, bad, len, HINT_ESHAPE, mine, vlen);
  }
  /* values a step would trip over, in the LAST copy, so a loader that
   * restored copy by copy would already have changed the others */
  const size_t last = copy_off(good, E - 1);
  memcpy(bad, good, len);
  bad[last + 8] &= 0xfe; /* even RNG increment */
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  memcpy(bad, good, len);
  poke_i32(bad, last + 16, -1); /* step */
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  memcpy(bad, good, len);
  poke_i32(bad, last + 16, c.env.episode_limit); /* step at the limit */
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  const size_t pos = last + (marine ? 44 : 48); /* agent 0's row */
  memcpy(bad, good, len);
  poke_i16(bad, pos, (int16_t)c.env.size);
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  memcpy(bad, good, len);
  poke_i16(bad, pos + 2, -1);
  expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  if (marine) {
    memcpy(bad, good, len);
    poke_i32(bad, last + 24, c.env.waves.frames); /* frame past the field */
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    memcpy(bad, good, len);
    poke_i32(bad, last + 20, c.env.waves.frames - c.env.episode_limit + 1); /* t0 */
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    const size_t fuel = pos + 4 * (size_t)d->n_agents; /* routing ship 0 */
    memcpy(bad, good, len);
    poke_i32(bad, fuel, c.env.size + 1);
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    const size_t arrived = fuel + 8 * (size_t)c.env.routing_ships;
    memcpy(bad, good, len);
    bad[arrived] = 2;
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    if (c.env.enemies > 0) {
      /* patrol 0: i16 row, col, lo, hi; i8 axis, dir (the record's tail) */
      const size_t patrol = last + per_copy(good) - 20 - 10 * (size_t)c.env.enemies;
      memcpy(bad, good, len);
      bad[patrol + 9] = 2; /* direction */
      expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
      memcpy(bad, good, len);
      bad[patrol + 8] = 2; /* axis */
      expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
      int16_t lo;
      memcpy(&lo, bad + patrol + 4, 2);
      memcpy(bad, good, len);
      poke_i16(bad, patrol + 6, lo); /* a one-cell lane */
      expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    }
  } else {
    const size_t n_fronts = last + 20, fx = pos + 4 * (size_t)d->n_agents;
    memcpy(bad, good, len);
    poke_i32(bad, n_fronts, c.env.fires + 1);
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    memcpy(bad, good, len);
    const float off_map = (float)c.env.size, nan = NAN;
    memcpy(bad + fx, &off_map, 4);
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    memcpy(bad, good, len);
    memcpy(bad + fx, &nan, 4);
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    memcpy(bad, good, len);
    poke_i32(bad, last + 24, -1); /* n_burning disagrees with the map */
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    /* spread factors that would throw a front off the map: the record ends
     * ratio[s], wsin[s], wcos[s] */
    const size_t end = last + per_copy(good) - 20, row = 4 * (size_t)c.env.size;
    const float big = 1e30f, two = 2.0f;
    memcpy(bad, good, len);
    memcpy(bad + end - 3 * row, &big, 4);
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
    memcpy(bad, good, len);
    memcpy(bad + end - 2 * row, &two, 4);
    expect_refused(v, bad, len, HINT_EPARSE, mine, vlen);
  }

  /* a blob from another vector size, kind, config or (MARINE) wave field */
  hint_config_t other = c;
  other.env.size = c.env.size == 5 ? 10 : 5;
  env_vec_t *x = make(&other, E, 0, 5);
  size_t xlen;
  uint8_t *xb = save(x, &xlen);
  expect_refused(v, xb, xlen, HINT_ESHAPE, mine, vlen);
  hint_free(xb);
  env_vec_destroy(&x);
  x = make(&c, E / 2, 0, 5);
  xb = save(x, &xlen);
  expect_refused(v, xb, xlen, HINT_ESHAPE, mine, vlen);
  hint_free(xb);
  env_vec_destroy(&x);
  other = c;
  other.env.name = marine ? HINT_ENV_FIRE_COMMANDER : HINT_ENV_MARINE;
  x = make(&other, E, 0, 5);
  xb = save(x, &xlen);
  expect_refused(v, xb, xlen, HINT_ESHAPE, mine, vlen);
  hint_free(xb);
  env_vec_destroy(&x);
  /* same sizes, another value the env reads: the fingerprint tells */
  other = c;
  other.env.episode_limit = c.env.episode_limit + 1;
  x = make(&other, E, 0, 5);
  xb = save(x, &xlen);
  assert_int_equal(xlen, len);
  expect_refused(v, xb, xlen, HINT_ESHAPE, mine, vlen);
  hint_free(xb);
  env_vec_destroy(&x);
  if (marine) {
    other = c;
    other.env.waves.mean = c.env.waves.mean + 1.0; /* another ocean */
    x = make(&other, E, 0, 5);
    xb = save(x, &xlen);
    assert_int_equal(xlen, len);
    expect_refused(v, xb, xlen, HINT_ESHAPE, mine, vlen);
    hint_free(xb);
    env_vec_destroy(&x);
  }

  /* too small a buffer: HINT_ERANGE and not a byte written */
  memset(bad, 0xab, len + 1);
  assert_int_equal(env_vec_state_save(v, bad, len - 1), HINT_ERANGE);
  for (size_t i = 0; i < len + 1; i++)
    assert_int_equal(bad[i], 0xab);

  /* after all that, v steps exactly like its untouched twin */
  for (int t = 0; t < 200; t++) {
    random_actions(&r1, d, act);
    env_vec_step_all(v, act, &o.b);
    env_vec_step_all(twin, act, &ot.b);
    out_equal(&o, &ot);
  }
  env_stats_t sv = env_vec_take_stats(v), st = env_vec_take_stats(twin);
  assert_memory_equal(&sv, &st, sizeof sv);
  assert_true(sv.episodes > 0);

  hint_free(bad);
  hint_free(good);
  hint_free(mine);
  hint_free(act);
  out_fini(&o);
  out_fini(&ot);
  env_vec_destroy(&donor);
  env_vec_destroy(&v);
  env_vec_destroy(&twin);
}

static void test_refusals_fc5(void **st) {
  (void)st;
  check_refusals(FC5);
}
static void test_refusals_fc10(void **st) {
  (void)st;
  check_refusals(FC10);
}
static void test_refusals_marine5(void **st) {
  (void)st;
  check_refusals(MAR5);
}
static void test_refusals_marine10(void **st) {
  (void)st;
  check_refusals(MAR10);
}

/* Random byte damage to the copy records: every load either fails and
 * leaves the vector as it was, or succeeds into a state the env can step
 * (run this test under the address sanitizer to make "can step" strict). */
static void test_random_damage(void **st) {
  (void)st;
  for (int k = 0; k < N_CASES; k++) {
    const hint_config_t c = case_cfg(k);
    env_vec_t *donor = make(&c, E, 0, 21), *v = make(&c, E, 0, 22);
    const env_dims_t *d = env_vec_dims(v);
    out_t o;
    out_init(&o, d);
    int32_t *act = hint_calloc((size_t)E * (size_t)d->n_agents, sizeof(int32_t));
    hint_rng_t r;
    hint_rng_seed(&r, 77, 0, (uint64_t)k);
    run(donor, &r, 60, &o, act);
    size_t len;
    uint8_t *good = save(donor, &len), *bad = hint_malloc(len), *now = hint_malloc(len);
    int refused = 0, accepted = 0;
    for (int trial = 0; trial < 300; trial++) {
      uint8_t *before = save(v, &len);
      memcpy(bad, good, len);
      const int flips = 1 + (int)hint_rng_below(&r, 3);
      for (int f = 0; f < flips; f++) {
        size_t at = HEADER + hint_rng_below(&r, (uint32_t)(len - HEADER));
        bad[at] ^= (uint8_t)(1u << hint_rng_below(&r, 8));
      }
      int rc = env_vec_state_load(v, bad, len);
      if (rc) {
        assert_int_equal(rc, HINT_EPARSE);
        assert_int_equal(env_vec_state_save(v, now, len), 0);
        assert_memory_equal(now, before, len);
        refused++;
      } else {
        accepted++;
      }
      run(v, &r, 20, &o, act);
      hint_free(before);
    }
    assert_true(refused > 0);
    assert_true(accepted > 0);
    hint_free(good);
    hint_free(bad);
    hint_free(now);
    hint_free(act);
    out_fini(&o);
    env_vec_destroy(&donor);
    env_vec_destroy(&v);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_resume_fc5),       cmocka_unit_test(test_resume_fc10),
      cmocka_unit_test(test_resume_marine5),   cmocka_unit_test(test_resume_marine10),
      cmocka_unit_test(test_refusals_fc5),     cmocka_unit_test(test_refusals_fc10),
      cmocka_unit_test(test_refusals_marine5), cmocka_unit_test(test_refusals_marine10),
      cmocka_unit_test(test_random_damage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
