"""Builds libmle with Go and ships it inside the package.

`pip install ./bindings/python` (or -e for development) runs `go build
-buildmode=c-shared` in the repository root and puts libmle.so next to the
Python files. Set MLE_PREBUILT_LIB=/path/to/libmle.so to copy an already
built library instead (the Makefile does, to build it once).
"""

import os
import shutil
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
PACKAGE_LIB = HERE / "mle_runtime" / "libmle.so"


def repo_root() -> Path:
    for d in (HERE, *HERE.parents):
        if (d / "go.mod").exists() and (d / "capi").is_dir():
            return d
    raise SystemExit("mle_runtime: cannot find the MLE repository (go.mod, capi/) above " + str(HERE))


def build_libmle() -> None:
    prebuilt = os.environ.get("MLE_PREBUILT_LIB")
    if prebuilt:
        shutil.copyfile(prebuilt, PACKAGE_LIB)
        return
    root = repo_root()
    go = shutil.which("go")
    if go is None:
        raise SystemExit("mle_runtime: building libmle needs Go (https://go.dev/dl), or set MLE_PREBUILT_LIB")
    ldflags = (f"-s -extldflags '-Wl,--version-script={root / 'capi' / 'libmle.map'} -Wl,-z,nodelete "
               "-Wl,-soname,libmle.so'")
    subprocess.run([go, "build", "-buildmode=c-shared", "-trimpath", f"-ldflags={ldflags}", "-o", str(PACKAGE_LIB),
                    "./capi"], cwd=root, check=True)
    header = PACKAGE_LIB.with_suffix(".h")  # cgo's internal header
    header.unlink(missing_ok=True)


class BuildWithLibmle(build_py):
    def run(self) -> None:
        build_libmle()
        super().run()


class BinaryDistribution(Distribution):
    """The wheel carries a native library: tag it for this platform."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibmle}, distclass=BinaryDistribution)
