/* waves.h: the MARINE wave-intensity field I[t][r][c].
 *
 * A field is a read-only series of frames, each size x size, of intensity
 * levels 0..3 (intensity = level / 3; higher = calmer = more fuel transferred),
 * made once at start-up and shared by every MARINE copy of a vector. Wave
 * heights h (metres) become levels with the lab's bins: hard: h <= 0 (land or
 * missing) -> 3, h <= 2 -> 2, h <= 4 -> 1, else 0; easy shifts each bin up one
 * level (h <= 2 -> 3, h <= 4 -> 2, else 1).
 *
 * Sources:
 * - synthetic: a smooth Gaussian random field (sum of 32 random plane waves
 *   with a Gaussian spectrum of length scale corr_len, so nearby cells are
 *   correlated over ~corr_len cells), scaled to mean/std, drifting by `drift`
 *   cells per frame in a random direction, seeded from env.eval_seed (the
 *   field is the "ocean" of a config, like a dataset, not a per-run draw).
 *   Heights below 0.01 m are clipped to 0.01 m (the synthetic sea has no land).
 * - netcdf: variable waves.netcdf_var, 3-D (time, row, col) in that order,
 *   region [time0.., row0..row0+size, col0..col0+size], every frame from time0
 *   to the end of the file. scale_factor/add_offset are applied; _FillValue,
 *   missing_value and NaN count as missing (h <= 0 -> land level).
 */
#ifndef HINT_ENV_WAVES_H
#define HINT_ENV_WAVES_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"

typedef struct {
  int size;
  int frames;
  uint8_t *level; /* [frames][size][size], 0..3 */
} waves_t;

/* Level of wave height h (metres) under bins (hint_wave_bins_t). */
static inline int waves_bin(double h, int bins) {
  int lv;
  if (!(h > 0.0)) /* also NaN */
    return 3;
  if (h <= 2.0)
    lv = 2;
  else if (h <= 4.0)
    lv = 1;
  else
    lv = 0;
  return bins == HINT_WAVE_BINS_EASY ? lv + 1 : lv;
}

/* Checks the wave section without building the field (for netcdf: opens the
 * file and checks variable, rank and region). Returns 0, HINT_ECONFIG,
 * HINT_EINFEASIBLE or HINT_ENETCDF with a message naming the key. */
int waves_check(const hint_config_t *cfg, char *err, size_t err_cap);

/* Builds the field for cfg (start-up only; allocates). */
int waves_create(waves_t **out, const hint_config_t *cfg, char *err, size_t err_cap);
void waves_destroy(waves_t **wp);

/* Frames an episode needs: the episode's own plus the privileged look-ahead. */
static inline int waves_frames_needed(const hint_config_t *cfg) {
  return cfg->env.episode_limit + cfg->env.privileged_frames;
}

#endif
