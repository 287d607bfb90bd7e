"""PyTorch -> .mle.

The module is captured with ``torch.fx.symbolic_trace``, not ``torch.export``:
fx traces on the CPU in milliseconds without running the model and needs no
example input; it yields a plain graph of module calls, functions and tensor
methods (nn.Linear, F.gelu, x.view, operator.add, ...) that we map 1:1 onto
.mle ops, checking every argument on the way. torch.export would work too,
but it decomposes everything into aten ops (addmm, native_layer_norm, ...)
that would have to be re-assembled.

The model is traced in eval mode (Dropout is the identity; the modules' modes
are restored afterwards), then run once on a small probe batch to learn every
tensor's shape and dtype, and once more eagerly to check that the trace
reproduces forward(). Anything not in the tables below raises
MLEUnsupportedError naming the op and its node: nothing is exported silently
wrong. Dimension 0 is the batch everywhere and stays dynamic.
"""

from __future__ import annotations

import json
import math
import operator
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from .._errors import MLEUnsupportedError
from .._graph import Graph
from ._head import Head

_PROBE_ROWS = 2  # rows of the probe batch; not 1, so that broadcasting cannot hide a batch mix-up


def _unsupported(message: str) -> MLEUnsupportedError:
    return MLEUnsupportedError(message, 8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")


class _Batch:
    """x.size(0): the batch size, known only at run time."""

    def __repr__(self) -> str:
        return "x.size(0)"


BATCH = _Batch()


@dataclass(frozen=True)
class _V:
    """A tensor of the graph: its name and its shape in the probe run."""

    name: str
    shape: tuple[int, ...]

    @property
    def rank(self) -> int:
        return len(self.shape)


# A handler converts one call, given its arguments bound by name.
_Handler = Callable[["_Converter", dict], Any]


class _Converter:
    def __init__(self, gm: torch.fx.GraphModule, g: Graph, dtype: torch.dtype) -> None:
        self.gm, self.g, self.dtype = gm, g, dtype
        self.env: dict[torch.fx.Node, Any] = {}
        self.aliasing: set[torch.fx.Node] = set()  # nodes whose result shares memory with their input
        self.node: torch.fx.Node | None = None
        self.what = ""  # the op being converted, for messages

    # ------------------------------------------------------------ errors

    def fail(self, what: str, hint: str = "") -> MLEUnsupportedError:
        n = self.node
        where = f"node {n.name!r}"
        if n.op == "call_module" and n.target != n.name:
            where += f", submodule {n.target!r}"
        return _unsupported(f"torch op {what} ({where}) is not supported by mle_runtime's PyTorch exporter{hint}")

    def bad(self, arg: str, value: Any, hint: str = "") -> MLEUnsupportedError:
        return self.fail(f"{self.what}({arg}={value!r})", hint)

    # ------------------------------------------------------------ lookup

    def handler(self, node: torch.fx.Node) -> tuple[tuple[str, ...], dict, _Handler, nn.Module | None]:
        """The handler of a call node, or MLEUnsupportedError."""
        self.node = node
        if node.op == "call_module":
            mod = self.gm.get_submodule(node.target)
            cls = type(mod)  # exact type: a subclass may override forward()
            self.what = f"torch.nn.{cls.__name__}" if getattr(nn, cls.__name__, None) is cls \
                else f"{cls.__module__}.{cls.__qualname__}"
            if cls not in _MODULES:
                raise self.fail(self.what)
            return ("input",), {}, _MODULES[cls][0], mod
        if node.op == "call_method":
            self.what, spec = f"Tensor.{node.target}", _METHODS.get(node.target)
        else:
            self.what, spec = _function_name(node.target), _FUNCTIONS.get(node.target)
        if spec is None:
            raise self.fail(self.what)
        return (*spec, None)

    def bind(self, node: torch.fx.Node, names: tuple[str, ...], defaults: dict) -> dict:
        """Arguments by name; a trailing "*name" collects extra positionals."""
        args = torch.fx.node.map_arg(node.args, self.env.__getitem__)
        kwargs = torch.fx.node.map_arg(node.kwargs, self.env.__getitem__)
        bound = dict(defaults)
        star = names[-1][1:] if names[-1].startswith("*") else None
        fixed = names[:-1] if star else names
        if len(args) > len(fixed) and not star:
            raise self.fail(f"{self.what} with {len(args)} positional arguments")
        bound.update(zip(fixed, args))
        if star:
            bound[star] = tuple(args[len(fixed):])
        for k, v in kwargs.items():
            if k not in fixed:
                raise self.fail(f"{self.what}({k}=...)")
            bound[k] = v
        missing = [n for n in fixed if n not in bound]
        if missing:
            raise self.fail(f"{self.what} without {', '.join(missing)}")
        return bound

    # ------------------------------------------------------------ values

    def input(self, a: dict, key: str = "input") -> _V:
        x = a[key]
        if not isinstance(x, _V):
            raise self.fail(f"{self.what} on {type(x).__name__} {x!r}")
        return x

    def weights(self, t: Any, arg: str) -> np.ndarray:
        """A parameter as float64 numpy (g.const casts it to the graph dtype)."""
        if not isinstance(t, torch.Tensor):
            raise self.bad(arg, t, " (only stored parameters are supported here)")
        if not t.is_floating_point():
            raise self.fail(f"{self.what} with a {t.dtype} {arg}")
        return t.detach().to("cpu", torch.float64).numpy()

    def tensor(self, v: Any) -> str:
        """An operand as a graph name: tensors as they are, parameters and
        Python numbers as constants."""
        if isinstance(v, _V):
            return v.name
        if isinstance(v, torch.Tensor):
            return self.g.const(self.weights(v, "operand"), "param")
        if isinstance(v, (int, float)):
            return self.g.const(float(v), "scalar")
        raise self.fail(f"{self.what} on {type(v).__name__} {v!r}")

    def axis(self, dim: Any, rank: int, arg: str = "dim") -> int:
        if not isinstance(dim, int) or isinstance(dim, bool) or not -rank <= dim < rank:
            raise self.bad(arg, dim)
        return dim % rank

    def out_shape(self) -> tuple[int, ...]:
        return tuple(self.node.meta["tensor_meta"].shape)

    def view(self, y: str) -> str:
        """Marks the current node as a view of its input (torch shares memory)."""
        self.aliasing.add(self.node)
        return y

    def inplace(self, flag: bool) -> None:
        """An in-place op is exported as a pure one, which is only right when
        nothing else reads the tensor it modifies (through views included)."""
        if not flag:
            return
        self.aliasing.add(self.node)
        n = self.node.all_input_nodes[0]
        while True:
            if len(n.users) != 1 or n.op == "get_attr":
                raise self.bad("inplace", True, f": it modifies {n.name!r}, which is also read elsewhere")
            if n not in self.aliasing:
                return
            n = n.all_input_nodes[0]

    # ------------------------------------------------------------ convert

    def convert(self, node: torch.fx.Node) -> Any:
        if node.op == "placeholder":
            return _V("input", tuple(node.meta["tensor_meta"].shape))
        if node.op == "get_attr":
            return _attr(self.gm, node.target)  # a tensor becomes a constant where it is used
        names, defaults, fn, mod = self.handler(node)
        a = self.bind(node, names, defaults)
        if mod is not None:
            a.update(_MODULES[type(mod)][1](mod))
        y = fn(self, a)
        if isinstance(y, str):
            meta = node.meta.get("tensor_meta")
            if getattr(meta, "dtype", None) != self.dtype:
                raise self.fail(f"{self.what} computing {getattr(meta, 'dtype', type(meta).__name__)}",
                                f" (the model computes in {self.dtype})")
            return _V(y, tuple(meta.shape))
        if isinstance(y, _V):  # returned its input: torch returns the same tensor
            self.aliasing.add(node)
        return y

    def run(self) -> dict[str, str]:
        """Converts every node; returns the public outputs."""
        for node in self.gm.graph.nodes:
            if node.op != "output":
                self.env[node] = self.convert(node)
                continue
            self.node, self.what = node, "return"
            out = torch.fx.node.map_arg(node.args[0], self.env.__getitem__)
            if isinstance(out, _V):
                return {"output": out.name}
            if isinstance(out, (tuple, list)) and out and all(isinstance(v, _V) for v in out):
                return {f"output_{i}": v.name for i, v in enumerate(out)}
            raise self.fail(f"return of {type(out).__name__}", ": forward() must return a tensor or a tuple of tensors")
        raise AssertionError("an fx graph always ends with an output node")


def _attr(gm: torch.fx.GraphModule, target: str) -> Any:
    obj: Any = gm
    for part in target.split("."):
        obj = getattr(obj, part)
    return obj


def _function_name(f: Any) -> str:
    name = getattr(f, "__name__", repr(f))
    for prefix, ns in (("torch", torch), ("torch.nn.functional", F), ("operator", operator)):
        if getattr(ns, name, None) is f:
            return f"{prefix}.{name}"
    return f"{getattr(f, '__module__', None) or '?'}.{getattr(f, '__qualname__', name)}"


# --------------------------------------------------------------- handlers

def _identity(cv: _Converter, a: dict) -> _V:
    return cv.input(a)


def _linear(cv: _Converter, a: dict) -> str:
    x, w = cv.input(a), cv.weights(a["weight"], "weight")
    b = [] if a["bias"] is None else [cv.g.const(cv.weights(a["bias"], "bias"), "bias")]
    if x.rank == 2:
        return cv.g.op("Gemm", x.name, cv.g.const(w, "weight"), *b, transB=1, hint="linear")
    # Gemm is 2-D only; MatMul broadcasts over leading dims like torch.
    y = cv.g.op("MatMul", x.name, cv.g.const(w.T, "weight_t"), hint="linear")
    return cv.g.op("Add", y, b[0]) if b else y


def _unary(op: str) -> _Handler:
    def fn(cv: _Converter, a: dict) -> str:
        cv.inplace(a.get("inplace", False))
        return cv.g.op(op, cv.input(a).name)
    return fn


def _leaky_relu(cv: _Converter, a: dict) -> str:
    cv.inplace(a["inplace"])
    return cv.g.op("LeakyRelu", cv.input(a).name, alpha=float(a["negative_slope"]))


def _gelu(cv: _Converter, a: dict) -> str:
    if a["approximate"] not in ("none", "tanh"):
        raise cv.bad("approximate", a["approximate"])
    return cv.g.op("Gelu", cv.input(a).name, approximate=a["approximate"])


def _softmax(op: str) -> _Handler:
    def fn(cv: _Converter, a: dict) -> str:
        x = cv.input(a)
        if a.get("dtype") is not None:
            raise cv.bad("dtype", a["dtype"])
        return cv.g.op(op, x.name, axis=cv.axis(a["dim"], x.rank))
    return fn


def _layer_norm(cv: _Converter, a: dict) -> str:
    x = cv.input(a)
    shape = tuple(int(d) for d in a["normalized_shape"])
    # Normalizing over the batch dimension would tie results to the batch size.
    if not 0 < len(shape) < x.rank or x.shape[-len(shape):] != shape:
        raise cv.bad("normalized_shape", shape)
    scale = a["weight"] if a["weight"] is not None else torch.ones(shape)
    ins = [x.name, cv.g.const(cv.weights(scale, "weight"), "ln_scale")]
    if a["bias"] is not None:
        ins.append(cv.g.const(cv.weights(a["bias"], "bias"), "ln_bias"))
    return cv.g.op("LayerNormalization", *ins, axis=x.rank - len(shape), epsilon=float(a["eps"]))


def _dropout(cv: _Converter, a: dict) -> _V:
    if a["training"] and a["p"] > 0:
        raise cv.bad("training", True, ": random dropout cannot be exported; pass training=self.training")
    return cv.input(a)


def _flatten(cv: _Converter, a: dict) -> Any:
    x = cv.input(a)
    start, end = cv.axis(a["start_dim"], x.rank, "start_dim"), cv.axis(a["end_dim"], x.rank, "end_dim")
    if start == end:
        return x
    if start == 0 or start > end:
        raise cv.bad("start_dim", a["start_dim"], ": dimension 0 is the batch and must stay (use start_dim=1)")
    if start == 1 and end == x.rank - 1:
        return cv.view(cv.g.op("Flatten", x.name, axis=1))
    # 0 keeps the leading dims (batch included); the merged size is spelled out
    # rather than -1, which would be ambiguous for a batch of 0 rows.
    shape = [0] * start + [math.prod(x.shape[start:end + 1])] + list(x.shape[end + 1:])
    return cv.view(cv.g.op("Reshape", x.name, cv.g.const(shape, "shape", np.int64)))


def _reshape(cv: _Converter, a: dict) -> str:
    x, shape = cv.input(a), a["shape"]
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])  # x.view((n, -1)) and torch.reshape(x, shape)
    out = cv.out_shape()
    keeps_batch = bool(shape) and (shape[0] is BATCH or shape[0] == -1) and out[0] == x.shape[0]
    if not keeps_batch or any(d is BATCH for d in shape[1:]):
        raise cv.fail(f"{cv.what}{tuple(shape)!r}", ": the first dimension must stay the batch (-1 or x.size(0))")
    # The other sizes are static; the probe run resolved any -1 among them.
    return cv.view(cv.g.op("Reshape", x.name, cv.g.const([0, *out[1:]], "shape", np.int64)))


