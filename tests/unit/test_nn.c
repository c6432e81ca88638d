/* test_nn.c: the neural-network core, proven rather than trusted.
 *
 * - Every kernel is compared with an independent double-precision reference
 *   written here as plain loops (this is also "the BLAS path against a naive
 *   loop").
 * - Every analytic gradient (each activation, the linear layer with each
 *   activation, each loss, a whole MLP, and an MLP under the combined
 *   student loss) is compared with central
 *   differences of that double reference, h = 1e-6. The analytic side is the
 *   float32 product code, so the tolerance is float-sized: |g - fd| <=
 *   GC_ATOL * max|fd| + GC_RTOL * |fd| (GC_* below).
 * - Adam and clipping against values computed by hand; serialisation round
 *   trips and rejects malformed blobs; allocation failures leak nothing.
 * - Overfit: a small policy must fit 64 labels (loss < 0.02 within 300 Adam
 *   steps) and a critic 64 targets (loss < 1e-3 within 500 steps).
 */
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/nn/nn.h"

#include "tests/unit/test_util.h"

#include <float.h>
#include <string.h>

#define GC_H 1e-6
#define GC_ATOL 2e-5
#define GC_RTOL 2e-4

static void fill(hint_rng_t *r, float *x, size_t n, double lo, double hi) {
  for (size_t i = 0; i < n; i++)
    x[i] = (float)hint_rng_uniform(r, lo, hi);
}

static float *fbuf(size_t n) {
  float *p = hint_calloc(n ? n : 1, sizeof(float));
  assert_non_null(p);
  return p;
}
static double *dbuf(size_t n) {
  double *p = hint_calloc(n ? n : 1, sizeof(double));
  assert_non_null(p);
  return p;
}

/* Compares an analytic float gradient with a double finite-difference one. */
static void check_grad(const char *what, const float *g, const double *fd,
                       size_t n) {
  double scale = 0.0;
  for (size_t i = 0; i < n; i++)
    scale = fabs(fd[i]) > scale ? fabs(fd[i]) : scale;
  assert_true(scale > 0.0); /* a gradcheck of a zero gradient proves nothing */
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)g[i] - fd[i]);
    if (!(d <= GC_ATOL * scale + GC_RTOL * fabs(fd[i]))) {
      print_error("%s[%zu]: analytic %.9g vs numeric %.9g (scale %.3g)\n", what,
                  i, (double)g[i], fd[i], scale);
      fail();
    }
  }
}

/* ---- double references ---------------------------------------------------- */

static double ref_act(nn_act_t act, double z) {
  switch (act) {
  case NN_ACT_TANH: return tanh(z);
  case NN_ACT_RELU: return z > 0 ? z : 0;
  case NN_ACT_NONE: return z;
  }
  return z;
}

/* y (B, out) = act(x w + b), w (in, out), all double. */
static void ref_linear(const double *x, const double *w, const double *b,
                       double *y, int B, int in, int out, nn_act_t act) {
  for (int r = 0; r < B; r++)
    for (int o = 0; o < out; o++) {
      double s = b[o];
      for (int i = 0; i < in; i++)
        s += x[(size_t)r * in + i] * w[(size_t)i * out + o];
      y[(size_t)r * out + o] = ref_act(act, s);
    }
}

/* A whole MLP in double from a flat parameter vector in the nn layout
 * (layer by layer, weight then bias). out (B, out_dim). */
static void ref_mlp(const nn_mlp_desc_t *d, const double *theta, const double *x,
                    int B, double *out) {
  int width = d->in_dim;
  for (int l = 0; l < d->n_hidden; l++)
    width = d->hidden[l] > width ? d->hidden[l] : width;
  double *a = dbuf((size_t)B * width), *c = dbuf((size_t)B * width);
  memcpy(a, x, (size_t)B * d->in_dim * sizeof(double));
  const double *p = theta;
  int in = d->in_dim;
  for (int l = 0; l <= d->n_hidden; l++) {
    int last = l == d->n_hidden, o = last ? d->out_dim : d->hidden[l];
    ref_linear(a, p, p + (size_t)o * in, last ? out : c, B, in, o,
               last ? NN_ACT_NONE : d->act);
    p += (size_t)o * in + o;
    double *t = a;
    a = c;
    c = t;
    in = o;
  }
  hint_free(a);
  hint_free(c);
}

static void ref_log_softmax(const double *z, double *lp, int A) {
  double mx = z[0], s = 0;
  for (int j = 1; j < A; j++)
    mx = z[j] > mx ? z[j] : mx;
  for (int j = 0; j < A; j++)
    s += exp(z[j] - mx);
  for (int j = 0; j < A; j++)
    lp[j] = z[j] - mx - log(s);
}

/* Losses in double, written from the formulas in loss.h. */
typedef struct {
  int B, A;
  const int *actions;
  const float *old_logp, *adv, *ret, *old_v, *teacher, *mask;
  float clip_eps, vclip, kd_norm; /* kd_norm <= 0: max(1, sum mask) */
} ref_batch_t;

static double ref_ppo(const ref_batch_t *rb, const double *z) {
  double s = 0, lp[16];
  for (int b = 0; b < rb->B; b++) {
    ref_log_softmax(z + (size_t)b * rb->A, lp, rb->A);
    double r = exp(lp[rb->actions[b]] - rb->old_logp[b]);
    double rc = fmin(fmax(r, 1.0 - rb->clip_eps), 1.0 + rb->clip_eps);
    s += fmin(r * rb->adv[b], rc * rb->adv[b]);
  }
  return -s / rb->B;
}

static double ref_entropy(const ref_batch_t *rb, const double *z) {
  double s = 0, lp[16];
  for (int b = 0; b < rb->B; b++) {
    ref_log_softmax(z + (size_t)b * rb->A, lp, rb->A);
    for (int j = 0; j < rb->A; j++)
      s -= exp(lp[j]) * lp[j];
  }
  return s / rb->B;
}

static double ref_kd(const ref_batch_t *rb, const double *z) {
  double s = 0, msum = 0, lp[16];
  for (int b = 0; b < rb->B; b++) {
    double m = rb->mask ? rb->mask[b] : 1.0;
    msum += m;
    ref_log_softmax(z + (size_t)b * rb->A, lp, rb->A);
    for (int j = 0; j < rb->A; j++) {
      double t = rb->teacher[(size_t)b * rb->A + j];
      if (t > 0)
        s += m * t * (log(t) - lp[j]);
    }
  }
  double norm = rb->kd_norm > 0 ? rb->kd_norm : fmax(1.0, msum);
  return s / norm;
}

static double ref_value(const ref_batch_t *rb, const double *v) {
  double s = 0;
  for (int b = 0; b < rb->B; b++) {
    double e1 = v[b] - rb->ret[b], sq = e1 * e1;
    if (rb->old_v && rb->vclip > 0) {
      double dl = fmin(fmax(v[b] - rb->old_v[b], -rb->vclip), rb->vclip);
      double e2 = rb->old_v[b] + dl - rb->ret[b];
      sq = fmax(sq, e2 * e2);
    }
    s += sq;
  }
  return 0.5 * s / rb->B;
}

