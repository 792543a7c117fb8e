# Research study 2 (issue #12): the flash-attention rounding bias (Qiu & Yao 2025). Runs the
# reduced study (experiments/research/flash_attention_bias/ci.yaml) through the library and
# checks the direction of the effects; checks the kernel's algebra in float64.
bitsim_add_test(test_research_flash_attention_bias
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/research_flash_attention_bias.cpp
  LABELS experiments research
  LIBS bitsim_experiments)
target_compile_definitions(test_research_flash_attention_bias PRIVATE
  BITSIM_RESEARCH_DIR="${PROJECT_SOURCE_DIR}/experiments/research")
