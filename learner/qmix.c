/* qmix.c: see qmix.h.
 *
 * Row order. Agent rows of class c in a batch of n transitions are
 * pair-major, as in student.c: row r = p * count_c + k is agent first_c + k
 * of transition p, so one class is one contiguous matrix for its MLP.
 *
 * Scratch. The mixer's intermediates of the last online forward (raw hyper
 * outputs, pre-activations, hidden) stay in scratch for its backward; the
 * target forward runs first and uses its own workspaces, so qmix_update is
 * targets -> online forward -> backward -> Adam, with nothing recomputed.
 */
#include "learner/qmix.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/nn/adam.h"

enum { MIX_W1 = 0, MIX_B1 = 1, MIX_W2 = 2, MIX_V = 3, MIX_N = 4 };

struct qmix {
  qmix_hparams_t hp;
  int A, O, S, NA, E, H, B;
  student_t *stu;                      /* online agent nets (borrowed) */
  student_t *tstu;                     /* target agent nets: same config, layout and seed */
  nn_params_t mix, tmix;               /* online / target mixer arenas */
  nn_mlp_t m[MIX_N], tm[MIX_N];
  nn_mlp_ws_t m_ws[MIX_N], tm_ws[MIX_N];
  int64_t updates;
  /* scratch, sized at create for B transitions */
  float *qa;     /* (B, A, NA) Q of every agent and action */
  float *qa2;    /* (B, A, NA) */
  float *dqa;    /* (B, A, NA) */
  float *qs;     /* (B, A) chosen Q */
  float *dqs;    /* (B, A) */
  float *w1;     /* (B, A * E) raw hyper output */
  float *b1;     /* (B, E) */
  float *w2;     /* (B, E) raw */
  float *v;      /* (B) */
  float *z;      /* (B, E) pre-activation */
  float *h;      /* (B, E) ELU(z) */
  float *dw1;    /* (B, A * E) */
  float *db1;    /* (B, E) */
  float *dw2;    /* (B, E) */
  float *dv;     /* (B) */
  float *qtot;   /* (B) */
  float *y;      /* (B) TD targets */
  float *dy;     /* (B) */
  void *block;
};

qmix_hparams_t qmix_hparams_from_config(const hint_config_t *cfg) {
  qmix_hparams_t hp;
  memset(&hp, 0, sizeof hp);
  hp.lr = (float)cfg->offpolicy.lr;
  hp.adam_eps = (float)cfg->offpolicy.adam_eps;
  hp.gamma = (float)cfg->offpolicy.gamma;
  hp.max_grad_norm = (float)cfg->offpolicy.max_grad_norm;
  hp.target_update = cfg->offpolicy.target_update;
  hp.double_q = cfg->offpolicy.double_q;
  hp.embed = cfg->offpolicy.mixer_embed;
  hp.hyper_hidden = cfg->offpolicy.hyper_hidden;
  hp.batch = cfg->offpolicy.batch_size;
  return hp;
}

static nn_mlp_desc_t mdesc(int in, int hidden, int out) {
  nn_mlp_desc_t d;
  memset(&d, 0, sizeof d);
  d.in_dim = in;
  d.out_dim = out;
  d.n_hidden = hidden > 0 ? 1 : 0;
  d.hidden[0] = hidden;
  d.act = NN_ACT_RELU;
  return d;
}

/* The mixer's four networks in one arena, in the documented order. */
static void mixer_descs(const qmix_t *q, nn_mlp_desc_t d[MIX_N]) {
  d[MIX_W1] = mdesc(q->S, q->H, q->A * q->E);
  d[MIX_B1] = mdesc(q->S, 0, q->E);
  d[MIX_W2] = mdesc(q->S, q->H, q->E);
  d[MIX_V] = mdesc(q->S, q->E, 1);
}

