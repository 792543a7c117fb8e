// `bitsim fit` as a script uses it: the JSON contract, exit status 2 with the valid choices
// for an unknown law, role or column, bootstrap intervals, the HDF5 group and the plots.
#include <doctest/doctest.h>

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "experiments/fit/fit_report.hpp"
#include "experiments/results/results_file.hpp"
#include "tests/cli/run_bitsim.hpp"
#include "tests/experiments/fit_synthetic.hpp"
#include "tests/support/temp_dir.hpp"

namespace {

using bitsim::cli_test::run_bitsim;
namespace fit = bitsim::experiments::fit;
using bitsim::testing::TempDir;

const std::vector<double> kTruth = {1.69, 406.4, 410.7, 0.34, 0.28};
const char* kStarts = "E=0,A=0:5,B=0:5,alpha=0.5,beta=0.5";

std::filesystem::path write_points(const TempDir& dir) {
  const auto& law = fit::find_law("chinchilla");
  const auto data = bitsim::fit_test::synthetic_data(law, kTruth, bitsim::fit_test::chinchilla_grid());
  const auto file = dir.path / "points.csv";
  std::ofstream out(file);
  out.precision(17);
  out << "params,tokens,loss\n";
  for (std::size_t i = 0; i < data.size(); ++i) {
    out << std::exp(data.x[2 * i]) << ',' << std::exp(data.x[2 * i + 1]) << ',' << data.y[i] << '\n';
  }
  return file;
}

}  // namespace

TEST_CASE("bitsim fit --json: the contract's keys and the recovered constants") {
  TempDir dir;
  const auto csv = write_points(dir);
  const auto r = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(), "--columns",
                             "N=params,D=tokens,L=loss", "--json", "--starts", kStarts});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["law"] == "chinchilla");
  const char* names[] = {"E", "A", "B", "alpha", "beta"};
  for (int k = 0; k < 5; ++k) {
    INFO(names[k]);
    CHECK(j["params"][names[k]].get<double>() == doctest::Approx(kTruth[k]).epsilon(1e-6));
  }
  CHECK(j["loss"].get<double>() < 1e-16);
  CHECK(j["r2"].get<double>() == doctest::Approx(1.0));
  CHECK(j["ci"].is_object());
  CHECK(j["ci"].empty());
  CHECK(j["starts"] == 4);
}

TEST_CASE("bitsim fit --bootstrap gives an interval per parameter; the text form prints them") {
  TempDir dir;
  const auto csv = write_points(dir);
  const auto r = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(), "--columns",
                             "N=params,D=tokens,L=loss", "--json", "--starts", kStarts,
                             "--bootstrap", "20", "--drop-top", "2"});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["points"] == 78);
  for (const char* name : {"E", "A", "B", "alpha", "beta"}) {
    REQUIRE(j["ci"].contains(name));
    CHECK(j["ci"][name][0].get<double>() <= j["ci"][name][1].get<double>());
  }
  const auto text = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(), "--columns",
                                "N=params,D=tokens,L=loss", "--starts", kStarts});
  REQUIRE(text.exit_status == 0);
  CHECK(text.out.find("alpha") != std::string::npos);
  CHECK(text.out.find("R^2") != std::string::npos);
}

TEST_CASE("bitsim fit: unknown law, role, column or parameter -> exit 2 with the valid choices") {
  TempDir dir;
  const auto csv = write_points(dir);
  const auto law = run_bitsim({"fit", "--law", "chinchila", "--input", csv.string()});
  CHECK(law.exit_status == 2);
  for (const char* name : {"chinchilla", "chinchilla_tied", "kumar", "kumar_ptq", "sun", "ouyang", "expr"}) {
    CHECK(law.err.find(name) != std::string::npos);
  }
  const auto column = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(),
                                  "--columns", "N=params,D=tokens,L=los"});
  CHECK(column.exit_status == 2);
  CHECK(column.err.find("params, tokens, loss") != std::string::npos);
  const auto role = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(),
                                "--columns", "N=params,T=tokens,L=loss"});
  CHECK(role.exit_status == 2);
  CHECK(role.err.find("N, D, L, C") != std::string::npos);
  const auto missing = run_bitsim({"fit", "--law", "chinchilla", "--input", (dir.path / "none.csv").string()});
  CHECK(missing.exit_status == 2);
  const auto start = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(), "--columns",
                                 "N=params,D=tokens,L=loss", "--starts", "gamma=1"});
  CHECK(start.exit_status == 2);
  CHECK(start.err.find("E, A, B, alpha, beta") != std::string::npos);
  const auto reduction = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(),
                                     "--reduction", "median"});
  CHECK(reduction.exit_status == 2);
}

