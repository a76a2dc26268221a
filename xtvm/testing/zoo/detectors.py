"""Detectors: a YOLOv5-like one-stage detector and a DBNet-like text detector."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto

from xtvm.testing.zoo.graph import GraphBuilder, image_input

# size -> (input side, widths of P1..P5, C3 depths of P2..P5 (neck uses the first), classes)
_YOLO = {
    "tiny": (64, (8, 8, 16, 16, 32), (1, 1, 1, 1), 3),
    "real": (416, (32, 64, 128, 256, 512), (1, 2, 3, 1), 80),
}
_ANCHORS = ((10, 13, 16, 30, 33, 23), (30, 61, 62, 45, 59, 119), (116, 90, 156, 198, 373, 326))


def _cbs(b: GraphBuilder, x: str, cin: int, cout: int, k: int, s: int = 1, pad=None) -> str:
    return b.conv_bn(x, cin, cout, k, s, act="silu", pad=pad)


def _c3(b: GraphBuilder, x: str, cin: int, cout: int, n: int, shortcut: bool = True) -> str:
    """CSP bottleneck with 3 convolutions (YOLOv5's C3)."""
    c_ = cout // 2
    a = _cbs(b, x, cin, c_, 1)
    for _ in range(n):
        y = _cbs(b, _cbs(b, a, c_, c_, 1), c_, c_, 3)
        a = b.op("Add", [a, y]) if shortcut else y
    cat = b.op("Concat", [a, _cbs(b, x, cin, c_, 1)], axis=1)
    return _cbs(b, cat, 2 * c_, cout, 1)


def _sppf(b: GraphBuilder, x: str, cin: int, cout: int) -> str:
    """Spatial pyramid pooling - fast: one 5x5/1 max pool applied three times, concatenated."""
    c_ = cin // 2
    y = [_cbs(b, x, cin, c_, 1)]
    for _ in range(3):
        y.append(b.op("MaxPool", [y[-1]], kernel_shape=[5, 5], strides=[1, 1], pads=[2] * 4))
    return _cbs(b, b.op("Concat", y, axis=1), 4 * c_, cout, 1)


def _upsample2(b: GraphBuilder, x: str) -> str:
    """nn.Upsample(scale_factor=2, mode="nearest") as torch.onnx writes it (empty roi)."""
    scales = b.const(np.array([1, 1, 2, 2], dtype=np.float32), "scales")
    return b.op(
        "Resize",
        [x, "", scales],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
        cubic_coeff_a=-0.75,
    )


def _detect(
    b: GraphBuilder, x: str, cin: int, nc: int, stride: int, side: int, anchors: tuple[int, ...]
) -> str:
    """Detect layer for one level, export mode: decode boxes to [batch, na*ny*nx, 5+nc]."""
    na, no, ny = len(anchors) // 2, nc + 5, side // stride
    y = b.conv(x, cin, na * no, 1, pad=0, gain=1.0)
    bs, gy, gx = b.dim(y, 0), b.dim(y, 2), b.dim(y, 3)  # bs, _, ny, nx = x.shape
    y = b.op("Transpose", [b.reshape(y, [bs, na, no, gy, gx])], perm=[0, 1, 3, 4, 2])
    xy, wh, conf = b.op_n("Split", [b.op("Sigmoid", [y]), b.i64([2, 2, nc + 1])], 3, axis=4)
    yv, xv = np.meshgrid(np.arange(ny), np.arange(ny), indexing="ij")
    grid = np.broadcast_to(np.stack((xv, yv), 2)[None, None], (1, na, ny, ny, 2)) - 0.5
    anchor = np.array(anchors, dtype=np.float32).reshape(1, na, 1, 1, 2)
    anchor_grid = np.broadcast_to(anchor, (1, na, ny, ny, 2))
    xy = b.op("Add", [b.op("Mul", [xy, b.f32(2.0)]), b.const(grid.astype(np.float32), "grid")])
    xy = b.op("Mul", [xy, b.f32(float(stride))])  # (xy * 2 + grid) * stride
    wh = b.op("Pow", [b.op("Mul", [wh, b.f32(2.0)]), b.f32(2.0)])
    wh = b.op("Mul", [wh, b.const(np.ascontiguousarray(anchor_grid), "anchor_grid")])
    y = b.op("Concat", [xy, wh, conf], axis=4)
    return b.reshape(y, [b.dim(x, 0), -1, no])


def yolo_like(size: str = "tiny") -> onnx.ModelProto:
    """Conv-BN-SiLU CSP backbone, SPPF, FPN/PAN neck (nearest Resize x2 + Concat), Detect head.

    Input ``images[batch, 3, S, S]`` (S fixed: the decode grids are constants); output
    ``output0[batch, 3 * ((S/8)^2 + (S/16)^2 + (S/32)^2), 5 + classes]``, decoded boxes of all
    three levels (10647 x 85 at S = 416 with 80 classes).
    """
    side, (w1, w2, w3, w4, w5), depth, nc = _YOLO[size]
    b = GraphBuilder(f"yolo_like_{size}", seed=5)
    x = image_input(b, "images", 3, side, side)
    y = _cbs(b, x, 3, w1, 6, 2, pad=2)
    y = _c3(b, _cbs(b, y, w1, w2, 3, 2), w2, w2, depth[0])
    p3 = _c3(b, _cbs(b, y, w2, w3, 3, 2), w3, w3, depth[1])
    p4 = _c3(b, _cbs(b, p3, w3, w4, 3, 2), w4, w4, depth[2])
    p5 = _sppf(b, _c3(b, _cbs(b, p4, w4, w5, 3, 2), w5, w5, depth[3]), w5, w5)
    n = depth[0]
    h5 = _cbs(b, p5, w5, w4, 1)
    y = _c3(b, b.op("Concat", [_upsample2(b, h5), p4], axis=1), 2 * w4, w4, n, shortcut=False)
    h4 = _cbs(b, y, w4, w3, 1)
    o3 = _c3(b, b.op("Concat", [_upsample2(b, h4), p3], axis=1), 2 * w3, w3, n, shortcut=False)
    y = b.op("Concat", [_cbs(b, o3, w3, w3, 3, 2), h4], axis=1)
    o4 = _c3(b, y, 2 * w3, w4, n, shortcut=False)
    y = b.op("Concat", [_cbs(b, o4, w4, w4, 3, 2), h5], axis=1)
    o5 = _c3(b, y, 2 * w4, w5, n, shortcut=False)
    heads = [
        _detect(b, o, c, nc, s, side, a)
        for o, c, s, a in zip((o3, o4, o5), (w3, w4, w5), (8, 16, 32), _ANCHORS)
    ]
    boxes = 3 * sum((side // s) ** 2 for s in (8, 16, 32))
    b.output(b.op("Concat", heads, axis=1), "output0", TensorProto.FLOAT, ["batch", boxes, nc + 5])
    return b.build()


# size -> (widths of C2..C5, FPN inner channels)
_DBNET = {"tiny": ((8, 8, 16, 16), 16), "real": ((64, 128, 256, 512), 256)}


def _resize(b: GraphBuilder, x: str, scale: int, mode: str, ctm: str) -> str:
    scales = b.const(np.array([1, 1, scale, scale], dtype=np.float32), "scales")
    extra = {"nearest_mode": "floor"} if mode == "nearest" else {}
    return b.op("Resize", [x, "", scales], mode=mode, coordinate_transformation_mode=ctm, **extra)


def _resize_like(b: GraphBuilder, x: str, ref: str) -> str:
    """F.interpolate(x, size=ref.shape[2:], mode="bilinear"): sizes from a Shape/Slice chain."""
    lead = b.op("Slice", [b.op("Shape", [x]), b.i64([0]), b.i64([2]), b.i64([0])])
    hw = b.op("Slice", [b.op("Shape", [ref]), b.i64([2]), b.i64([4]), b.i64([0])])
    sizes = b.op("Concat", [lead, hw], axis=0)
    return b.op(
        "Resize",
        [x, "", "", sizes],
        mode="linear",
        coordinate_transformation_mode="pytorch_half_pixel",
    )


def dbnet_like(size: str = "tiny") -> onnx.ModelProto:
    """ResNet-style backbone, DB-FPN (Resize nearest / bilinear, adds, concat), ConvTranspose head.

    Input ``x[batch, 3, height, width]`` (all symbolic, multiples of 32); output
    ``maps[batch, 1, height, width]``, the sigmoid text-probability map.
    """
    (w2, w3, w4, w5), inner = _DBNET[size]
    b = GraphBuilder(f"dbnet_like_{size}", seed=7)
    x = image_input(b, "x", 3, "height", "width")
    y = b.conv_bn(b.conv_bn(x, 3, w2, 3, 2), w2, w2, 3, 1)
    y = b.op("MaxPool", [y], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    feats, cin = [], w2
    for i, w in enumerate((w2, w3, w4, w5)):
        s = 1 if i == 0 else 2
        z = b.conv_bn(b.conv_bn(y, cin, w, 3, s), w, w, 3, 1, act=None, gain=0.7)
        short = y if s == 1 and cin == w else b.conv_bn(y, cin, w, 1, s, act=None, pad=0, gain=0.7)
        y = b.op("Relu", [b.op("Add", [z, short])])
        feats.append(y)
        cin = w
    c2, c3, c4, c5 = (
        b.conv(f, w, inner, 1, pad=0, bias=False) for f, w in zip(feats, (w2, w3, w4, w5))
    )
    o4 = b.op("Add", [c4, _resize(b, c5, 2, "nearest", "asymmetric")])
    o3 = b.op("Add", [c3, _resize(b, o4, 2, "nearest", "asymmetric")])
    o2 = b.op("Add", [c2, _resize_like(b, o3, c2)])
    q = inner // 4
    p5 = _resize(b, b.conv(c5, inner, q, 3, bias=False), 8, "nearest", "asymmetric")
    p4 = _resize(b, b.conv(o4, inner, q, 3, bias=False), 4, "linear", "half_pixel")
    p3 = _resize(b, b.conv(o3, inner, q, 3, bias=False), 2, "nearest", "asymmetric")
    p2 = b.conv(o2, inner, q, 3, bias=False)
    fuse = b.op("Concat", [p5, p4, p3, p2], axis=1)
    h = b.conv_bn(fuse, inner, q, 3, 1)
    for cout, last in ((q, False), (1, True)):
        w = b.weight((q, cout, 2, 2), fan_in=q, base="convT.weight", gain=1.4)
        h = b.op(
            "ConvTranspose", [h, w, b.bias(cout, "convT.bias")], kernel_shape=[2, 2], strides=[2, 2]
        )
        h = b.op("Sigmoid", [h]) if last else b.op("Relu", [b.bn(h, cout)])
    b.output(h, "maps", TensorProto.FLOAT, ["batch", 1, "height", "width"])
    return b.build()
