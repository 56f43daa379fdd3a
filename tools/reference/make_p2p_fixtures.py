#!/usr/bin/env python3
"""Reference fixtures for Prompt-to-Prompt token alignment, DDIM inversion and null-text inversion
(Tests/SwapEditingTests).

Part 1, p2p_alignment.json: the Prompt-to-Prompt token bookkeeping on the real CLIP tokenizer
(transformers CLIPTokenizer over vocab.json/merges.txt derived from the bundled BPE file, see
clip_bpe.py). The algorithms are re-implemented here from the official google/prompt-to-prompt
code (seq_aligner.py: get_word_inds, get_replacement_mapper_, global_align/get_mapper;
ptp_utils.py: get_time_words_attention_alpha; the notebooks' get_equalizer), in my own words:
  word_inds     [{text, word, indices}]          word → token positions (BOS = 0)
  replace       [{source, target, entries}]      the 77×77 word-swap matrix, nonzero entries [i, j, v]
  refine        [{source, target, mapper, alphas}]  Needleman–Wunsch alignment (77 entries each)
  equalizer     [{text, words, values, equalizer}] reweighting vector (77)
  alpha_words   [{source, target, steps, default, words, alpha}]  cross-replace window [steps+1][77]

Part 2, inversion_reference.safetensors, on the tiny SD1 pipeline of
Tests/SwapPipelineTests/Fixtures/pipeline/sd1 (made by make_pipeline_fixtures.py):
  image                [1,3,32,32]  the input image in [-1, 1] (8-bit values k/255·2−1)
  z0                   [1,4,16,16]  vae.encode(image).latent_dist.mean · scaling_factor
  invert.trajectory    [11,1,4,16,16] z0 and the latents after each DDIMInverseScheduler step
                       (from_config of the pipeline's DDIMScheduler config: steps_offset 1,
                       set_alpha_to_one False; 10 steps; the UNet on the prompt embedding alone,
                       guidance 1), as diffusers' inverting pipelines loop over inverse.timesteps
  invert.timesteps     [10] the inverse scheduler's timesteps (1, 101, …, 901)
  offset0.trajectory   [11,1,4,16,16] the same with the null-text notebook's grid (steps_offset 0)
  recon.w1             [1,4,16,16]  DDIMScheduler sampling from z_T back to z_0, guidance 1
  recon.w7_5           [1,4,16,16]  the same with classifier-free guidance 7.5 (uncond = "")
  nti.embeddings       [10,77,16]   null-text inversion's per-step unconditional embeddings
  nti.losses           [10,10]      loss of each inner iteration (NaN where it stopped early)
  nti.iterations       [10]         inner iterations used per step
  nti.recon            [1,4,16,16]  sampling from z_T at guidance 7.5 with the per-step embeddings
Part 3, p2p_reference.safetensors: Prompt-to-Prompt pairs on the same tiny pipeline (5 DDIM
steps, guidance 7.5, initial latent torch.randn((1,4,16,16), Generator().manual_seed(11)),
batch [uncond, uncond, source, target]) with a diffusers attention processor that applies the
official controller semantics (AttentionControlEdit.forward: conditional half only; cross:
α·Edit + (1−α)·own; self: copy the source map for steps in the self window at ≤16² queries;
LocalBlend after the scheduler step from the post-edit cross maps summed over steps, here all
cross layers at 8×8, the tiny model's only attention resolution):
  <case>.source, <case>.target   [1,4,16,16] final latents, for the cases
  replace  "a cat sitting on a car" → "a dog sitting on a car", cross 0.8, self 0.4
  refine   → "a black cat sitting on a car"
  reweight replace + weights {dog: 2}
  blend    replace + local blend on ("cat", "dog"), threshold 0.92 (the random model's maps are
           nearly flat: normalised values 0.84–1, so 0.3 would keep everything)

NTI follows the null_text_w_ptp.ipynb algorithm (spec §3), re-implemented: per step a fresh Adam
(lr 1e-2·(1 − i/100)), at most 10 inner iterations, stop when loss < 1e-5 + i·2e-5 (checked after
the Adam step), then advance with full CFG using the optimised embedding.

Versions used: torch 2.13.0+cpu, diffusers 0.42.1, transformers 5.23.0.
Run from the repository root:  python3 tools/reference/make_p2p_fixtures.py
"""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
from diffusers import DDIMInverseScheduler, DDIMScheduler, StableDiffusionPipeline
from safetensors.torch import save_file
from transformers import CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clip_bpe import write_vocab_and_merges  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapEditingTests", "Fixtures")
PIPELINE = os.path.join(ROOT, "Tests", "SwapPipelineTests", "Fixtures", "pipeline", "sd1")
SD1_MAPS = os.path.join(ROOT, "Tests", "SwapModelsTests", "Fixtures", "clip", "tokenizer_sd1")
SCRIPT = "tools/reference/make_p2p_fixtures.py"
MAX_LEN = 77
torch.set_num_threads(1)


