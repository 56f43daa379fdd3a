#!/usr/bin/env python3
"""Reference fixtures for `load_512` (SwapIO Image.squareCropped).

The function below is google/prompt-to-prompt null_text_w_ptp.ipynb `load_512` as written (margin
clamps included, `top` clamped with `left`), with the output side a parameter instead of 512.
Source images: a 37x23 RGB and a 20x31 RGBA PNG of seeded random noise plus gradients. Outputs
(PNG, 8-bit RGB) for several margin settings and sides; names are
<source>_l<left>_r<right>_t<top>_b<bottom>_s<size>.png.

Versions used: Pillow 13.0.0, numpy. Run from the repository root:
    python3 tools/reference/make_load512_fixtures.py
Writes Tests/SwapIOTests/Fixtures/load512/.
"""
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapIOTests", "Fixtures", "load512")


def load_512(image_path, left=0, right=0, top=0, bottom=0, size=512):
    image = np.array(Image.open(image_path))[:, :, :3]
    h, w, c = image.shape
    left = min(left, w - 1)
    right = min(right, w - left - 1)
    top = min(top, h - left - 1)
    bottom = min(bottom, h - top - 1)
    image = image[top:h - bottom, left:w - right]
    h, w, c = image.shape
    if h < w:
        offset = (w - h) // 2
        image = image[:, offset:offset + h]
    elif w < h:
        offset = (h - w) // 2
        image = image[offset:offset + w]
    return np.array(Image.fromarray(image).resize((size, size)))


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(7)
    for name, (h, w, c) in (("wide", (23, 37, 3)), ("tall", (31, 20, 4))):
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([x * 255 / w, y * 255 / h, (x + y) * 127 / (w + h)] + ([np.full((h, w), 200)] if c == 4 else []), -1)
        pixels = np.clip(base + rng.integers(-40, 40, (h, w, c)), 0, 255).astype(np.uint8)
        path = os.path.join(OUT, f"{name}.png")
        Image.fromarray(pixels).save(path)
        for left, right, top, bottom, size in ((0, 0, 0, 0, 16), (0, 0, 0, 0, 48), (3, 5, 2, 1, 24), (2, 0, 6, 4, 20)):
            out = load_512(path, left, right, top, bottom, size)
            Image.fromarray(out).save(os.path.join(OUT, f"{name}_l{left}_r{right}_t{top}_b{bottom}_s{size}.png"))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
