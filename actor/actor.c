/* hint-actor: one actor rank of a HINT job (architecture.md).
 *
 *   mpirun -np 1 hint-learner CONFIG : -np N hint-actor
 *
 * An actor needs no config file: the learner broadcasts the validated config
 * over MPI (a CONFIG argument is accepted and ignored, so one command line can
 * serve both programs). It steps E env copies, drives the student-driven ones
 * with its students and the teacher-driven ones with the latest published
 * teacher, streams segments to the learner, trains the students on its
 * segments with the learner's distillation targets, averaging gradients with
 * the other actors (MPI_Allreduce), and follows the learner's control
 * messages (stop, checkpoint, evaluate, sync). For the off-policy baselines
 * (qmix, maddpg) the learner trains the students: the actor acts with the
 * student parameters the learner publishes and takes no update of its own.
 *
 * Loop (one iteration per segment k):
 *   collect segment k into rollout[k % 2]            (env + inference)
 *   send it                                           (waits only without credit)
 *   async: wait for segment k-1's targets, update on k-1
 *   sync:  wait for segment k's targets and the learner's round marker,
 *          update on k (no overlap, so a seeded run is reproducible)
 *   agree with the other actors on stop / checkpoint / errors (MPI)
 * Every actor takes the same number of Adam steps per iteration, so the
 * gradient allreduces line up without any other coordination.
 *
 * Exit codes: 0 clean stop; 2 configuration error; 3 the learner went silent
 * or refused us; 4 another runtime error (the log says which); 5 this
 * actor's checkpoint could not be written (disk full, run directory).
 */
#include <cblas.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor/evaluate.h"
#include "actor/rollout.h"
#include "actor/student.h"
#include "common/config/cli.h"
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/ckpt.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/runtime/runtime.h"
#include "common/wire/boot.h"
#include "common/wire/msg.h"
#include "common/wire/wire.h"
#include "teacher/teacher.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

typedef struct {
  hint_config_t cfg;
  boot_t boot;
  env_dims_t dims;
  msg_shapes_t shapes;
  int rank, n_actors;
  int uses_teacher;           /* kd, hint */
  int offp;                   /* qmix, maddpg: the learner trains the students */
  env_vec_t *envs;
  student_t *student;
  teacher_t *teacher;         /* NULL for mappo / ippo */
  teacher_goals_t *goals;     /* hierarchical teacher only */
  wire_actor_t *wire;
  rollout_t ro[2];
  update_ws_t uws;
  evaluator_t *eval;
  hint_rng_t rng_act, rng_update;
  /* counters (checkpointed) */
  actor_counters_t ctr;
  /* control state from the learner */
  int stop_requested;
  uint64_t ckpt_requested;    /* latest checkpoint id asked for */
  uint64_t eval_requested, eval_done;
  uint64_t sync_round_seen;   /* latest SYNC marker */
  int learner_said_bye;
  /* timings since the last stats message */
  double t_env, t_infer, t_update, t_allreduce, t_wait, t_stats;
  update_stats_t last_update;
  env_stats_t ep_student, ep_teacher;
  uint64_t steps_since_stats;
} actor_t;

/* ---- messages from the learner ---------------------------------------- */

static rollout_t *rollout_by_seq(actor_t *a, uint64_t seq) {
  for (int i = 0; i < 2; i++)
    if (a->ro[i].seq == seq)
      return &a->ro[i];
  return NULL;
}

