#!/bin/sh
# Study 5's analysis, after `bitsim run` (README.md): fits Kumar et al.'s kumar_ptq law to
# the points with D >= 100k and Ouyang et al.'s law to those of them with a positive PTQ
# degradation, and draws delta_PTQ against D. Run from the repository root:
#   sh experiments/research/ptq_overtraining/fit.sh [RESULTS.h5]
set -eu
B=${BITSIM:-build/bitsim}
DIR=experiments/research/ptq_overtraining
H5=${1:-$DIR/ptq_overtraining.h5}
OUT=${OUT:-$DIR}
# A filtered results table as CSV (bitsim report prints aligned columns).
csv() {
  "$B" report "$H5" --no-plots --precision 12 "$@" |
    awk '/^params_n /{on=1} on && NF==0 {exit} on {$1=$1; gsub(/ /, ","); print}'
}
csv --columns params_n,tokens_d,ptq_bits,ptq_val_loss,val_loss,delta_ptq > "$OUT/points.csv"
# The fits use D >= 100k: below it every model still sits on the byte-frequency plateau
# (loss ~3.1 whatever N), which no power law in D describes (README.md).
csv --where 'tokens_d>=100000' --columns params_n,tokens_d,train_bits,ptq_bits,ptq_val_loss > "$OUT/kumar.csv"
csv --where 'tokens_d>=100000' --where 'ptq!=none' --where 'delta_ptq>0' \
  --columns params_n,tokens_d,ptq_bits,delta_ptq > "$OUT/ouyang.csv"
"$B" fit --law kumar_ptq --input "$OUT/kumar.csv" --json \
  --columns N=params_n,D=tokens_d,P_w=train_bits,P_a=train_bits,P_kv=train_bits,P_post=ptq_bits,L=ptq_val_loss \
  --starts gamma_post=-1:0:1,gamma_D=0.5:1:2,gamma_N=0:0.5:1,C_T=-10:-3:0 \
  --plot "$OUT/kumar_ptq" > "$OUT/kumar_ptq.json"
"$B" fit --law ouyang --input "$OUT/ouyang.csv" --json --bootstrap 200 \
  --columns N=params_n,D=tokens_d,P=ptq_bits,dL=delta_ptq --plot "$OUT/ouyang" > "$OUT/ouyang.json"
# delta_PTQ against D, one line per (N, bits).
gnuplot <<GP
set terminal svg size 720,440 dynamic font ",11"
set output "$OUT/delta_ptq.svg"
set datafile separator ","
set logscale xy
set format y "10^{%L}"
set key outside right
set xlabel "training tokens D"
set ylabel "delta PTQ (nats per byte)"
set title "PTQ degradation vs training tokens (INT-k, groups of 32)"
plot for [n in "6592 25472 100096"] for [b in "4 3 2"] \
  "$OUT/points.csv" using (\$1==n+0 && \$3==b+0 && \$6>0 ? \$2 : 1/0):6 with points title sprintf("N=%s int%s", n, b)
GP
echo "wrote $OUT/points.csv kumar.csv ouyang.csv kumar_ptq.json ouyang.json delta_ptq.svg and the fit plots"
