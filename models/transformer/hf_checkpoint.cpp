#include "models/transformer/hf_checkpoint.hpp"

#include <charconv>
#include <filesystem>
#include <fstream>

#include "models/io/load_error.hpp"

namespace bitsim::models {

HfCheckpoint::HfCheckpoint(const std::string& path, const std::string& probe, std::initializer_list<const char*> prefixes)
    : path_(path), file_(std::make_shared<SafetensorsFile>(SafetensorsFile::open(path))) {
  namespace fs = std::filesystem;
  const auto dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  const auto config_path = dir / "config.json";
  if (fs::exists(config_path)) {
    std::ifstream in(config_path);
    try {
      config_ = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      throw LoadError(config_path.string() + ": not valid JSON: " + e.what());
    }
    if (!config_.is_object()) throw LoadError(config_path.string() + ": expected a JSON object");
  } else {
    config_ = nlohmann::json::object();
    for (const auto& [key, value] : file_->metadata()) config_[key] = value;
  }
  bool found = file_->find(probe) != nullptr;
  for (auto it = prefixes.begin(); !found && it != prefixes.end(); ++it)
    if (file_->find(std::string(*it) + probe)) {
      prefix_ = *it;
      found = true;
    }
  if (!found) throw LoadError(path + ": no tensor '" + probe + "' (with or without a prefix): not this architecture");
}

bool HfCheckpoint::has_config(const std::string& key) const { return config_.contains(key) && !config_[key].is_null(); }

std::string HfCheckpoint::config_string(const std::string& key) const {
  if (!has_config(key)) throw LoadError(path_ + ": the configuration lacks \"" + key + "\"");
  const auto& v = config_[key];
  return v.is_string() ? v.get<std::string>() : v.dump();
}

long long HfCheckpoint::config_int(const std::string& key) const {
  const std::string text = config_string(key);
  long long v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size())
    throw LoadError(path_ + ": configuration \"" + key + "\" = " + text + " is not an integer");
  return v;
}

double HfCheckpoint::config_double(const std::string& key, std::optional<double> fallback) const {
  if (!has_config(key) && fallback) return *fallback;
  const std::string text = config_string(key);
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw LoadError(path_ + ": configuration \"" + key + "\" = " + text + " is not a number");
}

const StoredTensor* HfCheckpoint::find(const std::string& name) const {
  const auto* t = file_->find(prefix_ + name);
  return t ? t : file_->find(name);
}

const StoredTensor& HfCheckpoint::get(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  return file_->get(prefix_ + name);  // throws the reader's LoadError naming the tensor
}

const sim::Shape& HfCheckpoint::shape(const std::string& name) const { return get(name).shape; }

sim::TensorF HfCheckpoint::load(const std::string& name, const sim::Shape& shape) const {
  const auto& t = get(name);
  if (t.shape != shape)
    throw LoadError(path_ + ": tensor '" + t.name + "' has shape " + sim::shape_string(t.shape) +
                    ", the configuration needs " + sim::shape_string(shape));
  return dequantize(t);
}

}  // namespace bitsim::models
