/* test_wire_msg.c: the protocol in common/wire/msg.h.
 *
 * Round trips of every message type (full, empty and maximal tensors), a
 * cross-check with msgpack-c's own unpacker, and malformed frames: every
 * truncation, wrong magic/version/type, wrong msgpack types, shapes that
 * disagree with the header or the config, lengths near 2^32, duplicate and
 * unknown keys, random bytes. After every rejection the same decoder must
 * still accept a good frame.
 */
#include <msgpack.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/core/rng.h"
#include "common/wire/msg.h"
#include "tests/unit/test_util.h"

/* Small shapes: T 4, E 3, A 3, O 5, S 7, NA 6, C 2. */
static msg_shapes_t shapes(void) {
  msg_shapes_t s = {.T = 4, .E = 3, .n_agents = 3, .obs_dim = 5, .state_dim = 7, .n_actions = 6,
                    .comm_dim = 2, .n_actors = 2, .n_teacher_params = 100, .n_student_params = 50,
                    .max_message_bytes = 1 << 20};
  return s;
}

/* Arrays for one segment, filled with a pattern seeded by `seed`. */
typedef struct {
  float *obs, *state, *logp, *rewards, *value, *trunc_value, *goal_logp, *comm;
  int32_t *actions, *goals;
  uint8_t *dones, *truncated, *driver, *avail;
  msg_segment_t seg;
} seg_data_t;

static float pat(uint32_t seed, size_t i) { return (float)(seed * 1000003u + i) * 0.25f - 7.0f; }

static void seg_fill(seg_data_t *d, const msg_shapes_t *s, uint32_t seed, int optional) {
  size_t T = s->T, T1 = T + 1, E = s->E, A = s->n_agents;
  size_t n_obs = T1 * E * A * s->obs_dim, n_state = T1 * E * s->state_dim, n_ta = T * E * A,
         n_te = T * E, n_avail = T1 * E * A * s->n_actions, n_comm = T * E * A * s->comm_dim;
  d->obs = calloc(n_obs + 1, 4);
  d->state = calloc(n_state + 1, 4);
  d->logp = calloc(n_ta + 1, 4);
  d->rewards = calloc(n_te + 1, 4);
  d->value = calloc(T1 * E + 1, 4);
  d->trunc_value = calloc(n_te + 1, 4);
  d->goal_logp = calloc(n_ta + 1, 4);
  d->comm = calloc(n_comm + 1, 4);
  d->actions = calloc(n_ta + 1, 4);
  d->goals = calloc(n_ta + 1, 4);
  d->dones = calloc(n_te + 1, 1);
  d->truncated = calloc(n_te + 1, 1);
  d->driver = calloc(n_te + 1, 1);
  d->avail = calloc(n_avail + 1, 1);
  for (size_t i = 0; i < n_obs; i++) d->obs[i] = pat(seed, i);
  for (size_t i = 0; i < n_state; i++) d->state[i] = pat(seed + 1, i);
  for (size_t i = 0; i < n_ta; i++) {
    d->logp[i] = -pat(seed + 2, i);
    d->actions[i] = (int32_t)((i + seed) % s->n_actions);
    d->goals[i] = (int32_t)(i % 7) - 1;
    d->goal_logp[i] = pat(seed + 3, i);
  }
  for (size_t i = 0; i < n_te; i++) {
    d->rewards[i] = pat(seed + 4, i);
    d->trunc_value[i] = pat(seed + 5, i);
    d->dones[i] = (uint8_t)(i % 5 == 0);
    d->truncated[i] = (uint8_t)(i % 7 == 0);
    d->driver[i] = (uint8_t)(i % 2);
  }
  for (size_t i = 0; i < T1 * E; i++) d->value[i] = pat(seed + 6, i);
  for (size_t i = 0; i < n_avail; i++) d->avail[i] = (uint8_t)((i + seed) % 3 != 0);
  for (size_t i = 0; i < n_comm; i++) d->comm[i] = pat(seed + 7, i);
  msg_segment_t *g = &d->seg;
  memset(g, 0, sizeof(*g));
  g->actor_rank = 2;
  g->seq = 0x123456789ull + seed;
  g->policy_version = 77;
  g->teacher_version = 1ull << 40;
  g->env_steps = 5000000000ull;
  g->T = s->T; g->E = s->E; g->n_agents = s->n_agents; g->obs_dim = s->obs_dim;
  g->state_dim = s->state_dim; g->n_actions = s->n_actions; g->comm_dim = s->comm_dim;
  g->obs = msg_tensor(d->obs, n_obs);
  g->state = msg_tensor(d->state, n_state);
  g->actions = msg_tensor(d->actions, n_ta);
  g->logp = msg_tensor(d->logp, n_ta);
  g->rewards = msg_tensor(d->rewards, n_te);
  g->dones = msg_tensor(d->dones, n_te);
  g->truncated = msg_tensor(d->truncated, n_te);
  g->value = msg_tensor(d->value, T1 * E);
  g->trunc_value = msg_tensor(d->trunc_value, n_te);
  g->driver = msg_tensor(d->driver, n_te);
  if (optional) {
    g->goals = msg_tensor(d->goals, n_ta);
    g->goal_logp = msg_tensor(d->goal_logp, n_ta);
    g->avail = msg_tensor(d->avail, n_avail);
    g->comm = msg_tensor(d->comm, n_comm);
    g->trunc_state = msg_tensor(d->state, n_te * s->state_dim);
  }
}

