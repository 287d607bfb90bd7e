"""sklearn.neighbors' k-nearest-neighbour, radius-neighbour and nearest
centroid estimators -> KNearest, NeighborsClassify, NeighborsRegress and the
fused RadiusNeighborsClassify / RadiusNeighborsRegress (docs/FORMAT.md,
"Neighbour ops"). The training rows and targets are constant tensors; for
kd_tree and ball_tree so is the fitted tree (idx_array_, node ranges,
bounds), which the ops query as scikit-learn does, so rows at equal
distances are kept and ordered as there. Distances use the formula of
scikit-learn's code path (brute-force euclidean: ‖x‖² − 2x·y + ‖y‖²; other
metrics and the trees: its sequential sums).

Where results can differ (only where a decision rests on the last bit of a
distance): brute-force euclidean's x·y is a BLAS product in scikit-learn and
fused multiply-adds in feature order here; minkowski's pow (p not 1, 2 or
inf) and the trees' node bounds use the C library's pow there and Go's here;
float32 queries against float64 rows (and models fitted on float32 rows)
take scikit-learn's pairwise_distances path, which associates the euclidean
sum differently and, for k nearest, picks among rows tied at the k-th
distance with np.argpartition, which is not reproduced."""

from __future__ import annotations

import math
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, proba_outputs, unsupported
from ._registry import PREDICTOR, register

_METRICS = ("euclidean", "manhattan", "chebyshev", "minkowski", "cosine")


def _metric(est: Any) -> tuple[str, float]:
    """The effective metric and minkowski p, or a refusal naming it."""
    name = type(est).__name__
    metric = getattr(est, "effective_metric_", est.metric)
    if callable(metric):
        raise unsupported(f"{name} with a callable metric ({getattr(metric, '__name__', metric)!r})")
    params = dict(getattr(est, "effective_metric_params_", None) or {})
    p = float(params.pop("p", 2.0))
    if params.get("w") is None:
        params.pop("w", None)  # minkowski's unset weights
    if metric not in _METRICS:
        raise unsupported(f"{name} with metric={metric!r} (supported: {', '.join(_METRICS)})")
    if params:
        raise unsupported(f"{name} with metric_params {sorted(params)!r}")
    if metric == "minkowski" and not (p > 0 and math.isfinite(p)):
        raise unsupported(f"{name} with minkowski p={p!r}")
    return metric, p


def _check(est: Any) -> None:
    name = type(est).__name__
    if callable(est.weights) or est.weights not in ("uniform", "distance"):
        raise unsupported(f"{name} with weights={est.weights!r} (supported: 'uniform', 'distance')")
    if est._fit_method not in ("brute", "kd_tree", "ball_tree"):
        raise unsupported(f"{name} fitted with algorithm {est._fit_method!r}")
    if not isinstance(est._fit_X, np.ndarray):
        raise unsupported(f"{name} fitted on a sparse matrix")


def _train(g: Graph, est: Any, metric: str) -> str:
    fx = np.asarray(est._fit_X, dtype=np.float64)
    if metric == "cosine":
        # scikit-learn's normalize(): rows over their L2 norm, zero rows kept.
        norms = np.sqrt(np.einsum("ij,ij->i", fx, fx))
        norms[norms == 0] = 1
        fx = fx / norms[:, None]
    return g.const(np.ascontiguousarray(fx), "fit_X", np.float64)


