#include "experiments/results/results_io.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "experiments/results/hdf5_support.hpp"

namespace bitsim::experiments::detail {

using hdf5::check_status;
using hdf5::Handle;
using hdf5::make;

namespace {

constexpr const char* kMarker = "bitsim-results";
constexpr const char* kIndexColumn = "index";

// One field of a /results row: the grid index first, then the schema's columns, packed.
struct Field {
  std::string name;
  Column::Kind kind;
  std::size_t bytes;   // text: the fixed string width; numbers: 8
  std::size_t offset;  // within a packed row
};

struct RowLayout {
  std::vector<Field> fields;  // without the index, which sits at offset 0
  std::size_t row_bytes = 8;
};

RowLayout layout_of(const std::vector<Column>& columns, const std::vector<std::size_t>& text_bytes) {
  RowLayout layout;
  for (std::size_t c = 0; c < columns.size(); ++c) {
    const std::size_t bytes = columns[c].kind == Column::Kind::text ? std::max<std::size_t>(1, text_bytes[c]) : 8;
    layout.fields.push_back({columns[c].name, columns[c].kind, bytes, layout.row_bytes});
    layout.row_bytes += bytes;
  }
  return layout;
}

// The compound type of a row: little-endian standard types in the file, native in memory
// (the two coincide on x86 and ARM; HDF5 converts elsewhere).
Handle row_type(const RowLayout& layout, bool in_file) {
  Handle type = make(H5Tcreate(H5T_COMPOUND, layout.row_bytes), "creating the row type");
  check_status(H5Tinsert(type, kIndexColumn, 0, in_file ? H5T_STD_U64LE : H5T_NATIVE_UINT64), "adding index");
  for (const Field& field : layout.fields) {
    Handle text;
    hid_t member = -1;
    switch (field.kind) {
      case Column::Kind::text:
        text = hdf5::fixed_string_type(field.bytes);
        member = text;
        break;
      case Column::Kind::integer: member = in_file ? H5T_STD_I64LE : H5T_NATIVE_INT64; break;
      case Column::Kind::real: member = in_file ? H5T_IEEE_F64LE : H5T_NATIVE_DOUBLE; break;
    }
    check_status(H5Tinsert(type, field.name.c_str(), field.offset, member), "adding column " + field.name);
  }
  return type;
}

Handle property_list(hid_t property_class, const char* what) {
  Handle list = make(H5Pcreate(property_class), what);
  // No access/modification times in object headers: the bytes of a file depend only on
  // what is written (reruns produce identical reproducible datasets).
  check_status(H5Pset_obj_track_times(list, false), "turning off object time tracking");
  return list;
}

void write_doubles(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims, const double* data,
                   hid_t dataset_properties) {
  const Handle space = make(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "creating a space");
  const Handle dataset = make(
      H5Dcreate2(parent, name.c_str(), H5T_IEEE_F64LE, space, H5P_DEFAULT, dataset_properties, H5P_DEFAULT),
      "creating dataset " + name);
  hsize_t count = 1;
  for (hsize_t d : dims) count *= d;
  if (count > 0) {
    check_status(H5Dwrite(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "writing " + name);
  }
}

std::string dependencies_json(const BuildInfo& build) {
  nlohmann::ordered_json deps = nlohmann::ordered_json::object();
  for (const auto& [name, version] : build.dependencies) deps[name] = version;
  return deps.dump();
}

std::vector<std::pair<std::string, std::string>> parse_dependencies(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> deps;
  const auto json = nlohmann::ordered_json::parse(text, nullptr, false);
  if (!json.is_object()) throw std::runtime_error("attribute 'dependencies' is not a JSON object");
  for (const auto& [name, version] : json.items()) {
    deps.emplace_back(name, version.is_string() ? version.get<std::string>() : version.dump());
  }
  return deps;
}

// A 1-D or N-D dataset of `type` in the file, from memory of `memory_type`.
void write_dataset(hid_t parent, const std::string& name, const std::vector<hsize_t>& dims, hid_t file_type,
                   hid_t memory_type, const void* data, hid_t dataset_properties) {
  const Handle space = make(H5Screate_simple(int(dims.size()), dims.data(), nullptr), "creating a space");
  const Handle dataset =
      make(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, dataset_properties, H5P_DEFAULT),
           "creating dataset " + name);
  hsize_t count = 1;
  for (hsize_t d : dims) count *= d;
  if (count > 0) check_status(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "writing " + name);
}

void write_bytes_dataset(hid_t parent, const std::string& name, const std::vector<std::uint8_t>& bytes,
                         hid_t dataset_properties) {
  write_dataset(parent, name, {bytes.size()}, H5T_STD_U8LE, H5T_NATIVE_UINT8, bytes.data(), dataset_properties);
}

// /dumps/<index>/<name>: the raw tensors of the points that have any (none: no group, so
// files without dumps keep their layout byte for byte).
void write_dumps(hid_t file, const ResultsTable& table, hid_t groups, hid_t datasets) {
  if (std::none_of(table.rows.begin(), table.rows.end(), [](const PointResult& r) { return !r.dumps.empty(); })) return;
  const Handle dumps = make(H5Gcreate2(file, "dumps", H5P_DEFAULT, groups, H5P_DEFAULT), "creating group dumps");
  for (const PointResult& row : table.rows) {
    if (row.dumps.empty()) continue;
    const std::string point_name = std::to_string(row.index);
    const Handle point = make(H5Gcreate2(dumps, point_name.c_str(), H5P_DEFAULT, groups, H5P_DEFAULT),
                              "creating group dumps/" + point_name);
    for (const TensorDump& d : row.dumps) {
      const std::string where = "dumps/" + point_name + "/" + d.name;
      const Handle tensor = make(H5Gcreate2(point, d.name.c_str(), H5P_DEFAULT, groups, H5P_DEFAULT), "creating " + where);
      hdf5::write_attribute(tensor, "spec", d.spec);
      hdf5::write_attribute(tensor, "shape", d.shape);
      if (!d.values.empty()) {
        std::vector<hsize_t> dims(d.shape.begin(), d.shape.end());
        write_dataset(tensor, "values", dims, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, d.values.data(), datasets);
      }
      if (d.has_codes) {
        hdf5::write_attribute(tensor, "code_bits", std::int64_t(d.code_bits));
        hdf5::write_attribute(tensor, "scale_shape", d.scale_shape);
        hdf5::write_attribute(tensor, "scale_bits", std::int64_t(d.scale_bits));
        hdf5::write_attribute(tensor, "zero_point_bits", std::int64_t(d.zero_point_bits));
        hdf5::write_attribute(tensor, "tensor_scale", d.tensor_scale);
        write_bytes_dataset(tensor, "codes", d.codes, datasets);
        write_bytes_dataset(tensor, "scales", d.scales, datasets);
        write_bytes_dataset(tensor, "zero_points", d.zero_points, datasets);
      }
    }
  }
}

// One row of a compound table: a grid index and the cells of the table's columns.
struct IndexedCells {
  std::uint64_t index;
  const std::vector<Cell>* cells;
};

// A 1-D compound dataset: field `index` (uint64) then one field per column, text as
// fixed-length strings as wide as the longest value (at least 1 byte).
void write_compound(hid_t parent, const std::string& name, const std::vector<Column>& columns,
                    const std::vector<IndexedCells>& rows, hid_t dataset_properties) {
  std::vector<std::size_t> text_bytes(columns.size(), 0);
  for (const IndexedCells& row : rows) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (const auto* text = std::get_if<std::string>(&(*row.cells)[c])) text_bytes[c] = std::max(text_bytes[c], text->size());
    }
  }
  const RowLayout layout = layout_of(columns, text_bytes);
  std::vector<unsigned char> buffer(layout.row_bytes * rows.size(), 0);
  for (std::size_t r = 0; r < rows.size(); ++r) {
    unsigned char* out = buffer.data() + r * layout.row_bytes;
    std::memcpy(out, &rows[r].index, 8);
    for (std::size_t c = 0; c < layout.fields.size(); ++c) {
      const Field& field = layout.fields[c];
      std::visit([&](const auto& value) {
        using T = std::decay_t<decltype(value)>;
        if constexpr (std::is_same_v<T, std::string>) {
          std::memcpy(out + field.offset, value.data(), value.size());
        } else {
          std::memcpy(out + field.offset, &value, 8);
        }
      }, (*rows[r].cells)[c]);
    }
  }
  const Handle file_type = row_type(layout, true);
  const Handle memory_type = row_type(layout, false);
  const hsize_t dims[1] = {rows.size()};
  const Handle space = make(H5Screate_simple(1, dims, nullptr), "creating the " + name + " space");
  const Handle dataset = make(H5Dcreate2(parent, name.c_str(), file_type, space, H5P_DEFAULT, dataset_properties, H5P_DEFAULT),
                              "creating dataset " + name);
  if (!rows.empty()) {
    check_status(H5Dwrite(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), "writing dataset " + name);
  }
}

