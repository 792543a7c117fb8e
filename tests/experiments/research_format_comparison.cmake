# Study 7 (format comparison, experiments/research/format_comparison): ci.yaml on the tiny GPT-2; checks the direction of each effect.
bitsim_add_test(test_research_format_comparison
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_format_comparison.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_format_comparison PRIVATE BITSIM_RESEARCH_DIR="${PROJECT_SOURCE_DIR}/experiments/research")
