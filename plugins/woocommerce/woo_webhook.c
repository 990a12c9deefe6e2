/*
 * WooCommerce connector: webhooks (platforms.md 2.6). The host verifies the signature
 * (X-WC-Webhook-Signature, base64 HMAC-SHA256 of the raw body) with the secret
 * "webhook_secret", which subscribe() sets on every webhook it makes, and answers the
 * unsigned creation ping 200. translate() turns a stored delivery into canonical changes.
 *
 * Deduplication: X-WC-Webhook-Delivery-ID is wp_hash(webhook_id . unix second), neither
 * stable per event nor unique (two changes of one record within a second share it), so it
 * would drop real changes. The host's fallback, the SHA-256 of the body, is the right key
 * here: the body carries the record's id and date_modified_gmt, so a repeated delivery of
 * one state is one event and two states are two.
 *
 * Topics: customer|product|order.created|updated|restored -> SX_OP_UPSERT of the payload
 * (the REST representation; a variable product's variations are fetched); *.deleted
 * ({"id":N}) -> SX_OP_DELETE; a variation's payload (parent_id set) -> its parent product,
 * fetched. Anything else is logged and ignored.
 *
 * WooCommerce never retries a failed delivery and disables a webhook after 5 failures, so
 * webhooks are a hint: the poller (a short incremental interval) is the safety net, and
 * subscribe(), which the host runs on connect and every subscribe_interval_s, is the monitor
 * that re-activates disabled or paused webhooks and recreates deleted ones.
 */
#include "woo_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const woo_topics[] = {
    "customer.created", "customer.updated", "customer.deleted",
    "product.created",  "product.updated",  "product.deleted",  "product.restored",
    "order.created",    "order.updated",    "order.deleted",    "order.restored",
    NULL
};

#define WOO_HOOKS_MAX 500           /* webhooks listed from one store */

static uint32_t
topic_entity(sx_str topic, sx_str *event)
{
    static const struct { const char *p; uint32_t e; } map[] = {
        { "customer.", SX_ENTITY_CUSTOMER }, { "product.", SX_ENTITY_PRODUCT },
        { "order.", SX_ENTITY_ORDER },
    };
    size_t i, n;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        n = strlen(map[i].p);
        if (topic.len > n && memcmp(topic.ptr, map[i].p, n) == 0) {
            event->ptr = topic.ptr + n;
            event->len = topic.len - n;
            return map[i].e;
        }
    }
    return SX_ENTITY_NONE;
}

/* GET products/{id} (a variation's parent), or SX_E_NOT_FOUND. */
static int
fetch_product(sx_ctx *cx, int64_t id, const sx_json **out)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    char                rest[48];
    const char         *url;
    int                 rc;

    snprintf(rest, sizeof(rest), "products/%lld", (long long)id);
    if ((url = woo_api_url(cx, rest)) == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    if ((rc = h->http(cx, &hr, &resp)) != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, out) != SX_OK || h->json_type(*out) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce's product %lld is not a JSON object",
                       (long long)id);
    return SX_OK;
}

