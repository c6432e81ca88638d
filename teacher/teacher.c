/* teacher.c: the teacher object, its input encoding, the shaped reward, the
 * return normaliser, and the flat teacher's forward passes and PPO update
 * (see teacher.h for the contracts; hier.c holds the hierarchical teacher,
 * to which the public functions dispatch).
 *
 * Layout of the arena: policy MLP (the worker, hierarchical), critic MLP
 * (V_H), its return normaliser, then for the hierarchical teacher the
 * manager, V_L and V_L's normaliser. Every work buffer is sized at
 * create for max_rows states (max_rows * n_agents policy rows), and every
 * loop over states works in chunks of that size, so nothing allocates later.
 *
 * The update works on an index of samples, (segment, t, e) triples of the
 * teacher-driven steps, with their GAE advantage and return; inputs are
 * rebuilt from the segment's state for each minibatch chunk rather than
 * cached, which keeps memory at O(max_rows) however much replay the learner
 * hands over (building the features costs far less than the MLP passes).
 */
#include "teacher/teacher_int.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/env/fc.h"
#include "common/nn/nn.h"

/* Stream indices for hint_rng_seed(seed, TEACHER_RNG_RANK, index). */
#define TEACHER_RNG_RANK 0x7eac4e5ULL
#define TEACHER_RNG_INIT 0
#define TEACHER_RNG_SHUFFLE 1

static void set_err(char *err, size_t cap, const char *msg) {
  if (err && cap)
    snprintf(err, cap, "%s", msg);
}

/* ---- input encoding ----------------------------------------------------- */

void teacher_state_input(const teacher_t *t, const float *state, float *x) {
  memcpy(x, state, (size_t)t->S * sizeof(float));
  for (int k = 0; k < 2 * t->A; k++)
    x[k] *= t->pos_scale;
}

void teacher_agent_input(const teacher_t *t, const float *state, int agent, float *x) {
  teacher_state_input(t, state, x);
  env_feat_agent(&t->feat, state, agent, x + t->S);
  float *oh = x + t->S + t->F;
  memset(oh, 0, (size_t)t->A * sizeof(float));
  oh[agent] = 1.0f;
}

void teacher_mask_logits(const teacher_t *t, float *logits, int rows) {
  if (!t->any_masked)
    return;
  for (int r = 0; r < rows; r++) {
    int nact = t->agent_nact[r % t->A];
    for (int a = nact; a < t->NA; a++)
      logits[(size_t)r * t->NA + a] = TEACHER_MASKED_LOGIT;
  }
}

void teacher_mask_grad(const teacher_t *t, float *dlogits, int rows) {
  if (!t->any_masked)
    return;
  for (int r = 0; r < rows; r++) {
    int nact = t->agent_nact[r % t->A];
    for (int a = nact; a < t->NA; a++)
      dlogits[(size_t)r * t->NA + a] = 0.0f;
  }
}

/* ---- value normalisation ------------------------------------------------
 *
 * Team returns in FireCommander reach -100 and beyond, and Adam moves a
 * value head by about lr per step whatever the gradient's size, so a critic
 * regressing raw returns needs tens of thousands of steps just to reach their
 * scale, and meanwhile its huge gradient dominates the global clip and
 * starves the policy. As MAPPO's ValueNorm does, the critic predicts
 * (V - mean) / std of the returns seen, tracked by debiased exponential
 * averages (beta TEACHER_VNORM_BETA per update). The three statistics live in
 * the arena (t->vnorm) so they travel with every publish and checkpoint; no
 * gradient ever reaches them, so Adam leaves them exactly as written (zero
 * gradient keeps m = v = 0 and the step 0). The hierarchical teacher keeps
 * one for V_H (t->vnorm) and one for V_L (t->vnorm_l). */
void teacher_vnorm_get(const float *vn, double *mean, double *std) {
  double deb = vn[2];
  if (deb <= 0.0) {
    *mean = 0.0;
    *std = 1.0;
    return;
  }
  double m = vn[0] / deb, sq = vn[1] / deb;
  double var = sq - m * m;
  *mean = m;
  *std = sqrt(var > TEACHER_VNORM_MIN_VAR ? var : TEACHER_VNORM_MIN_VAR);
}

