#!/usr/bin/env bash
# multinode.sh CASE: a HINT job over three "hosts" (network namespaces) on one
# machine.
#
# As root: three namespaces h1 h2 h3 on a private test subnet 10.77.0.0/24,
# joined by a bridge in a fourth namespace (sw); each "host" has one veth into
# the bridge and its loopback, and nothing else, so no traffic can leave them.
#   launch  deploy/hint-launch as on a cluster without a batch system: an rsh
#           agent maps a hostfile address to `ip netns exec <ns>`; mpirun runs
#           in h1 with the hostfile "10.77.0.1 slots=1 / 10.77.0.2 slots=1 /
#           10.77.0.3 slots=1", Open MPI restricted to the test subnet, and the
#           learner binds its ZeroMQ endpoints to h1's veth by interface name
#           with CURVE on.
#   slurm   deploy/slurm/hint-multinode.sbatch under a real 3-node Slurm:
#           slurmctld and one slurmd per host (own host name n1/n2/n3 in a UTS
#           namespace, an /etc/hosts naming them bound in a mount namespace), so the
#           script builds its hostfile from the allocation, finds the learner's
#           address from the route to n2 and mpirun starts its daemons on the
#           other hosts with srun.
# Checks: exit 0, result.json, a checkpoint from every rank, segments from both
# actors in the metrics, the learner's endpoints on 10.77.0.1 with CURVE, and
# each actor running in its own host with a TCP connection to the learner's
# segment port on 10.77.0.1. The namespaces (and every process left in them)
# go away on exit, also on failure. Exits 77 with a loud message when it
# cannot make namespaces (or, for slurm, has no Slurm).
# Needs HINT_SOURCE_ROOT and BUILD_DIR (set by meson).
set -u
mode=${1:-launch}
case "$mode" in launch|slurm) ;; *) echo "usage: $0 launch|slurm" >&2; exit 2 ;; esac
root=${HINT_SOURCE_ROOT:?}
export BUILD_DIR=${BUILD_DIR:?}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
t0=$(date +%s)

skip() {
  echo "######################################################################"
  echo "## SKIPPED: the multi-node test cannot run on this machine:"
  echo "##   $*"
  echo "## The multi-host path (hostfile, cluster interface, CURVE) was NOT tested."
  echo "######################################################################"
  exit 77
}

[ "$(id -u)" -eq 0 ] || skip "it must run as root (it creates network namespaces)"
command -v ip >/dev/null 2>&1 || skip "'ip' (iproute2) is not installed"
if [ "$mode" = slurm ]; then
  for c in munged munge slurmctld slurmd sbatch scontrol squeue unshare nsenter; do
    command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (deploy/setup.sh installs slurm-wlm and munge)"
  done
  id munge >/dev/null 2>&1 || skip "no 'munge' user (the munge package creates it)"
fi

# Names unique to this run: namespaces, and veth ends (at most 15 characters).
sfx=$(printf '%04x' $((RANDOM % 65536)))$$
sfx=${sfx:0:8}
ns_sw=hmn$sfx-sw
ns=("hmn$sfx-h1" "hmn$sfx-h2" "hmn$sfx-h3")
addr=(10.77.0.1 10.77.0.2 10.77.0.3)
T=$(mktemp -d /tmp/hint_multinode_XXXXXX)
made=()
launcher=""

