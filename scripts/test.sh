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

echo "==> pytest $*"
# pytest exits 5 when it collected no tests; that is a failure here, like any non-zero exit.
status=0
python -m pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "error: pytest collected no tests" >&2
fi
exit "$status"
