"""sklearn.svm's libsvm estimators (SVC, NuSVC, SVR, NuSVR, OneClassSVM) ->
SVMKernel, SVMDecision, SVMVote and SVMProbability, which redo libsvm's
prediction operation by operation in float64 (docs/FORMAT.md, "SVM ops"):
kernel values with the BLAS dot order scikit-learn's libsvm uses, decision
values summed in libsvm's order, and scikit-learn's own heads on top
(binary sign flip, ovr shape, break_ties, Platt scaling with pairwise
coupling)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, proba_outputs, unsupported
from ._registry import PREDICTOR, register

_KERNELS = ("linear", "poly", "rbf", "sigmoid")


def _decision_values(g: Graph, est: Any, x: str, n_support: list[int]) -> str:
    """libsvm's decision values [N, P]: kernel values against the support
    vectors, then the pairwise sums minus rho."""
    name = type(est).__name__
    if getattr(est, "_sparse", False):
        raise unsupported(f"{name} fitted on a sparse matrix (libsvm's sparse kernels sum in another order)")
    kernel = est.kernel
    if callable(kernel) or kernel not in _KERNELS:
        what = "a callable kernel" if callable(kernel) else f"kernel={kernel!r}"
        raise unsupported(f"{name} with {what}")
    sv = np.ascontiguousarray(est.support_vectors_, dtype=np.float64)
    coef = np.ascontiguousarray(est._dual_coef_, dtype=np.float64)
    if sv.ndim != 2 or coef.shape != (max(len(n_support) - 1, 1), sv.shape[0]) or sum(n_support) != sv.shape[0]:
        raise unsupported(f"{name} whose support vectors, dual coefficients and n_support disagree")
    # libsvm's rho is -intercept (scikit-learn's set_model negates it).
    rho = -np.asarray(est._intercept_, dtype=np.float64)
    k = g.op("SVMKernel", x, g.const(sv, "support_vectors", np.float64), kernel=kernel, gamma=float(est._gamma),
             coef0=float(est.coef0), degree=int(est.degree), hint="kernel_values")
    return g.op("SVMDecision", k, g.const(coef, "dual_coef", np.float64), g.const(rho, "rho", np.float64),
                n_support=[int(v) for v in n_support], hint="ovo")


def _has_proba(est: Any) -> bool:
    """Whether scikit-learn's predict_proba works: probability=True at fit
    (predict_proba exists) and Platt parameters were fitted."""
    try:
        if not hasattr(est, "predict_proba"):
            return False
    except Exception:  # noqa: BLE001 (available_if raises what its check raises)
        return False
    a, b = _platt(est)
    return np.size(a) > 0 and np.size(b) > 0


def _platt(est: Any) -> tuple[np.ndarray, np.ndarray]:
    """The fitted Platt parameters (probA_/probB_, deprecated in 1.9, are
    read only where the private copies are missing)."""
    a, b = getattr(est, "_probA", None), getattr(est, "_probB", None)
    if a is None or b is None:
        a, b = getattr(est, "probA_", np.empty(0)), getattr(est, "probB_", np.empty(0))
    return np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()


def svc(g: Graph, est: Any, x: str) -> Head:
    n_classes = len(est.classes_)
    if est.break_ties and est.decision_function_shape == "ovo":
        raise unsupported(f"{type(est).__name__} with break_ties=True and decision_function_shape='ovo' "
                          "(scikit-learn's predict raises ValueError for it)")
    n_support = [int(v) for v in est._n_support]
    if len(n_support) != n_classes:
        raise unsupported(f"{type(est).__name__} with {len(n_support)} support counts for {n_classes} classes")
    dec = _decision_values(g, est, x, n_support)
    head = Head("classifier")
    want_ovr = n_classes > 2 and est.decision_function_shape == "ovr"
    if want_ovr:
        index, ovr = g.op("SVMVote", dec, n_classes=n_classes, outputs=2)
        decision = ovr
        if est.break_ties:
            index = g.op("ArgMax", ovr, axis=1, keepdims=0)  # first maximum, as np.argmax
    else:
        index = g.op("SVMVote", dec, n_classes=n_classes)
        # scikit-learn negates libsvm's binary decision value.
        decision = g.op("Neg", g.flatten_column(dec)) if n_classes == 2 else dec
    head.outputs["decision"] = decision
    head.methods["decision_function"] = "decision"
    classes(g, head, est, index)
    if _has_proba(est):
        pa, pb = _platt(est)
        proba = g.op("SVMProbability", dec, g.const(pa, "probA", np.float64), g.const(pb, "probB", np.float64),
                     n_classes=n_classes, hint="proba")
        proba_outputs(g, head, proba)
    return head


def svr(g: Graph, est: Any, x: str) -> Head:
    # One coefficient row over every support vector: n_support [S, 0].
    y = g.flatten_column(_decision_values(g, est, x, [int(est.support_vectors_.shape[0]), 0]))
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


def one_class_svm(g: Graph, est: Any, x: str) -> Head:
    decision = g.flatten_column(_decision_values(g, est, x, [int(est.support_vectors_.shape[0]), 0]))
    # score_samples = decision_function + offset_, rounded as scikit-learn does.
    score = g.op("Add", decision, g.const(np.asarray(est.offset_, dtype=np.float64).ravel(), "offset", np.float64))
    label = g.op("Where", g.op("Greater", decision, g.const(0.0, "zero", np.float64)), g.const(1, "inlier", np.int64),
                 g.const(-1, "outlier", np.int64))
    return Head("outlier_detector", {"label": label, "decision": decision, "score": score},
                {"predict": "label", "decision_function": "decision", "score_samples": "score"})


_KERNEL_NOTE = ("linear, poly, rbf and sigmoid kernels in float64 with libsvm's summation order (docs/svm.md); "
                "dense fits only")
_SVC_NOTE = ("binary and multiclass; decision_function (ovo and ovr), break_ties, predict_proba (Platt scaling "
             "and libsvm's pairwise coupling); " + _KERNEL_NOTE)
register("sklearn.svm.SVC", PREDICTOR, _SVC_NOTE)(svc)
register("sklearn.svm.NuSVC", PREDICTOR, _SVC_NOTE)(svc)
register("sklearn.svm.SVR", PREDICTOR, "predict; " + _KERNEL_NOTE)(svr)
register("sklearn.svm.NuSVR", PREDICTOR, "predict; " + _KERNEL_NOTE)(svr)
register("sklearn.svm.OneClassSVM", PREDICTOR, "predict, decision_function, score_samples; " + _KERNEL_NOTE)(
    one_class_svm)
