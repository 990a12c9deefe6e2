/*
 * WooCommerce connector: authentication (platforms.md 2.1). Over HTTPS the consumer key and
 * secret go as HTTP Basic (or as query parameters when the server strips Authorization); over
 * plain HTTP every request is signed with OAuth 1.0a one-legged, HMAC-SHA256, the way the
 * official client does. The host calls sign() before each attempt, so nonces and timestamps
 * are fresh on retries.
 *
 * The key flow: authorize_url() sends the administrator to the store's /wc-auth/v1/authorize
 * with the host's single-use state as user_id; the store POSTs the generated keys as JSON to
 * the host's callback (the same URL as return_url, POST instead of GET), and the host calls
 * exchange_code() with the JSON members as parameters. The keys are checked against the
 * store's system_status before the host answers 200 (WooCommerce keeps the key only then).
 */
#include "woo_internal.h"

#include <stdio.h>
#include <string.h>

#define WOO_APP_NAME "Simplix"

/* ---- OAuth 1.0a -------------------------------------------------------------------------------- */

void
woo_rawurlencode(struct sxp_buf *b, sx_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t            i;

    for (i = 0; i < s.len && b->rc == SX_OK; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char          esc[3];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            sxp_buf_raw(b, (const char *)&c, 1);
        } else {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 15];
            sxp_buf_raw(b, esc, 3);
        }
    }
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a query component (PHP urldecode: '+' is a space) into the call arena. */
static int
url_decode(sx_ctx *cx, const char *p, size_t len, sx_str *out)
{
    char  *d = cx->host->alloc(cx, len + 1);
    size_t i, n = 0;

    if (d == NULL)
        return SX_E_LIMIT;
    for (i = 0; i < len; i++) {
        if (p[i] == '%' && i + 2 < len && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
            d[n++] = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
            i += 2;
        } else {
            d[n++] = p[i] == '+' ? ' ' : p[i];
        }
    }
    d[n] = '\0';
    out->ptr = d;
    out->len = n;
    return SX_OK;
}

