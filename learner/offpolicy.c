/* offpolicy.c: see offpolicy.h.
 *
 * The algorithm is one of two; every entry point dispatches on algo.name
 * (HINT_ALGO_QMIX -> qmix_*, HINT_ALGO_MADDPG -> maddpg_*).
 */
#include "learner/offpolicy.h"

#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/core/rng.h"
#include "common/nn/params.h"
#include "learner/maddpg.h"
#include "learner/qmix.h"

/* One stored segment's arrays inside a slot (offsets from the slot start). */
enum { F_OBS, F_STATE, F_ACT, F_REW, F_DONE, F_TRUNC, F_AVAIL, F_N };

struct offpolicy {
  const hint_config_t *cfg;
  int algo;
  int T, E, A, O, S, NA, B;
  student_t *stu;
  qmix_t *qmix;
  maddpg_t *maddpg;
  /* replay ring */
  int cap, count, head;
  size_t off[F_N], slot_bytes;
  unsigned char *slots;     /* [cap][slot_bytes] */
  uint8_t *has_avail;       /* [cap] */
  int any_avail;            /* some stored slot carries avail */
  hint_rng_t rng;
  /* counters (checkpointed) */
  uint64_t updates, version, since_publish;
  /* batch buffers (B transitions) */
  float *obs, *state, *next_obs, *next_state, *reward, *done, *discount;
  int32_t *actions;
  uint8_t *avail, *next_avail, *trunc;
  int64_t *idx;
  void *block;
};

static size_t align64(size_t x) { return (x + 63) & ~(size_t)63; }

void offpolicy_destroy(offpolicy_t **opp) {
  if (opp == NULL || *opp == NULL)
    return;
  offpolicy_t *op = *opp;
  qmix_destroy(&op->qmix);
  maddpg_destroy(&op->maddpg);
  student_destroy(&op->stu);
  hint_free(op->slots);
  hint_free(op->has_avail);
  hint_free(op->block);
  hint_free(op);
  *opp = NULL;
}

int offpolicy_create(offpolicy_t **out, const hint_config_t *cfg, const env_dims_t *dims,
                     uint64_t seed) {
  *out = NULL;
  if (cfg->algo.name != HINT_ALGO_QMIX && cfg->algo.name != HINT_ALGO_MADDPG)
    return HINT_EINVAL;
  offpolicy_t *op = hint_calloc(1, sizeof *op);
  if (op == NULL)
    return HINT_ENOMEM;
  op->cfg = cfg;
  op->algo = cfg->algo.name;
  op->T = cfg->actor.segment_len;
  op->E = cfg->actor.envs;
  op->A = dims->n_agents;
  op->O = dims->obs_dim;
  op->S = dims->state_dim;
  op->NA = dims->n_actions;
  op->B = cfg->offpolicy.batch_size;
  int rc = student_create(&op->stu, cfg, dims, op->B, seed);
  if (rc != HINT_OK)
    goto fail;
  switch (op->algo) {
  case HINT_ALGO_QMIX:
    rc = qmix_create(&op->qmix, cfg, dims, op->stu, seed);
    break;
  case HINT_ALGO_MADDPG:
    rc = maddpg_create(&op->maddpg, cfg, dims, op->stu, seed);
    break;
  default:
    rc = HINT_EINVAL;
  }
  if (rc != HINT_OK)
    goto fail;

  /* Replay: whole segments. */
  const size_t T = (size_t)op->T, E = (size_t)op->E, A = (size_t)op->A, te = T * E;
  const size_t bytes[F_N] = {(T + 1) * E * A * op->O * sizeof(float), (T + 1) * E * op->S * sizeof(float),
                             te * A * sizeof(int32_t), te * sizeof(float), te, te, (T + 1) * E * A * op->NA};
  size_t at = 0;
  for (int f = 0; f < F_N; f++) {
    op->off[f] = at;
    at += align64(bytes[f]);
  }
  op->slot_bytes = at;
  const int64_t want = cfg->offpolicy.replay_transitions;
  op->cap = (int)((want + (int64_t)te - 1) / (int64_t)te);
  if (op->cap < 1)
    op->cap = 1;
  op->slots = hint_malloc((size_t)op->cap * op->slot_bytes);
  op->has_avail = hint_calloc((size_t)op->cap, 1);
  if (op->slots == NULL || op->has_avail == NULL) {
    LOG_ERROR("offpolicy: cannot allocate the replay (%d segments of %.1f MB; offpolicy.replay_transitions = %lld)",
              op->cap, op->slot_bytes / 1e6, (long long)want);
    rc = HINT_ENOMEM;
    goto fail;
  }

  /* Batch buffers. */
  const size_t B = (size_t)op->B;
  size_t sizes[] = {B * A * op->O * 4, B * op->S * 4, B * A * op->O * 4, B * op->S * 4, B * 4, B * 4, B * 4,
                    B * A * 4, B * A * op->NA, B * A * op->NA, B, B * 8};
  void **ptrs[] = {(void **)&op->obs, (void **)&op->state, (void **)&op->next_obs, (void **)&op->next_state,
                   (void **)&op->reward, (void **)&op->done, (void **)&op->discount, (void **)&op->actions,
                   (void **)&op->avail, (void **)&op->next_avail, (void **)&op->trunc, (void **)&op->idx};
  enum { N_BUF = sizeof sizes / sizeof sizes[0] };
  _Static_assert(sizeof ptrs / sizeof ptrs[0] == N_BUF, "buffers");
  size_t total = 0;
  for (int i = 0; i < N_BUF; i++)
    total += align64(sizes[i]);
  op->block = hint_calloc(1, total);
  if (op->block == NULL) {
    rc = HINT_ENOMEM;
    goto fail;
  }
  char *cur = op->block;
  for (int i = 0; i < N_BUF; i++) {
    *ptrs[i] = cur;
    cur += align64(sizes[i]);
  }
  hint_rng_seed(&op->rng, seed, 0, 0x0ff9);
  *out = op;
  return HINT_OK;
fail:
  offpolicy_destroy(&op);
  return rc;
}

