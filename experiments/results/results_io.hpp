#pragma once
// Whole-file I/O of a results table (the layout in experiments/results/README.md), and the
// atomic replace every writer goes through. Private to experiments/results/.
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/results/results_file.hpp"

namespace bitsim::experiments::detail {

std::string kind_name(Column::Kind kind);  // "text", "integer", "real"
std::string describe(const std::vector<Column>& schema);  // "name (kind), ..."

// Throws std::invalid_argument for an empty, duplicate or reserved column name; `what`
// names the schema in the message ("results schema", "curve schema").
void check_schema(const std::vector<Column>& schema, const std::string& what = "results schema");

// The bytes of the results file holding `table` (rows sorted by index), built in memory.
std::string results_file_image(const ResultsTable& table);

// Reads a results file; throws std::runtime_error saying what is wrong (not HDF5, not a
// bitsim results file, newer format, corrupt).
ResultsTable read_results_file(const std::filesystem::path& file);

// Writes `table` to a sibling `path.tmp-<pid>`, syncs it, then moves it to `path`: over the
// old file (replace), or only if `path` does not exist (create). On any failure the
// temporary is removed, `path` is untouched, and the error is rethrown.
enum class Placement { create, replace };
void write_atomically(const std::filesystem::path& path, const ResultsTable& table, Placement placement);

}  // namespace bitsim::experiments::detail
