#!/usr/bin/env bash
# config_cli.sh HINT_CONFIG SOURCE_ROOT: every bad config input gives its
# error text (file, line, key) on stderr and a non-zero exit from the tool.
set -u
tool=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

# expect NAME EXIT_CODE NEEDLE -- ARGS...
expect() {
  local name=$1 code=$2 needle=$3
  shift 4
  local out rc
  out=$("$tool" "$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$code" ] && grep -qF -- "$needle" <<<"$out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL $name: exit $rc (want $code), output: $out (want: $needle)"
  fi
}

printf 'student:\n  lr: 0.1\n  entropy: 0.2\n' >"$tmp/unknown.yaml"
printf 'student:\n  lr: fast\n' >"$tmp/type.yaml"
printf 'env:\n  size: 51\n' >"$tmp/range.yaml"
printf 'env:\n  size: 5\n  size: 6\n' >"$tmp/dup.yaml"
printf 'env:\n  size: 5\n   vision: 1\n' >"$tmp/malformed.yaml"
printf 'env:\n  size: 5\n  vision: 3\n' >"$tmp/vision.yaml"
printf 'env:\n  size: 5\n  perception_agents: 20\n  action_agents: 10\n' >"$tmp/crowded.yaml"

expect unknown 2 "unknown.yaml:3: student.entropy: unknown key" -- "$tmp/unknown.yaml"
expect type 2 "type.yaml:2: student.lr: expected a number, got 'fast'" -- "$tmp/type.yaml"
expect range 2 "range.yaml:2: env.size: 51 is out of range" -- "$tmp/range.yaml"
expect dup 2 "dup.yaml:3: env.size: duplicate key" -- "$tmp/dup.yaml"
expect malformed 2 "malformed.yaml:3: malformed YAML" -- "$tmp/malformed.yaml"
expect missing 2 "cannot open" -- "$tmp/nope.yaml"
expect set_unknown 2 "student.lrr: unknown key" -- --set student.lrr=1 "$root/configs/fire_commander_5x5.yaml"
expect set_type 2 "hint-config: --set: env.size: expected an integer" -- --set env.size=big "$root/configs/fire_commander_5x5.yaml"
expect set_form 1 "--set needs key=value" -- --set env.size "$root/configs/fire_commander_5x5.yaml"
expect vision 2 "env.vision" -- "$tmp/vision.yaml"
expect crowded 2 "env." -- "$tmp/crowded.yaml"
expect bad_option 1 "unknown option '--bogus'" -- --bogus
expect get_unknown 2 "--get no.such: unknown key" -- --get no.such "$root/configs/fire_commander_5x5.yaml"
expect good 0 "valid" -- "$root/configs/fire_commander_5x5.yaml"
expect get 0 "64" -- --get actor.envs "$root/configs/fire_commander_5x5.yaml"
expect help_config 0 "student.kd_anneal_env_steps" -- --help-config
for f in "$root"/configs/*.yaml; do
  expect "shipped $(basename "$f")" 0 "valid" -- "$f"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
