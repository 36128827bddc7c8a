"""Convert the EfficientNet-Lite0 ImageNet checkpoint (legacy torch pickle) to ONNX, without torch.

The graph takes `pixel_values` float32 [N,3,224,224], already normalised by the caller, and returns
`features` [N,1280] (global-average-pooled head activations) and `logits` [N,1000].
Batch norm is folded into the preceding convolutions. Convolutions use TensorFlow "SAME" padding
because the weights come from the TensorFlow release, whose stride-2 layers pad bottom/right only.

usage: convert_efficientnet_lite0.py CHECKPOINT.pth OUT.onnx
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import torch_legacy

BN_EPS = 1e-3
INPUT_SIZE = 224
# First block of each stage gets the stride; the rest of the stage keeps stride 1.
STRIDE_TWO_BLOCKS = {1, 3, 5, 11}


class GraphBuilder:
    def __init__(self, state):
        self.state = state
        self.nodes = []
        self.inits = []
        self.counter = 0

    def name(self, prefix):
        self.counter += 1
        return f"{prefix}_{self.counter}"

    def const(self, prefix, array):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def conv_bn(self, x, size, conv_key, bn_key, stride, groups, activation):
        weight = self.state[conv_key + ".weight"]
        gamma = self.state[bn_key + ".weight"]
        beta = self.state[bn_key + ".bias"]
        mean = self.state[bn_key + ".running_mean"]
        var = self.state[bn_key + ".running_var"]
        scale = gamma / np.sqrt(var + BN_EPS)
        folded_w = (weight * scale[:, None, None, None]).astype(np.float32)
        folded_b = (beta - mean * scale).astype(np.float32)
        kernel = weight.shape[2]
        out_size = -(-size // stride)
        pad_total = max((out_size - 1) * stride + kernel - size, 0)
        pad_begin = pad_total // 2
        pads = [pad_begin, pad_begin, pad_total - pad_begin, pad_total - pad_begin]
        y = self.name("conv")
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, self.const("w", folded_w), self.const("b", folded_b)],
                [y],
                kernel_shape=[kernel, kernel],
                strides=[stride, stride],
                pads=pads,
                group=groups,
            )
        )
        if activation:
            y = self.relu6(y)
        return y, out_size

    def relu6(self, x):
        y = self.name("relu6")
        self.nodes.append(
            helper.make_node(
                "Clip",
                [x, self.const("lo", np.array(0.0, np.float32)), self.const("hi", np.array(6.0, np.float32))],
                [y],
            )
        )
        return y

    def block(self, x, size, index):
        prefix = f"_blocks.{index}"
        stride = 2 if index in STRIDE_TWO_BLOCKS else 1
        h = x
        has_expand = prefix + "._expand_conv.weight" in self.state
        if has_expand:
            h, _ = self.conv_bn(h, size, prefix + "._expand_conv", prefix + "._bn0", 1, 1, True)
        channels = self.state[prefix + "._depthwise_conv.weight"].shape[0]
        h, out_size = self.conv_bn(h, size, prefix + "._depthwise_conv", prefix + "._bn1", stride, channels, True)
        h, _ = self.conv_bn(h, out_size, prefix + "._project_conv", prefix + "._bn2", 1, 1, False)
        in_channels = channels if not has_expand else self.state[prefix + "._expand_conv.weight"].shape[1]
        out_channels = self.state[prefix + "._project_conv.weight"].shape[0]
        if stride == 1 and in_channels == out_channels:
            y = self.name("add")
            self.nodes.append(helper.make_node("Add", [h, x], [y]))
            h = y
        return h, out_size


def build(state):
    g = GraphBuilder(state)
    h, size = g.conv_bn("pixel_values", INPUT_SIZE, "_conv_stem", "_bn0", 2, 1, True)
    block_count = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("_blocks."))
    for index in range(block_count):
        h, size = g.block(h, size, index)
    h, _ = g.conv_bn(h, size, "_conv_head", "_bn1", 1, 1, True)
    pooled = g.name("pool")
    g.nodes.append(helper.make_node("GlobalAveragePool", [h], [pooled]))
    g.nodes.append(helper.make_node("Flatten", [pooled], ["features"], axis=1))
    g.nodes.append(
        helper.make_node(
            "Gemm",
            ["features", g.const("fc_w", state["_fc.weight"]), g.const("fc_b", state["_fc.bias"])],
            ["logits"],
            transB=1,
        )
    )
    graph = helper.make_graph(
        g.nodes,
        "efficientnet_lite0",
        [helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, INPUT_SIZE, INPUT_SIZE])],
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 1280]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 1000]),
        ],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    src, dst = sys.argv[1], sys.argv[2]
    model = build(torch_legacy.load(src))
    onnx.save(model, dst)
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
