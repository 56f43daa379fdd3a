#!/bin/sh
# Trains the embedded default model (Sources/SwapWorld/Resources/default-model) with SwapScript's
# own autograd on ShapesWorld, and exports it. Training is a pure function of (seed, step), and
# a stage resumed from its checkpoint continues bit for bit, so running this script reproduces
# the committed weights exactly (same OpenBLAS kernel family: the recorded run used SKYLAKEX).
#
# The stages, in order (see `swapscript train --help`):
#   1. vae        the autoencoder (f=4, 4 latent channels) on 32x32 crops of 64x64 scenes
#   2. diffusion  text encoder + UNet on latents of the frozen VAE (ε, min-SNR 5, 10% caption dropout)
#   3. decoder    the VAE decoder fine-tuned on crops of whole-scene latents, encoder frozen (latents unchanged);
#                 it depends only on the vae stage, so it may run beside the diffusion stage (the recorded run did)
# then --export writes the EMA weights as a diffusers folder in float16.
#
# Step counts of the committed weights (update them together with the weights):
VAE_STEPS=${VAE_STEPS:-1000}
DIFFUSION_STEPS=${DIFFUSION_STEPS:-7800}
DECODER_STEPS=${DECODER_STEPS:-1200}
SEED=2026

set -eu
SWAPSCRIPT=${SWAPSCRIPT:-.build/release/swapscript}
RUN=${RUN:-train-runs/default}
OUT=${OUT:-Sources/SwapWorld/Resources/default-model}
mkdir -p "$RUN"

# Runs (or resumes) one stage up to its step count.
stage() {
    name=$1 steps=$2 batch=$3
    resume=""
    [ -f "$RUN/$name.safetensors" ] && resume="--resume"
    "$SWAPSCRIPT" train --stage "$name" --steps "$steps" --batch "$batch" --seed "$SEED" --out "$RUN" \
        --checkpoint-every 100 --log-every 20 $resume
}

stage vae "$VAE_STEPS" 32
stage diffusion "$DIFFUSION_STEPS" 32
if [ "$DECODER_STEPS" -gt 0 ]; then stage decoder "$DECODER_STEPS" 32; fi
"$SWAPSCRIPT" train --out "$RUN" --export "$OUT"
