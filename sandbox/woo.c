/*
 * WooCommerce imitation: module registration, options, routing (/wp-json/wc/v3/,
 * ?rest_route=, /wc-auth/v1/), fault answers shaped like a WordPress host's, and the
 * WooCommerce part of the control API (merchant actions that fire webhooks).
 */
#include "woo.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* ------------------------------------------------------------------ options */

static int
opt_key(char *dst, size_t cap, const char *v, const char *prefix, const char *name)
{
    if (strncmp(v, prefix, 3) != 0 || strlen(v) >= cap || strlen(v) < 4) {
        fprintf(stderr, "--%s: expected %s... (at most %zu characters)\n", name, prefix,
                cap - 1);
        return -1;
    }
    snprintf(dst, cap, "%s", v);
    return 0;
}

static int
opt_ck(struct sbx_platform *p, const char *v)
{
    struct woo_state *st = p->state;

    return opt_key(st->ck, sizeof(st->ck), v, "ck_", "woo-consumer-key");
}

static int
opt_cs(struct sbx_platform *p, const char *v)
{
    struct woo_state *st = p->state;

    return opt_key(st->cs, sizeof(st->cs), v, "cs_", "woo-consumer-secret");
}

static int
opt_offset(struct sbx_platform *p, const char *v)
{
    struct woo_state *st = p->state;
    int64_t           t;
    char              buf[48];

    /* Reuse the ISO parser: "+HH:MM" -> the offset of a fixed instant. */
    if ((v[0] != '+' && v[0] != '-') || strlen(v) != 6 ||
        snprintf(buf, sizeof(buf), "2024-01-01T00:00:00%s", v) >= (int)sizeof(buf) ||
        sbx_time_parse(buf, 0, &t) < 0) {
        fprintf(stderr, "--woo-utc-offset: expected +HH:MM or -HH:MM\n");
        return -1;
    }
    st->utc_offset_min = (int)((1704067200LL - t) / 60);
    return 0;
}

static int
opt_currency(struct sbx_platform *p, const char *v)
{
    struct woo_state *st = p->state;
    static char       cur[4];

    if (strlen(v) != 3) {
        fprintf(stderr, "--woo-currency: expected a 3-letter code\n");
        return -1;
    }
    snprintf(cur, sizeof(cur), "%s", v);
    st->currency = cur;
    return 0;
}

static int
opt_old(struct sbx_platform *p, const char *v)
{
    struct woo_state *st = p->state;

    (void)v;
    st->old_store = true;
    return 0;
}

static int
opt_failures(struct sbx_platform *p, const char *v)
{
    struct woo_state *st = p->state;
    int64_t           n;

    if (sbx_parse_i64(v, 0, 1000, &n) < 0) {
        fprintf(stderr, "--woo-max-failures: expected 0..1000\n");
        return -1;
    }
    st->max_failures = (int)n;
    return 0;
}

static const struct sbx_option woo_options[] = {
    {"woo-consumer-key", "CK",
     "REST API consumer key, read_write (default ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c)",
     opt_ck},
    {"woo-consumer-secret", "CS",
     "its secret (default cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432)", opt_cs},
    {"woo-utc-offset", "+HH:MM", "site time zone of the date_x fields (default +00:00)",
     opt_offset},
    {"woo-currency", "CODE", "store currency (default USD)", opt_currency},
    {"woo-old-store", NULL,
     "behave as an old store: modified_after/modified_before silently ignored", opt_old},
    {"woo-max-failures", "N",
     "woocommerce_max_webhook_delivery_failures: a failure with failure_count already above N"
     " disables the webhook (default 5)", opt_failures},
    {NULL, NULL, NULL, NULL}
};

/* ------------------------------------------------------------------ lifecycle */

