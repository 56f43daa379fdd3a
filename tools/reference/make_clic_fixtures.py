#!/usr/bin/env python3
"""Reference for CLiC's learning losses and their gradients (SwapEditingTests/CLiCLossTests).

Re-derives one training step of Mehdi0xC/clic learning.py (the code variant, spec
clic-p3s-metrics.md §1.2) with diffusers on the tiny SD1 pipeline of
Tests/SwapPipelineTests/Fixtures/pipeline/sd1 (vocab.json/merges.txt derived from the bundled BPE
file into a temporary copy, as the Swift tests do), for fixed inputs and no augmentation:

  token "<x>" added to the tokenizer, its embedding row copied from "square";
  every attn2 runs a processor that detaches the start token's key/value rows (Custom Diffusion)
  and, in the up blocks, keeps the probabilities of the "<x>" column, mean over heads,
  F.interpolate(bilinear) to the latent grid;
  x0 = (mean + std·post_noise)·scaling, x_t = add_noise(x0, noise, t) (DDPMScheduler of the folder);
  l_att = mse(minmax(mean over layers of the maps), att_mask), att_mask = F.interpolate(mask, 16x16, bilinear);
  l_con = sum((eps_hat - noise)^2 · ctx) / sum(ctx), ctx = where(att_mask < 0.05, 0.25, att_mask);
  l_roi: x̃0 = VAE(image·mask) sampled with roi_post_noise, noised with the same noise and t, prompt
         ROI_PROMPT, sum((eps - noise)^2 · att_mask) / sum(att_mask);
  loss = 0.25·l_att + 0.5·l_con + 0.25·l_roi (reproduce.sh weights).

Writes Tests/SwapEditingTests/Fixtures/clic_reference.safetensors (metadata key `script`):
  in.image [1,3,32,32] in [-1,1], in.mask [32,32], in.noise / in.post_noise / in.roi_post_noise [1,4,16,16],
  in.t (scalar), in.prompt_ids / in.roi_ids [77] (as float),
  out.l_att, out.l_con, out.l_roi, out.loss (scalars), out.map [1,1,16,16] (before min-max),
  grad.embedding [16] (the "<x>" row), grad.<diffusers parameter name> for a few attn2 tensors.

Versions used: torch 2.13.0+cpu, diffusers 0.42.1, transformers 5.23.0.
Run from the repository root:  python3 tools/reference/make_clic_fixtures.py
"""
import os
import shutil
import sys
import tempfile

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, StableDiffusionPipeline
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "Tests", "SwapPipelineTests", "Fixtures", "pipeline", "sd1")
OUT = os.path.join(ROOT, "Tests", "SwapEditingTests", "Fixtures", "clic_reference.safetensors")
SCRIPT = "tools/reference/make_clic_fixtures.py"
PROMPT = "a square with <x> style"
ROI_PROMPT = "a pattern of <x>"
T = 500
torch.set_num_threads(1)


class CLiCProcessor:
    """AttnProcessor with the start token's keys/values detached and, for up-block layers,
    the token column of the probabilities kept (with gradients)."""

    def __init__(self, record, store):
        self.record = record
        self.store = store
        self.token = None

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        batch, lq, _ = hidden_states.shape
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.to_k(encoder_hidden_states)
        value = attn.to_v(encoder_hidden_states)
        keep = torch.ones_like(key)
        keep[:, :1, :] = 0
        key = keep * key + (1 - keep) * key.detach()
        value = keep * value + (1 - keep) * value.detach()
        key = attn.head_to_batch_dim(key)
        value = attn.head_to_batch_dim(value)
        probs = attn.get_attention_scores(query, key, None)          # [batch*heads, Lq, 77]
        if self.record and self.store.get("token") is not None:
            side = int(round(lq ** 0.5))
            column = probs[:, :, self.store["token"]].reshape(batch, attn.heads, lq).mean(1)
            grid = column.reshape(batch, 1, side, side)
            self.store["maps"].append(F.interpolate(grid, size=(16, 16), mode="bilinear"))
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        return attn.to_out[1](attn.to_out[0](out))


def masked_mean(err, weight):
    return (err * weight).sum() / weight.sum()


