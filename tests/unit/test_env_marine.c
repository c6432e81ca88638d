/* test_env_marine.c: MARINE and its wave field against environments.md.
 *
 * Hand-built states run on a hand-made wave field (every cell one chosen
 * level), so refuel amounts are exact; random and greedy play check the
 * reference points; the netCDF source reads a small file the test makes
 * with ncgen.
 */
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/env/marine.h"
#include "common/env/waves.h"

#include "tests/unit/test_util.h"

#include <string.h>
#include <unistd.h>

static hint_config_t mar_cfg(int size, int r, int l, int vision) {
  hint_config_t c;
  hint_config_defaults(&c);
  c.env.name = HINT_ENV_MARINE;
  c.env.size = size;
  c.env.routing_ships = r;
  c.env.logistics_ships = l;
  c.env.vision = vision;
  c.env.episode_limit = 100;
  c.env.enemies = 0;
  c.env.privileged = 1;
  c.env.privileged_frames = 0;
  c.env.waves.source = HINT_WAVES_SYNTHETIC;
  c.env.waves.bins = HINT_WAVE_BINS_HARD;
  c.env.waves.mean = 2.5;
  c.env.waves.std = 1.5;
  c.env.waves.corr_len = 3.0;
  c.env.waves.drift = 0.1;
  c.env.waves.frames = 300;
  return c;
}

/* A field of `frames` frames with every cell at `level`. */
static waves_t *flat_waves(int size, int frames, int level) {
  waves_t *w = hint_calloc(1, sizeof(*w));
  w->size = size;
  w->frames = frames;
  w->level = hint_malloc((size_t)frames * (size_t)size * (size_t)size);
  memset(w->level, level, (size_t)frames * (size_t)size * (size_t)size);
  return w;
}

static void test_obs_lengths(void **st) {
  (void)st;
  env_dims_t d;
  hint_config_t c = mar_cfg(5, 2, 1, 0);
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.obs_dim, 20);
  assert_int_equal(d.n_actions, 5);
  c = mar_cfg(10, 3, 2, 1);
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.obs_dim, 99);
  assert_int_equal(d.class_obs_dim[0], 99);
  assert_int_equal(d.class_obs_dim[1], 99);
  c.env.privileged = 0;
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.state_dim, 2 * 5 + 2 + 3 + 1);
  c.env.privileged = 1;
  c.env.privileged_frames = 2;
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.state_dim, 2 * 5 + 2 + 3 + 1 + 3 * 100);
  /* enemies: one more window channel, two more state values each */
  c.env.enemies = 2;
  assert_int_equal(env_dims(&c, &d, NULL, 0), 0);
  assert_int_equal(d.obs_dim, 99 + 9);
  assert_int_equal(d.base_state_dim, 2 * 5 + 2 + 3 + 4 + 1);
  assert_int_equal(marine_bit_length(25), 5);
  assert_int_equal(marine_bit_length(100), 7);
  assert_int_equal(marine_bit_length(5), 3);
}

static void test_refuel_table(void **st) {
  (void)st;
  const int sizes[4] = {5, 10, 15, 20};
  const int want[4][4] = {{0, 1, 2, 3}, {0, 1, 3, 5}, {0, 3, 5, 8}, {0, 4, 7, 10}};
  for (int i = 0; i < 4; i++)
    for (int lv = 0; lv < 4; lv++)
      assert_int_equal(marine_refuel_amount(sizes[i], lv), want[i][lv]);
  /* other sizes: int(max_fuel/2 * intensity), max_fuel = size */
  assert_int_equal(marine_refuel_amount(12, 3), 6);
  assert_int_equal(marine_refuel_amount(12, 2), 4);
  assert_int_equal(marine_refuel_amount(7, 1), 1);
  assert_int_equal(marine_refuel_amount(50, 2), 16);
}

/* Routing ship 0 at (r, 1), logistics ship on the same cell, fuel f; one
 * step of staying on a field at `level`; returns the new fuel. */
