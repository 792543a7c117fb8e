#!/usr/bin/env sh
# Redraws family.svg (validation loss vs training tokens, one panel per recipe, one line
# per rung of the size rule, labelled by width) from a results file of family.yaml:
#   models/train/family-plot.sh [BITSIM] [RESULTS.h5]     (defaults: build/bitsim, model_family.h5 here)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bitsim=${1:-$here/../../build/bitsim}
results=${2:-$here/model_family.h5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bitsim" report "$results" --no-plots --columns recipe d_model tokens val_loss | awk 'NF == 4 && $3 ~ /^[0-9]+$/' > "$tmp/fam.dat"
cd "$tmp"
gnuplot <<'GP'
set terminal svg size 900,420 font "sans,11"
set output "family.svg"
set multiplot layout 1,4 title "bitsim model family: validation loss (nats/byte) vs training tokens D"
set logscale x
set xrange [90000:470000]
set xtics ("102k" 102400, "205k" 204800, "410k" 409600) font ",8"
set yrange [1.8:2.8]
set key bottom left font ",9"
do for [r in "fp32 bf16 fp8 nvfp4"] {
  set title sprintf("recipe %s", r) offset 0,-1
  plot for [d in "48 96 144 192"] sprintf("< awk '$1==\"%s\" && $2==%s {print $3, $4}' fam.dat", r, d) with linespoints title "d=".d
}
unset multiplot
GP
cp "$tmp/family.svg" "$here/family.svg"
echo "wrote $here/family.svg"
