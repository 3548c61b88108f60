#!/bin/sh
# Stand-in for the official redis image's entrypoint: run redis-server as the redis user, with
# protected mode off (the official image builds it so: the container's network is the fence).
set -eu
if [ "${1:-}" != redis-server ]; then
    exec "$@"
fi
if [ "$(id -u)" = 0 ]; then
    chown -R redis:redis .
    exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
shift
case "${1:-}" in
    *.conf)
        config="$1"
        shift
        exec redis-server "$config" --protected-mode no "$@"
        ;;
esac
exec redis-server --protected-mode no "$@"
