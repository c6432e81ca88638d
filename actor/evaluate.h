/* evaluate.h: evaluation on the config's fixed evaluation set (actor side).
 *
 * Env copy i plays initial condition i of the set generated from
 * env.eval_seed, so every run and every method is scored on the same
 * episodes. Each evaluation plays eval.episodes episodes four ways: the
 * students greedy and sampled (the headline figure is sampled), the teacher
 * alone (sampled; when there is one) and the full-information greedy
 * controller (the reference upper line). For qmix, whose students are
 * Q-networks, "sampled" is epsilon-greedy at offpolicy.eps_end (the behaviour
 * policy once the exploration anneal is over) and greedy is argmax Q.
 * Sampling uses a fixed stream, so an evaluation of the same parameters
 * gives the same numbers.
 */
#ifndef HINT_ACTOR_EVALUATE_H
#define HINT_ACTOR_EVALUATE_H

#include "actor/student.h"
#include "common/config/config.h"
#include "common/wire/msg.h"
#include "teacher/teacher.h"

typedef struct evaluator evaluator_t;

/* teacher may be NULL (no teacher to evaluate). Returns 0 or an error. */
int evaluator_create(evaluator_t **out, const hint_config_t *cfg, const teacher_t *teacher);
void evaluator_destroy(evaluator_t **ep);

/* Fills the result fields of out (success rate, mean return, mean length per
 * mode; teacher fields -1 without a teacher). */
void evaluator_run(evaluator_t *ev, student_t *s, teacher_t *t, msg_eval_t *out);

#endif
