#!/usr/bin/env python3
"""Independent test vectors for bitsim's block formats (issue #4).

Written from the spec text alone (../shared/specs/formats.md: OCP MX v1.0 and the NVFP4
float32 recipe), with exact fractions.Fraction arithmetic and numpy float32 for the steps
NVFP4 defines in float32. It shares nothing with the C++ code. No Python package
implements MX blocks (pip has neither `microxcaling` nor `mx-formats`; ml_dtypes has
element types only), hence this script.

Run:  python3 gen_block_vectors.py > block_vectors.txt
Output, one case per block of lines (hex codes; float32 as bit patterns):
  case <spec> <rows> <cols>
  in <float32 bits>...
  tensor_scale <float32 bits>
  scales <code>...
  elements <code>...
  values <float32 bits>...
"""
import math
import random
import struct
from fractions import Fraction

import numpy as np


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32(x):
    """Nearest float32 (ties to even), as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


class MiniFloatSet:
    """Finite values of an IEEE-style minifloat with codes. specials: 'fn' (all-ones
    magnitude is NaN), 'ieee' (all-ones exponent is inf/NaN), 'none'."""

    def __init__(self, e, m, specials, signed=True):
        self.e, self.m, self.signed = e, m, signed
        bias = (1 << (e - 1)) - 1
        self.sign_bit = 1 << (e + m) if signed else 0
        self.values = []  # (Fraction magnitude, magnitude code), ascending
        for code in range(1 << (e + m)):
            field, mant = code >> m, code & ((1 << m) - 1)
            if specials == "ieee" and field == (1 << e) - 1:
                continue
            if specials == "fn" and code == (1 << (e + m)) - 1:
                continue
            if field == 0:
                v = Fraction(mant, 1 << m) * Fraction(2) ** (1 - bias)
            else:
                v = (1 + Fraction(mant, 1 << m)) * Fraction(2) ** (field - bias)
            self.values.append((v, code))
        self.max = self.values[-1][0]
        self.emax = math.floor(math.log2(self.max))
        self.nan_code = (1 << (e + m)) - 1 if specials == "fn" else None

    def round_rne(self, v):
        """(value, code) of v rounded to nearest, ties to the even code, saturating."""
        negative = v < 0
        a = -v if negative else v
        best = None
        if a >= self.max:
            best = self.values[-1]
        else:
            for i, (w, code) in enumerate(self.values):
                if w >= a:
                    lo, hi = self.values[i - 1], self.values[i]
                    if w == a:
                        best = hi
                    elif a - lo[0] < hi[0] - a:
                        best = lo
                    elif a - lo[0] > hi[0] - a:
                        best = hi
                    else:
                        best = lo if lo[1] % 2 == 0 else hi
                    break
        value, code = best
        if negative:
            value, code = -value, code | self.sign_bit
        return value, code


class Int8Over64:
    """MXINT8 elements: k / 64, k in [-127, 127], two's complement codes."""

    max = Fraction(127, 64)
    emax = 0

    def round_rne(self, v):
        k = v * 64
        n = math.floor(k)
        r = k - n
        if r > Fraction(1, 2) or (r == Fraction(1, 2) and n % 2 == 1):
            n += 1
        n = max(-127, min(127, n))
        return Fraction(n, 64), n & 0xFF


ELEMENTS = {
    "mxfp8_e5m2": MiniFloatSet(5, 2, "ieee"),
    "mxfp8_e4m3": MiniFloatSet(4, 3, "fn"),
    "mxfp6_e3m2": MiniFloatSet(3, 2, "none"),
    "mxfp6_e2m3": MiniFloatSet(2, 3, "none"),
    "mxfp4": MiniFloatSet(2, 1, "none"),
    "mxint8": Int8Over64(),
}
E2M1 = ELEMENTS["mxfp4"]
E4M3 = MiniFloatSet(4, 3, "fn")


def floor_log2(a):
    """floor(log2(a)) of a positive Fraction, exactly."""
    e = a.numerator.bit_length() - a.denominator.bit_length()
    while Fraction(2) ** e > a:
        e -= 1
    while Fraction(2) ** (e + 1) <= a:
        e += 1
    return e


