/*
 * WooCommerce connector: wc/v3 records to canonical records (sdk/MODEL.md) and canonical
 * records to WooCommerce request bodies. Pure translation through the host's JSON services;
 * no HTTP here, so the unit test and the fuzz target (tests/fuzz/fuzz_woocommerce.c) run
 * every function of this file on arbitrary bytes.
 *
 * Conventions of the mapping (MODEL.md section 1):
 *  - WooCommerce sends every member of a record, empty ones as "" (platforms.md 2.2): an empty
 *    top-level string is sent as null ("explicitly empty"); inside nested objects (addresses,
 *    lines) empty members are left out;
 *  - money: decimal strings (platforms.md 2.2) through sx_money_parse with the currency's
 *    exponent, never a double, rounded half away from zero: WooCommerce writes amounts with
 *    the store's decimals whatever the order's currency, and line taxes unrounded
 *    ("0.833333"). line_items[].price is a JSON number and is never read;
 *  - times: only the *_gmt members, which carry no offset and are UTC (platforms.md 2.2);
 *  - ids: integers written as decimal strings;
 *  - prices_include_tax: WooCommerce stores line, fee and shipping amounts without tax even
 *    then; the canonical unit prices, discounts and shipping include tax in that case
 *    (MODEL.md 5), so the tax is added back and the totals stay consistent.
 */
#include "woo_internal.h"

#include <stdio.h>
#include <string.h>

#define WOO_MAX_RATES   100          /* tax rates on one order, taxes on one line */
#define WOO_MAX_QTY     100000000    /* a line quantity beyond this is not a sale */

/* ---- reading WooCommerce JSON ---------------------------------------------------------------- */

/* A positive id (JSON integer or digit string) as decimal text in the call arena. */
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

int
woo_record_id(sx_ctx *cx, const sx_json *rec, sx_str *out)
{
    if (cx->host->json_type(rec) != SX_JSON_OBJECT)
        return cx->host->fail(cx, SX_E_PROTOCOL, "WooCommerce sent a record that is not an "
                              "object");
    if (!id_text(cx, cx->host->json_get(rec, "id"), out))
        return cx->host->fail(cx, SX_E_PROTOCOL, "WooCommerce sent a record without a valid "
                              "id");
    return SX_OK;
}

static int
add64(int64_t *acc, int64_t v)
{
    return !__builtin_add_overflow(*acc, v, acc);
}

static int
currency_ok(sx_str c)
{
    return c.len == 3 && c.ptr[0] >= 'A' && c.ptr[0] <= 'Z' && c.ptr[1] >= 'A' &&
           c.ptr[1] <= 'Z' && c.ptr[2] >= 'A' && c.ptr[2] <= 'Z';
}

/* An array member bounded by `max`: *n its length (0 when absent or not an array). SX_OK, or
 * SX_E_LIMIT after fail(). */
static int
get_arr(sx_ctx *cx, const sx_json *o, const char *key, size_t max, const char *where,
        const sx_json **arr, size_t *n)
{
    *arr = cx->host->json_get(o, key);
    *n = cx->host->json_length(*arr);
    if (*n > max)
        return cx->host->fail(cx, SX_E_LIMIT, "WooCommerce %s has %zu %s, more than %zu",
                              where, *n, key, max);
    return SX_OK;
}

/* The record as received, in `raw`. */
static int
put_raw(struct sxp_buf *b, sx_ctx *cx, const sx_json *rec)
{
    sx_str raw;
    int    rc = cx->host->json_text(cx, rec, &raw);

    if (rc != SX_OK)
        return cx->host->fail(cx, SX_E_LIMIT, "WooCommerce record could not be kept as raw");
    sxp_jb_key(b, SX_K_RAW);
    sxp_jb_json(b, raw);
    return SX_OK;
}

static int
finish(struct sxp_buf *b, sx_ctx *cx, const char *where)
{
    if (b->rc == SX_E_PROTOCOL)
        return cx->host->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has text that is not valid "
                              "UTF-8", where);
    if (b->rc != SX_OK)
        return cx->host->fail(cx, b->rc, "WooCommerce %s is too large or too deep to "
                              "translate", where);
    return SX_OK;
}

/* ---- times ----------------------------------------------------------------------------------- */

int
woo_gmt_ms(sx_ctx *cx, const sx_json *v, int64_t *out)
{
    const sx_host_api *h = cx->host;
    char               buf[48];
    sx_str             s;
    size_t             i;

    if (v == NULL || h->json_type(v) == SX_JSON_NULL)
        return SX_E_NOT_FOUND;
    if (h->json_string(v, &s) != SX_OK)
        return SX_E_INVALID;
    if (s.len == 0)
        return SX_E_NOT_FOUND;         /* how some stores write "never" */
    if (s.len < 19 || s.len > 40)
        return SX_E_INVALID;
    /* platforms.md 2.2: *_gmt has no offset and is UTC. Say so, whatever the host assumes
     * of a time without one; a time that does carry a zone is taken as it is. */
    for (i = 19; i < s.len; i++) {
        if (s.ptr[i] == 'Z' || s.ptr[i] == 'z' || s.ptr[i] == '+' || s.ptr[i] == '-')
            return h->time_parse(s, out) == SX_OK ? SX_OK : SX_E_INVALID;
    }
    memcpy(buf, s.ptr, s.len);
    buf[s.len] = 'Z';
    return h->time_parse((sx_str){ buf, s.len + 1 }, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

int
woo_record_modified(sx_ctx *cx, const sx_json *rec, int64_t *out)
{
    const sx_host_api *h = cx->host;
    const char        *key = "date_modified_gmt";
    sx_str             id = SX_STR("?");
    int                rc;

    rc = woo_gmt_ms(cx, h->json_get(rec, key), out);
    if (rc == SX_E_NOT_FOUND) {
        key = "date_created_gmt";
        rc = woo_gmt_ms(cx, h->json_get(rec, key), out);
    }
    if (rc == SX_OK)
        return SX_OK;
    (void)id_text(cx, h->json_get(rec, "id"), &id);
    if (rc == SX_E_NOT_FOUND)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce record " SX_STR_FMT " has neither "
                       "date_modified_gmt nor date_created_gmt", SX_STR_ARG(id));
    return h->fail(cx, SX_E_PROTOCOL, "WooCommerce record " SX_STR_FMT " has an unreadable %s",
                   SX_STR_ARG(id), key);
}

static int
put_ms(struct sxp_buf *b, sx_ctx *cx, const char *ckey, int64_t ms)
{
    sx_str t;

    if (cx->host->time_format(cx, ms, &t) != SX_OK)
        return cx->host->fail(cx, SX_E_LIMIT, "time %lld cannot be written", (long long)ms);
    sxp_jb_key(b, ckey);
    sxp_jb_str(b, t);
    return SX_OK;
}

/* An optional *_gmt member as a canonical time; present but unreadable is an error. */
static int
put_gmt(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, const char *pkey, const char *ckey,
        const char *where)
{
    int64_t ms;
    int     rc = woo_gmt_ms(cx, cx->host->json_get(o, pkey), &ms);

    if (rc == SX_E_NOT_FOUND)
        return SX_OK;
    if (rc != SX_OK)
        return cx->host->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has an unreadable %s", where,
                              pkey);
    return put_ms(b, cx, ckey, ms);
}

