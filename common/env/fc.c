/* fc.c: see fc.h. */
#include "common/env/fc.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/env/blob.h"

static const int DR[5] = {-1, 0, 1, 0, 0};
static const int DC[5] = {0, 1, 0, -1, 0};

double fc_spread_ratio(double u) {
  double lb = 0.936 * exp(0.2566 * u) + 0.461 * exp(-0.1548 * u) - 0.397;
  double q = sqrt(fabs(lb * lb - 1.0));
  double hb = (lb + q) / (lb - q);
  return 0.5 * (1.0 - 1.0 / hb);
}

int fc_init(fc_t *fc, const hint_config_t *cfg, uint64_t seed, int rank, int index) {
  memset(fc, 0, sizeof(*fc));
  fc->size = cfg->env.size;
  fc->n_p = cfg->env.perception_agents;
  fc->n_a = cfg->env.action_agents;
  fc->n = fc->n_p + fc->n_a;
  fc->n_fires = cfg->env.fires;
  fc->vision = cfg->env.vision;
  fc->limit = cfg->env.episode_limit;
  fc->reward = cfg->env.reward;
  fc->pruned_trap = cfg->env.pruned_trap;
  fc->fire_spread = cfg->env.fire_spread;
  fc->privileged = cfg->env.privileged;
  fc->window = 2 * fc->vision + 1;
  const int s = fc->size, s2 = s * s;
  fc->obs_dim = 3 * fc->window * fc->window + s2;
  fc->state_dim = 2 * fc->n + s2 + 1 + (fc->privileged ? 2 * s2 + 3 * s : 0);
  /* One block: floats first (aligned), then bytes. */
  size_t nf = 2 * (size_t)fc->n_fires + (size_t)s2 + 5 * (size_t)s;
  size_t bytes = nf * sizeof(float) + (size_t)s2 * sizeof(uint16_t) + 2 * (size_t)s2;
  float *blk = hint_calloc(1, bytes);
  if (!blk)
    return HINT_ENOMEM;
  fc->fx = blk;
  fc->fy = fc->fx + fc->n_fires;
  fc->rmap = fc->fy + fc->n_fires;
  fc->wind_speed = fc->rmap + s2;
  fc->wind_dir = fc->wind_speed + s;
  fc->ratio = fc->wind_dir + s;
  fc->wsin = fc->ratio + s;
  fc->wcos = fc->wsin + s;
  fc->perm = (uint16_t *)(fc->wcos + s);
  fc->burning = (uint8_t *)(fc->perm + s2);
  fc->extinguished = fc->burning + s2;
  hint_rng_seed(&fc->rng, seed, (uint64_t)rank, (uint64_t)index);
  fc_reset(fc);
  return 0;
}

void fc_fini(fc_t *fc) {
  hint_free(fc->fx);
  memset(fc, 0, sizeof(*fc));
}

void fc_reset(fc_t *fc) {
  const int s = fc->size, s2 = s * s;
  hint_rng_t *r = &fc->rng;
  /* P + A + F distinct uniform cells by a partial Fisher-Yates shuffle. The
   * permutation restarts from the identity so that an initial condition is
   * a function of the RNG state alone (the evaluation set relies on it). */
  const int k = fc->n + fc->n_fires;
  for (int i = 0; i < s2; i++)
    fc->perm[i] = (uint16_t)i;
  for (int i = 0; i < k; i++) {
    int j = i + (int)hint_rng_below(r, (uint32_t)(s2 - i));
    uint16_t t = fc->perm[i];
    fc->perm[i] = fc->perm[j];
    fc->perm[j] = t;
  }
  memset(fc->burning, 0, (size_t)s2);
  memset(fc->extinguished, 0, (size_t)s2);
  for (int i = 0; i < fc->n; i++) {
    fc->pos[i][0] = (int16_t)(fc->perm[i] / s);
    fc->pos[i][1] = (int16_t)(fc->perm[i] % s);
  }
  for (int f = 0; f < fc->n_fires; f++) {
    int c = fc->perm[fc->n + f];
    fc->burning[c] = 1;
    fc->fx[f] = (float)(c / s);
    fc->fy[f] = (float)(c % s);
  }
  fc->n_fronts = fc->n_fires;
  fc->n_burning = fc->n_fires;
  for (int i = 0; i < s2; i++)
    fc->rmap[i] = (float)hint_rng_uniform(r, 1e-15, FC_R_MAX);
  double u = hint_rng_uniform(r, 0.0, s / 5.0);
  double th = hint_rng_uniform(r, 0.0, 2.0 * M_PI);
  for (int i = 0; i < s; i++) {
    double ws = u + 2.0 * hint_rng_normal(r);
    double wd = th + 2.0 * hint_rng_normal(r);
    fc->wind_speed[i] = (float)ws;
    fc->wind_dir[i] = (float)wd;
    fc->ratio[i] = (float)fc_spread_ratio(ws);
    fc->wsin[i] = (float)sin(wd);
    fc->wcos[i] = (float)cos(wd);
  }
  fc->step = 0;
  fc->ret = 0.0f;
  fc->false_drops = 0;
  fc->last_false_drops = fc->last_fronts_killed = fc->last_cells_killed = 0;
}

