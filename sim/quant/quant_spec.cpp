// Parsing, printing and validation of QuantSpec strings (grammar: sim/README.md).
#include "sim/quant/quant_spec.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "formats/block/block_format.hpp"
#include "formats/format.hpp"

namespace bitsim::sim {
namespace {

constexpr std::string_view kFields =
    "per_tensor, per_channel(axis=A), per_group(G[,axis=A]), absmax, percentile(P), "
    "mse[(steps=S,min=M)], fixed(C), scale(FORMAT), rne, rna, rnz, ru, rd, rz, rto, sr[(seed=N,bits=K)], "
    "hadamard[(block=B)], rht[(seed=N,block=B)]";

[[noreturn]] void fail(std::string_view text, const std::string& why) {
  throw std::invalid_argument("quant spec '" + std::string(text) + "': " + why);
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// Splits at `sep` outside '<...>' and '(...)'.
std::vector<std::string> split_top(std::string_view text, std::string_view s, char sep) {
  std::vector<std::string> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    const char c = i < s.size() ? s[i] : sep;
    if (c == '<' || c == '(') ++depth;
    if (c == '>' || c == ')') --depth;
    if (depth < 0) fail(text, "unbalanced brackets");
    if (c != sep || depth != 0) continue;
    parts.push_back(trim(s.substr(start, i - start)));
    start = i + 1;
  }
  if (depth != 0) fail(text, "unbalanced brackets");
  return parts;
}

// A field token: head "(" args ")".
struct Field {
  std::string token, head, args;
  bool has_args = false;
};

Field split_field(std::string_view text, const std::string& token) {
  Field f{token, token, "", false};
  const auto open = token.find('(');
  if (open == std::string::npos) return f;
  if (token.back() != ')') fail(text, "field '" + token + "' must end with ')'");
  f.head = trim(std::string_view(token).substr(0, open));
  f.args = trim(std::string_view(token).substr(open + 1, token.size() - open - 2));
  f.has_args = true;
  return f;
}

bool is_field_head(const std::string& head) {
  static const char* const heads[] = {"per_tensor", "per_channel", "per_group", "absmax", "percentile",
                                      "mse",        "fixed",       "scale",       "rne",       "rna",    "rnz",
                                      "ru",         "rd",          "rz",        "rto",    "sr",
                                      "hadamard",   "rht"};
  for (const char* h : heads)
    if (head == h) return true;
  return false;
}

// Arguments "12,axis=1": positional values first, then key=value pairs.
struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> named;
};

Args parse_args(std::string_view text, const Field& f, std::initializer_list<std::string_view> keys,
                std::size_t max_positional) {
  Args a;
  if (!f.has_args) return a;
  if (f.args.empty()) fail(text, "field '" + f.token + "' has empty parentheses");
  for (const std::string& item : split_top(text, f.args, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (!a.named.empty() || a.positional.size() >= max_positional)
        fail(text, "unexpected argument '" + item + "' in '" + f.token + "'");
      a.positional.push_back(item);
      continue;
    }
    const std::string key = trim(std::string_view(item).substr(0, eq));
    bool known = false;
    std::string valid;
    for (auto k : keys) {
      known = known || key == k;
      valid += std::string(valid.empty() ? "" : ", ") + std::string(k);
    }
    if (!known)
      fail(text, "unknown key '" + key + "' in '" + f.token + "'; valid keys: " + (valid.empty() ? "none" : valid));
    for (const auto& [k, v] : a.named)
      if (k == key) fail(text, "key '" + key + "' given twice in '" + f.token + "'");
    a.named.emplace_back(key, trim(std::string_view(item).substr(eq + 1)));
  }
  return a;
}

std::optional<std::string> get(const Args& a, std::string_view key) {
  for (const auto& [k, v] : a.named)
    if (k == key) return v;
  return std::nullopt;
}

template <class T>
T to_number(std::string_view text, const std::string& what, const std::string& value) {
  T v{};
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size())
    fail(text, what + " needs a number, got '" + value + "'");
  return v;
}

