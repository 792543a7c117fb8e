#pragma once
// Optimisers, learning-rate schedules, gradient clipping, loss scaling and master-weight
// rounding for the GPT trainer. Every update is computed in float64 per element from the
// float32 weight, gradient and moments; the new weight is rounded to float32 and then, if
// the master weights have a format, into it (nearest or stochastic; stochastic rounding
// draws word `element` of RandomStream{master.seed, step}, elements numbered across all
// parameters in order). Moments stay float32. Nothing depends on the thread count.
#include <cstdint>
#include <string>
#include <vector>

#include "models/train/gpt.hpp"
#include "models/train/recipe.hpp"

namespace bitsim::models::train {

enum class OptimizerKind { adamw, sgd };
enum class ScheduleKind { cosine, wsd, constant };

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::adamw;
  double lr = 3e-3;
  double min_lr_ratio = 0.1;  // the schedule ends at lr * min_lr_ratio
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;  // AdamW
  double momentum = 0.9;                         // SGD (heavy ball: v = mu v + g; w -= lr v)
  double weight_decay = 0.1;                     // decoupled, on Parameter::decay tensors
  double clip = 1.0;                             // global gradient-norm clip; 0: off
  ScheduleKind schedule = ScheduleKind::cosine;
  std::int64_t warmup = 10;
  std::int64_t decay_steps = 0;  // wsd: length of the final linear decay (0: 20% of the run)
};

// lr at step s (0-based) of `total` steps:
//   warm-up: lr (s + 1) / warmup for s < warmup;
//   cosine : then min + (lr - min) (1 + cos(pi p)) / 2, p = (s - warmup) / (total - warmup);
//   wsd    : then lr until the last decay_steps steps, then linear down to min;
//   constant: lr after warm-up.
double learning_rate(const OptimizerSpec& spec, std::int64_t step, std::int64_t total);

// Loss scaling: the loss gradient is multiplied by `scale` and the gradients divided by it
// before the update. Dynamic: a step whose gradients hold inf/NaN is skipped and halves
// the scale; `growth_interval` clean steps in a row double it.
struct LossScaling {
  bool dynamic = false;
  double scale = 1.0;
  std::int64_t growth_interval = 200;
};

class Optimizer {
 public:
  Optimizer(const OptimizerSpec& spec, const MasterWeights& master, const LossScaling& scaling, const Gpt& model);

  struct StepInfo {
    double lr = 0, grad_norm = 0, loss_scale = 1;
    bool skipped = false;  // non-finite gradients
  };
  // Unscales, clips and applies the gradients in `model` (step numbering from 0).
  StepInfo step(Gpt& model, std::int64_t step, std::int64_t total);
  double loss_scale() const { return scaling_.scale; }

  // Rounds every weight into the master format (done once at the start).
  void round_master(Gpt& model) const;

  // Everything a resumed run needs to continue bit for bit (checkpoint.hpp stores it).
  struct State {
    std::vector<TensorF> m, v;  // first moments (SGD: momentum buffers), second moments (AdamW)
    double loss_scale = 1;
    std::int64_t clean_steps = 0;
  };
  State state() const { return {m_, v_, scaling_.scale, clean_steps_}; }
  void restore(const State& state);  // throws std::invalid_argument on shape mismatch

 private:
  OptimizerSpec spec_;
  MasterWeights master_;
  LossScaling scaling_;
  std::int64_t clean_steps_ = 0;
  std::vector<TensorF> m_, v_;
};

}  // namespace bitsim::models::train
