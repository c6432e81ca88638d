# shellcheck shell=bash
# hint-slurm-common.sh: what the HINT batch scripts share (sourced, not run).
#
# Each script finds the source tree itself first (sbatch runs a copy of the
# script from its spool directory, so $0 does not point into the tree; the
# scripts ask scontrol for the submitted path) and sets HS_ROOT, then sources
# this file. Everything here reports a bad input
# with one line naming the problem and exits 2 (the launcher's code for a bad
# command line), before any rank starts.
#
# The time-limit path: `#SBATCH --signal=B:USR1@120` sends SIGUSR1 to this
# shell only. hs_launch turns it into SIGTERM for hint-launch (which the
# launcher turns into a clean checkpoint and exit 0), then requeues the job
# with `scontrol requeue` unless the run finished (result.json present). The
# requeued job starts with run.resume=auto and continues from the newest
# complete checkpoint. A lost actor or runtime error (exit 3 or 4) is requeued
# too, at most HINT_FAILURE_REQUEUES times (default 1) per run directory.
# Every requeue is recorded in <run dir>/slurm-requeue.log.

hs_prog=${hs_prog:-hint-slurm}

hs_die() { echo "$hs_prog: error: $*" >&2; exit 2; }
hs_say() { echo "$hs_prog: $*" >&2; }

