/* bench_wire.c: segment throughput of common/wire against raw ZeroMQ.
 *
 * Two actor threads send segments to one learner over loopback TCP, with
 * credit-based back-pressure; the learner decodes each one (full validation)
 * and answers with full targets. Baselines, same topology, credits and
 * frame sizes, no encode or decode: raw ZeroMQ with zmq_send (ZeroMQ copies
 * each frame) and with zero-copy sends of one preformed buffer (the upper
 * bound). wire encodes each segment once into a buffer that ZeroMQ sends
 * without copying. Runs alternate raw, raw zero-copy, wire, ... in one
 * process and the medians are compared. Then the single-thread cost of encoding and
 * of decoding a segment, in ns per float, beside a plain memcpy.
 *
 * Segment: FireCommander 5x5 (2 perception + 1 action agent, vision 1):
 * T 32, E 64, A 3, obs 52, state 32, 6 actions, comm 8, all optional fields.
 *
 *   bench_wire [SECONDS_PER_RUN]      (default 2.0; 5 runs of each kind)
 * Output: one JSON line per measurement, then a table.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/wire/wire.h"

#define N_ACTORS 2
#define INFLIGHT 4

static msg_shapes_t g_s;
static double g_secs = 2.0;

/* ---- one realistic segment and its targets -------------------------------- */

typedef struct {
  float *f;
  int32_t *i;
  uint8_t *u;
  msg_segment_t seg;
  msg_targets_t tgt;
} data_t;

static void data_init(data_t *d, int rank) {
  const msg_shapes_t *s = &g_s;
  uint64_t T = s->T, T1 = T + 1, E = s->E, A = s->n_agents;
  uint64_t nf = T1 * E * A * (s->obs_dim + s->n_actions + s->comm_dim) + T1 * E * s->state_dim;
  d->f = malloc(nf * 4);
  d->i = malloc(T * E * A * 4);
  d->u = malloc(T1 * E * A * s->n_actions);
  for (uint64_t k = 0; k < nf; k++) d->f[k] = (float)(k % 1000) * 0.001f;
  for (uint64_t k = 0; k < T * E * A; k++) d->i[k] = (int32_t)(k % 6);
  for (uint64_t k = 0; k < T1 * E * A * s->n_actions; k++) d->u[k] = (uint8_t)(k & 1);
  msg_segment_t *g = &d->seg;
  memset(g, 0, sizeof(*g));
  g->actor_rank = (uint32_t)rank;
  g->T = s->T; g->E = s->E; g->n_agents = s->n_agents; g->obs_dim = s->obs_dim;
  g->state_dim = s->state_dim; g->n_actions = s->n_actions; g->comm_dim = s->comm_dim;
  g->obs = msg_tensor(d->f, T1 * E * A * s->obs_dim);
  g->state = msg_tensor(d->f, T1 * E * s->state_dim);
  g->actions = msg_tensor(d->i, T * E * A);
  g->logp = msg_tensor(d->f, T * E * A);
  g->rewards = msg_tensor(d->f, T * E);
  g->dones = msg_tensor(d->u, T * E);
  g->truncated = msg_tensor(d->u, T * E);
  g->value = msg_tensor(d->f, T1 * E);
  g->trunc_value = msg_tensor(d->f, T * E);
  g->driver = msg_tensor(d->u, T * E);
  g->goals = msg_tensor(d->i, T * E * A);
  g->goal_logp = msg_tensor(d->f, T * E * A);
  g->avail = msg_tensor(d->u, T1 * E * A * s->n_actions);
  g->comm = msg_tensor(d->f, T * E * A * s->comm_dim);
  g->trunc_state = msg_tensor(d->f, T * E * s->state_dim);
  msg_targets_t *t = &d->tgt;
  memset(t, 0, sizeof(*t));
  t->actor_rank = (uint32_t)rank;
  t->T = s->T; t->E = s->E; t->n_agents = s->n_agents; t->n_actions = s->n_actions;
  t->pi = msg_tensor(d->f, T * E * A * s->n_actions);
  t->value = msg_tensor(d->f, T * E);
  t->mask = msg_tensor(d->u, T * E * A);
}

