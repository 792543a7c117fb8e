#!/bin/sh
# Rebuilds this study's table and figure from a results file:
#   experiments/research/flash_attention_bias/figures.sh build/bitsim flash_attention_bias.h5
# writes flash_attention_bias.dat (bf16, seed 0) and flash_attention_bias.svg beside this script.
set -e
bitsim=$1 results=$2
here=$(cd "$(dirname "$0")" && pwd)
table() {  # the report's first table, header included
  "$bitsim" report "$results" --no-plots "$@" 2>/dev/null | awk 'NF == 0 { if (on) exit; on = 1; next } on'
}
table --where p_format=bf16 --where seed=0 \
  --columns rounding,fix,v_mean,tie_fraction,mean_signed_error,mean_abs_error,bias_ratio,bias_z > "$here/flash_attention_bias.dat"
cd "$here"
gnuplot <<'GP'
set terminal svg size 960,420 font "sans,11"
set output "flash_attention_bias.svg"
set multiplot layout 1,2
set key top left box opaque
set grid
set title "bf16 flash attention, 25% of keys tie the max"
set xlabel "mean of V's entries"
set ylabel "mean signed error of the output"
series(r, f) = sprintf("< awk '$1 == \"%s\" && $2 == \"%s\" && $4 == 0.25' flash_attention_bias.dat", r, f)
plot series("rne","none") using 3:5 with linespoints lw 2 pt 7 title "RN", \
     series("rne","shifted_max") using 3:5 with linespoints lw 2 pt 5 title "RN + shifted max", \
     series("sr","none") using 3:5 with linespoints lw 2 pt 9 title "SR", \
     series("sr","shifted_max") using 3:5 with linespoints lw 2 pt 11 title "SR + shifted max"
set title "V mean -1: share of the error that is bias"
set xlabel "fraction of keys tying the row maximum"
set ylabel "|mean signed error| / mean |error|"
set key top left
sel2(r, f) = (strcol(1) eq r && strcol(2) eq f && $3 == -1) ? $7 : 1/0
plot "flash_attention_bias.dat" skip 1 using 4:(sel2("rne","none")) with linespoints lw 2 pt 7 title "RN", \
     "" skip 1 using 4:(sel2("rne","shifted_max")) with linespoints lw 2 pt 5 title "RN + shifted max", \
     "" skip 1 using 4:(sel2("sr","none")) with linespoints lw 2 pt 9 title "SR", \
     "" skip 1 using 4:(sel2("sr","shifted_max")) with linespoints lw 2 pt 11 title "SR + shifted max"
unset multiplot
GP
