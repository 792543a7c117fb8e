// The shared BITSIM_HD code of the CUDA kernels, run on the host (no GPU needed; label sim):
// the GEMM's per-output accumulation routine (sim/gemm/output_accumulation.hpp) against the
// fast CPU gemm (gemm_double) and the literal reference (gemm_reference) for every spec and
// shape of gemm_cases.hpp; below, the block core and the element core of formats/cuda/.
#include <doctest/doctest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "formats/block/block_quantize.hpp"
#include "formats/cuda/block_core.hpp"
#include "formats/cuda/element_core.hpp"
#include "sim/gemm/gemm.hpp"
#include "sim/gemm/output_accumulation.hpp"
#include "tests/cuda/block_cases.hpp"
#include "tests/cuda/gemm_cases.hpp"

namespace {

using namespace bitsim;
using sim::Index;

// Every output through OutputAccumulator, one at a time (what one GPU thread does).
sim::TensorD gemm_by_outputs(const sim::TensorF& a, const sim::TensorF& b, const sim::AccumSpec& spec,
                             const sim::GemmArgs& args) {
  const sim::accumulation::OutputModel model = sim::accumulation::make_output_model(spec);
  const Index M = a.size(0), K = a.size(1), N = args.transpose_b ? b.size(0) : b.size(1);
  sim::TensorD c(sim::Shape{M, N});
  for (Index m = 0; m < M; ++m) {
    for (Index n = 0; n < N; ++n) {
      const auto exact_product = [&](std::int64_t k) {
        return double(a.at({m, k})) * double(args.transpose_b ? b.at({n, k}) : b.at({k, n}));
      };
      const sim::accumulation::OutputAccumulator<decltype(exact_product)> out{
          model, exact_product, formats::RandomStream{spec.seed, std::uint64_t(m * N + n)}};
      c.at({m, n}) = out.value(K, args.bias.has_value(), args.bias ? double(args.bias->at({n})) : 0.0);
    }
  }
  return c;
}

// Same bits, or NaN on both sides (a NaN's sign and payload are not part of the model).
bool same(double x, double y) {
  return std::bit_cast<std::uint64_t>(x) == std::bit_cast<std::uint64_t>(y) || (std::isnan(x) && std::isnan(y));
}

}  // namespace

TEST_CASE("the HD per-output accumulation equals gemm() and gemm_reference() bit for bit") {
  std::mt19937_64 gen(2024);
  std::size_t outputs = 0, mismatches = 0, cases = 0;
  for (const char* text : test::gemm_specs()) {
    const sim::AccumSpec spec = sim::AccumSpec::parse(text);
    for (const auto& shape : test::gemm_shapes()) {
      for (const bool specials : {false, true}) {
        const sim::TensorF a = test::gemm_matrix(shape.M, shape.K, gen, specials);
        const sim::TensorF b = shape.transpose_b ? test::gemm_matrix(shape.N, shape.K, gen, specials)
                                                 : test::gemm_matrix(shape.K, shape.N, gen, specials);
        sim::GemmArgs args;
        args.transpose_b = shape.transpose_b;
        if (shape.bias) args.bias = test::gemm_matrix(1, shape.N, gen, false).reshaped({shape.N});
        const sim::TensorD hd = gemm_by_outputs(a, b, spec, args);
        const sim::TensorD fast = sim::gemm_double(a, b, spec, args);
        const sim::TensorD ref = sim::gemm_reference(a, b, spec, args);
        ++cases;
        for (Index m = 0; m < shape.M; ++m) {
          for (Index n = 0; n < shape.N; ++n) {
            ++outputs;
            const double h = hd.at({m, n}), f = fast.at({m, n}), r = ref.at({m, n});
            if (same(h, f) && same(h, r)) continue;
            if (++mismatches <= 10)
              std::printf("MISMATCH spec='%s' M=%lld N=%lld K=%lld (%lld,%lld): hd=%a fast=%a ref=%a\n", text,
                          (long long)shape.M, (long long)shape.N, (long long)shape.K, (long long)m,
                          (long long)n, h, f, r);
          }
        }
      }
    }
  }
  std::printf("hd gemm core: %zu (spec x shape x input kind) cases, %zu outputs, %zu mismatches\n", cases,
              outputs, mismatches);
  CHECK(mismatches == 0);
  CHECK(outputs > 10000);
}

TEST_CASE("a wrong accumulation would be caught: the HD routine differs from plain fp32 where bf16 stalls") {
  // 1 + 2^-9 * 1000 in bf16 stalls at 1 (each 2^-9 is below half an ulp of 1), which the
  // comparison above must be able to see: the routine is not trivially fp32.
  sim::TensorF a(sim::Shape{1, 1001}, 1.0f), b(sim::Shape{1001, 1}, std::ldexp(1.0f, -9));
  b.at({0, 0}) = 1.0f;
  const sim::TensorD bf16 = gemm_by_outputs(a, b, sim::AccumSpec::parse("acc=bf16"), {});
  const sim::TensorD fp32 = gemm_by_outputs(a, b, sim::AccumSpec::parse(""), {});
  CHECK(bf16.at({0, 0}) == 1.0);
  CHECK(fp32.at({0, 0}) == 1.0 + 1000.0 / 512.0);
}

