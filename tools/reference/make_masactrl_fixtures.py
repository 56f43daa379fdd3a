"""Reference outputs of MasaCtrl's union and mask attention variants.

Follows TencentARC/MasaCtrl masactrl/masactrl.py: MutualSelfAttentionControlUnion (the target
queries attend to the source's and its own keys/values, concatenated source first) and
MutualSelfAttentionControlMask.attn_batch/forward (scores + mask.masked_fill(...,
finfo.min) for foreground and background, F.interpolate(mode="nearest") of the masks to the
layer's grid, output fg * mask_t + bg * (1 - mask_t)), rewritten here in plain torch on random
per-head tensors. Run:

    python3 tools/reference/make_masactrl_fixtures.py

Writes Tests/SwapEditingTests/Fixtures/masactrl_variants.safetensors (read by
Tests/SwapEditingTests/MasaCtrlVariantTests.swift).
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(2026)
heads, grid, dim = 2, 4, 8
n = grid * grid
scale = dim ** -0.5

q_t = torch.randn(heads, n, dim)
k_s, v_s = torch.randn(heads, n, dim), torch.randn(heads, n, dim)
k_t, v_t = torch.randn(heads, n, dim), torch.randn(heads, n, dim)
mask_s = (torch.rand(8, 8) > 0.5).float()
mask_t = (torch.rand(8, 8) > 0.5).float()


def attn_batch(q, k, v, mask=None):
    # q: [h, n, d]; k, v: [(b h), m, d] -> [h, (b m), d] as the official rearrange.
    b = k.shape[0] // heads
    k = k.reshape(b, heads, -1, dim).permute(1, 0, 2, 3).reshape(heads, -1, dim)
    v = v.reshape(b, heads, -1, dim).permute(1, 0, 2, 3).reshape(heads, -1, dim)
    sim = torch.einsum("hid,hjd->hij", q, k) * scale
    if mask is not None:
        m = F.interpolate(mask[None, None], (grid, grid)).flatten()
        sim_bg = sim + m.masked_fill(m == 1, torch.finfo(sim.dtype).min)
        sim_fg = sim + m.masked_fill(m == 0, torch.finfo(sim.dtype).min)
        sim = torch.cat([sim_fg, sim_bg], dim=0)
    attn = sim.softmax(-1)
    if len(attn) == 2 * len(v):
        v = torch.cat([v] * 2)
    return torch.einsum("hij,hjd->hid", attn, v)


union = attn_batch(q_t, torch.cat([k_s, k_t]), torch.cat([v_s, v_t]))
both = attn_batch(q_t, k_s, v_s, mask=mask_s)
fg, bg = both.chunk(2)
m_t = F.interpolate(mask_t[None, None], (grid, grid)).reshape(-1, 1)
masked = fg * m_t + bg * (1 - m_t)

out = os.path.join(os.path.dirname(__file__), "../../Tests/SwapEditingTests/Fixtures/masactrl_variants.safetensors")
save_file({k: t.contiguous()[None] if t.dim() == 3 else t.contiguous() for k, t in {
    "q_t": q_t, "k_s": k_s, "v_s": v_s, "k_t": k_t, "v_t": v_t,
    "mask_s": mask_s, "mask_t": mask_t, "union": union, "masked": masked}.items()},
    os.path.abspath(out), metadata={"script": "tools/reference/make_masactrl_fixtures.py"})
print("wrote", os.path.abspath(out))
