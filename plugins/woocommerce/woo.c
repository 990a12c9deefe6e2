/*
 * The WooCommerce connector (REST API wc/v3): customers, products (variable products with
 * their variations) and orders imported through page/per_page with modified_after, customers
 * and products exported (batch endpoints for variations), webhooks translated, keys obtained
 * through /wc-auth or pasted. It only translates: the host applies the signature the
 * connector's sign() computes, caps concurrency per store, retries, stores keys, cursors and
 * records.
 *
 * Files: woo.c (descriptor, instance, list, push, test), woo_map.c (records both ways),
 * woo_auth.c (Basic / OAuth 1.0a signing, the /wc-auth key flow), woo_webhook.c (webhooks).
 * Wire facts: ../shared/platforms.md (beside the repository), section 2 ("2.x" below).
 */
#include "woo_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The build of a newer version for the marketplace test overrides it (tests/integration). */
#ifndef WOO_CONNECTOR_VERSION
#define WOO_CONNECTOR_VERSION "1.0.0"
#endif

static const sx_config_field woo_config[] = {
    { "store_url",       SX_CFG_URL,    SX_CFG_REQUIRED,
      "The store's address as WordPress advertises it (https://store.example)" },
    { "consumer_key",    SX_CFG_SECRET, 0, "REST API consumer key (ck_...), or use Connect" },
    { "consumer_secret", SX_CFG_SECRET, 0, "REST API consumer secret (cs_...)" },
    { "webhook_secret",  SX_CFG_SECRET, 0,
      "Secret of the webhooks the hub creates (generated when empty)" },
    { "query_auth",      SX_CFG_BOOL,   0,
      "Send the keys as query parameters: for servers that strip the Authorization header "
      "(HTTPS only)" },
    { "max_concurrency", SX_CFG_INT,    0,
      "Requests in flight to this store at once (default 4): protects small shared hosts" },
    { "currency",        SX_CFG_STRING, 0,
      "The store's currency (ISO 4217); read from system_status when empty" },
    { NULL, 0, 0, NULL }
};

/* ---- shared helpers ---------------------------------------------------------------------------- */

const char *
woo_api_url(sx_ctx *cx, const char *rest)
{
    struct woo_inst *st = cx->state;
    size_t           cap = strlen(st->api) + strlen(rest) + 2;
    char            *url = cx->host->alloc(cx, cap);

    if (url == NULL)
        return NULL;
    snprintf(url, cap, "%s/%s", st->api, rest);
    return url;
}

