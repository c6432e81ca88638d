/* msg.c: encoding and validation of the protocol in msg.h.
 *
 * One table per message type lists its fields (key, kind, where it lives in
 * the view, shape). The encoder, the decoder and the size bound all walk the
 * same table, and one function (validate) checks a filled view against the
 * shapes for both directions, so what an encoder accepts is exactly what a
 * decoder accepts.
 *
 * Encoding uses msgpack-c's packer writing into a fixed-capacity msg_buf_t
 * (tensors go in with one msgpack_pack_bin_body, i.e. one memcpy). Decoding
 * does NOT use msgpack-c's unpacker: it sizes its zone from counts the peer
 * controls and copies nothing we can bound. Instead a strict cursor reads the
 * subset of msgpack we emit, checks every length against the bytes left before
 * touching them, and allocates nothing; tensors stay in the frame.
 */
#include "common/wire/msg.h"

#include <msgpack.h>
#include <stdio.h>

#include "common/core/alloc.h"
#include "common/core/error.h"

/* ---- the tables -------------------------------------------------------- */

typedef enum { K_U32, K_U64, K_I32, K_I64, K_F64, K_STR, K_F32T, K_I32T, K_U8T } kind_t;
/* Dimension codes for tensor shapes and scalar echoes. */
enum { D_END = 0, D_T, D_T1, D_E, D_A, D_O, D_S, D_NA, D_C, D_PT, D_PS };
enum {
  F_OPT = 1,    /* tensor: empty or full */
  F_ECHO = 2,   /* scalar: must equal shapes' dims[0] */
  F_ACTOR = 4,  /* u32: an actor rank, 1..n_actors */
  F_RANK = 8,   /* u32: any rank, 0..n_actors */
};

typedef struct {
  const char *key;
  uint8_t kind;
  uint8_t flags;
  uint16_t off;
  uint8_t dims[4];
} field_t;

#define MAX_FIELDS 32 /* seen-set is a uint32_t bit mask */

#define FS(T, k, kind, flags, member, ...) \
  {k, kind, flags, (uint16_t)offsetof(T, member), {__VA_ARGS__}}

static const field_t hello_fields[] = {
    FS(msg_hello_t, "rank", K_U32, F_RANK, rank, 0),
    FS(msg_hello_t, "config_hash", K_U64, 0, config_hash, 0),
    FS(msg_hello_t, "pid", K_U32, 0, pid, 0),
    FS(msg_hello_t, "build_id", K_STR, 0, build_id, 0),
    FS(msg_hello_t, "host", K_STR, 0, host, 0),
};

static const field_t segment_fields[] = {
    FS(msg_segment_t, "actor_rank", K_U32, F_ACTOR, actor_rank, 0),
    FS(msg_segment_t, "seq", K_U64, 0, seq, 0),
    FS(msg_segment_t, "policy_version", K_U64, 0, policy_version, 0),
    FS(msg_segment_t, "teacher_version", K_U64, 0, teacher_version, 0),
    FS(msg_segment_t, "env_steps", K_U64, 0, env_steps, 0),
    FS(msg_segment_t, "T", K_U32, F_ECHO, T, D_T),
    FS(msg_segment_t, "E", K_U32, F_ECHO, E, D_E),
    FS(msg_segment_t, "A", K_U32, F_ECHO, n_agents, D_A),
    FS(msg_segment_t, "O", K_U32, F_ECHO, obs_dim, D_O),
    FS(msg_segment_t, "S", K_U32, F_ECHO, state_dim, D_S),
    FS(msg_segment_t, "NA", K_U32, F_ECHO, n_actions, D_NA),
    FS(msg_segment_t, "C", K_U32, F_ECHO, comm_dim, D_C),
    FS(msg_segment_t, "obs", K_F32T, 0, obs, D_T1, D_E, D_A, D_O),
    FS(msg_segment_t, "state", K_F32T, 0, state, D_T1, D_E, D_S),
    FS(msg_segment_t, "actions", K_I32T, 0, actions, D_T, D_E, D_A),
    FS(msg_segment_t, "logp", K_F32T, 0, logp, D_T, D_E, D_A),
    FS(msg_segment_t, "rewards", K_F32T, 0, rewards, D_T, D_E),
    FS(msg_segment_t, "dones", K_U8T, 0, dones, D_T, D_E),
    FS(msg_segment_t, "truncated", K_U8T, 0, truncated, D_T, D_E),
    FS(msg_segment_t, "value", K_F32T, 0, value, D_T1, D_E),
    FS(msg_segment_t, "trunc_value", K_F32T, 0, trunc_value, D_T, D_E),
    FS(msg_segment_t, "trunc_state", K_F32T, F_OPT, trunc_state, D_T, D_E, D_S),
    FS(msg_segment_t, "driver", K_U8T, 0, driver, D_T, D_E),
    FS(msg_segment_t, "goals", K_I32T, F_OPT, goals, D_T, D_E, D_A),
    FS(msg_segment_t, "goal_logp", K_F32T, F_OPT, goal_logp, D_T, D_E, D_A),
    FS(msg_segment_t, "avail", K_U8T, F_OPT, avail, D_T1, D_E, D_A, D_NA),
    FS(msg_segment_t, "comm", K_F32T, F_OPT, comm, D_T, D_E, D_A, D_C),
};