static void seg_free(seg_data_t *d) {
  free(d->obs); free(d->state); free(d->logp); free(d->rewards); free(d->value);
  free(d->trunc_value); free(d->goal_logp); free(d->comm); free(d->actions); free(d->goals);
  free(d->dones); free(d->truncated); free(d->driver); free(d->avail);
}

static void assert_tensor_eq(msg_tensor_t got, msg_tensor_t want, size_t esize) {
  assert_int_equal(got.n, want.n);
  if (want.n) assert_memory_equal(got.data, want.data, (size_t)want.n * esize);
}

static void assert_segment_eq(const msg_segment_t *a, const msg_segment_t *b) {
  assert_int_equal(a->actor_rank, b->actor_rank);
  assert_true(a->seq == b->seq && a->policy_version == b->policy_version &&
              a->teacher_version == b->teacher_version && a->env_steps == b->env_steps);
  assert_true(a->T == b->T && a->E == b->E && a->n_agents == b->n_agents &&
              a->obs_dim == b->obs_dim && a->state_dim == b->state_dim &&
              a->n_actions == b->n_actions && a->comm_dim == b->comm_dim);
  assert_tensor_eq(a->obs, b->obs, 4);
  assert_tensor_eq(a->state, b->state, 4);
  assert_tensor_eq(a->actions, b->actions, 4);
  assert_tensor_eq(a->logp, b->logp, 4);
  assert_tensor_eq(a->rewards, b->rewards, 4);
  assert_tensor_eq(a->dones, b->dones, 1);
  assert_tensor_eq(a->truncated, b->truncated, 1);
  assert_tensor_eq(a->value, b->value, 4);
  assert_tensor_eq(a->trunc_value, b->trunc_value, 4);
  assert_tensor_eq(a->driver, b->driver, 1);
  assert_tensor_eq(a->goals, b->goals, 4);
  assert_tensor_eq(a->goal_logp, b->goal_logp, 4);
  assert_tensor_eq(a->avail, b->avail, 1);
  assert_tensor_eq(a->comm, b->comm, 4);
  assert_tensor_eq(a->trunc_state, b->trunc_state, 4);
}

/* A buffer big enough for anything under `s`. */
static msg_buf_t buf_for(const msg_shapes_t *s) {
  msg_buf_t b;
  assert_int_equal(msg_buf_init(&b, msg_max_bytes_any(s)), 0);
  return b;
}

/* ---- round trips --------------------------------------------------------- */

static void roundtrip_segment(int optional) {
  msg_shapes_t s = shapes();
  seg_data_t d;
  seg_fill(&d, &s, 3, optional);
  msg_buf_t b = buf_for(&s);
  msg_error_t e;
  assert_int_equal(msg_encode_segment(&b, &s, &d.seg, &e), 0);
  assert_true(b.len <= msg_max_bytes(&s, MSG_SEGMENT));
  msg_any_t m;
  assert_int_equal(msg_decode(b.data, b.len, &s, &m, &e), 0);
  assert_int_equal(m.type, MSG_SEGMENT);
  assert_segment_eq(&m.u.segment, &d.seg);
  /* Zero copy: the views point into the frame. */
  assert_true((const unsigned char *)m.u.segment.obs.data > b.data &&
              (const unsigned char *)m.u.segment.obs.data < b.data + b.len);
  assert_true(msg_f32(m.u.segment.obs, 10) == d.obs[10]);
  assert_int_equal(msg_i32(m.u.segment.actions, 5), d.actions[5]);
  /* Re-encoding the decoded view gives the same bytes. */
  msg_buf_t b2 = buf_for(&s);
  assert_int_equal(msg_encode(&b2, &s, &m, &e), 0);
  assert_int_equal(b2.len, b.len);
  assert_memory_equal(b2.data, b.data, b.len);
  msg_buf_fini(&b2);
  msg_buf_fini(&b);
  seg_free(&d);
}

static void test_segment_roundtrip_full(void **st) { (void)st; roundtrip_segment(1); }
static void test_segment_roundtrip_no_optional(void **st) { (void)st; roundtrip_segment(0); }