def main():
    gen = torch.Generator().manual_seed(2024)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    image = (torch.stack([xs, 0.3 + 0.4 * ys, 0.5 + 0.5 * torch.sin(9 * xs * ys)]).unsqueeze(0)) * 2 - 1
    mask = torch.zeros(32, 32)
    mask[8:25, 6:21] = 1
    noise = torch.randn(1, 4, 16, 16, generator=gen)
    post_noise = torch.randn(1, 4, 16, 16, generator=gen)
    roi_post_noise = torch.randn(1, 4, 16, 16, generator=gen)

    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "sd1")
        shutil.copytree(MODEL, folder)
        write_vocab_and_merges(os.path.join(folder, "tokenizer"))
        pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    tok, te, unet, vae = pipe.tokenizer, pipe.text_encoder, pipe.unet, pipe.vae
    sched = DDPMScheduler.from_config(pipe.scheduler.config)

    tok.add_tokens("<x>")
    te.resize_token_embeddings(len(tok))
    token_id = tok.convert_tokens_to_ids("<x>")
    init_id = tok("square", add_special_tokens=False).input_ids
    assert len(init_id) == 1
    with torch.no_grad():
        te.get_input_embeddings().weight[token_id] = te.get_input_embeddings().weight[init_id[0]]

    store = {"maps": [], "token": None}
    processors = {}
    for name in unet.attn_processors:
        module = name[: -len(".processor")]
        processors[name] = CLiCProcessor(module.startswith("up_blocks"), store) if module.endswith("attn2") \
            else unet.attn_processors[name]
    unet.set_attn_processor(processors)
    for p in list(unet.parameters()) + list(vae.parameters()) + list(te.parameters()):
        p.requires_grad_(False)
    trained = {}
    for name, p in unet.named_parameters():
        if ".attn2." in name and any(k in name for k in ("to_q", "to_k", "to_v", "to_out.0")):
            p.requires_grad_(True)
            trained[name] = p
    emb = te.get_input_embeddings().weight
    emb.requires_grad_(True)

    def ids(text):
        return tok(text, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids

    prompt_ids, roi_ids = ids(PROMPT), ids(ROI_PROMPT)
    sf = vae.config.scaling_factor
    with torch.no_grad():
        post = vae.encode(image).latent_dist
        x0 = (post.mean + post.std * post_noise) * sf
        att_mask = F.interpolate(mask[None, None], size=(16, 16), mode="bilinear")
        ctx = torch.where(att_mask < 0.05, torch.full_like(att_mask, 0.25), att_mask)
        pix_mask = mask[None, None]
        rpost = vae.encode(image * pix_mask).latent_dist
        xr0 = (rpost.mean + rpost.std * roi_post_noise) * sf
    t = torch.tensor([T])
    xt = sched.add_noise(x0, noise, t)
    xrt = sched.add_noise(xr0, noise, t)

    store["token"] = int((prompt_ids[0] == token_id).nonzero()[0])
    c = te(prompt_ids)[0]
    eps = unet(xt, t, c).sample
    raw = torch.stack(store["maps"]).mean(0)
    norm = (raw - raw.min()) / (raw.max() - raw.min())
    l_att = F.mse_loss(norm, att_mask)
    l_con = masked_mean((eps - noise) ** 2, ctx)
    store["token"] = None
    cr = te(roi_ids)[0]
    eps_r = unet(xrt, t, cr).sample
    l_roi = masked_mean((eps_r - noise) ** 2, att_mask)
    loss = 0.25 * l_att + 0.5 * l_con + 0.25 * l_roi
    loss.backward()

    tensors = {
        "in.image": image, "in.mask": mask, "in.noise": noise, "in.post_noise": post_noise,
        "in.roi_post_noise": roi_post_noise, "in.t": torch.tensor(float(T)),
        "in.prompt_ids": prompt_ids[0].float(), "in.roi_ids": roi_ids[0].float(),
        "out.l_att": l_att.detach(), "out.l_con": l_con.detach(), "out.l_roi": l_roi.detach(), "out.loss": loss.detach(),
        "out.map": raw.detach(), "grad.embedding": emb.grad[token_id].clone(),
    }
    for name in ["up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight",
                 "up_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q.weight",
                 "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_out.0.bias",
                 "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight",
                 "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.weight"]:
        tensors["grad." + name] = trained[name].grad.clone()
    tensors = {k: v.contiguous().float() for k, v in tensors.items()}
    save_file(tensors, OUT, metadata={"script": SCRIPT})
    os.chmod(OUT, 0o644)
    for k, v in tensors.items():
        print(k, tuple(v.shape), float(v.abs().max()))


if __name__ == "__main__":
    main()
