"""sklearn.frozen.FrozenEstimator: every method is the wrapped estimator's."""

from __future__ import annotations

from typing import Any

from .._graph import Graph
from ._head import Head
from ._registry import PREDICTOR, register
from .sklearn_model_selection import delegate


@register("sklearn.frozen.FrozenEstimator", PREDICTOR,
          "any supported estimator or Pipeline (named columns kept); its methods", inner=lambda est: est.estimator)
def _frozen(g: Graph, est: Any, x: Any) -> Head:
    return delegate(g, est.estimator, x)
