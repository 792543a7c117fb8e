#pragma once
// Counter-based random words for stochastic rounding (Random123's Philox4x32-10).
//
// Element i of stream `stream` under `seed` gets word (i mod 4) of
// Philox4x32_10(counter = {i/4 low, i/4 high, stream low, stream high}, key = seed).
// The word depends on nothing but (seed, stream, i), so any thread, any block size and
// the GPU produce the same bits.
#include <cstdint>

#include <Random123/philox.h>

#include "formats/hd.hpp"

namespace bitsim::formats {

struct RandomStream {
  std::uint64_t seed = 0;
  std::uint64_t stream = 0;

  // Four consecutive words, for elements 4*group .. 4*group+3.
  BITSIM_HD r123::Philox4x32::ctr_type group(std::uint64_t group_index) const {
    r123::Philox4x32 philox;
    r123::Philox4x32::ctr_type counter = {{std::uint32_t(group_index),
                                           std::uint32_t(group_index >> 32),
                                           std::uint32_t(stream), std::uint32_t(stream >> 32)}};
    r123::Philox4x32::key_type key = {{std::uint32_t(seed), std::uint32_t(seed >> 32)}};
    return philox(counter, key);
  }

  BITSIM_HD std::uint32_t word(std::uint64_t index) const {
    return group(index >> 2).v[index & 3];
  }
};

}  // namespace bitsim::formats