static int
woo_create(struct sbx_platform *p)
{
    struct woo_state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return -1;
    snprintf(st->ck, sizeof(st->ck), "ck_1b7e7c1f3a5d9e2b4c6a8f0d2e4b6c8a0f1e3d5c");
    snprintf(st->cs, sizeof(st->cs), "cs_9f8e7d6c5b4a39281706f5e4d3c2b1a098765432");
    st->currency = "USD";
    st->max_failures = 5;
    st->base_url = p->base_url;     /* filled in once the listener is bound */
    p->state = st;
    return 0;
}

static void
free_keys(struct woo_state *st)
{
    size_t i;

    for (i = 0; i < st->nkeys; i++) {
        free(st->keys[i].nonces);
        free(st->keys[i].nonce_ts);
    }
    st->nkeys = 0;
    st->ntickets = 0;
}

static int
seed_all(struct sbx_platform *p, struct woo_state *st)
{
    if (woo_add_key(st, st->ck, st->cs, "read_write", "sandbox") == NULL)
        return -1;
    return woo_seed(p, st);
}

static int
woo_start(struct sbx_platform *p)
{
    return seed_all(p, p->state);
}

static void
woo_destroy(struct sbx_platform *p)
{
    struct woo_state *st = p->state;

    if (st == NULL)
        return;
    woo_free_data(st);
    free_keys(st);
    free(st);
    p->state = NULL;
}

static int
woo_reset(struct sbx_platform *p)
{
    struct woo_state *st = p->state;
    size_t            i;

    for (i = 0; i < st->nhooks; i++)
        sbx_outbox_cancel_group(p, (uint64_t)st->hooks[i].id);
    woo_free_data(st);
    free_keys(st);
    st->next_key_id = 0;
    return seed_all(p, st);
}

static void
woo_state_cb(struct sbx_platform *p, struct sbx_jw *w)
{
    struct woo_state *st = p->state;
    size_t            i;
    size_t            live;

    sbx_jw_kstr(w, "consumer_key", st->ck);
    sbx_jw_kbool(w, "old_store", st->old_store);
    for (i = 0, live = 0; i < st->ncustomers; i++)
        live += !st->customers[i].deleted;
    sbx_jw_ki64(w, "customers", (int64_t)live);
    for (i = 0, live = 0; i < st->nproducts; i++)
        live += !st->products[i].deleted;
    sbx_jw_ki64(w, "products", (int64_t)live);
    for (i = 0, live = 0; i < st->norders; i++)
        live += !st->orders[i].deleted;
    sbx_jw_ki64(w, "orders", (int64_t)live);
    for (i = 0, live = 0; i < st->nhooks; i++)
        live += !st->hooks[i].deleted;
    sbx_jw_ki64(w, "webhooks", (int64_t)live);
    sbx_jw_ki64(w, "keys", (int64_t)st->nkeys);
}

/* A WordPress host under load: HTML error pages, not JSON (platforms.md 2.5). */
static void
woo_fault_reply(struct sbx_platform *p, struct sbx_req *req, const char *kind, int status,
                struct sbx_resp *resp)
{
    (void)p;
    (void)req;
    if (strcmp(kind, "429") == 0) {
        status = 429;
        sbx_resp_header(resp, "Retry-After", "2");
    }
    resp->status = status;
    sbx_resp_header(resp, "Content-Type", "text/html; charset=UTF-8");
    sbx_resp_printf(resp, "<html><head><title>%d %s</title></head><body><center><h1>%d %s"
                    "</h1></center><hr><center>nginx</center></body></html>\n", status,
                    status == 429 ? "Too Many Requests" : status == 503 ? "Service Unavailable"
                    : status == 502 ? "Bad Gateway" : status == 504 ? "Gateway Time-out"
                    : "Internal Server Error", status,
                    status == 429 ? "Too Many Requests" : status == 503 ? "Service Unavailable"
                    : status == 502 ? "Bad Gateway" : status == 504 ? "Gateway Time-out"
                    : "Internal Server Error");
}

/* ------------------------------------------------------------------ routing */

