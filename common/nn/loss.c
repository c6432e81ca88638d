/* loss.c: losses and their gradients (see loss.h).
 *
 * Gradients are written by hand from these identities (z the logits, p their
 * softmax, e_a the one-hot of action a):
 *   d log p_a / dz = e_a - p
 *   d H / dz_j     = -p_j (log p_j + H)
 *   d KL(t || p) / dz = p * sum(t) - t
 * Where PyTorch splits the gradient of min/max at ties, the tie only happens
 * when both branches have the same derivative, so taking one side agrees.
 * Every gradient is checked against central differences in tests/unit.
 */
#include "common/nn/loss.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "common/nn/rowstats.h"

float nn_ppo_loss(const float *logits, const int *actions,
                  const float *old_logp, const float *adv, int B, int A,
                  float clip_eps, float coef, float *dlogits,
                  nn_ppo_stats_t *stats) {
  double sum = 0.0, kl = 0.0;
  long clipped = 0;
  const double lo = 1.0 - (double)clip_eps, hi = 1.0 + (double)clip_eps;
  for (int b = 0; b < B; b++) {
    const float *z = logits + (size_t)b * A;
    float mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    double logr = (double)((z[actions[b]] - mx) - ls) - (double)old_logp[b];
    double r = exp(logr), a = adv[b];
    double rc = r < lo ? lo : (r > hi ? hi : r);
    double s1 = r * a, s2 = rc * a;
    sum += s1 < s2 ? s1 : s2;
    kl += (r - 1.0) - logr;
    clipped += fabs(r - 1.0) > (double)clip_eps;
    /* The min takes the unclipped branch (derivative r * adv per unit of
     * log p) unless the clipped one is smaller, which needs r outside the
     * clip range, where the clipped branch is flat. */
    if (dlogits && s1 <= s2) {
      float g = (float)(-(double)coef * s1 / B);
      float *d = dlogits + (size_t)b * A;
      for (int j = 0; j < A; j++)
        d[j] -= g * expf((z[j] - mx) - ls);
      d[actions[b]] += g;
    }
  }
  if (stats) {
    stats->clip_frac = B > 0 ? (float)((double)clipped / B) : 0.0f;
    stats->approx_kl = B > 0 ? (float)(kl / B) : 0.0f;
  }
  return B > 0 ? (float)(-sum / B) : 0.0f;
}

float nn_value_loss(const float *v, const float *ret, const float *old_v, int B,
                    float clip, float coef, float *dv) {
  double sum = 0.0;
  int clipping = old_v && clip > 0.0f;
  for (int b = 0; b < B; b++) {
    double e1 = (double)v[b] - ret[b], sq = e1 * e1;
    int take = 1; /* the unclipped branch carries the gradient */
    if (clipping) {
      double dlt = (double)v[b] - old_v[b];
      dlt = dlt < -clip ? -clip : (dlt > clip ? clip : dlt);
      double e2 = (double)old_v[b] + dlt - ret[b];
      if (e2 * e2 > sq) {
        sq = e2 * e2; /* clipped branch: v outside the band, flat in v */
        take = 0;
      }
    }
    sum += sq;
    if (dv && take)
      dv[b] += (float)((double)coef * e1 / B);
  }
  return B > 0 ? (float)(0.5 * sum / B) : 0.0f;
}

float nn_entropy_loss(const float *logits, int B, int A, float coef,
                      float *dlogits) {
  double total = 0.0;
  for (int b = 0; b < B; b++) {
    const float *z = logits + (size_t)b * A;
    float mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    double h = 0.0;
    for (int j = 0; j < A; j++) {
      float lp = (z[j] - mx) - ls;
      h -= (double)expf(lp) * lp;
    }
    total += h;
    if (dlogits) {
      float *d = dlogits + (size_t)b * A;
      float s = (float)((double)coef / B), hf = (float)h;
      for (int j = 0; j < A; j++) {
        float lp = (z[j] - mx) - ls;
        d[j] += -s * expf(lp) * (lp + hf);
      }
    }
  }
  return B > 0 ? (float)(total / B) : 0.0f;
}

float nn_kd_loss_norm(const float *teacher, const float *logits,
                      const float *mask, int B, int A, float norm, float coef,
                      float *dlogits) {
  assert(norm > 0.0f);
  double total = 0.0;
  for (int b = 0; b < B; b++) {
    double mb = mask ? (double)mask[b] : 1.0;
    if (mb == 0.0)
      continue;
    const float *z = logits + (size_t)b * A;
    const float *t = teacher + (size_t)b * A;
    float mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    double kl = 0.0, tsum = 0.0;
    for (int j = 0; j < A; j++) {
      tsum += t[j];
      if (t[j] > 0.0f)
        kl += (double)t[j] * ((double)logf(t[j]) - (double)((z[j] - mx) - ls));
    }
    total += mb * kl;
    if (dlogits) {
      float *d = dlogits + (size_t)b * A;
      float s = (float)((double)coef * mb / norm), ts = (float)tsum;
      for (int j = 0; j < A; j++)
        d[j] += s * (expf((z[j] - mx) - ls) * ts - t[j]);
    }
  }
  return (float)(total / norm);
}

float nn_kd_loss(const float *teacher, const float *logits, const float *mask,
                 int B, int A, float coef, float *dlogits) {
  double m = 0.0;
  for (int b = 0; b < B; b++)
    m += mask ? (double)mask[b] : 1.0;
  return nn_kd_loss_norm(teacher, logits, mask, B, A, (float)(m > 1.0 ? m : 1.0),
                         coef, dlogits);
}
