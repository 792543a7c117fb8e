// fake_quantize / encode / decode for every QuantSpec (semantics: sim/README.md).
//
// One pipeline serves all three: the input is made contiguous and, if the spec asks,
// transformed (rows of the last axis, rounded once to float32); then it is quantized as a
// plain cast, a scaled element format or a block format; the dequantized values (double)
// are transformed back and rounded once to float32. encode stops at the codes; decode
// resumes from them with the same arithmetic, which is why decode(encode(x)) ==
// fake_quantize(x) bit for bit.
#include "sim/quant/quantize.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "formats/block/block_format.hpp"
#include "formats/block/block_quantize.hpp"
#include "formats/block/block_scale.hpp"
#include "formats/format.hpp"
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
void transform_rows(const QuantSpec& s, const Shape& shape, const std::vector<In>& in, std::vector<Out>& out,
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

// The quantizer's input: contiguous float32, in the transformed basis when asked.
std::vector<float> prepare(const TensorF& x, const QuantSpec& s) {
  std::vector<float> v;
  if (x.is_contiguous()) {
    const std::span<const float> data = x.span();
    v.assign(data.begin(), data.end());
  } else {
    v = x.to_vector();
  }
  if (s.transform.kind == TransformKind::none || v.empty()) return v;
  std::vector<float> y(v.size());
  transform_rows(s, x.shape(), v, y, false);
  return y;
}

// Dequantized float32 values, with a transform T taken back to the original basis (in
// double, rounded once more to float32): fake_quantize(x) = T^-1(fake_quantize(T(x)) without T).
TensorF finish(const QuantSpec& s, const Shape& shape, std::vector<float> values) {
  if (s.transform.kind != TransformKind::none && !values.empty()) {
    const std::vector<float> rotated = values;
    transform_rows(s, shape, rotated, values, true);
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

  // Calls f(flat index, group index) for every element, in parallel over runs of `inner`
  // consecutive elements that share (outer, len) indices; counters, not divisions, track
  // the group as a task walks its runs.
  template <class F>
  void for_each_element(F&& f) const {
    if (kind == Granularity::per_tensor) {
      tbb::parallel_for(tbb::blocked_range<Index>(0, len, 4096), [&](const tbb::blocked_range<Index>& r) {
        for (Index i = r.begin(); i < r.end(); ++i) f(i, Index(0));
      });
      return;
    }
    const Index runs = outer * len, grain = std::max<Index>(1, 4096 / std::max<Index>(inner, 1));
    tbb::parallel_for(tbb::blocked_range<Index>(0, runs, grain), [&](const tbb::blocked_range<Index>& r) {
      Index o = r.begin() / len, l = r.begin() % len, b = l / size, within = l % size;
      for (Index run = r.begin(); run < r.end(); ++run) {
        if (kind == Granularity::per_channel) {
          for (Index i = 0; i < inner; ++i) f(run * inner + i, l);
        } else {
          const Index base = (o * per_axis + b) * inner;
          for (Index i = 0; i < inner; ++i) f(run * inner + i, base + i);
        }
        if (++within == size) within = 0, ++b;
        if (++l == len) l = 0, b = 0, within = 0, ++o;
      }
    });
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

  double choose_scale(const std::vector<float>& x, const std::vector<Index>& idx) const {
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
    std::vector<double> t(m), q(m);
    double best_scale = scale_from_clip(amax), best_error = std::numeric_limits<double>::infinity();
    for (int k = 0; k <= spec.mse_steps; ++k) {
      const double ratio = 1.0 - k * (1.0 - spec.mse_min_ratio) / spec.mse_steps;
      const double s = scale_from_clip(ratio * amax);
      for (std::size_t j = 0; j < m; ++j) t[j] = scaled_input(x[idx[j]], s);
      if (as_span) {
        element.quantize(std::span<const double>(t), std::span<double>(q), spec.rounding, rng,
                         m == 0 ? 0 : static_cast<std::uint64_t>(idx[0]));
      } else {
        for (std::size_t j = 0; j < m; ++j)
          q[j] = element.round(t[j], spec.rounding, rng, static_cast<std::uint64_t>(idx[j]));
      }
      double error = 0;
      for (std::size_t j = 0; j < m; ++j) {
        const double e = double(static_cast<float>(value(q[j], s))) - double(x[idx[j]]);
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
  double percentile_clip(const std::vector<float>& x, const std::vector<Index>& idx) const {
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

  std::vector<double> scales(const std::vector<float>& x, const Groups& g) const {
    std::vector<double> s(static_cast<std::size_t>(g.count));
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
  const std::vector<float> in = prepare(x, s);
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
    Format::parse(s.format).encode(std::span<const float>(in), std::span<std::uint64_t>(p.codes), s.rounding, rng);
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
  const std::vector<float> in = prepare(x, s);
  const formats::RandomStream rng = stream_for(s, tensor_id);
  std::vector<float> values(in.size());
  if (s.is_block) {  // block_quantize == block_decode(block_encode(..)), tested in formats/ and here
    const auto [rows, cols] = block_rows_cols(x.shape());
    formats::block_quantize(block_format_of(s), in, rows, cols, values, rng);
    return finish(s, x.shape(), std::move(values));
  }
  const Format element = s.is_scaled() ? saturating(s.format) : Format::parse(s.format);
  // With ftz_in, Format::decode reads subnormal codes as zero while quantize keeps them;
  // the codes are the stored truth, so such formats go through them.
  if (flushes_input(element)) return decode(encode(x, s, tensor_id));
  if (!s.is_scaled()) {
    element.quantize(std::span<const float>(in), std::span<float>(values), s.rounding, rng);
    return finish(s, x.shape(), std::move(values));
  }
  const ScaledQuantizer quantizer(s, rng);
  const Groups groups(x.shape(), s);
  const std::vector<double> scale = quantizer.scales(in, groups);
  std::vector<double> t(in.size()), q(in.size());
  groups.for_each_element([&](Index i, Index g) { t[i] = ScaledQuantizer::scaled_input(in[i], scale[g]); });
  element.quantize(std::span<const double>(t), std::span<double>(q), s.rounding, rng);
  groups.for_each_element([&](Index i, Index g) { values[i] = static_cast<float>(ScaledQuantizer::value(q[i], scale[g])); });
  return finish(s, x.shape(), std::move(values));
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
