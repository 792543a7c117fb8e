// Backward kernels (sim/grad/) against central finite differences in float64.
//
// Each check differentiates L(x) = sum(f(x) * R) for a fixed random R: the backward kernel
// called with dy = R must return dL/dx. The forward f is a literal float64 loop written
// here (or, for attention and RoPE, the kernel's float64 forward, itself checked against
// the float32 sim/kernels forward). Central differences with h = 1e-5 have truncation
// error ~h^2 |f'''| ~ 1e-10 and cancellation error ~1e-16 |L| / h ~ 1e-11 for these
// sizes, so 1e-7 (relative to the gradient's largest entry) leaves a wide margin while
// still catching any wrong term (those are O(1)).
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <fstream>
#include <functional>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>
#include <tbb/global_control.h>

#include "sim/gemm/gemm.hpp"
#include "sim/grad/activation_grad.hpp"
#include "sim/grad/attention_grad.hpp"
#include "sim/grad/cross_entropy.hpp"
#include "sim/grad/embedding_grad.hpp"
#include "sim/grad/linear_grad.hpp"
#include "sim/grad/norm_grad.hpp"
#include "sim/grad/rope_grad.hpp"
#include "sim/kernels/attention.hpp"
#include "sim/kernels/norms.hpp"
#include "sim/kernels/rope.hpp"
#include "sim/quant/quantize.hpp"

using namespace bitsim::sim;

namespace {

TensorD random_d(Shape shape, unsigned seed, double scale = 1.0) {
  std::mt19937 gen(seed);
  std::normal_distribution<double> dist(0.0, scale);
  TensorD t(std::move(shape));
  for (auto& x : t.span()) x = dist(gen);
  return t;
}

// sum(a * b) in float64.
double dot(const TensorD& a, const TensorD& b) {
  double s = 0.0;
  for (Index i = 0; i < a.numel(); ++i) s += a.data()[i] * b.data()[i];
  return s;
}

// Central differences of loss() with respect to every element of x (perturbed in place).
TensorD numeric_grad(TensorD& x, const std::function<double()>& loss, double h = 1e-5) {
  TensorD g(x.shape());
  for (Index i = 0; i < x.numel(); ++i) {
    const double keep = x.data()[i];
    x.data()[i] = keep + h;
    const double up = loss();
    x.data()[i] = keep - h;
    const double down = loss();
    x.data()[i] = keep;
    g.data()[i] = (up - down) / (2 * h);
  }
  return g;
}

// max |a - b| / max(1, max |b|)
double rel_error(const TensorD& a, const TensorD& b) {
  REQUIRE(a.shape() == b.shape());
  double err = 0.0, mag = 1.0;
  for (Index i = 0; i < a.numel(); ++i) {
    err = std::max(err, std::abs(a.data()[i] - b.data()[i]));
    mag = std::max(mag, std::abs(b.data()[i]));
  }
  return err / mag;
}

constexpr double kTol = 1e-7;

TensorD layer_norm_ref(const TensorD& x, const TensorD& g, const TensorD& b, double eps, bool rms) {
  const Index n = x.size(-1), rows = x.numel() / n;
  TensorD y(x.shape());
  for (Index r = 0; r < rows; ++r) {
    const double* in = x.data() + r * n;
    double mean = 0.0, var = 0.0;
    if (!rms) {
      for (Index i = 0; i < n; ++i) mean += in[i];
      mean /= n;
    }
    for (Index i = 0; i < n; ++i) var += (in[i] - mean) * (in[i] - mean);
    var /= n;
    for (Index i = 0; i < n; ++i)
      y.data()[r * n + i] = (in[i] - mean) / std::sqrt(var + eps) * g.data()[i] + (rms ? 0.0 : b.data()[i]);
  }
  return y;
}

}  // namespace

