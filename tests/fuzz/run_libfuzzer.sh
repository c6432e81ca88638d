#!/bin/sh
# run_libfuzzer.sh SOURCE_ROOT WORK_DIR SECONDS
# Builds the decoder fuzz target with clang-14 + libFuzzer + ASan/UBSan (only
# msg.c and the two core files it needs, so no second meson build dir), runs
# it for SECONDS on a scratch copy of the committed corpus, and fails if
# libFuzzer reports a crash, leak or timeout. Exits 77 (meson: skipped) when
# clang-14 or its libFuzzer runtime is not installed.
set -u
src=$1; work=$2; secs=${3:-20}
CLANG=${CLANG:-clang-14}
command -v "$CLANG" >/dev/null 2>&1 || { echo "no $CLANG: skipped"; exit 77; }
mkdir -p "$work" || exit 1
bin=$work/fuzz_msg_libfuzzer
flags="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all"
# shellcheck disable=SC2046
if ! "$CLANG" $flags -I"$src" $(pkg-config --cflags msgpack) \
    "$src/tests/fuzz/fuzz_msg.c" "$src/common/wire/msg.c" \
    "$src/common/core/alloc.c" "$src/common/core/error.c" \
    $(pkg-config --libs msgpack) -o "$bin" 2>"$work/build.log"; then
  if grep -q "libclang_rt.fuzzer\|cannot find -l\|unsupported option" "$work/build.log"; then
    cat "$work/build.log"; echo "libFuzzer runtime missing: skipped"; exit 77
  fi
  cat "$work/build.log"; exit 1
fi
corpus=$work/corpus
rm -rf "$corpus" "$work/artifacts"; mkdir -p "$corpus" "$work/artifacts"
cp "$src"/tests/fuzz/corpus/msg/* "$corpus"/
"$bin" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=1024 -timeout=10 \
  -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$corpus" >"$work/run.log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/run.log" | tail -n 1)
crashes=$(find "$work/artifacts" -type f | wc -l)
cov=$(grep -o 'cov: [0-9]*' "$work/run.log" | tail -n 1 | cut -d' ' -f2)
echo "{\"fuzz\":\"msg_libfuzzer\",\"seconds\":$secs,\"execs\":${execs:-0},\"crashes\":$crashes,\"coverage\":${cov:-0},\"exit\":$rc}"
if [ $rc -ne 0 ] || [ "$crashes" -ne 0 ] || [ -z "${execs:-}" ]; then
  tail -n 40 "$work/run.log"
  exit 1
fi
exit 0
