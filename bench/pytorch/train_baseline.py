#!/usr/bin/python3
"""PyTorch baseline for bitsim's training speed (bench/pytorch/train_vs_pytorch.sh).

Trains the same tiny GPT as `bitsim train` (GPT-2 layout: learned positions, pre-LN
blocks, causal attention, tanh-GELU MLP 4d, tied head; byte vocabulary 256) with AdamW
(0.9, 0.95, weight decay 0.1) on random windows of the same corpus, and prints the
training throughput in tokens/s, timed over the steps after the first few (warm-up).

    /usr/bin/python3 train_baseline.py --data DIR --steps 200 --d-model 64 --layers 2 \
        --heads 4 --seq 64 --batch 8 --threads 1 --emulate fp32|bf16

--emulate bf16 is what Python emulation of a low-precision recipe usually looks like: every
linear layer's operands are rounded to bfloat16 (x.to(bfloat16).to(float32)) before an
FP32 matmul, forward and backward (a straight-through cast). Needs Debian's python3-torch.
"""
import argparse
import glob
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RoundBf16(torch.autograd.Function):
    """Rounds to bfloat16 in the forward pass and rounds the incoming gradient too, as an
    emulated bf16 GEMM sees both its operands in bf16."""

    @staticmethod
    def forward(ctx, x):
        return x.to(torch.bfloat16).to(torch.float32)

    @staticmethod
    def backward(ctx, g):
        return g.to(torch.bfloat16).to(torch.float32)


class Linear(nn.Linear):
    emulate = "fp32"

    def forward(self, x):
        if Linear.emulate == "bf16":
            return F.linear(RoundBf16.apply(x), RoundBf16.apply(self.weight), self.bias)
        return super().forward(x)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn, self.proj = Linear(d, 3 * d), Linear(d, d)
        self.fc, self.out = Linear(d, 4 * d), Linear(4 * d, d)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.attn(self.ln_1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(d // self.heads)
        mask = torch.ones(t, t, dtype=torch.bool).tril()
        y = scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
        return x + self.out(F.gelu(self.fc(self.ln_2(x)), approximate="tanh"))


class Gpt(nn.Module):
    def __init__(self, d, layers, heads, seq):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(256, d), nn.Embedding(seq, d)
        self.blocks = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, idx):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        return self.ln_f(x) @ self.wte.weight.t()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    for name, default in [("steps", 200), ("d-model", 64), ("layers", 2), ("heads", 4), ("seq", 64), ("batch", 8),
                          ("threads", 1), ("warm", 10)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--emulate", choices=["fp32", "bf16"], default="fp32")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    Linear.emulate = a.emulate
    text = b"".join(open(f, "rb").read() for f in sorted(glob.glob(os.path.join(a.data, "*.txt"))))
    data = torch.tensor(list(text[: int(len(text) * 0.9)]), dtype=torch.long)
    model = Gpt(a.d_model, a.layers, a.heads, a.seq)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    for step in range(a.steps):
        if step == a.warm:
            start = time.perf_counter()
        starts = torch.randint(0, len(data) - a.seq - 1, (a.batch,))
        x = torch.stack([data[s : s + a.seq] for s in starts])
        y = torch.stack([data[s + 1 : s + a.seq + 1] for s in starts])
        loss = F.cross_entropy(model(x).view(-1, 256), y.view(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    secs = time.perf_counter() - start
    print(f"{(a.steps - a.warm) * a.batch * a.seq / secs:.0f} tokens/s (final train loss {loss.item():.4f})")


if __name__ == "__main__":
    main()
