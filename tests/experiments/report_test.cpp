// experiments/report and the merge/report commands: table queries, the Pareto front
// against a brute-force reference, and `bitsim report` / `bitsim merge` run as a script would.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "experiments/report/gnuplot.hpp"
#include "experiments/report/pareto.hpp"
#include "experiments/report/plot_choices.hpp"
#include "experiments/report/table_query.hpp"
#include "experiments/results/results_file.hpp"
#include "tests/cli/run_bitsim.hpp"
#include "tests/experiments/results_fixtures.hpp"

namespace {

using namespace bitsim::experiments;
using namespace bitsim::experiments::report;
using namespace bitsim::results_test;
using bitsim::cli_test::lines_of;
using bitsim::cli_test::run_bitsim;
using bitsim::cli_test::words_of;
namespace fs = std::filesystem;

// Reference: a point is on the front when no other point dominates it (checked pairwise).
std::set<std::size_t> dominance_front(const std::vector<double>& cost, const std::vector<double>& quality) {
  std::set<std::size_t> front;
  for (std::size_t i = 0; i < cost.size(); ++i) {
    if (!std::isfinite(cost[i]) || !std::isfinite(quality[i])) continue;
    bool dominated = false;
    for (std::size_t j = 0; j < cost.size() && !dominated; ++j) {
      if (j == i || !std::isfinite(cost[j]) || !std::isfinite(quality[j])) continue;
      const bool no_worse = cost[j] <= cost[i] && quality[j] >= quality[i];
      const bool strictly = cost[j] < cost[i] || quality[j] > quality[i];
      // Exact duplicates: the earlier one stands for both.
      dominated = no_worse && (strictly || j < i);
    }
    if (!dominated) front.insert(i);
  }
  return front;
}

TEST_CASE("pareto_front equals the pairwise dominance definition") {
  std::mt19937_64 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + random() % 40;
    std::vector<double> cost(n), quality(n);
    for (std::size_t i = 0; i < n; ++i) {
      cost[i] = double(random() % 8);            // few distinct values: many ties
      quality[i] = double(random() % 10) / 2;
      if (random() % 17 == 0) quality[i] = std::nan("");
    }
    const auto front = pareto_front(cost, quality, true);
    CHECK(std::set<std::size_t>(front.begin(), front.end()) == dominance_front(cost, quality));
    for (std::size_t k = 1; k < front.size(); ++k) CHECK(cost[front[k - 1]] < cost[front[k]]);
    // Lower-is-better is the same question on the negated quality.
    std::vector<double> negated(n);
    for (std::size_t i = 0; i < n; ++i) negated[i] = -quality[i];
    const auto low = pareto_front(cost, negated, false);
    CHECK(std::set<std::size_t>(low.begin(), low.end()) == dominance_front(cost, quality));
  }
}

TEST_CASE("filters and sorting select the rows a literal loop selects") {
  ScratchFolder scratch;
  write_synthetic(scratch / "run.h5");
  const ResultsTable table = read_results(scratch / "run.h5");

  TableQuery query;
  query.filters = {parse_filter("format=e2m1,e4m3fn"), parse_filter("block>=32")};
  std::vector<std::size_t> expected;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const auto& format = std::get<std::string>(table.rows[r].cells[0]);
    if ((format == "e2m1" || format == "e4m3fn") && std::get<std::int64_t>(table.rows[r].cells[2]) >= 32) {
      expected.push_back(r);
    }
  }
  CHECK(select_rows(table, query) == expected);

  query.sort_by = {"sqnr_db"};
  query.descending = true;
  const auto sorted = select_rows(table, query);
  REQUIRE(sorted.size() == expected.size());
  for (std::size_t k = 1; k < sorted.size(); ++k) {
    CHECK(std::get<double>(table.rows[sorted[k - 1]].cells[4]) >= std::get<double>(table.rows[sorted[k]].cells[4]));
  }
  // NaN (mse of point 5) sorts last in both directions.
  for (bool descending : {false, true}) {
    TableQuery by_mse;
    by_mse.sort_by = {"mse"};
    by_mse.descending = descending;
    CHECK(select_rows(table, by_mse).back() == 5);
  }
  TableQuery not_rne;
  not_rne.filters = {parse_filter("rounding!=rne"), parse_filter("index<6")};
  CHECK(select_rows(table, not_rne) == std::vector<std::size_t>{2, 3});

  CHECK_THROWS_WITH_AS(parse_filter("format"), doctest::Contains("expected COLUMN=VALUE"), std::invalid_argument);
  TableQuery bad;
  bad.filters = {parse_filter("nope=1")};
  CHECK_THROWS_WITH_AS(select_rows(table, bad), doctest::Contains("columns: index, format, rounding"),
                       std::invalid_argument);
  bad.filters = {parse_filter("format<3")};
  CHECK_THROWS_WITH_AS(select_rows(table, bad), doctest::Contains("text column"), std::invalid_argument);
  bad.filters = {parse_filter("block>=x")};
  CHECK_THROWS_WITH_AS(select_rows(table, bad), doctest::Contains("not a number"), std::invalid_argument);
}