static void
php_encode_body(struct sbx_resp *resp)
{
    const char      *ct = evhttp_find_header(resp->headers, "Content-Type");
    struct evbuffer *out;
    size_t           len = evbuffer_get_length(resp->body);

    if (ct == NULL || strncmp(ct, "application/json", 16) != 0 || len == 0)
        return;
    out = evbuffer_new();
    if (out == NULL)
        return;
    if (woo_php_json(evbuffer_pullup(resp->body, -1), len, out) == 0) {
        evbuffer_drain(resp->body, len);
        evbuffer_add_buffer(resp->body, out);
    }
    evbuffer_free(out);
}

static void
wp_index(struct woo_state *st, struct sbx_resp *resp, bool wc)
{
    struct sbx_jw w;
    char          buf[160];

    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    if (wc) {
        sbx_jw_kstr(&w, "namespace", "wc/v3");
        sbx_jw_key(&w, "routes");
        sbx_jw_obj(&w);
        {
            static const char *const routes[] = {
                "/wc/v3/customers", "/wc/v3/customers/(?P<id>[\\d]+)",
                "/wc/v3/customers/batch", "/wc/v3/products", "/wc/v3/products/(?P<id>[\\d]+)",
                "/wc/v3/products/batch", "/wc/v3/products/(?P<product_id>[\\d]+)/variations",
                "/wc/v3/orders", "/wc/v3/orders/(?P<id>[\\d]+)", "/wc/v3/orders/batch",
                "/wc/v3/orders/(?P<order_id>[\\d]+)/refunds", "/wc/v3/webhooks",
                "/wc/v3/webhooks/(?P<id>[\\d]+)", "/wc/v3/system_status", NULL};
            size_t i;

            for (i = 0; routes[i] != NULL; i++) {
                sbx_jw_key(&w, routes[i]);
                sbx_jw_obj(&w);
                sbx_jw_kstr(&w, "namespace", "wc/v3");
                sbx_jw_obj_end(&w);
            }
        }
        sbx_jw_obj_end(&w);
    } else {
        sbx_jw_kstr(&w, "name", "Sandbox Store — Café & Co");
        sbx_jw_kstr(&w, "description", "simplix-sandbox WooCommerce imitation");
        sbx_jw_kstr(&w, "url", st->base_url);
        sbx_jw_kstr(&w, "home", st->base_url);
        sbx_jw_ki64(&w, "gmt_offset", st->utc_offset_min / 60);
        sbx_jw_key(&w, "namespaces");
        sbx_jw_arr(&w);
        sbx_jw_str(&w, "wp/v2");
        sbx_jw_str(&w, "wc/v3");
        sbx_jw_str(&w, "wc-auth/v1");
        sbx_jw_arr_end(&w);
        snprintf(buf, sizeof(buf), "%s/wp-json/", st->base_url);
        sbx_jw_kstr(&w, "_rest_url", buf);
    }
    sbx_jw_obj_end(&w);
    sbx_jw_flush(&w);
}

static void
woo_handle(struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    struct woo_state *st = p->state;
    const char       *path = req->path;
    const char       *route = NULL;
    const char       *rr;
    char              link[160];

    if (req->method != SBX_GET && req->method != SBX_HEAD)
        st->data_gen++;         /* a write may move records in the sorted lists */
    if (strncmp(path, "/wc-auth/v1/", 12) == 0) {
        woo_handle_wc_auth(p, st, req, resp, path + 12);
        return;
    }
    /* Without pretty permalinks: ?rest_route=/wc/v3/... */
    rr = woo_q(req, "rest_route");
    if (strcmp(path, "/") == 0 && rr != NULL)
        path = rr;
    else if (strncmp(path, "/wp-json", 8) == 0)
        path += 8;
    else {
        resp->status = 404;
        sbx_resp_header(resp, "Content-Type", "text/html; charset=UTF-8");
        sbx_resp_printf(resp, "<html><body><h1>Page not found</h1></body></html>");
        return;
    }
    snprintf(link, sizeof(link), "<%s/wp-json/>; rel=\"https://api.w.org/\"", st->base_url);
    sbx_resp_header(resp, "Link", link);
    sbx_resp_header(resp, "X-Robots-Tag", "noindex");
    sbx_resp_header(resp, "X-Content-Type-Options", "nosniff");
    sbx_resp_header(resp, "Access-Control-Expose-Headers", "X-WP-Total, X-WP-TotalPages, Link");
    if (strcmp(path, "") == 0 || strcmp(path, "/") == 0) {
        wp_index(st, resp, false);
    } else if (strcmp(path, "/wc/v3") == 0 || strcmp(path, "/wc/v3/") == 0) {
        wp_index(st, resp, true);
    } else if (strncmp(path, "/wc/v3/", 7) == 0) {
        /* Paging Link headers replace the index link, as WP sends only the rels it adds. */
        evhttp_remove_header(resp->headers, "Link");
        route = path + 7;
        woo_handle_api(p, st, req, resp, route);
    } else {
        woo_error(resp, 404, "rest_no_route",
                  "No route was found matching the URL and request method.");
    }
    php_encode_body(resp);
}

