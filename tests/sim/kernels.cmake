# sim/kernels suites (sim/README.md, "Kernels"). The tests' literal loops must compute in
# the documented order too: no FMA contraction. The precision suite switches the CPU's
# rounding mode for its float32 reference, hence -frounding-math.
bitsim_add_test(test_sim_kernels
  SOURCES kernel_test_util.hpp test_kernel_precision.cpp test_kernel_rows.cpp test_kernel_elementwise.cpp
  LABELS sim LIBS bitsim_sim)
target_compile_options(test_sim_kernels PRIVATE -ffp-contract=off -frounding-math)
bitsim_add_test(test_sim_attention SOURCES test_attention.cpp LABELS sim LIBS bitsim_sim)
target_compile_options(test_sim_attention PRIVATE -ffp-contract=off)
include(${CMAKE_CURRENT_LIST_DIR}/norm_fast_paths.cmake)  # LayerNorm/RMSNorm float32 fast paths (forward and backward)
