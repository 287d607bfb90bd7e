"""The model registry (mle_registry in libmle): versions of models in a
directory that `mle serve --repository` serves, with records, aliases,
deprecation and garbage collection. Python only marshals JSON: the registry
itself is the Go implementation the CLI and the server use."""

from __future__ import annotations

import base64
import ctypes
import json
import os
from typing import Any

from . import _lib

SCHEME = "registry://"


def _call(request: dict) -> dict:
    lib = _lib.get()
    out, err = ctypes.c_char_p(), ctypes.c_void_p()
    status = lib.mle_registry(json.dumps(request).encode(), ctypes.byref(out), ctypes.byref(err))
    try:
        _lib.check(status, err)
        return json.loads(out.value.decode())
    finally:
        if out:
            lib.mle_free(out)


def resolve(uri: str, *, verify: bool = False) -> tuple[str, dict]:
    """The file a ``registry://DIR/MODEL[@REF]`` URI names, and its record.
    With verify, the file is hashed and must match the SHA-256 it was
    registered with (MLESecurityError, MLE_ERR_DIGEST_MISMATCH)."""
    r = _call({"verb": "resolve", "uri": uri, "verify": verify})
    return r["path"], r["record"]


class ModelRegistry:
    """A registry directory. Every method is safe with other writers (in this
    or other processes): they serialize on a lock file, and readers see a
    version whole or not at all.

    REF arguments are a version number, an alias or ``"latest"`` (the highest
    version not deprecated). Records are dicts: model, version, sha256, size,
    semver, name, inputs, outputs, signers, lineage, registered_at, source,
    deprecated, aliases."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = os.fspath(path)

    def __repr__(self) -> str:
        return f"ModelRegistry({self.path!r})"

    def register(self, file: str | os.PathLike, model: str, *, version: int | None = None, alias: str | None = None,
                 key: bytes | None = None) -> dict:
        """Copies file in as the next version of model (or ``version``; an
        existing one raises MLEValueError) after validating it, and points
        ``alias`` at it. ``key`` validates an encrypted file's inside too."""
        req: dict[str, Any] = {"verb": "register", "dir": self.path, "file": os.fspath(file), "model": model}
        if version is not None:
            req["version"] = int(version)
        if alias is not None:
            req["alias"] = alias
        if key is not None:
            req["key"] = base64.b64encode(bytes(key)).decode()
        return _call(req)["record"]

    def list(self) -> list[dict]:
        """Every model: {"name", "versions": [records], "aliases": {alias: version}}."""
        return _call({"verb": "list", "dir": self.path})["models"]

    def show(self, model: str, ref: str | int = "latest") -> dict:
        return _call({"verb": "show", "dir": self.path, "model": model, "ref": str(ref)})["record"]

    def file(self, model: str, ref: str | int = "latest") -> str:
        """The path of a version's model file."""
        return _call({"verb": "show", "dir": self.path, "model": model, "ref": str(ref)})["path"]

    def uri(self, model: str, ref: str | int = "latest") -> str:
        """``registry://DIR/MODEL@REF``, which load() and every mle command accept."""
        return f"{SCHEME}{os.path.abspath(self.path)}/{model}@{ref}"

    def compare(self, model: str, a: str | int, b: str | int) -> list[dict]:
        """The fields that differ between two versions: [{"field", "a", "b"}]."""
        return _call({"verb": "compare", "dir": self.path, "model": model, "ref": str(a), "ref2": str(b)})["differences"]

    def set_alias(self, model: str, alias: str, version: int) -> None:
        _call({"verb": "alias", "dir": self.path, "model": model, "alias": alias, "version": int(version)})

    def remove_alias(self, model: str, alias: str) -> None:
        _call({"verb": "unalias", "dir": self.path, "model": model, "alias": alias})

    def deprecate(self, model: str, version: int, reason: str) -> None:
        """Marks a version deprecated (an empty reason undoes it)."""
        _call({"verb": "deprecate", "dir": self.path, "model": model, "version": int(version), "reason": reason})

    def gc(self, *, keep: int = 0, dry_run: bool = False) -> list[dict]:
        """Removes deprecated versions and, with keep, all but the newest
        ``keep`` of each model, never an aliased one. Returns their records."""
        return _call({"verb": "gc", "dir": self.path, "keep": int(keep), "dry_run": bool(dry_run)})["removed"]

    def load(self, model: str, ref: str | int = "latest", **options: Any):
        """Opens a version (its digest checked), as load(uri) does."""
        from . import load

        return load(self.uri(model, ref), **options)
