# Research study 1 (issue #12): long sums in low-precision accumulators. Runs the reduced
# study (experiments/research/long_sums/ci.yaml) through the library and checks the
# direction of the effects; checks the workload against a literal summation loop.
bitsim_add_test(test_research_long_sums
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_long_sums.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_long_sums PRIVATE
  BITSIM_RESEARCH_DIR="${PROJECT_SOURCE_DIR}/experiments/research")
