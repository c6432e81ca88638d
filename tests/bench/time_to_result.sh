#!/usr/bin/env bash
# time_to_result.sh: wall-clock time for hint to reach 90% greedy success on
# FireCommander 5x5 2P1A (2 actors, async, the README quickstart's schedules,
# evaluation every 100k env steps on 100 episodes), per seed and the median of
# seeds 1,2,3. Each job stops as soon as it gets there. See
# tests/bench/time_to_result.py or --help for the exact settings and options.
#   BUILD_DIR=build-x tests/bench/time_to_result.sh [--seeds 1,2,3] [--out DIR]
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/time_to_result.py" "$@"
