#include "tests/reference/reference_format.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace bitsim::reference {
namespace {

using formats::FixedPoint;
using formats::MiniFloat;
using formats::Specials;

std::uint64_t low_ones(int n) { return n >= 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << n) - 1; }

double value_of(const Exact& magnitude) {
  if (magnitude != 0 && floor_log2(magnitude) > 1023) return std::numeric_limits<double>::infinity();
  return to_double_exact(magnitude);
}

constexpr std::size_t kMaxEnumeratedBits = 16;

}  // namespace

ReferenceFormat ReferenceFormat::from(const std::variant<MiniFloat, FixedPoint>& repr) {
  return std::visit([](const auto& f) { return ReferenceFormat(f); }, repr);
}

ReferenceFormat ReferenceFormat::from(const formats::FormatRepr& repr) {
  if (const auto* m = std::get_if<MiniFloat>(&repr)) return ReferenceFormat(*m);
  if (const auto* f = std::get_if<FixedPoint>(&repr)) return ReferenceFormat(*f);
  throw std::invalid_argument("the lattice reference covers float and fixed-point formats only");
}

// --- minifloats -------------------------------------------------------------------------

ReferenceFormat::ReferenceFormat(const MiniFloat& f) : desc_(f) {
  const int E = f.exponent_bits, M = f.mantissa_bits;
  bits_ = (f.is_signed ? 1 : 0) + E + M;
  has_negatives_ = f.is_signed;
  // The specials policies as DESIGN.md and the OCP/ml_dtypes conventions describe them.
  has_infinity_ = f.specials == Specials::ieee;
  has_nan_ = (f.specials == Specials::ieee && M > 0) || f.specials == Specials::fn ||
             f.specials == Specials::fnuz;
  has_zero_ = f.subnormals;
  has_negative_zero_ = f.is_signed && f.subnormals && f.specials != Specials::fnuz;
  overflow_ = f.overflow;
  nan_rule_ = f.nan_rule;
  flush_inputs_ = f.flush_input_subnormals;
  flush_outputs_ = f.flush_output_subnormals;
  min_normal_ = f.subnormals ? power_of_two(1 - f.bias) : Exact(0);

  // Largest finite magnitude code: below the all-ones exponent (ieee), below the all-ones
  // magnitude (fn), or the all-ones magnitude itself (fnuz, none).
  const std::uint64_t all_ones = low_ones(E + M);
  const std::uint64_t max_code = f.specials == Specials::ieee ? all_ones - (std::uint64_t(1) << M)
                                 : f.specials == Specials::fn ? all_ones - 1
                                                              : all_ones;
  max_positive_magnitude_ = float_magnitude(max_code);
  max_negative_magnitude_ = f.is_signed ? max_positive_magnitude_ : Exact(0);
  finish_setup();
}

Exact ReferenceFormat::float_magnitude(std::uint64_t magnitude_code) const {
  const auto& f = std::get<MiniFloat>(desc_);
  const int M = f.mantissa_bits;
  const std::uint64_t field = magnitude_code >> M;
  const std::uint64_t mantissa = magnitude_code & low_ones(M);
  if (field == 0 && f.subnormals) {
    // Subnormal: 0.mantissa * 2^(1 - bias)
    return Exact(mantissa) * power_of_two(1 - f.bias - M);
  }
  // Normal: 1.mantissa * 2^(field - bias)
  return Exact((std::uint64_t(1) << M) + mantissa) * power_of_two(int(field) - f.bias - M);
}

std::uint64_t ReferenceFormat::magnitude_code_by_formula(const Exact& magnitude) const {
  const auto& f = std::get<MiniFloat>(desc_);
  const int M = f.mantissa_bits;
  if (magnitude == 0) return 0;
  const int e = floor_log2(magnitude);
  const int emin = f.subnormals ? 1 - f.bias : -f.bias;
  if (e < emin) {
    if (!f.subnormals) throw std::logic_error("reference: no lattice point below the smallest value");
    const Exact count = magnitude / power_of_two(emin - M);  // subnormal: count of the finest step
    return count.convert_to<std::uint64_t>();
  }
  const Exact significand = magnitude / power_of_two(e - M);  // in [2^M, 2^(M+1))
  const std::uint64_t field = std::uint64_t(e + f.bias);
  return (field << M) | (significand.convert_to<std::uint64_t>() - (std::uint64_t(1) << M));
}

// --- integers / fixed point ---------------------------------------------------------------

ReferenceFormat::ReferenceFormat(const FixedPoint& f) : desc_(f) {
  bits_ = f.bits;
  has_negatives_ = f.is_signed;
  nan_rule_ = f.nan_rule;
  overflow_ = formats::Overflow::saturate;
  const Exact quantum = power_of_two(-f.fraction_bits);
  // Two's complement: [-2^(bits-1), 2^(bits-1) - 1]; narrow drops the lowest; unsigned [0, 2^bits - 1].
  const Exact half = Exact(1) << (f.bits - 1);
  max_positive_magnitude_ = (f.is_signed ? Exact(half - 1) : Exact((Exact(1) << f.bits) - 1)) * quantum;
  max_negative_magnitude_ = f.is_signed ? Exact((f.narrow ? Exact(half - 1) : half) * quantum) : Exact(0);
  finish_setup();
}

