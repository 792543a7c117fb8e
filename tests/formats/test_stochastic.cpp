// Stochastic rounding: every decision against the reference's exact k-bit rule, the
// statistics (frequency of rounding away = the exact k-bit probability; mean error -> 0),
// reproducibility, independence of the thread count, and index_offset slicing.
//
// Statistical bounds are 5 sigma of a binomial count (two-sided false alarm probability
// 6e-7 per check); the seeds are fixed, so a run is deterministic anyway.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <Random123/philox.h>
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include "formats/format.hpp"
#include "tests/formats/fast_vs_reference.hpp"
#include "tests/formats/input_sets.hpp"

namespace bf = bitsim::formats;
namespace br = bitsim::reference;
namespace ft = bitsim::format_tests;
namespace mp = boost::multiprecision;
using bf::Format;
using bf::RandomStream;
using bf::Rounding;
using bf::RoundingSpec;

namespace {

std::vector<float> random_floats(std::size_t n, std::uint64_t seed, float lo, float hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

template <class Real>
bool same_bits(const std::vector<Real>& a, const std::vector<Real>& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](Real x, Real y) {
           return std::bit_cast<std::conditional_t<sizeof(Real) == 4, std::uint32_t, std::uint64_t>>(x) ==
                  std::bit_cast<std::conditional_t<sizeof(Real) == 4, std::uint32_t, std::uint64_t>>(y);
         });
}

// The input `fraction` of the way from lattice point `lo` to the next one up (as a double
// at or below that point); the exact fraction of the resulting input comes from the reference.
double input_at_fraction(const br::ReferenceFormat& ref, double lo, double fraction) {
  const auto b = ref.bracket(false, br::exact_from(lo) + 1);
  const br::Exact gap = b.away.magnitude - b.toward_zero.magnitude;
  const auto scale = std::int64_t(1) << 40;
  const br::Exact target = b.toward_zero.magnitude + gap * std::int64_t(std::llround(fraction * double(scale))) / scale;
  return br::double_below(target);
}

double to_double(const mp::cpp_rational& r) { return r.convert_to<double>(); }

}  // namespace

TEST_CASE("RandomStream is Philox4x32-10 keyed as documented") {
  for (const RandomStream rng : {RandomStream{0, 0}, RandomStream{42, 7}, RandomStream{0xDEADBEEFCAFEull, 1ull << 40}}) {
    for (std::uint64_t index : {0ull, 1ull, 3ull, 4ull, 5ull, 1023ull, (1ull << 34) + 6}) {
      r123::Philox4x32_R<10> philox;
      const std::uint64_t group = index / 4;
      const r123::Philox4x32_R<10>::ctr_type counter = {{std::uint32_t(group), std::uint32_t(group >> 32),
                                                         std::uint32_t(rng.stream), std::uint32_t(rng.stream >> 32)}};
      const r123::Philox4x32_R<10>::key_type key = {{std::uint32_t(rng.seed), std::uint32_t(rng.seed >> 32)}};
      CHECK(rng.word(index) == philox(counter, key).v[index % 4]);
    }
  }
}

TEST_CASE("every stochastic decision follows the reference's k-bit rule") {
  struct Case {
    const char* spec;
    std::size_t random_count;
    bool with_lattice;  // all lattice points and midpoints with neighbours (small formats)
  };
  const Case cases[] = {{"e4m3fn", 20000, true}, {"e5m2", 20000, true},      {"e2m1fn", 5000, true},
                        {"e8m0fnu", 5000, true}, {"e4m3fnuz", 5000, true},   {"int8", 20000, true},
                        {"uint4", 5000, true},   {"e3m2fn<nan=max>", 5000, true}, {"e5m2<overflow=saturate>", 5000, true},
                        {"bf16", 30000, false},  {"fp16", 30000, false},     {"fp32", 30000, false},
                        {"int32<frac=8>", 30000, false}};
  std::uint64_t seed = 1000;
  for (const auto& c : cases) {
    const auto fast = Format::parse(c.spec);
    const auto ref = br::ReferenceFormat::from(fast.repr());
    std::vector<double> inputs = ft::random_inputs(ref, c.random_count, ++seed);
    for (const auto& more : {ft::special_inputs(ref), ft::range_boundary_inputs(ref)}) {
      inputs.insert(inputs.end(), more.begin(), more.end());
    }
    if (c.with_lattice) {
      const auto lattice = ft::lattice_boundary_inputs(ref);
      inputs.insert(inputs.end(), lattice.begin(), lattice.end());
    }
    for (int k : {1, 2, 3, 8, 16, 23, 31, 32}) {
      INFO(c.spec << ", sr:" << k << ", " << inputs.size() << " inputs");
      CHECK(ft::compare_stochastic(fast, ref, inputs, k, RandomStream{seed, std::uint64_t(k)}) == 0);
    }
  }
}

