#include "sim/grad/rope_grad.hpp"

#include <cmath>

#include "sim/grad/grad_common.hpp"

namespace bitsim::sim {

template <class T>
Tensor<T> rope_rotate(const Tensor<T>& x, const RopeSpec& spec, int direction) {
  if (x.rank() < 2) throw std::invalid_argument("rope: needs a tensor of rank >= 2 ([..., T, D]), got " + shape_string(x.shape()));
  const Index D = x.size(-1), T_len = x.size(-2);
  const Index r = spec.rotary_dims == 0 ? D : spec.rotary_dims;
  if (r % 2 != 0 || r > D || r < 0)
    throw std::invalid_argument("rope: rotary_dims must be even and <= D = " + std::to_string(D) + ", got " +
                                std::to_string(spec.rotary_dims));
  const Tensor<T> xc = x.contiguous();
  Tensor<T> out = xc.clone();
  const Index rows = D == 0 ? 0 : x.numel() / D;
  const double sign = direction >= 0 ? 1.0 : -1.0;
  grad_detail::for_each_row(rows, D, [&](Index row) {
    const double pos = static_cast<double>(spec.position_offset + row % T_len);
    const T* in = xc.data() + row * D;
    T* o = out.data() + row * D;
    for (Index i = 0; i < r / 2; ++i) {
      const double angle = pos * std::pow(spec.base, -2.0 * static_cast<double>(i) / static_cast<double>(r));
      const double c = std::cos(angle), s = sign * std::sin(angle);
      const Index ia = spec.layout == RopeLayout::interleaved ? 2 * i : i;
      const Index ib = spec.layout == RopeLayout::interleaved ? 2 * i + 1 : i + r / 2;
      const double a = in[ia], b = in[ib];
      o[ia] = static_cast<T>(a * c - b * s);
      o[ib] = static_cast<T>(a * s + b * c);
    }
  });
  return out;
}

template TensorF rope_rotate(const TensorF&, const RopeSpec&, int);
template TensorD rope_rotate(const TensorD&, const RopeSpec&, int);

}  // namespace bitsim::sim
