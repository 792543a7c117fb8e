// The trainer's numerics options (models/train/README.md): GptConfig::gelu = tanh_f32
// (float32 GELU operations instead of the float64 formula) and GptConfig::attention = blas
// (float32 OpenBLAS attention instead of the bit-defined kernels). For each: losses close to
// the default's but not its bits, thread-count independence, bit-identical resumption, a
// default run refusing the option's checkpoint; then each option's names and description.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <tbb/global_control.h>

#include "models/train/corpus.hpp"
#include "models/train/gpt.hpp"
#include "models/train/trainer.hpp"
#include "temp_file.hpp"

using namespace bitsim::models::train;
using bitsim::sim::GeluApprox;

namespace {

// One option: its name, how it sets a model to the default or to the alternative numerics,
// and the tiny run's seed.
struct NumericsOption {
  const char* name;
  void (*set)(GptConfig&, bool alternative);
  std::uint64_t seed;
};

const NumericsOption kOptions[] = {
    {"gelu tanh_f32", [](GptConfig& m, bool alt) { m.gelu = alt ? GeluApprox::tanh_f32 : GeluApprox::tanh; }, 3},
    {"attention blas", [](GptConfig& m, bool alt) { m.attention = alt ? AttentionImpl::blas : AttentionImpl::exact; }, 5},
};

TrainConfig tiny(const NumericsOption& option, bool alternative, std::int64_t steps) {
  TrainConfig c;
  c.model = {256, 32, 32, 1, 4};
  option.set(c.model, alternative);
  c.optimizer.lr = 1e-2;
  c.optimizer.warmup = 2;
  c.steps = steps;
  c.batch = 4;
  c.seq = 32;
  c.seed = option.seed;
  return c;
}

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("numerics options: the default's losses to ~1e-4, not its bits; same on 1 and 2 threads") {
  const Corpus corpus = builtin_corpus();
  for (const NumericsOption& option : kOptions) {
    CAPTURE(option.name);
    const auto reference = train(tiny(option, false, 4), corpus);
    std::vector<double> first;
    for (int threads : {1, 2}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      const auto run = train(tiny(option, true, 4), corpus);
      REQUIRE(run.log.size() == reference.log.size());
      bool any_bit_differs = false;
      for (std::size_t i = 0; i < run.log.size(); ++i) {
        CAPTURE(i);
        CHECK(std::fabs(run.log[i].train_loss - reference.log[i].train_loss) < 1e-4);
        any_bit_differs = any_bit_differs || !same_double(run.log[i].train_loss, reference.log[i].train_loss);
      }
      CHECK(any_bit_differs);  // the option does change the numerics
      std::vector<double> losses;
      for (const auto& row : run.log) losses.push_back(row.train_loss);
      if (threads == 1) first = losses;
      else CHECK(std::memcmp(losses.data(), first.data(), losses.size() * sizeof(double)) == 0);
    }
  }
}

TEST_CASE("numerics options: a resumed run equals the uninterrupted run bit for bit") {
  const Corpus corpus = builtin_corpus();
  for (const NumericsOption& option : kOptions) {
    CAPTURE(option.name);
    const TrainConfig c = tiny(option, true, 4);
    const auto whole = train(c, corpus);
    const bitsim::test::TempFile file(std::vector<std::uint8_t>{}, ".safetensors");
    std::filesystem::remove(file.path());
    std::atomic<bool> stop{false};
    Checkpointing ck;
    ck.path = file.path();
    ck.stop = &stop;
    ck.resume = true;
    CHECK(train(c, corpus, [&](const LogRow& row) { stop = row.step == 1; }, ck).interrupted);
    stop = false;
    const auto rest = train(c, corpus, {}, ck);
    REQUIRE(rest.log.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) CHECK(same_double(rest.log[i].train_loss, whole.log[2 + i].train_loss));
    for (std::size_t i = 0; i < whole.model.parameters().size(); ++i)
      CHECK(rest.model.parameters()[i].value.to_vector() == whole.model.parameters()[i].value.to_vector());
    // A default run refuses the option's checkpoint (different numerics, different run).
    CHECK_THROWS_AS(train(tiny(option, false, 4), corpus, {}, ck), std::invalid_argument);
  }
}

TEST_CASE("gelu option: names, the run description, bad values") {
  CHECK(parse_gelu("tanh") == GeluApprox::tanh);
  CHECK(parse_gelu("tanh_f32") == GeluApprox::tanh_f32);
  CHECK(gelu_name(GeluApprox::tanh_f32) == "tanh_f32");
  CHECK_THROWS_WITH_AS(parse_gelu("erf"), doctest::Contains("valid: tanh"), std::invalid_argument);
  // The default's description is what it was before the option existed (old checkpoints resume).
  CHECK(describe(tiny(kOptions[0], false, 4)).find("gelu") == std::string::npos);
  CHECK(describe(tiny(kOptions[0], true, 4)).find("gelu=tanh_f32") != std::string::npos);
  GptConfig erf;
  erf.gelu = GeluApprox::erf;
  CHECK_THROWS_AS(erf.validate(), std::invalid_argument);
}

TEST_CASE("attention option: names, the run description, bad values") {
  CHECK(parse_attention("exact") == AttentionImpl::exact);
  CHECK(parse_attention("blas") == AttentionImpl::blas);
  CHECK(attention_name(AttentionImpl::blas) == "blas");
  CHECK(attention_name(AttentionImpl::exact) == "exact");
  CHECK_THROWS_WITH_AS(parse_attention("flash"), doctest::Contains("valid: exact"), std::invalid_argument);
  CHECK(describe(tiny(kOptions[1], false, 4)).find("attention") == std::string::npos);
  CHECK(describe(tiny(kOptions[1], true, 4)).find("attention=blas") != std::string::npos);
  GptConfig bad;
  bad.attention = static_cast<AttentionImpl>(7);
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
}
