#include "tests/reference/reference_rounding.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace bitsim::reference {

using formats::Overflow;
using formats::Rounding;
namespace mp = boost::multiprecision;

double Outcome::as_double() const {
  double v = 0;
  if (kind == CodeKind::nan) v = std::numeric_limits<double>::quiet_NaN();
  else if (kind == CodeKind::infinity) v = std::numeric_limits<double>::infinity();
  else v = magnitude;
  return std::copysign(v, negative ? -1.0 : 1.0);
}

float Outcome::as_float() const {
  float v = 0;
  if (kind == CodeKind::nan) {
    v = std::numeric_limits<float>::quiet_NaN();
  } else if (kind == CodeKind::infinity) {
    v = std::numeric_limits<float>::infinity();
  } else {
    v = float(magnitude);
    if (double(v) > magnitude) v = std::nextafter(v, 0.0f);  // toward zero where not exact
  }
  return std::copysign(v, negative ? -1.0f : 1.0f);
}

std::uint64_t Outcome::double_bits() const { return std::bit_cast<std::uint64_t>(as_double()); }
std::uint32_t Outcome::float_bits() const { return std::bit_cast<std::uint32_t>(as_float()); }

bool rounds_away_from_zero(Rounding mode, bool negative) {
  switch (mode) {
    case Rounding::toward_positive: return !negative;
    case Rounding::toward_negative: return negative;
    case Rounding::toward_zero:
    case Rounding::odd: return false;
    default: return true;  // the nearest modes and stochastic rounding
  }
}

ReferenceCase::ReferenceCase(const ReferenceFormat& format, double x, Source source) : format_(&format) {
  const auto& f = format;
  negative_ = std::signbit(x);
  if (std::isnan(x)) {
    if (f.has_nan()) {
      settled_ = nan(negative_);
    } else if (f.nan_rule() == formats::NanRule::zero) {
      settled_ = zero(false);
    } else {  // nan=max: the largest positive magnitude, with the NaN's sign where there is one
      const bool signed_result = negative_ && f.has_negatives();
      settled_ = finite(f.point(signed_result, f.max_point(false).magnitude), signed_result);
    }
    return;
  }
  // Unsigned formats: negative nonzero inputs (infinity included) have no home.
  const auto unsigned_negative = [&] { return f.has_nan() ? nan(false) : zero(false); };
  if (std::isinf(x)) {
    if (negative_ && !f.has_negatives()) settled_ = unsigned_negative();
    else if (f.overflow() == Overflow::saturate) settled_ = finite(f.max_point(negative_), negative_);
    else if (f.has_infinity()) settled_ = infinity(negative_);
    else if (f.has_nan()) settled_ = nan(negative_);
    else settled_ = finite(f.max_point(negative_), negative_);
    return;
  }
  // ftz_in acts on the input first: a flushed input is a zero like any other.
  const double source_min_normal = source == Source::float32
                                        ? double(std::numeric_limits<float>::min())
                                        : std::numeric_limits<double>::min();
  if (f.flushes_inputs() && std::fabs(x) < source_min_normal) x = std::copysign(0.0, x);
  if (x == 0) {
    // E8M0 (no zero): 0 is NaN where the format has one, else its smallest value.
    settled_ = !f.has_zero() && f.has_nan() ? nan(negative_) : zero(negative_);
    return;
  }
  if (negative_ && !f.has_negatives()) {
    settled_ = unsigned_negative();
    return;
  }
  magnitude_ = exact_from(std::fabs(x));
  bracket_ = f.bracket(negative_, magnitude_);
  if (!bracket_.exact) {
    // Compare m - toward_zero with away - m, i.e. 2m with toward_zero + away.
    const Exact twice = magnitude_ * 2;
    const Exact ends = bracket_.toward_zero.magnitude + bracket_.away.magnitude;
    nearest_ = twice < ends ? -1 : (twice > ends ? 1 : 0);
  }
}

Outcome ReferenceCase::round(Rounding mode) const {
  if (settled_) return *settled_;
  if (bracket_.exact) return finish(bracket_.toward_zero, mode);
  const bool toward_zero_odd = (bracket_.toward_zero.code & 1) != 0;
  bool away = false;
  switch (mode) {
    case Rounding::nearest_even: away = nearest_ > 0 || (nearest_ == 0 && toward_zero_odd); break;
    case Rounding::nearest_away: away = nearest_ >= 0; break;
    case Rounding::nearest_zero: away = nearest_ > 0; break;
    case Rounding::toward_positive: away = !negative_; break;
    case Rounding::toward_negative: away = negative_; break;
    case Rounding::toward_zero: away = false; break;
    case Rounding::odd: away = !toward_zero_odd; break;  // the neighbour whose code is odd
    case Rounding::stochastic: throw std::logic_error("reference: use round_stochastic");
  }
  return finish(away ? bracket_.away : bracket_.toward_zero, mode);
}

