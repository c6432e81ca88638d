/* test_ckpt.c: checkpoint files round-trip, and every corruption is caught:
 * truncation at any length, a flipped byte anywhere, another config's file. */
#include "common/core/alloc.h"
#include "common/core/ckpt.h"
#include "common/core/error.h"

#include "tests/unit/test_util.h"

#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/hint_test_ckpt_XXXXXX");
  return mkdtemp(dir) == NULL;
}

static int teardown(void **state) {
  (void)state;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd);
}

static float params[1000];
static uint64_t counters[3] = {123456789, 42, 7};

static int write_sample(const char *path, uint64_t hash) {
  for (int i = 0; i < 1000; i++)
    params[i] = (float)i * 0.5f - 3.0f;
  hint_ckpt_section_t s[3] = {
      {"params", params, sizeof params},
      {"counters", counters, sizeof counters},
      {"empty", NULL, 0},
  };
  char err[256];
  return hint_ckpt_write(path, hash, s, 3, err, sizeof err);
}

static void test_round_trip(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/a.ckpt", dir);
  assert_int_equal(write_sample(path, 0xabcdef), 0);
  hint_ckpt_t c;
  char err[256];
  assert_int_equal(hint_ckpt_read(path, 0xabcdef, &c, err, sizeof err), 0);
  assert_int_equal(c.n_sections, 3);
  const hint_ckpt_section_t *p = hint_ckpt_find(&c, "params");
  assert_non_null(p);
  assert_int_equal(p->size, sizeof params);
  assert_memory_equal(p->data, params, sizeof params);
  assert_int_equal((uintptr_t)p->data % 64, 0);
  const hint_ckpt_section_t *k = hint_ckpt_find(&c, "counters");
  assert_memory_equal(k->data, counters, sizeof counters);
  assert_int_equal(hint_ckpt_find(&c, "empty")->size, 0);
  assert_null(hint_ckpt_find(&c, "nope"));
  hint_ckpt_free(&c);
  /* no temp file left behind */
  char tmp[600];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  assert_int_not_equal(access(tmp, F_OK), 0);
}

static long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_truncation_detected_everywhere(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/t.ckpt", dir);
  assert_int_equal(write_sample(path, 1), 0);
  long size = file_size(path);
  for (long cut = 0; cut < size; cut += 37) {
    assert_int_equal(write_sample(path, 1), 0);
    assert_int_equal(truncate(path, cut), 0);
    hint_ckpt_t c;
    char err[256];
    int rc = hint_ckpt_read(path, 1, &c, err, sizeof err);
    assert_true(rc == HINT_ETRUNC || rc == HINT_EMAGIC || rc == HINT_ECHECKSUM);
    assert_non_null(strstr(err, path));
  }
}

static void test_flipped_byte_detected_everywhere(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/f.ckpt", dir);
  assert_int_equal(write_sample(path, 1), 0);
  long size = file_size(path);
  if (size <= 0 || size > (1 << 20))
    fail_msg("unexpected checkpoint size %ld", size);
  FILE *f = fopen(path, "rb");
  unsigned char *orig = malloc((size_t)size);
  assert_int_equal(fread(orig, 1, (size_t)size, f), (size_t)size);
  fclose(f);
  int detected = 0, payload_bytes = 0;
  for (long pos = 0; pos < size; pos += 7) {
    /* Flips inside alignment padding change nothing that is loaded; every
     * other byte must be caught. */
    orig[pos] ^= 0x10;
    f = fopen(path, "wb");
    fwrite(orig, 1, (size_t)size, f);
    fclose(f);
    orig[pos] ^= 0x10;
    hint_ckpt_t c;
    char err[256];
    int rc = hint_ckpt_read(path, 1, &c, err, sizeof err);
    int in_params = pos >= 256 && pos < 256 + (long)sizeof params;
    if (rc == HINT_OK) {
      assert_false(in_params);
      hint_ckpt_free(&c);
    } else {
      detected++;
    }
    payload_bytes += in_params;
  }
  assert_true(payload_bytes > 100);
  assert_true(detected >= payload_bytes);
  free(orig);
}

static void test_other_config_and_missing(void **state) {
  (void)state;
  char path[512];
  snprintf(path, sizeof path, "%s/h.ckpt", dir);
  assert_int_equal(write_sample(path, 111), 0);
  hint_ckpt_t c;
  char err[256];
  assert_int_equal(hint_ckpt_read(path, 222, &c, err, sizeof err), HINT_EHASH);
  assert_non_null(strstr(err, "different config"));
  assert_int_equal(hint_ckpt_read(path, 0, &c, err, sizeof err), 0);
  hint_ckpt_free(&c);
  snprintf(path, sizeof path, "%s/none.ckpt", dir);
  assert_int_equal(hint_ckpt_read(path, 0, &c, err, sizeof err), HINT_ENOENT);
}

static void test_bad_sections_and_unwritable(void **state) {
  (void)state;
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/b.ckpt", dir);
  hint_ckpt_section_t dup[2] = {{"a", params, 4}, {"a", params, 4}};
  assert_int_equal(hint_ckpt_write(path, 0, dup, 2, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "duplicate"));
  hint_ckpt_section_t ok[1] = {{"a", params, 4}};
  assert_int_equal(hint_ckpt_write("/nonexistent/dir/x.ckpt", 0, ok, 1, err, sizeof err), HINT_EIO);
  assert_non_null(strstr(err, "/nonexistent/dir/x.ckpt.tmp"));
}

static void test_alloc_failure_on_read(void **state) {
  (void)state;
  char path[512], err[256];
  snprintf(path, sizeof path, "%s/m.ckpt", dir);
  assert_int_equal(write_sample(path, 5), 0);
  long live = hint_alloc_live();
  hint_ckpt_t c;
  hint_alloc_fail_after(0);
  int rc = hint_ckpt_read(path, 5, &c, err, sizeof err);
  hint_alloc_fail_after(-1);
  assert_int_equal(rc, HINT_ENOMEM);
  assert_int_equal(hint_alloc_live(), live);
}

static void test_checksum_single_word_changes(void **state) {
  (void)state;
  uint64_t words[16] = {0};
  uint64_t base = hint_checksum64(words, sizeof words);
  for (int i = 0; i < 16; i++)
    for (int bit = 0; bit < 64; bit += 9) {
      words[i] ^= 1ULL << bit;
      assert_true(hint_checksum64(words, sizeof words) != base);
      words[i] ^= 1ULL << bit;
    }
  /* length matters too */
  assert_true(hint_checksum64(words, 8) != hint_checksum64(words, 16));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_truncation_detected_everywhere),
      cmocka_unit_test(test_flipped_byte_detected_everywhere),
      cmocka_unit_test(test_other_config_and_missing),
      cmocka_unit_test(test_bad_sections_and_unwritable),
      cmocka_unit_test(test_alloc_failure_on_read),
      cmocka_unit_test(test_checksum_single_word_changes),
  };
  return cmocka_run_group_tests_name("ckpt", tests, setup, teardown);
}