# hs_check_build: the three programs hint-launch starts must exist.
hs_check_build() {
  local b=${BUILD_DIR:-build} p
  case "$b" in /*) ;; *) b="$HS_ROOT/$b" ;; esac
  for p in common/hint-config learner/hint-learner actor/hint-actor; do
    [ -x "$b/$p" ] || hs_die "$b/$p is missing: build first (BUILD_DIR=${BUILD_DIR:-build} deploy/setup.sh), or set BUILD_DIR"
  done
  HS_CFGTOOL=$b/common/hint-config
  export BUILD_DIR=$b
}

# hs_parse_args CONFIG [--set k=v | --actors N | --mpirun-arg A]...
# Sets HS_CONFIG (absolute), HS_SETS (--set k=v words), HS_ACTORS (empty
# unless given with --actors or --set actor.count=), HS_MPIARGS.
hs_parse_args() {
  HS_CONFIG=""
  HS_SETS=()
  HS_ACTORS=""
  HS_MPIARGS=()
  local kv
  while [ $# -gt 0 ]; do
    case "$1" in
      --set|--set=*)
        if [ "$1" = --set ]; then
          [ $# -ge 2 ] || hs_die "--set needs key=value"
          kv=$2
          shift 2
        else
          kv=${1#--set=}
          shift
        fi
        case "$kv" in *=*) ;; *) hs_die "--set '$kv' is not key=value" ;; esac
        case "$kv" in actor.count=*) HS_ACTORS=${kv#actor.count=} ;; esac
        HS_SETS+=(--set "$kv")
        ;;
      --actors)
        [ $# -ge 2 ] || hs_die "--actors needs a number"
        HS_ACTORS=$2
        HS_SETS+=(--set "actor.count=$2")
        shift 2
        ;;
      --mpirun-arg)
        [ $# -ge 2 ] || hs_die "--mpirun-arg needs a value"
        HS_MPIARGS+=(--mpirun-arg "$2")
        shift 2
        ;;
      --hostfile) hs_die "--hostfile is not for batch scripts: the allocation decides the hosts" ;;
      -*) hs_die "unknown option '$1' (allowed: --set key=value, --actors N, --mpirun-arg ARG)" ;;
      *)
        [ -z "$HS_CONFIG" ] || hs_die "more than one config file ('$HS_CONFIG' and '$1')"
        HS_CONFIG=$1
        shift
        ;;
    esac
  done
  if [ -z "$HS_CONFIG" ] && [ -n "${HINT_CONFIG:-}" ]; then HS_CONFIG=$HINT_CONFIG; fi
  [ -n "$HS_CONFIG" ] || hs_die "no config file: pass it after the script (sbatch $hs_prog CONFIG.yaml [--set k=v]...) or set HINT_CONFIG"
  [ -f "$HS_CONFIG" ] || hs_die "config file '$HS_CONFIG' not found (relative paths are taken from $PWD)"
  HS_CONFIG=$(cd "$(dirname "$HS_CONFIG")" && pwd)/$(basename "$HS_CONFIG")
  if [ -n "$HS_ACTORS" ]; then
    case "$HS_ACTORS" in ''|*[!0-9]*) hs_die "actor count '$HS_ACTORS' is not a number" ;; esac
    [ "$HS_ACTORS" -ge 1 ] || hs_die "actor count must be at least 1"
  fi
}

# hs_validate SETS...: the config with these overrides is valid (hint-config
# names file, line and key otherwise); sets HS_RUN_DIR (absolute).
hs_validate() {
  "$HS_CFGTOOL" "$@" "$HS_CONFIG" >/dev/null || hs_die "config '$HS_CONFIG' with these overrides is invalid (hint-config's message above names the key)"
  local dir name
  dir=$("$HS_CFGTOOL" "$@" --get run.dir "$HS_CONFIG") || hs_die "cannot read run.dir"
  name=$("$HS_CFGTOOL" "$@" --get run.name "$HS_CONFIG") || hs_die "cannot read run.name"
  HS_RUN_DIR=$dir/$name
  case "$HS_RUN_DIR" in /*) ;; *) HS_RUN_DIR=$PWD/$HS_RUN_DIR ;; esac
}

# run.resume=auto goes before the user's overrides; on a requeued start
# (SLURM_RESTART_COUNT > 0) the scripts add it after them too, so a restart
# never starts the run over.
# shellcheck disable=SC2034 # used by the scripts that source this file
hs_resume_first=(--set run.resume=auto)

hs_on_usr1() {
  hs_stop=$((hs_stop + 1))
  [ "$hs_stop" -eq 1 ] || return 0
  hs_say "SIGUSR1 (time limit near): asking hint-launch to checkpoint and stop"
  [ -n "${hs_pid:-}" ] && kill -TERM "$hs_pid" 2>/dev/null
  return 0
}

hs_on_term() {
  hs_term=1
  hs_say "SIGTERM (job cancelled or out of time): the ranks checkpoint and stop; no requeue"
}

# hs_launch ARGS...: runs deploy/hint-launch ARGS (its output goes to the
# job's output file), then finishes, requeues or fails as described above.
# Needs HS_RUN_DIR. Exits with the launcher's code (0 after a requeue).
hs_launch() {
  hs_stop=0
  hs_term=0
  hs_pid=""
  trap hs_on_usr1 USR1
  trap hs_on_term TERM
  hs_say "job ${SLURM_JOB_ID:-?} (restart ${SLURM_RESTART_COUNT:-0}) on $(hostname -s): run dir $HS_RUN_DIR"
  printf '%s: command: %s' "$hs_prog" "$HS_ROOT/deploy/hint-launch" >&2
  printf ' %q' "$@" >&2
  echo >&2
  "$HS_ROOT/deploy/hint-launch" "$@" &
  hs_pid=$!
  # From here on every status is looked at explicitly: errexit would end the
  # script when a trapped signal interrupts wait (status > 128).
  set +e +o pipefail
  local rc
  while :; do
    wait "$hs_pid"
    rc=$?
    kill -0 "$hs_pid" 2>/dev/null || break
  done
  if [ "$rc" -gt 128 ]; then
    # wait was interrupted by a trapped signal as the launcher ended: its
    # status is still there to collect.
    local r2
    wait "$hs_pid" 2>/dev/null
    r2=$?
    [ "$r2" -ne 127 ] && rc=$r2
  fi
  trap - USR1 TERM
  if [ -f "$HS_RUN_DIR/result.json" ]; then
    hs_say "run finished: $HS_RUN_DIR/result.json (exit $rc)"
    exit "$rc"
  fi
  local reason=""
  if [ "$hs_stop" -gt 0 ] && [ "$rc" -eq 0 ]; then
    reason=time-limit
  elif [ "$hs_term" -eq 0 ] && { [ "$rc" -eq 3 ] || [ "$rc" -eq 4 ]; }; then
    local max=${HINT_FAILURE_REQUEUES:-1} done=0
    [ -f "$HS_RUN_DIR/slurm-requeue.log" ] && done=$(grep -c ' reason failure' "$HS_RUN_DIR/slurm-requeue.log")
    if [ "$done" -lt "$max" ]; then
      reason=failure
    else
      hs_say "exit $rc and $done failure requeue(s) already (HINT_FAILURE_REQUEUES=$max): not requeueing"
    fi
  fi
  if [ -z "$reason" ]; then
    hs_say "hint-launch exited $rc; the run has not finished (no result.json); not requeueing"
    exit "$rc"
  fi
  if [ "${HINT_REQUEUE:-1}" = 0 ]; then
    hs_say "stopped ($reason, exit $rc); HINT_REQUEUE=0: resubmit the same command to continue"
    exit "$rc"
  fi
  local ckpt
  ckpt=$(ls -d "$HS_RUN_DIR"/ckpt/ckpt-* 2>/dev/null | sort | tail -n 1)
  mkdir -p "$HS_RUN_DIR"
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) job ${SLURM_JOB_ID} restart ${SLURM_RESTART_COUNT:-0} reason $reason exit $rc checkpoint ${ckpt:-none}" \
    >>"$HS_RUN_DIR/slurm-requeue.log"
  hs_say "requeueing job $SLURM_JOB_ID ($reason, exit $rc); it resumes from ${ckpt:-the start}"
  if ! scontrol requeue "$SLURM_JOB_ID"; then
    hs_say "scontrol requeue failed (was the job submitted with --no-requeue?): resubmit the same command to continue"
    exit 4
  fi
  exit 0
}

# hs_check_mode ARGS...: outside Slurm the scripts only check their inputs and
# show the launch with hint-launch --dry-run.
hs_check_mode() {
  hs_say "not inside a Slurm job (no SLURM_JOB_ID): checking only"
  exec "$HS_ROOT/deploy/hint-launch" "$@" --dry-run
}
