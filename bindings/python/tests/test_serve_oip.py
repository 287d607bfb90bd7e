"""`mle serve` driven by a real Open Inference Protocol v2 client (Triton's
tritonclient.http): metadata, binary and JSON tensors, BYTES, errors, hot
reload, metrics and the SIGTERM drain, against scikit-learn's own outputs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from sklearn.datasets import make_classification
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from tritonclient.utils import InferenceServerException

import mle_runtime

ROOT = Path(__file__).resolve().parents[3]
CLI = Path(os.environ.get("MLE_CLI", ROOT / "build" / "mle"))
DOCS = ["a good movie", "bad film", "great great film", "awful", "not good", "the best movie"]


def start_server(repo: Path, *flags: str) -> tuple[subprocess.Popen, dict[str, str], list[dict]]:
    """Start `mle serve` on free ports (HTTP and gRPC); return the process, HOST:PORT by protocol and its log."""
    assert CLI.exists(), f"{CLI} is missing: build it with `make cli` (make test-python does)"
    p = subprocess.Popen([str(CLI), "serve", "--repository", str(repo), "--listen", "127.0.0.1:0",
                          "--grpc-listen", "127.0.0.1:0", "--poll-interval", "100ms", *flags],
                         stderr=subprocess.PIPE, text=True)
    logs: list[dict] = []
    addrs: dict[str, str] = {}
    while len(addrs) < 2:  # the process is killed by the caller's timeout if it hangs
        line = p.stderr.readline()
        if not line:
            raise AssertionError(f"mle serve exited with {p.wait()}: {logs}")
        logs.append(json.loads(line))
        if logs[-1]["msg"] == "listening":
            addrs[logs[-1]["protocol"]] = logs[-1]["addr"]
    return p, addrs, logs


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    X, y = make_classification(n_samples=400, n_features=8, n_informative=5, n_classes=3, random_state=4)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:300], y[:300])
    pipe2 = make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)).fit(X[:300], y[:300])
    text = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(DOCS, [1, 0, 1, 0, 0, 1])
    repo = tmp_path_factory.mktemp("repo")
    spare = tmp_path_factory.mktemp("spare")
    for name, est, dst in [("pipe/1", pipe, repo), ("pipe/2", pipe2, spare), ("text/1", text, repo)]:
        (dst / name).mkdir(parents=True)
        mle_runtime.dump(est, dst / name / "model.mle")
    return repo, spare, pipe, pipe2, text, np.ascontiguousarray(X[300:])


@pytest.fixture(scope="module")
def server(models):
    repo = models[0]
    p, addrs, logs = start_server(repo)
    yield addrs["http"], p, logs, addrs["grpc"]
    if p.poll() is None:
        p.kill()
        p.wait()


def test_metadata_and_health(server):
    addr = server[0]
    c = httpclient.InferenceServerClient(url=addr)
    assert c.is_server_live() and c.is_server_ready()
    assert c.get_server_metadata()["name"] == "mle"
    assert c.is_model_ready("pipe") and c.is_model_ready("pipe", "1") and not c.is_model_ready("pipe", "7")
    meta = c.get_model_metadata("pipe")
    assert meta["versions"] == ["1"] and meta["platform"] == "mle"
    assert meta["inputs"] == [{"name": "X", "datatype": "FP64", "shape": [-1, 8]}]
    assert [o["name"] for o in meta["outputs"]] == ["decision", "label", "probabilities"]
    text = c.get_model_metadata("text")
    assert text["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]


@pytest.mark.parametrize("binary", [True, False])
def test_infer_matches_sklearn(server, models, binary):
    addr = server[0]
    _, _, pipe, _, _, X = models
    c = httpclient.InferenceServerClient(url=addr)
    inp = httpclient.InferInput("X", list(X.shape), "FP64")
    inp.set_data_from_numpy(X, binary_data=binary)
    outs = [httpclient.InferRequestedOutput("label", binary_data=binary),
            httpclient.InferRequestedOutput("probabilities", binary_data=binary)]
    r = c.infer("pipe", [inp], outputs=outs, request_id="r1")
    assert r.get_response()["model_version"] == "1" and r.get_response()["id"] == "r1"
    np.testing.assert_array_equal(r.as_numpy("label"), pipe.predict(X))
    np.testing.assert_allclose(r.as_numpy("probabilities"), pipe.predict_proba(X), rtol=0, atol=1e-9)
    assert r.as_numpy("decision") is None  # not requested


@pytest.mark.parametrize("binary", [True, False])
def test_bytes(server, models, binary):
    addr = server[0]
    text = models[4]
    c = httpclient.InferenceServerClient(url=addr)
    docs = np.array(["a good film", "awful movie", "", "héllo wörld"], dtype=np.object_)
    inp = httpclient.InferInput("text", [len(docs)], "BYTES")
    inp.set_data_from_numpy(docs, binary_data=binary)
    r = c.infer("text", [inp])
    np.testing.assert_array_equal(r.as_numpy("label"), text.predict(list(docs)))
    np.testing.assert_allclose(r.as_numpy("probabilities"), text.predict_proba(list(docs)), rtol=0, atol=1e-9)


def test_errors_name_the_problem(server, models):
    addr = server[0]
    X = models[5]
    c = httpclient.InferenceServerClient(url=addr)
    cases = [
        ("pipe", "Y", X, "FP64", 'the model has no input "Y"'),
        ("pipe", "X", X.astype(np.float32), "FP32", 'input "X": datatype FP32, but the model takes FP64'),
        ("pipe", "X", X[:, :5].copy(), "FP64", "X"),
        ("nope", "X", X, "FP64", 'unknown model "nope"'),
    ]
    for model, name, data, dt, msg in cases:
        inp = httpclient.InferInput(name, list(data.shape), dt)
        inp.set_data_from_numpy(data)
        with pytest.raises(InferenceServerException) as e:
            c.infer(model, [inp])
        assert msg in str(e.value), (model, name, str(e.value))


def metric(addr: str, series: str) -> float:
    """The value of one series on /metrics (0 when absent)."""
    with urllib.request.urlopen(f"http://{addr}/metrics", timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(series + " "):
                return float(line.split()[-1])
    return 0.0


def test_hot_reload_and_metrics(server, models):
    addr = server[0]
    repo, spare, pipe, pipe2, _, X = models
    c = httpclient.InferenceServerClient(url=addr)
    ok1 = 'mle_inference_requests_total{model="pipe",outcome="success",version="1"}'
    before = metric(addr, ok1)
    with pytest.raises(InferenceServerException):
        c.infer("nope", [httpclient.InferInput("X", [1], "FP64").set_data_from_numpy(np.zeros(1))])
    shutil.copytree(spare / "pipe" / "2", repo / "pipe" / "2")
    deadline = time.monotonic() + 30
    while c.get_model_metadata("pipe")["versions"] != ["2"]:
        assert time.monotonic() < deadline, c.get_model_metadata("pipe")
        time.sleep(0.05)
    inp = httpclient.InferInput("X", list(X.shape), "FP64")
    inp.set_data_from_numpy(X)
    r = c.infer("pipe", [inp])
    assert r.get_response()["model_version"] == "2"
    np.testing.assert_allclose(r.as_numpy("probabilities"), pipe2.predict_proba(X), rtol=0, atol=1e-9)
    assert metric(addr, ok1) == before  # version 2 served it
    assert metric(addr, 'mle_inference_requests_total{model="pipe",outcome="success",version="2"}') == 1
    assert metric(addr, 'mle_inference_requests_total{model="_unknown",outcome="not_found",version=""}') >= 1
    assert metric(addr, "mle_models_loaded") == 2
    # Removing version 2 brings version 1 back.
    shutil.rmtree(repo / "pipe" / "2")
    while c.get_model_metadata("pipe")["versions"] != ["1"]:
        assert time.monotonic() < deadline + 30
        time.sleep(0.05)
    np.testing.assert_array_equal(c.infer("pipe", [inp]).as_numpy("label"), pipe.predict(X))


def test_auth_and_drain(models, tmp_path):
    repo = models[0]
    (tmp_path / "token").write_text("tok-123\n")
    p, addrs, _ = start_server(repo, "--auth-token-file", str(tmp_path / "token"))
    addr = addrs["http"]
    try:
        c = httpclient.InferenceServerClient(url=addr)
        assert c.is_server_ready()  # health needs no token
        with pytest.raises(InferenceServerException, match="bearer token"):
            c.get_model_metadata("pipe")
        assert c.get_model_metadata("pipe", headers={"Authorization": "Bearer tok-123"})["name"] == "pipe"
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=60) == 0
        msgs = [json.loads(line)["msg"] for line in p.stderr.read().splitlines()]
        assert "draining" in msgs and msgs[-1] == "stopped", msgs
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_grpc_client(server, models):
    """Triton's gRPC client: raw tensors both ways, BYTES, errors with their codes."""
    _, _, pipe, _, text, X = models
    c = grpcclient.InferenceServerClient(url=server[3])
    assert c.is_server_live() and c.is_server_ready() and c.is_model_ready("pipe")
    meta = c.get_model_metadata("pipe", as_json=True)
    assert meta["inputs"] == [{"name": "X", "datatype": "FP64", "shape": ["-1", "8"]}]
    inp = grpcclient.InferInput("X", list(X.shape), "FP64")
    inp.set_data_from_numpy(X)
    r = c.infer("pipe", [inp], outputs=[grpcclient.InferRequestedOutput("label"),
                                        grpcclient.InferRequestedOutput("probabilities")])
    np.testing.assert_array_equal(r.as_numpy("label"), pipe.predict(X))
    np.testing.assert_allclose(r.as_numpy("probabilities"), pipe.predict_proba(X), rtol=0, atol=1e-9)
    docs = np.array(["a good film", "awful movie"], dtype=np.object_)
    t = grpcclient.InferInput("text", [2], "BYTES")
    t.set_data_from_numpy(docs)
    np.testing.assert_array_equal(c.infer("text", [t]).as_numpy("label"), text.predict(list(docs)))
    bad = grpcclient.InferInput("X", [len(X), 8], "FP32")
    bad.set_data_from_numpy(X.astype(np.float32))
    with pytest.raises(InferenceServerException) as e:
        c.infer("pipe", [bad])
    assert e.value.status() == "StatusCode.INVALID_ARGUMENT" and "the model takes FP64" in e.value.message()