static void data_fini(data_t *d) {
  free(d->f);
  free(d->i);
  free(d->u);
}

/* Elements (4-byte or 1-byte) in a segment, and its floats-equivalent. */
static double seg_floats(const msg_segment_t *g) {
  uint64_t four = g->obs.n + g->state.n + g->actions.n + g->logp.n + g->rewards.n + g->value.n +
                  g->trunc_value.n + g->trunc_state.n + g->goals.n + g->goal_logp.n + g->comm.n;
  uint64_t one = g->dones.n + g->truncated.n + g->driver.n + g->avail.n;
  return (double)four + (double)one / 4.0;
}

/* ---- runs ------------------------------------------------------------------ */

typedef struct {
  int rank;
  int zerocopy;                 /* raw: send the preformed buffer without a copy */
  char ep[WIRE_ENDPOINT_MAX], pub[WIRE_ENDPOINT_MAX];
  size_t seg_bytes;
  long sent;
  int failed;
} actor_arg_t;

static void *actor_wire(void *p) {
  actor_arg_t *a = p;
  wire_opts_t o = {.bind = HINT_BIND_LOOPBACK, .hwm = 64, .linger_ms = 1000,
                   .max_inflight = INFLIGHT, .n_actors = N_ACTORS,
                   .max_message_bytes = (int64_t)g_s.max_message_bytes};
  wire_actor_t *w;
  data_t d;
  data_init(&d, a->rank);
  if (wire_actor_create(&w, &o, &g_s, a->rank, a->ep, a->pub, NULL, NULL) ||
      wire_actor_handshake(w, 1, "bench", 5000)) {
    a->failed = 1;
    return NULL;
  }
  double end = hint_now_s() + g_secs;
  long answered = 0;
  while (hint_now_s() < end || a->sent > answered) {
    while (hint_now_s() < end && wire_actor_credits(w) > 0) {
      d.seg.seq = (uint64_t)a->sent;
      if (wire_actor_send_segment(w, &d.seg, NULL)) { a->failed = 1; break; }
      a->sent++;
    }
    msg_any_t in;
    int rc = wire_actor_recv(w, &in, 5000, NULL);
    if (rc) { a->failed = 1; break; }
    if (in.type == MSG_TARGETS) answered++;
  }
  msg_any_t bye = {.type = MSG_BYE};
  bye.u.bye.rank = (uint32_t)a->rank;
  wire_actor_send(w, &bye, NULL);
  wire_actor_destroy(&w);
  data_fini(&d);
  return NULL;
}

typedef struct {
  double seconds;
  long segments;
  double bytes;
} result_t;

