/* maddpg.c: see maddpg.h.
 *
 * Row order follows actor/student.c: within class c the agent rows of a batch
 * of n pairs are pair-major, row r = p * count_c + k is agent first_c + k of
 * pair p, so a class is one contiguous matrix for its policy and its critic.
 * Per-agent arrays of the batch ([n][A][...]) are indexed p * A + i.
 *
 * Ownership: the policy MLPs and their arena belong to the student (borrowed);
 * the critic arena (critics, their gradients and Adam moments), the target
 * arena (target actors, target critics), the workspaces and the scratch block
 * belong to the module and are allocated once in create.
 */
#include "learner/maddpg.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/nn/adam.h"

#define K_MAX ENV_MAX_CLASSES

struct maddpg {
  maddpg_hparams_t hp;
  int A, O, S, NA, K;
  int first[K_MAX], count[K_MAX];
  int ident[K_MAX];    /* agent-identity one-hot width of class c: count or 0 */
  int in[K_MAX];       /* critic input width: S + A * NA + ident */
  int max_rows;        /* batch * the largest class */
  student_t *stu;      /* borrowed */
  nn_params_t *sp;     /* the student arena (borrowed) */
  nn_mlp_t *pol[K_MAX];/* the student's policy MLPs (borrowed) */
  nn_params_t cp;      /* critics, with Adam */
  nn_params_t tp;      /* target actors and target critics */
  nn_mlp_t crit[K_MAX], tcrit[K_MAX], tpol[K_MAX];
  nn_mlp_ws_t pol_ws[K_MAX], tpol_ws[K_MAX], crit_ws[K_MAX], tcrit_ws[K_MAX];
  hint_rng_t rng;
  int64_t updates;
  /* scratch, sized at create */
  float *x;        /* (max_rows, max(in, O)) critic or policy input */
  float *dx;       /* (max_rows, max in) dL/d(critic input) */
  float *q;        /* (max_rows) critic outputs */
  float *dq;       /* (max_rows) */
  float *y;        /* (batch * A) TD targets per agent row */
  float *logits;   /* (max_rows, NA) */
  float *dlogits;  /* (max_rows, NA) */
  float *soft;     /* (max_rows, NA) Gumbel-softmax soft sample */
  float *gnext;    /* (batch * A * NA) noise drawn by maddpg_update */
  float *gcur;     /* (batch * A * NA) */
  int *next_act;   /* (batch * A) target actors' actions on next_obs */
  int *hard;       /* (max_rows) straight-through actions of one class */
  void *block;
};

maddpg_hparams_t maddpg_hparams_from_config(const hint_config_t *cfg) {
  /* The offpolicy.* section (shared with qmix where the meaning is shared);
   * the critics' activation is relu as in Lowe et al. and EPyMARL. */
  maddpg_hparams_t h;
  memset(&h, 0, sizeof h);
  h.lr_actor = (float)cfg->offpolicy.lr;
  h.lr_critic = (float)cfg->offpolicy.critic_lr;
  h.adam_eps = (float)cfg->offpolicy.adam_eps;
  h.gamma = (float)cfg->offpolicy.gamma;
  h.max_grad_norm = (float)cfg->offpolicy.max_grad_norm;
  h.tau = (float)cfg->offpolicy.tau;
  h.gumbel_tau = (float)cfg->offpolicy.gumbel_tau;
  h.logit_reg = (float)cfg->offpolicy.logit_reg;
  h.batch = cfg->offpolicy.batch_size;
  h.critic_hidden = cfg->offpolicy.critic_hidden;
  h.critic_layers = cfg->offpolicy.critic_layers;
  h.critic_act = NN_ACT_RELU;
  return h;
}

const maddpg_hparams_t *maddpg_hparams(const maddpg_t *m) { return &m->hp; }
nn_params_t *maddpg_critic_params(maddpg_t *m) { return &m->cp; }
nn_params_t *maddpg_target_params(maddpg_t *m) { return &m->tp; }
nn_mlp_t *maddpg_critic_mlp(maddpg_t *m, int c) { return c >= 0 && c < m->K ? &m->crit[c] : NULL; }
nn_mlp_t *maddpg_target_critic_mlp(maddpg_t *m, int c) {
  return c >= 0 && c < m->K ? &m->tcrit[c] : NULL;
}
nn_mlp_t *maddpg_target_policy_mlp(maddpg_t *m, int c) {
  return c >= 0 && c < m->K ? &m->tpol[c] : NULL;
}
int64_t maddpg_updates(const maddpg_t *m) { return m->updates; }

