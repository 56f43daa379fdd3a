#!/usr/bin/env python3
"""Reference fixtures for the Swift StableDiffusion bundle and pipeline (SwapModels, SwapPipeline).

Builds two tiny random-weight Stable Diffusion pipelines from config (no downloads), saves each
with `StableDiffusionPipeline.save_pretrained` (diffusers layout: model_index.json, unet/, vae/,
text_encoder/, tokenizer/, scheduler/) and runs a 3-step DDIM pipeline with classifier-free
guidance (guidance 6.0, prompt "A painting of a squirrel eating a burger", explicit `latents=`).

  sd1: epsilon prediction, conv proj_in/proj_out, quick_gelu text encoder, tokenizer padding
       with <|endoftext|>.
  sd2: v-prediction, use_linear_projection, per-block head counts, gelu text encoder, tokenizer
       padding with "!" (SD 2.x's special_tokens_map.json).

The tokenizer is the real CLIP one (vocabulary derived from the bundled
Sources/SwapModels/Resources/bpe_simple_vocab_16e6.txt.gz, as open_clip does), so the text
encoder needs vocab_size 49408. To keep the committed fixtures small:
  * the text encoder has hidden_size 16 and its weights are rounded to float16 before the
    reference run and stored as F16 (the Swift loader widens them exactly to float32);
  * transformers 5 saves the tokenizer as tokenizer.json; it is replaced by the files the SD hub
    repos have (special_tokens_map.json, tokenizer_config.json; the reference runs with a
    tokenizer loaded from exactly these plus vocab.json/merges.txt), and vocab.json/merges.txt
    (1.6 MB, identical for SD1 and SD2) are left out: the Swift tests write them from the bundled
    BPE file before loading.

Writes under Tests/SwapPipelineTests/Fixtures/pipeline/:
  sd1/, sd2/                        the saved pipelines (minus vocab.json / merges.txt)
  sd1_reference.safetensors, sd2_reference.safetensors
      latents.initial [1,4,16,16]   the latent handed to the pipeline (latents=)
      latents.step0..2              latents after each scheduler step (callback_on_step_end)
      embeds.uncond / embeds.cond   [1,77,16] prompt embeddings ("" and the prompt)
      image                         vae.decode(latents / scaling_factor), in [-1, 1] (before
                                    the postprocess), [1,3,32,32]
      timesteps                     the scheduler's timesteps
  sd1_vae_ldm.safetensors           the sd1 VAE under CompVis/ldm names (first_stage_model.…)
      seeded.image (sd1 only)       the image of a run with generator=torch.manual_seed(1234) and
                                    no latents= (prepare_latents' randn · init_noise_sigma)

Versions used: torch 2.13.0+cpu, diffusers 0.42.1, transformers 5.23.0.
Run from the repository root:  python3 tools/reference/make_pipeline_fixtures.py
"""
import json
import os
import sys
import shutil
import tempfile

import torch
from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapPipelineTests", "Fixtures", "pipeline")
# special_tokens_map.json + tokenizer_config.json as in the SD 1.x / 2.x hub repos (written by
# make_clip_fixtures.py); SD 2.x pads with "!".
SD_TOKENIZER_MAPS = os.path.join(ROOT, "Tests", "SwapModelsTests", "Fixtures", "clip", "tokenizer_{}")
SCRIPT = "tools/reference/make_pipeline_fixtures.py"
PROMPT = "A painting of a squirrel eating a burger"
torch.set_num_threads(1)


def tokenizer(path, sd2):
    """The real CLIP tokenizer from local vocab.json/merges.txt derived from the BPE file."""
    merges = write_vocab_and_merges(path)
    for f in ("special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(SD_TOKENIZER_MAPS.format("sd2" if sd2 else "sd1"), f), path)
    return CLIPTokenizer.from_pretrained(path)


def components(sd2, tmp):
    cross = 16
    if sd2:
        unet_config = dict(block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4,
                           out_channels=4, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                           up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), cross_attention_dim=cross,
                           norm_num_groups=4, attention_head_dim=(2, 4), use_linear_projection=True)
    else:
        unet_config = dict(block_out_channels=(8, 16), layers_per_block=1, sample_size=16, in_channels=4,
                           out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                           up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=cross,
                           norm_num_groups=4, attention_head_dim=2)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(**unet_config).eval()
    unet.set_default_attn_processor()
    torch.manual_seed(0)
    vae = AutoencoderKL(block_out_channels=[8, 16], in_channels=3, out_channels=3,
                        down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                        latent_channels=4, norm_num_groups=4, sample_size=32).eval()
    vae.set_default_attn_processor()
    torch.manual_seed(0)
    text_config = CLIPTextConfig(bos_token_id=49406, eos_token_id=49407, pad_token_id=0 if sd2 else 49407,
                                 hidden_size=cross, intermediate_size=37, layer_norm_eps=1e-05,
                                 num_attention_heads=2, num_hidden_layers=3, vocab_size=49408,
                                 hidden_act="gelu" if sd2 else "quick_gelu", projection_dim=16)
    text_encoder = CLIPTextModel(text_config).eval()
    with torch.no_grad():
        for p in text_encoder.parameters():   # what the F16 file will hold, exactly
            p.copy_(p.half().float())
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1,
                              prediction_type="v_prediction" if sd2 else "epsilon")
    return dict(unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer(os.path.join(tmp, "tok"), sd2),
                scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False)


