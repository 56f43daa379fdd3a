#!/usr/bin/env python3
"""Reference values for every SwapTensor op, from PyTorch (torch==2.13.0+cpu).

Writes Tests/SwapTensorTests/Fixtures/ops.safetensors. For each case NAME it stores
NAME.in0, NAME.in1, ... (inputs), NAME.seed (the upstream gradient w), NAME.out (forward
output) and NAME.grad0, NAME.grad1, ... (gradients of sum(out * w) with respect to each
input). Cases with several outputs store NAME.out1 too. Inputs are float32 from torch.randn
under fixed seeds, shifted away from kinks where an op is not smooth.

Run from the repository root:  python3 tools/reference/make_op_fixtures.py
"""
import os
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(1234)
tensors = {}


def rnd(*shape, positive=False, away=0.0):
    x = torch.randn(*shape, dtype=torch.float32)
    if positive:
        x = x.abs() + 0.5
    if away:
        x = x + away * torch.sign(x)
    return x


def case(name, fn, *inputs, grads=True):
    leaves = [x.clone().requires_grad_(grads) for x in inputs]
    out = fn(*leaves)
    outs = out if isinstance(out, tuple) else (out,)
    for i, x in enumerate(inputs):
        tensors[f"{name}.in{i}"] = x.contiguous()
    for i, o in enumerate(outs):
        tensors[f"{name}.out" + ("" if i == 0 else str(i))] = o.detach().contiguous()
    if grads:
        w = torch.randn(outs[0].shape, dtype=torch.float32)
        tensors[f"{name}.seed"] = w
        (outs[0] * w).sum().backward()
        for i, leaf in enumerate(leaves):
            tensors[f"{name}.grad{i}"] = leaf.grad.contiguous()