void maddpg_destroy(maddpg_t **mp) {
  if (mp == NULL || *mp == NULL)
    return;
  maddpg_t *m = *mp;
  for (int c = 0; c < K_MAX; c++) {
    nn_mlp_ws_fini(&m->pol_ws[c]);
    nn_mlp_ws_fini(&m->tpol_ws[c]);
    nn_mlp_ws_fini(&m->crit_ws[c]);
    nn_mlp_ws_fini(&m->tcrit_ws[c]);
  }
  nn_params_fini(&m->cp);
  nn_params_fini(&m->tp);
  hint_free(m->block);
  hint_free(m);
  *mp = NULL;
}

static int hp_check(const maddpg_hparams_t *h) {
  if (!(h->lr_actor >= 0.0f) || !(h->lr_critic >= 0.0f) || !(h->adam_eps > 0.0f) ||
      !(h->gamma >= 0.0f && h->gamma <= 1.0f) || !(h->tau > 0.0f && h->tau <= 1.0f) ||
      !(h->gumbel_tau > 0.0f) || !(h->logit_reg >= 0.0f) || h->batch <= 0 ||
      h->critic_hidden <= 0 || h->critic_layers < 1 || h->critic_layers >= NN_MLP_MAX_LAYERS)
    return HINT_EINVAL;
  return HINT_OK;
}

static void copy_mlp(nn_mlp_t *dst, const nn_mlp_t *src) {
  assert(dst->count == src->count);
  memcpy(dst->params->w + dst->offset, src->params->w + src->offset, src->count * sizeof(float));
}

