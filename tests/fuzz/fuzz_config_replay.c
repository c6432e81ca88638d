/* fuzz_config_replay.c: a bounded fuzz run of the config loader without
 * libFuzzer.
 *
 * Built with gcc and AddressSanitizer/UBSan in the normal suite: runs
 * fuzz_config.c's target on every file of the committed seed corpus
 * (tests/fuzz/corpus/config: the shipped configs and malformed variants),
 * then on random mutations of them until N executions or T seconds. The
 * mutations are YAML-aware (indicators, anchors, quotes, indentation, schema
 * key names, boundary numbers, line duplication and splicing) as well as
 * byte-level. A memory error, a leak or a broken invariant aborts the
 * process, so the test fails. Prints one JSON line with executions.
 *
 *   fuzz_config_replay CORPUS_DIR [N [SECONDS [SEED]]]
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/config/schema.h"
#include "common/core/clock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SEEDS 256
#define MAX_LEN (1 << 15)

static uint64_t rs;
static uint64_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

typedef struct {
  uint8_t *p;
  size_t n;
} seed_t;

static const char *const tokens[] = {
    ":", ": ", "-", "- ", "[", "]", "{", "}", ",", "\n", "  ", "\t", "#", "&a ", "*a", "&b ", "*b",
    "!!str ", "!!int ", "!!map ", "? ", "<<: ", "---\n", "...\n", "'", "\"", "\\", "|\n", ">\n", "~",
    "null", "true", "no", "yes", ".nan", ".inf", "-.inf", "1e999", "-0", "0x7fffffff", "2147483648",
    "-2147483649", "9223372036854775808", "1e-320", "0.0", "\"\\0\"", "\"\\u00e9\"", "\xc3\xa9",
    "\xff", "%YAML 1.1\n", "[a, b]", "{a: 1}", "[]", "{}"};

/* Replaces buf[at, at+del) by ins[0, len); keeps n <= MAX_LEN. */
static size_t put(uint8_t *buf, size_t n, size_t at, size_t del, const void *ins, size_t len) {
  if (at > n) at = n;
  if (del > n - at) del = n - at;
  if (n - del + len > MAX_LEN) return n;
  memmove(buf + at + len, buf + at + del, n - at - del);
  memcpy(buf + at, ins, len);
  return n - del + len;
}

static size_t line_start(const uint8_t *buf, size_t at) {
  while (at > 0 && buf[at - 1] != '\n') at--;
  return at;
}

static size_t line_end(const uint8_t *buf, size_t n, size_t at) {
  while (at < n && buf[at] != '\n') at++;
  return at < n ? at + 1 : n;
}

