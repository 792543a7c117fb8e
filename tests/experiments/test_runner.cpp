// The sweep runner: results independent of the thread count, shards merging to the
// single run, resume after SIGKILL and after Ctrl-C (build/bitsim run as a child process),
// MPI ranks gathering to one file, the point codec, and a safetensors GPT-2 (the tiny
// test checkpoint) with per-layer arrays. (SmolLM2 and MiniLM: test_runner_model.cpp.)
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bit>
#include <cmath>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/point_codec.hpp"
#include "experiments/runner/runner.hpp"
#include "experiments/runner/synthetic_tensor.hpp"
#include "models/eval/layer_profile.hpp"
#include "models/eval/next_token_metrics.hpp"
#include "models/tokenizers/tokenizer_json.hpp"
#include "models/transformer/gpt2.hpp"
#include "sim/metrics/metrics.hpp"
#include "sim/quant/quantize.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/quiet_run.hpp"

extern char** environ;

using namespace bitsim::experiments;
namespace fs = std::filesystem;
using bitsim::testing::quiet_run;
using bitsim::testing::TempDir;
using bitsim::testing::read_text;

namespace {

// The reproducible part of two results files must agree bit for bit.
void check_same_results(const fs::path& a, const fs::path& b) {
  const auto x = read_results(a), y = read_results(b);
  REQUIRE(x.columns.size() == y.columns.size());
  for (std::size_t c = 0; c < x.columns.size(); ++c) {
    CHECK(x.columns[c].name == y.columns[c].name);
    CHECK(x.columns[c].kind == y.columns[c].kind);
  }
  CHECK(x.info.config_hash == y.info.config_hash);
  CHECK(x.info.grid_json == y.info.grid_json);
  CHECK(x.info.grid_size == y.info.grid_size);
  REQUIRE(x.rows.size() == y.rows.size());
  for (std::size_t r = 0; r < x.rows.size(); ++r) {
    CAPTURE(r);
    CHECK(x.rows[r].index == y.rows[r].index);
    REQUIRE(x.rows[r].cells.size() == y.rows[r].cells.size());
    for (std::size_t c = 0; c < x.rows[r].cells.size(); ++c) {
      const auto &u = x.rows[r].cells[c], &v = y.rows[r].cells[c];
      REQUIRE(u.index() == v.index());
      if (const auto* d = std::get_if<double>(&u)) CHECK(std::bit_cast<std::uint64_t>(*d) == std::bit_cast<std::uint64_t>(std::get<double>(v)));
      else CHECK(u == v);
    }
    REQUIRE(x.rows[r].arrays.size() == y.rows[r].arrays.size());
    for (std::size_t a = 0; a < x.rows[r].arrays.size(); ++a) {
      CHECK(x.rows[r].arrays[a].first == y.rows[r].arrays[a].first);
      const auto &u = x.rows[r].arrays[a].second, &v = y.rows[r].arrays[a].second;
      REQUIRE(u.size() == v.size());
      for (std::size_t i = 0; i < u.size(); ++i) CHECK(std::bit_cast<std::uint64_t>(u[i]) == std::bit_cast<std::uint64_t>(v[i]));
    }
  }
}

// A synthetic study with a GEMM, stochastic rounding and seeds: every code path of the
// synthetic evaluator, 12 points, well under a second.
const std::string kStudy = R"yaml(name: study
model: {synthetic: student_t, nu: 5, shape: [32, 128], gemm_n: 8, seed: 3}
sweep:
  weights: ["e4m3fn:per_tensor:sr", "int4:per_group(32)", mxfp4]
  accum: [default, "acc=bf16:sr"]
  seed: [0, 1]
checkpoint: {points: 2}
)yaml";

// Slow enough points (MSE scale search) to interrupt a run part way.
const std::string kSlowStudy = R"yaml(name: slow
model: {synthetic: laplace, shape: [128, 512]}
sweep:
  weights: ["int4:per_group(32):mse", "int3:per_group(16):mse", "e2m1fn:per_group(32):mse"]
  seed: [0, 1, 2, 3, 4, 5, 6, 7]
checkpoint: {points: 1}
)yaml";