static void test_targets_roundtrip(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  size_t n_pi = 4 * 3 * 3 * 6, n_v = 4 * 3, n_m = 4 * 3 * 3;
  float pi[4 * 3 * 3 * 6], v[12];
  uint8_t mask[36];
  for (size_t i = 0; i < n_pi; i++) pi[i] = 1.0f / 6.0f + (float)i;
  for (size_t i = 0; i < n_v; i++) v[i] = -(float)i;
  for (size_t i = 0; i < n_m; i++) mask[i] = (uint8_t)(i & 1);
  msg_targets_t t = {.actor_rank = 1, .seq = 9, .teacher_version = 4, .T = 4, .E = 3,
                     .n_agents = 3, .n_actions = 6};
  t.pi = msg_tensor(pi, n_pi);
  t.value = msg_tensor(v, n_v);
  t.mask = msg_tensor(mask, n_m);
  msg_buf_t b = buf_for(&s);
  msg_error_t e;
  msg_any_t m;
  assert_int_equal(msg_encode_targets(&b, &s, &t, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &m, &e), 0);
  assert_int_equal(m.type, MSG_TARGETS);
  assert_int_equal(m.u.targets.seq, 9);
  assert_tensor_eq(m.u.targets.pi, t.pi, 4);
  assert_tensor_eq(m.u.targets.value, t.value, 4);
  assert_tensor_eq(m.u.targets.mask, t.mask, 1);
  float back[4 * 3 * 3 * 6];
  msg_tensor_copy(m.u.targets.pi, back, 4);
  assert_close(back, pi, n_pi, 0, 0);
  /* Empty targets (no guidance) are valid and still a reply. */
  t.pi.n = t.value.n = t.mask.n = 0;
  assert_int_equal(msg_encode_targets(&b, &s, &t, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &m, &e), 0);
  assert_int_equal(m.u.targets.pi.n, 0);
  assert_int_equal(m.u.targets.mask.n, 0);
  msg_buf_fini(&b);
}

static void test_params_roundtrip_empty_and_maximal(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  /* Maximal: 4M floats (16 MiB) of teacher parameters, exactly at the limit. */
  s.n_teacher_params = 4u << 20;
  s.n_student_params = 0; /* empty: a network without parameters */
  float *p = malloc((size_t)s.n_teacher_params * 4);
  for (size_t i = 0; i < s.n_teacher_params; i++) p[i] = (float)i * 0.5f;
  msg_params_t tp = {.sender_rank = 0, .version = 12, .env_steps = 99, .n = s.n_teacher_params};
  tp.params = msg_tensor(p, s.n_teacher_params);
  s.max_message_bytes = msg_max_bytes(&s, MSG_TEACHER_PARAMS);
  msg_buf_t b = buf_for(&s);
  msg_error_t e;
  msg_any_t m;
  assert_int_equal(msg_encode_params(&b, &s, MSG_TEACHER_PARAMS, &tp, &e), 0);
  s.max_message_bytes = b.len; /* exactly the frame: accepted */
  assert_int_equal(msg_decode(b.data, b.len, &s, &m, &e), 0);
  assert_int_equal(m.type, MSG_TEACHER_PARAMS);
  assert_int_equal(m.u.params.version, 12);
  assert_tensor_eq(m.u.params.params, tp.params, 4);
  s.max_message_bytes = b.len - 1; /* one byte over: refused unread, both ways */
  assert_int_equal(msg_decode(b.data, b.len, &s, &m, &e), HINT_ETOOBIG);
  assert_string_equal(e.field, "frame");
  assert_int_equal(e.got, b.len);
  assert_int_equal(msg_encode_params(&b, &s, MSG_TEACHER_PARAMS, &tp, &e), HINT_ETOOBIG);
  s.max_message_bytes = 1 << 20;
  msg_params_t sp = {.sender_rank = 1, .version = 3, .n = 0};
  assert_int_equal(msg_encode_params(&b, &s, MSG_STUDENT_PARAMS, &sp, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &m, &e), 0);
  assert_int_equal(m.type, MSG_STUDENT_PARAMS);
  assert_int_equal(m.u.params.params.n, 0);
  /* A params message of the wrong size for the config is refused. */
  sp.n = 1;
  float one = 1;
  sp.params = msg_tensor(&one, 1);
  assert_int_equal(msg_encode_params(&b, &s, MSG_STUDENT_PARAMS, &sp, &e), HINT_ESHAPE);
  assert_int_equal(msg_encode_params(&b, &s, MSG_CONTROL, &sp, &e), HINT_EMSGTYPE);
  msg_buf_fini(&b);
  free(p);
}

