// The block kernel: per block, statistics -> scale -> elements -> values (and codes).
// One template per rounding mode; the recipe and rule branch once per block.
#include "formats/block/block_quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include "formats/block/block_scale.hpp"
#include "formats/block/block_spans.hpp"
#include "formats/lattice_rounding.hpp"
#include "formats/philox_batch.hpp"
#include "formats/span_kernels.hpp"

namespace bitsim::formats {
namespace {

using block_detail::power_of_two_exponent;
using block_detail::quotient_to_odd;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// What one block needs to turn element values back into numbers.
struct BlockScale {
  std::uint64_t code = 0;
  double value = 0;        // the decoded scale
  double offset = 0;       // decoded zero point (integer) or Q4_1's minimum
  std::uint64_t offset_code = 0;
  bool is_nan = false;
  float inverse = 0;       // ggml: 1/d of the unrounded float32 d
  float minimum = 0;       // ggml Q4_1: the unrounded block minimum
};

// value = f(element value q, block scale, tensor scale): the one place decode and
// quantize share, so that quantize == decode(encode) by construction.
float dequantize(Recipe recipe, double q, const BlockScale& s, float tensor_scale) {
  if (s.is_nan) return float(kNaN);
  switch (recipe) {
    case Recipe::generic: return float((q - s.offset) * s.value);  // exact in double, one rounding
    case Recipe::two_level_fp32: return float(q * s.value) / tensor_scale;  // exact product, fp32 divide
    case Recipe::ggml_q8_0: return float(q) * float(s.value);
    case Recipe::ggml_q4_0: return float(q - 8) * float(s.value);
    case Recipe::ggml_q4_1: return float(q) * float(s.value) + float(s.offset);
  }
  return float(kNaN);
}

// What the span loops may know about a plan (lattice_rounding.hpp), decided once per plan.
enum class PlanShape : std::uint8_t { plain_float, plain_signed, any };

PlanShape shape_of(const LatticePlan<float>& p) {
  if (fits_shape(p, PlainFloat{})) return PlanShape::plain_float;
  if (fits_shape(p, PlainSigned{})) return PlanShape::plain_signed;
  return PlanShape::any;
}

template <class Fn>
void with_shape(PlanShape shape, Fn&& fn) {
  switch (shape) {
    case PlanShape::plain_float: return fn.template operator()<PlainFloat>();
    case PlanShape::plain_signed: return fn.template operator()<PlainSigned>();
    case PlanShape::any: return fn.template operator()<AnyPlan>();
  }
}

// A float32 plan and its shape.
struct FloatPlan {
  LatticePlan<float> plan;
  PlanShape shape = PlanShape::any;
  bool usable = false;
};

FloatPlan float_plan(const Lattice& l) {
  FloatPlan p{make_plan<float>(l)};
  p.shape = shape_of(p.plan);
  p.usable = true;
  return p;
}

struct BlockStats {
  float amax = 0;
  float lo = std::numeric_limits<float>::max();
  float hi = -std::numeric_limits<float>::max();
  float signed_max = 0;  // the first element of largest magnitude, sign kept (Q4_0)
  bool nonfinite = false;
};

class Kernel {
 public:
  Kernel(const BlockFormat& f, const BlockGrid& g, const float* in, RandomStream rng)
      : f_(f), g_(g), in_(in), rng_(rng),
        element_plan_(make_plan<double>(f.element().lattice())),
        integer_plan_(make_plan<double>(Format::parse("int32").lattice())),
        scale_nan_code_(f.scale().encode(kNaN)) {
    if (f.has_tensor_scale()) tensor_scale_ = tensor_encode_scale();
    if (f.has_zero_point()) zero_point_max_ = f.element().max_value();
    prepare_fast_paths();
  }

  float tensor_scale() const { return tensor_scale_; }