/* ---- money ----------------------------------------------------------------------------------- */

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
    return t == SX_JSON_ABSENT || t == SX_JSON_NULL ? SX_E_NOT_FOUND : SX_E_INVALID;
}

/* Money in minor units. SX_OK, SX_E_NOT_FOUND (absent, null or "") or SX_E_INVALID. */
static int
money_of(sx_ctx *cx, const sx_json *v, int exp, int64_t *out)
{
    sx_str s;
    int    rc = money_text(cx, v, &s);

    if (rc != SX_OK)
        return rc == SX_E_NOT_FOUND ? rc : SX_E_INVALID;
    if (s.len == 0)
        return SX_E_NOT_FOUND;
    return sx_money_parse(s, exp, 1, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

/* `o[key]` as money: required (absence is an error) or else 0 when absent; never negative
 * unless `neg_ok`. The message names the object and quotes a short printable bad value. */
static int
read_money(sx_ctx *cx, const sx_json *o, const char *key, int exp, int required, int neg_ok,
           int64_t *out, const char *where)
{
    const sx_host_api *h = cx->host;
    sx_str             s = SX_STR_NULL;
    size_t             i;
    int                rc = money_of(cx, h->json_get(o, key), exp, out);

    if (rc == SX_E_NOT_FOUND && !required) {
        *out = 0;
        return SX_OK;
    }
    if (rc == SX_E_NOT_FOUND)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has no %s", where, key);
    if (rc == SX_OK && *out < 0 && !neg_ok)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has a negative %s", where, key);
    if (rc == SX_OK)
        return SX_OK;
    /* Quote the value when it is short and printable: what an administrator can look for. */
    (void)money_text(cx, h->json_get(o, key), &s);
    for (i = 0; i < s.len && s.ptr[i] >= 0x20 && s.ptr[i] <= 0x7e && s.ptr[i] != '"'; i++)
        ;
    if (s.len > 0 && s.len <= 32 && i == s.len)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has an unreadable %s \"" SX_STR_FMT
                       "\" (not a decimal amount)", where, key, SX_STR_ARG(s));
    return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has an unreadable %s (not a decimal "
                   "amount)", where, key);
}

/* A rate in percent (tax_lines[].rate_percent: 20, 8.875, "5.5000", 1.0e-5) as ppm, exactly:
 * the text divided by 100 by its exponent, then sxp_rate_ppm. Absent or null is 0 (stores
 * older than rate_percent). SX_OK or SX_E_INVALID. */
static int
percent_ppm(sx_ctx *cx, const sx_json *v, int64_t *out)
{
    sx_str t;
    char   buf[64];
    long   e = 0;
    size_t i, m;
    int    rc = money_text(cx, v, &t), neg = 0, n;

    if (rc == SX_E_NOT_FOUND) {
        *out = 0;
        return SX_OK;
    }
    if (rc != SX_OK || t.len == 0 || t.len > 32)
        return SX_E_INVALID;
    for (m = 0; m < t.len && t.ptr[m] != 'e' && t.ptr[m] != 'E'; m++)
        ;
    i = m + 1;
    if (m < t.len && i < t.len && (t.ptr[i] == '+' || t.ptr[i] == '-'))
        neg = t.ptr[i++] == '-';
    if (m < t.len && i == t.len)
        return SX_E_INVALID;
    for (; m < t.len && i < t.len; i++) {
        if (t.ptr[i] < '0' || t.ptr[i] > '9' || e > 99)
            return SX_E_INVALID;
        e = e * 10 + (t.ptr[i] - '0');
    }
    memcpy(buf, t.ptr, m);             /* a NUL in the text stays, and is refused */
    n = snprintf(buf + m, sizeof(buf) - m, "e%ld", (neg ? -e : e) - 2);
    return sxp_rate_ppm((sx_str){ buf, m + (size_t)n }, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

/* ---- addresses ------------------------------------------------------------------------------- */

/* MODEL.md 2: an address with none of line1, city, postal_code, country_code is not sent. */
static int
addr_has_place(const sx_host_api *h, const sx_json *a)
{
    sx_str s;

    return h->json_type(a) == SX_JSON_OBJECT &&
           (sxp_get_nonempty(h, a, "address_1", &s) || sxp_get_nonempty(h, a, "city", &s) ||
            sxp_get_nonempty(h, a, "postcode", &s) || sxp_get_nonempty(h, a, "country", &s));
}

static void
put_address(struct sxp_buf *b, sx_ctx *cx, const sx_json *a, const char *kind)
{
    const sx_host_api *h = cx->host;
    sx_str             cc;

    sxp_jb_obj(b);
    if (kind != NULL)
        sxp_jb_kstr(b, SX_K_KIND, sx_cstr(kind));
    sxp_put_str(b, h, a, "first_name", SX_K_FIRST_NAME);
    sxp_put_str(b, h, a, "last_name", SX_K_LAST_NAME);
    sxp_put_str(b, h, a, "company", SX_K_COMPANY_NAME);
    sxp_put_str(b, h, a, "phone", SX_K_PHONE);
    sxp_put_str(b, h, a, "address_1", SX_K_LINE1);
    sxp_put_str(b, h, a, "address_2", SX_K_LINE2);
    sxp_put_str(b, h, a, "city", SX_K_CITY);
    sxp_put_str(b, h, a, "state", SX_K_REGION);
    sxp_put_str(b, h, a, "postcode", SX_K_POSTAL_CODE);
    /* WooCommerce's country is an ISO 3166-1 alpha-2 code; anything else is left out. */
    if (sxp_get_str(h, a, "country", &cc) && cc.len == 2) {
        char up[2];
        int  i;

        for (i = 0; i < 2; i++) {
            up[i] = (cc.ptr[i] >= 'a' && cc.ptr[i] <= 'z') ? (char)(cc.ptr[i] - 32) : cc.ptr[i];
            if (up[i] < 'A' || up[i] > 'Z')
                break;
        }
        if (i == 2)
            sxp_jb_kstr(b, SX_K_COUNTRY_CODE, (sx_str){ up, 2 });
    }
    sxp_jb_obj_end(b);
}

/* ---- customer -------------------------------------------------------------------------------- */

int
woo_map_customer(sx_ctx *cx, const sx_json *c, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *bill, *ship;
    const sx_json     *src_email, *src_first, *src_last;
    char               where[64];
    sx_str             id, s;
    int64_t            ms;
    int                rc;

    if ((rc = woo_record_id(cx, c, &id)) != SX_OK)
        return rc;
    snprintf(where, sizeof(where), "customer " SX_STR_FMT, SX_STR_ARG(id));
    if ((rc = woo_record_modified(cx, c, &ms)) != SX_OK)
        return rc;
    bill = h->json_get(c, "billing");
    ship = h->json_get(c, "shipping");
    if (h->json_type(bill) != SX_JSON_OBJECT)
        bill = NULL;
    if (h->json_type(ship) != SX_JSON_OBJECT)
        ship = NULL;

    /* MODEL.md 3: at least one of email, names, company. Imported customers may have none
     * on the account; the billing contact then names them (platforms.md 2.2). */
    src_email = src_first = src_last = c;
    if (!sxp_get_nonempty(h, c, "email", &s) && !sxp_get_nonempty(h, c, "first_name", &s) &&
        !sxp_get_nonempty(h, c, "last_name", &s) && !sxp_get_nonempty(h, bill, "company", &s)) {
        if (!sxp_get_nonempty(h, bill, "email", &s) && !sxp_get_nonempty(h, bill, "first_name", &s) &&
            !sxp_get_nonempty(h, bill, "last_name", &s))
            return h->fail(cx, SX_E_REJECTED, "WooCommerce %s has no email, name or company, "
                           "on the account or in billing: nothing to name it by", where);
        src_email = src_first = src_last = bill;
    }

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK ||
        (rc = put_gmt(b, cx, c, "date_created_gmt", SX_K_CREATED_AT, where)) != SX_OK)
        return rc;
    sxp_copy_str(b, h, src_email, "email", SX_K_EMAIL);
    sxp_copy_str(b, h, src_first, "first_name", SX_K_FIRST_NAME);
    sxp_copy_str(b, h, src_last, "last_name", SX_K_LAST_NAME);
    if (bill != NULL) {
        sxp_copy_str(b, h, bill, "company", SX_K_COMPANY_NAME);
        sxp_copy_str(b, h, bill, "phone", SX_K_PHONE);
    }
    if (bill != NULL || ship != NULL) {
        /* The record is read whole: the array says which addresses exist now. */
        sxp_jb_key(b, SX_K_ADDRESSES);
        sxp_jb_arr(b);
        if (addr_has_place(h, bill))
            put_address(b, cx, bill, "billing");
        if (addr_has_place(h, ship))
            put_address(b, cx, ship, "shipping");
        sxp_jb_arr_end(b);
    }
    if ((rc = put_raw(b, cx, c)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, where);
}

/* ---- product --------------------------------------------------------------------------------- */

/* A product or variation price: `price` (the current one, sale included), else
 * `regular_price`; neither set ("" on an unpriced product) is 0. */
static int
price_of(sx_ctx *cx, const sx_json *o, int exp, int64_t *out, const char *where)
{
    const sx_host_api *h = cx->host;
    const char        *key = "price";
    int64_t            v;

    if (money_of(cx, h->json_get(o, key), exp, &v) == SX_E_NOT_FOUND)
        key = "regular_price";
    return read_money(cx, o, key, exp, 0, 0, out, where);
}

static int
taxable_of(const sx_host_api *h, const sx_json *o, const sx_json *parent, int *out)
{
    sx_str s;

    /* A variation may say "parent" (platforms.md 2.2): the parent's then. */
    if (!sxp_get_nonempty(h, o, "tax_status", &s) || sx_str_eq_cstr(s, "parent")) {
        if (parent == NULL || !sxp_get_nonempty(h, parent, "tax_status", &s))
            return 0;
    }
    *out = !sx_str_eq_cstr(s, "none");
    return 1;
}

/* Stock only when WooCommerce manages it; a variation's manage_stock "parent" means the
 * parent's stock is the one that counts. */
static int
stock_of(const sx_host_api *h, const sx_json *o, const sx_json *parent, int64_t *out)
{
    const sx_json *m = h->json_get(o, "manage_stock");
    sx_str         s;
    int            on = 0;

    if (h->json_string(m, &s) == SX_OK && sx_str_eq_cstr(s, "parent") && parent != NULL)
        return stock_of(h, parent, NULL, out);
    if (h->json_bool(m, &on) != SX_OK || !on)
        return 0;
    return h->json_type(h->json_get(o, "stock_quantity")) == SX_JSON_INT &&
           h->json_int64(h->json_get(o, "stock_quantity"), out) == SX_OK;
}

/* One canonical variant from a product (parent == NULL) or a variation of `parent`. */
static int
put_variant(struct sxp_buf *b, sx_ctx *cx, const sx_json *v, const sx_json *parent, sx_str vid,
            int exp, size_t pos, const char *where)
{
    const sx_host_api *h = cx->host;
    const sx_json     *attrs;
    int64_t            price, stock;
    size_t             i, n;
    int                rc, taxable;

    if ((rc = price_of(cx, v, exp, &price, where)) != SX_OK)
        return rc;
    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, vid);
    if (parent != NULL) {
        struct sxp_buf t;

        if ((rc = put_gmt(b, cx, v, "date_modified_gmt", SX_K_UPDATED_AT, where)) != SX_OK ||
            (rc = get_arr(cx, v, "attributes", WOO_MAX_ITEMS, where, &attrs, &n)) != SX_OK)
            return rc;
        sxp_buf_init(&t, cx);
        for (i = 0; i < n; i++) {
            sx_str opt;

            if (!sxp_get_nonempty(h, h->json_at(attrs, i), "option", &opt))
                continue;
            if (t.len > 0)
                sxp_buf_raw(&t, " / ", 3);
            sxp_buf_raw(&t, opt.ptr, opt.len);
        }
        if (t.rc != SX_OK)
            return h->fail(cx, t.rc, "WooCommerce %s has attributes too long", where);
        if (t.len > 0)
            sxp_jb_kstr(b, SX_K_TITLE, (sx_str){ t.p, t.len });
    }
    sxp_put_str(b, h, v, "sku", SX_K_SKU);
    sxp_jb_ki64(b, SX_K_PRICE_MINOR, price);
    if (taxable_of(h, v, parent, &taxable)) {
        sxp_jb_key(b, SX_K_TAXABLE);
        sxp_jb_bool(b, taxable);
    }
    if (stock_of(h, v, parent, &stock))
        sxp_jb_ki64(b, SX_K_STOCK, stock);
    sxp_jb_ki64(b, SX_K_POSITION, (int64_t)pos);
    sxp_jb_obj_end(b);
    return SX_OK;
}

int
woo_map_product(sx_ctx *cx, const sx_json *p, const sx_json *variations, sx_str currency,
                struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *tags;
    char               where[64], vwhere[96];
    sx_str             id, s, vid;
    int64_t            ms;
    size_t             i, n = 0, nt;
    int                rc, exp;

    if ((rc = woo_record_id(cx, p, &id)) != SX_OK)
        return rc;
    snprintf(where, sizeof(where), "product " SX_STR_FMT, SX_STR_ARG(id));
    if (!currency_ok(currency))
        return h->fail(cx, SX_E_INVALID, "the store's currency is unknown: WooCommerce %s "
                       "cannot be priced", where);
    exp = sx_currency_exponent(currency);
    if ((rc = woo_record_modified(cx, p, &ms)) != SX_OK)
        return rc;
    if (!sxp_get_nonempty(h, p, "name", &s))
        return h->fail(cx, SX_E_REJECTED, "WooCommerce %s has no name", where);
    if (variations != NULL) {
        if (h->json_type(variations) != SX_JSON_ARRAY)
            return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s: its variations are not a list",
                           where);
        n = h->json_length(variations);
        if (n > WOO_MAX_VARIATIONS)
            return h->fail(cx, SX_E_LIMIT, "WooCommerce %s has %zu variations, more than %d",
                           where, n, WOO_MAX_VARIATIONS);
    }
    if ((rc = get_arr(cx, p, "tags", WOO_MAX_ITEMS, where, &tags, &nt)) != SX_OK)
        return rc;

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK ||
        (rc = put_gmt(b, cx, p, "date_created_gmt", SX_K_CREATED_AT, where)) != SX_OK)
        return rc;
    sxp_jb_kstr(b, SX_K_TITLE, s);
    sxp_copy_str(b, h, p, "description", SX_K_DESCRIPTION);
    if (sxp_get_str(h, p, "status", &s)) {
        /* publish is on sale; draft, pending review, private and scheduled are not (yet);
         * trash is on its way out. */
        const char *st = sx_str_eq_cstr(s, "publish") ? "active"
                       : sx_str_eq_cstr(s, "draft") || sx_str_eq_cstr(s, "pending") ||
                         sx_str_eq_cstr(s, "private") || sx_str_eq_cstr(s, "future") ? "draft"
                       : sx_str_eq_cstr(s, "trash") ? "archived" : NULL;

        if (st != NULL)
            sxp_jb_kstr(b, SX_K_STATUS, sx_cstr(st));
    }
    sxp_jb_kstr(b, SX_K_CURRENCY, currency);
    if (h->json_type(tags) == SX_JSON_ARRAY) {
        sxp_jb_key(b, SX_K_TAGS);
        sxp_jb_arr(b);
        for (i = 0; i < nt; i++) {
            if (sxp_get_nonempty(h, h->json_at(tags, i), "name", &s))
                sxp_jb_str(b, s);
        }
        sxp_jb_arr_end(b);
    }

    sxp_jb_key(b, SX_K_VARIANTS);
    sxp_jb_arr(b);
    if (n == 0) {
        /* A simple, external or grouped product, or a variable one without variations yet:
         * one variant carrying the product's id (MODEL.md 4). */
        if ((rc = put_variant(b, cx, p, NULL, id, exp, 1, where)) != SX_OK)
            return rc;
    }
    for (i = 0; i < n; i++) {
        const sx_json *v = h->json_at(variations, i);

        if (h->json_type(v) != SX_JSON_OBJECT || !id_text(cx, h->json_get(v, "id"), &vid))
            return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has a variation without an id",
                           where);
        snprintf(vwhere, sizeof(vwhere), "%s variation " SX_STR_FMT, where, SX_STR_ARG(vid));
        if ((rc = put_variant(b, cx, v, p, vid, exp, i + 1, vwhere)) != SX_OK)
            return rc;
    }
    sxp_jb_arr_end(b);
    if ((rc = put_raw(b, cx, p)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, where);
}

