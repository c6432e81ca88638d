#!/bin/sh
# run_libfuzzer.sh SOURCE_ROOT WORK_DIR SECONDS [TARGET [RUNS]]
# Builds a fuzz target with clang-14 + libFuzzer + ASan/UBSan (only the
# sources it needs, so no second meson build dir), runs it on a scratch copy
# of the committed corpus tests/fuzz/corpus/TARGET for SECONDS (or until RUNS
# executions when RUNS > 0), and fails if libFuzzer reports a crash, leak or
# timeout. Prints one JSON line: execs, execs/s, crashes, coverage (edges
# covered / instrumented). Exits 77 (meson: skipped) when clang-14 or its
# libFuzzer runtime is not installed.
#   TARGET  msg (protocol decoder, default) or config (config loader)
#   Long runs (the figures in README):
#     tests/fuzz/run_libfuzzer.sh . /tmp/fz-msg 0 msg 10000000
#     tests/fuzz/run_libfuzzer.sh . /tmp/fz-cfg 0 config 10000000
set -u
src=$1; work=$2; secs=${3:-20}; target=${4:-msg}; runs=${5:-0}
CLANG=${CLANG:-clang-14}
command -v "$CLANG" >/dev/null 2>&1 || { echo "no $CLANG: skipped"; exit 77; }
case "$target" in
  msg)
    srcs="tests/fuzz/fuzz_msg.c common/wire/msg.c common/core/alloc.c common/core/error.c"
    pkgs=msgpack; max_len=65536 ;;
  config)
    srcs="tests/fuzz/fuzz_config.c common/config/config.c common/config/schema.c
          common/core/alloc.c common/core/error.c"
    pkgs=yaml-0.1; max_len=16384 ;;
  *) echo "run_libfuzzer.sh: unknown target '$target' (msg or config)" >&2; exit 2 ;;
esac
mkdir -p "$work" || exit 1
bin=$work/fuzz_${target}_libfuzzer
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
paths=""
for f in $srcs; do paths="$paths $src/$f"; done
# shellcheck disable=SC2046,SC2086
if ! "$CLANG" $flags -I"$src" $(pkg-config --cflags $pkgs) $paths \
    $(pkg-config --libs $pkgs) -lm -o "$bin" 2>"$work/build.log"; then
  if grep -q "libclang_rt.fuzzer\|cannot find -l\|unsupported option" "$work/build.log"; then
    cat "$work/build.log"; echo "libFuzzer runtime missing: skipped"; exit 77
  fi
  cat "$work/build.log"; exit 1
fi
corpus=$work/corpus
rm -rf "$corpus" "$work/artifacts"; mkdir -p "$corpus" "$work/artifacts"
cp "$src"/tests/fuzz/corpus/"$target"/* "$corpus"/
if [ "$runs" -gt 0 ]; then limit="-runs=$runs"; else limit="-max_total_time=$secs"; fi
"$bin" "$limit" -max_len=$max_len -rss_limit_mb=1024 -timeout=10 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$corpus" >"$work/run.log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log" | tail -n 1)
rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/run.log" | tail -n 1)
crashes=$(find "$work/artifacts" -type f | wc -l)
cov=$(grep -o 'cov: [0-9]*' "$work/run.log" | tail -n 1 | cut -d' ' -f2)
edges=$(sed -n 's/^INFO: Loaded 1 modules *(\([0-9]*\) inline 8-bit counters.*/\1/p' "$work/run.log" | head -n 1)
echo "{\"fuzz\":\"${target}_libfuzzer\",\"seconds\":$secs,\"runs\":$runs,\"execs\":${execs:-0},\"execs_per_s\":${rate:-0},\"crashes\":$crashes,\"coverage\":${cov:-0},\"edges\":${edges:-0},\"corpus\":$(ls "$corpus" | wc -l),\"exit\":$rc}"
if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "${execs:-}" ]; then
  tail -n 40 "$work/run.log"
  exit 1
fi
exit 0
