#!/usr/bin/env python3
"""Study 3's summary table from a results file of study.yaml or ci.yaml (needs h5py, numpy).

Per precision (the zip group of weights / activations / ...), over its reduction orders:
how many decodings diverge from the FP32 sequential-order reference within N tokens, the
mean and smallest divergence index, the mean agreement and top1_prob_delta, and the spread
of the top-1 probability across orders: at each step i the population standard deviation
of p_top1 over the orders whose context is still the reference's (divergence_index >= i),
averaged over the steps with at least two such orders (as tests/experiments/
research_reduction_order.cpp computes it), plus the largest max - min at a shared step.
Then a per-order table of divergence indices.

  python3 experiments/research/reduction_order/summarize.py reduction_order.h5
"""
import sys

import h5py
import numpy as np

PRECISIONS = {("none", "none"): "FP32", ("bf16", "bf16"): "BF16", ("fp16", "fp16"): "FP16", ("bf16", "none"): "LayerCast"}


def text(column):
    return [v.decode() if isinstance(v, bytes) else str(v) for v in column]


def main(path):
    f = h5py.File(path, "r")
    rows = f["results"][()]
    weights, acts, accum = text(rows["weights"]), text(rows["activations"]), text(rows["accum"])
    div = rows["divergence_index"].astype(float)
    agree, delta = rows["agreement"], rows["top1_prob_delta"]
    probs = f["arrays/top1_prob_per_step"][()]
    steps = probs.shape[1]
    print(f"{path}: {len(rows)} points, N = {steps} generated tokens\n")
    print("| precision | orders | diverged | mean divergence index | min | mean agreement | mean \\|Δp_top1\\| | top-1 prob spread (mean std) | max range |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, name in PRECISIONS.items():
        idx = [i for i in range(len(rows)) if (weights[i], acts[i]) == key]
        if not idx:
            continue
        stds, ranges = [], []
        for s in range(steps):
            p = np.array([probs[i, s] for i in idx if div[i] >= s])
            if len(p) >= 2:
                stds.append(p.std())
                ranges.append(p.max() - p.min())
        diverged = sum(div[i] < steps for i in idx)
        print(f"| {name} | {len(idx)} | {diverged} | {np.mean(div[idx]):.1f} | {int(np.min(div[idx]))} | "
              f"{np.mean(agree[idx]):.3f} | {np.mean(delta[idx]):.2e} | {np.mean(stds) if stds else 0:.2e} | "
              f"{max(ranges) if ranges else 0:.2e} |")
    print("\ndivergence index per order (N = no divergence):\n")
    names = [n for n in PRECISIONS.values()]
    print("| order | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for order in dict.fromkeys(accum):
        cells = []
        for key in PRECISIONS:
            i = [j for j in range(len(rows)) if accum[j] == order and (weights[j], acts[j]) == key]
            cells.append("N" if i and div[i[0]] >= steps else (str(int(div[i[0]])) if i else "-"))
        print(f"| `{order}` | " + " | ".join(cells) + " |")
    seconds = f["environment/seconds"][()]
    print(f"\npoint wall time: total {seconds.sum():.0f} s, mean {seconds.mean():.1f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "reduction_order.h5")
