#include "experiments/runner/point_codec.hpp"

#include <cstring>
#include <stdexcept>
#include <string>

namespace bitsim::experiments {
namespace {

template <class T>
void put(std::vector<std::uint8_t>& out, const T& value) {
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(&value);
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

void put_string(std::vector<std::uint8_t>& out, const std::string& s) {
  put(out, std::uint64_t(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <class T>
  T get() {
    T value;
    std::memcpy(&value, take(sizeof(T)), sizeof(T));
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    const auto* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), std::size_t(n));
  }
  bool done() const { return pos_ == size_; }

 private:
  const std::uint8_t* take(std::uint64_t n) {
    if (n > size_ - pos_) throw std::runtime_error("truncated point data from an MPI rank");
    const auto* p = data_ + pos_;
    pos_ += std::size_t(n);
    return p;
  }
  const std::uint8_t* data_;
  std::size_t size_, pos_ = 0;
};

// A vector of trivially copyable elements: its length, then its bytes.
template <class T>
void put_vector(std::vector<std::uint8_t>& out, const std::vector<T>& values) {
  put(out, std::uint64_t(values.size()));
  const auto* bytes = reinterpret_cast<const std::uint8_t*>(values.data());
  out.insert(out.end(), bytes, bytes + values.size() * sizeof(T));
}

template <class T>
std::vector<T> get_vector(Cursor& in, std::size_t size) {
  const auto n = in.get<std::uint64_t>();
  if (n > size) throw std::runtime_error("bad vector length in point data from an MPI rank");
  std::vector<T> values(static_cast<std::size_t>(n));
  for (auto& v : values) v = in.get<T>();
  return values;
}

void put_dump(std::vector<std::uint8_t>& out, const TensorDump& d) {
  put_string(out, d.name);
  put_string(out, d.spec);
  put_vector(out, d.shape);
  put_vector(out, d.values);
  put(out, std::uint8_t(d.has_codes));
  put(out, std::int32_t(d.code_bits));
  put_vector(out, d.codes);
  put_vector(out, d.scale_shape);
  put(out, std::int32_t(d.scale_bits));
  put_vector(out, d.scales);
  put(out, std::int32_t(d.zero_point_bits));
  put_vector(out, d.zero_points);
  put(out, d.tensor_scale);
}

TensorDump get_dump(Cursor& in, std::size_t size) {
  TensorDump d;
  d.name = in.get_string();
  d.spec = in.get_string();
  d.shape = get_vector<std::int64_t>(in, size);
  d.values = get_vector<float>(in, size);
  d.has_codes = in.get<std::uint8_t>() != 0;
  d.code_bits = in.get<std::int32_t>();
  d.codes = get_vector<std::uint8_t>(in, size);
  d.scale_shape = get_vector<std::int64_t>(in, size);
  d.scale_bits = in.get<std::int32_t>();
  d.scales = get_vector<std::uint8_t>(in, size);
  d.zero_point_bits = in.get<std::int32_t>();
  d.zero_points = get_vector<std::uint8_t>(in, size);
  d.tensor_scale = in.get<double>();
  return d;
}

void put_cells(std::vector<std::uint8_t>& out, const std::vector<Cell>& cells) {
  put(out, std::uint64_t(cells.size()));
  for (const auto& cell : cells) {
    put(out, std::uint8_t(cell.index()));
    if (const auto* s = std::get_if<std::string>(&cell)) put_string(out, *s);
    else if (const auto* i = std::get_if<std::int64_t>(&cell)) put(out, *i);
    else put(out, std::get<double>(cell));
  }
}

std::vector<Cell> get_cells(Cursor& in, std::size_t size) {
  const auto count = in.get<std::uint64_t>();
  if (count > size) throw std::runtime_error("bad cell count in point data from an MPI rank");
  std::vector<Cell> cells;
  for (std::uint64_t c = 0; c < count; ++c) {
    switch (in.get<std::uint8_t>()) {
      case 0: cells.emplace_back(in.get_string()); break;
      case 1: cells.emplace_back(in.get<std::int64_t>()); break;
      case 2: cells.emplace_back(in.get<double>()); break;
      default: throw std::runtime_error("bad cell kind in point data from an MPI rank");
    }
  }
  return cells;
}

}  // namespace

void encode_points(const std::vector<PointResult>& points, std::vector<std::uint8_t>& out) {
  put(out, std::uint64_t(points.size()));
  for (const auto& p : points) {
    put(out, p.index);
    put(out, p.seconds);
    put_cells(out, p.cells);
    put(out, std::uint64_t(p.arrays.size()));
    for (const auto& [name, values] : p.arrays) {
      put_string(out, name);
      put(out, std::uint64_t(values.size()));
      for (double v : values) put(out, v);
    }
    put(out, std::uint64_t(p.dumps.size()));
    for (const auto& d : p.dumps) put_dump(out, d);
    put(out, std::uint64_t(p.curve.size()));
    for (const auto& row : p.curve) put_cells(out, row);
  }
}

std::vector<PointResult> decode_points(const std::uint8_t* data, std::size_t size) {
  Cursor in(data, size);
  const auto count = in.get<std::uint64_t>();
  if (count > size) throw std::runtime_error("bad point count in point data from an MPI rank");
  std::vector<PointResult> points;
  points.reserve(std::size_t(count));
  for (std::uint64_t n = 0; n < count; ++n) {
    PointResult p;
    p.index = in.get<std::uint64_t>();
    p.seconds = in.get<double>();
    p.cells = get_cells(in, size);
    const auto arrays = in.get<std::uint64_t>();
    for (std::uint64_t a = 0; a < arrays; ++a) {
      auto name = in.get_string();
      const auto n_values = in.get<std::uint64_t>();
      if (n_values > size) throw std::runtime_error("bad array length in point data from an MPI rank");
      std::vector<double> values(static_cast<std::size_t>(n_values));
      for (auto& v : values) v = in.get<double>();
      p.arrays.emplace_back(std::move(name), std::move(values));
    }
    const auto dumps = in.get<std::uint64_t>();
    if (dumps > size) throw std::runtime_error("bad dump count in point data from an MPI rank");
    for (std::uint64_t k = 0; k < dumps; ++k) p.dumps.push_back(get_dump(in, size));
    const auto curve_rows = in.get<std::uint64_t>();
    if (curve_rows > size) throw std::runtime_error("bad curve length in point data from an MPI rank");
    for (std::uint64_t r = 0; r < curve_rows; ++r) p.curve.push_back(get_cells(in, size));
    points.push_back(std::move(p));
  }
  if (!in.done()) throw std::runtime_error("trailing bytes in point data from an MPI rank");
  return points;
}

}  // namespace bitsim::experiments
