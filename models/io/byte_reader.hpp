#pragma once
// A bounds-checked little-endian cursor over a byte span: every read either succeeds
// inside the span or throws LoadError naming the file, the offset and what was being read.
// Header parsers use nothing else to touch file bytes.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>

#include "models/io/load_error.hpp"

namespace bitsim::models {

static_assert(std::endian::native == std::endian::little,
              "weight-file readers assume a little-endian host");

class ByteReader {
 public:
  ByteReader(std::span<const std::byte> bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}

  std::size_t offset() const { return offset_; }
  std::size_t remaining() const { return bytes_.size() - offset_; }
  const std::string& source() const { return source_; }

  template <class T>
  T read(const char* what) {
    static_assert(std::is_trivially_copyable_v<T>);
    require(sizeof(T), what);
    T value;
    std::memcpy(&value, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return value;
  }

  std::span<const std::byte> read_bytes(std::uint64_t count, const char* what) {
    require(count, what);
    auto out = bytes_.subspan(offset_, static_cast<std::size_t>(count));
    offset_ += static_cast<std::size_t>(count);
    return out;
  }

  std::string read_string(std::uint64_t length, const char* what) {
    auto b = read_bytes(length, what);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }

  [[noreturn]] void fail(const std::string& message) const {
    throw LoadError(source_ + ": " + message + " (at byte offset " + std::to_string(offset_) + ")");
  }

 private:
  void require(std::uint64_t count, const char* what) const {
    if (count > remaining())
      fail(std::string("truncated: reading ") + what + " needs " + std::to_string(count) +
           " bytes, " + std::to_string(remaining()) + " left");
  }

  std::span<const std::byte> bytes_;
  std::string source_;
  std::size_t offset_ = 0;
};

}  // namespace bitsim::models
