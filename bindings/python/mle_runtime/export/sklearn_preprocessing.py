"""sklearn.preprocessing: scalers and Normalizer, in scikit-learn's order of
operations."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import unsupported
from ._registry import TRANSFORMER, register


def _center_scale(g: Graph, x: str, center: Any, scale: Any) -> str:
    """X -= center; X /= scale, each when present (scikit-learn's order)."""
    if center is not None:
        x = g.op("Sub", x, g.const(center, "center"))
    if scale is not None:
        x = g.op("Div", x, g.const(scale, "scale"))
    return x


@register("sklearn.preprocessing.StandardScaler", TRANSFORMER, "with_mean, with_std")
def _standard_scaler(g: Graph, est: Any, x: str) -> str:
    return _center_scale(g, x, est.mean_ if est.with_mean else None, est.scale_ if est.with_std else None)


@register("sklearn.preprocessing.MinMaxScaler", TRANSFORMER, "feature_range, clip")
def _min_max_scaler(g: Graph, est: Any, x: str) -> str:
    x = g.op("Add", g.op("Mul", x, g.const(est.scale_, "scale")), g.const(est.min_, "min"))
    if est.clip:
        lo, hi = est.feature_range
        x = g.op("Clip", x, g.const(lo, "lo"), g.const(hi, "hi"))
    return x


@register("sklearn.preprocessing.MaxAbsScaler", TRANSFORMER, "")
def _max_abs_scaler(g: Graph, est: Any, x: str) -> str:
    return g.op("Div", x, g.const(est.scale_, "scale"))


@register("sklearn.preprocessing.RobustScaler", TRANSFORMER, "with_centering, with_scaling")
def _robust_scaler(g: Graph, est: Any, x: str) -> str:
    return _center_scale(g, x, est.center_ if est.with_centering else None, est.scale_ if est.with_scaling else None)


@register("sklearn.preprocessing.Normalizer", TRANSFORMER, "l1, l2, max")
def _normalizer(g: Graph, est: Any, x: str) -> str:
    reduce = {"l1": "ReduceL1", "l2": "ReduceL2", "max": "ReduceMax"}.get(est.norm)
    if reduce is None:
        raise unsupported(f"Normalizer(norm={est.norm!r})")
    src = g.op("Abs", x) if est.norm == "max" else x
    norms = g.op(reduce, src, axes=[1], keepdims=1)
    # scikit-learn's _handle_zeros_in_scale: near-zero norms become 1.
    tiny = g.op("Less", norms, g.const(10 * np.finfo(g.dtype).eps, "eps"))
    norms = g.op("Where", tiny, g.const(1.0, "one"), norms)
    return g.op("Div", x, norms)
