#!/usr/bin/env bash
# mle serve against FastAPI + uvicorn wrappers (scikit-learn, onnxruntime) on
# loopback; --write-docs rewrites the serve section of docs/BENCHMARKS.md.
#
#   bench/serve.sh --write-docs   # full run (~10 min)
#   bench/serve.sh --quick        # smoke test, writes nothing
set -euo pipefail
cd "$(dirname "$0")/.."
make -s venv python cli loadgen
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1  # the baselines run one worker per core
exec "${PYTHON:-.venv/bin/python}" bench/serve.py "$@"
