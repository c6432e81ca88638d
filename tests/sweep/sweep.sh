#!/usr/bin/env bash
# sweep.sh: deploy/hint-sweep end to end (suite 'sweep').
#
#   sweep.sh e2e        a 4-run sweep (FireCommander 5x5, mappo, 50k env steps
#                       each): plan, run, status, rerun after deleting one run
#                       (only that one runs), submit --dry-run, aggregate (CSV
#                       rows, Markdown, PNG magic)
#   sweep.sh interrupt  SIGINT to a running sweep: exit 130, a checkpoint and
#                       no result; the rerun resumes from the checkpoint
#   sweep.sh errors     bad inputs exit non-zero with a message naming them
#   sweep.sh aggregate  aggregation arithmetic and files on made-up results
#
# Needs HINT_SOURCE_ROOT and BUILD_DIR (set by meson).
set -uo pipefail
src=${HINT_SOURCE_ROOT:?HINT_SOURCE_ROOT not set}
export BUILD_DIR=${BUILD_DIR:?BUILD_DIR not set}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
sweep="$src/deploy/hint-sweep"
tmp=$(mktemp -d /tmp/hint-sweep-test.XXXXXX) && [ -d "$tmp" ] || { echo "sweep.sh: mktemp failed" >&2; exit 1; }
# A sweep runs in the background and is waited for, so a SIGTERM (meson's
# timeout) reaches this trap at once: it stops the sweep, whose jobs then
# checkpoint and end instead of outliving the test.
child=""
cleanup() {
  if [ -n "$child" ] && kill -0 "$child" 2>/dev/null; then
    kill -TERM "$child" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$child" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
# bg CMD...: runs CMD in the background and waits for it; returns its status
bg() {
  "$@" &
  child=$!
  wait "$child"
  local rc=$?
  child=""
  return "$rc"
}
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# A sweep file in $tmp/sweeps with its base given relative to it.
mkdir -p "$tmp/sweeps" "$tmp/configs"
cp "$src/configs/fire_commander_5x5.yaml" "$tmp/configs/fc5.yaml"
write_sweep() { # name budget seeds -> $tmp/sweeps/<name>.yaml
  cat > "$tmp/sweeps/$1.yaml" <<EOF
name: $1
base: ../configs/fc5.yaml
set:
  algo.name: mappo
  run.total_env_steps: $2
  eval.episodes: 10
  env.eval_episodes: 10
  eval.interval_env_steps: 1000000
  metrics.interval_s: 0.5
  actor.count: 1
grid:
  run.seed: $3
zip:
  env.perception_agents: [2, 3]
  env.action_agents: [1, 1]
EOF
}

# expect_fail WHAT WORDS... -- CMD...: CMD exits non-zero and its stderr has every word
expect_fail() {
  local what=$1 words=()
  shift
  while [ "$1" != "--" ]; do words+=("$1"); shift; done
  shift
  local err rc
  err=$("$@" 2>&1 >/dev/null)
  rc=$?
  if [ "$rc" -eq 0 ]; then fail "$what: exit 0"; return; fi
  for w in "${words[@]}"; do
    case "$err" in *"$w"*) ;; *) fail "$what: message lacks '$w': $err"; return ;; esac
  done
  ok "$what (exit $rc): $(echo "$err" | head -n 1)"
}

png_ok() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; }

