#pragma once
// The role check shared by test_roles.cpp (GPT-2, BERT) and test_roles_llama.cpp (SmolLM2,
// label slow): every role of block 0 reaches its rule; an exact format on it changes
// nothing bit for bit, a coarse one changes the output.
#include <doctest/doctest.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "models/transformer/numerics.hpp"
#include "sim/quant/quant_spec.hpp"
#include "sim/tensor.hpp"

namespace bitsim::test {

inline bool bit_identical(const sim::TensorF& a, const sim::TensorF& b) {
  return a.shape() == b.shape() && std::memcmp(a.span().data(), b.span().data(), a.span().size_bytes()) == 0;
}

inline models::Numerics one_rule(const std::string& role, const std::string& spec) {
  models::Numerics n;
  n.quant.emplace_back(role, sim::parse_quant_spec(spec));
  return n;
}

// The roles added for issue #8 and the activation roles around them, in block 0 (and the
// final norm). `norm` marks a norm's statistics, which take an unscaled element format.
struct RoleCase {
  std::string role;
  bool norm;
};

inline std::vector<RoleCase> roles(const std::string& final_norm) {
  std::vector<RoleCase> r = {{"qkv.blk.0.q", false},     {"qkv.blk.0.k", false},   {"qkv.blk.0.v", false},
                             {"attn.blk.0.q", false},    {"kv.blk.0.k", false},    {"hidden.blk.0.ffn", false},
                             {"residual.blk.0", false},  {"norm.blk.0.attn", true}, {"norm.blk.0.ffn", true},
                             {final_norm, true}};
  return r;
}

// run(numerics) -> the engine's output for a fixed input.
template <class Run>
void check_roles(const std::string& engine, const std::string& final_norm, Run run) {
  const sim::TensorF reference = run(models::Numerics{});
  for (const auto& c : roles(final_norm)) {
    INFO(engine << " role " << c.role);
    CHECK(bit_identical(run(one_rule(c.role, "fp32")), reference));
    // int4 per-tensor for tensors; bf16 truncation for statistics (a small but real change).
    const sim::TensorF coarse = run(one_rule(c.role, c.norm ? "bf16:rz" : "int4:per_tensor"));
    CHECK_FALSE(bit_identical(coarse, reference));
  }
  // A scaled spec on a norm's statistics is refused with the reason.
  CHECK_THROWS_WITH_AS(run(one_rule("norm.blk.0.attn", "int8:per_tensor")),
                       doctest::Contains("unscaled element format"), std::invalid_argument);
}

}  // namespace bitsim::test
