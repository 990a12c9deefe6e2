/*
 * Shopify connector: Shopify REST records to canonical records (sdk/MODEL.md) and canonical
 * records to Shopify request bodies. Pure translation through the host's JSON services; no
 * HTTP here, so the fuzz target runs every function of this file on arbitrary bytes.
 *
 * Conventions of the mapping (MODEL.md section 1):
 *  - a Shopify member that is absent stays absent; one that is null (or an empty string) is
 *    sent as null where MODEL.md allows it, because the record was read whole and Shopify says
 *    "empty" (a cleared note must clear the Simplix note);
 *  - money: Shopify decimal strings (platforms.md 1.3) through sx_money_parse with the
 *    currency's exponent, never a double; numbers (refund_line_items.subtotal) by their text;
 *  - times: any offset (the shop's, platforms.md 1.3) to UTC with h->time_parse/time_format;
 *  - ids: 64-bit numbers (platforms.md 1.3, 1.5 pitfall 15) written as decimal strings.
 */
#include "shopify_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- reading Shopify JSON -------------------------------------------------------------------- */

static void
copy_bool(struct sxp_buf *b, const sx_host_api *h, const sx_json *o, const char *pkey,
          const char *ckey)
{
    int v;

    if (h->json_bool(h->json_get(o, pkey), &v) == SX_OK) {
        sxp_jb_key(b, ckey);
        sxp_jb_bool(b, v);
    }
}

/* A positive id (number or digit string) as decimal text in the call arena. */
static int
id_text(sx_ctx *cx, const sx_json *v, sx_str *out)
{
    int64_t id;
    char   *s;
    int     n;

    if (v == NULL || cx->host->json_int64(v, &id) != SX_OK || id <= 0)
        return 0;
    s = cx->host->alloc(cx, 24);
    if (s == NULL)
        return 0;
    n = snprintf(s, 24, "%lld", (long long)id);
    out->ptr = s;
    out->len = (size_t)n;
    return 1;
}

static void
put_id(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, const char *pkey, const char *ckey)
{
    sx_str id;

    if (id_text(cx, cx->host->json_get(o, pkey), &id)) {
        sxp_jb_key(b, ckey);
        sxp_jb_str(b, id);
    }
}

int
shp_record_id(sx_ctx *cx, const sx_json *rec, sx_str *out)
{
    if (cx->host->json_type(rec) != SX_JSON_OBJECT)
        return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify sent a record that is not an object");
    if (!id_text(cx, cx->host->json_get(rec, "id"), out))
        return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify sent a record without a valid id");
    return SX_OK;
}

/* A Shopify time as canonical UTC text. SX_OK, SX_E_NOT_FOUND (absent or null) or
 * SX_E_INVALID. */
static int
time_utc(sx_ctx *cx, const sx_json *v, sx_str *out)
{
    const sx_host_api *h = cx->host;
    sx_str             s;
    int64_t            ms;

    if (v == NULL || h->json_type(v) == SX_JSON_NULL)
        return SX_E_NOT_FOUND;
    if (h->json_string(v, &s) != SX_OK || s.len == 0 || s.len > 64 ||
        h->time_parse(s, &ms) != SX_OK)
        return SX_E_INVALID;
    if (h->time_format(cx, ms, out) != SX_OK)
        return SX_E_LIMIT;
    return SX_OK;
}

/* Copy a time member; `required` turns absence into a protocol error. */
static int
put_time(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, const char *pkey, const char *ckey,
         int required, const char *what, sx_str id)
{
    sx_str t;
    int    rc = time_utc(cx, cx->host->json_get(o, pkey), &t);

    if (rc == SX_OK) {
        sxp_jb_key(b, ckey);
        sxp_jb_str(b, t);
        return SX_OK;
    }
    if (rc == SX_E_NOT_FOUND && !required)
        return SX_OK;
    if (rc == SX_E_LIMIT)
        return rc;
    return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify %s " SX_STR_FMT " has %s %s", what,
                          SX_STR_ARG(id), rc == SX_E_NOT_FOUND ? "no" : "an unreadable", pkey);
}

/* The text of a money value: a decimal string, or a JSON number's own text. */
static int
money_text(sx_ctx *cx, const sx_json *v, sx_str *out)
{
    const sx_host_api *h = cx->host;
    uint32_t           t = h->json_type(v);

    if (t == SX_JSON_STRING)
        return h->json_string(v, out);
    if (t == SX_JSON_INT || t == SX_JSON_DOUBLE)
        return h->json_text(cx, v, out);
    return SX_E_NOT_FOUND;
}

/* Money in minor units. SX_OK, SX_E_NOT_FOUND (absent/null) or SX_E_INVALID. */
static int
money_of(sx_ctx *cx, const sx_json *v, int exp, int64_t *out)
{
    sx_str s;
    int    rc = money_text(cx, v, &s);

    if (rc != SX_OK)
        return rc == SX_E_NOT_FOUND ? rc : SX_E_INVALID;
    /* Shopify writes two decimals even for JPY (platforms.md 1.3, SANDBOX.md): round. */
    return sx_money_parse(s, exp, 1, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

/* `key` of `o`, required money. */
static int
need_money(sx_ctx *cx, const sx_json *o, const char *key, int exp, int64_t *out,
           const char *what, sx_str id)
{
    int rc = money_of(cx, cx->host->json_get(o, key), exp, out);

    if (rc != SX_OK)
        return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify %s " SX_STR_FMT " has %s %s", what,
                              SX_STR_ARG(id), rc == SX_E_NOT_FOUND ? "no" : "an unreadable",
                              key);
    return SX_OK;
}

/* Optional money: 0 when absent; a protocol error when present but unreadable. */
static int
opt_money(sx_ctx *cx, const sx_json *o, const char *key, int exp, int64_t *out,
          const char *what, sx_str id)
{
    int rc = money_of(cx, cx->host->json_get(o, key), exp, out);

    if (rc == SX_E_NOT_FOUND) {
        *out = 0;
        return SX_OK;
    }
    if (rc != SX_OK)
        return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify %s " SX_STR_FMT " has an unreadable %s",
                              what, SX_STR_ARG(id), key);
    return SX_OK;
}

/* A money bag's shop amount: o[key].shop_money.amount. */
static const sx_json *
shop_money(const sx_host_api *h, const sx_json *o, const char *key)
{
    return h->json_get(h->json_get(h->json_get(o, key), "shop_money"), "amount");
}

static int
add64(int64_t *acc, int64_t v)
{
    return !__builtin_add_overflow(*acc, v, acc);
}

/* An array member, bounded. *n = its length (0 when absent or not an array). */
static const sx_json *
get_arr(sx_ctx *cx, const sx_json *o, const char *key, size_t *n, int *too_long)
{
    const sx_json *a = cx->host->json_get(o, key);

    *n = cx->host->json_length(a);
    *too_long = *n > SHP_MAX_ITEMS;
    return a;
}

static int
too_many(sx_ctx *cx, const char *what, sx_str id, const char *key, size_t n)
{
    return cx->host->fail(cx, SX_E_LIMIT, "Shopify %s " SX_STR_FMT " has %zu %s, more than %d",
                          what, SX_STR_ARG(id), n, key, SHP_MAX_ITEMS);
}

static int
currency_ok(sx_str c)
{
    return c.len == 3 && c.ptr[0] >= 'A' && c.ptr[0] <= 'Z' && c.ptr[1] >= 'A' &&
           c.ptr[1] <= 'Z' && c.ptr[2] >= 'A' && c.ptr[2] <= 'Z';
}

