/*
 * The PrestaShop connector (Webservice API, platforms.md 3): customers (with their
 * addresses), products (with combinations, their option values' names, and
 * stock_availables) and orders (with order_details, and order slips as refunds) imported
 * through `display=full`, `date=1`, `filter[date_upd]` and
 * `sort=[date_upd_ASC,id_ASC]`, paged by `limit=offset,count` until a short page. Reads are
 * JSON (`output_format=JSON`) or XML converted to the same shape (presta_xml.c), so the
 * mapping (presta_map.c) reads one shape. The key is the Basic-auth user with an empty
 * password, applied by the host.
 *
 * Export (presta_push.c): customers and products as XML built from the shop's own documents,
 * with combination prices (impacts) and stock. Deletions: every id by keyset
 * (presta_list_ids) for the host's deletion sweep; soft-deleted customers come as deleted
 * records. No webhooks: the engine's poller is the change feed, and full reconciliations
 * heal what moves no date_upd (stock, order rows, slips).
 */
#include "presta_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

static const sx_config_field presta_config[] = {
    { "shop_url",       SX_CFG_URL,    SX_CFG_REQUIRED,
      "The shop's address (https://shop.example); the Webservice is at /api" },
    { "webservice_key", SX_CFG_SECRET, SX_CFG_REQUIRED,
      "The Webservice key (32 characters, Advanced Parameters > Webservice)" },
    { "language_id",    SX_CFG_INT,    0, "The language Simplix reads texts in (default 1)" },
    { "utc_offset",     SX_CFG_STRING, 0,
      "The shop's time zone as an offset, +01:00 (PrestaShop's dates carry none; default "
      "+00:00)" },
    { "format",         SX_CFG_STRING, 0, "json (default) or xml: how reads are asked for" },
    { NULL, 0, 0, NULL }
};

/* ---- instance ---------------------------------------------------------------------------------- */

static int
parse_offset(sx_str v, int *out)
{
    int h, m, sign;

    if (v.len != 6 || (v.ptr[0] != '+' && v.ptr[0] != '-') || v.ptr[3] != ':' ||
        v.ptr[1] < '0' || v.ptr[1] > '9' || v.ptr[2] < '0' || v.ptr[2] > '9' ||
        v.ptr[4] < '0' || v.ptr[4] > '5' || v.ptr[5] < '0' || v.ptr[5] > '9')
        return SX_E_INVALID;
    sign = v.ptr[0] == '-' ? -1 : 1;
    h = (v.ptr[1] - '0') * 10 + (v.ptr[2] - '0');
    m = (v.ptr[4] - '0') * 10 + (v.ptr[5] - '0');
    if (h > 14)
        return SX_E_INVALID;
    *out = sign * (h * 60 + m);
    return SX_OK;
}

static int
presta_instance_new(sx_ctx *cx, void **state)
{
    const sx_host_api  *h = cx->host;
    struct presta_inst *st;
    sx_str              v;
    size_t              i;

    *state = NULL;
    xmlInitParser();                   /* idempotent; the first call is not thread-safe in 2.9 */
    if (h->config_get(cx, "shop_url", &v) != SX_OK || v.len == 0)
        return h->fail(cx, SX_E_INVALID, "shop_url is missing: enter the shop's address");
    while (v.len > 0 && v.ptr[v.len - 1] == '/')
        v.len--;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return h->fail(cx, SX_E_NOMEM, "out of memory");
    if (!((v.len > 8 && memcmp(v.ptr, "https://", 8) == 0) ||
          (v.len > 7 && memcmp(v.ptr, "http://", 7) == 0)) || v.len >= sizeof(st->origin)) {
        free(st);
        return h->fail(cx, SX_E_INVALID, "shop_url must be an http(s) address of at most %zu "
                       "bytes", sizeof(st->origin) - 1);
    }
    for (i = 0; i < v.len; i++) {
        unsigned char c = (unsigned char)v.ptr[i];

        if (c <= ' ' || c >= 0x7f || c == '?' || c == '#' || c == '"' || c == '\\') {
            free(st);
            return h->fail(cx, SX_E_INVALID, "shop_url must be a plain address");
        }
    }
    memcpy(st->origin, v.ptr, v.len);
    snprintf(st->api, sizeof(st->api), "%s/api", st->origin);
    st->json = 1;
    st->lang_id = 1;
    if (h->config_get(cx, "format", &v) == SX_OK && v.len > 0) {
        if (sx_str_eq_cstr(v, "xml"))
            st->json = 0;
        else if (!sx_str_eq_cstr(v, "json")) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "format is json or xml");
        }
    }
    if (h->config_get(cx, "language_id", &v) == SX_OK && v.len > 0) {
        char num[16], *end;
        long n;

        snprintf(num, sizeof(num), "%.*s", (int)(v.len < 15 ? v.len : 15), v.ptr);
        n = strtol(num, &end, 10);
        if (*end != '\0' || n < 1 || n > 1000000) {
            free(st);
            return h->fail(cx, SX_E_INVALID, "language_id is a PrestaShop language id (1, 2...)");
        }
        st->lang_id = (int)n;
    }
    if (h->config_get(cx, "utc_offset", &v) == SX_OK && v.len > 0 &&
        parse_offset(v, &st->utc_offset_min) != SX_OK) {
        free(st);
        return h->fail(cx, SX_E_INVALID, "utc_offset is like +01:00 or -05:00");
    }
    *state = st;
    return SX_OK;
}

