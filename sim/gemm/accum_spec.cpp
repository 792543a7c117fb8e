#include "sim/gemm/accum_spec.hpp"

#include <charconv>
#include <stdexcept>
#include <string>
#include <vector>

namespace bitsim::sim {
namespace {

using formats::Format;
using formats::Rounding;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits on `sep` outside '<...>' and '(...)', so format options and order arguments
// keep their commas.
std::vector<std::string_view> split_top_level(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '<' || c == '(') ++depth;
    if ((c == '>' || c == ')') && depth > 0) --depth;
    if (c == sep && depth == 0) {
      parts.push_back(trim(s.substr(start, i - start)));
      start = i + 1;
    }
  }
  parts.push_back(trim(s.substr(start)));
  return parts;
}

template <class Int>
Int parse_integer(std::string_view key, std::string_view text, Int min_value) {
  Int v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min_value)
    throw std::invalid_argument("AccumSpec: " + std::string(key) + "=" + std::string(text) +
                                " is not an integer >= " + std::to_string(min_value));
  return v;
}

bool parse_bool(std::string_view key, std::string_view text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw std::invalid_argument("AccumSpec: " + std::string(key) + "=" + std::string(text) +
                              "; valid: true, false");
}

// "name(arg)" -> arg, or nullopt when `text` is not of that form.
std::optional<std::string_view> call_argument(std::string_view text, std::string_view name) {
  if (text.size() < name.size() + 2 || text.substr(0, name.size()) != name ||
      text[name.size()] != '(' || text.back() != ')')
    return std::nullopt;
  return trim(text.substr(name.size() + 1, text.size() - name.size() - 2));
}

constexpr std::string_view kValidOrders = "seq, pairwise, tree(F), splitk(S), blas";
constexpr std::string_view kValidReduce = "seq, reverse, pairwise";
constexpr std::string_view kValidKeys = "acc, prod, chunk, wide, order, split, fma, kahan, seed";

std::string_view reduce_name(SplitReduce r) {
  switch (r) {
    case SplitReduce::reverse: return "reverse";
    case SplitReduce::pairwise: return "pairwise";
    default: return "seq";
  }
}

}  // namespace

RoundedFormat RoundedFormat::parse(std::string_view text) {
  text = trim(text);
  const auto parts = split_top_level(text, ':');
  RoundedFormat r{Format::parse(parts[0])};
  if (parts.size() > 1) {
    // Everything after the first top-level ':' is the rounding ("sr:8" has a ':' itself).
    const std::size_t at = parts[0].size();
    r.rounding = formats::parse_rounding(trim(text.substr(text.find(':', at) + 1)));
  }
  return r;
}

std::string RoundedFormat::to_string() const {
  return format.spec() + ":" + formats::to_string(rounding);
}

AccumSpec AccumSpec::parse(std::string_view text) {
  AccumSpec s;
  std::vector<std::string> seen;
  if (trim(text).empty()) return s;
  for (std::string_view item : split_top_level(text, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string_view::npos)
      throw std::invalid_argument("AccumSpec: item " + quoted(item) +
                                  " is not key=value; valid keys: " + std::string(kValidKeys));
    const std::string_view key = trim(item.substr(0, eq));
    const std::string_view value = trim(item.substr(eq + 1));
    for (const auto& k : seen)
      if (k == key) throw std::invalid_argument("AccumSpec: key " + quoted(key) + " given twice");
    seen.emplace_back(key);
    try {
      if (key == "acc") {
        s.accumulator = RoundedFormat::parse(value);
      } else if (key == "wide") {
        s.wide = RoundedFormat::parse(value);
      } else if (key == "prod") {
        if (value == "exact") s.product.reset();
        else s.product = RoundedFormat::parse(value);
      } else if (key == "chunk") {
        s.chunk = value == "none" ? 0 : parse_integer<std::int64_t>(key, value, 0);
      } else if (key == "order") {
        if (value == "seq") s.order = SumOrder::sequential;
        else if (value == "pairwise") s.order = SumOrder::pairwise;
        else if (value == "blas") s.order = SumOrder::blas;
        else if (auto f = call_argument(value, "tree")) {
          s.order = SumOrder::tree;
          s.fan_out = parse_integer<int>("tree fan-out", *f, 2);
        } else if (auto p = call_argument(value, "splitk")) {
          s.order = SumOrder::sequential;
          s.split = parse_integer<int>("splitk parts", *p, 1);
        } else {
          throw std::invalid_argument("AccumSpec: order=" + std::string(value) +
                                      "; valid: " + std::string(kValidOrders));
        }
      } else if (key == "split") {
        const auto parts = split_top_level(value, ':');
        s.split = parse_integer<int>(key, parts[0], 1);
        if (parts.size() > 2)
          throw std::invalid_argument("AccumSpec: split=" + std::string(value) + " has more than one ':'");
        if (parts.size() == 2) {
          if (parts[1] == "seq") s.split_reduce = SplitReduce::sequential;
          else if (parts[1] == "reverse") s.split_reduce = SplitReduce::reverse;
          else if (parts[1] == "pairwise") s.split_reduce = SplitReduce::pairwise;
          else
            throw std::invalid_argument("AccumSpec: split reduction " + quoted(parts[1]) +
                                        "; valid: " + std::string(kValidReduce));
        }
      } else if (key == "fma") {
        s.fma = parse_bool(key, value);
      } else if (key == "kahan") {
        s.kahan = parse_bool(key, value);
      } else if (key == "seed") {
        s.seed = parse_integer<std::uint64_t>(key, value, 0);
      } else {
        throw std::invalid_argument("AccumSpec: unknown key " + quoted(key) +
                                    "; valid keys: " + std::string(kValidKeys));
      }
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      if (what.rfind("AccumSpec", 0) == 0) throw;
      throw std::invalid_argument("AccumSpec: " + std::string(key) + "=" + std::string(value) +
                                  ": " + what);
    }
  }
  s.validate();
  return s;
}

