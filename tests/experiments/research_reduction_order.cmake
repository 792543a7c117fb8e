# Study 3 (reduction order, experiments/research/reduction_order): data.generate's greedy metrics against a direct decoding, and ci.yaml on the tiny GPT-2; checks the direction of each effect.
bitsim_add_test(test_research_reduction_order
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_reduction_order.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_reduction_order PRIVATE BITSIM_RESEARCH_DIR="${PROJECT_SOURCE_DIR}/experiments/research")
