// Arithmetic in 16-bit and wider formats against the exact reference: 10^6 random operand
// pairs per operation (add, sub, mul, div; fma on random triples) and sqrt of every code
// for fp16, bf16 and posit<16,2>, every deterministic mode per pair. fp32 and fp64 are also checked
// against the host's own IEEE arithmetic (correctly rounded in rne, ru, rd, rz) on
// random pairs, and against the reference on a smaller sample in all modes.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cfenv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/arithmetic.hpp"
#include "formats/format.hpp"
#include "tests/formats/arith_reference.hpp"

using namespace bitsim::formats;
namespace at = bitsim::arith_test;
using bitsim::reference::ReferenceFormat;

namespace {

constexpr Rounding kDeterministic[] = {Rounding::nearest_even,    Rounding::nearest_away,
                                       Rounding::nearest_zero,    Rounding::toward_positive,
                                       Rounding::toward_negative, Rounding::toward_zero,
                                       Rounding::odd};
// sqrt reads one operand: formats of at most 16 bits check it over every code instead.
constexpr at::Op kOps[] = {at::Op::add, at::Op::sub, at::Op::mul, at::Op::div, at::Op::fma};

struct Failures {
  std::atomic<std::size_t> count{0};
  std::mutex lock;
  std::vector<std::string> first;
  void add(const std::string& what) {
    if (count++ < 5) {
      std::lock_guard<std::mutex> guard(lock);
      first.push_back(what);
    }
  }
  void report(std::size_t checked) {
    for (const auto& m : first) MESSAGE(m);
    INFO(count.load() << " of " << checked << " results differ");
    CHECK(count.load() == 0);
  }
};

// Operand triples from a fixed seed: uniform codes (so specials, zeros and subnormals turn
// up at their natural rates) for the i-th case of a run.
std::array<std::uint64_t, 3> random_codes(std::uint64_t seed, std::uint64_t i, int bits) {
  std::mt19937_64 g(seed ^ (i * 0x9e3779b97f4a7c15ull));
  const std::uint64_t mask = bits == 64 ? ~std::uint64_t(0) : (std::uint64_t(1) << bits) - 1;
  return {g() & mask, g() & mask, g() & mask};
}

std::string describe(const std::string& spec, at::Op op, Rounding mode, const std::array<std::uint64_t, 3>& c,
                     std::uint64_t got, std::uint64_t want) {
  return spec + " " + std::string(to_string(Operation(int(op)))) + " " + std::string(short_name(mode)) +
         " codes " + std::to_string(c[0]) + " " + std::to_string(c[1]) + " " + std::to_string(c[2]) +
         ": got " + std::to_string(got) + ", reference " + std::to_string(want);
}

// `count` random cases per operation; `reference(op, operands, q, q_rd)` gives the codes of
// the seven modes.
template <class Operand, class Reference>
void check_random(const std::string& spec, const Arithmetic& arith, int bits, std::size_t count,
                  const std::function<Operand(std::uint64_t)>& operand, const Reference& reference,
                  std::uint64_t (*shape)(std::uint64_t) = nullptr) {
  Failures bad;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count, 4096), [&](const auto& range) {
    for (std::size_t i = range.begin(); i < range.end(); ++i) {
      auto codes = random_codes(0xa51c + bits, i, bits);
      if (shape) for (auto& code : codes) code = shape(code);
      const Operand a = operand(codes[0]), b = operand(codes[1]), c = operand(codes[2]);
      for (const at::Op op : kOps) {
        const at::Result q = at::exact(op, a, b, c, false);
        const at::Result q_rd = q.zero ? at::exact(op, a, b, c, true) : q;
        const auto want = reference(q, q_rd);
        for (const Rounding mode : kDeterministic) {
          const std::uint64_t got = arith.apply(Operation(int(op)), codes[0], codes[1], codes[2], {mode});
          if (got != want[int(mode)]) bad.add(describe(spec, op, mode, codes, got, want[int(mode)]));
        }
      }
    }
  });
  // sqrt: every code when there are at most 2^16, else the first operands of the cases.
  const std::size_t roots = bits <= 16 ? std::size_t(1) << bits : std::min<std::size_t>(count, 1 << 16);
  for (std::size_t i = 0; i < roots; ++i) {
    std::uint64_t code = bits <= 16 ? i : random_codes(0xa51c + bits, i, bits)[0];
    if (shape) code = shape(code);
    const at::Result q = at::exact(at::Op::sqrt, operand(code), {}, {}, false);
    const auto want = reference(q, q);
    for (const Rounding mode : kDeterministic) {
      const std::uint64_t got = arith.sqrt(code, {mode});
      if (got != want[int(mode)]) bad.add(describe(spec, at::Op::sqrt, mode, {code, 0, 0}, got, want[int(mode)]));
    }
  }
  bad.report((count * 5 + roots) * 7);
}

