/*
 * Shopify connector: webhooks (platforms.md 1.7). The host verifies the signature
 * (base64 HMAC-SHA256 of the raw body, X-Shopify-Hmac-Sha256) with the secret
 * "webhook_secret" (a copy of the client secret unless an admin set one, see shopify.c),
 * deduplicates on X-Shopify-Event-Id and stores the delivery; translate() turns a stored
 * delivery into canonical changes.
 *
 * Topics:
 *   customers/create|update|enable|disable, products/create|update,
 *   orders/create|updated|paid|cancelled|fulfilled|partially_fulfilled|edited
 *       -> SX_OP_UPSERT of the record in the payload (the REST representation);
 *   customers|products|orders/delete -> SX_OP_DELETE of payload.id;
 *   refunds/create -> the payload is the refund only, so the order is fetched
 *       (GET orders/{order_id}.json) and upserted whole; an order gone since is logged;
 *   app/uninstalled -> nothing emitted, SX_E_AUTH "the app was uninstalled from <shop>:
 *       reconnect": the token is revoked, so the integration must stop and ask for a
 *       reconnection (the engine's SX_E_AUTH path);
 *   inventory_levels/update, customers/data_request, customers/redact, shop/redact and
 *       anything else -> nothing emitted, logged: stock is reconciled by the next product
 *       sync (its payload names an inventory item, not a product), and privacy requests are
 *       for the administrator.
 */
#include "shopify_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const shp_topics[] = {
    "customers/create", "customers/update", "customers/delete",
    "products/create",  "products/update",  "products/delete",
    "orders/create",    "orders/updated",   "orders/paid",      "orders/cancelled",
    "orders/fulfilled", "orders/delete",    "refunds/create",   "app/uninstalled",
    NULL
};

#define SHP_IDS_MAX 2048

static sx_str
req_header(const sx_webhook_req *req, const char *name)
{
    size_t   nlen = strlen(name);
    uint32_t i;

    for (i = 0; i < req->n_headers && i < 256; i++) {
        if (req->headers[i].name.len == nlen &&
            strncasecmp(req->headers[i].name.ptr, name, nlen) == 0)
            return req->headers[i].value;
    }
    return SX_STR_NULL;
}

static int
emit_record(sx_ctx *cx, uint32_t entity, const sx_json *rec)
{
    struct sxp_buf b;
    sx_str         cur = SX_STR_NULL, id, json;
    int            rc;

    if (entity == SX_ENTITY_PRODUCT && (rc = shp_shop_currency(cx, &cur)) != SX_OK)
        return rc;
    sxp_buf_init(&b, cx);
    if ((rc = shp_map_entity(cx, entity, rec, cur, &b)) != SX_OK ||
        (rc = sxp_buf_done(&b, &json)) != SX_OK || (rc = shp_record_id(cx, rec, &id)) != SX_OK)
        return rc;
    return cx->host->emit_change(cx, entity, SX_OP_UPSERT, id, json);
}

/* refunds/create: the order as it is now, fetched. */
static int
refund_order(sx_ctx *cx, const sx_json *refund)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    const sx_json      *doc, *order;
    int64_t             oid;
    char                rest[64];
    const char         *url;
    int                 rc;

    if (h->json_int64(h->json_get(refund, "order_id"), &oid) != SX_OK || oid <= 0)
        return h->fail(cx, SX_E_PROTOCOL, "refunds/create payload without an order_id");
    snprintf(rest, sizeof(rest), "orders/%lld.json", (long long)oid);
    url = shp_api_url(cx, rest);
    if (url == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    rc = shp_http(cx, &hr, &resp);
    if (rc == SX_E_NOT_FOUND) {
        h->log(cx, SX_LOG_INFO, "refunds/create for order %lld, which Shopify no longer has",
               (long long)oid);
        return SX_OK;
    }
    if (rc != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &doc) != SX_OK ||
        h->json_type(order = h->json_get(doc, "order")) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify answered order %lld without the order",
                       (long long)oid);
    return emit_record(cx, SX_ENTITY_ORDER, order);
}

