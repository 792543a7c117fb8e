// fake_quantize / encode / decode for every QuantSpec (semantics: sim/README.md).
//
// One pipeline serves all three: the input is made contiguous and, if the spec asks,
// transformed (rows of the last axis, rounded once to float32); then it is quantized as a
// plain cast, a scaled element format or a block format; the dequantized values (double)
// are transformed back and rounded once to float32. encode stops at the codes; decode
// resumes from them with the same arithmetic, which is why decode(encode(x)) ==
// fake_quantize(x) bit for bit.
//
// Speed (issue #5): a contiguous untransformed input is read in place; absmax and fixed
// scales come from one vectorised max over float32 magnitude patterns (exact, so any
// order gives the same scales); fake_quantize of a scaled element format then makes one
// pass in cache-sized chunks (divide, round the chunk as a span, multiply back).
#include "sim/quant/quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/parallel_reduce.h>

#include "formats/block/block_format.hpp"
#include "formats/block/block_quantize.hpp"
#include "formats/block/block_scale.hpp"
#include "formats/block/block_spans.hpp"
#include "formats/format.hpp"
#include "sim/device_kernels.hpp"
#include "sim/transforms/hadamard.hpp"

namespace bitsim::sim {
namespace {

using formats::Format;
using formats::block_detail::quotient_to_odd;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Elements (and scales) clamp at +-max instead of overflowing, as scaled quantizers do.
Format saturating(const std::string& spec) {
  Format f = Format::parse(spec);
  if (const auto* m = std::get_if<formats::MiniFloat>(&f.repr()); m && m->overflow != formats::Overflow::saturate) {
    formats::MiniFloat s = *m;
    s.overflow = formats::Overflow::saturate;
    return Format(s);
  }
  return f;
}

bool flushes_input(const Format& f) {
  const auto* m = std::get_if<formats::MiniFloat>(&f.repr());
  return m && m->flush_input_subnormals;
}

// A rank-0 tensor is treated as shape [1].
Shape effective_shape(const Shape& shape) { return shape.empty() ? Shape{1} : shape; }
Index last_axis_length(const Shape& shape) { return effective_shape(shape).back(); }

// --- transforms (rows of the last axis) ---

std::vector<double> transform_signs(const QuantSpec& s, Index n) {
  return s.transform.kind == TransformKind::random_hadamard ? random_signs(s.transform.seed, n) : std::vector<double>{};
}

template <class In, class Out>
void transform_rows(const QuantSpec& s, const Shape& shape, std::span<const In> in, std::vector<Out>& out,
                    bool inverse) {
  const Index n = last_axis_length(shape);
  const Index block = hadamard_block(n, s.transform.block);
  const std::vector<double> signs = transform_signs(s, n);
  const Index rows = n == 0 ? 0 : static_cast<Index>(in.size()) / n;
  tbb::parallel_for(tbb::blocked_range<Index>(0, rows), [&](const tbb::blocked_range<Index>& r) {
    std::vector<double> row(static_cast<std::size_t>(n));
    for (Index i = r.begin(); i < r.end(); ++i) {
      for (Index j = 0; j < n; ++j) row[j] = double(in[i * n + j]);
      hadamard_row(row, block, signs, inverse);
      for (Index j = 0; j < n; ++j) out[i * n + j] = static_cast<Out>(row[j]);
    }
  });
}

// The quantizer's input: contiguous float32, in the transformed basis when asked. x's own
// storage when that is already the input (no copy), else `storage`, filled here.
std::span<const float> prepare(const TensorF& x, const QuantSpec& s, std::vector<float>& storage) {
  const bool transformed = s.transform.kind != TransformKind::none && x.numel() > 0;
  if (x.is_contiguous() && !transformed) return x.span();
  if (!transformed) return storage = x.to_vector();
  std::vector<float> copy;  // only for a strided x; a contiguous one is read in place
  const std::span<const float> v = x.is_contiguous() ? x.span() : std::span<const float>(copy = x.to_vector());
  storage.resize(v.size());
  transform_rows(s, x.shape(), v, storage, false);
  return storage;
}

// Dequantized float32 values, with a transform T taken back to the original basis (in
// double, rounded once more to float32): fake_quantize(x) = T^-1(fake_quantize(T(x)) without T).
TensorF finish(const QuantSpec& s, const Shape& shape, std::vector<float> values) {
  if (s.transform.kind != TransformKind::none && !values.empty()) {
    // In place: transform_rows reads a whole row before writing it, and rows are disjoint.
    transform_rows(s, shape, std::span<const float>(values), values, true);
  }
  return TensorF(shape, std::move(values));
}

// --- groups of a scaled element format ---

// The tensor seen as [outer, len, inner] around the spec's axis; a group is a run of
// `size` consecutive indices along len (per_channel: every element with the same index).
struct Groups {
  Granularity kind = Granularity::per_tensor;
  Index outer = 1, len = 1, inner = 1, size = 1, per_axis = 1, count = 1;
  Shape scale_shape{1};

