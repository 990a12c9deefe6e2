/*
 * The Shopify connector (Admin REST API): customers, products and orders imported through
 * Link pagination with updated_at_min, customers and products exported, webhooks translated,
 * OAuth for apps. It only translates: the host applies the token, paces the account from
 * X-Shopify-Shop-Api-Call-Limit, retries, stores tokens, cursors and records.
 *
 * Files: shopify.c (descriptor, instance, list, push, test), shopify_map.c (records both
 * ways), shopify_auth.c (OAuth), shopify_webhook.c (webhooks), shopify_util.c (JSON writer
 * and wire parsers). Wire facts: ../shared/platforms.md (beside the repository), section 1
 * ("1.x" below).
 */
#include "shopify_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const sx_config_field shp_config[] = {
    { "shop_domain",    SX_CFG_STRING, SX_CFG_REQUIRED,
      "The shop's permanent domain, like my-shop.myshopify.com" },
    { "api_version",    SX_CFG_STRING, 0,
      "Admin API version, YYYY-MM (default " SHP_DEFAULT_VERSION ")" },
    { "base_url",       SX_CFG_URL,    0,
      "Only for tests: an origin that stands in for https://{shop_domain}" },
    { "client_id",      SX_CFG_STRING, 0, "The app's client id (API key), for OAuth" },
    { "client_secret",  SX_CFG_SECRET, 0,
      "The app's client secret: signs OAuth callbacks and, by default, webhooks" },
    { "access_token",   SX_CFG_SECRET, 0,
      "Admin API access token (shpat_...): pasted for a custom app, or stored by OAuth" },
    { "refresh_token",  SX_CFG_SECRET, 0, "Refresh token of an expiring offline token" },
    { "webhook_secret", SX_CFG_SECRET, 0,
      "Key of the webhook signatures, when not the client secret (admin-created webhooks)" },
    { "currency",       SX_CFG_STRING, 0,
      "The shop's currency (ISO 4217); read from the shop when empty" },
    { NULL, 0, 0, NULL }
};

/* ---- shared helpers ---------------------------------------------------------------------------- */

int
shp_http(sx_ctx *cx, const sx_http_req *req, const sx_http_resp **resp)
{
    const sx_host_api *h = cx->host;
    sx_str             v;
    uint32_t           used, limit;
    int                rc;

    *resp = NULL;
    rc = h->http(cx, req, resp);
    /* 1.6: every REST answer says how full the bucket is; the host paces from it. */
    if (*resp != NULL && h->http_header(*resp, "X-Shopify-Shop-Api-Call-Limit", &v) == SX_OK &&
        shp_call_limit_parse(v, &used, &limit) == SX_OK)
        (void)h->rate_observe(cx, used, limit);
    return rc;
}

const char *
shp_api_url(sx_ctx *cx, const char *rest)
{
    struct shp_inst *st = cx->state;
    size_t           cap = strlen(st->origin) + strlen(rest) + 32;
    char            *url = cx->host->alloc(cx, cap);

    if (url == NULL)
        return NULL;
    snprintf(url, cap, "%s/admin/api/%s/%s", st->origin, st->version, rest);
    return url;
}

sx_str
shp_errors_text(sx_ctx *cx, const sx_http_resp *resp)
{
    const sx_host_api *h = cx->host;
    const sx_json     *doc, *e;
    sx_str             s = SX_STR_NULL;

    if (resp == NULL)
        return s;
    if (h->json_parse(cx, resp->body, &doc) == SX_OK &&
        (e = h->json_get(doc, "errors")) != NULL) {
        if (h->json_string(e, &s) == SX_OK || h->json_text(cx, e, &s) == SX_OK) {
            if (s.len > 400)
                s.len = 400;
            return s;
        }
    }
    s = resp->body;
    if (s.len > 200)
        s.len = 200;
    return s;
}