def mx_case(name, x, rows, cols, block=32):
    elem = ELEMENTS[name]
    scales, elements, values = [], [0] * len(x), [0.0] * len(x)
    for r in range(rows):
        for c0 in range(0, cols, block):
            idx = [r * cols + c for c in range(c0, min(cols, c0 + block))]
            if any(not math.isfinite(x[i]) for i in idx):
                scales.append(0xFF)
                for i in idx:
                    elements[i], values[i] = 0, float("nan")
                continue
            amax = max(abs(Fraction(x[i])) for i in idx)
            e = -127 if amax == 0 else max(-127, min(127, floor_log2(amax) - elem.emax))
            scales.append(e + 127)
            for i in idx:
                q, code = elem.round_rne(Fraction(x[i]) / Fraction(2) ** e)
                # -0 (an input -0, or a negative value rounding to 0) keeps its sign
                # where the element format has a signed zero.
                negative_zero = q == 0 and math.copysign(1, x[i]) < 0 and isinstance(elem, MiniFloatSet)
                elements[i] = code | elem.sign_bit if negative_zero else code
                values[i] = -0.0 if negative_zero else f32(float(q * Fraction(2) ** e))
    return 1.0, scales, elements, values


def nvfp4_case(x, rows, cols, block=16):
    s = np.float32
    finite = [abs(v) for v in x if math.isfinite(v)]
    amax = s(max(finite) if finite else 0.0)
    s_enc = s(1.0) if amax == 0 else min(s(2688.0) / amax, s(np.finfo(np.float32).max))
    t = s_enc * (s(1.0) / s(6.0))
    scales, elements, values = [], [0] * len(x), [0.0] * len(x)
    for r in range(rows):
        for c0 in range(0, cols, block):
            idx = [r * cols + c for c in range(c0, min(cols, c0 + block))]
            if any(not math.isfinite(x[i]) for i in idx):
                scales.append(0x7F)
                for i in idx:
                    elements[i], values[i] = 0, float("nan")
                continue
            bmax = s(max(abs(x[i]) for i in idx))
            stored, code = E4M3.round_rne(Fraction(float(bmax * t)))
            scales.append(code)
            stored = s(float(stored))
            factor = s(0.0) if stored == 0 else s_enc / stored
            for i in idx:
                y = s(x[i]) * factor
                q, ecode = E2M1.round_rne(Fraction(float(y)))
                if q == 0 and math.copysign(1, float(y)) < 0:
                    ecode |= E2M1.sign_bit
                elements[i] = ecode
                v = (s(float(q)) * stored) / s_enc
                values[i] = -0.0 if q == 0 and math.copysign(1, float(y)) < 0 else float(v)
    return float(s_enc), scales, elements, values


def inputs(rng, rows, cols):
    """Normal, heavy-tailed, exact-tie and tiny rows; a NaN block, an Inf block, a zero block."""
    x = []
    for r in range(rows):
        kind = r % 4
        for c in range(cols):
            if kind == 0:
                v = rng.gauss(0, 1)
            elif kind == 1:
                v = rng.gauss(0, 1) / max(1e-3, abs(rng.gauss(0, 1))) ** 1.5
            elif kind == 2:
                v = rng.randint(-24, 24) / 8
            else:
                v = rng.gauss(0, 1) * 2.0 ** rng.randint(-135, 100)
            x.append(f32(v))
    x[3] = float("nan")
    x[cols + 33] = float("inf")
    for c in range(32, 64):
        x[2 * cols + c] = 0.0
    x[2 * cols + 40] = -0.0
    return x


def emit(spec, rows, cols, x, result):
    tensor_scale, scales, elements, values = result
    print(f"case {spec} {rows} {cols}")
    print("in " + " ".join(f"{f32_bits(v):08x}" for v in x))
    print(f"tensor_scale {f32_bits(tensor_scale):08x}")
    print("scales " + " ".join(f"{c:x}" for c in scales))
    print("elements " + " ".join(f"{c:x}" for c in elements))
    print("values " + " ".join(f"{f32_bits(v):08x}" for v in values))


def main():
    rng = random.Random(20261125)
    rows, cols = 8, 72  # 72 = two full blocks of 32 and a short one of 8 (MX); 4.5 of 16 (NVFP4)
    for name in ELEMENTS:
        x = inputs(rng, rows, cols)
        emit(name, rows, cols, x, mx_case(name, x, rows, cols))
    for _ in range(3):
        x = inputs(rng, rows, cols)
        emit("nvfp4", rows, cols, x, nvfp4_case(x, rows, cols))


if __name__ == "__main__":
    main()
