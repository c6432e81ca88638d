/* hier.c: the hierarchical teacher (teacher.hierarchical: true).
 *
 * Networks (one arena with the flat parts, see teacher.c):
 *   worker  pi_L(a | s, i, g)  t->pi,  input [agent input, one-hot(g), offset]
 *   V_H(s)                     t->vf,  the team value, = V_T
 *   manager pi_H(g | s, i)     t->mgr, input = the flat policy's agent input
 *   V_L(s, i, g)               t->vl,  input = the worker's
 * Goals. teacher.goal_set: cells: goal g is a cell of a coarse grid of edge
 * gcell (teacher.goal_cell, 0 = 1 up to 10x10 maps, 2 above), covering rows
 * [gr*gcell, gr*gcell + gcell) and the same columns, gr = g / gside; the
 * manager outputs G logits. teacher.goal_set: targets: goal g is a map cell
 * (row * size + col) proposed by env_feat_targets (up to K =
 * teacher.n_targets candidates per agent, nearest first); the manager scores
 * each candidate pointer-style, one MLP on [agent input, candidate features]
 * per candidate (invalid slots masked), and picks a slot. With no candidate
 * at all an agent's goal is its own cell (no decision is trained).
 * The goal part of the worker input is one-hot of the coarse cell holding g
 * (G) and [drow, dcol, dist / 2] / (size - 1) toward the goal region (the
 * nearest cell of the coarse cell, or the target cell itself; zeros inside);
 * distance is Manhattan to that region, and "arrived" is distance 0.
 *
 * Decisions: a goal is chosen (sampled, or argmax when acting greedily) for
 * each agent at the first step it is teacher-driven after a reset, every
 * teacher.manager_period (K) steps since its last choice, and at any step
 * where the agent stands in its goal. teacher_act applies this rule with the
 * actor's teacher_goals_t; the update re-derives the same decision points
 * from the logged goals, which is why the actor must reset an env's goals at
 * every segment start (teacher_goals_reset_all), at every done and when the
 * env starts being teacher-driven.
 *
 * Update, own data (teacher-driven steps), one batch formed at the start:
 *   worker : PPO against the logged action log-prob; reward r + intrinsic,
 *            intrinsic = intrinsic_coef * (dist_t - dist_t+1 + arrival_bonus
 *            on reaching the goal), 0 on a done step (the terminal position is
 *            not in the segment); GAE(gamma, lambda) over V_L(s, i, g) within
 *            each goal window, bootstrapped with V_L(s_end, i, g) at its end.
 *   manager: PPO against the logged goal log-prob; semi-MDP: a window of tau
 *            steps earns R = sum_k gamma^k r_t0+k and is bootstrapped with
 *            gamma^tau V_H(s_end); GAE(lambda) chains consecutive windows.
 *   V_H    : GAE(lambda) returns of the team reward, every step (as flat).
 * Pseudo off-policy (student-driven steps, every loss term weighted by
 * beta = teacher.student_data_coef; 0 skips them):
 *   relabel: K-step windows from the start of each student run (cut at
 *            dones); g~ is the goal cell agent i occupies at the window's end
 *            (s_end; the last in-episode state when the window ends in a done):
 *            its coarse cell, or (targets) the map cell itself, whose manager
 *            decision is trained only if it was a candidate at the window's
 *            start.
 *   worker : clipped PPO with ratio pi_L(a | s, i, g~) / pi_S(a | o_i) (the
 *            segment's logp), advantages r + gamma v_t+1 - V_L(s_t) from V-trace
 *            targets v (rho_bar, c_bar) within the window; V_L regresses on v.
 *   manager: the window (s_t0, g~, R) as if on-policy: ratio against pi_H(g~)
 *            at batch formation, the same semi-MDP advantage.
 *   V_H    : V-trace targets with the joint ratio prod_i pi_L(a_i | s, i, g~_i)
 *            / pi_S(a_i | o_i), truncated by rho_bar / c_bar.
 * Because a student's ratio can be arbitrarily large, the surrogate is
 * dual-clipped (Ye et al. 2020): for negative advantages it is bounded by
 * TEACHER_DUAL_CLIP * adv. Each loss is a mean over its own-data rows plus
 * beta times a mean over its student rows; advantages are normalised per
 * minibatch, per network and per source.
 */
#include "teacher/teacher_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/nn/nn.h"

#define TEACHER_DUAL_CLIP 3.0

struct teacher_goals {
  int n_envs, A;
  int32_t *goal;  /* [n_envs][A]; -1: choose at the next act */
  int32_t *steps; /* [n_envs][A] steps since the goal was chosen */
  float *logp;    /* [n_envs][A] manager log-prob of the goal when chosen */
};

static void set_err(char *err, size_t cap, const char *msg) {
  if (err && cap)
    snprintf(err, cap, "%s", msg);
}

/* ---- goals ---------------------------------------------------------------- */

static int goal_of_cell(const teacher_t *t, int r, int c) {
  return (r / t->gcell) * t->gside + c / t->gcell;
}

/* The coarse cell (worker one-hot index) of goal g. */
static int goal_coarse(const teacher_t *t, int g) {
  return t->targets ? goal_of_cell(t, g / t->size, g % t->size) : g;
}

/* The goal an agent holding (r, c) at a window's end is relabelled with. */
static int goal_at(const teacher_t *t, int r, int c) {
  return t->targets ? r * t->size + c : goal_of_cell(t, r, c);
}

/* Signed offset (dr, dc) from (r, c) to the nearest cell of goal g. */
static void goal_offset(const teacher_t *t, int r, int c, int g, int *dr, int *dc) {
  if (t->targets) {
    *dr = g / t->size - r;
    *dc = g % t->size - c;
    return;
  }
  int r0 = (g / t->gside) * t->gcell, c0 = (g % t->gside) * t->gcell;
  int r1 = r0 + t->gcell - 1, c1 = c0 + t->gcell - 1;
  r1 = r1 < t->size - 1 ? r1 : t->size - 1;
  c1 = c1 < t->size - 1 ? c1 : t->size - 1;
  *dr = r < r0 ? r0 - r : (r > r1 ? r1 - r : 0);
  *dc = c < c0 ? c0 - c : (c > c1 ? c1 - c : 0);
}

static int goal_dist_state(const teacher_t *t, const float *state, int i, int g) {
  int r, c, dr, dc;
  env_state_pos(state, i, &r, &c);
  goal_offset(t, r, c, g, &dr, &dc);
  return abs(dr) + abs(dc);
}

