/* maddpg_parity_dump.c: runs one MADDPG update (learner/maddpg.c) and writes
 * its inputs, intermediates and results for maddpg_parity.py to replay in
 * PyTorch.
 *
 * Setup: 3 agents in two classes (two agents sharing a policy and a critic
 * with the identity one-hot, one alone), obs 12, state 10, 5 actions; tanh
 * policies 12 -> 32 -> 32 -> 5 (the students'), relu critics
 * (10 + 15 + ident) -> 32 -> 32 -> 1; 64 pairs with avail masks, terminal rows
 * and trunc_obs_missing rows; fixed Gumbel noise; a small max_grad_norm so
 * clipping is active.
 *
 * The update runs twice on identical copies: once through the public
 * maddpg_update_noise (the results compared), once step by step through the
 * test hooks (critic loss/grad, Adam, actor loss/grad, Adam, soft update) to
 * expose the unclipped gradients; the two must agree bit for bit, which the
 * dumper checks itself.
 *
 * Usage: maddpg_parity_dump OUT_FILE. Records as nn_parity_dump: u32 name
 * length, name, u32 kind (0 float32, 1 int32), u64 count, values.
 * Exit 0 on success, 1 on any failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/nn/adam.h"
#include "learner/maddpg.h"

enum { NP = 64, A = 3, O = 12, S = 10, NA = 5, H = 32 };

static int put(FILE *f, const char *name, uint32_t kind, const void *data, uint64_t count) {
  uint32_t len = (uint32_t)strlen(name);
  if (fwrite(&len, 4, 1, f) != 1 || fwrite(name, 1, len, f) != len ||
      fwrite(&kind, 4, 1, f) != 1 || fwrite(&count, 8, 1, f) != 1)
    return -1;
  if (count && fwrite(data, 4, count, f) != count)
    return -1;
  return 0;
}
static int putf(FILE *f, const char *name, const float *x, uint64_t n) { return put(f, name, 0, x, n); }

static env_dims_t dims(void) {
  env_dims_t d;
  memset(&d, 0, sizeof d);
  d.n_agents = A;
  d.n_classes = 2;
  d.class_of[2] = 1;
  d.class_first[1] = 2;
  d.class_count[0] = 2;
  d.class_count[1] = 1;
  d.class_obs_dim[0] = d.class_obs_dim[1] = O;
  d.class_n_actions[0] = d.class_n_actions[1] = NA;
  d.obs_dim = O;
  d.n_actions = NA;
  d.state_dim = S;
  return d;
}

typedef struct {
  student_t *s;
  maddpg_t *m;
} inst_t;

static int make(inst_t *in, const hint_config_t *cfg, const env_dims_t *d, const maddpg_hparams_t *hp) {
  if (student_create(&in->s, cfg, d, NP, 3) != 0 || maddpg_create_hp(&in->m, hp, d, in->s, 9) != 0)
    return -1;
  /* Policy outputs of order 1 (the 0.01 init gives near-uniform softmaxes),
   * targets moved off the online networks, so every path matters. */
  hint_rng_t r;
  hint_rng_seed(&r, 1234, 0, 0);
  for (int c = 0; c < 2; c++) {
    nn_mlp_t *pol = student_policy_mlp(in->s, c);
    nn_linear_t *L = &pol->layer[pol->n_layers - 1];
    for (int j = 0; j < L->in * L->out; j++)
      L->w[j] *= 100.0f;
  }
  nn_params_t *tp = maddpg_target_params(in->m);
  for (size_t i = 0; i < tp->n; i++)
    tp->w[i] += 0.05f * (float)hint_rng_normal(&r);
  return 0;
}

static int dump_nets(FILE *f, inst_t *in, const char *suffix) {
  char name[64];
  for (int c = 0; c < 2; c++) {
    const nn_mlp_t *nets[4] = {student_policy_mlp(in->s, c), maddpg_critic_mlp(in->m, c),
                               maddpg_target_policy_mlp(in->m, c), maddpg_target_critic_mlp(in->m, c)};
    const char *tag[4] = {"pol", "crit", "tpol", "tcrit"};
    for (int t = 0; t < 4; t++) {
      snprintf(name, sizeof name, "%s%d_%s", tag[t], c, suffix);
      if (putf(f, name, nets[t]->params->w + nets[t]->offset, nets[t]->count))
        return -1;
    }
  }
  return 0;
}

