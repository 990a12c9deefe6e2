# Shared by the shell black-box tests (sourced, not run; ctest globs test_*.sh only).
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init NAME         skip (77) without TEST_DATABASE_URL or psql; TMP and DB set; the
#                         EXIT trap stops every pid in PIDS (and HUB_PID), drops DB, and keeps
#                         TMP when a check failed
#   e2e_db                create DB, export DATABASE_URL, SX_MASTER_KEY_FILE, SX_PLUGIN_DIR,
#                         migrate, make a master key
#   check / check_ge      count into PASS / FAIL
#   sql, free_port, wait_file FILE [TRIES]
#   hub_start NAME PORT WORKERS   serve on PORT (log $TMP/NAME.log, appended); LAST_PID; waits
#                         for the ready file, or prints the log's tail and returns 1
#   shopify_integration NAME SECRET   an organization and a Shopify integration signed with
#                         SECRET (no shop behind it): sets ORG and ID
PASS=0
FAIL=0
PIDS=()
HUB_PID=

skip() {
    if [ "${SX_REQUIRE_ALL:-0}" = 1 ]; then echo "FAIL: would skip: $*"; exit 1; fi
    echo "SKIP: $*"; exit 77
}
e2e_cleanup() {
    local p
    for p in "${PIDS[@]}" $HUB_PID; do
        kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
    done
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    if [ "$FAIL" = 0 ]; then rm -rf "$TMP"; else echo "logs kept in $TMP"; fi
}
e2e_init() {
    [ -n "${TEST_DATABASE_URL:-}" ] || skip "TEST_DATABASE_URL is not set"
    command -v psql >/dev/null || skip "psql is not installed"
    TMP=$(mktemp -d "/tmp/sx_$1.XXXXXX")
    DB=sxt_$1_$$
    trap e2e_cleanup EXIT
}
e2e_db() {
    psql "$TEST_DATABASE_URL" -qc "CREATE DATABASE $DB" >/dev/null || exit 1
    DATABASE_URL=$(psql "$TEST_DATABASE_URL" -qAt -c "SELECT 'postgresql://' || current_user || '@' || host(inet_server_addr()) || ':' || inet_server_port() || '/$DB'")
    export DATABASE_URL SX_MASTER_KEY_FILE=$TMP/master.key SX_PLUGIN_DIR=$BUILD/plugins
    "$HUB" migrate >/dev/null 2>&1 || { echo "migrate failed"; exit 1; }
    "$HUB" keygen "$SX_MASTER_KEY_FILE" >/dev/null || exit 1
}
check() {       # check "what" <actual> <expected>
    if [ "$2" = "$3" ]; then PASS=$((PASS + 1)); echo "ok   $1 ($2)";
    else FAIL=$((FAIL + 1)); echo "FAIL $1: expected $3, got $2"; fi
}
check_ge() {
    if [ "$2" -ge "$3" ] 2>/dev/null; then PASS=$((PASS + 1)); echo "ok   $1 ($2 >= $3)";
    else FAIL=$((FAIL + 1)); echo "FAIL $1: expected >= $3, got $2"; fi
}
sql() { psql "$DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -c "$1"; }
free_port() {
    local p
    while :; do
        p=$((20000 + RANDOM % 12000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
wait_file() {   # wait_file FILE [TRIES of 50 ms, default 200]
    local i
    for i in $(seq 1 "${2:-200}"); do [ -s "$1" ] && return 0; sleep 0.05; done
    return 1
}
hub_start() {   # hub_start NAME PORT WORKERS
    rm -f "$TMP/$1.json"
    "$HUB" serve --listen "127.0.0.1:$2" --ready-file "$TMP/$1.json" --workers "$3" \
        >>"$TMP/$1.log" 2>&1 &
    LAST_PID=$!
    wait_file "$TMP/$1.json" 400 && return 0
    echo "$1 hub did not start"; tail -20 "$TMP/$1.log"; return 1
}
shopify_integration() {     # shopify_integration NAME SECRET
    local lower
    lower=$(echo "$1" | tr 'A-Z' 'a-z')
    ORG=$("$HUB" org create "$1") || exit 1
    ID=$("$HUB" integrations create --org "$ORG" --platform shopify --name "$1" \
         --config "{\"shop_domain\":\"$lower-shop.myshopify.com\",\"base_url\":\"http://127.0.0.1:9\",\"client_id\":\"$lower\"}" \
         --secret client_secret="$2" --secret webhook_secret="$2") || exit 1
}