void teacher_vnorm_update(float *vn, double batch_mean, double batch_sq) {
  const double b = TEACHER_VNORM_BETA;
  vn[0] = (float)(b * vn[0] + (1.0 - b) * batch_mean);
  vn[1] = (float)(b * vn[1] + (1.0 - b) * batch_sq);
  vn[2] = (float)(b * vn[2] + (1.0 - b));
}

void teacher_vnorm_denorm(const float *vn, float *v, int n) {
  double m, sd;
  teacher_vnorm_get(vn, &m, &sd);
  for (int k = 0; k < n; k++)
    v[k] = (float)(v[k] * sd + m);
}

/* Policy logits [c*A][NA] and (if vals) the critic's normalised outputs [c]
 * for c <= max_rows states. */
static void flat_forward(teacher_t *t, const float *states, int c, float *vals) {
  for (int k = 0; k < c; k++)
    for (int i = 0; i < t->A; i++)
      teacher_agent_input(t, states + (size_t)k * t->S, i,
                          t->x_pi + ((size_t)k * t->A + i) * t->P_in);
  nn_mlp_forward(&t->pi, &t->pi_ws, t->x_pi, c * t->A, t->logits);
  teacher_mask_logits(t, t->logits, c * t->A);
  if (vals) {
    for (int k = 0; k < c; k++)
      teacher_state_input(t, states + (size_t)k * t->S, t->x_v + (size_t)k * t->S);
    nn_mlp_forward(&t->vf, &t->vf_ws, t->x_v, c, vals);
  }
}

/* ---- reward ---------------------------------------------------------------
 *
 * teacher.false_drop_penalty is shaping for the teacher alone (FireCommander):
 * each action agent that chose "extinguish" on a cell holding neither fire
 * nor a front in s_t costs the penalty. It is read off the segment (the
 * action and s_t's maps), so it needs nothing from the env; it can miss the
 * rare drop made false by a teammate's drop on the same cell in the same
 * step, and without privileged state it sees fire but not fronts (fronts burn
 * the cell they stand on, so little is lost). */
double teacher_reward(const teacher_t *t, const teacher_seg_t *s, int tt, int e) {
  size_t te = (size_t)tt * s->E + e;
  double r = s->rewards[te];
  if (t->false_drop == 0.0f || t->feat.name != HINT_ENV_FIRE_COMMANDER)
    return r;
  const float *st = s->state + te * t->S;
  const int size = t->feat.size, s2 = size * size;
  const float *burning = st + 2 * t->A;
  const float *fronts = t->feat.privileged ? burning + s2 + 1 : NULL;
  for (int i = t->feat.n_first; i < t->A; i++) { /* the action agents (fc.h) */
    if (s->actions[te * t->A + i] != FC_EXTINGUISH)
      continue;
    int row, col;
    env_state_pos(st, i, &row, &col);
    int cell = row * size + col;
    if (burning[cell] <= 0.0f && (!fronts || fronts[cell] <= 0.0f))
      r -= t->false_drop;
  }
  return r;
}

/* ---- lifecycle ---------------------------------------------------------- */

static nn_mlp_desc_t mlp_desc(int in, int out, const hint_config_t *cfg) {
  nn_mlp_desc_t d;
  memset(&d, 0, sizeof d);
  d.in_dim = in;
  d.out_dim = out;
  d.n_hidden = cfg->teacher.layers;
  for (int l = 0; l < d.n_hidden; l++)
    d.hidden[l] = cfg->teacher.hidden;
  d.act = NN_ACT_TANH;
  return d;
}

