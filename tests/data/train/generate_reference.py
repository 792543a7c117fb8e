#!/usr/bin/env python3
"""Writes the PyTorch reference tensors the C++ training tests compare against.

    python3 tests/data/train/generate_reference.py      (needs Debian's python3-torch)

kernels.json: float64 forward outputs and gradients of RMSNorm, SwiGLU, RoPE (half-split,
position offset), grouped-query causal attention (queries after cached keys) and
LayerNorm + tanh-GELU, each for fixed inputs and a fixed upstream gradient `dy`.
gpt.json: a tiny GPT-2 (vocab 32, context 8, d 8, 2 layers, 2 heads) in the Hugging Face
layout (Conv1D weights [in, out]) with O(1) random weights, a token batch, and the float64
loss and gradient of every parameter. The tests read these files; they never run Python.
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.manual_seed(0)
D64 = torch.float64
HERE = os.path.dirname(os.path.abspath(__file__))


def flat(t):
    return {"shape": list(t.shape), "values": [float(v) for v in t.detach().reshape(-1)]}


def leaf(*shape, scale=1.0):
    return (torch.randn(*shape, dtype=D64) * scale).requires_grad_(True)


def grads(out, inputs):
    dy = torch.randn_like(out)
    g = torch.autograd.grad(out, inputs, dy)
    return dy, g


def kernels():
    res = {}
    # RMSNorm, eps 1e-5
    x, g = leaf(3, 8), leaf(8)
    y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + 1e-5) * g
    dy, (dx, dg) = grads(y, (x, g))
    res["rms_norm"] = {"x": flat(x), "gamma": flat(g), "y": flat(y), "dy": flat(dy), "dx": flat(dx), "dgamma": flat(dg)}
    # LayerNorm then tanh GELU
    x, g, b = leaf(4, 6), leaf(6), leaf(6)
    y = F.gelu(F.layer_norm(x, (6,), g, b, 1e-5), approximate="tanh")
    dy, (dx, dg, db) = grads(y, (x, g, b))
    res["layer_norm_gelu"] = {"x": flat(x), "gamma": flat(g), "beta": flat(b), "y": flat(y), "dy": flat(dy),
                              "dx": flat(dx), "dgamma": flat(dg), "dbeta": flat(db)}
    # SwiGLU
    gate, up = leaf(5, 7, scale=2.0), leaf(5, 7)
    y = F.silu(gate) * up
    dy, (dg, du) = grads(y, (gate, up))
    res["swiglu"] = {"gate": flat(gate), "up": flat(up), "y": flat(y), "dy": flat(dy), "dgate": flat(dg), "dup": flat(du)}
    # RoPE, half-split (rotate_half), all dims, base 10000, positions 3..7
    x = leaf(2, 5, 8)
    pos = torch.arange(3, 8, dtype=D64)[:, None]
    inv = 10000.0 ** (-torch.arange(0, 8, 2, dtype=D64) / 8)
    ang = torch.cat([pos * inv, pos * inv], -1)
    rot = torch.cat([-x[..., 4:], x[..., :4]], -1)
    y = x * torch.cos(ang) + rot * torch.sin(ang)
    dy, (dx,) = grads(y, (x,))
    res["rope"] = {"x": flat(x), "position_offset": 3, "y": flat(y), "dy": flat(dy), "dx": flat(dx)}
    # Attention: 4 query heads on 2 kv heads, 3 queries after 2 cached keys, causal
    q, k, v = leaf(4, 3, 4), leaf(2, 5, 4), leaf(2, 5, 3)
    kk, vv = k.repeat_interleave(2, 0), v.repeat_interleave(2, 0)
    s = q @ kk.transpose(1, 2) / math.sqrt(4)
    mask = torch.arange(5)[None, :] > (torch.arange(3)[:, None] + 2)
    p = torch.softmax(s.masked_fill(mask, float("-inf")), -1)
    y = p @ vv
    dy, (dq, dk, dv) = grads(y, (q, k, v))
    res["attention"] = {"q": flat(q), "k": flat(k), "v": flat(v), "y": flat(y), "dy": flat(dy),
                        "dq": flat(dq), "dk": flat(dk), "dv": flat(dv)}
    return res


def gpt():
    V, P, D, L, H = 32, 8, 8, 2, 2
    hd = D // H
    p = {"wte.weight": leaf(V, D, scale=0.5), "wpe.weight": leaf(P, D, scale=0.5)}
    for l in range(L):
        h = f"h.{l}."
        for ln in ("ln_1", "ln_2"):
            p[h + ln + ".weight"] = (1 + 0.2 * torch.randn(D, dtype=D64)).requires_grad_(True)
            p[h + ln + ".bias"] = leaf(D, scale=0.2)
        for name, (i, o) in {"attn.c_attn": (D, 3 * D), "attn.c_proj": (D, D), "mlp.c_fc": (D, 4 * D),
                             "mlp.c_proj": (4 * D, D)}.items():
            p[h + name + ".weight"] = leaf(i, o, scale=0.5)
            p[h + name + ".bias"] = leaf(o, scale=0.2)
    p["ln_f.weight"] = (1 + 0.2 * torch.randn(D, dtype=D64)).requires_grad_(True)
    p["ln_f.bias"] = leaf(D, scale=0.2)
    B, T = 2, 7
    tokens = torch.randint(0, V, (B, T + 1))
    inp, tgt = tokens[:, :-1], tokens[:, 1:]
    x = p["wte.weight"][inp] + p["wpe.weight"][:T]
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), 1)
    for l in range(L):
        h = f"h.{l}."
        a = F.layer_norm(x, (D,), p[h + "ln_1.weight"], p[h + "ln_1.bias"], 1e-5)
        qkv = a @ p[h + "attn.c_attn.weight"] + p[h + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(D, -1))
        s = (q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(causal, float("-inf"))
        o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + o @ p[h + "attn.c_proj.weight"] + p[h + "attn.c_proj.bias"]
        m = F.layer_norm(x, (D,), p[h + "ln_2.weight"], p[h + "ln_2.bias"], 1e-5)
        f = F.gelu(m @ p[h + "mlp.c_fc.weight"] + p[h + "mlp.c_fc.bias"], approximate="tanh")
        x = x + f @ p[h + "mlp.c_proj.weight"] + p[h + "mlp.c_proj.bias"]
    hf = F.layer_norm(x, (D,), p["ln_f.weight"], p["ln_f.bias"], 1e-5)
    logits = hf @ p["wte.weight"].T
    loss = F.cross_entropy(logits.reshape(-1, V), tgt.reshape(-1))
    loss.backward()
    return {"config": {"vocab": V, "context": P, "d_model": D, "layers": L, "heads": H},
            "tokens": [int(t) for t in tokens.reshape(-1)], "batch": B, "loss": float(loss),
            "parameters": {n: flat(t) for n, t in p.items()}, "gradients": {n: flat(t.grad) for n, t in p.items()},
            "torch_version": torch.__version__}


for name, data in (("kernels.json", kernels()), ("gpt.json", gpt())):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(data, f, separators=(",", ":"))
    print("wrote", os.path.join(HERE, name))
