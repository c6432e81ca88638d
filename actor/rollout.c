/* rollout.c: see rollout.h. */
#include "actor/rollout.h"

#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/nn/adam.h"
#include "common/wire/boot.h"

/* Carves n_slots buffers out of one allocation (64-byte aligned each). */
static void *carve(void ***slots, const size_t *bytes, int n) {
  size_t total = 0;
  for (int i = 0; i < n; i++)
    total += (bytes[i] + 63) & ~(size_t)63;
  char *block = hint_calloc(1, total ? total : 64);
  if (block == NULL)
    return NULL;
  char *cur = block;
  for (int i = 0; i < n; i++) {
    *slots[i] = bytes[i] ? cur : NULL;
    cur += (bytes[i] + 63) & ~(size_t)63;
  }
  return block;
}

int rollout_init(rollout_t *r, const hint_config_t *cfg, const env_dims_t *dims, int value_width,
                 int comm_dim) {
  memset(r, 0, sizeof *r);
  r->T = cfg->actor.segment_len;
  r->E = cfg->actor.envs;
  r->A = dims->n_agents;
  r->O = dims->obs_dim;
  r->S = dims->state_dim;
  r->NA = dims->n_actions;
  r->C = comm_dim;
  r->V = value_width;
  const size_t T = (size_t)r->T, E = (size_t)r->E, A = (size_t)r->A, F = sizeof(float);
  size_t bytes[] = {
      (T + 1) * E * A * r->O * F, (T + 1) * E * r->S * F, T * E * A * 4, T * E * A * F,
      T * E * F, T * E, T * E, T * E,
      (T + 1) * E * F, (T + 1) * E * r->V * F, T * E * F, T * E,
      T * E * A * r->C * F, T * E * A * 4, T * E * A * F,
      T * E * A * r->NA * F, T * E * A * F, T * E * F,
      T * E * A * F, T * E * r->V * F,
  };
  void **slots[] = {
      (void **)&r->obs, (void **)&r->state, (void **)&r->actions, (void **)&r->logp,
      (void **)&r->rewards, (void **)&r->dones, (void **)&r->truncated, (void **)&r->status,
      (void **)&r->value, (void **)&r->vagent, (void **)&r->trunc_value, (void **)&r->driver,
      (void **)&r->comm, (void **)&r->goals, (void **)&r->goal_logp,
      (void **)&r->pi, (void **)&r->mask, (void **)&r->vT,
      (void **)&r->adv, (void **)&r->ret,
  };
  _Static_assert(sizeof bytes / sizeof bytes[0] == sizeof slots / sizeof slots[0], "slots");
  r->block = carve(slots, bytes, (int)(sizeof bytes / sizeof bytes[0]));
  if (r->block == NULL)
    return HINT_ENOMEM;
  for (size_t i = 0; i < T * E * A; i++)
    r->goals[i] = -1;
  return HINT_OK;
}

void rollout_fini(rollout_t *r) {
  hint_free(r->block);
  memset(r, 0, sizeof *r);
}

void rollout_segment_view(const rollout_t *r, uint32_t actor_rank, int with_goals,
                          msg_segment_t *m) {
  const uint64_t T = (uint64_t)r->T, E = (uint64_t)r->E, A = (uint64_t)r->A;
  memset(m, 0, sizeof *m);
  m->actor_rank = actor_rank;
  m->seq = r->seq;
  m->policy_version = r->policy_version;
  m->teacher_version = r->teacher_version;
  m->env_steps = r->env_steps;
  m->T = (uint32_t)r->T;
  m->E = (uint32_t)r->E;
  m->n_agents = (uint32_t)r->A;
  m->obs_dim = (uint32_t)r->O;
  m->state_dim = (uint32_t)r->S;
  m->n_actions = (uint32_t)r->NA;
  m->comm_dim = (uint32_t)r->C;
  m->obs = msg_tensor(r->obs, (T + 1) * E * A * r->O);
  m->state = msg_tensor(r->state, (T + 1) * E * r->S);
  m->actions = msg_tensor(r->actions, T * E * A);
  m->logp = msg_tensor(r->logp, T * E * A);
  m->rewards = msg_tensor(r->rewards, T * E);
  m->dones = msg_tensor(r->dones, T * E);
  m->truncated = msg_tensor(r->truncated, T * E);
  m->value = msg_tensor(r->value, (T + 1) * E);
  m->trunc_value = msg_tensor(r->trunc_value, T * E);
  m->driver = msg_tensor(r->driver, T * E);
  if (with_goals) {
    m->goals = msg_tensor(r->goals, T * E * A);
    m->goal_logp = msg_tensor(r->goal_logp, T * E * A);
  }
  if (r->C > 0)
    m->comm = msg_tensor(r->comm, T * E * A * r->C);
}