static void test_small_messages_roundtrip(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  msg_buf_t b = buf_for(&s);
  msg_error_t e;
  msg_any_t m, in;

  memset(&m, 0, sizeof(m));
  m.type = MSG_HELLO;
  m.u.hello = (msg_hello_t){.rank = 2, .config_hash = 0xfeedfacecafebeefull, .pid = 4242};
  m.u.hello.build_id = msg_str("hint 0.1.0 abcdef");
  m.u.hello.host = msg_str(""); /* empty string */
  assert_int_equal(msg_encode(&b, &s, &m, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &in, &e), 0);
  assert_int_equal(in.type, MSG_HELLO);
  assert_true(in.u.hello.config_hash == 0xfeedfacecafebeefull);
  assert_int_equal(in.u.hello.build_id.len, strlen("hint 0.1.0 abcdef"));
  assert_memory_equal(in.u.hello.build_id.data, "hint 0.1.0 abcdef", in.u.hello.build_id.len);
  assert_int_equal(in.u.hello.host.len, 0);

  memset(&m, 0, sizeof(m));
  m.type = MSG_STATS;
  m.u.stats = (msg_stats_t){.actor_rank = 1, .policy_version = 5, .env_steps = 2048, .episodes = 7,
                            .successes = 3, .return_sum = -12.5, .length_sum = 310, .interval_s = 1.5,
                            .t_env = 0.25, .t_infer = 0.5, .t_update = 0.125, .t_allreduce = 0.0625,
                            .t_wait = 1e-9, .pg_loss = -0.01, .value_loss = 3, .entropy = 1.7,
                            .kd_loss = 0.2, .kd_weight = 0.5, .kd_kept = 0.68, .grad_norm = 9.5,
                            .teacher_episodes = 4, .teacher_successes = 4, .ckpt_done = 2};
  assert_int_equal(msg_encode(&b, &s, &m, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &in, &e), 0);
  assert_memory_equal(&in.u.stats, &m.u.stats, sizeof(msg_stats_t));

  memset(&m, 0, sizeof(m));
  m.type = MSG_CONTROL;
  m.u.control = (msg_control_t){.cmd = MSG_CTRL_CHECKPOINT, .rank = 0, .seq = 3, .arg = -5};
  assert_int_equal(msg_encode(&b, &s, &m, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &in, &e), 0);
  assert_memory_equal(&in.u.control, &m.u.control, sizeof(msg_control_t));

  memset(&m, 0, sizeof(m));
  m.type = MSG_CONTROL;
  m.u.control = (msg_control_t){.cmd = MSG_CTRL_SYNC, .rank = 2, .seq = 4, .arg = 1ll << 40};
  assert_int_equal(msg_encode(&b, &s, &m, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &in, &e), 0);
  assert_memory_equal(&in.u.control, &m.u.control, sizeof(msg_control_t));

  memset(&m, 0, sizeof(m));
  m.type = MSG_EVAL;
  m.u.eval = (msg_eval_t){.actor_rank = 1, .eval_id = 3, .env_steps = 1000000, .policy_version = 40,
                          .teacher_version = 12, .episodes = 100, .sampled_success = 0.97,
                          .sampled_return = 12.5, .sampled_length = 31, .greedy_success = 0.77,
                          .greedy_return = 10, .greedy_length = 28, .teacher_success = -1,
                          .teacher_return = -1, .teacher_length = -1, .reference_success = 0.9,
                          .reference_return = 11, .reference_length = 25};
  assert_int_equal(msg_encode(&b, &s, &m, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &in, &e), 0);
  assert_int_equal(in.type, MSG_EVAL);
  assert_memory_equal(&in.u.eval, &m.u.eval, sizeof(msg_eval_t));

  memset(&m, 0, sizeof(m));
  m.type = MSG_BYE;
  m.u.bye.rank = 1;
  m.u.bye.reason = HINT_ESTOPPED;
  m.u.bye.text = msg_str("stop requested");
  assert_int_equal(msg_encode(&b, &s, &m, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &s, &in, &e), 0);
  assert_int_equal(in.u.bye.reason, HINT_ESTOPPED);
  assert_memory_equal(in.u.bye.text.data, "stop requested", 14);
  msg_buf_fini(&b);
}

/* The frames are plain msgpack: msgpack-c's own unpacker reads them. */
static void test_msgpack_interop(void **st) {
  (void)st;
  msg_shapes_t s = shapes();
  seg_data_t d;
  seg_fill(&d, &s, 1, 1);
  msg_buf_t b = buf_for(&s);
  assert_int_equal(msg_encode_segment(&b, &s, &d.seg, NULL), 0);
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  assert_int_equal(msgpack_unpack_next(&u, (const char *)b.data, b.len, &off), MSGPACK_UNPACK_SUCCESS);
  assert_int_equal(off, b.len);
  assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
  msgpack_object_kv *kv = u.data.via.map.ptr;
  assert_int_equal(u.data.via.map.size, 30);
  assert_memory_equal(kv[0].key.via.str.ptr, "magic", 5);
  assert_int_equal(kv[0].val.via.u64, MSG_MAGIC);
  int found = 0;
  for (uint32_t i = 0; i < u.data.via.map.size; i++) {
    if (kv[i].key.via.str.size == 3 && memcmp(kv[i].key.via.str.ptr, "obs", 3) == 0) {
      assert_int_equal(kv[i].val.type, MSGPACK_OBJECT_BIN);
      assert_int_equal(kv[i].val.via.bin.size, d.seg.obs.n * 4);
      assert_memory_equal(kv[i].val.via.bin.ptr, d.obs, d.seg.obs.n * 4);
      found = 1;
    }
  }
  assert_true(found);
  msgpack_unpacked_destroy(&u);
  msg_buf_fini(&b);
  seg_free(&d);
}