int teacher_create(teacher_t **out, const hint_config_t *cfg, int max_rows,
                   uint64_t seed, char *err, size_t err_cap) {
  if (!out || !cfg || max_rows <= 0) {
    set_err(err, err_cap, "teacher_create: NULL argument or max_rows <= 0");
    return HINT_EINVAL;
  }
  *out = NULL;
  if (cfg->teacher.layers < 0 || cfg->teacher.layers > NN_MLP_MAX_LAYERS - 1) {
    set_err(err, err_cap, "teacher.layers: at most 7 hidden layers");
    return HINT_ECONFIG;
  }
  teacher_t *t = hint_calloc(1, sizeof *t);
  if (!t) {
    set_err(err, err_cap, hint_strerror(HINT_ENOMEM)); /* callers log err */
    return HINT_ENOMEM;
  }
  int rc = env_feat_init(&t->feat, cfg, err, err_cap);
  if (rc) {
    hint_free(t);
    return rc;
  }
  const env_dims_t *d = &t->feat.dims;
  t->S = d->state_dim;
  t->F = t->feat.feat_dim;
  t->A = d->n_agents;
  t->NA = d->n_actions;
  t->P_in = t->S + t->F + t->A;
  t->pos_scale = cfg->env.size > 1 ? 1.0f / (float)(cfg->env.size - 1) : 1.0f;
  for (int i = 0; i < t->A; i++) {
    t->agent_nact[i] = d->class_n_actions[d->class_of[i]];
    t->any_masked |= t->agent_nact[i] < t->NA;
  }
  t->max_rows = max_rows;
  t->hierarchical = cfg->teacher.hierarchical;
  t->clip = (float)cfg->teacher.clip;
  t->ent_coef = (float)cfg->teacher.ent_coef;
  t->vf_coef = (float)cfg->teacher.vf_coef;
  t->gamma = (float)cfg->teacher.gamma;
  t->lam = (float)cfg->teacher.gae_lambda;
  t->epochs = cfg->teacher.epochs;
  t->false_drop = (float)cfg->teacher.false_drop_penalty;
  t->minibatches = cfg->teacher.minibatches;
  t->adam = nn_adam_defaults();
  t->adam.lr = (float)cfg->teacher.lr;
  t->adam.eps = (float)cfg->teacher.adam_eps;
  t->adam.max_grad_norm = (float)cfg->teacher.max_grad_norm;
  t->max_segs = cfg->teacher.replay_segments;
  t->cap = (size_t)cfg->teacher.replay_segments * (size_t)(cfg->actor.segment_len + 1) *
           (size_t)cfg->actor.envs;

  if (t->hierarchical && (rc = teacher_hier_init(t, cfg, err, err_cap))) {
    hint_free(t);
    return rc;
  }

  /* The worker of the hierarchical teacher takes the place of the flat
   * policy (pi), V_H that of the flat critic (vf); the manager and V_L follow
   * the first return normaliser. */
  const int pol_in = t->hierarchical ? t->P_L : t->P_in;
  nn_mlp_desc_t dp = mlp_desc(pol_in, t->NA, cfg);
  nn_mlp_desc_t dv = mlp_desc(t->S, 1, cfg);
  nn_mlp_desc_t dm = mlp_desc(t->hierarchical ? t->PM : t->P_in,
                              t->hierarchical && !t->targets ? t->G : 1, cfg);
  nn_mlp_desc_t dl = mlp_desc(pol_in, 1, cfg);
  size_t n_params = nn_mlp_param_count(&dp) + nn_mlp_param_count(&dv) + TEACHER_VNORM_N;
  if (t->hierarchical)
    n_params += nn_mlp_param_count(&dm) + nn_mlp_param_count(&dl) + TEACHER_VNORM_N;
  if (nn_mlp_param_count(&dp) == 0 || nn_mlp_param_count(&dv) == 0) {
    set_err(err, err_cap, "teacher: invalid network sizes");
    hint_free(t);
    return HINT_ECONFIG;
  }
  rc = nn_params_init(&t->params, n_params);
  if (rc)
    goto fail;
  size_t vn_off;
  if ((rc = nn_mlp_init(&t->pi, &dp, &t->params)) ||
      (rc = nn_mlp_init(&t->vf, &dv, &t->params)) ||
      (rc = nn_params_reserve(&t->params, TEACHER_VNORM_N, &vn_off)))
    goto fail;
  t->vnorm = t->params.w + vn_off;
  if (t->hierarchical) {
    if ((rc = nn_mlp_init(&t->mgr, &dm, &t->params)) ||
        (rc = nn_mlp_init(&t->vl, &dl, &t->params)) ||
        (rc = nn_params_reserve(&t->params, TEACHER_VNORM_N, &vn_off)))
      goto fail;
    t->vnorm_l = t->params.w + vn_off;
  }
  hint_rng_t init_rng;
  hint_rng_seed(&init_rng, seed, TEACHER_RNG_RANK, TEACHER_RNG_INIT);
  hint_rng_seed(&t->rng, seed, TEACHER_RNG_RANK, TEACHER_RNG_SHUFFLE);
  const float hidden_gain = 5.0f / 3.0f; /* torch calculate_gain('tanh') */
  if ((rc = nn_mlp_init_orthogonal(&t->pi, &init_rng, hidden_gain, 0.01f)) ||
      (rc = nn_mlp_init_orthogonal(&t->vf, &init_rng, hidden_gain, 1.0f)))
    goto fail;
  if (t->hierarchical &&
      ((rc = nn_mlp_init_orthogonal(&t->mgr, &init_rng, hidden_gain, 0.01f)) ||
       (rc = nn_mlp_init_orthogonal(&t->vl, &init_rng, hidden_gain, 1.0f))))
    goto fail;

  const size_t R = (size_t)max_rows, RA = R * (size_t)t->A;
  if ((rc = nn_mlp_ws_init(&t->pi_ws, &t->pi, (int)RA)) ||
      (rc = nn_mlp_ws_init(&t->vf_ws, &t->vf, (int)R)))
    goto fail;
  t->x_pi = hint_malloc(RA * (size_t)pol_in * sizeof(float));
  t->x_v = hint_malloc(R * (size_t)t->S * sizeof(float));
  t->states = hint_malloc(R * (size_t)t->S * sizeof(float));
  t->logits = hint_malloc(RA * (size_t)t->NA * sizeof(float));
  t->dlogits = hint_malloc(RA * (size_t)t->NA * sizeof(float));
  t->vals = hint_malloc(R * sizeof(float));
  t->dvals = hint_malloc(R * sizeof(float));
  t->ret_rows = hint_malloc(R * sizeof(float));
  t->act_rows = hint_malloc(RA * sizeof(int));
  t->logp_rows = hint_malloc(RA * sizeof(float));
  t->adv_rows = hint_malloc(RA * sizeof(float));
  t->v_all = hint_malloc((t->cap ? t->cap : 1) * sizeof(float));
  t->samples = hint_malloc((t->cap ? t->cap : 1) * sizeof(teacher_sample_t));
  t->perm = hint_malloc((t->cap ? t->cap : 1) * sizeof(uint32_t));
  t->seg_off = hint_malloc(((size_t)t->max_segs + 1) * sizeof(size_t));
  t->upd_segs = hint_malloc(((size_t)t->max_segs + 1) * sizeof(teacher_seg_t));
  if (!t->upd_segs || !t->x_pi || !t->x_v || !t->states || !t->logits || !t->dlogits || !t->vals ||
      !t->dvals || !t->ret_rows || !t->act_rows || !t->logp_rows || !t->adv_rows ||
      !t->v_all || !t->samples || !t->perm || !t->seg_off) {
    rc = HINT_ENOMEM;
    goto fail;
  }
  if (t->hierarchical && (rc = teacher_hier_alloc(t)))
    goto fail;
  *out = t;
  return HINT_OK;
fail:
  set_err(err, err_cap, hint_strerror(rc));
  teacher_destroy(&t);
  return rc;
}

