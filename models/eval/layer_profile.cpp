#include "models/eval/layer_profile.hpp"

#include <stdexcept>
#include <string>

#include "sim/metrics/metrics.hpp"

namespace bitsim::models {

std::vector<double> layer_sqnr_db(const std::vector<sim::TensorF>& reference, const std::vector<sim::TensorF>& test) {
  if (reference.size() != test.size())
    throw std::invalid_argument("layer_sqnr_db: " + std::to_string(reference.size()) + " reference blocks but " +
                                std::to_string(test.size()) + " test blocks");
  std::vector<double> out;
  for (std::size_t i = 0; i < reference.size(); ++i) out.push_back(sim::compare(reference[i], test[i]).sqnr_db);
  return out;
}

}  // namespace bitsim::models