case_e2e() {
  write_sweep tiny 50000 "[1, 2]"
  local s="$tmp/sweeps/tiny.yaml" out="$tmp/out" d="$tmp/out/tiny"
  # plan: 4 lines, also in plan.txt
  local plan
  plan=$("$sweep" plan "$s" --out "$out") || fail "plan exited $?"
  [ "$(echo "$plan" | wc -l)" -eq 4 ] || fail "plan printed $(echo "$plan" | wc -l) lines, want 4"
  [ "$(wc -l < "$d/plan.txt")" -eq 4 ] || fail "plan.txt has $(wc -l < "$d/plan.txt") lines"
  local first="$tmp/configs/fc5.yaml --set algo.name=mappo --set run.total_env_steps=50000"
  case "$(echo "$plan" | head -n 1)" in
    "$first"*"--set run.seed=1 --set env.perception_agents=2 --set env.action_agents=1 --set run.dir=$d --set run.name=run.seed=1,env.perception_agents=2,env.action_agents=1") ok "plan line" ;;
    *) fail "plan line: $(echo "$plan" | head -n 1)" ;;
  esac
  # submit --dry-run before anything ran: the whole array
  local line
  line=$("$sweep" submit "$s" --out "$out" --dry-run --sbatch-arg --time=00:10:00 2>/dev/null) || fail "submit --dry-run exited $?"
  case "$line" in
    "sbatch --array=0-3 --ntasks=2 --time=00:10:00 $src/deploy/slurm/hint-array.sbatch $d/plan-submit-"*.txt*) ok "submit --dry-run: $line" ;;
    *) fail "submit --dry-run printed: $line" ;;
  esac
  local pf
  pf=$(echo "$line" | awk '{print $NF}')
  [ "$(wc -l < "$pf")" -eq 4 ] || fail "submit plan file $pf has $(wc -l < "$pf") lines"
  diff -q "$pf" "$d/plan.txt" >/dev/null || fail "submit plan file differs from plan.txt"
  # run everything
  # two jobs at once (1 learner + 1 actor each)
  bg "$sweep" run "$s" --out "$out" -j 2 > "$tmp/run1.log" 2>&1 || { fail "run exited $?"; cat "$tmp/run1.log"; }
  if [ "$(nproc)" -lt 4 ]; then
    grep -q "warning: 2 jobs x (1 learner + 1 actors) = 4 ranks on $(nproc) cores" "$tmp/run1.log" &&
      ok "-j 2: ranks exceed cores warning" || fail "-j 2 did not warn about ranks exceeding cores"
  fi
  local n
  n=$(ls "$d"/*/result.json 2>/dev/null | wc -l)
  [ "$n" -eq 4 ] && ok "4 result.json" || fail "$n result.json after run, want 4"
  grep -q "run 4 of 4" "$tmp/run1.log" || fail "run log lacks progress 'run 4 of 4'"
  grep -q "ETA" "$tmp/run1.log" || fail "run log lacks an ETA"
  for f in "$d"/*/launch.log; do grep -q "budget reached" "$f" || fail "$f lacks the run's output"; done
  # status: all done
  "$sweep" status "$s" --out "$out" > "$tmp/status.txt" || fail "status exited $?"
  grep -q "4 runs: 4 done, 0 partial" "$tmp/status.txt" && ok "status" || { fail "status:"; cat "$tmp/status.txt"; }
  # rerun after deleting one run: only that one runs
  local victim="$d/run.seed=2,env.perception_agents=3,env.action_agents=1"
  [ -d "$victim" ] || fail "no run dir $victim"
  local keep="$d/run.seed=1,env.perception_agents=2,env.action_agents=1/result.json"
  local before
  before=$(stat -c %Y.%s "$keep")
  rm -rf "$victim"
  line=$("$sweep" submit "$s" --out "$out" --dry-run 2>/dev/null)
  case "$line" in "sbatch --array=0-0 "*) ok "submit --dry-run after deleting one: --array=0-0" ;; *) fail "submit after delete: $line" ;; esac
  pf=$(echo "$line" | awk '{print $NF}')
  grep -q "run.name=run.seed=2,env.perception_agents=3,env.action_agents=1$" "$pf" || fail "pending plan file: $(cat "$pf")"
  bg "$sweep" run "$s" --out "$out" > "$tmp/run2.log" 2>&1 || { fail "rerun exited $?"; cat "$tmp/run2.log"; }
  grep -q "4 runs, 3 already finished, 1 to run" "$tmp/run2.log" && ok "rerun runs only the deleted run" ||
    { fail "rerun:"; cat "$tmp/run2.log"; }
  [ "$(grep -c ' started: ' "$tmp/run2.log")" -eq 1 ] || fail "rerun started $(grep -c ' started: ' "$tmp/run2.log") runs"
  [ -f "$victim/result.json" ] || fail "the rerun did not finish $victim"
  [ "$(stat -c %Y.%s "$keep")" = "$before" ] || fail "a finished run was touched by the rerun"
  # nothing left to submit
  line=$("$sweep" submit "$s" --out "$out" --dry-run 2>&1)
  case "$line" in *"nothing to submit"*) ok "submit with nothing left" ;; *) fail "submit when done: $line" ;; esac
  # aggregate
  "$sweep" aggregate "$s" --out "$out" > "$tmp/agg.log" 2>&1 || { fail "aggregate exited $?"; cat "$tmp/agg.log"; }
  [ "$(wc -l < "$d/results.csv")" -eq 5 ] && ok "results.csv: header + 4 rows" || fail "results.csv has $(wc -l < "$d/results.csv") lines"
  head -n 1 "$d/results.csv" | grep -q '^id,run.seed,env.perception_agents,env.action_agents,run,algo,' || fail "csv header: $(head -n 1 "$d/results.csv")"
  grep -q 'sampled_success' "$d/results.csv" || fail "csv lacks sampled_success"
  grep -q '^| 2 | 1 | 2 | ' "$d/results.md" && grep -q '^| 3 | 1 | 2 | ' "$d/results.md" &&
    ok "results.md groups over seeds" || { fail "results.md:"; cat "$d/results.md"; }
  for p in success throughput; do
    if [ -f "$d/$p.png" ] && png_ok "$d/$p.png"; then ok "$p.png is a PNG"; else fail "$p.png missing or not a PNG"; fi
  done
  # a missing run is listed, not fatal; a malformed log line is skipped and counted
  rm -rf "$victim"
  echo '{"env_steps": 12, truncated' >> "$d/run.seed=1,env.perception_agents=2,env.action_agents=1/metrics.jsonl"
  "$sweep" aggregate "$s" --out "$out" > "$tmp/agg2.log" 2>&1 || { fail "aggregate with a missing run exited $?"; cat "$tmp/agg2.log"; }
  grep -q "missing run.seed=2,env.perception_agents=3,env.action_agents=1: not started" "$tmp/agg2.log" ||
    { fail "aggregate does not list the missing run"; cat "$tmp/agg2.log"; }
  grep -q "1 malformed line skipped" "$tmp/agg2.log" || { fail "malformed line not reported"; cat "$tmp/agg2.log"; }
  [ "$(wc -l < "$d/results.csv")" -eq 4 ] || fail "results.csv with a missing run has $(wc -l < "$d/results.csv") lines"
  grep -q "## Missing runs (1)" "$d/results.md" && ok "missing run listed in results.md" || fail "results.md lacks the missing run"
  grep -q '^| 3 | 1 | 1 of 2 | ' "$d/results.md" || fail "results.md does not show 1 of 2 seeds"
}

