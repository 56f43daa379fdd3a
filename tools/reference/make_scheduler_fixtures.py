#!/usr/bin/env python3
"""Writes Tests/SwapSchedulersTests/Fixtures/schedulers.{json,safetensors}: diffusers reference
values that SwapSchedulers must reproduce (see Tests/SwapSchedulersTests/*.swift).

Run from the repository root:  python3 tools/reference/make_scheduler_fixtures.py
Needs torch (CPU) + diffusers + safetensors; downloads nothing. Deterministic (fixed seeds).

schedulers.json
  versions               torch / diffusers versions that produced the data
  schedules[]            {name, config}: tensors schedule.<name>.betas / .alphas_cumprod
  timestep_lists[]       {kind, config, steps, timesteps, sigmas?, init_noise_sigma?}
                         kind: ddim | ddpm | euler_discrete | ddim_inverse; values exact
  step_cases[]           {name, kind, config, steps, eta, seed, s_churn, indices, timesteps,
                          init_noise_sigma}; tensors <name>.i<k>.{sample, model_output, prev, x0,
                          noise (stochastic steps only), scaled (Euler only)}
                          `config` is a JSON string in diffusers scheduler_config.json form.
                          Steps at `indices` are called in that order; stochastic cases share one
                          torch.Generator().manual_seed(seed) across them, and `noise` is exactly
                          what that step drew from it.
  add_noise[]            {name, kind, config, steps, timestep}; tensors <name>.{original, noise, noisy}
  guidance               tensors guidance.{uncond, cond, guided, rescaled}, scale, rescale
"""
import json, os, sys
import numpy as np
import torch
import diffusers
from diffusers import DDIMScheduler, DDIMInverseScheduler, DDPMScheduler, EulerDiscreteScheduler
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg
from safetensors.torch import save_file

OUT = "Tests/SwapSchedulersTests/Fixtures"
SHAPE = (2, 4, 4, 4)

SD15 = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
            set_alpha_to_one=False, steps_offset=1, clip_sample=False, timestep_spacing="leading",
            prediction_type="epsilon")
SD2V = dict(SD15, prediction_type="v_prediction")
CLASSES = {"ddim": DDIMScheduler, "ddpm": DDPMScheduler, "euler_discrete": EulerDiscreteScheduler,
           "ddim_inverse": DDIMInverseScheduler}

