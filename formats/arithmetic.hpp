#pragma once
// Correctly rounded arithmetic in every format: add, sub, mul, div, fma, sqrt and
// conversion, each computed as if exactly and rounded once into the target with any
// rounding mode, following the target's policies (docs: formats/ARITHMETIC.md).
//
// How it stays exact without big numbers: every value of every format (up to 53 bits of
// significand) is a double, so an operation's exact result is found from integer
// arithmetic on the operands' significands (128-bit products, sums aligned with a sticky
// bit, long division and an integer square root), and kept as its top 64 bits plus a
// sticky bit (ExactValue). That is enough to round into any target whose decision needs at
// most 62 bits below the leading one (all formats here except 64-bit-wide integers).
//
// Rounding an ExactValue:
//   posits: round_to_code() (posit.hpp) takes exactly this form;
//   minifloats and fixed point: the value is replaced by a double y that holds the kept
//     bits, the top t bits of the discarded fraction (t = 1, or k for stochastic rounding
//     with k random bits) and, in its last bit, "anything else below" (round to odd).
//     y has the same candidate, the same first t discarded bits and the same stickiness as
//     the exact value, so the formats' own rounding (round_pattern) gives the same code in
//     every mode, and applies the same policies. y needs (kept bits) + t + 1 <= 53 bits:
//     precision <= 50 for deterministic modes, <= 51 - k for stochastic rounding.
//     Targets beyond that (fp64; fp32 with sr:k for k > 28; integers wider than 50 bits,
//     or wider than 19 bits with sr) take the wide path: the decision is made here from
//     the 64-bit significand with round_up() (round_core.hpp), and the chosen lattice
//     value (exact in a double) goes through round_pattern for the policies.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "formats/fixed_point.hpp"
#include "formats/format.hpp"
#include "formats/lattice.hpp"
#include "formats/lattice_rounding.hpp"
#include "formats/minifloat.hpp"
#include "formats/posit.hpp"
#include "formats/random_stream.hpp"
#include "formats/rounding.hpp"

namespace bitsim::formats {

enum class Operation : std::uint8_t { add, sub, mul, div, fma, sqrt };

std::string_view to_string(Operation op);
// "add", "sub", "mul", "div", "fma", "sqrt"; throws std::invalid_argument listing them.
Operation parse_operation(std::string_view text);
int operand_count(Operation op);  // 1 (sqrt), 2, or 3 (fma)

// The exact result of an operation before rounding: (-1)^negative * sig * 2^(scale - 63)
// for finite results (sig's top bit set), plus `sticky` when nonzero bits lie below sig.
struct ExactValue {
  enum class Kind : std::uint8_t { zero, finite, infinity, nan };
  Kind kind = Kind::zero;
  bool negative = false;
  int scale = 0;
  std::uint64_t sig = 0;
  bool sticky = false;
};

// Exact operations on doubles, IEEE 754 semantics for the specials: NaN in gives NaN;
// inf - inf, 0 * inf, 0/0, inf/inf, sqrt(x < 0) give NaN; x/0 gives a signed infinity.
// Zeros (IEEE 754 6.3): an exact zero sum of nonzero operands is +0, or -0 when the result
// will be rounded toward negative (`toward_negative`); sums of zeros keep a common sign;
// products and quotients take the xor of the signs; sqrt(-0) = -0.
ExactValue exact_value(double x);
ExactValue exact_add(double a, double b, bool toward_negative = false);
ExactValue exact_mul(double a, double b);
ExactValue exact_div(double a, double b);
ExactValue exact_fma(double a, double b, double c, bool toward_negative = false);
ExactValue exact_sqrt(double a);
ExactValue exact_operation(Operation op, double a, double b = 0, double c = 0,
                           bool toward_negative = false);

// Arithmetic with operands and result in one format. Built once per format (it prepares
// the rounding plan); every member is const and thread-safe. Element `index` takes random
// word `index` of `rng` under stochastic rounding.
class Arithmetic {
 public:
  explicit Arithmetic(const Format& format);
  explicit Arithmetic(const MiniFloat& format);
  explicit Arithmetic(const FixedPoint& format);
  explicit Arithmetic(const Posit& format);

  int bits() const { return bits_; }
  const std::string& spec() const { return spec_; }

