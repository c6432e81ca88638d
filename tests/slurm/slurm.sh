#!/usr/bin/env bash
# slurm.sh: the batch scripts of deploy/slurm/ under a real single-node Slurm.
#
# As root, starts a private munged, slurmctld and slurmd (Debian slurm-wlm and
# munge; installed with apt-get when missing) with a generated slurm.conf in a
# temporary directory, on free ports, then:
#   1node    hint-1node.sbatch runs a short mappo job to its budget: exit 0,
#            result.json, metrics, a complete checkpoint
#   requeue  SIGUSR1 to the batch shell (what --signal=B:USR1@120 delivers
#            before the time limit): clean checkpoint, requeue, the restarted
#            job resumes from that checkpoint with its counters and finishes
#   array    hint-array.sbatch over a 2-run plan: both runs finish in their
#            own run directories; an array task past the plan fails clearly
# Every daemon and job it started is stopped (by pid) and the directory
# removed on exit, also on failure. Exits 77 (skip) with a loud message when it
# cannot run a Slurm here (not root, no packages and no apt, slurmd fails).
# Needs HINT_SOURCE_ROOT and BUILD_DIR (set by meson).
set -u
root=${HINT_SOURCE_ROOT:?}
export BUILD_DIR=${BUILD_DIR:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s)