static const field_t targets_fields[] = {
    FS(msg_targets_t, "actor_rank", K_U32, F_ACTOR, actor_rank, 0),
    FS(msg_targets_t, "seq", K_U64, 0, seq, 0),
    FS(msg_targets_t, "teacher_version", K_U64, 0, teacher_version, 0),
    FS(msg_targets_t, "T", K_U32, F_ECHO, T, D_T),
    FS(msg_targets_t, "E", K_U32, F_ECHO, E, D_E),
    FS(msg_targets_t, "A", K_U32, F_ECHO, n_agents, D_A),
    FS(msg_targets_t, "NA", K_U32, F_ECHO, n_actions, D_NA),
    FS(msg_targets_t, "pi", K_F32T, F_OPT, pi, D_T, D_E, D_A, D_NA),
    FS(msg_targets_t, "value", K_F32T, F_OPT, value, D_T, D_E),
    FS(msg_targets_t, "mask", K_U8T, F_OPT, mask, D_T, D_E, D_A),
};

static const field_t tparams_fields[] = {
    FS(msg_params_t, "sender_rank", K_U32, F_RANK, sender_rank, 0),
    FS(msg_params_t, "version", K_U64, 0, version, 0),
    FS(msg_params_t, "env_steps", K_U64, 0, env_steps, 0),
    FS(msg_params_t, "n", K_U64, F_ECHO, n, D_PT),
    FS(msg_params_t, "params", K_F32T, 0, params, D_PT),
};

static const field_t sparams_fields[] = {
    FS(msg_params_t, "sender_rank", K_U32, F_RANK, sender_rank, 0),
    FS(msg_params_t, "version", K_U64, 0, version, 0),
    FS(msg_params_t, "env_steps", K_U64, 0, env_steps, 0),
    FS(msg_params_t, "n", K_U64, F_ECHO, n, D_PS),
    FS(msg_params_t, "params", K_F32T, 0, params, D_PS),
};

static const field_t stats_fields[] = {
    FS(msg_stats_t, "actor_rank", K_U32, F_ACTOR, actor_rank, 0),
    FS(msg_stats_t, "policy_version", K_U64, 0, policy_version, 0),
    FS(msg_stats_t, "env_steps", K_U64, 0, env_steps, 0),
    FS(msg_stats_t, "episodes", K_U32, 0, episodes, 0),
    FS(msg_stats_t, "successes", K_U32, 0, successes, 0),
    FS(msg_stats_t, "return_sum", K_F64, 0, return_sum, 0),
    FS(msg_stats_t, "length_sum", K_F64, 0, length_sum, 0),
    FS(msg_stats_t, "interval_s", K_F64, 0, interval_s, 0),
    FS(msg_stats_t, "t_env", K_F64, 0, t_env, 0),
    FS(msg_stats_t, "t_infer", K_F64, 0, t_infer, 0),
    FS(msg_stats_t, "t_update", K_F64, 0, t_update, 0),
    FS(msg_stats_t, "t_allreduce", K_F64, 0, t_allreduce, 0),
    FS(msg_stats_t, "t_wait", K_F64, 0, t_wait, 0),
    FS(msg_stats_t, "pg_loss", K_F64, 0, pg_loss, 0),
    FS(msg_stats_t, "value_loss", K_F64, 0, value_loss, 0),
    FS(msg_stats_t, "entropy", K_F64, 0, entropy, 0),
    FS(msg_stats_t, "kd_loss", K_F64, 0, kd_loss, 0),
    FS(msg_stats_t, "kd_weight", K_F64, 0, kd_weight, 0),
    FS(msg_stats_t, "kd_kept", K_F64, 0, kd_kept, 0),
    FS(msg_stats_t, "grad_norm", K_F64, 0, grad_norm, 0),
    FS(msg_stats_t, "teacher_episodes", K_U32, 0, teacher_episodes, 0),
    FS(msg_stats_t, "teacher_successes", K_U32, 0, teacher_successes, 0),
    FS(msg_stats_t, "ckpt_done", K_U64, 0, ckpt_done, 0),
};