/* The record as received, in `raw`. */
static int
put_raw(struct sxp_buf *b, sx_ctx *cx, const sx_json *rec)
{
    sx_str raw;
    int    rc = cx->host->json_text(cx, rec, &raw);

    if (rc != SX_OK)
        return rc;
    sxp_jb_key(b, SX_K_RAW);
    sxp_jb_json(b, raw);
    return SX_OK;
}

static int
finish(struct sxp_buf *b, sx_ctx *cx, const char *what, sx_str id)
{
    if (b->rc == SX_E_PROTOCOL)
        return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify %s " SX_STR_FMT " has text that is "
                              "not valid UTF-8", what, SX_STR_ARG(id));
    if (b->rc != SX_OK)
        return cx->host->fail(cx, b->rc, "Shopify %s " SX_STR_FMT " is too large or too deep "
                              "to translate", what, SX_STR_ARG(id));
    return SX_OK;
}

/* ---- addresses ------------------------------------------------------------------------------- */

/* MODEL.md 2: an address with none of line1, city, postal_code, country_code is not sent. */
static int
addr_has_place(const sx_host_api *h, const sx_json *a)
{
    sx_str s;

    return h->json_type(a) == SX_JSON_OBJECT &&
           (sxp_get_nonempty(h, a, "address1", &s) || sxp_get_nonempty(h, a, "city", &s) ||
            sxp_get_nonempty(h, a, "zip", &s) || sxp_get_nonempty(h, a, "country_code", &s));
}

static void
put_address(struct sxp_buf *b, sx_ctx *cx, const sx_json *a, const char *kind)
{
    const sx_host_api *h = cx->host;
    sx_str             cc;

    sxp_jb_obj(b);
    if (kind != NULL) {
        sxp_jb_key(b, SX_K_KIND);
        sxp_jb_str(b, sx_cstr(kind));
    }
    sxp_put_str(b, h, a, "first_name", SX_K_FIRST_NAME);
    sxp_put_str(b, h, a, "last_name", SX_K_LAST_NAME);
    sxp_put_str(b, h, a, "company", SX_K_COMPANY_NAME);
    sxp_put_str(b, h, a, "phone", SX_K_PHONE);
    sxp_put_str(b, h, a, "address1", SX_K_LINE1);
    sxp_put_str(b, h, a, "address2", SX_K_LINE2);
    sxp_put_str(b, h, a, "city", SX_K_CITY);
    /* MODEL.md: the region as the platform gives it; the name reads better on an invoice. */
    if (sxp_get_nonempty(h, a, "province", &cc) || sxp_get_nonempty(h, a, "province_code", &cc)) {
        sxp_jb_key(b, SX_K_REGION);
        sxp_jb_str(b, cc);
    }
    sxp_put_str(b, h, a, "zip", SX_K_POSTAL_CODE);
    if (sxp_get_str(h, a, "country_code", &cc) && cc.len == 2) {
        char up[2];
        int  i;

        for (i = 0; i < 2; i++)
            up[i] = (cc.ptr[i] >= 'a' && cc.ptr[i] <= 'z') ? (char)(cc.ptr[i] - 32) : cc.ptr[i];
        sxp_jb_key(b, SX_K_COUNTRY_CODE);
        sxp_jb_str(b, (sx_str){ up, 2 });
    }
    sxp_jb_obj_end(b);
}

/* ---- customer -------------------------------------------------------------------------------- */

