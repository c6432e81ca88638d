/* feat.c: agent-centred teacher features and goal candidates from a global
 * state (see env.h for the layouts). Pure functions of (config, state,
 * agent): no env, no RNG, no allocation, so any holder of a state computes
 * the same features.
 */
#include "common/env/env.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/error.h"
#include "common/env/fc.h"

#define NEAR_BLOCK 4

int env_feat_init(env_feat_t *f, const hint_config_t *cfg, char *err, size_t err_cap) {
  memset(f, 0, sizeof(*f));
  int rc = env_dims(cfg, &f->dims, err, err_cap);
  if (rc)
    return rc;
  f->name = cfg->env.name;
  f->size = cfg->env.size;
  f->n_agents = f->dims.n_agents;
  f->n_first = f->dims.class_count[0];
  f->n_enemies = f->name == HINT_ENV_MARINE ? cfg->env.enemies : 0;
  f->privileged = cfg->env.privileged;
  f->crop = cfg->teacher.crop;
  f->n_targets = cfg->teacher.n_targets;
  f->max_fuel = cfg->env.size;
  f->target_dim = 6;
  const int cw = 2 * f->crop + 1;
  if (f->name == HINT_ENV_FIRE_COMMANDER) {
    f->own_dim = 4;
    f->n_channels = 4 + (f->privileged ? 2 : 0);
    f->near_dim = 2 * NEAR_BLOCK + 1;
  } else {
    f->own_dim = 6;
    f->n_channels = 4 + (f->n_enemies > 0) + (f->privileged ? 1 : 0);
    f->near_dim = NEAR_BLOCK + NEAR_BLOCK + 1 + (f->n_enemies > 0 ? NEAR_BLOCK : 0);
  }
  f->crop_dim = cw * cw * f->n_channels;
  f->feat_dim = f->own_dim + f->crop_dim + f->near_dim;
  return 0;
}

/* [drow, dcol, manhattan/(2(size-1)), exists] toward (tr, tc). */
static void near_block(float *o, int r, int c, int tr, int tc, int exists, float inv) {
  if (!exists) {
    o[0] = o[1] = o[2] = o[3] = 0.0f;
    return;
  }
  o[0] = (float)(tr - r) * inv;
  o[1] = (float)(tc - c) * inv;
  o[2] = (float)(abs(tr - r) + abs(tc - c)) * 0.5f * inv;
  o[3] = 1.0f;
}

/* Nearest cell of map with a value > 0 (ties by cell index); -1 if none. */
static int nearest_cell(const float *map, int s, int r, int c) {
  int best = -1, bd = 1 << 30;
  for (int cell = 0; cell < s * s; cell++) {
    if (!(map[cell] > 0.0f))
      continue;
    int d = abs(cell / s - r) + abs(cell % s - c);
    if (d < bd) {
      bd = d;
      best = cell;
    }
  }
  return best;
}

static void feat_fc(const env_feat_t *f, const float *st, int i, float *out) {
  const int s = f->size, s2 = s * s, n = f->n_agents, cw = 2 * f->crop + 1;
  const float inv = 1.0f / (float)(s - 1);
  const float *burn = st + 2 * n;
  const float *front = f->privileged ? burn + s2 + 1 : NULL;
  const float *rmap = f->privileged ? burn + 2 * s2 + 1 : NULL;
  int r, c;
  env_state_pos(st, i, &r, &c);
  out[0] = (float)r * inv;
  out[1] = (float)c * inv;
  out[2] = (float)(i >= f->n_first);
  out[3] = burn[s2];
  float *crop = out + f->own_dim;
  const int nch = f->n_channels;
  memset(crop, 0, sizeof(float) * (size_t)f->crop_dim);
  const int r0 = r - f->crop, c0 = c - f->crop;
  for (int dr = 0; dr < cw; dr++)
    for (int dc = 0; dc < cw; dc++) {
      const int rr = r0 + dr, cc = c0 + dc;
      float *x = crop + (dr * cw + dc) * nch;
      if (rr < 0 || rr >= s || cc < 0 || cc >= s) {
        x[0] = 1.0f;
        continue;
      }
      x[1] = burn[rr * s + cc];
      if (front) {
        x[4] = front[rr * s + cc];
        x[5] = rmap[rr * s + cc];
      }
    }
  for (int j = 0; j < n; j++) {
    int rj, cj;
    env_state_pos(st, j, &rj, &cj);
    int dr = rj - r0, dc = cj - c0;
    if ((unsigned)dr < (unsigned)cw && (unsigned)dc < (unsigned)cw)
      crop[(dr * cw + dc) * nch + (j < f->n_first ? 2 : 3)] += 1.0f;
  }
  float *near = crop + f->crop_dim;
  int nb = nearest_cell(burn, s, r, c);
  int nf = front ? nearest_cell(front, s, r, c) : nb;
  near_block(near, r, c, nf / s, nf % s, nf >= 0, inv);
  near_block(near + NEAR_BLOCK, r, c, nb / s, nb % s, nb >= 0, inv);
  int count = 0;
  for (int cell = 0; cell < s2; cell++)
    count += burn[cell] > 0.0f;
  near[2 * NEAR_BLOCK] = (float)count / (float)s2;
}

