// bitsim against ml_dtypes, an independent implementation of the same small formats.
//
// The vectors were generated once by tests/data/gen_ml_dtypes_vectors.py and committed
// with it (tests/data/README.md: versions, file layout, which inputs and why). Per format:
//   decode: the float32 value of every code;
//   encode: Format::encode(float) of every input against ml_dtypes' default astype(), its
//           non-saturating conversion (overflow gives NaN or inf; checked below).
// Where bitsim's documented semantics differ from ml_dtypes', the difference has a rule
// here that recognises it narrowly: it checks that both codes are exactly the ones the
// documentation predicts. Any other difference fails with the format, input and codes.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "formats/format.hpp"

namespace {

using bitsim::formats::Format;
using bitsim::formats::Overflow;
using bitsim::formats::Rounding;
using bitsim::formats::RoundingSpec;

// One file of tests/data/ml_dtypes (layout in tests/data/README.md).
struct Oracle {
  std::string ml_type;
  int code_bits = 0;
  std::vector<std::uint32_t> decoded;  // float32 bits of ml_dtypes' value of code i
  std::vector<std::uint32_t> inputs;   // float32 bits
  std::vector<std::uint64_t> codes;    // ml_dtypes' code for inputs[i]
};

std::uint64_t little_endian(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Oracle read_oracle(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  const std::vector<unsigned char> bytes{std::istreambuf_iterator<char>(in), {}};
  constexpr std::size_t kHeader = 40;
  if (bytes.size() < kHeader || std::memcmp(bytes.data(), "BSML", 4) != 0 ||
      little_endian(&bytes[4], 2) != 1) {
    throw std::runtime_error(path + ": not a version 1 BSML vector file");
  }
  Oracle o;
  o.code_bits = bytes[6];
  const int code_bytes = bytes[7];
  const std::uint64_t decode_count = little_endian(&bytes[8], 4);
  const std::uint64_t encode_count = little_endian(&bytes[12], 4);
  const char* name = reinterpret_cast<const char*>(&bytes[16]);
  o.ml_type.assign(name, strnlen(name, 24));
  if (bytes.size() != kHeader + 4 * decode_count + (4 + code_bytes) * encode_count) {
    throw std::runtime_error(path + ": size does not match its header");
  }
  const unsigned char* p = &bytes[kHeader];
  auto take = [&p](int width) {
    const std::uint64_t v = little_endian(p, width);
    p += width;
    return v;
  };
  for (std::uint64_t i = 0; i < decode_count; ++i) o.decoded.push_back(std::uint32_t(take(4)));
  for (std::uint64_t i = 0; i < encode_count; ++i) o.inputs.push_back(std::uint32_t(take(4)));
  for (std::uint64_t i = 0; i < encode_count; ++i) o.codes.push_back(take(code_bytes));
  return o;
}

struct OracleCase {
  std::string_view format;
  std::string_view ml_type;
  // What ml_dtypes' astype does: nearest-even for floats. For integers it truncates (a C
  // cast, then wraps); the generator kept only inputs whose truncation is in range.
  Rounding rounding;
};

constexpr OracleCase kCases[] = {
    {"e4m3fn", "float8_e4m3fn", Rounding::nearest_even},
    {"e5m2", "float8_e5m2", Rounding::nearest_even},
    {"e4m3", "float8_e4m3", Rounding::nearest_even},
    {"e4m3fnuz", "float8_e4m3fnuz", Rounding::nearest_even},
    {"e5m2fnuz", "float8_e5m2fnuz", Rounding::nearest_even},
    {"e4m3b11fnuz", "float8_e4m3b11fnuz", Rounding::nearest_even},
    {"e3m4", "float8_e3m4", Rounding::nearest_even},
    {"e3m2fn", "float6_e3m2fn", Rounding::nearest_even},
    {"e2m3fn", "float6_e2m3fn", Rounding::nearest_even},
    {"e2m1fn", "float4_e2m1fn", Rounding::nearest_even},
    {"e8m0fnu", "float8_e8m0fnu", Rounding::nearest_even},
    {"bf16", "bfloat16", Rounding::nearest_even},
    {"int4", "int4", Rounding::toward_zero},
    {"uint4", "uint4", Rounding::toward_zero},
    {"int2", "int2", Rounding::toward_zero},
};

std::string oracle_path(std::string_view format) {
  return std::string(BITSIM_TEST_DATA) + "/ml_dtypes/" + std::string(format) + ".bin";
}

std::string hex_float(float x) {
  char text[48];
  std::snprintf(text, sizeof text, "%a (bits 0x%08x)", double(x), std::bit_cast<std::uint32_t>(x));
  return text;
}

std::string hex_code(std::uint64_t code) {
  char text[24];
  std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(code));
  return text;
}

// ---- documented differences ----
// (Agreements that need no rule: E8M0 0, -0 and negative inputs give NaN 0xFF in both; NaN
// inputs give the format's canonical NaN, sign kept where it has one, in both.)

struct EncodeDifference {
  const Format& format;
  float input;
  std::uint64_t ours;
  std::uint64_t theirs;
};

struct EncodeRule {
  std::string_view kind;
  bool (*matches)(const EncodeDifference&);
};

bool is_e8m0(const Format& f) { return f.spec() == "e8m0fnu"; }

// A NaN into a format without NaN: bitsim's nan_rule zero gives +0; ml_dtypes gives a zero
// code, the sign-only one (-0) for a positive NaN (it agrees, +0, for a negative NaN).
bool nan_into_format_without_nan(const EncodeDifference& d) {
  const std::uint64_t sign_only = std::uint64_t(1) << (d.format.bits() - 1);
  return std::isnan(d.input) && !d.format.has_nan() && d.ours == 0 && d.theirs == sign_only;
}

// E8M0 ties (1.5 * 2^k): bitsim's rne takes the even code, ml_dtypes always the code above.
bool e8m0_tie_rounds_up_in_ml_dtypes(const EncodeDifference& d) {
  int exponent = 0;
  if (!is_e8m0(d.format) || !(d.input > 0) || std::frexp(double(d.input), &exponent) != 0.75) {
    return false;
  }
  const double below = std::ldexp(1.0, exponent - 1);
  return d.format.decode(d.ours) == below && d.ours % 2 == 0 && d.theirs == d.ours + 1;
}

// E8M0, float32 subnormals in (2^-127, 1.5 * 2^-127): nearest is 2^-127 (bitsim);
// ml_dtypes gives 2^-126.
bool e8m0_subnormal_goes_up_in_ml_dtypes(const EncodeDifference& d) {
  const double least = std::ldexp(1.0, -127);
  const double v = d.input;
  return is_e8m0(d.format) && std::fpclassify(d.input) == FP_SUBNORMAL && v > least &&
         v < 1.5 * least && d.format.decode(d.ours) == least &&
         d.format.decode(d.theirs) == 2 * least;
}

constexpr EncodeRule kEncodeRules[] = {
    {"NaN -> +0 (ml_dtypes -0)", nan_into_format_without_nan},
    {"e8m0 tie: even (ml_dtypes up)", e8m0_tie_rounds_up_in_ml_dtypes},
    {"e8m0 f32 subnormal < 1.5*2^-127", e8m0_subnormal_goes_up_in_ml_dtypes},
};

// Decoding a NaN code: bitsim gives the canonical quiet NaN with the code's sign; ml_dtypes
// keeps a bfloat16 NaN's payload (its code is the top half of a float32).
constexpr std::string_view kNanPayload = "decode NaN: canonical (ml_dtypes payload)";
bool nan_payload_dropped(std::uint32_t ours, std::uint32_t theirs) {
  return std::isnan(std::bit_cast<float>(theirs)) && ours == (0x7fc00000u | (theirs & 0x80000000u));
}

// ---- comparison ----

struct Tally {
  std::size_t decode_compared = 0, decode_agreed = 0;
  std::size_t encode_compared = 0, encode_agreed = 0;
  std::size_t undocumented = 0;
  std::map<std::string_view, std::size_t> documented;
};

constexpr std::size_t kReportedPerFormat = 10;  // failures printed per format; all are counted

void compare_decode(const OracleCase& c, const Format& format, const Oracle& oracle, Tally& t) {
  std::vector<std::uint64_t> codes(oracle.decoded.size());
  for (std::size_t i = 0; i < codes.size(); ++i) codes[i] = i;
  std::vector<float> values(codes.size());
  format.decode(codes, values);
  for (std::size_t code = 0; code < codes.size(); ++code) {
    const std::uint32_t ours = std::bit_cast<std::uint32_t>(values[code]);
    const std::uint32_t theirs = oracle.decoded[code];
    ++t.decode_compared;
    if (ours == theirs) {
      ++t.decode_agreed;
    } else if (nan_payload_dropped(ours, theirs)) {
      ++t.documented[kNanPayload];
    } else if (t.undocumented++ < kReportedPerFormat) {
      FAIL_CHECK("decode " << std::string(c.format) << " code " << hex_code(code) << ": bitsim "
                               << hex_float(values[code]) << ", ml_dtypes "
                               << hex_float(std::bit_cast<float>(theirs)));
    }
  }
}

void compare_encode(const OracleCase& c, const Format& format, const Oracle& oracle, Tally& t) {
  const RoundingSpec rounding{c.rounding};
  std::vector<float> inputs(oracle.inputs.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i] = std::bit_cast<float>(oracle.inputs[i]);
  std::vector<std::uint64_t> span_codes(inputs.size());
  format.encode(std::span<const float>(inputs), std::span<std::uint64_t>(span_codes), rounding);

  std::size_t span_disagrees = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::uint64_t ours = format.encode(inputs[i], rounding);
    const std::uint64_t theirs = oracle.codes[i];
    span_disagrees += span_codes[i] != ours;
    ++t.encode_compared;
    if (ours == theirs) {
      ++t.encode_agreed;
      continue;
    }
    const EncodeDifference d{format, inputs[i], ours, theirs};
    const auto* rule = std::find_if(std::begin(kEncodeRules), std::end(kEncodeRules),
                                    [&d](const EncodeRule& r) { return r.matches(d); });
    if (rule != std::end(kEncodeRules)) {
      ++t.documented[rule->kind];
    } else if (t.undocumented++ < kReportedPerFormat) {
      FAIL_CHECK("encode " << std::string(c.format) << " input " << hex_float(inputs[i]) << ": bitsim "
                               << hex_code(ours) << ", ml_dtypes " << hex_code(theirs));
    }
  }
  INFO("span encode differs from scalar encode (" << c.format << ")");
  CHECK(span_disagrees == 0);
}

