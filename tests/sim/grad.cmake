# sim/grad suites: every backward kernel against central finite differences of a float64
# forward (sim/grad/README.md).
bitsim_add_test(test_sim_grad SOURCES test_grad.cpp test_grad_gelu.cpp LABELS sim LIBS bitsim_sim nlohmann_json::nlohmann_json)
# The GELU tests' literal formulas are the operations written: no FMA contraction.
set_source_files_properties(test_grad_gelu.cpp PROPERTIES COMPILE_OPTIONS -ffp-contract=off)
# Float32 BLAS attention (attention: blas in training) against the float64 attention.
bitsim_add_test(test_attention_blas SOURCES test_attention_blas.cpp LABELS sim LIBS bitsim_sim)
# Linear-layer operands as views and GEMM outputs without a fill: bits of the code before (sim/grad/README.md).
bitsim_add_test(test_sim_linear_views SOURCES test_linear_views.cpp LABELS sim LIBS bitsim_sim)
