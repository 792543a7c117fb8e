# The norms' float32 fast paths against the generic algorithm, kept literally in the test
# (no FMA contraction in the reference, like sim/kernels).
bitsim_add_test(test_sim_norm_fast_paths SOURCES test_norm_fast_paths.cpp LABELS sim LIBS bitsim_sim)
target_compile_options(test_sim_norm_fast_paths PRIVATE -ffp-contract=off)
