"""The converter registry and the table generated from it."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

import mle_runtime
from mle_runtime import export

DOC = Path(__file__).resolve().parents[3] / "docs" / "supported-estimators.md"


def test_table_is_generated():
    assert DOC.read_text() == export.table(), "run: .venv/bin/python -m mle_runtime.export > docs/supported-estimators.md"


@pytest.mark.parametrize("conv", export.all_converters(), ids=lambda c: c.name)
def test_every_name_is_a_class(conv):
    """A typo in a registered name would silently convert nothing."""
    module, _, attr = conv.name.rpartition(".")
    assert isinstance(getattr(importlib.import_module(module), attr), type)


def test_subclass_is_refused_by_name(tmp_path):
    class Mine(LogisticRegression):
        def predict(self, X):
            return super().predict(X)[::-1]

    X = np.random.default_rng(0).normal(size=(20, 3))
    est = Mine().fit(X, X[:, 0] > 0)
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="subclass of sklearn.linear_model.LogisticRegression"):
        mle_runtime.dump(est, tmp_path / "m.mle")
    assert not (tmp_path / "m.mle").exists()


def test_unknown_object_is_refused(tmp_path):
    with pytest.raises(mle_runtime.MLEUnsupportedError, match="builtins.dict"):
        mle_runtime.dump({}, tmp_path / "m.mle")
