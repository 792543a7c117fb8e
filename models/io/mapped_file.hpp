#pragma once
// A read-only memory map of a whole file. Weight files are large (100 MB and up) and read
// sparsely, so mapping beats reading; every access goes through bytes(), a span, so
// readers can bound-check against its size.
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace bitsim::models {

class MappedFile {
 public:
  explicit MappedFile(std::string path);  // throws LoadError (missing, unreadable, a directory)
  // Bytes already in memory, read through the same interface (fuzzers, tests); `name`
  // stands for the path in messages.
  MappedFile(std::string name, std::vector<std::byte> bytes);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::span<const std::byte> bytes() const { return {data_, size_}; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::byte> owned_;  // in-memory files only
  bool mapped_ = false;
  const std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace bitsim::models
