#!/usr/bin/env bash
# scripts/pg.sh: a private, throw-away PostgreSQL 15 cluster for the demo and the tests.
#
#   scripts/pg.sh [--dir DIR] start     init (first time) and start on a free 127.0.0.1 port
#   scripts/pg.sh [--dir DIR] stop      stop it (by the pid in postmaster.pid)
#   scripts/pg.sh [--dir DIR] status    exit 0 when it runs and answers, 3 when stopped
#   scripts/pg.sh [--dir DIR] url [DB]  print postgresql://simplix@127.0.0.1:PORT/DB (default postgres)
#   scripts/pg.sh [--dir DIR] destroy   stop it and delete its data
#
# DIR defaults to $SX_PG_DIR or build/pg. Every command is idempotent. The cluster listens on
# 127.0.0.1 only (no Unix socket), on a port chosen at start time (written to DIR/port), with
# trust authentication for the database superuser `simplix`: a local development cluster, not
# a server. Its log is DIR/pg.log. SX_PG_FAST=1 at first start turns fsync off (the tests).
#
# PostgreSQL refuses to run as root. As root, the cluster runs as the system user $SX_PG_USER
# (default simplix-pg), created here when missing. When that user cannot reach DIR (the
# checkout lives under a directory it may not traverse, e.g. /root is mode 700), the data goes
# to /var/tmp/simplix-pg/<hash of DIR> instead, DIR/data and DIR/pg.log become symlinks to it,
# and a note says so; no directory permission of yours is changed. `destroy` (and `make clean`)
# deletes it there too. As any other user, the cluster runs as that user, in DIR.
set -euo pipefail
SX_LOG_TAG=pg
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_BIN=${SX_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DBUSER=simplix
DIR=${SX_PG_DIR:-$SX_BUILD_DIR/pg}

while [ $# -gt 0 ]; do
    case $1 in
        --dir) DIR=$2; shift 2 ;;
        --dir=*) DIR=${1#--dir=}; shift ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
cmd=${1:-status}
shift || true
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

[ -x "$PG_BIN/pg_ctl" ] || sx_die "no PostgreSQL 15 in $PG_BIN (run scripts/deps.sh, or set SX_PG_BIN)"

if sx_is_root; then
    PG_OSUSER=${SX_PG_USER:-simplix-pg}
else
    PG_OSUSER=$(id -un)
fi

# Run a PostgreSQL program as the cluster's OS user, from / (our cwd may be unreachable to it).
as_pg() {
    if sx_is_root; then
        (cd / && runuser -u "$PG_OSUSER" -- "$@")
    else
        (cd / && "$@")
    fi
}

ensure_user() {
    sx_is_root || return 0
    if ! getent passwd "$PG_OSUSER" >/dev/null; then
        sx_info "creating system user $PG_OSUSER to run PostgreSQL (it refuses to run as root)"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin --comment "Simplix Hub private PostgreSQL" "$PG_OSUSER" ||
            sx_die "useradd $PG_OSUSER failed"
    fi
}

# Where the data lives: DIR/data, or the fallback under /var/tmp (see the header).
fallback_home() {
    echo "/var/tmp/simplix-pg/$(printf '%s' "$DIR" | sha256sum | cut -c1-16)"
}

# Sets DATA (the real data directory) and LOG (the real log file).
locate() {
    if [ -L "$DIR/data" ]; then
        DATA=$(readlink "$DIR/data")
        LOG=$(dirname "$DATA")/pg.log
    else
        DATA=$DIR/data
        LOG=$DIR/pg.log
    fi
}

prepare_dirs() {
    locate
    [ -f "$DATA/PG_VERSION" ] && return 0
    if sx_is_root && ! runuser -u "$PG_OSUSER" -- test -x "$DIR" 2>/dev/null; then
        local home
        home=$(fallback_home)
        sx_warn "user $PG_OSUSER cannot reach $DIR (a parent directory is not traversable by" \
            "others, e.g. /root is mode 700); keeping this cluster's data in $home instead." \
            "$DIR/data and $DIR/pg.log link to it; 'scripts/pg.sh --dir $DIR destroy' or" \
            "'make clean' deletes it. No permissions were changed."
        mkdir -p /var/tmp/simplix-pg
        chmod 755 /var/tmp/simplix-pg
        mkdir -p "$home"
        chown "$PG_OSUSER:" "$home"
        chmod 700 "$home"
        rm -rf "$DIR/data" "$DIR/pg.log"
        ln -s "$home/data" "$DIR/data"
        ln -s "$home/pg.log" "$DIR/pg.log"
        echo "$DIR" >"$home/owner-dir"
        locate
    fi
    mkdir -p "$DATA"
    touch "$LOG"
    if sx_is_root; then
        chown "$PG_OSUSER:" "$DATA" "$LOG"
    fi
    chmod 700 "$DATA"
}

pid_of_cluster() {
    local pid
    locate
    [ -f "$DATA/postmaster.pid" ] || return 1
    pid=$(head -n 1 "$DATA/postmaster.pid" 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: it must be a postgres process.
    grep -q postgres "/proc/$pid/cmdline" 2>/dev/null || return 1
    echo "$pid"
}

port_of_cluster() { cat "$DIR/port" 2>/dev/null; }

url() { echo "postgresql://$PG_DBUSER@127.0.0.1:$(port_of_cluster)/${1:-postgres}"; }

is_ready() {
    local port
    port=$(port_of_cluster) || return 1
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_DBUSER" -d postgres -t 2
}

do_initdb() {
    locate
    [ -f "$DATA/PG_VERSION" ] && return 0
    sx_info "initdb $DATA (as $PG_OSUSER)"
    as_pg "$PG_BIN/initdb" -D "$DATA" -U "$PG_DBUSER" --auth=trust --encoding=UTF8 --locale=C \
        --no-instructions >>"$LOG" 2>&1 || {
        tail -n 20 "$LOG" >&2
        sx_die "initdb failed (log: $DIR/pg.log)"
    }
    {
        echo "# --- added by scripts/pg.sh ---"
        echo "listen_addresses = '127.0.0.1'"
        echo "unix_socket_directories = ''"
        echo "max_connections = 200"
        echo "shared_buffers = 128MB"
        echo "log_min_messages = warning"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        if [ "${SX_PG_FAST:-0}" = 1 ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >>"$DATA/postgresql.conf"
}

do_start() {
    local pid port
    ensure_user
    if pid=$(pid_of_cluster); then
        if is_ready; then
            sx_ok "already running: $(url) (pid $pid)"
            return 0
        fi
    fi
    prepare_dirs
    do_initdb
    for _ in 1 2 3 4 5; do
        port=$(sx_free_port)
        echo "$port" >"$DIR/port"
        if as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG" -o "-p $port" -w -t 60 start >/dev/null 2>&1; then
            break
        fi
        if tail -n 20 "$LOG" | grep -qi "could not bind\|address already in use"; then
            sx_warn "port $port was taken meanwhile; trying another"
            continue
        fi
        tail -n 20 "$LOG" >&2
        sx_die "PostgreSQL did not start (log: $DIR/pg.log)"
    done
    # pg_ctl -w already waited; confirm with pg_isready the way clients will connect.
    for _ in $(seq 1 60); do
        is_ready && break
        sleep 0.5
    done
    is_ready || { tail -n 20 "$LOG" >&2; sx_die "PostgreSQL does not answer on port $port"; }
    sx_ok "started: $(url) (pid $(pid_of_cluster), log $DIR/pg.log)"
}

do_stop() {
    local pid
    if ! pid=$(pid_of_cluster); then
        sx_info "not running ($DIR)"
        return 0
    fi
    # SIGINT is PostgreSQL's "fast" shutdown: roll back sessions, checkpoint, exit.
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { sx_ok "stopped (pid $pid)"; return 0; }
        sleep 0.2
    done
    sx_warn "no fast shutdown after 30s; immediate shutdown (SIGQUIT)"
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { sx_ok "stopped (pid $pid)"; return 0; }
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    sx_warn "killed PostgreSQL (pid $pid)"
}

do_status() {
    local pid
    locate
    if pid=$(pid_of_cluster) && is_ready; then
        echo "running: $(url) (pid $pid, data $DATA)"
        return 0
    fi
    echo "stopped ($DIR)"
    return 3
}

do_destroy() {
    local home=
    do_stop
    locate
    if [ -L "$DIR/data" ]; then
        home=$(dirname "$DATA")
    fi
    rm -rf "$DIR"
    if [ -n "$home" ] && [ -f "$home/owner-dir" ]; then
        rm -rf "$home"
        sx_info "deleted $home"
    fi
    sx_ok "destroyed $DIR"
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
    url)
        pid_of_cluster >/dev/null || sx_die "not running ($DIR); run scripts/pg.sh start"
        url "${1:-postgres}"
        ;;
    destroy) do_destroy ;;
    *) sx_die "unknown command '$cmd' (start|stop|status|url|destroy)" ;;
esac
