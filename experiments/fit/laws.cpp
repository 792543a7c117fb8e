// The table of built-in scaling laws. Each formula returns log(prediction) and is written
// once as a generic lambda: called with doubles it evaluates the law, called with
// ceres::Jet it also gives the exact gradient (forward-mode automatic differentiation).
#include <array>
#include <cmath>
#include <stdexcept>
#include <type_traits>

#include <ceres/jet.h>

#include "experiments/fit/law.hpp"

namespace bitsim::experiments::fit {

double Parameter::value(double p) const { return log_scale ? std::exp(p) : p; }
double Parameter::fitted(double v) const { return log_scale ? std::log(v) : v; }

std::vector<std::string> Law::parameter_names() const {
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.name);
  return names;
}

std::size_t Law::grid_size() const {
  std::size_t n = 1;
  for (const auto& p : params) n *= p.starts.size();
  return n;
}

std::vector<double> Law::grid_start(std::size_t index) const {
  std::vector<double> start(params.size());
  for (std::size_t i = params.size(); i-- > 0;) {
    const auto& axis = params[i].starts;
    start[i] = axis[index % axis.size()];
    index /= axis.size();
  }
  return start;
}

namespace {

// log(sum_k exp(t_k)), shifted by the largest term so that nothing overflows. Works on
// doubles and on Jets (Jet comparisons compare the values).
template <class T, std::size_t K>
T log_sum_exp(const std::array<T, K>& terms) {
  using std::exp;
  using std::log;
  T top = terms[0];
  for (const T& t : terms) {
    if (t > top) top = t;
  }
  T sum(0.0);
  for (const T& t : terms) sum += exp(t - top);
  return top + log(sum);
}

template <int K, class Formula>
class FormulaModel final : public PointModel {
 public:
  explicit FormulaModel(Formula formula) : formula_(formula) {}
  double log_predict(const double* p, const double* x, double* grad) override {
    if (grad == nullptr) return formula_(p, x);
    using J = ceres::Jet<double, K>;
    std::array<J, K> q;
    for (int i = 0; i < K; ++i) q[i] = J(p[i], i);
    const J r = formula_(q.data(), x);
    for (int i = 0; i < K; ++i) grad[i] = r.v[i];
    return r.a;
  }

