/* log.c: see log.h. */
#include "common/core/log.h"
#include "common/core/error.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char log_prefix[64];
static hint_log_level_t log_level = HINT_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void hint_log_init(const char *role, int rank, hint_log_level_t level) {
  log_level = level;
  if (role == NULL)
    log_prefix[0] = '\0';
  else if (rank < 0)
    snprintf(log_prefix, sizeof log_prefix, "[%s] ", role);
  else
    snprintf(log_prefix, sizeof log_prefix, "[%s %d] ", role, rank);
}

void hint_log_set_level(hint_log_level_t level) { log_level = level; }
hint_log_level_t hint_log_get_level(void) { return log_level; }

int hint_log_level_parse(const char *s, hint_log_level_t *out) {
  for (int i = 0; i <= HINT_LOG_OFF; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (hint_log_level_t)i;
      return HINT_OK;
    }
  }
  return HINT_EINVAL;
}

void hint_vlog(hint_log_level_t level, const char *fmt, va_list ap) {
  if (level < log_level || level >= HINT_LOG_OFF)
    return;
  char line[2048];
  int n = snprintf(line, sizeof line, "%s%s: ", log_prefix, level_names[level]);
  if (n < 0)
    return;
  int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  if (m < 0)
    return;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof line - 2)
    len = sizeof line - 2;
  line[len++] = '\n';
  /* One write per line: ranks sharing a terminal never interleave mid-line. */
  ssize_t w = write(STDERR_FILENO, line, len);
  (void)w;
}

void hint_log(hint_log_level_t level, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  hint_vlog(level, fmt, ap);
  va_end(ap);
}
