#include "experiments/fit/fit_report.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace bitsim::experiments::fit {

nlohmann::json fit_json(const Law& law, const FitResult& fit, const FitData& data,
                        const FitOptions& options) {
  nlohmann::json params = nlohmann::json::object();
  nlohmann::json ci = nlohmann::json::object();
  for (std::size_t k = 0; k < fit.names.size(); ++k) {
    params[fit.names[k]] = fit.values[k];
    if (!fit.ci.empty()) ci[fit.names[k]] = {fit.ci[k].first, fit.ci[k].second};
  }
  return {{"law", law.name},
          {"params", params},
          {"loss", fit.loss},
          {"r2", fit.r2},
          {"ci", ci},
          {"points", data.size()},
          {"starts", fit.starts},
          {"best_start", fit.best_start},
          {"bootstrap", fit.bootstrap_values.size()},
          {"huber_delta", options.huber_delta},
          {"reduction", options.reduction == FitOptions::Reduction::sum ? "sum" : "mean"},
          {"formula", law.formula},
          {"source", law.source}};
}

namespace {

// Closes an HDF5 handle when it goes out of scope.
struct Handle {
  hid_t id;
  herr_t (*close)(hid_t);
  ~Handle() {
    if (id >= 0) close(id);
  }
};

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("HDF5: could not " + what);
}

void string_attribute(hid_t where, const char* name, const std::string& value) {
  Handle type{H5Tcopy(H5T_C_S1), H5Tclose};
  H5Tset_size(type.id, std::max<std::size_t>(1, value.size()));
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle attr{H5Acreate2(where, name, type.id, space.id, H5P_DEFAULT, H5P_DEFAULT), H5Aclose};
  check(attr.id >= 0 && H5Awrite(attr.id, type.id, value.c_str()) >= 0,
        std::string("write attribute ") + name);
}

void double_attribute(hid_t where, const char* name, double value) {
  Handle space{H5Screate(H5S_SCALAR), H5Sclose};
  Handle attr{H5Acreate2(where, name, H5T_NATIVE_DOUBLE, space.id, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose};
  check(attr.id >= 0 && H5Awrite(attr.id, H5T_NATIVE_DOUBLE, &value) >= 0,
        std::string("write attribute ") + name);
}

void double_dataset(hid_t where, const char* name, const std::vector<double>& values,
                    std::vector<hsize_t> dims) {
  Handle space{H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose};
  Handle set{H5Dcreate2(where, name, H5T_NATIVE_DOUBLE, space.id, H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT),
             H5Dclose};
  check(set.id >= 0 && H5Dwrite(set.id, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                values.data()) >= 0,
        std::string("write dataset ") + name);
}

}  // namespace

