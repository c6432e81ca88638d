/* teacher.h: the centralized teacher (flat or hierarchical) and its updates.
 *
 * The teacher sees the global state s. Its inputs are agent-centred
 * (algorithm.md, "Teacher"): for agent i the policy reads
 *   [s (state_dim), env_feat_agent(s, i) (feat_dim), one-hot(i) (n_agents)]
 * with the agents' [row, col] block of s scaled to [0, 1] (the rest of s is
 * used as the env writes it). The critic V_T(s) reads s alone: a team value
 * shared by all agents (the reward is a team reward).
 *
 * Hierarchical teacher (teacher.hierarchical: true): a manager pi_H(g | s, i)
 * over goals, a worker pi_L(a | s, i, g), critics V_H(s) (= V_T) and
 * V_L(s, i, g); hier.c states every rule. A goal is an int32: with
 * teacher.goal_set cells, the index of a coarse cell (teacher.goal_cell edge);
 * with targets, a map cell (row * size + col) among the env's candidates
 * (env_feat_targets), scored pointer-style by the manager.
 * Arena layout: [worker | V_H | V_H normaliser (4) | manager | V_L | V_L
 * normaliser (4)].
 *
 * Both kinds train on the team reward minus teacher.false_drop_penalty per
 * false water drop (FireCommander; 0 by default), a shaping the students
 * never see.
 *
 * Flat teacher (teacher.hierarchical: false; algo kd and the HINT ablation):
 * pi_T(a | s, i) is an MLP (teacher.hidden x teacher.layers, tanh) to
 * n_actions logits; actions beyond the agent's class_n_actions are masked
 * (probability exactly 0). Both networks live in ONE nn_params_t arena, so a
 * publish, a checkpoint and a load are each one buffer (teacher_params()).
 * Arena layout (flat): [policy MLP | critic MLP | return normaliser (4)],
 * each MLP laid out as common/nn/mlp.h says (layer by layer, weight then
 * bias).
 *
 * Who calls what:
 *   actor   : teacher_create, then per published version nn_params_load into
 *             teacher_params(); teacher_act on the states of its teacher-driven
 *             env copies every step.
 *   learner : teacher_create; teacher_update on segments (teacher-driven steps
 *             train the teacher); teacher_targets for the distillation
 *             targets pi_T and V_T of student-driven segments; nn_params_save
 *             of teacher_params() to publish and checkpoint, plus the RNG state
 *             (teacher_rng()) so a resumed run shuffles minibatches the same way.
 *
 * Threading: a teacher_t is single-threaded (it owns one set of work buffers).
 * Nothing allocates after teacher_create; every call works through its states
 * in chunks of at most max_rows (fixed at create).
 *
 * Determinism: given the same parameters, RNG state and inputs, teacher_update
 * produces the same parameters bit for bit (minibatch shuffling draws only
 * from the teacher's own hint_rng_t; BLAS runs one thread per process in our
 * deployments). teacher_act draws only from the rng the caller passes.
 */
#ifndef HINT_TEACHER_TEACHER_H
#define HINT_TEACHER_TEACHER_H

#include <stddef.h>
#include <stdint.h>

#include "common/config/config.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/nn/params.h"

typedef struct teacher teacher_t;

/* A read-only view of one segment of T steps from E env copies, with aligned
 * tensors (the learner copies wire segments into aligned buffers first).
 * A = n_agents, O = obs_dim, S = state_dim, C = student.comm_dim.
 * Auto-reset: after a done at step t, obs[t+1] and state[t+1] are already the
 * next episode's first observation and state.
 *
 * Truncation (done and truncated: the episode hit env.episode_limit) is
 * bootstrapped as TERMINAL. The pre-reset state is not in the segment, and the
 * teacher's inputs carry the step fraction (state and features), so after the
 * limit the true value is 0 and "terminal" is exact for the time-aware MDP the
 * teacher sees; the only bias is the critic's own error near the limit.
 *
 * driver[t][e] is 0 when the students drove env e at step t, 1 when the
 * teacher did. The actor assigns drivers per env for whole segments, but the
 * update does not rely on it: GAE cuts its trace wherever the driver changes
 * (bootstrapping from V_T at the first student-driven state). */
typedef struct {
  int T, E;
  const float *obs;         /* [T+1][E][A][O]; not read by the flat teacher */
  const float *state;       /* [T+1][E][S] */
  const int32_t *actions;   /* [T][E][A] */
  const float *logp;        /* [T][E][A] behaviour log-prob of whoever drove */
  const float *rewards;     /* [T][E] team reward */
  const uint8_t *dones;     /* [T][E] */
  const uint8_t *truncated; /* [T][E] (may be NULL: treated like dones anyway) */
  const float *value;       /* [T+1][E] the students' V_S; not read by the update */
  const uint8_t *driver;    /* [T][E] 0 student, 1 teacher */
  const int32_t *goals;     /* [T][E][A] or NULL: hierarchical teacher's goals */
  const float *goal_logp;   /* [T][E][A] or NULL */
  const float *comm;        /* [T][E][A][C] or NULL */
} teacher_seg_t;