void teacher_destroy(teacher_t **tp) {
  if (!tp || !*tp)
    return;
  teacher_t *t = *tp;
  teacher_hier_fini(t);
  nn_mlp_ws_fini(&t->pi_ws);
  nn_mlp_ws_fini(&t->vf_ws);
  nn_params_fini(&t->params);
  hint_free(t->x_pi);
  hint_free(t->x_v);
  hint_free(t->states);
  hint_free(t->logits);
  hint_free(t->dlogits);
  hint_free(t->vals);
  hint_free(t->dvals);
  hint_free(t->ret_rows);
  hint_free(t->act_rows);
  hint_free(t->logp_rows);
  hint_free(t->adv_rows);
  hint_free(t->v_all);
  hint_free(t->samples);
  hint_free(t->perm);
  hint_free(t->seg_off);
  hint_free(t->upd_segs);
  hint_free(t);
  *tp = NULL;
}

nn_params_t *teacher_params(teacher_t *t) { return &t->params; }
hint_rng_t *teacher_rng(teacher_t *t) { return &t->rng; }
const env_dims_t *teacher_dims(const teacher_t *t) { return &t->feat.dims; }
int teacher_hierarchical(const teacher_t *t) { return t->hierarchical; }

/* ---- forward APIs ------------------------------------------------------- */

