/* hint-learner: world rank 0 of a HINT job (architecture.md).
 *
 *   mpirun -np 1 hint-learner CONFIG [--set k=v]... : -np N hint-actor
 *
 * The learner validates the config and hands it to the actors, then serves
 * them: every segment is validated by the wire, counted, stored in the
 * bounded replay and answered with distillation targets (teacher pi_T, V_T
 * and the keep mask; empty for mappo / ippo and during warm-up). Teacher-
 * driven data train the teacher (once per round of n_actors segments), whose
 * parameters are published to the actors. The learner owns the run
 * directory: config.yaml, metrics.jsonl, eval.jsonl, checkpoints, and the
 * live status line; with metrics.prometheus_port, each metrics record is also
 * served at /metrics (prom.c). For the off-policy baselines (qmix, maddpg)
 * the learner trains the students itself from a replay of transitions and
 * publishes them to the actors (learner/offpolicy.h); their segments are
 * answered with empty targets.
 *
 * Modes. async (default): segments are served as they arrive; the learner
 * never blocks on one actor. sync (run.sync: true): rounds; the learner waits
 * for segment k of every actor, trains the teacher on the round, publishes,
 * answers in rank order and publishes a round marker, so a seeded run is
 * bit-for-bit reproducible.
 *
 * Shutdown. At the budget (run.total_env_steps) or run.max_wall_s: a final
 * evaluation, a final checkpoint, then stop. On SIGINT / SIGTERM (here or on
 * an actor): a checkpoint, then stop; exit 0 and the log says where the
 * checkpoint is. An actor silent for transport.actor_timeout_s is named and
 * the job ends with exit code 3 (its newest complete checkpoint stays valid).
 *
 * Exit codes: 0 done or stopped cleanly; 2 configuration error; 3 an actor
 * was lost or silent; 4 other runtime error; 5 the run directory is not
 * writable or the disk is full.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config/cli.h"
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/ckpt.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/env/env.h"
#include "common/metrics/metrics.h"
#include "common/runtime/runtime.h"
#include "common/wire/boot.h"
#include "common/wire/msg.h"
#include "common/wire/wire.h"
#include "learner/filter.h"
#include "learner/offpolicy.h"
#include "learner/prom.h"
#include "learner/replay.h"
#include "teacher/teacher.h"

#define MAX_ACTORS WIRE_MAX_ACTORS

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

/* Checkpointed counters. */
typedef struct {
  uint64_t env_steps, env_steps_student, env_steps_teacher;
  uint64_t segments, dropped_lag;
  uint64_t lag_sum;             /* sum over segments of versions behind */
  uint64_t teacher_version, teacher_updates, teacher_samples;
  uint64_t round;               /* sync: the segment seq being collected */
  uint64_t eval_id, next_eval_steps;
  uint64_t ckpt_id;
  double train_wall_s;          /* wall time across resumes */
} learner_counters_t;

typedef struct {
  double last_heard;
  int said_hello, said_bye;
  uint32_t pid;
  char host[64];
  msg_stats_t last;             /* latest stats message */
  double sps;                   /* env steps / s from the latest stats */
  double wait_frac;
  uint64_t steps_interval;      /* env steps since the last metrics record */
} actor_info_t;

/* Shutdown is one step: the learner publishes (final EVALUATE,) CHECKPOINT
 * and STOP together (in sync mode at the end of a round, so the cut is
 * deterministic), then waits for every actor's checkpoint, the evaluation
 * and every bye. */
enum { PHASE_RUN, PHASE_STOPPING };

typedef struct {
  hint_config_t cfg;
  boot_t boot;
  env_dims_t dims;
  msg_shapes_t shapes;
  int n_actors, uses_teacher, sync;
  wire_learner_t *wire;
  wire_keypair_t keys;
  teacher_t *teacher;
  offpolicy_t *offp;            /* qmix, maddpg: students trained here */
  offp_stats_t ostats;          /* summed since the last metrics record */
  replay_t replay;
  replay_t stage;               /* sync: one slot per actor for the round */
  int staged[MAX_ACTORS + 1];
  float *pi, *vT;               /* targets of one segment */
  float *vboot;                 /* [E] V_T of each segment's last state (advantage filter) */
  uint8_t *mask;
  filter_t *filter;             /* performance-based filtering (hint) */
  filter_stats_t fstats;        /* summed since the last metrics record */
  learner_counters_t ctr;
  actor_info_t *actors;         /* [n_actors + 1], index = rank */
  int segs_since_update;
  int upd_slots[MAX_ACTORS];    /* async: replay slots of the update in progress */
  int upd_n;
  teacher_stats_t upd_st;
  uint64_t teacher_skipped;     /* async: segments no update trained on (this process) */
  uint64_t max_policy_version;  /* newest student version seen */
  teacher_stats_t tstats;
  /* checkpoint in progress */
  uint64_t ckpt_pending;
  int ckpt_wanted;              /* sync: requested, taken at the next round end */
  int in_round;                 /* sync: inside finish_round */
  int ckpt_acks;
  unsigned char *ckpt_acked;    /* [n_actors + 1] */
  char last_ckpt_dir[4096];
  double next_ckpt_at;
  /* shutdown */
  int phase;
  int stop_wanted;              /* sync: stop at the end of this round */
  uint64_t final_eval_id;       /* awaited final evaluation, 0 = none */
  int stop_reason;              /* 0 budget, else HINT_ESTOPPED or an error */
  double phase_deadline;
  int exit_code;
  /* metrics */
  FILE *metrics_f, *eval_f;
  prom_t *prom;                 /* Prometheus endpoint; NULL = off */
  int status_tty;
  double t0, last_tick;
  learner_counters_t at_tick;
  double t_decode, t_update, t_targets, t_publish, t_busy_tick;
  msg_eval_t last_eval;
  int have_eval;
  env_stats_t ep_student, ep_teacher; /* since the last tick */
} learner_t;

/* ---- helpers ------------------------------------------------------------ */

static uint64_t steps_of(const learner_t *L) { return L->ctr.env_steps; }

static int publish_teacher(learner_t *L) {
  const double t0 = hint_now_s();
  nn_params_t *p = teacher_params(L->teacher);
  msg_any_t m = {.type = MSG_TEACHER_PARAMS};
  m.u.params.sender_rank = 0;
  m.u.params.version = L->ctr.teacher_version;
  m.u.params.env_steps = steps_of(L);
  m.u.params.n = p->n;
  m.u.params.params = msg_tensor(p->w, p->n);
  msg_error_t err;
  int rc = wire_learner_publish(L->wire, &m, &err);
  L->t_publish += hint_now_s() - t0;
  return rc;
}

static int publish_control(learner_t *L, int cmd, int64_t arg) {
  msg_any_t m = {.type = MSG_CONTROL};
  m.u.control.cmd = (uint32_t)cmd;
  m.u.control.rank = 0;
  m.u.control.seq = 0;
  m.u.control.arg = arg;
  msg_error_t err;
  return wire_learner_publish(L->wire, &m, &err);
}

/* A teacher update is formed on some replay slots, then stepped one minibatch
 * at a time: in async mode serve() takes one step between messages, so actors
 * are answered within one minibatch step instead of one whole update; in sync
 * mode (and before a checkpoint, at stop, or before the ring would overwrite
 * a slot the update reads) it runs to the end at once. */
static int teacher_update_done(learner_t *L) {
  const teacher_stats_t *st = &L->upd_st;
  if (st->steps == 0)
    return HINT_OK;
  L->tstats = *st;
  L->ctr.teacher_version++;
  L->ctr.teacher_updates++;
  L->ctr.teacher_samples += (uint64_t)st->agent_steps * (uint64_t)L->cfg.teacher.epochs;
  if (L->ctr.teacher_updates % (uint64_t)L->cfg.teacher.publish_every == 0)
    return publish_teacher(L);
  return HINT_OK;
}

static int teacher_update_step_on(learner_t *L) {
  if (!L->teacher || !teacher_update_active(L->teacher))
    return HINT_OK;
  const double t0 = hint_now_s();
  int done = 0;
  int rc = teacher_update_step(L->teacher, &done, &L->upd_st);
  L->t_update += hint_now_s() - t0;
  if (rc != HINT_OK) {
    LOG_ERROR("teacher update failed: %s", hint_strerror(rc));
    return rc;
  }
  return done ? teacher_update_done(L) : HINT_OK;
}

static int teacher_update_finish(learner_t *L) {
  int rc = HINT_OK;
  while (rc == HINT_OK && L->teacher && teacher_update_active(L->teacher))
    rc = teacher_update_step_on(L);
  return rc;
}

static int teacher_update_start(learner_t *L, const int *slots, int n) {
  if (!L->uses_teacher || n == 0)
    return HINT_OK;
  int rc = teacher_update_finish(L);
  if (rc != HINT_OK)
    return rc;
  teacher_seg_t views[MAX_ACTORS];
  for (int i = 0; i < n; i++) {
    replay_view(&L->replay, slots[i], &views[i]);
    L->upd_slots[i] = slots[i];
  }
  L->upd_n = n;
  memset(&L->upd_st, 0, sizeof L->upd_st);
  const double t0 = hint_now_s();
  rc = teacher_update_begin(L->teacher, views, n);
  L->t_update += hint_now_s() - t0;
  if (rc != HINT_OK)
    LOG_ERROR("teacher update failed: %s", hint_strerror(rc));
  return rc;
}

