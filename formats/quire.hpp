#pragma once
// The quire: an exact accumulator for sums of posit products (Posit Standard 2022).
//
// A two's-complement fixed-point number whose last bit weighs minpos^2 and whose width is
// Posit::quire_bits() = 4 * max_scale + 32 (16n for es = 2): every product of two posits
// is a whole number of its last bits and fits, with 31 carry bits above maxpos^2, so at
// least 2^30 products of maxpos^2 add without overflow. Adding is exact; the one rounding
// happens in to_posit(). The storage is MaxWords 64-bit words (little-endian words); only
// the first words() of them take part, so one type serves every posit up to its size.
//
// NaR is sticky: a NaR operand makes the quire NaR, and so does overflowing the quire's
// width (the standard leaves overflow open; bitsim reports it rather than wrap).
#include <cstdint>
#include <span>

#include "formats/hd.hpp"
#include "formats/posit.hpp"

namespace bitsim::formats {

// Words needed for posit<32,4>, the widest quire: 4 * 480 + 32 = 1952 bits.
inline constexpr int kMaxQuireWords = 31;

template <int MaxWords = kMaxQuireWords>
class Quire {
 public:
  // A posit too wide for MaxWords (see fits()) gets a quire that is NaR from the start.
  BITSIM_HD constexpr explicit Quire(Posit p)
      : posit_(p), words_(fits(p) ? words_needed(p) : MaxWords) {
    clear();
  }

  BITSIM_HD static constexpr int words_needed(Posit p) { return (p.quire_bits() + 63) / 64; }
  // Whether this storage holds p's quire.
  BITSIM_HD static constexpr bool fits(Posit p) { return words_needed(p) <= MaxWords; }

  BITSIM_HD constexpr const Posit& posit() const { return posit_; }
  BITSIM_HD constexpr int words() const { return words_; }
  BITSIM_HD constexpr bool is_nar() const { return nar_; }
  // Weight of the last bit: 2^-fraction_bits() = minpos^2.
  BITSIM_HD constexpr int fraction_bits() const { return 2 * posit_.max_scale(); }
  BITSIM_HD constexpr std::uint64_t word(int i) const { return w_[i]; }
  BITSIM_HD constexpr bool is_negative() const { return (w_[words_ - 1] >> 63) != 0; }

  BITSIM_HD constexpr void clear() {
    for (int i = 0; i < MaxWords; ++i) w_[i] = 0;
    nar_ = !fits(posit_);
  }

  // q += a * b (codes of posit()).
  BITSIM_HD constexpr void add_product(std::uint64_t a, std::uint64_t b) { accumulate(a, b, false); }
  // q -= a * b.
  BITSIM_HD constexpr void subtract_product(std::uint64_t a, std::uint64_t b) { accumulate(a, b, true); }
  // q += a.
  BITSIM_HD constexpr void add(std::uint64_t a) { accumulate(a, one_code(), false); }

  // The quire rounded once to a posit code. An all-zero quire gives 0, a NaR quire NaR.
  template <Rounding Mode>
  BITSIM_HD constexpr std::uint64_t to_posit(std::uint32_t random = 0, int random_bits = 32) const {
    if (nar_) return posit_.nar_code();
    const bool negative = is_negative();
    std::uint64_t m[MaxWords] = {};
    std::uint64_t borrow = negative ? 1 : 0;  // magnitude = ~q + 1 when negative
    for (int i = 0; i < words_; ++i) {
      const std::uint64_t v = negative ? ~w_[i] : w_[i];
      m[i] = v + borrow;
      borrow = borrow && m[i] == 0;
    }
    int top = words_ - 1;
    while (top >= 0 && m[top] == 0) --top;
    if (top < 0) return 0;
    const int lead = 63 - leading_zeros(m[top]);
    const int highest = top * 64 + lead;  // bit index of the leading one
    // 64 bits from the leading one down, and whether anything is left below them.
    std::uint64_t sig = m[top] << (63 - lead);
    if (lead < 63 && top > 0) sig |= m[top - 1] >> (lead + 1);
    bool sticky = top > 0 && (m[top - 1] << (63 - lead)) != 0;  // the bits sig did not take
    for (int i = top - 2; i >= 0 && !sticky; --i) sticky = m[i] != 0;
    return round_to_code<Mode>(posit_, negative, highest - fraction_bits(), sig, sticky, random,
                               random_bits);
  }