/* Handles one incoming message; returns 0 or an error that ends the actor. */
static int handle(actor_t *a, const msg_any_t *m) {
  switch (m->type) {
  case MSG_TARGETS: {
    rollout_t *r = rollout_by_seq(a, m->u.targets.seq);
    if (r == NULL) {
      LOG_WARN("targets for unknown segment %llu ignored", (unsigned long long)m->u.targets.seq);
      return HINT_OK;
    }
    rollout_set_targets(r, &m->u.targets);
    r->teacher_version_targets = m->u.targets.teacher_version;
    return HINT_OK;
  }
  case MSG_TEACHER_PARAMS:
    if (a->teacher && m->u.params.version > a->ctr.teacher_version) {
      nn_params_t *p = teacher_params(a->teacher);
      if (m->u.params.n != p->n)
        return HINT_ESHAPE;
      msg_tensor_copy(m->u.params.params, p->w, sizeof(float));
      a->ctr.teacher_version = m->u.params.version;
    }
    return HINT_OK;
  case MSG_STUDENT_PARAMS:
    /* qmix / maddpg: the learner trains the students and publishes them; the
     * version is the learner's publish count. */
    if (a->offp && m->u.params.version > a->ctr.policy_version) {
      nn_params_t *p = student_params(a->student);
      if (m->u.params.n != p->n)
        return HINT_ESHAPE;
      msg_tensor_copy(m->u.params.params, p->w, sizeof(float));
      a->ctr.policy_version = m->u.params.version;
    }
    return HINT_OK;
  case MSG_CONTROL: {
    const msg_control_t *c = &m->u.control;
    if (c->rank != 0 && (int)c->rank != a->rank)
      return HINT_OK;
    if (c->cmd == MSG_CTRL_STOP)
      a->stop_requested = 1;
    else if (c->cmd == MSG_CTRL_CHECKPOINT && (uint64_t)c->arg > a->ckpt_requested)
      a->ckpt_requested = (uint64_t)c->arg;
    else if (c->cmd == MSG_CTRL_EVALUATE && (uint64_t)c->arg > a->eval_requested)
      a->eval_requested = (uint64_t)c->arg;
    else if (c->cmd == MSG_CTRL_SYNC && (uint64_t)c->arg > a->sync_round_seen)
      a->sync_round_seen = (uint64_t)c->arg;
    return HINT_OK;
  }
  case MSG_BYE:
    LOG_WARN("the learner said bye: %.*s (%s)", (int)m->u.bye.text.len,
             m->u.bye.text.data ? m->u.bye.text.data : "", hint_strerror(m->u.bye.reason));
    a->learner_said_bye = 1;
    a->stop_requested = 1;
    return HINT_OK;
  default:
    return HINT_OK;
  }
}

/* Receives until cond(a, arg) holds, or the learner is silent for
 * transport.actor_timeout_s. Time spent here counts as waiting. */
typedef int (*cond_fn)(const actor_t *a, const void *arg);

static int wait_for(actor_t *a, cond_fn cond, const void *arg, const char *what) {
  const double t0 = hint_now_s();
  double last_heard = t0;
  int rc = HINT_OK;
  while (!cond(a, arg)) {
    if (a->learner_said_bye) {
      rc = HINT_ECONN;
      break;
    }
    msg_any_t m;
    msg_error_t err;
    int r = wire_actor_recv(a->wire, &m, 200, &err);
    const double now = hint_now_s();
    if (r == HINT_OK) {
      last_heard = now;
      if ((rc = handle(a, &m)) != HINT_OK)
        break;
    } else if (r == HINT_ETIMEDOUT) {
      if (now - last_heard > a->cfg.transport.actor_timeout_s) {
        LOG_ERROR("the learner has been silent for %.0f s while this actor waited for %s "
                  "(transport.actor_timeout_s = %g); giving up",
                  now - last_heard, what, a->cfg.transport.actor_timeout_s);
        rc = HINT_ETIMEDOUT;
        break;
      }
    } /* other codes: a rejected frame, already logged and counted */
  }
  a->t_wait += hint_now_s() - t0;
  return rc;
}

/* Drains whatever is already queued, without waiting. */
static int poll_inbox(actor_t *a) {
  for (;;) {
    msg_any_t m;
    msg_error_t err;
    int r = wire_actor_recv(a->wire, &m, 0, &err);
    if (r == HINT_ETIMEDOUT)
      return HINT_OK;
    if (r == HINT_OK) {
      int rc = handle(a, &m);
      if (rc != HINT_OK)
        return rc;
    }
  }
}

static int has_targets(const actor_t *a, const void *arg) {
  (void)a;
  const rollout_t *r = arg;
  return r->teacher_version_targets != UINT64_MAX; /* set when its targets arrive */
}
static int has_credit(const actor_t *a, const void *arg) {
  (void)arg;
  return wire_actor_credits(a->wire) > 0;
}
static int has_stop(const actor_t *a, const void *arg) {
  (void)arg;
  return a->stop_requested;
}
static int has_round(const actor_t *a, const void *arg) {
  return a->sync_round_seen >= *(const uint64_t *)arg;
}