/* The whole update at once (sync rounds). */
static int teacher_update_on(learner_t *L, const int *slots, int n) {
  int rc = teacher_update_start(L, slots, n);
  return rc == HINT_OK ? teacher_update_finish(L) : rc;
}

/* async: the next update, on the newest segments (at most one per actor, the
 * same batch as a sync round), once each actor has sent one since the last;
 * segments that arrived while an update ran and are not among the newest are
 * counted as skipped (the teacher trains on the freshest data it can keep up
 * with instead of making the actors wait). */
static int maybe_start_update(learner_t *L) {
  if (!L->uses_teacher || L->sync || L->phase != PHASE_RUN ||
      teacher_update_active(L->teacher) || L->segs_since_update < L->n_actors)
    return HINT_OK;
  int slots[MAX_ACTORS];
  int n = L->n_actors < L->replay.count ? L->n_actors : L->replay.count;
  for (int k = 0; k < n; k++)
    slots[k] = replay_newest(&L->replay, n - 1 - k);
  L->teacher_skipped += (uint64_t)(L->segs_since_update - n);
  L->segs_since_update = 0;
  return teacher_update_start(L, slots, n);
}

/* Before storing into the ring's next slot: an update still reading it ends first. */
static int protect_update_slots(learner_t *L) {
  if (!L->teacher || !teacher_update_active(L->teacher))
    return HINT_OK;
  for (int i = 0; i < L->upd_n; i++)
    if (L->upd_slots[i] == L->replay.head)
      return teacher_update_finish(L);
  return HINT_OK;
}

/* Targets for the segment in replay slot `slot` and the reply to its actor. */
static int answer(learner_t *L, int slot, int guide) {
  const replay_meta_t *meta = &L->replay.meta[slot];
  const int T = L->replay.T, E = L->replay.E, A = L->replay.A, NA = L->replay.NA;
  msg_targets_t t;
  memset(&t, 0, sizeof t);
  t.actor_rank = meta->actor_rank;
  t.seq = meta->seq;
  t.teacher_version = L->ctr.teacher_version;
  t.T = (uint32_t)T;
  t.E = (uint32_t)E;
  t.n_agents = (uint32_t)A;
  t.n_actions = (uint32_t)NA;
  if (guide) {
    teacher_seg_t v;
    replay_view(&L->replay, slot, &v);
    int any_student = 0;
    for (int i = 0; i < T * E && !any_student; i++)
      any_student = v.driver[i] == 0;
    if (any_student) {
      const double t0 = hint_now_s();
      teacher_targets(L->teacher, v.state, T * E, L->pi, L->vT);
      for (int i = 0; i < T * E; i++)
        memset(L->mask + (size_t)i * A, v.driver[i] == 0, (size_t)A);
      if (L->filter != NULL && L->cfg.filter.modes != 0) {
        if (L->cfg.filter.modes & HINT_FILTER_ADVANTAGE)
          teacher_targets(L->teacher, v.state + (size_t)T * E * L->replay.S, E, NULL, L->vboot);
        filter_stats_t fs;
        filter_apply(L->filter, &v, L->pi, L->vT, L->vboot, L->mask, &fs);
        for (int c = 0; c < ENV_MAX_CLASSES; c++) {
          L->fstats.offered[c] += fs.offered[c];
          L->fstats.kept[c] += fs.kept[c];
        }
        for (int k = 0; k < FILTER_N_MODES; k++)
          L->fstats.dropped_by[k] += fs.dropped_by[k];
      } else {
        /* No filter: every student-driven agent-step is offered and kept. */
        for (int i = 0; i < T * E; i++)
          if (v.driver[i] == 0)
            for (int a = 0; a < A; a++) {
              L->fstats.offered[L->dims.class_of[a]] += 1.0;
              L->fstats.kept[L->dims.class_of[a]] += 1.0;
            }
      }
      L->t_targets += hint_now_s() - t0;
      t.pi = msg_tensor(L->pi, (uint64_t)T * E * A * NA);
      t.value = msg_tensor(L->vT, (uint64_t)T * E);
      t.mask = msg_tensor(L->mask, (uint64_t)T * E * A);
    }
  }
  msg_error_t err;
  int rc = wire_learner_reply(L->wire, &t, &err);
  if (rc != HINT_OK) {
    char line[256];
    LOG_WARN("targets for actor %u segment %llu not sent: %s", meta->actor_rank,
             (unsigned long long)meta->seq, msg_error_format(&err, line, sizeof line));
  }
  return HINT_OK;
}

/* Counts a segment's env steps (every one counts toward the budget). */
static void count_steps(learner_t *L, const msg_segment_t *s) {
  const uint64_t n = (uint64_t)s->T * s->E;
  uint64_t teacher = 0;
  for (uint64_t i = 0; i < n; i++)
    teacher += msg_u8(s->driver, i);
  L->ctr.env_steps += n;
  L->ctr.env_steps_teacher += teacher;
  L->ctr.env_steps_student += n - teacher;
  L->ctr.segments++;
  /* Policy lag: versions of the model the learner trains (the teacher; the
   * students for mappo / ippo; the published students for qmix / maddpg)
   * that the segment's data is behind. */
  if (L->uses_teacher)
    L->ctr.lag_sum += L->ctr.teacher_version > s->teacher_version ? L->ctr.teacher_version - s->teacher_version : 0;
  else if (L->offp) {
    const uint64_t v = offpolicy_version(L->offp);
    L->ctr.lag_sum += v > s->policy_version ? v - s->policy_version : 0;
  } else if (s->actor_rank <= (uint32_t)L->n_actors) {
    uint64_t newest = L->max_policy_version > s->policy_version ? L->max_policy_version : s->policy_version;
    L->max_policy_version = newest;
    L->ctr.lag_sum += newest - s->policy_version;
  }
  if (s->actor_rank <= (uint32_t)L->n_actors)
    L->actors[s->actor_rank].steps_interval += n;
}

static int lagging(const learner_t *L, const msg_segment_t *s) {
  if (!L->uses_teacher)
    return 0;
  return L->ctr.teacher_version > s->teacher_version &&
         L->ctr.teacher_version - s->teacher_version > (uint64_t)L->cfg.transport.max_policy_lag;
}

static int guidance_on(const learner_t *L) {
  return L->uses_teacher && runtime_kd_coef(&L->cfg, steps_of(L)) > 0.0;
}

static void reply_empty(learner_t *L, const msg_segment_t *s) {
  msg_targets_t t;
  memset(&t, 0, sizeof t);
  t.actor_rank = s->actor_rank;
  t.seq = s->seq;
  t.teacher_version = L->ctr.teacher_version;
  t.T = s->T;
  t.E = s->E;
  t.n_agents = s->n_agents;
  t.n_actions = s->n_actions;
  msg_error_t err;
  wire_learner_reply(L->wire, &t, &err);
}

/* ---- off-policy students (qmix, maddpg: learner/offpolicy.h) ------------- */

static int publish_student(learner_t *L) {
  const double t0 = hint_now_s();
  nn_params_t *p = student_params(offpolicy_student(L->offp));
  msg_any_t m = {.type = MSG_STUDENT_PARAMS};
  m.u.params.sender_rank = 0;
  m.u.params.version = offpolicy_published(L->offp);
  m.u.params.env_steps = steps_of(L);
  m.u.params.n = p->n;
  m.u.params.params = msg_tensor(p->w, p->n);
  msg_error_t err;
  memset(&err, 0, sizeof err);
  int rc = wire_learner_publish(L->wire, &m, &err);
  L->t_publish += hint_now_s() - t0;
  if (rc != HINT_OK) {
    char line[256];
    LOG_ERROR("cannot publish the students: %s", msg_error_format(&err, line, sizeof line));
  }
  return rc;
}

/* Before an evaluation: the actors evaluate what they hold, so they get the
 * newest students even between offpolicy.publish_every publishes. */
static void publish_student_pending(learner_t *L) {
  if (L->offp && offpolicy_publish_pending(L->offp))
    publish_student(L);
}

/* Adds the segments of these replay slots (in this order: rank order in sync
 * mode), takes offpolicy.updates_per_segment gradient steps per segment once
 * the replay is warm, and publishes when due. (The learner's replay keeps no
 * action-availability masks: no environment here restricts actions.) */
static int offp_ingest(learner_t *L, const int *slots, int n) {
  const double t0 = hint_now_s();
  int rc = HINT_OK;
  for (int i = 0; i < n && rc == HINT_OK; i++) {
    teacher_seg_t v;
    replay_view(&L->replay, slots[i], &v);
    const offp_seg_t seg = {v.T, v.E, v.obs, v.state, v.actions, v.rewards, v.dones, v.truncated, NULL};
    rc = offpolicy_add(L->offp, &seg);
  }
  if (rc == HINT_OK)
    rc = offpolicy_train(L->offp, n * L->cfg.offpolicy.updates_per_segment, &L->ostats);
  L->t_update += hint_now_s() - t0;
  if (rc != HINT_OK) {
    LOG_ERROR("%s update failed: %s", hint_config_enum_name("algo.name", L->cfg.algo.name), hint_strerror(rc));
    return rc;
  }
  return offpolicy_publish_due(L->offp) ? publish_student(L) : HINT_OK;
}

