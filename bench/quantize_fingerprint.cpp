// quantize_fingerprint: one hash per (format, rounding, source type) of Format::quantize
// over a fixed set of a few million inputs, so that a speed-only change to the rounding
// core or the span loops can be shown to leave every output bit as it was.
//
//   build/bench/quantize_fingerprint                  print the hashes
//   build/bench/quantize_fingerprint --expect FILE    compare against a saved listing
//                                                     (exit 1 on any difference)
//
// bench/quantize_fingerprint.txt is the listing of the scalar rounding core as it was
// before the vectorised rewrite (see bench/README.md). The inputs come from a fixed-seed
// generator, integers only, and cover: specials and their neighbours, every exponent of the
// source type with random mantissas, exact ties and near-ties at every cut position, and
// roughly normal data. Stochastic modes are hashed with two index offsets (aligned and not
// to Philox's groups of four). The program also checks
// (not just hashes) that the span path agrees with the scalar Format::round on a sample,
// that its outputs do not depend on the thread count, and that the batched Philox of the
// span loops (formats/philox_batch.hpp) gives Random123's words bit for bit.
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <tbb/global_control.h>

#include "formats/format.hpp"
#include "formats/philox_batch.hpp"

namespace {

using bitsim::formats::Format;
using bitsim::formats::RandomStream;
using bitsim::formats::RoundingSpec;
using bitsim::formats::parse_rounding;

// Spec strings beyond the named formats that switch on every plan field the named ones
// leave at its default (flushing, overflow and NaN rules, narrow and fractional integers,
// formats without subnormals or precision bits).
const char* const kExtraSpecs[] = {
    "e4m3fn<ftz_in=true,ftz_out=true>",
    "bf16<ftz_in=true>",
    "fp16<ftz_out=true,overflow=saturate>",
    "e5m2<overflow=nan>",
    "e4m3fn<overflow=saturate>",
    "e2m1fn<nan=max>",
    "int8<narrow=true,nan=max>",
    "int<bits=12,frac=5>",
    "int<bits=16,frac=-3>",
    "uint<bits=6,frac=2>",
    "fp<e=3,m=0>",
    "fp<e=6,m=0,specials=none,subnormals=false>",
    "fp<e=4,m=3,subnormals=false>",
    "fp<e=5,m=1,specials=none,subnormals=false,signed=false,nan=max>",
    "fp<e=5,m=0,specials=none,subnormals=false,signed=false>",
    "fp<e=5,m=2,subnormals=false,overflow=saturate,ftz_out=true>",
    "fp<e=11,m=30>",
};

const char* const kRoundings[] = {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr", "sr:8", "sr:1"};

// A 64-bit multiply-xorshift hash over the output patterns, with the count folded in.
template <class Bits>
std::uint64_t hash_patterns(const std::vector<Bits>& v) {
  std::uint64_t h = 0xcbf29ce484222325ull ^ v.size();
  for (Bits x : v) {
    h = (h ^ std::uint64_t(x)) * 0x9e3779b97f4a7c15ull;
    h ^= h >> 29;
  }
  return h;
}

// Fixed-seed input patterns for a source type with `mantissa_bits` and `width` bits.
template <class Bits, int MantissaBits>
std::vector<Bits> make_patterns(std::size_t random_count) {
  constexpr int width = int(sizeof(Bits) * 8);
  constexpr int exponent_bits = width - 1 - MantissaBits;
  constexpr Bits sign = Bits(1) << (width - 1);
  constexpr Bits mantissa_mask = (Bits(1) << MantissaBits) - 1;
  constexpr Bits exponent_all = Bits((Bits(1) << exponent_bits) - 1);
  std::mt19937_64 gen(20240521);
  std::vector<Bits> out;
  auto random_bits = [&] { return Bits(gen()); };

  // Specials and extremes, with their neighbours, both signs.
  const Bits infinity = exponent_all << MantissaBits;
  for (Bits base : {Bits(0), Bits(1), Bits(2), mantissa_mask, Bits(mantissa_mask + 1), infinity,
                    Bits(infinity - 1), Bits(infinity + 1), Bits(infinity | (Bits(1) << (MantissaBits - 1))),
                    Bits(~sign), Bits(infinity | mantissa_mask)}) {
    out.push_back(base);
    out.push_back(base | sign);
  }
  // Every exponent field with random mantissas (and the all-zero and all-one mantissas).
  for (Bits e = 0; e <= exponent_all; ++e) {
    for (int k = 0; k < 64; ++k) {
      Bits m = k == 0 ? 0 : (k == 1 ? mantissa_mask : (random_bits() & mantissa_mask));
      out.push_back((e << MantissaBits) | m | (k & 2 ? sign : 0));
    }
  }
  // Ties and near-ties at every cut position c: high bits random, then 1000.., 0111.., 1000..01.
  for (std::size_t i = 0; i < random_count / 4; ++i) {
    const int cut = int(random_bits() % MantissaBits) + 1;
    const Bits low_mask = (Bits(1) << cut) - 1;
    const Bits half = Bits(1) << (cut - 1);
    const Bits high = random_bits() & ~low_mask & ~sign;
    const Bits low[] = {half, Bits(half - 1), Bits(half + 1), Bits(half | 1), 0};
    out.push_back(high | (low[i % 5] & low_mask) | (random_bits() & sign));
  }
  // Uniformly random patterns (every exponent equally likely).
  for (std::size_t i = 0; i < random_count / 4; ++i) out.push_back(random_bits());
  // Random patterns with exponents near 1 (where 4..16-bit formats live): |x| in 2^[-40, 40).
  constexpr int bias = (1 << (exponent_bits - 1)) - 1;
  for (std::size_t i = 0; i < random_count / 4; ++i) {
    const Bits e = Bits(bias - 40 + int(random_bits() % 80));
    out.push_back((e << MantissaBits) | (random_bits() & mantissa_mask) | (random_bits() & sign));
  }
  // Roughly normal values (as the benchmark uses), built from integers only (a sum of four
  // uniform 24-bit integers, scaled by a power of two) so that every compiler and library
  // gives the same inputs; std::normal_distribution does not promise that.
  using Real = std::conditional_t<sizeof(Bits) == 4, float, double>;
  for (std::size_t i = 0; i < random_count / 4; ++i) {
    std::int64_t sum = -(std::int64_t(2) << 24);
    for (int k = 0; k < 4; ++k) sum += std::int64_t(gen() >> 40);
    out.push_back(std::bit_cast<Bits>(Real(std::ldexp(double(sum), -16))));
  }
  return out;
}

struct Listing {
  std::vector<std::string> lines;
  int failures = 0;
  void fail(const std::string& why) {
    std::cerr << "FAIL: " << why << "\n";
    ++failures;
  }
};

template <class Real, class Bits>
void fingerprint_type(const char* type_name, const std::vector<Bits>& patterns, const Format& format,
                      Listing& listing) {
  std::vector<Real> in(patterns.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = std::bit_cast<Real>(patterns[i]);
  std::vector<Real> out(in.size());
  std::vector<Bits> out_bits(in.size());
  const RandomStream rng{0x0123456789abcdefull, 42};
  for (const char* rounding_name : kRoundings) {
    const RoundingSpec rounding = parse_rounding(rounding_name);
    const bool stochastic = rounding.mode == bitsim::formats::Rounding::stochastic;
    for (std::uint64_t offset : stochastic ? std::vector<std::uint64_t>{0, 4097}
                                           : std::vector<std::uint64_t>{0}) {
      format.quantize(std::span<const Real>(in), std::span<Real>(out), rounding, rng, offset);
      for (std::size_t i = 0; i < out.size(); ++i) out_bits[i] = std::bit_cast<Bits>(out[i]);
      char line[256];
      std::snprintf(line, sizeof line, "%-6s %-45s %-5s offset=%-5llu %016llx", type_name,
                    format.spec().c_str(), rounding_name, (unsigned long long)offset,
                    (unsigned long long)hash_patterns(out_bits));
      listing.lines.push_back(line);
      // The span path must equal the scalar path element by element (on a sample).
      for (std::size_t i = 0; i < in.size(); i += 61) {
        const Real scalar = format.round(in[i], rounding, rng, i + offset);
        if (std::bit_cast<Bits>(scalar) != out_bits[i]) {
          std::ostringstream why;
          why << type_name << " " << format.spec() << " " << rounding_name << " element " << i
              << " input 0x" << std::hex << patterns[i] << ": span 0x" << out_bits[i]
              << " scalar 0x" << std::bit_cast<Bits>(scalar);
          listing.fail(why.str());
          break;
        }
      }
    }
  }
}

// The batched Philox of the span loops must give Random123's words, including where the
// counter's low half wraps into its high half and where the 64-bit group index wraps.
void check_philox_batch(Listing& listing) {
  const std::uint64_t seeds[] = {0, 1, 0x0123456789abcdefull, ~0ull};
  const std::uint64_t streams[] = {0, 42, 0xffffffff00000001ull};
  const std::uint64_t firsts[] = {0, 5, 0xffffffffull - 30, ~0ull - 40};
  constexpr std::size_t groups = 77;
  std::vector<std::uint32_t> words(4 * bitsim::formats::philox_padded(groups));
  for (auto seed : seeds) {
    for (auto stream : streams) {
      for (auto first : firsts) {
        const RandomStream rng{seed, stream};
        bitsim::formats::philox_groups(rng, first, groups, words.data());
        for (std::size_t j = 0; j < groups; ++j) {
          const auto expected = rng.group(first + j);
          for (int lane = 0; lane < 4; ++lane) {
            if (words[4 * j + lane] != expected.v[lane]) {
              listing.fail("philox_groups differs from Random123 at seed " + std::to_string(seed) +
                           " stream " + std::to_string(stream) + " group " +
                           std::to_string(first + j));
              return;
            }
          }
        }
      }
    }
  }
}

// Results must not depend on the thread count (checked once, on sr which uses the index).
void check_thread_independence(const std::vector<std::uint32_t>& patterns, Listing& listing) {
  const Format format = Format::parse("e4m3fn");
  std::vector<float> in(patterns.size());
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = std::bit_cast<float>(patterns[i]);
  std::vector<float> parallel(in.size()), serial(in.size());
  const RandomStream rng{7, 3};
  format.quantize(std::span<const float>(in), std::span<float>(parallel), parse_rounding("sr"), rng, 1);
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    format.quantize(std::span<const float>(in), std::span<float>(serial), parse_rounding("sr"), rng, 1);
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (std::bit_cast<std::uint32_t>(parallel[i]) != std::bit_cast<std::uint32_t>(serial[i])) {
      listing.fail("sr result depends on the thread count at element " + std::to_string(i));
      return;
    }
  }
}

int compare_with(const std::string& path, const Listing& listing) {
  std::ifstream file(path);
  if (!file) {
    std::cerr << "cannot read " << path << "\n";
    return 2;
  }
  std::vector<std::string> expected;
  for (std::string line; std::getline(file, line);) {
    if (!line.empty() && line[0] != '#') expected.push_back(line);
  }
  int differences = 0;
  if (expected.size() != listing.lines.size()) {
    std::cerr << "expected " << expected.size() << " lines, got " << listing.lines.size() << "\n";
    ++differences;
  }
  for (std::size_t i = 0; i < std::min(expected.size(), listing.lines.size()); ++i) {
    if (expected[i] != listing.lines[i]) {
      std::cerr << "DIFFERS\n  expected " << expected[i] << "\n  got      " << listing.lines[i] << "\n";
      ++differences;
    }
  }
  std::cout << (differences == 0 ? "fingerprint: all " : "fingerprint: MISMATCH in ")
            << (differences == 0 ? listing.lines.size() : std::size_t(differences))
            << " lines" << (differences == 0 ? " identical" : "") << "\n";
  return differences == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string expect_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--expect" && i + 1 < argc) {
      expect_path = argv[++i];
    } else {
      std::cerr << "usage: " << argv[0] << " [--expect FILE]\n";
      return 2;
    }
  }

  const auto float_patterns = make_patterns<std::uint32_t, 23>(std::size_t(1) << 22);
  const auto double_patterns = make_patterns<std::uint64_t, 52>(std::size_t(1) << 19);

  std::vector<Format> formats;
  for (const auto& named : bitsim::formats::named_formats()) formats.push_back(Format(named.format));
  for (const char* spec : kExtraSpecs) formats.push_back(Format::parse(spec));

  Listing listing;
  for (const Format& format : formats) {
    fingerprint_type<float>("float", float_patterns, format, listing);
    fingerprint_type<double>("double", double_patterns, format, listing);
  }
  check_thread_independence(float_patterns, listing);
  check_philox_batch(listing);

  int status = 0;
  if (expect_path.empty()) {
    std::cout << "# quantize_fingerprint: " << float_patterns.size() << " float32 and "
              << double_patterns.size() << " float64 inputs per line\n";
    for (const auto& line : listing.lines) std::cout << line << "\n";
  } else {
    status = compare_with(expect_path, listing);
  }
  if (listing.failures != 0) {
    std::cerr << listing.failures << " consistency check(s) failed\n";
    status = 1;
  }
  return status;
}