  // Writes the block's values to `out` and its codes to `codes`, `scales`, `offsets`
  // (each skipped when null).
  template <Rounding Mode>
  void run(std::size_t block, float* out, std::uint64_t* codes, std::uint64_t* scales,
           std::uint64_t* offsets) const {
    const std::size_t r0 = block / g_.grid_cols * g_.block_rows, c0 = block % g_.grid_cols * g_.block_cols;
    const std::size_t r1 = std::min(g_.rows, r0 + g_.block_rows), c1 = std::min(g_.cols, c0 + g_.block_cols);
    const auto for_each = [&](auto&& fn) {
      for (std::size_t r = r0; r < r1; ++r) {
        for (std::size_t c = c0; c < c1; ++c) fn(r * g_.cols + c);
      }
    };
    BlockStats st;
    for_each([&](std::size_t i) {
      const float x = in_[i];
      st.nonfinite |= !std::isfinite(x);
      if (std::fabs(x) > st.amax) {
        st.amax = std::fabs(x);
        st.signed_max = x;
      }
      st.lo = std::min(st.lo, x);
      st.hi = std::max(st.hi, x);
    });
    BlockScale s;
    if (st.nonfinite) {
      s.code = scale_nan_code_;
      s.is_nan = true;
    } else {
      s = choose_scale<Mode>(st, for_each);
    }
    if (scales) scales[block] = s.code;
    if (offsets) offsets[block] = s.offset_code;
    if (f_.recipe() == Recipe::generic && !f_.has_zero_point() && !s.is_nan && !codes) {
      symmetric_values<Mode>(s, for_each, out, {r0, r1}, {c0, c1});
      return;
    }
    const auto& element_format = f_.element().repr();
    for_each([&](std::size_t i) {
      const double q = s.is_nan ? 0.0 : element<Mode>(in_[i], s, i);
      if (out) out[i] = dequantize(f_.recipe(), q, s, tensor_scale_);
      if (codes) codes[i] = std::visit([q](const auto& e) { return formats::pack(e, q); }, element_format);
    });
  }

 private:
  // Fast paths of block_quantize (values only; every mode but stochastic): per block one
  // vectorised amax, a scale from precomputed tables, and the elements through the span
  // loops of block_spans.hpp, each bit-identical to the exact path below. Blocks they do
  // not cover (Inf/NaN, all zero, scales whose lattice leaves float32) take the exact path.
  enum class FastPath : std::uint8_t { none, power_of_two, divided, two_level };

  void prepare_fast_paths() {
    const Lattice& element = f_.element().lattice();
    scale_plan_ = make_plan<double>(f_.scale().lattice());
    if (f_.recipe() == Recipe::two_level_fp32 && f_.element().kind() == "float") {
      element_float_ = float_plan(element);
      fast_path_ = FastPath::two_level;
      stochastic_fast_ = element_float_.usable && FloatKernel<float>::fits(element_float_.plan);
      if (stochastic_fast_) stochastic_kernel_ = FloatKernel<float>::make(element_float_.plan, f_.rounding().random_bits);
    } else if (f_.recipe() != Recipe::generic || f_.has_zero_point() || f_.rule() == ScaleRule::mse) {
      fast_path_ = FastPath::none;
    } else if (f_.rule() == ScaleRule::amax) {
      // Quotients rounded to odd in float32 carry 24 bits: enough for elements of <= 22.
      if (f_.element().bits() <= 22) {
        element_float_ = float_plan(element);
        integer_elements_ = integer_plan(element_float_.plan);
        fast_path_ = FastPath::divided;
      }
    } else {
      // One plan per power of two the scale format holds: the element lattice times 2^e.
      for (int e = f_.scale_min_exponent(); e <= f_.scale_max_exponent(); ++e) {
        const BlockScale s = scale_of(std::ldexp(1.0, e));
        const bool exact = s.value == std::ldexp(1.0, e) && block_detail::scaled_lattice_fits(element, e);
        scaled_.push_back(exact ? float_plan(block_detail::scaled_lattice(element, e)) : FloatPlan{});
      }
      fast_path_ = FastPath::power_of_two;
    }
    prepare_row_loops();
  }

