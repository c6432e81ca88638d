/* ops.c: layer and distribution kernels (see ops.h).
 *
 * The matrix products go to OpenBLAS sgemm with the transposes chosen so that
 * no operand is ever copied or transposed in memory (w is (in, out)):
 *   forward   y  = x w        sgemm(N, N)  (B x out, k = in)
 *   weights   dw += x^T dz    sgemm(T, N)  (in x out, k = B)
 *   input     dx = dz w^T     sgemm(N, T)  (B x in, k = out)
 * At batch 4096 the three forms run at the same speed; at actor batch sizes
 * the untransposed forward is the fast one (see NN_SMALL_MNK).
 * Everything around them (bias, activation, bias gradient) is one fused pass
 * over the output. Those passes are compiled three times (AVX-512, AVX2+FMA
 * and baseline x86-64; meson.build allows FMA contraction, which only these
 * clones can use) and picked at load time, so the binary stays portable and
 * the pass costs a small fraction of the sgemm it follows (built for
 * baseline x86-64 only, the bias + tanh pass was 16% of the benchmark's
 * profile).
 */
#include "common/nn/ops.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "common/core/error.h"
#include "common/nn/rowstats.h"

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define NN_CLONES \
  __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#endif
#endif
#ifndef NN_CLONES
#define NN_CLONES
#endif

const char *nn_act_name(nn_act_t act) {
  switch (act) {
  case NN_ACT_NONE: return "none";
  case NN_ACT_TANH: return "tanh";
  case NN_ACT_RELU: return "relu";
  }
  return "?";
}

int nn_act_parse(const char *s, nn_act_t *out) {
  static const nn_act_t all[] = {NN_ACT_NONE, NN_ACT_TANH, NN_ACT_RELU};
  for (int i = 0; i < 3; i++)
    if (strcmp(s, nn_act_name(all[i])) == 0) {
      *out = all[i];
      return HINT_OK;
    }
  return HINT_EINVAL;
}

/* tanh as the odd/even rational minimax fit used by Eigen (generic_fast_tanh_
 * float): within a few ulp on [-7.99, 7.99], where float tanh is within 2.4e-7
 * of +-1 and the clamp is exact to that. For |x| < 4e-4 tanh(x) == x in
 * float. No branches, no libm call, so a row vectorises. */
static inline float fast_tanh(float x0) {
  const float c = 7.99881172180175781f;
  float x = x0 > c ? c : (x0 < -c ? -c : x0);
  float x2 = x * x;
  float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
  p = x2 * p + -8.60467152213735e-11f;
  p = x2 * p + 5.12229709037114e-08f;
  p = x2 * p + 1.48572235717979e-05f;
  p = x2 * p + 6.37261928875436e-04f;
  p = x2 * p + 4.89352455891786e-03f;
  p = x * p;
  float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
  q = x2 * q + 2.26843463243900e-03f;
  q = x2 * q + 4.89352518554385e-03f;
  float r = p / q;
  return fabsf(x0) < 0.0004f ? x0 : r;
}

NN_CLONES
static void bias_act(float *restrict y, const float *restrict b, int B, int out,
                     nn_act_t act) {
  for (int r = 0; r < B; r++) {
    float *restrict yr = y + (size_t)r * out;
    switch (act) {
    case NN_ACT_NONE:
      for (int j = 0; j < out; j++)
        yr[j] += b[j];
      break;
    case NN_ACT_TANH:
      for (int j = 0; j < out; j++)
        yr[j] = fast_tanh(yr[j] + b[j]);
      break;
    case NN_ACT_RELU:
      for (int j = 0; j < out; j++) {
        float z = yr[j] + b[j];
        yr[j] = z > 0.0f ? z : 0.0f;
      }
      break;
    }
  }
}

/* dy <- dy * act'(y) in place, and db += column sums of the result. */
NN_CLONES
static void act_back_bias(const float *restrict y, float *restrict dy,
                          float *restrict db, int B, int out, nn_act_t act) {
  for (int r = 0; r < B; r++) {
    const float *restrict yr = y + (size_t)r * out;
    float *restrict dr = dy + (size_t)r * out;
    switch (act) {
    case NN_ACT_NONE:
      break;
    case NN_ACT_TANH:
      for (int j = 0; j < out; j++)
        dr[j] *= 1.0f - yr[j] * yr[j];
      break;
    case NN_ACT_RELU:
      for (int j = 0; j < out; j++)
        dr[j] = yr[j] > 0.0f ? dr[j] : 0.0f;
      break;
    }
    for (int j = 0; j < out; j++)
      db[j] += dr[j];
  }
}

/* OpenBLAS (0.3.16 and later, on AVX-512 builds) sends an untransposed sgemm
 * with M * N * K <= 1e6 to small-matrix kernels that skip operand packing.
 * A forward a little above that size (an actor's batch of 64 through a
 * 128-wide layer is 1.05e6) is split into row blocks that qualify: measured
 * 12.7 us instead of 17.3 us for 64 x 128 x 128. Products beyond four blocks
 * take the packed path in one call, where blocks would only add overhead. */
#define NN_SMALL_MNK 1000000.0

