#!/usr/bin/env python3
"""Reference fixtures for score distillation and InstantSwap (SwapEditing).

Runs on the tiny SD1 pipeline committed under Tests/SwapPipelineTests/Fixtures/pipeline/sd1 (made
by make_pipeline_fixtures.py), with the official codes' formulas written out in torch:

  dds.*   One DDS iteration (google/prompt-to-prompt DDS_zeroshot.ipynb `get_dds_loss`): shared
          t and eps, one UNet call on [src_u, tgt_u, src_c, tgt_c], CFG 7.5 per branch,
          g = eps_tgt - eps_src; then the surrogate loss 2000 * sum(z * g) / (h * w) backpropagated
          and torch.optim.SGD(lr=0.1) stepped (dds.updated).
  sds.*   One SDS gradient (same notebook, `get_sds_loss`): g = CFG(eps(z_t; y)) - eps.
  swap.*  One InstantSwap anchor gradient (chenyangzhu1/InstantSwap InstantSwap.py with the
          utils/Attn_proce.py processor re-implemented below): SECR on every attn2 (inside the box
          the queries attend to [E(""), E(concept)], outside the result is the head-split
          normalised input), two batch-2 UNet calls, g = M_box * (eps_tgt - eps_src), M_box the
          32x32 box mask downsampled by nearest (pixel (2i, 2j) for this VAE's factor 2).
  cds.*   The patch-contrastive loss of HyelinNAM/ContrastiveDenoisingScore utils/loss.py (CutLoss:
          avg-pool p x p, F.normalize over channels, the sampled locations, PatchNCE with
          tau 0.07 and -10 on the negatives' diagonal) on random 8x8x8 features, patch sizes [1, 2],
          with given location ids; its value and gradient with respect to the current features.
  ti.*    Textual inversion: diffusers `load_textual_inversion` of a learned_embeds.safetensors
          ({"<tiny-cup>": [16]}) and of an A1111 file (emb_params [2, 16], token "<two>"), then
          the prompt embeddings of prompts using them; and the gradient of the training loss
          mean((unet(z_t, 600, c) - eps)^2) with respect to a new token's row (initialised from
          "toy"), as examples/textual_inversion/textual_inversion.py computes it.
  lora.*  LoRA on the UNet's attention projections: random rank-4 factors for every to_q/to_k/
          to_v/to_out.0, saved in the kohya layout (lora_unet_..., alpha 2) and the diffusers/PEFT
          layout (unet....lora_A/lora_B), each loaded with `pipe.load_lora_weights` (peft 0.21.2)
          and applied with `set_adapters` (kohya at scale 0.7, PEFT at 1); the UNet output for the
          DDS inputs (t 500, source prompt) under each, and with no LoRA. The kohya file's
          tensors are stored under lora.kohya/<key> (the PEFT file holds the same factors).
  bbox.*  The post-processing of get_bbox.py on synthetic attention of an 8x8 grid (3 passes):
          A_c^2, A_s @ A_c, token column, 255 * m / max -> uint8 -> PIL resize (bicubic) to 64x64,
          /255 >= 0.5, scipy.ndimage.label largest component, union, box [min, max).

Versions used: torch 2.13.0+cpu, diffusers 0.42.1, transformers 5.23.0, Pillow 13.0.0, scipy 1.17.1.
Run from the repository root:  python3 tools/reference/make_distillation_fixtures.py
Writes Tests/SwapEditingTests/Fixtures/distillation_reference.safetensors (metadata "script").
"""
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from diffusers import DDIMScheduler, UNet2DConditionModel
from PIL import Image
from safetensors.torch import save_file
from scipy import ndimage
from transformers import CLIPTextModel, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SD1 = os.path.join(ROOT, "Tests", "SwapPipelineTests", "Fixtures", "pipeline", "sd1")
OUT = os.path.join(ROOT, "Tests", "SwapEditingTests", "Fixtures", "distillation_reference.safetensors")
SCRIPT = "tools/reference/make_distillation_fixtures.py"
torch.set_num_threads(1)

