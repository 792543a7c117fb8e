#include "tests/formats/input_sets.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace bitsim::format_tests {

using reference::Exact;
using reference::ReferenceFormat;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

void add_power_of_two_area(std::vector<double>& out, const ReferenceFormat& f, bool negative, int e) {
  if (e < -1074 || e > 1023) return;
  const Exact p = reference::power_of_two(e);
  // The lattice points on either side of 2^e and the midpoints between them and 2^e.
  const auto below = f.bracket(negative, Exact(p - 1)).toward_zero.magnitude;
  const auto b = f.bracket(negative, p);
  const Exact above = b.exact ? f.bracket(negative, Exact(p + 1)).away.magnitude : b.away.magnitude;
  const Exact sign = negative ? Exact(-1) : Exact(1);
  for (const Exact& m : {p, Exact((below + p) / 2), Exact((p + above) / 2), b.toward_zero.magnitude}) {
    add_neighbours(out, Exact(m * sign));
  }
}

}  // namespace

void add_neighbours(std::vector<double>& out, const Exact& b) {
  const double dlo = reference::double_below(b), dhi = reference::double_above(b);
  out.insert(out.end(), {dlo, dhi, std::nextafter(dlo, -kInf), std::nextafter(dhi, kInf)});
  const double flo = reference::float_below(b), fhi = reference::float_above(b);
  const auto next_float = [](double x, float toward) { return double(std::nextafter(float(x), toward)); };
  out.insert(out.end(), {flo, fhi, next_float(flo, -HUGE_VALF), next_float(fhi, HUGE_VALF)});
}

std::vector<double> lattice_boundary_inputs(const ReferenceFormat& f) {
  std::vector<double> out;
  for (bool negative : {false, true}) {
    // Unsigned formats: their positive lattice mirrored checks the negative-input rule.
    const auto& side = f.lattice(negative && f.has_negatives());
    const Exact sign = negative ? Exact(-1) : Exact(1);
    for (std::size_t i = 0; i < side.size(); ++i) {
      add_neighbours(out, Exact(side[i].magnitude * sign));
      if (i + 1 < side.size()) add_neighbours(out, Exact((side[i].magnitude + side[i + 1].magnitude) / 2 * sign));
    }
    // Past the first point beyond max: its midpoint with the next, and far beyond.
    const Exact& top = side.back().magnitude;
    const Exact gap = top - side[side.size() - 2].magnitude;
    add_neighbours(out, Exact((top + gap / 2) * sign));
    add_neighbours(out, Exact(top * 2 * sign));
  }
  deduplicate(out);
  return out;
}

std::vector<double> range_boundary_inputs(const ReferenceFormat& f) {
  std::vector<double> out;
  const int lowest = reference::floor_log2(f.min_positive_point(false).magnitude);
  const int highest = reference::floor_log2(f.max_point(false).magnitude);
  for (bool negative : {false, true}) {
    const bool side = negative && f.has_negatives();
    for (int e = lowest - 3; e <= highest + 3; ++e) add_power_of_two_area(out, f, side, e);
    const Exact sign = negative ? Exact(-1) : Exact(1);
    const auto& max = f.max_point(side).magnitude;
    const auto next = f.bracket(side, Exact(max + 1)).away.magnitude;  // first point past max
    const auto& min_positive = f.min_positive_point(side).magnitude;
    for (const Exact& m : {max, next, Exact((max + next) / 2), Exact(next * 2), min_positive,
                           Exact(min_positive / 2), Exact(min_positive / 4), f.min_normal()}) {
      if (m != 0) add_neighbours(out, Exact(m * sign));
    }
  }
  deduplicate(out);
  return out;
}

std::vector<double> special_inputs(const ReferenceFormat& f) {
  const double inf = kInf;
  const auto from_bits = [](std::uint64_t b) { return std::bit_cast<double>(b); };
  std::vector<double> out = {0.0,
                             inf,
                             std::numeric_limits<double>::quiet_NaN(),
                             from_bits(0x7FF0000000000001u),  // signalling NaN
                             from_bits(0x7FF80000DEADBEEFu),  // quiet NaN with a payload
                             double(std::bit_cast<float>(0x7FC0BEEFu)),
                             std::numeric_limits<double>::denorm_min(),
                             std::nextafter(std::numeric_limits<double>::min(), 0.0),  // largest double subnormal
                             0x1p-1050,
                             double(std::numeric_limits<float>::denorm_min()),
                             double(std::bit_cast<float>(0x007FFFFFu)),  // largest float subnormal
                             0x1p-127,
                             0x1.8p-130,
                             double(std::numeric_limits<float>::min()),
                             std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::max(),
                             double(std::numeric_limits<float>::max()),
                             1e300,
                             1e38};
  const double max = f.max_point(false).value, min_positive = f.min_positive_point(false).value;
  for (double m : {max * 2, max * 1e6, min_positive / 2, min_positive / 4, min_positive / 1e6}) {
    if (std::isfinite(m) && m != 0) out.push_back(m);
  }
  const std::size_t n = out.size();
  for (std::size_t i = 0; i < n; ++i) out.push_back(-out[i]);
  return out;
}

std::vector<double> random_inputs(const ReferenceFormat& f, std::size_t count, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const int lowest = reference::floor_log2(f.min_positive_point(false).magnitude) - 3;
  const int highest = reference::floor_log2(f.max_point(false).magnitude) + 2;
  std::uniform_int_distribution<int> exponent(std::max(lowest, -1074), std::min(highest, 1023));
  const auto in_range = [&] {
    const double significand = 1.0 + double(rng() >> 12) * 0x1p-52;
    const double x = std::ldexp(significand, exponent(rng));
    return (rng() & 1) ? -x : x;
  };
  std::vector<double> out;
  out.reserve(count);
  while (out.size() < count) {
    switch (rng() % 4) {
      case 0: {
        const double x = std::bit_cast<double>(rng());
        if (std::isfinite(x)) out.push_back(x);
        break;
      }
      case 1: {
        const float x = std::bit_cast<float>(std::uint32_t(rng()));
        if (std::isfinite(x)) out.push_back(double(x));
        break;
      }
      case 2: out.push_back(in_range()); break;
      default: {
        // Near a lattice point or a midpoint: a few float64 steps either side.
        const double x = in_range();
        if (!std::isfinite(x)) break;
        const bool negative = x < 0 && f.has_negatives();
        const auto b = f.bracket(negative, reference::exact_from(std::fabs(x)));
        const Exact target = (rng() & 1) ? b.toward_zero.magnitude
                                         : Exact((b.toward_zero.magnitude + b.away.magnitude) / 2);
        double y = reference::double_below(x < 0 ? Exact(-target) : target);
        for (int steps = int(rng() % 5) - 2; steps != 0; steps += steps > 0 ? -1 : 1) {
          y = std::nextafter(y, steps > 0 ? kInf : -kInf);
        }
        if (std::isfinite(y)) out.push_back(y);
      }
    }
  }
  return out;
}

void deduplicate(std::vector<double>& inputs) {
  const auto bits = [](double x) { return std::bit_cast<std::uint64_t>(x); };
  std::sort(inputs.begin(), inputs.end(), [&](double a, double b) { return bits(a) < bits(b); });
  inputs.erase(std::unique(inputs.begin(), inputs.end(), [&](double a, double b) { return bits(a) == bits(b); }),
               inputs.end());
}

}  // namespace bitsim::format_tests
