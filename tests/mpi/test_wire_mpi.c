/* test_wire_mpi.c: 1 learner + 2 actors under mpirun (-np 3).
 *
 * Bootstrap over MPI (config text, endpoints, CURVE keys), including two
 * refused bootstraps that must end with the same error on every rank instead
 * of a hang (an actor with another config hash; a rank whose local setup
 * failed); then hello, teacher parameters published, 300 segments per actor
 * answered by 300 targets, student parameters, stats, bye, a published stop
 * and a clean shutdown. Every payload is checked value by value.
 */
#include "tests/mpi/wire_mpi_util.h"

#define N_SEGMENTS 300
#define WAIT_MS 10000

static void fill_targets(float *pi, float *v, uint8_t *mask, const msg_shapes_t *s, uint64_t seq) {
  uint64_t n_pi = (uint64_t)s->T * s->E * s->n_agents * s->n_actions;
  for (uint64_t k = 0; k < n_pi; k++) pi[k] = (float)(seq + k % 13);
  for (uint64_t k = 0; k < (uint64_t)s->T * s->E; k++) v[k] = -(float)(seq + k);
  for (uint64_t k = 0; k < (uint64_t)s->T * s->E * s->n_agents; k++) mask[k] = (uint8_t)((seq + k) % 3 == 0);
}

static void run_learner(boot_t *b, const hint_config_t *cfg, const msg_shapes_t *s, wire_learner_t *l) {
  (void)b;
  (void)cfg;
  uint64_t n_pi = (uint64_t)s->T * s->E * s->n_agents * s->n_actions;
  float *pi = malloc(n_pi * 4), *v = malloc((size_t)s->T * s->E * 4);
  uint8_t *mask = malloc((size_t)s->T * s->E * s->n_agents);
  float *tp = malloc(s->n_teacher_params * 4);
  for (uint64_t k = 0; k < s->n_teacher_params; k++) tp[k] = (float)k * 0.25f;

  CHECK_RC(wire_learner_wait_subscribers(l, 2, WAIT_MS), 0);
  msg_any_t m = {.type = MSG_TEACHER_PARAMS};
  m.u.params = (msg_params_t){.sender_rank = 0, .version = 1, .n = s->n_teacher_params};
  m.u.params.params = msg_tensor(tp, s->n_teacher_params);
  CHECK_RC(wire_learner_publish(l, &m, NULL), 0);

  int hellos = 0, byes = 0, stats = 0, sparams = 0, segs[3] = {0, 0, 0}, intact = 0;
  uint64_t next_seq[3] = {0, 0, 0};
  while (byes < 2) {
    wire_in_t in;
    int rc = wire_learner_recv(l, &in, WAIT_MS);
    if (rc == HINT_ETIMEDOUT) {
      fprintf(stderr, "learner: timed out waiting for actors\n");
      g_failures++;
      break;
    }
    CHECK_RC(rc, 0);
    if (rc) continue;
    switch (in.msg.type) {
    case MSG_HELLO: hellos++; break;
    case MSG_SEGMENT: {
      const msg_segment_t *g = &in.msg.u.segment;
      segs[in.rank]++;
      intact += seg_intact(g, in.rank);
      CHECK(g->seq == next_seq[in.rank]); /* one DEALER-ROUTER pipe keeps order */
      next_seq[in.rank] = g->seq + 1;
      fill_targets(pi, v, mask, s, g->seq);
      msg_targets_t t = {.actor_rank = g->actor_rank, .seq = g->seq, .teacher_version = 1,
                         .T = s->T, .E = s->E, .n_agents = s->n_agents, .n_actions = s->n_actions};
      t.pi = msg_tensor(pi, n_pi);
      t.value = msg_tensor(v, (uint64_t)s->T * s->E);
      t.mask = msg_tensor(mask, (uint64_t)s->T * s->E * s->n_agents);
      CHECK_RC(wire_learner_reply(l, &t, NULL), 0);
      break;
    }
    case MSG_STUDENT_PARAMS: {
      sparams++;
      int ok = in.msg.u.params.params.n == s->n_student_params;
      for (uint64_t k = 0; ok && k < s->n_student_params; k++)
        ok = msg_f32(in.msg.u.params.params, k) == (float)k - 3.0f;
      CHECK(ok);
      break;
    }
    case MSG_STATS:
      stats++;
      CHECK(in.msg.u.stats.env_steps == (uint64_t)N_SEGMENTS * s->T * s->E);
      break;
    case MSG_BYE: byes++; break;
    default: CHECK(0);
    }
  }
  msg_any_t stop = {.type = MSG_CONTROL};
  stop.u.control = (msg_control_t){.cmd = MSG_CTRL_STOP, .rank = 0, .seq = 1};
  CHECK_RC(wire_learner_publish(l, &stop, NULL), 0);

  wire_counters_t c;
  wire_learner_counters(l, &c);
  CHECK(hellos == 2 && byes == 2 && stats == 2 && sparams == 1);
  CHECK(segs[1] == N_SEGMENTS && segs[2] == N_SEGMENTS);
  CHECK(intact == 2 * N_SEGMENTS);
  CHECK(c.dropped == 0);
  CHECK(c.auth_refused == 0);
  CHECK(c.targets_sent == 2 * N_SEGMENTS);
  CHECK(c.accepted == (uint64_t)(2 * (N_SEGMENTS + 3) + 1));
  printf("learner: %d+%d segments in, %llu targets out, %.1f MB in, %llu dropped\n", segs[1], segs[2],
         (unsigned long long)c.targets_sent, (double)c.bytes_in / 1e6, (unsigned long long)c.dropped);
  free(pi);
  free(v);
  free(mask);
  free(tp);
}

