#pragma once
// Synthetic results for the results and report suites: a small sweep whose every cell is
// a formula of the grid index, so any subset of points (a shard, a resumed half) can be
// regenerated exactly.
#include <filesystem>
#include <string>
#include <vector>

#include "experiments/results/results_file.hpp"

namespace bitsim::results_test {

using experiments::Column;
using experiments::PointResult;
using experiments::RunInfo;

// format (text), rounding (text), block (integer), bits_per_element (real), sqnr_db (real),
// mse (real); arrays "sqnr_per_layer" [4] when `with_arrays`.
std::vector<Column> synthetic_schema();
PointResult synthetic_point(std::uint64_t index, bool with_arrays = true);
constexpr std::uint64_t kSyntheticPoints = 12;

// Config text/hash/grid of the synthetic sweep, and an environment naming `host`.
RunInfo synthetic_info(const std::string& host = "host-a", const std::string& shard = "0/1");

// Writes a finished file holding `indices` (the whole grid by default).
void write_synthetic(const std::filesystem::path& path, const std::vector<std::uint64_t>& indices = {},
                     const RunInfo& info = synthetic_info(), bool with_arrays = true);

// A fresh folder removed with the object.
class ScratchFolder {
 public:
  ScratchFolder();
  ~ScratchFolder();
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string file_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::string& bytes);

}  // namespace bitsim::results_test
