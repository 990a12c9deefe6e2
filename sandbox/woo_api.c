/*
 * WooCommerce imitation: the REST routes under /wp-json/wc/v3/ (platforms.md 2.2-2.4):
 * customers, products and their variations, orders and their refunds, batch endpoints,
 * system_status. Pages with page/per_page (<= 100, default 10) or offset, X-WP-Total,
 * X-WP-TotalPages and Link; after/before/modified_after/modified_before with dates_are_gmt;
 * unknown query parameters are ignored, duplicated ones keep the last value (PHP's $_GET).
 */
#include "woo.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include <json-c/json.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ------------------------------------------------------------------ small helpers */

const char *
woo_q(const struct sbx_req *req, const char *key)
{
    const char *v = NULL;
    size_t      i;

    for (i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) == 0)
            v = req->query[i].value;
    }
    return v;
}

void
woo_json_headers(struct sbx_resp *resp)
{
    sbx_resp_header(resp, "Content-Type", "application/json; charset=UTF-8");
}

void
woo_error(struct sbx_resp *resp, int status, const char *code, const char *message)
{
    struct sbx_jw w;

    resp->status = status;
    woo_json_headers(resp);
    evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "code", code);
    sbx_jw_kstr(&w, "message", message);
    sbx_jw_key(&w, "data");
    sbx_jw_obj(&w);
    sbx_jw_ki64(&w, "status", status);
    sbx_jw_obj_end(&w);
    sbx_jw_obj_end(&w);
    sbx_jw_flush(&w);
}

/* WordPress's argument validation error: 400 rest_invalid_param with params.<name>. */
static void
invalid_param(struct sbx_resp *resp, const char *name, const char *why)
{
    struct sbx_jw w;
    char          msg[128];

    resp->status = 400;
    woo_json_headers(resp);
    evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
    snprintf(msg, sizeof(msg), "Invalid parameter(s): %s", name);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "code", "rest_invalid_param");
    sbx_jw_kstr(&w, "message", msg);
    sbx_jw_key(&w, "data");
    sbx_jw_obj(&w);
    sbx_jw_ki64(&w, "status", 400);
    sbx_jw_key(&w, "params");
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, name, why);
    sbx_jw_obj_end(&w);
    sbx_jw_obj_end(&w);
    sbx_jw_obj_end(&w);
    sbx_jw_flush(&w);
}

static bool
bool_param(const char *v, bool *out)
{
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        *out = true;
        return true;
    }
    if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        *out = false;
        return true;
    }
    return false;
}

static const char *
jstr(struct json_object *o, const char *k)
{
    struct json_object *x;

    if (o == NULL || !json_object_object_get_ex(o, k, &x) || x == NULL)
        return NULL;
    return json_object_get_string(x);
}

static bool
jhas(struct json_object *o, const char *k)
{
    return o != NULL && json_object_object_get_ex(o, k, NULL);
}

