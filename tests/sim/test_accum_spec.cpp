#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "sim/gemm/accum_spec.hpp"

using bitsim::sim::AccumSpec;
using bitsim::sim::SplitReduce;
using bitsim::sim::SumOrder;
using bitsim::formats::Rounding;

TEST_CASE("AccumSpec: defaults are a bit-defined FP32 GEMM") {
  const AccumSpec s;
  CHECK(s.accumulator.format.spec() == "fp32");
  CHECK(s.accumulator.rounding.mode == Rounding::nearest_even);
  CHECK_FALSE(s.product.has_value());
  CHECK(s.order == SumOrder::sequential);
  CHECK(s.to_string() ==
        "acc=fp32:rne,prod=exact,chunk=0,wide=fp32:rne,order=seq,split=1:seq,fma=true,"
        "kahan=false,seed=0");
  CHECK(AccumSpec::parse("") == s);
}

TEST_CASE("AccumSpec: parse reads every key; to_string round-trips") {
  const AccumSpec s = AccumSpec::parse(
      "acc=fp<e=8,m=13>:sr:12, prod=e4m3fn:rz, chunk=128, wide=fp64, order=tree(4), "
      "split=3:reverse, fma=false, seed=42");
  CHECK(s.accumulator.format.lattice().precision == 13);
  CHECK(s.accumulator.rounding.mode == Rounding::stochastic);
  CHECK(s.accumulator.rounding.random_bits == 12);
  REQUIRE(s.product.has_value());
  CHECK(s.product->format.spec() == "e4m3fn");
  CHECK(s.product->rounding.mode == Rounding::toward_zero);
  CHECK(s.chunk == 128);
  CHECK(s.wide.format.spec() == "fp64");
  CHECK(s.order == SumOrder::tree);
  CHECK(s.fan_out == 4);
  CHECK(s.split == 3);
  CHECK(s.split_reduce == SplitReduce::reverse);
  CHECK_FALSE(s.fma);
  CHECK(s.seed == 42);
  CHECK(AccumSpec::parse(s.to_string()) == s);

  const AccumSpec k = AccumSpec::parse("acc=bf16:rne,prod=exact,chunk=128,order=splitk(4)");
  CHECK(k.order == SumOrder::sequential);
  CHECK(k.split == 4);
  CHECK(AccumSpec::parse(k.to_string()) == k);
  CHECK(AccumSpec::parse("order=pairwise,kahan=false,split=2:pairwise").split_reduce ==
        SplitReduce::pairwise);
  CHECK(AccumSpec::parse("order=blas") == AccumSpec::blas());
}

namespace {
std::string error_of(const std::string& text) {
  try {
    (void)AccumSpec::parse(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("AccumSpec: bad specs are clear errors naming the valid choices") {
  CHECK(error_of("accumulator=fp32").find("valid keys: acc, prod") != std::string::npos);
  CHECK(error_of("acc=fp33").find("acc=fp33") != std::string::npos);
  CHECK(error_of("acc=bf16:nearest").find("rne") != std::string::npos);
  CHECK(error_of("order=zigzag").find("seq, pairwise, tree(F), splitk(S), blas") !=
        std::string::npos);
  CHECK(error_of("order=tree(1)").find(">= 2") != std::string::npos);
  CHECK(error_of("chunk=-3").find("chunk") != std::string::npos);
  CHECK(error_of("split=0").find("split") != std::string::npos);
  CHECK(error_of("split=2:sideways").find("seq, reverse, pairwise") != std::string::npos);
  CHECK(error_of("fma=maybe").find("true, false") != std::string::npos);
  CHECK(error_of("acc=fp32,acc=bf16").find("twice") != std::string::npos);
  CHECK(error_of("chunk").find("key=value") != std::string::npos);
  CHECK(error_of("kahan=true,order=pairwise").find("order=seq") != std::string::npos);
  CHECK(error_of("acc=int8").find("fixed point") != std::string::npos);
  CHECK(error_of("acc=fp64:rz").find("fp64:rne") != std::string::npos);
  CHECK(error_of("order=blas,acc=bf16").find("order=blas") != std::string::npos);
  CHECK(error_of("acc=fp64").empty());
}
