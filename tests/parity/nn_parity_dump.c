/* nn_parity_dump.c: runs one student update with common/nn and writes every
 * input, intermediate and result to a file for nn_parity.py to replay in
 * PyTorch.
 *
 * The network pair is the student's: a tanh policy 52 -> 128 -> 128 -> 6 and
 * a relu critic 52 -> 128 -> 128 -> 1 (relu so both activations are covered)
 * in one arena, policy first: the tensors of policy then critic in torch
 * order, each weight transposed ((in, out), see common/nn/ops.h). The loss is the full
 * student loss
 *   L = ppo + c_v * value(clipped) - c_ent * entropy + lambda * kd(masked)
 * and the update is Adam with global-norm clipping (a small max norm so the
 * clip is active), repeated for 10 steps on the same batch.
 *
 * Usage: nn_parity_dump OUT_FILE. Output: a sequence of records
 *   u32 name length, name bytes, u32 kind (0 float32, 1 int32), u64 count,
 *   count values (little-endian).
 * Exit 0 on success, 1 on any failure.
 */
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/nn/nn.h"

enum { B = 256, OBS = 52, H = 128, A = 6, STEPS = 10 };

static int put(FILE *f, const char *name, uint32_t kind, const void *data,
               uint64_t count) {
  uint32_t len = (uint32_t)strlen(name);
  if (fwrite(&len, 4, 1, f) != 1 || fwrite(name, 1, len, f) != len ||
      fwrite(&kind, 4, 1, f) != 1 || fwrite(&count, 8, 1, f) != 1)
    return -1;
  if (count && fwrite(data, 4, count, f) != count)
    return -1;
  return 0;
}

static int putf(FILE *f, const char *name, const float *x, uint64_t n) {
  return put(f, name, 0, x, n);
}
static int put1(FILE *f, const char *name, float x) { return put(f, name, 0, &x, 1); }

typedef struct {
  float clip_eps, vclip, c_v, c_ent, kd_coef;
} coefs_t;

/* Zeroes gradients, runs forward, the four losses and backward.
 * losses: ppo, value, entropy, kd, total. */
