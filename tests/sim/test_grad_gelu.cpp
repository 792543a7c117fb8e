// The tanh GELU backward (sim/grad/activation_grad.hpp): the documented float64 operations,
// the forward's saved tanh changing no bit, and the float32 (tanh_f32) derivative against
// the float64 one within a derived bound. Compiled without FMA contraction, so the literal
// formulas below are the operations written.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <numbers>
#include <random>
#include <stdexcept>
#include <vector>

#include "sim/grad/activation_grad.hpp"
#include "sim/kernels/activations.hpp"

using namespace bitsim::sim;

namespace {

constexpr double kEps = 0x1p-24;
constexpr float kInfF = std::numeric_limits<float>::infinity();

double ulp_f(double v) {
  const double a = std::fabs(v);
  return a < 0x1p-126 ? 0x1p-149 : std::ldexp(1.0, std::ilogb(a) - 23);
}

// Inputs where the backward's fused argument and the forward's differ, and where they do
// not: a dense grid of floats in [2^-20, 12] of both signs (the large |x| where 0.044715 x^3
// dominates included), Gaussian values as a GPT's MLP sees them, and special values.
std::vector<float> gelu_inputs() {
  std::vector<float> xs;
  for (std::uint32_t b = std::bit_cast<std::uint32_t>(0x1p-20f); b <= std::bit_cast<std::uint32_t>(12.0f); b += 1021) {
    xs.push_back(std::bit_cast<float>(b));
    xs.push_back(-std::bit_cast<float>(b));
  }
  std::mt19937 gen(7);
  std::normal_distribution<float> normal(0.0f, 1.5f);
  for (int i = 0; i < 100000; ++i) xs.push_back(normal(gen));
  for (float v : {0.0f, -0.0f, 1e-30f, -0x1p-149f, 30.0f, -30.0f, 1e15f, -1e15f, 3e38f, -3e38f, kInfF, -kInfF,
                  std::numeric_limits<float>::quiet_NaN()})
    xs.push_back(v);
  return xs;
}

// The backward's tanh argument (fused), as activation_grad.hpp writes it.
double backward_argument(double x) { return std::sqrt(2.0 / std::numbers::pi) * std::fma((0.044715 * x) * x, x, x); }

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), sizeof(T) * a.numel()) == 0;
}

}  // namespace

TEST_CASE("gelu_backward (tanh) computes the operations its header writes out") {
  for (float xf : gelu_inputs()) {
    const double x = xf;
    const double k = std::sqrt(2.0 / std::numbers::pi);
    const double t = std::tanh(backward_argument(x));
    const double want = std::fma(1.0 + t, 0.5, (((0.5 * x) * std::fma(-t, t, 1.0)) * k) * std::fma(0.134145 * x, x, 1.0));
    const double got = gelu_derivative(x, GeluApprox::tanh);
    if (std::bit_cast<std::uint64_t>(got) != std::bit_cast<std::uint64_t>(want))
      REQUIRE(std::bit_cast<std::uint64_t>(got) == std::bit_cast<std::uint64_t>(want));
  }
  CHECK(0.134145 == 3.0 * 0.044715);
}

TEST_CASE("gelu_backward (tanh) with the forward's saved tanh equals the recomputing backward bit for bit") {
  const std::vector<float> xs = gelu_inputs();
  const Index n = static_cast<Index>(xs.size());
  std::vector<float> dys(xs.size());
  std::mt19937 gen(8);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (float& d : dys) d = normal(gen);
  const TensorF x(Shape{n}, xs), dy(Shape{n}, dys);
  GeluSaved saved;
  gelu(x, GeluApprox::tanh, {}, &saved);
  // Both paths are exercised: some arguments differ (tanh recomputed), most agree.
  Index differ = 0;
  for (float v : xs) differ += gelu_tanh_argument(v) != backward_argument(v);
  CHECK(differ > 100);
  CHECK(differ < n / 4);
  CHECK(same_bits(gelu_backward(x, dy, GeluApprox::tanh, &saved), gelu_backward(x, dy, GeluApprox::tanh)));
  // float64 tensors too (the saved values come from the float forward of the same x).
  TensorD xd(Shape{n}), dyd(Shape{n});
  for (Index i = 0; i < n; ++i) xd.data()[i] = xs[i], dyd.data()[i] = dys[i];
  CHECK(same_bits(gelu_backward(xd, dyd, GeluApprox::tanh, &saved), gelu_backward(xd, dyd, GeluApprox::tanh)));
  // A GeluSaved of another size is refused.
  GeluSaved wrong;
  wrong.tanh.resize(3);
  CHECK_THROWS_AS(gelu_backward(x, dy, GeluApprox::tanh, &wrong), std::invalid_argument);
}

// The float32 derivative d32 = 0.5 (1 + t) + ((0.5 x)(1 - t t)) (kBeta (1 + kKappa3 x x))
// against the float64 one. t carries dt = (1 - t^2) 6 eps |u| + 3 ulp(t) (the forward's
// budget, tests/sim/test_kernel_elementwise.cpp); 1 + t rounds (0.5 ulp), so the first term
// is within 0.5 (dt + 0.5 ulp(1 + t)). In the slope, 1 - t t is within 2 |t| dt + 2 eps
// (the product and the subtraction) absolutely, and the other four factors and three
// roundings add 8 eps relative (kBeta, kKappa3 and x x included); the final addition
// rounds once more (0.5 ulp(d)).
TEST_CASE("gelu tanh_f32 derivative: the float64 derivative within its derived error bound") {
  for (float xf : gelu_inputs()) {
    if (!std::isfinite(xf) || std::fabs(xf) > 12) continue;
    const double x = xf, u = gelu_tanh_argument(x), t = std::tanh(u);
    const double want = gelu_derivative(x, GeluApprox::tanh);
    const double dt = (1 - t * t) * 6 * kEps * std::fabs(u) + 3 * ulp_f(t);
    const double outer = 0.5 * std::fabs(x) * std::sqrt(2.0 / std::numbers::pi) * (1 + 0.134145 * x * x);
    const double slope = outer * (1 - t * t);
    const double bound = 0.5 * (dt + 0.5 * ulp_f(1 + t)) + outer * (2 * std::fabs(t) * dt + 2 * kEps) +
                         8 * kEps * slope + 0.5 * ulp_f(want) + 1e-300;
    const double got = gelu_derivative(x, GeluApprox::tanh_f32);
    if (!(std::fabs(got - want) <= bound)) REQUIRE(std::fabs(got - want) <= bound);
  }
  // The kernel: dx = dy * d in float32, on float and double tensors alike.
  const TensorF x(Shape{4}, std::vector<float>{-3.0f, -0.5f, 0.25f, 40.0f});
  const TensorF dy(Shape{4}, std::vector<float>{0.5f, -2.0f, 1.5f, 3.0f});
  const auto dx = gelu_backward(x, dy, GeluApprox::tanh_f32).to_vector();
  for (Index i = 0; i < 4; ++i)
    CHECK(dx[i] == dy.data()[i] * static_cast<float>(gelu_derivative(x.data()[i], GeluApprox::tanh_f32)));
  CHECK(dx[3] == 3.0f);  // the limit: derivative 1, no inf * 0
}
