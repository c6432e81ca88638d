#!/usr/bin/env bash
# bench_runtime.sh [SECONDS] [ALGO] [CONFIG]: end-to-end throughput of a real
# job (1 learner + 1 and + 2 actors on this machine) through deploy/hint-launch,
# with the actors' and the learner's time split, from the job's metrics.jsonl.
# Prints one JSON object per figure, then a table. Needs BUILD_DIR and
# HINT_SOURCE_ROOT (meson sets them) or runs from the source tree.
set -eu
secs=${1:-20}
algo=${2:-mappo}
root=${HINT_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
export BUILD_DIR=${BUILD_DIR:-$root/build}
cfg=${3:-$root/configs/fire_commander_5x5.yaml}
work=$(mktemp -d /tmp/hint_bench_XXXXXX)
trap 'rm -rf "$work"' EXIT
table=()
for n in 1 2; do
  "$root/deploy/hint-launch" "$cfg" --set run.dir="$work" --set run.name="a$n" --set algo.name="$algo" \
    --set actor.count=$n --set run.total_env_steps=1000000000 --set run.max_wall_s="$secs" \
    --set metrics.interval_s=1 --set eval.interval_env_steps=0 --set eval.episodes=20 \
    --set env.eval_episodes=20 --set ckpt.interval_s=0 >"$work/log$n.txt" 2>&1 ||
    { echo "bench_runtime: job with $n actors failed:" >&2; tail -20 "$work/log$n.txt" >&2; exit 1; }
  # Median over the records after a 3-second warm-up.
  line=$(python3 - "$work/a$n/metrics.jsonl" "$n" "$algo" "$(basename "$cfg" .yaml)" <<'PY'
import json, statistics, sys
path, n, algo, cfg = sys.argv[1:]
recs = [json.loads(l) for l in open(path)][3:]
if not recs:
    sys.exit("no metrics records after warm-up")
med = lambda k: statistics.median(r[k] for r in recs if r.get(k) is not None)
conf = f"{algo} {cfg}, 1 learner + {n} actors, 2 vCPU"
figs = [("env_steps_per_s", med("env_steps_per_s"), "env steps/s")]
for k in ("actor_frac_env", "actor_frac_inference", "actor_frac_update", "actor_frac_allreduce",
          "actor_wait_frac", "frac_decode", "frac_teacher_update", "frac_targets", "frac_publish", "frac_idle"):
    figs.append((k, med(k), "fraction of wall time"))
for name, v, unit in figs:
    print(json.dumps({"name": "runtime_" + name, "config": conf, "value": round(v, 4), "unit": unit}))
print("TABLE", n, " ".join(f"{v:.3f}" for _, v, _ in figs))
PY
)
  echo "$line" | grep -v '^TABLE'
  table+=("$(echo "$line" | grep '^TABLE' | cut -d' ' -f2-)")
done
echo
echo "actors  env_steps/s   actor: env  infer  update allreduce wait | learner: decode teacher targets publish idle"
for row in "${table[@]}"; do
  set -- $row
  printf "%6s  %11.0f  %10.2f %6.2f %6.2f %9.2f %5.2f | %15.2f %7.2f %7.2f %7.2f %4.2f\n" "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "$9" "${10}" "${11}" "${12}"
done
