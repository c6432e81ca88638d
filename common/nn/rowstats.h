/* rowstats.h: private to common/nn; the max-subtracted log-sum-exp of one
 * row of logits, shared by the distribution kernels (ops.c) and the losses
 * (loss.c) so both compute log-probabilities identically.
 *
 * Callers form log p_j as (z_j - mx) - ls, never z_j - (mx + ls): with logits
 * of magnitude 80 the latter loses ~1e-5 to the rounding of mx + ls, which
 * torch's log_softmax avoids too. Elements use float expf (about 3x cheaper
 * than double exp; the batch loops call it ~10^5 times per update); the sum
 * is accumulated in double.
 */
#ifndef HINT_NN_ROWSTATS_H
#define HINT_NN_ROWSTATS_H

#include <math.h>

static inline void nn_row_stats(const float *z, int A, float *mx_out,
                                float *ls_out) {
  float mx = z[0];
  for (int j = 1; j < A; j++)
    mx = z[j] > mx ? z[j] : mx;
  double s = 0.0;
  for (int j = 0; j < A; j++)
    s += (double)expf(z[j] - mx);
  *mx_out = mx;
  *ls_out = (float)log(s);
}

#endif