cleanup() {
  [ -n "$launcher" ] && kill -TERM "$launcher" 2>/dev/null
  local n p
  # Every process still inside our namespaces is ours: end those, by pid.
  for n in "${made[@]}"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
  done
  sleep 0.5
  for n in "${made[@]}"; do
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$n" 2>/dev/null
  done
  [ -f "$T/munge/pid" ] && kill -TERM "$(cat "$T/munge/pid")" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

netns_add() { ip netns add "$1" && made+=("$1"); }
netns_add "$ns_sw" 2>"$T/err" || skip "'ip netns add' fails here: $(cat "$T/err")"
ip -n "$ns_sw" link add br0 type bridge 2>"$T/err" || skip "no bridge devices in a namespace: $(cat "$T/err")"
ip -n "$ns_sw" link set br0 up
ip -n "$ns_sw" link set lo up
for i in 0 1 2; do
  netns_add "${ns[i]}" || skip "'ip netns add ${ns[i]}' failed"
  # veth pair: "h<k>" inside the host, "p<k>" on the bridge; created inside
  # the host namespace so no end ever appears in the machine's own namespace.
  ip -n "${ns[i]}" link add "h$((i + 1))$sfx" type veth peer name "p$((i + 1))$sfx" netns "$ns_sw" 2>"$T/err" ||
    skip "cannot create veth pairs: $(cat "$T/err")"
  ip -n "${ns[i]}" addr add "${addr[i]}/24" dev "h$((i + 1))$sfx"
  ip -n "${ns[i]}" link set "h$((i + 1))$sfx" up
  ip -n "${ns[i]}" link set lo up
  ip -n "$ns_sw" link set "p$((i + 1))$sfx" master br0
  ip -n "$ns_sw" link set "p$((i + 1))$sfx" up
done

# Links come up asynchronously: wait until every veth end has carrier and
# every bridge port forwards, else Open MPI's first connection can fail.
links_up() {
  local i
  for i in 0 1 2; do
    ip -n "${ns[i]}" -o link show dev "h$((i + 1))$sfx" | grep -q 'LOWER_UP' || return 1
    ip -n "$ns_sw" -o link show dev "p$((i + 1))$sfx" | grep -q 'LOWER_UP' || return 1
  done
  [ "$(bridge -n "$ns_sw" link show 2>/dev/null | grep -c 'state forwarding')" -eq 3 ]
}
for _ in $(seq 1 100); do links_up && break; sleep 0.1; done
links_up || skip "the test network did not come up within 10 s: $(ip -n "$ns_sw" -o link show 2>&1 | tr '\n' ' ')"

fails=0
passes=0
check() { # check DESCRIPTION COMMAND...
  local what=$1 at=$(($(date +%s) - t0))
  shift
  if "$@"; then passes=$((passes + 1)); echo "ok [${at}s]: $what"; else fails=$((fails + 1)); echo "FAIL [${at}s]: $what"; fi
}

# actors_connected LOG NS1 NS2: polls while the job runs (pid $launcher)
# until a hint-actor in each of the two namespaces holds a TCP connection to
# the learner's segment port on 10.77.0.1; sets seen[1], seen[2] and port.
actors_connected() {
  local log=$1 i
  seen=()
  port=""
  for _ in $(seq 1 900); do
    kill -0 "$launcher" 2>/dev/null || break
    [ -n "$port" ] || port=$(sed -n "s|.*learner listening: segments tcp://${addr[0]}:\([0-9]*\),.*|\1|p" "$log" 2>/dev/null | head -n 1)
    if [ -n "$port" ]; then
      for i in 1 2; do
        [ -n "${seen[i]:-}" ] && continue
        seen[i]=$(ip netns exec "${ns[i]}" ss -Htnp state established dst "${addr[0]}:$port" 2>/dev/null |
          sed -n 's/.*"hint-actor",pid=\([0-9]*\).*/\1/p' | head -n 1)
      done
      [ -n "${seen[1]:-}" ] && [ -n "${seen[2]:-}" ] && break
    fi
    sleep 0.1
  done
}

# common_checks LOG RUN_DIR
common_checks() {
  local log=$1 run=$2 i k ck
  check "learner endpoints on the test subnet (${addr[0]}), CURVE on" \
    grep -q "learner listening: segments tcp://${addr[0]}:[0-9]*, parameters tcp://${addr[0]}:[0-9]*, CURVE on" "$log"
  for i in 1 2; do
    check "host $((i + 1)) (${addr[i]}): a hint-actor connected to the learner's ${addr[0]}:${port:-?} (pid ${seen[i]:-none})" \
      [ -n "${seen[i]:-}" ]
  done
  check "result.json" [ -s "$run/result.json" ]
  ck=$(ls -d "$run"/ckpt/ckpt-* 2>/dev/null | sort | tail -n 1)
  check "a checkpoint from every rank (${ck:-none})" \
    [ -n "$ck" -a -s "$ck/learner.ckpt" -a -s "$ck/actor-1.ckpt" -a -s "$ck/actor-2.ckpt" ]
  for k in 1 2; do
    check "metrics: segments from actor $k" grep -qE "\"actor${k}_env_steps_per_s\":[1-9]" "$run/metrics.jsonl"
  done
  check "no CURVE refusals" [ -z "$(grep -oE '"auth_refused":[1-9][0-9]*' "$run/metrics.jsonl" 2>/dev/null)" ]
}

small=(--set algo.name=mappo --set actor.envs=16 --set actor.segment_len=16 --set run.total_env_steps=30000
       --set eval.episodes=20 --set env.eval_episodes=20 --set eval.interval_env_steps=0
       --set metrics.interval_s=0.5 --set metrics.status_line=false --set transport.actor_timeout_s=30)

case_launch() {
  # The rsh agent: Open MPI calls it as `agent HOST COMMAND...` to start its
  # daemon on HOST; HOST is a hostfile address, mapped to its namespace. Any
  # other host is refused, so nothing is started outside the test hosts.
  cat >"$T/rsh-agent" <<EOF
#!/bin/sh
host=\$1
shift
case "\$host" in
  ${addr[0]}) ns=${ns[0]} ;;
  ${addr[1]}) ns=${ns[1]} ;;
  ${addr[2]}) ns=${ns[2]} ;;
  *) echo "rsh-agent: unknown test host '\$host'" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" sh -c "\$*"