SOURCE_PROMPT, TARGET_PROMPT = "a red circle", "a green square"
SOURCE_CONCEPT, TARGET_CONCEPT = "circle", "square"
GUIDANCE = 7.5
T_DDS, T_SWAP = 500, 700
BOX = (8, 6, 24, 20)   # top, left, bottom (exclusive), right (exclusive) on the 32x32 image


def load():
    tmp = tempfile.mkdtemp()
    tok = os.path.join(tmp, "tokenizer")
    shutil.copytree(os.path.join(SD1, "tokenizer"), tok)
    write_vocab_and_merges(tok)
    tokenizer = CLIPTokenizer.from_pretrained(tok)
    text_encoder = CLIPTextModel.from_pretrained(os.path.join(SD1, "text_encoder"), torch_dtype=torch.float32).eval()
    unet = UNet2DConditionModel.from_pretrained(os.path.join(SD1, "unet")).eval()
    unet.set_default_attn_processor()
    scheduler = DDIMScheduler.from_pretrained(os.path.join(SD1, "scheduler"))
    shutil.rmtree(tmp)
    return tokenizer, text_encoder, unet, scheduler


def embed(tokenizer, text_encoder, text):
    ids = tokenizer([text], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    return text_encoder(ids).last_hidden_state


def cfg(e):
    u, c = e.chunk(2)
    return u + GUIDANCE * (c - u)


class SECRProcessor:
    """utils/Attn_proce.py MyAttnProcessor for attn2 with a region: box queries attend to the
    concept prompt; elsewhere the head-split input passes through; then to_out."""

    def __init__(self, box, image_size):
        self.box = box
        self.image_size = image_size
        self.concept = None   # [2, 77, D]: E(""), E(concept)

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        if encoder_hidden_states is None:   # attn1: the standard processor
            q = attn.head_to_batch_dim(attn.to_q(hidden_states))
            k = attn.head_to_batch_dim(attn.to_k(hidden_states))
            v = attn.head_to_batch_dim(attn.to_v(hidden_states))
            out = attn.batch_to_head_dim(torch.bmm(attn.get_attention_scores(q, k, None), v))
            return attn.to_out[1](attn.to_out[0](out))
        b, n, _ = hidden_states.shape
        side = int(round(n ** 0.5))
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        states = attn.head_to_batch_dim(hidden_states)
        top, left, bottom, right = self.box
        # min / max nonzero index of the box mask over the image size
        r0 = int(top / self.image_size * side)
        r1 = int((bottom - 1) / self.image_size * side)
        c0 = int(left / self.image_size * side)
        c1 = int((right - 1) / self.image_size * side)
        key = attn.head_to_batch_dim(attn.to_k(self.concept))
        value = attn.head_to_batch_dim(attn.to_v(self.concept))
        q = query.reshape(query.shape[0], side, side, -1)
        s = states.reshape(states.shape[0], side, side, -1).clone()
        region = torch.einsum("bhwc,bnc->bhwn", q[:, r0:r1, c0:c1, :], key) * attn.scale
        s[:, r0:r1, c0:c1, :] = torch.einsum("bhwn,bnc->bhwc", region.softmax(dim=-1), value)
        out = attn.batch_to_head_dim(s.reshape(s.shape[0], side * side, -1))
        return attn.to_out[1](attn.to_out[0](out))


def bbox_postprocess(cross, self_attn, token, grid, size):
    attention_maps = torch.pow(cross, 2)
    m = (self_attn @ attention_maps).reshape(grid, grid, -1)[:, :, token]
    image = 255 * m / m.max()
    image = image.unsqueeze(-1).expand(*image.shape, 3).numpy().astype(np.uint8)
    image = np.array(Image.fromarray(image).resize((size, size)))
    resized = image[:, :, 0].copy()
    normalized = (image / 255.0).sum(axis=2) / 3
    normalized[normalized >= 0.5] = 1
    normalized[normalized < 0.5] = 0
    labels, count = ndimage.label(normalized)
    sizes = ndimage.sum(normalized, labels, range(1, count + 1))
    cleaned = np.copy(normalized)
    cleaned[labels != np.argmax(sizes) + 1] = 0
    return resized, cleaned


def patch_nce(ref, trg, tau=0.07):
    n = ref.shape[0]
    ref = ref.detach()
    l_pos = torch.bmm(ref.view(n, 1, -1), trg.view(n, -1, 1)).view(n, 1)
    l_neg = torch.bmm(ref.view(1, n, -1), trg.view(1, n, -1).transpose(2, 1))
    l_neg.masked_fill_(torch.eye(n, dtype=torch.bool)[None], -10.0)
    logits = torch.cat((l_pos, l_neg.view(-1, n)), dim=1) / tau
    return torch.nn.functional.cross_entropy(logits, torch.zeros(n, dtype=torch.long), reduction="none")


def cut_loss(ref, trg, ids_by_patch, res=8):
    loss = 0
    r = ref.reshape(1, res, res, -1).permute(0, 3, 1, 2)
    q = trg.reshape(1, res, res, -1).permute(0, 3, 1, 2)
    for ps, ids in ids_by_patch:
        rp = torch.nn.functional.avg_pool2d(r, ps) if ps > 1 else r
        qp = torch.nn.functional.avg_pool2d(q, ps) if ps > 1 else q
        rp = torch.nn.functional.normalize(rp, dim=1).permute(0, 2, 3, 1).flatten(1, 2)
        qp = torch.nn.functional.normalize(qp, dim=1).permute(0, 2, 3, 1).flatten(1, 2)
        loss = loss + patch_nce(rp[0, ids], qp[0, ids]).mean()
    return loss


def main():
    tokenizer, text_encoder, unet, scheduler = load()
    alphas = torch.sqrt(scheduler.alphas_cumprod)
    sigmas = torch.sqrt(1 - scheduler.alphas_cumprod)
    out = {}
    with torch.no_grad():
        e_null = embed(tokenizer, text_encoder, "")
        e_src = embed(tokenizer, text_encoder, SOURCE_PROMPT)
        e_tgt = embed(tokenizer, text_encoder, TARGET_PROMPT)
        z_src = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(1))
        z_tgt = z_src + 0.3 * torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(2))
        eps = torch.randn(1, 4, 16, 16, generator=torch.Generator().manual_seed(3))
        out.update({"z_source": z_src, "z_target": z_tgt, "eps": eps})

        # DDS: one call on [src_u, tgt_u, src_c, tgt_c]
        t = T_DDS
        zt_src = alphas[t] * z_src + sigmas[t] * eps
        zt_tgt = alphas[t] * z_tgt + sigmas[t] * eps
        e = unet(torch.cat([zt_src, zt_tgt, zt_src, zt_tgt]), torch.tensor([t] * 4),
                 torch.cat([e_null, e_null, e_src, e_tgt])).sample
        u_src, u_tgt, c_src, c_tgt = e.chunk(4)
        g = (u_tgt + GUIDANCE * (c_tgt - u_tgt)) - (u_src + GUIDANCE * (c_src - u_src))
        out["dds.grad"] = g
        # SDS on the target latent with the target prompt
        e = unet(torch.cat([zt_tgt, zt_tgt]), torch.tensor([t] * 2), torch.cat([e_null, e_tgt])).sample
        out["sds.grad"] = cfg(e) - eps

    z = z_tgt.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([z], lr=0.1)
    loss = (z * out["dds.grad"]).sum() / (z.shape[2] * z.shape[3])
    (2000 * loss).backward()
    optimizer.step()
    out["dds.updated"] = z.detach().clone()

    with torch.no_grad():
        processor = SECRProcessor(BOX, 32)
        unet.set_attn_processor(processor)
        t = T_SWAP
        zt_src = alphas[t] * z_src + sigmas[t] * eps
        zt_tgt = alphas[t] * z_tgt + sigmas[t] * eps
        processor.concept = torch.cat([e_null, embed(tokenizer, text_encoder, SOURCE_CONCEPT)])
        eps_src = cfg(unet(torch.cat([zt_src] * 2), torch.tensor([t] * 2), torch.cat([e_null, e_src])).sample)
        processor.concept = torch.cat([e_null, embed(tokenizer, text_encoder, TARGET_CONCEPT)])
        eps_tgt = cfg(unet(torch.cat([zt_tgt] * 2), torch.tensor([t] * 2), torch.cat([e_null, e_tgt])).sample)
        mask = torch.zeros(32, 32)
        mask[BOX[0]:BOX[2], BOX[1]:BOX[3]] = 1
        mask = mask[::2, ::2]   # nearest 32 -> 16
        out["swap.grad"] = mask * (eps_tgt - eps_src)
        out["swap.grad_unmasked"] = eps_tgt - eps_src

    g = torch.Generator().manual_seed(4)
    ref = torch.randn(1, 64, 8, generator=g)
    cur = torch.randn(1, 64, 8, generator=g).requires_grad_(True)
    ids1 = torch.randperm(64, generator=g)[:40]
    ids2 = torch.randperm(16, generator=g)
    loss = cut_loss(ref, cur, [(1, ids1), (2, ids2)])
    loss.backward()
    out.update({"cds.reference": ref, "cds.current": cur.detach(), "cds.ids1": ids1.float(), "cds.ids2": ids2.float(),
                "cds.loss": loss.detach().reshape(1), "cds.grad": cur.grad})

    # Textual inversion: loading (diffusers pipeline loader) and the training gradient.
    from diffusers import StableDiffusionPipeline
    tmp = tempfile.mkdtemp()
    shutil.copytree(SD1, os.path.join(tmp, "sd1"))
    write_vocab_and_merges(os.path.join(tmp, "sd1", "tokenizer"))
    pipe = StableDiffusionPipeline.from_pretrained(os.path.join(tmp, "sd1"), safety_checker=None, requires_safety_checker=False)
    g = torch.Generator().manual_seed(5)
    single, double = torch.randn(16, generator=g), torch.randn(2, 16, generator=g)
    save_file({"<tiny-cup>": single}, os.path.join(tmp, "learned_embeds.safetensors"))
    save_file({"emb_params": double}, os.path.join(tmp, "a1111.safetensors"))
    out.update({"ti.single": single, "ti.double": double})
    pipe.load_textual_inversion(os.path.join(tmp, "learned_embeds.safetensors"))
    pipe.load_textual_inversion(os.path.join(tmp, "a1111.safetensors"), token="<two>")
    for k, prompt in enumerate(["a <tiny-cup> on a table", "two <two> and a <tiny-cup>"]):
        prompt = pipe.maybe_convert_prompt(prompt, pipe.tokenizer)
        ids = pipe.tokenizer([prompt], padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        with torch.no_grad():
            out[f"ti.ids{k}"] = ids[0].float()
            out[f"ti.embeds{k}"] = pipe.text_encoder(ids).last_hidden_state
    # LoRA: kohya and PEFT layouts through diffusers' loader.
    mods = [n for n, _ in pipe.unet.named_modules() if n.endswith(("to_q", "to_k", "to_v", "to_out.0"))]
    g = torch.Generator().manual_seed(6)
    kohya, peft_layout = {}, {}
    for n in mods:
        lin = pipe.unet.get_submodule(n)
        down = torch.randn(4, lin.in_features, generator=g) * 0.3
        up = torch.randn(lin.out_features, 4, generator=g) * 0.3
        k = "lora_unet_" + n.replace(".", "_")
        kohya.update({k + ".lora_down.weight": down, k + ".lora_up.weight": up, k + ".alpha": torch.tensor(2.0)})
        peft_layout.update({"unet." + n + ".lora_A.weight": down, "unet." + n + ".lora_B.weight": up})
    save_file(kohya, os.path.join(tmp, "kohya.safetensors"))
    save_file(peft_layout, os.path.join(tmp, "peft.safetensors"))
    pipe.load_lora_weights(os.path.join(tmp, "kohya.safetensors"), adapter_name="kohya")
    pipe.load_lora_weights(os.path.join(tmp, "peft.safetensors"), adapter_name="peft")
    zt = alphas[T_DDS] * z_src + sigmas[T_DDS] * eps
    with torch.no_grad():
        for name, scale in (("kohya", 0.7), ("peft", 1.0)):
            pipe.set_adapters([name], [scale])
            out[f"lora.out_{name}"] = pipe.unet(zt, torch.tensor([T_DDS]), e_src).sample
        pipe.unet.disable_lora()
        out["lora.out_none"] = pipe.unet(zt, torch.tensor([T_DDS]), e_src).sample
    out.update({f"lora.kohya/{k}": v.reshape(-1) if v.dim() == 0 else v for k, v in kohya.items()})

    # training gradient of a fresh token initialised from "toy"
    tokenizer.add_tokens(["<tiny>"])
    text_encoder.resize_token_embeddings(len(tokenizer))
    new_id = tokenizer.convert_tokens_to_ids("<tiny>")
    init_id = tokenizer.encode("toy", add_special_tokens=False)[0]
    with torch.no_grad():
        text_encoder.get_input_embeddings().weight[new_id] = text_encoder.get_input_embeddings().weight[init_id]
    from diffusers.models.attention_processor import AttnProcessor
    unet.set_attn_processor(AttnProcessor())
    weight = text_encoder.get_input_embeddings().weight
    weight.requires_grad_(True)
    ids = tokenizer(["a photo of a <tiny>"], padding="max_length", max_length=77, return_tensors="pt").input_ids
    t = 600
    noisy = scheduler.add_noise(z_src, eps, torch.tensor([t]))
    pred = unet(noisy, torch.tensor([t]), text_encoder(ids).last_hidden_state).sample
    loss = torch.nn.functional.mse_loss(pred.float(), eps.float(), reduction="mean")
    loss.backward()
    out["ti.loss"] = loss.detach().reshape(1)
    out["ti.grad"] = weight.grad[new_id].clone()
    shutil.rmtree(tmp)

    # Auto bbox post-processing on synthetic attention (8x8 grid, 77 tokens, token 5).
    rng = np.random.default_rng(0)
    grid, size, token = 8, 64, 5
    ys, xs = np.mgrid[0:grid, 0:grid]
    masks = []
    for p, (cy, cx) in enumerate([(3.0, 4.0), (3.5, 4.5), (2.5, 3.5)]):
        cross = rng.random((grid * grid, 77)).astype(np.float32) * 0.02
        blob = np.exp(-((ys - cy) ** 2 + (xs - cx) ** 2) / 3.0).reshape(-1)
        cross[:, token] += blob.astype(np.float32) * 0.5
        cross[grid * grid - 1, token] += 0.45   # a lone bright corner: removed by the component filter
        cross /= cross.sum(axis=1, keepdims=True)
        self_attn = rng.random((grid * grid, grid * grid)).astype(np.float32) ** 8
        self_attn += np.eye(grid * grid, dtype=np.float32) * 4
        self_attn /= self_attn.sum(axis=1, keepdims=True)
        resized, cleaned = bbox_postprocess(torch.from_numpy(cross), torch.from_numpy(self_attn), token, grid, size)
        out[f"bbox.cross{p}"] = torch.from_numpy(cross)
        out[f"bbox.self{p}"] = torch.from_numpy(self_attn)
        out[f"bbox.resized{p}"] = torch.from_numpy(resized.astype(np.float32))
        out[f"bbox.mask{p}"] = torch.from_numpy(cleaned.astype(np.float32))
        masks.append(cleaned)
    union = np.zeros((size, size), dtype=bool)
    for m in masks:
        union = np.logical_or(union, m)
    x, y = np.where(union != 0)
    out["bbox.box"] = torch.tensor([x.min(), y.min(), x.max(), y.max()], dtype=torch.float32)

    save_file({k: v.contiguous().float() for k, v in out.items()}, OUT, metadata={"script": SCRIPT})
    print("wrote", OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
