#!/usr/bin/env bash
# The include rule of the house (README, "Layout"): a room includes only the rooms
# before it in TAPEGRAD_ROOMS order, and nothing of examples/, tests/, bench/ or fuzz/.
# Prints each include that breaks it and exits 1; `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
rooms=(graph ops nn optim data io viz distributed)
rank() { local i; for i in "${!rooms[@]}"; do [ "${rooms[$i]}" = "$1" ] && echo "$i" && return; done; echo -1; }

bad=0
checked=0
for room in "${rooms[@]}"; do
  mine=$(rank "$room")
  while IFS= read -r file; do
    checked=$((checked + 1))
    while IFS= read -r line; do
      n=${line%%:*}
      text=${line#*:}
      if [[ $text =~ \#include\ *\<tapegrad/([a-z_]+)/ ]]; then
        other=${BASH_REMATCH[1]}
        theirs=$(rank "$other")
        if [ "$theirs" -lt 0 ] || [ "$theirs" -gt "$mine" ]; then
          echo "check-layout: $file:$n: $room/ includes $other/ (a room above it)"
          bad=1
        fi
      elif [[ $text =~ \#include\ *\<tapegrad/tapegrad.hpp\> ]]; then
        echo "check-layout: $file:$n: a room includes the umbrella header"
        bad=1
      elif [[ $text =~ \#include\ *\"(common|support|examples|tests|bench|fuzz)/ ]]; then
        echo "check-layout: $file:$n: the library includes ${BASH_REMATCH[1]}/"
        bad=1
      fi
    done < <(grep -n '#include' "$file" || true)
  done < <(git ls-files "$room/*.hpp" "$room/*.cpp")
done
[ "$bad" -eq 0 ] && echo "check-layout: $checked files of ${#rooms[@]} rooms include only downward"
exit "$bad"
