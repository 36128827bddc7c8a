"""Convert a TensorFlow.js graph model (model.json + weight shards) to ONNX, with numpy and onnx only.

TensorFlow itself is 1.4 GB and tf2onnx needs it; the graphs vtx takes from npm (the CenterNet
detector of @vladmandic/human) use a dozen op types, so rebuilding them node by node is smaller
and easier to check. Only the nodes between the input and the requested outputs are converted, so
a graph's own post-processing (peaks, top-k, gathers) is left out: vtx decodes the raw heads in
Rust. The input may be a node after the graph's own input handling (MoveNet casts an int32 image to
float first), as long as it has the placeholder's shape.

The TF.js graph works in NHWC. The ONNX graph takes the same NHWC input and gives the same NHWC
outputs, but runs NCHW inside (ONNX Runtime's convolutions are NCHW), with one transpose at each
end. Height, width and batch are left free: upsampling is rewritten as a fixed scale, so any input
whose sides are multiples of the network's stride works.

Usage: convert_tfjs_graph.py MODEL_JSON OUT_ONNX --input NODE=ONNX_NAME --output NODE=ONNX_NAME ...
         [--check REFERENCE_DIR FRAME.rgb WIDTH HEIGHT]
With --check, the ONNX graph is run by ONNX Runtime on the frame that scripts/tfjs_reference.mjs
ran TensorFlow.js on, and every output must match TensorFlow.js's, or the script fails.
"""