/* ---- collecting a segment ---------------------------------------------- */

static int n_teacher_envs(const actor_t *a) {
  if (!a->uses_teacher)
    return 0;
  const double f = runtime_teacher_frac(&a->cfg, a->ctr.env_steps * (uint64_t)a->n_actors);
  int n = (int)(f * a->cfg.actor.envs + 0.5);
  return n < 0 ? 0 : n > a->cfg.actor.envs ? a->cfg.actor.envs : n;
}

static void collect(actor_t *a, rollout_t *r) {
  const int T = r->T, E = r->E, A = r->A, O = r->O, S = r->S, V = r->V;
  const int nt = n_teacher_envs(a);
  /* Goals start afresh with every segment: the learner finds the manager's
   * decision points from each segment alone (teacher.h), and a resumed run
   * then needs no goal state from before the checkpoint. */
  if (a->goals)
    teacher_goals_reset_all(a->goals);
  r->n_teacher = nt;
  r->seq = a->ctr.seq++;
  r->policy_version = a->ctr.policy_version;
  r->teacher_version = a->ctr.teacher_version;
  r->has_targets = 0;
  r->teacher_version_targets = UINT64_MAX;
  if (hint_log_get_level() <= HINT_LOG_DEBUG) { /* reproducibility diagnostics */
    nn_params_t *sp = student_params(a->student);
    LOG_DEBUG("segment %llu: student %016llx teacher v%llu %016llx rng %016llx",
              (unsigned long long)r->seq, (unsigned long long)hint_checksum64(sp->w, sp->n * 4),
              (unsigned long long)a->ctr.teacher_version,
              a->teacher ? (unsigned long long)hint_checksum64(teacher_params(a->teacher)->w,
                                                             teacher_params(a->teacher)->n * 4)
                         : 0ULL,
              (unsigned long long)hint_checksum64(&a->rng_act, sizeof a->rng_act));
  }
  /* qmix explores epsilon-greedily, annealed in global env steps. */
  const int qmix = a->cfg.algo.name == HINT_ALGO_QMIX;
  const float eps = qmix ? (float)runtime_epsilon(&a->cfg, a->ctr.env_steps * (uint64_t)a->n_actors) : 0.0f;
  for (int t = 0; t < T; t++) {
    const size_t te = (size_t)t * E;
    float *obs = r->obs + te * A * O, *state = r->state + te * S;
    double t0 = hint_now_s();
    if (qmix)
      student_act_eps(a->student, obs, E, &a->rng_act, eps, r->actions + te * A, r->logp + te * A);
    else
      student_act(a->student, obs, state, E, &a->rng_act, 0, r->actions + te * A, r->logp + te * A,
                  a->offp ? NULL : r->vagent + te * V, r->comm ? r->comm + te * A * r->C : NULL);
    if (nt > 0)
      teacher_act(a->teacher, a->goals, 0, state, nt, 0, &a->rng_act, r->actions + te * A,
                  r->logp + te * A, r->goals + te * A, r->goal_logp + te * A);
    for (size_t i = (size_t)nt * A; i < (size_t)E * A; i++) { /* students drive the rest */
      r->goals[te * A + i] = -1;
      r->goal_logp[te * A + i] = 0.0f;
    }
    double t1 = hint_now_s();
    env_buffers_t b = {r->obs + (te + E) * A * O, r->state + (te + E) * S, r->rewards + te,
                       r->dones + te, r->truncated + te, r->status + te};
    env_vec_step_all(a->envs, r->actions + te * A, &b);
    for (int e = 0; e < E; e++) {
      r->driver[te + e] = e < nt;
      if (r->dones[te + e]) {
        env_stats_t s = env_vec_last_episode(a->envs, e);
        env_stats_t *acc = e < nt ? &a->ep_teacher : &a->ep_student;
        acc->episodes += s.episodes;
        acc->ret += s.ret;
        acc->length += s.length;
        acc->success += s.success;
        if (a->goals)
          teacher_goals_reset(a->goals, e);
      }
    }
    a->t_infer += t1 - t0;
    a->t_env += hint_now_s() - t1;
  }
  double t0 = hint_now_s();
  if (!a->offp) /* off-policy learners use no V_S: the values stay 0 */
    student_values(a->student, r->obs + (size_t)T * E * A * O, r->state + (size_t)T * E * S, E,
                   r->vagent + (size_t)T * E * V);
  for (int i = 0; i < (T + 1) * E; i++) {
    float m = 0.0f;
    for (int k = 0; k < V; k++)
      m += r->vagent[(size_t)i * V + k];
    r->value[i] = m / (float)V;
  }
  a->t_infer += hint_now_s() - t0;
  a->ctr.env_steps += (uint64_t)T * E;
  a->steps_since_stats += (uint64_t)T * E;
  r->env_steps = a->ctr.env_steps;
}

