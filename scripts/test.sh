#!/usr/bin/env bash
# scripts/test.sh (`make test`): the whole suite, the way CI runs it.
#
#   1. installs missing Debian packages (scripts/deps.sh; SX_SKIP_DEPS=1 skips this)
#   2. builds twice: build/ (plain) and build/asan (-DSX_SANITIZE=ON: ASan + UBSan)
#   3. starts a private PostgreSQL 15 in build/pg-test on a free port (scripts/pg.sh) and
#      exports TEST_DATABASE_URL and SX_REQUIRE_ALL=1 (a database test may not skip)
#   4. runs `ctest --output-on-failure -j$SX_TEST_JOBS` (default 2) in both build trees
#   5. stops the cluster whatever happens, prints one summary line, exits non-zero on any failure
#
# Extra arguments go to both ctest runs (e.g. `scripts/test.sh -R queue`). SX_TEST_ASAN=0 skips
# the sanitizer build. Logs: build/test-logs/.
set -uo pipefail
SX_LOG_TAG='test'
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SX_ROOT" || exit 1

JOBS=${SX_TEST_JOBS:-2}
PG_DIR=$SX_BUILD_DIR/pg-test
LOGS=$SX_BUILD_DIR/test-logs
T0=$(sx_now)
declare -a RESULTS=()
FAILED=0
PG_STARTED=0

joined() {
    local out='' r
    for r in "${RESULTS[@]}"; do out+=${out:+; }$r; done
    echo "${out:-nothing ran}"
}

summary() {
    local status=PASS
    [ "$FAILED" -eq 0 ] || status=FAIL
    printf '\n%s%s make test: %s%s (%s) in %ss\n' "$SX_C_BOLD" \
        "$([ "$status" = PASS ] && printf '%s' "$SX_C_GREEN" || printf '%s' "$SX_C_RED")" \
        "$status" "$SX_C_OFF" "$(joined)" \
        "$(($(sx_now) - T0))"
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ "$PG_STARTED" -eq 1 ]; then
        bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" stop || true
    fi
    [ "$rc" -eq 0 ] || FAILED=1
    summary
    [ "$FAILED" -eq 0 ] || exit 1
    exit 0
}
trap cleanup EXIT
trap 'RESULTS+=("interrupted"); FAILED=1; exit 130' INT TERM

step() {
    local name=$1 t
    shift
    sx_heading "$name"
    t=$(sx_now)
    if "$@"; then
        RESULTS+=("$name ok $(($(sx_now) - t))s")
        return 0
    fi
    RESULTS+=("$name FAILED")
    FAILED=1
    return 1
}

mkdir -p "$LOGS"

if [ "${SX_SKIP_DEPS:-0}" != 1 ]; then
    step deps bash "$SX_ROOT/scripts/deps.sh" || exit 1
fi

step build sx_build "$SX_BUILD_DIR" || exit 1
if [ "${SX_TEST_ASAN:-1}" = 1 ]; then
    step "asan build" sx_build "$SX_BUILD_DIR/asan" -DSX_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug || exit 1
fi

sx_heading "PostgreSQL"
SX_PG_FAST=1 bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" start || {
    RESULTS+=("postgres FAILED")
    exit 1
}
PG_STARTED=1
TEST_DATABASE_URL=$(bash "$SX_ROOT/scripts/pg.sh" --dir "$PG_DIR" url postgres) || exit 1
export TEST_DATABASE_URL SX_REQUIRE_ALL=1
sx_info "TEST_DATABASE_URL=$TEST_DATABASE_URL SX_REQUIRE_ALL=1"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
if [ -f "$SX_ROOT/scripts/sanitizers/lsan.supp" ] && [ -z "${LSAN_OPTIONS:-}" ]; then
    export LSAN_OPTIONS=suppressions=$SX_ROOT/scripts/sanitizers/lsan.supp:print_suppressions=0
fi

# run_ctest LABEL DIR: ctest in DIR, its output also in build/test-logs/ctest-LABEL.log.
run_ctest() {
    local label=$1 dir=$2 log="$LOGS/ctest-$1.log" t line rc
    sx_heading "ctest ($label: ${dir#"$SX_ROOT"/})"
    t=$(sx_now)
    (cd "$dir" && ctest --output-on-failure --no-tests=error -j"$JOBS" "${@:3}") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    line=$(grep -E 'tests passed|No tests were found' "$log" | tail -n 1)
    line=${line:-no ctest summary}
    if [ "$rc" -eq 0 ]; then
        RESULTS+=("$label: $line, $(($(sx_now) - t))s")
    else
        RESULTS+=("$label FAILED: $line")
        FAILED=1
    fi
}

run_ctest plain "$SX_BUILD_DIR" "$@"
if [ "${SX_TEST_ASAN:-1}" = 1 ]; then
    run_ctest asan "$SX_BUILD_DIR/asan" "$@"
fi
exit "$FAILED"
