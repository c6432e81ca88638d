/* params.c: the flat parameter arena (see params.h). */
#include "common/nn/params.h"

#include <math.h>
#include <string.h>

#include "common/core/alloc.h"
#include "common/core/error.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "nn_params blobs are little-endian float32; a big-endian port must byte-swap here"
#endif

/* Each buffer starts on a 64-byte boundary: round n up to 16 floats. */
static size_t padded(size_t n) { return (n + 15u) & ~(size_t)15u; }

int nn_params_init(nn_params_t *p, size_t n) {
  memset(p, 0, sizeof *p);
  if (n == 0 || n > (SIZE_MAX / sizeof(float)) / 4u - 16u)
    return HINT_EINVAL;
  size_t stride = padded(n);
  float *base = hint_calloc(4u * stride, sizeof(float));
  if (!base)
    return HINT_ENOMEM;
  p->block = base;
  p->n = n;
  p->w = base;
  p->g = base + stride;
  p->m = base + 2u * stride;
  p->v = base + 3u * stride;
  return HINT_OK;
}

void nn_params_fini(nn_params_t *p) {
  if (!p)
    return;
  hint_free(p->block);
  memset(p, 0, sizeof *p);
}

int nn_params_reserve(nn_params_t *p, size_t count, size_t *offset) {
  if (count > p->n - p->used)
    return HINT_ERANGE;
  *offset = p->used;
  p->used += count;
  return HINT_OK;
}

void nn_params_zero_grad(nn_params_t *p) { memset(p->g, 0, p->n * sizeof(float)); }

double nn_params_grad_norm(const nn_params_t *p) {
  /* Four partial sums let the compiler vectorise without reassociating. */
  double s[4] = {0, 0, 0, 0};
  size_t i = 0, n = p->n;
  const float *g = p->g;
  for (; i + 4 <= n; i += 4)
    for (int k = 0; k < 4; k++)
      s[k] += (double)g[i + k] * (double)g[i + k];
  for (; i < n; i++)
    s[0] += (double)g[i] * (double)g[i];
  return sqrt((s[0] + s[1]) + (s[2] + s[3]));
}

double nn_params_clip_grad(nn_params_t *p, double max_norm) {
  double norm = nn_params_grad_norm(p);
  if (max_norm <= 0.0)
    return norm;
  double coef = max_norm / (norm + 1e-6);
  if (coef < 1.0) {
    float c = (float)coef;
    for (size_t i = 0; i < p->n; i++)
      p->g[i] *= c;
  }
  return norm;
}

static void put_u32(unsigned char *b, uint32_t x) {
  for (int i = 0; i < 4; i++)
    b[i] = (unsigned char)(x >> (8 * i));
}
static void put_u64(unsigned char *b, uint64_t x) {
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(x >> (8 * i));
}
static uint32_t get_u32(const unsigned char *b) {
  uint32_t x = 0;
  for (int i = 3; i >= 0; i--)
    x = (x << 8) | b[i];
  return x;
}
static uint64_t get_u64(const unsigned char *b) {
  uint64_t x = 0;
  for (int i = 7; i >= 0; i--)
    x = (x << 8) | b[i];
  return x;
}

size_t nn_params_blob_size(const nn_params_t *p, int with_adam) {
  return NN_PARAMS_HEADER + (with_adam ? 3u : 1u) * p->n * sizeof(float);
}

int nn_params_save(const nn_params_t *p, int with_adam, void *buf, size_t cap,
                   size_t *len) {
  size_t need = nn_params_blob_size(p, with_adam);
  if (cap < need)
    return HINT_ERANGE;
  unsigned char *b = buf;
  memcpy(b, NN_PARAMS_MAGIC, 4);
  put_u32(b + 4, NN_PARAMS_VERSION);
  put_u32(b + 8, with_adam ? NN_PARAMS_WITH_ADAM : 0u);
  put_u32(b + 12, 0u);
  put_u64(b + 16, (uint64_t)p->n);
  put_u64(b + 24, (uint64_t)(with_adam ? p->step : 0));
  size_t bytes = p->n * sizeof(float);
  memcpy(b + NN_PARAMS_HEADER, p->w, bytes);
  if (with_adam) {
    memcpy(b + NN_PARAMS_HEADER + bytes, p->m, bytes);
    memcpy(b + NN_PARAMS_HEADER + 2u * bytes, p->v, bytes);
  }
  *len = need;
  return HINT_OK;
}

static int all_finite(const unsigned char *b, size_t count) {
  for (size_t i = 0; i < count; i++) {
    float x;
    memcpy(&x, b + i * sizeof(float), sizeof x);
    if (!isfinite(x))
      return 0;
  }
  return 1;
}

int nn_params_load(nn_params_t *p, const void *buf, size_t len) {
  const unsigned char *b = buf;
  if (len < NN_PARAMS_HEADER)
    return HINT_ETRUNC;
  if (memcmp(b, NN_PARAMS_MAGIC, 4) != 0)
    return HINT_EMAGIC;
  if (get_u32(b + 4) != NN_PARAMS_VERSION)
    return HINT_EVERSION;
  uint32_t flags = get_u32(b + 8);
  if ((flags & ~NN_PARAMS_WITH_ADAM) != 0 || get_u32(b + 12) != 0)
    return HINT_EPARSE;
  uint64_t n = get_u64(b + 16);
  if (n != (uint64_t)p->n)
    return HINT_ESHAPE;
  int with_adam = (flags & NN_PARAMS_WITH_ADAM) != 0;
  int64_t step = (int64_t)get_u64(b + 24);
  size_t need = nn_params_blob_size(p, with_adam);
  if (len < need)
    return HINT_ETRUNC;
  if (len > need || step < 0)
    return HINT_EPARSE;
  size_t count = (with_adam ? 3u : 1u) * p->n;
  if (!all_finite(b + NN_PARAMS_HEADER, count))
    return HINT_EPARSE;
  size_t bytes = p->n * sizeof(float);
  /* Adam's second moment is a running mean of squares: never negative. */
  for (size_t i = 0; with_adam && i < p->n; i++) {
    float v;
    memcpy(&v, b + NN_PARAMS_HEADER + 2u * bytes + i * sizeof(float), sizeof v);
    if (v < 0.0f)
      return HINT_EPARSE;
  }
  memcpy(p->w, b + NN_PARAMS_HEADER, bytes);
  if (with_adam) {
    memcpy(p->m, b + NN_PARAMS_HEADER + bytes, bytes);
    memcpy(p->v, b + NN_PARAMS_HEADER + 2u * bytes, bytes);
    p->step = step;
  } else {
    memset(p->m, 0, bytes);
    memset(p->v, 0, bytes);
    p->step = 0;
  }
  return HINT_OK;
}
