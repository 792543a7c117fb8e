#include <doctest/doctest.h>

#include "sim/tensor.hpp"

using bitsim::sim::Shape;
using bitsim::sim::TensorF;

TEST_CASE("tensor: row-major layout, views share storage, clone copies") {
  TensorF t(Shape{2, 3}, std::vector<float>{0, 1, 2, 3, 4, 5});
  CHECK(t.strides() == Shape{3, 1});
  CHECK(t.at({1, 2}) == 5.0f);

  TensorF tt = t.transposed();
  CHECK(tt.shape() == Shape{3, 2});
  CHECK_FALSE(tt.is_contiguous());
  CHECK(tt.to_vector() == std::vector<float>{0, 3, 1, 4, 2, 5});
  tt.at({2, 1}) = 50.0f;  // a view writes through to the shared storage
  CHECK(t.at({1, 2}) == 50.0f);

  TensorF c = t.clone();
  c.at({0, 0}) = -1.0f;
  CHECK(t.at({0, 0}) == 0.0f);

  TensorF s = t.slice(1, 1, 3);
  CHECK(s.shape() == Shape{2, 2});
  CHECK(s.to_vector() == std::vector<float>{1, 2, 4, 50});
  CHECK(s.contiguous().is_contiguous());
  CHECK(t.reshaped({-1}).shape() == Shape{6});
  CHECK(t.cast<double>().to_vector() == std::vector<double>{0, 1, 2, 3, 4, 50});
}

TEST_CASE("tensor: bad shapes and indices are clear errors") {
  CHECK_THROWS_AS(TensorF(Shape{2, 2}, std::vector<float>{1, 2, 3}), std::invalid_argument);
  CHECK_THROWS_AS(TensorF(Shape{-1}), std::invalid_argument);
  TensorF t(Shape{2, 3});
  CHECK_THROWS_AS(t.at({2, 0}), std::out_of_range);
  CHECK_THROWS_AS(t.at({0}), std::invalid_argument);
  CHECK_THROWS_AS(t.reshaped({4, 2}), std::invalid_argument);
  CHECK_THROWS_AS(t.transposed().span(), std::logic_error);
  CHECK_THROWS_AS(t.slice(0, 1, 3), std::out_of_range);
  CHECK_THROWS_AS((void)t.size(2), std::out_of_range);
}