/* async: serve one segment now. */
static int ingest_async(learner_t *L, const msg_segment_t *s) {
  count_steps(L, s);
  if (L->phase == PHASE_STOPPING || lagging(L, s)) {
    if (L->phase != PHASE_STOPPING)
      L->ctr.dropped_lag++;
    reply_empty(L, s);
    return HINT_OK;
  }
  /* teacher.min_trained_frac: at most n / frac segments are answered while
   * one update of n runs; then the update ends and the next one starts on the
   * newest of them before this segment is stored (back-pressure). */
  int rc = HINT_OK;
  if (L->uses_teacher && teacher_update_active(L->teacher) &&
      L->segs_since_update >= (int)ceil(L->n_actors / L->cfg.teacher.min_trained_frac - 1e-9)) {
    rc = teacher_update_finish(L);
    if (rc == HINT_OK)
      rc = maybe_start_update(L);
  }
  if (rc == HINT_OK)
    rc = protect_update_slots(L);
  if (rc != HINT_OK)
    return rc;
  const double t0 = hint_now_s();
  const int slot = replay_store(&L->replay, s);
  L->t_decode += hint_now_s() - t0;
  answer(L, slot, guidance_on(L));
  if (L->offp)
    return offp_ingest(L, &slot, 1);
  if (L->uses_teacher)
    L->segs_since_update++;
  return maybe_start_update(L);
}

/* sync: stage until every actor's segment of this round is here. */
static int ingest_sync(learner_t *L, const msg_segment_t *s) {
  const int r = (int)s->actor_rank;
  if (s->seq != L->ctr.round || L->staged[r]) {
    LOG_ERROR("sync mode: actor %d sent segment %llu during round %llu", r,
              (unsigned long long)s->seq, (unsigned long long)L->ctr.round);
    return HINT_ESTATE;
  }
  count_steps(L, s);
  L->staged[r] = replay_store(&L->stage, s) + 1; /* slot + 1; 0 = not here yet */
  return HINT_OK;
}

static int round_complete(const learner_t *L) {
  for (int r = 1; r <= L->n_actors; r++)
    if (!L->staged[r])
      return 0;
  return 1;
}

static void maybe_request_eval(learner_t *L);
static void maybe_request_ckpt(learner_t *L, double now);
static void request_ckpt(learner_t *L);
static void begin_stop(learner_t *L, int reason, const char *why);
static void publish_stop(learner_t *L);

/* sync: the round in rank order: store, train, publish, answer, mark. */
static int finish_round(learner_t *L) {
  int slots[MAX_ACTORS];
  for (int r = 1; r <= L->n_actors; r++) {
    slots[r - 1] = replay_store_slot(&L->replay, &L->stage, L->staged[r] - 1);
    if (hint_log_get_level() <= HINT_LOG_DEBUG) { /* reproducibility diagnostics */
      teacher_seg_t v;
      replay_view(&L->replay, slots[r - 1], &v);
      const size_t T = (size_t)L->replay.T, E = (size_t)L->replay.E, A = (size_t)L->replay.A;
      LOG_DEBUG("round %llu actor %d: obs %016llx state %016llx actions %016llx logp %016llx",
                (unsigned long long)L->replay.meta[slots[r - 1]].seq, r,
                (unsigned long long)hint_checksum64(v.obs, (T + 1) * E * A * L->replay.O * 4),
                (unsigned long long)hint_checksum64(v.state, (T + 1) * E * L->replay.S * 4),
                (unsigned long long)hint_checksum64(v.actions, T * E * A * 4),
                (unsigned long long)hint_checksum64(v.logp, T * E * A * 4));
    }
  }
  if (L->teacher && hint_log_get_level() <= HINT_LOG_DEBUG) {
    nn_params_t *tp = teacher_params(L->teacher);
    LOG_DEBUG("round %llu teacher v%llu w %016llx m %016llx rng %016llx", (unsigned long long)L->ctr.round,
              (unsigned long long)L->ctr.teacher_version,
              (unsigned long long)hint_checksum64(tp->w, tp->n * 4),
              (unsigned long long)hint_checksum64(tp->m, tp->n * 4),
              (unsigned long long)hint_checksum64(teacher_rng(L->teacher), sizeof(hint_rng_t)));
  }
  int rc = HINT_OK;
  /* Sync rounds never lag: every actor acted with the newest teacher. */
  if (L->uses_teacher && L->phase != PHASE_STOPPING)
    rc = teacher_update_on(L, slots, L->n_actors);
  if (L->offp && L->phase != PHASE_STOPPING)
    rc = offp_ingest(L, slots, L->n_actors);
  if (rc != HINT_OK)
    return rc;
  maybe_request_eval(L);
  const int guide = guidance_on(L) && L->phase != PHASE_STOPPING;
  for (int r = 1; r <= L->n_actors; r++)
    answer(L, slots[r - 1], guide);
  L->ctr.round++;
  /* A checkpoint is taken here and only here in sync mode: the learner's
   * state is "after round k" and every actor writes its own after training
   * on segment k, since CHECKPOINT reaches it before the round marker. */
  L->in_round = 1;
  if (L->phase == PHASE_RUN && steps_of(L) >= (uint64_t)L->cfg.run.total_env_steps)
    begin_stop(L, 0, "budget reached");
  maybe_request_ckpt(L, hint_now_s());
  if (L->stop_wanted)
    publish_stop(L);
  else if (L->ckpt_wanted)
    request_ckpt(L);
  L->in_round = 0;
  publish_control(L, MSG_CTRL_SYNC, (int64_t)L->ctr.round);
  memset(L->staged, 0, sizeof L->staged);
  L->stage.head = 0;
  L->stage.count = 0;
  return HINT_OK;
}

/* ---- checkpoints ---------------------------------------------------------- */

static int write_learner_ckpt(learner_t *L, uint64_t id) {
  char dir[4096], path[4200], err[512];
  if (teacher_update_finish(L) != HINT_OK) /* the checkpoint holds whole updates only */
    return HINT_EIO;
  runtime_ckpt_partial_dir(&L->cfg, id, dir, sizeof dir);
  int rc = runtime_mkdirs(dir, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("checkpoint: %s", err);
    return rc;
  }
  snprintf(path, sizeof path, "%s/learner.ckpt", dir);
  char cfg_text[65536];
  size_t cfg_len = hint_config_format(&L->cfg, cfg_text, sizeof cfg_text);
  hint_ckpt_section_t sec[8];
  int n = 0;
  sec[n++] = (hint_ckpt_section_t){"config", cfg_text, cfg_len < sizeof cfg_text ? cfg_len : 0};
  /* ctr.train_wall_s is summed only when serving ends; store the time so far
   * (written only while serving, so t0 is set). */
  learner_counters_t ctr = L->ctr;
  ctr.train_wall_s += hint_now_s() - L->t0;
  sec[n++] = (hint_ckpt_section_t){"counters", &ctr, sizeof ctr};
  void *blob = NULL;
  if (L->teacher) {
    nn_params_t *p = teacher_params(L->teacher);
    size_t cap = nn_params_blob_size(p, 1), len = 0;
    blob = hint_malloc(cap);
    if (blob == NULL)
      return HINT_ENOMEM;
    nn_params_save(p, 1, blob, cap, &len);
    sec[n++] = (hint_ckpt_section_t){"teacher", blob, len};
    sec[n++] = (hint_ckpt_section_t){"teacher_rng", teacher_rng(L->teacher), sizeof(hint_rng_t)};
  }
  if (L->offp) { /* students, their optimiser, the algorithm, replay, RNG, counters */
    size_t cap = offpolicy_ckpt_size(L->offp), len = 0;
    blob = hint_malloc(cap);
    if (blob == NULL)
      return HINT_ENOMEM;
    offpolicy_ckpt_save(L->offp, blob, cap, &len);
    sec[n++] = (hint_ckpt_section_t){"offpolicy", blob, len};
  }
  int64_t ring[4] = {L->replay.count, L->replay.head, (int64_t)L->replay.stored, L->segs_since_update};
  sec[n++] = (hint_ckpt_section_t){"replay_ring", ring, sizeof ring};
  sec[n++] = (hint_ckpt_section_t){"replay_meta", L->replay.meta, (uint64_t)L->replay.cap * sizeof(replay_meta_t)};
  sec[n++] = (hint_ckpt_section_t){"replay_data", L->replay.data, (uint64_t)L->replay.cap * L->replay.slot_bytes};
  rc = hint_ckpt_write(path, hint_config_hash_resume(&L->cfg), sec, n, err, sizeof err);
  hint_free(blob);
  if (rc != HINT_OK)
    LOG_ERROR("checkpoint: %s", err);
  return rc;
}

