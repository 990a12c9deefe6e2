#!/usr/bin/env bash
# bench_shopify: the Shopify path measured end to end (sandbox -> connector -> engine ->
# PostgreSQL), figures printed, nothing asserted about speed.
#
#   bench_shopify.sh BUILD_DIR import   [PRODUCTS ORDERS]   unthrottled sandbox: records/s of a
#                                                            full import, and the hub's peak RSS
#   bench_shopify.sh BUILD_DIR backfill [CUSTOMERS]          the real bucket (40, 2/s): elapsed
#                                                            against the quota's minimum, 429s
#
# Database: a private one from TEST_DATABASE_URL, dropped at the end. Every process it starts is
# stopped by its pid.
set -uo pipefail

BUILD=${1:?usage: bench_shopify.sh BUILD_DIR import|backfill [N...]}
MODE=${2:-import}
HUB=$BUILD/bin/simplix-hub
SBX=$BUILD/bin/simplix-sandbox
[ -n "${TEST_DATABASE_URL:-}" ] || { echo "bench_shopify: set TEST_DATABASE_URL"; exit 77; }
command -v psql >/dev/null || { echo "bench_shopify: needs psql"; exit 77; }

TMP=$(mktemp -d /tmp/sx_bench_shopify.XXXXXX)
DB=sxb_shopify_$$
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$TMP"
}
trap cleanup EXIT
wait_file() { local i; for i in $(seq 1 600); do [ -s "$1" ] && return 0; sleep 0.05; done; return 1; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }     # arithmetic without bc
sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }

psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $DB" >/dev/null || exit 1
DATABASE_URL=$(psql "$TEST_DATABASE_URL" -qAt -c "SELECT 'postgresql://' || current_user || '@' || host(inet_server_addr()) || ':' || inet_server_port() || '/$DB'")
export DATABASE_URL SX_MASTER_KEY_FILE=$TMP/master.key SX_PLUGIN_DIR=$BUILD/plugins
"$HUB" migrate >/dev/null 2>&1 && "$HUB" keygen "$SX_MASTER_KEY_FILE" >/dev/null || exit 1

case $MODE in
import)
    PRODUCTS=${3:-100000}
    ORDERS=${4:-100000}
    SBX_ARGS=(--customers 1000 --products "$PRODUCTS" --orders "$ORDERS"
              --shopify-bucket-size 1000000 --shopify-leak-rate 1000000)
    ;;
backfill)
    CUSTOMERS=${3:-30000}
    SBX_ARGS=(--customers "$CUSTOMERS" --products 10 --orders 10)
    ;;
*)
    echo "bench_shopify: mode is import or backfill"; exit 2 ;;
esac

T0=$(now)
"$SBX" --shopify-port 0 --ready-file "$TMP/sandbox.json" --seed 9 "${SBX_ARGS[@]}" \
    >"$TMP/sandbox.log" 2>&1 &
SBX_PID=$!
PIDS+=("$SBX_PID")
wait_file "$TMP/sandbox.json" || { echo "sandbox did not start"; exit 1; }
printf 'sandbox ready in %.1f s\n' "$(calc "$(now) - $T0")"
SB=$(grep -o '"shopify":"http[^"]*"' "$TMP/sandbox.json" | head -1 | cut -d'"' -f4)

PORT=$(( 20000 + RANDOM % 12000 ))
export SX_PUBLIC_URL=http://127.0.0.1:$PORT
"$HUB" serve --listen "127.0.0.1:$PORT" --ready-file "$TMP/hub.json" --workers 2 >"$TMP/hub.log" 2>&1 &
HUB_PID=$!
PIDS+=("$HUB_PID")
wait_file "$TMP/hub.json" || { echo "hub did not start"; cat "$TMP/hub.log"; exit 1; }
ORG=$("$HUB" org create Bench)
ID=$("$HUB" integrations create --org "$ORG" --platform shopify --name Bench \
     --config "{\"shop_domain\":\"sandbox-shop.myshopify.com\",\"base_url\":\"$SB\",\"client_id\":\"sandbox-api-key\"}" \
     --secret client_secret=sandbox-api-secret --settings "{\"entities\":[],\"page_size\":250${SX_BENCH_SETTINGS:-}}")
CB=$(curl -s -o /dev/null -w '%{redirect_url}' "$("$HUB" integrations connect "$ID" 2>/dev/null)")
curl -s "$CB" | grep -q Connected || { echo "OAuth connect failed"; exit 1; }

