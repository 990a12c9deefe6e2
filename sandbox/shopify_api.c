/*
 * Shopify imitation: REST resources under /admin/api/{version}/ (platforms.md 1.3-1.5):
 * shop, customers, products, orders (list, count, get; create and update where Shopify allows
 * it), with cursor pagination by Link header and opaque page_info.
 */
#include "shopify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#define MAX_IDS 250

enum entity { ENT_CUSTOMERS, ENT_PRODUCTS, ENT_ORDERS };

static const char *const financial_values[] = {
    "any", "authorized", "pending", "paid", "partially_paid", "refunded", "voided",
    "partially_refunded", "unpaid", NULL
};
static const char *const fulfillment_values[] = {
    "any", "shipped", "partial", "unshipped", "unfulfilled", NULL
};
static const char *const status_values[] = {"open", "closed", "cancelled", "any", NULL};
static const char *const product_status_values[] = {"", "active", "draft", "archived", NULL};

/* Everything a page depends on: frozen into page_info (platforms.md 1.4). */
struct filter {
    int     entity;
    int     desc;           /* order by id descending */
    int     back;           /* page_info points backwards (rel="previous") */
    int64_t last_id;        /* cursor: exclusive bound, 0 = start */
    int64_t since_id;
    int64_t created_min, created_max, updated_min, updated_max, processed_min, processed_max;
    int     status;         /* orders: index in status_values; products: product_status_values */
    int     financial;
    int     fulfillment;
    int64_t ids[MAX_IDS];
    size_t  nids;
};

void
shp_json_headers(struct sbx_resp *resp)
{
    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
}

void
shp_error(struct sbx_resp *resp, int status, const char *errors_json)
{
    resp->status = status;
    evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
    evbuffer_add_printf(resp->body, "{\"errors\":%s}", errors_json);
    shp_json_headers(resp);
}

static int
index_of(const char *const *values, const char *v)
{
    int i;

    for (i = 0; values[i] != NULL; i++) {
        if (strcmp(values[i], v) == 0)
            return i;
    }
    return -1;
}

/* ------------------------------------------------------------------ page_info */

static void
page_info_encode(struct shp_state *st, const struct filter *f, char *out, size_t cap)
{
    struct evbuffer *b = evbuffer_new();
    unsigned char    mac[32];
    char             hex[17];
    size_t           i;
    size_t           len;

    if (b == NULL || cap == 0) {
        if (b != NULL)
            evbuffer_free(b);
        if (cap > 0)
            out[0] = '\0';
        return;
    }
    evbuffer_add_printf(b, "1,%d,%d,%d,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                        ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%d,%d,%d",
                        f->entity, f->desc, f->back, f->last_id, f->since_id, f->created_min,
                        f->created_max, f->updated_min, f->updated_max, f->processed_min,
                        f->processed_max, f->status, f->financial, f->fulfillment);
    for (i = 0; i < f->nids; i++)
        evbuffer_add_printf(b, ",%" PRId64, f->ids[i]);
    len = evbuffer_get_length(b);
    /* A MAC keeps clients from editing the cursor: Shopify's page_info is opaque too. */
    sbx_hmac_sha256(&st->page_key, sizeof(st->page_key), evbuffer_pullup(b, -1), len, mac);
    sbx_hex_encode(mac, 8, hex);
    evbuffer_add_printf(b, ",%s", hex);
    if (sbx_b64url_encode(evbuffer_pullup(b, -1), evbuffer_get_length(b), out, cap) == 0)
        out[0] = '\0';
    evbuffer_free(b);
}