/* Central differences of f over n doubles of x (restored afterwards). */
typedef double (*ref_fn)(const ref_batch_t *, const double *);
static void fd_grad(ref_fn f, const ref_batch_t *rb, double *x, size_t n,
                    double *out) {
  for (size_t i = 0; i < n; i++) {
    double x0 = x[i];
    x[i] = x0 + GC_H;
    double fp = f(rb, x);
    x[i] = x0 - GC_H;
    double fm = f(rb, x);
    x[i] = x0;
    out[i] = (fp - fm) / (2 * GC_H);
  }
}

static void to_double(const float *x, double *y, size_t n) {
  for (size_t i = 0; i < n; i++)
    y[i] = x[i];
}

/* ---- arena, Adam, serialisation ------------------------------------------ */

static void test_params_arena(void **state) {
  (void)state;
  long live = hint_alloc_live();
  nn_params_t p;
  assert_int_equal(nn_params_init(&p, 0), HINT_EINVAL);
  assert_int_equal(nn_params_init(&p, 10), HINT_OK);
  assert_true(((uintptr_t)p.w % 64) == 0 && ((uintptr_t)p.g % 64) == 0);
  assert_true(((uintptr_t)p.m % 64) == 0 && ((uintptr_t)p.v % 64) == 0);
  size_t a, b;
  assert_int_equal(nn_params_reserve(&p, 4, &a), HINT_OK);
  assert_int_equal(nn_params_reserve(&p, 7, &b), HINT_ERANGE);
  assert_int_equal(nn_params_reserve(&p, 6, &b), HINT_OK);
  assert_int_equal(a, 0);
  assert_int_equal(b, 4);
  assert_int_equal(nn_params_reserve(&p, 1, &b), HINT_ERANGE);
  for (int i = 0; i < 10; i++)
    p.g[i] = (float)(i % 3) - 1.0f; /* -1 0 1 -1 0 1 -1 0 1 -1: norm sqrt(7) */
  assert_true(fabs(nn_params_grad_norm(&p) - sqrt(7.0)) < 1e-12);
  nn_params_zero_grad(&p);
  assert_true(nn_params_grad_norm(&p) == 0.0);
  /* clip: (3, 4) has norm 5; to 1 scales by 1 / (5 + 1e-6), as torch does. */
  p.g[0] = 3.0f;
  p.g[1] = 4.0f;
  assert_true(fabs(nn_params_clip_grad(&p, 1.0) - 5.0) < 1e-12);
  float want[2] = {0.59999988f, 0.79999984f};
  assert_close(p.g, want, 2, 0, 1e-6);
  /* no clip when already inside */
  assert_true(fabs(nn_params_clip_grad(&p, 10.0) - 1.0) < 1e-6);
  assert_close(p.g, want, 2, 0, 1e-6);
  nn_params_fini(&p);
  nn_params_fini(&p); /* idempotent */
  assert_int_equal(hint_alloc_live(), live);
}

static void test_adam_hand_values(void **state) {
  (void)state;
  nn_params_t p;
  assert_int_equal(nn_params_init(&p, 3), HINT_OK);
  nn_adam_t opt = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                   .max_grad_norm = 0.0f};
  float w0[3] = {0.5f, -0.25f, 1.0f};
  memcpy(p.w, w0, sizeof w0);
  /* Step 1, g = (1, -2, 0.5): m = 0.1 g, v = 0.001 g^2, bias corrections 0.1
   * and 0.001, so the step is lr * g / |g| = 0.1 * sign(g). */
  float g1[3] = {1.0f, -2.0f, 0.5f};
  memcpy(p.g, g1, sizeof g1);
  double norm;
  assert_int_equal(nn_adam_step(&p, &opt, &norm), HINT_OK);
  assert_true(fabs(norm - sqrt(5.25)) < 1e-6);
  float w1[3] = {0.4f, -0.15f, 0.9f};
  assert_close(p.w, w1, 3, 1e-6, 0);
  /* Step 2, g = (1, 1, -1): m = (0.19, -0.08, -0.055),
   * v = (0.001999, 0.004996, 0.00124975), bias corrections 0.19, 0.001999:
   * steps 0.1 * (1, -0.4210526/1.5809016, -0.2894737/0.7906882). */
  float g2[3] = {1.0f, 1.0f, -1.0f};
  memcpy(p.g, g2, sizeof g2);
  assert_int_equal(nn_adam_step(&p, &opt, NULL), HINT_OK);
  float w2[3] = {0.3f, -0.123366297f, 0.936610354f};
  assert_close(p.w, w2, 3, 2e-6, 0);
  float m2[3] = {0.19f, -0.08f, -0.055f};
  float v2[3] = {0.001999f, 0.004996f, 0.00124975f};
  assert_close(p.m, m2, 3, 0, 1e-5);
  /* beta2 is the float 0.99900001, so 1 - beta2 = 0.00099998713, 1.3e-5
   * relative below 0.001: v carries that rounding, as it does in torch. */
  assert_close(p.v, v2, 3, 0, 3e-5);
  assert_int_equal(p.step, 2);

  /* A non-finite gradient is refused and changes nothing. */
  float wsave[3], msave[3];
  memcpy(wsave, p.w, sizeof wsave);
  memcpy(msave, p.m, sizeof msave);
  p.g[1] = NAN;
  assert_int_equal(nn_adam_step(&p, &opt, &norm), HINT_EDIVERGED);
  assert_false(isfinite(norm));
  assert_memory_equal(p.w, wsave, sizeof wsave);
  assert_memory_equal(p.m, msave, sizeof msave);
  assert_int_equal(p.step, 2);

  /* With clipping on, the update sees the clipped gradient. From fresh state
   * the first step is lr * sign(g) whatever the scale, so check the moments:
   * g = (3, 4, 0) clipped to norm 1 gives m = 0.1 * (0.6, 0.8, 0). */
  nn_params_fini(&p);
  assert_int_equal(nn_params_init(&p, 3), HINT_OK);
  opt.max_grad_norm = 1.0f;
  p.g[0] = 3.0f;
  p.g[1] = 4.0f;
  assert_int_equal(nn_adam_step(&p, &opt, &norm), HINT_OK);
  assert_true(fabs(norm - 5.0) < 1e-6);
  float mc[3] = {0.06f, 0.08f, 0.0f};
  assert_close(p.m, mc, 3, 1e-8, 1e-5);
  nn_params_fini(&p);
}