static int
shp_translate(sx_ctx *cx, const sx_webhook_req *req)
{
    const sx_host_api *h = cx->host;
    struct shp_inst   *st = cx->state;
    const sx_json     *doc;
    sx_str             topic = req->topic, res, act, id;
    const char        *slash;
    uint32_t           entity = SX_ENTITY_NONE;
    int                rc;

    if (topic.len == 0)
        topic = req_header(req, "X-Shopify-Topic");
    slash = topic.len > 0 ? memchr(topic.ptr, '/', topic.len) : NULL;
    if (slash == NULL) {
        h->log(cx, SX_LOG_WARN, "a Shopify delivery without a topic: ignored");
        return SX_OK;
    }
    res = (sx_str){ topic.ptr, (size_t)(slash - topic.ptr) };
    act = (sx_str){ slash + 1, topic.len - res.len - 1 };

    if (sx_str_eq_cstr(topic, "app/uninstalled"))
        return h->fail(cx, SX_E_AUTH, "the app was uninstalled from %s: reconnect the shop "
                       "from the integration's page to resume syncing", st->shop);
    if (sx_str_eq_cstr(res, "customers") && !sx_str_eq_cstr(act, "data_request") &&
        !sx_str_eq_cstr(act, "redact"))
        entity = SX_ENTITY_CUSTOMER;
    else if (sx_str_eq_cstr(res, "products"))
        entity = SX_ENTITY_PRODUCT;
    else if (sx_str_eq_cstr(res, "orders"))
        entity = SX_ENTITY_ORDER;
    else if (!sx_str_eq_cstr(topic, "refunds/create")) {
        h->log(cx, SX_LOG_INFO, "Shopify topic " SX_STR_FMT " carries nothing to apply",
               SX_STR_ARG(topic));
        return SX_OK;
    }

    rc = h->json_parse(cx, req->body, &doc);
    if (rc != SX_OK || h->json_type(doc) != SX_JSON_OBJECT)
        return h->fail(cx, rc == SX_E_LIMIT ? rc : SX_E_PROTOCOL, "Shopify " SX_STR_FMT
                       " delivery is not a JSON object", SX_STR_ARG(topic));
    if (entity == SX_ENTITY_NONE)
        return refund_order(cx, doc);
    if (sx_str_eq_cstr(act, "delete")) {
        /* The payload of a delete is {"id": ...} only. */
        if ((rc = shp_record_id(cx, doc, &id)) != SX_OK)
            return rc;
        return h->emit_change(cx, entity, SX_OP_DELETE, id, SX_STR_NULL);
    }
    return emit_record(cx, entity, doc);
}

/* The ids we created, "1,2,3", from state. */
static int
stored_ids(sx_ctx *cx, sx_str *out)
{
    int rc = cx->host->state_get(cx, "webhook_ids", out);

    if (rc == SX_E_NOT_FOUND) {
        *out = SX_STR_NULL;
        return SX_OK;
    }
    return rc;
}

static int
delete_ids(sx_ctx *cx, sx_str ids)
{
    const sx_host_api *h = cx->host;
    const char        *p = ids.ptr, *end = ids.ptr + ids.len, *comma;
    size_t             n = 0;
    int                rc;

    while (p != NULL && p < end) {
        sx_http_req         hr = SX_HTTP_REQ_INIT;
        const sx_http_resp *resp;
        char                rest[64];
        const char         *url;
        size_t              len;

        comma = memchr(p, ',', (size_t)(end - p));
        len = (size_t)((comma != NULL ? comma : end) - p);
        if (++n > 64)
            return h->fail(cx, SX_E_LIMIT, "more than 64 stored webhook ids");
        if (len > 0 && len < 24) {
            snprintf(rest, sizeof(rest), "webhooks/%.*s.json", (int)len, p);
            url = shp_api_url(cx, rest);
            if (url == NULL)
                return SX_E_LIMIT;
            hr.method = SX_HTTP_DELETE;
            hr.url = sx_cstr(url);
            rc = shp_http(cx, &hr, &resp);
            /* Gone already (1.7: Shopify deletes a failing subscription): fine. */
            if (rc != SX_OK && rc != SX_E_NOT_FOUND)
                return rc;
        }
        p = comma != NULL ? comma + 1 : end;
    }
    return SX_OK;
}

/* On 422 "already taken": the existing subscription of this topic and address. */
static int
find_existing(sx_ctx *cx, const char *topic, sx_str address, sx_str *id)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    const sx_json      *doc, *list;
    struct sxp_buf      q;
    const char         *url = shp_api_url(cx, "webhooks.json");
    size_t              i, n;
    int                 rc;

    if (url == NULL)
        return SX_E_LIMIT;
    sxp_buf_init(&q, cx);
    sxp_buf_raw(&q, "topic=", 6);
    sxp_form_encode(&q, sx_cstr(topic));
    sxp_buf_raw(&q, "&address=", 9);
    sxp_form_encode(&q, address);
    if (q.rc != SX_OK)
        return h->fail(cx, q.rc, "callback URL too long");
    hr.url = sx_cstr(url);
    hr.query = (sx_str){ q.p, q.len };
    if ((rc = shp_http(cx, &hr, &resp)) != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &doc) != SX_OK)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify's webhooks.json is not JSON");
    list = h->json_get(doc, "webhooks");
    n = h->json_length(list);
    for (i = 0; i < n && i < SHP_MAX_ITEMS; i++) {
        const sx_json *w = h->json_at(list, i);
        sx_str         t, a;

        if (h->json_string(h->json_get(w, "topic"), &t) == SX_OK &&
            h->json_string(h->json_get(w, "address"), &a) == SX_OK &&
            sx_str_eq_cstr(t, topic) && sx_str_eq(a, address))
            return shp_record_id(cx, w, id);
    }
    return h->fail(cx, SX_E_CONFLICT, "Shopify says a %s subscription exists for this address "
                   "but does not list it", topic);
}

