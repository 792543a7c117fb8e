// Scaling-law fits (experiments/fit): each law recovers the constants its synthetic data
// were drawn from (exactly without noise, inside the bootstrap interval with noise), the
// fit does not depend on the thread count, bad input is refused with the valid choices,
// and Sun et al.'s derived optimum and critical data sizes come out of the law.
#include <doctest/doctest.h>

#include <tbb/global_control.h>

#include <cmath>
#include <stdexcept>
#include <string>

#include "experiments/fit/fit_data.hpp"
#include "experiments/fit/float_layout.hpp"
#include "experiments/fit/huber_fit.hpp"
#include "experiments/fit/law.hpp"
#include "tests/experiments/fit_synthetic.hpp"

namespace {

using namespace bitsim::fit_test;
namespace fit = bitsim::experiments::fit;

// Hoffmann et al.'s published Approach-3 constants, as a realistic truth.
const std::vector<double> kChinchilla = {1.69, 406.4, 410.7, 0.34, 0.28};

void check_recovered(const fit::FitResult& r, const std::vector<double>& truth, double rel) {
  REQUIRE(r.values.size() == truth.size());
  for (std::size_t k = 0; k < truth.size(); ++k) {
    INFO(r.law << " parameter " << r.names[k] << ": fitted " << r.values[k] << ", true " << truth[k]);
    CHECK(std::abs(r.values[k] - truth[k]) <= rel * std::abs(truth[k]));
  }
}

fit::FitOptions with_starts(std::vector<std::vector<double>> starts) {
  fit::FitOptions o;
  o.starts = std::move(starts);
  return o;
}

}  // namespace

TEST_CASE("chinchilla: exact recovery from noiseless points, zero loss, R^2 = 1") {
  const auto& law = fit::find_law("chinchilla");
  const auto data = synthetic_data(law, kChinchilla, chinchilla_grid());
  const auto r = fit::fit_law(law, data, with_starts(start_grid({{0}, {0, 5}, {0, 5}, {0.5}, {0.5}})));
  check_recovered(r, kChinchilla, 1e-6);
  CHECK(r.loss < 1e-16);
  CHECK(r.r2 == doctest::Approx(1.0).epsilon(1e-12));
  for (double res : r.residuals) CHECK(std::abs(res) < 1e-7);
}

TEST_CASE("chinchilla: with 1% noise the truth lies inside the 99% bootstrap interval") {
  const auto& law = fit::find_law("chinchilla");
  const auto data = synthetic_data(law, kChinchilla, chinchilla_grid(), 0.01, 7);
  auto options = with_starts(start_grid({{0}, {0, 5}, {0, 5}, {0.5}, {0.5}}));
  options.bootstrap = 100;
  options.seed = 3;
  options.confidence = 0.99;
  const auto r = fit::fit_law(law, data, options);
  REQUIRE(r.ci.size() == kChinchilla.size());
  CHECK(r.bootstrap_values.size() == 100);
  for (std::size_t k = 0; k < kChinchilla.size(); ++k) {
    INFO(r.names[k] << " in [" << r.ci[k].first << ", " << r.ci[k].second << "], true " << kChinchilla[k]);
    CHECK(r.ci[k].first < r.ci[k].second);
    CHECK(r.ci[k].first <= kChinchilla[k]);
    CHECK(kChinchilla[k] <= r.ci[k].second);
  }
  // Same seed, same intervals; another seed, other resamples.
  const auto again = fit::fit_law(law, data, options);
  CHECK(again.ci == r.ci);
  options.seed = 4;
  CHECK(fit::fit_law(law, data, options).ci != r.ci);
}

TEST_CASE("the best start and the fitted values do not depend on the thread count") {
  const auto& law = fit::find_law("chinchilla");
  const auto data = synthetic_data(law, kChinchilla, chinchilla_grid(5, 6), 0.02, 11);
  const auto options = with_starts(start_grid({{-1, 0, 1}, {0, 5, 10}, {0, 5, 10}, {0.5, 1}, {0.5}}));
  const auto parallel = fit::fit_law(law, data, options);
  fit::FitResult serial;
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    serial = fit::fit_law(law, data, options);
  }
  CHECK(serial.best_start == parallel.best_start);
  CHECK(serial.values == parallel.values);
  CHECK(serial.loss == parallel.loss);
}