int
shp_map_customer(sx_ctx *cx, const sx_json *c, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *def, *addrs, *tags;
    sx_str             id, s, def_id = SX_STR_NULL, aid;
    size_t             i, n;
    int                rc, too_long, first_default = -1;

    rc = shp_record_id(cx, c, &id);
    if (rc != SX_OK)
        return rc;
    sxp_jb_obj(b);
    sxp_jb_key(b, SX_K_EXTERNAL_ID);
    sxp_jb_str(b, id);
    if ((rc = put_time(b, cx, c, "updated_at", SX_K_UPDATED_AT, 1, "customer", id)) != SX_OK ||
        (rc = put_time(b, cx, c, "created_at", SX_K_CREATED_AT, 0, "customer", id)) != SX_OK)
        return rc;
    sxp_copy_str(b, h, c, "email", SX_K_EMAIL);
    sxp_copy_str(b, h, c, "first_name", SX_K_FIRST_NAME);
    sxp_copy_str(b, h, c, "last_name", SX_K_LAST_NAME);
    /* Shopify keeps a customer's company on the addresses only: the default one's. */
    def = h->json_get(c, "default_address");
    if (h->json_type(def) == SX_JSON_OBJECT) {
        sxp_copy_str(b, h, def, "company", SX_K_COMPANY_NAME);
        (void)id_text(cx, h->json_get(def, "id"), &def_id);
    }
    sxp_copy_str(b, h, c, "phone", SX_K_PHONE);
    if (sxp_get_str(h, c, "currency", &s) && currency_ok(s)) {
        sxp_jb_key(b, SX_K_CURRENCY);
        sxp_jb_str(b, s);
    }
    copy_bool(b, h, c, "tax_exempt", SX_K_TAX_EXEMPT);
    sxp_copy_str(b, h, c, "note", SX_K_NOTE);
    tags = h->json_get(c, "tags");
    if (h->json_type(tags) == SX_JSON_STRING || h->json_type(tags) == SX_JSON_NULL) {
        if (h->json_string(tags, &s) != SX_OK)
            s = SX_STR_NULL;
        sxp_jb_key(b, SX_K_TAGS);
        shp_jb_tags(b, s);
    }

    addrs = get_arr(cx, c, "addresses", &n, &too_long);
    if (too_long)
        return too_many(cx, "customer", id, "addresses", n);
    if (h->json_type(addrs) == SX_JSON_ARRAY) {
        /* The default address is the billing one (MODEL.md: the first billing address is
         * the company's); Shopify has no other kinds, so the rest are "other". */
        for (i = 0; i < n && first_default < 0; i++) {
            const sx_json *a = h->json_at(addrs, i);
            int            d = 0;

            if ((h->json_bool(h->json_get(a, "default"), &d) == SX_OK && d) ||
                (def_id.len > 0 && id_text(cx, h->json_get(a, "id"), &aid) &&
                 sx_str_eq(aid, def_id)))
                first_default = (int)i;
        }
        sxp_jb_key(b, SX_K_ADDRESSES);
        sxp_jb_arr(b);
        for (i = 0; i < n; i++) {
            const sx_json *a = h->json_at(addrs, i);

            if (addr_has_place(h, a))
                put_address(b, cx, a, (int)i == first_default ? "billing" : "other");
        }
        sxp_jb_arr_end(b);
    } else if (addr_has_place(h, def)) {
        sxp_jb_key(b, SX_K_ADDRESSES);
        sxp_jb_arr(b);
        put_address(b, cx, def, "billing");
        sxp_jb_arr_end(b);
    }
    if ((rc = put_raw(b, cx, c)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, "customer", id);
}

/* ---- product --------------------------------------------------------------------------------- */

int
shp_map_product(sx_ctx *cx, const sx_json *p, sx_str currency, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *vars, *tags;
    sx_str             id, s, vid;
    size_t             i, n;
    int                rc, too_long, exp;

    rc = shp_record_id(cx, p, &id);
    if (rc != SX_OK)
        return rc;
    if (!currency_ok(currency))
        return h->fail(cx, SX_E_INVALID, "the shop's currency is unknown: product " SX_STR_FMT
                       " cannot be priced", SX_STR_ARG(id));
    exp = sx_currency_exponent(currency);
    if (!sxp_get_nonempty(h, p, "title", &s))
        return h->fail(cx, SX_E_PROTOCOL, "Shopify product " SX_STR_FMT " has no title",
                       SX_STR_ARG(id));
    vars = get_arr(cx, p, "variants", &n, &too_long);
    if (too_long)
        return too_many(cx, "product", id, "variants", n);
    if (n == 0)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify product " SX_STR_FMT " has no variants",
                       SX_STR_ARG(id));

    sxp_jb_obj(b);
    sxp_jb_key(b, SX_K_EXTERNAL_ID);
    sxp_jb_str(b, id);
    if ((rc = put_time(b, cx, p, "updated_at", SX_K_UPDATED_AT, 1, "product", id)) != SX_OK ||
        (rc = put_time(b, cx, p, "created_at", SX_K_CREATED_AT, 0, "product", id)) != SX_OK)
        return rc;
    sxp_jb_key(b, SX_K_TITLE);
    sxp_jb_str(b, s);
    sxp_copy_str(b, h, p, "body_html", SX_K_DESCRIPTION);
    sxp_copy_str(b, h, p, "vendor", SX_K_VENDOR);
    if (sxp_get_str(h, p, "status", &s) &&
        (sx_str_eq_cstr(s, "active") || sx_str_eq_cstr(s, "draft") ||
         sx_str_eq_cstr(s, "archived"))) {
        sxp_jb_key(b, SX_K_STATUS);
        sxp_jb_str(b, s);
    }
    sxp_jb_key(b, SX_K_CURRENCY);
    sxp_jb_str(b, currency);
    tags = h->json_get(p, "tags");
    if (h->json_type(tags) == SX_JSON_STRING || h->json_type(tags) == SX_JSON_NULL) {
        if (h->json_string(tags, &s) != SX_OK)
            s = SX_STR_NULL;
        sxp_jb_key(b, SX_K_TAGS);
        shp_jb_tags(b, s);
    }

    sxp_jb_key(b, SX_K_VARIANTS);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *v = h->json_at(vars, i);
        const sx_json *mgmt;
        int64_t        price, qty, pos;

        if (h->json_type(v) != SX_JSON_OBJECT || !id_text(cx, h->json_get(v, "id"), &vid))
            return h->fail(cx, SX_E_PROTOCOL, "Shopify product " SX_STR_FMT " has a variant "
                           "without an id", SX_STR_ARG(id));
        if ((rc = need_money(cx, v, "price", exp, &price, "variant", vid)) != SX_OK)
            return rc;
        sxp_jb_obj(b);
        sxp_jb_key(b, SX_K_EXTERNAL_ID);
        sxp_jb_str(b, vid);
        if ((rc = put_time(b, cx, v, "updated_at", SX_K_UPDATED_AT, 0, "variant", vid)) != SX_OK)
            return rc;
        /* MODEL.md: no title for the only variant; Shopify calls it "Default Title". */
        if (sxp_get_nonempty(h, v, "title", &s) && !(n == 1 && sx_str_eq_cstr(s, "Default Title"))) {
            sxp_jb_key(b, SX_K_TITLE);
            sxp_jb_str(b, s);
        }
        sxp_put_str(b, h, v, "sku", SX_K_SKU);
        sxp_put_str(b, h, v, "barcode", SX_K_BARCODE);
        sxp_jb_key(b, SX_K_PRICE_MINOR);
        sxp_jb_i64(b, price);
        copy_bool(b, h, v, "taxable", SX_K_TAXABLE);
        /* Stock only when Shopify tracks it (inventory_management null = not tracked). */
        mgmt = h->json_get(v, "inventory_management");
        if (h->json_type(mgmt) != SX_JSON_NULL &&
            h->json_type(h->json_get(v, "inventory_quantity")) == SX_JSON_INT &&
            h->json_int64(h->json_get(v, "inventory_quantity"), &qty) == SX_OK) {
            sxp_jb_key(b, SX_K_STOCK);
            sxp_jb_i64(b, qty);
        }
        if (h->json_type(h->json_get(v, "position")) == SX_JSON_INT &&
            h->json_int64(h->json_get(v, "position"), &pos) == SX_OK && pos >= 1) {
            sxp_jb_key(b, SX_K_POSITION);
            sxp_jb_i64(b, pos);
        }
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);
    if ((rc = put_raw(b, cx, p)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, "product", id);
}

/* ---- order ----------------------------------------------------------------------------------- */

/* A tax line's rate, a JSON number (0.2) or string, as ppm through its text: no double. */
static int
tax_rate(sx_ctx *cx, const sx_json *t, int64_t *ppm)
{
    const sx_host_api *h = cx->host;
    const sx_json     *r = h->json_get(t, "rate");
    uint32_t           ty = h->json_type(r);
    sx_str             s;

    if (ty == SX_JSON_ABSENT || ty == SX_JSON_NULL) {
        *ppm = 0;
        return SX_OK;
    }
    if (ty == SX_JSON_STRING) {
        if (h->json_string(r, &s) != SX_OK)
            return SX_E_INVALID;
    } else if (ty == SX_JSON_INT || ty == SX_JSON_DOUBLE) {
        if (h->json_text(cx, r, &s) != SX_OK)
            return SX_E_INVALID;
    } else {
        return SX_E_INVALID;
    }
    return sxp_rate_ppm(s, ppm);
}

/* Write tax_lines[] as canonical taxes and sum their amounts. */
static int
put_taxes(struct sxp_buf *b, sx_ctx *cx, const sx_json *owner, int exp, int64_t *sum,
          const char *what, sx_str id, int write)
{
    const sx_host_api *h = cx->host;
    const sx_json     *lines;
    size_t             i, n;
    int                rc, too_long;

    *sum = 0;
    lines = get_arr(cx, owner, "tax_lines", &n, &too_long);
    if (too_long)
        return too_many(cx, what, id, "tax lines", n);
    if (write) {
        sxp_jb_key(b, SX_K_TAXES);
        sxp_jb_arr(b);
    }
    for (i = 0; i < n; i++) {
        const sx_json *t = h->json_at(lines, i);
        int64_t        amount = 0, ppm = 0;

        if ((rc = need_money(cx, t, "price", exp, &amount, what, id)) != SX_OK)
            return rc;
        if (tax_rate(cx, t, &ppm) != SX_OK)
            return h->fail(cx, SX_E_PROTOCOL, "Shopify %s " SX_STR_FMT " has a tax line with "
                           "an unreadable rate", what, SX_STR_ARG(id));
        if (!add64(sum, amount))
            return h->fail(cx, SX_E_PROTOCOL, "Shopify %s " SX_STR_FMT " has taxes out of range",
                           what, SX_STR_ARG(id));
        if (write) {
            sxp_jb_obj(b);
            sxp_put_str(b, h, t, "title", SX_K_TITLE);
            sxp_jb_key(b, SX_K_RATE_PPM);
            sxp_jb_i64(b, ppm);
            sxp_jb_key(b, SX_K_AMOUNT_MINOR);
            sxp_jb_i64(b, amount);
            sxp_jb_obj_end(b);
        }
    }
    if (write)
        sxp_jb_arr_end(b);
    return SX_OK;
}