static const field_t eval_fields[] = {
    FS(msg_eval_t, "actor_rank", K_U32, F_ACTOR, actor_rank, 0),
    FS(msg_eval_t, "eval_id", K_U64, 0, eval_id, 0),
    FS(msg_eval_t, "env_steps", K_U64, 0, env_steps, 0),
    FS(msg_eval_t, "policy_version", K_U64, 0, policy_version, 0),
    FS(msg_eval_t, "teacher_version", K_U64, 0, teacher_version, 0),
    FS(msg_eval_t, "episodes", K_U32, 0, episodes, 0),
    FS(msg_eval_t, "sampled_success", K_F64, 0, sampled_success, 0),
    FS(msg_eval_t, "sampled_return", K_F64, 0, sampled_return, 0),
    FS(msg_eval_t, "sampled_length", K_F64, 0, sampled_length, 0),
    FS(msg_eval_t, "greedy_success", K_F64, 0, greedy_success, 0),
    FS(msg_eval_t, "greedy_return", K_F64, 0, greedy_return, 0),
    FS(msg_eval_t, "greedy_length", K_F64, 0, greedy_length, 0),
    FS(msg_eval_t, "teacher_success", K_F64, 0, teacher_success, 0),
    FS(msg_eval_t, "teacher_return", K_F64, 0, teacher_return, 0),
    FS(msg_eval_t, "teacher_length", K_F64, 0, teacher_length, 0),
    FS(msg_eval_t, "reference_success", K_F64, 0, reference_success, 0),
    FS(msg_eval_t, "reference_return", K_F64, 0, reference_return, 0),
    FS(msg_eval_t, "reference_length", K_F64, 0, reference_length, 0),
};

static const field_t control_fields[] = {
    FS(msg_control_t, "cmd", K_U32, 0, cmd, 0),
    FS(msg_control_t, "rank", K_U32, F_RANK, rank, 0),
    FS(msg_control_t, "seq", K_U64, 0, seq, 0),
    FS(msg_control_t, "arg", K_I64, 0, arg, 0),
};

static const field_t bye_fields[] = {
    FS(msg_bye_t, "rank", K_U32, F_RANK, rank, 0),
    FS(msg_bye_t, "reason", K_I32, 0, reason, 0),
    FS(msg_bye_t, "text", K_STR, 0, text, 0),
};

typedef struct {
  const char *name;
  const field_t *fields;
  int n;
} table_t;

#define TBL(name, f) {name, f, (int)(sizeof(f) / sizeof(f[0]))}
static const table_t tables[MSG_TYPE_MAX + 1] = {
    [0] = {"unknown", NULL, 0},
    [MSG_HELLO] = TBL("hello", hello_fields),
    [MSG_SEGMENT] = TBL("segment", segment_fields),
    [MSG_TARGETS] = TBL("targets", targets_fields),
    [MSG_TEACHER_PARAMS] = TBL("teacher_params", tparams_fields),
    [MSG_STUDENT_PARAMS] = TBL("student_params", sparams_fields),
    [MSG_STATS] = TBL("stats", stats_fields),
    [MSG_CONTROL] = TBL("control", control_fields),
    [MSG_BYE] = TBL("bye", bye_fields),
    [MSG_EVAL] = TBL("eval", eval_fields),
};

_Static_assert(sizeof(segment_fields) / sizeof(field_t) <= MAX_FIELDS, "seen mask");
_Static_assert(sizeof(stats_fields) / sizeof(field_t) <= MAX_FIELDS, "seen mask");
_Static_assert(sizeof(eval_fields) / sizeof(field_t) <= MAX_FIELDS, "seen mask");

const char *msg_type_name(int type) {
  return (type >= MSG_TYPE_MIN && type <= MSG_TYPE_MAX) ? tables[type].name : "unknown";
}

/* ---- shapes -------------------------------------------------------------- */

int msg_shapes_from_config(msg_shapes_t *s, const hint_config_t *cfg,
                           const env_dims_t *dims) {
  memset(s, 0, sizeof(*s));
  if (cfg->actor.segment_len <= 0 || cfg->actor.envs <= 0 || dims->n_agents <= 0 ||
      dims->obs_dim <= 0 || dims->state_dim <= 0 || dims->n_actions <= 0 ||
      cfg->actor.count < 0 || cfg->transport.max_message_bytes <= 0)
    return HINT_ERANGE;
  s->T = (uint32_t)cfg->actor.segment_len;
  s->E = (uint32_t)cfg->actor.envs;
  s->n_agents = (uint32_t)dims->n_agents;
  s->obs_dim = (uint32_t)dims->obs_dim;
  s->state_dim = (uint32_t)dims->state_dim;
  s->n_actions = (uint32_t)dims->n_actions;
  s->comm_dim = cfg->student.comm == HINT_COMM_NONE ? 0u : (uint32_t)cfg->student.comm_dim;
  s->n_actors = (uint32_t)cfg->actor.count;
  s->max_message_bytes = (uint64_t)cfg->transport.max_message_bytes;
  return 0;
}

static uint64_t dim_value(const msg_shapes_t *s, int d) {
  switch (d) {
  case D_T: return s->T;
  case D_T1: return (uint64_t)s->T + 1;
  case D_E: return s->E;
  case D_A: return s->n_agents;
  case D_O: return s->obs_dim;
  case D_S: return s->state_dim;
  case D_NA: return s->n_actions;
  case D_C: return s->comm_dim;
  case D_PT: return s->n_teacher_params;
  case D_PS: return s->n_student_params;
  default: return 1;
  }
}

