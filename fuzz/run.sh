#!/usr/bin/env bash
# Runs libFuzzer targets built by `make fuzz`, one after the other, each for
# FUZZ_SECONDS at the lowest priority with one job (the machine is shared):
#   fuzz/run.sh <fuzz build dir> <seconds> <target>...
# New inputs go to <build>/new-corpus/<target>/, crashes to <build>/crashes/<target>-*,
# libFuzzer's log (with -jobs=1 it runs one child process and writes fuzz-0.log) to
# <build>/logs/<target>/fuzz-0.log; the final stats are printed at the end.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: run.sh <fuzz build dir> <seconds> <target>...}" && pwd)
seconds=${2:?missing seconds}
shift 2
status=0
for t in "$@"; do
  mkdir -p "$build/new-corpus/$t" "$build/crashes" "$build/logs/$t"
  echo "fuzz: $t for $seconds s (log: $build/logs/$t/fuzz-0.log)"
  (cd "$build/logs/$t" && nice -n 19 "$build/fuzz/$t" -max_total_time="$seconds" \
     -jobs=1 -workers=1 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
     "$build/new-corpus/$t" "$src/corpus/$t" "$src/regressions/$t") || status=1
  grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)|ERROR|SUMMARY' \
    "$build/logs/$t/fuzz-0.log" || true
done
ls "$build/crashes" 2>/dev/null | sed 's/^/fuzz: crash input: /' || true
exit $status
