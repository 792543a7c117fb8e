// bitsim model info PATH: what a weight file holds — its format, the architecture metadata,
// and its tensors (name, stored type, shape) — read with the same validating readers the
// forward passes use, so a corrupt or truncated file is reported here first.
//   PATH: a .gguf file, a .safetensors file, a sharded index (.index.json) or a directory.
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "experiments/cli/commands.hpp"
#include "experiments/cli/text_table.hpp"
#include "models/io/gguf.hpp"
#include "models/io/load_error.hpp"
#include "models/io/safetensors.hpp"

namespace bitsim::cli {
namespace {

struct Summary {
  std::string container;
  std::vector<std::pair<std::string, std::string>> metadata;  // key, printable value
  std::vector<models::StoredTensor> tensors;
};

Summary summarize(const std::string& path) {
  Summary s;
  if (path.ends_with(".gguf")) {
    const auto f = models::GgufFile::open(path);
    s.container = "GGUF v" + std::to_string(f.version());
    for (const auto& [key, value] : f.metadata()) s.metadata.emplace_back(key, value.summary());
    s.tensors = f.tensors();
  } else {
    const auto f = models::SafetensorsFile::open(path);
    s.container = "safetensors (" + std::to_string(f.files().size()) + " file" + (f.files().size() == 1 ? ")" : "s)");
    for (const auto& [key, value] : f.metadata()) s.metadata.emplace_back(key, value);
    s.tensors = f.tensors();
  }
  return s;
}

void print_info(const std::string& path, bool json, bool list_tensors) {
  const Summary s = summarize(path);
  std::map<std::string, std::pair<std::int64_t, std::uint64_t>> by_type;  // tensors, elements
  std::uint64_t elements = 0, bytes = 0;
  for (const auto& t : s.tensors) {
    const auto n = static_cast<std::uint64_t>(sim::element_count(t.shape));
    auto& entry = by_type[std::string(models::info(t.type).name)];
    ++entry.first;
    entry.second += n;
    elements += n;
    bytes += t.bytes.size();
  }
  if (json) {
    nlohmann::ordered_json out = {{"path", path}, {"container", s.container},
                                  {"tensor_count", s.tensors.size()}, {"elements", elements},
                                  {"bytes", bytes}};
    auto meta = nlohmann::ordered_json::object();
    for (const auto& [k, v] : s.metadata) meta[k] = v;
    out["metadata"] = meta;
    auto tensors = nlohmann::ordered_json::array();
    for (const auto& t : s.tensors)
      tensors.push_back({{"name", t.name}, {"type", models::info(t.type).name}, {"shape", t.shape}});
    out["tensors"] = tensors;
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%s: %s, %zu tensors, %llu elements, %llu bytes of tensor data\n", path.c_str(),
              s.container.c_str(), s.tensors.size(), static_cast<unsigned long long>(elements),
              static_cast<unsigned long long>(bytes));
  std::vector<TableRow> types;
  for (const auto& [name, counts] : by_type)
    types.push_back({name, std::to_string(counts.first), std::to_string(counts.second)});
  std::printf("\n");
  print_table(stdout, {"stored type", "tensors", "elements"}, types);
  if (!s.metadata.empty()) {
    std::vector<TableRow> meta;
    for (const auto& [k, v] : s.metadata) meta.push_back({k, v});
    std::printf("\n");
    print_table(stdout, {"metadata", "value"}, meta);
  }
  if (list_tensors) {
    std::vector<TableRow> rows;
    for (const auto& t : s.tensors)
      rows.push_back({t.name, std::string(models::info(t.type).name), sim::shape_string(t.shape)});
    std::printf("\n");
    print_table(stdout, {"tensor", "type", "shape"}, rows);
  }
}

}  // namespace

void add_model_command(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Inspect and run pretrained models");
  model->require_subcommand(1);
  auto* info = model->add_subcommand("info", "What a weight file (GGUF, safetensors) holds");
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  auto tensors = std::make_shared<bool>(false);
  info->add_option("PATH", *path, "a .gguf or .safetensors file, a sharded .index.json, or a directory")->required();
  info->add_flag("--json", *json, "Print JSON (always lists the tensors)");
  info->add_flag("--tensors", *tensors, "List every tensor with its type and shape");
  info->callback([=] {
    try {
      print_info(*path, *json, *tensors);
    } catch (const models::LoadError& e) {
      // A file that cannot be read is bad input: exit status 2, like an unknown format.
      throw std::invalid_argument(e.what());
    }
  });
}

}  // namespace bitsim::cli