/* Elements the config implies for a tensor; UINT64_MAX on overflow (which
 * then matches no real length). */
static uint64_t tensor_elems(const msg_shapes_t *s, const field_t *f) {
  uint64_t n = 1;
  for (int i = 0; i < 4 && f->dims[i] != D_END; i++) {
    uint64_t d = dim_value(s, f->dims[i]);
    if (d != 0 && n > UINT64_MAX / d) return UINT64_MAX;
    n *= d;
  }
  return n;
}

static size_t elem_size(int kind) { return kind == K_U8T ? 1 : 4; }
static int is_tensor(int kind) { return kind == K_F32T || kind == K_I32T || kind == K_U8T; }

/* ---- errors -------------------------------------------------------------- */

static int fail(msg_error_t *err, int code, int type, const char *field,
                const char *what, uint64_t expected, uint64_t got, size_t offset) {
  if (err) {
    err->code = code;
    err->type = type;
    snprintf(err->field, sizeof(err->field), "%s", field);
    snprintf(err->what, sizeof(err->what), "%s", what);
    err->expected = expected;
    err->got = got;
    err->offset = offset;
  }
  return code;
}

const char *msg_error_format(const msg_error_t *e, char *buf, size_t cap) {
  snprintf(buf, cap, "%s.%s: expected %s %llu, got %llu at byte %zu (%s)",
           msg_type_name(e->type), e->field, e->what, (unsigned long long)e->expected,
           (unsigned long long)e->got, e->offset, hint_strerror(e->code));
  return buf;
}

/* ---- validation shared by encoder and decoder ----------------------------- */

/* Checks a filled view. On failure returns the code and sets *bad to the
 * offending field's index (or -1 for whole-message rules). */
static int validate(const table_t *t, int type, const void *view,
                    const msg_shapes_t *s, msg_error_t *err, int *bad) {
  const unsigned char *base = view;
  for (int i = 0; i < t->n; i++) {
    const field_t *f = &t->fields[i];
    const void *p = base + f->off;
    *bad = i;
    if (is_tensor(f->kind)) {
      msg_tensor_t v;
      memcpy(&v, p, sizeof(v));
      uint64_t want = tensor_elems(s, f);
      if (v.n == want) continue;
      if ((f->flags & F_OPT) && v.n == 0) continue;
      return fail(err, HINT_ESHAPE, type, f->key, "elements", want, v.n, 0);
    }
    if (f->kind == K_STR) {
      msg_str_t v;
      memcpy(&v, p, sizeof(v));
      if (v.len > MSG_STR_MAX)
        return fail(err, HINT_ETOOBIG, type, f->key, "at most bytes", MSG_STR_MAX, v.len, 0);
      continue;
    }
    if (f->kind == K_U32) {
      uint32_t v;
      memcpy(&v, p, sizeof(v));
      if (f->flags & F_ECHO) {
        uint64_t want = dim_value(s, f->dims[0]);
        if (v != want) return fail(err, HINT_ESHAPE, type, f->key, "value", want, v, 0);
      }
      if ((f->flags & F_ACTOR) && s->n_actors && (v < 1 || v > s->n_actors))
        return fail(err, HINT_ERANGE, type, f->key, "rank <=", s->n_actors, v, 0);
      if ((f->flags & F_RANK) && s->n_actors && v > s->n_actors)
        return fail(err, HINT_ERANGE, type, f->key, "rank <=", s->n_actors, v, 0);
    } else if (f->kind == K_U64 && (f->flags & F_ECHO)) {
      uint64_t v;
      memcpy(&v, p, sizeof(v));
      uint64_t want = dim_value(s, f->dims[0]);
      if (v != want) return fail(err, HINT_ESHAPE, type, f->key, "value", want, v, 0);
    }
  }
  *bad = -1;
  if (type == MSG_TARGETS) {
    /* Guidance is all or nothing: a partial reply would mask without values. */
    const msg_targets_t *m = view;
    int empty = (m->pi.n == 0) + (m->value.n == 0) + (m->mask.n == 0);
    if (empty != 0 && empty != 3)
      return fail(err, HINT_ESHAPE, type, "pi/value/mask", "empty tensors (all or none)", 3,
                  (uint64_t)empty, 0);
  } else if (type == MSG_CONTROL) {
    const msg_control_t *m = view;
    if (m->cmd < MSG_CTRL_STOP || m->cmd > MSG_CTRL_SYNC)
      return fail(err, HINT_ERANGE, type, "cmd", "command <=", MSG_CTRL_SYNC, m->cmd, 0);
  }
  return 0;
}

/* ---- encoding ------------------------------------------------------------ */

int msg_buf_init(msg_buf_t *buf, size_t cap) {
  buf->len = 0;
  buf->cap = cap;
  buf->data = hint_malloc(cap ? cap : 1);
  return buf->data ? 0 : HINT_ENOMEM;
}

