/* ingest_ceiling.c: how many segments per second the learner can take in.
 *
 * The learner's work per segment (learner/learner.c, ingest_async + answer):
 * validate (msg_decode), count, store in the replay, compute the teacher's
 * targets pi_T / V_T on every state and the keep mask (filter), encode the
 * targets; and once per round of n_actors segments, a teacher update on them.
 * Its ceiling is the rate at which it does that when senders never make it
 * wait. Two ways to measure it, both fed with the same synthetic segments:
 *
 * 1. In process (the default; also `meson test --benchmark ingest_ceiling`):
 *    the learner's per-segment steps, called from the library functions on
 *    pre-encoded frames, as fast as possible:
 *      (a) decode + store + targets (+ filter) + encode targets
 *      (b) (a) plus a whole teacher update (teacher.epochs x minibatches)
 *          per round of n senders' segments: every segment trains the
 *          teacher, as in sync mode; the async learner instead trains on
 *          the newest round whenever the previous update is done and skips
 *          the rest (teacher_skipped_segments), which only the real-learner
 *          measurement (2.) shows
 *    with the time of each step; (c) the wire alone: N sender threads with
 *    their own wire_actor (real encode, credits of transport.max_inflight) ->
 *    one wire_learner on loopback (real decode and validation) answering with
 *    full-size targets, no learner work; and the compute kernels at the
 *    config's shapes (student inference and update, teacher inference,
 *    targets and update, env step) for the FLOP model of perf_report.py.
 *
 * 2. Against the real hint-learner (perf_report.py runs this): this program
 *    replaces the actor ranks of a normal job. hint-launch puts
 *    HINT_RANK_WRAPPER in front of every rank's program; with
 *      HINT_RANK_WRAPPER="/path/ingest_ceiling --rank-wrapper" \
 *        deploy/hint-launch CONFIG --set run.max_wall_s=20 ...
 *    the learner rank is exec'd unchanged and every hint-actor rank runs the
 *    synthetic sender below instead: the same MPI bootstrap, hello, credits
 *    and control handling as actor/actor.c, but each segment is a
 *    pre-generated one (no env, no inference, no update), sent as soon as a
 *    credit is free. The learner's own metrics.jsonl then holds its ceiling
 *    (segments_per_s, frac_*), and actor_wait_frac says how much of the time
 *    the senders were starved of credits (near 1: the learner is the limit).
 *    Its checkpoints carry no actor files (not resumable); run it in a
 *    scratch run.dir.
 *
 * Synthetic segments: generated before timing exactly as an actor collects
 * them (actor.c collect): the env vector stepped with the untrained
 * students' sampled actions; env copies [0, n_teacher) driven by the
 * untrained teacher (hierarchical: with real goals and goal log-probs), n_teacher
 * = round(teacher_env_frac * E) from the schedule at env step 0 (or
 * --teacher-frac); values, comm, dones, truncation as the actor sends them.
 * A pool of --pool consecutive segments is replayed round robin.
 *
 * Usage:
 *   ingest_ceiling [--set k=v]... [--seconds S] [--senders N] [--pool P]
 *                  [--teacher-frac F] [--what all|ingest|wire|kernels|shapes] CONFIG
 *   ingest_ceiling --rank-wrapper PROGRAM [ARGS...]     (under mpirun, see 2.)
 * Output: one JSON object per line per figure (name, config, value, unit),
 * then a table; --what shapes prints the network input sizes and parameter
 * counts as one JSON object (perf_report.py's FLOP model checks itself
 * against them). Exit 0, 1 on a failed measurement, 2 on a bad command line
 * or config.
 */
#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actor/rollout.h"
#include "actor/student.h"
#include "common/config/cli.h"
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/core/rng.h"
#include "common/env/env.h"
#include "common/runtime/runtime.h"
#include "common/wire/boot.h"
#include "common/wire/msg.h"
#include "common/wire/wire.h"
#include "learner/filter.h"
#include "learner/replay.h"
#include "teacher/teacher.h"

#define MAX_POOL 64
#define MAX_SENDERS 64

/* ---- synthetic segments ---------------------------------------------------- */

/* An actor's collection machinery, used once to fill a pool of segments. */
typedef struct {
  hint_config_t cfg;
  env_dims_t dims;
  int uses_teacher, hier, n_teacher;
  env_vec_t *envs;
  student_t *student;
  teacher_t *teacher;           /* the actor's copy (untrained) */
  teacher_goals_t *goals;
  rollout_t pool[MAX_POOL];
  int n_pool;
  hint_rng_t rng;
} synth_t;

static int n_teacher_envs(const hint_config_t *cfg, double frac) {
  int n = (int)(frac * cfg->actor.envs + 0.5);
  return n < 0 ? 0 : n > cfg->actor.envs ? cfg->actor.envs : n;
}

/* One segment into r, as actor.c collect() does it. */
static void synth_collect(synth_t *s, rollout_t *r, uint64_t seq) {
  const int T = r->T, E = r->E, A = r->A, O = r->O, S = r->S, V = r->V, nt = s->n_teacher;
  if (s->goals)
    teacher_goals_reset_all(s->goals);
  r->n_teacher = nt;
  r->seq = seq;
  for (int t = 0; t < T; t++) {
    const size_t te = (size_t)t * E;
    float *obs = r->obs + te * A * O, *state = r->state + te * S;
    student_act(s->student, obs, state, E, &s->rng, 0, r->actions + te * A, r->logp + te * A,
                r->vagent + te * V, r->comm ? r->comm + te * A * r->C : NULL);
    if (nt > 0)
      teacher_act(s->teacher, s->goals, 0, state, nt, 0, &s->rng, r->actions + te * A,
                  r->logp + te * A, r->goals + te * A, r->goal_logp + te * A);
    for (size_t i = (size_t)nt * A; i < (size_t)E * A; i++) {
      r->goals[te * A + i] = -1;
      r->goal_logp[te * A + i] = 0.0f;
    }
    env_buffers_t b = {r->obs + (te + E) * A * O, r->state + (te + E) * S, r->rewards + te,
                       r->dones + te, r->truncated + te, r->status + te};
    env_vec_step_all(s->envs, r->actions + te * A, &b);
    for (int e = 0; e < E; e++) {
      r->driver[te + e] = e < nt;
      if (r->dones[te + e] && s->goals)
        teacher_goals_reset(s->goals, e);
    }
  }
  student_values(s->student, r->obs + (size_t)T * E * A * O, r->state + (size_t)T * E * S, E,
                 r->vagent + (size_t)T * E * V);
  for (int i = 0; i < (T + 1) * E; i++) {
    float m = 0.0f;
    for (int k = 0; k < V; k++)
      m += r->vagent[(size_t)i * V + k];
    r->value[i] = m / (float)V;
  }
}

