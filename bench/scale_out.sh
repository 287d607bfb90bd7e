#!/usr/bin/env bash
# Scoring 1M rows with Spark local[2], Ray and Dask: the .mle file by path
# against the joblib-pickled model shipped to workers (bench/scale_out.py).
#
#   bench/scale_out.sh --write-docs   # full run (~15 min)
#   bench/scale_out.sh --quick        # smoke test, writes nothing
set -euo pipefail
cd "$(dirname "$0")/.."
make -s python jre
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1  # one thread per worker, two workers
exec "${PYTHON:-.venv/bin/python}" bench/scale_out.py "$@"
