"""Parity with PyTorch for the tensor-manipulation and elementwise ops
(Slice, Split, Squeeze, Expand, Tile, Range, Trilu, CumSum, TopK, logic,
Min/Max, Mod, Pow, and the activations of convolutional networks), built
directly as graphs and compared with the torch functions an exporter maps
to them."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import mle_runtime
from mle_runtime._graph import Graph

I64_MAX, I64_MIN = np.iinfo(np.int64).max, np.iinfo(np.int64).min
TOL = {np.float32: dict(rtol=1e-6, atol=1e-7), np.float64: dict(rtol=1e-12, atol=1e-15)}


def run(tmp_path, build: Callable[..., Any], *inputs: np.ndarray) -> list[np.ndarray]:
    """Builds a graph over inputs x0, x1, ... (build returns its output
    value or values), writes it, runs it and returns the outputs."""
    g = Graph(np.dtype(np.float32))
    names = [f"x{i}" for i in range(len(inputs))]
    outs = build(g, *names)
    outs = [outs] if isinstance(outs, str) else list(outs)
    path = tmp_path / "m.mle"
    g.write([(n, a.dtype, list(a.shape)) for n, a in zip(names, inputs)],
            {f"y{i}": o for i, o in enumerate(outs)}, {"name": "ops"}, path)
    m = mle_runtime.load(path)
    return list(m.run(list(inputs)).values())


def i64(g: Graph, *vals: int) -> str:
    return g.const(np.array(vals, dtype=np.int64), "i", np.int64)


def t(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(a))


RNG = np.random.default_rng(0)
X = RNG.standard_normal((4, 6, 5)).astype(np.float32)

SLICES = [  # starts, ends, axes, steps, and the torch expression
    ([1], [3], [0], None, lambda x: x[1:3]),
    ([0, 1], [I64_MAX, -1], [2, 1], [2, 1], lambda x: x[:, 1:-1, ::2]),
    ([-1], [I64_MIN], [1], [-1], lambda x: torch.flip(x, [1])),
    ([-1], [I64_MIN], [-1], [-2], lambda x: torch.flip(x, [2])[:, :, ::2]),
    ([4, 100], [1, -100], [1, 2], [-2, -3], lambda x: torch.flip(x, [1, 2])[:, 1:5:2, ::3]),
    ([2], [2], [0], None, lambda x: x[2:2]),
    ([-100], [100], [0], None, lambda x: x),
    ([1], [5], [1], None, lambda x: torch.narrow(x, 1, 1, 4)),
]


@pytest.mark.parametrize("case", range(len(SLICES)))
def test_slice(tmp_path, case):
    starts, ends, axes, steps, fn = SLICES[case]

    def build(g, x):
        ins = [x, i64(g, *starts), i64(g, *ends), i64(g, *axes)]
        if steps is not None:
            ins.append(i64(g, *steps))
        return g.op("Slice", *ins)

    got, = run(tmp_path, build, X)
    want = fn(t(X)).numpy()
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_split_and_chunk(tmp_path):
    got = run(tmp_path, lambda g, x: g.op("Split", x, i64(g, 2, 4), axis=1, outputs=2), X)
    for a, b in zip(got, torch.split(t(X), [2, 4], dim=1)):
        np.testing.assert_array_equal(a, b.numpy())
    got = run(tmp_path, lambda g, x: g.op("Split", x, axis=-1, num_outputs=3, outputs=3), X)
    for a, b in zip(got, torch.chunk(t(X), 3, dim=-1)):
        np.testing.assert_array_equal(a, b.numpy())
    got = run(tmp_path, lambda g, x: g.op("Split", x, axis=1, outputs=3), X)
    for a, b in zip(got, torch.split(t(X), 2, dim=1)):
        np.testing.assert_array_equal(a, b.numpy())


def test_squeeze_unsqueeze_expand_tile(tmp_path):
    x = RNG.standard_normal((3, 1, 2, 1)).astype(np.float64)
    got, = run(tmp_path, lambda g, a: g.op("Squeeze", a, i64(g, 1, -1)), x)
    np.testing.assert_array_equal(got, t(x).squeeze(1).squeeze(-1).numpy())
    got, = run(tmp_path, lambda g, a: g.op("Squeeze", a), x)
    np.testing.assert_array_equal(got, t(x).squeeze().numpy())
    got, = run(tmp_path, lambda g, a: g.op("Unsqueeze", a, i64(g, 0, -1)), x)
    np.testing.assert_array_equal(got, t(x).unsqueeze(0).unsqueeze(-1).numpy())
    got, = run(tmp_path, lambda g, a: g.op("Expand", a, i64(g, 2, 3, 4, 2, 5)), x)
    np.testing.assert_array_equal(got, t(x).expand(2, 3, 4, 2, 5).numpy())
    got, = run(tmp_path, lambda g, a: g.op("Tile", a, i64(g, 2, 3, 1, 2)), x)
    np.testing.assert_array_equal(got, torch.tile(t(x), (2, 3, 1, 2)).numpy())
    xi = np.arange(6, dtype=np.int32).reshape(2, 3)
    got, = run(tmp_path, lambda g, a: g.op("Tile", a, i64(g, 2, 2)), xi)
    np.testing.assert_array_equal(got, t(xi).repeat(2, 2).numpy())
    xb = np.array([[True], [False]])
    got, = run(tmp_path, lambda g, a: g.op("Expand", a, i64(g, 2, 3)), xb)
    assert got.dtype == np.bool_
    np.testing.assert_array_equal(got, t(xb).expand(2, 3).numpy())


def test_shape_size_range_constant_of_shape(tmp_path):
    def build(g, x):
        return [g.op("Shape", x), g.op("Shape", x, start=1, end=-1), g.op("Size", x),
                g.op("Range", g.const(10, "s", np.int64), g.const(-2, "l", np.int64), g.const(-3, "d", np.int64)),
                g.op("ConstantOfShape", i64(g, 2, 3), value=1.5, dtype=11),
                g.op("ConstantOfShape", i64(g, 2), value=1.0, dtype=9)]

    shape, mid, size, rng, cos, cob = run(tmp_path, build, X)
    assert shape.dtype == np.int64 and list(shape) == [4, 6, 5] and list(mid) == [6]
    assert size.shape == () and size == X.size
    np.testing.assert_array_equal(rng, torch.arange(10, -2, -3).numpy())
    np.testing.assert_array_equal(cos, torch.full((2, 3), 1.5, dtype=torch.float64).numpy())
    assert cob.dtype == np.bool_ and cob.tolist() == [True, True]


def test_range_float(tmp_path):
    """Needs the planner's constants to serve floats (constSource.Float64s)."""
    got, = run(tmp_path, lambda g, x: g.op("Range", g.const(0.5, "s"), g.const(3.0, "l"), g.const(0.25, "d")), X)
    np.testing.assert_allclose(got, torch.arange(0.5, 3.0, 0.25).numpy(), rtol=1e-7)