sx_str
woo_error_text(sx_ctx *cx, const sx_http_resp *resp)
{
    const sx_host_api *h = cx->host;
    const sx_json     *doc;
    sx_str             s = SX_STR_NULL;

    if (resp == NULL)
        return s;
    /* {"code":"woocommerce_rest_...","message":"...","data":{"status":400}} */
    if (h->json_parse(cx, resp->body, &doc) == SX_OK &&
        (h->json_string(h->json_get(doc, "message"), &s) == SX_OK ||
         h->json_string(h->json_get(doc, "code"), &s) == SX_OK)) {
        if (s.len > 400)
            s.len = 400;
        return s;
    }
    s = resp->body;                  /* an HTML error page from a WAF or PHP */
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

static int
get_system_status(sx_ctx *cx, const sx_http_resp **resp)
{
    sx_http_req hr = SX_HTTP_REQ_INIT;
    const char *url = woo_api_url(cx, "system_status");

    if (url == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    return cx->host->http(cx, &hr, resp);
}

/*
 * Remember what system_status says about the store: its currency here, and the versions,
 * name and time zone in the state "store" (the host copies them to woocommerce_stores).
 * `*account` = that JSON (call arena).
 */
int
woo_note_store(sx_ctx *cx, sx_str body, sx_str *account)
{
    const sx_host_api *h = cx->host;
    struct woo_inst   *st = cx->state;
    const sx_json     *doc, *env, *set;
    struct sxp_buf     b;
    sx_str             v;
    static const char *env_keys[][2] = {
        { "version", "wc_version" }, { "wp_version", "wp_version" },
        { "home_url", "home_url" }, { "default_timezone", "timezone" },
    };
    size_t             i;
    int                rc;

    if (h->json_parse(cx, body, &doc) != SX_OK || h->json_type(doc) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce's system_status is not a JSON object");
    env = h->json_get(doc, "environment");
    set = h->json_get(doc, "settings");
    sxp_buf_init(&b, cx);
    sxp_jb_obj(&b);
    for (i = 0; i < sizeof(env_keys) / sizeof(env_keys[0]); i++) {
        if (h->json_string(h->json_get(env, env_keys[i][0]), &v) == SX_OK && v.len > 0 &&
            v.len <= 200) {
            sxp_jb_key(&b, env_keys[i][1]);
            sxp_jb_str(&b, v);
        }
    }
    if (h->json_string(h->json_get(set, "currency"), &v) == SX_OK && currency_valid(v)) {
        if (st->currency[0] == '\0')
            memcpy(st->currency, v.ptr, 3);
        sxp_jb_key(&b, "currency");
        sxp_jb_str(&b, v);
    }
    sxp_jb_obj_end(&b);
    if ((rc = sxp_buf_done(&b, account)) != SX_OK)
        return h->fail(cx, rc, "system_status: cannot describe the store");
    (void)h->state_set(cx, "store", *account);
    return SX_OK;
}

int
woo_store_currency(sx_ctx *cx, sx_str *out)
{
    struct woo_inst    *st = cx->state;
    const sx_http_resp *resp;
    sx_str              acct;
    int                 rc;

    if (st->currency[0] == '\0') {
        rc = get_system_status(cx, &resp);
        if (rc != SX_OK)
            return rc;
        if ((rc = woo_note_store(cx, resp->body, &acct)) != SX_OK)
            return rc;
        if (st->currency[0] == '\0')
            return cx->host->fail(cx, SX_E_PROTOCOL, "WooCommerce's system_status for %s has "
                                  "no currency in settings", st->origin);
    }
    out->ptr = st->currency;
    out->len = 3;
    return SX_OK;
}

/* ---- instance ---------------------------------------------------------------------------------- */

static int
woo_instance_new(sx_ctx *cx, void **state)
{
    const sx_host_api *h = cx->host;
    sx_rate_policy     policy = { SX_HEADER_INIT(sx_rate_policy), SX_RATE_NONE, 0, 0,
                                  WOO_DEFAULT_CONCURRENCY, 0, 0 };
    struct woo_inst   *st;
    sx_str             v;
    size_t             i;
    int                rc;

    *state = NULL;
    if (h->config_get(cx, "store_url", &v) != SX_OK || v.len == 0)
        return h->fail(cx, SX_E_INVALID, "store_url is missing: enter the store's address, "
                       "like https://store.example");
    while (v.len > 0 && v.ptr[v.len - 1] == '/')
        v.len--;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return h->fail(cx, SX_E_NOMEM, "out of memory");
    if (v.len > 8 && memcmp(v.ptr, "https://", 8) == 0) {
        st->https = 1;
    } else if (!(v.len > 7 && memcmp(v.ptr, "http://", 7) == 0)) {
        free(st);
        return h->fail(cx, SX_E_INVALID, "store_url must start with https:// (or http:// for a "
                       "store without TLS, which the connector then signs with OAuth 1.0a)");
    }
    for (i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];

        if (c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '"' || c == '\\') {
            free(st);
            return h->fail(cx, SX_E_INVALID, "store_url must be a plain address without "
                           "spaces, query or fragment");
        }
    }
    if (v.len >= sizeof(st->origin)) {
        free(st);
        return h->fail(cx, SX_E_INVALID, "store_url is longer than %zu bytes",
                       sizeof(st->origin) - 1);
    }
    memcpy(st->origin, v.ptr, v.len);
    /* 2.1: pretty permalinks; the REST base is /wp-json/wc/v3. */
    snprintf(st->api, sizeof(st->api), "%s/wp-json/wc/v3", st->origin);
    if (h->config_get(cx, "query_auth", &v) == SX_OK && sx_str_eq_cstr(v, "true"))
        st->query_auth = st->https;
    if (h->config_get(cx, "currency", &v) == SX_OK && v.len > 0) {
        if (!currency_valid(v)) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "currency \"" SX_STR_FMT "\" is not an ISO 4217 "
                           "code", SX_STR_ARG(v));
        }
        memcpy(st->currency, v.ptr, 3);
    }
    if (h->config_get(cx, "max_concurrency", &v) == SX_OK && v.len > 0) {
        char    num[16];
        char   *end;
        long    n;

        snprintf(num, sizeof(num), "%.*s", (int)(v.len < 15 ? v.len : 15), v.ptr);
        n = strtol(num, &end, 10);
        if (*end != '\0' || n < 1 || n > 64) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "max_concurrency must be 1 to 64");
        }
        policy.max_concurrency = (uint32_t)n;
    }
    /* 2.5: no platform limit; the cap protects the store's PHP workers. */
    rc = h->rate_configure(cx, &policy);
    if (rc != SX_OK && rc != SX_E_UNSUPPORTED) {
        free(st);
        return rc;
    }
    *state = st;
    return SX_OK;
}

static void
woo_instance_free(void *state)
{
    free(state);
}

/* ---- test -------------------------------------------------------------------------------------- */

static int
woo_test_connection(sx_ctx *cx)
{
    struct woo_inst    *st = cx->state;
    const sx_http_resp *resp = NULL;
    sx_str              acct;
    int                 rc;

    rc = get_system_status(cx, &resp);
    if (rc == SX_E_AUTH)
        return cx->host->fail(cx, rc, "WooCommerce at %s refused the REST API key (" SX_STR_FMT
                              "): connect the store again, or paste a read_write key from "
                              "WooCommerce > Settings > Advanced > REST API", st->origin,
                              SX_STR_ARG(woo_error_text(cx, resp)));
    if (rc == SX_E_NOT_FOUND)
        return cx->host->fail(cx, rc, "%s has no WooCommerce REST API at %s: check store_url, "
                              "that WooCommerce is active and that pretty permalinks are on",
                              st->origin, st->api);
    if (rc != SX_OK)
        return rc;
    return woo_note_store(cx, resp->body, &acct);
}

