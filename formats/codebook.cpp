// Codebook formats: the NF tables, spec parsing and printing (codebook.hpp).
#include "formats/codebook.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cctype>
#include <stdexcept>

namespace bitsim::formats {
namespace {

[[noreturn]] void fail(const std::string& why) { throw std::invalid_argument("codebook: " + why); }

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// The NF4 table as published: QLoRA (Dettmers, Pagnoni, Holtzman, Zettlemoyer 2023,
// arXiv 2305.14314), appendix E, the values bitsandbytes ships; every entry is a float32.
constexpr double kNf4[16] = {-1.0,
                             -0.6961928009986877,
                             -0.5250730514526367,
                             -0.39491748809814453,
                             -0.28444138169288635,
                             -0.18477343022823334,
                             -0.09105003625154495,
                             0.0,
                             0.07958029955625534,
                             0.16093020141124725,
                             0.24611230194568634,
                             0.33791524171829224,
                             0.44070982933044434,
                             0.5626170039176941,
                             0.7229568362236023,
                             1.0};

constexpr int kMinNfBits = 2, kMaxNfBits = 8;

// Upper-tail quantile: z with P(Z > z) = tail, 0 < tail <= 1/2, by Newton steps on the
// tail probability 0.5 erfc(z / sqrt 2), which is accurate where the tail is small.
double upper_tail_quantile(double tail) {
  const double inv_sqrt2 = 0.70710678118654752440, inv_sqrt2pi = 0.39894228040143267794;
  double z = 0;
  for (int i = 0; i < 200; ++i) {
    const double f = 0.5 * std::erfc(z * inv_sqrt2) - tail;  // decreasing in z
    const double density = inv_sqrt2pi * std::exp(-0.5 * z * z);
    const double step = f / density;
    z += step;
    if (std::fabs(step) <= 1e-17 * std::max(1.0, std::fabs(z))) break;
  }
  return z;
}

std::string shortest(float v) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  return std::string(buffer, end);
}

double to_number(const std::string& text) {
  double v = 0;
  const char* first = text.data();
  if (!text.empty() && text.front() == '+') ++first;
  const auto [end, ec] = std::from_chars(first, text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) {
    fail("'" + text + "' is not a number (values are decimal numbers; options: nan=zero|max)");
  }
  return v;
}

}  // namespace

double normal_quantile(double p) {
  if (!(p > 0 && p < 1)) throw std::invalid_argument("normal_quantile: p must lie in (0, 1)");
  return p >= 0.5 ? upper_tail_quantile(1.0 - p) : -upper_tail_quantile(p);
}

double Codebook::min_positive() const {
  for (int i = 0; i < count; ++i) {
    if (values[i] > 0) return values[i];
  }
  return 0;
}

// The gap from the largest value <= 1 to the next one above; when nothing lies above,
// the gap below that value (NF tables end at 1: the gap between their two largest values).
double Codebook::spacing_near_one() const {
  int i = 0;
  while (i + 1 < count && values[i + 1] <= 1.0f) ++i;
  if (i + 1 < count) return double(values[i + 1]) - double(values[i]);
  return double(values[i]) - double(values[i - 1]);
}

void Codebook::validate() const {
  if (count < 2 || count > kMaxValues) {
    fail("a codebook needs 2.." + std::to_string(kMaxValues) + " values, got " + std::to_string(count));
  }
  float smallest = 0, largest = 0;  // nonzero magnitudes
  for (int i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) fail("values must be finite");
    if (i > 0 && !(values[i - 1] < values[i])) fail("values must be distinct and increasing");
    const float m = std::fabs(values[i]);
    if (m != 0) {
      smallest = smallest == 0 ? m : std::min(smallest, m);
      largest = std::max(largest, m);
    }
  }
  if (largest != 0 && std::ilogb(largest) - std::ilogb(smallest) >= 64) {
    fail("nonzero magnitudes must lie within a factor 2^64 of each other");
  }
  for (int i = count; i < kMaxValues; ++i) {
    if (values[i] != 0) fail("entries past the count must be 0");
  }
}

Codebook make_codebook(std::vector<double> values, NanRule nan_rule) {
  if (values.size() < 2 || values.size() > std::size_t(Codebook::kMaxValues)) {
    fail("a codebook needs 2.." + std::to_string(Codebook::kMaxValues) + " values, got " +
         std::to_string(values.size()));
  }
  Codebook f;
  f.count = int(values.size());
  f.nan_rule = nan_rule;
  std::vector<float> rounded;
  for (double v : values) {
    if (!std::isfinite(v)) fail("values must be finite");
    if (std::fabs(v) > double(std::numeric_limits<float>::max())) fail("values must lie within float32's range");
    rounded.push_back(float(v));  // nearest float32 (ties to even)
  }
  std::sort(rounded.begin(), rounded.end());
  for (std::size_t i = 0; i < rounded.size(); ++i) {
    if (i > 0 && rounded[i] == rounded[i - 1]) fail("value " + shortest(rounded[i]) + " appears twice");
    f.values[i] = rounded[i] == 0 ? 0.0f : rounded[i];  // -0 and +0 are one value: +0
  }
  f.validate();
  return f;
}

double normal_float_outer_probability(int bits) {
  const double n = double(1 << bits);
  return 1.0 - 0.5 * (1.0 / (2.0 * (n - 1.0)) + 1.0 / (2.0 * n));
}