  // The row loops (block_spans.hpp: power_of_two_blocks, two_level_blocks, divided_blocks)
  // take runs of whole 1-D blocks of a multiple of 16 elements; their Shape is fixed per
  // span: the element plan's (two_level, divided), or the one most scaled plans have
  // (power_of_two; blocks whose plan has another shape go the per-block way).
  void prepare_row_loops() {
    if (g_.block_rows != 1 || g_.block_cols % block_detail::kLanes != 0) return;
    if (fast_path_ == FastPath::two_level) {
      scale_float_plan_ = make_plan<float>(f_.scale().lattice());
      element_nearest_even_ = block_detail::nearest_even_plan(element_float_.plan);
      scale_nearest_even_ = block_detail::nearest_even_plan(scale_float_plan_);
      half_step_ = block_detail::half_step_plan(element_float_.plan, element_nearest_even_, scale_nearest_even_,
                                                two_level_scale_factor(), tensor_scale_);
      row_shape_ = element_float_.shape;
      row_loops_ = true;
    } else if (fast_path_ == FastPath::divided) {
      // The scale side by side in float32 (DividedTable): scale lattices of <= 21 bits whose
      // values are float32s, an element max and a least scale that float32 holds exactly.
      const Lattice& scale = f_.scale().lattice();
      const float element_max = float(f_.element_max()), min_scale = float(f_.scale().min_subnormal());
      if (scale.precision > 21 || scale.min_quantum < -147 || scale.max_positive > 3.4028234663852886e38 ||
          double(element_max) != f_.element_max() || double(min_scale) != f_.scale().min_subnormal()) {
        return;
      }
      scale_float_plan_ = make_plan<float>(scale);
      const LatticePlan<float>& element = element_float_.plan;
      divided_table_ = {&element, block_detail::nearest_even_plan(element), integer_elements_,
                        -std::bit_cast<float>(element.max_negative), std::bit_cast<float>(element.max_positive),
                        &scale_float_plan_, block_detail::nearest_even_plan(scale_float_plan_), element_max,
                        min_scale};
      row_shape_ = element_float_.shape;
      row_loops_ = true;
    } else if (fast_path_ == FastPath::power_of_two) {
      int count[3] = {};
      for (const FloatPlan& p : scaled_) count[int(p.shape)] += p.usable;
      row_shape_ = PlanShape(std::max_element(count, count + 3) - count);
      for (const FloatPlan& p : scaled_) {
        const bool in_loop = p.usable && p.shape == row_shape_;
        row_plans_.push_back(in_loop ? &p.plan : nullptr);
        row_nearest_even_.push_back(in_loop ? block_detail::nearest_even_plan(p.plan) : block_detail::NearestEvenPlan{});
      }
      row_table_ = {row_plans_.data(), f_.scale_min_exponent(), f_.scale_max_exponent(), f_.rule(),
                    f_.element_max(), f_.element_emax(), row_nearest_even_.data()};
      row_loops_ = true;
    }
  }

  // Whole blocks b, b + 1, ... (count of them, along one row from x): the number done.
  template <Rounding Mode>
  std::size_t row_blocks(const float* x, float* out, std::size_t count) const {
    std::size_t done = 0;
    with_shape(row_shape_, [&]<class Shape>() {
      // The usual block lengths as constants (NVFP4's 16, MX's 32), any other at run time.
      if (fast_path_ == FastPath::two_level) {
        const float scale_factor = two_level_scale_factor();
        const auto two_level = [&]<std::size_t Length>() {
          return block_detail::two_level_blocks<Mode, Shape, Length>(x, out, count, g_.block_cols, element_float_.plan,
                                                                     scale_float_plan_, scale_factor, tensor_scale_,
                                                                     element_nearest_even_, scale_nearest_even_, half_step_);
        };
        done = g_.block_cols == 16 ? two_level.template operator()<16>() : two_level.template operator()<0>();
      } else if (fast_path_ == FastPath::divided) {
        const auto divided = [&]<std::size_t Length>() {
          return block_detail::divided_blocks<Mode, Shape, Length>(x, out, count, g_.block_cols, divided_table_);
        };
        done = g_.block_cols == 128 ? divided.template operator()<128>() : divided.template operator()<0>();
      } else {
        const auto power_of_two = [&]<std::size_t Length>() {
          return block_detail::power_of_two_blocks<Mode, Shape, Length>(x, out, count, g_.block_cols, row_table_);
        };
        done = g_.block_cols == 32 ? power_of_two.template operator()<32>() : power_of_two.template operator()<0>();
      }
    });
    return done;
  }