// ---------------------------------------------------------------------------------------
// The block core of the CUDA block kernels (formats/cuda/block_core.hpp) on the host: the
// statistics folded in element order (the GPU folds them in a shuffle tree; combine() is
// associative and commutative), then the same scale, element and value steps the kernel
// runs, against formats::block_quantize and block_encode.

namespace {

struct HostBlockResult {
  std::vector<float> values;
  formats::BlockEncoding encoding;
};

HostBlockResult block_core_on_host(const formats::BlockFormat& f, const std::vector<float>& x, std::size_t rows,
                                   std::size_t cols, formats::RandomStream rng) {
  namespace fc = formats::cuda;
  const formats::BlockGrid g = formats::block_grid(f, rows, cols);
  HostBlockResult r;
  r.values.resize(x.size());
  r.encoding.rows = rows;
  r.encoding.cols = cols;
  r.encoding.elements.resize(x.size());
  r.encoding.scales.resize(g.block_count());
  if (f.has_zero_point()) r.encoding.zero_points.resize(g.block_count());
  float finite_amax = 0;
  for (float v : x)
    if (std::isfinite(v)) finite_amax = std::max(finite_amax, std::fabs(v));
  r.encoding.tensor_scale = f.has_tensor_scale() ? fc::tensor_encode_scale(f, finite_amax) : 1.0f;
  std::visit(
      [&](const auto& element_family, const auto& scale_family) {
        if constexpr (requires { element_family.lattice(); } &&
                      std::is_same_v<std::decay_t<decltype(scale_family)>, formats::MiniFloat>) {
          const auto p = fc::make_block_params(f, element_family, scale_family, g, rng, r.encoding.tensor_scale);
          formats::with_rounding_mode(f.rounding().mode, [&]<formats::Rounding M>() {
            for (std::size_t b = 0; b < g.block_count(); ++b) {
              const std::size_t r0 = b / g.grid_cols * g.block_rows, c0 = b % g.grid_cols * g.block_cols;
              const std::size_t r1 = std::min(rows, r0 + g.block_rows), c1 = std::min(cols, c0 + g.block_cols);
              fc::Stats st = fc::empty_stats();
              for (std::size_t rr = r0; rr < r1; ++rr)
                for (std::size_t cc = c0; cc < c1; ++cc) st = fc::combine(st, fc::element_stats(x[rr * cols + cc], rr * cols + cc));
              const fc::BlockScaleValue s = fc::choose_scale(p, st);
              r.encoding.scales[b] = s.code;
              if (f.has_zero_point()) r.encoding.zero_points[b] = s.offset_code;
              for (std::size_t rr = r0; rr < r1; ++rr) {
                for (std::size_t cc = c0; cc < c1; ++cc) {
                  const std::size_t i = rr * cols + cc;
                  const double q = fc::element_value<M>(p, x[i], s, i);
                  r.values[i] = fc::value_of(p, q, s);
                  r.encoding.elements[i] = formats::pack(p.element, q);
                }
              }
            }
          });
        }
      },
      f.element().repr(), f.scale().repr());
  return r;
}

}  // namespace

TEST_CASE("the CUDA block core run on the host equals block_quantize and block_encode bit for bit") {
  std::mt19937_64 gen(77);
  std::size_t combinations = 0, compared = 0, mismatches = 0, unsupported = 0;
  const auto report = [&](bool equal, const std::string& what) {
    ++compared;
    if (!equal && ++mismatches <= 10) std::printf("MISMATCH block %s\n", what.c_str());
  };
  for (const std::string& spec : test::block_specs()) {
    const formats::BlockFormat f = formats::BlockFormat::parse(spec);
    if (!formats::cuda::block_core_supports(f)) {
      ++unsupported;
      continue;
    }
    for (const auto& [rows, cols] : test::block_shapes()) {
      const std::vector<float> x = test::block_inputs(rows, cols, gen);
      const formats::RandomStream rng{42, 9};
      std::vector<float> cpu(x.size());
      formats::block_quantize(f, x, rows, cols, cpu, rng);
      const formats::BlockEncoding e = formats::block_encode(f, x, rows, cols, rng);
      const HostBlockResult h = block_core_on_host(f, x, rows, cols, rng);
      ++combinations;
      for (std::size_t i = 0; i < x.size(); ++i) {
        report(std::bit_cast<std::uint32_t>(cpu[i]) == std::bit_cast<std::uint32_t>(h.values[i]),
               spec + " value " + std::to_string(i));
        report(e.elements[i] == h.encoding.elements[i], spec + " element code " + std::to_string(i));
      }
      for (std::size_t b = 0; b < e.scales.size(); ++b) report(e.scales[b] == h.encoding.scales[b], spec + " scale " + std::to_string(b));
      REQUIRE(e.zero_points.size() == h.encoding.zero_points.size());
      for (std::size_t b = 0; b < e.zero_points.size(); ++b)
        report(e.zero_points[b] == h.encoding.zero_points[b], spec + " zero point " + std::to_string(b));
      report(std::bit_cast<std::uint32_t>(e.tensor_scale) == std::bit_cast<std::uint32_t>(h.encoding.tensor_scale),
             spec + " tensor scale");
    }
  }
  std::printf("block core: %zu (format x shape) combinations, %zu values/codes compared, %zu mismatches; "
              "%zu formats not covered by the GPU kernels\n",
              combinations, compared, mismatches, unsupported);
  CHECK(mismatches == 0);
  CHECK(combinations >= 100);
}

