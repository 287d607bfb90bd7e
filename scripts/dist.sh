#!/usr/bin/env bash
# make dist: every release artifact of this checkout, into DIR (default dist/):
#   mle-V-linux-x86_64.tar.gz   libmle.so.N + libmle.so, headers, mle.pc, the CMake package, bin/mle, LICENSE
#   mle_runtime-V-py3-none-manylinux_2_28_x86_64.whl, mle_runtime-V.tar.gz (sdist with the Go sources vendored)
#   mle-runtime-V.tgz (the npm package with its prebuilt addon), mle-sys-V.crate and mle-V.crate
# Expects what `make dist` builds first: build/libmle.so.N, build/mle, build/cmake.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
find "$out" -mindepth 1 -delete
version=$(sed -n 's/^#define MLE_VERSION_STRING "\(.*\)"$/\1/p' include/mle.h)
abi=$(sed -n 's/^#define MLE_ABI_VERSION \([0-9]*\)u$/\1/p' include/mle.h)
lib=build/libmle.so.$abi
py=$root/.venv/bin/python

# The wheel says manylinux_2_28: no symbol of libmle may need a newer glibc
# (capi/glibc_compat.h binds the pthread functions to their old versions).
newest=$(objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
if [ "$(printf '%s\n2.28\n' "$newest" | sort -V | tail -1)" != 2.28 ]; then
  echo "dist: $lib needs glibc $newest, newer than manylinux_2_28 allows:" >&2
  objdump -T "$lib" | grep -E "GLIBC_2\.(29|[3-9][0-9])" >&2
  exit 1
fi

# C/C++: an install tree, as cmake --install lays it out.
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
name=mle-$version-linux-x86_64
cmake --install build/cmake --prefix "$stage/$name" >/dev/null
cp LICENSE "$stage/$name/LICENSE"
tar -C "$stage" -czf "$out/$name.tar.gz" "$name"

# Python: the wheel (libmle inside, any CPython 3) and the self-contained sdist.
(cd bindings/python &&
  rm -rf build &&
  MLE_PREBUILT_LIB=$root/$lib MLE_WHEEL_PLATFORM=manylinux_2_28_x86_64 \
    "$py" -m pip wheel -q --no-deps --no-build-isolation -w "$out" . &&
  "$py" setup.py -q sdist -d "$out" >/dev/null 2>&1 &&
  rm -rf build mle_runtime.egg-info)
# auditwheel names the oldest policy the wheel meets; it must be manylinux_2_28 or older.
"$py" -m auditwheel show "$out"/mle_runtime-"$version"-py3-none-manylinux_2_28_x86_64.whl > "$stage/auditwheel.txt"
policy=$(tr '\n' ' ' < "$stage/auditwheel.txt" | grep -o 'platform tag: *"manylinux_2_[0-9]*_x86_64"' | grep -o '2_[0-9]*_' |
  cut -d_ -f2)
if [ -z "$policy" ] || [ "$policy" -gt 28 ] || ! grep -q "requires no external shared libraries" "$stage/auditwheel.txt"; then
  cat "$stage/auditwheel.txt" >&2
  echo "dist: auditwheel does not find the wheel manylinux_2_28-clean" >&2
  exit 1
fi
# Node: the npm package with its prebuilt addon and libmle.so.1 ($ORIGIN), falling back to a source build.
(cd bindings/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
node bindings/node/scripts/pack.js "$out" >/dev/null

# Rust: the mle-sys and mle .crate files, packaged and verified together.
MLE_LIB_DIR=$root/build CARGO_BUILD_JOBS=2 bindings/rust/scripts/package.sh "$out" >/dev/null

ls -1 "$out"