static int load_learner_ckpt(learner_t *L, const char *dir) {
  char path[4200], err[512];
  snprintf(path, sizeof path, "%s/learner.ckpt", dir);
  hint_ckpt_t c;
  int rc = hint_ckpt_read(path, hint_config_hash_resume(&L->cfg), &c, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("resume: %s", err);
    return rc;
  }
  const hint_ckpt_section_t *ctr = hint_ckpt_find(&c, "counters");
  const hint_ckpt_section_t *ring = hint_ckpt_find(&c, "replay_ring");
  const hint_ckpt_section_t *meta = hint_ckpt_find(&c, "replay_meta");
  const hint_ckpt_section_t *data = hint_ckpt_find(&c, "replay_data");
  rc = HINT_ECHECKSUM;
  if (ctr && ctr->size == sizeof L->ctr && ring && ring->size == 4 * sizeof(int64_t) && meta &&
      meta->size == (uint64_t)L->replay.cap * sizeof(replay_meta_t) && data &&
      data->size == (uint64_t)L->replay.cap * L->replay.slot_bytes) {
    memcpy(&L->ctr, ctr->data, sizeof L->ctr);
    const int64_t *rg = ring->data;
    L->replay.count = (int)rg[0];
    L->replay.head = (int)rg[1];
    L->replay.stored = (uint64_t)rg[2];
    L->segs_since_update = (int)rg[3];
    memcpy(L->replay.meta, meta->data, meta->size);
    memcpy(L->replay.data, data->data, data->size);
    rc = HINT_OK;
  }
  if (rc == HINT_OK && L->teacher) {
    const hint_ckpt_section_t *t = hint_ckpt_find(&c, "teacher");
    const hint_ckpt_section_t *tr = hint_ckpt_find(&c, "teacher_rng");
    if (t == NULL || tr == NULL || tr->size != sizeof(hint_rng_t))
      rc = HINT_ECHECKSUM;
    else if ((rc = nn_params_load(teacher_params(L->teacher), t->data, t->size)) == HINT_OK)
      memcpy(teacher_rng(L->teacher), tr->data, sizeof(hint_rng_t));
  }
  if (rc == HINT_OK && L->offp) {
    const hint_ckpt_section_t *o = hint_ckpt_find(&c, "offpolicy");
    rc = o == NULL ? HINT_ECHECKSUM : offpolicy_ckpt_load(L->offp, o->data, o->size);
  }
  if (rc != HINT_OK)
    LOG_ERROR("resume: %s is not usable: %s", path, hint_strerror(rc));
  hint_ckpt_free(&c);
  return rc;
}

static void request_ckpt(learner_t *L) {
  if (L->sync && !L->in_round) {
    L->ckpt_wanted = 1;
    return;
  }
  L->ckpt_wanted = 0;
  if (L->ckpt_pending)
    return;
  const uint64_t id = steps_of(L) > L->ctr.ckpt_id ? steps_of(L) : L->ctr.ckpt_id + 1;
  L->ctr.ckpt_id = id;
  if (write_learner_ckpt(L, id) != HINT_OK) {
    L->exit_code = 5;
    return;
  }
  memset(L->ckpt_acked, 0, (size_t)L->n_actors + 1);
  L->ckpt_acks = 0;
  L->ckpt_pending = id;
  publish_control(L, MSG_CTRL_CHECKPOINT, (int64_t)id);
}

static void ckpt_ack(learner_t *L, int rank, uint64_t id) {
  if (id == 0 || id != L->ckpt_pending || L->ckpt_acked[rank])
    return;
  L->ckpt_acked[rank] = 1;
  if (++L->ckpt_acks < L->n_actors)
    return;
  char part[4096], fin[4096];
  runtime_ckpt_partial_dir(&L->cfg, id, part, sizeof part);
  runtime_ckpt_final_dir(&L->cfg, id, fin, sizeof fin);
  if (rename(part, fin) != 0) {
    LOG_ERROR("checkpoint: cannot rename %s to %s: %s", part, fin, strerror(errno));
    L->exit_code = 5;
  } else {
    snprintf(L->last_ckpt_dir, sizeof L->last_ckpt_dir, "%s", fin);
    LOG_DEBUG("checkpoint complete: %s", fin);
    runtime_prune(&L->cfg, L->cfg.ckpt.keep);
  }
  L->ckpt_pending = 0;
}

static void request_ckpt(learner_t *L);

static void maybe_request_ckpt(learner_t *L, double now) {
  if (L->cfg.ckpt.interval_s > 0 && now >= L->next_ckpt_at && L->phase == PHASE_RUN) {
    request_ckpt(L);
    L->next_ckpt_at = now + L->cfg.ckpt.interval_s;
  }
}

static void maybe_request_eval(learner_t *L) {
  if (L->cfg.eval.interval_env_steps > 0 && steps_of(L) >= L->ctr.next_eval_steps && L->phase == PHASE_RUN) {
    L->ctr.eval_id++;
    publish_student_pending(L);
    publish_control(L, MSG_CTRL_EVALUATE, (int64_t)L->ctr.eval_id);
    while (L->ctr.next_eval_steps <= steps_of(L))
      L->ctr.next_eval_steps += (uint64_t)L->cfg.eval.interval_env_steps;
  }
}

/* result.json: written once, atomically, when a run reaches its budget. Its
 * presence is what marks a run finished for sweeps and the results grid; its
 * fields are the final evaluation plus what identifies the run. */
static void write_result(learner_t *L) {
  char dir[4096], path[4200], tmp[4210], buf[4096];
  const msg_eval_t *e = &L->last_eval;
  runtime_run_dir(&L->cfg, dir, sizeof dir);
  snprintf(path, sizeof path, "%s/result.json", dir);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  metrics_rec_t r;
  metrics_rec_begin(&r, buf, sizeof buf);
  metrics_rec_str(&r, "run", L->cfg.run.name);
  metrics_rec_str(&r, "algo", hint_config_enum_name("algo.name", L->cfg.algo.name));
  metrics_rec_str(&r, "env", hint_config_enum_name("env.name", L->cfg.env.name));
  metrics_rec_int(&r, "size", L->cfg.env.size);
  metrics_rec_int(&r, "perception_agents", L->cfg.env.perception_agents);
  metrics_rec_int(&r, "action_agents", L->cfg.env.action_agents);
  metrics_rec_int(&r, "seed", L->cfg.run.seed);
  metrics_rec_int(&r, "actors", L->n_actors);
  metrics_rec_int(&r, "env_steps", (int64_t)L->ctr.env_steps);
  metrics_rec_num(&r, "train_wall_s", L->ctr.train_wall_s);
  metrics_rec_num(&r, "env_steps_per_s", L->ctr.train_wall_s > 0 ? L->ctr.env_steps / L->ctr.train_wall_s : NAN);
  metrics_rec_int(&r, "eval_env_steps", (int64_t)e->env_steps);
  metrics_rec_int(&r, "episodes", e->episodes);
  metrics_rec_num(&r, "sampled_success", e->sampled_success);
  metrics_rec_num(&r, "sampled_return", e->sampled_return);
  metrics_rec_num(&r, "sampled_length", e->sampled_length);
  metrics_rec_num(&r, "greedy_success", e->greedy_success);
  metrics_rec_num(&r, "greedy_return", e->greedy_return);
  metrics_rec_num(&r, "greedy_length", e->greedy_length);
  metrics_rec_num(&r, "teacher_success", e->teacher_success >= 0 ? e->teacher_success : NAN);
  metrics_rec_num(&r, "teacher_length", e->teacher_success >= 0 ? e->teacher_length : NAN);
  metrics_rec_num(&r, "reference_success", e->reference_success);
  metrics_rec_num(&r, "reference_length", e->reference_length);
  char hash[32];
  snprintf(hash, sizeof hash, "%016llx", (unsigned long long)hint_config_hash(&L->cfg));
  metrics_rec_str(&r, "config_hash", hash);
  if (metrics_rec_end(&r) != HINT_OK) {
    LOG_WARN("result.json record did not fit");
    return;
  }
  FILE *f = fopen(tmp, "w");
  if (f == NULL || metrics_rec_write(&r, f) != HINT_OK || fsync(fileno(f)) != 0) {
    LOG_WARN("cannot write %s: %s", tmp, strerror(errno));
    if (f)
      fclose(f);
    unlink(tmp);
    return;
  }
  fclose(f);
  if (rename(tmp, path) != 0)
    LOG_WARN("cannot rename %s to %s: %s", tmp, path, strerror(errno));
}

/* ---- metrics and status --------------------------------------------------- */

static void on_eval(learner_t *L, const msg_eval_t *e) {
  L->last_eval = *e;
  L->have_eval = 1;
  if (L->eval_f == NULL)
    return;
  char buf[2048];
  metrics_rec_t r;
  metrics_rec_begin(&r, buf, sizeof buf);
  metrics_rec_num(&r, "time", hint_wall_s());
  metrics_rec_int(&r, "eval_id", (int64_t)e->eval_id);
  metrics_rec_int(&r, "env_steps", (int64_t)e->env_steps);
  metrics_rec_str(&r, "algo", hint_config_enum_name("algo.name", L->cfg.algo.name));
  metrics_rec_int(&r, "seed", L->cfg.run.seed);
  metrics_rec_int(&r, "episodes", e->episodes);
  metrics_rec_num(&r, "sampled_success", e->sampled_success);
  metrics_rec_num(&r, "sampled_return", e->sampled_return);
  metrics_rec_num(&r, "sampled_length", e->sampled_length);
  metrics_rec_num(&r, "greedy_success", e->greedy_success);
  metrics_rec_num(&r, "greedy_return", e->greedy_return);
  metrics_rec_num(&r, "greedy_length", e->greedy_length);
  if (e->teacher_success >= 0) {
    metrics_rec_num(&r, "teacher_success", e->teacher_success);
    metrics_rec_num(&r, "teacher_return", e->teacher_return);
    metrics_rec_num(&r, "teacher_length", e->teacher_length);
  }
  metrics_rec_num(&r, "reference_success", e->reference_success);
  metrics_rec_num(&r, "reference_length", e->reference_length);
  metrics_rec_int(&r, "policy_version", (int64_t)e->policy_version);
  metrics_rec_int(&r, "teacher_version", (int64_t)e->teacher_version);
  if (metrics_rec_end(&r) == HINT_OK && metrics_rec_write(&r, L->eval_f) != HINT_OK)
    LOG_WARN("cannot append to eval.jsonl (disk full?)");
  LOG_INFO("eval %llu at %.2fM steps: sampled %.1f%%  greedy %.1f%%%s  (reference %.1f%%, %.1f steps)",
           (unsigned long long)e->eval_id, e->env_steps / 1e6, 100 * e->sampled_success,
           100 * e->greedy_success, "", 100 * e->reference_success, e->reference_length);
}