struct Child {
  pid_t pid = -1;
  int wait() const {
    int status = 0;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
};

// Starts `program args...` with stdout and stderr sent to `log`.
Child spawn(const std::vector<std::string>& command, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<char*> argv;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Child child;
  const int rc = posix_spawn(&child.pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(rc == 0);
  return child;
}

// Waits until `p` is a results file holding at least one point (the first checkpoint).
bool wait_for_first_point(const fs::path& p) {
  for (int i = 0; i < 3000; ++i) {
    try {
      if (fs::exists(p) && !read_results(p).rows.empty()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

}  // namespace

TEST_CASE("results are bit-identical on 1 and 2 threads, and match a direct computation") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  const auto one = run_experiment(config, quiet_run(dir.path / "t1.h5", 1));
  const auto two = run_experiment(config, quiet_run(dir.path / "t2.h5", 2));
  CHECK(one.evaluated == 12);
  CHECK(two.evaluated == 12);
  CHECK_FALSE(one.interrupted);
  check_same_results(dir.path / "t1.h5", dir.path / "t2.h5");

  // Point 7 = int4:per_group(32), acc=bf16:sr, seed 1: its sqnr_db from sim directly.
  const auto table = read_results(dir.path / "t1.h5");
  REQUIRE(table.rows.size() == 12);
  const auto column = [&](const std::string& name) {
    for (std::size_t c = 0; c < table.columns.size(); ++c)
      if (table.columns[c].name == name) return c;
    FAIL("no column " << name);
    return std::size_t(0);
  };
  const auto& row = table.rows[7];
  CHECK(std::get<std::string>(row.cells[column("weights")]) == "int4:per_group(32)");
  CHECK(std::get<std::string>(row.cells[column("accum")]) == "acc=bf16:sr");
  CHECK(std::get<std::int64_t>(row.cells[column("seed")]) == 1);
  const auto x = synthetic_tensor(config.synthetic, 0);
  const auto direct = bitsim::sim::compare(x, bitsim::sim::fake_quantize(x, bitsim::sim::parse_quant_spec("int4:per_group(32)")));
  CHECK(std::get<double>(row.cells[column("sqnr_db")]) == direct.sqnr_db);
  CHECK(std::get<double>(row.cells[column("weights_bits")]) == 4.0 + 32.0 / 32.0);
  // Stochastic rounding: the seed axis changes the rounding draws (points 0 and 1 differ
  // only in the seed), so the errors differ; the same seed gives the same bits (above).
  CHECK(std::get<double>(table.rows[0].cells[column("mse")]) != std::get<double>(table.rows[1].cells[column("mse")]));
  CHECK(std::get<double>(table.rows[0].cells[column("accum_sqnr_db")]) > 100);  // fp32 accumulation of 128 terms
  CHECK(std::get<double>(table.rows[2].cells[column("accum_sqnr_db")]) < 60);   // bf16 accumulation
}

TEST_CASE("three shards merge into the single run's file") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  run_experiment(config, quiet_run(dir.path / "single.h5", 2));
  std::vector<fs::path> shards;
  for (int i = 0; i < 3; ++i) {
    shards.push_back(dir.path / ("shard" + std::to_string(i) + ".h5"));
    const auto s = run_experiment(config, quiet_run(shards.back(), 1, Shard{i, 3}));
    CHECK(s.shard_points == 4);
    const auto t = read_results(shards.back());
    CHECK(t.info.shard == std::to_string(i) + "/3");
    for (const auto& row : t.rows) CHECK(row.index % 3 == std::uint64_t(i));
  }
  merge_results(dir.path / "merged.h5", shards);
  check_same_results(dir.path / "single.h5", dir.path / "merged.h5");
  // Without -o a shard gets its own name.
  RunOptions o;
  o.shard = Shard{1, 3};
  CHECK(output_path(config, o) == "study.shard-1-of-3.h5");
}

TEST_CASE("an existing output is refused; --resume of a finished file computes nothing") {
  TempDir dir;
  const auto config = parse_experiment(kStudy, dir.path / "study.yaml");
  run_experiment(config, quiet_run(dir.path / "out.h5", 2));
  CHECK_THROWS_WITH_AS(run_experiment(config, quiet_run(dir.path / "out.h5", 2)), doctest::Contains("--resume"), std::invalid_argument);
  auto o = quiet_run(dir.path / "out.h5", 2);
  o.resume = true;
  const auto again = run_experiment(config, o);
  CHECK(again.evaluated == 0);
  CHECK(again.already_done == 12);
  // A different config cannot resume this file.
  const auto other = parse_experiment(kStudy + "# changed\n", dir.path / "study.yaml");
  CHECK_THROWS(run_experiment(other, o));
  o.output = dir.path / "missing.h5";
  CHECK_THROWS_WITH_AS(run_experiment(config, o), doctest::Contains("does not exist"), std::invalid_argument);
}

TEST_CASE("a run killed with SIGKILL resumes to the uninterrupted result") {
  TempDir dir;
  const auto yaml = dir.write("slow.yaml", kSlowStudy);
  run_experiment(load_experiment(yaml), quiet_run(dir.path / "whole.h5", 2));

  const auto out = dir.path / "killed.h5";
  const auto child = spawn({BITSIM_CLI, "run", yaml.string(), "-o", out.string(), "--threads", "1", "--no-table"}, dir.path / "log1");
  REQUIRE(wait_for_first_point(out));
  kill(child.pid, SIGKILL);
  CHECK(child.wait() == 128 + SIGKILL);
  const auto partial = read_results(out);  // a complete, readable file at every moment
  CHECK(partial.rows.size() >= 1);
  if (partial.rows.size() == 24) MESSAGE("the child finished before it was killed; the resume below checks nothing new");

  const auto resumed = spawn({BITSIM_CLI, "run", yaml.string(), "-o", out.string(), "--resume", "-q", "--no-table"}, dir.path / "log2");
  CHECK(resumed.wait() == 0);
  CHECK(read_text(dir.path / "log2").find("already there") != std::string::npos);
  check_same_results(dir.path / "whole.h5", out);
}

TEST_CASE("Ctrl-C stops a run, keeps its points, says how to resume, and exits 130") {
  TempDir dir;
  const auto yaml = dir.write("slow.yaml", kSlowStudy);
  const auto out = dir.path / "stopped.h5";
  const auto child = spawn({BITSIM_CLI, "run", yaml.string(), "-o", out.string(), "--threads", "1"}, dir.path / "log");
  REQUIRE(wait_for_first_point(out));
  kill(child.pid, SIGINT);
  const int status = child.wait();
  const auto log = read_text(dir.path / "log");
  CAPTURE(log);
  if (status == 0) {
    MESSAGE("the child finished before SIGINT arrived");
  } else {
    CHECK(status == 130);
    CHECK(log.find("interrupted") != std::string::npos);
    CHECK(log.find("--resume") != std::string::npos);
    const auto partial = read_results(out);
    CHECK(partial.rows.size() >= 1);
    CHECK(partial.rows.size() < 24);
  }
}

TEST_CASE("mpirun -np 2: rank 0 gathers one file equal to the single run") {
  const std::string mpirun = BITSIM_MPIRUN;
  if (mpirun.empty() || !fs::exists(mpirun)) {
    MESSAGE("skipped: mpirun not found");
    return;
  }
  TempDir dir;
  const auto yaml = dir.write("study.yaml", kStudy);
  run_experiment(load_experiment(yaml), quiet_run(dir.path / "single.h5", 2));
  const auto out = dir.path / "mpi.h5";
  // LeakSanitizer (the CI's sanitizer pass) would report OpenMPI's own allocations at exit.
  const auto child = spawn({mpirun, "-np", "2", "--allow-run-as-root", "--oversubscribe", "-x", "ASAN_OPTIONS=detect_leaks=0", BITSIM_CLI, "run", yaml.string(), "-o",
                            out.string(), "--threads", "1", "-q", "--no-table"},
                           dir.path / "log");
  const int status = child.wait();
  CAPTURE(read_text(dir.path / "log"));
  REQUIRE(status == 0);
  check_same_results(dir.path / "single.h5", out);
  CHECK(read_results(out).info.shard == "0/1");
}

TEST_CASE("point codec round trip and truncation") {
  PointResult p;
  p.index = 42;
  p.seconds = 1.5;
  p.cells = {std::string("bf16"), std::int64_t(-3), 0.1, std::string()};
  p.arrays = {{"sqnr_per_layer", {1.0, 2.0, -0.0}}};
  std::vector<std::uint8_t> bytes;
  encode_points({p, PointResult{}}, bytes);
  const auto back = decode_points(bytes.data(), bytes.size());
  REQUIRE(back.size() == 2);
  CHECK(back[0].index == 42);
  CHECK(back[0].seconds == 1.5);
  CHECK(back[0].cells == p.cells);
  CHECK(back[0].arrays == p.arrays);
  CHECK(back[1].cells.empty());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut) CHECK_THROWS(decode_points(bytes.data(), cut));
}

TEST_CASE("bitsim validate and plan: exit statuses and output") {
  TempDir dir;
  const auto good = dir.write("good.yaml", kStudy);
  const auto bad = dir.write("bad.yaml", "name: t\nmodel: gaussian\nsweep:\n  weights: [bf16, e9m9]\n");
  CHECK(spawn({BITSIM_CLI, "validate", good.string()}, dir.path / "log1").wait() == 0);
  CHECK(read_text(dir.path / "log1").find("ok: 'study', synthetic source, 12 points") != std::string::npos);
  CHECK(spawn({BITSIM_CLI, "validate", bad.string()}, dir.path / "log2").wait() == 2);
  const auto message = read_text(dir.path / "log2");
  CHECK(message.find("bad.yaml:4:19: sweep.weights: unknown format 'e9m9'; valid: ") != std::string::npos);
  CHECK(spawn({BITSIM_CLI, "plan", good.string(), "--points"}, dir.path / "log3").wait() == 0);
  const auto plan = read_text(dir.path / "log3");
  CHECK(plan.find("grid: 12 points (12 in the cross product, 0 removed by include/exclude)") != std::string::npos);
  CHECK(plan.find(R"(11 {"weights":"mxfp4","accum":"acc=bf16:sr","seed":1})") != std::string::npos);
  CHECK(spawn({BITSIM_CLI, "run", good.string(), "--shard", "3/3"}, dir.path / "log4").wait() == 2);
}

TEST_CASE("synthetic tensors: moments of each distribution, outlier channels, reproducibility") {
  const auto moments = [](const bitsim::sim::TensorF& t) {
    double sum = 0, sum2 = 0;
    for (float v : t.span()) {
      sum += v;
      sum2 += double(v) * v;
    }
    const double n = double(t.numel());
    return std::pair<double, double>{sum / n, sum2 / n - (sum / n) * (sum / n)};
  };
  SyntheticSource s;
  s.shape = {256, 256};  // 65536 values: the mean's standard error is ~0.004 sigma
  struct Expect {
    Distribution d;
    double variance, tolerance;
  };
  s.nu = 10;
  for (const auto& e : {Expect{Distribution::gaussian, 1.0, 0.03}, Expect{Distribution::laplace, 2.0, 0.05},
                        Expect{Distribution::student_t, 10.0 / 8.0, 0.06}}) {
    s.distribution = e.d;
    const auto [mean, variance] = moments(synthetic_tensor(s, 0));
    CAPTURE(int(e.d));
    CHECK(std::abs(mean) < 5 * std::sqrt(e.variance / 65536.0));
    CHECK(std::abs(variance / e.variance - 1) < e.tolerance);
  }
  // Outliers: columns are either unscaled or scaled by outlier_scale, about the fraction asked.
  s.distribution = Distribution::with_outliers;
  s.outlier_fraction = 0.1;
  s.outlier_scale = 50;
  const auto x = synthetic_tensor(s, 0);
  int outlier_columns = 0;
  for (bitsim::sim::Index c = 0; c < 256; ++c) {
    double sum2 = 0;
    for (bitsim::sim::Index r = 0; r < 256; ++r) sum2 += double(x.at({r, c})) * x.at({r, c});
    const double rms = std::sqrt(sum2 / 256);
    CHECK((rms < 1.5 || (rms > 35 && rms < 70)));
    outlier_columns += rms > 35;
  }
  CHECK(outlier_columns > 10);
  CHECK(outlier_columns < 45);
  // Same seed, same bits; another seed or operand, other values.
  CHECK(synthetic_tensor(s, 0).to_vector() == x.to_vector());
  s.gemm_n = 256;
  CHECK(synthetic_tensor(s, 1).to_vector() != x.to_vector());
  s.seed = 1;
  CHECK(synthetic_tensor(s, 0).to_vector() != x.to_vector());
}

TEST_CASE("a GPT-2 safetensors checkpoint with per_layer: metrics and sqnr_per_layer equal a direct run") {
  TempDir dir;
  const fs::path tiny = fs::path(BITSIM_TEST_DATA) / "models" / "tiny_gpt2";
  const auto yaml = dir.write("gpt2.yaml", "name: gpt2\nmodel: " + tiny.string() + "\ndata: {text: " + (tiny / "sample.txt").string() +
                                               ", tokens: 16, per_layer: true}\nsweep:\n  weights: [none, bf16, \"int4:per_channel\"]\n"
                                               "  layers: [all, \"1\"]\n");
  const auto config = load_experiment(yaml);
  const auto one = run_experiment(config, quiet_run(dir.path / "t1.h5", 1));
  run_experiment(config, quiet_run(dir.path / "t2.h5", 2));
  CHECK(one.evaluated == 6);
  check_same_results(dir.path / "t1.h5", dir.path / "t2.h5");

  const auto table = read_results(dir.path / "t1.h5");
  CHECK(table.info.device == "cpu");  // RunInfo.device is written with the environment
  REQUIRE(table.rows.size() == 6);
  // Columns: weights, layers, weights_bits, ppl, ref_ppl, delta_ppl, kl_mean, ...
  REQUIRE(table.columns[3].name == "ppl");
  REQUIRE(table.columns[6].name == "kl_mean");
  for (const auto& row : table.rows) {
    REQUIRE(row.arrays.size() == 1);
    CHECK(row.arrays[0].first == "sqnr_per_layer");
    CHECK(row.arrays[0].second.size() == 2);  // one per block
  }
  // The identity point: KL 0, and the reference's block outputs exactly (infinite SQNR).
  CHECK(std::get<double>(table.rows[0].cells[6]) == 0.0);
  for (double v : table.rows[0].arrays[0].second) CHECK(std::isinf(v));

  // Point 5 = int4 per channel in block 1 only, computed directly: block 0 is untouched.
  const auto model = bitsim::models::Gpt2Model::from_safetensors(tiny.string());
  auto ids = bitsim::models::byte_bpe_from_tokenizer_json((tiny / "tokenizer.json").string()).encode(read_text(tiny / "sample.txt"));
  REQUIRE(ids.size() >= 16);
  ids.resize(16);
  std::vector<bitsim::sim::TensorF> ref_blocks, blocks;
  bitsim::models::Gpt2Session reference(model, {});
  const auto ref = reference.forward(ids, &ref_blocks);
  bitsim::models::Numerics numerics;
  numerics.quant = {{"weight.blk.1.*", bitsim::sim::parse_quant_spec("int4:per_channel")}};
  bitsim::models::Gpt2Session session(model, numerics);
  const auto m = bitsim::models::next_token_metrics(ref, session.forward(ids, &blocks), ids);
  const auto profile = bitsim::models::layer_sqnr_db(ref_blocks, blocks);
  const auto& row = table.rows[5];
  CHECK(std::get<std::string>(row.cells[0]) == "int4:per_channel");
  CHECK(std::get<std::string>(row.cells[1]) == "1");
  CHECK(std::get<double>(row.cells[3]) == m.perplexity);
  CHECK(std::get<double>(row.cells[6]) == m.kl_mean);
  CHECK(m.kl_mean > 0);
  CHECK(row.arrays[0].second == profile);
  CHECK(std::isinf(profile[0]));
  CHECK(std::isfinite(profile[1]));
  // bf16 everywhere loses less than int4 at every block.
  for (std::size_t b = 0; b < 2; ++b) CHECK(table.rows[2].arrays[0].second[b] > table.rows[4].arrays[0].second[b]);

  // bitsim report draws the per-layer heat map from the arrays (its data file at least;
  // the images need gnuplot).
  const auto plots = dir.path / "plots";
  CHECK(spawn({BITSIM_CLI, "report", (dir.path / "t1.h5").string(), "--plots", plots.string(), "--where", "weights!=none"},
              dir.path / "report.log").wait() == 0);
  CAPTURE(read_text(dir.path / "report.log"));
  CHECK(fs::exists(plots / "layer_heatmap.dat"));
}
