// Arithmetic (formats/arithmetic.hpp) against the exact reference (arith_reference.hpp),
// exhaustively: every named format of at most 8 bits (FP8, FP6, FP4, E8M0, unsigned
// scales, small integers), every pair of codes for add, sub, mul and div, every code for
// sqrt, in all seven deterministic modes; posit<8,2> (and posit<8,0>) likewise.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/arithmetic.hpp"
#include "formats/format.hpp"
#include "tests/formats/arith_reference.hpp"

using namespace bitsim::formats;
namespace at = bitsim::arith_test;

namespace {

constexpr Rounding kDeterministic[] = {Rounding::nearest_even,    Rounding::nearest_away,
                                       Rounding::nearest_zero,    Rounding::toward_positive,
                                       Rounding::toward_negative, Rounding::toward_zero,
                                       Rounding::odd};
constexpr at::Op kBinary[] = {at::Op::add, at::Op::sub, at::Op::mul, at::Op::div};

Operation to_operation(at::Op op) { return Operation(int(op)); }

// Collects mismatches from worker threads; reports the first few on the test's thread.
struct Mismatches {
  std::atomic<std::size_t> count{0};
  std::mutex lock;
  std::vector<std::string> first;
  void add(const std::string& what) {
    if (count++ < 5) {
      std::lock_guard<std::mutex> guard(lock);
      first.push_back(what);
    }
  }
  void report(const std::string& name, std::size_t checked) {
    for (const auto& m : first) MESSAGE(m);
    INFO(name << ": " << count.load() << " of " << checked << " results differ");
    CHECK(count.load() == 0);
  }
};

std::string describe(const std::string& spec, at::Op op, Rounding mode, std::uint64_t a,
                     std::uint64_t b, std::uint64_t got, std::uint64_t want) {
  return spec + " " + std::string(to_string(to_operation(op))) + " " +
         std::string(short_name(mode)) + " a=" + std::to_string(a) + " b=" + std::to_string(b) +
         ": got " + std::to_string(got) + ", reference " + std::to_string(want);
}

using Codes = std::array<std::uint64_t, 7>;  // one per deterministic mode, in enum order

// Every pair (and every single code for sqrt) of a format of `bits` bits: `reference(op,
// a, b)` (the codes of all seven modes) against Arithmetic.
void check_all_pairs(const std::string& spec, const Arithmetic& arith, int bits,
                     const std::function<Codes(at::Op, std::uint64_t, std::uint64_t)>& reference) {
  const std::uint64_t codes = std::uint64_t(1) << bits;
  Mismatches bad;
  const auto check_one = [&](at::Op op, std::uint64_t a, std::uint64_t b) {
    const Codes want = reference(op, a, b);
    for (const Rounding mode : kDeterministic) {
      const std::uint64_t got = arith.apply(to_operation(op), a, b, 0, RoundingSpec{mode});
      if (got != want[int(mode)]) bad.add(describe(spec, op, mode, a, b, got, want[int(mode)]));
    }
  };
  tbb::parallel_for(tbb::blocked_range<std::uint64_t>(0, codes, 1), [&](const auto& range) {
    for (std::uint64_t a = range.begin(); a < range.end(); ++a) {
      for (std::uint64_t b = 0; b < codes; ++b) {
        for (const at::Op op : kBinary) check_one(op, a, b);
      }
      check_one(at::Op::sqrt, a, 0);
    }
  });
  bad.report(spec, std::size_t(codes) * (codes * 4 + 1) * 7);
}

}  // namespace

TEST_CASE("every named format of at most 8 bits: all pairs, all deterministic modes") {
  int tested = 0;
  for (const auto& named : named_formats()) {
    const Format format(named.format);
    if (format.bits() > 8) continue;
    const bitsim::reference::ReferenceFormat ref = bitsim::reference::ReferenceFormat::from(
        std::get_if<MiniFloat>(&format.repr()) ? std::variant<MiniFloat, FixedPoint>(std::get<MiniFloat>(format.repr()))
                                               : std::variant<MiniFloat, FixedPoint>(std::get<FixedPoint>(format.repr())));
    std::vector<at::Operand> operands;
    for (std::uint64_t c = 0; c < (std::uint64_t(1) << format.bits()); ++c) {
      operands.push_back(at::operand_from(ref, c));
    }
    const Arithmetic arith(format);
    const at::PolicyTable table(ref);
    check_all_pairs(format.spec(), arith, format.bits(),
                    [&](at::Op op, std::uint64_t a, std::uint64_t b) {
                      const at::Result q = at::exact(op, operands[a], operands[b], {}, false);
                      const at::Result q_rd = q.zero ? at::exact(op, operands[a], operands[b], {}, true) : q;
                      return at::round_into_all(ref, q, q_rd, &table);
                    });
    ++tested;
  }
  CHECK(tested >= 15);
}

TEST_CASE("posit<8,2> and posit<8,0>: all pairs, all deterministic modes") {
  for (const int es : {2, 0}) {
    const Posit posit{8, es};
    const bitsim::test::ReferencePosit ref(8, es, true);
    std::vector<at::Operand> operands;
    for (std::uint64_t c = 0; c < 256; ++c) operands.push_back(at::operand_from_posit(8, es, c));
    const Arithmetic arith(posit);
    check_all_pairs(to_spec(posit), arith, 8, [&](at::Op op, std::uint64_t a, std::uint64_t b) {
      const at::Result q = at::exact(op, operands[a], operands[b], {}, false);
      const auto all = at::round_into_posit_modes(ref, q, kDeterministic);
      Codes codes;
      std::copy_n(all.begin(), 7, codes.begin());
      return codes;
    });
  }
}