student_t *offpolicy_student(offpolicy_t *op) { return op->stu; }
int64_t offpolicy_rows(const offpolicy_t *op) { return (int64_t)op->count * op->T * op->E; }
uint64_t offpolicy_version(const offpolicy_t *op) { return op->version; }
uint64_t offpolicy_updates(const offpolicy_t *op) { return op->updates; }

int offpolicy_ready(const offpolicy_t *op) {
  const int64_t rows = offpolicy_rows(op);
  return rows > 0 && rows >= op->cfg->offpolicy.warmup_transitions;
}

int offpolicy_add(offpolicy_t *op, const offp_seg_t *seg) {
  if (seg->T != op->T || seg->E != op->E)
    return HINT_ESHAPE;
  const size_t T = (size_t)op->T, E = (size_t)op->E, A = (size_t)op->A, te = T * E;
  unsigned char *s = op->slots + (size_t)op->head * op->slot_bytes;
  memcpy(s + op->off[F_OBS], seg->obs, (T + 1) * E * A * op->O * sizeof(float));
  memcpy(s + op->off[F_STATE], seg->state, (T + 1) * E * op->S * sizeof(float));
  memcpy(s + op->off[F_ACT], seg->actions, te * A * sizeof(int32_t));
  memcpy(s + op->off[F_REW], seg->rewards, te * sizeof(float));
  memcpy(s + op->off[F_DONE], seg->dones, te);
  if (seg->truncated)
    memcpy(s + op->off[F_TRUNC], seg->truncated, te);
  else
    memset(s + op->off[F_TRUNC], 0, te);
  op->has_avail[op->head] = seg->avail != NULL;
  if (seg->avail) {
    memcpy(s + op->off[F_AVAIL], seg->avail, (T + 1) * E * A * op->NA);
    op->any_avail = 1;
  }
  op->head = (op->head + 1) % op->cap;
  if (op->count < op->cap)
    op->count++;
  return HINT_OK;
}

