"""sklearn.decomposition beyond PCA: TruncatedSVD, FastICA, KernelPCA."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._elementary import c64
from ._head import unsupported
from ._registry import TRANSFORMER, register
from .sklearn_kernel_approximation import pairwise_kernel
from .sklearn_preprocessing_more import to_float64, to_graph_dtype


@register("sklearn.decomposition.TruncatedSVD", TRANSFORMER, "X @ components_.T")
def _truncated_svd(g: Graph, est: Any, x: str) -> str:
    return g.op("Gemm", x, g.const(np.asarray(est.components_, np.float64), "components"), transB=1)


@register("sklearn.decomposition.FastICA", TRANSFORMER, "whiten or not: (X - mean_) @ components_.T")
def _fast_ica(g: Graph, est: Any, x: str) -> str:
    if est.whiten:  # whiten=False fits no mean_ and projects X as it is
        x = g.op("Sub", x, g.const(est.mean_, "mean"))
    return g.op("Gemm", x, g.const(np.asarray(est.components_, np.float64), "components"), transB=1)


@register("sklearn.decomposition.KernelPCA", TRANSFORMER,
          "kernels linear, poly, rbf, sigmoid, cosine (no callables or precomputed); the fitted centering; "
          "float64 throughout")
def _kernel_pca(g: Graph, est: Any, x: str) -> str:
    if callable(est.kernel) or est.kernel == "precomputed":
        raise unsupported(f"KernelPCA(kernel={est.kernel!r})")
    k = pairwise_kernel(g, to_float64(g, x), est.X_fit_, est.kernel,
                        {"gamma": est.gamma_, "degree": est.degree, "coef0": est.coef0}, "KernelPCA")
    # KernelCenterer.transform: K - fit column means - K's row means + fit grand mean.
    c = est._centerer
    n_fit = np.asarray(c.K_fit_rows_).shape[0]
    pred_cols = g.op("Div", g.op("ReduceSum", k, axes=[1], keepdims=1), c64(g, float(n_fit), "n_fit"))
    k = g.op("Sub", k, c64(g, np.asarray(c.K_fit_rows_, np.float64), "K_fit_rows"))
    k = g.op("Sub", k, pred_cols)
    k = g.op("Add", k, c64(g, float(c.K_fit_all_), "K_fit_all"))
    # Eigenvectors over sqrt(eigenvalues), zero where the eigenvalue is 0.
    vals, vecs = np.asarray(est.eigenvalues_, np.float64), np.asarray(est.eigenvectors_, np.float64)
    nz = np.flatnonzero(vals)
    alphas = np.zeros_like(vecs)
    alphas[:, nz] = vecs[:, nz] / np.sqrt(vals[nz])
    return to_graph_dtype(g, g.op("MatMul", k, c64(g, alphas, "scaled_alphas")))