std::string number_string(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

bool names_block_format(const std::string& format_text) {
  if (format_text.find(':') != std::string::npos) return true;  // intB:sym:g128 style
  const std::string name = format_text.substr(0, format_text.find('<'));
  if (name == "mx" || name == "bfp") return true;
  for (const auto& f : formats::named_block_formats())
    if (f.name == name) return true;
  return false;
}

// Canonical block spec with its element rounding split off into `rounding`.
std::string canonical_block(std::string_view text, const std::string& format_text,
                            formats::RoundingSpec& rounding, bool rounding_given) {
  formats::BlockDescription d = formats::BlockFormat::parse(format_text).description();
  if (d.rounding != formats::RoundingSpec{}) {
    if (rounding_given) fail(text, "rounding given both in the block format and as a field");
    rounding = d.rounding;
  }
  d.rounding = {};
  return formats::BlockFormat(d).spec();
}

std::string rounding_token(const QuantSpec& s) {
  if (s.rounding.mode != formats::Rounding::stochastic) return std::string(formats::short_name(s.rounding.mode));
  std::string args;
  if (s.seed != 0) args += "seed=" + std::to_string(s.seed);
  if (s.rounding.random_bits != 32) args += std::string(args.empty() ? "" : ",") + "bits=" + std::to_string(s.rounding.random_bits);
  return args.empty() ? "sr" : "sr(" + args + ")";
}

}  // namespace

