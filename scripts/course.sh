#!/usr/bin/env bash
# Set up the course environment (if needed) and open the course in JupyterLab.
# Extra arguments go to `jupyter lab`, e.g. `bash scripts/course.sh --no-browser --port 8899`.
# MINIGRAD_VENV chooses the virtual environment (default .venv).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
ensure_venv
cd "$REPO_ROOT"

extra=()
if [ "$(id -u)" -eq 0 ]; then
    extra+=(--allow-root)  # JupyterLab refuses to run as root without it
fi
echo "==> jupyter lab course/"
exec jupyter lab "${extra[@]}" "$@" course/
