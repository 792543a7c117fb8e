# Experiment files: schema errors, defaults, grid expansion, layer selections, shards, and
# every shipped example (issue #6).
bitsim_add_test(test_experiments_config
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.cpp
  LABELS experiments
  LIBS bitsim_experiments)