static void test_serialise(void **state) {
  (void)state;
  hint_rng_t r;
  hint_rng_seed(&r, 3, 0, 0);
  nn_params_t p, q;
  assert_int_equal(nn_params_init(&p, 37), HINT_OK);
  assert_int_equal(nn_params_init(&q, 37), HINT_OK);
  fill(&r, p.w, 37, -1, 1);
  fill(&r, p.m, 37, -1, 1);
  fill(&r, p.v, 37, 0, 1);
  p.step = 12345;
  size_t cap = nn_params_blob_size(&p, 1), len;
  assert_int_equal(cap, 32 + 3 * 37 * 4);
  assert_int_equal(nn_params_blob_size(&p, 0), 32 + 37 * 4);
  unsigned char *blob = hint_malloc(cap);
  assert_non_null(blob);
  assert_int_equal(nn_params_save(&p, 1, blob, cap - 1, &len), HINT_ERANGE);
  assert_int_equal(nn_params_save(&p, 1, blob, cap, &len), HINT_OK);
  assert_int_equal(len, cap);
  assert_int_equal(nn_params_load(&q, blob, len), HINT_OK);
  assert_memory_equal(q.w, p.w, 37 * sizeof(float));
  assert_memory_equal(q.m, p.m, 37 * sizeof(float));
  assert_memory_equal(q.v, p.v, 37 * sizeof(float));
  assert_int_equal(q.step, 12345);

  /* Malformed blobs are rejected and leave the arena unchanged. */
  float before[37];
  memcpy(before, q.w, sizeof before);
  assert_int_equal(nn_params_load(&q, blob, 31), HINT_ETRUNC);
  assert_int_equal(nn_params_load(&q, blob, len - 1), HINT_ETRUNC);
  blob[0] ^= 1;
  assert_int_equal(nn_params_load(&q, blob, len), HINT_EMAGIC);
  blob[0] ^= 1;
  blob[4] = 2;
  assert_int_equal(nn_params_load(&q, blob, len), HINT_EVERSION);
  blob[4] = 1;
  blob[8] = 4;
  assert_int_equal(nn_params_load(&q, blob, len), HINT_EPARSE);
  blob[8] = 1;
  blob[16] = 36;
  assert_int_equal(nn_params_load(&q, blob, len), HINT_ESHAPE);
  blob[16] = 37;
  float nan = NAN, neg = -1.0f, keep;
  memcpy(&keep, blob + 32 + 5 * 4, 4);
  memcpy(blob + 32 + 5 * 4, &nan, 4);
  assert_int_equal(nn_params_load(&q, blob, len), HINT_EPARSE);
  memcpy(blob + 32 + 5 * 4, &keep, 4);
  memcpy(&keep, blob + 32 + (2 * 37 + 3) * 4, 4); /* v[3] */
  memcpy(blob + 32 + (2 * 37 + 3) * 4, &neg, 4);
  assert_int_equal(nn_params_load(&q, blob, len), HINT_EPARSE);
  memcpy(blob + 32 + (2 * 37 + 3) * 4, &keep, 4);
  assert_int_equal(nn_params_load(&q, blob, len + 1), HINT_EPARSE);
  assert_memory_equal(q.w, before, sizeof before);

  /* Parameters only: the optimiser restarts. */
  assert_int_equal(nn_params_save(&p, 0, blob, cap, &len), HINT_OK);
  assert_int_equal(len, 32 + 37 * 4);
  assert_int_equal(nn_params_load(&q, blob, len), HINT_OK);
  assert_memory_equal(q.w, p.w, 37 * sizeof(float));
  assert_int_equal(q.step, 0);
  for (int i = 0; i < 37; i++)
    assert_true(q.m[i] == 0.0f && q.v[i] == 0.0f);
  hint_free(blob);
  nn_params_fini(&p);
  nn_params_fini(&q);
}

static void test_alloc_failures_leak_nothing(void **state) {
  (void)state;
  long live = hint_alloc_live();
  nn_mlp_desc_t d = {.in_dim = 5, .out_dim = 3, .n_hidden = 2, .hidden = {8, 4},
                     .act = NN_ACT_TANH};
  nn_params_t p;
  hint_alloc_fail_after(0);
  assert_int_equal(nn_params_init(&p, 100), HINT_ENOMEM);
  hint_alloc_fail_after(-1);
  nn_params_fini(&p);
  assert_int_equal(nn_params_init(&p, nn_mlp_param_count(&d)), HINT_OK);
  nn_mlp_t m;
  assert_int_equal(nn_mlp_init(&m, &d, &p), HINT_OK);
  hint_rng_t r;
  hint_rng_seed(&r, 1, 0, 0);
  hint_alloc_fail_after(0);
  assert_int_equal(nn_mlp_init_orthogonal(&m, &r, 1.0f, 1.0f), HINT_ENOMEM);
  nn_mlp_ws_t ws;
  assert_int_equal(nn_mlp_ws_init(&ws, &m, 16), HINT_ENOMEM);
  hint_alloc_fail_after(-1);
  nn_mlp_ws_fini(&ws);
  /* A second network does not fit in the arena. */
  nn_mlp_t m2;
  assert_int_equal(nn_mlp_init(&m2, &d, &p), HINT_ERANGE);
  nn_mlp_desc_t bad = d;
  bad.hidden[1] = 0;
  assert_int_equal(nn_mlp_init(&m2, &bad, &p), HINT_EINVAL);
  assert_int_equal(nn_mlp_param_count(&bad), 0);
  nn_params_fini(&p);
  assert_int_equal(hint_alloc_live(), live);
}

/* ---- kernels -------------------------------------------------------------- */

static void test_tanh_accuracy(void **state) {
  (void)state;
  /* Every float in [-10, 10] on a fine grid, plus tiny and huge inputs. */
  double worst = 0.0;
  enum { N = 400001 };
  float *x = fbuf(N), *y = fbuf(N);
  for (int i = 0; i < N; i++)
    x[i] = (float)(-10.0 + 20.0 * i / (N - 1));
  x[0] = 1e-30f;
  x[1] = -3e-5f;
  x[2] = 80.0f;
  x[3] = -1e30f;
  nn_tanh(x, y, N);
  for (int i = 0; i < N; i++) {
    double t = tanh((double)x[i]);
    double err = fabs((double)y[i] - t) / fmax(fabs(t), 1e-30);
    worst = err > worst ? err : worst;
  }
  /* 6e-7 relative is about 5 float ulps. */
  if (worst > 6e-7)
    print_error("fast tanh worst relative error %.3g\n", worst);
  assert_true(worst <= 6e-7);
  hint_free(x);
  hint_free(y);
}

/* The standalone activations: forward against libm / max, and their
 * backward (from the forward output) against central differences. */