static const char *
financial_status(const sx_host_api *h, const sx_json *o)
{
    static const char *const same[] = { "pending", "authorized", "partially_paid", "paid",
                                        "partially_refunded", "refunded", "voided" };
    sx_str                   s;
    size_t                   i;

    if (!sxp_get_str(h, o, "financial_status", &s))
        return "pending";
    for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        if (sx_str_eq_cstr(s, same[i]))
            return same[i];
    }
    /* An authorization that lapsed is, for an invoice, an authorization cancelled. */
    if (sx_str_eq_cstr(s, "expired"))
        return "voided";
    return "pending";
}

static int
non_null(const sx_host_api *h, const sx_json *o, const char *key)
{
    uint32_t t = h->json_type(h->json_get(o, key));

    return t != SX_JSON_ABSENT && t != SX_JSON_NULL;
}

static void
put_order_customer(struct sxp_buf *b, sx_ctx *cx, const sx_json *o)
{
    const sx_host_api *h = cx->host;
    const sx_json     *c = h->json_get(o, "customer");
    const sx_json     *bill = h->json_get(o, "billing_address");
    sx_str             s, id;
    int                have_id = h->json_type(c) == SX_JSON_OBJECT &&
                                 id_text(cx, h->json_get(c, "id"), &id);

    if (!have_id && !sxp_get_nonempty(h, o, "email", &s) && !sxp_get_nonempty(h, o, "phone", &s))
        return;                        /* a guest with nothing to link by */
    sxp_jb_key(b, SX_K_CUSTOMER);
    sxp_jb_obj(b);
    if (have_id) {
        sxp_jb_key(b, SX_K_EXTERNAL_ID);
        sxp_jb_str(b, id);
    }
    if (sxp_get_nonempty(h, c, "email", &s) || sxp_get_nonempty(h, o, "email", &s)) {
        sxp_jb_key(b, SX_K_EMAIL);
        sxp_jb_str(b, s);
    }
    if (sxp_get_nonempty(h, c, "first_name", &s) || sxp_get_nonempty(h, bill, "first_name", &s)) {
        sxp_jb_key(b, SX_K_FIRST_NAME);
        sxp_jb_str(b, s);
    }
    if (sxp_get_nonempty(h, c, "last_name", &s) || sxp_get_nonempty(h, bill, "last_name", &s)) {
        sxp_jb_key(b, SX_K_LAST_NAME);
        sxp_jb_str(b, s);
    }
    sxp_put_str(b, h, bill, "company", SX_K_COMPANY_NAME);
    if (sxp_get_nonempty(h, c, "phone", &s) || sxp_get_nonempty(h, o, "phone", &s)) {
        sxp_jb_key(b, SX_K_PHONE);
        sxp_jb_str(b, s);
    }
    sxp_jb_obj_end(b);
}

/* Line items: writes `lines`, returns the sum of quantity * unit price. */
static int
put_lines(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, int exp, sx_str oid,
          int64_t *subtotal)
{
    const sx_host_api *h = cx->host;
    const sx_json     *items;
    size_t             i, n;
    int                rc, too_long;

    *subtotal = 0;
    items = get_arr(cx, o, "line_items", &n, &too_long);
    if (too_long)
        return too_many(cx, "order", oid, "line items", n);
    sxp_jb_key(b, SX_K_LINES);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *li = h->json_at(items, i);
        const sx_json *allocs;
        sx_str         lid, s;
        int64_t        qty, unit, disc = 0, tax, gross, a;
        size_t         k, na;

        if (h->json_type(li) != SX_JSON_OBJECT || !id_text(cx, h->json_get(li, "id"), &lid))
            return h->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " has a line item "
                           "without an id", SX_STR_ARG(oid));
        if (h->json_int64(h->json_get(li, "quantity"), &qty) != SX_OK || qty < 0 ||
            qty > 100000000)
            return h->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " line " SX_STR_FMT
                           " has no usable quantity", SX_STR_ARG(oid), SX_STR_ARG(lid));
        if ((rc = need_money(cx, li, "price", exp, &unit, "line item", lid)) != SX_OK)
            return rc;
        /* discount_allocations are the current truth; total_discount is deprecated. */
        allocs = get_arr(cx, li, "discount_allocations", &na, &too_long);
        if (too_long)
            return too_many(cx, "line item", lid, "discount allocations", na);
        if (na > 0) {
            for (k = 0; k < na; k++) {
                if ((rc = need_money(cx, h->json_at(allocs, k), "amount", exp, &a,
                                     "line item", lid)) != SX_OK)
                    return rc;
                if (!add64(&disc, a))
                    return h->fail(cx, SX_E_PROTOCOL, "line item " SX_STR_FMT " discount out of "
                                   "range", SX_STR_ARG(lid));
            }
        } else if ((rc = opt_money(cx, li, "total_discount", exp, &disc, "line item",
                                   lid)) != SX_OK) {
            return rc;
        }
        if (__builtin_mul_overflow(qty, unit, &gross) || !add64(subtotal, gross))
            return h->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " has amounts out of "
                           "range", SX_STR_ARG(oid));

        sxp_jb_obj(b);
        sxp_jb_key(b, SX_K_EXTERNAL_ID);
        sxp_jb_str(b, lid);
        put_id(b, cx, li, "product_id", SX_K_PRODUCT_EXTERNAL_ID);
        put_id(b, cx, li, "variant_id", SX_K_VARIANT_EXTERNAL_ID);
        sxp_put_str(b, h, li, "sku", SX_K_SKU);
        /* "name" is "Product - Variant"; a custom line may only have a title. */
        if (!sxp_get_nonempty(h, li, "name", &s) && !sxp_get_nonempty(h, li, "title", &s))
            s = SX_STR("Item");
        sxp_jb_key(b, SX_K_TITLE);
        sxp_jb_str(b, s);
        sxp_jb_key(b, SX_K_QUANTITY);
        sxp_jb_i64(b, qty);
        sxp_jb_key(b, SX_K_UNIT_PRICE_MINOR);
        sxp_jb_i64(b, unit);
        sxp_jb_key(b, SX_K_DISCOUNT_MINOR);
        sxp_jb_i64(b, disc);
        if ((rc = put_taxes(b, cx, li, exp, &tax, "line item", lid, 0)) != SX_OK)
            return rc;
        sxp_jb_key(b, SX_K_TAX_MINOR);
        sxp_jb_i64(b, tax);
        sxp_jb_key(b, SX_K_TOTAL_MINOR);
        sxp_jb_i64(b, gross - disc);
        if ((rc = put_taxes(b, cx, li, exp, &tax, "line item", lid, 1)) != SX_OK)
            return rc;
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);
    return SX_OK;
}

