/* maddpg.h: MADDPG for discrete actions (Lowe et al. 2017) on the learner.
 *
 * Actors: the students' per-class policy MLPs (actor/student.h), trained in
 * place in the student arena, so publishing that arena publishes the actors.
 * They read local observations only (student.comm must be none: C = 0) and
 * output logits over the NA actions.
 *
 * Critics: one centralized critic per agent class,
 *   Q_c(s, onehot(a_1) .. onehot(a_A), e_k) -> scalar,
 * on the global state, every agent's action (one-hot, agent order) and, when
 * class c has several agents, e_k: the one-hot of the agent's index k within
 * its class (so agents sharing a critic stay distinguishable; a class of one
 * agent has no identity input). Row (pair p, agent first_c + k) of class c is
 * one critic row. The critics live in this module's own arena with their Adam
 * moments; target actors (copies of the policy MLPs) and target critics live
 * in a second arena, moved by soft updates theta' <- (1 - tau) theta' + tau theta.
 *
 * One update (maddpg_update), on a batch of n pairs (learner/offp_batch.h):
 *  1. critic: y = r + gamma (1 - done) Q'_c(s', a'_1..a'_A, e_k) (gamma^m from
 *     the batch's discount for m-step rows, when given), where a'_j is
 *     the hard one-hot of a Gumbel-max sample of target actor j on o'_j
 *     (argmax of logits' + g over the available actions: the forward of the
 *     hard Gumbel-softmax, an exact sample of softmax(logits')). Loss: the mean
 *     over all agent rows of (Q_c(s, a, e_k) - y)^2; rows marked
 *     trunc_obs_missing that are not done are left out (they would bootstrap
 *     from the reset observation, on which the target actors cannot act for
 *     the finished episode); Adam on the critic arena.
 *  2. actors (with the critic just updated): for agent i of class c,
 *     a_i = Gumbel-softmax straight-through on the online actor: forward the
 *     hard one-hot of argmax_j z_j, z = (logits + g) / gumbel_tau with -inf for
 *     unavailable actions; backward through the soft sample y = softmax(z).
 *     Other agents' actions come from the batch. Loss:
 *       L_actor = mean over agent rows of -Q_c(s, a_1..a_i^ST..a_A, e_k)
 *                 + logit_reg * mean over rows and actions of logits^2
 *     (the raw logits, as in the original code's 1e-3 * mean(flatparam^2)).
 *     Adam on the student arena (its other networks have zero gradient, so
 *     Adam leaves them unchanged).
 *  3. soft update of both target actors and target critics.
 * The Gumbel noise comes from the module's own hint_rng_t, seeded at create
 * and checkpointed; maddpg_update_noise takes explicit noise for tests.
 *
 * The checkpoint covers the critics (with Adam), the targets, the RNG and the
 * update count; the online actors are the student arena, which the caller
 * checkpoints (with its Adam moments) as for every other algorithm.
 *
 * Nothing allocates after create except maddpg_ckpt_load (scratch arenas).
 */
#ifndef HINT_LEARNER_MADDPG_H
#define HINT_LEARNER_MADDPG_H

#include <stddef.h>
#include <stdint.h>

#include "actor/student.h"
#include "common/config/config.h"
#include "common/env/env.h"
#include "common/nn/mlp.h"
#include "common/nn/params.h"
#include "learner/offp_batch.h"

typedef struct maddpg maddpg_t;

typedef struct {
  float lr_actor, lr_critic; /* Adam step sizes */
  float adam_eps;
  float gamma;
  float max_grad_norm;       /* per optimiser (critic arena, student arena); <= 0 off */
  float tau;                 /* soft target update rate in (0, 1] */
  float gumbel_tau;          /* Gumbel-softmax temperature > 0 */
  float logit_reg;           /* coefficient of mean(logits^2) in the actor loss */
  int batch;                 /* most pairs per update (scratch is sized for it) */
  int critic_hidden;         /* units per hidden layer */
  int critic_layers;         /* hidden layers */
  nn_act_t critic_act;       /* hidden activation of the critics */
} maddpg_hparams_t;

