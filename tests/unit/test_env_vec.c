/* test_env_vec.c: the env vector (buffers, auto-reset, determinism,
 * evaluation set, no allocation in step), config validation, and the
 * teacher's feature and goal helpers. */
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/env/fc.h"
#include "common/env/marine.h"

#include "tests/unit/test_util.h"

#include <string.h>

static hint_config_t std_cfg(int marine, int big) {
  hint_config_t c;
  hint_config_defaults(&c);
  c.env.name = marine ? HINT_ENV_MARINE : HINT_ENV_FIRE_COMMANDER;
  c.env.size = big ? 10 : 5;
  c.env.vision = marine && !big ? 0 : 1;
  c.env.episode_limit = marine ? 100 : 80;
  c.env.perception_agents = big ? 3 : 2;
  c.env.action_agents = big ? 2 : 1;
  c.env.fires = 1;
  c.env.routing_ships = big ? 3 : 2;
  c.env.logistics_ships = big ? 2 : 1;
  c.env.privileged = 1;
  c.env.eval_seed = 2024;
  c.env.eval_episodes = 50;
  c.teacher.crop = 2;
  c.teacher.n_targets = 4;
  return c;
}

/* Buffers for one vector. */
typedef struct {
  float *obs, *state, *rew;
  uint8_t *done, *trunc, *status;
  int32_t *act;
  env_buffers_t b;
  size_t obs_n, state_n;
} bufs_t;

static void bufs_init(bufs_t *x, const env_dims_t *d, int E) {
  x->obs_n = (size_t)E * (size_t)d->n_agents * (size_t)d->obs_dim;
  x->state_n = (size_t)E * (size_t)d->state_dim;
  x->obs = hint_calloc(x->obs_n, sizeof(float));
  x->state = hint_calloc(x->state_n, sizeof(float));
  x->rew = hint_calloc((size_t)E, sizeof(float));
  x->done = hint_calloc((size_t)E, 1);
  x->trunc = hint_calloc((size_t)E, 1);
  x->status = hint_calloc((size_t)E, 1);
  x->act = hint_calloc((size_t)E * (size_t)d->n_agents, sizeof(int32_t));
  env_buffers_t b = {x->obs, x->state, x->rew, x->done, x->trunc, x->status};
  x->b = b;
}

static void bufs_fini(bufs_t *x) {
  hint_free(x->obs);
  hint_free(x->state);
  hint_free(x->rew);
  hint_free(x->done);
  hint_free(x->trunc);
  hint_free(x->status);
  hint_free(x->act);
}

