# The device of an experiment (issue #7; sources in tests/cuda/, no GPU needed): `device:`
# and --device, the recorded device, `device: cuda` refused before any work where it
# cannot run, and a device: cuda sweep through a counting stand-in device, bit for bit.
bitsim_add_test(test_experiments_device
  SOURCES ${PROJECT_SOURCE_DIR}/tests/cuda/test_device_selection.cpp ${CMAKE_CURRENT_LIST_DIR}/results_fixtures.cpp
  LABELS experiments
  LIBS bitsim_experiments)
target_compile_definitions(test_experiments_device PRIVATE BITSIM_CLI="$<TARGET_FILE:bitsim>"
                           $<$<BOOL:${BITSIM_HAVE_CUDA}>:BITSIM_CUDA_BUILD=1>)
add_dependencies(test_experiments_device bitsim)
