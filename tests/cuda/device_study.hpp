#pragma once
// The sweep the device suites run on two devices and compare (test_device_selection: the
// CPU against a counting stand-in device; test_cuda_sweep: the CPU against the GPU). Its
// points take every route of sim/device.hpp: plain casts (float spans, stochastic,
// posits), scaled element formats (double spans), block formats the GPU covers and one it
// does not (q8_0, CPU fallback), and the GEMM with several accumulator models.
#include <bit>
#include <cstdint>
#include <string>
#include <variant>

#include "experiments/results/results_file.hpp"

namespace bitsim::device_test {

inline const std::string kDeviceStudy = R"yaml(name: device_study
model: {synthetic: student_t, nu: 5, shape: [32, 128], gemm_n: 8, seed: 3}
sweep:
  weights: [bf16, "e5m2:sr(seed=3)", posit8, "e4m3fn:per_tensor", "int4:per_group(32):sr(seed=1)", mxfp4, nvfp4, q8_0]
  activations: ["e4m3fn:per_tensor"]
  accum: [default, "acc=bf16:sr,seed=1", "acc=bf16,chunk=32", "acc=fp16,order=pairwise"]
)yaml";

// "" when the two tables hold the same points and cells, bit for bit (reals compared as
// patterns); else the first difference.
inline std::string first_difference(const experiments::ResultsTable& x, const experiments::ResultsTable& y) {
  if (x.rows.size() != y.rows.size() || x.columns.size() != y.columns.size()) return "different table shapes";
  for (std::size_t r = 0; r < x.rows.size(); ++r) {
    const auto &u = x.rows[r], &v = y.rows[r];
    if (u.index != v.index || u.cells.size() != v.cells.size()) return "row " + std::to_string(r) + " differs in shape";
    for (std::size_t c = 0; c < u.cells.size(); ++c) {
      const auto *a = std::get_if<double>(&u.cells[c]), *b = std::get_if<double>(&v.cells[c]);
      const bool same = a && b ? std::bit_cast<std::uint64_t>(*a) == std::bit_cast<std::uint64_t>(*b) : u.cells[c] == v.cells[c];
      if (!same) return "point " + std::to_string(u.index) + ", column " + x.columns[c].name + " differs";
    }
  }
  return "";
}

}  // namespace bitsim::device_test
