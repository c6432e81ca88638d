#!/usr/bin/env bash
# long_run.sh [SECONDS] [OUT_DIR]: a long training job (1 learner + 2 actors,
# FireCommander 5x5 mappo, run.max_wall_s = SECONDS, default 1800) under
# `nice -n 10`, sampling every rank's resident memory (VmRSS), open file
# descriptors and sockets every SAMPLE_S (10) seconds into OUT_DIR/long_run.csv,
# then reporting growth after the warm-up (WARMUP_S, default 300, at most a
# third of the run) as JSON lines (name, config, value, unit) and plotting the
# memory curve to OUT_DIR/long_run.png (gnuplot, when installed).
#
# Pass (exit 0): every rank's RSS grows < 5% after the warm-up and its fd and
# socket counts stay flat (the same at the end as after the warm-up). Exit 1
# on a leak, 2 on bad arguments or a job that failed. Not part of the test
# suite (it takes the whole duration); run it by hand:
#   BUILD_DIR=build tests/bench/long_run.sh 180 /tmp/lr      # 3-minute check
#   BUILD_DIR=build tests/bench/long_run.sh                  # 30 minutes
#   tests/bench/long_run.sh --analyze CSV [SECONDS]          # only the verdict
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export BUILD_DIR=${BUILD_DIR:-$root/build}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$root/$BUILD_DIR" ;; esac
analyze=""
if [ "${1:-}" = --analyze ]; then
  analyze=${2:?--analyze needs a CSV}
  [ -r "$analyze" ] || { echo "long_run: cannot read $analyze" >&2; exit 2; }
  set -- "${3:-1800}" "$(dirname "$analyze")"
fi
secs=${1:-1800}
out=${2:-$PWD}
sample_s=${SAMPLE_S:-10}
warmup=${WARMUP_S:-300}
die() { echo "long_run: $*" >&2; exit 2; }
[[ "$secs" =~ ^[0-9]+$ ]] && [ "$secs" -ge 60 ] || die "SECONDS must be an integer >= 60 (got '$secs')"
[ "$warmup" -gt $((secs / 3)) ] && warmup=$((secs / 3))
mkdir -p "$out" || die "cannot create $out"
[ -n "$analyze" ] || [ -x "$BUILD_DIR/learner/hint-learner" ] || die "$BUILD_DIR/learner/hint-learner is missing: build first"
work=$(mktemp -d /tmp/hint_long_run_XXXXXX)
job=""
cleanup() {
  [ -n "$job" ] && kill -TERM "$job" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
config="fire_commander_5x5 mappo 2x16 envs ${secs}s"
csv="$out/long_run.csv"
log="$out/long_run.log"
if [ -n "$analyze" ]; then
  csv=$analyze
else

OPENBLAS_NUM_THREADS=1 nice -n 10 "$root/deploy/hint-launch" "$root/configs/fire_commander_5x5.yaml" \
  --set run.dir="$work/runs" --set run.name=long --set algo.name=mappo --set actor.count=2 \
  --set actor.envs=16 --set run.total_env_steps=100000000000 --set run.max_wall_s="$secs" \
  --set eval.interval_env_steps=0 --set metrics.status_line=false --set metrics.interval_s=10 \
  --set ckpt.interval_s=120 >"$log" 2>&1 &
job=$!

# The ranks: children of mpirun, itself a child of the launcher.
ranks=() # "role pid"
for _ in $(seq 1 300); do
  mp=$(pgrep -P "$job" -x mpirun | head -n 1)
  if [ -n "$mp" ]; then
    ranks=()
    for p in $(pgrep -P "$mp"); do
      r=$(tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | sed -n 's/^OMPI_COMM_WORLD_RANK=//p')
      [ -n "$r" ] && ranks+=("$([ "$r" = 0 ] && echo learner || echo "actor$r") $p")
    done
    [ "${#ranks[@]}" -eq 3 ] && grep -q "long: mappo on" "$log" && break
  fi
  sleep 0.2
done
[ "${#ranks[@]}" -eq 3 ] || die "the job did not start (see $log)"
mapfile -t ranks < <(printf '%s\n' "${ranks[@]}" | sort)

header="time_s,env_steps"
for rp in "${ranks[@]}"; do
  role=${rp% *}
  header+=",${role}_rss_mb,${role}_fds,${role}_sockets"
done
echo "$header" >"$csv"
t0=$(date +%s)
echo "long_run: sampling ${ranks[*]} every ${sample_s}s for ${secs}s into $csv" >&2
while kill -0 "$job" 2>/dev/null; do
  now=$(($(date +%s) - t0))
  steps=$(tail -n 1 "$work/runs/long/metrics.jsonl" 2>/dev/null | sed -n 's/.*"env_steps":\([0-9]*\).*/\1/p')
  row="$now,${steps:-0}"
  alive=1
  for rp in "${ranks[@]}"; do
    p=${rp#* }
    rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$p/status" 2>/dev/null)
    [ -z "$rss" ] && alive=0 && break
    fds=$(ls "/proc/$p/fd" 2>/dev/null | wc -l)
    socks=$(find "/proc/$p/fd" -mindepth 1 -lname 'socket:*' 2>/dev/null | wc -l)
    row+=",$(awk -v k="$rss" 'BEGIN { printf "%.2f", k / 1024 }'),$fds,$socks"
  done
  [ "$alive" -eq 1 ] || break # the ranks are stopping
  echo "$row" >>"$csv"
  sleep "$sample_s"
done
wait "$job"
rc=$?
job=""
[ "$rc" -eq 0 ] || die "the job ended with exit $rc (see $log)"
fi

# Growth after the warm-up: median of the first minute after it against the
# median of the last minute (medians ride out one-sample blips).
python3 - "$csv" "$warmup" "$config" <<'PY'
import csv, json, statistics, sys
path, warmup, config = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(path))]
after = [r for r in rows if r["time_s"] >= warmup]
if len(after) < 4:
    sys.exit(f"long_run: only {len(after)} samples after the {warmup:.0f} s warm-up")