def _search(g: Graph, est: Any, x: str, metric: str) -> tuple[list[str], dict[str, Any]]:
    """The inputs (X, training rows, then the tree's arrays for kd_tree and
    ball_tree) and the attributes of a search over est's training rows.
    The tree is exported as fitted (idx_array, node ranges, bounds), so the
    op visits the rows in the order scikit-learn's query does."""
    attrs: dict[str, Any] = {"metric": metric, "p": _metric(est)[1], "expand": 0, "tree": ""}
    if est._fit_method == "brute":
        attrs["expand"] = int(metric == "euclidean")
        return [x, _train(g, est, metric)], attrs
    data, idx, nodes, bounds = est._tree.get_arrays()
    attrs["tree"] = est._fit_method
    node_cols = np.stack([nodes["idx_start"], nodes["idx_end"], nodes["is_leaf"]], axis=1)
    if est._fit_method == "kd_tree":  # lower bounds, then upper bounds, per node
        flat = np.concatenate([bounds[0], bounds[1]], axis=1)
    else:  # the centroid, then the radius, per node
        flat = np.concatenate([bounds[0], nodes["radius"][:, None]], axis=1)
    return [x, g.const(np.ascontiguousarray(data, dtype=np.float64), "fit_X", np.float64),
            g.const(np.asarray(idx, dtype=np.int64), "tree_index", np.int64),
            g.const(node_cols.astype(np.int64), "tree_nodes", np.int64),
            g.const(np.ascontiguousarray(flat, dtype=np.float64), "tree_bounds", np.float64)], attrs


def _kneighbors(g: Graph, est: Any, x: str, class_mode: bool) -> tuple[str, str]:
    """(distances, indices) of the n_neighbors nearest training rows.
    class_mode: the uniform brute-force classifier path (ArgKminClassMode,
    parallel_on_X, direct distances) where scikit-learn takes it."""
    _check(est)
    metric, _ = _metric(est)
    k = int(est.n_neighbors)
    if k > est.n_samples_fit_:
        raise unsupported(f"{type(est).__name__} with n_neighbors={k} > {est.n_samples_fit_} training rows")
    inputs, attrs = _search(g, est, x, metric)
    auto = int(est._fit_method == "brute" and not class_mode)
    data, tree = inputs[1], inputs[2:]
    return g.op("KNearest", x, data, *tree, k=k, auto=auto, outputs=2, hint="neighbors", **attrs)


def _class_mode(est: Any, metric: str) -> bool:
    """Whether scikit-learn's uniform classifier takes ArgKminClassMode
    (which excludes euclidean) rather than kneighbors."""
    return est.weights == "uniform" and est._fit_method == "brute" and metric not in ("euclidean", "cosine")


def _labels(g: Graph, est: Any) -> str:
    name = type(est).__name__
    if getattr(est, "outputs_2d_", False):
        raise unsupported(f"{name} fitted on multi-output targets")
    return g.const(np.asarray(est._y, dtype=np.int64), "fit_y", np.int64)


def kneighbors_classifier(g: Graph, est: Any, x: str) -> Head:
    _check(est)
    metric, _ = _metric(est)
    labels = _labels(g, est)
    dist, idx = _kneighbors(g, est, x, _class_mode(est, metric))
    proba, index = g.op("NeighborsClassify", dist, idx, labels, n_classes=len(est.classes_), weights=est.weights,
                        outputs=2, hint="proba")
    head = Head("classifier")
    classes(g, head, est, index)
    proba_outputs(g, head, proba)
    return head


def _targets(g: Graph, est: Any, float32_ok: bool) -> tuple[str, bool]:
    y = np.asarray(est._y)
    name = type(est).__name__
    if y.dtype.kind not in "iufb":
        raise unsupported(f"{name} with {y.dtype} targets")
    if y.dtype.kind == "f" and y.dtype.itemsize < 8 and not float32_ok:
        raise unsupported(f"{name} with {y.dtype} targets (scikit-learn averages them in {y.dtype})")
    flat = y.ndim == 1
    return g.const(np.ascontiguousarray(y.reshape(len(y), -1), dtype=np.float64), "fit_y", np.float64), flat


def _regressor_head(g: Graph, y: str, flat: bool) -> Head:
    if flat:
        y = g.flatten_column(y)
    head = Head("regressor")
    head.outputs["predictions"] = y
    head.methods["predict"] = "predictions"
    return head


def kneighbors_regressor(g: Graph, est: Any, x: str) -> Head:
    _check(est)
    # np.mean keeps float32 targets in float32; the weighted sums are float64.
    targets, flat = _targets(g, est, float32_ok=est.weights == "distance")
    dist, idx = _kneighbors(g, est, x, False)
    return _regressor_head(g, g.op("NeighborsRegress", dist, idx, targets, weights=est.weights, hint="predictions"),
                           flat)