EOF
  chmod +x "$T/rsh-agent"
  printf '%s slots=1\n' "${addr[@]}" >"$T/hostfile"
  log=$T/launch.log
  local args=("$root/configs/fire_commander_5x5.yaml" --hostfile "$T/hostfile" "${small[@]}"
    --set run.dir="$T/runs" --set run.name=mn --set actor.count=2
    --set transport.bind=interface --set "transport.interface=h1$sfx" --set transport.curve=on
    --mpirun-arg --mca --mpirun-arg plm_rsh_agent --mpirun-arg "$T/rsh-agent"
    --mpirun-arg --mca --mpirun-arg oob_tcp_if_include --mpirun-arg 10.77.0.0/24
    --mpirun-arg --mca --mpirun-arg btl_tcp_if_include --mpirun-arg 10.77.0.0/24
    --mpirun-arg --mca --mpirun-arg btl --mpirun-arg tcp,self)
  ip netns exec "${ns[0]}" timeout 240 "$root/deploy/hint-launch" "${args[@]}" >"$log" 2>&1 &
  launcher=$!
  actors_connected "$log"
  wait "$launcher"
  local rc=$?
  launcher=""
  check "hint-launch over 3 hosts exits 0 (got $rc)" [ "$rc" -eq 0 ]
  check "the learner resolved interface h1$sfx to its address" grep -q "tcp://${addr[0]}:" "$log"
  common_checks "$log" "$T/runs/mn"
}

