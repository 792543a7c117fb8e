# ml_dtypes oracle vectors (tests/data/ml_dtypes, made by tests/data/gen_ml_dtypes_vectors.py).
# Included from tests/formats/CMakeLists.txt.
bitsim_add_test(test_ml_dtypes_vectors SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_ml_dtypes_vectors.cpp LABELS formats)