static void tick(learner_t *L, double now) {
  const double dt = now - L->last_tick;
  if (dt <= 0)
    return;
  const learner_counters_t *a = &L->at_tick, *b = &L->ctr;
  const double sps = (double)(b->env_steps - a->env_steps) / dt;
  const double segps = (double)(b->segments - a->segments) / dt;
  const double updps = (double)(b->teacher_updates - a->teacher_updates) / dt;
  const double tsps = (double)(b->teacher_samples - a->teacher_samples) / dt;
  wire_counters_t wc;
  wire_learner_counters(L->wire, &wc);
  int inflight = 0;
  double f_env = 0, f_inf = 0, f_upd = 0, f_ar = 0;
  double wait = 0, kd_kept = 0, kd_w = 0, pg = 0, vl = 0, ent = 0, kdl = 0;
  int n_stats = 0;
  for (int r = 1; r <= L->n_actors; r++) {
    inflight += wire_learner_inflight(L->wire, r);
    const msg_stats_t *s = &L->actors[r].last;
    if (s->interval_s > 0) {
      n_stats++;
      wait += s->t_wait / s->interval_s;
      f_env += s->t_env / s->interval_s;
      f_inf += s->t_infer / s->interval_s;
      f_upd += s->t_update / s->interval_s;
      f_ar += s->t_allreduce / s->interval_s;
      kd_kept += s->kd_kept;
      kd_w += s->kd_weight;
      pg += s->pg_loss;
      vl += s->value_loss;
      ent += s->entropy;
      kdl += s->kd_loss;
    }
  }
  const double ns = n_stats ? n_stats : 1;
  const double succ = L->ep_student.episodes > 0 ? L->ep_student.success / L->ep_student.episodes : NAN;
  const double tsucc = L->ep_teacher.episodes > 0 ? L->ep_teacher.success / L->ep_teacher.episodes : NAN;
  const double elapsed = L->ctr.train_wall_s + (now - L->t0);
  const double total = (double)L->cfg.run.total_env_steps;
  const double eta = sps > 0 ? (total - (double)b->env_steps) / sps : INFINITY;
  if (L->metrics_f) {
    char buf[8192];
    metrics_rec_t r;
    metrics_rec_begin(&r, buf, sizeof buf);
    metrics_rec_num(&r, "time", hint_wall_s());
    metrics_rec_num(&r, "elapsed_s", elapsed);
    metrics_rec_int(&r, "env_steps", (int64_t)b->env_steps);
    metrics_rec_int(&r, "env_steps_student", (int64_t)b->env_steps_student);
    metrics_rec_int(&r, "env_steps_teacher", (int64_t)b->env_steps_teacher);
    metrics_rec_num(&r, "env_steps_per_s", sps);
    metrics_rec_num(&r, "segments_per_s", segps);
    metrics_rec_int(&r, "segments", (int64_t)b->segments);
    metrics_rec_int(&r, "teacher_updates", (int64_t)b->teacher_updates);
    if (L->uses_teacher) /* async: segments left out of every teacher update (it keeps up with the newest) */
      metrics_rec_int(&r, "teacher_skipped_segments", (int64_t)L->teacher_skipped);
    metrics_rec_num(&r, "ingest_mb_per_s", (double)(wc.bytes_in) / 1e6 / elapsed);
    metrics_rec_num(&r, "teacher_updates_per_s", updps);
    metrics_rec_num(&r, "teacher_samples_per_s", tsps);
    metrics_rec_int(&r, "teacher_version", (int64_t)b->teacher_version);
    metrics_rec_num(&r, "frac_decode", L->t_decode / dt);
    metrics_rec_num(&r, "frac_teacher_update", L->t_update / dt);
    metrics_rec_num(&r, "frac_targets", L->t_targets / dt);
    metrics_rec_num(&r, "frac_publish", L->t_publish / dt);
    double idle = 1.0 - (L->t_decode + L->t_update + L->t_targets + L->t_publish) / dt;
    metrics_rec_num(&r, "frac_idle", idle < 0 ? 0 : idle);
    metrics_rec_int(&r, "inflight", inflight);
    metrics_rec_num(&r, "policy_lag_mean", b->segments > a->segments ? (double)(b->lag_sum - a->lag_sum) / (double)(b->segments - a->segments) : 0.0);
    metrics_rec_int(&r, "dropped_lag", (int64_t)b->dropped_lag);
    metrics_rec_int(&r, "rejected_frames", (int64_t)wc.dropped);
    metrics_rec_int(&r, "auth_refused", (int64_t)wc.auth_refused);
    metrics_rec_int(&r, "handshake_failed", (int64_t)wc.handshake_failed);
    metrics_rec_num(&r, "actor_frac_env", f_env / ns);
    metrics_rec_num(&r, "actor_frac_inference", f_inf / ns);
    metrics_rec_num(&r, "actor_frac_update", f_upd / ns);
    metrics_rec_num(&r, "actor_frac_allreduce", f_ar / ns);
    metrics_rec_num(&r, "actor_wait_frac", wait / ns);
    metrics_rec_num(&r, "kd_weight", kd_w / ns);
    metrics_rec_num(&r, "kd_kept_frac", kd_kept / ns);
    if (L->uses_teacher) {
      /* The masked KD term is normalised by the kept count, so a class's
       * share of its weight is lambda * kept_c / kept_total: a filter that
       * drops one class raises the others' weight (algorithm.md, trap 1). */
      double kept_all = 0.0;
      for (int c = 0; c < L->dims.n_classes; c++)
        kept_all += L->fstats.kept[c];
      for (int c = 0; c < L->dims.n_classes; c++) {
        char key[48];
        snprintf(key, sizeof key, "kd_eff_weight_class%d", c);
        metrics_rec_num(&r, key, kept_all > 0 ? kd_w / ns * L->fstats.kept[c] / kept_all : NAN);
      }
    }
    if (L->uses_teacher && L->cfg.teacher.hierarchical) {
      metrics_rec_num(&r, "teacher_manager_entropy", L->tstats.manager_entropy);
      metrics_rec_num(&r, "teacher_goal_choice_entropy", L->tstats.goal_choice_entropy);
      metrics_rec_num(&r, "teacher_goal_arrival_rate",
                      L->tstats.goal_windows > 0 ? (double)L->tstats.goal_arrivals / (double)L->tstats.goal_windows : NAN);
      metrics_rec_num(&r, "teacher_goal_window_mean",
                      L->tstats.goal_windows > 0 ? (double)L->tstats.agent_steps / (double)L->tstats.goal_windows : NAN);
    }
    if (L->filter != NULL && L->cfg.filter.modes != 0) {
      /* Kept fraction of the guidance offered, per agent class, and what
       * each filter dropped (the filters' drops overlap). */
      static const char *const fname[FILTER_N_MODES] = {"value", "advantage", "consistency", "confidence"};
      for (int c = 0; c < L->dims.n_classes; c++) {
        char key[48];
        snprintf(key, sizeof key, "filter_kept_frac_class%d", c);
        metrics_rec_num(&r, key, L->fstats.offered[c] > 0 ? L->fstats.kept[c] / L->fstats.offered[c] : NAN);
      }
      for (int k = 0; k < FILTER_N_MODES; k++)
        if (L->cfg.filter.modes & (1 << k)) {
          char key[48];
          snprintf(key, sizeof key, "filter_dropped_%s", fname[k]);
          metrics_rec_num(&r, key, L->fstats.dropped_by[k]);
        }
    }
    metrics_rec_num(&r, "student_pg_loss", pg / ns);
    metrics_rec_num(&r, "student_value_loss", vl / ns);
    metrics_rec_num(&r, "student_entropy", ent / ns);
    metrics_rec_num(&r, "student_kd_loss", kdl / ns);
    if (L->offp) { /* means over the gradient steps since the last record */
      const offp_stats_t *o = &L->ostats;
      const double k = o->steps > 0 ? 1.0 / o->steps : NAN;
      metrics_rec_num(&r, "offp_loss", o->loss * k);
      metrics_rec_num(&r, "offp_q_mean", o->q_mean * k);
      metrics_rec_num(&r, "offp_grad_norm", o->grad_norm * k);
      if (L->cfg.algo.name == HINT_ALGO_MADDPG)
        metrics_rec_num(&r, "offp_actor_loss", o->actor_loss * k);
      metrics_rec_int(&r, "offp_updates", (int64_t)offpolicy_updates(L->offp));
      metrics_rec_num(&r, "offp_updates_per_s", o->steps / dt);
      metrics_rec_int(&r, "offp_replay_transitions", offpolicy_rows(L->offp));
      metrics_rec_int(&r, "policy_version", (int64_t)offpolicy_version(L->offp));
      if (L->cfg.algo.name == HINT_ALGO_QMIX)
        metrics_rec_num(&r, "epsilon", runtime_epsilon(&L->cfg, b->env_steps));
    }
    if (L->uses_teacher) {
      metrics_rec_num(&r, "teacher_policy_loss", L->tstats.policy_loss);
      metrics_rec_num(&r, "teacher_value_loss", L->tstats.value_loss);
      metrics_rec_num(&r, "teacher_entropy", L->tstats.entropy);
      metrics_rec_num(&r, "teacher_explained_var", L->tstats.explained_var);
    }
    metrics_rec_num(&r, "episodes", L->ep_student.episodes);
    metrics_rec_num(&r, "success", succ);
    metrics_rec_num(&r, "return", L->ep_student.episodes > 0 ? L->ep_student.ret / L->ep_student.episodes : NAN);
    metrics_rec_num(&r, "length", L->ep_student.episodes > 0 ? L->ep_student.length / L->ep_student.episodes : NAN);
    metrics_rec_num(&r, "teacher_driven_success", tsucc);
    if (L->have_eval) {
      metrics_rec_num(&r, "eval_sampled_success", L->last_eval.sampled_success);
      metrics_rec_num(&r, "eval_greedy_success", L->last_eval.greedy_success);
    }
    metrics_rec_num(&r, "rss_mb", (double)metrics_rss_bytes() / 1048576.0);
    for (int k = 1; k <= L->n_actors && k <= 64; k++) {
      char key[32];
      snprintf(key, sizeof key, "actor%d_env_steps_per_s", k);
      metrics_rec_num(&r, key, (double)L->actors[k].steps_interval / dt);
    }
    if (metrics_rec_end(&r) == HINT_OK && metrics_rec_write(&r, L->metrics_f) != HINT_OK)
      LOG_WARN("cannot append to metrics.jsonl (disk full?)");
    if (r.len < r.cap)
      prom_publish(L->prom, buf, r.len); /* the same record, to the /metrics endpoint */
  }
  if (L->cfg.metrics.status_line) {
    char line[512], etas[32], sc[16] = "  -", ev[64] = "";
    metrics_fmt_duration(eta, etas, sizeof etas);
    if (!isnan(succ))
      snprintf(sc, sizeof sc, "%3.0f%%", 100 * succ);
    if (L->have_eval)
      snprintf(ev, sizeof ev, "  eval %.0f%%/%.0f%%", 100 * L->last_eval.sampled_success,
               100 * L->last_eval.greedy_success);
    snprintf(line, sizeof line,
             "[%s] %6.2fM/%.2fM steps  %6.1fk steps/s  %5.1f seg/s  %4.1f upd/s  inflight %d  "
             "success %s%s  ETA %s",
             L->cfg.run.name, b->env_steps / 1e6, total / 1e6, sps / 1e3, segps, updps, inflight, sc,
             ev, etas);
    metrics_status(stdout, L->status_tty, line);
  }
  for (int r = 1; r <= L->n_actors; r++)
    L->actors[r].steps_interval = 0;
  memset(&L->ep_student, 0, sizeof L->ep_student);
  memset(&L->ep_teacher, 0, sizeof L->ep_teacher);
  L->t_decode = L->t_update = L->t_targets = L->t_publish = 0;
  memset(&L->fstats, 0, sizeof L->fstats);
  memset(&L->ostats, 0, sizeof L->ostats);
  L->at_tick = L->ctr;
  L->last_tick = now;
}

