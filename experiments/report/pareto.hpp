#pragma once
// The Pareto front of quality against cost (e.g. SQNR against bits per element): the
// points no other point beats on both, i.e. with no other point of lower-or-equal cost and
// better-or-equal quality, one of them strictly.
#include <cstddef>
#include <vector>

namespace bitsim::experiments::report {

// Positions (into cost/quality) of the front, by increasing cost. Points with a
// non-finite cost or quality are left out; of exact duplicates the first is kept.
std::vector<std::size_t> pareto_front(const std::vector<double>& cost, const std::vector<double>& quality,
                                      bool higher_is_better);

}  // namespace bitsim::experiments::report