static int
money_field(struct json_object *o, const char *k, int64_t *out, struct sbx_resp *resp)
{
    const char *v = jstr(o, k);

    if (v == NULL)
        return 0;
    if (v[0] == '\0') {
        *out = 0;
        return 0;
    }
    if (sbx_parse_money(v, out) < 0 || *out < 0) {
        invalid_param(resp, k, "Invalid decimal.");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ list queries */

enum orderby { OB_DATE, OB_ID, OB_INCLUDE, OB_TITLE, OB_SLUG, OB_MODIFIED, OB_NAME,
               OB_REGISTERED };

struct listq {
    int64_t      page;
    int64_t      per_page;
    int64_t      offset;            /* -1: none */
    bool         desc;
    enum orderby orderby;
    bool         has_after, has_before, has_mafter, has_mbefore;
    int64_t      after, before, mafter, mbefore;
    const char  *search;
    int64_t      include[100];
    size_t       ninclude;
    int64_t      exclude[100];
    size_t       nexclude;
};

struct ob_name {
    const char  *name;
    enum orderby ob;
};

static int
id_list(const char *v, int64_t *out, size_t cap, size_t *n)
{
    char        buf[32];
    const char *s = v;

    *n = 0;
    while (*s != '\0') {
        size_t len = strcspn(s, ",");

        if (len == 0 || len >= sizeof(buf) || *n >= cap)
            return -1;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (sbx_parse_i64(buf, 0, INT64_MAX, &out[*n]) < 0)
            return -1;
        (*n)++;
        s += len;
        if (*s == ',')
            s++;
    }
    return 0;
}

static int
date_param(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp, const char *name,
           bool gmt, bool *has, int64_t *out)
{
    const char *v = woo_q(req, name);

    *has = false;
    if (v == NULL)
        return 0;
    if (sbx_time_parse(v, gmt ? 0 : st->utc_offset_min, out) < 0) {
        invalid_param(resp, name, "Invalid date.");
        return -1;
    }
    *has = true;
    return 0;
}

static int
parse_listq(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp,
            struct listq *q, const struct ob_name *obs, enum orderby def_ob, bool def_desc,
            bool dates)
{
    const char *v;
    bool        gmt = false;
    size_t      i;

    memset(q, 0, sizeof(*q));
    q->page = 1;
    q->per_page = WOO_DEFAULT_PER_PAGE;
    q->offset = -1;
    q->desc = def_desc;
    q->orderby = def_ob;
    v = woo_q(req, "page");
    if (v != NULL && sbx_parse_i64(v, 1, INT32_MAX, &q->page) < 0) {
        invalid_param(resp, "page", "page must be greater than or equal to 1");
        return -1;
    }
    v = woo_q(req, "per_page");
    if (v != NULL && sbx_parse_i64(v, 1, WOO_MAX_PER_PAGE, &q->per_page) < 0) {
        invalid_param(resp, "per_page",
                      "per_page must be between 1 (inclusive) and 100 (inclusive)");
        return -1;
    }
    v = woo_q(req, "offset");
    if (v != NULL && sbx_parse_i64(v, 0, INT32_MAX, &q->offset) < 0) {
        invalid_param(resp, "offset", "offset is not of type integer.");
        return -1;
    }
    v = woo_q(req, "order");
    if (v != NULL) {
        if (strcmp(v, "asc") == 0) {
            q->desc = false;
        } else if (strcmp(v, "desc") == 0) {
            q->desc = true;
        } else {
            invalid_param(resp, "order", "order is not one of asc and desc.");
            return -1;
        }
    }
    v = woo_q(req, "orderby");
    if (v != NULL) {
        for (i = 0; obs[i].name != NULL; i++) {
            if (strcmp(obs[i].name, v) == 0)
                break;
        }
        if (obs[i].name == NULL) {
            invalid_param(resp, "orderby", "orderby is not one of the allowed values.");
            return -1;
        }
        q->orderby = obs[i].ob;
    }
    q->search = woo_q(req, "search");
    if (q->search != NULL && q->search[0] == '\0')
        q->search = NULL;
    v = woo_q(req, "include");
    if (v != NULL && v[0] != '\0' && id_list(v, q->include, NELEM(q->include),
                                             &q->ninclude) < 0) {
        invalid_param(resp, "include", "include[0] is not of type integer.");
        return -1;
    }
    v = woo_q(req, "exclude");
    if (v != NULL && v[0] != '\0' && id_list(v, q->exclude, NELEM(q->exclude),
                                             &q->nexclude) < 0) {
        invalid_param(resp, "exclude", "exclude[0] is not of type integer.");
        return -1;
    }
    if (!dates)
        return 0;       /* platforms.md 2.4: customers have no date filters (ignored) */
    v = woo_q(req, "dates_are_gmt");
    if (v != NULL && !bool_param(v, &gmt)) {
        invalid_param(resp, "dates_are_gmt", "dates_are_gmt is not of type boolean.");
        return -1;
    }
    if (date_param(st, req, resp, "after", gmt, &q->has_after, &q->after) < 0 ||
        date_param(st, req, resp, "before", gmt, &q->has_before, &q->before) < 0)
        return -1;
    /* Old stores predate modified_after/modified_before and silently ignore them. */
    if (st->old_store)
        return 0;
    if (date_param(st, req, resp, "modified_after", gmt, &q->has_mafter, &q->mafter) < 0 ||
        date_param(st, req, resp, "modified_before", gmt, &q->has_mbefore, &q->mbefore) < 0)
        return -1;
    return 0;
}

/* Common filters; WP_Date_Query is exclusive by default (after: >, before: <). */
static bool
listq_match(const struct listq *q, int64_t id, int64_t created, int64_t modified)
{
    size_t i;

    if (q->ninclude > 0) {
        for (i = 0; i < q->ninclude && q->include[i] != id; i++)
            ;
        if (i == q->ninclude)
            return false;
    }
    for (i = 0; i < q->nexclude; i++) {
        if (q->exclude[i] == id)
            return false;
    }
    if (q->has_after && !(created > q->after))
        return false;
    if (q->has_before && !(created < q->before))
        return false;
    if (q->has_mafter && !(modified > q->mafter))
        return false;
    if (q->has_mbefore && !(modified < q->mbefore))
        return false;
    return true;
}

static bool
contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

struct sortent {
    int64_t     k;
    const char *s;
    int64_t     id;
    size_t      idx;
};

static bool sort_desc;

static int
sortent_cmp(const void *a, const void *b)
{
    const struct sortent *x = a;
    const struct sortent *y = b;
    int                   c = 0;

    if (x->s != NULL && y->s != NULL)
        c = strcmp(x->s, y->s);
    else if (x->k != y->k)
        c = x->k < y->k ? -1 : 1;
    if (c == 0 && x->id != y->id)
        c = x->id < y->id ? -1 : 1;     /* ties: by id, same direction */
    return sort_desc ? -c : c;
}

static int64_t
include_pos(const struct listq *q, int64_t id)
{
    size_t i;

    for (i = 0; i < q->ninclude; i++) {
        if (q->include[i] == id)
            return (int64_t)i;
    }
    return (int64_t)q->ninclude;
}

static void
sort_entries(struct sortent *e, size_t n, const struct listq *q)
{
    size_t i;
    bool   sorted = true;

    sort_desc = q->desc;
    if (q->orderby == OB_INCLUDE)
        sort_desc = false;
    for (i = 1; i < n && sorted; i++) {
        if (sortent_cmp(&e[i - 1], &e[i]) > 0)
            sorted = false;
    }
    if (!sorted)
        qsort(e, n, sizeof(*e), sortent_cmp);
}

/* ------------------------------------------------------------------ cached sorted orders */

enum { WK_CUSTOMERS, WK_PRODUCTS, WK_ORDERS };

/* The sort entry of record i of an entity under `ob` (as the list functions fill it). */
static void
sort_key(const struct woo_state *st, int kind, enum orderby ob, size_t i, struct sortent *e)
{
    e->idx = i;
    if (kind == WK_CUSTOMERS) {
        const struct woo_customer *c = &st->customers[i];

        e->id = c->id;
        e->s = ob == OB_NAME ? c->username : NULL;
        e->k = ob == OB_REGISTERED ? c->created : c->id;
    } else if (kind == WK_PRODUCTS) {
        const struct woo_product *pr = &st->products[i];

        e->id = pr->id;
        e->s = ob == OB_TITLE ? pr->name : ob == OB_SLUG ? pr->slug : NULL;
        e->k = ob == OB_DATE ? pr->created : ob == OB_MODIFIED ? pr->modified : pr->id;
    } else {
        const struct woo_order *o = &st->orders[i];

        e->id = o->id;
        e->s = NULL;
        e->k = ob == OB_DATE ? o->created : ob == OB_MODIFIED ? o->modified : o->id;
    }
}

/*
 * Every record of an entity (deleted or not) ascending by (key, id) under `ob`, from the
 * cache when no write happened since it was built; descending is the same walked backwards
 * (ties by id follow the direction). NULL when out of memory: the caller sorts itself.
 */
static const uint32_t *
sorted_index(struct woo_state *st, int kind, enum orderby ob, size_t n)
{
    uint32_t      **slot = &st->sorted[kind][ob];
    uint32_t       *idx;
    struct sortent *e;
    size_t          i;

    if (*slot != NULL && st->sorted_n[kind][ob] == n && st->sorted_gen[kind][ob] == st->data_gen)
        return *slot;
    if (n >= UINT32_MAX)
        return NULL;
    free(*slot);
    *slot = NULL;
    idx = malloc((n + 1) * sizeof(*idx));
    e = malloc((n + 1) * sizeof(*e));
    if (idx == NULL || e == NULL) {
        free(idx);
        free(e);
        return NULL;
    }
    for (i = 0; i < n; i++)
        sort_key(st, kind, ob, i, &e[i]);
    sort_desc = false;
    qsort(e, n, sizeof(*e), sortent_cmp);
    for (i = 0; i < n; i++)
        idx[i] = (uint32_t)e[i].idx;
    free(e);
    *slot = idx;
    st->sorted_n[kind][ob] = n;
    st->sorted_gen[kind][ob] = st->data_gen;
    return idx;
}

/* First entry of the requested page among the matches (page_headers clamps it the same). */
static size_t
page_start(const struct listq *q)
{
    return (size_t)(q->offset >= 0 ? q->offset : (q->page - 1) * q->per_page);
}

/* Link header entry: the request's query (deduplicated, last value) with page=N. */
static void
add_link(struct sbx_resp *resp, struct woo_state *st, struct sbx_req *req, const char *rel,
         int64_t page)
{
    struct evbuffer *b = evbuffer_new();
    const char      *qm = strchr(req->uri, '?');
    size_t           plen = qm != NULL ? (size_t)(qm - req->uri) : strlen(req->uri);
    bool             first = true;
    bool             page_done = false;
    size_t           i;
    size_t           j;

    if (b == NULL)
        return;
    evbuffer_add_printf(b, "<%s%.*s?", st->base_url, (int)plen, req->uri);
    for (i = 0; i < req->nquery; i++) {
        const char *k = req->query[i].key;
        const char *v = woo_q(req, k);

        for (j = 0; j < i && strcmp(req->query[j].key, k) != 0; j++)
            ;
        if (j < i)
            continue;       /* duplicated key: written once, last value */
        if (!first)
            evbuffer_add(b, "&", 1);
        first = false;
        sbx_form_encode(b, k);
        evbuffer_add(b, "=", 1);
        if (strcmp(k, "page") == 0) {
            evbuffer_add_printf(b, "%" PRId64, page);
            page_done = true;
        } else {
            sbx_form_encode(b, v);
        }
    }
    if (!page_done)
        evbuffer_add_printf(b, "%spage=%" PRId64, first ? "" : "&", page);
    evbuffer_add_printf(b, ">; rel=\"%s\"", rel);
    evbuffer_add(b, "", 1);
    evhttp_add_header(resp->headers, "Link", (const char *)evbuffer_pullup(b, -1));
    evbuffer_free(b);
}

/* Sets the paging headers; returns the slice [*from, *to) of n sorted entries. */
static void
page_headers(struct sbx_resp *resp, struct woo_state *st, struct sbx_req *req,
             const struct listq *q, size_t n, size_t *from, size_t *to)
{
    int64_t pages = ((int64_t)n + q->per_page - 1) / q->per_page;
    int64_t start = q->offset >= 0 ? q->offset : (q->page - 1) * q->per_page;
    char    buf[32];

    snprintf(buf, sizeof(buf), "%zu", n);
    sbx_resp_header(resp, "X-WP-Total", buf);
    snprintf(buf, sizeof(buf), "%" PRId64, pages);
    sbx_resp_header(resp, "X-WP-TotalPages", buf);
    if (q->page > 1) {
        add_link(resp, st, req, "first", 1);
        add_link(resp, st, req, "prev", q->page - 1 > pages ? pages : q->page - 1);
    }
    if (pages > q->page) {
        add_link(resp, st, req, "next", q->page + 1);
        add_link(resp, st, req, "last", pages);
    }
    if (start > (int64_t)n)
        start = (int64_t)n;
    *from = (size_t)start;
    *to = *from + (size_t)q->per_page > n ? n : *from + (size_t)q->per_page;
}

static bool
status_in(const char *status, const char *list)
{
    const char *s = list;
    size_t      len = strlen(status);

    while (*s != '\0') {
        size_t l = strcspn(s, ",");

        if (l > 3 && strncmp(s, "wc-", 3) == 0) {
            s += 3;
            l -= 3;
        }
        if (l == len && strncmp(s, status, len) == 0)
            return true;
        s += l;
        if (*s == ',')
            s++;
    }
    return false;
}

/* ------------------------------------------------------------------ lists */

static void
list_customers(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp)
{
    static const struct ob_name obs[] = {
        {"id", OB_ID}, {"include", OB_INCLUDE}, {"name", OB_NAME},
        {"registered_date", OB_REGISTERED}, {NULL, OB_ID}};
    struct listq    q;
    struct sortent *e;
    const char     *email = woo_q(req, "email");
    const char     *role = woo_q(req, "role");
    size_t          n = 0;
    size_t          i;
    size_t          from;
    size_t          to;
    struct sbx_jw   w;
    const uint32_t *idx;
    size_t          k;
    size_t          start;

    if (parse_listq(st, req, resp, &q, obs, OB_NAME, false, false) < 0)
        return;
    start = page_start(&q);
    e = malloc((st->ncustomers + 1) * sizeof(*e));
    if (e == NULL) {
        woo_error(resp, 500, "internal_error", "Out of memory.");
        return;
    }
    idx = q.orderby == OB_INCLUDE ? NULL : sorted_index(st, WK_CUSTOMERS, q.orderby,
                                                          st->ncustomers);
    for (k = 0; k < st->ncustomers; k++) {
        const struct woo_customer *c;

        i = idx == NULL ? k : idx[q.desc ? st->ncustomers - 1 - k : k];
        c = &st->customers[i];
        if (c->deleted || !listq_match(&q, c->id, c->created, c->modified))
            continue;
        if (role != NULL && strcmp(role, "all") != 0 && strcmp(role, "customer") != 0)
            continue;
        if (email != NULL && strcasecmp(email, c->email) != 0)
            continue;
        if (q.search != NULL && !contains(c->email, q.search) &&
            !contains(c->first_name, q.search) && !contains(c->last_name, q.search) &&
            !contains(c->username, q.search))
            continue;
        if (idx != NULL) {
            /* Already in order: keep only the page. */
            if (n >= start && n - start < (size_t)q.per_page)
                e[n - start].idx = i;
            n++;
            continue;
        }
        e[n].id = c->id;
        e[n].idx = i;
        e[n].s = q.orderby == OB_NAME ? c->username : NULL;
        e[n].k = q.orderby == OB_REGISTERED ? c->created
               : q.orderby == OB_INCLUDE    ? include_pos(&q, c->id)
                                            : c->id;
        n++;
    }
    if (idx == NULL)
        sort_entries(e, n, &q);
    page_headers(resp, st, req, &q, n, &from, &to);
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_arr(&w);
    for (i = from; i < to; i++)
        woo_render_customer(&w, st, &st->customers[e[idx != NULL ? i - from : i].idx]);
    sbx_jw_arr_end(&w);
    free(e);
}

static const struct ob_name post_obs[] = {
    {"date", OB_DATE}, {"id", OB_ID}, {"include", OB_INCLUDE}, {"title", OB_TITLE},
    {"slug", OB_SLUG}, {"modified", OB_MODIFIED}, {NULL, OB_ID}};

static void
list_products(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp)
{
    struct listq    q;
    struct sortent *e;
    const char     *status = woo_q(req, "status");
    const char     *type = woo_q(req, "type");
    const char     *sku = woo_q(req, "sku");
    const char     *stock = woo_q(req, "stock_status");
    size_t          n = 0;
    size_t          i;
    size_t          from;
    size_t          to;
    struct sbx_jw   w;
    const uint32_t *idx;
    size_t          k;
    size_t          start;

    if (parse_listq(st, req, resp, &q, post_obs, OB_DATE, true, true) < 0)
        return;
    start = page_start(&q);
    if (status != NULL && strcmp(status, "any") == 0)
        status = NULL;
    e = malloc((st->nproducts + 1) * sizeof(*e));
    if (e == NULL) {
        woo_error(resp, 500, "internal_error", "Out of memory.");
        return;
    }
    idx = q.orderby == OB_INCLUDE ? NULL : sorted_index(st, WK_PRODUCTS, q.orderby,
                                                          st->nproducts);
    for (k = 0; k < st->nproducts; k++) {
        const struct woo_product *pr;

        i = idx == NULL ? k : idx[q.desc ? st->nproducts - 1 - k : k];
        pr = &st->products[i];
        if (pr->deleted || !listq_match(&q, pr->id, pr->created, pr->modified))
            continue;
        if (status == NULL ? strcmp(pr->status, "trash") == 0 : !status_in(pr->status, status))
            continue;
        if (type != NULL && strcmp(type, pr->type) != 0)
            continue;
        if (sku != NULL && !status_in(pr->sku, sku))
            continue;
        if (stock != NULL) {
            bool in = !pr->manage_stock || pr->stock > 0 || pr->nvars > 0;

            if (strcmp(stock, in ? "instock" : "outofstock") != 0)
                continue;
        }
        if (q.search != NULL && !contains(pr->name, q.search) && !contains(pr->sku, q.search))
            continue;
        if (idx != NULL) {
            if (n >= start && n - start < (size_t)q.per_page)
                e[n - start].idx = i;
            n++;
            continue;
        }
        e[n].id = pr->id;
        e[n].idx = i;
        e[n].s = q.orderby == OB_TITLE ? pr->name : q.orderby == OB_SLUG ? pr->slug : NULL;
        e[n].k = q.orderby == OB_DATE       ? pr->created
               : q.orderby == OB_MODIFIED   ? pr->modified
               : q.orderby == OB_INCLUDE    ? include_pos(&q, pr->id)
                                            : pr->id;
        n++;
    }
    if (idx == NULL)
        sort_entries(e, n, &q);
    page_headers(resp, st, req, &q, n, &from, &to);
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_arr(&w);
    for (i = from; i < to; i++)
        woo_render_product(&w, st, &st->products[e[idx != NULL ? i - from : i].idx]);
    sbx_jw_arr_end(&w);
    free(e);
}

static void
list_orders(struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp)
{
    struct listq    q;
    struct sortent *e;
    const char     *status = woo_q(req, "status");
    const char     *cust = woo_q(req, "customer");
    int64_t         cid = -1;
    size_t          n = 0;
    size_t          i;
    size_t          from;
    size_t          to;
    struct sbx_jw   w;
    const uint32_t *idx;
    size_t          k;
    size_t          start;

    if (parse_listq(st, req, resp, &q, post_obs, OB_DATE, true, true) < 0)
        return;
    start = page_start(&q);
    if (status != NULL && strcmp(status, "any") == 0)
        status = NULL;
    if (cust != NULL && sbx_parse_i64(cust, 0, INT64_MAX, &cid) < 0) {
        invalid_param(resp, "customer", "customer is not of type integer.");
        return;
    }
    e = malloc((st->norders + 1) * sizeof(*e));
    if (e == NULL) {
        woo_error(resp, 500, "internal_error", "Out of memory.");
        return;
    }
    idx = q.orderby == OB_INCLUDE ? NULL : sorted_index(st, WK_ORDERS, q.orderby,
                                                          st->norders);
    for (k = 0; k < st->norders; k++) {
        const struct woo_order *o;

        i = idx == NULL ? k : idx[q.desc ? st->norders - 1 - k : k];
        o = &st->orders[i];
        if (o->deleted || !listq_match(&q, o->id, o->created, o->modified))
            continue;
        if (status == NULL ? strcmp(o->status, "trash") == 0 : !status_in(o->status, status))
            continue;
        if (cid >= 0 && o->customer_id != cid)
            continue;
        if (q.search != NULL && !contains(o->billing.email, q.search) &&
            !contains(o->billing.first_name, q.search) &&
            !contains(o->billing.last_name, q.search))
            continue;
        if (idx != NULL) {
            if (n >= start && n - start < (size_t)q.per_page)
                e[n - start].idx = i;
            n++;
            continue;
        }
        e[n].id = o->id;
        e[n].idx = i;
        e[n].s = NULL;
        e[n].k = q.orderby == OB_DATE       ? o->created
               : q.orderby == OB_MODIFIED   ? o->modified
               : q.orderby == OB_INCLUDE    ? include_pos(&q, o->id)
                                            : o->id;
        n++;
    }
    if (idx == NULL)
        sort_entries(e, n, &q);
    page_headers(resp, st, req, &q, n, &from, &to);
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_arr(&w);
    for (i = from; i < to; i++)
        woo_render_order(&w, st, &st->orders[e[idx != NULL ? i - from : i].idx]);
    sbx_jw_arr_end(&w);
    free(e);
}

/* ------------------------------------------------------------------ writes */

static int
apply_addr(struct woo_state *st, struct woo_addr *a, struct json_object *o)
{
    static const char *const keys[] = {"first_name", "last_name", "company", "address_1",
                                       "address_2", "city", "state", "postcode", "country",
                                       "email", "phone"};
    char      **fields[] = {&a->first_name, &a->last_name, &a->company, &a->address_1,
                            &a->address_2, &a->city, &a->state, &a->postcode, &a->country,
                            &a->email, &a->phone};
    size_t      i;
    const char *v;

    if (o == NULL || !json_object_is_type(o, json_type_object))
        return 0;
    for (i = 0; i < NELEM(keys); i++) {
        v = jstr(o, keys[i]);
        if (v != NULL)
            *fields[i] = woo_dup(st, v);
        else if (*fields[i] == NULL)
            *fields[i] = woo_dup(st, "");
    }
    return 0;
}

static bool
email_valid(const char *e)
{
    const char *at = strchr(e, '@');

    return at != NULL && at != e && strchr(at, '.') != NULL && strchr(e, ' ') == NULL;
}

int
woo_apply_customer(struct woo_state *st, struct woo_customer *c, struct json_object *o,
                   bool create, struct sbx_resp *resp)
{
    const char         *email = jstr(o, "email");
    const char         *v;
    struct json_object *x;
    size_t              i;

    if (create && (email == NULL || email[0] == '\0')) {
        woo_error(resp, 400, "rest_missing_callback_param", "Missing parameter(s): email");
        return -1;
    }
    if (email != NULL) {
        if (!email_valid(email)) {
            invalid_param(resp, "email", "Invalid email address.");
            return -1;
        }
        for (i = 0; i < st->ncustomers; i++) {
            const struct woo_customer *o2 = &st->customers[i];

            if (o2 != c && !o2->deleted && strcasecmp(o2->email, email) == 0) {
                woo_error(resp, 400, "registration-error-email-exists",
                          "An account is already registered with your email address. "
                          "<a href=\"#\" class=\"showlogin\">Please log in.</a>");
                return -1;
            }
        }
        c->email = woo_dup(st, email);
    }
    v = jstr(o, "first_name");
    if (v != NULL)
        c->first_name = woo_dup(st, v);
    v = jstr(o, "last_name");
    if (v != NULL)
        c->last_name = woo_dup(st, v);
    v = jstr(o, "username");
    if (v != NULL && create)
        c->username = woo_dup(st, v);
    if (json_object_object_get_ex(o, "billing", &x))
        apply_addr(st, &c->billing, x);
    if (json_object_object_get_ex(o, "shipping", &x))
        apply_addr(st, &c->shipping, x);
    return 0;
}

int
woo_apply_product(struct woo_state *st, struct woo_product *pr, struct json_object *o,
                  struct sbx_resp *resp)
{
    const char         *v;
    struct json_object *x;
    int64_t             n;

    if (money_field(o, "regular_price", &pr->regular, resp) < 0 ||
        money_field(o, "sale_price", &pr->sale, resp) < 0)
        return -1;
    v = jstr(o, "name");
    if (v != NULL)
        pr->name = woo_dup(st, v);
    v = jstr(o, "slug");
    if (v != NULL && v[0] != '\0')
        pr->slug = woo_dup(st, v);
    v = jstr(o, "description");
    if (v != NULL)
        pr->description = woo_dup(st, v);
    v = jstr(o, "sku");
    if (v != NULL) {
        size_t i;

        for (i = 0; v[0] != '\0' && i < st->nproducts; i++) {
            if (&st->products[i] != pr && !st->products[i].deleted &&
                strcmp(st->products[i].sku, v) == 0) {
                woo_error(resp, 400, "product_invalid_sku", "Invalid or duplicated SKU.");
                return -1;
            }
        }
        pr->sku = woo_dup(st, v);
    }
    v = jstr(o, "status");
    if (v != NULL) {
        static const char *const ok[] = {"draft", "pending", "private", "publish"};
        size_t                   i;

        for (i = 0; i < NELEM(ok) && strcmp(ok[i], v) != 0; i++)
            ;
        if (i == NELEM(ok)) {
            invalid_param(resp, "status", "status is not one of draft, pending, private, and "
                                          "publish.");
            return -1;
        }
        pr->status = ok[i];
    }
    v = jstr(o, "type");
    if (v != NULL) {
        if (strcmp(v, "simple") == 0) {
            pr->type = "simple";
        } else if (strcmp(v, "variable") == 0) {
            pr->type = "variable";
            if (pr->attr_name == NULL)
                pr->attr_name = "Size";
        } else {
            invalid_param(resp, "type", "type is not one of simple, grouped, external, and "
                                        "variable.");
            return -1;
        }
    }
    v = jstr(o, "tax_status");
    if (v != NULL) {
        pr->tax_status = strcmp(v, "none") == 0       ? "none"
                       : strcmp(v, "shipping") == 0   ? "shipping"
                                                      : "taxable";
    }
    if (json_object_object_get_ex(o, "manage_stock", &x))
        pr->manage_stock = json_object_get_boolean(x);
    if (json_object_object_get_ex(o, "stock_quantity", &x) &&
        !json_object_is_type(x, json_type_null)) {
        if (sbx_parse_i64(json_object_get_string(x), -1000000, 1000000000, &n) < 0) {
            invalid_param(resp, "stock_quantity", "stock_quantity is not of type integer.");
            return -1;
        }
        pr->stock = n;
    }
    return 0;
}

static int
apply_variation(struct woo_state *st, struct woo_variation *v, struct json_object *o,
                struct sbx_resp *resp)
{
    struct json_object *x;
    const char         *s;
    int64_t             n;

    if (money_field(o, "regular_price", &v->regular, resp) < 0 ||
        money_field(o, "sale_price", &v->sale, resp) < 0)
        return -1;
    s = jstr(o, "sku");
    if (s != NULL)
        v->sku = woo_dup(st, s);
    if (json_object_object_get_ex(o, "manage_stock", &x))
        v->manage_stock = json_object_get_boolean(x);
    if (json_object_object_get_ex(o, "stock_quantity", &x) &&
        !json_object_is_type(x, json_type_null)) {
        if (sbx_parse_i64(json_object_get_string(x), -1000000, 1000000000, &n) < 0) {
            invalid_param(resp, "stock_quantity", "stock_quantity is not of type integer.");
            return -1;
        }
        v->stock = n;
    }
    if (json_object_object_get_ex(o, "attributes", &x) &&
        json_object_is_type(x, json_type_array) && json_object_array_length(x) > 0) {
        s = jstr(json_object_array_get_idx(x, 0), "option");
        if (s != NULL)
            v->option = woo_dup(st, s);
    }
    return 0;
}

static const char *const order_statuses[] = {
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
    "checkout-draft", "trash",
};

int
woo_apply_order(struct woo_state *st, struct woo_order *o, struct json_object *in,
                struct sbx_resp *resp)
{
    const char         *v;
    struct json_object *x;
    size_t              i;
    bool                status_given;

    v = jstr(in, "status");
    status_given = v != NULL;
    if (v != NULL) {
        for (i = 0; i < NELEM(order_statuses) && strcmp(order_statuses[i], v) != 0; i++)
            ;
        if (i == NELEM(order_statuses)) {
            invalid_param(resp, "status", "status is not one of the allowed values.");
            return -1;
        }
        o->status = order_statuses[i];
    }
    v = jstr(in, "currency");
    if (v != NULL) {
        if (strlen(v) != 3) {
            invalid_param(resp, "currency", "currency is not one of the allowed values.");
            return -1;
        }
        o->currency = woo_dup(st, v);
    }
    if (json_object_object_get_ex(in, "customer_id", &x)) {
        int64_t cid = json_object_get_int64(x);

        if (cid != 0 && (woo_find_customer(st, cid) == NULL ||
                         woo_find_customer(st, cid)->deleted)) {
            woo_error(resp, 400, "woocommerce_rest_invalid_customer_id",
                      "Customer ID is invalid.");
            return -1;
        }
        o->customer_id = cid;
    }
    if (json_object_object_get_ex(in, "billing", &x))
        apply_addr(st, &o->billing, x);
    if (json_object_object_get_ex(in, "shipping", &x))
        apply_addr(st, &o->shipping, x);
    v = jstr(in, "customer_note");
    if (v != NULL)
        o->note = woo_dup(st, v);
    v = jstr(in, "transaction_id");
    if (v != NULL)
        o->transaction_id = woo_dup(st, v);
    v = jstr(in, "payment_method");
    if (v != NULL)
        o->payment_method = woo_dup(st, v);
    v = jstr(in, "payment_method_title");
    if (v != NULL)
        o->payment_title = woo_dup(st, v);
    if (json_object_object_get_ex(in, "line_items", &x) &&
        json_object_is_type(x, json_type_array) && json_object_array_length(x) > 0) {
        size_t           n = json_object_array_length(x);
        struct woo_line *lines;

        if (n > 500) {
            invalid_param(resp, "line_items", "too many line items");
            return -1;
        }
        lines = sbx_arena_alloc(st->arena, n * sizeof(*lines));
        if (lines == NULL)
            return -1;
        memset(lines, 0, n * sizeof(*lines));
        for (i = 0; i < n; i++) {
            struct json_object *li = json_object_array_get_idx(x, i);
            struct json_object *y;
            struct woo_product *pr = NULL;
            int64_t             unit = 0;

            lines[i].id = st->next_item_id++;
            lines[i].quantity = 1;
            if (json_object_object_get_ex(li, "quantity", &y))
                lines[i].quantity = json_object_get_int64(y);
            if (lines[i].quantity < 1 || lines[i].quantity > 100000) {
                invalid_param(resp, "line_items", "quantity must be positive");
                return -1;
            }
            if (json_object_object_get_ex(li, "product_id", &y)) {
                pr = woo_find_product(st, json_object_get_int64(y));
                if (pr == NULL || pr->deleted) {
                    woo_error(resp, 400, "woocommerce_rest_invalid_product_id",
                              "Product ID provided is not associated with order.");
                    return -1;
                }
                lines[i].product_id = pr->id;
                lines[i].name = pr->name;
                lines[i].sku = pr->sku;
                unit = pr->sale ? pr->sale : pr->regular;
            }
            if (pr != NULL && json_object_object_get_ex(li, "variation_id", &y) &&
                json_object_get_int64(y) != 0) {
                size_t k;

                for (k = 0; k < pr->nvars && pr->vars[k].id != json_object_get_int64(y); k++)
                    ;
                if (k == pr->nvars) {
                    woo_error(resp, 400, "woocommerce_rest_invalid_variation_id",
                              "Variation ID provided is not associated with product.");
                    return -1;
                }
                lines[i].variation_id = pr->vars[k].id;
                lines[i].sku = pr->vars[k].sku;
                unit = pr->vars[k].regular;
            }
            if (lines[i].name == NULL) {
                v = jstr(li, "name");
                lines[i].name = woo_dup(st, v != NULL ? v : "Custom item");
                lines[i].sku = woo_dup(st, "");
            }
            if (money_field(li, "subtotal", &unit, resp) < 0)
                return -1;
            if (jhas(li, "subtotal"))
                lines[i].subtotal = unit;
            else
                lines[i].subtotal = unit * lines[i].quantity;
        }
        o->lines = lines;
        o->nlines = n;
    }
    if (json_object_object_get_ex(in, "shipping_lines", &x) &&
        json_object_is_type(x, json_type_array) && json_object_array_length(x) > 0) {
        struct json_object *sl = json_object_array_get_idx(x, 0);

        v = jstr(sl, "method_title");
        if (v != NULL)
            o->ship_title = woo_dup(st, v);
        v = jstr(sl, "method_id");
        if (v != NULL)
            o->ship_method = woo_dup(st, v);
        if (money_field(sl, "total", &o->ship_total, resp) < 0)
            return -1;
    }
    if (json_object_object_get_ex(in, "coupon_lines", &x) &&
        json_object_is_type(x, json_type_array)) {
        if (json_object_array_length(x) == 0) {
            o->coupon = NULL;
        } else {
            v = jstr(json_object_array_get_idx(x, 0), "code");
            if (v != NULL && v[0] != '\0') {
                o->coupon = woo_dup(st, v);
                if (o->coupon_pct == 0)
                    o->coupon_pct = 10;
            }
        }
    }
    if (json_object_object_get_ex(in, "set_paid", &x) && json_object_get_boolean(x)) {
        o->paid = o->modified;
        if (!status_given || strcmp(o->status, "pending") == 0)
            o->status = "processing";
    }
    woo_order_recompute(o);
    return 0;
}

/* ------------------------------------------------------------------ single records */

static struct json_object *
body_json(struct sbx_req *req, struct sbx_resp *resp)
{
    struct json_object *o;

    if (req->body_len == 0)
        return json_object_new_object();
    o = sbx_req_json(req);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        woo_error(resp, 400, "rest_invalid_json", "Invalid JSON body passed.");
        return NULL;
    }
    return o;
}

static void
reply_customer(struct sbx_resp *resp, struct woo_state *st, const struct woo_customer *c,
               int status)
{
    struct sbx_jw w;

    resp->status = status;
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    woo_render_customer(&w, st, c);
    sbx_jw_flush(&w);
}

static void
reply_product(struct sbx_resp *resp, struct woo_state *st, const struct woo_product *pr,
              int status)
{
    struct sbx_jw w;

    resp->status = status;
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    woo_render_product(&w, st, pr);
    sbx_jw_flush(&w);
}

static void
reply_order(struct sbx_resp *resp, struct woo_state *st, const struct woo_order *o,
            int status)
{
    struct sbx_jw w;

    resp->status = status;
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    woo_render_order(&w, st, o);
    sbx_jw_flush(&w);
}

static bool
force_param(struct sbx_req *req)
{
    const char *v = woo_q(req, "force");
    bool        b = false;

    return v != NULL && bool_param(v, &b) && b;
}

/* One write on a customer; also used by batch items. Returns the record or NULL (error set). */
static struct woo_customer *
customer_write(struct sbx_platform *p, struct woo_state *st, int64_t id, enum sbx_method m,
               struct json_object *o, bool force, struct sbx_resp *resp, int *status)
{
    int64_t              now = sbx_now(p->sbx);
    struct woo_customer *c;

    *status = 200;
    if (m == SBX_POST && id == 0) {
        c = woo_new_customer(st, now);
        if (c == NULL) {
            woo_error(resp, 500, "internal_error", "Out of memory.");
            return NULL;
        }
        c->email = woo_dup(st, "");
        c->billing.email = woo_dup(st, "");
        if (woo_apply_customer(st, c, o, true, resp) < 0) {
            c->deleted = true;
            return NULL;
        }
        if (jstr(o, "username") == NULL) {
            const char *at = strchr(c->email, '@');

            c->username = sbx_arena_strndup(st->arena, c->email,
                                            at ? (size_t)(at - c->email) : strlen(c->email));
        }
        *status = 201;
        woo_emit(p, st, WOO_CUSTOMER, "created", c);
        return c;
    }
    c = woo_find_customer(st, id);
    if (c == NULL || c->deleted) {
        woo_error(resp, 404, "woocommerce_rest_invalid_id", "Invalid resource ID.");
        return NULL;
    }
    if (m == SBX_DELETE) {
        if (!force) {
            woo_error(resp, 501, "woocommerce_rest_trash_not_supported",
                      "Customers do not support trashing.");
            return NULL;
        }
        c->deleted = true;
        woo_emit(p, st, WOO_CUSTOMER, "deleted", c);
        return c;
    }
    if (woo_apply_customer(st, c, o, false, resp) < 0)
        return NULL;
    c->modified = now;
    woo_emit(p, st, WOO_CUSTOMER, "updated", c);
    return c;
}

static struct woo_product *
product_write(struct sbx_platform *p, struct woo_state *st, int64_t id, enum sbx_method m,
              struct json_object *o, bool force, struct sbx_resp *resp, int *status)
{
    int64_t             now = sbx_now(p->sbx);
    struct woo_product *pr;

    *status = 200;
    if (m == SBX_POST && id == 0) {
        const char *type = jstr(o, "type");

        pr = woo_new_product(st, now, 0);
        if (pr == NULL) {
            woo_error(resp, 500, "internal_error", "Out of memory.");
            return NULL;
        }
        pr->name = woo_dup(st, "");
        pr->sku = woo_dup(st, "");
        pr->regular = 0;
        pr->sale = 0;
        pr->manage_stock = false;
        pr->type = type != NULL && strcmp(type, "variable") == 0 ? "variable" : "simple";
        if (woo_apply_product(st, pr, o, resp) < 0) {
            pr->deleted = true;
            return NULL;
        }
        *status = 201;
        woo_emit(p, st, WOO_PRODUCT, "created", pr);
        return pr;
    }
    pr = woo_find_product(st, id);
    if (pr == NULL || pr->deleted) {
        woo_error(resp, 404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
        return NULL;
    }
    if (m == SBX_DELETE) {
        if (force) {
            pr->deleted = true;
        } else if (strcmp(pr->status, "trash") == 0) {
            woo_error(resp, 410, "woocommerce_rest_already_trashed",
                      "The product has already been deleted.");
            return NULL;
        } else {
            pr->status = "trash";
            pr->modified = now;
        }
        woo_emit(p, st, WOO_PRODUCT, "deleted", pr);
        return pr;
    }
    if (woo_apply_product(st, pr, o, resp) < 0)
        return NULL;
    pr->modified = now;
    woo_emit(p, st, WOO_PRODUCT, "updated", pr);
    return pr;
}

static struct woo_order *
order_write(struct sbx_platform *p, struct woo_state *st, int64_t id, enum sbx_method m,
            struct json_object *o, bool force, struct sbx_resp *resp, int *status)
{
    int64_t           now = sbx_now(p->sbx);
    struct woo_order *ord;
    const char       *before;

    *status = 200;
    if (m == SBX_POST && id == 0) {
        ord = woo_new_order(st, now);
        if (ord == NULL) {
            woo_error(resp, 500, "internal_error", "Out of memory.");
            return NULL;
        }
        /* Created through the API: pending and empty until the body says otherwise. */
        ord->status = "pending";
        ord->paid = 0;
        ord->customer_id = 0;
        ord->coupon = NULL;
        ord->nlines = 0;
        ord->ship_total = 0;
        ord->ship_title = "Flat rate";
        ord->ship_method = "flat_rate";
        ord->currency = st->currency;
        ord->note = woo_dup(st, "");
        ord->transaction_id = woo_dup(st, "");
        if (woo_apply_order(st, ord, o, resp) < 0) {
            ord->deleted = true;
            return NULL;
        }
        if (strcmp(ord->status, "completed") == 0)
            ord->completed = now;
        *status = 201;
        woo_emit(p, st, WOO_ORDER, "created", ord);
        return ord;
    }
    ord = woo_find_order(st, id);
    if (ord == NULL || ord->deleted) {
        woo_error(resp, 404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
        return NULL;
    }
    if (m == SBX_DELETE) {
        if (force) {
            ord->deleted = true;
        } else if (strcmp(ord->status, "trash") == 0) {
            woo_error(resp, 410, "woocommerce_rest_already_trashed",
                      "The order has already been deleted.");
            return NULL;
        } else {
            ord->status = "trash";
            ord->modified = now;
        }
        woo_emit(p, st, WOO_ORDER, "deleted", ord);
        return ord;
    }
    before = ord->status;
    if (woo_apply_order(st, ord, o, resp) < 0)
        return NULL;
    if (strcmp(ord->status, "completed") == 0 && strcmp(before, "completed") != 0)
        ord->completed = now;
    if ((strcmp(ord->status, "processing") == 0 || strcmp(ord->status, "completed") == 0) &&
        ord->paid == 0)
        ord->paid = now;
    ord->modified = now;
    woo_emit(p, st, WOO_ORDER, "updated", ord);
    return ord;
}

/* ------------------------------------------------------------------ batch */

enum batch_kind { B_CUSTOMER, B_PRODUCT, B_ORDER };

static void
batch_item_error(struct sbx_jw *w, int64_t id, struct sbx_resp *err)
{
    struct json_object *e;
    size_t              len = evbuffer_get_length(err->body);
    char               *s = malloc(len + 1);

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", id);
    sbx_jw_key(w, "error");
    if (s != NULL) {
        evbuffer_copyout(err->body, s, len);
        s[len] = '\0';
        e = json_tokener_parse(s);
        if (e != NULL)
            sbx_jw_raw(w, s);
        else
            sbx_jw_null(w);
        json_object_put(e);
        free(s);
    } else {
        sbx_jw_null(w);
    }
    sbx_jw_obj_end(w);
    evbuffer_drain(err->body, len);
}

static void
batch_render(struct sbx_jw *w, struct woo_state *st, enum batch_kind k, const void *rec)
{
    if (k == B_CUSTOMER)
        woo_render_customer(w, st, rec);
    else if (k == B_PRODUCT)
        woo_render_product(w, st, rec);
    else
        woo_render_order(w, st, rec);
}

static const void *
batch_one(struct sbx_platform *p, struct woo_state *st, enum batch_kind k, int64_t id,
          enum sbx_method m, struct json_object *o, struct sbx_resp *err)
{
    int status;

    if (k == B_CUSTOMER)
        return customer_write(p, st, id, m, o, true, err, &status);
    if (k == B_PRODUCT)
        return product_write(p, st, id, m, o, true, err, &status);
    return order_write(p, st, id, m, o, true, err, &status);
}

static void
batch(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req, struct sbx_resp *resp,
      enum batch_kind k)
{
    struct json_object *body = body_json(req, resp);
    struct json_object *cr = NULL;
    struct json_object *up = NULL;
    struct json_object *de = NULL;
    struct sbx_resp     err;
    struct evkeyvalq    errh;
    struct sbx_jw       w;
    size_t              total = 0;
    size_t              i;

    if (body == NULL)
        return;
    if (json_object_object_get_ex(body, "create", &cr) && json_object_is_type(cr,
                                                                              json_type_array))
        total += json_object_array_length(cr);
    else
        cr = NULL;
    if (json_object_object_get_ex(body, "update", &up) && json_object_is_type(up,
                                                                              json_type_array))
        total += json_object_array_length(up);
    else
        up = NULL;
    if (json_object_object_get_ex(body, "delete", &de) && json_object_is_type(de,
                                                                              json_type_array))
        total += json_object_array_length(de);
    else
        de = NULL;
    if (total > WOO_BATCH_MAX) {
        json_object_put(body);
        woo_error(resp, 413, "woocommerce_rest_request_entity_too_large",
                  "Unable to accept more than 100 items for this request.");
        return;
    }
    memset(&err, 0, sizeof(err));
    err.body = evbuffer_new();
    TAILQ_INIT(&errh);
    err.headers = &errh;
    if (err.body == NULL) {
        json_object_put(body);
        woo_error(resp, 500, "internal_error", "Out of memory.");
        return;
    }
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    if (cr != NULL) {
        sbx_jw_key(&w, "create");
        sbx_jw_arr(&w);
        for (i = 0; i < json_object_array_length(cr); i++) {
            struct json_object *o = json_object_array_get_idx(cr, i);
            const void         *rec = batch_one(p, st, k, 0, SBX_POST, o, &err);

            if (rec != NULL)
                batch_render(&w, st, k, rec);
            else
                batch_item_error(&w, 0, &err);
        }
        sbx_jw_arr_end(&w);
    }
    if (up != NULL) {
        sbx_jw_key(&w, "update");
        sbx_jw_arr(&w);
        for (i = 0; i < json_object_array_length(up); i++) {
            struct json_object *o = json_object_array_get_idx(up, i);
            struct json_object *x;
            int64_t             id = 0;
            const void         *rec;

            if (json_object_object_get_ex(o, "id", &x))
                id = json_object_get_int64(x);
            rec = id > 0 ? batch_one(p, st, k, id, SBX_PUT, o, &err) : NULL;
            if (id <= 0)
                woo_error(&err, 400, "woocommerce_rest_invalid_id", "Invalid ID.");
            if (rec != NULL)
                batch_render(&w, st, k, rec);
            else
                batch_item_error(&w, id, &err);
        }
        sbx_jw_arr_end(&w);
    }
    if (de != NULL) {
        sbx_jw_key(&w, "delete");
        sbx_jw_arr(&w);
        for (i = 0; i < json_object_array_length(de); i++) {
            int64_t     id = json_object_get_int64(json_object_array_get_idx(de, i));
            const void *rec = batch_one(p, st, k, id, SBX_DELETE, NULL, &err);

            if (rec != NULL)
                batch_render(&w, st, k, rec);
            else
                batch_item_error(&w, id, &err);
        }
        sbx_jw_arr_end(&w);
    }
    sbx_jw_obj_end(&w);
    sbx_jw_flush(&w);
    evbuffer_free(err.body);
    evhttp_clear_headers(&errh);
    json_object_put(body);
}

/* ------------------------------------------------------------------ variations, refunds */

static void
variations(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
           struct sbx_resp *resp, struct woo_product *pr, const char *rest, bool can_write)
{
    int64_t               now = sbx_now(p->sbx);
    struct sbx_jw         w;
    struct woo_variation *v = NULL;
    int64_t               vid = 0;
    struct json_object   *o;
    size_t                i;

    if (*rest == '/') {
        rest++;
        if (sbx_parse_i64(rest, 1, INT64_MAX, &vid) < 0) {
            woo_error(resp, 404, "rest_no_route",
                      "No route was found matching the URL and request method.");
            return;
        }
        for (i = 0; i < pr->nvars; i++) {
            if (pr->vars[i].id == vid && !pr->vars[i].deleted)
                v = &pr->vars[i];
        }
        if (v == NULL) {
            woo_error(resp, 404, "woocommerce_rest_product_variation_invalid_id",
                      "Invalid ID.");
            return;
        }
    }
    if (req->method != SBX_GET && !can_write) {
        woo_error(resp, 401, "woocommerce_rest_cannot_edit",
                  "Sorry, you are not allowed to edit this resource.");
        return;
    }
    if (v == NULL && req->method == SBX_GET) {
        struct listq    q;
        struct sortent *e;
        size_t          n = 0;
        size_t          from;
        size_t          to;

        if (parse_listq(st, req, resp, &q, post_obs, OB_DATE, true, true) < 0)
            return;
        e = malloc((pr->nvars + 1) * sizeof(*e));
        if (e == NULL) {
            woo_error(resp, 500, "internal_error", "Out of memory.");
            return;
        }
        for (i = 0; i < pr->nvars; i++) {
            if (pr->vars[i].deleted ||
                !listq_match(&q, pr->vars[i].id, pr->vars[i].created, pr->vars[i].modified))
                continue;
            e[n].id = pr->vars[i].id;
            e[n].idx = i;
            e[n].s = NULL;
            e[n].k = q.orderby == OB_DATE ? pr->vars[i].created
                   : q.orderby == OB_MODIFIED ? pr->vars[i].modified : pr->vars[i].id;
            n++;
        }
        sort_entries(e, n, &q);
        page_headers(resp, st, req, &q, n, &from, &to);
        woo_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_arr(&w);
        for (i = from; i < to; i++)
            woo_render_variation(&w, st, pr, &pr->vars[e[i].idx]);
        sbx_jw_arr_end(&w);
        free(e);
        return;
    }
    if (v == NULL && req->method == SBX_POST) {
        o = body_json(req, resp);
        if (o == NULL)
            return;
        if (pr->nvars >= 200) {
            json_object_put(o);
            woo_error(resp, 400, "woocommerce_rest_too_many_variations", "Too many variations.");
            return;
        }
        pr->vars = realloc(pr->vars, (pr->nvars + 1) * sizeof(*pr->vars));
        if (pr->vars == NULL) {
            json_object_put(o);
            pr->nvars = 0;
            woo_error(resp, 500, "internal_error", "Out of memory.");
            return;
        }
        pr->cap_vars = pr->nvars + 1;
        v = &pr->vars[pr->nvars++];
        memset(v, 0, sizeof(*v));
        v->id = st->next_post_id++;
        v->created = v->modified = now;
        v->sku = woo_dup(st, "");
        v->option = "One size";
        if (apply_variation(st, v, o, resp) < 0) {
            v->deleted = true;
            json_object_put(o);
            return;
        }
        json_object_put(o);
        pr->type = "variable";
        if (pr->attr_name == NULL)
            pr->attr_name = "Size";
        resp->status = 201;
    } else if (v != NULL && (req->method == SBX_PUT || req->method == SBX_POST ||
                             req->method == SBX_PATCH)) {
        o = body_json(req, resp);
        if (o == NULL)
            return;
        if (apply_variation(st, v, o, resp) < 0) {
            json_object_put(o);
            return;
        }
        json_object_put(o);
        v->modified = now;
    } else if (v != NULL && req->method == SBX_DELETE) {
        v->deleted = true;
    } else if (v == NULL || req->method != SBX_GET) {
        woo_error(resp, 404, "rest_no_route",
                  "No route was found matching the URL and request method.");
        return;
    }
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    woo_render_variation(&w, st, pr, v);
    sbx_jw_flush(&w);
    if (req->method != SBX_GET)
        woo_emit(p, st, WOO_PRODUCT, "updated", pr);
}

static void
refunds(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
        struct sbx_resp *resp, struct woo_order *o, const char *rest, bool can_write)
{
    struct sbx_jw       w;
    struct json_object *body;
    struct json_object *x;
    int64_t             rid;
    int64_t             amount = 0;
    int                 line = -1;
    int64_t             qty = 0;
    size_t              i;
    const char         *reason;

    if (*rest == '/') {
        if (sbx_parse_i64(rest + 1, 1, INT64_MAX, &rid) < 0) {
            woo_error(resp, 404, "rest_no_route",
                      "No route was found matching the URL and request method.");
            return;
        }
        for (i = 0; i < o->nrefunds && o->refunds[i].id != rid; i++)
            ;
        if (i == o->nrefunds || req->method != SBX_GET) {
            woo_error(resp, 404, "woocommerce_rest_invalid_id", "Invalid ID.");
            return;
        }
        woo_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        woo_render_refund(&w, st, o, &o->refunds[i]);
        sbx_jw_flush(&w);
        return;
    }
    if (req->method == SBX_GET) {
        char buf[32];

        snprintf(buf, sizeof(buf), "%zu", o->nrefunds);
        sbx_resp_header(resp, "X-WP-Total", buf);
        sbx_resp_header(resp, "X-WP-TotalPages", o->nrefunds ? "1" : "0");
        woo_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_arr(&w);
        for (i = o->nrefunds; i > 0; i--)
            woo_render_refund(&w, st, o, &o->refunds[i - 1]);
        sbx_jw_arr_end(&w);
        return;
    }
    if (req->method != SBX_POST) {
        woo_error(resp, 404, "rest_no_route",
                  "No route was found matching the URL and request method.");
        return;
    }
    if (!can_write) {
        woo_error(resp, 401, "woocommerce_rest_cannot_create",
                  "Sorry, you are not allowed to create resources.");
        return;
    }
    body = body_json(req, resp);
    if (body == NULL)
        return;
    if (money_field(body, "amount", &amount, resp) < 0) {
        json_object_put(body);
        return;
    }
    if (json_object_object_get_ex(body, "line_items", &x) &&
        json_object_is_type(x, json_type_array) && json_object_array_length(x) > 0) {
        struct json_object *li = json_object_array_get_idx(x, 0);
        struct json_object *y;
        int64_t             item = 0;

        if (json_object_object_get_ex(li, "id", &y))
            item = json_object_get_int64(y);
        for (i = 0; i < o->nlines && o->lines[i].id != item; i++)
            ;
        if (i < o->nlines) {
            line = (int)i;
            qty = 1;
            if (json_object_object_get_ex(li, "quantity", &y))
                qty = json_object_get_int64(y);
            if (amount == 0 && o->lines[i].quantity > 0)
                amount = (o->lines[i].total + o->lines[i].total_tax) / o->lines[i].quantity *
                         qty;
        }
    }
    reason = jstr(body, "reason");
    if (amount <= 0 || amount > woo_order_total(o) - woo_order_refunded(o)) {
        json_object_put(body);
        woo_error(resp, 500, "woocommerce_rest_cannot_create_order_refund",
                  "Invalid refund amount.");
        return;
    }
    if (woo_add_refund(st, o, amount, line, qty, reason != NULL ? reason : "",
                       sbx_now(p->sbx)) < 0) {
        json_object_put(body);
        woo_error(resp, 500, "internal_error", "Out of memory.");
        return;
    }
    json_object_put(body);
    /* platforms.md 2.4: refunds change the parent order's date_modified. */
    o->modified = sbx_now(p->sbx);
    if (woo_order_refunded(o) >= woo_order_total(o))
        o->status = "refunded";
    resp->status = 201;
    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    woo_render_refund(&w, st, o, &o->refunds[o->nrefunds - 1]);
    sbx_jw_flush(&w);
    woo_emit(p, st, WOO_ORDER, "updated", o);
}

/* ------------------------------------------------------------------ system status */

static void
system_status(struct woo_state *st, struct sbx_resp *resp)
{
    struct sbx_jw w;

    woo_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, "environment");
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "home_url", st->base_url);
    sbx_jw_kstr(&w, "site_url", st->base_url);
    sbx_jw_kstr(&w, "store_id", "sandbox");
    sbx_jw_kstr(&w, "version", st->old_store ? "4.9.0" : WOO_WC_VERSION);
    sbx_jw_kstr(&w, "wp_version", st->old_store ? "5.6" : WOO_WP_VERSION);
    sbx_jw_kbool(&w, "wp_multisite", false);
    sbx_jw_ki64(&w, "wp_memory_limit", 268435456);
    sbx_jw_kbool(&w, "wp_debug_mode", false);
    sbx_jw_kbool(&w, "wp_cron", true);
    sbx_jw_kstr(&w, "language", "en_US");
    sbx_jw_kstr(&w, "server_info", "simplix-sandbox");
    sbx_jw_kstr(&w, "php_version", "8.2.0");
    sbx_jw_kstr(&w, "default_timezone", "UTC");
    sbx_jw_obj_end(&w);
    sbx_jw_key(&w, "database");
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "wc_database_version", st->old_store ? "4.9.0" : WOO_WC_VERSION);
    sbx_jw_kstr(&w, "database_prefix", "wp_");
    sbx_jw_obj_end(&w);
    sbx_jw_key(&w, "active_plugins");
    sbx_jw_arr(&w);
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "plugin", "woocommerce/woocommerce.php");
    sbx_jw_kstr(&w, "name", "WooCommerce");
    sbx_jw_kstr(&w, "version", st->old_store ? "4.9.0" : WOO_WC_VERSION);
    sbx_jw_obj_end(&w);
    sbx_jw_arr_end(&w);
    sbx_jw_key(&w, "settings");
    sbx_jw_obj(&w);
    sbx_jw_kbool(&w, "api_enabled", true);
    sbx_jw_kstr(&w, "currency", st->currency);
    sbx_jw_kstr(&w, "currency_position", "left");
    sbx_jw_kstr(&w, "thousand_separator", ",");
    sbx_jw_kstr(&w, "decimal_separator", ".");
    sbx_jw_ki64(&w, "number_of_decimals", 2);
    sbx_jw_obj_end(&w);
    sbx_jw_obj_end(&w);
}