/* ---- the serving loop ---------------------------------------------------- */

/* Publishes the shutdown (see the phase comment); sync mode defers it to
 * the end of the current round. */
static void publish_stop(learner_t *L) {
  L->stop_wanted = 0;
  (void)teacher_update_finish(L); /* the final evaluation sees the whole last update */
  if (L->stop_reason == 0 && L->actors[1].said_hello && !L->actors[1].said_bye) {
    L->ctr.eval_id++;
    L->final_eval_id = L->ctr.eval_id;
    publish_student_pending(L);
    publish_control(L, MSG_CTRL_EVALUATE, (int64_t)L->ctr.eval_id);
  }
  request_ckpt(L);
  publish_control(L, MSG_CTRL_STOP, 0);
  L->phase = PHASE_STOPPING;
  L->phase_deadline = hint_now_s() + L->cfg.transport.actor_timeout_s + 300.0;
}

static void begin_stop(learner_t *L, int reason, const char *why) {
  if (L->phase != PHASE_RUN || L->stop_wanted)
    return;
  L->stop_reason = reason;
  LOG_INFO("%s: %scheckpointing and stopping", why, reason == 0 ? "final evaluation, " : "");
  if (L->sync && !L->in_round)
    L->stop_wanted = 1;
  else
    publish_stop(L);
}

static int dispatch(learner_t *L, wire_in_t *in) {
  const int r = in->rank;
  if (r >= 1 && r <= L->n_actors)
    L->actors[r].last_heard = hint_now_s();
  const msg_any_t *m = &in->msg;
  switch (m->type) {
  case MSG_HELLO:
    if (r >= 1 && r <= L->n_actors) {
      actor_info_t *a = &L->actors[r];
      a->said_hello = 1;
      a->pid = m->u.hello.pid;
      snprintf(a->host, sizeof a->host, "%.*s", (int)m->u.hello.host.len,
               m->u.hello.host.data ? m->u.hello.host.data : "");
    }
    return HINT_OK;
  case MSG_SEGMENT:
    return L->sync ? ingest_sync(L, &m->u.segment) : ingest_async(L, &m->u.segment);
  case MSG_STATS: {
    const msg_stats_t *s = &m->u.stats;
    if (r < 1 || r > L->n_actors)
      return HINT_OK;
    L->actors[r].last = *s;
    L->ep_student.episodes += (float)s->episodes;
    L->ep_student.success += (float)s->successes;
    L->ep_student.ret += (float)s->return_sum;
    L->ep_student.length += (float)s->length_sum;
    L->ep_teacher.episodes += (float)s->teacher_episodes;
    L->ep_teacher.success += (float)s->teacher_successes;
    ckpt_ack(L, r, s->ckpt_done);
    return HINT_OK;
  }
  case MSG_EVAL:
    on_eval(L, &m->u.eval);
    if (m->u.eval.eval_id == L->final_eval_id)
      L->final_eval_id = 0;
    return HINT_OK;
  case MSG_BYE:
    if (r >= 1 && r <= L->n_actors) {
      if (m->u.bye.reason == HINT_ESTOPPED) {
        LOG_INFO("actor %d asks to stop (%.*s)", r, (int)m->u.bye.text.len,
                 m->u.bye.text.data ? m->u.bye.text.data : "");
        begin_stop(L, HINT_ESTOPPED, "stop requested by a signal");
      } else {
        L->actors[r].said_bye = 1;
      }
    }
    return HINT_OK;
  default:
    return HINT_OK;
  }
}

/* Whether actor r runs on this host and its process no longer exists (killed,
 * crashed). The learner then names it at once; waiting for silence would name
 * whichever actor went quiet first, often a live one blocked in a collective
 * with the dead one. */
static int actor_gone(const learner_t *L, int r) {
  static char host[64];
  if (host[0] == '\0' && gethostname(host, sizeof host - 1) != 0)
    return 0;
  const actor_info_t *a = &L->actors[r];
  return a->pid != 0 && strcmp(a->host, host) == 0 && kill((pid_t)a->pid, 0) != 0 && errno == ESRCH;
}

static int all_byes(const learner_t *L) {
  for (int r = 1; r <= L->n_actors; r++)
    if (!L->actors[r].said_bye)
      return 0;
  return 1;
}

