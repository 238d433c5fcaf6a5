#!/usr/bin/env bash
# Installs the Debian packages tapegrad builds and runs with, and says exactly what
# it installs. Only missing packages are installed; as non-root it only reports.
set -euo pipefail

packages=(
  build-essential cmake pkg-config   # compiler and build
  libopenblas-dev                    # cblas: every matrix product
  libfmt-dev                         # every message and printout
  librange-v3-dev                    # index and shape code
  libboost-test-dev                  # Boost.Test: every test
  zlib1g-dev                         # reading the .gz IDX files
  libcli11-dev                       # command lines of the examples
  libhdf5-dev                        # the course's .h5 data sets (data/hdf5)
  nlohmann-json3-dev                 # safetensors' JSON header (io/safetensors)
  libopenmpi-dev openmpi-bin         # MPI: tapegrad::distributed and its mpirun tests
  dataset-fashion-mnist              # the real data (/usr/share/datasets/fashion-mnist)
  wamerican                          # text for the sequence models (/usr/share/dict/words)
  clang-format clang-tidy            # make format / format-check, make tidy
  python3-torch python3-h5py         # tests only: PyTorch round trips, HDF5 files as h5py writes them
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "setup: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed: ${missing[*]}"
