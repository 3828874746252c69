#!/usr/bin/env bash
# Set up the course environment (if needed) and run the whole test suite:
# `ruff check .`, then `pytest` (unit tests, and nbval over solutions/ and course/).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_checks.py -x`.
# MINIGRAD_VENV chooses the virtual environment (default .venv); .ci/run uses a fresh one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv
cd "$REPO_ROOT"

echo "==> ruff check ."
ruff check .

# One BLAS thread per process unless asked otherwise: the notebooks' kernel and pytest share
# the machine, and OpenBLAS threads spinning against each other made small-matrix work (the
# learned optimizer's LSTM) several times slower on 2 cores.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}" OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

echo "==> pytest $*"
# pytest exits 5 when it collected no tests; that is a failure here, like any non-zero exit.
status=0
python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
fi
exit "$status"