/* The next segment starts where this one ended. */
static void carry_over(rollout_t *from, rollout_t *to) {
  const size_t T = (size_t)from->T, E = (size_t)from->E;
  memcpy(to->obs, from->obs + T * E * from->A * from->O, E * from->A * from->O * sizeof(float));
  memcpy(to->state, from->state + T * E * from->S, E * from->S * sizeof(float));
}

/* ---- training on a segment --------------------------------------------- */

static int train(actor_t *a, rollout_t *r) {
  if (a->offp)
    return HINT_OK; /* the learner trains qmix / maddpg students and publishes them */
  const uint64_t global = a->ctr.env_steps * (uint64_t)a->n_actors;
  const float kd = a->uses_teacher ? (float)runtime_kd_coef(&a->cfg, global) : 0.0f;
  double t0 = hint_now_s();
  int rc = rollout_update(r, a->student, &a->uws, &a->cfg, kd, a->boot.actors, a->n_actors,
                          &a->rng_update, &a->last_update);
  /* The gradient allreduces are communication, not update work. */
  a->t_update += hint_now_s() - t0 - a->last_update.t_allreduce;
  a->t_allreduce += a->last_update.t_allreduce;
  if (rc != HINT_OK)
    return rc;
  if (a->last_update.steps > 0) {
    a->ctr.policy_version++;
    a->ctr.updates++;
  }
  /* Prove every actor holds the same students. */
  if (a->cfg.student.checksum_every > 0 && a->ctr.updates % (uint64_t)a->cfg.student.checksum_every == 0 &&
      a->last_update.steps > 0) {
    nn_params_t *p = student_params(a->student);
    uint64_t sum = hint_checksum64(p->w, p->n * sizeof(float)), lo = sum, hi = sum;
    MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, a->boot.actors);
    MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, a->boot.actors);
    if (lo != hi) {
      LOG_ERROR("student parameters differ across actors after update %llu (checksums %016llx..%016llx)",
                (unsigned long long)a->ctr.updates, (unsigned long long)lo, (unsigned long long)hi);
      return HINT_ECHECKSUM;
    }
    a->ctr.checksums_ok++;
  }
  return HINT_OK;
}

/* ---- stats, evaluation, checkpoints ------------------------------------ */

static void send_stats(actor_t *a, uint64_t ckpt_done) {
  msg_any_t m = {.type = MSG_STATS};
  msg_stats_t *s = &m.u.stats;
  const double now = hint_now_s();
  s->actor_rank = (uint32_t)a->rank;
  s->policy_version = a->ctr.policy_version;
  s->env_steps = a->steps_since_stats;
  s->episodes = (uint32_t)a->ep_student.episodes;
  s->successes = (uint32_t)a->ep_student.success;
  s->return_sum = a->ep_student.ret;
  s->length_sum = a->ep_student.length;
  s->teacher_episodes = (uint32_t)a->ep_teacher.episodes;
  s->teacher_successes = (uint32_t)a->ep_teacher.success;
  s->interval_s = now - a->t_stats;
  s->t_env = a->t_env;
  s->t_infer = a->t_infer;
  s->t_update = a->t_update;
  s->t_allreduce = a->t_allreduce;
  s->t_wait = a->t_wait;
  const update_stats_t *u = &a->last_update;
  s->pg_loss = u->loss.pg_loss;
  s->value_loss = u->loss.value_loss;
  s->entropy = u->loss.entropy;
  s->kd_loss = u->loss.kd_loss;
  s->kd_weight = a->uses_teacher ? runtime_kd_coef(&a->cfg, a->ctr.env_steps * (uint64_t)a->n_actors) : 0.0;
  s->kd_kept = u->loss.kd_rows > 0 ? u->loss.kd_kept / u->loss.kd_rows : 0.0;
  s->grad_norm = u->grad_norm;
  s->ckpt_done = ckpt_done;
  msg_error_t err;
  wire_actor_send(a->wire, &m, &err);
  memset(&a->ep_student, 0, sizeof a->ep_student);
  memset(&a->ep_teacher, 0, sizeof a->ep_teacher);
  a->t_env = a->t_infer = a->t_update = a->t_allreduce = a->t_wait = 0.0;
  a->steps_since_stats = 0;
  a->t_stats = now;
}

