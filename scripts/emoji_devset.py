#!/usr/bin/env python3
"""Build the emoji dev set: short moving clips of Google's Noto emoji, each captioned with its
Unicode name and labelled with its emoji group, for `vtx eval retrieval` and `vtx eval clusters`.

The pictures and names come from the npm package emoji-datasource-google (its emoji.json holds
each emoji's Unicode name, group and picture). Flags and skin-tone components are left out: the
one is text on cloth, the other not a thing. The same clips come out of the same package on every
machine: the emoji are taken in Unicode's order, evenly spaced within each group.

usage: emoji_devset.py EMOJI_JSON IMAGE_DIR OUT_DIR PER_GROUP
"""

import json
import os
import re
import subprocess
import sys

LEFT_OUT = {"Flags", "Component"}


def pick(emoji, per_group):
    groups = {}
    for e in sorted(emoji, key=lambda e: e["sort_order"]):
        if e["category"] in LEFT_OUT or not e.get("has_img_google") or not e.get("name"):
            continue
        groups.setdefault(e["category"], []).append(e)
    chosen = []
    for group in sorted(groups):
        members = groups[group]
        step = max(1, len(members) / per_group)
        chosen += [members[int(i * step)] for i in range(min(per_group, len(members)))]
    return chosen


def clip(picture, out):
    """A 2-second 320x240 clip of the emoji drifting across a white ground, as if filmed."""
    if os.path.exists(out) and os.path.getsize(out) > 0:
        return
    part = out + ".part.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "color=white:s=320x240:r=10:d=2", "-i", picture,
         "-filter_complex", "[1]scale=160:160[e];[0][e]overlay=x='40+30*t':y='50-10*t':format=auto,format=yuv420p",
         "-c:v", "libx264", "-g", "10", part],
        check=True)
    os.replace(part, out)


def main():
    emoji_json, image_dir, out_dir, per_group = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(emoji_json, encoding="utf-8") as f:
        emoji = json.load(f)
    os.makedirs(out_dir, exist_ok=True)
    captions, labels = [], []
    for e in pick(emoji, per_group):
        out = os.path.join(out_dir, re.sub(r"[^a-z0-9_]", "_", e["short_name"].lower()) + ".mp4")
        clip(os.path.join(image_dir, e["image"]), out)
        caption = e["name"].lower()
        captions.append(f"{out}\t{caption}\t{e['category']}\n")
        labels.append(f"{out}\t{e['category']}\n")
    for file, rows in (("captions.tsv", captions), ("labels.tsv", labels)):
        with open(os.path.join(out_dir, file + ".part"), "w", encoding="utf-8") as f:
            f.writelines(rows)
        os.replace(os.path.join(out_dir, file + ".part"), os.path.join(out_dir, file))
    print(f"emoji dev set: {len(captions)} clips in {out_dir}")


if __name__ == "__main__":
    main()
