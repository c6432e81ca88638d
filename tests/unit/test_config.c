/* test_config.c: the YAML config loader and its schema table.
 *
 * Every class of bad input (unknown key, wrong type, out of range, duplicate
 * key, malformed YAML, bad override) must fail with a message naming file,
 * line and key; good input, overrides and the print -> load round trip must
 * give exactly the struct we expect.
 */
#include "common/config/cli.h"
#include "common/config/config.h"
#include "common/config/schema.h"
#include "common/core/alloc.h"
#include "common/core/error.h"

#include "tests/unit/test_util.h"

#include <string.h>

static int load(const char *text, hint_config_t *cfg, hint_config_error_t *err) {
  return hint_config_load_text(cfg, text, strlen(text), "t.yaml", NULL, 0, err);
}

static void expect_error(const char *text, int code, int line, const char *key, const char *needle) {
  hint_config_t cfg;
  hint_config_error_t err;
  int rc = load(text, &cfg, &err);
  if (rc != code || err.line != line || strcmp(err.key, key) != 0 || strstr(err.msg, needle) == NULL)
    print_error("text:\n%s\ngot rc %d (%s) line %d key '%s' msg '%s'\n", text, rc, hint_errname(rc),
                err.line, err.key, err.msg);
  assert_int_equal(rc, code);
  assert_int_equal(err.line, line);
  assert_string_equal(err.key, key);
  assert_non_null(strstr(err.msg, needle));
  /* The file name is always in the message. */
  assert_non_null(strstr(err.msg, "t.yaml"));
}

static void test_defaults_match_schema(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_defaults(&cfg);
  assert_int_equal(cfg.env.name, HINT_ENV_FIRE_COMMANDER);
  assert_int_equal(cfg.env.size, 5);
  assert_int_equal(cfg.env.perception_agents, 2);
  assert_int_equal(cfg.env.action_agents, 1);
  assert_int_equal(cfg.env.episode_limit, 80);
  assert_int_equal(cfg.algo.name, HINT_ALGO_HINT);
  assert_true(fabs(cfg.student.lr - 5e-4) < 1e-12);
  assert_true(fabs(cfg.student.adam_eps - 1e-5) < 1e-15);
  assert_int_equal(cfg.student.epochs, 5);
  assert_int_equal(cfg.student.comm, HINT_COMM_MEAN);
  assert_int_equal(cfg.filter.modes, HINT_FILTER_VALUE | HINT_FILTER_CONSISTENCY);
  assert_true(fabs(cfg.interaction.teacher_env_frac.start - 0.5) < 1e-12);
  assert_string_equal(cfg.run.dir, "runs");
  /* Every schema row has help text and a type-consistent default. */
  for (int i = 0; i < cfg_schema_len; i++) {
    assert_non_null(cfg_schema[i].help);
    assert_true(strlen(cfg_schema[i].help) > 3);
    assert_non_null(cfg_schema_find(cfg_schema[i].key));
  }
}

