/*
 * Fuzz target: the Shopify connector's parsers of platform input (plugins/shopify), compiled
 * in directly and run through the real host services table (hub_host_api()) inside a
 * hub_call with no instance: JSON, time, arena, emit all the hub's own.
 *
 * The first input byte picks what the rest is:
 *   0  a Link header              -> shp_link_next
 *   1  a customers page body      -> shp_page_emit(SX_ENTITY_CUSTOMER)
 *   2  a products page body       -> shp_page_emit(SX_ENTITY_PRODUCT), shop currency USD/JPY
 *   3  an orders page body        -> shp_page_emit(SX_ENTITY_ORDER)
 *   4  small headers and numbers  -> call limit, shop domain, tax rate ppm, cursor check
 *   5  an OAuth callback query    -> split on & and =, shp_oauth_message
 * Invariants: no crash, no sanitizer report; every emitted record is a JSON object with a
 * string external_id and a UTC updated_at; a page_info found lies inside the header and
 * passes shp_cursor_valid; a ppm is never negative.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/hostapi.h"

#include "../../plugins/shopify/shopify.c"
#include "../../plugins/shopify/shopify_auth.c"
#include "../../plugins/shopify/shopify_map.c"
#include "../../plugins/common/sxp.c"
#include "../../plugins/shopify/shopify_util.c"
#include "../../plugins/shopify/shopify_webhook.c"

#include "fuzz_check.h"

static int
sink(struct hub_call *call, uint32_t entity, sx_str json, void *arg)
{
    const sx_host_api *h = call->cx.host;
    const sx_json     *doc;
    sx_str             id, upd;

    (void)arg;
    FUZZ_CHECK(entity >= SX_ENTITY_CUSTOMER && entity <= SX_ENTITY_ORDER);
    FUZZ_CHECK(h->json_parse(&call->cx, json, &doc) == SX_OK);
    FUZZ_CHECK(h->json_type(doc) == SX_JSON_OBJECT);
    FUZZ_CHECK(h->json_string(h->json_get(doc, SX_K_EXTERNAL_ID), &id) == SX_OK && id.len > 0);
    FUZZ_CHECK(h->json_string(h->json_get(doc, SX_K_UPDATED_AT), &upd) == SX_OK);
    FUZZ_CHECK(upd.len == 20 && upd.ptr[19] == 'Z');
    return SX_OK;
}

static void
fuzz_small(const char *p, size_t len)
{
    uint32_t used, limit;
    int64_t  ppm;
    sx_str   s = { p, len };

    if (shp_call_limit_parse(s, &used, &limit) == SX_OK)
        FUZZ_CHECK(limit > 0);
    if (shp_domain_valid(s))
        FUZZ_CHECK(len > 14 && memcmp(p + len - 14, ".myshopify.com", 14) == 0);
    if (sxp_rate_ppm(s, &ppm) == SX_OK)
        FUZZ_CHECK(ppm >= 0);
    (void)shp_cursor_valid(s);
}

static void
fuzz_oauth(struct hub_call *call, char *q, size_t len)
{
    sx_kv    kv[80];
    uint32_t n = 0;
    size_t   i = 0, start = 0;
    sx_str   msg, mac;

    /* The query split like a callback's, without decoding: any bytes as keys and values. */
    while (i <= len && n < 80) {
        if (i == len || q[i] == '&') {
            char *eq = memchr(q + start, '=', i - start);

            kv[n].key = (sx_str){ q + start, eq ? (size_t)(eq - (q + start)) : i - start };
            kv[n].value = eq ? (sx_str){ eq + 1, (size_t)(q + i - eq - 1) } : SX_STR_NULL;
            n++;
            start = i + 1;
        }
        i++;
    }
    if (shp_oauth_message(&call->cx, kv, n, &msg, &mac) == SX_OK)
        FUZZ_CHECK(msg.len == 0 || msg.ptr != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_call call;
    char           *copy;
    size_t          n;
    sx_str          body, pi;
    uint8_t         mode;

    if (size < 1)
        return 0;
    mode = data[0] % 6;
    /* A private copy of exactly the payload: over-reads stay visible to ASan. */
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);
    body = (sx_str){ copy, size - 1 };

    hub_call_begin(&call, NULL, NULL);
    call.emit = sink;
    switch (mode) {
    case 0:
        if (shp_link_next(body, &pi) == SX_OK) {
            FUZZ_CHECK(pi.ptr >= body.ptr && pi.ptr + pi.len <= body.ptr + body.len);
            FUZZ_CHECK(shp_cursor_valid(pi));
        }
        break;
    case 1:
        (void)shp_page_emit(&call.cx, SX_ENTITY_CUSTOMER, body, SX_STR_NULL, &n);
        break;
    case 2:
        (void)shp_page_emit(&call.cx, SX_ENTITY_PRODUCT, body,
                            size % 2 ? SX_STR("USD") : SX_STR("JPY"), &n);
        break;
    case 3:
        (void)shp_page_emit(&call.cx, SX_ENTITY_ORDER, body, SX_STR_NULL, &n);
        break;
    case 4:
        fuzz_small(copy, size - 1);
        break;
    default:
        fuzz_oauth(&call, copy, size - 1);
        break;
    }
    hub_call_end(&call);
    free(copy);
    return 0;
}
