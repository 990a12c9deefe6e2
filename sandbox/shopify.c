/*
 * Shopify imitation: module registration, options, routing, access-token auth, the leaky
 * bucket (platforms.md 1.6) and the Shopify part of the control API (merchant actions).
 */
#include "shopify.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <json-c/json.h>

int  shp_apply_customer(struct shp_state *st, struct shp_customer *c, struct json_object *o,
                        struct sbx_resp *resp);
int  shp_apply_product(struct shp_state *st, struct shp_product *pr, struct json_object *o,
                       struct sbx_resp *resp, int64_t now);
bool shp_scope_ok(const char *granted, const char *rest, enum sbx_method m);

/* ------------------------------------------------------------------ options */

static int
opt_copy(char *dst, size_t cap, const char *v, const char *name)
{
    if (strlen(v) >= cap || v[0] == '\0') {
        fprintf(stderr, "--%s: value empty or too long\n", name);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

static int
opt_shop(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_copy(st->shop_domain, sizeof(st->shop_domain), v, "shopify-shop");
}

static int
opt_api_key(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_copy(st->api_key, sizeof(st->api_key), v, "shopify-api-key");
}

static int
opt_api_secret(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_copy(st->api_secret, sizeof(st->api_secret), v, "shopify-api-secret");
}

static int
opt_token(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_copy(st->static_token, sizeof(st->static_token), v, "shopify-access-token");
}

static int
opt_currency(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;
    static char       cur[4];

    if (strlen(v) != 3) {
        fprintf(stderr, "--shopify-currency: expected a 3-letter code\n");
        return -1;
    }
    snprintf(cur, sizeof(cur), "%s", v);
    st->currency = cur;
    return 0;
}

static int
opt_offset(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;
    int64_t           h;
    int64_t           m = 0;
    char              buf[8];
    int               sign = 1;
    const char       *s = v;

    /* "+HH:MM" / "-HH:MM" */
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (strlen(s) != 5 || s[2] != ':')
        goto bad;
    memcpy(buf, s, 2);
    buf[2] = '\0';
    if (sbx_parse_i64(buf, 0, 14, &h) < 0)
        goto bad;
    memcpy(buf, s + 3, 2);
    buf[2] = '\0';
    if (sbx_parse_i64(buf, 0, 59, &m) < 0)
        goto bad;
    st->utc_offset_min = sign * (int)(h * 60 + m);
    return 0;
bad:
    fprintf(stderr, "--shopify-utc-offset: expected +HH:MM or -HH:MM\n");
    return -1;
}

static int
opt_double(const char *v, const char *name, double lo, double hi, double *out)
{
    char  *end;
    double d = strtod(v, &end);

    if (*end != '\0' || !(d >= lo) || !(d <= hi)) {
        fprintf(stderr, "--%s: expected a number in [%g, %g]\n", name, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

static int
opt_bucket(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_double(v, "shopify-bucket-size", 1, 1e9, &st->bucket_size);
}

static int
opt_leak(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_double(v, "shopify-leak-rate", 0.001, 1e9, &st->leak_rate);
}

static int
opt_expiring(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    (void)v;
    st->expiring_tokens = true;
    return 0;
}

static int
opt_ttl(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;
    int64_t           n;

    if (sbx_parse_i64(v, 1, 86400 * 365, &n) < 0) {
        fprintf(stderr, "--shopify-token-ttl: expected seconds\n");
        return -1;
    }
    st->token_ttl_s = (int)n;
    return 0;
}

static int
opt_version(struct sbx_platform *p, const char *v)
{
    struct shp_state *st = p->state;

    return opt_copy(st->default_version, sizeof(st->default_version), v, "shopify-api-version");
}

static const struct sbx_option shopify_options[] = {
    {"shopify-shop", "DOMAIN", "shop domain (default sandbox-shop.myshopify.com)", opt_shop},
    {"shopify-api-key", "KEY", "app client id for OAuth (default sandbox-api-key)",
     opt_api_key},
    {"shopify-api-secret", "SECRET",
     "app client secret: signs OAuth redirects and webhooks (default sandbox-api-secret)",
     opt_api_secret},
    {"shopify-access-token", "TOKEN",
     "a non-expiring admin token with every scope (default shpat_sandbox)", opt_token},
    {"shopify-currency", "CODE", "shop currency (default USD)", opt_currency},
    {"shopify-utc-offset", "+HH:MM", "shop UTC offset used in every timestamp (default -05:00)",
     opt_offset},
    {"shopify-bucket-size", "N", "leaky bucket capacity in requests (default 40)", opt_bucket},
    {"shopify-leak-rate", "R", "bucket leak in requests per second (default 2)", opt_leak},
    {"shopify-expiring-tokens", NULL,
     "OAuth issues expiring offline tokens (1 h) with rotating refresh tokens; without it a "
     "code exchange can still opt in with \"expiring\":1", opt_expiring},
    {"shopify-token-ttl", "SECONDS", "lifetime of expiring access tokens (default 3600)",
     opt_ttl},
    {"shopify-api-version", "YYYY-MM",
     "version served for unversioned /admin/*.json paths (default 2025-01)", opt_version},
    {NULL, NULL, NULL, NULL}
};

/* ------------------------------------------------------------------ lifecycle */

static int
shopify_create(struct sbx_platform *p)
{
    struct shp_state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return -1;
    snprintf(st->shop_domain, sizeof(st->shop_domain), "sandbox-shop.myshopify.com");
    snprintf(st->shop_name, sizeof(st->shop_name), "Sandbox Shop — Café & Co");
    snprintf(st->api_key, sizeof(st->api_key), "sandbox-api-key");
    snprintf(st->api_secret, sizeof(st->api_secret), "sandbox-api-secret");
    snprintf(st->static_token, sizeof(st->static_token), "shpat_sandbox");
    snprintf(st->default_version, sizeof(st->default_version), "2025-01");
    st->currency = "USD";
    st->utc_offset_min = -300;
    st->bucket_size = 40;
    st->leak_rate = 2;
    st->token_ttl_s = 3600;
    st->refresh_ttl_s = 90LL * 86400;
    p->state = st;
    return 0;
}

static int
shopify_start(struct sbx_platform *p)
{
    struct shp_state *st = p->state;

    if (strlen(st->static_token) >= sizeof(st->static_tok.value)) {
        fprintf(stderr, "--shopify-access-token: at most %zu characters\n",
                sizeof(st->static_tok.value) - 1);
        return -1;
    }
    memcpy(st->static_tok.value, st->static_token, strlen(st->static_token) + 1);
    st->static_tok.scope[0] = '\0';
    return shp_seed(p, st);
}

static void
shopify_destroy(struct sbx_platform *p)
{
    struct shp_state *st = p->state;

    if (st == NULL)
        return;
    shp_free_data(st);
    shp_free_subs(st);
    shp_free_auth(st);
    free(st);
    p->state = NULL;
}

static int
shopify_reset(struct sbx_platform *p)
{
    struct shp_state *st = p->state;

    shp_free_data(st);
    shp_free_subs(st);
    shp_free_auth(st);
    st->static_tok.bucket_level = 0;
    return shp_seed(p, st);
}

static void
shopify_state(struct sbx_platform *p, struct sbx_jw *w)
{
    struct shp_state *st = p->state;
    size_t            i;
    size_t            live;

    sbx_jw_kstr(w, "shop", st->shop_domain);
    sbx_jw_kstr(w, "api_key", st->api_key);
    sbx_jw_kbool(w, "expiring_tokens", st->expiring_tokens);
    for (i = 0, live = 0; i < st->ncustomers; i++)
        live += !st->customers[i].deleted;
    sbx_jw_ki64(w, "customers", (int64_t)live);
    for (i = 0, live = 0; i < st->nproducts; i++)
        live += !st->products[i].deleted;
    sbx_jw_ki64(w, "products", (int64_t)live);
    for (i = 0, live = 0; i < st->norders; i++)
        live += !st->orders[i].deleted;
    sbx_jw_ki64(w, "orders", (int64_t)live);
    sbx_jw_ki64(w, "webhook_subscriptions", (int64_t)st->nsubs);
    sbx_jw_ki64(w, "tokens", (int64_t)st->ntokens);
    sbx_jw_key(w, "bucket");
    sbx_jw_obj(w);
    sbx_jw_key(w, "size");
    sbx_jw_dbl(w, st->bucket_size);
    sbx_jw_key(w, "leak_per_s");
    sbx_jw_dbl(w, st->leak_rate);
    sbx_jw_obj_end(w);
}

/* ------------------------------------------------------------------ bucket */

static int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Returns 0 and sets the call-limit header, or writes the 429 (platforms.md 1.6). */
static int
bucket_take(struct shp_state *st, struct shp_token *t, struct sbx_resp *resp)
{
    int64_t now = mono_us();
    double  level;
    char    hdr[64];

    level = t->bucket_level - (double)(now - t->bucket_t_us) / 1e6 * st->leak_rate;
    if (t->bucket_t_us == 0 || level < 0)
        level = 0;
    t->bucket_t_us = now;
    if (level + 1 > st->bucket_size + 1e-9) {
        double wait = (level + 1 - st->bucket_size) / st->leak_rate;

        t->bucket_level = level;
        snprintf(hdr, sizeof(hdr), "%.0f/%.0f", st->bucket_size, st->bucket_size);
        sbx_resp_header(resp, "X-Shopify-Shop-Api-Call-Limit", hdr);
        snprintf(hdr, sizeof(hdr), "%.1f", wait < 0.1 ? 0.1 : wait);
        sbx_resp_header(resp, "Retry-After", hdr);
        shp_error(resp, 429, "\"Exceeded 2 calls per second for api client. Reduce request "
                             "rates to resume uninterrupted service.\"");
        return -1;
    }
    t->bucket_level = level + 1;
    snprintf(hdr, sizeof(hdr), "%.0f/%.0f", ceil(t->bucket_level), st->bucket_size);
    sbx_resp_header(resp, "X-Shopify-Shop-Api-Call-Limit", hdr);
    return 0;
}

/* ------------------------------------------------------------------ routing */

/* "2024-10", "unstable": well-formed quarterly versions only. */
static bool
version_ok(const char *v, size_t len)
{
    int64_t y;
    char    buf[8];

    if (len == 8 && strncmp(v, "unstable", 8) == 0)
        return true;
    if (len != 7 || v[4] != '-')
        return false;
    memcpy(buf, v, 4);
    buf[4] = '\0';
    if (sbx_parse_i64(buf, 2019, 2100, &y) < 0)
        return false;
    return strncmp(v + 5, "01", 2) == 0 || strncmp(v + 5, "04", 2) == 0 ||
           strncmp(v + 5, "07", 2) == 0 || strncmp(v + 5, "10", 2) == 0;
}

static void
shopify_handle(struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    struct shp_state *st = p->state;
    const char       *path = req->path;
    const char       *rest;
    const char       *slash;
    const char       *token;
    struct shp_token *t;
    char              version[16];
    char              reqid[40];
    struct sbx_rng    r;

    sbx_rng_init(&r, req->seq, "shopify-request-id", 0);
    sbx_rng_token(&r, "", 32, reqid, sizeof(reqid));
    sbx_resp_header(resp, "X-Request-Id", reqid);

    if (strncmp(path, "/admin/oauth/", 13) == 0) {
        shp_handle_oauth(p, st, req, resp, path + 13);
        return;
    }
    if (strncmp(path, "/admin/api/", 11) == 0) {
        slash = strchr(path + 11, '/');
        if (slash == NULL || !version_ok(path + 11, (size_t)(slash - (path + 11)))) {
            shp_error(resp, 404, "\"Not Found\"");
            return;
        }
        snprintf(version, sizeof(version), "%.*s", (int)(slash - (path + 11)), path + 11);
        rest = slash + 1;
    } else if (strncmp(path, "/admin/", 7) == 0) {
        /* Unversioned paths are served by a default version. */
        snprintf(version, sizeof(version), "%s", st->default_version);
        rest = path + 7;
    } else {
        shp_error(resp, 404, "\"Not Found\"");
        return;
    }
    sbx_resp_header(resp, "X-Shopify-API-Version", version);

    token = sbx_req_header(req, "X-Shopify-Access-Token");
    t = token != NULL ? shp_token_lookup(st, token, sbx_now(p->sbx)) : NULL;
    if (t == NULL) {
        shp_error(resp, 401, "\"[API] Invalid API key or access token (unrecognized login or "
                             "wrong password)\"");
        return;
    }
    if (bucket_take(st, t, resp) < 0)
        return;
    if (!shp_scope_ok(t->scope[0] ? t->scope : NULL, rest, req->method)) {
        shp_error(resp, 403, "\"[API] This action requires merchant approval for the needed "
                             "scope.\"");
        return;
    }
    shp_handle_api(p, st, req, resp, version, rest);
}

static void
shopify_fault_reply(struct sbx_platform *p, struct sbx_req *req, const char *kind, int status,
                    struct sbx_resp *resp)
{
    struct shp_state *st = p->state;
    char              hdr[64];

    (void)req;
    if (strcmp(kind, "429") == 0) {
        snprintf(hdr, sizeof(hdr), "%.0f/%.0f", st->bucket_size, st->bucket_size);
        sbx_resp_header(resp, "X-Shopify-Shop-Api-Call-Limit", hdr);
        sbx_resp_header(resp, "Retry-After", "2.0");
        shp_error(resp, 429, "\"Exceeded 2 calls per second for api client. Reduce request "
                             "rates to resume uninterrupted service.\"");
        return;
    }
    shp_error(resp, status, status == 503 ? "\"Service Unavailable\""
                                          : "\"Internal Server Error\"");
}

/* ------------------------------------------------------------------ control (merchant) */

static int
ctl_id(const char *s, const char *prefix, int64_t *id, const char **tail)
{
    size_t n = strlen(prefix);
    char   num[32];
    size_t len = 0;

    if (strncmp(s, prefix, n) != 0 || s[n] != '/')
        return -1;
    s += n + 1;
    while (s[len] >= '0' && s[len] <= '9' && len < sizeof(num) - 1) {
        num[len] = s[len];
        len++;
    }
    num[len] = '\0';
    if (len == 0 || sbx_parse_i64(num, 1, INT64_MAX, id) < 0)
        return -1;
    *tail = s + len;
    return 0;
}

static void
ctl_reply_record(struct sbx_resp *resp, struct shp_state *st, const char *root, int kind,
                 const void *rec)
{
    struct sbx_jw w;

    shp_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, root);
    if (kind == SHP_CUSTOMER)
        shp_render_customer(&w, st, rec);
    else if (kind == SHP_PRODUCT)
        shp_render_product(&w, st, rec);
    else
        shp_render_order(&w, st, rec);
    sbx_jw_obj_end(&w);
}

static struct json_object *
ctl_body(struct sbx_req *req, const char *root)
{
    struct json_object *whole = sbx_req_json(req);
    struct json_object *inner;

    if (whole == NULL)
        return json_object_new_object();
    if (json_object_object_get_ex(whole, root, &inner)) {
        json_object_get(inner);
        json_object_put(whole);
        return inner;
    }
    return whole;
}

static int
ctl_customers(struct sbx_platform *p, struct shp_state *st, const char *action,
              struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t              now = sbx_now(p->sbx);
    int64_t              id;
    const char          *tail;
    struct shp_customer *c;
    struct json_object  *o;

    if (strcmp(action, "customers") == 0 && req->method == SBX_POST) {
        c = shp_new_customer(st, now);
        if (c == NULL)
            return -1;
        o = ctl_body(req, "customer");
        if (shp_apply_customer(st, c, o, resp) < 0) {
            c->deleted = true;
            json_object_put(o);
            return 0;
        }
        json_object_put(o);
        resp->status = 201;
        ctl_reply_record(resp, st, "customer", SHP_CUSTOMER, c);
        shp_emit(p, st, "customers/create", SHP_CUSTOMER, c, NULL);
        return 0;
    }
    if (ctl_id(action, "customers", &id, &tail) < 0 || *tail != '\0')
        return -1;
    c = shp_find_customer(st, id);
    if (c == NULL || c->deleted) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such customer\"}");
        return 0;
    }
    if (req->method == SBX_DELETE) {
        c->deleted = true;
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        shp_emit(p, st, "customers/delete", SHP_DELETED, &c->id, NULL);
        return 0;
    }
    if (req->method != SBX_POST)
        return -1;
    o = ctl_body(req, "customer");
    if (json_object_object_length(o) == 0) {
        /* An edit with no body: the merchant adds a note. */
        free(c->note);
        c->note = strdup("Edited by the merchant in the sandbox");
    } else if (shp_apply_customer(st, c, o, resp) < 0) {
        json_object_put(o);
        return 0;
    }
    json_object_put(o);
    c->updated_at = now;
    ctl_reply_record(resp, st, "customer", SHP_CUSTOMER, c);
    shp_emit(p, st, "customers/update", SHP_CUSTOMER, c, NULL);
    return 0;
}

static int
ctl_products(struct sbx_platform *p, struct shp_state *st, const char *action,
             struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t             now = sbx_now(p->sbx);
    int64_t             id;
    const char         *tail;
    struct shp_product *pr;
    struct json_object *o;

    if (strcmp(action, "products") == 0 && req->method == SBX_POST) {
        pr = shp_new_product(st, now, 2);
        if (pr == NULL)
            return -1;
        pr->status = "active";
        pr->published_at = now;
        o = ctl_body(req, "product");
        if (shp_apply_product(st, pr, o, resp, now) < 0) {
            pr->deleted = true;
            json_object_put(o);
            return 0;
        }
        json_object_put(o);
        resp->status = 201;
        ctl_reply_record(resp, st, "product", SHP_PRODUCT, pr);
        shp_emit(p, st, "products/create", SHP_PRODUCT, pr, NULL);
        return 0;
    }
    if (ctl_id(action, "products", &id, &tail) < 0 || *tail != '\0')
        return -1;
    pr = shp_find_product(st, id);
    if (pr == NULL || pr->deleted) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such product\"}");
        return 0;
    }
    if (req->method == SBX_DELETE) {
        pr->deleted = true;
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        shp_emit(p, st, "products/delete", SHP_DELETED, &pr->id, NULL);
        return 0;
    }
    if (req->method != SBX_POST)
        return -1;
    o = ctl_body(req, "product");
    if (json_object_object_length(o) == 0) {
        pr->variants[0].price += 100;
        pr->variants[0].updated_at = now;
    } else if (shp_apply_product(st, pr, o, resp, now) < 0) {
        json_object_put(o);
        return 0;
    }
    json_object_put(o);
    pr->updated_at = now;
    ctl_reply_record(resp, st, "product", SHP_PRODUCT, pr);
    shp_emit(p, st, "products/update", SHP_PRODUCT, pr, NULL);
    return 0;
}

