# sim/transforms: Walsh-Hadamard (plain, blockwise, randomized) against a literal matrix
# product in double, orthogonality bounds, SmoothQuant scaling.
bitsim_add_test(test_sim_transforms SOURCES test_transforms.cpp LABELS sim LIBS bitsim_sim)