TEST_CASE("default plot columns") {
  ScratchFolder scratch;
  write_synthetic(scratch / "run.h5");
  ResultsTable table = read_results(scratch / "run.h5");
  CHECK(default_bits_column(table) == "bits_per_element");
  CHECK(default_metric_column(table, "bits_per_element") == "sqnr_db");
  CHECK(default_group_column(table, {0, 1, 2, 3, 4}) == "format");
  CHECK(default_group_column(table, {0, 2}) == "rounding");  // format does not vary there
  CHECK(default_heatmap_array(table) == "sqnr_per_layer");
  table.columns[3].name = "weights_bits";
  CHECK(default_bits_column(table) == "weights_bits");
  CHECK(higher_is_better("sqnr_db"));
  CHECK(higher_is_better("top1"));
  CHECK_FALSE(higher_is_better("mse"));
  CHECK_FALSE(higher_is_better("kl_mean"));
  CHECK_FALSE(higher_is_better("delta_ppl"));
}

TEST_CASE("bitsim report prints the filtered, sorted table and the Pareto front") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_synthetic(path);
  const auto result = run_bitsim({"report", path.string(), "--where", "rounding=sr", "--sort", "sqnr_db",
                                  "--columns", "index,format,sqnr_db", "--precision", "4", "--no-plots"});
  INFO(result.out, result.err);
  REQUIRE(result.exit_status == 0);
  const auto lines = lines_of(result.out);
  REQUIRE(lines.size() >= 9);
  CHECK(lines[0].find("12 of 12 grid points (complete), config c0ffee") != std::string::npos);
  CHECK(lines[1] == "6 rows match the filters");
  CHECK(words_of(lines[3]) == std::vector<std::string>{"index", "format", "sqnr_db"});
  // sr rows: 2, 3, 6, 7, 10, 11; ascending SQNR puts the e2m1 ones first.
  std::vector<std::string> order;
  for (std::size_t k = 4; k < 10; ++k) order.push_back(words_of(lines[k])[0]);
  CHECK(order == std::vector<std::string>{"7", "6", "3", "11", "2", "10"});
  CHECK(words_of(lines[4]) == std::vector<std::string>{"7", "e2m1", "25.33"});
  CHECK(result.out.find("Pareto front of sqnr_db (higher is better) vs bits_per_element: 2 of 6 rows") !=
        std::string::npos);

  const auto unknown = run_bitsim({"report", path.string(), "--sort", "nope", "--no-plots"});
  CHECK(unknown.exit_status == 2);
  CHECK(unknown.err.find("no column 'nope' in the results; columns: index, format") != std::string::npos);

  write_bytes(scratch / "junk.h5", "not a results file");
  const auto junk = run_bitsim({"report", (scratch / "junk.h5").string()});
  CHECK(junk.exit_status == 1);
  CHECK(junk.err.find("not an HDF5 file") != std::string::npos);
}

