# Posit and quire suites (issue #3). Included from tests/formats/CMakeLists.txt.
bitsim_add_test(test_posit_exhaustive
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_posit_exhaustive.cpp
  LABELS formats)
bitsim_add_test(test_posit_sampled
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_posit_sampled.cpp
  LABELS formats)
bitsim_add_test(test_posit_quire
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_posit_quire.cpp
  LABELS formats)
bitsim_add_test(test_posit_softposit
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_posit_softposit.cpp
  LABELS formats)
