#include "models/io/stored_tensor.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#include "formats/block/block_format.hpp"
#include "formats/block/block_quantize.hpp"
#include "formats/format.hpp"

namespace bitsim::models {
namespace {

constexpr std::array<StoredTypeInfo, 15> kTypes{{
    {StoredType::f64, "f64", "fp64", 1, 8},
    {StoredType::f32, "f32", "fp32", 1, 4},
    {StoredType::f16, "f16", "fp16", 1, 2},
    {StoredType::bf16, "bf16", "bf16", 1, 2},
    {StoredType::f8_e4m3, "f8_e4m3", "e4m3fn", 1, 1},
    {StoredType::f8_e5m2, "f8_e5m2", "e5m2", 1, 1},
    {StoredType::i64, "i64", "", 1, 8},
    {StoredType::i32, "i32", "", 1, 4},
    {StoredType::i16, "i16", "", 1, 2},
    {StoredType::i8, "i8", "", 1, 1},
    {StoredType::u8, "u8", "", 1, 1},
    {StoredType::boolean, "bool", "", 1, 1},
    {StoredType::q8_0, "q8_0", "q8_0", 32, 34},
    {StoredType::q4_0, "q4_0", "q4_0", 32, 18},
    {StoredType::q4_1, "q4_1", "q4_1", 32, 20},
}};

template <class T>
T load(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// Plain floats: codes -> bitsim Format::decode (exact for every format of <= 32 bits).
void decode_floats(const StoredTensor& t, std::span<float> out) {
  const auto& ti = info(t.type);
  if (t.type == StoredType::f32) {
    std::memcpy(out.data(), t.bytes.data(), out.size() * 4);
    return;
  }
  if (t.type == StoredType::f64) {
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = float(load<double>(t.bytes.data() + 8 * i));
    return;
  }
  const auto format = formats::Format::parse(ti.bitsim_format);
  constexpr std::size_t kChunk = 1 << 16;
  std::vector<std::uint64_t> codes;
  for (std::size_t begin = 0; begin < out.size(); begin += kChunk) {
    const std::size_t n = std::min(kChunk, out.size() - begin);
    codes.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::byte* p = t.bytes.data() + (begin + i) * ti.block_bytes;
      codes[i] = ti.block_bytes == 2 ? load<std::uint16_t>(p) : std::uint64_t(load<std::uint8_t>(p));
    }
    format.decode(codes, out.subspan(begin, n));
  }
}

void decode_integers(const StoredTensor& t, std::span<float> out) {
  const std::byte* p = t.bytes.data();
  for (std::size_t i = 0; i < out.size(); ++i) {
    switch (t.type) {
      case StoredType::i64: out[i] = float(load<std::int64_t>(p + 8 * i)); break;
      case StoredType::i32: out[i] = float(load<std::int32_t>(p + 4 * i)); break;
      case StoredType::i16: out[i] = float(load<std::int16_t>(p + 2 * i)); break;
      case StoredType::i8: out[i] = float(load<std::int8_t>(p + i)); break;
      case StoredType::u8: out[i] = float(load<std::uint8_t>(p + i)); break;
      case StoredType::boolean: out[i] = load<std::uint8_t>(p + i) != 0 ? 1.0f : 0.0f; break;
      default: throw std::logic_error("decode_integers: not an integer type");
    }
  }
}

// llama.cpp blocks (ggml's block_q8_0 / block_q4_0 / block_q4_1): an fp16 scale d, for Q4_1
// an fp16 minimum m, then the 32 quants — int8 for Q8_0; for Q4_x 16 bytes whose low
// nibbles are elements 0..15 and high nibbles elements 16..31. They become bitsim's
// BlockEncoding (one code per element, scale codes, Q4_1's minimum as the block's offset)
// and decode with the block format of the same name.
void decode_blocks(const StoredTensor& t, std::span<float> out) {
  const auto& ti = info(t.type);
  const auto format = formats::BlockFormat::parse(ti.bitsim_format);
  const std::size_t cols = t.shape.empty() ? 1 : static_cast<std::size_t>(t.shape.back());
  const std::size_t rows = cols == 0 ? 0 : out.size() / cols;
  formats::BlockEncoding e;
  e.rows = rows;
  e.cols = cols;
  const std::size_t blocks = out.size() / 32;
  e.elements.resize(out.size());
  e.scales.resize(blocks);
  if (t.type == StoredType::q4_1) e.zero_points.resize(blocks);
  for (std::size_t b = 0; b < blocks; ++b) {
    const std::byte* p = t.bytes.data() + b * ti.block_bytes;
    e.scales[b] = load<std::uint16_t>(p);
    std::uint64_t* codes = e.elements.data() + 32 * b;
    if (t.type == StoredType::q8_0) {
      for (int i = 0; i < 32; ++i) codes[i] = load<std::uint8_t>(p + 2 + i);
      continue;
    }
    const std::byte* quants = p + (t.type == StoredType::q4_1 ? 4 : 2);
    if (t.type == StoredType::q4_1) e.zero_points[b] = load<std::uint16_t>(p + 2);
    for (int i = 0; i < 16; ++i) {
      const auto q = load<std::uint8_t>(quants + i);
      codes[i] = q & 0x0F;
      codes[i + 16] = q >> 4;
    }
  }
  formats::block_decode(format, e, out);
}

}  // namespace

const StoredTypeInfo& info(StoredType type) { return kTypes[static_cast<std::size_t>(type)]; }

std::uint64_t byte_size(StoredType type, const sim::Shape& shape) {
  const auto& ti = info(type);
  std::uint64_t elements = 1;
  for (auto d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + sim::shape_string(shape));
    if (d != 0 && elements > std::numeric_limits<std::uint64_t>::max() / std::uint64_t(d))
      throw std::invalid_argument("shape " + sim::shape_string(shape) + " overflows 64 bits");
    elements *= std::uint64_t(d);
  }
  if (ti.block_elements > 1) {
    const auto last = shape.empty() ? 1 : shape.back();
    if (last % ti.block_elements != 0)
      throw std::invalid_argument(std::string(ti.name) + " stores blocks of " +
                                  std::to_string(ti.block_elements) + " along the last axis, but shape " +
                                  sim::shape_string(shape) + " has " + std::to_string(last));
  }
  const std::uint64_t blocks = elements / std::uint64_t(ti.block_elements);
  if (blocks > std::numeric_limits<std::uint64_t>::max() / std::uint64_t(ti.block_bytes))
    throw std::invalid_argument("shape " + sim::shape_string(shape) + " overflows 64 bits");
  return blocks * std::uint64_t(ti.block_bytes);
}

sim::TensorF dequantize(const StoredTensor& t) {
  if (t.bytes.size() != byte_size(t.type, t.shape))
    throw std::invalid_argument("tensor '" + t.name + "': " + std::to_string(t.bytes.size()) +
                                " bytes for " + std::string(info(t.type).name) + " of shape " +
                                sim::shape_string(t.shape) + ", which needs " +
                                std::to_string(byte_size(t.type, t.shape)));
  sim::TensorF out(t.shape);
  auto values = out.span();
  const auto& ti = info(t.type);
  if (ti.block_elements > 1) {
    decode_blocks(t, values);
  } else if (ti.bitsim_format.empty()) {
    decode_integers(t, values);
  } else {
    decode_floats(t, values);
  }
  return out;
}

}  // namespace bitsim::models
