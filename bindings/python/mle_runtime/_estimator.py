"""What makes a loaded model a scikit-learn estimator to scikit-learn's own
tools (scorers, Pipelines, permutation_importance, FrozenEstimator): its
tags, its default score, inputs scikit-learn accepts (pandas nullable
columns, scipy sparse matrices). Nothing here imports scikit-learn except
__sklearn_tags__, which only scikit-learn calls."""

from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar, overload

import numpy as np

# mle.task (written by the exporters) -> scikit-learn's estimator_type.
ESTIMATOR_TYPES = {"classifier": "classifier", "regressor": "regressor", "clusterer": "clusterer",
                   "outlier_detector": "outlier_detector"}

F = TypeVar("F", bound=Callable[..., Any])


class available_if(Generic[F]):
    """A method that exists only where check(model) holds: hasattr and
    getattr answer as they do on the source estimator (a regressor has no
    predict_proba), which is how scikit-learn picks a response method."""

    def __init__(self, check: Callable[[Any], bool] | None, fn: F) -> None:
        # check None: the method exists where the file maps it to an output
        # (tested inline: this runs on every call of predict).
        self.check, self.fn, self.name = check, fn, fn.__name__
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__

    @overload
    def __get__(self, obj: None, owner: type) -> available_if[F]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> F: ...

    def __get__(self, obj: Any, owner: type) -> Any:
        if obj is None:
            return self
        if not (self.name in obj._which if self.check is None else self.check(obj)):
            raise AttributeError(f"this model has no {self.__name__}(); it supports "
                                 f"{sorted(obj._methods) or ['run']}")
        return self.fn.__get__(obj, owner)


def tags(model: Any) -> Any:
    """scikit-learn's Tags for the model (sklearn >= 1.6)."""
    from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags, TransformerTags

    kind = ESTIMATOR_TYPES.get(model._task)
    t = Tags(estimator_type=kind, target_tags=TargetTags(required=kind in ("classifier", "regressor")),
             transformer_tags=TransformerTags() if "transform" in model._which else None,
             classifier_tags=ClassifierTags() if kind == "classifier" else None,
             regressor_tags=RegressorTags() if kind == "regressor" else None,
             input_tags=InputTags(allow_nan=bool(model._allow_nan), sparse=not model._columns,
                                  string=bool(model._documents), categorical=bool(model._columns),
                                  two_d_array=not model._documents, one_d_array=bool(model._documents)),
             requires_fit=True)
    if kind == "classifier" and model._classes is not None:
        t.classifier_tags.multi_class = len(model._classes) > 2
    return t


def accuracy(y_true: Any, y_pred: np.ndarray, sample_weight: Any) -> float:
    """scikit-learn's accuracy_score (subset accuracy for several outputs)."""
    y = np.asarray(y_true)
    if y.shape != y_pred.shape:
        if y.ndim == 2 and y.shape[1] == 1 and y_pred.ndim == 1:
            y = y.ravel()
        else:
            raise ValueError(f"y has shape {y.shape}, but the model predicts {y_pred.shape}")
    same = y == y_pred if y.ndim == 1 else (y == y_pred).all(axis=1)
    return float(np.average(same, weights=None if sample_weight is None else np.asarray(sample_weight)))


def r2(y_true: Any, y_pred: np.ndarray, sample_weight: Any) -> float:
    """scikit-learn's r2_score, multioutput "uniform_average",
    force_finite: a constant y gives 1.0 when predicted exactly, else 0.0.
    The sums run in scikit-learn's order, so the figures agree to the bit."""
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.ndim == 1:
        y = y.reshape(-1, 1)
    if p.ndim == 1:
        p = p.reshape(-1, 1)
    if y.shape != p.shape:
        raise ValueError(f"y has shape {np.shape(y_true)}, but the model predicts {np.shape(y_pred)}")
    if sample_weight is None:
        weight: Any = 1.0
        mean = np.average(y, axis=0)
    else:
        sw = np.asarray(sample_weight, dtype=np.float64)
        weight = sw[:, None]
        mean = np.average(y, axis=0, weights=sw)
    num = np.sum(weight * (y - p) ** 2, axis=0)
    den = np.sum(weight * (y - mean) ** 2, axis=0)
    scores = np.ones(y.shape[1])
    ok = (num != 0) & (den != 0)
    scores[ok] = 1 - num[ok] / den[ok]
    scores[(num != 0) & (den == 0)] = 0.0
    return float(np.average(scores))


def dense(X: Any, dtype: np.dtype) -> Any:
    """X as scikit-learn would read it: a scipy sparse matrix or array made
    dense; a DataFrame of pandas nullable columns (Int64, Float64, boolean)
    with pd.NA as NaN. Anything else is returned as it is."""
    if hasattr(X, "tocsr") and hasattr(X, "toarray") and hasattr(X, "nnz"):  # scipy.sparse, without importing it
        return X.toarray()
    if hasattr(X, "dtypes") and hasattr(X, "to_numpy") and any(_nullable(d) for d in np.atleast_1d(X.dtypes)):
        if dtype.kind != "f":
            return X.to_numpy()  # NA in an integer input is refused as scikit-learn refuses it
        return X.to_numpy(dtype=dtype, na_value=np.nan)
    return X


def column(col: Any, target: np.dtype | None) -> Any:
    """One column of a table as numpy: pandas nullable NA as NaN (numbers)
    or None (text), as scikit-learn's encoders and imputers read it."""
    if hasattr(col, "to_numpy") and _nullable(getattr(col, "dtype", None)):
        if target is None:
            return col.to_numpy(dtype=object, na_value=None)
        if target.kind == "f":
            return col.to_numpy(dtype=target, na_value=np.nan)
    return col.to_numpy() if hasattr(col, "to_numpy") else col


def _nullable(d: Any) -> bool:
    """A pandas extension dtype whose missing value is pd.NA."""
    return d is not None and not isinstance(d, np.dtype) and getattr(d, "na_value", None) is not None and \
        type(getattr(d, "na_value", None)).__name__ == "NAType"
