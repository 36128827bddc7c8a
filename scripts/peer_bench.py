#!/usr/bin/env python3
"""vtx against the Python pipeline a user would write instead, on the same clip and model.

Each repeat runs every variant in turn (interleaved, so a slow spell of a shared host does not land
on one of them only) and the fastest of the repeats is kept:

- vtx:          `vtx index --force` with its defaults (shots and motion on), the whole process;
- vtx_full:     the same with --deblocking full (the default `auto` leaves the filter out where
                keyframes are at most 2 s apart, as in the bench clips);
- vtx_plain:    the same with --no-shots --no-motion, the embeddings alone like the recipes below;
- seed:         the seed document's recipe: OpenCV's VideoCapture reads every frame, and each
                sampled frame is preprocessed and run alone through ONNX Runtime;
- batched:      what a careful Python user writes: grab() every frame, retrieve() only the sampled
                ones, and run them through ONNX Runtime in batches of the manifest's size;
- ffmpeg:       the FFmpeg CLI decoding the whole clip to null, the decode limit.

The recipes' times include creating their ONNX Runtime session, as vtx's include loading its
models; they exclude the Python interpreter's start and imports.

Run it with `make bench-peer` (which builds vtx and the peer venv), or by hand:
  peer_bench.py --vtx target/release/vtx --models ~/.cache/vtx/models VIDEO...
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib

import cv2
import numpy as np
import onnxruntime as ort


def preprocess_spec(models, model):
    with open(os.path.join(models, model, "vtx-model.toml"), "rb") as f:
        manifest = tomllib.load(f)
    image = manifest["image"]
    pre = image["preprocess"]
    if pre.get("resize") != "center-crop" or pre.get("range", "byte") != "byte":
        sys.exit(f"{model}: this script implements center-crop over byte pixels only")
    return {
        "onnx": os.path.join(models, model, image["onnx"]),
        "input": image.get("input", "pixel_values"),
        "output": image["output"],
        "batch": image.get("batch", 16),
        "size": pre["size"],
        "mean": np.array(pre["mean"], dtype=np.float32),
        "std": np.array(pre["std"], dtype=np.float32),
    }


def to_tensor(frame_bgr, spec):
    """Shorter side to the model's size (bilinear), centre crop, normalise, CHW."""
    width, height = spec["size"]
    h, w = frame_bgr.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(frame_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR)
    top = (resized.shape[0] - height) // 2
    left = (resized.shape[1] - width) // 2
    crop = resized[top : top + height, left : left + width, ::-1].astype(np.float32)
    return ((crop - spec["mean"]) / spec["std"]).transpose(2, 0, 1)


def session(spec):
    return ort.InferenceSession(spec["onnx"], providers=["CPUExecutionProvider"])


def seed_recipe(video, spec, fps):
    sess = session(spec)
    cap = cv2.VideoCapture(video)
    next_t, frames = 0.0, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t + 1e-6 >= next_t:
            sess.run([spec["output"]], {spec["input"]: to_tensor(frame, spec)[None]})
            frames += 1
            next_t += 1.0 / fps
    return frames


def batched_recipe(video, spec, fps):
    sess = session(spec)
    cap = cv2.VideoCapture(video)
    next_t, frames, batch = 0.0, 0, []

    def flush():
        if batch:
            sess.run([spec["output"]], {spec["input"]: np.stack(batch)})
            batch.clear()

    while cap.grab():
        t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if t + 1e-6 >= next_t:
            ok, frame = cap.retrieve()
            if not ok:
                break
            batch.append(to_tensor(frame, spec))
            frames += 1
            next_t += 1.0 / fps
            if len(batch) >= spec["batch"]:
                flush()
    flush()
    return frames


def run_vtx(vtx, models, video, fps, extra):
    index = tempfile.mkdtemp(prefix="vtx-peer-")
    try:
        cmd = [vtx, "index", video, "--index", index, "--models-dir", models, "--fps", str(fps), "--force", *extra]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        shutil.rmtree(index, ignore_errors=True)


def ffmpeg_decode(video):
    cmd = ["ffmpeg", "-v", "error", "-nostdin", "-i", video, "-map", "0:v:0", "-f", "null", "-"]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def timed(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("videos", nargs="+")
    parser.add_argument("--vtx", required=True, help="the vtx binary (a release build)")
    parser.add_argument("--models", default=os.path.expanduser("~/.cache/vtx/models"))
    parser.add_argument("--model", default="efficientnet-lite0")
    parser.add_argument("--fps", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON line per video")
    args = parser.parse_args()
    spec = preprocess_spec(args.models, args.model)
    variants = {
        "vtx": lambda v: run_vtx(args.vtx, args.models, v, args.fps, []),
        "vtx_full": lambda v: run_vtx(args.vtx, args.models, v, args.fps, ["--deblocking", "full"]),
        "vtx_plain": lambda v: run_vtx(args.vtx, args.models, v, args.fps, ["--no-shots", "--no-motion"]),
        "seed": lambda v: seed_recipe(v, spec, args.fps),
        "batched": lambda v: batched_recipe(v, spec, args.fps),
        "ffmpeg": ffmpeg_decode,
    }
    if not args.json:
        print(
            f"{args.model} at {args.fps:g} frame/s, fastest of {args.repeat}, {os.cpu_count()} cores, "
            f"OpenCV {cv2.__version__}, ONNX Runtime {ort.__version__}"
        )
    for video in args.videos:
        best = {name: float("inf") for name in variants}
        for _ in range(args.repeat):
            for name, run in variants.items():
                best[name] = min(best[name], timed(lambda: run(video)))
        row = {"video": video, **{f"{k}_s": round(v, 3) for k, v in best.items()}}
        row["seed_over_vtx"] = round(best["seed"] / best["vtx"], 2)
        row["batched_over_vtx"] = round(best["batched"] / best["vtx"], 2)
        row["vtx_over_ffmpeg"] = round(best["vtx"] / best["ffmpeg"], 2)
        if args.json:
            print(json.dumps(row))
        else:
            print(f"\n{os.path.basename(video)}")
            for name in variants:
                print(f"  {name:<10} {best[name]:7.2f} s")
            print(
                f"  seed / vtx = {row['seed_over_vtx']:.2f}, batched / vtx = {row['batched_over_vtx']:.2f} "
                f"(above 1: vtx is faster); vtx / FFmpeg decode alone = {row['vtx_over_ffmpeg']:.2f}"
            )


if __name__ == "__main__":
    main()
