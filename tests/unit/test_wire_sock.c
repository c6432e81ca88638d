/* test_wire_sock.c: the ZeroMQ endpoints in common/wire/wire.h, in one
 * process: hello, segments with credits, targets, publishing, bad frames
 * counted per sender, config-hash and protocol-version mismatches, an
 * unreachable learner, CURVE with allowed, unknown and missing keys, ipc.
 * Single-threaded where sends are non-blocking; a server thread where the
 * actor's handshake blocks.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/core/clock.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/wire/wire.h"
#include "tests/unit/test_util.h"

#define HASH 0x1234abcdull

static msg_shapes_t shapes(void) {
  msg_shapes_t s = {.T = 4, .E = 2, .n_agents = 3, .obs_dim = 5, .state_dim = 7, .n_actions = 6,
                    .comm_dim = 0, .n_actors = 2, .n_teacher_params = 64, .n_student_params = 32,
                    .max_message_bytes = 1 << 20};
  return s;
}

static wire_opts_t opts(int bind, int curve) {
  wire_opts_t o = {.bind = bind, .port = 0, .curve = curve, .hwm = 16, .linger_ms = 0,
                   .max_inflight = 2, .n_actors = 2, .max_message_bytes = 1 << 20};
  return o;
}

/* One segment whose every float is f(seq, i), so the receiver can verify it. */
typedef struct {
  float f[2048];
  int32_t i[256];
  uint8_t u[256];
  msg_segment_t seg;
} seg_t;

static float val(uint64_t seq, size_t i) { return (float)(seq * 31 + i % 1000); }

static void seg_make(seg_t *d, const msg_shapes_t *s, int rank, uint64_t seq) {
  for (size_t k = 0; k < 2048; k++) d->f[k] = val(seq, k);
  for (size_t k = 0; k < 256; k++) { d->i[k] = (int32_t)(k % 6); d->u[k] = (uint8_t)(k & 1); }
  uint64_t T = s->T, T1 = T + 1, E = s->E, A = s->n_agents;
  msg_segment_t *g = &d->seg;
  memset(g, 0, sizeof(*g));
  g->actor_rank = (uint32_t)rank;
  g->seq = seq;
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
}

static int seg_check(const msg_segment_t *g) {
  for (uint64_t k = 0; k < g->obs.n; k++)
    if (msg_f32(g->obs, k) != val(g->seq, k)) return 0;
  return 1;
}

/* Empty targets (no guidance) answering seg. */
static msg_targets_t targets_for(const msg_shapes_t *s, const msg_segment_t *g) {
  msg_targets_t t = {.actor_rank = g->actor_rank, .seq = g->seq, .teacher_version = 1, .T = s->T,
                     .E = s->E, .n_agents = s->n_agents, .n_actions = s->n_actions};
  return t;
}

static msg_any_t hello(int rank, uint64_t hash) {
  msg_any_t m = {.type = MSG_HELLO};
  m.u.hello.rank = (uint32_t)rank;
  m.u.hello.config_hash = hash;
  m.u.hello.build_id = msg_str("test");
  return m;
}

/* ---- a learner served from a thread (for blocking handshakes) ------------ */

typedef struct {
  wire_learner_t *l;
  msg_shapes_t s;
  atomic_int stop;
  int segments, bad_content;
  pthread_t th;
} server_t;

static void *serve(void *arg) {
  server_t *sv = arg;
  while (!atomic_load(&sv->stop)) {
    wire_in_t in;
    if (wire_learner_recv(sv->l, &in, 20) != 0) continue;
    if (in.msg.type == MSG_SEGMENT) {
      sv->segments++;
      if (!seg_check(&in.msg.u.segment)) sv->bad_content++;
      msg_targets_t t = targets_for(&sv->s, &in.msg.u.segment);
      wire_learner_reply(sv->l, &t, NULL);
    }
  }
  return NULL;
}

static void server_start(server_t *sv, wire_learner_t *l) {
  memset(sv, 0, sizeof(*sv));
  sv->l = l;
  sv->s = shapes();
  atomic_init(&sv->stop, 0);
  assert_int_equal(pthread_create(&sv->th, NULL, serve, sv), 0);
}

static void server_stop(server_t *sv) {
  atomic_store(&sv->stop, 1);
  pthread_join(sv->th, NULL);
}

/* ---- tests --------------------------------------------------------------- */