static int serve(learner_t *L) {
  L->t0 = L->last_tick = hint_now_s();
  L->next_ckpt_at = L->t0 + (L->cfg.ckpt.interval_s > 0 ? L->cfg.ckpt.interval_s : 1e18);
  for (int r = 1; r <= L->n_actors; r++)
    L->actors[r].last_heard = L->t0;
  if (L->ctr.next_eval_steps == 0)
    L->ctr.next_eval_steps = (uint64_t)L->cfg.eval.interval_env_steps;
  for (;;) {
    const double now = hint_now_s();
    int timeout = (int)((L->last_tick + L->cfg.metrics.interval_s - now) * 1000.0);
    if (timeout > 200)
      timeout = 200;
    if (timeout < 0 || (L->teacher && teacher_update_active(L->teacher)))
      timeout = 0;
    wire_in_t in;
    int rc = wire_learner_recv(L->wire, &in, timeout);
    if (rc == HINT_OK) {
      rc = dispatch(L, &in);
      if (rc != HINT_OK) {
        L->exit_code = 4;
        return rc;
      }
      if (L->sync && round_complete(L) && (rc = finish_round(L)) != HINT_OK) {
        L->exit_code = 4;
        return rc;
      }
    }
    /* async: one minibatch of the teacher update in progress per message. */
    if (!L->sync && ((rc = teacher_update_step_on(L)) != HINT_OK || (rc = maybe_start_update(L)) != HINT_OK)) {
      L->exit_code = 4;
      return rc;
    }
    const double t = hint_now_s();
    if (!L->sync && L->phase == PHASE_RUN) {
      maybe_request_eval(L);
      maybe_request_ckpt(L, t);
    }
    if (t - L->last_tick >= L->cfg.metrics.interval_s)
      tick(L, t);
    if (L->exit_code != 0)
      return HINT_EIO;
    /* Lost actors: gone (checked once one is quiet for a second), or silent. */
    for (int r = 1; r <= L->n_actors; r++) {
      actor_info_t *a = &L->actors[r];
      if (a->said_bye || t - a->last_heard < 1.0 || !actor_gone(L, r))
        continue;
      LOG_ERROR("actor %d (%s pid %u) is gone: its process no longer exists (killed or crashed); "
                "ending the job%s%s",
                r, a->host, a->pid, L->last_ckpt_dir[0] ? "; newest checkpoint: " : "", L->last_ckpt_dir);
      L->exit_code = 3;
      return HINT_ECONN;
    }
    for (int r = 1; r <= L->n_actors; r++) {
      actor_info_t *a = &L->actors[r];
      if (!a->said_bye && t - a->last_heard > L->cfg.transport.actor_timeout_s) {
        LOG_ERROR("actor %d (%s pid %u) has been silent for %.0f s (transport.actor_timeout_s = %g); "
                  "ending the job%s%s",
                  r, a->host[0] ? a->host : "?", a->pid, t - a->last_heard,
                  L->cfg.transport.actor_timeout_s, L->last_ckpt_dir[0] ? "; newest checkpoint: " : "",
                  L->last_ckpt_dir);
        L->exit_code = 3;
        return HINT_ETIMEDOUT;
      }
    }
    if (got_signal)
      begin_stop(L, HINT_ESTOPPED, got_signal == SIGINT ? "SIGINT" : got_signal == SIGUSR1 ? "stop requested (SIGUSR1 from hint-launch)" : "SIGTERM");
    if (L->phase == PHASE_RUN) {
      if (steps_of(L) >= (uint64_t)L->cfg.run.total_env_steps)
        begin_stop(L, 0, "budget reached");
      else if (L->cfg.run.max_wall_s > 0 && L->ctr.train_wall_s + (t - L->t0) >= L->cfg.run.max_wall_s)
        begin_stop(L, 0, "run.max_wall_s reached");
    }
    if (L->phase == PHASE_STOPPING) {
      if (all_byes(L) && L->ckpt_pending == 0 && L->final_eval_id == 0 && !L->ckpt_wanted)
        return HINT_OK;
      if (all_byes(L) || t > L->phase_deadline) {
        if (L->ckpt_pending || L->ckpt_wanted)
          LOG_ERROR("checkpoint %llu incomplete: not every actor confirmed it",
                    (unsigned long long)L->ckpt_pending);
        if (!all_byes(L))
          LOG_ERROR("not every actor said bye after stop");
        if (L->final_eval_id)
          LOG_WARN("the final evaluation did not arrive");
        if (L->ckpt_pending || L->ckpt_wanted || !all_byes(L)) {
          L->exit_code = 3;
          return HINT_ETIMEDOUT;
        }
        return HINT_OK;
      }
    }
  }
}

/* ---- set-up --------------------------------------------------------------- */

static int open_run_dir(learner_t *L, int resuming) {
  char dir[4096], path[4200], err[512];
  runtime_run_dir(&L->cfg, dir, sizeof dir);
  int rc = runtime_mkdirs(dir, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("run directory: %s", err);
    return rc;
  }
  if (!resuming) {
    /* A fresh start in a directory with older checkpoints: set them aside
     * (never delete), so "newest" and pruning only ever see this run's. */
    char old[4200], aside[4300];
    snprintf(old, sizeof old, "%s/ckpt", dir);
    if (access(old, F_OK) == 0) {
      snprintf(aside, sizeof aside, "%s/ckpt.before-%.0f", dir, hint_wall_s());
      if (rename(old, aside) == 0)
        LOG_WARN("starting afresh: the earlier checkpoints of %s were moved to %s", dir, aside);
    }
  }
  snprintf(path, sizeof path, "%s/config.yaml", dir);
  FILE *f = fopen(path, "w");
  if (f == NULL || hint_config_write(&L->cfg, f) != HINT_OK || fclose(f) != 0) {
    LOG_ERROR("run directory: cannot write %s: %s", path, strerror(errno));
    return HINT_EIO;
  }
  snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
  L->metrics_f = fopen(path, resuming ? "a" : "w");
  snprintf(path, sizeof path, "%s/eval.jsonl", dir);
  L->eval_f = fopen(path, resuming ? "a" : "w");
  if (L->metrics_f == NULL || L->eval_f == NULL) {
    LOG_ERROR("run directory: cannot open %s: %s", path, strerror(errno));
    return HINT_EIO;
  }
  return HINT_OK;
}

static int setup(learner_t *L, char *resume_dir, size_t cap) {
  char err[512];
  int rc;
  const int T = L->cfg.actor.segment_len, E = L->cfg.actor.envs, A = L->dims.n_agents,
            NA = L->dims.n_actions;
  if (L->uses_teacher) {
    int rows = E > L->cfg.eval.episodes ? E : L->cfg.eval.episodes;
    if ((rc = teacher_create(&L->teacher, &L->cfg, rows, (uint64_t)L->cfg.run.seed, err, sizeof err)) != HINT_OK) {
      LOG_ERROR("teacher: %s", err);
      return rc;
    }
  }
  if (runtime_offpolicy(&L->cfg) &&
      (rc = offpolicy_create(&L->offp, &L->cfg, &L->dims, (uint64_t)L->cfg.run.seed)) != HINT_OK) {
    LOG_ERROR("%s: cannot build the students and replay: %s", hint_config_enum_name("algo.name", L->cfg.algo.name),
              hint_strerror(rc));
    return rc;
  }
  msg_shapes_from_config(&L->shapes, &L->cfg, &L->dims);
  L->shapes.n_actors = (uint32_t)L->n_actors;
  L->shapes.n_teacher_params = L->teacher ? teacher_params(L->teacher)->n : 0;
  L->shapes.n_student_params = L->offp ? student_param_count(offpolicy_student(L->offp)) : 0;
  /* Without a teacher the replay only holds the segments being answered (one
   * sync round): keeping teacher.replay_segments of them made mappo's
   * checkpoints 0.4-0.9 GB on 10x10. */
  const int replay_cap = L->uses_teacher ? L->cfg.teacher.replay_segments : L->n_actors;
  if ((rc = replay_init(&L->replay, replay_cap, &L->shapes)) != HINT_OK ||
      (rc = replay_init(&L->stage, L->n_actors, &L->shapes)) != HINT_OK)
    return rc;
  L->pi = hint_malloc((size_t)T * E * A * NA * sizeof(float));
  L->vT = hint_malloc((size_t)T * E * sizeof(float));
  L->vboot = hint_malloc((size_t)E * sizeof(float));
  if (L->uses_teacher && (rc = filter_create(&L->filter, &L->cfg, &L->dims)) != HINT_OK) {
    LOG_ERROR("filter: %s", hint_strerror(rc));
    return rc;
  }
  L->mask = hint_malloc((size_t)T * E * A);
  L->actors = hint_calloc((size_t)L->n_actors + 1, sizeof *L->actors);
  L->ckpt_acked = hint_calloc((size_t)L->n_actors + 1, 1);
  if (!L->pi || !L->vT || !L->vboot || !L->mask || !L->actors || !L->ckpt_acked)
    return HINT_ENOMEM;
  uint64_t id = 0;
  resume_dir[0] = '\0';
  if (L->cfg.run.resume != HINT_RESUME_NEVER) {
    runtime_find_resume(&L->cfg, L->n_actors, resume_dir, cap, &id);
    if (resume_dir[0] == '\0' && L->cfg.run.resume == HINT_RESUME_MUST) {
      LOG_ERROR("run.resume is must, but %s/%s has no valid checkpoint", L->cfg.run.dir, L->cfg.run.name);
      return HINT_ENOENT;
    }
    if (resume_dir[0] && (rc = load_learner_ckpt(L, resume_dir)) != HINT_OK)
      return rc;
    if (resume_dir[0]) {
      LOG_INFO("resuming from %s (%.2fM env steps)", resume_dir, L->ctr.env_steps / 1e6);
      runtime_set_aside_newer(&L->cfg, id); /* else they would stay "newest" */
    }
  }
  if (L->ctr.env_steps >= (uint64_t)L->cfg.run.total_env_steps && resume_dir[0]) {
    LOG_INFO("this run already reached its budget (%.2fM env steps); raise run.total_env_steps "
             "or choose a new run.name to train more", L->ctr.env_steps / 1e6);
  }
  if (L->cfg.metrics.prometheus_port != 0) {
    prom_info_t pi = {L->cfg.run.name, hint_config_enum_name("algo.name", L->cfg.algo.name),
                      (double)L->cfg.run.total_env_steps};
    if ((rc = prom_create(&L->prom, L->cfg.metrics.prometheus_bind, L->cfg.metrics.prometheus_port, &pi, err,
                          sizeof err)) != HINT_OK) {
      LOG_ERROR("metrics.prometheus_port: %s", err);
      return rc;
    }
    LOG_INFO("Prometheus metrics at %s", prom_url(L->prom));
  }
  return open_run_dir(L, resume_dir[0] != '\0');
}

