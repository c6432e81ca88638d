/* marine.c: see marine.h. */
#include "common/env/marine.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/env/blob.h"

static const int DR[5] = {-1, 0, 1, 0, 0};
static const int DC[5] = {0, 1, 0, -1, 0};

int marine_refuel_amount(int size, int level) {
  static const int t5[4] = {0, 1, 2, 3}, t10[4] = {0, 1, 3, 5}, t15[4] = {0, 3, 5, 8},
                   t20[4] = {0, 4, 7, 10};
  switch (size) {
  case 5: return t5[level];
  case 10: return t10[level];
  case 15: return t15[level];
  case 20: return t20[level];
  default:
    /* int(max_fuel/2 * intensity) with intensity = level/3, max_fuel = size;
     * computed in integers so it matches the float formula exactly except at
     * ties float rounding would break anyway. */
    return (size * level) / 6;
  }
}

int marine_init(marine_t *m, const hint_config_t *cfg, const waves_t *waves, uint64_t seed,
                int rank, int index) {
  memset(m, 0, sizeof(*m));
  m->size = cfg->env.size;
  m->n_r = cfg->env.routing_ships;
  m->n_l = cfg->env.logistics_ships;
  m->n = m->n_r + m->n_l;
  m->n_e = cfg->env.enemies;
  m->vision = cfg->env.vision;
  m->window = 2 * m->vision + 1;
  m->limit = cfg->env.episode_limit;
  m->privileged = cfg->env.privileged;
  m->pframes = cfg->env.privileged_frames;
  m->max_fuel = m->size;
  const int s = m->size, s2 = s * s;
  m->bits_cell = marine_bit_length(s2);
  m->bits_fuel = marine_bit_length(s);
  m->n_ch = m->n + 4 + (m->n_e > 0);
  m->obs_dim = 2 * m->bits_cell + m->bits_fuel + m->window * m->window * m->n_ch;
  m->state_dim = 2 * m->n + 2 + m->n_r + 2 * m->n_e + 1 +
                 (m->privileged ? (1 + m->pframes) * s2 : 0);
  for (int lv = 0; lv < 4; lv++)
    m->refuel[lv] = marine_refuel_amount(s, lv);
  m->waves = waves;
  m->perm = hint_calloc((size_t)(s2 + s), sizeof(uint16_t));
  if (!m->perm)
    return HINT_ENOMEM;
  m->rows = m->perm + s2;
  hint_rng_seed(&m->rng, seed, (uint64_t)rank, (uint64_t)index);
  marine_reset(m);
  return 0;
}

void marine_fini(marine_t *m) {
  hint_free(m->perm);
  memset(m, 0, sizeof(*m));
}

