# Codebook formats (NF4, NFk, codebook<...>): table, construction, specs, every rounding
# mode against a brute-force exact-rational reference. Included from
# tests/formats/CMakeLists.txt.
bitsim_add_test(test_codebook
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_codebook.cpp
  LABELS formats)