static void teardown(learner_t *L) {
  prom_destroy(&L->prom);
  if (L->metrics_f)
    fclose(L->metrics_f);
  if (L->eval_f)
    fclose(L->eval_f);
  hint_free(L->pi);
  hint_free(L->vT);
  hint_free(L->vboot);
  filter_destroy(&L->filter);
  hint_free(L->mask);
  hint_free(L->actors);
  hint_free(L->ckpt_acked);
  replay_fini(&L->replay);
  replay_fini(&L->stage);
  teacher_destroy(&L->teacher);
  offpolicy_destroy(&L->offp);
  wire_learner_destroy(&L->wire);
}

static int read_file(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return errno == ENOENT ? HINT_ENOENT : HINT_EIO;
  enum { MAX = 1 << 20 };
  char *buf = hint_malloc(MAX + 1);
  if (buf == NULL) {
    fclose(f);
    return HINT_ENOMEM;
  }
  size_t n = fread(buf, 1, MAX + 1, f);
  fclose(f);
  if (n > MAX) {
    hint_free(buf);
    return HINT_ETOOBIG;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return HINT_OK;
}

int main(int argc, char **argv) {
  hint_cli_t cli;
  char err[512];
  if (hint_cli_parse(argc, argv, NULL, &cli, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "hint-learner: %s\n", err);
    return 2;
  }
  if (cli.help) {
    hint_cli_usage("hint-learner", "The learner rank (world rank 0); start it with deploy/hint-launch.", stdout);
    return 0;
  }
  if (cli.help_config) {
    hint_config_help(stdout);
    return 0;
  }
  MPI_Init(&argc, &argv);
  static learner_t L;
  memset(&L, 0, sizeof L);
  int rc = boot_init(&L.boot, MPI_COMM_WORLD);
  if (rc != HINT_OK) {
    fprintf(stderr, "hint-learner: MPI bootstrap failed (%s); the job needs 1 learner and at least 1 actor\n",
            hint_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 4);
  }
  L.n_actors = L.boot.n_actors;
  hint_log_init("learner", 0, HINT_LOG_INFO);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGUSR1, on_signal); /* what hint-launch forwards through mpirun */
  signal(SIGPIPE, SIG_IGN);
  L.status_tty = getenv("HINT_STATUS_TTY") != NULL ? atoi(getenv("HINT_STATUS_TTY")) : isatty(1);

  /* Config: read here, validated and broadcast by boot_config. */
  char *text = NULL;
  size_t len = 0;
  int read_rc = cli.config_path ? read_file(cli.config_path, &text, &len) : HINT_OK;
  if (read_rc != HINT_OK)
    LOG_ERROR("cannot read config %s: %s", cli.config_path, hint_strerror(read_rc));
  rc = boot_config(&L.boot, read_rc == HINT_OK ? text : NULL, len,
                   cli.config_path ? cli.config_path : "<defaults>", cli.overrides, cli.n_overrides, &L.cfg);
  hint_free(text);
  if (read_rc != HINT_OK && rc == HINT_OK)
    rc = read_rc;
  int env_rc = HINT_OK;
  if (rc == HINT_OK) {
    runtime_apply_algo(&L.cfg);
    env_rc = env_validate(&L.cfg, err, sizeof err);
    if (env_rc != HINT_OK)
      LOG_ERROR("%s: %s", cli.config_path ? cli.config_path : "<defaults>", err);
    if (env_rc == HINT_OK && (env_rc = env_dims(&L.cfg, &L.dims, err, sizeof err)) != HINT_OK)
      LOG_ERROR("%s", err);
  }
  if (rc == HINT_OK)
    rc = boot_agree(&L.boot, env_rc);
  if (rc != HINT_OK) {
    L.exit_code = 2;
    goto out;
  }
  hint_log_set_level((hint_log_level_t)L.cfg.run.log_level);
  openblas_set_num_threads(L.cfg.blas.learner_threads > 0 ? L.cfg.blas.learner_threads : L.cfg.blas.threads);
  L.uses_teacher = L.cfg.algo.name == HINT_ALGO_KD || L.cfg.algo.name == HINT_ALGO_HINT;
  L.sync = L.cfg.run.sync;

  char resume_dir[4096];
  int local = setup(&L, resume_dir, sizeof resume_dir);
  if (local != HINT_OK)
    resume_dir[0] = '\0';
  rc = runtime_bcast_resume(&L.boot, resume_dir, sizeof resume_dir);
  if (local == HINT_OK)
    local = rc;
  wire_opts_t opts;
  wire_opts_from_config(&opts, &L.cfg);
  opts.n_actors = L.n_actors;
  if (local == HINT_OK && opts.curve)
    local = wire_keypair_new(&L.keys);
  if (local == HINT_OK)
    local = wire_learner_create(&L.wire, &opts, &L.shapes, opts.curve ? &L.keys : NULL, hint_config_hash(&L.cfg));
  boot_endpoints_t ep;
  rc = boot_exchange(&L.boot, &L.cfg, local, L.wire, opts.curve ? &L.keys : NULL, &ep);
  if (rc != HINT_OK) {
    L.exit_code = local == HINT_EIO || local == HINT_ENOSPC ? 5 : local != HINT_OK ? 4 : 2;
    goto out;
  }
  /* Hellos, then the same collective the actors call after their handshake. */
  const double deadline = hint_now_s() + L.cfg.transport.actor_timeout_s;
  int hellos = 0;
  while (hellos < L.n_actors && hint_now_s() < deadline) {
    wire_in_t in;
    if (wire_learner_recv(L.wire, &in, 200) == HINT_OK) {
      if (in.msg.type == MSG_HELLO && in.rank >= 1 && in.rank <= L.n_actors && !L.actors[in.rank].said_hello)
        hellos++;
      dispatch(&L, &in);
    }
  }
  if (hellos < L.n_actors)
    LOG_ERROR("only %d of %d actors said hello within %g s", hellos, L.n_actors, L.cfg.transport.actor_timeout_s);
  rc = boot_agree(&L.boot, hellos == L.n_actors ? HINT_OK : HINT_ETIMEDOUT);
  if (rc != HINT_OK) {
    L.exit_code = 3;
    goto out;
  }
  if (wire_learner_wait_subscribers(L.wire, L.n_actors, (int)(L.cfg.transport.actor_timeout_s * 1000)) != HINT_OK) {
    LOG_ERROR("not every actor subscribed to the parameter channel within %g s", L.cfg.transport.actor_timeout_s);
    L.exit_code = 3;
    goto out;
  }
  LOG_INFO("%s: %s on %s %dx%d, %d actors x %d envs, run directory %s/%s", L.cfg.run.name,
           hint_config_enum_name("algo.name", L.cfg.algo.name), hint_config_enum_name("env.name", L.cfg.env.name),
           L.cfg.env.size, L.cfg.env.size, L.n_actors, L.cfg.actor.envs, L.cfg.run.dir, L.cfg.run.name);
  const double started = hint_now_s();
  rc = serve(&L);
  L.ctr.train_wall_s += hint_now_s() - started;
  if (L.cfg.metrics.status_line && L.status_tty)
    fputc('\n', stdout);
  if (rc == HINT_OK && L.exit_code == 0) {
    if (L.stop_reason == HINT_ESTOPPED)
      LOG_INFO("stopped by request after %.2fM env steps; resume with the same command (checkpoint: %s)",
               L.ctr.env_steps / 1e6, L.last_ckpt_dir[0] ? L.last_ckpt_dir : "none");
    if (L.stop_reason == 0 && L.have_eval)
      write_result(&L);
    if (L.have_eval)
      printf("result: %s %s, %.2fM env steps in %.0f s: sampled success %.1f%%, greedy %.1f%%, "
             "mean length %.1f (reference controller %.1f%% in %.1f steps)\n",
             hint_config_enum_name("algo.name", L.cfg.algo.name), L.cfg.run.name, L.ctr.env_steps / 1e6,
             L.ctr.train_wall_s, 100 * L.last_eval.sampled_success, 100 * L.last_eval.greedy_success,
             L.last_eval.sampled_length, 100 * L.last_eval.reference_success, L.last_eval.reference_length);
    fflush(stdout);
  }
out:
  teardown(&L);
  boot_fini(&L.boot);
  if (L.exit_code == 3 || L.exit_code == 4 || L.exit_code == 5) {
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, L.exit_code);
  }
  if (got_signal == SIGTERM || got_signal == SIGINT) {
    /* A SIGTERM/SIGINT comes from mpirun's abort path (the launcher sends
     * SIGUSR1 instead): mpirun no longer serves MPI_Finalize, which would
     * block until it kills us. Our work is done and on disk; leave now. */
    fflush(stdout);
    fflush(stderr);
    _exit(L.exit_code);
  }
  MPI_Finalize();
  return L.exit_code;
}