std::string AccumSpec::to_string() const {
  std::string s = "acc=" + accumulator.to_string();
  s += ",prod=" + (product ? product->to_string() : std::string("exact"));
  s += ",chunk=" + std::to_string(chunk);
  s += ",wide=" + wide.to_string();
  switch (order) {
    case SumOrder::sequential: s += ",order=seq"; break;
    case SumOrder::pairwise: s += ",order=pairwise"; break;
    case SumOrder::tree: s += ",order=tree(" + std::to_string(fan_out) + ")"; break;
    case SumOrder::blas: s += ",order=blas"; break;
  }
  s += ",split=" + std::to_string(split) + ":" + std::string(reduce_name(split_reduce));
  s += std::string(",fma=") + (fma ? "true" : "false");
  s += std::string(",kahan=") + (kahan ? "true" : "false");
  s += ",seed=" + std::to_string(seed);
  return s;
}

void AccumSpec::validate() const {
  auto check_format = [](const RoundedFormat& r, std::string_view role) {
    const auto* mf = std::get_if<formats::MiniFloat>(&r.format.repr());
    if (!mf)
      throw std::invalid_argument("AccumSpec: the " + std::string(role) + " format " +
                                  quoted(r.format.spec()) +
                                  " is fixed point; products and sums are modelled in "
                                  "floating-point formats only (fp32, bf16, fp16, fp<e=..,m=..>, ...)");
    // Sums are formed exactly and rounded to odd in float64, which then rounds correctly
    // into any format with at most 50 mantissa bits. fp64 itself adds in float64 (rne).
    if (r.format.lattice().precision > 50 &&
        !(r.format.spec() == "fp64" && r.rounding.mode == Rounding::nearest_even))
      throw std::invalid_argument("AccumSpec: the " + std::string(role) + " format " +
                                  quoted(r.to_string()) +
                                  " is not supported: formats with more than 50 mantissa bits "
                                  "are only modelled as fp64:rne");
  };
  check_format(accumulator, "accumulator");
  check_format(wide, "wide");
  if (product) check_format(*product, "product");
  if (chunk < 0) throw std::invalid_argument("AccumSpec: chunk must be >= 0 (0: no chunking)");
  if (split < 1) throw std::invalid_argument("AccumSpec: split must be >= 1");
  if (order == SumOrder::tree && fan_out < 2)
    throw std::invalid_argument("AccumSpec: tree fan-out must be >= 2");
  if (kahan && order != SumOrder::sequential)
    throw std::invalid_argument("AccumSpec: kahan=true needs order=seq (compensation is defined "
                                "for a running sum)");
  if (order == SumOrder::blas) {
    const AccumSpec plain = blas();
    if (!(accumulator == plain.accumulator) || !(wide == plain.wide) || product || chunk != 0 ||
        split != 1 || !fma || kahan)
      throw std::invalid_argument("AccumSpec: order=blas is plain FP32 accumulation in the BLAS "
                                  "library's order; it takes no acc/prod/chunk/wide/split/fma/"
                                  "kahan options (got " + to_string() + ")");
  }
}

}  // namespace bitsim::sim
