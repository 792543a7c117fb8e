# Curves (/curves): the training workload's loss curves against a direct run, resume after
# a stop, shards + merge, the MPI codec, the writer's checks, `bitsim report --curves` (a few seconds).
bitsim_add_test(test_experiments_curves
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/curves_test.cpp
  LABELS experiments
  LIBS bitsim_experiments)
target_compile_definitions(test_experiments_curves PRIVATE BITSIM_CLI="$<TARGET_FILE:bitsim>")
add_dependencies(test_experiments_curves bitsim)