static void run_eval(actor_t *a, uint64_t id) {
  msg_any_t m = {.type = MSG_EVAL};
  msg_eval_t *e = &m.u.eval;
  evaluator_run(a->eval, a->student, a->teacher, e);
  e->actor_rank = (uint32_t)a->rank;
  e->eval_id = id;
  e->env_steps = a->ctr.env_steps * (uint64_t)a->n_actors;
  e->policy_version = a->ctr.policy_version;
  e->teacher_version = a->ctr.teacher_version;
  msg_error_t err;
  wire_actor_send(a->wire, &m, &err);
}

static int write_checkpoint(actor_t *a, uint64_t id) {
  char path[4096], err[512];
  runtime_ckpt_actor_path(&a->cfg, id, a->rank, path, sizeof path);
  nn_params_t *p = student_params(a->student);
  size_t blob_len = nn_params_blob_size(p, 1), len = 0;
  void *blob = hint_malloc(blob_len);
  size_t env_len = env_vec_state_size(a->envs);
  void *env_blob = hint_malloc(env_len ? env_len : 1);
  if (blob == NULL || env_blob == NULL) {
    hint_free(blob);
    hint_free(env_blob);
    return HINT_ENOMEM;
  }
  nn_params_save(p, 1, blob, blob_len, &len);
  env_vec_state_save(a->envs, env_blob, env_len);
  hint_rng_t rngs[2] = {a->rng_act, a->rng_update};
  hint_ckpt_section_t sec[5] = {
      {"counters", &a->ctr, sizeof a->ctr},
      {"student", blob, len},
      {"rng", rngs, sizeof rngs},
      {"envs", env_blob, env_len},
  };
  int n_sec = 4;
  /* The teacher parameters this actor acts with: the learner publishes only
   * new versions, so a resumed actor must not start from a fresh teacher. */
  if (a->teacher)
    sec[n_sec++] = (hint_ckpt_section_t){"teacher", teacher_params(a->teacher)->w,
                                         teacher_params(a->teacher)->n * sizeof(float)};
  int rc = runtime_mkdirs_for(path, err, sizeof err);
  if (rc == HINT_OK)
    rc = hint_ckpt_write(path, hint_config_hash_resume(&a->cfg), sec, n_sec, err, sizeof err);
  if (rc != HINT_OK)
    LOG_ERROR("checkpoint %llu: %s", (unsigned long long)id, err);
  hint_free(blob);
  hint_free(env_blob);
  return rc;
}

