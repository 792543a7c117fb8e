// Parsing and printing of block format spec strings (grammar in block_format.hpp).
#include <cctype>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "formats/block/block_format.hpp"

namespace bitsim::formats {
namespace {

[[noreturn]] void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument("block format '" + std::string(spec) + "': " + why);
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

int to_int(std::string_view spec, std::string_view what, std::string_view text) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) {
    fail(spec, std::string(what) + " needs a non-negative integer, got '" + std::string(text) + "'");
  }
  return v;
}

bool to_bool(std::string_view spec, const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value.empty()) return true;
  if (value == "false" || value == "0") return false;
  fail(spec, "option " + key + " needs true or false, got '" + value + "'");
}

// Splits "a=1,elem=int<bits=8,frac=6>,b=2" at the commas outside nested '<...>'.
std::map<std::string, std::string> split_options(std::string_view spec, std::string_view body) {
  std::map<std::string, std::string> options;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= body.size(); ++i) {
    const char c = i < body.size() ? body[i] : ',';
    if (c == '<') ++depth;
    if (c == '>') --depth;
    if (c != ',' || depth != 0) continue;
    const std::string item = trim(body.substr(start, i - start));
    start = i + 1;
    if (item.empty()) fail(spec, "empty option");
    const auto eq = item.find('=');
    const std::string key = trim(std::string_view(item).substr(0, eq));
    const std::string value = eq == std::string::npos ? "" : trim(std::string_view(item).substr(eq + 1));
    if (!options.emplace(key, value).second) fail(spec, "option '" + key + "' given twice");
  }
  if (depth != 0) fail(spec, "unbalanced '<' '>'");
  return options;
}

BlockShape to_shape(std::string_view spec, const std::string& value) {
  const auto x = value.find('x');
  if (x == std::string::npos) return {1, to_int(spec, "block", value)};
  return {to_int(spec, "block rows", std::string_view(value).substr(0, x)),
          to_int(spec, "block cols", std::string_view(value).substr(x + 1))};
}

template <class Enum, std::size_t N>
Enum to_enum(std::string_view spec, std::string_view key, const std::string& value, const Enum (&all)[N]) {
  std::string valid;
  for (Enum e : all) {
    if (to_string(e) == value) return e;
    valid += std::string(valid.empty() ? "" : ", ") + std::string(to_string(e));
  }
  fail(spec, std::string(key) + " must be one of " + valid + "; got '" + value + "'");
}

constexpr ScaleRule kRules[] = {ScaleRule::floor, ScaleRule::ceil, ScaleRule::round, ScaleRule::mse,
                                ScaleRule::amax};
constexpr Recipe kRecipes[] = {Recipe::generic, Recipe::two_level_fp32, Recipe::ggml_q8_0,
                               Recipe::ggml_q4_0, Recipe::ggml_q4_1};

// "int4:sym:g128[:bf16][:full]", "uint8:asym:channel", "int8:sym:tensor".
BlockDescription parse_group_int(std::string_view spec) {
  std::vector<std::string> parts;
  for (std::string_view rest = spec;;) {
    const auto colon = rest.find(':');
    parts.push_back(trim(rest.substr(0, colon)));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (parts.size() < 3) fail(spec, "group INT specs read intB:sym|asym:gN|channel|tensor[:fp16|bf16|fp32][:full]");
  std::string_view type = parts[0];
  if (type.starts_with("uint")) type.remove_prefix(4);
  else if (type.starts_with("int")) type.remove_prefix(3);
  else fail(spec, "group INT specs start with intB");
  const int bits = to_int(spec, "the integer width", type);
  const bool symmetric = parts[1] == "sym";
  if (!symmetric && parts[1] != "asym") fail(spec, "expected sym or asym, got '" + parts[1] + "'");
  BlockDescription d;
  d.rule = ScaleRule::amax;
  d.scale = "fp16";
  if (parts[2] == "channel") d.shape = {1, 0};
  else if (parts[2] == "tensor") d.shape = {0, 0};
  else if (parts[2].starts_with("g")) d.shape = {1, to_int(spec, "the group size", std::string_view(parts[2]).substr(1))};
  else fail(spec, "expected gN, channel or tensor, got '" + parts[2] + "'");
  bool full_range = false;
  for (std::size_t i = 3; i < parts.size(); ++i) {
    if (parts[i] == "full") full_range = true;
    else if (parts[i] == "fp16" || parts[i] == "bf16" || parts[i] == "fp32") d.scale = parts[i];
    else fail(spec, "unknown group INT option '" + parts[i] + "'; valid: fp16, bf16, fp32, full");
  }
  const std::string b = std::to_string(bits);
  if (symmetric) d.element = full_range ? "int" + b : "int<bits=" + b + ",narrow=true>";
  else d.element = "uint" + b;
  d.zero_point = !symmetric;
  return d;
}

std::string canonical_format(const std::string& spec) { return Format::parse(spec).spec(); }

BlockDescription canonical(BlockDescription d) {
  d.element = canonical_format(d.element);
  d.scale = canonical_format(d.scale);
  return d;
}

}  // namespace

