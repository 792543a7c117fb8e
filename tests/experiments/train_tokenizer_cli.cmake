# `bitsim train --tokenizer bpe:V` end to end (runs the built bitsim as a child): the
# checkpoint carries its tokenizer, --resume takes it back, `bitsim model eval` reads it.
bitsim_add_test(test_train_tokenizer_cli
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_train_tokenizer_cli.cpp
  LABELS cli models
  LIBS bitsim_experiments bitsim_models)
target_compile_definitions(test_train_tokenizer_cli PRIVATE BITSIM_CLI="$<TARGET_FILE:bitsim>")
add_dependencies(test_train_tokenizer_cli bitsim)