  Groups(const Shape& tensor_shape, const QuantSpec& s) : kind(s.granularity) {
    const Shape shape = effective_shape(tensor_shape);
    const Index n = element_count(shape);
    if (kind == Granularity::per_tensor) {
      len = n;
      size = std::max<Index>(n, 1);
      return;
    }
    const int rank = static_cast<int>(shape.size());
    if (s.axis < -rank || s.axis >= rank)
      throw std::out_of_range("quant spec '" + to_string(s) + "': axis " + std::to_string(s.axis) +
                              " out of range for shape " + shape_string(tensor_shape));
    const int axis = s.axis < 0 ? s.axis + rank : s.axis;
    for (int d = 0; d < axis; ++d) outer *= shape[d];
    len = shape[axis];
    for (int d = axis + 1; d < rank; ++d) inner *= shape[d];
    if (kind == Granularity::per_channel) {
      count = len;
      scale_shape = {len};
      return;
    }
    size = s.group;  // per_group; the last group along the axis may be short
    per_axis = (len + size - 1) / size;
    count = outer * per_axis * inner;
    scale_shape = shape;
    scale_shape[axis] = per_axis;
  }

  // Flat indices of group k, increasing (row-major order).
  void members(Index k, std::vector<Index>& idx) const {
    idx.clear();
    if (kind == Granularity::per_tensor) {
      for (Index i = 0; i < len; ++i) idx.push_back(i);
    } else if (kind == Granularity::per_channel) {
      for (Index o = 0; o < outer; ++o)
        for (Index i = 0; i < inner; ++i) idx.push_back((o * len + k) * inner + i);
    } else {
      const Index o = k / (per_axis * inner), b = (k / inner) % per_axis, i = k % inner;
      for (Index l = b * size; l < std::min(len, (b + 1) * size); ++l) idx.push_back((o * len + l) * inner + i);
    }
  }

  // Splits the elements begin .. end - 1 into segments of consecutive flat indices whose
  // groups step regularly, and calls f(first, last, group of first, step), step 0 (one
  // group) or 1 (group g + j for element first + j), in order. Counters, not divisions,
  // track the group from one segment to the next. With inner == 1 a segment runs along
  // the axis (a group of `size`, or consecutive channels), else it is one run of `inner`.
  template <class F>
  void for_segments(Index begin, Index end, F&& f) const {
    if (begin >= end) return;
    if (kind == Granularity::per_tensor) return f(begin, end, Index(0), Index(0));
    const bool channel = kind == Granularity::per_channel;
    const Index run = begin / inner;
    Index o = run / len, l = run % len, i = begin % inner;
    for (Index first = begin; first < end;) {
      const Index b = l / size;
      if (inner == 1) {  // along the axis, to the end of the group (per_group) or the row
        const Index stop = std::min(end, first + (channel ? len : std::min(len, (b + 1) * size)) - l);
        f(first, stop, channel ? l : o * per_axis + b, Index(channel ? 1 : 0));
        l += stop - first;
        first = stop;
      } else {  // one run of `inner` (or what is left of it)
        const Index stop = std::min(end, first + (inner - i));
        f(first, stop, channel ? l : (o * per_axis + b) * inner + i, Index(channel ? 0 : 1));
        first = stop;
        i = 0;
        ++l;
      }
      if (l == len) l = 0, ++o;
    }
  }

