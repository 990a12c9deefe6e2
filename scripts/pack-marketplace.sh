#!/bin/sh
# scripts/pack-marketplace.sh BUILD_DIR: pack and sign every first-party connector the build made
# (BUILD_DIR/plugins/<id>.so) into the development marketplace BUILD_DIR/marketplace, then write
# its index.json. Run by the `marketplace_packages` build target (marketplace/CMakeLists.txt);
# docs/MARKETPLACE.md "Building packages".
#
#   BUILD_DIR/marketplace/dev-key.pem         development signing key (made once, mode 0600)
#   BUILD_DIR/marketplace/trusted-keys.json   trusts it: publisher "simplix-dev", key id dev-<hex>
#   BUILD_DIR/marketplace/packages/<id>/<version>/{manifest.json,manifest.sig,<id>.so[,icon.svg]}
#   BUILD_DIR/marketplace/index.json
#
# Idempotent and fast: a connector whose package already holds the same SHA-256, signed with the
# current key, is left alone; a changed .so is packed and signed again; an unchanged index is not
# rewritten. The development key is for this build tree only: never trust it in production.
#
# Per-connector extras, all optional, in marketplace/first-party/<id>/ of the source tree:
#   description.txt   the package description (first line = summary), at most 2000 bytes
#   topics.txt        the webhook topics, comma- or line-separated
#   icon.svg          the icon
set -eu

BUILD=${1:?usage: pack-marketplace.sh BUILD_DIR}
HUB=${SX_HUB_BIN:-$BUILD/bin/simplix-hub}
SRC=$(cd "$(dirname "$0")/.." && pwd)
EXTRAS=$SRC/marketplace/first-party
MK=$BUILD/marketplace
KEY=$MK/dev-key.pem
TRUST=$MK/trusted-keys.json
PUBLISHER=simplix-dev

[ -x "$HUB" ] || { echo "pack-marketplace: $HUB is not built" >&2; exit 1; }
mkdir -p "$MK"

# The key id, read back from the trust file the key was made with.
key_id() {
    [ -f "$TRUST" ] || return 0
    sed -n 's/.*"key_id": *"\([^"]*\)".*/\1/p' "$TRUST" | head -n 1
}

KEYID=$(key_id)
if [ ! -f "$KEY" ] || [ -z "$KEYID" ]; then
    # A new key replaces the trust file too: the first entry is always the current key.
    rm -f "$KEY" "$TRUST"
    KEYID=dev-$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
    "$HUB" marketplace keygen --out "$KEY" --publisher "$PUBLISHER" --key-id "$KEYID" \
        --trust "$TRUST" >/dev/null
fi

changed=0
for so in "$BUILD"/plugins/*.so; do
    [ -f "$so" ] || continue
    name=$(basename "$so")
    case $name in
        .* | *@*) continue ;;       # hidden files, versioned copies installed by the marketplace
    esac
    id=${name%.so}
    sha=$(sha256sum "$so" | cut -d' ' -f1)

    # Already packed from these very bytes and signed with the current key?
    up_to_date=0
    for manifest in "$MK"/packages/"$id"/*/manifest.json; do
        [ -f "$manifest" ] || continue
        dir=${manifest%/manifest.json}
        if [ -f "$dir/manifest.sig" ] && grep -q "\"$sha\"" "$manifest" &&
            grep -q "\"key_id\": *\"$KEYID\"" "$manifest"; then
            up_to_date=1
            break
        fi
    done
    [ "$up_to_date" = 1 ] && continue

    set -- "$so" --dir "$MK"
    extras=$EXTRAS/$id
    if [ -f "$extras/description.txt" ]; then
        set -- "$@" --description "$(cat "$extras/description.txt")"
    fi
    if [ -f "$extras/topics.txt" ]; then
        set -- "$@" --topics "$(grep -v '^#' "$extras/topics.txt" | tr '\n' ',' | tr -d ' ')"
    fi
    if [ -f "$extras/icon.svg" ]; then
        set -- "$@" --icon "$extras/icon.svg"
    fi
    pkg=$("$HUB" marketplace pack "$@")
    "$HUB" marketplace sign "$pkg" --key "$KEY" --publisher "$PUBLISHER" --key-id "$KEYID" \
        >/dev/null
    echo "pack-marketplace: packed and signed $pkg"
    changed=1
done

if [ "$changed" = 1 ] || [ ! -f "$MK/index.json" ]; then
    "$HUB" marketplace index "$MK"
fi
