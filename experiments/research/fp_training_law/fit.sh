#!/bin/sh
# Study 6's analysis, after `bitsim run` (README.md): fits Sun et al.'s law to the
# low-precision runs (fp32 is the baseline, not a point of the law) and draws the loss of
# each E/M split. Run from the repository root:
#   sh experiments/research/fp_training_law/fit.sh [RESULTS.h5]
set -eu
B=${BITSIM:-build/bitsim}
DIR=experiments/research/fp_training_law
H5=${1:-$DIR/fp_training_law.h5}
OUT=${OUT:-$DIR}
# A filtered results table as CSV (bitsim report prints aligned columns).
csv() {
  "$B" report "$H5" --no-plots --precision 12 "$@" |
    awk '/^params_n /{on=1} on && NF==0 {exit} on {$1=$1; gsub(/ /, ","); print}'
}
csv --columns params_n,tokens_d,train_bits,train_e,train_m,train_group,val_loss > "$OUT/points.csv"
csv --where 'recipe!=fp32' --columns params_n,tokens_d,train_bits,train_e,train_m,train_group,val_loss > "$OUT/sun.csv"
"$B" fit --law sun --input "$OUT/sun.csv" --json --bootstrap 100 \
  --columns N=params_n,D=tokens_d,E=train_e,M=train_m,B=train_group,L=val_loss --plot "$OUT/sun" > "$OUT/sun.json"
# Sun et al.'s law at the one budget where the models have left the byte-frequency
# plateau (D = 204.8k): with D fixed its penalty term is K / N^alpha / ((E+0.5)^delta
# (M+0.5)^nu); delta and nu decide the best split (README.md).
csv --where 'recipe!=fp32' --where 'tokens_d=204800' --columns params_n,tokens_d,train_bits,train_e,train_m,val_loss > "$OUT/sun_d204800.csv"
"$B" fit --law expr --expr 'n/N^alpha + c + K/N^alpha/((E+0.5)^delta*(M+0.5)^nu)' \
  --params 'log:n=0:3,alpha=0.3,log:c=0.5,log:K=-2:2,delta=1:3,nu=1:3' --input "$OUT/sun_d204800.csv" \
  --columns N=params_n,E=train_e,M=train_m,L=val_loss --json --bootstrap 100 > "$OUT/sun_d204800.json"
# Validation loss of each split, one line per (N, D), x = exponent bits, by bit width.
gnuplot <<GP
set terminal svg size 1000,420 dynamic font ",11"
set output "$OUT/loss_by_split.svg"
set datafile separator ","
set xlabel "exponent bits E (M = P - 1 - E)"
set ylabel "validation loss (nats per byte)"
set xtics 1
set offsets 0.3, 0.3, 0, 0
set yrange [2.5:3.2]
set multiplot layout 1,3 title "Training with every GEMM operand in fp<e=E,m=M>, groups of 32 (dashed: fp32)"
do for [p in "4 6 8"] {
  set title sprintf("%s bits", p)
  if (p eq "4") { set key bottom left font ",9" } else { unset key }
  plot for [n in "6592 25472"] for [d in "51200 204800"] \
    "$OUT/points.csv" using (\$1==n+0 && \$2==d+0 && \$3==p+0 ? \$4 : 1/0):7 with points pt 7 \
    title sprintf("N=%s D=%s", n, d), \
    for [n in "6592 25472"] "$OUT/points.csv" using (\$1==n+0 && \$2==204800 && \$3==32 ? 1 : 1/0):7:(4):(0) \
    with vectors nohead dt 2 notitle
}
unset multiplot
GP
echo "wrote $OUT/points.csv sun.csv sun.json sun_d204800.csv sun_d204800.json loss_by_split.svg and the fit plots"
