// Stochastic rounding of operations: SR applied to the exact result. Checked three ways:
// the decision for each random word against the reference (which computes
// floor(2^k (q - lo) / (hi - lo)) exactly), unbiasedness (the mean of many rounded results
// tends to the exact result), and reproducibility (same seed, stream and index: same code,
// whatever the thread count).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "formats/arithmetic.hpp"
#include "formats/format.hpp"
#include "tests/formats/arith_reference.hpp"

using namespace bitsim::formats;
namespace at = bitsim::arith_test;
using bitsim::reference::ReferenceFormat;

namespace {

constexpr at::Op kOps[] = {at::Op::add, at::Op::sub, at::Op::mul, at::Op::div, at::Op::fma, at::Op::sqrt};

}  // namespace

TEST_CASE("stochastic rounding of every operation matches the reference decision, word by word") {
  // fp32 with sr:32 takes the wide path; e4m3fn, fp16, bf16 and int8 the narrow one; fp64
  // with sr:10 the wide one at its limit.
  const std::pair<std::string, int> cases[] = {{"e4m3fn", 32}, {"e5m2", 3}, {"fp16", 32}, {"bf16", 32},
                                               {"fp32", 32},   {"fp64", 10}, {"int8", 32}, {"e2m1fn", 32}};
  for (const auto& [spec, k] : cases) {
    INFO(spec << " sr:" << k);
    const Format format = Format::parse(spec);
    const ReferenceFormat ref = ReferenceFormat::from(format.repr());
    const Arithmetic arith(format);
    const RoundingSpec sr{Rounding::stochastic, k};
    const RandomStream rng{1234, 5};
    std::mt19937_64 g(42);
    std::uniform_real_distribution<double> u(-4, 4);
    std::size_t bad = 0;
    for (std::uint64_t i = 0; i < 3000; ++i) {
      // Operands in the format (so that results are inexact often), from random doubles.
      std::uint64_t codes[3];
      for (auto& c : codes) c = arith.from_double(u(g));
      const at::Operand a = at::operand_from(ref, codes[0]), b = at::operand_from(ref, codes[1]),
                        c = at::operand_from(ref, codes[2]);
      for (const at::Op op : kOps) {
        const std::uint64_t got = arith.apply(Operation(int(op)), codes[0], codes[1], codes[2], sr, rng, i);
        const std::uint64_t want =
            at::round_into(ref, at::exact(op, a, b, c, false), Rounding::stochastic, rng.word(i), k);
        if (got != want && bad++ < 5) {
          MESSAGE(spec << " op " << int(op) << " index " << i << ": got " << got << ", reference " << want);
        }
      }
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("stochastic rounding in posits matches the reference decision") {
  for (const int n : {8, 16}) {
    const Posit posit{n, 2};
    const bitsim::test::ReferencePosit ref(n, 2, true);
    const Arithmetic arith(posit);
    const RoundingSpec sr{Rounding::stochastic, 32};
    const RandomStream rng{77, 1};
    std::mt19937_64 g(n);
    std::size_t bad = 0;
    for (std::uint64_t i = 0; i < 3000; ++i) {
      const std::uint64_t mask = (std::uint64_t(1) << n) - 1;
      const std::uint64_t codes[3] = {g() & mask, g() & mask, g() & mask};
      const at::Operand a = at::operand_from_posit(n, 2, codes[0]), b = at::operand_from_posit(n, 2, codes[1]),
                        c = at::operand_from_posit(n, 2, codes[2]);
      for (const at::Op op : kOps) {
        const std::uint64_t got = arith.apply(Operation(int(op)), codes[0], codes[1], codes[2], sr, rng, i);
        const std::uint64_t want =
            at::round_into_posit(ref, at::exact(op, a, b, c, false), Rounding::stochastic, rng.word(i), 32);
        if (got != want && bad++ < 5) MESSAGE("posit" << n << " op " << int(op) << " index " << i << ": got " << got << ", reference " << want);
      }
    }
    CHECK(bad == 0);
  }
}

TEST_CASE("stochastic rounding of products and quotients is unbiased") {
  // The mean of SR(a op b) over many random words approaches the exact a op b: the error
  // of the mean is within 5 standard errors of 0 (std error <= gap / (2 sqrt(N))).
  struct Case {
    const char* format;
    Operation op;
    double a, b;
  };
  const Case cases[] = {{"e4m3fn", Operation::mul, 1.125, 1.375},  // 1.546875, between 1.5 and 1.625
                        {"e4m3fn", Operation::div, 1.0, 3.0},      // 1/3
                        {"e5m2", Operation::add, 1.0, 0.0625},     // 1.0625, between 1 and 1.25
                        {"bf16", Operation::div, 1.0, 10.0},
                        {"fp16", Operation::sqrt, 2.0, 0.0}};
  constexpr std::size_t kN = 200000;
  for (const auto& c : cases) {
    INFO(c.format << " " << to_string(c.op));
    const Format format = Format::parse(c.format);
    const Arithmetic arith(format);
    const std::uint64_t a = arith.from_double(c.a), b = arith.from_double(c.b);
    const double exact = c.op == Operation::mul   ? c.a * c.b
                         : c.op == Operation::div ? c.a / c.b
                         : c.op == Operation::add ? c.a + c.b
                                                  : std::sqrt(c.a);
    std::vector<std::uint64_t> as(kN, a), bs(kN, b), out(kN);
    arith.apply(c.op, as, bs, {}, out, {Rounding::stochastic, 32}, {2024, 0});
    double sum = 0, lo = HUGE_VAL, hi = -HUGE_VAL;
    for (const std::uint64_t code : out) {
      const double v = arith.value(code);
      sum += v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    REQUIRE(lo < exact);
    REQUIRE(hi > exact);  // both neighbours occur
    const double standard_error = (hi - lo) / (2 * std::sqrt(double(kN)));
    CHECK(std::fabs(sum / kN - exact) < 5 * standard_error);
  }
}

TEST_CASE("stochastic rounding is reproducible and independent of the thread count") {
  const Arithmetic arith(Format::parse("e4m3fn"));
  constexpr std::size_t kN = 100000;
  std::vector<std::uint64_t> a(kN), b(kN), c(kN);
  std::mt19937_64 g(5);
  for (std::size_t i = 0; i < kN; ++i) {
    a[i] = g() & 0xff;
    b[i] = g() & 0xff;
    c[i] = g() & 0xff;
  }
  const RoundingSpec sr{Rounding::stochastic, 32};
  std::vector<std::uint64_t> reference(kN);
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    arith.apply(Operation::fma, a, b, c, reference, sr, {11, 3});
  }
  std::vector<std::uint64_t> again(kN), other_seed(kN), offset(kN / 2);
  arith.apply(Operation::fma, a, b, c, again, sr, {11, 3});
  CHECK(again == reference);
  arith.apply(Operation::fma, a, b, c, other_seed, sr, {12, 3});
  CHECK(other_seed != reference);
  // A slice with index_offset gives the same codes as the whole span.
  arith.apply(Operation::fma, std::span(a).subspan(kN / 2), std::span(b).subspan(kN / 2),
              std::span(c).subspan(kN / 2), offset, sr, {11, 3}, kN / 2);
  CHECK(std::equal(offset.begin(), offset.end(), reference.begin() + kN / 2));
  // And the span result equals the scalar one, element by element.
  for (std::size_t i = 0; i < kN; i += 997) CHECK(arith.fma(a[i], b[i], c[i], sr, {11, 3}, i) == reference[i]);
}
