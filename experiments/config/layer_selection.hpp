#pragma once
// The `layers` sweep axis: which transformer blocks a point's quantization rules reach.
//   all            every block and the output layer (the default without a layers axis)
//   0,3,10-12      the listed blocks (ranges inclusive), not the output layer
//   output         the output layer (weight.output, act.output) only
//   0-3,output     both
#include <string>
#include <string_view>
#include <vector>

namespace bitsim::experiments {

struct LayerSelection {
  bool all = true;
  std::vector<int> blocks;  // sorted, unique (when !all)
  bool output = false;      // the output layer (when !all)

  // The glob patterns (models/transformer/numerics.hpp) of the roles with `prefix`
  // ("weight", "act", "kv", "matmul", ...) and `suffix` (".*", ".probs") in the selection;
  // the output layer adds "<prefix>.output" for prefixes that have one.
  std::vector<std::string> patterns(const std::string& prefix, const std::string& suffix) const;
  int max_block() const { return blocks.empty() ? -1 : blocks.back(); }
};

// Throws std::invalid_argument naming the bad item and the grammar.
LayerSelection parse_layer_selection(std::string_view text);

}  // namespace bitsim::experiments
