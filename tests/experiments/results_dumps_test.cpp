// Raw tensor dumps (`dump:` in an experiment file; /dumps in the results file): the layout
// read back with the HDF5 C API alone and decoded with sim::decode equals the dumped values
// and sim::fake_quantize bit for bit, for element, scaled, block and zero-point formats;
// through the runner the dumps are identical across thread counts, survive --resume, shards
// + merge and mpirun; model sources dump the weights and activations their sessions use.
// Also: the temporary of a failed write is removed; `reference: fp64` and the role axes of
// issue #8 (qkv, attn_q, hidden, residual, norm_stats) through the runner.
#include <doctest/doctest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "experiments/config/experiment_config.hpp"
#include "experiments/config/grid.hpp"
#include "experiments/results/results_file.hpp"
#include "experiments/runner/evaluator.hpp"
#include "experiments/runner/point_codec.hpp"
#include "experiments/runner/runner.hpp"
#include "experiments/runner/synthetic_tensor.hpp"
#include "experiments/runner/tensor_dumps.hpp"
#include "models/transformer/gpt2.hpp"
#include "models/transformer/layer_ops.hpp"
#include "models/transformer/load_model.hpp"
#include "sim/quant/quantize.hpp"
#include "tests/experiments/results_fixtures.hpp"
#include "tests/support/quiet_run.hpp"

