#!/usr/bin/env bash
# bench_webhook: the webhook receiver under load, figures printed, nothing asserted about speed.
#
#   bench_webhook.sh BUILD_DIR [SECONDS]
#
# 1. The same box's ceiling for raw durable inserts (bench_webhook raw: batched INSERTs of
#    delivery-shaped rows, synchronous_commit=on), best of a few batch sizes.
# 2. orders/create paced at 1,000/s: p50/p99 from receipt to the invoice row being committed
#    (the event's processed_at is set in the transaction that writes the invoice).
# 3. Signed Shopify deliveries (customers/update, 5 KB) at 1, 16 and 64 keep-alive
#    connections: accepted/s and p50/p99 ack latency, and the ratio to the ceiling.
#
# SX_BENCH_LAT_RUNS=N repeats step 2 N times (default 1; 0 skips it), one line per run; its
# spread from run to run is wide on a small box. SX_BENCH_NO_CEILING=1 skips step 1 (for A/B
# runs of two builds; the ratio to the ceiling is then not printed). SX_BENCH_CONNS="64" picks
# the connection counts of step 3. SX_BENCH_WORKERS=0 runs a receive-only hub (no processing
# on the box: the acknowledgement path alone; events stay PENDING).
# SX_BENCH_DRAIN=1 adds step 4: the hub is stopped, and a hub with SX_BENCH_DRAIN_WORKERS
# workers (default 2) and no load processes the backlog the steps before left (all of step 3
# with SX_BENCH_WORKERS=0): events processed per second, the processing's own throughput.
#
# Database: a private one from TEST_DATABASE_URL, dropped at the end. Every process it starts is
# stopped by its pid.
set -uo pipefail

BUILD=${1:?usage: bench_webhook.sh BUILD_DIR [SECONDS]}
SECS=${2:-5}
HUB=$BUILD/bin/simplix-hub
GEN=$BUILD/bin/bench_webhook
[ -n "${TEST_DATABASE_URL:-}" ] || { echo "bench_webhook: set TEST_DATABASE_URL"; exit 77; }
command -v psql >/dev/null || { echo "bench_webhook: needs psql"; exit 77; }

TMP=$(mktemp -d /tmp/sx_bench_webhook.XXXXXX)
DB=sxb_webhook_$$
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
wait_file() { local i; for i in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $DB" >/dev/null || exit 1
DATABASE_URL=$(psql "$TEST_DATABASE_URL" -qAt -c "SELECT 'postgresql://' || current_user || '@' || host(inet_server_addr()) || ':' || inet_server_port() || '/$DB'")
export DATABASE_URL SX_MASTER_KEY_FILE=$TMP/master.key SX_PLUGIN_DIR=$BUILD/plugins
"$HUB" migrate >/dev/null 2>&1 && "$HUB" keygen "$SX_MASTER_KEY_FILE" >/dev/null || exit 1

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo), $(psql "$DATABASE_URL" -qAt -c 'SHOW server_version') (synchronous_commit=$(psql "$DATABASE_URL" -qAt -c 'SHOW synchronous_commit'), fsync=$(psql "$DATABASE_URL" -qAt -c 'SHOW fsync'))"

BEST=0
for batch in $([ -n "${SX_BENCH_NO_CEILING:-}" ] || echo 16 64 256); do
    line=$("$GEN" raw --db "$DATABASE_URL" --conns 4 --batch "$batch" --seconds "$SECS") || { echo "$line"; exit 1; }
    echo "$line"
    r=$(echo "$line" | sed -n 's/.*: \([0-9]*\) rows\/s.*/\1/p')
    [ "${r:-0}" -gt "$BEST" ] && BEST=$r
done
[ "$BEST" -gt 0 ] && echo "ceiling: $BEST durable rows/s"

PORT=$(( 20000 + RANDOM % 12000 ))
export SX_PUBLIC_URL=http://127.0.0.1:$PORT
"$HUB" serve --listen "127.0.0.1:$PORT" --ready-file "$TMP/hub.json" --workers "${SX_BENCH_WORKERS:-2}" >"$TMP/hub.log" 2>&1 &
HUB_PID=$!
PIDS+=("$HUB_PID")
wait_file "$TMP/hub.json" || { echo "hub did not start"; cat "$TMP/hub.log"; exit 1; }
ORG=$("$HUB" org create Bench)
ID=$("$HUB" integrations create --org "$ORG" --platform shopify --name Bench \
     --config '{"shop_domain":"bench-shop.myshopify.com","base_url":"http://127.0.0.1:9","client_id":"bench"}' \
     --secret client_secret=bench-secret --secret webhook_secret=bench-secret) || exit 1