static result_t learner_wire(size_t *seg_bytes) {
  result_t r = {0};
  wire_opts_t o = {.bind = HINT_BIND_LOOPBACK, .hwm = 64, .linger_ms = 1000,
                   .max_inflight = INFLIGHT, .n_actors = N_ACTORS,
                   .max_message_bytes = (int64_t)g_s.max_message_bytes};
  wire_learner_t *l;
  if (wire_learner_create(&l, &o, &g_s, NULL, 1)) exit(1);
  data_t d;
  data_init(&d, 1);
  pthread_t th[N_ACTORS];
  actor_arg_t args[N_ACTORS];
  for (int k = 0; k < N_ACTORS; k++) {
    memset(&args[k], 0, sizeof(args[k]));
    args[k].rank = k + 1;
    snprintf(args[k].ep, sizeof(args[k].ep), "%s", wire_learner_router_endpoint(l));
    snprintf(args[k].pub, sizeof(args[k].pub), "%s", wire_learner_pub_endpoint(l));
    pthread_create(&th[k], NULL, actor_wire, &args[k]);
  }
  int byes = 0;
  double t_first = 0, t_last = 0;
  while (byes < N_ACTORS) {
    wire_in_t in;
    int rc = wire_learner_recv(l, &in, 10000);
    if (rc) { fprintf(stderr, "bench_wire: learner recv %s\n", hint_errname(rc)); exit(1); }
    if (in.msg.type == MSG_SEGMENT) {
      if (!r.segments) t_first = hint_now_s();
      r.segments++;
      r.bytes += (double)in.bytes;
      *seg_bytes = in.bytes;
      d.tgt.actor_rank = in.msg.u.segment.actor_rank;
      d.tgt.seq = in.msg.u.segment.seq;
      if (wire_learner_reply(l, &d.tgt, NULL)) exit(1);
      t_last = hint_now_s();
    } else if (in.msg.type == MSG_BYE) {
      byes++;
    }
  }
  for (int k = 0; k < N_ACTORS; k++) {
    pthread_join(th[k], NULL);
    if (args[k].failed) { fprintf(stderr, "bench_wire: actor %d failed\n", k + 1); exit(1); }
  }
  /* The first segment starts the clock, so it is not counted in the rate. */
  r.segments -= 1;
  r.bytes -= (double)*seg_bytes;
  r.seconds = t_last - t_first;
  data_fini(&d);
  wire_learner_destroy(&l);
  return r;
}

/* Raw ZeroMQ: same sockets, HWM, credits, frame sizes; payloads preformed. */
static size_t g_raw_seg, g_raw_tgt;

static void *actor_raw(void *p) {
  actor_arg_t *a = p;
  void *ctx = zmq_ctx_new();
  void *s = zmq_socket(ctx, ZMQ_DEALER);
  int hwm = 64, linger = 1000;
  zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
  char id[16];
  snprintf(id, sizeof(id), "actor-%d", a->rank);
  zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
  zmq_connect(s, a->ep);
  unsigned char *buf = malloc(g_raw_seg);
  memset(buf, 7, g_raw_seg);
  zmq_msg_t in;
  zmq_msg_init(&in);
  int credits = INFLIGHT;
  double end = hint_now_s() + g_secs;
  long answered = 0;
  while (hint_now_s() < end || a->sent > answered) {
    while (hint_now_s() < end && credits > 0) {
      int rc;
      if (a->zerocopy) {
        /* The buffer never changes, so in-flight messages may share it. */
        zmq_msg_t m;
        zmq_msg_init_data(&m, buf, g_raw_seg, NULL, NULL);
        rc = zmq_msg_send(&m, s, 0);
        if (rc < 0) zmq_msg_close(&m);
      } else {
        rc = zmq_send(s, buf, g_raw_seg, 0);
      }
      if (rc < 0) { a->failed = 1; break; }
      a->sent++;
      credits--;
    }
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 5000) <= 0) { a->failed = 1; break; }
    if (zmq_msg_recv(&in, s, 0) < 0) { a->failed = 1; break; }
    credits++;
    answered++;
  }
  zmq_send(s, "B", 1, 0);
  zmq_msg_close(&in);
  free(buf);
  zmq_close(s);
  zmq_ctx_term(ctx);
  return NULL;
}