void write_fit_hdf5(const std::filesystem::path& file, const Law& law, const FitResult& fit,
                    const nlohmann::json& json) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);  // errors become our exceptions, not stderr
  const bool exists = std::filesystem::exists(file);
  Handle f{exists ? H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                  : H5Fcreate(file.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT),
           H5Fclose};
  check(f.id >= 0, "open '" + file.string() + "' for writing");
  if (H5Lexists(f.id, "/fits", H5P_DEFAULT) <= 0) {
    Handle g{H5Gcreate2(f.id, "/fits", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
    check(g.id >= 0, "create group /fits");
  }
  const std::string path = "/fits/" + law.name;
  if (H5Lexists(f.id, path.c_str(), H5P_DEFAULT) > 0) {
    check(H5Ldelete(f.id, path.c_str(), H5P_DEFAULT) >= 0, "replace " + path);
  }
  Handle g{H5Gcreate2(f.id, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose};
  check(g.id >= 0, "create group " + path);
  std::string names;
  for (const auto& n : fit.names) names += (names.empty() ? "" : ",") + n;
  string_attribute(g.id, "law", law.name);
  string_attribute(g.id, "formula", law.formula);
  string_attribute(g.id, "source", law.source);
  string_attribute(g.id, "names", names);
  string_attribute(g.id, "json", json.dump());
  double_attribute(g.id, "loss", fit.loss);
  double_attribute(g.id, "r2", fit.r2);
  double_attribute(g.id, "points", double(fit.residuals.size()));
  double_dataset(g.id, "values", fit.values, {fit.values.size()});
  if (!fit.ci.empty()) {
    std::vector<double> ci;
    for (const auto& [lo, hi] : fit.ci) {
      ci.push_back(lo);
      ci.push_back(hi);
    }
    double_dataset(g.id, "ci", ci, {fit.ci.size(), 2});
  }
  double_dataset(g.id, "predicted", fit.predicted, {fit.predicted.size()});
  double_dataset(g.id, "residuals", fit.residuals, {fit.residuals.size()});
}

bool gnuplot_available() { return std::system("gnuplot --version > /dev/null 2>&1") == 0; }

std::vector<std::filesystem::path> plot_fit(const std::filesystem::path& prefix,
                                            const std::string& ext, const Law& law,
                                            const FitData& data, const FitResult& fit) {
  if (ext != "svg" && ext != "png") {
    throw std::invalid_argument("plot format '" + ext + "' is not one of: svg, png");
  }
  if (!gnuplot_available()) throw std::runtime_error("gnuplot is not installed; no plots written");
  const std::string terminal = ext == "svg" ? "svg size 800,600 dynamic" : "pngcairo size 800,600";
  const auto data_file = std::filesystem::path(prefix.string() + "_fit.dat");
  {
    std::ofstream out(data_file);
    out.precision(10);
    out << "# observed predicted log_residual inputs(" << law.log_inputs.size() << ")\n";
    for (std::size_t i = 0; i < data.size(); ++i) {
      out << data.y[i] << ' ' << fit.predicted[i] << ' ' << fit.residuals[i];
      for (std::size_t k = 0; k < law.inputs.size(); ++k) {
        const double v = data.x[i * law.inputs.size() + k];
        out << ' ' << (law.log_inputs[k] ? std::exp(v) : v);
      }
      out << '\n';
    }
  }
  const auto fit_file = std::filesystem::path(prefix.string() + "_fit." + ext);
  const auto residual_file = std::filesystem::path(prefix.string() + "_residuals." + ext);
  std::string script = "set terminal " + terminal + "\nset key top left\nset grid\n";
  const bool curves = law.inputs == std::vector<std::string>{"N", "D"};
  script += "set output '" + fit_file.string() + "'\n";
  if (curves) {
    // The law's curves L(D) at five model sizes spanning the data, over the points.
    std::vector<double> sizes;
    for (std::size_t i = 0; i < data.size(); ++i) sizes.push_back(std::exp(data.x[i * 2]));
    std::sort(sizes.begin(), sizes.end());
    auto model = law.make_model();
    script += "set logscale xy\nset xlabel 'tokens D'\nset ylabel '" + law.target +
              "'\nset title '" + law.name + " fit: data (colour = log10 N) and L(D) at fixed N'\n";
    script += "plot '" + data_file.string() +
              "' using 5:1:(log10($4)) with points pt 7 ps 0.6 palette notitle";
    for (int q = 0; q < 5; ++q) {
      const double n = sizes[std::size_t(q * double(sizes.size() - 1) / 4)];
      const auto curve = std::filesystem::path(prefix.string() + "_curve" + std::to_string(q) + ".dat");
      std::ofstream out(curve);
      double lo = INFINITY, hi = 0;
      for (std::size_t i = 0; i < data.size(); ++i) {
        lo = std::min(lo, std::exp(data.x[i * 2 + 1]));
        hi = std::max(hi, std::exp(data.x[i * 2 + 1]));
      }
      for (int s = 0; s <= 100; ++s) {
        const double d = lo * std::pow(hi / lo, s / 100.0);
        const double x[2] = {std::log(n), std::log(d)};
        out << d << ' ' << std::exp(model->log_predict(fit.fitted.data(), x, nullptr)) << '\n';
      }
      char title[64];
      std::snprintf(title, sizeof title, "N = %.3g", n);
      script += ", '" + curve.string() + "' using 1:2 with lines lw 2 title '" + title + "'";
    }
    script += "\n";
  } else {
    script += "set logscale xy\nset xlabel 'predicted " + law.target + "'\nset ylabel 'observed " +
              law.target + "'\nset title '" + law.name + " fit: observed against predicted'\n";
    script += "plot '" + data_file.string() + "' using 2:1 with points pt 7 ps 0.6 title 'points', x title 'y = x'\n";
  }
  script += "unset logscale\nset logscale x\nset output '" + residual_file.string() + "'\n";
  script += "set xlabel 'predicted " + law.target + "'\nset ylabel 'log(observed) - log(predicted)'\n";
  script += "set title '" + law.name + " fit: residuals'\n";
  script += "plot '" + data_file.string() + "' using 2:3 with points pt 7 ps 0.6 title 'residual', 0 title ''\n";

  FILE* pipe = popen("gnuplot", "w");
  if (pipe == nullptr) throw std::runtime_error("could not start gnuplot");
  std::fputs(script.c_str(), pipe);
  if (pclose(pipe) != 0) throw std::runtime_error("gnuplot failed on the plot script");
  return {fit_file, residual_file};
}

}  // namespace bitsim::experiments::fit