int maddpg_create_hp(maddpg_t **out, const maddpg_hparams_t *hp, const env_dims_t *dims,
                     student_t *stu, uint64_t seed) {
  *out = NULL;
  if (hp_check(hp) != HINT_OK) {
    LOG_ERROR("maddpg: invalid hyperparameters (lr, eps, gamma in [0,1], tau in (0,1], "
              "gumbel_tau > 0, batch and critic sizes positive)");
    return HINT_EINVAL;
  }
  if (dims->n_classes < 1 || dims->n_classes > K_MAX || dims->n_agents < 1 ||
      dims->n_actions < 1 || dims->obs_dim < 1 || dims->state_dim < 1)
    return HINT_EINVAL;
  if (student_comm_dim(stu) != 0) {
    LOG_ERROR("maddpg: the actors must act on local observations only (student.comm: none)");
    return HINT_EINVAL;
  }
  maddpg_t *m = hint_calloc(1, sizeof *m);
  if (m == NULL)
    return HINT_ENOMEM;
  m->hp = *hp;
  m->A = dims->n_agents;
  m->O = dims->obs_dim;
  m->S = dims->state_dim;
  m->NA = dims->n_actions;
  m->K = dims->n_classes;
  m->stu = stu;
  m->sp = student_params(stu);
  int rc = HINT_EINVAL, most = 0, max_in = 0;
  for (int c = 0; c < m->K; c++) {
    m->first[c] = dims->class_first[c];
    m->count[c] = dims->class_count[c];
    m->ident[c] = m->count[c] > 1 ? m->count[c] : 0;
    m->in[c] = m->S + m->A * m->NA + m->ident[c];
    most = m->count[c] > most ? m->count[c] : most;
    max_in = m->in[c] > max_in ? m->in[c] : max_in;
    m->pol[c] = student_policy_mlp(stu, c);
    if (m->pol[c] == NULL || m->pol[c]->desc.in_dim != m->O || m->pol[c]->desc.out_dim != m->NA ||
        dims->class_n_actions[c] != m->NA)
      goto fail;
  }
  m->max_rows = hp->batch * most;

  /* Critic arena: one critic per class; target arena: per class the target
   * actor then the target critic. */
  nn_mlp_desc_t dc[K_MAX];
  size_t ncrit = 0, ntarget = 0;
  for (int c = 0; c < m->K; c++) {
    memset(&dc[c], 0, sizeof dc[c]);
    dc[c].in_dim = m->in[c];
    dc[c].out_dim = 1;
    dc[c].n_hidden = hp->critic_layers;
    for (int l = 0; l < hp->critic_layers; l++)
      dc[c].hidden[l] = hp->critic_hidden;
    dc[c].act = hp->critic_act;
    ncrit += nn_mlp_param_count(&dc[c]);
    ntarget += nn_mlp_param_count(&dc[c]) + m->pol[c]->count;
  }
  if ((rc = nn_params_init(&m->cp, ncrit)) != HINT_OK ||
      (rc = nn_params_init(&m->tp, ntarget)) != HINT_OK)
    goto fail;
  hint_rng_t init_rng;
  hint_rng_seed(&init_rng, seed, 0x4D41, 0);
  hint_rng_seed(&m->rng, seed, 0x4D41, 1);
  const float hg = hp->critic_act == NN_ACT_RELU ? sqrtf(2.0f) : 5.0f / 3.0f;
  for (int c = 0; c < m->K; c++) {
    if ((rc = nn_mlp_init(&m->crit[c], &dc[c], &m->cp)) != HINT_OK ||
        (rc = nn_mlp_init_orthogonal(&m->crit[c], &init_rng, hg, 1.0f)) != HINT_OK ||
        (rc = nn_mlp_init(&m->tpol[c], &m->pol[c]->desc, &m->tp)) != HINT_OK ||
        (rc = nn_mlp_init(&m->tcrit[c], &dc[c], &m->tp)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&m->pol_ws[c], m->pol[c], m->max_rows)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&m->tpol_ws[c], &m->tpol[c], m->max_rows)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&m->crit_ws[c], &m->crit[c], m->max_rows)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&m->tcrit_ws[c], &m->tcrit[c], m->max_rows)) != HINT_OK)
      goto fail;
    copy_mlp(&m->tpol[c], m->pol[c]);
    copy_mlp(&m->tcrit[c], &m->crit[c]);
  }

  const size_t R = (size_t)m->max_rows, BA = (size_t)hp->batch * m->A;
  const size_t X = (size_t)(max_in > m->O ? max_in : m->O);
  size_t fsz[] = {R * X, R * (size_t)max_in, R, R, BA, R * m->NA, R * m->NA, R * m->NA,
                  BA * m->NA, BA * m->NA};
  float **fslot[] = {&m->x, &m->dx, &m->q, &m->dq, &m->y, &m->logits, &m->dlogits, &m->soft,
                     &m->gnext, &m->gcur};
  enum { NF = sizeof fsz / sizeof fsz[0] };
  size_t bytes = 0;
  for (int i = 0; i < NF; i++)
    bytes += (fsz[i] * sizeof(float) + 63) & ~(size_t)63;
  bytes += ((BA + R) * sizeof(int) + 63) & ~(size_t)63;
  if ((m->block = hint_calloc(1, bytes)) == NULL) {
    rc = HINT_ENOMEM;
    goto fail;
  }
  char *cur = m->block;
  for (int i = 0; i < NF; i++) {
    *fslot[i] = (float *)cur;
    cur += (fsz[i] * sizeof(float) + 63) & ~(size_t)63;
  }
  m->next_act = (int *)cur;
  m->hard = m->next_act + BA;
  *out = m;
  return HINT_OK;
fail:
  maddpg_destroy(&m);
  return rc;
}

int maddpg_create(maddpg_t **out, const hint_config_t *cfg, const env_dims_t *dims,
                  student_t *stu, uint64_t seed) {
  maddpg_hparams_t hp = maddpg_hparams_from_config(cfg);
  return maddpg_create_hp(out, &hp, dims, stu, seed);
}

/* ---- Batch checks ---------------------------------------------------------- */

static int row_has_avail(const uint8_t *av, int NA) {
  for (int j = 0; j < NA; j++)
    if (av[j])
      return 1;
  return 0;
}