static void test_activation_gradcheck(void **state) {
  (void)state;
  enum { N = 37 };
  hint_rng_t r;
  hint_rng_seed(&r, 13, 0, 0);
  float x[N], y[N], dy[N], dx[N], want[N];
  double fd[N];
  fill(&r, x, N, -3, 3);
  fill(&r, dy, N, -1, 1);
  for (int a = 1; a < 3; a++) {
    nn_act_t act = (nn_act_t)a;
    if (act == NN_ACT_TANH) {
      nn_tanh(x, y, N);
      nn_tanh_backward(y, dy, dx, N);
    } else {
      nn_relu(x, y, N);
      nn_relu_backward(y, dy, dx, N);
    }
    for (int i = 0; i < N; i++) {
      want[i] = (float)ref_act(act, x[i]);
      fd[i] = dy[i] * (ref_act(act, x[i] + GC_H) - ref_act(act, x[i] - GC_H)) /
              (2 * GC_H);
    }
    assert_close(y, want, N, 1e-7, 1e-6);
    check_grad(act == NN_ACT_TANH ? "tanh dx" : "relu dx", dx, fd, N);
    /* in place: dx may alias dy */
    float d2[N];
    memcpy(d2, dy, sizeof d2);
    if (act == NN_ACT_TANH)
      nn_tanh_backward(y, d2, d2, N);
    else
      nn_relu_backward(y, d2, d2, N);
    assert_memory_equal(d2, dx, sizeof d2);
  }
}

/* nn_linear_forward/backward (sgemm) against naive double loops, for shapes
 * the networks use and odd ones that defeat any tiling assumption; 64x128x128
 * and 150x100x130 take the row-blocked forward (B * in * out just above 1e6,
 * blocks of 61 + 3 and 76 + 74 rows). */
static void test_linear_blas_vs_naive(void **state) {
  (void)state;
  static const int shapes[][3] = {{1, 1, 1},     {7, 13, 5},     {64, 52, 128},
                                  {33, 128, 6},  {200, 17, 128}, {64, 128, 128},
                                  {150, 100, 130}};
  hint_rng_t r;
  hint_rng_seed(&r, 11, 0, 0);
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int a = 0; a < 3; a++) {
      nn_act_t act = (nn_act_t)a;
      int B = shapes[s][0], in = shapes[s][1], out = shapes[s][2];
      size_t nx = (size_t)B * in, nw = (size_t)out * in, ny = (size_t)B * out;
      float *x = fbuf(nx), *w = fbuf(nw), *b = fbuf(out), *y = fbuf(ny);
      float *dy = fbuf(ny), *dw = fbuf(nw), *db = fbuf(out), *dx = fbuf(nx);
      double *xd = dbuf(nx), *wd = dbuf(nw), *bd = dbuf(out), *yd = dbuf(ny);
      fill(&r, x, nx, -1, 1);
      fill(&r, w, nw, -0.5, 0.5);
      fill(&r, b, out, -0.5, 0.5);
      fill(&r, dy, ny, -1, 1);
      fill(&r, dw, nw, -1, 1); /* gradients accumulate onto what is there */
      fill(&r, db, out, -1, 1);
      to_double(x, xd, nx);
      to_double(w, wd, nw);
      to_double(b, bd, out);
      ref_linear(xd, wd, bd, yd, B, in, out, act);
      nn_linear_forward(x, w, b, y, B, in, out, act);
      float *yf = fbuf(ny);
      for (size_t i = 0; i < ny; i++)
        yf[i] = (float)yd[i];
      assert_close(y, yf, ny, 1e-6, 1e-5);

      /* Naive backward from the float forward output y. */
      double *dz = dbuf(ny), *dwr = dbuf(nw), *dbr = dbuf(out), *dxr = dbuf(nx);
      for (size_t i = 0; i < ny; i++) {
        double yi = y[i];
        double dact = act == NN_ACT_TANH ? 1 - yi * yi
                      : act == NN_ACT_RELU ? (yi > 0 ? 1 : 0) : 1;
        dz[i] = dy[i] * dact;
      }
      for (int o = 0; o < out; o++)
        dbr[o] = db[o];
      for (size_t i = 0; i < nw; i++)
        dwr[i] = dw[i];
      for (int rr = 0; rr < B; rr++)
        for (int o = 0; o < out; o++) {
          double g = dz[(size_t)rr * out + o];
          dbr[o] += g;
          for (int i = 0; i < in; i++) {
            dwr[(size_t)i * out + o] += g * x[(size_t)rr * in + i];
            dxr[(size_t)rr * in + i] += g * w[(size_t)i * out + o];
          }
        }
      nn_linear_backward(x, w, y, dy, dw, db, dx, B, in, out, act);
      float *cmp = fbuf(nw > nx ? nw : nx);
      for (size_t i = 0; i < nw; i++)
        cmp[i] = (float)dwr[i];
      assert_close(dw, cmp, nw, 1e-5, 1e-5);
      for (int i = 0; i < out; i++)
        cmp[i] = (float)dbr[i];
      assert_close(db, cmp, out, 1e-5, 1e-5);
      for (size_t i = 0; i < nx; i++)
        cmp[i] = (float)dxr[i];
      assert_close(dx, cmp, nx, 1e-5, 1e-5);
      void *all[] = {x, w, b, y, dy, dw, db, dx, xd, wd, bd, yd, yf, dz, dwr,
                     dbr, dxr, cmp};
      for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        hint_free(all[i]);
    }
}

/* Gradient check of one linear layer for each activation: loss = sum(y * R),
 * analytic via nn_linear_backward (dy = R) against central differences of
 * the double reference in w, b and x. */
static void test_linear_gradcheck(void **state) {
  (void)state;
  enum { B = 6, IN = 9, OUT = 7 };
  hint_rng_t r;
  hint_rng_seed(&r, 5, 0, 0);
  for (int a = 0; a < 3; a++) {
    nn_act_t act = (nn_act_t)a;
    float x[B * IN], w[OUT * IN], b[OUT], y[B * OUT], R[B * OUT], dy[B * OUT];
    float dw[OUT * IN] = {0}, db[OUT] = {0}, dx[B * IN];
    fill(&r, x, B * IN, -1, 1);
    fill(&r, w, OUT * IN, -0.6, 0.6);
    fill(&r, b, OUT, -0.3, 0.3);
    fill(&r, R, B * OUT, -1, 1);
    nn_linear_forward(x, w, b, y, B, IN, OUT, act);
    memcpy(dy, R, sizeof R);
    nn_linear_backward(x, w, y, dy, dw, db, dx, B, IN, OUT, act);

    double xd[B * IN], wd[OUT * IN], bd[OUT], yd[B * OUT];
    to_double(x, xd, B * IN);
    to_double(w, wd, OUT * IN);
    to_double(b, bd, OUT);
    double *targets[3] = {wd, bd, xd};
    size_t sizes[3] = {OUT * IN, OUT, B * IN};
    const float *grads[3] = {dw, db, dx};
    const char *names[3] = {"linear dw", "linear db", "linear dx"};
    for (int t = 0; t < 3; t++) {
      double fd[OUT * IN > B * IN ? OUT * IN : B * IN];
      for (size_t i = 0; i < sizes[t]; i++) {
        double v0 = targets[t][i], f[2];
        for (int s = 0; s < 2; s++) {
          targets[t][i] = v0 + (s ? -GC_H : GC_H);
          ref_linear(xd, wd, bd, yd, B, IN, OUT, act);
          f[s] = 0;
          for (int k = 0; k < B * OUT; k++)
            f[s] += yd[k] * R[k];
        }
        targets[t][i] = v0;
        fd[i] = (f[0] - f[1]) / (2 * GC_H);
      }
      check_grad(names[t], grads[t], fd, sizes[t]);
    }
  }
}