static int
ctl_inventory(struct sbx_platform *p, struct shp_state *st, const char *action,
              struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t             id;
    const char         *tail;
    struct shp_variant *v;
    struct json_object *o;
    struct json_object *x;
    char                msg[160];

    if (ctl_id(action, "variants", &id, &tail) < 0 || strcmp(tail, "/inventory") != 0 ||
        req->method != SBX_POST)
        return -1;
    v = shp_find_variant(st, id, NULL);
    if (v == NULL) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such variant\"}");
        return 0;
    }
    o = ctl_body(req, "inventory");
    if (json_object_object_get_ex(o, "available", &x))
        v->inventory_quantity = json_object_get_int64(x);
    else if (json_object_object_get_ex(o, "adjust", &x))
        v->inventory_quantity += json_object_get_int64(x);
    else
        v->inventory_quantity -= 1;
    json_object_put(o);
    /* platforms.md 1.5: stock changes do not bump products.updated_at. */
    v->inventory_updated_at = sbx_now(p->sbx);
    snprintf(msg, sizeof(msg), "{\"inventory_item_id\":%" PRId64 ",\"available\":%" PRId64 "}",
             v->inventory_item_id, v->inventory_quantity);
    sbx_resp_json(resp, 200, msg);
    shp_emit(p, st, "inventory_levels/update", SHP_INVENTORY, v, NULL);
    return 0;
}

