#include "sim/kernels/rope.hpp"

#include <cmath>
#include <string>

#include "sim/kernels/rows.hpp"

namespace bitsim::sim {

TensorF rope(const TensorF& x, const RopeSpec& spec) {
  if (x.rank() < 2)
    throw std::invalid_argument("rope: x has shape " + shape_string(x.shape()) +
                                "; expected [..., T, D] (rank >= 2)");
  const Index T = x.size(-2), D = x.size(-1);
  const Index r = spec.rotary_dims == 0 ? D : spec.rotary_dims;
  if (r < 0 || r > D || r % 2 != 0)
    throw std::invalid_argument("rope: rotary_dims " + std::to_string(spec.rotary_dims) +
                                " must be even and at most D = " + std::to_string(D) + " (0 means D)");
  if (!(spec.base > 0) || !std::isfinite(spec.base))
    throw std::invalid_argument("rope: base must be a positive finite number");
  if (spec.position_offset < 0) throw std::invalid_argument("rope: position_offset must be >= 0");

  const TensorF in = x.contiguous();
  TensorF out(x.shape());
  if (out.empty()) return out;
  const float* src = in.data();
  float* dst = out.data();
  const Index half = r / 2;
  detail::for_each_row(out.numel() / D, D, [&](Index row) {
    const Index pos = spec.position_offset + row % T;
    const float* a = src + row * D;
    float* y = dst + row * D;
    for (Index i = 0; i < half; ++i) {
      const double angle = static_cast<double>(pos) * std::pow(spec.base, -2.0 * static_cast<double>(i) / r);
      const auto table_index = static_cast<std::uint64_t>(2 * (i + half * pos));
      const double c = spec.table.round(std::cos(angle), table_index);
      const double s = spec.table.round(std::sin(angle), table_index + 1);
      const Index i0 = spec.layout == RopeLayout::interleaved ? 2 * i : i;
      const Index i1 = spec.layout == RopeLayout::interleaved ? 2 * i + 1 : i + half;
      const double u = a[i0], v = a[i1];
      const auto k = static_cast<std::uint64_t>(row * D);
      y[i0] = to_float(spec.out.round(to_float(u * c - v * s), k + i0));
      y[i1] = to_float(spec.out.round(to_float(u * s + v * c), k + i1));
    }
    for (Index j = r; j < D; ++j) y[j] = to_float(spec.out.round(a[j], static_cast<std::uint64_t>(row * D + j)));
  });
  return out;
}

}  // namespace bitsim::sim
