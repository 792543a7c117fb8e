#pragma once
// Plain-text tables with aligned columns: readable in a terminal and easy to cut up with
// awk (columns are separated by at least two spaces, cells never contain two spaces).
#include <cstdio>
#include <string>
#include <vector>

namespace bitsim::cli {

using TableRow = std::vector<std::string>;

void print_table(std::FILE* out, const TableRow& header, const std::vector<TableRow>& rows);

}  // namespace bitsim::cli
