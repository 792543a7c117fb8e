#!/usr/bin/env bash
# CPU time per training step of PyTorch and of `bitsim train` on the same 2M-parameter GPT
# (as train_vs_pytorch.sh: d = 256, 3 layers, 4 heads, seq 64, batch 8, AdamW), one thread,
# as tokens per CPU-second. Each program runs S1 and S2 steps; the difference of their
# user + system CPU times over S2 - S1 steps cancels start-up, data loading and the final
# evaluation. On a shared machine CPU time is far steadier than wall time (a busy
# neighbour delays a process but adds little CPU time to it), so this is the figure to
# compare there; train_vs_pytorch.sh gives wall-clock rates (and 2 threads).
#
#   bench/pytorch/train_cpu_vs_pytorch.sh [BUILD_DIR] [REPETITIONS]
#
# Prints per repetition PyTorch fp32's rate and bitsim fp32's with OpenBLAS (order=blas) and
# sequential accumulation, each with the default float64 GELU (tanh) and the float32 one
# (tanh_f32), and the PyTorch-equivalent numerics "blas,tanh_f32,attn_blas" (float32 BLAS
# GEMMs, float32 GELU, float32 BLAS attention: --attention blas). Needs the Austen corpus
# (scripts/fetch-models.sh) and Debian's python3-torch.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
reps=${2:-3}
data=$root/models/pretrained/texts/janeausten
[ -d "$data" ] || { echo "no corpus at $data (run scripts/fetch-models.sh)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
shape=(--d-model 256 --layers 3 --heads 4 --seq 64 --batch 8)
s1=15
s2=45
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cpu_seconds() { /usr/bin/time -f "%U %S" "$@" 2>&1 >/dev/null | tail -1 | awk '{print $1 + $2}'; }
torch_cpu() {
  cpu_seconds /usr/bin/python3 "$here/train_baseline.py" --data "$data" --steps "$1" "${shape[@]}" --threads 1 --emulate fp32
}
bitsim_cpu() {
  cpu_seconds "$build/bitsim" train --recipe fp32 --accum "$2" --gelu "$3" --attention "$4" --steps "$1" "${shape[@]}" --lr 3e-3 \
    --warmup 10 --threads 1 --seed 1 --print-every 1000 --eval-every 100000 --data "$data" -o "$tmp/ckpt.safetensors"
}
# tokens per CPU-second from the CPU seconds of the s1- and s2-step runs
rate() { awk -v a="$1" -v b="$2" -v n=$(((s2 - s1) * 8 * 64)) 'BEGIN {printf "%.0f", n / (b - a)}'; }

echo "tokens per CPU-second, 1 thread, GPT 2m (${shape[*]}), steps $s1 -> $s2"
printf "%-4s %8s %12s %16s %12s %16s %26s\n" rep pytorch "blas,tanh" "blas,tanh_f32" "seq,tanh" "seq,tanh_f32" \
  "blas,tanh_f32,attn_blas"
for rep in $(seq "$reps"); do
  row=$(rate "$(torch_cpu $s1)" "$(torch_cpu $s2)")
  for cfg in "order=blas tanh exact" "order=blas tanh_f32 exact" "order=seq tanh exact" "order=seq tanh_f32 exact" \
    "order=blas tanh_f32 blas"; do
    set -- $cfg
    row="$row $(rate "$(bitsim_cpu $s1 "$1" "$2" "$3")" "$(bitsim_cpu $s2 "$1" "$2" "$3")")"
  done
  printf "%-4s %8s %12s %16s %12s %16s %26s\n" "$rep" $row
done
