/* fuzz_msg_replay.c: a bounded fuzz run of the decoder without libFuzzer.
 *
 * Built with gcc and AddressSanitizer/UBSan in the normal suite: runs
 * fuzz_msg.c's target on every file of the committed seed corpus, then on
 * random mutations of them (bit flips, byte overwrites with msgpack headers
 * and boundary values, truncation, extension, splicing) until N executions
 * or T seconds. A memory error or a broken invariant aborts the process, so
 * the test fails. Prints one JSON line with executions and crashes.
 *
 *   fuzz_msg_replay CORPUS_DIR [N [SECONDS [SEED]]]
 *   fuzz_msg_replay --write-seeds DIR   (regenerates the seed corpus)
 *   fuzz_msg_replay --canary            (must crash: sanitizers are armed)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/core/clock.h"
#include "tests/fuzz/fuzz_msg.h"

#define MAX_SEEDS 256
#define MAX_LEN (1 << 16)

static uint64_t rs;
static uint64_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

static int write_file(const char *dir, const char *name, const void *p, size_t n) {
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  fwrite(p, 1, n, f);
  fclose(f);
  return 0;
}

/* One valid message of each type (and variants) under the fuzz shapes. */
static int write_seeds(const char *dir) {
  msg_shapes_t s = fuzz_msg_shapes();
  msg_buf_t b;
  if (msg_buf_init(&b, msg_max_bytes_any(&s))) return 1;
  static float f[4096];
  static int32_t i32[1024];
  static uint8_t u8[1024];
  for (int k = 0; k < 4096; k++) f[k] = (float)k * 0.5f - 3.0f;
  for (int k = 0; k < 1024; k++) { i32[k] = k % 6; u8[k] = (uint8_t)(k & 1); }
  uint64_t T = s.T, T1 = T + 1, E = s.E, A = s.n_agents;
  msg_any_t m;
  memset(&m, 0, sizeof(m));
  m.type = MSG_SEGMENT;
  msg_segment_t *g = &m.u.segment;
  g->actor_rank = 1; g->seq = 7; g->policy_version = 3; g->teacher_version = 2; g->env_steps = 1000;
  g->T = s.T; g->E = s.E; g->n_agents = s.n_agents; g->obs_dim = s.obs_dim; g->state_dim = s.state_dim;
  g->n_actions = s.n_actions; g->comm_dim = s.comm_dim;
  g->obs = msg_tensor(f, T1 * E * A * s.obs_dim);
  g->state = msg_tensor(f, T1 * E * s.state_dim);
  g->actions = msg_tensor(i32, T * E * A);
  g->logp = msg_tensor(f, T * E * A);
  g->rewards = msg_tensor(f, T * E);
  g->dones = msg_tensor(u8, T * E);
  g->truncated = msg_tensor(u8, T * E);
  g->value = msg_tensor(f, T1 * E);
  g->trunc_value = msg_tensor(f, T * E);
  g->driver = msg_tensor(u8, T * E);
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "segment_required", b.data, b.len);
  g->goals = msg_tensor(i32, T * E * A);
  g->goal_logp = msg_tensor(f, T * E * A);
  g->avail = msg_tensor(u8, T1 * E * A * s.n_actions);
  g->comm = msg_tensor(f, T * E * A * s.comm_dim);
  g->trunc_state = msg_tensor(f, T * E * s.state_dim);
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "segment_full", b.data, b.len);
  write_file(dir, "segment_truncated", b.data, b.len / 3);

  memset(&m, 0, sizeof(m));
  m.type = MSG_TARGETS;
  m.u.targets = (msg_targets_t){.actor_rank = 2, .seq = 7, .teacher_version = 2, .T = s.T, .E = s.E,
                                .n_agents = s.n_agents, .n_actions = s.n_actions};
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "targets_empty", b.data, b.len);
  m.u.targets.pi = msg_tensor(f, T * E * A * s.n_actions);
  m.u.targets.value = msg_tensor(f, T * E);
  m.u.targets.mask = msg_tensor(u8, T * E * A);
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "targets_full", b.data, b.len);

  memset(&m, 0, sizeof(m));
  m.type = MSG_TEACHER_PARAMS;
  m.u.params = (msg_params_t){.version = 5, .env_steps = 9, .n = s.n_teacher_params};
  m.u.params.params = msg_tensor(f, s.n_teacher_params);
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "teacher_params", b.data, b.len);
  m.type = MSG_STUDENT_PARAMS;
  m.u.params = (msg_params_t){.sender_rank = 1, .version = 6, .n = s.n_student_params};
  m.u.params.params = msg_tensor(f, s.n_student_params);
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "student_params", b.data, b.len);

  memset(&m, 0, sizeof(m));
  m.type = MSG_HELLO;
  m.u.hello = (msg_hello_t){.rank = 1, .config_hash = 0x0123456789abcdefull, .pid = 77};
  m.u.hello.build_id = msg_str("hint 0.1.0");
  m.u.hello.host = msg_str("node-1");
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "hello", b.data, b.len);

  memset(&m, 0, sizeof(m));
  m.type = MSG_STATS;
  m.u.stats = (msg_stats_t){.actor_rank = 2, .env_steps = 4096, .episodes = 3, .successes = 1,
                            .return_sum = -4.5, .length_sum = 90, .t_env = 0.5, .kd_kept = 0.3};
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "stats", b.data, b.len);

  memset(&m, 0, sizeof(m));
  m.type = MSG_CONTROL;
  m.u.control = (msg_control_t){.cmd = MSG_CTRL_EVALUATE, .rank = 1, .seq = 2, .arg = -1};
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "control", b.data, b.len);

  memset(&m, 0, sizeof(m));
  m.type = MSG_BYE;
  m.u.bye = (msg_bye_t){.rank = 1, .reason = -26};
  m.u.bye.text = msg_str("stopped");
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "bye", b.data, b.len);

  memset(&m, 0, sizeof(m));
  m.type = MSG_EVAL;
  m.u.eval = (msg_eval_t){.actor_rank = 1, .eval_id = 2, .env_steps = 5000, .episodes = 10,
                          .sampled_success = 0.5, .greedy_success = 0.25, .teacher_success = -1,
                          .reference_success = 0.9, .reference_length = 20};
  if (msg_encode(&b, &s, &m, NULL)) return 1;
  write_file(dir, "eval", b.data, b.len);

  static const uint8_t huge_map[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa5, 'm', 'a', 'g', 'i', 'c',
                                     0xce, 0x48, 0x49, 0x4e, 0x54};
  write_file(dir, "huge_map", huge_map, sizeof(huge_map));
  msg_buf_fini(&b);
  return 0;
}