void write_table(hid_t file, const ResultsTable& table) {
  const RunInfo& info = table.info;
  const BuildInfo& build = table.build;
  hdf5::write_attribute(file, "format", std::string(kMarker));
  hdf5::write_attribute(file, "format_version", kResultsFormatVersion);
  hdf5::write_attribute(file, "config_text", info.config_text);
  hdf5::write_attribute(file, "config_hash", info.config_hash);
  hdf5::write_attribute(file, "grid_json", info.grid_json);
  hdf5::write_attribute(file, "grid_size", std::int64_t(info.grid_size));
  hdf5::write_attribute(file, "complete", std::int64_t(table.complete ? 1 : 0));
  hdf5::write_attribute(file, "bitsim_version", build.version);
  hdf5::write_attribute(file, "git_revision", build.git_revision);
  hdf5::write_attribute(file, "compiler", build.compiler);
  hdf5::write_attribute(file, "build_type", build.build_type);
  hdf5::write_attribute(file, "dependencies", dependencies_json(build));

  const Handle groups = property_list(H5P_GROUP_CREATE, "creating group properties");
  const Handle datasets = property_list(H5P_DATASET_CREATE, "creating dataset properties");
  const std::size_t rows = table.rows.size();

  // /results: one compound row per point.
  std::vector<IndexedCells> results;
  results.reserve(rows);
  for (const PointResult& row : table.rows) results.push_back({row.index, &row.cells});
  write_compound(file, "results", table.columns, results, datasets);

  // /arrays/<name>: [points, length], row r belonging to /results row r.
  const Handle arrays = make(H5Gcreate2(file, "arrays", H5P_DEFAULT, groups, H5P_DEFAULT), "creating group arrays");
  if (rows > 0) {
    for (std::size_t a = 0; a < table.rows[0].arrays.size(); ++a) {
      const std::string& name = table.rows[0].arrays[a].first;
      const std::size_t length = table.rows[0].arrays[a].second.size();
      std::vector<double> values;
      values.reserve(rows * length);
      for (const PointResult& row : table.rows) {
        values.insert(values.end(), row.arrays[a].second.begin(), row.arrays[a].second.end());
      }
      write_doubles(arrays, name, {rows, length}, values.data(), datasets);
    }
  }

  // /curves: the points' curve rows, point by point (only when the run records curves).
  if (!table.curve_columns.empty()) {
    std::vector<IndexedCells> curves;
    for (const PointResult& row : table.rows)
      for (const auto& cells : row.curve) curves.push_back({row.index, &cells});
    write_compound(file, "curves", table.curve_columns, curves, datasets);
  }

  write_dumps(file, table, groups, datasets);

  // /environment: where and when the run happened; the only part that differs on a rerun.
  const Handle environment =
      make(H5Gcreate2(file, "environment", H5P_DEFAULT, groups, H5P_DEFAULT), "creating group environment");
  hdf5::write_attribute(environment, "config_path", info.config_path);
  hdf5::write_attribute(environment, "shard", info.shard);
  hdf5::write_attribute(environment, "host", info.host);
  hdf5::write_attribute(environment, "threads", std::int64_t(info.threads));
  hdf5::write_attribute(environment, "started_utc", info.started_utc);
  hdf5::write_attribute(environment, "finished_utc", info.finished_utc);
  hdf5::write_attribute(environment, "device", info.device);
  hdf5::write_attribute(environment, "merged_from", info.merged_from);
  std::vector<double> seconds;
  for (const PointResult& row : table.rows) seconds.push_back(row.seconds);
  write_doubles(environment, "seconds", {rows}, seconds.data(), datasets);
}