static void synth_fini(synth_t *s) {
  for (int i = 0; i < MAX_POOL; i++)
    if (s->pool[i].block)
      rollout_fini(&s->pool[i]);
  teacher_goals_destroy(&s->goals);
  teacher_destroy(&s->teacher);
  student_destroy(&s->student);
  env_vec_destroy(&s->envs);
}

/* cfg must have passed runtime_apply_algo and env_validate. frac < 0: the
 * schedule at env step 0. Returns 0 or an error (logged). */
static int synth_init(synth_t *s, const hint_config_t *cfg, int rank, int n_pool, double frac) {
  char err[512];
  memset(s, 0, sizeof *s);
  s->cfg = *cfg;
  s->uses_teacher = cfg->algo.name == HINT_ALGO_KD || cfg->algo.name == HINT_ALGO_HINT;
  s->n_pool = n_pool;
  int rc = env_dims(cfg, &s->dims, err, sizeof err);
  if (rc == HINT_OK)
    rc = env_vec_create(&s->envs, cfg, cfg->actor.envs, rank, (uint64_t)cfg->run.seed, err, sizeof err);
  if (rc != HINT_OK) {
    LOG_ERROR("%s", err);
    return rc;
  }
  const int T = cfg->actor.segment_len, E = cfg->actor.envs;
  if ((rc = student_create(&s->student, cfg, &s->dims, T * E, (uint64_t)cfg->run.seed)) != HINT_OK)
    return rc;
  if (s->uses_teacher) {
    if ((rc = teacher_create(&s->teacher, cfg, E, (uint64_t)cfg->run.seed, err, sizeof err)) != HINT_OK) {
      LOG_ERROR("teacher: %s", err);
      return rc;
    }
    s->hier = teacher_hierarchical(s->teacher);
    if (s->hier && (rc = teacher_goals_create(&s->goals, s->teacher, E)) != HINT_OK)
      return rc;
    s->n_teacher = n_teacher_envs(cfg, frac >= 0 ? frac : runtime_teacher_frac(cfg, 0));
  }
  hint_rng_seed(&s->rng, (uint64_t)cfg->run.seed, (uint64_t)rank, 0xac7);
  for (int i = 0; i < n_pool; i++)
    if ((rc = rollout_init(&s->pool[i], cfg, &s->dims, student_value_width(s->student),
                           student_comm_dim(s->student))) != HINT_OK)
      return rc;
  env_buffers_t b = {s->pool[0].obs, s->pool[0].state, NULL, NULL, NULL, NULL};
  env_vec_observe(s->envs, 0, E, &b);
  for (int i = 0; i < n_pool; i++) {
    synth_collect(s, &s->pool[i], (uint64_t)i);
    if (i + 1 < n_pool) { /* the next segment starts where this one ended */
      rollout_t *a = &s->pool[i], *nx = &s->pool[i + 1];
      memcpy(nx->obs, a->obs + (size_t)T * E * a->A * a->O, (size_t)E * a->A * a->O * sizeof(float));
      memcpy(nx->state, a->state + (size_t)T * E * a->S, (size_t)E * a->S * sizeof(float));
    }
  }
  return HINT_OK;
}

/* The wire view of pool segment k as actor `rank` sends it. */
static void synth_view(const synth_t *s, uint64_t k, uint32_t rank, msg_segment_t *m) {
  const rollout_t *r = &s->pool[k % (uint64_t)s->n_pool];
  rollout_segment_view(r, rank, s->hier, m);
  m->seq = k;
  m->env_steps = (k + 1) * (uint64_t)r->T * (uint64_t)r->E;
}

static void shapes_of(synth_t *s, int n_actors, msg_shapes_t *sh) {
  msg_shapes_from_config(sh, &s->cfg, &s->dims);
  sh->n_actors = (uint32_t)n_actors;
  sh->n_student_params = student_param_count(s->student);
  sh->n_teacher_params = s->teacher ? teacher_params(s->teacher)->n : 0;
}

/* ---- output ------------------------------------------------------------------ */

static char g_label[256];

static void json(const char *name, double value, const char *unit) {
  printf("{\"name\": \"%s\", \"config\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n", name, g_label,
         value, unit);
  fflush(stdout);
}

/* ---- the learner's per-segment work, in process ------------------------------ */

typedef struct {
  const hint_config_t *cfg;
  env_dims_t dims;
  msg_shapes_t shapes;
  int uses_teacher, n_senders;
  teacher_t *teacher;           /* the learner's */
  replay_t replay;
  filter_t *filter;
  float *pi, *vT, *vboot;
  uint8_t *mask;
  msg_buf_t out;
  int since_update;
  double t[6];                  /* decode, store, targets, filter, encode, update */
  long segs, updates, guided;
  uint64_t teacher_steps;       /* teacher-driven env steps counted */
} lside_t;

static const char *const stage_name[6] = {"decode", "store", "targets", "filter", "encode", "update"};

static int lside_init(lside_t *L, const hint_config_t *cfg, const env_dims_t *dims,
                      const msg_shapes_t *shapes, int n_senders) {
  char err[512];
  memset(L, 0, sizeof *L);
  L->cfg = cfg;
  L->dims = *dims;
  L->shapes = *shapes;
  L->n_senders = n_senders;
  L->uses_teacher = cfg->algo.name == HINT_ALGO_KD || cfg->algo.name == HINT_ALGO_HINT;
  const int T = cfg->actor.segment_len, E = cfg->actor.envs, A = dims->n_agents, NA = dims->n_actions;
  int rc;
  if (L->uses_teacher) {
    const int rows = E > cfg->eval.episodes ? E : cfg->eval.episodes;
    if ((rc = teacher_create(&L->teacher, cfg, rows, (uint64_t)cfg->run.seed, err, sizeof err)) != HINT_OK) {
      LOG_ERROR("teacher: %s", err);
      return rc;
    }
    if ((rc = filter_create(&L->filter, cfg, dims)) != HINT_OK)
      return rc;
  }
  const int cap = L->uses_teacher ? cfg->teacher.replay_segments : n_senders;
  if ((rc = replay_init(&L->replay, cap, shapes)) != HINT_OK)
    return rc;
  L->pi = hint_malloc((size_t)T * E * A * NA * sizeof(float));
  L->vT = hint_malloc((size_t)T * E * sizeof(float));
  L->vboot = hint_malloc((size_t)E * sizeof(float));
  L->mask = hint_malloc((size_t)T * E * A);
  if (!L->pi || !L->vT || !L->vboot || !L->mask)
    return HINT_ENOMEM;
  return msg_buf_init(&L->out, msg_max_bytes(shapes, MSG_TARGETS));
}

static void lside_fini(lside_t *L) {
  msg_buf_fini(&L->out);
  hint_free(L->pi);
  hint_free(L->vT);
  hint_free(L->vboot);
  hint_free(L->mask);
  replay_fini(&L->replay);
  filter_destroy(&L->filter);
  teacher_destroy(&L->teacher);
}

