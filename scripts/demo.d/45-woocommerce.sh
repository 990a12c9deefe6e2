# step: WooCommerce: connect the sandbox store through the /wc-auth key flow, sync both ways, a webhook
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here). Uses the hub's CLI for everything an
# administrator does, psql only to play "a user edits Simplix" and to count rows.

woo_sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

woo_step() {
    local w org old id url next page i e ext pext name price hooks state

    if [ -z "$SX_HUB_URL" ] || [ -z "${SX_SANDBOX_JSON:-}" ]; then
        demo_missing "a serving hub and the sandbox"
        return 0
    fi
    if [ ! -f "$SX_PLUGIN_DIR/woocommerce.so" ]; then
        demo_missing "build/plugins/woocommerce.so"
        return 0
    fi
    if ! command -v psql >/dev/null 2>&1; then
        demo_missing "psql (postgresql-client) to play the Simplix side"
        return 0
    fi
    w=$(grep -o '"woo":"http[^"]*"' "$SX_SANDBOX_JSON" | head -1 | cut -d'"' -f4)
    if [ -z "$w" ]; then
        demo_missing "the sandbox's WooCommerce store"
        return 0
    fi

    for old in $("$SX_HUB_BIN" org list 2>/dev/null | awk '$2 == "Demo" && $3 == "Store" {print $1}'); do
        "$SX_HUB_BIN" org delete "$old" 2>/dev/null
    done
    org=$("$SX_HUB_BIN" org create "Demo Store") || { demo_fail "org create"; return 1; }
    id=$("$SX_HUB_BIN" integrations create --org "$org" --platform woocommerce --name "Sandbox store" \
         --config "{\"store_url\":\"$w\"}" \
         --settings '{"entities":["customer","product","order"],"directions":{"customer":["import","export"],"product":["import","export"]}}') ||
        { demo_fail "integrations create"; return 1; }
    sx_info "organization $org, integration $id (PENDING_AUTH). The administrator clicks Connect:"
    url=$(SX_PUBLIC_URL=$SX_HUB_URL "$SX_HUB_BIN" integrations connect "$id" 2>/dev/null) ||
        { demo_fail "integrations connect"; return 1; }
    printf '    %s\n' "${url:0:160}..."
    # The store approves, POSTs the generated keys to the hub, then sends the browser back.
    page=""
    for i in $(seq 1 60); do
        next=$(curl -sS -o "$SX_DEMO_DIR/woo-page.html" -w '%{redirect_url}' --max-time 10 "$url")
        if [ -z "$next" ]; then page=$(cat "$SX_DEMO_DIR/woo-page.html"); break; fi
        url=$next
        sleep 0.1
    done
    if ! printf '%s' "$page" | grep -q 'Connected'; then
        printf '    %s\n' "$page"
        demo_fail "the /wc-auth key flow did not connect the store"
        return 1
    fi
    sx_info "woocommerce_stores: $(woo_sql "SELECT 'WooCommerce ' || wc_version || ', WordPress ' || wp_version || ', ' || currency || ', key ' || key_permissions || ' (sealed)' FROM woocommerce_stores WHERE integration_id = $id")"
    demo_did "WooCommerce key flow: keys POSTed to the hub with the single-use state, checked against system_status, stored sealed; integration $id ACTIVE"

    for e in customer product order; do
        sx_info "simplix-hub sync start $id --entity $e --mode full --wait 300"
        "$SX_HUB_BIN" sync start "$id" --entity "$e" --mode full --wait 300 2>/dev/null | sed 's/^/    /' ||
            { demo_fail "the WooCommerce $e import did not complete"; return 1; }
    done
    sx_info "in Simplix now: $(woo_sql "SELECT count(*) FROM companies WHERE organization_id = $org") companies, $(woo_sql "SELECT count(*) FILTER (WHERE parent_id IS NULL) || ' products with ' || count(*) FILTER (WHERE parent_id IS NOT NULL) || ' sellable variants' FROM products WHERE organization_id = $org"), $(woo_sql "SELECT count(*) FROM invoices WHERE organization_id = $org") invoices"
    demo_did "imported WooCommerce customers, products (variations as variants) and orders (signed with OAuth 1.0a over plain HTTP)"

    # Simplix side: rename a customer and change a simple product's price; the export pushes both.
    ext=$(woo_sql "SELECT external_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' ORDER BY internal_id LIMIT 1")
    woo_sql "UPDATE companies SET contact_first_name = 'Renamed' WHERE id = (SELECT internal_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' AND external_id = '$ext')"
    pext=$(woo_sql "SELECT m.external_id FROM integration_mappings m JOIN products p ON p.id = m.internal_id WHERE m.integration_id = $id AND m.entity = 'product' AND (SELECT count(*) FROM products c WHERE c.parent_id = p.id) = 1 AND p.currency = (SELECT currency FROM woocommerce_stores WHERE integration_id = $id) ORDER BY m.internal_id LIMIT 1")
    woo_sql "UPDATE products SET price_minor = 1999 WHERE parent_id = (SELECT internal_id FROM integration_mappings WHERE integration_id = $id AND entity = 'product' AND external_id = '$pext')"
    sx_info "renamed customer $ext and priced product $pext at 19.99 in Simplix; simplix-hub sync export $id --wait 60"
    "$SX_HUB_BIN" sync export "$id" --wait 60 2>/dev/null | sed 's/^/    /'
    name=$(curl -sS --max-time 10 -u ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c:cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432 \
           "$w/wp-json/wc/v3/customers/$ext" | grep -o '"first_name":"[^"]*"' | head -1)
    price=$(curl -sS --max-time 10 -u ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c:cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432 \
           "$w/wp-json/wc/v3/products/$pext" | grep -o '"regular_price":"[^"]*"' | head -1)
    if [ "$name" != '"first_name":"Renamed"' ] || [ "$price" != '"regular_price":"19.99"' ]; then
        demo_fail "the export did not reach the store (saw: ${name:-nothing}, ${price:-nothing})"
        return 1
    fi
    sx_info "the store now says: $name, product $pext $price"
    demo_did "exported a customer and a product price to the WooCommerce store"

    # Webhooks: the subscription monitor registers them; a merchant edit in the store arrives
    # signed and is applied within a second.
    "$SX_HUB_BIN" integrations subscribe "$id" >/dev/null 2>&1
    for i in $(seq 1 100); do
        hooks=$(curl -sS --max-time 5 "$w/_sandbox/webhooks" | tr -d '\\' | grep -o "/api/webhooks/woocommerce/$id\"" | wc -l)
        [ "$hooks" -ge 11 ] && break
        sleep 0.1
    done
    # Often within the second of our export of this customer: the store keeps date_modified to
    # the second, so the edit carries our push's time; the engine tells it from the push's echo
    # by the record the push returned (docs/SYNC.md, "Echoes and edits in the same second").
    curl -sS --max-time 5 -X POST -H 'Content-Type: application/json' -d '{"first_name":"Webhooked"}' \
        "$w/_sandbox/customers/$ext" >/dev/null
    state=""
    for i in $(seq 1 50); do
        state=$(woo_sql "SELECT contact_first_name FROM companies WHERE id = (SELECT internal_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' AND external_id = '$ext')")
        [ "$state" = Webhooked ] && break
        sleep 0.1
    done
    if [ "$state" != Webhooked ]; then
        demo_fail "the customer.updated webhook was not applied (saw: ${state:-nothing})"
        return 1
    fi
    demo_did "$hooks WooCommerce webhooks registered; a signed customer.updated delivery applied to Simplix"
    sx_info "simplix-hub sync logs $id"
    "$SX_HUB_BIN" sync logs "$id" --limit 6 2>/dev/null | cut -c1-150 | sed 's/^/    /'
}

woo_step
