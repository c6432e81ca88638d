/* msg.h: the learner/actor protocol, encoded with msgpack.
 *
 * Every message is one ZeroMQ frame holding one msgpack map. Its first three
 * entries are fixed, in this order, so a peer of another build or protocol gets
 * a precise error before anything else is read:
 *     "magic" : uint  MSG_MAGIC ("HINT")
 *     "v"     : uint  MSG_PROTOCOL_VERSION
 *     "type"  : uint  msg_type_t
 * followed by the type's fields below, in any order, each exactly once; a
 * missing, duplicated or unknown key is an error. Scalars are msgpack ints or
 * floats (any width that holds the value); tensors are `bin` blobs of
 * little-endian elements, never element by element. Dimension letters:
 *     T segment_len, E envs per actor, A agents, O obs_dim (batch stride),
 *     S state_dim, NA n_actions (max over classes), C comm_dim,
 *     P_T / P_S teacher / student parameter counts.
 *
 * hello (actor -> learner, learner -> actor as the acknowledgement)
 *     rank u32, config_hash u64, pid u32, build_id str, host str
 * segment (actor -> learner; the learner answers each one with targets)
 *     actor_rank u32, seq u64 (per actor, from 0), policy_version u64 (student
 *     parameters' version), teacher_version u64 (teacher used on teacher-driven
 *     copies), env_steps u64 (actor's cumulative env steps at segment end),
 *     T E A O S NA C u32 (must equal the config's),
 *     obs       f32 [T+1][E][A][O]  row T: observation after the last step
 *     state     f32 [T+1][E][S]     row T: global state after the last step
 *     actions   i32 [T][E][A]
 *     logp      f32 [T][E][A]       behaviour log-probability (of the driver)
 *     rewards   f32 [T][E]          team reward
 *     dones     u8  [T][E]          1: episode terminated at step t
 *     truncated u8  [T][E]          1: episode cut by the time limit at step t
 *     value     f32 [T+1][E]        V_S(state); row T bootstraps the segment
 *     trunc_value f32 [T][E]        V_S of the pre-reset state where truncated,
 *                                   else 0 (obs[t+1] is already the reset obs)
 *     trunc_state f32 [T][E][S]     optional: global state of the pre-reset
 *                                   state where truncated, else 0 (lets the
 *                                   learner bootstrap its own critics there)
 *     driver    u8  [T][E]          0 student, 1 teacher drove env e at step t
 *     goals     i32 [T][E][A]       optional: teacher goal index, -1 if none
 *     goal_logp f32 [T][E][A]       optional: manager log-prob of that goal
 *     avail     u8  [T+1][E][A][NA] optional: 1 = action available
 *     comm      f32 [T][E][A][C]    optional: communication summary c_i
 *   ("optional": the blob is empty or has exactly the full shape.)
 * targets (learner -> the actor that sent segment `seq`; returns one credit)
 *     actor_rank u32, seq u64, teacher_version u64, T E A NA u32,
 *     pi   f32 [T][E][A][NA]   teacher distribution pi_T(.|s_t, i)
 *     value f32 [T][E]         V_T(s_t)
 *     mask u8  [T][E][A]       1: keep for distillation
 *   (all three empty = no guidance for this segment, e.g. warm-up or mappo.)
 * teacher_params / student_params (learner PUB; student_params also first
 *   actor -> learner, and learner PUB for qmix / maddpg, which train the
 *   students on the learner)
 *     sender_rank u32, version u64, env_steps u64, n u64 (= P_T / P_S),
 *     params f32 [n]   one flat buffer, the network's parameter layout
 * stats (actor -> learner, once per metrics interval)
 *     actor_rank u32, policy_version u64, env_steps u64 (since last stats),
 *     episodes u32, successes u32, return_sum f64, length_sum f64 (student-
 *     driven episodes), teacher_episodes u32, teacher_successes u32,
 *     interval_s, t_env, t_infer, t_update, t_allreduce, t_wait f64 (seconds),
 *     pg_loss, value_loss, entropy, kd_loss, kd_weight, kd_kept, grad_norm f64,
 *     ckpt_done u64 (id of the last checkpoint this actor has written)
 * control (learner PUB)
 *     cmd u32 (msg_ctrl_t: stop, checkpoint, evaluate, sync), rank u32 (0 =
 *     every actor), seq u64, arg i64 (checkpoint/evaluation id, sync round)
 * eval (actor -> learner, the result of an evaluate request)
 *     actor_rank u32, eval_id u64, env_steps u64, policy_version u64,
 *     teacher_version u64, episodes u32, and f64 success/return/length for
 *     sampled_*, greedy_*, teacher_* (-1 when there is no teacher) and
 *     reference_* (the greedy full-information controller)
 * bye (either way)
 *     rank u32, reason i32 (0 or a HINT_E* code), text str
 *
 * Views and ownership: msg_decode fills a view whose tensor and string
 * pointers point INTO the frame (no copy); the view is valid while the frame
 * is. Tensor data is NOT aligned in general (a msgpack bin payload starts
 * wherever its header ends), so read elements with msg_f32()/msg_i32() or copy
 * with msg_tensor_copy(); never cast to float *. Encoding takes views too: the
 * caller points them at its own arrays (native floats are little-endian here;
 * big-endian hosts fail at build time).
 *
 * Validation: msg_decode checks the whole message before returning success:
 * frame size against max_message_bytes, magic, version, type, every key and
 * value type, every length against the bytes left, every dimension echo and
 * tensor size against msg_shapes_t (which the caller derives from the config),
 * ranks and enum ranges. It allocates nothing and never reads out of bounds.
 */