static int batch_check(const maddpg_t *m, const offp_batch_t *b) {
  if (b->n < 1 || b->n > m->hp.batch) {
    LOG_ERROR("maddpg: batch of %d pairs outside 1..%d", b->n, m->hp.batch);
    return HINT_EINVAL;
  }
  const long rows = (long)b->n * m->A;
  for (long i = 0; i < rows; i++) {
    if (b->actions[i] < 0 || b->actions[i] >= m->NA) {
      LOG_ERROR("maddpg: action %d out of range 0..%d", (int)b->actions[i], m->NA - 1);
      return HINT_EINVAL;
    }
    if ((b->avail && !row_has_avail(b->avail + i * m->NA, m->NA)) ||
        (b->next_avail && !row_has_avail(b->next_avail + i * m->NA, m->NA))) {
      LOG_ERROR("maddpg: agent row %ld has no available action", i);
      return HINT_EINVAL;
    }
  }
  return HINT_OK;
}

/* ---- Pieces ---------------------------------------------------------------- */

/* A row enters the critic loss unless its target would bootstrap from a
 * next observation that is not on the wire (truncated, not terminal). */
static int row_kept(const offp_batch_t *b, int p) {
  return !(b->trunc_obs_missing && b->trunc_obs_missing[p] && b->done[p] == 0.0f);
}

/* Observations of class c's agents, pair-major: dst (n * count_c, O). */
static void gather_obs(const maddpg_t *m, const float *obs, int n, int c, float *dst) {
  const int cnt = m->count[c], A = m->A, O = m->O;
  for (int p = 0; p < n; p++)
    for (int k = 0; k < cnt; k++)
      memcpy(dst + (size_t)(p * cnt + k) * O, obs + ((size_t)p * A + m->first[c] + k) * O,
             (size_t)O * sizeof(float));
}

/* Critic rows of class c: dst (n * count_c, in_c) = [state_p | onehot(acts_p,
 * agent order) | e_k]; acts int [n][A]. */
static void critic_input(const maddpg_t *m, int c, const float *state, const int32_t *acts32,
                         const int *acts, int n, float *dst) {
  const int cnt = m->count[c], A = m->A, NA = m->NA, S = m->S, W = m->in[c];
  for (int p = 0; p < n; p++)
    for (int k = 0; k < cnt; k++) {
      float *row = dst + (size_t)(p * cnt + k) * W;
      memcpy(row, state + (size_t)p * S, (size_t)S * sizeof(float));
      memset(row + S, 0, (size_t)(W - S) * sizeof(float));
      for (int a = 0; a < A; a++) {
        const int act = acts32 ? acts32[(size_t)p * A + a] : acts[(size_t)p * A + a];
        row[S + a * NA + act] = 1.0f;
      }
      if (m->ident[c])
        row[S + A * NA + k] = 1.0f;
    }
}

/* The first index of the largest logit + g among available actions. */
static int gumbel_argmax(const float *logits, const float *g, const uint8_t *av, int NA) {
  int best = -1;
  float bv = 0.0f;
  for (int j = 0; j < NA; j++) {
    if (av && !av[j])
      continue;
    const float v = logits[j] + g[j];
    if (best < 0 || v > bv) {
      best = j;
      bv = v;
    }
  }
  return best;
}