/* ---- list -------------------------------------------------------------------------------------- */

/*
 * The cursor: "p=<page>;t=<total>;m=<s|c>". Pages are numbered over a listing sorted by id,
 * so records created during the run land at the end; a record deleted during the run moves
 * every later one a place back, which would skip one: when X-WP-Total shrank since the last
 * page, the next page starts far enough back to cover the shift (the engine drops the
 * duplicates by content hash). m=s: the store filters by modified_after; m=c: it ignores the
 * filter (old stores, and customers, which have none, 2.4), so the connector reads everything
 * and keeps only what changed since the lower bound.
 */
struct woo_cursor {
    uint32_t page;
    uint64_t total;
    char     mode;
};

static int
woo_cursor_parse(sx_str c, struct woo_cursor *out)
{
    char          buf[WOO_CURSOR_MAX + 1];
    unsigned long page;
    unsigned long long total;
    char          mode, tail;

    if (c.len == 0 || c.len > WOO_CURSOR_MAX)
        return SX_E_INVALID;
    memcpy(buf, c.ptr, c.len);
    buf[c.len] = '\0';
    if (sscanf(buf, "p=%lu;t=%llu;m=%c%c", &page, &total, &mode, &tail) != 3 || page < 1 ||
        page > 10000000 || total > 1000000000000ULL || (mode != 's' && mode != 'c'))
        return SX_E_INVALID;
    out->page = (uint32_t)page;
    out->total = total;
    out->mode = mode;
    return SX_OK;
}

static int
header_u64(sx_ctx *cx, const sx_http_resp *resp, const char *name, uint64_t *out)
{
    sx_str   v;
    uint64_t n = 0;
    size_t   i;

    if (cx->host->http_header(resp, name, &v) != SX_OK || v.len == 0 || v.len > 15)
        return SX_E_NOT_FOUND;
    for (i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return SX_E_PROTOCOL;
        n = n * 10 + (uint64_t)(v.ptr[i] - '0');
    }
    *out = n;
    return SX_OK;
}

int
woo_fetch_variations(sx_ctx *cx, sx_str id, const sx_json **out)
{
    const sx_host_api  *h = cx->host;
    const sx_http_resp *resp;
    const sx_json      *doc;
    struct sxp_buf      all;
    sx_str              text;
    char                rest[96], q[64];
    uint32_t            page;
    size_t              n, total = 0, i;
    int                 rc;

    *out = NULL;
    sxp_buf_init(&all, cx);
    sxp_buf_raw(&all, "[", 1);
    for (page = 1;; page++) {
        sx_http_req hr = SX_HTTP_REQ_INIT;
        const char *url;

        snprintf(rest, sizeof(rest), "products/%.*s/variations", (int)id.len, id.ptr);
        snprintf(q, sizeof(q), "per_page=%d&page=%u&orderby=id&order=asc", WOO_MAX_PER_PAGE,
                 page);
        if ((url = woo_api_url(cx, rest)) == NULL)
            return SX_E_LIMIT;
        hr.url = sx_cstr(url);
        hr.query = sx_cstr(q);
        rc = h->http(cx, &hr, &resp);
        if (rc == SX_E_NOT_FOUND)
            break;               /* deleted meanwhile: the product maps with no variation */
        if (rc != SX_OK)
            return rc;
        if (h->json_parse(cx, resp->body, &doc) != SX_OK || h->json_type(doc) != SX_JSON_ARRAY)
            return h->fail(cx, SX_E_PROTOCOL, "WooCommerce's variations of product " SX_STR_FMT
                           " are not a JSON array", SX_STR_ARG(id));
        n = h->json_length(doc);
        for (i = 0; i < n; i++) {
            if (h->json_text(cx, h->json_at(doc, i), &text) != SX_OK)
                return SX_E_LIMIT;
            if (total > 0)
                sxp_buf_raw(&all, ",", 1);
            sxp_buf_raw(&all, text.ptr, text.len);
            if (++total > WOO_MAX_VARIATIONS)
                return h->fail(cx, SX_E_LIMIT, "product " SX_STR_FMT " has more than %d "
                               "variations", SX_STR_ARG(id), WOO_MAX_VARIATIONS);
        }
        if (n < WOO_MAX_PER_PAGE)
            break;
    }
    sxp_buf_raw(&all, "]", 1);
    if ((rc = sxp_buf_done(&all, &text)) != SX_OK)
        return h->fail(cx, rc, "variations of product " SX_STR_FMT ": too large",
                       SX_STR_ARG(id));
    if (h->json_parse(cx, text, out) != SX_OK)
        return h->fail(cx, SX_E_PROTOCOL, "variations of product " SX_STR_FMT " do not "
                       "re-parse", SX_STR_ARG(id));
    return SX_OK;
}