static int
ctl_orders(struct sbx_platform *p, struct shp_state *st, const char *action,
           struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t             now = sbx_now(p->sbx);
    int64_t             id;
    const char         *tail;
    struct shp_order   *o;
    struct json_object *body;
    struct json_object *x;

    if (strcmp(action, "orders") == 0 && req->method == SBX_POST) {
        o = shp_new_order(st, now);
        if (o == NULL)
            return -1;
        body = ctl_body(req, "order");
        if (json_object_object_get_ex(body, "financial_status", &x) &&
            (strcmp(json_object_get_string(x), "pending") == 0 ||
             strcmp(json_object_get_string(x), "paid") == 0))
            o->financial_status = strcmp(json_object_get_string(x), "paid") == 0 ? "paid"
                                                                                 : "pending";
        if (json_object_object_get_ex(body, "note", &x)) {
            free(o->note);
            o->note = strdup(json_object_get_string(x));
        }
        json_object_put(body);
        if (o->nrefunds > 0 || strcmp(o->financial_status, "voided") == 0)
            o->financial_status = "paid";
        resp->status = 201;
        ctl_reply_record(resp, st, "order", SHP_ORDER, o);
        shp_emit(p, st, "orders/create", SHP_ORDER, o, NULL);
        if (strcmp(o->financial_status, "paid") == 0)
            shp_emit(p, st, "orders/paid", SHP_ORDER, o, NULL);
        return 0;
    }
    if (ctl_id(action, "orders", &id, &tail) < 0)
        return -1;
    o = shp_find_order(st, id);
    if (o == NULL || o->deleted) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such order\"}");
        return 0;
    }
    if (*tail == '\0' && req->method == SBX_DELETE) {
        o->deleted = true;
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        shp_emit(p, st, "orders/delete", SHP_DELETED, &o->id, NULL);
        return 0;
    }
    if (req->method != SBX_POST)
        return -1;
    if (*tail == '\0') {
        body = ctl_body(req, "order");
        if (json_object_object_get_ex(body, "note", &x)) {
            free(o->note);
            o->note = strdup(json_object_get_string(x));
        } else if (json_object_object_get_ex(body, "tags", &x)) {
            free(o->tags);
            o->tags = strdup(json_object_get_string(x));
        } else if (json_object_object_get_ex(body, "email", &x)) {
            free(o->email);
            o->email = strdup(json_object_get_string(x));
        } else {
            free(o->note);
            o->note = strdup("Edited by the merchant in the sandbox");
        }
        json_object_put(body);
    } else if (strcmp(tail, "/pay") == 0) {
        o->financial_status = "paid";
    } else if (strcmp(tail, "/fulfill") == 0) {
        size_t i;

        o->fulfillment_status = "fulfilled";
        for (i = 0; i < o->nlines; i++)
            o->lines[i].fulfilled = o->lines[i].quantity;
    } else if (strcmp(tail, "/cancel") == 0) {
        if (o->cancelled_at != 0) {
            sbx_resp_json(resp, 422, "{\"error\":\"order already cancelled\"}");
            return 0;
        }
        o->cancelled_at = now;
        o->closed_at = now;
        o->cancel_reason = "customer";
        if (strcmp(o->financial_status, "authorized") == 0 ||
            strcmp(o->financial_status, "pending") == 0)
            o->financial_status = "voided";
    } else if (strcmp(tail, "/close") == 0) {
        o->closed_at = now;
    } else if (strcmp(tail, "/refund") == 0) {
        int64_t line = 0;
        int64_t qty = 1;

        body = ctl_body(req, "refund");
        if (json_object_object_get_ex(body, "line", &x))
            line = json_object_get_int64(x);
        if (json_object_object_get_ex(body, "quantity", &x))
            qty = json_object_get_int64(x);
        json_object_put(body);
        if (line < 0 || line > 1000 || qty < 1 || qty > 100000 ||
            shp_order_refund(st, o, (int)line, (int)qty, now) < 0) {
            sbx_resp_json(resp, 422, "{\"error\":\"nothing left to refund on that line\"}");
            return 0;
        }
    } else {
        return -1;
    }
    o->updated_at = now;
    ctl_reply_record(resp, st, "order", SHP_ORDER, o);
    if (strcmp(tail, "/pay") == 0)
        shp_emit(p, st, "orders/paid", SHP_ORDER, o, NULL);
    else if (strcmp(tail, "/fulfill") == 0)
        shp_emit(p, st, "orders/fulfilled", SHP_ORDER, o, NULL);
    else if (strcmp(tail, "/cancel") == 0)
        shp_emit(p, st, "orders/cancelled", SHP_ORDER, o, NULL);
    else if (strcmp(tail, "/refund") == 0)
        shp_emit(p, st, "refunds/create", SHP_REFUND, o, &o->refunds[o->nrefunds - 1]);
    shp_emit(p, st, "orders/updated", SHP_ORDER, o, NULL);
    return 0;
}