  // Calls f(flat index, group index) for the elements begin .. end - 1, in order.
  template <class F>
  void for_range(Index begin, Index end, F&& f) const {
    for_segments(begin, end, [&](Index first, Index last, Index g, Index step) {
      for (Index i = first; i < last; ++i, g += step) f(i, g);
    });
  }

  // for_range over the whole tensor, in parallel over fixed chunks of flat indices.
  template <class F>
  void for_each_element(F&& f) const {
    const Index n = outer * len * inner;
    tbb::parallel_for(tbb::blocked_range<Index>(0, n, 4096),
                      [&](const tbb::blocked_range<Index>& r) { for_range(r.begin(), r.end(), f); });
  }

  // For every group, the largest |x| as a float32 pattern with the sign cleared, at or
  // above 0x7f800000 when the group holds Inf or NaN (formats/block's amax_pattern). A max
  // is exact, so the patterns do not depend on how the work is split.
  std::vector<std::uint32_t> amax_patterns(std::span<const float> x) const {
    using formats::block_detail::amax_pattern;
    std::vector<std::uint32_t> pattern(static_cast<std::size_t>(count), 0);
    if (kind == Granularity::per_tensor) {
      pattern[0] = tbb::parallel_reduce(
          tbb::blocked_range<Index>(0, len, Index(1) << 16), std::uint32_t(0),
          [&](const tbb::blocked_range<Index>& r, std::uint32_t m) {
            return std::max(m, amax_pattern(x.data() + r.begin(), static_cast<std::size_t>(r.size())));
          },
          [](std::uint32_t a, std::uint32_t b) { return std::max(a, b); });
      return pattern;
    }
    // Element-wise max of a row into a row of patterns.
    const auto max_into = [](std::uint32_t* p, const float* v, Index n) {
      for (Index j = 0; j < n; ++j) p[j] = std::max(p[j], std::bit_cast<std::uint32_t>(v[j]) & 0x7fffffffu);
    };
    // Tasks own disjoint columns along the axis (per_channel: one index; per_group: one
    // group of `size` indices) and visit them for every outer index.
    const bool channel = kind == Granularity::per_channel;
    const Index step = channel ? 1 : size, columns = channel ? len : per_axis;
    const Index grain = std::max<Index>(1, 4096 / std::max<Index>(step * inner, 1));
    tbb::parallel_for(tbb::blocked_range<Index>(0, columns, grain), [&](const tbb::blocked_range<Index>& r) {
      for (Index o = 0; o < outer; ++o) {
        const float* slab = x.data() + (o * len) * inner;
        if (channel && inner == 1) {  // a channel is a column: one max per element of the row
          max_into(pattern.data() + r.begin(), slab + r.begin(), r.size());
          continue;
        }
        for (Index c = r.begin(); c < r.end(); ++c) {
          const Index l0 = c * step, l1 = std::min(len, l0 + step);
          const float* v = slab + l0 * inner;
          if (channel) {  // runs of `inner` elements, all in group c
            pattern[c] = std::max(pattern[c], amax_pattern(v, static_cast<std::size_t>(inner)));
          } else if (inner == 1) {  // the group is the contiguous run v[0, l1 - l0)
            std::uint32_t& p = pattern[o * per_axis + c];
            p = std::max(p, amax_pattern(v, static_cast<std::size_t>(l1 - l0)));
          } else {  // element i of each of the l1 - l0 runs goes to group (o, c, i)
            for (Index l = l0; l < l1; ++l, v += inner) max_into(pattern.data() + (o * per_axis + c) * inner, v, inner);
          }
        }
      }
    });
    return pattern;
  }
};

// Scales and element rounding of a scaled element format.
struct ScaledQuantizer {
  explicit ScaledQuantizer(const QuantSpec& s, formats::RandomStream r = {})
      : spec(s), element(saturating(s.format)), scale_format(saturating(s.scale_format)),
        element_max(element.max_value()), rng(r) {}

  const QuantSpec& spec;
  Format element;
  Format scale_format;
  double element_max;
  formats::RandomStream rng;

