#include "sim/grad/attention_grad.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "sim/grad/grad_common.hpp"
#include "sim/kernels/attention_dims.hpp"

namespace bitsim::sim {
namespace {

// The shared dims, the scale and the mask.
struct Dims : AttentionDims {
  double scale = 0;
  bool causal = false;
  bool visible(Index i, Index j) const { return !causal || j <= offset + i; }
};

template <class T>
Dims check(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v, const AttentionSpec& spec) {
  const AttentionDims dims = attention_dims(q, k, v, spec, "attention_backward");
  return {dims, attention_scale(spec, dims.d), spec.causal};
}

template <class T>
std::vector<double> as_double(const Tensor<T>& t) {
  const Tensor<T> c = t.contiguous();
  const auto v = c.span();
  return {v.begin(), v.end()};
}

template <class T>
Tensor<T> to_tensor(const Shape& shape, const std::vector<double>& v) {
  Tensor<T> t(shape);
  for (std::size_t i = 0; i < v.size(); ++i) t.data()[i] = static_cast<T>(v[i]);
  return t;
}

// Scaled score of query row i of head h against key j of kv head g.
double score(const Dims& s, const std::vector<double>& q, const std::vector<double>& k, Index h, Index i, Index g,
             Index j) {
  double dot = 0.0;
  for (Index c = 0; c < s.d; ++c) dot += q[(h * s.Tq + i) * s.d + c] * k[(g * s.Tk + j) * s.d + c];
  return s.scale * dot;
}

// Probabilities of one query row (masked keys 0).
void probability_row(const Dims& s, const std::vector<double>& q, const std::vector<double>& k, Index h, Index i,
                     Index g, std::vector<double>& p) {
  double m = -std::numeric_limits<double>::infinity();
  for (Index j = 0; j < s.Tk; ++j) {
    p[j] = s.visible(i, j) ? score(s, q, k, h, i, g, j) : -std::numeric_limits<double>::infinity();
    m = std::max(m, p[j]);
  }
  double sum = 0.0;
  for (Index j = 0; j < s.Tk; ++j) sum += (p[j] = s.visible(i, j) ? std::exp(p[j] - m) : 0.0);
  for (Index j = 0; j < s.Tk; ++j) p[j] /= sum;
}

// [rows, cols] -> [cols, rows].
std::vector<double> transposed(const double* x, Index rows, Index cols) {
  std::vector<double> t(static_cast<std::size_t>(rows * cols));
  for (Index r = 0; r < rows; ++r)
    for (Index c = 0; c < cols; ++c) t[c * rows + r] = x[r * cols + c];
  return t;
}

bool all_finite(const double* x, Index n) {
  bool finite = true;
  for (Index i = 0; i < n; ++i) finite &= std::isfinite(x[i]);
  return finite;
}

// Every float64 product of the naive backward is fused into the sum it enters (std::fma),
// and its functions are compiled without contraction, so the bits follow from the source
// alone. (Its first implementation left fusing to the compiler: GCC's default
// -ffp-contract=fast fused some products and not others, depending on loop shapes.)
#if defined(__GNUC__) && !defined(__clang__)
#define BITSIM_NO_CONTRACT [[gnu::optimize("fp-contract=off")]]
#else
#define BITSIM_NO_CONTRACT
#endif

// out[j] = x . column j of t ([features, ld]) for j < n, each a chain of fused
// multiply-adds from 0 in feature order: a plain dot product per key, with the keys in
// the vector lanes.
BITSIM_NO_CONTRACT void dots(const double* __restrict x, const double* __restrict t, Index features, Index ld,
                             Index n, double* __restrict out) {
  std::fill_n(out, n, 0.0);
  for (Index c = 0; c < features; ++c) {
    const double xc = x[c];
    const double* row = t + c * ld;
    for (Index j = 0; j < n; ++j) out[j] = std::fma(xc, row[j], out[j]);
  }
}

// Naive backward of query head h (kv head g): per query row the probabilities, the
// rowsum term D and every key's share, in the order of a plain loop over (i, every key j,
// c) (masked keys add exact zeros there, which change no sum), so the result is that
// loop's bit for bit; only the keys the row sees are visited (a prefix under the causal
// mask), and the dot products run for many keys at once. When v or dout hold a
// non-finite value, a masked key's 0 * dp term need not be zero, so D then runs over
// every key as the plain loop does.
BITSIM_NO_CONTRACT void naive_head(const Dims& s, Index h, Index g, const std::vector<double>& Q,
                                   const std::vector<double>& K, const std::vector<double>& dO,
                                   const std::vector<double>& kt, const std::vector<double>& vt, bool finite,
                                   std::vector<double>& dQ, std::vector<double>& dK, std::vector<double>& dV) {
  std::vector<double> p(static_cast<std::size_t>(s.Tk)), dp(static_cast<std::size_t>(s.Tk));
  for (Index i = 0; i < s.Tq; ++i) {
    const Index n = s.causal ? std::clamp<Index>(s.offset + i + 1, 0, s.Tk) : s.Tk;  // keys 0..n-1 visible
    if (n == 0) continue;  // a row that sees no key contributes nothing
    const double* q = &Q[(h * s.Tq + i) * s.d];
    const double* dout = &dO[(h * s.Tq + i) * s.dv];
    dots(q, kt.data(), s.d, s.Tk, n, p.data());
    double m = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < n; ++j) m = std::max(m, p[j] = s.scale * p[j]);
    double sum = 0.0;
    for (Index j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - m));
    for (Index j = 0; j < n; ++j) p[j] /= sum;
    const Index nd = finite ? n : s.Tk;
    for (Index j = n; j < nd; ++j) p[j] = 0.0 / sum;
    dots(dout, vt.data(), s.dv, s.Tk, nd, dp.data());
    double D = 0.0;
    for (Index j = 0; j < nd; ++j) D = std::fma(p[j], dp[j], D);
    double* __restrict dq = &dQ[(h * s.Tq + i) * s.d];
    for (Index j = 0; j < n; ++j) {
      const double pj = p[j], ds = pj * (dp[j] - D) * s.scale;
      const double* __restrict kj = &K[(g * s.Tk + j) * s.d];
      double* __restrict dk = &dK[(g * s.Tk + j) * s.d];
      double* __restrict dv = &dV[(g * s.Tk + j) * s.dv];
      for (Index c = 0; c < s.dv; ++c) dv[c] = std::fma(pj, dout[c], dv[c]);
      for (Index c = 0; c < s.d; ++c) dq[c] = std::fma(ds, kj[c], dq[c]);
      for (Index c = 0; c < s.d; ++c) dk[c] = std::fma(ds, q[c], dk[c]);
    }
  }
}

}  // namespace