/* ---- malformed input ----------------------------------------------------- */

typedef struct {
  msg_shapes_t s;
  seg_data_t d;
  msg_buf_t good;
} mal_t;

static int mal_setup(void **st) {
  mal_t *f = calloc(1, sizeof(*f));
  f->s = shapes();
  seg_fill(&f->d, &f->s, 5, 1);
  if (msg_buf_init(&f->good, msg_max_bytes_any(&f->s))) return -1;
  if (msg_encode_segment(&f->good, &f->s, &f->d.seg, NULL)) return -1;
  *st = f;
  return 0;
}

static int mal_teardown(void **st) {
  mal_t *f = *st;
  msg_buf_fini(&f->good);
  seg_free(&f->d);
  free(f);
  return 0;
}

/* The decoder keeps working: a good frame decodes after any bad one. */
static void still_works(mal_t *f) {
  msg_any_t m;
  assert_int_equal(msg_decode(f->good.data, f->good.len, &f->s, &m, NULL), 0);
  assert_segment_eq(&m.u.segment, &f->d.seg);
}

static unsigned char *dup_frame(const mal_t *f) {
  unsigned char *p = malloc(f->good.len);
  memcpy(p, f->good.data, f->good.len);
  return p;
}

static size_t find(const unsigned char *p, size_t n, const char *needle, size_t k) {
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(p + i, needle, k) == 0) return i;
  fail_msg("pattern not found");
  return 0;
}

static void test_truncated_everywhere(void **st) {
  mal_t *f = *st;
  msg_any_t m;
  msg_error_t e;
  /* Every proper prefix is refused as truncated, wherever the cut falls. The
   * copy makes ASan/valgrind catch a read past the prefix. */
  for (size_t len = 0; len < f->good.len; len++) {
    unsigned char *p = malloc(len ? len : 1);
    memcpy(p, f->good.data, len);
    int rc = msg_decode(p, len, &f->s, &m, &e);
    if (rc != HINT_ETRUNC) fail_msg("prefix %zu of %zu: %s", len, f->good.len, hint_errname(rc));
    free(p);
  }
  assert_int_equal(msg_decode(NULL, 0, &f->s, &m, &e), HINT_ETRUNC);
  /* A trailing byte is refused too. */
  unsigned char *p = malloc(f->good.len + 1);
  memcpy(p, f->good.data, f->good.len);
  p[f->good.len] = 0xc0;
  assert_int_equal(msg_decode(p, f->good.len + 1, &f->s, &m, &e), HINT_EPARSE);
  free(p);
  still_works(f);
}

static void test_wrong_magic_version_type(void **st) {
  mal_t *f = *st;
  msg_any_t m;
  msg_error_t e;
  char line[256];
  unsigned char *p = dup_frame(f);
  size_t at = find(p, f->good.len, "\xa5magic\xce\x48\x49\x4e\x54", 10);
  p[at + 10] = 0x55;
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_EMAGIC);
  assert_string_equal(e.field, "magic");
  assert_int_equal(e.expected, MSG_MAGIC);
  assert_int_equal(e.got, 0x48494E55);
  p[at + 10] = 0x54;
  p[at + 1] = 'M'; /* the first key is not "magic" */
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_EMAGIC);
  free(p);

  p = dup_frame(f);
  at = find(p, f->good.len, "\xa1v\x01", 3);
  p[at + 2] = 0x02;
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_EVERSION);
  assert_string_equal(e.field, "v");
  assert_int_equal(e.expected, MSG_PROTOCOL_VERSION);
  assert_int_equal(e.got, 2);
  assert_non_null(strstr(msg_error_format(&e, line, sizeof(line)), "protocol version mismatch"));
  free(p);

  p = dup_frame(f);
  at = find(p, f->good.len, "\xa4type\x02", 6);
  p[at + 5] = MSG_TYPE_MAX + 1; /* no such type */
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_EMSGTYPE);
  assert_int_equal(e.got, MSG_TYPE_MAX + 1);
  p[at + 5] = 0x00;
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_EMSGTYPE);
  p[at + 5] = MSG_TARGETS; /* a segment body labelled targets */
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_EPARSE);
  assert_string_equal(e.field, "map");
  free(p);

  /* Not a map at all. */
  unsigned char junk[4] = {0x93, 1, 2, 3};
  assert_int_equal(msg_decode(junk, 4, &f->s, &m, &e), HINT_EMAGIC);
  still_works(f);
}