#ifndef HINT_WIRE_MSG_H
#define HINT_WIRE_MSG_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/config/config.h"
#include "common/env/env.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "common/wire sends tensors as little-endian memory: port msg.c to big-endian first"
#endif

#define MSG_MAGIC 0x48494E54u /* "HINT" */
#define MSG_PROTOCOL_VERSION 1u
#define MSG_STR_MAX 255u      /* longest string field, bytes */

typedef enum {
  MSG_HELLO = 1,
  MSG_SEGMENT = 2,
  MSG_TARGETS = 3,
  MSG_TEACHER_PARAMS = 4,
  MSG_STUDENT_PARAMS = 5,
  MSG_STATS = 6,
  MSG_CONTROL = 7,
  MSG_BYE = 8,
  MSG_EVAL = 9,
} msg_type_t;
#define MSG_TYPE_MIN MSG_HELLO
#define MSG_TYPE_MAX MSG_EVAL

typedef enum {
  MSG_CTRL_STOP = 1,
  MSG_CTRL_CHECKPOINT = 2,
  MSG_CTRL_EVALUATE = 3,
  MSG_CTRL_SYNC = 4,        /* run.sync: round `arg` is complete */
} msg_ctrl_t;

/* The sizes every shape check uses; filled once from the config (and the
 * networks' parameter counts), read-only afterwards. */
typedef struct {
  uint32_t T, E, n_agents, obs_dim, state_dim, n_actions, comm_dim;
  uint32_t n_actors;            /* actor ranks are 1..n_actors; 0 = unchecked */
  uint64_t n_teacher_params;    /* P_T */
  uint64_t n_student_params;    /* P_S */
  uint64_t max_message_bytes;   /* frames above this are rejected unread */
} msg_shapes_t;

/* Fills shapes from cfg and dims. Parameter counts are left 0: the runtime
 * sets them from its networks. comm_dim is 0 when student.comm is none.
 * Returns 0 or HINT_ERANGE if a size does not fit the protocol. */
int msg_shapes_from_config(msg_shapes_t *shapes, const hint_config_t *cfg,
                           const env_dims_t *dims);

/* A tensor view: n elements of a fixed type at data (little-endian, possibly
 * unaligned). n == 0 is an empty (absent) optional tensor. */
typedef struct {
  const void *data;
  uint64_t n;
} msg_tensor_t;

/* A string view, not NUL-terminated. */
typedef struct {
  const char *data;
  uint32_t len;
} msg_str_t;

