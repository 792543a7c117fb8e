#!/usr/bin/env bash
# Installs bitsim's build dependencies from Debian's packages. Idempotent: packages that
# are already present are skipped, and apt is not touched at all when nothing is missing.
# Uses sudo only when not running as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-dev          # Boost.Multiprecision: exact references in the tests
  libtbb-dev            # oneTBB: parallel kernels
  libhdf5-dev           # experiment results
  libfmt-dev            # formatting
  doctest-dev           # unit tests
  libyaml-cpp-dev       # experiment files
  librandom123-dev      # Philox counter-based RNG for stochastic rounding
  libcli11-dev          # the bitsim command line
  libbenchmark-dev      # bench/
  nlohmann-json3-dev    # --json output of the CLI
  libicu-dev            # models/: Unicode classes, NFD and case mapping for the tokenizers
  libopenblas-dev       # sim/: the FP32 sgemm fast path and the GEMM benchmark baseline
  libopenmpi-dev openmpi-bin  # experiments/: `mpirun -np N bitsim run` shards a sweep over ranks
  libceres-dev          # experiments/fit: robust least squares for the scaling-law fits
  libmuparser-dev       # experiments/fit: user-written law expressions
  gnuplot-nox           # experiments/report: SVG and PNG plots
  python3-h5py          # tests: read the HDF5 results back the way users do
  python3-pandas        # tests: the results table as a pandas DataFrame, no custom code
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
echo "install-deps: installing ${missing[*]}" >&2
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
