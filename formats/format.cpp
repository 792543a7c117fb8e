#include "formats/format.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/philox_batch.hpp"

namespace bitsim::formats {

std::string canonical_spec(const Format::Repr& repr);  // format_spec.cpp

namespace {

// Elements per parallel task: large enough to amortise scheduling, small enough to
// balance. Results never depend on it (every element is independent, and random words
// are keyed by the element's index).
constexpr std::size_t kGrain = std::size_t(1) << 15;

// The span loops are written for GCC to vectorise (AVX2 and the like): `flatten` inlines
// round_pattern and everything it calls into the loop, and two of GCC's CFG transforms are
// turned off for it: jump threading and PRE duplicate round_pattern's selects into
// many-way branches that if-conversion then cannot turn back into vector selects (found
// with -fdump-tree-ifcvt-details). Results do not depend on any of this; only speed does.
#if defined(__GNUC__) && !defined(__clang__)
#define BITSIM_VECTORISE_LOOP [[gnu::flatten, gnu::optimize("no-thread-jumps", "no-tree-pre")]]
#else
#define BITSIM_VECTORISE_LOOP
#endif

template <Rounding Mode, class Shape, class Real>
BITSIM_VECTORISE_LOOP void quantize_range(const Real* in, Real* out, std::size_t begin,
                                          std::size_t end, const LatticePlan<Real>& shared_plan,
                                          int random_bits, RandomStream rng,
                                          std::uint64_t index_offset) {
  // A local copy: the compiler then knows no store to `out` changes it, so every plan
  // field is loop-invariant.
  const LatticePlan<Real> plan = shared_plan;
  using Bits = typename SourceTraits<Real>::Bits;
  if constexpr (Mode != Rounding::stochastic) {
    for (std::size_t i = begin; i < end; ++i) {
      out[i] = std::bit_cast<Real>(
          round_pattern<Mode, Real, Shape>(std::bit_cast<Bits>(in[i]), plan));
    }
  } else {
    // Draw the random words for a run of elements first (whole Philox groups, a batch of
    // counters at a time), then round the run: keeps the rounding loop free of the
    // generator so it vectorises. Element i's word is word i mod 4 of group i / 4. A run
    // is sized so that its groups (one more than kRun / 4 when it starts inside a group)
    // fill whole batches.
    constexpr std::size_t kGroups = 4 * kPhiloxBatch;
    constexpr std::size_t kRun = 4 * kGroups - 4;
    static_assert(philox_padded(kRun / 4 + 1) == kGroups);
    alignas(32) std::uint32_t words[4 * kGroups];
    for (std::size_t run = begin; run < end; run += kRun) {
      const std::size_t n = std::min(kRun, end - run);
      const std::uint64_t first = index_offset + run;
      const std::uint64_t first_group = first >> 2;
      philox_groups(rng, first_group, std::size_t(((first + n + 3) >> 2) - first_group), words);
      const std::uint32_t* run_words = words + (first & 3);
      for (std::size_t j = 0; j < n; ++j) {
        out[run + j] = std::bit_cast<Real>(round_pattern<Mode, Real, Shape>(
            std::bit_cast<Bits>(in[run + j]), plan, run_words[j], random_bits));
      }
    }
  }
}

template <Rounding Mode, class Shape, class Real>
void quantize_parallel(std::span<const Real> in, std::span<Real> out, const LatticePlan<Real>& plan,
                       int random_bits, RandomStream rng, std::uint64_t index_offset) {
  if (in.size() <= kGrain) {
    quantize_range<Mode, Shape>(in.data(), out.data(), 0, in.size(), plan, random_bits, rng,
                                index_offset);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size(), kGrain),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      quantize_range<Mode, Shape>(in.data(), out.data(), r.begin(), r.end(), plan,
                                                  random_bits, rng, index_offset);
                    });
}

// Picks the compile-time plan shape once per span (see lattice_rounding.hpp).
template <Rounding Mode, class Real>
void quantize_shaped(std::span<const Real> in, std::span<Real> out, const LatticePlan<Real>& plan,
                     int random_bits, RandomStream rng, std::uint64_t index_offset) {
  if (fits_shape(plan, PlainFloat{})) {
    quantize_parallel<Mode, PlainFloat>(in, out, plan, random_bits, rng, index_offset);
  } else if (fits_shape(plan, PlainSigned{})) {
    quantize_parallel<Mode, PlainSigned>(in, out, plan, random_bits, rng, index_offset);
  } else {
    quantize_parallel<Mode, AnyPlan>(in, out, plan, random_bits, rng, index_offset);
  }
}

template <class Real>
void quantize_dispatch(std::span<const Real> in, std::span<Real> out, const LatticePlan<Real>& plan,
                       RoundingSpec r, RandomStream rng, std::uint64_t offset) {
  if (in.size() != out.size()) {
    throw std::invalid_argument("quantize: input has " + std::to_string(in.size()) +
                                " elements but output has " + std::to_string(out.size()));
  }
  with_rounding_mode(r.mode, [&]<Rounding M>() {
    quantize_shaped<M>(in, out, plan, r.random_bits, rng, offset);
  });
}

void check_rounding(RoundingSpec r) {
  if (r.random_bits < 1 || r.random_bits > 32) {
    throw std::invalid_argument("stochastic rounding: random_bits must be 1..32, got " +
                                std::to_string(r.random_bits));
  }
}

}  // namespace

Format::Format(Repr repr) : repr_(std::move(repr)) {
  std::visit([](const auto& f) { f.validate(); }, repr_);
  spec_ = canonical_spec(repr_);
  lattice_ = std::visit([](const auto& f) { return f.lattice(); }, repr_);
  plan_float_ = make_plan<float>(lattice_);
  plan_double_ = make_plan<double>(lattice_);
}

