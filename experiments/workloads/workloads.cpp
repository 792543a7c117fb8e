#include <algorithm>
#include <stdexcept>

#include "experiments/workloads/workload.hpp"
#include "formats/format.hpp"
#include "formats/rounding.hpp"
#include "sim/gemm/accum_spec.hpp"
#include "sim/quant/quant_spec.hpp"

namespace bitsim::experiments {

// Each workload's file defines its entry; this table lists them (add one line each).
Workload summation_workload();
Workload attention_bias_workload();
Workload training_workload();

const std::vector<Workload>& workloads() {
  static const std::vector<Workload> table = [] {
    std::vector<Workload> t;
    t.push_back(summation_workload());
    t.push_back(attention_bias_workload());
    t.push_back(training_workload());
    return t;
  }();
  return table;
}

const Workload* find_workload(const std::string& name) {
  for (const auto& w : workloads())
    if (w.name == name) return &w;
  return nullptr;
}

std::string workload_names() {
  std::string out;
  for (const auto& w : workloads()) out += (out.empty() ? "" : ", ") + w.name;
  return out.empty() ? "(none built in)" : out;
}

const std::string& WorkloadParams::text(const std::string& name) const {
  const auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("workload parameter '" + name + "' is not declared");
  return it->second;
}
std::int64_t WorkloadParams::integer(const std::string& name) const { return std::stoll(text(name)); }
double WorkloadParams::real(const std::string& name) const { return std::stod(text(name)); }
bool WorkloadParams::boolean(const std::string& name) const { return text(name) == "true"; }

namespace {
std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Runs a parser and rethrows its message as std::invalid_argument.
template <class Parse>
std::function<void(const std::string&)> checker(Parse parse) {
  return [parse](const std::string& text) {
    try {
      parse(text);
    } catch (const std::invalid_argument&) {
      throw;
    } catch (const std::exception& e) {
      throw std::invalid_argument(e.what());
    }
  };
}
}  // namespace

std::function<void(const std::string&)> check_one_of(std::vector<std::string> choices) {
  return [choices](const std::string& text) {
    if (std::find(choices.begin(), choices.end(), text) == choices.end())
      throw std::invalid_argument("unknown value '" + text + "'; valid: " + join(choices));
  };
}

std::function<void(const std::string&)> check_integer(std::int64_t min) {
  return [min](const std::string& text) {
    std::size_t used = 0;
    std::int64_t value = 0;
    try {
      value = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size()) throw std::invalid_argument("'" + text + "' is not an integer");
    if (value < min) throw std::invalid_argument("'" + text + "' is below the minimum " + std::to_string(min));
  };
}

std::function<void(const std::string&)> check_real(double min) {
  return [min](const std::string& text) {
    std::size_t used = 0;
    double value = 0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (text.empty() || used != text.size() || !(value == value)) throw std::invalid_argument("'" + text + "' is not a number");
    if (value < min) throw std::invalid_argument("'" + text + "' is below the minimum " + std::to_string(min));
  };
}

std::function<void(const std::string&)> check_format() {
  return checker([](const std::string& t) { (void)formats::Format::parse(t); });
}
std::function<void(const std::string&)> check_quant_spec() {
  return checker([](const std::string& t) { (void)sim::parse_quant_spec(t); });
}
std::function<void(const std::string&)> check_accum_spec() {
  return checker([](const std::string& t) {
    if (t != "default") sim::AccumSpec::parse(t).validate();
  });
}
std::function<void(const std::string&)> check_rounding() {
  return checker([](const std::string& t) { (void)formats::parse_rounding(t); });
}

}  // namespace bitsim::experiments
