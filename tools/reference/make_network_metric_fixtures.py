"""Reference fixtures for the network-based metrics: CLIP (vision tower, projections, CLIPScore,
CLIP-I) and LPIPS (AlexNet and VGG16 trunks).

Writes Tests/SwapModelsTests/Fixtures/networks/:
  clip_tiny/config.json, clip_tiny/model.safetensors
        a tiny random transformers CLIPModel (vision: image 32, patch 8, hidden 32, 2 layers;
        text: the real 49408-token vocabulary with hidden 8, 2 layers; projection 16), saved by
        save_pretrained. The weights are rounded to float16 and stored as F16 to keep it small
        (the reference runs on the rounded float32 values).
  lpips_alex.safetensors, lpips_vgg.safetensors
        random LPIPS weights under the names SwapModels.LPIPS reads: the trunk as torchvision's
        `features.{i}.weight/bias` (the true AlexNet / VGG16 layer structure, kernel sizes,
        strides, pools and taps, with small channel widths so the file stays small) and the
        learned 1x1 layers `lin{k}.model.1.weight` [1, C_k, 1, 1] (non-negative, as trained).
  photo.png      a 48x40 RGB test image (random uint8), photo2.png a second one (40x40)
  network_reference.safetensors
        clip.pixel_values        CLIPImageProcessorPil(size 32, crop 32) of photo.png [1,3,32,32]
        clip.pixel_values2       the same for photo2.png
        clip.last_hidden_state   vision tower output (before post_layernorm) [1,17,32]
        clip.image_embeds        visual_projection(post_layernorm(CLS)) [1,16], both images: [2,16]
        clip.input_ids           tokenizer("a red circle", "A photo depicts a blue square"), 77 each
        clip.text_embeds         text_projection(final_ln(h)[EOS]) [2,16]
        clip.text_pooled         final_ln(h)[EOS] [2,8]
        clip.cosine              cos(image_embeds[0], text_embeds) [2]
        clip.clipscore           2.5 * max(cos, 0) [2]
        clip.image_cosine        cos(image_embeds[0], image_embeds[1]) [1]
        lpips.{alex,vgg}.in0/in1 inputs in [-1, 1] ([2,3,64,64] alex, [2,3,32,32] vgg)
        lpips.{alex,vgg}.value   LPIPS per image [2]
        lpips.{alex,vgg}.spatial spatial map (bilinear upsampling of each layer) [2,1,H,W]
        lpips.alex.layers        per-layer spatial means d_l [2,5]
        lpips.alex.value_torchmetrics  the value with torchmetrics' unit normalisation

The LPIPS computation is written here from the paper / richzhang/PerceptualSimilarity's
description (scaling layer v0.1, unit normalisation with eps 1e-10 added to the norm, squared
difference, 1x1 linear layer, spatial mean, sum over layers) in plain torch.nn: no torchvision,
no lpips package.

Also writes Tests/SwapTensorTests/Fixtures/max_pool.safetensors: torch.nn.functional.max_pool2d
cases `pool{i}.in` (input), `pool{i}.out`, `pool{i}.grad_out` (an upstream gradient) and
`pool{i}.grad_in` (the input gradient), with `pool{i}.config` = [kernel, stride, padding].

Versions used: torch 2.13.0+cpu, transformers 5.23.0, Pillow.
Run from the repository root:  python3 tools/reference/make_network_metric_fixtures.py
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import CLIPConfig, CLIPModel, CLIPTokenizer
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapModelsTests", "Fixtures", "networks")
SD1_TOKENIZER_MAPS = os.path.join(ROOT, "Tests", "SwapModelsTests", "Fixtures", "clip", "tokenizer_sd1")
SCRIPT = "tools/reference/make_network_metric_fixtures.py"
META = {"format": "pt", "source": SCRIPT}
torch.set_num_threads(1)
torch.set_grad_enabled(False)


def randomize(module, seed, scale=0.15):
    """Re-draws every parameter (LayerNorm weights around 1), rounded to float16 values."""
    g = torch.Generator().manual_seed(seed)
    for name, p in module.named_parameters():
        if name.endswith("logit_scale"):
            continue
        noise = torch.randn(p.shape, generator=g) * scale
        if ("layer_norm" in name or "layrnorm" in name or "layernorm" in name) and name.endswith("weight"):
            noise = noise + 1
        p.copy_(noise.half().float())


# ----------------------------------------------------------------------------------- CLIP

def make_clip(tmp):
    config = CLIPConfig(
        text_config=dict(vocab_size=49408, hidden_size=8, intermediate_size=12, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=77, hidden_act="quick_gelu",
                         bos_token_id=49406, eos_token_id=49407, pad_token_id=1, projection_dim=16),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8, hidden_act="quick_gelu", projection_dim=16),
        projection_dim=16)
    model = CLIPModel(config).eval()
    randomize(model, 1)
    folder = os.path.join(OUT, "clip_tiny")
    shutil.rmtree(folder, ignore_errors=True)
    model.save_pretrained(folder, safe_serialization=True)
    weights = os.path.join(folder, "model.safetensors")
    save_file({k: v.half().contiguous() for k, v in load_file(weights).items()}, weights, metadata=META)
    # The tokenizer: the real CLIP vocabulary (derived from the bundled BPE file) with the
    # OpenAI special tokens (= SD 1.x's).
    tok_dir = os.path.join(tmp, "tok")
    os.makedirs(tok_dir)
    write_vocab_and_merges(tok_dir)
    for f in ("special_tokens_map.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(SD1_TOKENIZER_MAPS, f), tok_dir)
    return model, CLIPTokenizer.from_pretrained(tok_dir)


def clip_reference(model, tokenizer, photos):
    processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    pixels = [processor(images=Image.open(p).convert("RGB"), return_tensors="pt")["pixel_values"] for p in photos]
    pixel_values = torch.cat(pixels)
    vision = model.vision_model(pixel_values=pixel_values)
    image_embeds = model.visual_projection(vision.pooler_output)
    texts = ["a red circle", "A photo depicts a blue square"]
    ids = tokenizer(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")["input_ids"]
    text = model.text_model(input_ids=ids)
    text_embeds = model.text_projection(text.pooler_output)
    cosine = F.cosine_similarity(image_embeds[0:1], text_embeds, dim=-1)
    return {
        "clip.pixel_values": pixels[0], "clip.pixel_values2": pixels[1],
        "clip.last_hidden_state": vision.last_hidden_state[0:1],
        "clip.image_embeds": image_embeds,
        "clip.input_ids": ids.float(),
        "clip.text_embeds": text_embeds,
        "clip.text_pooled": text.pooler_output,
        "clip.cosine": cosine,
        "clip.clipscore": 2.5 * cosine.clamp(min=0),
        "clip.image_cosine": F.cosine_similarity(image_embeds[0:1], image_embeds[1:2], dim=-1),
    }


# ---------------------------------------------------------------------------------- LPIPS

def alexnet_features(widths):
    """torchvision AlexNet's `features` layer structure with channel widths `widths`."""
    c1, c2, c3, c4, c5 = widths
    return nn.Sequential(
        nn.Conv2d(3, c1, 11, stride=4, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))


