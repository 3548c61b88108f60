#!/usr/bin/env bash
# Idempotent set-up: a virtual environment in .venv with Fairboard installed (editable).
# Usage: scripts/setup.sh [extras]   (default extras: cpu)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-cpu}"
stamp=".venv/.fairboard-installed-$extras"
if [ ! -x .venv/bin/python ]; then
    python3.11 -m venv .venv 2>/dev/null || python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip >/dev/null
    .venv/bin/python -m pip install -q -e ".[$extras]"
    touch "$stamp"
fi
