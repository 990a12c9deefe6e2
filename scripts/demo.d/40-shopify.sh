# step: Shopify: connect the sandbox shop through OAuth, import everything, export a Simplix change
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here). Uses the hub's CLI for everything an
# administrator does, psql only to play "a user edits a customer in Simplix" and to count rows.

shopify_sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

shopify_step() {
    local sb org old id url cb page e ext name settings config

    if [ -z "$SX_HUB_URL" ] || [ -z "${SX_SANDBOX_JSON:-}" ]; then
        demo_missing "a serving hub and the sandbox"
        return 0
    fi
    if [ ! -f "$SX_PLUGIN_DIR/shopify.so" ]; then
        demo_missing "build/plugins/shopify.so"
        return 0
    fi
    if ! command -v psql >/dev/null 2>&1; then
        demo_missing "psql (postgresql-client) to play the Simplix side"
        return 0
    fi
    # The first "shopify" key is the API's URL (the control URLs come later in the file).
    sb=$(grep -o '"shopify":"http[^"]*"' "$SX_SANDBOX_JSON" | head -1 | cut -d'"' -f4)

    # A fresh demo organization each run: the previous one, and all it synced, goes.
    for old in $("$SX_HUB_BIN" org list 2>/dev/null | awk '$2 == "Demo" && $3 == "Shop" {print $1}'); do
        "$SX_HUB_BIN" org delete "$old" 2>/dev/null
    done
    org=$("$SX_HUB_BIN" org create "Demo Shop") || { demo_fail "org create"; return 1; }
    config="{\"shop_domain\":\"sandbox-shop.myshopify.com\",\"base_url\":\"$sb\",\"client_id\":\"sandbox-api-key\"}"
    settings='{"entities":["customer","product","order"],"directions":{"customer":["import","export"],"product":["import","export"]},"interval_s":900}'
    id=$("$SX_HUB_BIN" integrations create --org "$org" --platform shopify --name "Sandbox shop" \
         --config "$config" --secret client_secret=sandbox-api-secret --settings "$settings") ||
        { demo_fail "integrations create"; return 1; }
    sx_info "organization $org, integration $id (PENDING_AUTH). The administrator clicks Connect:"
    url=$(SX_PUBLIC_URL=$SX_HUB_URL "$SX_HUB_BIN" integrations connect "$id" 2>/dev/null) ||
        { demo_fail "integrations connect"; return 1; }
    printf '    %s\n' "${url:0:160}..."
    # The shop approves and redirects the browser to the hub with code, hmac, shop, state...
    cb=$(curl -sS -o /dev/null -w '%{redirect_url}' --max-time 10 "$url")
    page=$(curl -sS --max-time 10 "$cb")
    if ! printf '%s' "$page" | grep -q 'Connected'; then
        printf '    %s\n' "$page"
        demo_fail "the OAuth callback did not connect the shop"
        return 1
    fi
    demo_did "OAuth: state, hmac, shop and timestamp checked; token stored sealed; integration $id ACTIVE"

    for e in customer product order; do
        sx_info "simplix-hub sync start $id --entity $e --mode full --wait 300"
        "$SX_HUB_BIN" sync start "$id" --entity "$e" --mode full --wait 300 2>/dev/null | sed 's/^/    /' ||
            { demo_fail "the $e import did not complete"; return 1; }
    done
    sx_info "in Simplix now: $(shopify_sql "SELECT count(*) FROM companies WHERE organization_id = $org") companies, $(shopify_sql "SELECT count(*) FILTER (WHERE parent_id IS NULL) || ' products with ' || count(*) FILTER (WHERE parent_id IS NOT NULL) || ' variants' FROM products WHERE organization_id = $org"), $(shopify_sql "SELECT count(*) FROM invoices WHERE organization_id = $org") invoices with $(shopify_sql "SELECT count(*) FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id WHERE i.organization_id = $org") lines"
    demo_did "imported customers, products (with variants) and orders (as invoices) from the sandbox shop"

    # A user renames a customer in Simplix: the outbox trigger records it, the export pushes it.
    ext=$(shopify_sql "SELECT external_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' ORDER BY internal_id LIMIT 1")
    shopify_sql "UPDATE companies SET contact_first_name = 'Renamed', contact_last_name = 'In Simplix' WHERE id = (SELECT internal_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' AND external_id = '$ext')"
    sx_info "renamed customer $ext in Simplix; simplix-hub sync export $id --wait 60"
    "$SX_HUB_BIN" sync export "$id" --wait 60 2>/dev/null | sed 's/^/    /'
    name=$(curl -sS --max-time 10 -H 'X-Shopify-Access-Token: shpat_sandbox' "$sb/admin/api/2024-10/customers/$ext.json" |
           grep -o '"first_name":"[^"]*","last_name":"[^"]*"' | head -1)
    if ! printf '%s' "$name" | grep -q 'Renamed'; then
        demo_fail "the rename did not reach the shop (saw: ${name:-nothing})"
        return 1
    fi
    sx_info "the shop now says: $name"
    demo_did "exported a Simplix change to the shop (customer $ext)"
    sx_info "the next import brings it back and recognises it as ours (no ping-pong):"
    "$SX_HUB_BIN" sync start "$id" --entity customer --mode incremental --wait 60 2>/dev/null | sed 's/^/    /'
    sx_info "simplix-hub sync logs $id"
    "$SX_HUB_BIN" sync logs "$id" --limit 8 2>/dev/null | cut -c1-150 | sed 's/^/    /'
    demo_did "sync log printed"
}

shopify_step
