# step: PrestaShop: import a sandbox shop through the Webservice, read as XML and converted
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here).

presta_sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

presta_step() {
    local p org old id e

    if [ -z "$SX_HUB_URL" ] || [ -z "${SX_SANDBOX_JSON:-}" ] || [ ! -f "$SX_PLUGIN_DIR/prestashop.so" ]; then
        demo_missing "a serving hub, the sandbox and build/plugins/prestashop.so"
        return 0
    fi
    command -v psql >/dev/null 2>&1 || { demo_missing "psql"; return 0; }
    p=$(grep -o '"presta":"http[^"]*"' "$SX_SANDBOX_JSON" | head -1 | cut -d'"' -f4)
    [ -n "$p" ] || { demo_missing "the sandbox's PrestaShop shop"; return 0; }
    for old in $("$SX_HUB_BIN" org list 2>/dev/null | awk '$2 == "Demo" && $3 == "Boutique" {print $1}'); do
        "$SX_HUB_BIN" org delete "$old" 2>/dev/null
    done
    org=$("$SX_HUB_BIN" org create "Demo Boutique") || { demo_fail "org create"; return 1; }
    id=$("$SX_HUB_BIN" integrations create --org "$org" --platform prestashop --name "Sandbox boutique" \
         --active --config "{\"shop_url\":\"$p\",\"format\":\"xml\",\"language_id\":2,\"utc_offset\":\"+01:00\"}" \
         --secret webservice_key=UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX --settings '{"entities":[]}') ||
        { demo_fail "integrations create"; return 1; }
    sx_info "simplix-hub integrations test $id"
    "$SX_HUB_BIN" integrations test "$id" 2>&1 | sed 's/^/    /'
    for e in customer product order; do
        sx_info "simplix-hub sync start $id --entity $e --mode full --wait 300"
        "$SX_HUB_BIN" sync start "$id" --entity "$e" --mode full --wait 300 2>/dev/null | sed 's/^/    /' ||
            { demo_fail "the PrestaShop $e import did not complete"; return 1; }
    done
    sx_info "in Simplix now: $(presta_sql "SELECT count(*) FROM companies WHERE organization_id = $org") companies, $(presta_sql "SELECT count(*) FILTER (WHERE parent_id IS NULL) || ' products with ' || count(*) FILTER (WHERE parent_id IS NOT NULL) || ' sellable variants' FROM products WHERE organization_id = $org"), $(presta_sql "SELECT count(*) FROM invoices WHERE organization_id = $org") invoices; a product name in French: $(presta_sql "SELECT name FROM products WHERE organization_id = $org AND parent_id IS NULL ORDER BY id LIMIT 1")"
    demo_did "imported a PrestaShop shop (XML converted with libxml2, French texts, shop-local dates converted)"
}

presta_step