TEST_CASE("chinchilla_tied: alpha = beta recovered") {
  const auto& law = fit::find_law("chinchilla_tied");
  const std::vector<double> truth = {1.8, 500.0, 2000.0, 0.33};
  const auto data = synthetic_data(law, truth, chinchilla_grid());
  const auto r = fit::fit_law(law, data, with_starts(start_grid({{0}, {0, 5}, {0, 5}, {0.5}})));
  check_recovered(r, truth, 1e-6);
}

TEST_CASE("kumar: effective parameter count of weights, activations, KV cache") {
  const auto& law = fit::find_law("kumar");
  const std::vector<double> truth = {1.8, 300.0, 1500.0, 0.35, 0.35, 2.7, 2.2, 1.0};
  const double triples[6][3] = {{3, 16, 16}, {4, 4, 16}, {16, 3, 8}, {6, 8, 3}, {8, 16, 4}, {16, 16, 16}};
  std::vector<std::vector<double>> rows;
  for (const auto& nd : chinchilla_grid(5, 4)) {
    for (const auto& t : triples) rows.push_back({nd[0], nd[1], t[0], t[1], t[2]});
  }
  const auto data = synthetic_data(law, truth, rows);
  auto starts = start_grid({{0.5}, {5}, {5, 10}, {0.3}, {0.3}, {1}, {1}, {0}});
  const auto r = fit::fit_law(law, data, with_starts(starts));
  check_recovered(r, truth, 1e-5);
}

TEST_CASE("kumar_ptq: post-training quantization degradation on top") {
  const auto& law = fit::find_law("kumar_ptq");
  const std::vector<double> truth = {1.8, 300.0, 1500.0, 0.35, 0.35, 2.7, 2.2, 1.0,
                                     0.05, 0.5, 0.35, 0.6};
  const double quads[8][4] = {{3, 16, 16, 16}, {4, 4, 16, 3}, {16, 3, 8, 4}, {6, 8, 3, 16},
                              {8, 16, 4, 3}, {16, 16, 16, 4}, {16, 16, 16, 3}, {16, 16, 16, 16}};
  std::vector<std::vector<double>> rows;
  for (const auto& nd : chinchilla_grid(5, 4)) {
    for (const auto& q : quads) rows.push_back({nd[0], nd[1], q[0], q[1], q[2], q[3]});
  }
  const auto data = synthetic_data(law, truth, rows);
  auto starts = start_grid({{0.5}, {5}, {5, 10}, {0.3}, {0.3}, {1}, {1}, {0}, {-3}, {0.5}, {0.5}, {0}});
  const auto r = fit::fit_law(law, data, with_starts(starts));
  check_recovered(r, truth, 1e-5);
}

// Sun et al. 2025 (arXiv:2501.02423), Table 2: the constants of Eq. (26).
const std::vector<double> kSunPublished = {69.2343, 0.2368, 68973.0621, 0.5162,
                                           1.9061,  11334.5197, 3.1926, 2.9543};

std::vector<std::vector<double>> sun_rows() {
  // Part of their grid of N and D (Sec. 3.2), a spread of formats and two block sizes:
  // 108 points, enough to pin all eight constants.
  const double sizes[] = {41e6, 154e6, 679e6};
  const double tokens[] = {10e9, 50e9, 100e9};
  const int formats[6][2] = {{1, 1}, {2, 1}, {3, 2}, {4, 3}, {1, 4}, {3, 4}};
  const double blocks[] = {32, 512};
  std::vector<std::vector<double>> rows;
  for (double n : sizes)
    for (double d : tokens)
      for (const auto& f : formats)
        for (double b : blocks) rows.push_back({n, d, double(f[0]), double(f[1]), b});
  return rows;
}

TEST_CASE("sun: the published constants are recovered and imply FP4 -> E2M1, FP8 -> E4M3") {
  const auto& law = fit::find_law("sun");
  const auto data = synthetic_data(law, kSunPublished, sun_rows());
  const auto r = fit::fit_law(law, data);  // the law's own grid of starts
  check_recovered(r, kSunPublished, 1e-5);
  const auto c = fit::sun_constants(r);
  CHECK(fit::optimal_float_layout(4, c.delta, c.nu).name() == "E2M1");
  CHECK(fit::optimal_float_layout(8, c.delta, c.nu).name() == "E4M3");
  CHECK(fit::optimal_float_layout(16, c.delta, c.nu).name() == "E8M7");  // bf16, as they note
}

