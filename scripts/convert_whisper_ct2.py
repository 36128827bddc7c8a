#!/usr/bin/env python3
"""A Whisper model in CTranslate2's format (model.bin) to two ONNX graphs that ONNX Runtime runs.

    convert_whisper_ct2.py CT2_MODEL_DIR OUT_DIR

encoder.onnx: `audio` [1, 480000] (30 s of 16 kHz mono, zero-padded) -> the log-mel spectrogram
(inside the graph: a Hann-windowed STFT as a strided convolution, Whisper's 80 Slaney mel filters,
log10, the 8-decade floor) -> the audio encoder -> each decoder layer's cross-attention keys and
values, `cross_k_L` / `cross_v_L` [1, heads, 1500, 64], computed once per window.

decoder.onnx: one decoding step with a self-attention cache: `tokens` [1, T] int64, `positions`
[T] int64, `mask` [T, P + T] float (0 or -1e9: causal over the new tokens), `past_k_L` / `past_v_L`
[1, heads, P, 64] and the cross keys and values -> `logits` [1, vocab] of the last token and
`present_k_L` / `present_v_L` [1, heads, P + T, 64], and `alignment` [1, A, T, 1500]: the
cross-attention weights of the A alignment heads config.json names (for word timings).

The weights are float16 in model.bin and float32 in the graphs (ONNX Runtime's CPU kernels are
float32). Only numpy and onnx are needed.
"""
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SAMPLE_RATE, N_FFT, HOP, N_MELS, WINDOW = 16000, 400, 160, 80, 480000
DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: np.float64, 6: np.uint8}


def read_ct2(path):
    """model.bin (CTranslate2 binary version 6): name -> array."""
    data = Path(path).read_bytes()
    at = 0

    def take(fmt):
        nonlocal at
        values = struct.unpack_from(fmt, data, at)
        at += struct.calcsize(fmt)
        return values

    def string():
        nonlocal at
        (n,) = take("<H")
        s = data[at : at + n].rstrip(b"\0").decode()
        at += n
        return s

    (version,) = take("<I")
    if version < 5:
        sys.exit(f"{path}: CTranslate2 binary version {version}, this reads 5 and later")
    spec = string()
    take("<I")
    (count,) = take("<I")
    weights = {}
    for _ in range(count):
        name = string()
        (rank,) = take("<B")
        dims = take(f"<{rank}I") if rank else ()
        (dtype,) = take("<B")
        (size,) = take("<I")
        array = np.frombuffer(data, dtype=DTYPES[dtype], count=size // np.dtype(DTYPES[dtype]).itemsize, offset=at)
        at += size
        weights[name] = array.reshape(dims) if dims else array
    return spec, weights


def mel_filters(n_mels=N_MELS, n_fft=N_FFT, sr=SAMPLE_RATE):
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults (Slaney scale and norm): Whisper's."""
    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        mels = f / (200.0 / 3)
        log_t = f >= 1000.0
        return np.where(log_t, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mels)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        f = m * (200.0 / 3)
        log_t = m >= 15.0
        return np.where(log_t, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), f)

    fft_freqs = np.linspace(0, sr / 2, 1 + n_fft // 2)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)))
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, None]
    return weights.astype(np.float32)


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def const(self, array, name=None):
        self.n += 1
        name = name or f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def op(self, kind, inputs, outputs=1, **attrs):
        self.n += 1
        names = [f"t{self.n}_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(kind, inputs, names, **attrs))
        return names[0] if outputs == 1 else names

    def linear(self, x, w, b):
        return self.op("Add", [self.op("MatMul", [x, self.const(w.astype(np.float32).T.copy())]), self.const(b.astype(np.float32))])

    def layer_norm(self, x, gamma, beta):
        return self.op("LayerNormalization", [x, self.const(gamma.astype(np.float32)), self.const(beta.astype(np.float32))], axis=-1, epsilon=1e-5)

    def gelu(self, x):
        inner = self.op("Erf", [self.op("Div", [x, self.const(np.float32(np.sqrt(2.0)))])])
        return self.op("Mul", [self.op("Mul", [x, self.const(np.float32(0.5))]), self.op("Add", [inner, self.const(np.float32(1.0))])])

    def heads(self, x, heads):
        """[1, T, D] -> [1, heads, T, D / heads]."""
        split = self.op("Reshape", [x, self.const(np.array([0, 0, heads, -1], dtype=np.int64))])
        return self.op("Transpose", [split], perm=[0, 2, 1, 3])

    def merge(self, x):
        """[1, heads, T, d] -> [1, T, heads * d]."""
        joined = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [joined, self.const(np.array([1, 0, -1], dtype=np.int64))])

    def attend(self, q, k, v, mask=None):
        """Scaled dot-product attention over [1, heads, T, d] tensors."""
        return self.attend_with_weights(q, k, v, mask)[0]

    def attend_with_weights(self, q, k, v, mask=None):
        """attend, and the attention weights [1, heads, T, keys]."""
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = self.op("Mul", [self.op("MatMul", [q, kt]), self.const(np.float32(1 / 8.0))])
        if mask is not None:
            scores = self.op("Add", [scores, mask])
        weights = self.op("Softmax", [scores], axis=-1)
        return self.op("MatMul", [weights, v]), weights

    def model(self, inputs, outputs, name):
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def split_qkv(w, b):
    d = w.shape[1]
    return [(w[i * d : (i + 1) * d], b[i * d : (i + 1) * d]) for i in range(3)]


