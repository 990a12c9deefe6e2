# step: The shared job queue: jobs enqueued in PostgreSQL, run by the hub's workers exactly once
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here).

queue_step() {
    local out

    if [ -z "$SX_HUB_URL" ] || ! demo_has_cmd selftest; then
        demo_missing "a serving hub with the selftest command"
        return 0
    fi
    sx_info "simplix-hub selftest -n 1000: enqueue 1000 jobs, wait for the hub's workers"
    if ! out=$("$SX_HUB_BIN" selftest -n 1000 -t 60 2>&1); then
        printf '%s\n' "$out" | sed 's/^/    /'
        demo_fail "selftest: not every job ran exactly once"
        return 1
    fi
    printf '%s\n' "$out" | sed 's/^/    /'
    demo_did "queue: $(printf '%s\n' "$out" | tail -1) (SKIP LOCKED claims, NOTIFY wake-ups)"
}

queue_step
