# experiments/results: HDF5 results files (write, read, resume, merge; h5py when present).
bitsim_add_test(experiments_results_test
  SOURCES results_file_test.cpp results_fixtures.cpp
  LABELS experiments
  LIBS bitsim_experiments)
# Raw tensor dumps (/dumps): C API read-back + decode, runner (threads, shards, resume), MPI codec, models;
# temporaries removed on failed writes.
bitsim_add_test(experiments_results_dumps_test
  SOURCES results_dumps_test.cpp results_fixtures.cpp
  LABELS experiments
  LIBS bitsim_experiments)
find_program(BITSIM_MPIRUN NAMES mpirun mpiexec)
target_compile_definitions(experiments_results_dumps_test PRIVATE
  BITSIM_CLI="$<TARGET_FILE:bitsim>"
  BITSIM_MPIRUN="${BITSIM_MPIRUN}")
add_dependencies(experiments_results_dumps_test bitsim)