  // Stochastic rounding of NVFP4-like 1-D blocks (two_level with a FloatKernel element):
  // runs of whole or row-final blocks along a row share one draw of Philox words (a batch
  // of counters at a time, as Format::quantize draws them; element i's word is word i of
  // the stream, the exact path's too). Per block, prepare()'s factor and stored scale; then
  // y = x * factor in float32 (the value the exact path widens to double: the kernel's
  // decision on it is the same, tests/formats/test_block_stochastic_fast.cpp), rounded by
  // span_kernels.hpp's kernel, and (q * stored) / tensor_scale. Blocks with an Inf or NaN
  // take the exact path.
  void stochastic_two_level(std::size_t first, std::size_t last, float* out) const {
    const FloatKernel<float> kernel = stochastic_kernel_;
    const auto go = [&]<bool PlainSpecials, bool Full>() {
      constexpr std::size_t kGroups = 4 * kPhiloxBatch;
      constexpr std::size_t kRun = 4 * kGroups - 16;  // elements per draw (see format.cpp)
      alignas(64) std::uint32_t words[4 * kGroups];
      for (std::size_t b = first; b < last;) {
        // Blocks b .. end - 1: one row, at most kRun elements (at least one block).
        const std::size_t row = b / g_.grid_cols, row_end = std::min(last, (row + 1) * g_.grid_cols);
        std::size_t end = b + 1;
        while (end < row_end && area_of(end).cols.second - area_of(b).cols.first <= kRun) ++end;
        const std::size_t c0 = area_of(b).cols.first, n = area_of(end - 1).cols.second - c0;
        const std::uint64_t base = row * g_.cols + c0;
        philox_groups(rng_, base >> 2, std::size_t(((base & 3) + n + 3) >> 2), words);
        const std::uint32_t* run_words = words + (base & 3);
        for (; b < end; ++b) {
          const BlockArea area = area_of(b);
          const FastBlock fb = prepare(area);
          if (!fb.plan) {
            run<Rounding::stochastic>(b, out, nullptr, nullptr, nullptr);
            continue;
          }
          const std::size_t c = area.cols.first, len = area.cols.second - c;
          const float* x = in_ + row * g_.cols + c;
          float* y = out + row * g_.cols + c;
          const std::uint32_t* w = run_words + (c - c0);
          const float factor = fb.a, stored = fb.b, tensor_scale = tensor_scale_;
          for (std::size_t i = 0; i < len; ++i) {
            const std::uint32_t q_bits =
                kernel.template stochastic<PlainSpecials, Full>(std::bit_cast<std::uint32_t>(x[i] * factor), w[i]);
            y[i] = (std::bit_cast<float>(q_bits) * stored) / tensor_scale;
          }
        }
      }
    };
    // With >= 23 random bits the cut's top bits of the word are all the adder uses.
    const bool full = kernel.random_bits >= 23;
    if (kernel.plain_specials()) {
      full ? go.template operator()<true, true>() : go.template operator()<true, false>();
    } else {
      full ? go.template operator()<false, true>() : go.template operator()<false, false>();
    }
  }

  // The scale format's rounding (rne, saturating) of a positive value, as scale_of gives it.
  double rounded_scale_value(double v) const {
    return std::bit_cast<double>(
        round_pattern<Rounding::nearest_even, double>(std::bit_cast<std::uint64_t>(v), scale_plan_));
  }

  // A block's fast-path parameters: the plan its elements round with and two numbers
  // (scaled: none; divided: s; two_level: factor, stored); plan == null: the exact path.
  struct FastBlock {
    const FloatPlan* plan = nullptr;
    float a = 0, b = 0;
  };
  struct BlockArea {
    std::pair<std::size_t, std::size_t> rows, cols;
  };

  BlockArea area_of(std::size_t block) const {
    const std::size_t r0 = block / g_.grid_cols * g_.block_rows, c0 = block % g_.grid_cols * g_.block_cols;
    return {{r0, std::min(g_.rows, r0 + g_.block_rows)}, {c0, std::min(g_.cols, c0 + g_.block_cols)}};
  }

  FastBlock prepare(const BlockArea& area) const {
    std::uint32_t amax_bits = 0;
    for (std::size_t r = area.rows.first; r < area.rows.second; ++r) {
      amax_bits = std::max(amax_bits, block_detail::amax_pattern(in_ + r * g_.cols + area.cols.first,
                                                                 area.cols.second - area.cols.first));
    }
    if (amax_bits >= 0x7f800000u) return {};  // Inf or NaN: a NaN block
    const float amax = std::bit_cast<float>(amax_bits);
    if (fast_path_ == FastPath::two_level) {
      const float stored = float(rounded_scale_value(double(amax * two_level_scale_factor())));
      return {&element_float_, stored == 0 ? 0.0f : tensor_scale_ / stored, stored};
    }
    if (amax == 0) return {};  // all zero: the scale's zero code
    if (fast_path_ == FastPath::divided) {
      double s = rounded_scale_value(quotient_to_odd(amax, f_.element_max()));
      if (!(s > 0)) s = f_.scale().min_subnormal();
      if (double(float(s)) != s) return {};
      return {&element_float_, float(s)};
    }
    const int e = std::clamp(power_of_two_exponent(f_.rule(), amax, f_.element_max(), f_.element_emax()),
                             f_.scale_min_exponent(), f_.scale_max_exponent());
    const FloatPlan& scaled = scaled_[std::size_t(e - f_.scale_min_exponent())];
    return scaled.usable ? FastBlock{&scaled} : FastBlock{};
  }