TEST_CASE("frequency of rounding away equals the exact k-bit probability (5 sigma)") {
  constexpr std::size_t n = std::size_t(1) << 18;
  for (const std::string spec : {"e4m3fn", "bf16", "int8", "e2m1fn"}) {
    const auto fast = Format::parse(spec);
    const auto ref = br::ReferenceFormat::from(fast.repr());
    for (double lo : {1.0, 2.0, 0.5}) {
      for (double fraction : {0.125, 0.3, 0.5, 0.7, 0.999}) {
        const double x = input_at_fraction(ref, lo, fraction);
        const br::ReferenceCase rc(ref, x, br::Source::float64);
        const double away_value = rc.bracket().away.value;
        for (int k : {32, 8, 2, 1}) {
          const double p = to_double(rc.probability_away(k));
          std::vector<double> in(n, x), out(n);
          fast.quantize(in, std::span<double>(out), RoundingSpec{Rounding::stochastic, k},
                        RandomStream{std::uint64_t(k) * 31 + 7, 3});
          const auto away = std::size_t(std::count(out.begin(), out.end(), away_value));
          const auto toward = std::size_t(std::count(out.begin(), out.end(), rc.bracket().toward_zero.value));
          const double frequency = double(away) / double(n);
          const double sigma = std::sqrt(p * (1 - p) / double(n));
          INFO(spec << " x = " << ft::hex_float(x) << " (fraction " << to_double(rc.fraction()) << "), sr:" << k
                    << ": P(away) = " << p << ", observed " << frequency << ", sigma " << sigma);
          CHECK(away + toward == n);
          if (p == 0) CHECK(away == 0);  // e.g. fraction 0.3 with one bit: floor(0.6) = 0, never away
          CHECK(std::fabs(frequency - p) <= 5 * sigma);
        }
      }
    }
  }
}

TEST_CASE("stochastic rounding is unbiased: mean error -> 0 (5 sigma); k bits bias by floor(f 2^k)/2^k - f") {
  constexpr std::size_t n = std::size_t(1) << 20;
  // Positive inputs inside the range (errors of the two signs would cancel; saturation past
  // max is a bias of its own).
  for (const std::string spec : {"bf16", "e4m3fn", "int4<frac=2>"}) {
    const auto fast = Format::parse(spec);
    const auto ref = br::ReferenceFormat::from(fast.repr());
    const std::vector<float> in = random_floats(n, 77, 0.01f, 1.7f);
    for (int k : {32, 3}) {
      std::vector<float> out(n);
      fast.quantize(in, out, RoundingSpec{Rounding::stochastic, k}, RandomStream{5, 9});
      // Mean error and its standard deviation, and the bias the k-bit rule predicts, from
      // the reference's neighbours (double arithmetic is plenty for statistics; the exact
      // k-bit decisions are checked one by one above).
      double error_sum = 0, variance_sum = 0, predicted_bias = 0;
      const double scale = std::ldexp(1.0, k);
      for (std::size_t i = 0; i < n; ++i) {
        const br::ReferenceCase rc(ref, double(in[i]), br::Source::float32);
        const double low = rc.bracket().toward_zero.value, gap = rc.bracket().away.value - low;
        const double fraction = gap > 0 ? (std::fabs(double(in[i])) - low) / gap : 0.0;
        const double p = std::floor(fraction * scale) / scale;
        const double sign = in[i] < 0 ? -1.0 : 1.0;
        error_sum += double(out[i]) - double(in[i]);
        variance_sum += p * (1 - p) * gap * gap;
        predicted_bias += sign * (p - fraction) * gap;
      }
      const double mean_error = error_sum / double(n);
      const double sigma = std::sqrt(variance_sum) / double(n);
      INFO(spec << " sr:" << k << ": mean error " << mean_error << ", predicted bias " << predicted_bias / double(n)
                << ", sigma " << sigma);
      CHECK(std::fabs(mean_error - predicted_bias / double(n)) <= 5 * sigma);
      if (k == 32) CHECK(std::fabs(mean_error) <= 5 * sigma + 0x1p-32);  // unbiased to 2^-32 of a gap
      if (k == 3) CHECK(mean_error < -10 * sigma);  // three bits truncate: a visible bias toward zero
    }
  }
}

