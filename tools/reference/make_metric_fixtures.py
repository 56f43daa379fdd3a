"""Reference values for the image metrics (MSE, PSNR, SSIM, background metrics).

Writes Tests/SwapEditingTests/Fixtures/metrics_reference.json. Independent implementations:
- scikit-image (0.26.0): `skimage.metrics.structural_similarity` for the "wang2004"
  (gaussian_weights=True, sigma=1.5, use_sample_covariance=False) and "skimage_default"
  (7x7 uniform, sample covariance) profiles, `peak_signal_noise_ratio`, `mean_squared_error`.
- torchmetrics 1.3.2 ("torchmetrics_pre15": border cropped before the mean) and torchmetrics
  1.9.0 ("torchmetrics15": mean over the full reflect-padded image), both
  `functional.image.structural_similarity_index_measure` on float64 tensors. Install them side
  by side without their dependencies (no torchvision):
      pip install scikit-image
      pip install --no-deps torchmetrics==1.9.0 lightning-utilities
      pip install --no-deps --target /tmp/tm132 torchmetrics==1.3.2
      python3 tools/reference/make_metric_fixtures.py /tmp/tm132
- Background metrics outside a box ("outside": MSE over the pixels outside the box, the SSIM
  map of skimage (full=True) averaged over the valid-region pixels outside the box; "zero_fill":
  both images multiplied by 1 - mask, then full-image metrics).

Pixels are float32 values written exactly (as float64 reprs), so Swift reads the same numbers.
"""
import importlib
import json
import os
import sys

import numpy as np
import torch
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapEditingTests", "Fixtures", "metrics_reference.json")


def torchmetrics_ssim(path):
    """The SSIM function of the torchmetrics installed under `path` (None: the default one)."""
    saved = list(sys.path)
    for name in [m for m in sys.modules if m == "torchmetrics" or m.startswith("torchmetrics.")]:
        del sys.modules[name]
    if path:
        sys.path.insert(0, path)
    tm = importlib.import_module("torchmetrics")
    fn = importlib.import_module("torchmetrics.functional.image").structural_similarity_index_measure
    sys.path[:] = saved
    return tm.__version__, fn


def image_pair(rng, channels, height, width, scale):
    """A smooth image with texture, and a noisy, partly altered copy; float32 in [0, scale]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    planes = []
    for c in range(channels):
        base = 0.5 + 0.3 * np.sin(x / (3.0 + c)) * np.cos(y / (4.0 + c)) + 0.1 * rng.standard_normal((height, width))
        planes.append(base)
    a = np.clip(np.stack(planes), 0, 1)
    b = a + 0.08 * rng.standard_normal(a.shape)
    b[:, height // 4: height // 2, width // 3: width // 2] += 0.3
    b = np.clip(b, 0, 1)
    return (a * scale).astype(np.float32), (b * scale).astype(np.float32)


def skimage_ssim(a, b, rng_, profile, full=False):
    kwargs = dict(data_range=rng_, channel_axis=0 if a.shape[0] > 1 else None, full=full)
    if a.shape[0] == 1:
        a, b = a[0], b[0]
    if profile == "wang2004":
        kwargs.update(gaussian_weights=True, sigma=1.5, use_sample_covariance=False)
    return structural_similarity(a.astype(np.float64), b.astype(np.float64), **kwargs)


def main():
    pre_path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tm132"
    pre_version, ssim_pre = torchmetrics_ssim(pre_path)
    post_version, ssim_post = torchmetrics_ssim(None)
    assert pre_version.startswith("1.3"), pre_version
    rng = np.random.default_rng(2024)
    cases = []
    specs = [("rgb32", 3, 32, 32, 1.0, [8, 10, 20, 22]), ("grey48x40", 1, 48, 40, 1.0, [5, 6, 30, 25]),
             ("grey_uint8_range", 1, 24, 28, 255.0, [0, 0, 12, 9])]
    for name, channels, height, width, data_range, box in specs:
        a, b = image_pair(rng, channels, height, width, data_range)
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        case = {"name": name, "channels": channels, "height": height, "width": width, "data_range": data_range,
                "a": [float(v) for v in a.ravel()], "b": [float(v) for v in b.ravel()]}
        case["mse"] = float(mean_squared_error(a64, b64))
        case["psnr"] = float(peak_signal_noise_ratio(a64, b64, data_range=data_range))
        ssim = {p: float(skimage_ssim(a, b, data_range, p)) for p in ("wang2004", "skimage_default")}
        ta, tb = torch.from_numpy(a64)[None], torch.from_numpy(b64)[None]
        ssim["torchmetrics_pre15"] = float(ssim_pre(ta, tb, data_range=data_range))
        ssim["torchmetrics15"] = float(ssim_post(ta, tb, data_range=data_range))
        case["ssim"] = ssim
        # A few map values of the wang2004 profile (skimage's full map, scipy reflect borders).
        _, smap = skimage_ssim(a, b, data_range, "wang2004", full=True)
        smap = smap.reshape(channels, height, width)  # channel_axis=0 keeps the channels first
        case["wang2004_map_samples"] = [[c, yy, xx, float(smap[c, yy, xx])]
                                        for c, yy, xx in [(0, 0, 0), (0, height // 2, width // 3), (channels - 1, height - 1, width - 2)]]
        # Background metrics outside the box [x0, y0, x1, y1].
        x0, y0, x1, y1 = box
        outside = np.ones((height, width))
        outside[y0:y1, x0:x1] = 0
        sq = ((a64 - b64) ** 2) * outside[None]
        bg_mse = float(sq.sum() / (outside.sum() * channels))
        r = 5
        valid = np.zeros((height, width), bool)
        valid[r:height - r, r:width - r] = True
        sel = valid & (outside > 0)
        bg_ssim = float(np.mean([smap[c][sel].mean() for c in range(channels)]))
        za, zb = a64 * outside[None], b64 * outside[None]
        z_mse = float(mean_squared_error(za, zb))
        case["background"] = {
            "box": box,
            "outside": {"mse": bg_mse, "psnr": float(10 * np.log10(data_range ** 2 / bg_mse)), "ssim": bg_ssim},
            "zero_fill": {"mse": z_mse, "psnr": float(peak_signal_noise_ratio(za, zb, data_range=data_range)),
                          "ssim": float(skimage_ssim(za, zb, data_range, "wang2004"))},
        }
        cases.append(case)
    doc = {"script": "tools/reference/make_metric_fixtures.py",
           "versions": {"scikit-image": __import__("skimage").__version__, "torchmetrics_pre15": pre_version,
                        "torchmetrics15": post_version, "torch": torch.__version__},
           "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f)
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