void qmix_destroy(qmix_t **qp) {
  if (qp == NULL || *qp == NULL)
    return;
  qmix_t *q = *qp;
  for (int i = 0; i < MIX_N; i++) {
    nn_mlp_ws_fini(&q->m_ws[i]);
    nn_mlp_ws_fini(&q->tm_ws[i]);
  }
  student_destroy(&q->tstu);
  nn_params_fini(&q->mix);
  nn_params_fini(&q->tmix);
  hint_free(q->block);
  hint_free(q);
  *qp = NULL;
}

int qmix_create(qmix_t **out, const hint_config_t *cfg, const env_dims_t *dims, student_t *stu,
                uint64_t seed) {
  qmix_hparams_t hp = qmix_hparams_from_config(cfg);
  return qmix_create_hp(out, &hp, cfg, dims, stu, seed);
}

int qmix_create_hp(qmix_t **out, const qmix_hparams_t *hp, const hint_config_t *cfg,
                   const env_dims_t *dims, student_t *stu, uint64_t seed) {
  *out = NULL;
  if (hp->batch < 1 || hp->embed < 1 || hp->hyper_hidden < 1 || hp->target_update < 1 ||
      !(hp->gamma >= 0.0f && hp->gamma <= 1.0f) || dims->n_agents < 1)
    return HINT_EINVAL;
  qmix_t *q = hint_calloc(1, sizeof *q);
  if (q == NULL)
    return HINT_ENOMEM;
  q->hp = *hp;
  q->A = dims->n_agents;
  q->O = dims->obs_dim;
  q->S = dims->state_dim;
  q->NA = dims->n_actions;
  q->E = hp->embed;
  q->H = hp->hyper_hidden;
  q->B = hp->batch;
  q->stu = stu;
  /* The target agents: a second student of the same config, so the same
   * arena layout; its values are copied from the online one below. */
  int rc = student_create(&q->tstu, cfg, dims, q->B, seed);
  if (rc != HINT_OK)
    goto fail;
  if (student_param_count(q->tstu) != student_param_count(stu) ||
      student_comm_dim(q->tstu) != student_comm_dim(stu)) {
    rc = HINT_EINVAL; /* stu was not built from this cfg and dims */
    goto fail;
  }

  /* Mixer: torch.nn.Linear's default init, so the parity test can start
   * from the same numbers either way. */
  nn_mlp_desc_t d[MIX_N];
  mixer_descs(q, d);
  size_t total = 0;
  for (int i = 0; i < MIX_N; i++)
    total += nn_mlp_param_count(&d[i]);
  if ((rc = nn_params_init(&q->mix, total)) != HINT_OK || (rc = nn_params_init(&q->tmix, total)) != HINT_OK)
    goto fail;
  hint_rng_t rng;
  hint_rng_seed(&rng, seed, 0x9a1c, 0);
  for (int i = 0; i < MIX_N; i++) {
    if ((rc = nn_mlp_init(&q->m[i], &d[i], &q->mix)) != HINT_OK ||
        (rc = nn_mlp_init(&q->tm[i], &d[i], &q->tmix)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&q->m_ws[i], &q->m[i], q->B)) != HINT_OK ||
        (rc = nn_mlp_ws_init(&q->tm_ws[i], &q->tm[i], q->B)) != HINT_OK)
      goto fail;
    nn_mlp_init_uniform(&q->m[i], &rng);
  }

  const size_t B = (size_t)q->B, A = (size_t)q->A, E = (size_t)q->E, NA = (size_t)q->NA;
  size_t sizes[] = {B * A * NA, B * A * NA, B * A * NA, B * A, B * A,
                    B * A * E, B * E, B * E, B, B * E, B * E,
                    B * A * E, B * E, B * E, B, B, B, B};
  float **slots[] = {&q->qa, &q->qa2, &q->dqa, &q->qs, &q->dqs,
                     &q->w1, &q->b1, &q->w2, &q->v, &q->z, &q->h,
                     &q->dw1, &q->db1, &q->dw2, &q->dv, &q->qtot, &q->y, &q->dy};
  enum { N_BUF = sizeof sizes / sizeof sizes[0] };
  _Static_assert(sizeof slots / sizeof slots[0] == N_BUF, "slots");
  size_t bytes = 0;
  for (int i = 0; i < N_BUF; i++)
    bytes += (sizes[i] * sizeof(float) + 63) & ~(size_t)63;
  q->block = hint_calloc(1, bytes);
  if (q->block == NULL) {
    rc = HINT_ENOMEM;
    goto fail;
  }
  char *cur = q->block;
  for (int i = 0; i < N_BUF; i++) {
    *slots[i] = (float *)cur;
    cur += (sizes[i] * sizeof(float) + 63) & ~(size_t)63;
  }
  qmix_hard_update(q);
  *out = q;
  return HINT_OK;
