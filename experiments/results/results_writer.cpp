// ResultsWriter and read_results (results_file.hpp): points accumulate in memory; each
// checkpoint rewrites the whole file through a temporary sibling and a rename, so the
// file on disk is always a complete results file (experiments/results/README.md).
#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>

#include "experiments/results/results_file.hpp"
#include "experiments/results/results_io.hpp"

namespace bitsim::experiments {

using detail::kind_name;

struct ResultsWriter::State {
  std::filesystem::path path;
  ResultsTable table;                           // columns, info, build; rows live below
  std::map<std::uint64_t, PointResult> points;  // sorted by grid index
  std::set<std::uint64_t> finished;
  // Names and lengths of the per-point arrays, fixed by the first point stored.
  std::vector<std::pair<std::string, std::size_t>> array_shapes;
  bool arrays_known = false;
  std::mutex mutex;

  void store(PointResult point) {
    if (!arrays_known) {
      for (const auto& [name, values] : point.arrays) array_shapes.emplace_back(name, values.size());
      arrays_known = true;
    }
    finished.insert(point.index);
    points.emplace(point.index, std::move(point));
  }

  ResultsTable snapshot() const {
    ResultsTable copy;
    copy.columns = table.columns;
    copy.curve_columns = table.curve_columns;
    copy.info = table.info;
    copy.build = table.build;
    copy.complete = table.complete;
    copy.rows.reserve(points.size());
    for (const auto& [index, point] : points) copy.rows.push_back(point);
    return copy;
  }
};

namespace {

bool same_schema(const std::vector<Column>& a, const std::vector<Column>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Column& x, const Column& y) { return x.name == y.name && x.kind == y.kind; });
}

void check_array_name(const std::string& name) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos) {
    throw std::invalid_argument("per-point array name '" + name + "' is not a valid dataset name (non-empty, no '/')");
  }
}

// Tensor dumps: valid, distinct names (sorted here), values matching the shape.
void check_dumps(const std::string& point, std::vector<TensorDump>& dumps) {
  std::sort(dumps.begin(), dumps.end(), [](const TensorDump& a, const TensorDump& b) { return a.name < b.name; });
  for (std::size_t i = 0; i < dumps.size(); ++i) {
    const TensorDump& d = dumps[i];
    if (d.name.empty() || d.name == "." || d.name.find('/') != std::string::npos) {
      throw std::invalid_argument(point + ": tensor dump name '" + d.name + "' is not a valid group name (non-empty, no '/')");
    }
    if (i > 0 && d.name == dumps[i - 1].name) throw std::invalid_argument(point + " dumps tensor '" + d.name + "' twice");
    std::size_t elements = 1;
    for (std::int64_t extent : d.shape) {
      if (extent < 0) throw std::invalid_argument(point + ", dump '" + d.name + "': negative extent in its shape");
      elements *= std::size_t(extent);
    }
    if (!d.values.empty() && d.values.size() != elements) {
      throw std::invalid_argument(point + ", dump '" + d.name + "': " + std::to_string(d.values.size()) +
                                  " values for a shape of " + std::to_string(elements) + " elements");
    }
    if (!d.has_codes && !(d.codes.empty() && d.scales.empty() && d.zero_points.empty())) {
      throw std::invalid_argument(point + ", dump '" + d.name + "': codes given without has_codes");
    }
  }
}

// One row's cells against its columns: count, kinds, no NUL in text.
void check_cells(const std::string& row, const std::vector<Column>& columns, const std::vector<Cell>& cells,
                 const std::string& schema_name) {
  if (cells.size() != columns.size()) {
    throw std::invalid_argument(row + " has " + std::to_string(cells.size()) + " cells; " + schema_name + " has " +
                                std::to_string(columns.size()) + ": " + detail::describe(columns));
  }
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (cells[c].index() != std::size_t(columns[c].kind)) {
      static const char* const kCellKinds[] = {"text", "integer", "real"};
      throw std::invalid_argument(row + ", column '" + columns[c].name + "': expected " + kind_name(columns[c].kind) +
                                  ", got " + kCellKinds[cells[c].index()]);
    }
    if (const auto* text = std::get_if<std::string>(&cells[c]); text && text->find('\0') != std::string::npos) {
      throw std::invalid_argument(row + ", column '" + columns[c].name + "': text contains a NUL character");
    }
  }
}

}  // namespace

ResultsWriter::ResultsWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
ResultsWriter::ResultsWriter(ResultsWriter&&) noexcept = default;
ResultsWriter& ResultsWriter::operator=(ResultsWriter&&) noexcept = default;
ResultsWriter::~ResultsWriter() = default;

ResultsWriter ResultsWriter::create(const std::filesystem::path& path, std::vector<Column> schema, RunInfo info,
                                    std::vector<Column> curve_schema) {
  detail::check_schema(schema);
  detail::check_schema(curve_schema, "curve schema");
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    throw std::runtime_error(path.string() + " already exists; refusing to overwrite it (choose another -o, "
                             "delete it, or continue it with --resume)");
  }
  const std::filesystem::path folder = path.parent_path().empty() ? "." : path.parent_path();
  if (!std::filesystem::is_directory(folder, error)) {
    throw std::runtime_error("cannot create " + path.string() + ": the folder " + folder.string() +
                             " does not exist");
  }
  auto state = std::make_unique<State>();
  state->path = path;
  state->table.columns = std::move(schema);
  state->table.curve_columns = std::move(curve_schema);
  state->table.info = std::move(info);
  state->table.build = build_info();
  // Claim the name now with an empty, valid file: a run killed before its first
  // checkpoint can still be resumed, and a second run cannot take the same name.
  detail::write_atomically(path, state->table, detail::Placement::create);
  return ResultsWriter(std::move(state));
}