def test_drift_against_the_reference(tmp_path):
    """dump(reference=X_train) stores per-feature deciles; mle serve scores live rows against them (PSI)."""
    X, y = make_classification(n_samples=3000, n_features=5, n_informative=3, random_state=7)
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:2000], y[:2000])
    for name, rows in [("same", X[2000:]), ("shifted", X[2000:] + np.array([0, 0, 3.0, 0, 0]))]:
        (tmp_path / name / "m" / "1").mkdir(parents=True)
        mle_runtime.dump(est, tmp_path / name / "m" / "1" / "model.mle", reference=X[:2000])
        p, addrs, _ = start_server(tmp_path / name)
        try:
            c = httpclient.InferenceServerClient(url=addrs["http"])
            inp = httpclient.InferInput("X", list(rows.shape), "FP64")
            inp.set_data_from_numpy(np.ascontiguousarray(rows))
            np.testing.assert_array_equal(c.infer("m", [inp]).as_numpy("label"), est.predict(rows))
            psi = [metric(addrs["http"], f'mle_feature_psi{{feature="f{j}",model="m",version="1"}}') for j in range(5)]
            score = metric(addrs["http"], 'mle_drift_score{model="m",version="1"}')
            mean2 = metric(addrs["http"], 'mle_feature_mean{feature="f2",model="m",version="1"}')
        finally:
            p.kill()
            p.wait()
        if name == "same":
            assert max(psi) < 0.1 and score == max(psi), psi
        else:
            assert psi[2] > 1 and max(psi[:2] + psi[3:]) < 0.1 and score == psi[2], psi
            assert abs(mean2 - (rows[:, 2].mean())) < 1e-6
    with pytest.raises(mle_runtime.MLEValueError, match="one 2-D numeric input"):
        mle_runtime.dump(make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(DOCS, [1, 0, 1, 0, 0, 1]),
                         tmp_path / "t.mle", reference=np.zeros((2, 2)))
    with pytest.raises(mle_runtime.MLEValueError, match="shape"):
        mle_runtime.dump(est, tmp_path / "x.mle", reference=np.zeros((4, 3)))
