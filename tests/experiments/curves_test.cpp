// Curves (/curves in the results file): the `training` workload's loss curve per point
// against a direct models/train run, resume after a stop equal to an uninterrupted run
// bit for bit, shards merging to the single run, the MPI point codec, the writer's checks
// of curve rows, and `bitsim report --curves`.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/point_codec.hpp"
#include "experiments/runner/runner.hpp"
#include "models/train/trainer.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/experiments/tiny_training_study.hpp"
#include "tests/support/quiet_run.hpp"

using namespace bitsim::experiments;
namespace tr = bitsim::models::train;
namespace fs = std::filesystem;
using bitsim::testing::quiet_run;
using bitsim::testing::TempDir;

namespace {

// 2 recipes x 2 budgets (4 and 8 steps of 4 x 16 tokens) x 2 ptq specs: 8 points, 4
// trainings of a d = 16, 1-layer GPT on the built-in text, validated every 3 steps.
const std::string kStudy = bitsim::testing::tiny_training_study("tiny_curves", "  eval_every: 3\n",
                                                                  "[none, \"int4:per_group(16)\"]",
                                                                  "checkpoint: {points: 1}\n");

std::string with_eval_every(const std::string& every) {
  std::string text = kStudy;
  text.replace(text.find("eval_every: 3"), 13, "eval_every: " + every);
  return text;
}

std::size_t column(const std::vector<Column>& columns, const std::string& name) {
  for (std::size_t i = 0; i < columns.size(); ++i)
    if (columns[i].name == name) return i;
  FAIL("no column " << name);
  return 0;
}

double real(const Cell& c) { return std::get<double>(c); }
std::int64_t integer(const Cell& c) { return std::get<std::int64_t>(c); }
std::uint64_t bits(double x) { return std::bit_cast<std::uint64_t>(x); }

void check_same_cells(const std::vector<Cell>& x, const std::vector<Cell>& y) {
  REQUIRE(x.size() == y.size());
  for (std::size_t c = 0; c < x.size(); ++c) {
    REQUIRE(x[c].index() == y[c].index());
    if (const auto* d = std::get_if<double>(&x[c])) CHECK(bits(*d) == bits(std::get<double>(y[c])));
    else CHECK(x[c] == y[c]);
  }
}

// The reproducible tables of two files, bit for bit: /results and /curves.
void check_same_results_and_curves(const ResultsTable& x, const ResultsTable& y) {
  CHECK(x.info.config_hash == y.info.config_hash);
  REQUIRE(x.curve_columns.size() == y.curve_columns.size());
  for (std::size_t c = 0; c < x.curve_columns.size(); ++c) {
    CHECK(x.curve_columns[c].name == y.curve_columns[c].name);
    CHECK(x.curve_columns[c].kind == y.curve_columns[c].kind);
  }
  REQUIRE(x.rows.size() == y.rows.size());
  for (std::size_t r = 0; r < x.rows.size(); ++r) {
    CAPTURE(r);
    CHECK(x.rows[r].index == y.rows[r].index);
    check_same_cells(x.rows[r].cells, y.rows[r].cells);
    REQUIRE(x.rows[r].curve.size() == y.rows[r].curve.size());
    for (std::size_t k = 0; k < x.rows[r].curve.size(); ++k) check_same_cells(x.rows[r].curve[k], y.rows[r].curve[k]);
  }
}

// Every row of every point's curve, in file order, as (index, cells): what /curves holds.
std::vector<std::pair<std::uint64_t, std::vector<Cell>>> curve_table(const ResultsTable& t) {
  std::vector<std::pair<std::uint64_t, std::vector<Cell>>> rows;
  for (const auto& point : t.rows)
    for (const auto& row : point.curve) rows.emplace_back(point.index, row);
  return rows;
}

}  // namespace

