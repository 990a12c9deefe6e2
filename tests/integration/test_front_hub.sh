#!/usr/bin/env bash
# A front hub (--workers 0) and a worker hub on one database. The front receives, verifies and
# stores signed Shopify deliveries and answers 200, runs no jobs, and shows the backlog in
# /healthz and /metrics; it also serves the admin API and the OAuth callback route. When a hub
# with workers starts, it processes what the front stored, and the backlog shown by the front
# falls to 0. Finished jobs older than job_retention_h are purged when a hub starts.
#
#   test_front_hub.sh BUILD_DIR
#
# Needs TEST_DATABASE_URL and psql; skips (77) without them unless SX_REQUIRE_ALL=1. Every
# process it starts is stopped by its pid; its database is dropped.
set -uo pipefail

BUILD=${1:?usage: test_front_hub.sh BUILD_DIR}
HUB=$BUILD/bin/simplix-hub
GEN=$BUILD/bin/bench_webhook
. "$(dirname "$0")/lib.sh"
e2e_init front_hub
[ -x "$HUB" ] && [ -x "$GEN" ] && [ -f "$BUILD/plugins/shopify.so" ] || skip "hub, bench_webhook or shopify.so not built"

e2e_db
FRONT=$(free_port)
export SX_PUBLIC_URL=http://127.0.0.1:$FRONT
shopify_integration FrontTest front-secret
hub_start front "$FRONT" 0; rc=$?; HUB_PID=$LAST_PID; [ "$rc" = 0 ] || exit 1

"$GEN" post --url "http://127.0.0.1:$FRONT/api/webhooks/shopify/$ID" --secret front-secret \
    --conns 4 --seconds 60 --body-bytes 1000 --total 200 --log "$TMP/acked.txt" >"$TMP/gen.out" 2>&1
check "the front acknowledged every delivery" "$?" 0
check "distinct deliveries acknowledged" "$(sort -u "$TMP/acked.txt" | wc -l)" 200
check "stored" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID")" 200
check "a forged delivery is refused by the front" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'X-Shopify-Hmac-Sha256: AAAA' -H 'X-Shopify-Topic: customers/update' -H 'X-Shopify-Webhook-Id: forged-1' -H 'Content-Type: application/json' -d '{"id":1}' "http://127.0.0.1:$FRONT/api/webhooks/shopify/$ID")" 401
sleep 1
check "nothing processed without a hub with workers" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status <> 'PENDING'")" 0
check "and no job was taken" "$(sql "SELECT count(*) FROM jobs WHERE status <> 'queued'")" 0

# The backlog, in /healthz (from the health check, every 2 s) and /metrics.
wait_pending() {    # wait_pending N: until the front's /healthz shows N pending (10 s); H = it
    local i
    for i in $(seq 1 100); do
        H=$(curl -s "http://127.0.0.1:$FRONT/healthz")
        echo "$H" | grep -q "\"webhooks\":{\"pending\":$1," && break
        sleep 0.1
    done
    echo "$H" | grep -o '"webhooks":{"pending":[0-9]*' | cut -d: -f3
}
check "/healthz shows the 200 pending" "$(wait_pending 200)" 200
H=$(curl -s "http://127.0.0.1:$FRONT/healthz")
check "/healthz shows their age" "$(echo "$H" | grep -o '"oldest_pending_s":[0-9]*' | cut -d: -f2 | grep -c '^[0-9]')" 1
M=$(curl -s "http://127.0.0.1:$FRONT/metrics")
check "/metrics simplix_webhook_pending_events" "$(echo "$M" | grep '^simplix_webhook_pending_events ' | cut -d' ' -f2)" 200
check "/metrics simplix_webhook_oldest_pending_seconds" "$(echo "$M" | grep -c '^simplix_webhook_oldest_pending_seconds [0-9]')" 1
check "the front serves the OAuth callback route" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FRONT/oauth/callback")" 400
check "the front serves the admin API" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$FRONT/api/v1/integrations")" 401

# A hub with workers on the same database processes everything the front stored.
hub_start worker "$(free_port)" 2; rc=$?; PIDS+=("$LAST_PID"); [ "$rc" = 0 ] || exit 1
for i in $(seq 1 300); do
    [ "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status = 'PROCESSED'")" = 200 ] && break
    sleep 0.1
done
check "the worker hub processed them" "$(sql "SELECT count(*) FROM integration_webhook_events WHERE integration_id = $ID AND status = 'PROCESSED'")" 200
check "one company per customer" "$(sql "SELECT count(*) FROM companies WHERE organization_id = $ORG")" "$(sql "SELECT count(*) FROM integration_mappings WHERE integration_id = $ID AND entity = 'customer'")"
check "the front's /healthz shows the backlog gone" "$(wait_pending 0)" 0

# Finished jobs are purged after job_retention_h (168 h by default), at a hub's start and
# about every minute after. Age those of this run, then start one more worker hub.
check_ge "finished jobs so far" "$(sql "SELECT count(*) FROM jobs WHERE status = 'done'")" 1
sql "UPDATE jobs SET finished_at = now() - interval '169 hours' WHERE status = 'done'" >/dev/null
hub_start worker2 "$(free_port)" 1; rc=$?; PIDS+=("$LAST_PID"); [ "$rc" = 0 ] || exit 1
for i in $(seq 1 100); do
    [ "$(sql "SELECT count(*) FROM jobs WHERE status = 'done' AND finished_at < now() - interval '168 hours'")" = 0 ] && break
    sleep 0.1
done
check "finished jobs older than 168 h purged" "$(sql "SELECT count(*) FROM jobs WHERE status = 'done' AND finished_at < now() - interval '168 hours'")" 0
check "the purge is logged" "$(grep -c 'purged [0-9]* finished job' "$TMP/worker2.log" "$TMP/worker.log" | awk -F: '{ s += $2 } END { print (s > 0) }')" 1

echo "RESULT: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
