#pragma once
// Walsh-Hadamard transforms along the last axis of a tensor, for rotation-based
// quantization (QuaRot, SpinQuant, QuIP#-style incoherence processing).
//
// The last axis of length n is cut into blocks of `block` elements (0 = the largest power
// of two dividing n, i.e. n itself when n is a power of two); each block is multiplied by
// the orthonormal Sylvester-Hadamard matrix H_b / sqrt(b) (H_1 = [1], H_2b = [[H, H],
// [H, -H]]), so the whole transform is block-diagonal and orthogonal. H_b / sqrt(b) is
// symmetric, so it is its own inverse. The randomized variant multiplies column j by a
// sign d_j = +-1 first (y = H D x / sqrt(b)) and its inverse undoes that (x = D H y /
// sqrt(b)); d_j is the top bit of word j of RandomStream{seed, kSignStream}, so the same
// seed gives the same signs for every row, tensor and thread count.
//
// Arithmetic: every row is transformed in float64 with the butterfly (in place, the
// fixed order of the fast transform), then scaled and rounded once to the tensor's type.
#include <cstdint>
#include <span>
#include <vector>

#include "sim/tensor.hpp"

namespace bitsim::sim {

inline constexpr std::uint64_t kSignStream = 0x5349474e;  // "SIGN": the random-sign stream

// The block size used for a last axis of length n (0 = automatic, as above); throws
// std::invalid_argument when `block` is not a power of two dividing n.
Index hadamard_block(Index n, Index block = 0);

// Unnormalised in-place fast Walsh-Hadamard transform of a power-of-two length (H_n x).
void fwht(std::span<double> x);

// The random signs d_0 .. d_{n-1} (each +1 or -1) for `seed`.
std::vector<double> random_signs(std::uint64_t seed, Index n);

template <class T>
Tensor<T> hadamard(const Tensor<T>& x, Index block = 0);          // its own inverse
template <class T>
Tensor<T> random_hadamard(const Tensor<T>& x, std::uint64_t seed, Index block = 0);
template <class T>
Tensor<T> inverse_random_hadamard(const Tensor<T>& x, std::uint64_t seed, Index block = 0);

// Row-level building block shared with sim/quant: transforms `row` (length n, a multiple
// of block) in place in double; signs may be empty (plain Hadamard). `inverse` applies
// the signs after the transform instead of before.
void hadamard_row(std::span<double> row, Index block, std::span<const double> signs, bool inverse);

}  // namespace bitsim::sim