void check_lattice_format(const std::string& spec, std::size_t count,
                          std::uint64_t (*shape)(std::uint64_t) = nullptr) {
  const Format format = Format::parse(spec);
  const ReferenceFormat ref(std::get<MiniFloat>(format.repr()));
  const Arithmetic arith(format);
  const std::unique_ptr<at::PolicyTable> table(format.bits() <= 16 ? new at::PolicyTable(ref) : nullptr);
  check_random<at::Operand>(spec, arith, format.bits(), count,
                            [&](std::uint64_t code) { return at::operand_from(ref, code); },
                            [&](const at::Result& q, const at::Result& q_rd) {
                              const auto codes = at::round_into_all(ref, q, q_rd, table.get());
                              return std::array<std::uint64_t, 8>{codes[0], codes[1], codes[2], codes[3],
                                                                  codes[4], codes[5], codes[6], 0};
                            },
                            shape);
}

}  // namespace

TEST_CASE("fp16: 10^6 random operand sets per operation, all deterministic modes" * doctest::skip()) {
  check_lattice_format("fp16", 1000000);
}

TEST_CASE("bf16: 10^6 random operand sets per operation, all deterministic modes" * doctest::skip()) {
  check_lattice_format("bf16", 1000000);
}

TEST_CASE("posit16: posit<16,2>, 10^6 random operand sets per operation, all deterministic modes" * doctest::skip()) {
  const Posit posit{16, 2};
  const bitsim::test::ReferencePosit ref(16, 2, true);
  const Arithmetic arith(posit);
  check_random<at::Operand>("posit<16,2>", arith, 16, 1000000,
                            [](std::uint64_t code) { return at::operand_from_posit(16, 2, code); },
                            [&](const at::Result& q, const at::Result&) {
                              return at::round_into_posit_modes(ref, q, kDeterministic);
                            });
}

TEST_CASE("fp32, tf32, fp64 and fixed point: random operand sets against the reference, all modes") {
  for (const std::string spec : {"fp32", "tf32"}) {
    INFO(spec);
    check_lattice_format(spec, 3000);
  }
  // fp64: exponents within 2^-500 .. 2^500 (the reference's fixed-width integers hold
  // results up to 2^1166), plus zeros and the specials (subnormals: see the host comparison below).
  check_lattice_format("fp64", 3000, [](std::uint64_t code) {
    const std::uint64_t field = (code >> 52) & 0x7ff;
    if (field == 0) return code & (std::uint64_t(1) << 63);  // zeros, not subnormals
    if (field == 0x7ff) return code;
    const std::uint64_t moderate = 1023 - 500 + field % 1000;
    return (code & ~(std::uint64_t(0x7ff) << 52)) | (moderate << 52);
  });
}