/* ------------------------------------------------------------------ control (merchant) */

static int
ctl_id(const char *s, const char *prefix, int64_t *id, const char **tail)
{
    size_t len = strlen(prefix);
    char   buf[24];
    size_t n;

    if (strncmp(s, prefix, len) != 0 || s[len] != '/')
        return -1;
    s += len + 1;
    n = strspn(s, "0123456789");
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (sbx_parse_i64(buf, 1, INT64_MAX, id) < 0)
        return -1;
    *tail = s + n;
    return 0;
}

static struct json_object *
ctl_body(struct sbx_req *req)
{
    struct json_object *o = sbx_req_json(req);

    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return json_object_new_object();
    }
    return o;
}

static void
ctl_reply(struct sbx_resp *resp, struct woo_state *st, enum woo_kind kind, const void *rec,
          int status)
{
    struct sbx_jw w;

    resp->status = status;
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    if (kind == WOO_CUSTOMER)
        woo_render_customer(&w, st, rec);
    else if (kind == WOO_PRODUCT)
        woo_render_product(&w, st, rec);
    else
        woo_render_order(&w, st, rec);
    sbx_jw_flush(&w);
}

static int
ctl_customers(struct sbx_platform *p, struct woo_state *st, const char *action,
              struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t              now = sbx_now(p->sbx);
    int64_t              id;
    const char          *tail;
    struct woo_customer *c;
    struct json_object  *o;

    if (strcmp(action, "customers") == 0 && req->method == SBX_POST) {
        c = woo_new_customer(st, now);
        if (c == NULL)
            return -1;
        o = ctl_body(req);
        if (woo_apply_customer(st, c, o, false, resp) < 0) {
            c->deleted = true;
            json_object_put(o);
            return 0;
        }
        json_object_put(o);
        ctl_reply(resp, st, WOO_CUSTOMER, c, 201);
        woo_emit(p, st, WOO_CUSTOMER, "created", c);
        return 0;
    }
    if (ctl_id(action, "customers", &id, &tail) < 0 || *tail != '\0')
        return -1;
    c = woo_find_customer(st, id);
    if (c == NULL || c->deleted) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such customer\"}");
        return 0;
    }
    if (req->method == SBX_DELETE) {
        c->deleted = true;
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        woo_emit(p, st, WOO_CUSTOMER, "deleted", c);
        return 0;
    }
    if (req->method != SBX_POST)
        return -1;
    o = ctl_body(req);
    if (json_object_object_length(o) == 0) {
        c->last_name = woo_dup(st, "Édité");    /* the merchant renames the customer */
    } else if (woo_apply_customer(st, c, o, false, resp) < 0) {
        json_object_put(o);
        return 0;
    }
    json_object_put(o);
    c->modified = now;
    ctl_reply(resp, st, WOO_CUSTOMER, c, 200);
    woo_emit(p, st, WOO_CUSTOMER, "updated", c);
    return 0;
}