/* ------------------------------------------------------------------ routing */

static bool
split_id(const char *s, int64_t *id, const char **rest)
{
    char   buf[24];
    size_t len = strspn(s, "0123456789");

    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (sbx_parse_i64(buf, 1, INT64_MAX, id) < 0)
        return false;
    *rest = s + len;
    return true;
}

static void
no_route(struct sbx_resp *resp)
{
    woo_error(resp, 404, "rest_no_route",
              "No route was found matching the URL and request method.");
}

static bool
writes_allowed(struct sbx_req *req, struct sbx_resp *resp, bool can_write)
{
    if (req->method == SBX_GET || can_write)
        return true;
    if (req->method == SBX_POST)
        woo_error(resp, 401, "woocommerce_rest_cannot_create",
                  "Sorry, you are not allowed to create resources.");
    else if (req->method == SBX_DELETE)
        woo_error(resp, 401, "woocommerce_rest_cannot_delete",
                  "Sorry, you are not allowed to delete this resource.");
    else
        woo_error(resp, 401, "woocommerce_rest_cannot_edit",
                  "Sorry, you are not allowed to edit this resource.");
    return false;
}

static bool
is_edit(enum sbx_method m)
{
    return m == SBX_POST || m == SBX_PUT || m == SBX_PATCH;
}