static void extinguish(fc_t *fc, int r, int c) {
  const int cell = r * fc->size + c;
  int hit = 0;
  if (fc->burning[cell]) {
    fc->burning[cell] = 0;
    fc->extinguished[cell] = 1;
    fc->n_burning--;
    fc->last_cells_killed++;
    hit = 1;
  }
  /* Delete every front whose truncated position is this cell, keeping the
   * survivors' order (the spread draws go front by front). */
  int w = 0;
  for (int f = 0; f < fc->n_fronts; f++) {
    if ((int)fc->fx[f] == r && (int)fc->fy[f] == c) {
      fc->last_fronts_killed++;
      hit = 1;
      continue;
    }
    fc->fx[w] = fc->fx[f];
    fc->fy[w] = fc->fy[f];
    w++;
  }
  fc->n_fronts = w;
  if (!hit)
    fc->last_false_drops++;
}

static void propagate(fc_t *fc) {
  const int s = fc->size;
  const float hi = (float)(s - 1);
  for (int f = 0; f < fc->n_fronts; f++) {
    float x = fc->fx[f], y = fc->fy[f];
    if (fc->pruned_trap && fc->extinguished[(int)x * s + (int)y])
      continue;
    float rr = fc->rmap[(int)(x + 0.5f) * s + (int)(y + 0.5f)];
    int k1 = (int)hint_rng_below(&fc->rng, (uint32_t)s);
    int k2 = (int)hint_rng_below(&fc->rng, (uint32_t)s);
    float cc = fc->ratio[k1] * rr;
    x += cc * fc->wsin[k2];
    y += cc * fc->wcos[k2];
    x = x < 0.0f ? 0.0f : (x > hi ? hi : x);
    y = y < 0.0f ? 0.0f : (y > hi ? hi : y);
    fc->fx[f] = x;
    fc->fy[f] = y;
    int cell = (int)x * s + (int)y;
    if (!fc->burning[cell]) {
      fc->burning[cell] = 1;
      fc->n_burning++;
    }
  }
}

int fc_step(fc_t *fc, const int32_t *act, float *obs, int obs_stride, float *state,
            float *reward) {
  const int s = fc->size;
  fc->last_false_drops = fc->last_fronts_killed = fc->last_cells_killed = 0;
  for (int i = 0; i < fc->n; i++) {
    int a = act[i];
    assert(a >= 0 && a < FC_N_ACTIONS);
    if (a < 4) {
      int r = fc->pos[i][0] + DR[a], c = fc->pos[i][1] + DC[a];
      if (r >= 0 && r < s && c >= 0 && c < s) {
        fc->pos[i][0] = (int16_t)r;
        fc->pos[i][1] = (int16_t)c;
      }
    } else if (a == FC_EXTINGUISH && i >= fc->n_p) {
      extinguish(fc, fc->pos[i][0], fc->pos[i][1]);
    }
  }
  fc->step++;
  if (fc->fire_spread)
    propagate(fc);
  float per_agent;
  float team;
  switch (fc->reward) {
  case HINT_REWARD_CAPTURE:
    per_agent = fc->last_fronts_killed ? 10.0f : (fc->last_cells_killed ? 0.0f : -0.1f);
    team = per_agent * (float)fc->n;
    break;
  case HINT_REWARD_FALSE_DROP:
    per_agent = -0.1f * (float)fc->n_burning;
    team = per_agent * (float)fc->n - 0.1f * (float)fc->last_false_drops;
    break;
  default:
    per_agent = -0.1f * (float)fc->n_burning;
    team = per_agent * (float)fc->n;
    break;
  }
  *reward = team;
  fc->ret += team;
  fc->false_drops += fc->last_false_drops;
  int status = ENV_RUNNING;
  if (fc->n_burning == 0)
    status = ENV_SUCCESS;
  else if (fc->step >= fc->limit)
    status = ENV_TIMEOUT;
  if (status == ENV_RUNNING) {
    if (obs)
      fc_write_obs(fc, obs, obs_stride);
    if (state)
      fc_write_state(fc, state);
  }
  return status;
}