/* learner.c ingest_async + answer on one frame, each step timed. */
static int lside_ingest(lside_t *L, const void *frame, size_t len, int with_update) {
  double t0 = hint_now_s();
  msg_any_t m;
  msg_error_t merr;
  int rc = msg_decode(frame, len, &L->shapes, &m, &merr);
  if (rc != HINT_OK || m.type != MSG_SEGMENT) {
    char line[256];
    LOG_ERROR("decode: %s", msg_error_format(&merr, line, sizeof line));
    return rc ? rc : HINT_EMSGTYPE;
  }
  const msg_segment_t *s = &m.u.segment;
  for (uint64_t i = 0; i < (uint64_t)s->T * s->E; i++) /* count_steps */
    L->teacher_steps += msg_u8(s->driver, i);
  double t1 = hint_now_s();
  const int slot = replay_store(&L->replay, s);
  double t2 = hint_now_s(), t3 = t2, t4 = t2;
  const int T = L->replay.T, E = L->replay.E, A = L->replay.A, NA = L->replay.NA;
  msg_targets_t tg;
  memset(&tg, 0, sizeof tg);
  tg.actor_rank = s->actor_rank;
  tg.seq = s->seq;
  tg.T = (uint32_t)T;
  tg.E = (uint32_t)E;
  tg.n_agents = (uint32_t)A;
  tg.n_actions = (uint32_t)NA;
  if (L->uses_teacher && runtime_kd_coef(L->cfg, (uint64_t)L->segs * T * E) > 0.0) {
    teacher_seg_t v;
    replay_view(&L->replay, slot, &v);
    int any_student = 0;
    for (int i = 0; i < T * E && !any_student; i++)
      any_student = v.driver[i] == 0;
    if (any_student) {
      teacher_targets(L->teacher, v.state, T * E, L->pi, L->vT);
      for (int i = 0; i < T * E; i++)
        memset(L->mask + (size_t)i * A, v.driver[i] == 0, (size_t)A);
      t3 = hint_now_s();
      if (L->filter != NULL && L->cfg->filter.modes != 0) {
        if (L->cfg->filter.modes & HINT_FILTER_ADVANTAGE)
          teacher_targets(L->teacher, v.state + (size_t)T * E * L->replay.S, E, NULL, L->vboot);
        filter_stats_t fs;
        filter_apply(L->filter, &v, L->pi, L->vT, L->vboot, L->mask, &fs);
      }
      t4 = hint_now_s();
      tg.pi = msg_tensor(L->pi, (uint64_t)T * E * A * NA);
      tg.value = msg_tensor(L->vT, (uint64_t)T * E);
      tg.mask = msg_tensor(L->mask, (uint64_t)T * E * A);
      L->guided++;
    }
  }
  t3 = t3 > t2 ? t3 : t2;
  t4 = t4 > t3 ? t4 : t3;
  if ((rc = msg_encode_targets(&L->out, &L->shapes, &tg, &merr)) != HINT_OK)
    return rc;
  double t5 = hint_now_s(), t6 = t5;
  if (with_update && L->uses_teacher && ++L->since_update >= L->n_senders) {
    int n = L->since_update < L->replay.count ? L->since_update : L->replay.count;
    teacher_seg_t views[MAX_SENDERS];
    for (int k = 0; k < n; k++)
      replay_view(&L->replay, replay_newest(&L->replay, n - 1 - k), &views[k]);
    L->since_update = 0;
    teacher_stats_t st;
    if ((rc = teacher_update(L->teacher, views, n, &st)) != HINT_OK) {
      LOG_ERROR("teacher update: %s", hint_strerror(rc));
      return rc;
    }
    L->updates++;
    t6 = hint_now_s();
  }
  const double d[6] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5};
  for (int k = 0; k < 6; k++)
    L->t[k] += d[k];
  L->segs++;
  return HINT_OK;
}

typedef struct {
  double segs_per_s, steps_per_s, stage_us[6];
  long segs, updates;
} ingest_result_t;

/* Feeds the pool's frames for `seconds` (after one warm-up pass). */
static int run_ingest(const hint_config_t *cfg, synth_t *sy, const msg_shapes_t *sh, int n_senders,
                      int with_update, double seconds, ingest_result_t *out) {
  lside_t L;
  int rc = lside_init(&L, cfg, &sy->dims, sh, n_senders);
  msg_buf_t frames[MAX_POOL];
  memset(frames, 0, sizeof frames);
  for (int k = 0; rc == HINT_OK && k < sy->n_pool; k++) {
    msg_segment_t m;
    synth_view(sy, (uint64_t)k, (uint32_t)(1 + k % n_senders), &m);
    msg_error_t merr;
    if ((rc = msg_buf_init(&frames[k], msg_max_bytes(sh, MSG_SEGMENT))) == HINT_OK)
      rc = msg_encode_segment(&frames[k], sh, &m, &merr);
  }
  /* Warm-up: fill the replay as a running learner's is (stores only), then
   * one round of the full work to touch every buffer. */
  for (int k = 0; rc == HINT_OK && k < L.replay.cap; k++) {
    msg_segment_t m;
    synth_view(sy, (uint64_t)k, (uint32_t)(1 + k % n_senders), &m);
    replay_store(&L.replay, &m);
  }
  for (int k = 0; rc == HINT_OK && k < n_senders; k++)
    rc = lside_ingest(&L, frames[k % sy->n_pool].data, frames[k % sy->n_pool].len, with_update);
  memset(L.t, 0, sizeof L.t);
  L.segs = L.updates = 0;
  const double t0 = hint_now_s();
  double t = t0;
  long k = 0;
  while (rc == HINT_OK && (t - t0 < seconds || L.segs < n_senders)) {
    const msg_buf_t *f = &frames[k++ % sy->n_pool];
    rc = lside_ingest(&L, f->data, f->len, with_update);
    t = hint_now_s();
  }
  if (rc == HINT_OK) {
    const double el = t - t0;
    out->segs = L.segs;
    out->updates = L.updates;
    out->segs_per_s = L.segs / el;
    out->steps_per_s = out->segs_per_s * cfg->actor.segment_len * cfg->actor.envs;
    for (int i = 0; i < 6; i++)
      out->stage_us[i] = L.t[i] / (double)L.segs * 1e6;
  }
  for (int i = 0; i < MAX_POOL; i++)
    msg_buf_fini(&frames[i]);
  lside_fini(&L);
  return rc;
}

/* ---- the wire alone: N sender threads -> one learner on loopback ------------ */

typedef struct {
  const synth_t *sy;
  const msg_shapes_t *sh;
  wire_opts_t opts;
  int rank;
  double seconds;
  char ep[WIRE_ENDPOINT_MAX], pub[WIRE_ENDPOINT_MAX];
  long sent;
  int failed;
} sender_t;

