"""python -m mle_runtime inspect|validate|export ...

Exit status: 0 success, 1 the model or the export failed, 2 bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

import numpy as np

import mle_runtime
from mle_runtime import MLEError


def _inspect(args: argparse.Namespace) -> None:
    m = mle_runtime.load(args.file)
    meta = m.metadata
    if args.json:
        print(json.dumps({"metadata": meta, "inputs": [_spec(s) for s in m.inputs],
                          "outputs": [_spec(s) for s in m.outputs], "bytes": os.path.getsize(args.file)}, indent=2))
        return
    props = meta.get("properties", {})
    print(f"{args.file}: {os.path.getsize(args.file)} bytes")
    for key in ("name", "version", "description", "created", "writer"):
        if meta.get(key):
            print(f"  {key + ':':<13}{meta[key]}")
    if meta.get("producer"):
        print(f"  {'producer:':<13}{meta['producer'].get('name', '')} {meta['producer'].get('version', '')}")
    for label, specs in (("inputs", m.inputs), ("outputs", m.outputs)):
        print(f"{label}:")
        for s in specs:
            print(f"  {s.name:<20} {s.mle_dtype or str(s.dtype):<8} {[('?' if d < 0 else d) for d in s.shape]}")
    methods = m._methods  # checked at load (the mle.* properties are untrusted)
    if methods:
        print("methods: " + ", ".join(f"{k} -> {v}" for k, v in methods.items()))
    if m.classes_ is not None:
        print(f"classes: {list(m.classes_)}")
    others = {k: v for k, v in props.items() if not k.startswith("mle.")}
    for k, v in sorted(others.items()):
        print(f"property: {k} = {v}")


def _spec(s: mle_runtime.TensorSpec) -> dict:
    return {"name": s.name, "dtype": s.mle_dtype or str(s.dtype), "shape": list(s.shape)}


def _validate(args: argparse.Namespace) -> None:
    mle_runtime.load(args.file, verify=True).close()
    print(f"{args.file}: valid (every CRC checked)")


def _load_source(src: str) -> Any:
    """A joblib/pickle file (which runs code: only for files you trust) or a
    torch module given as package.module:attribute."""
    if os.path.exists(src):
        import joblib

        return joblib.load(src)
    if ":" in src:
        mod, _, attr = src.partition(":")
        obj: Any = importlib.import_module(mod)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj() if callable(obj) and not hasattr(obj, "forward") else obj
    raise SystemExit(f"export: {src!r} is neither a file nor module:attr")


def _export(args: argparse.Namespace) -> None:
    model = _load_source(args.source)
    example = None
    if args.example_shape:
        example = np.zeros(tuple(int(d) for d in args.example_shape.split(",")), dtype=np.float32)
        sys_torch = sys.modules.get("torch")
        if sys_torch is not None:
            example = sys_torch.from_numpy(example)
    meta = {"name": args.name} if args.name else None
    info = mle_runtime.dump(model, args.output, dtype=np.dtype(args.dtype) if args.dtype else None,
                            metadata=meta, example_input=example)
    print(f"wrote {info.path}: {info.bytes} bytes; inputs {[_spec(s) for s in info.inputs]}; "
          f"outputs {[s.name for s in info.outputs]}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m mle_runtime", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    i = sub.add_parser("inspect", help="metadata, signature, methods, classes")
    i.add_argument("file")
    i.add_argument("--json", action="store_true")
    v = sub.add_parser("validate", help="every structural check and every CRC")
    v.add_argument("file")
    e = sub.add_parser("export", help="convert a joblib/pickle file you trust, or a torch module:attr, to .mle")
    e.add_argument("source")
    e.add_argument("output")
    e.add_argument("--dtype", choices=["float32", "float64"])
    e.add_argument("--name")
    e.add_argument("--example-shape", help="e.g. 1,2,3 for torch modules whose input width cannot be inferred")
    args = p.parse_args(argv)
    try:
        {"inspect": _inspect, "validate": _validate, "export": _export}[args.cmd](args)
    except MLEError as err:
        print(f"python -m mle_runtime {args.cmd}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
