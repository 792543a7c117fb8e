#pragma once
// A tensor as a weight file stores it: element type, shape and a view of its bytes inside
// the mapped file. dequantize() turns it into a float32 sim::Tensor through bitsim's own
// formats (fp16, bf16, e4m3fn, e5m2, the llama.cpp block formats q8_0/q4_0/q4_1): loading
// a quantized checkpoint *is* decoding it, with the same code the simulator validates.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sim/tensor.hpp"

namespace bitsim::models {

enum class StoredType : std::uint8_t {
  f64, f32, f16, bf16, f8_e4m3, f8_e5m2,  // floats
  i64, i32, i16, i8, u8, boolean,         // integers
  q8_0, q4_0, q4_1,                       // llama.cpp blocks of 32 along the last axis
};

struct StoredTypeInfo {
  StoredType type;
  std::string_view name;           // bitsim's name, as `bitsim model info` prints it
  std::string_view bitsim_format;  // the element or block format spec that decodes it ("" = integer)
  int block_elements;              // 1 for plain element types
  int block_bytes;                 // bytes per block (per element for plain types)
};

const StoredTypeInfo& info(StoredType type);

struct StoredTensor {
  std::string name;
  StoredType type = StoredType::f32;
  sim::Shape shape;                 // row-major, outermost first
  std::span<const std::byte> bytes; // exactly byte_size(type, shape) bytes
};

// Bytes a tensor of this type and shape occupies; throws std::invalid_argument when the
// last axis is not a whole number of blocks, or on overflow.
std::uint64_t byte_size(StoredType type, const sim::Shape& shape);

// Values as float32. Floats of up to 32 bits and the block formats convert exactly; f64
// rounds to nearest-even; integers convert exactly up to 2^24 in magnitude and round to
// nearest-even beyond.
sim::TensorF dequantize(const StoredTensor& tensor);

}  // namespace bitsim::models
