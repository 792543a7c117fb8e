#include "experiments/report/table_query.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

namespace bitsim::experiments::report {

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = text.find(separator, start);
    parts.push_back(text.substr(start, end - start));
    if (end == std::string::npos) return parts;
    start = end + 1;
  }
}

bool parse_number(const std::string& text, double& value) {
  const char* end = text.data() + text.size();
  const auto [ptr, error] = std::from_chars(text.data(), end, value);
  return error == std::errc() && ptr == end;
}

// -1, 0, 1 comparing two cells of one column; NaN after every number.
int compare_cells(const Cell& a, const Cell& b) {
  if (const auto* x = std::get_if<std::string>(&a)) {
    const auto& y = std::get<std::string>(b);
    return x->compare(y) < 0 ? -1 : (*x == y ? 0 : 1);
  }
  if (const auto* x = std::get_if<std::int64_t>(&a)) {
    const auto y = std::get<std::int64_t>(b);
    return *x < y ? -1 : (*x == y ? 0 : 1);
  }
  const double x = std::get<double>(a), y = std::get<double>(b);
  if (std::isnan(x) || std::isnan(y)) return std::isnan(x) == std::isnan(y) ? 0 : (std::isnan(x) ? 1 : -1);
  return x < y ? -1 : (x == y ? 0 : 1);
}

bool matches(const Cell& cell, const RowFilter& filter, Column::Kind kind) {
  if (filter.op == "=" || filter.op == "!=") {
    bool any = false;
    for (const auto& value : filter.values) {
      if (kind == Column::Kind::text) {
        any = any || std::get<std::string>(cell) == value;
      } else {
        double number = 0;
        any = any || (parse_number(value, number) && numeric_value(cell) == number);
      }
    }
    return filter.op == "=" ? any : !any;
  }
  double bound = 0;
  parse_number(filter.values[0], bound);  // checked in select_rows
  const double x = numeric_value(cell);
  if (filter.op == "<") return x < bound;
  if (filter.op == "<=") return x <= bound;
  if (filter.op == ">") return x > bound;
  return x >= bound;
}

}  // namespace

RowFilter parse_filter(const std::string& text) {
  // The operator is the first of these characters; two-character forms first.
  const std::size_t at = text.find_first_of("=!<>");
  if (at == std::string::npos || at == 0) {
    throw std::invalid_argument("--where '" + text +
                                "': expected COLUMN=VALUE[,VALUE...], COLUMN!=VALUE, or COLUMN<, <=, >, >= NUMBER");
  }
  RowFilter filter;
  filter.column = text.substr(0, at);
  for (const char* op : {"!=", "<=", ">=", "=", "<", ">"}) {
    if (text.compare(at, std::char_traits<char>::length(op), op) == 0) {
      filter.op = op;
      break;
    }
  }
  if (filter.op.empty()) {
    throw std::invalid_argument("--where '" + text + "': unknown operator; valid: =, !=, <, <=, >, >=");
  }
  filter.values = split(text.substr(at + filter.op.size()), ',');
  if (filter.op != "=" && filter.op != "!=" && filter.values.size() != 1) {
    throw std::invalid_argument("--where '" + text + "': " + filter.op + " takes one number");
  }
  return filter;
}

std::vector<Column> table_columns(const ResultsTable& table) {
  std::vector<Column> columns = {{"index", Column::Kind::integer}};
  columns.insert(columns.end(), table.columns.begin(), table.columns.end());
  return columns;
}

std::size_t column_position(const ResultsTable& table, const std::string& name) {
  const auto columns = table_columns(table);
  for (std::size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].name == name) return c;
  }
  std::string valid;
  for (const auto& column : columns) valid += (valid.empty() ? "" : ", ") + column.name;
  throw std::invalid_argument("no column '" + name + "' in the results; columns: " + valid);
}

Cell cell_at(const PointResult& row, std::size_t position) {
  if (position == 0) return std::int64_t(row.index);
  return row.cells.at(position - 1);
}

double numeric_value(const Cell& cell) {
  if (const auto* x = std::get_if<std::int64_t>(&cell)) return double(*x);
  if (const auto* x = std::get_if<double>(&cell)) return *x;
  return std::nan("");
}

std::vector<std::size_t> select_rows(const ResultsTable& table, const TableQuery& query) {
  const auto columns = table_columns(table);
  std::vector<std::pair<std::size_t, const RowFilter*>> filters;
  for (const RowFilter& filter : query.filters) {
    const std::size_t c = column_position(table, filter.column);
    const bool ordered = filter.op != "=" && filter.op != "!=";
    double number = 0;
    if (ordered && columns[c].kind == Column::Kind::text) {
      throw std::invalid_argument("--where " + filter.column + filter.op + "...: '" + filter.column +
                                  "' is a text column; use = or !=");
    }
    if (ordered && !parse_number(filter.values[0], number)) {
      throw std::invalid_argument("--where " + filter.column + filter.op + filter.values[0] + ": '" +
                                  filter.values[0] + "' is not a number");
    }
    filters.emplace_back(c, &filter);
  }
  std::vector<std::size_t> keys;
  for (const auto& name : query.sort_by) keys.push_back(column_position(table, name));

  std::vector<std::size_t> rows;
  for (std::size_t r = 0; r < table.rows.size(); ++r) {
    const bool keep = std::all_of(filters.begin(), filters.end(), [&](const auto& f) {
      return matches(cell_at(table.rows[r], f.first), *f.second, columns[f.first].kind);
    });
    if (keep) rows.push_back(r);
  }
  std::stable_sort(rows.begin(), rows.end(), [&](std::size_t a, std::size_t b) {
    for (std::size_t key : keys) {
      const Cell x = cell_at(table.rows[a], key), y = cell_at(table.rows[b], key);
      const int order = compare_cells(x, y);
      if (order == 0) continue;
      // NaN stays last in both directions.
      const bool nan_involved = std::holds_alternative<double>(x) &&
                                (std::isnan(std::get<double>(x)) || std::isnan(std::get<double>(y)));
      return (query.descending && !nan_involved) ? order > 0 : order < 0;
    }
    return false;
  });
  return rows;
}

std::string format_cell(const Cell& cell, int precision) {
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  if (const auto* integer = std::get_if<std::int64_t>(&cell)) return std::to_string(*integer);
  const double value = std::get<double>(cell);
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return fmt::format("{:.{}g}", value, precision);
}

}  // namespace bitsim::experiments::report