static int refuel_once(int size, int level, int fuel, float *reward, int *status) {
  hint_config_t c = mar_cfg(size, 1, 1, 0);
  waves_t *w = flat_waves(size, 200, level);
  marine_t m;
  assert_int_equal(marine_init(&m, &c, w, 1, 0, 0), 0);
  m.pos[0][0] = 2;
  m.pos[0][1] = 1;
  m.pos[1][0] = 2;
  m.pos[1][1] = 1;
  m.dest_r = 0;
  m.fuel[0] = fuel;
  int32_t stay[2] = {4, 4};
  *status = marine_step(&m, stay, NULL, 0, NULL, reward);
  int out = m.fuel[0];
  marine_fini(&m);
  hint_free(w->level);
  hint_free(w);
  return out;
}

static void test_refuel_cap_and_fuel_out(void **st) {
  (void)st;
  float r;
  int status;
  for (int lv = 0; lv < 4; lv++) {
    /* burn 1, then + table amount */
    assert_int_equal(refuel_once(10, lv, 3, &r, &status), 3 - 1 + marine_refuel_amount(10, lv));
    assert_int_equal(status, ENV_RUNNING);
    /* reward: routing -0.05 * distance (|2-0| + |1-9| = 10), logistics
     * 0.05 * intensity */
    assert_true(fabsf(r - (-0.05f * 10 + 0.05f * (float)lv / 3.0f)) < 1e-5f);
  }
  /* capped at max fuel (= size) */
  assert_int_equal(refuel_once(10, 3, 10, &r, &status), 10);
  assert_int_equal(refuel_once(5, 3, 4, &r, &status), 5);
  /* fuel 0 and not at the destination: every agent -10, failure, even
   * with a logistics ship on the cell (the check comes first) */
  refuel_once(5, 3, 0, &r, &status);
  assert_int_equal(status, ENV_FAILURE);
  assert_true(fabsf(r - 2 * -10.0f) < 1e-6f);
}

static void test_observed_fuel_lag_and_bits(void **st) {
  (void)st;
  hint_config_t c = mar_cfg(5, 2, 1, 0);
  waves_t *w = flat_waves(5, 200, 2);
  marine_t m;
  assert_int_equal(marine_init(&m, &c, w, 1, 0, 0), 0);
  m.pos[0][0] = 1; m.pos[0][1] = 0;
  m.pos[1][0] = 3; m.pos[1][1] = 0;
  m.pos[2][0] = 4; m.pos[2][1] = 4; /* logistics, far away */
  m.dest_r = 2;
  float obs[3 * 20], state[2 * 3 + 2 + 2 + 1 + 25];
  marine_write_obs(&m, obs, 20);
  /* own cell 5 = 00101, destination 14 = 01110, fuel 5 = 101 */
  const float want0[13] = {0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1};
  assert_memory_equal(obs, want0, sizeof want0);
  /* v0 window: presence of agent 0, not outside, not destination, level 2 = 10 */
  const float win0[7] = {1, 0, 0, 0, 0, 1, 0};
  assert_memory_equal(obs + 13, win0, sizeof win0);
  /* logistics ship: fuel bits are zero */
  assert_true(obs[40 + 10] == 0 && obs[40 + 11] == 0 && obs[40 + 12] == 0);
  assert_true(obs[40 + 13 + 2] == 1.0f);
  int32_t stay[3] = {4, 4, 4};
  float r;
  assert_int_equal(marine_step(&m, stay, obs, 20, state, &r), ENV_RUNNING);
  assert_int_equal(m.fuel[0], 4);
  /* the obs and state written after step 1 still show fuel 5 */
  assert_true(obs[10] == 1 && obs[11] == 0 && obs[12] == 1);
  assert_true(state[8] == 5.0f && state[9] == 5.0f);
  assert_int_equal(marine_step(&m, stay, obs, 20, state, &r), ENV_RUNNING);
  assert_true(obs[10] == 1 && obs[11] == 0 && obs[12] == 0); /* 4 */
  assert_true(state[8] == 4.0f);
  assert_true(fabsf(state[10] - 2.0f / 100.0f) < 1e-7f);
  assert_true(fabsf(state[11] - 2.0f / 3.0f) < 1e-7f); /* privileged intensity */
  marine_fini(&m);
  hint_free(w->level);
  hint_free(w);
}

