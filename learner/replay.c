/* replay.c: see replay.h. Slot layout (each tensor 64-byte aligned):
 * obs, state, actions, logp, rewards, dones, truncated, value, driver, goals,
 * goal_logp, comm. */
#include "learner/replay.h"

#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"

enum { F_OBS, F_STATE, F_ACTIONS, F_LOGP, F_REWARDS, F_DONES, F_TRUNC, F_VALUE, F_DRIVER,
       F_GOALS, F_GOAL_LOGP, F_COMM, N_FIELDS };

static size_t al(size_t x) { return (x + 63) & ~(size_t)63; }

static void field_sizes(const replay_t *r, size_t *sz) {
  const size_t T = (size_t)r->T, E = (size_t)r->E, A = (size_t)r->A;
  sz[F_OBS] = (T + 1) * E * A * r->O * 4;
  sz[F_STATE] = (T + 1) * E * r->S * 4;
  sz[F_ACTIONS] = T * E * A * 4;
  sz[F_LOGP] = T * E * A * 4;
  sz[F_REWARDS] = T * E * 4;
  sz[F_DONES] = T * E;
  sz[F_TRUNC] = T * E;
  sz[F_VALUE] = (T + 1) * E * 4;
  sz[F_DRIVER] = T * E;
  sz[F_GOALS] = T * E * A * 4;
  sz[F_GOAL_LOGP] = T * E * A * 4;
  sz[F_COMM] = T * E * A * r->C * 4;
}

static unsigned char *field(const replay_t *r, int slot, int f) {
  size_t sz[N_FIELDS], off = 0;
  field_sizes(r, sz);
  for (int i = 0; i < f; i++)
    off += al(sz[i]);
  return r->data + (size_t)slot * r->slot_bytes + off;
}

int replay_init(replay_t *r, int cap, const msg_shapes_t *sh) {
  memset(r, 0, sizeof *r);
  if (cap <= 0)
    return HINT_EINVAL;
  r->cap = cap;
  r->T = (int)sh->T;
  r->E = (int)sh->E;
  r->A = (int)sh->n_agents;
  r->O = (int)sh->obs_dim;
  r->S = (int)sh->state_dim;
  r->NA = (int)sh->n_actions;
  r->C = (int)sh->comm_dim;
  size_t sz[N_FIELDS];
  field_sizes(r, sz);
  for (int i = 0; i < N_FIELDS; i++)
    r->slot_bytes += al(sz[i]);
  r->meta = hint_calloc((size_t)cap, sizeof *r->meta);
  r->data = hint_calloc((size_t)cap, r->slot_bytes);
  if (r->meta == NULL || r->data == NULL) {
    replay_fini(r);
    return HINT_ENOMEM;
  }
  return HINT_OK;
}

void replay_fini(replay_t *r) {
  hint_free(r->meta);
  hint_free(r->data);
  memset(r, 0, sizeof *r);
}

int replay_store(replay_t *r, const msg_segment_t *s) {
  const int slot = r->head;
  msg_tensor_copy(s->obs, field(r, slot, F_OBS), 4);
  msg_tensor_copy(s->state, field(r, slot, F_STATE), 4);
  msg_tensor_copy(s->actions, field(r, slot, F_ACTIONS), 4);
  msg_tensor_copy(s->logp, field(r, slot, F_LOGP), 4);
  msg_tensor_copy(s->rewards, field(r, slot, F_REWARDS), 4);
  msg_tensor_copy(s->dones, field(r, slot, F_DONES), 1);
  msg_tensor_copy(s->truncated, field(r, slot, F_TRUNC), 1);
  msg_tensor_copy(s->value, field(r, slot, F_VALUE), 4);
  msg_tensor_copy(s->driver, field(r, slot, F_DRIVER), 1);
  msg_tensor_copy(s->goals, field(r, slot, F_GOALS), 4);
  msg_tensor_copy(s->goal_logp, field(r, slot, F_GOAL_LOGP), 4);
  msg_tensor_copy(s->comm, field(r, slot, F_COMM), 4);
  replay_meta_t *m = &r->meta[slot];
  m->actor_rank = s->actor_rank;
  m->seq = s->seq;
  m->policy_version = s->policy_version;
  m->teacher_version = s->teacher_version;
  m->env_steps = s->env_steps;
  m->has_goals = s->goals.n > 0;
  m->has_comm = s->comm.n > 0;
  r->head = (r->head + 1) % r->cap;
  if (r->count < r->cap)
    r->count++;
  r->stored++;
  return slot;
}

int replay_store_slot(replay_t *dst, const replay_t *src, int slot) {
  const int to = dst->head;
  memcpy(dst->data + (size_t)to * dst->slot_bytes, src->data + (size_t)slot * src->slot_bytes,
         dst->slot_bytes);
  dst->meta[to] = src->meta[slot];
  dst->head = (dst->head + 1) % dst->cap;
  if (dst->count < dst->cap)
    dst->count++;
  dst->stored++;
  return to;
}

void replay_view(const replay_t *r, int slot, teacher_seg_t *v) {
  memset(v, 0, sizeof *v);
  v->T = r->T;
  v->E = r->E;
  v->obs = (const float *)field(r, slot, F_OBS);
  v->state = (const float *)field(r, slot, F_STATE);
  v->actions = (const int32_t *)field(r, slot, F_ACTIONS);
  v->logp = (const float *)field(r, slot, F_LOGP);
  v->rewards = (const float *)field(r, slot, F_REWARDS);
  v->dones = field(r, slot, F_DONES);
  v->truncated = field(r, slot, F_TRUNC);
  v->value = (const float *)field(r, slot, F_VALUE);
  v->driver = field(r, slot, F_DRIVER);
  if (r->meta[slot].has_goals) {
    v->goals = (const int32_t *)field(r, slot, F_GOALS);
    v->goal_logp = (const float *)field(r, slot, F_GOAL_LOGP);
  }
  if (r->meta[slot].has_comm)
    v->comm = (const float *)field(r, slot, F_COMM);
}

int replay_newest(const replay_t *r, int k) {
  return ((r->head - 1 - k) % r->cap + r->cap) % r->cap;
}