static void
presta_instance_free(void *state)
{
    free(state);
}

/* ---- reading ----------------------------------------------------------------------------------- */

const char *
presta_url(sx_ctx *cx, const char *rest)
{
    struct presta_inst *st = cx->state;
    size_t              cap = strlen(st->api) + strlen(rest) + 2;
    char               *url = cx->host->alloc(cx, cap);

    if (url != NULL)
        snprintf(url, cap, "%s/%s", st->api, rest);
    return url;
}

/* GET <api>/<rest>?<query> and parse the answer (JSON, or XML converted) into *doc. */
static int
presta_get(sx_ctx *cx, const char *rest, sx_str query, const sx_json **doc)
{
    const sx_host_api  *h = cx->host;
    struct presta_inst *st = cx->state;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      q, conv;
    sx_str              text;
    const char         *why = NULL, *url = presta_url(cx, rest);
    int                 rc;

    if (url == NULL)
        return SX_E_LIMIT;
    sxp_buf_init(&q, cx);
    sxp_buf_raw(&q, query.ptr != NULL ? query.ptr : "", query.len);
    if (st->json)
        sxp_buf_raw(&q, query.len > 0 ? "&output_format=JSON" : "output_format=JSON",
                    query.len > 0 ? 19 : 18);
    if (q.rc != SX_OK)
        return h->fail(cx, q.rc, "query too long");
    hr.url = sx_cstr(url);
    hr.query = (sx_str){ q.p != NULL ? q.p : "", q.len };
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_AUTH)
        return h->fail(cx, rc, "PrestaShop refused the Webservice key for %s (check the key, "
                       "that it is active, and that the server passes the Authorization "
                       "header: CGIPassAuth On)", rest);
    if (rc != SX_OK)
        return rc;
    text = resp->body;
    if (!st->json || (text.len > 0 && text.ptr[0] == '<')) {
        sxp_buf_init(&conv, cx);
        rc = presta_xml_to_json(text.ptr, text.len, &conv, &why);
        /* Refused whole (nothing of it is emitted). A proxy or a PHP error can garble one
         * answer: transient, so the engine tries the page again later. */
        if (rc != SX_OK || (rc = sxp_buf_done(&conv, &text)) != SX_OK)
            return h->fail(cx, SX_E_TRANSIENT, "PrestaShop's %s answer is not usable XML: %s",
                           rest, why != NULL ? why : "conversion failed");
    }
    if (text.len == 2 && memcmp(text.ptr, "[]", 2) == 0)
        text = SX_STR("{}");                   /* PrestaShop's empty list */
    if (h->json_parse(cx, text, doc) != SX_OK || h->json_type(*doc) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_TRANSIENT, "PrestaShop's %s answer is not a JSON object", rest);
    return SX_OK;
}

/* GET one page of `resource` with the query built in `q`: its records in *list (*n of them, at
 * most `count`). `what` ("" or " ids") completes the refusal of an oversized page. */
static int
get_page(sx_ctx *cx, const char *resource, struct sxp_buf *q, uint32_t count, const char *what,
         const sx_json **list, size_t *n)
{
    const sx_host_api *h = cx->host;
    const sx_json     *doc;
    int                rc;

    if (q->rc != SX_OK)
        return h->fail(cx, q->rc, "query too long");
    if ((rc = presta_get(cx, resource, (sx_str){ q->p, q->len }, &doc)) != SX_OK)
        return rc;
    *list = h->json_get(doc, resource);
    *n = h->json_length(*list);
    if (*n > count)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop sent %zu %s%s for a page of %u", *n,
                       resource, what, count);
    return SX_OK;
}

/* ids of a page's records joined with '|' for an OR filter: "[1|2|3]". */
static int
id_filter(sx_ctx *cx, const sx_json *list, const char *key, struct sxp_buf *out)
{
    const sx_host_api *h = cx->host;
    size_t             i, n = h->json_length(list), k = 0;
    int64_t            id;
    char               num[24];

    sxp_buf_raw(out, "[", 1);
    for (i = 0; i < n && i < PRESTA_MAX_ITEMS; i++) {
        if (h->json_int64(h->json_get(h->json_at(list, i), key), &id) != SX_OK || id <= 0)
            continue;
        snprintf(num, sizeof(num), "%s%lld", k++ ? "|" : "", (long long)id);
        sxp_buf_raw(out, num, strlen(num));
    }
    sxp_buf_raw(out, "]", 1);
    return out->rc;
}

