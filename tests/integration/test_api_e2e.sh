#!/usr/bin/env bash
# The admin API end to end, black box, as the Simplix product uses it: with an organization's
# token only, create a Shopify integration for the sandbox shop, run the OAuth flow, start a
# sync, follow its progress, read the resulting invoices. Then check that no secret (the app's
# client secret, the shop's access tokens, the API token) appears in any response or in the
# hub's log.
#
#   test_api_e2e.sh BUILD_DIR
set -uo pipefail

BUILD=${1:?usage: test_api_e2e.sh BUILD_DIR}
HUB=$BUILD/bin/simplix-hub
SBX=$BUILD/bin/simplix-sandbox
. "$(dirname "$0")/lib.sh"
e2e_init api_e2e
[ -x "$HUB" ] && [ -x "$SBX" ] && [ -f "$BUILD/plugins/shopify.so" ] || skip "hub, sandbox or shopify.so not built"
jfield() { grep -o "\"$1\" *: *\"\?[^,\"}]*" | head -1 | sed 's/.*: *"\{0,1\}//'; }

e2e_db

"$SBX" --shopify-port 0 --ready-file "$TMP/sandbox.json" --seed 5 --customers 120 --products 40 \
    --orders 300 >"$TMP/sandbox.log" 2>&1 &
PIDS+=("$!")
wait_file "$TMP/sandbox.json" || { echo "sandbox did not start"; exit 1; }
SB=$(grep -o '"shopify":"http[^"]*"' "$TMP/sandbox.json" | head -1 | cut -d'"' -f4)

PORT=$(free_port)
export SX_PUBLIC_URL=http://127.0.0.1:$PORT
"$HUB" serve --listen "127.0.0.1:$PORT" --ready-file "$TMP/hub.json" --workers 2 \
    --log-level debug >"$TMP/hub.log" 2>&1 &
PIDS+=("$!")
wait_file "$TMP/hub.json" || { echo "hub did not start"; cat "$TMP/hub.log"; exit 1; }
API=$SX_PUBLIC_URL/api/v1

# The operator's one-time set-up: an organization and its admin token.
ORG=$("$HUB" org create "API E2E")
TOKEN=$("$HUB" token create --org "$ORG" --role admin --name e2e 2>/dev/null | grep -o 'sxk_[A-Za-z0-9_-]*' | head -1)
[ -n "$TOKEN" ] || { echo "no token"; exit 1; }
AUTH="Authorization: Bearer $TOKEN"
api() { curl -sS --max-time 30 -H "$AUTH" -H 'Content-Type: application/json' "$@" | tee -a "$TMP/responses"; echo >>"$TMP/responses"; }

# 1. Create the integration through the API only.
BODY=$(api -X POST "$API/integrations" -d "{\"platform\":\"shopify\",\"name\":\"Shop\",\
\"config\":{\"shop_domain\":\"sandbox-shop.myshopify.com\",\"base_url\":\"$SB\",\"client_id\":\"sandbox-api-key\"},\
\"credentials\":{\"client_secret\":\"sandbox-api-secret\"},\"sync_settings\":{\"entities\":[]}}")
ID=$(printf '%s' "$BODY" | jfield id)
check "integration created through the API" "$(printf '%s' "$ID" | grep -c '^[0-9][0-9]*$')" 1

# 2. OAuth: the API gives the authorize URL; the shop approves; the hub's callback connects.
URL=$(api -X POST "$API/integrations/$ID/oauth/start" | grep -o '"authorize_url" *: *"[^"]*"' | sed 's/.*: *"//; s/"$//')
CB=$(curl -s -o /dev/null -w '%{redirect_url}' "$URL")
check "OAuth callback connects the shop" "$(curl -s "$CB" | grep -c 'Connected')" 1
check "the integration is ACTIVE (read through the API)" \
    "$(api "$API/integrations/$ID" | jfield status)" ACTIVE

# 3. Start a sync of the orders and follow it until it ends.
RUN=$(api -X POST -H 'Idempotency-Key: e2e-orders-1' "$API/integrations/$ID/syncs" \
      -d '{"entity":"order","direction":"import","mode":"full"}')
JOB=$(printf '%s' "$RUN" | jfield job_id)
STATUS=""
for i in $(seq 1 300); do
    LIST=$(api "$API/integrations/$ID/syncs?job_id=$JOB")
    STATUS=$(printf '%s' "$LIST" | jfield status)
    [ "$STATUS" = COMPLETED ] || [ "$STATUS" = FAILED ] || [ "$STATUS" = PARTIAL ] && break
    sleep 0.2
done
check "the sync run completes (followed through the API)" "$STATUS" COMPLETED
ORDERS=$(curl -s -H 'X-Shopify-Access-Token: shpat_sandbox' "$SB/admin/api/2024-10/orders/count.json?status=any" | grep -o '"count":[0-9]*' | cut -d: -f2)

# 4. Read the invoices, every page.
N=0
CURSOR=""
for i in $(seq 1 100); do
    PAGE=$(api "$API/invoices?limit=100${CURSOR:+&cursor=$CURSOR}")
    N=$((N + $(printf '%s' "$PAGE" | grep -o '"refunded_minor"' | wc -l)))     # per invoice, not per line
    CURSOR=$(printf '%s' "$PAGE" | grep -o '"next_cursor" *: *"[^"]*"' | sed 's/.*: *"//; s/"$//')
    [ -n "$CURSOR" ] || break
done
check "every order is an invoice readable through the API" "$N" "$ORDERS"

# Health shows the seed's KPIs as figures.
HEALTH=$(api "$API/integrations/$ID/health")
check "health reports the sync success rate against its target" \
    "$(printf '%s' "$HEALTH" | grep -c '"sync_success_rate" *: *1[.0]*[,}].*"sync_success_target" *: *0.98')" 1

# 5. Secrets: not in any response, not in the hub's log (run at debug level).
SECRETS=("sandbox-api-secret" "$TOKEN")
LEAKS=0
# The shop's OAuth tokens are random ("shpat_" + 32 characters): none may show anywhere.
for f in "$TMP/responses" "$TMP/hub.log"; do
    if grep -qE 'shp(at|rt|ua)_[A-Za-z0-9]{16,}' "$f"; then
        echo "  an OAuth token leaked in ${f##*/}"
        LEAKS=$((LEAKS + 1))
    fi
done
for s in "${SECRETS[@]}"; do
    [ ${#s} -ge 8 ] || continue
    grep -qF -- "$s" "$TMP/responses" && { echo "  leaked in a response: ${s:0:6}..."; LEAKS=$((LEAKS + 1)); }
    grep -qF -- "$s" "$TMP/hub.log" && { echo "  leaked in the log: ${s:0:6}..."; LEAKS=$((LEAKS + 1)); }
done
check "no secret in any response or log line (client secret, API token, OAuth tokens)" "$LEAKS" 0
check "the log searched was written at debug level" \
    "$([ "$(grep -c '"level":"debug"' "$TMP/hub.log")" -gt 0 ] && echo yes)" yes

echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
