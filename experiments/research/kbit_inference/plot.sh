#!/bin/sh
# Draws total_bits.svg from the study's results: the mean KL divergence to the FP32 run
# (steadier than 64-token perplexity) against total model bits
# (weights_bits x the 134,479,872 parameters the weights axis quantizes: the 210 block
# linears plus the tied output/embedding matrix), one series per element type at block
# 64, and the k = 4 block-size sweep (blocks 32 .. 1024; per-tensor is off the chart). Needs the built bitsim and gnuplot.
#   sh experiments/research/kbit_inference/plot.sh [build/bitsim]
set -e
here=$(dirname "$0")
bitsim=${1:-build/bitsim}
data=$(mktemp -d)
"$bitsim" report "$here/kbit_inference.h5" --no-plots --columns weights weights_bits kl_mean |
  awk -v dir="$data" 'NR > 3 && NF == 3 {
    n = 134479872; spec = $1
    type = spec ~ /^int/ ? "int" : spec ~ /^nf/ ? "nf" : "fp"
    if (spec ~ /per_group\(64\)/) print $2 * n / 8e6, $3 >> (dir "/" type "_g64.dat")
    if (spec ~ /^(int4|e2m1fn|nf4):per_group/) print $2 * n / 8e6, $3 >> (dir "/" type "_k4.dat")
  }'
for f in int_g64 fp_g64 nf_g64 int_k4 fp_k4 nf_k4; do sort -g "$data/$f.dat" -o "$data/$f.dat"; done
gnuplot <<GP
set terminal svg size 720,440 font "sans,12"
set output "$here/total_bits.svg"
set title "SmolLM2-135M, weight-only PTQ: KL to the FP32 run vs total size"
set xlabel "total weight storage (MB, scales included)"
set ylabel "mean KL(FP32 || quantized), nats/token"
set logscale y
set key top right
set grid
plot "$data/int_g64.dat" w lp pt 7 lc rgb "#1f77b4" t "INT, block 64, k = 3,4,5,6,8", \
     "$data/fp_g64.dat" w lp pt 5 lc rgb "#2ca02c" t "FP, block 64", \
     "$data/nf_g64.dat" w lp pt 9 lc rgb "#d62728" t "NF, block 64", \
     "$data/int_k4.dat" w p pt 6 ps 1.3 lc rgb "#1f77b4" t "INT4, blocks 32..1024", \
     "$data/fp_k4.dat" w p pt 4 ps 1.3 lc rgb "#2ca02c" t "FP4 (E2M1), blocks", \
     "$data/nf_k4.dat" w p pt 8 ps 1.3 lc rgb "#d62728" t "NF4, blocks"
GP
rm -r "$data"
echo "wrote $here/total_bits.svg"
