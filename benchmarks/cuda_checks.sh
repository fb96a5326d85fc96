#!/usr/bin/env bash
# The checks that need a GPU, as one script for a lent CUDA machine (the project's tests pass without one):
# the CUDA tests plus the neural test files (device="auto" puts them on the GPU there), then
# benchmarks/rnn_speed.py on CUDA with the same loops timed on that machine's CPU beside it.
# Usage: OUT=<folder> bash benchmarks/cuda_checks.sh     (writes pytest_cuda.log and rnn_speed_cuda.md there)
set -o pipefail
OUT=${OUT:-/tmp/cuda_checks}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=${PYTHON:-python3}
nvidia-smi -L
$PY -c "import torch, numpy, pandas; print('torch', torch.__version__, torch.cuda.get_device_name(), 'numpy', numpy.__version__, 'pandas', pandas.__version__)"
timeout "${TEST_TIMEOUT:-200}" $PY -m pytest -q -p no:cacheprovider -n 4 -o addopts="-ra" \
  tests/test_cuda.py tests/test_rnn_forecaster.py tests/test_training.py tests/test_cells.py tests/test_recurrent.py \
  tests/test_seq2seq.py 2>&1 | tee "$OUT/pytest_cuda.log" | tail -40
timeout "${BENCH_TIMEOUT:-330}" $PY benchmarks/rnn_speed.py --device cuda --compare-cpu --out "$OUT/rnn_speed_cuda.md" 2>&1 | tail -25
