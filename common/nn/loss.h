/* loss.h: the loss pieces of the student and teacher updates, with gradients.
 *
 * Each function evaluates one loss over a batch of B rows and returns it
 * (unscaled). If the gradient pointer is not NULL it ADDS coef * dloss/dinput
 * into it, so the caller builds the total gradient of
 *   L = L_ppo + c_v L_value - c_ent H + lambda L_kd
 * by calling each piece with its coefficient (coef = -c_ent for the entropy
 * bonus) on the same zeroed dlogits buffer, then runs one backward pass.
 * Logits are (B, A) row-major; actions are indices in [0, A). Batch means are
 * over the B rows given; averaging across ranks is the caller's allreduce.
 * Accumulation is in double; nothing allocates.
 */
#ifndef HINT_NN_LOSS_H
#define HINT_NN_LOSS_H

typedef struct {
  float clip_frac; /* fraction of rows with |ratio - 1| > clip_eps */
  float approx_kl; /* mean of (ratio - 1) - log ratio: the non-negative k3
                      estimator of KL(old || new) */
} nn_ppo_stats_t;

/* PPO clipped surrogate:
 *   L = -mean_b min(r_b adv_b, clip(r_b, 1 - eps, 1 + eps) adv_b),
 *   r_b = exp(log softmax(logits_b)[actions_b] - old_logp_b).
 * old_logp is the behaviour policy's log-probability (the student's, for the
 * teacher's pseudo off-policy update). stats may be NULL. */
float nn_ppo_loss(const float *logits, const int *actions,
                  const float *old_logp, const float *adv, int B, int A,
                  float clip_eps, float coef, float *dlogits,
                  nn_ppo_stats_t *stats);

/* Value loss: L = 0.5 * mean_b max((v - ret)^2, (v_clip - ret)^2) with
 * v_clip = old_v + clip(v - old_v, -clip, clip); with old_v NULL or
 * clip <= 0 it is plain 0.5 * mean (v - ret)^2. v, ret, old_v are (B). */
float nn_value_loss(const float *v, const float *ret, const float *old_v, int B,
                    float clip, float coef, float *dv);

/* Mean entropy of softmax(logits) in nats. For the bonus -c_ent * H pass
 * coef = -c_ent. */
float nn_entropy_loss(const float *logits, int B, int A, float coef,
                      float *dlogits);

/* Masked distillation:
 *   L = sum_b mask_b KL(p_T,b || softmax(logits_b)) / max(1, sum_b mask_b)
 * teacher (B, A) are probabilities (zero entries contribute nothing); mask (B)
 * weights in [0, 1] (NULL: all ones). The gradient w.r.t. the student logits
 * is mask_b / norm * (p_S * sum_j p_T,j - p_T). */
float nn_kd_loss(const float *teacher, const float *logits, const float *mask,
                 int B, int A, float coef, float *dlogits);
/* The same with an explicit normaliser norm > 0 in place of max(1, sum mask):
 * e.g. all pairs (B) for the matched-weight control, or a count summed
 * across ranks. */
float nn_kd_loss_norm(const float *teacher, const float *logits,
                      const float *mask, int B, int A, float norm, float coef,
                      float *dlogits);

#endif
