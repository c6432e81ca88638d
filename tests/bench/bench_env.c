/* bench_env.c: env steps per second on one core.
 *
 * Random actions (drawn before timing, from a pool of pre-generated action
 * rows, so the figure is the env's cost and not the RNG's), observations and
 * state written into batch buffers, auto-reset on. One JSON object per line
 * per figure (name, config, value, unit, baseline, ratio), then a table. The
 * baselines are the lab's Python implementations' env steps per second; the
 * targets are ratio >= 500 and >= 1e6 agent-steps/s on the 5x5 configs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/rng.h"
#include "common/env/env.h"

#define E 64
#define POOL 4096 /* action rows in the pool */

typedef struct {
  const char *label;
  int marine, size, first, second, vision;
  double baseline; /* Python env steps/s, 0 = none */
  double sps, asps, ratio;
} bench_t;

static int run(bench_t *bc, double seconds) {
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.env.size = bc->size;
  cfg.env.vision = bc->vision;
  if (bc->marine) {
    cfg.env.name = HINT_ENV_MARINE;
    cfg.env.episode_limit = 100;
    cfg.env.routing_ships = bc->first;
    cfg.env.logistics_ships = bc->second;
  } else {
    cfg.env.perception_agents = bc->first;
    cfg.env.action_agents = bc->second;
  }
  char err[512];
  env_vec_t *v = NULL;
  int rc = env_vec_create(&v, &cfg, E, 0, 1, err, sizeof err);
  if (rc) {
    fprintf(stderr, "bench_env: %s: %s\n", bc->label, err);
    return 1;
  }
  const env_dims_t *d = env_vec_dims(v);
  const size_t na = (size_t)d->n_agents;
  float *obs = hint_malloc(sizeof(float) * E * na * (size_t)d->obs_dim);
  float *state = hint_malloc(sizeof(float) * E * (size_t)d->state_dim);
  float *rew = hint_malloc(sizeof(float) * E);
  uint8_t *done = hint_malloc(E), *trunc = hint_malloc(E);
  int32_t *pool = hint_malloc(sizeof(int32_t) * POOL * na);
  hint_rng_t r;
  hint_rng_seed(&r, 99, 0, 0);
  for (size_t i = 0; i < POOL * na; i++)
    pool[i] = (int32_t)hint_rng_below(&r, (uint32_t)d->n_actions);
  env_buffers_t b = {obs, state, rew, done, trunc, NULL};
  env_vec_observe(v, 0, E, &b);
  long steps = 0;
  unsigned off = 0;
  double t0 = hint_now_s(), t;
  do {
    for (int k = 0; k < 64; k++) {
      /* E rows starting at a pseudo-random pool offset */
      off = (off * 1103515245u + 12345u) % (POOL - E);
      env_vec_step_all(v, pool + (size_t)off * na, &b);
    }
    steps += 64L * E;
    t = hint_now_s();
  } while (t - t0 < seconds);
  env_stats_t s = env_vec_take_stats(v);
  bc->sps = (double)steps / (t - t0);
  bc->asps = bc->sps * (double)na;
  bc->ratio = bc->baseline > 0 ? bc->sps / bc->baseline : 0.0;
  if (s.episodes < 1) {
    fprintf(stderr, "bench_env: %s finished no episode\n", bc->label);
    rc = 1;
  }
  hint_free(obs);
  hint_free(state);
  hint_free(rew);
  hint_free(done);
  hint_free(trunc);
  hint_free(pool);
  env_vec_destroy(&v);
  return rc;
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  bench_t b[] = {
      {"fire_commander_5x5", 0, 5, 2, 1, 1, 1200, 0, 0, 0},
      {"fire_commander_10x10", 0, 10, 3, 2, 1, 1000, 0, 0, 0},
      {"fire_commander_20x20", 0, 20, 6, 4, 2, 0, 0, 0, 0},
      {"marine_5x5", 1, 5, 2, 1, 0, 2500, 0, 0, 0},
      {"marine_10x10", 1, 10, 3, 2, 1, 2200, 0, 0, 0},
  };
  const int n = (int)(sizeof b / sizeof b[0]);
  int rc = 0;
  for (int i = 0; i < n; i++) {
    rc |= run(&b[i], seconds);
    const char *cfgtxt = b[i].marine ? "R/L" : "P/A";
    char conf[128];
    snprintf(conf, sizeof conf, "%s %d/%d v%d E=%d random actions, obs + privileged state, auto-reset",
             cfgtxt, b[i].first, b[i].second, b[i].vision, E);
    if (b[i].baseline > 0)
      printf("{\"name\": \"env_steps_per_s\", \"config\": \"%s %s\", \"value\": %.0f, "
             "\"unit\": \"env_steps/s\", \"baseline\": %.0f, \"ratio\": %.1f}\n",
             b[i].label, conf, b[i].sps, b[i].baseline, b[i].ratio);
    else
      printf("{\"name\": \"env_steps_per_s\", \"config\": \"%s %s\", \"value\": %.0f, "
             "\"unit\": \"env_steps/s\", \"baseline\": null, \"ratio\": null}\n",
             b[i].label, conf, b[i].sps);
    if (b[i].baseline > 0)
      printf("{\"name\": \"agent_steps_per_s\", \"config\": \"%s %s\", \"value\": %.0f, "
             "\"unit\": \"agent_steps/s\", \"baseline\": %.0f, \"ratio\": %.1f}\n",
             b[i].label, conf, b[i].asps, b[i].baseline * (b[i].first + b[i].second),
             b[i].ratio);
    else
      printf("{\"name\": \"agent_steps_per_s\", \"config\": \"%s %s\", \"value\": %.0f, "
             "\"unit\": \"agent_steps/s\", \"baseline\": null, \"ratio\": null}\n",
             b[i].label, conf, b[i].asps);
  }
  printf("\n%-22s %14s %16s %12s %9s  %s\n", "config", "env steps/s", "agent steps/s",
         "python", "ratio", "target");
  for (int i = 0; i < n; i++) {
    const int is5 = b[i].size == 5;
    int ok = (b[i].baseline <= 0 || b[i].ratio >= 500.0) && (!is5 || b[i].asps >= 1e6);
    char target[64];
    if (b[i].baseline > 0)
      snprintf(target, sizeof target, ">=500x%s: %s", is5 ? ", >=1M agent/s" : "",
               ok ? "met" : "MISSED");
    else
      snprintf(target, sizeof target, "(no baseline)");
    if (b[i].baseline > 0)
      printf("%-22s %14.0f %16.0f %12.0f %8.0fx  %s\n", b[i].label, b[i].sps, b[i].asps,
             b[i].baseline, b[i].ratio, target);
    else
      printf("%-22s %14.0f %16.0f %12s %9s  %s\n", b[i].label, b[i].sps, b[i].asps, "-", "-",
             target);
  }
  return rc;
}