QuantSpec parse_quant_spec(std::string_view text) {
  const std::vector<std::string> tokens = split_top(text, text, ':');
  QuantSpec spec;
  // The format is every token before the first field token (block specs contain ':').
  std::size_t first_field = 0;
  while (first_field < tokens.size() && !is_field_head(split_field(text, tokens[first_field]).head)) ++first_field;
  if (first_field == 0) fail(text, "it must start with a format (or 'none')");
  std::string format_text;
  for (std::size_t i = 0; i < first_field; ++i) format_text += (i ? ":" : "") + tokens[i];
  if (format_text.empty()) fail(text, "empty format");

  bool have_granularity = false, have_rule = false, have_scale = false, have_rounding = false,
       have_transform = false;
  for (std::size_t i = first_field; i < tokens.size(); ++i) {
    const Field f = split_field(text, tokens[i]);
    if (f.token.empty()) fail(text, "empty field");
    if (!is_field_head(f.head))
      fail(text, "unknown field '" + f.token + "'; valid fields: " + std::string(kFields));
    auto once = [&](bool& seen, const char* what) {
      if (seen) fail(text, std::string(what) + " given twice (at '" + f.token + "')");
      seen = true;
    };
    if (f.head == "per_tensor") {
      once(have_granularity, "granularity");
      parse_args(text, f, {}, 0);
      spec.granularity = Granularity::per_tensor;
    } else if (f.head == "per_channel") {
      once(have_granularity, "granularity");
      const Args a = parse_args(text, f, {"axis"}, 1);
      spec.granularity = Granularity::per_channel;
      spec.axis = 0;
      if (!a.positional.empty()) spec.axis = to_number<int>(text, "per_channel axis", a.positional[0]);
      if (auto v = get(a, "axis")) spec.axis = to_number<int>(text, "per_channel axis", *v);
    } else if (f.head == "per_group") {
      once(have_granularity, "granularity");
      const Args a = parse_args(text, f, {"size", "axis"}, 1);
      spec.granularity = Granularity::per_group;
      std::optional<std::string> size = a.positional.empty() ? get(a, "size") : a.positional[0];
      if (!size) fail(text, "per_group needs a group size, e.g. per_group(128,axis=-1)");
      spec.group = to_number<Index>(text, "per_group size", *size);
      if (auto v = get(a, "axis")) spec.axis = to_number<int>(text, "per_group axis", *v);
    } else if (f.head == "absmax") {
      once(have_rule, "scale rule");
      parse_args(text, f, {}, 0);
      spec.scale_rule = ScaleRule::absmax;
    } else if (f.head == "percentile") {
      once(have_rule, "scale rule");
      const Args a = parse_args(text, f, {"p"}, 1);
      spec.scale_rule = ScaleRule::percentile;
      if (!a.positional.empty()) spec.percentile = to_number<double>(text, "percentile", a.positional[0]);
      if (auto v = get(a, "p")) spec.percentile = to_number<double>(text, "percentile", *v);
    } else if (f.head == "mse") {
      once(have_rule, "scale rule");
      const Args a = parse_args(text, f, {"steps", "min"}, 0);
      spec.scale_rule = ScaleRule::mse;
      if (auto v = get(a, "steps")) spec.mse_steps = to_number<int>(text, "mse steps", *v);
      if (auto v = get(a, "min")) spec.mse_min_ratio = to_number<double>(text, "mse min", *v);
    } else if (f.head == "fixed") {
      once(have_rule, "scale rule");
      const Args a = parse_args(text, f, {"c"}, 1);
      spec.scale_rule = ScaleRule::fixed;
      std::optional<std::string> c = a.positional.empty() ? get(a, "c") : a.positional[0];
      if (!c) fail(text, "fixed needs a clipping value, e.g. fixed(3.5)");
      spec.clip = to_number<double>(text, "fixed clip", *c);
    } else if (f.head == "scale") {
      once(have_scale, "scale format");
      if (!f.has_args) fail(text, "scale needs a format, e.g. scale(e8m0fnu)");
      spec.scale_format = formats::Format::parse(f.args).spec();
    } else if (f.head == "hadamard" || f.head == "rht") {
      once(have_transform, "transform");
      const bool random = f.head == "rht";
      const Args a = random ? parse_args(text, f, {"seed", "block"}, 0) : parse_args(text, f, {"block"}, 0);
      spec.transform.kind = random ? TransformKind::random_hadamard : TransformKind::hadamard;
      if (auto v = get(a, "block")) spec.transform.block = to_number<Index>(text, "transform block", *v);
      if (auto v = get(a, "seed")) spec.transform.seed = to_number<std::uint64_t>(text, "rht seed", *v);
    } else {  // a rounding mode
      once(have_rounding, "rounding");
      spec.rounding = formats::parse_rounding(f.head);
      if (f.head == "sr") {
        const Args a = parse_args(text, f, {"seed", "bits"}, 0);
        if (auto v = get(a, "seed")) spec.seed = to_number<std::uint64_t>(text, "sr seed", *v);
        if (auto v = get(a, "bits")) spec.rounding.random_bits = to_number<int>(text, "sr bits", *v);
      } else {
        parse_args(text, f, {}, 0);
      }
    }
  }

  if (format_text == "none") {
    if (tokens.size() > 1) fail(text, "'none' (identity) takes no fields");
    return QuantSpec::identity();
  }
  if (names_block_format(format_text)) {
    try {
      spec.format = canonical_block(text, format_text, spec.rounding, have_rounding);
    } catch (const std::invalid_argument&) {
      // "e4m3fn:bogus" is an unknown field after an element format, not a bad block spec.
      const bool int_block_syntax = tokens[0].rfind("int", 0) == 0 || tokens[0].rfind("uint", 0) == 0;
      if (first_field > 1 && !int_block_syntax && !formats::Format::parse(tokens[0]).spec().empty())
        fail(text, "unknown field '" + tokens[1] + "'; valid fields: " + std::string(kFields));
      throw;
    }
    spec.is_block = true;
    if (have_granularity)
      fail(text, "block format '" + format_text + "' brings its own blocks; drop the granularity field "
                 "(block options such as <block=..,axis=..> go inside the format)");
    if (have_rule || have_scale)
      fail(text, "block format '" + format_text + "' brings its own scale rule and scale format "
                 "(set them with <rule=..,scale=..> inside the format)");
    spec.granularity = Granularity::per_block;
  } else {
    try {
      spec.format = formats::Format::parse(format_text).spec();
    } catch (const formats::UnknownFormat& e) {
      throw formats::UnknownFormat(std::string(e.what()) + "; block formats: " + formats::valid_block_format_names() +
                                   "; or 'none' for the identity");
    }
    if (!spec.is_scaled() && (have_rule || have_scale))
      fail(text, "a scale rule or scale format needs a granularity: per_tensor, per_channel(axis=A) or "
                 "per_group(G,axis=A)");
  }
  validate(spec);
  return spec;
}

