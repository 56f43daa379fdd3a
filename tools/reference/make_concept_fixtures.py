#!/usr/bin/env python3
"""Reference fixtures for LoRA on every layer kind and textual-inversion pickles.

Runs on the tiny SD1 pipeline committed under Tests/SwapPipelineTests/Fixtures/pipeline/sd1 (made
by make_pipeline_fixtures.py).

  LoRA (Tests/SwapEditingTests/Fixtures/lora_reference.safetensors, metadata "script"):
    kohya/<key>   a kohya sd-scripts LoRA/LoCon covering the UNet's attention projections,
                  feed-forward (ff.net.0.proj, ff.net.2), proj_in/proj_out (1x1 convs),
                  resnet conv1/conv2 (LoCon: 3x3 down, 1x1 up), conv_shortcut and time_emb_proj,
                  and the text encoder's q/k/v/out_proj and mlp.fc1/fc2 (lora_te_...), with a
                  per-module alpha (rank 4, alpha 2 or 8).
    peft/<key>    a diffusers/PEFT file (unet.<module>.lora_A/lora_B, text_encoder.<module>...),
                  rank 2, over every Linear and Conv2d of the UNet and the text encoder.
    Each loaded with diffusers `load_lora_weights` (peft 0.21.2) and applied with `set_adapters`
    (kohya at scale 0.7, PEFT at 1): out.<name>.unet (UNet output for zt, t 500, the prompt's
    embeddings under that LoRA's text encoder), out.<name>.text (the text encoder's last hidden
    state for `ids`), and the same with no LoRA (out.none.*).

  Textual inversion pickles (Tests/SwapModelsTests/Fixtures/torch/, README there):
    a1111.pt              torch.save of an A1111 embedding dict: string_to_token, string_to_param
                          {'*': nn.Parameter [2, 16]}, name, step, sd_checkpoint (None)
    learned_embeds.bin    torch.save({"<tiny-cup>": tensor [16]}) (diffusers textual_inversion.py)
    learned_embeds_deflated.bin  the same entries rewritten deflate-compressed by Python's zipfile
    half_view.bin         a float16 tensor that is a strided view (every other row of [6, 16])
                          inside an OrderedDict
    evil.pt               a zip pickle whose data.pkl calls os.system: must be rejected
    torch_expected.safetensors  the tensors each file holds, as float32

Versions used: torch 2.13.0+cpu, diffusers 0.42.1, transformers 5.23.0, peft 0.21.2.
Run from the repository root:  python3 tools/reference/make_concept_fixtures.py
"""
import collections
import copy
import io
import os
import pickle
import shutil
import sys
import tempfile
import zipfile

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SD1 = os.path.join(ROOT, "Tests", "SwapPipelineTests", "Fixtures", "pipeline", "sd1")
LORA_OUT = os.path.join(ROOT, "Tests", "SwapEditingTests", "Fixtures", "lora_reference.safetensors")
TORCH_DIR = os.path.join(ROOT, "Tests", "SwapModelsTests", "Fixtures", "torch")
SCRIPT = "tools/reference/make_concept_fixtures.py"
PROMPT = "a red circle"
torch.set_num_threads(1)

KOHYA_KINDS = ("to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2", "proj_in", "proj_out",
               "conv1", "conv2", "conv_shortcut", "time_emb_proj", "q_proj", "k_proj", "v_proj", "out_proj",
               "fc1", "fc2")


def factors(module, rank, g, scale=0.2):
    """Random (down, up) for a Linear or Conv2d; convs get a kernel-sized down and a 1x1 up."""
    if isinstance(module, torch.nn.Linear):
        return (torch.randn(rank, module.in_features, generator=g) * scale,
                torch.randn(module.out_features, rank, generator=g) * scale)
    k = module.kernel_size
    return (torch.randn(rank, module.in_channels, *k, generator=g) * scale,
            torch.randn(module.out_channels, rank, 1, 1, generator=g) * scale)


def check_merge(name, scale, tensors, base_unet, base_text, ids, zt, out):
    """Cross-check of diffusers' result: W + scale * alpha / rank * up @ down merged by hand."""
    unet, text = copy.deepcopy(base_unet), copy.deepcopy(base_text)
    for key, down in tensors.items():
        if not key.endswith(("lora_down.weight", "lora_A.weight")):
            continue
        stem = key.rsplit(".", 2)[0]
        up = tensors[key.replace("lora_down", "lora_up").replace("lora_A", "lora_B")]
        alpha = tensors.get(stem + ".alpha", torch.tensor(float(down.shape[0]))).item()
        if stem.startswith(("unet.", "text_encoder.")):
            prefix, module = stem.split(".", 1)
        else:
            prefix = "unet" if stem.startswith("lora_unet_") else "text_encoder"
            names = [n for n, _ in (unet if prefix == "unet" else text).named_modules()]
            flat = stem.split("_", 2)[2] if prefix == "unet" else stem[len("lora_te_"):]
            module = next(n for n in names if ("text_model." + n if prefix == "text_encoder" else n).replace(".", "_") == flat)
        model = unet if prefix == "unet" else text
        module = module[len("text_model."):] if prefix == "text_encoder" and module.startswith("text_model.") else module
        layer = model.get_submodule(module)
        with torch.no_grad():
            delta = up.flatten(1) @ down.flatten(1)
            layer.weight += scale * alpha / down.shape[0] * delta.reshape(layer.weight.shape)
    with torch.no_grad():
        t = text(ids).last_hidden_state
        u = unet(zt, torch.tensor([500]), t).sample
    errors = ((t - out[f"out.{name}.text"]).abs().max().item(), (u - out[f"out.{name}.unet"]).abs().max().item())
    print(f"{name}: hand merge vs diffusers max abs (text, unet) = {errors}")
    assert max(errors) < 1e-4