TEST_CASE("layer_norm_backward and rms_norm_backward match finite differences") {
  for (bool rms : {false, true}) {
    CAPTURE(rms);
    TensorD x = random_d({3, 2, 7}, 1, 2.0), g = random_d({7}, 2), b = random_d({7}, 3), R = random_d({3, 2, 7}, 4);
    const double eps = 1e-5;
    auto loss = [&] { return dot(layer_norm_ref(x, g, b, eps, rms), R); };
    const auto grads = rms ? rms_norm_backward(x, g, R, eps) : layer_norm_backward(x, g, R, eps);
    CHECK(rel_error(grads.dx, numeric_grad(x, loss)) < kTol);
    CHECK(rel_error(grads.dgamma, numeric_grad(g, loss)) < kTol);
    if (!rms) CHECK(rel_error(grads.dbeta, numeric_grad(b, loss)) < kTol);
    if (rms) CHECK(grads.dbeta.numel() == 0);
    // The float64 forward differentiated here is the float32 kernel's, to float32 accuracy.
    const TensorF yf = rms ? rms_norm(x.cast<float>(), g.cast<float>())
                           : layer_norm(x.cast<float>(), g.cast<float>(), b.cast<float>());
    CHECK(rel_error(yf.cast<double>(), layer_norm_ref(x, g, b, eps, rms)) < 1e-5);
  }
  CHECK_THROWS_AS(layer_norm_backward(random_d({2, 3}, 1), random_d({4}, 1), random_d({2, 3}, 1)),
                  std::invalid_argument);
  CHECK_THROWS_AS(layer_norm_backward(random_d({2, 3}, 1), TensorD(), random_d({3, 2}, 1)), std::invalid_argument);
}

TEST_CASE("activation backwards match finite differences") {
  TensorD x = random_d({5, 9}, 5, 2.5), R = random_d({5, 9}, 6);
  for (GeluApprox a : {GeluApprox::erf, GeluApprox::tanh}) {
    auto f = [&] {
      double s = 0.0;
      for (Index i = 0; i < x.numel(); ++i) s += gelu_value(x.data()[i], a) * R.data()[i];
      return s;
    };
    CHECK(rel_error(gelu_backward(x, R, a), numeric_grad(x, f)) < kTol);
  }
  auto fs = [&] {
    double s = 0.0;
    for (Index i = 0; i < x.numel(); ++i) s += silu_value(x.data()[i]) * R.data()[i];
    return s;
  };
  CHECK(rel_error(silu_backward(x, R), numeric_grad(x, fs)) < kTol);
  TensorD up = random_d({5, 9}, 7);
  auto fw = [&] {
    double s = 0.0;
    for (Index i = 0; i < x.numel(); ++i) s += silu_value(x.data()[i]) * up.data()[i] * R.data()[i];
    return s;
  };
  const auto sg = swiglu_backward(x, up, R);
  CHECK(rel_error(sg.dgate, numeric_grad(x, fw)) < kTol);
  CHECK(rel_error(sg.dup, numeric_grad(up, fw)) < kTol);
}

TEST_CASE("rope_backward matches finite differences and the forward kernel") {
  for (RopeLayout layout : {RopeLayout::half_split, RopeLayout::interleaved}) {
    RopeSpec spec;
    spec.layout = layout;
    spec.rotary_dims = 6;
    spec.position_offset = 3;
    TensorD x = random_d({2, 5, 8}, 8), R = random_d({2, 5, 8}, 9);
    auto loss = [&] { return dot(rope_rotate(x, spec, +1), R); };
    CHECK(rel_error(rope_backward(R, spec), numeric_grad(x, loss)) < kTol);
    CHECK(rel_error(rope(x.cast<float>(), spec).cast<double>(), rope_rotate(x, spec, +1)) < 1e-6);
  }
}

TEST_CASE("embedding and position backwards sum rows in order") {
  TensorD table = random_d({6, 4}, 10), pos = random_d({5, 4}, 11);
  const std::vector<Index> ids{2, 5, 2, 0, 2, 1};  // repeated ids accumulate
  TensorD R = random_d({6, 4}, 12);
  auto loss = [&] {
    double s = 0.0;
    for (std::size_t n = 0; n < ids.size(); ++n)
      for (Index c = 0; c < 4; ++c)
        s += (table.data()[ids[n] * 4 + c] + pos.data()[(1 + n % 3) * 4 + c]) * R.data()[n * 4 + c];
    return s;
  };
  CHECK(rel_error(embedding_backward<double>(ids, R, 6), numeric_grad(table, loss)) < kTol);
  // The same rows as [2, 3, 4] tokens at positions 1..3.
  CHECK(rel_error(positions_backward(R.reshaped({2, 3, 4}), 5, 1), numeric_grad(pos, loss)) < kTol);
  CHECK_THROWS_AS(embedding_backward<double>(std::vector<Index>{0, 6, 1, 1, 1, 1}, R, 6), std::out_of_range);
  CHECK_THROWS_AS(positions_backward(R.reshaped({2, 3, 4}), 3, 1), std::out_of_range);
}