static void test_good_file(void **state) {
  (void)state;
  const char *text =
      "# a comment\n"
      "run:\n"
      "  name: exp1\n"
      "  total_env_steps: 1e6\n"
      "env:\n"
      "  name: marine\n"
      "  size: 10\n"
      "  waves:\n"
      "    bins: easy\n"
      "    mean: 3\n"
      "student:\n"
      "  lr: 0.001\n"
      "  comm: none\n"
      "interaction:\n"
      "  teacher_env_frac: {start: 0.75, end: 0.25}\n"
      "filter:\n"
      "  modes: [confidence, advantage]\n";
  hint_config_t cfg;
  hint_config_error_t err;
  int rc = load(text, &cfg, &err);
  if (rc)
    print_error("%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_string_equal(cfg.run.name, "exp1");
  assert_int_equal(cfg.run.total_env_steps, 1000000);
  assert_int_equal(cfg.env.name, HINT_ENV_MARINE);
  assert_int_equal(cfg.env.size, 10);
  assert_int_equal(cfg.env.waves.bins, HINT_WAVE_BINS_EASY);
  assert_true(cfg.env.waves.mean == 3.0);
  assert_true(cfg.student.lr == 0.001);
  assert_int_equal(cfg.student.comm, HINT_COMM_NONE);
  assert_true(cfg.interaction.teacher_env_frac.start == 0.75);
  assert_true(cfg.interaction.teacher_env_frac.end == 0.25);
  assert_int_equal(cfg.filter.modes, HINT_FILTER_CONFIDENCE | HINT_FILTER_ADVANTAGE);
}

static void test_empty_lists_and_files(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_error_t err;
  assert_int_equal(load("filter:\n  modes: []\n", &cfg, &err), 0);
  assert_int_equal(cfg.filter.modes, 0);
  assert_int_equal(load("", &cfg, &err), 0);
  assert_int_equal(cfg.env.size, 5);
  assert_int_equal(load("# only a comment\n", &cfg, &err), 0);
}

static void test_unknown_key(void **state) {
  (void)state;
  expect_error("student:\n  lr: 0.1\n  entropy: 0.2\n", HINT_EUNKNOWN_KEY, 3, "student.entropy",
               "unknown key");
  /* A near miss suggests the real key. */
  expect_error("student:\n  ent_cof: 0.2\n", HINT_EUNKNOWN_KEY, 2, "student.ent_cof",
               "did you mean 'student.ent_coef'");
  expect_error("studnet:\n  lr: 0.1\n", HINT_EUNKNOWN_KEY, 1, "studnet", "unknown key");
}

static void test_wrong_type(void **state) {
  (void)state;
  expect_error("student:\n  lr: fast\n", HINT_ETYPE, 2, "student.lr", "expected a number, got 'fast'");
  expect_error("env:\n  size: 5.5\n", HINT_ETYPE, 2, "env.size", "expected an integer");
  expect_error("run:\n  sync: maybe\n", HINT_ETYPE, 2, "run.sync", "expected true or false");
  expect_error("env:\n  size: [5]\n", HINT_ETYPE, 2, "env.size", "got a list");
  expect_error("env: 5\n", HINT_ETYPE, 1, "env", "is a section");
  expect_error("student:\n  lr:\n", HINT_ETYPE, 2, "student.lr", "got nothing");
  expect_error("filter:\n  modes: {a: 1}\n", HINT_ETYPE, 2, "filter.modes", "mapping");
  expect_error("- a\n- b\n", HINT_ETYPE, 1, "", "top level must be a mapping");
}

static void test_out_of_range(void **state) {
  (void)state;
  expect_error("env:\n  size: 51\n", HINT_ERANGE, 2, "env.size", "51 is out of range [5, 50]");
  expect_error("env:\n  vision: -1\n", HINT_ERANGE, 2, "env.vision", "out of range");
  expect_error("student:\n  gamma: 1.5\n", HINT_ERANGE, 2, "student.gamma", "1.5 is out of range");
  expect_error("algo:\n  name: sac\n", HINT_ERANGE, 2, "algo.name", "'sac' is not one of: hint, mappo, ippo, kd");
  expect_error("filter:\n  modes: [value, luck]\n", HINT_ERANGE, 2, "filter.modes", "'luck' is not one of");
  expect_error("student:\n  lr: .nan\n", HINT_ETYPE, 2, "student.lr", "expected a number");
}

static void test_duplicate_key(void **state) {
  (void)state;
  expect_error("env:\n  size: 5\n  vision: 1\n  size: 10\n", HINT_EDUPKEY, 4, "env.size",
               "duplicate key (first given on line 2)");
  expect_error("env:\n  size: 5\nenv:\n  vision: 1\n", HINT_EDUPKEY, 3, "env", "duplicate key");
  expect_error("filter:\n  modes: [value, value]\n", HINT_EDUPKEY, 2, "filter.modes", "listed twice");
}

static void test_malformed_yaml(void **state) {
  (void)state;
  expect_error("env:\n  size: 5\n   vision: 1\n", HINT_EPARSE, 3, "", "malformed YAML");
  expect_error("env: [1, 2\n", HINT_EPARSE, 2, "", "malformed YAML");
  expect_error("env:\n\tsize: 5\n", HINT_EPARSE, 2, "", "malformed YAML");
  expect_error("a: 1\n---\nb: 2\n", HINT_EPARSE, 3, "", "more than one YAML document");
}

static void test_cross_key_rules(void **state) {
  (void)state;
  expect_error("eval:\n  episodes: 500\nenv:\n  eval_episodes: 100\n", HINT_ECONFIG, 0, "eval.episodes",
               "more than the fixed evaluation set");
  expect_error("transport:\n  bind: interface\n", HINT_ECONFIG, 0, "transport.interface", "must be set");
  expect_error("run:\n  name: a/b\n", HINT_ECONFIG, 0, "run.name", "without '/'");
}

static void test_overrides(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_error_t err;
  const char *ov[] = {"student.lr=0.003", "filter.modes=[advantage]", "env.name=marine",
                      "run.name=with spaces", "run.sync=true", "filter.modes=[]"};
  int rc = hint_config_load_text(&cfg, "student:\n  lr: 0.1\n", 19, "t.yaml", ov, 6, &err);
  if (rc)
    print_error("%s\n", err.msg);
  assert_int_equal(rc, 0);
  assert_true(cfg.student.lr == 0.003);
  assert_int_equal(cfg.filter.modes, 0);
  assert_int_equal(cfg.env.name, HINT_ENV_MARINE);
  assert_string_equal(cfg.run.name, "with spaces");
  assert_int_equal(cfg.run.sync, 1);

  const char *bad1[] = {"student.lrr=1"};
  rc = hint_config_load_text(&cfg, "", 0, "t.yaml", bad1, 1, &err);
  assert_int_equal(rc, HINT_EUNKNOWN_KEY);
  assert_string_equal(err.key, "student.lrr");
  assert_non_null(strstr(err.msg, "--set"));
  assert_non_null(strstr(err.msg, "did you mean 'student.lr'"));

  const char *bad2[] = {"env.size=huge"};
  rc = hint_config_load_text(&cfg, "", 0, "t.yaml", bad2, 1, &err);
  assert_int_equal(rc, HINT_ETYPE);
  assert_string_equal(err.key, "env.size");
  assert_int_equal(err.line, 0);

  const char *bad3[] = {"env.size"};
  rc = hint_config_load_text(&cfg, "", 0, "t.yaml", bad3, 1, &err);
  assert_int_equal(rc, HINT_EINVAL);
  assert_non_null(strstr(err.msg, "key=value"));

  const char *bad4[] = {"env.size=99"};
  rc = hint_config_load_text(&cfg, "", 0, "t.yaml", bad4, 1, &err);
  assert_int_equal(rc, HINT_ERANGE);
}

static void test_failed_load_leaves_struct_alone(void **state) {
  (void)state;
  hint_config_t cfg, before;
  hint_config_error_t err;
  memset(&cfg, 0x5a, sizeof cfg);
  before = cfg;
  assert_int_equal(load("env:\n  size: 7\n  vision: 9\n", &cfg, &err), HINT_ERANGE);
  assert_memory_equal(&cfg, &before, sizeof cfg);
}

static void test_print_load_round_trip(void **state) {
  (void)state;
  hint_config_t a, b;
  hint_config_error_t err;
  const char *ov[] = {"student.lr=0.00031", "run.name=q\"uote", "filter.modes=[value, confidence]",
                      "student.gamma=0.97", "env.waves.netcdf_path=/tmp/x y.nc"};
  assert_int_equal(hint_config_load_text(&a, "", 0, "t.yaml", ov, 5, &err), 0);
  size_t need = hint_config_format(&a, NULL, 0);
  char *text = hint_malloc(need + 1);
  assert_non_null(text);
  assert_int_equal(hint_config_format(&a, text, need + 1), need);
  int rc = hint_config_load_text(&b, text, need, "printed.yaml", NULL, 0, &err);
  if (rc)
    print_error("%s\n%s\n", err.msg, text);
  assert_int_equal(rc, 0);
  assert_memory_equal(&a, &b, sizeof a);
  assert_true(hint_config_hash(&a) == hint_config_hash(&b));
  b.student.lr = 0.0003;
  assert_true(hint_config_hash(&a) != hint_config_hash(&b));
  assert_non_null(strstr(text, "  lr: 0.00031\n"));
  hint_free(text);
}

static void test_resume_hash(void **state) {
  (void)state;
  hint_config_t a, b;
  hint_config_defaults(&a);
  b = a;
  b.run.total_env_steps *= 2;
  b.ckpt.interval_s = 7;
  b.transport.port = 5555;
  assert_true(hint_config_hash(&a) != hint_config_hash(&b));
  assert_true(hint_config_hash_resume(&a) == hint_config_hash_resume(&b));
  b.student.lr *= 2;
  assert_true(hint_config_hash_resume(&a) != hint_config_hash_resume(&b));
  assert_true(hint_config_key_resumable("eval.episodes"));
  assert_false(hint_config_key_resumable("env.size"));
}

static void test_load_missing_file(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_error_t err;
  int rc = hint_config_load(&cfg, "/nonexistent/dir/x.yaml", NULL, 0, &err);
  assert_int_equal(rc, HINT_ENOENT);
  assert_non_null(strstr(err.msg, "/nonexistent/dir/x.yaml"));
}

static void test_shipped_configs_load(void **state) {
  (void)state;
  const char *root = getenv("HINT_SOURCE_ROOT");
  if (root == NULL)
    root = ".";
  const char *files[] = {"fire_commander_5x5.yaml", "fire_commander_10x10.yaml", "fire_commander_20x20.yaml",
                         "marine_5x5.yaml", "marine_10x10.yaml"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/configs/%s", root, files[i]);
    hint_config_t cfg;
    hint_config_error_t err;
    int rc = hint_config_load(&cfg, path, NULL, 0, &err);
    if (rc)
      print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
  }
}

static void test_cli_parse(void **state) {
  (void)state;
  hint_cli_t cli;
  char err[256];
  char *argv1[] = {"prog", "--set", "a.b=1", "c.yaml", "--set=x.y=2", "--dry-run", "--hostfile", "h"};
  const char *extra[] = {"--hostfile", NULL};
  assert_int_equal(hint_cli_parse(8, argv1, extra, &cli, err, sizeof err), 0);
  assert_string_equal(cli.config_path, "c.yaml");
  assert_int_equal(cli.n_overrides, 2);
  assert_string_equal(cli.overrides[1], "x.y=2");
  assert_int_equal(cli.dry_run, 1);
  assert_string_equal(hint_cli_extra(&cli, "--hostfile"), "h");
  char *argv2[] = {"prog", "--bogus"};
  assert_int_equal(hint_cli_parse(2, argv2, NULL, &cli, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "--bogus"));
  char *argv3[] = {"prog", "--set", "novalue"};
  assert_int_equal(hint_cli_parse(3, argv3, NULL, &cli, err, sizeof err), HINT_EINVAL);
  char *argv4[] = {"prog", "a.yaml", "b.yaml"};
  assert_int_equal(hint_cli_parse(3, argv4, NULL, &cli, err, sizeof err), HINT_EINVAL);
}

static void test_alloc_failure(void **state) {
  (void)state;
  hint_config_t cfg;
  hint_config_error_t err;
  char path[1024];
  const char *root = getenv("HINT_SOURCE_ROOT");
  snprintf(path, sizeof path, "%s/configs/fire_commander_5x5.yaml", root ? root : ".");
  long live = hint_alloc_live();
  hint_alloc_fail_after(0);
  int rc = hint_config_load(&cfg, path, NULL, 0, &err);
  hint_alloc_fail_after(-1);
  assert_int_equal(rc, HINT_ENOMEM);
  assert_non_null(strstr(err.msg, "out of memory"));
  assert_int_equal(hint_alloc_live(), live);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_defaults_match_schema),
      cmocka_unit_test(test_good_file),
      cmocka_unit_test(test_empty_lists_and_files),
      cmocka_unit_test(test_unknown_key),
      cmocka_unit_test(test_wrong_type),
      cmocka_unit_test(test_out_of_range),
      cmocka_unit_test(test_duplicate_key),
      cmocka_unit_test(test_malformed_yaml),
      cmocka_unit_test(test_cross_key_rules),
      cmocka_unit_test(test_overrides),
      cmocka_unit_test(test_failed_load_leaves_struct_alone),
      cmocka_unit_test(test_print_load_round_trip),
      cmocka_unit_test(test_resume_hash),
      cmocka_unit_test(test_load_missing_file),
      cmocka_unit_test(test_shipped_configs_load),
      cmocka_unit_test(test_cli_parse),
      cmocka_unit_test(test_alloc_failure),
  };
  return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
