#pragma once
// The training loop: batches from a Corpus, the GPT's forward/backward under a Recipe, an
// Optimizer step, and a log row per step (validation loss every eval_every steps and at
// the last step). Same config and seed -> bit-identical losses and weights on any
// thread count (every kernel is deterministic; the data order is keyed by the seed).
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <functional>
#include <limits>
#include <vector>

#include "models/train/corpus.hpp"
#include "models/train/gpt.hpp"
#include "models/train/optimizer.hpp"
#include "models/train/recipe.hpp"

namespace bitsim::models::train {

struct TrainConfig {
  GptConfig model;
  Recipe recipe;
  OptimizerSpec optimizer;
  MasterWeights master;
  LossScaling scaling;
  std::int64_t steps = 100;
  Index batch = 8;
  Index seq = 64;             // tokens per sequence (<= model.context)
  std::uint64_t seed = 0;     // initialisation, data order
  std::int64_t eval_every = 0;  // 0: only after the last step
  Index eval_windows = 16;
};

struct LogRow {
  std::int64_t step = 0;
  std::int64_t tokens = 0;  // training tokens seen after this step
  double train_loss = 0;
  double val_loss = std::numeric_limits<double>::quiet_NaN();  // NaN when not evaluated
  double grad_norm = 0, lr = 0, loss_scale = 1;
  bool skipped = false;
};

struct TrainResult {
  Gpt model;
  std::vector<LogRow> log;       // the steps run by this call
  std::int64_t first_step = 0;   // > 0 when resumed
  bool interrupted = false;      // stopped by Checkpointing::stop (checkpoint saved)
  AmaxHistory amax;              // delayed scaling's state after the last step (empty otherwise)
};

// Periodic, resumable checkpoints (model + optimizer state, checkpoint.hpp). A resumed run
// continues bit for bit as if never interrupted: the data order, stochastic seeds and
// schedule are functions of the step, and the optimizer state is stored exactly.
struct Checkpointing {
  std::string path;               // empty: no checkpoints
  std::int64_t every = 0;         // also after every N steps (0: only at the end / on stop)
  bool resume = false;            // continue from `path` when it exists
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT): save and return
  std::map<std::string, std::string> metadata;  // added to every checkpoint
};

TrainResult train(const TrainConfig& config, const Corpus& corpus,
                  const std::function<void(const LogRow&)>& on_step = {}, const Checkpointing& checkpoints = {});

// Every setting that changes the trajectory, as one line (stored in checkpoints and
// compared on resume).
std::string describe(const TrainConfig& config);

// Mean validation loss of `model` over the corpus's fixed validation windows.
// A delayed-scaling recipe uses `amax` (read only) when given, current scaling otherwise.
double validation_loss(Gpt& model, const Corpus& corpus, Index windows, Index seq, const Recipe& recipe,
                       AmaxHistory* amax = nullptr);

}  // namespace bitsim::models::train
