#!/bin/sh
# Rebuilds this study's table, fitted slopes and figure from a results file:
#   experiments/research/long_sums/figures.sh build/bitsim long_sums.h5
# writes long_sums.dat (the table), slopes.txt and long_sums.svg beside this script.
# Slopes: least squares of log(rel_error_mean) on log(n), over every n with a finite sum
# ("all"), and over the n where no trial stagnated ("growing"; RN's growth before it stalls).
set -e
bitsim=$1 results=$2
here=$(cd "$(dirname "$0")" && pwd)
"$bitsim" report "$results" --no-plots \
  --columns n,accumulator,method,rel_error_mean,rel_error_median,rel_error_max,stagnated,nonfinite 2>/dev/null |
  awk 'NF == 0 { if (on) exit; on = 1; next } on' > "$here/long_sums.dat"
cd "$here"
awk 'NR > 1 && $4 != "nan" && $4 > 0 {
       k = $2 " " $3; x = log($1); y = log($4)
       n[k]++; sx[k] += x; sy[k] += y; sxx[k] += x * x; sxy[k] += x * y
       if ($7 == 0) { g[k]++; gx[k] += x; gy[k] += y; gxx[k] += x * x; gxy[k] += x * y; if (!(k in lo)) lo[k] = $1; hi[k] = $1 }
       if (!(k in order)) { order[k] = ++count; keys[count] = k }
     }
     function slope(c, a, b, aa, ab) { return c < 2 ? "-" : sprintf("%.2f", (c * ab - a * b) / (c * aa - a * a)) }
     END {
       printf "%-12s %-12s %6s %8s  %s\n", "accumulator", "method", "all", "growing", "growing range"
       for (i = 1; i <= count; i++) {
         k = keys[i]; split(k, p, " ")
         printf "%-12s %-12s %6s %8s  %s\n", p[1], p[2], slope(n[k], sx[k], sy[k], sxx[k], sxy[k]),
                slope(g[k], gx[k], gy[k], gxx[k], gxy[k]), (g[k] >= 2 ? lo[k] "-" hi[k] : "")
       }
     }' long_sums.dat > slopes.txt
gnuplot <<'GP'
set terminal svg size 1000,560 font "sans,11"
set output "long_sums.svg"
set multiplot layout 1,2
set logscale xy
set format x "10^{%L}"
set format y "10^{%L}"
set grid
set xlabel "n (values summed, uniform [0,1))"
set ylabel "mean relative error (32 trials)"
set key outside below center horizontal maxrows 4 font ",10"
series(a, m) = sprintf("< awk '$2 == \"%s\" && $3 == \"%s\" && $4 != \"nan\"' long_sums.dat", a, m)
do for [acc in "bf16 fp16"] {
  set title acc . " accumulator"
  plot series(acc, "seq_rn") using 1:4 with linespoints lw 2 pt 7 title "sequential RN", \
       series(acc, "seq_sr") using 1:4 with linespoints lw 2 pt 9 title "sequential SR", \
       series(acc, "pairwise") using 1:4 with linespoints lw 2 pt 5 title "pairwise RN", \
       series(acc, "pairwise_sr") using 1:4 with linespoints lw 2 pt 4 title "pairwise SR", \
       series(acc, "kahan") using 1:4 with linespoints lw 2 pt 11 title "Kahan (in the format)", \
       series(acc, "chunked") using 1:4 with linespoints lw 2 pt 13 title "chunks of 64, fp32 across", \
       series(acc, "fp32_round") using 1:4 with linespoints lw 2 pt 3 title "fp32, then rounded"
}
unset multiplot
GP