static void feat_marine(const env_feat_t *f, const float *st, int i, float *out) {
  const int s = f->size, s2 = s * s, n = f->n_agents, nr = f->n_first, cw = 2 * f->crop + 1;
  const float inv = 1.0f / (float)(s - 1);
  const float *dest = st + 2 * n;
  const float *fuel = dest + 2;
  const float *enemy = fuel + nr;
  const float *stepf = enemy + 2 * f->n_enemies;
  const float *inten = f->privileged ? stepf + 1 : NULL;
  const int drow = (int)dest[0], dcol = (int)dest[1];
  const float fuel_inv = 1.0f / (float)f->max_fuel;
  int r, c;
  env_state_pos(st, i, &r, &c);
  const int routing = i < nr;
  out[0] = (float)r * inv;
  out[1] = (float)c * inv;
  out[2] = (float)routing;
  out[3] = routing ? fuel[i] * fuel_inv : 0.0f;
  out[4] = (float)(r == drow && c == dcol);
  out[5] = stepf[0];
  float *crop = out + f->own_dim;
  const int nch = f->n_channels;
  const int ch_enemy = f->n_enemies > 0 ? 4 : -1;
  const int ch_int = inten ? 4 + (f->n_enemies > 0) : -1;
  memset(crop, 0, sizeof(float) * (size_t)f->crop_dim);
  const int r0 = r - f->crop, c0 = c - f->crop;
  for (int dr = 0; dr < cw; dr++)
    for (int dc = 0; dc < cw; dc++) {
      const int rr = r0 + dr, cc = c0 + dc;
      float *x = crop + (dr * cw + dc) * nch;
      if (rr < 0 || rr >= s || cc < 0 || cc >= s) {
        x[0] = 1.0f;
        continue;
      }
      x[1] = (float)(rr == drow && cc == dcol);
      if (ch_int >= 0)
        x[ch_int] = inten[rr * s + cc];
    }
  for (int j = 0; j < n; j++) {
    int rj, cj;
    env_state_pos(st, j, &rj, &cj);
    int dr = rj - r0, dc = cj - c0;
    if ((unsigned)dr < (unsigned)cw && (unsigned)dc < (unsigned)cw)
      crop[(dr * cw + dc) * nch + (j < nr ? 2 : 3)] += 1.0f;
  }
  for (int e = 0; e < f->n_enemies; e++) {
    int dr = (int)enemy[2 * e] - r0, dc = (int)enemy[2 * e + 1] - c0;
    if ((unsigned)dr < (unsigned)cw && (unsigned)dc < (unsigned)cw)
      crop[(dr * cw + dc) * nch + ch_enemy] += 1.0f;
  }
  float *near = crop + f->crop_dim;
  near_block(near, r, c, drow, dcol, 1, inv);
  /* partner: routing -> nearest logistics ship; logistics -> the routing ship
   * most in need (lowest fuel minus distance to go), not yet arrived */
  int best = -1;
  long bkey = 1L << 40;
  if (routing) {
    for (int j = nr; j < n; j++) {
      int rj, cj;
      env_state_pos(st, j, &rj, &cj);
      long key = (long)(abs(rj - r) + abs(cj - c)) * 64 + j;
      if (key < bkey) {
        bkey = key;
        best = j;
      }
    }
  } else {
    for (int j = 0; j < nr; j++) {
      int rj, cj;
      env_state_pos(st, j, &rj, &cj);
      if (rj == drow && cj == dcol)
        continue;
      long need = (long)fuel[j] - (abs(rj - drow) + abs(cj - dcol));
      long key = (need + 4L * s) * 4096 + (long)(abs(rj - r) + abs(cj - c)) * 64 + j;
      if (key < bkey) {
        bkey = key;
        best = j;
      }
    }
  }
  int br = r, bc = c;
  if (best >= 0)
    env_state_pos(st, best, &br, &bc);
  near_block(near + NEAR_BLOCK, r, c, br, bc, best >= 0, inv);
  near[2 * NEAR_BLOCK] = (best >= 0 && best < nr) ? fuel[best] * fuel_inv : 0.0f;
  if (f->n_enemies > 0) {
    int be = -1, bd = 1 << 30;
    for (int e = 0; e < f->n_enemies; e++) {
      int d = abs((int)enemy[2 * e] - r) + abs((int)enemy[2 * e + 1] - c);
      if (d < bd) {
        bd = d;
        be = e;
      }
    }
    near_block(near + 2 * NEAR_BLOCK + 1, r, c, (int)enemy[2 * be], (int)enemy[2 * be + 1], 1,
               inv);
  }
  (void)s2;
}

