#!/usr/bin/env python3
"""Reference fixtures for the Swift CLIP tokenizer and CLIPTextModel (SwapModels).

Needs torch (2.13.0+cpu), transformers (5.x, tokenizers backend) and safetensors. No downloads:
the tokenizer is built from the real CLIP BPE file (`bpe_simple_vocab_16e6.txt.gz`, as bundled
in Sources/SwapModels/Resources), the text encoders are tiny random-weight models.

Writes, under Tests/SwapModelsTests/Fixtures/clip/:
  tokenizer_cases.json        >= 200 strings with HF CLIPTokenizer ids (SD1 and SD2 padding),
                              and for the first cases HF's per-token decode (readable pieces)
  tokenizer_sd1/, tokenizer_sd2/   special_tokens_map.json + tokenizer_config.json as in the SD repos
  sd1/, sd2/                  config.json + model.safetensors (CLIPTextModel.save_pretrained)
  sd1_single.safetensors      the sd1 weights under ldm names (cond_stage_model.transformer.…)
  sd2_openclip.safetensors    the sd2 weights under OpenCLIP names (cond_stage_model.model.…, fused
                              in_proj, plus an extra block and text_projection that loaders drop)
  text_reference.safetensors  inputs (ids as float) and outputs for both models

Run from the repository root:  python3 tools/reference/make_clip_fixtures.py
"""
import json
import os
import random
import shutil
import sys
import tempfile

import torch
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapModelsTests", "Fixtures", "clip")
SCRIPT = "tools/reference/make_clip_fixtures.py"


def write_tokenizer_dir(path, pad_token):
    """A diffusers-style tokenizer/ folder: vocab derived from the BPE file as open_clip does."""
    merges = write_vocab_and_merges(path)
    added = lambda c: {"__type": "AddedToken", "content": c, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    special = lambda c: {"content": c, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}
    config = {"add_prefix_space": False, "bos_token": added("<|startoftext|>"), "do_lower_case": True,
              "eos_token": added("<|endoftext|>"), "errors": "replace", "model_max_length": 77,
              "pad_token": "<|endoftext|>", "tokenizer_class": "CLIPTokenizer", "unk_token": added("<|endoftext|>")}
    smap = {"bos_token": special("<|startoftext|>"), "eos_token": special("<|endoftext|>"),
            "pad_token": pad_token, "unk_token": special("<|endoftext|>")}
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(path, "special_tokens_map.json"), "w") as f:
        json.dump(smap, f, indent=2)


