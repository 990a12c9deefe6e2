#!/usr/bin/env bash
# scripts/deps.sh: install the Debian 12 packages Simplix Hub needs, only those missing.
#
#   scripts/deps.sh            install every missing package of the list below (+ npm ci, below)
#   scripts/deps.sh PKG...     install just these packages when missing (e.g. `make` for .ci/run)
#   scripts/deps.sh --check    list the missing packages and exit 1 if there are any
#
# Runs apt-get non-interactively, and `apt-get update` only when something is missing. As a
# non-root user it uses `sudo -n` when there is something to install. When
# tests/conformance/package-lock.json exists it also runs `npm ci` there if node_modules is
# missing or the lock file changed since the last install.
set -euo pipefail
SX_LOG_TAG=deps
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SX_PACKAGES=(
    build-essential cmake pkg-config git ca-certificates curl make
    libevent-dev libcurl4-openssl-dev libjson-c-dev libpq-dev libssl-dev libxml2-dev
    postgresql-15 postgresql-client-15
    clang libclang-rt-14-dev  # clang + libFuzzer runtime for the fuzz targets
    valgrind
    nodejs npm                # the conformance tests run official npm clients
)

check_only=0
only=()
for arg in "$@"; do
    case $arg in
        --check) check_only=1 ;;
        -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) sx_die "unknown option $arg (see --help)" ;;
        *) only+=("$arg") ;;
    esac
done
if [ ${#only[@]} -gt 0 ]; then
    SX_PACKAGES=("${only[@]}")
fi

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ] && return 0
    # Node from another source (e.g. NodeSource's nodejs, which bundles npm and conflicts with
    # Debian's npm package) is as good: the tests only need the commands.
    case $1 in
        nodejs) command -v node >/dev/null 2>&1 ;;
        npm) command -v npm >/dev/null 2>&1 ;;
        *) return 1 ;;
    esac
}

missing=()
for p in "${SX_PACKAGES[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if [ $check_only -eq 1 ]; then
    if [ ${#missing[@]} -gt 0 ]; then
        echo "missing: ${missing[*]}"
        exit 1
    fi
    echo "all ${#SX_PACKAGES[@]} packages are installed"
    exit 0
fi

if [ ${#missing[@]} -gt 0 ]; then
    if ! sx_is_root && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
        sx_die "missing packages: ${missing[*]}; run as root: apt-get install ${missing[*]}"
    fi
    sx_info "installing ${#missing[@]} missing package(s): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold
              -o Dpkg::Use-Pty=0 -o APT::Color=0)
    start=$(sx_now)
    # apt's chatter (thousands of lines) goes to a log, shown only when something fails.
    mkdir -p "$SX_BUILD_DIR"
    aptlog=$SX_BUILD_DIR/deps-apt.log
    sx_info "apt-get update && apt-get install (log: ${aptlog#"$SX_ROOT"/})"
    if ! sx_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q -o APT::Color=0 >"$aptlog" 2>&1; then
        tail -n 30 "$aptlog" >&2
        sx_die "apt-get update failed (log: $aptlog)"
    fi
    if ! sx_as_root env DEBIAN_FRONTEND=noninteractive apt-get install "${apt_opts[@]}" \
        --no-install-recommends "${missing[@]}" >>"$aptlog" 2>&1; then
        tail -n 40 "$aptlog" >&2
        sx_die "apt-get install failed for: ${missing[*]} (log: $aptlog)"
    fi
    still=()
    for p in "${missing[@]}"; do
        is_installed "$p" || still+=("$p")
    done
    [ ${#still[@]} -eq 0 ] || sx_die "still missing after apt-get install: ${still[*]}"
    sx_ok "installed ${missing[*]} in $(($(sx_now) - start))s"
else
    sx_ok "all ${#SX_PACKAGES[@]} required packages are installed"
fi

# ---- npm packages of the conformance tests (only for the full install) --------------------------
conf=$SX_ROOT/tests/conformance
if [ ${#only[@]} -eq 0 ] && [ -f "$conf/package-lock.json" ]; then
    want=$(sha256sum "$conf/package-lock.json" | cut -d' ' -f1)
    stamp=$conf/node_modules/.simplix-lock.sha256
    have=$(cat "$stamp" 2>/dev/null || true)
    if [ ! -d "$conf/node_modules" ] || [ "$want" != "$have" ]; then
        sx_info "npm ci in tests/conformance (lock file new or changed)"
        (cd "$conf" && npm ci --no-audit --no-fund --loglevel=error) ||
            sx_die "npm ci failed in tests/conformance"
        echo "$want" >"$stamp"
        sx_ok "npm packages of tests/conformance installed"
    fi
fi
