#pragma once
// The shape rules every attention kernel shares (kernels/attention.cpp, the float64
// gradients in grad/attention_grad.cpp, the float32 sgemm path in grad/attention_blas.cpp):
// q [H, Tq, d], k [Hkv, Tk, d], v [Hkv, Tk, dv], Hkv dividing H (grouped-query attention;
// H = Hkv = 0 is an empty batch of heads), query i at key position offset + i.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "sim/kernels/attention.hpp"
#include "sim/tensor.hpp"

namespace bitsim::sim {

struct AttentionDims {
  Index H = 0, Hkv = 0, Tq = 0, Tk = 0, d = 0, dv = 0;
  Index offset = 0;  // AttentionSpec::query_offset, else Tk - Tq (queries end with the keys)
  Index group() const { return Hkv == 0 ? 0 : H / Hkv; }  // query heads per kv head
};

// The dims of (q, k, v), or std::invalid_argument "<who>: q [..], k [..], v [..]: <what is
// wrong> (expected ...)".
template <class T>
AttentionDims attention_dims(const Tensor<T>& q, const Tensor<T>& k, const Tensor<T>& v, const AttentionSpec& spec,
                             const char* who) {
  const auto fail = [&](const std::string& why) {
    throw std::invalid_argument(std::string(who) + ": q " + shape_string(q.shape()) + ", k " + shape_string(k.shape()) +
                                ", v " + shape_string(v.shape()) + ": " + why +
                                " (expected q [H, Tq, d], k [Hkv, Tk, d], v [Hkv, Tk, dv], Hkv divides H)");
  };
  if (q.rank() != 3 || k.rank() != 3 || v.rank() != 3) fail("every input must have rank 3");
  AttentionDims s{q.size(0), k.size(0), q.size(1), k.size(1), q.size(2), v.size(2), 0};
  if (k.size(2) != s.d) fail("q and k differ in d");
  if (v.size(0) != s.Hkv || v.size(1) != s.Tk) fail("k and v differ in heads or length");
  if (s.Hkv == 0 ? s.H != 0 : s.H % s.Hkv != 0) fail("kv heads do not divide query heads");
  s.offset = spec.query_offset.value_or(s.Tk - s.Tq);
  return s;
}

// The score scale: AttentionSpec::scale, else 1 / sqrt(d) (1 for d = 0), in double; the
// float32 kernels round it to float32.
inline double attention_scale(const AttentionSpec& spec, Index d) {
  return spec.scale.value_or(1.0 / std::sqrt(static_cast<double>(std::max<Index>(d, 1))));
}

}  // namespace bitsim::sim