static void test_window_outside_and_destination(void **st) {
  (void)st;
  hint_config_t c = mar_cfg(10, 3, 2, 1);
  waves_t *w = flat_waves(10, 200, 1);
  marine_t m;
  assert_int_equal(marine_init(&m, &c, w, 1, 0, 0), 0);
  m.pos[0][0] = 0; m.pos[0][1] = 8;
  m.pos[1][0] = 5; m.pos[1][1] = 0;
  m.pos[2][0] = 9; m.pos[2][1] = 0;
  m.pos[3][0] = 1; m.pos[3][1] = 9; /* logistics 0, diagonal neighbour of ship 0 */
  m.pos[4][0] = 5; m.pos[4][1] = 5;
  m.dest_r = 0;
  float obs[5 * 99];
  marine_write_obs(&m, obs, 99);
  const float *win = obs + 18; /* 7 + 7 + 4 bits */
  const int nch = 9;
  /* window rows -1..1, cols 7..9: the top row is outside, every channel but
   * "outside" zero */
  for (int k = 0; k < 3; k++) {
    assert_true(win[k * nch + 5] == 1.0f);
    for (int ch = 0; ch < nch; ch++)
      if (ch != 5)
        assert_true(win[k * nch + ch] == 0.0f);
  }
  assert_true(win[4 * nch + 0] == 1.0f);  /* centre: itself */
  assert_true(win[5 * nch + 6] == 1.0f);  /* (0,9) destination */
  assert_true(win[8 * nch + 3] == 1.0f);  /* (1,9) logistics ship 0 = agent 3 */
  assert_true(win[4 * nch + 7] == 0.0f && win[4 * nch + 8] == 1.0f); /* level 1 = 01 */
  marine_fini(&m);
  hint_free(w->level);
  hint_free(w);
}

/* Random play on the standard 5x5 and 10x10 configs: (practically) never a
 * win; an episode in which no fuel was transferred fails at exactly step
 * size+1. A win needs every routing ship to reach the destination, which
 * without fuel from a logistics ship is only possible for ships starting
 * within one row of it and moving right almost every step; with random
 * refuelling we have seen about 1 win in 25,000 episodes on 5x5, so the
 * check allows at most 1 in 2,000 (10 in 20,000). */
static void test_random_never_wins(void **st) {
  (void)st;
  const int sizes[2] = {5, 10};
  for (int k = 0; k < 2; k++) {
    hint_config_t c = k == 0 ? mar_cfg(5, 2, 1, 0) : mar_cfg(10, 3, 2, 1);
    env_vec_t *v;
    const int E = 32;
    assert_int_equal(env_vec_create(&v, &c, E, 0, 5, NULL, 0), 0);
    const env_dims_t *d = env_vec_dims(v);
    int32_t act[32 * 5];
    uint8_t done[32], status[32];
    env_buffers_t b = {0};
    b.done = done;
    b.status = status;
    hint_rng_t rng;
    hint_rng_seed(&rng, 17, 0, 0);
    int episodes = 0, no_refuel = 0, wins = 0;
    while (episodes < 20000) {
      for (int i = 0; i < E * d->n_agents; i++)
        act[i] = (int32_t)hint_rng_below(&rng, 5);
      env_vec_step_all(v, act, &b);
      for (int i = 0; i < E; i++) {
        if (!done[i])
          continue;
        env_stats_t ep = env_vec_last_episode(v, i);
        episodes++;
        wins += status[i] == ENV_SUCCESS;
        if (ep.events == 0.0f) {
          no_refuel++;
          assert_int_equal(status[i], ENV_FAILURE);
          assert_int_equal((int)ep.length, sizes[k] + 1);
        }
      }
    }
    print_message("MARINE %dx%d random: %d wins in %d episodes, %d without refuelling\n",
                  sizes[k], sizes[k], wins, episodes, no_refuel);
    assert_true(wins <= episodes / 2000);
    assert_true(no_refuel > episodes / 2);
    env_vec_destroy(&v);
  }
}

