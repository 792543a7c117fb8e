// experiments/results: the HDF5 results file (results_file.hpp, README.md there).
#include <doctest/doctest.h>
#include <hdf5.h>
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <functional>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "experiments/results/results_file.hpp"
#include "experiments/runner/synthetic_tensor.hpp"
#include "experiments/runner/tensor_dumps.hpp"
#include "tests/experiments/results_fixtures.hpp"

namespace {

using namespace bitsim::experiments;
using namespace bitsim::results_test;
namespace fs = std::filesystem;

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

bool same_cell(const Cell& a, const Cell& b) {
  if (a.index() != b.index()) return false;
  if (const auto* x = std::get_if<double>(&a)) {
    const double y = std::get<double>(b);
    return std::memcmp(x, &y, sizeof y) == 0;  // bit for bit, NaN included
  }
  return a == b;
}

void check_same_rows(const std::vector<PointResult>& got, const std::vector<PointResult>& expected) {
  REQUIRE(got.size() == expected.size());
  for (std::size_t r = 0; r < got.size(); ++r) {
    CHECK(got[r].index == expected[r].index);
    REQUIRE(got[r].cells.size() == expected[r].cells.size());
    for (std::size_t c = 0; c < got[r].cells.size(); ++c) CHECK(same_cell(got[r].cells[c], expected[r].cells[c]));
    CHECK(got[r].arrays == expected[r].arrays);
  }
}

// The bytes of a dataset read back in its stored type (what "bit-identical" means here).
std::string raw_dataset(const fs::path& file_path, const std::string& name) {
  const hid_t file = H5Fopen(file_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const hid_t dataset = H5Dopen2(file, name.c_str(), H5P_DEFAULT);
  REQUIRE(dataset >= 0);
  const hid_t type = H5Dget_type(dataset);
  const hid_t space = H5Dget_space(dataset);
  const auto points = std::size_t(H5Sget_simple_extent_npoints(space));
  std::string bytes(points * H5Tget_size(type), '\0');
  if (points > 0) REQUIRE(H5Dread(dataset, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()) >= 0);
  H5Sclose(space);
  H5Tclose(type);
  H5Dclose(dataset);
  H5Fclose(file);
  return bytes;
}

void check_same_reproducible_part(const fs::path& a, const fs::path& b) {
  CHECK(raw_dataset(a, "results") == raw_dataset(b, "results"));
  CHECK(raw_dataset(a, "arrays/sqnr_per_layer") == raw_dataset(b, "arrays/sqnr_per_layer"));
  const ResultsTable x = read_results(a), y = read_results(b);
  CHECK(x.info.config_text == y.info.config_text);
  CHECK(x.info.config_hash == y.info.config_hash);
  CHECK(x.info.grid_json == y.info.grid_json);
  CHECK(x.info.grid_size == y.info.grid_size);
  CHECK(x.build.git_revision == y.build.git_revision);
  CHECK(x.complete == y.complete);
}

std::vector<PointResult> synthetic_rows() {
  std::vector<PointResult> rows;
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) rows.push_back(synthetic_point(i));
  return rows;
}

TEST_CASE("round trip through read_results: columns, cells bit for bit, arrays, run info") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_synthetic(path);
  const ResultsTable table = read_results(path);
  REQUIRE(table.columns.size() == synthetic_schema().size());
  for (std::size_t c = 0; c < table.columns.size(); ++c) {
    CHECK(table.columns[c].name == synthetic_schema()[c].name);
    CHECK(table.columns[c].kind == synthetic_schema()[c].kind);
  }
  check_same_rows(table.rows, synthetic_rows());
  for (const PointResult& row : table.rows) CHECK(row.seconds == synthetic_point(row.index).seconds);
  const RunInfo expected = synthetic_info();
  CHECK(table.info.config_text == expected.config_text);
  CHECK(table.info.config_hash == expected.config_hash);
  CHECK(table.info.grid_json == expected.grid_json);
  CHECK(table.info.grid_size == kSyntheticPoints);
  CHECK(table.info.host == "host-a");
  CHECK(table.info.threads == 2);
  CHECK(table.info.shard == "0/1");
  CHECK(table.info.finished_utc == "2026-01-01T00:01:00Z");
  CHECK(table.build.git_revision == build_info().git_revision);
  CHECK(table.build.dependencies == build_info().dependencies);
  CHECK(table.complete);
  // Nothing is left beside the file.
  CHECK(std::distance(fs::directory_iterator(scratch.path()), fs::directory_iterator()) == 1);
}

