# The `training` workload: config errors, metrics equal to a direct models/train run, ptq
# points sharing one training, 1 vs 2 threads bit-identical (a few seconds).
bitsim_add_test(test_workload_training
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/workload_training_test.cpp
  LABELS experiments
  LIBS bitsim_experiments)
