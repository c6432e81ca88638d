/* waves.c: see waves.h. */
#include "common/env/waves.h"

#include <math.h>
#include <netcdf.h>
#include <stdio.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/core/rng.h"

#define WAVES_MODES 32
/* Stream index of the synthetic field's RNG, away from any env index. */
#define WAVES_STREAM 0x77617665ULL

/* Opens the file and finds the variable; on success *ncid is open. */
static int nc_locate(const hint_config_t *cfg, int *ncid, int *varid, size_t len[3],
                     char *err, size_t cap) {
  const char *path = cfg->env.waves.netcdf_path;
  const char *var = cfg->env.waves.netcdf_var;
  if (!path[0]) {
    if (err && cap)
      snprintf(err, cap, "env.waves.netcdf_path: empty, but env.waves.source is netcdf");
    return HINT_ECONFIG;
  }
  int rc = nc_open(path, NC_NOWRITE, ncid);
  if (rc != NC_NOERR) {
    if (err && cap)
      snprintf(err, cap, "env.waves.netcdf_path: cannot open '%s': %s", path,
               nc_strerror(rc));
    return HINT_ENETCDF;
  }
  rc = nc_inq_varid(*ncid, var, varid);
  if (rc != NC_NOERR) {
    if (err && cap)
      snprintf(err, cap, "env.waves.netcdf_var: no variable '%s' in '%s'", var, path);
    nc_close(*ncid);
    return HINT_ENETCDF;
  }
  int ndims = 0, dimids[NC_MAX_VAR_DIMS];
  nc_inq_varndims(*ncid, *varid, &ndims);
  if (ndims != 3) {
    if (err && cap)
      snprintf(err, cap,
               "env.waves.netcdf_var: '%s' has %d dimensions, want 3 (time, row, col)",
               var, ndims);
    nc_close(*ncid);
    return HINT_ENETCDF;
  }
  nc_inq_vardimid(*ncid, *varid, dimids);
  for (int d = 0; d < 3; d++)
    nc_inq_dimlen(*ncid, dimids[d], &len[d]);
  return 0;
}

static int nc_region_check(const hint_config_t *cfg, const size_t len[3], char *err,
                           size_t cap) {
  const int s = cfg->env.size;
  const int r0 = cfg->env.waves.row0, c0 = cfg->env.waves.col0, t0 = cfg->env.waves.time0;
  const int need = waves_frames_needed(cfg);
  if (r0 < 0 || (size_t)r0 + (size_t)s > len[1]) {
    if (err && cap)
      snprintf(err, cap,
               "env.waves.row0: rows %d..%d are outside the file's %zu rows (env.size %d)",
               r0, r0 + s - 1, len[1], s);
    return HINT_ENETCDF;
  }
  if (c0 < 0 || (size_t)c0 + (size_t)s > len[2]) {
    if (err && cap)
      snprintf(err, cap,
               "env.waves.col0: columns %d..%d are outside the file's %zu columns (env.size %d)",
               c0, c0 + s - 1, len[2], s);
    return HINT_ENETCDF;
  }
  if (t0 < 0 || (size_t)t0 + (size_t)need > len[0]) {
    if (err && cap)
      snprintf(err, cap,
               "env.waves.time0: %d leaves %ld frames in the file (%zu), an episode needs %d "
               "(env.episode_limit + env.privileged_frames)",
               t0, (long)len[0] - (long)t0, len[0], need);
    return HINT_ENETCDF;
  }
  return 0;
}

