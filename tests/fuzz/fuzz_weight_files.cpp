// libFuzzer entry point for the weight-file readers: the input is one file's bytes, read as
// GGUF (BITSIM_FUZZ_GGUF) or safetensors (BITSIM_FUZZ_SAFETENSORS) and, when it parses,
// every tensor is dequantized. A LoadError is the expected outcome for most inputs; any
// other exception, crash or sanitizer report is a bug. How to run: tests/fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <vector>

#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::byte> bytes(size);
  if (size) std::memcpy(bytes.data(), data, size);
  auto file = std::make_shared<const bitsim::models::MappedFile>("fuzz-input", std::move(bytes));
  try {
#if defined(BITSIM_FUZZ_GGUF)
    const auto f = bitsim::models::GgufFile::read(file);
#else
    const auto f = bitsim::models::SafetensorsFile::read(file);
#endif
    for (const auto& t : f.tensors())
      if (t.bytes.size() <= (1u << 20)) (void)bitsim::models::dequantize(t);
  } catch (const bitsim::models::LoadError&) {
  }
  return 0;
}
