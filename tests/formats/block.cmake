# Block-scaled format suites (issue #4); included from tests/formats/CMakeLists.txt.
bitsim_add_test(test_block_format SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block_format.cpp LABELS formats LIBS bitsim_block)
bitsim_add_test(test_block_reference SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block_reference.cpp LABELS formats LIBS bitsim_block)
bitsim_add_test(test_block_mx SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block_mx.cpp LABELS formats LIBS bitsim_block)
bitsim_add_test(test_block_properties SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block_properties.cpp LABELS formats LIBS bitsim_block)
bitsim_add_test(test_block_vectors SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block_vectors.cpp LABELS formats LIBS bitsim_block)
bitsim_add_test(test_block_fast_path SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_block_fast_path.cpp LABELS formats LIBS bitsim_block)
