/* test_env_fc.c: FireCommander against environments.md.
 *
 * Spec invariants on hand-built states (fire_spread off where the test needs
 * a still fire), invariants along random trajectories, and the statistical
 * reference points with their tolerances stated at each check. Statistical
 * checks use fixed seeds, so they are deterministic; the tolerances say how
 * far from the spec's figure the measured value may be.
 */
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/env/fc.h"

#include "tests/unit/test_util.h"

#include <string.h>

static hint_config_t fc_cfg(int size, int p, int a, int vision) {
  hint_config_t c;
  hint_config_defaults(&c);
  c.env.name = HINT_ENV_FIRE_COMMANDER;
  c.env.size = size;
  c.env.perception_agents = p;
  c.env.action_agents = a;
  c.env.vision = vision;
  c.env.fires = 1;
  c.env.episode_limit = 80;
  c.env.reward = HINT_REWARD_PER_FIRE;
  c.env.pruned_trap = 1;
  c.env.fire_spread = 1;
  c.env.privileged = 1;
  return c;
}

/* Puts fc in a hand-made state: agents at cells, fires at cells (each a
 * burning cell with a front), nothing extinguished, step 0. */
static void place(fc_t *fc, const int (*agents)[2], const int (*fires)[2], int n_fires) {
  const int s = fc->size;
  memset(fc->burning, 0, (size_t)(s * s));
  memset(fc->extinguished, 0, (size_t)(s * s));
  for (int i = 0; i < fc->n; i++) {
    fc->pos[i][0] = (int16_t)agents[i][0];
    fc->pos[i][1] = (int16_t)agents[i][1];
  }
  for (int f = 0; f < n_fires; f++) {
    fc->fx[f] = (float)fires[f][0];
    fc->fy[f] = (float)fires[f][1];
    fc->burning[fires[f][0] * s + fires[f][1]] = 1;
  }
  fc->n_fronts = n_fires;
  fc->n_burning = n_fires;
  fc->step = 0;
  fc->ret = 0.0f;
  fc->false_drops = 0;
}

static void test_spread_constants(void **st) {
  (void)st;
  /* environments.md: C/R is 0 at U=0, ~0.36 at U=1, ~0.43 at U=2. */
  assert_true(fabs(fc_spread_ratio(0.0)) < 1e-12);
  assert_true(fabs(fc_spread_ratio(1.0) - 0.36) < 0.01);
  assert_true(fabs(fc_spread_ratio(2.0) - 0.43) < 0.01);
  /* and it grows with the wind */
  assert_true(fc_spread_ratio(3.0) > fc_spread_ratio(2.0));
}

static void test_dims(void **st) {
  (void)st;
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  env_dims_t d;
  c.env.privileged = 0;
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.n_agents, 3);
  assert_int_equal(d.obs_dim, 3 * 9 + 25);
  assert_int_equal(d.n_actions, 6);
  assert_int_equal(d.class_count[0], 2);
  assert_int_equal(d.class_first[1], 2);
  assert_int_equal(d.class_of[2], 1);
  assert_int_equal(d.state_dim, 2 * 3 + 25 + 1);
  c.env.privileged = 1;
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.state_dim, 2 * 3 + 25 + 1 + 2 * 25 + 3 * 5);
  c = fc_cfg(20, 6, 4, 2);
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.obs_dim, 3 * 25 + 400);
}

static void test_reset_draws_distinct_cells(void **st) {
  (void)st;
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  c.env.fires = 3;
  fc_t fc;
  assert_int_equal(fc_init(&fc, &c, 5, 0, 0), 0);
  for (int ep = 0; ep < 500; ep++) {
    int seen[25] = {0};
    for (int i = 0; i < fc.n; i++)
      seen[fc.pos[i][0] * 5 + fc.pos[i][1]]++;
    for (int f = 0; f < fc.n_fronts; f++)
      seen[(int)fc.fx[f] * 5 + (int)fc.fy[f]]++;
    for (int k = 0; k < 25; k++)
      assert_true(seen[k] <= 1);
    assert_int_equal(fc.n_fronts, 3);
    assert_int_equal(fc.n_burning, 3);
    for (int k = 0; k < 25; k++)
      assert_true(fc.rmap[k] > 0.0f && fc.rmap[k] < 7.0f);
    fc_reset(&fc);
  }
  fc_fini(&fc);
}