/* The worker's input for agent i with goal g at state. */
static void worker_input(const teacher_t *t, const float *state, int i, int g, float *x) {
  teacher_agent_input(t, state, i, x);
  float *q = x + t->P_in;
  memset(q, 0, (size_t)(t->G + 3) * sizeof(float));
  q[goal_coarse(t, g)] = 1.0f;
  int r, c, dr, dc;
  env_state_pos(state, i, &r, &c);
  goal_offset(t, r, c, g, &dr, &dc);
  q[t->G] = (float)dr * t->pos_scale;
  q[t->G + 1] = (float)dc * t->pos_scale;
  q[t->G + 2] = (float)(abs(dr) + abs(dc)) * 0.5f * t->pos_scale;
}

/* The intrinsic part of the worker's reward for agent i with goal g over the
 * step s0 -> s1 (0 when the step ended the episode: s1 is then a reset). */
static double intrinsic(const teacher_t *t, const float *s0, const float *s1, int done,
                        int i, int g) {
  if (done || t->intrinsic == 0.0f)
    return 0.0;
  int d0 = goal_dist_state(t, s0, i, g), d1 = goal_dist_state(t, s1, i, g);
  double r = (double)(d0 - d1);
  if (d1 == 0 && d0 > 0)
    r += t->arrival_bonus;
  return (double)t->intrinsic * r;
}

/* ---- lifecycle ------------------------------------------------------------ */

int teacher_hier_init(teacher_t *t, const hint_config_t *cfg, char *err, size_t err_cap) {
  if (cfg->teacher.goal_set != HINT_GOALS_CELLS && cfg->teacher.goal_set != HINT_GOALS_TARGETS) {
    set_err(err, err_cap, "teacher.goal_set: unknown value (cells or targets)");
    return HINT_ECONFIG;
  }
  t->size = cfg->env.size;
  t->targets = cfg->teacher.goal_set == HINT_GOALS_TARGETS;
  t->gcell = cfg->teacher.goal_cell > 0 ? cfg->teacher.goal_cell : (t->size <= 10 ? 1 : 2);
  if (t->gcell > t->size) {
    set_err(err, err_cap, "teacher.goal_cell: larger than the map (env.size)");
    return HINT_ECONFIG;
  }
  t->gside = (t->size + t->gcell - 1) / t->gcell;
  t->G = t->gside * t->gside;
  t->KT = t->feat.n_targets;
  t->TD = t->feat.target_dim;
  t->GM = t->targets ? t->KT : t->G;
  t->PM = t->P_in + (t->targets ? t->TD : 0);
  t->K = cfg->teacher.manager_period;
  t->P_L = t->P_in + t->G + 3;
  t->intrinsic = (float)cfg->teacher.intrinsic_coef;
  t->arrival_bonus = (float)cfg->teacher.arrival_bonus;
  t->beta = (float)cfg->teacher.student_data_coef;
  t->student_frac = (float)cfg->teacher.student_data_frac;
  t->rho_bar = (float)cfg->teacher.rho_bar;
  t->c_bar = (float)cfg->teacher.c_bar;
  return HINT_OK;
}

int teacher_hier_alloc(teacher_t *t) {
  const size_t R = (size_t)t->max_rows, RA = R * (size_t)t->A;
  int rc;
  const size_t MR = RA * (size_t)(t->targets ? t->KT : 1); /* manager MLP rows */
  if ((rc = nn_mlp_ws_init(&t->mgr_ws, &t->mgr, (int)MR)) ||
      (rc = nn_mlp_ws_init(&t->vl_ws, &t->vl, (int)RA)))
    return rc;
  t->x_m = hint_malloc(MR * (size_t)t->PM * sizeof(float));
  t->m_logits = hint_malloc(RA * (size_t)t->GM * sizeof(float));
  t->dm_logits = hint_malloc(RA * (size_t)t->GM * sizeof(float));
  if (t->targets) {
    t->cand = hint_malloc(RA * (size_t)t->KT * sizeof(int32_t));
    t->tfeat = hint_malloc((size_t)t->KT * t->TD * sizeof(float));
    if (!t->cand || !t->tfeat)
      return HINT_ENOMEM;
  }
  t->vl_vals = hint_malloc(RA * sizeof(float));
  t->dvl = hint_malloc(RA * sizeof(float));
  t->row_w = hint_malloc(RA * sizeof(float));
  t->row_w2 = hint_malloc(RA * sizeof(float));
  t->m_adv_rows = hint_malloc(RA * sizeof(float));
  t->m_old_rows = hint_malloc(RA * sizeof(float));
  t->m_goal_rows = hint_malloc(RA * sizeof(int));
  t->m_sel = hint_malloc(RA * sizeof(int32_t));
  t->vl_tgt_rows = hint_malloc(RA * sizeof(float));
  t->vh_w = hint_malloc(R * sizeof(float));
  t->goal_rows = hint_malloc(RA * sizeof(int32_t));
  size_t cap = t->cap ? t->cap : 1;
  t->hrows = hint_malloc(cap * (size_t)t->A * sizeof(teacher_hrow_t));
  t->src = hint_malloc(cap);
  if (!t->x_m || !t->m_logits || !t->dm_logits || !t->vl_vals || !t->dvl || !t->row_w ||
      !t->row_w2 || !t->m_adv_rows || !t->m_old_rows || !t->m_goal_rows || !t->m_sel ||
      !t->vl_tgt_rows || !t->vh_w || !t->goal_rows || !t->hrows || !t->src)
    return HINT_ENOMEM;
  return HINT_OK;
}

void teacher_hier_fini(teacher_t *t) {
  nn_mlp_ws_fini(&t->mgr_ws);
  nn_mlp_ws_fini(&t->vl_ws);
  hint_free(t->x_m);
  hint_free(t->m_logits);
  hint_free(t->dm_logits);
  hint_free(t->vl_vals);
  hint_free(t->dvl);
  hint_free(t->row_w);
  hint_free(t->row_w2);
  hint_free(t->m_adv_rows);
  hint_free(t->m_old_rows);
  hint_free(t->m_goal_rows);
  hint_free(t->m_sel);
  hint_free(t->vl_tgt_rows);
  hint_free(t->vh_w);
  hint_free(t->goal_rows);
  hint_free(t->hrows);
  hint_free(t->src);
  hint_free(t->cand);
  hint_free(t->tfeat);
  t->cand = NULL;
  t->tfeat = NULL;
  t->x_m = t->m_logits = t->dm_logits = t->vl_vals = t->dvl = NULL;
  t->row_w = t->row_w2 = t->m_adv_rows = t->m_old_rows = t->vl_tgt_rows = t->vh_w = NULL;
  t->m_goal_rows = NULL;
  t->m_sel = NULL;
  t->goal_rows = NULL;
  t->hrows = NULL;
  t->src = NULL;
}

