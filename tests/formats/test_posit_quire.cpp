// The quire: its contents equal the exact rational sum of products, and to_posit() rounds
// that sum once, as the reference does. Also shows what rounding after every step costs.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "formats/posit.hpp"
#include "formats/quire.hpp"
#include "formats/random_stream.hpp"
#include "tests/formats/test_posit_reference.hpp"

using namespace bitsim::formats;
using bitsim::test::BigInt;
using bitsim::test::Rational;
using bitsim::test::ReferencePosit;
using bitsim::test::reference_value;

namespace {

// The quire's two's-complement words as an exact rational.
Rational quire_value(const Quire<>& q) {
  BigInt v = 0;
  for (int i = q.words() - 1; i >= 0; --i) v = (v << 64) | BigInt(q.word(i));
  if (q.is_negative()) v -= BigInt(1) << (64 * q.words());
  return Rational(v, BigInt(1) << q.fraction_bits());
}

std::uint64_t random_code(const Posit& p, std::mt19937_64& gen, bool near_one) {
  if (near_one) {  // values of a typical dot product: normal, some spread in magnitude
    std::normal_distribution<double> normal(0.0, 1.0);
    return encode(p, normal(gen) * std::exp2(normal(gen) * 2));
  }
  std::uniform_int_distribution<std::uint64_t> any(0, p.mask());
  std::uint64_t c;
  do c = any(gen); while (p.is_nar(c));
  return c;
}

}  // namespace