void msg_buf_fini(msg_buf_t *buf) {
  if (!buf) return;
  hint_free(buf->data);
  buf->data = NULL;
  buf->cap = buf->len = 0;
}

static int buf_write(void *data, const char *p, size_t n) {
  msg_buf_t *b = data;
  if (n > b->cap - b->len) return -1;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static size_t table_max_bytes(const table_t *t, const msg_shapes_t *s) {
  size_t total = 1 + 4 + (6 + 5) + (2 + 5) + (5 + 2); /* map32 + envelope */
  for (int i = 0; i < t->n; i++) {
    const field_t *f = &t->fields[i];
    total += 1 + strlen(f->key);
    if (is_tensor(f->kind)) {
      uint64_t n = tensor_elems(s, f);
      if (n > (uint64_t)SIZE_MAX / 8) return SIZE_MAX;
      total += 5 + (size_t)n * elem_size(f->kind);
    } else if (f->kind == K_STR) {
      total += 5 + MSG_STR_MAX;
    } else {
      total += 9;
    }
  }
  return total;
}

size_t msg_max_bytes(const msg_shapes_t *shapes, msg_type_t type) {
  if (type < MSG_TYPE_MIN || type > MSG_TYPE_MAX) return 0;
  return table_max_bytes(&tables[type], shapes);
}

size_t msg_max_bytes_any(const msg_shapes_t *shapes) {
  size_t m = 0;
  for (int t = MSG_TYPE_MIN; t <= MSG_TYPE_MAX; t++) {
    size_t b = msg_max_bytes(shapes, (msg_type_t)t);
    if (b > m) m = b;
  }
  return m;
}

static int encode(msg_buf_t *buf, const msg_shapes_t *s, int type, const void *view,
                  msg_error_t *err) {
  const table_t *t = &tables[type];
  int bad;
  int rc = validate(t, type, view, s, err, &bad);
  if (rc) return rc;
  buf->len = 0;
  msgpack_packer pk;
  msgpack_packer_init(&pk, buf, buf_write);
  int ok = 0;
  ok |= msgpack_pack_map(&pk, (size_t)t->n + 3);
  ok |= msgpack_pack_str_with_body(&pk, "magic", 5);
  ok |= msgpack_pack_uint32(&pk, MSG_MAGIC);
  ok |= msgpack_pack_str_with_body(&pk, "v", 1);
  ok |= msgpack_pack_uint32(&pk, MSG_PROTOCOL_VERSION);
  ok |= msgpack_pack_str_with_body(&pk, "type", 4);
  ok |= msgpack_pack_uint32(&pk, (uint32_t)type);
  const unsigned char *base = view;
  for (int i = 0; i < t->n && ok == 0; i++) {
    const field_t *f = &t->fields[i];
    const void *p = base + f->off;
    ok |= msgpack_pack_str_with_body(&pk, f->key, strlen(f->key));
    switch (f->kind) {
    case K_U32: { uint32_t v; memcpy(&v, p, 4); ok |= msgpack_pack_uint32(&pk, v); break; }
    case K_U64: { uint64_t v; memcpy(&v, p, 8); ok |= msgpack_pack_uint64(&pk, v); break; }
    case K_I32: { int32_t v; memcpy(&v, p, 4); ok |= msgpack_pack_int32(&pk, v); break; }
    case K_I64: { int64_t v; memcpy(&v, p, 8); ok |= msgpack_pack_int64(&pk, v); break; }
    case K_F64: { double v; memcpy(&v, p, 8); ok |= msgpack_pack_double(&pk, v); break; }
    case K_STR: {
      msg_str_t v;
      memcpy(&v, p, sizeof(v));
      ok |= msgpack_pack_str_with_body(&pk, v.len ? v.data : "", v.len);
      break;
    }
    default: {
      msg_tensor_t v;
      memcpy(&v, p, sizeof(v));
      size_t bytes = (size_t)v.n * elem_size(f->kind);
      if (bytes > UINT32_MAX) return fail(err, HINT_ETOOBIG, type, f->key, "bytes <=", UINT32_MAX, bytes, 0);
      ok |= msgpack_pack_bin(&pk, bytes);
      if (bytes) ok |= msgpack_pack_bin_body(&pk, v.data, bytes);
      break;
    }
    }
  }
  if (ok != 0)
    return fail(err, HINT_ETOOBIG, type, "frame", "buffer capacity bytes", buf->cap,
                table_max_bytes(t, s), 0);
  if (s->max_message_bytes && buf->len > s->max_message_bytes)
    return fail(err, HINT_ETOOBIG, type, "frame", "bytes <=", s->max_message_bytes, buf->len, 0);
  return 0;
}

int msg_encode_hello(msg_buf_t *b, const msg_shapes_t *s, const msg_hello_t *m, msg_error_t *e) {
  return encode(b, s, MSG_HELLO, m, e);
}
int msg_encode_segment(msg_buf_t *b, const msg_shapes_t *s, const msg_segment_t *m,
                       msg_error_t *e) {
  return encode(b, s, MSG_SEGMENT, m, e);
}
int msg_encode_targets(msg_buf_t *b, const msg_shapes_t *s, const msg_targets_t *m,
                       msg_error_t *e) {
  return encode(b, s, MSG_TARGETS, m, e);
}
int msg_encode_params(msg_buf_t *b, const msg_shapes_t *s, msg_type_t type,
                      const msg_params_t *m, msg_error_t *e) {
  if (type != MSG_TEACHER_PARAMS && type != MSG_STUDENT_PARAMS)
    return fail(e, HINT_EMSGTYPE, type, "type", "params type", MSG_TEACHER_PARAMS,
                (uint64_t)type, 0);
  return encode(b, s, type, m, e);
}
int msg_encode_stats(msg_buf_t *b, const msg_shapes_t *s, const msg_stats_t *m, msg_error_t *e) {
  return encode(b, s, MSG_STATS, m, e);
}
int msg_encode_control(msg_buf_t *b, const msg_shapes_t *s, const msg_control_t *m,
                       msg_error_t *e) {
  return encode(b, s, MSG_CONTROL, m, e);
}
int msg_encode_bye(msg_buf_t *b, const msg_shapes_t *s, const msg_bye_t *m, msg_error_t *e) {
  return encode(b, s, MSG_BYE, m, e);
}
int msg_encode_eval(msg_buf_t *b, const msg_shapes_t *s, const msg_eval_t *m, msg_error_t *e) {
  return encode(b, s, MSG_EVAL, m, e);
}
int msg_encode(msg_buf_t *b, const msg_shapes_t *s, const msg_any_t *m, msg_error_t *e) {
  if (m->type < MSG_TYPE_MIN || m->type > MSG_TYPE_MAX)
    return fail(e, HINT_EMSGTYPE, 0, "type", "type <=", MSG_TYPE_MAX, (uint64_t)m->type, 0);
  return encode(b, s, m->type, &m->u, e);
}

/* ---- the strict reader --------------------------------------------------- */

typedef struct {
  const uint8_t *base, *p, *end;
} rd_t;

static size_t rd_left(const rd_t *r) { return (size_t)(r->end - r->p); }
static size_t rd_off(const rd_t *r) { return (size_t)(r->p - r->base); }

static uint64_t be(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++) v = (v << 8) | p[i];
  return v;
}

