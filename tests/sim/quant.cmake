# sim/quant: QuantSpec strings, fake_quantize / encode / decode against a literal
# per-element reference, odd shapes, stochastic rounding, determinism across threads.
bitsim_add_test(test_sim_quant SOURCES test_quant.cpp LABELS sim LIBS bitsim_sim)
bitsim_add_test(test_sim_quant_codebook SOURCES test_quant_codebook.cpp LABELS sim LIBS bitsim_sim)