static int
currency_valid(sx_str c)
{
    return c.len == 3 && c.ptr[0] >= 'A' && c.ptr[0] <= 'Z' && c.ptr[1] >= 'A' &&
           c.ptr[1] <= 'Z' && c.ptr[2] >= 'A' && c.ptr[2] <= 'Z';
}

/* Remember the shop's currency from a shop.json body. */
static void
note_shop(sx_ctx *cx, const sx_http_resp *resp)
{
    const sx_host_api *h = cx->host;
    struct shp_inst   *st = cx->state;
    const sx_json     *doc;
    sx_str             cur;

    if (h->json_parse(cx, resp->body, &doc) == SX_OK &&
        h->json_string(h->json_get(h->json_get(doc, "shop"), "currency"), &cur) == SX_OK &&
        currency_valid(cur))
        memcpy(st->currency, cur.ptr, 3);
}

static int
get_shop(sx_ctx *cx, const sx_http_resp **resp)
{
    sx_http_req hr = SX_HTTP_REQ_INIT;
    const char *url = shp_api_url(cx, "shop.json");

    if (url == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    return shp_http(cx, &hr, resp);
}

int
shp_shop_currency(sx_ctx *cx, sx_str *out)
{
    struct shp_inst    *st = cx->state;
    const sx_http_resp *resp;
    int                 rc;

    if (st->currency[0] == '\0') {
        rc = get_shop(cx, &resp);
        if (rc != SX_OK)
            return rc;
        note_shop(cx, resp);
        if (st->currency[0] == '\0')
            return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify's shop.json for %s has no "
                                  "currency", st->shop);
    }
    out->ptr = st->currency;
    out->len = 3;
    return SX_OK;
}

/* ---- instance ---------------------------------------------------------------------------------- */

static int
version_valid(sx_str v)
{
    size_t i;

    if (sx_str_eq_cstr(v, "unstable"))
        return 1;
    if (v.len != 7 || v.ptr[4] != '-')
        return 0;
    for (i = 0; i < 7; i++) {
        if (i != 4 && (v.ptr[i] < '0' || v.ptr[i] > '9'))
            return 0;
    }
    return 1;
}

/*
 * The webhook signing key is the secret "webhook_secret", falling back to the app's client
 * secret. The host checks the signature itself with one named secret (sx_webhook_ops has no
 * fallback), so when the integration has no webhook_secret of its own, keep a copy of the
 * client secret under that name, and keep it current (state "webhook_secret_from").
 */
static void
sync_webhook_secret(sx_ctx *cx)
{
    const sx_host_api *h = cx->host;
    sx_str             ws, cs, from;
    int                have_ws = h->secret_get(cx, "webhook_secret", &ws) == SX_OK;
    int                copied = h->state_get(cx, "webhook_secret_from", &from) == SX_OK &&
                                sx_str_eq_cstr(from, "client_secret");

    if (h->secret_get(cx, "client_secret", &cs) != SX_OK || cs.len == 0)
        return;
    if (have_ws && (!copied || sx_str_eq(ws, cs)))
        return;                        /* an admin's own key, or the copy is current */
    if (h->secret_set(cx, "webhook_secret", cs) == SX_OK)
        (void)h->state_set(cx, "webhook_secret_from", SX_STR("client_secret"));
}