mp::cpp_rational ReferenceCase::fraction() const {
  if (exact()) return mp::cpp_rational(0);
  return mp::cpp_rational(to_cpp_int(magnitude_ - bracket_.toward_zero.magnitude),
                          to_cpp_int(bracket_.away.magnitude - bracket_.toward_zero.magnitude));
}

// floor(fraction * 2^k), with fraction = (m - toward_zero) / (away - toward_zero): integer
// division of exact integers.
namespace {
Exact scaled_fraction_floor(const Exact& distance, const Exact& gap, int random_bits) {
  return distance * Exact(mp::pow(Exact(2), unsigned(random_bits))) / gap;
}
}  // namespace

mp::cpp_rational ReferenceCase::probability_away(int random_bits) const {
  if (exact()) return mp::cpp_rational(0);
  const Exact floor_k = scaled_fraction_floor(magnitude_ - bracket_.toward_zero.magnitude,
                                              bracket_.away.magnitude - bracket_.toward_zero.magnitude, random_bits);
  return mp::cpp_rational(to_cpp_int(floor_k), mp::pow(mp::cpp_int(2), random_bits));
}

bool ReferenceCase::goes_away(std::uint32_t word, int random_bits) const {
  if (random_bits < 1 || random_bits > 32) throw std::invalid_argument("reference: random_bits must be 1..32");
  if (exact()) return false;
  // floor(f 2^k) + floor(u 2^k) >= 2^k, with u = word / 2^32 the uniform variate.
  const Exact fraction_k = scaled_fraction_floor(magnitude_ - bracket_.toward_zero.magnitude,
                                                 bracket_.away.magnitude - bracket_.toward_zero.magnitude, random_bits);
  const std::uint64_t random_k = (std::uint64_t(word) * (std::uint64_t(1) << random_bits)) / (std::uint64_t(1) << 32);
  return fraction_k + random_k >= (std::uint64_t(1) << random_bits);
}

Outcome ReferenceCase::round_stochastic(std::uint32_t word, int random_bits) const {
  if (settled_) return *settled_;
  if (bracket_.exact) return finish(bracket_.toward_zero, Rounding::stochastic);
  return finish(goes_away(word, random_bits) ? bracket_.away : bracket_.toward_zero, Rounding::stochastic);
}

Outcome ReferenceCase::finish(const LatticePoint& chosen, Rounding mode) const {
  const auto& f = *format_;
  const LatticePoint& max = f.max_point(negative_);
  if (chosen.magnitude > max.magnitude) {
    if (f.overflow() == Overflow::saturate || !rounds_away_from_zero(mode, negative_)) {
      return finite(max, negative_);
    }
    return f.overflow() == Overflow::infinity ? infinity(negative_) : nan(negative_);
  }
  if (f.flushes_outputs() && chosen.magnitude != 0 && chosen.magnitude < f.min_normal()) {
    return zero(negative_);
  }
  if (chosen.magnitude == 0) return zero(negative_);
  return finite(chosen, negative_);
}

Outcome ReferenceCase::finite(const LatticePoint& p, bool negative) const {
  if (!p.in_range) throw std::logic_error("reference: result outside the format's range");
  Outcome o;
  o.negative = negative;
  o.magnitude = p.value;
  o.code = p.code;
  return o;
}

// Zero with the sign where the format has -0; in a format without zero (no subnormals:
// E8M0-like), whatever would be zero takes the smallest value instead.
Outcome ReferenceCase::zero(bool negative) const {
  if (!format_->has_zero()) {
    const bool signed_result = negative && format_->has_negatives();
    return finite(format_->min_positive_point(signed_result), signed_result);
  }
  Outcome o;
  o.negative = negative && format_->has_negative_zero();
  o.code = format_->zero_code(negative);
  return o;
}

Outcome ReferenceCase::nan(bool negative) const {
  Outcome o;
  o.kind = CodeKind::nan;
  o.code = format_->nan_code(negative);
  o.negative = format_->meaning(o.code).negative;  // fnuz's NaN carries the sign bit
  return o;
}

Outcome ReferenceCase::infinity(bool negative) const {
  Outcome o;
  o.kind = CodeKind::infinity;
  o.negative = negative;
  o.code = format_->infinity_code(negative);
  return o;
}

}  // namespace bitsim::reference