// ---------------------------------------------------------------------------------------
// The element core of the CUDA element kernels (formats/cuda/element_core.hpp) on the host:
// codes of every family (lattice encoder, posit/LNS encoders) against Format::encode, and
// posit/LNS quantize (decode(encode(x))) against Format::quantize, with the CPU's Philox
// numbering, for every named format and every rounding mode.

TEST_CASE("the CUDA element core run on the host equals Format::encode and Format::quantize") {
  std::vector<formats::Format> fs;
  for (const auto& named : formats::named_formats()) fs.push_back(formats::Format::parse(named.name));
  for (const auto& named : formats::extra_named_formats()) fs.push_back(formats::Format::parse(named.name));
  for (const char* spec : {"e5m2<ftz_in=true,ftz_out=true>", "int8<narrow=true,frac=3>", "posit<12,3>", "lns<4,3,round=linear>"})
    fs.push_back(formats::Format::parse(spec));
  std::mt19937_64 gen(3);
  std::vector<float> x = {0.0f, -0.0f, std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::denorm_min(),
                          -std::numeric_limits<float>::denorm_min() * 77, std::numeric_limits<float>::max()};
  for (int i = 0; i < 6000; ++i) x.push_back(std::bit_cast<float>(std::uint32_t(gen())));
  for (int i = 0; i < 6000; ++i) x.push_back(float(std::ldexp(std::uniform_real_distribution<double>(-2, 2)(gen), int(gen() % 40) - 20)));
  const formats::RandomStream rng{0xc0de, 1};
  std::size_t compared = 0, mismatches = 0;
  for (const formats::Format& f : fs) {
    for (const char* m : {"rne", "rna", "rnz", "ru", "rd", "rz", "rto", "sr", "sr:3"}) {
      const formats::RoundingSpec r = formats::parse_rounding(m);
      std::vector<std::uint64_t> cpu(x.size()), core(x.size());
      f.encode(std::span<const float>(x), std::span<std::uint64_t>(cpu), r, rng);
      std::vector<float> cpu_q(x.size()), core_q(x.size());
      const std::uint64_t offset = 3;
      f.quantize(std::span<const float>(x), std::span<float>(cpu_q), r, rng, offset);
      formats::with_rounding_mode(r.mode, [&]<formats::Rounding M>() {
        std::visit(
            [&](const auto& family) {
              using Family = std::decay_t<decltype(family)>;
              for (std::size_t i = 0; i < x.size(); ++i) {
                const std::uint32_t word = M == formats::Rounding::stochastic ? rng.word(i) : 0u;
                if constexpr (requires { family.lattice(); }) {
                  core[i] = formats::cuda::LatticeEncoder<Family>{family, formats::make_plan<double>(f.lattice())}
                                .template encode<M>(x[i], word, r.random_bits);
                  core_q[i] = cpu_q[i];  // lattice quantize is round_pattern itself
                } else {
                  core[i] = formats::cuda::CodecEncoder<Family>{family}.template encode<M>(x[i], word, r.random_bits);
                  const std::uint32_t qword = M == formats::Rounding::stochastic ? rng.word(offset + i) : 0u;
                  core_q[i] = formats::cuda::codec_round<M, float>(family, x[i], qword, r.random_bits);
                }
              }
            },
            f.repr());
      });
      for (std::size_t i = 0; i < x.size(); ++i) {
        compared += 2;
        const bool ok = cpu[i] == core[i] && std::bit_cast<std::uint32_t>(cpu_q[i]) == std::bit_cast<std::uint32_t>(core_q[i]);
        if (!ok && ++mismatches <= 10)
          std::printf("MISMATCH %s %s x=%a code cpu=%llu core=%llu value cpu=%a core=%a\n", f.spec().c_str(), m,
                      double(x[i]), (unsigned long long)cpu[i], (unsigned long long)core[i], double(cpu_q[i]),
                      double(core_q[i]));
      }
    }
  }
  std::printf("element core: %zu formats x 9 modes, %zu codes/values compared, %zu mismatches\n", fs.size(), compared,
              mismatches);
  CHECK(mismatches == 0);
}
