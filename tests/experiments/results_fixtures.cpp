#include "tests/experiments/results_fixtures.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace bitsim::results_test {

std::vector<Column> synthetic_schema() {
  return {{"format", Column::Kind::text},          {"rounding", Column::Kind::text},
          {"block", Column::Kind::integer},        {"bits_per_element", Column::Kind::real},
          {"sqnr_db", Column::Kind::real},         {"mse", Column::Kind::real}};
}

PointResult synthetic_point(std::uint64_t index, bool with_arrays) {
  // A 3 formats x 2 roundings x 2 block sizes grid; the metrics are formulas of the axes.
  static const char* const kFormats[] = {"e4m3fn", "e2m1", "int8·µ"};  // non-ASCII on purpose
  static const double kBits[] = {8, 4, 8};
  static const char* const kRoundings[] = {"rne", "sr"};
  const std::size_t f = index / 4, r = index / 2 % 2, b = index % 2;
  const std::int64_t block = b == 0 ? 32 : 16;
  const double bits = kBits[f] + 8.0 / double(block);
  const double sqnr = 6.02 * kBits[f] + 1.5 * double(r) - 0.25 * double(b) + 1e-9 * double(index);
  PointResult point;
  point.index = index;
  point.cells = {std::string(kFormats[f]), std::string(kRoundings[r]), block, bits, sqnr,
                 index == 5 ? std::nan("") : std::pow(10.0, -sqnr / 10)};
  if (with_arrays) {
    std::vector<double> layers;
    for (int layer = 0; layer < 4; ++layer) layers.push_back(sqnr - 0.5 * layer + 0.01 * double(index));
    point.arrays = {{"sqnr_per_layer", layers}};
  }
  point.seconds = 0.001 * double(index + 1);
  return point;
}

RunInfo synthetic_info(const std::string& host, const std::string& shard) {
  RunInfo info;
  info.config_text = "name: synthetic\nsweep:\n  format: [e4m3fn, e2m1, int8]\n";
  info.config_hash = "c0ffee";
  info.config_path = "synthetic.yaml";
  info.grid_size = kSyntheticPoints;
  std::string grid(1, '[');
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) {
    if (i > 0) grid += ',';
    grid += "{\"point\":";
    grid += std::to_string(i);
    grid += '}';
  }
  grid += ']';
  info.grid_json = std::move(grid);
  info.shard = shard;
  info.host = host;
  info.threads = host == "host-a" ? 2 : 16;
  info.started_utc = "2026-01-01T00:00:00Z";
  info.device = "cpu";
  return info;
}

void write_synthetic(const std::filesystem::path& path, const std::vector<std::uint64_t>& indices,
                     const RunInfo& info, bool with_arrays) {
  auto writer = experiments::ResultsWriter::create(path, synthetic_schema(), info);
  if (indices.empty()) {
    for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) writer.add(synthetic_point(i, with_arrays));
  } else {
    for (std::uint64_t i : indices) writer.add(synthetic_point(i, with_arrays));
  }
  writer.finish("2026-01-01T00:01:00Z");
}

ScratchFolder::ScratchFolder() {
  std::string pattern = (std::filesystem::temp_directory_path() / "bitsim-results-test-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a scratch folder");
  path_ = pattern;
}

ScratchFolder::~ScratchFolder() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

}  // namespace bitsim::results_test