/* Reads n big-endian bytes after a one-byte tag. */
static int rd_be(rd_t *r, int n, uint64_t *v) {
  if (rd_left(r) < (size_t)n) return HINT_ETRUNC;
  *v = be(r->p, n);
  r->p += n;
  return 0;
}

/* Each reader: 0, HINT_ETRUNC (bytes ran out) or HINT_ETYPE (another
 * msgpack type; the cursor is then unchanged). */
static int rd_map(rd_t *r, uint32_t *n) {
  if (!rd_left(r)) return HINT_ETRUNC;
  uint8_t c = *r->p;
  uint64_t v;
  if ((c & 0xf0) == 0x80) { r->p++; *n = c & 0x0f; return 0; }
  if (c != 0xde && c != 0xdf) return HINT_ETYPE;
  r->p++;
  int rc = rd_be(r, c == 0xde ? 2 : 4, &v);
  if (rc) return rc;
  *n = (uint32_t)v;
  return 0;
}

static int rd_len_prefixed(rd_t *r, uint32_t len, const uint8_t **data) {
  if (rd_left(r) < len) return HINT_ETRUNC;
  *data = r->p;
  r->p += len;
  return 0;
}

static int rd_str(rd_t *r, const uint8_t **s, uint32_t *len) {
  if (!rd_left(r)) return HINT_ETRUNC;
  uint8_t c = *r->p;
  uint64_t v;
  int rc;
  if ((c & 0xe0) == 0xa0) {
    r->p++;
    *len = c & 0x1f;
  } else if (c == 0xd9 || c == 0xda || c == 0xdb) {
    r->p++;
    if ((rc = rd_be(r, c == 0xd9 ? 1 : c == 0xda ? 2 : 4, &v))) return rc;
    *len = (uint32_t)v;
  } else {
    return HINT_ETYPE;
  }
  return rd_len_prefixed(r, *len, s);
}

static int rd_bin(rd_t *r, const uint8_t **s, uint32_t *len) {
  if (!rd_left(r)) return HINT_ETRUNC;
  uint8_t c = *r->p;
  uint64_t v;
  int rc;
  if (c != 0xc4 && c != 0xc5 && c != 0xc6) return HINT_ETYPE;
  r->p++;
  if ((rc = rd_be(r, c == 0xc4 ? 1 : c == 0xc5 ? 2 : 4, &v))) return rc;
  *len = (uint32_t)v;
  return rd_len_prefixed(r, *len, s);
}