std::vector<hsize_t> dims_of(hid_t dataset, const std::string& name) {
  const Handle space = make(H5Dget_space(dataset), "reading the shape of " + name);
  const int rank = H5Sget_simple_extent_ndims(space);
  if (rank < 0) hdf5::fail("reading the rank of " + name);
  std::vector<hsize_t> dims(std::size_t(rank), 0);
  if (rank > 0) check_status(H5Sget_simple_extent_dims(space, dims.data(), nullptr), "reading the shape of " + name);
  return dims;
}

Handle open_dataset(hid_t parent, const std::string& name, const std::string& where) {
  const htri_t exists = H5Lexists(parent, name.c_str(), H5P_DEFAULT);
  if (exists < 0) hdf5::fail("looking for " + where);
  if (exists == 0) throw std::runtime_error("dataset " + where + " is missing");
  return make(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening " + where);
}

std::vector<double> read_doubles(hid_t dataset, std::size_t count, const std::string& name) {
  std::vector<double> values(count);
  if (count > 0) {
    check_status(H5Dread(dataset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()),
                 "reading " + name);
  }
  return values;
}

// A compound table written by write_compound: its columns (after `index`) and its rows.
struct CompoundTable {
  std::vector<Column> columns;
  std::vector<std::uint64_t> indices;
  std::vector<std::vector<Cell>> rows;
};

CompoundTable read_compound(hid_t file, const std::string& name) {
  const std::string where = "/" + name;
  CompoundTable table;
  const Handle dataset = open_dataset(file, name, where);
  const Handle stored = make(H5Dget_type(dataset), "reading the type of " + where);
  if (H5Tget_class(stored) != H5T_COMPOUND) throw std::runtime_error(where + " is not a table (compound dataset)");
  const int members = H5Tget_nmembers(stored);
  if (members < 1) hdf5::fail("reading the columns of " + where);
  const auto member_name = [&](int m) {
    char* raw = H5Tget_member_name(stored, unsigned(m));
    if (raw == nullptr) hdf5::fail("reading a column name of " + where);
    std::string member = raw;
    H5free_memory(raw);
    return member;
  };
  if (member_name(0) != kIndexColumn || H5Tget_member_class(stored, 0) != H5T_INTEGER) {
    throw std::runtime_error(where + " does not start with the integer column 'index'");
  }
  std::vector<std::size_t> text_bytes;
  for (int m = 1; m < members; ++m) {
    Column column{member_name(m)};
    std::size_t bytes = 0;
    switch (H5Tget_member_class(stored, unsigned(m))) {
      case H5T_STRING: {
        column.kind = Column::Kind::text;
        const Handle member = make(H5Tget_member_type(stored, unsigned(m)), "reading a column type");
        if (H5Tis_variable_str(member) != 0) {
          throw std::runtime_error("column '" + column.name + "' holds variable-length text; bitsim writes fixed-length");
        }
        bytes = H5Tget_size(member);
        break;
      }
      case H5T_INTEGER: column.kind = Column::Kind::integer; break;
      case H5T_FLOAT: column.kind = Column::Kind::real; break;
      default: throw std::runtime_error("column '" + column.name + "' of " + where + " is not text, integer or real");
    }
    table.columns.push_back(std::move(column));
    text_bytes.push_back(bytes);
  }
  const auto dims = dims_of(dataset, where);
  if (dims.size() != 1) throw std::runtime_error(where + " is not one-dimensional");
  const std::size_t rows = dims[0];
  const RowLayout layout = layout_of(table.columns, text_bytes);
  std::vector<unsigned char> buffer(layout.row_bytes * rows, 0);
  if (rows > 0) {
    const Handle memory_type = row_type(layout, false);
    check_status(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), "reading " + where);
  }
  table.indices.resize(rows);
  table.rows.resize(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const unsigned char* in = buffer.data() + r * layout.row_bytes;
    std::memcpy(&table.indices[r], in, 8);
    std::vector<Cell>& cells = table.rows[r];
    for (const Field& field : layout.fields) {
      const unsigned char* cell = in + field.offset;
      switch (field.kind) {
        case Column::Kind::text: {
          const auto* text = reinterpret_cast<const char*>(cell);
          cells.emplace_back(std::string(text, strnlen(text, field.bytes)));
          break;
        }
        case Column::Kind::integer: {
          std::int64_t value = 0;
          std::memcpy(&value, cell, 8);
          cells.emplace_back(value);
          break;
        }
        case Column::Kind::real: {
          double value = 0;
          std::memcpy(&value, cell, 8);
          cells.emplace_back(value);
          break;
        }
      }
    }
  }
  return table;
}

