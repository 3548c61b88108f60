#!/usr/bin/env bash
# The whole test suite, twice: on the embedded SQLite default and on a real PostgreSQL
# server started from the machine's binaries. Extra arguments go to pytest.
# The scale-out tests (tests/scaleout: real PostgreSQL, Redis, API and Celery worker processes)
# run in the first pass and bring their own PostgreSQL whatever the pass; the second pass runs
# every test that touches a database (tests/app: API, pages in Chromium, the worker's database
# logic; tests/fuzz) on PostgreSQL; the scoring tests touch no database and run once. The fuzz
# tests (tests/fuzz, marker `fuzz`: every API operation, with schemathesis, and every page and
# form, as the roles that may call them) run in both passes: PostgreSQL refuses what SQLite
# stores (a NUL in text, an integer past 64 bits).
# Then, as a step of its own, the deployment tests (scripts/test-deploy.sh: the image and the
# docker-compose.yml topology in Docker; pytest -m deploy, which the passes above leave out).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/system-packages.sh
scripts/setup.sh cpu,test,dev
export PYTHONUNBUFFERED=1
py=.venv/bin/python
status=0
echo "=== lint and types (ruff, mypy)"
$py -m ruff check . && $py -m ruff format --check . >/dev/null && $py -m mypy || status=$?
echo "=== test suite on SQLite"
FAIRBOARD_TEST_DATABASE=sqlite $py -m pytest -n 2 "$@" || status=$((status ? status : $?))
if [ "$status" -eq 0 ] && [ -z "${FAIRBOARD_SKIP_POSTGRES_RUN:-}" ]; then
    echo "=== test suite on PostgreSQL"
    FAIRBOARD_TEST_DATABASE=postgresql $py -m pytest -n 2 tests/app tests/fuzz "$@" || status=$?
fi
echo "=== deployment tests in Docker (image, docker-compose.yml topology)"
scripts/test-deploy.sh || status=$((status ? status : $?))
exit $status