// The data must exercise what it claims to: every code that is not NaN is some input's
// result (formats up to 8 bits), and where bitsim's format overflows to inf or NaN, so does
// at least one finite input in the data, which ml_dtypes' saturating conversion never does.
void check_coverage(const OracleCase& c, const Format& format, const Oracle& oracle) {
  INFO("format " << c.format);
  if (format.bits() <= 8) {
    std::vector<bool> seen(oracle.decoded.size(), false);
    for (const auto code : oracle.codes) seen.at(code) = true;
    std::size_t missing = 0;
    for (std::uint64_t code = 0; code < seen.size(); ++code) {
      missing += !seen[code] && !format.is_nan_code(code);
    }
    CHECK(missing == 0);
  }
  if (format.overflow() != Overflow::saturate) {
    std::size_t finite_to_special = 0;
    for (std::size_t i = 0; i < oracle.inputs.size(); ++i) {
      const float x = std::bit_cast<float>(oracle.inputs[i]);
      finite_to_special += std::isfinite(x) && !std::isfinite(format.decode(oracle.codes[i]));
    }
    CHECK(finite_to_special > 0);
  }
}

std::map<std::string_view, std::size_t> documented_totals(const std::map<std::string_view, Tally>& tallies) {
  std::map<std::string_view, std::size_t> totals;
  for (const auto& [format, t] : tallies) {
    for (const auto& [kind, count] : t.documented) totals[kind] += count;
  }
  return totals;
}