case_slurm() {
  local i n
  # A host: its network namespace (nsenter keeps the machine's /sys, which
  # slurmd's cgroup set-up reads; `ip netns exec` would remount it), its own
  # host name (UTS namespace) and an /etc/hosts naming the test hosts (a bind
  # mount in a private mount namespace). Jobs inherit all three from slurmd.
  { echo "127.0.0.1 localhost"; for i in 0 1 2; do echo "${addr[i]} n$((i + 1))"; done; } >"$T/hosts"
  on_host() { # on_host INDEX COMMAND...
    local k=$1
    shift
    nsenter --net="/run/netns/${ns[k]}" unshare --mount --uts \
      sh -c 'mount --bind "$0" /etc/hosts && hostname "$1" && shift && exec "$@"' "$T/hosts" "n$((k + 1))" "$@"
  }
  # munge: one private daemon; its socket is a file, so every namespace reaches it.
  mkdir -p "$T/munge/etc" "$T/state" "$T/log" "$T/work" "$T/spool-n1" "$T/spool-n2" "$T/spool-n3"
  chown munge:munge "$T/munge" "$T/munge/etc"
  chmod 755 "$T" "$T/munge"
  chmod 700 "$T/munge/etc"
  dd if=/dev/urandom of="$T/munge/etc/munge.key" bs=1024 count=1 status=none
  chown munge:munge "$T/munge/etc/munge.key"
  chmod 400 "$T/munge/etc/munge.key"
  runuser -u munge -- munged --socket="$T/munge/sock" --key-file="$T/munge/etc/munge.key" \
    --pid-file="$T/munge/pid" --log-file="$T/munge/log" --seed-file="$T/munge/etc/seed" ||
    skip "munged does not start: $(tail -n 2 "$T/munge/log" 2>/dev/null)"
  export SLURM_CONF=$T/slurm.conf
  local cpus mem
  cpus=$(nproc)
  mem=$(( $(free -m | awk '/^Mem:/ { print $2 }') / 4 ))
  # Fixed ports are fine: they exist only inside the test's namespaces.
  cat >"$SLURM_CONF" <<EOF
ClusterName=hintmn
SlurmctldHost=n1(${addr[0]})
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool-%n
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd-%n.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd-%n.log
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
KillWait=10
DebugFlags=NO_CONF_HASH
NodeName=n1 NodeAddr=${addr[0]} CPUs=$cpus RealMemory=$mem State=UNKNOWN
NodeName=n2 NodeAddr=${addr[1]} CPUs=$cpus RealMemory=$mem State=UNKNOWN
NodeName=n3 NodeAddr=${addr[2]} CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=hintmn Nodes=n[1-3] Default=YES MaxTime=INFINITE State=UP
EOF
  # slurmctld on n1; one slurmd per host, each with its own host name.
  on_host 0 slurmctld -D -f "$SLURM_CONF" >"$T/log/slurmctld.stdout" 2>&1 &
  for i in 0 1 2; do
    on_host "$i" slurmd -D -f "$SLURM_CONF" >"$T/log/slurmd-n$((i + 1)).stdout" 2>&1 &
  done
  local up=0
  for _ in $(seq 1 150); do
    [ "$(ip netns exec "${ns[0]}" timeout 5 sinfo -h -o '%T %D' 2>/dev/null)" = "idle 3" ] && { up=1; break; }
    sleep 0.2
  done
  if [ "$up" -ne 1 ]; then
    tail -n 15 "$T"/log/* 2>/dev/null
    skip "a 3-node Slurm in the namespaces did not come up within 30 s (sinfo: $(ip netns exec "${ns[0]}" timeout 5 sinfo -h 2>&1 | tr '\n' ' '))"
  fi
  echo "multinode: 3-node Slurm up in $(($(date +%s) - t0)) s"

  # The job: 3 nodes x 1 task; the script puts the learner alone on n1.
  log=$T/work/job.out
  local id
  id=$(cd "$T/work" && ip netns exec "${ns[0]}" timeout 30 env HINT_MPI_IF=10.77.0.0/24 \
    sbatch --parsable --nodes=3 --ntasks-per-node=1 -o "$log" \
    "$root/deploy/slurm/hint-multinode.sbatch" "$root/configs/fire_commander_5x5.yaml" "${small[@]}" \
    --set run.dir="$T/runs" --set run.name=mn)
  check "sbatch accepted the 3-node job (${id:-none})" [ -n "$id" ]
  # A watcher that lives as long as the job; actors_connected polls while it does.
  local st=""
  (
    for _ in $(seq 1 1200); do
      st=$(ip netns exec "${ns[0]}" timeout 10 scontrol show job -o "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
      case "$st" in PENDING|CONFIGURING|RUNNING|COMPLETING) sleep 0.2 ;; *) exit 0 ;; esac
    done
  ) &
  launcher=$!
  actors_connected "$log"
  wait "$launcher"
  launcher=""
  st=$(ip netns exec "${ns[0]}" timeout 10 scontrol show job -o "$id" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')
  local ec
  ec=$(ip netns exec "${ns[0]}" timeout 10 scontrol show job -o "$id" 2>/dev/null | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p')
  check "the job COMPLETED (state ${st:-?}, exit ${ec:-?})" [ "$st" = COMPLETED ]
  check "hostfile from the allocation: n1 slots=1, n2 slots=1, n3 slots=1" \
    grep -qzE 'n1 slots=1.{0,8}n2 slots=1.{0,8}n3 slots=1' "$log"
  check "learner address from the route to n2: ${addr[0]}" grep -q "learner on n1 (${addr[0]})" "$log"
  check "the batch script reports the finished run" grep -q "run finished: $T/runs/mn/result.json" "$log"
  common_checks "$log" "$T/runs/mn"
}

case_$mode

echo "multinode $mode: $passes checks passed, $fails failed, $(($(date +%s) - t0)) s"
if [ "$fails" -ne 0 ]; then
  echo "---- job/launcher log (last 40 lines)"
  tail -n 40 "$log"
  [ "$mode" = slurm ] && tail -n 15 "$T"/log/*.log 2>/dev/null
fi
[ "$fails" -eq 0 ]
