#pragma once
// Precision: the number format in which a kernel computes or stores one intermediate
// value (a softmax sum, a norm's variance, an activation's output), with its rounding mode.
//
// The default is plain float32 arithmetic: the operations are the C++ float operators and
// libm's float functions, exactly what a plain float loop gives. Any other precision is a
// bitsim Format: each operation is computed exactly (or, for exp, in float64) and rounded
// once into the format, so "bf16:rz" models an adder whose every result is truncated to
// bfloat16. Values travel as double and always hold a value of the precision.
//
// Exactness: add/sub/mul/div/sqrt round the exact result once (TwoSum, FMA remainders and
// round-to-odd carry the exact result's sticky bit through float64), for every rounding
// mode, as long as the format has at most 51 significand bits (every format but fp64 and
// 64-bit integers) and the exact result is in float64's range. Wider formats round the
// float64 result (exact under rne, for which float64 itself is the format). Stochastic rounding compares the random word against the
// discarded fraction of that float64 value (exact up to 2^-50 of an ulp).
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "formats/format.hpp"

namespace bitsim::sim {

// double -> float with round to nearest even, overflowing to +-inf (a plain cast of a
// finite double beyond float's range is undefined behaviour in C++).
inline float to_float(double x) {
  constexpr double kOverflow = 0x1.ffffffp127;  // FLT_MAX + half an ulp: rounds to inf
  if (x >= kOverflow) return std::numeric_limits<float>::infinity();
  if (x <= -kOverflow) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(x);
}

class Precision {
 public:
  // Plain float32 arithmetic (round to nearest even, the C++ float operators).
  Precision() = default;
  // Arithmetic rounded into `format` with `rounding`. Stochastic rounding draws word
  // `index` of `rng` for the operation the kernel numbers `index`.
  explicit Precision(formats::Format format, formats::RoundingSpec rounding = {},
                     formats::RandomStream rng = {});

  // "fp32" (plain float32), or FORMAT[:ROUNDING] with any format spec and any rounding
  // spelling: "bf16", "bf16:rz", "fp<e=8,m=12>:rne", "fp16:sr:12". Throws
  // std::invalid_argument / formats::UnknownFormat naming the valid choices.
  static Precision parse(std::string_view text);

  bool is_float32() const { return !format_; }
  const std::optional<formats::Format>& format() const { return format_; }
  formats::RoundingSpec rounding() const { return rounding_; }
  formats::RandomStream random_stream() const { return rng_; }
  // The same precision drawing stochastic-rounding words from stream `stream`.
  Precision with_stream(std::uint64_t stream) const;
  std::string spec() const;  // "fp32", "bf16:rz", ...

  // Each returns the exact result rounded once into the precision; `index` numbers the
  // operation for stochastic rounding (ignored otherwise).
  double round(double x, std::uint64_t index = 0) const;
  double add(double a, double b, std::uint64_t index = 0) const;
  double sub(double a, double b, std::uint64_t index = 0) const { return add(a, -b, index); }
  double mul(double a, double b, std::uint64_t index = 0) const;
  double div(double a, double b, std::uint64_t index = 0) const;
  double sqrt(double a, std::uint64_t index = 0) const;
  // float32: std::exp(float); a format: std::exp(double) rounded once.
  double exp(double a, std::uint64_t index = 0) const;

 private:
  // Rounds `value` (the float64 rounding of an exact result) given the sign of the exact
  // result's remainder `error` (0 if `value` is exact).
  double round_with_sticky(double value, double error, std::uint64_t index) const;

  std::optional<formats::Format> format_;
  formats::RoundingSpec rounding_{};
  formats::RandomStream rng_{};
  bool sticky_exact_ = false;  // round-to-odd through float64 is exact for this format
};

}  // namespace bitsim::sim