/* ---- order ----------------------------------------------------------------------------------- */

/* One tax rate of the order (tax_lines[]), joined to line taxes by rate id. */
struct tax_rate {
    int64_t rate_id;
    int64_t ppm;
    int64_t amount;               /* tax_total + shipping_tax_total */
    sx_str  label;
};

/* What one order's translation carries between its parts. */
struct order_map {
    sx_ctx          *cx;
    const sx_json   *o;
    sx_str           id;
    char             where[64];
    int              exp;
    int              incl;        /* prices_include_tax */
    struct tax_rate *rates;
    size_t           n_rates;
    int64_t          subtotal;    /* sum over lines of quantity * unit price, tax per incl */
    int64_t          neg_fees;    /* negative fees, sent as discounts */
};

static int
range_fail(struct order_map *d, const char *what)
{
    return d->cx->host->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has %s out of range",
                             d->where, what);
}

static int
read_rates(struct order_map *d)
{
    const sx_host_api *h = d->cx->host;
    const sx_json     *arr;
    size_t             i, n;
    int                rc;

    if ((rc = get_arr(d->cx, d->o, "tax_lines", WOO_MAX_RATES, d->where, &arr, &n)) != SX_OK)
        return rc;
    d->n_rates = n;
    if (n == 0)
        return SX_OK;
    d->rates = h->alloc(d->cx, n * sizeof(*d->rates));
    if (d->rates == NULL)
        return h->fail(d->cx, SX_E_LIMIT, "WooCommerce %s: out of memory", d->where);
    for (i = 0; i < n; i++) {
        const sx_json   *t = h->json_at(arr, i);
        struct tax_rate *r = &d->rates[i];
        int64_t          ship;

        if (h->json_type(t) != SX_JSON_OBJECT)
            return h->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has a tax line that is not "
                           "an object", d->where);
        if (h->json_int64(h->json_get(t, "rate_id"), &r->rate_id) != SX_OK)
            r->rate_id = -1;
        if (!sxp_get_nonempty(h, t, "label", &r->label))
            r->label = SX_STR_NULL;
        if (percent_ppm(d->cx, h->json_get(t, "rate_percent"), &r->ppm) != SX_OK)
            return h->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has a tax line with an "
                           "unreadable rate_percent", d->where);
        if ((rc = read_money(d->cx, t, "tax_total", d->exp, 0, 0, &r->amount, d->where)) !=
                SX_OK ||
            (rc = read_money(d->cx, t, "shipping_tax_total", d->exp, 0, 0, &ship, d->where)) !=
                SX_OK)
            return rc;
        if (!add64(&r->amount, ship))
            return range_fail(d, "taxes");
    }
    return SX_OK;
}

