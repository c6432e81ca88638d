/* clock.h: monotonic and wall clocks in seconds. */
#ifndef HINT_CORE_CLOCK_H
#define HINT_CORE_CLOCK_H

#include <time.h>

/* Monotonic seconds since an arbitrary origin; for durations and rates. */
static inline double hint_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds since the Unix epoch; for timestamps in records. */
static inline double hint_wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
