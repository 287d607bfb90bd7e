"""scikit-learn models as a whole: a Pipeline's steps in order (the last may
predict), each through its registered converter, and the model contract
(docs/FORMAT.md section 4.1) written into the metadata."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._errors import MLEShapeError, MLEUnsupportedError
from .._graph import Graph
from . import _registry, sklearn_ensemble
from ._head import Head, to_json, unsupported


def _is_pipeline(model: Any) -> bool:
    from sklearn.pipeline import Pipeline

    return type(model) is Pipeline


def _steps(model: Any) -> list[Any]:
    if _is_pipeline(model):
        steps = [est for _, est in model.steps if est is not None and est != "passthrough"]
        if not steps:
            raise unsupported("an empty Pipeline")
        out = []
        for s in steps:
            out.extend(_steps(s))
        return out
    return [model]


def _describe(model: Any) -> str:
    if _is_pipeline(model):
        return "Pipeline(" + ", ".join(_describe(e) for _, e in model.steps if e is not None and e != "passthrough") + ")"
    return type(model).__name__


def _converter(est: Any) -> _registry.Converter:
    conv = _registry.find(est)
    if conv is not None and conv.kind != _registry.MODEL:
        return conv
    cls = type(est)
    parent = _registry.subclassed(est)
    if parent is not None:
        raise unsupported(f"{cls.__module__}.{cls.__qualname__}, a subclass of {parent} (a subclass may compute "
                          "something else, so it is not exported as its parent)")
    raise unsupported(f"scikit-learn estimator {cls.__module__}.{cls.__qualname__}")


def export(model: Any, dtype: Any = np.float64) -> tuple[Graph, Head, dict]:
    """Converts a fitted estimator or Pipeline into a Graph, its Head and the
    metadata (producer, name, mle.* properties)."""
    import sklearn
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    steps = _steps(model)
    convs = []
    for est in steps:
        conv = _converter(est)
        try:
            check_is_fitted(est)
        except NotFittedError as e:
            raise MLEUnsupportedError(f"{type(est).__name__} is not fitted: {e}", 8 | 3 << 8,
                                      "MLE_ERR_UNSUPPORTED_FEATURE") from e
        convs.append(conv)
    n_features = int(steps[0].n_features_in_)
    g = Graph(np.dtype(dtype))
    x = "X"
    head = None
    for i, (est, conv) in enumerate(zip(steps, convs)):
        last = i == len(steps) - 1
        if conv.kind == _registry.TRANSFORMER:
            x = conv.fn(g, est, x)
            if last:
                head = Head("transformer", {"transformed": x}, {"transform": "transformed"})
        elif not last:
            raise unsupported(f"{type(est).__name__} in the middle of a Pipeline")
        else:
            head = conv.fn(g, est, x)
    assert head is not None
    first = steps[0]
    props = {
        "mle.task": head.task,
        "mle.methods": to_json(head.methods),
    }
    if (type(first).__name__ == "SimpleImputer" and _is_nan(first.missing_values)) or \
            all(sklearn_ensemble.allow_nan(est) for est in steps):
        props["mle.allow_nan"] = "true"  # absent means false
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(first, "feature_names_in_", None)
    if names is not None:
        props["mle.feature_names"] = to_json([str(n) for n in names])
    if head.classes is not None:
        c = head.classes
        values = [v.item() if hasattr(v, "item") else v for v in c.tolist()]
        props["mle.classes"] = to_json({"dtype": c.dtype.str if c.dtype.kind != "O" else "O", "values": values})
        if head.labels_are_indices:
            props["mle.labels"] = "index"  # absent: the label output holds the class values
    meta = {"producer": {"name": "scikit-learn", "version": sklearn.__version__}, "name": _describe(model)}
    g.inputs = [("X", np.dtype(dtype), [-1, n_features])]
    return g, head, {"meta": meta, "properties": props}


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and np.isnan(v)


class SklearnMLEExporter:
    """The seed API: ``SklearnMLEExporter().export_sklearn(model, path, input_shape=(1, n))``."""

    def __init__(self, dtype: Any = np.float64) -> None:
        self.dtype = dtype

    def export_sklearn(self, model: Any, path: str, input_shape: tuple[int, int] | None = None, **kw: Any):
        from .. import dump

        if input_shape is not None and int(input_shape[-1]) != int(_steps(model)[0].n_features_in_):
            raise MLEShapeError(f"input_shape {input_shape} does not match the model's "
                                f"{_steps(model)[0].n_features_in_} features", 9, "MLE_ERR_SHAPE")
        return dump(model, path, dtype=self.dtype, **kw)
