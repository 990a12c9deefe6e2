# step: Health check: the hub, its database and its plugins
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here).

health_step() {
    local body plugins n

    # What was built, whether or not a hub serves it.
    plugins=$(cd "$SX_PLUGIN_DIR" 2>/dev/null && ls -1 -- *.so 2>/dev/null | tr '\n' ' ')
    sx_info "plugins built in ${SX_PLUGIN_DIR#"$SX_ROOT"/}: ${plugins:-none}"

    if demo_has_cmd plugin && "$SX_HUB_BIN" plugin --help 2>&1 | grep -qw list; then
        sx_info "simplix-hub plugin list:"
        if ! "$SX_HUB_BIN" plugin list 2>&1 | sed 's/^/    /'; then
            demo_fail "simplix-hub plugin list failed"
            return 1
        fi
    fi

    if [ -z "$SX_HUB_URL" ]; then
        demo_missing "a serving hub, so no /healthz or /metrics to check"
        return 0
    fi

    sx_info "GET $SX_HUB_URL/healthz"
    if ! body=$(demo_curl "$SX_HUB_URL/healthz"); then
        printf '    %s\n' "$body"
        demo_fail "/healthz did not answer 200"
        return 1
    fi
    printf '    %s\n' "$body"
    demo_did "GET /healthz: 200 $(printf '%s' "$body" | tr -d '\n' | cut -c1-120)"

    sx_info "GET $SX_HUB_URL/metrics (the hub's own series)"
    if ! body=$(demo_curl "$SX_HUB_URL/metrics"); then
        demo_fail "/metrics did not answer 200"
        return 1
    fi
    n=$(printf '%s\n' "$body" | grep -cv '^#')
    # Histogram buckets are noise here; show the other series.
    printf '%s\n' "$body" | grep -v '^#' | grep -v '_bucket{' | head -n 15 | sed 's/^/    /'
    [ "$n" -le 15 ] || echo "    ... ($n samples in all)"
    demo_did "GET /metrics: 200, $n samples"
}
health_step
