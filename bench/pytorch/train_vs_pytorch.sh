#!/usr/bin/env bash
# Training throughput of `bitsim train` against PyTorch on the same GPT, same machine,
# same run (issue #10). PyTorch runs FP32 and the usual Python emulation of BF16 (operands
# cast to bfloat16 and back around an FP32 matmul); bitsim runs its recipes, bit-defined
# (sequential accumulation) and with OpenBLAS accumulation (order=blas).
#
#   bench/pytorch/train_vs_pytorch.sh [BUILD_DIR] [STEPS] [THREADS] [SIZE]
#
# SIZE: 2m (default; d = 256, 3 layers, 4 heads: 2.37M non-embedding parameters) or tiny
# (d = 64, 2 layers, 4 heads: 100K); both seq 64, batch 8. THREADS limits PyTorch
# (torch.set_num_threads), bitsim (--threads) and OpenBLAS (OPENBLAS_NUM_THREADS) alike.
# RECIPES="fp32 nvfp4" limits the bitsim recipes (default: fp32 bf16 fp8 mxfp8 nvfp4).
# GELUS="tanh tanh_f32" (the default) runs each fp32 row with bitsim's float64 GELU (the
# default numerics) and with the float32 one (--gelu tanh_f32, PyTorch's fp32 numerics);
# the other recipes use the default GELU. A last fp32 row runs PyTorch's own numerics
# (order=blas, --gelu tanh_f32, --attention blas: float32 BLAS attention).
#
# Needs the Austen corpus (scripts/fetch-models.sh) and Debian's python3-torch.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
steps=${2:-200}
threads=${3:-1}
size=${4:-2m}
data=$root/models/pretrained/texts/janeausten
case "$size" in
  2m) shape=(--d-model 256 --layers 3 --heads 4 --seq 64 --batch 8) ;;
  tiny) shape=(--d-model 64 --layers 2 --heads 4 --seq 64 --batch 8) ;;
  *) echo "unknown size '$size' (valid: 2m, tiny)" >&2; exit 2 ;;
esac
export OPENBLAS_NUM_THREADS=$threads
[ -d "$data" ] || { echo "no corpus at $data (run scripts/fetch-models.sh)" >&2; exit 2; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "PyTorch not found (apt-get install python3-torch)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# PyTorch's OpenMP threads wait passively: with the default (spinning) policy its 2-thread
# rate on the shared 2-core VM fell to ~3,300 tokens/s, half its 1-thread rate, while the
# spinning threads and OpenBLAS's fought over the cores; passive gave ~8,700.
torch_rate() {
  OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} /usr/bin/python3 "$here/train_baseline.py" --data "$data" --steps "$steps" "${shape[@]}" --threads "$threads" --emulate "$1" |
    awk '{print $1}'
}
# bitsim's cumulative tokens/s at the row printed 10 steps before the end (before the
# final evaluation), from its progress table.
bitsim_rate() {
  "$build/bitsim" train --recipe "$1" --accum "$2" --gelu "$3" --attention "${4:-exact}" --steps "$steps" "${shape[@]}" --lr 3e-3 --warmup 10 \
    --threads "$threads" --seed 1 --print-every 10 --eval-every 100000 --data "$data" -o "$tmp/ckpt.safetensors" |
    awk -v stop=$((steps - 10)) '$1 == stop {print $7}'
}

torch_fp32=$(torch_rate fp32)
torch_bf16=$(torch_rate bf16)
printf "GPT %s (%s), %s steps, %s thread(s)\n\n" "$size" "${shape[*]}" "$steps" "$threads"
printf "%-40s %10s %14s\n" "run" "tokens/s" "PyTorch fp32 / run"
printf "%-40s %10s %14s\n" "pytorch fp32" "$torch_fp32" "1.00"
printf "%-40s %10s %14.2f\n" "pytorch bf16 (cast emulation)" "$torch_bf16" "$(echo "$torch_fp32 / $torch_bf16" | bc -l)"
for recipe in ${RECIPES:-fp32 bf16 fp8 mxfp8 nvfp4}; do
  gelus=tanh
  [ "$recipe" = fp32 ] && gelus=${GELUS:-tanh tanh_f32}
  for accum in order=blas default; do
    for gelu in $gelus; do
      [ "$accum" = default ] && label="sequential" || label="blas"
      [ "$gelu" = tanh ] || label="$label, gelu $gelu"
      rate=$(bitsim_rate "$recipe" "$( [ "$accum" = default ] && echo order=seq || echo "$accum")" "$gelu")
      printf "%-40s %10s %14.2f\n" "bitsim $recipe ($label)" "$rate" "$(echo "$torch_fp32 / $rate" | bc -l)"
    done
  done
done
case " ${RECIPES:-fp32} " in
  *" fp32 "*)
    rate=$(bitsim_rate fp32 order=blas tanh_f32 blas)
    printf "%-40s %10s %14.2f\n" "bitsim fp32 (blas, tanh_f32, attn blas)" "$rate" "$(echo "$torch_fp32 / $rate" | bc -l)"
    ;;
esac