# ---------------------------------------------------------------- Part 1: token alignment

def content_ids(tok, text):
    """tokenizer.encode(text): BOS, the prompt's tokens, EOS (no padding)."""
    return tok.encode(text)


def word_inds(tok, text, place):
    """Token positions of the word(s) at `place` (an int word index, or a word matched exactly)
    after splitting `text` on single spaces; walks the decoded tokens by character length."""
    words = text.split(" ")
    places = [i for i, w in enumerate(words) if w == place] if isinstance(place, str) else [place]
    out = []
    if not places:
        return out
    pieces = [tok.decode([t]).strip("#") for t in content_ids(tok, text)][1:-1]
    length, pointer = 0, 0
    for k, piece in enumerate(pieces):
        length += len(piece)
        if pointer in places:
            out.append(k + 1)
        if length >= len(words[pointer]):
            pointer += 1
            length = 0
    return out


def replacement_matrix(tok, source, target):
    ws, wt = source.split(" "), target.split(" ")
    assert len(ws) == len(wt)
    changed = [k for k in range(len(wt)) if wt[k] != ws[k]]
    src = [word_inds(tok, source, k) for k in changed]
    tgt = [word_inds(tok, target, k) for k in changed]
    m = np.zeros((MAX_LEN, MAX_LEN))
    i = j = c = 0
    while i < MAX_LEN and j < MAX_LEN:
        if c < len(src) and src[c][0] == i:
            if len(src[c]) == len(tgt[c]):
                for a, b in zip(src[c], tgt[c]):
                    m[a, b] = 1
            else:
                for b in tgt[c]:
                    for a in src[c]:
                        m[a, b] = 1 / len(tgt[c])
            i += len(src[c])
            j += len(tgt[c])
            c += 1
        elif c < len(src):
            m[i, j] = 1
            i += 1
            j += 1
        else:
            m[j, j] = 1   # the official code's diagonal after the last changed word
            i += 1
            j += 1
    return m


def refinement(tok, source, target):
    x, y = content_ids(tok, source), content_ids(tok, target)
    gap, match, mismatch = 0, 1, -1
    score = np.zeros((len(x) + 1, len(y) + 1), dtype=np.int64)
    trace = np.zeros((len(x) + 1, len(y) + 1), dtype=np.int64)
    score[0, 1:] = np.arange(1, len(y) + 1) * gap
    score[1:, 0] = np.arange(1, len(x) + 1) * gap
    trace[0, 1:], trace[1:, 0], trace[0, 0] = 1, 2, 4
    for i in range(1, len(x) + 1):
        for j in range(1, len(y) + 1):
            left = score[i, j - 1] + gap
            up = score[i - 1, j] + gap
            diag = score[i - 1, j - 1] + (match if x[i - 1] == y[j - 1] else mismatch)
            best = max(left, up, diag)
            score[i, j] = best
            trace[i, j] = 1 if best == left else (2 if best == up else 3)
    pairs = []
    i, j = len(x), len(y)
    while i > 0 or j > 0:
        if trace[i, j] == 3:
            i, j = i - 1, j - 1
            pairs.append((j, i))
        elif trace[i, j] == 1:
            j -= 1
            pairs.append((j, -1))
        elif trace[i, j] == 2:
            i -= 1
        else:
            break
    pairs.reverse()
    mapper = [p[1] for p in pairs] + [len(y) + k for k in range(MAX_LEN - len(y))]
    alphas = [0.0 if p[1] == -1 else 1.0 for p in pairs] + [1.0] * (MAX_LEN - len(pairs))
    return mapper[:MAX_LEN], alphas[:MAX_LEN]