def vgg16_features(widths):
    """torchvision VGG16's `features` layer structure (config "D") with per-stage widths."""
    layers, c_in = [], 3
    for stage, (width, convs) in enumerate(zip(widths, (2, 2, 3, 3, 3))):
        for _ in range(convs):
            layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU()]
            c_in = width
        layers.append(nn.MaxPool2d(2, 2))
    return nn.Sequential(*layers)


# Tap after these feature indices (inclusive): LPIPS' slices.
TAPS = {"alex": [1, 4, 7, 9, 11], "vgg": [3, 8, 15, 22, 29]}
SHIFT = torch.tensor([-0.030, -0.088, -0.188]).view(1, 3, 1, 1)
SCALE = torch.tensor([0.458, 0.448, 0.450]).view(1, 3, 1, 1)


def lpips(features, lins, taps, in0, in1, torchmetrics_norm=False):
    """Returns (value [N], spatial map [N,1,H,W], per-layer means [N, L])."""
    def tapped(x):
        x = (x - SHIFT) / SCALE
        outs = []
        for i, layer in enumerate(features):
            x = layer(x)
            if i in taps:
                outs.append(x)
            if i == taps[-1]:
                break
        return outs
    values, maps, per_layer = 0, 0, []
    for f0, f1, w in zip(tapped(in0), tapped(in1), lins):
        if torchmetrics_norm:  # torchmetrics' _normalize_tensor: f / sqrt(1e-8 + sum f^2)
            n0 = f0 / torch.sqrt(1e-8 + (f0 ** 2).sum(dim=1, keepdim=True))
            n1 = f1 / torch.sqrt(1e-8 + (f1 ** 2).sum(dim=1, keepdim=True))
        else:
            n0 = f0 / (torch.sqrt((f0 ** 2).sum(dim=1, keepdim=True)) + 1e-10)
            n1 = f1 / (torch.sqrt((f1 ** 2).sum(dim=1, keepdim=True)) + 1e-10)
        d = F.conv2d((n0 - n1) ** 2, w)
        per_layer.append(d.mean(dim=(2, 3)))
        values = values + d.mean(dim=(2, 3))
        maps = maps + F.interpolate(d, size=in0.shape[2:], mode="bilinear", align_corners=False)
    return values.flatten(), maps, torch.cat(per_layer, dim=1)