  // The stored scale for a clipping value c >= 0: c / max rounded (rne, saturating) into
  // the scale format from the exact quotient; a positive c never gets scale 0.
  double scale_from_clip(double c) const {
    if (c == 0) return 0;
    const double s = scale_format.round(quotient_to_odd(c, element_max));
    return s > 0 ? s : scale_format.min_subnormal();
  }
  // The element format's input for x under scale s: x / s rounded to odd (so the one
  // rounding onto the element lattice is exact); a zero scale maps everything to +-0.
  static double scaled_input(float x, double s) {
    if (std::isnan(s)) return 0.0;
    if (s == 0) return std::copysign(0.0, double(x));
    return quotient_to_odd(double(x), s);
  }
  static double value(double q, double s) { return std::isnan(s) ? kNaN : q * s; }

  // scaled_input and value over a segment: element j has input x[j] and scale scale[j * Step]
  // (Step 0: one scale). Branch-free loops the compiler vectorises; the few quotients that
  // are zero or infinite (tiny or zero scales) send the segment through scaled_input.
  template <int Step>
  static void divide(const float* x, const double* scale, double* t, Index n) {
    // Integer masks rather than branches, so that GCC vectorises the loop.
    constexpr std::uint64_t kMagnitude = ~std::uint64_t(0) >> 1, kInf = 0x7ff0000000000000u;
    std::uint64_t rare = 0;
    for (Index j = 0; j < n; ++j) {
      const double s = scale[j * Step], xd = double(x[j]);
      const double q = xd / s;
      const std::uint64_t b = std::bit_cast<std::uint64_t>(q), r = std::bit_cast<std::uint64_t>(std::fma(-q, s, xd));
      const std::uint64_t step = std::uint64_t((r & kMagnitude) != 0) & ~b;  // inexact and even: 1
      const std::uint64_t mag = b & kMagnitude;
      rare |= (step & std::uint64_t(mag == 0 || mag >= kInf)) |
              std::uint64_t(std::bit_cast<std::uint64_t>(s) - 1 >= kInf - 1);  // s not in (0, inf)
      t[j] = std::bit_cast<double>(b + step - 2 * (step & ((b ^ r) >> 63)));    // +-1 towards r
    }
    if (rare)
      for (Index j = 0; j < n; ++j) t[j] = scaled_input(x[j], scale[j * Step]);
  }
  template <int Step>
  static void multiply(const double* q, const double* scale, float* out, Index n) {
    for (Index j = 0; j < n; ++j) {
      const double s = scale[j * Step];
      out[j] = static_cast<float>(s == s ? q[j] * s : kNaN);
    }
  }

  double choose_scale(std::span<const float> x, const std::vector<Index>& idx) const {
    double amax = 0;
    for (Index i : idx) {
      if (!std::isfinite(x[i])) return kNaN;
      amax = std::max(amax, std::fabs(double(x[i])));
    }
    switch (spec.scale_rule) {
      case ScaleRule::absmax: return scale_from_clip(amax);
      case ScaleRule::percentile: return scale_from_clip(percentile_clip(x, idx));
      case ScaleRule::fixed: return scale_from_clip(spec.clip);
      case ScaleRule::mse: break;
    }
    // Candidates are rounded as a span (one dispatch) when the random words allow it: the
    // group's indices are consecutive, or the rounding draws no words.
    const std::size_t m = idx.size();
    const bool consecutive = m == 0 || idx.back() - idx.front() + 1 == static_cast<Index>(m);
    const bool as_span = consecutive || spec.rounding.mode != formats::Rounding::stochastic;
    std::vector<float> xs(m);
    for (std::size_t j = 0; j < m; ++j) xs[j] = x[idx[j]];
    std::vector<double> t(m), q(m);
    double best_scale = scale_from_clip(amax), best_error = std::numeric_limits<double>::infinity();
    for (int k = 0; k <= spec.mse_steps; ++k) {
      const double ratio = 1.0 - k * (1.0 - spec.mse_min_ratio) / spec.mse_steps;
      const double s = scale_from_clip(ratio * amax);
      divide<0>(xs.data(), &s, t.data(), static_cast<Index>(m));
      if (as_span) {
        element.quantize(std::span<const double>(t), std::span<double>(q), spec.rounding, rng,
                         m == 0 ? 0 : static_cast<std::uint64_t>(idx[0]));
      } else {
        for (std::size_t j = 0; j < m; ++j)
          q[j] = element.round(t[j], spec.rounding, rng, static_cast<std::uint64_t>(idx[j]));
      }
      double error = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const double e = double(static_cast<float>(value(q[j], s))) - double(xs[j]);
        error += e * e;
      }
      if (error < best_error) {  // ties keep the larger ratio (found first)
        best_error = error;
        best_scale = s;
      }
    }
    return best_scale;
  }

