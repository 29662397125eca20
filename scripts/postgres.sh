#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL for the tests on a local port, from
# Debian's packages, on a new cluster unless one is running. Prints the admin
# URL on start.
# Usage: scripts/postgres.sh start|stop
set -euo pipefail
PGPORT="${CONSOLE_TEST_PG_PORT:-55432}"
PGROOT="${CONSOLE_TEST_PG_DIR:-/var/tmp/console-pg}"
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-start}" in
start)
    # a cluster of this script's that is not running (pg_ctl's status 3) is
    # left over from an earlier run: its databases (one per test) are of no
    # use, and they add up run after run. Only a folder this script made
    # (it holds the marker) is ever removed.
    status=0
    as_postgres "$PGBIN/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1 || status=$?
    if [ "$status" = 3 ] && [ -f "$PGROOT/console-test-cluster" ]; then
        rm -rf "$PGROOT"
    fi
    if [ ! -f "$PGROOT/data/PG_VERSION" ]; then
        if [ -e "$PGROOT" ] && [ ! -f "$PGROOT/console-test-cluster" ]; then
            echo "$PGROOT exists and is not a test cluster of scripts/postgres.sh; set CONSOLE_TEST_PG_DIR" >&2
            exit 1
        fi
        mkdir -p "$PGROOT"
        touch "$PGROOT/console-test-cluster"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGROOT"
        as_postgres "$PGBIN/initdb" -D "$PGROOT/data" -A trust -U postgres --no-sync >/dev/null
    fi
    if ! as_postgres "$PGBIN/pg_ctl" -D "$PGROOT/data" status >/dev/null 2>&1; then
        as_postgres "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/server.log" -w -t 60 \
            -o "-p $PGPORT -k $PGROOT -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300" \
            start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$PGPORT/postgres"
    ;;
stop)
    as_postgres "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast stop >/dev/null 2>&1 || true
    ;;
esac
