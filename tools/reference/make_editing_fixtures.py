#!/usr/bin/env python3
"""Reference fixtures for SwapEditing's sampler, SDEdit and attention capture (SwapEditingTests).

Uses the tiny SD1 pipeline of Tests/SwapPipelineTests/Fixtures/pipeline/sd1 (made by
make_pipeline_fixtures.py; vocab.json/merges.txt are derived from the bundled BPE file into a
temporary copy, as the Swift tests do) and records, with torch's CPU generator:

  ddim.image     StableDiffusionPipeline, DDIMScheduler from the folder's config, 4 steps,
                 guidance 6, PROMPT, generator=manual_seed(11), 32x32: vae.decode(latents /
                 scaling_factor) in [-1, 1], [1,3,32,32]
  euler.image    the same with EulerDiscreteScheduler.from_config(the folder's config)
  attn.step1.up.0.attn.1.cross
                 the conditional row's cross-attention probabilities of
                 up_blocks.0.attentions.1.transformer_blocks.0.attn2 at step 1 of the DDIM run,
                 [heads, 64, 77] (captured with an attention processor that computes
                 softmax(QK^T/sqrt(d)) as AttnProcessor does)
  attn.aggregate.res8
                 Prompt-to-Prompt's aggregate_attention for the DDIM run: the conditional
                 row's cross maps at 8x8 (every cross layer of this model), averaged over the
                 4 steps, the layers and the heads, [8, 8, 77]
  sdedit.input   the img2img input in [-1, 1], [1,3,32,32] (a smooth synthetic picture)
  sdedit.image   StableDiffusionImg2ImgPipeline, DDIM, 5 steps, strength 0.6, guidance 6,
                 SDEDIT_PROMPT, generator=manual_seed(5): decoded latents in [-1, 1]

Versions used: torch 2.13.0+cpu, diffusers 0.42.1, transformers 5.23.0.
Run from the repository root:  python3 tools/reference/make_editing_fixtures.py
"""
import os
import shutil
import sys
import tempfile

import torch
from diffusers import (DDIMScheduler, EulerDiscreteScheduler, StableDiffusionImg2ImgPipeline,
                       StableDiffusionPipeline)
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = os.path.join(ROOT, "Tests", "SwapPipelineTests", "Fixtures", "pipeline", "sd1")
OUT = os.path.join(ROOT, "Tests", "SwapEditingTests", "Fixtures", "editing_reference.safetensors")
SCRIPT = "tools/reference/make_editing_fixtures.py"
PROMPT = "a red circle above a blue square"
SDEDIT_PROMPT = "a green triangle"
torch.set_num_threads(1)


class CapturingProcessor:
    """AttnProcessor (diffusers attention_processor.py) that also keeps the conditional row's
    probabilities of every call, per step (the batch is [uncond; cond])."""

    def __init__(self, name, store):
        self.name = name
        self.store = store

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        batch = hidden_states.shape[0]
        query = attn.to_q(hidden_states)
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        query = attn.head_to_batch_dim(query)
        probs = attn.get_attention_scores(query, key, None)            # [batch*heads, Lq, Lk]
        heads = attn.heads
        cond = probs.reshape(batch, heads, *probs.shape[1:])[batch // 2:].sum(0)
        self.store.setdefault(self.name, []).append(cond.detach().clone())
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        out = attn.to_out[0](out)
        return attn.to_out[1](out)


def cross_name(module_name):
    """diffusers module name of an attn2 → the Swift layer path."""
    parts = module_name.split(".")
    if parts[0] == "mid_block":
        return f"mid.attn.{parts[2]}.cross"
    place = "down" if parts[0] == "down_blocks" else "up"
    return f"{place}.{parts[1]}.attn.{parts[3]}.cross"


def load(tmp, cls):
    folder = os.path.join(tmp, "sd1")
    if not os.path.exists(folder):
        shutil.copytree(MODEL, folder)
        write_vocab_and_merges(os.path.join(folder, "tokenizer"))
    pipe = cls.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def decoded(pipe, latents):
    with torch.no_grad():
        return pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]


def main():
    tensors = {}
    with tempfile.TemporaryDirectory() as tmp:
        pipe = load(tmp, StableDiffusionPipeline)
        pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
        store = {}
        processors = {}
        for name in pipe.unet.attn_processors:
            module = name[: -len(".processor")]
            processors[name] = CapturingProcessor(cross_name(module), store) if module.endswith("attn2") \
                else pipe.unet.attn_processors[name]
        pipe.unet.set_attn_processor(processors)
        with torch.no_grad():
            latents = pipe(PROMPT, num_inference_steps=4, guidance_scale=6.0, height=32, width=32,
                           generator=torch.Generator().manual_seed(11), output_type="latent").images
        tensors["ddim.image"] = decoded(pipe, latents)
        tensors["attn.step1.up.0.attn.1.cross"] = store["up.0.attn.1.cross"][1]
        maps = [m for per_layer in store.values() for m in per_layer]       # 4 layers x 4 steps, [heads, 64, 77]
        tensors["attn.aggregate.res8"] = torch.stack(maps).mean(dim=(0, 1)).reshape(8, 8, 77)

        pipe = load(tmp, StableDiffusionPipeline)
        pipe.scheduler = EulerDiscreteScheduler.from_config(pipe.scheduler.config)
        with torch.no_grad():
            latents = pipe(PROMPT, num_inference_steps=4, guidance_scale=6.0, height=32, width=32,
                           generator=torch.Generator().manual_seed(11), output_type="latent").images
        tensors["euler.image"] = decoded(pipe, latents)

        img2img = load(tmp, StableDiffusionImg2ImgPipeline)
        img2img.scheduler = DDIMScheduler.from_config(img2img.scheduler.config)
        ys, xs = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
        picture = torch.stack([xs, ys, 0.5 + 0.5 * torch.sin(6 * xs * ys)]).unsqueeze(0)   # [1,3,32,32] in [0, 1]
        with torch.no_grad():
            latents = img2img(SDEDIT_PROMPT, image=picture, strength=0.6, num_inference_steps=5, guidance_scale=6.0,
                              generator=torch.Generator().manual_seed(5), output_type="latent").images
        tensors["sdedit.input"] = picture * 2 - 1
        tensors["sdedit.image"] = decoded(img2img, latents)
    tensors = {k: v.contiguous().float() for k, v in tensors.items()}
    save_file(tensors, OUT, metadata={"script": SCRIPT})
    os.chmod(OUT, 0o644)
    for k, v in tensors.items():
        print(k, tuple(v.shape), float(v.min()), float(v.max()))


if __name__ == "__main__":
    main()