# Elementwise with broadcasting
case("add", lambda a, b: a + b, rnd(2, 3, 4), rnd(3, 1))
case("sub", lambda a, b: a - b, rnd(2, 1, 4), rnd(3, 4))
case("mul", lambda a, b: a * b, rnd(2, 3, 4), rnd(4))
case("div", lambda a, b: a / b, rnd(2, 3, 4), rnd(1, 3, 1, away=0.5))
case("maximum", lambda a, b: torch.maximum(a, b), rnd(3, 5), rnd(5) + 0.05)
case("add_scalar", lambda a: a + 1.5, rnd(7))
case("mul_scalar", lambda a: a * -2.5, rnd(7))
# Unary maths and activations
case("exp", torch.exp, rnd(3, 7))
case("log", torch.log, rnd(3, 7, positive=True))
case("sqrt", torch.sqrt, rnd(3, 7, positive=True))
case("abs", torch.abs, rnd(3, 7, away=0.05))
case("sin", torch.sin, rnd(3, 7))
case("cos", torch.cos, rnd(3, 7))
case("tanh", torch.tanh, rnd(3, 7))
case("relu", torch.relu, rnd(3, 7, away=0.05))
case("sigmoid", torch.sigmoid, rnd(3, 7) * 3)
case("silu", F.silu, rnd(3, 37) * 3)
case("gelu", F.gelu, rnd(3, 37) * 3)
case("quick_gelu", lambda x: x * torch.sigmoid(1.702 * x), rnd(3, 37) * 3)
case("pow", lambda x: x ** 2.5, rnd(3, 7, positive=True))
case("square", lambda x: x * x, rnd(3, 7))
case("clamp", lambda x: x.clamp(-0.5, 0.75), rnd(4, 9) * 2)
# Reductions
case("sum_axes", lambda x: x.sum(dim=(0, 2)), rnd(3, 4, 5))
case("sum_all", lambda x: x.sum(), rnd(3, 4, 5))
case("mean_keep", lambda x: x.mean(dim=1, keepdim=True), rnd(3, 4, 5))
case("amax", lambda x: x.amax(dim=-1), rnd(3, 4, 5))
case("var", lambda x: x.var(dim=(1, 2), unbiased=False), rnd(3, 4, 5))
case("var_unbiased", lambda x: x.var(dim=0, unbiased=True, keepdim=True), rnd(6, 5))
# Shape ops
case("permute", lambda x: x.permute(0, 2, 3, 1), rnd(2, 3, 4, 5))
case("reshape", lambda x: x.reshape(6, -1), rnd(2, 3, 4, 5))
case("slice", lambda x: x[:, 1:6:2], rnd(3, 7, 2))
case("index_select", lambda x: x.index_select(0, torch.tensor([2, 0, 2, 3])), rnd(4, 3, 2))
case("concat", lambda a, b, c: torch.cat([a, b, c], dim=1), rnd(2, 3, 4), rnd(2, 1, 4), rnd(2, 2, 4))
case("split", lambda x: torch.split(x, [2, 3], dim=-1), rnd(3, 5))
# Matrix products
case("matmul_batched", lambda a, b: a @ b, rnd(2, 3, 4, 5), rnd(2, 3, 5, 6))
case("matmul_shared", lambda a, b: a @ b, rnd(2, 7, 5), rnd(5, 3))
case("linear", lambda x, w, b: F.linear(x, w, b), rnd(2, 7, 5), rnd(4, 5), rnd(4))
case("linear_nobias", lambda x, w: F.linear(x, w), rnd(11, 5), rnd(4, 5))
# Large enough that BLAS.gemm splits the product into column / row panels.
case("matmul_panels_n", lambda a, b: a @ b, rnd(40, 32), rnd(32, 800))
case("matmul_panels_m", lambda a, b: a @ b, rnd(800, 32), rnd(32, 40))
case("linear_panels", lambda x, w, b: F.linear(x, w, b), rnd(2, 400, 32), rnd(48, 32), rnd(48))
# Convolution
case("conv3x3", lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1), rnd(2, 3, 9, 8), rnd(5, 3, 3, 3), rnd(5))
case("conv3x3_s2", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1), rnd(2, 3, 9, 8), rnd(4, 3, 3, 3), rnd(4))
case("conv1x1", lambda x, w, b: F.conv2d(x, w, b), rnd(2, 6, 5, 4), rnd(3, 6, 1, 1), rnd(3))
# Over 512 output pixels: the panel-by-panel im2col path.
case("conv3x3_panels", lambda x, w, b: F.conv2d(x, w, b, padding=1), rnd(2, 3, 24, 30), rnd(4, 3, 3, 3), rnd(4))
case("conv3x3_s2_panels", lambda x, w: F.conv2d(x, w, stride=2, padding=1), rnd(1, 2, 50, 46), rnd(3, 2, 3, 3))
case("conv4x4_nobias", lambda x, w: F.conv2d(x, w, stride=2), rnd(1, 2, 10, 9), rnd(3, 2, 4, 4))
# Normalisation and softmax
case("group_norm", lambda x, w, b: F.group_norm(x, 4, w, b, eps=1e-5), rnd(2, 8, 5, 6) * 2 + 0.3, rnd(8), rnd(8))
case("group_norm_vae", lambda x, w, b: F.group_norm(x, 2, w, b, eps=1e-6), rnd(1, 6, 3, 3), rnd(6), rnd(6))
case("layer_norm", lambda x, w, b: F.layer_norm(x, (10,), w, b, eps=1e-5), rnd(3, 7, 10) * 3 + 1, rnd(10), rnd(10))
case("softmax", lambda x: torch.softmax(x, dim=-1), rnd(4, 5, 13) * 4)
# Resampling
case("upsample_nearest", lambda x: F.interpolate(x, scale_factor=2.0, mode="nearest"), rnd(2, 3, 4, 5))
case("bilinear_up", lambda x: F.interpolate(x, size=(13, 17), mode="bilinear", align_corners=False), rnd(1, 2, 5, 7))
case("bilinear_down", lambda x: F.interpolate(x, size=(3, 4), mode="bilinear", align_corners=False), rnd(1, 2, 8, 9))
# Attention: output, then the probabilities as out1
def attention(q, k, v):
    p = torch.softmax(q @ k.transpose(-1, -2) * q.shape[-1] ** -0.5, dim=-1)
    return p @ v, p
case("attention", attention, rnd(3, 10, 8), rnd(3, 12, 8), rnd(3, 12, 6))
# Long enough that the query axis spans several blocks (probabilities not stored: too big).
case("attention_long", lambda q, k, v: attention(q, k, v)[0], rnd(2, 300, 4), rnd(2, 1100, 4), rnd(2, 1100, 5))
# Optimisers: 3 steps on a fixed quadratic; out = parameters after 3 steps.
def optimise(kind):
    p = rnd(6)
    target = rnd(6)
    tensors[f"opt_{kind}.in0"] = p.clone()
    tensors[f"opt_{kind}.in1"] = target.clone()
    p = p.clone().requires_grad_(True)
    opt = {"sgd": lambda: torch.optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01),
           "adam": lambda: torch.optim.Adam([p], lr=0.05, weight_decay=0.01),
           "adamw": lambda: torch.optim.AdamW([p], lr=0.05, weight_decay=0.1)}[kind]()
    for _ in range(3):
        opt.zero_grad()
        ((p - target) ** 2).sum().backward()
        opt.step()
    tensors[f"opt_{kind}.out"] = p.detach().clone()
for kind in ["sgd", "adam", "adamw"]:
    optimise(kind)

path = os.path.join("Tests", "SwapTensorTests", "Fixtures", "ops.safetensors")
save_file(tensors, path, metadata={"producer": "tools/reference/make_op_fixtures.py", "torch": torch.__version__})
print(f"wrote {len(tensors)} tensors to {path}")
