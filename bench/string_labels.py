"""predict with int vs string class labels, MLE next to scikit-learn, on 1 and
10,000 rows (LogisticRegression, 3 classes, 20 features):

    .venv/bin/python bench/string_labels.py [--repeats N]

String labels come out of the graph as a string tensor and are unpacked by
the binding (mle_runtime/_strings.py); this shows what that costs."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import finish, time_model  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    a = ap.parse_args()
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    import mle_runtime

    threadpool_limits(2)
    X, y = make_classification(20000, 20, n_classes=3, n_informative=6, random_state=0)
    rows = {1: X[:1].copy(), 10000: X[:10000].copy()}
    lines = ["| model | rows | engine | median | spread | other / MLE |", "|---|---:|---|---:|---:|---:|"]
    for kind, labels in (("int", y), ("str", np.array(["setosa", "versicolor", "virginica"])[y])):
        est = LogisticRegression(max_iter=500).fit(X, labels)
        path = os.path.join(tempfile.mkdtemp(), "m.mle")
        mle_runtime.dump(est, path, durable=False)
        m = mle_runtime.load(path, threads=2)
        for Xr in rows.values():
            assert m.predict(Xr).tolist() == est.predict(Xr).tolist()
        lines += time_model(f"LogisticRegression, {kind} labels, predict", {"MLE": {2: m.predict},
                            "scikit-learn": {2: est.predict}}, rows, a.repeats)
    finish(lines, None, False)


if __name__ == "__main__":
    main()
