#!/usr/bin/env bash
# Refresh requirements.lock, the exact versions of everything requirements.txt installs (the
# package's own dependencies included), resolved by pip-tools' pip-compile in a throw-away
# virtual environment. scripts/_env.sh (so scripts/test.sh, scripts/course.sh and .ci/run)
# installs `-r requirements.txt -c requirements.lock`; requirements.txt stays the loose list.
#
#   bash scripts/lock.sh                          # add or drop what requirements.txt changed;
#                                                 # every other pin is kept as it is
#   bash scripts/lock.sh --upgrade                # every package to its newest allowed version
#   bash scripts/lock.sh --upgrade-package NAME   # one package (and what it needs)
#
# Arguments go to pip-compile. PYTHON chooses the interpreter (default python3): the lock holds
# for that Python version on this platform (it was made for Python 3.11 on x86_64 Linux, what
# CI runs). minigrad itself (`-e .`) is never pinned. Run the tests before committing a change.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
PIP_TOOLS="pip-tools==7.7.0"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/minigrad-lock.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "==> $PIP_TOOLS in a throw-away environment ($("$PYTHON" --version 2>&1))"
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install --quiet "$PIP_TOOLS"

# pip-compile keeps the pins of an existing output file unless told to upgrade.
# (Our own header lines start with "#: ".)
if [ -f requirements.lock ]; then grep -v '^#: ' requirements.lock >"$tmp/requirements.lock"; fi
echo "==> pip-compile requirements.txt $*"
CUSTOM_COMPILE_COMMAND="bash scripts/lock.sh" "$tmp/venv/bin/pip-compile" --quiet \
    --no-emit-index-url --no-emit-find-links --strip-extras \
    --output-file "$tmp/requirements.lock" "$@" requirements.txt

{
    version="$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    echo "#: Constraints: \`pip install -r requirements.txt -c requirements.lock\` (scripts/_env.sh)"
    echo "#: installs these versions, the ones CI tested, for Python $version on $(uname -m) $(uname -s)."
    echo "#: Refresh with \`bash scripts/lock.sh\`; never edit by hand."
    # the editable package itself (`-e file:///...` and its `# via` lines) is not a constraint
    awk '/^-e /{skip=1; next} skip && /^ /{next} {skip=0; print}' "$tmp/requirements.lock"
} >requirements.lock
echo "==> wrote requirements.lock ($(grep -c '==' requirements.lock) pinned packages)"