_LIMITS = ("Distances agree to rounding: brute-force euclidean's x·y (BLAS in scikit-learn) and minkowski's pow "
           "(p not 1, 2, inf; the C library's there) round differently, so where the choice of a row rests on that last "
           "bit ({where}) the result can differ. float32 queries against float64 rows, and models fitted on float32 "
           "rows, take scikit-learn's pairwise_distances path: to rounding{argp}")
_KNN_NOTE = ("predict{proba}; weights uniform/distance; metric euclidean, manhattan, chebyshev, minkowski (any p > 0), "
             "cosine; every algorithm. Rows at equal distances are kept and ordered as scikit-learn's algorithm does: "
             "brute force's bounded heap fed the rows in index order, then its sort; kd_tree/ball_tree: the fitted "
             "tree, exported with the model, queried depth-first as scikit-learn does (its visiting order and pruning). "
             + _LIMITS.format(where="a near-tie at the k-th distance, or two tree nodes whose bounds differ only there",
                              argp=", and rows tied at the k-th distance are picked there by np.argpartition, which "
                                   "is not reproduced (labels can differ only at such ties)") + "{f32}")
register("sklearn.neighbors.KNeighborsClassifier", PREDICTOR,
         _KNN_NOTE.replace("{proba}", ", predict_proba").replace("{f32}", ""))(kneighbors_classifier)
register("sklearn.neighbors.KNeighborsRegressor", PREDICTOR, _KNN_NOTE.replace("{proba}", "").replace(
    "{f32}", ". float32 targets with uniform weights are refused (scikit-learn averages them in float32)"))(
    kneighbors_regressor)


def _radius(est: Any) -> float:
    r = float(est.radius)
    if not (math.isfinite(r) and r >= 0):
        raise unsupported(f"{type(est).__name__} with radius={est.radius!r}")
    return r


def _radius_class_mode(g: Graph, est: Any) -> bool:
    """Whether predict_proba takes RadiusNeighborsClassMode: uniform weights,
    brute force, float64 queries against float64 rows, and a metric (the
    estimator's own, minkowski p=2 read as euclidean) other than euclidean."""
    from sklearn.metrics._pairwise_distances_reduction import RadiusNeighborsClassMode

    metric = est.metric
    if metric == "minkowski" and est.p == 2:
        metric = "euclidean"
    return (est.weights == "uniform" and est._fit_method == "brute" and np.dtype(g.dtype) == np.float64
            and np.asarray(est._fit_X).dtype == np.float64 and isinstance(metric, str)
            and metric in RadiusNeighborsClassMode.valid_metrics())


def _outlier(g: Graph, est: Any) -> tuple[int, int, Any]:
    """(outlier, zero_class, extra label or None) for RadiusNeighborsClassify.
    A row without neighbours: scikit-learn raises (outlier_label=None: -1);
    else predict_proba is one-hot at outlier_label_'s class, or all zeros
    when it is not a class (with a warning), and predict gives
    outlier_label_ wherever predict_proba is all zeros. RadiusNeighbors-
    ClassMode instead puts the one-hot at the class *position* equal to the
    outlier_label parameter, or leaves the row all zeros."""
    n = len(est.classes_)
    if est.outlier_label_ is None:
        return -1, 0, None
    label = est.outlier_label_[0]
    where = np.flatnonzero(np.asarray(est.classes_) == label)
    zero_class, extra = (int(where[0]), None) if where.size == 1 else (n, label)
    if _radius_class_mode(g, est):
        hits = [i for i in range(n) if bool(i == est.outlier_label)]
        return (hits[-1] if hits else n), zero_class, extra
    return (zero_class if extra is None else n), zero_class, extra


