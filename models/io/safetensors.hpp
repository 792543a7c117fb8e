#pragma once
// Reader for the safetensors format (Hugging Face): an 8-byte little-endian header length
// N, N bytes of JSON naming each tensor's dtype, shape and [begin, end) byte range inside
// the data section that follows, then the data. Sharded checkpoints add an index file
// (model.safetensors.index.json) whose "weight_map" names the shard of each tensor.
//
// Everything in the header is validated before any tensor byte is touched: JSON syntax,
// known dtypes, shapes, ranges inside the data section and matching dtype x shape, no
// overlaps. Any violation is a LoadError naming the file and the tensor.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/io/mapped_file.hpp"
#include "models/io/stored_tensor.hpp"

namespace bitsim::models {

class SafetensorsFile {
 public:
  // A .safetensors file, a sharded checkpoint's .index.json, or a directory holding
  // model.safetensors or model.safetensors.index.json.
  static SafetensorsFile open(const std::string& path);
  static SafetensorsFile read(std::shared_ptr<const MappedFile> file);  // one file, e.g. in memory

  const std::vector<StoredTensor>& tensors() const { return tensors_; }  // by name, per file
  const StoredTensor* find(const std::string& name) const;               // nullptr if absent
  const StoredTensor& get(const std::string& name) const;                // throws LoadError
  sim::TensorF load(const std::string& name) const { return dequantize(get(name)); }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  void add_file(std::shared_ptr<const MappedFile> map);

  std::vector<std::shared_ptr<const MappedFile>> maps_;
  std::vector<std::string> files_;
  std::vector<StoredTensor> tensors_;
  std::map<std::string, std::size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// The dtype names safetensors uses ("F32", "BF16", "F8_E4M3", ...) and their bitsim types.
std::string safetensors_dtype_names();

}  // namespace bitsim::models
