#include "formats/format.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/philox_batch.hpp"
#include "formats/span_kernels.hpp"

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

// One element's rounding, as a small object the span loop copies once: the general core
// for a compile-time plan shape (lattice_rounding.hpp), or one of span_kernels.hpp's
// kernels for rne and sr. `stochastic` says whether it takes a random word.
template <Rounding Mode, class Shape, class Real>
struct CoreRounder {
  static constexpr bool stochastic = Mode == Rounding::stochastic;
  using Bits = typename SourceTraits<Real>::Bits;
  LatticePlan<Real> plan;
  int random_bits;
  [[gnu::always_inline]] Real operator()(Real x, std::uint32_t random) const {
    return std::bit_cast<Real>(round_pattern<Mode, Real, Shape>(std::bit_cast<Bits>(x), plan, random, random_bits));
  }
};

template <Rounding Mode, class Real, bool PlainSpecials, bool Full = false>
struct FloatRounder {
  static_assert(Mode == Rounding::nearest_even || Mode == Rounding::stochastic);
  static constexpr bool stochastic = Mode == Rounding::stochastic;
  using Bits = typename SourceTraits<Real>::Bits;
  FloatKernel<Real> kernel;
  [[gnu::always_inline]] Real operator()(Real x, std::uint32_t random) const {
    const Bits bits = std::bit_cast<Bits>(x);
    if constexpr (stochastic) return std::bit_cast<Real>(kernel.template stochastic<PlainSpecials, Full>(bits, random));
    else return std::bit_cast<Real>(kernel.template nearest_even<PlainSpecials>(bits));
  }
};

template <Rounding Mode, class Real>
struct IntegerRounder {
  static_assert(Mode == Rounding::nearest_even || Mode == Rounding::stochastic);
  static constexpr bool stochastic = Mode == Rounding::stochastic;
  IntegerKernel<Real> kernel;
  [[gnu::always_inline]] Real operator()(Real x, std::uint32_t random) const {
    if constexpr (stochastic) return kernel.stochastic(x, random);
    else return kernel.nearest_even(x);
  }
};

template <class Rounder, class Real>
BITSIM_VECTORISE_LOOP void quantize_range(const Real* in, Real* out, std::size_t begin,
                                          std::size_t end, const Rounder& shared_rounder,
                                          RandomStream rng, std::uint64_t index_offset) {
  // A local copy: the compiler then knows no store to `out` changes it, so every field is
  // loop-invariant.
  const Rounder rounder = shared_rounder;
  if constexpr (!Rounder::stochastic) {
    for (std::size_t i = begin; i < end; ++i) out[i] = rounder(in[i], 0u);
  } else {
    // Draw the random words for a run of elements first (whole Philox groups, a batch of
    // counters at a time), then round the run: keeps the rounding loop free of the
    // generator so it vectorises. Element i's word is word i mod 4 of group i / 4. A run
    // is sized so that its groups (one more than kRun / 4 when it starts inside a group)
    // fill whole batches, and holds whole 16-lane vectors, so that only a task's last run
    // takes the loop's narrower tail code.
    constexpr std::size_t kGroups = 4 * kPhiloxBatch;
    constexpr std::size_t kRun = 4 * kGroups - 16;
    static_assert(kRun % 16 == 0);
    static_assert(philox_padded(kRun / 4 + 1) == kGroups);
    alignas(64) std::uint32_t words[4 * kGroups];
    for (std::size_t run = begin; run < end; run += kRun) {
      const std::size_t n = std::min(kRun, end - run);
      const std::uint64_t first = index_offset + run;
      const std::uint64_t first_group = first >> 2;
      // (first & 3) + n, not first + n: element indices near 2^64 must not wrap the count.
      philox_groups(rng, first_group, std::size_t(((first & 3) + n + 3) >> 2), words);
      const std::uint32_t* run_words = words + (first & 3);
      for (std::size_t j = 0; j < n; ++j) out[run + j] = rounder(in[run + j], run_words[j]);
    }
  }
}

template <class Rounder, class Real>
void quantize_parallel(std::span<const Real> in, std::span<Real> out, const Rounder& rounder,
                       RandomStream rng, std::uint64_t index_offset) {
  if (in.size() <= kGrain) {
    quantize_range(in.data(), out.data(), 0, in.size(), rounder, rng, index_offset);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size(), kGrain),
                    [&](const tbb::blocked_range<std::size_t>& r) {
                      quantize_range(in.data(), out.data(), r.begin(), r.end(), rounder, rng, index_offset);
                    });
}

