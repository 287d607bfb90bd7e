"""sklearn.kernel_approximation (Nystroem, RBFSampler, SkewedChi2Sampler)
and the pairwise kernels they and KernelPCA evaluate, in scikit-learn's
order of operations.

Everything here computes in float64, as scikit-learn does for a model fitted
on float64 (float32 rows are widened exactly); a float32 graph rounds only
its outputs. Dot products are the engine's Gemm and row sums its
ReduceSum, so results agree with scikit-learn's BLAS and numpy sums to
rounding, not bit for bit."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._elementary import c64, cos
from ._head import unsupported
from ._registry import TRANSFORMER, register
from .sklearn_preprocessing_more import checked_input, to_float64, to_graph_dtype

F64 = np.float64


def _powi(g: Graph, k: str, degree: float) -> str:
    """k ** degree: a positive integer power by repeated squaring (numpy's
    pow, to an ulp or two); another degree as exp(degree * log(k)), NaN for
    negative k as pow gives."""
    d = float(degree)
    if d == 1.0:
        return k
    if d.is_integer() and 1 < d <= 64:
        n, result, base = int(d), None, k
        while n:
            if n & 1:
                result = base if result is None else g.op("Mul", result, base)
            n >>= 1
            if n:
                base = g.op("Mul", base, base)
        return result
    if d <= 0 or not np.isfinite(d):
        raise unsupported(f"a polynomial kernel of degree {degree!r}")
    return g.op("Exp", g.op("Mul", g.op("Log", k), c64(g, d, "degree")))


def _row_sq_norms(g: Graph, x: str) -> str:
    """row_norms(X, squared=True) as a column [N, 1]."""
    return g.op("ReduceSum", g.op("Mul", x, x), axes=[1], keepdims=1)


def _l2_normalize(g: Graph, x: str) -> str:
    """sklearn.preprocessing.normalize(X): rows over their L2 norm, a norm
    below 10 eps counting as 1."""
    norms = g.op("Sqrt", _row_sq_norms(g, x))
    tiny = g.op("Less", norms, c64(g, 10 * np.finfo(F64).eps, "eps"))
    return g.op("Div", x, g.op("Where", tiny, c64(g, 1.0, "one"), norms))


def _pairwise_diffs(g: Graph, x: str, Y: np.ndarray) -> tuple[str, str]:
    """x [N, F] and Y [M, F] as [N, 1, F] and [1, M, F] for broadcasting."""
    x3 = g.op("Reshape", x, g.const([-1, 1, Y.shape[1]], "shape", np.int64))
    return x3, c64(g, Y[None, :, :], "fit_rows")


def pairwise_kernel(g: Graph, x: str, Y: Any, kernel: str, params: dict, owner: str) -> str:
    """K(x, Y) [N, M] in float64 for x [N, F] float64 and the fitted rows Y,
    as sklearn.metrics.pairwise computes it; params hold the kernel's
    gamma/degree/coef0 (None: the kernel function's default)."""
    if hasattr(Y, "toarray"):
        raise unsupported(f"{owner} fitted on a sparse matrix")
    Y = np.asarray(Y, dtype=F64)
    n_feat = Y.shape[1]
    gamma = params.get("gamma")
    gamma = (1.0 if kernel == "chi2" else 1.0 / n_feat) if gamma is None else float(gamma)
    coef0 = params.get("coef0")
    coef0 = 1.0 if coef0 is None else float(coef0)
    extra = set(params) - {"gamma", "degree", "coef0"}
    if extra:
        raise unsupported(f"{owner} kernel parameters {sorted(extra)}")
    if kernel == "linear":
        return g.op("Gemm", x, c64(g, Y, "fit_rows"), transB=1)
    if kernel in ("poly", "polynomial", "sigmoid"):
        k = g.op("Gemm", x, c64(g, Y, "fit_rows"), transB=1)
        k = g.op("Add", g.op("Mul", k, c64(g, gamma, "gamma")), c64(g, coef0, "coef0"))
        if kernel == "sigmoid":
            return g.op("Tanh", k)
        degree = params.get("degree")
        return _powi(g, k, 3.0 if degree is None else degree)
    if kernel == "rbf":
        # euclidean_distances(squared=True): -2 x.y + |x|^2 + |y|^2, floored at 0.
        yy = np.einsum("ij,ij->i", Y, Y)
        d = g.op("Gemm", x, c64(g, Y, "fit_rows"), transB=1)
        d = g.op("Mul", d, c64(g, -2.0, "minus2"))
        d = g.op("Add", g.op("Add", d, _row_sq_norms(g, x)), c64(g, yy, "fit_sq_norms"))
        zero = c64(g, 0.0, "zero")
        d = g.op("Where", g.op("Less", d, zero), zero, d)
        return g.op("Exp", g.op("Mul", d, c64(g, -gamma, "minus_gamma")))
    if kernel == "cosine":
        from sklearn.preprocessing import normalize

        return g.op("Gemm", _l2_normalize(g, x), c64(g, normalize(Y), "fit_rows_normalized"), transB=1)
    if kernel == "laplacian":
        x3, y3 = _pairwise_diffs(g, x, Y)
        dist = g.op("ReduceSum", g.op("Abs", g.op("Sub", x3, y3)), axes=[2], keepdims=0)
        return g.op("Exp", g.op("Mul", c64(g, -gamma, "minus_gamma"), dist))
    if kernel in ("chi2", "additive_chi2"):
        # -sum (x-y)^2/(x+y) over the terms with x+y != 0 (scikit-learn's
        # loop); negative X fails the run, as scikit-learn refuses it.
        x = checked_input(g, x, np.zeros(n_feat), None, f"{owner}(kernel={kernel!r}): negative X")
        x3, y3 = _pairwise_diffs(g, x, Y)
        num, den = g.op("Sub", x3, y3), g.op("Add", x3, y3)
        zero = c64(g, 0.0, "zero")
        term = g.op("Where", g.op("Equal", den, zero), zero, g.op("Div", g.op("Mul", num, num), den))
        k = g.op("Neg", g.op("ReduceSum", term, axes=[2], keepdims=0))
        if kernel == "additive_chi2":
            return k
        return g.op("Exp", g.op("Mul", k, c64(g, gamma, "gamma")))
    raise unsupported(f"{owner}(kernel={kernel!r})")


def _fourier(g: Graph, est: Any, x: str, scale: float) -> str:
    """cos(x @ random_weights_ + random_offset_) * scale, in float64."""
    if hasattr(est.random_weights_, "toarray"):
        raise unsupported(f"{type(est).__name__} with sparse random weights")
    proj = g.op("MatMul", x, c64(g, np.asarray(est.random_weights_, dtype=F64), "random_weights"))
    proj = g.op("Add", proj, c64(g, np.asarray(est.random_offset_, F64), "random_offset"))
    return to_graph_dtype(g, g.op("Mul", cos(g, proj), c64(g, scale, "scale")))


@register("sklearn.kernel_approximation.RBFSampler", TRANSFORMER,
          "cos computed from arithmetic ops (within ~2 ulp of numpy's for |X @ W + b| < 1.6e6)")
def _rbf_sampler(g: Graph, est: Any, x: str) -> str:
    return _fourier(g, est, to_float64(g, x), (2.0 / est.n_components) ** 0.5)


@register("sklearn.kernel_approximation.SkewedChi2Sampler", TRANSFORMER,
          "as RBFSampler; X <= -skewedness fails the run, as scikit-learn refuses it")
def _skewed_chi2_sampler(g: Graph, est: Any, x: str) -> str:
    lo = np.full(int(est.n_features_in_), np.nextafter(-float(est.skewedness), np.inf))
    x = checked_input(g, to_float64(g, x), lo, None, "SkewedChi2Sampler: X <= -skewedness")
    x = g.op("Log", g.op("Add", x, c64(g, float(est.skewedness), "skewedness")))
    return _fourier(g, est, x, float(np.sqrt(2.0) / np.sqrt(est.n_components)))


@register("sklearn.kernel_approximation.Nystroem", TRANSFORMER,
          "kernels linear, poly, rbf, sigmoid, cosine, laplacian, chi2, additive_chi2 (no callables or "
          "precomputed)")
def _nystroem(g: Graph, est: Any, x: str) -> str:
    from sklearn.metrics.pairwise import KERNEL_PARAMS

    if callable(est.kernel) or est.kernel not in KERNEL_PARAMS:
        raise unsupported(f"Nystroem(kernel={est.kernel!r})")
    params = dict(est.kernel_params or {})
    for p in KERNEL_PARAMS[est.kernel]:
        if getattr(est, p) is not None:
            params[p] = getattr(est, p)
    k = pairwise_kernel(g, to_float64(g, x), est.components_, est.kernel, params, "Nystroem")
    return to_graph_dtype(g, g.op("Gemm", k, c64(g, est.normalization_, "normalization"), transB=1))