static int
woo_translate(sx_ctx *cx, const sx_webhook_req *req)
{
    const sx_host_api *h = cx->host;
    const sx_json     *doc;
    struct sxp_buf     b;
    sx_str             event, id, json, type;
    int64_t            parent = 0;
    uint32_t           entity = topic_entity(req->topic, &event);
    int                rc;

    if (entity == SX_ENTITY_NONE) {
        h->log(cx, SX_LOG_INFO, "webhook topic \"" SX_STR_FMT "\" ignored",
               SX_STR_ARG(req->topic));
        return SX_OK;
    }
    if (h->json_parse(cx, req->body, &doc) != SX_OK || h->json_type(doc) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "the " SX_STR_FMT " delivery is not a JSON object",
                       SX_STR_ARG(req->topic));
    if ((rc = woo_record_id(cx, doc, &id)) != SX_OK)
        return rc;
    if (sx_str_eq_cstr(event, "deleted"))
        return h->emit_change(cx, entity, SX_OP_DELETE, id, SX_STR_NULL);
    if (!sx_str_eq_cstr(event, "created") && !sx_str_eq_cstr(event, "updated") &&
        !sx_str_eq_cstr(event, "restored")) {
        h->log(cx, SX_LOG_INFO, "webhook topic \"" SX_STR_FMT "\" ignored",
               SX_STR_ARG(req->topic));
        return SX_OK;
    }
    /* A variation's own payload: the sellable unit is the parent product, fetched whole. */
    if (entity == SX_ENTITY_PRODUCT &&
        ((h->json_string(h->json_get(doc, "type"), &type) == SX_OK &&
          sx_str_eq_cstr(type, "variation")) ||
         (h->json_int64(h->json_get(doc, "parent_id"), &parent) == SX_OK && parent > 0))) {
        if (parent <= 0 && h->json_int64(h->json_get(doc, "parent_id"), &parent) != SX_OK)
            return h->fail(cx, SX_E_PROTOCOL, "a variation delivery without parent_id");
        rc = fetch_product(cx, parent, &doc);
        if (rc == SX_E_NOT_FOUND) {
            h->log(cx, SX_LOG_INFO, "product %lld of a variation delivery is gone",
                   (long long)parent);
            return SX_OK;
        }
        if (rc != SX_OK || (rc = woo_record_id(cx, doc, &id)) != SX_OK)
            return rc;
    }
    sxp_buf_init(&b, cx);
    if ((rc = woo_map_record(cx, entity, doc, &b)) != SX_OK ||
        (rc = sxp_buf_done(&b, &json)) != SX_OK)
        return rc;
    return h->emit_change(cx, entity, SX_OP_UPSERT, id, json);
}

/* ---- subscriptions ----------------------------------------------------------------------------- */

/* The webhook signing secret, made (32 random bytes, base64) and stored when absent. */
static int
hook_secret(sx_ctx *cx, sx_str *out)
{
    const sx_host_api *h = cx->host;
    uint8_t            rnd[32];
    int                rc = h->secret_get(cx, "webhook_secret", out);

    if (rc == SX_OK && out->len > 0)
        return SX_OK;
    if (rc != SX_OK && rc != SX_E_NOT_FOUND)
        return rc;
    if (h->random_bytes(rnd, sizeof(rnd)) != SX_OK ||
        h->base64_encode(cx, rnd, sizeof(rnd), out) != SX_OK)
        return h->fail(cx, SX_E_INTERNAL, "cannot draw a webhook secret");
    return h->secret_set(cx, "webhook_secret", *out);
}

/* Every webhook of the store (paged), as one JSON array of objects (call arena). */
static int
list_hooks(sx_ctx *cx, const sx_json **pages, size_t *n_pages)
{
    const sx_host_api *h = cx->host;
    uint32_t           page;
    int                rc;

    *n_pages = 0;
    for (page = 1; page <= WOO_HOOKS_MAX / WOO_MAX_PER_PAGE; page++) {
        sx_http_req         hr = SX_HTTP_REQ_INIT;
        const sx_http_resp *resp;
        const char         *url = woo_api_url(cx, "webhooks");
        char                q[64];

        if (url == NULL)
            return SX_E_LIMIT;
        snprintf(q, sizeof(q), "per_page=%d&page=%u&orderby=id&order=asc", WOO_MAX_PER_PAGE,
                 page);
        hr.url = sx_cstr(url);
        hr.query = sx_cstr(q);
        if ((rc = h->http(cx, &hr, &resp)) != SX_OK)
            return rc;
        if (h->json_parse(cx, resp->body, &pages[page - 1]) != SX_OK ||
            h->json_type(pages[page - 1]) != SX_JSON_ARRAY)
            return h->fail(cx, SX_E_PROTOCOL, "WooCommerce's webhook list is not a JSON array");
        *n_pages = page;
        if (h->json_length(pages[page - 1]) < WOO_MAX_PER_PAGE)
            return SX_OK;
    }
    return h->fail(cx, SX_E_LIMIT, "the store has more than %d webhooks", WOO_HOOKS_MAX);
}

