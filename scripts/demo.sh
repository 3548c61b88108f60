#!/usr/bin/env bash
# Serve Fairboard on the embedded default (SQLite, in-process jobs) with the demo competition
# at http://127.0.0.1:8000. Creates .venv, migrates and seeds the demo on first start.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh cpu
exec .venv/bin/fairboard serve --demo "$@"
