# experiments/results: HDF5 results files (write, read, resume, merge; h5py when present).
bitsim_add_test(experiments_results_test
  SOURCES results_file_test.cpp results_fixtures.cpp
  LABELS experiments
  LIBS bitsim_experiments)
