/* test_teacher_util.h: fixtures shared by test_teacher.c (unit checks) and
 * test_teacher_learn.c (learning runs): a small config and owned buffers
 * behind a teacher_seg_t. Include after cmocka.h (test_util.h).
 */
#ifndef HINT_TEST_TEACHER_UTIL_H
#define HINT_TEST_TEACHER_UTIL_H

#include <string.h>

#include "common/core/alloc.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "teacher/teacher.h"

static inline void small_cfg(hint_config_t *c, int E, int T) {
  hint_config_defaults(c);
  c->teacher.hierarchical = 0;
  c->teacher.crop = 1;
  c->teacher.hidden = 8;
  c->teacher.layers = 2;
  c->actor.envs = E;
  c->actor.segment_len = T;
  c->teacher.replay_segments = 2;
  c->env.episode_limit = 6; /* dones and truncations inside a short segment */
}

/* Owned buffers behind one teacher_seg_t. */
typedef struct {
  int T, E, A, S;
  float *state, *logp, *rew, *value;
  int32_t *act;
  uint8_t *done, *trunc, *drv;
  teacher_seg_t seg;
} seg_buf_t;

static inline void seg_alloc(seg_buf_t *b, int T, int E, int A, int S) {
  memset(b, 0, sizeof *b);
  b->T = T, b->E = E, b->A = A, b->S = S;
  b->state = hint_calloc((size_t)(T + 1) * E * S, sizeof(float));
  b->value = hint_calloc((size_t)(T + 1) * E, sizeof(float));
  b->logp = hint_calloc((size_t)T * E * A, sizeof(float));
  b->act = hint_calloc((size_t)T * E * A, sizeof(int32_t));
  b->rew = hint_calloc((size_t)T * E, sizeof(float));
  b->done = hint_calloc((size_t)T * E, 1);
  b->trunc = hint_calloc((size_t)T * E, 1);
  b->drv = hint_calloc((size_t)T * E, 1);
  assert_true(b->state && b->value && b->logp && b->act && b->rew && b->done &&
              b->trunc && b->drv);
  teacher_seg_t *s = &b->seg;
  s->T = T;
  s->E = E;
  s->state = b->state;
  s->actions = b->act;
  s->logp = b->logp;
  s->rewards = b->rew;
  s->dones = b->done;
  s->truncated = b->trunc;
  s->value = b->value;
  s->driver = b->drv;
}

static inline void seg_free(seg_buf_t *b) {
  hint_free(b->state);
  hint_free(b->value);
  hint_free(b->logp);
  hint_free(b->act);
  hint_free(b->rew);
  hint_free(b->done);
  hint_free(b->trunc);
  hint_free(b->drv);
}

/* Fills a segment by stepping v with uniformly random actions (states,
 * rewards, dones and truncations are real env data). */
static inline void seg_random_rollout(seg_buf_t *b, env_vec_t *v, hint_rng_t *r) {
  const env_dims_t *d = env_vec_dims(v);
  env_buffers_t eb = {0};
  eb.state = b->state;
  env_vec_observe(v, 0, b->E, &eb);
  for (int t = 0; t < b->T; t++) {
    int32_t *a = b->act + (size_t)t * b->E * b->A;
    for (int e = 0; e < b->E; e++)
      for (int i = 0; i < b->A; i++)
        a[e * b->A + i] = (int32_t)hint_rng_below(r, (uint32_t)d->class_n_actions[d->class_of[i]]);
    eb.state = b->state + (size_t)(t + 1) * b->E * b->S;
    eb.reward = b->rew + (size_t)t * b->E;
    eb.done = b->done + (size_t)t * b->E;
    eb.truncated = b->trunc + (size_t)t * b->E;
    env_vec_step_all(v, a, &eb);
  }
}

#endif
