"""The converter registry: each converter is registered under the fully
qualified public name of the class it converts ("sklearn.svm.SVC") and is
found by class identity, so a subclass (which may override predict) is not
exported as its parent unless a converter says it takes subclasses."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

# Kinds of converter:
#   transformer: (graph, estimator, input value) -> output value
#   predictor:   (graph, estimator, input value) -> Head
#   model:       (model, dtype, example_input) -> (graph, Head, info): a whole model (Booster, torch Module)
TRANSFORMER, PREDICTOR, MODEL = "transformer", "predictor", "model"


@dataclass(frozen=True)
class Converter:
    name: str  # fully qualified public class name
    kind: str
    fn: Callable[..., Any]
    note: str  # what is covered, for the supported-estimators table
    subclasses: bool
    columns: bool  # takes named columns of mixed types (export/_table.py), passing them on
    inner: Callable[[Any], Any] | None  # a wrapper's estimator that first sees the input


_BY_NAME: dict[str, Converter] = {}
_BY_CLASS: dict[type, Converter] = {}
_RESOLVED: set[str] = set()  # top-level packages whose names were resolved to classes


def register(name: str, kind: str, note: str = "", *, subclasses: bool = False, columns: bool = False,
             inner: Callable[[Any], Any] | None = None) -> Callable:
    """Registers the decorated function as the converter of class ``name``."""
    if kind not in (TRANSFORMER, PREDICTOR, MODEL):
        raise ValueError(f"unknown converter kind {kind!r}")

    def add(fn: Callable) -> Callable:
        if name in _BY_NAME:
            raise ValueError(f"{name} has two converters")
        _BY_NAME[name] = Converter(name, kind, fn, note, subclasses, columns or inner is not None, inner)
        return fn

    return add


def _resolve(package: str) -> None:
    """Maps the registered names of one top-level package to their classes
    (the package is imported already: an object of it exists)."""
    if package in _RESOLVED:
        return
    _RESOLVED.add(package)
    for name, conv in _BY_NAME.items():
        if name.split(".", 1)[0] != package:
            continue
        module, _, attr = name.rpartition(".")
        try:
            cls = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError):
            continue  # not in the installed version
        _BY_CLASS[cls] = conv


def find(obj: Any) -> Converter | None:
    """The converter for obj's class, or None."""
    cls = type(obj)
    _resolve(cls.__module__.split(".", 1)[0])
    conv = _BY_CLASS.get(cls)
    if conv is not None:
        return conv
    for base in cls.__mro__[1:]:
        _resolve(base.__module__.split(".", 1)[0])
        conv = _BY_CLASS.get(base)
        if conv is not None and conv.subclasses:
            return conv
    return None


def subclassed(obj: Any) -> str | None:
    """The registered class obj's class derives from, if any (for the refusal)."""
    for base in type(obj).__mro__[1:]:
        conv = _BY_CLASS.get(base)
        if conv is not None:
            return conv.name
    return None


def no_converter(obj: Any, what: str = "") -> str:
    """What to say of an object no converter takes: its class, and why a
    subclass of a supported class is not taken as its parent."""
    cls = type(obj)
    name = f"{what}{cls.__module__}.{cls.__qualname__}"
    parent = subclassed(obj)
    if parent is not None:
        return (f"{name}, a subclass of {parent} (a subclass may compute something else, so it is not exported "
                "as its parent)")
    return name


def all_converters() -> list[Converter]:
    """Every registered converter, by name."""
    return [_BY_NAME[k] for k in sorted(_BY_NAME)]