int teacher_act(teacher_t *t, teacher_goals_t *gs, int first_env, const float *states,
                int n, int greedy, hint_rng_t *rng, int32_t *actions, float *logp,
                int32_t *goals, float *goal_logp) {
  if (!t || n < 0 || (n > 0 && (!states || !actions || !logp)) || (!greedy && !rng))
    return HINT_EINVAL;
  if (t->hierarchical)
    return teacher_hier_act(t, gs, first_env, states, n, greedy, rng, actions, logp, goals,
                            goal_logp);
  for (int k0 = 0; k0 < n; k0 += t->max_rows) {
    int c = n - k0 < t->max_rows ? n - k0 : t->max_rows;
    int rows = c * t->A;
    flat_forward(t, states + (size_t)k0 * t->S, c, NULL);
    if (greedy) {
      nn_argmax(t->logits, rows, t->NA, t->act_rows);
      nn_log_prob(t->logits, t->act_rows, rows, t->NA, t->logp_rows);
    } else {
      nn_sample(t->logits, rows, t->NA, rng, t->act_rows, t->logp_rows);
    }
    for (int r = 0; r < rows; r++) {
      actions[(size_t)k0 * t->A + r] = t->act_rows[r];
      logp[(size_t)k0 * t->A + r] = t->logp_rows[r];
    }
  }
  return HINT_OK;
}

int teacher_targets(teacher_t *t, const float *states, int n, float *pi, float *v) {
  if (!t || n < 0 || (n > 0 && !states))
    return HINT_EINVAL;
  if (t->hierarchical)
    return teacher_hier_targets(t, states, n, pi, v);
  for (int k0 = 0; k0 < n; k0 += t->max_rows) {
    int c = n - k0 < t->max_rows ? n - k0 : t->max_rows;
    flat_forward(t, states + (size_t)k0 * t->S, c, v ? t->vals : NULL);
    if (pi)
      nn_softmax(t->logits, pi + (size_t)k0 * t->A * t->NA, c * t->A, t->NA);
    if (v) {
      teacher_vnorm_denorm(t->vnorm, t->vals, c);
      memcpy(v + k0, t->vals, (size_t)c * sizeof(float));
    }
  }
  return HINT_OK;
}

/* ---- update ------------------------------------------------------------- */

static int seg_check(const teacher_seg_t *s) {
  if (s->T <= 0 || s->E <= 0 || !s->state || !s->actions || !s->logp || !s->rewards ||
      !s->dones || !s->driver)
    return HINT_EINVAL;
  return HINT_OK;
}

int teacher_seg_prepare(teacher_t *t, const teacher_seg_t *segs, int n) {
  if (n < 0 || (n > 0 && !segs))
    return HINT_EINVAL;
  if (n > t->max_segs)
    return HINT_ERANGE;
  size_t total = 0;
  for (int j = 0; j < n; j++) {
    int rc = seg_check(&segs[j]);
    if (rc)
      return rc;
    t->seg_off[j] = total;
    total += (size_t)(segs[j].T + 1) * segs[j].E;
  }
  t->seg_off[n] = total;
  return total > t->cap ? HINT_ERANGE : HINT_OK;
}

/* V_T (denormalised) at every state of every segment into v_all (segment-major, [T+1][E]
 * within a segment), in chunks of max_rows states. */
void teacher_values_all(teacher_t *t, const teacher_seg_t *segs, int n) {
  for (int j = 0; j < n; j++) {
    size_t cnt = (size_t)(segs[j].T + 1) * segs[j].E;
    const float *st = segs[j].state;
    for (size_t k0 = 0; k0 < cnt; k0 += (size_t)t->max_rows) {
      int c = cnt - k0 < (size_t)t->max_rows ? (int)(cnt - k0) : t->max_rows;
      for (int k = 0; k < c; k++)
        teacher_state_input(t, st + (k0 + k) * t->S, t->x_v + (size_t)k * t->S);
      float *out = t->v_all + t->seg_off[j] + k0;
      nn_mlp_forward(&t->vf, &t->vf_ws, t->x_v, c, out);
      teacher_vnorm_denorm(t->vnorm, out, c);
    }
  }
}

