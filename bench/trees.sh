#!/usr/bin/env bash
# Tree ensembles: MLE next to onnxruntime, the library's own predict,
# treelite/tl2cgen and lleaves, 2 threads each (bench/trees.py).
#
#   bench/trees.sh [--quick] [--repeats N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
make -s python  # the package's libmle is a copy: refresh it
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
exec "${PYTHON:-.venv/bin/python}" bench/trees.py "$@"
