// Parsing and printing of format spec strings (grammar in format.hpp and formats/README.md).
#include <charconv>
#include <cctype>
#include <map>
#include <optional>
#include <string>

#include "formats/format.hpp"

namespace bitsim::formats {
namespace {

[[noreturn]] void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument("format '" + std::string(spec) + "': " + why);
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

int to_int(std::string_view spec, const std::string& key, const std::string& value) {
  int v = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size()) {
    fail(spec, "option " + key + " needs an integer, got '" + value + "'");
  }
  return v;
}

bool to_bool(std::string_view spec, const std::string& key, const std::string& value) {
  if (value == "true" || value == "1" || value.empty()) return true;
  if (value == "false" || value == "0") return false;
  fail(spec, "option " + key + " needs true or false, got '" + value + "'");
}

Specials to_specials(std::string_view spec, const std::string& value) {
  for (Specials s : {Specials::ieee, Specials::fn, Specials::fnuz, Specials::none}) {
    if (to_string(s) == value) return s;
  }
  fail(spec, "specials must be one of ieee, fn, fnuz, none; got '" + value + "'");
}

// "int8" -> {8, signed}; "uint4" -> {4, unsigned}; nullopt otherwise.
std::optional<FixedPoint> integer_name(std::string_view name) {
  bool is_signed = true;
  if (name.starts_with("uint")) {
    is_signed = false;
    name.remove_prefix(4);
  } else if (name.starts_with("int")) {
    name.remove_prefix(3);
  } else {
    return std::nullopt;
  }
  int bits = 0;
  if (name.empty()) return FixedPoint{0, is_signed};  // bits must come as an option
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), bits);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  return FixedPoint{bits, is_signed};
}

Format::Repr base_of(std::string_view spec, const std::string& name) {
  for (const auto& f : named_formats()) {
    if (f.name == name) return f.format;
  }
  if (name == "fp") return MiniFloat{0, -1, 0};  // e and m must come as options
  if (auto integer = integer_name(name)) return *integer;
  throw UnknownFormat("unknown format '" + std::string(spec) + "'; valid: " + valid_format_names());
}

void apply(std::string_view spec, MiniFloat& f, const std::map<std::string, std::string>& options,
           bool generic) {
  bool bias_given = false;
  for (const auto& [key, value] : options) {
    if (key == "e") f.exponent_bits = to_int(spec, key, value);
    else if (key == "m") f.mantissa_bits = to_int(spec, key, value);
    else if (key == "bias") { f.bias = to_int(spec, key, value); bias_given = true; }
    else if (key == "specials") f.specials = to_specials(spec, value);
    else if (key == "signed") f.is_signed = to_bool(spec, key, value);
    else if (key == "subnormals") f.subnormals = to_bool(spec, key, value);
    else if (key == "overflow") f.overflow = parse_overflow(value);
    else if (key == "nan") f.nan_rule = parse_nan_rule(value);
    else if (key == "ftz_in") f.flush_input_subnormals = to_bool(spec, key, value);
    else if (key == "ftz_out") f.flush_output_subnormals = to_bool(spec, key, value);
    else {
      fail(spec, "unknown option '" + key +
                     "' for a float format; valid: e, m, bias, specials, signed, subnormals, "
                     "overflow, nan, ftz_in, ftz_out");
    }
  }
  if (generic) {
    if (!options.contains("e") || !options.contains("m")) fail(spec, "fp<...> needs both e and m");
    // Defaults that follow from the specials, unless given: IEEE bias, +1 for fnuz (as
    // ml_dtypes), and the overflow policy of the family.
    // (An out-of-range e is left for validate() to report.)
    if (!bias_given && f.exponent_bits >= 1 && f.exponent_bits <= 11) {
      f.bias = (1 << (f.exponent_bits - 1)) - 1 + (f.specials == Specials::fnuz ? 1 : 0);
    }
    if (!options.contains("overflow")) {
      f.overflow = f.specials == Specials::ieee ? Overflow::infinity
                   : f.specials == Specials::none ? Overflow::saturate : Overflow::nan;
    }
  }
}

void apply(std::string_view spec, FixedPoint& f, const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options) {
    if (key == "bits") f.bits = to_int(spec, key, value);
    else if (key == "frac") f.fraction_bits = to_int(spec, key, value);
    else if (key == "narrow") f.narrow = to_bool(spec, key, value);
    else if (key == "nan") f.nan_rule = parse_nan_rule(value);
    else if (key == "overflow" && value == "saturate") continue;
    else if (key == "overflow") fail(spec, "integer formats only saturate (overflow=saturate)");
    else fail(spec, "unknown option '" + key + "' for an integer format; valid: bits, frac, narrow, nan");
  }
  if (f.bits == 0) fail(spec, "int<...> needs bits=N (or write intN)");
}

}  // namespace