def test_strings():
    s = [
        "", " ", "a", "A", "!", "!!", "! !! !!!", "hello!world", "Hello, World!", "a photo of a cat",
        "A painting of a squirrel eating a burger", "an astronaut riding a horse on mars",
        "don't", "DON'T", "I'm here, you're there, we've been, she'll go, he'd say, it's fine",
        "'s 't 're 've 'm 'll 'd", "''s", "!'s", "rock'n'roll", "o'clock", "it’s (curly apostrophe)",
        "  leading and trailing  ", "multiple    spaces\tand\ttabs\nand\nnewlines\r\n", "\u00a0nbsp\u2003em\u3000ideo",
        "12345", "3.14159", "1,000,000", "2024-01-01", "x²+y³", "½ ⅓ ¼", "Ⅻ roman", "٣ arabic digit", "१२३ devanagari",
        "naïve café résumé", "Crème Brûlée", "ÅNGSTRÖM", "straße STRASSE", "İstanbul", "ΣΑΣ σας", "Ωmega",
        "e\u0301 combining (NFC)", "a\u0308o\u0308u\u0308", "ﬁ ligature", "ＡＢＣ fullwidth！", "Ǆ ǅ ǆ titlecase",
        "日本語のテキスト", "中文字符测试", "한국어 텍스트", "ไทย", "עברית", "العربية", "Русский текст", "Ελληνικά",
        "🐱", "🐱‍👤 ninja cat", "👍🏽 thumbs", "🇯🇵 flag", "❤️ heart", "emoji🙂inside", "😀😃😄😁",
        "<|startoftext|>", "<|endoftext|>", "a <|endoftext|> b", "x<|startoftext|>y", "A <|ENDOFTEXT|> b",
        "<|endoftext|><|endoftext|>", "<|notatoken|>", "<|", "|>", "<>", "[[brackets]] {braces} (parens)",
        "((masterpiece)), best quality, (ultra-detailed:1.2)", "[cat:dog:0.5]", "a | b || c", "a.b.c", "...", "?!?!",
        "#hashtag @mention $100 %50 ^caret &amp *star", "email@example.com", "https://example.com/path?q=1&r=2",
        "C:\\Windows\\path", "tab\tseparated", "under_score", "kebab-case-word", "camelCaseWord", "PascalCase",
        "ALLCAPS SENTENCE HERE", "MiXeD CaSe", "\x00nul\x01ctrl\x1f", "\ufffdreplacement", "zero\u200bwidth",
        "soft\u00adhyphen", "bom\ufeffmark", "rtl\u200fmark", "\u2028line sep\u2029para sep", "a\x85b",
        "supercalifragilisticexpialidocious", "pneumonoultramicroscopicsilicovolcanoconiosis",
        "antidisestablishmentarianism", "hippopotomonstrosesquippedaliophobia",
        "the the the the the", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "ababababababababab", "zzzzzzzzzz",
        "photorealistic, 8k, octane render, trending on artstation, by greg rutkowski",
        "a beautiful landscape with mountains and a lake at sunset, highly detailed, digital art",
        "portrait of a woman, oil painting, renaissance style",
        "a red car next to a blue car", "a cat sitting on a chair", "a dog in the snow",
        "cyberpunk city at night, neon lights, rain", "low quality, blurry, watermark, text",
    ]
    long_prompt = ", ".join(["a very detailed intricate ornate baroque cathedral interior"] * 12)
    s += [long_prompt, "word " * 80, "1 2 3 4 5 6 7 8 9 0 " * 10, "! " * 100, "🐱" * 40, "日本" * 60,
          " ".join(str(i) for i in range(100)), "x" * 300]
    # Deterministic random strings over a mixed alphabet, and random word salads.
    rng = random.Random(1234)
    alphabet = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-_()[]{}<>|/\\@#$%^&*+=~`") + \
        list("éèêëàâäôöûüçñßøåæœÉÀÖÜ日本語中文한국ΣΩπ✓★♥€£¥©®™°±×÷…—–“”‘’«»¿¡") + ["🙂", "🐶", "🌸", "\t", "\n", "  "]
    for _ in range(70):
        n = rng.randint(1, 40)
        s.append("".join(rng.choice(alphabet) for _ in range(n)))
    words = ["cat", "dog", "house", "tree", "Beautiful", "sky", "blue", "red", "isn't", "can't", "you'll", "New-York",
             "über", "façade", "piñata", "coöperate", "x-ray", "3D", "4K", "HDR", "f/1.8", "50mm", "!", "?", "...", "🙂"]
    for _ in range(50):
        s.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 25))))
    return s


def make_tokenizer_fixture(tmp):
    toks = {}
    for name, pad in [("sd1", "<|endoftext|>"), ("sd2", "!")]:
        d = os.path.join(tmp, name)
        write_tokenizer_dir(d, pad)
        toks[name] = CLIPTokenizer.from_pretrained(d)
        out_dir = os.path.join(OUT, f"tokenizer_{name}")
        os.makedirs(out_dir, exist_ok=True)
        for f in ["special_tokens_map.json", "tokenizer_config.json"]:
            shutil.copy(os.path.join(d, f), os.path.join(out_dir, f))
    assert toks["sd1"].pad_token_id == 49407 and toks["sd2"].pad_token_id == 0
    cases = []
    for i, text in enumerate(test_strings()):
        case = {"text": text}
        for name, tok in toks.items():
            ids = tok(text, padding="max_length", max_length=77, truncation=True).input_ids
            assert len(ids) == 77
            case[name] = ids
        if i < 60:
            # HF's readable form of each id (decode of one token: bytes as UTF-8 with
            # replacement, "</w>" removed), for checking the pieces.
            case["sd1_decoded"] = [toks["sd1"].decode([t]) for t in case["sd1"]]
        cases.append(case)
    with open(os.path.join(OUT, "tokenizer_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"generated_by": SCRIPT, "transformers": __import__("transformers").__version__,
                   "cases": cases}, f, ensure_ascii=True, separators=(",", ":"))
    print(f"tokenizer: {len(cases)} cases")


def tiny_config(act):
    return CLIPTextConfig(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-05,
                          num_attention_heads=4, num_hidden_layers=3, pad_token_id=1, vocab_size=1000,
                          hidden_act=act, projection_dim=512)