static void
put_tax(struct sxp_buf *b, const struct tax_rate *r, int64_t amount)
{
    sxp_jb_obj(b);
    if (r->label.len > 0)
        sxp_jb_kstr(b, SX_K_TITLE, r->label);
    sxp_jb_ki64(b, SX_K_RATE_PPM, r->ppm);
    sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, amount);
    sxp_jb_obj_end(b);
}

/* A line's or fee's taxes[] {id, total}, joined to the order's rates for title and rate. A
 * tax of a rate the order does not list has no rate to send and is left out (the line's
 * tax_minor still counts it). */
static int
put_line_taxes(struct sxp_buf *b, struct order_map *d, const sx_json *li, const char *where)
{
    const sx_host_api *h = d->cx->host;
    const sx_json     *arr;
    size_t             i, k, n;
    int                rc;

    if ((rc = get_arr(d->cx, li, "taxes", WOO_MAX_RATES, where, &arr, &n)) != SX_OK)
        return rc;
    sxp_jb_key(b, SX_K_TAXES);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *t = h->json_at(arr, i);
        int64_t        rid, amount;

        rc = money_of(d->cx, h->json_get(t, "total"), d->exp, &amount);
        if (rc == SX_E_NOT_FOUND || h->json_int64(h->json_get(t, "id"), &rid) != SX_OK)
            continue;
        if (rc != SX_OK)
            return read_money(d->cx, t, "total", d->exp, 1, 1, &amount, where);
        for (k = 0; k < d->n_rates && d->rates[k].rate_id != rid; k++)
            ;
        if (k < d->n_rates)
            put_tax(b, &d->rates[k], amount);
    }
    sxp_jb_arr_end(b);
    return SX_OK;
}

/* unit = gross / qty rounded half up (gross >= 0, qty >= 1), without overflow. */
static int64_t
unit_of(int64_t gross, int64_t qty)
{
    return gross / qty + ((gross % qty) * 2 >= qty ? 1 : 0);
}