static void roundtrip(int bind) {
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(bind, 0);
  wire_learner_t *l;
  wire_actor_t *a;
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), 0);
  assert_int_equal(wire_actor_create(&a, &o, &s, 1, wire_learner_router_endpoint(l),
                                     wire_learner_pub_endpoint(l), NULL, NULL), 0);
  /* hello -> learner answers -> actor sees the learner's hello */
  msg_any_t h = hello(1, HASH), in;
  wire_in_t li;
  assert_int_equal(wire_actor_send(a, &h, NULL), 0);
  assert_int_equal(wire_learner_recv(l, &li, 3000), 0);
  assert_int_equal(li.rank, 1);
  assert_int_equal(li.msg.type, MSG_HELLO);
  assert_int_equal(wire_actor_recv(a, &in, 3000, NULL), 0);
  assert_int_equal(in.type, MSG_HELLO);
  assert_true(in.u.hello.config_hash == HASH);

  /* credits: two segments in flight, the third waits */
  seg_t d;
  uint64_t seq = 0;
  for (int k = 0; k < 2; k++) {
    seg_make(&d, &s, 1, seq++);
    assert_int_equal(wire_actor_send_segment(a, &d.seg, NULL), 0);
  }
  assert_int_equal(wire_actor_credits(a), 0);
  seg_make(&d, &s, 1, seq);
  assert_int_equal(wire_actor_send_segment(a, &d.seg, NULL), HINT_EAGAIN);
  for (int round = 0; round < 50; round++) {
    assert_int_equal(wire_learner_recv(l, &li, 3000), 0);
    assert_int_equal(li.msg.type, MSG_SEGMENT);
    assert_true(seg_check(&li.msg.u.segment));
    assert_true(wire_learner_inflight(l, 1) >= 1 && wire_learner_inflight(l, 1) <= 2);
    msg_targets_t t = targets_for(&s, &li.msg.u.segment);
    assert_int_equal(wire_learner_reply(l, &t, NULL), 0);
    assert_int_equal(wire_actor_recv(a, &in, 3000, NULL), 0);
    assert_int_equal(in.type, MSG_TARGETS);
    assert_int_equal(in.u.targets.seq, t.seq);
    assert_int_equal(wire_actor_credits(a), 1);
    seg_make(&d, &s, 1, seq++);
    assert_int_equal(wire_actor_send_segment(a, &d.seg, NULL), 0);
  }

  /* publishing once the actor listens */
  assert_int_equal(wire_learner_wait_subscribers(l, 1, 3000), 0);
  float p[64];
  for (int k = 0; k < 64; k++) p[k] = (float)k / 3.0f;
  msg_any_t tp = {.type = MSG_TEACHER_PARAMS};
  tp.u.params = (msg_params_t){.version = 9, .n = 64};
  tp.u.params.params = msg_tensor(p, 64);
  assert_int_equal(wire_learner_publish(l, &tp, NULL), 0);
  int got_params = 0;
  for (int k = 0; k < 5 && !got_params; k++) {
    assert_int_equal(wire_actor_recv(a, &in, 3000, NULL), 0);
    if (in.type == MSG_TEACHER_PARAMS) {
      got_params = 1;
      assert_int_equal(in.u.params.version, 9);
      float back[64];
      msg_tensor_copy(in.u.params.params, back, 4);
      assert_close(back, p, 64, 0, 0);
    }
  }
  assert_true(got_params);
  msg_any_t ctl = {.type = MSG_CONTROL};
  ctl.u.control = (msg_control_t){.cmd = MSG_CTRL_STOP, .seq = 1};
  assert_int_equal(wire_learner_publish(l, &ctl, NULL), 0);
  assert_int_equal(wire_actor_recv(a, &in, 3000, NULL), 0);
  assert_int_equal(in.type, MSG_CONTROL);
  assert_int_equal(in.u.control.cmd, MSG_CTRL_STOP);

  wire_counters_t c;
  wire_learner_counters(l, &c);
  assert_int_equal(c.dropped, 0);
  assert_int_equal(c.accepted, 1 + 50);
  assert_int_equal(c.targets_sent, 50);
  assert_int_equal(wire_actor_dropped(a), 0);
  wire_actor_destroy(&a);
  wire_learner_destroy(&l);
  assert_null(l);
}

static void test_roundtrip_tcp(void **st) { (void)st; roundtrip(HINT_BIND_LOOPBACK); }
static void test_roundtrip_ipc(void **st) { (void)st; roundtrip(HINT_BIND_IPC); }

