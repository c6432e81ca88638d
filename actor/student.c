/* student.c: see student.h.
 *
 * Row order. Within one class c the agent rows of a batch of n pairs are
 * pair-major: row r = p * count_c + k is agent first_c + k of pair p. Every
 * per-class buffer (encoder and policy inputs, logits, gathered actions)
 * uses that order, so a class is one contiguous matrix for the MLP.
 */
#include "actor/student.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/nn/loss.h"
#include "common/nn/ops.h"

struct student {
  int A, O, S, NA, C, K, ippo, V;
  int first[ENV_MAX_CLASSES], count[ENV_MAX_CLASSES];
  int max_pairs, max_rows; /* max_rows: rows of the largest class */
  nn_params_t p;
  float *vnorm;    /* (3) return normaliser in the arena, never trained */
  nn_mlp_t enc[ENV_MAX_CLASSES], pol[ENV_MAX_CLASSES], crit[ENV_MAX_CLASSES];
  nn_mlp_ws_t enc_ws[ENV_MAX_CLASSES], pol_ws[ENV_MAX_CLASSES], crit_ws[ENV_MAX_CLASSES];
  /* scratch, sized at create */
  float *x;        /* (max_rows, O + C) policy input of one class */
  float *dx;       /* (max_rows, O + C) */
  float *eo;       /* (max_rows, C) encoder output of one class */
  float *msg;      /* (max_pairs, A, C) messages after tanh */
  float *csum;     /* (max_pairs, A, C) summaries c_i */
  float *dmsg;     /* (max_pairs, A, C) */
  float *dcsum;    /* (max_pairs, A, C) */
  float *logits;   /* (max_rows, NA) one class */
  float *dlogits;  /* (max_rows, NA) */
  float *vals;     /* (max_pairs * A) values of one critic call */
  float *dv;       /* (max_pairs * A) */
  float *rowf[5];  /* (max_rows * NA) gathered per-row floats: logp, adv, mask, ret, oldv */
  float *teach;    /* (max_rows, NA) gathered teacher rows */
  int *acts;       /* (max_rows) */
  void *block;
};

/* Return normalisation (MAPPO's ValueNorm): FireCommander team returns reach
 * -150, and a critic regressing them raw learns their scale slowly while its
 * gradient dominates the global clip. The critic predicts (V - mean) / std of
 * the returns seen, tracked by debiased exponential averages. The statistics
 * live in the arena with zero gradient, so they travel with the parameters
 * (checkpoints, the cross-actor checksum) and Adam leaves them as written. */
#define STUDENT_VNORM_N 3
#define STUDENT_VNORM_BETA 0.99999
#define STUDENT_VNORM_MIN_VAR 1e-2

static void vn_get(const float *vn, double *mean, double *sd) {
  const double deb = vn[2];
  if (deb <= 0.0) {
    *mean = 0.0;
    *sd = 1.0;
    return;
  }
  const double m = vn[0] / deb, sq = vn[1] / deb, var = sq - m * m;
  *mean = m;
  *sd = sqrt(var > STUDENT_VNORM_MIN_VAR ? var : STUDENT_VNORM_MIN_VAR);
}

void student_vnorm_update(student_t *s, double mean, double sq) {
  const double b = STUDENT_VNORM_BETA;
  s->vnorm[0] = (float)(b * s->vnorm[0] + (1.0 - b) * mean);
  s->vnorm[1] = (float)(b * s->vnorm[1] + (1.0 - b) * sq);
  s->vnorm[2] = (float)(b * s->vnorm[2] + (1.0 - b));
}

/* Raw values from the critic's normalised outputs, in place. */
static void vn_denorm(const student_t *s, float *v, long n) {
  double m, sd;
  vn_get(s->vnorm, &m, &sd);
  for (long i = 0; i < n; i++)
    v[i] = (float)(v[i] * sd + m);
}

static nn_act_t hidden_act(const hint_config_t *cfg) {
  return cfg->student.activation == HINT_ACT_RELU ? NN_ACT_RELU : NN_ACT_TANH;
}

static nn_mlp_desc_t desc(const hint_config_t *cfg, int in, int out, int layers) {
  nn_mlp_desc_t d;
  memset(&d, 0, sizeof d);
  d.in_dim = in;
  d.out_dim = out;
  d.n_hidden = layers;
  for (int i = 0; i < layers; i++)
    d.hidden[i] = cfg->student.hidden;
  d.act = hidden_act(cfg);
  return d;
}

