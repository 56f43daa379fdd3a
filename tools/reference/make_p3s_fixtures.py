"""Reference values for P3S-Diffusion's mask pieces and losses (spec clic-p3s-metrics.md §4).

Writes Tests/SwapEditingTests/Fixtures/p3s_reference.json:
  - otsu:   skimage.filters.threshold_otsu on float arrays (nbins 256 and 32) and on histograms
            given as (counts, centers), the latter with empty end bins;
  - gauss:  scipy.ndimage.gaussian_filter(mode="reflect") with several sigma / truncate values,
            including a kernel wider than the grid (repeated reflection);
  - label:  scipy.ndimage.label with the default cross (4-connectivity) and a 3x3 block (8);
  - lac:    the attention consistency loss (paper eqs 11-12, "paper" and "none") and its
            gradients, by torch autograd.
Inputs are float32-representable values stored as float64, so both sides see the same numbers.

Run: python3 tools/reference/make_p3s_fixtures.py  (numpy 2.4.6, scipy 1.17.1,
scikit-image 0.26.0, torch 2.13.0+cpu)
"""
import json
import os

import numpy as np
import scipy
import scipy.ndimage as ndi
import skimage
import torch
from skimage.filters import threshold_otsu

rng = np.random.default_rng(20261124)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def flat(a):
    return [float(x) for x in np.asarray(a).reshape(-1)]


otsu = []
# Bimodal samples of different balance and spread; a similarity-map-like array with negatives.
for n, (m1, m2, s1, s2, w) in enumerate([(0.2, 0.7, 0.05, 0.1, 0.5), (-0.3, 0.6, 0.2, 0.05, 0.8),
                                          (0.0, 1.0, 0.3, 0.3, 0.3), (0.45, 0.55, 0.02, 0.02, 0.6)]):
    count = 400 + 150 * n
    k = int(count * w)
    values = f32(np.concatenate([rng.normal(m1, s1, k), rng.normal(m2, s2, count - k)]))
    otsu.append({"values": flat(values), "bins": [256, 32],
                 "thresholds": [float(threshold_otsu(values, nbins=nbins)) for nbins in (256, 32)]})
histograms = []
for n in range(3):
    counts = rng.integers(0, 50, 40).astype(np.float64)
    counts[:3 + n] = 0
    counts[-2:] = 0
    counts[20:24] = 0
    centers = f32(np.sort(rng.uniform(-1, 2, 40)))
    histograms.append({"counts": flat(counts), "centers": flat(centers),
                       "threshold": float(threshold_otsu(hist=(counts, centers)))})

gauss = []
grid = f32(rng.uniform(-1, 1, (9, 12)))
for sigma, truncate in [(0.7, 4.0), (1.5, 4.0), (4.0, 4.0), (2.0, 2.0)]:
    out = ndi.gaussian_filter(grid, sigma=sigma, mode="reflect", truncate=truncate)
    gauss.append({"height": 9, "width": 12, "sigma": sigma, "truncate": truncate,
                  "input": flat(grid), "output": flat(out)})

label = []
binary = rng.uniform(0, 1, (10, 13)) > 0.55
for connectivity, structure in [(4, None), (8, np.ones((3, 3), dtype=int))]:
    labels, count = ndi.label(binary, structure=structure)
    label.append({"height": 10, "width": 13, "connectivity": connectivity, "mask": [int(b) for b in binary.reshape(-1)],
                  "labels": [int(x) for x in labels.reshape(-1)], "count": int(count)})

lac = []
a = f32(rng.uniform(0, 1, (2, 16, 5)))
b = f32(rng.uniform(0, 1, (2, 16, 5)))
for normalization in ("paper", "none"):
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    loss = torch.nn.functional.mse_loss(ta, tb)
    if normalization == "paper":
        loss = loss / ((ta.sum() + tb.sum()) / 2)
    loss.backward()
    lac.append({"shape": list(a.shape), "a": flat(a), "b": flat(b), "normalization": normalization,
                "loss": float(loss.detach()), "grad_a": flat(ta.grad), "grad_b": flat(tb.grad)})

out = {"script": "tools/reference/make_p3s_fixtures.py",
       "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-image": skimage.__version__,
                    "torch": torch.__version__},
       "otsu": otsu, "otsu_histograms": histograms, "gauss": gauss, "label": label, "lac": lac}
path = os.path.join(os.path.dirname(__file__), "../../Tests/SwapEditingTests/Fixtures/p3s_reference.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")
