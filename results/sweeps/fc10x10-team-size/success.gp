# success: written by hint-sweep-agg from success.dat; render with gnuplot success.gp
set terminal pngcairo noenhanced size 960,600 font 'sans,11'
set output '/work/main/results/sweeps/fc10x10-team-size/success.png'
set title 'fc10x10-team-size: success (mean, std over seeds)'
set ylabel 'success (%)'
set grid ytics
set key outside right top
set xrange [-0.5:3.5]
set yrange [0:105]
set xlabel 'env.perception_agents, env.action_agents'
set xtics ('2P1A' 0, '3P2A' 1, '4P3A' 2, '6P4A' 3)
plot '/work/main/results/sweeps/fc10x10-team-size/success.dat' index 0 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lc 1 dt 1 title 'hint sampled', \
     '/work/main/results/sweeps/fc10x10-team-size/success.dat' index 1 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lc 1 dt 2 title 'hint greedy', \
     '/work/main/results/sweeps/fc10x10-team-size/success.dat' index 2 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lc 2 dt 1 title 'mappo sampled', \
     '/work/main/results/sweeps/fc10x10-team-size/success.dat' index 3 using 1:2:3 with yerrorlines lw 2 pt 7 ps 1.2 lc 2 dt 2 title 'mappo greedy'
