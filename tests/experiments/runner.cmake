# The runner: determinism across thread counts, shards + merge = one run, resume after a
# kill (runs build/bitsim as a child), MPI with mpirun -np 2 (skipped without mpirun).
find_program(BITSIM_MPIRUN NAMES mpirun mpiexec)
bitsim_add_test(test_experiments_runner
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_runner.cpp
  LABELS experiments
  LIBS bitsim_experiments)
target_compile_definitions(test_experiments_runner PRIVATE
  BITSIM_CLI="$<TARGET_FILE:bitsim>"
  BITSIM_MPIRUN="${BITSIM_MPIRUN}")
add_dependencies(test_experiments_runner bitsim)
# SmolLM2 through the runner (loads the model: tens of seconds on 2 cores, hence slow).
bitsim_add_test(test_experiments_runner_model
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_runner_model.cpp
  LABELS experiments models slow
  LIBS bitsim_experiments)
target_compile_definitions(test_experiments_runner_model PRIVATE
  BITSIM_PRETRAINED="${PROJECT_SOURCE_DIR}/models/pretrained")
