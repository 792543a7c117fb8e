#include "models/io/gguf.hpp"

#include <optional>

#include "models/io/byte_reader.hpp"
#include "models/io/load_error.hpp"

namespace bitsim::models {
namespace {

// ggml's type ids (ggml.h, enum ggml_type) for the types bitsim decodes.
struct GgmlType {
  std::uint32_t id;
  const char* name;
  StoredType type;
};
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", StoredType::f32},   {1, "F16", StoredType::f16},   {2, "Q4_0", StoredType::q4_0},
    {3, "Q4_1", StoredType::q4_1}, {8, "Q8_0", StoredType::q8_0}, {24, "I8", StoredType::i8},
    {25, "I16", StoredType::i16},  {26, "I32", StoredType::i32},  {27, "I64", StoredType::i64},
    {28, "F64", StoredType::f64},  {30, "BF16", StoredType::bf16},
};

std::optional<StoredType> ggml_type(std::uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (t.id == id) return t.type;
  return std::nullopt;
}

// Metadata value types (gguf.h, enum gguf_type).
enum MetaType : std::uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};

// The fewest bytes one value of a type occupies: bounds the element count of an array
// before anything is allocated.
std::uint64_t min_bytes(std::uint32_t type) {
  switch (type) {
    case u8: case i8: case boolean: return 1;
    case u16: case i16: return 2;
    case u32: case i32: case f32: return 4;
    case u64: case i64: case f64: case string: return 8;
    case array: return 12;
    default: return 1;
  }
}

std::string read_gguf_string(ByteReader& r, const char* what) {
  const auto length = r.read<std::uint64_t>(what);
  return r.read_string(length, what);
}

GgufValue read_value(ByteReader& r, std::uint32_t type, int depth) {
  switch (type) {
    case u8: return {std::uint64_t(r.read<std::uint8_t>("a u8 value"))};
    case i8: return {std::int64_t(r.read<std::int8_t>("an i8 value"))};
    case u16: return {std::uint64_t(r.read<std::uint16_t>("a u16 value"))};
    case i16: return {std::int64_t(r.read<std::int16_t>("an i16 value"))};
    case u32: return {std::uint64_t(r.read<std::uint32_t>("a u32 value"))};
    case i32: return {std::int64_t(r.read<std::int32_t>("an i32 value"))};
    case u64: return {r.read<std::uint64_t>("a u64 value")};
    case i64: return {r.read<std::int64_t>("an i64 value")};
    case f32: return {double(r.read<float>("an f32 value"))};
    case f64: return {r.read<double>("an f64 value")};
    case boolean: {
      const auto b = r.read<std::uint8_t>("a bool value");
      if (b > 1) r.fail("bool value " + std::to_string(b) + " is neither 0 nor 1");
      return {b == 1};
    }
    case string: return {read_gguf_string(r, "a string value")};
    case array: {
      if (depth > 2) r.fail("arrays nested deeper than 2");
      const auto element_type = r.read<std::uint32_t>("an array's element type");
      const auto count = r.read<std::uint64_t>("an array's length");
      if (count > r.remaining() / min_bytes(element_type))
        r.fail("array of " + std::to_string(count) + " elements does not fit in the " +
               std::to_string(r.remaining()) + " bytes left");
      GgufArray values;
      values.reserve(static_cast<std::size_t>(count));
      for (std::uint64_t i = 0; i < count; ++i) values.push_back(read_value(r, element_type, depth + 1));
      return {std::move(values)};
    }
    default:
      r.fail("unknown metadata value type " + std::to_string(type) + " (valid: 0..12)");
  }
}

}  // namespace

std::string gguf_supported_types() {
  std::string s;
  for (const auto& t : kGgmlTypes) s += (s.empty() ? "" : ", ") + std::string(t.name) + "=" + std::to_string(t.id);
  return s;
}

