# sim/gemm: the accumulator model (AccumSpec), the fast GEMM against its literal reference,
# hand-computed accumulator cases, exact dot products, determinism across thread counts.
bitsim_add_test(test_sim_gemm SOURCES test_gemm.cpp test_accum_spec.cpp LABELS sim
                LIBS bitsim_sim bitsim_reference)
target_compile_options(test_sim_gemm PRIVATE -ffp-contract=off)  # accumulation.hpp: TwoSum
# The BITSIM_HD code the CUDA kernels run (GEMM per output, block and element steps), on the host (issue #7; no GPU).
bitsim_add_test(test_hd_core SOURCES ${PROJECT_SOURCE_DIR}/tests/cuda/test_hd_core.cpp LABELS sim LIBS bitsim_sim)
target_compile_options(test_hd_core PRIVATE -ffp-contract=off)