std::string to_string(const QuantSpec& s) {
  if (s.is_identity()) return "none";
  std::string out = s.format;
  switch (s.granularity) {
    case Granularity::per_tensor: out += ":per_tensor"; break;
    case Granularity::per_channel: out += ":per_channel(axis=" + std::to_string(s.axis) + ")"; break;
    case Granularity::per_group:
      out += ":per_group(" + std::to_string(s.group) + ",axis=" + std::to_string(s.axis) + ")";
      break;
    default: break;
  }
  if (s.granularity != Granularity::unscaled && s.granularity != Granularity::per_block) {
    if (s.scale_rule == ScaleRule::percentile) out += ":percentile(" + number_string(s.percentile) + ")";
    if (s.scale_rule == ScaleRule::fixed) out += ":fixed(" + number_string(s.clip) + ")";
    if (s.scale_rule == ScaleRule::mse) {
      out += ":mse";
      if (s.mse_steps != QuantSpec{}.mse_steps || s.mse_min_ratio != QuantSpec{}.mse_min_ratio)
        out += "(steps=" + std::to_string(s.mse_steps) + ",min=" + number_string(s.mse_min_ratio) + ")";
    }
    if (s.scale_format != QuantSpec{}.scale_format) out += ":scale(" + s.scale_format + ")";
  }
  if (s.rounding != formats::RoundingSpec{} || s.seed != 0) {
    out += ':';
    out += rounding_token(s);
  }
  if (s.transform.kind != TransformKind::none) {
    const bool random = s.transform.kind == TransformKind::random_hadamard;
    std::string args;
    if (random && s.transform.seed != 0) args += "seed=" + std::to_string(s.transform.seed);
    if (s.transform.block != 0) args += std::string(args.empty() ? "" : ",") + "block=" + std::to_string(s.transform.block);
    out += std::string(random ? ":rht" : ":hadamard") + (args.empty() ? "" : "(" + args + ")");
  }
  return out;
}

void validate(const QuantSpec& s) {
  const std::string name = "quant spec '" + to_string(s) + "': ";
  auto bad = [&](const std::string& why) { throw std::invalid_argument(name + why); };
  if (s.is_identity()) {
    if (!(s == QuantSpec::identity())) bad("the identity ('none') takes no other settings");
    return;
  }
  if (s.is_block) {
    formats::BlockFormat::parse(s.format);
    if (s.granularity != Granularity::per_block) bad("a block format needs granularity per_block");
  } else {
    formats::Format::parse(s.format);
    if (s.granularity == Granularity::per_block) bad("per_block needs a block format (mxfp4, nvfp4, int4:sym:g128, ...)");
  }
  if (s.granularity == Granularity::per_group && s.group <= 0)
    bad("per_group needs a group size >= 1, got " + std::to_string(s.group));
  if (s.scale_rule == ScaleRule::percentile && !(s.percentile > 0 && s.percentile <= 100))
    bad("percentile must lie in (0, 100], got " + number_string(s.percentile));
  if (s.scale_rule == ScaleRule::fixed && !(std::isfinite(s.clip) && s.clip >= 0))
    bad("fixed clip must be finite and >= 0, got " + number_string(s.clip));
  if (s.scale_rule == ScaleRule::mse && (s.mse_steps < 1 || !(s.mse_min_ratio > 0 && s.mse_min_ratio <= 1)))
    bad("mse needs steps >= 1 and 0 < min <= 1, got steps=" + std::to_string(s.mse_steps) +
        ", min=" + number_string(s.mse_min_ratio));
  const formats::Format scale = formats::Format::parse(s.scale_format);
  if (!scale.has_nan())
    bad("scale format '" + s.scale_format + "' has no NaN code (needed for groups holding NaN/Inf); "
        "use a float format such as fp32, bf16, fp16, e8m0fnu, e4m3fn");
  if (s.rounding.random_bits < 1 || s.rounding.random_bits > 32)
    bad("sr bits must lie in [1, 32], got " + std::to_string(s.rounding.random_bits));
  if (s.transform.block < 0 || (s.transform.block & (s.transform.block - 1)) != 0)
    bad("transform block must be 0 (automatic) or a power of two, got " + std::to_string(s.transform.block));
}

}  // namespace bitsim::sim