/* Same seed -> byte-identical trajectories; env indices differ. */
static void test_determinism(void **st) {
  (void)st;
  for (int marine = 0; marine < 2; marine++) {
    hint_config_t c = std_cfg(marine, 1);
    const int E = 8;
    env_vec_t *a, *b;
    assert_int_equal(env_vec_create(&a, &c, E, 3, 77, NULL, 0), 0);
    assert_int_equal(env_vec_create(&b, &c, E, 3, 77, NULL, 0), 0);
    const env_dims_t *d = env_vec_dims(a);
    bufs_t x, y;
    bufs_init(&x, d, E);
    bufs_init(&y, d, E);
    env_vec_observe(a, 0, E, &x.b);
    env_vec_observe(b, 0, E, &y.b);
    const size_t per = (size_t)d->n_agents * (size_t)d->obs_dim;
    /* different env indices start differently */
    int differ = 0;
    for (int i = 1; i < E; i++)
      differ += memcmp(x.state, x.state + (size_t)i * (size_t)d->state_dim,
                       sizeof(float) * (size_t)d->state_dim) != 0;
    assert_int_equal(differ, E - 1);
    hint_rng_t r;
    hint_rng_seed(&r, 5, 0, 0);
    int dones = 0;
    for (int t = 0; t < 2000; t++) {
      for (int i = 0; i < E * d->n_agents; i++)
        x.act[i] = y.act[i] = (int32_t)hint_rng_below(&r, (uint32_t)d->n_actions);
      env_vec_step_all(a, x.act, &x.b);
      env_vec_step_all(b, y.act, &y.b);
      assert_memory_equal(x.obs, y.obs, sizeof(float) * x.obs_n);
      assert_memory_equal(x.state, y.state, sizeof(float) * x.state_n);
      assert_memory_equal(x.rew, y.rew, sizeof(float) * E);
      assert_memory_equal(x.done, y.done, E);
      assert_memory_equal(x.trunc, y.trunc, E);
      for (int i = 0; i < E; i++)
        dones += x.done[i];
    }
    assert_true(dones > 50);
    env_stats_t sa = env_vec_take_stats(a), sb = env_vec_take_stats(b);
    assert_memory_equal(&sa, &sb, sizeof sa);
    assert_true(sa.episodes == (float)dones);
    /* a different seed gives a different trajectory */
    env_vec_t *c2;
    assert_int_equal(env_vec_create(&c2, &c, E, 3, 78, NULL, 0), 0);
    bufs_t z;
    bufs_init(&z, d, E);
    env_vec_observe(c2, 0, E, &z.b);
    env_vec_observe(a, 0, E, &x.b);
    (void)per;
    assert_true(memcmp(z.state, x.state, sizeof(float) * x.state_n) != 0);
    bufs_fini(&x);
    bufs_fini(&y);
    bufs_fini(&z);
    env_vec_destroy(&a);
    env_vec_destroy(&b);
    env_vec_destroy(&c2);
    assert_null(a);
  }
}

/* After a done step the buffers hold the next episode's first observation;
 * stats count every finished episode once; truncation only at the limit. */
static void test_auto_reset_and_stats(void **st) {
  (void)st;
  for (int marine = 0; marine < 2; marine++) {
    hint_config_t c = std_cfg(marine, 0);
    const int E = 4;
    env_vec_t *v;
    assert_int_equal(env_vec_create(&v, &c, E, 0, 1, NULL, 0), 0);
    const env_dims_t *d = env_vec_dims(v);
    bufs_t x;
    bufs_init(&x, d, E);
    env_vec_observe(v, 0, E, &x.b);
    hint_rng_t r;
    hint_rng_seed(&r, 6, 0, 0);
    float ret[4] = {0}, len[4] = {0};
    int finished = 0;
    env_stats_t sum = {0};
    const int step_idx = d->base_state_dim - 1; /* step/episode_limit */
    for (int t = 0; t < 3000; t++) {
      for (int i = 0; i < E * d->n_agents; i++)
        x.act[i] = (int32_t)hint_rng_below(&r, (uint32_t)d->n_actions);
      env_vec_step_all(v, x.act, &x.b);
      for (int i = 0; i < E; i++) {
        ret[i] += x.rew[i];
        len[i] += 1;
        const float *s = x.state + (size_t)i * (size_t)d->state_dim;
        if (!x.done[i]) {
          assert_true(fabsf(s[step_idx] - len[i] / (float)c.env.episode_limit) < 1e-6f);
          assert_int_equal(x.status[i], ENV_RUNNING);
          continue;
        }
        assert_true(s[step_idx] == 0.0f); /* new episode */
        env_stats_t ep = env_vec_last_episode(v, i);
        assert_true(ep.episodes == 1.0f);
        assert_true(fabsf(ep.ret - ret[i]) < 1e-3f);
        assert_true(ep.length == len[i]);
        assert_true(ep.success == (x.status[i] == ENV_SUCCESS ? 1.0f : 0.0f));
        assert_int_equal(x.trunc[i], x.status[i] == ENV_TIMEOUT);
        if (x.trunc[i])
          assert_true(len[i] == (float)c.env.episode_limit);
        sum.ret += ep.ret;
        sum.length += ep.length;
        finished++;
        ret[i] = len[i] = 0;
      }
    }
    env_stats_t s = env_vec_take_stats(v);
    assert_true(s.episodes == (float)finished);
    assert_true(fabsf(s.ret - sum.ret) < 1e-2f * finished);
    assert_true(s.length == sum.length);
    s = env_vec_take_stats(v);
    assert_true(s.episodes == 0.0f);
    bufs_fini(&x);
    env_vec_destroy(&v);
  }
}

