# step: PrestaShop: import a sandbox shop through the Webservice (XML converted), export a change, sweep a deletion
# shellcheck shell=bash
# Sourced by scripts/demo.sh (see README here).

presta_sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

presta_step() {
    local p org old id e ext name

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
         --secret webservice_key=UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX \
         --settings '{"entities":[],"directions":{"customer":["import","export"],"product":["import","export"]}}') ||
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

    # A user renames a customer in Simplix; the export writes it as XML built from the shop's
    # own record.
    ext=$(presta_sql "SELECT external_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' ORDER BY internal_id LIMIT 1")
    presta_sql "UPDATE companies SET contact_first_name = 'Renommé' WHERE id = (SELECT internal_id FROM integration_mappings WHERE integration_id = $id AND entity = 'customer' AND external_id = '$ext')"
    sx_info "renamed customer $ext in Simplix; simplix-hub sync export $id --wait 60"
    "$SX_HUB_BIN" sync export "$id" --wait 60 2>/dev/null | sed 's/^/    /'
    name=$(curl -sg --max-time 10 -u UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX: "$p/api/customers/$ext?output_format=JSON" |
           grep -o '"firstname":"[^"]*"' | head -1)
    if [ "$name" != '"firstname":"Renommé"' ]; then
        demo_fail "the rename did not reach the PrestaShop shop (saw: ${name:-nothing})"
        return 1
    fi
    sx_info "the shop now says: $name"
    demo_did "exported a Simplix change to the PrestaShop shop (customer $ext)"

    # PrestaShop sends nothing when a product is deleted: the id sweep finds it.
    ext=$(presta_sql "SELECT max(external_id::int) FROM integration_mappings WHERE integration_id = $id AND entity = 'product'")
    sx_info "deleting product $ext in the shop; simplix-hub sync start $id --entity product --mode sweep --wait 120"
    curl -s -o /dev/null --max-time 10 -X DELETE -u UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX: "$p/api/products/$ext"
    "$SX_HUB_BIN" sync start "$id" --entity product --mode sweep --wait 120 2>/dev/null | sed 's/^/    /' ||
        { demo_fail "the PrestaShop deletion sweep did not complete"; return 1; }
    name=$(presta_sql "SELECT p.status FROM products p JOIN integration_mappings m ON m.internal_id = p.id WHERE m.integration_id = $id AND m.entity = 'product' AND m.external_id = '$ext'")
    if [ "$name" != archived ]; then
        demo_fail "the deleted product $ext is not archived in Simplix (status: ${name:-none})"
        return 1
    fi
    demo_did "found the product deleted in the shop by the id sweep and archived it in Simplix"
}

presta_step