std::string_view Format::kind() const {
  return std::holds_alternative<MiniFloat>(repr_) ? "float" : "fixed";
}

int Format::bits() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->bits;
  return std::get<MiniFloat>(repr_).bits();
}

double Format::max_value() const {
  return std::visit([](const auto& f) { return f.max_value(); }, repr_);
}

double Format::min_value() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->min_value();
  const auto& m = std::get<MiniFloat>(repr_);
  return m.is_signed ? -m.max_value() : 0.0;
}

double Format::min_normal() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->quantum();
  return std::get<MiniFloat>(repr_).min_normal_value();
}

double Format::min_subnormal() const { return lattice_.min_positive; }

double Format::epsilon() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->quantum();
  return std::get<MiniFloat>(repr_).epsilon();
}

std::uint64_t Format::finite_code_count() const {
  return std::visit([](const auto& f) { return f.finite_code_count(); }, repr_);
}

bool Format::has_infinity() const { return lattice_.has_infinity; }
bool Format::has_nan() const { return lattice_.has_nan; }
Overflow Format::overflow() const { return lattice_.overflow; }

double Format::decode(std::uint64_t code) const {
  return std::visit([code](const auto& f) { return formats::decode<double>(f, code); }, repr_);
}

bool Format::is_nan_code(std::uint64_t code) const {
  if (const auto* f = std::get_if<MiniFloat>(&repr_)) return f->is_nan_code(code);
  return false;
}

double Format::round(double x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  check_rounding(r);
  const auto bits = round_pattern<double>(r.mode, std::bit_cast<std::uint64_t>(x), plan_double_,
                                          rng.word(index), r.random_bits);
  return std::bit_cast<double>(bits);
}

float Format::round(float x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  check_rounding(r);
  const auto bits = round_pattern<float>(r.mode, std::bit_cast<std::uint32_t>(x), plan_float_,
                                         rng.word(index), r.random_bits);
  return std::bit_cast<float>(bits);
}

std::uint64_t Format::encode(double x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  const double value = round(x, r, rng, index);
  return std::visit([value](const auto& f) { return formats::pack(f, value); }, repr_);
}

std::uint64_t Format::encode(float x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  // Through float64, which holds every float32 exactly and every value of every format,
  // so saturation at e.g. int32's max is exact. Flushing float32 subnormal inputs is the
  // one step that depends on the source type; it is done here first.
  if (lattice_.flush_input_subnormals && std::fpclassify(x) == FP_SUBNORMAL) x = std::copysign(0.0f, x);
  return encode(double(x), r, rng, index);
}

void Format::quantize(std::span<const float> in, std::span<float> out, RoundingSpec r,
                      RandomStream rng, std::uint64_t index_offset) const {
  check_rounding(r);
  quantize_dispatch(in, out, plan_float_, r, rng, index_offset);
}

void Format::quantize(std::span<const double> in, std::span<double> out, RoundingSpec r,
                      RandomStream rng, std::uint64_t index_offset) const {
  check_rounding(r);
  quantize_dispatch(in, out, plan_double_, r, rng, index_offset);
}

void Format::encode(std::span<const float> in, std::span<std::uint64_t> codes, RoundingSpec r,
                    RandomStream rng) const {
  if (in.size() != codes.size()) throw std::invalid_argument("encode: input and code counts differ");
  check_rounding(r);
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size(), kGrain),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i < range.end(); ++i) {
                        codes[i] = encode(in[i], r, rng, i);
                      }
                    });
}

void Format::decode(std::span<const std::uint64_t> codes, std::span<float> out) const {
  if (out.size() != codes.size()) throw std::invalid_argument("decode: code and output counts differ");
  std::visit(
      [&](const auto& f) {
        for (std::size_t i = 0; i < codes.size(); ++i) out[i] = formats::decode<float>(f, codes[i]);
      },
      repr_);
}

std::vector<std::uint8_t> Format::encode_packed(std::span<const float> in, RoundingSpec r,
                                                RandomStream rng) const {
  std::vector<std::uint64_t> codes(in.size());
  encode(in, codes, r, rng);
  return pack_codes(codes, bits());
}

void Format::decode_packed(std::span<const std::uint8_t> packed, std::span<float> out) const {
  std::vector<std::uint64_t> codes(out.size());
  unpack_codes(packed, bits(), codes);
  decode(codes, out);
}

std::vector<std::uint8_t> pack_codes(std::span<const std::uint64_t> codes, int bits) {
  if (bits < 1 || bits > 64) throw std::invalid_argument("pack_codes: bits must be 1..64");
  std::vector<std::uint8_t> packed((codes.size() * std::size_t(bits) + 7) / 8, 0);
  std::size_t position = 0;
  for (std::uint64_t code : codes) {
    for (int b = 0; b < bits; ++b, ++position) {
      if ((code >> b) & 1) packed[position / 8] |= std::uint8_t(1u << (position % 8));
    }
  }
  return packed;
}

void unpack_codes(std::span<const std::uint8_t> packed, int bits, std::span<std::uint64_t> codes) {
  if (bits < 1 || bits > 64) throw std::invalid_argument("unpack_codes: bits must be 1..64");
  if (packed.size() * 8 < codes.size() * std::size_t(bits)) {
    throw std::invalid_argument("unpack_codes: " + std::to_string(packed.size()) +
                                " bytes cannot hold " + std::to_string(codes.size()) + " codes of " +
                                std::to_string(bits) + " bits");
  }
  std::size_t position = 0;
  for (auto& code : codes) {
    code = 0;
    for (int b = 0; b < bits; ++b, ++position) {
      code |= std::uint64_t((packed[position / 8] >> (position % 8)) & 1) << b;
    }
  }
}

}  // namespace bitsim::formats