/* Stepping a subset leaves the other envs' buffers and states alone; the
 * vector never allocates while stepping. */
static void test_subset_and_no_allocation(void **st) {
  (void)st;
  for (int marine = 0; marine < 2; marine++) {
    hint_config_t c = std_cfg(marine, 1);
    const int E = 6;
    env_vec_t *v;
    assert_int_equal(env_vec_create(&v, &c, E, 0, 1, NULL, 0), 0);
    const env_dims_t *d = env_vec_dims(v);
    bufs_t x;
    bufs_init(&x, d, E);
    env_vec_observe(v, 0, E, &x.b);
    float *copy = hint_malloc(sizeof(float) * x.state_n);
    memcpy(copy, x.state, sizeof(float) * x.state_n);
    for (int i = 0; i < E * d->n_agents; i++)
      x.act[i] = 1;
    long live = hint_alloc_live();
    hint_alloc_fail_after(0); /* any allocation from here on fails */
    for (int t = 0; t < 500; t++) {
      env_vec_step(v, 2, 3, x.act, &x.b);
      env_vec_greedy(v, 0, E, x.act);
    }
    char buf[1024];
    env_vec_render(v, 0, buf, sizeof buf);
    hint_alloc_fail_after(-1);
    assert_int_equal(hint_alloc_live(), live);
    const size_t sd = (size_t)d->state_dim;
    assert_memory_equal(x.state, copy, sizeof(float) * 2 * sd);
    assert_memory_equal(x.state + 5 * sd, copy + 5 * sd, sizeof(float) * sd);
    assert_true(memcmp(x.state + 2 * sd, copy + 2 * sd, sizeof(float) * 3 * sd) != 0);
    hint_free(copy);
    bufs_fini(&x);
    env_vec_destroy(&v);
  }
}

static void test_create_out_of_memory(void **st) {
  (void)st;
  for (int marine = 0; marine < 2; marine++) {
    hint_config_t c = std_cfg(marine, 0);
    long live = hint_alloc_live();
    int failures = 0;
    for (long n = 0; n < 40; n++) {
      env_vec_t *v = NULL;
      hint_alloc_fail_after(n);
      int rc = env_vec_create(&v, &c, 3, 0, 1, NULL, 0);
      hint_alloc_fail_after(-1);
      if (rc == 0) {
        env_vec_destroy(&v);
        break;
      }
      assert_int_equal(rc, HINT_ENOMEM);
      assert_null(v);
      assert_int_equal(hint_alloc_live(), live);
      failures++;
    }
    assert_true(failures >= 3);
  }
}

/* The evaluation set: initial condition k is the same whatever the vector's
 * seed, rank or env index; different k differ; and the whole episode under
 * the same actions replays identically. */