/* Every record of `resource` whose `key` is one of the page's ids (one request); the list's
 * element is `node` (the resource's name but for order_slip, listed as order_slips). */
static int
join_as(sx_ctx *cx, const char *resource, const char *node, const char *key,
        const sx_json *page, const sx_json **out)
{
    const sx_host_api *h = cx->host;
    struct sxp_buf     q;
    const sx_json     *doc;
    int                rc;

    *out = NULL;
    sxp_buf_init(&q, cx);
    SXP_RAW(&q, "display=full&limit=0,5000&filter[");
    sxp_buf_raw(&q, key, strlen(key));
    SXP_RAW(&q, "]=");
    if ((rc = id_filter(cx, page, "id", &q)) != SX_OK)
        return h->fail(cx, rc, "too many ids to join");
    if ((rc = presta_get(cx, resource, (sx_str){ q.p, q.len }, &doc)) != SX_OK)
        return rc;
    *out = h->json_get(doc, node);
    return SX_OK;
}

static int
join(sx_ctx *cx, const char *resource, const char *key, const sx_json *page, const sx_json **out)
{
    return join_as(cx, resource, resource, key, page, out);
}

/*
 * A join the import does without: the key may not read the resource (401, 403), or the shop
 * does not have it or refuses the request (404, other 4xx). A transient failure is not one:
 * the page is tried again rather than written without what a hiccup hid (variant titles
 * or refunds that would come and go between runs).
 */
static int
optional_miss(int rc)
{
    return rc == SX_E_AUTH || rc == SX_E_NOT_FOUND || rc == SX_E_REJECTED ||
           rc == SX_E_UNSUPPORTED;
}

/* GET `resource` with `display`, filtered to the ids of the set: its list, or an error. */
static int
get_ids(sx_ctx *cx, const char *resource, const char *display, const int64_t *ids, size_t n,
        const sx_json **out)
{
    const sx_host_api *h = cx->host;
    struct sxp_buf     q;
    const sx_json     *doc;
    char               num[40];
    size_t             i;
    int                rc;

    *out = NULL;
    sxp_buf_init(&q, cx);
    SXP_RAW(&q, "display=");
    sxp_buf_raw(&q, display, strlen(display));
    SXP_RAW(&q, "&filter[id]=[");
    for (i = 0; i < n; i++) {
        snprintf(num, sizeof(num), "%s%lld", i ? "|" : "", (long long)ids[i]);
        sxp_buf_raw(&q, num, strlen(num));
    }
    snprintf(num, sizeof(num), "]&limit=0,%zu", n);
    sxp_buf_raw(&q, num, strlen(num));
    if (q.rc != SX_OK)
        return h->fail(cx, q.rc, "query too long");
    if ((rc = presta_get(cx, resource, (sx_str){ q.p, q.len }, &doc)) != SX_OK)
        return rc;
    *out = h->json_get(doc, resource);
    return SX_OK;
}

/*
 * The option values the page's combinations name, in ONE request (filter[id]=[a|b|c],
 * display=full; the Webservice lists only their ids in a combination's associations), and
 * the positions of their groups in one more (product_options, display=[id,position]), for
 * the variants' titles. At most PRESTA_MAX_ITEMS ids: values past the bound name nothing.
 * A key that may not read either resource leaves *values (or *groups) NULL: variants without
 * option names, as addresses without countries.
 */
static int
option_values(sx_ctx *cx, const sx_json *combos, const sx_json **values,
              const sx_json **groups)
{
    const sx_host_api *h = cx->host;
    int64_t           *ids, id;
    size_t             i, k, n = 0, nv, nc = h->json_length(combos);
    int                rc, full = 0;

    *values = NULL;
    *groups = NULL;
    ids = h->alloc(cx, PRESTA_MAX_ITEMS * sizeof(*ids));
    if (ids == NULL)
        return SX_E_LIMIT;
    for (i = 0; i < nc && i < PRESTA_MAX_ITEMS * 4 && !full; i++) {
        const sx_json *vals = h->json_get(h->json_get(h->json_at(combos, i), "associations"),
                                          "product_option_values");

        nv = h->json_length(vals);
        for (k = 0; k < nv && k < PRESTA_MAX_ITEMS && !full; k++) {
            if (h->json_int64(h->json_get(h->json_at(vals, k), "id"), &id) == SX_OK && id > 0)
                full = !presta_id_set_add(ids, &n, PRESTA_MAX_ITEMS, id);
        }
    }
    if (full)
        h->log(cx, SX_LOG_WARN, "PrestaShop: the page's combinations name more than %d option "
               "values; the others name no variant", PRESTA_MAX_ITEMS);
    if (n == 0)
        return SX_OK;
    rc = get_ids(cx, "product_option_values", "full", ids, n, values);
    if (rc != SX_OK && optional_miss(rc)) {
        h->log(cx, SX_LOG_WARN, "PrestaShop: product_option_values cannot be read (%s); "
               "variants are named by their reference", sx_status_name(rc));
        return SX_OK;
    }
    if (rc != SX_OK)
        return rc;
    /* Their groups, for the order of the names. */
    nv = h->json_length(*values);
    for (i = 0, n = 0; i < nv && i < PRESTA_MAX_ITEMS; i++) {
        if (h->json_int64(h->json_get(h->json_at(*values, i), "id_attribute_group"), &id) ==
                SX_OK && id > 0 && !presta_id_set_add(ids, &n, PRESTA_MAX_ITEMS, id))
            break;
    }
    if (n == 0)
        return SX_OK;
    rc = get_ids(cx, "product_options", "[id,position]", ids, n, groups);
    if (rc != SX_OK && optional_miss(rc)) {
        h->log(cx, SX_LOG_WARN, "PrestaShop: product_options cannot be read (%s); option "
               "names follow the combinations' order", sx_status_name(rc));
        *groups = NULL;
        return SX_OK;
    }
    return rc;
}