void read_rows(hid_t file, ResultsTable& table) {
  CompoundTable results = read_compound(file, "results");
  table.columns = std::move(results.columns);
  table.rows.resize(results.rows.size());
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    PointResult& row = table.rows[r];
    row.index = results.indices[r];
    if (r > 0 && row.index <= table.rows[r - 1].index) {
      throw std::runtime_error("/results is not sorted by index (row " + std::to_string(r) + ")");
    }
    row.cells = std::move(results.rows[r]);
  }
}

// /curves, when the run records curves: each row goes to its point's `curve`, in file order.
void read_curves(hid_t file, ResultsTable& table) {
  const htri_t exists = H5Lexists(file, "curves", H5P_DEFAULT);
  if (exists < 0) hdf5::fail("looking for /curves");
  if (exists == 0) return;
  CompoundTable curves = read_compound(file, "curves");
  if (curves.columns.empty()) throw std::runtime_error("/curves has no column besides 'index'");
  table.curve_columns = std::move(curves.columns);
  auto row = table.rows.begin();
  for (std::size_t r = 0; r < curves.rows.size(); ++r) {
    const std::uint64_t index = curves.indices[r];
    while (row != table.rows.end() && row->index < index) ++row;
    if (row == table.rows.end() || row->index != index) {
      throw std::runtime_error("/curves row " + std::to_string(r) + " names point " + std::to_string(index) +
                               ", which is not in /results (or the rows are not sorted by index)");
    }
    row->curve.push_back(std::move(curves.rows[r]));
  }
}