int teacher_goals_create(teacher_goals_t **out, const teacher_t *t, int n_envs) {
  if (!out || !t || n_envs <= 0)
    return HINT_EINVAL;
  *out = NULL;
  teacher_goals_t *g = hint_calloc(1, sizeof *g);
  if (!g)
    return HINT_ENOMEM;
  size_t n = (size_t)n_envs * t->A;
  g->n_envs = n_envs;
  g->A = t->A;
  g->goal = hint_malloc(n * sizeof(int32_t));
  g->steps = hint_calloc(n, sizeof(int32_t));
  g->logp = hint_calloc(n, sizeof(float));
  if (!g->goal || !g->steps || !g->logp) {
    teacher_goals_destroy(&g);
    return HINT_ENOMEM;
  }
  teacher_goals_reset_all(g);
  *out = g;
  return HINT_OK;
}

void teacher_goals_destroy(teacher_goals_t **gp) {
  if (!gp || !*gp)
    return;
  teacher_goals_t *g = *gp;
  hint_free(g->goal);
  hint_free(g->steps);
  hint_free(g->logp);
  hint_free(g);
  *gp = NULL;
}

void teacher_goals_reset(teacher_goals_t *g, int env) {
  if (!g || env < 0 || env >= g->n_envs)
    return;
  for (int i = 0; i < g->A; i++) {
    g->goal[(size_t)env * g->A + i] = -1;
    g->steps[(size_t)env * g->A + i] = 0;
    g->logp[(size_t)env * g->A + i] = 0.0f;
  }
}

void teacher_goals_reset_all(teacher_goals_t *g) {
  if (!g)
    return;
  for (int e = 0; e < g->n_envs; e++)
    teacher_goals_reset(g, e);
}

/* ---- forward passes ------------------------------------------------------- */

/* Manager logits [c * A][GM] for c states into t->m_logits; for targets,
 * the candidates' cells into t->cand [c * A][K] (-1: unused slot, its logit
 * masked). */
/* Manager logits into t->m_logits[j][GM] (and, for targets, the candidates
 * into t->cand[j][K]) for the rows j < nrows; row j is agent sel[j] % A of
 * state sel[j] / A, or, with sel NULL, agent j % A of state j / A. The update
 * passes only the rows whose goal was a decision (about 1 in K): the others
 * carry zero weight in every manager term. */
static void mgr_forward_rows(teacher_t *t, const float *states, const int32_t *sel, int nrows) {
  const int A = t->A;
  if (nrows == 0)
    return;
  if (!t->targets) {
    for (int j = 0; j < nrows; j++) {
      int r = sel ? sel[j] : j;
      teacher_agent_input(t, states + (size_t)(r / A) * t->S, r % A, t->x_m + (size_t)j * t->PM);
    }
    nn_mlp_forward(&t->mgr, &t->mgr_ws, t->x_m, nrows, t->m_logits);
    return;
  }
  const int K = t->KT;
  for (int j = 0; j < nrows; j++) {
    int r = sel ? sel[j] : j, i = r % A;
    const float *st = states + (size_t)(r / A) * t->S;
    float *x0 = t->x_m + (size_t)j * K * t->PM;
    env_feat_targets(&t->feat, st, i, t->cand + (size_t)j * K, t->tfeat);
    teacher_agent_input(t, st, i, x0);
    for (int q = 0; q < K; q++) {
      float *xq = x0 + (size_t)q * t->PM;
      if (q > 0)
        memcpy(xq, x0, (size_t)t->P_in * sizeof(float));
      memcpy(xq + t->P_in, t->tfeat + (size_t)q * t->TD, (size_t)t->TD * sizeof(float));
    }
  }
  /* One score per (row, candidate): the output [nrows * K][1] is the logits
   * [nrows][K] in place. */
  nn_mlp_forward(&t->mgr, &t->mgr_ws, t->x_m, nrows * K, t->m_logits);
  for (size_t r = 0; r < (size_t)nrows * K; r++)
    if (t->cand[r] < 0)
      t->m_logits[r] = TEACHER_MASKED_LOGIT;
}

static void mgr_forward(teacher_t *t, const float *states, int c) {
  mgr_forward_rows(t, states, NULL, c * t->A);
}

/* The goal of manager choice q in row `row` of the last mgr_forward, or -1
 * (targets: an unused slot). */
static int choice_goal(const teacher_t *t, size_t row, int q) {
  return t->targets ? t->cand[row * t->KT + q] : q;
}

/* The manager choice of goal g in row `row` of the last mgr_forward, or -1
 * when g is not among the row's candidates. */
static int goal_choice(const teacher_t *t, size_t row, int g) {
  if (!t->targets)
    return g;
  for (int q = 0; q < t->KT; q++)
    if (t->cand[row * t->KT + q] == g)
      return q;
  return -1;
}

/* Backward of the last mgr_forward with dL/dlogits [rows][GM]. */
static void mgr_backward(teacher_t *t, const float *dlogits, int rows) {
  nn_mlp_backward(&t->mgr, &t->mgr_ws, dlogits, rows * (t->targets ? t->KT : 1), NULL);
}

/* Worker logits (masked) into t->logits for rows (k, i) with goals
 * goals[k * A + i] of states[k] (or next_states when not NULL, for V_L only);
 * with want_vl, the normalised V_L of the same rows into t->vl_vals. */
static void wrk_forward(teacher_t *t, const float *states, int c, const int32_t *goals,
                        int want_pi, int want_vl) {
  for (int k = 0; k < c; k++)
    for (int i = 0; i < t->A; i++)
      worker_input(t, states + (size_t)k * t->S, i, goals[k * t->A + i],
                   t->x_pi + ((size_t)k * t->A + i) * t->P_L);
  if (want_pi) {
    nn_mlp_forward(&t->pi, &t->pi_ws, t->x_pi, c * t->A, t->logits);
    teacher_mask_logits(t, t->logits, c * t->A);
  }
  if (want_vl)
    nn_mlp_forward(&t->vl, &t->vl_ws, t->x_pi, c * t->A, t->vl_vals);
}