/* Map one record of `entity` (fetching a variable product's variations) into `out`. */
int
woo_map_record(sx_ctx *cx, uint32_t entity, const sx_json *rec, struct sxp_buf *out)
{
    const sx_host_api *h = cx->host;
    const sx_json     *vars = NULL;
    sx_str             type, id, currency;
    int                rc;

    switch (entity) {
    case SX_ENTITY_CUSTOMER:
        return woo_map_customer(cx, rec, out);
    case SX_ENTITY_ORDER:
        return woo_map_order(cx, rec, out);
    case SX_ENTITY_PRODUCT:
        if ((rc = woo_store_currency(cx, &currency)) != SX_OK)
            return rc;
        if (h->json_string(h->json_get(rec, "type"), &type) == SX_OK &&
            sx_str_eq_cstr(type, "variable") &&
            h->json_length(h->json_get(rec, "variations")) > 0) {
            if ((rc = woo_record_id(cx, rec, &id)) != SX_OK ||
                (rc = woo_fetch_variations(cx, id, &vars)) != SX_OK)
                return rc;
        }
        return woo_map_product(cx, rec, vars, currency, out);
    default:
        return h->fail(cx, SX_E_UNSUPPORTED, "WooCommerce does not map %s",
                       sx_entity_name(entity));
    }
}

static int
list_page(sx_ctx *cx, const sx_list_req *req, sx_list_res *res, struct woo_cursor *cur,
          int *restart)
{
    const sx_host_api  *h = cx->host;
    const char         *path = woo_path(req->entity), *url;
    const sx_http_resp *resp;
    const sx_json      *doc, *rec;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      q, one;
    sx_str              since, canon, next;
    uint32_t            per_page = req->page_size;
    uint64_t            total = 0, pages = 0;
    int64_t             modified;
    size_t              n, i;
    char                num[64];
    int                 rc, server_filter;

    *restart = 0;
    if (per_page == 0 || per_page > WOO_MAX_PER_PAGE)
        per_page = WOO_MAX_PER_PAGE;
    server_filter = req->updated_since_ms > 0 && cur->mode == 's';

    sxp_buf_init(&q, cx);
    snprintf(num, sizeof(num), "per_page=%u&page=%u&orderby=id&order=asc", per_page,
             cur->page);
    sxp_buf_raw(&q, num, strlen(num));
    if (server_filter) {
        /* 2.4: GMT explicitly, or the store reads the bound in its own time zone. */
        if (h->time_format(cx, req->updated_since_ms, &since) != SX_OK || since.len < 20)
            return h->fail(cx, SX_E_INVALID, "updated_since %lld cannot be formatted",
                           (long long)req->updated_since_ms);
        since.len = 19;                        /* WooCommerce wants no zone designator */
        sxp_buf_raw(&q, "&dates_are_gmt=true&modified_after=", 35);
        sxp_form_encode(&q, since);
    }
    if (req->entity == SX_ENTITY_ORDER)
        sxp_buf_raw(&q, "&status=any", 11);
    if (q.rc != SX_OK)
        return h->fail(cx, q.rc, "query too long");
    if ((url = woo_api_url(cx, path)) == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    hr.query = (sx_str){ q.p, q.len };
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_REJECTED)
        return h->fail(cx, rc, "WooCommerce refused the %s listing: " SX_STR_FMT, path,
                       SX_STR_ARG(woo_error_text(cx, resp)));
    if (rc != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &doc) != SX_OK || h->json_type(doc) != SX_JSON_ARRAY)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce's %s page %u is not a JSON array "
                       "(a plugin or a WAF answered?): " SX_STR_FMT, path, cur->page,
                       SX_STR_ARG(woo_error_text(cx, resp)));
    n = h->json_length(doc);
    if (n > per_page)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce sent %zu %s for per_page=%u", n, path,
                       per_page);
    (void)header_u64(cx, resp, "X-WP-Total", &total);
    (void)header_u64(cx, resp, "X-WP-TotalPages", &pages);

    /* 2.4: an old store silently ignores modified_after and answers everything. A record
     * modified before the bound (a second of slack for rounding) proves it; from then on the
     * connector filters itself, from page 1, and remembers it for the next runs. */
    if (server_filter) {
        for (i = 0; i < n; i++) {
            if (woo_record_modified(cx, h->json_at(doc, i), &modified) == SX_OK &&
                modified < req->updated_since_ms - 1000) {
                h->log(cx, SX_LOG_WARN, "the store ignores modified_after (WooCommerce older "
                       "than 5.x?): %s are read in full and filtered by the hub", path);
                (void)h->state_set(cx, "ignores_modified_after", SX_STR("1"));
                cur->mode = 'c';
                cur->page = 1;
                cur->total = 0;
                *restart = 1;
                return SX_OK;
            }
        }
    }

    for (i = 0; i < n; i++) {
        rec = h->json_at(doc, i);
        if (req->updated_since_ms > 0 && !server_filter &&
            woo_record_modified(cx, rec, &modified) == SX_OK &&
            modified < req->updated_since_ms)
            continue;                              /* unchanged since the lower bound */
        sxp_buf_init(&one, cx);
        rc = woo_map_record(cx, req->entity, rec, &one);
        if (rc == SX_OK)
            rc = sxp_buf_done(&one, &canon);
        if (rc != SX_OK)
            return rc;
        if ((rc = h->emit(cx, req->entity, canon)) != SX_OK)
            return rc;
    }

    if (n == per_page && (pages == 0 || cur->page < pages)) {
        uint32_t page = cur->page + 1;

        /* Deletions between two pages moved later records back: step back to cover them. */
        if (cur->total > 0 && total > 0 && total < cur->total) {
            uint64_t back = (cur->total - total + per_page - 1) / per_page;

            page = back >= page - 1 ? 1 : page - (uint32_t)back;
        }
        snprintf(num, sizeof(num), "p=%u;t=%llu;m=%c", page, (unsigned long long)total,
                 cur->mode);
        next = sx_cstr(num);
        {
            char *copy = h->alloc(cx, next.len + 1);

            if (copy == NULL)
                return SX_E_LIMIT;
            memcpy(copy, next.ptr, next.len);
            res->next_cursor = (sx_str){ copy, next.len };
        }
        res->has_more = 1;
    }
    return SX_OK;
}

