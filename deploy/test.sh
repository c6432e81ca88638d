#!/usr/bin/env bash
# deploy/test.sh: set up (deploy/setup.sh) and run the whole test suite:
# unit tests, multi-rank MPI tests, PyTorch parity and bounded fuzz runs.
# The closing lines are meson's summary (Ok: / Fail: ...).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec meson test -C "${BUILD_DIR:-build}" --print-errorlogs --num-processes 2 "$@"
