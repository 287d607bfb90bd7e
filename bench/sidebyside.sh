#!/usr/bin/env bash
# MLE, onnxruntime, torch and scikit-learn side by side in one process, then
# GEMM next to numpy; a full run rewrites section 8 of docs/BENCHMARKS.md.
#
#   bench/sidebyside.sh            # full run (a few minutes)
#   bench/sidebyside.sh --quick    # tests the script; writes nothing
#   PYTHON=python3 bench/sidebyside.sh
#
# Options are bench/sidebyside.py's (--quick, --repeats N, --out FILE, --cases).
set -euo pipefail
cd "$(dirname "$0")/.."

# The libmle inside the Python package is a copy: refresh it from the
# sources, or the numbers would be an older build's.
make -s python

# Host-specific OpenBLAS overrides would make numpy/scikit-learn unlike a
# stock install: let OpenBLAS detect the CPU itself.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
# Every engine gets 2 threads; the script pins them too (threadpoolctl,
# torch.set_num_threads, onnxruntime options, mle_runtime threads=2), these
# cover pools sized when a library loads.
export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 MKL_NUM_THREADS=2
# Recorded in docs/BENCHMARKS.md as the command that produced the numbers.
export MLE_SIDEBYSIDE_COMMAND="bench/sidebyside.sh${*:+ $*}"
exec "${PYTHON:-.venv/bin/python}" bench/sidebyside.py "$@"
