#!/usr/bin/env python3
"""A random-weight UNet of full Stable Diffusion 1.5 size, in diffusers layout, for benchmarks.

Writes DIR/config.json and DIR/diffusion_pytorch_model.safetensors (fp32, about 3.4 GB,
859,520,964 parameters) for the SD 1.5 UNet configuration: block_out_channels
(320, 640, 1280, 1280), layers_per_block 2, attention_head_dim 8 (the head count),
cross_attention_dim 768, sample_size 64, conv proj_in/proj_out. The weights are diffusers'
default initialisation under torch.manual_seed(0): nothing is downloaded, nothing is trained.
The output is never committed (the default folder, .build-sd15/unet, is git-ignored).

Versions used: torch 2.13.0+cpu, diffusers 0.42.1.
Run from the repository root:  python3 tools/reference/make_sd15_random_unet.py [--out DIR]
"""
import argparse
import os

import torch
from diffusers import UNet2DConditionModel

SD15 = dict(sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
            block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
            cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(".build-sd15", "unet"))
    args = parser.parse_args()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**SD15).eval()
    unet.save_pretrained(args.out, safe_serialization=True)
    params = sum(p.numel() for p in unet.parameters())
    print(f"wrote {args.out}: {params:,} parameters, {4 * params / 2**30:.2f} GiB fp32")


if __name__ == "__main__":
    main()