/* The records of `list` whose `key` equals `id` (a JSON array in the arena). */
static const sx_json *
matching(sx_ctx *cx, const sx_json *list, const char *key, int64_t id)
{
    const sx_host_api *h = cx->host;
    struct sxp_buf     b;
    const sx_json     *out = NULL;
    sx_str             text;
    size_t             i, n = h->json_length(list), k = 0;
    int64_t            v;

    sxp_buf_init(&b, cx);
    SXP_RAW(&b, "[");
    for (i = 0; i < n && i < PRESTA_MAX_ITEMS * 4; i++) {
        const sx_json *r = h->json_at(list, i);

        if (h->json_int64(h->json_get(r, key), &v) != SX_OK || v != id ||
            h->json_text(cx, r, &text) != SX_OK)
            continue;
        if (k++ > 0)
            SXP_RAW(&b, ",");
        sxp_buf_raw(&b, text.ptr, text.len);
    }
    SXP_RAW(&b, "]");
    if (sxp_buf_done(&b, &text) == SX_OK)
        (void)h->json_parse(cx, text, &out);
    return out;
}

/* {"<id>":"<iso>"...} of countries or currencies (one request). */
static int
codes(sx_ctx *cx, const char *resource, const char *field, const sx_json **out)
{
    const sx_host_api *h = cx->host;
    const sx_json     *doc, *list;
    struct sxp_buf     b;
    sx_str             code, text;
    size_t             i, n;
    int64_t            id;
    char               q[80], num[24];
    int                rc;

    snprintf(q, sizeof(q), "display=[id,%s]&limit=0,1000", field);
    if ((rc = presta_get(cx, resource, sx_cstr(q), &doc)) != SX_OK)
        return rc;
    list = h->json_get(doc, resource);
    n = h->json_length(list);
    sxp_buf_init(&b, cx);
    sxp_jb_obj(&b);
    for (i = 0; i < n && i < 1000; i++) {
        const sx_json *r = h->json_at(list, i);

        if (h->json_int64(h->json_get(r, "id"), &id) != SX_OK ||
            h->json_string(h->json_get(r, field), &code) != SX_OK)
            continue;
        snprintf(num, sizeof(num), "%lld", (long long)id);
        sxp_jb_key(&b, num);
        sxp_jb_str(&b, code);
    }
    sxp_jb_obj_end(&b);
    if ((rc = sxp_buf_done(&b, &text)) != SX_OK || h->json_parse(cx, text, out) != SX_OK)
        return h->fail(cx, SX_E_PROTOCOL, "%s of the shop cannot be read", resource);
    return SX_OK;
}

static const char *
resource_of(uint32_t entity)
{
    switch (entity) {
    case SX_ENTITY_CUSTOMER: return "customers";
    case SX_ENTITY_PRODUCT:  return "products";
    case SX_ENTITY_ORDER:    return "orders";
    default:                 return NULL;
    }
}

/*
 * The cursor: "d=<date_upd of the last record>;s=<records of that second already read>".
 * The next page asks for date_upd >= d, sorted by date_upd then id, from offset s: records
 * sharing one second (a merchant's bulk edit touches hundreds) are read in id order without
 * repeating or skipping, and no page depends on the position of records before it.
 */
static int
cursor_parse(sx_str c, char date[20], uint32_t *skip)
{
    unsigned long s;

    if (c.len < 25 || c.len > 60 || memcmp(c.ptr, "d=", 2) != 0 || c.ptr[21] != ';' ||
        memcmp(c.ptr + 22, "s=", 2) != 0)
        return SX_E_INVALID;
    memcpy(date, c.ptr + 2, 19);
    date[19] = '\0';
    {
        char num[24];

        snprintf(num, sizeof(num), "%.*s", (int)(c.len - 24), c.ptr + 24);
        s = strtoul(num, NULL, 10);
    }
    if (s > 10000000)
        return SX_E_INVALID;
    *skip = (uint32_t)s;
    return SX_OK;
}