std::int64_t GgufValue::as_int(const std::string& key) const {
  if (const auto* u = std::get_if<std::uint64_t>(&value)) {
    if (*u > std::uint64_t(INT64_MAX)) throw LoadError("metadata '" + key + "' is too large");
    return std::int64_t(*u);
  }
  if (const auto* i = std::get_if<std::int64_t>(&value)) return *i;
  throw LoadError("metadata '" + key + "' is not an integer (it is " + summary() + ")");
}

double GgufValue::as_double(const std::string& key) const {
  if (const auto* d = std::get_if<double>(&value)) return *d;
  if (std::holds_alternative<std::uint64_t>(value) || std::holds_alternative<std::int64_t>(value))
    return double(as_int(key));
  throw LoadError("metadata '" + key + "' is not a number (it is " + summary() + ")");
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (const auto* s = std::get_if<std::string>(&value)) return *s;
  throw LoadError("metadata '" + key + "' is not a string (it is " + summary() + ")");
}

const GgufArray& GgufValue::as_array(const std::string& key) const {
  if (const auto* a = std::get_if<GgufArray>(&value)) return *a;
  throw LoadError("metadata '" + key + "' is not an array (it is " + summary() + ")");
}

std::string GgufValue::summary() const {
  struct Visitor {
    std::string operator()(std::uint64_t v) const { return std::to_string(v); }
    std::string operator()(std::int64_t v) const { return std::to_string(v); }
    std::string operator()(double v) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.9g", v);
      return buf;
    }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& s) const {
      std::string shown;  // one line: control characters escaped
      for (char c : s.substr(0, 57)) shown += c == '\n' ? std::string("\\n") : c == '\t' ? std::string("\\t") : std::string(1, c);
      return s.size() <= 57 ? '"' + shown + '"' : '"' + shown + "...\" (" + std::to_string(s.size()) + " bytes)";
    }
    std::string operator()(const GgufArray& a) const {
      std::string kind = a.empty() ? "" : std::visit(
          [](const auto& v) -> std::string {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, std::string>) return "string ";
            else if constexpr (std::is_same_v<V, double>) return "float ";
            else if constexpr (std::is_same_v<V, bool>) return "bool ";
            else if constexpr (std::is_same_v<V, GgufArray>) return "array ";
            else return "integer ";
          }, a.front().value);
      // Appended piece by piece: GCC 12 warns (-Wrestrict, a false positive) on the
      // equivalent chain of operator+.
      std::string shown = "[";
      shown += std::to_string(a.size());
      shown += ' ';
      shown += kind;
      shown += "values]";
      return shown;
    }
  };
  return std::visit(Visitor{}, value);
}

GgufFile GgufFile::open(const std::string& path) { return read(std::make_shared<MappedFile>(path)); }