static int
put_line_items(struct sxp_buf *b, struct order_map *d)
{
    const sx_host_api *h = d->cx->host;
    const sx_json     *items;
    char               where[128];
    size_t             i, n;
    int                rc;

    if ((rc = get_arr(d->cx, d->o, "line_items", WOO_MAX_ITEMS, d->where, &items, &n)) != SX_OK)
        return rc;
    for (i = 0; i < n; i++) {
        const sx_json *li = h->json_at(items, i);
        sx_str         lid, s, pid;
        int64_t        qty, sub, subtax, tot, tottax, gross, net, disc;
        int            have_pid;

        if (h->json_type(li) != SX_JSON_OBJECT || !id_text(d->cx, h->json_get(li, "id"), &lid))
            return h->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has a line item without an "
                           "id", d->where);
        snprintf(where, sizeof(where), "%s line item " SX_STR_FMT, d->where, SX_STR_ARG(lid));
        if (h->json_int64(h->json_get(li, "quantity"), &qty) != SX_OK || qty < 1 ||
            qty > WOO_MAX_QTY)
            return h->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has no usable quantity (1 to "
                           "%d)", where, WOO_MAX_QTY);
        if ((rc = read_money(d->cx, li, "subtotal", d->exp, 1, 0, &sub, where)) != SX_OK ||
            (rc = read_money(d->cx, li, "subtotal_tax", d->exp, 0, 0, &subtax, where)) != SX_OK ||
            (rc = read_money(d->cx, li, "total", d->exp, 1, 0, &tot, where)) != SX_OK ||
            (rc = read_money(d->cx, li, "total_tax", d->exp, 0, 0, &tottax, where)) != SX_OK)
            return rc;
        gross = sub;
        net = tot;
        if (d->incl && (!add64(&gross, subtax) || !add64(&net, tottax)))
            return range_fail(d, "line amounts");
        /* A total edited above the subtotal is no discount. */
        disc = gross > net ? gross - net : 0;
        if (!add64(&d->subtotal, gross))
            return range_fail(d, "line amounts");

        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, lid);
        have_pid = id_text(d->cx, h->json_get(li, "product_id"), &pid);
        if (have_pid)
            sxp_jb_kstr(b, SX_K_PRODUCT_EXTERNAL_ID, pid);
        /* A simple product's only variant carries the product's id (woo_map_product). */
        if (id_text(d->cx, h->json_get(li, "variation_id"), &s))
            sxp_jb_kstr(b, SX_K_VARIANT_EXTERNAL_ID, s);
        else if (have_pid)
            sxp_jb_kstr(b, SX_K_VARIANT_EXTERNAL_ID, pid);
        sxp_put_str(b, h, li, "sku", SX_K_SKU);
        if (!sxp_get_nonempty(h, li, "name", &s))
            s = SX_STR("Item");
        sxp_jb_kstr(b, SX_K_TITLE, s);
        sxp_jb_ki64(b, SX_K_QUANTITY, qty);
        sxp_jb_ki64(b, SX_K_UNIT_PRICE_MINOR, unit_of(gross, qty));
        sxp_jb_ki64(b, SX_K_DISCOUNT_MINOR, disc);
        sxp_jb_ki64(b, SX_K_TAX_MINOR, tottax);
        sxp_jb_ki64(b, SX_K_TOTAL_MINOR, net);
        if ((rc = put_line_taxes(b, d, li, where)) != SX_OK)
            return rc;
        sxp_jb_obj_end(b);
    }
    return SX_OK;
}

/* fee_lines[]: a positive fee is a line of quantity 1; a negative one (the usual way to give
 * a discount by fee) is a discount, written by put_discounts (`as_discount`). */
static int
put_fees(struct sxp_buf *b, struct order_map *d, int as_discount)
{
    const sx_host_api *h = d->cx->host;
    const sx_json     *fees;
    char               where[128];
    size_t             i, n;
    int                rc;

    if ((rc = get_arr(d->cx, d->o, "fee_lines", WOO_MAX_ITEMS, d->where, &fees, &n)) != SX_OK)
        return rc;
    for (i = 0; i < n; i++) {
        const sx_json *f = h->json_at(fees, i);
        sx_str         fid, s;
        int64_t        tot, tax, amount;

        if (h->json_type(f) != SX_JSON_OBJECT || !id_text(d->cx, h->json_get(f, "id"), &fid))
            return h->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has a fee without an id",
                           d->where);
        snprintf(where, sizeof(where), "%s fee " SX_STR_FMT, d->where, SX_STR_ARG(fid));
        if ((rc = read_money(d->cx, f, "total", d->exp, 1, 1, &tot, where)) != SX_OK ||
            (rc = read_money(d->cx, f, "total_tax", d->exp, 0, 1, &tax, where)) != SX_OK)
            return rc;
        amount = tot;
        if (d->incl && !add64(&amount, tax))
            return range_fail(d, "fees");
        if (!sxp_get_nonempty(h, f, "name", &s))
            s = SX_STR("Fee");
        if ((amount < 0) != as_discount)
            continue;
        if (as_discount) {
            if (amount == INT64_MIN || !add64(&d->neg_fees, -amount))
                return range_fail(d, "fees");
            sxp_jb_obj(b);
            sxp_jb_kstr(b, SX_K_TITLE, s);
            sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, -amount);
            sxp_jb_obj_end(b);
            continue;
        }
        if (!add64(&d->subtotal, amount))
            return range_fail(d, "fees");
        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, fid);
        sxp_jb_kstr(b, SX_K_TITLE, s);
        sxp_jb_ki64(b, SX_K_QUANTITY, 1);
        sxp_jb_ki64(b, SX_K_UNIT_PRICE_MINOR, amount);
        sxp_jb_ki64(b, SX_K_DISCOUNT_MINOR, 0);
        sxp_jb_ki64(b, SX_K_TAX_MINOR, tax);
        sxp_jb_ki64(b, SX_K_TOTAL_MINOR, amount);
        if ((rc = put_line_taxes(b, d, f, where)) != SX_OK)
            return rc;
        sxp_jb_obj_end(b);
    }
    return SX_OK;
}

/* coupon_lines[] as discounts (with the negative fees after them) or shipping_lines[] as
 * shipping: each amount with its tax when prices include tax. */
static int
put_charges(struct sxp_buf *b, struct order_map *d, int ship, int64_t *sum)
{
    const sx_host_api *h = d->cx->host;
    const sx_json     *arr;
    size_t             i, n;
    int                rc;

    *sum = 0;
    if ((rc = get_arr(d->cx, d->o, ship ? "shipping_lines" : "coupon_lines", WOO_MAX_ITEMS,
                      d->where, &arr, &n)) != SX_OK)
        return rc;
    sxp_jb_key(b, ship ? SX_K_SHIPPING : SX_K_DISCOUNTS);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *c = h->json_at(arr, i);
        int64_t        amount, tax;
        sx_str         t;

        if ((rc = read_money(d->cx, c, ship ? "total" : "discount", d->exp, 1, 0, &amount,
                             d->where)) != SX_OK ||
            (rc = read_money(d->cx, c, ship ? "total_tax" : "discount_tax", d->exp, 0, 0, &tax,
                             d->where)) != SX_OK)
            return rc;
        if ((d->incl && !add64(&amount, tax)) || !add64(sum, amount))
            return range_fail(d, ship ? "shipping" : "discounts");
        sxp_jb_obj(b);
        if (!ship)
            sxp_put_str(b, h, c, "code", SX_K_CODE);
        else if (sxp_get_nonempty(h, c, "method_title", &t) || sxp_get_nonempty(h, c, "method_id", &t))
            sxp_jb_kstr(b, SX_K_TITLE, t);
        sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, amount);
        if (ship)
            sxp_jb_ki64(b, SX_K_TAX_MINOR, tax);
        sxp_jb_obj_end(b);
    }
    if (!ship && (rc = put_fees(b, d, 1)) != SX_OK)
        return rc;
    sxp_jb_arr_end(b);
    return SX_OK;
}

