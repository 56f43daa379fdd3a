#!/usr/bin/env python3
"""Writes Tests/SwapTensorTests/Fixtures/torch_rng.json: reference outputs of torch's default
CPU generator (mt19937) for randn / rand / randint, which TorchGeneratorTests.swift must
reproduce bit-exactly.

Run from the repository root:  python3 tools/reference/make_rng_fixtures.py
Deterministic: every case starts from torch.Generator().manual_seed(seed).

Each case is a fresh generator plus a list of ops executed in order on it. Float results are
stored as their IEEE-754 float32 bit patterns (uint32). Large tensors are summarised as
  fnv1a64: FNV-1a-64 over the uint32 bit patterns in row-major order, word-wise
           (h = 0xcbf29ce484222325; for w: h = (h ^ w) * 0x100000001b3 mod 2^64),
  sum:     math.fsum of the values (float64),
  indices/bits_at: 64 fixed flat indices and the bit patterns found there.

Note: torch's float32 randn for numel >= 16 runs its AVX2 kernel (avx_mathfun.h polynomials)
on any x86 machine with AVX2 or AVX-512; with ATEN_CPU_CAPABILITY=default it uses libm and
produces different last bits. The script records which capability produced the data.
"""
import json, math, os, sys
import torch

SEEDS = [0, 1, 42, 2**32 + 7]
SMALL_SHAPES = [[1], [5], [15], [16], [17], [31], [100], [2, 3, 4], [1, 4, 8, 8]]
SUMMARY_LIMIT = 256          # tensors larger than this are stored as a summary

def bits(t):
    return [int(b) for b in t.contiguous().reshape(-1).numpy().view("uint32")]

def fnv1a64(words):
    h = 0xcbf29ce484222325
    for w in words:
        h = ((h ^ w) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"

def float_result(t):
    b = bits(t)
    if len(b) <= SUMMARY_LIMIT:
        return {"bits": b}
    n = len(b)
    idx = [(k * 2654435761) % n for k in range(64)]
    return {"fnv1a64": fnv1a64(b), "sum": math.fsum(float(x) for x in t.reshape(-1).tolist()),
            "indices": idx, "bits_at": [b[i] for i in idx]}

def run(seed, ops):
    g = torch.Generator().manual_seed(seed)
    out = []
    for op in ops:
        kind = op[0]
        if kind == "randn":
            r = {"op": "randn", "shape": op[1], **float_result(torch.randn(op[1], generator=g))}
        elif kind == "rand":
            r = {"op": "rand", "shape": op[1], **float_result(torch.rand(op[1], generator=g))}
        elif kind == "randint":
            _, low, high, shape = op
            v = torch.randint(low, high, shape, generator=g)
            assert v.dtype == torch.int64
            r = {"op": "randint", "low": low, "high": high, "shape": shape,
                 "values": [int(x) for x in v.reshape(-1).tolist()]}
        else:
            raise ValueError(kind)
        out.append(r)
    return {"seed": seed, "ops": out}

def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.path.join(root, "Tests", "SwapTensorTests", "Fixtures", "torch_rng.json")
    cases = []
    for seed in SEEDS:
        for shape in SMALL_SHAPES:
            cases.append({"name": f"randn{shape} seed {seed}", **run(seed, [("randn", shape)])})
        cases.append({"name": f"randn[1,4,64,64] seed {seed}", **run(seed, [("randn", [1, 4, 64, 64])])})
        cases.append({"name": f"randn[1,4,128,128] seed {seed}", **run(seed, [("randn", [1, 4, 128, 128])])})
        # Successive calls on one generator: small (leaves a cached normal), large (vectorised
        # path, does not touch the cache), small (consumes the cache first), ...
        cases.append({"name": f"successive randn seed {seed}", **run(seed, [
            ("randn", [5]), ("randn", [100]), ("randn", [3]), ("randn", [1, 4, 64, 64]),
            ("randn", [1]), ("randn", [17]), ("randn", []), ("randn", [2, 7])])})
        cases.append({"name": f"rand/randint mix seed {seed}", **run(seed, [
            ("rand", [7]), ("rand", [2, 50]), ("randint", 0, 10, [20]),
            ("randint", -3, 1000, [5, 4]), ("randint", 0, 2**28 - 1, [6]), ("randint", 0, 2**28, [6]),
            ("randint", 0, 2**40, [10]), ("randint", -2**62, 2**62, [8]),
            ("randn", [3]), ("rand", [5]), ("randn", [16]), ("rand", [1000])])})
    doc = {
        "generator": "torch default CPU generator (CPUGeneratorImpl, mt19937)",
        "script": "tools/reference/make_rng_fixtures.py",
        "torch_version": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "cases": cases,
    }
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(cases)} cases)")

if __name__ == "__main__":
    main()