void
woo_handle_api(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
               struct sbx_resp *resp, const char *route)
{
    bool                can_write = false;
    const char         *rest;
    int64_t             id;
    int                 status;
    struct json_object *o = NULL;
    enum batch_kind     bk;
    const char         *name;

    if (woo_authenticate(p, st, req, resp, &can_write) < 0)
        return;
    if (strcmp(route, "system_status") == 0 && req->method == SBX_GET) {
        system_status(st, resp);
        return;
    }
    if (strncmp(route, "webhooks", 8) == 0 && (route[8] == '\0' || route[8] == '/')) {
        woo_handle_hooks_api(p, st, req, resp, route + 8, can_write);
        return;
    }
    if (strncmp(route, "customers", 9) == 0) {
        bk = B_CUSTOMER;
        rest = route + 9;
    } else if (strncmp(route, "products", 8) == 0) {
        bk = B_PRODUCT;
        rest = route + 8;
    } else if (strncmp(route, "orders", 6) == 0) {
        bk = B_ORDER;
        rest = route + 6;
    } else {
        no_route(resp);
        return;
    }
    if (!writes_allowed(req, resp, can_write))
        return;
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        if (req->method == SBX_GET) {
            if (bk == B_CUSTOMER)
                list_customers(st, req, resp);
            else if (bk == B_PRODUCT)
                list_products(st, req, resp);
            else
                list_orders(st, req, resp);
            return;
        }
        if (req->method != SBX_POST) {
            no_route(resp);
            return;
        }
        id = 0;
    } else if (strcmp(rest, "/batch") == 0) {
        if (!is_edit(req->method)) {
            no_route(resp);
            return;
        }
        batch(p, st, req, resp, bk);
        return;
    } else if (rest[0] == '/' && split_id(rest + 1, &id, &rest)) {
        if (bk == B_PRODUCT && strncmp(rest, "/variations", 11) == 0) {
            struct woo_product *pr = woo_find_product(st, id);

            if (pr == NULL || pr->deleted) {
                woo_error(resp, 404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
                return;
            }
            variations(p, st, req, resp, pr, rest + 11, can_write);
            return;
        }
        if (bk == B_ORDER && strncmp(rest, "/refunds", 8) == 0) {
            struct woo_order *ord = woo_find_order(st, id);

            if (ord == NULL || ord->deleted) {
                woo_error(resp, 404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
                return;
            }
            refunds(p, st, req, resp, ord, rest + 8, can_write);
            return;
        }
        if (*rest != '\0') {
            no_route(resp);
            return;
        }
        if (req->method == SBX_GET) {
            if (bk == B_CUSTOMER) {
                struct woo_customer *c = woo_find_customer(st, id);

                if (c == NULL || c->deleted)
                    woo_error(resp, 404, "woocommerce_rest_invalid_id", "Invalid resource ID.");
                else
                    reply_customer(resp, st, c, 200);
            } else if (bk == B_PRODUCT) {
                struct woo_product *pr = woo_find_product(st, id);

                if (pr == NULL || pr->deleted)
                    woo_error(resp, 404, "woocommerce_rest_product_invalid_id", "Invalid ID.");
                else
                    reply_product(resp, st, pr, 200);
            } else {
                struct woo_order *ord = woo_find_order(st, id);

                if (ord == NULL || ord->deleted)
                    woo_error(resp, 404, "woocommerce_rest_shop_order_invalid_id",
                              "Invalid ID.");
                else
                    reply_order(resp, st, ord, 200);
            }
            return;
        }
        if (!is_edit(req->method) && req->method != SBX_DELETE) {
            no_route(resp);
            return;
        }
    } else {
        no_route(resp);
        return;
    }
    /* A write: create (id 0), update or delete. */
    if (req->method != SBX_DELETE) {
        o = body_json(req, resp);
        if (o == NULL)
            return;
    }
    name = NULL;
    if (bk == B_CUSTOMER) {
        struct woo_customer *c = customer_write(p, st, id, req->method, o, force_param(req),
                                                resp, &status);

        if (c != NULL)
            reply_customer(resp, st, c, status);
    } else if (bk == B_PRODUCT) {
        struct woo_product *pr = product_write(p, st, id, req->method, o, force_param(req),
                                               resp, &status);

        if (pr != NULL)
            reply_product(resp, st, pr, status);
    } else {
        struct woo_order *ord = order_write(p, st, id, req->method, o, force_param(req), resp,
                                            &status);

        if (ord != NULL)
            reply_order(resp, st, ord, status);
    }
    (void)name;
    json_object_put(o);
}