import argparse
import base64
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def load_weights(model_json, manifest_dir):
    values = {}
    for group in model_json["weightsManifest"]:
        data = b"".join(open(os.path.join(manifest_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            stored = w.get("quantization", {}).get("dtype", w["dtype"])
            dtype = {"float16": np.float16, "float32": np.float32, "int32": np.int32}.get(stored)
            if dtype is None:
                sys.exit(f"weight {w['name']}: unsupported stored type {stored}")
            array = np.frombuffer(data, dtype, count, offset)
            offset += count * np.dtype(dtype).itemsize
            target = np.float32 if w["dtype"] == "float32" else np.int32
            values[w["name"]] = array.astype(target).reshape(w["shape"])
        if offset != len(data):
            sys.exit(f"weights of {group['paths']}: read {offset} of {len(data)} bytes")
    return values


def attr(node, key, default=None):
    a = node.get("attr", {}).get(key)
    if a is None:
        return default
    if "s" in a:
        return base64.b64decode(a["s"]).decode()
    if "list" in a:
        lst = a["list"]
        if "i" in lst:
            return [int(i) for i in lst["i"]]
        if "s" in lst:
            return [base64.b64decode(s).decode() for s in lst["s"]]
        return []
    if "i" in a:
        return int(a["i"])
    if "f" in a:
        return float(a["f"])
    if "b" in a:
        return bool(a["b"])
    return a


class Converter:
    def __init__(self, model_json, weights):
        self.nodes = {n["name"]: n for n in model_json["modelTopology"]["node"]}
        self.weights = weights
        self.onnx_nodes = []
        self.initializers = []
        # TF tensor name -> (ONNX name, nominal [C, H, W] or None for non-images).
        self.tensors = {}
        self.counter = 0
        self.placeholder = next(n for n in self.nodes.values() if n["op"] == "Placeholder")
        # The node the ONNX graph starts from: the placeholder, or a node after the graph's own
        # input handling (casts, resizes to the size it already has), with the placeholder's shape.
        self.start = self.placeholder["name"]

    def fresh(self, base):
        self.counter += 1
        return f"{base}__{self.counter}"

    def const(self, array, base="c"):
        name = self.fresh(base)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def emit(self, op, inputs, base, **attrs):
        out = self.fresh(base)
        self.onnx_nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def const_value(self, name):
        name = name.split(":")[0]
        node = self.nodes.get(name)
        if node is None or node["op"] != "Const":
            return None
        return self.weights[name]

    def activation(self, x, kind, base):
        if kind == "Relu":
            return self.emit("Relu", [x], base)
        if kind == "Relu6":
            return self.emit("Clip", [x, self.const(np.float32(0)), self.const(np.float32(6))], base)
        sys.exit(f"unsupported fused activation {kind}")

    def convert(self, name):
        name = name.split(":")[0]
        if name in self.tensors:
            return self.tensors[name]
        node = self.nodes[name]
        if name == self.start:
            node = self.placeholder
        op = node["op"]
        handler = getattr(self, "op_" + op.lstrip("_"), None)
        if handler is None:
            sys.exit(f"node {name}: unsupported op {op}")
        result = handler(node)
        self.tensors[name] = result
        return result

    def op_Placeholder(self, node):
        dims = [int(d.get("size", -1)) for d in attr(node, "shape")["shape"]["dim"]]
        self.input_nominal = dims
        _, h, w, c = dims
        x = self.emit("Transpose", [self.start], "to_nchw", perm=[0, 3, 1, 2])
        return x, [c, h, w]

    def conv(self, node, depthwise):
        x, shape = self.convert(node["input"][0])
        kernel = self.const_value(node["input"][1])
        strides = attr(node, "strides")[1:3]
        dilations = (attr(node, "dilations") or [1, 1, 1, 1])[1:3]
        padding = attr(node, "padding")
        kh, kw = kernel.shape[:2]
        if depthwise:
            channels, multiplier = kernel.shape[2], kernel.shape[3]
            weight = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
            group, out_channels = channels, channels * multiplier
        else:
            weight = kernel.transpose(3, 2, 0, 1)
            group, out_channels = 1, kernel.shape[3]
        inputs = [x, self.const(weight.astype(np.float32), "w")]
        fused = attr(node, "fused_ops") or []
        if fused and fused[0] == "BiasAdd":
            inputs.append(self.const(self.const_value(node["input"][2]).astype(np.float32), "b"))
            fused = fused[1:]
        elif fused:
            sys.exit(f"node {node['name']}: fused ops {fused} not supported")
        auto_pad = {"SAME": "SAME_UPPER", "VALID": "VALID"}[padding]
        y = self.emit(
            "Conv", inputs, "conv", kernel_shape=[kh, kw], strides=strides, dilations=dilations,
            group=group, auto_pad=auto_pad,
        )
        for kind in fused:
            y = self.activation(y, kind, "act")
        _, h, w = shape
        if padding == "SAME":
            h, w = math.ceil(h / strides[0]), math.ceil(w / strides[1])
        else:
            h = (h - (kh - 1) * dilations[0] - 1) // strides[0] + 1
            w = (w - (kw - 1) * dilations[1] - 1) // strides[1] + 1
        return y, [out_channels, h, w]

    def op_FusedConv2D(self, node):
        return self.conv(node, depthwise=False)

    def op_Conv2D(self, node):
        return self.conv(node, depthwise=False)

    def op_FusedDepthwiseConv2dNative(self, node):
        return self.conv(node, depthwise=True)

    def op_DepthwiseConv2dNative(self, node):
        return self.conv(node, depthwise=True)

    def operand(self, name):
        """A tensor, or a constant laid out to broadcast against NCHW images."""
        value = self.const_value(name)
        if value is None:
            return self.convert(name)
        value = value.astype(np.float32)
        if value.ndim == 4 and value.shape[:3] == (1, 1, 1):
            value = value.reshape(-1)
        if value.ndim == 1 and value.size > 1:
            value = value.reshape(1, -1, 1, 1)
        elif value.ndim > 1:
            sys.exit(f"constant {name} of shape {value.shape} in an elementwise op is not supported")
        return self.const(value), None

    def binary(self, node, op):
        (a, sa), (b, sb) = (self.operand(i) for i in node["input"])
        # A squeeze-excite gate ([C, 1, 1]) times its image ([C, H, W]) has the image's shape.
        shape = [max(x, y) for x, y in zip(sa, sb)] if sa and sb else sa or sb
        return self.emit(op, [a, b], op.lower()), shape

    def op_Mul(self, node):
        return self.binary(node, "Mul")

    def op_Add(self, node):
        return self.binary(node, "Add")

    def op_AddV2(self, node):
        return self.binary(node, "Add")

    def op_Sub(self, node):
        return self.binary(node, "Sub")

    def unary(self, node, op):
        x, shape = self.convert(node["input"][0])
        return self.emit(op, [x], op.lower()), shape

    def op_Relu(self, node):
        return self.unary(node, "Relu")

    def op_Sigmoid(self, node):
        return self.unary(node, "Sigmoid")

    def op_Identity(self, node):
        return self.convert(node["input"][0])

    def op_Relu6(self, node):
        x, shape = self.convert(node["input"][0])
        return self.activation(x, "Relu6", "relu6"), shape

    def op_Mean(self, node):
        x, shape = self.convert(node["input"][0])
        axes = sorted(int(a) for a in np.atleast_1d(self.const_value(node["input"][1])))
        if axes != [1, 2] or not attr(node, "keep_dims"):
            sys.exit(f"node {node['name']}: only a spatial mean that keeps dims is supported")
        return self.emit("ReduceMean", [x], "mean", axes=[2, 3], keepdims=1), [shape[0], 1, 1]

    def op_ConcatV2(self, node):
        parts = [self.convert(i) for i in node["input"][:-1]]
        axis = int(self.const_value(node["input"][-1]))
        if axis not in (3, -1):
            sys.exit(f"node {node['name']}: only a channel concat is supported")
        channels = sum(s[0] for _, s in parts)
        return self.emit("Concat", [p for p, _ in parts], "concat", axis=1), [channels, *parts[0][1][1:]]

    def op_ResizeBilinear(self, node):
        x, (c, h, w) = self.convert(node["input"][0])
        size = self.const_value(node["input"][1])
        if attr(node, "align_corners"):
            sys.exit(f"node {node['name']}: a resize that aligns corners is not supported")
        # TF's legacy resize maps output pixel i to input i / scale; with half-pixel centres, to
        # (i + 0.5) / scale - 0.5, which is ONNX's half_pixel.
        mode = "half_pixel" if attr(node, "half_pixel_centers") else "asymmetric"
        scales = np.array([1, 1, size[0] / h, size[1] / w], np.float32)
        y = self.emit(
            "Resize", [x, "", self.const(scales, "scales")], "resize", mode="linear",
            coordinate_transformation_mode=mode,
        )
        return y, [c, int(size[0]), int(size[1])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_json")
    parser.add_argument("out")
    parser.add_argument("--input", required=True, help="TF_NAME=ONNX_NAME")
    parser.add_argument("--output", action="append", required=True, help="TF_NAME=ONNX_NAME")
    parser.add_argument("--check", nargs=4, metavar=("REFERENCE_DIR", "FRAME", "WIDTH", "HEIGHT"))
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest difference allowed, relative to the output's range")
    args = parser.parse_args()

    model = json.load(open(args.model_json))
    weights = load_weights(model, os.path.dirname(os.path.abspath(args.model_json)))
    conv = Converter(model, weights)
    tf_input, onnx_input = args.input.split("=")
    if tf_input not in conv.nodes:
        sys.exit(f"--input {tf_input}: no such node")
    conv.start = tf_input
    outputs = []
    for spec in args.output:
        tf_name, onnx_name = spec.split("=")
        y, shape = conv.convert(tf_name)
        conv.onnx_nodes.append(helper.make_node("Transpose", [y], [onnx_name], perm=[0, 2, 3, 1]))
        outputs.append(helper.make_tensor_value_info(onnx_name, TensorProto.FLOAT, ["batch", "h", "w", shape[0]]))
    # The Placeholder's TF name is what the first Transpose reads; rename it to the ONNX input.
    for n in conv.onnx_nodes:
        n.input[:] = [onnx_input if i == tf_input else i for i in n.input]
    channels = conv.input_nominal[3]
    graph = helper.make_graph(
        conv.onnx_nodes, "tfjs",
        [helper.make_tensor_value_info(onnx_input, TensorProto.FLOAT, ["batch", "height", "width", channels])],
        outputs, conv.initializers,
    )
    out = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="vtx convert_tfjs_graph")
    out.ir_version = 8
    onnx.checker.check_model(out)
    onnx.save(out, args.out)
    print(f"{args.out}: {len(conv.onnx_nodes)} nodes, {sum(i.ByteSize() for i in conv.initializers) / 1e6:.1f} MB of weights")
    if args.check:
        check(args.out, onnx_input, [spec.split("=") for spec in args.output], args.check, args.tolerance)


def check(model_path, input_name, outputs, reference, tolerance):
    import onnxruntime

    ref_dir, frame, width, height = reference
    shapes = json.load(open(os.path.join(ref_dir, "shapes.json")))
    pixels = np.fromfile(frame, np.uint8).astype(np.float32).reshape(1, int(height), int(width), 3)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    got = session.run([o for _, o in outputs], {input_name: pixels})
    for (tf_name, onnx_name), value in zip(outputs, got):
        ref = shapes[tf_name]
        expected = np.fromfile(os.path.join(ref_dir, ref["file"]), np.float32).reshape(ref["shape"])
        scale = max(float(np.abs(expected).max()), 1e-6)
        worst = float(np.abs(value - expected).max())
        print(f"{onnx_name}: largest difference from TensorFlow.js {worst:.3g} (outputs reach {scale:.3g})")
        if value.shape != expected.shape or worst > tolerance * scale:
            sys.exit(f"{onnx_name} does not match TensorFlow.js's {tf_name}")


if __name__ == "__main__":
    main()