/* Any msgpack integer: *neg = 1 means *u holds an int64 < 0. */
static int rd_int(rd_t *r, uint64_t *u, int *neg) {
  if (!rd_left(r)) return HINT_ETRUNC;
  uint8_t c = *r->p;
  uint64_t v;
  int rc;
  *neg = 0;
  if (c <= 0x7f) { r->p++; *u = c; return 0; }
  if (c >= 0xe0) { r->p++; *u = (uint64_t)(int64_t)(int8_t)c; *neg = 1; return 0; }
  int n;
  int is_signed;
  switch (c) {
  case 0xcc: n = 1; is_signed = 0; break;
  case 0xcd: n = 2; is_signed = 0; break;
  case 0xce: n = 4; is_signed = 0; break;
  case 0xcf: n = 8; is_signed = 0; break;
  case 0xd0: n = 1; is_signed = 1; break;
  case 0xd1: n = 2; is_signed = 1; break;
  case 0xd2: n = 4; is_signed = 1; break;
  case 0xd3: n = 8; is_signed = 1; break;
  default: return HINT_ETYPE;
  }
  r->p++;
  if ((rc = rd_be(r, n, &v))) { r->p--; return rc; }
  if (is_signed) {
    int64_t s;
    if (n == 1) s = (int8_t)v;
    else if (n == 2) s = (int16_t)v;
    else if (n == 4) s = (int32_t)v;
    else s = (int64_t)v;
    *u = (uint64_t)s;
    *neg = s < 0;
  } else {
    *u = v;
  }
  return 0;
}

static int rd_double(rd_t *r, double *d) {
  if (!rd_left(r)) return HINT_ETRUNC;
  uint8_t c = *r->p;
  uint64_t v;
  int rc;
  if (c == 0xca) {
    r->p++;
    if ((rc = rd_be(r, 4, &v))) { r->p--; return rc; }
    uint32_t w = (uint32_t)v;
    float f;
    memcpy(&f, &w, 4);
    *d = f;
    return 0;
  }
  if (c == 0xcb) {
    r->p++;
    if ((rc = rd_be(r, 8, &v))) { r->p--; return rc; }
    memcpy(d, &v, 8);
    return 0;
  }
  return HINT_ETYPE;
}

