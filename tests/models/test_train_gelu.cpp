// The trainer's GELU numerics option (GptConfig::gelu, models/train/README.md): tanh_f32
// (float32 operations) against the default float64 formula, thread-count independence and
// bit-identical resumption with it, and the option's names.
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

TrainConfig tiny(GeluApprox gelu, std::int64_t steps) {
  TrainConfig c;
  c.model = {256, 32, 32, 1, 4};
  c.model.gelu = gelu;
  c.optimizer.lr = 1e-2;
  c.optimizer.warmup = 2;
  c.steps = steps;
  c.batch = 4;
  c.seq = 32;
  c.seed = 3;
  return c;
}

bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

}  // namespace

TEST_CASE("gelu tanh_f32: the float64 GELU's losses to ~1e-5, not its bits; same on 1 and 2 threads") {
  const Corpus corpus = builtin_corpus();
  const auto f64 = train(tiny(GeluApprox::tanh, 4), corpus);
  std::vector<double> first;
  for (int threads : {1, 2}) {
    tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
    const auto f32 = train(tiny(GeluApprox::tanh_f32, 4), corpus);
    REQUIRE(f32.log.size() == f64.log.size());
    bool any_bit_differs = false;
    for (std::size_t i = 0; i < f32.log.size(); ++i) {
      CAPTURE(i);
      CHECK(std::fabs(f32.log[i].train_loss - f64.log[i].train_loss) < 1e-4);
      any_bit_differs = any_bit_differs || !same_double(f32.log[i].train_loss, f64.log[i].train_loss);
    }
    CHECK(any_bit_differs);  // the option does change the numerics
    std::vector<double> losses;
    for (const auto& row : f32.log) losses.push_back(row.train_loss);
    if (threads == 1) first = losses;
    else CHECK(std::memcmp(losses.data(), first.data(), losses.size() * sizeof(double)) == 0);
  }
}

TEST_CASE("gelu tanh_f32: a resumed run equals the uninterrupted run bit for bit") {
  const Corpus corpus = builtin_corpus();
  const TrainConfig c = tiny(GeluApprox::tanh_f32, 4);
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
  // The float64 run refuses a tanh_f32 checkpoint (different numerics, different run).
  CHECK_THROWS_AS(train(tiny(GeluApprox::tanh, 4), corpus, {}, ck), std::invalid_argument);
}

TEST_CASE("gelu option: names, the run description, bad values") {
  CHECK(parse_gelu("tanh") == GeluApprox::tanh);
  CHECK(parse_gelu("tanh_f32") == GeluApprox::tanh_f32);
  CHECK(gelu_name(GeluApprox::tanh_f32) == "tanh_f32");
  CHECK_THROWS_WITH_AS(parse_gelu("erf"), doctest::Contains("valid: tanh"), std::invalid_argument);
  // The default's description is what it was before the option existed (old checkpoints resume).
  CHECK(describe(tiny(GeluApprox::tanh, 4)).find("gelu") == std::string::npos);
  CHECK(describe(tiny(GeluApprox::tanh_f32, 4)).find("gelu=tanh_f32") != std::string::npos);
  GptConfig erf;
  erf.gelu = GeluApprox::erf;
  CHECK_THROWS_AS(erf.validate(), std::invalid_argument);
}
