#!/usr/bin/env bash
# scripts/demo.sh (`make demo`): Simplix Hub end to end on this machine.
#
#   scripts/demo.sh            set up, run the demo steps, keep everything running until Ctrl-C
#   scripts/demo.sh --once     set up, run the steps, stop everything, exit (non-zero on failure)
#                              (`make demo ONCE=1`, or SX_DEMO_ONCE=1)
#
# What it does, in order:
#   1. installs missing Debian packages (scripts/deps.sh; SX_SKIP_DEPS=1 skips), builds build/
#      (SX_DEMO_BUILD=0 uses the binaries already there)
#   2. database: $DATABASE_URL when set; otherwise a private PostgreSQL 15 in build/pg on a free
#      127.0.0.1 port (scripts/pg.sh) with a database simplix_demo
#   3. master key: $SX_MASTER_KEY_FILE, or build/demo/master.key (generated once: k1:<base64>)
#   4. build/bin/simplix-hub migrate
#   5. the sandbox, when built: simplix-sandbox --shopify-port 0 --ready-file build/demo/sandbox.json
#   6. the hub: simplix-hub serve --listen 127.0.0.1:0 --ready-file build/demo/hub.json
#      (env DATABASE_URL, SX_MASTER_KEY_FILE, SX_PLUGIN_DIR=build/plugins, and SX_PUBLIC_URL when
#      you set it; SX_DEMO_HUB_PORT=N listens on N instead and sets SX_PUBLIC_URL to match)
#   7. the steps: scripts/demo.d/NN-name.sh, sourced in order (see scripts/demo.d/README)
# On Ctrl-C, SIGTERM or exit it stops what it started (hub, sandbox, cluster), by pid.
# Logs: build/demo/*.log and build/pg/pg.log.
set -uo pipefail
SX_LOG_TAG=demo
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SX_ROOT" || exit 1

ONCE=${SX_DEMO_ONCE:-0}
[ "$ONCE" = 0 ] || ONCE=1
for arg in "$@"; do
    case $arg in
        --once) ONCE=1 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) sx_die "unknown argument $arg (see --help)" ;;
    esac
done

