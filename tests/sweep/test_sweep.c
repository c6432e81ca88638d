/* test_sweep.c: sweep files (common/sweep/sweep.c): grid x zip expansion and
 * its order, run ids, run directories and plan lines, nested keys and list
 * values, validation of every run's config, plan files and run states, every
 * class of bad input with its message, and allocation failures. */
#include "common/core/alloc.h"
#include "common/core/error.h"
#include "common/sweep/sweep.h"

#include "tests/unit/test_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  char dir[64];         /* temporary directory */
  char sweep[128];      /* <dir>/sweeps/s.yaml */
  char base[128];       /* <dir>/base.yaml, a copy of configs/fire_commander_5x5.yaml */
  char out[128];        /* <dir>/out */
} fx_t;

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/test_sweep_XXXXXX");
  if (mkdtemp(f->dir) == NULL)
    return -1;
  snprintf(f->sweep, sizeof f->sweep, "%s/sweeps", f->dir);
  mkdir(f->sweep, 0755);
  snprintf(f->sweep, sizeof f->sweep, "%s/sweeps/s.yaml", f->dir);
  snprintf(f->base, sizeof f->base, "%s/base.yaml", f->dir);
  snprintf(f->out, sizeof f->out, "%s/out", f->dir);
  const char *src = getenv("HINT_SOURCE_ROOT");
  char cfg[PATH_MAX];
  snprintf(cfg, sizeof cfg, "%s/configs/fire_commander_5x5.yaml", src ? src : "..");
  FILE *in = fopen(cfg, "r"), *o = fopen(f->base, "w");
  if (in == NULL || o == NULL)
    return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    fwrite(buf, 1, n, o);
  fclose(in);
  fclose(o);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  int rc = system(cmd);
  free(f);
  return rc == 0 ? 0 : -1;
}

static void write_sweep(const fx_t *f, const char *text) {
  FILE *o = fopen(f->sweep, "w");
  assert_non_null(o);
  fputs(text, o);
  fclose(o);
}

/* Loads text as the sweep file; returns the code, err holds the message. */
static int load(const fx_t *f, const char *text, const char *const *extra, int n_extra,
                sweep_t **s, char *err, size_t cap) {
  write_sweep(f, text);
  return sweep_load(s, f->sweep, f->out, extra, n_extra, err, cap);
}

#define HEAD "name: t\nbase: ../base.yaml\n"