case_interrupt() {
  write_sweep intr 5000000 "[1]"
  local s="$tmp/sweeps/intr.yaml" out="$tmp/out" d="$tmp/out/intr"
  local r="$d/run.seed=1,env.perception_agents=2,env.action_agents=1"
  set -m # own process group, as in a terminal: the script gets the SIGINT, not the ranks
  "$sweep" run "$s" --out "$out" > "$tmp/intr.log" 2>&1 &
  local pid=$!
  child=$pid
  set +m
  local i
  for i in $(seq 100); do
    [ -s "$r/metrics.jsonl" ] && grep -q '"env_steps":[1-9]' "$r/metrics.jsonl" && break
    sleep 0.3
  done
  kill -INT -- -"$pid"
  wait "$pid"
  local rc=$?
  child=""
  [ "$rc" -eq 130 ] && ok "interrupted sweep exits 130" || { fail "interrupted sweep exited $rc"; cat "$tmp/intr.log"; }
  grep -q "stopped (checkpointed" "$tmp/intr.log" || { fail "no clean stop reported"; cat "$tmp/intr.log"; }
  ls -d "$r"/ckpt/ckpt-* >/dev/null 2>&1 && ok "checkpoint written" || fail "no checkpoint in $r/ckpt"
  [ ! -f "$r/result.json" ] || fail "an interrupted run has result.json"
  "$sweep" status "$s" --out "$out" | grep -q "1 partial" && ok "status: partial" || fail "status does not show the partial run"
  # rerun with a budget just past the checkpoint: it resumes and finishes
  local ck
  ck=$(ls -d "$r"/ckpt/ckpt-* | sed 's/.*ckpt-0*//' | sort -n | tail -n 1)
  sed -i "s/run.total_env_steps: 5000000/run.total_env_steps: $((ck + 20000))/" "$s"
  sed -i 's/env.perception_agents: \[2, 3\]/env.perception_agents: [2]/; s/env.action_agents: \[1, 1\]/env.action_agents: [1]/' "$s"
  bg "$sweep" run "$s" --out "$out" > "$tmp/intr2.log" 2>&1 || { fail "rerun exited $?"; cat "$tmp/intr2.log"; }
  grep -q "resuming from" "$r/launch.log" && ok "rerun resumed from the checkpoint" || fail "rerun did not resume"
  [ -f "$r/result.json" ] && ok "resumed run finished" || { fail "resumed run has no result.json"; tail -n 20 "$r/launch.log"; }
}