static inline float msg_f32(msg_tensor_t t, uint64_t i) {
  float v;
  memcpy(&v, (const unsigned char *)t.data + 4 * i, 4);
  return v;
}
static inline int32_t msg_i32(msg_tensor_t t, uint64_t i) {
  int32_t v;
  memcpy(&v, (const unsigned char *)t.data + 4 * i, 4);
  return v;
}
static inline uint8_t msg_u8(msg_tensor_t t, uint64_t i) {
  return ((const uint8_t *)t.data)[i];
}
/* Copies the tensor's n * elem_size bytes to dst (aligned, caller-owned). */
static inline void msg_tensor_copy(msg_tensor_t t, void *dst, size_t elem_size) {
  if (t.n) memcpy(dst, t.data, (size_t)t.n * elem_size);
}
/* A view of caller memory for encoding. */
static inline msg_tensor_t msg_tensor(const void *data, uint64_t n) {
  msg_tensor_t t = {data, n};
  return t;
}
static inline msg_str_t msg_str(const char *s) {
  msg_str_t v = {s, s ? (uint32_t)strlen(s) : 0};
  return v;
}

typedef struct {
  uint32_t rank;
  uint64_t config_hash;
  uint32_t pid;
  msg_str_t build_id;
  msg_str_t host;
} msg_hello_t;

typedef struct {
  uint32_t actor_rank;
  uint64_t seq, policy_version, teacher_version, env_steps;
  uint32_t T, E, n_agents, obs_dim, state_dim, n_actions, comm_dim;
  msg_tensor_t obs;         /* f32 [T+1][E][A][O] */
  msg_tensor_t state;       /* f32 [T+1][E][S] */
  msg_tensor_t actions;     /* i32 [T][E][A] */
  msg_tensor_t logp;        /* f32 [T][E][A] */
  msg_tensor_t rewards;     /* f32 [T][E] */
  msg_tensor_t dones;       /* u8  [T][E] */
  msg_tensor_t truncated;   /* u8  [T][E] */
  msg_tensor_t value;       /* f32 [T+1][E] */
  msg_tensor_t trunc_value; /* f32 [T][E] */
  msg_tensor_t trunc_state; /* f32 [T][E][S], optional */
  msg_tensor_t driver;      /* u8  [T][E] */
  msg_tensor_t goals;       /* i32 [T][E][A], optional */
  msg_tensor_t goal_logp;   /* f32 [T][E][A], optional */
  msg_tensor_t avail;       /* u8  [T+1][E][A][NA], optional */
  msg_tensor_t comm;        /* f32 [T][E][A][C], optional */
} msg_segment_t;

typedef struct {
  uint32_t actor_rank;
  uint64_t seq, teacher_version;
  uint32_t T, E, n_agents, n_actions;
  msg_tensor_t pi;          /* f32 [T][E][A][NA] */
  msg_tensor_t value;       /* f32 [T][E] */
  msg_tensor_t mask;        /* u8  [T][E][A] */
} msg_targets_t;

/* teacher_params and student_params share this view. */
typedef struct {
  uint32_t sender_rank;
  uint64_t version, env_steps, n;
  msg_tensor_t params;      /* f32 [n] */
} msg_params_t;

typedef struct {
  uint32_t actor_rank;
  uint64_t policy_version, env_steps;
  uint32_t episodes, successes;
  double return_sum, length_sum;
  double interval_s, t_env, t_infer, t_update, t_allreduce, t_wait;
  uint32_t teacher_episodes, teacher_successes;
  double pg_loss, value_loss, entropy, kd_loss, kd_weight, kd_kept, grad_norm;
  uint64_t ckpt_done;
} msg_stats_t;

typedef struct {
  uint32_t actor_rank;
  uint64_t eval_id, env_steps, policy_version, teacher_version;
  uint32_t episodes;
  double sampled_success, sampled_return, sampled_length;
  double greedy_success, greedy_return, greedy_length;
  double teacher_success, teacher_return, teacher_length;
  double reference_success, reference_return, reference_length;
} msg_eval_t;

typedef struct {
  uint32_t cmd;             /* msg_ctrl_t */
  uint32_t rank;            /* 0 = every actor */
  uint64_t seq;
  int64_t arg;
} msg_control_t;

typedef struct {
  uint32_t rank;
  int32_t reason;           /* 0 or a HINT_E* code */
  msg_str_t text;
} msg_bye_t;

/* Any decoded message: check type, then read the matching member. */
typedef struct {
  msg_type_t type;
  union {
    msg_hello_t hello;
    msg_segment_t segment;
    msg_targets_t targets;
    msg_params_t params;    /* MSG_TEACHER_PARAMS and MSG_STUDENT_PARAMS */
    msg_stats_t stats;
    msg_control_t control;
    msg_bye_t bye;
    msg_eval_t eval;
  } u;
} msg_any_t;

