# KL of SmolLM2's next-token distributions against the FP32 run vs the chunk length k of
# BF16 accumulation promoted to FP32 (study.yaml's results; unchunked BF16, FP16 and the
# ~14-bit accumulator as horizontal lines). Redraw: gnuplot kl_vs_chunk.gp
set terminal svg size 760,480 dynamic font 'Sans,12' noenhanced background rgb 'white'
set output 'kl_vs_chunk.svg'
set title 'SmolLM2, every GEMM: KL vs FP32 against the promotion interval k'
set xlabel 'k (products summed in BF16 before promotion to FP32)'
set ylabel 'mean KL (nats)'
set logscale xy
set grid
set key top left
set xrange [0.8:400]
$bf16 << EOD
1 0.000489
4 0.000719
16 0.004382
64 0.01717
256 0.03911
EOD
plot $bf16 using 1:2 with linespoints pointtype 7 title 'acc=bf16,chunk=k', \
     0.1446 with lines dashtype 2 title 'acc=bf16 (no promotion)', \
     0.002792 with lines dashtype 3 title 'acc=fp16 (no promotion)', \
     4.48e-05 with lines dashtype 4 title 'acc=fp<e=8,m=13>', \
     0.001 with lines lc rgb 'red' title 'safe: KL < 1e-3'