static int
woo_list(sx_ctx *cx, const sx_list_req *req, sx_list_res *res)
{
    const sx_host_api *h = cx->host;
    struct woo_cursor  cur = { 1, 0, 's' };
    sx_str             flag;
    int                rc, restart;

    if (woo_path(req->entity) == NULL)
        return h->fail(cx, SX_E_UNSUPPORTED, "WooCommerce does not list %s",
                       sx_entity_name(req->entity));
    if (req->cursor.len > 0) {
        if (woo_cursor_parse(req->cursor, &cur) != SX_OK)
            return h->fail(cx, SX_E_INVALID, "bad cursor for WooCommerce %s: start the listing "
                           "again", woo_path(req->entity));
    } else if (req->entity == SX_ENTITY_CUSTOMER ||
               (h->state_get(cx, "ignores_modified_after", &flag) == SX_OK &&
                sx_str_eq_cstr(flag, "1"))) {
        cur.mode = 'c';           /* 2.4: customers have no date filter at all */
    }
    rc = list_page(cx, req, res, &cur, &restart);
    if (rc == SX_OK && restart)
        rc = list_page(cx, req, res, &cur, &restart);
    return rc;
}

/* ---- push -------------------------------------------------------------------------------------- */

static int
push_variations(sx_ctx *cx, sx_str id, const sx_json *variants, sx_str currency)
{
    const sx_host_api  *h = cx->host;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      body, one;
    sx_str              text;
    const char         *url;
    char                rest[96];
    size_t              n = h->json_length(variants), i, done = 0;
    int                 rc;

    snprintf(rest, sizeof(rest), "products/%.*s/variations/batch", (int)id.len, id.ptr);
    /* 2.2: at most 100 objects per batch. */
    while (done < n) {
        sxp_buf_init(&body, cx);
        SXP_RAW(&body, "{\"update\":[");
        for (i = done; i < n && i < done + 100; i++) {
            sxp_buf_init(&one, cx);
            rc = woo_variation_body(cx, h->json_at(variants, i), currency, &one);
            if (rc == SX_OK)
                rc = sxp_buf_done(&one, &text);
            if (rc != SX_OK)
                return rc;
            if (i > done)
                sxp_buf_raw(&body, ",", 1);
            sxp_buf_raw(&body, text.ptr, text.len);
        }
        sxp_buf_raw(&body, "]}", 2);
        if ((rc = sxp_buf_done(&body, &text)) != SX_OK)
            return h->fail(cx, rc, "variation batch too large");
        if ((url = woo_api_url(cx, rest)) == NULL)
            return SX_E_LIMIT;
        hr.method = SX_HTTP_POST;
        hr.url = sx_cstr(url);
        hr.body = text;
        hr.content_type = SX_STR("application/json");
        rc = h->http(cx, &hr, &resp);        /* updates only: safe to retry */
        if (rc == SX_E_REJECTED)
            return h->fail(cx, rc, "WooCommerce refused the variations of product " SX_STR_FMT
                           ": " SX_STR_FMT, SX_STR_ARG(id),
                           SX_STR_ARG(woo_error_text(cx, resp)));
        if (rc != SX_OK)
            return rc;
        done = i;
    }
    return SX_OK;
}