TEST_CASE("quire: every product of two posit<8,es> is held exactly and rounded once") {
  const RandomStream rng{3, 4};
  for (int es = 0; es <= 4; ++es) {
    const Posit p{8, es};
    const ReferencePosit ref(8, es, true);
    CAPTURE(es);
    std::int64_t mismatches = 0;
    for (std::uint64_t a = 0; a < 256; ++a) {
      for (std::uint64_t b = 0; b < 256; ++b) {
        if (p.is_nar(a) || p.is_nar(b)) continue;
        Quire<> q(p);
        q.add_product(a, b);
        const Rational exact = reference_value(8, es, a) * reference_value(8, es, b);
        if (q.is_nar() || quire_value(q) != exact) ++mismatches;
        // The product is a double exactly (at most 12 significant bits), so the reference
        // can round it through its double path, in every mode.
        const double product = decode<double>(p, a) * decode<double>(p, b);
        if (Rational(product) != exact) ++mismatches;
        const std::uint32_t word = rng.word(a * 256 + b);
        for (int mode = 0; mode < kRoundingModeCount; ++mode) {
          const RoundingSpec r{Rounding(mode), mode == int(Rounding::stochastic) ? 1 + int(b % 32) : 32};
          if (q.to_posit(r, word) != ref.round(product, r, word)) ++mismatches;
        }
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("quire: random fused dot products equal the exact sum rounded once, every mode") {
  std::mt19937_64 gen(4242);
  const RandomStream rng{5, 6};
  std::uint64_t index = 0;
  for (const Posit p : {Posit{8, 0}, Posit{8, 2}, Posit{12, 3}, Posit{16, 1}, Posit{16, 2},
                        Posit{24, 1}, Posit{32, 0}, Posit{32, 2}, Posit{32, 4}}) {
    const ReferencePosit ref(p.n, p.es, false);
    CAPTURE(p.n);
    CAPTURE(p.es);
    std::int64_t mismatches = 0;
    for (int trial = 0; trial < 250; ++trial) {
      const bool near_one = trial % 2 == 0;
      std::uniform_int_distribution<int> length(1, 40), op(0, 3);
      Quire<> q(p);
      Rational exact = 0;
      const int count = length(gen);
      for (int i = 0; i < count; ++i) {
        const std::uint64_t a = random_code(p, gen, near_one), b = random_code(p, gen, near_one);
        const Rational va = reference_value(p.n, p.es, a), vb = reference_value(p.n, p.es, b);
        switch (op(gen)) {  // products mostly, some subtractions and plain additions
          case 0: q.subtract_product(a, b); exact -= va * vb; break;
          case 1: q.add(a); exact += va; break;
          default: q.add_product(a, b); exact += va * vb; break;
        }
      }
      if (q.is_nar() || quire_value(q) != exact) ++mismatches;
      for (int mode = 0; mode < kRoundingModeCount; ++mode) {
        const RoundingSpec r{Rounding(mode), mode == int(Rounding::stochastic) ? 1 + int(index % 32) : 32};
        const std::uint32_t word = rng.word(index++);
        if (q.to_posit(r, word) != ref.round_exact(exact, r, word)) ++mismatches;
      }
    }
    CHECK(mismatches == 0);
  }
}

TEST_CASE("quire: fused vs rounding after every step (posit<16,2>, posit<8,2>)") {
  std::mt19937_64 gen(77);
  for (const Posit p : {Posit{8, 2}, Posit{16, 2}}) {
    const ReferencePosit ref(p.n, p.es, true);
    int differ = 0, fused_worse = 0;
    double naive_error = 0, fused_error = 0;
    constexpr int kTrials = 2000, kLength = 32;
    for (int trial = 0; trial < kTrials; ++trial) {
      std::vector<std::uint64_t> a(kLength), b(kLength);
      for (int i = 0; i < kLength; ++i) {
        a[i] = random_code(p, gen, true);
        b[i] = random_code(p, gen, true);
      }
      Rational exact = 0;
      for (int i = 0; i < kLength; ++i) exact += reference_value(p.n, p.es, a[i]) * reference_value(p.n, p.es, b[i]);
      const std::uint64_t fused = fused_dot(p, a, b);
      // Naive: each product rounded, then each partial sum rounded (each step exact-then-round).
      std::uint64_t sum = 0;
      for (int i = 0; i < kLength; ++i) {
        Quire<> product(p);
        product.add_product(a[i], b[i]);
        Quire<> step(p);
        step.add(sum);
        step.add(product.to_posit());
        sum = step.to_posit();
      }
      CHECK(fused == ref.round_exact(exact, {}));
      const Rational f = reference_value(p.n, p.es, fused), s = reference_value(p.n, p.es, sum);
      const Rational ef = abs(f - exact), en = abs(s - exact);
      differ += fused != sum;
      fused_worse += ef > en;  // the nearest posit can never be farther than another posit
      if (exact != 0) {
        fused_error += double(ef / abs(exact));
        naive_error += double(en / abs(exact));
      }
    }
    MESSAGE(to_spec(p) << ": " << kTrials << " dot products of length " << kLength
                       << ", naive != fused in " << differ << "; mean relative error naive "
                       << naive_error / kTrials << ", fused " << fused_error / kTrials);
    CHECK(fused_worse == 0);
    CHECK(differ > kTrials / 10);
    CHECK(fused_error < naive_error);
  }
}

TEST_CASE("quire: NaR, zero, cancellation, fused_sum") {
  const Posit p{16, 2};
  Quire<> q(p);
  CHECK(q.to_posit() == 0);
  q.add_product(0x4000, 0);  // 1 * 0
  CHECK(q.to_posit() == 0);
  // maxpos^2 - maxpos^2 + minpos^2: exact cancellation leaves minpos^2, which clamps to minpos.
  q.add_product(p.maxpos_code(), p.maxpos_code());
  q.subtract_product(p.maxpos_code(), p.maxpos_code());
  q.add_product(p.minpos_code(), p.minpos_code());
  CHECK(quire_value(q) == reference_value(16, 2, 1) * reference_value(16, 2, 1));
  CHECK(q.to_posit() == p.minpos_code());
  CHECK(q.to_posit({Rounding::toward_zero}) == p.minpos_code());
  q.add_product(p.nar_code(), 0x4000);
  CHECK(q.is_nar());
  q.add(0x4000);
  CHECK(q.to_posit() == p.nar_code());
  q.clear();
  CHECK(q.to_posit() == 0);
  // 1 + 2^-40 - 1: lost by any rounding in between, kept by the quire.
  const std::uint64_t one = encode(p, 1.0), tiny = encode(p, 0x1p-40);
  const std::vector<std::uint64_t> terms{one, tiny, p.negate(one)};
  CHECK(fused_sum(p, terms) == tiny);
  // The standard's quire sizes: 16n bits for es = 2.
  CHECK(Quire<>(Posit{8, 2}).words() == 2);
  CHECK(Quire<>(Posit{32, 2}).words() == 8);
  CHECK(Quire<8>::fits(Posit{32, 2}));
  CHECK_FALSE(Quire<8>::fits(Posit{32, 3}));
  CHECK(Quire<>::fits(Posit{32, 4}));
  // Storage too small for the posit: NaR from the start (and after clear), never garbage.
  Quire<8> narrow(Posit{32, 3});
  CHECK(narrow.is_nar());
  narrow.clear();
  narrow.add(0x40000000);
  CHECK(narrow.to_posit() == Posit{32, 3}.nar_code());
}
