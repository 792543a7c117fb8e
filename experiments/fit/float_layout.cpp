#include "experiments/fit/float_layout.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bitsim::experiments::fit {

std::string FloatLayout::name() const {
  // Appended piecewise: GCC 12 warns falsely (-Wrestrict) on "E" + std::to_string(...).
  std::string name = "E";
  name += std::to_string(exponent_bits);
  name += 'M';
  name += std::to_string(mantissa_bits);
  return name;
}

FloatLayout optimal_float_layout(int total_bits, double delta, double nu) {
  if (total_bits < 1) throw std::invalid_argument("a float format needs at least its sign bit");
  FloatLayout best;
  double best_score = -INFINITY;
  for (int m = 0; m <= total_bits - 1; ++m) {
    const int e = total_bits - 1 - m;
    const double score = delta * std::log(e + 0.5) + nu * std::log(m + 0.5);
    if (score > best_score) {
      best_score = score;
      best = {e, m};
    }
  }
  return best;
}

SunConstants sun_constants(const FitResult& fit) {
  if (fit.law != "sun") throw std::invalid_argument("not a fit of law 'sun': " + fit.law);
  const auto at = [&](const char* name) {
    const auto it = std::find(fit.names.begin(), fit.names.end(), name);
    return fit.values[std::size_t(it - fit.names.begin())];
  };
  return {at("n"), at("alpha"), at("d"), at("beta"), at("epsilon"), at("gamma"), at("delta"), at("nu")};
}

double critical_data_size(const SunConstants& c, double params, int exponent_bits,
                          int mantissa_bits, double block) {
  const double log_inside = std::log(c.d) + std::log(c.gamma) + c.alpha * std::log(params) +
                            c.delta * std::log(exponent_bits + 0.5) +
                            c.nu * std::log(mantissa_bits + 0.5) - std::log(std::log2(block));
  return std::exp(log_inside / (2 * c.beta));
}

}  // namespace bitsim::experiments::fit
