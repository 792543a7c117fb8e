#pragma once
// Posits (Posit Standard 2022) of n = 2..32 bits and es = 0..4 exponent bits.
//
// A code is read as: sign, regime (a run of equal bits and its terminator), es exponent
// bits, fraction. Negative values are the two's complement of their magnitude's code, so
// codes order like signed integers; 0 is all zeros and NaR ("not a real") is 1 followed by
// zeros. Near the ends of the range the regime crowds out exponent bits; the missing ones
// read as zeros.
//
// Rounding works on the bit string, as the standard defines it: the value is written with
// an unbounded regime/exponent/fraction string, cut after n-1 bits, and the cut-off tail
// decides through round_up() (round_core.hpp), the rounding core every format shares.
// Where the cut falls inside the exponent field the tie point is the posit<n+1,es> code
// between the two neighbours, a geometric midpoint (posit<8,2>: between 2^20 and 2^24 the
// tie is 2^22).
//
// Range ends, for every mode: a nonzero real never becomes 0 or NaR. Magnitudes above
// maxpos give maxpos and magnitudes below minpos give minpos, whatever the mode (the
// standard's rule for its one mode, extended to all). So ru above maxpos, and rd/rz below
// minpos, are not the bounds interval arithmetic would want; posits have no value there.
//
// Stochastic rounding rounds up with probability (x - lo) / (hi - lo) in *value*, so it
// stays unbiased. Where the cut removes only fraction bits this equals the bit-string
// fraction; where it removes exponent bits (both neighbours powers of two, up to 2^es
// binades apart) the bit string is logarithmic and the linear fraction is computed instead.
// Like the float formats, one 32-bit random word per element, top-k-bit rule.
//
// Everything here is constexpr and BITSIM_HD: no exceptions, no allocation (validate() and
// the name parser excepted).
#include <bit>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "formats/hd.hpp"
#include "formats/round_core.hpp"
#include "formats/rounding.hpp"

namespace bitsim::formats {

struct Posit {
  int n = 8;
  int es = 2;

  friend constexpr bool operator==(const Posit&, const Posit&) = default;

  BITSIM_HD constexpr int bits() const { return n; }
  BITSIM_HD constexpr std::uint64_t mask() const { return (std::uint64_t(1) << n) - 1; }
  BITSIM_HD constexpr std::uint64_t nar_code() const { return std::uint64_t(1) << (n - 1); }
  BITSIM_HD constexpr std::uint64_t maxpos_code() const { return nar_code() - 1; }
  BITSIM_HD constexpr std::uint64_t minpos_code() const { return 1; }
  // useed = 2^(2^es); maxpos = useed^(n-2) = 2^max_scale(); minpos = 2^-max_scale().
  BITSIM_HD constexpr int useed_log2() const { return 1 << es; }
  BITSIM_HD constexpr int max_scale() const { return (n - 2) << es; }
  BITSIM_HD constexpr bool is_nar(std::uint64_t code) const { return (code & mask()) == nar_code(); }
  BITSIM_HD constexpr std::uint64_t negate(std::uint64_t code) const { return (~code + 1) & mask(); }
  // Codes as signed integers: the order of the values (NaR is the most negative).
  BITSIM_HD constexpr std::int64_t as_signed(std::uint64_t code) const {
    code &= mask();
    return (code & nar_code()) ? std::int64_t(code) - std::int64_t(mask()) - 1 : std::int64_t(code);
  }
  // Quire width: sign, 31 carry bits, and 2*max_scale() bits on each side of the binary
  // point, so minpos^2 is its last bit and maxpos^2 its first carry bit. For es = 2 this is
  // the standard's 16n bits.
  BITSIM_HD constexpr int quire_bits() const { return 4 * max_scale() + 32; }

  double maxpos() const;
  double minpos() const;