TEST_CASE("sun: optimum layout search agrees with the continuous optimum and the paper's D_crit") {
  const fit::SunConstants c{69.2343, 0.2368, 68973.0621, 0.5162, 1.9061, 11334.5197, 3.1926, 2.9543};
  // Every bit budget: the integer optimum is one of the two integers around the continuous
  // mantissa optimum nu P / (delta + nu) - 0.5 (Eq. 19), and beats every other split.
  for (int bits = 2; bits <= 16; ++bits) {
    const auto best = fit::optimal_float_layout(bits, c.delta, c.nu);
    CHECK(best.exponent_bits + best.mantissa_bits + 1 == bits);
    const double m_star = c.nu * bits / (c.delta + c.nu) - 0.5;
    CHECK(std::abs(best.mantissa_bits - m_star) < 1.0);
  }
  // Sec. 4.3: a 1B model with block size 128 has D_crit 27T in E4M3, 0.4T in E2M1, and
  // 1730T in BF16 (E8M7).
  CHECK(fit::critical_data_size(c, 1e9, 4, 3, 128) / 1e12 == doctest::Approx(27).epsilon(0.03));
  CHECK(fit::critical_data_size(c, 1e9, 2, 1, 128) / 1e12 == doctest::Approx(0.4).epsilon(0.05));
  CHECK(fit::critical_data_size(c, 1e9, 8, 7, 128) / 1e12 == doctest::Approx(1730).epsilon(0.03));
  // The law's loss in D has its minimum there: slightly fewer and more tokens both lose.
  const auto& law = fit::find_law("sun");
  auto model = law.make_model();
  std::vector<double> p;
  for (std::size_t k = 0; k < law.params.size(); ++k) p.push_back(law.params[k].fitted(kSunPublished[k]));
  const double d_crit = fit::critical_data_size(c, 1e9, 4, 3, 128);
  const auto loss_at = [&](double d) {
    const double x[5] = {std::log(1e9), std::log(d), 4, 3, 128};
    return model->log_predict(p.data(), x, nullptr);
  };
  CHECK(loss_at(d_crit) < loss_at(0.9 * d_crit));
  CHECK(loss_at(d_crit) < loss_at(1.1 * d_crit));
}

TEST_CASE("ouyang: quantization-induced degradation") {
  const auto& law = fit::find_law("ouyang");
  const std::vector<double> truth = {0.05, 0.25, 0.5, 5.0};
  std::vector<std::vector<double>> rows;
  for (const auto& nd : chinchilla_grid(4, 5)) {
    for (double bits : {2.0, 3.0, 4.0, 8.0}) rows.push_back({nd[0], nd[1], bits});
  }
  const auto data = synthetic_data(law, truth, rows);
  check_recovered(fit::fit_law(law, data), truth, 1e-6);
}

// With noise, the constants the data were drawn from lie inside the 99% bootstrap interval.
void check_truth_in_interval(const fit::Law& law, const std::vector<double>& truth,
                             const std::vector<std::vector<double>>& rows, double sigma) {
  const auto data = synthetic_data(law, truth, rows, sigma, 21);
  fit::FitOptions options;
  options.bootstrap = 40;
  options.seed = 5;
  options.confidence = 0.99;
  const auto r = fit::fit_law(law, data, options);
  for (std::size_t k = 0; k < truth.size(); ++k) {
    INFO(law.name << " " << r.names[k] << " in [" << r.ci[k].first << ", " << r.ci[k].second
                  << "], true " << truth[k]);
    CHECK(r.ci[k].first <= truth[k]);
    CHECK(truth[k] <= r.ci[k].second);
  }
}

TEST_CASE("sun and ouyang: with 1% noise the truth lies inside the 99% bootstrap interval") {
  check_truth_in_interval(fit::find_law("sun"), kSunPublished, sun_rows(), 0.01);
  std::vector<std::vector<double>> rows;
  for (const auto& nd : chinchilla_grid(4, 5)) {
    for (double bits : {2.0, 3.0, 4.0, 8.0}) rows.push_back({nd[0], nd[1], bits});
  }
  check_truth_in_interval(fit::find_law("ouyang"), {0.05, 0.25, 0.5, 5.0}, rows, 0.01);
}