/* Why a message was rejected: which field, what was expected, what came. */
typedef struct {
  int code;                 /* HINT_E* (0 when no error) */
  int type;                 /* message type if known, else 0 */
  char field[24];           /* key, or "frame"/"magic"/"v"/"type"/"map" */
  uint64_t expected, got;   /* meaning depends on the check (see text) */
  size_t offset;            /* byte offset in the frame where it was found */
  char what[48];            /* e.g. "bytes", "value", "msgpack type" */
} msg_error_t;

/* One line such as "segment.obs: expected 1297920 bytes, got 12 at byte 40
 * (tensor shape mismatch)". Returns buf. */
const char *msg_error_format(const msg_error_t *err, char *buf, size_t cap);
/* "segment", "targets", ... or "unknown". */
const char *msg_type_name(int type);

/* Validates frame[0..len) completely and fills out (views into frame).
 * Returns 0, or a negative HINT_E* code with err (may be NULL) filled:
 * HINT_ETOOBIG, HINT_ETRUNC, HINT_EMAGIC, HINT_EVERSION, HINT_EMSGTYPE,
 * HINT_EPARSE (bad msgpack, unknown/duplicate/missing key), HINT_ETYPE (wrong
 * msgpack type for a key), HINT_ESHAPE, HINT_ERANGE (scalar out of range).
 * On error out is unspecified and must not be read. */
int msg_decode(const void *frame, size_t len, const msg_shapes_t *shapes,
               msg_any_t *out, msg_error_t *err);

/* A reusable encode buffer: allocated once with its capacity, never grown. */
typedef struct {
  unsigned char *data;
  size_t len;               /* bytes of the last encoded message */
  size_t cap;
} msg_buf_t;

/* Allocates cap bytes. Returns 0 or HINT_ENOMEM. */
int msg_buf_init(msg_buf_t *buf, size_t cap);
void msg_buf_fini(msg_buf_t *buf);

/* Upper bound of the encoded size of a message of type under shapes (full
 * optional tensors, longest strings). 0 for an unknown type. */
size_t msg_max_bytes(const msg_shapes_t *shapes, msg_type_t type);
/* The largest msg_max_bytes over all types. */
size_t msg_max_bytes_any(const msg_shapes_t *shapes);

/* Encoders: check the view against shapes exactly as the decoder will (a
 * wrong shape is HINT_ESHAPE with err filled), then write the message into
 * buf (buf->len set). HINT_ETOOBIG if it does not fit buf->cap or
 * max_message_bytes. The magic, version and type are written by the encoder. */
int msg_encode_hello(msg_buf_t *buf, const msg_shapes_t *shapes,
                     const msg_hello_t *m, msg_error_t *err);
int msg_encode_segment(msg_buf_t *buf, const msg_shapes_t *shapes,
                       const msg_segment_t *m, msg_error_t *err);
int msg_encode_targets(msg_buf_t *buf, const msg_shapes_t *shapes,
                       const msg_targets_t *m, msg_error_t *err);
/* type is MSG_TEACHER_PARAMS or MSG_STUDENT_PARAMS. */
int msg_encode_params(msg_buf_t *buf, const msg_shapes_t *shapes,
                      msg_type_t type, const msg_params_t *m, msg_error_t *err);
int msg_encode_stats(msg_buf_t *buf, const msg_shapes_t *shapes,
                     const msg_stats_t *m, msg_error_t *err);
int msg_encode_control(msg_buf_t *buf, const msg_shapes_t *shapes,
                       const msg_control_t *m, msg_error_t *err);
int msg_encode_bye(msg_buf_t *buf, const msg_shapes_t *shapes,
                   const msg_bye_t *m, msg_error_t *err);
int msg_encode_eval(msg_buf_t *buf, const msg_shapes_t *shapes,
                    const msg_eval_t *m, msg_error_t *err);
/* Encodes any decoded or hand-filled message (dispatches on m->type). */
int msg_encode(msg_buf_t *buf, const msg_shapes_t *shapes, const msg_any_t *m,
               msg_error_t *err);

#endif
