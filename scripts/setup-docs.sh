#!/usr/bin/env bash
# Installs what `make docs` needs beyond scripts/setup.sh: Doxygen (only for the API
# reference, so `make test` and `make demo` never wait for it). As non-root it only
# reports what is missing.
set -euo pipefail
if command -v doxygen >/dev/null 2>&1; then
  echo "setup-docs: doxygen $(doxygen --version) present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup-docs: doxygen is missing; run as root (or: sudo apt-get install doxygen)" >&2
  exit 1
fi
echo "setup-docs: installing: doxygen"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends doxygen
echo "setup-docs: installed: doxygen"