static void *sender_main(void *p) {
  sender_t *a = p;
  wire_actor_t *w = NULL;
  if (wire_actor_create(&w, &a->opts, a->sh, a->rank, a->ep, a->pub, NULL, NULL) ||
      wire_actor_handshake(w, 1, "ingest_ceiling", 10000)) {
    a->failed = 1;
    wire_actor_destroy(&w);
    return NULL;
  }
  const double end = hint_now_s() + a->seconds;
  long answered = 0;
  while (hint_now_s() < end || a->sent > answered) {
    while (hint_now_s() < end && wire_actor_credits(w) > 0) {
      msg_segment_t m;
      synth_view(a->sy, (uint64_t)a->sent, (uint32_t)a->rank, &m);
      msg_error_t err;
      if (wire_actor_send_segment(w, &m, &err)) {
        a->failed = 1;
        break;
      }
      a->sent++;
    }
    if (a->failed)
      break;
    msg_any_t in;
    msg_error_t err;
    int rc = wire_actor_recv(w, &in, 10000, &err);
    if (rc == HINT_ETIMEDOUT) {
      a->failed = 1;
      break;
    }
    if (rc == HINT_OK && in.type == MSG_TARGETS)
      answered++;
  }
  msg_any_t bye = {.type = MSG_BYE};
  bye.u.bye.rank = (uint32_t)a->rank;
  msg_error_t err;
  wire_actor_send(w, &bye, &err);
  wire_actor_destroy(&w);
  return NULL;
}

static int run_wire(const hint_config_t *cfg, const synth_t *sy, const msg_shapes_t *sh, int n,
                    double seconds, double *segs_per_s, double *mb_per_s) {
  wire_opts_t o;
  wire_opts_from_config(&o, cfg);
  o.bind = HINT_BIND_LOOPBACK; /* transport only: no CURVE, no interface choice */
  o.curve = 0;
  o.port = 0;
  o.n_actors = n;
  wire_learner_t *l = NULL;
  int rc = wire_learner_create(&l, &o, sh, NULL, 1);
  if (rc != HINT_OK)
    return rc;
  const size_t T = (size_t)cfg->actor.segment_len, E = (size_t)cfg->actor.envs,
               A = (size_t)sy->dims.n_agents, NA = (size_t)sy->dims.n_actions;
  float *pi = hint_calloc(T * E * A * NA, sizeof(float)), *v = hint_calloc(T * E, sizeof(float));
  uint8_t *mask = hint_calloc(T * E * A, 1);
  sender_t args[MAX_SENDERS];
  pthread_t th[MAX_SENDERS];
  for (int k = 0; k < n; k++) {
    memset(&args[k], 0, sizeof args[k]);
    args[k] = (sender_t){.sy = sy, .sh = sh, .opts = o, .rank = k + 1, .seconds = seconds};
    snprintf(args[k].ep, sizeof args[k].ep, "%s", wire_learner_router_endpoint(l));
    snprintf(args[k].pub, sizeof args[k].pub, "%s", wire_learner_pub_endpoint(l));
    pthread_create(&th[k], NULL, sender_main, &args[k]);
  }
  int byes = 0;
  long segs = 0;
  double bytes = 0, t_first = 0, t_last = 0;
  size_t first_bytes = 0;
  while (byes < n) {
    wire_in_t in;
    rc = wire_learner_recv(l, &in, 15000);
    if (rc == HINT_ETIMEDOUT)
      break;
    if (rc != HINT_OK) {
      rc = HINT_OK; /* a rejected frame: counted by the wire, keep going */
      continue;
    }
    if (in.msg.type == MSG_SEGMENT) {
      if (segs == 0) {
        t_first = hint_now_s();
        first_bytes = in.bytes;
      }
      segs++;
      bytes += (double)in.bytes;
      msg_targets_t t = {.actor_rank = in.msg.u.segment.actor_rank, .seq = in.msg.u.segment.seq,
                         .T = (uint32_t)T, .E = (uint32_t)E, .n_agents = (uint32_t)A, .n_actions = (uint32_t)NA};
      if (pi && v && mask) {
        t.pi = msg_tensor(pi, T * E * A * NA);
        t.value = msg_tensor(v, T * E);
        t.mask = msg_tensor(mask, T * E * A);
      }
      msg_error_t err;
      if ((rc = wire_learner_reply(l, &t, &err)) != HINT_OK)
        break;
      t_last = hint_now_s();
    } else if (in.msg.type == MSG_BYE) {
      byes++;
    }
  }
  for (int k = 0; k < n; k++) {
    pthread_join(th[k], NULL);
    if (args[k].failed && rc == HINT_OK)
      rc = HINT_ECONN;
  }
  /* The first segment starts the clock, so it is not counted in the rate. */
  if (rc == HINT_OK && segs > 1 && t_last > t_first) {
    *segs_per_s = (double)(segs - 1) / (t_last - t_first);
    *mb_per_s = (bytes - (double)first_bytes) / (t_last - t_first) / 1e6;
  } else if (rc == HINT_OK) {
    rc = HINT_ETIMEDOUT;
  }
  hint_free(pi);
  hint_free(v);
  hint_free(mask);
  wire_learner_destroy(&l);
  return rc;
}

/* ---- compute kernels at the config's shapes ---------------------------------- */

typedef void (*work_fn)(void *);

/* Calls per second: best of three windows of seconds/3 each, after one
 * warm-up call (the host is shared; the best window is the least disturbed). */
static double rate(work_fn fn, void *arg, double seconds) {
  fn(arg);
  double best = 0;
  for (int rep = 0; rep < 3; rep++) {
    long calls = 0;
    const double t0 = hint_now_s();
    double t;
    do {
      fn(arg);
      calls++;
      t = hint_now_s() - t0;
    } while (t < seconds / 3.0);
    best = calls / t > best ? calls / t : best;
  }
  return best;
}

typedef struct {
  synth_t *sy;
  lside_t *L;
  rollout_t *ro;
  update_ws_t uws;
  hint_rng_t rng;
  int32_t *actions;
  float *logp, *vals, *comm;
  int32_t *goals;
  float *goal_logp;
  int n_upd;
  teacher_seg_t views[MAX_SENDERS];
  int rc;
} kern_t;