/* GAE over the teacher-driven steps of every segment into t->samples; returns
 * the count or HINT_ERANGE for an action out of range. The trace is cut at a
 * done (truncation included: see teacher.h) and where the next step was
 * driven by the students (bootstrap from V_T there, no further trace). */
static long collect_samples(teacher_t *t, const teacher_seg_t *segs, int n) {
  long cnt = 0;
  const double g = t->gamma, gl = (double)t->gamma * t->lam;
  for (int j = 0; j < n; j++) {
    const teacher_seg_t *s = &segs[j];
    const int T = s->T, E = s->E;
    const float *v = t->v_all + t->seg_off[j];
    for (int e = 0; e < E; e++) {
      double next_adv = 0.0;
      int next_teacher = 0; /* step t+1 exists in the segment and is teacher-driven */
      long first = cnt;
      for (int tt = T - 1; tt >= 0; tt--) {
        size_t te = (size_t)tt * E + e;
        if (!s->driver[te]) {
          next_teacher = 0;
          continue;
        }
        int nonterminal = !s->dones[te];
        double delta = teacher_reward(t, s, tt, e) +
                       g * nonterminal * (double)v[te + E] - (double)v[te];
        double adv = delta + gl * (nonterminal && next_teacher) * next_adv;
        for (int i = 0; i < t->A; i++) {
          int32_t a = s->actions[te * t->A + i];
          if (a < 0 || a >= t->agent_nact[i])
            return HINT_ERANGE;
        }
        teacher_sample_t *sm = &t->samples[cnt++];
        sm->seg = j;
        sm->t = tt;
        sm->e = e;
        sm->adv = (float)adv;
        sm->ret = (float)(adv + (double)v[te]);
        sm->v = v[te];
        next_adv = adv;
        next_teacher = 1;
      }
      /* Samples of env e came out in reverse time; order does not matter for
       * training, but forward order keeps the index readable in a debugger. */
      for (long a = first, b = cnt - 1; a < b; a++, b--) {
        teacher_sample_t tmp = t->samples[a];
        t->samples[a] = t->samples[b];
        t->samples[b] = tmp;
      }
    }
  }
  return cnt;
}

typedef struct {
  double pl, vl, ent, clip, kl, gn;
} mb_acc_t;

/* One minibatch: loss over the samples idx[0..m), gradient, Adam step.
 * *acc (zeroed by the caller) receives this minibatch's figures. */
