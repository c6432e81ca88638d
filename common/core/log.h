/* log.h: levelled logging with a role/rank prefix.
 *
 * Lines go to stderr as "[learner 0] warn: text". The prefix and the level are
 * process-wide and set once by main (hint_log_init) before any other thread
 * exists; after that the logger only reads them. Each line is written with one
 * write call so ranks sharing a terminal do not interleave mid-line.
 */
#ifndef HINT_CORE_LOG_H
#define HINT_CORE_LOG_H

#include <stdarg.h>

typedef enum {
  HINT_LOG_DEBUG = 0,
  HINT_LOG_INFO = 1,
  HINT_LOG_WARN = 2,
  HINT_LOG_ERROR = 3,
  HINT_LOG_OFF = 4,
} hint_log_level_t;

/* Sets the prefix ("learner", rank 0) and the minimum level shown. role may be
 * NULL (no prefix); rank < 0 omits the rank. */
void hint_log_init(const char *role, int rank, hint_log_level_t level);
void hint_log_set_level(hint_log_level_t level);
hint_log_level_t hint_log_get_level(void);
/* Parses "debug", "info", "warn", "error", "off"; returns 0 or HINT_EINVAL. */
int hint_log_level_parse(const char *s, hint_log_level_t *out);

void hint_log(hint_log_level_t level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hint_vlog(hint_log_level_t level, const char *fmt, va_list ap);

#define LOG_DEBUG(...) hint_log(HINT_LOG_DEBUG, __VA_ARGS__)
#define LOG_INFO(...) hint_log(HINT_LOG_INFO, __VA_ARGS__)
#define LOG_WARN(...) hint_log(HINT_LOG_WARN, __VA_ARGS__)
#define LOG_ERROR(...) hint_log(HINT_LOG_ERROR, __VA_ARGS__)

#endif