def lora_fixtures():
    from diffusers import StableDiffusionPipeline
    tmp = tempfile.mkdtemp()
    shutil.copytree(SD1, os.path.join(tmp, "sd1"))
    write_vocab_and_merges(os.path.join(tmp, "sd1", "tokenizer"))
    pipe = StableDiffusionPipeline.from_pretrained(os.path.join(tmp, "sd1"), safety_checker=None, requires_safety_checker=False)
    pipe.unet.set_default_attn_processor()
    layers = [(prefix, n, m) for prefix, model in (("unet", pipe.unet), ("text_encoder", pipe.text_encoder))
              for n, m in model.named_modules() if isinstance(m, (torch.nn.Linear, torch.nn.Conv2d))]
    g = torch.Generator().manual_seed(11)
    kohya, peft_layout = {}, {}
    for prefix, n, m in layers:
        if prefix == "text_encoder" and not n.startswith("text_model."):
            n = "text_model." + n   # transformers 5 names the modules without it; the files keep it
        if n.endswith(KOHYA_KINDS) and "attentions" in n or n.endswith(KOHYA_KINDS[8:]):
            down, up = factors(m, 4, g)
            k = ("lora_unet_" if prefix == "unet" else "lora_te_") + n.replace(".", "_")
            alpha = 8.0 if isinstance(m, torch.nn.Conv2d) else 2.0
            kohya.update({k + ".lora_down.weight": down, k + ".lora_up.weight": up, k + ".alpha": torch.tensor(alpha)})
        down, up = factors(m, 2, g)
        peft_layout.update({f"{prefix}.{n}.lora_A.weight": down, f"{prefix}.{n}.lora_B.weight": up})
    save_file(kohya, os.path.join(tmp, "kohya.safetensors"))
    save_file(peft_layout, os.path.join(tmp, "peft.safetensors"))

    out = {}
    ids = pipe.tokenizer([PROMPT], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    zt = torch.randn(1, 4, 8, 8, generator=g)
    out.update({"ids": ids[0].float(), "zt": zt})

    def outputs(name):
        with torch.no_grad():
            text = pipe.text_encoder(ids).last_hidden_state
            out[f"out.{name}.text"] = text
            out[f"out.{name}.unet"] = pipe.unet(zt, torch.tensor([500]), text).sample

    outputs("none")
    base_unet, base_text = copy.deepcopy(pipe.unet), copy.deepcopy(pipe.text_encoder)
    pipe.load_lora_weights(os.path.join(tmp, "kohya.safetensors"), adapter_name="kohya")
    pipe.load_lora_weights(os.path.join(tmp, "peft.safetensors"), adapter_name="peft")
    for name, scale in (("kohya", 0.7), ("peft", 1.0)):
        pipe.set_adapters([name], [scale])
        outputs(name)
        check_merge(name, scale, kohya if name == "kohya" else peft_layout, base_unet, base_text, ids, zt, out)
    out.update({f"kohya/{k}": v.reshape(-1) if v.dim() == 0 else v for k, v in kohya.items()})
    out.update({f"peft/{k}": v for k, v in peft_layout.items()})
    save_file({k: v.contiguous().float() for k, v in out.items()}, LORA_OUT, metadata={"script": SCRIPT})
    shutil.rmtree(tmp)
    print(f"wrote {LORA_OUT}: {len(kohya) // 3} kohya modules, {len(peft_layout) // 2} PEFT modules")


class EvilReduce:
    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def torch_fixtures():
    os.makedirs(TORCH_DIR, exist_ok=True)
    g = torch.Generator().manual_seed(12)
    expected = {}
    param = torch.nn.Parameter(torch.randn(2, 16, generator=g))
    torch.save({"string_to_token": {"*": 265}, "string_to_param": {"*": param}, "name": "two",
                "step": 3000, "sd_checkpoint": None, "sd_checkpoint_name": None},
               os.path.join(TORCH_DIR, "a1111.pt"))
    expected["a1111"] = param.detach()
    single = torch.randn(16, generator=g)
    torch.save({"<tiny-cup>": single}, os.path.join(TORCH_DIR, "learned_embeds.bin"))
    expected["learned_embeds"] = single
    with zipfile.ZipFile(os.path.join(TORCH_DIR, "learned_embeds.bin")) as src, \
            zipfile.ZipFile(os.path.join(TORCH_DIR, "learned_embeds_deflated.bin"), "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename), compress_type=zipfile.ZIP_DEFLATED)
    base = torch.randn(6, 16, generator=g).half()
    view = base[::2]
    torch.save(collections.OrderedDict([("<half>", view)]), os.path.join(TORCH_DIR, "half_view.bin"))
    expected["half_view"] = view.float()
    # A torch zip whose pickle reduces os.system (written with pickle directly; never loaded).
    buffer = io.BytesIO()
    torch.save({"x": torch.zeros(1)}, buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, zipfile.ZipFile(os.path.join(TORCH_DIR, "evil.pt"), "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                data = pickle.dumps({"x": EvilReduce()}, protocol=2)
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_STORED)
    save_file(expected, os.path.join(TORCH_DIR, "torch_expected.safetensors"), metadata={"script": SCRIPT})
    print(f"wrote {TORCH_DIR}")


if __name__ == "__main__":
    torch_fixtures()
    if "--torch-only" not in sys.argv:
        lora_fixtures()
