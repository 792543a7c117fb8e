#!/usr/bin/env python3
"""Writes the small seed files the fuzzers start from (committed in seeds/)."""
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent


def gguf_seed():
    def s(text):
        b = text.encode()
        return struct.pack("<Q", len(b)) + b

    out = b"GGUF" + struct.pack("<IQQ", 3, 3, 3)
    out += s("general.architecture") + struct.pack("<I", 8) + s("llama")
    out += s("general.alignment") + struct.pack("<II", 4, 32)
    out += s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 2) + s("a") + s("b")
    tensors = [("f", [4], 0, struct.pack("<4f", 1, 2, 3, 4)),
               ("q8", [32], 8, struct.pack("<H", 0x3800) + bytes(range(32))),
               ("q41", [32], 3, struct.pack("<HH", 0x3800, 0xBC00) + bytes(range(16)))]
    offset = 0
    data = b""
    for name, ne, t, payload in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", t, offset)
        padded = payload + bytes(-len(payload) % 32)
        data += padded
        offset += len(padded)
    out += bytes(-len(out) % 32)
    return out + data


def safetensors_seed():
    data = struct.pack("<2f", 1.5, -2) + struct.pack("<2H", 0x3C00, 0x7BFF) + bytes([0x7E, 0x01])
    header = {"__metadata__": {"format": "pt"},
              "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [8, 12]},
              "c": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [12, 14]}}
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + data


(HERE / "seeds" / "gguf" / "seed.gguf").write_bytes(gguf_seed())
(HERE / "seeds" / "safetensors" / "seed.safetensors").write_bytes(safetensors_seed())
