# shellcheck shell=bash
# Sourced by scripts/course.sh and scripts/test.sh: make sure the course's virtual environment
# exists and has requirements.txt installed, then put it first on PATH.
#
#   MINIGRAD_VENV   where the environment lives (default: .venv in the repository root)
#   PYTHON          the interpreter that creates it (default: python3; needs Python >= 3.10)
#   MINIGRAD_LOCK   constraints installed with requirements.txt (default: requirements.lock,
#                   the versions CI tested; refresh it with `bash scripts/lock.sh`). Set it
#                   empty to install the newest versions requirements.txt allows.
#
# Installing is skipped when requirements.txt, pyproject.toml and the lock are unchanged since
# the last install into this environment (a stamp file inside it records their hash).

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MINIGRAD_VENV="${MINIGRAD_VENV:-$REPO_ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
MINIGRAD_LOCK="${MINIGRAD_LOCK-$REPO_ROOT/requirements.lock}"

_minigrad_stamp() {
    {
        cat "$REPO_ROOT/requirements.txt" "$REPO_ROOT/pyproject.toml"
        echo "lock: $MINIGRAD_LOCK"
        if [ -n "$MINIGRAD_LOCK" ]; then cat "$MINIGRAD_LOCK"; fi
    } | sha256sum | cut -d' ' -f1
}

ensure_venv() {
    if [ ! -x "$MINIGRAD_VENV/bin/python" ]; then
        if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
            echo "error: need Python >= 3.10 to create $MINIGRAD_VENV; '$PYTHON' is" \
                "$("$PYTHON" --version 2>&1 || echo 'not found'). Set PYTHON=/path/to/python3." >&2
            return 1
        fi
        echo "==> creating virtual environment $MINIGRAD_VENV"
        "$PYTHON" -m venv "$MINIGRAD_VENV"
    fi
    local stamp_file="$MINIGRAD_VENV/.minigrad-install-stamp" want
    local constraints=()
    if [ -n "$MINIGRAD_LOCK" ]; then
        if [ ! -f "$MINIGRAD_LOCK" ]; then
            echo "error: no lock file $MINIGRAD_LOCK (make it with \`bash scripts/lock.sh\`, or" \
                "set MINIGRAD_LOCK= to install without one)" >&2
            return 1
        fi
        constraints=(-c "$MINIGRAD_LOCK")
    fi
    want="$(_minigrad_stamp)"
    # Reinstall when the requirements changed or the package does not import from outside the
    # repository (the editable install maps the packages that existed when it was made).
    if [ "$(cat "$stamp_file" 2>/dev/null)" != "$want" ] \
        || ! (cd / && "$MINIGRAD_VENV/bin/python" -c 'import minigrad.backend' >/dev/null 2>&1); then
        echo "==> installing requirements.txt${MINIGRAD_LOCK:+ with the versions of $(basename "$MINIGRAD_LOCK")} into $MINIGRAD_VENV"
        (cd "$REPO_ROOT" && "$MINIGRAD_VENV/bin/python" -m pip install -r requirements.txt \
            ${constraints[@]+"${constraints[@]}"})
        echo "$want" >"$stamp_file"
    fi
    export PATH="$MINIGRAD_VENV/bin:$PATH"
    export VIRTUAL_ENV="$MINIGRAD_VENV"
    # Quiet jupyter_core's notice about moving to platformdirs.
    export JUPYTER_PLATFORM_DIRS=1
}