  template <Rounding Mode>
  void apply(const FastBlock& fb, const BlockArea& area, float* out) const {
    const std::size_t n = area.cols.second - area.cols.first;
    with_shape(fb.plan->shape, [&]<class Shape>() {
      for (std::size_t r = area.rows.first; r < area.rows.second; ++r) {
        const float* x = in_ + r * g_.cols + area.cols.first;
        float* y = out + r * g_.cols + area.cols.first;
        switch (fast_path_) {
          case FastPath::power_of_two: block_detail::scaled_span<Mode, Shape>(x, y, n, fb.plan->plan); break;
          case FastPath::divided:
            if constexpr (Mode == Rounding::nearest_even) {  // (sr would need the exact quotient)
              if (integer_elements_) {
                block_detail::divided_integer_span<Mode>(x, y, n, fb.plan->plan, fb.a);
                break;
              }
            }
            block_detail::divided_span<Mode, Shape>(x, y, n, fb.plan->plan, fb.a);
            break;
          case FastPath::two_level:
            block_detail::two_level_span<Mode, Shape>(x, y, n, fb.plan->plan, fb.a, fb.b, tensor_scale_);
            break;
          case FastPath::none: break;
        }
      }
    });
  }

 public:
  // Blocks [first, last): quantize-only runs in every mode but stochastic take the fast
  // path where it covers the block.
  template <Rounding Mode>
  void run_range(std::size_t first, std::size_t last, float* out, std::uint64_t* codes, std::uint64_t* scales,
                 std::uint64_t* offsets) const {
    if constexpr (Mode == Rounding::stochastic) {
      if (stochastic_fast_ && g_.block_rows == 1 && !codes && !scales && !offsets) {
        stochastic_two_level(first, last, out);
        return;
      }
    }
    const bool fast = Mode != Rounding::stochastic && fast_path_ != FastPath::none && !codes && !scales && !offsets;
    const std::size_t whole_per_row = g_.cols / g_.block_cols;
    for (std::size_t b = first; b < last; ++b) {
      if (fast && row_loops_ && b % g_.grid_cols < whole_per_row) {
        // The row's whole blocks from b on in one loop; where it stops early, at a block it
        // does not cover, that block goes the per-block way below.
        const std::size_t row = b / g_.grid_cols, column = b % g_.grid_cols;
        const std::size_t count = std::min(last - b, whole_per_row - column);
        const std::size_t offset = row * g_.cols + column * g_.block_cols;
        const std::size_t done = row_blocks<Mode>(in_ + offset, out + offset, count);
        if (done == count) {
          b += count - 1;  // the loop's ++b moves on to the next block
          continue;
        }
        b += done;
      }
      const BlockArea area = area_of(b);
      const FastBlock fb = fast ? prepare(area) : FastBlock{};
      if (fb.plan) apply<Mode>(fb, area, out);
      else run<Mode>(b, out, codes, scales, offsets);
    }
  }

 private:
  // The hot loop of quantize for symmetric generic blocks: a power-of-two scale divides
  // exactly as a multiplication by its inverse; the rounding core is inlined (flatten).
  // (It does not vectorise: the rounding core has control flow GCC 12 cannot if-convert.)
  template <Rounding Mode, class ForEach>
  [[gnu::flatten]] void symmetric_values(const BlockScale& s, const ForEach& for_each, float* out,
                                        std::pair<std::size_t, std::size_t> rows,
                                        std::pair<std::size_t, std::size_t> cols) const {
    const double scale = s.value;
    const bool power_of_two = scale != 0 && (std::bit_cast<std::uint64_t>(scale) & ((std::uint64_t(1) << 52) - 1)) == 0;
    if (power_of_two && Mode != Rounding::stochastic) {
      // Row by row over plain pointers; x * (1 / 2^e) is exact in double.
      const double inverse = 1.0 / scale;
      for (std::size_t r = rows.first; r < rows.second; ++r) {
        const float* src = in_ + r * g_.cols + cols.first;
        float* dst = out + r * g_.cols + cols.first;
        const std::size_t n = cols.second - cols.first;
        for (std::size_t j = 0; j < n; ++j) {
          const double y = double(src[j]) * inverse;
          dst[j] = float(std::bit_cast<double>(round_pattern<Mode, double>(std::bit_cast<std::uint64_t>(y), element_plan_)) * scale);
        }
      }
    } else {
      for_each([&](std::size_t i) { out[i] = float(element<Mode>(in_[i], s, i) * scale); });
    }
  }

  template <Rounding Mode>
  double round_to(const LatticePlan<double>& plan, double y, std::size_t index) const {
    const std::uint32_t word = Mode == Rounding::stochastic ? rng_.word(index) : 0;
    return std::bit_cast<double>(round_pattern<Mode, double>(std::bit_cast<std::uint64_t>(y), plan, word,
                                                             f_.rounding().random_bits));
  }

