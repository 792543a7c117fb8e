#!/usr/bin/env bash
# The main job: build bitsim from scratch (dependencies included) and print the table of
# named formats. For now that table is bitsim's main output; later issues replace it with
# the default experiment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
"${BITSIM_BUILD_DIR:-build}/bitsim" formats
