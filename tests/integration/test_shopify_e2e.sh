#!/usr/bin/env bash
# The Shopify path end to end, black box: the sandbox shop (with 5 % 5xx and 3 % 429 faults),
# a real hub, the OAuth connect, full imports, a hub killed with SIGKILL in the middle of the
# order import and a second hub that resumes it, then export and no ping-pong.
#
#   test_shopify_e2e.sh BUILD_DIR
#
# Needs TEST_DATABASE_URL (make test sets it) and psql; skips (77) without them unless
# SX_REQUIRE_ALL=1. Every process it starts is stopped by its pid; its database is dropped.
set -uo pipefail

BUILD=${1:?usage: test_shopify_e2e.sh BUILD_DIR}
HUB=$BUILD/bin/simplix-hub
SBX=$BUILD/bin/simplix-sandbox
. "$(dirname "$0")/lib.sh"
e2e_init shopify_e2e
[ -x "$HUB" ] && [ -x "$SBX" ] && [ -f "$BUILD/plugins/shopify.so" ] || skip "hub, sandbox or shopify.so not built"

start_hub() {   # start_hub NAME PORT -> pid in HUB_PID
    "$HUB" serve --listen "127.0.0.1:$2" --ready-file "$TMP/$1.json" --workers 3 \
        >"$TMP/$1.log" 2>&1 &
    HUB_PID=$!
    PIDS+=("$HUB_PID")
    wait_file "$TMP/$1.json" || { echo "hub $1 did not start"; cat "$TMP/$1.log"; exit 1; }
}

export SX_JOB_LEASE_MS=3000
e2e_db

# The shop: 1,200 customers, 200 products, 1,500 orders; 5 % 5xx and 3 % 429 on its API.
"$SBX" --shopify-port 0 --ready-file "$TMP/sandbox.json" --seed 42 --customers 1200 \
    --products 200 --orders 1500 --shopify-expiring-tokens \
    --fault 'shopify:5xx:0.05:/admin/api/*' \
    --fault 'shopify:429:0.03:/admin/api/*' >"$TMP/sandbox.log" 2>&1 &
PIDS+=("$!")
wait_file "$TMP/sandbox.json" || { echo "sandbox did not start"; cat "$TMP/sandbox.log"; exit 1; }
SB=$(grep -o '"shopify":"http[^"]*"' "$TMP/sandbox.json" | head -1 | cut -d'"' -f4)
count() {       # the shop's own count, asked until a fault does not get in the way
    local n i
    for i in $(seq 1 20); do
        n=$(curl -s -H 'X-Shopify-Access-Token: shpat_sandbox' "$SB/admin/api/2024-10/$1/count.json$2" |
            grep -o '"count":[0-9]*' | cut -d: -f2)
        [ -n "$n" ] && { echo "$n"; return; }
    done
    echo "?"
}

PORT_A=$(free_port)
export SX_PUBLIC_URL=http://127.0.0.1:$PORT_A
start_hub hub_a "$PORT_A"
HUB_A=$HUB_PID

ORG=$("$HUB" org create "E2E") || exit 1
ID=$("$HUB" integrations create --org "$ORG" --platform shopify --name "Shop" \
     --config "{\"shop_domain\":\"sandbox-shop.myshopify.com\",\"base_url\":\"$SB\",\"client_id\":\"sandbox-api-key\"}" \
     --secret client_secret=sandbox-api-secret \
     --settings '{"entities":[],"directions":{"customer":["import","export"]},"page_size":50}') || exit 1
URL=$("$HUB" integrations connect "$ID" 2>/dev/null)
CB=$(curl -s -o /dev/null -w '%{redirect_url}' "$URL")
PAGE=$(curl -s "$CB")
check "OAuth callback connects the shop" "$(printf '%s' "$PAGE" | grep -c 'Connected sandbox-shop.myshopify.com')" 1
check "integration ACTIVE" "$(sql "SELECT status FROM integrations WHERE id = $ID")" ACTIVE
check "token sealed in shopify_shops, not in clear" \
    "$(sql "SELECT count(*) FROM shopify_shops WHERE integration_id = $ID AND access_token IS NOT NULL AND position('shpat'::bytea in access_token) = 0")" 1