static int
shp_subscribe(sx_ctx *cx, sx_str callback_url)
{
    const sx_host_api *h = cx->host;
    struct sxp_buf     ids, body;
    sx_str             old, id;
    const char        *url;
    size_t             i;
    int                rc;

    if (callback_url.len == 0 || callback_url.len > 2048)
        return h->fail(cx, SX_E_INVALID, "a webhook callback URL of 1-2048 bytes is needed");
    /* Idempotent: what an earlier subscribe created goes first. */
    if ((rc = stored_ids(cx, &old)) != SX_OK || (rc = delete_ids(cx, old)) != SX_OK)
        return rc;
    url = shp_api_url(cx, "webhooks.json");
    if (url == NULL)
        return SX_E_LIMIT;
    sxp_buf_init(&ids, cx);
    sxp_buf_raw(&ids, "", 0);
    for (i = 0; shp_topics[i] != NULL; i++) {
        sx_http_req         hr = SX_HTTP_REQ_INIT;
        const sx_http_resp *resp;
        const sx_json      *doc;

        sxp_buf_init(&body, cx);
        sxp_jb_obj(&body);
        sxp_jb_key(&body, "webhook");
        sxp_jb_obj(&body);
        sxp_jb_key(&body, "topic");
        sxp_jb_str(&body, sx_cstr(shp_topics[i]));
        sxp_jb_key(&body, "address");
        sxp_jb_str(&body, callback_url);
        sxp_jb_key(&body, "format");
        sxp_jb_str(&body, SX_STR("json"));
        sxp_jb_obj_end(&body);
        sxp_jb_obj_end(&body);
        if (body.rc != SX_OK)
            return h->fail(cx, body.rc, "callback URL is not valid UTF-8 or too long");
        hr.method = SX_HTTP_POST;
        hr.flags = SX_HTTP_NO_RETRY;
        hr.url = sx_cstr(url);
        hr.body = (sx_str){ body.p, body.len };
        hr.content_type = SX_STR("application/json");
        rc = shp_http(cx, &hr, &resp);
        if (rc == SX_E_REJECTED) {
            rc = find_existing(cx, shp_topics[i], callback_url, &id);
        } else if (rc == SX_OK) {
            if (h->json_parse(cx, resp->body, &doc) != SX_OK)
                return h->fail(cx, SX_E_PROTOCOL, "Shopify's answer to a subscription is not "
                               "JSON");
            rc = shp_record_id(cx, h->json_get(doc, "webhook"), &id);
        }
        if (rc != SX_OK) {
            /* Keep what was made so far, so unsubscribe can remove it. */
            if (ids.len > 0)
                (void)h->state_set(cx, "webhook_ids", (sx_str){ ids.p, ids.len });
            return rc;
        }
        if (ids.len > 0)
            sxp_buf_raw(&ids, ",", 1);
        sxp_buf_raw(&ids, id.ptr, id.len);
    }
    if (ids.rc != SX_OK || ids.len > SHP_IDS_MAX)
        return h->fail(cx, SX_E_LIMIT, "too many webhook ids");
    return h->state_set(cx, "webhook_ids", (sx_str){ ids.p, ids.len });
}

static int
shp_unsubscribe(sx_ctx *cx)
{
    sx_str ids;
    int    rc;

    if ((rc = stored_ids(cx, &ids)) != SX_OK || (rc = delete_ids(cx, ids)) != SX_OK)
        return rc;
    return cx->host->state_set(cx, "webhook_ids", SX_STR(""));
}

const sx_webhook_ops shp_webhook_ops = {
    .hdr                   = SX_HEADER_INIT(sx_webhook_ops),
    .sig_scheme            = SX_SIG_HMAC_SHA256_B64,
    .timestamp_tolerance_s = 0,        /* Shopify signs no timestamp */
    .sig_header            = "X-Shopify-Hmac-Sha256",
    .secret_key            = "webhook_secret",
    .dedupe_header         = "X-Shopify-Event-Id",
    .topic_header          = "X-Shopify-Topic",
    .translate             = shp_translate,
    .subscribe             = shp_subscribe,
    .unsubscribe           = shp_unsubscribe,
};
