"""mle serve against the wrappers users write today, on loopback (issue 13).

Two models: a scikit-learn Pipeline (StandardScaler + LogisticRegression,
20 features, 3 classes) and a torch MLP (64 -> 256 -> 256 -> 10). Servers:
`mle serve` (JSON and binary tensors), and FastAPI + uvicorn (2 workers)
around the joblib-loaded Pipeline, or around an onnxruntime session of
either model. One bounded load generator (build/mle-loadgen: loopback only,
fixed request count) sends single-row OIP v2 requests from 1, 8 and 64
concurrent clients. Rounds alternate the servers; the table gives the median
requests/s with its spread over rounds, and median p50/p99 latencies. A last
run sends 100,000 requests to mle serve and reports its RSS along the way.

    bench/serve.sh [--rounds 3] [--requests 3000] [--quick] [--write-docs]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from _docs import replace_block

ROOT = Path(__file__).resolve().parents[1]
CLI = ROOT / "build" / "mle"
LOADGEN = ROOT / "build" / "mle-loadgen"
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(work: Path) -> dict:
    import joblib
    import torch
    from skl2onnx import to_onnx
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mle_runtime

    X, y = make_classification(n_samples=2000, n_features=20, n_informative=10, n_classes=3, random_state=0)
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    repo = work / "repo"
    (repo / "pipeline" / "1").mkdir(parents=True)
    mle_runtime.dump(pipe, repo / "pipeline" / "1" / "model.mle")
    joblib.dump(pipe, work / "pipeline.joblib")
    onx = to_onnx(pipe, X[:1].astype(np.float64), options={id(pipe.steps[-1][1]): {"zipmap": False}})
    (work / "pipeline.onnx").write_bytes(onx.SerializeToString())

    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 256), torch.nn.ReLU(),
                              torch.nn.Linear(256, 10)).eval()
    (repo / "mlp" / "1").mkdir(parents=True)
    mle_runtime.dump(mlp, repo / "mlp" / "1" / "model.mle", example_input=torch.zeros(1, 64))
    torch.onnx.export(mlp, (torch.zeros(1, 64),), str(work / "mlp.onnx"), dynamo=False, input_names=["input"],
                      output_names=["output"], dynamic_axes={"input": {0: "n"}, "output": {0: "n"}})

    rng = np.random.default_rng(1)
    rows = {"pipeline": ("X", "FP64", X[:1]), "mlp": ("input", "FP32", rng.standard_normal((1, 64), np.float32))}
    outputs = {"pipeline": ["label", "probabilities"], "mlp": ["output"]}
    bodies = {}
    for model, (name, dt, x) in rows.items():
        js = {"inputs": [{"name": name, "datatype": dt, "shape": list(x.shape), "data": x.ravel().tolist()}],
              "outputs": [{"name": o} for o in outputs[model]]}
        (work / f"{model}.json").write_text(json.dumps(js))
        raw = np.ascontiguousarray(x).tobytes()
        head = json.dumps({"inputs": [{"name": name, "datatype": dt, "shape": list(x.shape),
                                       "parameters": {"binary_data_size": len(raw)}}],
                           "outputs": [{"name": o, "parameters": {"binary_data": True}} for o in outputs[model]]}).encode()
        (work / f"{model}.bin").write_bytes(head + raw)
        bodies[model] = {"json": (work / f"{model}.json", -1), "binary": (work / f"{model}.bin", len(head))}
    return {"repo": repo, "bodies": bodies}


class Server:
    """A server process on a free loopback port."""

    def __init__(self, name: str, argv: list[str], env: dict | None = None):
        ready = "/docs" if env else "/v2/health/ready"  # FastAPI's docs page answers once the app is up
        self.name, self.port = name, free_port()
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=ROOT / "bench")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{ready}", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {self.proc.returncode}")
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not start")

    def url(self, model: str) -> str:
        return f"http://127.0.0.1:{self.port}/v2/models/{model}/infer"

    def rss(self) -> int:
        """Resident bytes of the server and its children (uvicorn's workers)."""
        pids = [self.proc.pid]
        kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if kids.exists():
            pids += [int(p) for p in kids.read_text().split()]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def load(url: str, body: Path, header_len: int, clients: int, requests: int) -> dict:
    argv = [str(LOADGEN), "-url", url, "-body", str(body), "-c", str(clients), "-requests", str(requests),
            "-duration", "60s", "-warmup", "100"]
    if header_len >= 0:
        argv += ["-header-length", str(header_len)]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen: {out.stderr}")
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--quick", action="store_true", help="one round, few requests, nothing written")
    ap.add_argument("--write-docs", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.rounds, a.requests = 1, 300
    work = Path(tempfile.mkdtemp(prefix="mle-serve-bench-"))
    try:
        run(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(a, work: Path) -> None:
    prep = prepare(work)
    uvicorn = [PY, "-m", "uvicorn", "serve_baseline:app", "--host", "127.0.0.1", "--port", "{port}", "--workers", "2",
               "--log-level", "warning", "--no-access-log"]
    servers = {
        "mle serve": ([str(CLI), "serve", "--repository", str(prep["repo"]), "--listen", "127.0.0.1:{port}",
                       "--log-level", "warn"], None),
        "FastAPI + scikit-learn": (uvicorn, {"MLE_BASELINE": "sklearn", "MLE_BASELINE_MODEL": str(work / "pipeline.joblib")}),
        "FastAPI + onnxruntime (pipeline)": (uvicorn, {"MLE_BASELINE": "onnxruntime", "MLE_BASELINE_MODEL": str(work / "pipeline.onnx")}),
        "FastAPI + onnxruntime (mlp)": (uvicorn, {"MLE_BASELINE": "onnxruntime", "MLE_BASELINE_MODEL": str(work / "mlp.onnx")}),
    }
    # (model, server, tensors)
    cells = [("pipeline", "mle serve", "json"), ("pipeline", "mle serve", "binary"),
             ("pipeline", "FastAPI + scikit-learn", "json"), ("pipeline", "FastAPI + onnxruntime (pipeline)", "json"),
             ("mlp", "mle serve", "json"), ("mlp", "mle serve", "binary"), ("mlp", "FastAPI + onnxruntime (mlp)", "json")]
    clients = [1, 8, 64]
    results: dict[tuple, list[dict]] = {}
    started = {name: Server(name, *spec) for name, spec in servers.items()}
    try:
        for r in range(a.rounds):
            for c in clients:
                for model, srv, enc in cells:
                    body, hl = prep["bodies"][model][enc]
                    rep = load(started[srv].url(model), body, hl, c, a.requests)
                    results.setdefault((model, srv, enc, c), []).append(rep)
                    print(f"round {r + 1} {model:8} {srv:34} {enc:6} c={c:<3} {rep['rps']:8.0f} req/s "
                          f"p50 {rep['p50_ms']:.2f} ms p99 {rep['p99_ms']:.2f} ms errors {rep['errors']}", flush=True)
        # Memory over 100,000 requests to mle serve.
        mle = started["mle serve"]
        body, hl = prep["bodies"]["pipeline"]["json"]
        rss0 = mle.rss()
        load(mle.url("pipeline"), body, hl, 8, 10_000 if not a.quick else 1000)
        rss10 = mle.rss()
        big = load(mle.url("pipeline"), body, hl, 8, 100_000 if not a.quick else 5000)
        rss_end = mle.rss()
    finally:
        for s in started.values():
            s.stop()
    lines = ["| model | server | tensors | clients | req/s (median, min–max) | p50 | p99 | errors | vs baseline |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    baseline = {"pipeline": "FastAPI + scikit-learn", "mlp": "FastAPI + onnxruntime (mlp)"}
    for model in ("pipeline", "mlp"):
        for c in clients:
            base = statistics.median(x["rps"] for x in results[(model, baseline[model], "json", c)])
            for m2, srv, enc in cells:
                if m2 != model:
                    continue
                reps = results[(model, srv, enc, c)]
                rps = [x["rps"] for x in reps]
                lines.append(f"| {model} | {srv} | {enc} | {c} | {statistics.median(rps):,.0f} ({min(rps):,.0f}–{max(rps):,.0f}) |"
                             f" {statistics.median(x['p50_ms'] for x in reps):.2f} ms | {statistics.median(x['p99_ms'] for x in reps):.2f} ms |"
                             f" {sum(x['errors'] for x in reps)} | {statistics.median(rps) / base:.1f}× |")
    mem = (f"mle serve over {big['requests']:,} more requests (pipeline, JSON, 8 clients, {big['rps']:,.0f} req/s, "
           f"{big['errors']} errors): RSS {rss0 / 2**20:.1f} MiB at start, {rss10 / 2**20:.1f} MiB after a first 10,000, "
           f"{rss_end / 2**20:.1f} MiB at the end.")
    print("\n".join(lines) + "\n\n" + mem)
    if a.write_docs and not a.quick:
        write_docs(lines, mem, a)


def write_docs(lines: list[str], mem: str, a) -> None:
    cmd = f"bench/serve.sh --write-docs --rounds {a.rounds} --requests {a.requests}"
    replace_block(ROOT / "docs" / "BENCHMARKS.md", "<!-- serve:begin -->", "<!-- serve:end -->",
                  f"Measured {time.strftime('%Y-%m-%d')} with `{cmd}`: single-row requests, every server and the "
                  "load generator on this 2-core VM at once; rounds alternate the servers.\n\n" + "\n".join(lines) +
                  f"\n\n{mem}")


if __name__ == "__main__":
    main()
