#!/usr/bin/env bash
# pg.sh -- a private PostgreSQL 15 cluster in a directory, for tests and the quick start.
#
#   deploy/pg.sh start DIR [PORT]   initdb if needed, start if not running; prints the URL
#   deploy/pg.sh stop DIR           fast shutdown (no-op when not running)
#   deploy/pg.sh kill DIR           immediate shutdown (a crash, for fault tests)
#   deploy/pg.sh url DIR            the superuser URL (unix socket in DIR)
#   deploy/pg.sh status DIR         exit 0 when running
#
# The server runs as the OS user `postgres` (it refuses root), listens on a unix socket in
# DIR and on 127.0.0.1 only, port PORT or the first free one from 54329; local trust auth.
# The port is remembered in DIR/port so that restarts reuse it.
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
OSUSER=postgres

usage() { echo "usage: $0 start|stop|kill|url|status DIR [PORT]" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1
mkdir -p "$2"
DIR=$(cd "$2" && pwd)
DATA=$DIR/data

as_pg() {
    if [[ $(id -un) == "$OSUSER" ]]; then
        (cd / && "$@")
    else
        (cd / && runuser -u "$OSUSER" -- "$@")
    fi
}

port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

running() {
    [[ -f $DATA/PG_VERSION ]] && as_pg "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

url() {
    echo "postgresql:///postgres?host=$DIR&port=$(cat "$DIR/port")&user=postgres"
}

case $cmd in
start)
    [[ -x $PGBIN/postgres ]] || { echo "pg.sh: no PostgreSQL 15 in $PGBIN" >&2; exit 1; }
    if [[ $(id -u) -eq 0 ]]; then
        chown "$OSUSER": "$DIR"
    fi
    chmod 0755 "$DIR"
    if [[ ! -f $DIR/port ]]; then
        port=${3:-}
        if [[ -z $port ]]; then
            port=54329
            while ! port_free "$port"; do port=$((port + 1)); done
        fi
        echo "$port" >"$DIR/port"
    fi
    port=$(cat "$DIR/port")
    if [[ ! -f $DATA/PG_VERSION ]]; then
        as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
        cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$DIR'
max_connections = 60
shared_buffers = 128MB
log_min_messages = warning
CONF
        printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >"$DATA/pg_hba.conf"
    fi
    if ! running; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$DIR/postgres.log" -w -t 60 start >/dev/null
    fi
    url
    ;;
stop)
    if running; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
    fi
    ;;
kill)
    if running; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w -t 60 stop >/dev/null
    fi
    ;;
url) url ;;
status) running ;;
*) usage ;;
esac