def radius_neighbors_classifier(g: Graph, est: Any, x: str) -> Head:
    _check(est)
    metric, _ = _metric(est)
    labels = _labels(g, est)
    inputs, attrs = _search(g, est, x, metric)
    outlier, zero_class, extra = _outlier(g, est)
    n = len(est.classes_)
    proba, index = g.op("RadiusNeighborsClassify", inputs[0], inputs[1], labels, *inputs[2:], radius=_radius(est),
                        weights=est.weights, n_classes=n, outlier=outlier, zero_class=zero_class, outputs=2,
                        hint="proba", **attrs)
    head = Head("classifier")
    if extra is None:
        classes(g, head, est, index)
    else:  # the labels gathered from the classes and, after them, the outlier label
        classes(g, head, SimpleNamespace(classes_=np.append(est.classes_, extra)), index)
        head.classes = np.asarray(est.classes_)
    proba_outputs(g, head, proba)
    return head


def radius_neighbors_regressor(g: Graph, est: Any, x: str) -> Head:
    _check(est)
    metric, _ = _metric(est)
    targets, flat = _targets(g, est, float32_ok=False)
    inputs, attrs = _search(g, est, x, metric)
    y = np.asarray(est._y)
    with warnings.catch_warnings():  # NaN cast to an integer dtype: numpy warns
        warnings.simplefilter("ignore", RuntimeWarning)
        empty = float(np.full_like(y.reshape(len(y), -1)[0], np.nan)[0])
    extra = {} if math.isnan(empty) else {"empty_nan": 0, "empty_value": empty}
    block = np.getbufsize() if y.dtype.kind in "iub" else 0  # np.mean casts integers buffer by buffer
    out = g.op("RadiusNeighborsRegress", inputs[0], inputs[1], targets, *inputs[2:], radius=_radius(est),
               weights=est.weights, sum_block=int(block), hint="predictions", **attrs, **extra)
    return _regressor_head(g, out, flat)


_RADIUS_NOTE = (
    "{what}; weights uniform/distance; metric euclidean, manhattan, chebyshev, minkowski (any p > 0), cosine; every "
    "algorithm; one fused op (memory: one row's neighbours per thread, never rows × training rows). The radius test "
    "is scikit-learn's for each algorithm (brute-force euclidean: max(0, (‖x‖²−2x·y)+‖y‖²) <= radius²; "
    "kd_tree/ball_tree: the fitted tree's node bounds, then each row's distance) and neighbours are summed in its "
    "order (index order; the tree's order for kd_tree/ball_tree). " +
    _LIMITS.format(where="a distance equal to the radius but for rounding", argp="") + ". {outliers}")
register("sklearn.neighbors.RadiusNeighborsClassifier", PREDICTOR, _RADIUS_NOTE.format(
    what="predict, predict_proba",
    outliers="outlier_label None (a row without neighbours fails the run, as scikit-learn raises), "
             "'most_frequent', a class or a label outside the classes, as scikit-learn treats them on each path "
             "(including RadiusNeighborsClassMode, its uniform brute-force non-euclidean path for float64 queries, "
             "which one-hots the class at the position equal to outlier_label); multi-output targets are refused"))(
    radius_neighbors_classifier)
register("sklearn.neighbors.RadiusNeighborsRegressor", PREDICTOR, _RADIUS_NOTE.format(
    what="predict",
    outliers="A row without neighbours predicts NaN as scikit-learn does (integer targets: numpy's cast of NaN, as "
             "there); scikit-learn's warning is not raised by the runtime. float32 targets are refused "
             "(scikit-learn averages them in float32)"))(radius_neighbors_regressor)


def _f64(g: Graph, x: str) -> str:
    return x if np.dtype(g.dtype) == np.float64 else g.op("Cast", x, to=11)  # 11: float64


