"""sklearn.random_projection: X @ components_.T.

GaussianRandomProjection's components_ are dense and the product a BLAS
GEMM in scikit-learn: the graph's Gemm agrees to rounding. Those of
SparseRandomProjection are a scipy CSR matrix, and scipy multiplies a dense
X by it row of components_ by row, adding the products of its non-zeros
to 0 one at a time in column order: the graph does the same (a Gather of
the columns and a Mul per position, added in order; padding adds x * 0),
so for finite X (scikit-learn refuses others) the result is bit for bit
scipy's."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._elementary import c64
from ._head import unsupported
from ._registry import TRANSFORMER, register
from .sklearn_preprocessing_more import to_float64, to_graph_dtype


def _checked(est: Any) -> Any:
    c = est.components_
    if c.dtype != np.float64:
        raise unsupported(f"{type(est).__name__} fitted on {c.dtype} data (components_ {c.dtype})")
    return c


@register("sklearn.random_projection.GaussianRandomProjection", TRANSFORMER,
          "X @ components_.T (to rounding: BLAS order); fitted on float64")
def _gaussian(g: Graph, est: Any, x: str) -> str:
    c = np.asarray(_checked(est))
    return to_graph_dtype(g, g.op("Gemm", to_float64(g, x), c64(g, c, "components"), transB=1))


@register("sklearn.random_projection.SparseRandomProjection", TRANSFORMER,
          "X @ components_.T in scipy's order (bit for bit); dense_output either way (dense X gives a dense "
          "result); fitted on float64")
def _sparse(g: Graph, est: Any, x: str) -> str:
    import scipy.sparse as sp

    c = _checked(est)
    if not sp.issparse(c):  # density=1 gives dense components_: a BLAS product
        return _gaussian(g, est, x)
    if c.format != "csr":
        raise unsupported(f"SparseRandomProjection with {c.format} components_")
    n_out = c.shape[0]
    counts = np.diff(c.indptr)
    width = int(counts.max()) if n_out else 0
    # Position p of each output row: its p-th stored non-zero (column, value), or (0, 0.0) past its last.
    cols = np.zeros((width, n_out), dtype=np.int64)
    vals = np.zeros((width, n_out), dtype=np.float64)
    for r in range(n_out):
        lo, hi = c.indptr[r], c.indptr[r + 1]
        cols[: hi - lo, r] = c.indices[lo:hi]
        vals[: hi - lo, r] = c.data[lo:hi]
    x = to_float64(g, x)
    zero = c64(g, 0.0, "zero")
    # scipy's accumulator starts at +0 (so a first product of -0 gives +0, as here).
    acc = None
    for p in range(max(width, 1)):
        gathered = g.op("Gather", x, g.const(cols[p] if width else np.zeros(n_out, np.int64), "cols", np.int64),
                        axis=1)
        term = g.op("Mul", gathered, c64(g, vals[p] if width else np.zeros(n_out), "vals"))
        acc = g.op("Add", zero if acc is None else acc, term)
    return to_graph_dtype(g, acc)
