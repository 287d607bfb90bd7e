"""Tree ensembles -> one TreeEnsemble node (docs/FORMAT.md): node arrays as
stored tensors, leaf values precomputed with the same float64 operations the
library applies per row (normalization, learning-rate scaling, path-length
terms), so that the engine only adds them, in tree order."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .._errors import MLEUnsupportedError
from .._graph import Graph

# Flags of the op's node array (graph.TreeFlag).
DEFAULT_LEFT = 1
MISSING_ZERO = 1 << 1
MISSING_NONE = 2 << 1
CATEGORICAL = 1 << 3
STRICT = 1 << 4
IN_SET_RIGHT = 1 << 5
INVALID_MISSING = 1 << 6
TRUNC_FIRST = 1 << 7


def unsupported(what: str) -> MLEUnsupportedError:
    return MLEUnsupportedError(what, 8 | 3 << 8, "MLE_ERR_UNSUPPORTED_FEATURE")


class Ensemble:
    """Collects trees into the op's arrays. Each tree is given in its own
    node numbering: feature (-1 for a leaf), threshold, left/right children
    (ignored for leaves), flags, leaf values [n_nodes, W] (read for leaves
    only) and optional categorical bitsets (bytes per node, or None). Trees
    are renumbered depth-first when their children do not already come after
    their parents, so the op's rule (children after parents) holds."""

    def __init__(self, width: int) -> None:
        self.width = width
        self._feature: list[np.ndarray] = []
        self._threshold: list[np.ndarray] = []
        self._left: list[np.ndarray] = []
        self._right: list[np.ndarray] = []
        self._flags: list[np.ndarray] = []
        self._leaves: list[np.ndarray] = []
        self._cat_sizes: list[np.ndarray] = []
        self._cat_bits: list[bytes] = []
        self.roots: list[int] = []
        self.targets: list[int] = []
        self._nodes = 0
        self._nleaves = 0
        self.has_cats = False

    def add(self, feature: Any, threshold: Any, left: Any, right: Any, flags: Any, values: Any,
            target: int = 0, cats: Sequence[bytes | None] | None = None) -> None:
        feature = np.asarray(feature, dtype=np.int64)
        n = len(feature)
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        values = np.asarray(values, dtype=np.float64).reshape(n, self.width)
        threshold = np.asarray(threshold, dtype=np.float64)
        flags = np.asarray(flags, dtype=np.uint8)
        leaf = feature < 0
        idx = np.arange(n)
        if not (np.all(left[~leaf] > idx[~leaf]) and np.all(right[~leaf] > idx[~leaf])):
            order = _preorder(leaf, left, right)
            inv = np.empty(n, dtype=np.int64)
            inv[order] = np.arange(len(order))
            feature, threshold, flags, values = feature[order], threshold[order], flags[order], values[order]
            left, right = inv[left[order]], inv[right[order]]
            leaf = feature < 0
            if cats is not None:
                cats = [cats[i] for i in order]
            n = len(order)
        off = self._nodes
        nleaf = int(leaf.sum())
        out_left = np.where(leaf, 0, left + off)
        out_left[leaf] = self._nleaves + np.arange(nleaf)
        out_right = np.where(leaf, -1, right + off)
        self._feature.append(np.where(leaf, -1, feature).astype(np.int32))
        self._threshold.append(np.where(leaf, 0.0, threshold))
        self._left.append(out_left.astype(np.int32))
        self._right.append(out_right.astype(np.int32))
        self._flags.append(np.where(leaf, 0, flags).astype(np.uint8))
        self._leaves.append(values[leaf])
        sizes = np.zeros(n, dtype=np.int64)
        if cats is not None:
            for i, c in enumerate(cats):
                if c and not leaf[i]:
                    sizes[i] = len(c)
                    self._cat_bits.append(bytes(c))
                    self.has_cats = True
        self._cat_sizes.append(sizes)
        self.roots.append(off)
        self.targets.append(target)
        self._nodes += n
        self._nleaves += nleaf

    def node(self, g: Graph, x: str, n_targets: int, *, base: Any = None, aggregate: str = "sum",
             accumulate: str | None = None, input_cast: str = "none", post_transform: str = "none",
             post_scale: float = 1.0, decision: str = "none", want_post: bool = False,
             want_decision: bool = False) -> tuple[str, str | None, str | None]:
        """Adds the TreeEnsemble node; returns (raw, transformed, decision)."""
        if not self.roots:
            raise unsupported("a tree ensemble with no trees")
        # By default the sums take the graph's dtype, so that the constants
        # of the nodes after it (g.const) match them.
        accumulate = accumulate or ("float32" if g.dtype == np.float32 else "float64")
        cat = lambda parts, dt: np.concatenate(parts).astype(dt, copy=False)  # noqa: E731
        ins = [x,
               g.const(cat(self._feature, np.int32), "tree_feature", np.int32),
               g.const(cat(self._threshold, np.float64), "tree_threshold", np.float64),
               g.const(cat(self._left, np.int32), "tree_left", np.int32),
               g.const(cat(self._right, np.int32), "tree_right", np.int32),
               g.const(cat(self._flags, np.uint8), "tree_flags", np.uint8),
               g.const(np.asarray(self.roots, dtype=np.int32), "tree_roots", np.int32),
               g.const(np.asarray(self.targets, dtype=np.int32), "tree_targets", np.int32),
               g.const(np.concatenate(self._leaves).reshape(-1, self.width), "tree_leaves", np.float64)]
        if self.has_cats:
            sizes = np.concatenate(self._cat_sizes)
            offsets = np.concatenate([[0], np.cumsum(sizes)])
            if offsets[-1] > np.iinfo(np.int32).max:
                raise unsupported("a tree ensemble whose categorical bitsets exceed 2 GiB")
            ins.append(g.const(offsets.astype(np.int32), "tree_cat_offsets", np.int32))
            ins.append(g.const(np.frombuffer(b"".join(self._cat_bits), dtype=np.uint8), "tree_cat_bits", np.uint8))
        if self._nodes > np.iinfo(np.int32).max - 1:
            raise unsupported(f"a tree ensemble of {self._nodes} nodes (at most 2^31 - 2)")
        base_values = [0.0] * n_targets if base is None else [float(v) for v in np.ravel(base)]
        raw = g.fresh("trees_raw")
        post = g.fresh("trees_post") if want_post else ""
        dec = g.fresh("trees_decision") if want_decision else ""
        g.nodes.append(("TreeEnsemble", ins, [raw, post, dec], dict(
            n_targets=int(n_targets), base_values=base_values, aggregate=aggregate, accumulate=accumulate,
            input_cast=input_cast, post_transform=post_transform, post_scale=float(post_scale),
            decision=decision)))
        return raw, post or None, dec or None


def _preorder(leaf: np.ndarray, left: np.ndarray, right: np.ndarray) -> list[int]:
    """Node ids reachable from node 0, depth-first, left before right."""
    order: list[int] = []
    stack = [0]
    seen = np.zeros(len(leaf), dtype=bool)
    while stack:
        i = stack.pop()
        if seen[i]:
            raise unsupported("a tree whose nodes are shared or cyclic")
        seen[i] = True
        order.append(i)
        if not leaf[i]:
            stack.append(int(right[i]))
            stack.append(int(left[i]))
    return order


def bitset_bytes(categories: Sequence[int], size: int | None = None) -> bytes:
    """A bitset (bit c%8 of byte c//8) holding categories."""
    cats = np.asarray(list(categories), dtype=np.int64)
    if cats.size and cats.min() < 0:
        raise unsupported("a categorical split on negative categories")
    n = size if size is not None else (int(cats.max()) // 8 + 1 if cats.size else 0)
    out = np.zeros(n, dtype=np.uint8)
    np.bitwise_or.at(out, cats // 8, (1 << (cats % 8)).astype(np.uint8))
    return out.tobytes()
