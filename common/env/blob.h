/* blob.h: byte cursors for the env checkpoint records (private to common/env).
 *
 * A record is packed fixed-width fields, little-endian, no padding: the
 * writer and the reader move a pointer field by field, so the save and load
 * code read like the layout comment they implement. Callers check the total
 * length before they start; the cursors themselves never check bounds. Floats
 * are copied as their bits, so a restored value is the saved one exactly
 * (NaN payloads included).
 */
#ifndef HINT_ENV_BLOB_H
#define HINT_ENV_BLOB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "env checkpoint records are little-endian memory: byte-swap in blob.h first"
#endif

typedef struct {
  uint8_t *p;
} env_wr_t;

typedef struct {
  const uint8_t *p;
} env_rd_t;

static inline void env_put(env_wr_t *w, const void *src, size_t n) {
  if (n)
    memcpy(w->p, src, n);
  w->p += n;
}
static inline void env_put_u64(env_wr_t *w, uint64_t x) { env_put(w, &x, 8); }
static inline void env_put_u32(env_wr_t *w, uint32_t x) { env_put(w, &x, 4); }
static inline void env_put_i32(env_wr_t *w, int32_t x) { env_put(w, &x, 4); }
static inline void env_put_i16(env_wr_t *w, int16_t x) { env_put(w, &x, 2); }
static inline void env_put_i8(env_wr_t *w, int8_t x) { env_put(w, &x, 1); }
static inline void env_put_f32(env_wr_t *w, float x) { env_put(w, &x, 4); }

static inline void env_get(env_rd_t *r, void *dst, size_t n) {
  if (n)
    memcpy(dst, r->p, n);
  r->p += n;
}
static inline uint64_t env_get_u64(env_rd_t *r) {
  uint64_t x;
  env_get(r, &x, 8);
  return x;
}
static inline uint32_t env_get_u32(env_rd_t *r) {
  uint32_t x;
  env_get(r, &x, 4);
  return x;
}
static inline int32_t env_get_i32(env_rd_t *r) {
  int32_t x;
  env_get(r, &x, 4);
  return x;
}
static inline int16_t env_get_i16(env_rd_t *r) {
  int16_t x;
  env_get(r, &x, 2);
  return x;
}
static inline int8_t env_get_i8(env_rd_t *r) {
  int8_t x;
  env_get(r, &x, 1);
  return x;
}
static inline float env_get_f32(env_rd_t *r) {
  float x;
  env_get(r, &x, 4);
  return x;
}

#endif
