#include "models/train/checkpoint.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "models/io/safetensors.hpp"

namespace bitsim::models::train {

void write_checkpoint(const std::string& path, const Gpt& model, const std::map<std::string, std::string>& extra,
                      const Optimizer::State* optimizer) {
  const GptConfig& c = model.config();
  nlohmann::ordered_json header;
  std::map<std::string, std::string> meta{{"format", "pt"},
                                          {"model_type", "gpt2"},
                                          {"tokenizer", "bytes"},
                                          {"vocab_size", std::to_string(c.vocab)},
                                          {"n_positions", std::to_string(c.context)},
                                          {"n_embd", std::to_string(c.d_model)},
                                          {"n_layer", std::to_string(c.layers)},
                                          {"n_head", std::to_string(c.heads)},
                                          {"layer_norm_epsilon", "1e-05"},
                                          {"activation_function", "gelu_new"}};
  for (const auto& [k, v] : extra) meta[k] = v;
  if (optimizer) {
    char hex[64];
    std::snprintf(hex, sizeof hex, "%a", optimizer->loss_scale);
    meta["optimizer.loss_scale"] = hex;
    meta["optimizer.clean_steps"] = std::to_string(optimizer->clean_steps);
  }
  header["__metadata__"] = meta;
  std::vector<float> data;
  auto add = [&](const std::string& name, const TensorF& stored) {
    const std::size_t begin = data.size() * sizeof(float);
    const auto v = stored.to_vector();
    data.insert(data.end(), v.begin(), v.end());
    header[name] = {{"dtype", "F32"}, {"shape", stored.shape()}, {"data_offsets", {begin, data.size() * sizeof(float)}}};
  };
  const auto& params = model.parameters();
  for (const auto& p : params) add(p.name, p.conv1d ? p.value.transposed().contiguous() : p.value);
  if (optimizer) {
    for (std::size_t i = 0; i < optimizer->m.size(); ++i) add("optimizer.m." + params[i].name, optimizer->m[i]);
    for (std::size_t i = 0; i < optimizer->v.size(); ++i) add("optimizer.v." + params[i].name, optimizer->v[i]);
  }
  std::string text = header.dump();
  while (text.size() % 8 != 0) text += ' ';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write checkpoint '" + tmp + "'");
    const std::uint64_t n = text.size();
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));  // little-endian
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(float)));
    if (!out) throw std::runtime_error("writing checkpoint '" + tmp + "' failed");
  }
  std::filesystem::rename(tmp, path);
}

std::map<std::string, std::string> read_checkpoint_metadata(const std::string& path) {
  return SafetensorsFile::open(path).metadata();
}

Optimizer::State read_optimizer_state(const std::string& path, const Gpt& model, bool adamw) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  const auto scale = meta.find("optimizer.loss_scale"), clean = meta.find("optimizer.clean_steps");
  if (scale == meta.end() || clean == meta.end())
    throw std::invalid_argument("checkpoint '" + path + "' holds no optimizer state (written without it)");
  Optimizer::State s;
  s.loss_scale = std::strtod(scale->second.c_str(), nullptr);
  s.clean_steps = std::stoll(clean->second);
  for (const auto& p : model.parameters()) {
    s.m.push_back(file.load("optimizer.m." + p.name));
    if (adamw) s.v.push_back(file.load("optimizer.v." + p.name));
  }
  return s;
}

Gpt read_checkpoint(const std::string& path) {
  const SafetensorsFile file = SafetensorsFile::open(path);
  const auto& meta = file.metadata();
  auto number = [&](const char* key) -> Index {
    const auto it = meta.find(key);
    if (it == meta.end())
      throw std::invalid_argument("checkpoint '" + path + "' lacks metadata '" + key + "' (not written by bitsim train?)");
    return std::stoll(it->second);
  };
  GptConfig c;
  c.vocab = number("vocab_size");
  c.context = number("n_positions");
  c.d_model = number("n_embd");
  c.layers = number("n_layer");
  c.heads = number("n_head");
  Gpt model(c, 0);
  for (auto& p : model.parameters()) {
    TensorF t = file.load(p.name);
    if (p.conv1d) t = t.transposed().contiguous();
    if (t.shape() != p.value.shape())
      throw std::invalid_argument("checkpoint '" + path + "': tensor " + p.name + " has shape " +
                                  sim::shape_string(t.shape()) + ", expected " + sim::shape_string(p.value.shape()));
    p.value = t;
  }
  return model;
}

}  // namespace bitsim::models::train