TEST_CASE("k-bit truncation: with fraction 0.3, one bit never rounds away, two bits do a quarter of the time") {
  const auto fast = Format::parse("int8");
  constexpr std::size_t n = std::size_t(1) << 18;
  std::vector<float> in(n, 2.3f), out(n);
  fast.quantize(in, out, RoundingSpec{Rounding::stochastic, 1}, RandomStream{1, 1});
  CHECK(std::count(out.begin(), out.end(), 3.0f) == 0);
  fast.quantize(in, out, RoundingSpec{Rounding::stochastic, 2}, RandomStream{1, 1});
  const double frequency = double(std::count(out.begin(), out.end(), 3.0f)) / double(n);
  CHECK(std::fabs(frequency - 0.25) <= 5 * std::sqrt(0.25 * 0.75 / double(n)));
}

TEST_CASE("reproducible: same seed and stream -> same bits; another seed or stream -> other bits") {
  const auto fast = Format::parse("e4m3fn");
  const std::vector<float> in = random_floats(200000, 3, -300.0f, 300.0f);
  const RoundingSpec sr{Rounding::stochastic, 32};
  const auto run = [&](RandomStream rng) {
    std::vector<float> out(in.size());
    fast.quantize(in, out, sr, rng);
    return out;
  };
  const auto a = run({11, 2});
  CHECK(same_bits(a, run({11, 2})));
  for (const RandomStream other : {RandomStream{12, 2}, RandomStream{11, 3}}) {
    const auto b = run(other);
    std::size_t differ = 0;
    for (std::size_t i = 0; i < in.size(); ++i) differ += std::bit_cast<std::uint32_t>(a[i]) != std::bit_cast<std::uint32_t>(b[i]);
    // For fractions spread uniformly two draws disagree with probability 2 E[f(1-f)] = 1/3.
    INFO("seed " << other.seed << " stream " << other.stream << ": " << differ << " of " << in.size() << " differ");
    CHECK(double(differ) > 0.25 * double(in.size()));
  }
}

TEST_CASE("results do not depend on the thread count") {
  // 2^20 elements: 32 blocks of the fast path's parallel grain.
  const std::vector<float> in32 = random_floats(std::size_t(1) << 20, 4, -500.0f, 500.0f);
  const std::vector<double> in64(in32.begin(), in32.end());
  for (const std::string spec : {"bf16", "e4m3fn", "int8"}) {
    const auto fast = Format::parse(spec);
    for (const RoundingSpec r : {RoundingSpec{Rounding::stochastic, 32}, RoundingSpec{Rounding::stochastic, 4},
                                 RoundingSpec{Rounding::nearest_even}}) {
      const auto run32 = [&] {
        std::vector<float> out(in32.size());
        fast.quantize(in32, out, r, RandomStream{8, 1});
        return out;
      };
      const auto run64 = [&] {
        std::vector<double> out(in64.size());
        fast.quantize(in64, out, r, RandomStream{8, 1});
        return out;
      };
      const auto reference32 = run32();
      const auto reference64 = run64();
      for (std::size_t threads : {1, 2, 4}) {
        tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
        INFO(spec << " " << bf::to_string(r) << " with at most " << threads << " threads");
        CHECK(same_bits(run32(), reference32));
        CHECK(same_bits(run64(), reference64));
      }
    }
  }
}

TEST_CASE("index_offset: a slice quantized with its offset equals that part of the whole") {
  const auto fast = Format::parse("bf16");
  const std::vector<float> in = random_floats(200003, 6, -4.0f, 4.0f);
  const RoundingSpec sr{Rounding::stochastic, 32};
  const RandomStream rng{21, 4};
  std::vector<float> whole(in.size());
  fast.quantize(in, whole, sr, rng);
  // Offsets inside a Philox group of four, at run (256) and grain (32768) edges, and long slices.
  const std::pair<std::size_t, std::size_t> slices[] = {{0, 1},         {1, 2},          {3, 7},
                                                        {5, 1000},      {255, 258},      {256, 513},
                                                        {32767, 32770}, {32769, 100001}, {100001, 200003}};
  for (const auto& [begin, end] : slices) {
    std::vector<float> part(end - begin);
    fast.quantize(std::span<const float>(in).subspan(begin, end - begin), part, sr, rng, begin);
    INFO("slice [" << begin << ", " << end << ")");
    CHECK(same_bits(part, std::vector<float>(whole.begin() + std::ptrdiff_t(begin), whole.begin() + std::ptrdiff_t(end))));
  }
  // The same with float64 spans.
  const std::vector<double> in64(in.begin(), in.end());
  std::vector<double> whole64(in64.size());
  fast.quantize(in64, whole64, sr, rng);
  std::vector<double> part64(in64.size() - 77);
  fast.quantize(std::span<const double>(in64).subspan(77), part64, sr, rng, 77);
  CHECK(same_bits(part64, std::vector<double>(whole64.begin() + 77, whole64.end())));
}