static void test_shape_disagrees_with_config(void **st) {
  mal_t *f = *st;
  msg_any_t m;
  msg_error_t e;
  char line[256];
  /* Header T says 5, the config 4. */
  unsigned char *p = dup_frame(f);
  size_t at = find(p, f->good.len, "\xa1T\x04", 3);
  p[at + 2] = 0x05;
  assert_int_equal(msg_decode(p, f->good.len, &f->s, &m, &e), HINT_ESHAPE);
  assert_string_equal(e.field, "T");
  assert_int_equal(e.expected, 4);
  assert_int_equal(e.got, 5);
  free(p);
  /* A message from a peer whose config has another obs_dim: the header
   * disagrees with ours, and (header patched to agree) the tensor does. */
  msg_shapes_t other = f->s;
  other.obs_dim = 6;
  seg_data_t d6;
  seg_fill(&d6, &other, 5, 1);
  d6.seg.obs_dim = 6;
  msg_buf_t b = buf_for(&other);
  assert_int_equal(msg_encode_segment(&b, &other, &d6.seg, &e), 0);
  assert_int_equal(msg_decode(b.data, b.len, &f->s, &m, &e), HINT_ESHAPE);
  assert_string_equal(e.field, "O");
  at = find(b.data, b.len, "\xa1O\x06", 3);
  b.data[at + 2] = 0x05;
  assert_int_equal(msg_decode(b.data, b.len, &f->s, &m, &e), HINT_ESHAPE);
  assert_string_equal(e.field, "obs");
  assert_int_equal(e.expected, 5ull * 3 * 3 * 5);
  assert_int_equal(e.got, 5ull * 3 * 3 * 6);
  assert_true(e.offset > 0 && e.offset < b.len);
  msg_error_format(&e, line, sizeof(line));
  assert_non_null(strstr(line, "segment.obs"));
  assert_non_null(strstr(line, "expected elements 225, got 270"));
  msg_buf_fini(&b);
  seg_free(&d6);

  /* The encoder refuses what the decoder would: wrong tensor, partial optional. */
  msg_buf_t b2 = buf_for(&f->s);
  msg_segment_t g = f->d.seg;
  g.rewards.n -= 1;
  assert_int_equal(msg_encode_segment(&b2, &f->s, &g, &e), HINT_ESHAPE);
  assert_string_equal(e.field, "rewards");
  g = f->d.seg;
  g.comm.n = 3;
  assert_int_equal(msg_encode_segment(&b2, &f->s, &g, &e), HINT_ESHAPE);
  assert_string_equal(e.field, "comm");
  g = f->d.seg;
  g.actor_rank = 3; /* only 2 actors */
  assert_int_equal(msg_encode_segment(&b2, &f->s, &g, &e), HINT_ERANGE);
  g.actor_rank = 0;
  assert_int_equal(msg_encode_segment(&b2, &f->s, &g, &e), HINT_ERANGE);
  /* Partial targets. */
  float pi[216], v[12];
  uint8_t mask[36];
  msg_targets_t t = {.actor_rank = 1, .T = 4, .E = 3, .n_agents = 3, .n_actions = 6};
  t.pi = msg_tensor(pi, 216);
  t.value = msg_tensor(v, 12);
  t.mask = msg_tensor(mask, 0);
  assert_int_equal(msg_encode_targets(&b2, &f->s, &t, &e), HINT_ESHAPE);
  assert_string_equal(e.field, "pi/value/mask");
  msg_control_t c = {.cmd = MSG_CTRL_SYNC + 1};
  assert_int_equal(msg_encode_control(&b2, &f->s, &c, &e), HINT_ERANGE);
  msg_buf_fini(&b2);
  still_works(f);
}

/* Hand-built frames for what our encoder never writes. */
typedef struct {
  unsigned char data[4096];
  size_t len;
} raw_t;

static int raw_write(void *u, const char *p, size_t n) {
  raw_t *r = u;
  if (r->len + n > sizeof(r->data)) return -1;
  memcpy(r->data + r->len, p, n);
  r->len += n;
  return 0;
}

static void raw_envelope(msgpack_packer *pk, size_t entries, uint32_t type) {
  msgpack_pack_map(pk, entries);
  msgpack_pack_str_with_body(pk, "magic", 5);
  msgpack_pack_uint32(pk, MSG_MAGIC);
  msgpack_pack_str_with_body(pk, "v", 1);
  msgpack_pack_uint32(pk, MSG_PROTOCOL_VERSION);
  msgpack_pack_str_with_body(pk, "type", 4);
  msgpack_pack_uint32(pk, type);
}

/* A student_params frame with n_student_params = 2, where `mode` breaks one
 * thing. */