/* discount_codes, plus one code-less entry for what automatic discounts took off. */
static int
put_discounts(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, int exp, sx_str oid,
              int64_t total_discounts, int have_total, int64_t *sum)
{
    const sx_host_api *h = cx->host;
    const sx_json     *codes, *apps;
    size_t             i, n;
    int                rc, too_long;

    *sum = 0;
    codes = get_arr(cx, o, "discount_codes", &n, &too_long);
    if (too_long)
        return too_many(cx, "order", oid, "discount codes", n);
    sxp_jb_key(b, SX_K_DISCOUNTS);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *d = h->json_at(codes, i);
        int64_t        amount = 0;

        if ((rc = need_money(cx, d, "amount", exp, &amount, "order", oid)) != SX_OK)
            return rc;
        if (!add64(sum, amount))
            return h->fail(cx, SX_E_PROTOCOL, "order " SX_STR_FMT " discounts out of range",
                           SX_STR_ARG(oid));
        sxp_jb_obj(b);
        sxp_put_str(b, h, d, "code", SX_K_CODE);
        sxp_jb_key(b, SX_K_AMOUNT_MINOR);
        sxp_jb_i64(b, amount);
        sxp_jb_obj_end(b);
    }
    if (have_total && total_discounts > *sum) {
        sx_str title = SX_STR("Discount");

        apps = get_arr(cx, o, "discount_applications", &n, &too_long);
        for (i = 0; i < n && !too_long; i++) {
            const sx_json *a = h->json_at(apps, i);
            sx_str         type;

            if (sxp_get_str(h, a, "type", &type) && sx_str_eq_cstr(type, "discount_code"))
                continue;
            if (sxp_get_nonempty(h, a, "title", &title) || sxp_get_nonempty(h, a, "description", &title))
                break;
        }
        sxp_jb_obj(b);
        sxp_jb_key(b, SX_K_TITLE);
        sxp_jb_str(b, title);
        sxp_jb_key(b, SX_K_AMOUNT_MINOR);
        sxp_jb_i64(b, total_discounts - *sum);
        sxp_jb_obj_end(b);
        *sum = total_discounts;
    }
    sxp_jb_arr_end(b);
    return SX_OK;
}

static int
put_shipping(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, int exp, sx_str oid,
             int64_t *sum)
{
    const sx_host_api *h = cx->host;
    const sx_json     *lines;
    size_t             i, n;
    int                rc, too_long;

    *sum = 0;
    lines = get_arr(cx, o, "shipping_lines", &n, &too_long);
    if (too_long)
        return too_many(cx, "order", oid, "shipping lines", n);
    sxp_jb_key(b, SX_K_SHIPPING);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *s = h->json_at(lines, i);
        int64_t        amount = 0, tax = 0;

        if ((rc = need_money(cx, s, "price", exp, &amount, "order", oid)) != SX_OK ||
            (rc = put_taxes(b, cx, s, exp, &tax, "order", oid, 0)) != SX_OK)
            return rc;
        if (!add64(sum, amount))
            return h->fail(cx, SX_E_PROTOCOL, "order " SX_STR_FMT " shipping out of range",
                           SX_STR_ARG(oid));
        sxp_jb_obj(b);
        {
            sx_str t;

            if (sxp_get_nonempty(h, s, "title", &t) || sxp_get_nonempty(h, s, "code", &t)) {
                sxp_jb_key(b, SX_K_TITLE);
                sxp_jb_str(b, t);
            }
        }
        sxp_jb_key(b, SX_K_AMOUNT_MINOR);
        sxp_jb_i64(b, amount);
        sxp_jb_key(b, SX_K_TAX_MINOR);
        sxp_jb_i64(b, tax);
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);
    return SX_OK;
}

/* One refund's money: its successful refund transactions in the order's currency; without
 * those, the refunded lines with their tax minus the order adjustments (negative = given). */
static int
refund_amount(sx_ctx *cx, const sx_json *r, sx_str currency, int exp, sx_str rid, int64_t *out)
{
    const sx_host_api *h = cx->host;
    const sx_json     *arr;
    size_t             i, n;
    int                rc, too_long, found = 0;
    int64_t            sum = 0, a;

    arr = get_arr(cx, r, "transactions", &n, &too_long);
    if (too_long)
        return too_many(cx, "refund", rid, "transactions", n);
    for (i = 0; i < n; i++) {
        const sx_json *t = h->json_at(arr, i);
        sx_str         kind, status, cur;

        if (!sxp_get_str(h, t, "kind", &kind) || !sx_str_eq_cstr(kind, "refund"))
            continue;
        if (sxp_get_str(h, t, "status", &status) && !sx_str_eq_cstr(status, "success"))
            continue;
        if (sxp_get_str(h, t, "currency", &cur) && cur.len > 0 && !sx_str_eq(cur, currency)) {
            found = 0;                 /* another currency: fall back to the lines */
            sum = 0;
            break;
        }
        if ((rc = need_money(cx, t, "amount", exp, &a, "refund", rid)) != SX_OK)
            return rc;
        if (!add64(&sum, a))
            return h->fail(cx, SX_E_PROTOCOL, "refund " SX_STR_FMT " out of range",
                           SX_STR_ARG(rid));
        found = 1;
    }
    if (found) {
        *out = sum;
        return SX_OK;
    }
    sum = 0;
    arr = get_arr(cx, r, "refund_line_items", &n, &too_long);
    if (too_long)
        return too_many(cx, "refund", rid, "refund line items", n);
    for (i = 0; i < n; i++) {
        const sx_json *li = h->json_at(arr, i);
        int64_t        sub = 0, tax = 0;
        const sx_json *v;

        v = shop_money(h, li, "subtotal_set");
        if (v == NULL)
            v = h->json_get(li, "subtotal");
        if (money_of(cx, v, exp, &sub) == SX_E_INVALID)
            return h->fail(cx, SX_E_PROTOCOL, "refund " SX_STR_FMT " has an unreadable subtotal",
                           SX_STR_ARG(rid));
        v = shop_money(h, li, "total_tax_set");
        if (v == NULL)
            v = h->json_get(li, "total_tax");
        if (money_of(cx, v, exp, &tax) == SX_E_INVALID)
            return h->fail(cx, SX_E_PROTOCOL, "refund " SX_STR_FMT " has an unreadable tax",
                           SX_STR_ARG(rid));
        if (!add64(&sum, sub) || !add64(&sum, tax))
            return h->fail(cx, SX_E_PROTOCOL, "refund " SX_STR_FMT " out of range",
                           SX_STR_ARG(rid));
    }
    arr = get_arr(cx, r, "order_adjustments", &n, &too_long);
    if (too_long)
        return too_many(cx, "refund", rid, "order adjustments", n);
    for (i = 0; i < n; i++) {
        const sx_json *adj = h->json_at(arr, i);
        int64_t        amt = 0, tax = 0;

        if (money_of(cx, h->json_get(adj, "amount"), exp, &amt) == SX_E_INVALID ||
            money_of(cx, h->json_get(adj, "tax_amount"), exp, &tax) == SX_E_INVALID)
            return h->fail(cx, SX_E_PROTOCOL, "refund " SX_STR_FMT " has an unreadable "
                           "adjustment", SX_STR_ARG(rid));
        if (!add64(&sum, -amt) || !add64(&sum, -tax))
            return h->fail(cx, SX_E_PROTOCOL, "refund " SX_STR_FMT " out of range",
                           SX_STR_ARG(rid));
    }
    *out = sum;
    return SX_OK;
}

