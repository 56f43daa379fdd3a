#!/usr/bin/env python3
"""PyTorch reference for `swapscript bench unet`: the SD 1.5 UNet forward on the CPU.

Loads a diffusers unet/ folder (e.g. the one tools/reference/make_sd15_random_unet.py writes),
runs the forward at batch 2 (the CFG batch), a 64x64 latent, 77 text tokens, fp32, under
no_grad with torch.set_num_threads(THREADS), once to warm up and then REPEATS timed times, and
prints the best time per forward and the peak RSS (VmHWM) against the fp32 weight bytes.
The inputs are seeded normal noise; the timestep is 981.

Versions used: torch 2.13.0+cpu, diffusers 0.42.1.
Run from the repository root:  python3 tools/reference/bench_unet_torch.py --model DIR
"""
import argparse
import time

import torch
from diffusers import UNet2DConditionModel


def vm_hwm_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--classic", action="store_true", help="use the classic bmm+softmax attention")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    unet = UNet2DConditionModel.from_pretrained(args.model, torch_dtype=torch.float32).eval()
    if args.classic:
        unet.set_default_attn_processor()
    weight_bytes = sum(p.numel() * p.element_size() for p in unet.parameters())
    gen = torch.Generator().manual_seed(0)
    latent = torch.randn((2, 4, 64, 64), generator=gen)
    context = torch.randn((2, 77, unet.config.cross_attention_dim), generator=gen)
    t = torch.tensor(981.0)
    times = []
    with torch.no_grad():
        unet(latent, t, encoder_hidden_states=context)   # warm-up
        for _ in range(args.repeats):
            start = time.perf_counter()
            out = unet(latent, t, encoder_hidden_states=context).sample
            times.append(time.perf_counter() - start)
    rss = vm_hwm_bytes()
    print(f"torch {torch.__version__}  threads={args.threads}  attention={'classic' if args.classic else 'sdpa'}")
    print(f"unet forward [2,4,64,64] x 77 tokens: best {min(times):.3f} s  (all: {', '.join(f'{x:.3f}' for x in times)})")
    print(f"peak RSS {rss / 2**30:.2f} GiB = {rss / weight_bytes:.3f} x fp32 weights ({weight_bytes / 2**30:.2f} GiB)"
          f"  |out| mean {out.abs().mean().item():.4f}")
    print(f"RESULT torch_seconds={min(times):.6f} rss_ratio={rss / weight_bytes:.4f}")


if __name__ == "__main__":
    main()
