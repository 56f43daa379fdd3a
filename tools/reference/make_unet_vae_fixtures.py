#!/usr/bin/env python3
"""Reference fixtures for the Swift UNet2DConditionModel, AutoencoderKL and attention hooks.

Builds three tiny models from fixed seeds (no downloads), saves each with
`save_pretrained(safe_serialization=True)` and writes one fixture safetensors per model with
inputs, outputs and intermediates. Uses diffusers' classic `AttnProcessor`
(`set_default_attn_processor()`), wrapped by a recording processor that keeps the attention
probabilities of one self- and one cross-attention layer.

Writes under Tests/SwapModelsTests/Fixtures/:
  unet/sd1/{config.json, diffusion_pytorch_model.safetensors}  SD1-style (diffusers' current
      test config, spec §8.3 A: conv projections, 8 heads of size 1)
  unet/sd2/{...}  SD2-style: use_linear_projection, per-block heads (2, 4, 4), 3 levels,
      layers_per_block 2
  unet/sd1_fixture.safetensors, unet/sd2_fixture.safetensors
  vae/model/{config.json, diffusion_pytorch_model.safetensors}, vae/vae_fixture.safetensors

Versions used: torch 2.13.0+cpu, diffusers 0.42.1.
Run from the repository root:  python3 tools/reference/make_unet_vae_fixtures.py
"""
import os

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.models.attention_processor import AttnProcessor
from safetensors.torch import save_file

ROOT = os.path.join("Tests", "SwapModelsTests", "Fixtures")
torch.set_num_threads(1)


class RecordingProcessor(AttnProcessor):
    """The classic processor; stores the softmax probabilities [B*heads, Lq, Lk] under `key`."""

    def __init__(self, store, key):
        super().__init__()
        self.store = store
        self.key = key

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        original = attn.get_attention_scores

        def scores(query, key, mask=None):
            probabilities = original(query, key, mask)
            self.store[self.key] = probabilities.detach().clone()
            return probabilities

        attn.get_attention_scores = scores
        try:
            return super().__call__(attn, hidden_states, encoder_hidden_states, attention_mask, temb)
        finally:
            del attn.get_attention_scores


def record_intermediates(model, names, store):
    """Forward hooks storing the (first) output of each named submodule as `inter.<name>`."""
    handles = []
    for name in names:
        module = model.get_submodule(name)

        def hook(_module, _inputs, output, name=name):
            value = output[0] if isinstance(output, tuple) else output
            store["inter." + name] = value.detach().clone()

        handles.append(module.register_forward_hook(hook))
    return handles


def unet_fixture(name, config, latent_shape, timestep, context_len, probe_layers, extra_cases=()):
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**config).eval()
    unet.set_default_attn_processor()
    folder = os.path.join(ROOT, "unet", name)
    unet.save_pretrained(folder, safe_serialization=True)

    store = {}
    processors = dict(unet.attn_processors)
    for key, module_name in probe_layers.items():
        processors[module_name + ".processor"] = RecordingProcessor(store, "probs." + key)
    unet.set_attn_processor(processors)

    names = ["time_embedding", "conv_in", "mid_block"]
    names += [f"down_blocks.{i}" for i in range(len(unet.down_blocks))]
    names += [f"up_blocks.{i}" for i in range(len(unet.up_blocks))]
    handles = record_intermediates(unet, names, store)

    gen = torch.Generator().manual_seed(1)
    latent = torch.randn(latent_shape, generator=gen)
    context = torch.randn((latent_shape[0], context_len, config["cross_attention_dim"]), generator=gen)
    t = torch.tensor(timestep, dtype=torch.float32)
    with torch.no_grad():
        out = unet(latent, t, encoder_hidden_states=context).sample
    for h in handles:
        h.remove()
    tensors = {"latent": latent, "timestep": t.reshape(-1), "context": context, "output": out}
    tensors.update(store)

    for case_name, shape, case_t in extra_cases:
        latent = torch.randn(shape, generator=gen)
        context = torch.randn((shape[0], context_len, config["cross_attention_dim"]), generator=gen)
        t = torch.tensor(case_t, dtype=torch.float32)
        with torch.no_grad():
            out = unet(latent, t, encoder_hidden_states=context).sample
        tensors.update({f"{case_name}.latent": latent, f"{case_name}.timestep": t.reshape(-1),
                        f"{case_name}.context": context, f"{case_name}.output": out})

    tensors = {k: v.contiguous().float() for k, v in tensors.items()}
    save_file(tensors, os.path.join(ROOT, "unet", f"{name}_fixture.safetensors"),
              metadata={"script": "tools/reference/make_unet_vae_fixtures.py"})
    print(name, "params", sum(p.numel() for p in unet.parameters()), "out", tuple(tensors["output"].shape),
          "max|out|", float(tensors["output"].abs().max()))


