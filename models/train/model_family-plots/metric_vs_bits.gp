# Written by bitsim report; redraw with: gnuplot metric_vs_bits.gp
set terminal svg size 900,560 dynamic font 'Sans,12' noenhanced background rgb 'white'
set output 'metric_vs_bits.svg'
set title 'val_loss vs train_bits'
set xlabel 'train_bits'
set ylabel 'val_loss'
set grid
set key outside right top
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot 'metric_vs_bits.dat' index 0 using 1:2 with points pointtype 7 pointsize 1.2 title 'bf16', \
     'metric_vs_bits.dat' index 1 using 1:2 with points pointtype 5 pointsize 1.2 title 'fp32', \
     'metric_vs_bits.dat' index 2 using 1:2 with points pointtype 9 pointsize 1.2 title 'fp8', \
     'metric_vs_bits.dat' index 3 using 1:2 with points pointtype 13 pointsize 1.2 title 'nvfp4'
unset output
reset
set terminal pngcairo size 900,560 noenhanced
set output 'metric_vs_bits.png'
set title 'val_loss vs train_bits'
set xlabel 'train_bits'
set ylabel 'val_loss'
set grid
set key outside right top
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
plot 'metric_vs_bits.dat' index 0 using 1:2 with points pointtype 7 pointsize 1.2 title 'bf16', \
     'metric_vs_bits.dat' index 1 using 1:2 with points pointtype 5 pointsize 1.2 title 'fp32', \
     'metric_vs_bits.dat' index 2 using 1:2 with points pointtype 9 pointsize 1.2 title 'fp8', \
     'metric_vs_bits.dat' index 3 using 1:2 with points pointtype 13 pointsize 1.2 title 'nvfp4'
unset output
reset