def equalizer(tok, text, words, values):
    """The null-text notebook's form: one value per word."""
    e = [1.0] * MAX_LEN
    for w, v in zip(words, values):
        for k in word_inds(tok, text, w):
            e[k] = float(v)
    return e


def alpha_words(tok, prompts, steps, default, words):
    """Cross-replace window: [steps+1][77] for the first edited prompt."""
    alpha = np.zeros((steps + 1, MAX_LEN))

    def update(bounds, inds):
        lo, hi = (0.0, bounds) if isinstance(bounds, float) else bounds
        start, end = int(lo * (steps + 1)), int(hi * (steps + 1))
        for k in inds:
            alpha[:start, k] = 0
            alpha[start:end, k] = 1
            alpha[end:, k] = 0

    update(default, range(MAX_LEN))
    for w, bounds in words.items():
        inds = word_inds(tok, prompts[1], w)
        if inds:
            update(bounds, inds)
    return alpha.tolist()


def alignment_cases(tok):
    replace_pairs = [
        ("a cat sitting on a car", "a dog sitting on a car"),
        ("A painting of a squirrel eating a burger", "A painting of a lion eating a burger"),
        ("a photo of a house by the lake", "a photo of a axolotl by the lake"),
        ("a axolotl on a table", "a cat on a table"),
        ("a red car on a green hill", "a blue bicycle on a snowy hill"),
        ("a red car on a hill", "a blue motorcycle on a hill"),
    ]
    refine_pairs = [
        ("a cat sitting on a car", "a black cat sitting on a red car"),
        ("A painting of a squirrel eating a burger", "A watercolor painting of a squirrel eating a cheese burger"),
        ("a cat", "a dog"),
        ("a house in the snow", "a tiny wooden house in the snow at night"),
    ]
    word_cases = [
        ("a cat sitting on a car", "cat"), ("a cat sitting on a car", "a"),
        ("a photo of a house by the lake", "house"), ("a photo of a axolotl by the lake", "axolotl"),
        ("a cat, sitting on a car", "cat,"), ("a cat, sitting on a car", "cat"),
        ("A painting of a squirrel eating a burger", "squirrel"), ("a tiny wooden house", 2),
    ]
    cases = {"word_inds": [], "replace": [], "refine": [], "equalizer": [], "alpha_words": []}
    for text, word in word_cases:
        cases["word_inds"].append({"text": text, "word": word, "indices": word_inds(tok, text, word)})
    for s, t in replace_pairs:
        m = replacement_matrix(tok, s, t)
        entries = [[int(i), int(j), float(m[i, j])] for i, j in zip(*np.nonzero(m))]
        cases["replace"].append({"source": s, "target": t, "entries": entries})
    for s, t in refine_pairs:
        mapper, alphas = refinement(tok, s, t)
        cases["refine"].append({"source": s, "target": t, "mapper": [int(v) for v in mapper], "alphas": alphas})
    for text, words, values in [("a smiling bunny doll", ["smiling"], [5]), ("a cat sitting on a red car", ["red", "car"], [2, -0.5])]:
        cases["equalizer"].append({"text": text, "words": words, "values": values,
                                   "equalizer": equalizer(tok, text, words, values)})
    for s, t, steps, default, words in [
        ("a cat sitting on a car", "a dog sitting on a car", 50, 0.8, {}),
        ("a cat sitting on a car", "a dog sitting on a car", 10, 0.8, {"dog": (0.0, 0.3)}),
        ("a red car on a hill", "a blue motorcycle on a hill", 20, (0.1, 0.9), {"motorcycle": 0.25}),
    ]:
        cases["alpha_words"].append({"source": s, "target": t, "steps": steps,
                                     "default": list(default) if isinstance(default, tuple) else [0.0, default],
                                     "words": {w: (list(b) if isinstance(b, tuple) else [0.0, b]) for w, b in words.items()},
                                     "alpha": alpha_words(tok, [s, t], steps, default, words)})
    return cases


# ---------------------------------------------------------------- Part 2: inversion

PROMPT = "a photo of a cat"
STEPS = 10
GUIDANCE = 7.5