static void k_student_act(void *p) {
  kern_t *k = p;
  const rollout_t *r = &k->sy->pool[0];
  student_act(k->sy->student, r->obs, r->state, r->E, &k->rng, 0, k->actions, k->logp, k->vals, k->comm);
}
static void k_teacher_act(void *p) {
  kern_t *k = p;
  const rollout_t *r = &k->sy->pool[0];
  if (k->sy->goals)
    teacher_goals_reset_all(k->sy->goals);
  teacher_act(k->sy->teacher, k->sy->goals, 0, r->state, r->E, 0, &k->rng, k->actions, k->logp,
              k->goals, k->goal_logp);
}
static void k_env(void *p) {
  kern_t *k = p;
  rollout_t *r = &k->sy->pool[1 % k->sy->n_pool];
  const rollout_t *src = &k->sy->pool[0];
  env_buffers_t b = {r->obs, r->state, r->rewards, r->dones, r->truncated, r->status};
  env_vec_step_all(k->sy->envs, src->actions, &b);
}
static void k_student_update(void *p) {
  kern_t *k = p;
  update_stats_t st;
  const float kd = k->sy->uses_teacher ? (float)runtime_kd_coef(&k->sy->cfg, 0) : 0.0f;
  int rc = rollout_update(k->ro, k->sy->student, &k->uws, &k->sy->cfg, kd, MPI_COMM_NULL, 1, &k->rng, &st);
  if (rc != HINT_OK)
    k->rc = rc;
}
static void k_targets(void *p) {
  kern_t *k = p;
  const rollout_t *r = &k->sy->pool[0];
  teacher_targets(k->L->teacher, r->state, r->T * r->E, k->L->pi, k->L->vT);
}
static void k_teacher_update(void *p) {
  kern_t *k = p;
  teacher_stats_t st;
  int rc = teacher_update(k->L->teacher, k->views, k->n_upd, &st);
  if (rc != HINT_OK)
    k->rc = rc;
}

/* Seconds per call of each kernel; figures per env step or per row. */
static int run_kernels(const hint_config_t *cfg, synth_t *sy, const msg_shapes_t *sh, int n_senders,
                       double seconds) {
  const int T = cfg->actor.segment_len, E = cfg->actor.envs, A = sy->dims.n_agents;
  lside_t L;
  kern_t k;
  memset(&k, 0, sizeof k);
  int rc = lside_init(&L, cfg, &sy->dims, sh, n_senders);
  if (rc != HINT_OK) {
    lside_fini(&L);
    return rc;
  }
  k.sy = sy;
  k.L = &L;
  k.ro = &sy->pool[0];
  hint_rng_seed(&k.rng, 5, 0, 0);
  k.actions = hint_calloc((size_t)E * A, sizeof(int32_t));
  k.goals = hint_calloc((size_t)E * A, sizeof(int32_t));
  k.logp = hint_calloc((size_t)E * A, sizeof(float));
  k.goal_logp = hint_calloc((size_t)E * A, sizeof(float));
  k.vals = hint_calloc((size_t)E * A, sizeof(float));
  k.comm = hint_calloc((size_t)E * A * (sh->comm_dim ? sh->comm_dim : 1), sizeof(float));
  if (!k.actions || !k.goals || !k.logp || !k.goal_logp || !k.vals || !k.comm ||
      (rc = update_ws_init(&k.uws, k.ro)) != HINT_OK) {
    rc = rc ? rc : HINT_ENOMEM;
    goto out;
  }
  const double ks = seconds;
  double r = rate(k_env, &k, ks);
  json("kernel_env_us_per_env_step", 1e6 / (r * E), "us");
  r = rate(k_student_act, &k, ks);
  json("kernel_student_act_us_per_env_step", 1e6 / (r * E), "us");
  if (sy->uses_teacher) {
    r = rate(k_teacher_act, &k, ks);
    json("kernel_teacher_act_us_per_env_step", 1e6 / (r * E), "us");
    r = rate(k_targets, &k, ks);
    json("kernel_teacher_targets_us_per_state", 1e6 / (r * T * E), "us");
    /* The student update's KD term reads targets, as the learner sends them. */
    msg_targets_t tg = {.T = (uint32_t)T, .E = (uint32_t)E, .n_agents = (uint32_t)A,
                        .n_actions = (uint32_t)sy->dims.n_actions};
    for (int i = 0; i < T * E; i++)
      memset(L.mask + (size_t)i * A, k.ro->driver[i] == 0, (size_t)A);
    tg.pi = msg_tensor(L.pi, (uint64_t)T * E * A * sy->dims.n_actions);
    tg.value = msg_tensor(L.vT, (uint64_t)T * E);
    tg.mask = msg_tensor(L.mask, (uint64_t)T * E * A);
    rollout_set_targets(k.ro, &tg);
    /* The teacher update on one round (n_senders segments), from the replay. */
    for (int i = 0; i < n_senders; i++) {
      msg_segment_t m;
      synth_view(sy, (uint64_t)i, 1, &m);
      replay_view(&L.replay, replay_store(&L.replay, &m), &k.views[i]);
    }
    k.n_upd = n_senders;
    r = rate(k_teacher_update, &k, ks);
    json("kernel_teacher_update_ms_per_round", 1e3 / r, "ms");
    json("kernel_teacher_update_us_per_env_step", 1e6 / (r * n_senders * T * E), "us");
  }
  r = rate(k_student_update, &k, ks);
  const int pairs = T * (E - k.ro->n_teacher);
  json("kernel_student_update_ms_per_segment", 1e3 / r, "ms");
  if (pairs > 0)
    json("kernel_student_update_us_per_pair_epoch", 1e6 / (r * pairs * cfg->student.epochs), "us");
  if (k.rc != HINT_OK)
    rc = k.rc;
out:
  update_ws_fini(&k.uws);
  hint_free(k.actions);
  hint_free(k.goals);
  hint_free(k.logp);
  hint_free(k.goal_logp);
  hint_free(k.vals);
  hint_free(k.comm);
  lside_fini(&L);
  return rc;
}

/* ---- sizes for the FLOP model ------------------------------------------------- */

