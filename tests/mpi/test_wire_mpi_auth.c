/* test_wire_mpi_auth.c: intruders are refused (mpirun -np 3).
 *
 * Rank 1 is an honest actor. Rank 2 takes part in the bootstrap (so its real
 * key is allowed) but then tries to deliver segments twice as an intruder:
 * once with a CURVE key the learner never received, once with no CURVE at
 * all. The learner must refuse both connections, count them (ZAP refusals,
 * failed handshakes), never see a frame from them, and train on exactly the
 * honest actor's segments, value for value.
 */
#include <zmq.h>

#include "common/core/clock.h"
#include "tests/mpi/wire_mpi_util.h"

#define N_SEGMENTS 200
#define WAIT_MS 10000
#define TAG_DONE 7

static void run_learner(const msg_shapes_t *s, wire_learner_t *l) {
  int segs[3] = {0, 0, 0}, intact = 0, bye = 0, intruder_done = 0, other = 0;
  double deadline = hint_now_s() + 30;
  while ((!bye || !intruder_done) && hint_now_s() < deadline) {
    wire_in_t in;
    int rc = wire_learner_recv(l, &in, 50);
    if (!intruder_done) {
      int flag = 0;
      MPI_Iprobe(2, TAG_DONE, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
      if (flag) {
        MPI_Recv(NULL, 0, MPI_BYTE, 2, TAG_DONE, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        intruder_done = 1;
      }
    }
    if (rc == HINT_ETIMEDOUT) continue;
    CHECK_RC(rc, 0);
    if (rc) continue;
    if (in.msg.type == MSG_SEGMENT) {
      segs[in.rank]++;
      intact += seg_intact(&in.msg.u.segment, in.rank);
      msg_targets_t t = {.actor_rank = (uint32_t)in.rank, .seq = in.msg.u.segment.seq, .T = s->T,
                         .E = s->E, .n_agents = s->n_agents, .n_actions = s->n_actions};
      CHECK_RC(wire_learner_reply(l, &t, NULL), 0);
    } else if (in.msg.type == MSG_BYE) {
      bye = 1;
    } else if (in.msg.type != MSG_HELLO) {
      other++;
    }
  }
  /* Let the last refusals' monitor events arrive. */
  wire_in_t in;
  while (wire_learner_recv(l, &in, 200) != HINT_ETIMEDOUT) other++;
  wire_counters_t c;
  wire_learner_counters(l, &c);
  printf("learner: honest segments %d (intact %d), intruder segments %d, ZAP refusals %llu, "
         "failed handshakes %llu, dropped frames %llu\n",
         segs[1], intact, segs[2], (unsigned long long)c.auth_refused,
         (unsigned long long)c.handshake_failed, (unsigned long long)c.dropped);
  CHECK(bye && intruder_done);
  CHECK(segs[1] == N_SEGMENTS && intact == N_SEGMENTS);
  CHECK(segs[2] == 0 && other == 0);
  CHECK(c.accepted == (uint64_t)N_SEGMENTS + 2); /* + hello + bye of rank 1 */
  CHECK(c.auth_refused >= 1);                    /* the unknown key */
  CHECK(c.handshake_failed >= 1);                /* no key */
  CHECK(c.dropped == 0);                         /* nothing of theirs was even read */
}

static void run_honest(const hint_config_t *cfg, const msg_shapes_t *s, const boot_endpoints_t *ep,
                       const wire_keypair_t *keys) {
  wire_opts_t o;
  wire_opts_from_config(&o, cfg);
  wire_actor_t *a = NULL;
  CHECK_RC(wire_actor_create(&a, &o, s, 1, ep->router_ep, ep->pub_ep, ep->server_pub, keys), 0);
  if (!a) return;
  CHECK_RC(wire_actor_handshake(a, hint_config_hash(cfg), "honest", WAIT_MS), 0);
  seg_pool_t p;
  seg_pool_init(&p, s);
  uint64_t sent = 0, answered = 0;
  while (answered < N_SEGMENTS) {
    while (sent < N_SEGMENTS && wire_actor_credits(a) > 0) {
      seg_fill(&p, s, 1, sent++);
      CHECK_RC(wire_actor_send_segment(a, &p.seg, NULL), 0);
    }
    msg_any_t in;
    int rc = wire_actor_recv(a, &in, WAIT_MS, NULL);
    if (rc) { CHECK_RC(rc, 0); break; }
    if (in.type == MSG_TARGETS) answered++;
  }
  msg_any_t bye = {.type = MSG_BYE};
  bye.u.bye.rank = 1;
  CHECK_RC(wire_actor_send(a, &bye, NULL), 0);
  seg_pool_fini(&p);
  wire_actor_destroy(&a); /* linger lets the bye out */
}

static void run_intruder(const hint_config_t *cfg, const msg_shapes_t *s, const boot_endpoints_t *ep) {
  wire_opts_t o;
  wire_opts_from_config(&o, cfg);
  seg_pool_t p;
  seg_pool_init(&p, s);
  /* 1. A CURVE key the learner never got, claiming rank 2. */
  wire_keypair_t stranger;
  CHECK_RC(wire_keypair_new(&stranger), 0);
  wire_actor_t *a = NULL;
  CHECK_RC(wire_actor_create(&a, &o, s, 2, ep->router_ep, ep->pub_ep, ep->server_pub, &stranger), 0);
  if (a) {
    CHECK_RC(wire_actor_handshake(a, hint_config_hash(cfg), "intruder", 1500), HINT_ETIMEDOUT);
    seg_fill(&p, s, 2, 0);
    int rc = wire_actor_send_segment(a, &p.seg, NULL);
    CHECK(rc == 0 || rc == HINT_EAGAIN); /* queued at most, never delivered */
    msg_any_t in;
    CHECK_RC(wire_actor_recv(a, &in, 500, NULL), HINT_ETIMEDOUT);
    wire_actor_destroy(&a);
  }
  /* 2. No CURVE at all: a plain DEALER with rank 2's routing id. */
  msg_buf_t b;
  CHECK_RC(msg_buf_init(&b, msg_max_bytes_any(s)), 0);
  seg_fill(&p, s, 2, 1);
  CHECK_RC(msg_encode_segment(&b, s, &p.seg, NULL), 0);
  void *ctx = zmq_ctx_new();
  void *d = zmq_socket(ctx, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
  zmq_setsockopt(d, ZMQ_ROUTING_ID, "actor-2", 7);
  CHECK(zmq_connect(d, ep->router_ep) == 0);
  zmq_send(d, b.data, b.len, ZMQ_DONTWAIT);
  zmq_pollitem_t it = {d, 0, ZMQ_POLLIN, 0};
  CHECK(zmq_poll(&it, 1, 1000) == 0); /* no answer ever comes */
  zmq_close(d);
  zmq_ctx_term(ctx);
  msg_buf_fini(&b);
  seg_pool_fini(&p);
  MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_DONE, MPI_COMM_WORLD);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  boot_t b;
  int rc = boot_init(&b, MPI_COMM_WORLD);
  hint_log_init(b.is_learner ? "learner" : "actor", b.rank, HINT_LOG_ERROR);
  if (rc || b.size != 3) {
    fprintf(stderr, "run with mpirun -np 3\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hint_config_t cfg;
  CHECK_RC(boot_config(&b, "", 0, "<test>", k_overrides, N_OVERRIDES, &cfg), 0);
  msg_shapes_t s;
  test_shapes(&cfg, &s);
  wire_opts_t o;
  wire_opts_from_config(&o, &cfg);
  wire_keypair_t keys;
  CHECK_RC(wire_keypair_new(&keys), 0);
  wire_learner_t *l = NULL;
  int local = 0;
  if (b.is_learner) local = wire_learner_create(&l, &o, &s, &keys, hint_config_hash(&cfg));
  boot_endpoints_t ep;
  CHECK_RC(boot_exchange(&b, &cfg, local, l, &keys, &ep), 0);
  if (g_failures == 0) {
    if (b.rank == 0) run_learner(&s, l);
    else if (b.rank == 1) run_honest(&cfg, &s, &ep, &keys);
    else run_intruder(&cfg, &s, &ep);
  }
  /* Nobody closes a socket before every rank is done with the exchange. */
  MPI_Barrier(MPI_COMM_WORLD);
  wire_learner_destroy(&l);
  int all = 0;
  MPI_Allreduce(&g_failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (b.is_learner) printf("wire_mpi_auth: %s (%d failed checks over all ranks)\n", all ? "FAIL" : "ok", all);
  boot_fini(&b);
  MPI_Finalize();
  return all ? 1 : 0;
}