static void test_eval_set(void **st) {
  (void)st;
  for (int marine = 0; marine < 2; marine++) {
    hint_config_t c = std_cfg(marine, 0);
    env_vec_t *a, *b;
    assert_int_equal(env_vec_create(&a, &c, 3, 0, 1, NULL, 0), 0);
    assert_int_equal(env_vec_create(&b, &c, 5, 7, 999, NULL, 0), 0);
    const env_dims_t *d = env_vec_dims(a);
    bufs_t x, y;
    bufs_init(&x, d, 3);
    bufs_init(&y, d, 5);
    const size_t sd = (size_t)d->state_dim;
    env_vec_reset_eval(a, 1, 12);
    env_vec_reset_eval(b, 4, 12);
    env_vec_reset_eval(a, 2, 13);
    env_vec_reset_eval(b, 0, 12 + c.env.eval_episodes); /* wraps to 12 */
    env_vec_observe(a, 0, 3, &x.b);
    env_vec_observe(b, 0, 5, &y.b);
    assert_memory_equal(x.state + sd, y.state + 4 * sd, sizeof(float) * sd);
    assert_memory_equal(x.state + sd, y.state, sizeof(float) * sd);
    assert_true(memcmp(x.state + sd, x.state + 2 * sd, sizeof(float) * sd) != 0);
    /* play both copies of condition 12 greedily to the end */
    int done_a = 0, done_b = 0, t = 0;
    while (!(done_a && done_b) && t++ < 200) {
      env_vec_greedy(a, 0, 3, x.act);
      env_vec_greedy(b, 0, 5, y.act);
      if (!done_a)
        env_vec_step(a, 1, 1, x.act, &x.b);
      if (!done_b)
        env_vec_step(b, 4, 1, y.act, &y.b);
      if (!done_a && !done_b)
        assert_memory_equal(x.state + sd, y.state + 4 * sd, sizeof(float) * sd);
      done_a |= x.done[1];
      done_b |= y.done[4];
    }
    env_stats_t ea = env_vec_last_episode(a, 1), eb = env_vec_last_episode(b, 4);
    assert_memory_equal(&ea, &eb, sizeof ea);
    assert_true(ea.episodes == 1.0f);
    bufs_fini(&x);
    bufs_fini(&y);
    env_vec_destroy(&a);
    env_vec_destroy(&b);
  }
}

static void expect_error(const hint_config_t *c, int code, const char *text) {
  char err[512] = "";
  int rc = env_validate(c, err, sizeof err);
  if (rc != code || !strstr(err, text))
    print_error("got %d '%s', want %d containing '%s'\n", rc, err, code, text);
  assert_int_equal(rc, code);
  assert_non_null(strstr(err, text));
  /* env_dims checks everything but the netCDF file (it needs no file) */
  env_dims_t d;
  if (!strstr(text, "netcdf"))
    assert_int_equal(env_dims(c, &d, NULL, 0), code);
}

static void test_validation(void **st) {
  (void)st;
  hint_config_t c = std_cfg(0, 0);
  assert_int_equal(env_validate(&c, NULL, 0), 0);
  c.env.vision = 6;
  expect_error(&c, HINT_EINFEASIBLE, "env.vision: 6 is larger than the map (size 5)");
  c.env.vision = 3; /* a 7x7 window on a 5x5 map */
  expect_error(&c, HINT_EINFEASIBLE, "env.vision: 3 is larger than the map (size 5)");
  c.env.vision = 2;
  assert_int_equal(env_validate(&c, NULL, 0), 0);
  c = std_cfg(0, 1);
  c.env.vision = 4;
  expect_error(&c, HINT_ECONFIG, "env.vision: 4 is outside 0..3");
  c = std_cfg(0, 0);
  c.env.perception_agents = 20;
  c.env.action_agents = 5;
  expect_error(&c, HINT_EINFEASIBLE, "26 need distinct cells, the 5x5 map has 25");
  c = std_cfg(0, 0);
  c.env.reward = 7;
  expect_error(&c, HINT_ECONFIG, "env.reward: unknown reward type 7");
  c = std_cfg(0, 0);
  c.env.size = 4;
  expect_error(&c, HINT_ECONFIG, "env.size: 4 is outside 5..50");
  c = std_cfg(0, 0);
  c.env.size = 51;
  expect_error(&c, HINT_ECONFIG, "env.size");
  c = std_cfg(0, 0);
  c.env.fires = 0;
  expect_error(&c, HINT_ECONFIG, "env.fires");
  c = std_cfg(0, 0);
  c.env.action_agents = 0;
  expect_error(&c, HINT_ECONFIG, "env.action_agents");
  c = std_cfg(0, 0);
  c.teacher.n_targets = 0;
  expect_error(&c, HINT_ECONFIG, "teacher.n_targets");
  c = std_cfg(1, 0);
  assert_int_equal(env_validate(&c, NULL, 0), 0);
  c.env.routing_ships = 6;
  expect_error(&c, HINT_EINFEASIBLE, "env.routing_ships: 6 cannot start in distinct rows");
  c = std_cfg(1, 0);
  c.env.logistics_ships = 26;
  expect_error(&c, HINT_EINFEASIBLE, "env.logistics_ships: 26 need distinct cells");
  c = std_cfg(1, 0);
  c.env.waves.frames = 100;
  c.env.privileged_frames = 2;
  expect_error(&c, HINT_EINFEASIBLE, "env.waves.frames: 100 is fewer than an episode needs (102");
  c = std_cfg(1, 0);
  c.env.waves.corr_len = 0;
  expect_error(&c, HINT_ECONFIG, "env.waves.corr_len");
  c = std_cfg(1, 0);
  c.env.waves.source = HINT_WAVES_NETCDF;
  c.env.waves.netcdf_path[0] = '\0';
  expect_error(&c, HINT_ECONFIG, "env.waves.netcdf_path: empty");
  /* env_vec_create refuses what env_validate refuses */
  env_vec_t *v = (env_vec_t *)&c;
  c = std_cfg(0, 0);
  c.env.vision = 6;
  char err[256];
  assert_int_equal(env_vec_create(&v, &c, 2, 0, 1, err, sizeof err), HINT_EINFEASIBLE);
  assert_null(v);
  assert_non_null(strstr(err, "env.vision"));
}