/* refunds[] {id, reason, total}: totals are negative (platforms.md 2.2); the amount given
 * back is their absolute value. */
static int
put_refunds(struct sxp_buf *b, struct order_map *d, int64_t *sum)
{
    const sx_host_api *h = d->cx->host;
    const sx_json     *arr;
    char               where[128];
    size_t             i, n;
    int                rc;

    *sum = 0;
    if ((rc = get_arr(d->cx, d->o, "refunds", WOO_MAX_ITEMS, d->where, &arr, &n)) != SX_OK)
        return rc;
    sxp_jb_key(b, SX_K_REFUNDS);
    sxp_jb_arr(b);
    for (i = 0; i < n; i++) {
        const sx_json *r = h->json_at(arr, i);
        sx_str         rid;
        int64_t        amount;

        if (h->json_type(r) != SX_JSON_OBJECT || !id_text(d->cx, h->json_get(r, "id"), &rid))
            return h->fail(d->cx, SX_E_PROTOCOL, "WooCommerce %s has a refund without an id",
                           d->where);
        snprintf(where, sizeof(where), "%s refund " SX_STR_FMT, d->where, SX_STR_ARG(rid));
        if ((rc = read_money(d->cx, r, "total", d->exp, 1, 1, &amount, where)) != SX_OK)
            return rc;
        if (amount < 0)
            amount = -amount;          /* sx_money_parse never gives INT64_MIN */
        if (amount == 0)
            continue;                  /* nothing given back */
        if (!add64(sum, amount))
            return range_fail(d, "refunds");
        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, rid);
        sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, amount);
        if ((rc = put_gmt(b, d->cx, r, "date_created_gmt", SX_K_CREATED_AT, where)) != SX_OK)
            return rc;
        sxp_put_str(b, h, r, "reason", SX_K_NOTE);
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);
    return SX_OK;
}

/* The buyer: the customer's id unless a guest (customer_id 0, platforms.md 2.2), with the
 * billing contact, which guests have too. */
static void
put_order_customer(struct sxp_buf *b, sx_ctx *cx, const sx_json *o)
{
    const sx_host_api *h = cx->host;
    const sx_json     *bill = h->json_get(o, "billing");
    sx_str             id, s;
    int                have_id = id_text(cx, h->json_get(o, "customer_id"), &id);

    if (!have_id && !sxp_get_nonempty(h, bill, "email", &s) &&
        !sxp_get_nonempty(h, bill, "first_name", &s) && !sxp_get_nonempty(h, bill, "last_name", &s) &&
        !sxp_get_nonempty(h, bill, "company", &s) && !sxp_get_nonempty(h, bill, "phone", &s))
        return;                        /* a guest with nothing to link by */
    sxp_jb_key(b, SX_K_CUSTOMER);
    sxp_jb_obj(b);
    if (have_id)
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    sxp_put_str(b, h, bill, "email", SX_K_EMAIL);
    sxp_put_str(b, h, bill, "first_name", SX_K_FIRST_NAME);
    sxp_put_str(b, h, bill, "last_name", SX_K_LAST_NAME);
    sxp_put_str(b, h, bill, "company", SX_K_COMPANY_NAME);
    sxp_put_str(b, h, bill, "phone", SX_K_PHONE);
    sxp_jb_obj_end(b);
}

/* An order total from WooCommerce when present (plus its tax when prices include tax), else
 * our own sum. */
static int
total_or(struct order_map *d, const char *key, const char *tax_key, int64_t fallback,
         int64_t *out)
{
    int64_t tax = 0;
    int     rc;

    if (money_of(d->cx, d->cx->host->json_get(d->o, key), d->exp, out) == SX_E_NOT_FOUND) {
        *out = fallback;
        return SX_OK;
    }
    if ((rc = read_money(d->cx, d->o, key, d->exp, 1, 0, out, d->where)) != SX_OK)
        return rc;
    if (tax_key != NULL && d->incl &&
        ((rc = read_money(d->cx, d->o, tax_key, d->exp, 0, 0, &tax, d->where)) != SX_OK))
        return rc;
    return add64(out, tax) ? SX_OK : range_fail(d, key);
}