 private:
  Formula formula_;
};

template <int K, class Formula>
std::function<std::unique_ptr<PointModel>()> model_of(Formula formula) {
  return [formula] { return std::make_unique<FormulaModel<K, Formula>>(formula); };
}

// Start axes.
std::vector<double> steps(double first, double last, double step) {
  std::vector<double> axis;
  for (double v = first; v <= last + 1e-12; v += step) axis.push_back(v);
  return axis;
}

// The precision factor of Kumar et al.: log(1 - exp(-P / gamma)), gamma = exp(g) > 0.
template <class T>
T log_precision_factor(double bits, const T& g) {
  using std::exp;
  using std::log;
  return log(T(1.0) - exp(-bits * exp(-g)));
}

std::vector<Law> make_laws() {
  std::vector<Law> laws;

  // Hoffmann et al. 2022 (arXiv:2203.15556), Approach 3, with the grid of starts of
  // Besiroglu et al. 2024 (arXiv:2404.10102): 5 x 6 x 6 x 5 x 5 = 4,500 starts.
  {
    Law law;
    law.name = "chinchilla";
    law.formula = "L = E + A/N^alpha + B/D^beta";
    law.source = "Hoffmann et al. 2022, arXiv:2203.15556; grid of Besiroglu et al. 2024, arXiv:2404.10102";
    law.params = {{"E", true, steps(-1, 1, 0.5)},
                  {"A", true, steps(0, 25, 5)},
                  {"B", true, steps(0, 25, 5)},
                  {"alpha", false, steps(0, 2, 0.5)},
                  {"beta", false, steps(0, 2, 0.5)}};
    law.inputs = {"N", "D"};
    law.log_inputs = {true, true};
    law.make_model = model_of<5>([](const auto* p, const double* x) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      return log_sum_exp<T, 3>({p[1] - p[3] * x[0], p[2] - p[4] * x[1], p[0]});
    });
    laws.push_back(law);

    Law tied = law;
    tied.name = "chinchilla_tied";
    tied.formula = "L = E + A/N^alpha + B/D^alpha  (alpha = beta)";
    tied.params.pop_back();
    tied.make_model = model_of<4>([](const auto* p, const double* x) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      return log_sum_exp<T, 3>({p[1] - p[3] * x[0], p[2] - p[3] * x[1], p[0]});
    });
    laws.push_back(tied);
  }

  // Kumar et al. 2024 (arXiv:2411.04330): training precision shrinks the effective
  // parameter count, N_eff = N * prod_x (1 - exp(-P_x / gamma_x)), x in {w, a, kv}.
  {
    Law law;
    law.name = "kumar";
    law.formula =
        "L = E + A/N_eff^alpha + B/D^beta,  N_eff = N (1-e^(-P_w/gamma_w)) (1-e^(-P_a/gamma_a)) "
        "(1-e^(-P_kv/gamma_kv))";
    law.source = "Kumar et al. 2024, Scaling Laws for Precision, arXiv:2411.04330";
    law.params = {{"E", true, {0.0, 1.0}},          {"A", true, {0.0, 5.0, 10.0}},
                  {"B", true, {0.0, 5.0, 10.0}},    {"alpha", false, {0.3, 0.6}},
                  {"beta", false, {0.3, 0.6}},      {"gamma_w", true, {1.0}},
                  {"gamma_a", true, {1.0}},         {"gamma_kv", true, {1.0}}};
    law.inputs = {"N", "D", "P_w", "P_a", "P_kv"};
    law.log_inputs = {true, true, false, false, false};
    law.make_model = model_of<8>([](const auto* p, const double* x) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      const T log_n_eff = x[0] + log_precision_factor(x[2], p[5]) +
                          log_precision_factor(x[3], p[6]) + log_precision_factor(x[4], p[7]);
      return log_sum_exp<T, 3>({p[1] - p[3] * log_n_eff, p[2] - p[4] * x[1], p[0]});
    });
    laws.push_back(law);

    // Plus the post-training-quantization degradation
    // delta_PTQ = C_T * D^gamma_D / N^gamma_N * exp(-P_post / gamma_post).
    Law ptq = law;
    ptq.name = "kumar_ptq";
    ptq.formula = law.formula + " + C_T D^gamma_D / N^gamma_N e^(-P_post/gamma_post)";
    ptq.params.push_back({"C_T", true, {-3.0}});
    ptq.params.push_back({"gamma_D", false, {0.5}});
    ptq.params.push_back({"gamma_N", false, {0.5}});
    ptq.params.push_back({"gamma_post", true, {0.0}});
    ptq.inputs.push_back("P_post");
    ptq.log_inputs.push_back(false);
    ptq.make_model = model_of<12>([](const auto* p, const double* x) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      using std::exp;
      const T log_n_eff = x[0] + log_precision_factor(x[2], p[5]) +
                          log_precision_factor(x[3], p[6]) + log_precision_factor(x[4], p[7]);
      return log_sum_exp<T, 4>({p[1] - p[3] * log_n_eff, p[2] - p[4] * x[1], p[0],
                                p[8] + p[9] * x[1] - p[10] * x[0] - x[5] * exp(-p[11])});
    });
    laws.push_back(ptq);
  }

  // Sun et al. 2025 (arXiv:2501.02423, Eq. 26, the "Capybara" law): exponent bits E,
  // mantissa bits M and scaling block size B of floating-point quantized training.
  {
    Law law;
    law.name = "sun";
    law.formula =
        "L = n/N^alpha + d/D^beta + epsilon + D^beta/N^alpha * log2(B) / (gamma (E+0.5)^delta "
        "(M+0.5)^nu)";
    law.source = "Sun et al. 2025, Scaling Laws for Floating-Point Quantization Training, arXiv:2501.02423";
    law.params = {{"n", true, {0.0, 8.0}},      {"alpha", false, {0.25, 0.5}},
                  {"d", true, {0.0, 10.0}},     {"beta", false, {0.25, 0.5}},
                  {"epsilon", true, {0.5}},     {"gamma", true, {5.0, 10.0}},
                  {"delta", false, {2.0}},      {"nu", false, {2.0}}};
    law.inputs = {"N", "D", "E", "M", "B"};
    law.log_inputs = {true, true, false, false, false};
    law.make_model = model_of<8>([](const auto* p, const double* x) {
      using T = std::remove_cv_t<std::remove_pointer_t<decltype(p)>>;
      const double log_log2_block = std::log(std::log2(x[4]));
      const T quantization = p[3] * x[1] - p[1] * x[0] + log_log2_block - p[5] -
                             p[6] * std::log(x[2] + 0.5) - p[7] * std::log(x[3] + 0.5);
      return log_sum_exp<T, 4>({p[0] - p[1] * x[0], p[2] - p[3] * x[1], p[4], quantization});
    });
    laws.push_back(law);
  }

  // Ouyang et al. 2024 (arXiv:2411.17691): quantization-induced degradation of a model
  // quantized to P bits after training, dL = k D^beta / (N^alpha P^gamma).
  {
    Law law;
    law.name = "ouyang";
    law.formula = "dL = k D^beta / (N^alpha P^gamma)";
    law.source = "Ouyang et al. 2024, Low-Bit Quantization Favors Undertrained LLMs, arXiv:2411.17691";
    law.params = {{"k", true, {-3.0, 0.0}},
                  {"alpha", false, {0.5}},
                  {"beta", false, {0.5}},
                  {"gamma", false, {1.0, 5.0}}};
    law.inputs = {"N", "D", "P"};
    law.log_inputs = {true, true, true};
    law.target = "dL";
    law.make_model = model_of<4>([](const auto* p, const double* x) {
      return p[0] + p[2] * x[1] - p[1] * x[0] - p[3] * x[2];
    });
    laws.push_back(law);
  }
  return laws;
}

}  // namespace

const std::vector<Law>& builtin_laws() {
  static const std::vector<Law> laws = make_laws();
  return laws;
}

std::string law_names() {
  std::string names;
  for (const auto& law : builtin_laws()) names += law.name + ", ";
  return names + "expr";
}

const Law& find_law(std::string_view name) {
  for (const auto& law : builtin_laws()) {
    if (law.name == name) return law;
  }
  throw std::invalid_argument("unknown law '" + std::string(name) + "'; valid laws: " + law_names());
}

}  // namespace bitsim::experiments::fit
