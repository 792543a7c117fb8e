# experiments/report and the `bitsim report` / `bitsim merge` commands (run as a script
# would; the plot case skips with a message when gnuplot is absent).
bitsim_add_test(experiments_report_test
  SOURCES report_test.cpp results_fixtures.cpp ${PROJECT_SOURCE_DIR}/tests/cli/run_bitsim.cpp
  LABELS experiments
  LIBS bitsim_experiments)
target_compile_definitions(experiments_report_test PRIVATE BITSIM_CLI="$<TARGET_FILE:bitsim>")
add_dependencies(experiments_report_test bitsim)
