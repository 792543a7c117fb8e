#include "experiments/report/plot_choices.hpp"

#include <set>

#include "experiments/report/table_query.hpp"

namespace bitsim::experiments::report {

namespace {

bool numeric(const Column& column) { return column.kind != Column::Kind::text; }

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

}  // namespace

std::string default_bits_column(const ResultsTable& table) {
  for (const Column& column : table.columns) {
    if (column.name == "bits_per_element" && numeric(column)) return column.name;
  }
  for (const Column& column : table.columns) {
    if (ends_with(column.name, "_bits") && numeric(column)) return column.name;
  }
  for (const Column& column : table.columns) {
    if (column.name.find("bits") != std::string::npos && numeric(column)) return column.name;
  }
  return "";
}

std::string default_metric_column(const ResultsTable& table, const std::string& bits_column) {
  for (const char* preferred : {"sqnr_db", "logits_sqnr_db", "delta_ppl", "ppl", "kl_mean", "top1", "mse"}) {
    for (const Column& column : table.columns) {
      if (column.name == preferred && numeric(column)) return column.name;
    }
  }
  for (const Column& column : table.columns) {
    if (column.kind == Column::Kind::real && column.name != bits_column) return column.name;
  }
  return "";
}

std::string default_group_column(const ResultsTable& table, const std::vector<std::size_t>& rows) {
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    if (table.columns[c].kind != Column::Kind::text) continue;
    std::set<std::string> values;
    for (std::size_t r : rows) values.insert(std::get<std::string>(table.rows[r].cells[c]));
    if (values.size() > 1) return table.columns[c].name;
  }
  return "";
}

std::string default_heatmap_array(const ResultsTable& table) {
  if (table.rows.empty()) return "";
  const auto& arrays = table.rows.front().arrays;
  for (const auto& [name, values] : arrays) {
    if (name.find("layer") != std::string::npos) return name;
  }
  return arrays.empty() ? "" : arrays.front().first;
}

bool higher_is_better(const std::string& metric) {
  for (const char* lower : {"mse", "err", "kl", "ppl", "loss", "max_abs", "max_rel", "bias", "nonfinite"}) {
    if (metric.find(lower) != std::string::npos) return false;
  }
  return true;
}

}  // namespace bitsim::experiments::report