TEST_CASE("cross_entropy: loss and gradient") {
  TensorD z = random_d({4, 11}, 13, 3.0);
  const std::vector<Index> t{3, 0, 10, 3};
  auto loss = [&] { return cross_entropy(z, t).loss; };
  const auto ce = cross_entropy(z, t, 1.0);
  CHECK(rel_error(ce.dlogits, numeric_grad(z, loss)) < kTol);
  // Literal loss: mean of -log softmax at the targets.
  double ref = 0.0;
  for (Index n = 0; n < 4; ++n) {
    double s = 0.0;
    for (Index j = 0; j < 11; ++j) s += std::exp(z.data()[n * 11 + j]);
    ref += std::log(s) - z.data()[n * 11 + t[n]];
  }
  CHECK(ce.loss == doctest::Approx(ref / 4).epsilon(1e-13));
  // Loss scaling scales the gradient only.
  const auto scaled = cross_entropy(z, t, 1024.0);
  CHECK(scaled.loss == ce.loss);
  CHECK(scaled.dlogits.data()[5] == ce.dlogits.data()[5] * 1024.0);
  CHECK_THROWS_AS(cross_entropy(z, std::vector<Index>{0, 1, 11, 0}), std::out_of_range);
}

TEST_CASE("attention_backward (naive and blocked) matches finite differences") {
  for (Index block : {0, 2, 3, 16}) {
    for (bool causal : {true, false}) {
      CAPTURE(block);
      CAPTURE(causal);
      AttentionSpec spec;
      spec.causal = causal;
      // 4 query heads over 2 kv heads, 3 queries after 2 cached keys.
      TensorD q = random_d({4, 3, 4}, 14), k = random_d({2, 5, 4}, 15), v = random_d({2, 5, 3}, 16),
              R = random_d({4, 3, 3}, 17);
      auto loss = [&] { return dot(attention_forward_exact(q, k, v, spec), R); };
      const auto g = attention_backward(q, k, v, R, spec, block);
      CHECK(rel_error(g.dq, numeric_grad(q, loss)) < kTol);
      CHECK(rel_error(g.dk, numeric_grad(k, loss)) < kTol);
      CHECK(rel_error(g.dv, numeric_grad(v, loss)) < kTol);
      const TensorF yf = attention(q.cast<float>(), k.cast<float>(), v.cast<float>(), spec);
      CHECK(rel_error(yf.cast<double>(), attention_forward_exact(q, k, v, spec)) < 1e-5);
    }
  }
  CHECK_THROWS_AS(attention_backward(random_d({3, 2, 4}, 1), random_d({2, 2, 4}, 1), random_d({2, 2, 4}, 1),
                                     random_d({3, 2, 4}, 1)),
                  std::invalid_argument);
}