  // The element value q (in element units) of input x in a block with scale s.
  template <Rounding Mode>
  double element(float x, const BlockScale& s, std::size_t index) const {
    switch (f_.recipe()) {
      case Recipe::generic: {
        if (s.value == 0) return round_to<Mode>(element_plan_, std::copysign(0.0, x), index);
        if (!f_.has_zero_point()) return round_to<Mode>(element_plan_, quotient_to_odd(x, s.value), index);
        const double q = round_to<Mode>(integer_plan_, quotient_to_odd(x, s.value), index) + s.offset;
        return std::clamp(q, 0.0, zero_point_max_);
      }
      case Recipe::two_level_fp32: {
        // y = x * (s_enc / stored_b), each step in float32 (Transformer Engine order).
        const float factor = s.value == 0 ? 0.0f : tensor_scale_ / float(s.value);
        return round_to<Mode>(element_plan_, double(x * factor), index);
      }
      // roundf ties away; + 0.0 turns -0 into the integer 0 that int8 storage holds.
      case Recipe::ggml_q8_0: return double(std::round(x * s.inverse)) + 0.0;
      case Recipe::ggml_q4_0: return std::min(15.0f, std::trunc(x * s.inverse + 8.5f));
      case Recipe::ggml_q4_1: return std::min(15.0f, std::trunc((x - s.minimum) * s.inverse + 0.5f));
    }
    return 0;
  }

  BlockScale scale_of(double value) const {
    const std::uint64_t code = f_.scale().encode(value);
    return {code, f_.scale().decode(code)};
  }

  // The scale format's rounding (rne, saturating) of the exact positive quotient, never 0.
  BlockScale rounded_scale(double numerator, double denominator) const {
    const BlockScale s = scale_of(quotient_to_odd(numerator, denominator));
    return s.value > 0 ? s : scale_of(f_.scale().min_subnormal());
  }

  BlockScale power_of_two_scale(int exponent) const {
    exponent = std::clamp(exponent, f_.scale_min_exponent(), f_.scale_max_exponent());
    return scale_of(std::ldexp(1.0, exponent));
  }

  template <Rounding Mode, class ForEach>
  BlockScale choose_scale(const BlockStats& st, const ForEach& for_each) const {
    switch (f_.recipe()) {
      case Recipe::generic: return generic_scale<Mode>(st, for_each);
      case Recipe::two_level_fp32: {
        // stored_b = scale_rne_sat(amax_b * (s_enc * (1 / elem_max))), in float32.
        return scale_of(double(st.amax * two_level_scale_factor()));
      }
      case Recipe::ggml_q8_0: return ggml_scale(st.amax / 127.0f);
      case Recipe::ggml_q4_0: return ggml_scale(st.signed_max / -8.0f);
      case Recipe::ggml_q4_1: {
        BlockScale s = ggml_scale((st.hi - st.lo) / 15.0f);
        s.minimum = st.lo;
        s.offset_code = f_.scale().encode(st.lo);
        s.offset = f_.scale().decode(s.offset_code);
        return s;
      }
    }
    return {};
  }

  BlockScale ggml_scale(float d) const {
    BlockScale s = scale_of(d);
    // ggml takes id = 0 for d = 0. Where 1/d overflows (|d| < 2^-128: subnormal blocks)
    // ggml goes on with inf, which is undefined once cast to an integer; the fp16 scale is 0
    // there anyway, so id = 0 as well: the elements become the zero code.
    const float inverse = d != 0 ? 1.0f / d : 0.0f;
    s.inverse = std::isfinite(inverse) ? inverse : 0.0f;
    return s;
  }

  template <Rounding Mode, class ForEach>
  BlockScale generic_scale(const BlockStats& st, const ForEach& for_each) const {
    if (f_.has_zero_point()) {
      // The range always holds 0 (as GPTQ/AWQ do), so 0 is exactly representable.
      const double lo = std::min(st.lo, 0.0f), hi = std::max(st.hi, 0.0f);
      if (hi == lo) return scale_of(0.0);
      BlockScale s = rounded_scale(hi - lo, zero_point_max_);
      const double z = std::bit_cast<double>(round_pattern<Rounding::nearest_even, double>(
          std::bit_cast<std::uint64_t>(quotient_to_odd(-lo, s.value)), integer_plan_));
      s.offset = std::clamp(z, 0.0, zero_point_max_);
      s.offset_code = std::uint64_t(s.offset);
      return s;
    }
    if (st.amax == 0) return {0, f_.scale().decode(0)};
    const double elem_max = f_.element_max();
    if (f_.rule() == ScaleRule::amax) return rounded_scale(st.amax, elem_max);
    if (f_.rule() != ScaleRule::mse) {
      return power_of_two_scale(power_of_two_exponent(f_.rule(), st.amax, elem_max, f_.element_emax()));
    }
    // mse: the candidate with the least sum of squared errors (double sums, block order);
    // ties keep the smaller exponent.
    const int floor_rule = power_of_two_exponent(ScaleRule::floor, st.amax, elem_max, f_.element_emax());
    BlockScale best;
    double best_error = std::numeric_limits<double>::infinity();
    for (int e = floor_rule - 1; e <= floor_rule + 2; ++e) {
      const BlockScale s = power_of_two_scale(e);
      double error = 0;
      for_each([&](std::size_t i) {
        const double d = double(in_[i]) - element<Mode>(in_[i], s, i) * s.value;
        error += d * d;
      });
      if (error < best_error) {
        best = s;
        best_error = error;
      }
    }
    return best;
  }

