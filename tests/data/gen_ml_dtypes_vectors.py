#!/usr/bin/env python3
"""Writes tests/data/ml_dtypes/<format>.bin: decode tables and float32 -> code vectors
taken from ml_dtypes, an independent implementation of the small formats bitsim models.

Run once, by hand, and commit the output (tests never import Python):
    python3 tests/data/gen_ml_dtypes_vectors.py [output_dir]

The file layout, the list of inputs and the known differences are described in
tests/data/README.md; tests/formats/test_ml_dtypes_vectors.cpp reads the files.
"""
import struct
import sys
from pathlib import Path

import ml_dtypes
import numpy as np

MAGIC = b"BSML"
VERSION = 1
NAME_FIELD = 24
RANDOM_COUNT = 20000
SEED = 20240607

# (file name = bitsim format name, ml_dtypes type, kind). Floats are compared with bitsim's
# rne; ml_dtypes' integer conversion truncates toward zero and then wraps (a C cast), so
# the integer vectors keep only inputs whose truncation is in range, compared with rz.
FORMATS = [
    ("e4m3fn", "float8_e4m3fn", "float"),
    ("e5m2", "float8_e5m2", "float"),
    ("e4m3", "float8_e4m3", "float"),
    ("e4m3fnuz", "float8_e4m3fnuz", "float"),
    ("e5m2fnuz", "float8_e5m2fnuz", "float"),
    ("e4m3b11fnuz", "float8_e4m3b11fnuz", "float"),
    ("e3m4", "float8_e3m4", "float"),
    ("e3m2fn", "float6_e3m2fn", "float"),
    ("e2m3fn", "float6_e2m3fn", "float"),
    ("e2m1fn", "float4_e2m1fn", "float"),
    ("e8m0fnu", "float8_e8m0fnu", "float"),
    ("bf16", "bfloat16", "float"),
    ("int4", "int4", "int"),
    ("uint4", "uint4", "int"),
    ("int2", "int2", "int"),
]

# bfloat16 has 65536 codes; its structured inputs keep only these float32 exponent fields
# (the same as bfloat16's): the subnormal and lowest normal binades, the binades around 1,
# and the top ones. Random inputs cover the rest.
BF16_BINADES = {0, 1, 2, 63, 64, 125, 126, 127, 128, 129, 190, 191, 253, 254}

F32_NAN_PATTERNS = [0x7FC00000, 0xFFC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFA12345]
# Float32 subnormals: the extremes, every power of two, and the neighbourhood of 2^-127 and
# 1.5 * 2^-127 (where ml_dtypes' E8M0 conversion is known to differ from nearest).
F32_SUBNORMAL_PATTERNS = sorted(
    {1, 2, 3, 0x7FFFFF, 0x7FFFFE, 0x400001, 0x500000, 0x5FFFFF, 0x600000, 0x600001,
     0x3FFFFF, 0x300000, 0x200000, 0x1FFFFF, 0x200001}
    | {1 << k for k in range(23)})


def f32(values):
    return np.asarray(values, dtype=np.float64).astype(np.float32)


def bits_of(x32):
    return np.asarray(x32, dtype=np.float32).view(np.uint32)


def from_bits(patterns):
    return np.asarray(patterns, dtype=np.uint32).view(np.float32)


def exact_f32(values64):
    """float64 values that must be float32 values (midpoints, powers of two)."""
    v = np.asarray(values64, dtype=np.float64)
    x = v.astype(np.float32)
    assert np.array_equal(x.astype(np.float64), v), "a structured input is not a float32"
    return x


def neighbours(x32):
    """Float32 neighbours on both sides of each value."""
    x = np.asarray(x32, dtype=np.float32)
    return np.concatenate([np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf))])


def codes_of(ml_type, bits, array):
    """ml_dtypes' codes for an array of its type, as unsigned integers."""
    raw = array.view(np.uint16 if bits > 8 else np.uint8).astype(np.uint32)
    masked = raw & ((1 << bits) - 1)
    assert np.array_equal(raw, masked), f"{ml_type}: bits above the code width are set"
    return masked


def decode_table(ml_type, bits):
    codes = np.arange(1 << bits, dtype=np.uint16 if bits > 8 else np.uint8)
    return codes.view(getattr(ml_dtypes, ml_type)).astype(np.float32)


def unique_in_order(*groups):
    seen = {}
    for g in groups:
        for b in bits_of(g).tolist():
            seen.setdefault(b, None)
    return from_bits(list(seen))


