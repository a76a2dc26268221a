"""Image classifiers: a ResNet-18-like and a MobileNetV2-like network (torchvision exports)."""

from __future__ import annotations

import onnx
from onnx import TensorProto

from xtvm.testing.zoo.graph import GraphBuilder, image_input

# size -> (stage widths, blocks per stage, classes)
_RESNET = {
    "tiny": ((8, 16, 16, 32), (1, 1, 1, 1), 10),
    "real": ((64, 128, 256, 512), (2, 2, 2, 2), 1000),
}


def _basic_block(b: GraphBuilder, x: str, cin: int, cout: int, stride: int) -> str:
    y = b.conv_bn(x, cin, cout, 3, stride, act="relu")
    y = b.conv_bn(y, cout, cout, 3, 1, act=None, gain=0.7)
    short = (
        x
        if stride == 1 and cin == cout
        else b.conv_bn(x, cin, cout, 1, stride, act=None, pad=0, gain=0.7)
    )
    return b.op("Relu", [b.op("Add", [y, short])])


def resnet18_like(size: str = "tiny") -> onnx.ModelProto:
    """conv7x7/2-bn-relu, maxpool 3x3/2, basic blocks (strided 1x1 downsample), GAP, flatten, gemm.

    Input ``x[batch, 3, height, width]`` (all three symbolic); output ``logits[batch, classes]``.
    """
    widths, blocks, classes = _RESNET[size]
    b = GraphBuilder(f"resnet18_like_{size}", seed=18)
    x = image_input(b, "x", 3, "height", "width")
    y = b.conv_bn(x, 3, widths[0], 7, 2, act="relu")
    y = b.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = widths[0]
    for stage, (w, n) in enumerate(zip(widths, blocks)):
        for i in range(n):
            y = _basic_block(b, y, cin, w, 2 if (i == 0 and stage > 0) else 1)
            cin = w
    y = b.flatten_batch(b.op("GlobalAveragePool", [y]))
    b.output(b.gemm(y, cin, classes), "logits", TensorProto.FLOAT, ["batch", classes])
    return b.build()


# size -> (width multiplier-ish stem, [(expand t, out c, repeats n, stride s)], last, classes)
_MBV2 = {
    "tiny": (8, [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2)], 32, 10),
    "real": (
        32,
        [
            (1, 16, 1, 1),
            (6, 24, 2, 2),
            (6, 32, 3, 2),
            (6, 64, 4, 2),
            (6, 96, 3, 1),
            (6, 160, 3, 2),
            (6, 320, 1, 1),
        ],
        1280,
        1000,
    ),
}


def _inverted_residual(b: GraphBuilder, x: str, cin: int, cout: int, t: int, stride: int) -> str:
    hidden = cin * t
    y = x if t == 1 else b.conv_bn(x, cin, hidden, 1, 1, act="relu6", pad=0)
    y = b.conv_bn(y, hidden, hidden, 3, stride, act="relu6", group=hidden)  # depthwise
    y = b.conv_bn(y, hidden, cout, 1, 1, act=None, pad=0)  # linear bottleneck
    return b.op("Add", [x, y]) if stride == 1 and cin == cout else y


def mobilenetv2_like(size: str = "tiny") -> onnx.ModelProto:
    """Inverted residuals (1x1 expand, depthwise 3x3, 1x1 project), ReLU6 as Clip, residual adds.

    Input ``x[batch, 3, height, width]`` (all symbolic); output ``logits[batch, classes]``.
    """
    stem, cfg, last, classes = _MBV2[size]
    b = GraphBuilder(f"mobilenetv2_like_{size}", seed=2)
    x = image_input(b, "x", 3, "height", "width")
    y = b.conv_bn(x, 3, stem, 3, 2, act="relu6")
    cin = stem
    for t, c, n, s in cfg:
        for i in range(n):
            y = _inverted_residual(b, y, cin, c, t, s if i == 0 else 1)
            cin = c
    y = b.conv_bn(y, cin, last, 1, 1, act="relu6", pad=0)
    # torchvision: adaptive_avg_pool2d(x, (1, 1)) -> torch.flatten(x, 1) -> Dropout -> Linear
    y = b.op("Flatten", [b.op("GlobalAveragePool", [y])], axis=1)
    b.output(b.gemm(y, last, classes), "logits", TensorProto.FLOAT, ["batch", classes])
    return b.build()