# Aggregation arithmetic on made-up results (no training): mean and sample
# std over seeds, groups, CSV cells, missing, unreadable and malformed input.
case_aggregate() {
  cat > "$tmp/sweeps/fake.yaml" <<'YAML'
name: fake
base: ../configs/fc5.yaml
grid:
  algo.name: [hint, mappo]
  run.seed: [1, 2]
zip:
  env.perception_agents: [2, 3]
  env.action_agents: [1, 2]
YAML
  local s="$tmp/sweeps/fake.yaml" out="$tmp/out" d="$tmp/out/fake" dir
  [ -n "$tmp" ] && [ -d "$tmp" ] || { fail "no temporary directory"; return; }
  put() { mkdir -p "$d/$1" && printf '%s\n' "$2" > "$d/$1/result.json"; }
  # hint 2P1A: seeds 0.2/0.4 sampled, 0.1/0.1 greedy, lengths 50/60, 1000/3000 steps/s;
  # hint 3P2A: seed 1 only; mappo 2P1A: both seeds; mappo 3P2A: unreadable and partial
  put "algo=hint,run.seed=1,env.perception_agents=2,env.action_agents=1" \
    '{"run":"a","algo":"hint","env_steps":1000,"env_steps_per_s":1000,"sampled_success":0.2,"greedy_success":0.1,"sampled_length":50,"teacher_success":null}'
  put "algo=hint,run.seed=2,env.perception_agents=2,env.action_agents=1" \
    '{"run":"b","algo":"hint","env_steps":1000,"env_steps_per_s":3000,"sampled_success":0.4,"greedy_success":0.1,"sampled_length":60,"teacher_success":null}'
  put "algo=hint,run.seed=1,env.perception_agents=3,env.action_agents=2" \
    '{"run":"c, with comma","algo":"hint","env_steps":1000,"env_steps_per_s":500,"sampled_success":1,"greedy_success":0.5,"sampled_length":20,"extra_field":7}'
  put "algo=mappo,run.seed=1,env.perception_agents=2,env.action_agents=1" \
    '{"run":"d","algo":"mappo","env_steps_per_s":9000,"sampled_success":0,"greedy_success":0,"sampled_length":80}'
  put "algo=mappo,run.seed=2,env.perception_agents=2,env.action_agents=1" \
    '{"run":"e","algo":"mappo","env_steps_per_s":11000,"sampled_success":0.1,"greedy_success":0,"sampled_length":80}'
  put "algo=mappo,run.seed=1,env.perception_agents=3,env.action_agents=2" '{"run":"f", truncated'
  mkdir -p "$d/algo=mappo,run.seed=2,env.perception_agents=3,env.action_agents=2/ckpt/ckpt-000000004096"
  dir="$d/algo=hint,run.seed=1,env.perception_agents=2,env.action_agents=1"
  printf '%s\n' '{"env_steps":10,"sampled_success":0.1}' 'garbage' '{"env_steps":20,"sampled_success":0.3}' '{"x":' > "$dir/eval.jsonl"
  printf '%s\n' '{"env_steps":10,"rss_mb":100}' '{"env_steps":20,"rss_mb":150.5}' '' '{"env_steps":30,"rss_mb":120}' > "$dir/metrics.jsonl"
  "$sweep" aggregate "$s" --out "$out" > "$tmp/fagg.log" 2>&1 || { fail "aggregate exited $?"; cat "$tmp/fagg.log"; }
  local md="$d/results.md" csv="$d/results.csv"
  want_line() { if grep -qxF -- "$2" "$1"; then ok "$3"; else fail "$3: no line '$2' in $1:"; cat "$1"; fi; }
  want_line "$md" "| hint | 2 | 1 | 2 | 30.0 ± 14.1 | 10.0 ± 0.0 | 55.0 | 2000 |" "mean ± sample std over seeds"
  want_line "$md" "| hint | 3 | 2 | 1 of 2 | 100.0 | 50.0 | 20.0 | 500 |" "one seed of two"
  want_line "$md" "| mappo | 2 | 1 | 2 | 5.0 ± 7.1 | 0.0 ± 0.0 | 80.0 | 10000 |" "second algorithm"
  want_line "$md" "| mappo | 3 | 2 | 0 of 2 | – | – | – | – |" "a configuration without results"
  want_line "$md" '- `algo=mappo,run.seed=2,env.perception_agents=3,env.action_agents=2`: partial: resumes from the checkpoint at 4096 env steps (budget 4000000)' "partial run listed"
  if grep -qF -- '- `algo=mappo,run.seed=1,env.perception_agents=3,env.action_agents=2`: result.json unreadable' "$md"; then
    ok "unreadable result listed"
  else
    fail "unreadable result.json not listed"
  fi
  [ "$(wc -l < "$csv")" -eq 6 ] && ok "csv: header + 5 rows" || fail "csv has $(wc -l < "$csv") lines"
  want_line "$csv" 'id,algo.name,run.seed,env.perception_agents,env.action_agents,run,algo,env_steps,env_steps_per_s,sampled_success,greedy_success,sampled_length,teacher_success,extra_field,evals,best_sampled_success,best_greedy_success,metrics_records,peak_rss_mb,malformed_lines' "csv header: union of the result fields"
  want_line "$csv" '"algo=hint,run.seed=1,env.perception_agents=2,env.action_agents=1",hint,1,2,1,a,hint,1000,1000,0.2,0.1,50,,,2,0.3,,3,150.5,2' "csv row with the log columns"
  want_line "$csv" '"algo=hint,run.seed=1,env.perception_agents=3,env.action_agents=2",hint,1,3,2,"c, with comma",hint,1000,500,1,0.5,20,,7,0,,,0,,0' "csv quoting and missing fields"
  if grep -q "eval.jsonl: 2 malformed lines skipped (first at line 2)" "$tmp/fagg.log"; then
    ok "malformed lines counted"
  else
    fail "malformed lines not reported"; cat "$tmp/fagg.log"
  fi
  grep -q "set xtics ('2P1A' 0, '3P2A' 1)" "$d/success.gp" && ok "team-size axis labels" || fail "success.gp xtics: $(grep xtics "$d/success.gp")"
  grep -q "title 'mappo greedy'" "$d/success.gp" || fail "success.gp lacks the mappo greedy line"
  local p
  for p in success throughput; do
    if [ -f "$d/$p.png" ] && png_ok "$d/$p.png"; then ok "$p.png is a PNG"; else fail "$p.png missing or not a PNG"; fi
  done
  "$sweep" status "$s" --out "$out" > "$tmp/fstatus.txt"
  if grep -q "8 runs: 6 done, 1 partial (resume from checkpoint), 1 not started" "$tmp/fstatus.txt"; then
    ok "status counts"
  else
    fail "status:"; cat "$tmp/fstatus.txt"
  fi
}