void student_destroy(student_t **sp) {
  if (sp == NULL || *sp == NULL)
    return;
  student_t *s = *sp;
  for (int c = 0; c < ENV_MAX_CLASSES; c++) {
    nn_mlp_ws_fini(&s->enc_ws[c]);
    nn_mlp_ws_fini(&s->pol_ws[c]);
    nn_mlp_ws_fini(&s->crit_ws[c]);
  }
  nn_params_fini(&s->p);
  hint_free(s->block);
  hint_free(s);
  *sp = NULL;
}

int student_create(student_t **out, const hint_config_t *cfg, const env_dims_t *dims,
                   int max_pairs, uint64_t seed) {
  *out = NULL;
  if (max_pairs <= 0 || dims->n_classes < 1 || dims->n_classes > ENV_MAX_CLASSES)
    return HINT_EINVAL;
  for (int c = 0; c < dims->n_classes; c++)
    if (dims->class_n_actions[c] != dims->n_actions)
      return HINT_EINVAL; /* classes with fewer actions would need logit masks */
  student_t *s = hint_calloc(1, sizeof *s);
  if (s == NULL)
    return HINT_ENOMEM;
  s->A = dims->n_agents;
  s->O = dims->obs_dim;
  s->S = dims->state_dim;
  s->NA = dims->n_actions;
  s->C = cfg->student.comm == HINT_COMM_MEAN && dims->n_agents > 1 ? cfg->student.comm_dim : 0;
  s->K = dims->n_classes;
  s->ippo = cfg->algo.name == HINT_ALGO_IPPO;
  s->V = s->ippo ? s->A : 1;
  s->max_pairs = max_pairs;
  int most = 0;
  for (int c = 0; c < s->K; c++) {
    s->first[c] = dims->class_first[c];
    s->count[c] = dims->class_count[c];
    if (s->count[c] > most)
      most = s->count[c];
  }
  s->max_rows = max_pairs * most;

  /* Parameter layout: per class [encoder], policy, [local critic]; then the
   * central critic. */
  nn_mlp_desc_t de = desc(cfg, s->O, s->C > 0 ? s->C : 1, 1);
  nn_mlp_desc_t dp = desc(cfg, s->O + s->C, s->NA, cfg->student.layers);
  nn_mlp_desc_t dcl = desc(cfg, s->O, 1, cfg->student.layers);
  nn_mlp_desc_t dcc = desc(cfg, s->S, 1, cfg->student.layers);
  size_t total = 0;
  for (int c = 0; c < s->K; c++) {
    if (s->C > 0)
      total += nn_mlp_param_count(&de);
    total += nn_mlp_param_count(&dp);
    if (s->ippo)
      total += nn_mlp_param_count(&dcl);
  }
  if (!s->ippo)
    total += nn_mlp_param_count(&dcc);
  total += STUDENT_VNORM_N;
  int rc = nn_params_init(&s->p, total);
  if (rc != HINT_OK)
    goto fail;
  hint_rng_t rng;
  hint_rng_seed(&rng, seed, 0x57, 0); /* same on every actor: identical students */
  const float hg = hidden_act(cfg) == NN_ACT_RELU ? sqrtf(2.0f) : 5.0f / 3.0f;
  for (int c = 0; c < s->K; c++) {
    if (s->C > 0) {
      if ((rc = nn_mlp_init(&s->enc[c], &de, &s->p)) != HINT_OK ||
          (rc = nn_mlp_init_orthogonal(&s->enc[c], &rng, hg, 1.0f)) != HINT_OK ||
          (rc = nn_mlp_ws_init(&s->enc_ws[c], &s->enc[c], s->max_rows)) != HINT_OK)
        goto fail;
    }
    if ((rc = nn_mlp_init(&s->pol[c], &dp, &s->p)) != HINT_OK ||
        (rc = nn_mlp_init_orthogonal(&s->pol[c], &rng, hg, 0.01f)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&s->pol_ws[c], &s->pol[c], s->max_rows)) != HINT_OK)
      goto fail;
    if (s->ippo) {
      if ((rc = nn_mlp_init(&s->crit[c], &dcl, &s->p)) != HINT_OK ||
          (rc = nn_mlp_init_orthogonal(&s->crit[c], &rng, hg, 1.0f)) != HINT_OK ||
          (rc = nn_mlp_ws_init(&s->crit_ws[c], &s->crit[c], s->max_rows)) != HINT_OK)
        goto fail;
    }
  }
  if (!s->ippo) {
    if ((rc = nn_mlp_init(&s->crit[0], &dcc, &s->p)) != HINT_OK ||
        (rc = nn_mlp_init_orthogonal(&s->crit[0], &rng, hg, 1.0f)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&s->crit_ws[0], &s->crit[0], max_pairs)) != HINT_OK)
      goto fail;
  }

  size_t vn_off = 0;
  if ((rc = nn_params_reserve(&s->p, STUDENT_VNORM_N, &vn_off)) != HINT_OK)
    goto fail;
  s->vnorm = s->p.w + vn_off;

  /* One block for every scratch buffer. */
  const size_t R = (size_t)s->max_rows, P = (size_t)max_pairs, C1 = s->C > 0 ? (size_t)s->C : 1;
  size_t sizes[] = {
      R * (size_t)(s->O + s->C), R * (size_t)(s->O + s->C), R * C1,
      P * s->A * C1, P * s->A * C1, P * s->A * C1, P * s->A * C1,
      R * s->NA, R * s->NA, P * s->A, P * s->A,
      R * s->NA, R * s->NA, R * s->NA, R * s->NA, R * s->NA, R * s->NA,
  };
  enum { N_BUF = sizeof sizes / sizeof sizes[0] };
  size_t bytes = R * sizeof(int) + 64;
  for (int i = 0; i < N_BUF; i++)
    bytes += ((sizes[i] * sizeof(float) + 63) & ~(size_t)63);
  s->block = hint_calloc(1, bytes);
  if (s->block == NULL) {
    rc = HINT_ENOMEM;
    goto fail;
  }
  float **slots[N_BUF] = {&s->x, &s->dx, &s->eo, &s->msg, &s->csum, &s->dmsg, &s->dcsum,
                          &s->logits, &s->dlogits, &s->vals, &s->dv,
                          &s->rowf[0], &s->rowf[1], &s->rowf[2], &s->rowf[3], &s->rowf[4],
                          &s->teach};
  char *cur = s->block;
  for (int i = 0; i < N_BUF; i++) {
    *slots[i] = (float *)cur;
    cur += (sizes[i] * sizeof(float) + 63) & ~(size_t)63;
  }
  s->acts = (int *)cur;
  *out = s;
  return HINT_OK;