static int
shp_instance_new(sx_ctx *cx, void **state)
{
    /* 1.6: a bucket of 40 leaking 2/s (standard plan); the host paces from the header. */
    static const sx_rate_policy policy = {
        SX_HEADER_INIT(sx_rate_policy), SX_RATE_LEAKY_BUCKET, 40, 2000, 0, 2, 0
    };
    const sx_host_api *h = cx->host;
    struct shp_inst   *st;
    sx_str             shop, v;
    int                rc;

    *state = NULL;
    if (h->config_get(cx, "shop_domain", &shop) != SX_OK || shop.len == 0)
        return h->fail(cx, SX_E_INVALID, "shop_domain is missing: enter the shop's "
                       "x.myshopify.com domain");
    if (!shp_domain_valid(shop))
        return h->fail(cx, SX_E_INVALID, "shop_domain \"" SX_STR_FMT "\" is not a "
                       "x.myshopify.com domain", SX_STR_ARG(shop));
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return h->fail(cx, SX_E_NOMEM, "out of memory");
    memcpy(st->shop, shop.ptr, shop.len);
    snprintf(st->version, sizeof(st->version), "%s", SHP_DEFAULT_VERSION);
    if (h->config_get(cx, "api_version", &v) == SX_OK && v.len > 0) {
        if (!version_valid(v)) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "api_version \"" SX_STR_FMT "\" is not YYYY-MM",
                           SX_STR_ARG(v));
        }
        memcpy(st->version, v.ptr, v.len);
        st->version[v.len] = '\0';
    }
    if (h->config_get(cx, "base_url", &v) == SX_OK && v.len > 0) {
        while (v.len > 0 && v.ptr[v.len - 1] == '/')
            v.len--;
        if (v.len >= sizeof(st->origin) ||
            !((v.len > 7 && memcmp(v.ptr, "http://", 7) == 0) ||
              (v.len > 8 && memcmp(v.ptr, "https://", 8) == 0))) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "base_url must be an http(s) origin");
        }
        memcpy(st->origin, v.ptr, v.len);
    } else {
        snprintf(st->origin, sizeof(st->origin), "https://%s", st->shop);
    }
    if (h->config_get(cx, "currency", &v) == SX_OK && v.len > 0) {
        if (!currency_valid(v)) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "currency \"" SX_STR_FMT "\" is not an ISO 4217 "
                           "code", SX_STR_ARG(v));
        }
        memcpy(st->currency, v.ptr, 3);
    }
    rc = h->rate_configure(cx, &policy);
    if (rc != SX_OK && rc != SX_E_UNSUPPORTED) {
        free(st);
        return rc;
    }
    cx->state = st;
    sync_webhook_secret(cx);
    *state = st;
    return SX_OK;
}

static void
shp_instance_free(void *state)
{
    free(state);
}

/* ---- test -------------------------------------------------------------------------------------- */

static int
shp_test_connection(sx_ctx *cx)
{
    struct shp_inst    *st = cx->state;
    const sx_http_resp *resp;
    int                 rc;

    rc = get_shop(cx, &resp);
    if (rc == SX_E_AUTH)
        return cx->host->fail(cx, rc, "Shopify refused the access token for %s: reconnect the "
                              "shop (Connect with Shopify), or paste a valid Admin API access "
                              "token from the custom app's API credentials page", st->shop);
    if (rc == SX_E_NOT_FOUND)
        return cx->host->fail(cx, rc, "%s has no Admin API at %s/admin/api/%s: check "
                              "shop_domain and api_version", st->shop, st->origin, st->version);
    if (rc != SX_OK)
        return rc;
    note_shop(cx, resp);
    return SX_OK;
}

/* ---- list -------------------------------------------------------------------------------------- */

