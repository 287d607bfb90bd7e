"""The cross-language conformance suite (tests/conformance/README.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import mle_runtime
from mle_runtime import _errors

SUITE = Path(os.environ.get("MLE_CONFORMANCE_DIR", Path(__file__).resolve().parents[3] / "build" / "conformance"))
if not (SUITE / "manifest.json").exists():
    raise RuntimeError(f"no conformance suite in {SUITE}: run `make conformance` first")
CASES = json.loads((SUITE / "manifest.json").read_text())["cases"]


def read(t: dict) -> np.ndarray:
    if t["dtype"] == "string":  # elements in the manifest
        a = np.empty(len(t["strings"]), dtype=object)
        a[:] = t["strings"]
        return a.reshape(t["shape"])
    raw = (SUITE / t["file"]).read_bytes()[t["data_offset"]:]
    return np.frombuffer(raw, dtype=np.dtype(t["dtype"]).newbyteorder("<")).reshape(t["shape"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case):
    path = SUITE / case["model"]
    if "open_error" in case:
        want = case["open_error"]
        with pytest.raises(mle_runtime.MLEError) as e:
            mle_runtime.load(path, verify=case.get("verify", False))
        assert e.value.status == want["code"], f"{e.value} ({e.value.status_name}), want {want['name']}"
        assert type(e.value) is _errors._BY_PRIMARY[want["primary"]]
        return
    m = mle_runtime.load(path, verify=case.get("verify", False))
    assert [(s.name, s.mle_dtype, list(s.shape)) for s in m.inputs] == \
        [(s["name"], s["dtype"], s["shape"]) for s in case["inputs"]]
    assert [(s.name, s.mle_dtype, list(s.shape)) for s in m.outputs] == \
        [(s["name"], s["dtype"], s["shape"]) for s in case["outputs"]]
    assert m.metadata["name"] == case["metadata"]["name"] and m.metadata["version"] == case["metadata"]["version"]
    for run in case["runs"]:
        inputs = {t["name"]: read(t) for t in run["inputs"]}
        if "error" in run:
            with pytest.raises(mle_runtime.MLEError) as e:
                m.run(inputs, convert=False)  # as given: the library checks the dtype
            assert e.value.status == run["error"]["code"], str(e.value)
            continue
        got = m.run(inputs, convert=False)
        for t in run["outputs"]:
            want = read(t)
            assert got[t["name"]].dtype == want.dtype and got[t["name"]].shape == want.shape, t["name"]
            if want.dtype == object:
                assert got[t["name"]].tolist() == want.tolist(), f"{t['name']} differs"
            else:
                assert got[t["name"]].tobytes() == want.tobytes(), f"{t['name']} differs"
