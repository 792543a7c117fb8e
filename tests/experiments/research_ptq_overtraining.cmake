# Study 5 (experiments/research/ptq_overtraining): the reduced ci.yaml through the library;
# checks the direction of the effects (a second or two).
bitsim_add_test(test_research_ptq_overtraining
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_ptq_overtraining.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_ptq_overtraining PRIVATE BITSIM_RESEARCH="${PROJECT_SOURCE_DIR}/experiments/research")
