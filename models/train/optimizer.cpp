#include "models/train/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>
#include <vector>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

namespace bitsim::models::train {

namespace {

// The float64 update of n elements into `next` (moments updated in place): loops without
// calls, which the compiler vectorises (this file is compiled with -fno-math-errno, so
// sqrt is one instruction; it is correctly rounded either way, so the values are those
// of a plain loop).
void adamw_update(Index n, const float* __restrict g, const float* __restrict w, float* __restrict m,
                  float* __restrict v, double* __restrict next, double g_factor, double b1, double b2, double eps,
                  double bc1, double bc2, double decay, double lr) {
  for (Index j = 0; j < n; ++j) {
    const double grad = g[j] * g_factor;
    m[j] = static_cast<float>(b1 * m[j] + (1 - b1) * grad);
    v[j] = static_cast<float>(b2 * v[j] + (1 - b2) * grad * grad);
    const double update = (m[j] / bc1) / (std::sqrt(v[j] / bc2) + eps) + decay * w[j];
    next[j] = static_cast<double>(w[j]) - lr * update;
  }
}

void sgd_update(Index n, const float* __restrict g, const float* __restrict w, float* __restrict m,
                double* __restrict next, double g_factor, double mu, double decay, double lr) {
  for (Index j = 0; j < n; ++j) {
    const double grad = g[j] * g_factor;
    m[j] = static_cast<float>(mu * m[j] + grad);
    next[j] = static_cast<double>(w[j]) - lr * (m[j] + decay * w[j]);
  }
}

}  // namespace

double learning_rate(const OptimizerSpec& s, std::int64_t step, std::int64_t total) {
  if (step < s.warmup) return s.lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup);
  const double lo = s.lr * s.min_lr_ratio;
  const double span = static_cast<double>(std::max<std::int64_t>(1, total - s.warmup));
  switch (s.schedule) {
    case ScheduleKind::constant: return s.lr;
    case ScheduleKind::cosine: {
      const double p = std::min(1.0, static_cast<double>(step - s.warmup) / span);
      return lo + (s.lr - lo) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
    }
    case ScheduleKind::wsd: {
      const std::int64_t decay = s.decay_steps > 0 ? s.decay_steps : std::max<std::int64_t>(1, total / 5);
      const std::int64_t start = total - decay;
      if (step < start) return s.lr;
      const double p = std::min(1.0, static_cast<double>(step - start) / static_cast<double>(decay));
      return s.lr + (lo - s.lr) * p;
    }
  }
  return s.lr;
}

Optimizer::Optimizer(const OptimizerSpec& spec, const MasterWeights& master, const LossScaling& scaling,
                     const Gpt& model)
    : spec_(spec), master_(master), scaling_(scaling) {
  if (!(spec.lr > 0) || spec.warmup < 0 || !(spec.clip >= 0) || !(scaling.scale > 0))
    throw std::invalid_argument("optimizer: lr and the loss scale must be positive, warmup and clip >= 0");
  for (const auto& p : model.parameters()) {
    m_.emplace_back(p.value.shape());
    if (spec.kind == OptimizerKind::adamw) v_.emplace_back(p.value.shape());
  }
}

void Optimizer::round_master(Gpt& model) const {
  if (!master_.format) return;
  for (auto& p : model.parameters())
    for (auto& w : p.value.span()) w = master_.format->round(w);  // nearest: initial values
}

void Optimizer::restore(const State& state) {
  auto same = [](const std::vector<TensorF>& a, const std::vector<TensorF>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a[i].shape() != b[i].shape()) return false;
    return true;
  };
  if (!same(state.m, m_) || !same(state.v, v_))
    throw std::invalid_argument("optimizer state does not match the model and optimizer kind");
  for (std::size_t i = 0; i < m_.size(); ++i) m_[i] = state.m[i].clone();
  for (std::size_t i = 0; i < v_.size(); ++i) v_[i] = state.v[i].clone();
  scaling_.scale = state.loss_scale;
  clean_steps_ = state.clean_steps;
}

Optimizer::StepInfo Optimizer::step(Gpt& model, std::int64_t step, std::int64_t total) {
  StepInfo info;
  info.loss_scale = scaling_.scale;
  info.lr = learning_rate(spec_, step, total);
  auto& params = model.parameters();
  // Global norm of the unscaled gradients, summed in parameter and element order.
  const double unscale = 1.0 / scaling_.scale;
  double sq = 0.0;
  for (const auto& p : params)
    for (float g : p.grad.span()) sq += (g * unscale) * (g * unscale);
  info.grad_norm = std::sqrt(sq);
  if (!std::isfinite(info.grad_norm)) {
    info.skipped = true;
    if (scaling_.dynamic) scaling_.scale *= 0.5;
    clean_steps_ = 0;
    return info;
  }
  if (scaling_.dynamic && ++clean_steps_ >= scaling_.growth_interval) {
    scaling_.scale *= 2.0;
    clean_steps_ = 0;
  }
  const double clip = spec_.clip > 0 && info.grad_norm > spec_.clip ? spec_.clip / info.grad_norm : 1.0;
  const double g_factor = unscale * clip;
  const double t = static_cast<double>(step + 1);
  const double bc1 = 1.0 - std::pow(spec_.beta1, t), bc2 = 1.0 - std::pow(spec_.beta2, t);
  const formats::RandomStream rng{master_.seed, static_cast<std::uint64_t>(step)};
  std::uint64_t element = 0;
  constexpr Index kChunk = 4096;  // elements per parallel task; each element's update is independent
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto& p = params[i];
    const Index n = p.value.numel();
    const float* g = p.grad.data();
    float* w = p.value.data();
    float* m = m_[i].data();
    float* v = spec_.kind == OptimizerKind::adamw ? v_[i].data() : nullptr;
    const double decay = p.decay ? spec_.weight_decay : 0.0, lr = info.lr;
    const std::uint64_t first = element;
    // Per chunk the float64 updates first, then the rounding of the new weights; per element
    // the operations are those of one loop, so neither the chunking nor the thread count
    // changes a bit.
    tbb::parallel_for(tbb::blocked_range<Index>(0, (n + kChunk - 1) / kChunk), [&](const tbb::blocked_range<Index>& r) {
      std::vector<double> next(static_cast<std::size_t>(std::min(n, kChunk)));
      for (Index c = r.begin(); c != r.end(); ++c) {
        const Index b = c * kChunk, len = std::min(n, b + kChunk) - b;
        if (v)
          adamw_update(len, g + b, w + b, m + b, v + b, next.data(), g_factor, spec_.beta1, spec_.beta2, spec_.eps,
                       bc1, bc2, decay, lr);
        else
          sgd_update(len, g + b, w + b, m + b, next.data(), g_factor, spec_.momentum, decay, lr);
        if (master_.format) {
          for (Index j = 0; j < len; ++j)
            w[b + j] = static_cast<float>(
                master_.format->round(next[j], master_.rounding, rng, first + static_cast<std::uint64_t>(b + j)));
        } else {
          for (Index j = 0; j < len; ++j) w[b + j] = static_cast<float>(next[j]);
        }
      }
    });
    element += static_cast<std::uint64_t>(n);
  }
  return info;
}

}  // namespace bitsim::models::train