def test_image():
    """A smooth 32×32 RGB pattern, quantised to 8 bits, in [-1, 1]."""
    y, x = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    r = 0.5 + 0.4 * torch.sin(x / 5.0) * torch.cos(y / 7.0)
    g = 0.5 + 0.4 * torch.cos((x + y) / 9.0)
    b = ((x - 16) ** 2 + (y - 12) ** 2 < 60).float() * 0.7 + 0.15
    img = torch.stack([r, g, b])[None]
    return (torch.round(img * 255) / 255) * 2 - 1


def sample(pipe, zT, cond, uncond_per_step, guidance):
    sched = DDIMScheduler.from_config(pipe.scheduler.config)
    sched.set_timesteps(STEPS)
    z = zT.clone()
    for i, t in enumerate(sched.timesteps):
        if guidance == 1:
            eps = pipe.unet(z, t, encoder_hidden_states=cond).sample
        else:
            out = pipe.unet(torch.cat([z, z]), t, encoder_hidden_states=torch.cat([uncond_per_step(i), cond])).sample
            eu, ec = out.chunk(2)
            eps = eu + guidance * (ec - eu)
        z = sched.step(eps, t, z).prev_sample
    return z


def null_text(pipe, trajectory, cond, uncond, inner=10, epsilon=1e-5):
    sched = DDIMScheduler.from_config(pipe.scheduler.config)
    sched.set_timesteps(STEPS)
    z = trajectory[-1].clone()
    null = uncond.clone()
    embeddings, losses, iterations = [], torch.full((STEPS, inner), float("nan")), []
    for i, t in enumerate(sched.timesteps):
        null = null.clone().detach().requires_grad_(True)
        opt = torch.optim.Adam([null], lr=1e-2 * (1.0 - i / 100.0))
        target = trajectory[len(trajectory) - 2 - i]
        with torch.no_grad():
            ec = pipe.unet(z, t, encoder_hidden_states=cond).sample
        used = 0
        for j in range(inner):
            eu = pipe.unet(z, t, encoder_hidden_states=null).sample
            eps = eu + GUIDANCE * (ec - eu)
            prev = sched.step(eps, t, z).prev_sample
            loss = torch.nn.functional.mse_loss(prev, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses[i, j] = loss.item()
            used = j + 1
            if loss.item() < epsilon + i * 2e-5:
                break
        iterations.append(used)
        null = null.detach()
        embeddings.append(null.clone())
        with torch.no_grad():
            out = pipe.unet(torch.cat([z, z]), t, encoder_hidden_states=torch.cat([null, cond])).sample
            eu, ec = out.chunk(2)
            z = sched.step(eu + GUIDANCE * (ec - eu), t, z).prev_sample
    return torch.cat(embeddings), losses, torch.tensor(iterations, dtype=torch.float32)


def inversion_reference(tmp):
    folder = os.path.join(tmp, "sd1")
    shutil.copytree(PIPELINE, folder)
    write_vocab_and_merges(os.path.join(folder, "tokenizer"))
    pipe = StableDiffusionPipeline.from_pretrained(folder, safety_checker=None, requires_safety_checker=False)
    pipe.unet.set_default_attn_processor()
    pipe.vae.set_default_attn_processor()
    image = test_image()
    with torch.no_grad():
        z0 = pipe.vae.encode(image).latent_dist.mean * pipe.vae.config.scaling_factor
        cond, uncond = pipe.encode_prompt(PROMPT, "cpu", 1, True, negative_prompt=None)

        inverse = DDIMInverseScheduler.from_config(pipe.scheduler.config)
        inverse.set_timesteps(STEPS)
        z, trajectory = z0.clone(), [z0.clone()]
        for t in inverse.timesteps:
            eps = pipe.unet(z, t, encoder_hidden_states=cond).sample
            z = inverse.step(eps, t, z).prev_sample
            trajectory.append(z.clone())

        # The null-text notebook's grid: a DDIMScheduler without steps_offset, visited in reverse.
        config0 = dict(pipe.scheduler.config)
        config0["steps_offset"] = 0
        inverse0 = DDIMInverseScheduler.from_config(config0)
        inverse0.set_timesteps(STEPS)
        z, offset0 = z0.clone(), [z0.clone()]
        for t in inverse0.timesteps:
            eps = pipe.unet(z, t, encoder_hidden_states=cond).sample
            z = inverse0.step(eps, t, z).prev_sample
            offset0.append(z.clone())

        recon1 = sample(pipe, trajectory[-1], cond, lambda i: uncond, 1.0)
        recon75 = sample(pipe, trajectory[-1], cond, lambda i: uncond, GUIDANCE)

    embeddings, losses, iterations = null_text(pipe, trajectory, cond, uncond)
    with torch.no_grad():
        recon_nti = sample(pipe, trajectory[-1], cond, lambda i: embeddings[i:i + 1], GUIDANCE)
    mse = lambda a, b: float(((a - b) ** 2).mean())
    print("inverse timesteps", inverse.timesteps.tolist())
    print("recon MSE vs z0: w=1 %.3e, w=7.5 %.3e, null-text %.3e" % (mse(recon1, z0), mse(recon75, z0), mse(recon_nti, z0)))
    print("null-text iterations", iterations.tolist())
    return {
        "image": image, "z0": z0,
        "invert.trajectory": torch.stack(trajectory), "invert.timesteps": inverse.timesteps.float(),
        "offset0.trajectory": torch.stack(offset0), "offset0.timesteps": inverse0.timesteps.float(),
        "recon.w1": recon1, "recon.w7_5": recon75,
        "nti.embeddings": embeddings, "nti.losses": losses, "nti.iterations": iterations, "nti.recon": recon_nti,
    }, pipe


# ---------------------------------------------------------------- Part 3: Prompt-to-Prompt pairs

P2P_STEPS = 5
P2P_SEED = 11
P2P_SOURCE = "a cat sitting on a car"


class Controller:
    """The official AttentionControlEdit semantics with the step given by the loop."""

    def __init__(self, edit, alpha, self_window, blend_tokens=None):
        self.edit, self.alpha, self.self_window = edit, torch.tensor(alpha, dtype=torch.float32), self_window
        self.blend_tokens = blend_tokens
        self.step = 0
        self.maps = None

    def __call__(self, probs, is_cross, heads):
        half = probs.shape[0] // 2
        lq, lk = probs.shape[1], probs.shape[2]
        cond = probs[half:].reshape(2, heads, lq, lk)
        base, own = cond[0], cond[1:]
        if is_cross:
            a = self.alpha[self.step].reshape(1, 1, 1, lk)
            new = self.edit(base, own) * a + (1 - a) * own
            cond = torch.cat([base[None], new])
        elif self.self_window[0] <= self.step < self.self_window[1] and lq <= 16 ** 2:
            cond = torch.cat([base[None], base[None]])
        if is_cross and self.blend_tokens is not None:
            m = torch.stack([cond[r][:, :, self.blend_tokens[r]].sum(-1).sum(0) for r in range(2)])
            self.maps = m if self.maps is None else self.maps + m
        return torch.cat([probs[:half], cond.reshape(-1, lq, lk)])

    def blend(self, latents, threshold=0.92):
        side = int(self.maps.shape[1] ** 0.5)
        maps = self.maps.reshape(2, 1, side, side)
        maps = torch.nn.functional.max_pool2d(maps, (3, 3), (1, 1), padding=(1, 1))
        mask = torch.nn.functional.interpolate(maps, size=latents.shape[2:])
        mask = mask / mask.max(2, keepdims=True)[0].max(3, keepdims=True)[0]
        mask = mask.gt(threshold)
        mask = (mask[:1] + mask[1:]).float()
        self.coverage = float(mask.mean())
        return latents[:1] + mask * (latents - latents[:1])


class Processor:
    """diffusers' AttnProcessor with the probabilities passed through the controller."""

    def __init__(self, controller):
        self.controller = controller

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, temb=None, **kwargs):
        is_cross = encoder_hidden_states is not None
        context = encoder_hidden_states if is_cross else hidden_states
        q = attn.head_to_batch_dim(attn.to_q(hidden_states))
        k = attn.head_to_batch_dim(attn.to_k(context))
        v = attn.head_to_batch_dim(attn.to_v(context))
        probs = attn.get_attention_scores(q, k, None)
        probs = self.controller(probs, is_cross, attn.heads)
        out = attn.batch_to_head_dim(torch.bmm(probs, v))
        return attn.to_out[1](attn.to_out[0](out))


