/*
 * Shopify connector: OAuth for apps (platforms.md 1.2). The host applies the token
 * (X-Shopify-Access-Token), keeps the single-use state, stores and refreshes tokens; this
 * file builds the authorize URL, verifies the callback in Shopify's order (state is the
 * host's, then hmac, shop, timestamp) and talks to /admin/oauth/access_token.
 */
#include "shopify_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SHP_SCOPES "read_customers,write_customers,read_products,write_products,read_orders," \
                   "read_inventory"
#define SHP_MAX_PARAMS 64

/* ---- helpers ----------------------------------------------------------------------------------- */

static int
need_secret(sx_ctx *cx, const char *key, sx_str *out)
{
    int rc = cx->host->secret_get(cx, key, out);

    if (rc == SX_E_NOT_FOUND || (rc == SX_OK && out->len == 0))
        return cx->host->fail(cx, SX_E_INVALID, "the Shopify integration has no %s: enter the "
                              "app's %s in the integration settings", key, key);
    return rc;
}

static int
need_config(sx_ctx *cx, const char *key, sx_str *out)
{
    int rc = cx->host->config_get(cx, key, out);

    if (rc == SX_E_NOT_FOUND || (rc == SX_OK && out->len == 0))
        return cx->host->fail(cx, SX_E_INVALID, "the Shopify integration has no %s: enter the "
                              "app's %s in the integration settings", key, key);
    return rc;
}

static void
kv_str(struct sxp_buf *b, const char *key, sx_str v)
{
    sxp_jb_key(b, key);
    sxp_jb_str(b, v);
}

