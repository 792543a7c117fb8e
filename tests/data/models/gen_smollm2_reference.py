#!/usr/bin/env python3
"""An independent float64 forward pass of SmolLM2-135M-Instruct (numpy + the `gguf`
package's own dequantizers), the reference bitsim's Llama-style engine is checked against.

Writes smollm2_reference.json: the token ids of a fixed slice of Pride and Prejudice
(tokenized by Hugging Face `tokenizers` as in ../tokenizers/gen_tokenizer_vectors.py), and
per position the log-sum-exp of the logits, the logit of the next token, and the 8 largest
logits with their ids; plus, for the loader, exact samples of dequantized tensors.

Architecture facts from the GGUF metadata (see ../../../models/README.md): RMSNorm
(eps from the file), RoPE on adjacent pairs (2i, 2i+1) — the Q/K weights in GGUF are
permuted for llama.cpp's "normal" RoPE — base 1e5, grouped-query attention (9 query heads,
3 KV heads, head h reads KV head h // 3), SwiGLU MLP, output tied to the token embedding.

  pip install gguf tokenizers numpy && scripts/fetch-models.sh &&
  python3 tests/data/models/gen_smollm2_reference.py
"""
import json
import pathlib

import gguf
import numpy as np
from gguf import quants
from tokenizers import Tokenizer, models, pre_tokenizers

ROOT = pathlib.Path(__file__).resolve().parents[3]
GGUF = ROOT / "models/pretrained/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
TEXT = ROOT / "models/pretrained/texts/janeausten/prideprejudice.txt"
TOKENS = 48


def field(reader, key):
    return reader.fields[key].contents()


def main():
    reader = gguf.GGUFReader(str(GGUF))
    tensors = {t.name: t for t in reader.tensors}

    def weight(name):
        t = tensors[name]
        return quants.dequantize(t.data, t.tensor_type).astype(np.float32)

    vocab = {tok: i for i, tok in enumerate(field(reader, "tokenizer.ggml.tokens"))}
    merges = [tuple(m.split(" ", 1)) for m in field(reader, "tokenizer.ggml.merges")]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    text = TEXT.read_text()
    start = text.index("It is a truth universally acknowledged")
    ids = tok.encode(text[start:start + 1000], add_special_tokens=False).ids[:TOKENS]

    n_layer = field(reader, "llama.block_count")
    n_head = field(reader, "llama.attention.head_count")
    n_kv = field(reader, "llama.attention.head_count_kv")
    eps = float(field(reader, "llama.attention.layer_norm_rms_epsilon"))
    base = float(field(reader, "llama.rope.freq_base"))
    d = field(reader, "llama.embedding_length")
    hd = d // n_head

    embedding = weight("token_embd.weight").astype(np.float64)
    x = embedding[ids]
    T = len(ids)

    def rms_norm(v, g):
        return v / np.sqrt(np.mean(v * v, axis=-1, keepdims=True) + eps) * g

    pos = np.arange(T)[:, None]
    theta = base ** (-np.arange(0, hd, 2) / hd)
    angle = pos * theta[None, :]
    cos, sin = np.cos(angle), np.sin(angle)

    def rope(v):  # v: [T, heads, hd]; rotate adjacent pairs
        even, odd = v[..., 0::2], v[..., 1::2]
        out = np.empty_like(v)
        out[..., 0::2] = even * cos[:, None, :] - odd * sin[:, None, :]
        out[..., 1::2] = even * sin[:, None, :] + odd * cos[:, None, :]
        return out

    mask = np.triu(np.full((T, T), -np.inf), 1)
    for layer in range(n_layer):
        p = f"blk.{layer}."
        h = rms_norm(x, weight(p + "attn_norm.weight"))
        q = rope((h @ weight(p + "attn_q.weight").T).reshape(T, n_head, hd))
        k = rope((h @ weight(p + "attn_k.weight").T).reshape(T, n_kv, hd))
        v = (h @ weight(p + "attn_v.weight").T).reshape(T, n_kv, hd)
        out = np.empty((T, n_head, hd))
        for head in range(n_head):
            kv = head // (n_head // n_kv)
            scores = q[:, head] @ k[:, kv].T / np.sqrt(hd) + mask
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            out[:, head] = (scores / scores.sum(axis=1, keepdims=True)) @ v[:, kv]
        x = x + out.reshape(T, d) @ weight(p + "attn_output.weight").T
        h = rms_norm(x, weight(p + "ffn_norm.weight"))
        gate = h @ weight(p + "ffn_gate.weight").T
        up = h @ weight(p + "ffn_up.weight").T
        x = x + (gate / (1 + np.exp(-gate)) * up) @ weight(p + "ffn_down.weight").T
    logits = rms_norm(x, weight("output_norm.weight")) @ embedding.T

    peak = logits.max(axis=1, keepdims=True)
    lse = (peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1)))
    positions = []
    for t in range(T):
        top = np.argsort(-logits[t])[:8]
        positions.append({
            "logsumexp": float(lse[t]),
            "next_logit": float(logits[t, ids[t + 1]]) if t + 1 < T else None,
            "top": [[int(i), float(logits[t, i])] for i in top],
        })
    nll = [lse[t] - logits[t, ids[t + 1]] for t in range(T - 1)]

    # Exact dequantized samples for the loader test: first 64 values of rows 0 and 100.
    samples = {}
    for name in ["token_embd.weight", "blk.0.attn_q.weight", "blk.29.ffn_down.weight", "blk.7.attn_norm.weight"]:
        w = weight(name)
        rows = [0, 100] if w.ndim == 2 else [None]
        samples[name] = {
            "shape": list(w.shape),
            "rows": {str(r): [float(v) for v in (w[r, :64] if r is not None else w[:64])] for r in rows},
            "sum": float(w.astype(np.float64).sum()),
        }

    out = {
        "model": GGUF.name, "text_source": "prideprejudice.txt from 'It is a truth universally acknowledged'",
        "ids": ids, "positions": positions, "mean_nll": float(np.mean(nll)),
        "perplexity": float(np.exp(np.mean(nll))), "dequantized": samples,
    }
    path = pathlib.Path(__file__).with_name("smollm2_reference.json")
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {path}: {T} tokens, perplexity {out['perplexity']:.3f}")
    print("greedy next tokens:", [p["top"][0][0] for p in positions][:16])


if __name__ == "__main__":
    main()