static int dump_grads(FILE *f, inst_t *in, const char *what) {
  char name[64];
  for (int c = 0; c < 2; c++) {
    const nn_mlp_t *net = what[0] == 'c' ? maddpg_critic_mlp(in->m, c) : student_policy_mlp(in->s, c);
    snprintf(name, sizeof name, "%s%d", what, c);
    if (putf(f, name, net->params->g + net->offset, net->count))
      return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: maddpg_parity_dump OUT_FILE\n");
    return 1;
  }
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.student.comm = HINT_COMM_NONE;
  cfg.student.hidden = H;
  cfg.student.layers = 2;
  cfg.student.activation = HINT_ACT_TANH;
  const env_dims_t d = dims();
  maddpg_hparams_t hp = maddpg_hparams_from_config(&cfg);
  hp.lr_actor = 1e-3f;
  hp.lr_critic = 2e-3f;
  hp.adam_eps = 1e-5f;
  hp.gamma = 0.95f;
  hp.max_grad_norm = 0.02f;
  hp.tau = 0.05f;
  hp.gumbel_tau = 0.8f;
  hp.logit_reg = 1e-2f;
  hp.batch = NP;
  hp.critic_hidden = H;
  hp.critic_layers = 2;
  hp.critic_act = NN_ACT_RELU;

  inst_t a = {0}, b = {0};
  if (make(&a, &cfg, &d, &hp) || make(&b, &cfg, &d, &hp)) {
    fprintf(stderr, "maddpg_parity_dump: create failed\n");
    return 1;
  }

  static float obs[NP * A * O], state[NP * S], nobs[NP * A * O], nstate[NP * S], rew[NP], done[NP];
  static int32_t act[NP * A];
  static uint8_t avail[NP * A * NA], navail[NP * A * NA], miss[NP];
  static float gnext[NP * A * NA], gcur[NP * A * NA];
  static int32_t avail_i[NP * A * NA], navail_i[NP * A * NA], miss_i[NP];
  hint_rng_t r;
  hint_rng_seed(&r, 42, 0, 0);
  for (int i = 0; i < NP * A * O; i++) {
    obs[i] = (float)hint_rng_normal(&r);
    nobs[i] = (float)hint_rng_normal(&r);
  }
  for (int i = 0; i < NP * S; i++) {
    state[i] = (float)hint_rng_normal(&r);
    nstate[i] = (float)hint_rng_normal(&r);
  }
  for (int p = 0; p < NP; p++) {
    rew[p] = (float)hint_rng_normal(&r);
    done[p] = hint_rng_below(&r, 5) == 0;
    miss[p] = hint_rng_below(&r, 6) == 0; /* kept when done, else left out */
    miss_i[p] = miss[p];
  }
  for (int i = 0; i < NP * A; i++) {
    act[i] = (int32_t)hint_rng_below(&r, NA);
    for (int j = 0; j < NA; j++) {
      avail[i * NA + j] = j == act[i] || hint_rng_below(&r, 4) != 0;
      navail[i * NA + j] = j == 0 || hint_rng_below(&r, 4) != 0;
      avail_i[i * NA + j] = avail[i * NA + j];
      navail_i[i * NA + j] = navail[i * NA + j];
    }
  }
  for (int i = 0; i < NP * A * NA; i++) {
    gnext[i] = (float)-log(-log(hint_rng_double(&r) + 0x1p-54));
    gcur[i] = (float)-log(-log(hint_rng_double(&r) + 0x1p-54));
  }
  const offp_batch_t batch = {.n = NP, .obs = obs, .state = state, .actions = act, .reward = rew,
                              .done = done, .next_obs = nobs, .next_state = nstate, .avail = avail,
                              .next_avail = navail, .trunc_obs_missing = miss, .discount = NULL};

  FILE *f = fopen(argv[1], "wb");
  if (!f) {
    perror(argv[1]);
    return 1;
  }
  const int32_t dimv[] = {A, O, S, NA, 2, NP, H, 2, H, 2, 0, 2, 2, 1};
  const float hpv[] = {hp.lr_actor, hp.lr_critic, hp.adam_eps, hp.gamma, hp.max_grad_norm,
                       hp.tau, hp.gumbel_tau, hp.logit_reg};
  int bad = put(f, "dims", 1, dimv, sizeof dimv / 4) || putf(f, "hp", hpv, sizeof hpv / 4) ||
            dump_nets(f, &a, "0") || putf(f, "obs", obs, NP * A * O) ||
            putf(f, "state", state, NP * S) || put(f, "actions", 1, act, NP * A) ||
            putf(f, "reward", rew, NP) || putf(f, "done", done, NP) ||
            putf(f, "next_obs", nobs, NP * A * O) || putf(f, "next_state", nstate, NP * S) ||
            put(f, "avail", 1, avail_i, NP * A * NA) || put(f, "next_avail", 1, navail_i, NP * A * NA) ||
            put(f, "missing", 1, miss_i, NP) || putf(f, "gnext", gnext, NP * A * NA) ||
            putf(f, "gcur", gcur, NP * A * NA);

  /* Step by step on b: the unclipped gradients and both losses. */
  double qm = 0, gn = 0, gna = 0;
  const double closs = maddpg_critic_loss_grad(b.m, &batch, gnext, &qm);
  bad = bad || dump_grads(f, &b, "critic_grad");
  nn_adam_t ac = nn_adam_defaults(), aa;
  ac.lr = hp.lr_critic;
  ac.eps = hp.adam_eps;
  ac.max_grad_norm = hp.max_grad_norm;
  aa = ac;
  aa.lr = hp.lr_actor;
  bad = bad || nn_adam_step(maddpg_critic_params(b.m), &ac, &gn) != 0;
  const double aloss = maddpg_actor_loss_grad(b.m, &batch, gcur);
  bad = bad || dump_grads(f, &b, "actor_grad");
  bad = bad || nn_adam_step(student_params(b.s), &aa, &gna) != 0;
  maddpg_soft_update(b.m, hp.tau);
  const float losses[] = {(float)closs, (float)qm, (float)gn, (float)aloss, (float)gna};
  bad = bad || putf(f, "losses", losses, 5);

  /* The public update on a. */
  offp_stats_t st;
  memset(&st, 0, sizeof st);
  bad = bad || maddpg_update_noise(a.m, &batch, gnext, gcur, &st) != 0;
  const float stats[] = {(float)st.loss, (float)st.q_mean, (float)st.grad_norm, (float)st.actor_loss};
  bad = bad || putf(f, "stats", stats, 4) || dump_nets(f, &a, "1");
  if (fclose(f) != 0 || bad) {
    fprintf(stderr, "maddpg_parity_dump: failed\n");
    return 1;
  }
  /* The public update and the steps must be the same computation. */
  nn_params_t *pa[3] = {student_params(a.s), maddpg_critic_params(a.m), maddpg_target_params(a.m)};
  nn_params_t *pb[3] = {student_params(b.s), maddpg_critic_params(b.m), maddpg_target_params(b.m)};
  for (int k = 0; k < 3; k++)
    if (memcmp(pa[k]->w, pb[k]->w, pa[k]->n * sizeof(float)) != 0) {
      fprintf(stderr, "maddpg_parity_dump: maddpg_update_noise differs from its steps (arena %d)\n", k);
      return 1;
    }
  if (st.loss != closs || st.actor_loss != aloss || st.grad_norm != gn) {
    fprintf(stderr, "maddpg_parity_dump: update statistics differ from the steps\n");
    return 1;
  }
  maddpg_destroy(&a.m);
  maddpg_destroy(&b.m);
  student_destroy(&a.s);
  student_destroy(&b.s);
  return 0;
}
