#!/usr/bin/env bash
# The deployment tests (pytest -m deploy, tests/deploy): the image built from the Dockerfile and
# the docker-compose.yml topology run in Docker. Installs what is missing (Debian's docker.io
# and debootstrap), starts dockerd when none runs (and stops it again), builds the stand-in base
# images when absent (scripts/stand-ins/build.sh; kept between runs), then runs the tests.
# Extra arguments go to pytest. Run as root (apt-get, dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v docker >/dev/null || need+=(docker.io)
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing system packages: ${need[*]} (run as root or install them)" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker.io debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
    dockerd >/tmp/fairboard-dockerd.log 2>&1 &
    dockerd_pid=$!
    trap 'kill "$dockerd_pid"; wait "$dockerd_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null || { tail -20 /tmp/fairboard-dockerd.log >&2; exit 1; }
fi
scripts/stand-ins/build.sh
scripts/setup.sh cpu,test,dev
set +e
PYTHONUNBUFFERED=1 .venv/bin/python -m pytest -n 0 -p no:randomly -m deploy --durations=10 tests/deploy "$@"
status=$?
set -e
# No test collected is a broken step, not a pass.
[ "$status" -eq 5 ] && status=1
exit "$status"