/* Many records get the same updated_at second, as after a merchant's bulk edit. */
static int
ctl_bulk_touch(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
               struct sbx_resp *resp)
{
    struct json_object *body = ctl_body(req, "bulk");
    struct json_object *x;
    const char         *entity = "orders";
    int64_t             n = 100;
    int64_t             now = sbx_now(p->sbx);
    int64_t             done = 0;
    size_t              i;
    char                msg[128];

    if (json_object_object_get_ex(body, "entity", &x))
        entity = json_object_get_string(x);
    if (json_object_object_get_ex(body, "count", &x))
        n = json_object_get_int64(x);
    if (strcmp(entity, "orders") == 0) {
        for (i = 0; i < st->norders && done < n; i++) {
            if (!st->orders[i].deleted) {
                st->orders[i].updated_at = now;
                done++;
            }
        }
    } else if (strcmp(entity, "customers") == 0) {
        for (i = 0; i < st->ncustomers && done < n; i++) {
            if (!st->customers[i].deleted) {
                st->customers[i].updated_at = now;
                done++;
            }
        }
    } else if (strcmp(entity, "products") == 0) {
        for (i = 0; i < st->nproducts && done < n; i++) {
            if (!st->products[i].deleted) {
                st->products[i].updated_at = now;
                done++;
            }
        }
    } else {
        json_object_put(body);
        sbx_resp_json(resp, 400, "{\"error\":\"entity: orders, customers or products\"}");
        return 0;
    }
    json_object_put(body);
    snprintf(msg, sizeof(msg), "{\"ok\":true,\"touched\":%" PRId64 ",\"updated_at\":%" PRId64 "}",
             done, now);
    sbx_resp_json(resp, 200, msg);
    return 0;
}