template <class T>
Tensor<T> attention_forward_exact(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                  const AttentionSpec& spec) {
  const Dims s = check(q, k, v, spec);
  const auto Q = as_double(q), K = as_double(k), Vv = as_double(v);
  std::vector<double> out(static_cast<std::size_t>(s.H * s.Tq * s.dv), 0.0);
  grad_detail::for_each_row(s.H * s.Tq, s.Tk * (s.d + s.dv), [&](Index row) {
    const Index h = row / s.Tq, i = row % s.Tq, g = h / s.group();
    std::vector<double> p(static_cast<std::size_t>(s.Tk));
    probability_row(s, Q, K, h, i, g, p);
    for (Index j = 0; j < s.Tk; ++j)
      for (Index c = 0; c < s.dv; ++c) out[row * s.dv + c] += p[j] * Vv[(g * s.Tk + j) * s.dv + c];
  });
  return to_tensor<T>({s.H, s.Tq, s.dv}, out);
}

template <class T>
AttentionGrads<T> attention_backward(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v,
                                     const Tensor<T>& dout, const AttentionSpec& spec, Index block_k) {
  const Dims s = check(q, k, v, spec);
  if (dout.shape() != Shape{s.H, s.Tq, s.dv})
    throw std::invalid_argument("attention_backward: dout has shape " + shape_string(dout.shape()) + ", expected " +
                                shape_string({s.H, s.Tq, s.dv}));
  if (block_k < 0) throw std::invalid_argument("attention_backward: block_k must be >= 0 (0: naive)");
  const auto Q = as_double(q), K = as_double(k), Vv = as_double(v), dO = as_double(dout);
  std::vector<double> dQ(Q.size(), 0.0), dK(K.size(), 0.0), dV(Vv.size(), 0.0);
  const Index group = s.group();

  // One kv head at a time (in parallel): its query heads in order, so the sums into
  // dK/dV of that kv head have a fixed order.
  grad_detail::for_each_row(s.Hkv, group * s.Tq * s.Tk * (s.d + s.dv), [&](Index g) {
    std::vector<double> kt, vt;  // kv head g's keys and values as [feature, key]
    bool finite = true;          // v of head g and dout of its query heads
    if (block_k == 0) {
      kt = transposed(&K[g * s.Tk * s.d], s.Tk, s.d);
      vt = transposed(&Vv[g * s.Tk * s.dv], s.Tk, s.dv);
      finite = all_finite(&Vv[g * s.Tk * s.dv], s.Tk * s.dv) &&
               all_finite(&dO[g * group * s.Tq * s.dv], group * s.Tq * s.dv);
    }
    for (Index h = g * group; h < (g + 1) * group; ++h) {
      if (block_k == 0) {
        naive_head(s, h, g, Q, K, dO, kt, vt, finite, dQ, dK, dV);
        continue;
      }
      auto qrow = [&](Index i) { return &Q[(h * s.Tq + i) * s.d]; };
      auto dorow = [&](Index i) { return &dO[(h * s.Tq + i) * s.dv]; };
      auto krow = [&](Index j) { return &K[(g * s.Tk + j) * s.d]; };
      auto vrow = [&](Index j) { return &Vv[(g * s.Tk + j) * s.dv]; };
      // Adds key j's share for query row i, given its probability pij and rowsum term D.
      auto accumulate = [&](Index i, Index j, double pij, double D) {
        double dpij = 0.0;
        for (Index c = 0; c < s.dv; ++c) dpij += dorow(i)[c] * vrow(j)[c];
        const double ds = pij * (dpij - D) * s.scale;
        for (Index c = 0; c < s.dv; ++c) dV[(g * s.Tk + j) * s.dv + c] += pij * dorow(i)[c];
        for (Index c = 0; c < s.d; ++c) {
          dQ[(h * s.Tq + i) * s.d + c] += ds * krow(j)[c];
          dK[(g * s.Tk + j) * s.d + c] += ds * qrow(i)[c];
        }
      };
      // Blocked: pass 1, online softmax per row -> lse and D = dout . O.
      std::vector<double> lse(static_cast<std::size_t>(s.Tq)), Drow(static_cast<std::size_t>(s.Tq));
      std::vector<double> o(static_cast<std::size_t>(s.dv));
      for (Index i = 0; i < s.Tq; ++i) {
        double m = -std::numeric_limits<double>::infinity(), l = 0.0;
        std::fill(o.begin(), o.end(), 0.0);
        for (Index j0 = 0; j0 < s.Tk; j0 += block_k) {
          const Index j1 = std::min(s.Tk, j0 + block_k);
          double mb = m;
          for (Index j = j0; j < j1; ++j)
            if (s.visible(i, j)) mb = std::max(mb, score(s, Q, K, h, i, g, j));
          if (mb == -std::numeric_limits<double>::infinity()) continue;
          const double a = std::exp(m - mb);
          l *= a;
          for (double& x : o) x *= a;
          for (Index j = j0; j < j1; ++j) {
            if (!s.visible(i, j)) continue;
            const double e = std::exp(score(s, Q, K, h, i, g, j) - mb);
            l += e;
            for (Index c = 0; c < s.dv; ++c) o[c] += e * vrow(j)[c];
          }
          m = mb;
        }
        lse[i] = m + std::log(l);
        Drow[i] = 0.0;
        for (Index c = 0; c < s.dv; ++c) Drow[i] += dorow(i)[c] * (o[c] / l);
      }
      // Pass 2: key blocks outer, query rows inner.
      for (Index j0 = 0; j0 < s.Tk; j0 += block_k) {
        const Index j1 = std::min(s.Tk, j0 + block_k);
        for (Index i = 0; i < s.Tq; ++i)
          for (Index j = j0; j < j1; ++j)
            if (s.visible(i, j)) accumulate(i, j, std::exp(score(s, Q, K, h, i, g, j) - lse[i]), Drow[i]);
      }
    }
  });
  return {to_tensor<T>(q.shape(), dQ), to_tensor<T>(k.shape(), dK), to_tensor<T>(v.shape(), dV)};
}

template TensorF attention_forward_exact(const TensorF&, const TensorF&, const TensorF&, const AttentionSpec&);
template TensorD attention_forward_exact(const TensorD&, const TensorD&, const TensorD&, const AttentionSpec&);
template AttentionGrads<float> attention_backward(const TensorF&, const TensorF&, const TensorF&, const TensorF&,
                                                  const AttentionSpec&, Index);
template AttentionGrads<double> attention_backward(const TensorD&, const TensorD&, const TensorD&, const TensorD&,
                                                   const AttentionSpec&, Index);

}  // namespace bitsim::sim