int waves_check(const hint_config_t *cfg, char *err, size_t cap) {
  const int need = waves_frames_needed(cfg);
  if (cfg->env.waves.bins != HINT_WAVE_BINS_HARD && cfg->env.waves.bins != HINT_WAVE_BINS_EASY) {
    if (err && cap)
      snprintf(err, cap, "env.waves.bins: unknown value %d (hard or easy)", cfg->env.waves.bins);
    return HINT_ECONFIG;
  }
  if (cfg->env.waves.source == HINT_WAVES_SYNTHETIC) {
    const double std = cfg->env.waves.std, cl = cfg->env.waves.corr_len,
                 dr = cfg->env.waves.drift, mean = cfg->env.waves.mean;
    if (!isfinite(mean)) {
      if (err && cap)
        snprintf(err, cap, "env.waves.mean: %g is not a finite height", mean);
      return HINT_ECONFIG;
    }
    if (!(std >= 0.0) || !isfinite(std)) {
      if (err && cap)
        snprintf(err, cap, "env.waves.std: %g must be >= 0", std);
      return HINT_ECONFIG;
    }
    if (!(cl > 0.0) || !isfinite(cl)) {
      if (err && cap)
        snprintf(err, cap, "env.waves.corr_len: %g must be > 0", cl);
      return HINT_ECONFIG;
    }
    if (!(dr >= 0.0) || !isfinite(dr)) {
      if (err && cap)
        snprintf(err, cap, "env.waves.drift: %g must be >= 0", dr);
      return HINT_ECONFIG;
    }
    if (cfg->env.waves.frames < need) {
      if (err && cap)
        snprintf(err, cap,
                 "env.waves.frames: %d is fewer than an episode needs (%d = env.episode_limit + "
                 "env.privileged_frames)",
                 cfg->env.waves.frames, need);
      return HINT_EINFEASIBLE;
    }
    return 0;
  }
  if (cfg->env.waves.source != HINT_WAVES_NETCDF) {
    if (err && cap)
      snprintf(err, cap, "env.waves.source: unknown value %d (synthetic or netcdf)",
               cfg->env.waves.source);
    return HINT_ECONFIG;
  }
  int ncid, varid;
  size_t len[3];
  int rc = nc_locate(cfg, &ncid, &varid, len, err, cap);
  if (rc)
    return rc;
  rc = nc_region_check(cfg, len, err, cap);
  nc_close(ncid);
  return rc;
}

static int build_synthetic(waves_t *w, const hint_config_t *cfg) {
  const int s = w->size, nf = w->frames;
  const double mean = cfg->env.waves.mean, std = cfg->env.waves.std;
  const double cl = cfg->env.waves.corr_len, drift = cfg->env.waves.drift;
  hint_rng_t rng;
  hint_rng_seed(&rng, (uint64_t)cfg->env.eval_seed, WAVES_STREAM, (uint64_t)s);
  double kr[WAVES_MODES], kc[WAVES_MODES], ph[WAVES_MODES];
  /* Wave vectors ~ N(0, 1/corr_len^2) per axis give a Gaussian covariance
   * exp(-d^2 / (2 corr_len^2)); sqrt(2/M) * sum of M unit cosines has
   * variance 1. */
  for (int m = 0; m < WAVES_MODES; m++) {
    kr[m] = hint_rng_normal(&rng) / cl;
    kc[m] = hint_rng_normal(&rng) / cl;
    ph[m] = 2.0 * M_PI * hint_rng_double(&rng);
  }
  const double dir = 2.0 * M_PI * hint_rng_double(&rng);
  const double vr = drift * sin(dir), vc = drift * cos(dir);
  const double amp = std * sqrt(2.0 / WAVES_MODES);
  /* cos(a + b) = cos a cos b - sin a sin b separates rows from columns, so a
   * frame costs O(M * size) trig calls instead of O(M * size^2). */
  double *ca = hint_malloc(sizeof(double) * (size_t)WAVES_MODES * (size_t)s * 4);
  double *h = hint_malloc(sizeof(double) * (size_t)s * (size_t)s);
  if (!ca || !h) {
    hint_free(ca);
    hint_free(h);
    return HINT_ENOMEM;
  }
  double *sa = ca + WAVES_MODES * s, *cb = sa + WAVES_MODES * s, *sb = cb + WAVES_MODES * s;
  for (int t = 0; t < nf; t++) {
    for (int m = 0; m < WAVES_MODES; m++)
      for (int i = 0; i < s; i++) {
        double a = kr[m] * ((double)i - vr * t) + ph[m];
        double b = kc[m] * ((double)i - vc * t);
        ca[m * s + i] = cos(a);
        sa[m * s + i] = sin(a);
        cb[m * s + i] = cos(b);
        sb[m * s + i] = sin(b);
      }
    for (int i = 0; i < s * s; i++)
      h[i] = 0.0;
    for (int m = 0; m < WAVES_MODES; m++)
      for (int r = 0; r < s; r++) {
        const double cr = ca[m * s + r], sr = sa[m * s + r];
        for (int c = 0; c < s; c++)
          h[r * s + c] += cr * cb[m * s + c] - sr * sb[m * s + c];
      }
    uint8_t *lv = w->level + (size_t)t * (size_t)s * (size_t)s;
    for (int i = 0; i < s * s; i++) {
      double hh = mean + amp * h[i];
      if (hh < 0.01)
        hh = 0.01;
      lv[i] = (uint8_t)waves_bin(hh, cfg->env.waves.bins);
    }
  }
  hint_free(ca);
  hint_free(h);
  return 0;
}