static void raw_params(raw_t *r, int mode) {
  msgpack_packer pk;
  r->len = 0;
  msgpack_packer_init(&pk, r, raw_write);
  raw_envelope(&pk, mode == 3 ? 9 : 8, MSG_STUDENT_PARAMS);
  msgpack_pack_str_with_body(&pk, "sender_rank", 11);
  if (mode == 1) msgpack_pack_str_with_body(&pk, "one", 3); /* wrong type */
  else if (mode == 7) msgpack_pack_int32(&pk, -1);           /* negative rank */
  else msgpack_pack_uint32(&pk, 1);
  msgpack_pack_str_with_body(&pk, mode == 2 ? "versoin" : "version", 7); /* unknown key */
  msgpack_pack_uint64(&pk, 1);
  msgpack_pack_str_with_body(&pk, mode == 4 ? "version" : "env_steps", mode == 4 ? 7 : 9); /* dup */
  msgpack_pack_uint64(&pk, 1);
  msgpack_pack_str_with_body(&pk, "n", 1);
  msgpack_pack_uint64(&pk, mode == 5 ? 3 : 2); /* header disagrees with config */
  msgpack_pack_str_with_body(&pk, "params", 6);
  float v[3] = {1, 2, 3};
  if (mode == 6) msgpack_pack_bin_with_body(&pk, v, 7); /* not a multiple of 4 */
  else if (mode == 8) msgpack_pack_bin_with_body(&pk, v, 12); /* 3 floats, config says 2 */
  else msgpack_pack_bin_with_body(&pk, v, 8);
}

