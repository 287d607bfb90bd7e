"""ATen ops of a functionalized torch.export program -> .mle ops.

Values while converting:
- ``T``: a tensor of the graph (its name, torch dtype and shape, whose dims
  are ints or torch.SymInt);
- ``P``: a parameter, buffer or constant of the program, materialized as a
  stored tensor where it is used (converters that need the numbers — conv
  and linear weights, norm statistics, LSTM weights — read them directly);
- ``S``: a size known only at run time, held as an int64 [1] tensor computed
  from the inputs' shapes (the engine evaluates it when it plans a run);
- plain Python numbers, lists, None, and tuples for multi-output ops.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from .._errors import MLEUnsupportedError
from .._graph import Graph

aten = torch.ops.aten
_I64_MAX = 2**63 - 1


def unsupported(message: str) -> MLEUnsupportedError:
    return MLEUnsupportedError(message, 8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")


@dataclass(frozen=True)
class T:
    name: str
    dtype: torch.dtype
    shape: tuple

    @property
    def rank(self) -> int:
        return len(self.shape)


class P:
    """A parameter, buffer or constant: its numbers for converters that
    need them, and a stored tensor (made on first use) where it is data."""

    def __init__(self, tensor: torch.Tensor, what: str, cv: "Converter") -> None:
        self.tensor, self.what, self._cv = tensor, what, cv

    @property
    def name(self) -> str:
        return self._cv.tensor(self)

    @property
    def dtype(self) -> torch.dtype:
        return self.tensor.dtype

    @property
    def shape(self) -> tuple:
        return tuple(int(d) for d in self.tensor.shape)

    @property
    def rank(self) -> int:
        return self.tensor.dim()


@dataclass(frozen=True)
class S:
    name: str  # int64 [1]
    expr: Any  # sympy expression, to recognize a dim that stays


_NP = {torch.float32: np.float32, torch.float64: np.float64, torch.int64: np.int64, torch.int32: np.int32,
       torch.bool: np.bool_}


class Converter:
    def __init__(self, ep: torch.export.ExportedProgram, g: Graph, fdtype: torch.dtype, model: str) -> None:
        self.ep, self.g, self.fdtype, self.model = ep, g, fdtype, model
        self.env: dict[torch.fx.Node, Any] = {}
        self.node: torch.fx.Node | None = None
        self.dims: dict[tuple[str, int], S] = {}
        self.consts: dict[int, str] = {}
        self.zeros: set[str] = set()  # values known to be all zeros (initial RNN states)

    # ------------------------------------------------------------ errors

    def where(self) -> str:
        n = self.node
        stack = n.meta.get("nn_module_stack") or {}
        if stack:
            path, cls = list(stack.values())[-1]
            cls = getattr(cls, "__qualname__", None) or str(cls).rsplit(".", 1)[-1]
            mod = f", in module {path!r} ({cls})" if path else f", in {cls}"
        else:
            mod = ""
        return f"node {n.name!r}{mod}"

    def fail(self, what: str, hint: str = "") -> MLEUnsupportedError:
        return unsupported(f"torch op {what} ({self.where()}) is not supported by mle_runtime's PyTorch exporter{hint}")

    def op_name(self) -> str:
        t = self.node.target
        if isinstance(t, torch._ops.OpOverload):
            return f"aten.{t._schema.name.split('::')[-1]}" + (f".{t._overloadname}" if t._overloadname != "default" else "")
        return getattr(t, "__name__", str(t))

    def bad(self, arg: str, value: Any, hint: str = "") -> MLEUnsupportedError:
        return self.fail(f"{self.op_name()}({arg}={value!r})", hint)

    # ------------------------------------------------------------ setup

    def check_supported(self) -> None:
        """Refuses the first op without a converter before converting anything."""
        for node in self.ep.graph.nodes:
            if node.op == "call_function" and _lookup(node.target) is None:
                self.node = node
                raise self.fail(self.op_name())

    def bind_inputs(self, names: list[str]) -> list[tuple[str, np.dtype, list[int]]]:
        sig = self.ep.graph_signature
        kinds = torch.export.graph_signature.InputKind
        specs = {s.arg.name: s for s in sig.input_specs}
        state = {**self.ep.state_dict, **self.ep.constants}
        inputs, k = [], 0
        for node in self.ep.graph.nodes:
            if node.op != "placeholder":
                continue
            spec = specs[node.name]
            if spec.kind == kinds.USER_INPUT:
                val = node.meta["val"]
                if val.dtype not in _NP or (val.is_floating_point() and val.dtype != self.fdtype):
                    self.node = node
                    raise self.fail(f"input {node.name} of dtype {val.dtype}")
                name = self.g.reserve(names[k])
                k += 1
                dt = np.dtype(_NP[val.dtype]) if not val.is_floating_point() else self.g.dtype
                shape = tuple(_static(d) for d in val.shape)
                inputs.append((name, dt, [-1 if isinstance(d, torch.SymInt) else d for d in shape]))
                self.env[node] = T(name, val.dtype, shape)
            else:
                t = state.get(spec.target)
                if t is None:
                    self.node = node
                    raise self.fail(f"{spec.kind.name.lower()} {spec.target}")
                self.env[node] = P(t.detach(), spec.target, self)
        return inputs

    # ------------------------------------------------------------ values

    def tensor(self, v: Any, dtype: torch.dtype | None = None) -> str:
        """An operand as a graph name: tensors as they are; parameters and
        numbers as constants (numbers in dtype, else the model's)."""
        if isinstance(v, T):
            return v.name
        if isinstance(v, S):
            return v.name
        if isinstance(v, P):
            key = id(v.tensor)
            if key not in self.consts:
                t = v.tensor
                if t.is_floating_point():
                    self.consts[key] = self.g.const(t.to(torch.float64).numpy(), "param")
                else:
                    self.consts[key] = self.g.const(t.numpy(), "param", _NP[t.dtype])
            return self.consts[key]
        if isinstance(v, (bool, int, float)):
            dt = dtype or self.fdtype
            if dt.is_floating_point:
                return self.g.const(float(v), "scalar")
            return self.g.const(v, "scalar", _NP[dt])
        raise self.fail(f"{self.op_name()} on {type(v).__name__} {v!r}")

    def scalar(self, v: Any, dtype: Any) -> str:
        """A rank-0 constant (Graph.const stores rank >= 1)."""
        name = self.g.fresh("scalar")
        self.g.consts[name] = np.array(v, dtype=dtype)
        return name

    def numbers(self, v: Any, arg: str) -> np.ndarray:
        """A parameter's values as float64 numpy."""
        if v is None:
            return None
        if not isinstance(v, P):
            raise self.bad(arg, "<computed>", " (only stored parameters are supported here)")
        return v.tensor.to(torch.float64).numpy()

    def dtype_of(self, v: Any) -> torch.dtype:
        if isinstance(v, (T, P)):
            return v.dtype
        if isinstance(v, S):
            return torch.int64
        if isinstance(v, bool):
            return torch.bool
        if isinstance(v, int):
            return torch.int64
        return self.fdtype

    def shape_of(self, v: Any) -> tuple:
        return v.shape if isinstance(v, (T, P)) else ()

    def cast(self, v: Any, dtype: torch.dtype) -> str:
        if not isinstance(v, (T, P)):
            return self.tensor(v, dtype)
        if self.dtype_of(v) == dtype:
            return self.tensor(v)
        return self.g.op("Cast", self.tensor(v), to=_mle_dtype(self.g, dtype))

    def dim(self, x: T, i: int) -> int | S:
        d = x.shape[i]
        if isinstance(d, int):
            return d
        key = (x.name, i)
        if key not in self.dims:
            self.dims[key] = S(self.g.op("Shape", x.name, start=i, end=i + 1, hint="dim"), d.node.expr)
        return self.dims[key]

    def sym(self, d: Any) -> int | S:
        """A size as an int or S (from an int, an S or a SymInt of a shape)."""
        if isinstance(d, (int, S)):
            return d
        if isinstance(d, torch.SymInt):
            hint = d.node.maybe_as_int()
            if hint is not None:
                return int(hint)
            for key, s in self.dims.items():
                if s.expr == d.node.expr:
                    return s
            return self.expr(d.node.expr, d)
        raise self.fail(f"{self.op_name()} with the size {d!r}", ": it is not computed from an input's shape")

    def expr(self, e: Any, d: Any) -> int | S:
        """A sympy size expression over the inputs' symbolic dims, as graph
        ops: Integer, Symbol, Add, Mul and FloorDiv."""
        import sympy

        from torch.utils._sympy.functions import FloorDiv

        for v in self.env.values():  # a dim some tensor carries
            if isinstance(v, T):
                for i, x in enumerate(v.shape):
                    if isinstance(x, torch.SymInt) and x.node.expr == e:
                        return self.dim(v, i)
        if isinstance(e, sympy.Integer):
            return int(e)
        if isinstance(e, (sympy.Add, sympy.Mul, FloorDiv)):
            op = "Add" if isinstance(e, sympy.Add) else "Mul" if isinstance(e, sympy.Mul) else "Div"
            parts = [self.expr(a, d) for a in e.args]
            acc = parts[0]
            for p in parts[1:]:
                if isinstance(acc, int) and isinstance(p, int):
                    acc = {"Add": acc + p, "Mul": acc * p, "Div": acc // p if p else 0}[op]
                    continue
                ins = [self.g.const(np.array([v], np.int64), "size", np.int64) if isinstance(v, int) else v.name
                       for v in (acc, p)]
                acc = S(self.g.op(op, *ins, hint="size"), None)
            return acc
        raise self.fail(f"{self.op_name()} with the size {d!r}", ": it is not computed from an input's shape")

    def shape_tensor(self, dims: list) -> str:
        """An int64 [n] tensor from ints and S."""
        dims = [self.sym(d) for d in dims]
        if all(isinstance(d, int) for d in dims):
            return self.g.const(np.array(dims, dtype=np.int64), "shape", np.int64)
        parts, run = [], []
        for d in dims:
            if isinstance(d, int):
                run.append(d)
                continue
            if run:
                parts.append(self.g.const(np.array(run, dtype=np.int64), "shape", np.int64))
                run = []
            parts.append(d.name)
        if run:
            parts.append(self.g.const(np.array(run, dtype=np.int64), "shape", np.int64))
        return parts[0] if len(parts) == 1 else self.g.op("Concat", *parts, axis=0, hint="shape")

    def axis(self, d: Any, rank: int, arg: str = "dim") -> int:
        if not isinstance(d, int) or isinstance(d, bool) or not -max(rank, 1) <= d < max(rank, 1):
            raise self.bad(arg, d)
        return d % max(rank, 1)

    def out_meta(self) -> Any:
        return self.node.meta.get("val")

    # ------------------------------------------------------------ run

    def run(self) -> list[str]:
        outputs = None
        for node in self.ep.graph.nodes:
            self.node = node
            if node.op == "placeholder":
                continue
            if node.op == "output":
                outputs = node.args[0]
                break
            fn, schema = _lookup(node.target)
            a = self.bind(node, schema)
            self.env[node] = self.wrap(fn(self, a))
        flat = []
        for o in _flatten(torch.fx.node.map_arg(outputs, self.env.__getitem__)):
            if not isinstance(o, (T, P)):
                raise self.fail(f"return of {type(o).__name__} {o!r}", ": forward() must return tensors")
            flat.append(self.tensor(o))
        return flat

    def bind(self, node: torch.fx.Node, schema: Any) -> dict:
        args = torch.fx.node.map_arg(node.args, self.env.__getitem__)
        kwargs = torch.fx.node.map_arg(node.kwargs, self.env.__getitem__)
        if schema is None:  # a Python builtin on sizes
            return {"args": args}
        bound = {}
        for i, spec in enumerate(schema.arguments):
            if i < len(args):
                bound[spec.name] = args[i]
            elif spec.name in kwargs:
                bound[spec.name] = kwargs[spec.name]
            elif spec.has_default_value():
                bound[spec.name] = spec.default_value
            elif spec.kwarg_only:
                bound[spec.name] = None
            else:
                raise self.fail(f"{self.op_name()} without {spec.name}")
        return bound

    def wrap(self, y: Any) -> Any:
        """A converter's result as an env value, typed from the node's meta."""
        meta = self.out_meta()
        if isinstance(y, str):
            if not isinstance(meta, torch.Tensor):
                raise self.fail(f"{self.op_name()} result {type(meta).__name__}")
            if meta.dtype not in _NP:
                raise self.fail(f"{self.op_name()} computing {meta.dtype}")
            return T(y, meta.dtype, _shape(meta))
        if isinstance(y, tuple) and isinstance(meta, (tuple, list)):
            return tuple(T(v, m.dtype, _shape(m)) if isinstance(v, str) else v for v, m in zip(y, meta))
        return y

    # ------------------------------------------------------------ helpers for converters

    def op(self, op: str, *inputs: str, **attrs: Any) -> str:
        return self.g.op(op, *inputs, node_name=self.node.name, **attrs)

    def reshape(self, x: T, out_shape: tuple, target: list | None = None, like: T | None = None) -> str:
        """Reshape x to out_shape (ints and SymInts): dims that stay where
        they were are 0, one unknown is -1, else the sizes are computed.
        like: a tensor whose dims x's stand for (x's own shape unknown)."""
        spec: list[Any] = []
        unknown = []
        ref = like.shape if like is not None else x.shape
        copy = like is None  # 0 copies x's own dim, which only it has
        for i, d in enumerate(out_shape):
            if isinstance(d, int) or (isinstance(d, torch.SymInt) and d.node.maybe_as_int() is not None):
                spec.append(int(d))
            elif copy and i < len(ref) and isinstance(ref[i], torch.SymInt) and ref[i].node.expr == d.node.expr:
                spec.append(0)
            else:
                spec.append(d)
                unknown.append(i)
        literal_zero = any(isinstance(d, int) and d == 0 for i, d in enumerate(out_shape)
                           if isinstance(d, int))
        if literal_zero:
            return self.op("Reshape", x.name, self.shape_tensor(list(out_shape)), allowzero=1)
        # -1 is inferred as count / (product of the others): ambiguous when a
        # copied (0) dim is 0 at run time, so only with static others.
        if len(unknown) == 1 and 0 not in spec:
            spec[unknown[0]] = -1
        if all(isinstance(d, int) for d in spec):
            return self.op("Reshape", x.name, self.g.const(np.array(spec, np.int64), "shape", np.int64))
        dims = []
        for i, d in enumerate(out_shape):
            if isinstance(d, torch.SymInt) and d.node.maybe_as_int() is None:
                t = target[i] if target is not None and i < len(target) else None
                dims.append(t if isinstance(t, S) else d)
            else:
                dims.append(int(d))
        # allowzero: a computed size of 0 (an empty batch) is that, not "copy".
        return self.op("Reshape", x.name, self.shape_tensor(dims), allowzero=1)


def _static(d: Any) -> Any:
    """A dim as an int when torch knows its value, else the SymInt."""
    if isinstance(d, torch.SymInt):
        v = d.node.maybe_as_int()
        return d if v is None else int(v)
    return int(d)


def _shape(meta: Any) -> tuple:
    return tuple(_static(d) for d in meta.shape)


def _flatten(v: Any) -> list:
    if isinstance(v, (tuple, list)):
        return [y for e in v for y in _flatten(e)]
    return [v]


def _mle_dtype(g: Graph, dt: torch.dtype) -> int:
    """The MLE dtype id of a torch dtype; floats take the graph's."""
    from .._builder import dtype_id

    return dtype_id(g.dtype if dt.is_floating_point else _NP[dt])


# ------------------------------------------------------------------ registry

_Converter = Callable[[Converter, dict], Any]
_TABLE: dict[Any, _Converter] = {}


def _reg(*ops: Any) -> Callable[[_Converter], _Converter]:
    def deco(fn: _Converter) -> _Converter:
        for op in ops:
            _TABLE[op] = fn
        return fn
    return deco


def _lookup(target: Any) -> tuple[_Converter, Any] | None:
    fn = _TABLE.get(target)
    if fn is None:
        return None
    return fn, getattr(target, "_schema", None)


def supported_ops() -> list[str]:
    """The ATen ops (and Python size arithmetic) the exporter converts."""
    out = []
    for t in _TABLE:
        if isinstance(t, torch._ops.OpOverload):
            out.append(f"aten.{t._schema.name.split('::')[-1]}.{t._overloadname}")
        else:
            out.append(f"operator.{t.__name__}")
    return sorted(out)


# ------------------------------------------------------------------ sizes

@_reg(aten.sym_size.int)
def _sym_size(cv: Converter, a: dict) -> Any:
    x = a["self"]
    return cv.dim(x, cv.axis(a["dim"], x.rank))


def _size_arith(op: str, py: Callable[[int, int], int]) -> _Converter:
    def fn(cv: Converter, a: dict) -> Any:
        x, y = a["args"]
        x, y = cv.sym(x) if not isinstance(x, int) else x, cv.sym(y) if not isinstance(y, int) else y
        if isinstance(x, int) and isinstance(y, int):
            return py(x, y)
        if op == "Div" and any(isinstance(v, int) and v <= 0 for v in (x, y)):
            raise cv.fail(f"floor division of sizes by {y!r}")
        one = [cv.g.const(np.array([v], np.int64), "size", np.int64) if isinstance(v, int) else v.name for v in (x, y)]
        name = cv.op(op, *one)
        return S(name, cv.out_meta().node.expr)
    return fn


for _op, _name, _py in ((operator.mul, "Mul", operator.mul), (operator.add, "Add", operator.add),
                        (operator.sub, "Sub", operator.sub), (operator.floordiv, "Div", operator.floordiv)):
    _TABLE[_op] = _size_arith(_name, _py)


# ------------------------------------------------------------------ views and shapes

@_reg(aten.view.default, aten.reshape.default, aten._unsafe_view.default)
def _view(cv: Converter, a: dict) -> str:
    x = a["self"]
    return cv.reshape(x, _shape(cv.out_meta()), [cv.sym(d) if not isinstance(d, int) else d for d in a["size"]])


@_reg(aten.flatten.using_ints, aten.unflatten.int)
def _flatten_op(cv: Converter, a: dict) -> Any:
    x = a["self"]
    out = _shape(cv.out_meta())
    if out == x.shape:
        return x
    if x.rank >= 2 and len(out) == 2 and cv.node.target == aten.flatten.using_ints \
            and cv.axis(a["start_dim"], x.rank) == 1 and cv.axis(a["end_dim"], x.rank) == x.rank - 1:
        return cv.op("Flatten", x.name, axis=1)
    return cv.reshape(x, out)


@_reg(aten.squeeze.dim, aten.squeeze.dims, aten.squeeze.default, aten.unsqueeze.default)
def _squeeze(cv: Converter, a: dict) -> Any:
    x = a["self"]
    out = _shape(cv.out_meta())
    if out == x.shape:
        return x
    if cv.node.target == aten.unsqueeze.default:
        axis = cv.axis(a["dim"], x.rank + 1)
        return cv.op("Unsqueeze", x.name, cv.g.const(np.array([axis], np.int64), "axes", np.int64))
    if cv.node.target == aten.squeeze.default:
        axes = [i for i, d in enumerate(x.shape) if isinstance(d, int) and d == 1]
    else:
        dims = a["dim"] if isinstance(a["dim"], (list, tuple)) else [a["dim"]]
        axes = [cv.axis(d, x.rank) for d in dims]
        axes = [i for i in axes if isinstance(x.shape[i], int) and x.shape[i] == 1]
    return cv.op("Squeeze", x.name, cv.g.const(np.array(sorted(axes), np.int64), "axes", np.int64))


@_reg(aten.permute.default)
def _permute(cv: Converter, a: dict) -> Any:
    x = a["self"]
    perm = [cv.axis(d, x.rank) for d in a["dims"]]
    return x if perm == list(range(x.rank)) else cv.op("Transpose", x.name, perm=perm)


@_reg(aten.transpose.int)
def _transpose(cv: Converter, a: dict) -> Any:
    x = a["self"]
    i, j = cv.axis(a["dim0"], x.rank), cv.axis(a["dim1"], x.rank)
    if i == j:
        return x
    perm = list(range(x.rank))
    perm[i], perm[j] = perm[j], perm[i]
    return cv.op("Transpose", x.name, perm=perm)


@_reg(aten.t.default, aten.numpy_T.default)
def _t(cv: Converter, a: dict) -> Any:
    x = a["self"]
    return x if x.rank < 2 else cv.op("Transpose", x.name, perm=list(range(x.rank))[::-1])


@_reg(aten.contiguous.default, aten.clone.default, aten.alias.default, aten.detach.default,
      aten.lift_fresh_copy.default, aten.dropout.default, aten.feature_dropout.default,
      aten.alpha_dropout.default, aten.lift_fresh.default)
def _identity(cv: Converter, a: dict) -> Any:
    if a.get("train"):
        raise cv.bad("train", True, ": random dropout cannot be exported")
    x = a.get("self", a.get("input"))
    return x


@_reg(aten.native_dropout.default)
def _native_dropout(cv: Converter, a: dict) -> tuple:
    if a["train"] is not False and a["p"] > 0:
        raise cv.bad("train", True, ": random dropout cannot be exported (call it with training=self.training)")
    return (a["input"], None)


@_reg(aten._assert_tensor_metadata.default, aten._assert_scalar.default, aten.sym_constrain_range_for_size.default,
      aten._assert_async.msg)
def _assertion(cv: Converter, a: dict) -> None:
    return None  # torch.export's own checks of the capture


@_reg(aten._to_copy.default, aten.to.dtype, aten.type_as.default)
def _to(cv: Converter, a: dict) -> Any:
    x = a["self"]
    want = cv.out_meta().dtype
    if want not in _NP:
        raise cv.bad("dtype", want)
    if cv.dtype_of(x) == want:
        return x
    return cv.cast(x, want)


@_reg(aten.select.int)
def _select(cv: Converter, a: dict) -> str:
    x = a["self"]
    axis = cv.axis(a["dim"], x.rank)
    i = a["index"]
    if not isinstance(i, int):
        i = cv.sym(i)
    idx = cv.scalar(i, np.int64) if isinstance(i, int) else \
        cv.op("Squeeze", i.name, cv.g.const(np.array([0], np.int64), "axes", np.int64))
    return cv.op("Gather", x.name, idx, axis=axis)


@_reg(aten.slice.Tensor)
def _slice(cv: Converter, a: dict) -> Any:
    x = a["self"]
    axis = cv.axis(a["dim"], x.rank)
    start, end, step = a["start"], a["end"], a["step"]
    start = 0 if start is None else start
    end = _I64_MAX if end is None else end
    if not isinstance(step, int) or step < 1:
        raise cv.bad("step", step)
    size = x.shape[axis]
    if isinstance(start, int) and start == 0 and step == 1 and (
            (isinstance(end, int) and isinstance(size, int) and end >= size) or end == _I64_MAX
            or (isinstance(end, torch.SymInt) and isinstance(size, torch.SymInt) and end.node.expr == size.node.expr)):
        return x
    bound = [cv.sym(v) if not isinstance(v, int) else min(v, _I64_MAX) for v in (start, end)]
    starts, ends = (cv.shape_tensor([v]) for v in bound)
    return cv.op("Slice", x.name, starts, ends, cv.g.const(np.array([axis], np.int64), "axes", np.int64),
                 cv.g.const(np.array([step], np.int64), "steps", np.int64))


@_reg(aten.narrow.default)
def _narrow(cv: Converter, a: dict) -> str:
    x = a["self"]
    axis = cv.axis(a["dim"], x.rank)
    start, length = a["start"], a["length"]
    if not isinstance(start, int) or not isinstance(length, int):
        raise cv.bad("start", start)
    return cv.op("Slice", x.name, cv.g.const(np.array([start], np.int64), "starts", np.int64),
                 cv.g.const(np.array([start + length], np.int64), "ends", np.int64),
                 cv.g.const(np.array([axis], np.int64), "axes", np.int64))


@_reg(aten.expand.default, aten.expand_as.default)
def _expand(cv: Converter, a: dict) -> Any:
    x = a["self"]
    out = _shape(cv.out_meta())
    if out == x.shape:
        return x
    sizes = a["size"] if "size" in a else out
    dims = []
    lead = len(out) - x.rank
    for i, d in enumerate(sizes):
        if isinstance(d, int) and d == -1:
            dims.append(1)  # Expand broadcasts: 1 keeps the input's size
        elif i >= lead and isinstance(x.shape[i - lead], int) and x.shape[i - lead] != 1:
            dims.append(1)
        else:
            dims.append(d)
    return cv.op("Expand", x.name, cv.shape_tensor(dims))


@_reg(aten.repeat.default)
def _repeat(cv: Converter, a: dict) -> str:
    x, reps = a["self"], list(a["repeats"])
    name = x.name
    if len(reps) > x.rank:
        name = cv.reshape(x, tuple([1] * (len(reps) - x.rank)) + x.shape)
    return cv.op("Tile", name, cv.shape_tensor(reps))


@_reg(aten.cat.default)
def _cat(cv: Converter, a: dict) -> Any:
    ts = [t for t in a["tensors"] if not (isinstance(t, (T, P)) and cv.shape_of(t) == (0,))]
    rank = len(cv.out_meta().shape)
    dt = cv.out_meta().dtype
    if len(ts) == 1:
        return ts[0]
    return cv.op("Concat", *[cv.cast(t, dt) for t in ts], axis=cv.axis(a["dim"], rank))


@_reg(aten.stack.default)
def _stack(cv: Converter, a: dict) -> str:
    rank = len(cv.out_meta().shape)
    axis = cv.axis(a["dim"], rank)
    axes = cv.g.const(np.array([axis], np.int64), "axes", np.int64)
    parts = [cv.op("Unsqueeze", cv.tensor(t), axes) for t in a["tensors"]]
    return cv.op("Concat", *parts, axis=axis)


def _split_sizes(cv: Converter, x: T, axis: int, sizes: list[int]) -> tuple:
    outs = cv.g.op("Split", x.name, cv.g.const(np.array(sizes, np.int64), "split", np.int64),
                   axis=axis, outputs=len(sizes), node_name=cv.node.name)
    return tuple(outs) if isinstance(outs, list) else (outs,)


@_reg(aten.split.Tensor, aten.split_with_sizes.default, aten.chunk.default, aten.unbind.int,
      aten.tensor_split.sections)
def _split(cv: Converter, a: dict) -> tuple:
    x = a["self"]
    axis = cv.axis(a["dim"], x.rank)
    metas = cv.out_meta()
    sizes = []
    for m in metas:
        d = m.shape[axis] if cv.node.target != aten.unbind.int else 1
        if not isinstance(d, int):
            raise cv.fail(f"{cv.op_name()} of a dimension known only at run time")
        sizes.append(int(d))
    if len(sizes) == 1:
        return (x,) if cv.node.target != aten.unbind.int else (
            cv.op("Squeeze", x.name, cv.g.const(np.array([axis], np.int64), "axes", np.int64)),)
    parts = _split_sizes(cv, x, axis, sizes)
    if cv.node.target == aten.unbind.int:
        axes = cv.g.const(np.array([axis], np.int64), "axes", np.int64)
        parts = tuple(cv.op("Squeeze", p, axes) for p in parts)
    return parts


@_reg(operator.getitem)
def _getitem(cv: Converter, a: dict) -> Any:
    obj, i = a["args"]
    if not isinstance(obj, (tuple, list)):
        raise cv.fail("indexing of a single tensor")
    v = obj[i]
    if isinstance(v, str):
        return T(v, cv.out_meta().dtype, _shape(cv.out_meta()))
    if v is None:
        raise cv.fail(f"output {i} of {obj!r}", ": it is not computed by mle_runtime (return indices are not exported)")
    return v


# ------------------------------------------------------------------ creation

def _fill(cv: Converter, size: list, value: Any, dtype: torch.dtype) -> str:
    np_dt = _NP.get(dtype)
    if np_dt is None:
        raise cv.bad("dtype", dtype)
    if all(isinstance(d, int) for d in size):
        return cv.g.const(np.full([int(d) for d in size], value, dtype=np_dt), "full", np_dt)
    return cv.op("ConstantOfShape", cv.shape_tensor(list(size)),
                 value=float(value), dtype=_mle_dtype(cv.g, dtype))


@_reg(aten.zeros.default, aten.ones.default, aten.full.default, aten.new_zeros.default, aten.new_ones.default,
      aten.new_full.default, aten.empty.memory_format)
def _full(cv: Converter, a: dict) -> str:
    t = cv.node.target
    value = {aten.zeros.default: 0, aten.new_zeros.default: 0, aten.ones.default: 1, aten.new_ones.default: 1,
             aten.empty.memory_format: 0}.get(t, a.get("fill_value"))
    if not isinstance(value, (int, float, bool)):
        raise cv.bad("fill_value", value)
    y = _fill(cv, list(a["size"]), value, cv.out_meta().dtype)
    if value == 0:
        cv.zeros.add(y)
    return y


@_reg(aten.zeros_like.default, aten.ones_like.default, aten.full_like.default)
def _full_like(cv: Converter, a: dict) -> str:
    x = a["self"]
    value = {aten.zeros_like.default: 0, aten.ones_like.default: 1}.get(cv.node.target, a.get("fill_value"))
    if not isinstance(value, (int, float, bool)):
        raise cv.bad("fill_value", value)
    return _fill(cv, [cv.sym(d) for d in cv.out_meta().shape], value, cv.out_meta().dtype)


@_reg(aten.arange.default, aten.arange.start, aten.arange.start_step)
def _arange(cv: Converter, a: dict) -> str:
    start, end, step = a.get("start", 0), a["end"], a.get("step", 1)
    dt = cv.out_meta().dtype
    if all(isinstance(v, (int, float)) for v in (start, end, step)):
        return cv.g.const(torch.arange(start, end, step, dtype=dt).numpy(), "arange", _NP[dt])
    if dt != torch.int64:
        raise cv.fail(f"{cv.op_name()} of {dt} over a size known only at run time")
    vals = []
    for v in (start, end, step):
        v = cv.sym(v) if not isinstance(v, int) else v
        vals.append(cv.scalar(v, np.int64) if isinstance(v, int) else
                    cv.op("Squeeze", v.name, cv.g.const(np.array([0], np.int64), "axes", np.int64)))
    return cv.op("Range", *vals)


@_reg(aten.scalar_tensor.default)
def _scalar_tensor(cv: Converter, a: dict) -> str:
    dt = cv.out_meta().dtype
    return cv.scalar(a["s"], _NP[dt])


@_reg(aten.triu.default, aten.tril.default)
def _trilu(cv: Converter, a: dict) -> str:
    x = a["self"]
    k = a["diagonal"]
    if not isinstance(k, int):
        raise cv.bad("diagonal", k)
    return cv.op("Trilu", cv.tensor(x), cv.scalar(k, np.int64),
                 upper=int(cv.node.target == aten.triu.default))


# ------------------------------------------------------------------ elementwise

def _binary(op: str, swap: bool = False) -> _Converter:
    def fn(cv: Converter, a: dict) -> str:
        x, y = a["self"], a["other"]
        alpha = a.get("alpha", 1)
        out = cv.out_meta().dtype
        if swap:
            x, y = y, x
        if alpha != 1:
            y_name = cv.op("Mul", cv.cast(y, out), cv.tensor(alpha, out))
        else:
            y_name = cv.cast(y, out)
        return cv.op(op, cv.cast(x, out), y_name)
    return fn


for _ops, _onnx, _swap in (((aten.add.Tensor, aten.add.Scalar), "Add", False),
                           ((aten.sub.Tensor, aten.sub.Scalar), "Sub", False),
                           ((aten.rsub.Tensor, aten.rsub.Scalar), "Sub", True),
                           ((aten.mul.Tensor, aten.mul.Scalar), "Mul", False),
                           ((aten.maximum.default,), "Max", False),
                           ((aten.minimum.default,), "Min", False)):
    _reg(*_ops)(_binary(_onnx, _swap))


@_reg(aten.div.Tensor, aten.div.Scalar, aten.div.Tensor_mode, aten.div.Scalar_mode)
def _div(cv: Converter, a: dict) -> str:
    mode = a.get("rounding_mode")
    out = cv.out_meta().dtype
    if not out.is_floating_point:  # integer division: ONNX truncates, torch floors by default
        if mode != "trunc":
            raise cv.bad("rounding_mode", mode, " on integers (only 'trunc' matches ONNX's integer Div)")
        return cv.op("Div", cv.cast(a["self"], out), cv.cast(a["other"], out))
    y = cv.op("Div", cv.cast(a["self"], out), cv.cast(a["other"], out))
    if mode is None:
        return y
    if mode == "floor":
        return cv.op("Floor", y)
    if mode == "trunc":  # trunc(y) = sign(y) * floor(|y|)
        return cv.op("Mul", cv.op("Sign", y), cv.op("Floor", cv.op("Abs", y)))
    raise cv.bad("rounding_mode", mode)


@_reg(aten.pow.Tensor_Scalar, aten.pow.Tensor_Tensor, aten.pow.Scalar)
def _pow(cv: Converter, a: dict) -> str:
    x, e = a["self"], a["exponent"]
    out = cv.out_meta().dtype
    if isinstance(e, (int, float)) and e == 2 and isinstance(x, T):
        xn = cv.cast(x, out)
        return cv.op("Mul", xn, xn)
    if isinstance(e, (int, float)) and e == 0.5:
        return cv.op("Sqrt", cv.cast(x, out))
    if isinstance(e, (int, float)) and e == 1:
        return cv.cast(x, out)
    return cv.op("Pow", cv.cast(x, out), cv.cast(e, out))


def _unary(op: str, **attrs: Any) -> _Converter:
    def fn(cv: Converter, a: dict) -> str:
        return cv.op(op, cv.tensor(a["self"]), **attrs)
    return fn


for _ops, _onnx in (((aten.relu.default,), "Relu"), ((aten.sigmoid.default,), "Sigmoid"),
                    ((aten.tanh.default,), "Tanh"), ((aten.exp.default,), "Exp"), ((aten.log.default,), "Log"),
                    ((aten.sqrt.default,), "Sqrt"), ((aten.abs.default,), "Abs"), ((aten.neg.default,), "Neg"),
                    ((aten.erf.default,), "Erf"), ((aten.reciprocal.default,), "Reciprocal"),
                    ((aten.floor.default,), "Floor"), ((aten.ceil.default,), "Ceil"),
                    ((aten.round.default,), "Round"), ((aten.sign.default,), "Sign"), ((aten.sin.default,), "Sin"),
                    ((aten.cos.default,), "Cos"), ((aten.hardswish.default,), "HardSwish"),
                    ((aten.mish.default,), "Mish"), ((aten.silu.default,), "Swish"),
                    ((aten.logical_not.default,), "Not"), ((aten.isnan.default,), "IsNaN")):
    _reg(*_ops)(_unary(_onnx))


@_reg(aten.rsqrt.default)
def _rsqrt(cv: Converter, a: dict) -> str:
    return cv.op("Reciprocal", cv.op("Sqrt", cv.tensor(a["self"])))


@_reg(aten.hardsigmoid.default)
def _hardsigmoid(cv: Converter, a: dict) -> str:
    return cv.op("HardSigmoid", cv.tensor(a["self"]), alpha=1.0 / 6.0, beta=0.5)


@_reg(aten.gelu.default)
def _gelu(cv: Converter, a: dict) -> str:
    if a["approximate"] not in ("none", "tanh"):
        raise cv.bad("approximate", a["approximate"])
    return cv.op("Gelu", cv.tensor(a["self"]), approximate=a["approximate"])


@_reg(aten.leaky_relu.default)
def _leaky_relu(cv: Converter, a: dict) -> str:
    return cv.op("LeakyRelu", cv.tensor(a["self"]), alpha=float(a["negative_slope"]))


@_reg(aten.elu.default)
def _elu(cv: Converter, a: dict) -> str:
    if a["scale"] != 1 or a["input_scale"] != 1:
        raise cv.bad("scale", a["scale"])
    return cv.op("Elu", cv.tensor(a["self"]), alpha=float(a["alpha"]))


@_reg(aten.selu.default)
def _selu(cv: Converter, a: dict) -> str:
    return cv.op("Selu", cv.tensor(a["self"]))


@_reg(aten.softplus.default)
def _softplus(cv: Converter, a: dict) -> str:
    x = cv.tensor(a["self"])
    beta, threshold = a["beta"], a["threshold"]
    if beta == 1 and threshold == 20:
        # Above 20 torch returns x itself; log1p(exp(x)) differs from x by
        # under exp(-20) relative there, far inside float tolerance.
        return cv.op("Softplus", x)
    raise cv.bad("beta", beta)


@_reg(aten.clamp.default, aten.clamp_min.default, aten.clamp_max.default, aten.hardtanh.default,
      aten.relu6.default)
def _clamp(cv: Converter, a: dict) -> str:
    x = a["self"]
    t = cv.node.target
    lo, hi = {aten.clamp.default: (a.get("min"), a.get("max")), aten.clamp_min.default: (a.get("min"), None),
              aten.clamp_max.default: (None, a.get("max")), aten.hardtanh.default: (a.get("min_val"), a.get("max_val")),
              aten.relu6.default: (0.0, 6.0)}[t]
    out = cv.out_meta().dtype
    if not out.is_floating_point:
        y = cv.tensor(x)
        if lo is not None:
            y = cv.op("Max", y, cv.tensor(lo, out))
        if hi is not None:
            y = cv.op("Min", y, cv.tensor(hi, out))
        return y
    ins = [cv.tensor(x), cv.tensor(float(lo)) if lo is not None else "", cv.tensor(float(hi)) if hi is not None else ""]
    while ins and ins[-1] == "":
        ins.pop()
    return cv.op("Clip", *ins)


def _compare(op: str, negate: bool = False) -> _Converter:
    def fn(cv: Converter, a: dict) -> str:
        x, y = a["self"], a["other"]
        dt = torch.promote_types(cv.dtype_of(x), cv.dtype_of(y)) if isinstance(y, (T, P)) else cv.dtype_of(x)
        if isinstance(y, float) and not dt.is_floating_point:
            dt = cv.fdtype
        r = cv.op(op, cv.cast(x, dt), cv.cast(y, dt))
        return cv.op("Not", r) if negate else r
    return fn


for _ops, _onnx, _neg in (((aten.eq.Tensor, aten.eq.Scalar), "Equal", False),
                          ((aten.ne.Tensor, aten.ne.Scalar), "Equal", True),
                          ((aten.lt.Tensor, aten.lt.Scalar), "Less", False),
                          ((aten.gt.Tensor, aten.gt.Scalar), "Greater", False),
                          ((aten.le.Tensor, aten.le.Scalar), "LessOrEqual", False),
                          ((aten.ge.Tensor, aten.ge.Scalar), "GreaterOrEqual", False)):
    _reg(*_ops)(_compare(_onnx, _neg))


def _logical(op: str) -> _Converter:
    def fn(cv: Converter, a: dict) -> str:
        return cv.op(op, cv.cast(a["self"], torch.bool), cv.cast(a["other"], torch.bool))
    return fn


_reg(aten.logical_and.default, aten.bitwise_and.Tensor)(_logical("And"))
_reg(aten.logical_or.default, aten.bitwise_or.Tensor)(_logical("Or"))
_reg(aten.logical_xor.default, aten.bitwise_xor.Tensor)(_logical("Xor"))


@_reg(aten.bitwise_not.default)
def _bitwise_not(cv: Converter, a: dict) -> str:
    if cv.dtype_of(a["self"]) != torch.bool:
        raise cv.fail(f"{cv.op_name()} on integers")
    return cv.op("Not", cv.tensor(a["self"]))


@_reg(aten.where.self, aten.where.ScalarOther, aten.where.ScalarSelf, aten.where.Scalar)
def _where(cv: Converter, a: dict) -> str:
    out = cv.out_meta().dtype
    return cv.op("Where", cv.cast(a["condition"], torch.bool), cv.cast(a["self"], out), cv.cast(a["other"], out))


@_reg(aten.masked_fill.Scalar, aten.masked_fill.Tensor)
def _masked_fill(cv: Converter, a: dict) -> str:
    x, mask, v = a["self"], a["mask"], a["value"]
    out = cv.out_meta().dtype
    return cv.op("Where", cv.cast(mask, torch.bool), cv.cast(v, out), cv.tensor(x))


# ------------------------------------------------------------------ reductions

def _reduce_axes(cv: Converter, x: T, dims: Any) -> list[int]:
    if dims is None or (isinstance(dims, (list, tuple)) and len(dims) == 0):
        return list(range(x.rank))
    dims = dims if isinstance(dims, (list, tuple)) else [dims]
    return sorted({cv.axis(d, x.rank) for d in dims})


def _reduce(op: str) -> _Converter:
    def fn(cv: Converter, a: dict) -> str:
        x = a["self"]
        if a.get("dtype") is not None and a["dtype"] != x.dtype:
            raise cv.bad("dtype", a["dtype"])
        axes = _reduce_axes(cv, x, a.get("dim"))
        return cv.op(op, x.name, axes=axes, keepdims=int(bool(a.get("keepdim", False))))
    return fn


_reg(aten.mean.dim, aten.mean.default)(_reduce("ReduceMean"))
_reg(aten.sum.dim_IntList, aten.sum.default)(_reduce("ReduceSum"))
_reg(aten.amax.default)(_reduce("ReduceMax"))
_reg(aten.amin.default)(_reduce("ReduceMin"))


@_reg(aten.max.dim, aten.min.dim)
def _max_dim(cv: Converter, a: dict) -> tuple:
    x = a["self"]
    axis = cv.axis(a["dim"], x.rank)
    keep = int(bool(a["keepdim"]))
    op = "ReduceMax" if cv.node.target == aten.max.dim else "ReduceMin"
    values = cv.op(op, x.name, axes=[axis], keepdims=keep)
    if cv.node.target != aten.max.dim:
        return (values, None)
    return (values, cv.op("ArgMax", x.name, axis=axis, keepdims=keep))


@_reg(aten.argmax.default)
def _argmax(cv: Converter, a: dict) -> str:
    x = a["self"]
    if a["dim"] is None:
        raise cv.bad("dim", None)
    return cv.op("ArgMax", x.name, axis=cv.axis(a["dim"], x.rank), keepdims=int(bool(a["keepdim"])))


@_reg(aten.var.correction, aten.std.correction, aten.var.dim, aten.std.dim)
def _var(cv: Converter, a: dict) -> str:
    x = a["self"]
    axes = _reduce_axes(cv, x, a.get("dim"))
    corr = a.get("correction")
    if "unbiased" in a:
        corr = 1 if a["unbiased"] else 0
    corr = 1 if corr is None else corr
    keep = int(bool(a.get("keepdim", False)))
    mean = cv.op("ReduceMean", x.name, axes=axes, keepdims=1)
    d = cv.op("Sub", x.name, mean)
    sq = cv.op("ReduceMean", cv.op("Mul", d, d), axes=axes, keepdims=keep)
    n = 1
    for i in axes:
        if not isinstance(x.shape[i], int):
            raise cv.fail(f"{cv.op_name()} over a dimension known only at run time")
        n *= x.shape[i]
    if corr:
        sq = cv.op("Mul", sq, cv.tensor(n / (n - corr) if n > corr else math.inf))
    return cv.op("Sqrt", sq) if cv.node.target in (aten.std.correction, aten.std.dim) else sq


@_reg(aten._softmax.default, aten.softmax.int, aten._log_softmax.default, aten.log_softmax.int)
def _softmax(cv: Converter, a: dict) -> str:
    x = a["self"]
    log = cv.node.target in (aten._log_softmax.default, aten.log_softmax.int)
    if a.get("dtype") is not None and a["dtype"] != x.dtype:
        raise cv.bad("dtype", a["dtype"])
    return cv.op("LogSoftmax" if log else "Softmax", x.name, axis=cv.axis(a["dim"], x.rank))


@_reg(aten.cumsum.default)
def _cumsum(cv: Converter, a: dict) -> str:
    x = a["self"]
    if a.get("dtype") is not None and a["dtype"] != x.dtype:
        raise cv.bad("dtype", a["dtype"])
    return cv.op("CumSum", x.name, cv.scalar(cv.axis(a["dim"], x.rank), np.int64))


@_reg(aten.topk.default)
def _topk(cv: Converter, a: dict) -> tuple:
    x, k = a["self"], a["k"]
    if not isinstance(k, int):
        raise cv.bad("k", k)
    outs = cv.g.op("TopK", x.name, cv.g.const(np.array([k], np.int64), "k", np.int64),
                   axis=cv.axis(a["dim"], x.rank), largest=int(bool(a["largest"])), sorted=int(bool(a["sorted"])),
                   outputs=2, node_name=cv.node.name)
    return tuple(outs)


# ------------------------------------------------------------------ linear algebra

@_reg(aten.linear.default)
def _linear(cv: Converter, a: dict) -> str:
    x, w, b = a["input"], a["weight"], a["bias"]
    if isinstance(w, P) and x.rank == 2:
        ins = [x.name, cv.g.const(cv.numbers(w, "weight"), "weight")]
        if b is not None:
            ins.append(cv.tensor(b))
        return cv.op("Gemm", *ins, transB=1)
    if isinstance(w, P) and x.rank > 2 and isinstance(x.shape[-1], int):
        # [..., in] as [rows, in]: the Gemm kernel pre-packs its weight once
        # per model and fuses the bias and a following activation; MatMul
        # would pack the weight on every run.
        flat = cv.op("Reshape", x.name, cv.g.const(np.array([-1, x.shape[-1]], np.int64), "shape", np.int64))
        ins = [flat, cv.g.const(cv.numbers(w, "weight"), "weight")]
        if b is not None:
            ins.append(cv.tensor(b))
        y = cv.op("Gemm", *ins, transB=1)
        out = _shape(cv.out_meta())
        return cv.reshape(T(y, x.dtype, (None, out[-1])), out, None, like=x)
    wt = cv.g.const(cv.numbers(w, "weight").T, "weight_t") if isinstance(w, P) else \
        cv.op("Transpose", cv.tensor(w), perm=list(range(len(cv.shape_of(w))))[::-1])
    y = cv.op("MatMul", x.name, wt)
    return cv.op("Add", y, cv.tensor(b)) if b is not None else y


@_reg(aten.matmul.default, aten.mm.default, aten.bmm.default)
def _matmul(cv: Converter, a: dict) -> str:
    return cv.op("MatMul", cv.tensor(a["self"]), cv.tensor(a["other"] if "other" in a else a["mat2"]))


@_reg(aten.addmm.default)
def _addmm(cv: Converter, a: dict) -> str:
    if a["beta"] != 1 or a["alpha"] != 1:
        raise cv.bad("alpha", a["alpha"])
    return cv.op("Add", cv.op("MatMul", cv.tensor(a["mat1"]), cv.tensor(a["mat2"])), cv.tensor(a["self"]))


@_reg(aten.einsum.default)
def _einsum(cv: Converter, a: dict) -> str:
    eq, ts = a["equation"].replace(" ", ""), list(a["tensors"])
    if "..." in eq or "->" not in eq:
        raise cv.bad("equation", a["equation"], ": only explicit equations without '...' are supported")
    lhs, out = eq.split("->")
    subs = lhs.split(",")
    if len(subs) != len(ts):
        raise cv.bad("equation", a["equation"])
    names = [cv.tensor(t) for t in ts]
    if len(subs) == 1:
        s = subs[0]
        if len(set(s)) != len(s):
            raise cv.bad("equation", a["equation"], ": repeated indices (traces) are not supported")
        summed = [i for i, c in enumerate(s) if c not in out]
        y = names[0]
        kept = [c for c in s if c in out]
        if summed:
            y = cv.op("ReduceSum", y, axes=summed, keepdims=0)
        perm = [kept.index(c) for c in out]
        return y if perm == list(range(len(perm))) else cv.op("Transpose", y, perm=perm)
    if len(subs) != 2:
        raise cv.bad("equation", a["equation"], ": einsum of more than two operands")
    sa, sb = subs
    if len(set(sa)) != len(sa) or len(set(sb)) != len(sb) or len(set(out)) != len(out):
        raise cv.bad("equation", a["equation"], ": repeated indices are not supported")
    batch = [c for c in out if c in sa and c in sb]
    m = [c for c in out if c in sa and c not in sb]
    n = [c for c in out if c in sb and c not in sa]
    k = [c for c in sa if c in sb and c not in out]
    if set(sa) - set(batch + m + k) or set(sb) - set(batch + n + k):
        raise cv.bad("equation", a["equation"], ": an index summed in one operand only")
    if len(m) > 1 or len(n) > 1 or len(k) > 1:
        raise cv.bad("equation", a["equation"], ": at most one free and one contracted index per operand")
    # A -> [batch..., m, k], B -> [batch..., k, n], then MatMul.
    ta = batch + m + k
    tb = batch + k + n
    ya, yb = names[0], names[1]
    if list(sa) != ta:
        ya = cv.op("Transpose", ya, perm=[sa.index(c) for c in ta])
    if list(sb) != tb:
        yb = cv.op("Transpose", yb, perm=[sb.index(c) for c in tb])
    axes = cv.g.const(np.array([-1 if not k else 0], np.int64), "axes", np.int64)
    if not m:
        ya = cv.op("Unsqueeze", ya, cv.g.const(np.array([len(batch)], np.int64), "axes", np.int64))
    if not k:
        ya = cv.op("Unsqueeze", ya, cv.g.const(np.array([len(batch) + 1], np.int64), "axes", np.int64))
        yb = cv.op("Unsqueeze", yb, cv.g.const(np.array([len(batch)], np.int64), "axes", np.int64))
    if not n:
        yb = cv.op("Unsqueeze", yb, cv.g.const(np.array([len(batch) + 1], np.int64), "axes", np.int64))
    del axes
    y = cv.op("MatMul", ya, yb)
    drop = ([len(batch)] if not m else []) + ([len(batch) + 1] if not n else [])
    if drop:
        y = cv.op("Squeeze", y, cv.g.const(np.array(drop, np.int64), "axes", np.int64))
    cur = batch + m + n
    perm = [cur.index(c) for c in out]
    return y if perm == list(range(len(perm))) else cv.op("Transpose", y, perm=perm)


# ------------------------------------------------------------------ convolution and pooling

def _ints(v: Any, n: int) -> list[int]:
    v = list(v) if isinstance(v, (list, tuple)) else [v]
    return v * n if len(v) == 1 else v


@_reg(aten.conv1d.default, aten.conv2d.default, aten.conv1d.padding, aten.conv2d.padding,
      aten.convolution.default, aten.conv_transpose1d.default, aten.conv_transpose2d.input)
def _conv(cv: Converter, a: dict) -> str:
    t = cv.node.target
    x, w, b = a["input"], a["weight"], a["bias"]
    nsp = x.rank - 2
    if nsp not in (1, 2):
        raise cv.fail(f"{cv.op_name()} over {nsp} spatial dimensions", ": 1-D and 2-D convolutions are supported")
    transposed = t in (aten.conv_transpose1d.default, aten.conv_transpose2d.input) or \
        (t == aten.convolution.default and a["transposed"])
    wshape = cv.shape_of(w)
    attrs: dict[str, Any] = {"strides": _ints(a["stride"], nsp), "dilations": _ints(a["dilation"], nsp),
                             "group": int(a["groups"]), "kernel_shape": [int(d) for d in wshape[2:]]}
    pad = a["padding"]
    if isinstance(pad, str):
        if pad == "same":
            attrs["auto_pad"] = "SAME_UPPER"  # torch pads the extra one at the end, as SAME_UPPER
        elif pad != "valid":
            raise cv.bad("padding", pad)
    else:
        p = _ints(pad, nsp)
        attrs["pads"] = p + p
    if transposed:
        attrs["output_padding"] = _ints(a["output_padding"], nsp)
    ins = [x.name, cv.tensor(w)]
    if b is not None:
        ins.append(cv.tensor(b))
    return cv.op("ConvTranspose" if transposed else "Conv", *ins, **attrs)


def _pool_attrs(cv: Converter, a: dict, nsp: int) -> dict:
    k = _ints(a["kernel_size"], nsp)
    s = _ints(a["stride"], nsp) if a["stride"] else k
    p = _ints(a["padding"], nsp)
    return {"kernel_shape": k, "strides": s, "pads": p + p, "ceil_mode": int(bool(a["ceil_mode"]))}


@_reg(aten.max_pool1d.default, aten.max_pool2d.default, aten.max_pool2d_with_indices.default,
      aten.max_pool1d_with_indices.default)
def _max_pool(cv: Converter, a: dict) -> Any:
    x = a["self"]
    attrs = _pool_attrs(cv, a, x.rank - 2)
    attrs["dilations"] = _ints(a["dilation"], x.rank - 2)
    y = cv.op("MaxPool", x.name, **attrs)
    if cv.node.target in (aten.max_pool2d_with_indices.default, aten.max_pool1d_with_indices.default):
        return (y, None)
    return y


@_reg(aten.avg_pool1d.default, aten.avg_pool2d.default)
def _avg_pool(cv: Converter, a: dict) -> str:
    x = a["self"]
    if a.get("divisor_override") is not None:
        raise cv.bad("divisor_override", a["divisor_override"])
    attrs = _pool_attrs(cv, a, x.rank - 2)
    attrs["count_include_pad"] = int(bool(a["count_include_pad"]))
    return cv.op("AveragePool", x.name, **attrs)


@_reg(aten.adaptive_avg_pool1d.default, aten.adaptive_avg_pool2d.default, aten._adaptive_avg_pool2d.default,
      aten.adaptive_max_pool1d.default, aten.adaptive_max_pool2d.default)
def _adaptive_pool(cv: Converter, a: dict) -> Any:
    x = a["self"]
    nsp = x.rank - 2
    size = _ints(a["output_size"], nsp)
    is_max = cv.node.target in (aten.adaptive_max_pool1d.default, aten.adaptive_max_pool2d.default)
    if all(d == 1 for d in size):
        y = cv.op("GlobalMaxPool" if is_max else "GlobalAveragePool", x.name)
    else:
        y = cv.op("AdaptiveMaxPool" if is_max else "AdaptiveAveragePool", x.name, output_size=size)
    return (y, None) if is_max else y


@_reg(aten.upsample_nearest1d.vec, aten.upsample_nearest2d.vec, aten.upsample_bilinear2d.vec,
      aten.upsample_linear1d.vec, aten.upsample_nearest2d.default, aten.upsample_bilinear2d.default)
def _upsample(cv: Converter, a: dict) -> str:
    x = a.get("input", a.get("self"))
    t = cv.node.target
    nsp = x.rank - 2
    linear = t in (aten.upsample_bilinear2d.vec, aten.upsample_linear1d.vec, aten.upsample_bilinear2d.default)
    attrs: dict[str, Any] = {"mode": "linear" if linear else "nearest"}
    if linear:
        attrs["coordinate_transformation_mode"] = "align_corners" if a["align_corners"] else "pytorch_half_pixel"
    else:
        attrs["coordinate_transformation_mode"] = "asymmetric"
        attrs["nearest_mode"] = "floor"
    scales = a.get("scale_factors")
    if scales is None and "scales_h" in a and a["scales_h"] is not None:
        scales = [a["scales_h"], a["scales_w"]]
    if scales is not None:
        sc = np.array([1.0, 1.0] + _ints(scales, nsp), np.float32)
        return cv.op("Resize", x.name, "", cv.g.const(sc, "scales", np.float32), **attrs)
    size = a["output_size"]
    sizes = cv.shape_tensor([cv.dim(x, 0), cv.dim(x, 1)] + list(size))
    return cv.op("Resize", x.name, "", "", sizes, **attrs)


@_reg(aten.pad.default, aten.constant_pad_nd.default, aten.reflection_pad1d.default, aten.reflection_pad2d.default,
      aten.replication_pad1d.default, aten.replication_pad2d.default)
def _pad(cv: Converter, a: dict) -> str:
    x = a["self"]
    t = cv.node.target
    mode = {aten.reflection_pad1d.default: "reflect", aten.reflection_pad2d.default: "reflect",
            aten.replication_pad1d.default: "edge", aten.replication_pad2d.default: "edge"}.get(t)
    if mode is None:
        mode = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}.get(
            a.get("mode", "constant"))
        if mode is None:
            raise cv.bad("mode", a.get("mode"))
    pad = list(a.get("pad", a.get("padding")))
    if len(pad) % 2 or len(pad) // 2 > x.rank:
        raise cv.bad("pad", pad)
    # torch lists (begin, end) pairs from the last dim backwards; ONNX wants
    # all begins then all ends, first dim first.
    k = len(pad) // 2
    begins = [0] * (x.rank - k) + [pad[2 * (k - 1 - i)] for i in range(k)]
    ends = [0] * (x.rank - k) + [pad[2 * (k - 1 - i) + 1] for i in range(k)]
    ins = [x.name, cv.g.const(np.array(begins + ends, np.int64), "pads", np.int64)]
    value = a.get("value")
    if mode == "constant" and value:
        ins.append(cv.tensor(float(value)))
    return cv.op("Pad", *ins, mode=mode)


# ------------------------------------------------------------------ normalization

@_reg(aten._native_batch_norm_legit_no_training.default, aten.batch_norm.default,
      aten._native_batch_norm_legit_functional.default)
def _batch_norm(cv: Converter, a: dict) -> Any:
    x = a["input"]
    if a.get("training"):
        raise cv.bad("training", True)
    scale, bias = _affine(cv, x, a)
    mean, var = cv.numbers(a["running_mean"], "running_mean"), cv.numbers(a["running_var"], "running_var")
    y = cv.op("BatchNormalization", x.name, scale, bias, cv.g.const(mean, "bn_mean"), cv.g.const(var, "bn_var"),
              epsilon=float(a["eps"]))
    if cv.node.target == aten.batch_norm.default:
        return y
    return (y, None, None)


@_reg(aten.layer_norm.default, aten.native_layer_norm.default)
def _layer_norm(cv: Converter, a: dict) -> Any:
    x = a["input"]
    shape = [int(d) for d in a["normalized_shape"]]
    if not 0 < len(shape) <= x.rank:
        raise cv.bad("normalized_shape", shape)
    w = a["weight"]
    ins = [x.name, cv.tensor(w) if w is not None else cv.g.const(np.ones(shape), "ln_scale")]
    if a["bias"] is not None:
        ins.append(cv.tensor(a["bias"]))
    y = cv.op("LayerNormalization", *ins, axis=x.rank - len(shape), epsilon=float(a["eps"]))
    return (y, None, None) if cv.node.target == aten.native_layer_norm.default else y


def _affine(cv: Converter, x: T, a: dict) -> tuple[str, str]:
    """A norm's per-channel scale and bias as constants (ones and zeros when
    the module has none)."""
    c = x.shape[1]
    if not isinstance(c, int):
        raise cv.fail(f"{cv.op_name()} over a channel count known only at run time")
    w = cv.numbers(a["weight"], "weight") if a["weight"] is not None else np.ones(c)
    b = cv.numbers(a["bias"], "bias") if a["bias"] is not None else np.zeros(c)
    return cv.g.const(w, "norm_scale"), cv.g.const(b, "norm_bias")


@_reg(aten.group_norm.default)
def _group_norm(cv: Converter, a: dict) -> str:
    x = a["input"]
    return cv.op("GroupNormalization", x.name, *_affine(cv, x, a), num_groups=int(a["num_groups"]),
                 epsilon=float(a["eps"]))


@_reg(aten.instance_norm.default)
def _instance_norm(cv: Converter, a: dict) -> str:
    x = a["input"]
    scale, bias = _affine(cv, x, a)
    if not a["use_input_stats"]:  # running statistics: BatchNorm's arithmetic
        mean, var = cv.numbers(a["running_mean"], "running_mean"), cv.numbers(a["running_var"], "running_var")
        return cv.op("BatchNormalization", x.name, scale, bias, cv.g.const(mean, "bn_mean"),
                     cv.g.const(var, "bn_var"), epsilon=float(a["eps"]))
    return cv.op("InstanceNormalization", x.name, scale, bias, epsilon=float(a["eps"]))


# ------------------------------------------------------------------ embeddings and attention

@_reg(aten.embedding.default)
def _embedding(cv: Converter, a: dict) -> str:
    return cv.op("Gather", cv.tensor(a["weight"]), cv.cast(a["indices"], torch.int64), axis=0)


@_reg(aten.index_select.default)
def _index_select(cv: Converter, a: dict) -> str:
    x = a["self"]
    return cv.op("Gather", cv.tensor(x), cv.cast(a["index"], torch.int64), axis=cv.axis(a["dim"], len(cv.shape_of(x))))


@_reg(aten.index.Tensor)
def _index(cv: Converter, a: dict) -> str:
    x, idx = a["self"], list(a["indices"])
    live = [i for i, v in enumerate(idx) if v is not None]
    if len(live) != 1 or cv.dtype_of(idx[live[0]]) == torch.bool:
        raise cv.fail(f"{cv.op_name()} with {len(live)} index tensors", ": one integer index tensor is supported")
    return cv.op("Gather", cv.tensor(x), cv.cast(idx[live[0]], torch.int64), axis=live[0])


@_reg(aten.embedding_bag.padding_idx, aten._embedding_bag.default, aten.embedding_bag.default)
def _embedding_bag(cv: Converter, a: dict) -> tuple:
    # scale_grad_by_freq and sparse only change gradients.
    mode = {0: "sum", 1: "mean", 2: "max"}.get(a["mode"])
    if mode is None:
        raise cv.bad("mode", a["mode"])
    ins = [cv.tensor(a["weight"]), cv.cast(a["indices"], torch.int64)]
    offsets = a["offsets"]
    ins.append(cv.cast(offsets, torch.int64) if offsets is not None else "")
    if a.get("per_sample_weights") is not None:
        ins.append(cv.tensor(a["per_sample_weights"]))
    pad = a.get("padding_idx")
    y = cv.op("EmbeddingBag", *ins, mode=mode, include_last_offset=int(bool(a["include_last_offset"])),
              padding_idx=-1 if pad is None else int(pad))
    return (y, None, None, None)


@_reg(aten.scaled_dot_product_attention.default)
def _sdpa(cv: Converter, a: dict) -> str:
    q, k, v, mask = a["query"], a["key"], a["value"], a["attn_mask"]
    if a["dropout_p"]:
        raise cv.bad("dropout_p", a["dropout_p"], ": attention dropout cannot be exported")
    if q.rank != 4 or k.rank != 4 or v.rank != 4:
        raise cv.fail(f"{cv.op_name()} on rank-{q.rank} tensors", ": [batch, heads, seq, dim] is supported")
    attrs: dict[str, Any] = {"is_causal": int(bool(a["is_causal"]))}
    if a["scale"] is not None:
        attrs["scale"] = float(a["scale"])
    ins = [q.name, cv.tensor(k), cv.tensor(v)]
    if mask is not None:
        ins.append(cv.tensor(mask) if cv.dtype_of(mask) == torch.bool else cv.cast(mask, q.dtype))
    return cv.op("Attention", *ins, **attrs)


# ------------------------------------------------------------------ recurrent

_GATES = {"LSTM": (4, [0, 3, 1, 2]), "GRU": (3, [1, 0, 2]), "RNN": (1, [0])}  # torch order -> ONNX order


def _reorder(w: np.ndarray, gates: int, order: list[int]) -> np.ndarray:
    h = w.shape[0] // gates
    return np.concatenate([w[i * h:(i + 1) * h] for i in order], axis=0)


def _recurrent(kind: str) -> _Converter:
    def fn(cv: Converter, a: dict) -> tuple:
        x = a["input"]
        if a["train"] and a["dropout"]:
            raise cv.bad("train", True)
        layers, bidir, batch_first, has_b = int(a["num_layers"]), bool(a["bidirectional"]), bool(a["batch_first"]), \
            bool(a["has_biases"])
        params = list(a["params"])
        nd = 2 if bidir else 1
        per = 4 if has_b else 2
        if len(params) != layers * nd * per or not all(isinstance(p, P) for p in params):
            raise cv.fail(f"{cv.op_name()} with {len(params)} weights",
                          " (projections, proj_size, are not supported)")
        gates, order = _GATES[kind]
        hx = a["hx"]
        states = list(hx) if isinstance(hx, (list, tuple)) else [hx]
        nstate = 2 if kind == "LSTM" else 1
        if len(states) != nstate:
            raise cv.bad("hx", len(states))
        x_name = x.name
        layout = 1 if batch_first else 0
        if x.rank != 3:
            raise cv.fail(f"{cv.op_name()} on an unbatched (rank-{x.rank}) input")
        hn, cn = [], []
        y = x_name
        for layer in range(layers):
            ws, rs, bs = [], [], []
            for d in range(nd):
                p = params[(layer * nd + d) * per:(layer * nd + d + 1) * per]
                w_ih, w_hh = cv.numbers(p[0], "weight_ih"), cv.numbers(p[1], "weight_hh")
                ws.append(_reorder(w_ih, gates, order))
                rs.append(_reorder(w_hh, gates, order))
                if has_b:
                    bs.append(np.concatenate([_reorder(cv.numbers(p[2], "bias_ih"), gates, order),
                                              _reorder(cv.numbers(p[3], "bias_hh"), gates, order)]))
            hidden = ws[0].shape[0] // gates
            ins = [y, cv.g.const(np.stack(ws), "W"), cv.g.const(np.stack(rs), "R"),
                   cv.g.const(np.stack(bs), "B") if has_b else "", ""]
            for s in states:
                if isinstance(s, T) and s.name in cv.zeros:
                    ins.append("")
                    continue
                sl = cv.op("Slice", cv.tensor(s), cv.g.const(np.array([layer * nd], np.int64), "starts", np.int64),
                           cv.g.const(np.array([(layer + 1) * nd], np.int64), "ends", np.int64),
                           cv.g.const(np.array([0], np.int64), "axes", np.int64))
                ins.append(cv.op("Transpose", sl, perm=[1, 0, 2]) if layout else sl)
            while ins and ins[-1] == "":
                ins.pop()
            attrs: dict[str, Any] = {"hidden_size": hidden, "layout": layout,
                                     "direction": "bidirectional" if bidir else "forward"}
            if kind == "GRU":
                attrs["linear_before_reset"] = 1
            if kind == "RNN":
                attrs["activations"] = ",".join(["Relu" if cv.node.target == aten.rnn_relu.input else "Tanh"] * nd)
            outs = cv.g.op(kind, *ins, outputs=nstate + 1, node_name=cv.node.name, **attrs)
            yy, yh = outs[0], outs[1]
            # Y: layout 0 [seq, nd, batch, H] -> [seq, batch, nd*H]; layout 1 [batch, seq, nd, H] -> [batch, seq, nd*H]
            if not layout:
                yy = cv.op("Transpose", yy, perm=[0, 2, 1, 3])
            y = cv.op("Reshape", yy, cv.g.const(np.array([0, 0, nd * hidden], np.int64), "shape", np.int64))
            hn.append(cv.op("Transpose", yh, perm=[1, 0, 2]) if layout else yh)
            if kind == "LSTM":
                cn.append(cv.op("Transpose", outs[2], perm=[1, 0, 2]) if layout else outs[2])
        h = hn[0] if len(hn) == 1 else cv.op("Concat", *hn, axis=0)
        if kind == "LSTM":
            c = cn[0] if len(cn) == 1 else cv.op("Concat", *cn, axis=0)
            return (y, h, c)
        return (y, h)
    return fn


_reg(aten.lstm.input)(_recurrent("LSTM"))
_reg(aten.gru.input)(_recurrent("GRU"))
_reg(aten.rnn_tanh.input, aten.rnn_relu.input)(_recurrent("RNN"))


# torch.export traces nn.LSTM/GRU/RNN through their step-by-step
# decomposition, which fixes the sequence length to the example's. During
# the capture the modules' _VF calls go through the opaque ops below
# instead (same arguments, same results, shapes symbolic in batch and
# sequence), and the converter reads them like aten.lstm.input.

_Tensor = torch.Tensor


def _fake_recurrent(input: _Tensor, hx: list[_Tensor], params: list[_Tensor], bidirectional: bool,
                    batch_first: bool, n: int) -> tuple:
    nd = 2 if bidirectional else 1
    hidden = hx[0].shape[-1]
    y = input.new_empty((input.shape[0], input.shape[1], nd * hidden))  # [batch, seq] or [seq, batch]
    return (y, *[h.new_empty(h.shape) for h in hx[:n]])


@torch.library.custom_op("mle_export::lstm", mutates_args=())
def _lstm_op(input: _Tensor, hx: list[_Tensor], params: list[_Tensor], has_biases: bool, num_layers: int,
             dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> tuple[_Tensor, _Tensor, _Tensor]:
    y, h, c = torch._VF.lstm(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
    return y.clone(), h.clone(), c.clone()


@_lstm_op.register_fake
def _(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):  # noqa: ANN001
    return _fake_recurrent(input, hx, params, bidirectional, batch_first, 2)


def _define_two_output(name: str, fn: Callable) -> Any:
    @torch.library.custom_op(f"mle_export::{name}", mutates_args=())
    def op(input: _Tensor, hx: _Tensor, params: list[_Tensor], has_biases: bool, num_layers: int,
           dropout: float, train: bool, bidirectional: bool, batch_first: bool) -> tuple[_Tensor, _Tensor]:
        y, h = fn(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)
        return y.clone(), h.clone()

    @op.register_fake
    def _(input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first):  # noqa: ANN001
        return _fake_recurrent(input, [hx], params, bidirectional, batch_first, 1)

    return op


_gru_op = _define_two_output("gru", torch._VF.gru)
_rnn_tanh_op = _define_two_output("rnn_tanh", torch._VF.rnn_tanh)
_rnn_relu_op = _define_two_output("rnn_relu", torch._VF.rnn_relu)

_reg(torch.ops.mle_export.lstm.default)(_recurrent("LSTM"))
_reg(torch.ops.mle_export.gru.default)(_recurrent("GRU"))
_reg(torch.ops.mle_export.rnn_tanh.default, torch.ops.mle_export.rnn_relu.default)(_recurrent("RNN"))


class _VFProxy:
    """torch._VF for nn.modules.rnn during a capture: the unpacked forms of
    lstm, gru and rnn_* go to the opaque ops; everything else to _VF."""

    def __init__(self, vf: Any) -> None:
        self._vf = vf

    def __getattr__(self, name: str) -> Any:
        return getattr(self._vf, name)

    def _route(self, op: Any, real: Any, *args: Any) -> Any:
        if len(args) == 9 and isinstance(args[0], torch.Tensor) and isinstance(args[3], bool):
            return op(*args)
        return real(*args)  # a PackedSequence (data, batch_sizes, ...): torch's own path

    def lstm(self, *args: Any) -> Any:
        return self._route(_lstm_op, self._vf.lstm, *args)

    def gru(self, *args: Any) -> Any:
        return self._route(_gru_op, self._vf.gru, *args)

    def rnn_tanh(self, *args: Any) -> Any:
        return self._route(_rnn_tanh_op, self._vf.rnn_tanh, *args)

    def rnn_relu(self, *args: Any) -> Any:
        return self._route(_rnn_relu_op, self._vf.rnn_relu, *args)


class recurrent_capture:
    """Context manager routing nn.LSTM/GRU/RNN through the opaque ops."""

    def __enter__(self) -> None:
        import torch.nn.modules.rnn as rnn

        self._rnn, self._saved = rnn, rnn._VF
        rnn._VF = _VFProxy(self._saved)

    def __exit__(self, *exc: Any) -> None:
        self._rnn._VF = self._saved
