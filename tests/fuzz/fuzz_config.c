/* fuzz_config.c: libFuzzer target for the config loader (common/config).
 *
 * Any input is YAML text handed to hint_config_load_text(). It must be either
 * rejected with a negative code and a message naming the problem, or accepted
 * as a config that (1) prints (hint_config_format) to text that loads back to
 * the same bytes and the same hash, and (2) leaves no allocation behind.
 * Violations abort(), which both libFuzzer and the replay driver
 * (fuzz_replay.c) report as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config/config.h"
#include "common/core/alloc.h"
#include "common/core/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)                                                                  \
  do {                                                                              \
    if (!(c)) {                                                                     \
      fprintf(stderr, "fuzz_config: invariant failed: %s (line %d)\n", #c, __LINE__); \
      abort();                                                                      \
    }                                                                               \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char text[1 << 16];
  hint_config_t a, b;
  hint_config_error_t err;
  long live = hint_alloc_live();
  int rc = hint_config_load_text(&a, (const char *)data, size, "fuzz.yaml", NULL, 0, &err);
  REQUIRE(hint_alloc_live() == live);
  if (rc != HINT_OK) {
    REQUIRE(rc < 0);
    REQUIRE(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg) != NULL);
    REQUIRE(strcmp(hint_strerror(rc), "") != 0);
    return 0;
  }
  /* Accepted: the effective config must survive a print/load round trip. */
  size_t need = hint_config_format(&a, NULL, 0);
  REQUIRE(need < sizeof text);
  REQUIRE(hint_config_format(&a, text, sizeof text) == need);
  rc = hint_config_load_text(&b, text, need, "printed.yaml", NULL, 0, &err);
  if (rc != HINT_OK)
    fprintf(stderr, "fuzz_config: printed config does not load: %s\n%s\n", err.msg, text);
  REQUIRE(rc == HINT_OK);
  REQUIRE(memcmp(&a, &b, sizeof a) == 0);
  REQUIRE(hint_config_hash(&a) == hint_config_hash(&b));
  REQUIRE(hint_alloc_live() == live);
  return 0;
}
