/*
 * Fuzz target: the WooCommerce connector's translation of platform records
 * (plugins/woocommerce/woo_map.c), compiled in directly and run through the real host
 * services table (hub_host_api()) inside a hub_call with no instance: JSON, time, arena and
 * fail() all the hub's own.
 *
 * The first input byte, less '0', picks what the rest (a JSON text) is:
 *   0  a customer                             -> woo_map_customer
 *   1  a simple product                       -> woo_map_product(variations NULL), USD or JPY
 *   2  {"product":{..},"variations":[..]}     -> woo_map_product with the variations
 *   3  an order                               -> woo_map_order
 *   4  a canonical record                     -> woo_customer_body, woo_product_body,
 *                                                woo_variation_body
 * Invariants: no crash, no sanitizer report; a record mapped without error is one JSON object
 * with a non-empty string external_id and a UTC updated_at "YYYY-MM-DDTHH:MM:SSZ"; a product
 * has at least one variant; an order has a currency and integer totals; a failure left a
 * message; a body is a JSON object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin/hostapi.h"

#include "../../plugins/woocommerce/woo_map.c"
#include "../../plugins/common/sxp.c"

#include "fuzz_check.h"

/* The outcome of one translation: a valid record, or a failure with a message. */
static const sx_json *
check_out(struct hub_call *call, int rc, struct sxp_buf *b)
{
    const sx_host_api *h = call->cx.host;
    const sx_json     *doc;
    sx_str             out, id, upd;

    if (rc != SX_OK) {
        FUZZ_CHECK(rc < 0);
        FUZZ_CHECK(call->err.msg[0] != '\0');
        return NULL;
    }
    FUZZ_CHECK(sxp_buf_done(b, &out) == SX_OK);
    FUZZ_CHECK(h->json_parse(&call->cx, out, &doc) == SX_OK);
    FUZZ_CHECK(h->json_type(doc) == SX_JSON_OBJECT);
    FUZZ_CHECK(h->json_string(h->json_get(doc, SX_K_EXTERNAL_ID), &id) == SX_OK && id.len > 0);
    FUZZ_CHECK(h->json_string(h->json_get(doc, SX_K_UPDATED_AT), &upd) == SX_OK);
    FUZZ_CHECK(upd.len == 20 && upd.ptr[10] == 'T' && upd.ptr[19] == 'Z');
    return doc;
}

static void
fuzz_body(struct hub_call *call, const sx_json *canon)
{
    const sx_host_api *h = call->cx.host;
    struct sxp_buf     b;
    sx_str             out;
    const sx_json     *doc;
    int                rc, i;

    for (i = 0; i < 3; i++) {
        sxp_buf_init(&b, &call->cx);
        if (i == 0)
            rc = woo_customer_body(&call->cx, canon, &b);
        else if (i == 1)
            rc = woo_product_body(&call->cx, canon, &b);
        else
            rc = woo_variation_body(&call->cx, canon, SX_STR("KWD"), &b);
        if (rc != SX_OK) {
            FUZZ_CHECK(rc < 0 && call->err.msg[0] != '\0');
            continue;
        }
        FUZZ_CHECK(sxp_buf_done(&b, &out) == SX_OK);
        FUZZ_CHECK(h->json_parse(&call->cx, out, &doc) == SX_OK);
        FUZZ_CHECK(h->json_type(doc) == SX_JSON_OBJECT);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hub_call    call;
    const sx_host_api *h;
    const sx_json     *in, *doc;
    struct sxp_buf     b;
    char              *copy;
    int64_t            v;
    uint8_t            mode;
    int                rc;

    if (size < 1)
        return 0;
    mode = (uint8_t)(data[0] - '0') % 5;
    /* A private copy of exactly the payload: over-reads stay visible to ASan. */
    copy = malloc(size);
    if (copy == NULL)
        return 0;
    memcpy(copy, data + 1, size - 1);

    hub_call_begin(&call, NULL, NULL);
    h = call.cx.host;
    if (h->json_parse(&call.cx, (sx_str){ copy, size - 1 }, &in) != SX_OK)
        goto done;
    sxp_buf_init(&b, &call.cx);
    switch (mode) {
    case 0:
        (void)check_out(&call, woo_map_customer(&call.cx, in, &b), &b);
        break;
    case 1:
        rc = woo_map_product(&call.cx, in, NULL, size % 2 ? SX_STR("USD") : SX_STR("JPY"), &b);
        doc = check_out(&call, rc, &b);
        if (doc != NULL)
            FUZZ_CHECK(h->json_length(h->json_get(doc, SX_K_VARIANTS)) == 1);
        break;
    case 2:
        rc = woo_map_product(&call.cx, h->json_get(in, "product"),
                             h->json_get(in, "variations"), SX_STR("EUR"), &b);
        doc = check_out(&call, rc, &b);
        if (doc != NULL)
            FUZZ_CHECK(h->json_length(h->json_get(doc, SX_K_VARIANTS)) >= 1);
        break;
    case 3:
        doc = check_out(&call, woo_map_order(&call.cx, in, &b), &b);
        if (doc != NULL) {
            FUZZ_CHECK(h->json_type(h->json_get(doc, SX_K_CURRENCY)) == SX_JSON_STRING);
            FUZZ_CHECK(h->json_int64(h->json_get(doc, SX_K_TOTAL_MINOR), &v) == SX_OK);
            FUZZ_CHECK(h->json_int64(h->json_get(doc, SX_K_SUBTOTAL_MINOR), &v) == SX_OK);
            FUZZ_CHECK(h->json_int64(h->json_get(doc, SX_K_REFUNDED_MINOR), &v) == SX_OK &&
                       v >= 0);
        }
        break;
    default:
        fuzz_body(&call, in);
        break;
    }
done:
    hub_call_end(&call);
    free(copy);
    return 0;
}