def _size(cv: _Converter, a: dict) -> Any:
    x = cv.input(a)
    dims = (BATCH, *x.shape[1:])
    return dims if a["dim"] is None else dims[cv.axis(a["dim"], x.rank)]


def _getattr(cv: _Converter, a: dict) -> Any:
    if a["name"] != "shape" or not isinstance(a["obj"], _V):
        raise cv.fail(f"getattr(..., {a['name']!r})")
    return (BATCH, *a["obj"].shape[1:])


def _getitem(cv: _Converter, a: dict) -> Any:
    if not isinstance(a["obj"], (tuple, list)):
        raise cv.fail("tensor indexing (x[...])")  # only size tuples may be indexed
    return a["obj"][a["index"]]


_PY_OPS = {"Add": operator.add, "Sub": operator.sub, "Mul": operator.mul, "Div": operator.truediv}


def _binary(op: str) -> _Handler:
    def fn(cv: _Converter, a: dict) -> Any:
        x, y = a["input"], a["other"]
        if a.get("alpha", 1) != 1:
            raise cv.bad("alpha", a["alpha"])
        if a.get("rounding_mode") is not None:
            raise cv.bad("rounding_mode", a["rounding_mode"])
        if not any(isinstance(v, (_V, torch.Tensor)) for v in (x, y)):
            # Arithmetic on sizes (x.size(1) * 2) is folded here; the batch size is not known.
            if any(v is BATCH for v in (x, y)) or not all(isinstance(v, (int, float)) for v in (x, y)):
                raise cv.fail(f"{cv.what}({x!r}, {y!r})")
            return _PY_OPS[op](x, y)
        return cv.g.op(op, cv.tensor(x), cv.tensor(y))
    return fn


