#!/usr/bin/env python3
"""PyTorch (CPU) timings for the same kernels and shapes as `swapscript bench ops`.

Run side by side:  tools/bench-ops.sh   (or: python3 tools/reference/bench_ops_torch.py --threads 2)
"""
import argparse
import time
import torch
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--threads", type=int, default=None)
parser.add_argument("--repeats", type=int, default=5)
args = parser.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)


def best(fn):
    fn()
    fastest = float("inf")
    for _ in range(max(1, args.repeats)):
        start = time.perf_counter()
        fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest


rows = []
def row(name, gflop, seconds, peak):
    rate = gflop / seconds
    frac = f"{100 * rate / peak:5.1f}% of sgemm" if peak else "     (reference)"
    print(f"{name:<48} {seconds * 1e3:9.2f} ms {rate:8.1f} GFLOP/s  {frac}")


print(f"torch {torch.__version__} bench ops  threads={torch.get_num_threads()}  repeats={args.repeats} (best of)")
print("-" * 92)
with torch.no_grad():
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    t = best(lambda: a @ b)
    peak = 2 * n ** 3 / 1e9 / t
    row("sgemm 2048x2048x2048", 2 * n ** 3 / 1e9, t, None)
    w, cols = torch.randn(320, 2880), torch.randn(2880, 4096)
    conv_gflop = 2 * 320 * 2880 * 4096 / 1e9
    row("sgemm 320x2880 · 2880x4096 (conv's GEMM)", conv_gflop, best(lambda: w @ cols), peak)
    x, k, bias = torch.randn(1, 320, 64, 64), torch.randn(320, 320, 3, 3) * 0.02, torch.randn(320)
    row("conv2d 3x3 320→320 on 1x320x64x64", conv_gflop, best(lambda: F.conv2d(x, k, bias, padding=1)), peak)
    x2 = torch.randn(2, 320, 64, 64)
    row("conv2d 3x3 320→320 on 2x320x64x64 (CFG batch)", 2 * conv_gflop, best(lambda: F.conv2d(x2, k, bias, padding=1)), peak)
    x3, k3 = torch.randn(1, 1280, 8, 8), torch.randn(1280, 1280, 3, 3) * 0.01
    row("conv2d 3x3 1280→1280 on 1x1280x8x8", 2 * 1280 * 1280 * 9 * 64 / 1e9, best(lambda: F.conv2d(x3, k3, padding=1)), peak)
    q, kk, v = (torch.randn(1, 8, 4096, 40) for _ in range(3))
    att_gflop = 8 * 2 * 2 * 4096 * 4096 * 40 / 1e9
    row("self-attention 8 heads x 4096 tokens, d=40 (SDPA)", att_gflop,
        best(lambda: F.scaled_dot_product_attention(q, kk, v)), peak)
    def explicit():  # the classic AttnProcessor path: materialises all heads' probabilities
        p = torch.softmax(q @ kk.transpose(-1, -2) * 40 ** -0.5, dim=-1)
        return p @ v
    row("self-attention, explicit softmax (AttnProcessor)", att_gflop, best(explicit), peak)
    kc, vc = torch.randn(1, 8, 77, 40), torch.randn(1, 8, 77, 40)
    row("cross-attention 8 heads x 4096 → 77, d=40 (SDPA)", 8 * 2 * 2 * 4096 * 77 * 40 / 1e9,
        best(lambda: F.scaled_dot_product_attention(q, kc, vc)), peak)
print("-" * 92)