  // The p-th percentile of |x| over the group, linear interpolation between order
  // statistics at rank p/100 * (n - 1) (numpy's default method).
  double percentile_clip(std::span<const float> x, const std::vector<Index>& idx) const {
    if (idx.empty()) return 0;
    std::vector<double> a(idx.size());
    for (std::size_t j = 0; j < idx.size(); ++j) a[j] = std::fabs(double(x[idx[j]]));
    const double rank = spec.percentile / 100.0 * double(a.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(rank));
    std::nth_element(a.begin(), a.begin() + lo, a.end());
    const double below = a[lo];
    if (lo + 1 >= a.size()) return below;
    const double above = *std::min_element(a.begin() + lo + 1, a.end());
    return below + (rank - double(lo)) * (above - below);
  }

  std::vector<double> scales(std::span<const float> x, const Groups& g) const {
    std::vector<double> s(static_cast<std::size_t>(g.count));
    if (spec.scale_rule == ScaleRule::absmax || spec.scale_rule == ScaleRule::fixed) {
      // The same scales as choose_scale: NaN for a group with Inf or NaN, else from the clip.
      const std::vector<std::uint32_t> amax = g.amax_patterns(x);
      for (std::size_t k = 0; k < s.size(); ++k) {
        const double clip = spec.scale_rule == ScaleRule::fixed ? spec.clip : double(std::bit_cast<float>(amax[k]));
        s[k] = amax[k] >= 0x7f800000u ? kNaN : scale_from_clip(clip);
      }
      return s;
    }
    tbb::parallel_for(tbb::blocked_range<Index>(0, g.count), [&](const tbb::blocked_range<Index>& r) {
      std::vector<Index> idx;
      for (Index k = r.begin(); k < r.end(); ++k) {
        g.members(k, idx);
        s[k] = choose_scale(x, idx);
      }
    });
    return s;
  }
};

formats::RandomStream stream_for(const QuantSpec& s, std::uint64_t tensor_id) { return {s.seed, tensor_id}; }

std::pair<std::size_t, std::size_t> block_rows_cols(const Shape& shape) {
  const Index cols = last_axis_length(shape);
  const Index n = element_count(effective_shape(shape));
  return {static_cast<std::size_t>(cols == 0 ? 0 : n / cols), static_cast<std::size_t>(cols)};
}

formats::BlockFormat block_format_of(const QuantSpec& s) {
  formats::BlockDescription d = formats::BlockFormat::parse(s.format).description();
  d.rounding = s.rounding;
  return formats::BlockFormat(d);
}

// Values (float32, transformed basis) from the codes of a PackedTensor.
std::vector<float> dequantize(const PackedTensor& p) {
  const QuantSpec& s = p.spec;
  const std::size_t n = p.codes.size();
  std::vector<float> values(n);
  if (s.is_block) {
    const auto [rows, cols] = block_rows_cols(p.shape);
    const formats::BlockEncoding e{rows, cols, p.codes, p.scales, p.zero_points, p.tensor_scale};
    formats::block_decode(block_format_of(s), e, values);
    return values;
  }
  if (!s.is_scaled()) {
    Format::parse(s.format).decode(p.codes, values);
    return values;
  }
  const ScaledQuantizer quantizer(s);
  const Groups groups(p.shape, s);
  std::vector<double> scale(p.scales.size());
  for (std::size_t k = 0; k < scale.size(); ++k) scale[k] = quantizer.scale_format.decode(p.scales[k]);
  groups.for_each_element([&](Index i, Index g) {
    values[i] = static_cast<float>(ScaledQuantizer::value(quantizer.element.decode(p.codes[i]), scale[g]));
  });
  return values;
}

void check_shape(const TensorF& x, const QuantSpec& s) {
  validate(s);
  if (s.is_scaled() && !s.is_block) Groups(x.shape(), s);  // throws on a bad axis
}

}  // namespace

