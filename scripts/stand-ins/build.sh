#!/usr/bin/env bash
# Stand-ins for the official images docker-compose.yml names (python:3.11-slim, postgres:15,
# redis:7), for machines that reach Debian's mirror but no image registry. Each is made from
# Debian bookworm packages with debootstrap and keeps the official image's contract: its name,
# entrypoint, environment variables, data directory and health-check commands.
# An image already present (the official one, or a stand-in from an earlier run) is kept.
# Usage: scripts/stand-ins/build.sh   (root; needs docker and debootstrap)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
work="$(mktemp -d /tmp/fairboard-stand-ins.XXXXXX)"
trap 'rm -rf "$work"' EXIT

present() { docker image inspect "$1" >/dev/null 2>&1; }

# A minimal Debian tree with the given packages, without apt's caches and the docs.
bootstrap() {
    local dir="$1" packages="$2"
    debootstrap --variant=minbase --include="$packages" bookworm "$dir" "$mirror" \
        >"$dir.log" 2>&1 || { tail -20 "$dir.log" >&2; return 1; }
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
}

import() {
    local dir="$1" name="$2"
    shift 2
    tar -C "$dir" -c . | docker import --change "LABEL fairboard.stand-in=debian-bookworm" \
        "$@" - "$name" >/dev/null
    echo "stand-in $name: $(docker image inspect --format '{{.Size}}' "$name" | numfmt --to=iec)," \
        "made in ${SECONDS} s"
}

python_slim() {
    local dir="$work/python"
    bootstrap "$dir" python3.11,python3-pip,python3-venv,ca-certificates
    # The machine's CA bundle: pip in `docker build` reaches PyPI through the same egress as
    # the host.
    cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/ca-certificates.crt"
    # The official image's Python lives in /usr/local/bin.
    for name in python python3 python3.11; do ln -sf /usr/bin/python3.11 "$dir/usr/local/bin/$name"; done
    for name in pip pip3; do ln -sf /usr/bin/pip3 "$dir/usr/local/bin/$name"; done
    import "$dir" python:3.11-slim \
        --change "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV LANG=C.UTF-8" \
        --change "ENV PIP_BREAK_SYSTEM_PACKAGES=1" \
        --change 'CMD ["python3"]'
}

postgres() {
    local dir="$work/postgres"
    bootstrap "$dir" postgresql-15
    # Debian's package creates a cluster of its own; the entrypoint makes the image's.
    rm -rf "$dir/var/lib/postgresql/15" "$dir/etc/postgresql/15"
    install -m 0755 "$here/postgres-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
    import "$dir" postgres:15 \
        --change "ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change "ENV PGDATA=/var/lib/postgresql/data" \
        --change "ENV LANG=C.UTF-8" \
        --change 'VOLUME ["/var/lib/postgresql/data"]' \
        --change "EXPOSE 5432" \
        --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
        --change 'CMD ["postgres"]'
}

redis() {
    local dir="$work/redis"
    bootstrap "$dir" redis-server,redis-tools
    mkdir -p "$dir/data"
    chroot "$dir" chown redis:redis /data
    install -m 0755 "$here/redis-entrypoint.sh" "$dir/usr/local/bin/docker-entrypoint.sh"
    import "$dir" redis:7 \
        --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        --change 'VOLUME ["/data"]' \
        --change "WORKDIR /data" \
        --change "EXPOSE 6379" \
        --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
        --change 'CMD ["redis-server"]'
}

pids=()
for image in python:3.11-slim postgres:15 redis:7; do
    if present "$image"; then
        echo "image $image: present"
        continue
    fi
    case "$image" in
        python:*) python_slim & ;;
        postgres:*) postgres & ;;
        redis:*) redis & ;;
    esac
    pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
exit "$status"
