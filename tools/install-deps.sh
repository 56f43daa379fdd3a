#!/usr/bin/env bash
# Installs the system packages SwapScript builds against, only when one is missing:
# OpenBLAS (cblas), libpng and GNU readline, plus pkg-config which SwiftPM uses to find them.
set -euo pipefail
needed=()
for pkg in libopenblas-dev libpng-dev libreadline-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || needed+=("$pkg")
done
if [ ${#needed[@]} -gt 0 ]; then
    echo "install-deps: installing ${needed[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${needed[@]}" >&2
fi
