// LNS spec strings (grammar in lns.hpp and formats/LNS.md).
#include "formats/lns.hpp"

#include <charconv>

namespace bitsim::formats {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument("bad lns spec '" + std::string(spec) + "': " + why +
                              " (valid: lns<I,F>, lns<int=I,frac=F>, lns8, lns16; options "
                              "round=log|linear, overflow=saturate|nan; I = 1..10, F = 0..23)");
}

// "'text'" (built by appending: GCC 12 warns, wrongly, about "'" + std::string(...)).
std::string quoted(std::string_view text) {
  std::string s(1, '\'');
  s.append(text);
  s.push_back('\'');
  return s;
}

int to_int(std::string_view spec, std::string_view text) {
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    fail(spec, quoted(text) + " is not a number");
  }
  return value;
}

std::optional<Lns> base_lns(std::string_view name) {
  if (name == "lns") return Lns{0, -1};  // int and frac must follow
  if (name == "lns8") return Lns{4, 3};
  if (name == "lns16") return Lns{5, 10};
  return std::nullopt;
}

}  // namespace

std::optional<Lns> parse_lns_spec(std::string_view spec) {
  const std::string_view text = trim(spec);
  const auto open = text.find('<');
  auto f = base_lns(trim(text.substr(0, open)));
  if (!f) return std::nullopt;
  if (open != std::string_view::npos) {
    if (text.back() != '>') fail(spec, "missing '>'");
    std::string_view body = text.substr(open + 1, text.size() - open - 2);
    int position = 0;
    bool seen[4] = {};
    while (!body.empty()) {
      const auto comma = body.find(',');
      const std::string_view item = trim(body.substr(0, comma));
      body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
      const auto eq = item.find('=');
      std::string_view key, value = trim(item.substr(eq == std::string_view::npos ? 0 : eq + 1));
      if (eq == std::string_view::npos) {  // positional: int bits, then frac bits
        if (position > 1) fail(spec, "at most two positional parameters (int bits, frac bits)");
        key = position++ == 0 ? "int" : "frac";
      } else {
        key = trim(item.substr(0, eq));
      }
      const int slot = key == "int" ? 0 : key == "frac" ? 1 : key == "round" ? 2 : key == "overflow" ? 3 : -1;
      if (slot < 0) fail(spec, "unknown option " + quoted(key) + " (valid: int, frac, round, overflow)");
      if (seen[slot]) fail(spec, "option " + quoted(key) + " given twice");
      seen[slot] = true;
      if (slot == 0) f->int_bits = to_int(spec, value);
      if (slot == 1) f->frac_bits = to_int(spec, value);
      if (slot == 2) {
        if (value == "log") f->domain = LnsDomain::log;
        else if (value == "linear") f->domain = LnsDomain::linear;
        else fail(spec, "round must be log or linear, got " + quoted(value));
      }
      if (slot == 3) {
        if (value == "saturate") f->overflow = Overflow::saturate;
        else if (value == "nan") f->overflow = Overflow::nan;
        else fail(spec, "overflow must be saturate or nan, got " + quoted(value));
      }
    }
  }
  if (f->int_bits == 0 || f->frac_bits < 0) fail(spec, "lns needs int and frac bits, as lns<4,3>");
  try {
    f->validate();
  } catch (const std::invalid_argument& e) {
    fail(spec, e.what());
  }
  return f;
}

std::string to_spec(const Lns& f) {
  std::string s = "lns<" + std::to_string(f.int_bits) + "," + std::to_string(f.frac_bits);
  if (f.domain == LnsDomain::linear) s += ",round=linear";
  if (f.overflow == Overflow::nan) s += ",overflow=nan";
  return s + ">";
}

}  // namespace bitsim::formats
