"""The mle.* metadata properties, read as untrusted input.

libmle checks the METADATA JSON itself (at most 1 MiB, depth 32, properties
string -> string); the values of the mle.* properties are JSON texts of their
own that only this binding interprets. Each is schema-checked here before
anything is built from it, so a hostile file gets an MLEFormatError naming the
property instead of a TypeError, KeyError, RecursionError or a huge allocation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ._errors import MLEFormatError

METADATA_FIELD = 7 | 5 << 8  # MLE_ERR_METADATA_FIELD

# Sanity bounds well above what any exporter writes.
MAX_METHODS = 64
MAX_NAME = 4096  # bytes of a method or feature name, as for graph names (docs/FORMAT.md section 9)
# An mle.classes array may take at most this many bytes per byte of its JSON
# text (a label "a" is 4 bytes of text and 4 bytes as <U1), plus a constant.
CLASSES_BYTES_PER_TEXT_BYTE = 16
CLASSES_BYTES_SLACK = 1 << 16

# Method names the binding implements; others in mle.methods are checked and kept.
METHODS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "decision_function",
           "transform", "score_samples")

_CLASS_DTYPE = re.compile(r"^[<>|=]?(?:(b)1|([iuf])(1|2|4|8)|(U)([0-9]{1,9})|(O))$")


def _bad(prop: str, what: str) -> MLEFormatError:
    return MLEFormatError(f"metadata property {prop!r}: {what}", METADATA_FIELD, "MLE_ERR_METADATA_FIELD")


def _json(props: dict, prop: str) -> Any:
    text = props[prop]
    if not isinstance(text, str):
        raise _bad(prop, f"expected a JSON string, got {type(text).__name__}")
    try:
        return json.loads(text)
    except RecursionError:
        raise _bad(prop, "JSON nested too deeply") from None
    except ValueError as e:  # JSONDecodeError, and integers too long to convert
        raise _bad(prop, f"invalid JSON: {e}") from None


def _name(prop: str, what: str, v: Any, empty: bool = False) -> str:
    if not isinstance(v, str) or (not v and not empty) or len(v.encode("utf-8", "surrogatepass")) > MAX_NAME:
        raise _bad(prop, f"{what} must be a {'' if empty else 'non-empty '}string of at most {MAX_NAME} bytes, "
                         f"got {_short(v)}")
    return v


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:57] + "..."


@dataclass
class Properties:
    """What the binding uses from the mle.* properties."""

    methods: dict[str, str]
    classes: np.ndarray | None
    labels_are_indices: bool
    feature_names: list[str] | None
    allow_nan: bool
    columns: bool = False  # each input is one named column (mle.columns = "inputs")
    missing_text: dict[str, str] | None = None  # what missing values in text columns are passed as
    nan_columns: frozenset[str] = frozenset()  # numeric columns that may hold NaN


def read(metadata: Any, inputs: Sequence[Any], outputs: Sequence[Any]) -> Properties:
    """Checks and converts the mle.* properties. inputs/outputs: TensorSpecs."""
    if not isinstance(metadata, dict):
        raise MLEFormatError("metadata: expected a JSON object", METADATA_FIELD, "MLE_ERR_METADATA_FIELD")
    props = metadata.get("properties", {})
    if not isinstance(props, dict):
        raise _bad("properties", f"expected an object of strings, got {type(props).__name__}")

    methods: dict[str, Any] = {}  # method -> output name (a tuple of names: one array per target)
    if "mle.methods" in props:
        raw = _json(props, "mle.methods")
        if not isinstance(raw, dict):
            raise _bad("mle.methods", f"expected an object of method -> output name, got {type(raw).__name__}")
        if len(raw) > MAX_METHODS:
            raise _bad("mle.methods", f"{len(raw)} methods; at most {MAX_METHODS}")
        names = {s.name for s in outputs}
        for method, out in raw.items():
            _name("mle.methods", "a method name", method)
            many = isinstance(out, list) and method in ("predict_proba", "predict_log_proba")
            if many and not 0 < len(out) <= MAX_METHODS:
                raise _bad("mle.methods", f"{method} lists {len(out)} outputs; 1 to {MAX_METHODS}")
            for o in out if many else [out]:
                _name("mle.methods", f"the output of {method}", o)
                if o not in names:
                    raise _bad("mle.methods", f"{method} refers to output {o!r}, which the model does not have "
                                              f"(it has {sorted(names)})")
            methods[method] = tuple(out) if many else out
        columns = props.get("mle.columns") == "inputs"
        if methods and columns:
            if not inputs or any(len(s.shape) != 1 for s in inputs):
                raise _bad("mle.columns", "a model of columns takes 1-D inputs, this one has "
                                          f"{[list(s.shape) for s in inputs]}")
        elif methods:
            documents = len(inputs) == 1 and inputs[0].mle_dtype == "string" and len(inputs[0].shape) == 1
            if not documents and (len(inputs) != 1 or len(inputs[0].shape) != 2):
                raise _bad("mle.methods", "estimator methods need a model with one 2-D input (or one 1-D "
                                          f"string input of documents), this one has "
                                          f"{[list(s.shape) for s in inputs]}")

    classes = None
    if "mle.classes" in props:
        classes = _classes(props)

    labels_are_indices = False
    if "mle.labels" in props:
        if props["mle.labels"] != "index":
            raise _bad("mle.labels", f"expected \"index\", got {_short(props['mle.labels'])}")
        if classes is None:
            raise _bad("mle.labels", "\"index\" needs mle.classes to map the indices to")
        labels_are_indices = True
    if classes is not None and "predict" in methods:
        label = next(s for s in outputs if s.name == methods["predict"])
        if labels_are_indices and label.dtype.kind not in "iu":
            raise _bad("mle.labels", f"predict's output {label.name!r} must hold integer class indices, "
                                     f"not {label.mle_dtype}")
        if not labels_are_indices and _KIND_FAMILY[label.dtype.kind] != _KIND_FAMILY[classes.dtype.kind]:
            raise _bad("mle.classes", f"{classes.dtype} classes do not fit predict's output {label.name!r}, "
                                      f"which holds {label.mle_dtype}")

    feature_names = None
    if "mle.feature_names" in props:
        raw = _json(props, "mle.feature_names")
        if not isinstance(raw, list):
            raise _bad("mle.feature_names", f"expected a list of strings, got {type(raw).__name__}")
        feature_names = [_name("mle.feature_names", "a feature name", v, empty=True) for v in raw]
        width = inputs[0].shape[-1] if len(inputs) == 1 and len(inputs[0].shape) == 2 else None
        if width is not None and width != -1 and width != len(feature_names):
            raise _bad("mle.feature_names", f"{len(feature_names)} names for an input of {width} features")

    allow_nan = False
    if "mle.allow_nan" in props:
        if props["mle.allow_nan"] not in ("true", "false"):
            raise _bad("mle.allow_nan", f"expected \"true\" or \"false\", got {_short(props['mle.allow_nan'])}")
        allow_nan = props["mle.allow_nan"] == "true"

    columns = props.get("mle.columns") == "inputs"
    if "mle.columns" in props and not columns:
        raise _bad("mle.columns", f"expected \"inputs\", got {_short(props['mle.columns'])}")
    nan_columns: frozenset[str] = frozenset()
    if "mle.nan_columns" in props:
        raw = _json(props, "mle.nan_columns")
        if not isinstance(raw, list):
            raise _bad("mle.nan_columns", f"expected a list of column names, got {type(raw).__name__}")
        nan_columns = frozenset(_name("mle.nan_columns", "a column name", v) for v in raw)
    missing_text = None
    if "mle.missing_text" in props:
        missing_text = _json(props, "mle.missing_text")
        if not isinstance(missing_text, dict) or set(missing_text) - {"None", "NaN", "NA"} or \
                not all(isinstance(v, str) for v in missing_text.values()):
            raise _bad("mle.missing_text", "expected an object mapping \"None\", \"NaN\" and \"NA\" to strings")
    return Properties(methods, classes, labels_are_indices, feature_names, allow_nan, columns=columns,
                      nan_columns=nan_columns, missing_text=missing_text)


# Which class dtypes a label output of each numpy kind holds: integers
# (int64 labels), floats, bools, text (string labels: str or object classes).
_KIND_FAMILY = {"i": "int", "u": "int", "f": "float", "b": "bool", "U": "text", "O": "text", "V": "other"}


def _classes(props: dict) -> np.ndarray:
    prop = "mle.classes"
    raw = _json(props, prop)
    if not isinstance(raw, dict) or set(raw) != {"dtype", "values"}:
        raise _bad(prop, "expected an object with exactly the keys \"dtype\" and \"values\"")
    spec, values = raw["dtype"], raw["values"]
    m = _CLASS_DTYPE.match(spec) if isinstance(spec, str) else None
    if m is None:
        raise _bad(prop, f"dtype must be a bool, int, uint, float, str (<Un) or object dtype, got {_short(spec)}")
    if not isinstance(values, list) or not values:
        raise _bad(prop, "values must be a non-empty list")
    try:
        dt = np.dtype(spec)
    except TypeError:  # e.g. a string length numpy cannot represent
        raise _bad(prop, f"dtype must be a bool, int, uint, float, str (<Un) or object dtype, got {_short(spec)}"
                   ) from None
    limit = CLASSES_BYTES_PER_TEXT_BYTE * len(props[prop]) + CLASSES_BYTES_SLACK
    if len(values) * dt.itemsize > limit:
        raise _bad(prop, f"{len(values)} values of {dt} would take {len(values) * dt.itemsize} bytes, "
                         f"far more than the property's text ({len(props[prop])} bytes)")
    kind = dt.kind
    for v in values:
        if kind == "b":
            ok = isinstance(v, bool)
        elif kind in "iu":
            ok = isinstance(v, int) and not isinstance(v, bool)
        elif kind == "f":
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        elif kind == "U":
            ok = isinstance(v, str) and len(v) <= dt.itemsize // 4  # numpy would cut longer labels short
        else:  # object: labels of mixed or unusual types, as scalars
            ok = isinstance(v, (str, int, float, bool))
        if not ok:
            raise _bad(prop, f"value {_short(v)} does not fit dtype {dt}")
    try:
        if kind == "O":
            arr = np.empty(len(values), dtype=object)
            arr[:] = values
            return arr
        return np.array(values, dtype=dt)
    except (OverflowError, ValueError, TypeError) as e:
        raise _bad(prop, f"values do not fit dtype {dt}: {e}") from None
