#include "formats/arithmetic.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <type_traits>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#if __has_include("formats/lns_arithmetic.hpp")
#include "formats/lns_arithmetic.hpp"
#endif

namespace bitsim::formats {

std::string canonical_spec(const Format::Repr& repr);  // format_spec.cpp

namespace {

using u128 = unsigned __int128;
using Kind = ExactValue::Kind;

constexpr std::string_view kOperationNames[] = {"add", "sub", "mul", "div", "fma", "sqrt"};

// --- exact values --------------------------------------------------------------------

// |x| = mag * 2^exponent, exactly; `sticky`: a nonzero remainder below mag's last bit.
struct Wide {
  bool negative = false;
  u128 mag = 0;
  int exponent = 0;
  bool sticky = false;
};

int msb(u128 v) {
  const auto high = std::uint64_t(v >> 64);
  return high != 0 ? 127 - std::countl_zero(high) : 63 - std::countl_zero(std::uint64_t(v));
}

// A finite nonzero double as a 53-bit (or narrower, subnormal) integer times a power of two.
Wide wide_of(double x) {
  const auto bits = std::bit_cast<std::uint64_t>(x);
  const int field = int((bits >> 52) & 0x7ff);
  const std::uint64_t mantissa = bits & ((std::uint64_t(1) << 52) - 1);
  Wide w;
  w.negative = (bits >> 63) != 0;
  w.mag = field != 0 ? mantissa | (std::uint64_t(1) << 52) : mantissa;
  w.exponent = (field != 0 ? field : 1) - 1075;
  return w;
}

ExactValue special(Kind kind, bool negative) {
  ExactValue v;
  v.kind = kind;
  v.negative = negative;
  return v;
}

ExactValue nan_value() { return special(Kind::nan, false); }

// The top 64 bits of a nonzero Wide and a sticky bit for the rest.
ExactValue normalise(const Wide& w) {
  ExactValue v;
  v.kind = Kind::finite;
  v.negative = w.negative;
  const int top = msb(w.mag);
  v.scale = w.exponent + top;
  v.sticky = w.sticky;
  if (top >= 63) {
    const int drop = top - 63;
    v.sig = std::uint64_t(w.mag >> drop);
    v.sticky |= drop > 0 && (w.mag & ((u128(1) << drop) - 1)) != 0;
  } else {
    v.sig = std::uint64_t(w.mag) << (63 - top);
  }
  return v;
}

// a + b for exact operands (mag < 2^120, no sticky). The larger is placed with its leading
// bit at 125; the smaller is shifted into the same frame, bits falling out of it become a
// sticky remainder delta in (0, 1) units, and a - (b + delta) = (a - b - 1) + (1 - delta).
// Bits only fall out when the leading bits are >= 19 places apart, so at most one bit
// cancels and the frame keeps far more than 64 exact bits.
ExactValue add_wide(Wide a, Wide b, bool toward_negative) {
  const auto top = [](const Wide& w) { return w.exponent + msb(w.mag); };
  if (top(a) < top(b) || (top(a) == top(b) && a.mag < b.mag && a.exponent == b.exponent)) {
    std::swap(a, b);
  }
  const int lift = 125 - msb(a.mag);
  a.mag <<= lift;
  a.exponent -= lift;
  const int shift = a.exponent - b.exponent;  // b's last bit relative to the frame's
  bool lost = false;
  if (shift <= 0) {
    b.mag <<= -shift;
  } else if (shift >= 128) {
    lost = b.mag != 0;
    b.mag = 0;
  } else {
    lost = (b.mag & ((u128(1) << shift) - 1)) != 0;
    b.mag >>= shift;
  }
  Wide sum;
  sum.exponent = a.exponent;
  sum.sticky = lost;
  if (a.negative == b.negative) {
    sum.negative = a.negative;
    sum.mag = a.mag + b.mag;
  } else {
    // Without lost bits both are exact in the frame and either may be larger.
    if (!lost && b.mag > a.mag) std::swap(a, b);
    sum.negative = a.negative;
    sum.mag = a.mag - b.mag - (lost ? 1 : 0);
  }
  if (sum.mag == 0 && !sum.sticky) return special(Kind::zero, toward_negative);
  return normalise(sum);
}

// Integer square root of v (v < 2^128): floor(sqrt(v)) < 2^64.
std::uint64_t isqrt(u128 v) {
  long double estimate = std::sqrt(static_cast<long double>(v));
  std::uint64_t r = estimate >= 18446744073709551615.0L ? ~std::uint64_t(0) : std::uint64_t(estimate);
  while (u128(r) * r > v) --r;
  while (v - u128(r) * r >= 2 * u128(r) + 1) ++r;  // (r + 1)^2 <= v, without overflow
  return r;
}

}  // namespace

std::string_view to_string(Operation op) { return kOperationNames[int(op)]; }

Operation parse_operation(std::string_view text) {
  for (int i = 0; i < 6; ++i) {
    if (text == kOperationNames[i]) return Operation(i);
  }
  throw std::invalid_argument("unknown operation '" + std::string(text) +
                              "' (valid: add, sub, mul, div, fma, sqrt)");
}

int operand_count(Operation op) {
  return op == Operation::sqrt ? 1 : op == Operation::fma ? 3 : 2;
}

ExactValue exact_value(double x) {
  if (std::isnan(x)) return nan_value();
  if (std::isinf(x)) return special(Kind::infinity, x < 0);
  if (x == 0) return special(Kind::zero, std::signbit(x));
  return normalise(wide_of(x));
}

ExactValue exact_add(double a, double b, bool toward_negative) {
  if (std::isnan(a) || std::isnan(b)) return nan_value();
  if (std::isinf(a) || std::isinf(b)) {
    if (std::isinf(a) && std::isinf(b) && std::signbit(a) != std::signbit(b)) return nan_value();
    return special(Kind::infinity, std::signbit(std::isinf(a) ? a : b));
  }
  if (a == 0 && b == 0) {
    const bool negative = toward_negative ? (std::signbit(a) || std::signbit(b))
                                          : (std::signbit(a) && std::signbit(b));
    return special(Kind::zero, negative);
  }
  if (a == 0) return exact_value(b);
  if (b == 0) return exact_value(a);
  return add_wide(wide_of(a), wide_of(b), toward_negative);
}

ExactValue exact_mul(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return nan_value();
  const bool negative = std::signbit(a) != std::signbit(b);
  if (std::isinf(a) || std::isinf(b)) {
    return a == 0 || b == 0 ? nan_value() : special(Kind::infinity, negative);
  }
  if (a == 0 || b == 0) return special(Kind::zero, negative);
  const Wide x = wide_of(a), y = wide_of(b);
  return normalise(Wide{negative, x.mag * y.mag, x.exponent + y.exponent, false});
}

ExactValue exact_div(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return nan_value();
  const bool negative = std::signbit(a) != std::signbit(b);
  if (std::isinf(a)) return std::isinf(b) ? nan_value() : special(Kind::infinity, negative);
  if (std::isinf(b)) return special(Kind::zero, negative);
  if (b == 0) return a == 0 ? nan_value() : special(Kind::infinity, negative);
  if (a == 0) return special(Kind::zero, negative);
  Wide x = wide_of(a), y = wide_of(b);
  // Leading bits at 52 for both: the quotient (x << 74) / y then has 74 or 75 bits.
  const int lx = 52 - msb(x.mag), ly = 52 - msb(y.mag);
  x.mag <<= lx;
  y.mag <<= ly;
  const u128 numerator = x.mag << 74;
  const u128 quotient = numerator / y.mag;
  const bool remainder = numerator % y.mag != 0;
  return normalise(Wide{negative, quotient, (x.exponent - lx) - (y.exponent - ly) - 74, remainder});
}

ExactValue exact_fma(double a, double b, double c, bool toward_negative) {
  if (std::isnan(a) || std::isnan(b) || std::isnan(c)) return nan_value();
  const bool product_negative = std::signbit(a) != std::signbit(b);
  if (std::isinf(a) || std::isinf(b)) {
    if (a == 0 || b == 0) return nan_value();
    if (std::isinf(c) && std::signbit(c) != product_negative) return nan_value();
    return special(Kind::infinity, product_negative);
  }
  if (std::isinf(c)) return special(Kind::infinity, std::signbit(c));
  if (a == 0 || b == 0) {
    // An exact zero product added to c, with IEEE's signed-zero rule for 0 + 0.
    if (c != 0) return exact_value(c);
    const bool c_negative = std::signbit(c);
    const bool negative = toward_negative ? (product_negative || c_negative)
                                          : (product_negative && c_negative);
    return special(Kind::zero, negative);
  }
  const Wide x = wide_of(a), y = wide_of(b);
  const Wide product{product_negative, x.mag * y.mag, x.exponent + y.exponent, false};
  if (c == 0) return normalise(product);
  return add_wide(product, wide_of(c), toward_negative);
}

ExactValue exact_sqrt(double a) {
  if (std::isnan(a)) return nan_value();
  if (a == 0) return special(Kind::zero, std::signbit(a));
  if (a < 0) return nan_value();
  if (std::isinf(a)) return special(Kind::infinity, false);
  Wide x = wide_of(a);
  const int lead = 52 - msb(x.mag);
  x.mag <<= lead;
  x.exponent -= lead;
  // Leading bit at 126 or 127 with an even exponent: the root has exactly 64 bits.
  const int shift = (x.exponent - 74) % 2 == 0 ? 74 : 75;
  const u128 v = x.mag << shift;
  const std::uint64_t root = isqrt(v);
  return normalise(Wide{false, root, (x.exponent - shift) / 2, u128(root) * root != v});
}

ExactValue exact_operation(Operation op, double a, double b, double c, bool toward_negative) {
  switch (op) {
    case Operation::add: return exact_add(a, b, toward_negative);
    case Operation::sub: return exact_add(a, -b, toward_negative);
    case Operation::mul: return exact_mul(a, b);
    case Operation::div: return exact_div(a, b);
    case Operation::fma: return exact_fma(a, b, c, toward_negative);
    default: return exact_sqrt(a);
  }
}

// --- rounding into a target ----------------------------------------------------------

namespace {

using LatticeTarget = Arithmetic::LatticeTarget;

// The exponent just above every finite value of the lattice.
int top_exponent(const Lattice& l) {
  const double max = std::max(l.max_positive, l.max_negative);
  return std::ilogb(max) + 1;
}

// The most bits below the leading one that a rounding decision keeps.
int widest_cut(const Lattice& l, int top) {
  return l.precision >= kUnboundedPrecision ? top - l.min_quantum : l.precision;
}

// Random-fraction bits a mode reads (stochastic: k; the others: one, plus stickiness).
int fraction_bits_needed(RoundingSpec r) {
  return r.mode == Rounding::stochastic ? r.random_bits : 1;
}

// The narrow path applies: the surrogate double y holds every bit the decision reads.
bool surrogate_fits(const LatticeTarget& t, int fraction_bits) {
  return t.widest_cut + fraction_bits + 2 <= 53 && t.lattice.min_quantum - fraction_bits - 1 >= -1022 &&
         t.top <= 1022;
}

bool wide_fits(const LatticeTarget& t, int fraction_bits) {
  return t.lattice.precision >= 1 && t.widest_cut + fraction_bits <= 63;
}

double signed_value(double magnitude, bool negative) { return std::copysign(magnitude, negative ? -1.0 : 1.0); }

template <Rounding M>
std::uint64_t finish_lattice(const LatticeTarget& t, double y, std::uint32_t random, int random_bits) {
  const auto bits = round_pattern<M, double>(std::bit_cast<std::uint64_t>(y), t.plan, random, random_bits);
  return std::visit([&](const auto& f) { return pack(f, std::bit_cast<double>(bits)); }, t.repr);
}

// A finite exact value at or above 2^top: every neighbour lies beyond the largest value, so
// the outcome is the overflow rule alone; y is an input round_pattern turns into it.
template <Rounding M>
double overflow_input(const LatticeTarget& t, bool negative) {
  if (!overflows_to_infinity(M, negative)) {
    return signed_value(negative ? t.lattice.max_negative : t.lattice.max_positive, negative);
  }
  if (t.lattice.overflow == Overflow::nan) {
    return signed_value(std::numeric_limits<double>::quiet_NaN(), negative);  // the sign, where NaN has one
  }
  return signed_value(std::numeric_limits<double>::infinity(), negative);  // saturate: max
}

template <Rounding M>
std::uint64_t round_lattice(const LatticeTarget& t, const ExactValue& x, std::uint32_t random,
                            int random_bits) {
  switch (x.kind) {
    case Kind::nan: return finish_lattice<M>(t, std::numeric_limits<double>::quiet_NaN(), random, random_bits);
    case Kind::infinity:
      return finish_lattice<M>(t, signed_value(std::numeric_limits<double>::infinity(), x.negative),
                               random, random_bits);
    case Kind::zero: return finish_lattice<M>(t, x.negative ? -0.0 : 0.0, random, random_bits);
    default: break;
  }
  const Lattice& l = t.lattice;
  // Negative results of unsigned formats: any negative input gets the format's rule.
  if (x.negative && l.max_negative == 0) return finish_lattice<M>(t, -1.0, random, random_bits);
  if (x.scale >= t.top) return finish_lattice<M>(t, overflow_input<M>(t, x.negative), random, random_bits);

  const int fraction_bits = M == Rounding::stochastic ? random_bits : 1;
  const int quantum = std::max(x.scale - std::min(l.precision, kUnboundedPrecision), l.min_quantum);
  if (surrogate_fits(t, fraction_bits)) {
    // y = x cut at 2^(quantum - fraction_bits - 1), rounded to odd: same candidate, same
    // leading discarded bits, same stickiness (see the header).
    const int unit = quantum - fraction_bits - 1;
    const int shift = unit - (x.scale - 63);  // >= 11: y fits 53 bits
    std::uint64_t y_int = 0;
    bool rest = x.sticky;
    if (shift >= 64) {
      rest |= x.sig != 0;
    } else {
      y_int = x.sig >> shift;
      rest |= (x.sig & ((std::uint64_t(1) << shift) - 1)) != 0;
    }
    y_int |= rest ? 1 : 0;
    return finish_lattice<M>(t, signed_value(std::ldexp(double(y_int), unit), x.negative), random,
                             random_bits);
  }
  // Wide path: decide here, then pass the chosen lattice value for the policies.
  const int cut = quantum - (x.scale - 63);  // bit of sig that weighs one quantum (>= 1)
  std::uint64_t kept = 0, rest = x.sig;
  if (cut < 64) {
    kept = x.sig >> cut;
    rest = x.sig & ((std::uint64_t(1) << cut) - 1);
  }
  Discarded d;
  if (cut >= 32) {
    const int down = cut - 32;
    d.fraction = down < 64 ? std::uint32_t(rest >> down) : 0;
    d.sticky = x.sticky || (down >= 64 ? rest != 0 : (rest & ((std::uint64_t(1) << down) - 1)) != 0);
  } else {
    d.fraction = std::uint32_t(rest << (32 - cut));
    d.sticky = x.sticky;
  }
  const std::uint64_t chosen = kept + (round_up<M>((kept & 1) != 0, d, x.negative, random, random_bits) ? 1 : 0);
  double y = std::ldexp(double(chosen), quantum);
  if (chosen == 0 && !l.has_zero) y = l.min_positive;  // the absent zero: the smallest value
  if (std::isinf(y) && l.overflow == Overflow::nan) y = std::numeric_limits<double>::quiet_NaN();  // signed by signed_value
  return finish_lattice<M>(t, signed_value(y, x.negative), random, random_bits);
}

template <Rounding M>
std::uint64_t round_posit(const Posit& p, const ExactValue& x, std::uint32_t random, int random_bits) {
  switch (x.kind) {
    case Kind::nan:
    case Kind::infinity: return p.nar_code();
    case Kind::zero: return 0;
    default: return round_to_code<M>(p, x.negative, x.scale, x.sig, x.sticky, random, random_bits);
  }
}

template <class T>
LatticeTarget make_lattice_target(const T& format) {
  format.validate();
  LatticeTarget t{format, format.lattice(), {}, 0, 0};
  t.plan = make_plan<double>(t.lattice);
  t.top = top_exponent(t.lattice);
  t.widest_cut = widest_cut(t.lattice, t.top);
  return t;
}

// An exact value that is a double (LNS targets round doubles only).
double as_double(const ExactValue& x, const std::string& spec) {
  switch (x.kind) {
    case Kind::nan: return std::numeric_limits<double>::quiet_NaN();
    case Kind::infinity: return signed_value(std::numeric_limits<double>::infinity(), x.negative);
    case Kind::zero: return x.negative ? -0.0 : 0.0;
    default: break;
  }
  if (x.sticky || (x.sig & 0x7ff) != 0 || x.scale > 1023 || x.scale < -1022) {
    throw std::invalid_argument("rounding into " + spec + ": the value is not a float64; " +
                                "this format rounds float64 values only");
  }
  return signed_value(std::ldexp(double(x.sig), x.scale - 63), x.negative);
}

// Formats with arithmetic of their own (LNS: formats/lns_arithmetic.hpp, when present).
// fma is a product rounded into the format, then a sum rounded again (two roundings).
std::uint64_t apply_own(const Format& format, Operation op, std::uint64_t a, std::uint64_t b,
                        std::uint64_t c, RoundingSpec r, std::uint32_t random) {
  return std::visit(
      [&](const auto& f) -> std::uint64_t {
        if constexpr (requires { lns_mul(f, a, b, r, random); }) {
          switch (op) {
            case Operation::add: return lns_add(f, a, b, r, {}, random);
            case Operation::sub: return lns_sub(f, a, b, r, {}, random);
            case Operation::mul: return lns_mul(f, a, b, r, random);
            case Operation::div: return lns_div(f, a, b, r, random);
            case Operation::fma: return lns_add(f, lns_mul(f, a, b, r, random), c, r, {}, random);
            default: return lns_sqrt(f, a, r, random);
          }
        } else {
          throw std::invalid_argument("arithmetic: no operations for format " + format.spec());
        }
      },
      format.repr());
}

void check_random_bits(RoundingSpec r) {
  if (r.random_bits < 1 || r.random_bits > 32) {
    throw std::invalid_argument("stochastic rounding: random_bits must be 1..32, got " +
                                std::to_string(r.random_bits));
  }
}

}  // namespace

Arithmetic::Arithmetic(const MiniFloat& format)
    : target_(make_lattice_target(format)), bits_(format.bits()), spec_(canonical_spec(format)) {
  if (bits_ <= 8) tables_ = std::make_shared<Tables>();
}

Arithmetic::Arithmetic(const FixedPoint& format)
    : target_(make_lattice_target(format)), bits_(format.bits), spec_(canonical_spec(format)) {
  if (bits_ <= 8) tables_ = std::make_shared<Tables>();
}

Arithmetic::Arithmetic(const Posit& format) : target_(format), bits_(format.n), spec_(to_spec(format)) {
  format.validate();
  if (bits_ <= 8) tables_ = std::make_shared<Tables>();
}

Arithmetic::Arithmetic(const Format& format) : bits_(format.bits()), spec_(format.spec()) {
  std::visit(
      [&](const auto& f) {
        using T = std::decay_t<decltype(f)>;
        if constexpr (std::is_same_v<T, MiniFloat> || std::is_same_v<T, FixedPoint>) {
          target_ = make_lattice_target(f);
        } else if constexpr (std::is_same_v<T, Posit>) {
          target_ = f;
        } else {
          format_ = format;  // LNS: its own functions (lns_arithmetic.hpp)
        }
      },
      format.repr());
  if (bits_ <= 8) tables_ = std::make_shared<Tables>();
}

double Arithmetic::value(std::uint64_t code) const {
  if (format_) return format_->decode(code);
  if (const auto* p = std::get_if<Posit>(&target_)) return decode<double>(*p, code);
  const auto& t = std::get<LatticeTarget>(target_);
  return std::visit([code](const auto& f) { return decode<double>(f, code); }, t.repr);
}

void Arithmetic::check(RoundingSpec r) const {
  check_random_bits(r);
  if (format_) return;
  if (const auto* t = std::get_if<LatticeTarget>(&target_)) {
    const int needed = fraction_bits_needed(r);
    if (!surrogate_fits(*t, needed) && !wide_fits(*t, needed)) {
      throw std::invalid_argument(
          "arithmetic in " + spec_ + " with rounding " + to_string(r) + ": a decision needs " +
          std::to_string(t->widest_cut + needed) +
          " bits below the leading one, more than the 63 bitsim's exact arithmetic keeps" +
          (r.mode == Rounding::stochastic ? "; use fewer random bits (sr:k)" : std::string()));
    }
  }
}

std::uint64_t Arithmetic::round(const ExactValue& x, RoundingSpec r, RandomStream rng,
                                std::uint64_t index) const {
  check(r);
  const std::uint32_t random = r.mode == Rounding::stochastic ? rng.word(index) : 0;
  if (format_) return format_->encode(as_double(x, spec_), r, rng, index);
  return with_rounding_mode(r.mode, [&]<Rounding M>() {
    if (const auto* p = std::get_if<Posit>(&target_)) return round_posit<M>(*p, x, random, r.random_bits);
    return round_lattice<M>(std::get<LatticeTarget>(target_), x, random, r.random_bits);
  });
}

std::uint64_t Arithmetic::apply(Operation op, std::uint64_t a, std::uint64_t b, std::uint64_t c,
                                RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  if (format_) {
    check_random_bits(r);
    return apply_own(*format_, op, a, b, c, r, r.mode == Rounding::stochastic ? rng.word(index) : 0);
  }
  const bool toward_negative = r.mode == Rounding::toward_negative;
  return round(exact_operation(op, value(a), value(b), value(c), toward_negative), r, rng, index);
}

struct Arithmetic::Tables {
  static constexpr int kOps = 6;  // indexed by Operation; fma (three operands) stays empty
  std::once_flag built[kOps][kRoundingModeCount];
  std::vector<std::uint8_t> results[kOps][kRoundingModeCount];  // index (a << bits) | b; sqrt: a
};

void Arithmetic::apply(Operation op, std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
                       std::span<const std::uint64_t> c, std::span<std::uint64_t> out, RoundingSpec r,
                       RandomStream rng, std::uint64_t index_offset) const {
  const int operands = operand_count(op);
  const auto check_size = [&](std::span<const std::uint64_t> s, const char* name) {
    if (s.size() != out.size()) {
      throw std::invalid_argument(std::string(to_string(op)) + ": operand " + name + " has " +
                                  std::to_string(s.size()) + " elements but the output has " +
                                  std::to_string(out.size()));
    }
  };
  check_size(a, "a");
  if (operands >= 2) check_size(b, "b");
  if (operands >= 3) check_size(c, "c");
  check(r);
  constexpr std::size_t kGrain = std::size_t(1) << 14;
  const auto parallel = [&](const auto& body) {
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, out.size(), kGrain),
                      [&](const tbb::blocked_range<std::size_t>& range) {
                        for (std::size_t i = range.begin(); i < range.end(); ++i) body(i);
                      });
  };

  // Small formats: every pair's result from a table the scalar path fills once.
  const bool tabulated = tables_ && op != Operation::fma && r.mode != Rounding::stochastic &&
                         out.size() >= 4096;
  if (tabulated) {
    auto& table = tables_->results[int(op)][int(r.mode)];
    std::call_once(tables_->built[int(op)][int(r.mode)], [&] {
      const std::uint64_t codes = std::uint64_t(1) << bits_;
      table.resize(operands == 1 ? codes : codes * codes);
      for (std::uint64_t x = 0; x < codes; ++x) {
        if (operands == 1) table[x] = std::uint8_t(apply(op, x, 0, 0, r));
        else for (std::uint64_t y = 0; y < codes; ++y) table[x << bits_ | y] = std::uint8_t(apply(op, x, y, 0, r));
      }
    });
    const std::uint64_t mask = (std::uint64_t(1) << bits_) - 1;
    if (operands == 1) {
      parallel([&](std::size_t i) { out[i] = table[a[i] & mask]; });
    } else {
      parallel([&](std::size_t i) { out[i] = table[(a[i] & mask) << bits_ | (b[i] & mask)]; });
    }
    return;
  }
  parallel([&](std::size_t i) {
    out[i] = apply(op, a[i], operands >= 2 ? b[i] : 0, operands >= 3 ? c[i] : 0, r, rng, index_offset + i);
  });
}

std::uint64_t convert(const Format& from, std::uint64_t code, const Format& to, RoundingSpec r,
                      RandomStream rng, std::uint64_t index) {
  return Arithmetic(to).from_double(Arithmetic(from).value(code), r, rng, index);
}

void convert(const Format& from, std::span<const std::uint64_t> codes, const Format& to,
             std::span<std::uint64_t> out, RoundingSpec r, RandomStream rng, std::uint64_t index_offset) {
  if (codes.size() != out.size()) throw std::invalid_argument("convert: code and output counts differ");
  const Arithmetic source(from), target(to);
  target.check(r);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, out.size(), std::size_t(1) << 14),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i < range.end(); ++i) {
                        out[i] = target.from_double(source.value(codes[i]), r, rng, index_offset + i);
                      }
                    });
}

}  // namespace bitsim::formats