double maddpg_critic_loss_grad(maddpg_t *m, const offp_batch_t *b, const float *g_next,
                               double *q_mean) {
  if (batch_check(m, b) != HINT_OK)
    return NAN;
  const int n = b->n, A = m->A, NA = m->NA;
  nn_params_zero_grad(&m->cp);

  /* Target actors' joint action on next_obs: a Gumbel-max sample each. */
  for (int c = 0; c < m->K; c++) {
    const int cnt = m->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    gather_obs(m, b->next_obs, n, c, m->x);
    nn_mlp_forward(&m->tpol[c], &m->tpol_ws[c], m->x, rows, m->logits);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        const size_t i = (size_t)p * A + m->first[c] + k;
        m->next_act[i] = gumbel_argmax(m->logits + (size_t)(p * cnt + k) * NA, g_next + i * NA,
                                       b->next_avail ? b->next_avail + i * NA : NULL, NA);
      }
  }
  /* TD targets y per agent row. */
  for (int c = 0; c < m->K; c++) {
    const int cnt = m->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    critic_input(m, c, b->next_state, NULL, m->next_act, n, m->x);
    nn_mlp_forward(&m->tcrit[c], &m->tcrit_ws[c], m->x, rows, m->q);
    for (int p = 0; p < n; p++) {
      const float disc = b->discount ? b->discount[p] : m->hp.gamma;
      for (int k = 0; k < cnt; k++)
        m->y[(size_t)p * A + m->first[c] + k] =
            b->reward[p] + disc * (1.0f - b->done[p]) * m->q[p * cnt + k];
    }
  }
  /* Rows that would bootstrap from a missing next observation are left out
   * (see maddpg.h). */
  int kept = 0;
  for (int p = 0; p < n; p++)
    kept += row_kept(b, p);
  if (q_mean)
    *q_mean = 0.0;
  if (kept == 0)
    return 0.0;
  const double norm = (double)kept * A;
  double loss = 0.0, qsum = 0.0;
  for (int c = 0; c < m->K; c++) {
    const int cnt = m->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    critic_input(m, c, b->state, b->actions, NULL, n, m->x);
    nn_mlp_forward(&m->crit[c], &m->crit_ws[c], m->x, rows, m->q);
    for (int p = 0; p < n; p++) {
      const int keep = row_kept(b, p);
      for (int k = 0; k < cnt; k++) {
        const int r = p * cnt + k;
        const double d = (double)m->q[r] - m->y[(size_t)p * A + m->first[c] + k];
        if (keep) {
          loss += d * d;
          qsum += m->q[r];
        }
        m->dq[r] = keep ? (float)(2.0 * d / norm) : 0.0f;
      }
    }
    nn_mlp_backward(&m->crit[c], &m->crit_ws[c], m->dq, rows, NULL);
  }
  if (q_mean)
    *q_mean = qsum / norm;
  return loss / norm;
}

double maddpg_actor_loss_grad(maddpg_t *m, const offp_batch_t *b, const float *g_cur) {
  if (batch_check(m, b) != HINT_OK)
    return NAN;
  const int n = b->n, A = m->A, NA = m->NA, S = m->S;
  const float inv_tau = 1.0f / m->hp.gumbel_tau;
  const double norm = (double)n * A;
  const float reg = (float)(2.0 * m->hp.logit_reg / (norm * NA));
  nn_params_zero_grad(m->sp);
  double loss = 0.0, sq = 0.0;
  for (int c = 0; c < m->K; c++) {
    const int cnt = m->count[c], rows = n * cnt, W = m->in[c];
    if (cnt == 0)
      continue;
    gather_obs(m, b->obs, n, c, m->x);
    nn_mlp_forward(m->pol[c], &m->pol_ws[c], m->x, rows, m->logits);
    /* Straight-through Gumbel-softmax: hard forward, soft backward. */
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        const int r = p * cnt + k;
        const size_t i = (size_t)p * A + m->first[c] + k;
        const float *lg = m->logits + (size_t)r * NA, *g = g_cur + i * NA;
        const uint8_t *av = b->avail ? b->avail + i * NA : NULL;
        float *y = m->soft + (size_t)r * NA;
        const int h = gumbel_argmax(lg, g, av, NA);
        const float zmax = (lg[h] + g[h]) * inv_tau;
        double z = 0.0;
        for (int j = 0; j < NA; j++) {
          y[j] = (av && !av[j]) ? 0.0f : expf((lg[j] + g[j]) * inv_tau - zmax);
          z += y[j];
        }
        for (int j = 0; j < NA; j++) {
          y[j] = (float)(y[j] / z);
          sq += (double)lg[j] * lg[j];
        }
        m->hard[r] = h;
      }
    /* Critic rows: the batch's joint action with agent i's own replaced. */
    critic_input(m, c, b->state, b->actions, NULL, n, m->x);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        const int r = p * cnt + k, i = m->first[c] + k;
        float *slot = m->x + (size_t)r * W + S + i * NA;
        memset(slot, 0, (size_t)NA * sizeof(float));
        slot[m->hard[r]] = 1.0f;
      }
    nn_mlp_forward(&m->crit[c], &m->crit_ws[c], m->x, rows, m->q);
    for (int r = 0; r < rows; r++) {
      loss -= m->q[r];
      m->dq[r] = (float)(-1.0 / norm);
    }
    nn_mlp_backward(&m->crit[c], &m->crit_ws[c], m->dq, rows, m->dx);
    /* dL/dlogits_j = (1/tau) y_j (g_j - sum_k y_k g_k) + reg term, where g is
     * dL/d(agent i's action slot): the Jacobian of softmax(z) with z =
     * (logits + noise) / tau. Unavailable actions have y_j = 0: no gradient. */
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        const int r = p * cnt + k, i = m->first[c] + k;
        const float *gs = m->dx + (size_t)r * W + S + i * NA;
        const float *y = m->soft + (size_t)r * NA, *lg = m->logits + (size_t)r * NA;
        float *dl = m->dlogits + (size_t)r * NA;
        double dot = 0.0;
        for (int j = 0; j < NA; j++)
          dot += (double)y[j] * gs[j];
        for (int j = 0; j < NA; j++)
          dl[j] = inv_tau * y[j] * (gs[j] - (float)dot) + reg * lg[j];
      }
    nn_mlp_backward(m->pol[c], &m->pol_ws[c], m->dlogits, rows, NULL);
  }
  return loss / norm + m->hp.logit_reg * sq / (norm * NA);
}

