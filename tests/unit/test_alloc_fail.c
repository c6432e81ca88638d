/* test_alloc_fail.c: allocation-failure injection for every create path.
 *
 * For each function that allocates (the nn arena, MLP workspace, env vector
 * and wave field, flat and hierarchical teachers and their goal state,
 * replay, filter, message buffers and decode, the ZeroMQ endpoints, student,
 * rollout and update workspace, evaluator, config loader, checkpoint read),
 * sweep() makes allocation n fail (and every one after it) for n = 0, 1, 2,
 * ... until the call succeeds. Every failing call must return HINT_ENOMEM,
 * leave its out-pointer NULL, and leave hint_alloc_live() where it was (no
 * leak on the error path); the successful one must be undone by its destroy
 * function back to the same count. Under the asan test setup LeakSanitizer
 * also sees the memory the allocator hook does not (libyaml, ZeroMQ).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "actor/evaluate.h"
#include "actor/rollout.h"
#include "actor/student.h"
#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/ckpt.h"
#include "common/core/error.h"
#include "common/core/log.h"
#include "common/env/env.h"
#include "common/env/waves.h"
#include "common/nn/mlp.h"
#include "common/nn/params.h"
#include "common/wire/msg.h"
#include "common/wire/wire.h"
#include "learner/filter.h"
#include "learner/replay.h"
#include "teacher/teacher.h"
#include "tests/unit/test_util.h"

/* One create path: op() creates into ctx and returns its code; undo()
 * destroys what a successful op() made. out (if non-NULL) is the
 * out-pointer op() fills, which must stay NULL on failure. */
typedef struct {
  const char *name;
  int (*op)(void *ctx);
  void (*undo)(void *ctx);
  void *ctx;
  void **out;
  char *err; /* the call's message buffer (cap >= 2), or NULL if it has none */
} path_t;

/* Returns the number of allocations the successful call made. */
static long sweep(const path_t *p) {
  const long base = hint_alloc_live();
  for (long n = 0;; n++) {
    if (p->out)
      *p->out = NULL;
    if (p->err)
      strcpy(p->err, "\x01"); /* must be replaced by a message on failure */
    hint_alloc_fail_after(n);
    int rc = p->op(p->ctx);
    hint_alloc_fail_after(-1);
    long live = hint_alloc_live();
    if (rc == HINT_OK) {
      p->undo(p->ctx);
      if (hint_alloc_live() != base) {
        print_error("%s: destroy after success leaves %ld allocations\n", p->name,
                    hint_alloc_live() - base);
        fail();
      }
      print_message("%-28s %3ld allocations, each failure -> HINT_ENOMEM, no leak\n", p->name, n);
      return n;
    }
    if (rc != HINT_ENOMEM) {
      print_error("%s: allocation %ld failed: got %d (%s), want HINT_ENOMEM\n", p->name, n + 1, rc,
                  hint_strerror(rc));
      fail();
    }
    if (live != base) {
      print_error("%s: allocation %ld failed: %ld allocations leaked\n", p->name, n + 1, live - base);
      fail();
    }
    if (p->err && (p->err[0] == '\x01' || p->err[0] == '\0')) {
      print_error("%s: allocation %ld failed but the message buffer was not written\n", p->name, n + 1);
      fail();
    }
    if (p->out && *p->out != NULL) {
      print_error("%s: allocation %ld failed but the out-pointer is set\n", p->name, n + 1);
      fail();
    }
    if (n > 100000) {
      print_error("%s: still failing after %ld allocations\n", p->name, n);
      fail();
    }
  }
}

/* ---- configs ------------------------------------------------------------- */

static void load_cfg(hint_config_t *cfg, const char *file, const char *const *ov, int n_ov) {
  char path[1024];
  const char *root = getenv("HINT_SOURCE_ROOT");
  snprintf(path, sizeof path, "%s/configs/%s", root ? root : ".", file);
  hint_config_error_t err;
  int rc = hint_config_load(cfg, path, ov, n_ov, &err);
  if (rc != HINT_OK)
    print_error("%s\n", err.msg);
  assert_int_equal(rc, HINT_OK);
}

/* Small sizes keep each sweep (one create per allocation) fast. */
static const char *const small[] = {"actor.envs=4", "actor.segment_len=8", "eval.episodes=6",
                                    "env.eval_episodes=6", "teacher.replay_segments=3",
                                    "teacher.hidden=32", "student.hidden=32"};
#define N_SMALL ((int)(sizeof small / sizeof small[0]))

static void fc_cfg(hint_config_t *cfg, const char *extra) {
  const char *ov[N_SMALL + 1];
  memcpy(ov, small, sizeof small);
  ov[N_SMALL] = extra;
  load_cfg(cfg, "fire_commander_5x5.yaml", ov, N_SMALL + (extra != NULL));
}