/* Features and targets are pure functions of the state; check values on a
 * hand-made FireCommander state, with and without privileged extras. */
static void test_features_fc(void **st) {
  (void)st;
  for (int priv = 0; priv < 2; priv++) {
    hint_config_t c = std_cfg(0, 0);
    c.env.privileged = priv;
    c.env.fire_spread = 0;
    c.env.fires = 2;
    c.teacher.crop = 1;
    c.teacher.n_targets = 3;
    env_feat_t f;
    assert_int_equal(env_feat_init(&f, &c, NULL, 0), 0);
    const int nch = 4 + 2 * priv;
    assert_int_equal(f.n_channels, nch);
    assert_int_equal(f.feat_dim, 4 + 9 * nch + 9);
    assert_int_equal(f.target_dim, 6);
    env_vec_t *v;
    assert_int_equal(env_vec_create(&v, &c, 1, 0, 1, NULL, 0), 0);
    fc_t *fc = env_vec_fc(v, 0);
    /* A agent (index 2) at (2,2); fronts at (0,4) and (4,4); burning trail
     * cell (2,3) without a front */
    fc->pos[0][0] = 0; fc->pos[0][1] = 0;
    fc->pos[1][0] = 1; fc->pos[1][1] = 2;
    fc->pos[2][0] = 2; fc->pos[2][1] = 2;
    memset(fc->burning, 0, 25);
    fc->fx[0] = 0; fc->fy[0] = 4;
    fc->fx[1] = 4.5f; fc->fy[1] = 4;
    fc->burning[4] = fc->burning[24] = fc->burning[13] = 1;
    fc->n_fronts = 2;
    fc->n_burning = 3;
    float state[256], feat[256], tf[3 * 6], feat2[256];
    int32_t cells[3];
    fc_write_state(fc, state);
    env_feat_agent(&f, state, 2, feat);
    assert_true(feat[0] == 0.5f && feat[1] == 0.5f && feat[2] == 1.0f && feat[3] == 0.0f);
    const float *crop = feat + 4;
    /* crop centre (1,1) = agent itself (action channel 3); (1,2) burning;
     * (0,1) = P1 at (1,2) */
    assert_true(crop[4 * nch + 3] == 1.0f);
    assert_true(crop[5 * nch + 1] == 1.0f);
    assert_true(crop[1 * nch + 2] == 1.0f);
    assert_true(crop[0 * nch + 0] == 0.0f);
    const float *near = crop + 9 * nch;
    if (priv) {
      /* nearest front: (0,4) and (4,4) are both 4 away; ties by cell index */
      assert_true(near[0] == -0.5f && near[1] == 0.5f && near[2] == 0.5f && near[3] == 1.0f);
      assert_true(crop[5 * nch + 4] == 0.0f);
    } else {
      /* without fronts in the state: the nearest burning cell (2,3) */
      assert_true(near[0] == 0.0f && near[1] == 0.25f && near[3] == 1.0f);
    }
    assert_true(near[4] == 0.0f && near[5] == 0.25f && near[6] == 0.125f && near[7] == 1.0f);
    assert_true(fabsf(near[8] - 3.0f / 25.0f) < 1e-7f);
    /* the P agent at (0,0) sees outside cells */
    env_feat_agent(&f, state, 0, feat2);
    assert_true(feat2[4 + 0 * nch] == 1.0f && feat2[4 + 4 * nch] == 0.0f);
    int n = env_feat_targets(&f, state, 2, cells, tf);
    assert_int_equal(n, 3);
    if (priv) {
      /* fronts first (ties by cell index), then the trail cell */
      assert_int_equal(cells[0], 4);
      assert_int_equal(cells[1], 24);
      assert_int_equal(cells[2], 13);
      assert_true(tf[3] == 1.0f && tf[4] == 0.0f && tf[6 * 2 + 4] == 1.0f);
      assert_true(fabsf(tf[5] - fc->rmap[4] / 7.0f) < 1e-6f);
    } else {
      assert_int_equal(cells[0], 13);
      assert_int_equal(cells[1], 4);
      assert_int_equal(cells[2], 24);
      assert_true(tf[3] == 0.0f && tf[4] == 1.0f);
    }
    /* fewer candidates than K: the rest are -1 and zero */
    c.teacher.n_targets = 5;
    assert_int_equal(env_feat_init(&f, &c, NULL, 0), 0);
    int32_t cells5[5];
    float tf5[5 * 6];
    assert_int_equal(env_feat_targets(&f, state, 0, cells5, tf5), 3);
    assert_int_equal(cells5[3], -1);
    assert_int_equal(cells5[4], -1);
    for (int k = 18; k < 30; k++)
      assert_true(tf5[k] == 0.0f);
    env_vec_destroy(&v);
  }
}