span = max(2, min(6, len(after) // 4))
first, last = after[:span], after[-span:]
roles = sorted({k[: -len("_rss_mb")] for k in rows[0] if k.endswith("_rss_mb")})
ok = True
def emit(name, value, unit):
    print(json.dumps({"name": name, "config": config, "value": round(value, 3), "unit": unit}))
emit("long_run_duration", rows[-1]["time_s"], "s")
emit("long_run_env_steps", rows[-1]["env_steps"], "steps")
for role in roles:
    r0 = statistics.median(r[f"{role}_rss_mb"] for r in first)
    r1 = statistics.median(r[f"{role}_rss_mb"] for r in last)
    growth = 100.0 * (r1 - r0) / r0
    emit(f"long_run_rss_{role}", r1, "MB")
    emit(f"long_run_rss_growth_{role}", growth, "%")
    for what in ("fds", "sockets"):
        v0, v1 = first[0][f"{role}_{what}"], last[-1][f"{role}_{what}"]
        vals = [r[f"{role}_{what}"] for r in after]
        emit(f"long_run_{what}_{role}", v1, "count")
        emit(f"long_run_{what}_growth_{role}", v1 - v0, "count")
        if v1 != v0:
            print(f"long_run: {role} {what} went from {v0:.0f} to {v1:.0f} after the warm-up "
                  f"(range {min(vals):.0f}..{max(vals):.0f})", file=sys.stderr)
            ok = False
    if growth >= 5.0:
        print(f"long_run: {role} RSS grew {growth:.1f}% after the warm-up ({r0:.1f} -> {r1:.1f} MB)",
              file=sys.stderr)
        ok = False
sys.exit(0 if ok else 1)
PY
verdict=$?

if command -v gnuplot >/dev/null; then
  cols=$(head -n 1 "$csv" | tr ',' '\n' | grep -n '_rss_mb$' | cut -d: -f1)
  plot=""
  for c in $cols; do
    name=$(head -n 1 "$csv" | cut -d, -f"$c" | sed 's/_rss_mb//')
    plot+="${plot:+, }'$csv' using (\$1/60):$c with lines lw 2 title '$name'"
  done
  gnuplot <<EOF || echo "long_run: gnuplot failed; the CSV is $csv" >&2
set datafile separator ','
set terminal pngcairo size 900,500 noenhanced
set output '$out/long_run.png'
set title 'Resident memory per rank ($config)'
set xlabel 'minutes'
set ylabel 'RSS (MB)'
set key bottom right
set yrange [0:*]
set arrow from $warmup/60.0, graph 0 to $warmup/60.0, graph 1 nohead dt 2
set label 'end of warm-up' at $warmup/60.0, graph 0.95 offset 0.5,0
plot $plot
EOF
else
  echo "long_run: gnuplot not installed: no plot (the CSV is $csv)" >&2
fi
exit $verdict