  BITSIM_HD constexpr std::uint64_t to_posit(RoundingSpec r = {}, std::uint32_t random = 0) const {
    switch (r.mode) {
      case Rounding::nearest_even: return to_posit<Rounding::nearest_even>();
      case Rounding::nearest_away: return to_posit<Rounding::nearest_away>();
      case Rounding::nearest_zero: return to_posit<Rounding::nearest_zero>();
      case Rounding::toward_positive: return to_posit<Rounding::toward_positive>();
      case Rounding::toward_negative: return to_posit<Rounding::toward_negative>();
      case Rounding::toward_zero: return to_posit<Rounding::toward_zero>();
      case Rounding::odd: return to_posit<Rounding::odd>();
      case Rounding::stochastic: return to_posit<Rounding::stochastic>(random, r.random_bits);
    }
    return posit_.nar_code();
  }

 private:
  BITSIM_HD constexpr std::uint64_t one_code() const { return std::uint64_t(1) << (posit_.n - 2); }

  BITSIM_HD constexpr void accumulate(std::uint64_t a, std::uint64_t b, bool subtract) {
    if (nar_) return;
    if (posit_.is_nar(a) || posit_.is_nar(b)) {
      nar_ = true;
      return;
    }
    if ((a & posit_.mask()) == 0 || (b & posit_.mask()) == 0) return;
    const PositParts x = unpack(posit_, a);
    const PositParts y = unpack(posit_, b);
    // Significands as 32-bit fixed point 1.f (31 fraction bits); the product has 62.
    const std::uint64_t sx = (std::uint64_t(1) << 31) | (std::uint64_t(x.fraction) << (31 - x.fraction_bits));
    const std::uint64_t sy = (std::uint64_t(1) << 31) | (std::uint64_t(y.fraction) << (31 - y.fraction_bits));
    std::uint64_t product = sx * sy;
    // Bit index of the product's last bit in the quire. Below 0 only zeros fall off: a
    // product's nonzero bits never reach below minpos^2.
    int position = x.scale + y.scale - 62 + fraction_bits();
    if (position < 0) {
      product >>= -position;
      position = 0;
    }
    add_shifted(product, position, (x.negative != y.negative) != subtract);
  }

  // q += (negative ? -1 : 1) * value * 2^position, detecting overflow of the quire's width.
  BITSIM_HD constexpr void add_shifted(std::uint64_t value, int position, bool negative) {
    const bool was_negative = is_negative();
    const int first = position / 64;
    const int shift = position % 64;
    const std::uint64_t low = value << shift;
    const std::uint64_t high = shift ? value >> (64 - shift) : 0;
    // Two's complement of the addend, word by word: ~x + 1 over the whole width, where the
    // +1 lands on the first word (the words below `first` are zero in the addend and stay
    // zero after negation, since their ~0 + 1 carries through).
    std::uint64_t carry = 0;
    for (int i = first; i < words_; ++i) {
      std::uint64_t addend = i == first ? low : i == first + 1 ? high : 0;
      if (negative) addend = ~addend;
      std::uint64_t extra = carry;
      if (negative && i == first) extra += 1;
      const std::uint64_t sum = w_[i] + addend;
      const std::uint64_t total = sum + extra;
      carry = std::uint64_t(sum < w_[i]) + std::uint64_t(total < sum);
      w_[i] = total;
    }
    // Signed overflow: both operands of one sign, result of the other.
    if (was_negative == negative && is_negative() != negative) nar_ = true;
    // Overflow beyond the logical width (bits above quire_bits() must equal the sign).
    const int spare = words_ * 64 - posit_.quire_bits();
    if (spare > 0) {
      const std::uint64_t top = w_[words_ - 1];
      const std::int64_t signed_top = std::int64_t(top);
      if ((signed_top >> (63 - spare)) != (signed_top >> 63)) nar_ = true;
    }
  }

  Posit posit_;
  int words_;
  bool nar_ = false;
  std::uint64_t w_[MaxWords] = {};
};

// Fused dot product: sum a[i] * b[i] exactly, rounded once. Spans of codes of p.
template <int MaxWords = kMaxQuireWords>
constexpr std::uint64_t fused_dot(const Posit& p, std::span<const std::uint64_t> a,
                                  std::span<const std::uint64_t> b, RoundingSpec r = {},
                                  std::uint32_t random = 0) {
  Quire<MaxWords> q(p);
  const std::size_t count = a.size() < b.size() ? a.size() : b.size();
  for (std::size_t i = 0; i < count; ++i) q.add_product(a[i], b[i]);
  return q.to_posit(r, random);
}

// Fused sum: sum a[i] exactly, rounded once.
template <int MaxWords = kMaxQuireWords>
constexpr std::uint64_t fused_sum(const Posit& p, std::span<const std::uint64_t> a,
                                  RoundingSpec r = {}, std::uint32_t random = 0) {
  Quire<MaxWords> q(p);
  for (const std::uint64_t x : a) q.add(x);
  return q.to_posit(r, random);
}

}  // namespace bitsim::formats
