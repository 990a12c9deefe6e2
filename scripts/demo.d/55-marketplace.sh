# step: Marketplace: the build's signed connector packages, verified the way a hub installs them
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here). Installing into the running hub is shown by
# tests/integration/test_marketplace.sh and docs/MARKETPLACE.md; the demo only verifies and lists,
# so that it leaves build/plugins as the build made it.

market_step() {
    local mk="${SX_BUILD_DIR:-build}/marketplace" v
    if [ ! -f "$mk/index.json" ]; then
        demo_missing "build/marketplace (the marketplace_packages build target)"
        return 0
    fi
    for v in "$mk"/packages/*/*/; do
        sx_info "simplix-hub marketplace verify ${v#"$SX_ROOT"/}"
        "$SX_HUB_BIN" marketplace verify "$v" 2>&1 | sed 's/^/    /'
    done
    sx_info "SX_MARKETPLACE_DIR=${mk#"$SX_ROOT"/} simplix-hub marketplace list"
    SX_MARKETPLACE_DIR=$mk "$SX_HUB_BIN" marketplace list 2>&1 | cut -c1-300 | sed 's/^/    /'
    demo_did "the first-party connectors are packed, signed with the development key and verify; install them with simplix-hub marketplace install ID (docs/MARKETPLACE.md)"
}

market_step
