#!/usr/bin/env bash
# A rank killed in the middle of training: mpirun must stop the others with an error
# within 30 s (never hang), the last checkpoint must stay whole, and training must
# resume from it on a different number of ranks (1 instead of 2).
# Usage: rank_dies.sh <mpiexec> <rank_dies program>
set -u
mpiexec=$1
program=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { "$mpiexec" --oversubscribe --allow-run-as-root "$@"; }

start=$(date +%s)
timeout 60 "$mpiexec" --oversubscribe --allow-run-as-root -np 2 "$program" train "$dir/run.tg" \
  >"$dir/out" 2>&1
rc=$?
elapsed=$(($(date +%s) - start))
cat "$dir/out"
if [ "$rc" -eq 124 ]; then
  echo "rank_dies: FAILED: the survivors hung (still running after 60 s)"
  exit 1
fi
if [ "$rc" -eq 0 ]; then
  echo "rank_dies: FAILED: mpirun exited 0 although a rank died"
  exit 1
fi
if [ "$elapsed" -gt 30 ]; then
  echo "rank_dies: FAILED: the survivors took ${elapsed} s to stop (limit 30 s)"
  exit 1
fi
if ! grep -q "kills itself after step 3" "$dir/out"; then
  echo "rank_dies: FAILED: the rank did not die where the test meant it to"
  exit 1
fi
echo "rank_dies: mpirun stopped with status $rc after ${elapsed} s"
ls "$dir"
if ! run -np 1 "$program" resume "$dir/run.tg"; then
  echo "rank_dies: FAILED: could not resume from the last checkpoint on 1 rank"
  exit 1
fi
echo "rank_dies: passed"