URL=http://127.0.0.1:$PORT/api/webhooks/shopify/$ID

# The latency run first, on an idle hub: the throughput runs leave a backlog of processing.
for run in $(seq 1 "${SX_BENCH_LAT_RUNS:-1}"); do
T0=$(sql "SELECT now()")
line=$("$GEN" post --url "$URL" --secret bench-secret --conns 16 --rate 1000 --seconds "$SECS" --topic orders/create) || { echo "$line"; exit 1; }
echo "$line"
for i in $(seq 1 600); do
    [ "$(sql "SELECT count(*) FROM integration_webhook_events WHERE status = 'PENDING' AND received_at >= '$T0'")" = 0 ] && break
    sleep 0.2
done
sql "SELECT format('receipt -> invoice committed at 1,000/s: %s processed, %s failed, p50 %s ms, p99 %s ms, max %s ms; invoices %s',
        count(*) FILTER (WHERE status = 'PROCESSED'), count(*) FILTER (WHERE status = 'FAILED'),
        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 1),
        round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 1),
        round(max(ms)::numeric, 1),
        (SELECT count(*) FROM invoices WHERE organization_id = $ORG AND created_at >= '$T0'))
     FROM (SELECT status, extract(epoch FROM processed_at - received_at) * 1000 AS ms
             FROM integration_webhook_events WHERE received_at >= '$T0' AND topic = 'orders/create') x"
sql "SELECT 'last error: ' || last_error FROM integration_webhook_events WHERE status = 'FAILED' LIMIT 1"
done

for c in ${SX_BENCH_CONNS:-1 16 64}; do
    T0=$(sql "SELECT now()")
    line=$("$GEN" post --url "$URL" --secret bench-secret --conns "$c" --seconds "$SECS") || { echo "$line"; tail -5 "$TMP/hub.log"; exit 1; }
    r=$(echo "$line" | sed -n 's/.*: \([0-9]*\) accepted\/s.*/\1/p')
    if [ "$BEST" -gt 0 ]; then
        echo "$line; $(awk "BEGIN { printf \"%.0f\", 100 * ${r:-0} / $BEST }") % of the ceiling"
    else
        echo "$line"
    fi
    # What the processing did meanwhile: on one box it shares the CPU with the acknowledgements.
    [ "${SX_BENCH_WORKERS:-2}" = 0 ] ||
    sql "SELECT format('    processed during the run: %s (%s/s); still pending at its end: %s',
            count(*) FILTER (WHERE processed_at <= '$T0'::timestamptz + interval '$SECS s'),
            round(count(*) FILTER (WHERE processed_at <= '$T0'::timestamptz + interval '$SECS s') / $SECS.0),
            count(*) FILTER (WHERE processed_at IS NULL OR processed_at > '$T0'::timestamptz + interval '$SECS s'))
         FROM integration_webhook_events WHERE received_at >= '$T0'"
done

# 4. The backlog drained by a hub that only processes.
if [ -n "${SX_BENCH_DRAIN:-}" ]; then
    kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
    N=$(sql "SELECT count(*) FROM integration_webhook_events WHERE status = 'PENDING'")
    rm -f "$TMP/hub2.json"
    T0=$(date +%s.%N)
    "$HUB" serve --listen "127.0.0.1:$PORT" --ready-file "$TMP/hub2.json" \
        --workers "${SX_BENCH_DRAIN_WORKERS:-2}" >"$TMP/hub2.log" 2>&1 &
    PIDS+=("$!")
    LEFT=$N
    for i in $(seq 1 3000); do
        LEFT=$(sql "SELECT count(*) FROM integration_webhook_events WHERE status = 'PENDING'")
        [ "$LEFT" = 0 ] && break
        sleep 0.1
    done
    T1=$(date +%s.%N)
    awk "BEGIN { printf \"backlog drained by a processing-only hub (%s workers): %d events in %.1f s, %.0f events/s; %d still pending\\n\", \"${SX_BENCH_DRAIN_WORKERS:-2}\", $N - $LEFT, $T1 - $T0, ($N - $LEFT) / ($T1 - $T0), $LEFT }"
    sql "SELECT 'failed: ' || count(*) FROM integration_webhook_events WHERE status = 'FAILED' HAVING count(*) > 0"
fi