static void student_grad(nn_params_t *p, const nn_mlp_t *pol, const nn_mlp_t *cri,
                         nn_mlp_ws_t *wp, nn_mlp_ws_t *wc, const float *obs,
                         const int *act, const float *old_logp, const float *adv,
                         const float *ret, const float *old_v,
                         const float *teacher, const float *mask,
                         const coefs_t *c, float *logits, float *values,
                         float *dlogits, float *dvalues, float losses[5],
                         nn_ppo_stats_t *st) {
  nn_params_zero_grad(p);
  memset(dlogits, 0, sizeof(float) * B * A);
  memset(dvalues, 0, sizeof(float) * B);
  nn_mlp_forward(pol, wp, obs, B, logits);
  nn_mlp_forward(cri, wc, obs, B, values);
  losses[0] = nn_ppo_loss(logits, act, old_logp, adv, B, A, c->clip_eps, 1.0f,
                          dlogits, st);
  losses[1] = nn_value_loss(values, ret, old_v, B, c->vclip, c->c_v, dvalues);
  losses[2] = nn_entropy_loss(logits, B, A, -c->c_ent, dlogits);
  losses[3] = nn_kd_loss(teacher, logits, mask, B, A, c->kd_coef, dlogits);
  losses[4] = losses[0] + c->c_v * losses[1] - c->c_ent * losses[2] +
              c->kd_coef * losses[3];
  nn_mlp_backward(pol, wp, dlogits, B, NULL);
  nn_mlp_backward(cri, wc, dvalues, B, NULL);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_FILE\n", argv[0]);
    return 1;
  }
  nn_mlp_desc_t pd = {.in_dim = OBS, .out_dim = A, .n_hidden = 2,
                      .hidden = {H, H}, .act = NN_ACT_TANH};
  nn_mlp_desc_t cd = {.in_dim = OBS, .out_dim = 1, .n_hidden = 2,
                      .hidden = {H, H}, .act = NN_ACT_RELU};
  nn_params_t p;
  nn_mlp_t pol, cri;
  nn_mlp_ws_t wp, wc;
  size_t n = nn_mlp_param_count(&pd) + nn_mlp_param_count(&cd);
  hint_rng_t r;
  hint_rng_seed(&r, 2026, 0, 0);
  if (nn_params_init(&p, n) || nn_mlp_init(&pol, &pd, &p) ||
      nn_mlp_init(&cri, &cd, &p) ||
      /* Output gain 1 (not MAPPO's 0.01) so the logits are far from zero and
       * the comparison is not trivially met. */
      nn_mlp_init_orthogonal(&pol, &r, 5.0f / 3.0f, 1.0f) ||
      nn_mlp_init_orthogonal(&cri, &r, 1.41421356f, 1.0f) ||
      nn_mlp_ws_init(&wp, &pol, B) || nn_mlp_ws_init(&wc, &cri, B)) {
    fprintf(stderr, "nn_parity_dump: setup failed\n");
    return 1;
  }
  /* Non-zero biases, so their gradients and updates are compared too. */
  for (int l = 0; l < 3; l++) {
    for (int i = 0; i < pol.layer[l].out; i++)
      pol.layer[l].b[i] = (float)hint_rng_uniform(&r, -0.1, 0.1);
    for (int i = 0; i < cri.layer[l].out; i++)
      cri.layer[l].b[i] = (float)hint_rng_uniform(&r, -0.1, 0.1);
  }

  static float obs[B * OBS], old_logp[B], adv[B], ret[B], old_v[B],
      teacher[B * A], mask[B], logits[B * A], values[B], dlogits[B * A],
      dvalues[B], logp[B];
  static int act[B];
  for (int i = 0; i < B * OBS; i++)
    obs[i] = (float)hint_rng_uniform(&r, -1, 1);
  nn_mlp_forward(&pol, &wp, obs, B, logits);
  nn_mlp_forward(&cri, &wc, obs, B, values);
  nn_sample(logits, B, A, &r, act, logp);
  for (int b = 0; b < B; b++) {
    /* Behaviour log-probs a little off the current policy: ratios spread
     * over about [0.6, 1.6], so a fraction of rows is clipped. */
    old_logp[b] = logp[b] + (float)hint_rng_uniform(&r, -0.5, 0.5);
    adv[b] = (float)hint_rng_normal(&r);
    ret[b] = values[b] + (float)hint_rng_normal(&r);
    old_v[b] = values[b] + (float)hint_rng_uniform(&r, -0.4, 0.4);
    mask[b] = hint_rng_double(&r) < 0.6 ? 1.0f : 0.0f;
    double s = 0;
    for (int j = 0; j < A; j++) {
      double t = hint_rng_double(&r) < 0.2 ? 0.0 : hint_rng_uniform(&r, 0, 1);
      teacher[b * A + j] = (float)(t * t * t);
      s += teacher[b * A + j];
    }
    if (s == 0) {
      teacher[b * A] = 1.0f;
      s = 1.0;
    }
    for (int j = 0; j < A; j++)
      teacher[b * A + j] = (float)(teacher[b * A + j] / s);
  }
  coefs_t c = {.clip_eps = 0.2f, .vclip = 0.2f, .c_v = 0.5f, .c_ent = 0.01f,
               .kd_coef = 0.7f};
  nn_adam_t opt = {.lr = 5e-4f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-5f,
                   .max_grad_norm = 0.5f};

  FILE *f = fopen(argv[1], "wb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  int dims[6] = {OBS, H, H, A, 1, B};
  int err = put(f, "dims", 1, dims, 6);
  err |= putf(f, "params0", p.w, n);
  err |= putf(f, "obs", obs, B * OBS);
  err |= put(f, "actions", 1, act, B);
  err |= putf(f, "old_logp", old_logp, B);
  err |= putf(f, "adv", adv, B);
  err |= putf(f, "ret", ret, B);
  err |= putf(f, "old_v", old_v, B);
  err |= putf(f, "teacher", teacher, B * A);
  err |= putf(f, "mask", mask, B);
  float hyper[10] = {c.clip_eps, c.vclip,   c.c_v,    c.c_ent, c.kd_coef,
                     opt.lr,     opt.beta1, opt.beta2, opt.eps, opt.max_grad_norm};
  err |= putf(f, "hyper", hyper, 10);

  float losses[5];
  nn_ppo_stats_t st;
  for (int step = 0; step < STEPS; step++) {
    student_grad(&p, &pol, &cri, &wp, &wc, obs, act, old_logp, adv, ret, old_v,
                 teacher, mask, &c, logits, values, dlogits, dvalues, losses,
                 &st);
    if (step == 0) {
      err |= putf(f, "logits", logits, B * A);
      err |= putf(f, "values", values, B);
      err |= putf(f, "losses", losses, 5);
      float stats[2] = {st.clip_frac, st.approx_kl};
      err |= putf(f, "ppo_stats", stats, 2);
      err |= putf(f, "dlogits", dlogits, B * A);
      err |= putf(f, "dvalues", dvalues, B);
      err |= putf(f, "grads0", p.g, n);
    }
    double norm;
    if (nn_adam_step(&p, &opt, &norm) != HINT_OK) {
      fprintf(stderr, "nn_parity_dump: adam step %d diverged\n", step);
      return 1;
    }
    if (step == 0)
      err |= put1(f, "grad_norm0", (float)norm);
  }
  err |= putf(f, "params10", p.w, n);
  if (fclose(f) != 0 || err) {
    fprintf(stderr, "nn_parity_dump: write failed\n");
    return 1;
  }
  nn_mlp_ws_fini(&wp);
  nn_mlp_ws_fini(&wc);
  nn_params_fini(&p);
  return 0;
}