TEST_CASE("bitsim fit --law expr fits a user formula") {
  TempDir dir;
  const auto csv = write_points(dir);
  const auto r = run_bitsim({"fit", "--law", "expr", "--expr", "E + A/N^alpha + B/D^beta", "--params",
                             "E=0.5,log:A=0:5,log:B=0:5,alpha=0.5,beta=0.5", "--input", csv.string(),
                             "--columns", "N=params,D=tokens,L=loss", "--json"});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["params"]["alpha"].get<double>() == doctest::Approx(0.34).epsilon(1e-5));
  CHECK(j["params"]["B"].get<double>() == doctest::Approx(410.7).epsilon(1e-5));
}

TEST_CASE("bitsim fit --hdf5-out writes /fits/<law>; --plot writes SVG figures (or says why not)") {
  TempDir dir;
  const auto csv = write_points(dir);
  const auto h5 = dir.path / "fits.h5";
  const auto prefix = dir.path / "chinchilla";
  const auto r = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(), "--columns",
                             "N=params,D=tokens,L=loss", "--json", "--starts", kStarts,
                             "--hdf5-out", h5.string(), "--plot", prefix.string()});
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);

  const hid_t file = H5Fopen(h5.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t set = H5Dopen2(file, "/fits/chinchilla/values", H5P_DEFAULT);
  REQUIRE(set >= 0);
  double values[5] = {};
  CHECK(H5Dread(set, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) >= 0);
  CHECK(values[0] == j["params"]["E"].get<double>());
  CHECK(values[4] == j["params"]["beta"].get<double>());
  H5Dclose(set);
  CHECK(H5Lexists(file, "/fits/chinchilla/residuals", H5P_DEFAULT) > 0);
  H5Fclose(file);

  // A second fit into the same file replaces the group.
  const auto again = run_bitsim({"fit", "--law", "chinchilla", "--input", csv.string(), "--columns",
                                 "N=params,D=tokens,L=loss", "--starts", kStarts, "--hdf5-out", h5.string()});
  CHECK(again.exit_status == 0);

  if (fit::gnuplot_available()) {
    for (const char* suffix : {"_fit.svg", "_residuals.svg"}) {
      const auto svg = std::filesystem::path(prefix.string() + suffix);
      REQUIRE(std::filesystem::exists(svg));
      std::ifstream in(svg);
      const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CHECK(text.find("<svg") != std::string::npos);
    }
  } else {
    CHECK(r.err.find("plots skipped") != std::string::npos);
  }
}

TEST_CASE("bitsim fit reads a bitsim results file (HDF5) by column name") {
  TempDir dir;
  const auto h5 = dir.path / "study.h5";
  {
    using namespace bitsim::experiments;
    RunInfo info;
    info.config_text = "synthetic";
    info.config_hash = "0";
    info.grid_size = 80;
    auto writer = ResultsWriter::create(
        h5, {{"label", Column::Kind::text}, {"N", Column::Kind::real}, {"tokens", Column::Kind::real},
             {"loss", Column::Kind::real}},
        info);
    const auto& law = fit::find_law("chinchilla");
    const auto data = bitsim::fit_test::synthetic_data(law, kTruth, bitsim::fit_test::chinchilla_grid());
    for (std::size_t i = 0; i < data.size(); ++i) {
      PointResult row;
      row.index = i;
      row.cells = {std::string("p") + std::to_string(i), std::exp(data.x[2 * i]),
                   std::exp(data.x[2 * i + 1]), data.y[i]};
      writer.add(row);
    }
    writer.finish("now");
  }
  const auto r = run_bitsim({"fit", "--law", "chinchilla", "--input", h5.string(), "--columns",
                             "D=tokens,L=loss", "--json", "--starts", kStarts});
  INFO(r.err);
  REQUIRE(r.exit_status == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["points"] == 80);
  CHECK(j["params"]["alpha"].get<double>() == doctest::Approx(0.34).epsilon(1e-6));
  const auto bad = run_bitsim({"fit", "--law", "chinchilla", "--input", h5.string(), "--columns",
                               "D=label,L=loss"});
  CHECK(bad.exit_status == 2);
  CHECK(bad.err.find("not a number") != std::string::npos);
}
