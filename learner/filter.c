/* filter.c: the performance-based filter (filter.h states every rule).
 *
 * Consistency tables: per class, W = filter.consistency_window entries in
 * insertion order (a ring: entry head is the next to be written, and once
 * the ring is full, the oldest) plus an open-addressing index of cap >= 2W
 * slots (linear probing, backward-shift deletion, so no tombstones pile up
 * as keys are evicted). The index holds entry numbers; the entries hold the
 * 64-bit keys, so a key's home slot is key & (cap - 1).
 */
#include "learner/filter.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"

typedef struct {
  uint64_t *key;  /* [W] the entry's key */
  int64_t *n;     /* [W] samples seen at the key */
  double *hbar;   /* [W] running mean of the samples' entropies, nats */
  double *mean;   /* [W][NA] running mean of the teacher distributions */
  int32_t *slot;  /* [cap] entry number, -1 empty */
  int count;      /* entries in use (<= W) */
  int head;       /* next entry to write; the oldest once count == W */
} ftab_t;

struct filter {
  int modes;
  double value_margin, adv_margin, kl_max, max_entropy;
  double gamma, lambda;
  env_dims_t dims;
  int C, bins;
  size_t max_te;  /* T * E the advantage scratch holds (0 without advantage) */
  double *adv;    /* [max_te] GAE under V_T */
  int W;
  size_t cap;     /* index slots per class, a power of two >= 2W */
  ftab_t tab[ENV_MAX_CLASSES];
};

/* ---- Helpers -------------------------------------------------------------- */

/* Entropy of p[0..n) in nats (0 log 0 = 0); NaN if an entry is negative or
 * not finite, so such a row never enters a table and fails every test. */
static double entropy_f(const float *p, int n) {
  double h = 0.0;
  for (int j = 0; j < n; j++) {
    const double x = p[j];
    if (!(x >= 0.0) || !isfinite(x))
      return NAN;
    if (x > 0.0)
      h -= x * log(x);
  }
  return h;
}

static double entropy_d(const double *p, int n) {
  double h = 0.0;
  for (int j = 0; j < n; j++)
    if (p[j] > 0.0)
      h -= p[j] * log(p[j]);
  return h;
}

/* First index of the largest entry (NaN never wins). */
static int argmax_f(const float *p, int n) {
  int best = 0;
  for (int j = 1; j < n; j++)
    if (p[j] > p[best])
      best = j;
  return best;
}

