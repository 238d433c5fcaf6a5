#!/usr/bin/env bash
# Installs what `make fuzz` needs beyond scripts/setup.sh: clang and libFuzzer's
# runtime (Debian 12 / clang 14 package names). Only
# missing packages are installed; as non-root it only reports. `make test` does not
# need these: CI replays the saved fuzz inputs with the normal compiler.
set -euo pipefail

packages=(
  clang-14             # clang++ with -fsanitize=fuzzer,address,undefined
  libclang-rt-14-dev   # the sanitizer runtimes and libclang_rt.fuzzer
  libfuzzer-14-dev     # libFuzzer (its headers and standalone library)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-fuzz: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-fuzz: missing packages: ${missing[*]}" >&2
  echo "setup-fuzz: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "setup-fuzz: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-fuzz: installed: ${missing[*]}"
