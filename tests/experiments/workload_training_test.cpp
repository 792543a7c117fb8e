// The `training` workload (experiments/workloads/training.cpp): config errors, the metrics
// against a direct models/train run, points sharing one training run across the `ptq`
// axis, and identical results files on 1 and 2 threads (points in parallel).
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/runner.hpp"
#include "models/train/recipe.hpp"
#include "models/train/trainer.hpp"
#include "sim/quant/quantize.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/experiments/tiny_training_study.hpp"
#include "tests/support/quiet_run.hpp"

using namespace bitsim::experiments;
namespace tr = bitsim::models::train;
namespace fs = std::filesystem;
using bitsim::testing::quiet_run;
using bitsim::testing::TempDir;

namespace {

// A tiny study: 2 recipes x 2 token budgets x 3 PTQ specs, 12 points, 4 trainings of
// 4 to 8 steps of a d = 16, 1-layer GPT on the built-in text.
const std::string kTiny = bitsim::testing::tiny_training_study(
    "tiny_training", "", "[none, \"int8:per_group(16)\", \"int2:per_group(16)\"]");

std::string error_of(const std::string& text) {
  try {
    (void)parse_experiment(text, "bad.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

double real(const Cell& c) { return std::holds_alternative<double>(c) ? std::get<double>(c) : double(std::get<std::int64_t>(c)); }

// Column position of a metric in a results row.
std::size_t column(const ResultsTable& t, const std::string& name) {
  for (std::size_t i = 0; i < t.columns.size(); ++i)
    if (t.columns[i].name == name) return i;
  FAIL("no column " << name);
  return 0;
}

}  // namespace

TEST_CASE("training workload: config errors name the problem and the choices") {
  const std::string head = "name: t\nworkload:\n  kind: training\n  data: builtin\n";
  CHECK(error_of(head + "sweep:\n  recipe: [fp33]\n").find("fake:QUANTSPEC") != std::string::npos);
  CHECK(error_of(head + "sweep:\n  recipe: [fp33]\n").find("bad.yaml:6:") != std::string::npos);
  CHECK(error_of(head + "sweep:\n  recipe: [\"fake:fp<e=2>\"]\n").find("fake:fp<e=2>") != std::string::npos);
  CHECK(error_of(head + "sweep:\n  ptq: [int33]\n").find("int33") != std::string::npos);
  CHECK(error_of(head + "sweep:\n  tokens: [0]\n").find("minimum") != std::string::npos);
  // The attention numerics parameter (exact | blas).
  CHECK(error_of(head + "  attention: flash\nsweep: {}\n").find("valid: exact") != std::string::npos);
  CHECK(error_of(head + "  attention: blas\nsweep: {}\n") == "");
  CHECK(error_of(head + "  attention: exact\nsweep: {}\n") == "");
  CHECK(error_of(head + "  warmup: 2\nsweep: {}\n").find("fraction") != std::string::npos);
  CHECK(error_of(head + "  accum: order=nope\nsweep: {}\n") != "");
  CHECK(error_of(head + "  stepz: 3\nsweep: {}\n").find("stepz") != std::string::npos);
  CHECK(error_of(head + "sweep:\n  weights: [bf16]\n").find("weights") != std::string::npos);
  CHECK(error_of(kTiny) == "");
  // A width the heads do not divide is refused when the point is built.
  const auto config = parse_experiment(head + "  heads: 3\nsweep:\n  d_model: 16\n", "bad.yaml");
  const auto evaluator = make_evaluator(config);
  CHECK_THROWS_WITH_AS(evaluator->evaluate(expand_grid(config).front()), doctest::Contains("heads"), std::invalid_argument);
}

TEST_CASE("recipe: fake:SPEC quantizes every GEMM operand, fake_fwd:SPEC the forward only") {
  const auto all = tr::Recipe::parse("fake:fp<e=3,m=4,specials=none>:per_group(32)");
  CHECK(all.linear.forward.operands.a == bitsim::sim::parse_quant_spec("fp<e=3,m=4,specials=none>:per_group(32)"));
  CHECK(all.linear.weight_grad.operands.b == all.linear.forward.operands.a);
  CHECK(all.linear.input_grad.operands.a == all.linear.forward.operands.a);
  CHECK(all.head.forward.operands.a.is_identity());
  CHECK(all.forward_bits() == 8);
  const auto fwd = tr::Recipe::parse("fake_fwd:int4:per_group(32)");
  CHECK(fwd.linear.forward.operands.b.format == "int4");
  CHECK(fwd.linear.input_grad.operands.a.is_identity());
  CHECK(fwd.linear.weight_grad.operands.b.is_identity());
  CHECK(fwd.forward_bits() == 4);
  CHECK(tr::Recipe::parse("fp8").forward_bits() == 8);
  CHECK(tr::Recipe::parse("fp32").forward_bits() == 32);
  CHECK(tr::Recipe::parse("nvfp4").forward_bits() == 4);
  // The canonical spelling names the recipe, so equal recipes get equal names.
  CHECK(tr::Recipe::parse(all.name).name == all.name);
  CHECK_THROWS_WITH_AS(tr::Recipe::parse("fp33"), doctest::Contains("fake:QUANTSPEC"), std::invalid_argument);
}

TEST_CASE("training workload: metrics equal a direct training run; ptq points share it") {
  const auto config = parse_experiment(kTiny, "tiny.yaml");
  const auto grid = expand_grid(config);
  REQUIRE(grid.size() == 12);
  const auto evaluator = make_evaluator(config);
  std::vector<std::vector<double>> rows;
  for (const auto& p : grid) {
    const auto cells = evaluator->evaluate(p).cells;
    std::vector<double> row;
    for (const auto& c : cells) row.push_back(real(c));
    rows.push_back(row);
  }
  const auto& m = config.metrics;
  auto at = [&](std::size_t point, const std::string& name) {
    const auto it = std::find(m.begin(), m.end(), name);
    REQUIRE(it != m.end());
    return rows[point][std::size_t(it - m.begin())];
  };

  // Point 3: fp32, 512 tokens, no PTQ. The same run through models/train directly.
  tr::TrainConfig t;
  t.model = {256, 16, 16, 1, 2};
  t.recipe = tr::Recipe::preset("fp32");
  t.seq = 16;
  t.batch = 4;
  t.steps = 512 / 64;
  t.optimizer.warmup = 1;  // 10% of 8 steps, rounded, at least 1
  t.eval_windows = 4;
  t.seed = 3;
  const auto corpus = tr::builtin_corpus();
  const auto direct = tr::train(t, corpus);
  CHECK(at(3, "val_loss") == direct.log.back().val_loss);
  CHECK(at(3, "train_loss") == direct.log.back().train_loss);
  CHECK(at(3, "params_n") == double(t.model.non_embedding_parameters()));
  CHECK(at(3, "tokens_d") == 512);
  CHECK(at(3, "steps") == 8);
  // 512 tokens over the built-in text's training split (~1 KB): D is a fraction of it.
  REQUIRE(!corpus.train.empty());
  CHECK(at(3, "epochs") == 512.0 / double(corpus.train.size()));
  CHECK(at(3, "bits_per_byte") == doctest::Approx(at(3, "val_loss") / std::log(2.0)));
  CHECK(at(3, "train_bits") == 32);
  CHECK(at(3, "delta_ptq") == 0);
  // Point 5: the same model, int2 weights: its loss is the direct model's after quantizing
  // the block-linear weights by hand.
  auto copy = direct.model;
  std::uint64_t id = 0;
  for (auto& p : copy.parameters()) {
    p.value = p.conv1d ? bitsim::sim::fake_quantize(p.value, bitsim::sim::parse_quant_spec("int2:per_group(16)"), id)
                       : p.value.clone();
    ++id;
  }
  CHECK(at(5, "ptq_val_loss") == tr::validation_loss(copy, corpus, 4, 16, t.recipe));
  CHECK(at(5, "ptq_bits") == 2);
  for (std::size_t base = 0; base < 12; base += 3) {
    CAPTURE(base);
    // The three ptq points of one training share its losses.
    CHECK(at(base + 1, "val_loss") == at(base, "val_loss"));
    CHECK(at(base + 2, "train_loss") == at(base, "train_loss"));
    // 2-bit weights hurt more than 8-bit ones.
    CHECK(at(base + 2, "delta_ptq") > std::abs(at(base + 1, "delta_ptq")));
  }
  // The E2M1 recipe's layout.
  CHECK(at(6, "train_e") == 2);
  CHECK(at(6, "train_m") == 1);
  CHECK(at(6, "train_group") == 16);
  CHECK(at(6, "train_bits") == 4);
}

TEST_CASE("training workload: the results file is the same on 1 and 2 threads; checkpoints") {
  TempDir dir;
  const fs::path file = dir.path / "tiny.yaml";
  // With a checkpoint folder: one file per training (4), whichever point trains it.
  std::string text = kTiny;
  text.insert(text.find("sweep:"), "  checkpoints: saved\n");
  const auto config = parse_experiment(text, file);
  run_experiment(config, quiet_run(dir.path / "one.h5", 1));
  run_experiment(config, quiet_run(dir.path / "two.h5", 2));
  const auto a = read_results(dir.path / "one.h5"), b = read_results(dir.path / "two.h5");
  REQUIRE(a.rows.size() == 12);
  REQUIRE(b.rows.size() == 12);
  const auto val = column(a, "val_loss");
  for (std::size_t r = 0; r < a.rows.size(); ++r) {
    REQUIRE(a.rows[r].cells.size() == b.rows[r].cells.size());
    for (std::size_t c = 0; c < a.rows[r].cells.size(); ++c) {
      const auto &u = a.rows[r].cells[c], &v = b.rows[r].cells[c];
      REQUIRE(u.index() == v.index());
      if (const auto* d = std::get_if<double>(&u)) CHECK(std::bit_cast<std::uint64_t>(*d) == std::bit_cast<std::uint64_t>(std::get<double>(v)));
      else CHECK(u == v);
    }
    CHECK(std::isfinite(real(a.rows[r].cells[val])));
  }
  std::size_t saved = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "saved")) saved += e.path().extension() == ".safetensors";
  CHECK(saved == 4);
}

TEST_CASE("training workload: plan's cost model") {
  const auto config = parse_experiment(kTiny, "tiny.yaml");
  const auto* w = find_workload("training");
  REQUIRE(w != nullptr);
  const auto grid = expand_grid(config);
  // More tokens cost more; a later ptq value of one training costs only its evaluation.
  CHECK(w->estimate_seconds(config, grid[3]) > w->estimate_seconds(config, grid[0]));
  CHECK(w->estimate_seconds(config, grid[1]) < w->estimate_seconds(config, grid[0]));
}