static int print_shapes(const hint_config_t *cfg, synth_t *sy, const msg_shapes_t *sh) {
  char err[512];
  env_feat_t f;
  if (env_feat_init(&f, cfg, err, sizeof err) != HINT_OK) {
    LOG_ERROR("%s", err);
    return HINT_ECONFIG;
  }
  const env_dims_t *d = &sy->dims;
  printf("{\"name\": \"shapes\", \"config\": \"%s\", \"algo\": \"%s\", \"T\": %d, \"E\": %d, "
         "\"n_agents\": %d, \"n_classes\": %d, \"class_count\": [%d, %d], \"obs_dim\": %d, "
         "\"state_dim\": %d, \"n_actions\": %d, \"comm_dim\": %u, \"feat_dim\": %d, "
         "\"target_dim\": %d, \"n_targets\": %d, \"size\": %d, \"hierarchical\": %d, "
         "\"goal_set\": \"%s\", \"goal_cell\": %d, \"manager_period\": %d, "
         "\"n_teacher_envs\": %d, \"student_params\": %llu, \"teacher_params\": %llu, "
         "\"segment_bytes\": %zu, \"targets_bytes\": %zu, \"ippo\": %d, \"student_hidden\": %d, "
         "\"student_layers\": %d, \"student_epochs\": %d, \"student_minibatches\": %d, "
         "\"teacher_hidden\": %d, \"teacher_layers\": %d, \"teacher_epochs\": %d, "
         "\"teacher_minibatches\": %d, \"student_data_coef\": %g, \"student_data_frac\": %g, "
         "\"filter_modes\": %d, \"kd_coef_start\": %g}\n",
         g_label, hint_config_enum_name("algo.name", cfg->algo.name), cfg->actor.segment_len,
         cfg->actor.envs, d->n_agents, d->n_classes, d->class_count[0],
         d->n_classes > 1 ? d->class_count[1] : 0, d->obs_dim, d->state_dim, d->n_actions, sh->comm_dim,
         f.feat_dim, f.target_dim, f.n_targets, cfg->env.size, sy->uses_teacher && sy->hier,
         hint_config_enum_name("teacher.goal_set", cfg->teacher.goal_set), cfg->teacher.goal_cell,
         cfg->teacher.manager_period, sy->n_teacher, (unsigned long long)sh->n_student_params,
         (unsigned long long)sh->n_teacher_params, msg_max_bytes(sh, MSG_SEGMENT),
         msg_max_bytes(sh, MSG_TARGETS), cfg->algo.name == HINT_ALGO_IPPO, cfg->student.hidden,
         cfg->student.layers, cfg->student.epochs, cfg->student.minibatches, cfg->teacher.hidden,
         cfg->teacher.layers, cfg->teacher.epochs, cfg->teacher.minibatches, cfg->teacher.student_data_coef,
         cfg->teacher.student_data_frac, cfg->filter.modes, cfg->student.kd_coef_start);
  return HINT_OK;
}

/* ---- synthetic actor ranks under a real hint-learner ------------------------- */

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

static int actor_rank_main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  boot_t boot;
  int rc = boot_init(&boot, MPI_COMM_WORLD);
  if (rc != HINT_OK) {
    fprintf(stderr, "ingest_ceiling: MPI bootstrap failed: %s\n", hint_strerror(rc));
    MPI_Abort(MPI_COMM_WORLD, 4);
  }
  const int rank = boot.rank;
  hint_log_init("synthetic-actor", rank, HINT_LOG_INFO);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  signal(SIGUSR1, on_signal);
  signal(SIGPIPE, SIG_IGN);
  hint_config_t cfg;
  int exit_code = 0;
  static synth_t sy;
  wire_actor_t *w = NULL;
  rc = boot_config(&boot, NULL, 0, NULL, NULL, 0, &cfg);
  if (rc == HINT_OK)
    rc = boot_agree(&boot, 0);
  if (rc != HINT_OK) {
    exit_code = 2;
    goto out;
  }
  runtime_apply_algo(&cfg);
  char resume_dir[4096] = "";
  rc = runtime_bcast_resume(&boot, resume_dir, sizeof resume_dir);
  int local = rc;
  if (local == HINT_OK && resume_dir[0]) {
    LOG_ERROR("the synthetic senders cannot resume (%s): use a fresh run.dir or run.resume=never", resume_dir);
    local = HINT_ECONFIG;
  }
  if (local == HINT_OK)
    local = synth_init(&sy, &cfg, rank, 4, -1.0);
  msg_shapes_t sh;
  memset(&sh, 0, sizeof sh);
  if (local == HINT_OK)
    shapes_of(&sy, boot.n_actors, &sh);
  wire_opts_t opts;
  wire_opts_from_config(&opts, &cfg);
  wire_keypair_t keys;
  if (local == HINT_OK && opts.curve)
    local = wire_keypair_new(&keys);
  boot_endpoints_t ep;
  rc = boot_exchange(&boot, &cfg, local, NULL, opts.curve ? &keys : NULL, &ep);
  if (rc != HINT_OK) {
    exit_code = rc == HINT_ECONFIG || rc == HINT_EHASH ? 2 : 4;
    goto out;
  }
  rc = wire_actor_create(&w, &opts, &sh, rank, ep.router_ep, ep.pub_ep, ep.curve ? ep.server_pub : NULL,
                         ep.curve ? &keys : NULL);
  if (rc == HINT_OK)
    rc = wire_actor_handshake(w, hint_config_hash(&cfg), runtime_build_id(),
                              (int)(cfg.transport.actor_timeout_s * 1000));
  rc = boot_agree(&boot, rc);
  if (rc != HINT_OK) {
    exit_code = 3;
    goto out;
  }
  LOG_INFO("synthetic sender: %d pre-generated segments (%d of %d envs teacher-driven), as fast as credits allow",
           sy.n_pool, sy.n_teacher, cfg.actor.envs);
  /* Serve: send whenever a credit is free; follow control messages. */
  uint64_t seq = 0, teacher_version = 0, ckpt_req = 0, ckpt_done = 0, eval_req = 0, eval_done = 0, sync_seen = 0;
  int stop = 0, said_stop = 0;
  double t_stats = hint_now_s(), t_wait = 0, last_heard = hint_now_s();
  uint64_t steps_since = 0;
  const uint64_t seg_steps = (uint64_t)cfg.actor.segment_len * (uint64_t)cfg.actor.envs;
  for (;;) {
    msg_error_t err;
    while (!stop && wire_actor_credits(w) > 0 && (!cfg.run.sync || sync_seen >= seq)) {
      msg_segment_t m;
      synth_view(&sy, seq, (uint32_t)rank, &m);
      m.teacher_version = teacher_version;
      if ((rc = wire_actor_send_segment(w, &m, &err)) != HINT_OK) {
        char line[256];
        LOG_ERROR("cannot send segment %llu: %s", (unsigned long long)seq, msg_error_format(&err, line, sizeof line));
        exit_code = 4;
        goto bye;
      }
      seq++;
      steps_since += seg_steps;
    }
    if (got_signal && !said_stop) {
      msg_any_t b = {.type = MSG_BYE};
      b.u.bye.rank = (uint32_t)rank;
      b.u.bye.reason = HINT_ESTOPPED;
      b.u.bye.text = msg_str("signal: stop requested");
      wire_actor_send(w, &b, &err);
      said_stop = 1;
    }
    const double t0 = hint_now_s();
    msg_any_t in;
    int r = wire_actor_recv(w, &in, 200, &err);
    const double now = hint_now_s();
    t_wait += now - t0;
    if (r == HINT_OK) {
      last_heard = now;
      if (in.type == MSG_TEACHER_PARAMS && in.u.params.version > teacher_version) {
        teacher_version = in.u.params.version;
      } else if (in.type == MSG_CONTROL && (in.u.control.rank == 0 || (int)in.u.control.rank == rank)) {
        const msg_control_t *c = &in.u.control;
        if (c->cmd == MSG_CTRL_STOP)
          stop = 1;
        else if (c->cmd == MSG_CTRL_CHECKPOINT && (uint64_t)c->arg > ckpt_req)
          ckpt_req = (uint64_t)c->arg;
        else if (c->cmd == MSG_CTRL_EVALUATE && (uint64_t)c->arg > eval_req)
          eval_req = (uint64_t)c->arg;
        else if (c->cmd == MSG_CTRL_SYNC && (uint64_t)c->arg > sync_seen)
          sync_seen = (uint64_t)c->arg;
      } else if (in.type == MSG_BYE) {
        LOG_WARN("the learner said bye: %.*s", (int)in.u.bye.text.len, in.u.bye.text.data ? in.u.bye.text.data : "");
        exit_code = 3;
        goto out;
      }
    } else if (r == HINT_ETIMEDOUT && now - last_heard > cfg.transport.actor_timeout_s) {
      LOG_ERROR("the learner has been silent for %.0f s; giving up", now - last_heard);
      exit_code = 3;
      goto bye;
    }
    /* An evaluation has no meaning here: rank 1 answers with an empty one
     * (0 episodes) so the learner's shutdown can complete. */
    if (rank == 1 && eval_req > eval_done) {
      eval_done = eval_req;
      msg_any_t e = {.type = MSG_EVAL};
      e.u.eval.actor_rank = (uint32_t)rank;
      e.u.eval.eval_id = eval_done;
      e.u.eval.env_steps = seq * seg_steps * (uint64_t)boot.n_actors;
      e.u.eval.teacher_success = e.u.eval.teacher_return = e.u.eval.teacher_length = -1;
      wire_actor_send(w, &e, &err);
    }
    /* Checkpoints: acknowledged without writing anything (see the top). */
    const int ack = ckpt_req > ckpt_done;
    if (ack || now - t_stats >= cfg.metrics.interval_s || stop) {
      if (ack)
        ckpt_done = ckpt_req;
      msg_any_t s = {.type = MSG_STATS};
      s.u.stats.actor_rank = (uint32_t)rank;
      s.u.stats.env_steps = steps_since;
      s.u.stats.interval_s = now - t_stats;
      s.u.stats.t_wait = t_wait;
      s.u.stats.ckpt_done = ack ? ckpt_done : 0;
      if ((r = wire_actor_send(w, &s, &err)) != HINT_OK)
        LOG_WARN("stats not sent: %s", hint_strerror(r));
      t_wait = 0;
      steps_since = 0;
      t_stats = now;
    }
    if (stop)
      break;
  }