static int minibatch_step(teacher_t *t, const teacher_seg_t *segs, const uint32_t *idx,
                          int m, mb_acc_t *acc) {
  double mean = 0.0, sq = 0.0;
  for (int k = 0; k < m; k++)
    mean += t->samples[idx[k]].adv;
  mean /= m;
  for (int k = 0; k < m; k++) {
    double d = t->samples[idx[k]].adv - mean;
    sq += d * d;
  }
  /* Population std with a floor, so a single-sample minibatch gives adv 0
   * rather than a division by zero. */
  const double inv_std = 1.0 / (sqrt(sq / m) + 1e-8);
  double vm, vsd;
  teacher_vnorm_get(t->vnorm, &vm, &vsd);
  const int A = t->A, NA = t->NA;
  nn_params_zero_grad(&t->params);
  for (int k0 = 0; k0 < m; k0 += t->max_rows) {
    int c = m - k0 < t->max_rows ? m - k0 : t->max_rows;
    int rows = c * A;
    for (int k = 0; k < c; k++) {
      const teacher_sample_t *sm = &t->samples[idx[k0 + k]];
      const teacher_seg_t *s = &segs[sm->seg];
      size_t te = (size_t)sm->t * s->E + sm->e;
      memcpy(t->states + (size_t)k * t->S, s->state + te * t->S,
             (size_t)t->S * sizeof(float));
      float an = (float)((sm->adv - mean) * inv_std);
      for (int i = 0; i < A; i++) {
        t->act_rows[k * A + i] = s->actions[te * A + i];
        t->logp_rows[k * A + i] = s->logp[te * A + i];
        t->adv_rows[k * A + i] = an;
      }
      t->ret_rows[k] = (float)((sm->ret - vm) / vsd);
    }
    flat_forward(t, t->states, c, t->vals);
    /* Each chunk's losses are means over its rows; weighting by the chunk's
     * share makes the sum over chunks the mean over the whole minibatch. */
    const float w = (float)c / (float)m;
    memset(t->dlogits, 0, (size_t)rows * NA * sizeof(float));
    nn_ppo_stats_t ps;
    float pl = nn_ppo_loss(t->logits, t->act_rows, t->logp_rows, t->adv_rows, rows, NA,
                           t->clip, w, t->dlogits, &ps);
    float h = nn_entropy_loss(t->logits, rows, NA, -t->ent_coef * w, t->dlogits);
    teacher_mask_grad(t, t->dlogits, rows);
    nn_mlp_backward(&t->pi, &t->pi_ws, t->dlogits, rows, NULL);
    memset(t->dvals, 0, (size_t)c * sizeof(float));
    float vl = nn_value_loss(t->vals, t->ret_rows, NULL, c, 0.0f, t->vf_coef * w, t->dvals);
    nn_mlp_backward(&t->vf, &t->vf_ws, t->dvals, c, NULL);
    acc->pl += (double)w * pl;
    acc->vl += (double)w * vl;
    acc->ent += (double)w * h;
    acc->clip += (double)w * ps.clip_frac;
    acc->kl += (double)w * ps.approx_kl;
  }
  double gn = 0.0;
  int rc = nn_adam_step(&t->params, &t->adam, &gn);
  acc->gn = gn;
  return rc;
}

/* ---- updates: formed once, then stepped one minibatch at a time --------- */

/* Forms the flat teacher's batch and its moments; returns the sample count. */
static long flat_begin(teacher_t *t, const teacher_seg_t *segs, int n) {
  teacher_values_all(t, segs, n);
  long cnt = collect_samples(t, segs, n);
  if (cnt <= 0)
    return cnt;
  /* Statistics of the batch as formed (before any step). */
  double am = 0.0, as = 0.0, rm = 0.0, rs = 0.0, em = 0.0, es = 0.0;
  for (long k = 0; k < cnt; k++) {
    const teacher_sample_t *sm = &t->samples[k];
    am += sm->adv;
    rm += sm->ret;
    em += sm->ret - sm->v;
  }
  am /= cnt;
  rm /= cnt;
  em /= cnt;
  for (long k = 0; k < cnt; k++) {
    const teacher_sample_t *sm = &t->samples[k];
    as += (sm->adv - am) * (sm->adv - am);
    rs += (sm->ret - rm) * (sm->ret - rm);
    es += (sm->ret - sm->v - em) * (sm->ret - sm->v - em);
  }
  double rsq = 0.0;
  for (long k = 0; k < cnt; k++)
    rsq += (double)t->samples[k].ret * t->samples[k].ret;
  teacher_vnorm_update(t->vnorm, rm, rsq / cnt);
  t->upd_am = am, t->upd_as = as, t->upd_rm = rm, t->upd_rs = rs, t->upd_em = em, t->upd_es = es;
  return cnt;
}

static void flat_stats(const teacher_t *t, teacher_stats_t *stats) {
  const double ns = t->upd_steps > 0 ? t->upd_steps : 1;
  const long cnt = t->upd_cnt;
  stats->policy_loss = (float)(t->upd_pl / ns);
  stats->value_loss = (float)(t->upd_vl / ns);
  stats->entropy = (float)(t->upd_ent / ns);
  stats->clip_frac = (float)(t->upd_clip / ns);
  stats->approx_kl = (float)(t->upd_kl / ns);
  stats->grad_norm = (float)(t->upd_gn / ns);
  stats->adv_mean = (float)t->upd_am;
  stats->adv_std = (float)sqrt(t->upd_as / cnt);
  stats->ret_mean = (float)t->upd_rm;
  stats->explained_var = t->upd_rs > 0.0 ? (float)(1.0 - t->upd_es / t->upd_rs) : 0.0f;
  stats->steps = cnt;
  stats->agent_steps = cnt * (int64_t)t->A;
  stats->adam_steps = t->upd_steps;
}

