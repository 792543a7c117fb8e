#pragma once
// Selecting and ordering the rows of a results table for `bitsim report`: filters such as
// `format=e4m3fn,e2m1` or `sqnr_db>20`, and sort keys. The grid index is the column
// "index"; every schema column can be filtered and sorted on.
#include <cstddef>
#include <string>
#include <vector>

#include "experiments/results/results_file.hpp"

namespace bitsim::experiments::report {

// One condition on a column. `=` and `!=` take a comma-separated list of values (any of);
// `<`, `<=`, `>`, `>=` compare numbers (numeric columns only).
struct RowFilter {
  std::string column;
  std::string op;  // "=", "!=", "<", "<=", ">", ">="
  std::vector<std::string> values;
};
// Parses "COLUMN OP VALUE" (no spaces needed); throws std::invalid_argument naming the
// forms it accepts.
RowFilter parse_filter(const std::string& text);

struct TableQuery {
  std::vector<RowFilter> filters;     // all must hold
  std::vector<std::string> sort_by;   // first key first; empty: grid order
  bool descending = false;
};

// The displayed columns: "index" (integer) then the schema's.
std::vector<Column> table_columns(const ResultsTable& table);
// Position of `name` among table_columns(); throws std::invalid_argument listing them.
std::size_t column_position(const ResultsTable& table, const std::string& name);
// The cell of `row` at a position of table_columns().
Cell cell_at(const PointResult& row, std::size_t position);

// Row numbers (into table.rows) that pass the filters, in the requested order (stable:
// ties keep grid order; NaN sorts last).
std::vector<std::size_t> select_rows(const ResultsTable& table, const TableQuery& query);

// Text of a cell: text as is, integers exactly, reals with `precision` significant digits.
std::string format_cell(const Cell& cell, int precision);

// A cell as a number (integer or real); NaN for text.
double numeric_value(const Cell& cell);

}  // namespace bitsim::experiments::report