static int
put_refunds(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, sx_str currency, int exp,
            sx_str oid, int64_t *sum)
{
    const sx_host_api *h = cx->host;
    const sx_json     *refunds;
    size_t             i, n;
    int                rc, too_long;

    *sum = 0;
    refunds = get_arr(cx, o, "refunds", &n, &too_long);
    if (too_long)
        return too_many(cx, "order", oid, "refunds", n);
    sxp_jb_key(b, SX_K_REFUNDS);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *r = h->json_at(refunds, i);
        sx_str         rid;
        int64_t        amount = 0;

        if (h->json_type(r) != SX_JSON_OBJECT || !id_text(cx, h->json_get(r, "id"), &rid))
            return h->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " has a refund "
                           "without an id", SX_STR_ARG(oid));
        if ((rc = refund_amount(cx, r, currency, exp, rid, &amount)) != SX_OK)
            return rc;
        if (amount <= 0)
            continue;                  /* a restock without money: nothing given back */
        if (!add64(sum, amount))
            return h->fail(cx, SX_E_PROTOCOL, "order " SX_STR_FMT " refunds out of range",
                           SX_STR_ARG(oid));
        sxp_jb_obj(b);
        sxp_jb_key(b, SX_K_EXTERNAL_ID);
        sxp_jb_str(b, rid);
        sxp_jb_key(b, SX_K_AMOUNT_MINOR);
        sxp_jb_i64(b, amount);
        if ((rc = put_time(b, cx, r, "created_at", SX_K_CREATED_AT, 0, "refund", rid)) != SX_OK)
            return rc;
        sxp_put_str(b, h, r, "note", SX_K_NOTE);
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);
    return SX_OK;
}

/* A total from Shopify when present, else our own sum. */
static int
total_or(sx_ctx *cx, const sx_json *v, int exp, int64_t fallback, int64_t *out, sx_str oid,
         const char *name)
{
    int rc = money_of(cx, v, exp, out);

    if (rc == SX_E_NOT_FOUND) {
        *out = fallback;
        return SX_OK;
    }
    if (rc != SX_OK)
        return cx->host->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " has an "
                              "unreadable %s", SX_STR_ARG(oid), name);
    return SX_OK;
}

int
shp_map_order(sx_ctx *cx, const sx_json *o, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *tags, *addr;
    sx_str             id, cur, s;
    int64_t            lines_sum, disc_sum, ship_sum, tax_sum, refund_sum;
    int64_t            subtotal, discount, shipping, tax, total, total_disc = 0;
    int                rc, exp, incl = 0, have_disc;

    rc = shp_record_id(cx, o, &id);
    if (rc != SX_OK)
        return rc;
    if (!sxp_get_str(h, o, "currency", &cur) || !currency_ok(cur))
        return h->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " has no currency",
                       SX_STR_ARG(id));
    exp = sx_currency_exponent(cur);
    (void)h->json_bool(h->json_get(o, "taxes_included"), &incl);

    sxp_jb_obj(b);
    sxp_jb_key(b, SX_K_EXTERNAL_ID);
    sxp_jb_str(b, id);
    if ((rc = put_time(b, cx, o, "updated_at", SX_K_UPDATED_AT, 1, "order", id)) != SX_OK ||
        (rc = put_time(b, cx, o, "created_at", SX_K_CREATED_AT, 0, "order", id)) != SX_OK)
        return rc;
    if (sxp_get_nonempty(h, o, "name", &s)) {
        sxp_jb_key(b, SX_K_NUMBER);
        sxp_jb_str(b, s);
    } else if (id_text(cx, h->json_get(o, "order_number"), &s)) {
        sxp_jb_key(b, SX_K_NUMBER);
        sxp_jb_str(b, s);
    }
    /* MODEL.md: cancelled_at set -> cancelled; closed_at set -> completed; else open. */
    sxp_jb_key(b, SX_K_STATUS);
    if (non_null(h, o, "cancelled_at"))
        sxp_jb_str(b, SX_STR("cancelled"));
    else if (non_null(h, o, "closed_at"))
        sxp_jb_str(b, SX_STR("completed"));
    else
        sxp_jb_str(b, SX_STR("open"));
    sxp_jb_key(b, SX_K_FINANCIAL_STATUS);
    sxp_jb_str(b, sx_cstr(financial_status(h, o)));
    sxp_jb_key(b, SX_K_CURRENCY);
    sxp_jb_str(b, cur);
    sxp_jb_key(b, SX_K_TAXES_INCLUDED);
    sxp_jb_bool(b, incl);
    put_order_customer(b, cx, o);
    addr = h->json_get(o, "billing_address");
    if (addr_has_place(h, addr)) {
        sxp_jb_key(b, SX_K_BILLING_ADDRESS);
        put_address(b, cx, addr, NULL);
    }
    addr = h->json_get(o, "shipping_address");
    if (addr_has_place(h, addr)) {
        sxp_jb_key(b, SX_K_SHIPPING_ADDRESS);
        put_address(b, cx, addr, NULL);
    }
    sxp_copy_str(b, h, o, "note", SX_K_NOTE);
    tags = h->json_get(o, "tags");
    if (h->json_type(tags) == SX_JSON_STRING) {
        (void)h->json_string(tags, &s);
        sxp_jb_key(b, SX_K_TAGS);
        shp_jb_tags(b, s);
    }

    if ((rc = put_lines(b, cx, o, exp, id, &lines_sum)) != SX_OK ||
        (rc = put_taxes(b, cx, o, exp, &tax_sum, "order", id, 1)) != SX_OK)
        return rc;
    rc = money_of(cx, h->json_get(o, "total_discounts"), exp, &total_disc);
    if (rc == SX_E_INVALID)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify order " SX_STR_FMT " has an unreadable "
                       "total_discounts", SX_STR_ARG(id));
    have_disc = rc == SX_OK;
    if ((rc = put_discounts(b, cx, o, exp, id, total_disc, have_disc, &disc_sum)) != SX_OK ||
        (rc = put_shipping(b, cx, o, exp, id, &ship_sum)) != SX_OK ||
        (rc = put_refunds(b, cx, o, cur, exp, id, &refund_sum)) != SX_OK)
        return rc;

    /* The platform's totals are authoritative (MODEL.md 5); our sums only fill gaps. */
    if ((rc = total_or(cx, h->json_get(o, "total_line_items_price"), exp, lines_sum, &subtotal,
                       id, "total_line_items_price")) != SX_OK ||
        (rc = total_or(cx, h->json_get(o, "total_discounts"), exp, disc_sum, &discount, id,
                       "total_discounts")) != SX_OK ||
        (rc = total_or(cx, shop_money(h, o, "total_shipping_price_set"), exp, ship_sum,
                       &shipping, id, "total_shipping_price_set")) != SX_OK ||
        (rc = total_or(cx, h->json_get(o, "total_tax"), exp, tax_sum, &tax, id,
                       "total_tax")) != SX_OK)
        return rc;
    if (__builtin_sub_overflow(subtotal, discount, &total) || !add64(&total, shipping) ||
        (!incl && !add64(&total, tax)))
        total = 0;
    if ((rc = total_or(cx, h->json_get(o, "total_price"), exp, total, &total, id,
                       "total_price")) != SX_OK)
        return rc;
    sxp_jb_key(b, SX_K_SUBTOTAL_MINOR);
    sxp_jb_i64(b, subtotal);
    sxp_jb_key(b, SX_K_DISCOUNT_MINOR);
    sxp_jb_i64(b, discount);
    sxp_jb_key(b, SX_K_SHIPPING_MINOR);
    sxp_jb_i64(b, shipping);
    sxp_jb_key(b, SX_K_TAX_MINOR);
    sxp_jb_i64(b, tax);
    sxp_jb_key(b, SX_K_TOTAL_MINOR);
    sxp_jb_i64(b, total);
    sxp_jb_key(b, SX_K_REFUNDED_MINOR);
    sxp_jb_i64(b, refund_sum);
    if ((rc = put_time(b, cx, o, "cancelled_at", SX_K_CANCELLED_AT, 0, "order", id)) != SX_OK)
        return rc;
    if ((rc = put_raw(b, cx, o)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, "order", id);
}

