#pragma once
// AccumSpec: how a GEMM forms and adds its products, stated exactly enough that two
// implementations (the CPU kernels here, the CUDA kernels later) agree bit for bit.
// The full definition of the addition order is in sim/README.md ("GEMM").
//
// String grammar (parse / to_string):
//   spec  := item { ',' item }            items in any order, each key at most once
//   item  := 'acc=' FORMAT [':' ROUNDING]        accumulator (fp32:rne)
//          | 'prod=' ('exact' | FORMAT [':' ROUNDING])   product precision (exact)
//          | 'chunk=' K                   K >= 1 products per chunk; 0 or 'none': no chunking
//          | 'wide=' FORMAT [':' ROUNDING]        chunk promotion / split-K / bias format (fp32:rne)
//          | 'order=' ('seq' | 'pairwise' | 'tree(' F ')' | 'splitk(' S ')' | 'blas')
//          | 'split=' S [':' ('seq' | 'reverse' | 'pairwise')]
//          | 'fma=' ('true' | 'false')    false: the product is first rounded to the accumulator
//          | 'kahan=' ('true' | 'false')  compensated (Kahan) accumulation; needs order=seq
//          | 'seed=' N                    stochastic rounding key
// FORMAT is a formats::Format spec whose '<...>' may hold commas (fp<e=8,m=13>);
// ROUNDING is rne|rna|rnz|ru|rd|rz|rto|sr|sr:k. `order=splitk(S)` is shorthand for
// `order=seq,split=S`. Example: "acc=bf16:rne,prod=exact,chunk=128,split=4".
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "formats/format.hpp"
#include "formats/rounding.hpp"

namespace bitsim::sim {

// A format together with the rounding mode every result rounded into it uses.
struct RoundedFormat {
  formats::Format format;
  formats::RoundingSpec rounding{};

  static RoundedFormat parse(std::string_view text);  // "bf16", "fp16:rz", "fp<e=8,m=13>:sr"
  std::string to_string() const;
  friend bool operator==(const RoundedFormat&, const RoundedFormat&) = default;
};

// Order of the additions inside one chunk (see sim/README.md for the exact trees).
enum class SumOrder : std::uint8_t {
  sequential,  // ((p0 + p1) + p2) + ..., starting from a zero accumulator
  pairwise,    // recursive halving, left half = ceil(n/2)
  tree,        // level by level: groups of fan_out consecutive values summed left to right
  blas,        // FP32 with unspecified order: dequantize and call cblas_sgemm (not bit-defined)
};

// Order in which split-K partial sums are reduced.
enum class SplitReduce : std::uint8_t { sequential, reverse, pairwise };

struct AccumSpec {
  std::optional<RoundedFormat> product;  // nullopt: products are exact
  RoundedFormat accumulator{formats::Format::parse("fp32")};
  RoundedFormat wide{formats::Format::parse("fp32")};
  std::int64_t chunk = 0;  // products per chunk; 0: the whole part is one chunk
  SumOrder order = SumOrder::sequential;
  int fan_out = 2;  // for SumOrder::tree
  int split = 1;    // split-K parts
  SplitReduce split_reduce = SplitReduce::sequential;
  bool fma = true;
  bool kahan = false;
  std::uint64_t seed = 0;

  // Throws std::invalid_argument naming the key, the bad value and the valid choices.
  static AccumSpec parse(std::string_view text);
  // Canonical spelling: every key, in the grammar's order; parse(to_string()) == *this.
  std::string to_string() const;
  // Throws std::invalid_argument for combinations the model does not define.
  void validate() const;

  // Plain FP32 accumulation with unspecified order (the BLAS fast path).
  static AccumSpec blas() {
    AccumSpec s;
    s.order = SumOrder::blas;
    return s;
  }

  friend bool operator==(const AccumSpec&, const AccumSpec&) = default;
};

}  // namespace bitsim::sim