static void test_features_marine(void **st) {
  (void)st;
  hint_config_t c = std_cfg(1, 0);
  c.env.enemies = 1;
  c.teacher.crop = 1;
  c.teacher.n_targets = 3;
  env_feat_t f;
  assert_int_equal(env_feat_init(&f, &c, NULL, 0), 0);
  assert_int_equal(f.n_channels, 6);
  assert_int_equal(f.feat_dim, 6 + 9 * 6 + 4 + 5 + 4);
  env_vec_t *v;
  assert_int_equal(env_vec_create(&v, &c, 1, 0, 1, NULL, 0), 0);
  marine_t *m = env_vec_marine(v, 0);
  m->pos[0][0] = 0; m->pos[0][1] = 0; m->fuel_obs[0] = 5;
  m->pos[1][0] = 4; m->pos[1][1] = 0; m->fuel_obs[1] = 2;
  m->pos[2][0] = 2; m->pos[2][1] = 1;
  m->dest_r = 3;
  m->e_pos[0][0] = 1; m->e_pos[0][1] = 1;
  float state[128], feat[256], tf[18];
  int32_t cells[3];
  marine_write_state(m, state);
  /* routing ship 1: fuel 2/5; partner = logistics at (2,1) */
  env_feat_agent(&f, state, 1, feat);
  assert_true(feat[0] == 1.0f && feat[2] == 1.0f && fabsf(feat[3] - 0.4f) < 1e-6f);
  const float *near = feat + 6 + 9 * 6;
  assert_true(near[0] == -0.25f && near[1] == 1.0f && near[3] == 1.0f); /* destination */
  assert_true(near[4] == -0.5f && near[5] == 0.25f && near[7] == 1.0f); /* logistics */
  /* logistics ship: partner = the routing ship most in need (ship 1: fuel 2,
   * 5 to go) even though ship 0 is as close */
  env_feat_agent(&f, state, 2, feat);
  near = feat + 6 + 9 * 6;
  assert_true(near[4] == 0.5f && near[5] == -0.25f && near[7] == 1.0f);
  assert_true(fabsf(near[8] - 0.4f) < 1e-6f);
  /* the patrol at (1,1) sits in the logistics ship's crop (row -1, col 0) */
  assert_true(feat[6 + 1 * 6 + 4] == 1.0f);
  assert_true(near[9] == -0.25f && near[10] == 0.0f && near[12] == 1.0f);
  /* intensity channel from the privileged frame */
  const int lv = m->frame[2 * 5 + 1];
  assert_true(fabsf(feat[6 + 4 * 6 + 5] - (float)lv / 3.0f) < 1e-6f);
  /* targets: routing -> destination, then the logistics ship */
  assert_int_equal(env_feat_targets(&f, state, 0, cells, tf), 2);
  assert_int_equal(cells[0], 3 * 5 + 4);
  assert_int_equal(cells[1], 2 * 5 + 1);
  assert_int_equal(cells[2], -1);
  assert_true(tf[3] == 1.0f && tf[6 + 4] == 1.0f);
  /* logistics -> routing ships by distance (ties by index), then destination */
  assert_int_equal(env_feat_targets(&f, state, 2, cells, tf), 3);
  assert_int_equal(cells[0], 0);
  assert_int_equal(cells[1], 20);
  assert_int_equal(cells[2], 19);
  assert_true(fabsf(tf[6 + 5] - 0.4f) < 1e-6f && tf[12 + 3] == 1.0f);
  env_vec_destroy(&v);
}