int teacher_update_begin(teacher_t *t, const teacher_seg_t *segs, int n) {
  if (!t)
    return HINT_EINVAL;
  if (t->upd_active)
    return HINT_ESTATE;
  int prc = teacher_seg_prepare(t, segs, n);
  if (prc)
    return prc;
  if (n == 0)
    return HINT_OK;
  long cnt = 0;
  if (t->hierarchical) {
    int rc = teacher_hier_form(t, segs, n, &cnt);
    if (rc)
      return rc;
  } else {
    cnt = flat_begin(t, segs, n);
    if (cnt < 0)
      return (int)cnt;
  }
  if (cnt == 0)
    return HINT_OK;
  memcpy(t->upd_segs, segs, (size_t)n * sizeof *segs);
  for (long k = 0; k < cnt; k++)
    t->perm[k] = (uint32_t)k;
  t->upd_n = n;
  t->upd_cnt = cnt;
  t->upd_M = t->minibatches < cnt ? t->minibatches : (int)cnt;
  t->upd_ep = t->upd_b = t->upd_steps = 0;
  memset(&t->upd_sum, 0, sizeof t->upd_sum);
  t->upd_pl = t->upd_vl = t->upd_ent = t->upd_clip = t->upd_kl = t->upd_gn = 0.0;
  t->upd_active = 1;
  return HINT_OK;
}

int teacher_update_active(const teacher_t *t) { return t && t->upd_active; }

int teacher_update_step(teacher_t *t, int *done, teacher_stats_t *stats) {
  *done = 0;
  if (!t)
    return HINT_EINVAL;
  if (!t->upd_active) {
    *done = 1;
    return HINT_OK;
  }
  const long cnt = t->upd_cnt;
  const int M = t->upd_M;
  if (t->upd_b == 0) {
    /* Fisher-Yates from the teacher's own stream: the only randomness. */
    for (long k = cnt - 1; k > 0; k--) {
      uint32_t r = hint_rng_below(&t->rng, (uint32_t)(k + 1));
      uint32_t tmp = t->perm[k];
      t->perm[k] = t->perm[r];
      t->perm[r] = tmp;
    }
  }
  const long lo = cnt * t->upd_b / M, hi = cnt * (t->upd_b + 1) / M;
  int rc;
  if (t->hierarchical) {
    rc = teacher_hier_mb_step(t, t->upd_segs, t->perm + lo, (int)(hi - lo), &t->upd_sum,
                              &t->upd_gn);
  } else {
    mb_acc_t one;
    memset(&one, 0, sizeof one);
    rc = minibatch_step(t, t->upd_segs, t->perm + lo, (int)(hi - lo), &one);
    if (rc == HINT_OK) {
      t->upd_pl += one.pl;
      t->upd_vl += one.vl;
      t->upd_ent += one.ent;
      t->upd_clip += one.clip;
      t->upd_kl += one.kl;
      t->upd_gn += one.gn;
    }
  }
  if (rc == HINT_OK)
    t->upd_steps++;
  if (++t->upd_b == M) {
    t->upd_b = 0;
    t->upd_ep++;
  }
  if (rc != HINT_OK || t->upd_ep >= t->epochs) {
    if (stats) {
      if (t->hierarchical)
        teacher_hier_stats(t, cnt, &t->upd_sum, t->upd_steps, t->upd_gn, stats);
      else
        flat_stats(t, stats);
    }
    t->upd_active = 0;
    *done = 1;
  }
  return rc;
}

int teacher_update(teacher_t *t, const teacher_seg_t *segs, int n,
                   teacher_stats_t *stats) {
  if (stats)
    memset(stats, 0, sizeof *stats);
  int rc = teacher_update_begin(t, segs, n);
  int done = !teacher_update_active(t);
  while (rc == HINT_OK && !done)
    rc = teacher_update_step(t, &done, stats);
  return rc;
}
