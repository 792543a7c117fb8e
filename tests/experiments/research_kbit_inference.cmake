# Study 4 (k-bit inference scaling, experiments/research/kbit_inference): ci.yaml on the tiny GPT-2; checks the direction of each effect.
bitsim_add_test(test_research_kbit_inference
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_kbit_inference.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_kbit_inference PRIVATE BITSIM_RESEARCH_DIR="${PROJECT_SOURCE_DIR}/experiments/research")