bye:;
  /* Let the segments still in flight be answered before the bye: closing the
   * socket with megabytes queued ahead of the bye could drop it (linger),
   * and the learner would wait for it until transport.actor_timeout_s. */
  const double drain_until = hint_now_s() + cfg.transport.actor_timeout_s / 2;
  while (exit_code == 0 && wire_actor_credits(w) < cfg.transport.max_inflight && hint_now_s() < drain_until) {
    msg_any_t in;
    msg_error_t derr;
    wire_actor_recv(w, &in, 200, &derr);
  }
  msg_any_t b = {.type = MSG_BYE};
  b.u.bye.rank = (uint32_t)rank;
  b.u.bye.reason = exit_code == 0 ? 0 : HINT_EIO;
  b.u.bye.text = msg_str(exit_code == 0 ? "done" : "synthetic sender failed");
  msg_error_t berr;
  if ((rc = wire_actor_send(w, &b, &berr)) != HINT_OK)
    LOG_WARN("bye not sent: %s", hint_strerror(rc));
  LOG_INFO("synthetic sender: %llu segments sent, stopping", (unsigned long long)seq);
out:
  wire_actor_destroy(&w);
  synth_fini(&sy);
  boot_fini(&boot);
  if (exit_code != 0 && exit_code != 2)
    MPI_Abort(MPI_COMM_WORLD, exit_code);
  MPI_Finalize();
  return exit_code;
}

/* ---- main ---------------------------------------------------------------------- */

static int parse_num(const char *flag, const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
    fprintf(stderr, "ingest_ceiling: %s: '%s' is not a number in [%g, %g]\n", flag, s, lo, hi);
    return 0;
  }
  *out = v;
  return 1;
}

