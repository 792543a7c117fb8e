#!/usr/bin/env python3
"""Extracts character vectors from an R lazy-load database (an R package's data/Rdata.rdb
+ Rdata.rdx) as plain text, one element per line, without R.

Format (R Internals, "Lazy loading" and "Serialization formats"): the .rdx file is a
gzip-compressed serialization of list(variables = list(NAME = c(offset, length)), ...);
each object is `length` bytes at `offset` in the .rdb: a 4-byte big-endian uncompressed
size, then the compressed serialization (zlib; or a type byte '2' = bzip2, 'Z' = xz, '0' =
none, followed by the data). Serializations used here are XDR ("X\\n"), format 2 or 3.

  python3 scripts/extract_rdata_text.py DATA_DIR OUT_DIR [NAME ...]
"""
import bz2
import gzip
import lzma
import pathlib
import struct
import sys
import zlib


class Reader:
    def __init__(self, data):
        self.data, self.pos, self.refs = data, 0, []

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated R serialization")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def header(self):
        if self.take(2) != b"X\n":
            raise ValueError("not an XDR R serialization")
        version = self.int()
        self.int()  # R version that wrote it
        self.int()  # minimal R version to read it
        if version == 3:
            self.take(self.int())  # native encoding name

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind == 254:  # NILVALUE
            return None
        if kind in (242, 251, 252, 253):  # empty env, missing arg, base env, global env
            return None
        if kind == 255:  # reference to an earlier symbol/environment
            return self.refs[(flags >> 8) - 1]
        if kind == 1:  # SYMSXP: a CHARSXP follows
            name = self.item()
            self.refs.append(name)
            return name
        if kind == 9:  # CHARSXP
            n = self.int()
            return None if n == -1 else self.take(n).decode("utf-8", "replace")
        if kind in (2, 6):  # LISTSXP (pairlist), LANGSXP
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            head = self.item()
            tail = self.item()
            out = [(tag, head)]
            if isinstance(tail, list):
                out.extend(tail)
            return out
        if kind in (16, 19, 20):  # STRSXP, VECSXP, EXPRSXP
            n = self.int()
            values = [self.item() for _ in range(n)]
        elif kind in (10, 13):  # LGLSXP, INTSXP
            n = self.int()
            values = list(struct.unpack(f">{n}i", self.take(4 * n)))
        elif kind == 14:  # REALSXP
            n = self.int()
            values = list(struct.unpack(f">{n}d", self.take(8 * n)))
        else:
            raise ValueError(f"unsupported R object type {kind}")
        attributes = dict((t, v) for t, v in self.item()) if has_attr else {}
        names = attributes.get("names")
        return dict(zip(names, values)) if names and kind == 19 else values


def unserialize(data):
    r = Reader(data)
    r.header()
    return r.item()


def fetch(rdb, offset, length):
    blob = rdb[offset:offset + length]
    size = struct.unpack(">I", blob[:4])[0]
    body = blob[4:]
    kind = body[:1]
    if kind == b"2":
        data = bz2.decompress(body[1:])
    elif kind == b"Z":
        data = lzma.decompress(body[1:])
    elif kind == b"0":
        data = body[1:]
    else:
        data = zlib.decompress(body)
    if len(data) != size:
        raise ValueError("object size does not match its header")
    return unserialize(data)


def main():
    data_dir, out_dir, *names = sys.argv[1:]
    data_dir, out_dir = pathlib.Path(data_dir), pathlib.Path(out_dir)
    index = unserialize(gzip.decompress((data_dir / "Rdata.rdx").read_bytes()))
    rdb = (data_dir / "Rdata.rdb").read_bytes()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, (offset, length) in index["variables"].items():
        if names and name not in names:
            continue
        lines = fetch(rdb, int(offset), int(length))
        if not isinstance(lines, list) or not all(isinstance(x, str) or x is None for x in lines):
            continue  # not a character vector
        text = "\n".join(x or "" for x in lines) + "\n"
        (out_dir / f"{name}.txt").write_text(text, encoding="utf-8")
        print(f"{name}: {len(lines)} lines", file=sys.stderr)


if __name__ == "__main__":
    main()