static int
str_cmp(sx_str a, sx_str b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int    c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;

    if (c != 0)
        return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* The text of a query being built, which may be empty (sxp_buf_done refuses that). */
static int
query_done(struct sxp_buf *b, sx_str *out)
{
    if (b->rc != SX_OK)
        return b->rc;
    out->ptr = b->p != NULL ? b->p : "";
    out->len = b->len;
    return SX_OK;
}

int
woo_oauth_base_string(sx_ctx *cx, const char *method, sx_str url, sx_str query,
                      const sx_kv *oauth, size_t n_oauth, sx_str *out)
{
    sx_kv          kv[WOO_OAUTH_MAX_PARAMS];
    struct sxp_buf b, pairs;
    const char    *p = query.ptr, *end = query.ptr + query.len, *amp, *eq;
    size_t         n = 0, i, j;
    sx_str         q;
    int            rc;

    /* The query's own parameters, decoded (WooCommerce decodes before re-encoding). */
    while (p != NULL && p < end) {
        amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        if (amp > p) {
            if (n >= WOO_OAUTH_MAX_PARAMS)
                return cx->host->fail(cx, SX_E_LIMIT, "more than %d query parameters to sign",
                                      WOO_OAUTH_MAX_PARAMS);
            eq = memchr(p, '=', (size_t)(amp - p));
            if ((rc = url_decode(cx, p, (size_t)((eq != NULL ? eq : amp) - p), &kv[n].key)) !=
                SX_OK)
                return rc;
            if (eq != NULL)
                rc = url_decode(cx, eq + 1, (size_t)(amp - eq - 1), &kv[n].value);
            else
                kv[n].value = (sx_str){ "", 0 };
            if (rc != SX_OK)
                return rc;
            n++;
        }
        p = amp + 1;
    }
    for (i = 0; i < n_oauth; i++) {
        if (n >= WOO_OAUTH_MAX_PARAMS)
            return cx->host->fail(cx, SX_E_LIMIT, "too many parameters to sign");
        kv[n++] = oauth[i];
    }
    /* strcmp order of the keys (uksort), then of the values; n is small. */
    for (i = 1; i < n; i++) {
        sx_kv t = kv[i];

        for (j = i; j > 0; j--) {
            int c = str_cmp(kv[j - 1].key, t.key);

            if (c < 0 || (c == 0 && str_cmp(kv[j - 1].value, t.value) <= 0))
                break;
            kv[j] = kv[j - 1];
        }
        kv[j] = t;
    }
    sxp_buf_init(&pairs, cx);
    for (i = 0; i < n; i++) {
        if (i > 0)
            sxp_buf_raw(&pairs, "&", 1);
        woo_rawurlencode(&pairs, kv[i].key);
        sxp_buf_raw(&pairs, "=", 1);
        woo_rawurlencode(&pairs, kv[i].value);
    }
    if ((rc = query_done(&pairs, &q)) != SX_OK)
        return rc;
    sxp_buf_init(&b, cx);
    sxp_buf_raw(&b, method, strlen(method));
    sxp_buf_raw(&b, "&", 1);
    woo_rawurlencode(&b, url);
    sxp_buf_raw(&b, "&", 1);
    woo_rawurlencode(&b, q);
    return sxp_buf_done(&b, out);
}

static const char *
method_name(uint32_t m)
{
    switch (m) {
    case SX_HTTP_POST:   return "POST";
    case SX_HTTP_PUT:    return "PUT";
    case SX_HTTP_PATCH:  return "PATCH";
    case SX_HTTP_DELETE: return "DELETE";
    case SX_HTTP_HEAD:   return "HEAD";
    default:             return "GET";
    }
}

static int
need_key(sx_ctx *cx, const char *key, sx_str *out)
{
    int rc = cx->host->secret_get(cx, key, out);

    if (rc == SX_E_NOT_FOUND)
        rc = cx->host->config_get(cx, key, out);
    if (rc == SX_E_NOT_FOUND || (rc == SX_OK && out->len == 0))
        return cx->host->fail(cx, SX_E_AUTH, "the WooCommerce integration has no %s: connect "
                              "the store, or paste the REST API key", key);
    return rc;
}

static int
woo_sign(sx_ctx *cx, const sx_http_req *in, sx_http_req *out)
{
    const sx_host_api *h = cx->host;
    struct woo_inst   *st = cx->state;
    sx_str             ck, cs, base, sig, url = in->url, q;
    sx_kv              oauth[5];
    sx_http_header    *hdrs;
    struct sxp_buf     key, qb;
    uint8_t            rnd[16], mac[32];
    char               nonce[33], ts[24];
    const char        *qm;
    size_t             i;
    int                rc;

    if ((rc = need_key(cx, "consumer_key", &ck)) != SX_OK ||
        (rc = need_key(cx, "consumer_secret", &cs)) != SX_OK)
        return rc;
    /* A URL with its own query: split it, WooCommerce signs the parameters, not the URL. */
    sxp_buf_init(&qb, cx);
    qm = memchr(url.ptr, '?', url.len);
    if (qm != NULL) {
        sxp_buf_raw(&qb, qm + 1, (size_t)(url.ptr + url.len - qm - 1));
        url.len = (size_t)(qm - url.ptr);
        if (in->query.len > 0)
            sxp_buf_raw(&qb, "&", 1);
    }
    sxp_buf_raw(&qb, in->query.ptr, in->query.len);

    if (st->https) {
        if (st->query_auth) {
            /* 2.1: the server strips Authorization; the keys go in the query instead. */
            if (qb.len > 0)
                sxp_buf_raw(&qb, "&", 1);
            sxp_buf_raw(&qb, "consumer_key=", 13);
            woo_rawurlencode(&qb, ck);
            sxp_buf_raw(&qb, "&consumer_secret=", 17);
            woo_rawurlencode(&qb, cs);
            if ((rc = query_done(&qb, &q)) != SX_OK)
                return h->fail(cx, rc, "query too long");
            out->url = url;
            out->query = q;
            return SX_OK;
        }
        sxp_buf_init(&key, cx);
        sxp_buf_raw(&key, ck.ptr, ck.len);
        sxp_buf_raw(&key, ":", 1);
        sxp_buf_raw(&key, cs.ptr, cs.len);
        if ((rc = sxp_buf_done(&key, &base)) != SX_OK ||
            (rc = h->base64_encode(cx, (const uint8_t *)base.ptr, base.len, &sig)) != SX_OK)
            return h->fail(cx, SX_E_LIMIT, "cannot encode the credentials");
        hdrs = h->alloc(cx, (in->n_headers + 1) * sizeof(*hdrs));
        if (hdrs == NULL)
            return SX_E_LIMIT;
        for (i = 0; i < in->n_headers; i++)
            hdrs[i] = in->headers[i];
        sxp_buf_init(&key, cx);
        sxp_buf_raw(&key, "Basic ", 6);
        sxp_buf_raw(&key, sig.ptr, sig.len);
        if ((rc = sxp_buf_done(&key, &hdrs[i].value)) != SX_OK)
            return rc;
        hdrs[i].name = SX_STR("Authorization");
        out->headers = hdrs;
        out->n_headers = in->n_headers + 1;
        return SX_OK;
    }

    /* Plain HTTP: OAuth 1.0a one-legged, no token, no oauth_version (2.1). */
    if ((rc = query_done(&qb, &q)) != SX_OK)
        return h->fail(cx, rc, "query too long");
    if (h->random_bytes(rnd, sizeof(rnd)) != SX_OK)
        return h->fail(cx, SX_E_INTERNAL, "no random bytes for the OAuth nonce");
    for (i = 0; i < sizeof(rnd); i++)
        snprintf(nonce + 2 * i, 3, "%02x", rnd[i]);
    snprintf(ts, sizeof(ts), "%lld", (long long)(h->now_ms(cx) / 1000));
    oauth[0] = (sx_kv){ SX_STR("oauth_consumer_key"), ck };
    oauth[1] = (sx_kv){ SX_STR("oauth_nonce"), sx_cstr(nonce) };
    oauth[2] = (sx_kv){ SX_STR("oauth_signature_method"), SX_STR("HMAC-SHA256") };
    oauth[3] = (sx_kv){ SX_STR("oauth_timestamp"), sx_cstr(ts) };
    if ((rc = woo_oauth_base_string(cx, method_name(in->method), url, q, oauth, 4, &base)) !=
        SX_OK)
        return rc;
    sxp_buf_init(&key, cx);
    sxp_buf_raw(&key, cs.ptr, cs.len);
    sxp_buf_raw(&key, "&", 1);                      /* no token secret */
    if ((rc = sxp_buf_done(&key, &sig)) != SX_OK ||
        h->hmac_sha256(sig, base, mac) != SX_OK ||
        h->base64_encode(cx, mac, sizeof(mac), &sig) != SX_OK)
        return h->fail(cx, SX_E_INTERNAL, "cannot compute the OAuth signature");
    oauth[4] = (sx_kv){ SX_STR("oauth_signature"), sig };
    sxp_buf_init(&qb, cx);
    sxp_buf_raw(&qb, q.ptr, q.len);
    for (i = 0; i < 5; i++) {
        if (qb.len > 0)
            sxp_buf_raw(&qb, "&", 1);
        sxp_buf_raw(&qb, oauth[i].key.ptr, oauth[i].key.len);
        sxp_buf_raw(&qb, "=", 1);
        woo_rawurlencode(&qb, oauth[i].value);
    }
    if ((rc = sxp_buf_done(&qb, &q)) != SX_OK)
        return h->fail(cx, rc, "query too long");
    out->url = url;
    out->query = q;
    return SX_OK;
}

/* ---- the /wc-auth key flow --------------------------------------------------------------------- */

static int
woo_authorize_url(sx_ctx *cx, sx_str state, sx_str redirect_uri, sx_str *url)
{
    struct woo_inst *st = cx->state;
    struct sxp_buf   b;
    int              rc;

    sxp_buf_init(&b, cx);
    sxp_buf_raw(&b, st->origin, strlen(st->origin));
    sxp_buf_raw(&b, "/wc-auth/v1/authorize?app_name=" WOO_APP_NAME "&scope=read_write&user_id=",
                sizeof("/wc-auth/v1/authorize?app_name=" WOO_APP_NAME
                       "&scope=read_write&user_id=") - 1);
    /* 2.1: user_id is split on '&' by WooCommerce: the state is hex, URL-safe. */
    woo_rawurlencode(&b, state);
    /* The store POSTs the keys to callback_url and sends the browser to return_url: one
     * route of the hub, POST for the keys and GET for the browser. */
    sxp_buf_raw(&b, "&return_url=", 12);
    woo_rawurlencode(&b, redirect_uri);
    sxp_buf_raw(&b, "&callback_url=", 14);
    woo_rawurlencode(&b, redirect_uri);
    if ((rc = sxp_buf_done(&b, url)) != SX_OK)
        return cx->host->fail(cx, rc, "authorize URL too long");
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

/* "ck_" / "cs_" followed by 1-128 [A-Za-z0-9]. WooCommerce makes 40 hex digits. */
static int
key_valid(sx_str k, const char *prefix)
{
    size_t i;

    if (k.len < 4 || k.len > 131 || memcmp(k.ptr, prefix, 3) != 0)
        return 0;
    for (i = 3; i < k.len; i++) {
        char c = k.ptr[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

static int
woo_exchange_code(sx_ctx *cx, const sx_kv *params, uint32_t n_params, sx_str redirect_uri,
                  sx_token *out)
{
    const sx_host_api  *h = cx->host;
    struct woo_inst    *st = cx->state;
    const sx_str       *ck, *cs, *perm;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    sx_str              acct;
    const char         *url;
    int                 rc;

    (void)redirect_uri;
    ck = param(params, n_params, "consumer_key");
    cs = param(params, n_params, "consumer_secret");
    perm = param(params, n_params, "key_permissions");
    if (ck == NULL || cs == NULL)
        return h->fail(cx, SX_E_INVALID, "the store's callback carries no consumer_key and "
                       "consumer_secret (was it a WooCommerce /wc-auth callback?)");
    if (!key_valid(*ck, "ck_") || !key_valid(*cs, "cs_"))
        return h->fail(cx, SX_E_INVALID, "the store sent keys that are not WooCommerce REST "
                       "API keys (ck_..., cs_...)");
    if (perm == NULL || !sx_str_eq_cstr(*perm, "read_write"))
        return h->fail(cx, SX_E_REJECTED, "the store granted \"" SX_STR_FMT "\" access; the "
                       "hub asked for read_write, which export and webhooks need",
                       SX_STR_ARG(perm != NULL ? *perm : SX_STR("none")));
    if ((rc = h->secret_set(cx, "consumer_key", *ck)) != SX_OK ||
        (rc = h->secret_set(cx, "consumer_secret", *cs)) != SX_OK)
        return rc;
    /* The key exists in the store while it waits for our answer: prove it works, and read the
     * versions, before the host answers 200 and the store keeps it. */
    if ((url = woo_api_url(cx, "system_status")) == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    hr.timeout_ms = 20000;
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_AUTH)
        return h->fail(cx, SX_E_REJECTED, "%s refused the keys it just generated (" SX_STR_FMT
                       ")", st->origin, SX_STR_ARG(woo_error_text(cx, resp)));
    if (rc != SX_OK)
        return rc;
    if ((rc = woo_note_store(cx, resp->body, &acct)) != SX_OK)
        return rc;
    out->access_token = *ck;       /* the host's token slot: the key id, not a secret */
    out->scope = *perm;
    out->account_json = acct;
    return SX_OK;
}

const sx_auth_ops woo_auth_ops = {
    .hdr           = SX_HEADER_INIT(sx_auth_ops),
    .apply         = SX_APPLY_CUSTOM,
    .sign          = woo_sign,
    .authorize_url = woo_authorize_url,
    .exchange_code = woo_exchange_code,
};
