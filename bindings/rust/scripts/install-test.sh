#!/usr/bin/env bash
# Install test of the Rust crates: fresh cargo projects in a temporary directory outside the repository,
# each a binary depending on `mle` alone (never mle-sys), which run a conformance case
# (scripts/consumer/main.rs: every output equal to the manifest's) with no LD_LIBRARY_PATH:
#
#  (a) `mle` by path, libmle from MLE_LIB_DIR: without a build.rs the binary must fail to load libmle;
#      with the docs/rust.md recipe (build.rs, DEP_MLE_RUST_LIB_DIR) it runs.
#  (b) the packaged .crate files (scripts/package.sh) as `mle = "=VERSION"` from a local directory
#      registry (source replacement, --offline: what a crates.io user gets), libmle found by pkg-config in
#      a `cmake --install` prefix; then the build script's errors (nothing found, a bad MLE_LIB_DIR, one of
#      another C ABI, build-from-source without a source tree or without go), and build-from-source from
#      MLE_SOURCE_DIR (SONAME and exported symbols checked).
#
# Needs: build/libmle.so (make lib), build/conformance (make conformance), cargo, cmake, pkg-config, go.
# Usage: bindings/rust/scripts/install-test.sh [CASE...]   (default: mlp_classifier mixed_columns, the latter
# with string tensors and an expected MLE_ERR_DTYPE; MLE_LIB_DIR and MLE_CONFORMANCE_DIR override)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rust=$(dirname "$here")
root=$(cd "$rust/../.." && pwd)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(mlp_classifier mixed_columns)
lib_dir=$(cd "${MLE_LIB_DIR:-$root/build}" && pwd -P)
export MLE_CONFORMANCE_DIR=${MLE_CONFORMANCE_DIR:-$root/build/conformance}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$rust/Cargo.toml" | head -n 1)
unset LD_LIBRARY_PATH MLE_LIB_DIR MLE_SOURCE_DIR PKG_CONFIG_PATH