TEST_CASE("the layout read with the HDF5 C API alone") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_synthetic(path);
  const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  // The marker attribute, variable-length UTF-8.
  const hid_t marker = H5Aopen(file, "format", H5P_DEFAULT);
  REQUIRE(marker >= 0);
  const hid_t text_type = H5Tcopy(H5T_C_S1);
  H5Tset_size(text_type, H5T_VARIABLE);
  char* marker_text = nullptr;
  REQUIRE(H5Aread(marker, text_type, &marker_text) >= 0);
  CHECK(std::string(marker_text) == "bitsim-results");
  H5free_memory(marker_text);
  H5Aclose(marker);

  const hid_t results = H5Dopen2(file, "results", H5P_DEFAULT);
  REQUIRE(results >= 0);
  const hid_t stored = H5Dget_type(results);
  REQUIRE(H5Tget_class(stored) == H5T_COMPOUND);
  REQUIRE(H5Tget_nmembers(stored) == 7);
  const char* names[] = {"index", "format", "rounding", "block", "bits_per_element", "sqnr_db", "mse"};
  const H5T_class_t classes[] = {H5T_INTEGER, H5T_STRING, H5T_STRING, H5T_INTEGER, H5T_FLOAT, H5T_FLOAT, H5T_FLOAT};
  for (unsigned m = 0; m < 7; ++m) {
    char* name = H5Tget_member_name(stored, m);
    CHECK(std::string(name) == names[m]);
    H5free_memory(name);
    CHECK(H5Tget_member_class(stored, m) == classes[m]);
  }
  // The widest format name is "int8·µ": 8 bytes of UTF-8.
  const hid_t format_member = H5Tget_member_type(stored, 1);
  CHECK(H5Tget_size(format_member) == std::string("int8·µ").size());
  CHECK(H5Tget_cset(format_member) == H5T_CSET_UTF8);
  H5Tclose(format_member);

  // Read two columns by name into a struct of our own (HDF5 matches members by name).
  struct Row {
    std::uint64_t index;
    double sqnr_db;
  };
  const hid_t memory = H5Tcreate(H5T_COMPOUND, sizeof(Row));
  H5Tinsert(memory, "index", HOFFSET(Row, index), H5T_NATIVE_UINT64);
  H5Tinsert(memory, "sqnr_db", HOFFSET(Row, sqnr_db), H5T_NATIVE_DOUBLE);
  std::vector<Row> rows(kSyntheticPoints);
  REQUIRE(H5Dread(results, memory, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows.data()) >= 0);
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) {
    CHECK(rows[i].index == i);
    CHECK(rows[i].sqnr_db == std::get<double>(synthetic_point(i).cells[4]));
  }
  H5Tclose(memory);
  H5Tclose(stored);
  H5Dclose(results);

  const hid_t layers = H5Dopen2(file, "arrays/sqnr_per_layer", H5P_DEFAULT);
  REQUIRE(layers >= 0);
  const hid_t space = H5Dget_space(layers);
  hsize_t dims[2] = {0, 0};
  REQUIRE(H5Sget_simple_extent_ndims(space) == 2);
  H5Sget_simple_extent_dims(space, dims, nullptr);
  CHECK(dims[0] == kSyntheticPoints);
  CHECK(dims[1] == 4);
  std::vector<double> values(dims[0] * dims[1]);
  REQUIRE(H5Dread(layers, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  CHECK(values[7 * 4 + 2] == synthetic_point(7).arrays[0].second[2]);
  H5Sclose(space);
  H5Dclose(layers);

  const hid_t seconds = H5Dopen2(file, "environment/seconds", H5P_DEFAULT);
  REQUIRE(seconds >= 0);
  std::vector<double> times(kSyntheticPoints);
  REQUIRE(H5Dread(seconds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, times.data()) >= 0);
  CHECK(times[3] == synthetic_point(3).seconds);
  H5Dclose(seconds);
  H5Tclose(text_type);
  H5Fclose(file);
}

TEST_CASE("reruns: identical files for identical content; only /environment differs across hosts") {
  ScratchFolder scratch;
  write_synthetic(scratch / "a.h5");
  // Same points added in another order: same file.
  {
    auto writer = ResultsWriter::create(scratch / "b.h5", synthetic_schema(), synthetic_info());
    for (std::uint64_t i = kSyntheticPoints; i-- > 0;) writer.add(synthetic_point(i));
    writer.checkpoint();
    writer.finish("2026-01-01T00:01:00Z");
  }
  CHECK(file_bytes(scratch / "a.h5") == file_bytes(scratch / "b.h5"));  // no timestamps anywhere

  RunInfo elsewhere = synthetic_info("host-b");
  elsewhere.started_utc = "2027-06-01T12:00:00Z";
  {
    auto writer = ResultsWriter::create(scratch / "c.h5", synthetic_schema(), elsewhere);
    for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) {
      PointResult point = synthetic_point(i);
      point.seconds *= 3;
      writer.add(point);
    }
    writer.finish("2027-06-01T13:00:00Z");
  }
  check_same_reproducible_part(scratch / "a.h5", scratch / "c.h5");
  CHECK(read_results(scratch / "c.h5").info.host == "host-b");
}