static void run_actor(boot_t *b, const hint_config_t *cfg, const msg_shapes_t *s,
                      const boot_endpoints_t *ep, const wire_keypair_t *keys) {
  wire_opts_t o;
  wire_opts_from_config(&o, cfg);
  wire_actor_t *a = NULL;
  CHECK_RC(wire_actor_create(&a, &o, s, b->rank, ep->router_ep, ep->pub_ep,
                             ep->curve ? ep->server_pub : NULL, ep->curve ? keys : NULL), 0);
  if (!a) return;
  CHECK_RC(wire_actor_handshake(a, hint_config_hash(cfg), "test_wire_mpi", WAIT_MS), 0);

  msg_any_t in;
  int got_params = 0;
  while (!got_params) {
    int rc = wire_actor_recv(a, &in, WAIT_MS, NULL);
    if (rc) { CHECK_RC(rc, 0); break; }
    if (in.type == MSG_TEACHER_PARAMS) {
      got_params = 1;
      int ok = in.u.params.version == 1 && in.u.params.params.n == s->n_teacher_params;
      for (uint64_t k = 0; ok && k < s->n_teacher_params; k++)
        ok = msg_f32(in.u.params.params, k) == (float)k * 0.25f;
      CHECK(ok);
    }
  }

  seg_pool_t p;
  seg_pool_init(&p, s);
  uint64_t sent = 0, answered = 0;
  int max_seen_inflight = 0, bad_targets = 0;
  while (answered < N_SEGMENTS) {
    while (sent < N_SEGMENTS && wire_actor_credits(a) > 0) {
      seg_fill(&p, s, b->rank, sent);
      CHECK_RC(wire_actor_send_segment(a, &p.seg, NULL), 0);
      sent++;
    }
    int inflight = (int)(sent - answered);
    if (inflight > max_seen_inflight) max_seen_inflight = inflight;
    if (sent < N_SEGMENTS) CHECK_RC(wire_actor_send_segment(a, &p.seg, NULL), HINT_EAGAIN);
    int rc = wire_actor_recv(a, &in, WAIT_MS, NULL);
    if (rc) { CHECK_RC(rc, 0); break; }
    if (in.type != MSG_TARGETS) continue;
    const msg_targets_t *t = &in.u.targets;
    int ok = t->seq == answered && t->actor_rank == (uint32_t)b->rank && t->pi.n > 0;
    for (uint64_t k = 0; ok && k < t->pi.n; k++) ok = msg_f32(t->pi, k) == (float)(t->seq + k % 13);
    for (uint64_t k = 0; ok && k < t->mask.n; k++) ok = msg_u8(t->mask, k) == (uint8_t)((t->seq + k) % 3 == 0);
    bad_targets += !ok;
    answered++;
  }
  CHECK(bad_targets == 0);
  CHECK(max_seen_inflight == cfg->transport.max_inflight);

  if (b->rank == 1) {
    float *sp = malloc(s->n_student_params * 4);
    for (uint64_t k = 0; k < s->n_student_params; k++) sp[k] = (float)k - 3.0f;
    msg_any_t m = {.type = MSG_STUDENT_PARAMS};
    m.u.params = (msg_params_t){.sender_rank = 1, .version = 30, .n = s->n_student_params};
    m.u.params.params = msg_tensor(sp, s->n_student_params);
    CHECK_RC(wire_actor_send(a, &m, NULL), 0);
    free(sp);
  }
  msg_any_t st = {.type = MSG_STATS};
  st.u.stats = (msg_stats_t){.actor_rank = (uint32_t)b->rank,
                             .env_steps = (uint64_t)N_SEGMENTS * s->T * s->E, .episodes = 3};
  CHECK_RC(wire_actor_send(a, &st, NULL), 0);
  msg_any_t bye = {.type = MSG_BYE};
  bye.u.bye = (msg_bye_t){.rank = (uint32_t)b->rank, .reason = 0};
  bye.u.bye.text = msg_str("done");
  CHECK_RC(wire_actor_send(a, &bye, NULL), 0);

  int stopped = 0;
  while (!stopped) {
    int rc = wire_actor_recv(a, &in, WAIT_MS, NULL);
    if (rc) { CHECK_RC(rc, 0); break; }
    stopped = in.type == MSG_CONTROL && in.u.control.cmd == MSG_CTRL_STOP;
  }
  CHECK(stopped);
  CHECK(wire_actor_dropped(a) == 0);
  seg_pool_fini(&p);
  wire_actor_destroy(&a);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  boot_t b;
  int rc = boot_init(&b, MPI_COMM_WORLD);
  hint_log_init(b.is_learner ? "learner" : "actor", b.rank, HINT_LOG_WARN);
  if (rc || b.size != 3) {
    fprintf(stderr, "run with mpirun -np 3\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  CHECK(b.is_learner ? b.actors == MPI_COMM_NULL : b.actors != MPI_COMM_NULL);
  if (!b.is_learner) {
    int asz = 0;
    MPI_Comm_size(b.actors, &asz);
    CHECK(asz == 2);
  }

  /* A config the learner rejects: every rank gets the error, none hangs. */
  hint_config_t cfg;
  const char *bad_ov[] = {"actor.count=5"};
  CHECK_RC(boot_config(&b, "", 0, "<test>", bad_ov, 1, &cfg), HINT_ECONFIG);
  /* The real one: actors load the learner's effective text. */
  CHECK_RC(boot_config(&b, "", 0, "<test>", k_overrides, N_OVERRIDES, &cfg), 0);
  CHECK(cfg.actor.segment_len == 8 && cfg.actor.envs == 4 && cfg.transport.curve == HINT_CURVE_ON);

  msg_shapes_t s;
  test_shapes(&cfg, &s);
  wire_opts_t o;
  wire_opts_from_config(&o, &cfg);
  CHECK(o.curve == 1);
  wire_keypair_t keys;
  CHECK_RC(wire_keypair_new(&keys), 0);
  wire_learner_t *l = NULL;
  int local = 0;
  if (b.is_learner) local = wire_learner_create(&l, &o, &s, &keys, hint_config_hash(&cfg));

  boot_endpoints_t ep;
  /* An actor whose config differs: refused with the same code on all ranks. */
  hint_config_t other = cfg;
  if (b.rank == 2) other.run.seed += 1;
  CHECK_RC(boot_exchange(&b, &other, local, l, &keys, &ep), HINT_EHASH);
  /* A rank whose own setup failed: everyone learns it, nobody hangs. */
  CHECK_RC(boot_exchange(&b, &cfg, b.rank == 1 ? HINT_EIO : local, l, &keys, &ep), HINT_EIO);
  /* The real exchange. */
  CHECK_RC(boot_exchange(&b, &cfg, local, l, &keys, &ep), 0);
  if (!b.is_learner) CHECK(ep.curve == 1 && strlen(ep.server_pub) == 40 && ep.router_ep[0] != 0);

  if (g_failures == 0) {
    if (b.is_learner) run_learner(&b, &cfg, &s, l);
    else run_actor(&b, &cfg, &s, &ep, &keys);
  }
  /* Nobody closes a socket before every rank is done with the exchange. */
  MPI_Barrier(MPI_COMM_WORLD);
  wire_learner_destroy(&l);
  int all = 0;
  MPI_Allreduce(&g_failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (b.is_learner) printf("wire_mpi: %s (%d failed checks over all ranks)\n", all ? "FAIL" : "ok", all);
  boot_fini(&b);
  MPI_Finalize();
  return all ? 1 : 0;
}
