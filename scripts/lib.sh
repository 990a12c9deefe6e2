# shellcheck shell=bash
# scripts/lib.sh: helpers shared by deps.sh, pg.sh, test.sh and demo.sh. Source it, don't run it.
#
# Nothing here needs python, jq or iproute2: a fresh Debian 12 has bash and coreutils, and that
# is all these helpers use (plus `ss` when it happens to be there).

SX_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SX_BUILD_DIR=${SX_BUILD_DIR:-$SX_ROOT/build}

# ---- output -------------------------------------------------------------------------------------
# Colour only when stdout is a terminal and NO_COLOR is not set (CI has no terminal).
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ]; then
    SX_C_BOLD=$'\033[1m' SX_C_RED=$'\033[31m' SX_C_GREEN=$'\033[32m' SX_C_YELLOW=$'\033[33m'
    SX_C_BLUE=$'\033[34m' SX_C_DIM=$'\033[2m' SX_C_OFF=$'\033[0m'
else
    SX_C_BOLD='' SX_C_RED='' SX_C_GREEN='' SX_C_YELLOW='' SX_C_BLUE='' SX_C_DIM='' SX_C_OFF=''
fi
SX_LOG_TAG=${SX_LOG_TAG:-sx}

sx_info()    { printf '%s[%s]%s %s\n' "$SX_C_BLUE" "$SX_LOG_TAG" "$SX_C_OFF" "$*"; }
sx_ok()      { printf '%s[%s] ok%s %s\n' "$SX_C_GREEN" "$SX_LOG_TAG" "$SX_C_OFF" "$*"; }
sx_warn()    { printf '%s[%s] warning:%s %s\n' "$SX_C_YELLOW" "$SX_LOG_TAG" "$SX_C_OFF" "$*" >&2; }
sx_err()     { printf '%s[%s] error:%s %s\n' "$SX_C_RED" "$SX_LOG_TAG" "$SX_C_OFF" "$*" >&2; }
sx_die()     { sx_err "$*"; exit 1; }
sx_heading() { printf '\n%s==> %s%s\n' "$SX_C_BOLD" "$*" "$SX_C_OFF"; }
sx_dim()     { printf '%s%s%s\n' "$SX_C_DIM" "$*" "$SX_C_OFF"; }

# Seconds since the epoch, for timings.
sx_now() { date +%s; }

# ---- privileges ---------------------------------------------------------------------------------
sx_is_root() { [ "$(id -u)" -eq 0 ]; }

# Run a command as root: directly when we are root, through `sudo -n` otherwise.
sx_as_root() {
    if sx_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        sx_err "needs root to run: $*"
        return 1
    fi
}

# ---- ports --------------------------------------------------------------------------------------
# sx_port_in_use PORT: true when something listens on 127.0.0.1:PORT (or ss says it is bound).
sx_port_in_use() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        if ss -Hltn "( sport = :$port )" 2>/dev/null | grep -q .; then
            return 0
        fi
    fi
    # A connect that succeeds means a listener; "connection refused" comes back at once.
    if timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
        return 0
    fi
    return 1
}

# sx_free_port: print a TCP port that nothing listens on. Chosen at random below the kernel's
# ephemeral range (32768+), so outgoing connections do not collide with it either.
sx_free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
        if ! sx_port_in_use "$port"; then
            echo "$port"
            return 0
        fi
    done
    sx_err "found no free TCP port on 127.0.0.1 after 200 tries"
    return 1
}

# ---- waiting ------------------------------------------------------------------------------------
# sx_wait_file FILE TIMEOUT_SECONDS [PID]: wait until FILE exists and is non-empty. Fails early
# when PID (the process expected to write it) exits first. Returns 0 ok, 1 timeout, 2 PID died.
sx_wait_file() {
    local file=$1 timeout=$2 pid=${3:-} deadline
    deadline=$(($(sx_now) + timeout))
    while :; do
        if [ -s "$file" ]; then
            # The writer may still be mid-write; a complete JSON object ends with '}'.
            if grep -q '}' "$file" 2>/dev/null || ! grep -q '{' "$file" 2>/dev/null; then
                return 0
            fi
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 2
        fi
        if [ "$(sx_now)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.2
    done
}

# sx_json_str FILE KEY: print the string value of "KEY" in a small flat JSON file (first match).
sx_json_str() {
    sed -n 's/.*"'"$2"'"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$1" | head -n 1
}

# sx_stop_pid PID NAME [GRACE_SECONDS]: SIGTERM, wait, then SIGKILL. Quiet when already gone.
sx_stop_pid() {
    local pid=$1 name=$2 grace=${3:-10}
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 $((grace * 5))); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; sx_info "stopped $name (pid $pid)"; return 0; }
        sleep 0.2
    done
    sx_warn "$name (pid $pid) ignored SIGTERM for ${grace}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# ---- building -----------------------------------------------------------------------------------
sx_jobs() { nproc 2>/dev/null || echo 2; }

# sx_build DIR [CMAKE_ARGS...]: configure (when needed) and build the tree in DIR.
sx_build() {
    local dir=$1
    shift
    mkdir -p "$dir"
    # Configure quietly; show the whole output only when it fails.
    cmake -S "$SX_ROOT" -B "$dir" "$@" >"$dir/configure.log" 2>&1 || {
        cat "$dir/configure.log" >&2
        sx_err "cmake configure failed for $dir (output above, also in $dir/configure.log)"
        return 1
    }
    # Under `make test` etc., keep the outer make's flags (jobserver, -w) out of the build.
    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL cmake --build "$dir" -j "$(sx_jobs)"
}
