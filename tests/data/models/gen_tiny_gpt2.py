#!/usr/bin/env python3
"""A small random GPT-2 checkpoint in Hugging Face's safetensors layout, and its logits from
an independent float64 numpy forward pass: the reference for bitsim's GPT-2 engine (no
GPT-2 weights can be had offline).

Writes tiny_gpt2/model.safetensors — names with the "transformer." prefix as
GPT2LMHeadModel saves them, Conv1D weights [in, out], c_attn's columns q | k | v, output
tied to wte, hyper-parameters in the header's "__metadata__" (no config.json), as bitsim's
trainer writes its checkpoints — tiny_gpt2/reference.json: the token ids and the
float64 logits [T, V] of a prefill — and a byte-level BPE tokenizer for it,
tiny_gpt2/tokenizer.json (75 symbols + 21 merges = the 96 ids, saved by Hugging Face
`tokenizers`), with sample.txt and the ids `tokenizers` gives it (reference.json
"sample_ids"), so that `bitsim model eval tests/data/models/tiny_gpt2 --text
tests/data/models/tiny_gpt2/sample.txt --tokens 24` runs end to end. Then
tiny_gpt2_untied/: one block, an untied lm_head.weight (outside the prefix), erf GELU,
hyper-parameters in config.json, with its own reference.json.

Architecture (GPT-2): x = wte[t] + wpe[pos]; per block, pre-LayerNorm (eps 1e-5):
x += c_proj(attention(c_attn(ln_1(x)))) with causal softmax(q k^T / sqrt(hd)),
x += mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(x)))); logits = ln_f(x) wte^T.

  pip install numpy tokenizers && python3 tests/data/models/gen_tiny_gpt2.py
"""
import json
import math
import pathlib
import struct

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers

VOCAB, D, HEADS, LAYERS, FF, CONTEXT, T = 96, 32, 4, 2, 128, 32, 12
EPS = 1e-5
OUT = pathlib.Path(__file__).with_name("tiny_gpt2")


