#pragma once
// A scaling law as data: its name, parameters (with the coordinate they are fitted in and
// the grid of starting points), the input columns it reads, and the model that predicts
// log(target) with its gradient. Every law bitsim knows lives in one table (laws.cpp);
// adding one is one entry there. See experiments/fit/README.md for each law's source.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bitsim::experiments::fit {

struct Parameter {
  std::string name;            // as reported, e.g. "A" or "alpha"
  bool log_scale = false;      // fitted as p = log(value), so value = exp(p) stays > 0
  std::vector<double> starts;  // starting points in the fitted coordinate (a grid axis)

  double value(double fitted) const;   // fitted coordinate -> reported value
  double fitted(double value) const;   // reported value -> fitted coordinate
};

// Predicts log(target) at one data point. Not shared between threads: a model may own
// scratch state (the expression law owns a parser).
class PointModel {
 public:
  virtual ~PointModel() = default;
  // p: fitted coordinates (one per parameter); x: the point's inputs in Law::inputs order.
  // Writes d/dp log(prediction) into grad when grad is not null. Returns NaN where the
  // prediction is not positive (the optimiser then shortens its step).
  virtual double log_predict(const double* p, const double* x, double* grad) = 0;
};

struct Law {
  std::string name;
  std::string formula;      // human-readable, as in the README
  std::string source;       // paper (arXiv id)
  std::vector<Parameter> params;
  std::vector<std::string> inputs;  // column roles, e.g. {"N", "D"}
  // Which inputs the model receives as their natural logarithm (taken once, when the data
  // are loaded, not at every evaluation); the others arrive as read.
  std::vector<bool> log_inputs;
  std::string target = "L";         // the role of the fitted column
  std::function<std::unique_ptr<PointModel>()> make_model;

  std::vector<std::string> parameter_names() const;
  std::size_t grid_size() const;  // product of the start-axis lengths
  // Start number `index` of the grid (row-major over params, last parameter fastest).
  std::vector<double> grid_start(std::size_t index) const;
};

// The built-in laws: chinchilla, chinchilla_tied, kumar, kumar_ptq, sun, ouyang.
const std::vector<Law>& builtin_laws();
// The law called `name`; throws std::invalid_argument listing the valid names.
const Law& find_law(std::string_view name);
// The names of the built-in laws plus "expr", comma-separated (for messages and --help).
std::string law_names();

// A user-written law: `expression` (muparser grammar) gives the target L itself; the
// names in `params` are parameters ("name=start" or "name=s1:s2:s3", prefix "log:" to
// fit log(value)), every other variable in the expression is an input column role.
// Throws std::invalid_argument with muparser's message for a malformed expression.
Law expression_law(const std::string& expression, const std::string& params);

}  // namespace bitsim::experiments::fit