static void test_extinguish_front_deletes_it(void **st) {
  (void)st;
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  c.env.fire_spread = 0;
  c.env.fires = 2;
  fc_t fc;
  assert_int_equal(fc_init(&fc, &c, 1, 0, 0), 0);
  const int ag[3][2] = {{0, 0}, {0, 1}, {2, 2}};
  const int fi[2][2] = {{2, 2}, {4, 4}};
  place(&fc, ag, fi, 2);
  fc.fx[0] = 2.7f; /* truncates to row 2: still this cell */
  int32_t act[3] = {FC_STAY, FC_STAY, FC_EXTINGUISH};
  float r;
  int status = fc_step(&fc, act, NULL, 0, NULL, &r);
  assert_int_equal(status, ENV_RUNNING);
  assert_int_equal(fc.n_fronts, 1);
  assert_true(fc.fx[0] == 4.0f && fc.fy[0] == 4.0f);
  assert_int_equal(fc.burning[2 * 5 + 2], 0);
  assert_int_equal(fc.extinguished[2 * 5 + 2], 1);
  assert_int_equal(fc.n_burning, 1);
  assert_int_equal(fc.last_fronts_killed, 1);
  assert_int_equal(fc.last_false_drops, 0);
  /* per_fire: every agent -0.1 per burning cell */
  assert_true(fabsf(r - 3 * -0.1f * 1) < 1e-6f);
  fc_fini(&fc);
}

static void test_false_drops_and_rewards(void **st) {
  (void)st;
  const int ag[3][2] = {{0, 0}, {0, 1}, {1, 1}};
  const int fi[2][2] = {{3, 3}, {4, 4}};
  float r;
  for (int variant = 0; variant < 3; variant++) {
    hint_config_t c = fc_cfg(5, 2, 1, 1);
    c.env.fire_spread = 0;
    c.env.fires = 2;
    c.env.reward = variant;
    fc_t fc;
    assert_int_equal(fc_init(&fc, &c, 1, 0, 0), 0);
    place(&fc, ag, fi, 2);
    /* A agent drops water on a cell that neither burns nor holds a front;
     * P agents' action 5 is a no-op, never a drop. */
    int32_t drop[3] = {FC_EXTINGUISH, FC_EXTINGUISH, FC_EXTINGUISH};
    fc_step(&fc, drop, NULL, 0, NULL, &r);
    assert_int_equal(fc.last_false_drops, 1);
    fc_step(&fc, drop, NULL, 0, NULL, &r);
    assert_int_equal(fc.false_drops, 2);
    float want = variant == HINT_REWARD_PER_FIRE    ? 3 * -0.1f * 2
                 : variant == HINT_REWARD_CAPTURE   ? 3 * -0.1f
                                                    : 3 * -0.1f * 2 - 0.1f;
    assert_true(fabsf(r - want) < 1e-5f);
    if (variant == HINT_REWARD_CAPTURE) {
      /* a burning cell without a front put out: 0; a front: +10 each */
      fc.burning[1 * 5 + 1] = 1;
      fc.n_burning++;
      fc_step(&fc, drop, NULL, 0, NULL, &r);
      assert_true(fabsf(r) < 1e-6f);
      fc.pos[2][0] = 3;
      fc.pos[2][1] = 3;
      fc_step(&fc, drop, NULL, 0, NULL, &r);
      assert_true(fabsf(r - 30.0f) < 1e-5f);
    }
    fc_fini(&fc);
  }
}

