#!/usr/bin/env python3
"""An independent float64 forward pass of all-MiniLM-L6-v2 (numpy only, the weights read
straight from model.safetensors), the reference bitsim's BERT engine is checked against.

Writes minilm_reference.json: for each of 8 sentences (four pairs of paraphrases, so that
nearest-neighbour retrieval has a right answer), the token ids from Hugging Face
`tokenizers` with the model's own tokenizer.json, and the sentence embedding as
sentence-transformers computes it: BertModel's last hidden state, mean pooling over the
tokens, L2 normalisation.

Architecture (config.json, BertModel): embeddings = LayerNorm(word + position + token
type 0); 6 post-LayerNorm blocks of 12-head bidirectional self-attention and a GELU (erf)
MLP; LayerNorm eps 1e-12. Every operation here runs in float64 from the float32 weights.

  pip install numpy tokenizers && scripts/fetch-models.sh &&
  python3 tests/data/models/gen_minilm_reference.py
"""
import json
import math
import pathlib
import struct

import numpy as np
from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parents[3]
MODEL = ROOT / "models/pretrained/all-minilm-l6-v2"

SENTENCES = [
    "A man is playing a guitar on the stage.",
    "Someone performs music with a guitar in front of an audience.",
    "The cat sleeps on the warm windowsill.",
    "A kitten is napping in the sun by the window.",
    "Interest rates were raised by the central bank.",
    "The bank increased the cost of borrowing money.",
    "Mr. Darcy's pride offended Elizabeth at the ball.",
    "At the dance, Elizabeth was insulted by Darcy's arrogance.",
]


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        out[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


def layer_norm(x, w, b, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def embed(w, cfg, ids):
    eps = cfg["layer_norm_eps"]
    heads = cfg["num_attention_heads"]
    t = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t]
    x = x + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    d = x.shape[1]
    hd = d // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}."
        lin = lambda a, name: a @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q = lin(x, "attention.self.query").reshape(t, heads, hd).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(t, heads, hd).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(t, heads, hd).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        s = np.exp(s - s.max(axis=-1, keepdims=True))
        s = s / s.sum(axis=-1, keepdims=True)
        o = (s @ v).transpose(1, 0, 2).reshape(t, d)
        x = layer_norm(x + lin(o, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        m = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(x + lin(m, "output.dense"), w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], eps)
    e = x.mean(axis=0)
    return e / max(np.linalg.norm(e), 1e-12)


def main():
    w = read_safetensors(MODEL / "model.safetensors")
    cfg = json.loads((MODEL / "config.json").read_text())
    tok = Tokenizer.from_file(str(MODEL / "tokenizer.json"))
    tok.no_padding()
    tok.no_truncation()
    cases = []
    for s in SENTENCES:
        ids = tok.encode(s).ids
        e = embed(w, cfg, ids)
        cases.append({"text": s, "ids": ids, "embedding": [float(f"{v:.12e}") for v in e]})
    out = {"model": "all-MiniLM-L6-v2", "generator": "tests/data/models/gen_minilm_reference.py", "sentences": cases}
    path = pathlib.Path(__file__).with_name("minilm_reference.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print("wrote", path)
    for i, c in enumerate(cases):
        sims = [(float(np.dot(c["embedding"], o["embedding"])), j) for j, o in enumerate(cases) if j != i]
        print(i, len(c["ids"]), "nearest", max(sims)[1])


if __name__ == "__main__":
    main()
