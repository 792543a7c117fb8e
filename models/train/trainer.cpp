#include "models/train/trainer.hpp"

#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "models/train/checkpoint.hpp"

namespace bitsim::models::train {

double validation_loss(Gpt& model, const Corpus& corpus, Index windows, Index seq, const Recipe& recipe,
                       AmaxHistory* amax) {
  const auto tokens = corpus.validation_windows(windows, seq);
  return model.loss(tokens, windows, recipe, 0, false, 1.0, amax);
}

std::string describe(const TrainConfig& c) {
  std::ostringstream o;
  o.precision(17);
  o << "vocab=" << c.model.vocab << " context=" << c.model.context << " d=" << c.model.d_model
    << " layers=" << c.model.layers << " heads=" << c.model.heads << " recipe=" << c.recipe.name << " accum=" << c.recipe.linear.forward.accum.to_string()
    << " optimizer=" << (c.optimizer.kind == OptimizerKind::adamw ? "adamw" : "sgd") << " lr=" << c.optimizer.lr
    << " min_lr_ratio=" << c.optimizer.min_lr_ratio << " betas=" << c.optimizer.beta1 << "," << c.optimizer.beta2
    << " eps=" << c.optimizer.eps << " momentum=" << c.optimizer.momentum << " wd=" << c.optimizer.weight_decay
    << " clip=" << c.optimizer.clip << " schedule=" << static_cast<int>(c.optimizer.schedule)
    << " warmup=" << c.optimizer.warmup << " decay_steps=" << c.optimizer.decay_steps
    << " master=" << c.master.to_string() << " master_seed=" << c.master.seed
    << " loss_scale=" << c.scaling.scale << (c.scaling.dynamic ? " dynamic" : " static")
    << " growth=" << c.scaling.growth_interval << " steps=" << c.steps << " batch=" << c.batch << " seq=" << c.seq
    << " seed=" << c.seed;
  if (c.model.gelu != sim::GeluApprox::tanh) o << " gelu=" << gelu_name(c.model.gelu);  // default: as before
  if (c.model.attention != AttentionImpl::exact) o << " attention=" << attention_name(c.model.attention);
  return o.str();
}

TrainResult train(const TrainConfig& config, const Corpus& corpus, const std::function<void(const LogRow&)>& on_step,
                  const Checkpointing& ck) {
  if (config.steps < 1 || config.batch < 1 || config.seq < 1 || config.seq > config.model.context)
    throw std::invalid_argument("train: steps and batch must be >= 1 and seq in [1, context = " +
                                std::to_string(config.model.context) + "]");
  if (corpus.vocab_size > config.model.vocab)
    throw std::invalid_argument("train: the corpus's tokenizer " + corpus.tokenizer + " has " +
                                std::to_string(corpus.vocab_size) + " tokens, more than the model's vocab " +
                                std::to_string(config.model.vocab));
  // The weight-gradient GEMM reduces over the batch's tokens: a Hadamard transform there
  // needs its block to divide batch * seq.
  for (const auto* q : {&config.recipe.linear.weight_grad.operands.a, &config.recipe.linear.weight_grad.operands.b})
    if (q->transform.kind != sim::TransformKind::none && q->transform.block > 0 &&
        (config.batch * config.seq) % q->transform.block != 0)
      throw std::invalid_argument("train: recipe " + config.recipe.name + " applies a " +
                                  std::to_string(q->transform.block) +
                                  "-point Hadamard transform over the batch's tokens; batch * seq (" +
                                  std::to_string(config.batch * config.seq) + ") must be a multiple of it");
  const std::string run = describe(config);
  TrainResult result{Gpt(config.model, config.seed), {}, 0, false, AmaxHistory(config.recipe.amax_history)};
  Optimizer opt(config.optimizer, config.master, config.scaling, result.model);
  opt.round_master(result.model);
  if (ck.resume && !ck.path.empty() && std::filesystem::exists(ck.path)) {
    const auto meta = read_checkpoint_metadata(ck.path);
    const auto stored = meta.find("train.config");
    if (stored == meta.end() || stored->second != run)
      throw std::invalid_argument("cannot resume from '" + ck.path + "': it was written by a different run (" +
                                  (stored == meta.end() ? std::string("no train.config") : stored->second) +
                                  ") than this one (" + run + ")");
    result.first_step = std::stoll(meta.at("train.next_step"));
    // The stored weights into this run's model (its numerics options, e.g. gelu, are the config's).
    const Gpt weights = read_checkpoint(ck.path);
    for (std::size_t i = 0; i < weights.parameters().size(); ++i)
      result.model.parameters()[i].value = weights.parameters()[i].value;
    opt.restore(read_optimizer_state(ck.path, result.model, config.optimizer.kind == OptimizerKind::adamw));
    if (const auto h = meta.find("train.amax_history"); h != meta.end())
      result.amax = AmaxHistory::parse(config.recipe.amax_history, h->second);
  }
  auto save = [&](std::int64_t next_step) {
    if (ck.path.empty()) return;
    auto meta = ck.metadata;
    meta["train.config"] = run;
    meta["train.next_step"] = std::to_string(next_step);
    if (config.recipe.amax_history > 0) meta["train.amax_history"] = result.amax.serialize();
    const auto state = opt.state();
    write_checkpoint(ck.path, result.model, meta, &state);
  };
  for (std::int64_t s = result.first_step; s < config.steps; ++s) {
    const auto tokens = corpus.batch(config.seed, static_cast<std::uint64_t>(s), config.batch, config.seq);
    LogRow row;
    row.step = s;
    row.tokens = (s + 1) * config.batch * config.seq;
    const double scale = opt.loss_scale();
    row.train_loss = result.model.loss(tokens, config.batch, config.recipe, static_cast<std::uint64_t>(s), true, scale,
                                       &result.amax);
    const auto info = opt.step(result.model, s, config.steps);
    row.grad_norm = info.grad_norm;
    row.lr = info.lr;
    row.loss_scale = info.loss_scale;
    row.skipped = info.skipped;
    const bool last = s + 1 == config.steps;
    if (last || (config.eval_every > 0 && (s + 1) % config.eval_every == 0))
      row.val_loss = validation_loss(result.model, corpus, config.eval_windows, config.seq, config.recipe, &result.amax);
    result.log.push_back(row);
    if (on_step) on_step(row);
    const bool stop = ck.stop && ck.stop->load();
    if (last || stop || (ck.every > 0 && (s + 1) % ck.every == 0)) save(s + 1);
    if (stop && !last) {
      result.interrupted = true;
      break;
    }
  }
  return result;
}

}  // namespace bitsim::models::train