/* A raw DEALER posing as actor `rank` (routing id "actor-<rank>"). */
static void *raw_dealer(void *ctx, const char *ep, const char *id) {
  void *s = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero));
  if (id) zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
  assert_int_equal(zmq_connect(s, ep), 0);
  return s;
}

/* The next frame on s is a bye with this reason. */
static void expect_bye(void *s, const msg_shapes_t *sh, int reason) {
  zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
  assert_int_equal(zmq_poll(&it, 1, 3000), 1);
  unsigned char reply[512];
  int n = zmq_recv(s, reply, sizeof(reply), 0);
  assert_true(n > 0);
  msg_any_t bye;
  assert_int_equal(msg_decode(reply, (size_t)n, sh, &bye, NULL), 0);
  assert_int_equal(bye.type, MSG_BYE);
  assert_int_equal(bye.u.bye.reason, reason);
}

static void test_bad_frames_counted_per_sender(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_LOOPBACK, 0);
  wire_learner_t *l;
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), 0);
  void *ctx = zmq_ctx_new();
  void *r1 = raw_dealer(ctx, wire_learner_router_endpoint(l), "actor-1");
  void *rx = raw_dealer(ctx, wire_learner_router_endpoint(l), "mallory");
  msg_buf_t b;
  assert_int_equal(msg_buf_init(&b, msg_max_bytes_any(&s)), 0);
  seg_t d;
  seg_make(&d, &s, 1, 0);
  assert_int_equal(msg_encode_segment(&b, &s, &d.seg, NULL), 0);
  wire_in_t in;
  /* garbage, a truncated segment, a two-part message */
  zmq_send(r1, "garbage!", 8, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_EMAGIC);
  assert_int_equal(in.rank, 1);
  expect_bye(r1, &s, HINT_EMAGIC);
  zmq_send(r1, b.data, b.len / 2, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_ETRUNC);
  zmq_send(r1, b.data, b.len, ZMQ_SNDMORE);
  zmq_send(r1, "x", 1, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_EPARSE);
  /* a segment claiming to come from rank 2 */
  seg_make(&d, &s, 2, 0);
  assert_int_equal(msg_encode_segment(&b, &s, &d.seg, NULL), 0);
  zmq_send(r1, b.data, b.len, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_EAUTH);
  assert_string_equal(in.err.field, "rank");
  /* the learner enforces credits even when an actor ignores them */
  for (uint64_t k = 0; k < 3; k++) {
    seg_make(&d, &s, 1, k);
    assert_int_equal(msg_encode_segment(&b, &s, &d.seg, NULL), 0);
    zmq_send(r1, b.data, b.len, 0);
  }
  assert_int_equal(wire_learner_recv(l, &in, 3000), 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_ESTATE);
  /* an unknown sender */
  zmq_send(rx, b.data, b.len, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_EAUTH);
  assert_int_equal(in.rank, 0);
  /* a hello with another protocol version gets a bye saying so */
  msg_any_t h = hello(1, HASH);
  assert_int_equal(msg_encode(&b, &s, &h, NULL), 0);
  for (size_t i = 0; i + 3 <= b.len; i++)
    if (memcmp(b.data + i, "\xa1v\x01", 3) == 0) { b.data[i + 2] = 0x07; break; }
  zmq_send(r1, b.data, b.len, 0);
  int vrc = wire_learner_recv(l, &in, 3000);
  if (vrc != HINT_EVERSION) {
    char line[256];
    fail_msg("%s: %s", hint_errname(vrc), msg_error_format(&in.err, line, sizeof(line)));
  }
  assert_int_equal(in.err.got, 7);
  expect_bye(r1, &s, HINT_EVERSION);
  /* a wrong config hash: refused with a bye, counted */
  h = hello(1, HASH + 1);
  assert_int_equal(msg_encode(&b, &s, &h, NULL), 0);
  zmq_send(r1, b.data, b.len, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), HINT_EHASH);
  expect_bye(r1, &s, HINT_EHASH);
  /* ... and the learner keeps working: actor 1's good hello is accepted */
  h = hello(1, HASH);
  assert_int_equal(msg_encode(&b, &s, &h, NULL), 0);
  zmq_send(r1, b.data, b.len, 0);
  assert_int_equal(wire_learner_recv(l, &in, 3000), 0);
  assert_int_equal(in.msg.type, MSG_HELLO);

  assert_int_equal(wire_learner_dropped(l, 1), 7);
  assert_int_equal(wire_learner_dropped(l, 0), 1);
  assert_int_equal(wire_learner_dropped(l, 2), 0);
  wire_counters_t c;
  wire_learner_counters(l, &c);
  assert_int_equal(c.dropped, 8);
  assert_int_equal(c.accepted, 3);
  msg_buf_fini(&b);
  zmq_close(r1);
  zmq_close(rx);
  zmq_ctx_term(ctx);
  wire_learner_destroy(&l);
}

