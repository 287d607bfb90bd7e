"""What every converter shares: the Head a final estimator returns, the
refusal error, and the label and probability outputs of classifiers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._errors import MLEUnsupportedError
from .._graph import Graph


@dataclass
class Head:
    """What a final estimator offers: public outputs and the methods that
    read them, plus class labels for classifiers."""

    task: str  # "classifier", "regressor", "outlier_detector", "transformer", ...
    outputs: dict[str, str] = field(default_factory=dict)  # public name -> value
    methods: dict[str, str] = field(default_factory=dict)  # method -> public output
    classes: np.ndarray | None = None
    labels_are_indices: bool = False


def unsupported(what: str) -> MLEUnsupportedError:
    """The refusal of something no converter handles exactly."""
    return MLEUnsupportedError(f"{what} is not supported by mle_runtime's exporters "
                               "(docs/supported-estimators.md lists what is)", 8 | 3 << 8,
                               "MLE_ERR_UNSUPPORTED_FEATURE")


def to_json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"))


def classes(g: Graph, head: Head, est: Any, index: str) -> None:
    """Adds the label output, computed by the graph (so C, C++, Rust, Node
    and the CLI give the real labels too): the class values gathered by
    index, as int64, float64, bool or strings. Only classes of mixed
    Python types fall back to indices mapped in Python."""
    classes = np.asarray(est.classes_)
    head.classes = classes
    kind = classes.dtype.kind
    if kind in "iu" and np.array_equal(classes, np.arange(len(classes))):
        head.outputs["label"] = index  # the index is the label
    elif kind in "iufb":
        stored = {"i": np.int64, "u": np.int64, "f": np.float64, "b": np.bool_}[kind]
        head.outputs["label"] = g.op("Gather", g.const(classes.astype(stored), "classes", stored), index)
    elif kind in "UO" and all(isinstance(c, str) for c in classes.tolist()):
        head.outputs["label"] = g.op("Gather", g.const(classes, "classes", object), index)
    else:
        head.outputs["label"] = index
        head.labels_are_indices = True
    head.methods["predict"] = "label"


def proba_outputs(g: Graph, head: Head, proba: str) -> None:
    # predict_log_proba is np.log(predict_proba) in scikit-learn too; the
    # binding computes it from this output rather than every run computing it.
    head.outputs["probabilities"] = proba
    head.methods["predict_proba"] = "probabilities"
    head.methods["predict_log_proba"] = "probabilities"


def linear(g: Graph, coef: Any, intercept: Any, x: str) -> str:
    w = np.atleast_2d(np.asarray(coef, dtype=np.float64))
    b = np.broadcast_to(np.asarray(intercept, dtype=np.float64), (w.shape[0],))
    return g.op("Gemm", x, g.const(w, "coef"), g.const(b, "intercept"), transB=1, hint="scores")
