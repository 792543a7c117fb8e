# Written by bitsim report; redraw with: gnuplot pareto.gp
set terminal svg size 900,560 dynamic font 'Sans,12' noenhanced background rgb 'white'
set output 'pareto.svg'
set title 'Pareto front: val_loss (lower is better) vs train_bits'
set xlabel 'train_bits'
set ylabel 'val_loss'
set grid
set key outside right top
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot 'pareto.dat' using 1:2 with points pointtype 7 pointsize 0.9 linecolor rgb '#b0b0b0' title 'all points', \
     'pareto_front.dat' using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 1.3 linecolor rgb '#c0392b' title 'Pareto front', \
     'pareto_front.dat' using 1:2:3 with labels offset char 1,0.6 left font ',9' notitle
unset output
reset
set terminal pngcairo size 900,560 noenhanced
set output 'pareto.png'
set title 'Pareto front: val_loss (lower is better) vs train_bits'
set xlabel 'train_bits'
set ylabel 'val_loss'
set grid
set key outside right top
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot 'pareto.dat' using 1:2 with points pointtype 7 pointsize 0.9 linecolor rgb '#b0b0b0' title 'all points', \
     'pareto_front.dat' using 1:2 with linespoints linewidth 2 pointtype 7 pointsize 1.3 linecolor rgb '#c0392b' title 'Pareto front', \
     'pareto_front.dat' using 1:2:3 with labels offset char 1,0.6 left font ',9' notitle
unset output
reset
