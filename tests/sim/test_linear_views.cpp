// The linear layer's gradient GEMMs take their transposed operands as views (no copies), and
// GEMM outputs are made without a zero fill (Tensor(shape, uninitialized)). Both are speed
// changes only: here each is checked bit for bit against the code before it, kept as a
// literal reference (explicit .contiguous() copies of every transposed operand), over odd
// shapes, the shapes of the 2.37M-parameter training run, and memory poisoned with NaNs.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "sim/gemm/gemm.hpp"
#include "sim/gemm/quant_gemm.hpp"
#include "sim/grad/linear_grad.hpp"

using namespace bitsim::sim;

namespace {

TensorF random_matrix(Index rows, Index cols, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(static_cast<std::size_t>(rows * cols));
  for (float& x : v) x = dist(gen);
  return TensorF(Shape{rows, cols}, std::move(v));
}

// Frees a few NaN-filled blocks of an output's size, so that the next tensors of that size
// are likely to be made in memory that holds NaNs (and ASan fills fresh blocks with 0xbe):
// an element an "uninitialized" output never wrote then shows up as a mismatch.
volatile float poison_sink;  // keeps the poisoned blocks from being optimised away

void poison_heap(Index elements) {
  for (int i = 0; i < 4; ++i) {
    const TensorF block(Shape{elements}, std::numeric_limits<float>::quiet_NaN());
    if (elements > 0) poison_sink = block.data()[elements - 1];
  }
}

void require_same_bits(const TensorF& got, const TensorF& want, const std::string& what) {
  INFO(what);
  REQUIRE(got.shape() == want.shape());
  const std::vector<float> g = got.to_vector(), w = want.to_vector();
  for (std::size_t i = 0; i < g.size(); ++i)
    if (std::memcmp(&g[i], &w[i], sizeof(float)) != 0)
      FAIL("element " << i << " is " << g[i] << ", the reference's " << w[i]);
}

// linear_backward before its operands became views: every transposed operand materialised,
// every operand quantized by the GEMM it enters, the bias gradient summed in float64.
LinearGrads old_linear_backward(const TensorF& x, const TensorF& w, const TensorF& dy, bool has_bias,
                                const LinearSpec& spec) {
  GemmArgs rows;
  rows.transpose_b = true;
  LinearGrads g;
  g.dx = gemm(dy.contiguous(), w.transposed().contiguous(), spec.input_grad.operands, spec.input_grad.accum, rows);
  g.dw = gemm(dy.transposed().contiguous(), x.transposed().contiguous(), spec.weight_grad.operands,
              spec.weight_grad.accum, rows);
  if (has_bias) {
    const Index M = dy.size(0), N = dy.size(1);
    std::vector<double> sum(static_cast<std::size_t>(N), 0.0);
    for (Index r = 0; r < M; ++r)
      for (Index c = 0; c < N; ++c) sum[static_cast<std::size_t>(c)] += dy.at({r, c});
    std::vector<float> db;
    for (double s : sum) db.push_back(static_cast<float>(s));
    g.db = TensorF(Shape{N}, std::move(db));
  }
  return g;
}

LinearSpec uniform_spec(const AccumSpec& accum, const char* fwd_x, const char* fwd_w, const char* grad) {
  const QuantSpec g = parse_quant_spec(grad);
  LinearSpec s;
  s.forward = {{parse_quant_spec(fwd_x), parse_quant_spec(fwd_w)}, accum};
  s.input_grad = {{g, g}, accum};
  s.weight_grad = {{g, g}, accum};
  return s;
}

struct Mkn {
  Index M, K, N;
};

// Odd sizes around the kernels' tile and block edges, degenerate ones, and the training run's.
const Mkn kOddShapes[] = {{1, 1, 1}, {1, 7, 5}, {3, 1, 4}, {5, 3, 1}, {7, 13, 17}, {33, 65, 19}, {64, 31, 100}, {129, 67, 45}};
const Mkn kTrainingShapes[] = {{512, 256, 768}, {512, 768, 256}, {256, 512, 1024}, {512, 256, 256}, {512, 1024, 256}};

void check_backward(const Mkn& s, const LinearSpec& spec, const std::string& what) {
  const TensorF x = random_matrix(s.M, s.K, 1 + s.M), w = random_matrix(s.N, s.K, 2 + s.N),
                dy = random_matrix(s.M, s.N, 3 + s.K);
  const LinearGrads want = old_linear_backward(x, w, dy, true, spec);
  LinearQuantized kept;
  linear_forward(x, w, std::nullopt, spec, &kept);
  poison_heap(s.M * s.K);
  poison_heap(s.N * s.K);
  const LinearGrads got = linear_backward(x, w, dy, true, spec, true, &kept);
  const std::string at = what + " M=" + std::to_string(s.M) + " K=" + std::to_string(s.K) + " N=" + std::to_string(s.N);
  require_same_bits(got.dx, want.dx, at + " dx");
  require_same_bits(got.dw, want.dw, at + " dW");
  require_same_bits(got.db, want.db, at + " db");
  // Without dx (the first layer's input needs none): the same dW.
  require_same_bits(linear_backward(x, w, dy, false, spec, false).dw, want.dw, at + " dW without dx");
}

}  // namespace