static int
shp_list(sx_ctx *cx, const sx_list_req *req, sx_list_res *res)
{
    const sx_host_api  *h = cx->host;
    const char         *plural = shp_plural(req->entity), *url;
    const sx_http_resp *resp;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      q;
    sx_str              currency = SX_STR_NULL, link, next, since;
    uint32_t            limit = req->page_size;
    char                rest[32], num[16];
    size_t              n;
    int                 rc;

    if (plural == NULL)
        return h->fail(cx, SX_E_UNSUPPORTED, "Shopify does not list %s",
                       sx_entity_name(req->entity));
    if (limit == 0 || limit > SHP_MAX_LIMIT)
        limit = SHP_MAX_LIMIT;
    if (req->entity == SX_ENTITY_PRODUCT && (rc = shp_shop_currency(cx, &currency)) != SX_OK)
        return rc;

    sxp_buf_init(&q, cx);
    snprintf(num, sizeof(num), "%u", limit);
    sxp_buf_raw(&q, "limit=", 6);
    sxp_buf_raw(&q, num, strlen(num));
    if (req->cursor.len > 0) {
        /* 1.4: with page_info only limit (and fields) may be sent; filters are frozen in it. */
        if (!shp_cursor_valid(req->cursor))
            return h->fail(cx, SX_E_INVALID, "bad cursor for Shopify %s (not a page_info)",
                           plural);
        sxp_buf_raw(&q, "&page_info=", 11);
        sxp_buf_raw(&q, req->cursor.ptr, req->cursor.len);
    } else {
        /* 1.5: orders default to status=open; closed and cancelled ones would be missed. */
        if (req->entity == SX_ENTITY_ORDER)
            sxp_buf_raw(&q, "&status=any", 11);
        if (req->updated_since_ms > 0) {
            /* Inclusive and second-granular (1.5); an explicit zone, UTC. */
            if (h->time_format(cx, req->updated_since_ms, &since) != SX_OK)
                return h->fail(cx, SX_E_INVALID, "updated_since %lld cannot be formatted",
                               (long long)req->updated_since_ms);
            sxp_buf_raw(&q, "&updated_at_min=", 16);
            sxp_form_encode(&q, since);
        }
    }
    if (q.rc != SX_OK)
        return h->fail(cx, q.rc, "query too long");

    snprintf(rest, sizeof(rest), "%s.json", plural);
    url = shp_api_url(cx, rest);
    if (url == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    hr.query = (sx_str){ q.p, q.len };
    rc = shp_http(cx, &hr, &resp);
    if (rc == SX_E_REJECTED && req->cursor.len > 0)
        return h->fail(cx, rc, "Shopify refused the page cursor for %s (" SX_STR_FMT "): "
                       "start the listing again", plural, SX_STR_ARG(shp_errors_text(cx, resp)));
    if (rc != SX_OK)
        return rc;

    rc = shp_page_emit(cx, req->entity, resp->body, currency, &n);
    if (rc != SX_OK)
        return rc;

    if (h->http_header(resp, "Link", &link) == SX_OK) {
        rc = shp_link_next(link, &next);
        if (rc == SX_OK) {
            res->next_cursor = next;
            res->has_more = 1;
        } else if (rc != SX_E_NOT_FOUND) {
            return h->fail(cx, SX_E_PROTOCOL, "Shopify's Link header for %s has no usable "
                           "next page_info", plural);
        }
    }
    return SX_OK;
}

/* ---- push -------------------------------------------------------------------------------------- */

static int
shp_push(sx_ctx *cx, uint32_t entity, sx_str json, sx_push_res *res)
{
    const sx_host_api  *h = cx->host;
    const char         *plural = shp_plural(entity), *single = shp_singular(entity), *url;
    const sx_json      *canon, *doc, *rec;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      body, out;
    sx_str              id = SX_STR_NULL, cur, shop_cur = SX_STR_NULL, upd;
    char                rest[64];
    int                 rc;

    if (h->json_parse(cx, json, &canon) != SX_OK || h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "the canonical %s is not a JSON object", single);
    if (h->json_get(canon, SX_K_EXTERNAL_ID) != NULL &&
        h->json_type(h->json_get(canon, SX_K_EXTERNAL_ID)) != SX_JSON_NULL &&
        h->json_string(h->json_get(canon, SX_K_EXTERNAL_ID), &id) != SX_OK)
        return h->fail(cx, SX_E_INVALID, "external_id is not a string");

    sxp_buf_init(&body, cx);
    if (entity == SX_ENTITY_PRODUCT) {
        if ((rc = shp_shop_currency(cx, &shop_cur)) != SX_OK)
            return rc;
        /* Shopify prices are in the shop's currency only. */
        if (h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur) == SX_OK &&
            !sx_str_eq(cur, shop_cur))
            return h->fail(cx, SX_E_REJECTED, "the product is priced in " SX_STR_FMT " but "
                           "the shop sells in " SX_STR_FMT, SX_STR_ARG(cur),
                           SX_STR_ARG(shop_cur));
        rc = shp_product_body(cx, canon, id, &body);
    } else {
        rc = shp_customer_body(cx, canon, id, &body);
    }
    if (rc != SX_OK)
        return rc;

    if (id.len > 0) {
        snprintf(rest, sizeof(rest), "%s/%.*s.json", plural, (int)id.len, id.ptr);
        hr.method = SX_HTTP_PUT;
    } else {
        snprintf(rest, sizeof(rest), "%s.json", plural);
        hr.method = SX_HTTP_POST;
        /* platforms.md 9.13: no idempotency key; a resent create would duplicate. */
        hr.flags = SX_HTTP_NO_RETRY;
    }
    url = shp_api_url(cx, rest);
    if (url == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    hr.body = (sx_str){ body.p, body.len };
    hr.content_type = SX_STR("application/json");
    rc = shp_http(cx, &hr, &resp);
    if (rc == SX_E_NOT_FOUND && id.len > 0)
        return h->fail(cx, rc, "Shopify has no %s " SX_STR_FMT " any more", single,
                       SX_STR_ARG(id));
    if (rc == SX_E_REJECTED)
        return h->fail(cx, rc, "Shopify refused the %s: " SX_STR_FMT, single,
                       SX_STR_ARG(shp_errors_text(cx, resp)));
    if (rc != SX_OK)
        return rc;

    if (h->json_parse(cx, resp->body, &doc) != SX_OK ||
        h->json_type(rec = h->json_get(doc, single)) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify answered the %s write without the record",
                       single);
    sxp_buf_init(&out, cx);
    if ((rc = shp_map_entity(cx, entity, rec, shop_cur, &out)) != SX_OK ||
        (rc = sxp_buf_done(&out, &res->canonical_json)) != SX_OK)
        return rc;
    if ((rc = shp_record_id(cx, rec, &res->external_id)) != SX_OK)
        return rc;
    if (h->json_string(h->json_get(rec, "updated_at"), &upd) == SX_OK)
        (void)h->time_parse(upd, &res->external_updated_at);
    return SX_OK;
}

static int
shp_push_customer(sx_ctx *cx, sx_str json, sx_push_res *res)
{
    return shp_push(cx, SX_ENTITY_CUSTOMER, json, res);
}

static int
shp_push_product(sx_ctx *cx, sx_str json, sx_push_res *res)
{
    return shp_push(cx, SX_ENTITY_PRODUCT, json, res);
}

/* ---- descriptor -------------------------------------------------------------------------------- */

static const sx_entity_ops shp_customers = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_CUSTOMER,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT,
    .list       = shp_list,
    .push       = shp_push_customer,
};

