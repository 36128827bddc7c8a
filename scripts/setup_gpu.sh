#!/usr/bin/env bash
# Optional: the GPU build of ONNX Runtime and the CUDA 13 + cuDNN 9 libraries it needs, all from
# their PyPI wheels, into $VTX_MODELS/onnxruntime-gpu/ (about 2.5 GB). With that folder present,
# `--device cuda` and `--device auto` load this library instead of the CPU one; `--device cpu`
# keeps the CPU one. A machine without an NVIDIA driver can install it too: `auto` then falls
# back to the CPU with a line saying why, and `cuda` is an error.
# Run it as `make setup-gpu` (after `make setup`). A second run downloads nothing.
set -euo pipefail

VTX_CACHE="${VTX_CACHE:-$HOME/.cache/vtx}"
MODELS="${VTX_MODELS:-$VTX_CACHE/models}"
GPU_VENV="$VTX_CACHE/gpu-venv"
DEST="$MODELS/onnxruntime-gpu"
# The same release as the CPU library (scripts/setup.sh), so both speak the same C API.
ORT_VERSION=1.31.1

log() { printf '\033[1m[setup-gpu]\033[0m %s\n' "$*" >&2; }

if [ ! -x "$GPU_VENV/bin/python" ] || ! "$GPU_VENV/bin/python" -c "import onnxruntime" 2>/dev/null; then
  log "installing onnxruntime-gpu $ORT_VERSION with its CUDA and cuDNN wheels into $GPU_VENV"
  python3 -m venv "$GPU_VENV"
  "$GPU_VENV/bin/pip" install -q --disable-pip-version-check \
    "onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION" "nvidia-cublas~=13.0"
fi

SITE="$("$GPU_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$DEST"
# One folder with the runtime, its CUDA provider and every CUDA library: vtx loads the CUDA
# libraries from beside the runtime before it registers the provider, so no LD_LIBRARY_PATH is needed.
ln -sf "$SITE/onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$DEST/libonnxruntime.so"
for lib in "$SITE"/onnxruntime/capi/libonnxruntime_providers_*.so; do
  ln -sf "$lib" "$DEST/$(basename "$lib")"
done
found=0
while IFS= read -r lib; do
  ln -sf "$lib" "$DEST/$(basename "$lib")"
  found=$((found + 1))
done < <(find "$SITE/nvidia" -name 'lib*.so.*' \( -path '*/lib/*' \))
log "ready: $DEST (the runtime, its providers and $found CUDA libraries)"
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  log "note: no NVIDIA driver answers on this machine; --device auto will run on the CPU"
fi