/* Called by map_page with each record of a page and its canonical form. */
typedef int (*each_fn)(sx_ctx *cx, void *arg, uint32_t entity, const sx_json *r, sx_str canon);

/*
 * The records of one page (`list`, n of them) in their canonical form, in the page's order:
 * the page's joins (addresses and countries; combinations, stock, currencies and option
 * values; order rows, currencies and slips) read once, then each record mapped. The import and
 * the export's read-back (presta_read_back) both come here, so a record read either way gives
 * the same canonical text, and the same hash in the engine.
 */
static int
map_page(sx_ctx *cx, uint32_t entity, const sx_json *list, size_t n, each_fn each, void *arg)
{
    const sx_host_api  *h = cx->host;
    struct presta_inst *st = cx->state;
    const char         *resource = resource_of(entity);
    const sx_json      *joined1 = NULL, *joined2 = NULL, *lookup = NULL;
    const sx_json      *values = NULL, *groups = NULL;
    struct sxp_buf      one;
    int                 slips_read = 0;
    sx_str              canon, currency = SX_STR_NULL;
    size_t              i;
    int64_t             id;
    int                 rc;

    if (n == 0)
        return SX_OK;
    switch (entity) {
    case SX_ENTITY_CUSTOMER:
        if ((rc = join(cx, "addresses", "id_customer", list, &joined1)) != SX_OK)
            return rc;
        /* Countries name the addresses' id_country; a key that may not read them (or a
         * shop without the resource) gives addresses without a country code. */
        if (codes(cx, "countries", "iso_code", &lookup) != SX_OK)
            lookup = NULL;
        break;
    case SX_ENTITY_PRODUCT:
        if ((rc = join(cx, "combinations", "id_product", list, &joined1)) != SX_OK ||
            (rc = join(cx, "stock_availables", "id_product", list, &joined2)) != SX_OK ||
            (rc = codes(cx, "currencies", "iso_code", &lookup)) != SX_OK)
            return rc;
        /* The shop's default currency: the first one (PS_CURRENCY_DEFAULT needs the
         * configurations resource, which a key rarely may read). */
        if (h->json_string(h->json_get(lookup, "1"), &currency) != SX_OK)
            return h->fail(cx, SX_E_PROTOCOL, "the shop has no currency 1");
        if ((rc = option_values(cx, joined1, &values, &groups)) != SX_OK)
            return rc;
        break;
    default:
        if ((rc = join(cx, "order_details", "id_order", list, &joined1)) != SX_OK ||
            (rc = codes(cx, "currencies", "iso_code", &lookup)) != SX_OK)
            return rc;
        /* Credit slips, the refunds (platforms.md 3.2: the resource is order_slip, its
         * list <order_slips>). A key that may not read them gives orders without them. */
        rc = join_as(cx, "order_slip", "order_slips", "id_order", list, &joined2);
        if (rc != SX_OK && !optional_miss(rc))
            return rc;
        slips_read = rc == SX_OK;
        if (!slips_read)
            h->log(cx, SX_LOG_WARN, "PrestaShop: order_slip cannot be read (%s); refunds "
                   "are known only from the Refunded state", sx_status_name(rc));
        break;
    }
    for (i = 0; i < n; i++) {
        const sx_json *r = h->json_at(list, i);

        if (h->json_int64(h->json_get(r, "id"), &id) != SX_OK)
            return h->fail(cx, SX_E_PROTOCOL, "a PrestaShop %s record without an id", resource);
        sxp_buf_init(&one, cx);
        switch (entity) {
        case SX_ENTITY_CUSTOMER:
            rc = presta_map_customer(cx, r, matching(cx, joined1, "id_customer", id), lookup,
                                     st->lang_id, st->utc_offset_min, &one);
            break;
        case SX_ENTITY_PRODUCT: {
            const sx_json *combos = matching(cx, joined1, "id_product", id);

            rc = presta_map_product(cx, r, h->json_length(combos) > 0 ? combos : NULL,
                                    matching(cx, joined2, "id_product", id), values, groups,
                                    currency, st->lang_id, st->utc_offset_min, &one);
            break;
        }
        default: {
            int64_t cur_id = 0;
            char    key[24];
            sx_str  cur = SX_STR_NULL;

            (void)h->json_int64(h->json_get(r, "id_currency"), &cur_id);
            snprintf(key, sizeof(key), "%lld", (long long)cur_id);
            if (h->json_string(h->json_get(lookup, key), &cur) != SX_OK)
                return h->fail(cx, SX_E_PROTOCOL, "order %lld has unknown currency %lld",
                               (long long)id, (long long)cur_id);
            rc = presta_map_order(cx, r, matching(cx, joined1, "id_order", id),
                                  slips_read ? matching(cx, joined2, "id_order", id) : NULL,
                                  cur, st->utc_offset_min, &one);
            break;
        }
        }
        if (rc == SX_OK)
            rc = sxp_buf_done(&one, &canon);
        if (rc == SX_OK)
            rc = each(cx, arg, entity, r, canon);
        if (rc != SX_OK)
            return rc;
    }
    return SX_OK;
}