// Picks the element rounding once per span: a span kernel where one serves the plan and
// mode, else the general core with the plan's compile-time shape (lattice_rounding.hpp).
template <Rounding Mode, class Real>
void quantize_shaped(std::span<const Real> in, std::span<Real> out, const LatticePlan<Real>& plan,
                     int random_bits, RandomStream rng, std::uint64_t index_offset) {
  if constexpr (Mode == Rounding::nearest_even || Mode == Rounding::stochastic) {
    if (IntegerKernel<Real>::fits(plan)) {
      const IntegerRounder<Mode, Real> rounder{IntegerKernel<Real>::make(plan, random_bits)};
      return quantize_parallel(in, out, rounder, rng, index_offset);
    }
    if (FloatKernel<Real>::fits(plan)) {
      const auto kernel = FloatKernel<Real>::make(plan, random_bits);
      const auto go = [&]<bool PlainSpecials>() {
        // With at least as many random bits as the source has mantissa bits (float32 and
        // sr:23..32), the cut's top bits of the word are all the adder uses.
        constexpr int MS = SourceTraits<Real>::mantissa_bits;
        if constexpr (Mode == Rounding::stochastic && MS <= 32) {
          if (random_bits >= MS) {
            return quantize_parallel(in, out, FloatRounder<Mode, Real, PlainSpecials, true>{kernel}, rng, index_offset);
          }
        }
        quantize_parallel(in, out, FloatRounder<Mode, Real, PlainSpecials>{kernel}, rng, index_offset);
      };
      if (kernel.plain_specials()) return go.template operator()<true>();
      return go.template operator()<false>();
    }
  }
  if (fits_shape(plan, PlainFloat{})) {
    quantize_parallel(in, out, CoreRounder<Mode, PlainFloat, Real>{plan, random_bits}, rng, index_offset);
  } else if (fits_shape(plan, PlainSigned{})) {
    quantize_parallel(in, out, CoreRounder<Mode, PlainSigned, Real>{plan, random_bits}, rng, index_offset);
  } else {
    quantize_parallel(in, out, CoreRounder<Mode, AnyPlan, Real>{plan, random_bits}, rng, index_offset);
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

// Posits and LNS: the same span contract as the lattice formats, through each family's
// own encode/decode core. The mode becomes a template argument once per span; element i
// takes random word index_offset + i.
template <class Family, class Real, class Store>
void codec_parallel(const Family& f, std::span<const Real> in, std::size_t count, RoundingSpec r,
                    RandomStream rng, std::uint64_t index_offset, Store store) {
  with_rounding_mode(r.mode, [&]<Rounding M>() {
    const auto run = [&](std::size_t begin, std::size_t end) {
      for (std::size_t i = begin; i < end; ++i) {
        const std::uint32_t word = M == Rounding::stochastic ? rng.word(index_offset + i) : 0;
        store(i, formats::encode<M>(f, in[i], word, r.random_bits));
      }
    };
    if (count <= kGrain) return run(0, count);
    tbb::parallel_for(tbb::blocked_range<std::size_t>(0, count, kGrain),
                      [&](const tbb::blocked_range<std::size_t>& range) { run(range.begin(), range.end()); });
  });
}

// `table`: the decoded values of every code (LNS of <= 16 bits), or null.
template <class Real>
void codec_quantize(const Format::Repr& repr, const Real* table, std::span<const Real> in,
                    std::span<Real> out, RoundingSpec r, RandomStream rng, std::uint64_t offset) {
  if (in.size() != out.size()) {
    throw std::invalid_argument("quantize: input has " + std::to_string(in.size()) +
                                " elements but output has " + std::to_string(out.size()));
  }
  const auto go = [&](const auto& f) {
    if (table) {
      codec_parallel(f, in, in.size(), r, rng, offset,
                     [&](std::size_t i, std::uint64_t code) { out[i] = table[code]; });
    } else {
      codec_parallel(f, in, in.size(), r, rng, offset,
                     [&](std::size_t i, std::uint64_t code) { out[i] = formats::decode<Real>(f, code); });
    }
  };
  if (const auto* p = std::get_if<Posit>(&repr)) go(*p);
  else if (const auto* c = std::get_if<Codebook>(&repr)) go(*c);
  else go(std::get<Lns>(repr));
}

// The code of the value just above 1, for epsilon.
double spacing_above_one(const Format::Repr& repr) {
  if (const auto* p = std::get_if<Posit>(&repr)) {
    return decode<double>(*p, formats::encode<Rounding::nearest_even>(*p, 1.0) + 1) - 1.0;
  }
  if (const auto* c = std::get_if<Codebook>(&repr)) return c->spacing_near_one();
  const auto& f = std::get<Lns>(repr);
  return decode<double>(f, f.code_of(false, 1)) - 1.0;
}

}  // namespace

Format::Format(Repr repr) : repr_(std::move(repr)) {
  std::visit([](const auto& f) { f.validate(); }, repr_);
  spec_ = canonical_spec(repr_);
  if (const auto* f = std::get_if<Lns>(&repr_); f && f->bits() <= 16) {
    auto values = std::make_shared<LnsValues>();
    for (std::uint64_t code = 0; code <= f->mask(); ++code) {
      values->doubles.push_back(formats::decode<double>(*f, code));
      values->floats.push_back(formats::decode<float>(*f, code));
    }
    lns_values_ = std::move(values);
  }
  if (!has_lattice()) return;
  lattice_ = std::visit(
      [](const auto& f) {
        if constexpr (requires { f.lattice(); }) return f.lattice();
        else return Lattice{};
      },
      repr_);
  plan_float_ = make_plan<float>(lattice_);
  plan_double_ = make_plan<double>(lattice_);
}

const Lattice& Format::lattice() const {
  if (!has_lattice()) {
    throw std::invalid_argument("format " + spec_ + " is a " + std::string(kind()) +
                                " format, which has no float/fixed-point lattice");
  }
  return lattice_;
}

std::string_view Format::kind() const {
  constexpr std::string_view kinds[] = {"float", "fixed", "posit", "lns", "codebook"};
  return kinds[repr_.index()];
}

int Format::bits() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->bits;
  if (const auto* m = std::get_if<MiniFloat>(&repr_)) return m->bits();
  if (const auto* p = std::get_if<Posit>(&repr_)) return p->bits();
  if (const auto* c = std::get_if<Codebook>(&repr_)) return c->bits();
  return std::get<Lns>(repr_).bits();
}