TEST_CASE("training curves: one row per validation, equal to a direct training run") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  run_experiment(config, quiet_run(dir.path / "out.h5", 2));
  const auto t = read_results(dir.path / "out.h5");
  REQUIRE(t.rows.size() == 8);
  const std::vector<std::string> names = {"step", "tokens_seen", "train_loss", "train_loss_mean", "val_loss",
                                          "grad_norm", "lr", "loss_scale", "skipped_steps"};
  REQUIRE(t.curve_columns.size() == names.size());
  for (std::size_t c = 0; c < names.size(); ++c) CHECK(t.curve_columns[c].name == names[c]);
  const auto step = column(t.curve_columns, "step"), tokens = column(t.curve_columns, "tokens_seen"),
             val = column(t.curve_columns, "val_loss"), train = column(t.curve_columns, "train_loss"),
             mean = column(t.curve_columns, "train_loss_mean");
  const auto steps_column = column(t.columns, "steps"), val_column = column(t.columns, "val_loss"),
             train_column = column(t.columns, "train_loss");

  std::size_t total = 0;
  for (const auto& point : t.rows) {
    CAPTURE(point.index);
    // Validations at steps 3, 6, ... and after the last step: ceil(steps / 3) rows.
    const std::int64_t steps = integer(point.cells[steps_column]);
    REQUIRE(point.curve.size() == std::size_t((steps + 2) / 3));
    total += point.curve.size();
    for (std::size_t k = 0; k < point.curve.size(); ++k) {
      const auto& row = point.curve[k];
      CHECK(integer(row[step]) == std::min<std::int64_t>(3 * std::int64_t(k + 1), steps));
      CHECK(integer(row[tokens]) == integer(row[step]) * 4 * 16);
      if (k > 0) CHECK(integer(row[tokens]) > integer(point.curve[k - 1][tokens]));
      CHECK(std::isfinite(real(row[val])));
    }
    // The last row is the point's final validation and training loss.
    CHECK(bits(real(point.curve.back()[val])) == bits(real(point.cells[val_column])));
    CHECK(bits(real(point.curve.back()[train])) == bits(real(point.cells[train_column])));
  }
  CHECK(total == 2 * (2 + 3) * 2);  // recipes x (4-step + 8-step rows) x ptq

  // Point 2 (fp32, 512 tokens, no ptq) against models/train directly, step by step.
  tr::TrainConfig direct;
  direct.model = {256, 16, 16, 1, 2};
  direct.recipe = tr::Recipe::preset("fp32");
  direct.seq = 16;
  direct.batch = 4;
  direct.steps = 8;
  direct.optimizer.warmup = 1;
  direct.eval_windows = 4;
  direct.eval_every = 3;
  direct.seed = 3;
  const auto log = tr::train(direct, tr::builtin_corpus()).log;
  REQUIRE(log.size() == 8);
  const auto& curve = t.rows[2].curve;
  REQUIRE(curve.size() == 3);
  const std::size_t at[] = {2, 5, 7};  // the log rows of steps 3, 6, 8
  const std::size_t from[] = {0, 3, 6};
  for (std::size_t k = 0; k < 3; ++k) {
    CAPTURE(k);
    const auto& row = log[at[k]];
    CHECK(bits(real(curve[k][val])) == bits(row.val_loss));
    CHECK(bits(real(curve[k][train])) == bits(row.train_loss));
    CHECK(bits(real(curve[k][column(t.curve_columns, "grad_norm")])) == bits(row.grad_norm));
    CHECK(bits(real(curve[k][column(t.curve_columns, "lr")])) == bits(row.lr));
    CHECK(real(curve[k][column(t.curve_columns, "loss_scale")]) == 1.0);
    CHECK(integer(curve[k][column(t.curve_columns, "skipped_steps")]) == 0);
    double sum = 0;
    for (std::size_t s = from[k]; s <= at[k]; ++s) sum += log[s].train_loss;
    CHECK(bits(real(curve[k][mean])) == bits(sum / double(at[k] - from[k] + 1)));
  }
  // The ptq points of one training share its curve.
  for (std::size_t k = 0; k < curve.size(); ++k) check_same_cells(t.rows[3].curve[k], curve[k]);
}

TEST_CASE("training curves: dynamic loss scaling shows in loss_scale and skipped_steps") {
  // A scale above float's maximum overflows the gradients: steps are skipped and the scale halves.
  std::string text = kStudy;
  text.insert(text.find("  accum:"), "  loss_scale: 1.0e39\n  dynamic_loss_scale: true\n");
  const auto config = parse_experiment(text, "scaled.yaml");
  const auto evaluator = make_evaluator(config);
  const auto point = expand_grid(config)[2];  // fp32, 8 steps, no ptq
  const auto curve = evaluator->evaluate(point).curve;
  tr::TrainConfig direct;
  direct.model = {256, 16, 16, 1, 2};
  direct.recipe = tr::Recipe::preset("fp32");
  direct.seq = 16;
  direct.batch = 4;
  direct.steps = 8;
  direct.optimizer.warmup = 1;
  direct.eval_windows = 4;
  direct.eval_every = 3;
  direct.scaling.scale = 1.0e39;
  direct.scaling.dynamic = true;
  direct.seed = 3;
  const auto log = tr::train(direct, tr::builtin_corpus()).log;
  REQUIRE(curve.size() == 3);
  const auto& columns = config.workload.workload->curve;
  std::size_t scale = 0, skipped = 0;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].name == "loss_scale") scale = c;
    if (columns[c].name == "skipped_steps") skipped = c;
  }
  const std::size_t last[] = {2, 5, 7}, first[] = {0, 3, 6};
  std::int64_t total = 0;
  for (std::size_t k = 0; k < 3; ++k) {
    std::int64_t expected = 0;
    for (std::size_t s = first[k]; s <= last[k]; ++s) expected += log[s].skipped ? 1 : 0;
    CHECK(integer(curve[k][skipped]) == expected);
    CHECK(real(curve[k][scale]) == log[last[k]].loss_scale);
    total += expected;
  }
  REQUIRE(total > 0);  // the case this test is about happened
  CHECK(real(curve.back()[scale]) < 1.0e39);
  std::string zero = kStudy;
  zero.insert(zero.find("  accum:"), "  loss_scale: 0\n");
  CHECK_THROWS_WITH(parse_experiment(zero, "zero.yaml"), doctest::Contains("loss_scale must be positive"));
}

