"""Builds libmle with Go and ships it inside the package.

`pip install ./bindings/python` (or -e for development) runs `go build
-buildmode=c-shared` in the repository root and puts libmle.so next to the
Python files. Set MLE_PREBUILT_LIB=/path/to/libmle.so to copy an already
built library instead (the Makefile does, to build it once).

The sdist is self-contained: it carries the Go sources libmle is built from
and their dependencies (`go mod vendor`) under _mle_go/, so `pip install
mle_runtime-X.tar.gz` needs Go but no network and no checkout. The wheel is
tagged py3-none-<platform>: the package is ctypes over a C library, so any
CPython 3 (and PyPy) loads it.
"""

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel

HERE = Path(__file__).resolve().parent
PACKAGE_LIB = HERE / "mle_runtime" / "libmle.so"
VENDORED = HERE / "_mle_go"  # the Go tree inside an sdist
# What libmle is built from, relative to the repository root.
GO_TREE = ("go.mod", "go.sum", "capi", "core", "kernels", "include", "LICENSE")


def go_root() -> Path:
    """The Go tree to build: the sdist's copy, else the repository above."""
    if (VENDORED / "go.mod").exists():
        return VENDORED
    for d in (HERE, *HERE.parents):
        if (d / "go.mod").exists() and (d / "capi").is_dir():
            return d
    raise SystemExit("mle_runtime: cannot find the MLE Go sources (go.mod, capi/) in the sdist's _mle_go/ or above "
                     + str(HERE) + "; install from the repository or from the sdist, or set MLE_PREBUILT_LIB")


def abi_version(root: Path) -> str:
    for line in (root / "include" / "mle.h").read_text().splitlines():
        if line.startswith("#define MLE_ABI_VERSION "):
            return line.split()[2].rstrip("u")
    raise SystemExit("mle_runtime: MLE_ABI_VERSION not found in include/mle.h")


def build_libmle() -> None:
    prebuilt = os.environ.get("MLE_PREBUILT_LIB")
    if prebuilt:
        # A new file renamed over the old one: processes that have the old
        # library mapped keep it (writing into it would crash them).
        tmp = PACKAGE_LIB.with_name(PACKAGE_LIB.name + ".tmp")
        shutil.copyfile(prebuilt, tmp)
        os.replace(tmp, PACKAGE_LIB)
        return
    root = go_root()
    go = shutil.which("go")
    if go is None:
        raise SystemExit("mle_runtime: building libmle needs Go 1.26 or later (https://go.dev/dl), "
                         "or set MLE_PREBUILT_LIB to an already-built libmle.so")
    # The same flags as the Makefile's lib target.
    ldflags = (f"-s -extldflags '-Wl,--version-script={root / 'capi' / 'libmle.map'} -Wl,-z,nodelete "
               f"-Wl,-soname,libmle.so.{abi_version(root)}'")
    env = dict(os.environ, CGO_ENABLED="1")
    env["CGO_CFLAGS"] = (env.get("CGO_CFLAGS", "-O2 -g") + f" -include {root / 'capi' / 'glibc_compat.h'}").strip()
    args = [go, "build", "-buildmode=c-shared", "-trimpath", "-tags", "netgo,osusergo", f"-ldflags={ldflags}"]
    if root == VENDORED:
        args.append("-mod=vendor")  # offline: the sdist carries every module
    tmp = PACKAGE_LIB.with_name(PACKAGE_LIB.name + ".tmp")
    subprocess.run([*args, "-o", str(tmp), "./capi"], cwd=root, env=env, check=True)
    os.replace(tmp, PACKAGE_LIB)
    for header in (PACKAGE_LIB.with_suffix(".h"), tmp.with_suffix(".h")):  # cgo's internal header
        header.unlink(missing_ok=True)


class BuildWithLibmle(build_py):
    def run(self) -> None:
        build_libmle()
        super().run()


class SdistWithGo(sdist):
    """Adds the Go tree and its vendored modules under _mle_go/."""

    def make_release_tree(self, base_dir: str, files: list) -> None:
        super().make_release_tree(base_dir, files)
        root = go_root()
        dest = Path(base_dir).resolve() / "_mle_go"
        for name in GO_TREE:
            src = root / name
            if src.is_dir():
                shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("*_test.go", "testdata", "*.test"))
            else:
                dest.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / name)
        if root != VENDORED:
            with tempfile.TemporaryDirectory() as tmp:
                # Tests were left out above, so vendor from the trimmed tree: only what the build imports.
                subprocess.run(["go", "mod", "vendor", "-o", str(dest / "vendor")], cwd=dest, check=True,
                               env=dict(os.environ, GOFLAGS="-mod=mod", GOWORK="off", TMPDIR=tmp))
        else:
            shutil.copytree(root / "vendor", dest / "vendor")


class PlatformWheel(bdist_wheel):
    """py3-none-<platform>: one wheel for every Python 3, carrying libmle.
    MLE_WHEEL_PLATFORM (e.g. manylinux_2_28_x86_64) names the platform;
    make dist sets it after checking the library's glibc symbol versions."""

    def get_tag(self) -> tuple:
        _, _, plat = super().get_tag()
        return "py3", "none", os.environ.get("MLE_WHEEL_PLATFORM", plat)


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibmle, "sdist": SdistWithGo, "bdist_wheel": PlatformWheel},
      distclass=BinaryDistribution)