case_errors() {
  local good="$tmp/sweeps/good.yaml" out="$tmp/out"
  write_sweep good 50000 "[1, 2]"
  cp "$good" "$good.orig"
  printf 'base: ../configs/fc5.yaml\ngrid:\n  run.seed: [1]\n' > "$tmp/sweeps/noname.yaml"
  expect_fail "missing name" noname.yaml name missing -- "$sweep" plan "$tmp/sweeps/noname.yaml" --out "$out"
  printf 'name: x\ngrid:\n  run.seed: [1]\n' > "$tmp/sweeps/nobase.yaml"
  expect_fail "missing base" nobase.yaml base missing -- "$sweep" run "$tmp/sweeps/nobase.yaml" --out "$out"
  printf 'name: x\nbase: ../configs/nothere.yaml\n' > "$tmp/sweeps/gone.yaml"
  expect_fail "base not found" "gone.yaml:2" base nothere.yaml -- "$sweep" submit "$tmp/sweeps/gone.yaml" --out "$out" --dry-run
  printf 'name: x\nbase: ../configs/fc5.yaml\nseeds: [1]\n' > "$tmp/sweeps/top.yaml"
  expect_fail "unknown top-level key" "top.yaml:3" "'seeds'" -- "$sweep" status "$tmp/sweeps/top.yaml" --out "$out"
  sed 's/eval.episodes: 10/eval.episodez: 10/' "$good.orig" > "$tmp/sweeps/key.yaml"
  expect_fail "unknown override key" "key.yaml:6" eval.episodez "did you mean 'eval.episodes'" -- "$sweep" run "$tmp/sweeps/key.yaml" --out "$out"
  sed 's/env.action_agents: \[1, 1\]/env.action_agents: [1]/' "$good.orig" > "$tmp/sweeps/zip.yaml"
  expect_fail "unequal zip lists" "zip.yaml" "unequal length" env.action_agents -- "$sweep" plan "$tmp/sweeps/zip.yaml" --out "$out"
  sed 's/run.seed: \[1, 2\]/run.seed: []/' "$good.orig" > "$tmp/sweeps/empty.yaml"
  local ln
  ln=$(grep -n 'run.seed:' "$tmp/sweeps/empty.yaml" | cut -d: -f1)
  expect_fail "empty list" "empty.yaml:$ln:" run.seed "empty list" -- "$sweep" plan "$tmp/sweeps/empty.yaml" --out "$out"
  expect_fail "unwritable --out" "/proc/hint-sweep-test" -- "$sweep" plan "$good" --out /proc/hint-sweep-test
  expect_fail "unwritable --out (run)" "/proc/hint-sweep-test" -- "$sweep" run "$good" --out /proc/hint-sweep-test
  local ro="$tmp/ro"
  mkdir -p "$ro" && chmod 555 "$ro"
  if [ "$(id -u)" -ne 0 ]; then
    expect_fail "read-only --out" "$ro" -- "$sweep" plan "$good" --out "$ro"
  fi
  expect_fail "no sweep file" "no sweep file" -- "$sweep" run
  expect_fail "missing sweep file" "not found" -- "$sweep" run "$tmp/sweeps/none.yaml"
  expect_fail "unknown command" "unknown command 'sweep'" -- "$sweep" sweep "$good"
  expect_fail "bad -j" "-j needs a positive number" -- "$sweep" run "$good" -j 0
  expect_fail "bad --actors" "--actors needs a positive number" -- "$sweep" run "$good" --actors x
  expect_fail "option of another command" "plan does not take -j" -- "$sweep" plan "$good" -j 2
  expect_fail "sbatch missing" "not found" "hint-sweep run" -- env HINT_SBATCH=/nonexistent/sbatch "$sweep" submit "$good" --out "$out"
  expect_fail "aggregate before any run" "does not exist" -- "$sweep" aggregate "$good" --out "$tmp/none"
  # a run that fails at run time (run.resume: must without a checkpoint): the
  # sweep goes on with the next run, names the failure and exits 1
  cat > "$tmp/sweeps/failing.yaml" <<'YAML'
name: failing
base: ../configs/fc5.yaml
set:
  algo.name: mappo
  run.total_env_steps: 10000
  actor.count: 1
  eval.episodes: 10
  env.eval_episodes: 10
grid:
  run.resume: [must, auto]
YAML
  bg "$sweep" run "$tmp/sweeps/failing.yaml" --out "$out" > "$tmp/failing.log" 2>&1
  local rc=$?
  if [ "$rc" -eq 1 ] && grep -q "FAILED (exit 4): run.resume=must" "$tmp/failing.log" &&
     grep -q "^  run.resume=must: FAILED (exit 4); log: $out/failing/run.resume=must/launch.log" "$tmp/failing.log" &&
     [ -f "$out/failing/run.resume=auto/result.json" ]; then
    ok "a failed run: the sweep goes on, names it and exits 1"
  else
    fail "failed run handling (exit $rc):"; cat "$tmp/failing.log"
  fi
  expect_fail "--actors infeasible value" "good.yaml: run 1 of 4" "actor.count: 100000 is out of range" -- "$sweep" plan "$good" --out "$out" --actors 100000
}

case "${1:-}" in
  e2e) case_e2e ;;
  interrupt) case_interrupt ;;
  errors) case_errors ;;
  aggregate) case_aggregate ;;
  *) echo "usage: sweep.sh e2e|interrupt|errors|aggregate" >&2; exit 2 ;;
esac
if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all checks passed"