static double win_rate(const hint_config_t *c, int greedy, int episodes, double *len) {
  env_vec_t *v;
  const int E = 32;
  assert_int_equal(env_vec_create(&v, c, E, 0, 99, NULL, 0), 0);
  const env_dims_t *d = env_vec_dims(v);
  int32_t *act = hint_calloc((size_t)E * (size_t)d->n_agents, sizeof(int32_t));
  hint_rng_t rng;
  hint_rng_seed(&rng, 3, 0, 0);
  env_buffers_t b = {0};
  env_stats_t tot = {0};
  while (tot.episodes < episodes) {
    if (greedy)
      env_vec_greedy(v, 0, E, act);
    else
      for (int i = 0; i < E * d->n_agents; i++)
        act[i] = (int32_t)hint_rng_below(&rng, 5);
    env_vec_step_all(v, act, &b);
    env_stats_t s = env_vec_take_stats(v);
    tot.episodes += s.episodes;
    tot.success += s.success;
    tot.length += s.length;
  }
  hint_free(act);
  env_vec_destroy(&v);
  *len = tot.length / tot.episodes;
  return tot.success / tot.episodes;
}

static void test_greedy_beats_random(void **st) {
  (void)st;
  double len;
  hint_config_t c = mar_cfg(5, 2, 1, 0);
  double g = win_rate(&c, 1, 5000, &len);
  print_message("MARINE 5x5 greedy: win %.4f len %.2f\n", g, len);
  double r = win_rate(&c, 0, 5000, &len);
  print_message("MARINE 5x5 random: win %.4f len %.2f\n", r, len);
  /* "clearly more often": by at least half of all episodes (we measure
   * ~93% vs 0%; the spec's naive pairing heuristic reaches ~2/3) */
  assert_true(g > r + 0.5);
  c = mar_cfg(10, 3, 2, 1);
  g = win_rate(&c, 1, 2000, &len);
  print_message("MARINE 10x10 greedy: win %.4f len %.2f\n", g, len);
  assert_true(g > 0.125);
}

static void test_patrols(void **st) {
  (void)st;
  hint_config_t c = mar_cfg(5, 1, 1, 0);
  c.env.enemies = 1;
  waves_t *w = flat_waves(5, 200, 3);
  marine_t m;
  assert_int_equal(marine_init(&m, &c, w, 1, 0, 0), 0);
  float r;
  int32_t stay[2] = {4, 4};
  /* a row lane on row 2, columns 1..3, patrol at column 1 moving right:
   * after the step it is at (2,2), where routing ship 0 waits */
  m.e_axis[0] = 0; m.e_lo[0] = 1; m.e_hi[0] = 3; m.e_dir[0] = 1;
  m.e_pos[0][0] = 2; m.e_pos[0][1] = 1;
  m.pos[0][0] = 2; m.pos[0][1] = 2;
  m.pos[1][0] = 4; m.pos[1][1] = 4;
  assert_int_equal(marine_step(&m, stay, NULL, 0, NULL, &r), ENV_FAILURE);
  assert_true(fabsf(r - -20.0f) < 1e-6f);
  /* escorted: a logistics ship next to the cell saves it */
  marine_reset(&m);
  m.e_axis[0] = 0; m.e_lo[0] = 1; m.e_hi[0] = 3; m.e_dir[0] = 1;
  m.e_pos[0][0] = 2; m.e_pos[0][1] = 1;
  m.pos[0][0] = 2; m.pos[0][1] = 2;
  m.pos[1][0] = 3; m.pos[1][1] = 2;
  assert_int_equal(marine_step(&m, stay, NULL, 0, NULL, &r), ENV_RUNNING);
  /* the patrol bounces at the lane's end: 2 -> 3 -> 2 */
  assert_int_equal(marine_step(&m, stay, NULL, 0, NULL, &r), ENV_RUNNING);
  assert_int_equal(m.e_pos[0][1], 3);
  m.pos[0][0] = 0; /* out of the way */
  assert_int_equal(marine_step(&m, stay, NULL, 0, NULL, &r), ENV_RUNNING);
  assert_int_equal(m.e_pos[0][1], 2);
  /* random resets: lanes lie inside the map, patrols on their lanes */
  for (int ep = 0; ep < 500; ep++) {
    marine_reset(&m);
    for (int t = 0; t < 12; t++) {
      int ax = m.e_axis[0] == 0 ? 1 : 0;
      assert_true(m.e_lo[0] >= 0 && m.e_hi[0] < 5 && m.e_hi[0] > m.e_lo[0]);
      assert_true(m.e_pos[0][ax] >= m.e_lo[0] && m.e_pos[0][ax] <= m.e_hi[0]);
      int before = m.e_pos[0][ax], fixed = m.e_pos[0][1 - ax];
      if (marine_step(&m, stay, NULL, 0, NULL, &r) != ENV_RUNNING)
        break;
      assert_int_equal(abs(m.e_pos[0][ax] - before), 1);
      assert_int_equal(m.e_pos[0][1 - ax], fixed);
    }
  }
  marine_fini(&m);
  hint_free(w->level);
  hint_free(w);
}

