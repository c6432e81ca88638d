/* ops.h: the layer and distribution kernels the networks and losses use.
 *
 * All tensors are row-major float32 with the batch as the slowest dimension:
 * x (B, in) is B rows of `in` floats. Weights are (in, out), so y = x w + b:
 * the product needs no transpose, which lets OpenBLAS use its unpacked
 * small-matrix kernels at actor batch sizes (1.4-1.8x faster there than the
 * transposed form). A torch.nn.Linear weight is the transpose of ours.
 * Nothing here allocates; every output buffer belongs to the caller.
 * Gradient outputs named d* with "+=" in their contract accumulate, so one
 * backward pass can sum the contributions of several losses or batches.
 */
#ifndef HINT_NN_OPS_H
#define HINT_NN_OPS_H

#include "common/core/rng.h"

typedef enum {
  NN_ACT_NONE = 0,
  NN_ACT_TANH = 1,
  NN_ACT_RELU = 2,
} nn_act_t;

/* "none", "tanh", "relu" <-> nn_act_t. parse returns 0 or HINT_EINVAL. */
const char *nn_act_name(nn_act_t act);
int nn_act_parse(const char *s, nn_act_t *out);

/* y (B, out) = act(x (B, in) w + b). w (in, out), b (out). sgemm, then one
 * fused pass adding the bias and applying the activation. */
void nn_linear_forward(const float *x, const float *w, const float *b, float *y,
                       int B, int in, int out, nn_act_t act);

/* Backward of nn_linear_forward. y is the forward output (used for the
 * activation's derivative); dy (B, out) holds dL/dy on entry and, when act is
 * not NN_ACT_NONE, dL/dz (z the pre-activation) on return.
 *   dw (in, out) += x^T dz;  db (out) += sum over rows of dz;
 *   dx (B, in)    = dz w^T   (overwritten; NULL skips the product).
 * dx must not alias x or dy. */
void nn_linear_backward(const float *x, const float *w, const float *y,
                        float *dy, float *dw, float *db, float *dx, int B,
                        int in, int out, nn_act_t act);

/* Elementwise activations over n floats; y may alias x.
 * tanh is a rational approximation within a few float ulps of tanh (the test
 * measures it); it is branch-free so the loop vectorises. */
void nn_tanh(const float *x, float *y, long n);
void nn_relu(const float *x, float *y, long n);
/* dx = dy * act'(.) written from the forward output y; dx may alias dy. */
void nn_tanh_backward(const float *y, const float *dy, float *dx, long n);
void nn_relu_backward(const float *y, const float *dy, float *dx, long n);

/* Row-wise softmax / log-softmax of logits (B, A) into out (B, A); out may
 * alias logits. Max-subtracted, so any finite logits are safe. */
void nn_softmax(const float *logits, float *out, int B, int A);
void nn_log_softmax(const float *logits, float *out, int B, int A);

/* Samples one action per row from softmax(logits) (B, A) with rng (inverse
 * CDF over one uniform draw per row). actions (B) gets the indices; logp (B),
 * if not NULL, their log-probabilities. */
void nn_sample(const float *logits, int B, int A, hint_rng_t *rng, int *actions,
               float *logp);
/* Greedy counterpart: the first index of the largest logit in each row. */
void nn_argmax(const float *logits, int B, int A, int *actions);

/* logp (B) = log softmax(logits)[b, actions[b]]. actions in [0, A). */
void nn_log_prob(const float *logits, const int *actions, int B, int A,
                 float *logp);
/* h (B) = entropy of softmax(logits) per row, in nats. */
void nn_entropy(const float *logits, int B, int A, float *h);
/* kl (B) = KL(p || softmax(q_logits)) per row, where p (B, A) are
 * probabilities (rows sum to 1; zero entries contribute 0). */
void nn_kl(const float *p, const float *q_logits, int B, int A, float *kl);

#endif