static int
woo_push(sx_ctx *cx, uint32_t entity, sx_str json, sx_push_res *res)
{
    const sx_host_api  *h = cx->host;
    const char         *path = woo_path(entity), *url;
    const char         *what = entity == SX_ENTITY_PRODUCT ? "product" : "customer";
    const sx_json      *canon, *doc, *variants;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      body, out;
    sx_str              id = SX_STR_NULL, cur, store_cur = SX_STR_NULL, text;
    char                rest[96];
    int                 rc;

    if (h->json_parse(cx, json, &canon) != SX_OK || h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "the canonical %s is not a JSON object", what);
    if (h->json_type(h->json_get(canon, SX_K_EXTERNAL_ID)) == SX_JSON_STRING &&
        h->json_string(h->json_get(canon, SX_K_EXTERNAL_ID), &id) == SX_OK) {
        size_t i;

        for (i = 0; i < id.len; i++) {
            if (id.ptr[i] < '0' || id.ptr[i] > '9' || id.len > 19)
                return h->fail(cx, SX_E_INVALID, "external_id \"" SX_STR_FMT "\" is not a "
                               "WooCommerce id", SX_STR_ARG(id));
        }
    }
    variants = h->json_get(canon, SX_K_VARIANTS);
    sxp_buf_init(&body, cx);
    if (entity == SX_ENTITY_PRODUCT) {
        if ((rc = woo_store_currency(cx, &store_cur)) != SX_OK)
            return rc;
        if (h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur) == SX_OK &&
            !sx_str_eq(cur, store_cur))
            return h->fail(cx, SX_E_REJECTED, "the product is priced in " SX_STR_FMT " but "
                           "the store sells in " SX_STR_FMT, SX_STR_ARG(cur),
                           SX_STR_ARG(store_cur));
        if (id.len == 0 && h->json_length(variants) > 1)
            return h->fail(cx, SX_E_REJECTED, "a product with %zu variants cannot be created "
                           "from Simplix: WooCommerce needs its attributes; create the "
                           "variable product in WooCommerce, then it syncs both ways",
                           h->json_length(variants));
        rc = woo_product_body(cx, canon, &body);
    } else {
        rc = woo_customer_body(cx, canon, &body);
    }
    if (rc == SX_OK)
        rc = sxp_buf_done(&body, &text);
    if (rc != SX_OK)
        return rc;

    if (id.len > 0) {
        snprintf(rest, sizeof(rest), "%s/%.*s", path, (int)id.len, id.ptr);
        hr.method = SX_HTTP_PUT;
    } else {
        snprintf(rest, sizeof(rest), "%s", path);
        hr.method = SX_HTTP_POST;
        hr.flags = SX_HTTP_NO_RETRY;      /* no idempotency key: a resent create duplicates */
    }
    if ((url = woo_api_url(cx, rest)) == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    hr.body = text;
    hr.content_type = SX_STR("application/json");
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_NOT_FOUND && id.len > 0)
        return h->fail(cx, rc, "WooCommerce has no %s " SX_STR_FMT " any more", what,
                       SX_STR_ARG(id));
    if (rc == SX_E_REJECTED)
        return h->fail(cx, rc, "WooCommerce refused the %s: " SX_STR_FMT, what,
                       SX_STR_ARG(woo_error_text(cx, resp)));
    if (rc != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &doc) != SX_OK ||
        h->json_type(doc) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce answered the %s write without the "
                       "record", what);
    if ((rc = woo_record_id(cx, doc, &res->external_id)) != SX_OK)
        return rc;
    if (entity == SX_ENTITY_PRODUCT && id.len > 0 && h->json_length(variants) > 1 &&
        (rc = push_variations(cx, res->external_id, variants, store_cur)) != SX_OK)
        return rc;
    (void)woo_record_modified(cx, doc, &res->external_updated_at);
    sxp_buf_init(&out, cx);
    if (woo_map_record(cx, entity, doc, &out) == SX_OK)
        (void)sxp_buf_done(&out, &res->canonical_json);
    return SX_OK;
}

static int
woo_push_customer(sx_ctx *cx, sx_str json, sx_push_res *res)
{
    return woo_push(cx, SX_ENTITY_CUSTOMER, json, res);
}

static int
woo_push_product(sx_ctx *cx, sx_str json, sx_push_res *res)
{
    return woo_push(cx, SX_ENTITY_PRODUCT, json, res);
}

/* ---- push_batch (ABI 1.1) ------------------------------------------------------------------------ */

/* A record of the batch that cannot go (its own fault): status and sentence, in the arena. */
static void
item_refused(sx_ctx *cx, sx_push_res *r, int status, const char *fmt, ...) SX_PRINTF(4, 5);

static void
item_refused(sx_ctx *cx, sx_push_res *r, int status, const char *fmt, ...)
{
    char   *msg = cx->host->alloc(cx, 400);
    va_list ap;

    r->status = status;
    if (msg == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, 400, fmt, ap);
    va_end(ap);
    r->error = sx_cstr(msg);
}

/*
 * Up to 100 customers or products in one POST <path>/batch (2.2): creates in "create",
 * updates (with their id) in "update"; the answer lists each in the same order, either the
 * record or {"id":0,"error":{...}}. A product update with several variants then sends its
 * variations through products/{id}/variations/batch.
 */
