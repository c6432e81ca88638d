/* student.h: the decentralized students of one actor rank.
 *
 * One policy per agent class, parameters shared within the class
 * (algorithm.md, "Roles"): pi_S(a | o_i [, c_i]). With student.comm: mean,
 * each agent's class also has a message encoder m_i = tanh(E(o_i)) and the
 * agent reads c_i, the mean of its teammates' messages in the same env;
 * gradients flow through c_i into the teammates' encoders. The critic is
 * centralized, V_S(s) on the global state (mappo, kd, hint), or local per
 * class, V_c(o_i) (ippo). Everything lives in one nn_params_t arena, so the
 * gradient allreduce, Adam, the parameter message and the checkpoint are one
 * buffer each.
 *
 * Data are "pairs": one (step, env) with all its agents, so a batch of n
 * pairs has n * n_agents agent rows and the communication mean stays inside
 * a pair. Buffers passed in are contiguous [n][...] arrays the caller owns.
 * All scratch is allocated at create for up to max_pairs pairs.
 */
#ifndef HINT_ACTOR_STUDENT_H
#define HINT_ACTOR_STUDENT_H

#include <stdint.h>

#include "common/config/config.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/nn/mlp.h"
#include "common/nn/params.h"

typedef struct student student_t;

/* One minibatch of n pairs for student_loss_grad (all contiguous):
 *   obs [n][A][O], state [n][S], actions [n][A], old_logp [n][A],
 *   adv [n][A] (already normalised), ret [n][V] and old_value [n][V] (raw;
 *   normalised inside with the critic's return statistics) with
 *   V = 1 (central critic) or A (ippo), and for distillation (may be NULL):
 *   teacher [n][A][NA] probabilities, mask [n][A] in {0, 1}. */
typedef struct {
  int n;
  const float *obs, *state;
  const int32_t *actions;
  const float *old_logp, *adv, *ret, *old_value;
  const float *teacher, *mask;
} student_mb_t;

typedef struct {
  float clip;        /* PPO clip epsilon */
  float value_clip;  /* 0 disables */
  float vf_coef, ent_coef;
  float kd_coef;     /* lambda_t; 0 skips the KD term */
} student_coefs_t;

typedef struct {
  double pg_loss, value_loss, entropy, kd_loss, clip_frac, approx_kl;
  double kd_kept;                      /* rows with mask 1 */
  double kd_rows;                      /* rows offered for distillation */
  double kd_kept_class[ENV_MAX_CLASSES];
  double kd_rows_class[ENV_MAX_CLASSES];
} student_stats_t;

/* Builds the networks for cfg/dims in one arena, initialised from seed
 * (orthogonal; identical on every actor for the same seed). max_pairs bounds
 * every batch. Returns 0, HINT_EINVAL (unsupported dims) or HINT_ENOMEM. */
int student_create(student_t **out, const hint_config_t *cfg, const env_dims_t *dims,
                   int max_pairs, uint64_t seed);
void student_destroy(student_t **sp);

nn_params_t *student_params(student_t *s);
/* Floats in the arena the config implies (for message shapes). */
size_t student_param_count(const student_t *s);
/* 1 for a central critic, n_agents for ippo's local critics. */
int student_value_width(const student_t *s);
int student_comm_dim(const student_t *s);
/* The policy network of agent class c (its weights live in the arena). The
 * learner's off-policy algorithms (qmix's agent Q-networks, maddpg's actors)
 * train these directly, so the published arena is what actors act with.
 * Input width O + C (C = 0 without communication), output NA. */
nn_mlp_t *student_policy_mlp(student_t *s, int c);

/* Acting on n pairs: actions [n][A] sampled (or argmax when greedy) with
 * their log-probs logp [n][A]; values [n][V] (may be NULL); comm [n][A][C]
 * the summaries c_i (may be NULL; ignored without communication). */
void student_act(student_t *s, const float *obs, const float *state, int n, hint_rng_t *rng,
                 int greedy, int32_t *actions, float *logp, float *values, float *comm);

/* qmix acting on n pairs: each agent takes argmax_a Q(o_i [, c_i], a) of its
 * class's policy network (read as Q values), or with probability eps a
 * uniform random action (drawn from rng; eps = 0 draws nothing). logp [n][A]
 * (may be NULL) gets the log-probability of the action under that
 * epsilon-greedy policy. */
void student_act_eps(student_t *s, const float *obs, int n, hint_rng_t *rng, float eps,
                     int32_t *actions, float *logp);

/* The policy networks' outputs (logits; Q values for qmix) for every agent
 * of n pairs, communication included: out [n][A][NA]. Records the
 * activations for student_policy_backward (and overwrites those of any
 * earlier forward of this student). */
void student_policy_forward(student_t *s, const float *obs, int n, float *out);
/* Backward of the last student_policy_forward (same n): dout [n][A][NA] is
 * dL/dout; ADDS the gradients of the policy networks and, with
 * communication, of the message encoders (through c_i) to the arena. */
void student_policy_backward(student_t *s, const float *dout, int n);

/* Values only, [n][V]. */
void student_values(student_t *s, const float *obs, const float *state, int n, float *values);

/* Folds a batch's return statistics (mean and mean of squares of the raw
 * returns, already averaged across actors so every actor applies the same
 * update) into the critic's return normaliser. Values handed out by
 * student_act / student_values are raw (denormalised). */
void student_vnorm_update(student_t *s, double mean, double sq);

/* Forward and backward of L = PPO + c_v L_value - c_ent H + lambda KD on mb,
 * ADDING the gradients to the arena (zero them first). Returns 0. */
int student_loss_grad(student_t *s, const student_mb_t *mb, const student_coefs_t *c,
                      student_stats_t *st);

#endif
