/* params.h: the flat parameter arena shared by every network of one learner.
 *
 * One nn_params_t holds four equal-length float buffers: parameters, their
 * gradients and the two Adam moments. Networks (nn_mlp_t) reserve contiguous
 * slices of it, so a policy and its critic, or a communication encoder and the
 * policy that reads its message, live in one buffer. Adam, gradient clipping,
 * zeroing, the MPI_Allreduce of gradients, a parameter message and a
 * checkpoint are then each one loop or one call over w, g, m or v.
 *
 * Invariants: w, g, m, v each have n floats and start on a 64-byte boundary;
 * slices handed out by nn_params_reserve never overlap and are never moved.
 * The arena owns its memory; networks only borrow pointers into it, so the
 * arena must outlive them. Allocation happens once, in nn_params_init.
 */
#ifndef HINT_NN_PARAMS_H
#define HINT_NN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  size_t n;     /* capacity in floats, fixed at init */
  size_t used;  /* floats handed out by nn_params_reserve so far */
  float *w;     /* (n) parameters */
  float *g;     /* (n) gradients (accumulated by backward passes) */
  float *m;     /* (n) Adam first moment */
  float *v;     /* (n) Adam second moment */
  int64_t step; /* Adam steps taken; part of the optimiser state */
  void *block;  /* the single allocation behind w, g, m, v */
} nn_params_t;

/* Allocates an arena of n floats per buffer, all zero. n > 0.
 * Returns 0, HINT_EINVAL or HINT_ENOMEM (then *p is left empty; fini is safe). */
int nn_params_init(nn_params_t *p, size_t n);
/* Frees the buffers; NULL-safe and idempotent. */
void nn_params_fini(nn_params_t *p);

/* Hands out the next `count` floats of the arena: *offset receives the index
 * of the slice in w/g/m/v. Returns 0, or HINT_ERANGE if the arena is too small
 * (nothing is reserved then). */
int nn_params_reserve(nn_params_t *p, size_t count, size_t *offset);

/* g = 0 over the whole arena. */
void nn_params_zero_grad(nn_params_t *p);
/* Euclidean norm of g over the whole arena, accumulated in double. */
double nn_params_grad_norm(const nn_params_t *p);
/* Scales g so its global norm is at most max_norm, exactly as
 * torch.nn.utils.clip_grad_norm_ does (factor max_norm / (norm + 1e-6),
 * applied only when below 1). max_norm <= 0 disables clipping.
 * Returns the norm before clipping. */
double nn_params_clip_grad(nn_params_t *p, double max_norm);

/* Serialisation to one contiguous little-endian blob:
 *   32-byte header: magic "HNNP", u32 version (1), u32 flags (bit 0: the Adam
 *   moments and step follow), u32 reserved (0), u64 n, i64 Adam step;
 *   then n float32 parameters; then, with flags bit 0, n floats of m and n of v.
 * Gradients are never serialised. Integrity (checksums, atomic files) is the
 * caller's job; this only guarantees a malformed blob is rejected, not read. */
#define NN_PARAMS_MAGIC "HNNP"
#define NN_PARAMS_VERSION 1u
#define NN_PARAMS_HEADER 32u
#define NN_PARAMS_WITH_ADAM 1u

/* Bytes nn_params_save writes for p (with_adam: 0 or 1). */
size_t nn_params_blob_size(const nn_params_t *p, int with_adam);
/* Writes the blob into buf (cap bytes). Returns 0 and sets *len, or
 * HINT_ERANGE if cap is too small (nothing useful written). */
int nn_params_save(const nn_params_t *p, int with_adam, void *buf, size_t cap,
                   size_t *len);
/* Reads a blob written by nn_params_save into an arena of the same size.
 * Loads w, and m, v and step when the blob carries them (otherwise m, v and
 * step are reset to zero, a fresh optimiser). Returns 0, HINT_ETRUNC (shorter
 * than its header says), HINT_EMAGIC, HINT_EVERSION, HINT_ESHAPE (n differs
 * from the arena) or HINT_EPARSE (unknown flags, trailing bytes, non-finite
 * values, a negative second moment); on error p is unchanged. */
int nn_params_load(nn_params_t *p, const void *buf, size_t len);

#endif