/* Where the next page starts: the last date_upd of the page, and how many of its records
 * had it. */
struct list_pos {
    char     last[20];
    uint32_t same;
};

static int
list_emit(sx_ctx *cx, void *arg, uint32_t entity, const sx_json *r, sx_str canon)
{
    const sx_host_api *h = cx->host;
    struct list_pos   *pos = arg;
    sx_str             d;
    int                rc;

    if ((rc = h->emit(cx, entity, canon)) != SX_OK)
        return rc;
    if (h->json_string(h->json_get(r, "date_upd"), &d) == SX_OK && d.len == 19) {
        if (memcmp(d.ptr, pos->last, 19) == 0) {
            pos->same++;
        } else {
            memcpy(pos->last, d.ptr, 19);
            pos->same = 1;
        }
    }
    return SX_OK;
}

static int
presta_list(sx_ctx *cx, const sx_list_req *req, sx_list_res *res)
{
    const sx_host_api  *h = cx->host;
    struct presta_inst *st = cx->state;
    const char         *resource = resource_of(req->entity);
    const sx_json      *list;
    struct sxp_buf      q;
    struct list_pos     pos = { "", 0 };
    char                from[20] = "", num[64], *next;
    uint32_t            count = req->page_size, skip = 0;
    size_t              n;
    int                 rc;

    if (resource == NULL)
        return h->fail(cx, SX_E_UNSUPPORTED, "PrestaShop does not list %s",
                       sx_entity_name(req->entity));
    if (count == 0 || count > PRESTA_MAX_PAGE)
        count = PRESTA_MAX_PAGE;
    if (req->cursor.len > 0) {
        if (cursor_parse(req->cursor, from, &skip) != SX_OK)
            return h->fail(cx, SX_E_INVALID, "bad cursor for PrestaShop %s", resource);
    } else if (req->updated_since_ms > 0) {
        presta_local_format(req->updated_since_ms, st->utc_offset_min, from);
    }
    sxp_buf_init(&q, cx);
    /* 3.3: date filters need date=1; dates are shop-local. */
    SXP_RAW(&q, "display=full&date=1&sort=[date_upd_ASC,id_ASC]");
    if (from[0] != '\0') {
        SXP_RAW(&q, "&filter[date_upd]=[");
        sxp_form_encode(&q, sx_cstr(from));
        SXP_RAW(&q, ",9999-12-31%2023:59:59]");
    }
    snprintf(num, sizeof(num), "&limit=%u,%u", skip, count);
    sxp_buf_raw(&q, num, strlen(num));
    if ((rc = get_page(cx, resource, &q, count, "", &list, &n)) != SX_OK ||
        (rc = map_page(cx, req->entity, list, n, list_emit, &pos)) != SX_OK)
        return rc;
    if (n == count && pos.last[0] != '\0') {
        /* Still in the second the page started in: count what was read of it before. */
        if (strcmp(pos.last, from) == 0)
            pos.same += skip;
        next = h->alloc(cx, 64);
        if (next == NULL)
            return SX_E_LIMIT;
        snprintf(next, 64, "d=%s;s=%u", pos.last, pos.same);
        res->next_cursor = sx_cstr(next);
        res->has_more = 1;
    }
    return SX_OK;
}

/* ---- the export's read-back -------------------------------------------------------------------- */

struct read_back {
    sx_str  canon;
    int64_t updated_ms;
    int     found;
};

static int
keep_one(sx_ctx *cx, void *arg, uint32_t entity, const sx_json *r, sx_str canon)
{
    struct presta_inst *st = cx->state;
    struct read_back   *rb = arg;
    sx_str              d;

    (void)entity;
    rb->canon = canon;
    rb->found = 1;
    if (cx->host->json_string(cx->host->json_get(r, "date_upd"), &d) != SX_OK ||
        presta_local_ms(d, st->utc_offset_min, &rb->updated_ms) != SX_OK)
        rb->updated_ms = 0;
    return SX_OK;
}

int
presta_read_back(sx_ctx *cx, uint32_t entity, int64_t id, sx_str *canon, int64_t *updated_ms)
{
    const char        *resource = resource_of(entity);
    const sx_json     *list;
    struct sxp_buf     q;
    struct read_back   rb = { SX_STR_NULL, 0, 0 };
    char               num[64];
    size_t             n;
    int                rc;

    if (resource == NULL || id <= 0)
        return SX_E_INVALID;
    sxp_buf_init(&q, cx);
    SXP_RAW(&q, "display=full&date=1");
    snprintf(num, sizeof(num), "&filter[id]=[%lld]&limit=0,1", (long long)id);
    sxp_buf_raw(&q, num, strlen(num));
    if ((rc = get_page(cx, resource, &q, 1, "", &list, &n)) != SX_OK ||
        (rc = map_page(cx, entity, list, n, keep_one, &rb)) != SX_OK)
        return rc;
    if (!rb.found)
        return SX_E_NOT_FOUND;
    *canon = rb.canon;
    *updated_ms = rb.updated_ms;
    return SX_OK;
}