static void test_distributions(void **state) {
  (void)state;
  enum { B = 5, A = 6 };
  hint_rng_t r;
  hint_rng_seed(&r, 8, 0, 0);
  float z[B * A], p[B * A], lp[B * A], h[B], kl[B], lpa[B], t[B * A];
  fill(&r, z, B * A, -4, 4);
  z[0] = 80.0f; /* large logits must not overflow */
  z[1] = 79.0f;
  int act[B] = {0, 5, 2, 3, 1};
  nn_softmax(z, p, B, A);
  nn_log_softmax(z, lp, B, A);
  nn_entropy(z, B, A, h);
  nn_log_prob(z, act, B, A, lpa);
  for (int b = 0; b < B; b++) {
    double zd[A], lr[A], hs = 0, tsum = 0;
    to_double(z + b * A, zd, A);
    ref_log_softmax(zd, lr, A);
    float pf[A], lf[A];
    for (int j = 0; j < A; j++) {
      pf[j] = (float)exp(lr[j]);
      lf[j] = (float)lr[j];
      hs -= exp(lr[j]) * lr[j];
      t[b * A + j] = (float)hint_rng_uniform(&r, 0, 1) * (j != 2);
      tsum += t[b * A + j];
    }
    for (int j = 0; j < A; j++)
      t[b * A + j] = (float)(t[b * A + j] / tsum);
    assert_close(p + b * A, pf, A, 1e-7, 1e-6);
    assert_close(lp + b * A, lf, A, 1e-6, 1e-6);
    float hf = (float)hs, lpf = (float)lr[act[b]];
    assert_close(h + b, &hf, 1, 1e-6, 1e-6);
    assert_close(lpa + b, &lpf, 1, 1e-6, 1e-6);
  }
  nn_kl(t, z, B, A, kl);
  for (int b = 0; b < B; b++) {
    double zd[A], lr[A], s = 0;
    to_double(z + b * A, zd, A);
    ref_log_softmax(zd, lr, A);
    for (int j = 0; j < A; j++)
      if (t[b * A + j] > 0)
        s += t[b * A + j] * (log(t[b * A + j]) - lr[j]);
    float kf = (float)s;
    assert_close(kl + b, &kf, 1, 1e-6, 1e-5);
    assert_true(kl[b] >= 0.0f);
  }
  int am[B];
  nn_argmax(z, B, A, am);
  assert_int_equal(am[0], 0);
  for (int b = 0; b < B; b++)
    for (int j = 0; j < A; j++)
      assert_true(z[b * A + j] <= z[b * A + am[b]]);

  /* Sampling frequencies: 120000 draws from one row; each frequency within
   * 5 standard errors of its probability, and the reported log-prob exact. */
  enum { N = 120000, CH = 1000 };
  float row[CH * A], lps[CH];
  int acts[CH];
  float zr[A] = {0.5f, -1.0f, 2.0f, 0.0f, -30.0f, 1.0f};
  for (int i = 0; i < CH; i++)
    memcpy(row + i * A, zr, sizeof zr);
  float pr[A];
  nn_softmax(zr, pr, 1, A);
  long count[A] = {0};
  for (int n = 0; n < N; n += CH) {
    nn_sample(row, CH, A, &r, acts, lps);
    for (int i = 0; i < CH; i++) {
      assert_true(acts[i] >= 0 && acts[i] < A);
      count[acts[i]]++;
      float want;
      nn_log_prob(zr, &acts[i], 1, A, &want);
      assert_close(&lps[i], &want, 1, 1e-6, 1e-6);
    }
  }
  for (int j = 0; j < A; j++) {
    double f = (double)count[j] / N, se = sqrt(pr[j] * (1 - pr[j]) / N);
    assert_true(fabs(f - pr[j]) <= 5 * se + 1e-9);
  }
  assert_int_equal(count[4], 0);
}

/* ---- losses ---------------------------------------------------------------- */

enum { LB = 12, LA = 5 };

typedef struct {
  float z[LB * LA], old_logp[LB], adv[LB], teacher[LB * LA], mask[LB];
  float v[LB], ret[LB], old_v[LB];
  int actions[LB];
} loss_data_t;

/* A batch that exercises every branch: ratios below, inside and above the
 * clip range with both signs of advantage, away from the kinks so central
 * differences are valid; masked and unmasked rows; teacher zeros. */
static void loss_data(loss_data_t *d, hint_rng_t *r) {
  static const double ratio[6] = {0.6, 0.9, 1.05, 1.5, 0.7, 1.4};
  fill(r, d->z, LB * LA, -2, 2);
  float lp[LB];
  for (int b = 0; b < LB; b++)
    d->actions[b] = (int)hint_rng_below(r, LA);
  nn_log_prob(d->z, d->actions, LB, LA, lp);
  for (int b = 0; b < LB; b++) {
    d->old_logp[b] = lp[b] - (float)log(ratio[b % 6]);
    d->adv[b] = (float)((b % 4 < 2 ? 1 : -1) * hint_rng_uniform(r, 0.2, 2));
    d->mask[b] = (float)(b % 3 != 0);
    double s = 0;
    for (int j = 0; j < LA; j++) {
      double t = (j + b) % 4 == 0 ? 0 : hint_rng_uniform(r, 0.05, 1);
      d->teacher[b * LA + j] = (float)t;
      s += t;
    }
    for (int j = 0; j < LA; j++)
      d->teacher[b * LA + j] = (float)(d->teacher[b * LA + j] / s);
    d->ret[b] = (float)hint_rng_uniform(r, -2, 2);
    d->old_v[b] = (float)hint_rng_uniform(r, -2, 2);
    /* v - old_v in {-0.5, -0.05, 0.05, 0.5}: both sides of the clip 0.2 */
    static const double dv[4] = {-0.5, -0.05, 0.05, 0.5};
    d->v[b] = d->old_v[b] + (float)dv[b % 4];
  }
}