static int parse_int(const char *flag, const char *s, int lo, int hi, double *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "ingest_ceiling: %s: '%s' is not a whole number in [%d, %d]\n", flag, s, lo, hi);
    return 0;
  }
  *out = (double)v;
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--rank-wrapper") == 0) {
    if (argc < 3) {
      fprintf(stderr, "ingest_ceiling: --rank-wrapper needs the rank's program and its arguments\n");
      return 2;
    }
    const char *prog = argv[2], *base = strrchr(prog, '/');
    base = base ? base + 1 : prog;
    if (strcmp(base, "hint-actor") == 0)
      return actor_rank_main(argc - 2, argv + 2);
    execv(prog, argv + 2); /* the learner (or anything else) runs unchanged */
    fprintf(stderr, "ingest_ceiling: cannot run %s: %s\n", prog, strerror(errno));
    return 4;
  }
  hint_log_init("ingest", -1, HINT_LOG_WARN);
  const char *extra[] = {"--seconds", "--senders", "--pool", "--teacher-frac", "--what", NULL};
  hint_cli_t cli;
  char err[512];
  if (hint_cli_parse(argc, argv, extra, &cli, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "ingest_ceiling: %s\n", err);
    return 2;
  }
  if (cli.help) {
    printf("usage: ingest_ceiling [--set k=v]... [--seconds S] [--senders N] [--pool P]\n"
           "                      [--teacher-frac F] [--what all|ingest|wire|kernels|shapes] CONFIG.yaml\n"
           "       ingest_ceiling --rank-wrapper PROGRAM [ARGS...]   (HINT_RANK_WRAPPER of hint-launch)\n"
           "The learner's ingest ceiling in process, the wire alone, and the compute kernels at the\n"
           "config's shapes; see the top of tests/bench/ingest_ceiling.c.\n");
    return 0;
  }
  if (cli.help_config || cli.print_config || cli.dry_run) {
    fprintf(stderr, "ingest_ceiling: --help-config, --print-config and --dry-run are hint-config's options\n");
    return 2;
  }
  if (cli.config_path == NULL) {
    fprintf(stderr, "ingest_ceiling: no config file given (e.g. configs/fire_commander_5x5.yaml)\n");
    return 2;
  }
  double seconds = 3.0, senders = 0, pool = 4, frac = -1;
  const char *v, *what = "all";
  if ((v = hint_cli_extra(&cli, "--seconds")) && !parse_num("--seconds", v, 0.05, 3600, &seconds))
    return 2;
  if ((v = hint_cli_extra(&cli, "--senders")) && !parse_int("--senders", v, 1, MAX_SENDERS, &senders))
    return 2;
  if ((v = hint_cli_extra(&cli, "--pool")) && !parse_int("--pool", v, 1, MAX_POOL, &pool))
    return 2;
  if ((v = hint_cli_extra(&cli, "--teacher-frac")) && !parse_num("--teacher-frac", v, 0, 1, &frac))
    return 2;
  if ((v = hint_cli_extra(&cli, "--what")))
    what = v;
  const int w_all = strcmp(what, "all") == 0;
  if (!w_all && strcmp(what, "ingest") && strcmp(what, "wire") && strcmp(what, "kernels") && strcmp(what, "shapes")) {
    fprintf(stderr, "ingest_ceiling: --what: '%s' is not one of all, ingest, wire, kernels, shapes\n", what);
    return 2;
  }

  hint_config_t cfg;
  hint_config_error_t cerr;
  if (hint_config_load(&cfg, cli.config_path, cli.overrides, cli.n_overrides, &cerr) != HINT_OK) {
    fprintf(stderr, "ingest_ceiling: %s\n", cerr.msg);
    return 2;
  }
  runtime_apply_algo(&cfg);
  if (env_validate(&cfg, err, sizeof err) != HINT_OK) {
    fprintf(stderr, "ingest_ceiling: %s: %s\n", cli.config_path, err);
    return 2;
  }
  /* BLAS threads as the learner sets them (learner.c); the actor kernels
   * below run with the same count, as blas.threads is the default for both. */
  openblas_set_num_threads(cfg.blas.learner_threads > 0 ? cfg.blas.learner_threads : cfg.blas.threads);
  const int n = senders > 0 ? (int)senders : cfg.actor.count;
  if (n > MAX_SENDERS) {
    fprintf(stderr, "ingest_ceiling: actor.count %d: at most %d senders\n", n, MAX_SENDERS);
    return 2;
  }
  if (cfg.algo.name != HINT_ALGO_MAPPO && cfg.algo.name != HINT_ALGO_IPPO && cfg.algo.name != HINT_ALGO_KD &&
      cfg.algo.name != HINT_ALGO_HINT) {
    fprintf(stderr, "ingest_ceiling: algo.name %s: only mappo, ippo, kd and hint are measured\n",
            hint_config_enum_name("algo.name", cfg.algo.name));
    return 2;
  }
  const char *base = strrchr(cli.config_path, '/');
  base = base ? base + 1 : cli.config_path;
  const char *dot = strrchr(base, '.');
  static synth_t sy;
  int rc = synth_init(&sy, &cfg, 1, (int)pool, frac);
  if (rc != HINT_OK) {
    fprintf(stderr, "ingest_ceiling: cannot generate synthetic segments: %s\n", hint_strerror(rc));
    synth_fini(&sy);
    return 1;
  }
  snprintf(g_label, sizeof g_label, "%.*s %s, T=%d E=%d, %d senders, %d/%d envs teacher-driven",
           dot ? (int)(dot - base) : (int)strlen(base), base, hint_config_enum_name("algo.name", cfg.algo.name),
           cfg.actor.segment_len, cfg.actor.envs, n, sy.n_teacher, cfg.actor.envs);
  msg_shapes_t sh;
  shapes_of(&sy, n, &sh);
  if (strcmp(what, "shapes") == 0) {
    rc = print_shapes(&cfg, &sy, &sh);
    synth_fini(&sy);
    return rc == HINT_OK ? 0 : 1;
  }
  double loadavg[1] = {0};
  if (getloadavg(loadavg, 1) == 1)
    json("loadavg_1min", loadavg[0], "runnable processes");
  ingest_result_t ra = {0}, rb = {0};
  double wire_sps = 0, wire_mb = 0;
  const size_t seg_bytes = msg_max_bytes(&sh, MSG_SEGMENT);
  if (rc == HINT_OK && (w_all || strcmp(what, "ingest") == 0)) {
    rc = run_ingest(&cfg, &sy, &sh, n, 0, seconds, &ra);
    if (rc == HINT_OK && sy.uses_teacher)
      rc = run_ingest(&cfg, &sy, &sh, n, 1, seconds, &rb);
    if (rc == HINT_OK) {
      json("ingest_a_segments_per_s", ra.segs_per_s, "segments/s");
      json("ingest_a_env_steps_per_s", ra.steps_per_s, "env steps/s");
      for (int i = 0; i < 5; i++) {
        char name[64];
        snprintf(name, sizeof name, "ingest_a_%s_us_per_segment", stage_name[i]);
        json(name, ra.stage_us[i], "us");
      }
      if (sy.uses_teacher) {
        json("ingest_b_segments_per_s", rb.segs_per_s, "segments/s");
        json("ingest_b_env_steps_per_s", rb.steps_per_s, "env steps/s");
        for (int i = 0; i < 6; i++) {
          char name[64];
          snprintf(name, sizeof name, "ingest_b_%s_us_per_segment", stage_name[i]);
          json(name, rb.stage_us[i], "us");
        }
      }
    }
  }
  if (rc == HINT_OK && (w_all || strcmp(what, "wire") == 0)) {
    rc = run_wire(&cfg, &sy, &sh, n, seconds, &wire_sps, &wire_mb);
    if (rc == HINT_OK) {
      json("wire_segments_per_s", wire_sps, "segments/s");
      json("wire_env_steps_per_s", wire_sps * cfg.actor.segment_len * cfg.actor.envs, "env steps/s");
      json("wire_mb_per_s", wire_mb, "MB/s");
    }
  }
  if (rc == HINT_OK && (w_all || strcmp(what, "kernels") == 0))
    rc = run_kernels(&cfg, &sy, &sh, n, seconds > 3 ? 3 : seconds);
  if (rc != HINT_OK) {
    fprintf(stderr, "ingest_ceiling: measurement failed: %s\n", hint_strerror(rc));
    synth_fini(&sy);
    return 1;
  }
  printf("\n%s; segment %.2f MB\n", g_label, seg_bytes / 1e6);
  if (ra.segs) {
    printf("%-44s %12s %14s\n", "learner ingest, in process", "segments/s", "env steps/s");
    printf("%-44s %12.1f %14.0f\n", "(a) decode+store+targets+filter+encode", ra.segs_per_s, ra.steps_per_s);
    if (sy.uses_teacher)
      printf("%-44s %12.1f %14.0f\n", "(b) (a) + teacher update", rb.segs_per_s, rb.steps_per_s);
    const ingest_result_t *r = sy.uses_teacher ? &rb : &ra;
    printf("  us per segment:");
    for (int i = 0; i < 6; i++)
      printf(" %s %.0f", stage_name[i], r->stage_us[i]);
    printf("\n");
  }
  if (wire_sps > 0)
    printf("%-44s %12.1f %14.0f  (%.0f MB/s)\n", "wire alone (encode, send, decode, reply)", wire_sps,
           wire_sps * cfg.actor.segment_len * cfg.actor.envs, wire_mb);
  synth_fini(&sy);
  return 0;
}