GgufFile GgufFile::read(std::shared_ptr<const MappedFile> file) {
  GgufFile f;
  f.map_ = std::move(file);
  const auto bytes = f.map_->bytes();
  const std::string& path = f.map_->path();
  ByteReader r(bytes, path);
  const auto magic = r.read_string(4, "the magic number");
  if (magic != "GGUF") r.fail("not a GGUF file (magic is not \"GGUF\")");
  f.version_ = r.read<std::uint32_t>("the version");
  if (f.version_ != 2 && f.version_ != 3)
    r.fail("GGUF version " + std::to_string(f.version_) + " is not supported (valid: 2, 3)");
  const auto tensor_count = r.read<std::uint64_t>("the tensor count");
  const auto kv_count = r.read<std::uint64_t>("the metadata count");
  // Each entry takes at least 8 + 4 bytes (key length, type); each tensor info 8 + 4 + 4 + 8.
  if (kv_count > r.remaining() / 12) r.fail("metadata count " + std::to_string(kv_count) + " exceeds the file");
  for (std::uint64_t i = 0; i < kv_count; ++i) {
    auto key = read_gguf_string(r, "a metadata key");
    const auto type = r.read<std::uint32_t>("a metadata type");
    auto value = read_value(r, type, 0);
    if (f.metadata_.contains(key)) r.fail("metadata key '" + key + "' appears twice");
    f.metadata_.emplace(std::move(key), std::move(value));
  }
  if (const auto* a = f.find_metadata("general.alignment")) {
    const auto align = a->as_int("general.alignment");
    if (align <= 0 || (align & (align - 1)) != 0 || align > (1 << 20))
      r.fail("general.alignment " + std::to_string(align) + " is not a power of two up to 2^20");
    f.alignment_ = std::uint64_t(align);
  }

  if (tensor_count > r.remaining() / 24) r.fail("tensor count " + std::to_string(tensor_count) + " exceeds the file");
  struct Info {
    StoredTensor tensor;
    std::uint64_t offset, size;
  };
  std::vector<Info> infos;
  for (std::uint64_t i = 0; i < tensor_count; ++i) {
    Info info;
    info.tensor.name = read_gguf_string(r, "a tensor name");
    const std::string where = "tensor '" + info.tensor.name + "'";
    const auto n_dims = r.read<std::uint32_t>("a tensor's dimension count");
    if (n_dims < 1 || n_dims > 4) r.fail(where + " has " + std::to_string(n_dims) + " dimensions (valid: 1..4)");
    sim::Shape ne(n_dims);
    for (auto& d : ne) {
      const auto v = r.read<std::uint64_t>("a tensor dimension");
      if (v > (std::uint64_t(1) << 40)) r.fail(where + " has an implausible dimension " + std::to_string(v));
      d = static_cast<sim::Index>(v);
    }
    info.tensor.shape.assign(ne.rbegin(), ne.rend());
    const auto type_id = r.read<std::uint32_t>("a tensor type");
    const auto type = ggml_type(type_id);
    if (!type) r.fail(where + " has ggml type " + std::to_string(type_id) + ", which bitsim does not read (supported: " + gguf_supported_types() + ")");
    info.tensor.type = *type;
    info.offset = r.read<std::uint64_t>("a tensor offset");
    if (info.offset % f.alignment_ != 0) r.fail(where + " offset " + std::to_string(info.offset) + " is not aligned to " + std::to_string(f.alignment_));
    try {
      info.size = byte_size(info.tensor.type, info.tensor.shape);
    } catch (const std::invalid_argument& e) {
      r.fail(where + ": " + e.what());
    }
    infos.push_back(std::move(info));
  }
  const std::uint64_t data_start = (r.offset() + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (data_start > bytes.size() && !infos.empty()) r.fail("the data section starts past the end of the file (truncated?)");
  const std::uint64_t data_size = bytes.size() > data_start ? bytes.size() - data_start : 0;
  for (auto& info : infos) {
    if (info.offset > data_size || info.size > data_size - info.offset)
      throw LoadError(path + ": tensor '" + info.tensor.name + "' needs bytes [" + std::to_string(info.offset) + ", " +
                      std::to_string(info.offset + info.size) + ") of a data section of " + std::to_string(data_size) +
                      " bytes (truncated file?)");
    info.tensor.bytes = bytes.subspan(data_start + info.offset, info.size);
    if (f.index_.contains(info.tensor.name)) throw LoadError(path + ": tensor '" + info.tensor.name + "' appears twice");
    f.index_[info.tensor.name] = f.tensors_.size();
    f.tensors_.push_back(std::move(info.tensor));
  }
  return f;
}

const GgufValue* GgufFile::find_metadata(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufValue& GgufFile::metadata(const std::string& key) const {
  if (const auto* v = find_metadata(key)) return *v;
  throw LoadError(path() + ": no metadata key '" + key + "'");
}

const StoredTensor* GgufFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const StoredTensor& GgufFile::get(const std::string& name) const {
  if (const auto* t = find(name)) return *t;
  throw LoadError(path() + ": no tensor named '" + name + "'");
}

}  // namespace bitsim::models
