#!/usr/bin/env python3
"""Writes softposit_vectors.txt: SoftPosit (the reference C library, through the
`softposit` PyPI package) as an independent oracle for bitsim's posits and quires.

    python -m venv venv && venv/bin/pip install softposit
    venv/bin/python tests/data/posit/gen_softposit.py

Lines (hex: doubles as float.hex(), codes right-aligned):
    convert N ES X CODE        CODE = round-to-nearest-even posit<N,ES> of the double X
    dot N ES K A1 B1 .. AK BK R   R = quire(sum Ai*Bi) rounded once (SoftPosit quire)
Sizes SoftPosit has: posit8 es0, posit16 es1, posit32 es2 (with quires), posit_2 = posit<N,2>
for any N (conversions and the 32-bit posit_2 quire).
"""
import math
import os
import random

import softposit as sp

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "softposit_vectors.txt")
rng = random.Random(20221)


def fixed(n, es):
    """(double -> code, code -> double) for the SoftPosit types of width n."""
    if (n, es) == (8, 0):
        return (lambda x: sp.posit8(x).v.v), (lambda c: float(sp.posit8(bits=c)))
    if (n, es) == (16, 1):
        return (lambda x: sp.posit16(x).v.v), (lambda c: float(sp.posit16(bits=c)))
    if (n, es) == (32, 2):
        return (lambda x: sp.posit32(x).v.v), (lambda c: float(sp.posit32(bits=c)))
    assert es == 2
    shift = 32 - n
    enc = lambda x: sp.convertDoubleToPX2(x, n).v >> shift

    def dec(c):
        p = sp.posit_2_t()
        p.v = c << shift
        return sp.convertPX2ToDouble(p)

    return enc, dec


def conversion_inputs(n, es, dec, count):
    """Values of codes, arithmetic and geometric midpoints, their neighbours, random doubles."""
    top = (n - 2) << es
    codes = range(1, (1 << (n - 1)) - 1) if n <= 8 else [rng.randrange(1, (1 << (n - 1)) - 1) for _ in range(count // 8)]
    xs = []
    for c in codes:
        a, b = dec(c), dec(c + 1)
        for m in (a, (a + b) / 2, math.sqrt(a * b)):
            xs += [m, math.nextafter(m, 0), math.nextafter(m, math.inf)]
    for _ in range(count // 4):
        xs.append(2.0 ** rng.uniform(-top - 4, top + 4))
    for _ in range(count // 8):
        xs.append(rng.gauss(0, 1))
    xs += [dec((1 << (n - 1)) - 1) * 3, dec(1) / 3, 0.0, 1e-300, 1e300, 5e-324]
    xs = [x if rng.random() < 0.5 else -x for x in xs]
    return xs + [math.nan, math.inf, -math.inf]


def any_real_code(n):
    c = rng.randrange(1 << n)
    return 0 if c == 1 << (n - 1) else c


def quire_case(n, es):
    if (n, es) == (8, 0):
        return sp.quire8, sp.posit8
    if (n, es) == (16, 1):
        return sp.quire16, sp.posit16
    return sp.quire32, sp.posit32


def main():
    lines = ["# SoftPosit %s vectors for bitsim, written by gen_softposit.py; do not edit" % "0.3.4.4"]
    for n, es, count in [(8, 0, 0), (16, 1, 5000), (32, 2, 5000), (5, 2, 0), (10, 2, 1500),
                         (12, 2, 1500), (20, 2, 1500), (31, 2, 1500)]:
        enc, dec = fixed(n, es)
        for x in conversion_inputs(n, es, dec, count):
            lines.append("convert %d %d %s %x" % (n, es, float(x).hex(), enc(x)))
    for n, es in [(8, 0), (16, 1), (32, 2)]:
        quire, posit = quire_case(n, es)
        for trial in range(400):
            k = rng.randint(1, 16)
            q = quire()
            codes = []
            for _ in range(k):
                if trial % 2:  # any code but NaR: wide dynamic range
                    a, b = (posit(bits=any_real_code(n)) for _ in range(2))
                else:
                    a, b = posit(rng.gauss(0, 1)), posit(rng.gauss(0, 4))
                q.qma(a, b)
                codes += [a.v.v, b.v.v]
            r = q.toPosit().v.v
            lines.append("dot %d %d %d %s %x" % (n, es, k, " ".join("%x" % c for c in codes), r))
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("wrote", OUT, len(lines), "lines")


if __name__ == "__main__":
    main()
