// Tensor roles in the Llama engine on SmolLM2 (label slow: each check builds a session of
// the 135M-parameter model): see test_roles.cpp and roles_check.hpp.
#include <doctest/doctest.h>

#include "models/io/gguf.hpp"
#include "models/transformer/llama.hpp"
#include "tests/models/pretrained.hpp"
#include "tests/models/roles_check.hpp"

using namespace bitsim::models;

TEST_CASE("roles: Llama (SmolLM2)") {
  if (!bitsim::test::present(bitsim::test::smollm2_gguf())) return;
  const auto model = LlamaModel::from_gguf(GgufFile::open(bitsim::test::smollm2_gguf()));
  const std::vector<std::int32_t> ids = {504, 3458, 282, 4649};
  bitsim::test::check_roles("llama", "norm.output", [&](const Numerics& n) { return LlamaSession(model, n).forward(ids); });
}