TEST_CASE("training curves: validating more often leaves the training unchanged") {
  TempDir dir;
  run_experiment(parse_experiment(kStudy, dir.path / "a.yaml"), quiet_run(dir.path / "every3.h5", 2));
  run_experiment(parse_experiment(with_eval_every("0"), dir.path / "b.yaml"), quiet_run(dir.path / "final.h5", 2));
  const auto a = read_results(dir.path / "every3.h5"), b = read_results(dir.path / "final.h5");
  REQUIRE(a.rows.size() == b.rows.size());
  for (std::size_t r = 0; r < a.rows.size(); ++r) {
    CAPTURE(r);
    check_same_cells(a.rows[r].cells, b.rows[r].cells);
    // eval_every 0: one row, the last step's, identical to the last row with eval_every 3
    // except for the mean training loss (here over every step, there over the last two).
    REQUIRE(b.rows[r].curve.size() == 1);
    auto last = a.rows[r].curve.back(), only = b.rows[r].curve[0];
    const auto mean = column(a.curve_columns, "train_loss_mean");
    CHECK(real(last[mean]) != real(only[mean]));
    last.erase(last.begin() + std::ptrdiff_t(mean));
    only.erase(only.begin() + std::ptrdiff_t(mean));
    check_same_cells(only, last);
  }
}