void read_arrays(hid_t file, ResultsTable& table) {
  const htri_t exists = H5Lexists(file, "arrays", H5P_DEFAULT);
  if (exists <= 0) throw std::runtime_error("group /arrays is missing");
  const Handle arrays = make(H5Gopen2(file, "arrays", H5P_DEFAULT), "opening /arrays");
  H5G_info_t group{};
  check_status(H5Gget_info(arrays, &group), "listing /arrays");
  for (hsize_t i = 0; i < group.nlinks; ++i) {
    const ssize_t length = H5Lget_name_by_idx(arrays, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) hdf5::fail("listing /arrays");
    std::string name(std::size_t(length) + 1, '\0');
    H5Lget_name_by_idx(arrays, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(std::size_t(length));
    const std::string where = "/arrays/" + name;
    const Handle dataset = open_dataset(arrays, name, where);
    const auto dims = dims_of(dataset, where);
    if (dims.size() != 2 || dims[0] != table.rows.size()) {
      throw std::runtime_error(where + " is not [points, length] with one row per /results row");
    }
    const auto values = read_doubles(dataset, dims[0] * dims[1], where);
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
      const auto first = values.begin() + std::ptrdiff_t(r * dims[1]);
      table.rows[r].arrays.emplace_back(name, std::vector<double>(first, first + std::ptrdiff_t(dims[1])));
    }
  }
}

// The names of a group's links, in name order.
std::vector<std::string> link_names(hid_t group, const std::string& where) {
  H5G_info_t info{};
  check_status(H5Gget_info(group, &info), "listing " + where);
  std::vector<std::string> names;
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    const ssize_t length = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (length < 0) hdf5::fail("listing " + where);
    std::string name(std::size_t(length) + 1, '\0');
    H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(std::size_t(length));
    names.push_back(std::move(name));
  }
  return names;
}

std::size_t element_count_of(const std::vector<hsize_t>& dims) {
  std::size_t n = 1;
  for (hsize_t d : dims) n *= std::size_t(d);
  return n;
}