# Orders, killed mid-run: pages of 50, hub A dies with SIGKILL after 5 committed pages.
"$HUB" sync start "$ID" --entity order --mode full >/dev/null
for i in $(seq 1 600); do
    [ "$(sql "SELECT coalesce(max(pages), 0) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'order'")" -ge 5 ] && break
    sleep 0.05
done
kill -KILL "$HUB_A"
wait "$HUB_A" 2>/dev/null
PAGES_AT_KILL=$(sql "SELECT max(pages) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'order'")
check_ge "hub A killed mid-import (pages committed)" "$PAGES_AT_KILL" 5
PORT_B=$(free_port)
export SX_PUBLIC_URL=http://127.0.0.1:$PORT_B
start_hub hub_b "$PORT_B"
for i in $(seq 1 1200); do
    [ "$(sql "SELECT count(*) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'order' AND status <> 'RUNNING'")" -ge 1 ] && break
    sleep 0.1
done
ORDERS=$(count orders '?status=any')
check "order run completed after the resume" "$(sql "SELECT status FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'order' ORDER BY id DESC LIMIT 1")" COMPLETED
check "one run, resumed (not restarted)" "$(sql "SELECT count(*) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'order'")" 1
check "every order imported once (no gap)" "$(sql "SELECT count(*) FROM invoices WHERE organization_id = $ORG")" "$ORDERS"
check "no duplicate order" "$(sql "SELECT count(*) - count(DISTINCT external_id) FROM integration_mappings WHERE integration_id = $ID AND entity = 'order'")" 0

# Customers and products with the faults: every record eventually synced.
"$HUB" sync start "$ID" --entity customer --mode full --wait 300 >/dev/null
"$HUB" sync start "$ID" --entity product --mode full --wait 300 >/dev/null
check "every customer imported despite 5 % faults" "$(sql "SELECT count(*) FROM companies WHERE organization_id = $ORG")" "$(count customers '')"
check "every product imported" "$(sql "SELECT count(*) FROM products WHERE organization_id = $ORG AND parent_id IS NULL")" "$(count products '')"
check_ge "the sandbox really injected faults" "$(curl -s "$SB/_sandbox/requests?limit=100000" | grep -o '"fault":"\(5xx\|429\)"' | wc -l)" 3

# Export, then no ping-pong.
EXT=$(sql "SELECT external_id FROM integration_mappings WHERE integration_id = $ID AND entity = 'customer' ORDER BY internal_id LIMIT 1")
sql "UPDATE companies SET contact_first_name = 'Exported', contact_last_name = 'From Simplix' WHERE id = (SELECT internal_id FROM integration_mappings WHERE integration_id = $ID AND entity = 'customer' AND external_id = '$EXT')"
"$HUB" sync export "$ID" --wait 120 >/dev/null
SEEN=""
for i in $(seq 1 20); do
    SEEN=$(curl -s -H 'X-Shopify-Access-Token: shpat_sandbox' "$SB/admin/api/2024-10/customers/$EXT.json" | grep -o '"first_name":"Exported"' | head -1)
    [ -n "$SEEN" ] && break
done
check "the Simplix change reached the shop" "$SEEN" '"first_name":"Exported"'
"$HUB" sync start "$ID" --entity customer --mode incremental --wait 120 >/dev/null
check "the change coming back is not applied again" \
    "$(sql "SELECT created + updated FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'customer' ORDER BY id DESC LIMIT 1")" 0
check "nothing more to export (no ping-pong)" \
    "$(sql "SELECT count(*) FROM outbox o WHERE o.organization_id = $ORG AND o.id > (SELECT last_outbox_id FROM sync_state WHERE integration_id = $ID AND direction = 'export') AND coalesce(o.origin_integration_id, 0) <> $ID")" 0

