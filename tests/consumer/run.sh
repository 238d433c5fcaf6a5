#!/usr/bin/env bash
# Builds and runs the consumer project against tapegrad, in a fresh temp folder.
#   run.sh install <tapegrad build dir>   cmake --install the build into a temp prefix,
#                                         then find_package(tapegrad) from there
#   run.sh subdir <tapegrad source dir> [configure]
#                                         add_subdirectory(tapegrad) from source; with
#                                         "configure" only configure (skips the ~1 min
#                                         build of the library)
# Extra cmake arguments may come in CONSUMER_CMAKE_ARGS (e.g. -DCMAKE_CXX_COMPILER=...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=${1:?usage: run.sh install <build dir> | subdir <source dir> [configure]}
path=${2:?missing tapegrad build or source dir}
work=$(mktemp -d "${TMPDIR:-/tmp}/tapegrad-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT
read -r -a extra <<<"${CONSUMER_CMAKE_ARGS:-}"

case "$mode" in
  install)
    cmake --install "$path" --prefix "$work/prefix" >"$work/install.log" 2>&1 \
      || { cat "$work/install.log"; exit 1; }
    for f in include/tapegrad/tapegrad.hpp include/tapegrad/version.hpp \
             include/tapegrad/graph/tensor.hpp include/tapegrad/graph/export.hpp \
             include/tapegrad/ops/linalg.hpp include/tapegrad/nn/sequential.hpp \
             include/tapegrad/data/idx.hpp include/tapegrad/data/batches.hpp \
             include/tapegrad/io/checkpoint.hpp include/tapegrad/viz/plot.hpp \
             include/tapegrad/viz/progress.hpp; do
      [ -f "$work/prefix/$f" ] || { echo "run.sh: not installed: $f" >&2; exit 1; }
    done
    # lib/ or lib/<multiarch>/, depending on the prefix the build was configured with.
    for f in tapegradConfig.cmake tapegradConfigVersion.cmake tapegradTargets.cmake; do
      [ -n "$(find "$work/prefix" -path "*/cmake/tapegrad/$f")" ] \
        || { echo "run.sh: not installed: <libdir>/cmake/tapegrad/$f" >&2; exit 1; }
    done
    cmake -S "$here" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" "${extra[@]}" >"$work/configure.log" \
      || { cat "$work/configure.log"; exit 1; }
    ;;
  subdir)
    cmake -S "$here" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
      -DCONSUMER_USE_SUBDIR=ON -DTAPEGRAD_SOURCE_DIR="$path" "${extra[@]}" \
      >"$work/configure.log" || { cat "$work/configure.log"; exit 1; }
    if [ "${3:-}" = configure ]; then
      echo "run.sh: add_subdirectory(tapegrad) configures"
      exit 0
    fi
    ;;
  *) echo "run.sh: unknown mode $mode" >&2; exit 2 ;;
esac

cmake --build "$work/build" -j "${CONSUMER_JOBS:-2}" >"$work/build.log" 2>&1 \
  || { cat "$work/build.log"; exit 1; }
TAPEGRAD_NUM_THREADS=1 "$work/build/app" "${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}" "$work"
# Built when tapegrad has tapegrad::distributed (MPI); then its headers must be installed.
if [ -x "$work/build/app_distributed" ]; then
  if [ "$mode" = install ]; then
    for f in include/tapegrad/distributed.hpp include/tapegrad/distributed/data_parallel.hpp; do
      [ -f "$work/prefix/$f" ] || { echo "run.sh: not installed: $f" >&2; exit 1; }
    done
  fi
  TAPEGRAD_NUM_THREADS=1 "$work/build/app_distributed"
elif grep -q "tapegrad::distributed: MPI" "$work/configure.log" \
     || [ -n "$(find "$work/prefix" -name 'libtapegrad_distributed*' 2>/dev/null)" ]; then
  echo "run.sh: tapegrad has tapegrad::distributed but the consumer did not build it" >&2
  exit 1
fi
