"""PyTorch -> .mle, through torch.export.

The module is captured with ``torch.export.export`` (non-strict) on an
example input, with dimensions 0 and 1 of every input marked ``Dim.AUTO``:
torch keeps dynamic what the model leaves free (batch, sequence) and fixes
what it ties down (feature widths, channels). Other dimensions (image
height and width) keep the example's sizes. The program is then
functionalized (``run_decompositions({})``: in-place and aliasing ops become
pure ones) without decomposing anything else, so the graph keeps the ops a
user wrote — conv2d, linear, layer_norm, lstm, scaled_dot_product_attention
— which map onto .mle ops one by one (``_torch_aten.py``). Sizes that are
only known at run time (``x.size(0) * 4`` in a view) become small int64
computations from the inputs' shapes, which the engine evaluates when it
plans a run.

torch.export replaced the first exporter's torch.fx.symbolic_trace: fx gave
no shapes, could not see through nn.MultiheadAttention or
TransformerEncoderLayer, and exported in-place updates through aliases
wrongly unless caught. TorchScript modules are refused: torch.export cannot
read them.

Every op outside the tables raises MLEUnsupportedError naming the ATen op,
the node and the module it came from, before anything is written. The
exported graph is then run once on the example input and compared with the
module's own output, so a file that would compute something else is never
written.
"""

from __future__ import annotations

import inspect
import json
import warnings
from typing import Any

import numpy as np
import torch
from torch import nn

from .._errors import MLEUnsupportedError
from .._graph import Graph
from ._head import Head
from . import _torch_aten as aten_ops

_unsupported = aten_ops.unsupported

_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def _np_dtype(dtype: Any) -> np.dtype:
    """The graph dtype, from a numpy or torch dtype."""
    found = [k for k, v in _DTYPES.items() if v == dtype] if isinstance(dtype, torch.dtype) else []
    try:
        dt = found[0] if found else np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in _DTYPES:
        raise _unsupported(f"dtype {dtype}: torch models export as float32 or float64")
    return dt


def _first_linear_width(module: nn.Module) -> int | None:
    for m in module.modules():
        if isinstance(m, nn.Linear):
            return int(m.in_features)
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Embedding, nn.EmbeddingBag, nn.LSTM, nn.GRU, nn.RNN,
                          nn.MultiheadAttention)):
            return None  # not an MLP: the input is not [batch, in_features]
    return None