// --- shared -------------------------------------------------------------------------------

int ReferenceFormat::quantum_exponent(const Exact& magnitude) const {
  if (const auto* f = std::get_if<FixedPoint>(&desc_)) return -f->fraction_bits;
  const auto& f = std::get<MiniFloat>(desc_);
  const int emin = f.subnormals ? 1 - f.bias : -f.bias;
  return std::max(floor_log2(magnitude), emin) - f.mantissa_bits;
}

std::uint64_t ReferenceFormat::nan_code(bool negative) const {
  if (!has_nan_) throw std::logic_error("reference: the format has no NaN");
  const auto& f = std::get<MiniFloat>(desc_);
  const int E = f.exponent_bits, M = f.mantissa_bits;
  const std::uint64_t sign_bit = f.is_signed ? std::uint64_t(1) << (E + M) : 0;
  switch (f.specials) {
    case Specials::fnuz: return sign_bit;  // the sign-only code, whatever the value's sign
    case Specials::fn: return (negative ? sign_bit : 0) | low_ones(E + M);
    default:  // ieee: all-ones exponent with the quiet (top mantissa) bit
      return (negative ? sign_bit : 0) | (low_ones(E) << M) | (std::uint64_t(1) << (M - 1));
  }
}

std::uint64_t ReferenceFormat::infinity_code(bool negative) const {
  if (!has_infinity_) throw std::logic_error("reference: the format has no infinity");
  const auto& f = std::get<MiniFloat>(desc_);
  const std::uint64_t sign_bit = std::uint64_t(1) << (f.exponent_bits + f.mantissa_bits);
  return (negative ? sign_bit : 0) | (low_ones(f.exponent_bits) << f.mantissa_bits);
}

std::uint64_t ReferenceFormat::zero_code(bool negative) const {
  if (!negative || !has_negative_zero_) return 0;
  const auto& f = std::get<MiniFloat>(desc_);
  return std::uint64_t(1) << (f.exponent_bits + f.mantissa_bits);
}

CodeMeaning ReferenceFormat::meaning(std::uint64_t code) const {
  CodeMeaning m;
  if (const auto* f = std::get_if<FixedPoint>(&desc_)) {
    code &= low_ones(f->bits);
    const bool negative = f->is_signed && ((code >> (f->bits - 1)) & 1);
    // Two's complement: a negative code c holds c - 2^bits, of magnitude 2^bits - c.
    const Exact count = negative ? Exact((Exact(1) << f->bits) - code) : Exact(code);
    m.negative = negative;
    m.magnitude = count * power_of_two(-f->fraction_bits);
    if (negative && m.magnitude > max_negative_magnitude_) m.kind = CodeKind::unused;
    return m;
  }
  const auto& f = std::get<MiniFloat>(desc_);
  const int E = f.exponent_bits, M = f.mantissa_bits;
  code &= low_ones(bits_);
  m.negative = f.is_signed && ((code >> (E + M)) & 1);
  const std::uint64_t magnitude_code = code & low_ones(E + M);
  const std::uint64_t field = magnitude_code >> M;
  const std::uint64_t mantissa = magnitude_code & low_ones(M);
  if (f.specials == Specials::fnuz && m.negative && magnitude_code == 0) {
    m.kind = CodeKind::nan;
  } else if (f.specials == Specials::fn && magnitude_code == low_ones(E + M)) {
    m.kind = CodeKind::nan;
  } else if (f.specials == Specials::ieee && field == low_ones(E)) {
    m.kind = mantissa == 0 ? CodeKind::infinity : CodeKind::nan;
  } else {
    m.magnitude = float_magnitude(magnitude_code);
  }
  return m;
}

LatticePoint ReferenceFormat::point(bool negative, const Exact& magnitude) const {
  LatticePoint p;
  p.magnitude = magnitude;
  p.value = value_of(magnitude);
  p.in_range = magnitude <= (negative ? max_negative_magnitude_ : max_positive_magnitude_) &&
               (magnitude != 0 || has_zero_);
  if (magnitude == 0) {
    p.code = has_zero_ ? zero_code(negative) : 0;
    return p;
  }
  if (const auto* f = std::get_if<FixedPoint>(&desc_)) {
    const Exact count = magnitude / power_of_two(-f->fraction_bits);
    if (count * power_of_two(-f->fraction_bits) != magnitude) throw std::logic_error("reference: off the lattice");
    // The integer's two's complement code (the count may pass the range: only parity matters there).
    const std::uint64_t low = (count & Exact(low_ones(64))).convert_to<std::uint64_t>();
    p.code = (negative ? std::uint64_t(0) - low : low) & low_ones(f->bits);
    return p;
  }
  const auto& f = std::get<MiniFloat>(desc_);
  const std::uint64_t sign_bit = std::uint64_t(1) << (f.exponent_bits + f.mantissa_bits);
  p.code = magnitude_code_by_formula(magnitude) | (negative && f.is_signed ? sign_bit : 0);
  return p;
}