int teacher_hier_act(teacher_t *t, teacher_goals_t *gs, int first_env, const float *states,
                     int n, int greedy, hint_rng_t *rng, int32_t *actions, float *logp,
                     int32_t *goals, float *goal_logp) {
  if (!gs || gs->A != t->A || first_env < 0 || first_env + n > gs->n_envs)
    return HINT_EINVAL;
  const int A = t->A;
  for (int k0 = 0; k0 < n; k0 += t->max_rows) {
    int c = n - k0 < t->max_rows ? n - k0 : t->max_rows;
    const float *st = states + (size_t)k0 * t->S;
    mgr_forward(t, st, c);
    for (int k = 0; k < c; k++)
      for (int i = 0; i < A; i++) {
        int row = k * A + i;
        size_t slot = (size_t)(first_env + k0 + k) * A + i;
        int g = gs->goal[slot];
        if (g < 0 || gs->steps[slot] >= t->K ||
            goal_dist_state(t, st + (size_t)k * t->S, i, g) == 0) {
          const float *ml = t->m_logits + (size_t)row * t->GM;
          int q;
          float lp;
          if (greedy) {
            nn_argmax(ml, 1, t->GM, &q);
            nn_log_prob(ml, &q, 1, t->GM, &lp);
          } else {
            nn_sample(ml, 1, t->GM, rng, &q, &lp);
          }
          int ng = choice_goal(t, (size_t)row, q);
          if (ng < 0) { /* targets, no candidate: hold position */
            int r0, c0;
            env_state_pos(st + (size_t)k * t->S, i, &r0, &c0);
            ng = r0 * t->size + c0;
            lp = 0.0f;
          }
          gs->goal[slot] = ng;
          gs->logp[slot] = lp;
          gs->steps[slot] = 0;
        }
        t->goal_rows[row] = gs->goal[slot];
        if (goals)
          goals[(size_t)(k0 + k) * A + i] = gs->goal[slot];
        if (goal_logp)
          goal_logp[(size_t)(k0 + k) * A + i] = gs->logp[slot];
        gs->steps[slot]++;
      }
    wrk_forward(t, st, c, t->goal_rows, 1, 0);
    int rows = c * A;
    if (greedy) {
      nn_argmax(t->logits, rows, t->NA, t->act_rows);
      nn_log_prob(t->logits, t->act_rows, rows, t->NA, t->logp_rows);
    } else {
      nn_sample(t->logits, rows, t->NA, rng, t->act_rows, t->logp_rows);
    }
    for (int r = 0; r < rows; r++) {
      actions[(size_t)k0 * A + r] = t->act_rows[r];
      logp[(size_t)k0 * A + r] = t->logp_rows[r];
    }
  }
  return HINT_OK;
}

int teacher_hier_targets(teacher_t *t, const float *states, int n, float *pi, float *v) {
  for (int k0 = 0; k0 < n; k0 += t->max_rows) {
    int c = n - k0 < t->max_rows ? n - k0 : t->max_rows;
    const float *st = states + (size_t)k0 * t->S;
    if (pi) {
      /* Guidance where the students drive: the worker under the manager's
       * most likely goal. */
      mgr_forward(t, st, c);
      nn_argmax(t->m_logits, c * t->A, t->GM, t->goal_rows);
      for (int r = 0; r < c * t->A; r++) {
        int g = choice_goal(t, (size_t)r, t->goal_rows[r]);
        if (g < 0) { /* targets, no candidate: hold position */
          int r0, c0;
          env_state_pos(st + (size_t)(r / t->A) * t->S, r % t->A, &r0, &c0);
          g = r0 * t->size + c0;
        }
        t->goal_rows[r] = g;
      }
      wrk_forward(t, st, c, t->goal_rows, 1, 0);
      nn_softmax(t->logits, pi + (size_t)k0 * t->A * t->NA, c * t->A, t->NA);
    }
    if (v) {
      for (int k = 0; k < c; k++)
        teacher_state_input(t, st + (size_t)k * t->S, t->x_v + (size_t)k * t->S);
      nn_mlp_forward(&t->vf, &t->vf_ws, t->x_v, c, v + k0);
      teacher_vnorm_denorm(t->vnorm, v + k0, c);
    }
  }
  return HINT_OK;
}

/* ---- batch formation ------------------------------------------------------ */

static const float *seg_state(const teacher_t *t, const teacher_seg_t *s, int tt, int e) {
  return s->state + ((size_t)tt * s->E + e) * t->S;
}

/* min(bar, exp(logr)) without overflow; bar <= 0 gives 0. */
static double trunc_ratio(double logr, double bar) {
  if (bar <= 0.0)
    return 0.0;
  return logr >= log(bar) ? bar : exp(logr);
}

/* Goals, windows and decision flags of the run of samples [a, b) (one
 * segment, one env, consecutive steps, one source). */
static int form_run_goals(teacher_t *t, const teacher_seg_t *s, long a, long b) {
  const int A = t->A, e = t->samples[a].e;
  if (!t->src[a]) {
    /* Own data: logged goals; decisions re-derived with the acting rule. */
    for (int i = 0; i < A; i++) {
      long last = a;
      for (long k = a; k < b; k++) {
        int tt = t->samples[k].t;
        size_t te = (size_t)tt * s->E + e;
        int32_t g = s->goals[te * A + i];
        if (g < 0 || g >= (t->targets ? t->size * t->size : t->G))
          return HINT_ERANGE;
        teacher_hrow_t *h = &t->hrows[k * A + i];
        int newg = k == a;
        if (!newg) {
          size_t pe = te - (size_t)s->E;
          int32_t pg = s->goals[pe * A + i];
          int arrived = !s->dones[pe] && goal_dist_state(t, seg_state(t, s, tt, e), i, pg) == 0;
          t->goal_arrivals += arrived;
          newg = s->dones[pe] || g != pg || k - last >= t->K || arrived;
        }
        t->goal_windows += newg;
        if (newg)
          last = k;
        h->goal = g;
        h->mrow = (uint8_t)newg;
        h->w_old = s->logp[te * A + i];
        h->m_old = s->goal_logp[te * A + i];
      }
    }
  } else {
    /* Student data: K-step windows from the run's start, cut at dones; the
     * relabelled goal is the cell each agent holds at the window's end. */
    long w0 = a;
    while (w0 < b) {
      long w1 = w0; /* last sample of the window */
      while (w1 + 1 < b && w1 - w0 + 1 < t->K &&
             !s->dones[(size_t)t->samples[w1].t * s->E + e])
        w1++;
      int t1 = t->samples[w1].t;
      int ended = s->dones[(size_t)t1 * s->E + e];
      const float *s_end = seg_state(t, s, ended ? t1 : t1 + 1, e);
      for (int i = 0; i < A; i++) {
        int r, c;
        env_state_pos(s_end, i, &r, &c);
        int g = goal_at(t, r, c);
        for (long k = w0; k <= w1; k++) {
          teacher_hrow_t *h = &t->hrows[k * A + i];
          size_t te = (size_t)t->samples[k].t * s->E + e;
          h->goal = g;
          h->mrow = (uint8_t)(k == w0);
          h->w_old = s->logp[te * A + i];
          h->m_old = 0.0f; /* set from pi_H at formation below */
        }
      }
      w0 = w1 + 1;
    }
  }
  /* A row ends its window where the next row starts one, at a done, and at
   * the run's end. */
  for (int i = 0; i < A; i++)
    for (long k = a; k < b; k++) {
      size_t te = (size_t)t->samples[k].t * s->E + e;
      t->hrows[k * A + i].wend =
          (uint8_t)(k + 1 == b || s->dones[te] || t->hrows[(k + 1) * A + i].mrow);
    }
  return HINT_OK;
}