static void test_loss_gradcheck(void **state) {
  (void)state;
  hint_rng_t r;
  hint_rng_seed(&r, 21, 0, 0);
  loss_data_t d;
  loss_data(&d, &r);
  ref_batch_t rb = {.B = LB, .A = LA, .actions = d.actions,
                    .old_logp = d.old_logp, .adv = d.adv, .ret = d.ret,
                    .old_v = d.old_v, .teacher = d.teacher, .mask = d.mask,
                    .clip_eps = 0.2f, .vclip = 0.2f};
  double zd[LB * LA], fd[LB * LA];
  to_double(d.z, zd, LB * LA);
  const float coef = 0.7f; /* gradients are coef-scaled and accumulate */

  /* PPO: value, gradient, clip fraction (ratios 0.6 and 1.5, 0.7 and 1.4 are
   * outside 1 +- 0.2: 4 of every 6 rows) and approx KL. */
  float g[LB * LA] = {0}, gc[LB * LA];
  nn_ppo_stats_t st;
  float L = nn_ppo_loss(d.z, d.actions, d.old_logp, d.adv, LB, LA, 0.2f, coef,
                        g, &st);
  float Lr = (float)ref_ppo(&rb, zd);
  assert_close(&L, &Lr, 1, 1e-6, 1e-5);
  assert_true(fabs(st.clip_frac - 8.0 / 12.0) < 1e-6);
  double klw = 0;
  for (int b = 0; b < LB; b++) {
    static const double ratio[6] = {0.6, 0.9, 1.05, 1.5, 0.7, 1.4};
    klw += ratio[b % 6] - 1 - log(ratio[b % 6]);
  }
  assert_true(fabs(st.approx_kl - klw / LB) < 1e-5);
  fd_grad(ref_ppo, &rb, zd, LB * LA, fd);
  for (int i = 0; i < LB * LA; i++)
    gc[i] = g[i] / coef;
  check_grad("ppo dlogits", gc, fd, LB * LA);
  /* Clipped rows with the "wrong" sign get no gradient at all. */
  for (int b = 0; b < LB; b++) {
    static const double ratio[6] = {0.6, 0.9, 1.05, 1.5, 0.7, 1.4};
    double rt = ratio[b % 6];
    int flat = (rt > 1.2 && d.adv[b] > 0) || (rt < 0.8 && d.adv[b] < 0);
    if (flat)
      for (int j = 0; j < LA; j++)
        assert_true(g[b * LA + j] == 0.0f);
  }

  /* Entropy. */
  memset(g, 0, sizeof g);
  L = nn_entropy_loss(d.z, LB, LA, coef, g);
  Lr = (float)ref_entropy(&rb, zd);
  assert_close(&L, &Lr, 1, 1e-6, 1e-5);
  fd_grad(ref_entropy, &rb, zd, LB * LA, fd);
  for (int i = 0; i < LB * LA; i++)
    gc[i] = g[i] / coef;
  check_grad("entropy dlogits", gc, fd, LB * LA);

  /* Masked KD, default normaliser and an explicit one; with and without a
   * mask. */
  for (int variant = 0; variant < 3; variant++) {
    rb.mask = variant == 1 ? NULL : d.mask;
    rb.kd_norm = variant == 2 ? 30.0f : 0.0f;
    memset(g, 0, sizeof g);
    L = variant == 2 ? nn_kd_loss_norm(d.teacher, d.z, rb.mask, LB, LA, 30.0f,
                                       coef, g)
                     : nn_kd_loss(d.teacher, d.z, rb.mask, LB, LA, coef, g);
    Lr = (float)ref_kd(&rb, zd);
    assert_close(&L, &Lr, 1, 1e-6, 1e-5);
    fd_grad(ref_kd, &rb, zd, LB * LA, fd);
    for (int i = 0; i < LB * LA; i++)
      gc[i] = g[i] / coef;
    check_grad("kd dlogits", gc, fd, LB * LA);
  }
  /* An all-zero mask gives zero loss and gradient (normaliser max(1, 0)). */
  float zero[LB] = {0};
  memset(g, 0, sizeof g);
  assert_true(nn_kd_loss(d.teacher, d.z, zero, LB, LA, 1.0f, g) == 0.0f);
  for (int i = 0; i < LB * LA; i++)
    assert_true(g[i] == 0.0f);

  /* Value loss, clipped and plain. */
  for (int clipped = 0; clipped < 2; clipped++) {
    rb.old_v = clipped ? d.old_v : NULL;
    float gv[LB] = {0}, gvc[LB];
    double vd[LB], fdv[LB];
    to_double(d.v, vd, LB);
    L = nn_value_loss(d.v, d.ret, rb.old_v, LB, 0.2f, coef, gv);
    Lr = (float)ref_value(&rb, vd);
    assert_close(&L, &Lr, 1, 1e-6, 1e-5);
    fd_grad(ref_value, &rb, vd, LB, fdv);
    for (int i = 0; i < LB; i++)
      gvc[i] = gv[i] / coef;
    check_grad("value dv", gvc, fdv, LB);
  }
}

/* ---- MLP ------------------------------------------------------------------- */

/* Whole-MLP gradient check over the flat parameter slice and the input, for
 * tanh and relu, two networks sharing one arena (the second one checked, so
 * slice offsets are exercised). loss = sum(out * R). */