void nn_linear_forward(const float *x, const float *w, const float *b, float *y,
                       int B, int in, int out, nn_act_t act) {
  if (B <= 0)
    return;
  double per_row = (double)in * out;
  int rows = B;
  if (B * per_row > NN_SMALL_MNK && B * per_row <= 4.0 * NN_SMALL_MNK) {
    rows = (int)(NN_SMALL_MNK / per_row);
    rows = rows < 1 ? 1 : rows;
  }
  for (int r = 0; r < B; r += rows) {
    int m = B - r < rows ? B - r : rows;
    float *yr = y + (size_t)r * out;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, out, in, 1.0f,
                x + (size_t)r * in, in, w, out, 0.0f, yr, out);
    bias_act(yr, b, m, out, act);
  }
}

void nn_linear_backward(const float *x, const float *w, const float *y,
                        float *dy, float *dw, float *db, float *dx, int B,
                        int in, int out, nn_act_t act) {
  if (B <= 0)
    return;
  act_back_bias(y, dy, db, B, out, act);
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, in, out, B, 1.0f, x, in,
              dy, out, 1.0f, dw, out);
  if (dx)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, in, out, 1.0f, dy,
                out, w, out, 0.0f, dx, in);
}

/* Clones stay static: clang 14 does not emit a callable symbol for an
 * external target_clones function. */
NN_CLONES
static void tanh_kernel(const float *x, float *y, long n) {
  for (long i = 0; i < n; i++)
    y[i] = fast_tanh(x[i]);
}

void nn_tanh(const float *x, float *y, long n) { tanh_kernel(x, y, n); }

void nn_relu(const float *x, float *y, long n) {
  for (long i = 0; i < n; i++)
    y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void nn_tanh_backward(const float *y, const float *dy, float *dx, long n) {
  for (long i = 0; i < n; i++)
    dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

void nn_relu_backward(const float *y, const float *dy, float *dx, long n) {
  for (long i = 0; i < n; i++)
    dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void nn_softmax(const float *logits, float *out, int B, int A) {
  for (int r = 0; r < B; r++) {
    const float *z = logits + (size_t)r * A;
    float *o = out + (size_t)r * A, mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    for (int j = 0; j < A; j++)
      o[j] = expf((z[j] - mx) - ls);
  }
}

void nn_log_softmax(const float *logits, float *out, int B, int A) {
  for (int r = 0; r < B; r++) {
    const float *z = logits + (size_t)r * A;
    float *o = out + (size_t)r * A, mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    for (int j = 0; j < A; j++)
      o[j] = (z[j] - mx) - ls;
  }
}

void nn_sample(const float *logits, int B, int A, hint_rng_t *rng, int *actions,
               float *logp) {
  for (int r = 0; r < B; r++) {
    const float *z = logits + (size_t)r * A;
    float mx = z[0];
    for (int j = 1; j < A; j++)
      mx = z[j] > mx ? z[j] : mx;
    double total = 0.0;
    for (int j = 0; j < A; j++)
      total += (double)expf(z[j] - mx);
    /* Inverse CDF over one uniform on the unnormalised weights: u < total
     * always, and the last index with mass catches the rounding left at the
     * top of the cumulative sum. */
    double u = hint_rng_double(rng) * total, acc = 0.0;
    int a = -1, last = 0;
    for (int j = 0; j < A && a < 0; j++) {
      double e = (double)expf(z[j] - mx);
      if (e > 0.0)
        last = j;
      acc += e;
      if (u < acc)
        a = j;
    }
    if (a < 0) /* the loop ran to the end, so last is the last with mass */
      a = last;
    actions[r] = a;
    if (logp)
      logp[r] = (z[a] - mx) - (float)log(total);
  }
}

void nn_argmax(const float *logits, int B, int A, int *actions) {
  for (int r = 0; r < B; r++) {
    const float *z = logits + (size_t)r * A;
    int best = 0;
    for (int j = 1; j < A; j++)
      if (z[j] > z[best])
        best = j;
    actions[r] = best;
  }
}

void nn_log_prob(const float *logits, const int *actions, int B, int A,
                 float *logp) {
  for (int r = 0; r < B; r++) {
    const float *z = logits + (size_t)r * A;
    float mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    logp[r] = (z[actions[r]] - mx) - ls;
  }
}

void nn_entropy(const float *logits, int B, int A, float *h) {
  for (int r = 0; r < B; r++) {
    const float *z = logits + (size_t)r * A;
    float mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    double s = 0.0;
    for (int j = 0; j < A; j++) {
      float lp = (z[j] - mx) - ls;
      s -= (double)expf(lp) * lp;
    }
    h[r] = (float)s;
  }
}

void nn_kl(const float *p, const float *q_logits, int B, int A, float *kl) {
  for (int r = 0; r < B; r++) {
    const float *z = q_logits + (size_t)r * A;
    const float *pr = p + (size_t)r * A;
    float mx, ls;
    nn_row_stats(z, A, &mx, &ls);
    double s = 0.0;
    for (int j = 0; j < A; j++)
      if (pr[j] > 0.0f)
        s += (double)pr[j] * (log((double)pr[j]) - ((double)(z[j] - mx) - ls));
    kl[r] = (float)s;
  }
}