/* ---- pages ----------------------------------------------------------------------------------- */

const char *
shp_plural(uint32_t entity)
{
    switch (entity) {
    case SX_ENTITY_CUSTOMER: return "customers";
    case SX_ENTITY_PRODUCT:  return "products";
    case SX_ENTITY_ORDER:    return "orders";
    default:                 return NULL;
    }
}

const char *
shp_singular(uint32_t entity)
{
    switch (entity) {
    case SX_ENTITY_CUSTOMER: return "customer";
    case SX_ENTITY_PRODUCT:  return "product";
    case SX_ENTITY_ORDER:    return "order";
    default:                 return NULL;
    }
}

int
shp_map_entity(sx_ctx *cx, uint32_t entity, const sx_json *rec, sx_str currency,
               struct sxp_buf *out)
{
    switch (entity) {
    case SX_ENTITY_CUSTOMER: return shp_map_customer(cx, rec, out);
    case SX_ENTITY_PRODUCT:  return shp_map_product(cx, rec, currency, out);
    case SX_ENTITY_ORDER:    return shp_map_order(cx, rec, out);
    default:
        return cx->host->fail(cx, SX_E_INVALID, "Shopify has no entity %u", entity);
    }
}

int
shp_page_emit(sx_ctx *cx, uint32_t entity, sx_str body, sx_str currency, size_t *n_out)
{
    const sx_host_api *h = cx->host;
    const char        *root = shp_plural(entity);
    const sx_json     *doc, *items;
    size_t             i, n;
    int                rc;

    *n_out = 0;
    if (root == NULL)
        return h->fail(cx, SX_E_INVALID, "Shopify has no entity %u", entity);
    rc = h->json_parse(cx, body, &doc);
    if (rc != SX_OK)
        return h->fail(cx, rc == SX_E_LIMIT ? SX_E_LIMIT : SX_E_PROTOCOL, "Shopify %s page is "
                       "not JSON (%zu bytes)", root, body.len);
    items = h->json_get(doc, root);
    if (h->json_type(items) != SX_JSON_ARRAY)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify %s page has no \"%s\" array", root, root);
    n = h->json_length(items);
    if (n > SHP_MAX_LIMIT)
        return h->fail(cx, SX_E_PROTOCOL, "Shopify %s page has %zu records, more than the %d "
                       "a page may hold", root, n, SHP_MAX_LIMIT);
    for (i = 0; i < n; i++) {
        struct sxp_buf b;
        sx_str         json;

        sxp_buf_init(&b, cx);
        rc = shp_map_entity(cx, entity, h->json_at(items, i), currency, &b);
        if (rc != SX_OK)
            return rc;
        if ((rc = sxp_buf_done(&b, &json)) != SX_OK)
            return h->fail(cx, rc, "Shopify %s record %zu could not be written", root, i);
        rc = h->emit(cx, entity, json);
        if (rc != SX_OK)
            return rc;
        (*n_out)++;
    }
    return SX_OK;
}

/* ---- canonical -> Shopify -------------------------------------------------------------------- */

/* A canonical string member as a Shopify one, keeping null; other types are refused. */
static int
push_str(struct sxp_buf *b, sx_ctx *cx, const sx_json *canon, const char *ckey,
         const char *pkey)
{
    const sx_host_api *h = cx->host;
    const sx_json     *v = h->json_get(canon, ckey);
    sx_str             s;

    if (v == NULL)
        return SX_OK;
    if (h->json_type(v) == SX_JSON_NULL) {
        sxp_jb_key(b, pkey);
        sxp_jb_null(b);
        return SX_OK;
    }
    if (h->json_string(v, &s) != SX_OK)
        return h->fail(cx, SX_E_INVALID, "canonical %s is not a string", ckey);
    sxp_jb_key(b, pkey);
    sxp_jb_str(b, s);
    return SX_OK;
}

/* Canonical tags array as Shopify's "a, b" string. */
static int
push_tags(struct sxp_buf *b, sx_ctx *cx, const sx_json *canon)
{
    const sx_host_api *h = cx->host;
    const sx_json     *tags = h->json_get(canon, SX_K_TAGS);
    struct sxp_buf     t;
    size_t             i, n;
    sx_str             s, joined;

    if (tags == NULL)
        return SX_OK;
    sxp_buf_init(&t, cx);
    sxp_buf_raw(&t, "", 0);
    n = h->json_length(tags);
    if (h->json_type(tags) != SX_JSON_ARRAY && h->json_type(tags) != SX_JSON_NULL)
        return h->fail(cx, SX_E_INVALID, "canonical tags is not an array");
    if (n > SHP_MAX_ITEMS)
        return h->fail(cx, SX_E_LIMIT, "%zu tags, more than %d", n, SHP_MAX_ITEMS);
    for (i = 0; i < n; i++) {
        if (h->json_string(h->json_at(tags, i), &s) != SX_OK)
            return h->fail(cx, SX_E_INVALID, "canonical tag %zu is not a string", i);
        if (memchr(s.ptr, ',', s.len) != NULL)
            return h->fail(cx, SX_E_REJECTED, "Shopify tags cannot contain a comma: \""
                           SX_STR_FMT "\"", SX_STR_ARG(s));
        if (i > 0)
            sxp_buf_raw(&t, ", ", 2);
        sxp_buf_raw(&t, s.ptr, s.len);
    }
    if (t.rc != SX_OK)
        return h->fail(cx, t.rc, "tags too long");
    joined.ptr = t.p;
    joined.len = t.len;
    sxp_jb_key(b, "tags");
    sxp_jb_str(b, joined);
    return SX_OK;
}

static int
push_bool(struct sxp_buf *b, sx_ctx *cx, const sx_json *canon, const char *ckey,
          const char *pkey)
{
    const sx_host_api *h = cx->host;
    const sx_json     *v = h->json_get(canon, ckey);
    int                x;

    if (v == NULL || h->json_type(v) == SX_JSON_NULL)
        return SX_OK;
    if (h->json_bool(v, &x) != SX_OK)
        return h->fail(cx, SX_E_INVALID, "canonical %s is not a boolean", ckey);
    sxp_jb_key(b, pkey);
    sxp_jb_bool(b, x);
    return SX_OK;
}

/* The id we were given, as a JSON number: Shopify's ids are numbers. */
static int
push_id(struct sxp_buf *b, sx_ctx *cx, sx_str id)
{
    int64_t v = 0;
    size_t  i;

    if (id.len == 0)
        return SX_OK;
    if (id.len > 19)
        return cx->host->fail(cx, SX_E_INVALID, "external id \"" SX_STR_FMT "\" is not a "
                              "Shopify id", SX_STR_ARG(id));
    for (i = 0; i < id.len; i++) {
        if (id.ptr[i] < '0' || id.ptr[i] > '9' || v > (INT64_MAX - 9) / 10)
            return cx->host->fail(cx, SX_E_INVALID, "external id \"" SX_STR_FMT "\" is not a "
                                  "Shopify id", SX_STR_ARG(id));
        v = v * 10 + (id.ptr[i] - '0');
    }
    sxp_jb_key(b, "id");
    sxp_jb_i64(b, v);
    return SX_OK;
}