int offpolicy_gather(offpolicy_t *op, const int64_t *idx, int n, offp_batch_t *out) {
  if (n < 1 || n > op->B)
    return HINT_EINVAL;
  const int64_t rows = offpolicy_rows(op), te = (int64_t)op->T * op->E;
  const size_t A = (size_t)op->A, O = (size_t)op->O, S = (size_t)op->S, NA = (size_t)op->NA;
  const size_t E = (size_t)op->E, T = (size_t)op->T, nstep = (size_t)op->cfg->offpolicy.nstep;
  const float gamma = (float)op->cfg->offpolicy.gamma;
  for (int i = 0; i < n; i++) {
    if (idx[i] < 0 || idx[i] >= rows)
      return HINT_EINVAL;
    const int slot = (int)(idx[i] / te);
    const size_t r = (size_t)(idx[i] % te), t = r / E, e = r % E;
    const unsigned char *s = op->slots + (size_t)slot * op->slot_bytes;
    const float *obs = (const float *)(s + op->off[F_OBS]), *state = (const float *)(s + op->off[F_STATE]);
    const float *rew = (const float *)(s + op->off[F_REW]);
    /* m = 1 .. nstep steps: up to the first done, within the segment (its
     * last observation row T is there to bootstrap from). */
    float ret = 0.0f, disc = 1.0f;
    uint8_t done = 0, trunc = 0;
    size_t m = 0;
    while (m < nstep && t + m < T && !done) {
      const size_t k = (t + m) * E + e;
      ret += disc * rew[k];
      disc *= gamma;
      trunc = s[op->off[F_TRUNC] + k] != 0;
      done = s[op->off[F_DONE] + k] != 0 || trunc;
      m++;
    }
    const size_t now = t * E + e, next = (t + m) * E + e;
    memcpy(op->obs + i * A * O, obs + now * A * O, A * O * sizeof(float));
    memcpy(op->next_obs + i * A * O, obs + next * A * O, A * O * sizeof(float));
    memcpy(op->state + i * S, state + now * S, S * sizeof(float));
    memcpy(op->next_state + i * S, state + next * S, S * sizeof(float));
    memcpy(op->actions + i * A, (const int32_t *)(s + op->off[F_ACT]) + now * A, A * sizeof(int32_t));
    op->reward[i] = ret;
    op->discount[i] = disc;
    op->done[i] = done ? 1.0f : 0.0f;
    op->trunc[i] = trunc;
    if (op->any_avail) {
      if (op->has_avail[slot]) {
        memcpy(op->avail + i * A * NA, s + op->off[F_AVAIL] + now * A * NA, A * NA);
        memcpy(op->next_avail + i * A * NA, s + op->off[F_AVAIL] + next * A * NA, A * NA);
      } else {
        memset(op->avail + i * A * NA, 1, A * NA);
        memset(op->next_avail + i * A * NA, 1, A * NA);
      }
    }
  }
  memset(out, 0, sizeof *out);
  out->n = n;
  out->obs = op->obs;
  out->state = op->state;
  out->actions = op->actions;
  out->reward = op->reward;
  out->done = op->done;
  out->next_obs = op->next_obs;
  out->next_state = op->next_state;
  out->avail = op->any_avail ? op->avail : NULL;
  out->next_avail = op->any_avail ? op->next_avail : NULL;
  out->trunc_obs_missing = op->trunc;
  out->discount = nstep > 1 ? op->discount : NULL;
  return HINT_OK;
}

static int algo_update(offpolicy_t *op, const offp_batch_t *b, offp_stats_t *st) {
  switch (op->algo) {
  case HINT_ALGO_QMIX:
    return qmix_update(op->qmix, b, st);
  case HINT_ALGO_MADDPG:
    return maddpg_update(op->maddpg, b, st);
  default:
    return HINT_EINVAL;
  }
}

int offpolicy_train(offpolicy_t *op, int steps, offp_stats_t *st) {
  if (!offpolicy_ready(op))
    return HINT_OK;
  const int64_t rows = offpolicy_rows(op);
  for (int k = 0; k < steps; k++) {
    for (int i = 0; i < op->B; i++)
      op->idx[i] = (int64_t)hint_rng_below(&op->rng, (uint32_t)rows);
    offp_batch_t b;
    int rc = offpolicy_gather(op, op->idx, op->B, &b);
    if (rc == HINT_OK)
      rc = algo_update(op, &b, st);
    if (rc != HINT_OK)
      return rc;
    op->updates++;
    op->since_publish++;
  }
  return HINT_OK;
}

int offpolicy_publish_due(const offpolicy_t *op) {
  return op->since_publish >= (uint64_t)op->cfg->offpolicy.publish_every;
}
int offpolicy_publish_pending(const offpolicy_t *op) { return op->since_publish > 0; }
uint64_t offpolicy_published(offpolicy_t *op) {
  op->since_publish = 0;
  return ++op->version;
}

/* ---- checkpoint ------------------------------------------------------------- */

#define OFFP_MAGIC "OFFP"
#define OFFP_VERSION 1u
/* magic, version, algo, cap, count, head, any_avail, updates, version,
 * since_publish, slot_bytes, student blob bytes, algo blob bytes, rng */
#define OFFP_HEADER (4 + 4 * 6 + 8 * 6 + sizeof(hint_rng_t))

static size_t algo_ckpt_size(const offpolicy_t *op) {
  switch (op->algo) {
  case HINT_ALGO_QMIX:
    return qmix_ckpt_size(op->qmix);
  case HINT_ALGO_MADDPG:
    return maddpg_ckpt_size(op->maddpg);
  default:
    return 0;
  }
}

static int saved_slots(const offpolicy_t *op) { return op->cfg->offpolicy.ckpt_replay ? op->count : 0; }

size_t offpolicy_ckpt_size(const offpolicy_t *op) {
  return OFFP_HEADER + nn_params_blob_size(student_params(op->stu), 1) + algo_ckpt_size(op) +
         (size_t)saved_slots(op) * (op->slot_bytes + 1);
}