static result_t learner_raw(int zerocopy) {
  result_t r = {0};
  void *ctx = zmq_ctx_new();
  void *s = zmq_socket(ctx, ZMQ_ROUTER);
  int hwm = 64, linger = 1000, one = 1;
  zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof(hwm));
  zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
  zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
  zmq_bind(s, "tcp://127.0.0.1:*");
  pthread_t th[N_ACTORS];
  actor_arg_t args[N_ACTORS];
  for (int k = 0; k < N_ACTORS; k++) {
    memset(&args[k], 0, sizeof(args[k]));
    args[k].rank = k + 1;
    args[k].zerocopy = zerocopy;
    size_t len = sizeof(args[k].ep);
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, args[k].ep, &len);
    pthread_create(&th[k], NULL, actor_raw, &args[k]);
  }
  unsigned char *tgt = malloc(g_raw_tgt);
  memset(tgt, 3, g_raw_tgt);
  zmq_msg_t id, body;
  zmq_msg_init(&id);
  zmq_msg_init(&body);
  int byes = 0;
  double t_first = 0, t_last = 0;
  while (byes < N_ACTORS) {
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 10000) <= 0) { fprintf(stderr, "bench_wire: raw learner timed out\n"); exit(1); }
    zmq_msg_recv(&id, s, 0);
    zmq_msg_recv(&body, s, 0);
    if (zmq_msg_size(&body) == 1) { byes++; continue; }
    if (!r.segments) t_first = hint_now_s();
    r.segments++;
    r.bytes += (double)zmq_msg_size(&body);
    zmq_send(s, zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
    if (zerocopy) {
      zmq_msg_t m;
      zmq_msg_init_data(&m, tgt, g_raw_tgt, NULL, NULL);
      if (zmq_msg_send(&m, s, 0) < 0) zmq_msg_close(&m);
    } else {
      zmq_send(s, tgt, g_raw_tgt, 0);
    }
    t_last = hint_now_s();
  }
  for (int k = 0; k < N_ACTORS; k++) {
    pthread_join(th[k], NULL);
    if (args[k].failed) { fprintf(stderr, "bench_wire: raw actor failed\n"); exit(1); }
  }
  r.segments -= 1;
  r.bytes -= (double)g_raw_seg;
  r.seconds = t_last - t_first;
  zmq_msg_close(&id);
  zmq_msg_close(&body);
  free(tgt);
  zmq_close(s);
  zmq_ctx_term(ctx);
  return r;
}

#define RUNS 5

static double rate(result_t r) { return r.segments / r.seconds; }

/* The run with the median segments/s. */
static result_t median(result_t *r) {
  for (int i = 0; i < RUNS; i++)
    for (int j = i + 1; j < RUNS; j++)
      if (rate(r[j]) < rate(r[i])) { result_t t = r[i]; r[i] = r[j]; r[j] = t; }
  return r[RUNS / 2];
}

static void print_run(const char *kind, int i, result_t r) {
  printf("{\"bench\":\"wire_throughput\",\"kind\":\"%s\",\"run\":%d,\"actors\":%d,\"inflight\":%d,"
         "\"segments\":%ld,\"seconds\":%.3f,\"segments_per_s\":%.1f,\"MB_per_s\":%.1f}\n",
         kind, i, N_ACTORS, INFLIGHT, r.segments, r.seconds, r.segments / r.seconds,
         r.bytes / r.seconds / 1e6);
}