def p2p_run(pipe, target, edit, alpha, self_window, blend_tokens=None):
    controller = Controller(edit, alpha, self_window, blend_tokens)
    pipe.unet.set_attn_processor(Processor(controller))
    sched = DDIMScheduler.from_config(pipe.scheduler.config)
    sched.set_timesteps(P2P_STEPS)
    with torch.no_grad():
        src, uncond = pipe.encode_prompt(P2P_SOURCE, "cpu", 1, True, negative_prompt=None)
        tgt, _ = pipe.encode_prompt(target, "cpu", 1, True, negative_prompt=None)
        context = torch.cat([uncond, uncond, src, tgt])
        latents = torch.randn((1, 4, 16, 16), generator=torch.Generator().manual_seed(P2P_SEED)).expand(2, 4, 16, 16)
        for i, t in enumerate(sched.timesteps):
            controller.step = i
            out = pipe.unet(torch.cat([latents] * 2), t, encoder_hidden_states=context).sample
            eu, ec = out.chunk(2)
            latents = sched.step(eu + GUIDANCE * (ec - eu), t, latents).prev_sample
            if blend_tokens is not None:
                latents = controller.blend(latents)
                print("p2p blend step", i, "mask coverage", controller.coverage)
    from diffusers.models.attention_processor import AttnProcessor
    pipe.unet.set_attn_processor(AttnProcessor())
    return latents[:1].clone(), latents[1:].clone()