/* Network outputs the targets need, for every sample in chunks: worker
 * log-prob of the taken action and V_L at (s_t, g) and (s_t+1, g); for
 * student window starts, pi_H's log-prob of the relabelled goal. */
static void form_forward(teacher_t *t, const teacher_seg_t *segs, long cnt) {
  const int A = t->A;
  for (long k0 = 0; k0 < cnt; k0 += t->max_rows) {
    int c = cnt - k0 < t->max_rows ? (int)(cnt - k0) : t->max_rows;
    for (int pass = 0; pass < 2; pass++) {
      for (int k = 0; k < c; k++) {
        const teacher_sample_t *sm = &t->samples[k0 + k];
        memcpy(t->states + (size_t)k * t->S, seg_state(t, &segs[sm->seg], sm->t + pass, sm->e),
               (size_t)t->S * sizeof(float));
        for (int i = 0; i < A; i++) {
          t->goal_rows[k * A + i] = t->hrows[(k0 + k) * A + i].goal;
          const teacher_seg_t *s = &segs[sm->seg];
          t->act_rows[k * A + i] = s->actions[((size_t)sm->t * s->E + sm->e) * A + i];
        }
      }
      wrk_forward(t, t->states, c, t->goal_rows, pass == 0, 1);
      teacher_vnorm_denorm(t->vnorm_l, t->vl_vals, c * A);
      if (pass == 0) {
        nn_log_prob(t->logits, t->act_rows, c * A, t->NA, t->logp_rows);
        for (int r = 0; r < c * A; r++) {
          t->hrows[k0 * A + r].lp_new = t->logp_rows[r];
          t->hrows[k0 * A + r].vl_cur = t->vl_vals[r];
        }
        /* The manager only at decision rows (mrow). */
        int nsel = 0;
        for (int r = 0; r < c * A; r++) {
          teacher_hrow_t *h = &t->hrows[k0 * A + r];
          h->mchoice = -1;
          if (h->mrow)
            t->m_sel[nsel++] = r;
        }
        mgr_forward_rows(t, t->states, t->m_sel, nsel);
        nn_log_softmax(t->m_logits, t->m_logits, nsel, t->GM);
        for (int j = 0; j < nsel; j++) {
          const int r = t->m_sel[j];
          teacher_hrow_t *h = &t->hrows[k0 * A + r];
          h->mchoice = goal_choice(t, (size_t)j, h->goal);
          if (t->src[k0 + r / A] && h->mchoice >= 0)
            h->m_old = t->m_logits[(size_t)j * t->GM + h->mchoice];
        }
      } else {
        for (int r = 0; r < c * A; r++)
          t->hrows[k0 * A + r].vl_next = t->vl_vals[r];
      }
    }
  }
}

/* Worker, V_H and manager targets of the run [a, b). */
static void form_run_targets(teacher_t *t, const teacher_seg_t *s, const float *v,
                             long a, long b) {
  const int A = t->A, E = s->E, e = t->samples[a].e, student = t->src[a];
  const double g = t->gamma, gl = (double)t->gamma * t->lam;
  /* Worker: GAE (own) or V-trace (student) within goal windows. */
  for (int i = 0; i < A; i++) {
    double next = 0.0;
    for (long k = b - 1; k >= a; k--) {
      teacher_hrow_t *h = &t->hrows[k * A + i];
      int tt = t->samples[k].t;
      size_t te = (size_t)tt * E + e;
      int d = s->dones[te];
      double rl = teacher_reward(t, s, tt, e) + intrinsic(t, seg_state(t, s, tt, e),
                                             seg_state(t, s, tt + 1, e), d, i, h->goal);
      double delta = rl + g * !d * h->vl_next - h->vl_cur;
      int cont = !h->wend;
      if (!student) {
        double adv = delta + gl * cont * next;
        h->w_adv = (float)adv;
        h->w_tgt = (float)(adv + h->vl_cur);
        next = adv;
      } else {
        double logr = (double)h->lp_new - h->w_old;
        double rho = trunc_ratio(logr, t->rho_bar), cc = trunc_ratio(logr, t->c_bar);
        double gap = rho * delta + g * cc * cont * next;
        double v_next = h->vl_next + (cont ? next : 0.0);
        h->w_adv = (float)(rl + g * !d * v_next - h->vl_cur);
        h->w_tgt = (float)(h->vl_cur + gap);
        next = gap;
      }
    }
  }
  /* V_H: GAE (own) or V-trace with the joint ratio (student), every step. */
  double next = 0.0;
  for (long k = b - 1; k >= a; k--) {
    teacher_sample_t *sm = &t->samples[k];
    size_t te = (size_t)sm->t * E + e;
    int d = s->dones[te];
    int cont = !d && k + 1 < b;
    double v0 = v[te], v1 = v[te + E];
    double delta = teacher_reward(t, s, sm->t, e) + g * !d * v1 - v0;
    if (!student) {
      double adv = delta + gl * cont * next;
      sm->adv = (float)adv;
      sm->ret = (float)(adv + v0);
      next = adv;
    } else {
      double logr = 0.0;
      for (int i = 0; i < A; i++)
        logr += (double)t->hrows[k * A + i].lp_new - t->hrows[k * A + i].w_old;
      double rho = trunc_ratio(logr, t->rho_bar), cc = trunc_ratio(logr, t->c_bar);
      double gap = rho * delta + g * cc * cont * next;
      sm->adv = (float)gap;
      sm->ret = (float)(v0 + gap);
      next = gap;
    }
    sm->v = (float)v0;
  }
  /* Manager: semi-MDP windows, GAE(lambda) across consecutive windows. */
  for (int i = 0; i < A; i++) {
    double next_adv = 0.0;
    int have_next = 0;
    long we = b - 1; /* last row of the current window, walking backward */
    for (long k = b - 1; k >= a; k--) {
      teacher_hrow_t *h = &t->hrows[k * A + i];
      if (h->wend)
        we = k;
      if (!h->mrow)
        continue;
      /* Window [k, we]. */
      double R = 0.0, disc = 1.0;
      for (long q = k; q <= we; q++) {
        R += disc * teacher_reward(t, s, t->samples[q].t, e);
        disc *= g;
      }
      size_t te0 = (size_t)t->samples[k].t * E + e, te1 = (size_t)t->samples[we].t * E + e;
      int d = s->dones[te1];
      double delta = R + disc * !d * v[te1 + E] - v[te0];
      double adv = delta + (disc * t->lam) * (!d && have_next) * next_adv;
      h->m_adv = (float)adv;
      next_adv = adv;
      have_next = 1;
    }
  }
}

