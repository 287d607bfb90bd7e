"""sklearn.decomposition."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._registry import TRANSFORMER, register


@register("sklearn.decomposition.PCA", TRANSFORMER, "whiten")
def _pca(g: Graph, est: Any, x: str) -> str:
    comps = np.asarray(est.components_, dtype=np.float64)
    y = g.op("Gemm", x, g.const(comps, "components"), transB=1)
    if est.mean_ is not None:
        # scikit-learn centres after projecting: X @ C.T - mean @ C.T.
        y = g.op("Sub", y, g.const(np.reshape(est.mean_, (1, -1)) @ comps.T, "mean_proj"))
    if est.whiten:
        scale = np.sqrt(est.explained_variance_)
        scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
        y = g.op("Div", y, g.const(scale, "whiten"))
    return y
