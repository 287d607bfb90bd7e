"""mle_runtime.ModelRegistry over libmle's registry: register, aliases, deprecation, GC, registry:// URIs."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from sklearn.datasets import make_regression
from sklearn.linear_model import Ridge

import mle_runtime
from mle_runtime import MLEIOError, MLESecurityError, MLEValueError, ModelRegistry


@pytest.fixture()
def files(tmp_path):
    X, y = make_regression(n_samples=80, n_features=4, random_state=0)
    paths = []
    for i, alpha in enumerate([0.1, 1.0, 10.0]):
        p = tmp_path / f"ridge{i}.mle"
        mle_runtime.dump(Ridge(alpha=alpha).fit(X, y), p, metadata={"version": f"1.{i}.0"})
        paths.append(p)
    return paths, X


def test_register_alias_load(tmp_path, files):
    paths, X = files
    reg = ModelRegistry(tmp_path / "reg")
    r1 = reg.register(paths[0], "ridge", alias="staging")
    r2 = reg.register(paths[1], "ridge")
    assert (r1["version"], r2["version"]) == (1, 2) and r1["semver"] == "1.0.0" and len(r1["sha256"]) == 64
    assert r1["aliases"] == ["staging"]
    with pytest.raises(MLEValueError, match="already exists"):
        reg.register(paths[2], "ridge", version=2)
    reg.set_alias("ridge", "production", 2)
    assert reg.show("ridge", "production")["version"] == 2 and reg.show("ridge")["version"] == 2
    assert {d["field"] for d in reg.compare("ridge", 1, 2)} >= {"sha256", "semver"}
    # load() and the registry's own load take registry:// URIs, and answer like the file.
    want = mle_runtime.load(paths[1]).predict(X)
    np.testing.assert_array_equal(mle_runtime.load(reg.uri("ridge", "production")).predict(X), want)
    np.testing.assert_array_equal(reg.load("ridge", "production").predict(X), want)
    with pytest.raises(MLEIOError, match='no version or alias "canary"'):
        reg.load("ridge", "canary")
    reg.remove_alias("ridge", "staging")
    reg.deprecate("ridge", 1, "superseded")
    assert [r["version"] for r in reg.gc(dry_run=True)] == [1]
    reg.gc()
    [m] = reg.list()
    assert [v["version"] for v in m["versions"]] == [2] and m["aliases"] == {"production": 2}


def test_digest_and_bad_input(tmp_path, files):
    paths, _ = files
    reg = ModelRegistry(tmp_path / "reg")
    reg.register(paths[0], "ridge", alias="production")
    f = reg.file("ridge", "production")
    data = bytearray(open(f, "rb").read())
    data[-1] ^= 1
    open(f, "wb").write(bytes(data))
    with pytest.raises(MLESecurityError, match="MLE_ERR_DIGEST_MISMATCH"):
        mle_runtime.load(reg.uri("ridge", "production"))
    with pytest.raises(MLEIOError):
        ModelRegistry(tmp_path / "nowhere").list()
    with pytest.raises(MLEValueError, match="model name"):
        reg.register(paths[0], "../escape")
    junk = tmp_path / "junk.mle"
    junk.write_bytes(b"\x89MLE nonsense")
    with pytest.raises(mle_runtime.MLEError):
        reg.register(junk, "ridge")
    assert [v["version"] for v in reg.list()[0]["versions"]] == [1]


def test_concurrent_writers(tmp_path, files):
    paths, _ = files
    reg = ModelRegistry(tmp_path / "reg")
    results, errors = [], []

    def go():
        try:
            results.append(reg.register(paths[0], "m", version=7)["version"])
        except MLEValueError as e:
            errors.append(str(e))

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [7] and len(errors) == 5 and all("already exists" in e for e in errors)