static int
hook_write(sx_ctx *cx, uint32_t method, const char *rest, sx_str body, const sx_json **rec)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp = NULL;
    const char         *url = woo_api_url(cx, rest);
    int                 rc;

    if (url == NULL)
        return SX_E_LIMIT;
    hr.method = method;
    hr.url = sx_cstr(url);
    hr.body = body;
    hr.content_type = SX_STR("application/json");
    if (method == SX_HTTP_POST)
        hr.flags = SX_HTTP_NO_RETRY;
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_REJECTED)
        return h->fail(cx, rc, "WooCommerce refused the webhook: " SX_STR_FMT,
                       SX_STR_ARG(woo_error_text(cx, resp)));
    if (rc != SX_OK)
        return rc;
    if (rec != NULL && (h->json_parse(cx, resp->body, rec) != SX_OK ||
                        h->json_type(*rec) != SX_JSON_OBJECT))
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce answered a webhook write without it");
    return SX_OK;
}

static int
woo_subscribe(sx_ctx *cx, sx_str callback_url)
{
    const sx_host_api *h = cx->host;
    const sx_json     *pages[WOO_HOOKS_MAX / WOO_MAX_PER_PAGE];
    const sx_json     *rec;
    struct sxp_buf     body, ids;
    sx_str             secret, id, t, u, status, text;
    size_t             n_pages, p, i, k;
    char               rest[64];
    int                rc, repaired = 0, created = 0;

    if (callback_url.len == 0 || callback_url.len > 2048)
        return h->fail(cx, SX_E_INVALID, "a webhook callback URL of 1-2048 bytes is needed");
    if ((rc = hook_secret(cx, &secret)) != SX_OK || (rc = list_hooks(cx, pages, &n_pages)) != SX_OK)
        return rc;
    sxp_buf_init(&ids, cx);
    sxp_buf_raw(&ids, "", 0);
    for (k = 0; woo_topics[k] != NULL; k++) {
        int have = 0;

        for (p = 0; p < n_pages; p++) {
            for (i = 0; i < h->json_length(pages[p]); i++) {
                rec = h->json_at(pages[p], i);
                if (h->json_string(h->json_get(rec, "topic"), &t) != SX_OK ||
                    h->json_string(h->json_get(rec, "delivery_url"), &u) != SX_OK ||
                    !sx_str_eq_cstr(t, woo_topics[k]) || !sx_str_eq(u, callback_url) ||
                    woo_record_id(cx, rec, &id) != SX_OK || id.len > 20)
                    continue;
                snprintf(rest, sizeof(rest), "webhooks/%.*s", (int)id.len, id.ptr);
                if (have) {
                    /* A duplicate (an earlier run crashed midway): one is enough. */
                    if ((rc = hook_write(cx, SX_HTTP_DELETE, rest, SX_STR_NULL, NULL)) != SX_OK &&
                        rc != SX_E_NOT_FOUND)
                        return rc;
                    continue;
                }
                have = 1;
                /* Disabled after 5 failed deliveries, or paused by someone: activate again,
                 * with our secret (the store then pings, and the host answers 200). */
                (void)h->json_string(h->json_get(rec, "status"), &status);
                if (!sx_str_eq_cstr(status, "active")) {
                    sxp_buf_init(&body, cx);
                    sxp_jb_obj(&body);
                    sxp_jb_key(&body, "status");
                    sxp_jb_str(&body, SX_STR("active"));
                    sxp_jb_key(&body, "secret");
                    sxp_jb_str(&body, secret);
                    sxp_jb_obj_end(&body);
                    if ((rc = sxp_buf_done(&body, &text)) != SX_OK ||
                        (rc = hook_write(cx, SX_HTTP_PUT, rest, text, NULL)) != SX_OK)
                        return rc;
                    h->log(cx, SX_LOG_WARN, "webhook %s (" SX_STR_FMT ") was " SX_STR_FMT
                           ": activated again", woo_topics[k], SX_STR_ARG(id),
                           SX_STR_ARG(status));
                    repaired++;
                }
                if (ids.len > 0)
                    sxp_buf_raw(&ids, ",", 1);
                sxp_buf_raw(&ids, id.ptr, id.len);
            }
        }
        if (have)
            continue;
        sxp_buf_init(&body, cx);
        sxp_jb_obj(&body);
        sxp_jb_key(&body, "name");
        sxp_jb_str(&body, SX_STR("Simplix"));
        sxp_jb_key(&body, "topic");
        sxp_jb_str(&body, sx_cstr(woo_topics[k]));
        sxp_jb_key(&body, "delivery_url");
        sxp_jb_str(&body, callback_url);
        sxp_jb_key(&body, "secret");
        sxp_jb_str(&body, secret);
        sxp_jb_key(&body, "status");
        sxp_jb_str(&body, SX_STR("active"));
        sxp_jb_obj_end(&body);
        if ((rc = sxp_buf_done(&body, &text)) != SX_OK)
            return h->fail(cx, rc, "callback URL is not valid UTF-8 or too long");
        if ((rc = hook_write(cx, SX_HTTP_POST, "webhooks", text, &rec)) != SX_OK ||
            (rc = woo_record_id(cx, rec, &id)) != SX_OK) {
            if (ids.len > 0)
                (void)h->state_set(cx, "webhook_ids", (sx_str){ ids.p, ids.len });
            return rc;
        }
        created++;
        if (ids.len > 0)
            sxp_buf_raw(&ids, ",", 1);
        sxp_buf_raw(&ids, id.ptr, id.len);
    }
    if (created > 0 || repaired > 0)
        h->log(cx, SX_LOG_INFO, "webhooks: %d created, %d activated again", created, repaired);
    if (ids.rc != SX_OK)
        return h->fail(cx, SX_E_LIMIT, "too many webhook ids");
    return h->state_set(cx, "webhook_ids", (sx_str){ ids.p, ids.len });
}

