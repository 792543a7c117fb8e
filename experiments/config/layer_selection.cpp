#include "experiments/config/layer_selection.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace bitsim::experiments {
namespace {

int parse_block(std::string_view item, std::string_view whole) {
  int value = -1;
  const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
  if (ec != std::errc() || end != item.data() + item.size() || value < 0 || value > 100000)
    throw std::invalid_argument("bad layer '" + std::string(item) + "' in '" + std::string(whole) +
                                "'; valid: all, output, block numbers and ranges such as 0,3,10-12");
  return value;
}

}  // namespace

LayerSelection parse_layer_selection(std::string_view text) {
  LayerSelection s;
  if (text == "all") return s;
  s.all = false;
  std::size_t start = 0;
  while (start <= text.size()) {
    const auto comma = std::min(text.find(',', start), text.size());
    const auto item = text.substr(start, comma - start);
    if (item == "output") {
      s.output = true;
    } else if (const auto dash = item.find('-'); dash != std::string_view::npos && dash > 0) {
      const int lo = parse_block(item.substr(0, dash), text), hi = parse_block(item.substr(dash + 1), text);
      if (hi < lo) throw std::invalid_argument("layer range '" + std::string(item) + "' runs backwards");
      for (int b = lo; b <= hi; ++b) s.blocks.push_back(b);
    } else {
      s.blocks.push_back(parse_block(item, text));
    }
    start = comma + 1;
  }
  std::sort(s.blocks.begin(), s.blocks.end());
  s.blocks.erase(std::unique(s.blocks.begin(), s.blocks.end()), s.blocks.end());
  return s;
}

std::vector<std::string> LayerSelection::patterns(const std::string& prefix, const std::string& suffix) const {
  const bool has_output = prefix == "weight" || prefix == "act" || prefix == "matmul";
  if (all) return {prefix + ".*" + (suffix == ".*" ? "" : suffix)};
  std::vector<std::string> out;
  for (int b : blocks) out.push_back(prefix + ".blk." + std::to_string(b) + suffix);
  if (output && has_output) out.push_back(prefix + ".output");
  return out;
}

}  // namespace bitsim::experiments