static int
ctl_products(struct sbx_platform *p, struct woo_state *st, const char *action,
             struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t             now = sbx_now(p->sbx);
    int64_t             id;
    const char         *tail;
    struct woo_product *pr;
    struct json_object *o;
    struct json_object *x;

    if (strcmp(action, "products") == 0 && req->method == SBX_POST) {
        pr = woo_new_product(st, now, 0);
        if (pr == NULL)
            return -1;
        o = ctl_body(req);
        if (woo_apply_product(st, pr, o, resp) < 0) {
            pr->deleted = true;
            json_object_put(o);
            return 0;
        }
        json_object_put(o);
        ctl_reply(resp, st, WOO_PRODUCT, pr, 201);
        woo_emit(p, st, WOO_PRODUCT, "created", pr);
        return 0;
    }
    if (ctl_id(action, "products", &id, &tail) < 0)
        return -1;
    pr = woo_find_product(st, id);
    if (pr == NULL || pr->deleted) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such product\"}");
        return 0;
    }
    if (*tail == '\0' && req->method == SBX_DELETE) {
        pr->deleted = true;
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        woo_emit(p, st, WOO_PRODUCT, "deleted", pr);
        return 0;
    }
    if (req->method != SBX_POST)
        return -1;
    o = ctl_body(req);
    if (strcmp(tail, "/stock") == 0) {
        /* A sale or a stock count: {"stock_quantity":N} or {"adjust":-2}. */
        if (json_object_object_get_ex(o, "stock_quantity", &x)) {
            pr->stock = json_object_get_int64(x);
        } else if (json_object_object_get_ex(o, "adjust", &x)) {
            pr->stock += json_object_get_int64(x);
        } else {
            pr->stock -= 1;
        }
        pr->manage_stock = true;
        if (pr->nvars > 0)
            pr->vars[0].stock = pr->stock;
    } else if (*tail != '\0') {
        json_object_put(o);
        return -1;
    } else if (json_object_object_length(o) == 0) {
        pr->regular += 100;
    } else if (woo_apply_product(st, pr, o, resp) < 0) {
        json_object_put(o);
        return 0;
    }
    json_object_put(o);
    pr->modified = now;
    ctl_reply(resp, st, WOO_PRODUCT, pr, 200);
    woo_emit(p, st, WOO_PRODUCT, "updated", pr);
    return 0;
}

static int
ctl_orders(struct sbx_platform *p, struct woo_state *st, const char *action,
           struct sbx_req *req, struct sbx_resp *resp)
{
    int64_t             now = sbx_now(p->sbx);
    int64_t             id;
    const char         *tail;
    struct woo_order   *o;
    struct json_object *body;
    struct json_object *x;

    if (strcmp(action, "orders") == 0 && req->method == SBX_POST) {
        o = woo_new_order(st, now);
        if (o == NULL)
            return -1;
        body = ctl_body(req);
        if (json_object_object_length(body) > 0 && woo_apply_order(st, o, body, resp) < 0) {
            o->deleted = true;
            json_object_put(body);
            return 0;
        }
        json_object_put(body);
        ctl_reply(resp, st, WOO_ORDER, o, 201);
        woo_emit(p, st, WOO_ORDER, "created", o);
        return 0;
    }
    if (ctl_id(action, "orders", &id, &tail) < 0)
        return -1;
    o = woo_find_order(st, id);
    if (o == NULL || o->deleted) {
        sbx_resp_json(resp, 404, "{\"error\":\"no such order\"}");
        return 0;
    }
    if (*tail == '\0' && req->method == SBX_DELETE) {
        o->deleted = true;
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        woo_emit(p, st, WOO_ORDER, "deleted", o);
        return 0;
    }
    if (req->method != SBX_POST)
        return -1;
    body = ctl_body(req);
    if (strcmp(tail, "/refund") == 0) {
        int64_t amount = 0;
        int64_t left = woo_order_total(o) - woo_order_refunded(o);

        if (json_object_object_get_ex(body, "amount", &x) &&
            sbx_parse_money(json_object_get_string(x), &amount) < 0)
            amount = -1;
        if (amount == 0)
            amount = left;
        if (amount <= 0 || amount > left ||
            woo_add_refund(st, o, amount, -1, 0, "Refunded by the merchant", now) < 0) {
            json_object_put(body);
            sbx_resp_json(resp, 422, "{\"error\":\"invalid refund amount\"}");
            return 0;
        }
        if (woo_order_refunded(o) >= woo_order_total(o))
            o->status = "refunded";
    } else if (strcmp(tail, "/status") == 0 || *tail == '\0') {
        if (json_object_object_length(body) == 0) {
            o->note = woo_dup(st, "Edited by the merchant in the sandbox");
        } else if (woo_apply_order(st, o, body, resp) < 0) {
            json_object_put(body);
            return 0;
        }
        if (strcmp(o->status, "completed") == 0 && o->completed == 0)
            o->completed = now;
        if ((strcmp(o->status, "processing") == 0 || strcmp(o->status, "completed") == 0) &&
            o->paid == 0)
            o->paid = now;
    } else {
        json_object_put(body);
        return -1;
    }
    json_object_put(body);
    o->modified = now;
    ctl_reply(resp, st, WOO_ORDER, o, 200);
    woo_emit(p, st, WOO_ORDER, "updated", o);
    return 0;
}