/* ---- the deletion sweep (ABI 1.2) -------------------------------------------------------------- */

/*
 * Every id of a resource, in id order, for the host's deletion sweep: PrestaShop removes
 * products and orders outright and sends nothing (platforms.md 3.4), so only a listing of
 * what still exists tells. Keyset paging (filter[id]=[<last + 1>,<max>], cursor "i=<last>"),
 * never an offset: a record deleted while the sweep pages must not shift a live one out of
 * the listing. Soft-deleted customers (deleted=1) are not listed: they count as deleted.
 */
#define PRESTA_MAX_IDS_PAGE 1000
#define PRESTA_ID_MAX       INT64_C(999999999999)

static int
presta_list_ids(sx_ctx *cx, const sx_list_req *req, sx_list_res *res)
{
    const sx_host_api *h = cx->host;
    const char        *resource = resource_of(req->entity);
    const sx_json     *list;
    struct sxp_buf     q;
    uint32_t           count = req->page_size;
    int64_t            after = 0, id, last;
    size_t             i, n;
    char               num[96], *next;
    int                rc;

    if (resource == NULL)
        return h->fail(cx, SX_E_UNSUPPORTED, "PrestaShop does not list %s",
                       sx_entity_name(req->entity));
    if (count == 0 || count > PRESTA_MAX_IDS_PAGE)
        count = PRESTA_MAX_IDS_PAGE;
    if (req->cursor.len > 0) {
        char c[24];

        if (req->cursor.len < 3 || req->cursor.len > 14 || memcmp(req->cursor.ptr, "i=", 2) != 0)
            return h->fail(cx, SX_E_INVALID, "bad id cursor for PrestaShop %s", resource);
        snprintf(c, sizeof(c), "%.*s", (int)req->cursor.len - 2, req->cursor.ptr + 2);
        if (c[strspn(c, "0123456789")] != '\0' ||
            (after = strtoll(c, NULL, 10)) <= 0 || after >= PRESTA_ID_MAX)
            return h->fail(cx, SX_E_INVALID, "bad id cursor for PrestaShop %s", resource);
    }
    sxp_buf_init(&q, cx);
    SXP_RAW(&q, "display=[id]&sort=[id_ASC]");
    if (req->entity == SX_ENTITY_CUSTOMER)
        SXP_RAW(&q, "&filter[deleted]=[0]");
    snprintf(num, sizeof(num), "&filter[id]=[%lld,%lld]&limit=0,%u", (long long)after + 1,
             (long long)PRESTA_ID_MAX, count);
    sxp_buf_raw(&q, num, strlen(num));
    if ((rc = get_page(cx, resource, &q, count, " ids", &list, &n)) != SX_OK)
        return rc;
    last = after;
    for (i = 0; i < n; i++) {
        if (h->json_int64(h->json_get(h->json_at(list, i), "id"), &id) != SX_OK || id <= 0)
            return h->fail(cx, SX_E_PROTOCOL, "a PrestaShop %s id listing has a record "
                           "without an id", resource);
        /* Sorted and filtered as asked, or the listing cannot be trusted to be complete. */
        if (id <= last || id >= PRESTA_ID_MAX)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop listed %s id %lld after %lld: the "
                           "shop ignored sort=[id_ASC] or filter[id], so the sweep cannot "
                           "trust the listing", resource, (long long)id, (long long)last);
        last = id;
        snprintf(num, sizeof(num), "{\"external_id\":\"%lld\"}", (long long)id);
        if ((rc = h->emit(cx, req->entity, sx_cstr(num))) != SX_OK)
            return rc;
    }
    if (n == count && n > 0) {
        next = h->alloc(cx, 32);
        if (next == NULL)
            return SX_E_LIMIT;
        snprintf(next, 32, "i=%lld", (long long)last);
        res->next_cursor = sx_cstr(next);
        res->has_more = 1;
    }
    return SX_OK;
}

/* ---- test -------------------------------------------------------------------------------------- */

/* Is `method` ("get", "put", "post") allowed on resource `r` of the /api listing? */
static int
allowed(const sx_host_api *h, const sx_json *r, const char *method)
{
    sx_str v;
    int    ok = 0;

    if (h->json_bool(h->json_get(r, method), &ok) != SX_OK)
        ok = h->json_string(h->json_get(r, method), &v) == SX_OK && sx_str_eq_cstr(v, "true");
    return ok;
}

static void
list_add(char *list, size_t cap, const char *what, const char *how)
{
    size_t n = strlen(list);

    if (n + strlen(what) + strlen(how) + 6 < cap)
        snprintf(list + n, cap - n, "%s%s%s%s", n ? ", " : "", what, how[0] ? " " : "", how);
}