static void test_mlp_gradcheck(void **state) {
  (void)state;
  enum { B = 5 };
  hint_rng_t r;
  hint_rng_seed(&r, 31, 0, 0);
  for (int a = 1; a < 3; a++) {
    nn_mlp_desc_t first = {.in_dim = 3, .out_dim = 2, .n_hidden = 1,
                           .hidden = {4}, .act = NN_ACT_TANH};
    nn_mlp_desc_t d = {.in_dim = 6, .out_dim = 4, .n_hidden = 2,
                       .hidden = {9, 7}, .act = (nn_act_t)a};
    nn_params_t p;
    size_t n1 = nn_mlp_param_count(&first), n = nn_mlp_param_count(&d);
    assert_int_equal(n, 9 * 6 + 9 + 7 * 9 + 7 + 4 * 7 + 4);
    assert_int_equal(nn_params_init(&p, n1 + n), HINT_OK);
    nn_mlp_t m0, m;
    assert_int_equal(nn_mlp_init(&m0, &first, &p), HINT_OK);
    assert_int_equal(nn_mlp_init(&m, &d, &p), HINT_OK);
    assert_int_equal(m.offset, n1);
    assert_true(m.layer[0].w == p.w + n1);
    assert_true(m.layer[2].b + 4 == p.w + p.n);
    nn_mlp_init_uniform(&m0, &r);
    assert_int_equal(nn_mlp_init_orthogonal(&m, &r, 1.3f, 1.0f), HINT_OK);
    /* Non-zero biases so their gradient check means something. */
    for (int l = 0; l < m.n_layers; l++)
      fill(&r, m.layer[l].b, m.layer[l].out, -0.2, 0.2);
    nn_mlp_ws_t ws;
    assert_int_equal(nn_mlp_ws_init(&ws, &m, 8), HINT_OK);
    float x[B * 6], out[B * 4], R[B * 4], dx[B * 6];
    fill(&r, x, B * 6, -1, 1);
    fill(&r, R, B * 4, -1, 1);
    nn_params_zero_grad(&p);
    nn_mlp_forward(&m, &ws, x, B, out);
    nn_mlp_backward(&m, &ws, R, B, dx);
    for (size_t i = 0; i < n1; i++)
      assert_true(p.g[i] == 0.0f); /* the other network is untouched */

    double *theta = dbuf(n), *fd = dbuf(n), xd[B * 6], od[B * 4];
    to_double(p.w + n1, theta, n);
    to_double(x, xd, B * 6);
    ref_mlp(&d, theta, xd, B, od);
    float of[B * 4];
    for (int i = 0; i < B * 4; i++)
      of[i] = (float)od[i];
    assert_close(out, of, B * 4, 1e-6, 1e-5);
    for (int t = 0; t < 2; t++) {
      double *v = t ? xd : theta;
      size_t cnt = t ? B * 6 : n;
      for (size_t i = 0; i < cnt; i++) {
        double v0 = v[i], f[2];
        for (int s = 0; s < 2; s++) {
          v[i] = v0 + (s ? -GC_H : GC_H);
          ref_mlp(&d, theta, xd, B, od);
          f[s] = 0;
          for (int k = 0; k < B * 4; k++)
            f[s] += od[k] * R[k];
        }
        v[i] = v0;
        fd[i] = (f[0] - f[1]) / (2 * GC_H);
      }
      check_grad(t ? "mlp dx" : "mlp dtheta", t ? dx : p.g + n1, fd, cnt);
    }
    /* Gradients accumulate: a second identical backward doubles them. */
    float *g1 = fbuf(n);
    memcpy(g1, p.g + n1, n * sizeof(float));
    nn_mlp_forward(&m, &ws, x, B, out);
    nn_mlp_backward(&m, &ws, R, B, NULL);
    for (size_t i = 0; i < n; i++)
      g1[i] *= 2.0f;
    assert_close(p.g + n1, g1, n, 1e-6, 1e-6);
    hint_free(g1);
    hint_free(theta);
    hint_free(fd);
    nn_mlp_ws_fini(&ws);
    nn_params_fini(&p);
  }
}

/* The student loss end to end: a policy MLP under PPO + entropy bonus +
 * masked KD, gradient over all its parameters against central differences of
 * the double MLP composed with the double losses. */
typedef struct {
  const nn_mlp_desc_t *d;
  const double *x;
  ref_batch_t rb;
  float c_ent, kd_coef;
} student_ref_t;

static double student_loss(const student_ref_t *s, const double *theta) {
  double z[LB * LA];
  ref_mlp(s->d, theta, s->x, LB, z);
  return ref_ppo(&s->rb, z) - s->c_ent * ref_entropy(&s->rb, z) +
         s->kd_coef * ref_kd(&s->rb, z);
}

static void test_student_loss_gradcheck(void **state) {
  (void)state;
  hint_rng_t r;
  hint_rng_seed(&r, 41, 0, 0);
  nn_mlp_desc_t d = {.in_dim = 7, .out_dim = LA, .n_hidden = 2,
                     .hidden = {10, 8}, .act = NN_ACT_TANH};
  nn_params_t p;
  size_t n = nn_mlp_param_count(&d);
  assert_int_equal(nn_params_init(&p, n), HINT_OK);
  nn_mlp_t m;
  assert_int_equal(nn_mlp_init(&m, &d, &p), HINT_OK);
  nn_mlp_init_uniform(&m, &r);
  nn_mlp_ws_t ws;
  assert_int_equal(nn_mlp_ws_init(&ws, &m, LB), HINT_OK);
  float x[LB * 7];
  fill(&r, x, LB * 7, -1, 1);
  loss_data_t ld;
  loss_data(&ld, &r);
  nn_mlp_forward(&m, &ws, x, LB, ld.z);
  /* Re-derive old log-probs from the network's own logits so the ratios sit
   * at the intended distances from the clip range. */
  float lp[LB];
  nn_log_prob(ld.z, ld.actions, LB, LA, lp);
  static const double ratio[6] = {0.6, 0.9, 1.05, 1.5, 0.7, 1.4};
  for (int b = 0; b < LB; b++)
    ld.old_logp[b] = lp[b] - (float)log(ratio[b % 6]);
  const float c_ent = 0.01f, kd_coef = 0.5f;
  float dz[LB * LA] = {0};
  nn_ppo_loss(ld.z, ld.actions, ld.old_logp, ld.adv, LB, LA, 0.2f, 1.0f, dz,
              NULL);
  nn_entropy_loss(ld.z, LB, LA, -c_ent, dz);
  nn_kd_loss(ld.teacher, ld.z, ld.mask, LB, LA, kd_coef, dz);
  nn_params_zero_grad(&p);
  nn_mlp_backward(&m, &ws, dz, LB, NULL);

  double xd[LB * 7];
  to_double(x, xd, LB * 7);
  student_ref_t s = {.d = &d, .x = xd,
                     .rb = {.B = LB, .A = LA, .actions = ld.actions,
                            .old_logp = ld.old_logp, .adv = ld.adv,
                            .teacher = ld.teacher, .mask = ld.mask,
                            .clip_eps = 0.2f},
                     .c_ent = c_ent, .kd_coef = kd_coef};
  double *theta = dbuf(n), *fd = dbuf(n);
  to_double(p.w, theta, n);
  for (size_t i = 0; i < n; i++) {
    double v0 = theta[i];
    theta[i] = v0 + GC_H;
    double fp = student_loss(&s, theta);
    theta[i] = v0 - GC_H;
    double fm = student_loss(&s, theta);
    theta[i] = v0;
    fd[i] = (fp - fm) / (2 * GC_H);
  }
  check_grad("student loss dtheta", p.g, fd, n);
  hint_free(theta);
  hint_free(fd);
  nn_mlp_ws_fini(&ws);
  nn_params_fini(&p);
}

/* The benchmark's network at its inference shape: the sgemm path against the
 * double reference, and orthogonal init really orthogonal. */
