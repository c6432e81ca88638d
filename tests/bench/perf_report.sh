#!/usr/bin/env bash
# perf_report.sh: one command for issue 9's performance report: end-to-end
# throughput of hint and mappo on FireCommander 5x5 / 10x10 and MARINE 10x10
# with 1, 2 and 3 actors, the actor and learner time splits, the learner's
# ingest ceiling, the reference figures (env, sgemm, wire, MPI) and each
# stage's efficiency against its limit. See tests/bench/perf_report.py or
# --help for the options; about 15 minutes with the defaults, --quick about 3.
#   BUILD_DIR=build-x tests/bench/perf_report.sh [--quick] [--out DIR] ...
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/perf_report.py" "$@"