static int load_checkpoint(actor_t *a, const char *dir) {
  char path[4096], err[512];
  snprintf(path, sizeof path, "%s/actor-%d.ckpt", dir, a->rank);
  hint_ckpt_t c;
  int rc = hint_ckpt_read(path, hint_config_hash_resume(&a->cfg), &c, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("resume: %s", err);
    return rc;
  }
  const hint_ckpt_section_t *ctr = hint_ckpt_find(&c, "counters");
  const hint_ckpt_section_t *st = hint_ckpt_find(&c, "student");
  const hint_ckpt_section_t *rng = hint_ckpt_find(&c, "rng");
  const hint_ckpt_section_t *envs = hint_ckpt_find(&c, "envs");
  if (!ctr || ctr->size != sizeof a->ctr || !st || !rng || rng->size != 2 * sizeof(hint_rng_t) || !envs) {
    LOG_ERROR("resume: %s lacks a section or has one of the wrong size", path);
    hint_ckpt_free(&c);
    return HINT_ECHECKSUM;
  }
  memcpy(&a->ctr, ctr->data, sizeof a->ctr);
  rc = nn_params_load(student_params(a->student), st->data, st->size);
  if (rc == HINT_OK)
    rc = env_vec_state_load(a->envs, envs->data, envs->size);
  if (rc == HINT_OK && a->teacher) {
    const hint_ckpt_section_t *t = hint_ckpt_find(&c, "teacher");
    nn_params_t *p = teacher_params(a->teacher);
    if (t == NULL || t->size != p->n * sizeof(float))
      rc = HINT_ESHAPE;
    else
      memcpy(p->w, t->data, t->size);
  }
  if (rc == HINT_OK) {
    const hint_rng_t *r = rng->data;
    a->rng_act = r[0];
    a->rng_update = r[1];
  } else {
    LOG_ERROR("resume: %s: %s", path, hint_strerror(rc));
  }
  hint_ckpt_free(&c);
  return rc;
}

/* ---- the run ------------------------------------------------------------ */

static int setup(actor_t *a, const char *resume_dir) {
  char err[512];
  int rc = env_dims(&a->cfg, &a->dims, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("%s", err);
    return rc;
  }
  const int E = a->cfg.actor.envs, T = a->cfg.actor.segment_len;
  rc = env_vec_create(&a->envs, &a->cfg, E, a->rank, (uint64_t)a->cfg.run.seed, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("%s", err);
    return rc;
  }
  const int max_pairs = T * E > a->cfg.eval.episodes ? T * E : a->cfg.eval.episodes;
  if ((rc = student_create(&a->student, &a->cfg, &a->dims, max_pairs, (uint64_t)a->cfg.run.seed)) != HINT_OK)
    return rc;
  if (a->uses_teacher) {
    int rows = E > a->cfg.eval.episodes ? E : a->cfg.eval.episodes;
    if ((rc = teacher_create(&a->teacher, &a->cfg, rows, (uint64_t)a->cfg.run.seed, err, sizeof err)) != HINT_OK) {
      LOG_ERROR("teacher: %s", err);
      return rc;
    }
    if (teacher_hierarchical(a->teacher) &&
        (rc = teacher_goals_create(&a->goals, a->teacher, E)) != HINT_OK)
      return rc;
  }
  for (int i = 0; i < 2; i++)
    if ((rc = rollout_init(&a->ro[i], &a->cfg, &a->dims, student_value_width(a->student),
                           student_comm_dim(a->student))) != HINT_OK)
      return rc;
  if ((rc = update_ws_init(&a->uws, &a->ro[0])) != HINT_OK)
    return rc;
  if (a->rank == 1 && (rc = evaluator_create(&a->eval, &a->cfg, a->teacher)) != HINT_OK)
    return rc;
  hint_rng_seed(&a->rng_act, (uint64_t)a->cfg.run.seed, (uint64_t)a->rank, 0xac7);
  hint_rng_seed(&a->rng_update, (uint64_t)a->cfg.run.seed, (uint64_t)a->rank, 0x0bd);
  if (resume_dir && resume_dir[0] && (rc = load_checkpoint(a, resume_dir)) != HINT_OK)
    return rc;
  env_buffers_t b = {a->ro[0].obs, a->ro[0].state, NULL, NULL, NULL, NULL};
  env_vec_observe(a->envs, 0, E, &b);
  return HINT_OK;
}

static void teardown(actor_t *a) {
  evaluator_destroy(&a->eval);
  update_ws_fini(&a->uws);
  rollout_fini(&a->ro[0]);
  rollout_fini(&a->ro[1]);
  teacher_goals_destroy(&a->goals);
  teacher_destroy(&a->teacher);
  student_destroy(&a->student);
  env_vec_destroy(&a->envs);
  wire_actor_destroy(&a->wire);
}

