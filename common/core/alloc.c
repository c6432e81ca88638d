/* alloc.c: see alloc.h. */
#include "common/core/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long fail_after = -1;
static atomic_long live;

void hint_alloc_fail_after(long n) { fail_after = n; }
long hint_alloc_live(void) { return atomic_load(&live); }

void *hint_malloc(size_t size) {
  if (fail_after == 0)
    return NULL;
  if (fail_after > 0)
    fail_after--;
  if (size == 0)
    size = 1;
  size_t rounded = (size + 63u) & ~(size_t)63u;
  if (rounded < size)
    return NULL;
  void *p = aligned_alloc(64, rounded);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

void *hint_calloc(size_t n, size_t size) {
  if (size != 0 && n > SIZE_MAX / size)
    return NULL;
  void *p = hint_malloc(n * size);
  if (p != NULL)
    memset(p, 0, n * size == 0 ? 1 : n * size);
  return p;
}

void hint_free(void *p) {
  if (p == NULL)
    return;
  atomic_fetch_sub(&live, 1);
  free(p);
}