fail:
  qmix_destroy(&q);
  return rc;
}

void qmix_hard_update(qmix_t *q) {
  nn_params_t *sp = student_params(q->stu);
  memcpy(student_params(q->tstu)->w, sp->w, sp->n * sizeof(float));
  memcpy(q->tmix.w, q->mix.w, q->mix.n * sizeof(float));
}

const qmix_hparams_t *qmix_hparams(const qmix_t *q) { return &q->hp; }
nn_params_t *qmix_mixer_params(qmix_t *q) { return &q->mix; }
nn_params_t *qmix_target_mixer_params(qmix_t *q) { return &q->tmix; }
nn_params_t *qmix_target_agent_params(qmix_t *q) { return student_params(q->tstu); }
int64_t qmix_updates(const qmix_t *q) { return q->updates; }

/* ---- agent nets ----------------------------------------------------------- */

/* Checks actions and availability of a batch. 0 or HINT_EINVAL. */
static int check_batch(const qmix_t *q, const offp_batch_t *b) {
  if (b->n < 1 || b->n > q->B)
    return HINT_EINVAL;
  const long rows = (long)b->n * q->A;
  for (long i = 0; i < rows; i++)
    if (b->actions[i] < 0 || b->actions[i] >= q->NA)
      return HINT_EINVAL;
  if (b->next_avail)
    for (long i = 0; i < rows; i++) {
      int any = 0;
      for (int j = 0; j < q->NA && !any; j++)
        any = b->next_avail[i * q->NA + j] != 0;
      if (!any)
        return HINT_EINVAL;
    }
  return HINT_OK;
}

/* ---- mixer ---------------------------------------------------------------- */

/* qtot (n) = Q_tot(state, qs) with the online (target = 0) or target mixer.
 * Leaves w1, b1, w2, v, z, h in scratch (the online backward reads them). */
static void mixer_forward(qmix_t *q, int target, const float *state, const float *qs, int n,
                          float *qtot) {
  nn_mlp_t *M = target ? q->tm : q->m;
  nn_mlp_ws_t *W = target ? q->tm_ws : q->m_ws;
  const int A = q->A, E = q->E;
  nn_mlp_forward(&M[MIX_W1], &W[MIX_W1], state, n, q->w1);
  nn_mlp_forward(&M[MIX_B1], &W[MIX_B1], state, n, q->b1);
  nn_mlp_forward(&M[MIX_W2], &W[MIX_W2], state, n, q->w2);
  nn_mlp_forward(&M[MIX_V], &W[MIX_V], state, n, q->v);
  for (int p = 0; p < n; p++) {
    const float *w1 = q->w1 + (size_t)p * A * E, *b1 = q->b1 + (size_t)p * E,
                *w2 = q->w2 + (size_t)p * E, *qp = qs + (size_t)p * A;
    float *z = q->z + (size_t)p * E, *h = q->h + (size_t)p * E;
    for (int e = 0; e < E; e++)
      z[e] = b1[e];
    for (int a = 0; a < A; a++)
      for (int e = 0; e < E; e++)
        z[e] += qp[a] * fabsf(w1[a * E + e]);
    float y = q->v[p];
    for (int e = 0; e < E; e++) {
      h[e] = z[e] > 0.0f ? z[e] : expm1f(z[e]);
      y += h[e] * fabsf(w2[e]);
    }
    qtot[p] = y;
  }
}

static inline float sgn(float x) { return (float)((x > 0.0f) - (x < 0.0f)); }