/* The hyperparameters cfg implies (the only place that reads cfg for them). */
maddpg_hparams_t maddpg_hparams_from_config(const hint_config_t *cfg);

/* Builds critics (orthogonal init, seeded from seed), target actors copied
 * from the student's policy MLPs and target critics copied from the critics.
 * stu is borrowed and must outlive the module. Returns 0, HINT_EINVAL (bad
 * dims or hyperparameters, or a student with communication) or HINT_ENOMEM. */
int maddpg_create(maddpg_t **out, const hint_config_t *cfg, const env_dims_t *dims,
                  student_t *stu, uint64_t seed);
/* The same with explicit hyperparameters (tests, tools). */
int maddpg_create_hp(maddpg_t **out, const maddpg_hparams_t *hp, const env_dims_t *dims,
                     student_t *stu, uint64_t seed);
/* NULL-safe; clears *m. Leaves the student alone. */
void maddpg_destroy(maddpg_t **m);

/* One update (critic, actors, targets; see above) on b, Gumbel noise from the
 * module's RNG. st (may be NULL) is ADDED to: loss (critic), q_mean, grad_norm
 * (critic, before clipping), actor_loss, and steps += 1, so a caller averaging
 * several steps zeroes it once and divides by steps.
 * Returns 0, HINT_EINVAL (n outside 1..batch, an action out of range, a row
 * with no available action) or HINT_EDIVERGED (a non-finite gradient: the
 * update stops at that optimiser, whose step is skipped, and the targets are
 * not moved). */
int maddpg_update(maddpg_t *m, const offp_batch_t *b, offp_stats_t *st);
/* The same with explicit noise: g_next for the target actors on next_obs,
 * g_cur for the online actors on obs, both [n][A][NA] standard Gumbel. */
int maddpg_update_noise(maddpg_t *m, const offp_batch_t *b, const float *g_next,
                        const float *g_cur, offp_stats_t *st);

/* Checkpoint blob: magic "MDPG", version, shapes, update count, RNG, then the
 * critic arena (nn_params blob with Adam) and the target arena (without).
 * save returns 0 or HINT_ERANGE (cap too small); load returns 0, HINT_ETRUNC,
 * HINT_EMAGIC, HINT_EVERSION, HINT_ESHAPE (another configuration), HINT_EPARSE
 * or HINT_ENOMEM, and leaves m unchanged on any error. */
size_t maddpg_ckpt_size(const maddpg_t *m);
int maddpg_ckpt_save(const maddpg_t *m, void *buf, size_t cap);
int maddpg_ckpt_load(maddpg_t *m, const void *buf, size_t len);

/* ---- For tests and diagnostics ------------------------------------------ */

/* Critic loss with gradients: zeroes the critic arena's gradients, then
 * accumulates d(loss)/d(critic params) there. *q_mean (may be NULL) gets the
 * mean online Q over the rows used. Returns the loss, or NAN on bad input. */
double maddpg_critic_loss_grad(maddpg_t *m, const offp_batch_t *b, const float *g_next,
                               double *q_mean);
/* Actor loss with its straight-through gradient: zeroes the student arena's
 * gradients and accumulates d(L_actor)/d(policy params) there (it also
 * leaves critic-parameter gradients of the backward pass in the critic
 * arena). Returns the loss, or NAN on bad input. */
double maddpg_actor_loss_grad(maddpg_t *m, const offp_batch_t *b, const float *g_cur);
/* theta' <- (1 - tau) theta' + tau theta for all targets. */
void maddpg_soft_update(maddpg_t *m, float tau);

const maddpg_hparams_t *maddpg_hparams(const maddpg_t *m);
nn_params_t *maddpg_critic_params(maddpg_t *m);
nn_params_t *maddpg_target_params(maddpg_t *m);
/* Networks of class c (NULL if c is out of range). */
nn_mlp_t *maddpg_critic_mlp(maddpg_t *m, int c);
nn_mlp_t *maddpg_target_critic_mlp(maddpg_t *m, int c);
nn_mlp_t *maddpg_target_policy_mlp(maddpg_t *m, int c);
int64_t maddpg_updates(const maddpg_t *m);

#endif
