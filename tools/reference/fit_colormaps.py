#!/usr/bin/env python3
"""Fits the spline colormaps used by Sources/SwapIO/Colormap.swift and writes a test oracle.

SwapIO does not embed matplotlib's lookup tables. Instead each perceptual map (viridis, inferno,
turbo) is approximated by a uniform cubic B-spline with 16 segments (19 control points per map)
fitted by least squares to the 256 table entries; this script prints the control points as Swift
source to paste into Colormap.swift, with the worst-case error of each fit. (Global polynomials
were tried first; they need degree 12+ with huge coefficients for one 8-bit step of accuracy.) matplotlib is only the fitting target here; it is not needed at run time.

It also writes Tests/SwapIOTests/Fixtures/colormap_reference.json: 17 table entries (t = i / 255)
of each matplotlib map, so the tests can check the fits against the original within 0.01.

Usage: pip install matplotlib numpy; python3 tools/reference/fit_colormaps.py
"""

import json
import os

import numpy as np
from matplotlib import colormaps

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEGMENTS = 16      # uniform cubic B-spline segments on [0, 1]
NAMES = ["viridis", "inferno", "turbo"]


def basis(t, n=SEGMENTS):
    """Uniform cubic B-spline basis: n segments, n + 3 control points. Row k holds the weights
    of the control points at t[k]; segment i is influenced by control points i ... i + 3."""
    s = np.minimum(t * n, n - 1e-12)
    i = np.floor(s).astype(int)
    u = s - i
    weights = [(1 - u) ** 3 / 6, (3 * u ** 3 - 6 * u ** 2 + 4) / 6,
               (-3 * u ** 3 + 3 * u ** 2 + 3 * u + 1) / 6, u ** 3 / 6]
    b = np.zeros((len(t), n + 3))
    for k in range(4):
        b[np.arange(len(t)), i + k] = weights[k]
    return b


def fit(name):
    # The maps are tables of 256 entries sampled at t = i / 255; fit those points
    # (evaluating the map at arbitrary t would return nearest-entry staircases).
    t = np.arange(256) / 255.0
    rgb = colormaps[name](np.arange(256))[:, :3]
    b = basis(t)
    control, *_ = np.linalg.lstsq(b, rgb, rcond=None)
    worst = float(np.max(np.abs(b @ control - rgb)))
    return control, worst


def luminance_is_monotonic(control):
    t = np.linspace(0.0, 1.0, 4096)
    rgb = np.clip(basis(t) @ control, 0, 1)
    lum = 0.2126 * rgb[:, 0] + 0.7152 * rgb[:, 1] + 0.0722 * rgb[:, 2]
    return bool(np.all(np.diff(lum) > 0))


def main():
    for name in NAMES:
        control, worst = fit(name)
        extra = f", luminance monotonic: {luminance_is_monotonic(control)}" if name != "turbo" else ""
        print(f"    // {name}: {SEGMENTS} segments, max abs error {worst:.4f}{extra}")
        print(f"    static let {name}ControlPoints: [SIMD3<Double>] = [")
        for p in control:
            print(f"        [{p[0]:.5f}, {p[1]:.5f}, {p[2]:.5f}],")
        print("    ]")
    samples = {}
    indices = np.arange(0, 256, 16).tolist() + [255]
    t = np.array(indices) / 255.0
    for name in NAMES:
        samples[name] = [[float(v) for v in rgba[:3]] for rgba in colormaps[name](np.array(indices))]
    path = os.path.join(ROOT, "Tests", "SwapIOTests", "Fixtures", "colormap_reference.json")
    with open(path, "w") as f:
        json.dump({"t": [float(v) for v in t], "maps": samples}, f, separators=(",", ":"))
    print(f"// wrote {path}")


if __name__ == "__main__":
    main()