/* Backward of the last online mixer_forward: dqtot (n) -> mixer gradients
 * (accumulated) and dq (n, A) (overwritten; may be NULL). */
static void mixer_backward(qmix_t *q, const float *qs, int n, const float *dqtot, float *dq) {
  const int A = q->A, E = q->E;
  for (int p = 0; p < n; p++) {
    const float g = dqtot[p];
    const float *w1 = q->w1 + (size_t)p * A * E, *w2 = q->w2 + (size_t)p * E,
                *z = q->z + (size_t)p * E, *h = q->h + (size_t)p * E, *qp = qs + (size_t)p * A;
    float *dw1 = q->dw1 + (size_t)p * A * E, *db1 = q->db1 + (size_t)p * E,
          *dw2 = q->dw2 + (size_t)p * E;
    q->dv[p] = g;
    for (int e = 0; e < E; e++) {
      dw2[e] = g * h[e] * sgn(w2[e]);                      /* d|w|/dw = sign(w) */
      const float dh = g * fabsf(w2[e]);
      db1[e] = dh * (z[e] > 0.0f ? 1.0f : h[e] + 1.0f);   /* ELU'(z) = exp(z) = h + 1 */
    }
    for (int a = 0; a < A; a++) {
      float s = 0.0f;
      for (int e = 0; e < E; e++) {
        const float w = w1[a * E + e];
        dw1[a * E + e] = qp[a] * db1[e] * sgn(w);
        s += fabsf(w) * db1[e];
      }
      if (dq)
        dq[(size_t)p * A + a] = s;
    }
  }
  nn_mlp_backward(&q->m[MIX_W1], &q->m_ws[MIX_W1], q->dw1, n, NULL);
  nn_mlp_backward(&q->m[MIX_B1], &q->m_ws[MIX_B1], q->db1, n, NULL);
  nn_mlp_backward(&q->m[MIX_W2], &q->m_ws[MIX_W2], q->dw2, n, NULL);
  nn_mlp_backward(&q->m[MIX_V], &q->m_ws[MIX_V], q->dv, n, NULL);
}

void qmix_mixer_eval(qmix_t *q, const float *state, const float *qs, int n, float *qtot,
                     const float *dqtot, float *dq) {
  assert(n >= 1 && n <= q->B);
  mixer_forward(q, 0, state, qs, n, qtot);
  if (dqtot)
    mixer_backward(q, qs, n, dqtot, dq);
}

/* ---- targets, loss, update ------------------------------------------------- */

int qmix_targets(qmix_t *q, const offp_batch_t *b, float *y) {
  int rc = check_batch(q, b);
  if (rc != HINT_OK)
    return rc;
  const int n = b->n, A = q->A, NA = q->NA;
  student_policy_forward(q->tstu, b->next_obs, n, q->qa);           /* Q' */
  const float *pick = q->qa;
  if (q->hp.double_q) {
    student_policy_forward(q->stu, b->next_obs, n, q->qa2);         /* Q picks */
    pick = q->qa2;
  }
  for (long i = 0; i < (long)n * A; i++) {
    const uint8_t *av = b->next_avail ? b->next_avail + (size_t)i * NA : NULL;
    const float *pk = pick + (size_t)i * NA;
    int best = -1;
    for (int j = 0; j < NA; j++)
      if ((av == NULL || av[j]) && (best < 0 || pk[j] > pk[best]))
        best = j;
    q->qs[i] = q->qa[(size_t)i * NA + best];
  }
  mixer_forward(q, 1, b->next_state, q->qs, n, q->qtot);
  for (int p = 0; p < n; p++) {
    const int boot = b->done[p] == 0.0f && !(b->trunc_obs_missing && b->trunc_obs_missing[p]);
    const float disc = b->discount ? b->discount[p] : q->hp.gamma;
    y[p] = b->reward[p] + (boot ? disc * q->qtot[p] : 0.0f);
  }
  return HINT_OK;
}