fail:
  student_destroy(&s);
  return rc;
}

nn_params_t *student_params(student_t *s) { return &s->p; }
size_t student_param_count(const student_t *s) { return s->p.n; }
int student_value_width(const student_t *s) { return s->V; }
int student_comm_dim(const student_t *s) { return s->C; }
nn_mlp_t *student_policy_mlp(student_t *s, int c) {
  return c >= 0 && c < s->K ? &s->pol[c] : NULL;
}

/* The observations of class c's agents, pair-major: dst (n * count_c, O). */
static void gather_obs(const student_t *s, const float *obs, int n, int c, float *dst) {
  const int cnt = s->count[c], A = s->A, O = s->O;
  for (int p = 0; p < n; p++)
    for (int k = 0; k < cnt; k++)
      memcpy(dst + (size_t)(p * cnt + k) * O, obs + ((size_t)p * A + s->first[c] + k) * O,
             (size_t)O * sizeof(float));
}

/* Messages and summaries for n pairs: msg and csum (n, A, C). */
static void comm_forward(student_t *s, const float *obs, int n) {
  const int A = s->A, C = s->C;
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    /* encoder input rows, pair-major within the class */
    gather_obs(s, obs, n, c, s->x);
    nn_mlp_forward(&s->enc[c], &s->enc_ws[c], s->x, rows, s->eo);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        float *m = s->msg + ((size_t)p * A + s->first[c] + k) * C;
        const float *e = s->eo + (size_t)(p * cnt + k) * C;
        for (int j = 0; j < C; j++)
          m[j] = tanhf(e[j]);
      }
  }
  /* c_i = (sum_j m_j - m_i) / (A - 1) */
  const float inv = 1.0f / (float)(A - 1);
  for (int p = 0; p < n; p++) {
    float sum[256];
    memset(sum, 0, sizeof(float) * (size_t)C);
    for (int a = 0; a < A; a++)
      for (int j = 0; j < C; j++)
        sum[j] += s->msg[((size_t)p * A + a) * C + j];
    for (int a = 0; a < A; a++)
      for (int j = 0; j < C; j++) {
        size_t i = ((size_t)p * A + a) * C + j;
        s->csum[i] = (sum[j] - s->msg[i]) * inv;
      }
  }
}

