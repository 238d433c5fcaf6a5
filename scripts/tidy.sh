#!/usr/bin/env bash
# clang-tidy (.clang-tidy) over the library's, examples', benchmarks' and fuzz drivers'
# sources with BUILD's compile_commands.json, JOBS at a time; any finding fails.
#   scripts/tidy.sh BUILD JOBS all       every source
#   scripts/tidy.sh BUILD JOBS changed   the sources changed since the commit named in
#                                        .ci/tidy-base (at which every source was clean),
#                                        and those that include a changed header; every
#                                        source when that commit is not in the history
# A full run takes minutes on 2 cores (the checks walk every header's AST), too long for
# CI's budget on every change: CI runs `changed`, `make tidy-all` checks everything and
# `make tidy-base` records HEAD in .ci/tidy-base after it passes.
set -euo pipefail
build=$1 jobs=$2 mode=$3
mapfile -t all < <(git ls-files 'graph/*.cpp' 'ops/*.cpp' 'nn/*.cpp' 'optim/*.cpp' 'data/*.cpp' \
  'io/*.cpp' 'viz/*.cpp' 'distributed/*.cpp' 'examples/*.cpp' 'bench/*.cpp' 'fuzz/*.cpp')
files=("${all[@]}")
if [ "$mode" = changed ]; then
  base=$(cat .ci/tidy-base 2>/dev/null || true)
  if [ -n "$base" ] && git cat-file -e "$base^{commit}" 2>/dev/null; then
    mapfile -t changed < <({ git diff --name-only "$base" -- '*.cpp' '*.hpp';
                             git ls-files --others --exclude-standard -- '*.cpp' '*.hpp'; } | sort -u)
    declare -A pick=()
    for f in "${changed[@]}"; do
      case $f in
        *.cpp) pick[$f]=1 ;;
        *.hpp)  # its includers: <tapegrad/room/x.hpp>, "common/x.hpp", "x.hpp"
          for src in "${all[@]}"; do
            if grep -qE "#include [<\"](tapegrad/)?${f#examples/}[>\"]|#include \"$(basename "$f")\"" "$src"; then
              pick[$src]=1
            fi
          done ;;
      esac
    done
    files=()
    for src in "${all[@]}"; do [ -n "${pick[$src]:-}" ] && files+=("$src"); done
    echo "tidy: ${#files[@]} of ${#all[@]} files changed since $(git rev-parse --short "$base") (.ci/tidy-base)"
  else
    echo "tidy: .ci/tidy-base names no commit of this history: every file"
  fi
fi
[ ${#files[@]} -eq 0 ] && { echo "tidy: nothing to check"; exit 0; }
echo "tidy: clang-tidy over ${#files[@]} files"
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -n 2 clang-tidy -p "$build" --quiet 2>&1 \
  | { grep -v '^[0-9]* warnings\? generated\.$' || true; }
echo "tidy: no findings"
