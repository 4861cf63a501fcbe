#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and benchmarks.
#
#   postgres-server.sh start STATE_DIR    initdb into a temporary directory, start on
#                                         127.0.0.1 and a free port; STATE_DIR gets
#                                         conninfo, port, pid and datadir files
#   postgres-server.sh stop STATE_DIR     fast shutdown by PID, then delete everything
#   postgres-server.sh restart STATE_DIR  fast shutdown by PID and start again (same
#                                         data, same port)
#   postgres-server.sh crash STATE_DIR    immediate shutdown (pg_ctl -m immediate: no
#                                         checkpoint, crash recovery at the next start)
#   postgres-server.sh wipe STATE_DIR     fast shutdown, the data directory replaced by
#                                         an empty cluster (same settings), started on
#                                         the same port: a lost disk restored empty
#
# Durability is switched off (fsync, full_page_writes, synchronous_commit): the
# data is thrown away anyway. STRATA_PG_DURABLE=1 keeps PostgreSQL's defaults
# (every commit flushed to disk), for benchmarks that compare with production.
# As root, the server runs as the `postgres` user.
set -euo pipefail

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}
[[ -x "$PG_BIN/pg_ctl" ]] || { echo "postgres-server.sh: no PostgreSQL binaries (set PG_BIN)" >&2; exit 1; }

usage() { echo "usage: $0 start|stop|restart|crash|wipe STATE_DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1
state=$2

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_init() {  # datadir: an empty cluster with this script's settings
    chmod 700 "$1"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$1"
    as_owner "$PG_BIN/initdb" -D "$1" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
    local durability=off
    [[ ${STRATA_PG_DURABLE:-0} != 1 ]] || durability=on
    cat >>"$1/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
fsync = $durability
full_page_writes = $durability
synchronous_commit = $durability
max_connections = 100
shared_buffers = 128MB
log_min_messages = warning
CONF
}

pg_start() {  # datadir port
    as_owner "$PG_BIN/pg_ctl" -D "$1" -l "$1/server.log" -w -t 30 \
        -o "-p $2 -k $1" start >/dev/null
    head -n1 "$1/postmaster.pid" >"$state/pid"
}

pg_stop() {  # by PID: SIGINT is PostgreSQL's fast shutdown
    local pid
    pid=$(cat "$state/pid" 2>/dev/null || true)
    [[ -n "$pid" ]] || return 0
    kill -CONT "$pid" 2>/dev/null || true  # a test may have left it stopped
    kill -INT "$pid" 2>/dev/null || return 0
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

case "$cmd" in
start)
    mkdir -p "$state"
    datadir=$(mktemp -d /tmp/strata-pg.XXXXXX)
    echo "$datadir" >"$state/datadir"
    pg_init "$datadir"
    # A port that looks free can still be taken before the server binds it.
    for _ in 1 2 3 4 5; do
        port=$(( 20000 + RANDOM % 40000 ))
        port_free "$port" || continue
        if pg_start "$datadir" "$port"; then
            echo "$port" >"$state/port"
            echo "host=127.0.0.1 port=$port dbname=postgres user=postgres" >"$state/conninfo"
            exit 0
        fi
    done
    echo "postgres-server.sh: could not start PostgreSQL; log:" >&2
    cat "$datadir/server.log" >&2 || true
    exit 1
    ;;
stop)
    pg_stop
    datadir=$(cat "$state/datadir" 2>/dev/null || true)
    [[ -z "$datadir" || ! -d "$datadir" ]] || rm -rf "$datadir"
    rm -f "$state/pid" "$state/port" "$state/conninfo" "$state/datadir"
    ;;
restart)
    pg_stop
    pg_start "$(cat "$state/datadir")" "$(cat "$state/port")"
    ;;
crash)
    kill -CONT "$(cat "$state/pid")" 2>/dev/null || true  # a test may have left it stopped
    as_owner "$PG_BIN/pg_ctl" -D "$(cat "$state/datadir")" -m immediate -w -t 30 stop >/dev/null
    ;;
wipe)
    pg_stop
    datadir=$(cat "$state/datadir")
    rm -rf "$datadir"
    mkdir "$datadir"
    pg_init "$datadir"
    pg_start "$datadir" "$(cat "$state/port")"
    ;;
*) usage ;;
esac