def openclip_state(sd, layers, generator):
    """transformers names -> OpenCLIP names (inverse of diffusers' convert_open_clip_checkpoint)."""
    p = "cond_stage_model.model."
    t = lambda k: sd["text_model." + k] if "text_model." + k in sd else sd[k]
    out = {p + "token_embedding.weight": t("embeddings.token_embedding.weight"),
           p + "positional_embedding": t("embeddings.position_embedding.weight"),
           p + "ln_final.weight": t("final_layer_norm.weight"), p + "ln_final.bias": t("final_layer_norm.bias")}
    for i in range(layers):
        a = f"encoder.layers.{i}."
        b = f"{p}transformer.resblocks.{i}."
        out[b + "attn.in_proj_weight"] = torch.cat([t(a + f"self_attn.{x}_proj.weight") for x in "qkv"], 0)
        out[b + "attn.in_proj_bias"] = torch.cat([t(a + f"self_attn.{x}_proj.bias") for x in "qkv"], 0)
        for src, dst in [("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                         ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]:
            out[b + dst + ".weight"] = t(a + src + ".weight")
            out[b + dst + ".bias"] = t(a + src + ".bias")
    # The dropped last OpenCLIP block and the projection: junk the loader must ignore.
    last = f"{p}transformer.resblocks.{layers}."
    for k, v in list(out.items()):
        if k.startswith(f"{p}transformer.resblocks.0."):
            out[last + k[len(f"{p}transformer.resblocks.0."):]] = torch.randn(v.shape, generator=generator) * 100
    out[p + "text_projection"] = torch.randn(32, 16, generator=generator)
    out["model.diffusion_model.dummy.weight"] = torch.zeros(2)
    return {k: v.contiguous() for k, v in out.items()}


def make_model_fixtures():
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(7)
    # Batch of 2 at length 77: BOS-like id, random content, EOS-like id, then padding as SD1
    # (repeat EOS) and SD2 (id 0) do. The tiny vocab is 1000, so all ids are < 1000.
    rows = []
    for content, pad in [(10, 999), (40, 0)]:
        ids = [998] + torch.randint(0, 998, (content,), generator=gen).tolist() + [999]
        rows.append(ids + [pad] * (77 - len(ids)))
    ids = torch.tensor(rows, dtype=torch.long)
    ref = {"input_ids": ids.to(torch.float32)}
    for name, act in [("sd1", "quick_gelu"), ("sd2", "gelu")]:
        torch.manual_seed(0)
        model = CLIPTextModel(tiny_config(act)).eval()
        # Spread the weights so the outputs are not dominated by LayerNorm defaults.
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if "norm" in pname:
                    p.copy_(1 + 0.2 * torch.randn(p.shape, generator=gen) if pname.endswith("weight") else 0.2 * torch.randn(p.shape, generator=gen))
                elif pname.endswith("bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        d = os.path.join(OUT, name)
        model.save_pretrained(d, safe_serialization=True)
        with torch.no_grad():
            out = model(input_ids=ids, output_hidden_states=True)
            hs = out.hidden_states
            assert len(hs) == 4
            ref[f"{name}.last_hidden_state"] = out.last_hidden_state
            for i, h in enumerate(hs):
                ref[f"{name}.hidden_states.{i}"] = h
            # diffusers encode_prompt with clip_skip=1: final_layer_norm(hidden_states[-2]).
            ref[f"{name}.clip_skip_1"] = model.text_model.final_layer_norm(hs[-2]) if hasattr(model, "text_model") \
                else model.final_layer_norm(hs[-2])
        sd = {k: v for k, v in model.state_dict().items() if "position_ids" not in k}
        keys = list(sd.keys())
        print(name, "keys e.g.", keys[:2], len(keys))
        if name == "sd1":
            single = {"cond_stage_model.transformer." + (k if k.startswith("text_model.") else "text_model." + k): v.contiguous()
                      for k, v in sd.items()}
            single["model.diffusion_model.dummy.weight"] = torch.zeros(2)
            save_file(single, os.path.join(OUT, "sd1_single.safetensors"))
        else:
            save_file(openclip_state(sd, 3, gen), os.path.join(OUT, "sd2_openclip.safetensors"))
    save_file({k: v.contiguous() for k, v in ref.items()}, os.path.join(OUT, "text_reference.safetensors"),
              metadata={"generated_by": SCRIPT})


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        make_tokenizer_fixture(tmp)
    make_model_fixtures()
    # safetensors writes 0600 files; make them readable like the rest of the tree.
    for dirpath, _, files in os.walk(OUT):
        for f in files:
            os.chmod(os.path.join(dirpath, f), 0o644)


if __name__ == "__main__":
    sys.exit(main())