TEST_CASE("Tensor(shape, uninitialized): a plain row-major tensor; the fill constructor still fills") {
  poison_heap(6 * 7);
  TensorF u(Shape{6, 7}, uninitialized);
  CHECK(u.shape() == Shape{6, 7});
  CHECK(u.strides() == Shape{7, 1});
  CHECK(u.is_contiguous());
  for (Index i = 0; i < u.numel(); ++i) u.data()[i] = float(i);
  CHECK(u.at({5, 6}) == 41.0f);
  CHECK(u.transposed().at({6, 5}) == 41.0f);
  // Zero and other fills are exact on reused (poisoned) memory, as are the empty and scalar cases.
  poison_heap(6 * 7);
  const TensorF zeros(Shape{6, 7});
  for (float v : zeros.to_vector()) CHECK(std::bit_cast<std::uint32_t>(v) == 0u);
  poison_heap(6 * 7);
  for (float v : TensorD(Shape{3, 7}, -2.5).cast<float>().to_vector()) CHECK(v == -2.5f);
  CHECK(TensorF(Shape{0, 3}, uninitialized).numel() == 0);
  CHECK(TensorF(Shape{}, uninitialized).numel() == 1);
  CHECK_THROWS_AS(TensorF(Shape{2, -1}, uninitialized), std::invalid_argument);
}

TEST_CASE("order=blas reads transposed and row-strided views in place: the bits of contiguous copies") {
  const AccumSpec blas = AccumSpec::blas();
  for (const Mkn& s : kOddShapes) {
    for (bool transpose_b : {false, true}) {
      for (bool with_bias : {false, true}) {
        // A and B as row-major, as transposed views of row-major storage, and as column
        // slices of wider matrices (rows further apart than their length).
        const TensorF a_rows = random_matrix(s.M, s.K, 10 + s.K);
        const TensorF a_cols = random_matrix(s.K, s.M, 11 + s.K).transposed();
        const TensorF a_slice = random_matrix(s.M, s.K + 3, 12 + s.K).slice(1, 2, s.K + 2);
        const Index br = transpose_b ? s.N : s.K, bc = transpose_b ? s.K : s.N;
        const TensorF b_rows = random_matrix(br, bc, 20 + s.N);
        const TensorF b_cols = random_matrix(bc, br, 21 + s.N).transposed();
        const TensorF b_slice = random_matrix(br, bc + 5, 22 + s.N).slice(1, 1, bc + 1);
        GemmArgs args;
        args.transpose_b = transpose_b;
        if (with_bias) args.bias = random_matrix(1, s.N, 30).reshaped({s.N});
        for (const TensorF& a : {a_rows, a_cols, a_slice})
          for (const TensorF& b : {b_rows, b_cols, b_slice}) {
            const TensorF want = gemm(a.contiguous(), b.contiguous(), blas, args);
            poison_heap(s.M * s.N);
            require_same_bits(gemm(a, b, blas, args), want,
                              "M=" + std::to_string(s.M) + " K=" + std::to_string(s.K) + " N=" + std::to_string(s.N) +
                                  " transpose_b=" + std::to_string(transpose_b) + " A strides " +
                                  shape_string(a.strides()) + " B strides " + shape_string(b.strides()));
          }
      }
    }
  }
}

TEST_CASE("an empty reduction (K = 0) gives zeros plus the bias in every order, on poisoned memory") {
  const TensorF a(Shape{5, 0}), b(Shape{0, 19});
  GemmArgs args;
  args.bias = random_matrix(1, 19, 4).reshaped({19});
  for (const AccumSpec& spec : {AccumSpec{}, AccumSpec::blas()}) {
    poison_heap(5 * 19);
    const TensorF c = gemm(a, b, spec, args);
    for (Index m = 0; m < 5; ++m)
      for (Index n = 0; n < 19; ++n) CHECK(c.at({m, n}) == args.bias->at({n}));
    poison_heap(5 * 19);
    for (float v : gemm(a, b, spec).to_vector()) CHECK(v == 0.0f);
  }
}

TEST_CASE("linear_backward with view operands: the bits of materialised transposes, odd shapes") {
  const AccumSpec defined{}, blas = AccumSpec::blas();
  for (const Mkn& s : kOddShapes) {
    for (bool reuse : {true, false}) {
      const auto with_reuse = [&](LinearSpec spec) {
        spec.reuse_operands = reuse;
        return spec;
      };
      const std::string r = reuse ? " (reuse)" : " (no reuse)";
      check_backward(s, with_reuse(uniform_spec(defined, "none", "none", "none")), "fp32 sequential" + r);
      check_backward(s, with_reuse(uniform_spec(blas, "none", "none", "none")), "fp32 blas" + r);
      // Quantized forward, plain gradients (as the int8 recipe): views in the gradient GEMMs.
      check_backward(s, with_reuse(uniform_spec(blas, "int8:per_tensor", "int8:per_channel(axis=0)", "none")),
                     "int8 forward, blas" + r);
      // Quantized gradient operands still enter as contiguous copies (kept or shared ones too).
      check_backward(s, with_reuse(uniform_spec(blas, "bf16", "bf16", "bf16")), "bf16 blas" + r);
      check_backward(s, with_reuse(uniform_spec(defined, "e4m3fn:per_tensor", "e4m3fn:per_tensor", "e5m2:per_tensor")),
                     "fp8 sequential" + r);
    }
  }
}

TEST_CASE("linear_backward with view operands: the bits of materialised transposes, training shapes (blas)") {
  const LinearSpec spec = uniform_spec(AccumSpec::blas(), "none", "none", "none");
  for (const Mkn& s : kTrainingShapes) check_backward(s, spec, "fp32 blas");
}