void maddpg_soft_update(maddpg_t *m, float tau) {
  const float keep = 1.0f - tau;
  for (int c = 0; c < m->K; c++) {
    const nn_mlp_t *src[2] = {m->pol[c], &m->crit[c]};
    nn_mlp_t *dst[2] = {&m->tpol[c], &m->tcrit[c]};
    for (int t = 0; t < 2; t++) {
      float *d = dst[t]->params->w + dst[t]->offset;
      const float *s = src[t]->params->w + src[t]->offset;
      for (size_t j = 0; j < src[t]->count; j++)
        d[j] = keep * d[j] + tau * s[j];
    }
  }
}

static nn_adam_t adam_of(const maddpg_t *m, float lr) {
  nn_adam_t a = nn_adam_defaults();
  a.lr = lr;
  a.eps = m->hp.adam_eps;
  a.max_grad_norm = m->hp.max_grad_norm;
  return a;
}

int maddpg_update_noise(maddpg_t *m, const offp_batch_t *b, const float *g_next,
                        const float *g_cur, offp_stats_t *st) {
  int rc = batch_check(m, b);
  if (rc != HINT_OK)
    return rc;
  double q_mean = 0.0, gn = 0.0;
  const double closs = maddpg_critic_loss_grad(m, b, g_next, &q_mean);
  int kept = 0;
  for (int p = 0; p < b->n; p++)
    kept += row_kept(b, p);
  if (kept > 0) {
    const nn_adam_t ac = adam_of(m, m->hp.lr_critic);
    if ((rc = nn_adam_step(&m->cp, &ac, &gn)) != HINT_OK)
      return rc;
  }
  const double aloss = maddpg_actor_loss_grad(m, b, g_cur);
  const nn_adam_t aa = adam_of(m, m->hp.lr_actor);
  if ((rc = nn_adam_step(m->sp, &aa, NULL)) != HINT_OK)
    return rc;
  maddpg_soft_update(m, m->hp.tau);
  m->updates++;
  if (st) {
    st->loss += closs;
    st->q_mean += q_mean;
    st->grad_norm += gn;
    st->actor_loss += aloss;
    st->steps += 1;
  }
  return HINT_OK;
}

/* A standard Gumbel draw; u in (0, 1) so the value is finite. */
static float gumbel(hint_rng_t *r) {
  const double u = hint_rng_double(r) + 0x1p-54;
  return (float)-log(-log(u));
}

int maddpg_update(maddpg_t *m, const offp_batch_t *b, offp_stats_t *st) {
  int rc = batch_check(m, b);
  if (rc != HINT_OK)
    return rc;
  const size_t cnt = (size_t)b->n * m->A * m->NA;
  for (size_t i = 0; i < cnt; i++)
    m->gnext[i] = gumbel(&m->rng);
  for (size_t i = 0; i < cnt; i++)
    m->gcur[i] = gumbel(&m->rng);
  return maddpg_update_noise(m, b, m->gnext, m->gcur, st);
}

/* ---- Checkpoint ------------------------------------------------------------ */

#define MADDPG_MAGIC "MDPG"
#define MADDPG_VERSION 1u
#define MADDPG_HEADER 80u

