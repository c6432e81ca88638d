#!/usr/bin/env bash
# runtime.sh CASE [ARG]: end-to-end tests of hint-learner + 2 hint-actors under
# mpirun, through deploy/hint-launch exactly as a user starts a job.
#   algo NAME   a short run of algorithm NAME: exit 0, metrics, evaluation,
#               a complete checkpoint
#   repro       two sync runs with the same seed: identical checkpoints and
#               evaluations
#   resume      sync: a run stopped at half budget and resumed ends with the
#               same parameters as an uninterrupted run
#   sigterm     SIGTERM to the launcher: checkpoint, exit 0; the run resumes
#   sigkill     SIGKILL of an actor: the job ends with an error naming it, the
#               newest complete checkpoint resumes
#   learn CONFIG STEPS MIN   mappo (sync, seed 1) reaches MIN sampled success
# Needs HINT_SOURCE_ROOT and BUILD_DIR (set by meson).
set -u
root=${HINT_SOURCE_ROOT:?}
export BUILD_DIR=${BUILD_DIR:?}
launch="$root/deploy/hint-launch"
sections="$root/tests/mpi/ckpt_sections.py"
work=$(mktemp -d /tmp/hint_runtime_XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
fails=0
passes=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then passes=$((passes + 1)); else fails=$((fails + 1)); echo "FAIL: $what"; fi
}

# A small, fast job: FireCommander 5x5, 2 actors x 16 envs, 16-step segments.
small=(--set run.dir="$work/runs" --set actor.envs=16 --set actor.segment_len=16
       --set eval.episodes=20 --set env.eval_episodes=20 --set eval.interval_env_steps=0
       --set interaction.teacher_warmup_env_steps=0 --set transport.actor_timeout_s=20
       --set metrics.interval_s=0.5 --set teacher.replay_segments=8)
cfg="$root/configs/fire_commander_5x5.yaml"

run() { # run NAME LOG ARGS... ; returns the launcher's exit code
  local name=$1 log=$2
  shift 2
  timeout 300 "$launch" "$cfg" "${small[@]}" --set run.name="$name" "$@" >"$log" 2>&1
}

final_ckpt() { ls -d "$work/runs/$1"/ckpt/ckpt-* 2>/dev/null | sort | tail -n 1; }

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

