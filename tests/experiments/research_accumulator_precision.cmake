# Study 8 (accumulator precision, experiments/research/accumulator_precision): ci.yaml on the tiny GPT-2; checks the direction of each effect.
bitsim_add_test(test_research_accumulator_precision
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_accumulator_precision.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_accumulator_precision PRIVATE BITSIM_RESEARCH_DIR="${PROJECT_SOURCE_DIR}/experiments/research")