static const sx_entity_ops shp_products = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_PRODUCT,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT,
    .list       = shp_list,
    .push       = shp_push_product,
};

static const sx_entity_ops shp_orders = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_ORDER,
    .directions = SX_DIR_IMPORT,
    .list       = shp_list,
};

static const sx_entity_ops *shp_entities[] = { &shp_customers, &shp_products, &shp_orders,
                                               NULL };

/*
 * No SX_CAP_DELETES: Shopify's list endpoints never show deleted records (1.5), so list()
 * cannot report them; deletes arrive as the .../delete webhooks (emit_change SX_OP_DELETE).
 */
static const sx_connector shopify = {
    .hdr             = SX_HEADER_INIT(sx_connector),
    .id              = "shopify",
    .display_name    = "Shopify",
    .version         = "1.0.0",
    .license         = "MIT",
    .auth_kind       = SX_AUTH_OAUTH2_CODE,
    .caps            = SX_CAP_INCREMENTAL | SX_CAP_WEBHOOKS,
    .config          = shp_config,
    .entities        = shp_entities,
    .auth            = &shp_auth_ops,
    .webhook         = &shp_webhook_ops,
    .instance_new    = shp_instance_new,
    .instance_free   = shp_instance_free,
    .test_connection = shp_test_connection,
};

SX_CONNECTOR_DEFINE(shopify)