  // The exact value of a code (NaN for NaN/NaR codes).
  double value(std::uint64_t code) const;
  // An exact result rounded into the format.
  std::uint64_t round(const ExactValue& x, RoundingSpec r = {}, RandomStream rng = {},
                      std::uint64_t index = 0) const;
  // A double (taken as exact) rounded into the format.
  std::uint64_t from_double(double x, RoundingSpec r = {}, RandomStream rng = {},
                            std::uint64_t index = 0) const {
    return round(exact_value(x), r, rng, index);
  }

  // One operation on codes; unused operands are ignored (sqrt reads a; fma reads a, b, c
  // and computes a * b + c).
  std::uint64_t apply(Operation op, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0,
                      RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index = 0) const;
  std::uint64_t add(std::uint64_t a, std::uint64_t b, RoundingSpec r = {}, RandomStream rng = {},
                    std::uint64_t index = 0) const {
    return apply(Operation::add, a, b, 0, r, rng, index);
  }
  std::uint64_t sub(std::uint64_t a, std::uint64_t b, RoundingSpec r = {}, RandomStream rng = {},
                    std::uint64_t index = 0) const {
    return apply(Operation::sub, a, b, 0, r, rng, index);
  }
  std::uint64_t mul(std::uint64_t a, std::uint64_t b, RoundingSpec r = {}, RandomStream rng = {},
                    std::uint64_t index = 0) const {
    return apply(Operation::mul, a, b, 0, r, rng, index);
  }
  std::uint64_t div(std::uint64_t a, std::uint64_t b, RoundingSpec r = {}, RandomStream rng = {},
                    std::uint64_t index = 0) const {
    return apply(Operation::div, a, b, 0, r, rng, index);
  }
  std::uint64_t fma(std::uint64_t a, std::uint64_t b, std::uint64_t c, RoundingSpec r = {},
                    RandomStream rng = {}, std::uint64_t index = 0) const {
    return apply(Operation::fma, a, b, c, r, rng, index);
  }
  std::uint64_t sqrt(std::uint64_t a, RoundingSpec r = {}, RandomStream rng = {},
                     std::uint64_t index = 0) const {
    return apply(Operation::sqrt, a, 0, 0, r, rng, index);
  }

  // Element-wise over spans of codes (parallel with oneTBB; results do not depend on the
  // thread count): out[i] = op(a[i], b[i], c[i]) with random word index_offset + i. Spans
  // an operation does not read may be empty. Formats of at most 8 bits look add, sub, mul,
  // div and sqrt up in a table of every result (built by the scalar path on the first
  // span of 4096 or more elements per operation and mode; deterministic modes only).
  void apply(Operation op, std::span<const std::uint64_t> a, std::span<const std::uint64_t> b,
             std::span<const std::uint64_t> c, std::span<std::uint64_t> out, RoundingSpec r = {},
             RandomStream rng = {}, std::uint64_t index_offset = 0) const;

  // Throws std::invalid_argument when `r` is not a valid rounding for this format
  // (random_bits outside 1..32; LNS targets: modes its functions do not offer).
  void check(RoundingSpec r) const;

  struct Tables;  // results of binary operations in formats of <= 8 bits, built on demand

  struct LatticeTarget {
    std::variant<MiniFloat, FixedPoint> repr;
    Lattice lattice;
    LatticePlan<double> plan;
    int top = 0;         // 2^top lies above every finite value: larger results clamp to it
    int widest_cut = 0;  // the most kept bits below the leading one any value can have
  };

 private:
  std::variant<Posit, LatticeTarget> target_;
  std::optional<Format> format_;  // for targets handled by their own functions (LNS)
  std::shared_ptr<Tables> tables_;
  int bits_ = 0;
  std::string spec_;
};

// x's code in `from` rounded into `to`: the value is exact, so this is the one rounding.
std::uint64_t convert(const Format& from, std::uint64_t code, const Format& to,
                      RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index = 0);
void convert(const Format& from, std::span<const std::uint64_t> codes, const Format& to,
             std::span<std::uint64_t> out, RoundingSpec r = {}, RandomStream rng = {},
             std::uint64_t index_offset = 0);

}  // namespace bitsim::formats
