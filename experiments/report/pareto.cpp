#include "experiments/report/pareto.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace bitsim::experiments::report {

std::vector<std::size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& quality,
                                      bool higher_is_better) {
  const auto better = [higher_is_better](double a, double b) { return higher_is_better ? a > b : a < b; };
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < cost.size(); ++i) {
    if (std::isfinite(cost[i]) && std::isfinite(quality[i])) order.push_back(i);
  }
  // Cheapest first; at equal cost the best quality first, so it alone can enter the front.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (cost[a] != cost[b]) return cost[a] < cost[b];
    return better(quality[a], quality[b]);
  });
  // Walking up in cost, a point is on the front when it beats every cheaper point.
  std::vector<std::size_t> front;
  for (std::size_t i : order) {
    if (front.empty() || better(quality[i], quality[front.back()])) front.push_back(i);
  }
  return front;
}

}  // namespace bitsim::experiments::report
