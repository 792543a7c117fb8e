# Arithmetic suites (issue #3): formats/arithmetic.hpp and formats/value.hpp against the
# exact reference of arith_reference.hpp. Included from tests/formats/CMakeLists.txt.
bitsim_add_test(test_arith_exhaustive
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_arith_exhaustive.cpp
  LABELS formats slow LIBS bitsim_reference TBB::tbb)
# One program in several CTest entries, so that each stays well under a minute: the
# 10^6-pair cases are skipped by default (doctest::skip) and run one format per entry
# with --no-skip under the label slow; the plain entry runs the rest.
bitsim_add_test(test_arith_sampled
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_arith_sampled.cpp
  LABELS formats LIBS bitsim_reference TBB::tbb)
foreach(family fp16 bf16 posit16)
  add_test(NAME test_arith_sampled_${family}
           COMMAND test_arith_sampled --no-skip "--test-case=${family}:*")
  set_tests_properties(test_arith_sampled_${family} PROPERTIES LABELS "formats;slow")
endforeach()
bitsim_add_test(test_arith_stochastic
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_arith_stochastic.cpp
  LABELS formats LIBS bitsim_reference TBB::tbb)
bitsim_add_test(test_arith_value
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_arith_value.cpp
  LABELS formats)