Format Format::parse(std::string_view spec) {
  const std::string text = trim(spec);
  // Posits and LNS have positional parameters ("posit<8,2>", "lns<4,3>"), which the
  // key=value map below would lose: their own parsers take the whole text.
  try {
    if (auto p = parse_posit_spec(text)) return Format(*p);
    if (auto f = parse_lns_spec(text)) return Format(*f);
    if (auto c = parse_codebook_spec(text)) return Format(*c);
  } catch (const std::invalid_argument& e) {
    fail(spec, e.what());
  }
  const auto open = text.find('<');
  const std::string name = trim(std::string_view(text).substr(0, open));
  std::map<std::string, std::string> options;
  if (open != std::string::npos) {
    if (text.back() != '>') fail(spec, "missing '>' at the end of the options");
    std::string_view body = std::string_view(text).substr(open + 1, text.size() - open - 2);
    while (!body.empty()) {
      const auto comma = body.find(',');
      const std::string item = trim(body.substr(0, comma));
      body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
      if (item.empty()) fail(spec, "empty option");
      const auto eq = item.find('=');
      const std::string key = trim(std::string_view(item).substr(0, eq));
      const std::string value = eq == std::string::npos ? "" : trim(std::string_view(item).substr(eq + 1));
      if (!options.emplace(key, value).second) fail(spec, "option '" + key + "' given twice");
    }
  }
  Repr repr = base_of(spec, name);
  if (auto* f = std::get_if<MiniFloat>(&repr)) apply(spec, *f, options, name == "fp");
  if (auto* f = std::get_if<FixedPoint>(&repr)) apply(spec, *f, options);
  try {
    return Format(repr);
  } catch (const std::invalid_argument& e) {
    fail(spec, e.what());
  }
}

// Canonical spec: a named format when one matches exactly, else the generic form with
// every parameter.
std::string canonical_spec(const Format::Repr& repr) {
  for (const auto& f : named_formats()) {
    if (f.format == repr) return std::string(f.name);
  }
  for (const auto& f : extra_named_formats()) {
    if (f.format == repr) return std::string(f.name);
  }
  if (const auto* p = std::get_if<Posit>(&repr)) return to_spec(*p);
  if (const auto* f = std::get_if<Lns>(&repr)) return to_spec(*f);
  if (const auto* c = std::get_if<Codebook>(&repr)) return to_spec(*c);
  if (const auto* f = std::get_if<FixedPoint>(&repr)) {
    std::string s = (f->is_signed ? "int" : "uint") + std::to_string(f->bits);
    std::string opts;
    if (f->fraction_bits != 0) opts += ",frac=" + std::to_string(f->fraction_bits);
    if (f->narrow) opts += ",narrow=true";
    if (f->nan_rule != NanRule::zero) opts += ",nan=max";
    return opts.empty() ? s : s + "<" + opts.substr(1) + ">";
  }
  const auto& f = std::get<MiniFloat>(repr);
  // The policies, spelled only where they differ from `base`'s.
  const auto policy_options = [&f](const MiniFloat& base) {
    std::string o;
    if (f.overflow != base.overflow) o += ",overflow=" + std::string(to_string(f.overflow));
    if (f.nan_rule != base.nan_rule) o += ",nan=" + std::string(to_string(f.nan_rule));
    if (f.flush_input_subnormals) o += ",ftz_in=true";
    if (f.flush_output_subnormals) o += ",ftz_out=true";
    return o;
  };
  for (const auto& named : named_formats()) {
    const auto* base = std::get_if<MiniFloat>(&named.format);
    if (base && base->exponent_bits == f.exponent_bits && base->mantissa_bits == f.mantissa_bits &&
        base->bias == f.bias && base->specials == f.specials && base->is_signed == f.is_signed &&
        base->subnormals == f.subnormals) {
      return std::string(named.name) + "<" + policy_options(*base).substr(1) + ">";
    }
  }
  std::string s = "fp<e=" + std::to_string(f.exponent_bits) + ",m=" + std::to_string(f.mantissa_bits) +
                  ",bias=" + std::to_string(f.bias) + ",specials=" + std::string(to_string(f.specials));
  if (!f.is_signed) s += ",signed=false";
  if (!f.subnormals) s += ",subnormals=false";
  MiniFloat family_defaults = f;
  family_defaults.overflow = f.specials == Specials::ieee ? Overflow::infinity
                             : f.specials == Specials::none ? Overflow::saturate : Overflow::nan;
  family_defaults.nan_rule = NanRule::zero;
  return s + policy_options(family_defaults) + ">";
}

}  // namespace bitsim::formats