std::vector<std::uint8_t> read_bytes_dataset(hid_t parent, const std::string& name, const std::string& where) {
  const Handle dataset = open_dataset(parent, name, where);
  const auto dims = dims_of(dataset, where);
  if (dims.size() != 1) throw std::runtime_error(where + " is not a 1-D byte array");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(dims[0]));
  if (!bytes.empty()) {
    check_status(H5Dread(dataset, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "reading " + where);
  }
  return bytes;
}

void read_dumps(hid_t file, ResultsTable& table) {
  const htri_t exists = H5Lexists(file, "dumps", H5P_DEFAULT);
  if (exists < 0) hdf5::fail("looking for /dumps");
  if (exists == 0) return;  // the run dumped nothing
  const Handle dumps = make(H5Gopen2(file, "dumps", H5P_DEFAULT), "opening /dumps");
  for (const std::string& point_name : link_names(dumps, "/dumps")) {
    const std::string point_where = "/dumps/" + point_name;
    std::uint64_t index = 0;
    std::size_t used = 0;
    try {
      index = std::stoull(point_name, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    const auto row = std::lower_bound(table.rows.begin(), table.rows.end(), index,
                                      [](const PointResult& r, std::uint64_t i) { return r.index < i; });
    if (used != point_name.size() || point_name.empty() || row == table.rows.end() || row->index != index) {
      throw std::runtime_error(point_where + " does not name a point of /results");
    }
    const Handle point = make(H5Gopen2(dumps, point_name.c_str(), H5P_DEFAULT), "opening " + point_where);
    for (const std::string& name : link_names(point, point_where)) {
      const std::string where = point_where + "/" + name;
      const Handle tensor = make(H5Gopen2(point, name.c_str(), H5P_DEFAULT), "opening " + where);
      TensorDump d;
      d.name = name;
      d.spec = hdf5::read_string_attribute(tensor, "spec");
      d.shape = hdf5::read_integer_array_attribute(tensor, "shape");
      if (H5Lexists(tensor, "values", H5P_DEFAULT) > 0) {
        const Handle values = open_dataset(tensor, "values", where + "/values");
        const auto dims = dims_of(values, where + "/values");
        if (!std::equal(dims.begin(), dims.end(), d.shape.begin(), d.shape.end(),
                        [](hsize_t a, std::int64_t b) { return std::int64_t(a) == b; })) {
          throw std::runtime_error(where + "/values does not have the shape its attribute 'shape' says");
        }
        d.values.resize(element_count_of(dims));
        if (!d.values.empty()) {
          check_status(H5Dread(values, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.values.data()),
                       "reading " + where + "/values");
        }
      }
      d.has_codes = H5Lexists(tensor, "codes", H5P_DEFAULT) > 0;
      if (d.has_codes) {
        d.code_bits = int(hdf5::read_integer_attribute(tensor, "code_bits"));
        d.scale_shape = hdf5::read_integer_array_attribute(tensor, "scale_shape");
        d.scale_bits = int(hdf5::read_integer_attribute(tensor, "scale_bits"));
        d.zero_point_bits = int(hdf5::read_integer_attribute(tensor, "zero_point_bits"));
        d.tensor_scale = hdf5::read_real_attribute(tensor, "tensor_scale");
        d.codes = read_bytes_dataset(tensor, "codes", where + "/codes");
        d.scales = read_bytes_dataset(tensor, "scales", where + "/scales");
        d.zero_points = read_bytes_dataset(tensor, "zero_points", where + "/zero_points");
      }
      row->dumps.push_back(std::move(d));
    }
  }
}

void read_environment(hid_t file, ResultsTable& table) {
  const htri_t exists = H5Lexists(file, "environment", H5P_DEFAULT);
  if (exists <= 0) throw std::runtime_error("group /environment is missing");
  const Handle environment = make(H5Gopen2(file, "environment", H5P_DEFAULT), "opening /environment");
  RunInfo& info = table.info;
  info.config_path = hdf5::read_string_attribute(environment, "config_path");
  info.shard = hdf5::read_string_attribute(environment, "shard");
  info.host = hdf5::read_string_attribute(environment, "host");
  info.threads = int(hdf5::read_integer_attribute(environment, "threads"));
  info.started_utc = hdf5::read_string_attribute(environment, "started_utc");
  info.finished_utc = hdf5::read_string_attribute(environment, "finished_utc");
  info.device = hdf5::read_string_attribute(environment, "device");
  info.merged_from = hdf5::read_string_attribute(environment, "merged_from");
  const Handle seconds = open_dataset(environment, "seconds", "/environment/seconds");
  const auto dims = dims_of(seconds, "/environment/seconds");
  if (dims.size() != 1 || dims[0] != table.rows.size()) {
    throw std::runtime_error("/environment/seconds does not have one value per /results row");
  }
  const auto values = read_doubles(seconds, dims[0], "/environment/seconds");
  for (std::size_t r = 0; r < table.rows.size(); ++r) table.rows[r].seconds = values[r];
}

}  // namespace

std::string kind_name(Column::Kind kind) {
  switch (kind) {
    case Column::Kind::text: return "text";
    case Column::Kind::integer: return "integer";
    case Column::Kind::real: return "real";
  }
  return "?";
}

std::string describe(const std::vector<Column>& schema) {
  std::string text;
  for (const Column& column : schema) {
    text += (text.empty() ? "" : ", ") + column.name + " (" + kind_name(column.kind) + ")";
  }
  return text.empty() ? "(no columns)" : text;
}

void check_schema(const std::vector<Column>& schema, const std::string& what) {
  std::set<std::string> seen;
  for (const Column& column : schema) {
    if (column.name.empty()) throw std::invalid_argument(what + ": a column has an empty name");
    if (column.name == kIndexColumn) {
      throw std::invalid_argument(what + ": the column name 'index' is reserved for the grid index");
    }
    if (!seen.insert(column.name).second) {
      throw std::invalid_argument(what + ": column '" + column.name + "' appears twice");
    }
  }
}

std::string results_file_image(const ResultsTable& table) {
  const auto lock = hdf5::lock_library();
  const Handle file_properties = property_list(H5P_FILE_CREATE, "creating file properties");
  // Dense attribute storage on the root group (it needs the 1.8 object header, which
  // tracking creation order selects), so the config and grid attributes may exceed 64 KiB.
  // The superblock stays version 0: HDF5 1.10's in-memory image of a version 2/3
  // superblock carries a stale checksum.
  check_status(H5Pset_attr_creation_order(file_properties, H5P_CRT_ORDER_TRACKED), "tracking attribute order");
  check_status(H5Pset_attr_phase_change(file_properties, 0, 0), "choosing dense attribute storage");
  const Handle access = make(H5Pcreate(H5P_FILE_ACCESS), "creating file access properties");
  check_status(H5Pset_libver_bounds(access, H5F_LIBVER_EARLIEST, H5F_LIBVER_V110), "choosing the file format");
  // Built in memory (the core driver, no backing file): HDF5 never meets an I/O error, so
  // a full disk cannot leave it with half-closed objects; we write the bytes ourselves.
  check_status(H5Pset_fapl_core(access, 1 << 16, false), "choosing the in-memory driver");
  Handle file = make(H5Fcreate("bitsim-results-image", H5F_ACC_TRUNC, file_properties, access),
                     "creating the results file in memory");
  write_table(file, table);
  check_status(H5Fflush(file, H5F_SCOPE_GLOBAL), "flushing the results file");
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  if (size < 0) hdf5::fail("measuring the results file");
  std::string image(std::size_t(size), '\0');
  if (H5Fget_file_image(file, image.data(), image.size()) != size) hdf5::fail("copying the results file");
  check_status(H5Fclose(file.release()), "closing the results file");
  return image;
}

ResultsTable read_results_file(const std::filesystem::path& path) {
  const auto lock = hdf5::lock_library();
  const std::string where = path.string();
  try {
    std::error_code error;
    if (!std::filesystem::exists(path, error)) throw std::runtime_error("no such file");
    if (std::filesystem::is_directory(path, error)) throw std::runtime_error("is a directory, not a results file");
    const htri_t is_hdf5 = H5Fis_hdf5(where.c_str());
    if (is_hdf5 <= 0) {
      H5Eclear2(H5E_DEFAULT);
      throw std::runtime_error("not an HDF5 file (no HDF5 signature): not a bitsim results file");
    }
    Handle file(H5Fopen(where.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (file.get() < 0) hdf5::fail("cannot be opened as HDF5 (truncated or corrupt?)");
    if (!hdf5::has_attribute(file, "format") || hdf5::read_string_attribute(file, "format") != kMarker) {
      throw std::runtime_error(std::string("an HDF5 file but not a bitsim results file (its root has no attribute "
                                           "format = '") + kMarker + "')");
    }
    const std::int64_t version = hdf5::read_integer_attribute(file, "format_version");
    if (version > kResultsFormatVersion) {
      throw std::runtime_error("written in results format version " + std::to_string(version) +
                               "; this bitsim reads versions up to " + std::to_string(kResultsFormatVersion) +
                               ": use a newer bitsim");
    }
    if (version < 1) throw std::runtime_error("invalid format_version " + std::to_string(version));
    ResultsTable table;
    RunInfo& info = table.info;
    info.config_text = hdf5::read_string_attribute(file, "config_text");
    info.config_hash = hdf5::read_string_attribute(file, "config_hash");
    info.grid_json = hdf5::read_string_attribute(file, "grid_json");
    info.grid_size = std::uint64_t(hdf5::read_integer_attribute(file, "grid_size"));
    table.complete = hdf5::read_integer_attribute(file, "complete") != 0;
    table.build.version = hdf5::read_string_attribute(file, "bitsim_version");
    table.build.git_revision = hdf5::read_string_attribute(file, "git_revision");
    table.build.compiler = hdf5::read_string_attribute(file, "compiler");
    table.build.build_type = hdf5::read_string_attribute(file, "build_type");
    table.build.dependencies = parse_dependencies(hdf5::read_string_attribute(file, "dependencies"));
    read_rows(file, table);
    read_arrays(file, table);
    read_curves(file, table);
    read_dumps(file, table);
    read_environment(file, table);
    return table;
  } catch (const std::exception& e) {
    H5Eclear2(H5E_DEFAULT);
    throw std::runtime_error(where + ": " + e.what());
  }
}

namespace {

// Makes a rename durable; best effort (some file systems refuse to open folders).
void sync_folder(const std::filesystem::path& folder) {
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// Writes `bytes` to a new file and syncs it; throws (with errno's reason) on any failure.
void write_new_file(const std::filesystem::path& path, const std::string& bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "creating " + path.string());
  std::size_t written = 0;
  int error = 0;
  while (written < bytes.size() && error == 0) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno != EINTR) error = errno;
    if (n > 0) written += std::size_t(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) throw std::system_error(error, std::generic_category(), "writing " + path.string());
}

}  // namespace

void write_atomically(const std::filesystem::path& path, const ResultsTable& table, Placement placement) {
  const std::string image = results_file_image(table);
  std::filesystem::path temporary = path;
  temporary += ".tmp-" + std::to_string(::getpid());
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);  // a leftover of this same process
  try {
    write_new_file(temporary, image);
    if (placement == Placement::create) {
      // link() fails if `path` exists: two runs racing for one name cannot both win.
      if (::link(temporary.c_str(), path.c_str()) != 0) {
        const int error = errno;
        if (error == EEXIST) {
          throw std::runtime_error(path.string() + " already exists; refusing to overwrite it");
        }
        if (error != EPERM && error != ENOTSUP && error != EOPNOTSUPP) {
          throw std::system_error(error, std::generic_category(), "creating " + path.string());
        }
        // A file system without hard links: check, then rename (not race-free).
        if (std::filesystem::exists(path)) {
          throw std::runtime_error(path.string() + " already exists; refusing to overwrite it");
        }
        if (::rename(temporary.c_str(), path.c_str()) != 0) {
          throw std::system_error(errno, std::generic_category(), "creating " + path.string());
        }
      } else {
        std::filesystem::remove(temporary);
      }
    } else if (::rename(temporary.c_str(), path.c_str()) != 0) {
      throw std::system_error(errno, std::generic_category(), "replacing " + path.string());
    }
  } catch (...) {
    std::filesystem::remove(temporary, ignored);
    throw;
  }
  sync_folder(path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path());
}

}  // namespace bitsim::experiments::detail