PEAK=0
rss_watch() {
    while kill -0 "$HUB_PID" 2>/dev/null; do
        r=$(awk '/VmRSS/ {print $2}' "/proc/$HUB_PID/status" 2>/dev/null)
        [ -n "$r" ] && [ "$r" -gt "$(cat "$TMP/peak" 2>/dev/null || echo 0)" ] && echo "$r" >"$TMP/peak"
        sleep 0.2
    done
}
rss_watch &
WATCH=$!
PIDS+=("$WATCH")

# CPU seconds used so far: by one process (its utime + stime), or by the whole box (busy time).
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_box() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat; }

run() {     # run ENTITY -> prints the figures of one full import, and where the CPU went
    local t0 t1 n h0 s0 b0 h1 s1 b1
    h0=$(cpu_of "$HUB_PID"); s0=$(cpu_of "$SBX_PID"); b0=$(cpu_box)
    t0=$(now)
    "$HUB" sync start "$ID" --entity "$1" --mode full --wait 3600 >"$TMP/run_$1.log" 2>&1 ||
        { echo "  $1: run failed"; tail -3 "$TMP/run_$1.log"; return 1; }
    t1=$(now)
    h1=$(cpu_of "$HUB_PID"); s1=$(cpu_of "$SBX_PID"); b1=$(cpu_box)
    n=$(sql "SELECT processed FROM integration_sync_logs WHERE integration_id = $ID AND entity = '$1' ORDER BY id DESC LIMIT 1")
    printf '  %-9s %7d records in %6.1f s: %6.0f records/s (records and mappings committed)\n' \
        "$1" "$n" "$(calc "$t1 - $t0")" "$(calc "$n / ($t1 - $t0)")"
    printf '            CPU: hub %.1f s, sandbox %.1f s, PostgreSQL and the rest %.1f s, of %.1f s x %d cores (%.0f us of CPU per record)\n' \
        "$(calc "$h1 - $h0")" "$(calc "$s1 - $s0")" "$(calc "($b1 - $b0) - ($h1 - $h0) - ($s1 - $s0)")" \
        "$(calc "$t1 - $t0")" "$(nproc)" "$(calc "($b1 - $b0) * 1000000 / ($n > 0 ? $n : 1)")"
    calc "$t1 - $t0" >"$TMP/elapsed_$1"
}

echo "bench_shopify $MODE on $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo) RAM, PostgreSQL $(psql "$DATABASE_URL" -qAt -c 'SHOW server_version'), synchronous_commit=$(psql "$DATABASE_URL" -qAt -c 'SHOW synchronous_commit')"
if [ "$MODE" = import ]; then
    run product
    run order
    echo "  rows: $(sql "SELECT count(*) FROM products") products (parents and variants), $(sql "SELECT count(*) FROM invoices") invoices, $(sql "SELECT count(*) FROM invoice_lines") invoice lines"
else
    # The connect made its own calls through the same bucket (shop details, and the webhook
    # subscriptions the monitor registers at once): wait for them, then for the bucket to
    # drain (40 at 2/s), so the run starts from the full burst the minimum assumes.
    for i in $(seq 1 300); do
        [ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'webhook.subscribe' AND status IN ('queued', 'running')")" = 0 ] && break
        sleep 0.1
    done
    sleep 21
    REQS_BEFORE=$(curl -s "$SB/_sandbox/state" | grep -o '"requests":[0-9]*' | head -1 | cut -d: -f2)
    run customer
    PAGES=$(sql "SELECT pages FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'customer' ORDER BY id DESC LIMIT 1")
    N429=$(curl -s "$SB/_sandbox/requests?limit=100000" | grep -o '"status":429' | wc -l)
    WALL=$(cat "$TMP/elapsed_customer")
    # The run itself, from its sync log (the CLI's --wait adds its polling to the wall time).
    ELAPSED=$(sql "SELECT round(duration_ms / 1000.0, 3) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'customer' ORDER BY id DESC LIMIT 1")
    # The quota: a bucket of 40 that leaks 2/s; the first 40 requests go at once, the rest at 2/s.
    MIN=$(calc "($PAGES > 40) ? ($PAGES - 40) / 2 : 0")
    printf '  %d pages (requests) through the real bucket (40, 2/s): the run took %.1f s (%.1f s with the CLI'"'"'s polling), the quota allows %.1f s at best: %.3fx, %d answers 429\n' \
        "$PAGES" "$ELAPSED" "$WALL" "$MIN" "$(calc "($MIN > 0) ? $ELAPSED / $MIN : 0")" "$N429"
    : "$REQS_BEFORE"
fi
kill "$WATCH" 2>/dev/null
printf '  hub resident memory at its peak: %d MB\n' "$(( $(cat "$TMP/peak" 2>/dev/null || echo 0) / 1024 ))"