static int
woo_unsubscribe(sx_ctx *cx)
{
    const sx_host_api *h = cx->host;
    sx_str             ids;
    const char        *p, *end, *comma;
    char               rest[64];
    size_t             len, n = 0;
    int                rc;

    rc = h->state_get(cx, "webhook_ids", &ids);
    if (rc == SX_E_NOT_FOUND)
        return SX_OK;
    if (rc != SX_OK)
        return rc;
    for (p = ids.ptr, end = ids.ptr + ids.len; p < end; p = comma != NULL ? comma + 1 : end) {
        comma = memchr(p, ',', (size_t)(end - p));
        len = (size_t)((comma != NULL ? comma : end) - p);
        if (++n > 64)
            return h->fail(cx, SX_E_LIMIT, "more than 64 stored webhook ids");
        if (len == 0 || len > 20)
            continue;
        snprintf(rest, sizeof(rest), "webhooks/%.*s?force=true", (int)len, p);
        rc = hook_write(cx, SX_HTTP_DELETE, rest, SX_STR_NULL, NULL);
        if (rc != SX_OK && rc != SX_E_NOT_FOUND)
            return rc;
    }
    return h->state_set(cx, "webhook_ids", SX_STR(""));
}

const sx_webhook_ops woo_webhook_ops = {
    .hdr                   = SX_HEADER_INIT(sx_webhook_ops),
    .sig_scheme            = SX_SIG_HMAC_SHA256_B64,
    .timestamp_tolerance_s = 0,            /* WooCommerce signs no timestamp */
    .sig_header            = "X-WC-Webhook-Signature",
    .secret_key            = "webhook_secret",
    .dedupe_header         = NULL,         /* the body's hash: see the top of this file */
    .topic_header          = "X-WC-Webhook-Topic",
    .translate             = woo_translate,
    .subscribe             = woo_subscribe,
    .unsubscribe           = woo_unsubscribe,
};
