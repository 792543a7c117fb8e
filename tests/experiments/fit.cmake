# Scaling-law fits (issue #11, experiments/fit/README.md).
bitsim_add_test(fit_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fit_test.cpp ${CMAKE_CURRENT_SOURCE_DIR}/fit_cli_test.cpp
          ${PROJECT_SOURCE_DIR}/tests/cli/run_bitsim.cpp
  LABELS experiments
  LIBS bitsim_experiments nlohmann_json::nlohmann_json)
target_compile_definitions(fit_test PRIVATE BITSIM_CLI="$<TARGET_FILE:bitsim>")
add_dependencies(fit_test bitsim)
# The 4,500-start fit on the published replication data (../shared/data; skipped without it).
bitsim_add_test(fit_replication_test
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fit_replication_test.cpp
  LABELS experiments slow
  LIBS bitsim_experiments)
target_compile_definitions(fit_replication_test PRIVATE
  BITSIM_SHARED_DATA="${PROJECT_SOURCE_DIR}/../shared/data")