int
woo_map_order(sx_ctx *cx, const sx_json *o, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *addr;
    struct order_map   d;
    sx_str             cur, s, st = SX_STR_NULL;
    const char        *status, *fin;
    int64_t            ms, paid_ms, disc_sum, ship_sum, tax_sum = 0, refund_sum;
    int64_t            discount, shipping, tax, total;
    size_t             i;
    int                rc, paid;

    memset(&d, 0, sizeof(d));
    d.cx = cx;
    d.o = o;
    if ((rc = woo_record_id(cx, o, &d.id)) != SX_OK)
        return rc;
    snprintf(d.where, sizeof(d.where), "order " SX_STR_FMT, SX_STR_ARG(d.id));
    if (!sxp_get_str(h, o, "currency", &cur) || !currency_ok(cur))
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has no valid currency", d.where);
    d.exp = sx_currency_exponent(cur);
    (void)h->json_bool(h->json_get(o, "prices_include_tax"), &d.incl);
    if ((rc = woo_record_modified(cx, o, &ms)) != SX_OK || (rc = read_rates(&d)) != SX_OK)
        return rc;
    rc = woo_gmt_ms(cx, h->json_get(o, "date_paid_gmt"), &paid_ms);
    if (rc == SX_E_INVALID)
        return h->fail(cx, SX_E_PROTOCOL, "WooCommerce %s has an unreadable date_paid_gmt",
                       d.where);
    paid = rc == SX_OK;

    /* platforms.md 2.2 statuses; a plugin's own status is an order in progress. */
    (void)sxp_get_str(h, o, "status", &st);
    status = sx_str_eq_cstr(st, "completed") || sx_str_eq_cstr(st, "refunded") ? "completed"
           : sx_str_eq_cstr(st, "cancelled") || sx_str_eq_cstr(st, "failed") ||
             sx_str_eq_cstr(st, "trash") ? "cancelled"
           : sx_str_eq_cstr(st, "checkout-draft") ? "draft" : "open";

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, d.id);
    if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK ||
        (rc = put_gmt(b, cx, o, "date_created_gmt", SX_K_CREATED_AT, d.where)) != SX_OK)
        return rc;
    if (sxp_get_nonempty(h, o, "number", &s) || id_text(cx, h->json_get(o, "number"), &s))
        sxp_jb_kstr(b, SX_K_NUMBER, s);
    sxp_jb_kstr(b, SX_K_STATUS, sx_cstr(status));
    /* No cancellation time of its own: the last change is when it was cancelled. */
    if (strcmp(status, "cancelled") == 0 && (rc = put_ms(b, cx, SX_K_CANCELLED_AT, ms)) != SX_OK)
        return rc;
    sxp_jb_kstr(b, SX_K_CURRENCY, cur);
    sxp_jb_key(b, SX_K_TAXES_INCLUDED);
    sxp_jb_bool(b, d.incl);
    put_order_customer(b, cx, o);
    addr = h->json_get(o, "billing");
    if (addr_has_place(h, addr)) {
        sxp_jb_key(b, SX_K_BILLING_ADDRESS);
        put_address(b, cx, addr, NULL);
    }
    addr = h->json_get(o, "shipping");
    if (addr_has_place(h, addr)) {
        sxp_jb_key(b, SX_K_SHIPPING_ADDRESS);
        put_address(b, cx, addr, NULL);
    }
    sxp_copy_str(b, h, o, "customer_note", SX_K_NOTE);

    sxp_jb_key(b, SX_K_LINES);
    sxp_jb_arr(b);
    if ((rc = put_line_items(b, &d)) != SX_OK || (rc = put_fees(b, &d, 0)) != SX_OK)
        return rc;
    sxp_jb_arr_end(b);
    sxp_jb_key(b, SX_K_TAXES);
    sxp_jb_arr(b);
    for (i = 0; i < d.n_rates; i++) {
        put_tax(b, &d.rates[i], d.rates[i].amount);
        if (!add64(&tax_sum, d.rates[i].amount))
            return range_fail(&d, "taxes");
    }
    sxp_jb_arr_end(b);
    if ((rc = put_charges(b, &d, 0, &disc_sum)) != SX_OK ||
        (rc = put_charges(b, &d, 1, &ship_sum)) != SX_OK ||
        (rc = put_refunds(b, &d, &refund_sum)) != SX_OK)
        return rc;

    /* The platform's totals are authoritative (MODEL.md 5); our sums only fill gaps. */
    if ((rc = total_or(&d, "discount_total", "discount_tax", disc_sum, &discount)) != SX_OK ||
        (rc = total_or(&d, "shipping_total", "shipping_tax", ship_sum, &shipping)) != SX_OK ||
        (rc = total_or(&d, "total_tax", NULL, tax_sum, &tax)) != SX_OK)
        return rc;
    if (!add64(&discount, d.neg_fees))
        return range_fail(&d, "discounts");
    if (__builtin_sub_overflow(d.subtotal, discount, &total) || !add64(&total, shipping) ||
        (!d.incl && !add64(&total, tax)))
        total = 0;
    if ((rc = total_or(&d, "total", NULL, total, &total)) != SX_OK)
        return rc;
    sxp_jb_ki64(b, SX_K_SUBTOTAL_MINOR, d.subtotal);
    sxp_jb_ki64(b, SX_K_DISCOUNT_MINOR, discount);
    sxp_jb_ki64(b, SX_K_SHIPPING_MINOR, shipping);
    sxp_jb_ki64(b, SX_K_TAX_MINOR, tax);
    sxp_jb_ki64(b, SX_K_TOTAL_MINOR, total);
    sxp_jb_ki64(b, SX_K_REFUNDED_MINOR, refund_sum);

    /* What the buyer's money did: WooCommerce has no payment state of its own. */
    fin = sx_str_eq_cstr(st, "refunded") || (refund_sum > 0 && refund_sum >= total) ? "refunded"
        : refund_sum > 0 ? "partially_refunded"
        : paid || sx_str_eq_cstr(st, "processing") || sx_str_eq_cstr(st, "completed") ? "paid"
        : strcmp(status, "cancelled") == 0 ? "voided" : "pending";
    sxp_jb_kstr(b, SX_K_FINANCIAL_STATUS, sx_cstr(fin));
    if ((rc = put_raw(b, cx, o)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, d.where);
}

/* ---- canonical -> WooCommerce ---------------------------------------------------------------- */

/* A canonical string member as a WooCommerce one: absent stays absent (leave as is), null is
 * "" (WooCommerce clears with an empty string); another type is refused. */
static int
push_str(struct sxp_buf *b, sx_ctx *cx, const sx_json *canon, const char *ckey,
         const char *pkey)
{
    const sx_host_api *h = cx->host;
    const sx_json     *v = h->json_get(canon, ckey);
    sx_str             s = SX_STR_NULL;

    if (v == NULL)
        return SX_OK;
    if (h->json_type(v) != SX_JSON_NULL && h->json_string(v, &s) != SX_OK)
        return h->fail(cx, SX_E_INVALID, "canonical %s is not a string", ckey);
    sxp_jb_kstr(b, pkey, s);
    return SX_OK;
}

/* The first canonical address of `kind` in addresses[], or NULL. */
static int
find_address(sx_ctx *cx, const sx_json *canon, const char *kind, const sx_json **out)
{
    const sx_host_api *h = cx->host;
    const sx_json     *arr = h->json_get(canon, SX_K_ADDRESSES);
    size_t             i, n = h->json_length(arr);
    sx_str             k;

    *out = NULL;
    if (arr != NULL && h->json_type(arr) != SX_JSON_ARRAY && h->json_type(arr) != SX_JSON_NULL)
        return h->fail(cx, SX_E_INVALID, "canonical addresses is not an array");
    if (n > WOO_MAX_ITEMS)
        return h->fail(cx, SX_E_LIMIT, "%zu addresses, more than %d", n, WOO_MAX_ITEMS);
    for (i = 0; i < n && *out == NULL; i++) {
        const sx_json *a = h->json_at(arr, i);

        if (h->json_type(a) != SX_JSON_OBJECT)
            return h->fail(cx, SX_E_INVALID, "canonical address %zu is not an object", i);
        if (h->json_string(h->json_get(a, SX_K_KIND), &k) == SX_OK && sx_str_eq_cstr(k, kind))
            *out = a;
    }
    return SX_OK;
}

/* billing{} or shipping{} from a canonical address; `top` (the customer) supplies the
 * company name and phone of billing, which WooCommerce keeps there. */
static int
push_address(struct sxp_buf *b, sx_ctx *cx, const char *pkey, const sx_json *a,
             const sx_json *top)
{
    static const char *const map[][2] = {
        { SX_K_FIRST_NAME, "first_name" }, { SX_K_LAST_NAME, "last_name" },
        { SX_K_COMPANY_NAME, "company" },  { SX_K_LINE1, "address_1" },
        { SX_K_LINE2, "address_2" },       { SX_K_CITY, "city" },
        { SX_K_REGION, "state" },          { SX_K_POSTAL_CODE, "postcode" },
        { SX_K_COUNTRY_CODE, "country" },  { SX_K_PHONE, "phone" },
    };
    const sx_host_api *h = cx->host;
    size_t             i;
    int                rc;

    if (a == NULL && (top == NULL || (h->json_get(top, SX_K_COMPANY_NAME) == NULL &&
                                      h->json_get(top, SX_K_PHONE) == NULL)))
        return SX_OK;
    sxp_jb_key(b, pkey);
    sxp_jb_obj(b);
    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        const sx_json *src = a;

        /* The customer's own company and phone win over the address's. */
        if (top != NULL && h->json_get(top, map[i][0]) != NULL &&
            (strcmp(map[i][0], SX_K_COMPANY_NAME) == 0 || strcmp(map[i][0], SX_K_PHONE) == 0))
            src = top;
        if (src != NULL && (rc = push_str(b, cx, src, map[i][0], map[i][1])) != SX_OK)
            return rc;
    }
    sxp_jb_obj_end(b);
    return SX_OK;
}