double qmix_loss_grad(qmix_t *q, const offp_batch_t *b, const float *y, double *q_mean) {
  if (check_batch(q, b) != HINT_OK)
    return NAN;
  const int n = b->n, A = q->A, NA = q->NA;
  nn_params_zero_grad(student_params(q->stu));
  nn_params_zero_grad(&q->mix);
  student_policy_forward(q->stu, b->obs, n, q->qa);
  for (long i = 0; i < (long)n * A; i++)
    q->qs[i] = q->qa[(size_t)i * NA + b->actions[i]];
  mixer_forward(q, 0, b->state, q->qs, n, q->qtot);
  double loss = 0.0, qm = 0.0;
  const float scale = 2.0f / (float)n;
  for (int p = 0; p < n; p++) {
    const float d = q->qtot[p] - y[p];
    loss += (double)d * d;
    qm += q->qtot[p];
    q->dy[p] = scale * d;
  }
  mixer_backward(q, q->qs, n, q->dy, q->dqs);
  memset(q->dqa, 0, (size_t)n * A * NA * sizeof(float));
  for (long i = 0; i < (long)n * A; i++)
    q->dqa[(size_t)i * NA + b->actions[i]] = q->dqs[i];
  student_policy_backward(q->stu, q->dqa, n);
  if (q_mean)
    *q_mean = qm / n;
  return loss / n;
}

int qmix_update(qmix_t *q, const offp_batch_t *b, offp_stats_t *st) {
  int rc = qmix_targets(q, b, q->y);
  if (rc != HINT_OK)
    return rc;
  double qm = 0.0;
  const double loss = qmix_loss_grad(q, b, q->y, &qm);
  /* One clip over both arenas, as clip_grad_norm_ over all parameters. */
  nn_params_t *sp = student_params(q->stu);
  const double ga = nn_params_grad_norm(sp), gm = nn_params_grad_norm(&q->mix);
  const double norm = sqrt(ga * ga + gm * gm);
  if (!isfinite(norm) || !isfinite(loss))
    return HINT_EDIVERGED;
  if (q->hp.max_grad_norm > 0.0f) {
    const double coef = (double)q->hp.max_grad_norm / (norm + 1e-6);
    if (coef < 1.0) {
      const float cf = (float)coef;
      for (size_t i = 0; i < sp->n; i++)
        sp->g[i] *= cf;
      for (size_t i = 0; i < q->mix.n; i++)
        q->mix.g[i] *= cf;
    }
  }
  nn_adam_t opt = nn_adam_defaults();
  opt.lr = q->hp.lr;
  opt.eps = q->hp.adam_eps;
  opt.max_grad_norm = 0.0f; /* clipped above */
  if ((rc = nn_adam_step(sp, &opt, NULL)) != HINT_OK || (rc = nn_adam_step(&q->mix, &opt, NULL)) != HINT_OK)
    return rc; /* unreachable: the norm was finite */
  q->updates++;
  if (q->updates % q->hp.target_update == 0)
    qmix_hard_update(q);
  if (st) {
    st->loss += loss;
    st->q_mean += qm;
    st->grad_norm += norm;
    st->steps += 1;
  }
  return HINT_OK;
}

/* ---- checkpoint ------------------------------------------------------------- */

#define QMIX_MAGIC "QMIX"
#define QMIX_VERSION 1u
#define QMIX_HEADER 48u /* magic, version, A, S, NA, E, H, n_mix, n_agents(u64), updates(i64) */

static void put32(unsigned char *p, uint32_t x) { memcpy(p, &x, 4); }
static void put64(unsigned char *p, uint64_t x) { memcpy(p, &x, 8); }
static uint32_t get32(const unsigned char *p) {
  uint32_t x;
  memcpy(&x, p, 4);
  return x;
}
static uint64_t get64(const unsigned char *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return x;
}

size_t qmix_ckpt_size(const qmix_t *q) {
  return QMIX_HEADER + nn_params_blob_size(&q->mix, 1) + nn_params_blob_size(&q->tmix, 0) +
         nn_params_blob_size(student_params(q->tstu), 0);
}

