#pragma once
// The data a fit reads: a table of named numeric columns from a CSV file or a bitsim
// results file (HDF5), and the choice of columns for a law's roles (--columns N=col,...).
#include <cstddef>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "experiments/fit/huber_fit.hpp"
#include "experiments/fit/law.hpp"

namespace bitsim::experiments::fit {

struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> cells;  // [row][column], as read
};

// CSV with a header line (fields may be "quoted"), or an HDF5 results file (recognised by
// its signature; read through experiments/results when that is built). Throws
// std::invalid_argument for a missing or malformed file.
Table read_table(const std::filesystem::path& path);
Table parse_csv(const std::string& text, const std::string& origin);

// "N=Model Size,D=tokens" -> {N: "Model Size", D: "tokens"}.
std::map<std::string, std::string> parse_column_map(const std::string& spec);

// The law's inputs and target from `table`: each role reads the column the map names, or
// the column with the role's own name. Where the law reads D and N, the role C (training
// FLOP) may stand in for D: D = C / (6 N). Drops the `drop_top` points with the highest
// targets. Throws std::invalid_argument for an unknown role or column (listing the valid
// ones) and for a cell that is not a number.
FitData select_data(const Law& law, const Table& table,
                    const std::map<std::string, std::string>& columns, std::size_t drop_top = 0);

}  // namespace bitsim::experiments::fit