int teacher_hier_form(teacher_t *t, const teacher_seg_t *segs, int n, long *count) {
  *count = 0;
  int rc = teacher_seg_prepare(t, segs, n);
  if (rc)
    return rc;
  const int A = t->A;
  const int use_student = t->beta > 0.0f;
  t->goal_windows = t->goal_arrivals = 0;
  /* Samples in (segment, env, time) order, so a run is a contiguous range. */
  long cnt = 0;
  for (int j = 0; j < n; j++) {
    const teacher_seg_t *s = &segs[j];
    for (int e = 0; e < s->E; e++) {
      /* teacher.student_data_frac < 1: a random subset of the env copies'
       * student-driven steps (drawn per segment and env, from the teacher's
       * RNG, so sync runs stay reproducible). */
      const int take_student = use_student && (t->student_frac >= 1.0f ||
                                                hint_rng_uniform(&t->rng, 0.0, 1.0) < t->student_frac);
      for (int tt = 0; tt < s->T; tt++) {
        size_t te = (size_t)tt * s->E + e;
        int own = s->driver[te] != 0;
        if (!own && !take_student)
          continue;
        if (own && (!s->goals || !s->goal_logp))
          return HINT_EINVAL; /* the hierarchical teacher logs its goals */
        for (int i = 0; i < A; i++) {
          int32_t act = s->actions[te * A + i];
          if (act < 0 || act >= t->agent_nact[i])
            return HINT_ERANGE;
        }
        teacher_sample_t *sm = &t->samples[cnt];
        sm->seg = j;
        sm->t = tt;
        sm->e = e;
        t->src[cnt] = (uint8_t)!own;
        cnt++;
      }
    }
  }
  if (cnt == 0)
    return HINT_OK;
  /* Runs: consecutive steps of one (segment, env) with one source. */
  for (long a = 0; a < cnt;) {
    long b = a + 1;
    while (b < cnt && t->samples[b].seg == t->samples[a].seg &&
           t->samples[b].e == t->samples[a].e && t->samples[b].t == t->samples[b - 1].t + 1 &&
           t->src[b] == t->src[a])
      b++;
    if ((rc = form_run_goals(t, &segs[t->samples[a].seg], a, b)))
      return rc;
    a = b;
  }
  teacher_values_all(t, segs, n);
  form_forward(t, segs, cnt);
  for (long a = 0; a < cnt;) {
    long b = a + 1;
    while (b < cnt && t->samples[b].seg == t->samples[a].seg &&
           t->samples[b].e == t->samples[a].e && t->samples[b].t == t->samples[b - 1].t + 1 &&
           t->src[b] == t->src[a])
      b++;
    const int j = t->samples[a].seg;
    form_run_targets(t, &segs[j], t->v_all + t->seg_off[j], a, b);
    a = b;
  }
  /* Return normalisers: V_H from its targets, V_L from the worker's. */
  double hm = 0, hs = 0, lm = 0, ls = 0;
  for (long k = 0; k < cnt; k++) {
    double r = t->samples[k].ret;
    hm += r, hs += r * r;
    for (int i = 0; i < A; i++) {
      double q = t->hrows[k * A + i].w_tgt;
      lm += q, ls += q * q;
    }
  }
  teacher_vnorm_update(t->vnorm, hm / cnt, hs / cnt);
  teacher_vnorm_update(t->vnorm_l, lm / ((double)cnt * A), ls / ((double)cnt * A));
  *count = cnt;
  return HINT_OK;
}

/* ---- losses with per-row weights ------------------------------------------
 * Each returns sum_b w_b loss_b and ADDS coef * d/dlogits (or d/dv) of it.
 * Rows with weight 0 are skipped (no loss, no gradient). */

static double w_ppo(const float *z, const int *act, const float *old, const float *adv,
                    const float *w, int B, int NA, double clip, float *dz, double *clipw,
                    double *klw) {
  double L = 0.0;
  for (int b = 0; b < B; b++) {
    if (w[b] == 0.0f)
      continue;
    const float *zr = z + (size_t)b * NA;
    double mx = zr[0];
    for (int j = 1; j < NA; j++)
      mx = zr[j] > mx ? zr[j] : mx;
    double se = 0.0;
    for (int j = 0; j < NA; j++)
      se += exp(zr[j] - mx);
    double lse = mx + log(se);
    double logr = (zr[act[b]] - lse) - old[b];
    double r = exp(logr), a = adv[b];
    double rc = r < 1.0 - clip ? 1.0 - clip : (r > 1.0 + clip ? 1.0 + clip : r);
    double s1 = r * a, s2 = rc * a, obj = s1 < s2 ? s1 : s2;
    int grad = s1 <= s2; /* the unclipped branch carries the gradient */
    if (a < 0.0 && obj < TEACHER_DUAL_CLIP * a) {
      obj = TEACHER_DUAL_CLIP * a; /* dual clip: flat, no gradient */
      grad = 0;
    }
    L -= w[b] * obj;
    *clipw += w[b] * (fabs(r - 1.0) > clip);
    *klw += w[b] * ((r - 1.0) - logr);
    if (grad) {
      double gg = -(double)w[b] * s1; /* d(-w r a) / d log p */
      float *d = dz + (size_t)b * NA;
      for (int j = 0; j < NA; j++)
        d[j] -= (float)(gg * exp(zr[j] - lse));
      d[act[b]] += (float)gg;
    }
  }
  return L;
}