namespace {

// The naive attention backward as a plain loop over (query head, row i, key j, feature c),
// every key of every row, each sum in that order, every product fused into its sum:
// what attention_backward(block_k = 0) must reproduce bit for bit (it skips masked keys
// and vectorises across keys). Compiled without contraction, so the fma calls are the
// only fused operations.
template <class T>
#if defined(__GNUC__) && !defined(__clang__)
[[gnu::optimize("fp-contract=off")]]
#endif
AttentionGrads<T> attention_backward_literal(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                             const Tensor<T>& dout, const AttentionSpec& spec) {
  const Index H = q.size(0), Tq = q.size(1), d = q.size(2), Hkv = k.size(0), Tk = k.size(1), dv = v.size(2);
  const Index offset = spec.query_offset.value_or(Tk - Tq);
  const double scale = 1.0 / std::sqrt(double(d)), inf = std::numeric_limits<double>::infinity();
  auto at = [](const Tensor<T>& t, Index a, Index b, Index c) { return double(t.at({a, b, c})); };
  std::vector<double> dQ(q.numel()), dK(k.numel()), dV(v.numel()), p(Tk), dp(Tk);
  for (Index h = 0; h < H; ++h) {
    const Index g = h / (H / Hkv);
    for (Index i = 0; i < Tq; ++i) {
      auto visible = [&](Index j) { return !spec.causal || j <= offset + i; };
      double m = -inf, sum = 0.0, D = 0.0;
      for (Index j = 0; j < Tk; ++j) {
        double dot = 0.0;
        for (Index c = 0; c < d; ++c) dot = std::fma(at(q, h, i, c), at(k, g, j, c), dot);
        p[j] = visible(j) ? scale * dot : -inf;
        m = std::max(m, p[j]);
      }
      for (Index j = 0; j < Tk; ++j) sum += (p[j] = visible(j) ? std::exp(p[j] - m) : 0.0);
      for (Index j = 0; j < Tk; ++j) p[j] /= sum;
      for (Index j = 0; j < Tk; ++j) {
        dp[j] = 0.0;
        for (Index c = 0; c < dv; ++c) dp[j] = std::fma(at(dout, h, i, c), at(v, g, j, c), dp[j]);
        D = std::fma(p[j], dp[j], D);
      }
      for (Index j = 0; j < Tk; ++j) {
        if (!visible(j)) continue;
        const double ds = p[j] * (dp[j] - D) * scale;
        for (Index c = 0; c < dv; ++c) {
          double& x = dV[(g * Tk + j) * dv + c];
          x = std::fma(p[j], at(dout, h, i, c), x);
        }
        for (Index c = 0; c < d; ++c) {
          double& x = dQ[(h * Tq + i) * d + c];
          double& y = dK[(g * Tk + j) * d + c];
          x = std::fma(ds, at(k, g, j, c), x);
          y = std::fma(ds, at(q, h, i, c), y);
        }
      }
    }
  }
  auto tensor = [](const Shape& shape, const std::vector<double>& x) {
    Tensor<T> t(shape);
    for (std::size_t i = 0; i < x.size(); ++i) t.data()[i] = static_cast<T>(x[i]);
    return t;
  };
  return {tensor(q.shape(), dQ), tensor(k.shape(), dK), tensor(v.shape(), dV)};
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  const auto x = a.to_vector(), y = b.to_vector();
  return a.shape() == b.shape() && std::memcmp(x.data(), y.data(), x.size() * sizeof(T)) == 0;
}

}  // namespace

TEST_CASE("naive attention_backward equals the plain loop bit for bit") {
  struct Case {
    Index H, Hkv, Tq, Tk, d, dv;
  };
  const double inf = std::numeric_limits<double>::infinity();
  for (const Case c : {Case{4, 2, 5, 7, 3, 4}, Case{2, 2, 40, 40, 16, 16}, Case{3, 1, 9, 2, 5, 1}}) {
    for (int variant = 0; variant < 5; ++variant) {
      CAPTURE(c.Tq);
      CAPTURE(variant);
      AttentionSpec spec;
      spec.causal = variant != 1;
      if (variant == 2) spec.query_offset = -2;  // rows that see no key
      TensorD q = random_d({c.H, c.Tq, c.d}, 40), k = random_d({c.Hkv, c.Tk, c.d}, 41),
              v = random_d({c.Hkv, c.Tk, c.dv}, 42), dout = random_d({c.H, c.Tq, c.dv}, 43);
      // A non-finite value at a key row 0 does not see, in v or in dout: the plain loop's
      // 0 * inf terms make NaNs that the fast loop must reproduce.
      if (variant == 3) v.data()[v.numel() - 1] = inf;
      if (variant == 4) dout.data()[0] = inf;
      const auto fast = attention_backward(q, k, v, dout, spec);
      const auto slow = attention_backward_literal(q, k, v, dout, spec);
      CHECK(same_bits(fast.dq, slow.dq));
      CHECK(same_bits(fast.dk, slow.dk));
      CHECK(same_bits(fast.dv, slow.dv));
      const TensorF qf = q.cast<float>(), kf = k.cast<float>(), vf = v.cast<float>(), df = dout.cast<float>();
      const auto fast_f = attention_backward(qf, kf, vf, df, spec);
      const auto slow_f = attention_backward_literal(qf, kf, vf, df, spec);
      CHECK(same_bits(fast_f.dq, slow_f.dq));
      CHECK(same_bits(fast_f.dk, slow_f.dk));
      CHECK(same_bits(fast_f.dv, slow_f.dv));
    }
  }
}

