# step: The admin API: what the Simplix UI calls, with a token scoped to the demo organization
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here). Runs after the Shopify step (its organization).

api_step() {
    local org tok other body

    if [ -z "$SX_HUB_URL" ] || ! demo_has_cmd token; then
        demo_missing "a serving hub with the token command"
        return 0
    fi
    org=$("$SX_HUB_BIN" org list 2>/dev/null | awk '$2 == "Demo" && $3 == "Shop" {print $1}' | tail -1)
    if [ -z "$org" ]; then
        demo_missing "the demo organization (the Shopify step makes it)"
        return 0
    fi
    tok=$("$SX_HUB_BIN" token create --org "$org" --role readonly --name demo 2>/dev/null |
          grep -o 'sxk_[A-Za-z0-9_-]*' | head -1)
    [ -n "$tok" ] || { demo_fail "token create"; return 1; }
    sx_info "a read-only token for organization $org (shown once, stored hashed): ${tok:0:8}..."
    sx_info "GET /api/v1/integrations"
    body=$(demo_curl -H "Authorization: Bearer $tok" "$SX_HUB_URL/api/v1/integrations") ||
        { demo_fail "GET /api/v1/integrations"; return 1; }
    printf '    %s\n' "${body:0:240}"
    sx_info "GET /api/v1/invoices?limit=2"
    body=$(demo_curl -H "Authorization: Bearer $tok" "$SX_HUB_URL/api/v1/invoices?limit=2") ||
        { demo_fail "GET /api/v1/invoices"; return 1; }
    printf '    %s\n' "${body:0:240}"
    other=$("$SX_HUB_BIN" org create "Someone Else" 2>/dev/null)
    tok=$("$SX_HUB_BIN" token create --org "$other" --role admin 2>/dev/null |
          grep -o 'sxk_[A-Za-z0-9_-]*' | head -1)
    sx_info "another organization's token asks for the demo's integration list:"
    body=$(curl -sS --max-time 10 -H "Authorization: Bearer $tok" "$SX_HUB_URL/api/v1/integrations")
    printf '    %s\n' "${body:0:240}"
    "$SX_HUB_BIN" org delete "$other" >/dev/null 2>&1
    demo_did "admin API: organization-scoped tokens, integrations and invoices read, nothing of another organization visible"
}

api_step
