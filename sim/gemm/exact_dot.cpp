// Exact dot products: every product of two doubles is an integer multiple of 2^-2148, so
// a big integer counting those units holds any sum exactly; it is rounded once to float64
// at the end. Boost.Multiprecision's cpp_int does the arithmetic.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>

#include "sim/gemm/gemm.hpp"
#include "sim/gemm/gemm_shapes.hpp"

namespace bitsim::sim {
namespace {

namespace mp = boost::multiprecision;
constexpr int kUnitExponent = -2 * 1074;  // one unit = 2^-2148

// x = significand * 2^exponent with an integer significand (x finite).
void split(double x, std::int64_t& significand, int& exponent) {
  int e = 0;
  const double f = std::frexp(x, &e);  // x = f * 2^e, 0.5 <= |f| < 1
  significand = std::int64_t(std::ldexp(f, 53));
  exponent = e - 53;
  // Subnormals: the trailing zeros of a multiple of 2^-1074 go, so exponent >= -1074.
  if (exponent < -1074) {
    significand /= std::int64_t(1) << (-1074 - exponent);
    exponent = -1074;
  }
}

// Exact sum of products, in units of 2^kUnitExponent; `finite` turns false on inf/NaN.
class ExactSum {
 public:
  void add_product(double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) {
      nonfinite_ += x * y;  // inf, -inf or NaN: IEEE semantics decide the result
      finite_ = false;
      return;
    }
    if (x == 0 || y == 0) return;
    std::int64_t sx, sy;
    int ex, ey;
    split(x, sx, ex);
    split(y, sy, ey);
    mp::cpp_int term = mp::cpp_int(sx) * sy;
    term <<= unsigned(ex + ey - kUnitExponent);
    sum_ += term;
  }
  void add(double x) { add_product(x, 1.0); }

  // The sum rounded once to float64, nearest-even.
  double rounded() const {
    if (!finite_) return nonfinite_;
    if (sum_ == 0) return 0.0;
    const bool negative = sum_ < 0;
    const mp::cpp_int v = negative ? mp::cpp_int(-sum_) : sum_;
    const int top = int(mp::msb(v));
    // The result's quantum 2^(top + unit - 52), but never finer than float64's 2^-1074.
    const int shift = std::max(top - 52, -1074 - kUnitExponent);
    mp::cpp_int kept = v >> unsigned(shift);
    const mp::cpp_int rest = v - (kept << unsigned(shift));
    const mp::cpp_int half = mp::cpp_int(1) << unsigned(shift - 1);
    if (rest > half || (rest == half && mp::bit_test(kept, 0))) kept += 1;
    const double magnitude = std::ldexp(kept.convert_to<double>(), shift + kUnitExponent);
    return negative ? -magnitude : magnitude;
  }

 private:
  mp::cpp_int sum_ = 0;
  bool finite_ = true;
  double nonfinite_ = 0;
};

}  // namespace

double exact_dot(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size())
    throw std::invalid_argument("exact_dot: spans of different lengths (" + std::to_string(a.size()) +
                                " and " + std::to_string(b.size()) + ")");
  ExactSum sum;
  for (std::size_t i = 0; i < a.size(); ++i) sum.add_product(a[i], b[i]);
  return sum.rounded();
}

double exact_dot(std::span<const float> a, std::span<const float> b) {
  const std::vector<double> da(a.begin(), a.end()), db(b.begin(), b.end());
  return exact_dot(da, db);
}

TensorD gemm_exact(const TensorF& a, const TensorF& b, const GemmArgs& args) {
  const GemmShape s = check_gemm_shapes(a, b, args);
  TensorD c(Shape{s.M, s.N});
  for (Index m = 0; m < s.M; ++m) {
    for (Index n = 0; n < s.N; ++n) {
      ExactSum sum;
      for (Index k = 0; k < s.K; ++k)
        sum.add_product(a.at({m, k}), args.transpose_b ? b.at({n, k}) : b.at({k, n}));
      if (args.bias) sum.add(args.bias->at({n}));
      c.at({m, n}) = sum.rounded();
    }
  }
  return c;
}

}  // namespace bitsim::sim