/* Random states from real trajectories: features are finite, identical on
 * repeat, and targets are sorted nearest first within each kind. */
static void test_features_on_trajectories(void **st) {
  (void)st;
  for (int marine = 0; marine < 2; marine++) {
    hint_config_t c = std_cfg(marine, 1);
    c.teacher.crop = 3;
    c.teacher.n_targets = 6;
    env_feat_t f;
    assert_int_equal(env_feat_init(&f, &c, NULL, 0), 0);
    env_vec_t *v;
    assert_int_equal(env_vec_create(&v, &c, 4, 0, 3, NULL, 0), 0);
    const env_dims_t *d = env_vec_dims(v);
    bufs_t x;
    bufs_init(&x, d, 4);
    env_vec_observe(v, 0, 4, &x.b);
    float *feat = hint_malloc(sizeof(float) * (size_t)f.feat_dim * 2);
    float tf[6 * 6], tf2[6 * 6];
    int32_t cells[6], cells2[6];
    hint_rng_t r;
    hint_rng_seed(&r, 8, 0, 0);
    for (int t = 0; t < 300; t++) {
      for (int i = 0; i < 4 * d->n_agents; i++)
        x.act[i] = (int32_t)hint_rng_below(&r, (uint32_t)d->n_actions);
      env_vec_step_all(v, x.act, &x.b);
      for (int e = 0; e < 4; e++) {
        const float *s = x.state + (size_t)e * (size_t)d->state_dim;
        for (int i = 0; i < d->n_agents; i++) {
          env_feat_agent(&f, s, i, feat);
          env_feat_agent(&f, s, i, feat + f.feat_dim);
          assert_memory_equal(feat, feat + f.feat_dim, sizeof(float) * (size_t)f.feat_dim);
          for (int k = 0; k < f.feat_dim; k++)
            assert_true(isfinite(feat[k]) && fabsf(feat[k]) <= 10.0f);
          int n = env_feat_targets(&f, s, i, cells, tf);
          assert_int_equal(env_feat_targets(&f, s, i, cells2, tf2), n);
          assert_memory_equal(cells, cells2, sizeof cells);
          assert_true(n >= 1 && n <= 6);
          for (int k = 1; k < n; k++) {
            const float *p = tf + 6 * (k - 1), *q = tf + 6 * k;
            if (p[3] == q[3]) /* same kind: distance non-decreasing */
              assert_true(p[2] <= q[2]);
          }
        }
      }
    }
    hint_free(feat);
    bufs_fini(&x);
    env_vec_destroy(&v);
  }
}

