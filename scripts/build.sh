#!/usr/bin/env bash
# Installs the dependencies (scripts/install-deps.sh), configures and builds bitsim.
# Used by run-main.sh and test.sh; safe to run again (both steps are incremental).
#
# Environment:
#   BITSIM_BUILD_DIR   build folder, relative to the repository root (default: build)
#   BITSIM_CMAKE_ARGS  extra configure arguments, e.g. -DBITSIM_SANITIZE=ON
#   BITSIM_JOBS        parallel compile jobs (default: every core)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${BITSIM_BUILD_DIR:-build}
jobs=${BITSIM_JOBS:-$(nproc)}

scripts/install-deps.sh
# shellcheck disable=SC2086  # BITSIM_CMAKE_ARGS is a list of words on purpose
cmake -S . -B "$build_dir" ${BITSIM_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$jobs"
