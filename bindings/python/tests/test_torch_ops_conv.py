"""Parity with PyTorch for the CNN ops (Conv, ConvTranspose, pools,
BatchNormalization, GroupNormalization, InstanceNormalization, Pad, Resize)
on graphs built directly with mle_runtime._graph.Graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mle_runtime
from mle_runtime._graph import Graph

META = {"name": "conv", "version": "1.0.0", "properties": {}}
DTYPES = (np.float32, np.float64)
TORCH = {np.float32: torch.float32, np.float64: torch.float64}


def assert_close(got: np.ndarray, want: np.ndarray, dtype) -> None:
    """f32 within 1e-5 of the output's max-abs, f64 within 1e-12."""
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == np.dtype(dtype)
    tol = 1e-5 if dtype is np.float32 else 1e-12
    scale = max(float(np.max(np.abs(want))) if want.size else 0.0, 1e-30)
    np.testing.assert_allclose(got, want, rtol=0, atol=tol * scale)


def rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def run1(tmp_path, dtype, x: np.ndarray, build) -> np.ndarray:
    """Builds y = build(g, "x") over input x and runs it."""
    g = Graph(np.dtype(dtype))
    y = build(g, "x")
    path = tmp_path / "m.mle"
    g.write([("x", np.dtype(dtype), list(x.shape))], {"Y": y}, META, path)
    return mle_runtime.load(path).run({"x": x})["Y"]


def t(a):
    return torch.from_numpy(a)


