# sim/grad suites: every backward kernel against central finite differences of a float64
# forward (sim/grad/README.md).
bitsim_add_test(test_sim_grad SOURCES test_grad.cpp LABELS sim LIBS bitsim_sim nlohmann_json::nlohmann_json)