static void test_handshake_hash_mismatch(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_LOOPBACK, 0);
  wire_learner_t *l;
  wire_actor_t *a, *b;
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), 0);
  assert_int_equal(wire_actor_create(&a, &o, &s, 1, wire_learner_router_endpoint(l),
                                     wire_learner_pub_endpoint(l), NULL, NULL), 0);
  assert_int_equal(wire_actor_create(&b, &o, &s, 2, wire_learner_router_endpoint(l),
                                     wire_learner_pub_endpoint(l), NULL, NULL), 0);
  server_t sv;
  server_start(&sv, l);
  assert_int_equal(wire_actor_handshake(a, HASH ^ 1, "test", 3000), HINT_EHASH);
  assert_int_equal(wire_actor_handshake(b, HASH, "test", 3000), 0);
  seg_t d;
  seg_make(&d, &s, 2, 42);
  assert_int_equal(wire_actor_send_segment(b, &d.seg, NULL), 0);
  msg_any_t in;
  assert_int_equal(wire_actor_recv(b, &in, 3000, NULL), 0);
  assert_int_equal(in.type, MSG_TARGETS);
  assert_int_equal(in.u.targets.seq, 42);
  server_stop(&sv);
  assert_int_equal(sv.segments, 1);
  assert_int_equal(sv.bad_content, 0);
  assert_int_equal(wire_learner_dropped(l, 1), 1);
  wire_actor_destroy(&a);
  wire_actor_destroy(&b);
  wire_learner_destroy(&l);
}

/* A fake learner speaking protocol version 7 answers the actor's hello. */
static void test_handshake_version_mismatch(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_LOOPBACK, 0);
  void *ctx = zmq_ctx_new();
  void *router = zmq_socket(ctx, ZMQ_ROUTER);
  int zero = 0;
  zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
  assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
  char ep[256];
  size_t len = sizeof(ep);
  zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &len);
  wire_actor_t *a;
  assert_int_equal(wire_actor_create(&a, &o, &s, 1, ep, "tcp://127.0.0.1:1", NULL, NULL), 0);
  msg_any_t h = hello(1, HASH);
  assert_int_equal(wire_actor_send(a, &h, NULL), 0);
  char id[64];
  int idn = zmq_recv(router, id, sizeof(id), 0);
  unsigned char frame[1024];
  int fn = zmq_recv(router, frame, sizeof(frame), 0);
  assert_true(idn > 0 && fn > 0);
  msg_any_t got;
  assert_int_equal(msg_decode(frame, (size_t)fn, &s, &got, NULL), 0);
  for (int i = 0; i + 3 <= fn; i++)
    if (memcmp(frame + i, "\xa1v\x01", 3) == 0) { frame[i + 2] = 0x07; break; }
  /* the actor's handshake re-sends nothing: answer its first hello */
  zmq_send(router, id, (size_t)idn, ZMQ_SNDMORE);
  zmq_send(router, frame, (size_t)fn, 0);
  double t0 = hint_now_s();
  assert_int_equal(wire_actor_handshake(a, HASH, "test", 3000), HINT_EVERSION);
  assert_true(hint_now_s() - t0 < 2.5);
  wire_actor_destroy(&a);
  zmq_close(router);
  zmq_ctx_term(ctx);
}

static void test_unreachable_learner_times_out(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_LOOPBACK, 0);
  wire_actor_t *a;
  assert_int_equal(wire_actor_create(&a, &o, &s, 1, "tcp://127.0.0.1:1", "tcp://127.0.0.1:2", NULL, NULL), 0);
  double t0 = hint_now_s();
  assert_int_equal(wire_actor_handshake(a, HASH, "test", 400), HINT_ETIMEDOUT);
  double dt = hint_now_s() - t0;
  assert_true(dt >= 0.35 && dt < 2.0);
  double t1 = hint_now_s();
  wire_actor_destroy(&a); /* linger 0: closing does not hang on the queued hello */
  assert_true(hint_now_s() - t1 < 1.0);
}

