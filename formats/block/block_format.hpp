#pragma once
// Block-scaled formats (OCP MX, NVFP4, block floating point, group-wise INT, llama.cpp
// blocks) as one description: an element format, a scale format, a block shape, a scale
// rule and a recipe. Every named block format is a row of a table (block_format.cpp);
// adding one is adding a row, not a class. The operations are in block_quantize.hpp.
//
// Spec grammar (docs: formats/block/README.md):
//   block_spec := name [ '<' option { ',' option } '>' ]      name: a named block format,
//                                                              'mx' (generic) or 'bfp'
//               | int_spec
//   option     := elem=<format spec> | scale=<format spec> | block=N | block=RxC | axis=0|1
//               | rule=floor|ceil|round|mse|amax | round=<rounding> | tensor=none|fp32
//               | recipe=generic|fp32|q8_0|q4_0|q4_1 | zero_point[=true|false]
//               | m=<mantissa bits> (bfp only)
//   int_spec   := ('int'|'uint')B ':' ('sym'|'asym') ':' ('g'N | 'channel' | 'tensor')
//                 [':' ('fp16'|'bf16'|'fp32')] [':full']
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "formats/format.hpp"
#include "formats/rounding.hpp"

namespace bitsim::formats {

// How a block's scale is chosen from its largest magnitude amax (elements are then
// round(x / scale) into the element format, clamped to its max).
enum class ScaleRule : std::uint8_t {
  floor,  // OCP MX: 2^(floor(log2 amax) - emax_elem); the largest element may clamp
  ceil,   // 2^ceil(log2(amax / max_elem)): the smallest power of two with no clamping
  round,  // 2^round(log2(amax / max_elem)), the exponent rounded to nearest
  mse,    // the power of two among floor-1 .. floor+2 with the least squared error
  amax,   // amax / max_elem rounded (rne) into the scale format (NVFP4, INT groups)
};

// The arithmetic a block follows. `generic` is exact: x / scale is rounded once into the
// element format. The others reproduce a reference implementation's float32 steps.
enum class Recipe : std::uint8_t {
  generic,
  two_level_fp32,  // NVFP4 (Transformer Engine order): per-tensor fp32 scale + block scale
  ggml_q8_0,       // llama.cpp Q8_0: d = amax/127, q = roundf(x * (1/d))
  ggml_q4_0,       // llama.cpp Q4_0: d = m/-8, q = min(15, trunc(x * (1/d) + 8.5))
  ggml_q4_1,       // llama.cpp Q4_1: d = (max-min)/15, q = min(15, trunc((x-min) * (1/d) + 0.5))
};

std::string_view to_string(ScaleRule rule);
std::string_view to_string(Recipe recipe);

// A block of `rows` x `cols` elements of a row-major [rows, cols] array shares one scale.
// 1-D blocks along the last axis are 1 x k, along the first axis k x 1; 0 means the
// whole axis (per-channel, per-tensor).
struct BlockShape {
  int rows = 1;
  int cols = 32;
  friend bool operator==(const BlockShape&, const BlockShape&) = default;
};

// The table entry: plain data. Format specs are strings so that the table is readable.
struct BlockDescription {
  std::string element;            // element format spec, e.g. "e2m1fn", "int<bits=8,frac=6,narrow>"
  std::string scale = "e8m0fnu";  // scale format spec
  BlockShape shape;
  ScaleRule rule = ScaleRule::floor;
  Recipe recipe = Recipe::generic;
  bool zero_point = false;        // asymmetric: an integer zero point per block (unsigned elements)
  RoundingSpec rounding = {};     // element rounding (the scale is always chosen by `rule`)
  friend bool operator==(const BlockDescription&, const BlockDescription&) = default;
};

struct NamedBlockFormat {
  std::string_view name;
  std::string_view description;
  BlockDescription format;
};
std::span<const NamedBlockFormat> named_block_formats();
std::string valid_block_format_names();

// True when `spec` is written in the block grammar: a named block format or mx/bfp (with
// or without options), or a group INT spec (it has ':' and no '<'). Says nothing about
// validity: BlockFormat::parse decides that. Lets callers that take either kind of spec
// (the CLI) pick the parser.
bool is_block_spec(std::string_view spec);

class BlockFormat {
 public:
  explicit BlockFormat(BlockDescription description);  // validates; throws std::invalid_argument
  static BlockFormat parse(std::string_view spec);     // throws UnknownFormat / std::invalid_argument

  const BlockDescription& description() const { return description_; }
  const std::string& spec() const { return spec_; }  // canonical spec string
  const Format& element() const { return element_; }  // built with overflow=saturate
  const Format& scale() const { return scale_; }       // built with overflow=saturate
  BlockShape shape() const { return description_.shape; }
  ScaleRule rule() const { return description_.rule; }
  Recipe recipe() const { return description_.recipe; }
  bool has_zero_point() const { return description_.zero_point; }
  bool has_tensor_scale() const { return description_.recipe == Recipe::two_level_fp32; }
  RoundingSpec rounding() const { return description_.rounding; }

  double element_max() const { return element_max_; }  // largest element magnitude used by rules
  int element_emax() const { return element_emax_; }   // floor(log2(element_max))
  int scale_min_exponent() const { return scale_min_exponent_; }  // powers of two the scale
  int scale_max_exponent() const { return scale_max_exponent_; }  // format holds exactly

  // Bits per element of storage: element bits + (scale + zero point bits) / block size.
  // Whole-axis blocks and the per-tensor scale count as 0 (their share vanishes).
  double effective_bits() const;

 private:
  BlockDescription description_;
  std::string spec_;
  Format element_;
  Format scale_;
  double element_max_ = 0;
  int element_emax_ = 0;
  int scale_min_exponent_ = 0;
  int scale_max_exponent_ = 0;
};

}  // namespace bitsim::formats
