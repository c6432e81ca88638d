/* bench_nn.c: speed of common/nn on the student's networks.
 *
 * Networks: a tanh policy 52 -> 128 -> 128 -> 6 and a tanh critic
 * 52 -> 128 -> 128 -> 1 in one arena. Figures (one JSON object per line):
 *   sgemm             OpenBLAS sgemm GFLOP/s on the layer shapes (reference)
 *   nn_infer_b64      samples/s: policy forward + categorical sample + critic
 *                     forward at batch 64 (an actor step), with OpenBLAS on
 *                     `threads` threads; _blas1 with one. Baseline: the same
 *                     sgemm calls alone, the floor on OpenBLAS
 *   nn_train_b4096    samples/s: forward, the four student losses, backward
 *                     of both networks, Adam with clipping, at batch 4096
 *   sgemm_peak        OpenBLAS sgemm GFLOP/s, 1024^3, on `threads` threads,
 *                     measured right before the figure it divides
 *   nn_fwdbwd_b4096   GFLOP/s of forward + backward alone (matrix FLOPs), with
 *                     sgemm_peak as baseline and the fraction as ratio
 *   *_par             the same two training figures with the policy and the
 *                     critic on two threads of their own (OpenBLAS single-
 *                     threaded in each): they own disjoint slices of the arena
 *                     and separate workspaces, so no locking is needed; Adam
 *                     then runs once over the whole arena
 * tests/bench/bench_nn.py runs this next to the same work in PyTorch and adds
 * the PyTorch baselines and ratios.
 *
 * Usage: bench_nn [threads] [seconds per figure]   (defaults 2, 1.0)
 */
#include <cblas.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/nn/nn.h"

enum { OBS = 52, HID = 128, ACTS = 6, B_INFER = 64, B_TRAIN = 4096 };

static double min_seconds = 1.0;

/* Runs fn until min_seconds have passed (after one warm-up call) and returns
 * the best of three timing windows, in calls per second: the machine is
 * shared, and the best window is the least disturbed one. */
typedef void (*work_fn)(void *);
static double rate(work_fn fn, void *arg) {
  fn(arg);
  double best = 0.0;
  for (int rep = 0; rep < 3; rep++) {
    long calls = 0;
    double t0 = hint_now_s(), t;
    do {
      fn(arg);
      calls++;
      t = hint_now_s() - t0;
    } while (t < min_seconds / 3.0);
    double r = calls / t;
    best = r > best ? r : best;
  }
  return best;
}

typedef struct {
  int M, N, K;
  CBLAS_TRANSPOSE ta, tb;
  float *a, *b, *c;
} gemm_t;

static void gemm_work(void *p) {
  gemm_t *g = p;
  int lda = g->ta == CblasNoTrans ? g->K : g->M;
  int ldb = g->tb == CblasNoTrans ? g->N : g->K;
  cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->M, g->N, g->K, 1.0f, g->a, lda,
              g->b, ldb, 0.0f, g->c, g->N);
}

typedef struct {
  nn_params_t p;
  nn_mlp_t pol, cri;
  nn_mlp_ws_t wp, wc;
  hint_rng_t rng;
  nn_adam_t opt;
  float *obs, *logits, *values, *dlogits, *dvalues, *old_logp, *adv, *ret,
      *old_v, *teacher, *mask, *logp;
  int *act;
  int B;
} bench_t;

static void infer_work(void *arg) {
  bench_t *s = arg;
  nn_mlp_forward(&s->pol, &s->wp, s->obs, B_INFER, s->logits);
  nn_sample(s->logits, B_INFER, ACTS, &s->rng, s->act, s->logp);
  nn_mlp_forward(&s->cri, &s->wc, s->obs, B_INFER, s->values);
}