PackedTensor encode(const TensorF& x, const QuantSpec& s, std::uint64_t tensor_id) {
  check_shape(x, s);
  PackedTensor p;
  p.shape = x.shape();
  p.spec = s;
  p.scale_shape = {0};
  if (s.is_identity()) {
    for (float v : x.to_vector()) p.codes.push_back(std::bit_cast<std::uint32_t>(v));
    return p;
  }
  std::vector<float> storage;
  const std::span<const float> in = prepare(x, s, storage);
  const formats::RandomStream rng = stream_for(s, tensor_id);
  p.codes.resize(in.size());
  if (s.is_block) {
    const auto [rows, cols] = block_rows_cols(x.shape());
    const formats::BlockFormat fmt = block_format_of(s);
    formats::BlockEncoding e = formats::block_encode(fmt, in, rows, cols, rng);
    const formats::BlockGrid grid = formats::block_grid(fmt, rows, cols);
    p.scale_shape = {Index(grid.grid_rows), Index(grid.grid_cols)};
    p.codes = std::move(e.elements);
    p.scales = std::move(e.scales);
    p.zero_points = std::move(e.zero_points);
    p.tensor_scale = e.tensor_scale;
    return p;
  }
  if (!s.is_scaled()) {
    Format::parse(s.format).encode(in, std::span<std::uint64_t>(p.codes), s.rounding, rng);
    return p;
  }
  const ScaledQuantizer quantizer(s, rng);
  const Groups groups(x.shape(), s);
  const std::vector<double> scale = quantizer.scales(in, groups);
  p.scale_shape = groups.scale_shape;
  p.scales.resize(scale.size());
  for (std::size_t k = 0; k < scale.size(); ++k) p.scales[k] = quantizer.scale_format.encode(scale[k]);
  groups.for_each_element([&](Index i, Index g) {
    const double t = ScaledQuantizer::scaled_input(in[i], scale[g]);
    p.codes[i] = quantizer.element.encode(t, s.rounding, rng, static_cast<std::uint64_t>(i));
  });
  return p;
}