static void test_success_exactly_when_nothing_burns(void **st) {
  (void)st;
  /* Hand-made: two still fires; putting out one is not success, both is. */
  hint_config_t c = fc_cfg(5, 0, 2, 1);
  c.env.fire_spread = 0;
  c.env.fires = 2;
  fc_t fc;
  float r;
  assert_int_equal(fc_init(&fc, &c, 1, 0, 0), 0);
  const int ag[2][2] = {{1, 1}, {0, 0}};
  const int fi[2][2] = {{1, 1}, {3, 3}};
  place(&fc, ag, fi, 2);
  int32_t act[2] = {FC_EXTINGUISH, FC_STAY};
  assert_int_equal(fc_step(&fc, act, NULL, 0, NULL, &r), ENV_RUNNING);
  fc.pos[1][0] = 3;
  fc.pos[1][1] = 3;
  int32_t act2[2] = {FC_STAY, FC_EXTINGUISH};
  assert_int_equal(fc_step(&fc, act2, NULL, 0, NULL, &r), ENV_SUCCESS);
  assert_int_equal(fc.n_fronts, 0);
  fc_fini(&fc);
  /* Random trajectories: success iff no cell burns; the trail never
   * shrinks except at a cell an action agent extinguished this step. */
  c = fc_cfg(5, 2, 1, 1);
  assert_int_equal(fc_init(&fc, &c, 77, 0, 3), 0);
  hint_rng_t rng;
  hint_rng_seed(&rng, 9, 0, 0);
  uint8_t before[25];
  int successes = 0, episodes = 0;
  for (int t = 0; t < 200000; t++) {
    int32_t a[3];
    for (int i = 0; i < 3; i++)
      a[i] = (int32_t)hint_rng_below(&rng, 6);
    memcpy(before, fc.burning, 25);
    int status = fc_step(&fc, a, NULL, 0, NULL, &r);
    int count = 0;
    for (int k = 0; k < 25; k++) {
      count += fc.burning[k];
      if (before[k] && !fc.burning[k]) /* went out: only where A extinguished */
        assert_true(a[2] == FC_EXTINGUISH && fc.pos[2][0] * 5 + fc.pos[2][1] == k);
    }
    assert_int_equal(count, fc.n_burning);
    /* fronts always sit on burning cells */
    for (int f = 0; f < fc.n_fronts; f++)
      assert_int_equal(fc.burning[(int)fc.fx[f] * 5 + (int)fc.fy[f]], 1);
    assert_int_equal(status == ENV_SUCCESS, fc.n_burning == 0);
    if (status == ENV_TIMEOUT)
      assert_int_equal(fc.step, 80);
    if (status != ENV_RUNNING) {
      successes += status == ENV_SUCCESS;
      episodes++;
      fc_reset(&fc);
    }
  }
  assert_true(episodes > 1000 && successes > 0);
  fc_fini(&fc);
}