/* One network's share of a training step: forward, its losses, backward. */
static void policy_half(bench_t *s, int with_loss) {
  int B = s->B;
  nn_mlp_forward(&s->pol, &s->wp, s->obs, B, s->logits);
  if (with_loss) {
    memset(s->dlogits, 0, sizeof(float) * B * ACTS);
    nn_ppo_loss(s->logits, s->act, s->old_logp, s->adv, B, ACTS, 0.2f, 1.0f,
                s->dlogits, NULL);
    nn_entropy_loss(s->logits, B, ACTS, -0.01f, s->dlogits);
    nn_kd_loss(s->teacher, s->logits, s->mask, B, ACTS, 0.5f, s->dlogits);
  }
  nn_mlp_backward(&s->pol, &s->wp, s->dlogits, B, NULL);
}

static void critic_half(bench_t *s, int with_loss) {
  int B = s->B;
  nn_mlp_forward(&s->cri, &s->wc, s->obs, B, s->values);
  if (with_loss) {
    memset(s->dvalues, 0, sizeof(float) * B);
    nn_value_loss(s->values, s->ret, s->old_v, B, 0.2f, 0.5f, s->dvalues);
  }
  nn_mlp_backward(&s->cri, &s->wc, s->dvalues, B, NULL);
}

typedef struct {
  bench_t *s;
  int with_loss;
} half_arg_t;

static void *critic_thread(void *p) {
  half_arg_t *a = p;
  critic_half(a->s, a->with_loss);
  return NULL;
}

static int par = 0; /* run the two halves on two threads */

static void both_halves(bench_t *s, int with_loss) {
  if (!par) {
    policy_half(s, with_loss);
    critic_half(s, with_loss);
    return;
  }
  pthread_t t;
  half_arg_t a = {s, with_loss};
  if (pthread_create(&t, NULL, critic_thread, &a) != 0)
    abort();
  policy_half(s, with_loss);
  pthread_join(t, NULL);
}

/* Gradients accumulate across calls here; only the time matters. */
static void fwdbwd_work(void *arg) { both_halves(arg, 0); }

static void train_work(void *arg) {
  bench_t *s = arg;
  nn_params_zero_grad(&s->p);
  both_halves(s, 1);
  /* Learning rate 0 keeps the weights, and so the work, identical across
   * calls; the update loop runs in full either way. */
  if (nn_adam_step(&s->p, &s->opt, NULL) != HINT_OK)
    abort();
}

