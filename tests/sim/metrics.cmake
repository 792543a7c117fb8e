# sim/metrics: error metrics against hand-computed cases and a straightforward double loop.
bitsim_add_test(test_sim_metrics SOURCES test_metrics.cpp LABELS sim LIBS bitsim_sim)