void fc_write_obs(const fc_t *fc, float *obs, int stride) {
  const int s = fc->size, v = fc->vision, w = fc->window;
  const int wcells = w * w;
  for (int i = 0; i < fc->n; i++) {
    float *o = obs + (size_t)i * (size_t)stride;
    memset(o, 0, sizeof(float) * (size_t)stride);
    const int r0 = fc->pos[i][0] - v, c0 = fc->pos[i][1] - v;
    if (i < fc->n_p) {
      for (int dr = 0; dr < w; dr++) {
        const int r = r0 + dr;
        float *row = o + 3 * dr * w;
        for (int dc = 0; dc < w; dc++) {
          const int c = c0 + dc;
          if (r < 0 || r >= s || c < 0 || c >= s) {
            row[3 * dc] = row[3 * dc + 1] = row[3 * dc + 2] = -1.0f;
          } else {
            row[3 * dc + 2] = (float)fc->burning[r * s + c];
          }
        }
      }
      for (int j = 0; j < fc->n; j++) {
        int dr = fc->pos[j][0] - r0, dc = fc->pos[j][1] - c0;
        if ((unsigned)dr < (unsigned)w && (unsigned)dc < (unsigned)w)
          o[3 * (dr * w + dc) + (j < fc->n_p ? 0 : 1)] += 1.0f;
      }
    }
    o[3 * wcells + fc->pos[i][0] * s + fc->pos[i][1]] = 1.0f;
  }
}

void fc_write_state(const fc_t *fc, float *st) {
  const int s = fc->size, s2 = s * s;
  for (int i = 0; i < fc->n; i++) {
    st[2 * i] = (float)fc->pos[i][0];
    st[2 * i + 1] = (float)fc->pos[i][1];
  }
  float *m = st + 2 * fc->n;
  for (int c = 0; c < s2; c++)
    m[c] = (float)fc->burning[c];
  m[s2] = (float)fc->step / (float)fc->limit;
  if (!fc->privileged)
    return;
  float *fm = m + s2 + 1;
  memset(fm, 0, sizeof(float) * (size_t)s2);
  for (int f = 0; f < fc->n_fronts; f++)
    fm[(int)fc->fx[f] * s + (int)fc->fy[f]] += 1.0f;
  float *rm = fm + s2;
  for (int c = 0; c < s2; c++)
    rm[c] = fc->rmap[c] / FC_R_MAX;
  float *wm = rm + s2;
  for (int k = 0; k < s; k++) {
    wm[3 * k] = fc->wind_speed[k];
    wm[3 * k + 1] = fc->wsin[k];
    wm[3 * k + 2] = fc->wcos[k];
  }
}

/* The action that closes the larger of the two offsets (rows on a tie). */
static int toward(int r, int c, int tr, int tc) {
  int dr = tr - r, dc = tc - c;
  if (dr == 0 && dc == 0)
    return FC_STAY;
  if (abs(dr) >= abs(dc))
    return dr < 0 ? FC_UP : FC_DOWN;
  return dc < 0 ? FC_LEFT : FC_RIGHT;
}

void fc_greedy(const fc_t *fc, int32_t *act) {
  const int s = fc->size;
  for (int i = 0; i < fc->n_p; i++)
    act[i] = FC_STAY;
  for (int i = fc->n_p; i < fc->n; i++) {
    const int r = fc->pos[i][0], c = fc->pos[i][1];
    int best = -1, bd = 1 << 30, tr = r, tc = c;
    for (int f = 0; f < fc->n_fronts; f++) {
      int fr = (int)fc->fx[f], fcol = (int)fc->fy[f];
      int d = abs(fr - r) + abs(fcol - c);
      if (d < bd) {
        bd = d;
        best = f;
        tr = fr;
        tc = fcol;
      }
    }
    if (best < 0) {
      for (int cell = 0; cell < s * s; cell++) {
        if (!fc->burning[cell])
          continue;
        int d = abs(cell / s - r) + abs(cell % s - c);
        if (d < bd) {
          bd = d;
          best = cell;
          tr = cell / s;
          tc = cell % s;
        }
      }
    }
    act[i] = (best >= 0 && bd == 0) ? FC_EXTINGUISH : toward(r, c, tr, tc);
  }
}