def vae_fixture():
    config = dict(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                  down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                  latent_channels=4, norm_num_groups=4, layers_per_block=2, sample_size=32)
    torch.manual_seed(0)
    vae = AutoencoderKL(**config).eval()
    vae.set_default_attn_processor()
    folder = os.path.join(ROOT, "vae", "model")
    vae.save_pretrained(folder, safe_serialization=True)

    store = {}
    handles = record_intermediates(vae, ["encoder.conv_in", "encoder.down_blocks.0", "encoder.mid_block",
                                         "decoder.mid_block", "decoder.up_blocks.0"], store)
    gen = torch.Generator().manual_seed(2)
    image = torch.rand((1, 3, 32, 32), generator=gen) * 2 - 1
    noise = torch.randn((1, 4, 16, 16), generator=gen)
    latent = torch.randn((1, 4, 16, 16), generator=gen)
    with torch.no_grad():
        posterior = vae.encode(image).latent_dist
        sample = posterior.mean + posterior.std * noise
        decoded = vae.decode(latent).sample
    for h in handles:
        h.remove()
    tensors = {"image": image, "mean": posterior.mean, "logvar": posterior.logvar, "noise": noise,
               "sample": sample, "latent": latent, "decoded": decoded}
    tensors.update(store)
    tensors = {k: v.contiguous().float() for k, v in tensors.items()}
    save_file(tensors, os.path.join(ROOT, "vae", "vae_fixture.safetensors"),
              metadata={"script": "tools/reference/make_unet_vae_fixtures.py"})
    print("vae params", sum(p.numel() for p in vae.parameters()), "max|decoded|", float(decoded.abs().max()))


def main():
    # SD1-style: the current diffusers SD test UNet (spec §8.3 A).
    sd1 = dict(block_out_channels=(4, 8), layers_per_block=1, sample_size=32, in_channels=4, out_channels=4,
               down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
               up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=8, norm_num_groups=2)
    unet_fixture("sd1", sd1, (2, 4, 16, 16), 10.0, 77,
                 {"down.1.attn.0.self": "down_blocks.1.attentions.0.transformer_blocks.0.attn1",
                  "down.1.attn.0.cross": "down_blocks.1.attentions.0.transformer_blocks.0.attn2"})
    # SD2-style: linear projection and per-block head counts (attention_head_dim is the head count).
    sd2 = dict(block_out_channels=(8, 16, 16), layers_per_block=2, sample_size=16, in_channels=4, out_channels=4,
               down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
               up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
               cross_attention_dim=12, norm_num_groups=4, attention_head_dim=(2, 4, 4), use_linear_projection=True)
    unet_fixture("sd2", sd2, (2, 4, 16, 16), [981.0, 501.0], 77,
                 {"up.2.attn.1.self": "up_blocks.2.attentions.1.transformer_blocks.0.attn1",
                  "mid.attn.0.cross": "mid_block.attentions.0.transformer_blocks.0.attn2"},
                 extra_cases=[("odd", (1, 4, 10, 14), 250.0)])
    vae_fixture()


if __name__ == "__main__":
    main()