static int
page_info_decode(struct shp_state *st, const char *pi, struct filter *f)
{
    unsigned char raw[8192];
    long          n;
    char         *text;
    char         *tok;
    char         *save;
    int64_t       v[15];
    size_t        nv = 0;
    unsigned char mac[32];
    char          hex[17];
    char         *last_comma;

    if (strlen(pi) > 10000)
        return -1;
    n = sbx_b64_decode(pi, strlen(pi), raw, sizeof(raw) - 1);
    if (n <= 0)
        return -1;
    raw[n] = '\0';
    text = (char *)raw;
    last_comma = strrchr(text, ',');
    if (last_comma == NULL)
        return -1;
    sbx_hmac_sha256(&st->page_key, sizeof(st->page_key), text, (size_t)(last_comma - text), mac);
    sbx_hex_encode(mac, 8, hex);
    if (!sbx_str_eq_ct(hex, last_comma + 1))
        return -1;
    *last_comma = '\0';
    memset(f, 0, sizeof(*f));
    for (tok = strtok_r(text, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
        int64_t x;

        if (sbx_parse_i64(tok, INT64_MIN, INT64_MAX, &x) < 0)
            return -1;
        if (nv < 15) {
            v[nv++] = x;
        } else {
            if (f->nids >= MAX_IDS)
                return -1;
            f->ids[f->nids++] = x;
        }
    }
    if (nv != 15 || v[0] != 1)
        return -1;
    f->entity = (int)v[1];
    f->desc = (int)v[2];
    f->back = (int)v[3];
    f->last_id = v[4];
    f->since_id = v[5];
    f->created_min = v[6];
    f->created_max = v[7];
    f->updated_min = v[8];
    f->updated_max = v[9];
    f->processed_min = v[10];
    f->processed_max = v[11];
    f->status = (int)v[12];
    f->financial = (int)v[13];
    f->fulfillment = (int)v[14];
    return 0;
}

/* ------------------------------------------------------------------ filters from the query */

static int
time_param(struct shp_state *st, struct sbx_req *req, const char *name, int64_t *out,
           struct sbx_resp *resp)
{
    const char *v = sbx_req_query(req, name);
    char        msg[160];

    if (v == NULL || v[0] == '\0')
        return 0;
    /* A time without offset is read in the shop's zone (platforms.md 1.5: send an offset). */
    if (sbx_time_parse(v, st->utc_offset_min, out) < 0) {
        snprintf(msg, sizeof(msg), "{\"%s\":\"is not a valid date\"}", name);
        shp_error(resp, 400, msg);
        return -1;
    }
    return 0;
}

static int
filter_from_query(struct shp_state *st, struct sbx_req *req, int entity, struct filter *f,
                  struct sbx_resp *resp)
{
    const char *v;
    const char *order;

    memset(f, 0, sizeof(*f));
    f->entity = entity;
    f->created_min = f->updated_min = f->processed_min = INT64_MIN;
    f->created_max = f->updated_max = f->processed_max = INT64_MAX;
    v = sbx_req_query(req, "since_id");
    if (v != NULL && sbx_parse_i64(v, 0, INT64_MAX, &f->since_id) < 0) {
        shp_error(resp, 400, "{\"since_id\":\"expected Integer\"}");
        return -1;
    }
    if (time_param(st, req, "created_at_min", &f->created_min, resp) < 0 ||
        time_param(st, req, "created_at_max", &f->created_max, resp) < 0 ||
        time_param(st, req, "updated_at_min", &f->updated_min, resp) < 0 ||
        time_param(st, req, "updated_at_max", &f->updated_max, resp) < 0 ||
        time_param(st, req, "processed_at_min", &f->processed_min, resp) < 0 ||
        time_param(st, req, "processed_at_max", &f->processed_max, resp) < 0)
        return -1;
    v = sbx_req_query(req, "ids");
    if (v != NULL && v[0] != '\0') {
        char  buf[8192];
        char *tok;
        char *save;

        if (strlen(v) >= sizeof(buf)) {
            shp_error(resp, 400, "{\"ids\":\"too many ids\"}");
            return -1;
        }
        snprintf(buf, sizeof(buf), "%s", v);
        for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            while (*tok == ' ')
                tok++;
            if (f->nids >= MAX_IDS || sbx_parse_i64(tok, 1, INT64_MAX, &f->ids[f->nids]) < 0) {
                shp_error(resp, 400, "{\"ids\":\"expected a comma-separated list of ids\"}");
                return -1;
            }
            f->nids++;
        }
    }
    if (entity == ENT_ORDERS) {
        /* status=open by default, as the real one (platforms.md 1.5). */
        v = sbx_req_query(req, "status");
        f->status = v != NULL ? index_of(status_values, v) : 0;
        v = sbx_req_query(req, "financial_status");
        f->financial = v != NULL ? index_of(financial_values, v) : 0;
        v = sbx_req_query(req, "fulfillment_status");
        f->fulfillment = v != NULL ? index_of(fulfillment_values, v) : 0;
        if (f->status < 0 || f->financial < 0 || f->fulfillment < 0) {
            shp_error(resp, 400, "{\"status\":\"is not a valid value\"}");
            return -1;
        }
    } else if (entity == ENT_PRODUCTS) {
        v = sbx_req_query(req, "status");
        f->status = v != NULL ? index_of(product_status_values, v) : 0;
        if (f->status < 0) {
            shp_error(resp, 400, "{\"status\":\"is not a valid value\"}");
            return -1;
        }
    }
    /*
     * Order: ids ascending with since_id (changelog 2017-09); otherwise orders come newest
     * first and customers/products oldest first, unless `order` says otherwise.
     */
    f->desc = entity == ENT_ORDERS && f->since_id == 0;
    order = sbx_req_query(req, "order");
    if (order != NULL) {
        if (strcmp(order, "id asc") == 0 || strcmp(order, "created_at asc") == 0)
            f->desc = 0;
        else if (strcmp(order, "id desc") == 0 || strcmp(order, "created_at desc") == 0)
            f->desc = 1;
    }
    return 0;
}