def _centroid_scores(g: Graph, est: Any, x: str) -> str:
    """scikit-learn's discriminant −d² + 2·log(prior) per class [N, C], d
    between X and the centroids both divided by the within-class standard
    deviation (features where it is 0 left as they are)."""
    std = np.asarray(est.within_class_std_dev_, dtype=np.float64)
    scale = np.where(std != 0, std, 1.0)
    cn = np.asarray(est.centroids_, dtype=np.float64) / scale
    xn = g.op("Div", _f64(g, x), g.const(scale, "std_dev", np.float64))
    if est.metric == "euclidean":
        d2 = g.op("Gemm", xn, g.const(cn, "centroids", np.float64), transB=1, alpha=-2.0)
        xx = g.op("ReduceSum", g.op("Mul", xn, xn), axes=[1], keepdims=1)
        d2 = g.op("Relu", g.op("Add", g.op("Add", d2, xx), g.const(np.einsum("ij,ij->i", cn, cn), "c_norms",
                                                                    np.float64)))
    else:  # manhattan: Σ|x − c| per class, squared
        x3 = g.op("Reshape", xn, g.const([-1, 1, cn.shape[1]], "shape", np.int64))
        d = g.op("ReduceSum", g.op("Abs", g.op("Sub", x3, g.const(cn, "centroids", np.float64))), axes=[2],
                 keepdims=0)
        d2 = g.op("Mul", d, d)
    logp = 2.0 * np.log(np.asarray(est.class_prior_, dtype=np.float64))
    return g.op("Add", g.op("Neg", d2), g.const(logp, "log_prior", np.float64), hint="scores")


def nearest_centroid(g: Graph, est: Any, x: str) -> Head:
    name = type(est).__name__
    if est.metric not in ("euclidean", "manhattan"):
        raise unsupported(f"{name} with metric={est.metric!r} (supported: 'euclidean', 'manhattan')")
    if not isinstance(est.centroids_, np.ndarray):
        raise unsupported(f"{name} with sparse centroids")
    head = Head("classifier")
    n_classes = len(est.classes_)
    has_scores = hasattr(est, "within_class_std_dev_") and hasattr(est, "class_prior_")
    uniform = not has_scores or np.isclose(est.class_prior_, 1 / n_classes).all()
    if uniform:
        # pairwise_distances_argmin: the first nearest centroid, brute force.
        cent = g.const(np.ascontiguousarray(est.centroids_, dtype=np.float64), "centroids", np.float64)
        _, idx = g.op("KNearest", x, cent, k=1, metric=est.metric, p=2.0, expand=int(est.metric == "euclidean"),
                      outputs=2, hint="nearest")
        index = g.flatten_column(idx)
    if has_scores:
        scores = _centroid_scores(g, est, x)
        if not uniform:
            index = g.op("ArgMax", scores, axis=1, keepdims=0)
        if est.metric == "euclidean":  # scikit-learn offers these for euclidean only
            if n_classes == 2:
                cols = [g.op("Gather", scores, g.const(np.int64(i), "col", np.int64), axis=1) for i in (1, 0)]
                head.outputs["decision"] = g.flatten_column(g.op("Sub", *cols))
            else:
                head.outputs["decision"] = scores
            head.methods["decision_function"] = "decision"
            proba_outputs(g, head, g.op("Softmax", scores, axis=1))
            # predict_log_proba: the log of the probabilities with exact zeros
            # raised to the smallest normal (finite, as scikit-learn's).
            tiny = g.const(np.finfo(np.float64).smallest_normal, "smallest_normal", np.float64)
            zero = g.const(0.0, "zero", np.float64)
            p = head.outputs["probabilities"]
            head.outputs["log_probabilities"] = g.op("Log", g.op("Where", g.op("Equal", p, zero), tiny, p))
            head.methods["predict_log_proba"] = "log_probabilities"
    elif not uniform:
        raise unsupported(f"{name} without fitted priors")
    classes(g, head, est, index)
    return head


register("sklearn.neighbors.NearestCentroid", PREDICTOR,
         "predict (metric euclidean, manhattan; shrink_threshold is in centroids_); decision_function, "
         "predict_proba, predict_log_proba for euclidean; the nearest centroid as scikit-learn's "
         "pairwise_distances_argmin picks it (first on ties); scores −d²+2·log(prior) to rounding")(nearest_centroid)