static int
ctl_bulk_touch(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
               struct sbx_resp *resp)
{
    struct json_object *body = ctl_body(req);
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
                st->orders[i].modified = now;
                done++;
            }
        }
    } else if (strcmp(entity, "customers") == 0) {
        for (i = 0; i < st->ncustomers && done < n; i++) {
            if (!st->customers[i].deleted) {
                st->customers[i].modified = now;
                done++;
            }
        }
    } else if (strcmp(entity, "products") == 0) {
        for (i = 0; i < st->nproducts && done < n; i++) {
            if (!st->products[i].deleted) {
                st->products[i].modified = now;
                done++;
            }
        }
    } else {
        json_object_put(body);
        sbx_resp_json(resp, 400, "{\"error\":\"entity: orders, customers or products\"}");
        return 0;
    }
    json_object_put(body);
    snprintf(msg, sizeof(msg), "{\"ok\":true,\"touched\":%" PRId64 ",\"date_modified_gmt\":%"
             PRId64 "}", done, now);
    sbx_resp_json(resp, 200, msg);
    return 0;
}

/* {"method":"GET","url":"http://...","params":{"k":"v"},"secret":"cs_..",
 *  "signature_method":"HMAC-SHA256"} -> the oauth_signature WooCommerce expects. */
static int
ctl_oauth_sign(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp)
{
    struct json_object *o = ctl_body(req);
    struct json_object *params;
    struct json_object *x;
    struct sbx_kv       kv[128];
    size_t              n = 0;
    char                sig[128];
    const char         *method = "GET";
    const char         *url = "";
    const char         *secret = st->cs;
    const char         *sm = "HMAC-SHA256";

    if (json_object_object_get_ex(o, "method", &x))
        method = json_object_get_string(x);
    if (json_object_object_get_ex(o, "url", &x))
        url = json_object_get_string(x);
    if (json_object_object_get_ex(o, "secret", &x))
        secret = json_object_get_string(x);
    if (json_object_object_get_ex(o, "signature_method", &x))
        sm = json_object_get_string(x);
    if (json_object_object_get_ex(o, "params", &params) &&
        json_object_is_type(params, json_type_object)) {
        json_object_object_foreach(params, k, v) {
            if (n < 128)
                kv[n++] = (struct sbx_kv){k, json_object_get_string(v)};
        }
    }
    if (woo_oauth_signature(st, method, url, kv, n, secret, sm, sig, sizeof(sig),
                            req->arena) < 0) {
        json_object_put(o);
        sbx_resp_json(resp, 400, "{\"error\":\"signature_method: HMAC-SHA1 or HMAC-SHA256\"}");
        return 0;
    }
    json_object_put(o);
    woo_json_headers(resp);
    sbx_resp_printf(resp, "{\"oauth_signature\":\"%s\"}", sig);
    return 0;
}

