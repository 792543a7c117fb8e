# Posits and LNS as runtime formats, LNS arithmetic (issue #3, helper posit-lns).
# Included from tests/formats/CMakeLists.txt.
bitsim_add_test(test_format_posit
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_format_posit.cpp
  LABELS formats)
bitsim_add_test(test_lns
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_lns.cpp
  LABELS formats)
# Every 16-bit code and boundary: about 7 s of CPU in Release.
bitsim_add_test(test_lns16
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_lns16.cpp
  LABELS formats slow)
bitsim_add_test(test_lns_arithmetic
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_lns_arithmetic.cpp
  LABELS formats)
add_test(NAME test_lns16_arithmetic
         COMMAND test_lns_arithmetic --no-skip "--test-case=lns16 mul*")
set_tests_properties(test_lns16_arithmetic PROPERTIES LABELS "formats;slow")