void rollout_set_targets(rollout_t *r, const msg_targets_t *t) {
  const size_t rows = (size_t)r->T * r->E * r->A;
  if (t->pi.n == 0) {
    r->has_targets = 0; /* no guidance for this segment */
  } else {
    msg_tensor_copy(t->pi, r->pi, sizeof(float));
    msg_tensor_copy(t->value, r->vT, sizeof(float));
    for (size_t i = 0; i < rows; i++)
      r->mask[i] = (float)msg_u8(t->mask, i);
    r->has_targets = 1;
  }
  r->teacher_version_targets = t->teacher_version;
}

int update_ws_init(update_ws_t *w, const rollout_t *r) {
  memset(w, 0, sizeof *w);
  const size_t P = (size_t)r->T * r->E, A = (size_t)r->A, F = sizeof(float);
  w->max_pairs = (int)P;
  size_t bytes[] = {P * sizeof(int), P * A * r->O * F, P * r->S * F, P * A * F, P * A * F,
                    P * r->V * F, P * r->V * F, P * A * r->NA * F, P * A * F, P * A * 4};
  void **slots[] = {(void **)&w->pairs, (void **)&w->obs, (void **)&w->state,
                    (void **)&w->old_logp, (void **)&w->adv, (void **)&w->ret,
                    (void **)&w->old_value, (void **)&w->teacher, (void **)&w->mask,
                    (void **)&w->actions};
  w->block = carve(slots, bytes, (int)(sizeof bytes / sizeof bytes[0]));
  return w->block ? HINT_OK : HINT_ENOMEM;
}

void update_ws_fini(update_ws_t *w) {
  hint_free(w->block);
  memset(w, 0, sizeof *w);
}

/* GAE(lambda) backwards over each student-driven env column; dones (and
 * truncations, see rollout.h) cut the trace. Advantages are per agent:
 * broadcast from the team value, or from each agent's own value (ippo). */
static void compute_gae(rollout_t *r, float gamma, float lam) {
  const int T = r->T, E = r->E, A = r->A, V = r->V;
  for (int e = r->n_teacher; e < E; e++)
    for (int k = 0; k < V; k++) {
      float gae = 0.0f;
      for (int t = T - 1; t >= 0; t--) {
        const size_t te = (size_t)t * E + e;
        const float nonterm = (r->dones[te] || r->truncated[te]) ? 0.0f : 1.0f;
        const float v = r->vagent[te * V + k];
        const float vn = r->vagent[((size_t)(t + 1) * E + e) * V + k];
        const float delta = r->rewards[te] + gamma * vn * nonterm - v;
        gae = delta + gamma * lam * nonterm * gae;
        r->ret[te * V + k] = gae + v;
        if (V == 1)
          for (int a = 0; a < A; a++)
            r->adv[te * A + a] = gae;
        else
          r->adv[te * A + k] = gae;
      }
    }
}