int qmix_ckpt_save(const qmix_t *q, void *buf, size_t cap) {
  if (cap < qmix_ckpt_size(q))
    return HINT_ERANGE;
  unsigned char *p = buf;
  memset(p, 0, QMIX_HEADER);
  memcpy(p, QMIX_MAGIC, 4);
  put32(p + 4, QMIX_VERSION);
  put32(p + 8, (uint32_t)q->A);
  put32(p + 12, (uint32_t)q->S);
  put32(p + 16, (uint32_t)q->NA);
  put32(p + 20, (uint32_t)q->E);
  put32(p + 24, (uint32_t)q->H);
  put32(p + 28, (uint32_t)q->mix.n);
  put64(p + 32, (uint64_t)student_params(q->tstu)->n);
  put64(p + 40, (uint64_t)q->updates);
  size_t at = QMIX_HEADER, len = 0;
  nn_params_save(&q->mix, 1, p + at, cap - at, &len);
  at += len;
  nn_params_save(&q->tmix, 0, p + at, cap - at, &len);
  at += len;
  nn_params_save(student_params(q->tstu), 0, p + at, cap - at, &len);
  return HINT_OK;
}

int qmix_ckpt_load(qmix_t *q, const void *buf, size_t len) {
  const unsigned char *p = buf;
  if (len < QMIX_HEADER)
    return HINT_ETRUNC;
  if (memcmp(p, QMIX_MAGIC, 4) != 0)
    return HINT_EMAGIC;
  if (get32(p + 4) != QMIX_VERSION)
    return HINT_EVERSION;
  if (get32(p + 8) != (uint32_t)q->A || get32(p + 12) != (uint32_t)q->S || get32(p + 16) != (uint32_t)q->NA ||
      get32(p + 20) != (uint32_t)q->E || get32(p + 24) != (uint32_t)q->H || get32(p + 28) != (uint32_t)q->mix.n ||
      get64(p + 32) != (uint64_t)student_params(q->tstu)->n)
    return HINT_ESHAPE;
  const int64_t updates = (int64_t)get64(p + 40);
  if (updates < 0)
    return HINT_EPARSE;
  const size_t l1 = nn_params_blob_size(&q->mix, 1), l2 = nn_params_blob_size(&q->tmix, 0),
               l3 = nn_params_blob_size(student_params(q->tstu), 0);
  if (len < QMIX_HEADER + l1 + l2 + l3)
    return HINT_ETRUNC;
  if (len != QMIX_HEADER + l1 + l2 + l3)
    return HINT_EPARSE;
  /* Validate into scratch arenas first, so an error changes nothing. */
  nn_params_t t1, t2, t3;
  memset(&t1, 0, sizeof t1);
  memset(&t2, 0, sizeof t2);
  memset(&t3, 0, sizeof t3);
  int rc = HINT_OK;
  if ((rc = nn_params_init(&t1, q->mix.n)) != HINT_OK || (rc = nn_params_init(&t2, q->tmix.n)) != HINT_OK ||
      (rc = nn_params_init(&t3, student_params(q->tstu)->n)) != HINT_OK)
    goto out;
  const unsigned char *at = p + QMIX_HEADER;
  if ((rc = nn_params_load(&t1, at, l1)) != HINT_OK || (rc = nn_params_load(&t2, at + l1, l2)) != HINT_OK ||
      (rc = nn_params_load(&t3, at + l1 + l2, l3)) != HINT_OK)
    goto out;
  memcpy(q->mix.w, t1.w, t1.n * sizeof(float));
  memcpy(q->mix.m, t1.m, t1.n * sizeof(float));
  memcpy(q->mix.v, t1.v, t1.n * sizeof(float));
  q->mix.step = t1.step;
  memcpy(q->tmix.w, t2.w, t2.n * sizeof(float));
  memcpy(student_params(q->tstu)->w, t3.w, t3.n * sizeof(float));
  q->updates = updates;
out:
  nn_params_fini(&t1);
  nn_params_fini(&t2);
  nn_params_fini(&t3);
  return rc;
}
