#pragma once
// A Hugging Face-style checkpoint as the safetensors engines (BERT, GPT-2) read it: the
// weights (one file, a sharded index or a directory; SafetensorsFile) and the
// hyper-parameters, from config.json beside the weights or, where that is absent, from the
// safetensors header's "__metadata__" (string values, as bitsim's trainer writes them).
// Tensor names may carry a prefix ("bert.", "transformer."), found once from a known name;
// a name is looked up with the prefix first, then as it is (GPT2LMHeadModel files keep
// lm_head.weight outside the "transformer." prefix).
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "models/io/safetensors.hpp"
#include "sim/tensor.hpp"

namespace bitsim::models {

class HfCheckpoint {
 public:
  // path: a directory or a .safetensors file. `probe` is a tensor name every checkpoint of
  // the architecture holds, used to find the prefix among `prefixes` ("" is always tried
  // first). Throws LoadError when the weights or the probe are missing.
  HfCheckpoint(const std::string& path, const std::string& probe, std::initializer_list<const char*> prefixes);

  const std::string& path() const { return path_; }
  bool has_config(const std::string& key) const;
  std::string config_string(const std::string& key) const;                      // LoadError if absent
  long long config_int(const std::string& key) const;                           // LoadError if absent or not an integer
  double config_double(const std::string& key, std::optional<double> fallback = std::nullopt) const;

  bool has(const std::string& name) const { return find(name) != nullptr; }
  // The tensor (prefix added) as float32, checked against `shape` (LoadError naming both).
  sim::TensorF load(const std::string& name, const sim::Shape& shape) const;
  // A tensor's stored shape (LoadError if absent).
  const sim::Shape& shape(const std::string& name) const;

 private:
  const StoredTensor* find(const std::string& name) const;
  const StoredTensor& get(const std::string& name) const;

  std::string path_, prefix_;
  std::shared_ptr<SafetensorsFile> file_;
  nlohmann::json config_;  // config.json, or the header metadata (string values)
};

}  // namespace bitsim::models
