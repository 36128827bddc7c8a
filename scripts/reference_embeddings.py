"""Compute reference all-MiniLM-L6-v2 sentence embeddings with Python's onnxruntime and tokenizers,
independently of vtx's Rust code, and store them as a test fixture.

usage: reference_embeddings.py MODELS_DIR OUT.json   (needs: pip install onnxruntime tokenizers numpy)
"""
import json
import sys

import numpy as np
import onnxruntime
from tokenizers import Tokenizer

SENTENCES = [
    "a man is playing guitar on stage",
    "A person plays an electric guitar.",
    "a dog runs across the park",
    "Egyptian cat",
    "a very long sentence " + "that keeps going and going " * 12 + "until it ends.",
]


def main():
    models, out = sys.argv[1], sys.argv[2]
    tok = Tokenizer.from_file(f"{models}/minilm/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(256)
    sess = onnxruntime.InferenceSession(f"{models}/minilm/model.onnx")
    vectors = []
    for s in SENTENCES:  # one at a time: no padding at all, so no masking to get wrong
        enc = tok.encode(s)
        ids = np.array([enc.ids], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        hidden = sess.run(None, feed)[0][0]
        v = hidden.mean(axis=0)
        vectors.append((v / np.linalg.norm(v)).round(6).tolist())
    with open(out, "w") as f:
        json.dump({"model": "all-MiniLM-L6-v2 int8", "sentences": SENTENCES, "vectors": vectors}, f)
    v = np.array(vectors)
    print("guitar/guitar", v[0] @ v[1], "guitar/dog", v[0] @ v[2])


if __name__ == "__main__":
    main()