TEST_CASE("large attributes (config text and grid above 64 KiB) round trip") {
  ScratchFolder scratch;
  RunInfo info = synthetic_info();
  info.config_text = std::string(200000, 'x') + "\n# end";
  info.grid_json = "[" + std::string(300000, ' ') + "]";
  write_synthetic(scratch / "big.h5", {}, info);
  const ResultsTable table = read_results(scratch / "big.h5");
  CHECK(table.info.config_text == info.config_text);
  CHECK(table.info.grid_json == info.grid_json);
}

TEST_CASE("empty tables and files without arrays are valid") {
  ScratchFolder scratch;
  write_synthetic(scratch / "plain.h5", {}, synthetic_info(), false);
  const ResultsTable plain = read_results(scratch / "plain.h5");
  CHECK(plain.rows.size() == kSyntheticPoints);
  CHECK(plain.rows[0].arrays.empty());
  auto writer = ResultsWriter::create(scratch / "empty.h5", synthetic_schema(), synthetic_info());
  const ResultsTable empty = read_results(scratch / "empty.h5");  // readable right after create
  CHECK(empty.rows.empty());
  CHECK(empty.columns.size() == synthetic_schema().size());
  CHECK_FALSE(empty.complete);
}

TEST_CASE("create refuses an existing path and leaves it untouched") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_bytes(path, "precious");
  const std::string message =
      message_of([&] { ResultsWriter::create(path, synthetic_schema(), synthetic_info()); });
  CHECK(message.find("already exists") != std::string::npos);
  CHECK(file_bytes(path) == "precious");
  CHECK(message_of([&] { ResultsWriter::create(scratch / "missing" / "run.h5", synthetic_schema(), synthetic_info()); })
            .find("the folder " + (scratch / "missing").string() + " does not exist") != std::string::npos);
}

TEST_CASE("add checks points against the schema") {
  ScratchFolder scratch;
  auto writer = ResultsWriter::create(scratch / "run.h5", synthetic_schema(), synthetic_info());
  writer.add(synthetic_point(0));
  PointResult point = synthetic_point(1);
  point.cells.pop_back();
  CHECK(message_of([&] { writer.add(point); }).find("has 5 cells; the schema has 6") != std::string::npos);
  point = synthetic_point(1);
  point.cells[2] = 3.5;
  CHECK(message_of([&] { writer.add(point); }).find("column 'block': expected integer, got real") !=
        std::string::npos);
  CHECK(message_of([&] { writer.add(synthetic_point(0)); }).find("point 0 is already stored") != std::string::npos);
  point = synthetic_point(1);
  point.index = kSyntheticPoints;
  CHECK(message_of([&] { writer.add(point); }).find("point 12 is outside the grid of 12 points") !=
        std::string::npos);
  point = synthetic_point(1);
  point.arrays[0].second.pop_back();
  CHECK(message_of([&] { writer.add(point); }).find("sqnr_per_layer[4]") != std::string::npos);
  point = synthetic_point(1);
  point.cells[0] = std::string("a\0b", 3);
  CHECK(message_of([&] { writer.add(point); }).find("NUL") != std::string::npos);
  CHECK(message_of([] { ResultsWriter::create("x.h5", {{"index", Column::Kind::integer}}, synthetic_info()); })
            .find("reserved") != std::string::npos);
  CHECK(writer.finished() == std::set<std::uint64_t>{0});
}

