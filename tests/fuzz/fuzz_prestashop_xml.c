/*
 * Fuzz target: the PrestaShop connector's XML converter and shop-local times
 * (plugins/prestashop/presta_xml.c), compiled in directly and run inside a hub_call with no
 * instance (the JSON writer's arena and the JSON parser are the hub's own).
 *
 * The whole input is a Webservice answer -> presta_xml_to_json, written after a value already
 * in the writer. Invariants: no crash, no sanitizer report; SX_OK gives one JSON value (an
 * object, or PrestaShop's empty list []) that the hub parses; a failure is SX_E_PROTOCOL with
 * a sentence and leaves the writer exactly as it was. The first 19 bytes also go through
 * presta_local_ms at a few offsets: a time that parses formats back to the same text, and one
 * that does not is SX_E_INVALID or SX_E_NOT_FOUND.
 *
 * Then the rest of the XML-to-canonical path: every record of a converted list (or the single
 * record) goes through presta_map_customer, _product and _order (with the answer's own
 * arrays as every join: addresses, combinations, stocks, option values and groups, details,
 * slips); a mapped record is one JSON object the hub parses, and a refusal is a status with
 * a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/hostapi.h"

#include "../../plugins/common/sxp.c"
#include "../../plugins/prestashop/presta_xml.c"
#include "../../plugins/prestashop/presta_map.c"

#include "fuzz_check.h"

static void
fuzz_times(const uint8_t *data, size_t size)
{
    static const int offs[] = { 0, 60, -300, 330 };
    sx_str           s = { (const char *)data, size < 19 ? size : 19 };
    int64_t          ms;
    char             back[20];
    size_t           i;
    int              rc;

    for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        rc = presta_local_ms(s, offs[i], &ms);
        if (rc == SX_OK) {
            presta_local_format(ms, offs[i], back);
            FUZZ_CHECK(s.len == 19 && memcmp(back, s.ptr, 19) == 0);
        } else {
            FUZZ_CHECK(rc == SX_E_INVALID || rc == SX_E_NOT_FOUND);
        }
    }
}

/* Map one record every way; the result is a JSON object or a refusal. */
static void
map_one(sx_ctx *cx, const sx_json *rec, const sx_json *arr)
{
    const sx_host_api *h = cx->host;
    struct sxp_buf     b;
    sx_str             out;
    const sx_json     *j;
    int                k, rc;

    for (k = 0; k < 3; k++) {
        sxp_buf_init(&b, cx);
        rc = k == 0 ? presta_map_customer(cx, rec, arr, NULL, 2, 60, &b)
           : k == 1 ? presta_map_product(cx, rec, arr, arr, arr, arr, SX_STR("EUR"), 1, -300,
                                         &b)
                    : presta_map_order(cx, rec, arr, arr, SX_STR("JPY"), 0, &b);
        if (rc == SX_OK && sxp_buf_done(&b, &out) == SX_OK) {
            FUZZ_CHECK(h->json_parse(cx, out, &j) == SX_OK);
            FUZZ_CHECK(h->json_type(j) == SX_JSON_OBJECT);
        } else {
            FUZZ_CHECK(rc != SX_OK || b.rc != SX_OK);
        }
    }
}

/* The converted answer: {"customers":[...]} or {"customer":{...}}. */
static void
fuzz_map(sx_ctx *cx, const sx_json *top)
{
    static const char *keys[] = { "customers", "products", "orders", "customer", "product",
                                  "order", "combinations", "addresses", "order_details",
                                  "product_option_values", "order_slips", NULL };
    const sx_host_api *h = cx->host;
    const sx_json     *v;
    size_t             i, n;
    int                k;

    for (k = 0; keys[k] != NULL; k++) {
        v = h->json_get(top, keys[k]);
        if (h->json_type(v) == SX_JSON_OBJECT) {
            map_one(cx, v, NULL);
        } else if (h->json_type(v) == SX_JSON_ARRAY) {
            n = h->json_length(v);
            for (i = 0; i < n && i < 8; i++)
                map_one(cx, h->json_at(v, i), v);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_call    call;
    const sx_host_api *h;
    const sx_json     *doc;
    struct sxp_buf     b;
    sx_str             out;
    const char        *why = NULL;
    char              *copy;
    size_t             before;
    int                rc, t;

    fuzz_times(data, size);
    /* A private copy of exactly the input: over-reads stay visible to ASan. */
    copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    if (size > 0)
        memcpy(copy, data, size);

    hub_call_begin(&call, NULL, NULL);
    h = call.cx.host;
    sxp_buf_init(&b, &call.cx);
    sxp_jb_arr(&b);
    sxp_jb_i64(&b, 1);
    before = b.len;
    rc = presta_xml_to_json(copy, size, &b, &why);
    if (rc == SX_OK) {
        FUZZ_CHECK(b.rc == SX_OK && b.depth == 1 && b.len > before);
        sxp_jb_arr_end(&b);
        FUZZ_CHECK(sxp_buf_done(&b, &out) == SX_OK);
        FUZZ_CHECK(h->json_parse(&call.cx, out, &doc) == SX_OK);
        FUZZ_CHECK(h->json_type(doc) == SX_JSON_ARRAY && h->json_length(doc) == 2);
        t = h->json_type(h->json_at(doc, 1));
        FUZZ_CHECK(t == SX_JSON_OBJECT || t == SX_JSON_ARRAY);
        if (t == SX_JSON_OBJECT)
            fuzz_map(&call.cx, h->json_at(doc, 1));
    } else {
        FUZZ_CHECK(rc == SX_E_PROTOCOL);
        FUZZ_CHECK(why != NULL && why[0] != '\0');
        FUZZ_CHECK(b.rc == SX_OK && b.depth == 1 && b.len == before);
        sxp_jb_arr_end(&b);
        FUZZ_CHECK(sxp_buf_done(&b, &out) == SX_OK && out.len == 3);
    }
    hub_call_end(&call);
    free(copy);
    return 0;
}