[ -f "$lib_dir/libmle.so" ] || { echo "install-test: no $lib_dir/libmle.so: run make lib" >&2; exit 1; }
[ -f "$MLE_CONFORMANCE_DIR/manifest.json" ] || { echo "install-test: no conformance suite: run make conformance" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CARGO_TARGET_DIR=$tmp/target
log=$tmp/log

fail() {
    echo "install-test: FAIL: $*" >&2
    [ -s "$log" ] && sed 's/^/    /' "$log" >&2
    exit 1
}

# new_project DIR MLE_DEPENDENCY: a binary crate running the consumer program, no build.rs yet.
new_project() {
    mkdir -p "$1/src"
    cp "$here/consumer/main.rs" "$1/src/main.rs"
    cp "$rust/mle/tests/support/mod.rs" "$1/src/support.rs"
    cat >"$1/Cargo.toml" <<EOF
[package]
name = "mle-consumer"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
mle = $2

[workspace]
EOF
}

# check_runs WHAT RPATH_DIR: the binary's RUNPATH names RPATH_DIR and it runs each case (no LD_LIBRARY_PATH).
check_runs() {
    local bin=$CARGO_TARGET_DIR/debug/mle-consumer c
    readelf -d "$bin" >"$log"
    grep -E "\((RUNPATH|RPATH)\)" "$log" | grep -F -- "$2" >/dev/null || fail "$1: the binary's RUNPATH does not name $2"
    for c in "${cases[@]}"; do
        "$bin" "$c" >"$log" 2>&1 || fail "$1: $c"
        grep -q "^$c: .* outputs equal to the manifest" "$log" || fail "$1: $c: unexpected output"
        echo "ok: $1: $(cat "$log")"
    done
}

# expect_fail WHAT NEEDLE... -- COMMAND...: COMMAND fails, and its output holds every NEEDLE.
expect_fail() {
    local what=$1 needles=()
    shift
    while [ "$1" != -- ]; do needles+=("$1"); shift; done
    shift
    if "$@" >"$log" 2>&1; then fail "$what: succeeded"; fi
    for n in "${needles[@]}"; do grep -qF -- "$n" "$log" || fail "$what: no \"$n\" in the output"; done
    echo "ok: $what"
}

# ---------------------------------------------------------------- (a) mle by path
app=$tmp/app-path
new_project "$app" "{ path = \"$rust/mle\" }"
cd "$app"
MLE_LIB_DIR=$lib_dir cargo build -q >"$log" 2>&1 || fail "(a) cargo build"
# Without an rpath the loader does not find libmle (unless it is installed system-wide, which would make
# the next check prove nothing).
if "$CARGO_TARGET_DIR/debug/mle-consumer" "${cases[0]}" >"$log" 2>&1; then
    fail "(a) runs without an rpath: libmle is in a system directory, so this test cannot tell"
fi
grep -q "libmle.so" "$log" || fail "(a) without an rpath: not a loader error"
echo "ok: (a) without build.rs: $(head -n 1 "$log")"
cp "$here/consumer/build.rs" "$app/build.rs"
MLE_LIB_DIR=$lib_dir cargo build -q >"$log" 2>&1 || fail "(a) cargo build with build.rs"
check_runs "(a) mle by path, MLE_LIB_DIR, the build.rs recipe" "$lib_dir"

# ------------------------------------------------------- (b) the packaged crates
"$here/package.sh" "$tmp/dist" >"$log" 2>&1 || fail "package.sh (cargo package)"
echo "ok: cargo package: $(cd "$tmp/dist" && echo *.crate)"
# A directory registry: each crate unpacked, with the .crate's checksum.
for crate in mle-sys mle; do
    file=$tmp/dist/$crate-$version.crate
    mkdir -p "$tmp/vendor"
    tar -xzf "$file" -C "$tmp/vendor"
    printf '{"files":{},"package":"%s"}\n' "$(sha256sum "$file" | cut -d' ' -f1)" \
        >"$tmp/vendor/$crate-$version/.cargo-checksum.json"
done

# libmle installed as a user would: cmake --install into a prefix, found through its mle.pc.
cmake -S "$root" -B "$tmp/cmake" -DMLE_PREBUILT_LIB="$lib_dir/libmle.so" -DMLE_BUILD_TESTS=OFF \
    -DMLE_BUILD_CLI=OFF >"$log" 2>&1 || fail "cmake configure"
cmake --install "$tmp/cmake" --prefix "$tmp/prefix" >"$log" 2>&1 || fail "cmake --install"
pc=$(find "$tmp/prefix" -name mle.pc -print -quit)
[ -n "$pc" ] || fail "cmake --install wrote no mle.pc"
pc_dir=$(dirname "$pc")
prefix_lib=$(cd "$pc_dir/.." && pwd -P)

app=$tmp/app-crates
new_project "$app" "\"=$version\""
cp "$here/consumer/build.rs" "$app/build.rs"
mkdir -p "$app/.cargo"
cat >"$app/.cargo/config.toml" <<EOF
[source.crates-io]
replace-with = "mle-dist"

[source.mle-dist]
directory = "$tmp/vendor"
EOF
cd "$app"
PKG_CONFIG_PATH=$pc_dir cargo build -q --offline >"$log" 2>&1 || fail "(b) cargo build"
check_runs "(b) packaged crates, pkg-config (cmake --install prefix)" "$prefix_lib"

# The build script's errors, from the packaged crate (which does not sit in a repository).
mkdir -p "$tmp/empty"
expect_fail "(b) nothing found: every step listed" \
    "no libmle to link against" "1. MLE_LIB_DIR: not set" "2. feature \`build-from-source\`: not enabled" \
    "3. pkg-config:" "4. <repository>/build: this crate does not sit in an MLE repository" -- \
    env PKG_CONFIG_LIBDIR="$tmp/empty" cargo build --offline
expect_fail "(b) MLE_LIB_DIR without libmle" "MLE_LIB_DIR=$tmp/empty: $tmp/empty/libmle.so does not exist" -- \
    env MLE_LIB_DIR="$tmp/empty" cargo build --offline
mkdir -p "$tmp/abi99" && touch "$tmp/abi99/libmle.so.99" && ln -s libmle.so.99 "$tmp/abi99/libmle.so"
expect_fail "(b) MLE_LIB_DIR with another C ABI" "libmle.so links to libmle.so.99, C ABI 99" -- \
    env MLE_LIB_DIR="$tmp/abi99" cargo build --offline
expect_fail "(b) build-from-source outside a repository" "no MLE source: MLE_SOURCE_DIR is not set" -- \
    cargo build --offline --features mle/build-from-source
expect_fail "(b) build-from-source without go" "\`$tmp/empty/go\` not found" -- \
    env MLE_SOURCE_DIR="$root" GO="$tmp/empty/go" cargo build --offline --features mle/build-from-source
MLE_SOURCE_DIR=$root cargo build -q --offline --features mle/build-from-source \
    >"$log" 2>&1 || fail "(b) build-from-source from MLE_SOURCE_DIR"
out_lib=$(dirname "$(find "$CARGO_TARGET_DIR/debug/build" -path '*mle-sys-*/out/lib/libmle.so' -print -quit)")
[ "$out_lib" != . ] || fail "(b) build-from-source: no out/lib/libmle.so"
# Built as the Makefile builds it: SONAME libmle.so.<ABI>, only mle_* exported (capi/libmle.map).
abi=$(sed -n 's/^#define MLE_ABI_VERSION \([0-9]*\)u$/\1/p' "$root/include/mle.h")
readelf -d "$out_lib/libmle.so" >"$log"
grep -F "Library soname: [libmle.so.$abi]" "$log" >/dev/null || fail "(b) build-from-source: SONAME is not libmle.so.$abi"
nm -D --defined-only "$out_lib/libmle.so" | awk '$3 !~ /^mle_/ {print}' >"$log"
[ ! -s "$log" ] || fail "(b) build-from-source: symbols other than mle_* exported"
check_runs "(b) packaged crates, build-from-source (MLE_SOURCE_DIR)" "$out_lib"
echo "install-test: all passed"