static void test_expand_order(void **state) {
  fx_t *f = *state;
  sweep_t *s;
  char err[1024];
  int rc = load(f,
                HEAD "grid:\n  algo.name: [hint, mappo]\n  run.seed: [1, 2]\n"
                     "zip:\n  env.perception_agents: [2, 3, 4]\n  env.action_agents: [1, 2, 3]\n",
                NULL, 0, &s, err, sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_int_equal(s->n_runs, 12);
  assert_int_equal(s->n_keys, 4);
  assert_string_equal(s->keys[0], "algo.name");
  assert_string_equal(s->keys[1], "run.seed");
  assert_string_equal(s->keys[2], "env.perception_agents");
  assert_string_equal(s->keys[3], "env.action_agents");
  /* first grid key slowest, zip rows fastest */
  static const char *const want[12][4] = {
      {"hint", "1", "2", "1"},  {"hint", "1", "3", "2"},  {"hint", "1", "4", "3"},
      {"hint", "2", "2", "1"},  {"hint", "2", "3", "2"},  {"hint", "2", "4", "3"},
      {"mappo", "1", "2", "1"}, {"mappo", "1", "3", "2"}, {"mappo", "1", "4", "3"},
      {"mappo", "2", "2", "1"}, {"mappo", "2", "3", "2"}, {"mappo", "2", "4", "3"},
  };
  for (int r = 0; r < 12; r++)
    for (int k = 0; k < 4; k++)
      assert_string_equal(s->runs[r].values[k], want[r][k]);
  assert_string_equal(s->runs[4].id, "algo=hint,run.seed=2,env.perception_agents=3,env.action_agents=2");
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/t", f->out);
  assert_string_equal(s->dir, dir);
  snprintf(dir, sizeof dir, "%s/t/%s", f->out, s->runs[4].id);
  assert_string_equal(s->runs[4].dir, dir);
  assert_string_equal(s->name, "t");
  assert_string_equal(s->base, f->base); /* relative to the sweep file, made absolute */
  assert_int_equal(sweep_key_index(s, "run.seed"), 1);
  assert_int_equal(sweep_key_index(s, "student.lr"), -1);
  sweep_destroy(&s);
  assert_null(s);
  sweep_destroy(&s); /* NULL-safe */
}

static void test_plan_line(void **state) {
  fx_t *f = *state;
  sweep_t *s;
  char err[1024];
  const char *extra[] = {"actor.count=1"};
  int rc = load(f,
                HEAD "set:\n  run.total_env_steps: 1000\n  filter.modes: [value, consistency]\n"
                     "grid:\n  run.seed: [7]\n",
                extra, 1, &s, err, sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_int_equal(s->n_runs, 1);
  char want[2048];
  snprintf(want, sizeof want,
           "%s --set run.total_env_steps=1000 --set filter.modes=[value,consistency] "
           "--set actor.count=1 --set run.seed=7 --set run.dir=%s/t --set run.name=run.seed=7",
           f->base, f->out);
  assert_string_equal(s->runs[0].line, want);
  assert_int_equal(s->runs[0].total_env_steps, 0); /* filled by validation only */
  assert_int_equal(sweep_validate(s, err, sizeof err), HINT_OK);
  assert_int_equal(s->runs[0].total_env_steps, 1000);
  assert_int_equal(s->runs[0].actors, 1);
  sweep_destroy(&s);
}

static void test_nested_lists_single(void **state) {
  fx_t *f = *state;
  sweep_t *s;
  char err[1024];
  /* nested keys flatten; a list value is one value; an empty list value is [] */
  int rc = load(f,
                HEAD "set:\n  run:\n    total_env_steps: 2000\n"
                     "grid:\n  algo:\n    name: [hint, kd]\n  filter:\n    modes: [[value], []]\n",
                NULL, 0, &s, err, sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_int_equal(s->n_runs, 4);
  assert_string_equal(s->set[0].key, "run.total_env_steps");
  assert_string_equal(s->keys[0], "algo.name");
  assert_string_equal(s->keys[1], "filter.modes");
  assert_string_equal(s->runs[0].values[1], "[value]");
  assert_string_equal(s->runs[1].values[1], "[]");
  assert_string_equal(s->runs[1].id, "algo=hint,filter.modes=__");
  assert_int_equal(sweep_validate(s, err, sizeof err), HINT_OK);
  sweep_destroy(&s);
  /* no grid and no zip: one run */
  rc = load(f, HEAD "set:\n  run.seed: 3\n", NULL, 0, &s, err, sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_int_equal(s->n_runs, 1);
  assert_int_equal(s->n_keys, 0);
  assert_string_equal(s->runs[0].id, "run");
  sweep_destroy(&s);
  /* a null section is an absent one */
  rc = load(f, HEAD "set:\ngrid:\n  run.seed: [1, 2]\nzip: ~\n", NULL, 0, &s, err, sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_int_equal(s->n_runs, 2);
  sweep_destroy(&s);
}

static void test_ids(void **state) {
  fx_t *f = *state;
  sweep_t *s;
  char err[1024];
  /* characters a directory name should not hold become '_' */
  int rc = load(f, HEAD "grid:\n  transport.interface: [eth0, 'a/b:c']\n", NULL, 0, &s, err,
                sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_string_equal(s->runs[1].id, "transport.interface=a_b_c");
  sweep_destroy(&s);
  /* long ids are cut to SWEEP_ID_MAX and stay distinct through a hash */
  char text[2048], v1[301], v2[301];
  memset(v1, 'x', 300);
  v1[300] = '\0';
  memcpy(v2, v1, sizeof v2);
  v2[299] = 'y';
  snprintf(text, sizeof text, HEAD "grid:\n  transport.interface: [%s, %s]\n", v1, v2);
  rc = load(f, text, NULL, 0, &s, err, sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_int_equal(strlen(s->runs[0].id), SWEEP_ID_MAX);
  assert_int_equal(strlen(s->runs[1].id), SWEEP_ID_MAX);
  assert_string_not_equal(s->runs[0].id, s->runs[1].id);
  assert_memory_equal(s->runs[0].id, "transport.interface=xxx", 23);
  sweep_destroy(&s);
  /* ids do not depend on the set section or the out directory */
  rc = load(f, HEAD "set:\n  student.lr: 0.001\ngrid:\n  run.seed: [1]\n", NULL, 0, &s, err,
            sizeof err);
  assert_int_equal(rc, HINT_OK);
  assert_string_equal(s->runs[0].id, "run.seed=1");
  sweep_destroy(&s);
}

static void test_out_dirs(void **state) {
  fx_t *f = *state;
  sweep_t *s;
  char err[1024], cwd[PATH_MAX], want[PATH_MAX + 64];
  write_sweep(f, HEAD "grid:\n  run.seed: [1]\n");
  assert_non_null(getcwd(cwd, sizeof cwd));
  assert_int_equal(sweep_load(&s, f->sweep, "./not-yet/made/", NULL, 0, err, sizeof err), HINT_OK);
  snprintf(want, sizeof want, "%s/not-yet/made/t", cwd);
  assert_string_equal(s->dir, want);
  sweep_destroy(&s);
  assert_int_equal(sweep_load(&s, f->sweep, NULL, NULL, 0, err, sizeof err), HINT_OK);
  snprintf(want, sizeof want, "%s/runs/t", cwd);
  assert_string_equal(s->dir, want);
  sweep_destroy(&s);
}

static int pending(const sweep_run_t *r) { return !sweep_run_done(r); }

static int count_lines(const char *path) {
  FILE *in = fopen(path, "r");
  if (in == NULL)
    return -1;
  int n = 0, ch;
  while ((ch = fgetc(in)) != EOF)
    n += ch == '\n';
  fclose(in);
  return n;
}

static void test_plan_file_and_state(void **state) {
  fx_t *f = *state;
  sweep_t *s;
  char err[1024], p[PATH_MAX + 64];
  assert_int_equal(load(f, HEAD "grid:\n  run.seed: [1, 2, 3]\n", NULL, 0, &s, err, sizeof err),
                   HINT_OK);
  snprintf(p, sizeof p, "%s/plan.txt", s->dir);
  assert_int_equal(sweep_write_plan(s, p, NULL, err, sizeof err), 3);
  assert_int_equal(count_lines(p), 3);
  FILE *in = fopen(p, "r");
  char line[4096];
  assert_non_null(fgets(line, sizeof line, in));
  fclose(in);
  line[strcspn(line, "\n")] = '\0';
  assert_string_equal(line, s->runs[0].line);
  /* states: result.json = done; ckpt/ckpt-* = has a checkpoint */
  for (int r = 0; r < 3; r++) {
    assert_false(sweep_run_done(&s->runs[r]));
    assert_false(sweep_run_has_ckpt(&s->runs[r]));
  }
  mkdir(s->runs[1].dir, 0755);
  snprintf(p, sizeof p, "%s/result.json", s->runs[1].dir);
  fclose(fopen(p, "w"));
  snprintf(p, sizeof p, "%s/ckpt", s->runs[2].dir);
  mkdir(s->runs[2].dir, 0755);
  mkdir(p, 0755);
  snprintf(p, sizeof p, "%s/ckpt/partial-000000000100", s->runs[2].dir);
  mkdir(p, 0755);
  assert_false(sweep_run_has_ckpt(&s->runs[2])); /* a partial one does not count */
  snprintf(p, sizeof p, "%s/ckpt/ckpt-000000000064", s->runs[2].dir);
  mkdir(p, 0755);
  assert_true(sweep_run_done(&s->runs[1]));
  assert_true(sweep_run_has_ckpt(&s->runs[2]));
  assert_false(sweep_run_done(&s->runs[2]));
  snprintf(p, sizeof p, "%s/pending.txt", f->dir);
  assert_int_equal(sweep_write_plan(s, p, pending, err, sizeof err), 2);
  assert_int_equal(count_lines(p), 2);
  /* an unwritable place is an error naming the path */
  assert_int_equal(sweep_write_plan(s, "/proc/no/such/plan.txt", NULL, err, sizeof err), HINT_EIO);
  assert_non_null(strstr(err, "/proc/no"));
  sweep_destroy(&s);
}

/* Every class of bad input: the code, and words the message must contain. */
typedef struct {
  const char *text;
  int validate; /* the problem shows only when validating the runs */
  int rc;
  const char *must[3];
} bad_t;

static void test_bad_inputs(void **state) {
  fx_t *f = *state;
  static const bad_t bad[] = {
      {"", 0, HINT_EPARSE, {"s.yaml", "empty"}},
      {"- a\n- b\n", 0, HINT_ETYPE, {"s.yaml:1", "mapping"}},
      {"name: t\nbase: ../base.yaml\ngrid: [1\n", 0, HINT_EPARSE, {"malformed YAML"}},
      {"base: ../base.yaml\ngrid:\n  run.seed: [1]\n", 0, HINT_ECONFIG, {"s.yaml", "name", "missing"}},
      {"name: t\ngrid:\n  run.seed: [1]\n", 0, HINT_ECONFIG, {"s.yaml", "base", "missing"}},
      {"name: t\nbase: nothere.yaml\n", 0, HINT_ENOENT, {"s.yaml:2", "base", "nothere.yaml"}},
      {"name: t\nbase: ..\n", 0, HINT_ENOENT, {"s.yaml:2", "not a regular file"}},
      {HEAD "runs: 3\n", 0, HINT_EUNKNOWN_KEY, {"s.yaml:3", "unknown top-level key 'runs'"}},
      {HEAD "name: u\n", 0, HINT_EDUPKEY, {"s.yaml:3", "name", "twice"}},
      {"name: a/b\nbase: ../base.yaml\n", 0, HINT_EINVAL, {"s.yaml:1", "name", "not a directory name"}},
      {"name: ..\nbase: ../base.yaml\n", 0, HINT_EINVAL, {"name", "not a directory name"}},
      {HEAD "grid:\n  run.seed: []\n", 0, HINT_EINVAL, {"s.yaml:4", "run.seed", "empty list"}},
      {HEAD "zip:\n  env.fires: []\n", 0, HINT_EINVAL, {"s.yaml:4", "env.fires", "empty list"}},
      {HEAD "grid:\n  run.seed: 1\n", 0, HINT_ETYPE, {"s.yaml:4", "run.seed", "list of values"}},
      {HEAD "grid: [1, 2]\n", 0, HINT_ETYPE, {"s.yaml:3", "mapping"}},
      {HEAD "zip:\n  env.perception_agents: [2, 3]\n  env.action_agents: [1]\n", 0, HINT_EINVAL,
       {"s.yaml:5", "unequal length", "env.action_agents has 1"}},
      {HEAD "grid:\n  run.seed: [1, 2, 1]\n", 0, HINT_EINVAL, {"s.yaml:4", "run.seed", "'1' appears twice"}},
      {HEAD "grid:\n  run.seed: [1]\n  run:\n    seed: [2]\n", 0, HINT_EDUPKEY, {"s.yaml:6", "run.seed", "twice"}},
      {HEAD "set:\n  run.seed: 1\ngrid:\n  run.seed: [2]\n", 0, HINT_EDUPKEY, {"s.yaml:6", "both set (line 4) and grid"}},
      {HEAD "grid:\n  run.seed: [1]\nzip:\n  run.seed: [2]\n", 0, HINT_EDUPKEY, {"both grid", "and zip"}},
      {HEAD "set:\n  run.dir: /x\n", 0, HINT_EINVAL, {"s.yaml:4", "run.dir", "set by the sweep"}},
      {HEAD "grid:\n  run.name: [a, b]\n", 0, HINT_EINVAL, {"run.name", "set by the sweep"}},
      {HEAD "grid:\n  student.lr: ['1 2']\n", 0, HINT_EINVAL, {"s.yaml:4", "student.lr", "a space"}},
      {HEAD "set:\n  transport.interface: \"a;b\"\n", 0, HINT_EINVAL, {"transport.interface", "';'"}},
      {HEAD "set:\n  student.lr: {a: 1}\n", 1, HINT_EUNKNOWN_KEY, {"s.yaml:4", "student.lr.a"}},
      {HEAD "grid:\n  filter.modes: [[[value]]]\n", 0, HINT_ETYPE, {"filter.modes", "not deeper"}},
      {HEAD "grid:\n  student lr: [1]\n", 0, HINT_EINVAL, {"s.yaml:4", "cannot contain a space"}},
      {HEAD "zip:\n  env.perception_agents: [2, 2]\n  env.action_agents: [1, 1]\n", 0, HINT_EINVAL,
       {"runs 1 and 2", "same id"}},
      {HEAD "grid:\n  transport.interface: ['a/b', a_b]\n", 0, HINT_EINVAL, {"runs 1 and 2", "same id"}},
      /* found by validating each run like hint-config */
      {HEAD "grid:\n  run.sead: [1, 2]\n", 1, HINT_EUNKNOWN_KEY,
       {"s.yaml:4", "run.sead", "did you mean 'run.seed'"}},
      {HEAD "set:\n  student.lrr: 0.1\n", 1, HINT_EUNKNOWN_KEY, {"s.yaml:4", "student.lrr", "unknown key"}},
      {HEAD "grid:\n  env.perception_agents: [2, 30]\n", 1, HINT_EINFEASIBLE,
       {"s.yaml:4", "run 2 of 2 (env.perception_agents=30)", "5x5 map has 25"}},
      {HEAD "grid:\n  run.seed: [abc]\n", 1, HINT_ETYPE, {"s.yaml:4", "run.seed"}},
      {HEAD "grid:\n  student.lr: [0.001, -1]\n", 1, HINT_ERANGE, {"student.lr", "run 2 of 2"}},
      {HEAD "grid:\n  eval.episodes: [10, 300]\n", 1, HINT_ECONFIG, {"eval.episodes", "300", "run 2 of 2"}},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sweep_t *s = NULL;
    char err[2048] = "";
    int rc = load(f, bad[i].text, NULL, 0, &s, err, sizeof err);
    if (bad[i].validate) {
      if (rc != HINT_OK)
        fail_msg("case %zu: load failed before validation: %s", i, err);
      rc = sweep_validate(s, err, sizeof err);
      sweep_destroy(&s);
    } else {
      assert_null(s);
    }
    if (rc != bad[i].rc)
      fail_msg("case %zu: rc %d (%s), want %d; message: %s", i, rc, hint_errname(rc), bad[i].rc, err);
    for (int m = 0; m < 3 && bad[i].must[m]; m++)
      if (strstr(err, bad[i].must[m]) == NULL)
        fail_msg("case %zu: message lacks '%s': %s", i, bad[i].must[m], err);
  }
  /* command-line extras */
  sweep_t *s = NULL;
  char err[1024];
  const char *clash[] = {"run.seed=3"}, *dir[] = {"run.dir=/x"}, *noeq[] = {"run.seed"},
             *space[] = {"student.lr=1 2"};
  const char *text = HEAD "grid:\n  run.seed: [1]\n";
  assert_int_equal(load(f, text, clash, 1, &s, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "the sweep varies this key"));
  assert_int_equal(load(f, text, dir, 1, &s, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "set by the sweep"));
  assert_int_equal(load(f, text, noeq, 1, &s, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "key=value"));
  assert_int_equal(load(f, text, space, 1, &s, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "a space"));
  /* a missing sweep file, an out directory a plan line cannot carry */
  assert_int_equal(sweep_load(&s, "/nonexistent/s.yaml", f->out, NULL, 0, err, sizeof err), HINT_ENOENT);
  assert_non_null(strstr(err, "/nonexistent/s.yaml"));
  write_sweep(f, text);
  assert_int_equal(sweep_load(&s, f->sweep, "/tmp/a b", NULL, 0, err, sizeof err), HINT_EINVAL);
  assert_non_null(strstr(err, "--out"));
  assert_null(s);
}

/* Every allocation of a load can fail: HINT_ENOMEM, nothing leaked. */
static void test_alloc_failure(void **state) {
  fx_t *f = *state;
  write_sweep(f, HEAD "set:\n  run.total_env_steps: 1000\n  filter.modes: [value]\n"
                      "grid:\n  algo.name: [hint, mappo]\n  run.seed: [1, 2]\n"
                      "zip:\n  env.perception_agents: [2, 3]\n  env.action_agents: [1, 2]\n");
  const char *extra[] = {"actor.count=1"};
  const long base = hint_alloc_live();
  int ok = 0;
  for (long n = 0; n < 2000 && !ok; n++) {
    sweep_t *s = NULL;
    char err[1024];
    hint_alloc_fail_after(n);
    int rc = sweep_load(&s, f->sweep, f->out, extra, 1, err, sizeof err);
    hint_alloc_fail_after(-1);
    if (rc == HINT_OK) {
      ok = 1;
      assert_int_equal(s->n_runs, 8);
      sweep_destroy(&s);
    } else {
      if (rc != HINT_ENOMEM)
        fail_msg("allocation %ld failing gave %s: %s", n, hint_errname(rc), err);
      assert_null(s);
    }
    assert_int_equal(hint_alloc_live(), base);
  }
  assert_true(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_expand_order, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plan_line, setup, teardown),
      cmocka_unit_test_setup_teardown(test_nested_lists_single, setup, teardown),
      cmocka_unit_test_setup_teardown(test_ids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_out_dirs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plan_file_and_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_inputs, setup, teardown),
      cmocka_unit_test_setup_teardown(test_alloc_failure, setup, teardown),
  };
  return cmocka_run_group_tests_name("sweep", tests, NULL, NULL);
}
