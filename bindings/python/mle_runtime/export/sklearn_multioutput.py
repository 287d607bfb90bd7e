"""sklearn.multioutput: MultiOutputRegressor and MultiOutputClassifier over
any supported estimator.

predict is np.asarray([e.predict(X) for e in estimators_]).T: one column
per target, in the dtype numpy promotes the targets' label dtypes to (int
and str labels together become str, as numpy writes the numbers; ints and
floats, float64). The graph gathers each target's classes, converted to
that dtype here by numpy, at the target's predicted position; labels that
numpy would keep as objects of mixed types are refused.

predict_proba is a list of arrays in scikit-learn, one per target: the
graph publishes each as its own output, probabilities_0, probabilities_1,
..., and mle.methods maps predict_proba to that list, so the binding's
predict_proba returns a list as scikit-learn's does."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, unsupported
from ._meta import inner, label_index, need, output
from ._registry import PREDICTOR, register


# Label dtypes the graph holds alike (classes() stores ints as int64, text as strings).
_FAMILY = {"i": "int", "u": "int", "f": "float", "b": "bool", "U": "text", "O": "text"}


@register("sklearn.multioutput.MultiOutputRegressor", PREDICTOR,
          "any supported single-output regressors; predict [N, n_targets]")
def _multi_output_regressor(g: Graph, est: Any, x: str) -> Head:
    preds = [need(g, e, inner(g, e, x), "predict", "MultiOutputRegressor") for e in est.estimators_]
    y = g.op("Concat", *[g.column(p) for p in preds], axis=1)
    return Head("regressor", {"prediction": y}, {"predict": "prediction"})


@register("sklearn.multioutput.MultiOutputClassifier", PREDICTOR,
          "any supported classifiers; predict [N, n_targets] of int, float, bool or str labels (mixed label "
          "types as numpy promotes them, except to object); predict_proba as a list (outputs probabilities_0, ...)")
def _multi_output_classifier(g: Graph, est: Any, x: str) -> Head:
    subs = est.estimators_
    own = [np.asarray(e.classes_) for e in subs]
    if any(c.ndim != 1 for c in own):
        raise unsupported("MultiOutputClassifier over multi-output classifiers")
    common = np.result_type(*[c.dtype for c in own])  # np.asarray's dtype for the stacked predictions
    if common.kind == "O" and not all(isinstance(v, str) for c in own for v in c.tolist()):
        raise unsupported(f"MultiOutputClassifier whose targets' labels ({', '.join(str(c.dtype) for c in own)}) "
                          "stack to an object array of mixed types")
    if common.kind not in "iufbUO":
        raise unsupported(f"MultiOutputClassifier with {common} labels")
    stored = {"i": np.int64, "u": np.int64, "f": np.float64, "b": np.bool_, "U": object, "O": object}[common.kind]
    heads = [inner(g, e, x) for e in subs]
    columns = []
    for e, h, c in zip(subs, heads, own):
        if h.labels_are_indices:
            raise unsupported(f"MultiOutputClassifier over {type(e).__name__} with labels of mixed types")
        values = c.astype(common)  # what np.asarray makes of this target's labels
        same = _FAMILY[c.dtype.kind] == _FAMILY[common.kind]  # the label output already holds these values
        label = output(h, "predict")
        if same:
            columns.append(label)  # already the values, in the stored dtype
        else:
            table = g.const(values.astype(stored), "labels", stored)
            columns.append(g.op("Gather", table, label_index(g, h, e, c)))
    head = Head("classifier")
    head.outputs["label"] = g.op("Concat", *[g.column(v) for v in columns], axis=1)
    head.methods["predict"] = "label"
    # The label dtype the binding casts predict's output to: every target's
    # labels, one after another (scikit-learn's classes_ is a list).
    head.classes = np.concatenate([c.astype(common) for c in own])
    if hasattr(est, "predict_proba"):
        for i, (e, h) in enumerate(zip(subs, heads)):
            head.outputs[f"probabilities_{i}"] = need(g, e, h, "predict_proba", "MultiOutputClassifier", widen=False)
        # predict_proba returns one array per target (a list), as scikit-learn's does
        head.methods["predict_proba"] = [f"probabilities_{i}" for i in range(len(subs))]
    return head
