# shellcheck shell=bash
# lib.sh: helpers shared by runtime.sh and faults.sh (sourced, not run).
# Sets up a scratch directory ($work, removed on exit, after every command
# registered with on_exit), the small fast job, and the checks.
# Needs HINT_SOURCE_ROOT and BUILD_DIR (set by meson).
set -u
root=${HINT_SOURCE_ROOT:?}
export BUILD_DIR=${BUILD_DIR:?}
launch="$root/deploy/hint-launch"
sections="$root/tests/mpi/ckpt_sections.py"
work=$(mktemp -d /tmp/hint_runtime_XXXXXX)
exit_hooks=()
on_exit() { exit_hooks+=("$1"); } # on_exit 'COMMAND': run at exit, before $work goes
run_exit_hooks() {
  local h
  for h in "${exit_hooks[@]}"; do eval "$h"; done
  rm -rf "$work"
}
trap run_exit_hooks EXIT
cd "$work" || exit 1
fails=0
passes=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $what"; fi
}
finish() { # the summary, the logs on failure, and the exit code
  echo "$passes passed, $fails failed"
  if [ "$fails" -ne 0 ] || [ -n "${HINT_TEST_VERBOSE:-}" ]; then
    for f in "$work"/*.txt; do echo "== $f"; tail -n 25 "$f"; done
  fi
  [ "$fails" -eq 0 ]
}

# A small, fast job: FireCommander 5x5, 2 actors x 16 envs, 16-step segments,
# in the run directory $runs (a test may point both elsewhere).
runs="$work/runs"
small=(--set run.dir="$runs" --set actor.envs=16 --set actor.segment_len=16
       --set eval.episodes=20 --set env.eval_episodes=20 --set eval.interval_env_steps=0
       --set interaction.teacher_warmup_env_steps=0 --set transport.actor_timeout_s=20
       --set metrics.interval_s=0.5 --set teacher.replay_segments=8)
cfg="$root/configs/fire_commander_5x5.yaml"
# Open MPI's abort path (a dead rank, SIGTERM to mpirun) waits this long before
# SIGKILL (hint-launch's default is 10 s): the small jobs here checkpoint in
# well under a second, and the wait was most of every fault test's time.
export HINT_SIGKILL_TIMEOUT="${HINT_SIGKILL_TIMEOUT:-4}"

run() { # run NAME LOG ARGS... ; returns the launcher's exit code
  local name=$1 log=$2
  shift 2
  timeout "${HINT_RUN_TIMEOUT:-300}" "$launch" "$cfg" "${small[@]}" --set run.name="$name" "$@" >"$log" 2>&1
}

# A job in the background, and its processes found through the process tree
# (never by name alone: other jobs may run on this machine).
start() { # start NAME LOG ARGS... ; sets job (the pid to wait for)
  local name=$1 log=$2
  shift 2
  timeout "${HINT_RUN_TIMEOUT:-300}" "$launch" "$cfg" "${small[@]}" --set run.name="$name" "$@" >"$log" 2>&1 &
  job=$!
}
launcher_pid() { pgrep -P "$job" -f hint-launch | head -n 1; }
mpirun_pid() { pgrep -P "$(launcher_pid)" -x mpirun | head -n 1; }
learner_pid() { pgrep -P "$(mpirun_pid)" -f "$BUILD_DIR/learner/hint-learner" | head -n 1; }
actor_pid() { # actor_pid RANK
  local p
  for p in $(pgrep -P "$(mpirun_pid)" -f "$BUILD_DIR/actor/hint-actor"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}
finish_job() { # waits for the background job; sets job_rc and job_s (seconds since $1)
  wait "$job"
  job_rc=$?
  job_s=$(($(date +%s) - $1))
}
wait_until() { # wait_until SECONDS COMMAND... : polls every 0.1 s
  local _
  for _ in $(seq 1 $(($1 * 10))); do
    "${@:2}" && return 0
    sleep 0.1
  done
  return 1
}
metrics_lines() { # metrics_lines NAME N: run NAME has at least N metrics records
  [ "$(wc -l 2>/dev/null <"$runs/$1/metrics.jsonl" || echo 0)" -ge "$2" ]
}

final_ckpt() { ls -d "$runs/$1"/ckpt/ckpt-*[0-9] 2>/dev/null | sort | tail -n 1; }
ckpt_steps() { basename "$1" | sed 's/ckpt-0*//'; } # the id (env steps) of a checkpoint dir

complete_ckpt() { # the newest checkpoint of run $1 has the learner's and both actors' files
  local d
  d=$(final_ckpt "$1")
  [ -n "$d" ] && [ -s "$d/learner.ckpt" ] && [ -s "$d/actor-1.ckpt" ] && [ -s "$d/actor-2.ckpt" ]
}

same_ckpt() { # same_ckpt DIR_A DIR_B: every section equal, except the learner's
  # counters (wall time) and config (run.name differs between the runs)
  local f
  for f in actor-1 actor-2 learner; do
    diff <(python3 "$sections" "$1/$f.ckpt" counters config) \
      <(python3 "$sections" "$2/$f.ckpt" counters config) || return 1
  done
  for f in actor-1 actor-2; do # the actors' counters must match too
    diff <(python3 "$sections" "$1/$f.ckpt") <(python3 "$sections" "$2/$f.ckpt") >/dev/null || return 1
  done
}

counters_grew() { # counters_grew OLD_DIR NEW_DIR: NEW continues OLD. Every
  # counter of the learner and of each actor is >= OLD's, env steps strictly
  # more, and both actors have taken the same number of updates.
  python3 - "$sections" "$1" "$2" <<'PY'
import subprocess, sys
script, old, new = sys.argv[1:4]
def counters(d, f):
    out = subprocess.run([sys.executable, script, "--counters", f"{d}/{f}.ckpt"], check=True,
                         capture_output=True, text=True).stdout
    return {k: float(v) for k, v in (l.split("=") for l in out.split())}
ok = True
for f in ("learner", "actor-1", "actor-2"):
    a, b = counters(old, f), counters(new, f)
    shrunk = [k for k in a if b[k] < a[k]]
    if shrunk or b["env_steps"] <= a["env_steps"]:
        print(f"{f}: counters did not continue: old {a}, new {b}")
        ok = False
u1, u2 = counters(new, "actor-1")["policy_version"], counters(new, "actor-2")["policy_version"]
if u1 != u2:
    print(f"actors disagree on the policy version: {u1} vs {u2}")
    ok = False
sys.exit(0 if ok else 1)
PY
}

resumes() { # resumes RUN OLD_DIR LOG STEPS [ARGS...]: a (mappo) run of STEPS
  # more env steps from OLD_DIR starts there, exits 0 and ends with a
  # checkpoint whose counters continue OLD_DIR's
  local name=$1 old=$2 log=$3 more=$4 rc snap="$work/snap-$(basename "$2")"
  shift 4
  cp -r "$old" "$snap" # the resumed run may prune it
  rm -f "$runs/$name/result.json"
  run "$name" "$log" --set algo.name=mappo --set run.total_env_steps=$(($(ckpt_steps "$old") + more)) "$@"
  rc=$?
  check "$name: resumed run exits 0 (got $rc)" [ "$rc" -eq 0 ]
  check "$name: resumed from $(basename "$old")" grep -q "resuming from $old" "$log"
  check "$name: finished (result.json)" [ -s "$runs/$name/result.json" ]
  check "$name: counters continue those of $(basename "$old")" counters_grew "$snap" "$(final_ckpt "$name")"
}