/*
 * The key's permissions, from the /api listing: every resource the import reads must be
 * readable (else a refusal naming each one); the writes the export needs are checked too, and
 * a key that may only read passes with a warning naming each missing write (a read-only key is
 * a legitimate choice when nothing is exported; the export then fails with the same sentence).
 */
static int
presta_test_connection(sx_ctx *cx)
{
    static const char *need[] = { "customers", "addresses", "products",
                                  "combinations", "stock_availables", "orders",
                                  "order_details", "currencies", NULL };
    static const char *optional[] = { "countries", "product_options", "product_option_values",
                                      "order_slip", NULL };
    static const struct {
        const char *resource;
        const char *method;
        const char *label;
    } writes[] = {
        { "customers", "post", "(POST)" }, { "customers", "put", "(PUT)" },
        { "products", "post", "(POST)" }, { "products", "put", "(PUT)" },
        { "combinations", "put", "(PUT)" }, { "stock_availables", "put", "(PUT)" },
    };
    const sx_host_api *h = cx->host;
    const sx_json     *doc, *api;
    char               missing[512] = "", nowrite[512] = "", noopt[256] = "";
    size_t             i;
    int                rc;

    if ((rc = presta_get(cx, "", SX_STR_NULL, &doc)) != SX_OK)
        return rc;
    /* {"customers":{"get":true,...},...} (JSON, and XML converted to the same shape). */
    api = h->json_get(doc, "api") != NULL ? h->json_get(doc, "api") : doc;
    for (i = 0; need[i] != NULL; i++) {
        if (!allowed(h, h->json_get(api, need[i]), "get"))
            list_add(missing, sizeof(missing), need[i], "");
    }
    for (i = 0; optional[i] != NULL; i++) {
        if (!allowed(h, h->json_get(api, optional[i]), "get"))
            list_add(noopt, sizeof(noopt), optional[i], "");
    }
    for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++) {
        if (!allowed(h, h->json_get(api, writes[i].resource), writes[i].method))
            list_add(nowrite, sizeof(nowrite), writes[i].resource, writes[i].label);
    }
    if (missing[0] != '\0')
        return h->fail(cx, SX_E_AUTH, "the Webservice key may not read: %s (give it GET on "
                       "these resources in Advanced Parameters > Webservice)%s%s", missing,
                       nowrite[0] ? "; to export it also needs " : "", nowrite);
    if (nowrite[0] != '\0')
        h->log(cx, SX_LOG_WARN, "the Webservice key may read everything the import needs but "
               "may not write: %s; exporting customers or products will be refused until the "
               "key gets these permissions (Advanced Parameters > Webservice)", nowrite);
    if (noopt[0] != '\0')
        h->log(cx, SX_LOG_WARN, "the Webservice key may not read %s: imports go on without "
               "them (no country codes, variant names or refunds from those)", noopt);
    return SX_OK;
}

/* ---- descriptor -------------------------------------------------------------------------------- */

static const sx_entity_ops presta_customers = {
    .hdr = SX_HEADER_INIT(sx_entity_ops), .entity = SX_ENTITY_CUSTOMER,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT, .list = presta_list,
    .push = presta_push_customer, .list_ids = presta_list_ids,
};
static const sx_entity_ops presta_products = {
    .hdr = SX_HEADER_INIT(sx_entity_ops), .entity = SX_ENTITY_PRODUCT,
    .directions = SX_DIR_IMPORT | SX_DIR_EXPORT, .list = presta_list,
    .push = presta_push_product, .list_ids = presta_list_ids,
};
static const sx_entity_ops presta_orders = {
    .hdr = SX_HEADER_INIT(sx_entity_ops), .entity = SX_ENTITY_ORDER,
    .directions = SX_DIR_IMPORT, .list = presta_list, .list_ids = presta_list_ids,
};
static const sx_entity_ops *presta_entities[] = { &presta_customers, &presta_products,
                                                  &presta_orders, NULL };

static const sx_auth_ops presta_auth = {
    .hdr      = SX_HEADER_INIT(sx_auth_ops),
    .apply    = SX_APPLY_BASIC,          /* 3.1: Basic base64("KEY:") */
    .user_key = "webservice_key",
};

static const sx_connector prestashop = {
    .hdr             = SX_HEADER_INIT(sx_connector),
    .id              = "prestashop",
    .display_name    = "PrestaShop",
    .version         = "0.1.0",
    .license         = "MIT",
    .auth_kind       = SX_AUTH_BASIC,
    .caps            = SX_CAP_INCREMENTAL | SX_CAP_DELETES,
    .config          = presta_config,
    .entities        = presta_entities,
    .auth            = &presta_auth,
    .instance_new    = presta_instance_new,
    .instance_free   = presta_instance_free,
    .test_connection = presta_test_connection,
};

SX_CONNECTOR_DEFINE(prestashop)