skip() {
  echo "######################################################################"
  echo "## SKIPPED: the Slurm test cannot run on this machine:"
  echo "##   $*"
  echo "## deploy/slurm/*.sbatch were NOT exercised under a real Slurm."
  echo "######################################################################"
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "it must run as root (it starts munged, slurmctld and slurmd)"
need=(munged munge slurmctld slurmd sbatch scontrol squeue scancel sinfo)
missing=0
for c in "${need[@]}"; do command -v "$c" >/dev/null 2>&1 || missing=1; done
if [ "$missing" -eq 1 ]; then
  command -v apt-get >/dev/null 2>&1 || skip "slurm-wlm/munge are not installed and there is no apt-get"
  echo "slurm: installing slurm-wlm munge (apt-get)"
  DEBIAN_FRONTEND=noninteractive timeout 240 apt-get install -y -qq --no-install-recommends slurm-wlm munge \
    >/dev/null 2>&1 || skip "apt-get install slurm-wlm munge failed"
  for c in "${need[@]}"; do command -v "$c" >/dev/null 2>&1 || skip "$c missing after installing slurm-wlm munge"; done
fi
id munge >/dev/null 2>&1 || skip "no 'munge' user (the munge package creates it)"
command -v ss >/dev/null 2>&1 || skip "ss (iproute2) is needed to find free ports"

T=$(mktemp -d /tmp/hint_slurm_XXXXXX)
chmod 755 "$T"
export SLURM_CONF=$T/slurm.conf
pids=()
cleanup() {
  # Our jobs first (this SLURM_CONF only reaches the private cluster), then
  # the daemons, then anything still carrying our private SLURM_CONF.
  if [ -f "$T/slurmctld.up" ]; then
    timeout 10 scancel --full --quiet --user=root >/dev/null 2>&1
    for _ in $(seq 1 50); do
      [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break
      sleep 0.2
    done
  fi
  local p
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  [ -f "$T/munge/pid" ] && kill -TERM "$(cat "$T/munge/pid")" 2>/dev/null
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for p in /proc/[0-9]*; do
    if grep -qsa "SLURM_CONF=$T/slurm.conf" "$p/environ" 2>/dev/null; then
      kill -KILL "${p#/proc/}" 2>/dev/null
    fi
  done
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fails=0
passes=0
check() { # check DESCRIPTION COMMAND...
  local what=$1
  shift
  local at=$(($(date +%s) - t0))
  if "$@"; then passes=$((passes + 1)); echo "ok [${at}s]: $what"; else fails=$((fails + 1)); echo "FAIL [${at}s]: $what"; fi
}
dump_logs() {
  local f
  for f in "$T"/log/*.log "$T"/work/*.out; do
    [ -f "$f" ] || continue
    echo "---- $f (last 30 lines)"
    tail -n 30 "$f"
  done
}

free_port() { # a TCP port nobody listens on, in 20000-59999
  local p
  for _ in $(seq 1 100); do
    p=$((20000 + RANDOM % 40000))
    [ -z "$(ss -Htln "sport = :$p" 2>/dev/null)" ] && [ "$p" != "${1:-}" ] && { echo "$p"; return 0; }
  done
  return 1
}

# ---- munge: a private daemon, key and socket -------------------------------
mkdir -p "$T/munge/etc" "$T/state" "$T/spool" "$T/log" "$T/work"
chown munge:munge "$T/munge" "$T/munge/etc"
chmod 755 "$T/munge"
chmod 700 "$T/munge/etc"
dd if=/dev/urandom of="$T/munge/etc/munge.key" bs=1024 count=1 status=none
chown munge:munge "$T/munge/etc/munge.key"
chmod 400 "$T/munge/etc/munge.key"
runuser -u munge -- munged --socket="$T/munge/sock" --key-file="$T/munge/etc/munge.key" \
  --pid-file="$T/munge/pid" --log-file="$T/munge/log" --seed-file="$T/munge/etc/seed" ||
  skip "munged does not start: $(tail -n 2 "$T/munge/log" 2>/dev/null)"
munge -S "$T/munge/sock" -n | unmunge -S "$T/munge/sock" >/dev/null 2>&1 ||
  skip "munge -n | unmunge fails with the private munged"

# ---- slurm.conf -------------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(free -m | awk '/^Mem:/ { print $2 }') * 9 / 10 ))
ctld_port=$(free_port) || skip "no free TCP port"
slurmd_port=$(free_port "$ctld_port") || skip "no free TCP port"
# cred_expire: a requeued batch job may start again cred_expire + 1 s after
# the requeue (Slurm's default 120 s is made short here); sched_interval: the
# main scheduler looks at pending jobs every second.
cat >"$SLURM_CONF" <<EOF
ClusterName=hinttest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock,cred_expire=5
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobRequeue=1
KillWait=10
MinJobAge=600
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=hinttest Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF

slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.stdout" 2>&1 &
pids+=($!)
touch "$T/slurmctld.up"
slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd.stdout" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 1 100); do
  [ "$(timeout 5 sinfo -h -n "$host" -o %T 2>/dev/null)" = idle ] && { up=1; break; }
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || break 2; done
  sleep 0.2
done
if [ "$up" -ne 1 ]; then
  echo "slurmctld/slurmd logs:"
  tail -n 20 "$T"/log/* 2>/dev/null
  skip "slurmctld + slurmd did not bring node $host to 'idle' within 20 s (node state: $(sinfo -h -o %T 2>/dev/null || echo none))"
fi
echo "slurm: private cluster up in $(($(date +%s) - t0)) s (ctld port $ctld_port, slurmd port $slurmd_port)"

# ---- helpers ----------------------------------------------------------------
job_field() { timeout 10 scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1; }
wait_job() { # wait_job ID SECONDS: until the job leaves PENDING/RUNNING/REQUEUED/...
  local id=$1 end=$(($(date +%s) + $2)) st
  while [ "$(date +%s)" -lt "$end" ]; do
    st=$(job_field "$id" JobState)
    case "$st" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) echo "$st"; return 0 ;; esac
    sleep 0.5
  done
  echo "TIMEOUT-WAITING($(job_field "$id" JobState))"
  return 1
}
complete_ckpt() { # the newest checkpoint of run dir $1 has the learner's and both actors' files
  local d
  d=$(ls -d "$1"/ckpt/ckpt-* 2>/dev/null | sort | tail -n 1)
  [ -n "$d" ] && [ -s "$d/learner.ckpt" ] && [ -s "$d/actor-1.ckpt" ] && [ -s "$d/actor-2.ckpt" ]
}
json_num() { sed -n "s/.*\"$2\":\([0-9.eE+-]*\).*/\1/p" "$1" | head -n 1; }

cfg=$root/configs/fire_commander_5x5.yaml
runs=$T/work/runs
small=(--set algo.name=mappo --set run.dir="$runs" --set actor.envs=16 --set actor.segment_len=16
       --set eval.episodes=20 --set env.eval_episodes=20 --set eval.interval_env_steps=0
       --set metrics.interval_s=0.5 --set metrics.status_line=false --set transport.actor_timeout_s=30)
sb=(timeout 30 sbatch --parsable --ntasks=3 --overcommit --chdir="$T/work")
cd "$T/work" || exit 1

# Each --overcommit job holds one CPU, so two jobs run side by side: the
# requeue and 1node jobs first; the array once the requeued job is back on
# its CPU (else an array task would take it while the requeue waits out its
# start delay).
# requeue: the run's budget lives in its own config file, first far out of
# reach; once the job has stopped for the requeue the test lowers it to a
# little past the checkpoint (run.total_env_steps may change on resume), so
# the restart finishes quickly however fast this machine is today.
sed 's/^\( *total_env_steps:\).*/\1 100000000/' "$cfg" >"$T/work/rq.yaml"
rq=$("${sb[@]}" -o "$T/work/requeue-%j.out" "$root/deploy/slurm/hint-1node.sbatch" "$T/work/rq.yaml" "${small[@]}" \
  --set run.name=rq)
one=$("${sb[@]}" -o "$T/work/1node-%j.out" "$root/deploy/slurm/hint-1node.sbatch" "$cfg" "${small[@]}" \
  --set run.name=one --set run.total_env_steps=60000)
check "sbatch accepted the jobs (requeue $rq, 1node $one)" [ -n "$rq" -a -n "$one" ]

# ---- requeue: SIGUSR1 to the batch shell, requeue, resume, finish ------------
check "requeue: the script's #SBATCH header asks for the requeue set-up" \
  grep -q '^#SBATCH --signal=B:USR1@' "$root/deploy/slurm/hint-1node.sbatch"
check "requeue: the job is requeueable" [ "$(job_field "$rq" Requeue)" = 1 ]
out=$T/work/requeue-$rq.out
running() { case "$(job_field "$1" JobState)" in PENDING|CONFIGURING|RUNNING|REQUEUED|COMPLETING) return 0 ;; esac; return 1; }
for _ in $(seq 1 600); do
  [ "$(wc -l <"$runs/rq/metrics.jsonl" 2>/dev/null || echo 0)" -ge 3 ] && break
  running "$rq" || break
  sleep 0.2
done
timeout 10 scancel --signal=USR1 --batch "$rq"
for _ in $(seq 1 600); do
  [ -f "$runs/rq/slurm-requeue.log" ] && break
  running "$rq" || break
  sleep 0.2
done
check "requeue: the batch script logged a requeue" [ -f "$runs/rq/slurm-requeue.log" ]
lines_at_stop=$(wc -l <"$runs/rq/metrics.jsonl" 2>/dev/null || echo 0)
ckpt=$(sed -n 's/.* reason time-limit exit 0 checkpoint \(.*\)$/\1/p' "$runs/rq/slurm-requeue.log" 2>/dev/null | head -n 1)
stop_steps=$(basename "${ckpt:-ckpt-0}" | sed 's/^ckpt-0*//')
stop_steps=${stop_steps:-0}
budget=$((stop_steps + 16000))
sed -i "s/^\( *total_env_steps:\).*/\1 $budget/" "$T/work/rq.yaml"
check "requeue: stopped cleanly with a checkpoint (${ckpt:-none})" [ -n "$ckpt" -a "$stop_steps" -gt 0 ]
for _ in $(seq 1 300); do
  [ "$(job_field "$rq" Restarts)" = 1 ] && [ "$(job_field "$rq" JobState)" = RUNNING ] && break
  running "$rq" || break
  sleep 0.2
done
cat >"$T/work/plan.txt" <<EOF
# two runs, as deploy/hint-sweep writes them
$cfg ${small[*]} --set run.name=arr-a --set run.total_env_steps=20000 --set run.seed=1

$cfg ${small[*]} --set run.name=arr-b --set run.total_env_steps=20000 --set run.seed=2
EOF
arr=$("${sb[@]}" --array=0-2 -o "$T/work/array-%A_%a.out" "$root/deploy/slurm/hint-array.sbatch" "$T/work/plan.txt")
check "array: sbatch accepted the array ($arr)" [ -n "$arr" ]
st=$(wait_job "$rq" 150)
check "requeue: job COMPLETED after the restart (state $st)" [ "$st" = COMPLETED ]
check "requeue: Slurm counted one restart ($(job_field "$rq" Restarts))" [ "$(job_field "$rq" Restarts)" = 1 ]
check "requeue: the first start said why it stopped" grep -q 'SIGUSR1 (time limit near)' "$out"
check "requeue: the learner checkpointed on request" grep -q 'stopped by request' "$out"
check "requeue: the restart resumed from that checkpoint" grep -q "resuming from $ckpt" "$out"
check "requeue: result.json with the raised budget ($budget)" \
  [ "$(json_num "$runs/rq/result.json" env_steps 2>/dev/null | cut -d. -f1)" -ge "$budget" ]
after=$(tail -n +$((lines_at_stop + 1)) "$runs/rq/metrics.jsonl" 2>/dev/null | sed -n 's/.*"env_steps":\([0-9]*\).*/\1/p' | sort -n | head -n 1)
# A fast machine finishes the resumed part within one metrics interval; the
# final evaluation (the only one: eval.interval_env_steps=0) is written after
# the restart too.
[ -n "$after" ] || after=$(sed -n 's/.*"env_steps":\([0-9]*\).*/\1/p' "$runs/rq/eval.jsonl" 2>/dev/null | sort -n | head -n 1)
check "requeue: counters continued after the restart (first env_steps ${after:-none} >= $stop_steps)" \
  [ -n "$after" -a "${after:-0}" -ge "$stop_steps" ]
check "requeue: complete checkpoint at the end" complete_ckpt "$runs/rq"
check "requeue: exactly one requeue recorded" [ "$(wc -l <"$runs/rq/slurm-requeue.log")" -eq 1 ]

# ---- 1node: a short job to its budget ---------------------------------------
st=$(wait_job "$one" 150)
out=$T/work/1node-$one.out
check "1node: job COMPLETED (state $st, exit $(job_field "$one" ExitCode))" [ "$st" = COMPLETED ]
check "1node: 2 actors from ntasks=3" grep -q 'actor\.count=2' "$out"
check "1node: result.json" [ -s "$runs/one/result.json" ]
check "1node: result has the budget" [ "$(json_num "$runs/one/result.json" env_steps 2>/dev/null | cut -d. -f1)" -ge 60000 ]
check "1node: metrics.jsonl has records" [ "$(wc -l <"$runs/one/metrics.jsonl" 2>/dev/null || echo 0)" -ge 2 ]
check "1node: complete checkpoint" complete_ckpt "$runs/one"
check "1node: the script reports the finished run" grep -q "run finished: $runs/one/result.json" "$out"
check "1node: no requeue" [ ! -f "$runs/one/slurm-requeue.log" ]

# ---- array: a 2-run plan, plus a task past its end ---------------------------
st0=$(wait_job "${arr}_0" 150)
st1=$(wait_job "${arr}_1" 150)
st2=$(wait_job "${arr}_2" 60)
check "array: task 0 COMPLETED ($st0)" [ "$st0" = COMPLETED ]
check "array: task 1 COMPLETED ($st1)" [ "$st1" = COMPLETED ]
check "array: task 0 ran the first run of the plan" [ -s "$runs/arr-a/result.json" ]
check "array: task 1 ran the second run (after a blank line)" [ -s "$runs/arr-b/result.json" ]
check "array: the runs used their own seeds" grep -q '"seed":2' "$runs/arr-b/result.json"
check "array: task 2 (past the plan) FAILED with exit 2 ($st2, $(job_field "${arr}_2" ExitCode))" \
  [ "$st2" = FAILED -a "$(job_field "${arr}_2" ExitCode)" = 2:0 ]
check "array: task 2 says why" grep -q 'array task 2 but .*plan.txt has 2 run(s)' "$T/work/array-${arr}_2.out"

took=$(($(date +%s) - t0))
echo "slurm: $passes checks passed, $fails failed, ${took} s"
[ "$fails" -eq 0 ] || dump_logs
[ "$fails" -eq 0 ]
