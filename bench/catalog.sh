#!/usr/bin/env bash
# The scikit-learn catalog (a ColumnTransformer pipeline over a DataFrame, SVC,
# KNN): MLE next to scikit-learn and onnxruntime, 2 threads each (bench/catalog.py).
#
#   bench/catalog.sh [--quick] [--repeats N] [--out FILE]
set -euo pipefail
cd "$(dirname "$0")/.."
make -s python  # the package's libmle is a copy: refresh it
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
exec "${PYTHON:-.venv/bin/python}" bench/catalog.py "$@"