  // The two-level recipe's block scale before rounding is amax times this (float32 steps,
  // Transformer Engine's order: s_enc * (1 / element max)).
  float two_level_scale_factor() const { return tensor_scale_ * (1.0f / float(f_.element_max())); }

  // s_enc = (elem_max * scale_max) / amax(tensor) in float32 over the finite inputs;
  // 1 when that amax is 0, and at most the largest float.
  float tensor_encode_scale() const {
    const std::size_t n = g_.rows * g_.cols;
    const float amax = tbb::parallel_reduce(
        tbb::blocked_range<std::size_t>(0, n, std::size_t(1) << 16), 0.0f,
        [this](const tbb::blocked_range<std::size_t>& r, float m) {
          return std::max(m, std::bit_cast<float>(block_detail::finite_amax_pattern(in_ + r.begin(), r.size())));
        },
        [](float a, float b) { return std::max(a, b); });
    if (amax == 0) return 1.0f;
    const float top = float(f_.element_max()) * float(f_.scale().max_value());
    return std::min(top / amax, std::numeric_limits<float>::max());
  }

  const BlockFormat& f_;
  const BlockGrid& g_;
  const float* in_;
  RandomStream rng_;
  LatticePlan<double> element_plan_;
  LatticePlan<double> integer_plan_;  // wide integers: x / s before the zero point is added
  std::uint64_t scale_nan_code_;
  float tensor_scale_ = 1.0f;
  double zero_point_max_ = 0;
  FastPath fast_path_ = FastPath::none;
  LatticePlan<double> scale_plan_;
  FloatPlan element_float_;          // two_level, divided
  bool integer_elements_ = false;    // divided: integer_plan (integer_rounding.hpp)
  bool stochastic_fast_ = false;     // two_level: stochastic_two_level
  FloatKernel<float> stochastic_kernel_;
  std::vector<FloatPlan> scaled_;    // power_of_two: index e - scale_min_exponent
  // The row loops (prepare_row_loops).
  bool row_loops_ = false;
  PlanShape row_shape_ = PlanShape::any;
  LatticePlan<float> scale_float_plan_;                // two_level, divided
  block_detail::DividedTable divided_table_;           // divided
  std::vector<const LatticePlan<float>*> row_plans_;   // power_of_two: scaled_ of row_shape_
  std::vector<block_detail::NearestEvenPlan> row_nearest_even_;  // power_of_two: rne's shortcut per exponent
  block_detail::NearestEvenPlan element_nearest_even_;           // two_level: rne's shortcut
  block_detail::NearestEvenPlan scale_nearest_even_;             // two_level: the same for block scales
  block_detail::HalfStepPlan half_step_;                          // two_level: two_level_group16's constants
  block_detail::PowerOfTwoTable row_table_;
};


void check_sizes(std::size_t n, std::size_t rows, std::size_t cols, const char* what) {
  if (n != rows * cols) {
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(n) + " elements for a [" +
                                std::to_string(rows) + ", " + std::to_string(cols) + "] array");
  }
}

// Runs the kernel over every block in parallel; blocks per task ~ 2^14 elements.
void run_blocks(const BlockFormat& f, const BlockGrid& g, const Kernel& k, float* out,
                std::uint64_t* codes, std::uint64_t* scales, std::uint64_t* offsets) {
  const std::size_t per_block = std::max<std::size_t>(1, g.block_rows * g.block_cols);
  const std::size_t grain = std::max<std::size_t>(1, (std::size_t(1) << 14) / per_block);
  with_rounding_mode(f.rounding().mode, [&]<Rounding Mode>() {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, g.block_count(), grain),
                      [&](const tbb::blocked_range<std::size_t>& r) {
                        k.run_range<Mode>(r.begin(), r.end(), out, codes, scales, offsets);
                      });
  });
}

}  // namespace

BlockGrid block_grid(const BlockFormat& format, std::size_t rows, std::size_t cols) {
  BlockGrid g{rows, cols};
  const auto s = format.shape();
  g.block_rows = s.rows == 0 ? std::max<std::size_t>(rows, 1) : std::size_t(s.rows);
  g.block_cols = s.cols == 0 ? std::max<std::size_t>(cols, 1) : std::size_t(s.cols);
  g.grid_rows = (rows + g.block_rows - 1) / g.block_rows;
  g.grid_cols = (cols + g.block_cols - 1) / g.block_cols;
  return g;
}

