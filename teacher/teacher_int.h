/* teacher_int.h: the teacher's internals, shared by the files of teacher/
 * only (never included outside the module).
 *
 * Ownership: everything here is allocated by teacher_create and freed by
 * teacher_destroy. Work buffers hold max_rows states (x_v, states, vals,
 * dvals, ret_rows) or max_rows * A policy rows (x_pi, logits, dlogits,
 * act_rows, logp_rows, adv_rows); update buffers hold `cap` states.
 */
#ifndef HINT_TEACHER_TEACHER_INT_H
#define HINT_TEACHER_TEACHER_INT_H

#include "teacher/teacher.h"

#include "common/nn/nn.h"

/* Logit given to actions an agent's class does not have: exp() of it minus
 * any real logit is exactly 0 in float, so those actions get probability 0,
 * are never sampled and carry no gradient. */
#define TEACHER_MASKED_LOGIT (-1e9f)

/* Value normalisation (teacher.c): [ema mean, ema mean of squares, debiasing
 * term, unused] at the end of the arena. */
#define TEACHER_VNORM_N 4
#define TEACHER_VNORM_BETA 0.99999
#define TEACHER_VNORM_MIN_VAR 1e-2

/* One teacher-driven step in an update's batch. */
typedef struct {
  int32_t seg, t, e;
  float adv;  /* raw GAE advantage */
  float ret;  /* return target adv + V_T(s_t) */
  float v;    /* V_T(s_t) when the batch was formed */
} teacher_sample_t;

/* Hierarchical batch, per (sample, agent) row (index sample * A + agent). */
typedef struct {
  int32_t goal;     /* worker's goal: logged (own) or relabelled (student) */
  int32_t mchoice;  /* manager's choice index of goal at a window start:
                       the goal (cells) or its candidate slot (targets);
                       -1 when the goal is not a candidate there */
  uint8_t wend;     /* last row of its goal window (the worker trace cuts) */
  uint8_t mrow;     /* first row of a window: a manager decision */
  float lp_new;     /* log pi_L(a | s, i, goal) when the batch was formed */
  float vl_cur;     /* V_L(s_t, i, goal) */
  float vl_next;    /* V_L(s_t+1, i, goal) */
  float w_old;      /* behaviour log-prob of the action (teacher's or student's) */
  float w_adv;      /* worker advantage (GAE own, V-trace student) */
  float w_tgt;      /* V_L target */
  float m_old;      /* manager behaviour log-prob of goal (own: logged;
                       student: pi_H at formation) */
  float m_adv;      /* manager advantage (semi-MDP GAE over windows) */
} teacher_hrow_t;

struct teacher {
  /* sizes */
  int S, F, A, NA;
  int P_in;                         /* S + F + A */
  int agent_nact[ENV_MAX_AGENTS];   /* actions of each agent's class */
  int any_masked;
  float pos_scale;                  /* 1 / (size - 1): agent rows and cols to [0, 1] */
  int max_rows;
  int hierarchical;
  env_feat_t feat;

  /* hyperparameters (read-only after create) */
  float clip, ent_coef, vf_coef, gamma, lam;
  float false_drop;                 /* teacher.false_drop_penalty */
  int epochs, minibatches;
  nn_adam_t adam;

  /* networks: one arena */
  nn_params_t params;
  nn_mlp_t pi;                      /* (P_in) -> (NA) logits */
  nn_mlp_t vf;                      /* (S) -> (1) normalised V_T */
  nn_mlp_ws_t pi_ws, vf_ws;
  float *vnorm;                     /* (TEACHER_VNORM_N) in the arena, never trained */

  /* chunk work buffers */
  float *x_pi;      /* (max_rows * A, P_in) */
  float *x_v;       /* (max_rows, S) */
  float *states;    /* (max_rows, S) gathered states of a minibatch chunk */
  float *logits;    /* (max_rows * A, NA) */
  float *dlogits;   /* (max_rows * A, NA) */
  float *vals;      /* (max_rows) */
  float *dvals;     /* (max_rows) */
  float *ret_rows;  /* (max_rows) */
  int *act_rows;    /* (max_rows * A) */
  float *logp_rows; /* (max_rows * A) */
  float *adv_rows;  /* (max_rows * A) */

  /* update buffers */
  size_t cap;                  /* states per update */
  int max_segs;
  float *v_all;                /* (cap) V_T per state, segment-major */
  teacher_sample_t *samples;   /* (cap) */
  uint32_t *perm;              /* (cap) minibatch shuffle */
  size_t *seg_off;             /* (max_segs + 1) segment offsets into v_all */

  hint_rng_t rng;              /* minibatch shuffles only */