TEST_CASE("expr: a user expression with numeric derivatives fits like the built-in law") {
  const auto law = fit::expression_law("E + A/N^alpha + B/D^beta",
                                       "E=1,log:A=0:5,log:B=0:5,alpha=0.5,beta=0.5");
  CHECK(law.inputs == std::vector<std::string>{"N", "D"});
  CHECK(law.parameter_names() == std::vector<std::string>{"E", "A", "B", "alpha", "beta"});
  CHECK(law.grid_size() == 4);
  const auto data = synthetic_data(law, kChinchilla, chinchilla_grid());
  check_recovered(fit::fit_law(law, data), kChinchilla, 1e-5);

  CHECK_THROWS_AS(fit::expression_law("E + A/N^", "E=1,A=1"), std::invalid_argument);
  CHECK_THROWS_AS(fit::expression_law("E + A/N", "E=1,A=1,beta=2"), std::invalid_argument);
  CHECK_THROWS_AS(fit::expression_law("E + A", "E=1,A=1"), std::invalid_argument);
  CHECK_THROWS_AS(fit::expression_law("E + A/N", "E=x,A=1"), std::invalid_argument);
}

TEST_CASE("laws as data: names, grid, lookup errors list the valid laws") {
  const auto& chinchilla = fit::find_law("chinchilla");
  CHECK(chinchilla.grid_size() == 4500);  // Besiroglu et al.'s grid
  CHECK(chinchilla.parameter_names() == std::vector<std::string>{"E", "A", "B", "alpha", "beta"});
  CHECK(chinchilla.grid_start(0) == std::vector<double>{-1, 0, 0, 0, 0});
  CHECK(chinchilla.grid_start(4499) == std::vector<double>{1, 25, 25, 2, 2});
  for (const auto& law : fit::builtin_laws()) {
    CHECK(law.log_inputs.size() == law.inputs.size());
    CHECK(law.grid_size() >= 1);
    CHECK(!law.source.empty());
  }
  try {
    fit::find_law("chinchila");
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    CHECK(what.find("chinchila") != std::string::npos);
    for (const char* name : {"chinchilla", "kumar", "sun", "ouyang", "expr"}) {
      CHECK(what.find(name) != std::string::npos);
    }
  }
}

TEST_CASE("data selection: columns by role, C for D, drop-top, and clear errors") {
  const auto table = fit::parse_csv(
      "params,flop,loss,label\n1e8,6e18,3.0,a\n1e9,6e19,2.5,b\n1e9,6e20,2.4,c\n1e8,6e17,3.9,d\n",
      "test");
  const auto& law = fit::find_law("chinchilla");
  const auto data = fit::select_data(law, table, fit::parse_column_map("N=params,C=flop,L=loss"), 1);
  REQUIRE(data.size() == 3);  // 3.9 dropped
  CHECK(data.y == std::vector<double>{3.0, 2.5, 2.4});
  CHECK(std::exp(data.x[1]) == doctest::Approx(1e10));  // D = C / (6 N)
  const auto message = [&](const std::string& spec, std::size_t drop = 0) {
    try {
      fit::select_data(law, table, fit::parse_column_map(spec), drop);
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  CHECK(message("N=params,C=flop,L=losses").find("params, flop, loss, label") != std::string::npos);
  CHECK(message("N=params,C=flop,L=loss,Q=x").find("valid roles: N, D, L, C") != std::string::npos);
  CHECK(message("N=params,D=label,L=loss").find("'a' is not a number") != std::string::npos);
  CHECK(message("N=params,L=loss").find("role D") != std::string::npos);
  CHECK(message("N=params,C=flop,L=loss", 4).find("leaves no points") != std::string::npos);
  CHECK_THROWS_AS(fit::parse_csv("a,b\n1\n", "t"), std::invalid_argument);
  CHECK_THROWS_AS(fit::read_table("/nonexistent/file.csv"), std::invalid_argument);

  fit::FitData bad = fit::select_data(law, table, fit::parse_column_map("N=params,C=flop,L=loss"));
  bad.y[0] = -1;
  CHECK_THROWS_AS(fit::fit_law(law, bad), std::invalid_argument);  // non-positive target
  bad.y[0] = 3;
  CHECK_THROWS_AS(fit::fit_law(law, bad), std::invalid_argument);  // 4 points, 5 parameters
}