static void test_mlp_policy_shape(void **state) {
  (void)state;
  enum { B = 64 };
  nn_mlp_desc_t d = {.in_dim = 52, .out_dim = 6, .n_hidden = 2,
                     .hidden = {128, 128}, .act = NN_ACT_TANH};
  nn_params_t p;
  size_t n = nn_mlp_param_count(&d);
  assert_int_equal(nn_params_init(&p, n), HINT_OK);
  nn_mlp_t m;
  assert_int_equal(nn_mlp_init(&m, &d, &p), HINT_OK);
  hint_rng_t r;
  hint_rng_seed(&r, 51, 0, 0);
  assert_int_equal(nn_mlp_init_orthogonal(&m, &r, sqrtf(2.0f), 0.01f), HINT_OK);
  /* Our w is (in, out); torch's matrix W = w^T. Layer 0: W is (128, 52)
   * with orthonormal columns times the gain, so the rows of w satisfy
   * w w^T = 2 I (52 x 52). Layer 2: W is (6, 128) with orthonormal rows times
   * 0.01, so the columns of w satisfy w^T w = 1e-4 I (6 x 6). */
  const nn_linear_t *L0 = &m.layer[0], *L2 = &m.layer[2];
  for (int i = 0; i < 52; i++)
    for (int j = 0; j < 52; j++) {
      double s = 0;
      for (int k = 0; k < 128; k++)
        s += (double)L0->w[i * 128 + k] * L0->w[j * 128 + k];
      assert_true(fabs(s - (i == j ? 2.0 : 0.0)) < 1e-5);
    }
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++) {
      double s = 0;
      for (int k = 0; k < 128; k++)
        s += (double)L2->w[k * 6 + i] * L2->w[k * 6 + j];
      assert_true(fabs(s - (i == j ? 1e-4 : 0.0)) < 1e-9);
    }
  for (int l = 0; l < 3; l++)
    for (int i = 0; i < m.layer[l].out; i++)
      assert_true(m.layer[l].b[i] == 0.0f);
  /* Non-trivial output scale for the comparison. */
  for (int i = 0; i < 6 * 128; i++)
    L2->w[i] *= 100.0f;
  nn_mlp_ws_t ws;
  assert_int_equal(nn_mlp_ws_init(&ws, &m, B), HINT_OK);
  float *x = fbuf(B * 52), out[B * 6], of[B * 6];
  fill(&r, x, B * 52, -1, 1);
  nn_mlp_forward(&m, &ws, x, B, out);
  double *theta = dbuf(n), *xd = dbuf(B * 52), od[B * 6];
  to_double(p.w, theta, n);
  to_double(x, xd, B * 52);
  ref_mlp(&d, theta, xd, B, od);
  for (int i = 0; i < B * 6; i++)
    of[i] = (float)od[i];
  assert_close(out, of, B * 6, 1e-5, 1e-5);
  hint_free(x);
  hint_free(theta);
  hint_free(xd);
  nn_mlp_ws_fini(&ws);
  nn_params_fini(&p);
}

/* ---- overfit --------------------------------------------------------------- */

/* A policy (8 -> 32 -> 32 -> 4, tanh) and a critic (8 -> 32 -> 32 -> 1, relu)
 * in one arena, trained jointly with one Adam: the policy by KD against
 * one-hot labels (cross-entropy), the critic by value regression. Both must
 * fit 64 random points: KD loss < 0.02 within 300 steps, value loss < 1e-3
 * within 500 steps. */
static void test_overfit(void **state) {
  (void)state;
  enum { B = 64, IN = 8, A = 4 };
  hint_rng_t r;
  hint_rng_seed(&r, 61, 0, 0);
  nn_mlp_desc_t pd = {.in_dim = IN, .out_dim = A, .n_hidden = 2,
                      .hidden = {32, 32}, .act = NN_ACT_TANH};
  nn_mlp_desc_t cd = {.in_dim = IN, .out_dim = 1, .n_hidden = 2,
                      .hidden = {32, 32}, .act = NN_ACT_RELU};
  nn_params_t p;
  assert_int_equal(
      nn_params_init(&p, nn_mlp_param_count(&pd) + nn_mlp_param_count(&cd)),
      HINT_OK);
  nn_mlp_t pol, cri;
  assert_int_equal(nn_mlp_init(&pol, &pd, &p), HINT_OK);
  assert_int_equal(nn_mlp_init(&cri, &cd, &p), HINT_OK);
  assert_int_equal(nn_mlp_init_orthogonal(&pol, &r, 5.0f / 3.0f, 0.01f), HINT_OK);
  assert_int_equal(nn_mlp_init_orthogonal(&cri, &r, sqrtf(2.0f), 1.0f), HINT_OK);
  nn_mlp_ws_t wp, wc;
  assert_int_equal(nn_mlp_ws_init(&wp, &pol, B), HINT_OK);
  assert_int_equal(nn_mlp_ws_init(&wc, &cri, B), HINT_OK);
  float x[B * IN], onehot[B * A] = {0}, ret[B], z[B * A], v[B], dz[B * A], dv[B];
  fill(&r, x, B * IN, -1, 1);
  fill(&r, ret, B, -1, 1);
  for (int b = 0; b < B; b++)
    onehot[b * A + hint_rng_below(&r, A)] = 1.0f;
  nn_adam_t opt = nn_adam_defaults();
  opt.lr = 1e-2f;
  float kd = 0, vl = 0, kd0 = 0, vl0 = 0;
  int kd_at = -1, vl_at = -1;
  for (int step = 0; step < 500; step++) {
    nn_params_zero_grad(&p);
    memset(dz, 0, sizeof dz);
    memset(dv, 0, sizeof dv);
    nn_mlp_forward(&pol, &wp, x, B, z);
    nn_mlp_forward(&cri, &wc, x, B, v);
    kd = nn_kd_loss(onehot, z, NULL, B, A, 1.0f, dz);
    vl = nn_value_loss(v, ret, NULL, B, 0.0f, 1.0f, dv);
    if (step == 0) {
      kd0 = kd;
      vl0 = vl;
    }
    if (kd_at < 0 && kd < 0.02f)
      kd_at = step;
    if (vl_at < 0 && vl < 1e-3f)
      vl_at = step;
    nn_mlp_backward(&pol, &wp, dz, B, NULL);
    nn_mlp_backward(&cri, &wc, dv, B, NULL);
    assert_int_equal(nn_adam_step(&p, &opt, NULL), HINT_OK);
  }
  print_message("overfit: kd %.4f -> %.5f (below 0.02 at step %d), value %.4f "
                "-> %.6f (below 1e-3 at step %d)\n",
                kd0, kd, kd_at, vl0, vl, vl_at);
  assert_true(kd0 > 1.0f); /* started near log 4 */
  assert_true(kd_at >= 0 && kd_at < 300);
  assert_true(vl_at >= 0 && vl_at < 500);
  nn_mlp_ws_fini(&wp);
  nn_mlp_ws_fini(&wc);
  nn_params_fini(&p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_params_arena),
      cmocka_unit_test(test_adam_hand_values),
      cmocka_unit_test(test_serialise),
      cmocka_unit_test(test_alloc_failures_leak_nothing),
      cmocka_unit_test(test_tanh_accuracy),
      cmocka_unit_test(test_activation_gradcheck),
      cmocka_unit_test(test_linear_blas_vs_naive),
      cmocka_unit_test(test_linear_gradcheck),
      cmocka_unit_test(test_distributions),
      cmocka_unit_test(test_loss_gradcheck),
      cmocka_unit_test(test_mlp_gradcheck),
      cmocka_unit_test(test_student_loss_gradcheck),
      cmocka_unit_test(test_mlp_policy_shape),
      cmocka_unit_test(test_overfit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