double Format::max_value() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->max_value();
  if (const auto* m = std::get_if<MiniFloat>(&repr_)) return m->max_value();
  if (const auto* p = std::get_if<Posit>(&repr_)) return p->maxpos();
  if (const auto* c = std::get_if<Codebook>(&repr_)) return c->max_value();
  return std::get<Lns>(repr_).max_value();
}

double Format::min_value() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->min_value();
  if (const auto* m = std::get_if<MiniFloat>(&repr_)) return m->is_signed ? -m->max_value() : 0.0;
  if (const auto* c = std::get_if<Codebook>(&repr_)) return c->min_value();
  return -max_value();  // posits and LNS are symmetric
}

double Format::min_normal() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->quantum();
  if (const auto* m = std::get_if<MiniFloat>(&repr_)) return m->min_normal_value();
  return min_subnormal();
}

double Format::min_subnormal() const {
  if (const auto* p = std::get_if<Posit>(&repr_)) return p->minpos();
  if (const auto* f = std::get_if<Lns>(&repr_)) return f->min_positive();
  if (const auto* c = std::get_if<Codebook>(&repr_)) return c->min_positive();
  return lattice_.min_positive;
}

double Format::epsilon() const {
  if (const auto* f = std::get_if<FixedPoint>(&repr_)) return f->quantum();
  if (const auto* m = std::get_if<MiniFloat>(&repr_)) return m->epsilon();
  return spacing_above_one(repr_);
}

std::uint64_t Format::finite_code_count() const {
  if (const auto* p = std::get_if<Posit>(&repr_)) return p->mask();  // every code but NaR
  return std::visit([](const auto& f) -> std::uint64_t {
    if constexpr (requires { f.finite_code_count(); }) return f.finite_code_count();
    else return 0;
  }, repr_);
}

bool Format::has_infinity() const { return has_lattice() && lattice_.has_infinity; }
bool Format::has_nan() const {
  if (std::holds_alternative<Codebook>(repr_)) return false;  // unused codes decode to NaN, none is produced
  return !has_lattice() || lattice_.has_nan;
}

Overflow Format::overflow() const {
  if (const auto* f = std::get_if<Lns>(&repr_)) return f->overflow;
  if (std::holds_alternative<Posit>(repr_) || std::holds_alternative<Codebook>(repr_)) return Overflow::saturate;
  return lattice_.overflow;
}