static float *falloc(size_t n, hint_rng_t *r, double lo, double hi) {
  float *x = hint_malloc(n * sizeof(float));
  if (!x) {
    fprintf(stderr, "bench_nn: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++)
    x[i] = (float)hint_rng_uniform(r, lo, hi);
  return x;
}

static void json(const char *name, const char *config, double value,
                 const char *unit, double baseline, const char *baseline_name) {
  printf("{\"name\": \"%s\", \"config\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"",
         name, config, value, unit);
  if (baseline > 0)
    printf(", \"baseline\": %.6g, \"baseline_name\": \"%s\", \"ratio\": %.4g",
           baseline, baseline_name, value / baseline);
  printf("}\n");
}

static void set_threads(int t) {
#ifdef HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(t);
#else
  (void)t;
#endif
}

/* The sgemm calls of one inference step alone (same shapes, operands,
 * transposes and row blocks as nn_linear_forward): the floor any
 * implementation on OpenBLAS pays. */
static float *floor_out;
static void infer_sgemm_work(void *arg) {
  bench_t *s = arg;
  const nn_mlp_t *nets[2] = {&s->pol, &s->cri};
  for (int k = 0; k < 2; k++)
    for (int l = 0; l < nets[k]->n_layers; l++) {
      const nn_linear_t *L = &nets[k]->layer[l];
      const float *in = l == 0 ? s->obs : floor_out + ((l + 1) % 2) * B_INFER * HID;
      float *out = floor_out + (l % 2) * B_INFER * HID;
      double per_row = (double)L->in * L->out;
      int rows = B_INFER;
      if (B_INFER * per_row > 1e6 && B_INFER * per_row <= 4e6)
        rows = (int)(1e6 / per_row);
      for (int r = 0; r < B_INFER; r += rows) {
        int m = B_INFER - r < rows ? B_INFER - r : rows;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, L->out, L->in,
                    1.0f, in + (size_t)r * L->in, L->in, L->w, L->out, 0.0f,
                    out + (size_t)r * L->out, L->out);
      }
    }
}

static double sgemm_square_peak(int threads) {
  gemm_t g = {1024, 1024, 1024, CblasNoTrans, CblasNoTrans, NULL, NULL, NULL};
  hint_rng_t r;
  hint_rng_seed(&r, 9, 0, 0);
  g.a = falloc((size_t)1024 * 1024, &r, -1, 1);
  g.b = falloc((size_t)1024 * 1024, &r, -1, 1);
  g.c = falloc((size_t)1024 * 1024, &r, -1, 1);
  set_threads(threads);
  double gf = rate(gemm_work, &g) * 2.0 * 1024 * 1024 * 1024 / 1e9;
  hint_free(g.a);
  hint_free(g.b);
  hint_free(g.c);
  return gf;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (argc > 2)
    min_seconds = atof(argv[2]);
  if (threads < 1)
    threads = 1;
  set_threads(threads);
  char cfg[256];
  hint_rng_t r;
  hint_rng_seed(&r, 7, 0, 0);

  /* For reference: sgemm on the training and inference layer shapes. */
  static const struct { int M, N, K; CBLAS_TRANSPOSE ta, tb; } shapes[] = {
      {B_TRAIN, HID, HID, CblasNoTrans, CblasNoTrans}, /* forward */
      {HID, HID, B_TRAIN, CblasTrans, CblasNoTrans},   /* weight gradient */
      {B_TRAIN, HID, HID, CblasNoTrans, CblasTrans},   /* input gradient */
      {B_INFER, HID, HID, CblasNoTrans, CblasNoTrans}, /* inference layer */
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    gemm_t g = {shapes[i].M, shapes[i].N, shapes[i].K, shapes[i].ta, shapes[i].tb,
                NULL, NULL, NULL};
    g.a = falloc((size_t)g.M * g.K, &r, -1, 1);
    g.b = falloc((size_t)g.K * g.N, &r, -1, 1);
    g.c = falloc((size_t)g.M * g.N, &r, -1, 1);
    double gf = rate(gemm_work, &g) * 2.0 * g.M * g.N * g.K / 1e9;
    snprintf(cfg, sizeof cfg, "M=%d N=%d K=%d %c%c threads=%d", g.M, g.N, g.K,
             g.ta == CblasNoTrans ? 'N' : 'T', g.tb == CblasNoTrans ? 'N' : 'T',
             threads);
    json("sgemm", cfg, gf, "GFLOP/s", 0, NULL);
    hint_free(g.a);
    hint_free(g.b);
    hint_free(g.c);
  }

  bench_t s;
  memset(&s, 0, sizeof s);
  nn_mlp_desc_t pd = {.in_dim = OBS, .out_dim = ACTS, .n_hidden = 2,
                      .hidden = {HID, HID}, .act = NN_ACT_TANH};
  nn_mlp_desc_t cd = pd;
  cd.out_dim = 1;
  size_t n = nn_mlp_param_count(&pd) + nn_mlp_param_count(&cd);
  if (nn_params_init(&s.p, n) || nn_mlp_init(&s.pol, &pd, &s.p) ||
      nn_mlp_init(&s.cri, &cd, &s.p) ||
      nn_mlp_init_orthogonal(&s.pol, &r, 5.0f / 3.0f, 0.01f) ||
      nn_mlp_init_orthogonal(&s.cri, &r, 5.0f / 3.0f, 1.0f) ||
      nn_mlp_ws_init(&s.wp, &s.pol, B_TRAIN) ||
      nn_mlp_ws_init(&s.wc, &s.cri, B_TRAIN)) {
    fprintf(stderr, "bench_nn: setup failed\n");
    return 1;
  }
  s.rng = r;
  s.opt = nn_adam_defaults();
  s.opt.lr = 0.0f;
  s.obs = falloc((size_t)B_TRAIN * OBS, &r, -1, 1);
  s.logits = falloc((size_t)B_TRAIN * ACTS, &r, 0, 0);
  s.values = falloc(B_TRAIN, &r, 0, 0);
  s.dlogits = falloc((size_t)B_TRAIN * ACTS, &r, -0.01, 0.01);
  s.dvalues = falloc(B_TRAIN, &r, -0.01, 0.01);
  s.old_logp = falloc(B_TRAIN, &r, -2.2, -1.4);
  s.adv = falloc(B_TRAIN, &r, -1, 1);
  s.ret = falloc(B_TRAIN, &r, -1, 1);
  s.old_v = falloc(B_TRAIN, &r, -1, 1);
  s.teacher = falloc((size_t)B_TRAIN * ACTS, &r, 1.0 / ACTS, 1.0 / ACTS);
  s.mask = falloc(B_TRAIN, &r, 1, 1);
  s.logp = falloc(B_TRAIN, &r, 0, 0);
  floor_out = falloc((size_t)2 * B_INFER * HID, &r, 0, 0);
  s.act = hint_malloc(sizeof(int) * B_TRAIN);
  if (!s.act)
    return 1;
  for (int i = 0; i < B_TRAIN; i++)
    s.act[i] = (int)hint_rng_below(&r, ACTS);

  /* Inference with OpenBLAS on `threads` threads and on one: at batch 64 the
   * second thread costs more than it gives, and an actor is free to pin
   * OpenBLAS to one thread. Each is compared with its sgemm floor. */
  for (int bt = threads; bt >= 1; bt = bt > 1 ? 1 : 0) {
    set_threads(bt);
    double infer = rate(infer_work, &s) * B_INFER;
    double floor_sps = rate(infer_sgemm_work, &s) * B_INFER;
    snprintf(cfg, sizeof cfg,
             "policy 52-128-128-6 + sample + critic 52-128-128-1, tanh, B=%d, "
             "BLAS threads=%d", B_INFER, bt);
    json(bt == threads ? "nn_infer_b64" : "nn_infer_b64_blas1", cfg, infer,
         "samples/s", floor_sps, "its sgemm calls alone");
    if (bt == 1)
      break;
  }

  s.B = B_TRAIN;
  /* Matrix FLOPs of forward + backward: forward x w^T and weight gradient
   * for every layer, input gradient for all but the first. */
  double flops = 0.0;
  const nn_mlp_t *nets[2] = {&s.pol, &s.cri};
  for (int k = 0; k < 2; k++)
    for (int l = 0; l < nets[k]->n_layers; l++) {
      double mn = 2.0 * B_TRAIN * nets[k]->layer[l].in * nets[k]->layer[l].out;
      flops += l == 0 ? 2.0 * mn : 3.0 * mn;
    }
  for (par = 0; par < 2; par++) {
    char how[64];
    if (par)
      snprintf(how, sizeof how, "policy || critic on 2 threads, BLAS threads=1");
    else
      snprintf(how, sizeof how, "sequential, BLAS threads=%d", threads);
    set_threads(par ? 1 : threads);
    double train = rate(train_work, &s) * B_TRAIN;
    snprintf(cfg, sizeof cfg,
             "fwd + ppo/value/entropy/kd + bwd + adam(clip), policy+critic, "
             "B=%d, %s", B_TRAIN, how);
    json(par ? "nn_train_b4096_par" : "nn_train_b4096", cfg, train, "samples/s",
         0, NULL);
    /* The peak is measured right before the figure it divides, on all
     * `threads` cores, so both see the same machine load. */
    int cores = par ? 2 : threads;
    double peak = sgemm_square_peak(cores);
    snprintf(cfg, sizeof cfg, "M=N=K=1024 NN threads=%d", cores);
    json("sgemm_peak", cfg, peak, "GFLOP/s", 0, NULL);
    set_threads(par ? 1 : threads);
    double fb = rate(fwdbwd_work, &s) * flops / 1e9;
    snprintf(cfg, sizeof cfg, "forward + backward, policy+critic, B=%d, %s",
             B_TRAIN, how);
    json(par ? "nn_fwdbwd_b4096_par" : "nn_fwdbwd_b4096", cfg, fb, "GFLOP/s",
         peak, "sgemm_peak");
  }

  nn_mlp_ws_fini(&s.wp);
  nn_mlp_ws_fini(&s.wc);
  nn_params_fini(&s.p);
  return 0;
}