def make_lpips(name, widths, seed, size):
    torch.manual_seed(seed)
    features = alexnet_features(widths) if name == "alex" else vgg16_features(widths)
    g = torch.Generator().manual_seed(seed)
    for p in features.parameters():
        p.copy_((torch.randn(p.shape, generator=g) * (0.5 if p.dim() == 1 else 2.0 / np.sqrt(p[0].numel()))))
    tap_widths = [features[i - 1].out_channels for i in TAPS[name]]
    lins = [torch.rand(1, c, 1, 1, generator=g) * 0.5 for c in tap_widths]
    tensors = {f"features.{i}.{k}": v.contiguous() for i, layer in enumerate(features)
               for k, v in layer.state_dict().items()}
    tensors.update({f"lin{k}.model.1.weight": w for k, w in enumerate(lins)})
    save_file(tensors, os.path.join(OUT, f"lpips_{name}.safetensors"), metadata=META)
    in0 = torch.rand(2, 3, size, size, generator=g) * 2 - 1
    in1 = (in0 + torch.randn(2, 3, size, size, generator=g) * 0.3).clamp(-1, 1)
    value, spatial, layers = lpips(features, lins, TAPS[name], in0, in1)
    out = {f"lpips.{name}.in0": in0, f"lpips.{name}.in1": in1, f"lpips.{name}.value": value,
           f"lpips.{name}.spatial": spatial}
    if name == "alex":
        out["lpips.alex.layers"] = layers
        out["lpips.alex.value_torchmetrics"] = lpips(features, lins, TAPS[name], in0, in1, torchmetrics_norm=True)[0]
    return out


def make_max_pool_cases():
    g = torch.Generator().manual_seed(5)
    out = {}
    for i, (shape, kernel, stride, padding) in enumerate((([2, 3, 9, 11], 3, 2, 0), ([1, 2, 8, 8], 2, 2, 0),
                                                          ([1, 2, 5, 6], 3, 1, 1), ([1, 1, 7, 7], 3, 3, 1))):
        x = torch.randn(shape, generator=g)
        with torch.enable_grad():
            x.requires_grad_(True)
            y = F.max_pool2d(x, kernel, stride, padding)
            grad_out = torch.randn(y.shape, generator=g)
            y.backward(grad_out)
        out.update({f"pool{i}.in": x.detach(), f"pool{i}.out": y.detach(), f"pool{i}.grad_out": grad_out,
                    f"pool{i}.grad_in": x.grad, f"pool{i}.config": torch.tensor([kernel, stride, padding]).float()})
    path = os.path.join(ROOT, "Tests", "SwapTensorTests", "Fixtures", "max_pool.safetensors")
    save_file({k: v.contiguous() for k, v in out.items()}, path, metadata=META)


def main():
    os.makedirs(OUT, exist_ok=True)
    make_max_pool_cases()
    rng = np.random.default_rng(7)
    photos = []
    for file, (h, w) in (("photo.png", (40, 48)), ("photo2.png", (40, 40))):
        path = os.path.join(OUT, file)
        # Smooth-ish content (a gradient plus noise) so resampling matters.
        base = np.linspace(0, 255, w)[None, :, None] * np.array([1.0, 0.5, 0.2])[None, None, :]
        pixels = np.clip(base + rng.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(pixels, "RGB").save(path)
        photos.append(path)
    reference = {}
    with tempfile.TemporaryDirectory() as tmp:
        model, tokenizer = make_clip(tmp)
        reference.update(clip_reference(model, tokenizer, photos))
    reference.update(make_lpips("alex", [8, 12, 16, 12, 12], 11, 64))
    reference.update(make_lpips("vgg", [4, 6, 8, 8, 8], 12, 32))
    save_file({k: v.float().contiguous() for k, v in reference.items()},
              os.path.join(OUT, "network_reference.safetensors"), metadata=META)
    for k in ("clip.cosine", "clip.clipscore", "clip.image_cosine", "lpips.alex.value", "lpips.vgg.value"):
        print(k, reference[k].tolist())


if __name__ == "__main__":
    main()
