// GPU vs CPU: Format::quantize on the device must give the same bits as on the host, for
// every named format, every rounding mode (stochastic with several k), float32 and
// float64 inputs. Exits 77 (CTest: skipped) when no GPU is present.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "formats/cuda/quantize_cuda.hpp"
#include "formats/format.hpp"

namespace bf = bitsim::formats;

namespace {

// Inputs that exercise every branch: a stride through all float32 patterns, every value
// of small formats with its midpoints and neighbours, specials, and random values.
template <class Real>
std::vector<Real> inputs_for(const bf::Format& f) {
  using Bits = typename bf::SourceTraits<Real>::Bits;
  std::vector<Real> xs;
  const Real specials[] = {Real(0), -Real(0), std::numeric_limits<Real>::infinity(),
                           -std::numeric_limits<Real>::infinity(), std::numeric_limits<Real>::quiet_NaN(),
                           -std::numeric_limits<Real>::quiet_NaN(), std::numeric_limits<Real>::denorm_min(),
                           std::numeric_limits<Real>::max(), -std::numeric_limits<Real>::max()};
  xs.insert(xs.end(), std::begin(specials), std::end(specials));
  if constexpr (sizeof(Real) == 4) {
    for (std::uint64_t p = 0; p < (std::uint64_t(1) << 32); p += 4093) xs.push_back(std::bit_cast<Real>(Bits(p)));
  } else {
    std::mt19937_64 gen(7);
    for (int i = 0; i < 1 << 20; ++i) xs.push_back(std::bit_cast<Real>(Bits(gen())));
  }
  if (f.bits() <= 16) {
    std::vector<double> values;
    for (std::uint64_t c = 0; c < (std::uint64_t(1) << f.bits()); ++c) {
      const double v = f.decode(c);
      if (std::isfinite(v)) values.push_back(v);
    }
    std::sort(values.begin(), values.end());
    for (std::size_t i = 0; i < values.size(); ++i) {
      const Real v = Real(values[i]);
      xs.push_back(v);
      xs.push_back(std::nextafter(v, std::numeric_limits<Real>::infinity()));
      xs.push_back(std::nextafter(v, -std::numeric_limits<Real>::infinity()));
      if (i + 1 < values.size()) {
        const Real mid = Real((values[i] + values[i + 1]) / 2);
        xs.push_back(mid);
        xs.push_back(std::nextafter(mid, std::numeric_limits<Real>::infinity()));
        xs.push_back(std::nextafter(mid, -std::numeric_limits<Real>::infinity()));
      }
    }
  }
  return xs;
}

template <class Real>
std::size_t compare_one(const bf::Format& f, bf::RoundingSpec r, std::size_t& compared) {
  using Bits = typename bf::SourceTraits<Real>::Bits;
  const std::vector<Real> in = inputs_for<Real>(f);
  std::vector<Real> cpu(in.size()), gpu(in.size());
  const bf::RandomStream rng{0x5eed, 3};
  const std::uint64_t offset = 5;  // not a multiple of 4: exercises group alignment
  f.quantize(std::span<const Real>(in), std::span<Real>(cpu), r, rng, offset);
  bf::cuda::quantize(f, std::span<const Real>(in), std::span<Real>(gpu), r, rng, offset);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (std::bit_cast<Bits>(cpu[i]) == std::bit_cast<Bits>(gpu[i])) continue;
    if (++mismatches <= 5) {
      std::printf("MISMATCH %s %s %s x=%a cpu=%a gpu=%a\n", f.spec().c_str(), bf::to_string(r).c_str(),
                  sizeof(Real) == 4 ? "f32" : "f64", double(in[i]), double(cpu[i]), double(gpu[i]));
    }
  }
  compared += in.size();
  return mismatches;
}

}  // namespace

TEST_CASE("GPU quantize is bit-identical to the CPU for every named format and mode") {
  const char* modes[] = {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr", "sr:8", "sr:1"};
  std::size_t compared = 0, combinations = 0, mismatches = 0;
  for (const auto& named : bf::named_formats()) {
    const bf::Format f = bf::Format::parse(named.name);
    for (const char* m : modes) {
      const auto r = bf::parse_rounding(m);
      mismatches += compare_one<float>(f, r, compared);
      mismatches += compare_one<double>(f, r, compared);
      combinations += 2;
    }
  }
  // Policy variants that take other branches of the core.
  for (const char* spec : {"e4m3fn<overflow=saturate>", "e5m2<overflow=saturate,ftz_in=true,ftz_out=true>",
                           "fp<e=5,m=0,bias=16,specials=fnuz>", "e2m1fn<nan=max>", "int8<narrow=true,frac=3>",
                           "fp<e=11,m=30>"}) {
    const bf::Format f = bf::Format::parse(spec);
    for (const char* m : modes) {
      mismatches += compare_one<float>(f, bf::parse_rounding(m), compared);
      mismatches += compare_one<double>(f, bf::parse_rounding(m), compared);
      combinations += 2;
    }
  }
  std::printf("cuda quantize: %zu (format x mode x input type) combinations, %zu elements compared, "
              "%zu mismatches\n",
              combinations, compared, mismatches);
  CHECK(mismatches == 0);
}

int main(int argc, char** argv) {
  if (bitsim::formats::cuda::device_count() == 0) {
    std::printf("skipped: %s\n", bitsim::formats::cuda::device_description().c_str());
    return 77;
  }
  std::printf("device: %s\n", bitsim::formats::cuda::device_description().c_str());
  doctest::Context context(argc, argv);
  return context.run();
}
