#pragma once
// The per-block steps of the CUDA block kernels (block_cuda.cu), BITSIM_HD so that the
// host test (tests/cuda/test_hd_core.cpp) runs them on the CPU against
// formats::block_quantize / block_encode: statistics -> scale -> elements -> values/codes,
// as formats/block/README.md "Semantics" defines them, over the shared cores (lattice
// rounding, block_scale.hpp's rules and quotient to odd, code packing and decoding).
// The kernel only adds the parallel reduction of the statistics (combine() is associative
// and commutative, so any reduction order gives the same Stats).
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <variant>

#include "formats/block/block_quantize.hpp"
#include "formats/block/block_scale.hpp"
#include "formats/hd.hpp"
#include "formats/lattice_rounding.hpp"

namespace bitsim::formats::cuda {

using block_detail::power_of_two_exponent;
using block_detail::quotient_to_odd;

// Everything a format block needs, as plain data for the device.
template <class Element, class Scale>
struct BlockParams {
  Element element;
  Scale scale;
  LatticePlan<double> element_plan, integer_plan, scale_plan;
  Recipe recipe;
  ScaleRule rule;
  bool zero_point;
  double zero_point_max, element_max;
  int element_emax, scale_min_exponent, scale_max_exponent;
  double scale_min_subnormal;
  std::uint64_t scale_nan_code;
  float tensor_scale;
  int random_bits;
  RandomStream rng;
  std::size_t rows, cols, block_rows, block_cols, grid_cols;
};

struct BlockScaleValue {
  std::uint64_t code = 0;
  double value = 0;
  double offset = 0;
  std::uint64_t offset_code = 0;
  bool is_nan = false;
};

// The statistics of one block: every element folded in with combine(), in any order.
// A value and the flat index where it was first seen: reductions that keep the first
// occurrence on ties reproduce the CPU's in-order std::min / std::max (which matters for
// the sign of a zero minimum).
struct Seen {
  float value;
  std::size_t index;
};
BITSIM_HD inline Seen lower(Seen a, Seen b) { return (b.value < a.value || (b.value == a.value && b.index < a.index)) ? b : a; }
BITSIM_HD inline Seen higher(Seen a, Seen b) { return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a; }

struct Stats {
  std::uint32_t amax_bits;  // largest |x| as a pattern
  bool nonfinite;
  Seen lo, hi;
};

BITSIM_HD inline Stats combine(Stats a, Stats b) {
  return {a.amax_bits > b.amax_bits ? a.amax_bits : b.amax_bits, a.nonfinite || b.nonfinite, lower(a.lo, b.lo),
          higher(a.hi, b.hi)};
}


template <class Element, class Scale>
BITSIM_HD BlockScaleValue scale_of(const BlockParams<Element, Scale>& p, double value) {
  const double rounded = std::bit_cast<double>(
      round_pattern<Rounding::nearest_even, double>(std::bit_cast<std::uint64_t>(value), p.scale_plan));
  const std::uint64_t code = pack(p.scale, rounded);
  return {code, decode<double>(p.scale, code)};
}

// The scale format's rounding of the exact positive quotient, never 0.
template <class Element, class Scale>
BITSIM_HD BlockScaleValue rounded_scale(const BlockParams<Element, Scale>& p, double numerator, double denominator) {
  const BlockScaleValue s = scale_of(p, quotient_to_odd(numerator, denominator));
  return s.value > 0 ? s : scale_of(p, p.scale_min_subnormal);
}

template <class Element, class Scale>
BITSIM_HD BlockScaleValue choose_scale(const BlockParams<Element, Scale>& p, const Stats& st) {
  if (st.nonfinite) {
    BlockScaleValue s;
    s.code = p.scale_nan_code;
    s.is_nan = true;
    return s;
  }
  const float amax = std::bit_cast<float>(st.amax_bits);
  if (p.recipe == Recipe::two_level_fp32) {
    const float inverse_max = 1.0f / float(p.element_max);
    return scale_of(p, double(amax * (p.tensor_scale * inverse_max)));
  }
  if (p.zero_point) {
    const double lo = st.lo.value < 0.0f ? st.lo.value : (0.0f < st.lo.value ? 0.0f : st.lo.value);
    const double hi = st.hi.value > 0.0f ? st.hi.value : (st.hi.value < 0.0f ? 0.0f : st.hi.value);
    if (hi == lo) return scale_of(p, 0.0);
    BlockScaleValue s = rounded_scale(p, hi - lo, p.zero_point_max);
    const double z = std::bit_cast<double>(round_pattern<Rounding::nearest_even, double>(
        std::bit_cast<std::uint64_t>(quotient_to_odd(-lo, s.value)), p.integer_plan));
    s.offset = z < 0.0 ? 0.0 : (p.zero_point_max < z ? p.zero_point_max : z);
    s.offset_code = std::uint64_t(s.offset);
    return s;
  }
  if (amax == 0) return {0, decode<double>(p.scale, 0)};
  if (p.rule == ScaleRule::amax) return rounded_scale(p, amax, p.element_max);
  int e = power_of_two_exponent(p.rule, amax, p.element_max, p.element_emax);
  e = e < p.scale_min_exponent ? p.scale_min_exponent : (e > p.scale_max_exponent ? p.scale_max_exponent : e);
  return scale_of(p, ldexp(1.0, e));
}

template <Rounding Mode, class Element, class Scale>
BITSIM_HD double round_to(const BlockParams<Element, Scale>& p, const LatticePlan<double>& plan, double y,
                           std::size_t index) {
  const std::uint32_t word = Mode == Rounding::stochastic ? p.rng.word(index) : 0u;
  return std::bit_cast<double>(round_pattern<Mode, double>(std::bit_cast<std::uint64_t>(y), plan, word, p.random_bits));
}

// The element value q (in element units) of input x.
template <Rounding Mode, class Element, class Scale>
BITSIM_HD double element_value(const BlockParams<Element, Scale>& p, float x, const BlockScaleValue& s,
                                std::size_t index) {
  if (s.is_nan) return 0.0;
  if (p.recipe == Recipe::two_level_fp32) {
    const float factor = s.value == 0 ? 0.0f : p.tensor_scale / float(s.value);
    return round_to<Mode>(p, p.element_plan, double(x * factor), index);
  }
  if (s.value == 0) return round_to<Mode>(p, p.element_plan, copysign(0.0, double(x)), index);
  if (!p.zero_point) return round_to<Mode>(p, p.element_plan, quotient_to_odd(x, s.value), index);
  const double q = round_to<Mode>(p, p.integer_plan, quotient_to_odd(x, s.value), index) + s.offset;
  return q < 0.0 ? 0.0 : (p.zero_point_max < q ? p.zero_point_max : q);
}

template <class Element, class Scale>
BITSIM_HD float value_of(const BlockParams<Element, Scale>& p, double q, const BlockScaleValue& s) {
  if (s.is_nan) return std::bit_cast<float>(0x7fc00000u);
  if (p.recipe == Recipe::two_level_fp32) return float(q * s.value) / p.tensor_scale;
  return float((q - s.offset) * s.value);
}


// The statistics of one element at flat index i.
BITSIM_HD inline Stats element_stats(float x, std::size_t i) {
  const std::uint32_t magnitude = std::bit_cast<std::uint32_t>(x) & 0x7fffffffu;
  return Stats{magnitude, magnitude >= 0x7f800000u, {x, i}, {x, i}};
}

BITSIM_HD inline Stats empty_stats() {
  return Stats{0u, false, {FLT_MAX, ~std::size_t(0)}, {-FLT_MAX, ~std::size_t(0)}};
}

// Host: the parameters of a block format with element family E and scale family S
// (block_supported() formats only).
template <class Element, class Scale>
BlockParams<Element, Scale> make_block_params(const BlockFormat& f, const Element& element_family,
                                              const Scale& scale_family, const BlockGrid& g, RandomStream rng,
                                              float tensor_scale) {
  const Format& element = f.element();
  const Format& scale = f.scale();
  return {element_family,
          scale_family,
          make_plan<double>(element.lattice()),
          make_plan<double>(Format::parse("int32").lattice()),
          make_plan<double>(scale.lattice()),
          f.recipe(),
          f.rule(),
          f.has_zero_point(),
          f.has_zero_point() ? element.max_value() : 0.0,
          f.element_max(),
          f.element_emax(),
          f.scale_min_exponent(),
          f.scale_max_exponent(),
          scale.min_subnormal(),
          scale.encode(std::numeric_limits<double>::quiet_NaN()),
          tensor_scale,
          f.rounding().random_bits,
          rng,
          g.rows,
          g.cols,
          g.block_rows,
          g.block_cols,
          g.grid_cols};
}

// Host: the two-level recipe's tensor scale from the largest finite |x| of the tensor, as
// the CPU kernel computes it: s_enc = (elem_max * scale_max) / amax in float32, 1 for amax 0.
inline float tensor_encode_scale(const BlockFormat& f, float finite_amax) {
  if (finite_amax == 0) return 1.0f;
  const float top = float(f.element_max()) * float(f.scale().max_value());
  const float s = top / finite_amax;
  return s < std::numeric_limits<float>::max() ? s : std::numeric_limits<float>::max();
}

// Whether the GPU block kernels implement a format (see block_cuda.hpp).
inline bool block_core_supports(const BlockFormat& f) {
  if (!std::holds_alternative<MiniFloat>(f.scale().repr()) || !f.element().has_lattice()) return false;
  if (f.recipe() == Recipe::two_level_fp32) return true;
  return f.recipe() == Recipe::generic && f.rule() != ScaleRule::mse;
}

}  // namespace bitsim::formats::cuda
