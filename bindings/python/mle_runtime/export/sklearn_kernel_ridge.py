"""sklearn.kernel_ridge.KernelRidge: pairwise_kernels(X, X_fit_) @ dual_coef_,
the kernel as sklearn_kernel_approximation.pairwise_kernel computes it
(float64 throughout; Gemm and ReduceSum agree with BLAS and numpy to
rounding)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._elementary import c64
from ._head import Head, unsupported
from ._registry import PREDICTOR, register
from .sklearn_kernel_approximation import pairwise_kernel
from .sklearn_preprocessing_more import to_float64, to_graph_dtype


@register("sklearn.kernel_ridge.KernelRidge", PREDICTOR,
          "kernels linear, poly, rbf, laplacian, sigmoid, cosine, chi2, additive_chi2 (no callables or "
          "precomputed); one or several targets; float64 throughout")
def _kernel_ridge(g: Graph, est: Any, x: str) -> Head:
    from sklearn.metrics.pairwise import KERNEL_PARAMS

    if callable(est.kernel) or est.kernel not in KERNEL_PARAMS:
        raise unsupported(f"KernelRidge(kernel={est.kernel!r})")
    # pairwise_kernels(filter_params=True) keeps the kernel's own parameters;
    # KernelRidge passes gamma, degree and coef0 (kernel_params only with a callable).
    own = {"gamma": est.gamma, "degree": est.degree, "coef0": est.coef0}
    params = {p: own[p] for p in KERNEL_PARAMS[est.kernel] if p in own}
    k = pairwise_kernel(g, to_float64(g, x), est.X_fit_, est.kernel, params, "KernelRidge")
    dual = np.asarray(est.dual_coef_, dtype=np.float64)
    y = g.op("MatMul", k, c64(g, dual if dual.ndim == 2 else dual[:, None], "dual_coef"))
    if dual.ndim == 1:
        y = g.flatten_column(y)
    return Head("regressor", {"prediction": to_graph_dtype(g, y)}, {"predict": "prediction"})
