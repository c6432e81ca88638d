/* alloc.h: the one allocation path, with failure injection for tests.
 *
 * All project allocations go through hint_malloc/hint_calloc/hint_free so that
 * tests can make the N-th allocation fail (hint_alloc_fail_after) and check
 * that every create function returns HINT_ENOMEM and leaks nothing.
 * Allocation happens at start-up only; hot loops never call these.
 * Objects are aligned to 64 bytes (cache lines, AVX-512 loads).
 */
#ifndef HINT_CORE_ALLOC_H
#define HINT_CORE_ALLOC_H

#include <stddef.h>

/* 64-byte aligned, uninitialised; NULL on failure (real or injected). */
void *hint_malloc(size_t size);
/* 64-byte aligned, zeroed; NULL on failure or size overflow. */
void *hint_calloc(size_t n, size_t size);
/* NULL-safe. */
void hint_free(void *p);

/* Test hook: the next `n` allocations succeed, every one after fails, until
 * hint_alloc_fail_after(-1) disarms it. Not thread-safe; tests only. */
void hint_alloc_fail_after(long n);
/* Number of live allocations made through hint_malloc/hint_calloc. */
long hint_alloc_live(void);

#endif
