#!/usr/bin/env bash
# The marketplace end to end, black box, without ever restarting the hub: the WooCommerce
# connector installed from a signed package into a running hub, a sync run with it, an upgrade
# to 1.1.0 while a (slowed) sync runs (that run finishes on 1.0.0, the next one uses 1.1.0), a
# rollback, a removal refused while an integration uses it then forced; and refusals of a
# tampered, unsigned, untrusted and duplicate package with nothing installed.
#
#   test_marketplace.sh BUILD_DIR
#
# Needs TEST_DATABASE_URL and psql (skips with 77 otherwise, unless SX_REQUIRE_ALL=1), the
# packages the build makes in BUILD_DIR/marketplace, and the 1.1.0 build of the connector in
# BUILD_DIR/tests/marketplace-next. Every process it starts is stopped by its pid.
set -uo pipefail

BUILD=${1:?usage: test_marketplace.sh BUILD_DIR}
HUB=$BUILD/bin/simplix-hub
SBX=$BUILD/bin/simplix-sandbox
NEXT=$BUILD/tests/marketplace-next/woocommerce.so
. "$(dirname "$0")/lib.sh"
e2e_init marketplace
[ -x "$HUB" ] && [ -x "$SBX" ] && [ -f "$NEXT" ] && [ -f "$BUILD/marketplace/index.json" ] ||
    skip "hub, sandbox, the 1.1.0 fixture or build/marketplace not built"