  // Throws std::invalid_argument unless 2 <= n <= 32 and 0 <= es <= 4.
  void validate() const {
    if (n < 2 || n > 32) throw std::invalid_argument("posit: n must be 2..32, got " + std::to_string(n));
    if (es < 0 || es > 4) throw std::invalid_argument("posit: es must be 0..4, got " + std::to_string(es));
  }
};

// Compile-time face, as MiniFloatType: using P16 = PositType<16, 2>.
template <int N, int ES>
struct PositType {
  static constexpr Posit format{N, ES};
  static constexpr int bits = N;
  static_assert(N >= 2 && N <= 32 && ES >= 0 && ES <= 4, "posit<n, es>: n = 2..32, es = 0..4");
};

// Leading zero bits of a 64-bit word (64 for 0). The device takes its intrinsic: the
// libstdc++ std::countl_zero does not survive nvcc's relaxed-constexpr device compilation.
BITSIM_HD constexpr int leading_zeros(std::uint64_t x) {
#if defined(__CUDA_ARCH__)
  return __clzll(static_cast<long long>(x));
#else
  return std::countl_zero(x);
#endif
}

// The fields of a code that is neither 0 nor NaR: |value| = 2^scale * (1 + fraction / 2^fraction_bits).
struct PositParts {
  bool negative = false;
  int scale = 0;
  std::uint32_t fraction = 0;
  int fraction_bits = 0;
};

BITSIM_HD constexpr PositParts unpack(const Posit& p, std::uint64_t code) {
  code &= p.mask();
  PositParts parts;
  parts.negative = (code >> (p.n - 1)) != 0;
  const std::uint64_t magnitude = parts.negative ? p.negate(code) : code;
  const int body_bits = p.n - 1;
  const std::uint64_t body = magnitude << (64 - body_bits);  // bits after the sign, at the top
  const bool ones = (body >> 63) != 0;
  int run = ones ? leading_zeros(~body) : leading_zeros(body);
  if (run > body_bits) run = body_bits;
  const int regime = ones ? run - 1 : -run;
  const int used = run + 1 < body_bits ? run + 1 : body_bits;  // the run and its terminator
  const int rest_bits = body_bits - used;
  const std::uint64_t rest = used < 64 ? body << used : 0;
  const int exponent_bits = rest_bits < p.es ? rest_bits : p.es;
  const int exponent =
      exponent_bits > 0 ? int(rest >> (64 - exponent_bits)) << (p.es - exponent_bits) : 0;
  parts.fraction_bits = rest_bits - exponent_bits;
  parts.fraction = parts.fraction_bits > 0
                       ? std::uint32_t((rest << exponent_bits) >> (64 - parts.fraction_bits))
                       : 0u;
  parts.scale = regime * p.useed_log2() + exponent;
  return parts;
}

// The exact value as a double (every posit up to 32 bits is one), then converted to Real.
// NaR gives a quiet NaN. Through float the value is rounded to nearest (posit32 has more
// fraction bits than float, and es >= 3 reaches beyond float's range).
template <class Real>
BITSIM_HD constexpr Real decode(const Posit& p, std::uint64_t code) {
  code &= p.mask();
  if (code == 0) return Real(0);
  if (code == p.nar_code()) return std::numeric_limits<Real>::quiet_NaN();
  const PositParts parts = unpack(p, code);
  const std::uint64_t pattern = (std::uint64_t(parts.negative) << 63) |
                                (std::uint64_t(parts.scale + 1023) << 52) |
                                (std::uint64_t(parts.fraction) << (52 - parts.fraction_bits));
  return Real(std::bit_cast<double>(pattern));
}

inline double Posit::maxpos() const { return decode<double>(*this, maxpos_code()); }
inline double Posit::minpos() const { return decode<double>(*this, minpos_code()); }

namespace posit_detail {

// Scale of a positive code that has no fraction bits (a power of two).
BITSIM_HD constexpr int scale_of(const Posit& p, std::uint64_t code) { return unpack(p, code).scale; }

}  // namespace posit_detail

// Rounds the magnitude sig * 2^(scale - 63) (sig's top bit set; `sticky`: more nonzero bits
// below sig) to the code of a positive posit. Magnitudes outside [minpos, maxpos] clamp.
template <Rounding Mode>
BITSIM_HD constexpr std::uint64_t round_magnitude(const Posit& p, int scale, std::uint64_t sig,
                                                  bool sticky, bool negative,
                                                  std::uint32_t random = 0, int random_bits = 32) {
  const int top = p.max_scale();
  if (scale > top || (scale == top && ((sig << 1) != 0 || sticky))) return p.maxpos_code();
  if (scale < -top) return p.minpos_code();

  // The unbounded bit string after the sign, at the top of a 64-bit window: regime,
  // exponent, fraction. n - 1 kept bits plus 32 discarded ones fit; the rest is sticky.
  const int regime = scale >> p.es;  // floor division
  const int exponent = scale & (p.useed_log2() - 1);
  int regime_length;
  std::uint64_t body;
  if (regime >= 0) {
    regime_length = regime + 2;  // regime+1 ones and a zero
    body = ((std::uint64_t(1) << (regime + 1)) - 1) << (64 - (regime + 1));
  } else {
    regime_length = 1 - regime;  // -regime zeros and a one
    body = std::uint64_t(1) << (64 - regime_length);
  }
  const int free_bits = 64 - regime_length - p.es;
  body |= std::uint64_t(exponent) << free_bits;
  const std::uint64_t fraction = sig << 1;  // below the hidden bit, at the top
  body |= fraction >> (64 - free_bits);
  sticky |= (fraction << free_bits) != 0;

  const int kept_bits = p.n - 1;
  const std::uint64_t kept = body >> (64 - kept_bits);
  const std::uint64_t tail = body << kept_bits;
  Discarded d{std::uint32_t(tail >> 32), sticky || (tail & 0xffffffffu) != 0};

  if constexpr (Mode == Rounding::stochastic) {
    const bool exponent_cut = kept_bits < regime_length + p.es;
    if (exponent_cut && (d.fraction != 0 || d.sticky)) {
      // Neighbours lo = 2^a, hi = 2^b: P(up) = (x - lo) / (hi - lo). With t = floor((x - lo)
      // * 2^(32 - a)) < (2^(b-a) - 1) * 2^32, floor(2^32 * P) = floor(t / (2^(b-a) - 1)).
      const int low = posit_detail::scale_of(p, kept);
      const int high = posit_detail::scale_of(p, kept + 1);
      const std::uint64_t gaps = (std::uint64_t(1) << (high - low)) - 1;
      const std::uint64_t t = (sig >> (31 - (scale - low))) - (std::uint64_t(1) << 32);
      d = Discarded{std::uint32_t(t / gaps), true};
    }
  }
  return kept + std::uint64_t(round_up<Mode>((kept & 1) != 0, d, negative, random, random_bits));
}

// round_magnitude with the sign applied: the code of (-1)^negative * sig * 2^(scale-63).
template <Rounding Mode>
BITSIM_HD constexpr std::uint64_t round_to_code(const Posit& p, bool negative, int scale,
                                                std::uint64_t sig, bool sticky,
                                                std::uint32_t random = 0, int random_bits = 32) {
  const std::uint64_t magnitude =
      round_magnitude<Mode>(p, scale, sig, sticky, negative, random, random_bits);
  return negative ? p.negate(magnitude) : magnitude;
}

// Encodes a float or double. NaN and ±inf give NaR, ±0 gives 0.
template <Rounding Mode, class Real>
BITSIM_HD constexpr std::uint64_t encode(const Posit& p, Real x, std::uint32_t random = 0,
                                         int random_bits = 32) {
  const auto bits = std::bit_cast<std::uint64_t>(double(x));  // float -> double is exact
  const bool negative = (bits >> 63) != 0;
  const int biased = int((bits >> 52) & 0x7ff);
  const std::uint64_t mantissa = bits & ((std::uint64_t(1) << 52) - 1);
  if (biased == 0x7ff) return p.nar_code();
  if (biased == 0) {
    if (mantissa == 0) return 0;
    // Subnormal doubles (< 2^-1022) lie far below every minpos (>= 2^-480).
    return negative ? p.negate(p.minpos_code()) : p.minpos_code();
  }
  const std::uint64_t sig = ((std::uint64_t(1) << 52) | mantissa) << 11;
  return round_to_code<Mode>(p, negative, biased - 1023, sig, false, random, random_bits);
}

// Runtime-mode entry point; `random` is the element's word (RandomStream::word(index)).
template <class Real>
BITSIM_HD constexpr std::uint64_t encode(const Posit& p, Real x, RoundingSpec r = {},
                                         std::uint32_t random = 0) {
  return with_rounding_mode(r.mode, [&]<Rounding M>() {
    return encode<M>(p, x, random, r.random_bits);
  });
}

// The code of a value that is already a posit (decode's output), as pack(MiniFloat, v).
template <class Real>
BITSIM_HD constexpr std::uint64_t pack(const Posit& p, Real value) {
  return encode<Rounding::nearest_even>(p, value);
}

// x rounded into the posit and back: decode(encode(x)).
template <class Real>
BITSIM_HD constexpr Real round(const Posit& p, Real x, RoundingSpec r = {}, std::uint32_t random = 0) {
  return decode<Real>(p, encode(p, x, r, random));
}

// --- names ---
// "posit<8,2>" / "posit<n=8,es=2>", "posit8" / "posit16" / "posit32" (standard, es = 2),
// legacy "posit16es1" / "posit8es0". Returns nullopt when the text names no posit; throws
// std::invalid_argument for a posit name with bad or unknown parameters.
std::optional<Posit> parse_posit_spec(std::string_view spec);
// The same for a spec already split into a base name ("posit", "posit16", "posit16es1")
// and key=value options ("n", "es"), as Format::parse splits them. Positional options
// ("posit<8,2>") lose their order in a map: hand such specs to parse_posit_spec.
std::optional<Posit> parse_posit_name(std::string_view name,
                                      const std::map<std::string, std::string>& options);
// Canonical spec: "posit<n,es>".
inline std::string to_spec(const Posit& p) {
  return "posit<" + std::to_string(p.n) + "," + std::to_string(p.es) + ">";
}

namespace posit_detail {

inline std::optional<int> small_int(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return value;
}

inline std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

[[noreturn]] inline void fail(std::string_view spec, const std::string& why) {
  throw std::invalid_argument("bad posit spec '" + std::string(spec) + "': " + why +
                              " (valid: posit<n,es>, posit<n=N,es=E>, posit8, posit16, posit32, "
                              "posit<N>es<E> such as posit16es1; n = 2..32, es = 0..4)");
}

inline int to_param(std::string_view spec, std::string_view text) {
  const auto value = small_int(trim(text));
  if (!value) fail(spec, "'" + std::string(text) + "' is not a number");
  return *value;
}

// "posit", "positN" or "positNesE"; nullopt for anything else.
inline std::optional<Posit> base_posit(std::string_view name) {
  if (name.substr(0, 5) != "posit") return std::nullopt;
  name.remove_prefix(5);
  if (name.empty()) return Posit{0, 2};  // n must follow; es defaults to the standard's 2
  const auto es_at = name.find("es");
  const auto n = small_int(name.substr(0, es_at));
  if (!n) return std::nullopt;
  if (es_at == std::string_view::npos) return Posit{*n, 2};  // Posit Standard 2022: es = 2
  const auto es = small_int(name.substr(es_at + 2));
  if (!es) return std::nullopt;
  return Posit{*n, *es};
}

inline Posit checked(std::string_view spec, Posit p) {
  if (p.n == 0) fail(spec, "posit needs n");
  try {
    p.validate();
  } catch (const std::invalid_argument& e) {
    fail(spec, e.what());
  }
  return p;
}

}  // namespace posit_detail

inline std::optional<Posit> parse_posit_name(std::string_view name,
                                             const std::map<std::string, std::string>& options) {
  auto p = posit_detail::base_posit(posit_detail::trim(name));
  if (!p) return std::nullopt;
  for (const auto& [key, value] : options) {
    if (key == "n") p->n = posit_detail::to_param(name, value);
    else if (key == "es") p->es = posit_detail::to_param(name, value);
    else posit_detail::fail(name, "unknown option '" + key + "' (valid: n, es)");
  }
  return posit_detail::checked(name, *p);
}

inline std::optional<Posit> parse_posit_spec(std::string_view spec) {
  using namespace posit_detail;
  const std::string_view text = trim(spec);
  const auto open = text.find('<');
  auto p = base_posit(trim(text.substr(0, open)));
  if (!p) return std::nullopt;
  if (open == std::string_view::npos) return checked(spec, *p);
  if (text.back() != '>') fail(spec, "missing '>'");
  std::string_view body = text.substr(open + 1, text.size() - open - 2);
  int position = 0;
  while (!body.empty() || position == 0) {
    const auto comma = body.find(',');
    const std::string_view item = trim(body.substr(0, comma));
    body = comma == std::string_view::npos ? std::string_view() : body.substr(comma + 1);
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {  // positional: n, then es
      if (position > 1) fail(spec, "at most two parameters");
      (position == 0 ? p->n : p->es) = to_param(spec, item);
    } else {
      const std::string key(trim(item.substr(0, eq)));
      if (key != "n" && key != "es") fail(spec, "unknown option '" + key + "' (valid: n, es)");
      (key == "n" ? p->n : p->es) = to_param(spec, item.substr(eq + 1));
    }
    ++position;
  }
  return checked(spec, *p);
}

}  // namespace bitsim::formats