void block_quantize(const BlockFormat& format, std::span<const float> in, std::size_t rows,
                    std::size_t cols, std::span<float> out, RandomStream rng) {
  check_sizes(in.size(), rows, cols, "block_quantize input");
  check_sizes(out.size(), rows, cols, "block_quantize output");
  const BlockGrid g = block_grid(format, rows, cols);
  const Kernel k(format, g, in.data(), rng);
  run_blocks(format, g, k, out.data(), nullptr, nullptr, nullptr);
}

BlockEncoding block_encode(const BlockFormat& format, std::span<const float> in, std::size_t rows,
                           std::size_t cols, RandomStream rng) {
  check_sizes(in.size(), rows, cols, "block_encode input");
  const BlockGrid g = block_grid(format, rows, cols);
  const Kernel k(format, g, in.data(), rng);
  BlockEncoding e;
  e.rows = rows;
  e.cols = cols;
  e.elements.resize(in.size());
  e.scales.resize(g.block_count());
  const bool offsets = format.has_zero_point() || format.recipe() == Recipe::ggml_q4_1;
  if (offsets) e.zero_points.resize(g.block_count());
  e.tensor_scale = k.tensor_scale();
  run_blocks(format, g, k, nullptr, e.elements.data(), e.scales.data(),
             offsets ? e.zero_points.data() : nullptr);
  return e;
}

void block_decode(const BlockFormat& format, const BlockEncoding& e, std::span<float> out) {
  check_sizes(out.size(), e.rows, e.cols, "block_decode output");
  check_sizes(e.elements.size(), e.rows, e.cols, "block_decode element codes");
  const BlockGrid g = block_grid(format, e.rows, e.cols);
  const bool offsets = format.has_zero_point() || format.recipe() == Recipe::ggml_q4_1;
  if (e.scales.size() != g.block_count() || (offsets && e.zero_points.size() != g.block_count())) {
    throw std::invalid_argument("block_decode: expected " + std::to_string(g.block_count()) +
                                " scales (and zero points) for this shape, got " + std::to_string(e.scales.size()));
  }
  const Format& scale = format.scale();
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, g.block_count()), [&](const tbb::blocked_range<std::size_t>& r) {
    for (std::size_t b = r.begin(); b < r.end(); ++b) {
      BlockScale s;
      s.is_nan = scale.is_nan_code(e.scales[b]);
      s.value = scale.decode(e.scales[b]);
      if (format.has_zero_point()) s.offset = double(e.zero_points[b]);
      if (format.recipe() == Recipe::ggml_q4_1) s.offset = scale.decode(e.zero_points[b]);
      const std::size_t r0 = b / g.grid_cols * g.block_rows, c0 = b % g.grid_cols * g.block_cols;
      for (std::size_t row = r0; row < std::min(g.rows, r0 + g.block_rows); ++row) {
        for (std::size_t c = c0; c < std::min(g.cols, c0 + g.block_cols); ++c) {
          const std::size_t i = row * g.cols + c;
          out[i] = dequantize(format.recipe(), format.element().decode(e.elements[i]), s, e.tensor_scale);
        }
      }
    }
  });
}

PackedBlocks pack_blocks(const BlockFormat& format, const BlockEncoding& e) {
  const int offset_bits = format.recipe() == Recipe::ggml_q4_1 ? format.scale().bits() : format.element().bits();
  return {e.rows, e.cols, pack_codes(e.elements, format.element().bits()), pack_codes(e.scales, format.scale().bits()),
          pack_codes(e.zero_points, offset_bits), e.tensor_scale};
}

BlockEncoding unpack_blocks(const BlockFormat& format, const PackedBlocks& p) {
  const BlockGrid g = block_grid(format, p.rows, p.cols);
  BlockEncoding e;
  e.rows = p.rows;
  e.cols = p.cols;
  e.tensor_scale = p.tensor_scale;
  e.elements.resize(p.rows * p.cols);
  e.scales.resize(g.block_count());
  unpack_codes(p.elements, format.element().bits(), e.elements);
  unpack_codes(p.scales, format.scale().bits(), e.scales);
  if (format.has_zero_point() || format.recipe() == Recipe::ggml_q4_1) {
    e.zero_points.resize(g.block_count());
    const int offset_bits = format.recipe() == Recipe::ggml_q4_1 ? format.scale().bits() : format.element().bits();
    unpack_codes(p.zero_points, offset_bits, e.zero_points);
  }
  return e;
}

}  // namespace bitsim::formats