void env_feat_agent(const env_feat_t *f, const float *state, int agent, float *out) {
  assert(agent >= 0 && agent < f->n_agents);
  if (f->name == HINT_ENV_FIRE_COMMANDER)
    feat_fc(f, state, agent, out);
  else
    feat_marine(f, state, agent, out);
}

/* A bounded best-K list ordered by an integer key (smaller first). */
typedef struct {
  int n, k;
  long key[ENV_MAX_TARGETS];
  int cell[ENV_MAX_TARGETS];
  int kind[ENV_MAX_TARGETS];   /* 1 primary, 2 secondary */
  float extra[ENV_MAX_TARGETS];
} topk_t;

static void topk_add(topk_t *t, long key, int cell, int kind, float extra) {
  if (t->n > 0 && t->n == t->k && key >= t->key[t->n - 1])
    return;
  int p = t->n < t->k ? t->n++ : t->n - 1;
  while (p > 0 && t->key[p - 1] > key) {
    t->key[p] = t->key[p - 1];
    t->cell[p] = t->cell[p - 1];
    t->kind[p] = t->kind[p - 1];
    t->extra[p] = t->extra[p - 1];
    p--;
  }
  t->key[p] = key;
  t->cell[p] = cell;
  t->kind[p] = kind;
  t->extra[p] = extra;
}

int env_feat_targets(const env_feat_t *f, const float *st, int i, int32_t *cells,
                     float *tfeat) {
  assert(i >= 0 && i < f->n_agents);
  const int s = f->size, s2 = s * s, n = f->n_agents;
  const float inv = 1.0f / (float)(s - 1);
  const long group = 1L << 32; /* group above any distance * cells + index */
  topk_t t;
  t.n = 0;
  t.k = f->n_targets;
  int r, c;
  env_state_pos(st, i, &r, &c);
  if (f->name == HINT_ENV_FIRE_COMMANDER) {
    const float *burn = st + 2 * n;
    const float *front = f->privileged ? burn + s2 + 1 : NULL;
    const float *rmap = f->privileged ? burn + 2 * s2 + 1 : NULL;
    for (int cell = 0; cell < s2; cell++) {
      int isf = front && front[cell] > 0.0f;
      if (!isf && !(burn[cell] > 0.0f))
        continue;
      long d = abs(cell / s - r) + abs(cell % s - c);
      topk_add(&t, (isf ? 0 : group) + d * s2 + cell, cell, isf ? 1 : 2,
               rmap ? rmap[cell] : 0.0f);
    }
  } else {
    const int nr = f->n_first;
    const float *dest = st + 2 * n;
    const float *fuel = dest + 2;
    const int drow = (int)dest[0], dcol = (int)dest[1], dcell = drow * s + dcol;
    const int routing = i < nr;
    topk_add(&t, routing ? 0 : 2 * group, dcell, 1, 0.0f);
    for (int j = routing ? nr : 0; j < (routing ? n : nr); j++) {
      int rj, cj;
      env_state_pos(st, j, &rj, &cj);
      if (!routing && rj == drow && cj == dcol)
        continue;
      long d = abs(rj - r) + abs(cj - c);
      topk_add(&t, group + d * 64 + j, rj * s + cj, 2,
               routing ? 0.0f : fuel[j] / (float)f->max_fuel);
    }
  }
  for (int k = 0; k < f->n_targets; k++) {
    float *x = tfeat + (size_t)k * (size_t)f->target_dim;
    if (k >= t.n) {
      cells[k] = -1;
      memset(x, 0, sizeof(float) * (size_t)f->target_dim);
      continue;
    }
    const int tr = t.cell[k] / s, tc = t.cell[k] % s;
    cells[k] = t.cell[k];
    x[0] = (float)(tr - r) * inv;
    x[1] = (float)(tc - c) * inv;
    x[2] = (float)(abs(tr - r) + abs(tc - c)) * 0.5f * inv;
    x[3] = (float)(t.kind[k] == 1);
    x[4] = (float)(t.kind[k] == 2);
    x[5] = t.extra[k];
  }
  return t.n;
}