int rollout_update(rollout_t *r, student_t *s, update_ws_t *w, const hint_config_t *cfg,
                   float kd_coef, MPI_Comm actors, int n_actors, hint_rng_t *rng,
                   update_stats_t *out) {
  memset(out, 0, sizeof *out);
  const int T = r->T, E = r->E, A = r->A, O = r->O, S = r->S, NA = r->NA, V = r->V;
  compute_gae(r, (float)cfg->student.gamma, (float)cfg->student.gae_lambda);

  int n = 0;
  for (int t = 0; t < T; t++)
    for (int e = r->n_teacher; e < E; e++)
      w->pairs[n++] = t * E + e;
  out->pairs = n;
  if (n == 0)
    return HINT_OK; /* every actor has the same n_teacher: all skip together */

  /* The critic's return statistics, identical on every actor. */
  double rs[3] = {0.0, 0.0, (double)n * V};
  for (int i = 0; i < n; i++)
    for (int k = 0; k < V; k++) {
      const double x = r->ret[(size_t)w->pairs[i] * V + k];
      rs[0] += x;
      rs[1] += x * x;
    }
  if (n_actors > 1 && boot_allreduce(rs, 3, MPI_DOUBLE, MPI_SUM, actors) != MPI_SUCCESS) {
    LOG_ERROR("MPI_Allreduce of return statistics failed");
    return HINT_EMPI;
  }
  student_vnorm_update(s, rs[0] / rs[2], rs[1] / rs[2]);

  /* Normalise advantages over every agent row of the batch. */
  double sum = 0.0, sum2 = 0.0;
  for (int i = 0; i < n; i++)
    for (int a = 0; a < A; a++) {
      double x = r->adv[(size_t)w->pairs[i] * A + a];
      sum += x;
      sum2 += x * x;
    }
  const double cnt = (double)n * A;
  const double mean = sum / cnt;
  const double var = sum2 / cnt - mean * mean;
  const float inv_std = (float)(1.0 / (sqrt(var > 0 ? var : 0) + 1e-8));

  student_coefs_t co = {(float)cfg->student.clip, (float)cfg->student.value_clip,
                        (float)cfg->student.vf_coef, (float)cfg->student.ent_coef,
                        r->has_targets ? kd_coef : 0.0f};
  nn_adam_t opt = nn_adam_defaults();
  opt.lr = (float)cfg->student.lr;
  opt.eps = (float)cfg->student.adam_eps;
  opt.max_grad_norm = (float)cfg->student.max_grad_norm;
  nn_params_t *p = student_params(s);
  const int n_mb = cfg->student.minibatches < n ? cfg->student.minibatches : n;

  for (int epoch = 0; epoch < cfg->student.epochs; epoch++) {
    for (int i = n - 1; i > 0; i--) { /* Fisher-Yates */
      int j = (int)hint_rng_below(rng, (uint32_t)(i + 1));
      int tmp = w->pairs[i];
      w->pairs[i] = w->pairs[j];
      w->pairs[j] = tmp;
    }
    for (int mb = 0; mb < n_mb; mb++) {
      const int lo = (int)((long)n * mb / n_mb), hi = (int)((long)n * (mb + 1) / n_mb);
      const int m = hi - lo;
      for (int i = 0; i < m; i++) {
        const size_t q = (size_t)w->pairs[lo + i];
        memcpy(w->obs + (size_t)i * A * O, r->obs + q * A * O, (size_t)A * O * sizeof(float));
        memcpy(w->state + (size_t)i * S, r->state + q * S, (size_t)S * sizeof(float));
        memcpy(w->actions + (size_t)i * A, r->actions + q * A, (size_t)A * sizeof(int32_t));
        memcpy(w->old_logp + (size_t)i * A, r->logp + q * A, (size_t)A * sizeof(float));
        for (int a = 0; a < A; a++)
          w->adv[(size_t)i * A + a] = (float)((r->adv[q * A + a] - mean) * inv_std);
        memcpy(w->ret + (size_t)i * V, r->ret + q * V, (size_t)V * sizeof(float));
        memcpy(w->old_value + (size_t)i * V, r->vagent + q * V, (size_t)V * sizeof(float));
        if (co.kd_coef > 0.0f) {
          memcpy(w->teacher + (size_t)i * A * NA, r->pi + q * A * NA, (size_t)A * NA * sizeof(float));
          memcpy(w->mask + (size_t)i * A, r->mask + q * A, (size_t)A * sizeof(float));
        }
      }
      student_mb_t b = {m, w->obs, w->state, w->actions, w->old_logp, w->adv, w->ret,
                        w->old_value, co.kd_coef > 0.0f ? w->teacher : NULL,
                        co.kd_coef > 0.0f ? w->mask : NULL};
      nn_params_zero_grad(p);
      student_loss_grad(s, &b, &co, &out->loss);
      if (n_actors > 1) {
        const double ta = hint_now_s();
        int mrc = boot_allreduce(p->g, (int)p->n, MPI_FLOAT, MPI_SUM, actors);
        if (mrc != MPI_SUCCESS) {
          LOG_ERROR("MPI_Allreduce of student gradients failed (code %d)", mrc);
          return HINT_EMPI;
        }
        out->t_allreduce += hint_now_s() - ta;
        const float inv = 1.0f / (float)n_actors;
        for (size_t i = 0; i < p->n; i++)
          p->g[i] *= inv;
      }
      double gn = 0.0;
      int rc = nn_adam_step(p, &opt, &gn);
      if (rc != HINT_OK)
        return rc;
      out->grad_norm += gn;
      out->steps++;
    }
  }
  /* Averages of the per-step figures (kept/rows stay totals). */
  const double k = out->steps > 0 ? 1.0 / out->steps : 0.0;
  out->loss.pg_loss *= k;
  out->loss.value_loss *= k;
  out->loss.entropy *= k;
  out->loss.kd_loss *= k;
  out->loss.clip_frac *= k;
  out->loss.approx_kl *= k;
  out->grad_norm *= k;
  return HINT_OK;
}