/* Backward of comm_forward for n pairs: from dcsum (dL/dc_i, (n, A, C))
 * into the encoders' gradients. The encoders' workspaces must still hold
 * this batch's forward. */
static void comm_backward(student_t *s, int n) {
  const int A = s->A, C = s->C;
  /* c_i = (S - m_i)/(A-1) with S = sum_j m_j, so
   * dL/dm_j = (sum_i dc_i - dc_j) / (A - 1); then through the tanh. */
  const float inv = 1.0f / (float)(A - 1);
  for (int p = 0; p < n; p++) {
    float sum[256];
    memset(sum, 0, sizeof(float) * (size_t)C);
    for (int a = 0; a < A; a++)
      for (int j = 0; j < C; j++)
        sum[j] += s->dcsum[((size_t)p * A + a) * C + j];
    for (int a = 0; a < A; a++)
      for (int j = 0; j < C; j++) {
        size_t i = ((size_t)p * A + a) * C + j;
        const float m = s->msg[i];
        s->dmsg[i] = (sum[j] - s->dcsum[i]) * inv * (1.0f - m * m);
      }
  }
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++)
        memcpy(s->eo + (size_t)(p * cnt + k) * C, s->dmsg + ((size_t)p * A + s->first[c] + k) * C,
               (size_t)C * sizeof(float));
    nn_mlp_backward(&s->enc[c], &s->enc_ws[c], s->eo, rows, NULL);
  }
}

/* Policy input rows of class c: [obs_i, c_i]. */
static void policy_input(student_t *s, const float *obs, int n, int c) {
  const int A = s->A, O = s->O, C = s->C, cnt = s->count[c], W = O + C;
  for (int p = 0; p < n; p++)
    for (int k = 0; k < cnt; k++) {
      const int a = s->first[c] + k;
      float *row = s->x + (size_t)(p * cnt + k) * W;
      memcpy(row, obs + ((size_t)p * A + a) * O, (size_t)O * sizeof(float));
      if (C > 0)
        memcpy(row + O, s->csum + ((size_t)p * A + a) * C, (size_t)C * sizeof(float));
    }
}

/* Values (n, V) into out. */
static void values_forward(student_t *s, const float *obs, const float *state, int n, float *out) {
  if (!s->ippo) {
    nn_mlp_forward(&s->crit[0], &s->crit_ws[0], state, n, out);
    return;
  }
  const int A = s->A;
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    gather_obs(s, obs, n, c, s->x);
    nn_mlp_forward(&s->crit[c], &s->crit_ws[c], s->x, rows, s->vals);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++)
        out[(size_t)p * A + s->first[c] + k] = s->vals[p * cnt + k];
  }
}

void student_values(student_t *s, const float *obs, const float *state, int n, float *values) {
  assert(n <= s->max_pairs);
  values_forward(s, obs, state, n, values);
  vn_denorm(s, values, (long)n * s->V);
}

void student_act(student_t *s, const float *obs, const float *state, int n, hint_rng_t *rng,
                 int greedy, int32_t *actions, float *logp, float *values, float *comm) {
  assert(n <= s->max_pairs);
  const int A = s->A, NA = s->NA, C = s->C;
  if (C > 0) {
    comm_forward(s, obs, n);
    if (comm)
      memcpy(comm, s->csum, (size_t)n * A * C * sizeof(float));
  }
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    policy_input(s, obs, n, c);
    nn_mlp_forward(&s->pol[c], &s->pol_ws[c], s->x, rows, s->logits);
    if (greedy)
      nn_argmax(s->logits, rows, NA, s->acts);
    else
      nn_sample(s->logits, rows, NA, rng, s->acts, NULL);
    nn_log_prob(s->logits, s->acts, rows, NA, s->rowf[0]);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        size_t i = (size_t)p * A + s->first[c] + k;
        actions[i] = s->acts[p * cnt + k];
        if (logp)
          logp[i] = s->rowf[0][p * cnt + k];
      }
  }
  if (values) {
    values_forward(s, obs, state, n, values);
    vn_denorm(s, values, (long)n * s->V);
  }
}

