#!/usr/bin/env bash
# The main job: build a small MLP with the builder (from C), write it,
# inspect and validate it with the CLI, run it from C and from the CLI.
# Usage: scripts/demo.sh BUILD_DIR CMAKE_DIR
set -euo pipefail
build=${1:-build} cmake_dir=${2:-build/cmake}
out=$build/demo
mkdir -p "$out"
rm -f "$out"/*.mle "$out"/*.npy
rm -rf "$out/outputs"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "C: build the model with the builder API, run it, time it"
"$cmake_dir/bin/mlp_demo" "$out/mlp.mle" "$out/features.npy"

step "CLI: mle inspect"
"$build/mle" inspect --batch 4 "$out/mlp.mle"

step "CLI: mle validate (every CRC)"
"$build/mle" validate "$out/mlp.mle"

step "CLI: mle run on the .npy batch the C demo wrote"
"$build/mle" run "$out/mlp.mle" --input "features=$out/features.npy" --output-dir "$out/outputs"

step "C++: mle.hpp over the same file"
"$cmake_dir/bin/mlp_demo_cpp" "$out/mlp.mle"

step "CLI: mle bench"
"$build/mle" bench --runs 20000 --opens 500 "$out/mlp.mle"
"$build/mle" bench --runs 2000 --batch 256 "$out/mlp.mle"

step "A damaged file is refused with a specific error"
cp "$out/mlp.mle" "$out/damaged.mle"
size=$(stat -c %s "$out/damaged.mle")
printf '\x55' | dd of="$out/damaged.mle" bs=1 seek=$((size - 3)) conv=notrunc status=none
status=0
"$build/mle" validate "$out/damaged.mle" || status=$?
if [ "$status" != 1 ]; then
  echo "demo: mle validate exited $status on a damaged file; want 1" >&2; exit 1
fi
echo "(mle validate exited 1, as it should)"