/* Reads one unsigned envelope value after the expected key. */
static int rd_envelope(rd_t *r, const char *key, int code, uint64_t *v, msg_error_t *err) {
  const uint8_t *k;
  uint32_t klen;
  size_t off = rd_off(r);
  int rc = rd_str(r, &k, &klen);
  if (rc == HINT_ETRUNC) return fail(err, rc, 0, key, "key", 0, 0, off);
  if (rc || klen != strlen(key) || memcmp(k, key, klen) != 0)
    return fail(err, code, 0, key, "envelope key in position", 0, 0, off);
  int neg;
  off = rd_off(r);
  rc = rd_int(r, v, &neg);
  if (rc == HINT_ETRUNC) return fail(err, rc, 0, key, "value", 0, 0, off);
  if (rc || neg) return fail(err, code, 0, key, "unsigned integer", 0, 0, off);
  return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static const char *kind_name(int kind) {
  switch (kind) {
  case K_U32: case K_U64: return "unsigned integer (msgpack type)";
  case K_I32: case K_I64: return "integer (msgpack type)";
  case K_F64: return "float (msgpack type)";
  case K_STR: return "str (msgpack type)";
  default: return "bin (msgpack type)";
  }
}

static int read_field(rd_t *r, int type, const field_t *f, void *p, msg_error_t *err) {
  size_t off = rd_off(r);
  int rc, neg;
  uint64_t u;
  switch (f->kind) {
  case K_U32: case K_U64: case K_I32: case K_I64:
    rc = rd_int(r, &u, &neg);
    if (rc) break;
    if (f->kind == K_U32) {
      if (neg || u > UINT32_MAX)
        return fail(err, HINT_ERANGE, type, f->key, "value <=", UINT32_MAX, u, off);
      uint32_t v = (uint32_t)u;
      memcpy(p, &v, 4);
    } else if (f->kind == K_U64) {
      if (neg) return fail(err, HINT_ERANGE, type, f->key, "value >= 0, bits", 0, u, off);
      memcpy(p, &u, 8);
    } else if (f->kind == K_I32) {
      int64_t s = (int64_t)u;
      if ((!neg && u > INT32_MAX) || (neg && s < INT32_MIN))
        return fail(err, HINT_ERANGE, type, f->key, "int32, bits", 0, u, off);
      int32_t v = (int32_t)s;
      memcpy(p, &v, 4);
    } else {
      if (!neg && u > INT64_MAX)
        return fail(err, HINT_ERANGE, type, f->key, "value <=", INT64_MAX, u, off);
      memcpy(p, &u, 8);
    }
    return 0;
  case K_F64: {
    double d;
    rc = rd_double(r, &d);
    if (rc) break;
    memcpy(p, &d, 8);
    return 0;
  }
  case K_STR: {
    const uint8_t *s;
    uint32_t len;
    rc = rd_str(r, &s, &len);
    if (rc) break;
    msg_str_t v = {(const char *)s, len};
    memcpy(p, &v, sizeof(v));
    return 0;
  }
  default: {
    const uint8_t *s;
    uint32_t len;
    rc = rd_bin(r, &s, &len);
    if (rc) break;
    size_t es = elem_size(f->kind);
    if (len % es)
      return fail(err, HINT_ESHAPE, type, f->key, "bytes, a multiple of 4, for",
                  (uint64_t)len / es * es, len, off);
    msg_tensor_t v = {s, len / es};
    memcpy(p, &v, sizeof(v));
    return 0;
  }
  }
  if (rc == HINT_ETRUNC) {
    return fail(err, rc, type, f->key, "bytes left at least", 1, rd_left(r), off);
  }
  return fail(err, HINT_ETYPE, type, f->key, kind_name(f->kind), 0, r->p < r->end ? *r->p : 0,
              off);
}

int msg_decode(const void *frame, size_t len, const msg_shapes_t *s, msg_any_t *out,
               msg_error_t *err) {
  if (err) memset(err, 0, sizeof(*err));
  if (s->max_message_bytes && len > s->max_message_bytes)
    return fail(err, HINT_ETOOBIG, 0, "frame", "bytes <=", s->max_message_bytes, len, 0);
  rd_t r = {frame, frame, (const uint8_t *)frame + len};
  if (!frame) r.p = r.end = r.base = (const uint8_t *)"";
  uint32_t n;
  int rc = rd_map(&r, &n);
  if (rc == HINT_ETRUNC) return fail(err, rc, 0, "frame", "bytes at least", 1, len, 0);
  if (rc) return fail(err, HINT_EMAGIC, 0, "frame", "msgpack map, first byte", 0x80,
                      len ? *(const uint8_t *)frame : 0, 0);
  uint64_t magic, version, type;
  if ((rc = rd_envelope(&r, "magic", HINT_EMAGIC, &magic, err))) return rc;
  if (magic != MSG_MAGIC) return fail(err, HINT_EMAGIC, 0, "magic", "value", MSG_MAGIC, magic, 0);
  if ((rc = rd_envelope(&r, "v", HINT_EVERSION, &version, err))) return rc;
  if (version != MSG_PROTOCOL_VERSION)
    return fail(err, HINT_EVERSION, 0, "v", "protocol version", MSG_PROTOCOL_VERSION, version, 0);
  if ((rc = rd_envelope(&r, "type", HINT_EMSGTYPE, &type, err))) return rc;
  if (type < MSG_TYPE_MIN || type > MSG_TYPE_MAX)
    return fail(err, HINT_EMSGTYPE, 0, "type", "type <=", MSG_TYPE_MAX, type, 0);

  const table_t *t = &tables[type];
  int ty = (int)type;
  if (n < 3 || n - 3 != (uint32_t)t->n)
    return fail(err, HINT_EPARSE, ty, "map", "entries", (uint64_t)t->n + 3, n, 0);
  memset(out, 0, sizeof(*out));
  out->type = (msg_type_t)type;
  unsigned char *view = (unsigned char *)&out->u;
  uint32_t seen = 0;
  size_t offsets[MAX_FIELDS] = {0};
  for (uint32_t i = 0; i < n - 3; i++) {
    const uint8_t *k;
    uint32_t klen;
    size_t off = rd_off(&r);
    rc = rd_str(&r, &k, &klen);
    if (rc == HINT_ETRUNC)
      return fail(err, rc, ty, "map", "more entries, read", (uint64_t)t->n + 3, i + 3, off);
    if (rc) return fail(err, HINT_ETYPE, ty, "map", "str key (msgpack type)", 0, *r.p, off);
    int idx = -1;
    for (int j = 0; j < t->n; j++)
      if (strlen(t->fields[j].key) == klen && memcmp(t->fields[j].key, k, klen) == 0) {
        idx = j;
        break;
      }
    if (idx < 0) return fail(err, HINT_EPARSE, ty, "map", "known key, key length", 0, klen, off);
    if (seen & (1u << idx))
      return fail(err, HINT_EPARSE, ty, t->fields[idx].key, "one occurrence of key", 1, 2, off);
    seen |= 1u << idx;
    offsets[idx] = rd_off(&r);
    if ((rc = read_field(&r, ty, &t->fields[idx], view + t->fields[idx].off, err))) return rc;
  }
  /* n - 3 == t->n and no duplicates: every field has been seen. */
  if (rd_left(&r))
    return fail(err, HINT_EPARSE, ty, "frame", "bytes", rd_off(&r), len, rd_off(&r));
  int bad;
  rc = validate(t, ty, view, s, err, &bad);
  if (rc && err && bad >= 0) err->offset = offsets[bad];
  return rc;
}