static void test_pruned_trap_and_spread_switch(void **st) {
  (void)st;
  const int ag[3][2] = {{0, 0}, {0, 1}, {0, 2}};
  const int fi[1][2] = {{2, 2}};
  int32_t stay[3] = {FC_STAY, FC_STAY, FC_STAY};
  float r;
  for (int pruned = 0; pruned < 2; pruned++) {
    hint_config_t c = fc_cfg(5, 2, 1, 1);
    c.env.pruned_trap = pruned;
    fc_t fc;
    assert_int_equal(fc_init(&fc, &c, 1, 0, 0), 0);
    place(&fc, ag, fi, 1);
    /* strong wind straight down every row: the front must move if free */
    for (int k = 0; k < 5; k++) {
      fc.ratio[k] = 0.4f;
      fc.wsin[k] = 1.0f;
      fc.wcos[k] = 0.0f;
    }
    for (int k = 0; k < 25; k++)
      fc.rmap[k] = 5.0f;
    fc.extinguished[2 * 5 + 2] = 1; /* put out earlier, then re-ignited */
    fc_step(&fc, stay, NULL, 0, NULL, &r);
    if (pruned) {
      assert_true(fc.fx[0] == 2.0f && fc.fy[0] == 2.0f);
      assert_int_equal(fc.n_burning, 1);
    } else {
      assert_true(fabsf(fc.fx[0] - 4.0f) < 1e-6f && fc.fy[0] == 2.0f);
      assert_int_equal(fc.burning[4 * 5 + 2], 1);
      assert_int_equal(fc.burning[2 * 5 + 2], 1); /* the trail stays */
    }
    fc_fini(&fc);
  }
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  c.env.fire_spread = 0;
  c.env.fires = 4;
  fc_t fc;
  assert_int_equal(fc_init(&fc, &c, 3, 0, 0), 0);
  float x0[4], y0[4];
  memcpy(x0, fc.fx, sizeof x0);
  memcpy(y0, fc.fy, sizeof y0);
  for (int t = 0; t < 79; t++)
    assert_int_equal(fc_step(&fc, stay, NULL, 0, NULL, &r), ENV_RUNNING);
  assert_memory_equal(x0, fc.fx, sizeof x0);
  assert_memory_equal(y0, fc.fy, sizeof y0);
  assert_int_equal(fc.n_burning, 4);
  assert_int_equal(fc_step(&fc, stay, NULL, 0, NULL, &r), ENV_TIMEOUT);
  fc_fini(&fc);
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void test_burning_after_80_steps(void **st) {
  (void)st;
  /* environments.md: with no agents acting, 5x5 has ~10 burning cells after
   * 80 steps (mean, ~4 to ~17). Agents that only stay are "no agents". Over
   * 3000 episodes the standard error of the mean is ~0.1; accept 9..11. We
   * read "~4 to ~17" as the 10th and 90th percentiles; accept 3..5 and
   * 15..19. */
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  fc_t fc;
  assert_int_equal(fc_init(&fc, &c, 11, 0, 0), 0);
  int32_t stay[3] = {FC_STAY, FC_STAY, FC_STAY};
  float r;
  enum { N = 3000 };
  static int count[N];
  double sum = 0;
  for (int ep = 0; ep < N; ep++) {
    for (int t = 0; t < 80; t++)
      fc_step(&fc, stay, NULL, 0, NULL, &r);
    count[ep] = fc.n_burning;
    sum += fc.n_burning;
    fc_reset(&fc);
  }
  qsort(count, N, sizeof(int), cmp_int);
  const double mean = sum / N;
  const int p10 = count[N / 10], p90 = count[9 * N / 10];
  print_message("burning after 80 steps: mean %.2f, 10th..90th percentile %d..%d\n", mean, p10,
                p90);
  assert_true(mean > 9.0 && mean < 11.0);
  assert_true(p10 >= 3 && p10 <= 5);
  assert_true(p90 >= 15 && p90 <= 19);
  fc_fini(&fc);
}

static void test_observation_layout(void **st) {
  (void)st;
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  c.env.fire_spread = 0;
  fc_t fc;
  assert_int_equal(fc_init(&fc, &c, 1, 0, 0), 0);
  const int ag[3][2] = {{0, 0}, {1, 1}, {1, 0}};
  const int fi[1][2] = {{0, 1}};
  place(&fc, ag, fi, 1);
  const int D = fc.obs_dim;
  float obs[3 * 52];
  float state[6 + 25 + 1 + 50 + 15];
  assert_int_equal(D, 52);
  fc_write_obs(&fc, obs, D);
  fc_write_state(&fc, state);
  /* P0 at (0,0), window rows -1..1, cols -1..1 */
  const float *o = obs;
  for (int k = 0; k < 3; k++) /* top row off the map */
    for (int ch = 0; ch < 3; ch++)
      assert_true(o[3 * k + ch] == -1.0f);
  assert_true(o[3 * 3 + 0] == -1.0f);         /* (0,-1) off the map */
  assert_true(o[3 * 4 + 0] == 1.0f);          /* (0,0): P0 itself */
  assert_true(o[3 * 5 + 2] == 1.0f);          /* (0,1) burning */
  assert_true(o[3 * 7 + 1] == 1.0f);          /* (1,0): the A agent */
  assert_true(o[3 * 8 + 0] == 1.0f);          /* (1,1): P1 */
  assert_true(o[27 + 0] == 1.0f);             /* own cell one-hot */
  float sum = 0;
  for (int k = 27; k < 52; k++)
    sum += o[k];
  assert_true(sum == 1.0f);
  /* the action agent is blind: only its own cell */
  const float *a = obs + 2 * D;
  for (int k = 0; k < 27; k++)
    assert_true(a[k] == 0.0f);
  assert_true(a[27 + 5] == 1.0f);
  /* state: positions, burning map, step fraction, fronts, R, wind */
  assert_true(state[0] == 0.0f && state[1] == 0.0f && state[2] == 1.0f && state[5] == 0.0f);
  assert_true(state[6 + 1] == 1.0f);
  assert_true(state[6 + 25] == 0.0f);
  assert_true(state[6 + 26 + 1] == 1.0f); /* front map */
  int r, col;
  env_state_pos(state, 2, &r, &col);
  assert_int_equal(r, 1);
  assert_int_equal(col, 0);
  fc_fini(&fc);
}

/* Plays n episodes on E copies; random or greedy actions. */
static void play(const hint_config_t *c, int greedy, int episodes, double *win, double *len) {
  env_vec_t *v;
  char err[256];
  const int E = 32;
  assert_int_equal(env_vec_create(&v, c, E, 0, 1234, err, sizeof err), 0);
  const env_dims_t *d = env_vec_dims(v);
  int32_t *act = hint_calloc((size_t)E * (size_t)d->n_agents, sizeof(int32_t));
  hint_rng_t rng;
  hint_rng_seed(&rng, 4321, 0, 0);
  env_buffers_t b = {0};
  env_stats_t tot = {0};
  while (tot.episodes < episodes) {
    if (greedy)
      env_vec_greedy(v, 0, E, act);
    else
      for (int i = 0; i < E * d->n_agents; i++)
        act[i] = (int32_t)hint_rng_below(&rng, (uint32_t)d->n_actions);
    env_vec_step_all(v, act, &b);
    env_stats_t s = env_vec_take_stats(v);
    tot.episodes += s.episodes;
    tot.success += s.success;
    tot.length += s.length;
  }
  *win = tot.success / tot.episodes;
  *len = tot.length / tot.episodes;
  hint_free(act);
  env_vec_destroy(&v);
}

static void test_reference_win_rates(void **st) {
  (void)st;
  double win, len;
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  /* random ~2%: 20000 episodes give a standard error of 0.1%; accept 1.2..3% */
  play(&c, 0, 20000, &win, &len);
  print_message("FC 5x5 2P1A random: win %.4f len %.2f\n", win, len);
  assert_true(win > 0.012 && win < 0.03);
  /* greedy ~100% in ~13 steps: accept >= 99.5%, mean length 12..14 */
  play(&c, 1, 10000, &win, &len);
  print_message("FC 5x5 2P1A greedy: win %.4f len %.2f\n", win, len);
  assert_true(win >= 0.995);
  assert_true(len > 12.0 && len < 14.0);
  /* 10x10 3P2A: random ~0% (accept < 1.5%); greedy ~100% in ~17 steps
   * (accept >= 99%, mean length 15.5..19.5; we measure ~18.2) */
  c = fc_cfg(10, 3, 2, 1);
  play(&c, 0, 3000, &win, &len);
  print_message("FC 10x10 3P2A random: win %.4f len %.2f\n", win, len);
  assert_true(win < 0.015);
  play(&c, 1, 5000, &win, &len);
  print_message("FC 10x10 3P2A greedy: win %.4f len %.2f\n", win, len);
  assert_true(win >= 0.99);
  assert_true(len > 15.5 && len < 19.5);
}

static char *read_text(const char *rel) {
  const char *root = getenv("HINT_SOURCE_ROOT");
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  static char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void test_render_matches_fixture(void **st) {
  (void)st;
  hint_config_t c = fc_cfg(5, 2, 1, 1);
  c.env.fire_spread = 0;
  c.env.fires = 2;
  env_vec_t *v;
  assert_int_equal(env_vec_create(&v, &c, 1, 0, 1, NULL, 0), 0);
  fc_t *fc = env_vec_fc(v, 0);
  const int ag[3][2] = {{0, 0}, {2, 3}, {2, 3}};
  const int fi[2][2] = {{1, 1}, {4, 2}};
  place(fc, ag, fi, 2);
  fc->burning[1 * 5 + 2] = 1;
  fc->burning[3 * 5 + 4] = 1;
  fc->n_burning = 4;
  fc->extinguished[0 * 5 + 4] = 1;
  fc->step = 7;
  char buf[2048];
  size_t n = env_vec_render(v, 0, buf, sizeof buf);
  assert_int_equal(n, strlen(buf));
  const char *want = read_text("tests/data/fc_render_5x5.txt");
  assert_non_null(want);
  if (strcmp(buf, want) != 0)
    print_error("render:\n%s\nfixture:\n%s\n", buf, want);
  assert_string_equal(buf, want);
  /* truncation reports the full length and stays NUL-terminated */
  char small[16];
  assert_int_equal(env_vec_render(v, 0, small, sizeof small), n);
  assert_int_equal(strlen(small), sizeof small - 1);
  env_vec_destroy(&v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spread_constants),
      cmocka_unit_test(test_dims),
      cmocka_unit_test(test_reset_draws_distinct_cells),
      cmocka_unit_test(test_extinguish_front_deletes_it),
      cmocka_unit_test(test_false_drops_and_rewards),
      cmocka_unit_test(test_success_exactly_when_nothing_burns),
      cmocka_unit_test(test_pruned_trap_and_spread_switch),
      cmocka_unit_test(test_burning_after_80_steps),
      cmocka_unit_test(test_observation_layout),
      cmocka_unit_test(test_reference_win_rates),
      cmocka_unit_test(test_render_matches_fixture),
  };
  return cmocka_run_group_tests_name("env_fc", tests, NULL, NULL);
}