@pytest.mark.parametrize("upper", [0, 1])
@pytest.mark.parametrize("k", [0, 2, -1, -10, 10])
def test_trilu(tmp_path, upper, k):
    got, = run(tmp_path, lambda g, x: g.op("Trilu", x, g.const(k, "k", np.int64), upper=upper), X)
    want = (torch.triu if upper else torch.tril)(t(X), k)
    np.testing.assert_array_equal(got, want.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_cumsum(tmp_path, dtype):
    x = (RNG.standard_normal((3, 40, 7)) * 100).astype(dtype)
    for axis in (0, 1, -1):
        for exclusive, reverse in [(0, 0), (1, 0), (0, 1), (1, 1)]:
            got, = run(tmp_path, lambda g, a: g.op("CumSum", a, g.const(axis, "ax", np.int64), exclusive=exclusive,
                                                   reverse=reverse), x)
            tx = t(x)
            if reverse:
                tx = torch.flip(tx, [axis])
            want = torch.cumsum(tx, axis)
            if exclusive:
                want = want - tx
            if reverse:
                want = torch.flip(want, [axis])
            if np.issubdtype(dtype, np.floating) and exclusive:
                # torch's cumsum − x rounds twice: compare with the exact sums.
                want = t(np.asarray(want.numpy(), dtype=np.float64))
                np.testing.assert_allclose(got, want.numpy(), rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)
            else:
                np.testing.assert_allclose(got, want.numpy(), **TOL.get(dtype, dict(rtol=0)))


@pytest.mark.parametrize("largest", [0, 1])
@pytest.mark.parametrize("axis", [0, -1])
def test_topk(tmp_path, largest, axis):
    x = np.round(RNG.standard_normal((20, 30)) * 3).astype(np.float32)  # many ties
    x[3, 4] = np.nan
    k = 5
    vals, idx = run(tmp_path, lambda g, a: g.op("TopK", a, i64(g, k), axis=axis, largest=largest, outputs=2), x)
    tv, ti = torch.topk(t(x), k, dim=axis, largest=bool(largest))
    np.testing.assert_array_equal(vals, tv.numpy())
    assert idx.dtype == np.int64
    # Ties may come in another order in torch: the indices must hold the values,
    # lower index first among equal ones (ONNX's rule).
    np.testing.assert_array_equal(np.take_along_axis(x, idx, axis=axis), vals)
    moved = np.moveaxis(idx, axis, -1)
    mv = np.moveaxis(vals, axis, -1)
    for r in range(moved.shape[0]):
        for j in range(1, k):
            if mv[r, j] == mv[r, j - 1] or (np.isnan(mv[r, j]) and np.isnan(mv[r, j - 1])):
                assert moved[r, j] > moved[r, j - 1]
    distinct = RNG.permutation(600).reshape(20, 30).astype(np.float64)
    vals, idx = run(tmp_path, lambda g, a: g.op("TopK", a, i64(g, k), axis=axis, largest=largest, outputs=2), distinct)
    tv, ti = torch.topk(t(distinct), k, dim=axis, largest=bool(largest))
    np.testing.assert_array_equal(vals, tv.numpy())
    np.testing.assert_array_equal(idx, ti.numpy())


def test_logical(tmp_path):
    a = RNG.random((4, 1, 3)) > 0.5
    b = RNG.random((5, 3)) > 0.5
    got = run(tmp_path, lambda g, x, y: [g.op("And", x, y), g.op("Or", x, y), g.op("Xor", x, y), g.op("Not", x)], a, b)
    ta, tb = t(a), t(b)
    for g_, w in zip(got, [torch.logical_and(ta, tb), torch.logical_or(ta, tb), torch.logical_xor(ta, tb),
                           torch.logical_not(ta)]):
        assert g_.dtype == np.bool_
        np.testing.assert_array_equal(g_, w.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64])