static int build_netcdf(waves_t *w, const hint_config_t *cfg, char *err, size_t cap) {
  int ncid, varid;
  size_t len[3];
  int rc = nc_locate(cfg, &ncid, &varid, len, err, cap);
  if (rc)
    return rc;
  rc = nc_region_check(cfg, len, err, cap);
  if (rc) {
    nc_close(ncid);
    return rc;
  }
  const int s = cfg->env.size;
  w->frames = (int)(len[0] - (size_t)cfg->env.waves.time0);
  size_t n = (size_t)w->frames * (size_t)s * (size_t)s;
  float *buf = hint_malloc(sizeof(float) * n);
  w->level = hint_malloc(n);
  if (!buf || !w->level) {
    hint_free(buf);
    nc_close(ncid);
    return HINT_ENOMEM;
  }
  size_t start[3] = {(size_t)cfg->env.waves.time0, (size_t)cfg->env.waves.row0,
                     (size_t)cfg->env.waves.col0};
  size_t count[3] = {(size_t)w->frames, (size_t)s, (size_t)s};
  rc = nc_get_vara_float(ncid, varid, start, count, buf);
  if (rc != NC_NOERR) {
    if (err && cap)
      snprintf(err, cap, "env.waves.netcdf_var: reading '%s' from '%s' failed: %s",
               cfg->env.waves.netcdf_var, cfg->env.waves.netcdf_path, nc_strerror(rc));
    hint_free(buf);
    nc_close(ncid);
    return HINT_ENETCDF;
  }
  /* Packed data (common in WaveWatch III files) is stored as integers with a
   * scale and offset; missing cells carry _FillValue or missing_value in the
   * packed units. */
  float scale = 1.0f, offset = 0.0f, fill = 0.0f, missing = 0.0f;
  int has_fill = nc_get_att_float(ncid, varid, "_FillValue", &fill) == NC_NOERR;
  int has_missing = nc_get_att_float(ncid, varid, "missing_value", &missing) == NC_NOERR;
  if (nc_get_att_float(ncid, varid, "scale_factor", &scale) != NC_NOERR)
    scale = 1.0f;
  if (nc_get_att_float(ncid, varid, "add_offset", &offset) != NC_NOERR)
    offset = 0.0f;
  nc_close(ncid);
  for (size_t i = 0; i < n; i++) {
    float raw = buf[i];
    double h;
    if (isnan(raw) || (has_fill && raw == fill) || (has_missing && raw == missing))
      h = 0.0;
    else
      h = (double)raw * scale + offset;
    w->level[i] = (uint8_t)waves_bin(h, cfg->env.waves.bins);
  }
  hint_free(buf);
  return 0;
}

int waves_create(waves_t **out, const hint_config_t *cfg, char *err, size_t cap) {
  *out = NULL;
  int rc = waves_check(cfg, err, cap);
  if (rc)
    return rc;
  waves_t *w = hint_calloc(1, sizeof(*w));
  if (!w) {
    snprintf(err, cap, "wave field: out of memory");
    return HINT_ENOMEM;
  }
  w->size = cfg->env.size;
  if (cfg->env.waves.source == HINT_WAVES_SYNTHETIC) {
    w->frames = cfg->env.waves.frames;
    w->level = hint_malloc((size_t)w->frames * (size_t)w->size * (size_t)w->size);
    rc = w->level ? build_synthetic(w, cfg) : HINT_ENOMEM;
  } else {
    rc = build_netcdf(w, cfg, err, cap);
  }
  if (rc) {
    waves_destroy(&w);
    if (rc == HINT_ENOMEM) /* callers log err: never leave it unset */
      snprintf(err, cap, "wave field: out of memory (%d frames of %dx%d)", cfg->env.waves.frames,
               cfg->env.size, cfg->env.size);
    return rc;
  }
  *out = w;
  return 0;
}

void waves_destroy(waves_t **wp) {
  if (!wp || !*wp)
    return;
  hint_free((*wp)->level);
  hint_free(*wp);
  *wp = NULL;
}