static uint64_t fnv1a(uint64_t h, const void *data, size_t len) {
  const unsigned char *b = data;
  for (size_t i = 0; i < len; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* murmur3's fmix64: spreads FNV's weak low bits, which pick the home slot. */
static uint64_t fmix64(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

static uint8_t quantise(float c, int bins) {
  const double x = c;
  if (!(x > -1.0))
    return 0; /* also NaN */
  if (x >= 1.0)
    return (uint8_t)(bins - 1);
  int q = (int)floor((x + 1.0) * 0.5 * bins);
  return (uint8_t)(q < bins ? q : bins - 1);
}

/* The key of one student input: obs [O], comm [C] or NULL. */
static uint64_t input_key(const filter_t *f, const float *obs, const float *comm) {
  uint64_t h = fnv1a(0xcbf29ce484222325ull, obs, (size_t)f->dims.obs_dim * sizeof(float));
  if (comm)
    for (int d = 0; d < f->C; d++) {
      const uint8_t q = quantise(comm[d], f->bins);
      h = fnv1a(h, &q, 1);
    }
  return fmix64(h);
}

/* ---- Consistency table ------------------------------------------------------ */

/* Index position holding key, or the empty slot where it would go. */
static size_t tab_find(const filter_t *f, const ftab_t *t, uint64_t key) {
  const size_t m = f->cap - 1;
  size_t pos = (size_t)key & m;
  while (t->slot[pos] >= 0 && t->key[t->slot[pos]] != key)
    pos = (pos + 1) & m;
  return pos;
}

/* Removes entry e from the index, shifting later members of its probe run
 * back so every key stays reachable from its home slot. */
static void tab_unlink(const filter_t *f, ftab_t *t, int32_t e) {
  const size_t m = f->cap - 1;
  size_t i = (size_t)t->key[e] & m;
  while (t->slot[i] != e)
    i = (i + 1) & m;
  for (;;) {
    t->slot[i] = -1;
    size_t j = i;
    for (;;) {
      j = (j + 1) & m;
      if (t->slot[j] < 0)
        return;
      const size_t k = (size_t)t->key[t->slot[j]] & m;
      /* The entry at j may fill the hole at i unless its home k lies
       * cyclically in (i, j]. */
      const int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays)
        break;
    }
    t->slot[i] = t->slot[j];
    i = j;
  }
}

/* The entry for key, created (evicting the oldest when full) if absent. */
static int32_t tab_get(const filter_t *f, ftab_t *t, uint64_t key) {
  size_t pos = tab_find(f, t, key);
  if (t->slot[pos] >= 0)
    return t->slot[pos];
  const int32_t e = t->head;
  if (t->count == f->W) {
    tab_unlink(f, t, e);
    pos = tab_find(f, t, key); /* the unlink may have moved the hole */
  } else {
    t->count++;
  }
  t->head = (t->head + 1) % f->W;
  t->slot[pos] = e;
  t->key[e] = key;
  t->n[e] = 0;
  t->hbar[e] = 0.0;
  memset(t->mean + (size_t)e * f->dims.n_actions, 0, (size_t)f->dims.n_actions * sizeof(double));
  return e;
}

/* Adds distribution p (n_c actions, entropy h) at key; returns the mean KL of
 * the key's distributions to their running mean, H(m) - Hbar (>= 0 up to
 * rounding, clamped). */
static double tab_add(const filter_t *f, ftab_t *t, uint64_t key, const float *p, int n_c,
                      double h) {
  const int32_t e = tab_get(f, t, key);
  double *m = t->mean + (size_t)e * f->dims.n_actions;
  const double n = (double)++t->n[e];
  for (int j = 0; j < n_c; j++)
    m[j] += ((double)p[j] - m[j]) / n;
  t->hbar[e] += (h - t->hbar[e]) / n;
  const double kl = entropy_d(m, n_c) - t->hbar[e];
  return kl > 0.0 ? kl : 0.0;
}

/* ---- Lifecycle -------------------------------------------------------------- */

void filter_destroy(filter_t **fp) {
  if (!fp || !*fp)
    return;
  filter_t *f = *fp;
  for (int c = 0; c < ENV_MAX_CLASSES; c++) {
    hint_free(f->tab[c].key);
    hint_free(f->tab[c].n);
    hint_free(f->tab[c].hbar);
    hint_free(f->tab[c].mean);
    hint_free(f->tab[c].slot);
  }
  hint_free(f->adv);
  hint_free(f);
  *fp = NULL;
}

static int dims_ok(const env_dims_t *d) {
  if (d->n_agents < 1 || d->n_agents > ENV_MAX_AGENTS || d->n_classes < 1 ||
      d->n_classes > ENV_MAX_CLASSES || d->obs_dim < 1 || d->n_actions < 1)
    return 0;
  for (int i = 0; i < d->n_agents; i++)
    if (d->class_of[i] < 0 || d->class_of[i] >= d->n_classes)
      return 0;
  for (int c = 0; c < d->n_classes; c++)
    if (d->class_n_actions[c] < 1 || d->class_n_actions[c] > d->n_actions)
      return 0;
  return 1;
}

int filter_create(filter_t **out, const hint_config_t *cfg, const env_dims_t *dims) {
  if (!out)
    return HINT_EINVAL;
  *out = NULL;
  if (!cfg || !dims || !dims_ok(dims))
    return HINT_EINVAL;
  const int modes = cfg->filter.modes;
  if (modes & ~(HINT_FILTER_VALUE | HINT_FILTER_ADVANTAGE | HINT_FILTER_CONSISTENCY |
                HINT_FILTER_CONFIDENCE))
    return HINT_EINVAL;
  const int cons = (modes & HINT_FILTER_CONSISTENCY) != 0;
  const int adv = (modes & HINT_FILTER_ADVANTAGE) != 0;
  const int C = cfg->student.comm == HINT_COMM_NONE ? 0 : cfg->student.comm_dim;
  if (cons && (cfg->filter.consistency_window < 1 || cfg->filter.consistency_window > (1 << 29) ||
               cfg->filter.consistency_bins < 1 || cfg->filter.consistency_bins > 256 || C < 0))
    return HINT_EINVAL;
  if (adv && (cfg->actor.segment_len < 1 || cfg->actor.envs < 1))
    return HINT_EINVAL;

  filter_t *f = hint_calloc(1, sizeof *f);
  if (!f)
    return HINT_ENOMEM;
  f->modes = modes;
  f->value_margin = cfg->filter.value_margin;
  f->adv_margin = cfg->filter.adv_margin;
  f->kl_max = cfg->filter.consistency_kl;
  f->max_entropy = cfg->filter.max_entropy;
  f->gamma = cfg->student.gamma;
  f->lambda = cfg->student.gae_lambda;
  f->dims = *dims;
  f->C = C;
  f->bins = cfg->filter.consistency_bins;
  if (adv) {
    f->max_te = (size_t)cfg->actor.segment_len * (size_t)cfg->actor.envs;
    if (!(f->adv = hint_malloc(f->max_te * sizeof(double))))
      goto oom;
  }
  if (cons) {
    f->W = cfg->filter.consistency_window;
    f->cap = 2;
    while (f->cap < 2 * (size_t)f->W)
      f->cap *= 2;
    const size_t W = (size_t)f->W, NA = (size_t)dims->n_actions;
    for (int c = 0; c < dims->n_classes; c++) {
      ftab_t *t = &f->tab[c];
      t->key = hint_malloc(W * sizeof *t->key);
      t->n = hint_malloc(W * sizeof *t->n);
      t->hbar = hint_malloc(W * sizeof *t->hbar);
      t->mean = hint_calloc(W * NA, sizeof *t->mean);
      t->slot = hint_malloc(f->cap * sizeof *t->slot);
      if (!t->key || !t->n || !t->hbar || !t->mean || !t->slot)
        goto oom;
      memset(t->slot, 0xff, f->cap * sizeof *t->slot); /* all -1 */
    }
  }
  *out = f;
  return HINT_OK;
oom:
  filter_destroy(&f);
  return HINT_ENOMEM;
}

int filter_keys(const filter_t *f, int c) {
  if (!f || c < 0 || c >= f->dims.n_classes || !(f->modes & HINT_FILTER_CONSISTENCY))
    return 0;
  return f->tab[c].count;
}

/* ---- Apply ------------------------------------------------------------------ */

/* GAE over the segment with V_T as the critic, into f->adv [T][E]. */
static void advantages(filter_t *f, const teacher_seg_t *seg, const float *v,
                       const float *v_boot) {
  const int T = seg->T, E = seg->E;
  const double gl = f->gamma * f->lambda;
  for (int e = 0; e < E; e++) {
    double gae = 0.0;
    for (int t = T - 1; t >= 0; t--) {
      const size_t i = (size_t)t * E + e;
      const int live = !seg->dones[i];
      const double next = t == T - 1 ? (double)v_boot[e] : (double)v[i + E];
      /* Written as selects, not products, so a NaN beyond a done cannot leak
       * back through it. */
      const double delta = (double)seg->rewards[i] + (live ? f->gamma * next : 0.0) - (double)v[i];
      const int carry = live && t < T - 1 && seg->driver[i + E] == seg->driver[i];
      gae = delta + (carry ? gl * gae : 0.0);
      f->adv[i] = gae;
    }
  }
}

void filter_apply(filter_t *f, const teacher_seg_t *seg, const float *pi,
                  const float *v_teacher, const float *v_boot, uint8_t *mask,
                  filter_stats_t *st) {
  assert(f && seg && mask);
  const int T = seg->T, E = seg->E, A = f->dims.n_agents, NA = f->dims.n_actions;
  const int O = f->dims.obs_dim;
  const int modes = f->modes;
  filter_stats_t s;
  memset(&s, 0, sizeof s);
  assert(T >= 0 && E >= 0);
  assert(!(modes & ~HINT_FILTER_VALUE) || pi);
  assert(!(modes & (HINT_FILTER_VALUE | HINT_FILTER_ADVANTAGE)) || v_teacher);
  assert(!(modes & HINT_FILTER_VALUE) || seg->value);
  assert(!(modes & HINT_FILTER_CONSISTENCY) || seg->obs);
  if (modes & HINT_FILTER_ADVANTAGE) {
    assert((size_t)T * E <= f->max_te);
    assert(v_boot && seg->actions && seg->rewards && seg->dones && seg->driver);
    advantages(f, seg, v_teacher, v_boot);
  }
  const float *comm = f->C > 0 ? seg->comm : NULL;

  for (int t = 0; t < T; t++)
    for (int e = 0; e < E; e++) {
      const size_t te = (size_t)t * E + e;
      for (int i = 0; i < A; i++) {
        const size_t k = te * A + i;
        if (!mask[k])
          continue;
        const int c = f->dims.class_of[i], n_c = f->dims.class_n_actions[c];
        const float *p = pi ? pi + k * NA : NULL;
        int keep = 1;
        s.offered[c] += 1.0;
        if (modes & HINT_FILTER_VALUE) {
          const double gap = (double)v_teacher[te] - (double)seg->value[te];
          if (!(gap > f->value_margin)) {
            keep = 0;
            s.dropped_by[FILTER_BY_VALUE] += 1.0;
          }
        }
        if (modes & HINT_FILTER_ADVANTAGE) {
          const int worse = f->adv[te] < -f->adv_margin;
          if (!(worse && seg->actions[k] != argmax_f(p, n_c))) {
            keep = 0;
            s.dropped_by[FILTER_BY_ADVANTAGE] += 1.0;
          }
        }
        if (modes & (HINT_FILTER_CONSISTENCY | HINT_FILTER_CONFIDENCE)) {
          const double h = entropy_f(p, n_c);
          if (modes & HINT_FILTER_CONSISTENCY) {
            /* A row that is not a distribution never enters the table. */
            const double kl = isfinite(h)
                ? tab_add(f, &f->tab[c],
                          input_key(f, seg->obs + k * O, comm ? comm + k * f->C : NULL), p,
                          n_c, h)
                : NAN;
            if (!(kl <= f->kl_max)) {
              keep = 0;
              s.dropped_by[FILTER_BY_CONSISTENCY] += 1.0;
            }
          }
          if (modes & HINT_FILTER_CONFIDENCE) {
            const double hn = n_c > 1 ? h / log((double)n_c) : (isfinite(h) ? 0.0 : NAN);
            if (!(hn < f->max_entropy)) {
              keep = 0;
              s.dropped_by[FILTER_BY_CONFIDENCE] += 1.0;
            }
          }
        }
        mask[k] = (uint8_t)keep;
        s.kept[c] += keep;
      }
    }
  if (st)
    *st = s;
}