static void test_curve_allows_exactly_the_gathered_keys(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_LOOPBACK, 1);
  wire_keypair_t server, k1, k2, stranger;
  assert_int_equal(wire_keypair_new(&server), 0);
  assert_int_equal(wire_keypair_new(&k1), 0);
  assert_int_equal(wire_keypair_new(&k2), 0);
  assert_int_equal(wire_keypair_new(&stranger), 0);
  wire_learner_t *l;
  assert_int_equal(wire_learner_create(&l, &o, &s, &server, HASH), 0);
  assert_int_equal(wire_learner_allow(l, 1, k1.pub), 0);
  assert_int_equal(wire_learner_allow(l, 2, k2.pub), 0);
  assert_int_equal(wire_learner_allow(l, 3, k2.pub), HINT_EINVAL);
  assert_int_equal(wire_learner_allow(l, 1, "not a key"), HINT_EINVAL);
  const char *rep = wire_learner_router_endpoint(l), *pep = wire_learner_pub_endpoint(l);
  wire_actor_t *good, *bad;
  assert_int_equal(wire_actor_create(&good, &o, &s, 1, rep, pep, server.pub, &k1), 0);
  /* rank 2's identity, a key the learner never got */
  assert_int_equal(wire_actor_create(&bad, &o, &s, 2, rep, pep, server.pub, &stranger), 0);
  void *ctx = zmq_ctx_new();
  void *plain = raw_dealer(ctx, rep, "actor-2"); /* no CURVE at all */
  server_t sv;
  server_start(&sv, l);
  assert_int_equal(wire_actor_handshake(good, HASH, "test", 3000), 0);
  seg_t d;
  for (uint64_t k = 0; k < 10; k++) {
    seg_make(&d, &s, 1, k);
    assert_int_equal(wire_actor_send_segment(good, &d.seg, NULL), 0);
    msg_any_t in;
    assert_int_equal(wire_actor_recv(good, &in, 3000, NULL), 0);
    assert_int_equal(in.type, MSG_TARGETS);
  }
  assert_int_equal(wire_actor_handshake(bad, HASH, "test", 600), HINT_ETIMEDOUT);
  msg_buf_t b;
  assert_int_equal(msg_buf_init(&b, msg_max_bytes_any(&s)), 0);
  seg_make(&d, &s, 2, 99);
  assert_int_equal(msg_encode_segment(&b, &s, &d.seg, NULL), 0);
  zmq_send(plain, b.data, b.len, ZMQ_DONTWAIT);
  /* give the plain client's handshake time to fail */
  double until = hint_now_s() + 0.5;
  while (hint_now_s() < until) {
    zmq_pollitem_t it = {plain, 0, ZMQ_POLLIN, 0};
    zmq_poll(&it, 1, 100);
  }
  server_stop(&sv);
  wire_counters_t c;
  wire_learner_counters(l, &c);
  assert_int_equal(sv.segments, 10);
  assert_int_equal(sv.bad_content, 0);
  assert_true(c.auth_refused >= 1);
  assert_true(c.handshake_failed >= 1);
  assert_int_equal(wire_learner_dropped(l, 2), 0); /* nothing of theirs got in */
  msg_buf_fini(&b);
  zmq_close(plain);
  zmq_ctx_term(ctx);
  wire_actor_destroy(&good);
  wire_actor_destroy(&bad);
  wire_learner_destroy(&l);
}

