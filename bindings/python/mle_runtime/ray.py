"""Scoring with Ray: a callable class for Ray Data's ``map_batches`` (one
model open per actor) and a Ray Serve deployment. The model travels by path
(or registry:// URI).

    ds = ray.data.from_pandas(df).map_batches(
        mle_runtime.ray.Predictor, fn_constructor_kwargs={"model": "model.mle", "features": [...]},
        concurrency=2, batch_format="pandas")
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from . import _scale


class Predictor:
    """For ``Dataset.map_batches``: opens the model in the actor's process
    and adds ``output`` (default "prediction") to each batch (pandas or a
    dict of numpy arrays)."""

    def __init__(self, model: Any, features: Sequence[str], *, method: str | None = "predict",
                 output: str = "prediction", **load_options: Any) -> None:
        self.model = _scale.shared(_scale.reference(model), load_options)
        self.features, self.method, self.output = list(features), method, output

    def __call__(self, batch: Any) -> Any:
        cols = [np.asarray(batch[f]) for f in self.features]
        y = _scale.apply(self.model, _scale.features_frame(self.model, cols, self.features), self.method)
        batch[self.output] = list(y) if y.ndim == 2 else y
        return batch


def deployment(model: Any, features: Sequence[str], *, method: str | None = "predict", name: str = "mle",
               num_replicas: int = 1, **load_options: Any):
    """A Ray Serve application whose replicas each open the model once; a
    request is a dict {feature: [values...]} (or a starlette Request with
    that JSON) and the answer {"prediction": [...]}."""
    from ray import serve

    ref = _scale.reference(model)
    feats = list(features)

    @serve.deployment(name=name, num_replicas=num_replicas)
    class MLEDeployment:
        def __init__(self) -> None:
            self.model = _scale.shared(ref, load_options)

        async def __call__(self, request: Any) -> dict:
            body = await request.json() if hasattr(request, "json") else request
            cols = [np.asarray(body[f]) for f in feats]
            y = _scale.apply(self.model, _scale.features_frame(self.model, cols, feats), method)
            return {"prediction": y.tolist()}

    return MLEDeployment.bind()