double Format::decode(std::uint64_t code) const {
  if (lns_values_) return lns_values_->doubles[code & std::get<Lns>(repr_).mask()];
  return std::visit([code](const auto& f) { return formats::decode<double>(f, code); }, repr_);
}

bool Format::is_nan_code(std::uint64_t code) const {
  if (const auto* f = std::get_if<MiniFloat>(&repr_)) return f->is_nan_code(code);
  if (const auto* p = std::get_if<Posit>(&repr_)) return p->is_nar(code);
  if (const auto* f = std::get_if<Lns>(&repr_)) return f->is_nan(code);
  if (const auto* c = std::get_if<Codebook>(&repr_)) return c->is_unused(code);
  return false;
}

double Format::round(double x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  check_rounding(r);
  if (!has_lattice()) return decode(encode(x, r, rng, index));
  const auto bits = round_pattern<double>(r.mode, std::bit_cast<std::uint64_t>(x), plan_double_,
                                          rng.word(index), r.random_bits);
  return std::bit_cast<double>(bits);
}

float Format::round(float x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  check_rounding(r);
  if (!has_lattice()) {
    const std::uint64_t code = encode(x, r, rng, index);
    return std::visit([code](const auto& f) { return formats::decode<float>(f, code); }, repr_);
  }
  const auto bits = round_pattern<float>(r.mode, std::bit_cast<std::uint32_t>(x), plan_float_,
                                         rng.word(index), r.random_bits);
  return std::bit_cast<float>(bits);
}

std::uint64_t Format::encode(double x, RoundingSpec r, RandomStream rng, std::uint64_t index) const {
  if (!has_lattice()) {
    check_rounding(r);
    const std::uint32_t word = rng.word(index);
    if (const auto* p = std::get_if<Posit>(&repr_)) return formats::encode(*p, x, r, word);
    if (const auto* c = std::get_if<Codebook>(&repr_)) return formats::encode(*c, x, r, word);
    return formats::encode(std::get<Lns>(repr_), x, r, word);
  }
  const double value = round(x, r, rng, index);
  return std::visit([value](const auto& f) -> std::uint64_t {
    if constexpr (requires { f.lattice(); }) return formats::pack(f, value);
    else return 0;  // not reached: handled above
  }, repr_);
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
  if (!has_lattice()) {
    return codec_quantize(repr_, lns_values_ ? lns_values_->floats.data() : nullptr, in, out, r, rng,
                          index_offset);
  }
  quantize_dispatch(in, out, plan_float_, r, rng, index_offset);
}

void Format::quantize(std::span<const double> in, std::span<double> out, RoundingSpec r,
                      RandomStream rng, std::uint64_t index_offset) const {
  check_rounding(r);
  if (!has_lattice()) {
    return codec_quantize(repr_, lns_values_ ? lns_values_->doubles.data() : nullptr, in, out, r, rng,
                          index_offset);
  }
  quantize_dispatch(in, out, plan_double_, r, rng, index_offset);
}

void Format::encode(std::span<const float> in, std::span<std::uint64_t> codes, RoundingSpec r,
                    RandomStream rng) const {
  if (in.size() != codes.size()) throw std::invalid_argument("encode: input and code counts differ");
  check_rounding(r);
  if (!has_lattice()) {
    const auto store = [&](std::size_t i, std::uint64_t code) { codes[i] = code; };
    if (const auto* p = std::get_if<Posit>(&repr_)) codec_parallel(*p, in, in.size(), r, rng, 0, store);
    else if (const auto* c = std::get_if<Codebook>(&repr_)) codec_parallel(*c, in, in.size(), r, rng, 0, store);
    else codec_parallel(std::get<Lns>(repr_), in, in.size(), r, rng, 0, store);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size(), kGrain),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i < range.end(); ++i) {
                        codes[i] = encode(in[i], r, rng, i);
                      }
                    });
}

void Format::decode(std::span<const std::uint64_t> codes, std::span<float> out) const {
  if (out.size() != codes.size()) throw std::invalid_argument("decode: code and output counts differ");
  if (lns_values_) {
    const std::uint64_t mask = std::get<Lns>(repr_).mask();
    for (std::size_t i = 0; i < codes.size(); ++i) out[i] = lns_values_->floats[codes[i] & mask];
    return;
  }
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