/* ---- nn ------------------------------------------------------------------ */

typedef struct {
  nn_params_t p;
  nn_mlp_t m;
  nn_mlp_ws_t ws;
  nn_mlp_desc_t d;
} nn_ctx_t;

static int nn_params_op(void *c) {
  nn_ctx_t *x = c;
  return nn_params_init(&x->p, 1000);
}
static void nn_params_undo(void *c) { nn_params_fini(&((nn_ctx_t *)c)->p); }

static int nn_ws_op(void *c) {
  nn_ctx_t *x = c;
  return nn_mlp_ws_init(&x->ws, &x->m, 17);
}
static void nn_ws_undo(void *c) { nn_mlp_ws_fini(&((nn_ctx_t *)c)->ws); }

static void test_nn(void **state) {
  (void)state;
  nn_ctx_t x;
  memset(&x, 0, sizeof x);
  sweep(&(path_t){"nn_params_init", nn_params_op, nn_params_undo, &x, NULL, NULL});
  x.d = (nn_mlp_desc_t){.in_dim = 7, .out_dim = 3, .n_hidden = 2, .hidden = {16, 8}, .act = 0};
  assert_int_equal(nn_params_init(&x.p, nn_mlp_param_count(&x.d)), 0);
  assert_int_equal(nn_mlp_init(&x.m, &x.d, &x.p), 0);
  sweep(&(path_t){"nn_mlp_ws_init", nn_ws_op, nn_ws_undo, &x, NULL, NULL});
  nn_params_fini(&x.p);
}

/* ---- env ----------------------------------------------------------------- */

typedef struct {
  hint_config_t cfg;
  env_vec_t *v;
  waves_t *w;
  char err[256];
} env_ctx_t;

static int env_vec_op(void *c) {
  env_ctx_t *x = c;
  return env_vec_create(&x->v, &x->cfg, 5, 1, 42, x->err, sizeof x->err);
}
static void env_vec_undo(void *c) { env_vec_destroy(&((env_ctx_t *)c)->v); }
static int waves_op(void *c) {
  env_ctx_t *x = c;
  return waves_create(&x->w, &x->cfg, x->err, sizeof x->err);
}
static void waves_undo(void *c) { waves_destroy(&((env_ctx_t *)c)->w); }

static void test_env(void **state) {
  (void)state;
  env_ctx_t x;
  memset(&x, 0, sizeof x);
  fc_cfg(&x.cfg, NULL);
  sweep(&(path_t){"env_vec_create (fc)", env_vec_op, env_vec_undo, &x, (void **)&x.v, x.err});
  load_cfg(&x.cfg, "marine_5x5.yaml", NULL, 0);
  sweep(&(path_t){"waves_create", waves_op, waves_undo, &x, (void **)&x.w, x.err});
  sweep(&(path_t){"env_vec_create (marine)", env_vec_op, env_vec_undo, &x, (void **)&x.v, x.err});
}

/* ---- teacher ------------------------------------------------------------- */

typedef struct {
  hint_config_t cfg;
  teacher_t *t;
  teacher_goals_t *g;
  char err[256];
} teacher_ctx_t;

static int teacher_op(void *c) {
  teacher_ctx_t *x = c;
  return teacher_create(&x->t, &x->cfg, 8, 3, x->err, sizeof x->err);
}
static void teacher_undo(void *c) { teacher_destroy(&((teacher_ctx_t *)c)->t); }
static int goals_op(void *c) {
  teacher_ctx_t *x = c;
  return teacher_goals_create(&x->g, x->t, 4);
}
static void goals_undo(void *c) { teacher_goals_destroy(&((teacher_ctx_t *)c)->g); }

static void test_teacher(void **state) {
  (void)state;
  teacher_ctx_t x;
  memset(&x, 0, sizeof x);
  fc_cfg(&x.cfg, "teacher.hierarchical=false");
  sweep(&(path_t){"teacher_create (flat)", teacher_op, teacher_undo, &x, (void **)&x.t, x.err});
  fc_cfg(&x.cfg, "teacher.goal_set=cells");
  sweep(&(path_t){"teacher_create (cells)", teacher_op, teacher_undo, &x, (void **)&x.t, x.err});
  fc_cfg(&x.cfg, "teacher.goal_set=targets");
  sweep(&(path_t){"teacher_create (targets)", teacher_op, teacher_undo, &x, (void **)&x.t, x.err});
  assert_int_equal(teacher_op(&x), 0);
  assert_true(teacher_hierarchical(x.t));
  sweep(&(path_t){"teacher_goals_create", goals_op, goals_undo, &x, (void **)&x.g, NULL});
  teacher_destroy(&x.t);
}

/* ---- learner: replay, filter --------------------------------------------- */