static bool
in_range(int64_t t, int64_t lo, int64_t hi)
{
    return t >= lo && t <= hi;
}

static bool
id_listed(const struct filter *f, int64_t id)
{
    size_t i;

    if (f->nids == 0)
        return true;
    for (i = 0; i < f->nids; i++) {
        if (f->ids[i] == id)
            return true;
    }
    return false;
}

static bool
order_matches(const struct filter *f, const struct shp_order *o)
{
    const char *fs = o->financial_status;
    const char *ff = o->fulfillment_status;

    if (o->deleted || o->id <= f->since_id || !id_listed(f, o->id))
        return false;
    if (!in_range(o->created_at, f->created_min, f->created_max) ||
        !in_range(o->updated_at, f->updated_min, f->updated_max) ||
        !in_range(o->processed_at, f->processed_min, f->processed_max))
        return false;
    switch (f->status) {
    case 0:
        if (o->closed_at != 0 || o->cancelled_at != 0)
            return false;
        break;
    case 1:
        if (o->closed_at == 0)
            return false;
        break;
    case 2:
        if (o->cancelled_at == 0)
            return false;
        break;
    default:
        break;
    }
    if (f->financial == 8) {
        if (strcmp(fs, "authorized") != 0 && strcmp(fs, "pending") != 0 &&
            strcmp(fs, "partially_paid") != 0)
            return false;
    } else if (f->financial > 0 && strcmp(fs, financial_values[f->financial]) != 0) {
        return false;
    }
    switch (f->fulfillment) {
    case 1:
        return ff != NULL && strcmp(ff, "fulfilled") == 0;
    case 2:
        return ff != NULL && strcmp(ff, "partial") == 0;
    case 3:
        return ff == NULL;
    case 4:
        return ff == NULL || strcmp(ff, "partial") == 0;
    default:
        return true;
    }
}

static bool
record_matches(struct shp_state *st, const struct filter *f, size_t i)
{
    if (f->entity == ENT_ORDERS)
        return order_matches(f, &st->orders[i]);
    if (f->entity == ENT_CUSTOMERS) {
        const struct shp_customer *c = &st->customers[i];

        return !c->deleted && c->id > f->since_id && id_listed(f, c->id) &&
               in_range(c->created_at, f->created_min, f->created_max) &&
               in_range(c->updated_at, f->updated_min, f->updated_max);
    } else {
        const struct shp_product *p = &st->products[i];

        return !p->deleted && p->id > f->since_id && id_listed(f, p->id) &&
               in_range(p->created_at, f->created_min, f->created_max) &&
               in_range(p->updated_at, f->updated_min, f->updated_max) &&
               (f->status == 0 || strcmp(p->status, product_status_values[f->status]) == 0);
    }
}

static size_t
entity_count(struct shp_state *st, int entity)
{
    return entity == ENT_ORDERS ? st->norders
         : entity == ENT_CUSTOMERS ? st->ncustomers : st->nproducts;
}

static int64_t
entity_id(struct shp_state *st, int entity, size_t i)
{
    return entity == ENT_ORDERS ? st->orders[i].id
         : entity == ENT_CUSTOMERS ? st->customers[i].id : st->products[i].id;
}