/* Every size, vision, fire count, fleet, patrol count and privileged
 * setting the validator accepts runs: observations are in their value sets
 * (FireCommander counts or -1; MARINE bits), positions stay on the map, and
 * the greedy controller finishes episodes. */
static void test_config_sweep(void **st) {
  (void)st;
  const int sizes[3] = {5, 13, 50};
  for (int marine = 0; marine < 2; marine++)
    for (int si = 0; si < 3; si++)
      for (int vis = 0; vis <= 3; vis++) {
        hint_config_t c = std_cfg(marine, 0);
        const int s = sizes[si];
        c.env.size = s;
        c.env.vision = vis;
        c.env.privileged = (vis + si) % 2;
        c.env.fires = 1 + vis * 5 + si;
        c.env.perception_agents = 1 + si;
        c.env.action_agents = 1 + vis;
        c.env.routing_ships = 1 + vis;
        c.env.logistics_ships = si + vis % 2;
        c.env.enemies = (vis + si) % 3;
        c.env.privileged_frames = vis % 2;
        c.env.episode_limit = 30;
        c.env.reward = vis % 3;
        c.env.pruned_trap = si % 2;
        char err[256];
        if (2 * vis + 1 > s) { /* window larger than the map */
          assert_int_equal(env_validate(&c, err, sizeof err), HINT_EINFEASIBLE);
          continue;
        }
        assert_int_equal(env_validate(&c, err, sizeof err), 0);
        env_vec_t *v;
        const int E = 3;
        assert_int_equal(env_vec_create(&v, &c, E, 1, 2, err, sizeof err), 0);
        const env_dims_t *d = env_vec_dims(v);
        bufs_t x;
        bufs_init(&x, d, E);
        env_vec_observe(v, 0, E, &x.b);
        hint_rng_t r;
        hint_rng_seed(&r, (uint64_t)(vis * 10 + si), 0, 0);
        for (int t = 0; t < 100; t++) {
          if (t % 2)
            env_vec_greedy(v, 0, E, x.act);
          else
            for (int i = 0; i < E * d->n_agents; i++)
              x.act[i] = (int32_t)hint_rng_below(&r, (uint32_t)d->n_actions);
          env_vec_step_all(v, x.act, &x.b);
          for (size_t k = 0; k < x.obs_n; k++) {
            const float o = x.obs[k];
            if (marine)
              assert_true(o == 0.0f || o == 1.0f);
            else
              assert_true(o == -1.0f || (o >= 0.0f && o <= (float)d->n_agents && o == floorf(o)));
          }
          for (int e = 0; e < E; e++)
            for (int i = 0; i < d->n_agents; i++) {
              int row, col;
              env_state_pos(x.state + (size_t)e * (size_t)d->state_dim, i, &row, &col);
              assert_true(row >= 0 && row < s && col >= 0 && col < s);
            }
        }
        env_stats_t stats = env_vec_take_stats(v);
        assert_true(stats.episodes >= (float)E);
        bufs_fini(&x);
        env_vec_destroy(&v);
      }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_determinism),
      cmocka_unit_test(test_auto_reset_and_stats),
      cmocka_unit_test(test_subset_and_no_allocation),
      cmocka_unit_test(test_create_out_of_memory),
      cmocka_unit_test(test_eval_set),
      cmocka_unit_test(test_validation),
      cmocka_unit_test(test_config_sweep),
      cmocka_unit_test(test_features_fc),
      cmocka_unit_test(test_features_marine),
      cmocka_unit_test(test_features_on_trajectories),
  };
  return cmocka_run_group_tests_name("env_vec", tests, NULL, NULL);
}