TEST_CASE("fma in 8-bit formats: 2*10^5 random triples, all modes") {
  for (const std::string spec : {"e4m3fn", "e5m2", "e2m1fn", "e3m2fn"}) {
    INFO(spec);
    const Format format = Format::parse(spec);
    const ReferenceFormat ref(std::get<MiniFloat>(format.repr()));
    const Arithmetic arith(format);
    Failures bad;
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, 200000, 4096), [&](const auto& range) {
      for (std::size_t i = range.begin(); i < range.end(); ++i) {
        const auto codes = random_codes(77, i, format.bits());
        const at::Operand a = at::operand_from(ref, codes[0]), b = at::operand_from(ref, codes[1]),
                          c = at::operand_from(ref, codes[2]);
        const at::Result q = at::exact(at::Op::fma, a, b, c, false);
        const auto want = at::round_into_all(ref, q, q.zero ? at::exact(at::Op::fma, a, b, c, true) : q);
        for (const Rounding mode : kDeterministic) {
          const std::uint64_t got = arith.fma(codes[0], codes[1], codes[2], {mode});
          if (got != want[int(mode)]) bad.add(describe(spec, at::Op::fma, mode, codes, got, want[int(mode)]));
        }
      }
    });
    bad.report(200000 * 7);
  }
}

TEST_CASE("posit<8,2>: fma on 2*10^5 random triples, all modes") {
  const bitsim::test::ReferencePosit ref(8, 2, true);
  const Arithmetic arith(Posit{8, 2});
  Failures bad;
  for (std::size_t i = 0; i < 200000; ++i) {
    const auto codes = random_codes(78, i, 8);
    const at::Result q = at::exact(at::Op::fma, at::operand_from_posit(8, 2, codes[0]),
                                   at::operand_from_posit(8, 2, codes[1]), at::operand_from_posit(8, 2, codes[2]), false);
    const auto want = at::round_into_posit_modes(ref, q, kDeterministic);
    for (const Rounding mode : kDeterministic) {
      const std::uint64_t got = arith.fma(codes[0], codes[1], codes[2], {mode});
      if (got != want[int(mode)]) bad.add(describe("posit<8,2>", at::Op::fma, mode, codes, got, want[int(mode)]));
    }
  }
  bad.report(200000 * 7);
}

// The host's float and double arithmetic is IEEE 754 correctly rounded in the four modes
// fesetround offers: an independent check of the fp32 and fp64 paths on many pairs.
template <class Real>
void check_against_host(const std::string& spec, std::size_t count) {
  using Bits = std::conditional_t<sizeof(Real) == 4, std::uint32_t, std::uint64_t>;
  const Arithmetic arith(Format::parse(spec));
  const std::pair<int, Rounding> modes[] = {{FE_TONEAREST, Rounding::nearest_even},
                                            {FE_UPWARD, Rounding::toward_positive},
                                            {FE_DOWNWARD, Rounding::toward_negative},
                                            {FE_TOWARDZERO, Rounding::toward_zero}};
  std::size_t bad = 0;
  for (const auto& [host_mode, mode] : modes) {
    for (std::size_t i = 0; i < count; ++i) {
      const auto codes = random_codes(99, i, int(sizeof(Real) * 8));
      const volatile Real a = std::bit_cast<Real>(Bits(codes[0]));
      const volatile Real b = std::bit_cast<Real>(Bits(codes[1]));
      const volatile Real c = std::bit_cast<Real>(Bits(codes[2]));
      std::fesetround(host_mode);
      const Real results[] = {a + b, a - b, a * b, a / b, std::fma(Real(a), Real(b), Real(c)), std::sqrt(Real(a))};
      std::fesetround(FE_TONEAREST);
      for (int op = 0; op < 6; ++op) {
        const std::uint64_t got = arith.apply(Operation(op), codes[0], codes[1], codes[2], {mode});
        const Real host = results[op];
        // NaNs: any NaN code matches (the host's NaN payloads are its own).
        const bool same = std::isnan(host) ? arith.value(got) != arith.value(got)
                                           : got == std::uint64_t(std::bit_cast<Bits>(host));
        if (!same && bad++ < 5) {
          MESSAGE(spec << " op " << op << " mode " << short_name(mode) << " codes " << codes[0] << " "
                       << codes[1] << " " << codes[2] << ": got " << got << ", host "
                       << std::uint64_t(std::bit_cast<Bits>(host)));
        }
      }
    }
  }
  CHECK(bad == 0);
}

TEST_CASE("fp32 and fp64 against the host's IEEE arithmetic in rne, ru, rd, rz") {
  check_against_host<float>("fp32", 200000);
  check_against_host<double>("fp64", 200000);
}