Bracket ReferenceFormat::bracket_by_formula(bool negative, const Exact& magnitude) const {
  Bracket b;
  if (magnitude == 0) {
    b.toward_zero = b.away = point(negative, Exact(0));
    b.exact = true;
    return b;
  }
  const auto* mini = std::get_if<MiniFloat>(&desc_);
  if (mini && !mini->subnormals && magnitude < power_of_two(-mini->bias)) {
    // No subnormals and no zero: between 0 and the smallest value there is no lattice point.
    b.toward_zero = point(negative, Exact(0));
    b.away = point(negative, power_of_two(-mini->bias));
    return b;
  }
  const Exact quantum = power_of_two(quantum_exponent(magnitude));
  const Exact count = magnitude / quantum;  // floor: both positive
  const Exact below = count * quantum;
  b.toward_zero = point(negative, below);
  b.exact = below == magnitude;
  b.away = b.exact ? b.toward_zero : point(negative, Exact(below + quantum));
  return b;
}

Bracket ReferenceFormat::bracket_by_table(bool negative, const Exact& magnitude) const {
  const auto& side = lattice(negative);
  if (side.empty()) throw std::logic_error("reference: no enumerated value set for this side");
  const auto above = std::upper_bound(side.begin(), side.end(), magnitude,
                                      [](const Exact& m, const LatticePoint& p) { return m < p.magnitude; });
  if (above == side.end()) return bracket_by_formula(negative, magnitude);  // past the first point beyond max
  Bracket b;
  b.toward_zero = *(above - 1);
  b.exact = b.toward_zero.magnitude == magnitude;
  b.away = b.exact ? b.toward_zero : *above;
  return b;
}

Bracket ReferenceFormat::bracket(bool negative, const Exact& magnitude) const {
  return enumerated() ? bracket_by_table(negative, magnitude) : bracket_by_formula(negative, magnitude);
}

void ReferenceFormat::finish_setup() {
  max_positive_ = point(false, max_positive_magnitude_);
  max_negative_ = point(true, max_negative_magnitude_);
  // Smallest nonzero magnitude: the first point up from zero.
  min_positive_ = bracket_by_formula(false, Exact(1)).away;
  min_negative_ = bracket_by_formula(true, Exact(1)).away;
  if (std::size_t(bits_) > kMaxEnumeratedBits) return;

  // Enumerate every code; each finite one is a lattice point of its sign's side.
  std::vector<LatticePoint> positive, negative;
  for (std::uint64_t code = 0; code < (std::uint64_t(1) << bits_); ++code) {
    const CodeMeaning m = meaning(code);
    if (m.kind != CodeKind::finite) continue;
    const LatticePoint p{m.magnitude, value_of(m.magnitude), code, true};
    if (m.magnitude == 0 && !is_float()) {
      positive.push_back(p);  // an integer's one zero serves both signs
      if (has_negatives_) negative.push_back(p);
    } else {
      (m.negative ? negative : positive).push_back(p);
    }
  }
  const auto add_zero_if_missing = [this](std::vector<LatticePoint>& side) {
    for (const auto& p : side) {
      if (p.magnitude == 0) return;
    }
    // fnuz's negative side shares +0; a format without zero gets the absent zero as a
    // lattice point that is out of range (rounding toward it ends at the smallest value).
    side.push_back(LatticePoint{Exact(0), 0.0, 0, has_zero_});
  };
  add_zero_if_missing(positive);
  if (has_negatives_) add_zero_if_missing(negative);

  const auto finish_side = [this](std::vector<LatticePoint>& side, bool is_negative) {
    std::sort(side.begin(), side.end(),
              [](const LatticePoint& a, const LatticePoint& b) { return a.magnitude < b.magnitude; });
    for (std::size_t i = 1; i < side.size(); ++i) {
      if (side[i - 1].magnitude == side[i].magnitude) {
        throw std::logic_error("reference: two codes hold the same value, codes " +
                               std::to_string(side[i - 1].code) + " and " + std::to_string(side[i].code));
      }
    }
    if (side.back().magnitude != (is_negative ? max_negative_magnitude_ : max_positive_magnitude_)) {
      throw std::logic_error("reference: the enumerated largest value differs from the spec's rule");
    }
    // The first point past the largest value, from the lattice's continuation.
    const Exact top = side.back().magnitude;
    const Exact quantum = power_of_two(quantum_exponent(top));
    side.push_back(point(is_negative, Exact(top + quantum)));
  };
  finish_side(positive, false);
  if (has_negatives_) finish_side(negative, true);
  positive_ = std::move(positive);
  negative_ = std::move(negative);
}

}  // namespace bitsim::reference
