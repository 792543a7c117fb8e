#pragma once
// The runtime face of every format: built from a spec string ("e4m3fn",
// "fp<e=5,m=7,bias=11>", "int8<narrow=true>"), as YAML files and the CLI need.
// Span operations dispatch on the format and the rounding mode once per span; the
// per-element work is the same BITSIM_HD core the compile-time types use.
//
// Spec grammar (docs: formats/README.md):
//   spec    := name [ '<' option { ',' option } '>' ]
//   name    := a named format (see named_formats()) | 'fp' | 'int' | 'uint'
//   posits and LNS take their own grammar (posit.hpp, lns.hpp): posit<8,2>, posit16,
//   posit16es1, lns<4,3>, lns<4,3,round=linear>, lns8, lns16; codebooks (codebook.hpp):
//   nf4, nf3, nf<bits=K>, codebook<v0,v1,...>.
//   option  := key '=' value
//   keys for floats:  e, m, bias, specials (ieee|fn|fnuz|none), signed, subnormals,
//                     overflow (saturate|inf|nan), nan (zero|max), ftz_in, ftz_out
//   keys for integers: bits, frac, narrow, nan (zero|max)
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "formats/codebook.hpp"
#include "formats/fixed_point.hpp"
#include "formats/lns.hpp"
#include "formats/minifloat.hpp"
#include "formats/posit.hpp"
#include "formats/random_stream.hpp"
#include "formats/rounding.hpp"

namespace bitsim::formats {

// Thrown for specs that name no format; the message lists the valid names.
class UnknownFormat : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Floats and integers/fixed point round onto a Lattice (lattice.hpp); posits, LNS and
// codebooks (NF4, codebook<...>) are not lattices and have their own cores (posit.hpp,
// lns.hpp, codebook.hpp).
using FormatRepr = std::variant<MiniFloat, FixedPoint, Posit, Lns, Codebook>;

struct NamedFormat {
  std::string_view name;
  std::string_view description;
  FormatRepr format;
};

// Every named float and integer format with its spec defaults, in display order.
std::span<const NamedFormat> named_formats();
// The named posits and LNS formats (posit8, posit16, posit32, lns8, lns16). Kept apart from
// named_formats(), whose users (the lattice reference suites, the quantize fingerprint)
// handle lattice formats only.
std::span<const NamedFormat> extra_named_formats();
std::string valid_format_names();

class Format {
 public:
  using Repr = FormatRepr;

  explicit Format(Repr repr);                 // validates
  static Format parse(std::string_view spec);  // throws UnknownFormat / std::invalid_argument

  const Repr& repr() const { return repr_; }
  // Canonical spec: the base name plus every option that differs from its defaults.
  const std::string& spec() const { return spec_; }
  std::string_view kind() const;  // "float" | "fixed" | "posit" | "lns" | "codebook"
  // Whether the format is a Lattice (floats, fixed point). lattice() throws
  // std::invalid_argument for posits and LNS, which are not.
  bool has_lattice() const { return repr_.index() < 2; }

  // --- properties ---
  int bits() const;
  double max_value() const;
  double min_value() const;         // most negative finite value (0 for unsigned)
  double min_normal() const;        // smallest positive normal (the quantum for fixed point;
                                    //   minpos for posits, min positive for LNS)
  double min_subnormal() const;     // smallest positive value
  double epsilon() const;           // spacing just above 1 (the quantum for fixed point)
  // NaN codes: IEEE NaNs, posit NaR, the LNS NaN code. Posit/LNS decode them to quiet NaN.
  std::uint64_t finite_code_count() const;
  bool has_infinity() const;
  bool has_nan() const;
  Overflow overflow() const;  // posits: saturate (they never overflow)
  const Lattice& lattice() const;

  // --- single values ---
  double decode(std::uint64_t code) const;
  bool is_nan_code(std::uint64_t code) const;
  // `index` selects the element's random word under stochastic rounding.
  std::uint64_t encode(double x, RoundingSpec r = {}, RandomStream rng = {},
                       std::uint64_t index = 0) const;
  std::uint64_t encode(float x, RoundingSpec r = {}, RandomStream rng = {},
                       std::uint64_t index = 0) const;
  double round(double x, RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index = 0) const;
  float round(float x, RoundingSpec r = {}, RandomStream rng = {}, std::uint64_t index = 0) const;

  // --- spans (parallel with oneTBB; results do not depend on the thread count) ---
  // out[i] = the value of in[i] rounded into the format, in the host type. Element i uses
  // random word i of `rng` (index_offset shifts the numbering for slices of a tensor).
  // Values the format holds beyond the host type's range (a float64-range format seen
  // through float32: rounding up past FLT_MAX, or the ±max a saturating policy gives for
  // ±inf) come back as ±inf; encode() always gives the exact code, through float64.
  // With ftz_in, decode() reads subnormal codes as zero, so decode(encode(x)) can differ
  // from quantize(x), which keeps subnormal results (only ftz_out flushes those).
  void quantize(std::span<const float> in, std::span<float> out, RoundingSpec r = {},
                RandomStream rng = {}, std::uint64_t index_offset = 0) const;
  void quantize(std::span<const double> in, std::span<double> out, RoundingSpec r = {},
                RandomStream rng = {}, std::uint64_t index_offset = 0) const;

  // Codes, one per element, right-aligned in 64 bits.
  void encode(std::span<const float> in, std::span<std::uint64_t> codes, RoundingSpec r = {},
              RandomStream rng = {}) const;
  void decode(std::span<const std::uint64_t> codes, std::span<float> out) const;

  // Packed storage: codes of bits() bits laid end to end, least significant bit first
  // (two E2M1 codes per byte, the first in the low nibble), the last byte zero-padded.
  std::vector<std::uint8_t> encode_packed(std::span<const float> in, RoundingSpec r = {},
                                          RandomStream rng = {}) const;
  void decode_packed(std::span<const std::uint8_t> packed, std::span<float> out) const;

  friend bool operator==(const Format& a, const Format& b) { return a.repr_ == b.repr_; }

 private:
  Repr repr_;
  std::string spec_;
  Lattice lattice_;
  LatticePlan<float> plan_float_;
  LatticePlan<double> plan_double_;
  // LNS of at most 16 bits: the decoded value of every code (double and float), so that
  // spans decode by lookup (decoding computes 2^(L/2^F) in 128-bit arithmetic).
  struct LnsValues {
    std::vector<double> doubles;
    std::vector<float> floats;
  };
  std::shared_ptr<const LnsValues> lns_values_;
};

// Writes and reads the packed layout for any code width 1..64.
std::vector<std::uint8_t> pack_codes(std::span<const std::uint64_t> codes, int bits);
void unpack_codes(std::span<const std::uint8_t> packed, int bits, std::span<std::uint64_t> codes);

}  // namespace bitsim::formats