case "$1" in
  algo)
    algo=$2
    run "a_$algo" log.txt --set algo.name="$algo" --set run.total_env_steps=40000
    rc=$?
    check "$algo: exit 0 (got $rc)" [ "$rc" -eq 0 ]
    check "$algo: result line" grep -q "^result: $algo" log.txt
    check "$algo: metrics.jsonl has records" [ "$(wc -l <"$work/runs/a_$algo/metrics.jsonl")" -ge 1 ]
    check "$algo: final evaluation" grep -q '"sampled_success"' "$work/runs/a_$algo/eval.jsonl"
    check "$algo: complete checkpoint" complete_ckpt "a_$algo"
    if [ "$algo" = kd ] || [ "$algo" = hint ]; then
      check "$algo: teacher trained" grep -q '"teacher_version":[1-9]' "$work/runs/a_$algo/metrics.jsonl"
      check "$algo: teacher evaluated" grep -q '"teacher_success"' "$work/runs/a_$algo/eval.jsonl"
    fi
    ;;
  repro)
    run r1 log1.txt --set algo.name=kd --set run.sync=true --set run.total_env_steps=30000
    rc1=$?
    run r2 log2.txt --set algo.name=kd --set run.sync=true --set run.total_env_steps=30000
    rc2=$?
    check "repro: both runs exit 0 ($rc1, $rc2)" [ "$rc1" -eq 0 -a "$rc2" -eq 0 ]
    a=$(final_ckpt r1)
    b=$(final_ckpt r2)
    check "repro: same final checkpoint id ($a vs $b)" [ "$(basename "$a")" = "$(basename "$b")" ]
    check "repro: identical parameters, optimiser, env and RNG states" same_ckpt "$a" "$b"
    check "repro: identical evaluations" diff <(sed 's/"time":[^,]*,//' "$work/runs/r1/eval.jsonl") \
      <(sed 's/"time":[^,]*,//' "$work/runs/r2/eval.jsonl")
    ;;
  resume)
    run whole log1.txt --set algo.name=kd --set run.sync=true --set run.total_env_steps=40000
    rc1=$?
    run split log2.txt --set algo.name=kd --set run.sync=true --set run.total_env_steps=20000
    rc2=$?
    run split log3.txt --set algo.name=kd --set run.sync=true --set run.total_env_steps=40000
    rc3=$?
    check "resume: runs exit 0 ($rc1, $rc2, $rc3)" [ "$rc1" -eq 0 -a "$rc2" -eq 0 -a "$rc3" -eq 0 ]
    check "resume: the second half resumed" grep -q "resuming from" log3.txt
    a=$(final_ckpt whole)
    b=$(final_ckpt split)
    check "resume: same final checkpoint id ($a vs $b)" [ "$(basename "$a")" = "$(basename "$b")" ]
    check "resume: same final parameters as the uninterrupted run" same_ckpt "$a" "$b"
    ;;
  sigterm)
    (run sig log.txt --set algo.name=mappo --set run.total_env_steps=100000000; echo $? >rc.txt) &
    for _ in $(seq 1 600); do
      [ "$(wc -l <"$work/runs/sig/metrics.jsonl" 2>/dev/null || echo 0)" -ge 3 ] && break
      sleep 0.1
    done
    pid=$(pgrep -f "bash $launch" | head -n 1)
    kill -TERM "$pid"
    wait
    rc=$(cat rc.txt)
    check "sigterm: exit 0 (got $rc)" [ "$rc" -eq 0 ]
    check "sigterm: says where the checkpoint is" grep -q "stopped by request.*checkpoint: $work/runs/sig/ckpt/ckpt-" log.txt
    check "sigterm: complete checkpoint" complete_ckpt sig
    steps=$(basename "$(final_ckpt sig)" | sed 's/ckpt-0*//')
    run sig log2.txt --set algo.name=mappo --set run.total_env_steps=$((steps + 20000))
    rc=$?
    check "sigterm: resumed run exits 0 (got $rc)" [ "$rc" -eq 0 ]
    check "sigterm: resumed from that checkpoint" grep -q "resuming from .*ckpt-0*$steps" log2.txt
    ;;
  sigkill)
    (run kill log.txt --set algo.name=mappo --set run.total_env_steps=100000000 --set ckpt.interval_s=1 \
      --set transport.actor_timeout_s=10; echo $? >rc.txt) &
    for _ in $(seq 1 600); do
      complete_ckpt kill && break
      sleep 0.1
    done
    sleep 1
    victim=$(pgrep -f "$BUILD_DIR/actor/hint-actor" | tail -n 1)
    start=$(date +%s)
    kill -KILL "$victim"
    wait
    took=$(($(date +%s) - start))
    rc=$(cat rc.txt)
    check "sigkill: non-zero exit (got $rc)" [ "$rc" -ne 0 ]
    check "sigkill: ended within the timeout (${took}s)" [ "$took" -le 40 ]
    check "sigkill: the log names the killed process" grep -qE "PID $victim|pid $victim|actor [12]" log.txt
    check "sigkill: a complete checkpoint remains" complete_ckpt kill
    run kill log2.txt --set algo.name=mappo --set run.total_env_steps=1 --set transport.actor_timeout_s=10
    rc=$?
    check "sigkill: the checkpoint resumes (exit $rc)" grep -q "resuming from" log2.txt
    ;;
  learn)
    # learn CONFIG STEPS MIN_SAMPLED: mappo in sync mode (seed 1) must reach a
    # sampled success rate on the fixed evaluation set well above random
    # (FireCommander 5x5 ~2%, MARINE 5x5 0%) within STEPS env steps.
    conf=$2 steps=$3 min=$4
    timeout 300 "$launch" "$root/configs/$conf.yaml" --set run.dir="$work/runs" --set run.name=learn \
      --set algo.name=mappo --set run.sync=true --set run.seed=1 --set run.total_env_steps="$steps" \
      --set eval.interval_env_steps=250000 --set eval.episodes=100 --set env.eval_episodes=100 \
      --set metrics.interval_s=5 >log.txt 2>&1
    rc=$?
    check "learn $conf: exit 0 (got $rc)" [ "$rc" -eq 0 ]
    python3 - "$work/runs/learn/eval.jsonl" <<'PY'
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    print(f"  {d['env_steps']:>8} env steps: sampled {100 * d['sampled_success']:5.1f}%  greedy {100 * d['greedy_success']:5.1f}%")
PY
    final=$(tail -n 1 "$work/runs/learn/eval.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sampled_success"])')
    check "learn $conf: sampled success $final >= $min" python3 -c "import sys; sys.exit(0 if $final >= $min else 1)"
    ;;
  *)
    echo "unknown case $1" >&2
    exit 2
    ;;
esac
echo "$passes passed, $fails failed"
if [ "$fails" -ne 0 ]; then
  for f in "$work"/*.txt; do echo "== $f"; tail -n 25 "$f"; done
fi
[ "$fails" -eq 0 ]