static void test_wave_bins_and_synthetic_field(void **st) {
  (void)st;
  /* hard: h<=0 land -> 3; (0,2] -> 2; (2,4] -> 1; >4 -> 0; easy one up */
  assert_int_equal(waves_bin(-1.0, HINT_WAVE_BINS_HARD), 3);
  assert_int_equal(waves_bin(0.0, HINT_WAVE_BINS_HARD), 3);
  assert_int_equal(waves_bin(NAN, HINT_WAVE_BINS_HARD), 3);
  assert_int_equal(waves_bin(1.5, HINT_WAVE_BINS_HARD), 2);
  assert_int_equal(waves_bin(2.0, HINT_WAVE_BINS_HARD), 2);
  assert_int_equal(waves_bin(3.0, HINT_WAVE_BINS_HARD), 1);
  assert_int_equal(waves_bin(4.5, HINT_WAVE_BINS_HARD), 0);
  assert_int_equal(waves_bin(1.5, HINT_WAVE_BINS_EASY), 3);
  assert_int_equal(waves_bin(3.0, HINT_WAVE_BINS_EASY), 2);
  assert_int_equal(waves_bin(4.5, HINT_WAVE_BINS_EASY), 1);
  hint_config_t c = mar_cfg(20, 2, 1, 0);
  c.env.waves.frames = 200;
  waves_t *a, *b;
  assert_int_equal(waves_create(&a, &c, NULL, 0), 0);
  assert_int_equal(waves_create(&b, &c, NULL, 0), 0);
  const size_t n = (size_t)200 * 400;
  assert_memory_equal(a->level, b->level, n); /* seeded: same field */
  /* every level occurs with mean 2.5, std 1.5 */
  long hist[4] = {0};
  for (size_t i = 0; i < n; i++)
    hist[a->level[i]]++;
  for (int lv = 0; lv < 3; lv++)
    assert_true(hist[lv] > (long)n / 50);
  /* smooth: neighbours agree far more often than cells 10 apart; drifting:
   * consecutive frames nearly equal, frames 100 apart not */
  long near = 0, far = 0, next = 0, later = 0, pairs = 0;
  for (int t = 0; t < 100; t++)
    for (int r = 0; r < 20; r++)
      for (int col = 0; col < 10; col++) {
        const uint8_t *f = a->level + (size_t)t * 400;
        near += f[r * 20 + col] == f[r * 20 + col + 1];
        far += f[r * 20 + col] == f[r * 20 + col + 10];
        next += f[r * 20 + col] == f[400 + r * 20 + col];
        later += f[r * 20 + col] == f[100 * 400 + r * 20 + col];
        pairs++;
      }
  print_message("synthetic waves: P(equal) neighbour %.2f, 10 apart %.2f, next frame %.2f, "
                "100 frames later %.2f\n", (double)near / pairs, (double)far / pairs,
                (double)next / pairs, (double)later / pairs);
  assert_true(near > far + pairs / 5);
  assert_true(next > (long)(0.9 * pairs));
  assert_true(later < next - pairs / 5);
  /* easy bins shift every level up by one */
  c.env.waves.bins = HINT_WAVE_BINS_EASY;
  waves_destroy(&b);
  assert_int_equal(waves_create(&b, &c, NULL, 0), 0);
  for (size_t i = 0; i < n; i++)
    assert_true(b->level[i] == 3 || b->level[i] == a->level[i] + 1);
  waves_destroy(&a);
  waves_destroy(&b);
  assert_null(a);
}

