// The table of named formats. Adding a format is one line here.
// Sources: IEEE 754-2019 (fp64/fp32/fp16), NVIDIA TF32 and Google bfloat16 layouts,
// OCP OFP8 rev 1.0 (e5m2, e4m3fn), OCP MX v1.0 (e3m2fn, e2m3fn, e2m1fn, e8m0fnu),
// ml_dtypes (e4m3, e3m4, *fnuz, e4m3b11fnuz), NVFP4 (ue4m3 block scale); see
// ../shared/specs/formats.md for the table of their properties.
#include <string>

#include "formats/format.hpp"

namespace bitsim::formats {
namespace {

constexpr MiniFloat ieee(int e, int m) {
  return MiniFloat{e, m, (1 << (e - 1)) - 1, Specials::ieee, true, true, Overflow::infinity};
}
constexpr MiniFloat fn(int e, int m, bool is_signed = true) {
  return MiniFloat{e, m, (1 << (e - 1)) - 1, Specials::fn, is_signed, true, Overflow::nan};
}
constexpr MiniFloat fnuz(int e, int m, int bias) {
  return MiniFloat{e, m, bias, Specials::fnuz, true, true, Overflow::nan};
}
constexpr MiniFloat finite(int e, int m) {
  return MiniFloat{e, m, (1 << (e - 1)) - 1, Specials::none, true, true, Overflow::saturate};
}
constexpr MiniFloat e8m0() {
  return MiniFloat{8, 0, 127, Specials::fn, false, false, Overflow::nan};
}

const std::vector<NamedFormat>& table() {
  static const std::vector<NamedFormat> formats = [] {
    std::vector<NamedFormat> t = {
        {"fp64", "IEEE 754 binary64", ieee(11, 52)},
        {"fp32", "IEEE 754 binary32", ieee(8, 23)},
        {"tf32", "NVIDIA TensorFloat-32 (e8m10)", ieee(8, 10)},
        {"bf16", "bfloat16 (e8m7)", ieee(8, 7)},
        {"fp16", "IEEE 754 binary16", ieee(5, 10)},
        {"e5m2", "OCP FP8 E5M2", ieee(5, 2)},
        {"e4m3fn", "OCP FP8 E4M3 (no inf, NaN = S.1111.111)", fn(4, 3)},
        {"e4m3", "IEEE-like FP8 E4M3 with inf and NaNs", ieee(4, 3)},
        {"e4m3fnuz", "FP8 E4M3, bias 8, NaN = 0x80, no -0", fnuz(4, 3, 8)},
        {"e5m2fnuz", "FP8 E5M2, bias 16, NaN = 0x80, no -0", fnuz(5, 2, 16)},
        {"e4m3b11fnuz", "FP8 E4M3, bias 11, NaN = 0x80, no -0", fnuz(4, 3, 11)},
        {"e3m4", "IEEE-like FP8 E3M4", ieee(3, 4)},
        {"e3m2fn", "OCP FP6 E3M2 (finite only)", finite(3, 2)},
        {"e2m3fn", "OCP FP6 E2M3 (finite only)", finite(2, 3)},
        {"e2m1fn", "OCP FP4 E2M1 (finite only)", finite(2, 1)},
        {"e8m0fnu", "OCP MX scale E8M0: unsigned powers of two, no zero, NaN = 0xFF", e8m0()},
        {"ue4m3", "unsigned E4M3 (NVFP4 block scale), NaN = 0x7F", fn(4, 3, false)},
        {"ue5m3", "unsigned E5M3 block scale, NaN = 0xFF", fn(5, 3, false)},
    };
    // intN and uintN parse for any N (2..32 and 1..32); these are the ones listed.
    t.push_back({"int2", "two's-complement integer", FixedPoint{2, true}});
    t.push_back({"int4", "two's-complement integer", FixedPoint{4, true}});
    t.push_back({"int8", "two's-complement integer", FixedPoint{8, true}});
    t.push_back({"int16", "two's-complement integer", FixedPoint{16, true}});
    t.push_back({"int32", "two's-complement integer", FixedPoint{32, true}});
    t.push_back({"uint4", "unsigned integer", FixedPoint{4, false}});
    t.push_back({"uint8", "unsigned integer", FixedPoint{8, false}});
    return t;
  }();
  return formats;
}

}  // namespace

std::span<const NamedFormat> named_formats() { return table(); }

std::span<const NamedFormat> extra_named_formats() {
  static const std::vector<NamedFormat> formats = {
      {"posit8", "Posit Standard 2022 posit<8,2>", Posit{8, 2}},
      {"posit16", "Posit Standard 2022 posit<16,2>", Posit{16, 2}},
      {"posit32", "Posit Standard 2022 posit<32,2>", Posit{32, 2}},
      {"lns8", "LNS: sign + log2 in Q4.3 (lns<4,3>)", Lns{4, 3}},
      {"lns16", "LNS: sign + log2 in Q5.10 (lns<5,10>)", Lns{5, 10}},
      {"nf4", "NormalFloat4 (QLoRA): 16 normal quantiles in [-1, 1] with an exact 0", normal_float(4)},
      {"nf3", "NormalFloat3: 8 normal quantiles in [-1, 1] (QLoRA's construction)", normal_float(3)},
  };
  return formats;
}

std::string valid_format_names() {
  std::string s;
  for (const auto& f : table()) {
    if (!s.empty()) s += ", ";
    s += f.name;
  }
  for (const auto& f : extra_named_formats()) s += ", " + std::string(f.name);
  s += "; generic: fp<e=..,m=..[,bias=..,specials=..]>, int<bits=..[,frac=..,narrow=true]>, "
       "uint<bits=..>, posit<n,es> (n 2..32, es 0..4), posit16es1, lns<I,F[,round=log|linear,"
       "overflow=saturate|nan]>, nf<bits=2..8>, codebook<v0,v1,..>; options on any name: <overflow=saturate|inf|nan,nan=zero|max,ftz_in,ftz_out>";
  return s;
}

}  // namespace bitsim::formats