def float_inputs(name, ml_type, table, rng):
    finite = table[np.isfinite(table)].astype(np.float64)
    positive = np.unique(np.abs(finite))  # sorted, includes 0 where the format has it
    info = ml_dtypes.finfo(getattr(ml_dtypes, ml_type))
    top = float(positive[-1])
    next_above_max = top + 2.0 ** (np.floor(np.log2(top)) - info.nmant)
    lattice = np.concatenate([positive, [next_above_max]])
    if positive[0] > 0:  # no zero (E8M0): the gap below the smallest value counts too
        lattice = np.concatenate([[0.0, positive[0] / 2], lattice])
    midpoints = (lattice[:-1] + lattice[1:]) / 2
    anchors = np.concatenate([lattice, midpoints])
    # 2^128 (beyond E8M0's and bfloat16's max) is no float32; FLT_MAX joins the inputs below.
    anchors = exact_f32(anchors[anchors <= np.finfo(np.float32).max])
    structured = np.concatenate([anchors, neighbours(anchors)])
    structured = np.concatenate([structured, -structured])
    if name == "bf16":
        fields = (bits_of(structured) >> 23) & 0xFF
        structured = structured[np.isin(fields, list(BF16_BINADES))]

    log_top = int(np.floor(np.log2(top)))
    beyond = exact_f32([2.0 ** k for k in range(log_top + 1, 128)])
    beyond = np.concatenate([beyond, f32([np.finfo(np.float32).max])])
    beyond = np.concatenate([beyond, -beyond])
    subnormals = from_bits(F32_SUBNORMAL_PATTERNS)
    subnormals = np.concatenate([subnormals, -subnormals])
    specials = np.concatenate([f32([0.0, -0.0, np.inf, -np.inf]), from_bits(F32_NAN_PATTERNS)])

    # Random float32 across the format's binades (and two beyond each end), any mantissa.
    low = max(int(np.floor(np.log2(float(info.smallest_subnormal)))) - 2, -149)
    high = min(log_top + 2, 127)
    exponents = rng.integers(low, high + 1, RANDOM_COUNT)
    mantissas = rng.integers(0, 1 << 23, RANDOM_COUNT)
    signs = np.where(rng.integers(0, 2, RANDOM_COUNT) == 1, -1.0, 1.0)
    randoms = f32(signs * np.ldexp(1.0 + mantissas / 2.0 ** 23, exponents))
    randoms = randoms[np.isfinite(randoms)]
    return unique_in_order(specials, structured, beyond, subnormals, randoms)


def int_inputs(table, rng):
    lo, hi = float(table.min()), float(table.max())
    # Every integer, every half, and the float32 neighbours of both, out to (lo - 1, hi + 1):
    # the interval where ml_dtypes' truncating cast does not wrap.
    grid = exact_f32(np.arange(2 * lo - 2, 2 * hi + 3) / 2)
    structured = np.concatenate([f32([0.0, -0.0]), grid, neighbours(grid)])
    randoms = f32(rng.uniform(lo - 1, hi + 1, RANDOM_COUNT))
    x = unique_in_order(structured, randoms)
    x64 = x.astype(np.float64)
    return x[(x64 > lo - 1) & (x64 < hi + 1)]


def check_default_is_not_saturating():
    """The vectors record astype(), which overflows to NaN / inf; ml_dtypes' saturating
    conversion is not reachable through it. Fail loudly if a future version changes that."""
    big = f32([1e6, -1e6])
    for ml_type, special in [("float8_e4m3fn", [0x7F, 0xFF]), ("float8_e5m2", [0x7C, 0xFC]),
                             ("float8_e4m3fnuz", [0x80, 0x80])]:
        got = codes_of(ml_type, 8, big.astype(getattr(ml_dtypes, ml_type))).tolist()
        assert got == special, f"{ml_type} astype overflow gave {got}, expected NaN/inf codes"


def check_e4m3fn_464():
    """formats.md once claimed 464 -> NaN in e4m3fn; ml_dtypes rounds it to 448 (0x7E)."""
    code = codes_of("float8_e4m3fn", 8, f32([464.0]).astype(ml_dtypes.float8_e4m3fn))[0]
    print(f"e4m3fn: astype(464.0) = 0x{int(code):02x}")
    return int(code)


def write(path, ml_type, bits, table, inputs, codes):
    code_bytes = 1 if bits <= 8 else 2
    header = MAGIC + struct.pack("<HBBII", VERSION, bits, code_bytes, len(table), len(inputs))
    header += ml_type.encode().ljust(NAME_FIELD, b"\0")
    with open(path, "wb") as out:
        out.write(header)
        out.write(bits_of(table).astype("<u4").tobytes())
        out.write(bits_of(inputs).astype("<u4").tobytes())
        out.write(codes.astype("<u1" if code_bytes == 1 else "<u2").tobytes())


def main():
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "ml_dtypes"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(f"ml_dtypes {ml_dtypes.__version__}, numpy {np.__version__}")
    check_default_is_not_saturating()
    check_e4m3fn_464()
    for index, (name, ml_type, kind) in enumerate(FORMATS):
        rng = np.random.default_rng([SEED, index])
        bits = ml_dtypes.finfo(getattr(ml_dtypes, ml_type)).bits if kind == "float" else \
            ml_dtypes.iinfo(getattr(ml_dtypes, ml_type)).bits
        table = decode_table(ml_type, bits)
        inputs = float_inputs(name, ml_type, table, rng) if kind == "float" else int_inputs(table, rng)
        with np.errstate(invalid="ignore", over="ignore"):
            converted = inputs.astype(getattr(ml_dtypes, ml_type))
        codes = codes_of(ml_type, bits, converted)
        path = out_dir / f"{name}.bin"
        write(path, ml_type, bits, table, inputs, codes)
        print(f"{name:12s} {ml_type:20s} decode {len(table):6d}  encode {len(inputs):6d}  "
              f"{path.stat().st_size:8d} bytes")


if __name__ == "__main__":
    main()