/* First index with id > x (upper bound). */
static size_t
upper_bound(struct shp_state *st, int entity, int64_t x)
{
    size_t lo = 0;
    size_t hi = entity_count(st, entity);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (entity_id(st, entity, mid) <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index with id >= x (lower bound). */
static size_t
lower_bound(struct shp_state *st, int entity, int64_t x)
{
    size_t lo = 0;
    size_t hi = entity_count(st, entity);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (entity_id(st, entity, mid) < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Walk from the cursor in direction `fwd` (true: ascending ids), collecting up to `limit`
 * matching indexes into out[]; *more says whether another match exists beyond them. Each call
 * scans at most the records up to the first match past the page: O(n) over a whole listing.
 */
static size_t
scan(struct shp_state *st, const struct filter *f, bool fwd, int64_t cursor, bool has_cursor,
     size_t limit, size_t *out, bool *more)
{
    size_t n = entity_count(st, f->entity);
    size_t got = 0;
    size_t i;

    *more = false;
    if (fwd) {
        i = has_cursor ? upper_bound(st, f->entity, cursor) : 0;
        for (; i < n; i++) {
            if (!record_matches(st, f, i))
                continue;
            if (got == limit) {
                *more = true;
                break;
            }
            out[got++] = i;
        }
    } else {
        i = has_cursor ? lower_bound(st, f->entity, cursor) : n;
        while (i > 0) {
            i--;
            if (!record_matches(st, f, i))
                continue;
            if (got == limit) {
                *more = true;
                break;
            }
            out[got++] = i;
        }
    }
    return got;
}

static void
render_entity(struct sbx_jw *w, struct shp_state *st, int entity, size_t i)
{
    if (entity == ENT_ORDERS)
        shp_render_order(w, st, &st->orders[i]);
    else if (entity == ENT_CUSTOMERS)
        shp_render_customer(w, st, &st->customers[i]);
    else
        shp_render_product(w, st, &st->products[i]);
}

static const char *const entity_names[] = {"customers", "products", "orders"};
static const char *const entity_single[] = {"customer", "product", "order"};

static void
add_link(struct evbuffer *link, struct sbx_platform *p, struct shp_state *st,
         const char *version, const char *resource, int64_t limit, const char *fields,
         const struct filter *f, const char *rel)
{
    char pi[12000];

    page_info_encode(st, f, pi, sizeof(pi));
    if (evbuffer_get_length(link) > 0)
        evbuffer_add(link, ", ", 2);
    /* platforms.md 1.4: <https://{shop}/admin/api/{v}/orders.json?limit=50&page_info=abc>;
     * rel="next". The sandbox's own origin replaces https://{shop}. */
    evbuffer_add_printf(link, "<%s/admin/api/%s/%s.json?limit=%" PRId64, p->base_url, version,
                        resource, limit);
    if (fields != NULL) {
        evbuffer_add(link, "&fields=", 8);
        sbx_form_encode(link, fields);
    }
    evbuffer_add_printf(link, "&page_info=%s>; rel=\"%s\"", pi, rel);
}

static void
list(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req, struct sbx_resp *resp,
     const char *version, int entity)
{
    struct filter    f;
    const char      *pi = sbx_req_query(req, "page_info");
    const char      *lim = sbx_req_query(req, "limit");
    const char      *fields = sbx_req_query(req, "fields");
    int64_t          limit = SHP_DEFAULT_LIMIT;
    size_t           idx[SHP_MAX_LIMIT];
    size_t           got;
    size_t           k;
    bool             more;
    bool             fwd;
    bool             has_prev = false;
    bool             has_next = false;
    struct sbx_jw    w;
    struct evbuffer *link;

    if (lim != NULL && (sbx_parse_i64(lim, 1, SHP_MAX_LIMIT, &limit) < 0)) {
        /* [K] limit above 250 is refused rather than clamped: a connector must not rely on it */
        shp_error(resp, 400, "{\"limit\":\"must be between 1 and 250\"}");
        return;
    }
    if (pi != NULL) {
        size_t i;

        /* platforms.md 1.4: with page_info only limit and fields may be sent. */
        for (i = 0; i < req->nquery; i++) {
            const char *k2 = req->query[i].key;

            if (strcmp(k2, "page_info") != 0 && strcmp(k2, "limit") != 0 &&
                strcmp(k2, "fields") != 0) {
                char msg[256];

                snprintf(msg, sizeof(msg), "{\"page_info\":\"Invalid request: %.64s cannot be "
                         "passed when page_info is present\"}", k2);
                shp_error(resp, 400, msg);
                return;
            }
        }
        if (page_info_decode(st, pi, &f) < 0 || f.entity != entity) {
            shp_error(resp, 400, "{\"page_info\":\"Invalid value.\"}");
            return;
        }
    } else if (filter_from_query(st, req, entity, &f, resp) < 0) {
        return;
    }

    /* Effective direction: the listing order, reversed for a "previous" cursor. */
    fwd = (f.desc == 0) != (f.back != 0);
    got = scan(st, &f, fwd, f.last_id, pi != NULL, (size_t)limit, idx, &more);
    if (f.back) {
        /* Walking backwards: items came in reverse; flip them into listing order. */
        for (k = 0; k < got / 2; k++) {
            size_t t = idx[k];

            idx[k] = idx[got - 1 - k];
            idx[got - 1 - k] = t;
        }
        has_prev = more;
        has_next = got > 0;
    } else {
        has_next = more;
        has_prev = pi != NULL && got > 0;
    }

    shp_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_set_filter(&w, fields, 3);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, entity_names[entity]);
    sbx_jw_arr(&w);
    for (k = 0; k < got; k++)
        render_entity(&w, st, entity, idx[k]);
    sbx_jw_arr_end(&w);
    sbx_jw_obj_end(&w);

    link = evbuffer_new();
    if (link == NULL)
        return;
    if (has_prev && got > 0) {
        struct filter pf = f;

        pf.back = 1;
        pf.last_id = entity_id(st, entity, idx[0]);
        add_link(link, p, st, version, entity_names[entity], limit, fields, &pf, "previous");
    }
    if (has_next && got > 0) {
        struct filter nf = f;

        nf.back = 0;
        nf.last_id = entity_id(st, entity, idx[got - 1]);
        add_link(link, p, st, version, entity_names[entity], limit, fields, &nf, "next");
    }
    if (evbuffer_get_length(link) > 0) {
        evbuffer_add(link, "", 1);
        sbx_resp_header(resp, "Link", (const char *)evbuffer_pullup(link, -1));
    }
    evbuffer_free(link);
}

static void
count(struct shp_state *st, struct sbx_req *req, struct sbx_resp *resp, int entity)
{
    struct filter f;
    size_t        n = entity_count(st, entity);
    size_t        i;
    size_t        c = 0;

    if (filter_from_query(st, req, entity, &f, resp) < 0)
        return;
    for (i = 0; i < n; i++) {
        if (record_matches(st, &f, i))
            c++;
    }
    shp_json_headers(resp);
    sbx_resp_printf(resp, "{\"count\":%zu}", c);
}

static void
get_one(struct shp_state *st, struct sbx_req *req, struct sbx_resp *resp, int entity, int64_t id)
{
    struct sbx_jw w;
    const void   *rec;

    if (entity == ENT_ORDERS) {
        const struct shp_order *o = shp_find_order(st, id);

        rec = o != NULL && !o->deleted ? o : NULL;
    } else if (entity == ENT_CUSTOMERS) {
        const struct shp_customer *c = shp_find_customer(st, id);

        rec = c != NULL && !c->deleted ? c : NULL;
    } else {
        const struct shp_product *pr = shp_find_product(st, id);

        rec = pr != NULL && !pr->deleted ? pr : NULL;
    }
    if (rec == NULL) {
        shp_error(resp, 404, "\"Not Found\"");
        return;
    }
    shp_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_set_filter(&w, sbx_req_query(req, "fields"), 2);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, entity_single[entity]);
    if (entity == ENT_ORDERS)
        shp_render_order(&w, st, rec);
    else if (entity == ENT_CUSTOMERS)
        shp_render_customer(&w, st, rec);
    else
        shp_render_product(&w, st, rec);
    sbx_jw_obj_end(&w);
}

/* ------------------------------------------------------------------ writes */

static int
set_str(char **dst, struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v))
        return 0;
    free(*dst);
    *dst = json_object_is_type(v, json_type_null) ? NULL : strdup(json_object_get_string(v));
    return 1;
}