ResultsWriter ResultsWriter::resume(const std::filesystem::path& path, std::vector<Column> schema, RunInfo info,
                                    std::vector<Column> curve_schema) {
  detail::check_schema(schema);
  detail::check_schema(curve_schema, "curve schema");
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    throw std::runtime_error("cannot resume " + path.string() + ": no such file (start the run without --resume)");
  }
  ResultsTable stored;
  try {
    stored = detail::read_results_file(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot resume: ") + e.what() + "; the file is left as it is");
  }
  const auto refuse = [&path](const std::string& why) {
    throw std::runtime_error("cannot resume " + path.string() + ": " + why + "; the file is left as it is");
  };
  if (stored.info.config_hash != info.config_hash) {
    refuse("it was written for another experiment file (config hash " + stored.info.config_hash + ", this one is " +
           info.config_hash + ")");
  }
  if (!same_schema(stored.columns, schema)) {
    refuse("its columns differ: stored " + detail::describe(stored.columns) + "; this run " + detail::describe(schema));
  }
  if (!same_schema(stored.curve_columns, curve_schema)) {
    refuse("its curve columns differ: stored " + detail::describe(stored.curve_columns) + "; this run " +
           detail::describe(curve_schema));
  }
  if (stored.info.grid_size != info.grid_size) {
    refuse("its grid has " + std::to_string(stored.info.grid_size) + " points, this run's " +
           std::to_string(info.grid_size));
  }
  if (stored.info.shard != info.shard) refuse("it holds shard " + stored.info.shard + ", this run is shard " + info.shard);
  const BuildInfo& current = build_info();
  if (stored.build.version != current.version || stored.build.git_revision != current.git_revision) {
    refuse("it was written by bitsim " + stored.build.version + " (" + stored.build.git_revision +
           "), this is bitsim " + current.version + " (" + current.git_revision +
           "): results from two builds would mix");
  }

  auto state = std::make_unique<State>();
  state->path = path;
  state->table.columns = std::move(schema);
  state->table.curve_columns = std::move(curve_schema);
  if (!stored.info.started_utc.empty()) info.started_utc = stored.info.started_utc;  // the run began then
  // Resumed on another device: record every device that ran its points ("cpu,cuda").
  if (const std::string before = stored.info.device; !before.empty())
    info.device = ("," + before + ",").find("," + info.device + ",") == std::string::npos ? before + "," + info.device : before;
  state->table.info = std::move(info);
  state->table.build = stored.build;
  for (PointResult& row : stored.rows) state->store(std::move(row));
  return ResultsWriter(std::move(state));
}

const std::set<std::uint64_t>& ResultsWriter::finished() const { return state_->finished; }

void ResultsWriter::add(PointResult result) {
  State& s = *state_;
  const std::lock_guard<std::mutex> lock(s.mutex);
  const std::string point = "point " + std::to_string(result.index);
  if (s.table.info.grid_size > 0 && result.index >= s.table.info.grid_size) {
    throw std::invalid_argument(point + " is outside the grid of " + std::to_string(s.table.info.grid_size) +
                                " points");
  }
  if (s.finished.count(result.index) != 0) throw std::invalid_argument(point + " is already stored");
  check_cells(point, s.table.columns, result.cells, "the schema");
  if (s.table.curve_columns.empty() && !result.curve.empty()) {
    throw std::invalid_argument(point + " gives " + std::to_string(result.curve.size()) +
                                " curve rows, but this results file records no curves (no curve schema)");
  }
  for (std::size_t r = 0; r < result.curve.size(); ++r) {
    check_cells(point + ", curve row " + std::to_string(r), s.table.curve_columns, result.curve[r], "the curve schema");
  }
  std::sort(result.arrays.begin(), result.arrays.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t a = 0; a < result.arrays.size(); ++a) {
    check_array_name(result.arrays[a].first);
    if (a > 0 && result.arrays[a].first == result.arrays[a - 1].first) {
      throw std::invalid_argument(point + " gives array '" + result.arrays[a].first + "' twice");
    }
  }
  check_dumps(point, result.dumps);
  if (s.arrays_known) {
    bool same = result.arrays.size() == s.array_shapes.size();
    for (std::size_t a = 0; same && a < result.arrays.size(); ++a) {
      same = result.arrays[a].first == s.array_shapes[a].first &&
             result.arrays[a].second.size() == s.array_shapes[a].second;
    }
    if (!same) {
      std::string expected;
      for (const auto& [name, length] : s.array_shapes) {
        expected += (expected.empty() ? "" : ", ") + name + "[" + std::to_string(length) + "]";
      }
      throw std::invalid_argument(point + ": every point must give the same arrays with the same lengths (" +
                                  (expected.empty() ? std::string("none") : expected) + ")");
    }
  }
  s.store(std::move(result));
}

void ResultsWriter::checkpoint() {
  State& s = *state_;
  const std::lock_guard<std::mutex> lock(s.mutex);
  detail::write_atomically(s.path, s.snapshot(), detail::Placement::replace);
}

void ResultsWriter::finish(const std::string& finished_utc) {
  State& s = *state_;
  const std::lock_guard<std::mutex> lock(s.mutex);
  ResultsTable table = s.snapshot();
  table.info.finished_utc = finished_utc;
  table.complete = true;
  detail::write_atomically(s.path, table, detail::Placement::replace);
  s.table.info.finished_utc = finished_utc;
  s.table.complete = true;
}

ResultsTable read_results(const std::filesystem::path& path) { return detail::read_results_file(path); }

}  // namespace bitsim::experiments
