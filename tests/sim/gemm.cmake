# sim/gemm: the accumulator model (AccumSpec), the fast GEMM against its literal reference,
# hand-computed accumulator cases, exact dot products, determinism across thread counts.
bitsim_add_test(test_sim_gemm SOURCES test_gemm.cpp test_accum_spec.cpp LABELS sim
                LIBS bitsim_sim bitsim_reference)
target_compile_options(test_sim_gemm PRIVATE -ffp-contract=off)  # accumulation.hpp: TwoSum