# The shop kills every access token early: the next run gets 401, refreshes once (rotating the
# refresh token) and completes.
GEN_BEFORE=$(sql "SELECT generation FROM oauth_tokens WHERE integration_id = $ID")
curl -s -X POST "$SB/_sandbox/tokens/expire" >/dev/null
"$HUB" sync start "$ID" --entity customer --mode incremental --wait 120 >/dev/null
check "a run after the token died early completes" \
    "$(sql "SELECT status FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'customer' ORDER BY id DESC LIMIT 1")" COMPLETED
check_ge "the token was refreshed (new generation)" \
    "$(sql "SELECT generation FROM oauth_tokens WHERE integration_id = $ID")" "$((GEN_BEFORE + 1))"
check "the integration is still ACTIVE" "$(sql "SELECT status FROM integrations WHERE id = $ID")" ACTIVE

# Webhooks: the subscriptions point at this hub (hub A, gone, may have registered its own
# address first: in production every hub shares one public URL; here the operator asks for a
# re-registration); the shop delivers a signed customers/update, which the hub stores before
# the 200 and applies.
curl -s -X DELETE "$SB/_sandbox/faults" >/dev/null     # the fault part of the test is over
SUBJOB=$("$HUB" integrations subscribe "$ID" | grep -o 'job [0-9]*' | cut -d' ' -f2)
for i in $(seq 1 300); do          # the re-registration replaces the subscriptions: wait for it
    [ "$(sql "SELECT status FROM jobs WHERE id = ${SUBJOB:-0}")" = done ] && break
    sleep 0.1
done
for i in $(seq 1 300); do
    SUBS=$(curl -s -H 'X-Shopify-Access-Token: shpat_sandbox' "$SB/admin/api/2024-10/webhooks.json" |
           grep -o "\"address\":\"http://127.0.0.1:$PORT_B/api/webhooks/shopify/$ID\"" | wc -l)
    [ "$SUBS" -gt 0 ] && break
    sleep 0.2
done
check_ge "the hub registered its webhook subscriptions" "$SUBS" 1
curl -s -X POST -H 'Content-Type: application/json' -d '{"first_name":"Webhooked"}' \
    "$SB/_sandbox/customers/$EXT" >/dev/null
for i in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM companies WHERE contact_first_name = 'Webhooked' AND organization_id = $ORG")" = 1 ] && break
    sleep 0.1
done
check "a signed delivery is stored once" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND topic = 'customers/update' AND position('Webhooked' in convert_from(body, 'UTF8')) > 0")" 1
check "and applied to Simplix" "$(sql "SELECT count(*) FROM companies WHERE contact_first_name = 'Webhooked' AND organization_id = $ORG")" 1
[ "$FAIL" = 0 ] || curl -s "$SB/_sandbox/deliveries" >"$TMP/deliveries.json"
check "a forged delivery is refused" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Shopify-Hmac-Sha256: AAAA' -H 'X-Shopify-Topic: customers/update' -H 'X-Shopify-Event-Id: forged-1' -d '{"id":1}' "http://127.0.0.1:$PORT_B/api/webhooks/shopify/$ID")" 401

# Reconciliation: changes no webhook announced (the sandbox's bulk-touch fires none) are healed
# by a reconcile run, which reports the count.
curl -s -X POST -H 'Content-Type: application/json' -d '{"entity":"products","count":3}' \
    "$SB/_sandbox/bulk-touch" >/dev/null
"$HUB" sync start "$ID" --entity product --mode reconcile --wait 120 >/dev/null
check "a reconcile run heals what no webhook said" \
    "$(sql "SELECT type || ':' || status || ':' || (created + updated) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'product' ORDER BY id DESC LIMIT 1")" "reconcile:COMPLETED:3"

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