static double w_entropy(const float *z, const float *w, int B, int NA, double coef,
                        float *dz) {
  double L = 0.0;
  for (int b = 0; b < B; b++) {
    if (w[b] == 0.0f)
      continue;
    const float *zr = z + (size_t)b * NA;
    double mx = zr[0];
    for (int j = 1; j < NA; j++)
      mx = zr[j] > mx ? zr[j] : mx;
    double se = 0.0;
    for (int j = 0; j < NA; j++)
      se += exp(zr[j] - mx);
    double lse = mx + log(se), h = 0.0;
    for (int j = 0; j < NA; j++) {
      double p = exp(zr[j] - lse);
      if (p > 0.0)
        h -= p * (zr[j] - lse);
    }
    L += w[b] * h;
    float *d = dz + (size_t)b * NA;
    for (int j = 0; j < NA; j++) {
      double p = exp(zr[j] - lse);
      if (p > 0.0) /* dH/dz_j = -p_j (log p_j + H) */
        d[j] += (float)(coef * w[b] * (-p * ((zr[j] - lse) + h)));
    }
  }
  return L;
}

static double w_value(const float *v, const float *tgt, const float *w, int B, double coef,
                      float *dv) {
  double L = 0.0;
  for (int b = 0; b < B; b++) {
    if (w[b] == 0.0f)
      continue;
    double e = (double)v[b] - tgt[b];
    L += w[b] * 0.5 * e * e;
    dv[b] += (float)(coef * w[b] * e);
  }
  return L;
}

/* ---- minibatch loss and update -------------------------------------------- */

typedef struct {
  double n, sum, sq;
} moments_t;

static void mom_add(moments_t *m, double x) {
  m->n += 1.0;
  m->sum += x;
  m->sq += x * x;
}
/* (mean, 1 / (std + 1e-8)) of what was added. */
static void mom_norm(const moments_t *m, double *mean, double *inv) {
  if (m->n <= 0.0) {
    *mean = 0.0, *inv = 1.0;
    return;
  }
  double mu = m->sum / m->n, var = m->sq / m->n - mu * mu;
  *mean = mu;
  *inv = 1.0 / (sqrt(var > 0.0 ? var : 0.0) + 1e-8);
}

double teacher_hier_mb_loss(teacher_t *t, const teacher_seg_t *segs, const uint32_t *idx,
                            int m, teacher_stats_t *acc) {
  const int A = t->A, NA = t->NA, GM = t->GM;
  /* Counts and advantage moments per source (0 own, 1 student). */
  moments_t wadv[2] = {{0, 0, 0}, {0, 0, 0}}, madv[2] = {{0, 0, 0}, {0, 0, 0}};
  double nsteps[2] = {0, 0};
  for (int k = 0; k < m; k++) {
    int src = t->src[idx[k]];
    nsteps[src] += 1.0;
    for (int i = 0; i < A; i++) {
      const teacher_hrow_t *h = &t->hrows[(size_t)idx[k] * A + i];
      mom_add(&wadv[src], h->w_adv);
      if (h->mchoice >= 0)
        mom_add(&madv[src], h->m_adv);
    }
  }
  double wmu[2], winv[2], mmu[2], minv[2], sw[2], sm[2], sv[2];
  for (int q = 0; q < 2; q++) {
    double scale = q ? t->beta : 1.0;
    mom_norm(&wadv[q], &wmu[q], &winv[q]);
    mom_norm(&madv[q], &mmu[q], &minv[q]);
    sw[q] = wadv[q].n > 0 ? scale / wadv[q].n : 0.0;
    sm[q] = madv[q].n > 0 ? scale / madv[q].n : 0.0;
    sv[q] = nsteps[q] > 0 ? scale / nsteps[q] : 0.0;
  }
  double hmu, hsd, lmu, lsd;
  teacher_vnorm_get(t->vnorm, &hmu, &hsd);
  teacher_vnorm_get(t->vnorm_l, &lmu, &lsd);

  nn_params_zero_grad(&t->params);
  double total = 0.0;
  for (int k0 = 0; k0 < m; k0 += t->max_rows) {
    int c = m - k0 < t->max_rows ? m - k0 : t->max_rows;
    int rows = c * A, mrows = 0;
    for (int k = 0; k < c; k++) {
      uint32_t si = idx[k0 + k];
      const teacher_sample_t *smp = &t->samples[si];
      const teacher_seg_t *s = &segs[smp->seg];
      int src = t->src[si];
      size_t te = (size_t)smp->t * s->E + smp->e;
      memcpy(t->states + (size_t)k * t->S, s->state + te * t->S, (size_t)t->S * sizeof(float));
      t->ret_rows[k] = (float)((smp->ret - hmu) / hsd);
      t->vh_w[k] = (float)sv[src];
      for (int i = 0; i < A; i++) {
        const teacher_hrow_t *h = &t->hrows[(size_t)si * A + i];
        int r = k * A + i;
        t->goal_rows[r] = h->goal;
        t->act_rows[r] = s->actions[te * A + i];
        t->logp_rows[r] = h->w_old;
        t->adv_rows[r] = (float)((h->w_adv - wmu[src]) * winv[src]);
        t->row_w[r] = (float)sw[src];
        t->vl_tgt_rows[r] = (float)((h->w_tgt - lmu) / lsd);
        if (h->mchoice >= 0) { /* a decision whose goal was a choice */
          t->m_sel[mrows] = r;
          t->m_goal_rows[mrows] = h->mchoice;
          t->m_old_rows[mrows] = h->m_old;
          t->m_adv_rows[mrows] = (float)((h->m_adv - mmu[src]) * minv[src]);
          t->row_w2[mrows] = (float)sm[src];
          mrows++;
        }
      }
    }
    wrk_forward(t, t->states, c, t->goal_rows, 1, 1);
    mgr_forward_rows(t, t->states, t->m_sel, mrows);
    for (int k = 0; k < c; k++)
      teacher_state_input(t, t->states + (size_t)k * t->S, t->x_v + (size_t)k * t->S);
    nn_mlp_forward(&t->vf, &t->vf_ws, t->x_v, c, t->vals);

    double wclip = 0, wkl = 0, mclip = 0, mkl = 0;
    memset(t->dlogits, 0, (size_t)rows * NA * sizeof(float));
    double pl = w_ppo(t->logits, t->act_rows, t->logp_rows, t->adv_rows, t->row_w, rows, NA,
                      t->clip, t->dlogits, &wclip, &wkl);
    double hw = w_entropy(t->logits, t->row_w, rows, NA, -t->ent_coef, t->dlogits);
    teacher_mask_grad(t, t->dlogits, rows);
    nn_mlp_backward(&t->pi, &t->pi_ws, t->dlogits, rows, NULL);

    memset(t->dm_logits, 0, (size_t)mrows * GM * sizeof(float));
    double pm = w_ppo(t->m_logits, t->m_goal_rows, t->m_old_rows, t->m_adv_rows, t->row_w2,
                      mrows, GM, t->clip, t->dm_logits, &mclip, &mkl);
    double hm = w_entropy(t->m_logits, t->row_w2, mrows, GM, -t->ent_coef, t->dm_logits);
    if (mrows > 0)
      mgr_backward(t, t->dm_logits, mrows);

    memset(t->dvl, 0, (size_t)rows * sizeof(float));
    double vlo = w_value(t->vl_vals, t->vl_tgt_rows, t->row_w, rows, t->vf_coef, t->dvl);
    nn_mlp_backward(&t->vl, &t->vl_ws, t->dvl, rows, NULL);

    memset(t->dvals, 0, (size_t)c * sizeof(float));
    double vho = w_value(t->vals, t->ret_rows, t->vh_w, c, t->vf_coef, t->dvals);
    nn_mlp_backward(&t->vf, &t->vf_ws, t->dvals, c, NULL);

    total += pl + pm + t->vf_coef * (vlo + vho) - t->ent_coef * (hw + hm);
    if (acc) {
      acc->policy_loss += (float)pl;
      acc->entropy += (float)hw;
      acc->clip_frac += (float)wclip;
      acc->approx_kl += (float)wkl;
      acc->value_loss += (float)vho;
      acc->worker_value_loss += (float)vlo;
      acc->manager_loss += (float)pm;
      acc->manager_entropy += (float)hm;
      acc->manager_clip_frac += (float)mclip;
    }
  }
  return total;
}

