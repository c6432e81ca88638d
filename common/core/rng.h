/* rng.h: a small, fast, seedable random number generator (PCG32, O'Neill 2014).
 *
 * Every consumer owns its own hint_rng_t; there is no global generator.
 * hint_rng_seed(seed, rank, index) gives an independent stream for each
 * (seed, rank, env index) triple: the triple is mixed into both the starting
 * state and the stream selector (PCG's increment), so two streams never share
 * a sequence. The state is two plain integers, so checkpoints copy it as bytes.
 */
#ifndef HINT_CORE_RNG_H
#define HINT_CORE_RNG_H

#include <stdint.h>

typedef struct {
  uint64_t state;
  uint64_t inc; /* always odd */
} hint_rng_t;

/* Seeds r with the stream for (seed, rank, index). */
void hint_rng_seed(hint_rng_t *r, uint64_t seed, uint64_t rank, uint64_t index);

/* Uniform 32 random bits. */
static inline uint32_t hint_rng_u32(hint_rng_t *r) {
  uint64_t old = r->state;
  r->state = old * 6364136223846793005ULL + r->inc;
  uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
  uint32_t rot = (uint32_t)(old >> 59u);
  return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

/* Uniform 64 random bits. */
static inline uint64_t hint_rng_u64(hint_rng_t *r) {
  uint64_t hi = hint_rng_u32(r);
  return (hi << 32) | hint_rng_u32(r);
}

/* Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject). n > 0. */
static inline uint32_t hint_rng_below(hint_rng_t *r, uint32_t n) {
  uint64_t m = (uint64_t)hint_rng_u32(r) * n;
  uint32_t l = (uint32_t)m;
  if (l < n) {
    uint32_t t = (uint32_t)(-n) % n;
    while (l < t) {
      m = (uint64_t)hint_rng_u32(r) * n;
      l = (uint32_t)m;
    }
  }
  return (uint32_t)(m >> 32);
}

/* Uniform float in [0, 1) with 24 random bits. */
static inline float hint_rng_float(hint_rng_t *r) {
  return (float)(hint_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double hint_rng_double(hint_rng_t *r) {
  return (double)(hint_rng_u64(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform double in [lo, hi). */
static inline double hint_rng_uniform(hint_rng_t *r, double lo, double hi) {
  return lo + (hi - lo) * hint_rng_double(r);
}

/* Standard normal (Box-Muller, one value per call; no cached spare so the
 * state stays two integers). */
double hint_rng_normal(hint_rng_t *r);

/* Samples an index from n unnormalised non-negative weights p (sum > 0). */
int hint_rng_categorical(hint_rng_t *r, const float *p, int n);

/* A 64-bit mix (splitmix64 finaliser); useful for hashing seeds. */
uint64_t hint_mix64(uint64_t x);

#endif
