// merge_results (results_file.hpp): shard files of one run into one file whose
// reproducible part is what a single-machine run writes.
#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "experiments/results/results_file.hpp"
#include "experiments/results/results_io.hpp"

namespace bitsim::experiments {

namespace {

bool same_columns(const std::vector<Column>& a, const std::vector<Column>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [](const Column& x, const Column& y) { return x.name == y.name && x.kind == y.kind; });
}

// The shards must come from one experiment file, one build, one schema.
void check_same_run(const ResultsTable& first, const std::string& first_name, const ResultsTable& other,
                    const std::string& other_name) {
  const auto differ = [&](const std::string& what, const std::string& a, const std::string& b) {
    throw std::runtime_error("cannot merge: " + other_name + " and " + first_name + " differ in " + what + " (" + b +
                             " vs " + a + ")");
  };
  if (other.info.config_hash != first.info.config_hash) {
    differ("config hash: they come from different experiment files", first.info.config_hash, other.info.config_hash);
  }
  if (other.info.config_text != first.info.config_text) differ("config text", "...", "...");
  if (other.info.grid_json != first.info.grid_json) differ("expanded grid", "...", "...");
  if (other.info.grid_size != first.info.grid_size) {
    differ("grid size", std::to_string(first.info.grid_size), std::to_string(other.info.grid_size));
  }
  if (!same_columns(other.columns, first.columns)) {
    differ("columns", detail::describe(first.columns), detail::describe(other.columns));
  }
  if (!same_columns(other.curve_columns, first.curve_columns)) {
    differ("curve columns", detail::describe(first.curve_columns), detail::describe(other.curve_columns));
  }
  if (other.build.version != first.build.version || other.build.git_revision != first.build.git_revision) {
    differ("bitsim build", first.build.version + " " + first.build.git_revision,
           other.build.version + " " + other.build.git_revision);
  }
  if (other.build.compiler != first.build.compiler || other.build.build_type != first.build.build_type ||
      other.build.dependencies != first.build.dependencies) {
    differ("compiler or dependency versions", first.build.compiler, other.build.compiler);
  }
}

std::string join(const std::vector<std::string>& values, const std::string& separator) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) text += separator;
    text += values[i];
  }
  return text;
}

// "a,b" from {a, b, a}: the distinct values in order of appearance.
std::string join_unique(const std::vector<std::string>& values) {
  std::vector<std::string> unique;
  for (const auto& v : values) {
    if (std::find(unique.begin(), unique.end(), v) == unique.end()) unique.push_back(v);
  }
  return join(unique, ",");
}

}  // namespace

void merge_results(const std::filesystem::path& out, const std::vector<std::filesystem::path>& shards) {
  if (shards.empty()) throw std::invalid_argument("merge needs at least one shard file");
  std::error_code error;
  if (std::filesystem::exists(out, error)) {
    throw std::runtime_error(out.string() + " already exists; refusing to overwrite it");
  }
  std::vector<ResultsTable> tables;
  for (const auto& shard : shards) tables.push_back(read_results(shard));

  ResultsTable merged;
  merged.columns = tables[0].columns;
  merged.curve_columns = tables[0].curve_columns;  // each point's curve travels with its row
  merged.build = tables[0].build;
  merged.info = tables[0].info;
  merged.complete = true;
  std::map<std::uint64_t, std::size_t> owner;  // grid index -> shard that holds it
  std::vector<std::string> shard_names, hosts, devices;
  for (std::size_t s = 0; s < tables.size(); ++s) {
    ResultsTable& table = tables[s];
    check_same_run(tables[0], shards[0].string(), table, shards[s].string());
    merged.complete = merged.complete && table.complete;
    shard_names.push_back(table.info.shard);
    hosts.push_back(table.info.host);
    devices.push_back(table.info.device);
    merged.info.threads = std::max(merged.info.threads, table.info.threads);
    if (!table.info.started_utc.empty() &&
        (merged.info.started_utc.empty() || table.info.started_utc < merged.info.started_utc)) {
      merged.info.started_utc = table.info.started_utc;
    }
    merged.info.finished_utc = std::max(merged.info.finished_utc, table.info.finished_utc);
    for (PointResult& row : table.rows) {
      const auto [it, inserted] = owner.emplace(row.index, s);
      if (!inserted) {
        throw std::runtime_error("cannot merge: point " + std::to_string(row.index) + " is in both " +
                                 shards[it->second].string() + " and " + shards[s].string() +
                                 " (shards must be disjoint)");
      }
      if (!merged.rows.empty() && !row.arrays.empty() != !merged.rows[0].arrays.empty()) {
        throw std::runtime_error("cannot merge: " + shards[s].string() + " and the other shards store different "
                                 "per-point arrays");
      }
      merged.rows.push_back(std::move(row));
    }
  }
  std::sort(merged.rows.begin(), merged.rows.end(), [](const auto& a, const auto& b) { return a.index < b.index; });
  for (const PointResult& row : merged.rows) {
    const auto& reference = merged.rows[0].arrays;
    bool same = row.arrays.size() == reference.size();
    for (std::size_t a = 0; same && a < reference.size(); ++a) {
      same = row.arrays[a].first == reference[a].first && row.arrays[a].second.size() == reference[a].second.size();
    }
    if (!same) throw std::runtime_error("cannot merge: the shards store per-point arrays of different names or lengths");
  }
  // The environment says where each part ran; the reproducible part is untouched.
  merged.info.shard = join_unique(shard_names);
  merged.info.host = join_unique(hosts);
  merged.info.device = join_unique(devices);
  std::vector<std::string> files;
  for (const auto& shard : shards) files.push_back(shard.string());
  merged.info.merged_from = join(files, "\n");
  detail::write_atomically(out, merged, detail::Placement::create);
}

}  // namespace bitsim::experiments