static bool
email_taken(struct shp_state *st, const char *email, int64_t except)
{
    size_t i;

    for (i = 0; i < st->ncustomers; i++) {
        const struct shp_customer *c = &st->customers[i];

        if (!c->deleted && c->id != except && c->email != NULL && strcasecmp(c->email, email) == 0)
            return true;
    }
    return false;
}

/* Applies a REST customer object; returns 0, or -1 after writing a 422. */
int shp_apply_customer(struct shp_state *st, struct shp_customer *c, struct json_object *o,
                       struct sbx_resp *resp);

int
shp_apply_customer(struct shp_state *st, struct shp_customer *c, struct json_object *o,
                   struct sbx_resp *resp)
{
    struct json_object *v;
    char               *email = NULL;

    if (json_object_object_get_ex(o, "email", &v) && !json_object_is_type(v, json_type_null)) {
        const char *e = json_object_get_string(v);

        if (strchr(e, '@') == NULL) {
            shp_error(resp, 422, "{\"email\":[\"is invalid\"]}");
            return -1;
        }
        if (email_taken(st, e, c->id)) {
            shp_error(resp, 422, "{\"email\":[\"has already been taken\"]}");
            return -1;
        }
    }
    (void)email;
    set_str(&c->first_name, o, "first_name");
    set_str(&c->last_name, o, "last_name");
    set_str(&c->email, o, "email");
    set_str(&c->phone, o, "phone");
    set_str(&c->note, o, "note");
    set_str(&c->tags, o, "tags");
    if (c->tags == NULL)
        c->tags = strdup("");
    if (json_object_object_get_ex(o, "verified_email", &v))
        c->verified_email = json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "tax_exempt", &v))
        c->tax_exempt = json_object_get_boolean(v);
    return 0;
}