int
woo_customer_body(sx_ctx *cx, const sx_json *canon, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *bill, *ship, *v;
    sx_str             s;
    int                rc;

    if (h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "canonical customer is not an object");
    if ((rc = find_address(cx, canon, "billing", &bill)) != SX_OK ||
        (rc = find_address(cx, canon, "shipping", &ship)) != SX_OK)
        return rc;
    sxp_jb_obj(b);
    /* The account's email is its login: never cleared, so null leaves it as it is. */
    v = h->json_get(canon, SX_K_EMAIL);
    if (v != NULL && h->json_type(v) != SX_JSON_NULL) {
        if (h->json_string(v, &s) != SX_OK)
            return h->fail(cx, SX_E_INVALID, "canonical email is not a string");
        if (s.len > 0)
            sxp_jb_kstr(b, "email", s);
    }
    if ((rc = push_str(b, cx, canon, SX_K_FIRST_NAME, "first_name")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_LAST_NAME, "last_name")) != SX_OK ||
        (rc = push_address(b, cx, "billing", bill, canon)) != SX_OK ||
        (rc = push_address(b, cx, "shipping", ship, NULL)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return b->rc == SX_OK ? SX_OK : h->fail(cx, b->rc, "customer too large for WooCommerce");
}

/* Minor units as WooCommerce's decimal string: 2500 USD "25.00", 1500 JPY "1500". */
static void
put_decimal(struct sxp_buf *b, const char *pkey, int64_t minor, int exp)
{
    char     num[48];
    uint64_t div = 1, a = (uint64_t)minor;
    int      i, n;

    for (i = 0; i < exp; i++)
        div *= 10;
    if (exp == 0)
        n = snprintf(num, sizeof(num), "%llu", (unsigned long long)a);
    else
        n = snprintf(num, sizeof(num), "%llu.%0*llu", (unsigned long long)(a / div), exp,
                     (unsigned long long)(a % div));
    sxp_jb_kstr(b, pkey, (sx_str){ num, (size_t)n });
}

/* A canonical variant's sellable fields: sku, regular_price, stock, tax status. */
static int
push_variant_fields(struct sxp_buf *b, sx_ctx *cx, const sx_json *v, sx_str currency)
{
    const sx_host_api *h = cx->host;
    const sx_json     *x;
    int64_t            n;
    int                rc, t;

    if ((rc = push_str(b, cx, v, SX_K_SKU, "sku")) != SX_OK)
        return rc;
    if ((x = h->json_get(v, SX_K_PRICE_MINOR)) != NULL) {
        if (h->json_type(x) != SX_JSON_INT || h->json_int64(x, &n) != SX_OK || n < 0)
            return h->fail(cx, SX_E_INVALID, "canonical price_minor is not an amount");
        if (!currency_ok(currency))
            return h->fail(cx, SX_E_INVALID, "a price needs a currency: \"" SX_STR_FMT
                           "\" is not one", SX_STR_ARG(currency));
        put_decimal(b, "regular_price", n, sx_currency_exponent(currency));
    }
    /* Stock absent: leave as is; null: not tracked; a number: tracked. */
    if ((x = h->json_get(v, SX_K_STOCK)) != NULL) {
        if (h->json_type(x) != SX_JSON_NULL &&
            (h->json_type(x) != SX_JSON_INT || h->json_int64(x, &n) != SX_OK))
            return h->fail(cx, SX_E_INVALID, "canonical stock is not an integer");
        sxp_jb_key(b, "manage_stock");
        sxp_jb_bool(b, h->json_type(x) != SX_JSON_NULL);
        if (h->json_type(x) != SX_JSON_NULL)
            sxp_jb_ki64(b, "stock_quantity", n);
    }
    if ((x = h->json_get(v, SX_K_TAXABLE)) != NULL && h->json_type(x) != SX_JSON_NULL) {
        if (h->json_bool(x, &t) != SX_OK)
            return h->fail(cx, SX_E_INVALID, "canonical taxable is not a boolean");
        sxp_jb_kstr(b, "tax_status", t ? SX_STR("taxable") : SX_STR("none"));
    }
    return SX_OK;
}

int
woo_product_body(sx_ctx *cx, const sx_json *canon, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *vars;
    sx_str             cur = SX_STR_NULL, s;
    int                rc;

    if (h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "canonical product is not an object");
    (void)h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur);
    sxp_jb_obj(b);
    if ((rc = push_str(b, cx, canon, SX_K_TITLE, "name")) != SX_OK ||
        (rc = push_str(b, cx, canon, SX_K_DESCRIPTION, "description")) != SX_OK)
        return rc;
    if (h->json_string(h->json_get(canon, SX_K_STATUS), &s) == SX_OK) {
        const char *st = sx_str_eq_cstr(s, "active") ? "publish"
                       : sx_str_eq_cstr(s, "draft") ? "draft"
                       : sx_str_eq_cstr(s, "archived") ? "private" : NULL;

        if (st == NULL)
            return h->fail(cx, SX_E_INVALID, "product status \"" SX_STR_FMT "\" is not "
                           "active, draft or archived", SX_STR_ARG(s));
        sxp_jb_kstr(b, "status", sx_cstr(st));
    }
    /* No "tags": WooCommerce's REST API assigns tags by term id only (it plucks "id" from
     * each and ignores names), so [{"name":..}] would clear the product's tags. */
    vars = h->json_get(canon, SX_K_VARIANTS);
    if (vars != NULL && h->json_type(vars) != SX_JSON_ARRAY)
        return h->fail(cx, SX_E_INVALID, "canonical variants is not an array");
    if (h->json_length(vars) == 1) {
        if (h->json_type(h->json_at(vars, 0)) != SX_JSON_OBJECT)
            return h->fail(cx, SX_E_INVALID, "canonical variant is not an object");
        if ((rc = push_variant_fields(b, cx, h->json_at(vars, 0), cur)) != SX_OK)
            return rc;
    }
    sxp_jb_obj_end(b);
    return b->rc == SX_OK ? SX_OK : h->fail(cx, b->rc, "product too large for WooCommerce");
}

int
woo_variation_body(sx_ctx *cx, const sx_json *variant, sx_str currency, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    sx_str             vid;
    int64_t            id = 0;
    size_t             i;
    int                rc;

    if (h->json_type(variant) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "canonical variant is not an object");
    sxp_jb_obj(b);
    if (h->json_string(h->json_get(variant, SX_K_EXTERNAL_ID), &vid) == SX_OK) {
        /* WooCommerce's ids are integers. */
        for (i = 0; i < vid.len && vid.len <= 18 && vid.ptr[i] >= '0' && vid.ptr[i] <= '9'; i++)
            id = id * 10 + (vid.ptr[i] - '0');
        if (vid.len == 0 || i != vid.len || id == 0)
            return h->fail(cx, SX_E_INVALID, "variant external id \"" SX_STR_FMT "\" is not a "
                           "WooCommerce id", SX_STR_ARG(vid));
        sxp_jb_ki64(b, "id", id);
    }
    if ((rc = push_variant_fields(b, cx, variant, currency)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return b->rc == SX_OK ? SX_OK : h->fail(cx, b->rc, "variant too large for WooCommerce");
}

const char *
woo_path(uint32_t entity)
{
    switch (entity) {
    case SX_ENTITY_CUSTOMER: return "customers";
    case SX_ENTITY_PRODUCT:  return "products";
    case SX_ENTITY_ORDER:    return "orders";
    default:                 return NULL;
    }
}