/* Writes a CDL file and runs ncgen; returns 0 on success. The heights are
 * h = 0.5 * (t + r + c) on a 30-frame 6x7 grid, cell (0,0) missing. */
static int make_netcdf(const char *dir, char *path, size_t cap) {
  char cdl[512];
  snprintf(cdl, sizeof cdl, "%s/env_waves.cdl", dir);
  snprintf(path, cap, "%s/env_waves.nc", dir);
  FILE *f = fopen(cdl, "w");
  if (!f)
    return -1;
  fprintf(f, "netcdf env_waves {\ndimensions:\n  time = 30 ;\n  lat = 6 ;\n  lon = 7 ;\n"
             "variables:\n  short hs(time, lat, lon) ;\n    hs:scale_factor = 0.5f ;\n"
             "    hs:add_offset = 0.f ;\n    hs:_FillValue = -999s ;\n  float tp(time) ;\n"
             "data:\n  hs =\n");
  for (int t = 0; t < 30; t++)
    for (int r = 0; r < 6; r++)
      for (int c = 0; c < 7; c++)
        fprintf(f, "%d%s", (t == 0 && r == 0 && c == 0) ? -999 : t + r + c,
                (t == 29 && r == 5 && c == 6) ? " ;\n" : ", ");
  fprintf(f, "  tp = ");
  for (int t = 0; t < 30; t++)
    fprintf(f, "%d%s", t, t == 29 ? " ;\n}\n" : ", ");
  fclose(f);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ncgen -o '%s' '%s'", path, cdl);
  return system(cmd);
}

