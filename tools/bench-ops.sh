#!/usr/bin/env bash
# Runs `swapscript bench ops` and the PyTorch reference on the same shapes, one after the other,
# with the same thread count. Needs torch (pip install torch==2.13.0+cpu) for the second half.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-$(nproc)}"
swift build -c release --product swapscript >/dev/null
.build/release/swapscript bench ops --threads "$threads"
echo
if python3 -c "import torch" 2>/dev/null; then
    python3 tools/reference/bench_ops_torch.py --threads "$threads"
else
    echo "(torch not installed: skipping the PyTorch reference)"
fi
