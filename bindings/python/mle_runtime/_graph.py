"""A small graph under construction in Python, written through the Go builder."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from ._builder import Builder


@dataclass
class Graph:
    """Nodes and constants collected by an exporter. Values are named
    strings; ``const`` and ``op`` return the name of what they create."""

    dtype: np.dtype
    inputs: list[tuple[str, np.dtype, list[int]]] = field(default_factory=list)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    nodes: list[tuple[str, list[str], list[str], dict]] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)  # node index -> node name
    bools: set[str] = field(default_factory=set)  # values that hold bool (cast before numeric use)
    _n: int = 0
    _taken: set[str] = field(default_factory=set)  # names fresh() must not make (inputs named after columns)

    def reserve(self, name: str) -> str:
        """Claims a name chosen outside (an input named after a column)."""
        self._taken.add(name)
        return name

    def fresh(self, hint: str) -> str:
        while True:
            self._n += 1
            name = f"{hint}_{self._n}"
            if name not in self._taken:
                return name

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        """Stores a constant, in the graph's float dtype unless dtype is given."""
        name = self.fresh(hint)
        self.consts[name] = np.ascontiguousarray(np.asarray(value, dtype=dtype or self.dtype))
        return name

    def op(self, op: str, *inputs: str, hint: str | None = None, outputs: int = 1, node_name: str | None = None,
           **attrs: Any) -> Any:
        """Appends a node and returns its output name (or names). node_name
        names the node itself, for the engine's error messages."""
        outs = [self.fresh(hint or op.lower()) for _ in range(outputs)]
        if node_name is not None:
            self.names[len(self.nodes)] = node_name
        self.nodes.append((op, list(inputs), outs, attrs))
        return outs[0] if outputs == 1 else outs

    # Helpers for patterns every exporter needs.

    def flatten_column(self, y: str) -> str:
        """[N, 1] -> [N]."""
        return self.op("Reshape", y, self.const([-1], "shape", np.int64))

    def column(self, y: str) -> str:
        """[N] -> [N, 1]."""
        return self.op("Reshape", y, self.const([-1, 1], "shape", np.int64))

    def two_class_proba(self, p: str) -> str:
        """[N] probability of class 1 -> [N, 2] as [1 - p, p]."""
        one = self.const(1.0, "one")
        return self.op("Concat", self.column(self.op("Sub", one, p)), self.column(p), axis=1, hint="proba")

    def write(self, inputs: Sequence[tuple[str, np.dtype, Sequence[int]]], outputs: dict[str, str],
              metadata: dict, path: str | os.PathLike | None, *, durable: bool = True) -> tuple[int, bytes | None]:
        """Writes the graph; ``outputs`` maps public output names to values.
        A value a node produces takes its public name directly; one that is
        an input, a constant or published twice gets an Identity (a free view
        in the engine). Saves to path (returning the size) or serializes
        (returning the bytes)."""
        with self.builder(inputs, outputs, metadata) as b:
            if path is not None:
                return b.save(path, durable=durable), None
            data = b.serialize()
            return len(data), data

    def builder(self, inputs: Sequence[tuple[str, np.dtype, Sequence[int]]], outputs: dict[str, str],
                metadata: dict) -> Builder:
        """A Builder holding the graph, for the caller to save (and close);
        ``outputs`` as write takes them."""
        produced = {o for _, _, outs, _ in self.nodes for o in outs}
        rename: dict[str, str] = {}
        identities: list[tuple[str, str]] = []
        for public, value in outputs.items():
            if value in produced and value not in rename:
                rename[value] = public
            else:
                identities.append((public, value))
        b = Builder()
        try:
            b.set_metadata(metadata)
            for name, dt, shape in inputs:
                b.add_input(name, dt, shape)
            for name, value in self.consts.items():
                b.add_tensor(name, value)
            for k, (op, ins, outs, attrs) in enumerate(self.nodes):
                b.add_node(op, [rename.get(i, i) for i in ins], [rename.get(o, o) for o in outs],
                           name=self.names.get(k), **attrs)
            for public, value in identities:
                b.add_node("Identity", [rename.get(value, value)], [public])
            for public in outputs:
                b.add_output(public)
        except BaseException:
            b.close()
            raise
        return b
