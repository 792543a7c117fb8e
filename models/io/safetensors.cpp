#include "models/io/safetensors.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "models/io/byte_reader.hpp"
#include "models/io/load_error.hpp"

namespace bitsim::models {
namespace {

using nlohmann::json;

struct DtypeName {
  const char* name;
  StoredType type;
};
constexpr DtypeName kDtypes[] = {
    {"F64", StoredType::f64},         {"F32", StoredType::f32},     {"F16", StoredType::f16},
    {"BF16", StoredType::bf16},       {"F8_E4M3", StoredType::f8_e4m3},
    {"F8_E5M2", StoredType::f8_e5m2}, {"I64", StoredType::i64},     {"I32", StoredType::i32},
    {"I16", StoredType::i16},         {"I8", StoredType::i8},       {"U8", StoredType::u8},
    {"BOOL", StoredType::boolean},
};

std::optional<StoredType> parse_dtype(const std::string& s) {
  for (const auto& d : kDtypes)
    if (s == d.name) return d.type;
  return std::nullopt;
}

// Headers are JSON objects of a few hundred kB at most; this bound only rejects garbage
// lengths (a corrupt or non-safetensors file) before allocating.
constexpr std::uint64_t kMaxHeaderBytes = 100u << 20;

}  // namespace

std::string safetensors_dtype_names() {
  std::string s;
  for (const auto& d : kDtypes) s += (s.empty() ? "" : ", ") + std::string(d.name);
  return s;
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  namespace fs = std::filesystem;
  SafetensorsFile f;
  std::string target = path;
  if (fs::is_directory(path)) {
    const auto single = fs::path(path) / "model.safetensors";
    const auto index = fs::path(path) / "model.safetensors.index.json";
    if (fs::exists(index)) target = index.string();
    else if (fs::exists(single)) target = single.string();
    else throw LoadError(path + ": directory holds neither model.safetensors nor model.safetensors.index.json");
  }
  if (target.ends_with(".json")) {
    std::ifstream in(target);
    if (!in) throw LoadError(target + ": cannot open");
    json index;
    try {
      index = json::parse(in);
    } catch (const json::exception& e) {
      throw LoadError(target + ": not valid JSON: " + e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
      throw LoadError(target + ": a sharded index needs a \"weight_map\" object");
    std::set<std::string> shards;
    for (const auto& [name, shard] : index["weight_map"].items()) {
      if (!shard.is_string()) throw LoadError(target + ": weight_map[\"" + name + "\"] is not a file name");
      const auto shard_name = shard.get<std::string>();
      if (shard_name.find('/') != std::string::npos || shard_name == "..")
        throw LoadError(target + ": shard name '" + shard_name + "' must be a plain file name");
      shards.insert(shard_name);
    }
    const auto dir = fs::path(target).parent_path();
    for (const auto& shard : shards) f.add_file(std::make_shared<MappedFile>((dir / shard).string()));
    for (const auto& [name, shard] : index["weight_map"].items())
      if (!f.find(name)) throw LoadError(target + ": tensor '" + name + "' is not in its shard " + shard.get<std::string>());
  } else {
    f.add_file(std::make_shared<MappedFile>(target));
  }
  return f;
}

SafetensorsFile SafetensorsFile::read(std::shared_ptr<const MappedFile> file) {
  SafetensorsFile f;
  f.add_file(std::move(file));
  return f;
}

void SafetensorsFile::add_file(std::shared_ptr<const MappedFile> map) {
  const std::string path = map->path();
  ByteReader r(map->bytes(), path);
  const auto header_size = r.read<std::uint64_t>("the header length");
  if (header_size > kMaxHeaderBytes)
    r.fail("header length " + std::to_string(header_size) + " is implausible (not a safetensors file?)");
  const auto header_text = r.read_string(header_size, "the JSON header");
  const auto data = map->bytes().subspan(r.offset());

  json header;
  try {
    header = json::parse(header_text);
  } catch (const json::exception& e) {
    throw LoadError(path + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) throw LoadError(path + ": header is not a JSON object");

  struct Range {
    std::uint64_t begin, end;
    std::string name;
  };
  std::vector<Range> ranges;
  for (const auto& [name, entry] : header.items()) {
    const std::string where = path + ": tensor '" + name + "'";
    if (name == "__metadata__") {
      if (!entry.is_object()) throw LoadError(path + ": __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw LoadError(path + ": __metadata__[\"" + k + "\"] is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") ||
        !entry.contains("data_offsets"))
      throw LoadError(where + ": needs \"dtype\", \"shape\" and \"data_offsets\"");
    const auto& dtype = entry["dtype"];
    if (!dtype.is_string()) throw LoadError(where + ": dtype is not a string");
    const auto type = parse_dtype(dtype.get<std::string>());
    if (!type)
      throw LoadError(where + ": unknown dtype '" + dtype.get<std::string>() + "' (valid: " +
                      safetensors_dtype_names() + ")");
    StoredTensor t;
    t.name = name;
    t.type = *type;
    const auto& shape = entry["shape"];
    if (!shape.is_array()) throw LoadError(where + ": shape is not an array");
    for (const auto& d : shape) {
      if (!d.is_number_unsigned()) throw LoadError(where + ": shape " + shape.dump() + " holds a non-integer or negative size");
      const auto v = d.get<std::uint64_t>();
      if (v > (std::uint64_t(1) << 48)) throw LoadError(where + ": dimension " + std::to_string(v) + " is implausible");
      t.shape.push_back(static_cast<sim::Index>(v));
    }
    const auto& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned())
      throw LoadError(where + ": data_offsets must be [begin, end]");
    const auto begin = offsets[0].get<std::uint64_t>(), end = offsets[1].get<std::uint64_t>();
    if (begin > end || end > data.size())
      throw LoadError(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                      ") fall outside the data section of " + std::to_string(data.size()) + " bytes (truncated file?)");
    std::uint64_t need = 0;
    try {
      need = byte_size(t.type, t.shape);
    } catch (const std::invalid_argument& e) {
      throw LoadError(where + ": " + e.what());
    }
    if (end - begin != need)
      throw LoadError(where + ": " + std::to_string(end - begin) + " bytes, but " +
                      dtype.get<std::string>() + " " + shape.dump() + " needs " + std::to_string(need));
    t.bytes = data.subspan(begin, end - begin);
    if (index_.contains(name)) throw LoadError(where + ": appears in two files");
    ranges.push_back({begin, end, name});
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
  for (std::size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].begin < ranges[i - 1].end)
      throw LoadError(path + ": tensors '" + ranges[i - 1].name + "' and '" + ranges[i].name + "' overlap");
  maps_.push_back(std::move(map));
  files_.push_back(path);
}

const StoredTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const StoredTensor& SafetensorsFile::get(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  throw LoadError((files_.empty() ? std::string("safetensors") : files_.front()) + ": no tensor named '" + name + "'");
}

}  // namespace bitsim::models
