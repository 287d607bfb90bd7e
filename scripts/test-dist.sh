#!/usr/bin/env bash
# make test-dist: installs each artifact of DIR (default dist/, made by
# scripts/dist.sh) outside the checkout, into a fresh environment, the way a
# user would, and runs a model with it. Nothing from the checkout is on any
# search path (no MLE_LIB_DIR, LD_LIBRARY_PATH or PYTHONPATH).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
dist=$(cd "${1:-dist}" && pwd)
model=$root/build/conformance/models/mlp_classifier.mle
version=$(sed -n 's/^#define MLE_VERSION_STRING "\(.*\)"$/\1/p' include/mle.h)
work=$(mktemp -d /tmp/mle-test-dist.XXXXXX)
trap 'rm -rf "$work"' EXIT
unset MLE_LIB_DIR LD_LIBRARY_PATH PYTHONPATH MLE_LIBRARY
step() { printf '\n== %s\n' "$*"; }

step "C/C++ tarball: find_package, pkg-config, the CLI"
tar -C "$work" -xzf "$dist/mle-$version-linux-x86_64.tar.gz"
prefix=$work/mle-$version-linux-x86_64
cmp "$prefix/LICENSE" LICENSE
cmake -S tests/cmake_consumer -B "$work/cmake-consumer" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cmake-consumer" >/dev/null
test "$("$work/cmake-consumer/consumer")" = "$version"
PKG_CONFIG_PATH=$prefix/lib/pkgconfig
export PKG_CONFIG_PATH
# shellcheck disable=SC2046 # pkg-config's flags are words
cc tests/cmake_consumer/main.c $(pkg-config --cflags --libs mle) -Wl,-rpath,"$(pkg-config --variable=libdir mle)" \
  -o "$work/pc-consumer"
test "$("$work/pc-consumer")" = "$version"
unset PKG_CONFIG_PATH
"$prefix/bin/mle" validate "$model"
"$prefix/bin/mle" --version | grep -q "^mle $version "

step "Python wheel in a fresh venv: a model, and mypy --strict against the installed package"
python3 -m venv "$work/venv-wheel"
"$work/venv-wheel/bin/pip" install -q "$dist/mle_runtime-$version-py3-none-manylinux_2_28_x86_64.whl"
cat > "$work/use.py" <<PY
import numpy as np
import mle_runtime

def labels(path: str, X: np.ndarray) -> np.ndarray:
    with mle_runtime.load(path) as m:
        y: np.ndarray = m.predict(X) if m.classes_ is not None else m.run(X)["label"]
        return y

m = mle_runtime.load("$model")
x = np.zeros((3, m.inputs[0].shape[-1]), dtype=m.inputs[0].dtype)
out = m.run(x)
assert all(v.shape[0] == 3 for v in out.values()), out
print("installed:", mle_runtime.__file__, mle_runtime.library_version(), sorted(out))
PY
(cd "$work" && venv-wheel/bin/python use.py)
"$work/venv-wheel/bin/python" -c "import mle_runtime, pathlib; p = pathlib.Path(mle_runtime.__file__).parent; \
assert (p / 'py.typed').exists() and (p / 'libmle.so').exists(); assert '$root' not in str(p)"
(cd "$work" && "$root/.venv/bin/python" -m mypy --strict --no-incremental --cache-dir "$work/mypy-cache" \
  --python-executable "$work/venv-wheel/bin/python" use.py)

step "Python sdist in a fresh venv: builds libmle with Go from the vendored sources, offline"
python3 -m venv "$work/venv-sdist"
"$work/venv-sdist/bin/pip" install -q numpy "setuptools>=77"  # what pyproject.toml requires
GOFLAGS=-mod=vendor GOPROXY=off "$work/venv-sdist/bin/pip" install -q --no-build-isolation \
  "$dist/mle_runtime-$version.tar.gz"
(cd "$work" && venv-sdist/bin/python use.py)
step "npm package in a fresh project: the prebuilt addon through require and import"
MLE_CONFORMANCE_DIR=$root/build/conformance node bindings/node/scripts/check-install.js "$dist/mle-runtime-$version.tgz"

# The crates: bindings/rust/scripts/install-test.sh (make test-rust) builds consumer crates from the
# packaged .crate files; here the ones in dist/ are checked to be those files, whole.
step "crates: dist/ holds both, with their license"
for c in mle-sys mle; do
  tar -tzf "$dist/$c-$version.crate" | grep -x "$c-$version/LICENSE" >/dev/null  # not -q: tar must not get SIGPIPE
done

echo
echo "test-dist: every artifact installed outside the checkout and ran a model"
