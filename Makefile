# vtx: `make demo` sets everything up and runs a demo; `make test` sets everything up and runs all tests.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/vtx/target
export VTX_CACHE ?= $(HOME)/.cache/vtx
CARGO ?= cargo
VTX_RELEASE := $(CARGO_TARGET_DIR)/release/vtx

.PHONY: setup setup-gpu build demo test lint bench bench-peer fuzz

setup:
	@scripts/setup.sh

# Optional: the GPU build of ONNX Runtime and the CUDA libraries, for --device cuda|auto.
setup-gpu: setup
	@scripts/setup_gpu.sh

build: setup
	$(CARGO) build --release --locked

demo: build
	@scripts/demo.sh $(VTX_RELEASE)

test: setup
	$(CARGO) test --workspace --locked
	@[ -e "$${VTX_MODELS:-$(VTX_CACHE)/models}/onnxruntime-gpu/libonnxruntime.so" ] || \
	  echo "note: the GPU runtime test was skipped (no GPU build of ONNX Runtime; make setup-gpu installs it)"
	@[ -n "$${VTX_QDRANT_BIN}$${VTX_QDRANT_URL}" ] || \
	  echo "note: the Qdrant cluster tests were skipped (set VTX_QDRANT_BIN to a server binary or VTX_QDRANT_URL to a cluster; see the README)"

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The parsers' fuzz targets (fuzz/), each for FUZZ_SECONDS; not part of `make test`. cargo fuzz
# wants nightly flags: RUSTC_BOOTSTRAP lets this machine's one (stable) toolchain take them.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := manifest npy table headers
fuzz: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --locked
	cd fuzz && for t in $(FUZZ_TARGETS); do \
	  mkdir -p corpus/$$t; \
	  dict=$$([ -f $$t.dict ] && echo -dict=$$t.dict); \
	  RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(VTX_CACHE)/fuzz-target $(CARGO) fuzz run -O $$t corpus/$$t seeds/$$t -- \
	    -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 $$dict || exit 1; \
	done

bench: build
	$(VTX_RELEASE) bench --repeat 3 $(VTX_CACHE)/fixtures/bench/cockatoo-720p.mp4 $(VTX_CACHE)/fixtures/bench/cockatoo-1080p.mp4
	$(VTX_RELEASE) bench-model efficientnet-lite0 --repeat 3
	$(VTX_RELEASE) bench-model minilm-l6-v2 --repeat 3
	@scripts/bench_setup.sh $(VTX_RELEASE)
	$(VTX_RELEASE) bench-model --models-dir $(VTX_CACHE)/bench-models/registry clip-vit-b32-random --repeat 3
	$(VTX_RELEASE) bench search --segments 100000 --dim 512
	$(CARGO) bench -p vtx-index --locked
	$(CARGO) bench -p vtx --bench cluster --locked
	$(CARGO) bench -p vtx-server --bench load --locked
	$(MAKE) bench-peer

# vtx beside the Python recipes a user would write instead (scripts/peer_bench.py), in a venv of
# their own: OpenCV is needed by them alone.
PEER_VENV := $(VTX_CACHE)/peer-venv
bench-peer: build
	@[ -x $(PEER_VENV)/bin/python ] && $(PEER_VENV)/bin/python -c "import cv2, onnxruntime, numpy" 2>/dev/null || { \
	  python3 -m venv $(PEER_VENV) && $(PEER_VENV)/bin/pip install -q --disable-pip-version-check \
	    "numpy==2.4.6" "onnxruntime==1.31.1" "opencv-python-headless==5.1.0.95"; }
	$(PEER_VENV)/bin/python scripts/peer_bench.py --vtx $(VTX_RELEASE) --models $(VTX_CACHE)/models --repeat 3 \
	  $(VTX_CACHE)/fixtures/bench/cockatoo-720p.mp4 $(VTX_CACHE)/fixtures/bench/cockatoo-1080p.mp4
