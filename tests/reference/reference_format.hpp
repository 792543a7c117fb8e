#pragma once
// The reference's own reading of a format: what every code means, from the value formula
// and the special-code rules as the spec text states them, and the two representable
// neighbours of any magnitude.
//
// Independence: only the data members of the descriptor structs (MiniFloat, FixedPoint)
// are read; no member function and nothing else from formats/ is called. Neighbours come
// from an enumerated, sorted value set (formats of <= 16 bits) or from the formula
// floor(m / quantum) in exact integers (any size), so the two can be checked against each
// other as well.
#include <cstdint>
#include <variant>
#include <vector>

#include "formats/fixed_point.hpp"
#include "formats/format.hpp"
#include "formats/minifloat.hpp"
#include "tests/reference/exact.hpp"

namespace bitsim::reference {

// What a code is. `unused`: a code outside the format's range (the lowest code of a narrow
// signed integer), which encoders never produce.
enum class CodeKind { finite, infinity, nan, unused };

struct CodeMeaning {
  CodeKind kind = CodeKind::finite;
  bool negative = false;  // sign bit (floats) or sign of the value (integers)
  Exact magnitude;        // finite and unused codes
};

// A point of one sign's lattice, the format's value set continued without bound above.
struct LatticePoint {
  Exact magnitude;
  double value = 0;         // the magnitude as a double (infinity if beyond float64)
  std::uint64_t code = 0;   // the code holding it; for points outside the range, the code
                            // the lattice's continuation gives (only its parity is used)
  bool in_range = true;     // false: beyond the largest finite value, or the absent zero
};

// Consecutive lattice points around a magnitude m: toward_zero < m < away, or m exactly
// on the lattice (exact; away is then toward_zero again).
struct Bracket {
  LatticePoint toward_zero;
  LatticePoint away;
  bool exact = false;
};

class ReferenceFormat {
 public:
  explicit ReferenceFormat(const formats::MiniFloat& f);
  explicit ReferenceFormat(const formats::FixedPoint& f);
  static ReferenceFormat from(const std::variant<formats::MiniFloat, formats::FixedPoint>& repr);
  // A Format's repr; posits and LNS have no lattice reference (std::invalid_argument).
  static ReferenceFormat from(const formats::FormatRepr& repr);

  int bits() const { return bits_; }
  bool is_float() const { return std::holds_alternative<formats::MiniFloat>(desc_); }
  bool has_negatives() const { return has_negatives_; }
  bool has_nan() const { return has_nan_; }
  bool has_infinity() const { return has_infinity_; }
  bool has_zero() const { return has_zero_; }
  bool has_negative_zero() const { return has_negative_zero_; }
  formats::Overflow overflow() const { return overflow_; }
  formats::NanRule nan_rule() const { return nan_rule_; }
  bool flushes_inputs() const { return flush_inputs_; }
  bool flushes_outputs() const { return flush_outputs_; }

  const LatticePoint& max_point(bool negative) const { return negative ? max_negative_ : max_positive_; }
  const LatticePoint& min_positive_point(bool negative) const {
    return negative ? min_negative_ : min_positive_;
  }
  // The lattice point of a magnitude on one side, its code computed by the formula.
  LatticePoint point(bool negative, const Exact& magnitude) const;
  const Exact& min_normal() const { return min_normal_; }  // flush-to-zero threshold

  std::uint64_t nan_code(bool negative) const;  // the format's NaN for a value of that sign
  std::uint64_t infinity_code(bool negative) const;
  std::uint64_t zero_code(bool negative) const;  // -0 only where the format has it

  CodeMeaning meaning(std::uint64_t code) const;

  Bracket bracket(bool negative, const Exact& magnitude) const;
  Bracket bracket_by_formula(bool negative, const Exact& magnitude) const;
  Bracket bracket_by_table(bool negative, const Exact& magnitude) const;

  // Formats of <= 16 bits: every lattice point of one side, in increasing magnitude, from
  // zero (present or not) to the first point past the largest finite value.
  bool enumerated() const { return !positive_.empty(); }
  const std::vector<LatticePoint>& lattice(bool negative) const { return negative ? negative_ : positive_; }

 private:
  std::uint64_t magnitude_code_by_formula(const Exact& magnitude) const;  // floats
  Exact float_magnitude(std::uint64_t magnitude_code) const;  // value formula, any field
  int quantum_exponent(const Exact& magnitude) const;
  void finish_setup();

  std::variant<formats::MiniFloat, formats::FixedPoint> desc_;
  int bits_ = 0;
  bool has_negatives_ = true, has_nan_ = false, has_infinity_ = false, has_zero_ = true,
       has_negative_zero_ = false, flush_inputs_ = false, flush_outputs_ = false;
  formats::Overflow overflow_ = formats::Overflow::saturate;
  formats::NanRule nan_rule_ = formats::NanRule::zero;
  LatticePoint max_positive_, max_negative_, min_positive_, min_negative_;
  Exact max_positive_magnitude_, max_negative_magnitude_;
  Exact min_normal_;
  std::vector<LatticePoint> positive_, negative_;
};

}  // namespace bitsim::reference