def _example_args(module: nn.Module, example_input: Any, fdtype: torch.dtype, name: str) -> tuple:
    """The example input as a tuple of tensors: float ones in the model's
    dtype, integer and bool ones as given. Without one, an MLP's first
    Linear gives [2, in_features]."""
    if example_input is None:
        try:
            params = [p for p in inspect.signature(module.forward).parameters.values()
                      if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        if len(params) > 1:
            raise _unsupported(f"{name}.forward() takes {len(params)} inputs "
                               f"({', '.join(p.name for p in params)}): pass example_input as a tuple, one per input")
        width = _first_linear_width(module)
        if width is None:
            raise _unsupported(f"cannot tell the input shape of {name}, which does not start with nn.Linear: "
                               "pass example_input (a batch shaped like the model's input, or a tuple of them)")
        gen = torch.Generator().manual_seed(0)
        return (torch.randn((2, width), generator=gen, dtype=torch.float64).to(fdtype),)
    items = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    args = []
    for i, v in enumerate(items):
        t = v.detach() if isinstance(v, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(np.asarray(v)))
        if t.is_floating_point():
            t = t.to(fdtype)
        elif t.dtype not in (torch.int64, torch.int32, torch.bool):
            raise _unsupported(f"example_input {i} of {name} is {t.dtype}; inputs are float, int32, int64 or bool")
        if t.dim() < 1:
            raise _unsupported(f"example_input {i} of {name} is a scalar; inputs are batches (rank >= 1)")
        args.append(t.cpu())
    return tuple(args)


def _widen(args: tuple) -> tuple:
    """torch.export fixes a dimension of size 0 or 1: an example batch of
    one row would make the file accept one row only. Such batches are
    repeated to two rows for the capture."""
    return tuple(torch.cat([t, t]) if t.shape[0] == 1 else t for t in args)


def _capture(module: nn.Module, args: tuple, name: str) -> torch.export.ExportedProgram:
    # Dims 0 and 1 (batch, and sequence or features) are left to torch; the
    # rest keep the example's sizes. Marking more would let products of
    # free dims (a Flatten before a Linear) stay symbolic where the model
    # fixes only their product.
    dyn = tuple({d: torch.export.Dim.AUTO for d in range(min(t.dim(), 2))} for t in args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with aten_ops.recurrent_capture():
                ep = torch.export.export(module, args, dynamic_shapes=dyn, strict=False)
            return ep.run_decompositions({})
    except MLEUnsupportedError:
        raise
    except Exception as e:  # torch's own refusal: keep its words, they name the cause
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _unsupported(f"torch.export cannot capture {name}: {type(e).__name__}: {first}") from e


def _input_names(ep: torch.export.ExportedProgram) -> list[str]:
    users = [s.arg.name for s in ep.graph_signature.input_specs
             if s.kind == torch.export.graph_signature.InputKind.USER_INPUT]
    return ["input"] if len(users) == 1 else users


def _flat(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [y for v in out for y in _flat(v)]
    return [out]


def export(module: Any, dtype: Any = None, example_input: Any = None) -> tuple[Graph, Head, dict]:
    """Converts a torch.nn.Module into a Graph, its Head and the metadata."""
    name = type(module).__name__
    if isinstance(module, torch.jit.ScriptModule):
        raise _unsupported(f"{name} is a TorchScript module, which torch.export cannot read: "
                           "export the original nn.Module instead")
    params = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
    if len({t.dtype for t in params}) > 1:
        raise _unsupported(f"{name} mixes parameter dtypes {sorted({str(t.dtype) for t in params})}: "
                           "convert it with .float() or .double() first")
    fdtype = params[0].dtype if params else _DTYPES[_np_dtype(dtype or np.float32)]
    if fdtype not in (torch.float32, torch.float64):
        raise _unsupported(f"{name} has {fdtype} parameters; torch models export as float32 or float64")
    gdtype = _np_dtype(dtype or fdtype)
    if _DTYPES[gdtype] != fdtype:
        raise _unsupported(f"{name} computes in {fdtype}, not dtype={gdtype.name}: convert the module first "
                           f"(.{'double' if gdtype == np.float64 else 'float'}())")
    if any(t.device.type != "cpu" for t in params):
        raise _unsupported(f"{name} has parameters on {params[0].device}: move it to the CPU first (.cpu())")
    g = Graph(gdtype)
    modes = {m: m.training for m in module.modules()}
    module.eval()  # capture what inference computes: Dropout off, BatchNorm on running stats
    try:
        args = _example_args(module, example_input, fdtype, name)
        ep = _capture(module, _widen(args), name)
        names = _input_names(ep)
        cv = aten_ops.Converter(ep, g, fdtype, name)
        cv.check_supported()
        inputs = cv.bind_inputs(names)
        outputs = cv.run()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = _flat(module(*[a.clone() for a in args]))
    finally:
        for m, training in modes.items():
            m.training = training
    g.inputs = inputs
    out_names = {f"output_{i}" if len(outputs) > 1 else "output": v for i, v in enumerate(outputs)}
    _self_check(g, out_names, args, want, name)
    head = Head("torch", out_names, {})
    info = {
        "meta": {"producer": {"name": "pytorch", "version": torch.__version__}, "name": name},
        "properties": {"mle.task": "torch", "mle.methods": json.dumps(head.methods), "mle.torch_module": name},
    }
    return g, head, info


def _self_check(g: Graph, outputs: dict[str, str], args: tuple, want: list, name: str) -> None:
    """Runs the graph on the example input and compares with the module's
    output: a converter bug becomes a refusal, never a wrong file."""
    from .._model import Model

    if len(want) != len(outputs) or not all(isinstance(w, torch.Tensor) for w in want):
        raise _unsupported(f"{name}.forward() returns {len(want)} values of which not all are tensors; "
                           "it must return a tensor or a tuple of tensors")
    _, data = g.write(g.inputs, outputs, {}, None)
    with Model(data=data) as m:
        got = m.run([a.numpy() for a in args])
    for (out, y), w in zip(got.items(), want):
        w = w.detach().cpu().numpy()
        if y.shape != w.shape:
            raise _unsupported(f"internal: the exported {name} gives output {out} shaped {y.shape}, "
                               f"torch {w.shape} (please report this model)")
        if w.dtype.kind == "f":
            scale = max(float(np.max(np.abs(w[np.isfinite(w)]), initial=0.0)), 1e-30)
            tol = 1e-3 if w.dtype == np.float32 else 1e-9
            bad = ~np.isclose(y, w, rtol=0, atol=tol * scale, equal_nan=True)
        else:
            bad = y != w
        if np.any(bad):
            raise _unsupported(f"internal: the exported {name} does not reproduce torch on the example input "
                               f"(output {out}, {int(np.sum(bad))} of {w.size} values differ; please report this model)")