/* Iterates until the learner says stop. Returns 0 or an error code. */
static int run(actor_t *a) {
  const int sync = a->cfg.run.sync;
  rollout_t *prev = NULL;
  uint64_t ckpt_written = 0;
  int rc = HINT_OK;
  a->t_stats = hint_now_s();
  int signalled_learner = 0;
  for (uint64_t k = 0;; k++) {
    rollout_t *r = &a->ro[k % 2];
    collect(a, r);
    msg_segment_t seg;
    rollout_segment_view(r, (uint32_t)a->rank, a->goals != NULL, &seg);
    if ((rc = poll_inbox(a)) != HINT_OK)
      break;
    if ((rc = wait_for(a, has_credit, NULL, "a send credit (targets of an earlier segment)")) != HINT_OK)
      break;
    msg_error_t err;
    if ((rc = wire_actor_send_segment(a->wire, &seg, &err)) != HINT_OK) {
      char line[256];
      LOG_ERROR("cannot send segment %llu: %s", (unsigned long long)r->seq,
                msg_error_format(&err, line, sizeof line));
      break;
    }
    carry_over(r, &a->ro[(k + 1) % 2]);
    rollout_t *ready = sync ? r : prev; /* the segment to train on now */
    if (ready != NULL) {
      if ((rc = wait_for(a, has_targets, ready, "targets")) != HINT_OK)
        break;
      if (sync) {
        /* The learner publishes everything of this round (teacher
         * parameters, control) before the round marker, on the same ordered
         * PUB socket, so having the marker means having all of it. */
        const uint64_t round = ready->seq + 1;
        if ((rc = wait_for(a, has_round, &round, "the learner's round marker")) != HINT_OK)
          break;
      }
      if ((rc = train(a, ready)) != HINT_OK)
        break;
    }
    prev = r;

    /* Agree on what happens next: every actor must take the same branch. */
    if (got_signal && !signalled_learner) {
      msg_any_t m = {.type = MSG_BYE};
      m.u.bye.rank = (uint32_t)a->rank;
      m.u.bye.reason = HINT_ESTOPPED;
      m.u.bye.text = msg_str("signal: stop requested");
      wire_actor_send(a->wire, &m, &err);
      signalled_learner = 1;
    }
    if (!sync && (rc = poll_inbox(a)) != HINT_OK)
      break;
    int64_t flags[2] = {a->stop_requested, (int64_t)a->ckpt_requested};
    double ta = hint_now_s();
    if (boot_allreduce(flags, 2, MPI_INT64_T, MPI_MAX, a->boot.actors) != MPI_SUCCESS) {
      rc = HINT_EMPI;
      break;
    }
    a->t_allreduce += hint_now_s() - ta;
    if ((uint64_t)flags[1] > ckpt_written) {
      ckpt_written = (uint64_t)flags[1];
      a->ckpt_requested = ckpt_written;
      rc = write_checkpoint(a, ckpt_written);
      send_stats(a, rc == HINT_OK ? ckpt_written : 0);
      if (rc != HINT_OK)
        break;
    }
    /* Stopping because another actor saw STOP first: read on to our own
     * STOP, so whatever the learner published before it (the final EVALUATE)
     * is not skipped; the PUB stream is ordered. */
    if (flags[0] && !a->stop_requested && (rc = wait_for(a, has_stop, NULL, "the learner's stop")) != HINT_OK)
      break;
    if (a->eval && a->eval_requested > a->eval_done) {
      a->eval_done = a->eval_requested;
      run_eval(a, a->eval_done);
    }
    if (hint_now_s() - a->t_stats >= a->cfg.metrics.interval_s)
      send_stats(a, 0);
    if (flags[0])
      break;
  }
  if (rc == HINT_OK)
    send_stats(a, 0);
  return rc;
}