typedef struct {
  char *buf;
  size_t cap, len;
} sb_t;

__attribute__((format(printf, 2, 3))) static void sb_printf(sb_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = b->len < b->cap ? b->cap - b->len : 0;
  int n = vsnprintf(room ? b->buf + b->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0)
    b->len += (size_t)n;
}

/* Each cell is two characters: the ground (F front, * burning, x
 * extinguished, . nothing) then who stands there (P scouts, A firefighters,
 * B both, space nobody). Agents are listed below the grid. */
size_t fc_render(const fc_t *fc, char *buf, size_t cap) {
  sb_t b = {buf, cap, 0};
  if (cap)
    buf[0] = '\0';
  const int s = fc->size;
  sb_printf(&b, "FireCommander %dx%d step %d/%d burning %d fronts %d\n", s, s, fc->step,
            fc->limit, fc->n_burning, fc->n_fronts);
  for (int r = 0; r < s; r++) {
    for (int c = 0; c < s; c++) {
      int front = 0, np = 0, na = 0;
      for (int f = 0; f < fc->n_fronts; f++)
        front |= (int)fc->fx[f] == r && (int)fc->fy[f] == c;
      for (int i = 0; i < fc->n; i++)
        if (fc->pos[i][0] == r && fc->pos[i][1] == c)
          *(i < fc->n_p ? &np : &na) += 1;
      const int cell = r * s + c;
      char g = front ? 'F' : fc->burning[cell] ? '*' : fc->extinguished[cell] ? 'x' : '.';
      char a = np && na ? 'B' : np ? 'P' : na ? 'A' : ' ';
      sb_printf(&b, "%s%c%c%s", c == 0 ? "|" : "", g, a, c + 1 < s ? " " : "|\n");
    }
  }
  for (int i = 0; i < fc->n; i++)
    sb_printf(&b, "%c%d(%d,%d)%s", i < fc->n_p ? 'P' : 'A', i < fc->n_p ? i : i - fc->n_p,
              fc->pos[i][0], fc->pos[i][1], i + 1 < fc->n ? " " : "\n");
  return b.len;
}

/* ---- Checkpoint record (layout in fc.h) ----------------------------------- */

size_t fc_state_size(const fc_t *fc) {
  const size_t n = (size_t)fc->n, f = (size_t)fc->n_fires, s = (size_t)fc->size;
  return 2 * 8 + 7 * 4 + 4 + n * 2 * 2 + 2 * f * 4 + 2 * s * s + 4 * s * s + 5 * 4 * s;
}

void fc_state_save(const fc_t *fc, void *out) {
  const size_t s = (size_t)fc->size, s2 = s * s, f = (size_t)fc->n_fires;
  env_wr_t w = {out};
  env_put_u64(&w, fc->rng.state);
  env_put_u64(&w, fc->rng.inc);
  env_put_i32(&w, fc->step);
  env_put_i32(&w, fc->n_fronts);
  env_put_i32(&w, fc->n_burning);
  env_put_i32(&w, fc->false_drops);
  env_put_i32(&w, fc->last_false_drops);
  env_put_i32(&w, fc->last_fronts_killed);
  env_put_i32(&w, fc->last_cells_killed);
  env_put_f32(&w, fc->ret);
  env_put(&w, fc->pos, (size_t)fc->n * sizeof(fc->pos[0])); /* int16 [row, col] pairs */
  env_put(&w, fc->fx, f * sizeof(float));
  env_put(&w, fc->fy, f * sizeof(float));
  env_put(&w, fc->burning, s2);
  env_put(&w, fc->extinguished, s2);
  env_put(&w, fc->rmap, s2 * sizeof(float));
  env_put(&w, fc->wind_speed, s * sizeof(float));
  env_put(&w, fc->wind_dir, s * sizeof(float));
  env_put(&w, fc->ratio, s * sizeof(float));
  env_put(&w, fc->wsin, s * sizeof(float));
  env_put(&w, fc->wcos, s * sizeof(float));
  assert((size_t)(w.p - (uint8_t *)out) == fc_state_size(fc));
}

/* 1 if the n floats at p all lie in [lo, hi] (NaN never does). */
static int floats_within(const uint8_t *p, size_t n, float lo, float hi) {
  for (size_t i = 0; i < n; i++) {
    float x;
    memcpy(&x, p + 4 * i, 4);
    if (!(x >= lo && x <= hi))
      return 0;
  }
  return 1;
}