def encoder(weights, heads, layers):
    g = Graph()
    audio = "audio"
    padded = g.op("Pad", [audio, g.const(np.array([0, N_FFT // 2, 0, N_FFT // 2], dtype=np.int64))], mode="reflect")
    signal = g.op("Unsqueeze", [padded, g.const(np.array([1], dtype=np.int64))])
    n = np.arange(N_FFT)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)  # torch.hann_window (periodic)
    k = np.arange(N_FFT // 2 + 1)[:, None]
    real = (window * np.cos(2 * np.pi * k * n / N_FFT)).astype(np.float32)
    imag = (-window * np.sin(2 * np.pi * k * n / N_FFT)).astype(np.float32)
    kernels = np.concatenate([real, imag])[:, None, :]
    spectrum = g.op("Conv", [signal, g.const(kernels)], strides=[HOP])
    bins = N_FFT // 2 + 1
    frames = WINDOW // HOP
    trim = lambda start, end: g.op("Slice", [spectrum, g.const(np.array([start, 0], dtype=np.int64)), g.const(np.array([end, frames], dtype=np.int64)), g.const(np.array([1, 2], dtype=np.int64))])
    re, im = trim(0, bins), trim(bins, 2 * bins)
    power = g.op("Add", [g.op("Mul", [re, re]), g.op("Mul", [im, im])])
    mel = g.op("MatMul", [g.const(mel_filters()), power])
    log = g.op("Div", [g.op("Log", [g.op("Max", [mel, g.const(np.float32(1e-10))])]), g.const(np.float32(np.log(10.0)))])
    floor = g.op("Sub", [g.op("ReduceMax", [log], keepdims=1), g.const(np.float32(8.0))])
    log = g.op("Max", [log, floor])
    x = g.op("Div", [g.op("Add", [log, g.const(np.float32(4.0))]), g.const(np.float32(4.0))])
    w = lambda name: weights[name].astype(np.float32)
    x = g.gelu(g.op("Conv", [x, g.const(w("encoder/conv1/weight")), g.const(w("encoder/conv1/bias"))], pads=[1, 1]))
    x = g.gelu(g.op("Conv", [x, g.const(w("encoder/conv2/weight")), g.const(w("encoder/conv2/bias"))], pads=[1, 1], strides=[2]))
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Add", [x, g.const(w("encoder/position_encodings/encodings"))])
    for layer in range(layers):
        p = f"encoder/layer_{layer}"
        h = g.layer_norm(x, w(f"{p}/self_attention/layer_norm/gamma"), w(f"{p}/self_attention/layer_norm/beta"))
        (wq, bq), (wk, bk), (wv, bv) = split_qkv(w(f"{p}/self_attention/linear_0/weight"), w(f"{p}/self_attention/linear_0/bias"))
        q, k, v = (g.heads(g.linear(h, wi, bi), heads) for wi, bi in [(wq, bq), (wk, bk), (wv, bv)])
        out = g.linear(g.merge(g.attend(q, k, v)), w(f"{p}/self_attention/linear_1/weight"), w(f"{p}/self_attention/linear_1/bias"))
        x = g.op("Add", [x, out])
        h = g.layer_norm(x, w(f"{p}/ffn/layer_norm/gamma"), w(f"{p}/ffn/layer_norm/beta"))
        h = g.linear(g.gelu(g.linear(h, w(f"{p}/ffn/linear_0/weight"), w(f"{p}/ffn/linear_0/bias"))), w(f"{p}/ffn/linear_1/weight"), w(f"{p}/ffn/linear_1/bias"))
        x = g.op("Add", [x, h])
    enc = g.layer_norm(x, w("encoder/layer_norm/gamma"), w("encoder/layer_norm/beta"))
    outputs = []
    d = w("decoder/layer_0/attention/linear_1/weight").shape[1]
    for layer in range(layers_of(weights, "decoder")):
        p = f"decoder/layer_{layer}/attention/linear_1"
        wkv, bkv = w(f"{p}/weight"), w(f"{p}/bias")
        for i, kind in enumerate(["k", "v"]):
            name = f"cross_{kind}_{layer}"
            proj = g.heads(g.linear(enc, wkv[i * d : (i + 1) * d], bkv[i * d : (i + 1) * d]), heads)
            g.nodes.append(helper.make_node("Identity", [proj], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, heads, 1500, d // heads]))
    inputs = [helper.make_tensor_value_info("audio", TensorProto.FLOAT, [1, WINDOW])]
    return g.model(inputs, outputs, "whisper-encoder")


def layers_of(weights, part):
    return len({k.split("/")[1] for k in weights if k.startswith(f"{part}/layer_") and k.split("/")[1][6:].isdigit()})


def decoder(weights, heads, alignment_heads):
    g = Graph()
    w = lambda name: weights[name].astype(np.float32)
    layers = layers_of(weights, "decoder")
    embeddings = w("decoder/embeddings/weight")
    vocab, d = embeddings.shape
    emb = g.const(embeddings, "embeddings")
    x = g.op("Add", [g.op("Gather", [emb, "tokens"]), g.op("Gather", [g.const(w("decoder/position_encodings/encodings")), "positions"])])
    inputs = [
        helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, "T"]),
        helper.make_tensor_value_info("positions", TensorProto.INT64, ["T"]),
        helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["T", "PT"]),
    ]
    outputs = []
    aligned = []
    head_dim = d // heads
    for layer in range(layers):
        p = f"decoder/layer_{layer}"
        for kind in ["past_k", "past_v"]:
            inputs.append(helper.make_tensor_value_info(f"{kind}_{layer}", TensorProto.FLOAT, [1, heads, "P", head_dim]))
        for kind in ["cross_k", "cross_v"]:
            inputs.append(helper.make_tensor_value_info(f"{kind}_{layer}", TensorProto.FLOAT, [1, heads, 1500, head_dim]))
        h = g.layer_norm(x, w(f"{p}/self_attention/layer_norm/gamma"), w(f"{p}/self_attention/layer_norm/beta"))
        (wq, bq), (wk, bk), (wv, bv) = split_qkv(w(f"{p}/self_attention/linear_0/weight"), w(f"{p}/self_attention/linear_0/bias"))
        q, k, v = (g.heads(g.linear(h, wi, bi), heads) for wi, bi in [(wq, bq), (wk, bk), (wv, bv)])
        k_all = g.op("Concat", [f"past_k_{layer}", k], axis=2)
        v_all = g.op("Concat", [f"past_v_{layer}", v], axis=2)
        for kind, value in [("k", k_all), ("v", v_all)]:
            name = f"present_{kind}_{layer}"
            g.nodes.append(helper.make_node("Identity", [value], [name]))
            outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, heads, "PT", head_dim]))
        out = g.linear(g.merge(g.attend(q, k_all, v_all, "mask")), w(f"{p}/self_attention/linear_1/weight"), w(f"{p}/self_attention/linear_1/bias"))
        x = g.op("Add", [x, out])
        h = g.layer_norm(x, w(f"{p}/attention/layer_norm/gamma"), w(f"{p}/attention/layer_norm/beta"))
        q = g.heads(g.linear(h, w(f"{p}/attention/linear_0/weight"), w(f"{p}/attention/linear_0/bias")), heads)
        attended, cross_weights = g.attend_with_weights(q, f"cross_k_{layer}", f"cross_v_{layer}")
        picked = [h for l, h in alignment_heads if l == layer]
        if picked:
            aligned.append(g.op("Gather", [cross_weights, g.const(np.array(picked, dtype=np.int64))], axis=1))
        out = g.linear(g.merge(attended), w(f"{p}/attention/linear_2/weight"), w(f"{p}/attention/linear_2/bias"))
        x = g.op("Add", [x, out])
        h = g.layer_norm(x, w(f"{p}/ffn/layer_norm/gamma"), w(f"{p}/ffn/layer_norm/beta"))
        h = g.linear(g.gelu(g.linear(h, w(f"{p}/ffn/linear_0/weight"), w(f"{p}/ffn/linear_0/bias"))), w(f"{p}/ffn/linear_1/weight"), w(f"{p}/ffn/linear_1/bias"))
        x = g.op("Add", [x, h])
    x = g.layer_norm(x, w("decoder/layer_norm/gamma"), w("decoder/layer_norm/beta"))
    last = g.op("Slice", [x, g.const(np.array([-1], dtype=np.int64)), g.const(np.array([np.iinfo(np.int64).max], dtype=np.int64)), g.const(np.array([1], dtype=np.int64))])
    last = g.op("Reshape", [last, g.const(np.array([1, d], dtype=np.int64))])
    # The output projection is the token embedding itself, transposed in the product, not copied.
    g.nodes.append(helper.make_node("Gemm", [last, emb], ["logits"], transB=1))
    outputs.insert(0, helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, vocab]))
    # The cross-attention weights of the heads that follow the words through the sound (the
    # model's alignment heads), for word timings by dynamic time warping.
    g.nodes.append(helper.make_node("Concat", aligned, ["alignment"], axis=1))
    outputs.append(helper.make_tensor_value_info("alignment", TensorProto.FLOAT, [1, len(alignment_heads), "T", 1500]))
    return g.model(inputs, outputs, "whisper-decoder")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    source, out = Path(sys.argv[1]), Path(sys.argv[2])
    spec, weights = read_ct2(source / "model.bin")
    if spec != "WhisperSpec":
        sys.exit(f"{source}: a {spec}, not a Whisper model")
    heads = int(weights["encoder/num_heads"].reshape(-1)[0])
    config = json.loads((source / "config.json").read_text())
    out.mkdir(parents=True, exist_ok=True)
    onnx.save(encoder(weights, heads, layers_of(weights, "encoder")), out / "encoder.onnx")
    onnx.save(decoder(weights, heads, config["alignment_heads"]), out / "decoder.onnx")
    shutil.copy(source / "tokenizer.json", out / "tokenizer.json")
    # The decoding's special tokens, by their names in the tokenizer, and the tokens Whisper's own
    # decoding never samples (config.json), for vtx's decoder.
    added = {t["content"]: t["id"] for t in json.loads((source / "tokenizer.json").read_text())["added_tokens"]}
    no_timestamps = added["<|notimestamps|>"]
    generation = {
        "start": added["<|startoftranscript|>"],
        "end": added["<|endoftext|>"],
        "no_timestamps": no_timestamps,
        "no_speech": added.get("<|nospeech|>", added.get("<|nocaptions|>")),
        "timestamp_begin": no_timestamps + 1,
        # English-only models (tiny.en, base.en, ...) have one token fewer than the multilingual
        # ones and take no language or task token.
        "english_only": int(weights["decoder/embeddings/weight"].shape[0]) == 51864,
        "suppress": config["suppress_ids"],
        "suppress_at_start": config["suppress_ids_begin"],
        "vocab": int(weights["decoder/embeddings/weight"].shape[0]),
    }
    if not generation["english_only"]:
        # The language tokens by their codes (`<|fr|>` -> "fr"), and the task token that asks for
        # a transcript in the language heard (not a translation into English).
        generation["languages"] = {added_name[2:-2]: i for added_name, i in added.items() if i in config["lang_ids"]}
        generation["transcribe"] = added["<|transcribe|>"]
    (out / "generation.json").write_text(json.dumps(generation, indent=1) + "\n")


if __name__ == "__main__":
    main()