bool is_block_spec(std::string_view spec_text) {
  const std::string spec = trim(spec_text);
  const auto open = spec.find('<');
  if (open == std::string::npos && spec.find(':') != std::string::npos) return true;
  const std::string name = trim(std::string_view(spec).substr(0, open));
  if (name == "mx" || name == "bfp") return true;
  for (const auto& f : named_block_formats()) {
    if (f.name == name) return true;
  }
  return false;
}

BlockFormat BlockFormat::parse(std::string_view spec_text) {
  const std::string spec = trim(spec_text);
  const auto open = spec.find('<');
  if (open == std::string::npos && spec.find(':') != std::string::npos) {
    return BlockFormat(parse_group_int(spec));
  }
  const std::string name = trim(std::string_view(spec).substr(0, open));
  std::map<std::string, std::string> options;
  if (open != std::string::npos) {
    if (spec.back() != '>') fail(spec, "missing '>' at the end of the options");
    options = split_options(spec, std::string_view(spec).substr(open + 1, spec.size() - open - 2));
  }
  const auto take = [&options](const std::string& key) -> std::optional<std::string> {
    const auto it = options.find(key);
    if (it == options.end()) return std::nullopt;
    std::string v = it->second;
    options.erase(it);
    return v;
  };

  BlockDescription d;
  bool known = false;
  for (const auto& f : named_block_formats()) {
    if (f.name == name) {
      d = f.format;
      known = true;
    }
  }
  if (name == "bfp") {
    const auto m = take("m");
    if (!m) fail(spec, "bfp needs m=<mantissa bits> (sign not counted)");
    const int bits = to_int(spec, "m", *m);
    if (bits < 1 || bits > 31) fail(spec, "m must be 1..31");
    d.element = "int<bits=" + std::to_string(bits + 1) + ",frac=" + std::to_string(bits - 1) + ",narrow=true>";
    d.shape = {1, 16};
    known = true;
  } else if (name == "mx") {
    known = true;
  }
  if (!known) {
    throw UnknownFormat("unknown block format '" + spec + "'; valid: " + valid_block_format_names());
  }

  if (auto v = take("elem")) d.element = *v;
  if (d.element.empty()) fail(spec, "mx<...> needs elem=<element format>");
  const auto scale = take("scale");
  if (scale) {
    d.scale = *scale;
    d.rule = canonical_format(*scale) == "e8m0fnu" ? ScaleRule::floor : ScaleRule::amax;
  }
  if (auto v = take("block")) d.shape = to_shape(spec, *v);
  if (auto v = take("axis")) {
    const int axis = to_int(spec, "axis", *v);
    if (axis > 1) fail(spec, "axis must be 0 (blocks down columns) or 1 (blocks along rows)");
    if (d.shape.rows != 1 && d.shape.cols != 1) fail(spec, "axis applies to 1-D blocks only");
    if ((axis == 0) != (d.shape.cols == 1)) std::swap(d.shape.rows, d.shape.cols);
  }
  if (auto v = take("recipe")) d.recipe = to_enum(spec, "recipe", *v, kRecipes);
  if (auto v = take("tensor")) {
    if (*v == "fp32") d.recipe = Recipe::two_level_fp32;
    else if (*v == "none") d.recipe = Recipe::generic;
    else fail(spec, "tensor must be none or fp32, got '" + *v + "'");
    if (!options.contains("rule") && d.recipe == Recipe::two_level_fp32) d.rule = ScaleRule::amax;
  }
  if (auto v = take("rule")) d.rule = to_enum(spec, "rule", *v, kRules);
  if (auto v = take("round")) d.rounding = parse_rounding(*v);
  if (auto v = take("zero_point")) d.zero_point = to_bool(spec, "zero_point", *v);
  if (!options.empty()) {
    fail(spec, "unknown option '" + options.begin()->first +
                   "'; valid: elem, scale, block, axis, rule, round, tensor, recipe, zero_point, m (bfp)");
  }
  try {
    return BlockFormat(std::move(d));
  } catch (const UnknownFormat&) {
    throw;
  } catch (const std::invalid_argument& e) {
    fail(spec, e.what());
  }
}

// A named format when the description matches one exactly, else the generic mx<...> form
// with every field, which parses back to the same description.
std::string block_canonical_spec(const BlockDescription& description) {
  const BlockDescription d = canonical(description);
  for (const auto& f : named_block_formats()) {
    if (canonical(f.format) == d) return std::string(f.name);
  }
  const auto& s = d.shape;
  std::string text = "mx<elem=" + d.element + ",scale=" + d.scale + ",block=" +
                     (s.rows == 1 ? std::to_string(s.cols)
                                  : std::to_string(s.rows) + "x" + std::to_string(s.cols)) +
                     ",rule=" + std::string(to_string(d.rule));
  if (d.recipe != Recipe::generic) text += ",recipe=" + std::string(to_string(d.recipe));
  if (d.zero_point) text += ",zero_point=true";
  if (d.rounding != RoundingSpec{}) text += ",round=" + to_string(d.rounding);
  return text + ">";
}

}  // namespace bitsim::formats