static int
shopify_control(struct sbx_platform *p, const char *action, struct sbx_req *req,
                struct sbx_resp *resp)
{
    struct shp_state *st = p->state;
    struct sbx_jw     w;
    size_t            i;

    if (strncmp(action, "customers", 9) == 0)
        return ctl_customers(p, st, action, req, resp);
    if (strncmp(action, "products", 8) == 0)
        return ctl_products(p, st, action, req, resp);
    if (strncmp(action, "variants", 8) == 0)
        return ctl_inventory(p, st, action, req, resp);
    if (strncmp(action, "orders", 6) == 0)
        return ctl_orders(p, st, action, req, resp);
    if (strcmp(action, "bulk-touch") == 0 && req->method == SBX_POST)
        return ctl_bulk_touch(p, st, req, resp);
    if (strcmp(action, "webhooks") == 0 && req->method == SBX_GET) {
        shp_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "webhooks");
        sbx_jw_arr(&w);
        for (i = 0; i < st->nsubs; i++)
            shp_render_sub(&w, st, &st->subs[i], true);
        sbx_jw_arr_end(&w);
        sbx_jw_obj_end(&w);
        return 0;
    }
    if (strcmp(action, "uninstall") == 0 && req->method == SBX_POST) {
        shp_emit(p, st, "app/uninstalled", SHP_SHOP, NULL, NULL);
        shp_revoke_tokens(st);
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        return 0;
    }
    if (strcmp(action, "tokens/expire") == 0 && req->method == SBX_POST) {
        shp_expire_tokens(st, sbx_now(p->sbx));
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        return 0;
    }
    if (strcmp(action, "oauth/sign-query") == 0 && req->method == SBX_POST) {
        /* The callback HMAC of a query string (body), exactly as the authorize redirect is
         * signed: for checks against the published vector. */
        struct evkeyvalq q;
        struct evkeyval *kv;
        struct sbx_kv    params[32];
        size_t           n = 0;
        char             hex[65];

        TAILQ_INIT(&q);
        if (evhttp_parse_query_str(req->body, &q) < 0) {
            evhttp_clear_headers(&q);
            sbx_resp_json(resp, 400, "{\"error\":\"body must be a query string\"}");
            return 0;
        }
        TAILQ_FOREACH(kv, &q, next) {
            if (n < 32)
                params[n++] = (struct sbx_kv){kv->key, kv->value};
        }
        shp_oauth_hmac(st->api_secret, params, n, hex);
        evhttp_clear_headers(&q);
        shp_json_headers(resp);
        sbx_resp_printf(resp, "{\"hmac\":\"%s\"}", hex);
        return 0;
    }
    if (strcmp(action, "sign") == 0 && req->method == SBX_POST) {
        /* Sign arbitrary bytes with the app secret, as webhooks are: for vector checks. */
        unsigned char mac[32];
        char          b64[64];
        char          hex[65];

        sbx_hmac_sha256(st->api_secret, strlen(st->api_secret), req->body, req->body_len, mac);
        sbx_b64_encode(mac, 32, b64, sizeof(b64));
        sbx_hex_encode(mac, 32, hex);
        shp_json_headers(resp);
        sbx_resp_printf(resp, "{\"base64\":\"%s\",\"hex\":\"%s\"}", b64, hex);
        return 0;
    }
    return -1;
}

static const struct sbx_platform_ops shopify_ops = {
    .name = "shopify",
    .title = "Shopify REST Admin API, OAuth app install, webhooks",
    .options = shopify_options,
    .create = shopify_create,
    .start = shopify_start,
    .handle = shopify_handle,
    .control = shopify_control,
    .state = shopify_state,
    .reset = shopify_reset,
    .fault_reply = shopify_fault_reply,
    .destroy = shopify_destroy,
};
SBX_PLATFORM_REGISTER(shopify_ops)
