#!/usr/bin/env bash
# Index the demo library (real clips from Debian packages and photo clips made by setup.sh) and run
# a few text searches, a near-duplicate lookup, the motion stream and the objects of a clip.
set -euo pipefail
VTX="${1:?usage: demo.sh PATH/TO/vtx}"
VTX_CACHE="${VTX_CACHE:-$HOME/.cache/vtx}"
INDEX="${VTX_DEMO_INDEX:-$VTX_CACHE/demo-index}"
DATA="$VTX_CACHE/media/usr/share/doc/opencv-doc/examples/data"
# A demo index left by an older vtx (another schema) is rebuilt rather than refused.
if [ -z "${VTX_DEMO_INDEX:-}" ] && [ -e "$INDEX" ] && ! "$VTX" info --index "$INDEX" >/dev/null 2>&1; then
  rm -rf "$INDEX"
fi

echo "== vtx models list"
"$VTX" models list
echo

echo "== vtx index (demo library -> $INDEX)"
"$VTX" index --index "$INDEX" \
  "$VTX_CACHE/fixtures/photos" "$VTX_CACHE/fixtures/joined.mp4" "$DATA" \
  "$VTX_CACHE/media/usr/share/gocode/src/github.com/gabriel-vasile/mimetype/testdata" \
  "$VTX_CACHE/media/usr/share/pymecavideo/data/video"
echo
for q in "a cat" "a cup of coffee" "a motorcycle" "a rocket" "people walking on a street" "a bird"; do
  echo "== vtx search \"$q\""
  "$VTX" search --index "$INDEX" --top 3 "$q"
  echo
done
echo "== vtx shots Megamind.avi (FFmpeg's scene filter finds the same three cuts)"
"$VTX" shots "$DATA/Megamind.avi"
echo
echo "== vtx similar Megamind.avi (its re-encode should come first)"
"$VTX" similar --index "$INDEX" --top 3 "$DATA/Megamind.avi"
echo
echo "== vtx search \"a bird\" --per-video (each video's best moment only)"
"$VTX" search --index "$INDEX" --top 3 --per-video "a bird"
echo
echo "== vtx motion vtest.avi (a static camera; pedestrians move on their own)"
"$VTX" motion "$DATA/vtest.avi" | head -6
echo
echo "== vtx objects pedestrians-8s.avi (COCO objects followed over time; people's actions)"
"$VTX" objects "$VTX_CACHE/fixtures/objects/pedestrians-8s.avi" | head -14
echo
echo "== vtx similar --stream motion vtest.avi (videos that move alike)"
"$VTX" similar --index "$INDEX" --top 3 --stream motion "$DATA/vtest.avi"
echo
echo "== vtx tag, then vtx cluster with contact sheets and a map of the library"
"$VTX" tag --index "$INDEX" >/dev/null
"$VTX" cluster --index "$INDEX" --pictures "$VTX_CACHE/demo-pictures" | grep -E "^(## |[0-9]+ clusters|wrote .*map)"
echo
"$VTX" info --index "$INDEX"
echo
echo "== to browse it: $VTX serve --index $INDEX   (then open http://127.0.0.1:8080/)"