static int
push_address(struct sxp_buf *b, sx_ctx *cx, const sx_json *a, int is_default)
{
    static const char *const map[][2] = {
        { SX_K_FIRST_NAME, "first_name" }, { SX_K_LAST_NAME, "last_name" },
        { SX_K_COMPANY_NAME, "company" },  { SX_K_PHONE, "phone" },
        { SX_K_LINE1, "address1" },        { SX_K_LINE2, "address2" },
        { SX_K_CITY, "city" },             { SX_K_REGION, "province" },
        { SX_K_POSTAL_CODE, "zip" },       { SX_K_COUNTRY_CODE, "country_code" },
    };
    size_t i;
    int    rc;

    if (cx->host->json_type(a) != SX_JSON_OBJECT)
        return cx->host->fail(cx, SX_E_INVALID, "canonical address is not an object");
    sxp_jb_obj(b);
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if ((rc = push_str(b, cx, a, map[i][0], map[i][1])) != SX_OK)
            return rc;
    }
    if (is_default) {
        sxp_jb_key(b, "default");
        sxp_jb_bool(b, 1);
    }
    sxp_jb_obj_end(b);
    return SX_OK;
}

int
shp_customer_body(sx_ctx *cx, const sx_json *canon, sx_str id, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *addrs;
    size_t             i, n;
    int                rc, def = -1;
    sx_str             kind;

    sxp_jb_obj(b);
    sxp_jb_key(b, "customer");
    sxp_jb_obj(b);
    if ((rc = push_id(b, cx, id)) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_FIRST_NAME, "first_name")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_LAST_NAME, "last_name")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_EMAIL, "email")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_PHONE, "phone")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_NOTE, "note")) != SX_OK ||
        (rc = push_bool(b, cx, canon, SX_K_TAX_EXEMPT, "tax_exempt")) != SX_OK ||
        (rc = push_tags(b, cx, canon)) != SX_OK)
        return rc;
    /* Addresses only on create: Shopify's PUT would add them again (they have no ids in the
     * canonical model); address edits go through the platform admin for now. */
    addrs = h->json_get(canon, SX_K_ADDRESSES);
    n = h->json_length(addrs);
    if (id.len == 0 && n > 0) {
        if (n > 100)
            return h->fail(cx, SX_E_LIMIT, "%zu addresses, more than 100", n);
        for (i = 0; i < n && def < 0; i++) {
            if (h->json_string(h->json_get(h->json_at(addrs, i), SX_K_KIND), &kind) == SX_OK &&
                sx_str_eq_cstr(kind, "billing"))
                def = (int)i;
        }
        sxp_jb_key(b, "addresses");
        sxp_jb_arr(b);
        for (i = 0; i < n; i++) {
            if ((rc = push_address(b, cx, h->json_at(addrs, i), (int)i == (def < 0 ? 0 : def)))
                != SX_OK)
                return rc;
        }
        sxp_jb_arr_end(b);
    }
    sxp_jb_obj_end(b);
    sxp_jb_obj_end(b);
    return b->rc == SX_OK ? SX_OK : h->fail(cx, b->rc, "customer too large for Shopify");
}

/* Minor units as Shopify's decimal string. */
static void
put_price(struct sxp_buf *b, int64_t minor, int exp)
{
    char     num[48];
    int64_t  div = 1;
    int      i, n;
    uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;

    for (i = 0; i < exp; i++)
        div *= 10;
    if (exp == 0)
        n = snprintf(num, sizeof(num), "%s%llu", minor < 0 ? "-" : "", (unsigned long long)a);
    else
        n = snprintf(num, sizeof(num), "%s%llu.%0*llu", minor < 0 ? "-" : "",
                     (unsigned long long)(a / (uint64_t)div), exp,
                     (unsigned long long)(a % (uint64_t)div));
    sxp_jb_str(b, (sx_str){ num, (size_t)n });
}

int
shp_product_body(sx_ctx *cx, const sx_json *canon, sx_str id, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *vars;
    sx_str             cur = SX_STR_NULL, s;
    size_t             i, n;
    int                rc, exp;

    (void)h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur);
    exp = sx_currency_exponent(cur);
    sxp_jb_obj(b);
    sxp_jb_key(b, "product");
    sxp_jb_obj(b);
    if ((rc = push_id(b, cx, id)) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_TITLE, "title")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_DESCRIPTION, "body_html")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_VENDOR, "vendor")) != SX_OK ||
        (rc = push_tags(b, cx, canon)) != SX_OK)
        return rc;
    if (h->json_string(h->json_get(canon, SX_K_STATUS), &s) == SX_OK) {
        if (!sx_str_eq_cstr(s, "active") && !sx_str_eq_cstr(s, "draft") &&
            !sx_str_eq_cstr(s, "archived"))
            return h->fail(cx, SX_E_INVALID, "product status \"" SX_STR_FMT "\" is not "
                           "active, draft or archived", SX_STR_ARG(s));
        sxp_jb_key(b, "status");
        sxp_jb_str(b, s);
    }
    vars = h->json_get(canon, SX_K_VARIANTS);
    n = h->json_length(vars);
    if (n > 100)
        return h->fail(cx, SX_E_REJECTED, "%zu variants: Shopify's REST API takes at most 100",
                       n);
    if (n > 0) {
        sxp_jb_key(b, "variants");
        sxp_jb_arr(b);
        for (i = 0; i < n; i++) {
            const sx_json *v = h->json_at(vars, i);
            int64_t        price, pos;
            sx_str         vid = SX_STR_NULL;

            if (h->json_type(v) != SX_JSON_OBJECT)
                return h->fail(cx, SX_E_INVALID, "canonical variant %zu is not an object", i);
            sxp_jb_obj(b);
            (void)h->json_string(h->json_get(v, SX_K_EXTERNAL_ID), &vid);
            if ((rc = push_id(b, cx, vid)) != SX_OK)
                return rc;
            /* The variant's title is its option value in Shopify. */
            if (h->json_string(h->json_get(v, SX_K_TITLE), &s) == SX_OK && s.len > 0) {
                sxp_jb_key(b, "option1");
                sxp_jb_str(b, s);
            }
            if ((rc = push_str(b, cx, v, SX_K_SKU, "sku")) != SX_OK ||
                (rc = push_str(b, cx, v, SX_K_BARCODE, "barcode")) != SX_OK ||
                (rc = push_bool(b, cx, v, SX_K_TAXABLE, "taxable")) != SX_OK)
                return rc;
            if (h->json_get(v, SX_K_PRICE_MINOR) != NULL) {
                if (h->json_int64(h->json_get(v, SX_K_PRICE_MINOR), &price) != SX_OK ||
                    price < 0)
                    return h->fail(cx, SX_E_INVALID, "variant %zu has no usable price_minor", i);
                sxp_jb_key(b, "price");
                put_price(b, price, exp);
            }
            if (h->json_int64(h->json_get(v, SX_K_POSITION), &pos) == SX_OK && pos >= 1) {
                sxp_jb_key(b, "position");
                sxp_jb_i64(b, pos);
            }
            sxp_jb_obj_end(b);
        }
        sxp_jb_arr_end(b);
    }
    sxp_jb_obj_end(b);
    sxp_jb_obj_end(b);
    return b->rc == SX_OK ? SX_OK : h->fail(cx, b->rc, "product too large for Shopify");
}