/* What one teacher_update did. Losses are means over its minibatches. */
typedef struct {
  float policy_loss;   /* PPO clipped surrogate (to minimise) */
  float value_loss;    /* 0.5 * mean (critic - normalised return)^2, before
                          vf_coef, in units of the return normaliser's std */
  float entropy;       /* mean policy entropy, nats */
  float clip_frac;     /* fraction of agent-steps with |ratio - 1| > clip */
  float approx_kl;     /* k3 estimate of KL(behaviour || new) */
  float grad_norm;     /* mean global gradient norm before clipping */
  float adv_mean;      /* raw GAE advantage over the trained steps */
  float adv_std;
  float ret_mean;      /* mean return target */
  float explained_var; /* 1 - Var(ret - V_T) / Var(ret), with V_T before the update */
  int64_t steps;       /* teacher-driven (t, e) steps trained on (per epoch) */
  int64_t agent_steps; /* steps * n_agents: policy samples per epoch */
  int adam_steps;      /* minibatch steps taken (epochs * minibatches) */
  /* Hierarchical teacher only (0 for the flat one). Its policy_loss, entropy,
   * clip_frac and approx_kl are the worker's, value_loss is V_H's, and every
   * loss figure weights student-data rows by teacher.student_data_coef. */
  float manager_loss;     /* manager PPO surrogate */
  float manager_entropy;  /* nats, over the goals */
  float manager_clip_frac;
  float worker_value_loss; /* V_L, normalised units */
  int64_t student_steps;  /* student-driven steps used (pseudo off-policy) */
  int64_t manager_rows;   /* goal decisions trained on (own + relabelled) */
  /* Goal usage on the teacher's own data (the manager's goals as acted): */
  int64_t goal_windows;   /* goal windows started (decisions) */
  int64_t goal_arrivals;  /* windows that ended with the agent at its goal */
  float goal_choice_entropy; /* entropy of the chosen candidate slots (targets)
                              * or goals (cells), / log(slots): 0 = always the
                              * same choice, 1 = uniform use */
} teacher_stats_t;

/* Creates a teacher for cfg (teacher.* keys, the env from env.*), initialised
 * orthogonally (hidden gain 5/3 for tanh, policy output gain 0.01, value 1)
 * from `seed`; the minibatch RNG is seeded from the same seed on a separate
 * stream. max_rows (> 0) is the largest number of states one internal chunk
 * holds (act, targets and update all work in chunks of it; the work buffers
 * scale with max_rows * n_agents).
 * teacher_update's capacity comes from the config: at most
 * teacher.replay_segments segments and replay_segments * (actor.segment_len
 * + 1) * actor.envs states per call.
 * Returns 0, HINT_EINVAL, HINT_ECONFIG (with a message in err, which may be
 * NULL) or HINT_ENOMEM (nothing leaked; *out NULL). */
int teacher_create(teacher_t **out, const hint_config_t *cfg, int max_rows,
                   uint64_t seed, char *err, size_t err_cap);
/* NULL-safe; clears *tp. */
void teacher_destroy(teacher_t **tp);

/* The one arena behind every teacher network (w, g, Adam m, v, step): publish
 * with nn_params_save(p, 0, ...), checkpoint with with_adam = 1, apply a
 * published or checkpointed blob with nn_params_load. Owned by the teacher. */
nn_params_t *teacher_params(teacher_t *t);
/* The minibatch RNG (checkpoint it as bytes; restoring it reproduces the
 * shuffles). Owned by the teacher. */
hint_rng_t *teacher_rng(teacher_t *t);
/* Sizes the teacher was built for. */
const env_dims_t *teacher_dims(const teacher_t *t);
int teacher_hierarchical(const teacher_t *t);

/* ---- Actor side ---------------------------------------------------------
 *
 * Per-env goal state of a hierarchical teacher driving env copies: each
 * (env, agent) keeps its goal until the manager re-chooses (every
 * teacher.manager_period steps since the choice, or when the agent stands in
 * its goal). The actor owns one object for its env copies, indexed by the
 * actor's env index, and MUST reset env e's goals
 *   - at the start of every segment (teacher_goals_reset_all), because the
 *     learner re-derives the manager's decision points from each segment
 *     alone, starting with a decision at the segment's first teacher step;
 *   - when env e's episode ends (done), before acting on the next state;
 *   - when env e starts being teacher-driven.
 * The flat teacher needs none (pass NULL to teacher_act). */
typedef struct teacher_goals teacher_goals_t;

/* Creates goal slots for n_envs env copies of t's agents, all reset. Returns
 * 0, HINT_EINVAL or HINT_ENOMEM. */
int teacher_goals_create(teacher_goals_t **out, const teacher_t *t, int n_envs);
/* NULL-safe; clears *gp. */
void teacher_goals_destroy(teacher_goals_t **gp);
/* Forget env's goals (out-of-range env: no-op). */
void teacher_goals_reset(teacher_goals_t *g, int env);
void teacher_goals_reset_all(teacher_goals_t *g);

