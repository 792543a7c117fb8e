// Block format descriptions: the named table, spec strings, effective bits, errors.
#include <doctest/doctest.h>

#include "formats/block/block_format.hpp"

using namespace bitsim::formats;

TEST_CASE("named block formats: effective bits per element") {
  // element bits + (scale [+ zero point or Q4_1 minimum] bits) / block size
  const std::pair<const char*, double> expected[] = {
      {"mxfp8_e5m2", 8.25}, {"mxfp8_e4m3", 8.25}, {"mxfp6_e3m2", 6.25}, {"mxfp6_e2m3", 6.25},
      {"mxfp4", 4.25},      {"mxint8", 8.25},     {"nvfp4", 4.5},       {"msfp12", 4.5},
      {"msfp16", 8.5},      {"q8_0", 8.5},        {"q4_0", 4.5},        {"q4_1", 5.0},
      {"int4:sym:g128", 4.0 + 16.0 / 128},       {"int4:asym:g64", 4.0 + 20.0 / 64},
      {"int8:sym:g32:bf16", 8.5},                {"int4:sym:channel", 4.0},
      {"bfp<m=7,block=16>", 8.5},               {"mx<elem=e2m1fn,block=16x16,scale=e4m3fn>", 4.0 + 8.0 / 256},
      {"mx<elem=e2m1fn,block=16,scale=ue4m3>", 4.0 + 7.0 / 16}};
  for (const auto& [spec, bits] : expected) {
    CAPTURE(std::string(spec));
    CHECK(BlockFormat::parse(spec).effective_bits() == bits);
  }
  CHECK(named_block_formats().size() == 12);
}

TEST_CASE("named block formats are the descriptions the issue and the specs give") {
  const auto mxfp4 = BlockFormat::parse("mxfp4");
  CHECK(mxfp4.description().element == "e2m1fn");
  CHECK(mxfp4.description().scale == "e8m0fnu");
  CHECK(mxfp4.shape() == BlockShape{1, 32});
  CHECK(mxfp4.rule() == ScaleRule::floor);
  CHECK(mxfp4.element_emax() == 2);
  CHECK(mxfp4.scale_min_exponent() == -127);
  CHECK(mxfp4.scale_max_exponent() == 127);
  const std::pair<const char*, int> emax[] = {{"mxfp8_e4m3", 8}, {"mxfp8_e5m2", 15}, {"mxfp6_e3m2", 4},
                                              {"mxfp6_e2m3", 2}, {"mxfp4", 2},       {"mxint8", 0}};
  for (const auto& [name, e] : emax) CHECK(BlockFormat::parse(name).element_emax() == e);
  CHECK(BlockFormat::parse("mxint8").element_max() == 127.0 / 64);
  const auto nvfp4 = BlockFormat::parse("nvfp4");
  CHECK(nvfp4.has_tensor_scale());
  CHECK(nvfp4.description().scale == "e4m3fn");
  CHECK(nvfp4.shape() == BlockShape{1, 16});
  CHECK(BlockFormat::parse("nvfp4<block=16x16>").shape() == BlockShape{16, 16});
  // An element format whose own overflow policy is inf/nan is made saturating (clamping).
  CHECK(BlockFormat::parse("mxfp8_e5m2").element().overflow() == Overflow::saturate);
  const auto asym = BlockFormat::parse("int4:asym:g64");
  CHECK(asym.has_zero_point());
  CHECK(asym.description().element == "uint4");
  CHECK(asym.description().scale == "fp16");
  CHECK(BlockFormat::parse("int4:sym:g128").element().min_value() == -7);
  CHECK(BlockFormat::parse("int4:sym:g128:full").element().min_value() == -8);
  CHECK(BlockFormat::parse("int8:sym:tensor").shape() == BlockShape{0, 0});
  CHECK(BlockFormat::parse("mxfp4<axis=0>").shape() == BlockShape{32, 1});
}

TEST_CASE("spec strings: canonical form parses back to the same description") {
  for (const auto& named : named_block_formats()) {
    const auto f = BlockFormat::parse(named.name);
    CHECK(f.spec() == named.name);
  }
  const char* specs[] = {"mx<elem=e2m1fn,block=32,scale=e8m0fnu,rule=ceil>",
                         "mxfp4<rule=mse,round=sr:8>",
                         "mx<elem=int<bits=8,frac=6,narrow=true>,block=16>",
                         "bfp<m=3,block=32>",
                         "int4:asym:g64:bf16",
                         "int8:sym:channel:fp32",
                         "nvfp4<block=16x16,round=rz>",
                         "mx<elem=e4m3fn,scale=ue5m3,block=8x4>",
                         "mxfp6_e2m3<axis=0>"};
  for (const char* spec : specs) {
    CAPTURE(std::string(spec));
    const auto f = BlockFormat::parse(spec);
    const auto again = BlockFormat::parse(f.spec());
    CHECK(again.description() == f.description());
    CHECK(again.spec() == f.spec());
  }
  CHECK(BlockFormat::parse("mx<elem=e2m1fn>").spec() == "mxfp4");  // a named one, spelt generically
  CHECK(BlockFormat::parse("mxfp4<rule=ceil>").spec() ==
        "mx<elem=e2m1fn,scale=e8m0fnu,block=32,rule=ceil>");
}

TEST_CASE("spec strings: errors name what is wrong") {
  CHECK_THROWS_AS(BlockFormat::parse("mxfp5"), UnknownFormat);
  CHECK_THROWS_WITH(BlockFormat::parse("mxfp5"), doctest::Contains("mxfp4"));
  CHECK_THROWS_WITH(BlockFormat::parse("mxfp4<colour=red>"), doctest::Contains("unknown option 'colour'"));
  CHECK_THROWS_WITH(BlockFormat::parse("mxfp4<rule=best>"), doctest::Contains("floor, ceil, round, mse, amax"));
  CHECK_THROWS_WITH(BlockFormat::parse("mx<block=32>"), doctest::Contains("needs elem="));
  CHECK_THROWS_WITH(BlockFormat::parse("bfp<block=16>"), doctest::Contains("needs m="));
  CHECK_THROWS_WITH(BlockFormat::parse("int4:asym:g64<rule=mse>"), doctest::Contains("block format"));
  CHECK_THROWS_WITH(BlockFormat::parse("int4:sym:x12"), doctest::Contains("expected gN, channel or tensor"));
  CHECK_THROWS_WITH(BlockFormat::parse("mx<elem=e2m1fn,scale=int8>"), doctest::Contains("float format"));
  CHECK_THROWS_WITH(BlockFormat::parse("mx<elem=e2m1fn,scale=e2m1fn>"), doctest::Contains("NaN"));
  CHECK_THROWS_WITH(BlockFormat::parse("mx<elem=e2m1fn,zero_point=true>"), doctest::Contains("unsigned integer"));
  CHECK_THROWS_WITH(BlockFormat::parse("mx<elem=uint4,zero_point=true,rule=mse>"), doctest::Contains("symmetric"));
  CHECK_THROWS_WITH(BlockFormat::parse("mxfp4<block=16x16,axis=0>"), doctest::Contains("1-D"));
  CHECK_THROWS_WITH(BlockFormat::parse("mxfp4<round=sr:40>"), doctest::Contains("sr"));
  CHECK_THROWS_WITH(BlockFormat::parse("mx<elem=int<bits=8,frac=6>,block=32"), doctest::Contains("'>'"));
}
