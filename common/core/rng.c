/* rng.c: see rng.h. */
#include "common/core/rng.h"

#include <math.h>

uint64_t hint_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void hint_rng_seed(hint_rng_t *r, uint64_t seed, uint64_t rank, uint64_t index) {
  uint64_t a = hint_mix64(seed ^ hint_mix64(rank * 0x100000001b3ULL + 0x51ed27) ^
                          hint_mix64(index + 0x2545f4914f6cdd1dULL));
  uint64_t b = hint_mix64(a ^ 0xda942042e4dd58b5ULL);
  r->state = 0;
  r->inc = (b << 1u) | 1u;
  (void)hint_rng_u32(r);
  r->state += a;
  (void)hint_rng_u32(r);
}

double hint_rng_normal(hint_rng_t *r) {
  double u1 = hint_rng_double(r);
  double u2 = hint_rng_double(r);
  if (u1 < 1e-300)
    u1 = 1e-300;
  return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

int hint_rng_categorical(hint_rng_t *r, const float *p, int n) {
  double total = 0.0;
  for (int i = 0; i < n; i++)
    total += p[i];
  double u = hint_rng_double(r) * total;
  double acc = 0.0;
  for (int i = 0; i < n; i++) {
    acc += p[i];
    if (u < acc)
      return i;
  }
  /* Rounding left u at the top: return the last index with mass. */
  for (int i = n - 1; i > 0; i--)
    if (p[i] > 0.0f)
      return i;
  return 0;
}
