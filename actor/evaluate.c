/* evaluate.c: see evaluate.h. */
#include "actor/evaluate.h"

#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/env/env.h"

struct evaluator {
  int n;
  env_dims_t dims;
  env_vec_t *envs;
  teacher_goals_t *goals;
  float *obs, *state, *reward;
  uint8_t *done, *truncated, *status, *finished;
  int32_t *actions;
  float *logp;
  uint64_t eval_seed;
  int qmix;               /* students act epsilon-greedy on Q values */
  float eps_sampled;      /* qmix: epsilon of the sampled evaluation */
};

void evaluator_destroy(evaluator_t **ep) {
  if (ep == NULL || *ep == NULL)
    return;
  evaluator_t *e = *ep;
  env_vec_destroy(&e->envs);
  teacher_goals_destroy(&e->goals);
  hint_free(e->obs);
  hint_free(e->state);
  hint_free(e->reward);
  hint_free(e->done);
  hint_free(e->truncated);
  hint_free(e->status);
  hint_free(e->finished);
  hint_free(e->actions);
  hint_free(e->logp);
  hint_free(e);
  *ep = NULL;
}

int evaluator_create(evaluator_t **out, const hint_config_t *cfg, const teacher_t *teacher) {
  *out = NULL;
  evaluator_t *e = hint_calloc(1, sizeof *e);
  if (e == NULL)
    return HINT_ENOMEM;
  char err[512];
  e->n = cfg->eval.episodes;
  e->eval_seed = (uint64_t)cfg->env.eval_seed;
  e->qmix = cfg->algo.name == HINT_ALGO_QMIX;
  e->eps_sampled = (float)cfg->offpolicy.eps_end;
  int rc = env_vec_create(&e->envs, cfg, e->n, 0, (uint64_t)cfg->env.eval_seed, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("evaluation envs: %s", err);
    evaluator_destroy(&e);
    return rc;
  }
  e->dims = *env_vec_dims(e->envs);
  const size_t n = (size_t)e->n, A = (size_t)e->dims.n_agents;
  e->obs = hint_malloc(n * A * e->dims.obs_dim * sizeof(float));
  e->state = hint_malloc(n * e->dims.state_dim * sizeof(float));
  e->reward = hint_malloc(n * sizeof(float));
  e->done = hint_malloc(n);
  e->truncated = hint_malloc(n);
  e->status = hint_malloc(n);
  e->finished = hint_malloc(n);
  e->actions = hint_malloc(n * A * sizeof(int32_t));
  e->logp = hint_malloc(n * A * sizeof(float));
  if (!e->obs || !e->state || !e->reward || !e->done || !e->truncated || !e->status ||
      !e->finished || !e->actions || !e->logp) {
    evaluator_destroy(&e);
    return HINT_ENOMEM;
  }
  if (teacher && teacher_hierarchical(teacher) &&
      (rc = teacher_goals_create(&e->goals, teacher, e->n)) != HINT_OK) {
    evaluator_destroy(&e);
    return rc;
  }
  *out = e;
  return HINT_OK;
}

enum { MODE_GREEDY, MODE_SAMPLED, MODE_TEACHER, MODE_REFERENCE };

/* Plays episode i of the set in env i, all at once; each env counts its
 * first episode only. Fills success rate, mean return and mean length. */
static void play(evaluator_t *e, int mode, student_t *s, teacher_t *t, double *succ, double *ret,
                 double *len) {
  const int n = e->n;
  hint_rng_t rng;
  hint_rng_seed(&rng, e->eval_seed, 0xe7a1, (uint64_t)mode);
  for (int i = 0; i < n; i++) {
    env_vec_reset_eval(e->envs, i, i);
    if (e->goals)
      teacher_goals_reset(e->goals, i);
  }
  memset(e->finished, 0, (size_t)n);
  env_buffers_t b = {e->obs, e->state, e->reward, e->done, e->truncated, e->status};
  env_vec_observe(e->envs, 0, n, &b);
  int left = n;
  double s_succ = 0, s_ret = 0, s_len = 0;
  while (left > 0) {
    switch (mode) {
    case MODE_GREEDY:
    case MODE_SAMPLED:
      if (e->qmix) { /* sampled = the behaviour policy at the end of the anneal */
        student_act_eps(s, e->obs, n, &rng, mode == MODE_GREEDY ? 0.0f : e->eps_sampled, e->actions, e->logp);
        break;
      }
      student_act(s, e->obs, e->state, n, &rng, mode == MODE_GREEDY, e->actions, e->logp, NULL, NULL);
      break;
    case MODE_TEACHER:
      teacher_act(t, e->goals, 0, e->state, n, 0, &rng, e->actions, e->logp, NULL, NULL);
      break;
    default:
      env_vec_greedy(e->envs, 0, n, e->actions);
      break;
    }
    env_vec_step_all(e->envs, e->actions, &b);
    for (int i = 0; i < n; i++) {
      if (e->done[i] && !e->finished[i]) {
        env_stats_t st = env_vec_last_episode(e->envs, i);
        e->finished[i] = 1;
        left--;
        s_succ += st.success;
        s_ret += st.ret;
        s_len += st.length;
      }
      if (e->done[i] && e->goals)
        teacher_goals_reset(e->goals, i);
    }
  }
  *succ = s_succ / n;
  *ret = s_ret / n;
  *len = s_len / n;
}

void evaluator_run(evaluator_t *e, student_t *s, teacher_t *t, msg_eval_t *out) {
  out->episodes = (uint32_t)e->n;
  play(e, MODE_GREEDY, s, t, &out->greedy_success, &out->greedy_return, &out->greedy_length);
  play(e, MODE_SAMPLED, s, t, &out->sampled_success, &out->sampled_return, &out->sampled_length);
  if (t != NULL)
    play(e, MODE_TEACHER, s, t, &out->teacher_success, &out->teacher_return, &out->teacher_length);
  else
    out->teacher_success = out->teacher_return = out->teacher_length = -1.0;
  play(e, MODE_REFERENCE, s, t, &out->reference_success, &out->reference_return,
       &out->reference_length);
}
