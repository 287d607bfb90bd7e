"""sklearn.decomposition.IncrementalPCA: PCA's transform (dense input)."""

from __future__ import annotations

from ._registry import TRANSFORMER, register
from .sklearn_decomposition import _pca

# A dense X goes through PCA's _transform (X @ C.T - mean @ C.T, whiten);
# only sparse X is transformed in batches.
register("sklearn.decomposition.IncrementalPCA", TRANSFORMER, "whiten")(_pca)