static int
woo_control(struct sbx_platform *p, const char *action, struct sbx_req *req,
            struct sbx_resp *resp)
{
    struct woo_state *st = p->state;
    struct sbx_jw     w;
    size_t            i;

    if (req->method != SBX_GET && req->method != SBX_HEAD)
        st->data_gen++;         /* merchant actions change records */
    if (strncmp(action, "customers", 9) == 0)
        return ctl_customers(p, st, action, req, resp);
    if (strncmp(action, "products", 8) == 0)
        return ctl_products(p, st, action, req, resp);
    if (strncmp(action, "orders", 6) == 0)
        return ctl_orders(p, st, action, req, resp);
    if (strcmp(action, "bulk-touch") == 0 && req->method == SBX_POST)
        return ctl_bulk_touch(p, st, req, resp);
    if (strcmp(action, "webhooks") == 0 && req->method == SBX_GET) {
        woo_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "webhooks");
        sbx_jw_arr(&w);
        for (i = 0; i < st->nhooks; i++) {
            if (!st->hooks[i].deleted)
                woo_render_hook(&w, st, &st->hooks[i], true);
        }
        sbx_jw_arr_end(&w);
        sbx_jw_obj_end(&w);
        sbx_jw_flush(&w);
        return 0;
    }
    if (strcmp(action, "keys") == 0 && req->method == SBX_GET) {
        woo_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "keys");
        sbx_jw_arr(&w);
        for (i = 0; i < st->nkeys; i++) {
            if (st->keys[i].ck[0] == '\0')
                continue;
            sbx_jw_obj(&w);
            sbx_jw_ki64(&w, "key_id", st->keys[i].id);
            sbx_jw_kstr(&w, "consumer_key", st->keys[i].ck);
            sbx_jw_kstr(&w, "consumer_secret", st->keys[i].cs);
            sbx_jw_kstr(&w, "permissions", st->keys[i].permissions);
            sbx_jw_kstr(&w, "app_name", st->keys[i].app);
            sbx_jw_obj_end(&w);
        }
        sbx_jw_arr_end(&w);
        sbx_jw_obj_end(&w);
        sbx_jw_flush(&w);
        return 0;
    }
    if (strcmp(action, "settings") == 0) {
        if (req->method == SBX_POST) {
            struct json_object *o = ctl_body(req);
            struct json_object *x;

            if (json_object_object_get_ex(o, "old_store", &x))
                st->old_store = json_object_get_boolean(x);
            json_object_put(o);
        }
        woo_json_headers(resp);
        sbx_resp_printf(resp, "{\"old_store\":%s,\"utc_offset_min\":%d}",
                        st->old_store ? "true" : "false", st->utc_offset_min);
        return 0;
    }
    if (strcmp(action, "sign") == 0 && req->method == SBX_POST) {
        /* X-WC-Webhook-Signature of the raw body with ?secret= (default ""): vector checks. */
        const char *secret = woo_q(req, "secret");
        char        sig[64];

        woo_hook_signature(secret != NULL ? secret : "", req->body, req->body_len, sig);
        woo_json_headers(resp);
        sbx_resp_printf(resp, "{\"signature\":\"%s\"}", sig);
        return 0;
    }
    if (strcmp(action, "oauth/sign") == 0 && req->method == SBX_POST)
        return ctl_oauth_sign(st, req, resp);
    return -1;
}

static const struct sbx_platform_ops woo_ops = {
    .name = "woo",
    .title = "WooCommerce REST API wc/v3, webhooks, /wc-auth key generation",
    .options = woo_options,
    .create = woo_create,
    .start = woo_start,
    .handle = woo_handle,
    .control = woo_control,
    .state = woo_state_cb,
    .reset = woo_reset,
    .fault_reply = woo_fault_reply,
    .destroy = woo_destroy,
};
SBX_PLATFORM_REGISTER(woo_ops)
