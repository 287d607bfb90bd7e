"""PyTorch architectures: MLE next to onnxruntime and torch eager, 2 threads
each, in one run (docs/BENCHMARKS.md section 15).

Every (model, engine) pair runs in its own child process so that its peak
RSS is its own: a first child builds each model from a fixed seed and
writes the .mle file (mle_runtime.dump), the .onnx file (torch.onnx's
exporter) and the input batches; then each engine's child loads the model
the way a user would (mle_runtime.load; an onnxruntime InferenceSession;
the torch module itself — only this one imports torch), warms up, times
`--repeats` rounds of about 0.3 s each and reports the median, the spread
and ru_maxrss. The parent prints the table and, with --write-docs,
replaces section 15 of docs/BENCHMARKS.md.

    bench/torch_models.sh                 # full run (~10 min)
    bench/torch_models.sh --quick         # smoke test, writes nothing
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _docs import replace_block

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("MLE", "onnxruntime", "torch")
# (case, model, batch)
CASES = [
    ("resnet18", "resnet18", 1), ("resnet18", "resnet18", 8),
    ("mobilenet_v3_small", "mobilenet_v3_small", 1),
    ("transformer", "transformer", 1), ("transformer", "transformer", 16),
    ("lstm_tagger", "lstm_tagger", 1), ("lstm_tagger", "lstm_tagger", 32),
]


def build(model: str):
    """The torch module and an input batch builder (fixed seeds)."""
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(0)
    if model in ("resnet18", "mobilenet_v3_small"):
        import torchvision

        m = getattr(torchvision.models, model)(weights=None).eval()
        return m, lambda n: (np.random.default_rng(n).standard_normal((n, 3, 224, 224)).astype(np.float32),)
    if model == "transformer":
        class Encoder(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.emb = nn.Embedding(10000, 256)
                self.pos = nn.Parameter(torch.randn(1, 128, 256) * 0.02)
                layer = nn.TransformerEncoderLayer(256, 8, 1024, batch_first=True, dropout=0.1)
                self.enc = nn.TransformerEncoder(layer, 4, enable_nested_tensor=False)

            def forward(self, ids):
                return self.enc(self.emb(ids) + self.pos[:, : ids.shape[1]])

        return Encoder().eval(), lambda n: (np.random.default_rng(n).integers(0, 10000, (n, 128)).astype(np.int64),)
    if model == "lstm_tagger":
        class Tagger(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.emb = nn.Embedding(10000, 128)
                self.lstm = nn.LSTM(128, 128, num_layers=2, bidirectional=True, batch_first=True)
                self.out = nn.Linear(256, 20)

            def forward(self, ids):
                return self.out(self.lstm(self.emb(ids))[0])

        return Tagger().eval(), lambda n: (np.random.default_rng(n).integers(0, 10000, (n, 50)).astype(np.int64),)
    raise ValueError(model)


def prepare(model: str, workdir: str) -> None:
    """Runs in a child: writes the .mle and .onnx files and the input batches,
    so that the MLE and onnxruntime children never import torch."""
    import numpy as np
    import torch

    import mle_runtime

    module, batch_of = build(model)
    example = batch_of(2)
    mle_runtime.dump(module, os.path.join(workdir, f"{model}.mle"), example_input=example)
    names = [f"in{i}" for i in range(len(example))]
    # With grad enabled: under no_grad nn.TransformerEncoderLayer takes its
    # fused fast path, which torch.onnx cannot export.
    torch.onnx.export(module, tuple(torch.from_numpy(a) for a in example), os.path.join(workdir, f"{model}.onnx"),
                      dynamo=False, input_names=names, output_names=["out"],
                      dynamic_axes={k: {0: "batch"} for k in names + ["out"]})
    for _, m, batch in CASES:
        if m == model:
            for i, a in enumerate(batch_of(batch)):
                np.save(os.path.join(workdir, f"{model}.{batch}.{i}.npy"), a)


def child(model: str, engine: str, batch: int, repeats: int, workdir: str) -> dict:
    """Runs in a child: load, warm, time; returns the measurements."""
    import numpy as np

    x, i = [], 0
    while os.path.exists(f := os.path.join(workdir, f"{model}.{batch}.{i}.npy")):
        x.append(np.load(f))
        i += 1
    if engine == "MLE":
        import mle_runtime

        m = mle_runtime.load(os.path.join(workdir, f"{model}.mle"), threads=2)
        fn = lambda: m(*x)  # noqa: E731
    elif engine == "onnxruntime":
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = 2, 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(os.path.join(workdir, f"{model}.onnx"), opts, providers=["CPUExecutionProvider"])
        feed = {s.name: a for s, a in zip(sess.get_inputs(), x)}
        fn = lambda: sess.run(None, feed)  # noqa: E731
    else:
        import torch

        torch.set_num_threads(2)
        module, _ = build(model)
        tx = tuple(torch.from_numpy(a) for a in x)

        def fn():
            with torch.inference_mode():
                return module(*tx)
    fn()
    t = time.perf_counter()
    fn()
    once = time.perf_counter() - t
    calls = max(1, int(0.3 / max(once, 1e-6)))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t) / calls)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"times": times, "rss": rss}


def run_child(model: str, engine: str, batch: int, repeats: int, workdir: str) -> dict:
    if not os.path.exists(os.path.join(workdir, f"{model}.mle")):
        out = subprocess.run([sys.executable, __file__, "--prepare", model, workdir], capture_output=True, text=True,
                             check=False)
        if out.returncode != 0:
            raise RuntimeError(f"preparing {model} failed:\n{out.stderr[-3000:]}")
    cmd = [sys.executable, __file__, "--child", model, engine, str(batch), str(repeats), workdir]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{model}/{engine}/{batch} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2, help="alternating passes over the engines")
    ap.add_argument("--cases", default="", help="comma-separated model names (default all)")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--child", nargs=5)
    ap.add_argument("--prepare", nargs=2)
    a = ap.parse_args()
    if a.prepare:
        prepare(*a.prepare)
        return
    if a.child:
        model, engine, batch, repeats, workdir = a.child
        print(json.dumps(child(model, engine, int(batch), int(repeats), workdir)))
        return
    repeats, rounds = (2, 1) if a.quick else (a.repeats, a.rounds)
    cases = [c for c in CASES if not a.cases or c[1] in a.cases.split(",")]
    lines = ["| model | batch | engine | median | spread (min–max) | MLE speed-up | peak RSS |",
             "|---|---:|---|---:|---:|---:|---:|"]
    print("\n".join(lines), flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        for name, model, batch in cases:
            res = {e: {"times": [], "rss": 0} for e in ENGINES}
            for _ in range(rounds):  # alternate, so a slow phase of the machine falls on every engine
                for e in ENGINES:
                    r = run_child(model, e, batch, repeats, workdir)
                    res[e]["times"] += r["times"]
                    res[e]["rss"] = max(res[e]["rss"], r["rss"])
            base = statistics.median(res["MLE"]["times"])
            for e in ENGINES:
                ts = res[e]["times"]
                med = statistics.median(ts)
                row = (f"| {name} | {batch} | {e} | {med * 1e3:,.2f} ms | {min(ts) * 1e3:,.2f}–{max(ts) * 1e3:,.2f} |"
                       f" {med / base:.2f}× | {res[e]['rss'] / 2**20:,.0f} MiB |")
                lines.append(row)
                print(row, flush=True)
    if a.write_docs and not a.quick:
        write_docs(lines)


def write_docs(lines: list[str]) -> None:
    cmd = os.environ.get("MLE_TORCH_MODELS_COMMAND", "bench/torch_models.sh")
    replace_block(ROOT / "docs" / "BENCHMARKS.md", "<!-- torch_models:begin -->", "<!-- torch_models:end -->",
                  f"Measured {time.strftime('%Y-%m-%d')} with `{cmd}`; 2 threads per engine; "
                  "each (model, engine) in its own process.\n\n" + "\n".join(lines))


if __name__ == "__main__":
    main()
