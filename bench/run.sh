#!/usr/bin/env bash
# make bench: every benchmark of the core, with its anchor where one exists.
#   1. open + validate (+ plan) for 1 MB / 100 MB / 1 GB of weights and a 1,000-node graph
#   2. steady-state runs: ns/op and allocs/op (target 0)
#   3. GEMM GFLOP/s at 256/1024/2048 next to numpy in the same run
#   4. the demo MLP through the CLI (open and run latency percentiles)
#   5. bounds (issue 7): planning a 100,000-node graph, runs with a timeout or
#      cancel flag armed, and what run options cost per C call
# Results are recorded, with this command, in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

make -s venv  # numpy and friends, pinned in bindings/python/requirements-dev.txt

echo "== machine"
echo "$(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs); $(go version)"

echo
echo "== 1. open + validate (+ plan for batch 1)   go test -bench Open ./core/engine"
go test -run '^$' -bench 'Open' -benchtime "${OPEN_BENCHTIME:-300x}" -count "${COUNT:-3}" ./core/engine | grep -E '^Benchmark'

echo
echo "== 2. steady-state runs   go test -bench Run ./core/engine"
go test -run '^$' -bench 'Run' -benchtime "${RUN_BENCHTIME:-2000x}" -count "${COUNT:-3}" ./core/engine | grep -E '^Benchmark'

echo
echo "== 3. GEMM vs numpy   bench/gemm.sh"
PYTHON=.venv/bin/python BENCHTIME="${GEMM_BENCHTIME:-10x}" bench/gemm.sh

echo
echo "== 4. the demo MLP through the CLI"
make -s demo >/dev/null 2>&1
build/mle bench --runs 20000 --opens 1000 build/demo/mlp.mle
build/mle bench --runs 2000 --batch 256 build/demo/mlp.mle

echo
echo "== 5. bounds: large plans, stoppable runs, run options per call"
go test -run '^$' -bench 'PlanLarge' -benchtime 3x -count "${COUNT:-3}" ./core/engine | grep -E '^Benchmark'
go test -run '^$' -bench 'Stoppable' -benchtime 1s -count "${COUNT:-3}" ./core/engine | grep -E '^Benchmark'
make -s conformance
cc -O2 -Iinclude bench/run_options.c -Lbuild -lmle -Wl,-rpath,"$PWD/build" -o build/run_options
build/run_options build/conformance/models/mlp_classifier.mle
