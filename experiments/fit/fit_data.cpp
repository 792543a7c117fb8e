#include "experiments/fit/fit_data.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include "experiments/results/results_file.hpp"

namespace bitsim::experiments::fit {
namespace {

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

std::vector<std::string> csv_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.push_back(trim(field));
      field.clear();
    } else {
      field += c;
    }
  }
  fields.push_back(trim(field));
  return fields;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool is_hdf5(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char signature[8] = {};
  in.read(signature, 8);
  return in.gcount() == 8 && std::string(signature, 8) == std::string("\x89HDF\r\n\x1a\n", 8);
}

Table read_results_table(const std::filesystem::path& path) {
  const ResultsTable results = read_results(path);
  Table table;
  for (std::size_t c = 0; c < results.columns.size(); ++c) {
    table.columns.push_back(results.columns[c].name);
  }
  for (const auto& row : results.rows) {
    std::vector<std::string> cells;
    for (const auto& cell : row.cells) {
      if (const auto* s = std::get_if<std::string>(&cell)) {
        cells.push_back(*s);
      } else if (const auto* i = std::get_if<std::int64_t>(&cell)) {
        cells.push_back(std::to_string(*i));
      } else {
        std::ostringstream text;
        text.precision(17);
        text << std::get<double>(cell);
        cells.push_back(text.str());
      }
    }
    table.cells.push_back(std::move(cells));
  }
  return table;
}

double parse_cell(const std::string& text, const std::string& column, std::size_t row) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("column '" + column + "', data row " + std::to_string(row + 1) +
                              ": '" + text + "' is not a number");
}

}  // namespace

Table parse_csv(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  Table table;
  while (std::getline(in, line)) {
    if (trim(line).empty() || trim(line)[0] == '#') continue;
    if (table.columns.empty()) {
      table.columns = csv_fields(line);
      continue;
    }
    auto fields = csv_fields(line);
    if (fields.size() != table.columns.size()) {
      throw std::invalid_argument(origin + ": data row " + std::to_string(table.cells.size() + 1) +
                                  " has " + std::to_string(fields.size()) + " fields, the header " +
                                  std::to_string(table.columns.size()));
    }
    table.cells.push_back(std::move(fields));
  }
  if (table.columns.empty()) throw std::invalid_argument(origin + ": no header line");
  return table;
}

Table read_table(const std::filesystem::path& path) {
  if (!std::filesystem::is_regular_file(path)) {
    throw std::invalid_argument("input file '" + path.string() + "' does not exist");
  }
  if (is_hdf5(path)) return read_results_table(path);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return parse_csv(text.str(), path.string());
}

std::map<std::string, std::string> parse_column_map(const std::string& spec) {
  std::map<std::string, std::string> map;
  std::stringstream stream(spec);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (trim(item).empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      throw std::invalid_argument("--columns item '" + item + "' is not ROLE=COLUMN");
    }
    map[trim(item.substr(0, eq))] = trim(item.substr(eq + 1));
  }
  return map;
}

FitData select_data(const Law& law, const Table& table,
                    const std::map<std::string, std::string>& columns, std::size_t drop_top) {
  const auto has = [](const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  const bool flop_for_tokens = has(law.inputs, "D") && has(law.inputs, "N");
  std::vector<std::string> roles = law.inputs;
  roles.push_back(law.target);
  if (flop_for_tokens) roles.push_back("C");
  for (const auto& [role, column] : columns) {
    if (!has(roles, role)) {
      throw std::invalid_argument("unknown role '" + role + "' in --columns for law '" + law.name +
                                  "'; valid roles: " + joined(roles));
    }
  }
  const auto column_index = [&](const std::string& role) -> std::ptrdiff_t {
    const auto it = columns.find(role);
    const std::string name = it == columns.end() ? role : it->second;
    const auto pos = std::find(table.columns.begin(), table.columns.end(), name);
    if (pos != table.columns.end()) return pos - table.columns.begin();
    if (it == columns.end()) return -1;
    throw std::invalid_argument("unknown column '" + name + "' for role " + role +
                                "; the input's columns are: " + joined(table.columns));
  };
  const auto require = [&](const std::string& role) {
    const auto c = column_index(role);
    if (c < 0) {
      throw std::invalid_argument("law '" + law.name + "' needs a column for role " + role +
                                  " (--columns " + role + "=COLUMN); the input's columns are: " +
                                  joined(table.columns));
    }
    return std::size_t(c);
  };
  const auto values = [&](std::size_t c) {
    std::vector<double> v;
    for (std::size_t r = 0; r < table.cells.size(); ++r) {
      v.push_back(parse_cell(table.cells[r][c], table.columns[c], r));
    }
    return v;
  };

  std::vector<std::vector<double>> inputs;
  for (const auto& role : law.inputs) {
    if (role == "D" && flop_for_tokens && column_index("D") < 0 && column_index("C") >= 0) {
      const auto flop = values(require("C"));
      const auto params = values(require("N"));
      std::vector<double> tokens(flop.size());
      for (std::size_t i = 0; i < flop.size(); ++i) tokens[i] = flop[i] / (6 * params[i]);
      inputs.push_back(tokens);
    } else {
      inputs.push_back(values(require(role)));
    }
  }
  const auto target = values(require(law.target));

  std::vector<std::size_t> order(target.size());
  std::iota(order.begin(), order.end(), 0);
  if (drop_top >= target.size()) {
    throw std::invalid_argument("--drop-top " + std::to_string(drop_top) + " leaves no points of " +
                                std::to_string(target.size()));
  }
  // The drop_top highest targets go (ties: the earlier row first, so the choice is fixed).
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return target[a] > target[b]; });
  std::vector<bool> dropped(target.size(), false);
  for (std::size_t k = 0; k < drop_top; ++k) dropped[order[k]] = true;

  FitData data;
  data.inputs = law.inputs;
  for (std::size_t r = 0; r < target.size(); ++r) {
    if (dropped[r]) continue;
    for (std::size_t k = 0; k < law.inputs.size(); ++k) {
      const double v = inputs[k][r];
      data.x.push_back(law.log_inputs[k] ? (v > 0 ? std::log(v) : std::nan("")) : v);
    }
    data.y.push_back(target[r]);
  }
  return data;
}

}  // namespace bitsim::experiments::fit