typedef struct {
  hint_config_t cfg;
  env_dims_t dims;
  msg_shapes_t shapes;
  replay_t r;
  filter_t *f;
} learner_ctx_t;

static int replay_op(void *c) {
  learner_ctx_t *x = c;
  return replay_init(&x->r, 3, &x->shapes);
}
static void replay_undo(void *c) { replay_fini(&((learner_ctx_t *)c)->r); }
static int filter_op(void *c) {
  learner_ctx_t *x = c;
  return filter_create(&x->f, &x->cfg, &x->dims);
}
static void filter_undo(void *c) { filter_destroy(&((learner_ctx_t *)c)->f); }

static void test_learner_parts(void **state) {
  (void)state;
  learner_ctx_t x;
  memset(&x, 0, sizeof x);
  fc_cfg(&x.cfg, NULL);
  char err[256];
  assert_int_equal(env_dims(&x.cfg, &x.dims, err, sizeof err), 0);
  assert_int_equal(msg_shapes_from_config(&x.shapes, &x.cfg, &x.dims), 0);
  x.shapes.n_actors = 2;
  x.shapes.n_teacher_params = 100;
  x.shapes.n_student_params = 100;
  sweep(&(path_t){"replay_init", replay_op, replay_undo, &x, NULL, NULL});
  sweep(&(path_t){"filter_create", filter_op, filter_undo, &x, (void **)&x.f, NULL});
}

/* ---- actor: student, rollout, update workspace, evaluator ----------------- */

typedef struct {
  hint_config_t cfg;
  env_dims_t dims;
  student_t *s;
  rollout_t r;
  update_ws_t w;
  evaluator_t *e;
  teacher_t *t;
} actor_ctx_t;

static int student_op(void *c) {
  actor_ctx_t *x = c;
  return student_create(&x->s, &x->cfg, &x->dims, 32, 5);
}
static void student_undo(void *c) { student_destroy(&((actor_ctx_t *)c)->s); }
static int rollout_op(void *c) {
  actor_ctx_t *x = c;
  return rollout_init(&x->r, &x->cfg, &x->dims, student_value_width(x->s), student_comm_dim(x->s));
}
static void rollout_undo(void *c) { rollout_fini(&((actor_ctx_t *)c)->r); }
static int update_ws_op(void *c) {
  actor_ctx_t *x = c;
  return update_ws_init(&x->w, &x->r);
}
static void update_ws_undo(void *c) { update_ws_fini(&((actor_ctx_t *)c)->w); }
static int evaluator_op(void *c) {
  actor_ctx_t *x = c;
  return evaluator_create(&x->e, &x->cfg, x->t);
}
static void evaluator_undo(void *c) { evaluator_destroy(&((actor_ctx_t *)c)->e); }

static void test_actor_parts(void **state) {
  (void)state;
  actor_ctx_t x;
  memset(&x, 0, sizeof x);
  fc_cfg(&x.cfg, NULL);
  char err[256];
  assert_int_equal(env_dims(&x.cfg, &x.dims, err, sizeof err), 0);
  sweep(&(path_t){"student_create", student_op, student_undo, &x, (void **)&x.s, NULL});
  assert_int_equal(student_op(&x), 0);
  sweep(&(path_t){"rollout_init", rollout_op, rollout_undo, &x, NULL, NULL});
  assert_int_equal(rollout_op(&x), 0);
  sweep(&(path_t){"update_ws_init", update_ws_op, update_ws_undo, &x, NULL, NULL});
  rollout_fini(&x.r);
  student_destroy(&x.s);
  sweep(&(path_t){"evaluator_create", evaluator_op, evaluator_undo, &x, (void **)&x.e, NULL});
  assert_int_equal(teacher_create(&x.t, &x.cfg, 8, 3, err, sizeof err), 0);
  sweep(&(path_t){"evaluator_create (teacher)", evaluator_op, evaluator_undo, &x, (void **)&x.e, NULL});
  teacher_destroy(&x.t);
}

/* ---- wire: message buffer, decode, endpoints ------------------------------ */

typedef struct {
  msg_shapes_t s;
  msg_buf_t b;
  const uint8_t *frame;
  size_t len;
  wire_opts_t o;
  wire_learner_t *l;
  wire_actor_t *a;
  wire_keypair_t keys;
} wire_ctx_t;