TIMEOUT=${SX_DEMO_TIMEOUT:-30}
PG_BIN=${SX_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$SX_BUILD_DIR/pg
export SX_DEMO_DIR=$SX_BUILD_DIR/demo
export SX_HUB_BIN=${SX_HUB_BIN:-$SX_BUILD_DIR/bin/simplix-hub}
export SX_SANDBOX_BIN=${SX_SANDBOX_BIN:-$SX_BUILD_DIR/bin/simplix-sandbox}
export SX_PLUGIN_DIR=${SX_PLUGIN_DIR:-$SX_BUILD_DIR/plugins}
export SX_HUB_URL='' SX_SANDBOX_JSON=''
HUB_PID='' SANDBOX_PID='' PG_STARTED=0 PG_PRIVATE=0
declare -a DONE=() MISSING=() FAILED=()

# ---- helpers for the steps ----------------------------------------------------------------------
demo_did()     { DONE+=("$*"); sx_ok "$*"; }
demo_missing() { MISSING+=("$*"); sx_warn "not available yet: $*"; }
demo_fail()    { FAILED+=("$*"); sx_err "$*"; }
# demo_has_cmd NAME: the hub's --help lists the subcommand NAME.
demo_has_cmd() { "$SX_HUB_BIN" --help 2>&1 | grep -qw -- "$1"; }
# demo_curl URL: GET with a timeout; prints the body, fails on HTTP errors.
demo_curl()    { curl -sS --fail-with-body --max-time 10 "$@"; }
# demo_log_tail FILE: the last lines of a log, indented.
demo_log_tail() { [ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/    | /'; }

# ---- stopping -----------------------------------------------------------------------------------
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    echo
    sx_stop_pid "$HUB_PID" "the hub" 15
    sx_stop_pid "$SANDBOX_PID" "the sandbox" 5
    if [ "$PG_STARTED" = 1 ]; then
        bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" stop || true
    fi
    rm -f "$SX_DEMO_DIR/hub.json" "$SX_DEMO_DIR/sandbox.json"
    if [ ${#FAILED[@]} -gt 0 ]; then
        sx_err "demo failed: ${FAILED[*]}"
        [ "$rc" -ne 0 ] || rc=1
    fi
    exit "$rc"
}
trap cleanup EXIT
WAITING=0
# Ctrl-C while the demo runs is the normal way to end it (status 0); earlier it is an interruption.
trap '[ "$WAITING" = 1 ] && exit 0; exit 130' INT TERM

mkdir -p "$SX_DEMO_DIR"
rm -f "$SX_DEMO_DIR/hub.json" "$SX_DEMO_DIR/sandbox.json"

# ---- 1. dependencies and build ------------------------------------------------------------------
if [ "${SX_SKIP_DEPS:-0}" != 1 ]; then
    sx_heading "Dependencies"
    bash "$SX_ROOT/scripts/deps.sh" || exit 1
fi
sx_heading "Build"
if [ "${SX_DEMO_BUILD:-1}" = 0 ]; then
    sx_info "SX_DEMO_BUILD=0: using the binaries already in $SX_BUILD_DIR"
else
    sx_build "$SX_BUILD_DIR" >"$SX_DEMO_DIR/build.log" 2>&1 || {
        tail -n 40 "$SX_DEMO_DIR/build.log" >&2
        sx_die "build failed (full log: $SX_DEMO_DIR/build.log)"
    }
    demo_did "built $SX_BUILD_DIR (log: ${SX_DEMO_DIR#"$SX_ROOT"/}/build.log)"
fi

# ---- 2. database --------------------------------------------------------------------------------
sx_heading "Database"
if [ -n "${DATABASE_URL:-}" ]; then
    sx_info "using DATABASE_URL from the environment (no private cluster)"
else
    PG_PRIVATE=1
    if ! bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" status >/dev/null 2>&1; then
        PG_STARTED=1
    fi
    bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" start || exit 1
    [ "$PG_STARTED" = 1 ] || sx_info "the cluster was already running; it is left running at the end"
    admin_url=$(bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" url postgres) || exit 1
    if [ "$("$PG_BIN/psql" "$admin_url" -tAXc "SELECT 1 FROM pg_database WHERE datname = 'simplix_demo'")" != 1 ]; then
        "$PG_BIN/psql" "$admin_url" -qXc "CREATE DATABASE simplix_demo" || sx_die "cannot create database simplix_demo"
        demo_did "created database simplix_demo"
    fi
    DATABASE_URL=$(bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" url simplix_demo)
fi
export DATABASE_URL
# Never print a password that DATABASE_URL may carry.
DB_SHOWN=$(printf '%s' "$DATABASE_URL" | sed -E 's#(://[^:/@]*):[^@]*@#\1:***@#')
sx_info "DATABASE_URL=$DB_SHOWN"

# ---- 3. master key ------------------------------------------------------------------------------
export SX_MASTER_KEY_FILE=${SX_MASTER_KEY_FILE:-$SX_BUILD_DIR/demo/master.key}
if [ ! -s "$SX_MASTER_KEY_FILE" ]; then
    (umask 077 && printf 'k1:%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$SX_MASTER_KEY_FILE") ||
        sx_die "cannot write $SX_MASTER_KEY_FILE"
    demo_did "generated a development master key in ${SX_MASTER_KEY_FILE#"$SX_ROOT"/} (key id k1)"
fi

# ---- 4. migrations ------------------------------------------------------------------------------
sx_heading "Migrations"
if demo_has_cmd migrate; then
    if "$SX_HUB_BIN" migrate >"$SX_DEMO_DIR/migrate.log" 2>&1; then
        demo_did "migrated the database (simplix-hub migrate)"
        demo_log_tail "$SX_DEMO_DIR/migrate.log" 10
    else
        demo_log_tail "$SX_DEMO_DIR/migrate.log" 30
        sx_die "simplix-hub migrate failed (log: $SX_DEMO_DIR/migrate.log)"
    fi
else
    demo_missing "'simplix-hub migrate' (its --help does not list it): database not migrated"
fi

# ---- 5. sandbox ---------------------------------------------------------------------------------
sx_heading "Sandbox"
if [ -x "$SX_SANDBOX_BIN" ] && ! "$SX_SANDBOX_BIN" --help 2>&1 | grep -q -- --shopify-port; then
    demo_missing "the sandbox's Shopify imitation (${SX_SANDBOX_BIN##*/} --help lists no --shopify-port): sandbox not started"
elif [ -x "$SX_SANDBOX_BIN" ]; then
    "$SX_SANDBOX_BIN" --shopify-port 0 --ready-file "$SX_DEMO_DIR/sandbox.json" \
        >"$SX_DEMO_DIR/sandbox.log" 2>&1 &
    SANDBOX_PID=$!
    sx_wait_file "$SX_DEMO_DIR/sandbox.json" "$TIMEOUT" "$SANDBOX_PID"
    case $? in
        0) SX_SANDBOX_JSON=$SX_DEMO_DIR/sandbox.json
           demo_did "sandbox listening (pid $SANDBOX_PID): $(tr -d '\n' <"$SX_SANDBOX_JSON")" ;;
        1) demo_log_tail "$SX_DEMO_DIR/sandbox.log"
           sx_die "the sandbox wrote no ready file within ${TIMEOUT}s (log: $SX_DEMO_DIR/sandbox.log)" ;;
        *) demo_log_tail "$SX_DEMO_DIR/sandbox.log"
           SANDBOX_PID=''
           sx_die "the sandbox exited before it was ready (log: $SX_DEMO_DIR/sandbox.log)" ;;
    esac
else
    sx_info "no sandbox built (${SX_SANDBOX_BIN#"$SX_ROOT"/}): skipped; steps that need a platform say so"
fi

# ---- 6. hub -------------------------------------------------------------------------------------
sx_heading "Hub"
listen=127.0.0.1:${SX_DEMO_HUB_PORT:-0}
if [ "${SX_DEMO_HUB_PORT:-0}" != 0 ] && [ -z "${SX_PUBLIC_URL:-}" ]; then
    export SX_PUBLIC_URL=http://$listen
fi
if demo_has_cmd serve; then
    "$SX_HUB_BIN" serve --listen "$listen" --ready-file "$SX_DEMO_DIR/hub.json" \
        >"$SX_DEMO_DIR/hub.log" 2>&1 &
    HUB_PID=$!
    sx_wait_file "$SX_DEMO_DIR/hub.json" "$TIMEOUT" "$HUB_PID"
    case $? in
        0) SX_HUB_URL=$(sx_json_str "$SX_DEMO_DIR/hub.json" url)
           [ -n "$SX_HUB_URL" ] || sx_die "no \"url\" in $SX_DEMO_DIR/hub.json: $(cat "$SX_DEMO_DIR/hub.json")"
           demo_did "hub serving at $SX_HUB_URL (pid $HUB_PID, log ${SX_DEMO_DIR#"$SX_ROOT"/}/hub.log)" ;;
        1) demo_log_tail "$SX_DEMO_DIR/hub.log"
           sx_die "the hub wrote no ready file within ${TIMEOUT}s (log: $SX_DEMO_DIR/hub.log)" ;;
        *) demo_log_tail "$SX_DEMO_DIR/hub.log"
           HUB_PID=''
           sx_die "the hub exited before it was ready (log: $SX_DEMO_DIR/hub.log)" ;;
    esac
else
    demo_missing "'simplix-hub serve' (its --help does not list it): no hub is serving"
fi

# ---- 7. the steps -------------------------------------------------------------------------------
for f in "$SX_ROOT"/scripts/demo.d/[0-9]*.sh; do
    [ -f "$f" ] || continue
    name=$(basename "$f" .sh)
    title=$(sed -n 's/^# step: //p' "$f" | head -n 1)
    sx_heading "Step ${name%%-*}: ${title:-${name#*-}}"
    # shellcheck source=/dev/null
    if ! . "$f"; then
        demo_fail "step $name failed"
    fi
done

# ---- summary ------------------------------------------------------------------------------------
sx_heading "Summary"
echo "  database   $DB_SHOWN"
echo "  hub        ${SX_HUB_URL:-not running}${HUB_PID:+ (pid $HUB_PID)}"
if [ -n "$SX_SANDBOX_JSON" ]; then
    echo "  sandbox    $(tr -d '\n' <"$SX_SANDBOX_JSON") (pid $SANDBOX_PID)"
else
    echo "  sandbox    not running"
fi
echo "  logs       ${SX_DEMO_DIR#"$SX_ROOT"/}/$([ "$PG_PRIVATE" = 1 ] && echo " and ${PG_DIR#"$SX_ROOT"/}/pg.log")"
echo "  done:"
for d in "${DONE[@]}"; do echo "    - $d"; done
if [ ${#MISSING[@]} -gt 0 ]; then
    echo "  not available yet:"
    for d in "${MISSING[@]}"; do echo "    - $d"; done
fi
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "  failed:"
    for d in "${FAILED[@]}"; do echo "    - $d"; done
fi

if [ ${#FAILED[@]} -gt 0 ] || [ ${#MISSING[@]} -gt 0 ]; then
    if [ "$ONCE" = 1 ] || [ -z "$HUB_PID" ]; then
        sx_err "the demo is incomplete (see above); stopping"
        exit 1
    fi
fi
if [ "$ONCE" = 1 ]; then
    sx_ok "demo ran once; stopping everything"
    exit 0
fi

echo
sx_info "running; press Ctrl-C to stop the hub${SANDBOX_PID:+, the sandbox}$([ "$PG_STARTED" = 1 ] && echo ' and the database')"
WAITING=1
while kill -0 "$HUB_PID" 2>/dev/null; do
    sleep 1 &
    wait $! 2>/dev/null || true
done
wait "$HUB_PID" 2>/dev/null
rc=$?
WAITING=0
HUB_PID=''
demo_log_tail "$SX_DEMO_DIR/hub.log"
sx_die "the hub exited on its own (status $rc; log: $SX_DEMO_DIR/hub.log)"
