#!/usr/bin/env bash
# Packages the crates mle-sys and mle as .crate files and copies them to DIST_DIR (default:
# <repository>/dist). `cargo package` verifies each one by building it from its packaged form (mle against
# the packaged mle-sys), so libmle must be findable: MLE_LIB_DIR (default <repository>/build; set it empty
# to use pkg-config instead).
#
# Usage: bindings/rust/scripts/package.sh [DIST_DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rust=$(dirname "$here")
root=$(cd "$rust/../.." && pwd)
dist=${1:-$root/dist}
export MLE_LIB_DIR=${MLE_LIB_DIR-$root/build}
export CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2}
target=${CARGO_TARGET_DIR:-$rust/target}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$rust/Cargo.toml" | head -n 1)

cd "$rust"
# --allow-dirty: packaged from the working tree, which `make test` sees before the commit. --offline: the
# crates depend on nothing outside the workspace (mle finds mle-sys in cargo's local overlay registry).
cargo package --locked --offline --workspace --allow-dirty --target-dir "$target"
mkdir -p "$dist"
for crate in mle-sys mle; do
    cp "$target/package/$crate-$version.crate" "$dist/"
    echo "$dist/$crate-$version.crate"
done