typedef struct {
  uint8_t *p;
  size_t n;
} seed_t;

static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xc4, 0xc5, 0xc6, 0xca, 0xcb,
                                      0xce, 0xcf, 0xd9, 0xda, 0xdb, 0xde, 0xdf, 0xa0, 0xbf, 0x90};

static size_t mutate(uint8_t *buf, size_t n, const seed_t *seeds, int n_seeds) {
  int k = 1 + (int)(rnd() % 4);
  for (int j = 0; j < k; j++) {
    switch (rnd() % 7) {
    case 0: if (n) buf[rnd() % n] ^= (uint8_t)(1u << (rnd() % 8)); break;
    case 1: if (n) buf[rnd() % n] = interesting[rnd() % sizeof(interesting)]; break;
    case 2: if (n) n = rnd() % n; break;                                  /* truncate */
    case 3: {                                                             /* 4 bytes of 0xff */
      if (n >= 4) { size_t at = rnd() % (n - 3); memset(buf + at, 0xff, 4); }
      break;
    }
    case 4: {                                                             /* extend */
      size_t add = rnd() % 64;
      if (n + add <= MAX_LEN) { for (size_t i = 0; i < add; i++) buf[n + i] = (uint8_t)rnd(); n += add; }
      break;
    }
    case 5: {                                                             /* splice */
      const seed_t *o = &seeds[rnd() % (uint64_t)n_seeds];
      if (o->n && n) {
        size_t at = rnd() % n, from = rnd() % o->n, len = rnd() % (o->n - from + 1);
        if (at + len > MAX_LEN) len = MAX_LEN - at;
        memcpy(buf + at, o->p + from, len);
        if (at + len > n) n = at + len;
      }
      break;
    }
    default: if (n) buf[rnd() % n] = (uint8_t)rnd(); break;
    }
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
  if (argc == 2 && strcmp(argv[1], "--canary") == 0) {
    /* Proves the sanitizers are armed: a one-byte heap over-read must abort
     * (the suite runs this with should_fail). */
    uint8_t *p = calloc(16, 1);
    volatile size_t past_end = 16; /* volatile: hidden from the compiler */
    uint8_t v = ((volatile uint8_t *)p)[past_end];
    free(p);
    printf("canary not caught (%u): sanitizers are off\n", v);
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: %s CORPUS_DIR [N [SECONDS [SEED]]]\n", argv[0]);
    return 2;
  }
  long n_iter = argc > 2 ? atol(argv[2]) : 200000;
  double seconds = argc > 3 ? atof(argv[3]) : 10.0;
  rs = argc > 4 ? strtoull(argv[4], NULL, 10) : (uint64_t)time(NULL);
  if (!rs) rs = 88172645463325252ull;
  uint64_t seed_used = rs;
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
    if ((it & 255) == 0 && hint_now_s() - t0 > seconds) break;
    const seed_t *sd = &seeds[rnd() % (uint64_t)n_seeds];
    memcpy(work, sd->p, sd->n);
    size_t n = mutate(work, sd->n, seeds, n_seeds);
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, work, n);
    LLVMFuzzerTestOneInput(c, n);
    free(c);
    execs++;
  }
  printf("{\"fuzz\":\"msg_replay\",\"seeds\":%d,\"execs\":%ld,\"crashes\":0,\"seconds\":%.1f,\"rng_seed\":%llu}\n",
         n_seeds, execs, hint_now_s() - t0, (unsigned long long)seed_used);
  for (int i = 0; i < n_seeds; i++) free(seeds[i].p);
  return 0;
}