static void test_netcdf_source(void **st) {
  (void)st;
  char dir[] = "/tmp/hint_env_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[600];
  assert_int_equal(make_netcdf(dir, path, sizeof path), 0);
  hint_config_t c = mar_cfg(5, 2, 1, 0);
  c.env.episode_limit = 20;
  c.env.waves.source = HINT_WAVES_NETCDF;
  assert_true(strlen(path) < sizeof c.env.waves.netcdf_path);
  memcpy(c.env.waves.netcdf_path, path, strlen(path) + 1);
  snprintf(c.env.waves.netcdf_var, sizeof c.env.waves.netcdf_var, "hs");
  c.env.waves.row0 = 1;
  c.env.waves.col0 = 2;
  c.env.waves.time0 = 5;
  char err[512];
  assert_int_equal(env_validate(&c, err, sizeof err), 0);
  waves_t *w;
  assert_int_equal(waves_create(&w, &c, err, sizeof err), 0);
  assert_int_equal(w->frames, 25);
  for (int t = 0; t < 25; t++)
    for (int r = 0; r < 5; r++)
      for (int col = 0; col < 5; col++) {
        double h = 0.5 * ((t + 5) + (r + 1) + (col + 2));
        assert_int_equal(w->level[(t * 5 + r) * 5 + col], waves_bin(h, HINT_WAVE_BINS_HARD));
      }
  waves_destroy(&w);
  /* the missing cell (time 0, row 0, col 0) reads as land */
  c.env.waves.row0 = c.env.waves.col0 = c.env.waves.time0 = 0;
  assert_int_equal(waves_create(&w, &c, err, sizeof err), 0);
  assert_int_equal(w->level[0], 3);
  assert_int_equal(w->level[1], 2); /* h = 0.5 */
  waves_destroy(&w);
  /* a vector runs on it */
  env_vec_t *v;
  assert_int_equal(env_vec_create(&v, &c, 4, 0, 1, err, sizeof err), 0);
  int32_t act[12] = {1, 1, 4, 1, 1, 4, 1, 1, 4, 1, 1, 4};
  env_buffers_t b = {0};
  for (int t = 0; t < 50; t++)
    env_vec_step_all(v, act, &b);
  env_vec_destroy(&v);
  /* errors name the key */
  hint_config_t bad = c;
  snprintf(bad.env.waves.netcdf_var, sizeof bad.env.waves.netcdf_var, "swh");
  assert_int_equal(env_validate(&bad, err, sizeof err), HINT_ENETCDF);
  assert_non_null(strstr(err, "env.waves.netcdf_var"));
  assert_non_null(strstr(err, "swh"));
  bad = c;
  snprintf(bad.env.waves.netcdf_var, sizeof bad.env.waves.netcdf_var, "tp");
  assert_int_equal(env_validate(&bad, err, sizeof err), HINT_ENETCDF);
  assert_non_null(strstr(err, "dimensions"));
  bad = c;
  bad.env.waves.row0 = 2; /* rows 2..6 of 6 */
  assert_int_equal(env_validate(&bad, err, sizeof err), HINT_ENETCDF);
  assert_non_null(strstr(err, "env.waves.row0"));
  bad = c;
  bad.env.waves.col0 = 3;
  assert_int_equal(env_validate(&bad, err, sizeof err), HINT_ENETCDF);
  assert_non_null(strstr(err, "env.waves.col0"));
  bad = c;
  bad.env.waves.time0 = 11; /* 19 frames left, 20 needed */
  assert_int_equal(env_validate(&bad, err, sizeof err), HINT_ENETCDF);
  assert_non_null(strstr(err, "env.waves.time0"));
  bad = c;
  memcpy(bad.env.waves.netcdf_path, dir, strlen(dir));
  memcpy(bad.env.waves.netcdf_path + strlen(dir), "/nope.nc", 9);
  assert_int_equal(env_validate(&bad, err, sizeof err), HINT_ENETCDF);
  assert_non_null(strstr(err, "env.waves.netcdf_path"));
  assert_int_equal(env_vec_create(&v, &bad, 1, 0, 1, err, sizeof err), HINT_ENETCDF);
  assert_null(v);
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
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
  hint_config_t c = mar_cfg(5, 2, 1, 0);
  c.env.enemies = 1;
  waves_t *w = flat_waves(5, 200, 2);
  for (int k = 0; k < 5; k++)
    w->level[k * 5 + 2] = (uint8_t)(k % 4); /* column 2 varies */
  marine_t m;
  assert_int_equal(marine_init(&m, &c, w, 1, 0, 0), 0);
  m.t0 = 0;
  m.frame = w->level;
  m.pos[0][0] = 1; m.pos[0][1] = 0;
  m.pos[1][0] = 3; m.pos[1][1] = 2;
  m.pos[2][0] = 3; m.pos[2][1] = 2;
  m.fuel[0] = 5; m.fuel[1] = 2;
  m.dest_r = 4;
  m.e_pos[0][0] = 0; m.e_pos[0][1] = 3;
  m.step = 3;
  char buf[2048];
  marine_render(&m, buf, sizeof buf);
  const char *want = read_text("tests/data/marine_render_5x5.txt");
  assert_non_null(want);
  if (strcmp(buf, want) != 0)
    print_error("render:\n%s\nfixture:\n%s\n", buf, want);
  assert_string_equal(buf, want);
  marine_fini(&m);
  hint_free(w->level);
  hint_free(w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_obs_lengths),
      cmocka_unit_test(test_refuel_table),
      cmocka_unit_test(test_refuel_cap_and_fuel_out),
      cmocka_unit_test(test_observed_fuel_lag_and_bits),
      cmocka_unit_test(test_window_outside_and_destination),
      cmocka_unit_test(test_random_never_wins),
      cmocka_unit_test(test_greedy_beats_random),
      cmocka_unit_test(test_patrols),
      cmocka_unit_test(test_wave_bins_and_synthetic_field),
      cmocka_unit_test(test_netcdf_source),
      cmocka_unit_test(test_render_matches_fixture),
  };
  return cmocka_run_group_tests_name("env_marine", tests, NULL, NULL);
}
