#pragma once
// The reference rounding: for one exact input, the representable neighbours (from
// reference_format.hpp), the one each mode picks from exact distances and code parity,
// then the documented policies, in the order the documentation states them:
//   NaN and infinite inputs; flush of source-subnormal inputs (ftz_in); zero inputs;
//   negative nonzero inputs of unsigned formats; rounding onto the lattice (unbounded above);
//   overflow (saturate, or inf/NaN for modes that round away from zero, IEEE 754 7.4);
//   flush of results below the smallest normal (ftz_out); the absent zero (E8M0).
#include <cstdint>
#include <optional>

#include <boost/multiprecision/cpp_int.hpp>

#include "formats/rounding.hpp"
#include "tests/reference/reference_format.hpp"

namespace bitsim::reference {

// The type an input arrives in: decides which inputs are subnormal for ftz_in, and how a
// result goes back (Format::round / quantize of float or double).
enum class Source { float32, float64 };

struct Outcome {
  CodeKind kind = CodeKind::finite;  // finite, infinity or nan
  bool negative = false;             // sign bit of the result (a NaN: its code's sign bit)
  double magnitude = 0;              // finite results; exact (every format value is a double)
  std::uint64_t code = 0;

  double as_double() const;
  // Values beyond float32's range come back rounded toward zero, as Format::quantize's
  // documentation promises for values "the host type cannot hold".
  float as_float() const;
  std::uint64_t double_bits() const;
  std::uint32_t float_bits() const;
};

// Whether a mode, leaving the finite range, goes to infinity/NaN (true) or stays at max.
bool rounds_away_from_zero(formats::Rounding mode, bool negative);

// One input prepared for rounding: everything that does not depend on the mode is done
// once, so that the seven modes and many random words cost little more than one.
class ReferenceCase {
 public:
  ReferenceCase(const ReferenceFormat& format, double x, Source source);

  // Deterministic modes (not stochastic).
  Outcome round(formats::Rounding mode) const;

  // The input needed no rounding decision (NaN, infinity, zero, a negative value of an
  // unsigned format): every mode gives this outcome.
  bool settled_by_input() const { return settled_.has_value(); }
  bool exact() const { return settled_ || bracket_.exact; }
  const Bracket& bracket() const { return bracket_; }

  // Stochastic rounding. fraction(): the exact distance from the neighbour toward zero,
  // in units of the gap, = the ideal probability of moving away from zero.
  // probability_away(k): that probability with k random bits, floor(fraction * 2^k) / 2^k.
  // goes_away(word, k): the decision for one 32-bit random word: the top k bits of the
  // fraction plus the top k bits of the word carry out of k bits.
  boost::multiprecision::cpp_rational fraction() const;
  boost::multiprecision::cpp_rational probability_away(int random_bits) const;
  bool goes_away(std::uint32_t word, int random_bits) const;
  Outcome round_stochastic(std::uint32_t word, int random_bits) const;

 private:
  Outcome finish(const LatticePoint& chosen, formats::Rounding mode) const;
  Outcome finite(const LatticePoint& p, bool negative) const;
  Outcome zero(bool negative) const;
  Outcome nan(bool negative) const;
  Outcome infinity(bool negative) const;

  const ReferenceFormat* format_;
  bool negative_ = false;
  Exact magnitude_;
  std::optional<Outcome> settled_;
  Bracket bracket_;
  int nearest_ = 0;  // sign of (distance to toward_zero) - (distance to away)
};

}  // namespace bitsim::reference