static int buf_op(void *c) {
  wire_ctx_t *x = c;
  return msg_buf_init(&x->b, msg_max_bytes_any(&x->s));
}
static void buf_undo(void *c) { msg_buf_fini(&((wire_ctx_t *)c)->b); }
static int decode_op(void *c) {
  wire_ctx_t *x = c;
  msg_any_t m;
  msg_error_t e;
  return msg_decode(x->frame, x->len, &x->s, &m, &e);
}
static void nothing(void *c) { (void)c; }
static int learner_op(void *c) {
  wire_ctx_t *x = c;
  return wire_learner_create(&x->l, &x->o, &x->s, x->o.curve ? &x->keys : NULL, 0x77);
}
static void learner_undo(void *c) { wire_learner_destroy(&((wire_ctx_t *)c)->l); }
static int actor_op(void *c) {
  wire_ctx_t *x = c;
  return wire_actor_create(&x->a, &x->o, &x->s, 1, wire_learner_router_endpoint(x->l),
                           wire_learner_pub_endpoint(x->l), NULL, NULL);
}
static void actor_undo(void *c) { wire_actor_destroy(&((wire_ctx_t *)c)->a); }

static void test_wire(void **state) {
  (void)state;
  wire_ctx_t x;
  memset(&x, 0, sizeof x);
  x.s = (msg_shapes_t){.T = 4, .E = 2, .n_agents = 3, .obs_dim = 5, .state_dim = 7, .n_actions = 6,
                       .comm_dim = 0, .n_actors = 2, .n_teacher_params = 64,
                       .n_student_params = 32, .max_message_bytes = 1 << 20};
  sweep(&(path_t){"msg_buf_init", buf_op, buf_undo, &x, NULL, NULL});
  assert_int_equal(buf_op(&x), 0);
  msg_any_t m;
  memset(&m, 0, sizeof m);
  m.type = MSG_HELLO;
  m.u.hello = (msg_hello_t){.rank = 1, .config_hash = 0x77, .pid = 1};
  m.u.hello.build_id = msg_str("t");
  m.u.hello.host = msg_str("h");
  assert_int_equal(msg_encode(&x.b, &x.s, &m, NULL), 0);
  x.frame = x.b.data;
  x.len = x.b.len;
  assert_int_equal(sweep(&(path_t){"msg_decode", decode_op, nothing, &x, NULL, NULL}), 0);
  msg_buf_fini(&x.b);
  x.o = (wire_opts_t){.bind = HINT_BIND_LOOPBACK, .port = 0, .curve = 0, .hwm = 16, .linger_ms = 0,
                      .max_inflight = 2, .n_actors = 2, .max_message_bytes = 1 << 20};
  sweep(&(path_t){"wire_learner_create", learner_op, learner_undo, &x, (void **)&x.l, NULL});
  assert_int_equal(learner_op(&x), 0);
  sweep(&(path_t){"wire_actor_create", actor_op, actor_undo, &x, (void **)&x.a, NULL});
  wire_learner_destroy(&x.l);
  /* CURVE adds the ZAP handler thread and its arguments. */
  assert_int_equal(wire_keypair_new(&x.keys), 0);
  x.o.curve = 1;
  sweep(&(path_t){"wire_learner_create (curve)", learner_op, learner_undo, &x, (void **)&x.l, NULL});
}

/* ---- config loader, checkpoint read ---------------------------------------- */

typedef struct {
  hint_config_t cfg;
  char path[256];
  hint_ckpt_t ck;
} file_ctx_t;

static int config_op(void *c) {
  file_ctx_t *x = c;
  hint_config_error_t err;
  return hint_config_load(&x->cfg, x->path, NULL, 0, &err);
}
static int ckpt_op(void *c) {
  file_ctx_t *x = c;
  char err[256];
  return hint_ckpt_read(x->path, 0, &x->ck, err, sizeof err);
}
static void ckpt_undo(void *c) { hint_ckpt_free(&((file_ctx_t *)c)->ck); }

static void test_files(void **state) {
  (void)state;
  file_ctx_t x;
  memset(&x, 0, sizeof x);
  const char *root = getenv("HINT_SOURCE_ROOT");
  snprintf(x.path, sizeof x.path, "%s/configs/marine_5x5.yaml", root ? root : ".");
  sweep(&(path_t){"hint_config_load", config_op, nothing, &x, NULL, NULL});
  snprintf(x.path, sizeof x.path, "/tmp/hint_alloc_fail_%d.ckpt", (int)getpid());
  static float w[1000];
  hint_ckpt_section_t sec[2] = {{"params", w, sizeof w}, {"other", w, 12}};
  char err[256];
  assert_int_equal(hint_ckpt_write(x.path, 9, sec, 2, err, sizeof err), 0);
  sweep(&(path_t){"hint_ckpt_read", ckpt_op, ckpt_undo, &x, NULL, NULL});
  unlink(x.path);
}

int main(void) {
  hint_log_init("test", 0, HINT_LOG_ERROR); /* the expected failures log at error level */
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nn),           cmocka_unit_test(test_env),
      cmocka_unit_test(test_teacher),      cmocka_unit_test(test_learner_parts),
      cmocka_unit_test(test_actor_parts),  cmocka_unit_test(test_wire),
      cmocka_unit_test(test_files),
  };
  return cmocka_run_group_tests_name("alloc_fail", tests, NULL, NULL);
}
