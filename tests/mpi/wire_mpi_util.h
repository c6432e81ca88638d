/* wire_mpi_util.h: shared pieces of the multi-rank wire tests: a CHECK that
 * counts failures instead of aborting (so every rank reaches MPI_Finalize and
 * the job's exit code carries the verdict), the test config, and segments
 * and targets whose every value is a known function of (rank, seq), so the
 * receiver can prove the data arrived untouched. */
#ifndef HINT_TEST_WIRE_MPI_UTIL_H
#define HINT_TEST_WIRE_MPI_UTIL_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/error.h"
#include "common/core/log.h"
#include "common/wire/boot.h"
#include "common/wire/msg.h"
#include "common/wire/wire.h"

static int g_failures;
#define CHECK(cond)                                                                   \
  do {                                                                                \
    if (!(cond)) {                                                                    \
      g_failures++;                                                                   \
      fprintf(stderr, "CHECK failed %s:%d: %s\n", __FILE__, __LINE__, #cond);         \
    }                                                                                 \
  } while (0)
#define CHECK_RC(expr, want)                                                          \
  do {                                                                                \
    int rc_ = (expr);                                                                 \
    if (rc_ != (want)) {                                                              \
      g_failures++;                                                                   \
      fprintf(stderr, "CHECK failed %s:%d: %s = %s, want %s\n", __FILE__, __LINE__,   \
              #expr, hint_errname(rc_), hint_errname(want));                          \
    }                                                                                 \
  } while (0)

static const char *const k_overrides[] = {
    "actor.count=2", "actor.envs=4", "actor.segment_len=8", "transport.curve=on",
    "transport.max_inflight=3", "student.comm=none",
};
#define N_OVERRIDES ((int)(sizeof(k_overrides) / sizeof(k_overrides[0])))

/* FireCommander 5x5 sizes written out, so these tests depend on wire only. */
static void test_shapes(const hint_config_t *cfg, msg_shapes_t *s) {
  env_dims_t d;
  memset(&d, 0, sizeof(d));
  d.n_agents = hint_config_n_agents(cfg);
  d.obs_dim = 52;
  d.state_dim = 32;
  d.n_actions = 6;
  if (msg_shapes_from_config(s, cfg, &d) != 0) abort();
  s->n_teacher_params = 1000;
  s->n_student_params = 500;
}

static float seg_val(int rank, uint64_t seq, uint64_t k) {
  return (float)((uint64_t)rank * 100000u + seq * 7u + k % 1024u);
}

/* Pools sized for the test shapes; every tensor is a prefix of a pool. */
typedef struct {
  float *f;
  int32_t *i;
  uint8_t *u;
  msg_segment_t seg;
} seg_pool_t;

static void seg_pool_init(seg_pool_t *p, const msg_shapes_t *s) {
  size_t nf = (size_t)(s->T + 1) * s->E * s->n_agents * (s->obs_dim + s->state_dim + s->n_actions);
  p->f = calloc(nf, 4);
  p->i = calloc(nf, 4);
  p->u = calloc(nf, 1);
}

static void seg_pool_fini(seg_pool_t *p) {
  free(p->f);
  free(p->i);
  free(p->u);
}

static void seg_fill(seg_pool_t *p, const msg_shapes_t *s, int rank, uint64_t seq) {
  uint64_t T = s->T, T1 = T + 1, E = s->E, A = s->n_agents;
  uint64_t n_obs = T1 * E * A * s->obs_dim;
  for (uint64_t k = 0; k < n_obs; k++) p->f[k] = seg_val(rank, seq, k);
  for (uint64_t k = 0; k < T * E * A; k++) p->i[k] = (int32_t)((seq + k) % s->n_actions);
  for (uint64_t k = 0; k < T * E; k++) p->u[k] = (uint8_t)((seq + k) % 2);
  msg_segment_t *g = &p->seg;
  memset(g, 0, sizeof(*g));
  g->actor_rank = (uint32_t)rank;
  g->seq = seq;
  g->policy_version = seq / 10;
  g->teacher_version = 1;
  g->T = s->T; g->E = s->E; g->n_agents = s->n_agents; g->obs_dim = s->obs_dim;
  g->state_dim = s->state_dim; g->n_actions = s->n_actions; g->comm_dim = s->comm_dim;
  g->obs = msg_tensor(p->f, n_obs);
  g->state = msg_tensor(p->f, T1 * E * s->state_dim);
  g->actions = msg_tensor(p->i, T * E * A);
  g->logp = msg_tensor(p->f, T * E * A);
  g->rewards = msg_tensor(p->f, T * E);
  g->dones = msg_tensor(p->u, T * E);
  g->truncated = msg_tensor(p->u, T * E);
  g->value = msg_tensor(p->f, T1 * E);
  g->trunc_value = msg_tensor(p->f, T * E);
  g->driver = msg_tensor(p->u, T * E);
}

/* 1 if every float and int of the segment is what rank `rank` sent as seq. */
static int seg_intact(const msg_segment_t *g, int rank) {
  for (uint64_t k = 0; k < g->obs.n; k++)
    if (msg_f32(g->obs, k) != seg_val(rank, g->seq, k)) return 0;
  for (uint64_t k = 0; k < g->state.n; k++)
    if (msg_f32(g->state, k) != seg_val(rank, g->seq, k)) return 0;
  for (uint64_t k = 0; k < g->actions.n; k++)
    if (msg_i32(g->actions, k) != (int32_t)((g->seq + k) % g->n_actions)) return 0;
  for (uint64_t k = 0; k < g->dones.n; k++)
    if (msg_u8(g->dones, k) != (uint8_t)((g->seq + k) % 2)) return 0;
  return 1;
}

#endif
