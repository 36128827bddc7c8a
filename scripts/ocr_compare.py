#!/usr/bin/env python3
"""PP-OCRv4 through vtx against Debian's Tesseract 5 on the same frames of the text fixtures.

For each line of $VTX_CACHE/fixtures/text/truth.tsv, the frame in the middle of its time, and for
the printed page (level and slanted), its first frame: each scaled as vtx reads it (longer side
960). Prints each reader's character error rate (the best line read against the truth) and its
time a frame. Usage: VTX=target/release/vtx scripts/ocr_compare.py (needs `tesseract` on PATH:
apt-get install tesseract-ocr).
"""
import json, os, subprocess, sys, tempfile, time
from pathlib import Path

CACHE = Path(os.environ.get("VTX_CACHE", Path.home() / ".cache/vtx"))
VTX = os.environ.get("VTX", "vtx")
PAGE = Path(__file__).resolve().parent.parent / "crates/vtx-models/tests/fixtures/page.txt"


def distance(a, b):
    row = list(range(len(b) + 1))
    for i, x in enumerate(a):
        diagonal, row[0] = row[0], i + 1
        for j, y in enumerate(b):
            above = row[j + 1]
            row[j + 1] = min(diagonal + (x != y), above + 1, row[j] + 1)
            diagonal = above
    return row[len(b)]


def cer(truth, lines):
    return min([distance(truth, l) / len(truth) for l in lines] or [1.0])


def frame(clip, t, out):
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", str(t), "-i", str(clip), "-frames:v", "1",
                    "-vf", "scale='if(gt(iw,ih),960,-2)':'if(gt(iw,ih),-2,960)'", str(out)], check=True)


def tesseract(png):
    start = time.perf_counter()
    out = subprocess.run(["tesseract", str(png), "-", "--psm", "11"], capture_output=True, text=True, check=True)
    # psm 11 (sparse text) finds captions scattered over footage; lines come out one per line.
    lines = [l.strip() for l in out.stdout.splitlines() if l.strip()]
    return lines, time.perf_counter() - start


def vtx_lines(clip):
    start = time.perf_counter()
    out = subprocess.run([VTX, "text", "--json", str(clip)], capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    return doc, time.perf_counter() - start


def main():
    truth = [l.split("\t") for l in (CACHE / "fixtures/text/truth.tsv").read_text().splitlines()]
    cases = [(Path(c), (float(s) + float(e)) / 2, t, f"{size} px") for c, s, e, size, t in truth]
    page = PAGE.read_text().splitlines()
    rows, clips = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for clip, t, text, what in cases:
            png = Path(tmp) / "f.png"
            frame(clip, t, png)
            t_lines, t_time = tesseract(png)
            if clip not in clips:
                clips[clip] = vtx_lines(clip)
            doc = clips[clip][0]
            p_lines = [l["text"] for l in doc["lines"] if l["start"] <= t <= l["end"]]
            rows.append((what, text, cer(text, p_lines), cer(text, t_lines), t_time))
        for name in ["page-level", "page-slanted"]:
            clip = CACHE / f"fixtures/text/{name}.mp4"
            png = Path(tmp) / "p.png"
            frame(clip, 0.5, png)
            # A page is one block of lines: Tesseract's automatic layout (psm 3).
            start = time.perf_counter()
            out = subprocess.run(["tesseract", str(png), "-"], capture_output=True, text=True, check=True)
            t_time = time.perf_counter() - start
            t_lines = [l.strip() for l in out.stdout.splitlines() if l.strip()]
            doc, _ = vtx_lines(clip)
            p_lines = [l["text"] for l in doc["lines"]]
            p = sum(cer(l, p_lines) for l in page) / len(page)
            t = sum(cer(l, t_lines) for l in page) / len(page)
            rows.append((name, f"{len(page)} lines", p, t, t_time))
    print(f"{'what':<13} {'PP-OCRv4':>9} {'Tesseract':>9}  text")
    for what, text, p, t, _ in rows:
        print(f"{what:<13} {p:>9.3f} {t:>9.3f}  {text}")
    drawn = rows[: len(cases)]
    print(f"mean CER, drawn lines: PP-OCRv4 {sum(r[2] for r in drawn) / len(drawn):.3f}, "
          f"Tesseract {sum(r[3] for r in drawn) / len(drawn):.3f}")
    frames = sum(d["frames"] for d, _ in clips.values())
    seconds = sum(s for _, s in clips.values())
    print(f"time a frame: vtx text (whole process, decode included) {seconds / frames * 1000:.0f} ms over "
          f"{frames} frames; Tesseract {sum(r[4] for r in rows) / len(rows) * 1000:.0f} ms")


if __name__ == "__main__":
    sys.exit(main())
