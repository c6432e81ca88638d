/* qmix_parity_dump.c: runs QMIX updates with learner/qmix.c and writes every
 * input and result for qmix_parity.py to replay in PyTorch.
 *
 * Shapes are FireCommander 5x5's (3 agents in two classes, obs 52, state 97,
 * 6 actions), students as configured by default (two tanh layers of 128, the
 * mean-message channel of 8), the mixer of 32 with hypernetworks of 64. The
 * online agent nets, their targets and the target mixer are jittered apart
 * so double-Q picking and target evaluation are distinguishable; max_grad_norm
 * is small so the global clip is active.
 *
 * Records (the format of nn_parity_dump.c): dims, hyper, the four arenas
 * (stu0, tstu, mix0, tmix), the batch, then y (TD targets), loss, qmean,
 * gstu / gmix (gradients of the first loss), gnorm, and the arenas after 1
 * and after 3 updates on the same batch (stu1, mix1, stu3, mix3).
 * Usage: qmix_parity_dump OUT_FILE. Exit 0 on success, 1 on any failure.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/core/error.h"
#include "common/core/rng.h"
#include "learner/qmix.h"

enum { B = 256, STEPS = 3 };

static int put(FILE *f, const char *name, uint32_t kind, const void *data, uint64_t count) {
  uint32_t len = (uint32_t)strlen(name);
  if (fwrite(&len, 4, 1, f) != 1 || fwrite(name, 1, len, f) != len || fwrite(&kind, 4, 1, f) != 1 ||
      fwrite(&count, 8, 1, f) != 1)
    return -1;
  if (count && fwrite(data, 4, count, f) != count)
    return -1;
  return 0;
}
static int putf(FILE *f, const char *name, const float *x, uint64_t n) { return put(f, name, 0, x, n); }

static void jitter(nn_params_t *p, double sd, hint_rng_t *r) {
  for (size_t i = 0; i < p->n; i++)
    p->w[i] += (float)(sd * hint_rng_normal(r));
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUT_FILE\n", argv[0]);
    return 1;
  }
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.algo.name = HINT_ALGO_QMIX;
  cfg.offpolicy.batch_size = B;
  cfg.offpolicy.max_grad_norm = 1.0;
  cfg.offpolicy.lr = 1e-3;
  cfg.offpolicy.target_update = 1000000;
  env_dims_t d;
  char err[256];
  if (env_dims(&cfg, &d, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "qmix_parity_dump: %s\n", err);
    return 1;
  }
  student_t *stu = NULL;
  qmix_t *q = NULL;
  if (student_create(&stu, &cfg, &d, B, 3) != HINT_OK || qmix_create(&q, &cfg, &d, stu, 3) != HINT_OK) {
    fprintf(stderr, "qmix_parity_dump: setup failed\n");
    return 1;
  }
  const int A = d.n_agents, O = d.obs_dim, S = d.state_dim, NA = d.n_actions;
  nn_params_t *sp = student_params(stu), *mp = qmix_mixer_params(q);
  nn_params_t *tsp = qmix_target_agent_params(q), *tmp = qmix_target_mixer_params(q);
  hint_rng_t r;
  hint_rng_seed(&r, 42, 0, 0);
  jitter(sp, 0.05, &r);
  jitter(tsp, 0.05, &r);
  jitter(tmp, 0.05, &r);

  static float obs[B * 3 * 64], next_obs[B * 3 * 64], state[B * 128], next_state[B * 128];
  static float reward[B], done[B];
  static int32_t actions[B * 3];
  static uint8_t trunc[B];
  if (A > 3 || O > 64 || S > 128)
    return 1;
  for (int i = 0; i < B * A * O; i++) {
    obs[i] = (float)(hint_rng_u32(&r) % 3) - 1.0f; /* -1, 0, 1 like the env's channels */
    next_obs[i] = (float)(hint_rng_u32(&r) % 3) - 1.0f;
  }
  for (int i = 0; i < B * S; i++) {
    state[i] = (float)hint_rng_uniform(&r, 0, 1);
    next_state[i] = (float)hint_rng_uniform(&r, 0, 1);
  }
  for (int i = 0; i < B * A; i++)
    actions[i] = (int32_t)hint_rng_below(&r, (uint32_t)NA);
  for (int p = 0; p < B; p++) {
    reward[p] = (float)(-0.1 * hint_rng_below(&r, 10));
    done[p] = hint_rng_below(&r, 8) == 0 ? 1.0f : 0.0f;
    trunc[p] = hint_rng_below(&r, 16) == 0;
    if (trunc[p])
      done[p] = 1.0f;
  }
  offp_batch_t b;
  memset(&b, 0, sizeof b);
  b.n = B;
  b.obs = obs;
  b.state = state;
  b.actions = actions;
  b.reward = reward;
  b.done = done;
  b.next_obs = next_obs;
  b.next_state = next_state;
  b.trunc_obs_missing = trunc;

  FILE *f = fopen(argv[1], "wb");
  if (f == NULL) {
    perror(argv[1]);
    return 1;
  }
  const qmix_hparams_t *hp = qmix_hparams(q);
  const float dims[] = {(float)A, (float)O, (float)S, (float)NA, (float)B, (float)cfg.student.hidden,
                        (float)student_comm_dim(stu), (float)hp->embed, (float)hp->hyper_hidden,
                        (float)d.class_count[0], (float)d.class_count[1]};
  const float hyper[] = {hp->gamma, hp->lr, hp->adam_eps, hp->max_grad_norm, (float)hp->double_q};
  float trunc_f[B];
  for (int p = 0; p < B; p++)
    trunc_f[p] = trunc[p];
  int rc = putf(f, "dims", dims, sizeof dims / 4) | putf(f, "hyper", hyper, sizeof hyper / 4) |
           putf(f, "stu0", sp->w, sp->n) | putf(f, "tstu", tsp->w, tsp->n) | putf(f, "mix0", mp->w, mp->n) |
           putf(f, "tmix", tmp->w, tmp->n) | putf(f, "obs", obs, (uint64_t)B * A * O) |
           putf(f, "next_obs", next_obs, (uint64_t)B * A * O) | putf(f, "state", state, (uint64_t)B * S) |
           putf(f, "next_state", next_state, (uint64_t)B * S) | put(f, "actions", 1, actions, (uint64_t)B * A) |
           putf(f, "reward", reward, B) | putf(f, "done", done, B) | putf(f, "trunc", trunc_f, B);

  static float y[B];
  if (qmix_targets(q, &b, y) != HINT_OK) {
    fprintf(stderr, "qmix_parity_dump: bad batch\n");
    return 1;
  }
  double qm = 0;
  const float loss = (float)qmix_loss_grad(q, &b, y, &qm), qmean = (float)qm;
  double ga = 0, gm = 0;
  for (size_t i = 0; i < sp->n; i++)
    ga += (double)sp->g[i] * sp->g[i];
  for (size_t i = 0; i < mp->n; i++)
    gm += (double)mp->g[i] * mp->g[i];
  const float gnorm = (float)sqrt(ga + gm);
  rc |= putf(f, "y", y, B) | putf(f, "loss", &loss, 1) | putf(f, "qmean", &qmean, 1) |
        putf(f, "gstu", sp->g, sp->n) | putf(f, "gmix", mp->g, mp->n) | putf(f, "gnorm", &gnorm, 1);
  for (int k = 1; k <= STEPS; k++) {
    offp_stats_t st;
    memset(&st, 0, sizeof st);
    if (qmix_update(q, &b, &st) != HINT_OK) {
      fprintf(stderr, "qmix_parity_dump: update %d failed\n", k);
      return 1;
    }
    if (k == 1)
      rc |= putf(f, "stu1", sp->w, sp->n) | putf(f, "mix1", mp->w, mp->n);
  }
  rc |= putf(f, "stu3", sp->w, sp->n) | putf(f, "mix3", mp->w, mp->n);
  if (rc != 0 || fclose(f) != 0) {
    fprintf(stderr, "qmix_parity_dump: write failed\n");
    return 1;
  }
  qmix_destroy(&q);
  student_destroy(&stu);
  return 0;
}