static void shuffle_prefix(hint_rng_t *r, uint16_t *p, int n, int k) {
  for (int i = 0; i < k; i++) {
    int j = i + (int)hint_rng_below(r, (uint32_t)(n - i));
    uint16_t t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
}

void marine_reset(marine_t *m) {
  const int s = m->size, s2 = s * s;
  hint_rng_t *r = &m->rng;
  /* Scratch permutations restart from the identity so that an initial
   * condition is a function of the RNG state alone (the evaluation set
   * relies on it). */
  for (int i = 0; i < s2; i++)
    m->perm[i] = (uint16_t)i;
  for (int i = 0; i < s; i++)
    m->rows[i] = (uint16_t)i;
  shuffle_prefix(r, m->rows, s, m->n_r);
  for (int i = 0; i < m->n_r; i++) {
    m->pos[i][0] = (int16_t)m->rows[i];
    m->pos[i][1] = 0;
    m->fuel[i] = m->fuel_obs[i] = m->max_fuel;
    m->arrived[i] = 0;
  }
  shuffle_prefix(r, m->perm, s2, m->n_l);
  for (int j = 0; j < m->n_l; j++) {
    m->pos[m->n_r + j][0] = (int16_t)(m->perm[j] / s);
    m->pos[m->n_r + j][1] = (int16_t)(m->perm[j] % s);
  }
  m->dest_r = (int)hint_rng_below(r, (uint32_t)s);
  m->dest_c = s - 1;
  const int windows = m->waves->frames - (m->limit + m->pframes) + 1;
  m->t0 = (int)hint_rng_below(r, (uint32_t)windows);
  m->frame = m->waves->level + (size_t)m->t0 * (size_t)s2;
  for (int e = 0; e < m->n_e; e++) {
    int len = 2 + (int)hint_rng_below(r, (uint32_t)(s - 1));
    m->e_axis[e] = (int8_t)hint_rng_below(r, 2);
    int line = (int)hint_rng_below(r, (uint32_t)s);
    m->e_lo[e] = (int16_t)hint_rng_below(r, (uint32_t)(s - len + 1));
    m->e_hi[e] = (int16_t)(m->e_lo[e] + len - 1);
    int p = m->e_lo[e] + (int)hint_rng_below(r, (uint32_t)len);
    m->e_dir[e] = hint_rng_below(r, 2) ? 1 : -1;
    m->e_pos[e][0] = (int16_t)(m->e_axis[e] == 0 ? line : p);
    m->e_pos[e][1] = (int16_t)(m->e_axis[e] == 0 ? p : line);
  }
  m->step = 0;
  m->ret = 0.0f;
  m->transferred = 0;
  memset(m->last_rewards, 0, sizeof(m->last_rewards));
}

static void move_patrols(marine_t *m) {
  for (int e = 0; e < m->n_e; e++) {
    int ax = m->e_axis[e] == 0 ? 1 : 0; /* row lanes move along columns */
    int p = m->e_pos[e][ax] + m->e_dir[e];
    if (p < m->e_lo[e] || p > m->e_hi[e]) {
      m->e_dir[e] = (int8_t)-m->e_dir[e];
      p = m->e_pos[e][ax] + m->e_dir[e];
    }
    m->e_pos[e][ax] = (int16_t)p;
  }
}

/* A routing ship on a patrol's cell with no logistics ship on or 4-next to
 * it is lost. */
static int patrol_kill(const marine_t *m) {
  for (int i = 0; i < m->n_r; i++) {
    if (m->arrived[i])
      continue;
    int r = m->pos[i][0], c = m->pos[i][1], hit = 0;
    for (int e = 0; e < m->n_e && !hit; e++)
      hit = m->e_pos[e][0] == r && m->e_pos[e][1] == c;
    if (!hit)
      continue;
    int escorted = 0;
    for (int j = m->n_r; j < m->n && !escorted; j++)
      escorted = abs(m->pos[j][0] - r) + abs(m->pos[j][1] - c) <= 1;
    if (!escorted)
      return 1;
  }
  return 0;
}

int marine_step(marine_t *m, const int32_t *act, float *obs, int obs_stride, float *state,
                float *reward) {
  const int s = m->size, s2 = s * s;
  /* (1) this step's wave frame */
  m->frame = m->waves->level + (size_t)(m->t0 + m->step) * (size_t)s2;
  /* (2) actions, routing first; arrived ships ignore theirs */
  for (int i = 0; i < m->n; i++) {
    int a = act[i];
    assert(a >= 0 && a < MARINE_N_ACTIONS);
    if (i < m->n_r && m->arrived[i])
      continue;
    int r = m->pos[i][0] + DR[a], c = m->pos[i][1] + DC[a];
    if (r >= 0 && r < s && c >= 0 && c < s) {
      m->pos[i][0] = (int16_t)r;
      m->pos[i][1] = (int16_t)c;
    }
  }
  move_patrols(m);
  m->step++;
  /* (3) observations see the fuel before this step's burn and refuel */
  for (int i = 0; i < m->n_r; i++)
    m->fuel_obs[i] = m->fuel[i];
  /* (4) rewards and dynamics */
  float *rw = m->last_rewards;
  for (int j = 0; j < m->n; j++)
    rw[j] = -0.05f;
  int newly = 0, all = 1;
  for (int i = 0; i < m->n_r; i++) {
    if (!m->arrived[i] && m->pos[i][0] == m->dest_r && m->pos[i][1] == m->dest_c) {
      m->arrived[i] = 1;
      newly++;
    }
    all &= m->arrived[i];
  }
  for (int i = 0; i < m->n_r; i++)
    rw[i] = m->arrived[i] ? 0.1f * (float)newly
                          : -0.05f * (float)(abs(m->pos[i][0] - m->dest_r) +
                                             abs(m->pos[i][1] - m->dest_c));
  int status = ENV_RUNNING;
  if (all) {
    status = ENV_SUCCESS;
  } else if (m->n_e > 0 && patrol_kill(m)) {
    status = ENV_FAILURE;
  } else {
    uint64_t conn[ENV_MAX_AGENTS]; /* per routing ship: bit j = logistics j on its cell */
    for (int i = 0; i < m->n_r && status == ENV_RUNNING; i++) {
      conn[i] = 0;
      if (m->arrived[i])
        continue;
      if (m->fuel[i] == 0) {
        status = ENV_FAILURE;
        break;
      }
      const int r = m->pos[i][0], c = m->pos[i][1];
      for (int j = 0; j < m->n_l; j++)
        if (m->pos[m->n_r + j][0] == r && m->pos[m->n_r + j][1] == c) {
          conn[i] |= 1ULL << j;
          /* (choice) the connection reward replaces the -0.05 */
          rw[m->n_r + j] = 0.05f * (float)m->frame[r * s + c] / 3.0f;
        }
      m->fuel[i]--;
    }
    if (status == ENV_RUNNING) {
      for (int i = 0; i < m->n_r; i++) {
        if (m->arrived[i] || !conn[i])
          continue;
        const int amount = m->refuel[m->frame[m->pos[i][0] * s + m->pos[i][1]]];
        for (uint64_t bits = conn[i]; bits; bits &= bits - 1) {
          int f = m->fuel[i] + amount;
          if (f > m->max_fuel)
            f = m->max_fuel;
          m->transferred += f - m->fuel[i];
          m->fuel[i] = f;
        }
      }
    }
  }
  if (status == ENV_FAILURE)
    for (int j = 0; j < m->n; j++)
      rw[j] = -10.0f;
  float team = 0.0f;
  for (int j = 0; j < m->n; j++)
    team += rw[j];
  *reward = team;
  m->ret += team;
  if (status == ENV_RUNNING && m->step >= m->limit)
    status = ENV_TIMEOUT;
  if (status == ENV_RUNNING) {
    if (obs)
      marine_write_obs(m, obs, obs_stride);
    if (state)
      marine_write_state(m, state);
  }
  return status;
}

static void put_bits(float *o, int value, int bits) {
  for (int b = 0; b < bits; b++)
    o[b] = (float)((value >> (bits - 1 - b)) & 1);
}

void marine_write_obs(const marine_t *m, float *obs, int stride) {
  const int s = m->size, v = m->vision, w = m->window, nch = m->n_ch, n = m->n;
  const int dest_cell = m->dest_r * s + m->dest_c;
  const int head = 2 * m->bits_cell + m->bits_fuel;
  for (int i = 0; i < n; i++) {
    float *o = obs + (size_t)i * (size_t)stride;
    memset(o, 0, sizeof(float) * (size_t)stride);
    put_bits(o, m->pos[i][0] * s + m->pos[i][1], m->bits_cell);
    put_bits(o + m->bits_cell, dest_cell, m->bits_cell);
    if (i < m->n_r)
      put_bits(o + 2 * m->bits_cell, m->fuel_obs[i], m->bits_fuel);
    float *win = o + head;
    const int r0 = m->pos[i][0] - v, c0 = m->pos[i][1] - v;
    for (int dr = 0; dr < w; dr++) {
      const int r = r0 + dr;
      for (int dc = 0; dc < w; dc++) {
        const int c = c0 + dc;
        float *cell = win + (dr * w + dc) * nch;
        if (r < 0 || r >= s || c < 0 || c >= s) {
          cell[n] = 1.0f;
          continue;
        }
        cell[n + 1] = (float)(r == m->dest_r && c == m->dest_c);
        int lv = m->frame[r * s + c];
        cell[n + 2] = (float)(lv >> 1);
        cell[n + 3] = (float)(lv & 1);
      }
    }
    for (int j = 0; j < n; j++) {
      int dr = m->pos[j][0] - r0, dc = m->pos[j][1] - c0;
      if ((unsigned)dr < (unsigned)w && (unsigned)dc < (unsigned)w)
        win[(dr * w + dc) * nch + j] = 1.0f;
    }
    for (int e = 0; e < m->n_e; e++) {
      int dr = m->e_pos[e][0] - r0, dc = m->e_pos[e][1] - c0;
      if ((unsigned)dr < (unsigned)w && (unsigned)dc < (unsigned)w)
        win[(dr * w + dc) * nch + n + 4] = 1.0f;
    }
  }
}

void marine_write_state(const marine_t *m, float *st) {
  const int s2 = m->size * m->size;
  for (int i = 0; i < m->n; i++) {
    st[2 * i] = (float)m->pos[i][0];
    st[2 * i + 1] = (float)m->pos[i][1];
  }
  float *p = st + 2 * m->n;
  p[0] = (float)m->dest_r;
  p[1] = (float)m->dest_c;
  p += 2;
  for (int i = 0; i < m->n_r; i++)
    p[i] = (float)m->fuel_obs[i];
  p += m->n_r;
  for (int e = 0; e < m->n_e; e++) {
    p[2 * e] = (float)m->e_pos[e][0];
    p[2 * e + 1] = (float)m->e_pos[e][1];
  }
  p += 2 * m->n_e;
  p[0] = (float)m->step / (float)m->limit;
  p++;
  if (!m->privileged)
    return;
  const int t = (int)((m->frame - m->waves->level) / s2);
  for (int k = 0; k <= m->pframes; k++) {
    const uint8_t *f = m->waves->level + (size_t)(t + k) * (size_t)s2;
    for (int c = 0; c < s2; c++)
      p[c] = (float)f[c] * (1.0f / 3.0f);
    p += s2;
  }
}

static int toward(int r, int c, int tr, int tc, int rows_first) {
  int dr = tr - r, dc = tc - c;
  if (dr == 0 && dc == 0)
    return 4;
  if (dr != 0 && (rows_first || dc == 0))
    return dr < 0 ? 0 : 2;
  return dc < 0 ? 3 : 1;
}

void marine_greedy(const marine_t *m, int32_t *act) {
  uint64_t taken = 0;
  for (int j = 0; j < m->n; j++)
    act[j] = 4;
  for (int i = 0; i < m->n_r; i++) {
    if (m->arrived[i])
      continue;
    const int r = m->pos[i][0], c = m->pos[i][1];
    const int d = abs(r - m->dest_r) + abs(c - m->dest_c);
    if (m->fuel[i] >= d - 1) {
      act[i] = toward(r, c, m->dest_r, m->dest_c, 0);
      continue;
    }
    int best = -1, bd = 1 << 30;
    for (int j = m->n_r; j < m->n; j++) {
      if (taken >> (j - m->n_r) & 1)
        continue;
      int dj = abs(m->pos[j][0] - r) + abs(m->pos[j][1] - c);
      if (dj < bd) {
        bd = dj;
        best = j;
      }
    }
    if (best < 0) {
      act[i] = toward(r, c, m->dest_r, m->dest_c, 0);
      continue;
    }
    taken |= 1ULL << (best - m->n_r);
    if (bd == 0) {
      /* Together: escort toward the destination, refuelling each step. */
      act[i] = act[best] = toward(r, c, m->dest_r, m->dest_c, 0);
    } else {
      /* Meet at (logistics row, routing column): the routing ship closes
       * rows only and the logistics ship columns only, so they never swap
       * cells past each other. */
      act[i] = toward(r, c, m->pos[best][0], c, 1);
      act[best] = toward(m->pos[best][0], m->pos[best][1], m->pos[best][0], c, 0);
    }
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

/* Each cell is two characters: the sea (D destination, else the intensity
 * level: # 0 rough, = 1, - 2, . 3 calm) then who is there (R routing, L
 * logistics, B both, E patrol, space nobody; a patrol wins). Ships and fuels
 * are listed below the grid. */
size_t marine_render(const marine_t *m, char *buf, size_t cap) {
  static const char sea[4] = {'#', '=', '-', '.'};
  sb_t b = {buf, cap, 0};
  if (cap)
    buf[0] = '\0';
  const int s = m->size;
  sb_printf(&b, "MARINE %dx%d step %d/%d frame %d dest (%d,%d)\n", s, s, m->step, m->limit,
            (int)((m->frame - m->waves->level) / (s * s)), m->dest_r, m->dest_c);
  for (int r = 0; r < s; r++) {
    for (int c = 0; c < s; c++) {
      int nr = 0, nl = 0, ne = 0;
      for (int i = 0; i < m->n; i++)
        if (m->pos[i][0] == r && m->pos[i][1] == c)
          *(i < m->n_r ? &nr : &nl) += 1;
      for (int e = 0; e < m->n_e; e++)
        ne += m->e_pos[e][0] == r && m->e_pos[e][1] == c;
      char g = (r == m->dest_r && c == m->dest_c) ? 'D' : sea[m->frame[r * s + c]];
      char a = ne ? 'E' : nr && nl ? 'B' : nr ? 'R' : nl ? 'L' : ' ';
      sb_printf(&b, "%s%c%c%s", c == 0 ? "|" : "", g, a, c + 1 < s ? " " : "|\n");
    }
  }
  for (int i = 0; i < m->n; i++) {
    const char *sep = i ? " " : "";
    if (i < m->n_r)
      sb_printf(&b, "%sR%d(%d,%d) fuel %d%s", sep, i, m->pos[i][0], m->pos[i][1], m->fuel[i],
                m->arrived[i] ? " arrived" : "");
    else
      sb_printf(&b, "%sL%d(%d,%d)", sep, i - m->n_r, m->pos[i][0], m->pos[i][1]);
  }
  for (int e = 0; e < m->n_e; e++)
    sb_printf(&b, " E%d(%d,%d)", e, m->e_pos[e][0], m->e_pos[e][1]);
  sb_printf(&b, "\n");
  return b.len;
}

/* ---- Checkpoint record (layout in marine.h) ------------------------------- */

size_t marine_state_size(const marine_t *m) {
  const size_t n = (size_t)m->n, nr = (size_t)m->n_r, ne = (size_t)m->n_e;
  return 2 * 8 + 6 * 4 + 4 + n * 2 * 2 + nr * (4 + 4 + 1) + n * 4 + ne * (4 * 2 + 2);
}

/* Index of the shown frame in the shared field. */
static int frame_index(const marine_t *m) {
  return (int)((m->frame - m->waves->level) / ((size_t)m->size * (size_t)m->size));
}

void marine_state_save(const marine_t *m, void *out) {
  env_wr_t w = {out};
  env_put_u64(&w, m->rng.state);
  env_put_u64(&w, m->rng.inc);
  env_put_i32(&w, m->step);
  env_put_i32(&w, m->t0);
  env_put_i32(&w, frame_index(m));
  env_put_i32(&w, m->dest_r);
  env_put_i32(&w, m->dest_c);
  env_put_i32(&w, m->transferred);
  env_put_f32(&w, m->ret);
  env_put(&w, m->pos, (size_t)m->n * sizeof(m->pos[0])); /* int16 [row, col] pairs */
  for (int i = 0; i < m->n_r; i++)
    env_put_i32(&w, m->fuel[i]);
  for (int i = 0; i < m->n_r; i++)
    env_put_i32(&w, m->fuel_obs[i]);
  env_put(&w, m->arrived, (size_t)m->n_r);
  env_put(&w, m->last_rewards, (size_t)m->n * sizeof(float));
  for (int e = 0; e < m->n_e; e++) {
    env_put_i16(&w, m->e_pos[e][0]);
    env_put_i16(&w, m->e_pos[e][1]);
    env_put_i16(&w, m->e_lo[e]);
    env_put_i16(&w, m->e_hi[e]);
    env_put_i8(&w, m->e_axis[e]);
    env_put_i8(&w, m->e_dir[e]);
  }
  assert((size_t)(w.p - (uint8_t *)out) == marine_state_size(m));
}

int marine_state_load(marine_t *m, const void *in, int apply) {
  const int s = m->size, n = m->n, nr = m->n_r, ne = m->n_e;
  env_rd_t r = {in};
  hint_rng_t rng;
  rng.state = env_get_u64(&r);
  rng.inc = env_get_u64(&r);
  const int32_t step = env_get_i32(&r), t0 = env_get_i32(&r), frame = env_get_i32(&r),
                dest_r = env_get_i32(&r), dest_c = env_get_i32(&r),
                transferred = env_get_i32(&r);
  const float ret = env_get_f32(&r);
  /* Frames read before the next reset: t0 + step (this step's), and the shown
   * frame plus the privileged look-ahead. A copy in a vector is never left
   * at step >= limit (that step ends the episode and the vector resets). */
  const int windows = m->waves->frames - (m->limit + m->pframes) + 1;
  if (!(rng.inc & 1u) || step < 0 || step >= m->limit || t0 < 0 || t0 >= windows ||
      frame < 0 || frame > m->waves->frames - 1 - m->pframes || dest_r < 0 || dest_r >= s ||
      dest_c < 0 || dest_c >= s || transferred < 0)
    return HINT_EPARSE;
  int16_t pos[ENV_MAX_AGENTS][2];
  env_get(&r, pos, (size_t)n * sizeof(pos[0]));
  for (int i = 0; i < n; i++)
    if (pos[i][0] < 0 || pos[i][0] >= s || pos[i][1] < 0 || pos[i][1] >= s)
      return HINT_EPARSE;
  int32_t fuel[ENV_MAX_AGENTS], fuel_obs[ENV_MAX_AGENTS];
  for (int i = 0; i < nr; i++)
    fuel[i] = env_get_i32(&r);
  for (int i = 0; i < nr; i++)
    fuel_obs[i] = env_get_i32(&r);
  uint8_t arrived[ENV_MAX_AGENTS];
  for (int i = 0; i < nr; i++)
    arrived[i] = (uint8_t)env_get_i8(&r);
  for (int i = 0; i < nr; i++)
    if (fuel[i] < 0 || fuel[i] > m->max_fuel || fuel_obs[i] < 0 ||
        fuel_obs[i] > m->max_fuel || arrived[i] > 1)
      return HINT_EPARSE;
  float last_rewards[ENV_MAX_AGENTS];
  env_get(&r, last_rewards, (size_t)n * sizeof(float));
  /* A patrol bounces inside [lo, hi] only when the lane has two cells or
   * more and it starts inside it. */
  int16_t e_pos[MARINE_MAX_ENEMIES][2], e_lo[MARINE_MAX_ENEMIES], e_hi[MARINE_MAX_ENEMIES];
  int8_t e_axis[MARINE_MAX_ENEMIES], e_dir[MARINE_MAX_ENEMIES];
  for (int e = 0; e < ne; e++) {
    e_pos[e][0] = env_get_i16(&r);
    e_pos[e][1] = env_get_i16(&r);
    e_lo[e] = env_get_i16(&r);
    e_hi[e] = env_get_i16(&r);
    e_axis[e] = env_get_i8(&r);
    e_dir[e] = env_get_i8(&r);
    if (e_pos[e][0] < 0 || e_pos[e][0] >= s || e_pos[e][1] < 0 || e_pos[e][1] >= s ||
        (e_axis[e] != 0 && e_axis[e] != 1) || (e_dir[e] != 1 && e_dir[e] != -1) ||
        e_lo[e] < 0 || e_hi[e] <= e_lo[e] || e_hi[e] >= s)
      return HINT_EPARSE;
    const int along = e_pos[e][e_axis[e] == 0 ? 1 : 0];
    if (along < e_lo[e] || along > e_hi[e])
      return HINT_EPARSE;
  }
  assert((size_t)(r.p - (const uint8_t *)in) == marine_state_size(m));
  if (!apply)
    return 0;
  m->rng = rng;
  m->step = step;
  m->t0 = t0;
  m->frame = m->waves->level + (size_t)frame * (size_t)s * (size_t)s;
  m->dest_r = dest_r;
  m->dest_c = dest_c;
  m->transferred = transferred;
  m->ret = ret;
  memcpy(m->pos, pos, (size_t)n * sizeof(pos[0]));
  for (int i = 0; i < nr; i++) {
    m->fuel[i] = fuel[i];
    m->fuel_obs[i] = fuel_obs[i];
    m->arrived[i] = arrived[i];
  }
  memcpy(m->last_rewards, last_rewards, (size_t)n * sizeof(float));
  for (int e = 0; e < ne; e++) {
    m->e_pos[e][0] = e_pos[e][0];
    m->e_pos[e][1] = e_pos[e][1];
    m->e_lo[e] = e_lo[e];
    m->e_hi[e] = e_hi[e];
    m->e_axis[e] = e_axis[e];
    m->e_dir[e] = e_dir[e];
  }
  return 0;
}
