/* fuzz_msg.c: libFuzzer target for the protocol decoder (common/wire/msg.c).
 *
 * Any input must be either rejected with an error or accepted as a message
 * that (1) keeps every view inside the input, (2) has exactly the tensor sizes
 * the shapes imply, and (3) re-encodes to a frame that decodes to the same
 * message and re-encodes to the same bytes. Violations abort(), which both
 * libFuzzer and the replay driver (fuzz_msg_replay.c) report as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/error.h"
#include "common/wire/msg.h"
#include "tests/fuzz/fuzz_msg.h"

msg_shapes_t fuzz_msg_shapes(void) {
  msg_shapes_t s = {.T = 4, .E = 3, .n_agents = 3, .obs_dim = 5, .state_dim = 7, .n_actions = 6,
                    .comm_dim = 2, .n_actors = 2, .n_teacher_params = 100, .n_student_params = 50,
                    .max_message_bytes = 1 << 16};
  return s;
}

#define REQUIRE(c)                                                        \
  do {                                                                    \
    if (!(c)) {                                                           \
      fprintf(stderr, "fuzz_msg: invariant failed: %s (line %d)\n", #c, __LINE__); \
      abort();                                                            \
    }                                                                     \
  } while (0)

static int inside(const void *p, uint64_t bytes, const uint8_t *base, size_t len) {
  const uint8_t *q = p;
  return bytes == 0 || (q >= base && q <= base + len && bytes <= (uint64_t)(base + len - q));
}

static void check_views(const msg_any_t *m, const uint8_t *d, size_t n) {
  switch (m->type) {
  case MSG_SEGMENT: {
    const msg_segment_t *g = &m->u.segment;
    const msg_tensor_t *t4[] = {&g->obs, &g->state, &g->actions, &g->logp, &g->rewards, &g->value,
                                &g->trunc_value, &g->trunc_state, &g->goals, &g->goal_logp, &g->comm};
    for (size_t i = 0; i < sizeof(t4) / sizeof(t4[0]); i++) REQUIRE(inside(t4[i]->data, t4[i]->n * 4, d, n));
    const msg_tensor_t *t1[] = {&g->dones, &g->truncated, &g->driver, &g->avail};
    for (size_t i = 0; i < sizeof(t1) / sizeof(t1[0]); i++) REQUIRE(inside(t1[i]->data, t1[i]->n, d, n));
    REQUIRE(g->obs.n == 5ull * 3 * 3 * 5);
    break;
  }
  case MSG_TARGETS:
    REQUIRE(inside(m->u.targets.pi.data, m->u.targets.pi.n * 4, d, n));
    REQUIRE(inside(m->u.targets.mask.data, m->u.targets.mask.n, d, n));
    REQUIRE(m->u.targets.pi.n == 0 || m->u.targets.pi.n == 4ull * 3 * 3 * 6);
    break;
  case MSG_TEACHER_PARAMS:
  case MSG_STUDENT_PARAMS:
    REQUIRE(inside(m->u.params.params.data, m->u.params.params.n * 4, d, n));
    break;
  case MSG_HELLO:
    REQUIRE(inside(m->u.hello.host.data, m->u.hello.host.len, d, n));
    REQUIRE(m->u.hello.host.len <= MSG_STR_MAX);
    break;
  case MSG_BYE:
    REQUIRE(inside(m->u.bye.text.data, m->u.bye.text.len, d, n));
    break;
  default:
    break;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static msg_buf_t b1, b2;
  static int ready;
  msg_shapes_t s = fuzz_msg_shapes();
  if (!ready) {
    if (msg_buf_init(&b1, msg_max_bytes_any(&s)) || msg_buf_init(&b2, msg_max_bytes_any(&s))) abort();
    ready = 1;
  }
  msg_any_t m, m2;
  msg_error_t e;
  int rc = msg_decode(data, size, &s, &m, &e);
  if (rc != 0) {
    REQUIRE(rc < 0 && e.code == rc);
    char line[256];
    msg_error_format(&e, line, sizeof(line));
    return 0;
  }
  check_views(&m, data, size);
  REQUIRE(msg_encode(&b1, &s, &m, &e) == 0 || e.code == HINT_ETOOBIG);
  if (e.code == HINT_ETOOBIG) return 0; /* canonical form may be larger than max_message_bytes */
  REQUIRE(msg_decode(b1.data, b1.len, &s, &m2, &e) == 0);
  REQUIRE(m2.type == m.type);
  REQUIRE(msg_encode(&b2, &s, &m2, &e) == 0);
  REQUIRE(b2.len == b1.len && memcmp(b1.data, b2.data, b1.len) == 0);
  return 0;
}