def test_min_max_compare_mod(tmp_path, dtype):
    a = (RNG.standard_normal((4, 1, 3)) * 10).astype(dtype)
    b = (RNG.standard_normal((5, 3)) * 10).astype(dtype)
    c = (RNG.standard_normal((3,)) * 10).astype(dtype)
    floats = np.issubdtype(dtype, np.floating)
    if floats:
        a[0, 0, :] = [np.nan, np.inf, -np.inf]
        b[1, 1] = np.nan
    else:
        b[b == 0] = 3
        b[0, :] = [0, -3, 4]  # a zero divisor gives 0, as Div
    got = run(tmp_path, lambda g, x, y, z: [g.op("Max", x, y), g.op("Min", x, y, z), g.op("GreaterOrEqual", x, y),
                                            g.op("LessOrEqual", x, y), g.op("Mod", x, y, fmod=1 if floats else 0)],
              a, b, c)
    ta, tb, tc = t(a), t(b), t(c)
    np.testing.assert_array_equal(got[0], torch.maximum(ta, tb).numpy())
    np.testing.assert_array_equal(got[1], torch.minimum(torch.minimum(ta, tb), tc).numpy())
    np.testing.assert_array_equal(got[2], torch.ge(ta, tb).numpy())
    np.testing.assert_array_equal(got[3], torch.le(ta, tb).numpy())
    if floats:
        np.testing.assert_array_equal(got[4], torch.fmod(ta, tb).numpy())
    else:
        want = torch.remainder(ta, torch.where(tb == 0, torch.ones_like(tb), tb))
        want = torch.where(tb == 0, torch.zeros_like(want), want)
        np.testing.assert_array_equal(got[4], want.numpy())


SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

UNARY = [  # op, attrs, torch function
    ("Reciprocal", {}, torch.reciprocal),
    ("Erf", {}, torch.erf),
    ("Floor", {}, torch.floor),
    ("Ceil", {}, torch.ceil),
    ("Round", {}, torch.round),
    ("Sign", {}, torch.sign),
    ("Sin", {}, torch.sin),
    ("Cos", {}, torch.cos),
    ("Softplus", {}, F.softplus),
    ("Softsign", {}, F.softsign),
    ("Mish", {}, F.mish),
    ("HardSwish", {}, F.hardswish),
    ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, F.hardsigmoid),
    ("Swish", {}, F.silu),
    ("Swish", {"alpha": 1.702}, lambda x: x * torch.sigmoid(1.702 * x)),
    ("Elu", {}, F.elu),
    ("Elu", {"alpha": 0.5}, lambda x: F.elu(x, 0.5)),
    ("Selu", {"alpha": SELU_ALPHA, "gamma": SELU_SCALE}, F.selu),
    ("Celu", {"alpha": 1.5}, lambda x: F.celu(x, 1.5)),
    ("ThresholdedRelu", {"alpha": 0.5}, lambda x: F.threshold(x, 0.5, 0.0)),
]


def unary_inputs(dtype) -> np.ndarray:
    x = RNG.standard_normal(50000) * 4
    edge = [0.0, -0.0, np.inf, -np.inf, np.nan, 0.5, -0.5, 1.5, 2.5, -2.5, 1e-30, -1e-30, 3.0, -3.0, 19.9, -19.9]
    return np.concatenate([x, edge, np.arange(-8, 8, 0.125)]).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(UNARY)), ids=[f"{u[0]}-{i}" for i, u in enumerate(UNARY)])
def test_unary(tmp_path, dtype, case):
    op, attrs, fn = UNARY[case]
    x = unary_inputs(dtype)
    if dtype == np.float64 and op == "Softplus":
        x = x[~(np.abs(x) > 20) | np.isinf(x)]  # torch returns x itself past its threshold of 20
    got, = run(tmp_path, lambda g, a: g.op(op, a, **attrs), x)
    assert got.dtype == np.dtype(dtype)
    want = fn(t(x)).numpy()
    np.testing.assert_allclose(got, want, equal_nan=True, **TOL[dtype])


def test_softplus_past_torch_threshold(tmp_path):
    """ONNX Softplus has no threshold: ln(1 + e^x) everywhere."""
    x = np.array([20.5, 25.0, 40.0, 700.0, 800.0])
    got, = run(tmp_path, lambda g, a: g.op("Softplus", a), x)
    np.testing.assert_allclose(got, np.logaddexp(0, x), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pow_prelu(tmp_path, dtype):
    a = np.abs(RNG.standard_normal((4, 3, 5))).astype(dtype) * 3
    a[0, 0, :] = [0.0, np.inf, np.nan, 1.0, -2.0]
    e = RNG.standard_normal((3, 1)).astype(dtype)
    e[0, 0] = 2.0
    w = RNG.standard_normal((3, 1, 1)).astype(dtype)
    x = RNG.standard_normal((4, 3, 5, 2)).astype(dtype)
    got = run(tmp_path, lambda g, p, q, r: [g.op("Pow", p, q), g.op("Pow", p, g.const(-0.5, "h", dtype)),
                                            g.op("Pow", p, g.const(3, "three", np.int64)), g.op("PRelu", r, g.const(w, "w", dtype))],
              a, e, x)
    np.testing.assert_allclose(got[0], torch.pow(t(a), t(e)).numpy(), equal_nan=True, **TOL[dtype])
    np.testing.assert_allclose(got[1], torch.pow(t(a), -0.5).numpy(), equal_nan=True, **TOL[dtype])
    np.testing.assert_allclose(got[2], torch.pow(t(a), 3).numpy(), equal_nan=True, **TOL[dtype])
    np.testing.assert_array_equal(got[3], F.prelu(t(x), t(w.reshape(3))).numpy())