int main(int argc, char **argv) {
  hint_cli_t cli;
  char err[512];
  if (hint_cli_parse(argc, argv, NULL, &cli, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "hint-actor: %s\n", err);
    return 2;
  }
  if (cli.help) {
    hint_cli_usage("hint-actor", "An actor rank; run it under mpirun beside hint-learner (see deploy/hint-launch).",
                   stdout);
    return 0;
  }
  MPI_Init(&argc, &argv);
  static actor_t a;
  memset(&a, 0, sizeof a);
  int rc = boot_init(&a.boot, MPI_COMM_WORLD);
  if (rc != HINT_OK) {
    fprintf(stderr, "hint-actor: MPI bootstrap failed: %s\n", hint_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 4);
  }
  a.rank = a.boot.rank;
  a.n_actors = a.boot.n_actors;
  hint_log_init("actor", a.rank, HINT_LOG_INFO);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGUSR1, on_signal); /* what hint-launch forwards through mpirun */
  signal(SIGPIPE, SIG_IGN);

  int exit_code = 0;
  rc = boot_config(&a.boot, NULL, 0, NULL, NULL, 0, &a.cfg);
  if (rc == HINT_OK)
    rc = boot_agree(&a.boot, 0); /* the learner's env validation */
  if (rc != HINT_OK) {
    exit_code = 2;
    goto out;
  }
  runtime_apply_algo(&a.cfg);
  hint_log_set_level((hint_log_level_t)a.cfg.run.log_level);
  openblas_set_num_threads(a.cfg.blas.threads);
  a.uses_teacher = a.cfg.algo.name == HINT_ALGO_KD || a.cfg.algo.name == HINT_ALGO_HINT;
  a.offp = runtime_offpolicy(&a.cfg);

  char resume_dir[4096] = "";
  rc = runtime_bcast_resume(&a.boot, resume_dir, sizeof resume_dir);
  int local = rc == HINT_OK ? setup(&a, resume_dir) : rc;
  if (local == HINT_OK) {
    msg_shapes_from_config(&a.shapes, &a.cfg, &a.dims);
    a.shapes.n_student_params = student_param_count(a.student);
    a.shapes.n_teacher_params = a.teacher ? teacher_params(a.teacher)->n : 0;
  }
  wire_opts_t opts;
  wire_opts_from_config(&opts, &a.cfg);
  wire_keypair_t keys;
  if (local == HINT_OK && opts.curve)
    local = wire_keypair_new(&keys);
  boot_endpoints_t ep;
  rc = boot_exchange(&a.boot, &a.cfg, local, NULL, opts.curve ? &keys : NULL, &ep);
  if (rc != HINT_OK) {
    exit_code = rc == HINT_ECONFIG || rc == HINT_EHASH ? 2 : 4;
    goto out;
  }
  rc = wire_actor_create(&a.wire, &opts, &a.shapes, a.rank, ep.router_ep, ep.pub_ep,
                         ep.curve ? ep.server_pub : NULL, ep.curve ? &keys : NULL);
  if (rc == HINT_OK)
    rc = wire_actor_handshake(a.wire, hint_config_hash(&a.cfg), runtime_build_id(),
                              (int)(a.cfg.transport.actor_timeout_s * 1000));
  rc = boot_agree(&a.boot, rc);
  if (rc != HINT_OK) {
    exit_code = 3;
    goto out;
  }
  /* The learner starts the first round once every actor listens. */
  rc = run(&a);
  if (rc == HINT_OK) {
    msg_any_t m = {.type = MSG_BYE};
    m.u.bye.rank = (uint32_t)a.rank;
    m.u.bye.reason = 0;
    m.u.bye.text = msg_str("done");
    msg_error_t merr;
    wire_actor_send(a.wire, &m, &merr);
  }
  if (rc != HINT_OK) {
    LOG_ERROR("stopping: %s", hint_strerror(rc));
    /* 5 as the learner's: a checkpoint that cannot be written (disk full). */
    exit_code = rc == HINT_ETIMEDOUT || rc == HINT_ECONN ? 3 : rc == HINT_ENOSPC || rc == HINT_EIO ? 5 : 4;
  }
out:
  teardown(&a);
  boot_fini(&a.boot);
  if (exit_code != 0 && exit_code != 2) {
    /* A rank that stops alone would leave the others blocked in a
     * collective; the job ends with this rank's code. */
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  }
  if (got_signal == SIGTERM || got_signal == SIGINT) {
    /* A SIGTERM/SIGINT comes from mpirun's abort path (the launcher sends
     * SIGUSR1 instead): mpirun no longer serves MPI_Finalize, which would
     * block until it kills us. Our work is done and on disk; leave now. */
    fflush(stdout);
    fflush(stderr);
    _exit(exit_code);
  }
  MPI_Finalize();
  return exit_code;
}
