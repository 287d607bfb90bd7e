#!/usr/bin/env bash
# PyTorch architectures: MLE next to onnxruntime and torch eager, 2 threads
# each, every (model, engine) in its own process for its peak RSS; a full
# run with --write-docs rewrites section 15 of docs/BENCHMARKS.md.
#
#   bench/torch_models.sh --write-docs     # full run (~10 min)
#   bench/torch_models.sh --quick          # smoke test, writes nothing
#   bench/torch_models.sh --cases resnet18 # one model
set -euo pipefail
cd "$(dirname "$0")/.."
make -s python  # the package's libmle is a copy: refresh it from the sources
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
export MLE_TORCH_MODELS_COMMAND="bench/torch_models.sh${*:+ $*}"
exec "${PYTHON:-.venv/bin/python}" bench/torch_models.py "$@"