// Files that are not (or no longer) results files: read_results and resume say what is
// wrong and leave the bytes alone.
TEST_CASE("foreign, truncated and corrupt files are reported, never overwritten") {
  ScratchFolder scratch;
  write_synthetic(scratch / "good.h5");
  const std::string good = file_bytes(scratch / "good.h5");

  write_bytes(scratch / "text.h5", "name: not hdf5\n");
  write_bytes(scratch / "empty.h5", "");
  write_bytes(scratch / "truncated.h5", good.substr(0, good.size() / 2));
  {
    const hid_t file = H5Fcreate((scratch / "foreign.h5").c_str(), H5F_ACC_EXCL, H5P_DEFAULT, H5P_DEFAULT);
    REQUIRE(file >= 0);
    H5Fclose(file);
  }
  {
    write_bytes(scratch / "future.h5", good);
    const hid_t file = H5Fopen((scratch / "future.h5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    REQUIRE(file >= 0);
    H5Adelete(file, "format_version");
    const hid_t space = H5Screate(H5S_SCALAR);
    const hid_t attribute = H5Acreate2(file, "format_version", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
    const std::int64_t version = 99;
    H5Awrite(attribute, H5T_NATIVE_INT64, &version);
    H5Aclose(attribute);
    H5Sclose(space);
    H5Fclose(file);
  }
  struct Case {
    const char* file;
    const char* message;
  };
  const Case cases[] = {
      {"text.h5", "not an HDF5 file"},
      {"empty.h5", "not an HDF5 file"},
      {"truncated.h5", "truncated or corrupt"},
      {"foreign.h5", "not a bitsim results file"},
      {"future.h5", "results format version 99"},
      {"absent.h5", "no such file"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.file);
    const fs::path path = scratch / c.file;
    const std::string before = fs::exists(path) ? file_bytes(path) : "";
    const std::string read_message = message_of([&] { read_results(path); });
    CHECK(read_message.find(c.message) != std::string::npos);
    CHECK(read_message.find(path.string()) != std::string::npos);
    const std::string resume_message =
        message_of([&] { ResultsWriter::resume(path, synthetic_schema(), synthetic_info()); });
    CHECK(resume_message.find("cannot resume") != std::string::npos);
    if (fs::exists(path)) CHECK(file_bytes(path) == before);
  }
}

TEST_CASE("resume continues an interrupted run and ends with the uninterrupted file") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  {
    auto writer = ResultsWriter::create(path, synthetic_schema(), synthetic_info());
    for (std::uint64_t i : {3, 0, 7, 1, 10}) writer.add(synthetic_point(i));
    writer.checkpoint();
    writer.add(synthetic_point(2));  // added after the last checkpoint: lost with the "kill"
  }
  auto writer = ResultsWriter::resume(path, synthetic_schema(), synthetic_info());
  CHECK(writer.finished() == std::set<std::uint64_t>{0, 1, 3, 7, 10});
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) {
    if (writer.finished().count(i) == 0) writer.add(synthetic_point(i));
  }
  writer.finish("2026-01-01T00:01:00Z");
  write_synthetic(scratch / "single.h5");
  CHECK(file_bytes(path) == file_bytes(scratch / "single.h5"));

  // Another experiment, another schema, another shard: refused, file untouched.
  const std::string before = file_bytes(path);
  RunInfo other = synthetic_info();
  other.config_hash = "beef";
  CHECK(message_of([&] { ResultsWriter::resume(path, synthetic_schema(), other); }).find("config hash c0ffee") !=
        std::string::npos);
  auto schema = synthetic_schema();
  schema[2].kind = Column::Kind::real;
  CHECK(message_of([&] { ResultsWriter::resume(path, schema, synthetic_info()); }).find("columns differ") !=
        std::string::npos);
  CHECK(message_of([&] { ResultsWriter::resume(path, synthetic_schema(), synthetic_info("host-a", "1/2")); })
            .find("holds shard 0/1") != std::string::npos);
  CHECK(file_bytes(path) == before);
}

// A write that fails half-way (the disk fills): exception, the previous file intact, no
// temporary left behind. RLIMIT_FSIZE makes writes past a size fail with EFBIG.
TEST_CASE("a failing write keeps the previous checkpoint") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  RunInfo info = synthetic_info();
  auto writer = ResultsWriter::create(path, synthetic_schema(), info);
  writer.add(synthetic_point(0));
  writer.checkpoint();
  const std::string before = file_bytes(path);
  PointResult big = synthetic_point(1);
  for (std::uint64_t i = 1; i < kSyntheticPoints; ++i) writer.add(synthetic_point(i));

  // Make the next file much larger than the limit: a long config text.
  auto large = ResultsWriter::create(scratch / "large.h5", synthetic_schema(), info);
  rlimit saved{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &saved) == 0);
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  rlimit limited = saved;
  limited.rlim_cur = 4096;  // smaller than any results file
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  const std::string message = message_of([&] { writer.checkpoint(); });
  setrlimit(RLIMIT_FSIZE, &saved);
  std::signal(SIGXFSZ, previous_handler);
  CHECK(message != "(no exception)");
  CHECK(file_bytes(path) == before);
  CHECK(read_results(path).rows.size() == 1);
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(scratch.path())) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"large.h5", "run.h5"});
  writer.checkpoint();  // the disk has room again
  CHECK(read_results(path).rows.size() == kSyntheticPoints);
}

