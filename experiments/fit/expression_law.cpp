// The user-written law: a muparser expression for the target, with numeric derivatives.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <deque>
#include <map>
#include <sstream>
#include <stdexcept>

#include <muParser.h>

#include "experiments/fit/law.hpp"

namespace bitsim::experiments::fit {
namespace {

// muparser asks this for every variable it meets while parsing; we give each one storage,
// so that GetUsedVar() then lists the names the expression uses.
double* collect_variable(const char* /*name*/, void* storage) {
  auto& cells = *static_cast<std::deque<double>*>(storage);
  cells.push_back(1.0);
  return &cells.back();
}

class ExpressionModel final : public PointModel {
 public:
  // `derived` names the log-scale parameters the expression assigns from exp(log_name).
  ExpressionModel(const std::string& expression, const std::vector<std::string>& params,
                  const std::vector<std::string>& inputs, const std::vector<std::string>& derived)
      : p_(params.size()), x_(inputs.size()), derived_(derived.size()) {
    for (std::size_t i = 0; i < params.size(); ++i) parser_.DefineVar(params[i], &p_[i]);
    for (std::size_t i = 0; i < derived.size(); ++i) parser_.DefineVar(derived[i], &derived_[i]);
    for (std::size_t i = 0; i < inputs.size(); ++i) parser_.DefineVar(inputs[i], &x_[i]);
    parser_.SetExpr(expression);
  }

  double log_predict(const double* p, const double* x, double* grad) override {
    for (std::size_t i = 0; i < x_.size(); ++i) x_[i] = x[i];
    for (std::size_t i = 0; i < p_.size(); ++i) p_[i] = p[i];
    const double value = log_at();
    if (grad == nullptr || !std::isfinite(value)) return value;
    // Central differences, step relative to the coordinate's size.
    for (std::size_t i = 0; i < p_.size(); ++i) {
      const double h = 1e-6 * std::max(1.0, std::abs(p[i]));
      p_[i] = p[i] + h;
      const double up = log_at();
      p_[i] = p[i] - h;
      const double down = log_at();
      p_[i] = p[i];
      grad[i] = (up - down) / (2 * h);
      if (!std::isfinite(grad[i])) return std::nan("");
    }
    return value;
  }

 private:
  double log_at() {
    try {
      const double v = parser_.Eval();
      return v > 0 ? std::log(v) : std::nan("");
    } catch (const mu::Parser::exception_type&) {
      return std::nan("");
    }
  }

  mu::Parser parser_;
  std::vector<double> p_, x_, derived_;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::stringstream stream(text);
  std::string part;
  while (std::getline(stream, part, separator)) {
    const auto first = part.find_first_not_of(" \t");
    const auto last = part.find_last_not_of(" \t");
    parts.push_back(first == std::string::npos ? "" : part.substr(first, last - first + 1));
  }
  return parts;
}

double parse_number(const std::string& text, const std::string& what) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("'" + text + "' is not a number (" + what + ")");
}

}  // namespace

Law expression_law(const std::string& expression, const std::string& params) {
  if (expression.empty()) {
    throw std::invalid_argument("--law expr needs --expr 'FORMULA' (muparser grammar), e.g. "
                                "--expr 'E + A/N^alpha + B/D^beta'");
  }
  if (params.empty()) {
    throw std::invalid_argument("--law expr needs --params name=start,... naming the parameters "
                                "of the expression, e.g. --params E=1,A=100,B=100,alpha=0.3,beta=0.3");
  }
  Law law;
  law.name = "expr";
  law.formula = "L = " + expression;
  law.source = "user expression (muparser)";
  for (const auto& item : split(params, ',')) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument("--params item '" + item + "' is not name=start[:start...]");
    }
    Parameter p;
    p.name = item.substr(0, eq);
    if (p.name.rfind("log:", 0) == 0) {
      p.log_scale = true;
      p.name = p.name.substr(4);
    }
    for (const auto& s : split(item.substr(eq + 1), ':')) {
      p.starts.push_back(parse_number(s, "start of parameter " + p.name));
    }
    law.params.push_back(p);
  }

  // Parse once to find the variables the expression uses.
  std::deque<double> storage;
  mu::Parser parser;
  parser.SetVarFactory(collect_variable, &storage);
  try {
    parser.SetExpr(expression);
    parser.Eval();
  } catch (const mu::Parser::exception_type& e) {
    throw std::invalid_argument("bad --expr '" + expression + "': " + e.GetMsg());
  }
  const auto names = law.parameter_names();
  std::vector<bool> used(names.size(), false);
  for (const auto& [name, ptr] : parser.GetUsedVar()) {
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      law.inputs.push_back(name);
      law.log_inputs.push_back(false);
    } else {
      used[std::size_t(it - names.begin())] = true;
    }
  }
  // Inputs in the order the expression first names them (muparser lists them sorted).
  std::vector<std::string> order;
  std::string token;
  for (const char c : expression + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (!token.empty() && c == '.')) {
      token += c;
    } else {
      if (!token.empty() && std::find(order.begin(), order.end(), token) == order.end()) {
        order.push_back(token);
      }
      token.clear();
    }
  }
  std::stable_sort(law.inputs.begin(), law.inputs.end(), [&](const auto& a, const auto& b) {
    return std::find(order.begin(), order.end(), a) < std::find(order.begin(), order.end(), b);
  });
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (!used[i]) {
      throw std::invalid_argument("parameter '" + names[i] + "' does not appear in --expr '" +
                                  expression + "'");
    }
  }
  if (law.inputs.empty()) {
    throw std::invalid_argument("--expr '" + expression + "' uses no input column");
  }
  // The expression's own name for the target is L; its parameters are wrapped in exp()
  // where they are fitted in log scale.
  std::string wrapped = expression;
  std::vector<std::string> model_params;
  for (const auto& p : law.params) model_params.push_back(p.name);
  const auto inputs = law.inputs;
  std::vector<std::string> derived;
  const bool any_log = std::any_of(law.params.begin(), law.params.end(),
                                   [](const Parameter& p) { return p.log_scale; });
  if (any_log) {
    // Rename log-scale parameters to a fitted variable and substitute exp(var) for them.
    std::string prefix;
    for (auto& p : law.params) {
      if (!p.log_scale) continue;
      prefix += p.name + "=exp(log_" + p.name + "),";
      derived.push_back(p.name);
    }
    wrapped = prefix + expression;
    for (auto& name : model_params) {
      const auto& p = law.params[std::size_t(&name - model_params.data())];
      if (p.log_scale) name = "log_" + name;
    }
  }
  law.make_model = [wrapped, model_params, inputs, derived] {
    return std::make_unique<ExpressionModel>(wrapped, model_params, inputs, derived);
  };
  return law;
}

}  // namespace bitsim::experiments::fit