static int
key_cmp(sx_str a, sx_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int    c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;

    if (c != 0)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

int
shp_oauth_message(sx_ctx *cx, const sx_kv *params, uint32_t n, sx_str *msg, sx_str *hmac)
{
    uint32_t       idx[SHP_MAX_PARAMS], m = 0, i, j;
    struct sxp_buf b;

    hmac->ptr = NULL;
    hmac->len = 0;
    if (n > SHP_MAX_PARAMS)
        return cx->host->fail(cx, SX_E_SIGNATURE, "OAuth callback with %u parameters, more "
                              "than %d", n, SHP_MAX_PARAMS);
    for (i = 0; i < n; i++) {
        if (sx_str_eq_cstr(params[i].key, "hmac")) {
            *hmac = params[i].value;
            continue;
        }
        if (sx_str_eq_cstr(params[i].key, "signature"))
            continue;
        /* Insertion sort by key, stable: n is small and bounded. */
        for (j = m; j > 0 && key_cmp(params[idx[j - 1]].key, params[i].key) > 0; j--)
            idx[j] = idx[j - 1];
        idx[j] = i;
        m++;
    }
    sxp_buf_init(&b, cx);
    sxp_buf_raw(&b, "", 0);
    for (i = 0; i < m; i++) {
        if (i > 0)
            sxp_buf_raw(&b, "&", 1);
        sxp_form_encode(&b, params[idx[i]].key);
        sxp_buf_raw(&b, "=", 1);
        sxp_form_encode(&b, params[idx[i]].value);
    }
    if (b.rc != SX_OK)
        return cx->host->fail(cx, b.rc, "OAuth callback too large");
    msg->ptr = b.p;
    msg->len = b.len;
    return SX_OK;
}

static const sx_str *
param(const sx_kv *params, uint32_t n, const char *key)
{
    uint32_t i;

    for (i = 0; i < n; i++) {
        if (sx_str_eq_cstr(params[i].key, key))
            return &params[i].value;
    }
    return NULL;
}

/* Read a token answer ({"access_token","scope","expires_in","refresh_token",...}). */
static int
read_token(sx_ctx *cx, const sx_http_resp *resp, sx_token *out, const char *what)
{
    const sx_host_api *h = cx->host;
    const sx_json     *doc;
    int64_t            v;

    if (h->json_parse(cx, resp->body, &doc) != SX_OK ||
        h->json_string(h->json_get(doc, "access_token"), &out->access_token) != SX_OK ||
        out->access_token.len == 0)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify's %s answer has no access_token", what);
    (void)h->json_string(h->json_get(doc, "scope"), &out->scope);
    if (h->json_int64(h->json_get(doc, "expires_in"), &v) == SX_OK && v > 0)
        out->expires_in_s = v;
    if (h->json_string(h->json_get(doc, "refresh_token"), &out->refresh_token) != SX_OK)
        out->refresh_token = SX_STR_NULL;
    if (h->json_int64(h->json_get(doc, "refresh_token_expires_in"), &v) == SX_OK && v > 0)
        out->refresh_expires_in_s = v;
    return SX_OK;
}

/* POST /admin/oauth/access_token with our own credentials in the body (no integration auth). */
static int
token_post(sx_ctx *cx, const struct sxp_buf *body, const sx_http_resp **resp)
{
    struct shp_inst *st = cx->state;
    sx_http_req      hr = SX_HTTP_REQ_INIT;
    char            *url;
    size_t           cap = strlen(st->origin) + 32;

    url = cx->host->alloc(cx, cap);
    if (url == NULL)
        return SX_E_LIMIT;
    snprintf(url, cap, "%s/admin/oauth/access_token", st->origin);
    hr.method = SX_HTTP_POST;
    /* A code and a refresh token are single use: one attempt, the host decides the rest. */
    hr.flags = SX_HTTP_NO_AUTH | SX_HTTP_NO_RETRY | SX_HTTP_RAW_STATUS;
    hr.url = sx_cstr(url);
    hr.body = (sx_str){ body->p, body->len };
    hr.content_type = SX_STR("application/json");
    return shp_http(cx, &hr, resp);
}

/* The OAuth error code of a 4xx answer ({"error":"invalid_grant",...}), or empty. */
static sx_str
oauth_error(sx_ctx *cx, const sx_http_resp *resp)
{
    const sx_json *doc;
    sx_str         e = SX_STR_NULL;

    if (cx->host->json_parse(cx, resp->body, &doc) == SX_OK)
        (void)cx->host->json_string(cx->host->json_get(doc, "error"), &e);
    return e;
}

/* ---- callbacks --------------------------------------------------------------------------------- */

static int
shp_authorize_url(sx_ctx *cx, sx_str state, sx_str redirect_uri, sx_str *url)
{
    struct shp_inst *st = cx->state;
    struct sxp_buf   b;
    sx_str           client_id;
    int              rc;

    if ((rc = need_config(cx, "client_id", &client_id)) != SX_OK)
        return rc;
    if (state.len == 0 || redirect_uri.len == 0)
        return cx->host->fail(cx, SX_E_INVALID, "authorize_url needs a state and a redirect URI");
    /* platforms.md 1.2 step 1. The origin is https://{shop}, or the base_url stand-in. */
    sxp_buf_init(&b, cx);
    sxp_buf_raw(&b, st->origin, strlen(st->origin));
    sxp_buf_raw(&b, "/admin/oauth/authorize?client_id=", 33);
    sxp_form_encode(&b, client_id);
    sxp_buf_raw(&b, "&scope=", 7);
    sxp_form_encode(&b, SX_STR(SHP_SCOPES));
    sxp_buf_raw(&b, "&redirect_uri=", 14);
    sxp_form_encode(&b, redirect_uri);
    sxp_buf_raw(&b, "&state=", 7);
    sxp_form_encode(&b, state);
    if (b.rc != SX_OK)
        return cx->host->fail(cx, b.rc, "authorize URL too long");
    url->ptr = b.p;
    url->len = b.len;
    return SX_OK;
}

/* The shop details kept with the token, read with the new token (not stored yet). */
static void
fetch_account(sx_ctx *cx, sx_str token, sx_token *out)
{
    const sx_host_api  *h = cx->host;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const sx_http_resp *resp;
    const sx_json      *doc, *shop;
    sx_http_header      hdr;
    const char         *url = shp_api_url(cx, "shop.json");
    struct shp_inst    *st = cx->state;
    sx_str              cur;

    if (url == NULL)
        return;
    hdr.name = SX_STR("X-Shopify-Access-Token");
    hdr.value = token;
    hr.url = sx_cstr(url);
    hr.flags = SX_HTTP_NO_AUTH;
    hr.headers = &hdr;
    hr.n_headers = 1;
    if (shp_http(cx, &hr, &resp) != SX_OK || h->json_parse(cx, resp->body, &doc) != SX_OK ||
        h->json_type(shop = h->json_get(doc, "shop")) != SX_JSON_OBJECT ||
        h->json_text(cx, shop, &out->account_json) != SX_OK) {
        /* The code is spent and the token is good: keep it, without the shop's details. */
        h->log(cx, SX_LOG_WARN, "connected %s, but its shop.json could not be read; the shop "
               "details will be missing until the next test of the connection", st->shop);
        out->account_json = SX_STR_NULL;
        return;
    }
    if (h->json_string(h->json_get(shop, "currency"), &cur) == SX_OK && cur.len == 3)
        memcpy(st->currency, cur.ptr, 3);
}

static int
parse_timestamp(sx_str s, int64_t *out)
{
    int64_t v = 0;
    size_t  i;

    if (s.len == 0 || s.len > 12)
        return 0;
    for (i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return 0;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = v;
    return 1;
}

static int
shp_exchange_code(sx_ctx *cx, const sx_kv *params, uint32_t n_params, sx_str redirect_uri,
                  sx_token *out)
{
    const sx_host_api  *h = cx->host;
    struct shp_inst    *st = cx->state;
    const sx_str       *shop, *ts, *code;
    const sx_http_resp *resp;
    sx_str              msg, mac, secret, client_id, want, got_hex;
    struct sxp_buf      body;
    uint8_t             digest[32];
    char                lower[64];
    int64_t             t, now;
    size_t              i;
    int                 rc;

    (void)redirect_uri;                /* Shopify's exchange does not take it back */
    if ((rc = need_secret(cx, "client_secret", &secret)) != SX_OK ||
        (rc = need_config(cx, "client_id", &client_id)) != SX_OK)
        return rc;

    /* 1. hmac over every other parameter, sorted and form-encoded (platforms.md 1.2). */
    if ((rc = shp_oauth_message(cx, params, n_params, &msg, &mac)) != SX_OK)
        return rc;
    if (mac.len != 64)
        return h->fail(cx, SX_E_SIGNATURE, "the Shopify OAuth callback has no valid hmac");
    for (i = 0; i < 64; i++)
        lower[i] = (mac.ptr[i] >= 'A' && mac.ptr[i] <= 'F') ? (char)(mac.ptr[i] + 32)
                                                            : mac.ptr[i];
    if (h->hmac_sha256(secret, msg, digest) != SX_OK ||
        h->hex_encode(cx, digest, sizeof(digest), &want) != SX_OK)
        return h->fail(cx, SX_E_INTERNAL, "cannot compute the callback HMAC");
    got_hex.ptr = lower;
    got_hex.len = 64;
    if (!h->consttime_eq(want, got_hex))
        return h->fail(cx, SX_E_SIGNATURE, "the Shopify OAuth callback's hmac does not match: "
                       "it was not signed with this app's client secret");

    /* 2. The shop: Shopify's domain pattern, and the shop this integration is for. */
    shop = param(params, n_params, "shop");
    if (shop == NULL || !shp_domain_valid(*shop))
        return h->fail(cx, SX_E_SIGNATURE, "the OAuth callback names no valid *.myshopify.com "
                       "shop");
    if (shop->len != strlen(st->shop) || strncasecmp(shop->ptr, st->shop, shop->len) != 0)
        return h->fail(cx, SX_E_INVALID, "the OAuth callback is for " SX_STR_FMT ", but this "
                       "integration is for %s", SX_STR_ARG(*shop), st->shop);

    /* 3. Freshness: 90 s either way, as shopify-api-js. */
    ts = param(params, n_params, "timestamp");
    if (ts == NULL || !parse_timestamp(*ts, &t))
        return h->fail(cx, SX_E_SIGNATURE, "the Shopify OAuth callback has no timestamp");
    now = h->now_ms(cx);
    if (t * 1000 < now - SHP_OAUTH_SKEW_MS || t * 1000 > now + SHP_OAUTH_SKEW_MS)
        return h->fail(cx, SX_E_STALE, "the Shopify OAuth callback is %lld s old (at most %d "
                       "s allowed): start the connection again",
                       (long long)((now - t * 1000) / 1000), SHP_OAUTH_SKEW_MS / 1000);

    code = param(params, n_params, "code");
    if (code == NULL || code->len == 0)
        return h->fail(cx, SX_E_INVALID, "the Shopify OAuth callback has no code");

    /* 4. The exchange. */
    sxp_buf_init(&body, cx);
    sxp_jb_obj(&body);
    kv_str(&body, "client_id", client_id);
    kv_str(&body, "client_secret", secret);
    kv_str(&body, "code", *code);
    sxp_jb_obj_end(&body);
    if (body.rc != SX_OK)
        return h->fail(cx, body.rc, "token request too large");
    rc = token_post(cx, &body, &resp);
    if (rc != SX_OK)
        return rc;
    if (resp->status != 200) {
        sx_str err = oauth_error(cx, resp);

        return h->fail(cx, resp->status >= 500 ? SX_E_TRANSIENT : SX_E_AUTH,
                       "Shopify refused the authorization code (HTTP %u %.*s): start the "
                       "connection again from the integration's page", resp->status,
                       SX_STR_ARG(err));
    }
    if ((rc = read_token(cx, resp, out, "code exchange")) != SX_OK)
        return rc;
    fetch_account(cx, out->access_token, out);
    return SX_OK;
}

static int
shp_refresh(sx_ctx *cx, sx_token *out)
{
    const sx_host_api  *h = cx->host;
    struct shp_inst    *st = cx->state;
    const sx_http_resp *resp;
    struct sxp_buf      body;
    sx_str              secret, client_id, rt;
    int                 rc;

    rc = h->secret_get(cx, "refresh_token", &rt);
    if (rc == SX_E_NOT_FOUND || (rc == SX_OK && rt.len == 0))
        return h->fail(cx, SX_E_AUTH, "the access token for %s was refused and there is no "
                       "refresh token: reconnect the shop from the integration's page",
                       st->shop);
    if (rc != SX_OK)
        return rc;
    if ((rc = need_secret(cx, "client_secret", &secret)) != SX_OK ||
        (rc = need_config(cx, "client_id", &client_id)) != SX_OK)
        return rc;
    sxp_buf_init(&body, cx);
    sxp_jb_obj(&body);
    kv_str(&body, "client_id", client_id);
    kv_str(&body, "client_secret", secret);
    kv_str(&body, "grant_type", SX_STR("refresh_token"));
    kv_str(&body, "refresh_token", rt);
    sxp_jb_obj_end(&body);
    if (body.rc != SX_OK)
        return h->fail(cx, body.rc, "refresh request too large");
    rc = token_post(cx, &body, &resp);
    if (rc != SX_OK)
        return rc;
    if (resp->status != 200) {
        sx_str err = oauth_error(cx, resp);

        if (resp->status >= 500)
            return h->fail(cx, SX_E_TRANSIENT, "Shopify could not refresh the token (HTTP %u)",
                           resp->status);
        /* platforms.md 1.2: a dead grant is 400 invalid_grant. Nothing to retry. */
        return h->fail(cx, SX_E_AUTH, "Shopify refused to refresh the access token for %s "
                       "(%.*s): the app's authorization is no longer valid; reconnect the shop "
                       "from the integration's page", st->shop,
                       (int)(err.len ? err.len : 11), err.len ? err.ptr : "invalid_grant");
    }
    if ((rc = read_token(cx, resp, out, "refresh")) != SX_OK)
        return rc;
    if (out->refresh_token.len == 0)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify's refresh answer has no new refresh_token "
                       "(it rotates on every use)");
    return SX_OK;
}

const sx_auth_ops shp_auth_ops = {
    .hdr           = SX_HEADER_INIT(sx_auth_ops),
    .apply         = SX_APPLY_HEADER,
    .header_name   = "X-Shopify-Access-Token",
    .token_key     = "access_token",
    .authorize_url = shp_authorize_url,
    .exchange_code = shp_exchange_code,
    .refresh       = shp_refresh,
};