TEST_CASE("merge: shards make the single-machine file") {
  ScratchFolder scratch;
  write_synthetic(scratch / "single.h5");
  std::vector<std::uint64_t> even, odd;
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) (i % 2 == 0 ? even : odd).push_back(i);
  write_synthetic(scratch / "shard0.h5", even, synthetic_info("host-a", "0/2"));
  write_synthetic(scratch / "shard1.h5", odd, synthetic_info("host-b", "1/2"));
  merge_results(scratch / "merged.h5", {scratch / "shard1.h5", scratch / "shard0.h5"});
  check_same_reproducible_part(scratch / "single.h5", scratch / "merged.h5");
  const ResultsTable merged = read_results(scratch / "merged.h5");
  check_same_rows(merged.rows, synthetic_rows());
  CHECK(merged.info.shard == "1/2,0/2");
  CHECK(merged.info.host == "host-b,host-a");
  CHECK(merged.info.merged_from.find("shard0.h5") != std::string::npos);

  // Refusals.
  CHECK(message_of([&] { merge_results(scratch / "merged.h5", {scratch / "shard0.h5"}); }).find("already exists") !=
        std::string::npos);
  CHECK(message_of([&] { merge_results(scratch / "m2.h5", {scratch / "shard0.h5", scratch / "single.h5"}); })
            .find("is in both") != std::string::npos);
  RunInfo other = synthetic_info("host-c", "1/2");
  other.config_hash = "beef";
  write_synthetic(scratch / "other.h5", odd, other);
  CHECK(message_of([&] { merge_results(scratch / "m3.h5", {scratch / "shard0.h5", scratch / "other.h5"}); })
            .find("config hash") != std::string::npos);
  write_bytes(scratch / "junk.h5", "junk");
  CHECK(message_of([&] { merge_results(scratch / "m4.h5", {scratch / "shard0.h5", scratch / "junk.h5"}); })
            .find("not an HDF5 file") != std::string::npos);
  CHECK_FALSE(fs::exists(scratch / "m2.h5"));
  CHECK_FALSE(fs::exists(scratch / "m3.h5"));
}