/* One minibatch of an update: the loss of samples idx[0..m), then the Adam
 * step; this minibatch's figures are added to *acc and its gradient norm to
 * *gn_sum. */
int teacher_hier_mb_step(teacher_t *t, const teacher_seg_t *segs, const uint32_t *idx, int m,
                         teacher_stats_t *acc, double *gn_sum) {
  teacher_stats_t one;
  memset(&one, 0, sizeof one);
  (void)teacher_hier_mb_loss(t, segs, idx, m, &one);
  double gn = 0.0;
  int rc = nn_adam_step(&t->params, &t->adam, &gn);
  if (rc != HINT_OK)
    return rc;
  *gn_sum += gn;
  acc->policy_loss += one.policy_loss;
  acc->entropy += one.entropy;
  acc->clip_frac += one.clip_frac;
  acc->approx_kl += one.approx_kl;
  acc->value_loss += one.value_loss;
  acc->worker_value_loss += one.worker_value_loss;
  acc->manager_loss += one.manager_loss;
  acc->manager_entropy += one.manager_entropy;
  acc->manager_clip_frac += one.manager_clip_frac;
  return HINT_OK;
}

/* The figures of a finished update over the cnt formed samples, from the
 * minibatch sums in acc over `steps` Adam steps. */
void teacher_hier_stats(const teacher_t *t, long cnt, const teacher_stats_t *sum, int steps,
                        double gn_sum, teacher_stats_t *stats) {
  const teacher_stats_t acc = *sum;
  {
    double ns = steps > 0 ? steps : 1;
    stats->policy_loss = (float)(acc.policy_loss / ns);
    stats->entropy = (float)(acc.entropy / ns);
    stats->clip_frac = (float)(acc.clip_frac / ns);
    stats->approx_kl = (float)(acc.approx_kl / ns);
    stats->value_loss = (float)(acc.value_loss / ns);
    stats->worker_value_loss = (float)(acc.worker_value_loss / ns);
    stats->manager_loss = (float)(acc.manager_loss / ns);
    stats->manager_entropy = (float)(acc.manager_entropy / ns);
    stats->manager_clip_frac = (float)(acc.manager_clip_frac / ns);
    stats->grad_norm = (float)(gn_sum / ns);
    double am = 0, as = 0, rm = 0, rs = 0, em = 0, es = 0, own = 0;
    int64_t mrows = 0, stu = 0;
    for (long k = 0; k < cnt; k++) {
      const teacher_sample_t *sm = &t->samples[k];
      stu += t->src[k];
      for (int i = 0; i < t->A; i++)
        mrows += t->hrows[k * t->A + i].mchoice >= 0;
      if (t->src[k])
        continue;
      own += 1;
      am += sm->adv, rm += sm->ret, em += sm->ret - sm->v;
      as += (double)sm->adv * sm->adv, rs += (double)sm->ret * sm->ret;
      es += (double)(sm->ret - sm->v) * (sm->ret - sm->v);
    }
    if (own > 0) {
      am /= own, rm /= own, em /= own;
      double va = as / own - am * am, vr = rs / own - rm * rm, ve = es / own - em * em;
      stats->adv_mean = (float)am;
      stats->adv_std = (float)sqrt(va > 0 ? va : 0);
      stats->ret_mean = (float)rm;
      stats->explained_var = vr > 0 ? (float)(1.0 - ve / vr) : 0.0f;
    }
    stats->steps = cnt - stu;
    stats->agent_steps = (cnt - stu) * (int64_t)t->A;
    stats->student_steps = stu;
    stats->manager_rows = mrows;
    stats->goal_windows = t->goal_windows;
    stats->goal_arrivals = t->goal_arrivals;
    /* Which choices the manager makes, on its own data. */
    double hist[256] = {0}, tot = 0.0;
    const int GM = t->GM < 256 ? t->GM : 256;
    for (long k = 0; k < cnt; k++) {
      if (t->src[k])
        continue;
      for (int i = 0; i < t->A; i++) {
        int q = t->hrows[k * t->A + i].mchoice;
        if (q >= 0 && q < GM)
          hist[q] += 1.0, tot += 1.0;
      }
    }
    double he = 0.0;
    for (int q = 0; q < GM && tot > 0; q++)
      if (hist[q] > 0)
        he -= hist[q] / tot * log(hist[q] / tot);
    stats->goal_choice_entropy = GM > 1 && tot > 0 ? (float)(he / log((double)GM)) : 0.0f;
    stats->adam_steps = steps;
  }
}
