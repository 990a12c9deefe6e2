#!/usr/bin/env bash
# Zero loss through crashes: 10,000 signed Shopify deliveries (every tenth sent twice, updates of
# 500 customers arriving out of order on 16 connections) while the hub is killed with SIGKILL
# and restarted several times. The sender retries a delivery until it gets a 200, as platforms
# do. Then: every acknowledged delivery is in the database once, every one is PROCESSED, and
# each customer holds its highest version, whatever the order of arrival.
#
#   test_webhook_kill.sh BUILD_DIR [DELIVERIES]
#
# Needs TEST_DATABASE_URL and psql; skips (77) without them unless SX_REQUIRE_ALL=1. Every
# process it starts is stopped by its pid; its database is dropped.
set -uo pipefail

BUILD=${1:?usage: test_webhook_kill.sh BUILD_DIR [DELIVERIES]}
N=${2:-10000}
HUB=$BUILD/bin/simplix-hub
GEN=$BUILD/bin/bench_webhook
. "$(dirname "$0")/lib.sh"
e2e_init webhook_kill
[ -x "$HUB" ] && [ -x "$GEN" ] && [ -f "$BUILD/plugins/shopify.so" ] || skip "hub, bench_webhook or shopify.so not built"

start_hub() {
    local rc

    hub_start hub "$PORT" 2; rc=$?
    HUB_PID=$LAST_PID
    return "$rc"
}

e2e_db
PORT=$(free_port)
export SX_PUBLIC_URL=http://127.0.0.1:$PORT
shopify_integration KillTest kill-secret
start_hub || exit 1

: >"$TMP/acked.txt"
"$GEN" post --url "http://127.0.0.1:$PORT/api/webhooks/shopify/$ID" --secret kill-secret \
    --conns 16 --seconds 600 --body-bytes 1000 --total "$N" --log "$TMP/acked.txt" \
    >"$TMP/gen.out" 2>&1 &
GEN_PID=$!
PIDS+=("$GEN_PID")

KILLS=0
for round in 1 2 3 4; do
    # Kill when a share of the deliveries is acknowledged, so each kill lands mid-stream.
    want=$(( N * round / 5 ))
    for i in $(seq 1 1200); do
        [ "$(wc -l <"$TMP/acked.txt" 2>/dev/null || echo 0)" -ge "$want" ] && break
        kill -0 "$GEN_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$GEN_PID" 2>/dev/null || break
    kill -9 "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
    KILLS=$((KILLS + 1))
    sleep 0.3
    start_hub || exit 1
done
wait "$GEN_PID"
GEN_RC=$?
cat "$TMP/gen.out"
check "the hub was SIGKILLed mid-stream several times" "$([ "$KILLS" -ge 3 ] && echo yes || echo "$KILLS")" yes
check "the sender got a 200 for every delivery" "$GEN_RC" 0
ACKED=$(sort -u "$TMP/acked.txt" | wc -l)
check "distinct deliveries acknowledged" "$ACKED" "$N"

# Every acknowledged delivery is stored, once.
psql "$DATABASE_URL" -qc "CREATE TABLE acked (delivery_id text)" && \
    sort -u "$TMP/acked.txt" | psql "$DATABASE_URL" -qc "\\copy acked FROM STDIN"
check "acknowledged but not stored" "$(sql "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM integration_webhook_events e WHERE e.integration_id = $ID AND e.delivery_id = a.delivery_id)")" 0
check "stored once each" "$(sql "SELECT count(*) - count(DISTINCT delivery_id) FROM integration_webhook_events WHERE integration_id = $ID")" 0
check "events stored" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID")" "$N"

# Processing drains (the last hub keeps running), and nothing fails.
for i in $(seq 1 1800); do
    [ "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status <> 'PROCESSED'")" = 0 ] && break
    sleep 0.2
done
check "every event PROCESSED" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status = 'PROCESSED'")" "$N"
check "none FAILED" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status = 'FAILED'")" 0

# The Simplix side: one company per customer, each at its highest version (k = N - 500 + c).
check "one company per customer" "$(sql "SELECT count(*) FROM integration_mappings WHERE integration_id = $ID AND entity = 'customer'")" 500
check "companies of the organization" "$(sql "SELECT count(*) FROM companies WHERE organization_id = $ORG")" 500
check "each customer holds its last version" "$(sql "SELECT count(*) FROM integration_mappings m JOIN companies c ON c.id = m.internal_id
    WHERE m.integration_id = $ID AND m.entity = 'customer'
      AND c.contact_last_name = 'V' || ($N - 500 + (m.external_id::bigint - 7000000000) % 500)")" 500

echo "RESULT: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