static int
woo_push_batch(sx_ctx *cx, uint32_t entity, const sx_str *in, uint32_t n, sx_push_res *res)
{
    const sx_host_api  *h = cx->host;
    const char         *path = woo_path(entity), *url;
    const char         *what = entity == SX_ENTITY_PRODUCT ? "product" : "customer";
    const sx_json      *canon, *doc, *arr, *rec, *e, *variants;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      creates, updates, one, body;
    sx_str              id, cur, store_cur = SX_STR_NULL, text, msg;
    uint32_t            i, n_create = 0, n_update = 0;
    int8_t             *kind;               /* per record: 0 refused, 1 create, 2 update */
    uint32_t           *pos;                /* its index in its array */
    char                rest[96];
    int                 rc;

    if (n > WOO_MAX_PER_PAGE)
        return h->fail(cx, SX_E_INVALID, "a WooCommerce batch takes at most %d records",
                       WOO_MAX_PER_PAGE);
    kind = h->alloc(cx, n + 1);
    pos = h->alloc(cx, (n + 1) * sizeof(*pos));
    if (kind == NULL || pos == NULL)
        return SX_E_LIMIT;
    if (entity == SX_ENTITY_PRODUCT && (rc = woo_store_currency(cx, &store_cur)) != SX_OK)
        return rc;
    sxp_buf_init(&creates, cx);
    sxp_buf_init(&updates, cx);
    sxp_buf_raw(&creates, "[", 1);
    sxp_buf_raw(&updates, "[", 1);
    for (i = 0; i < n; i++) {
        size_t k;

        res[i].status = SX_OK;
        id = SX_STR_NULL;
        if (h->json_parse(cx, in[i], &canon) != SX_OK || h->json_type(canon) != SX_JSON_OBJECT) {
            item_refused(cx, &res[i], SX_E_INVALID, "the canonical %s is not a JSON object",
                         what);
            continue;
        }
        if (h->json_type(h->json_get(canon, SX_K_EXTERNAL_ID)) == SX_JSON_STRING)
            (void)h->json_string(h->json_get(canon, SX_K_EXTERNAL_ID), &id);
        for (k = 0; k < id.len; k++) {
            if (id.ptr[k] < '0' || id.ptr[k] > '9' || id.len > 19)
                break;
        }
        if (k < id.len) {
            item_refused(cx, &res[i], SX_E_INVALID, "external_id \"" SX_STR_FMT "\" is not a "
                         "WooCommerce id", SX_STR_ARG(id));
            continue;
        }
        variants = h->json_get(canon, SX_K_VARIANTS);
        sxp_buf_init(&one, cx);
        if (entity == SX_ENTITY_PRODUCT) {
            if (h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur) == SX_OK &&
                !sx_str_eq(cur, store_cur)) {
                item_refused(cx, &res[i], SX_E_REJECTED, "the product is priced in " SX_STR_FMT
                             " but the store sells in " SX_STR_FMT, SX_STR_ARG(cur),
                             SX_STR_ARG(store_cur));
                continue;
            }
            if (id.len == 0 && h->json_length(variants) > 1) {
                item_refused(cx, &res[i], SX_E_REJECTED, "a product with %zu variants cannot "
                             "be created from Simplix: WooCommerce needs its attributes; "
                             "create the variable product in WooCommerce, then it syncs both "
                             "ways", h->json_length(variants));
                continue;
            }
            rc = woo_product_body(cx, canon, &one);
        } else {
            rc = woo_customer_body(cx, canon, &one);
        }
        if (rc == SX_OK)
            rc = sxp_buf_done(&one, &text);
        if (rc != SX_OK || text.len < 2 || text.ptr[0] != '{') {
            item_refused(cx, &res[i], rc != SX_OK ? rc : SX_E_INVALID, "the %s cannot be "
                         "written for WooCommerce (%s)", what, sx_status_name(rc));
            continue;
        }
        if (id.len > 0) {
            /* {"id":N, ...the body's members} */
            if (n_update > 0)
                sxp_buf_raw(&updates, ",", 1);
            SXP_RAW(&updates, "{\"id\":");
            sxp_buf_raw(&updates, id.ptr, id.len);
            if (text.len > 2)
                sxp_buf_raw(&updates, ",", 1);
            sxp_buf_raw(&updates, text.ptr + 1, text.len - 1);
            kind[i] = 2;
            pos[i] = n_update++;
        } else {
            if (n_create > 0)
                sxp_buf_raw(&creates, ",", 1);
            sxp_buf_raw(&creates, text.ptr, text.len);
            kind[i] = 1;
            pos[i] = n_create++;
        }
    }
    if (n_create + n_update == 0)
        return SX_OK;                       /* every record refused on its own */
    sxp_buf_raw(&creates, "]", 1);
    sxp_buf_raw(&updates, "]", 1);
    sxp_buf_init(&body, cx);
    SXP_RAW(&body, "{\"create\":");
    sxp_buf_raw(&body, creates.p, creates.len);
    SXP_RAW(&body, ",\"update\":");
    sxp_buf_raw(&body, updates.p, updates.len);
    sxp_buf_raw(&body, "}", 1);
    if (creates.rc != SX_OK || updates.rc != SX_OK || (rc = sxp_buf_done(&body, &text)) != SX_OK)
        return h->fail(cx, SX_E_LIMIT, "the %s batch is too large", what);

    snprintf(rest, sizeof(rest), "%s/batch", path);
    if ((url = woo_api_url(cx, rest)) == NULL)
        return SX_E_LIMIT;
    hr.method = SX_HTTP_POST;
    hr.url = sx_cstr(url);
    hr.body = text;
    hr.content_type = SX_STR("application/json");
    if (n_create > 0)
        hr.flags = SX_HTTP_NO_RETRY;        /* creates have no idempotency key */
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_REJECTED)
        return h->fail(cx, rc, "WooCommerce refused the %s batch: " SX_STR_FMT, what,
                       SX_STR_ARG(woo_error_text(cx, resp)));
    if (rc != SX_OK)
        return rc;
    if (h->json_parse(cx, resp->body, &doc) != SX_OK || h->json_type(doc) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce's answer to the %s batch is not a JSON "
                       "object", what);
    for (i = 0; i < n; i++) {
        if (kind[i] == 0)
            continue;
        arr = h->json_get(doc, kind[i] == 1 ? "create" : "update");
        rec = h->json_at(arr, pos[i]);
        if (h->json_type(rec) != SX_JSON_OBJECT) {
            item_refused(cx, &res[i], SX_E_TRANSIENT, "WooCommerce's batch answer has no "
                         "entry for this %s", what);
            continue;
        }
        if ((e = h->json_get(rec, "error")) != NULL) {
            if (h->json_string(h->json_get(e, "message"), &msg) != SX_OK)
                msg = SX_STR("no message");
            item_refused(cx, &res[i], SX_E_REJECTED, "WooCommerce refused the %s: " SX_STR_FMT,
                         what, SX_STR_ARG(msg));
            continue;
        }
        if (woo_record_id(cx, rec, &res[i].external_id) != SX_OK ||
            sx_str_eq_cstr(res[i].external_id, "0")) {
            item_refused(cx, &res[i], SX_E_PROTOCOL, "WooCommerce's batch answer for this %s "
                         "has no id", what);
            continue;
        }
        (void)woo_record_modified(cx, rec, &res[i].external_updated_at);
        sxp_buf_init(&one, cx);            /* the record as the store now has it */
        if (woo_map_record(cx, entity, rec, &one) == SX_OK)
            (void)sxp_buf_done(&one, &res[i].canonical_json);
        if (entity == SX_ENTITY_PRODUCT && kind[i] == 2 &&
            h->json_parse(cx, in[i], &canon) == SX_OK &&
            h->json_length(variants = h->json_get(canon, SX_K_VARIANTS)) > 1 &&
            (rc = push_variations(cx, res[i].external_id, variants, store_cur)) != SX_OK)
            item_refused(cx, &res[i], rc, "the variations of product " SX_STR_FMT " were not "
                         "written (%s)", SX_STR_ARG(res[i].external_id), sx_status_name(rc));
    }
    return SX_OK;
}