def _cat(cv: _Converter, a: dict) -> str:
    tensors = a["tensors"]
    if not isinstance(tensors, (tuple, list)) or not tensors:
        raise cv.bad("tensors", tensors)
    axis = cv.axis(a["dim"], len(cv.out_shape()))
    return cv.g.op("Concat", *[cv.tensor(t) for t in tensors], axis=axis)


# Arguments: names in torch's order, then defaults. Only what is bound here can
# be passed; every value is checked or mapped by the handler.
_X = ("input",)
_INPLACE = (("input", "inplace"), {"inplace": False})
_SOFTMAX_F = (("input", "dim", "_stacklevel", "dtype"), {"dim": None, "_stacklevel": 3, "dtype": None})
_SOFTMAX = (("input", "dim", "dtype"), {"dtype": None})
_BIN = (("input", "other"), {})
_BIN_ALPHA = (("input", "other", "alpha"), {"alpha": 1})
_DIV = (("input", "other", "rounding_mode"), {"rounding_mode": None})
_FLATTEN = (("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1})

_FUNCTIONS: dict[Any, tuple[tuple[str, ...], dict, _Handler]] = {
    F.linear: (("input", "weight", "bias"), {"bias": None}, _linear),
    torch.relu: (_X, {}, _unary("Relu")),
    F.relu: (*_INPLACE, _unary("Relu")),
    torch.sigmoid: (_X, {}, _unary("Sigmoid")),
    F.sigmoid: (_X, {}, _unary("Sigmoid")),
    torch.tanh: (_X, {}, _unary("Tanh")),
    F.tanh: (_X, {}, _unary("Tanh")),
    F.gelu: (("input", "approximate"), {"approximate": "none"}, _gelu),
    F.leaky_relu: (("input", "negative_slope", "inplace"), {"negative_slope": 0.01, "inplace": False}, _leaky_relu),
    F.softmax: (*_SOFTMAX_F, _softmax("Softmax")),
    F.log_softmax: (*_SOFTMAX_F, _softmax("LogSoftmax")),
    torch.softmax: (*_SOFTMAX, _softmax("Softmax")),
    torch.log_softmax: (*_SOFTMAX, _softmax("LogSoftmax")),
    F.layer_norm: (("input", "normalized_shape", "weight", "bias", "eps"),
                   {"weight": None, "bias": None, "eps": 1e-5}, _layer_norm),
    F.dropout: (("input", "p", "training", "inplace"), {"p": 0.5, "training": True, "inplace": False}, _dropout),
    torch.flatten: (*_FLATTEN, _flatten),
    torch.reshape: (("input", "shape"), {}, _reshape),
    getattr: (("obj", "name"), {}, _getattr),
    operator.getitem: (("obj", "index"), {}, _getitem),
    operator.add: (*_BIN, _binary("Add")),
    operator.sub: (*_BIN, _binary("Sub")),
    operator.mul: (*_BIN, _binary("Mul")),
    operator.truediv: (*_BIN, _binary("Div")),
    torch.add: (*_BIN_ALPHA, _binary("Add")),
    torch.sub: (*_BIN_ALPHA, _binary("Sub")),
    torch.mul: (*_BIN, _binary("Mul")),
    torch.div: (*_DIV, _binary("Div")),
    torch.true_divide: (*_BIN, _binary("Div")),
    torch.cat: (("tensors", "dim"), {"dim": 0}, _cat),
    torch.concat: (("tensors", "dim"), {"dim": 0}, _cat),
}

_METHODS: dict[str, tuple[tuple[str, ...], dict, _Handler]] = {
    "relu": (_X, {}, _unary("Relu")),
    "sigmoid": (_X, {}, _unary("Sigmoid")),
    "tanh": (_X, {}, _unary("Tanh")),
    "softmax": (*_SOFTMAX, _softmax("Softmax")),
    "log_softmax": (*_SOFTMAX, _softmax("LogSoftmax")),
    "flatten": (*_FLATTEN, _flatten),
    "view": (("input", "*shape"), {}, _reshape),
    "reshape": (("input", "*shape"), {}, _reshape),
    "size": (("input", "dim"), {"dim": None}, _size),
    "add": (*_BIN_ALPHA, _binary("Add")),
    "sub": (*_BIN_ALPHA, _binary("Sub")),
    "mul": (*_BIN, _binary("Mul")),
    "div": (*_DIV, _binary("Div")),
}

# Module type -> (handler, the module's attributes as the handler's arguments).
_MODULES: dict[type, tuple[_Handler, Callable[[Any], dict]]] = {
    nn.Linear: (_linear, lambda m: {"weight": m.weight, "bias": m.bias}),
    nn.ReLU: (_unary("Relu"), lambda m: {"inplace": m.inplace}),
    nn.LeakyReLU: (_leaky_relu, lambda m: {"negative_slope": m.negative_slope, "inplace": m.inplace}),
    nn.GELU: (_gelu, lambda m: {"approximate": m.approximate}),
    nn.Sigmoid: (_unary("Sigmoid"), lambda m: {}),
    nn.Tanh: (_unary("Tanh"), lambda m: {}),
    nn.Softmax: (_softmax("Softmax"), lambda m: {"dim": m.dim}),
    nn.LogSoftmax: (_softmax("LogSoftmax"), lambda m: {"dim": m.dim}),
    nn.LayerNorm: (_layer_norm, lambda m: {"normalized_shape": m.normalized_shape, "weight": m.weight,
                                           "bias": m.bias, "eps": m.eps}),
    nn.Dropout: (_dropout, lambda m: {"p": m.p, "training": False}),  # eval semantics
    nn.Flatten: (_flatten, lambda m: {"start_dim": m.start_dim, "end_dim": m.end_dim}),
    nn.Identity: (_identity, lambda m: {}),
}

# ----------------------------------------------------------------- export


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


def _input_shape(gm: torch.fx.GraphModule, example_input: Any, name: str) -> list[int]:
    """[-1, *features]: from example_input when given (exact), else from the
    first nn.Linear's in_features."""
    if example_input is not None:
        shape = tuple(int(d) for d in np.shape(example_input))
        if len(shape) < 1:
            raise _unsupported(f"example_input for {name} must be a batch (an array with a leading batch dimension)")
        return [-1, *shape[1:]]
    for node in gm.graph.nodes:
        if node.op == "call_module" and type(gm.get_submodule(node.target)) is nn.Linear:
            return [-1, gm.get_submodule(node.target).in_features]
        w = node.args[1] if node.target is F.linear and len(node.args) > 1 else None
        if isinstance(w, torch.fx.Node) and w.op == "get_attr":  # a Linear subclass, traced through
            w = _attr(gm, w.target)
            if isinstance(w, torch.Tensor) and w.dim() == 2:
                return [-1, int(w.shape[1])]
    raise _unsupported(f"cannot tell the input shape of {name}, which does not start with nn.Linear: "
                       "pass example_input (a batch shaped like the model's input)")


def _flat(out: Any) -> list[Any]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


def export(module: Any, dtype: Any = np.float32, example_input: Any = None) -> tuple[Graph, Head, dict]:
    """Converts a torch.nn.Module into a Graph, its Head and the metadata."""
    name = type(module).__name__
    g = Graph(_np_dtype(dtype))
    modes = {m: m.training for m in module.modules()}
    module.eval()  # trace what inference computes: Dropout off, self.training False
    try:
        try:
            gm = torch.fx.symbolic_trace(module)
        except Exception as e:
            raise _unsupported(f"torch.fx cannot trace {name}: {e}") from e
        inputs = [n for n in gm.graph.nodes if n.op == "placeholder"]
        if len(inputs) != 1:
            raise _unsupported(f"{name}.forward() takes {len(inputs)} inputs ({', '.join(n.name for n in inputs)}); "
                               "mle_runtime exports modules with exactly one tensor input")
        cv = _Converter(gm, g, torch.float32)  # dtype set below, from the parameters
        for node in gm.graph.nodes:  # reject unknown ops before running anything
            if node.op.startswith("call_"):
                cv.handler(node)

        shape = _input_shape(gm, example_input, name)
        params = [t for t in (*module.parameters(), *module.buffers()) if t.is_floating_point()]
        if len({t.dtype for t in params}) > 1:
            raise _unsupported(f"{name} mixes parameter dtypes {sorted({str(t.dtype) for t in params})}: "
                               "convert it with .float() or .double() first")
        cv.dtype = params[0].dtype if params else _DTYPES[g.dtype]
        device = params[0].device if params else torch.device("cpu")
        gen = torch.Generator().manual_seed(0)  # a fixed probe, leaving the global RNG alone
        probe = torch.randn((_PROBE_ROWS, *shape[1:]), generator=gen, dtype=torch.float64).to(device, cv.dtype)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the probe is ours; torch's warnings about it would mislead
            try:
                traced = ShapeProp(gm).propagate(probe.clone())
            except Exception as e:
                hint = "" if example_input is not None else \
                    "; the shape was guessed from the first nn.Linear: pass example_input"
                cause = e.__cause__ or e  # ShapeProp wraps the error in a long dump of the node
                raise _unsupported(f"running {name} on a probe batch of shape {list(probe.shape)} failed "
                                   f"({type(cause).__name__}: {cause}){hint}") from e
            outputs = cv.run()
            # fx records calls, not Python semantics: a data-dependent branch or
            # an in-place update through an alias would make the trace differ.
            eager = module(probe.clone())
        t_out, e_out = _flat(traced), _flat(eager)
        if len(t_out) != len(e_out) or not all(
                isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.shape == b.shape
                and torch.allclose(a, b, rtol=1e-5, atol=1e-6, equal_nan=True) for a, b in zip(t_out, e_out)):
            raise _unsupported(f"the torch.fx trace of {name} does not reproduce its forward() "
                               "(data-dependent control flow or in-place updates?)")
    finally:
        for m, training in modes.items():
            m.training = training
    g.inputs = [("input", g.dtype, shape)]
    head = Head("torch", outputs, {})
    info = {
        "meta": {"producer": {"name": "pytorch", "version": torch.__version__}, "name": name},
        "properties": {"mle.task": "torch", "mle.methods": json.dumps(head.methods), "mle.torch_module": name},
    }
    return g, head, info
