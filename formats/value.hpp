#pragma once
// Value<Type>: a number of a compile-time format with C++ operators, so that C++ users can
// write `a * b + c` in e4m3fn or posit<16,2> and get what that hardware would give: each
// operator is computed exactly and rounded once (formats/arithmetic.hpp).
//
//   using E4M3 = MiniFloatType<4, 3, 7, Specials::fn>;
//   Value<E4M3> a(1.5), b(3.0), c(0.1);       // constructing from a double rounds it
//   Value<E4M3> d = a * b + c;                 // two roundings (mul, then add)
//   Value<E4M3> e = fma(a, b, c);              // one rounding
//   double v = double(d);                      // the exact value of d's code
//
// The rounding mode is part of the type: Value<E4M3, Rounding::toward_zero> rounds every
// result toward zero (default: nearest-even). Stochastic rounding needs a random stream
// and an element index per result, so it is not a Value mode: use Arithmetic::apply with
// a RandomStream. Type is a MiniFloatType<...> or a PositType<n, es>.
#include <cstdint>

#include "formats/arithmetic.hpp"

namespace bitsim::formats {

template <class Type, Rounding Mode = Rounding::nearest_even>
class Value {
  static_assert(Mode != Rounding::stochastic,
                "Value<> has no stochastic mode: use Arithmetic::apply with a RandomStream");

 public:
  Value() = default;  // the code 0 (+0 in every format that has a zero)
  explicit Value(double x) : code_(arithmetic().from_double(x, kRounding)) {}
  static Value from_code(std::uint64_t code) {
    Value v;
    v.code_ = code;
    return v;
  }

  std::uint64_t code() const { return code_; }
  double value() const { return arithmetic().value(code_); }
  explicit operator double() const { return value(); }

  // The Arithmetic of the format, built once per type.
  static const Arithmetic& arithmetic() {
    static const Arithmetic instance(Type::format);
    return instance;
  }

  friend Value operator+(Value a, Value b) { return a.op(Operation::add, b); }
  friend Value operator-(Value a, Value b) { return a.op(Operation::sub, b); }
  friend Value operator*(Value a, Value b) { return a.op(Operation::mul, b); }
  friend Value operator/(Value a, Value b) { return a.op(Operation::div, b); }
  // Negation is exact in every signed format; it rounds only where -x is not in the
  // format (unsigned formats: NaN or zero, by their policy).
  friend Value operator-(Value a) { return Value(-a.value()); }
  Value& operator+=(Value b) { return *this = *this + b; }
  Value& operator-=(Value b) { return *this = *this - b; }
  Value& operator*=(Value b) { return *this = *this * b; }
  Value& operator/=(Value b) { return *this = *this / b; }

  friend Value fma(Value a, Value b, Value c) {
    return from_code(arithmetic().fma(a.code_, b.code_, c.code_, kRounding));
  }
  friend Value sqrt(Value a) { return from_code(arithmetic().sqrt(a.code_, kRounding)); }

  // Same code (so NaN == NaN here, and +0 != -0): identity of bit patterns, not IEEE
  // comparison; compare double(a) and double(b) for the numeric relation.
  friend bool operator==(Value a, Value b) { return a.code_ == b.code_; }

 private:
  static constexpr RoundingSpec kRounding{Mode, 32};

  Value op(Operation operation, Value b) const {
    return from_code(arithmetic().apply(operation, code_, b.code_, 0, kRounding));
  }

  std::uint64_t code_ = 0;
};

}  // namespace bitsim::formats