TEST_CASE("bitsim report draws SVG and PNG plots with gnuplot") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_synthetic(path);
  if (!find_gnuplot()) {
    MESSAGE("skipped: gnuplot not found (apt-get install gnuplot-nox)");
    return;
  }
  const auto result = run_bitsim({"report", path.string()});  // default folder: run-plots beside the file
  INFO(result.out, result.err);
  REQUIRE(result.exit_status == 0);
  for (const char* name : {"metric_vs_bits", "pareto", "layer_heatmap"}) {
    CAPTURE(name);
    const std::string svg = file_bytes(scratch / "run-plots" / (std::string(name) + ".svg"));
    const std::string png = file_bytes(scratch / "run-plots" / (std::string(name) + ".png"));
    CHECK(svg.find("<svg") != std::string::npos);
    CHECK(png.substr(0, 4) == "\x89PNG");
    CHECK(fs::exists(scratch / "run-plots" / (std::string(name) + ".gp")));
    CHECK(result.out.find(std::string(name) + ".svg") != std::string::npos);
  }
  // The Pareto data holds exactly the front the table shows.
  CHECK(lines_of(file_bytes(scratch / "run-plots" / "pareto_front.dat")).size() == 2);

  // SVG only, another folder, no per-point arrays: the heat map is skipped with a note.
  write_synthetic(scratch / "plain.h5", {}, synthetic_info(), false);
  const auto plain = run_bitsim({"report", (scratch / "plain.h5").string(), "--plots", (scratch / "figs").string(),
                                 "--plot-format", "svg", "--metric", "mse", "--group", "rounding"});
  INFO(plain.out, plain.err);
  REQUIRE(plain.exit_status == 0);
  CHECK(fs::exists(scratch / "figs" / "metric_vs_bits.svg"));
  CHECK_FALSE(fs::exists(scratch / "figs" / "metric_vs_bits.png"));
  CHECK(plain.err.find("no heat map: the file has no per-point arrays") != std::string::npos);
  CHECK(plain.out.find("Pareto front of mse (lower is better)") != std::string::npos);
}

TEST_CASE("without gnuplot the report still writes data and scripts, and says so") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_synthetic(path);
  setenv("BITSIM_GNUPLOT", "", 1);
  const auto result = run_bitsim({"report", path.string(), "--plots", (scratch / "figs").string()});
  unsetenv("BITSIM_GNUPLOT");
  REQUIRE(result.exit_status == 0);
  CHECK(result.err.find("gnuplot not found") != std::string::npos);
  CHECK(fs::exists(scratch / "figs" / "pareto.gp"));
  CHECK(fs::exists(scratch / "figs" / "pareto.dat"));
  CHECK_FALSE(fs::exists(scratch / "figs" / "pareto.svg"));
}

TEST_CASE("bitsim merge joins shards and refuses overlapping ones") {
  ScratchFolder scratch;
  write_synthetic(scratch / "shard0.h5", {0, 1, 2, 3, 4, 5}, synthetic_info("host-a", "0/2"));
  write_synthetic(scratch / "shard1.h5", {6, 7, 8, 9, 10, 11}, synthetic_info("host-b", "1/2"));
  write_synthetic(scratch / "single.h5");
  const auto merged = run_bitsim({"merge", (scratch / "all.h5").string(), (scratch / "shard0.h5").string(),
                                  (scratch / "shard1.h5").string()});
  INFO(merged.out, merged.err);
  REQUIRE(merged.exit_status == 0);
  CHECK(merged.out.find("12 of 12 grid points (complete)") != std::string::npos);
  const ResultsTable all = read_results(scratch / "all.h5"), single = read_results(scratch / "single.h5");
  REQUIRE(all.rows.size() == single.rows.size());
  for (std::size_t r = 0; r < all.rows.size(); ++r) CHECK(all.rows[r].index == single.rows[r].index);

  const auto partial = run_bitsim({"merge", (scratch / "half.h5").string(), (scratch / "shard1.h5").string()});
  CHECK(partial.exit_status == 0);
  CHECK(partial.out.find("6 of 12 grid points (6 missing") != std::string::npos);

  const auto overlap = run_bitsim({"merge", (scratch / "bad.h5").string(), (scratch / "shard0.h5").string(),
                                   (scratch / "single.h5").string()});
  CHECK(overlap.exit_status == 1);
  CHECK(overlap.err.find("point 0 is in both") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch / "bad.h5"));
  const auto exists = run_bitsim({"merge", (scratch / "all.h5").string(), (scratch / "shard0.h5").string()});
  CHECK(exists.exit_status == 1);
  CHECK(exists.err.find("already exists") != std::string::npos);
}

}  // namespace