int shp_apply_product(struct shp_state *st, struct shp_product *pr, struct json_object *o,
                      struct sbx_resp *resp, int64_t now);

int
shp_apply_product(struct shp_state *st, struct shp_product *pr, struct json_object *o,
                  struct sbx_resp *resp, int64_t now)
{
    struct json_object *v;
    struct json_object *vars;
    size_t              i;

    (void)st;
    if (json_object_object_get_ex(o, "title", &v) &&
        (json_object_is_type(v, json_type_null) || json_object_get_string_len(v) == 0)) {
        shp_error(resp, 422, "{\"title\":[\"can't be blank\"]}");
        return -1;
    }
    if (json_object_object_get_ex(o, "status", &v)) {
        int k = index_of(product_status_values, json_object_get_string(v));

        if (k <= 0) {
            shp_error(resp, 422, "{\"status\":[\"is not included in the list\"]}");
            return -1;
        }
        pr->status = product_status_values[k];
    }
    set_str(&pr->title, o, "title");
    set_str(&pr->body_html, o, "body_html");
    set_str(&pr->vendor, o, "vendor");
    set_str(&pr->product_type, o, "product_type");
    set_str(&pr->tags, o, "tags");
    set_str(&pr->handle, o, "handle");
    if (json_object_object_get_ex(o, "variants", &vars) &&
        json_object_is_type(vars, json_type_array)) {
        size_t n = json_object_array_length(vars);

        for (i = 0; i < n && i < pr->nvariants; i++) {
            struct json_object *jv = json_object_array_get_idx(vars, i);
            struct shp_variant *var = &pr->variants[i];
            int64_t             cents;

            if (json_object_object_get_ex(jv, "id", &v)) {
                size_t k;

                var = NULL;
                for (k = 0; k < pr->nvariants; k++) {
                    if (pr->variants[k].id == json_object_get_int64(v))
                        var = &pr->variants[k];
                }
                if (var == NULL)
                    continue;
            }
            if (json_object_object_get_ex(jv, "price", &v)) {
                if (sbx_parse_money(json_object_get_string(v), &cents) < 0 || cents < 0) {
                    shp_error(resp, 422, "{\"variants.price\":[\"is not a number\"]}");
                    return -1;
                }
                var->price = cents;
            }
            set_str(&var->sku, jv, "sku");
            if (var->sku == NULL)
                var->sku = strdup("");
            set_str(&var->title, jv, "option1");
            if (var->title == NULL)
                var->title = strdup("Default Title");
            var->updated_at = now;
        }
    }
    return 0;
}

static struct json_object *
root_object(struct sbx_req *req, const char *root, struct json_object **whole,
            struct sbx_resp *resp)
{
    struct json_object *o;