static void test_raw_frames(void **st) {
  mal_t *f = *st;
  f->s.n_student_params = 2;
  msg_any_t m;
  msg_error_t e;
  raw_t r;
  raw_params(&r, 0);
  assert_int_equal(msg_decode(r.data, r.len, &f->s, &m, &e), 0);
  assert_true(msg_f32(m.u.params.params, 1) == 2.0f);
  static const struct { int mode, code; const char *field; } cases[] = {
      {1, HINT_ETYPE, "sender_rank"}, {2, HINT_EPARSE, "map"},   {3, HINT_EPARSE, "map"},
      {4, HINT_EPARSE, "version"},   {5, HINT_ESHAPE, "n"},     {6, HINT_ESHAPE, "params"},
      {7, HINT_ERANGE, "sender_rank"}, {8, HINT_ESHAPE, "params"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    raw_params(&r, cases[i].mode);
    int rc = msg_decode(r.data, r.len, &f->s, &m, &e);
    if (rc != cases[i].code || strcmp(e.field, cases[i].field) != 0)
      fail_msg("mode %d: got %s field %s", cases[i].mode, hint_errname(rc), e.field);
    still_works(f);
  }
}

/* Lengths near 2^32 where only a few bytes follow: refused as truncated
 * before anything is read or allocated. */
static void test_huge_lengths(void **st) {
  mal_t *f = *st;
  msg_any_t m;
  msg_error_t e;
  const unsigned char env[] = {0xa5, 'm', 'a', 'g', 'i', 'c', 0xce, 0x48, 0x49, 0x4e, 0x54,
                               0xa1, 'v', 0x01, 0xa4, 't', 'y', 'p', 'e', 0x05};
  unsigned char p[64];
  /* map32 with 2^32-1 entries */
  p[0] = 0xdf; p[1] = p[2] = p[3] = p[4] = 0xff;
  memcpy(p + 5, env, sizeof(env));
  assert_int_equal(msg_decode(p, 5 + sizeof(env), &f->s, &m, &e), HINT_EPARSE);
  assert_int_equal(e.got, 0xffffffffull);
  /* map32 header cut short */
  assert_int_equal(msg_decode(p, 3, &f->s, &m, &e), HINT_ETRUNC);
  /* a str32 key claiming 0xfffffff0 bytes */
  size_t n = 0;
  p[n++] = 0x88;
  memcpy(p + n, env, sizeof(env)); n += sizeof(env);
  p[n++] = 0xdb; p[n++] = 0xff; p[n++] = 0xff; p[n++] = 0xff; p[n++] = 0xf0; p[n++] = 'x';
  assert_int_equal(msg_decode(p, n, &f->s, &m, &e), HINT_ETRUNC);
  /* a bin32 value claiming 0xffffffff bytes (params n = 2) */
  f->s.n_student_params = 2;
  raw_t r;
  raw_params(&r, 0);
  size_t at = find(r.data, r.len, "\xa6params\xc4\x08", 9);
  unsigned char big[256];
  memcpy(big, r.data, at + 7);
  size_t k = at + 7;
  big[k++] = 0xc6; big[k++] = 0xff; big[k++] = 0xff; big[k++] = 0xff; big[k++] = 0xff;
  big[k++] = 0; big[k++] = 0;
  int rc = msg_decode(big, k, &f->s, &m, &e);
  if (rc != HINT_ETRUNC) fail_msg("bin32: %s at %s", hint_errname(rc), e.field);
  assert_string_equal(e.field, "params");
  /* a map holding only the envelope */
  big[0] = 0x83;
  memcpy(big + 1, env, sizeof(env));
  assert_int_equal(msg_decode(big, 1 + sizeof(env), &f->s, &m, &e), HINT_EPARSE);
  still_works(f);
}

static void test_random_bytes_and_flips(void **st) {
  mal_t *f = *st;
  hint_rng_t rng;
  hint_rng_seed(&rng, 12345, 0, 0);
  msg_any_t m;
  unsigned char buf[512];
  int accepted = 0;
  for (int i = 0; i < 20000; i++) {
    size_t len = (size_t)(hint_rng_u64(&rng) % sizeof(buf));
    for (size_t j = 0; j < len; j++) buf[j] = (unsigned char)hint_rng_u64(&rng);
    if (msg_decode(buf, len, &f->s, &m, NULL) == 0) accepted++;
  }
  assert_int_equal(accepted, 0);
  /* Bit flips in a good frame: any verdict, never a crash; accepted frames
   * still satisfy the shapes. */
  unsigned char *p = dup_frame(f);
  for (int i = 0; i < 3000; i++) {
    memcpy(p, f->good.data, f->good.len);
    for (int k = 0; k < 3; k++) p[hint_rng_u64(&rng) % f->good.len] ^= (unsigned char)(1u << (hint_rng_u64(&rng) % 8));
    if (msg_decode(p, f->good.len, &f->s, &m, NULL) == 0 && m.type == MSG_SEGMENT)
      assert_int_equal(m.u.segment.obs.n, 5ull * 3 * 3 * 5);
  }
  free(p);
  still_works(f);
}

static void test_buffer_alloc_failure(void **st) {
  (void)st;
  msg_buf_t b;
  hint_alloc_fail_after(0);
  assert_int_equal(msg_buf_init(&b, 100), HINT_ENOMEM);
  hint_alloc_fail_after(-1);
  /* A buffer smaller than the message: refused, not overrun. */
  msg_shapes_t s = shapes();
  seg_data_t d;
  seg_fill(&d, &s, 1, 0);
  assert_int_equal(msg_buf_init(&b, 64), 0);
  msg_error_t e;
  assert_int_equal(msg_encode_segment(&b, &s, &d.seg, &e), HINT_ETOOBIG);
  msg_buf_fini(&b);
  seg_free(&d);
}

static void test_shapes_from_config(void **st) {
  (void)st;
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  cfg.actor.segment_len = 32;
  cfg.actor.envs = 64;
  cfg.actor.count = 3;
  cfg.student.comm = HINT_COMM_MEAN;
  cfg.student.comm_dim = 8;
  env_dims_t d;
  memset(&d, 0, sizeof(d));
  d.n_agents = 3;
  d.obs_dim = 52;
  d.state_dim = 32;
  d.n_actions = 6;
  msg_shapes_t s;
  assert_int_equal(msg_shapes_from_config(&s, &cfg, &d), 0);
  assert_true(s.T == 32 && s.E == 64 && s.n_agents == 3 && s.obs_dim == 52 && s.state_dim == 32 &&
              s.n_actions == 6 && s.comm_dim == 8 && s.n_actors == 3);
  assert_true(s.max_message_bytes == (uint64_t)cfg.transport.max_message_bytes);
  assert_true(s.n_teacher_params == 0 && s.n_student_params == 0); /* the runtime's to fill */
  cfg.student.comm = HINT_COMM_NONE;
  assert_int_equal(msg_shapes_from_config(&s, &cfg, &d), 0);
  assert_int_equal(s.comm_dim, 0);
  d.obs_dim = 0;
  assert_int_equal(msg_shapes_from_config(&s, &cfg, &d), HINT_ERANGE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_segment_roundtrip_full),
      cmocka_unit_test(test_segment_roundtrip_no_optional),
      cmocka_unit_test(test_targets_roundtrip),
      cmocka_unit_test(test_params_roundtrip_empty_and_maximal),
      cmocka_unit_test(test_small_messages_roundtrip),
      cmocka_unit_test(test_msgpack_interop),
      cmocka_unit_test_setup_teardown(test_truncated_everywhere, mal_setup, mal_teardown),
      cmocka_unit_test_setup_teardown(test_wrong_magic_version_type, mal_setup, mal_teardown),
      cmocka_unit_test_setup_teardown(test_shape_disagrees_with_config, mal_setup, mal_teardown),
      cmocka_unit_test_setup_teardown(test_raw_frames, mal_setup, mal_teardown),
      cmocka_unit_test_setup_teardown(test_huge_lengths, mal_setup, mal_teardown),
      cmocka_unit_test_setup_teardown(test_random_bytes_and_flips, mal_setup, mal_teardown),
      cmocka_unit_test(test_buffer_alloc_failure),
      cmocka_unit_test(test_shapes_from_config),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
