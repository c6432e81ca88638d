/* adam.c: the Adam update (see adam.h).
 *
 * The arithmetic mirrors torch/optim/adam.py (_single_tensor_adam, 1.13):
 *   m = m * b1 + (1 - b1) * g
 *   v = v * b2 + (1 - b2) * g * g
 *   w = w - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * with the bias corrections computed in double and rounded to float once, as
 * PyTorch's scalar arguments are. Keeping the same operation order is what
 * lets the parity test hold 10 steps to a tight tolerance.
 */
#include "common/nn/adam.h"

#include <math.h>

#include "common/core/error.h"

nn_adam_t nn_adam_defaults(void) {
  nn_adam_t a = {.lr = 5e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-5f,
                 .max_grad_norm = 10.0f};
  return a;
}

int nn_adam_step(nn_params_t *p, const nn_adam_t *opt, double *grad_norm) {
  double norm = nn_params_grad_norm(p);
  if (grad_norm)
    *grad_norm = norm;
  if (!isfinite(norm))
    return HINT_EDIVERGED;
  nn_params_clip_grad(p, opt->max_grad_norm);

  int64_t t = p->step + 1;
  double bc1 = 1.0 - pow((double)opt->beta1, (double)t);
  double bc2 = 1.0 - pow((double)opt->beta2, (double)t);
  const float step_size = (float)((double)opt->lr / bc1);
  const float bc2_sqrt = (float)sqrt(bc2);
  const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
  const float omb1 = (float)(1.0 - (double)b1), omb2 = (float)(1.0 - (double)b2);
  float *restrict w = p->w, *restrict m = p->m, *restrict v = p->v;
  const float *restrict g = p->g;
  for (size_t i = 0, n = p->n; i < n; i++) {
    float gi = g[i];
    float mi = m[i] * b1 + omb1 * gi;
    float vi = v[i] * b2 + omb2 * (gi * gi);
    m[i] = mi;
    v[i] = vi;
    w[i] -= step_size * (mi / (sqrtf(vi) / bc2_sqrt + eps));
  }
  p->step = t;
  return HINT_OK;
}