int main(int argc, char **argv) {
  hint_log_init("bench", -1, HINT_LOG_WARN);
  if (argc > 1) g_secs = atof(argv[1]);
  g_s = (msg_shapes_t){.T = 32, .E = 64, .n_agents = 3, .obs_dim = 52, .state_dim = 32,
                       .n_actions = 6, .comm_dim = 8, .n_actors = N_ACTORS,
                       .n_teacher_params = 0, .n_student_params = 0, .max_message_bytes = 1 << 28};
  /* Frame sizes for the raw baseline: exactly what wire sends. */
  data_t d;
  data_init(&d, 1);
  msg_buf_t b;
  if (msg_buf_init(&b, msg_max_bytes_any(&g_s))) return 1;
  if (msg_encode_segment(&b, &g_s, &d.seg, NULL)) return 1;
  g_raw_seg = b.len;
  if (msg_encode_targets(&b, &g_s, &d.tgt, NULL)) return 1;
  g_raw_tgt = b.len;

  /* Encode / decode cost, single thread. */
  double floats = seg_floats(&d.seg);
  int reps = 400;
  msg_any_t m;
  double t0 = hint_now_s();
  for (int k = 0; k < reps; k++) msg_encode_segment(&b, &g_s, &d.seg, NULL);
  double enc = (hint_now_s() - t0) / reps;
  size_t seg_len = b.len;
  volatile uint64_t sink = 0;
  t0 = hint_now_s();
  for (int k = 0; k < reps; k++) {
    if (msg_decode(b.data, b.len, &g_s, &m, NULL)) return 1;
    sink += m.u.segment.obs.n;
  }
  double dec = (hint_now_s() - t0) / reps;
  unsigned char *copy = malloc(seg_len);
  t0 = hint_now_s();
  for (int k = 0; k < reps; k++) {
    memcpy(copy, b.data, seg_len);
    sink += copy[k % seg_len];
  }
  double cpy = (hint_now_s() - t0) / reps;
  free(copy);
  (void)sink;
  printf("{\"bench\":\"wire_codec\",\"segment_bytes\":%zu,\"targets_bytes\":%zu,\"floats\":%.0f,"
         "\"encode_us\":%.1f,\"decode_us\":%.2f,\"memcpy_us\":%.1f,\"encode_ns_per_float\":%.3f,"
         "\"decode_ns_per_float\":%.4f,\"memcpy_ns_per_float\":%.3f}\n",
         seg_len, g_raw_tgt, floats, enc * 1e6, dec * 1e6, cpy * 1e6, enc * 1e9 / floats,
         dec * 1e9 / floats, cpy * 1e9 / floats);

  /* Alternate raw and wire so both see the same machine load; compare the
   * medians (the host is shared, single runs vary by tens of percent). */
  result_t raw[RUNS], raw0[RUNS], wire[RUNS];
  for (int i = 0; i < RUNS; i++) {
    size_t sb = 0;
    raw[i] = learner_raw(0);
    print_run("raw_zmq", i, raw[i]);
    raw0[i] = learner_raw(1);
    print_run("raw_zmq_zerocopy", i, raw0[i]);
    wire[i] = learner_wire(&sb);
    print_run("wire", i, wire[i]);
  }
  result_t best_raw = median(raw), best_raw0 = median(raw0), best_wire = median(wire);
  double sps_raw = rate(best_raw), sps_raw0 = rate(best_raw0), sps_wire = rate(best_wire);
  double ratio = sps_wire / sps_raw, ratio0 = sps_wire / sps_raw0;
  printf("{\"bench\":\"wire_vs_raw\",\"wire_segments_per_s\":%.1f,\"raw_segments_per_s\":%.1f,"
         "\"raw_zerocopy_segments_per_s\":%.1f,\"ratio_vs_raw\":%.3f,\"ratio_vs_raw_zerocopy\":%.3f,"
         "\"target\":\"ratio_vs_raw >= 0.8\",\"met\":%s}\n",
         sps_wire, sps_raw, sps_raw0, ratio, ratio0, ratio >= 0.8 ? "true" : "false");
  printf("\n%-30s %12s %12s %10s   (median of %d runs of %.1f s)\n", "2 actors -> 1 learner",
         "segments/s", "MB/s", "wire/this", RUNS, g_secs);
  printf("%-30s %12.1f %12.1f %10.2f\n", "raw ZeroMQ, zmq_send (copy)", sps_raw,
         best_raw.bytes / best_raw.seconds / 1e6, ratio);
  printf("%-30s %12.1f %12.1f %10.2f\n", "raw ZeroMQ, zero-copy send", sps_raw0,
         best_raw0.bytes / best_raw0.seconds / 1e6, ratio0);
  printf("%-30s %12.1f %12.1f %10s\n", "wire (encode+validate)", sps_wire,
         best_wire.bytes / best_wire.seconds / 1e6, "1.00");
  printf("segment %zu bytes (%.0f floats), targets %zu bytes; encode %.3f ns/float, "
         "decode %.4f ns/float, memcpy %.3f ns/float\n",
         seg_len, floats, g_raw_tgt, enc * 1e9 / floats, dec * 1e9 / floats, cpy * 1e9 / floats);
  msg_buf_fini(&b);
  data_fini(&d);
  return 0;
}
