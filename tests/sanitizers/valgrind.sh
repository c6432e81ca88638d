#!/bin/sh
# valgrind.sh CMD [ARG]...: the exe_wrapper of the 'valgrind' test setup
# (`meson test -C BUILD --setup valgrind`). Runs a test's processes under
# memcheck; an error or a definite leak makes the test fail (exit 99).
#   a test binary          runs under valgrind
#   mpirun ... -np N PROG  every rank runs under valgrind (inserted before
#                          each PROG), mpirun itself does not
#   runtime.sh, faults.sh  skipped (77): whole jobs under memcheck are too
#                          slow for the learner's liveness timeout; run one by
#                          hand with HINT_RANK_WRAPPER (see README)
#   test_teacher_learn     a learning run (an hour under memcheck): skipped
#   anything else          (config_cli.sh, parity, libFuzzer, sanitizer-built
#                          fuzz drivers): skipped (77), nothing of ours to
#                          watch or not valgrind-compatible
# Open MPI's own leaks are suppressed by tests/sanitizers/valgrind.supp.
# OpenBLAS is pinned to Haswell kernels: valgrind has no AVX-512.
here=$(cd "$(dirname "$0")" && pwd)
VG="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
VG="$VG --show-leak-kinds=definite --track-origins=yes --num-callers=40 --quiet"
VG="$VG --suppressions=$here/valgrind.supp"
export OPENBLAS_CORETYPE=Haswell
[ $# -ge 1 ] || { echo "usage: $0 CMD [ARG]..." >&2; exit 2; }

is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | tr -d '\000' | tail -c 3)" = "ELF" ]; }
has_asan() { grep -q "__asan_init" "$1" 2>/dev/null; }

case "$(basename "$1")" in
  test_teacher_learn)
    # Trains teachers to a success rate: a minute natively, most of an hour
    # under memcheck; test_teacher runs the same code paths in seconds.
    echo "$1: a learning run, too long under valgrind: skipped"; exit 77 ;;
  mpirun|mpiexec|orterun)
    # Rebuild the argument list with $VG before each program: the word that
    # follows "-np N" (or "-n N") in each ':'-separated application context.
    out=""; after_np=0; skip=0
    for a in "$@"; do
      q=$(printf "%s" "$a" | sed "s/'/'\\\\''/g")
      if [ $skip -eq 1 ]; then out="$out '$q'"; skip=0; after_np=1; continue; fi
      case "$a" in
        -np|-n|--np) out="$out '$q'"; skip=1; continue ;;
      esac
      if [ $after_np -eq 1 ] && [ "${a#-}" = "$a" ]; then
        is_elf "$a" && has_asan "$a" && { echo "$a: built with AddressSanitizer: skipped"; exit 77; }
        out="$out $VG '$q'"; after_np=0; continue
      fi
      out="$out '$q'"
    done
    eval "exec $out" ;;
  runtime.sh|faults.sh)
    # Three ranks under memcheck on two cores run ~50x slower: actors miss the
    # learner's liveness timeout within seconds. Run a job under memcheck by
    # hand instead (README: HINT_RANK_WRAPPER with a long actor timeout).
    echo "$(basename "$1") ${2:-}: whole jobs are too slow under valgrind here: skipped"; exit 77 ;;
esac
case "$1" in
  /usr/*|/bin/*) # an interpreter (python3 for the parity test): nothing of ours
    echo "$1: a system program, not ours: skipped"; exit 77 ;;
esac
if is_elf "$1"; then
  has_asan "$1" && { echo "$1: built with AddressSanitizer: skipped"; exit 77; }
  # shellcheck disable=SC2086
  exec $VG "$@"
fi
echo "$1: not a program valgrind can watch: skipped"
exit 77