static size_t mutate(uint8_t *buf, size_t n, const seed_t *seeds, int n_seeds) {
  static uint8_t tmp[MAX_LEN];
  int k = 1 + (int)(rnd() % 3);
  for (int j = 0; j < k; j++) {
    size_t at = n ? rnd() % (n + 1) : 0;
    switch (rnd() % 9) {
    case 0: /* a YAML token */ {
      const char *t = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
      n = put(buf, n, at, rnd() % 3, t, strlen(t));
      break;
    }
    case 1: /* a schema key, as "leaf: " or as a dotted path */ {
      const char *key = cfg_schema[rnd() % (uint64_t)cfg_schema_len].key;
      const char *leaf = strrchr(key, '.');
      const char *s = (rnd() & 1) && leaf ? leaf + 1 : key;
      char line[160];
      int len = snprintf(line, sizeof line, "%s: ", s);
      n = put(buf, n, at, 0, line, (size_t)len);
      break;
    }
    case 2: /* replace a value: the rest of a line after ": " */ {
      size_t e = line_end(buf, n, at);
      const char *t = tokens[rnd() % (sizeof tokens / sizeof tokens[0])];
      n = put(buf, n, at, e > at + 1 ? e - at - 1 : 0, t, strlen(t));
      break;
    }
    case 3: /* duplicate a line */ {
      size_t s = line_start(buf, at), e = line_end(buf, n, at);
      memcpy(tmp, buf + s, e - s);
      n = put(buf, n, e, 0, tmp, e - s);
      break;
    }
    case 4: /* delete a line */ {
      size_t s = line_start(buf, at), e = line_end(buf, n, at);
      n = put(buf, n, s, e - s, "", 0);
      break;
    }
    case 5: /* change indentation */ {
      size_t s = line_start(buf, at);
      if (rnd() & 1) n = put(buf, n, s, 0, "  ", 1 + rnd() % 2);
      else if (s < n && buf[s] == ' ') n = put(buf, n, s, 1, "", 0);
      break;
    }
    case 6: /* splice a line range of another seed */ {
      const seed_t *o = &seeds[rnd() % (uint64_t)n_seeds];
      if (o->n) {
        size_t from = line_start(o->p, rnd() % o->n), to = line_end(o->p, o->n, from + rnd() % 200);
        if (to > o->n) to = o->n;
        n = put(buf, n, line_start(buf, at), 0, o->p + from, to - from);
      }
      break;
    }
    case 7: /* truncate */ n = at; break;
    default: /* a random byte */ {
      uint8_t b = (uint8_t)rnd();
      n = put(buf, n, at, rnd() % 2, &b, 1);
      break;
    }
    }
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR [N [SECONDS [SEED]]]\n", argv[0]);
    return 2;
  }
  long n_iter = argc > 2 ? atol(argv[2]) : 100000;
  double seconds = argc > 3 ? atof(argv[3]) : 10.0;
  rs = argc > 4 ? strtoull(argv[4], NULL, 10) : (uint64_t)time(NULL);
  if (!rs) rs = 88172645463325252ull;
  uint64_t seed_used = rs;
  /* First, so a run that aborts on an invariant can be replayed with this SEED. */
  fprintf(stderr, "fuzz_config_replay: rng_seed %llu (replay: %s %s N SECONDS %llu)\n",
          (unsigned long long)seed_used, argv[0], argv[1], (unsigned long long)seed_used);
  DIR *d = opendir(argv[1]);
  if (!d) { perror(argv[1]); return 2; }
  static seed_t seeds[MAX_SEEDS];
  int n_seeds = 0;
  struct dirent *de;
  while ((de = readdir(d)) && n_seeds < MAX_SEEDS) {
    if (de->d_name[0] == '.') continue;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", argv[1], de->d_name);
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    uint8_t *p = malloc(MAX_LEN);
    if (!p) { fclose(f); return 2; }
    size_t n = fread(p, 1, MAX_LEN, f);
    fclose(f);
    seeds[n_seeds].p = p;
    seeds[n_seeds].n = n;
    n_seeds++;
  }
  closedir(d);
  if (n_seeds == 0) { fprintf(stderr, "no seeds in %s\n", argv[1]); return 2; }
  long execs = 0;
  for (int i = 0; i < n_seeds; i++, execs++) {
    /* Exact-size copies so ASan sees any read past the end. */
    uint8_t *c = malloc(seeds[i].n ? seeds[i].n : 1);
    memcpy(c, seeds[i].p, seeds[i].n);
    LLVMFuzzerTestOneInput(c, seeds[i].n);
    free(c);
  }
  static uint8_t work[MAX_LEN];
  double t0 = hint_now_s();
  for (long it = 0; it < n_iter; it++) {
    if ((it & 63) == 0 && hint_now_s() - t0 > seconds) break;
    const seed_t *sd = &seeds[rnd() % (uint64_t)n_seeds];
    memcpy(work, sd->p, sd->n);
    size_t n = mutate(work, sd->n, seeds, n_seeds);
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, work, n);
    LLVMFuzzerTestOneInput(c, n);
    free(c);
    execs++;
  }
  printf("{\"fuzz\":\"config_replay\",\"seeds\":%d,\"execs\":%ld,\"crashes\":0,\"seconds\":%.1f,\"rng_seed\":%llu}\n",
         n_seeds, execs, hint_now_s() - t0, (unsigned long long)seed_used);
  for (int i = 0; i < n_seeds; i++) free(seeds[i].p);
  return 0;
}