CONV2D = [
    # (C, M, k, stride, padding, dilation, groups, H, W)
    (3, 8, 3, 1, 1, 1, 1, 12, 11),
    (4, 6, (3, 2), (2, 1), (1, 0), (2, 1), 2, 13, 9),
    (8, 16, 1, 1, 0, 1, 1, 7, 7),
    (8, 8, 3, 1, 1, 1, 8, 10, 9),  # depthwise
    (4, 8, 3, 2, 1, 1, 4, 11, 10),  # depthwise, channel multiplier 2
    (6, 6, 5, 1, 2, 2, 6, 12, 12),
    (16, 32, 3, 1, 1, 1, 1, 30, 30),  # several tiles
    (64, 32, 3, 1, 1, 1, 1, 5, 5),  # few columns
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(CONV2D)))
def test_conv2d(tmp_path, dtype, case):
    C, M, k, s, p, d, grp, H, W = CONV2D[case]
    pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]  # noqa: E731
    kk = pair(k)
    x = rand((2, C, H, W), dtype, 1)
    w = rand((M, C // grp, *kk), dtype, 2)
    b = rand((M,), dtype, 3)
    want = F.conv2d(t(x), t(w), t(b), stride=s, padding=p, dilation=d, groups=grp).numpy()
    pp = pair(p)
    got = run1(tmp_path, dtype, x, lambda g, xn: g.op("Conv", xn, g.const(w, "W"), g.const(b, "B"), group=grp,
                                                      strides=pair(s), dilations=pair(d), kernel_shape=kk,
                                                      pads=pp + pp))
    assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_same_and_1d(tmp_path, dtype):
    x = rand((2, 3, 10, 9), dtype, 1)
    w = rand((5, 3, 3, 4), dtype, 2)
    want = F.conv2d(t(x), t(w), padding="same").numpy()
    # torch's 'same' puts the extra pad at the end: ONNX SAME_UPPER.
    got = run1(tmp_path, dtype, x, lambda g, xn: g.op("Conv", xn, g.const(w, "W"), auto_pad="SAME_UPPER"))
    assert_close(got, want, dtype)
    x1 = rand((2, 4, 23), dtype, 4)
    w1 = rand((6, 2, 5), dtype, 5)
    b1 = rand((6,), dtype, 6)
    want = F.conv1d(t(x1), t(w1), t(b1), stride=2, padding=3, dilation=2, groups=2).numpy()
    got = run1(tmp_path, dtype, x1, lambda g, xn: g.op("Conv", xn, g.const(w1, "W"), g.const(b1, "B"), group=2,
                                                       strides=[2], dilations=[2], pads=[3, 3]))
    assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_conv_bn_relu_add_fused(tmp_path, dtype):
    x = rand((2, 8, 9, 9), dtype, 1)
    w = rand((8, 8, 3, 3), dtype, 2)
    b = rand((8,), dtype, 3)
    gamma, beta, mean = rand((8,), dtype, 4), rand((8,), dtype, 5), rand((8,), dtype, 6)
    var = (np.abs(rand((8,), dtype, 7)) + 0.2).astype(dtype)
    y = F.conv2d(t(x), t(w), t(b), padding=1)
    y = F.batch_norm(y, t(mean), t(var), t(gamma), t(beta), training=False, eps=1e-5)
    want = (F.relu6(y) + t(x)).numpy()

    def build(g, xn):
        c = g.op("Conv", xn, g.const(w, "W"), g.const(b, "B"), pads=[1, 1, 1, 1])
        n = g.op("BatchNormalization", c, g.const(gamma, "g"), g.const(beta, "b"), g.const(mean, "m"), g.const(var, "v"),
                 epsilon=1e-5)
        a = g.op("Clip", n, g.const(np.array(0, dtype), "lo"), g.const(np.array(6, dtype), "hi"))
        return g.op("Add", a, xn)
    assert_close(run1(tmp_path, dtype, x, build), want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(3))
def test_conv_transpose(tmp_path, dtype, case):
    if case < 2:
        C, M, k, s, p, op, d, grp = [(4, 6, 3, 2, 1, 1, 1, 1), (4, 6, (2, 3), (1, 2), (0, 1), (0, 1), (2, 1), 2)][case]
        x = rand((2, C, 5, 6), dtype, 1)
        pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]  # noqa: E731
        kk = pair(k)
        w = rand((C, M // grp, *kk), dtype, 2)
        b = rand((M,), dtype, 3)
        want = F.conv_transpose2d(t(x), t(w), t(b), stride=s, padding=p, output_padding=op, groups=grp, dilation=d).numpy()
        got = run1(tmp_path, dtype, x, lambda g, xn: g.op("ConvTranspose", xn, g.const(w, "W"), g.const(b, "B"),
                                                          group=grp, strides=pair(s), pads=pair(p) + pair(p),
                                                          output_padding=pair(op), dilations=pair(d)))
    else:
        x = rand((2, 3, 7), dtype, 1)
        w = rand((3, 4, 4), dtype, 2)
        want = F.conv_transpose1d(t(x), t(w), stride=3, padding=1, output_padding=2).numpy()
        got = run1(tmp_path, dtype, x, lambda g, xn: g.op("ConvTranspose", xn, g.const(w, "W"), strides=[3], pads=[1, 1],
                                                          output_padding=[2]))
    assert_close(got, want, dtype)


POOLS = [
    # (kind, k, stride, pad, ceil, count_include_pad, H, W)
    ("max", 3, 2, 1, False, False, 10, 9),
    ("max", 3, 2, 0, True, False, 8, 8),
    ("max", 2, 2, 0, True, False, 7, 9),
    ("avg", 3, 2, 1, True, True, 8, 7),
    ("avg", 3, 2, 1, True, False, 8, 7),
    ("avg", 2, 2, 0, False, True, 9, 9),
    ("avg", 3, 3, 1, True, True, 10, 11),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(POOLS)))
def test_pool(tmp_path, dtype, case):
    kind, k, s, p, ceil, cip, H, W = POOLS[case]
    x = rand((2, 3, H, W), dtype, case)
    if kind == "max":
        want = F.max_pool2d(t(x), k, s, p, ceil_mode=ceil).numpy()
        got = run1(tmp_path, dtype, x, lambda g, xn: g.op("MaxPool", xn, kernel_shape=[k, k], strides=[s, s],
                                                          pads=[p] * 4, ceil_mode=int(ceil)))
    else:
        want = F.avg_pool2d(t(x), k, s, p, ceil_mode=ceil, count_include_pad=cip).numpy()
        got = run1(tmp_path, dtype, x, lambda g, xn: g.op("AveragePool", xn, kernel_shape=[k, k], strides=[s, s],
                                                          pads=[p] * 4, ceil_mode=int(ceil), count_include_pad=int(cip)))
    assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pool_1d_and_global(tmp_path, dtype):
    x1 = rand((2, 3, 17), dtype, 1)
    want = F.max_pool1d(t(x1), 3, 2, 1, ceil_mode=True).numpy()
    got = run1(tmp_path, dtype, x1, lambda g, xn: g.op("MaxPool", xn, kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1))
    assert_close(got, want, dtype)
    x = rand((2, 3, 7, 9), dtype, 2)
    assert_close(run1(tmp_path, dtype, x, lambda g, xn: g.op("GlobalAveragePool", xn)),
                 F.adaptive_avg_pool2d(t(x), 1).numpy(), dtype)
    assert_close(run1(tmp_path, dtype, x, lambda g, xn: g.op("GlobalMaxPool", xn)),
                 F.adaptive_max_pool2d(t(x), 1).numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("out", [(3, 4), (5, 7), (1, 1), (7, 2)])
def test_adaptive_pool(tmp_path, dtype, out):
    x = rand((2, 3, 7, 10), dtype, 3)
    assert_close(run1(tmp_path, dtype, x, lambda g, xn: g.op("AdaptiveAveragePool", xn, output_size=list(out))),
                 F.adaptive_avg_pool2d(t(x), out).numpy(), dtype)
    assert_close(run1(tmp_path, dtype, x, lambda g, xn: g.op("AdaptiveMaxPool", xn, output_size=list(out))),
                 F.adaptive_max_pool2d(t(x), out).numpy(), dtype)
    x1 = rand((2, 3, 11), dtype, 4)
    assert_close(run1(tmp_path, dtype, x1, lambda g, xn: g.op("AdaptiveAveragePool", xn, output_size=[out[0]])),
                 F.adaptive_avg_pool1d(t(x1), out[0]).numpy(), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_norms(tmp_path, dtype):
    x = rand((2, 6, 5, 4), dtype, 1)
    gamma, beta, mean = rand((6,), dtype, 2), rand((6,), dtype, 3), rand((6,), dtype, 4)
    var = (np.abs(rand((6,), dtype, 5)) + 0.1).astype(dtype)
    want = F.batch_norm(t(x), t(mean), t(var), t(gamma), t(beta), training=False, eps=1e-3).numpy()
    got = run1(tmp_path, dtype, x, lambda g, xn: g.op("BatchNormalization", xn, g.const(gamma, "g"), g.const(beta, "b"),
                                                      g.const(mean, "m"), g.const(var, "v"), epsilon=1e-3))
    assert_close(got, want, dtype)
    want = F.group_norm(t(x), 3, t(gamma), t(beta), eps=1e-5).numpy()
    got = run1(tmp_path, dtype, x, lambda g, xn: g.op("GroupNormalization", xn, g.const(gamma, "g"), g.const(beta, "b"),
                                                      num_groups=3, epsilon=1e-5))
    assert_close(got, want, dtype)
    want = F.instance_norm(t(x), weight=t(gamma), bias=t(beta), eps=1e-5).numpy()
    got = run1(tmp_path, dtype, x, lambda g, xn: g.op("InstanceNormalization", xn, g.const(gamma, "g"),
                                                      g.const(beta, "b"), epsilon=1e-5))
    assert_close(got, want, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad(tmp_path, dtype, mode):
    x = rand((2, 3, 5, 6), dtype, 1)
    tp = (2, 1, 3, 0)  # torch: (left, right, top, bottom)
    want = F.pad(t(x), tp, mode=mode, **({"value": 1.5} if mode == "constant" else {})).numpy()
    onnx_mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    pads = np.array([0, 0, 3, 2, 0, 0, 0, 1], np.int64)

    def build(g, xn):
        ins = [xn, g.const(pads, "pads", np.int64)]
        if mode == "constant":
            ins.append(g.const(np.array(1.5, dtype), "cv"))
        return g.op("Pad", *ins, mode=onnx_mode)
    assert_close(run1(tmp_path, dtype, x, build), want, dtype)


RESIZE = [
    # (mode, align_corners, scale_factor, size)
    ("nearest", None, 2.0, None),
    ("nearest", None, 1.7, None),
    ("nearest", None, None, (13, 5)),
    ("bilinear", False, 2.0, None),
    ("bilinear", False, 0.6, None),
    ("bilinear", False, None, (13, 5)),
    ("bilinear", True, None, (13, 17)),
    ("bilinear", True, 1.5, None),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(RESIZE)))
def test_resize(tmp_path, dtype, case):
    mode, ac, sf, size = RESIZE[case]
    x = rand((2, 3, 7, 9), dtype, case)
    want = F.interpolate(t(x), size=size, scale_factor=sf, mode=mode, align_corners=ac).numpy()
    attrs = dict(mode="nearest", nearest_mode="floor", coordinate_transformation_mode="asymmetric")
    if mode == "bilinear":
        attrs = dict(mode="linear", coordinate_transformation_mode="align_corners" if ac else "pytorch_half_pixel")

    def build(g, xn):
        if size is None:
            return g.op("Resize", xn, "", g.const(np.array([1, 1, sf, sf], np.float32), "scales", np.float32), **attrs)
        return g.op("Resize", xn, "", "", g.const(np.array([2, 3, *size], np.int64), "sizes", np.int64), **attrs)
    assert_close(run1(tmp_path, dtype, x, build), want, dtype)