def run(pipe, **kwargs):
    """The pipeline's final latents and the latents after each step."""
    steps = []

    def record(_pipe, _i, _t, outputs):
        steps.append(outputs["latents"].detach().clone())
        return outputs

    with torch.no_grad():
        latents = pipe(PROMPT, num_inference_steps=3, guidance_scale=6.0, height=32, width=32,
                       output_type="latent", callback_on_step_end=record, **kwargs).images
        # Exactly the pipeline's decode (output_type="np" does this, then postprocesses to [0, 1]).
        image = pipe.vae.decode(latents / pipe.vae.config.scaling_factor, return_dict=False)[0]
    return latents, steps, image


def vae_to_ldm(state, levels):
    """diffusers VAE names → CompVis/ldm names (`first_stage_model.`), written from the ldm
    layout (spec §1.3) independently of the Swift mapping; attention q/k/v/proj_out as 1x1 convs."""
    out = {}
    attn = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    for key, value in state.items():
        side, rest = key.split(".", 1)
        new = rest.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        if rest.startswith("down_blocks."):
            _, i, kind, j, leaf = new.split(".", 4)
            new = f"down.{i}.block.{j}.{leaf}" if kind == "resnets" else f"down.{i}.downsample.{leaf}"
        elif rest.startswith("up_blocks."):
            _, i, kind, j, leaf = new.split(".", 4)
            k = levels - 1 - int(i)
            new = f"up.{k}.block.{j}.{leaf}" if kind == "resnets" else f"up.{k}.upsample.{leaf}"
        elif rest.startswith("mid_block.resnets."):
            _, _, j, leaf = new.split(".", 3)
            new = f"mid.block_{int(j) + 1}.{leaf}"
        elif rest.startswith("mid_block.attentions.0."):
            module, leaf = rest[len("mid_block.attentions.0."):].rsplit(".", 1)
            new = f"mid.attn_1.{attn[module]}.{leaf}"
            if module != "group_norm" and leaf == "weight":
                value = value.reshape(*value.shape, 1, 1)
        name = key if side in ("quant_conv", "post_quant_conv") else f"{side}.{new}"
        out["first_stage_model." + name] = value.contiguous()
    return out


def build(name, sd2):
    with tempfile.TemporaryDirectory() as tmp:
        pipe = StableDiffusionPipeline(**components(sd2, tmp))
        pipe.set_progress_bar_config(disable=True)
        folder = os.path.join(OUT, name)
        shutil.rmtree(folder, ignore_errors=True)
        pipe.save_pretrained(folder, safe_serialization=True)
    # Store the text encoder as F16 (its weights already are float16 values).
    te = os.path.join(folder, "text_encoder", "model.safetensors")
    save_file({k: v.half().contiguous() for k, v in load_file(te).items()}, te, metadata={"format": "pt"})
    # The tokenizer folder as the SD hub repos have it, without vocab.json / merges.txt (see above).
    tok = os.path.join(folder, "tokenizer")
    shutil.rmtree(tok)
    os.makedirs(tok)
    for f in ("special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(SD_TOKENIZER_MAPS.format(name), f), tok)

    gen = torch.Generator().manual_seed(7)
    initial = torch.randn((1, 4, 16, 16), generator=gen)
    latents, steps, image = run(pipe, latents=initial.clone())
    with torch.no_grad():
        cond, uncond = pipe.encode_prompt(PROMPT, "cpu", 1, True, negative_prompt=None)
    tensors = {"latents.initial": initial, "latents.final": latents, "image": image,
               "embeds.cond": cond, "embeds.uncond": uncond,
               "timesteps": pipe.scheduler.timesteps.float()}
    for i, s in enumerate(steps):
        tensors[f"latents.step{i}"] = s
    if not sd2:
        save_file(vae_to_ldm(pipe.vae.state_dict(), 2), os.path.join(OUT, "sd1_vae_ldm.safetensors"),
                  metadata={"script": SCRIPT})
        _, _, seeded = run(pipe, generator=torch.Generator().manual_seed(1234))
        tensors["seeded.image"] = seeded
    tensors = {k: v.contiguous().float() for k, v in tensors.items()}
    save_file(tensors, os.path.join(OUT, f"{name}_reference.safetensors"), metadata={"script": SCRIPT})
    print(name, "image", tuple(image.shape), "range", float(image.min()), float(image.max()),
          "timesteps", pipe.scheduler.timesteps.tolist())


def main():
    os.makedirs(OUT, exist_ok=True)
    build("sd1", sd2=False)
    build("sd2", sd2=True)
    for dirpath, _dirs, files in os.walk(OUT):   # leave fixtures world-readable
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o644)


if __name__ == "__main__":
    main()