def make_weights(rng, layers=LAYERS):
    w = {}
    f32 = lambda a: np.asarray(a, dtype=np.float32)
    w["wte.weight"] = f32(rng.normal(0, 0.3, (VOCAB, D)))
    w["wpe.weight"] = f32(rng.normal(0, 0.1, (CONTEXT, D)))
    for i in range(layers):
        p = f"h.{i}."
        w[p + "ln_1.weight"] = f32(1 + rng.normal(0, 0.1, D))
        w[p + "ln_1.bias"] = f32(rng.normal(0, 0.05, D))
        w[p + "attn.c_attn.weight"] = f32(rng.normal(0, 0.3, (D, 3 * D)))
        w[p + "attn.c_attn.bias"] = f32(rng.normal(0, 0.05, 3 * D))
        w[p + "attn.c_proj.weight"] = f32(rng.normal(0, 0.15, (D, D)))
        w[p + "attn.c_proj.bias"] = f32(rng.normal(0, 0.05, D))
        w[p + "ln_2.weight"] = f32(1 + rng.normal(0, 0.1, D))
        w[p + "ln_2.bias"] = f32(rng.normal(0, 0.05, D))
        w[p + "mlp.c_fc.weight"] = f32(rng.normal(0, 0.2, (D, FF)))
        w[p + "mlp.c_fc.bias"] = f32(rng.normal(0, 0.05, FF))
        w[p + "mlp.c_proj.weight"] = f32(rng.normal(0, 0.1, (FF, D)))
        w[p + "mlp.c_proj.bias"] = f32(rng.normal(0, 0.05, D))
    w["ln_f.weight"] = f32(1 + rng.normal(0, 0.1, D))
    w["ln_f.bias"] = f32(rng.normal(0, 0.05, D))
    return w


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].astype("<f4").tobytes()
        # GPT2LMHeadModel's layout: the body under "transformer.", lm_head outside it.
        header[name if name.startswith("lm_head.") else "transformer." + name] = {"dtype": "F32", "shape": list(tensors[name].shape),
                                         "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def layer_norm(x, w, b):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * w + b


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def gelu_erf(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


def forward(w64, ids, layers=LAYERS, gelu=gelu_tanh):
    t = len(ids)
    hd = D // HEADS
    x = w64["wte.weight"][ids] + w64["wpe.weight"][:t]
    mask = np.triu(np.ones((t, t), dtype=bool), 1)
    for i in range(layers):
        p = f"h.{i}."
        h = layer_norm(x, w64[p + "ln_1.weight"], w64[p + "ln_1.bias"])
        qkv = h @ w64[p + "attn.c_attn.weight"] + w64[p + "attn.c_attn.bias"]
        q, k, v = (qkv[:, j * D:(j + 1) * D].reshape(t, HEADS, hd).transpose(1, 0, 2) for j in range(3))
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s[:, mask] = -np.inf
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s /= s.sum(axis=-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(t, D)
        x = x + o @ w64[p + "attn.c_proj.weight"] + w64[p + "attn.c_proj.bias"]
        h = layer_norm(x, w64[p + "ln_2.weight"], w64[p + "ln_2.bias"])
        m = gelu(h @ w64[p + "mlp.c_fc.weight"] + w64[p + "mlp.c_fc.bias"])
        x = x + m @ w64[p + "mlp.c_proj.weight"] + w64[p + "mlp.c_proj.bias"]
    head = w64["lm_head.weight"] if "lm_head.weight" in w64 else w64["wte.weight"]
    return layer_norm(x, w64["ln_f.weight"], w64["ln_f.bias"]) @ head.T


SAMPLE = "The cat and the dog sat in the sun. Then she said: \"What is it?\" He answered, (quietly) 'nothing'.\n"
MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("Ġ", "a"), ("i", "n"), ("e", "r"), ("Ġ", "s"), ("o", "u"),
          ("a", "n"), ("Ġ", "w"), ("o", "n"), ("e", "d"), ("Ġ", "o"), ("r", "e"), ("Ġ", "b"), ("i", "s"),
          ("Ġ", "h"), ("n", "d"), ("Ġa", "nd"), ("Ġ", "m"), ("Ġ", "f")]


def make_tokenizer():
    symbols = ["Ġ", "Ċ"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + \
              [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [str(d) for d in range(10)] + list(".,;:!?'\"-()")
    vocab = {s: i for i, s in enumerate(symbols + [a + b for a, b in MERGES])}
    assert len(vocab) == VOCAB
    tok = Tokenizer(models.BPE(vocab=vocab, merges=MERGES))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    return tok


def main():
    rng = np.random.default_rng(20261130)
    w = make_weights(rng)
    OUT.mkdir(exist_ok=True)
    metadata = {"format": "pt", "architecture": "gpt2", "n_head": str(HEADS), "n_layer": str(LAYERS),
                "layer_norm_epsilon": "1e-05", "activation_function": "gelu_new"}
    write_safetensors(OUT / "model.safetensors", w, metadata)
    ids = [int(v) for v in rng.integers(0, VOCAB, T)]
    logits = forward({k: v.astype(np.float64) for k, v in w.items()}, ids)
    tok = make_tokenizer()
    tok.save(str(OUT / "tokenizer.json"))
    (OUT / "sample.txt").write_text(SAMPLE)
    sample_ids = tok.encode(SAMPLE).ids
    assert tok.decode(sample_ids) == SAMPLE
    ref = {"generator": "tests/data/models/gen_tiny_gpt2.py", "ids": ids, "sample_ids": sample_ids,
           "logits": [[float(f"{v:.12e}") for v in row] for row in logits]}
    (OUT / "reference.json").write_text(json.dumps(ref) + "\n")
    print("wrote", OUT, "logit range", logits.min(), logits.max())

    # A second, one-block checkpoint with an untied lm_head (outside the prefix), erf GELU
    # and its hyper-parameters in config.json: the other branches of the loader.
    untied = OUT.with_name("tiny_gpt2_untied")
    untied.mkdir(exist_ok=True)
    w = make_weights(rng, layers=1)
    w["lm_head.weight"] = np.asarray(rng.normal(0, 0.3, (VOCAB, D)), dtype=np.float32)
    write_safetensors(untied / "model.safetensors", w, {"format": "pt"})
    (untied / "config.json").write_text(json.dumps({"model_type": "gpt2", "n_head": HEADS, "n_layer": 1,
                                                    "layer_norm_epsilon": 1e-5, "activation_function": "gelu"}) + "\n")
    logits = forward({k: v.astype(np.float64) for k, v in w.items()}, ids, layers=1, gelu=gelu_erf)
    ref = {"generator": "tests/data/models/gen_tiny_gpt2.py", "ids": ids,
           "logits": [[float(f"{v:.12e}") for v in row] for row in logits]}
    (untied / "reference.json").write_text(json.dumps(ref) + "\n")
    print("wrote", untied, "logit range", logits.min(), logits.max())


if __name__ == "__main__":
    main()
