# Study 6 (experiments/research/fp_training_law): the reduced ci.yaml through the library;
# checks the direction of the effects (a few seconds).
bitsim_add_test(test_research_fp_training_law
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_fp_training_law.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_fp_training_law PRIVATE BITSIM_RESEARCH="${PROJECT_SOURCE_DIR}/experiments/research")
