#!/usr/bin/env bash
# UNet forward at SD 1.5 size (batch 2, 64x64 latent, 77 tokens, fp32), SwapScript and PyTorch
# side by side in one run on the same machine, then the ratio swapscript / torch.
#   tools/bench-unet.sh [MODEL_DIR] [THREADS]
# MODEL_DIR defaults to .build-sd15/unet, which tools/reference/make_sd15_random_unet.py writes
# (a random-weight UNet of full SD 1.5 size; git-ignored, ~3.4 GB). Needs torch==2.13.0+cpu and
# diffusers for the reference half.
set -euo pipefail
cd "$(dirname "$0")/.."
model="${1:-.build-sd15/unet}"
threads="${2:-2}"
repeats="${REPEATS:-3}"
rounds="${ROUNDS:-2}"   # alternate the two programs this many times; the best time of each counts
if [ ! -f "$model/diffusion_pytorch_model.safetensors" ]; then
    echo "making $model (random SD 1.5-size UNet)..."
    python3 tools/reference/make_sd15_random_unet.py --out "$model"
fi
swift build -c release -Xswiftc -enable-testing --product swapscript >/dev/null
sw_best=""; th_best=""; sw_rss=""
for round in $(seq "$rounds"); do
    echo "== round $round of $rounds"
    sw_out=$(.build/release/swapscript bench unet --model "$model" --threads "$threads" --repeats "$repeats")
    echo "$sw_out"
    torch_out=$(python3 tools/reference/bench_unet_torch.py --model "$model" --threads "$threads" --repeats "$repeats" 2>/dev/null)
    echo "$torch_out"
    sw=$(echo "$sw_out" | sed -n 's/^RESULT swapscript_seconds=\([0-9.]*\).*/\1/p')
    th=$(echo "$torch_out" | sed -n 's/^RESULT torch_seconds=\([0-9.]*\).*/\1/p')
    rss=$(echo "$sw_out" | sed -n 's/.*rss_ratio=\([0-9.]*\).*/\1/p')
    sw_best=$(python3 -c "print(min(x for x in [$sw, ${sw_best:-1e9}]))")
    th_best=$(python3 -c "print(min(x for x in [$th, ${th_best:-1e9}]))")
    sw_rss="$sw_rss $rss"
done
echo
python3 -c "
sw, th = $sw_best, $th_best
rss = [float(x) for x in '$sw_rss'.split()]
print(f'ratio swapscript/torch = {sw / th:.3f}  (best of {$rounds} rounds: swapscript {sw:.3f} s, torch {th:.3f} s; target <= 0.9)')
print(f'swapscript peak RSS / fp32 weights per round = {\", \".join(f\"{x:.3f}\" for x in rss)}  (target <= 1.3)')"
