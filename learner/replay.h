/* replay.h: the learner's bounded replay of segments.
 *
 * A ring of teacher.replay_segments slots, each an aligned copy of one wire
 * segment (the wire's tensors are unaligned views into a frame that dies on
 * the next receive). All slots are allocated at create; storing a segment is
 * a handful of memcpy. The newest slots feed teacher updates; the whole ring
 * is one block, so a checkpoint writes it as one section.
 */
#ifndef HINT_LEARNER_REPLAY_H
#define HINT_LEARNER_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/wire/msg.h"
#include "teacher/teacher.h"

typedef struct {
  uint32_t actor_rank;
  uint64_t seq, policy_version, teacher_version, env_steps;
  uint32_t has_goals, has_comm;
} replay_meta_t;

typedef struct {
  int cap;                 /* slots */
  int count;               /* filled slots (<= cap) */
  int head;                /* next slot to write */
  uint64_t stored;         /* segments ever stored */
  int T, E, A, O, S, NA, C;
  size_t slot_bytes;
  replay_meta_t *meta;     /* [cap] */
  unsigned char *data;     /* [cap][slot_bytes] */
} replay_t;

/* Sizes from the message shapes. Returns 0 or HINT_ENOMEM / HINT_EINVAL. */
int replay_init(replay_t *r, int cap, const msg_shapes_t *shapes);
void replay_fini(replay_t *r);

/* Copies a validated segment into the next slot; returns the slot index. */
int replay_store(replay_t *r, const msg_segment_t *s);

/* Copies slot `slot` of src (same shapes) into the next slot of dst; returns
 * the slot index in dst. */
int replay_store_slot(replay_t *dst, const replay_t *src, int slot);

/* A teacher view of slot i. */
void replay_view(const replay_t *r, int slot, teacher_seg_t *out);

/* Slot of the k-th newest segment (k = 0 newest); k < count. */
int replay_newest(const replay_t *r, int k);

#endif
