#include "sim/kernels/precision.hpp"

#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace bitsim::sim {

Precision::Precision(formats::Format format, formats::RoundingSpec rounding,
                     formats::RandomStream rng)
    : format_(std::move(format)),
      rounding_(rounding),
      rng_(rng),
      // Needs two spare float64 bits below the format's last bit; fixed point up to 51 bits
      // has its lattice on float64's even values too.
      sticky_exact_(format_->kind() == "fixed" ? format_->bits() <= 51 : format_->epsilon() >= 0x1p-50) {}

Precision Precision::parse(std::string_view text) {
  // The rounding follows the first ':' outside the format's <...> options.
  int depth = 0;
  std::size_t colon = std::string_view::npos;
  for (std::size_t i = 0; i < text.size() && colon == std::string_view::npos; ++i) {
    if (text[i] == '<') ++depth;
    if (text[i] == '>') --depth;
    if (text[i] == ':' && depth == 0) colon = i;
  }
  const std::string_view format_text = text.substr(0, colon);
  if (format_text.empty())
    throw std::invalid_argument("precision '" + std::string(text) +
                                "': expected FORMAT[:ROUNDING], e.g. fp32, bf16, bf16:rz");
  const formats::RoundingSpec rounding = colon == std::string_view::npos
                                             ? formats::RoundingSpec{}
                                             : formats::parse_rounding(text.substr(colon + 1));
  if (format_text == "fp32" && rounding == formats::RoundingSpec{}) return Precision();
  return Precision(formats::Format::parse(format_text), rounding);
}

Precision Precision::with_stream(std::uint64_t stream) const {
  Precision p = *this;
  p.rng_.stream = stream;
  return p;
}

std::string Precision::spec() const {
  if (!format_) return "fp32";
  std::string s = format_->spec();
  if (rounding_ != formats::RoundingSpec{}) {
    s += ':';
    s += formats::to_string(rounding_);
  }
  return s;
}

double Precision::round_with_sticky(double value, double error, std::uint64_t index) const {
  // Round to odd: if the float64 value is inexact and its last bit is even, step to the
  // odd neighbour on the side of the exact result. The odd float64 lies strictly between
  // the same two points of any coarser lattice (and their midpoints) as the exact result,
  // so rounding it once into the format gives the exact result's rounding in every mode.
  if (sticky_exact_ && error != 0 && std::isfinite(value) && (std::bit_cast<std::uint64_t>(value) & 1) == 0)
    value = std::nextafter(value, error > 0 ? std::numeric_limits<double>::infinity()
                                            : -std::numeric_limits<double>::infinity());
  return format_->round(value, rounding_, rng_, index);
}

double Precision::round(double x, std::uint64_t index) const {
  if (!format_) return to_float(x);
  return format_->round(x, rounding_, rng_, index);
}

double Precision::add(double a, double b, std::uint64_t index) const {
  if (!format_) return static_cast<float>(a) + static_cast<float>(b);
  const double s = a + b;  // TwoSum: s + e == a + b exactly
  const double bb = s - a;
  const double e = (a - (s - bb)) + (b - bb);
  return round_with_sticky(s, std::isfinite(s) ? e : 0.0, index);
}

double Precision::mul(double a, double b, std::uint64_t index) const {
  if (!format_) return static_cast<float>(a) * static_cast<float>(b);
  const double p = a * b;
  return round_with_sticky(p, std::isfinite(p) ? std::fma(a, b, -p) : 0.0, index);
}

double Precision::div(double a, double b, std::uint64_t index) const {
  if (!format_) return static_cast<float>(a) / static_cast<float>(b);
  const double q = a / b;
  // a - q*b is exact; the exact quotient lies on its side of q (times b's sign).
  const double r = std::isfinite(q) && b != 0 ? std::fma(-q, b, a) : 0.0;
  return round_with_sticky(q, b > 0 ? r : -r, index);
}

double Precision::sqrt(double a, std::uint64_t index) const {
  if (!format_) return std::sqrt(static_cast<float>(a));
  const double s = std::sqrt(a);
  return round_with_sticky(s, std::isfinite(s) && a > 0 ? std::fma(-s, s, a) : 0.0, index);
}

double Precision::exp(double a, std::uint64_t index) const {
  if (!format_) return std::exp(static_cast<float>(a));
  return format_->round(std::exp(a), rounding_, rng_, index);
}

}  // namespace bitsim::sim