Codebook normal_float_construction(int bits, double outer_probability) {
  if (bits < kMinNfBits || bits > kMaxNfBits) {
    fail("nf<bits=K> needs K = " + std::to_string(kMinNfBits) + ".." + std::to_string(kMaxNfBits) +
         ", got " + std::to_string(bits));
  }
  if (outer_probability == 0) outer_probability = normal_float_outer_probability(bits);
  if (!(outer_probability > 0.5 && outer_probability < 1)) fail("the outer probability must lie in (1/2, 1)");
  // QLoRA's construction (section 3, "4-bit NormalFloat"), in the arithmetic bitsandbytes'
  // table was made with, so that k = 4 with its offset 0.9677083 gives the published
  // values bit for bit (tested): probabilities are float32 points of linspace(P, 1/2, m + 1)
  // without the last (computed as torch does: start + i step for the first half, end -
  // (m - i) step for the rest), m = 2^(k-1) on the positive side and 2^(k-1) - 1 on the
  // negative side (mirrored); each quantile Phi^-1 in double, rounded to float32; zero
  // joins them; every value is divided in float32 by the largest, so the table spans [-1, 1].
  const int sides[2] = {1 << (bits - 1), (1 << (bits - 1)) - 1};
  const float start = float(outer_probability), end = 0.5f;
  std::vector<float> raw;
  for (int side = 0; side < 2; ++side) {
    const int m = sides[side];
    const float step = (end - start) / float(m);
    for (int i = 0; i < m; ++i) {
      const float p = i < (m + 1) / 2 ? start + float(i) * step : end - float(m - i) * step;
      const float z = float(normal_quantile(double(p)));
      raw.push_back(side == 0 ? z : -z);
    }
  }
  const float largest = *std::max_element(raw.begin(), raw.end());
  std::vector<double> v{0.0};
  for (float z : raw) v.push_back(double(z / largest));
  return make_codebook(v);
}

Codebook normal_float(int bits) {
  static const std::array<Codebook, kMaxNfBits + 1> tables = [] {
    std::array<Codebook, kMaxNfBits + 1> t{};
    for (int k = kMinNfBits; k <= kMaxNfBits; ++k) {
      t[k] = k == 4 ? make_codebook(std::vector<double>(std::begin(kNf4), std::end(kNf4)))
                    : normal_float_construction(k, 0);
    }
    return t;
  }();
  if (bits < kMinNfBits || bits > kMaxNfBits) normal_float_construction(bits, 0);  // throws the message
  return tables[bits];
}

std::optional<Codebook> parse_codebook_spec(std::string_view spec) {
  const std::string text = trim(spec);
  const auto open = text.find('<');
  const std::string name = trim(std::string_view(text).substr(0, open));
  const bool is_codebook = name == "codebook";
  int bits = 0;
  if (!is_codebook) {
    if (!name.starts_with("nf")) return std::nullopt;
    const std::string digits = name.substr(2);
    if (!digits.empty()) {
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), bits);
      if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    }
  }
  std::vector<std::string> items;
  if (open != std::string::npos) {
    if (text.back() != '>') fail("missing '>' at the end of '" + text + "'");
    std::string_view body = std::string_view(text).substr(open + 1, text.size() - open - 2);
    while (!body.empty()) {
      const auto comma = body.find(',');
      items.push_back(trim(body.substr(0, comma)));
      body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
      if (items.back().empty()) fail("empty item in '" + text + "'");
    }
  }
  NanRule nan_rule = NanRule::zero;
  bool nan_given = false;
  std::vector<double> values;
  for (const std::string& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (!is_codebook) fail("unknown option '" + item + "' for nf; valid: bits=2..8, nan=zero|max");
      values.push_back(to_number(item));
      continue;
    }
    const std::string key = trim(std::string_view(item).substr(0, eq));
    const std::string value = trim(std::string_view(item).substr(eq + 1));
    if (key == "nan" && !nan_given) {
      nan_rule = parse_nan_rule(value);
      nan_given = true;
    } else if (key == "bits" && !is_codebook && bits == 0) {
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), bits);
      if (ec != std::errc() || end != value.data() + value.size()) fail("bits needs an integer, got '" + value + "'");
    } else {
      fail("unknown or repeated option '" + key + "' in '" + text + "'; valid: " +
           (is_codebook ? "the values, nan=zero|max" : "bits=2..8 (or nfK), nan=zero|max"));
    }
  }
  if (is_codebook) return make_codebook(values, nan_rule);
  if (bits == 0) fail("nf needs its bits: nf4, nf3 or nf<bits=K>, K = 2..8");
  Codebook f = normal_float(bits);
  f.nan_rule = nan_rule;
  return f;
}

std::string to_spec(const Codebook& f) {
  const std::string nan = f.nan_rule == NanRule::max ? "nan=max" : "";
  for (int k = kMinNfBits; k <= kMaxNfBits; ++k) {
    Codebook nf = normal_float(k);
    nf.nan_rule = f.nan_rule;
    if (nf != f) continue;
    std::string s = "nf";
    s += std::to_string(k);
    if (!nan.empty()) s += "<" + nan + ">";
    return s;
  }
  std::string s = "codebook<";
  for (int i = 0; i < f.count; ++i) {
    if (i) s += ',';
    s += shortest(f.values[i]);
  }
  if (!nan.empty()) {
    s += ',';
    s += nan;
  }
  s += '>';
  return s;
}

}  // namespace bitsim::formats