int offpolicy_ckpt_save(const offpolicy_t *op, void *buf, size_t cap, size_t *len) {
  const size_t need = offpolicy_ckpt_size(op);
  if (cap < need)
    return HINT_ERANGE;
  unsigned char *p = buf;
  const nn_params_t *sp = student_params(op->stu);
  const size_t sbytes = nn_params_blob_size(sp, 1), abytes = algo_ckpt_size(op);
  const int n_slots = saved_slots(op);
  uint32_t u32[6] = {OFFP_VERSION, (uint32_t)op->algo, (uint32_t)op->cap, (uint32_t)n_slots,
                     (uint32_t)(n_slots ? op->head : 0), (uint32_t)(n_slots ? op->any_avail : 0)};
  uint64_t u64[6] = {op->updates, op->version, op->since_publish, op->slot_bytes, sbytes, abytes};
  size_t at = 0;
  memcpy(p, OFFP_MAGIC, 4);
  at += 4;
  memcpy(p + at, u32, sizeof u32);
  at += sizeof u32;
  memcpy(p + at, u64, sizeof u64);
  at += sizeof u64;
  memcpy(p + at, &op->rng, sizeof op->rng);
  at += sizeof op->rng;
  size_t l = 0;
  nn_params_save(sp, 1, p + at, cap - at, &l);
  at += l;
  int rc = HINT_OK;
  switch (op->algo) {
  case HINT_ALGO_QMIX:
    rc = qmix_ckpt_save(op->qmix, p + at, cap - at);
    break;
  case HINT_ALGO_MADDPG:
    rc = maddpg_ckpt_save(op->maddpg, p + at, cap - at);
    break;
  default:
    rc = HINT_EINVAL;
  }
  if (rc != HINT_OK)
    return rc;
  at += abytes;
  /* The filled slots: [0, count) (the ring fills from slot 0, head wraps). */
  memcpy(p + at, op->has_avail, (size_t)n_slots);
  at += (size_t)n_slots;
  memcpy(p + at, op->slots, (size_t)n_slots * op->slot_bytes);
  at += (size_t)n_slots * op->slot_bytes;
  *len = at;
  return HINT_OK;
}

int offpolicy_ckpt_load(offpolicy_t *op, const void *buf, size_t len) {
  const unsigned char *p = buf;
  if (len < OFFP_HEADER)
    return HINT_ETRUNC;
  if (memcmp(p, OFFP_MAGIC, 4) != 0)
    return HINT_EMAGIC;
  uint32_t u32[6];
  uint64_t u64[6];
  memcpy(u32, p + 4, sizeof u32);
  memcpy(u64, p + 4 + sizeof u32, sizeof u64);
  if (u32[0] != OFFP_VERSION)
    return HINT_EVERSION;
  const nn_params_t *sp = student_params(op->stu);
  const size_t sbytes = nn_params_blob_size(sp, 1), abytes = algo_ckpt_size(op);
  if (u32[1] != (uint32_t)op->algo || u32[2] != (uint32_t)op->cap || u64[3] != op->slot_bytes ||
      u64[4] != sbytes || u64[5] != abytes)
    return HINT_ESHAPE;
  const int n_slots = (int)u32[3];
  if (n_slots < 0 || n_slots > op->cap || (int)u32[4] >= op->cap || u32[5] > 1 || u64[2] > u64[0])
    return HINT_EPARSE;
  const size_t need = OFFP_HEADER + sbytes + abytes + (size_t)n_slots * (op->slot_bytes + 1);
  if (len < need)
    return HINT_ETRUNC;
  if (len != need)
    return HINT_EPARSE;
  size_t at = 4 + sizeof u32 + sizeof u64;
  hint_rng_t rng;
  memcpy(&rng, p + at, sizeof rng);
  at += sizeof rng;
  int rc = nn_params_load(student_params(op->stu), p + at, sbytes);
  if (rc != HINT_OK)
    return rc;
  at += sbytes;
  switch (op->algo) {
  case HINT_ALGO_QMIX:
    rc = qmix_ckpt_load(op->qmix, p + at, abytes);
    break;
  case HINT_ALGO_MADDPG:
    rc = maddpg_ckpt_load(op->maddpg, p + at, abytes);
    break;
  default:
    rc = HINT_EINVAL;
  }
  if (rc != HINT_OK)
    return rc;
  at += abytes;
  memset(op->has_avail, 0, (size_t)op->cap);
  memcpy(op->has_avail, p + at, (size_t)n_slots);
  at += (size_t)n_slots;
  memcpy(op->slots, p + at, (size_t)n_slots * op->slot_bytes);
  op->count = n_slots;
  op->head = n_slots ? (int)u32[4] : 0;
  op->any_avail = (int)u32[5];
  op->updates = u64[0];
  op->version = u64[1];
  op->since_publish = u64[2];
  op->rng = rng;
  return HINT_OK;
}