    *whole = sbx_req_json(req);
    if (*whole == NULL || !json_object_object_get_ex(*whole, root, &o) ||
        !json_object_is_type(o, json_type_object)) {
        char msg[128];

        json_object_put(*whole);
        *whole = NULL;
        snprintf(msg, sizeof(msg), "{\"%s\":\"Required parameter missing or invalid\"}", root);
        shp_error(resp, 400, msg);
        return NULL;
    }
    return o;
}

static void
write_customer(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
               struct sbx_resp *resp, int64_t id)
{
    struct json_object  *whole;
    struct json_object  *o = root_object(req, "customer", &whole, resp);
    struct shp_customer *c;
    struct sbx_jw        w;
    int64_t              now = sbx_now(p->sbx);
    bool                 create = id == 0;

    if (o == NULL)
        return;
    if (create) {
        struct json_object *a;
        struct json_object *b;
        struct json_object *e;

        if (!json_object_object_get_ex(o, "email", &e) &&
            !json_object_object_get_ex(o, "phone", &a) &&
            !json_object_object_get_ex(o, "last_name", &b)) {
            json_object_put(whole);
            shp_error(resp, 422, "{\"customer\":[\"Customer must have a name, phone number or "
                                 "email address\"]}");
            return;
        }
        c = shp_new_customer(st, now);
        if (c == NULL) {
            json_object_put(whole);
            shp_error(resp, 500, "\"out of memory\"");
            return;
        }
        /* A created customer starts from blanks, not generated data. */
        free(c->email);
        c->email = NULL;
        free(c->phone);
        c->phone = NULL;
        free(c->note);
        c->note = NULL;
        c->has_addr = false;
        c->state = "disabled";
    } else {
        c = shp_find_customer(st, id);
        if (c == NULL || c->deleted) {
            json_object_put(whole);
            shp_error(resp, 404, "\"Not Found\"");
            return;
        }
    }
    if (shp_apply_customer(st, c, o, resp) < 0) {
        if (create)
            c->deleted = true;
        json_object_put(whole);
        return;
    }
    json_object_put(whole);
    c->updated_at = now;
    resp->status = create ? 201 : 200;
    shp_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, "customer");
    shp_render_customer(&w, st, c);
    sbx_jw_obj_end(&w);
    shp_emit(p, st, create ? "customers/create" : "customers/update", SHP_CUSTOMER, c, NULL);
}

static void
write_product(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
              struct sbx_resp *resp, int64_t id)
{
    struct json_object *whole;
    struct json_object *o = root_object(req, "product", &whole, resp);
    struct json_object *v;
    struct shp_product *pr;
    struct sbx_jw       w;
    int64_t             now = sbx_now(p->sbx);
    bool                create = id == 0;
    size_t              nvar = 1;

    if (o == NULL)
        return;
    if (create) {
        if (!json_object_object_get_ex(o, "title", &v) || json_object_get_string_len(v) == 0) {
            json_object_put(whole);
            shp_error(resp, 422, "{\"title\":[\"can't be blank\"]}");
            return;
        }
        if (json_object_object_get_ex(o, "variants", &v) &&
            json_object_is_type(v, json_type_array) && json_object_array_length(v) > 0)
            nvar = json_object_array_length(v) > 100 ? 100 : json_object_array_length(v);
        pr = shp_new_product(st, now, nvar);
        if (pr == NULL) {
            json_object_put(whole);
            shp_error(resp, 500, "\"out of memory\"");
            return;
        }
        pr->status = "active";
        pr->published_at = now;
    } else {
        pr = shp_find_product(st, id);
        if (pr == NULL || pr->deleted) {
            json_object_put(whole);
            shp_error(resp, 404, "\"Not Found\"");
            return;
        }
    }
    if (shp_apply_product(st, pr, o, resp, now) < 0) {
        if (create)
            pr->deleted = true;
        json_object_put(whole);
        return;
    }
    json_object_put(whole);
    pr->updated_at = now;
    resp->status = create ? 201 : 200;
    shp_json_headers(resp);
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, "product");
    shp_render_product(&w, st, pr);
    sbx_jw_obj_end(&w);
    shp_emit(p, st, create ? "products/create" : "products/update", SHP_PRODUCT, pr, NULL);
}

/* ------------------------------------------------------------------ routing */

