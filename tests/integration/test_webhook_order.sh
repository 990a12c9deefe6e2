#!/usr/bin/env bash
# Order of arrival per record, across processes. Signed updates of Shopify customers arrive
# one after the other at a front hub (--workers 0), every version with the SAME updated_at:
# nothing but the order in which they are applied decides which version a customer ends
# with. Two worker hubs (2 workers each) process them while they arrive. Two rounds, each on
# its own integration: 3,000 updates of 500 customers (batches of different customers, applied
# in parallel), then 3,000 updates of 3 customers (every batch shares customers with the ones
# in flight). Every customer must end with its last version, exist once, and have its events
# applied in order of arrival. Without the per-record locks the second round fails (a
# customer created twice, later versions committed before earlier ones).
#
#   test_webhook_order.sh BUILD_DIR [DELIVERIES]
#
# Needs TEST_DATABASE_URL and psql; skips (77) without them unless SX_REQUIRE_ALL=1. Every
# process it starts is stopped by its pid; its database is dropped.
set -uo pipefail

BUILD=${1:?usage: test_webhook_order.sh BUILD_DIR [DELIVERIES]}
N=${2:-3000}
HUB=$BUILD/bin/simplix-hub
GEN=$BUILD/bin/bench_webhook
. "$(dirname "$0")/lib.sh"
e2e_init webhook_order
[ -x "$HUB" ] && [ -x "$GEN" ] && [ -f "$BUILD/plugins/shopify.so" ] || skip "hub, bench_webhook or shopify.so not built"

e2e_db
FRONT=$(free_port)
export SX_PUBLIC_URL=http://127.0.0.1:$FRONT
hub_start front "$FRONT" 0; rc=$?; HUB_PID=$LAST_PID; [ "$rc" = 0 ] || exit 1
for w in worker1 worker2; do
    hub_start "$w" "$(free_port)" 2; rc=$?; PIDS+=("$LAST_PID"); [ "$rc" = 0 ] || exit 1
done

round() {      # round KEYS: one integration, N deliveries over KEYS customers
    local K=$1
    echo "-- $N updates of $K customers"
    shopify_integration "Order$K" order-secret
    rm -f "$TMP/acked.txt"
    # One connection: deliveries arrive in k order; k updates customer k % K to version k.
    "$GEN" post --url "http://127.0.0.1:$FRONT/api/webhooks/shopify/$ID" --secret order-secret \
        --conns 1 --seconds 300 --body-bytes 600 --total "$N" --keys "$K" --same-time \
        --log "$TMP/acked.txt" >"$TMP/gen.out" 2>&1
    check "every delivery acknowledged" "$?" 0
    check "distinct deliveries stored" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID")" "$N"
    check "stored in order of arrival" "$(sql "SELECT count(*) FROM (SELECT substr(delivery_id, 3)::bigint AS k, row_number() OVER (ORDER BY id) - 1 AS r FROM integration_webhook_events WHERE integration_id = $ID) x WHERE k <> r")" 0

    for i in $(seq 1 600); do
        [ "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status <> 'PROCESSED'")" = 0 ] && break
        sleep 0.1
    done
    check "every event PROCESSED" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status = 'PROCESSED'")" "$N"
    check "one company per customer" "$(sql "SELECT count(*) FROM companies WHERE organization_id = $ORG")" "$K"
    # Customer c's last version is the highest k < N with k % K = c.
    check "every customer holds its last version (same updated_at: order alone decides)" \
        "$(sql "SELECT count(*) FROM integration_mappings m JOIN companies c ON c.id = m.internal_id
                WHERE m.integration_id = $ID AND m.entity = 'customer'
                  AND c.contact_last_name = 'V' || ((($N - 1 - (m.external_id::bigint - 7000000000)) / $K) * $K + (m.external_id::bigint - 7000000000))")" "$K"
    # Per customer, a later arrival was never committed before an earlier one: processed_at is
    # set in the transaction that applied the event, and transactions of one customer follow
    # one another (events of one batch share theirs).
    check "per customer, applied in order of arrival" "$(sql "SELECT count(*) FROM (SELECT (substr(delivery_id, 3)::bigint % $K) AS c, id, processed_at, xmin::text::bigint AS tx,
            lag(processed_at) OVER w AS prev_at, lag(xmin::text::bigint) OVER w AS prev_tx
          FROM integration_webhook_events WHERE integration_id = $ID
          WINDOW w AS (PARTITION BY substr(delivery_id, 3)::bigint % $K ORDER BY id)) x
        WHERE prev_at IS NOT NULL AND tx <> prev_tx AND processed_at < prev_at")" 0
}
round 500
round 3
check "both worker hubs processed events" "$(sql "SELECT count(DISTINCT split_part(locked_by, ':', 2)) FROM jobs WHERE kind = 'webhook.process' AND locked_by IS NOT NULL")" 2

echo "RESULT: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