namespace {

using namespace bitsim::experiments;
using namespace bitsim::results_test;
namespace fs = std::filesystem;
using bitsim::testing::quiet_run;
using bitsim::sim::TensorF;

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A [12, 64] tensor with a wide range of magnitudes (deterministic).
TensorF test_tensor() {
  SyntheticSource s;
  s.distribution = Distribution::student_t;
  s.nu = 3;
  s.shape = {12, 64};
  s.seed = 7;
  return synthetic_tensor(s, 0);
}

// Specs covering every part of the stored form: plain element codes, per-group scales,
// a Hadamard transform, block scales, NVFP4's tensor scale, Q4_1's minima, stochastic
// rounding, and the identity (float32 bit patterns).
const char* const kSpecs[] = {"e4m3fn",         "int4:per_group(16)",  "int8:per_channel:hadamard", "mxfp4",
                              "nvfp4",          "q4_1",                "e2m1fn:per_tensor:sr", "none"};

std::vector<TensorDump> test_dumps() {
  const TensorF x = test_tensor();
  std::vector<TensorDump> dumps;
  int k = 0;
  for (const char* spec : kSpecs) {
    std::string name = "t";
    name += std::to_string(k++);
    name += '.';
    name += spec;
    dumps.push_back(make_tensor_dump(name, x,
                                     bitsim::sim::parse_quant_spec(spec), 42, true, true));
  }
  return dumps;
}

// ---- the HDF5 C API alone ----

std::vector<std::int64_t> int_array_attribute(hid_t object, const char* name) {
  const hid_t attribute = H5Aopen(object, name, H5P_DEFAULT);
  REQUIRE(attribute >= 0);
  const hid_t space = H5Aget_space(attribute);
  std::vector<std::int64_t> values(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (!values.empty()) REQUIRE(H5Aread(attribute, H5T_NATIVE_INT64, values.data()) >= 0);
  H5Sclose(space);
  H5Aclose(attribute);
  return values;
}

template <class T>
std::vector<T> dataset_values(hid_t group, const char* name, hid_t memory_type) {
  const hid_t dataset = H5Dopen2(group, name, H5P_DEFAULT);
  REQUIRE(dataset >= 0);
  const hid_t space = H5Dget_space(dataset);
  std::vector<T> values(std::size_t(H5Sget_simple_extent_npoints(space)));
  if (!values.empty()) REQUIRE(H5Dread(dataset, memory_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Sclose(space);
  H5Dclose(dataset);
  return values;
}

// /dumps/<index>/<name> read with plain HDF5 calls into a TensorDump.
TensorDump read_dump_c_api(const fs::path& file_path, std::uint64_t index, const std::string& name) {
  const hid_t file = H5Fopen(file_path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  REQUIRE(file >= 0);
  const std::string where = "/dumps/" + std::to_string(index) + "/" + name;
  const hid_t group = H5Gopen2(file, where.c_str(), H5P_DEFAULT);
  REQUIRE(group >= 0);
  TensorDump d;
  d.name = name;
  {
    const hid_t attribute = H5Aopen(group, "spec", H5P_DEFAULT);
    const hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    H5Tset_cset(type, H5T_CSET_UTF8);
    char* text = nullptr;
    REQUIRE(H5Aread(attribute, type, &text) >= 0);
    d.spec = text;
    H5free_memory(text);
    H5Tclose(type);
    H5Aclose(attribute);
  }
  d.shape = int_array_attribute(group, "shape");
  d.scale_shape = int_array_attribute(group, "scale_shape");
  const auto scalar = [&](const char* attr, hid_t type, void* out) {
    const hid_t a = H5Aopen(group, attr, H5P_DEFAULT);
    REQUIRE(a >= 0);
    REQUIRE(H5Aread(a, type, out) >= 0);
    H5Aclose(a);
  };
  std::int64_t bits = 0;
  scalar("code_bits", H5T_NATIVE_INT64, &bits);
  d.code_bits = int(bits);
  scalar("scale_bits", H5T_NATIVE_INT64, &bits);
  d.scale_bits = int(bits);
  scalar("zero_point_bits", H5T_NATIVE_INT64, &bits);
  d.zero_point_bits = int(bits);
  scalar("tensor_scale", H5T_NATIVE_DOUBLE, &d.tensor_scale);
  d.values = dataset_values<float>(group, "values", H5T_NATIVE_FLOAT);
  d.codes = dataset_values<std::uint8_t>(group, "codes", H5T_NATIVE_UINT8);
  d.scales = dataset_values<std::uint8_t>(group, "scales", H5T_NATIVE_UINT8);
  d.zero_points = dataset_values<std::uint8_t>(group, "zero_points", H5T_NATIVE_UINT8);
  d.has_codes = true;
  // values has the tensor's shape.
  const hid_t values = H5Dopen2(group, "values", H5P_DEFAULT);
  const hid_t space = H5Dget_space(values);
  std::vector<hsize_t> dims(std::size_t(H5Sget_simple_extent_ndims(space)));
  H5Sget_simple_extent_dims(space, dims.data(), nullptr);
  CHECK(std::equal(dims.begin(), dims.end(), d.shape.begin(), d.shape.end(),
                   [](hsize_t a, std::int64_t b) { return std::int64_t(a) == b; }));
  H5Sclose(space);
  H5Dclose(values);
  H5Gclose(group);
  H5Fclose(file);
  return d;
}

void write_with_dumps(const fs::path& path, const std::vector<std::uint64_t>& dumped) {
  auto writer = ResultsWriter::create(path, synthetic_schema(), synthetic_info());
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) {
    PointResult p = synthetic_point(i);
    if (std::find(dumped.begin(), dumped.end(), i) != dumped.end()) p.dumps = test_dumps();
    writer.add(std::move(p));
  }
  writer.finish("2026-01-01T00:01:00Z");
}

TEST_CASE("dumps: codes read with the HDF5 C API decode to the values, which are fake_quantize's") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  write_with_dumps(path, {1, 10});
  const TensorF x = test_tensor();
  int k = 0;
  for (const char* spec_text : kSpecs) {
    const std::string name = "t" + std::to_string(k++) + "." + spec_text;
    INFO(name);
    const auto spec = bitsim::sim::parse_quant_spec(spec_text);
    const TensorDump d = read_dump_c_api(path, 10, name);
    CHECK(d.spec == bitsim::sim::to_string(spec));
    CHECK(d.shape == std::vector<std::int64_t>{12, 64});
    const auto expected = bitsim::sim::fake_quantize(x, spec, 42).to_vector();
    CHECK(same_bits(d.values, expected));
    CHECK(same_bits(bitsim::sim::decode(packed_tensor(d)).to_vector(), expected));
    CHECK(d.codes.size() == (std::size_t(12 * 64) * std::size_t(d.code_bits) + 7) / 8);
  }
  // Widths of the stored form, from the formats' definitions.
  CHECK(read_dump_c_api(path, 1, "t0.e4m3fn").code_bits == 8);
  CHECK(read_dump_c_api(path, 1, "t0.e4m3fn").scales.empty());
  const TensorDump groups = read_dump_c_api(path, 1, "t1.int4:per_group(16)");
  CHECK(groups.code_bits == 4);
  CHECK(groups.scale_bits == 32);
  CHECK(groups.scale_shape == std::vector<std::int64_t>{12, 4});
  const TensorDump mx = read_dump_c_api(path, 1, "t3.mxfp4");
  CHECK(mx.code_bits == 4);
  CHECK(mx.scale_bits == 8);
  const TensorDump q41 = read_dump_c_api(path, 1, "t5.q4_1");
  CHECK(q41.zero_point_bits == 16);
  CHECK_FALSE(q41.zero_points.empty());
  CHECK(read_dump_c_api(path, 1, "t4.nvfp4").tensor_scale != 1.0);
  CHECK(read_dump_c_api(path, 1, "t7.none").code_bits == 32);

  // read_results gives the same dumps, only on the points that have them.
  const ResultsTable table = read_results(path);
  for (const PointResult& row : table.rows) {
    if (row.index != 1 && row.index != 10) {
      CHECK(row.dumps.empty());
      continue;
    }
    const auto expected = test_dumps();
    REQUIRE(row.dumps.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
      CHECK(row.dumps[i].name == expected[i].name);
      CHECK(same_bits(row.dumps[i].values, expected[i].values));
      CHECK(row.dumps[i].codes == expected[i].codes);
      CHECK(row.dumps[i].scales == expected[i].scales);
      CHECK(row.dumps[i].zero_points == expected[i].zero_points);
    }
  }
}

TEST_CASE("dumps: reruns byte-identical; resume and merge keep them; no dumps, no group") {
  ScratchFolder scratch;
  write_with_dumps(scratch / "a.h5", {0, 5});
  write_with_dumps(scratch / "b.h5", {0, 5});
  CHECK(file_bytes(scratch / "a.h5") == file_bytes(scratch / "b.h5"));

  // Resume: the dumps of stored points are rewritten with the new checkpoint.
  {
    auto writer = ResultsWriter::create(scratch / "r.h5", synthetic_schema(), synthetic_info());
    PointResult p = synthetic_point(0);
    p.dumps = test_dumps();
    writer.add(std::move(p));
    writer.checkpoint();
  }
  {
    auto writer = ResultsWriter::resume(scratch / "r.h5", synthetic_schema(), synthetic_info());
    for (std::uint64_t i = 1; i < kSyntheticPoints; ++i) {
      PointResult p = synthetic_point(i);
      if (i == 5) p.dumps = test_dumps();
      writer.add(std::move(p));
    }
    writer.finish("2026-01-01T00:01:00Z");
  }
  CHECK(file_bytes(scratch / "r.h5") == file_bytes(scratch / "a.h5"));

  // Merge: shards' dumps land where a single run puts them.
  std::vector<std::uint64_t> even, odd;
  for (std::uint64_t i = 0; i < kSyntheticPoints; ++i) (i % 2 == 0 ? even : odd).push_back(i);
  for (int s = 0; s < 2; ++s) {
    auto writer = ResultsWriter::create(scratch / ("s" + std::to_string(s) + ".h5"), synthetic_schema(),
                                        synthetic_info("host-a", std::to_string(s) + "/2"));
    for (auto i : s == 0 ? even : odd) {
      PointResult p = synthetic_point(i);
      if (i == 0 || i == 5) p.dumps = test_dumps();
      writer.add(std::move(p));
    }
    writer.finish("2026-01-01T00:01:00Z");
  }
  merge_results(scratch / "m.h5", {scratch / "s1.h5", scratch / "s0.h5"});
  const auto merged = read_results(scratch / "m.h5");
  CHECK(merged.rows[5].dumps.size() == std::size(kSpecs));
  CHECK(same_bits(read_dump_c_api(scratch / "m.h5", 5, "t4.nvfp4").values,
                  read_dump_c_api(scratch / "a.h5", 5, "t4.nvfp4").values));

  // A file without dumps has no /dumps group (the layout of earlier files).
  write_synthetic(scratch / "plain.h5");
  const hid_t file = H5Fopen((scratch / "plain.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  CHECK(H5Lexists(file, "dumps", H5P_DEFAULT) == 0);
  H5Fclose(file);
}

TEST_CASE("dumps: bad dumps are refused by add") {
  ScratchFolder scratch;
  auto writer = ResultsWriter::create(scratch / "run.h5", synthetic_schema(), synthetic_info());
  PointResult p = synthetic_point(0);
  p.dumps = test_dumps();
  p.dumps[1].name = "a/b";
  CHECK_THROWS_WITH_AS(writer.add(p), doctest::Contains("no '/'"), std::invalid_argument);
  p.dumps[1].name = p.dumps[0].name;
  CHECK_THROWS_WITH_AS(writer.add(p), doctest::Contains("twice"), std::invalid_argument);
  p.dumps = test_dumps();
  p.dumps[0].values.pop_back();
  CHECK_THROWS_WITH_AS(writer.add(p), doctest::Contains("values for a shape"), std::invalid_argument);
}

TEST_CASE("dumps: the MPI point codec carries them") {
  PointResult p = synthetic_point(3);
  p.dumps = test_dumps();
  std::vector<std::uint8_t> bytes;
  encode_points({p}, bytes);
  const auto back = decode_points(bytes.data(), bytes.size());
  REQUIRE(back.size() == 1);
  REQUIRE(back[0].dumps.size() == p.dumps.size());
  for (std::size_t i = 0; i < p.dumps.size(); ++i) {
    CHECK(back[0].dumps[i].spec == p.dumps[i].spec);
    CHECK(same_bits(back[0].dumps[i].values, p.dumps[i].values));
    CHECK(back[0].dumps[i].codes == p.dumps[i].codes);
    CHECK(back[0].dumps[i].scale_shape == p.dumps[i].scale_shape);
    CHECK(back[0].dumps[i].tensor_scale == p.dumps[i].tensor_scale);
  }
  bytes.pop_back();
  CHECK_THROWS(decode_points(bytes.data(), bytes.size()));
}

// ---- through the runner ----

const std::string kStudy = R"(name: dumps
model: {synthetic: student_t, nu: 4, shape: [16, 64], gemm_n: 8}
sweep:
  weights: [int4:per_group(32), nvfp4, e4m3fn:sr]
  activations: [int8:per_tensor]
  seed: [0, 1]
dump:
  tensors: [weights, activations]
  points: [0, 3, 5]
)";

TEST_CASE("dumps through the runner: the point's own tensors, any thread count, shards") {
  ScratchFolder scratch;
  const auto config = parse_experiment(kStudy, scratch / "study.yaml");
  CHECK(config.dump.points == std::vector<std::uint64_t>{0, 3, 5});
  run_experiment(config, quiet_run(scratch / "t1.h5", 1));
  run_experiment(config, quiet_run(scratch / "t2.h5", 2));
  const auto one = read_results(scratch / "t1.h5");
  const auto two = read_results(scratch / "t2.h5");
  const auto grid = expand_grid(config);
  const TensorF x = synthetic_tensor(config.synthetic, 0);
  for (std::size_t r = 0; r < one.rows.size(); ++r) {
    const auto index = one.rows[r].index;
    const bool dumped = index == 0 || index == 3 || index == 5;
    REQUIRE(one.rows[r].dumps.size() == (dumped ? 2u : 0u));
    REQUIRE(two.rows[r].dumps.size() == one.rows[r].dumps.size());
    for (std::size_t d = 0; d < one.rows[r].dumps.size(); ++d) {
      CHECK(same_bits(one.rows[r].dumps[d].values, two.rows[r].dumps[d].values));
      CHECK(one.rows[r].dumps[d].codes == two.rows[r].dumps[d].codes);
    }
    if (!dumped) continue;
    // "weights" is X quantized as the point does (seed axis added to the spec's seed).
    const TensorDump& w = one.rows[r].dumps[1];
    CHECK(w.name == "weights");
    const auto spec = point_quant_spec(grid[index], "weights");
    CHECK(w.spec == bitsim::sim::to_string(spec));
    CHECK(same_bits(w.values, bitsim::sim::fake_quantize(x, spec, 0).to_vector()));
    CHECK(same_bits(bitsim::sim::decode(packed_tensor(w)).to_vector(), w.values));
    CHECK(one.rows[r].dumps[0].name == "activations");
    CHECK(one.rows[r].dumps[0].shape == std::vector<std::int64_t>{8, 64});
  }
  // The two seeds of e4m3fn:sr (points 4 and 5): only 5 is dumped, and with seed 1.
  CHECK(grid[5].seed == 1);

  // Shards merged = the single run, dumps included.
  std::vector<fs::path> shards;
  for (int i = 0; i < 2; ++i) {
    shards.push_back(scratch / ("shard" + std::to_string(i) + ".h5"));
    run_experiment(config, quiet_run(shards.back(), 1, Shard{i, 2}));
  }
  merge_results(scratch / "merged.h5", shards);
  for (std::uint64_t index : {0, 3, 5}) {
    CHECK(same_bits(read_dump_c_api(scratch / "merged.h5", index, "weights").values,
                    read_dump_c_api(scratch / "t1.h5", index, "weights").values));
    CHECK(read_dump_c_api(scratch / "merged.h5", index, "weights").codes ==
          read_dump_c_api(scratch / "t1.h5", index, "weights").codes);
  }
}

TEST_CASE("dumps: configuration errors name the line and the valid choices") {
  const auto message = [](const std::string& dump) {
    try {
      (void)parse_experiment("name: d\nmodel: gaussian\nsweep: {weights: int8}\n" + dump, "bad.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message("dump: {tensors: [activations]}\n").find("bad.yaml:4:") == 0);
  CHECK(message("dump: {tensors: [activations]}\n").find("valid: weights") != std::string::npos);
  CHECK(message("dump: {tensors: weights, points: [1, 1]}\n").find("twice") != std::string::npos);
  CHECK(message("dump: {tensors: weights, values: false, codes: false}\n").find("nothing") != std::string::npos);
  CHECK(message("dump: {tensor: weights}\n").find("valid keys: tensors, points, values, codes") != std::string::npos);
  CHECK(message("dump: {points: all}\n").find("needs 'tensors'") != std::string::npos);
  CHECK(message("dump: {tensors: w*, points: all, codes: false}\n") == "(no error)");
  // An index past the grid is reported when the run starts.
  ScratchFolder scratch;
  const auto config = parse_experiment("name: d\nmodel: gaussian\nsweep: {weights: int8}\ndump: {tensors: weights, points: [3]}\n",
                                       scratch / "d.yaml");
  CHECK_THROWS_WITH_AS(run_experiment(config, quiet_run(scratch / "d.h5", 1)), doctest::Contains("not a grid index"),
                       std::invalid_argument);
}

TEST_CASE("dumps of a model source: the weights its sessions use (tiny GPT-2)") {
  ScratchFolder scratch;
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const std::string yaml = "name: gd\nmodel: " + dir + "\ndata: {text: " + dir + "/sample.txt, tokens: 8}\n"
                           "sweep:\n  weights: [int4:per_channel, mxfp4]\n  activations: [int8:per_tensor]\n"
                           "  layers: ['1']\n"
                           "dump: {tensors: ['weight.blk.*.attn_qkv', weight.output, act.blk.1.ffn_down]}\n";
  const auto config = parse_experiment(yaml, scratch / "gd.yaml");
  run_experiment(config, quiet_run(scratch / "gd.h5", 1));
  const auto table = read_results(scratch / "gd.h5");
  const auto model = bitsim::models::Gpt2Model::from_safetensors(dir);
  const auto grid = expand_grid(config);
  REQUIRE(table.rows.size() == 2);
  for (const auto& row : table.rows) {
    REQUIRE(row.dumps.size() == 4);  // act.blk.1.ffn_down, blk.0 and blk.1 attn_qkv, output
    auto numerics = model_point_numerics(grid[row.index], model.config().layers);
    const bitsim::models::LayerOps ops(numerics);
    const auto& w = model.weights();
    const std::pair<std::string, const TensorF*> expected[] = {{"weight.blk.0.attn_qkv", &w.layers[0].w_qkv},
                                                               {"weight.blk.1.attn_qkv", &w.layers[1].w_qkv},
                                                               {"weight.output", &w.output}};
    for (std::size_t i = 0; i < 3; ++i) {
      INFO(expected[i].first);
      const TensorDump& d = row.dumps[i + 1];
      CHECK(d.name == expected[i].first);
      const auto want = ops.weight(*expected[i].second, expected[i].first.substr(7)).to_vector();
      CHECK(same_bits(d.values, want));
      CHECK(same_bits(bitsim::sim::decode(packed_tensor(d)).to_vector(), want));
    }
    // layers: '1' leaves block 0 and the output layer in FP32 (identity: float32 bits).
    CHECK(row.dumps[1].spec == "none");
    CHECK(row.dumps[1].code_bits == 32);
    CHECK(row.dumps[2].spec != "none");
    // The activation entering block 1's ffn_down, as a session of this point quantizes it
    // (observed here through the session's own tap).
    const TensorDump& act = row.dumps[0];
    CHECK(act.name == "act.blk.1.ffn_down");
    CHECK(act.spec == "int8:per_tensor");
    std::vector<float> seen;
    numerics.tap = [&](const std::string& role, const TensorF& x, const bitsim::sim::QuantSpec& spec, std::uint64_t stream) {
      if (role == "act.blk.1.ffn_down") seen = bitsim::sim::fake_quantize(x, spec, stream).to_vector();
    };
    std::vector<std::int32_t> ids;
    {
      const auto tokens = bitsim::models::decoder_tokenizer(dir)->encode(
          std::string(std::istreambuf_iterator<char>(std::ifstream(dir + "/sample.txt").rdbuf()), {}));
      ids.assign(tokens.begin(), tokens.begin() + 8);
    }
    (void)bitsim::models::Gpt2Session(model, numerics).forward(ids);
    CHECK(same_bits(act.values, seen));
    CHECK(act.shape == std::vector<std::int64_t>{8, 128});
  }
}

// ---- the temporary file of a failed write ----

std::vector<std::string> folder_names(const fs::path& folder) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(folder)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

TEST_CASE("a failed checkpoint removes its temporary and leaves the folder as it was") {
  ScratchFolder scratch;
  const fs::path path = scratch / "run.h5";
  auto writer = ResultsWriter::create(path, synthetic_schema(), synthetic_info());
  writer.add(synthetic_point(0));
  // The results file replaced by a non-empty folder: the rename over it fails.
  fs::remove(path);
  fs::create_directory(path);
  write_bytes(path / "keep", "x");
  CHECK_THROWS(writer.checkpoint());
  CHECK(folder_names(scratch.path()) == std::vector<std::string>{"run.h5"});
  CHECK(folder_names(path) == std::vector<std::string>{"keep"});
  // The folder of the file removed: creating the temporary fails, nothing appears.
  fs::remove_all(scratch.path());
  CHECK_THROWS(writer.checkpoint());
  CHECK_FALSE(fs::exists(scratch.path()));
  fs::create_directory(scratch.path());
  // merge never writes over an existing output, and leaves no temporary beside it.
  write_synthetic(scratch / "s.h5");
  write_bytes(scratch / "out.h5", "taken");
  CHECK_THROWS_WITH_AS(merge_results(scratch / "out.h5", {scratch / "s.h5"}), doctest::Contains("already exists"),
                       std::runtime_error);
  CHECK(folder_names(scratch.path()) == std::vector<std::string>{"out.h5", "s.h5"});
  CHECK(file_bytes(scratch / "out.h5") == "taken");
}

}  // namespace

namespace {

// `reference: fp64` (models): the reference run accumulates in float64, so an FP32 point
// is no longer identical to it; with the default reference it is.
TEST_CASE("reference: fp64 in an experiment file (tiny GPT-2)") {
  ScratchFolder scratch;
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const auto study = [&](const std::string& reference) {
    return "name: ref\nmodel: " + dir + "\ndata: {text: " + dir + "/sample.txt, tokens: 8}\n" + reference +
           "sweep: {}\nmetrics: [logits_sqnr_db, kl_mean]\n";
  };
  run_experiment(parse_experiment(study(""), scratch / "a.yaml"), quiet_run(scratch / "fp32.h5", 1));
  run_experiment(parse_experiment(study("reference: fp64\n"), scratch / "b.yaml"), quiet_run(scratch / "fp64.h5", 1));
  const auto fp32 = read_results(scratch / "fp32.h5").rows.at(0).cells;
  const auto fp64 = read_results(scratch / "fp64.h5").rows.at(0).cells;
  CHECK(std::isinf(std::get<double>(fp32[0])));
  CHECK(std::get<double>(fp32[1]) == 0.0);
  MESSAGE("FP32 point against the fp64 reference: logit SQNR " << std::get<double>(fp64[0]) << " dB");
  CHECK(std::isfinite(std::get<double>(fp64[0])));
  CHECK(std::get<double>(fp64[0]) > 60.0);  // float32 rounding of the sums only
  CHECK(std::get<double>(fp64[1]) > 0.0);
  const auto error = [&](const std::string& text) {
    try {
      (void)parse_experiment(text, scratch / "c.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(error(study("reference: fp16\n")).find("valid: fp32, fp64") != std::string::npos);
  CHECK(error("name: s\nmodel: gaussian\nsweep: {}\nreference: fp64\n").find("model sources") != std::string::npos);
}

}  // namespace

namespace {

// MPI ranks send their points' dumps to rank 0 (the point codec), which writes them as a
// single run would.
TEST_CASE("dumps under mpirun -np 2 equal the single run's") {
  const std::string mpirun = BITSIM_MPIRUN;
  if (mpirun.empty() || !fs::exists(mpirun)) {
    MESSAGE("skipped: mpirun not found");
    return;
  }
  ScratchFolder scratch;
  write_bytes(scratch / "study.yaml", kStudy);
  run_experiment(load_experiment(scratch / "study.yaml"), quiet_run(scratch / "single.h5", 1));
  const fs::path out = scratch / "mpi.h5";
  const std::string command = mpirun + " -np 2 --allow-run-as-root --oversubscribe -x ASAN_OPTIONS=detect_leaks=0 " +
                              BITSIM_CLI + " run " + (scratch / "study.yaml").string() + " -o " + out.string() +
                              " --threads 1 -q --no-table > " + (scratch / "log").string() + " 2>&1";
  const int status = std::system(command.c_str());
  INFO(file_bytes(scratch / "log"));
  REQUIRE(status == 0);
  for (std::uint64_t index : {0, 3, 5}) {
    for (const char* name : {"weights", "activations"}) {
      const auto a = read_dump_c_api(out, index, name), b = read_dump_c_api(scratch / "single.h5", index, name);
      CHECK(same_bits(a.values, b.values));
      CHECK(a.codes == b.codes);
      CHECK(a.scales == b.scales);
    }
  }
  CHECK(read_results(out).rows[1].dumps.empty());
}

}  // namespace

namespace {

// The role axes of the newer roles (qkv, attn_q, hidden, residual, norm_stats) reach the
// model: a format exact for float32 changes nothing, a coarse one changes the logits.
TEST_CASE("sweep axes for qkv, attn_q, hidden, residual and norm_stats (tiny GPT-2)") {
  ScratchFolder scratch;
  const std::string dir = std::string(BITSIM_TEST_DATA) + "/models/tiny_gpt2";
  const std::string yaml = "name: roles\nmodel: " + dir + "\ndata: {text: " + dir + "/sample.txt, tokens: 12}\n"
                           "sweep:\n  norm_stats: [fp32, 'bf16:rz']\n  qkv: [fp32, 'int4:per_tensor']\n"
                           "  attn_q: [fp32, 'int4:per_tensor']\n  hidden: [fp32, 'int4:per_tensor']\n"
                           "  residual: [fp32, 'int4:per_tensor']\n"
                           "zip: [[norm_stats, qkv, attn_q, hidden, residual]]\nmetrics: [kl_mean]\n";
  const auto config = parse_experiment(yaml, scratch / "roles.yaml");
  run_experiment(config, quiet_run(scratch / "roles.h5", 1));
  const auto rows = read_results(scratch / "roles.h5").rows;
  REQUIRE(rows.size() == 2);
  CHECK(std::get<double>(rows[0].cells.back()) == 0.0);
  CHECK(std::get<double>(rows[1].cells.back()) > 0.0);
  // Each axis alone, restricted to block 1, changes the output; block selections apply.
  for (const char* axis : {"norm_stats", "qkv", "attn_q", "hidden", "residual"}) {
    INFO(axis);
    const std::string one = "name: one\nmodel: " + dir + "\ndata: {text: " + dir + "/sample.txt, tokens: 12}\n" +
                            "sweep:\n  " + axis + ": ['" + (std::string(axis) == "norm_stats" ? "e4m3fn" : "int4:per_tensor") +
                            "']\n  layers: ['1']\nmetrics: [kl_mean]\n";
    const fs::path out = scratch / (std::string(axis) + ".h5");
    run_experiment(parse_experiment(one, scratch / "one.yaml"), quiet_run(out, 1));
    CHECK(std::get<double>(read_results(out).rows.at(0).cells.back()) > 0.0);
  }
  const auto error = [&](const std::string& text) {
    try {
      (void)parse_experiment(text, scratch / "bad.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(error("name: b\nmodel: " + dir + "\nsweep: {norm_stats: 'int8:per_tensor'}\n").find("unscaled element format") !=
        std::string::npos);
  CHECK(error("name: b\nmodel: gaussian\nsweep: {qkv: int8}\n").find("unknown key 'qkv'") != std::string::npos);
}

}  // namespace
