#!/bin/sh
# Runs one conformance test file with node's test runner; exit 77 (skip) when node or the
# pinned npm packages are missing, unless SX_REQUIRE_ALL=1 demands them.
dir=$(dirname "$0")
if ! command -v node >/dev/null 2>&1 || [ ! -d "$dir/node_modules/@shopify/shopify-api" ] ||
   [ ! -d "$dir/node_modules/@woocommerce/woocommerce-rest-api" ] ||
   [ ! -d "$dir/node_modules/@seriousme/openapi-schema-validator" ]; then
    if [ "${SX_REQUIRE_ALL:-0}" = "1" ]; then
        echo "conformance: node or node_modules missing: run 'npm ci' in tests/conformance" >&2
        exit 1
    fi
    echo "conformance: skipped (run 'npm ci' in tests/conformance)" >&2
    exit 77
fi
if [ ! -x "$SX_BUILD_DIR/bin/simplix-sandbox" ]; then
    echo "conformance: $SX_BUILD_DIR/bin/simplix-sandbox not built" >&2
    exit 1
fi
exec node --test "$@"