/* Teacher actions for the states [n][S] of env copies first_env ..
 * first_env + n - 1: actions [n][A] int32 and their behaviour log-probs
 * logp [n][A] under the teacher (greedy: the first argmax, logp still its
 * log-prob). Samples with rng (caller-owned; greedy draws nothing).
 * Hierarchical: gs is required (rows are env indices from first_env in it;
 * first_env + n <= its n_envs). Where an agent needs a goal, the manager
 * samples one (greedy: its argmax); then the worker acts toward it. goals and
 * goal_logp [n][A] (may be NULL) receive each agent's active goal and the
 * manager's log-prob of it when it was chosen: the actor logs them in the
 * segment (teacher_seg_t.goals / goal_logp; -1 / 0 where students drive).
 * The flat teacher ignores gs and first_env and writes nothing to goals or
 * goal_logp. Returns 0 or HINT_EINVAL. */
int teacher_act(teacher_t *t, teacher_goals_t *gs, int first_env, const float *states,
                int n, int greedy, hint_rng_t *rng, int32_t *actions, float *logp,
                int32_t *goals, float *goal_logp);

/* ---- Learner side ------------------------------------------------------- */

/* Distillation targets for n states [n][S]: pi [n][A][NA] the teacher's
 * action probabilities for each agent (masked actions exactly 0; rows sum to
 * 1) and v [n] = V_T(s). Either output may be NULL. Hierarchical: pi_T(. | s,
 * i) = pi_L(. | s, i, g*), g* = argmax pi_H(. | s, i) (the teacher is not
 * driving these states), and V_T = V_H. Returns 0 or HINT_EINVAL. */
int teacher_targets(teacher_t *t, const float *states, int n, float *pi, float *v);

/* One teacher update: teacher.epochs epochs x teacher.minibatches minibatches
 * of PPO over the teacher-driven (t, e) steps of segs[0..n), all agents of
 * each step. Advantages are GAE(teacher.gamma, teacher.gae_lambda) with V_T
 * computed once at the start of the update, normalised per minibatch; the
 * ratio is against the segment's logged behaviour log-prob. Loss:
 *   L = L_ppo(clip) + vf_coef * 0.5 mean (v - (ret - mu) / sigma)^2 - ent_coef * H
 * where the critic outputs v = (V_T - mu) / sigma and mu, sigma are running
 * statistics of the returns (MAPPO's ValueNorm: debiased exponential averages
 * updated with each update's returns before its epochs; they live in the
 * arena, untrained, so publishes and checkpoints carry them). Team returns
 * reach -100 here and Adam moves a raw value head by about lr per step, so
 * without it the critic barely learns and its gradient swamps the policy's
 * under the global clip. Adam: teacher.lr, adam_eps, max_grad_norm over the
 * whole arena.
 * Student-driven steps are ignored by the flat teacher.
 * Hierarchical (see hier.c for the full statement): PPO for the worker and
 * the manager on the teacher-driven steps (which must carry goals and
 * goal_logp, else HINT_EINVAL; goals out of range give HINT_ERANGE), plus,
 * with teacher.student_data_coef > 0, the pseudo off-policy update on the
 * student-driven steps: hindsight goal relabelling over teacher.manager_period
 * windows, worker PPO with ratio pi_L / pi_S on V-trace advantages
 * (teacher.rho_bar, teacher.c_bar), relabelled manager windows as if
 * on-policy, and V_H / V_L regressing on V-trace targets.
 * stats (may be NULL) receives what happened; with nothing to train on (no
 * teacher-driven step, and for the hierarchical teacher no student step
 * either or beta 0) the update does nothing and reports steps = 0.
 * The flat teacher checks the views it reads: state, actions, logp, rewards,
 * dones, driver (obs, value, comm are never read).
 * Returns 0, HINT_EINVAL (bad view), HINT_ERANGE (more data than the
 * capacity, or an action out of range for its agent) or HINT_EDIVERGED (a
 * non-finite gradient: that minibatch is skipped and the update stops; the
 * parameters stay finite). */
int teacher_update(teacher_t *t, const teacher_seg_t *segs, int n,
                   teacher_stats_t *stats);

/* The same update one minibatch at a time, so a learner can keep answering
 * actors between steps: teacher_update_begin forms the batch (GAE, V-trace,
 * relabelling, the return normalisers' update) and, when there is something
 * to train on, makes the update active; each teacher_update_step takes one
 * minibatch's Adam step and sets *done on the last one, filling stats (may
 * be NULL; the caller zeroes it first). begin + steps until done changes the
 * parameters and the RNG exactly as teacher_update does, bit for bit.
 * While an update is active: the segments' views (copied, but not their
 * data) must stay valid and unchanged; teacher_targets and teacher_act may be
 * called between steps (they use no update state) and see the parameters of
 * the last step; a second begin returns HINT_ESTATE. A step when nothing is
 * active sets *done and returns 0. Errors are teacher_update's. */
int teacher_update_begin(teacher_t *t, const teacher_seg_t *segs, int n);
int teacher_update_step(teacher_t *t, int *done, teacher_stats_t *stats);
int teacher_update_active(const teacher_t *t);

#endif
