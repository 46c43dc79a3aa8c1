# Growth plot of `make bench` (tools/bench/bench.sh). Called as
#   gnuplot -e "dir='DATA_DIR'; out='PNG'" tools/bench/plot.gp
# with the growth-*.dat files bv-bench wrote in DATA_DIR.
set terminal pngcairo size 1500,900 font ",10" noenhanced
set output out
set multiplot layout 2,3 title "beaconveil: cost under BPF_PROG_TEST_RUN (median of repetitions)"
set grid
set key top left
set style data linespoints

set title "Header length (one request, MSS 1448 segments)"
set xlabel "head bytes"
set ylabel "ns per request"
set yrange [0:*]
plot dir."/growth-head.dat" using 1:3 title "ns/request" lw 2 pt 7

set title "Cookies in a 1400-byte head"
set xlabel "cookies"
set ylabel "ns per packet"
set logscale x 2
plot dir."/growth-cookies.dat" using 1:2 title "ns/packet" lw 2 pt 7
unset logscale x

set title "Path rules (last one matches), realistic head"
set xlabel "rules"
set ylabel "ns per packet"
plot dir."/growth-paths.dat" using 1:2 title "ns/packet" lw 2 pt 7

set title "Beacon ports, non-beacon packet"
set xlabel "ports"
set ylabel "ns per packet"
set logscale x 2
plot dir."/growth-ports.dat" using 1:2 title "ns/packet" lw 2 pt 7
unset logscale x

set title "Live flows in bv_flows (body segment, random flow)"
set xlabel "live flows"
set ylabel "ns per packet"
set logscale x 2
set xtics ("1k" 1024, "4k" 4096, "16k" 16384, "64k" 65536, "256k" 262144, "1M" 1048576)
plot dir."/growth-flows.dat" using 1:2 title "ns/packet" lw 2 pt 7
unset logscale x

unset multiplot