/* Header: magic[4], u32 version, u32 K, A, NA, S, critic_hidden,
 * critic_layers; i64 updates; u64 rng state, rng inc; u64 critic blob bytes,
 * target blob bytes; 8 reserved bytes (0). Little-endian (as nn_params). */
size_t maddpg_ckpt_size(const maddpg_t *m) {
  return MADDPG_HEADER + nn_params_blob_size(&m->cp, 1) + nn_params_blob_size(&m->tp, 0);
}

static void shape_words(const maddpg_t *m, uint32_t w[7]) {
  w[0] = MADDPG_VERSION;
  w[1] = (uint32_t)m->K;
  w[2] = (uint32_t)m->A;
  w[3] = (uint32_t)m->NA;
  w[4] = (uint32_t)m->S;
  w[5] = (uint32_t)m->hp.critic_hidden;
  w[6] = (uint32_t)m->hp.critic_layers;
}

int maddpg_ckpt_save(const maddpg_t *m, void *buf, size_t cap) {
  if (cap < maddpg_ckpt_size(m))
    return HINT_ERANGE;
  unsigned char *o = buf;
  memset(o, 0, MADDPG_HEADER);
  memcpy(o, MADDPG_MAGIC, 4);
  uint32_t w[7];
  shape_words(m, w);
  memcpy(o + 4, w, sizeof w);
  const uint64_t q[5] = {(uint64_t)m->updates, m->rng.state, m->rng.inc,
                         nn_params_blob_size(&m->cp, 1), nn_params_blob_size(&m->tp, 0)};
  memcpy(o + 32, q, sizeof q);
  size_t len = 0, at = MADDPG_HEADER;
  int rc = nn_params_save(&m->cp, 1, o + at, cap - at, &len);
  if (rc != HINT_OK)
    return rc;
  at += len;
  return nn_params_save(&m->tp, 0, o + at, cap - at, &len);
}

int maddpg_ckpt_load(maddpg_t *m, const void *buf, size_t len) {
  const unsigned char *in = buf;
  if (len < MADDPG_HEADER)
    return HINT_ETRUNC;
  if (memcmp(in, MADDPG_MAGIC, 4) != 0)
    return HINT_EMAGIC;
  uint32_t w[7], want[7];
  memcpy(w, in + 4, sizeof w);
  shape_words(m, want);
  if (w[0] != MADDPG_VERSION)
    return HINT_EVERSION;
  if (memcmp(w + 1, want + 1, 6 * sizeof(uint32_t)) != 0)
    return HINT_ESHAPE;
  uint64_t q[5];
  memcpy(q, in + 32, sizeof q);
  if ((int64_t)q[0] < 0 || (q[2] & 1u) == 0)
    return HINT_EPARSE;
  if (q[3] > len || q[4] > len - q[3] || len - MADDPG_HEADER < q[3] + q[4])
    return HINT_ETRUNC;
  if (len != MADDPG_HEADER + q[3] + q[4])
    return HINT_EPARSE;
  /* Load into scratch arenas first so a bad second blob leaves m unchanged. */
  nn_params_t c2, t2;
  memset(&c2, 0, sizeof c2);
  memset(&t2, 0, sizeof t2);
  int rc;
  if ((rc = nn_params_init(&c2, m->cp.n)) != HINT_OK || (rc = nn_params_init(&t2, m->tp.n)) != HINT_OK)
    goto out;
  if ((rc = nn_params_load(&c2, in + MADDPG_HEADER, (size_t)q[3])) != HINT_OK ||
      (rc = nn_params_load(&t2, in + MADDPG_HEADER + q[3], (size_t)q[4])) != HINT_OK)
    goto out;
  const size_t cb = m->cp.n * sizeof(float), tb = m->tp.n * sizeof(float);
  memcpy(m->cp.w, c2.w, cb);
  memcpy(m->cp.m, c2.m, cb);
  memcpy(m->cp.v, c2.v, cb);
  m->cp.step = c2.step;
  memcpy(m->tp.w, t2.w, tb);
  m->updates = (int64_t)q[0];
  m->rng.state = q[1];
  m->rng.inc = q[2];
out:
  nn_params_fini(&c2);
  nn_params_fini(&t2);
  return rc;
}
