/* qmix.h: QMIX (Rashid et al. 2018) on the learner.
 *
 * Agent Q-networks: the students' per-class policy networks
 * (actor/student.h), trained in place in the student arena, so publishing
 * that arena publishes the Q-networks the actors act with (epsilon-greedy on
 * argmax Q). Q_i(o_i [, c_i], .) gives one value per action; parameters are
 * shared within a class. With student.comm: mean the agent also reads c_i,
 * the mean of its teammates' learned messages (a function of their
 * observations, so the replay recomputes it), and the TD loss trains the
 * message encoders through c_i, as PPO does for mappo.
 *
 * Mixer: Q_tot(s, q_1..q_A) monotonic in every q_i, conditioned on the global
 * state s through hypernetworks (pymarl's QMixer with two-layer hypernets):
 *   W1 = |hw1(s)| (A, E)   hw1: Linear(S, H) ReLU Linear(H, A*E)
 *   b1 =  hb1(s)  (E)      hb1: Linear(S, E)
 *   W2 = |hw2(s)| (E)      hw2: Linear(S, H) ReLU Linear(H, E)
 *   b2 =   V(s)   (1)      V:   Linear(S, E) ReLU Linear(E, 1)
 *   Q_tot = ELU(q W1 + b1) . W2 + b2
 * with E = offpolicy.mixer_embed, H = offpolicy.hyper_hidden. The mixer lives
 * in its own arena (in this order, torch.nn.Linear init) with its Adam moments.
 * The derivative of |w| is taken as sign(w), 0 at w = 0 (torch's abs).
 *
 * Targets: a second student (same config, so the same arena layout) and a
 * copy of the mixer arena, hard-copied every offpolicy.target_update updates
 * (and at create).
 *
 * One update (qmix_update) on a batch of n transitions (learner/offp_batch.h):
 *   y = r + gamma (1 - done) Q_tot'(s', q'_1..q'_A)
 *   (m-step rows, offpolicy.nstep > 1: r the discounted m-step return, s'
 *   the state m steps on, and the batch's discount gamma^m in place of gamma),
 *   q'_i = Q'_i(o'_i, a*_i), a*_i = argmax over the available actions of
 *   Q_i(o'_i, .) (double_q: the online net picks, the target evaluates) or of
 *   Q'_i(o'_i, .) (double_q off). Rows with done, or marked trunc_obs_missing,
 *   do not bootstrap (the extraction in offpolicy.c makes time-limit cuts
 *   terminal, see there).
 *   L = mean over the batch of (Q_tot(s, Q_i(o_i, a_i)) - y)^2  (MSE, as pymarl),
 *   gradients into the agent nets (student arena) and the mixer; one global
 *   gradient-norm clip over both (torch.nn.utils.clip_grad_norm_ over all
 *   parameters), then Adam on each arena. Then the hard target update when due.
 *
 * Nothing allocates after create except qmix_ckpt_load (scratch arenas, so a
 * bad blob changes nothing).
 */
#ifndef HINT_LEARNER_QMIX_H
#define HINT_LEARNER_QMIX_H

#include <stddef.h>
#include <stdint.h>

#include "actor/student.h"
#include "common/config/config.h"
#include "common/env/env.h"
#include "common/nn/mlp.h"
#include "common/nn/params.h"
#include "learner/offp_batch.h"

typedef struct qmix qmix_t;

typedef struct {
  float lr, adam_eps, gamma;
  float max_grad_norm;  /* global over agent nets + mixer; <= 0 off */
  int target_update;    /* updates between hard target copies, >= 1 */
  int double_q;         /* bool */
  int embed;            /* E */
  int hyper_hidden;     /* H */
  int batch;            /* most transitions per update (scratch is sized for it) */
} qmix_hparams_t;

/* The hyperparameters cfg implies (offpolicy.*). */
qmix_hparams_t qmix_hparams_from_config(const hint_config_t *cfg);

/* Builds the mixer (seeded from seed), the target copies of the student arena
 * and the mixer. stu is borrowed and must outlive the module. Returns 0,
 * HINT_EINVAL (bad dims or hyperparameters, stu not built from cfg and dims)
 * or HINT_ENOMEM. */
int qmix_create(qmix_t **out, const hint_config_t *cfg, const env_dims_t *dims, student_t *stu,
                uint64_t seed);
/* The same with explicit hyperparameters; cfg and dims are still the ones
 * stu was built from (the target agent nets are a second student of them). */
int qmix_create_hp(qmix_t **out, const qmix_hparams_t *hp, const hint_config_t *cfg,
                   const env_dims_t *dims, student_t *stu, uint64_t seed);
/* NULL-safe; clears *q. Leaves the student alone. */
void qmix_destroy(qmix_t **q);

/* One update (see above). st (may be NULL) is ADDED to: loss, q_mean (mean
 * online Q_tot), grad_norm (before clipping), steps += 1.
 * Returns 0, HINT_EINVAL (n outside 1..batch, an action out of range, a row
 * with no available next action) or HINT_EDIVERGED (non-finite gradients:
 * nothing changes). */
int qmix_update(qmix_t *q, const offp_batch_t *b, offp_stats_t *st);

/* Checkpoint blob: magic "QMIX", version, shapes, update count, then the
 * mixer arena (with Adam), the target mixer and the target agent arena
 * (without). The student arena is the caller's to checkpoint. save returns 0
 * or HINT_ERANGE; load returns 0, HINT_ETRUNC, HINT_EMAGIC, HINT_EVERSION,
 * HINT_ESHAPE or HINT_EPARSE and leaves q unchanged on any error. */
size_t qmix_ckpt_size(const qmix_t *q);
int qmix_ckpt_save(const qmix_t *q, void *buf, size_t cap);
int qmix_ckpt_load(qmix_t *q, const void *buf, size_t len);

/* ---- For tests and diagnostics ------------------------------------------ */

/* TD targets y (n) for b with the current target networks. Returns 0 or
 * HINT_EINVAL (bad batch). */
int qmix_targets(qmix_t *q, const offp_batch_t *b, float *y);
/* Loss against given targets y: zeroes the student and mixer gradients, then
 * accumulates d(loss)/d(params) into both arenas. *q_mean (may be NULL) gets
 * the mean Q_tot. Returns the loss, or NAN on a bad batch. */
double qmix_loss_grad(qmix_t *q, const offp_batch_t *b, const float *y, double *q_mean);
/* The mixer alone: qtot (n) = Q_tot(state (n, S), qs (n, A)) with the online
 * mixer; with dqtot (n) not NULL, also the backward: accumulates into the
 * mixer's gradients and writes dq (n, A) (may be NULL). */
void qmix_mixer_eval(qmix_t *q, const float *state, const float *qs, int n, float *qtot,
                     const float *dqtot, float *dq);
/* Copies the online networks into the targets. */
void qmix_hard_update(qmix_t *q);

const qmix_hparams_t *qmix_hparams(const qmix_t *q);
nn_params_t *qmix_mixer_params(qmix_t *q);
nn_params_t *qmix_target_mixer_params(qmix_t *q);
nn_params_t *qmix_target_agent_params(qmix_t *q);
int64_t qmix_updates(const qmix_t *q);

#endif