void student_act_eps(student_t *s, const float *obs, int n, hint_rng_t *rng, float eps,
                     int32_t *actions, float *logp) {
  assert(n <= s->max_pairs);
  const int A = s->A, NA = s->NA;
  const float p_rand = eps / (float)NA;
  if (s->C > 0)
    comm_forward(s, obs, n);
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    policy_input(s, obs, n, c);
    nn_mlp_forward(&s->pol[c], &s->pol_ws[c], s->x, rows, s->logits);
    nn_argmax(s->logits, rows, NA, s->acts);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++) {
        const size_t i = (size_t)p * A + s->first[c] + k;
        const int greedy = s->acts[p * cnt + k];
        int a = greedy;
        if (eps > 0.0f && hint_rng_float(rng) < eps)
          a = (int)hint_rng_below(rng, (uint32_t)NA);
        actions[i] = a;
        if (logp)
          logp[i] = logf(p_rand + (a == greedy ? 1.0f - eps : 0.0f));
      }
  }
}

void student_policy_forward(student_t *s, const float *obs, int n, float *out) {
  assert(n <= s->max_pairs);
  const int A = s->A, NA = s->NA;
  if (s->C > 0)
    comm_forward(s, obs, n);
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    policy_input(s, obs, n, c);
    nn_mlp_forward(&s->pol[c], &s->pol_ws[c], s->x, rows, s->logits);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++)
        memcpy(out + ((size_t)p * A + s->first[c] + k) * NA, s->logits + (size_t)(p * cnt + k) * NA,
               (size_t)NA * sizeof(float));
  }
}

void student_policy_backward(student_t *s, const float *dout, int n) {
  const int A = s->A, NA = s->NA, C = s->C, W = s->O + C;
  if (C > 0)
    memset(s->dcsum, 0, (size_t)n * A * C * sizeof(float));
  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++)
        memcpy(s->dlogits + (size_t)(p * cnt + k) * NA, dout + ((size_t)p * A + s->first[c] + k) * NA,
               (size_t)NA * sizeof(float));
    nn_mlp_backward(&s->pol[c], &s->pol_ws[c], s->dlogits, rows, C > 0 ? s->dx : NULL);
    if (C > 0)
      for (int p = 0; p < n; p++)
        for (int k = 0; k < cnt; k++) {
          const float *d = s->dx + (size_t)(p * cnt + k) * W + s->O;
          float *dc = s->dcsum + ((size_t)p * A + s->first[c] + k) * C;
          for (int j = 0; j < C; j++)
            dc[j] += d[j];
        }
  }
  if (C > 0)
    comm_backward(s, n);
}

/* Gathers a per-agent [n][A] array into class rows. */
static void gather_rows(const student_t *s, const float *src, int n, int c, float *dst) {
  const int cnt = s->count[c];
  for (int p = 0; p < n; p++)
    for (int k = 0; k < cnt; k++)
      dst[p * cnt + k] = src[(size_t)p * s->A + s->first[c] + k];
}

