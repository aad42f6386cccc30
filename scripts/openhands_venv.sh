#!/usr/bin/env bash
# Create .venv-openhands: the real OpenHands agent server the openhands_real tests start.
#
# The agent server needs Python >= 3.12 while spec2prod runs on 3.11, so it lives in a venv of its own.
# Idempotent: a marker file naming the pinned version makes reruns instant; a changed pin reinstalls.
set -euo pipefail

VERSION="1.58.0"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${OPENHANDS_VENV:-$ROOT/.venv-openhands}"
MARKER="$VENV/.spec2prod-openhands-$VERSION"

if [[ -f "$MARKER" ]]; then
    echo "openhands venv ready: $VENV (openhands $VERSION)"
    exit 0
fi

find_python312() {
    local candidate
    # pyenv shims print "command not found" for versions not selected, so check that it really runs.
    for candidate in python3.12 "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12; do
        if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys' >/dev/null 2>&1; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

if ! PYTHON="$(find_python312)"; then
    echo "error: Python 3.12 is needed for openhands-agent-server $VERSION and none was found" >&2
    echo "       (looked for python3.12 on PATH and under pyenv); install it and rerun $0" >&2
    exit 1
fi

echo "creating $VENV with $PYTHON (openhands $VERSION; about 750 MB, a few minutes)"
rm -rf "$VENV"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet \
    "openhands-agent-server==$VERSION" \
    "openhands-sdk==$VERSION" \
    "openhands-tools==$VERSION"
LITELLM_LOCAL_MODEL_COST_MAP=True OPENHANDS_SUPPRESS_BANNER=1 "$VENV/bin/python" -c 'import openhands.agent_server, openhands.sdk, openhands.tools'
touch "$MARKER"
echo "openhands venv ready: $VENV (openhands $VERSION)"
