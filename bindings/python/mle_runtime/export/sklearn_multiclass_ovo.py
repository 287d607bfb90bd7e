"""sklearn.multiclass.OneVsOneClassifier over any supported binary
classifier, as scikit-learn's decision_function computes it
(_ovr_decision_function): per class, the votes of the pairs it won and the
sum of the pairs' confidences (decision_function, else the positive
column of predict_proba), subtracted where the class is the pair's first
and added where it is the second, in pair order; then votes +
s / (3 (|s| + 1)). predict is the first argmax; for two classes,
decision > 0 (0.5 for estimators without decision_function)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._graph import Graph
from ._head import Head, classes, unsupported
from ._meta import DTYPE_IDS, col, inner, label_index, need
from ._registry import PREDICTOR, register


@register("sklearn.multiclass.OneVsOneClassifier", PREDICTOR,
          "any supported binary classifiers; votes with scikit-learn's confidence tie-breaking; decision_function")
def _one_vs_one(g: Graph, est: Any, x: str) -> Head:
    from sklearn.base import is_classifier

    if est.pairwise_indices_ is not None:
        raise unsupported("OneVsOneClassifier over an estimator with the pairwise tag (precomputed kernels)")
    k = len(est.classes_)
    subs = est.estimators_
    won_second, conf = [], []  # per pair: 1.0 where the second class won; the confidence
    for e in subs:
        if not is_classifier(e):
            raise unsupported(f"OneVsOneClassifier over {type(e).__name__}, which is not a classifier")
        h = inner(g, e, x)
        index = label_index(g, h, e, [0, 1])  # pairs are fitted on 0 (first class) / 1 (second)
        won_second.append(index)
        if hasattr(e, "decision_function"):
            conf.append(need(g, e, h, "decision_function", "OneVsOneClassifier"))
        else:
            conf.append(col(g, need(g, e, h, "predict_proba", "OneVsOneClassifier"), 1))
    dt = DTYPE_IDS[g.dtype]
    votes: list[list[str]] = [[] for _ in range(k)]
    sums: list[str | None] = [None] * k
    p = 0
    for i in range(k):
        for j in range(i + 1, k):
            votes[i].append(g.op("Cast", g.op("Equal", won_second[p], g.const(0, "zero", np.int64)), to=dt))
            votes[j].append(g.op("Cast", g.op("Equal", won_second[p], g.const(1, "one", np.int64)), to=dt))
            si, sj = sums[i], sums[j]
            sums[i] = g.op("Neg", conf[p]) if si is None else g.op("Sub", si, conf[p])
            sums[j] = conf[p] if sj is None else g.op("Add", sj, conf[p])
            p += 1
    columns = []
    one, three = g.const(1.0, "one"), g.const(3.0, "three")
    for c in range(k):
        v = votes[c][0]
        for t in votes[c][1:]:
            v = g.op("Add", v, t)
        s = sums[c]
        assert s is not None
        scaled = g.op("Div", s, g.op("Mul", three, g.op("Add", g.op("Abs", s), one)))
        columns.append(g.column(g.op("Add", v, scaled)))
    y = g.op("Concat", *columns, axis=1)
    head = Head("classifier")
    if k == 2:
        decision = col(g, y, 1)
        thresh = 0.0 if hasattr(subs[0], "decision_function") and is_classifier(subs[0]) else 0.5
        index = g.op("Cast", g.op("Greater", decision, g.const(thresh, "threshold")), to=7)
    else:
        decision = y
        index = g.op("ArgMax", y, axis=1, keepdims=0)
    classes(g, head, est, index)
    head.outputs["decision"] = decision
    head.methods["decision_function"] = "decision"
    return head
