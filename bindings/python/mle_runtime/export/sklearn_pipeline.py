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
from ._table import MISSING_TEXT, Columns, Table, as_matrix

# The model input of a first step that reads something other than the numeric
# matrix "X", by converter name: (name, dtype, shape). The text vectorizers
# (sklearn_text.py) declare one 1-D string input of documents.
INPUTS: dict[str, tuple[str, Any, list[int]]] = {}


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
    raise unsupported(_registry.no_converter(est, "scikit-learn estimator "))


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
    # Read once the converters ran: one may refuse the model first, with its reason.
    n_features = getattr(steps[0], "n_features_in_", None)
    g = Graph(np.dtype(dtype))
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        names = getattr(steps[0], "feature_names_in_", None)
    table = None
    entry = _entry(steps[0])
    own = INPUTS.get(convs[0].name)
    if own is None and _reads_columns(entry) and (names is not None or _has_text(entry)):
        # One input per column, named after it: text stays text.
        if names is None and n_features is None:
            raise unsupported(f"{type(steps[0]).__name__} without n_features_in_")
        table = Table(g, [str(n) for n in names] if names is not None else [f"x{i}" for i in range(n_features)])
        x: Any = Columns(table, list(range(len(table.names))))
    else:
        x = g.reserve(own[0]) if own is not None else "X"
    head = None
    for i, (est, conv) in enumerate(zip(steps, convs)):
        last = i == len(steps) - 1
        if conv.kind == _registry.TRANSFORMER:
            x = _feed(g, conv, est, x)
            if last:
                head = Head("transformer", {"transformed": x}, {"transform": "transformed"})
        elif not last:
            x = _transform_of(g, conv, est, x)
        else:
            head = conv.fn(g, est, x if conv.columns else as_matrix(g, x))
    assert head is not None
    first = steps[0]
    props = {
        "mle.task": head.task,
        "mle.methods": to_json(head.methods),
    }
    if _handles_nan(first) or all(sklearn_ensemble.allow_nan(est) for est in steps):
        props["mle.allow_nan"] = "true"  # absent means false
    if names is not None:
        props["mle.feature_names"] = to_json([str(n) for n in names])
    if table is not None:
        props["mle.columns"] = "inputs"
        if any(table.text.values()):
            props["mle.missing_text"] = to_json(MISSING_TEXT)
        # NaN may reach the final step where nothing imputes or encodes it: a
        # predictor that does not take NaN refuses it (as scikit-learn does);
        # transformers pass it through.
        final_takes_nan = head.task == "transformer" or sklearn_ensemble.allow_nan(steps[-1])
        props["mle.nan_columns"] = to_json(table.nan_columns(final_takes_nan))
    if head.classes is not None:
        c = head.classes
        values = [v.item() if hasattr(v, "item") else v for v in c.tolist()]
        props["mle.classes"] = to_json({"dtype": c.dtype.str if c.dtype.kind != "O" else "O", "values": values})
        if head.labels_are_indices:
            props["mle.labels"] = "index"  # absent: the label output holds the class values
    meta = {"producer": {"name": "scikit-learn", "version": sklearn.__version__}, "name": _describe(model)}
    if own is not None:
        g.inputs = [own]
        return g, head, {"meta": meta, "properties": props}
    if table is None and n_features is None:
        raise unsupported(f"{type(steps[0]).__name__} without n_features_in_ (its input width is unknown)")
    g.inputs = table.inputs() if table is not None else [("X", np.dtype(dtype), [-1, int(n_features)])]
    return g, head, {"meta": meta, "properties": props}


def _entry(est: Any) -> Any:
    """The estimator that first sees est's input (inside the wrappers whose
    converters name it: TransformedTargetRegressor, search CVs, ...)."""
    conv = _registry.find(est)
    if conv is not None and conv.inner is not None:
        return _entry(_steps(conv.inner(est))[0])
    return est


def _reads_columns(est: Any) -> bool:
    """Whether est takes named columns of mixed types (a ColumnTransformer, an encoder)."""
    conv = _registry.find(est)
    return conv is not None and conv.columns


def _has_text(est: Any) -> bool:
    """Whether est (or a transformer inside it) was fitted on text categories."""
    cats = getattr(est, "categories_", None)
    if cats is not None and any(np.asarray(c).dtype.kind in "OUS" for c in cats):
        return True
    for _, trans, _ in getattr(est, "transformers_", []):
        for sub in (trans.steps if _is_pipeline(trans) else [(None, trans)]):
            if not isinstance(sub[1], str) and _has_text(sub[1]):
                return True
    return False


def apply_transformer(g: Graph, est: Any, x: Any) -> Any:
    """est (a transformer or a Pipeline of them) applied to x (Columns or a matrix)."""
    return _apply_steps(g, _steps(est), x)


def _apply_steps(g: Graph, steps: list[Any], x: Any) -> Any:
    for step in steps:
        conv = _converter(step)
        if conv.kind == _registry.PREDICTOR:
            x = _transform_of(g, conv, step, x)
        elif conv.kind != _registry.TRANSFORMER:
            raise unsupported(f"{type(step).__name__} where a transformer is expected")
        else:
            x = _feed(g, conv, step, x)
    return x


def _transform_of(g: Graph, conv: _registry.Converter, est: Any, x: Any) -> Any:
    """An estimator in the middle of a Pipeline passes on its transform
    (KMeans distances, LDA's projection); its other outputs go unused."""
    head = conv.fn(g, est, x if conv.columns else as_matrix(g, x))
    if "transform" not in head.methods:
        raise unsupported(f"{type(est).__name__} in the middle of a Pipeline (it has no transform)")
    return head.outputs[head.methods["transform"]]


def _feed(g: Graph, conv: _registry.Converter, est: Any, x: Any) -> Any:
    """Runs a transformer's converter on x: named columns for those that take
    them, a numeric matrix for the others."""
    if isinstance(x, Columns) and _handles_nan(est):
        x.handles_nan()
    return conv.fn(g, est, x if conv.columns else as_matrix(g, x))


def apply_predictor(g: Graph, est: Any, x: Any) -> Head:
    """est (a final estimator, or a Pipeline ending in one) applied to x."""
    steps = _steps(est)
    x = _apply_steps(g, steps[:-1], x)
    conv = _converter(steps[-1])
    if conv.kind != _registry.PREDICTOR:
        raise unsupported(f"{type(steps[-1]).__name__} where an estimator is expected")
    return conv.fn(g, steps[-1], x if conv.columns else as_matrix(g, x))



def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and np.isnan(v)


def _handles_nan(est: Any) -> bool:
    """Whether est, reading the model's input, turns NaN into numbers (or
    refuses it as scikit-learn does), so NaN may be passed."""
    name = type(est).__name__
    if name in ("SimpleImputer", "MissingIndicator"):
        return _is_nan(est.missing_values)
    if name == "FeatureUnion":  # every member sees the input
        return all(t == "drop" or _handles_nan(_steps(t)[0]) for _, t in est.transformer_list)
    if name == "SplineTransformer":
        return getattr(est, "handle_missing", "error") == "zeros"
    return name in ("OneHotEncoder", "OrdinalEncoder", "TargetEncoder")


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