int student_loss_grad(student_t *s, const student_mb_t *mb, const student_coefs_t *co,
                      student_stats_t *st) {
  const int n = mb->n, A = s->A, NA = s->NA, C = s->C, O = s->O, W = O + C;
  assert(n > 0 && n <= s->max_pairs);
  const double total_rows = (double)n * A;

  if (C > 0) {
    comm_forward(s, mb->obs, n);
    memset(s->dcsum, 0, (size_t)n * A * C * sizeof(float));
  }
  /* The KD normaliser counts kept rows over every class of the minibatch. */
  double kept = 0.0;
  if (mb->teacher && mb->mask && co->kd_coef > 0.0f)
    for (long i = 0; i < (long)n * A; i++)
      kept += mb->mask[i];
  const float kd_norm = kept > 1.0 ? (float)kept : 1.0f;

  for (int c = 0; c < s->K; c++) {
    const int cnt = s->count[c], rows = n * cnt;
    if (cnt == 0)
      continue;
    const float w = (float)(rows / total_rows);
    policy_input(s, mb->obs, n, c);
    nn_mlp_forward(&s->pol[c], &s->pol_ws[c], s->x, rows, s->logits);
    for (int p = 0; p < n; p++)
      for (int k = 0; k < cnt; k++)
        s->acts[p * cnt + k] = mb->actions[(size_t)p * A + s->first[c] + k];
    gather_rows(s, mb->old_logp, n, c, s->rowf[0]);
    gather_rows(s, mb->adv, n, c, s->rowf[1]);
    memset(s->dlogits, 0, (size_t)rows * NA * sizeof(float));
    nn_ppo_stats_t ps;
    float pg = nn_ppo_loss(s->logits, s->acts, s->rowf[0], s->rowf[1], rows, NA, co->clip, w,
                           s->dlogits, &ps);
    float ent = nn_entropy_loss(s->logits, rows, NA, -co->ent_coef * w, s->dlogits);
    st->pg_loss += w * pg;
    st->entropy += w * ent;
    st->clip_frac += w * ps.clip_frac;
    st->approx_kl += w * ps.approx_kl;
    if (mb->teacher && mb->mask && co->kd_coef > 0.0f) {
      gather_rows(s, mb->mask, n, c, s->rowf[2]);
      for (int p = 0; p < n; p++)
        for (int k = 0; k < cnt; k++)
          memcpy(s->teach + (size_t)(p * cnt + k) * NA,
                 mb->teacher + ((size_t)p * A + s->first[c] + k) * NA, (size_t)NA * sizeof(float));
      double kc = 0.0;
      for (int r = 0; r < rows; r++)
        kc += s->rowf[2][r];
      float kd = nn_kd_loss_norm(s->teach, s->logits, s->rowf[2], rows, NA, kd_norm, co->kd_coef,
                                 s->dlogits);
      st->kd_loss += kd;
      st->kd_kept += kc;
      st->kd_rows += rows;
      st->kd_kept_class[c] += kc;
      st->kd_rows_class[c] += rows;
    }
    nn_mlp_backward(&s->pol[c], &s->pol_ws[c], s->dlogits, rows, C > 0 ? s->dx : NULL);
    if (C > 0)
      for (int p = 0; p < n; p++)
        for (int k = 0; k < cnt; k++) {
          const float *d = s->dx + (size_t)(p * cnt + k) * W + O;
          float *dc = s->dcsum + ((size_t)p * A + s->first[c] + k) * C;
          for (int j = 0; j < C; j++)
            dc[j] += d[j];
        }
  }

  if (C > 0)
    comm_backward(s, n);

  /* Critic(s): regress normalised returns (old values normalised alike for
   * the optional clipping). rowf[3], rowf[4] hold them, n * V floats. */
  double vm, vsd;
  vn_get(s->vnorm, &vm, &vsd);
  const float inv_sd = (float)(1.0 / vsd), fm = (float)vm;
  float *nret = s->rowf[3], *nold = s->rowf[4];
  for (long i = 0; i < (long)n * s->V; i++) {
    nret[i] = (mb->ret[i] - fm) * inv_sd;
    nold[i] = (mb->old_value[i] - fm) * inv_sd;
  }
  if (!s->ippo) {
    nn_mlp_forward(&s->crit[0], &s->crit_ws[0], mb->state, n, s->vals);
    memset(s->dv, 0, (size_t)n * sizeof(float));
    float vl = nn_value_loss(s->vals, nret, nold, n, co->value_clip, co->vf_coef, s->dv);
    st->value_loss += vl;
    nn_mlp_backward(&s->crit[0], &s->crit_ws[0], s->dv, n, NULL);
  } else {
    for (int c = 0; c < s->K; c++) {
      const int cnt = s->count[c], rows = n * cnt;
      if (cnt == 0)
        continue;
      const float w = (float)(rows / total_rows);
      gather_obs(s, mb->obs, n, c, s->x);
      nn_mlp_forward(&s->crit[c], &s->crit_ws[c], s->x, rows, s->vals);
      gather_rows(s, nret, n, c, s->rowf[0]);
      gather_rows(s, nold, n, c, s->rowf[1]);
      memset(s->dv, 0, (size_t)rows * sizeof(float));
      float vl = nn_value_loss(s->vals, s->rowf[0], s->rowf[1], rows, co->value_clip,
                               co->vf_coef * w, s->dv);
      st->value_loss += w * vl;
      nn_mlp_backward(&s->crit[c], &s->crit_ws[c], s->dv, rows, NULL);
    }
  }
  return HINT_OK;
}