  /* ---- hierarchical teacher (hier.c); unused when flat ---- */
  int size;                    /* map edge */
  int gcell;                   /* coarse goal-cell edge */
  int gside;                   /* goal cells per map row: ceil(size / gcell) */
  int G;                       /* coarse goal cells (the worker's one-hot) */
  int targets;                 /* teacher.goal_set is targets */
  int GM;                      /* manager choices per row: G, or K candidates */
  int KT, TD;                  /* targets: candidates K and their feature size */
  int PM;                      /* manager input: P_in (+ TD for targets) */
  int K;                       /* manager period */
  int P_L;                     /* worker input: P_in + G + 3 */
  float intrinsic, arrival_bonus, beta, rho_bar, c_bar;
  float student_frac;          /* teacher.student_data_frac */
  nn_mlp_t mgr;                /* cells: (P_in) -> (G) logits; targets: (P_in + TD)
                                  -> (1) score per candidate; pi is the worker */
  nn_mlp_t vl;                 /* (P_L) -> (1) normalised V_L; vf is V_H */
  nn_mlp_ws_t mgr_ws, vl_ws;
  float *vnorm_l;              /* V_L's return normaliser, in the arena */
  float *x_m;                  /* (max_rows * A * (targets ? K : 1), PM) */
  float *m_logits, *dm_logits; /* (max_rows * A, GM) */
  int32_t *cand;               /* (max_rows * A, K) targets: candidate cells, -1 unused */
  float *tfeat;                /* (K, TD) scratch */
  float *vl_vals, *dvl;        /* (max_rows * A) */
  float *row_w, *row_w2;       /* (max_rows * A) per-row loss weights */
  float *m_adv_rows, *m_old_rows; /* (max_rows * A) */
  int *m_goal_rows;            /* (max_rows * A) */
  int32_t *m_sel;              /* (max_rows * A) rows k * A + i trained by the manager */
  int64_t goal_windows, goal_arrivals; /* own-data goal usage of the last batch */
  int *m_row_of;               /* (max_rows * A) policy row of each manager row */
  float *vl_tgt_rows;          /* (max_rows * A) */
  float *vh_w;                 /* (max_rows) V_H row weights */
  int32_t *goal_rows;          /* (max_rows * A) goals of the worker rows */
  teacher_hrow_t *hrows;       /* (cap * A) */
  uint8_t *src;                /* (cap) 0 own data, 1 student data */
  /* ---- the update in progress (teacher_update_begin .. its last step) ---- */
  int upd_active;
  int upd_n, upd_ep, upd_b, upd_M, upd_steps;
  long upd_cnt;
  teacher_seg_t *upd_segs;     /* (max_segs) the views the update reads */
  teacher_stats_t upd_sum;     /* minibatch sums (hierarchical) */
  double upd_pl, upd_vl, upd_ent, upd_clip, upd_kl, upd_gn; /* (flat; gn both) */
  double upd_am, upd_as, upd_rm, upd_rs, upd_em, upd_es;    /* flat batch moments */
};

/* Flat/hierarchical dispatch (hier.c). */
/* Sizes and coefficients from cfg (goal grid, worker input); validates the
 * teacher.* keys of the hierarchy. Before the arena exists. */
int teacher_hier_init(teacher_t *t, const hint_config_t *cfg, char *err, size_t err_cap);
/* Work and batch buffers, after the arena and the base buffers. */
int teacher_hier_alloc(teacher_t *t);
/* Frees what teacher_hier_alloc made; safe on a flat or half-built teacher. */
void teacher_hier_fini(teacher_t *t);
int teacher_hier_act(teacher_t *t, teacher_goals_t *gs, int first_env, const float *states,
                     int n, int greedy, hint_rng_t *rng, int32_t *actions, float *logp,
                     int32_t *goals, float *goal_logp);
int teacher_hier_targets(teacher_t *t, const float *states, int n, float *pi, float *v);
/* One minibatch step of an update in progress (loss, gradient, Adam), its
 * figures summed into *acc and *gn_sum; and the figures of a finished one. */
int teacher_hier_mb_step(teacher_t *t, const teacher_seg_t *segs, const uint32_t *idx, int m,
                         teacher_stats_t *acc, double *gn_sum);
void teacher_hier_stats(const teacher_t *t, long cnt, const teacher_stats_t *sum, int steps,
                        double gn_sum, teacher_stats_t *stats);

/* Hierarchical internals exposed for white-box tests (tests/unit only):
 * forms the batch of segs into t->samples / t->src / t->hrows (count in
 * *count) exactly as teacher_update does, updating the return normalisers. */
int teacher_hier_form(teacher_t *t, const teacher_seg_t *segs, int n, long *count);
/* The loss of the samples idx[0..m) as one minibatch: zeroes the gradients,
 * then leaves dL/dparams in the arena (no Adam step). Returns the loss; the
 * last chunk's rows stay in the work buffers. */
double teacher_hier_mb_loss(teacher_t *t, const teacher_seg_t *segs, const uint32_t *idx,
                            int m, teacher_stats_t *acc);

/* V_T (V_H: the critic vf, denormalised) at every state of segs into
 * t->v_all at t->seg_off[j] (set by the caller), segment-major. */
void teacher_values_all(teacher_t *t, const teacher_seg_t *segs, int n);

/* Checks the views of segs[0..n) and the capacity, and sets t->seg_off.
 * 0, HINT_EINVAL or HINT_ERANGE. */
int teacher_seg_prepare(teacher_t *t, const teacher_seg_t *segs, int n);

/* Return normaliser helpers over a 4-float slice (teacher.c). */
void teacher_vnorm_get(const float *vn, double *mean, double *std);
void teacher_vnorm_update(float *vn, double batch_mean, double batch_sq);
/* Normalised critic outputs v[0..n) to values, in place. */
void teacher_vnorm_denorm(const float *vn, float *v, int n);
/* Zeroes the gradient of masked logits (see teacher_mask_logits). */
void teacher_mask_grad(const teacher_t *t, float *dlogits, int rows);

/* The team reward of step (tt, e) of s as the teacher trains on it: the
 * segment's reward minus teacher.false_drop_penalty per false water drop. */
double teacher_reward(const teacher_t *t, const teacher_seg_t *s, int tt, int e);

/* The critic's input: s with the agents' [row, col] block scaled to [0, 1]. */
void teacher_state_input(const teacher_t *t, const float *state, float *x);
/* The policy's input for agent i: [scaled s, env_feat_agent(s, i), one-hot(i)]. */
void teacher_agent_input(const teacher_t *t, const float *state, int agent, float *x);
/* Sets the logits of actions beyond each agent's class to
 * TEACHER_MASKED_LOGIT; rows are (state, agent) with agent = row % A. */
void teacher_mask_logits(const teacher_t *t, float *logits, int rows);

#endif