export SX_JOB_LEASE_MS=3000
e2e_db
# The hub's plugin folder starts empty: WooCommerce only comes from the marketplace.
MK=$TMP/marketplace
cp -r "$BUILD/marketplace" "$MK"
mkdir -p "$TMP/plugins"
export SX_PLUGIN_DIR=$TMP/plugins SX_MARKETPLACE_DIR=$MK
KEY=$MK/dev-key.pem
PUBLISHER=$(grep -o '"publisher": *"[^"]*"' "$MK/trusted-keys.json" | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
KEYID=$(grep -o '"key_id": *"[^"]*"' "$MK/trusted-keys.json" | head -1 | sed 's/.*"\([^"]*\)"$/\1/')
mk() { "$HUB" marketplace "$@" 2>&1; }

# The publisher ships 1.1.0: packed, signed with the trusted key, indexed.
mk pack "$NEXT" --dir "$MK" --description "WooCommerce connector 1.1.0" >/dev/null
mk sign "$MK/packages/woocommerce/1.1.0" --key "$KEY" --publisher "$PUBLISHER" --key-id "$KEYID" >/dev/null
mk index "$MK" >/dev/null
check "1.1.0 verifies" "$(mk verify "$MK/packages/woocommerce/1.1.0" | cut -d' ' -f1-3)" "ok woocommerce 1.1.0"

"$SBX" --only woo --woo-port 0 --ready-file "$TMP/sandbox.json" --seed 3 --customers 60 \
    --products 40 --orders 20 >"$TMP/sandbox.log" 2>&1 &
PIDS+=("$!")
wait_file "$TMP/sandbox.json" || { echo "sandbox did not start"; cat "$TMP/sandbox.log"; exit 1; }
W=$(grep -o '"woo":"http[^"]*"' "$TMP/sandbox.json" | head -1 | cut -d'"' -f4)

PORT=$(free_port)
"$HUB" serve --listen "127.0.0.1:$PORT" --ready-file "$TMP/hub.json" --workers 3 \
    >"$TMP/hub.log" 2>&1 &
HUB_PID=$!
wait_file "$TMP/hub.json" || { echo "hub did not start"; cat "$TMP/hub.log"; exit 1; }
current() {     # current ID: the version the running hub serves, or "none"
    curl -s "http://127.0.0.1:$PORT/healthz" | grep -o "{\"id\":\"$1\",\"version\":\"[^\"]*\"" |
        sed 's/.*"version":"\([^"]*\)"/\1/' | grep . || echo none
}
wait_current() { # wait_current ID VERSION: until the hub serves it (it reconciles every ~2 s)
    local i
    for i in $(seq 1 100); do [ "$(current "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}
check "the hub starts without WooCommerce" "$(current woocommerce)" none

# Install 1.0.0 into the running hub; sync with it.
check "install woocommerce 1.0.0" "$(mk install woocommerce --version 1.0.0 | tail -1)" "installed woocommerce 1.0.0 (active)"
wait_current woocommerce 1.0.0
check "the running hub serves 1.0.0" "$(current woocommerce)" 1.0.0
check "the versioned file is in the plugin folder" "$(ls "$TMP/plugins")" "woocommerce@1.0.0.so"
ORG=$("$HUB" org create "Market") || exit 1
ID=$("$HUB" integrations create --org "$ORG" --platform woocommerce --name "Store" \
     --config "{\"store_url\":\"$W\"}" --active \
     --secret consumer_key=ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c \
     --secret consumer_secret=cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432 \
     --settings '{"entities":[],"page_size":5}') || exit 1
"$HUB" sync start "$ID" --entity customer --mode full --wait 120 >/dev/null
check "a sync ran on 1.0.0" "$(sql "SELECT status || ' ' || connector_version FROM integration_sync_logs WHERE integration_id = $ID ORDER BY id DESC LIMIT 1")" "COMPLETED 1.0.0"

# A slow product import (every product request takes 250 ms), upgraded under its feet.
curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"kind":"slow","rate":1,"path":"/wp-json/wc/v3/products*","delay_ms":250}' "$W/_sandbox/faults" >/dev/null
"$HUB" sync start "$ID" --entity product --mode full >/dev/null
for i in $(seq 1 200); do
    [ "$(sql "SELECT coalesce(max(pages), 0) FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'product'")" -ge 1 ] && break
    sleep 0.05
done
RUN=$(sql "SELECT id FROM integration_sync_logs WHERE integration_id = $ID AND entity = 'product' ORDER BY id DESC LIMIT 1")
check "upgrade to 1.1.0 while the product run is in flight" "$(mk upgrade woocommerce | tail -1)" "upgraded woocommerce 1.1.0 (active)"
wait_current woocommerce 1.1.0
check "the running hub serves 1.1.0" "$(current woocommerce)" 1.1.0
check "the product run was still running during the swap" "$(sql "SELECT status FROM integration_sync_logs WHERE id = $RUN")" RUNNING
for i in $(seq 1 600); do
    [ "$(sql "SELECT status FROM integration_sync_logs WHERE id = $RUN")" != RUNNING ] && break
    sleep 0.1
done
check "that run completed on 1.0.0" "$(sql "SELECT status || ' ' || connector_version FROM integration_sync_logs WHERE id = $RUN")" "COMPLETED 1.0.0"
check "every product imported" "$(sql "SELECT count(*) FROM products WHERE organization_id = $ORG AND parent_id IS NULL")" \
    "$(curl -s -D - -o /dev/null -u ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c:cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432 "$W/wp-json/wc/v3/products?per_page=1" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-wp-total" {print $2}')"
curl -s -X DELETE "$W/_sandbox/faults" >/dev/null
"$HUB" sync start "$ID" --entity customer --mode full --wait 120 >/dev/null
check "the next run uses 1.1.0" "$(sql "SELECT status || ' ' || connector_version FROM integration_sync_logs WHERE integration_id = $ID ORDER BY id DESC LIMIT 1")" "COMPLETED 1.1.0"

# Rollback to 1.0.0, without a restart.
check "rollback" "$(mk rollback woocommerce | tail -1)" "rolled back woocommerce to 1.0.0 (active)"
wait_current woocommerce 1.0.0
check "the running hub serves 1.0.0 again" "$(current woocommerce)" 1.0.0
"$HUB" sync start "$ID" --entity customer --mode full --wait 120 >/dev/null
check "a run after the rollback uses 1.0.0" "$(sql "SELECT connector_version FROM integration_sync_logs WHERE integration_id = $ID ORDER BY id DESC LIMIT 1")" 1.0.0

# The operator API sees the same: the directory, what is installed, what this ABI serves; an
# organization's token is refused.
OPTOK=$("$HUB" token create --operator --name market 2>/dev/null | grep -o 'sxk_[A-Za-z0-9_-]*' | head -1)
LIST=$(curl -s -H "Authorization: Bearer $OPTOK" "http://127.0.0.1:$PORT/api/v1/marketplace")
check "GET /api/v1/marketplace: 1.0.0 active, 1.1.0 inactive, both compatible" \
    "$(printf '%s' "$LIST" | grep -o '{"version":"1.[01].0","sdk_abi":"1.2","compatible":true,"installed":"[a-z]*"}' | sort | tr '\n' ' ')" \
    '{"version":"1.0.0","sdk_abi":"1.2","compatible":true,"installed":"active"} {"version":"1.1.0","sdk_abi":"1.2","compatible":true,"installed":"inactive"} '
ORGTOK=$("$HUB" token create --org "$ORG" --role admin 2>/dev/null | grep -o 'sxk_[A-Za-z0-9_-]*' | head -1)
check "an organization's token may not install" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $ORGTOK" "http://127.0.0.1:$PORT/api/v1/marketplace/woocommerce/install")" 403

# Refusals: nothing installed, nothing copied, each recorded.
FILES_BEFORE=$(ls "$TMP/plugins" | sort | tr '\n' ' ')
ROWS_BEFORE=$(sql "SELECT count(*) FROM installed_packages")
refuse() {      # refuse WHAT EXPECTED-SENTENCE-PART [install args...]
    local what=$1 want=$2 out
    shift 2
    out=$(mk install "$@")
    if printf '%s' "$out" | grep -qF "$want"; then check "refused: $what" yes yes
    else check "refused: $what ($out)" no yes; fi
}
refuse "a version already installed" "already installed" woocommerce --version 1.1.0
cp -r "$MK/packages/woocommerce/1.1.0" "$MK/packages/woocommerce/9.9.9"
sed -i 's/"version": *"1.1.0"/"version":"9.9.9"/' "$MK/packages/woocommerce/9.9.9/manifest.json"
mk index "$MK" >/dev/null
refuse "a manifest changed after signing" "signature does not verify" woocommerce --version 9.9.9
rm -f "$MK/packages/woocommerce/9.9.9/manifest.sig"
refuse "an unsigned package" "not signed" woocommerce --version 9.9.9
mk keygen --out "$TMP/other.pem" --publisher intruder --key-id k1 --trust "$TMP/other-trust.json" >/dev/null
mk sign "$MK/packages/woocommerce/9.9.9" --key "$TMP/other.pem" --publisher intruder --key-id k1 >/dev/null
refuse "an untrusted publisher" "not trusted" woocommerce --version 9.9.9
check "nothing was installed or copied by a refusal" "$(ls "$TMP/plugins" | sort | tr '\n' ' ') $(sql "SELECT count(*) FROM installed_packages")" "$FILES_BEFORE $ROWS_BEFORE"
check_ge "every refusal is recorded" "$(sql "SELECT count(*) FROM package_events WHERE outcome = 'refused'")" 4

# Removal: refused while the integration uses it, forced, unloaded without a restart.
check "remove refused while an integration uses it" "$(mk remove woocommerce | grep -c 'integration(s) use woocommerce')" 1
check "remove --force" "$(mk remove woocommerce --force | tail -1)" "removed woocommerce"
for i in $(seq 1 100); do [ "$(current woocommerce)" = none ] && break; sleep 0.1; done
check "the running hub no longer serves it" "$(current woocommerce)" none
check "its files are gone" "$(ls "$TMP/plugins" | grep -c woocommerce)" 0
check "the hub never restarted" "$(kill -0 "$HUB_PID" 2>/dev/null && echo alive)" alive
check "every step recorded" "$(sql "SELECT string_agg(action, ',' ORDER BY id) FROM package_events WHERE outcome = 'ok'")" "install,upgrade,rollback,remove"

kill "$HUB_PID" 2>/dev/null && wait "$HUB_PID" 2>/dev/null
HUB_PID=
check "no sanitizer report" "$(grep -c 'ERROR: AddressSanitizer\|ERROR: LeakSanitizer\|runtime error:' "$TMP/hub.log")" 0
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ] || { tail -30 "$TMP/hub.log"; exit 1; }
