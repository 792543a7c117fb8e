#pragma once
// QuantSpec: how one tensor is quantized — an element or block format, the granularity of
// its scales, how a scale is chosen, the rounding mode and seed, and an optional transform
// applied before quantization. Plain data; parse_quant_spec() reads the compact string
// grammar documented in sim/README.md ("Quantization specs"), to_string() writes the
// canonical spelling, which parses back to an equal spec.
//
//   none                                    identity: values stay float32
//   bf16                                    plain cast: each element rounded into bf16
//   e4m3fn:per_tensor                       scale = amax / 448 (fp32), elements saturate
//   int8:per_channel(axis=0):percentile(99.9)
//   int4:per_group(128,axis=-1):mse:sr(seed=3)
//   e4m3fn:per_tensor:scale(e8m0fnu)        the scale itself rounded into a format
//   mxfp4 | nvfp4 | int4:sym:g128           block formats bring their own scales
//   int4:per_group(32):hadamard             transform along the last axis first
//   e4m3fn:per_tensor:fixed(3.5)            scale = 3.5 / 448 whatever the tensor holds
#include <cstdint>
#include <string>
#include <string_view>

#include "formats/rounding.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

// Which elements share one scale.
enum class Granularity : std::uint8_t {
  unscaled,     // no scale: each element is rounded into the format as it is (a cast)
  per_tensor,   // one scale for the whole tensor
  per_channel,  // one scale per index along `axis` (reduced over every other axis)
  per_group,    // one scale per run of `group` consecutive elements along `axis`
  per_block,    // a block format's own blocks (formats/block), on [rows = prod(shape[:-1]), cols]
};

// How a scaled group's clipping value c is chosen; scale = c / format max.
enum class ScaleRule : std::uint8_t {
  absmax,      // c = max |x| over the group
  percentile,  // c = the p-th percentile of |x| (linear interpolation, as numpy's default)
  mse,         // c = r * absmax for the ratio r of the grid with the least squared error
  fixed,       // c = `clip`, given by the caller (delayed scaling: the max of an amax
               // history); elements beyond c saturate at the format's max
};

enum class TransformKind : std::uint8_t {
  none,
  hadamard,         // orthonormal Walsh-Hadamard along the last axis
  random_hadamard,  // Hadamard after a random +-1 sign per column (from `seed`)
};

struct TransformSpec {
  TransformKind kind = TransformKind::none;
  Index block = 0;         // Hadamard block size along the last axis; 0 = the largest power of two dividing it
  std::uint64_t seed = 0;  // random_hadamard signs
  friend bool operator==(const TransformSpec&, const TransformSpec&) = default;
};

struct QuantSpec {
  // Canonical element-format spec (formats::Format::parse) or block-format spec
  // (formats::BlockFormat::parse, with is_block set); "none" is the identity.
  std::string format = "none";
  bool is_block = false;
  Granularity granularity = Granularity::unscaled;
  int axis = -1;      // per_channel: the channel axis; per_group: the axis groups run along
  Index group = 0;    // per_group: elements per group (the last group of an axis may be short)
  ScaleRule scale_rule = ScaleRule::absmax;
  double percentile = 99.9;    // percentile rule: p in (0, 100]
  int mse_steps = 20;          // mse rule: ratios r_k = 1 - k (1 - mse_min_ratio) / mse_steps,
  double mse_min_ratio = 0.5;  //           k = 0 .. mse_steps
  double clip = 0;             // fixed rule: the clipping value c >= 0 of every group
  std::string scale_format = "fp32";  // format a scale is stored in (rounded rne, saturating)
  formats::RoundingSpec rounding = {};  // element rounding (block formats: their element rounding)
  std::uint64_t seed = 0;               // stochastic rounding: RandomStream{seed, tensor_id}
  TransformSpec transform = {};

  static QuantSpec identity() { return {}; }
  bool is_identity() const { return format == "none"; }
  bool is_scaled() const { return granularity != Granularity::unscaled; }
  friend bool operator==(const QuantSpec&, const QuantSpec&) = default;
};

// Parses the compact grammar; throws std::invalid_argument naming the bad token and the
// valid choices (formats::UnknownFormat for an unknown format name).
QuantSpec parse_quant_spec(std::string_view text);
std::string to_string(const QuantSpec& spec);
// Checks a spec built in C++ (parse_quant_spec's output always passes); throws
// std::invalid_argument. Shape-dependent checks (axis range) happen in fake_quantize.
void validate(const QuantSpec& spec);

}  // namespace bitsim::sim