TEST_CASE("linear_backward: the three GEMMs") {
  // Float32 kernels: compared with the float64 derivative of a float64 forward. Each
  // output is a sum of <= 12 products of float32 values of size ~1, accumulated in fp32,
  // so its error is below 12 * 2^-24 * sum|terms| ~ 1e-5 of the gradient's scale.
  TensorD x = random_d({12, 7}, 18), w = random_d({5, 7}, 19), b = random_d({5}, 20), R = random_d({12, 5}, 21);
  auto forward = [&] {
    TensorD y({12, 5});
    for (Index m = 0; m < 12; ++m)
      for (Index n = 0; n < 5; ++n) {
        double s = b.data()[n];
        for (Index k = 0; k < 7; ++k) s += x.data()[m * 7 + k] * w.data()[n * 7 + k];
        y.data()[m * 5 + n] = s;
      }
    return y;
  };
  auto loss = [&] { return dot(forward(), R); };
  const TensorF xf = x.cast<float>(), wf = w.cast<float>(), Rf = R.cast<float>();
  const auto g = linear_backward(xf, wf, Rf, true);
  CHECK(rel_error(g.dx.cast<double>(), numeric_grad(x, loss)) < 1e-5);
  CHECK(rel_error(g.dw.cast<double>(), numeric_grad(w, loss)) < 1e-5);
  CHECK(rel_error(g.db.cast<double>(), numeric_grad(b, loss)) < 1e-5);
  CHECK(rel_error(linear_forward(xf, wf, b.cast<float>()).cast<double>(), forward()) < 1e-5);

  // With a recipe: each GEMM quantizes its own operands along its reduction axis. The
  // result must be the bit-defined reference GEMM of exactly those quantized operands.
  LinearSpec spec;
  spec.forward.operands = {parse_quant_spec("bf16"), parse_quant_spec("e4m3fn:per_tensor")};
  spec.input_grad.operands = {parse_quant_spec("e5m2:per_group(4)"), parse_quant_spec("e4m3fn:per_group(2)")};
  spec.weight_grad.operands = {parse_quant_spec("e5m2:per_group(4):sr(seed=9)"), parse_quant_spec("bf16:rz")};
  spec.weight_grad.accum = AccumSpec::parse("acc=bf16");
  const auto q = linear_backward(xf, wf, Rf, false, spec);
  CHECK(q.db.numel() == 0);
  auto expect = [](const TensorF& a, const TensorF& b_rows, const GemmRecipe& r) {
    GemmArgs args;
    args.transpose_b = true;
    return gemm_reference(fake_quantize(a, r.operands.a, 0), fake_quantize(b_rows, r.operands.b, 1), r.accum, args)
        .cast<float>();
  };
  CHECK(q.dx.to_vector() == expect(Rf, wf.transposed().contiguous(), spec.input_grad).to_vector());
  CHECK(q.dw.to_vector() ==
        expect(Rf.transposed().contiguous(), xf.transposed().contiguous(), spec.weight_grad).to_vector());
  CHECK(linear_forward(xf, wf, std::nullopt, spec).to_vector() == expect(xf, wf, spec.forward).to_vector());
  CHECK_THROWS_AS(linear_backward(xf, wf, xf, false), std::invalid_argument);
}