tensors = {}
manifest = {"generated_by": "tools/reference/make_scheduler_fixtures.py", "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__}}


def make(kind, config):
    # from_config ignores keys a class does not take, as loading a real scheduler_config.json does.
    return CLASSES[kind].from_config(config)


def put(name, t):
    tensors[name] = t.detach().to(torch.float32).contiguous().clone()


def floats(t):
    return [float(v) for v in torch.as_tensor(t).to(torch.float32).reshape(-1).tolist()]


# Training schedules.
schedules = [("sd15", SD15), ("ddim_default", {}), ("cosine", dict(beta_schedule="squaredcos_cap_v2")),
             ("sd15_zero_snr", dict(SD15, rescale_betas_zero_snr=True))]
manifest["schedules"] = []
for name, cfg in schedules:
    s = DDIMScheduler.from_config(cfg)
    put(f"schedule.{name}.betas", s.betas)
    put(f"schedule.{name}.alphas_cumprod", s.alphas_cumprod)
    manifest["schedules"].append({"name": name, "config": json.dumps(cfg)})

# Timestep lists (and Euler sigmas) for many step counts and spacings.
manifest["timestep_lists"] = []
for kind in ["ddim", "ddpm", "euler_discrete", "ddim_inverse"]:
    for spacing in ["leading", "trailing", "linspace"]:
        if kind == "ddim_inverse" and spacing == "linspace":
            continue
        for offset in [0, 1]:
            for steps in [1, 7, 10, 25, 50, 1000]:
                cfg = dict(SD15, timestep_spacing=spacing, steps_offset=offset)
                s = make(kind, cfg)
                s.set_timesteps(steps)
                entry = {"kind": kind, "config": json.dumps(cfg), "steps": steps,
                         "timesteps": [float(v) for v in s.timesteps.tolist()]}
                if kind == "euler_discrete":
                    entry["sigmas"] = floats(s.sigmas)
                    entry["init_noise_sigma"] = float(s.init_noise_sigma)
                manifest["timestep_lists"].append(entry)

# Step sequences.
step_specs = [
    # name, kind, config, steps, eta, seed, s_churn, indices (None = all)
    ("ddim_sd15_leading_50", "ddim", SD15, 50, 0.0, None, 0, [0, 1, 2, 25, 48, 49]),
    ("ddim_sd15_leading_10_eta05", "ddim", SD15, 10, 0.5, 1234, 0, None),
    ("ddim_sd15_trailing_10", "ddim", dict(SD15, timestep_spacing="trailing"), 10, 0.0, None, 0, None),
    ("ddim_sd15_linspace_10", "ddim", dict(SD15, timestep_spacing="linspace"), 10, 0.0, None, 0, None),
    ("ddim_sd2v_leading_50", "ddim", SD2V, 50, 0.0, None, 0, [0, 1, 24, 49]),
    ("ddim_sd2v_zero_snr_trailing_10", "ddim",
     dict(SD2V, timestep_spacing="trailing", rescale_betas_zero_snr=True), 10, 0.0, None, 0, None),
    ("ddim_default_clip_10", "ddim", {}, 10, 1.0, 7, 0, None),
    ("ddim_sample_pred_10", "ddim", dict(SD15, prediction_type="sample"), 10, 0.0, None, 0, [0, 5, 9]),
    ("ddpm_sd15_leading_50", "ddpm", SD15, 50, 0.0, 42, 0, [0, 1, 25, 48, 49]),
    ("ddpm_sd15_trailing_10_small_log", "ddpm",
     dict(SD15, timestep_spacing="trailing", variance_type="fixed_small_log"), 10, 0.0, 5, 0, None),
    ("ddpm_default_learned_range_10", "ddpm", dict(variance_type="learned_range"), 10, 0.0, 9, 0, None),
    ("ddpm_sd2v_fixed_large_10", "ddpm", dict(SD2V, variance_type="fixed_large"), 10, 0.0, 11, 0, None),
    ("euler_sd15_leading_50", "euler_discrete", SD15, 50, 0.0, None, 0, [0, 1, 25, 48, 49]),
    ("euler_default_linspace_10", "euler_discrete", {}, 10, 0.0, None, 0, None),
    ("euler_sd2v_trailing_10", "euler_discrete", dict(SD2V, timestep_spacing="trailing"), 10, 0.0, None, 0, None),
    ("euler_sd15_churn_10", "euler_discrete", SD15, 10, 0.0, 3, 1.0, None),
    ("inverse_sd15_leading_50", "ddim_inverse", SD15, 50, 0.0, None, 0, [0, 1, 25, 48, 49]),
    ("inverse_sd15_trailing_10", "ddim_inverse", dict(SD15, timestep_spacing="trailing"), 10, 0.0, None, 0, None),
    ("inverse_sd2v_leading_10", "ddim_inverse", SD2V, 10, 0.0, None, 0, None),
]

data_gen = torch.Generator().manual_seed(20240601)
manifest["step_cases"] = []
for name, kind, cfg, steps, eta, seed, churn, indices in step_specs:
    cfg = dict(cfg)
    s = make(kind, cfg)
    s.set_timesteps(steps)
    if indices is None:
        indices = list(range(steps))
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    learned = cfg.get("variance_type") in ("learned", "learned_range")
    for i in indices:
        t = s.timesteps[i]
        sample = torch.randn(SHAPE, generator=data_gen)
        out_shape = (SHAPE[0], SHAPE[1] * 2) + SHAPE[2:] if learned else SHAPE
        model_output = torch.randn(out_shape, generator=data_gen)
        if learned:  # the variance half must lie in [-1, 1]
            model_output[:, SHAPE[1]:] = torch.tanh(model_output[:, SHAPE[1]:])
        p = f"{name}.i{i}"
        put(p + ".sample", sample)
        put(p + ".model_output", model_output)
        kwargs = {}
        stochastic = (kind == "ddim" and eta > 0) or (kind == "ddpm" and int(t) > 0) or (
            kind == "euler_discrete" and churn > 0)
        if stochastic:
            probe = torch.Generator().manual_seed(0)
            probe.set_state(gen.get_state())
            put(p + ".noise", torch.randn(SHAPE, generator=probe))  # drawn after the variance split
        if kind == "ddim":
            out = s.step(model_output, int(t), sample, eta=eta, generator=gen)
        elif kind == "ddim_inverse":
            out = s.step(model_output, int(t), sample)
        elif kind == "ddpm":
            out = s.step(model_output, int(t), sample, generator=gen)
        else:
            s._step_index = i
            put(p + ".scaled", s.scale_model_input(sample, t))
            s._step_index = i
            out = s.step(model_output, t, sample, s_churn=churn, generator=gen)
        put(p + ".prev", out.prev_sample)
        put(p + ".x0", out.pred_original_sample)
    entry = {"name": name, "kind": kind, "config": json.dumps(cfg), "steps": steps, "eta": eta,
             "seed": seed, "s_churn": churn, "indices": indices,
             "timesteps": [float(v) for v in s.timesteps.tolist()]}
    if kind == "euler_discrete":
        entry["init_noise_sigma"] = float(s.init_noise_sigma)
        put(f"{name}.sigmas", s.sigmas)
    manifest["step_cases"].append(entry)

# add_noise.
manifest["add_noise"] = []
for name, kind, cfg, steps, ti in [("ddim_sd15_t1", "ddim", SD15, 50, 49), ("ddim_sd15_t981", "ddim", SD15, 50, 0),
                                   ("ddpm_sd15_t501", "ddpm", SD15, 50, 24),
                                   ("euler_sd15_t981", "euler_discrete", SD15, 50, 0),
                                   ("euler_sd15_t481", "euler_discrete", SD15, 50, 25)]:
    cfg = dict(cfg)
    s = make(kind, cfg)
    s.set_timesteps(steps)
    t = s.timesteps[ti]
    original = torch.randn(SHAPE, generator=data_gen)
    noise = torch.randn(SHAPE, generator=data_gen)
    noisy = s.add_noise(original, noise, t.reshape(1))
    put(f"add_noise.{name}.original", original)
    put(f"add_noise.{name}.noise", noise)
    put(f"add_noise.{name}.noisy", noisy)
    manifest["add_noise"].append({"name": name, "kind": kind, "config": json.dumps(cfg), "steps": steps,
                                  "timestep": float(t)})

# Classifier-free guidance and guidance rescale.
uncond = torch.randn(SHAPE, generator=data_gen)
cond = torch.randn(SHAPE, generator=data_gen) * 1.5 + 0.1
scale, phi = 7.5, 0.7
guided = uncond + scale * (cond - uncond)
put("guidance.uncond", uncond)
put("guidance.cond", cond)
put("guidance.guided", guided)
put("guidance.rescaled", rescale_noise_cfg(guided, cond, guidance_rescale=phi))
manifest["guidance"] = {"scale": scale, "rescale": phi}

os.makedirs(OUT, exist_ok=True)
save_file(tensors, os.path.join(OUT, "schedulers.safetensors"),
          metadata={"generated_by": "tools/reference/make_scheduler_fixtures.py", "torch": torch.__version__,
                    "diffusers": diffusers.__version__})
with open(os.path.join(OUT, "schedulers.json"), "w") as f:
    json.dump(manifest, f, separators=(",", ":"))
print(f"{len(tensors)} tensors, {os.path.getsize(os.path.join(OUT, 'schedulers.safetensors'))} bytes", file=sys.stderr)