void print_summary(const std::map<std::string_view, Tally>& tallies) {
  std::size_t compared = 0, agreed = 0;
  std::printf("bitsim vs ml_dtypes vectors (tests/data/ml_dtypes):\n");
  std::printf("  %-12s %15s %15s  documented differences\n", "format", "decode agreed", "encode agreed");
  for (const auto& c : kCases) {
    const auto found = tallies.find(c.format);
    if (found == tallies.end()) continue;
    const Tally& t = found->second;
    std::printf("  %-12s %7zu/%-7zu %7zu/%-7zu ", std::string(c.format).c_str(), t.decode_agreed,
                t.decode_compared, t.encode_agreed, t.encode_compared);
    for (const auto& [kind, count] : t.documented) std::printf(" [%s: %zu]", std::string(kind).c_str(), count);
    std::printf("\n");
    compared += t.decode_compared + t.encode_compared;
    agreed += t.decode_agreed + t.encode_agreed;
  }
  std::printf("  total: %zu vectors compared, %zu agreed", compared, agreed);
  for (const auto& [kind, count] : documented_totals(tallies)) {
    std::printf(", %s: %zu", std::string(kind).c_str(), count);
  }
  std::printf("\n");
}

}  // namespace

TEST_CASE("formats agree with ml_dtypes on every committed vector, up to documented differences") {
  std::map<std::string_view, Tally> tallies;
  for (const auto& c : kCases) {
    const Format format = Format::parse(c.format);
    const Oracle oracle = read_oracle(oracle_path(c.format));
    INFO("format " << c.format);
    REQUIRE(oracle.ml_type == c.ml_type);
    REQUIRE(oracle.code_bits == format.bits());
    REQUIRE(oracle.decoded.size() == std::size_t(1) << format.bits());
    REQUIRE(!oracle.inputs.empty());

    Tally& t = tallies[c.format];
    compare_decode(c, format, oracle, t);
    compare_encode(c, format, oracle, t);
    check_coverage(c, format, oracle);
    CHECK(t.undocumented == 0);
  }
  print_summary(tallies);

  // The generator includes inputs for every documented difference, so each rule must fire:
  // none is dead, and a change in bitsim's documented semantics shows up here.
  auto totals = documented_totals(tallies);
  for (const auto& rule : kEncodeRules) {
    INFO("documented difference never seen: " << std::string(rule.kind));
    CHECK(totals[rule.kind] > 0);
  }
  CHECK(totals[kNanPayload] > 0);
}

// formats.md said "e4m3fn: 464 -> NaN when not saturating". 464 lies midway between 448
// (mantissa 110, even) and 480 (beyond max): ties-to-even gives 448, and so does ml_dtypes.
TEST_CASE("e4m3fn: 464 rounds to 448 in ml_dtypes' non-saturating conversion") {
  const Format format = Format::parse("e4m3fn");
  const Oracle oracle = read_oracle(oracle_path("e4m3fn"));
  std::size_t found = 0;
  for (std::size_t i = 0; i < oracle.inputs.size(); ++i) {
    const float x = std::bit_cast<float>(oracle.inputs[i]);
    if (std::fabs(x) != 464.0f) continue;
    ++found;
    CHECK(format.decode(oracle.codes[i]) == std::copysign(448.0, x));
    CHECK(format.encode(x) == oracle.codes[i]);
  }
  CHECK(found == 2);
}