TEST_CASE("curves: a stopped sweep resumes to the uninterrupted curves, bit for bit") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  run_experiment(config, quiet_run(dir.path / "whole.h5", 1));
  const auto whole = read_results(dir.path / "whole.h5");
  REQUIRE(whole.rows.size() == 8);

  SUBCASE("a partial file holding the first three points") {
    // What a run killed after its third checkpoint leaves: points 0..2 with their curves.
    const auto partial = dir.path / "partial.h5";
    {
      auto writer = ResultsWriter::create(partial, whole.columns, whole.info, whole.curve_columns);
      for (std::size_t r = 0; r < 3; ++r) writer.add(whole.rows[r]);
      writer.checkpoint();
    }
    CHECK(read_results(partial).rows.size() == 3);
    auto o = quiet_run(partial, 2);
    o.resume = true;
    const auto summary = run_experiment(config, o);
    CHECK(summary.already_done == 3);
    CHECK(summary.evaluated == 5);
    const auto resumed = read_results(partial);
    check_same_results_and_curves(whole, resumed);
    CHECK(curve_table(resumed).size() == curve_table(whole).size());  // no row twice
    CHECK(resumed.complete);
  }
  SUBCASE("a run stopped by request_stop (Ctrl-C) after its first stored point") {
    const auto out = dir.path / "stopped.h5";
    std::atomic<bool> running{true};
    std::thread watcher([&] {
      // Stop as soon as the file on disk holds a point (checkpoint: every point).
      while (running.load()) {
        try {
          if (fs::exists(out) && !read_results(out).rows.empty()) {
            request_stop();
            return;
          }
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    const auto first = run_experiment(config, quiet_run(out, 1));
    running.store(false);
    watcher.join();
    const auto stopped = read_results(out);
    CHECK(stopped.rows.size() == first.evaluated);
    if (!first.interrupted) MESSAGE("the run finished before the stop; the resume below checks nothing new");
    for (const auto& point : stopped.rows) CHECK(!point.curve.empty());  // finished points keep their curves
    auto o = quiet_run(out, 2);
    o.resume = true;
    const auto second = run_experiment(config, o);
    CHECK(second.already_done + second.evaluated == 8);
    check_same_results_and_curves(whole, read_results(out));
  }
}

TEST_CASE("curves: shards merge to the single run's curves") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  run_experiment(config, quiet_run(dir.path / "whole.h5", 2));
  run_experiment(config, quiet_run(dir.path / "s0.h5", 1, Shard{0, 2}));
  run_experiment(config, quiet_run(dir.path / "s1.h5", 1, Shard{1, 2}));
  const auto s0 = read_results(dir.path / "s0.h5");
  CHECK(s0.rows.size() == 4);
  CHECK(curve_table(s0).size() < curve_table(read_results(dir.path / "whole.h5")).size());
  merge_results(dir.path / "merged.h5", {dir.path / "s1.h5", dir.path / "s0.h5"});
  check_same_results_and_curves(read_results(dir.path / "whole.h5"), read_results(dir.path / "merged.h5"));
}

TEST_CASE("curves: the MPI point codec carries curve rows") {
  PointResult p;
  p.index = 7;
  p.cells = {std::string("fp32"), std::int64_t(3), 0.5};
  p.curve = {{std::int64_t(1), std::nan(""), std::string("a")}, {std::int64_t(2), -0.0, std::string("")}};
  std::vector<std::uint8_t> bytes;
  encode_points({p, PointResult{}}, bytes);
  const auto back = decode_points(bytes.data(), bytes.size());
  REQUIRE(back.size() == 2);
  REQUIRE(back[0].curve.size() == 2);
  for (std::size_t k = 0; k < 2; ++k) check_same_cells(back[0].curve[k], p.curve[k]);
  CHECK(back[1].curve.empty());
  CHECK_THROWS(decode_points(bytes.data(), bytes.size() - 1));
}

TEST_CASE("curves: the writer checks curve rows and refuses to resume with other curve columns") {
  TempDir dir;
  const std::vector<Column> schema = {{"format", Column::Kind::text}, {"loss", Column::Kind::real}};
  const std::vector<Column> curve = {{"step", Column::Kind::integer}, {"loss", Column::Kind::real}};
  RunInfo info;
  info.config_text = "curves";
  info.config_hash = "c0ffee";
  info.grid_size = 3;
  const auto path = dir.path / "out.h5";
  auto writer = ResultsWriter::create(path, schema, info, curve);
  CHECK(read_results(path).curve_columns.size() == 2);  // the empty file already names them (resume checks them)
  PointResult p;
  p.cells = {std::string("e4m3"), 1.5};
  p.curve = {{std::int64_t(1), 2.0}, {std::int64_t(2), 1.5}};
  auto bad = p;
  bad.curve[1] = {2.0, 1.5};
  CHECK_THROWS_WITH_AS(writer.add(bad), doctest::Contains("curve row 1, column 'step': expected integer"), std::invalid_argument);
  bad.curve[1] = {std::int64_t(2)};
  CHECK_THROWS_WITH_AS(writer.add(bad), doctest::Contains("the curve schema has 2"), std::invalid_argument);
  writer.add(p);
  p.index = 1;
  p.curve.clear();  // a point may have no curve rows
  writer.add(p);
  writer.checkpoint();
  const auto t = read_results(path);
  REQUIRE(t.rows.size() == 2);
  CHECK(t.rows[0].curve.size() == 2);
  CHECK(t.rows[1].curve.empty());
  CHECK(t.curve_columns.size() == 2);

  CHECK_THROWS_WITH_AS(ResultsWriter::resume(path, schema, info, {{"step", Column::Kind::integer}}),
                       doctest::Contains("curve columns differ"), std::runtime_error);
  CHECK_THROWS_WITH_AS(ResultsWriter::create(dir.path / "x.h5", schema, info, {{"index", Column::Kind::integer}}),
                       doctest::Contains("curve schema: the column name 'index' is reserved"), std::invalid_argument);
  // Without a curve schema, curve rows are refused, and the file has no curves.
  auto plain = ResultsWriter::create(dir.path / "plain.h5", schema, info);
  PointResult q;
  q.cells = {std::string("bf16"), 2.5};
  q.curve = {{std::int64_t(1), 2.0}};
  CHECK_THROWS_WITH_AS(plain.add(q), doctest::Contains("records no curves"), std::invalid_argument);
  q.curve.clear();
  plain.add(q);
  plain.finish("2026-01-01T00:00:00Z");
  CHECK(read_results(dir.path / "plain.h5").curve_columns.empty());
}

TEST_CASE("curves: bitsim report --curves prints the shown points' curve rows") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  run_experiment(config, quiet_run(dir.path / "out.h5", 2));
  const auto report = [&](const std::string& arguments) {
    const std::string command = std::string(BITSIM_CLI) + " report " + (dir.path / "out.h5").string() +
                                " --no-plots " + arguments + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    CHECK(pclose(pipe) == 0);
    return output;
  };
  // fp32: points 0-3, two 4-step trainings (2 rows each) and two 8-step ones (3 rows each).
  const std::string out = report("--curves --where recipe=fp32");
  INFO(out);
  CHECK(out.find("Curves: 10 rows of 4 points") != std::string::npos);
  CHECK(out.find("tokens_seen") != std::string::npos);
  CHECK(report("").find("Curves:") == std::string::npos);  // only when asked
}