// h5py (and pandas when present) read the file with no bitsim code: the layout's promise.
TEST_CASE("h5py reads the file without custom code") {
  std::string python;
  const char* const candidates[] = {std::getenv("BITSIM_PYTHON"), "python3", "/usr/bin/python3"};
  for (const char* candidate : candidates) {
    if (candidate == nullptr) continue;
    const std::string probe = std::string(candidate) + " -c 'import h5py' > /dev/null 2>&1";
    if (std::system(probe.c_str()) == 0) {
      python = candidate;
      break;
    }
  }
  if (python.empty()) {
    MESSAGE("skipped: no python3 with h5py (set BITSIM_PYTHON, or apt-get install python3-h5py)");
    return;
  }
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  {
    // Point 2 carries raw dumps of one tensor: e4m3fn and int8 codes (one byte each).
    // Point i has a curve of i % 3 rows (step, loss): /curves, joined to /results on index.
    auto writer = ResultsWriter::create(path, synthetic_schema(), synthetic_info(),
                                        {{"step", Column::Kind::integer}, {"loss", Column::Kind::real}});
    SyntheticSource source;
    source.shape = {6, 10};
    source.scale = 8;
    const auto x = synthetic_tensor(source, 0);
    for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) {
      PointResult p = synthetic_point(i);
      if (i == 2) {
        p.dumps.push_back(make_tensor_dump("x.e4m3fn", x, bitsim::sim::parse_quant_spec("e4m3fn"), 0, true, true));
        p.dumps.push_back(make_tensor_dump("x.int8", x, bitsim::sim::parse_quant_spec("int8"), 0, true, true));
      }
      for (std::uint64_t k = 0; k < i % 3; ++k) p.curve.push_back({std::int64_t(k + 1), double(i) + 0.25 * double(k)});
      writer.add(std::move(p));
    }
    writer.finish("2026-01-01T00:01:00Z");
  }
  const std::string script =
      "import h5py, math, sys\n"
      "f = h5py.File(sys.argv[1], 'r')\n"
      "t = f['results'][()]\n"
      "assert t.dtype.names == ('index','format','rounding','block','bits_per_element','sqnr_db','mse'), t.dtype\n"
      "assert list(t['index']) == list(range(12))\n"
      "assert t['format'][8].decode() == 'int8\\u00b7\\u00b5', t['format'][8]\n"
      "assert t['block'][1] == 16 and math.isnan(t['mse'][5])\n"
      "assert f.attrs['config_hash'] == 'c0ffee' and f.attrs['format'] == 'bitsim-results'\n"
      "assert f.attrs['grid_size'] == 12 and f.attrs['complete'] == 1\n"
      "assert f['arrays/sqnr_per_layer'].shape == (12, 4)\n"
      "assert f['environment'].attrs['host'] == 'host-a'\n"
      "print('sum', repr(float(t['sqnr_db'].sum())))\n"
      "import numpy as np\n"
      "g = f['dumps/2/x.e4m3fn']\n"
      "v, c = g['values'][()], g['codes'][()]\n"
      "assert g.attrs['code_bits'] == 8 and tuple(g.attrs['shape']) == v.shape == (6, 10), g.attrs['shape']\n"
      "assert g.attrs['spec'] == 'e4m3fn', g.attrs['spec']\n"
      "s, e, m = (c >> 7) & 1, ((c >> 3) & 15).astype(np.int64), (c & 7).astype(np.float64)\n"
      "mag = np.where(e == 0, m / 8 * 2.0 ** -6, (1 + m / 8) * 2.0 ** (e - 7))\n"
      "assert np.array_equal(np.where(s == 1, -mag, mag).astype(np.float32).reshape(v.shape), v)\n"
      "i = f['dumps/2/x.int8']\n"
      "assert np.array_equal(i['codes'][()].view(np.int8).astype(np.float32).reshape(6, 10), i['values'][()])\n"
      "assert 'dumps/0' not in f\n"
      "print('dumps decoded')\n"
      "c = f['curves'][()]\n"
      "assert c.dtype.names == ('index', 'step', 'loss'), c.dtype\n"
      "assert list(c['index']) == [i for i in range(12) for k in range(i % 3)]\n"
      "assert list(c['loss'][:3]) == [1.0, 2.0, 2.25] and list(c['step'][:3]) == [1, 1, 2]\n"
      "try:\n"
      "    import pandas as pd\n"
      "except ImportError:\n"
      "    print('pandas absent'); sys.exit(0)\n"
      "df = pd.DataFrame(h5py.File(sys.argv[1], 'r')['results'][()])\n"
      "assert len(df) == 12 and df['block'].iloc[1] == 16\n"
      "assert list(df.columns) == list(t.dtype.names)\n"
      "assert df['format'].str.decode('utf-8').iloc[8] == 'int8\\u00b7\\u00b5'\n"
      "assert df[df['block'] == 16]['index'].tolist() == [i for i in range(12) if t['block'][i] == 16]\n"
      "curves = pd.DataFrame(f['curves'][()]).merge(df[['index', 'format']], on='index')\n"
      "assert len(curves) == 12 and curves['format'].iloc[0] == t['format'][1]\n"
      "print('pandas ok')\n";
  write_bytes(scratch / "check.py", script);
  const std::string command = python + " " + (scratch / "check.py").string() + " " + path.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  const int status = pclose(pipe);
  INFO(output);
  REQUIRE(status == 0);
  double sum = 0;
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) sum += std::get<double>(synthetic_point(i).cells[4]);
  CHECK(output.find("sum") != std::string::npos);
  CHECK(output.find("dumps decoded") != std::string::npos);
  // pandas is part of the test dependencies (scripts/install-deps.sh): when python has it,
  // the DataFrame step must have run.
  if (std::system((python + " -c 'import pandas' > /dev/null 2>&1").c_str()) == 0) {
    CHECK(output.find("pandas ok") != std::string::npos);
  }
  // numpy's pairwise sum of 12 values is the sequential sum (it only splits past 8 blocks of 128).
  CHECK(std::stod(output.substr(output.find("sum") + 4)) == doctest::Approx(sum).epsilon(1e-15));
  MESSAGE("h5py: " << output);
}

}  // namespace