/* "orders.json", "orders/count.json", "orders/123.json" -> entity, kind, id */
static int
parse_resource(const char *rest, int *entity, int *kind, int64_t *id)
{
    size_t i;
    char   num[32];

    for (i = 0; i < 3; i++) {
        size_t n = strlen(entity_names[i]);

        if (strncmp(rest, entity_names[i], n) != 0)
            continue;
        *entity = (int)i;
        rest += n;
        if (strcmp(rest, ".json") == 0) {
            *kind = 0;
            return 0;
        }
        if (strcmp(rest, "/count.json") == 0) {
            *kind = 1;
            return 0;
        }
        if (rest[0] == '/') {
            const char *dot = strstr(rest + 1, ".json");
            size_t      len;

            if (dot == NULL || dot[5] != '\0')
                return -1;
            len = (size_t)(dot - (rest + 1));
            if (len == 0 || len >= sizeof(num))
                return -1;
            memcpy(num, rest + 1, len);
            num[len] = '\0';
            if (sbx_parse_i64(num, 1, INT64_MAX, id) < 0)
                return -1;
            *kind = 2;
            return 0;
        }
        return -1;
    }
    return -1;
}

/* Scope needed for a resource (platforms.md 1.2): write_X implies read_X. */
static bool
has_scope(const char *granted, const char *entity, bool write)
{
    char        want[64];
    const char *p;
    size_t      n;

    if (granted == NULL)
        return true;
    snprintf(want, sizeof(want), "%s_%s", write ? "write" : "read", entity);
    for (;;) {
        n = strlen(want);
        for (p = granted; (p = strstr(p, want)) != NULL; p += n) {
            if ((p == granted || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
                return true;
        }
        if (write || strncmp(want, "read_", 5) != 0)
            return false;
        snprintf(want, sizeof(want), "write_%s", entity);
        write = true;
    }
}

bool shp_scope_ok(const char *granted, const char *rest, enum sbx_method m);

bool
shp_scope_ok(const char *granted, const char *rest, enum sbx_method m)
{
    bool write = m != SBX_GET && m != SBX_HEAD;

    if (strncmp(rest, "orders", 6) == 0)
        return has_scope(granted, "orders", write);
    if (strncmp(rest, "customers", 9) == 0)
        return has_scope(granted, "customers", write);
    if (strncmp(rest, "products", 8) == 0)
        return has_scope(granted, "products", write);
    return true;
}

void
shp_handle_api(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
               struct sbx_resp *resp, const char *version, const char *rest)
{
    int     entity;
    int     kind;
    int64_t id = 0;
    struct sbx_jw w;

    if (strcmp(rest, "shop.json") == 0 && req->method == SBX_GET) {
        shp_json_headers(resp);
        sbx_jw_init(&w, resp->body);
        sbx_jw_set_filter(&w, sbx_req_query(req, "fields"), 2);
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "shop");
        shp_render_shop(&w, st);
        sbx_jw_obj_end(&w);
        return;
    }
    if (strncmp(rest, "webhooks", 8) == 0) {
        shp_handle_webhooks_api(p, st, req, resp, version, rest);
        return;
    }
    if (parse_resource(rest, &entity, &kind, &id) < 0) {
        shp_error(resp, 404, "\"Not Found\"");
        return;
    }
    if (kind == 0 && req->method == SBX_GET) {
        list(p, st, req, resp, version, entity);
    } else if (kind == 1 && req->method == SBX_GET) {
        count(st, req, resp, entity);
    } else if (kind == 2 && req->method == SBX_GET) {
        get_one(st, req, resp, entity, id);
    } else if (kind == 0 && req->method == SBX_POST && entity == ENT_CUSTOMERS) {
        write_customer(p, st, req, resp, 0);
    } else if (kind == 2 && req->method == SBX_PUT && entity == ENT_CUSTOMERS) {
        write_customer(p, st, req, resp, id);
    } else if (kind == 0 && req->method == SBX_POST && entity == ENT_PRODUCTS) {
        write_product(p, st, req, resp, 0);
    } else if (kind == 2 && req->method == SBX_PUT && entity == ENT_PRODUCTS) {
        write_product(p, st, req, resp, id);
    } else {
        /* Order creation through REST is out of scope here: orders come from control. */
        shp_error(resp, 406, "\"Not Acceptable\"");
    }
}
