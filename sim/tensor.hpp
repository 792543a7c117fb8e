#pragma once
// A plain strided tensor of float or double: what every sim/ kernel takes and returns.
//
// Copies share storage (as NumPy arrays and PyTorch tensors do), so views such as
// transposed() and slices are cheap; clone() makes an independent copy. Kernels that need
// contiguous rows call contiguous(), which copies only when the layout requires it.
//
// Tensor(shape, uninitialized) leaves the elements unspecified (no zero fill): only for
// outputs that the code creating them writes in full before anything reads them.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <span>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace bitsim::sim {

using Index = std::int64_t;
using Shape = std::vector<Index>;

// "[2, 3, 4]", for error messages.
inline std::string shape_string(const Shape& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

inline Index element_count(const Shape& shape) {
  Index n = 1;
  for (Index d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_string(shape));
    n *= d;
  }
  return n;
}

// Row-major (C order) strides for a shape, in elements.
inline Shape row_major_strides(const Shape& shape) {
  Shape strides(shape.size(), 1);
  for (std::size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
  return strides;
}

// Tag of the constructor that skips the fill: Tensor<T>(shape, uninitialized). Zero-filling
// a buffer that a GEMM or a kernel then overwrites costs a memset over memory touched twice.
struct Uninitialized {
  explicit Uninitialized() = default;
};
inline constexpr Uninitialized uninitialized{};

template <class T>
class Tensor {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>,
                "bitsim tensors hold float or double");

 public:
  using value_type = T;

  Tensor() : Tensor(Shape{0}) {}
  explicit Tensor(Shape shape, T fill = T(0)) : Tensor(std::move(shape), uninitialized) {
    std::fill_n(storage_.get(), element_count(shape_), fill);
  }
  // Elements unspecified: every one must be written before it is read (see the tag above).
  Tensor(Shape shape, Uninitialized)
      : shape_(std::move(shape)),
        strides_(row_major_strides(shape_)),
        storage_(std::make_shared_for_overwrite<T[]>(static_cast<std::size_t>(element_count(shape_)))) {}
  // Takes ownership of row-major data; its size must match the shape.
  Tensor(Shape shape, std::vector<T> data)
      : shape_(std::move(shape)), strides_(row_major_strides(shape_)) {
    if (static_cast<Index>(data.size()) != element_count(shape_))
      throw std::invalid_argument("tensor data has " + std::to_string(data.size()) +
                                  " elements, shape " + shape_string(shape_) + " needs " +
                                  std::to_string(element_count(shape_)));
    auto owner = std::make_shared<std::vector<T>>(std::move(data));
    storage_ = std::shared_ptr<T[]>(owner, owner->data());  // shares the vector's ownership
  }

  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  Index numel() const { return element_count(shape_); }
  bool empty() const { return numel() == 0; }
  // Negative axes count from the end, as in NumPy.
  int normalize_axis(int axis) const {
    const int r = rank();
    if (axis < -r || axis >= r)
      throw std::out_of_range("axis " + std::to_string(axis) + " out of range for shape " +
                              shape_string(shape_));
    return axis < 0 ? axis + r : axis;
  }
  Index size(int axis) const { return shape_[normalize_axis(axis)]; }

  bool is_contiguous() const { return strides_ == row_major_strides(shape_) || numel() <= 1; }

  // Pointer to the first element (offset applied); walk it with strides().
  T* data() { return storage_.get() + offset_; }
  const T* data() const { return storage_.get() + offset_; }

  // The elements as one span, row-major; only for contiguous tensors.
  std::span<T> span() {
    require_contiguous("span()");
    return {data(), static_cast<std::size_t>(numel())};
  }
  std::span<const T> span() const {
    require_contiguous("span()");
    return {data(), static_cast<std::size_t>(numel())};
  }

  // Bounds-checked element access.
  T& at(std::initializer_list<Index> index) { return data()[checked_offset(index)]; }
  const T& at(std::initializer_list<Index> index) const { return data()[checked_offset(index)]; }

  // --- views (share storage) ---
  Tensor transposed(int a = -2, int b = -1) const {
    Tensor t = *this;
    a = normalize_axis(a);
    b = normalize_axis(b);
    std::swap(t.shape_[a], t.shape_[b]);
    std::swap(t.strides_[a], t.strides_[b]);
    return t;
  }
  // Elements [begin, end) along `axis`.
  Tensor slice(int axis, Index begin, Index end) const {
    axis = normalize_axis(axis);
    if (begin < 0 || end < begin || end > shape_[axis])
      throw std::out_of_range("slice [" + std::to_string(begin) + ", " + std::to_string(end) +
                              ") out of range for axis " + std::to_string(axis) + " of shape " +
                              shape_string(shape_));
    Tensor t = *this;
    t.offset_ += begin * strides_[axis];
    t.shape_[axis] = end - begin;
    return t;
  }
  // Same elements, new shape (one dimension may be -1); contiguous tensors only.
  Tensor reshaped(Shape shape) const {
    require_contiguous("reshaped()");
    Index known = 1;
    int infer = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      if (shape[i] == -1) {
        if (infer >= 0) throw std::invalid_argument("reshape: more than one -1 in " + shape_string(shape));
        infer = static_cast<int>(i);
      } else {
        known *= shape[i];
      }
    }
    if (infer >= 0 && known > 0 && numel() % known == 0) shape[infer] = numel() / known;
    if (element_count(shape) != numel())
      throw std::invalid_argument("cannot reshape " + shape_string(shape_) + " to " + shape_string(shape));
    Tensor t = *this;
    t.shape_ = std::move(shape);
    t.strides_ = row_major_strides(t.shape_);
    return t;
  }

  // --- copies ---
  Tensor clone() const { return Tensor(shape_, to_vector()); }
  Tensor contiguous() const { return is_contiguous() ? *this : clone(); }
  // Elements in row-major order.
  std::vector<T> to_vector() const {
    if (is_contiguous()) return std::vector<T>(data(), data() + numel());
    std::vector<T> out;
    out.reserve(static_cast<std::size_t>(numel()));
    for_each_offset([&](Index off) { out.push_back(data()[off]); });
    return out;
  }
  template <class U>
  Tensor<U> cast() const {
    std::vector<U> out;
    out.reserve(static_cast<std::size_t>(numel()));
    for_each_offset([&](Index off) { out.push_back(static_cast<U>(data()[off])); });
    return Tensor<U>(shape_, std::move(out));
  }

  // Calls f(offset) for every element in row-major order (offset relative to data()).
  // A template, not a std::function: f is inlined into the element loop.
  template <class F>
  void for_each_offset(F&& f) const {
    const Index n = numel();
    if (n == 0) return;
    if (is_contiguous()) {
      for (Index i = 0; i < n; ++i) f(i);
      return;
    }
    Shape index(shape_.size(), 0);
    Index off = 0;
    for (Index i = 0; i < n; ++i) {
      f(off);
      for (std::size_t d = shape_.size(); d-- > 0;) {
        off += strides_[d];
        if (++index[d] < shape_[d]) break;
        off -= strides_[d] * shape_[d];
        index[d] = 0;
      }
    }
  }

 private:
  void require_contiguous(const char* what) const {
    if (!is_contiguous())
      throw std::logic_error(std::string("Tensor::") + what + " needs a contiguous tensor; call contiguous() first");
  }
  Index checked_offset(std::initializer_list<Index> index) const {
    if (static_cast<int>(index.size()) != rank())
      throw std::invalid_argument("index of rank " + std::to_string(index.size()) +
                                  " for a tensor of shape " + shape_string(shape_));
    Index off = 0;
    int d = 0;
    for (Index i : index) {
      if (i < 0 || i >= shape_[d])
        throw std::out_of_range("index " + std::to_string(i) + " out of range for axis " +
                                std::to_string(d) + " of shape " + shape_string(shape_));
      off += i * strides_[d++];
    }
    return off;
  }

  Shape shape_;
  Shape strides_;
  std::shared_ptr<T[]> storage_;  // the elements (an array, or a vector handed over)
  Index offset_ = 0;
};

using TensorF = Tensor<float>;
using TensorD = Tensor<double>;

}  // namespace bitsim::sim
