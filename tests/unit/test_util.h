/* test_util.h: domain asserts shared by the CMocka tests.
 *
 * assert_close(a, b, n, atol, rtol) fails with the first index where
 * |a - b| > atol + rtol * |b|, printing both values. Include after cmocka.h.
 */
#ifndef HINT_TEST_UTIL_H
#define HINT_TEST_UTIL_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

static inline void assert_close_impl(const float *a, const float *b, size_t n,
                                     double atol, double rtol, const char *file,
                                     int line) {
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (!(d <= atol + rtol * fabs((double)b[i]))) {
      print_error("index %zu: %.9g vs %.9g (|diff| %.3g > atol %.3g + rtol %.3g)\n",
                  i, (double)a[i], (double)b[i], d, atol, rtol);
      _fail(file, line);
    }
  }
}

static inline void assert_close_d_impl(const double *a, const double *b, size_t n,
                                       double atol, double rtol, const char *file,
                                       int line) {
  for (size_t i = 0; i < n; i++) {
    double d = fabs(a[i] - b[i]);
    if (!(d <= atol + rtol * fabs(b[i]))) {
      print_error("index %zu: %.12g vs %.12g (|diff| %.3g > atol %.3g + rtol %.3g)\n",
                  i, a[i], b[i], d, atol, rtol);
      _fail(file, line);
    }
  }
}

#define assert_close(a, b, n, atol, rtol) \
  assert_close_impl((a), (b), (n), (atol), (rtol), __FILE__, __LINE__)
#define assert_close_d(a, b, n, atol, rtol) \
  assert_close_d_impl((a), (b), (n), (atol), (rtol), __FILE__, __LINE__)

#endif