static int
woo_push_customers(sx_ctx *cx, const sx_str *in, uint32_t n, sx_push_res *res)
{
    return woo_push_batch(cx, SX_ENTITY_CUSTOMER, in, n, res);
}

static int
woo_push_products(sx_ctx *cx, const sx_str *in, uint32_t n, sx_push_res *res)
{
    return woo_push_batch(cx, SX_ENTITY_PRODUCT, in, n, res);
}

/* ---- descriptor -------------------------------------------------------------------------------- */

static const sx_entity_ops woo_customers = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_CUSTOMER,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT,
    .list       = woo_list,
    .push       = woo_push_customer,
    .max_batch  = WOO_MAX_PER_PAGE,
    .push_batch = woo_push_customers,
};

static const sx_entity_ops woo_products = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_PRODUCT,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT,
    .list       = woo_list,
    .push       = woo_push_product,
    .max_batch  = WOO_MAX_PER_PAGE,
    .push_batch = woo_push_products,
};

static const sx_entity_ops woo_orders = {
    .hdr        = SX_HEADER_INIT(sx_entity_ops),
    .entity     = SX_ENTITY_ORDER,
    .directions = SX_DIR_IMPORT,
    .list       = woo_list,
};

static const sx_entity_ops *woo_entities[] = { &woo_customers, &woo_products, &woo_orders,
                                               NULL };

/*
 * No SX_CAP_DELETES: the listings never show deleted records; deletes arrive as the
 * *.deleted webhooks (emit_change SX_OP_DELETE).
 */
static const sx_connector woocommerce = {
    .hdr             = SX_HEADER_INIT(sx_connector),
    .id              = "woocommerce",
    .display_name    = "WooCommerce",
    .version         = WOO_CONNECTOR_VERSION,
    .license         = "MIT",
    .auth_kind       = SX_AUTH_API_KEY,
    .caps            = SX_CAP_INCREMENTAL | SX_CAP_WEBHOOKS,
    .config          = woo_config,
    .entities        = woo_entities,
    .auth            = &woo_auth_ops,
    .webhook         = &woo_webhook_ops,
    .instance_new    = woo_instance_new,
    .instance_free   = woo_instance_free,
    .test_connection = woo_test_connection,
};

SX_CONNECTOR_DEFINE(woocommerce)
