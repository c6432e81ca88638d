#!/usr/bin/env bash
# deploy/test.sh: set up (deploy/setup.sh) and run the whole test suite:
# unit tests, multi-rank MPI tests, PyTorch parity and bounded fuzz runs;
# then the same code again built with AddressSanitizer + UBSan (build-asan,
# the 'asan' test setup: LeakSanitizer on, UBSan halts) on the unit, wire and
# fuzz suites and the MPI cases that reach every role's code (wire_mpi,
# wire_mpi_auth, runtime_hint, runtime_sigterm, runtime_sigkill). The long
# learning runs (learn_*, teacher_learn) and the other runtime cases, which
# exercise no code the selected ones do not, run in the normal build only.
#   BUILD_DIR      normal build directory (default: build)
#   ASAN_BUILD_DIR sanitizer build directory (default: build-asan)
#   HINT_ASAN=0    skip the sanitizer pass
# Arguments (test names, --suite ...) go to the normal pass only and skip the
# sanitizer pass. The closing line counts both passes: "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/setup.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
build=${BUILD_DIR:-build}
asan=${ASAN_BUILD_DIR:-build-asan}

rc=0
meson test -C "$build" --print-errorlogs --num-processes 2 "$@" || rc=$?
logs=("$build/meson-logs/testlog.json")

if [ $# -eq 0 ] && [ "${HINT_ASAN:-1}" != 0 ]; then
  echo "== sanitizer pass: AddressSanitizer + UBSan ($asan)"
  BUILD_DIR=$asan MESON_ARGS="-Db_sanitize=address,undefined -Dbuildtype=debugoptimized" \
    ./deploy/setup.sh
  # Every test of the unit, wire and fuzz suites but the learning run and the
  # fuzz drivers (already sanitizer builds in the normal pass), plus the MPI
  # cases named above.
  mapfile -t tests < <(meson test -C "$asan" --list 2>/dev/null |
    sed -n 's/^hint:\([a-z+]*\) \/ \(.*\)$/\1 \2/p' |
    awk '$2 == "teacher_learn" || $2 ~ /_fuzz_(libfuzzer|replay|canary)$/ { next }
         $1 ~ /(^|\+)(unit|wire|fuzz)(\+|$)/ { print $2; next }
         $2 ~ /^(wire_mpi|wire_mpi_auth|runtime_hint|runtime_sigterm|runtime_sigkill)$/ { print $2 }')
  [ ${#tests[@]} -gt 0 ] || { echo "test.sh: no sanitizer tests found in $asan" >&2; exit 1; }
  meson test -C "$asan" --print-errorlogs --num-processes 2 "${tests[@]}" || rc=$?
  logs+=("$asan/meson-logs/testlog.json")
fi

# One closing line over both passes (meson's own summary counts one pass).
python3 - "${logs[@]}" <<'EOF'
import json, sys
ok = bad = skip = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            r = json.loads(line).get("result")
            if r in ("OK", "EXPECTEDFAIL"): ok += 1
            elif r == "SKIP": skip += 1
            else: bad += 1
print(f"{ok} passed, {bad} failed, {skip} skipped")
EOF
exit $rc
