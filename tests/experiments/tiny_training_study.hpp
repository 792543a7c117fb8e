#pragma once
// The tiny training study the runner suites share: a d = 16, 1-layer GPT (2 heads, 16
// tokens, batch 4) on the built-in text, recipes fp32 and an E2M1 fake quantization, token
// budgets 256 and 512 (4 and 8 steps), seed 3. Each suite adds its own workload lines
// (e.g. "  eval_every: 3\n"), its PTQ axis and any top-level lines after the sweep.
#include <string>

namespace bitsim::testing {

inline std::string tiny_training_study(const std::string& name, const std::string& workload_lines,
                                       const std::string& ptq_axis, const std::string& tail = "") {
  return "name: " + name +
         "\n"
         "workload:\n"
         "  kind: training\n"
         "  data: builtin\n"
         "  layers: 1\n"
         "  heads: 2\n"
         "  seq: 16\n"
         "  batch: 4\n"
         "  eval_windows: 4\n" +
         workload_lines +
         "  accum: default\n"
         "sweep:\n"
         "  recipe: [fp32, \"fake:fp<e=2,m=1,specials=none>:per_group(16)\"]\n"
         "  d_model: 16\n"
         "  tokens: [256, 512]\n"
         "  ptq: " +
         ptq_axis +
         "\n"
         "  seed: 3\n" +
         tail;
}

}  // namespace bitsim::testing
