#!/usr/bin/env bash
# deploy/quickstart.sh: the README's first command. Installs what is missing
# (Debian 12, as root), builds, and runs a short training job of the HINT
# system on the default FireCommander 5x5 config: 1 learner + 2 actors under
# mpirun, a live status line, and the final evaluation as the last line.
# It trains `hint` (the config's algorithm) for 1M env steps with the
# schedules of the shipped configs scaled to that budget (KD weight and
# teacher share annealed over 60% of it), in sync mode: bit-for-bit
# reproducible, and here as fast as async for hint (its learner is the bottleneck).
#   QUICKSTART_STEPS  env-step budget (default 1000000)
# Extra arguments go to deploy/hint-launch (e.g. --set algo.name=mappo).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
steps=${QUICKSTART_STEPS:-1000000}
exec ./deploy/hint-launch configs/fire_commander_5x5.yaml \
  --set run.name=quickstart --set run.resume=never --set run.sync=true \
  --set run.total_env_steps="$steps" --set eval.interval_env_steps=$((steps / 4)) \
  --set student.kd_anneal_env_steps=$((steps * 6 / 10)) \
  --set interaction.anneal_env_steps=$((steps * 6 / 10)) "$@"