/* A configured interface and port, and `*` (advertised under the host name). */
static void test_bind_interface_port_and_any(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_INTERFACE, 0);
  snprintf(o.interface, sizeof(o.interface), "127.0.0.1");
  wire_learner_t *l = NULL;
  int rc = HINT_EZMQ;
  for (int k = 0; k < 20 && rc; k++) { /* a port pair some other process may hold */
    o.port = 20000 + (int)((hint_now_s() * 1000.0 + k * 7919) ) % 20000;
    rc = wire_learner_create(&l, &o, &s, NULL, HASH);
  }
  assert_int_equal(rc, 0);
  char want[64];
  snprintf(want, sizeof(want), "tcp://127.0.0.1:%d", o.port);
  assert_string_equal(wire_learner_router_endpoint(l), want);
  snprintf(want, sizeof(want), "tcp://127.0.0.1:%d", o.port + 1);
  assert_string_equal(wire_learner_pub_endpoint(l), want);
  wire_actor_t *a;
  assert_int_equal(wire_actor_create(&a, &o, &s, 2, wire_learner_router_endpoint(l),
                                     wire_learner_pub_endpoint(l), NULL, NULL), 0);
  msg_any_t h = hello(2, HASH), in;
  wire_in_t li;
  assert_int_equal(wire_actor_send(a, &h, NULL), 0);
  assert_int_equal(wire_learner_recv(l, &li, 3000), 0);
  assert_int_equal(li.rank, 2);
  assert_int_equal(wire_actor_recv(a, &in, 3000, NULL), 0);
  assert_int_equal(in.type, MSG_HELLO);
  wire_actor_destroy(&a);
  wire_learner_destroy(&l);
  /* The same port again while held: a clear bind error, not a crash. */
  wire_learner_t *l2 = NULL, *l3 = NULL;
  assert_int_equal(wire_learner_create(&l2, &o, &s, NULL, HASH), 0);
  assert_int_equal(wire_learner_create(&l3, &o, &s, NULL, HASH), HINT_EZMQ);
  assert_null(l3);
  wire_learner_destroy(&l2);

  o = opts(HINT_BIND_ANY, 0);
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), 0);
  const char *ep = wire_learner_router_endpoint(l);
  assert_null(strstr(ep, "0.0.0.0"));
  const char *colon = strrchr(ep, ':');
  assert_non_null(colon);
  assert_true(atoi(colon + 1) > 0);
  wire_learner_destroy(&l);
}

/* transport.interface as an interface name, an IPv6 address (bracketed in
 * the endpoint, ZMQ_IPV6 on both ends) and something that is neither. */
static void test_bind_interface_name_and_ipv6(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  wire_opts_t o = opts(HINT_BIND_INTERFACE, 0);
  wire_learner_t *l = NULL;
  snprintf(o.interface, sizeof(o.interface), "lo");
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), 0);
  assert_true(strncmp(wire_learner_router_endpoint(l), "tcp://127.0.0.1:", 16) == 0);
  wire_learner_destroy(&l);
  snprintf(o.interface, sizeof(o.interface), "no-such-if0");
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), HINT_EZMQ);
  assert_null(l);
  /* ::1 is configured when /proc/net/if_inet6 lists it. */
  char line[256];
  int have_v6 = 0;
  FILE *f = fopen("/proc/net/if_inet6", "r");
  while (f && fgets(line, sizeof(line), f))
    if (strncmp(line, "00000000000000000000000000000001", 32) == 0) have_v6 = 1;
  if (f) fclose(f);
  if (!have_v6) {
    print_message("no IPv6 loopback here: the IPv6 part is not tested\n");
    return;
  }
  snprintf(o.interface, sizeof(o.interface), "::1");
  assert_int_equal(wire_learner_create(&l, &o, &s, NULL, HASH), 0);
  assert_true(strncmp(wire_learner_router_endpoint(l), "tcp://[::1]:", 12) == 0);
  wire_actor_t *a;
  assert_int_equal(wire_actor_create(&a, &o, &s, 1, wire_learner_router_endpoint(l),
                                     wire_learner_pub_endpoint(l), NULL, NULL), 0);
  msg_any_t h = hello(1, HASH), in;
  wire_in_t li;
  assert_int_equal(wire_actor_send(a, &h, NULL), 0);
  assert_int_equal(wire_learner_recv(l, &li, 3000), 0);
  assert_int_equal(li.rank, 1);
  assert_int_equal(wire_actor_recv(a, &in, 3000, NULL), 0);
  assert_int_equal(in.type, MSG_HELLO);
  wire_actor_destroy(&a);
  wire_learner_destroy(&l);
}

int main(void) {
  hint_log_init("test", -1, HINT_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_tcp),
      cmocka_unit_test(test_roundtrip_ipc),
      cmocka_unit_test(test_bad_frames_counted_per_sender),
      cmocka_unit_test(test_handshake_hash_mismatch),
      cmocka_unit_test(test_handshake_version_mismatch),
      cmocka_unit_test(test_unreachable_learner_times_out),
      cmocka_unit_test(test_curve_allows_exactly_the_gathered_keys),
      cmocka_unit_test(test_bind_interface_port_and_any),
      cmocka_unit_test(test_bind_interface_name_and_ipv6),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
