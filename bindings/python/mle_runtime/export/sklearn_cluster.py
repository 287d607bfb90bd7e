"""sklearn.cluster: KMeans and MiniBatchKMeans (predict and transform).

predict follows scikit-learn's Lloyd E-step: ‖c‖² − 2·X·Cᵀ (one GEMM with
the centres' squared norms, computed by scikit-learn's own row_norms, as
its C input) and the first minimum (strict <), as int32, in the centres'
dtype. transform is euclidean_distances: −2·X·Cᵀ + ‖x‖² + ‖c‖² in float64
(float32 data is upcast, as scikit-learn does, and the squared distances
rounded to float32 before the clamp at 0 and the square root).

Summation contract: X·Cᵀ is a GEMM in scikit-learn (BLAS) and here (the
engine's kernel), in different orders, and ‖x‖² is an einsum there and a
sequential sum here: labels are identical where the two nearest centres'
scores differ by more than rounding (exact ties, e.g. a point halfway
between two centres with exactly representable sums, give the lower index
in both); distances agree to rounding of the squared distance (relative
error grows as a point nears a centre, as in scikit-learn itself).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, unsupported
from ._registry import PREDICTOR, register
from .sklearn_naive_bayes import cast

_NOTE = "predict (int32 labels, first nearest centre) and transform; float32 models need dtype=np.float32"


@register("sklearn.cluster.KMeans", PREDICTOR, _NOTE)
@register("sklearn.cluster.MiniBatchKMeans", PREDICTOR, _NOTE)
def _kmeans(g: Graph, est: Any, x: str) -> Head:
    from sklearn.utils.extmath import row_norms

    centers = np.asarray(est.cluster_centers_)
    if centers.dtype != g.dtype:
        # scikit-learn's predict refuses X of another dtype than the centres'.
        raise unsupported(f"{type(est).__name__} with {centers.dtype} cluster centres in a {g.dtype} model "
                          f"(scikit-learn predicts only from {centers.dtype} X; export it with "
                          f"dtype=np.{centers.dtype})")
    scores = g.op("Gemm", x, g.const(centers, "centers"), g.const(row_norms(centers, squared=True), "center_norms"),
                  transB=1, alpha=-2.0)
    # The first minimum: ArgMax of the negation picks the first maximum.
    label = g.op("Cast", g.op("ArgMax", g.op("Neg", scores), axis=1, keepdims=0), to=6)

    f64 = np.dtype(np.float64)
    c64 = centers.astype(f64)
    x64 = cast(g, x, g.dtype, f64)
    dist = g.op("Gemm", x64, g.const(c64, "centers", f64), transB=1, alpha=-2.0)
    xx = g.op("ReduceSum", g.op("Mul", x64, x64), axes=[1], keepdims=1)
    dist = g.op("Add", g.op("Add", dist, xx), g.const(row_norms(c64, squared=True), "center_norms", f64))
    dist = cast(g, dist, f64, g.dtype)  # float32 data: the upcast result is stored as float32 first
    dist = g.op("Sqrt", g.op("Relu", dist))
    return Head("clusterer", {"label": label, "distances": dist}, {"predict": "label", "transform": "distances"})