TEST_CASE("backward kernels do not depend on the thread count") {
  TensorF q = random_d({4, 33, 8}, 22).cast<float>(), k = random_d({4, 33, 8}, 23).cast<float>(),
          v = random_d({4, 33, 8}, 24).cast<float>(), x = random_d({300, 40}, 25).cast<float>();
  AttentionSpec spec;
  spec.causal = true;
  std::vector<std::vector<float>> first;
  for (int threads : {1, 2, 8}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    const auto a = attention_backward(q, k, v, q, spec, 8);
    const auto n = layer_norm_backward(x, TensorF(), x);
    const auto e = embedding_backward<float>(std::vector<Index>(300, 3), x, 5);
    std::vector<std::vector<float>> r{a.dq.to_vector(), a.dk.to_vector(), a.dv.to_vector(),
                                      n.dx.to_vector(), n.dgamma.to_vector(), e.to_vector()};
    if (first.empty()) first = r;
    else CHECK(r == first);
  }
}

// ---- PyTorch references (tests/data/train/generate_reference.py, float64 autograd) ----
namespace {

nlohmann::json load_reference(const char* file) {
  std::ifstream in(std::string(BITSIM_TEST_DATA) + "/train/" + file);
  REQUIRE_MESSAGE(in.good(), "missing tests/data/train/", file, "; run tests/data/train/generate_reference.py");
  return nlohmann::json::parse(in);
}

TensorD tensor_of(const nlohmann::json& j) {
  Shape shape = j["shape"].get<Shape>();
  return TensorD(std::move(shape), j["values"].get<std::vector<double>>());
}

}  // namespace

TEST_CASE("backward kernels agree with PyTorch autograd (float64)") {
  // Same float64 math in a different order: agreement to ~1e-14 relative; 1e-12 allows
  // for the libm functions (tanh, exp, cos) differing in the last bits.
  const auto ref = load_reference("kernels.json");
  constexpr double tol = 1e-12;
  {
    const auto& r = ref["rms_norm"];
    const auto g = rms_norm_backward(tensor_of(r["x"]), tensor_of(r["gamma"]), tensor_of(r["dy"]), 1e-5);
    CHECK(rel_error(g.dx, tensor_of(r["dx"])) < tol);
    CHECK(rel_error(g.dgamma, tensor_of(r["dgamma"])) < tol);
  }
  {
    const auto& r = ref["layer_norm_gelu"];
    const TensorD x = tensor_of(r["x"]), gamma = tensor_of(r["gamma"]), beta = tensor_of(r["beta"]);
    const TensorD n = layer_norm_ref(x, gamma, beta, 1e-5, false);
    const TensorD dn = gelu_backward(n, tensor_of(r["dy"]), GeluApprox::tanh);
    const auto g = layer_norm_backward(x, gamma, dn, 1e-5);
    CHECK(rel_error(g.dx, tensor_of(r["dx"])) < tol);
    CHECK(rel_error(g.dgamma, tensor_of(r["dgamma"])) < tol);
    CHECK(rel_error(g.dbeta, tensor_of(r["dbeta"])) < tol);
  }
  {
    const auto& r = ref["swiglu"];
    const auto g = swiglu_backward(tensor_of(r["gate"]), tensor_of(r["up"]), tensor_of(r["dy"]));
    CHECK(rel_error(g.dgate, tensor_of(r["dgate"])) < tol);
    CHECK(rel_error(g.dup, tensor_of(r["dup"])) < tol);
  }
  {
    const auto& r = ref["rope"];
    RopeSpec spec;
    spec.position_offset = r["position_offset"].get<Index>();
    CHECK(rel_error(rope_rotate(tensor_of(r["x"]), spec, +1), tensor_of(r["y"])) < tol);
    CHECK(rel_error(rope_backward(tensor_of(r["dy"]), spec), tensor_of(r["dx"])) < tol);
  }
  {
    const auto& r = ref["attention"];
    AttentionSpec spec;
    spec.causal = true;
    const TensorD q = tensor_of(r["q"]), k = tensor_of(r["k"]), v = tensor_of(r["v"]);
    CHECK(rel_error(attention_forward_exact(q, k, v, spec), tensor_of(r["y"])) < tol);
    for (Index block : {0, 2}) {
      const auto g = attention_backward(q, k, v, tensor_of(r["dy"]), spec, block);
      CHECK(rel_error(g.dq, tensor_of(r["dq"])) < tol);
      CHECK(rel_error(g.dk, tensor_of(r["dk"])) < tol);
      CHECK(rel_error(g.dv, tensor_of(r["dv"])) < tol);
    }
  }
}