def p2p_reference(pipe, tok):
    def replace_edit(target):
        w = torch.tensor(replacement_matrix(tok, P2P_SOURCE, target), dtype=torch.float32)
        return lambda base, own: torch.einsum("hpw,bwn->bhpn", base, w[None])

    def refine_edit(target):
        mapper, alphas = refinement(tok, P2P_SOURCE, target)
        a = torch.tensor(alphas).reshape(1, 1, 1, MAX_LEN)
        index = torch.tensor(mapper)   # −1 (a new token) reads the last token; its α is 0
        return lambda base, own: base[:, :, index][None] * a + own * (1 - a)

    out = {}
    dog = "a dog sitting on a car"
    black = "a black cat sitting on a car"
    self_window = (int(P2P_STEPS * 0.0), int(P2P_STEPS * 0.4))
    cases = {
        "replace": (dog, replace_edit(dog), None),
        "refine": (black, refine_edit(black), None),
        "blend": (dog, replace_edit(dog), [word_inds(tok, P2P_SOURCE, "cat"), word_inds(tok, dog, "dog")]),
    }
    eq = torch.tensor(equalizer(tok, dog, ["dog"], [2.0])).reshape(1, 1, 1, MAX_LEN)
    base_replace = replace_edit(dog)
    cases["reweight"] = (dog, lambda base, own: base_replace(base, own) * eq, None)
    for name, (target, edit, blend) in cases.items():
        alpha = alpha_words(tok, [P2P_SOURCE, target], P2P_STEPS, 0.8, {})
        s, t = p2p_run(pipe, target, edit, alpha, self_window, blend)
        out[f"{name}.source"], out[f"{name}.target"] = s, t
        print("p2p", name, "target-source RMS", float(((t - s) ** 2).mean().sqrt()))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tokdir = os.path.join(tmp, "tok")
        write_vocab_and_merges(tokdir)
        for f in ("special_tokens_map.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(SD1_MAPS, f), tokdir)
        tok = CLIPTokenizer.from_pretrained(tokdir)
        cases = alignment_cases(tok)
        cases["script"] = SCRIPT
        with open(os.path.join(OUT, "p2p_alignment.json"), "w") as f:
            json.dump(cases, f, separators=(",", ":"))
        tensors, pipe = inversion_reference(tmp)
        pairs = p2p_reference(pipe, tok)
    tensors = {k: v.detach().contiguous().float() for k, v in tensors.items()}
    save_file(tensors, os.path.join(OUT, "inversion_reference.safetensors"), metadata={"script": SCRIPT})
    pairs = {k: v.detach().contiguous().float() for k, v in pairs.items()}
    save_file(pairs, os.path.join(OUT, "p2p_reference.safetensors"), metadata={"script": SCRIPT})
    for name in ("p2p_alignment.json", "inversion_reference.safetensors", "p2p_reference.safetensors"):
        os.chmod(os.path.join(OUT, name), 0o644)


if __name__ == "__main__":
    main()