TensorF decode(const PackedTensor& p) {
  if (static_cast<Index>(p.codes.size()) != p.numel())
    throw std::invalid_argument("PackedTensor: " + std::to_string(p.codes.size()) + " codes for shape " +
                                shape_string(p.shape));
  if (p.spec.is_identity()) {
    std::vector<float> v(p.codes.size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::bit_cast<float>(static_cast<std::uint32_t>(p.codes[i]));
    return TensorF(p.shape, std::move(v));
  }
  return finish(p.spec, p.shape, dequantize(p));
}

TensorF fake_quantize(const TensorF& x, const QuantSpec& s, std::uint64_t tensor_id) {
  check_shape(x, s);
  if (s.is_identity()) return x.clone();
  std::vector<float> storage;
  const std::span<const float> in = prepare(x, s, storage);
  const formats::RandomStream rng = stream_for(s, tensor_id);
  std::vector<float> values(in.size());
  if (s.is_block) {  // block_quantize == block_decode(block_encode(..)), tested in formats/ and here
    const auto [rows, cols] = block_rows_cols(x.shape());
    device::block_quantize(block_format_of(s), in, rows, cols, values, rng);  // on the current device
    return finish(s, x.shape(), std::move(values));
  }
  const Format element = s.is_scaled() ? saturating(s.format) : Format::parse(s.format);
  // With ftz_in, Format::decode reads subnormal codes as zero while quantize keeps them;
  // the codes are the stored truth, so such formats go through them.
  if (flushes_input(element)) return decode(encode(x, s, tensor_id));
  if (!s.is_scaled()) {
    device::quantize(element, in, std::span<float>(values), s.rounding, rng);
    return finish(s, x.shape(), std::move(values));
  }
  const ScaledQuantizer quantizer(s, rng);
  const Groups groups(x.shape(), s);
  const std::vector<double> scale = quantizer.scales(in, groups);
  // x / s rounded to odd into t, and the rounded q back to float32 values; element i of
  // t and q is flat element `first + i`.
  const auto divide = [&](Index first, Index end, double* t) {
    groups.for_segments(first, end, [&](Index a, Index b, Index g, Index step) {
      (step ? ScaledQuantizer::divide<1> : ScaledQuantizer::divide<0>)(in.data() + a, scale.data() + g, t + (a - first), b - a);
    });
  };
  const auto multiply = [&](Index first, Index end, const double* q) {
    groups.for_segments(first, end, [&](Index a, Index b, Index g, Index step) {
      (step ? ScaledQuantizer::multiply<1> : ScaledQuantizer::multiply<0>)(q + (a - first), scale.data() + g, values.data() + a, b - a);
    });
  };
  const Index n = static_cast<Index>(in.size());
  if (current_device() == Device::cpu) {
    // One pass in chunks that stay in cache; each chunk is rounded as one span, with the
    // random words of its flat indices, so the chunking changes nothing.
    constexpr Index kChunk = 2048;
    tbb::parallel_for(tbb::blocked_range<Index>(0, n, kChunk), [&](const tbb::blocked_range<Index>& r) {
      for (Index first = r.begin(); first < r.end(); first += kChunk) {
        const Index end = std::min(r.end(), first + kChunk);
        const std::size_t m = static_cast<std::size_t>(end - first);
        double t[kChunk], q[kChunk];
        divide(first, end, t);
        element.quantize(std::span<const double>(t, m), std::span<double>(q, m), s.rounding, rng,
                         static_cast<std::uint64_t>(first));
        multiply(first, end, q);
      }
    });
  } else {  // the element rounding as one call on the device (sim/device_kernels.hpp)
    std::vector<double> t(in.size()), q(in.size());
    const auto each_chunk = [&](const auto& f) {
      tbb::parallel_for(tbb::blocked_range<Index>(0, n, 4096),
                        [&](const tbb::blocked_range<Index>& r) { f(r.begin(), r.end()); });
    };
    each_chunk([&](Index first, Index end) { divide(first, end, t.data() + first); });
    device::quantize(element, std::span<const double>(t), std::span<double>(q), s.rounding, rng);
    each_chunk([&](Index first, Index end) { multiply(first, end, q.data() + first); });
  }
  return finish(s, x.shape(), std::move(values));
}

bool commutes_with_transpose(const QuantSpec& s) {
  if (s.is_identity()) return true;
  if (s.rounding.mode == formats::Rounding::stochastic || s.transform.kind != TransformKind::none) return false;
  if (s.is_block) {
    // A square block of m holds the same values as its mirror block of m^T (blocks start
    // at row and column 0 in both); the recipes listed reduce a block to its amax.
    const formats::BlockFormat f = block_format_of(s);
    const bool reduces_to_amax = f.rule() != formats::ScaleRule::mse &&
                                 (f.recipe() == formats::Recipe::generic || f.recipe() == formats::Recipe::two_level_fp32);
    return f.shape().rows == f.shape().cols && reduces_to_amax && !f.has_zero_point();
  }
  // mse sums squared errors in the group's element order, which a transpose changes.
  return s.granularity == Granularity::unscaled ||
         (s.granularity == Granularity::per_tensor && s.scale_rule != ScaleRule::mse);
}

TensorD quant_scales(const TensorF& x, const QuantSpec& s, std::uint64_t tensor_id) {
  if (!s.is_scaled() || s.is_identity()) {
    check_shape(x, s);
    return TensorD(Shape{0});
  }
  const PackedTensor p = encode(x, s, tensor_id);
  const Format scale_format = s.is_block ? block_format_of(s).scale() : saturating(s.scale_format);
  std::vector<double> v(p.scales.size());
  for (std::size_t k = 0; k < v.size(); ++k) v[k] = scale_format.decode(p.scales[k]);
  return TensorD(p.scale_shape, std::move(v));
}

}  // namespace bitsim::sim
