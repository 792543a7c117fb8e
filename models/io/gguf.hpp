#pragma once
// Reader for GGUF (llama.cpp's model file, versions 2 and 3): a header with typed metadata
// (architecture hyper-parameters, the tokenizer's vocabulary and merges, ...) and tensor
// descriptions, then the tensor data, aligned to general.alignment (default 32).
//
// Layout, all little-endian: "GGUF", u32 version, u64 tensor count, u64 metadata count;
// metadata entries (string key, u32 type, value; strings are u64 length + bytes, arrays a
// u32 element type + u64 count + elements); tensor infos (string name, u32 n_dims, u64
// dims with ne0 — the fastest-varying — first, u32 ggml type, u64 offset into the data).
// bitsim reverses the dims: a weight ggml calls [ne0 = in, ne1 = out] is shape {out, in}.
//
// Every count, length and offset is checked against the bytes that remain before it is
// used; anything out of range is a LoadError, never a read past the end.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "models/io/mapped_file.hpp"
#include "models/io/stored_tensor.hpp"

namespace bitsim::models {

struct GgufValue;
using GgufArray = std::vector<GgufValue>;
struct GgufValue {
  // Unsigned integers (u8..u64), signed integers (i8..i64), f32/f64, bool, string, array.
  std::variant<std::uint64_t, std::int64_t, double, bool, std::string, GgufArray> value;

  // Typed access; throw LoadError naming the key when the type does not fit.
  std::int64_t as_int(const std::string& key) const;
  double as_double(const std::string& key) const;
  const std::string& as_string(const std::string& key) const;
  const GgufArray& as_array(const std::string& key) const;
  std::string summary() const;  // short printable form (arrays: type and length)
};

class GgufFile {
 public:
  static GgufFile open(const std::string& path);
  static GgufFile read(std::shared_ptr<const MappedFile> file);  // e.g. bytes in memory

  std::uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find_metadata(const std::string& key) const;
  const GgufValue& metadata(const std::string& key) const;  // throws LoadError
  std::uint64_t alignment() const { return alignment_; }

  const std::vector<StoredTensor>& tensors() const { return tensors_; }  // in file order
  const StoredTensor* find(const std::string& name) const;
  const StoredTensor& get(const std::string& name) const;  // throws LoadError
  sim::TensorF load(const std::string& name) const { return dequantize(get(name)); }
  const std::string& path() const { return map_->path(); }

 private:
  std::shared_ptr<const MappedFile> map_;
  std::uint32_t version_ = 0;
  std::uint64_t alignment_ = 32;
  std::map<std::string, GgufValue> metadata_;
  std::vector<StoredTensor> tensors_;
  std::map<std::string, std::size_t> index_;
};

// ggml tensor type ids bitsim reads, with their names ("F32=0, F16=1, Q4_0=2, ...").
std::string gguf_supported_types();

}  // namespace bitsim::models