int fc_state_load(fc_t *fc, const void *in, int apply) {
  const int s = fc->size;
  const size_t s2 = (size_t)s * (size_t)s, f = (size_t)fc->n_fires, n = (size_t)fc->n;
  env_rd_t r = {in};
  hint_rng_t rng;
  rng.state = env_get_u64(&r);
  rng.inc = env_get_u64(&r);
  const int32_t step = env_get_i32(&r), n_fronts = env_get_i32(&r),
                n_burning = env_get_i32(&r), false_drops = env_get_i32(&r),
                last_false = env_get_i32(&r), last_fronts = env_get_i32(&r),
                last_cells = env_get_i32(&r);
  const float ret = env_get_f32(&r);
  /* A copy inside a vector is never left at step >= limit: the step that
   * reaches the limit ends the episode and the vector resets the copy. */
  if (!(rng.inc & 1u) || step < 0 || step >= fc->limit || n_fronts < 0 ||
      n_fronts > fc->n_fires || false_drops < 0 || last_false < 0 || last_fronts < 0 ||
      last_cells < 0)
    return HINT_EPARSE;
  const uint8_t *pos = r.p;
  r.p += n * sizeof(fc->pos[0]);
  for (size_t k = 0; k < 2 * n; k++) {
    int16_t x;
    memcpy(&x, pos + 2 * k, 2);
    if (x < 0 || x >= s)
      return HINT_EPARSE;
  }
  /* Every index a step computes comes from a position, a front or the
   * burning map: with these in range, and the spread factors bounded (so a
   * front stays finite and the clamp holds it on the map), no step can
   * leave the maps, whatever the rest of the record holds. */
  const uint8_t *fx = r.p, *fy = fx + 4 * f;
  r.p += 8 * f;
  if (!floats_within(fx, f, 0.0f, (float)(s - 1)) || !floats_within(fy, f, 0.0f, (float)(s - 1)))
    return HINT_EPARSE;
  const uint8_t *burning = r.p, *ext = burning + s2;
  r.p += 2 * s2;
  int32_t count = 0;
  for (size_t c = 0; c < s2; c++) {
    if (burning[c] > 1 || ext[c] > 1)
      return HINT_EPARSE;
    count += burning[c];
  }
  if (count != n_burning)
    return HINT_EPARSE;
  const uint8_t *rmap = r.p, *wspeed = rmap + 4 * s2, *wdir = wspeed + 4 * (size_t)s,
                *ratio = wdir + 4 * (size_t)s, *wsin = ratio + 4 * (size_t)s,
                *wcos = wsin + 4 * (size_t)s;
  r.p = wcos + 4 * (size_t)s;
  if (!floats_within(rmap, s2, 0.0f, FC_R_MAX) ||
      !floats_within(wspeed, (size_t)s, -FLT_MAX, FLT_MAX) ||
      !floats_within(wdir, (size_t)s, -FLT_MAX, FLT_MAX) ||
      !floats_within(ratio, (size_t)s, 0.0f, 1.0f) /* C/R is a fraction */ ||
      !floats_within(wsin, (size_t)s, -1.0f, 1.0f) || !floats_within(wcos, (size_t)s, -1.0f, 1.0f))
    return HINT_EPARSE;
  assert((size_t)(r.p - (const uint8_t *)in) == fc_state_size(fc));
  if (!apply)
    return 0;
  fc->rng = rng;
  fc->step = step;
  fc->n_fronts = n_fronts;
  fc->n_burning = n_burning;
  fc->false_drops = false_drops;
  fc->last_false_drops = last_false;
  fc->last_fronts_killed = last_fronts;
  fc->last_cells_killed = last_cells;
  fc->ret = ret;
  memcpy(fc->pos, pos, n * sizeof(fc->pos[0]));
  memcpy(fc->fx, fx, 4 * f);
  memcpy(fc->fy, fy, 4 * f);
  memcpy(fc->burning, burning, s2);
  memcpy(fc->extinguished, ext, s2);
  memcpy(fc->rmap, rmap, 4 * s2);
  memcpy(fc->wind_speed, wspeed, 4 * (size_t)s);
  memcpy(fc->wind_dir, wdir, 4 * (size_t)s);
  memcpy(fc->ratio, ratio, 4 * (size_t)s);
  memcpy(fc->wsin, wsin, 4 * (size_t)s);
  memcpy(fc->wcos, wcos, 4 * (size_t)s);
  return 0;
}
