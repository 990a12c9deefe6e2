/*
 * PrestaShop connector: Webservice records (the output_format=JSON shape, presta_internal.h)
 * to canonical records (sdk/MODEL.md). Pure translation through the host's JSON services;
 * no HTTP here, so the unit test and the fuzz target run every function of this file on
 * arbitrary bytes.
 *
 * Conventions of the mapping (MODEL.md section 1, platforms.md section 3):
 *  - PrestaShop writes every field, empty ones as "": an empty top-level string is sent as
 *    null ("explicitly empty"); inside nested objects (addresses, lines) it is left out;
 *  - money: decimal strings with six decimals ("19.990000") through sx_money_parse with the
 *    currency's exponent, never a double, rounded half away from zero (a tax-excluded price
 *    computed from a tax-included one has more decimals than the currency);
 *  - times: date_add/date_upd are naive shop-local "YYYY-MM-DD HH:MM:SS" (platforms.md 3.3),
 *    turned into UTC with presta_local_ms and the shop's offset; "0000-00-00 00:00:00" is
 *    PrestaShop's "never";
 *  - ids: integers or digit strings, written as decimal strings;
 *  - multilingual fields ([{"id":"1","value":".."}]): the instance's language, else the
 *    first; every language stays in "raw".
 */
#include "presta_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PRESTA_MAX_QTY  100000000    /* a line quantity beyond this is not a sale */

/* ---- reading PrestaShop JSON ----------------------------------------------------------------- */

/* A non-negative integer (JSON integer or digit string): 1 with *out set, else 0. */
static int
get_id(const sx_host_api *h, const sx_json *o, const char *key, int64_t *out)
{
    const sx_json *v = h->json_get(o, key);

    return v != NULL && h->json_int64(v, out) == SX_OK && *out >= 0;
}

/* A positive id as decimal text in the call arena. */
static int
id_str(sx_ctx *cx, int64_t id, sx_str *out)
{
    char *s;
    int   n;

    if (id <= 0)
        return 0;
    s = cx->host->alloc(cx, 24);
    if (s == NULL)
        return 0;
    n = snprintf(s, 24, "%lld", (long long)id);
    out->ptr = s;
    out->len = (size_t)n;
    return 1;
}

/* A combination's variant id, "<product id>-<combination id>": combinations and products
 * are numbered apart, so a bare combination id could equal a simple product's variant id. */
static int
combo_str(sx_ctx *cx, int64_t pid, int64_t cid, sx_str *out)
{
    char *s;
    int   n;

    if (pid <= 0 || cid <= 0)
        return 0;
    s = cx->host->alloc(cx, 48);
    if (s == NULL)
        return 0;
    n = snprintf(s, 48, "%lld-%lld", (long long)pid, (long long)cid);
    out->ptr = s;
    out->len = (size_t)n;
    return 1;
}

/* A positive id member as decimal text. */
static int
id_text(sx_ctx *cx, const sx_json *o, const char *key, sx_str *out)
{
    int64_t id;

    return get_id(cx->host, o, key, &id) && id_str(cx, id, out);
}

/* A record's own id, checked. */
static int
record_id(sx_ctx *cx, const sx_json *rec, const char *what, int64_t *id, sx_str *out)
{
    const sx_host_api *h = cx->host;

    if (h->json_type(rec) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop sent a %s that is not an object", what);
    if (!get_id(h, rec, "id", id) || !id_str(cx, *id, out))
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop sent a %s without a valid id", what);
    return SX_OK;
}

/* PrestaShop's booleans: "1"/"0", or 1/0, true/false from a converter. 1 with *out set. */
static int
get_flag(const sx_host_api *h, const sx_json *o, const char *key, int *out)
{
    const sx_json *v = h->json_get(o, key);
    int64_t        n;
    sx_str         s;

    if (h->json_bool(v, out) == SX_OK)
        return 1;
    if (h->json_string(v, &s) == SX_OK && s.len == 0) {
        *out = 0;                      /* "default_on":"" is how a false is written */
        return 1;
    }
    if (h->json_int64(v, &n) == SX_OK && (n == 0 || n == 1)) {
        *out = (int)n;
        return 1;
    }
    return 0;
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

/* An optional array argument or member bounded by PRESTA_MAX_ITEMS: *n its length (0 when
 * absent or null). Something else than an array is an error. SX_OK, or a code after fail(). */
static int
check_arr(sx_ctx *cx, const sx_json *arr, const char *name, const char *where, size_t *n)
{
    const sx_host_api *h = cx->host;
    uint32_t           t = h->json_type(arr);

    *n = 0;
    if (arr == NULL || t == SX_JSON_NULL || t == SX_JSON_ABSENT)
        return SX_OK;
    if (t != SX_JSON_ARRAY) {
        sx_str s;

        if (h->json_string(arr, &s) == SX_OK && s.len == 0)
            return SX_OK;              /* how a converter may write an empty association */
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s: %s is not a list", where, name);
    }
    *n = h->json_length(arr);
    if (*n > PRESTA_MAX_ITEMS)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop %s has %zu %s, more than %d", where, *n,
                       name, PRESTA_MAX_ITEMS);
    return SX_OK;
}

/* The record as received, in `raw`: every language of every multilingual field with it. */
static int
put_raw(struct sxp_buf *b, sx_ctx *cx, const sx_json *rec)
{
    sx_str raw;

    if (cx->host->json_text(cx, rec, &raw) != SX_OK)
        return cx->host->fail(cx, SX_E_LIMIT, "PrestaShop record could not be kept as raw");
    sxp_jb_key(b, SX_K_RAW);
    sxp_jb_json(b, raw);
    return SX_OK;
}

static int
finish(struct sxp_buf *b, sx_ctx *cx, const char *where)
{
    if (b->rc == SX_E_PROTOCOL)
        return cx->host->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has text that is not valid "
                              "UTF-8", where);
    if (b->rc != SX_OK)
        return cx->host->fail(cx, b->rc, "PrestaShop %s is too large or too deep to "
                              "translate", where);
    return SX_OK;
}

/* ---- multilingual fields --------------------------------------------------------------------- */

/* The language id of one [{"id":"1","value":".."}] entry, or -1. */
static int64_t
lang_of(const sx_host_api *h, const sx_json *e)
{
    int64_t id;

    return get_id(h, e, "id", &id) ? id : -1;
}

int
presta_lang_text(sx_ctx *cx, const sx_json *field, int lang_id, sx_str *out)
{
    const sx_host_api *h = cx->host;
    size_t             i, n;
    sx_str             s;
    int                have_first = 0;

    if (field == NULL)
        return SX_E_NOT_FOUND;
    if (h->json_string(field, out) == SX_OK)
        return out->len > 0 ? SX_OK : SX_E_NOT_FOUND;
    /* A converter may give a single language as one object rather than a list of one. */
    if (h->json_type(field) == SX_JSON_OBJECT)
        return sxp_get_nonempty(h, field, "value", out) ? SX_OK : SX_E_NOT_FOUND;
    if (h->json_type(field) != SX_JSON_ARRAY)
        return SX_E_NOT_FOUND;
    n = h->json_length(field);
    if (n > PRESTA_MAX_ITEMS)
        n = PRESTA_MAX_ITEMS;          /* there are not that many languages: look no further */
    for (i = 0; i < n; i++) {
        const sx_json *e = h->json_at(field, i);

        if (!sxp_get_nonempty(h, e, "value", &s))
            continue;                  /* an untranslated language: the fallback then */
        if (lang_of(h, e) == lang_id) {
            *out = s;
            return SX_OK;
        }
        if (!have_first) {
            *out = s;
            have_first = 1;
        }
    }
    return have_first ? SX_OK : SX_E_NOT_FOUND;
}

/* ---- times ----------------------------------------------------------------------------------- */

/* A shop-local time member in ms UTC. SX_OK, SX_E_NOT_FOUND (absent, null, "" or PrestaShop's
 * zero date) or SX_E_INVALID. */
static int
local_ms(sx_ctx *cx, const sx_json *o, const char *key, int utc_offset_min, int64_t *out)
{
    const sx_host_api *h = cx->host;
    const sx_json     *v = h->json_get(o, key);
    sx_str             s;

    if (v == NULL || h->json_type(v) == SX_JSON_NULL)
        return SX_E_NOT_FOUND;
    if (h->json_string(v, &s) != SX_OK)
        return SX_E_INVALID;
    if (s.len == 0 || (s.len >= 10 && memcmp(s.ptr, "0000-00-00", 10) == 0))
        return SX_E_NOT_FOUND;
    return presta_local_ms(s, utc_offset_min, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

/* The last change: date_upd, else date_add (a record never updated). */
static int
record_modified(sx_ctx *cx, const sx_json *rec, int utc_offset_min, const char *where,
                int64_t *out)
{
    const sx_host_api *h = cx->host;
    const char        *key = "date_upd";
    int                rc = local_ms(cx, rec, key, utc_offset_min, out);

    if (rc == SX_E_NOT_FOUND) {
        key = "date_add";
        rc = local_ms(cx, rec, key, utc_offset_min, out);
    }
    if (rc == SX_OK)
        return SX_OK;
    if (rc == SX_E_NOT_FOUND)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has neither date_upd nor date_add",
                       where);
    return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an unreadable %s (not a shop-local "
                   "\"YYYY-MM-DD HH:MM:SS\")", where, key);
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

/* An optional shop-local time as a canonical one; present but unreadable is an error. */
static int
put_local(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, const char *pkey, const char *ckey,
          int utc_offset_min, const char *where)
{
    int64_t ms;
    int     rc = local_ms(cx, o, pkey, utc_offset_min, &ms);

    if (rc == SX_E_NOT_FOUND)
        return SX_OK;
    if (rc != SX_OK)
        return cx->host->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an unreadable %s", where,
                              pkey);
    return put_ms(b, cx, ckey, ms);
}

/* ---- money and rates ------------------------------------------------------------------------- */

/* Money in minor units. SX_OK, SX_E_NOT_FOUND (absent, null or "") or SX_E_INVALID. */
static int
money_of(const sx_host_api *h, const sx_json *v, int exp, int64_t *out)
{
    sx_str s;

    if (v == NULL || h->json_type(v) == SX_JSON_NULL)
        return SX_E_NOT_FOUND;
    if (h->json_string(v, &s) != SX_OK)
        return SX_E_INVALID;           /* the Webservice writes every amount as a string */
    if (s.len == 0)
        return SX_E_NOT_FOUND;
    return sx_money_parse(s, exp, 1, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

/* `o[key]` as money: required (absence is an error) or else 0 when absent; never negative
 * unless `neg_ok`. The message names the record and field, and quotes a short printable bad
 * value. */
static int
read_money(sx_ctx *cx, const sx_json *o, const char *key, int exp, int required, int neg_ok,
           int64_t *out, const char *where)
{
    const sx_host_api *h = cx->host;
    sx_str             s = SX_STR_NULL;
    size_t             i;
    int                rc = money_of(h, h->json_get(o, key), exp, out);

    if (rc == SX_E_NOT_FOUND && !required) {
        *out = 0;
        return SX_OK;
    }
    if (rc == SX_E_NOT_FOUND)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has no %s", where, key);
    if (rc == SX_OK && *out < 0 && !neg_ok)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has a negative %s", where, key);
    if (rc == SX_OK)
        return SX_OK;
    (void)h->json_string(h->json_get(o, key), &s);
    for (i = 0; i < s.len && s.ptr[i] >= 0x20 && s.ptr[i] <= 0x7e && s.ptr[i] != '"'; i++)
        ;
    if (s.len > 0 && s.len <= 32 && i == s.len)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an unreadable %s \"" SX_STR_FMT
                       "\" (not a decimal amount)", where, key, SX_STR_ARG(s));
    return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an unreadable %s (not a decimal "
                   "amount)", where, key);
}

/* A percentage as PrestaShop writes it ("20.000", "5.500") in ppm, exactly. SX_OK or
 * SX_E_INVALID. */
static int
percent_ppm(const sx_host_api *h, const sx_json *v, int64_t *out)
{
    char   buf[48];
    sx_str t;
    size_t i;

    if (h->json_string(v, &t) != SX_OK || t.len == 0 || t.len > 32)
        return SX_E_INVALID;
    for (i = 0; i < t.len; i++) {
        if ((t.ptr[i] < '0' || t.ptr[i] > '9') && t.ptr[i] != '.')
            return SX_E_INVALID;
    }
    memcpy(buf, t.ptr, t.len);
    memcpy(buf + t.len, "e-2", 3);
    return sxp_rate_ppm((sx_str){ buf, t.len + 3 }, out) == SX_OK ? SX_OK : SX_E_INVALID;
}

/* ---- customer -------------------------------------------------------------------------------- */

/* MODEL.md 2: an address with none of line1, city, postal_code, country_code is not sent. */
static int
addr_has_place(const sx_host_api *h, const sx_json *a, sx_str cc)
{
    sx_str s;

    return sxp_get_nonempty(h, a, "address1", &s) || sxp_get_nonempty(h, a, "city", &s) ||
           sxp_get_nonempty(h, a, "postcode", &s) || cc.len == 2;
}

/* The ISO code of an address's id_country through `countries` ({"<id>":"FR"}), upper case
 * in `up`; an unknown country or one that is not two letters is left out. */
static sx_str
country_of(sx_ctx *cx, const sx_json *a, const sx_json *countries, char up[2])
{
    const sx_host_api *h = cx->host;
    const sx_json     *v;
    sx_str             key, cc;
    int                i;

    if (countries == NULL || !id_text(cx, a, "id_country", &key))
        return SX_STR_NULL;
    {
        char k[24];

        memcpy(k, key.ptr, key.len);
        k[key.len] = '\0';
        v = h->json_get(countries, k);
    }
    if (h->json_string(v, &cc) != SX_OK && !sxp_get_str(h, v, "iso_code", &cc))
        return SX_STR_NULL;
    if (cc.len != 2)
        return SX_STR_NULL;
    for (i = 0; i < 2; i++) {
        up[i] = (cc.ptr[i] >= 'a' && cc.ptr[i] <= 'z') ? (char)(cc.ptr[i] - 32) : cc.ptr[i];
        if (up[i] < 'A' || up[i] > 'Z')
            return SX_STR_NULL;
    }
    return (sx_str){ up, 2 };
}

/* Does this address belong on the customer: an object, not soft-deleted, not another
 * customer's (when a caller hands a whole page of addresses). */
static int
addr_usable(const sx_host_api *h, const sx_json *a, int64_t cid)
{
    int64_t owner;
    int     del = 0;

    if (h->json_type(a) != SX_JSON_OBJECT)
        return 0;
    if (get_flag(h, a, "deleted", &del) && del)
        return 0;
    return !get_id(h, a, "id_customer", &owner) || owner == cid;
}

static void
put_address(struct sxp_buf *b, sx_ctx *cx, const sx_json *a, sx_str cc, const char *kind)
{
    const sx_host_api *h = cx->host;
    sx_str             s;

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_KIND, sx_cstr(kind));
    sxp_put_str(b, h, a, "firstname", SX_K_FIRST_NAME);
    sxp_put_str(b, h, a, "lastname", SX_K_LAST_NAME);
    sxp_put_str(b, h, a, "company", SX_K_COMPANY_NAME);
    if (sxp_get_nonempty(h, a, "phone", &s) || sxp_get_nonempty(h, a, "phone_mobile", &s))
        sxp_jb_kstr(b, SX_K_PHONE, s);
    sxp_put_str(b, h, a, "address1", SX_K_LINE1);
    sxp_put_str(b, h, a, "address2", SX_K_LINE2);
    sxp_put_str(b, h, a, "city", SX_K_CITY);
    sxp_put_str(b, h, a, "postcode", SX_K_POSTAL_CODE);
    if (cc.len == 2)
        sxp_jb_kstr(b, SX_K_COUNTRY_CODE, cc);
    sxp_jb_obj_end(b);
}

int
presta_map_customer(sx_ctx *cx, const sx_json *c, const sx_json *addresses,
                    const sx_json *countries, int lang_id, int utc_offset_min,
                    struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const sx_json     *vat_from = NULL;
    char               where[64];
    sx_str             id, s;
    int64_t            cid, ms;
    size_t             i, n;
    int                rc, del = 0, n_put = 0;

    (void)lang_id;                     /* a customer has no multilingual field */
    if ((rc = record_id(cx, c, "customer", &cid, &id)) != SX_OK)
        return rc;
    snprintf(where, sizeof(where), "customer " SX_STR_FMT, SX_STR_ARG(id));
    if ((rc = record_modified(cx, c, utc_offset_min, where, &ms)) != SX_OK)
        return rc;

    /* platforms.md 3.3: customers are soft-deleted (deleted=1) and still listed. */
    if (get_flag(h, c, "deleted", &del) && del) {
        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
        if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK)
            return rc;
        sxp_jb_key(b, SX_K_DELETED);
        sxp_jb_bool(b, 1);
        sxp_jb_obj_end(b);
        return finish(b, cx, where);
    }

    /* MODEL.md 3: at least one of email, names, company. */
    if (!sxp_get_nonempty(h, c, "email", &s) && !sxp_get_nonempty(h, c, "firstname", &s) &&
        !sxp_get_nonempty(h, c, "lastname", &s) && !sxp_get_nonempty(h, c, "company", &s))
        return h->fail(cx, SX_E_REJECTED, "PrestaShop %s has no email, name or company: "
                       "nothing to name it by", where);
    if ((rc = check_arr(cx, addresses, "addresses", where, &n)) != SX_OK)
        return rc;
    if (countries != NULL && h->json_type(countries) != SX_JSON_OBJECT)
        countries = NULL;

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK ||
        (rc = put_local(b, cx, c, "date_add", SX_K_CREATED_AT, utc_offset_min, where)) != SX_OK)
        return rc;
    sxp_copy_str(b, h, c, "email", SX_K_EMAIL);
    sxp_copy_str(b, h, c, "firstname", SX_K_FIRST_NAME);
    sxp_copy_str(b, h, c, "lastname", SX_K_LAST_NAME);
    sxp_copy_str(b, h, c, "company", SX_K_COMPANY_NAME);
    sxp_copy_str(b, h, c, "note", SX_K_NOTE);
    if (addresses != NULL) {
        /* The list is the customer's addresses now: the array says which exist. PrestaShop
         * has no address kinds; the first is the one invoices go to. */
        sxp_jb_key(b, SX_K_ADDRESSES);
        sxp_jb_arr(b);
        for (i = 0; i < n; i++) {
            const sx_json *a = h->json_at(addresses, i);
            char           up[2];
            sx_str         cc;

            if (!addr_usable(h, a, cid))
                continue;
            cc = country_of(cx, a, countries, up);
            if (!addr_has_place(h, a, cc))
                continue;
            put_address(b, cx, a, cc, n_put == 0 ? "billing" : "other");
            if (n_put == 0)
                vat_from = a;
            n_put++;
        }
        sxp_jb_arr_end(b);
    }
    /* siret is the company's registration number; a shop that asks for a VAT number keeps
     * it on the address. The customer's own wins. */
    if (sxp_get_nonempty(h, c, "siret", &s) || sxp_get_nonempty(h, vat_from, "vat_number", &s))
        sxp_jb_kstr(b, SX_K_TAX_ID, s);
    else
        sxp_copy_str(b, h, c, "siret", SX_K_TAX_ID);
    if ((rc = put_raw(b, cx, c)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, where);
}

/* ---- product --------------------------------------------------------------------------------- */

/* The stock of (product, attribute) in stock_availables: 1 with *out set, 0 when there is
 * none (not tracked: the key stays absent), or a code after fail(). The first entry wins: in
 * a multishop, entries are per shop or shop group, not locations to add up. */
static int
stock_of(sx_ctx *cx, const sx_json *stocks, size_t n, int64_t pid, int64_t attr,
         const char *where, int64_t *out)
{
    const sx_host_api *h = cx->host;
    size_t             i;

    for (i = 0; i < n; i++) {
        const sx_json *st = h->json_at(stocks, i);
        const sx_json *q;
        int64_t        a, p;

        if (h->json_type(st) != SX_JSON_OBJECT)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has a stock_available that is "
                           "not an object", where);
        if (!get_id(h, st, "id_product_attribute", &a) || a != attr)
            continue;
        if (get_id(h, st, "id_product", &p) && p != pid)
            continue;                  /* a page of stocks handed whole */
        q = h->json_get(st, "quantity");
        if (h->json_int64(q, out) != SX_OK || *out < -PRESTA_MAX_QTY || *out > PRESTA_MAX_QTY)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an unreadable quantity in "
                           "stock_available for attribute %lld", where, (long long)attr);
        return 1;
    }
    return 0;
}

/* ---- option values (variant titles) ---------------------------------------------------------- */

/*
 * The option values the listing read (product_option_values, display=full), indexed by id,
 * each with the position of its group (product_options) so a title lists them as the shop's
 * groups are ordered ("Red / L" when Color comes before Size), whatever the order of the
 * combination's association. `used`: a variant of this product is named by it (kept in raw).
 */
struct opt_val {
    int64_t        id;
    int64_t        pos;                /* the group's position; INT64_MAX when unknown */
    size_t         at;                 /* index in the shop's list (in a title: its order) */
    const sx_json *rec;
    int            used;
};

struct opt_index {
    struct opt_val *v;
    size_t          n;
};

/* A group's position by id, from an array of (id, position) pairs sorted by id. */
struct opt_group {
    int64_t id;
    int64_t pos;
};

static int
cmp_group(const void *a, const void *b)
{
    const struct opt_group *x = a, *y = b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static int
cmp_val(const void *a, const void *b)
{
    const struct opt_val *x = a, *y = b;

    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Sorted by position, then as the combination lists them. */
static int
cmp_pick(const void *a, const void *b)
{
    const struct opt_val *x = a, *y = b;

    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->at < y->at ? -1 : x->at > y->at;
}

int
presta_id_set_add(int64_t *ids, size_t *n, size_t cap, int64_t id)
{
    size_t lo = 0, hi = *n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < *n && ids[lo] == id)
        return 1;
    if (*n == cap)
        return 0;
    memmove(ids + lo + 1, ids + lo, (*n - lo) * sizeof(*ids));
    ids[lo] = id;
    (*n)++;
    return 1;
}

static int
cmp_i64(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;

    return *x < *y ? -1 : *x > *y;
}

/*
 * The index of the `values` this product's combinations name (the listing hands a page's
 * values whole), each with the position of its group in `groups` (either may be NULL: no
 * names, or names in the combination's order). At most PRESTA_MAX_ITEMS distinct ids; records
 * that are not objects with an id are left out (a value the shop garbled names no variant,
 * it does not refuse the product). Associations that are no list are refused later, by
 * option_title.
 */
static int
opt_index_build(sx_ctx *cx, const sx_json *combs, size_t n_comb, const sx_json *values,
                const sx_json *groups, const char *where, struct opt_index *ix)
{
    const sx_host_api *h = cx->host;
    struct opt_group  *g = NULL;
    int64_t           *ids, *at, id;
    uint8_t           *taken;
    size_t             i, j, n_val, n_grp, n_ids = 0, k = 0, n_g = 0;
    int                rc;

    ix->v = NULL;
    ix->n = 0;
    if ((rc = check_arr(cx, values, "product_option_values", where, &n_val)) != SX_OK ||
        (rc = check_arr(cx, groups, "product_options", where, &n_grp)) != SX_OK)
        return rc;
    if (n_val == 0)
        return SX_OK;
    ids = h->alloc(cx, PRESTA_MAX_ITEMS * sizeof(*ids));
    if (ids == NULL)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
    for (i = 0; i < n_comb; i++) {
        const sx_json *vals = h->json_get(h->json_get(h->json_at(combs, i), "associations"),
                                          "product_option_values");
        size_t         nv = h->json_length(vals);

        for (j = 0; j < nv && j < PRESTA_MAX_ITEMS; j++) {
            if (get_id(h, h->json_at(vals, j), "id", &id) && id > 0 &&
                !presta_id_set_add(ids, &n_ids, PRESTA_MAX_ITEMS, id))
                break;
        }
    }
    if (n_ids == 0)
        return SX_OK;
    if (n_grp > 0) {
        g = h->alloc(cx, n_grp * sizeof(*g));
        if (g == NULL)
            return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
        for (i = 0; i < n_grp; i++) {
            const sx_json *r = h->json_at(groups, i);
            int64_t        pos;

            if (h->json_type(r) != SX_JSON_OBJECT || !get_id(h, r, "id", &g[n_g].id) ||
                !get_id(h, r, "position", &pos))
                continue;
            g[n_g++].pos = pos;
        }
        qsort(g, n_g, sizeof(*g), cmp_group);
    }
    ix->v = h->alloc(cx, n_ids * sizeof(*ix->v));
    taken = h->alloc(cx, n_ids);
    if (ix->v == NULL || taken == NULL)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
    memset(taken, 0, n_ids);
    for (i = 0; i < n_val && k < n_ids; i++) {
        const sx_json    *r = h->json_at(values, i);
        struct opt_group  key, *hit = NULL;

        if (h->json_type(r) != SX_JSON_OBJECT || !get_id(h, r, "id", &id))
            continue;
        at = bsearch(&id, ids, n_ids, sizeof(*ids), cmp_i64);
        if (at == NULL || taken[at - ids])
            continue;                  /* not named here, or listed twice: the first wins */
        taken[at - ids] = 1;
        if (n_g > 0 && get_id(h, r, "id_attribute_group", &key.id))
            hit = bsearch(&key, g, n_g, sizeof(*g), cmp_group);
        ix->v[k].id = id;
        ix->v[k].at = i;
        ix->v[k].rec = r;
        ix->v[k].used = 0;
        ix->v[k].pos = hit != NULL ? hit->pos : INT64_MAX;
        k++;
    }
    ix->n = k;
    qsort(ix->v, ix->n, sizeof(*ix->v), cmp_val);
    return SX_OK;
}

static struct opt_val *
opt_find(const struct opt_index *ix, int64_t id)
{
    size_t lo = 0, hi = ix->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (ix->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < ix->n && ix->v[lo].id == id ? &ix->v[lo] : NULL;
}

/*
 * A variant's title from its option values ("Red / L"): each id of the combination's
 * associations.product_option_values named through the index in `lang_id` (else the first
 * language), in the order of the groups' positions. A value the index does not have may
 * carry its own name (a caller that joined it in); one without any name is left out. Empty
 * when none has a name.
 */
static int
option_title(sx_ctx *cx, const sx_json *comb, const struct opt_index *ix, int lang_id,
             const char *where, sx_str *out)
{
    const sx_host_api *h = cx->host;
    const sx_json     *vals = h->json_get(h->json_get(comb, "associations"),
                                          "product_option_values");
    struct opt_val    *picks;
    struct sxp_buf     t;
    sx_str            *names;
    size_t             i, n, k = 0;
    int                rc;

    *out = SX_STR("");
    if ((rc = check_arr(cx, vals, "product_option_values", where, &n)) != SX_OK)
        return rc;
    if (n == 0)
        return SX_OK;
    picks = h->alloc(cx, n * sizeof(*picks));
    names = h->alloc(cx, n * sizeof(*names));
    if (picks == NULL || names == NULL)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
    for (i = 0; i < n; i++) {
        const sx_json  *e = h->json_at(vals, i);
        struct opt_val *v = NULL;
        int64_t         id;

        if (get_id(h, e, "id", &id))
            v = opt_find(ix, id);
        if (v != NULL &&
            presta_lang_text(cx, h->json_get(v->rec, "name"), lang_id, &names[k]) == SX_OK) {
            v->used = 1;
            picks[k].pos = v->pos;
        } else if (presta_lang_text(cx, h->json_get(e, "name"), lang_id, &names[k]) ==
                   SX_OK) {
            picks[k].pos = INT64_MAX;
        } else {
            continue;
        }
        picks[k].at = k;             /* indexes names[] too */
        k++;
    }
    if (k == 0)
        return SX_OK;
    qsort(picks, k, sizeof(*picks), cmp_pick);
    sxp_buf_init(&t, cx);
    for (i = 0; i < k; i++) {
        if (i > 0)
            sxp_buf_raw(&t, " / ", 3);
        sxp_buf_raw(&t, names[picks[i].at].ptr, names[picks[i].at].len);
    }
    if (t.rc != SX_OK)
        return h->fail(cx, t.rc, "PrestaShop %s has option values too long", where);
    *out = (sx_str){ t.p, t.len };
    return SX_OK;
}

/*
 * The product as received in `raw`, with the option values that name its variants (every
 * language of their names: the title has only one) as "product_option_values", a key a
 * product record does not have at its top level. Without such values, the record alone.
 */
static int
put_raw_options(struct sxp_buf *b, sx_ctx *cx, const sx_json *p, const struct opt_index *ix)
{
    const sx_host_api *h = cx->host;
    sx_str             raw, one;
    size_t             i, k = 0;

    for (i = 0; i < ix->n && !ix->v[i].used; i++)
        ;
    if (i == ix->n || h->json_get(p, "product_option_values") != NULL)
        return put_raw(b, cx, p);
    if (h->json_text(cx, p, &raw) != SX_OK)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop record could not be kept as raw");
    while (raw.len > 0 && (raw.ptr[raw.len - 1] == ' ' || raw.ptr[raw.len - 1] == '\n'))
        raw.len--;
    if (raw.len < 2 || raw.ptr[0] != '{' || raw.ptr[raw.len - 1] != '}')
        return put_raw(b, cx, p);
    raw.len--;                         /* the object stays open for one more member */
    sxp_jb_key(b, SX_K_RAW);
    sxp_jb_json(b, raw);
    if (raw.len > 1)
        SXP_RAW(b, ",");
    SXP_RAW(b, "\"product_option_values\":[");
    for (i = 0; i < ix->n; i++) {
        if (!ix->v[i].used)
            continue;
        if (h->json_text(cx, ix->v[i].rec, &one) != SX_OK)
            return h->fail(cx, SX_E_LIMIT, "PrestaShop record could not be kept as raw");
        if (k++ > 0)
            SXP_RAW(b, ",");
        sxp_buf_raw(b, one.ptr, one.len);
    }
    SXP_RAW(b, "]}");
    return SX_OK;
}

/* Tax rules group 0 is "no tax"; a combination has the product's. */
static void
put_taxable(struct sxp_buf *b, const sx_host_api *h, const sx_json *p)
{
    int64_t tg;

    if (get_id(h, p, "id_tax_rules_group", &tg)) {
        sxp_jb_key(b, SX_K_TAXABLE);
        sxp_jb_bool(b, tg != 0);
    }
}

/* The variant of a simple product: the product's id (MODEL.md 4), its price and stock. */
static int
put_simple_variant(struct sxp_buf *b, sx_ctx *cx, const sx_json *p, sx_str id, int64_t pid,
                   const sx_json *stocks, size_t n_stocks, int exp, const char *where)
{
    const sx_host_api *h = cx->host;
    int64_t            price, stock;
    int                rc;

    if ((rc = read_money(cx, p, "price", exp, 1, 0, &price, where)) != SX_OK)
        return rc;
    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    sxp_put_str(b, h, p, "reference", SX_K_SKU);
    sxp_put_str(b, h, p, "ean13", SX_K_BARCODE);
    sxp_jb_ki64(b, SX_K_PRICE_MINOR, price);
    put_taxable(b, h, p);
    rc = stock_of(cx, stocks, n_stocks, pid, 0, where, &stock);
    if (rc < 0)
        return rc;
    if (rc == 1)
        sxp_jb_ki64(b, SX_K_STOCK, stock);
    sxp_jb_ki64(b, SX_K_POSITION, 1);
    sxp_jb_obj_end(b);
    return SX_OK;
}

/* One variant per combination. Its external id is "<product id>-<combination id>" (order rows
 * carry product_id and product_attribute_id, so lines point at it the same way). */
static int
put_combinations(struct sxp_buf *b, sx_ctx *cx, const sx_json *p, int64_t pid,
                 const sx_json *combs, size_t n, const sx_json *stocks, size_t n_stocks,
                 const struct opt_index *ix, int exp, int lang_id, const char *where)
{
    const sx_host_api *h = cx->host;
    int64_t            base, *seen;
    char               cwhere[112];
    size_t             i, k;
    int                rc;

    if ((rc = read_money(cx, p, "price", exp, 1, 0, &base, where)) != SX_OK)
        return rc;
    seen = h->alloc(cx, n * sizeof(*seen));
    if (seen == NULL)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
    for (i = 0; i < n; i++) {
        const sx_json *cb = h->json_at(combs, i);
        int64_t        coid, owner, impact, price, stock;
        sx_str         cid, title;

        if (h->json_type(cb) != SX_JSON_OBJECT || !get_id(h, cb, "id", &coid) ||
            !combo_str(cx, pid, coid, &cid))
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has a combination without an id",
                           where);
        snprintf(cwhere, sizeof(cwhere), "%s combination %lld", where, (long long)coid);
        if (get_id(h, cb, "id_product", &owner) && owner != pid)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s belongs to product %lld", cwhere,
                           (long long)owner);
        for (k = 0; k < i; k++) {
            if (seen[k] == coid)
                return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s is listed twice", cwhere);
        }
        seen[i] = coid;
        /* platforms.md 3.2: a combination's price is an impact on the base price. */
        if ((rc = read_money(cx, cb, "price", exp, 0, 1, &impact, cwhere)) != SX_OK)
            return rc;
        price = base;
        if (!add64(&price, impact))
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has a price out of range", cwhere);
        if (price < 0)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has a price impact below the "
                           "product's price", cwhere);
        if ((rc = option_title(cx, cb, ix, lang_id, cwhere, &title)) != SX_OK)
            return rc;
        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, cid);
        if (title.len > 0 || sxp_get_nonempty(h, cb, "reference", &title))
            sxp_jb_kstr(b, SX_K_TITLE, title);
        sxp_put_str(b, h, cb, "reference", SX_K_SKU);
        sxp_put_str(b, h, cb, "ean13", SX_K_BARCODE);
        sxp_jb_ki64(b, SX_K_PRICE_MINOR, price);
        put_taxable(b, h, p);
        rc = stock_of(cx, stocks, n_stocks, pid, coid, cwhere, &stock);
        if (rc < 0)
            return rc;
        if (rc == 1)
            sxp_jb_ki64(b, SX_K_STOCK, stock);
        sxp_jb_ki64(b, SX_K_POSITION, (int64_t)i + 1);
        sxp_jb_obj_end(b);
    }
    return SX_OK;
}

int
presta_map_product(sx_ctx *cx, const sx_json *p, const sx_json *combinations,
                   const sx_json *stocks, const sx_json *option_values,
                   const sx_json *option_groups, sx_str currency, int lang_id,
                   int utc_offset_min, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    struct opt_index   ix = { NULL, 0 };
    char               where[64];
    sx_str             id, s;
    int64_t            pid, ms;
    size_t             n_comb, n_stocks;
    int                rc, exp, on;

    if ((rc = record_id(cx, p, "product", &pid, &id)) != SX_OK)
        return rc;
    snprintf(where, sizeof(where), "product " SX_STR_FMT, SX_STR_ARG(id));
    if (!currency_ok(currency))
        return h->fail(cx, SX_E_INVALID, "the shop's currency is unknown: PrestaShop %s "
                       "cannot be priced", where);
    exp = sx_currency_exponent(currency);
    if ((rc = record_modified(cx, p, utc_offset_min, where, &ms)) != SX_OK)
        return rc;
    if (presta_lang_text(cx, h->json_get(p, "name"), lang_id, &s) != SX_OK)
        return h->fail(cx, SX_E_REJECTED, "PrestaShop %s has no name", where);
    if ((rc = check_arr(cx, combinations, "combinations", where, &n_comb)) != SX_OK ||
        (rc = check_arr(cx, stocks, "stock_availables", where, &n_stocks)) != SX_OK)
        return rc;
    if (n_comb > 0 &&
        (rc = opt_index_build(cx, combinations, n_comb, option_values, option_groups, where,
                              &ix)) != SX_OK)
        return rc;

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK ||
        (rc = put_local(b, cx, p, "date_add", SX_K_CREATED_AT, utc_offset_min, where)) != SX_OK)
        return rc;
    sxp_jb_kstr(b, SX_K_TITLE, s);
    if (presta_lang_text(cx, h->json_get(p, "description"), lang_id, &s) == SX_OK) {
        sxp_jb_kstr(b, SX_K_DESCRIPTION, s);
    } else if (h->json_get(p, "description") != NULL) {
        sxp_jb_key(b, SX_K_DESCRIPTION);
        sxp_jb_null(b);
    }
    if (sxp_get_nonempty(h, p, "manufacturer_name", &s))
        sxp_jb_kstr(b, SX_K_VENDOR, s);
    if (get_flag(h, p, "active", &on))
        sxp_jb_kstr(b, SX_K_STATUS, on ? SX_STR("active") : SX_STR("draft"));
    sxp_jb_kstr(b, SX_K_CURRENCY, currency);

    sxp_jb_key(b, SX_K_VARIANTS);
    sxp_jb_arr(b);
    /* A simple product, or one of type combinations without any yet: one variant carrying
     * the product's id, its stock the entry with id_product_attribute 0 (platforms.md 3.2). */
    if (n_comb == 0)
        rc = put_simple_variant(b, cx, p, id, pid, stocks, n_stocks, exp, where);
    else
        rc = put_combinations(b, cx, p, pid, combinations, n_comb, stocks, n_stocks, &ix,
                              exp, lang_id, where);
    if (rc != SX_OK)
        return rc;
    sxp_jb_arr_end(b);
    if ((rc = put_raw_options(b, cx, p, &ix)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, where);
}

/* ---- order ----------------------------------------------------------------------------------- */

/*
 * current_state -> (status, financial_status), for PrestaShop's default order states (ids of
 * a fresh install; a shop may rename them, and add its own):
 *
 *   1  Awaiting check payment          open       pending
 *   2  Payment accepted                open       paid
 *   3  Processing in progress          open       paid
 *   4  Shipped                         completed  paid
 *   5  Delivered                       completed  paid
 *   6  Canceled                        cancelled  voided     (cancelled_at = date_upd)
 *   7  Refunded                        completed  refunded   (one refund of the whole total)
 *   8  Payment error                   cancelled  voided     (cancelled_at = date_upd; as
 *                                                             WooCommerce's "failed")
 *   9  On backorder (paid)             open       paid
 *   10 Awaiting bank wire payment      open       pending
 *   11 Remote payment accepted         open       paid
 *   12 On backorder (not paid)         open       pending
 *   13 Awaiting Cash On Delivery       open       pending
 *   other (a shop's own state)         open       paid when the order is valid ("valid":"1",
 *                                                 which PrestaShop sets once a paid state is
 *                                                 reached), else pending
 */
static void
order_state(const sx_host_api *h, const sx_json *o, int64_t state, const char **status,
            const char **fin)
{
    int valid = 0;

    *status = "open";
    *fin = "pending";
    switch (state) {
    case 1: case 10: case 12: case 13:
        return;
    case 2: case 3: case 9: case 11:
        *fin = "paid";
        return;
    case 4: case 5:
        *status = "completed";
        *fin = "paid";
        return;
    case 6: case 8:
        *status = "cancelled";
        *fin = "voided";
        return;
    case 7:
        *status = "completed";
        *fin = "refunded";
        return;
    default:
        if (get_flag(h, o, "valid", &valid) && valid)
            *fin = "paid";
        return;
    }
}

/* The order_detail of an order row: the one whose id is the row's (order_rows[].id is
 * id_order_detail), else the first unused one of the same product and attribute. */
static const sx_json *
detail_of(const sx_host_api *h, const sx_json *details, size_t n, uint8_t *used, int64_t oid,
          int64_t rid, int64_t pid, int64_t aid)
{
    size_t i;
    int    pass;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < n; i++) {
            const sx_json *d = h->json_at(details, i);
            int64_t        v, dp, da;

            if (used[i] || h->json_type(d) != SX_JSON_OBJECT)
                continue;
            if (get_id(h, d, "id_order", &v) && v != oid)
                continue;              /* a page of details handed whole */
            if (pass == 0 && (!get_id(h, d, "id", &v) || v != rid))
                continue;
            if (pass == 1 && (!get_id(h, d, "product_id", &dp) || dp != pid ||
                              !get_id(h, d, "product_attribute_id", &da) || da != aid))
                continue;
            used[i] = 1;
            return d;
        }
    }
    return NULL;
}

static int
put_rows(struct sxp_buf *b, sx_ctx *cx, const sx_json *o, int64_t oid, const sx_json *details,
         int exp, const char *where)
{
    const sx_host_api *h = cx->host;
    const sx_json     *rows = h->json_get(h->json_get(o, "associations"), "order_rows");
    uint8_t           *used = NULL;
    char               rwhere[112], dwhere[160];
    size_t             i, n, n_det;
    int                rc;

    if ((rc = check_arr(cx, rows, "order_rows", where, &n)) != SX_OK ||
        (rc = check_arr(cx, details, "order_details", where, &n_det)) != SX_OK)
        return rc;
    if (n_det > 0) {
        used = h->alloc(cx, n_det);
        if (used == NULL)
            return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
        memset(used, 0, n_det);
    }
    for (i = 0; i < n; i++) {
        const sx_json *r = h->json_at(rows, i);
        const sx_json *d;
        int64_t        rid, pid = 0, aid = 0, qty, unit, total, incl, excl, ppm;
        sx_str         lid, s;

        if (h->json_type(r) != SX_JSON_OBJECT || !get_id(h, r, "id", &rid) ||
            !id_str(cx, rid, &lid))
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an order row without an id",
                           where);
        snprintf(rwhere, sizeof(rwhere), "%s row " SX_STR_FMT, where, SX_STR_ARG(lid));
        if (h->json_int64(h->json_get(r, "product_quantity"), &qty) != SX_OK || qty < 1 ||
            qty > PRESTA_MAX_QTY)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has no usable product_quantity "
                           "(1 to %d)", rwhere, PRESTA_MAX_QTY);
        if ((rc = read_money(cx, r, "unit_price_tax_excl", exp, 1, 0, &unit, rwhere)) != SX_OK)
            return rc;
        if (__builtin_mul_overflow(unit, qty, &total))
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an amount out of range",
                           rwhere);
        (void)get_id(h, r, "product_id", &pid);
        (void)get_id(h, r, "product_attribute_id", &aid);

        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, lid);
        if (id_str(cx, pid, &s))
            sxp_jb_kstr(b, SX_K_PRODUCT_EXTERNAL_ID, s);
        /* The variant ids of presta_map_product: the combination, else the product. */
        if (aid > 0 ? combo_str(cx, pid, aid, &s) : id_str(cx, pid, &s))
            sxp_jb_kstr(b, SX_K_VARIANT_EXTERNAL_ID, s);
        sxp_put_str(b, h, r, "product_reference", SX_K_SKU);
        if (!sxp_get_nonempty(h, r, "product_name", &s))
            s = SX_STR("Item");
        sxp_jb_kstr(b, SX_K_TITLE, s);
        sxp_jb_ki64(b, SX_K_QUANTITY, qty);
        sxp_jb_ki64(b, SX_K_UNIT_PRICE_MINOR, unit);
        sxp_jb_ki64(b, SX_K_TOTAL_MINOR, total);
        d = n_det > 0 ? detail_of(h, details, n_det, used, oid, rid, pid, aid) : NULL;
        if (d != NULL) {
            /* The row's tax: its order_detail's rate, and the difference of its totals. */
            snprintf(dwhere, sizeof(dwhere), "%s order_detail", rwhere);
            if (percent_ppm(h, h->json_get(d, "tax_rate"), &ppm) != SX_OK)
                return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an unreadable tax_rate",
                               dwhere);
            if ((rc = read_money(cx, d, "total_price_tax_incl", exp, 1, 0, &incl, dwhere)) !=
                    SX_OK ||
                (rc = read_money(cx, d, "total_price_tax_excl", exp, 1, 0, &excl, dwhere)) !=
                    SX_OK)
                return rc;
            if (incl < excl)
                return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has total_price_tax_incl "
                               "below total_price_tax_excl", dwhere);
            sxp_jb_ki64(b, SX_K_TAX_MINOR, incl - excl);
            sxp_jb_key(b, SX_K_TAXES);
            sxp_jb_arr(b);
            sxp_jb_obj(b);
            sxp_jb_ki64(b, SX_K_RATE_PPM, ppm);
            sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, incl - excl);
            sxp_jb_obj_end(b);
            sxp_jb_arr_end(b);
        }
        sxp_jb_obj_end(b);
    }
    return SX_OK;
}

/* An order total pair: `key`_tax_excl, and its tax (`key`_tax_incl - excl). */
static int
read_pair(sx_ctx *cx, const sx_json *o, const char *incl_key, const char *excl_key, int exp,
          const char *where, int64_t *excl, int64_t *tax)
{
    int64_t incl;
    int     rc;

    if ((rc = read_money(cx, o, excl_key, exp, 1, 0, excl, where)) != SX_OK ||
        (rc = read_money(cx, o, incl_key, exp, 1, 0, &incl, where)) != SX_OK)
        return rc;
    if (incl < *excl)
        return cx->host->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has %s below %s", where,
                              incl_key, excl_key);
    *tax = incl - *excl;
    return SX_OK;
}

/*
 * Order slips (credit slips, the resource order_slip) as refunds, written as a JSON array
 * into `rb` (its own buffer: the sum decides financial_status, written before the refunds).
 * A slip gives back its products and its shipping, tax included (total_products_tax_incl +
 * total_shipping_tax_incl); a slip of PrestaShop 1.5, without those totals, its amount and
 * shipping_cost_amount. Slips of other orders (a page handed whole) and slips that give
 * nothing back are left out; a slip without an id, listed twice, or with unreadable money
 * or date refuses the order. *sum: what the slips give back in all.
 */
static int
map_slips(sx_ctx *cx, const sx_json *slips, int64_t oid, int exp, int utc_offset_min,
          const char *where, struct sxp_buf *rb, int64_t *sum)
{
    const sx_host_api *h = cx->host;
    int64_t           *seen;
    char               swhere[112];
    size_t             i, k, n, n_seen = 0;
    int                rc;

    *sum = 0;
    sxp_jb_arr(rb);
    if ((rc = check_arr(cx, slips, "order slips", where, &n)) != SX_OK)
        return rc;
    seen = h->alloc(cx, (n > 0 ? n : 1) * sizeof(*seen));
    if (seen == NULL)
        return h->fail(cx, SX_E_LIMIT, "PrestaShop %s: out of memory", where);
    for (i = 0; i < n; i++) {
        const sx_json *sl = h->json_at(slips, i);
        int64_t        sid, owner, prod, ship, amount;
        sx_str         lid;

        if (h->json_type(sl) != SX_JSON_OBJECT || !get_id(h, sl, "id", &sid) ||
            !id_str(cx, sid, &lid))
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an order slip without an id",
                           where);
        if (get_id(h, sl, "id_order", &owner) && owner != oid)
            continue;
        snprintf(swhere, sizeof(swhere), "%s order slip " SX_STR_FMT, where, SX_STR_ARG(lid));
        for (k = 0; k < n_seen; k++) {
            if (seen[k] == sid)
                return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s is listed twice", swhere);
        }
        seen[n_seen++] = sid;
        if ((rc = read_money(cx, sl, "total_products_tax_incl", exp, 0, 0, &prod, swhere)) !=
                SX_OK ||
            (rc = read_money(cx, sl, "total_shipping_tax_incl", exp, 0, 0, &ship, swhere)) !=
                SX_OK)
            return rc;
        if (prod == 0 && ship == 0 &&
            ((rc = read_money(cx, sl, "amount", exp, 0, 0, &prod, swhere)) != SX_OK ||
             (rc = read_money(cx, sl, "shipping_cost_amount", exp, 0, 0, &ship, swhere)) !=
                 SX_OK))
            return rc;
        amount = prod;
        if (!add64(&amount, ship) || !add64(sum, amount))
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has an amount out of range",
                           swhere);
        if (amount == 0)
            continue;                  /* nothing given back: no refund */
        sxp_jb_obj(rb);
        sxp_jb_kstr(rb, SX_K_EXTERNAL_ID, lid);
        sxp_jb_ki64(rb, SX_K_AMOUNT_MINOR, amount);
        if ((rc = put_local(rb, cx, sl, "date_add", SX_K_CREATED_AT, utc_offset_min, swhere)) !=
                SX_OK)
            return rc;
        sxp_jb_obj_end(rb);
    }
    sxp_jb_arr_end(rb);
    return finish(rb, cx, where);
}

int
presta_map_order(sx_ctx *cx, const sx_json *o, const sx_json *details, const sx_json *slips,
                 sx_str currency, int utc_offset_min, struct sxp_buf *b)
{
    const sx_host_api *h = cx->host;
    const char        *status, *fin;
    struct sxp_buf     rb;
    char               where[64];
    sx_str             id, s, refunds = SX_STR_NULL;
    int64_t            oid, ms, state = 0, subtotal, discount, disc_tax, shipping, ship_tax;
    int64_t            total_excl, tax, total, refunded = 0;
    int                rc, exp;

    if ((rc = record_id(cx, o, "order", &oid, &id)) != SX_OK)
        return rc;
    snprintf(where, sizeof(where), "order " SX_STR_FMT, SX_STR_ARG(id));
    if (!currency_ok(currency))
        return h->fail(cx, SX_E_INVALID, "the currency of PrestaShop %s is unknown", where);
    exp = sx_currency_exponent(currency);
    if ((rc = record_modified(cx, o, utc_offset_min, where, &ms)) != SX_OK)
        return rc;
    if (!get_id(h, o, "current_state", &state))
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop %s has no readable current_state", where);
    /* platforms.md 3.2: totals both ways. Canonical amounts are tax-excluded, tax apart. */
    if ((rc = read_money(cx, o, "total_products", exp, 1, 0, &subtotal, where)) != SX_OK ||
        (rc = read_pair(cx, o, "total_discounts_tax_incl", "total_discounts_tax_excl", exp,
                        where, &discount, &disc_tax)) != SX_OK ||
        (rc = read_pair(cx, o, "total_shipping_tax_incl", "total_shipping_tax_excl", exp,
                        where, &shipping, &ship_tax)) != SX_OK ||
        (rc = read_pair(cx, o, "total_paid_tax_incl", "total_paid_tax_excl", exp, where,
                        &total_excl, &tax)) != SX_OK)
        return rc;
    total = total_excl + tax;          /* total_paid_tax_incl, read above without overflow */
    order_state(h, o, state, &status, &fin);
    if (slips != NULL) {
        sxp_buf_init(&rb, cx);
        if ((rc = map_slips(cx, slips, oid, exp, utc_offset_min, where, &rb, &refunded)) !=
                SX_OK ||
            (rc = sxp_buf_done(&rb, &refunds)) != SX_OK)
            return rc;
    }
    /* Money given back by slips: a paid order is refunded in part, or in whole when the
     * slips reach its total. The merchant's "Refunded" state (7) stays refunded whatever
     * the slips add up to; unpaid and cancelled orders keep their state's word. */
    if (refunded > 0 && (strcmp(fin, "paid") == 0 || strcmp(fin, "refunded") == 0))
        fin = refunded >= total || state == 7 ? "refunded" : "partially_refunded";

    sxp_jb_obj(b);
    sxp_jb_kstr(b, SX_K_EXTERNAL_ID, id);
    if ((rc = put_ms(b, cx, SX_K_UPDATED_AT, ms)) != SX_OK ||
        (rc = put_local(b, cx, o, "date_add", SX_K_CREATED_AT, utc_offset_min, where)) != SX_OK)
        return rc;
    if (sxp_get_nonempty(h, o, "reference", &s))
        sxp_jb_kstr(b, SX_K_NUMBER, s);
    sxp_jb_kstr(b, SX_K_STATUS, sx_cstr(status));
    sxp_jb_kstr(b, SX_K_FINANCIAL_STATUS, sx_cstr(fin));
    /* No cancellation time of its own: the last change is when it was cancelled. */
    if (strcmp(status, "cancelled") == 0 && (rc = put_ms(b, cx, SX_K_CANCELLED_AT, ms)) != SX_OK)
        return rc;
    sxp_jb_kstr(b, SX_K_CURRENCY, currency);
    sxp_jb_key(b, SX_K_TAXES_INCLUDED);
    sxp_jb_bool(b, 0);
    if (id_text(cx, o, "id_customer", &s)) {
        sxp_jb_key(b, SX_K_CUSTOMER);
        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_EXTERNAL_ID, s);
        sxp_jb_obj_end(b);
    }

    sxp_jb_key(b, SX_K_LINES);
    sxp_jb_arr(b);
    if ((rc = put_rows(b, cx, o, oid, details, exp, where)) != SX_OK)
        return rc;
    sxp_jb_arr_end(b);

    /* Cart rules come as one total; their codes are in order_cart_rules, not read here. */
    sxp_jb_key(b, SX_K_DISCOUNTS);
    sxp_jb_arr(b);
    if (discount > 0) {
        sxp_jb_obj(b);
        sxp_jb_key(b, SX_K_CODE);
        sxp_jb_null(b);
        sxp_jb_kstr(b, SX_K_TITLE, SX_STR("Discount"));
        sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, discount);
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);
    sxp_jb_key(b, SX_K_SHIPPING);
    sxp_jb_arr(b);
    if (shipping > 0 || ship_tax > 0) {
        sxp_jb_obj(b);
        sxp_jb_kstr(b, SX_K_TITLE, SX_STR("Shipping"));
        sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, shipping);
        sxp_jb_ki64(b, SX_K_TAX_MINOR, ship_tax);
        sxp_jb_obj_end(b);
    }
    sxp_jb_arr_end(b);

    /* PrestaShop's refunds are order slips (when the listing could read them): one refund
     * each. A refunded order (state 7) without any slip, or whose slips could not be read, is
     * one refund of the whole amount, dated by the order's last change; its id is derived
     * from the order's, so it is stable. */
    if (refunded > 0) {
        sxp_jb_key(b, SX_K_REFUNDS);
        sxp_jb_json(b, refunds);
        sxp_jb_ki64(b, SX_K_REFUNDED_MINOR, refunded);
    } else if (state == 7) {
        char rid[40];
        int  len = snprintf(rid, sizeof(rid), SX_STR_FMT "-refund", SX_STR_ARG(id));

        sxp_jb_key(b, SX_K_REFUNDS);
        sxp_jb_arr(b);
        if (total > 0) {
            sxp_jb_obj(b);
            sxp_jb_kstr(b, SX_K_EXTERNAL_ID, (sx_str){ rid, (size_t)len });
            sxp_jb_ki64(b, SX_K_AMOUNT_MINOR, total);
            if ((rc = put_ms(b, cx, SX_K_CREATED_AT, ms)) != SX_OK)
                return rc;
            sxp_jb_obj_end(b);
        }
        sxp_jb_arr_end(b);
        sxp_jb_ki64(b, SX_K_REFUNDED_MINOR, total);
    }
    /* The platform's totals are authoritative (MODEL.md 5). Not sent: an order-level taxes[]
     * (PrestaShop takes the discounts' tax off per rate in ways the order does not itemise;
     * each line carries its own), and gift wrapping (total_wrapping_*), which is in the
     * totals but has no line: such an order's total exceeds the sum of its parts. */
    sxp_jb_ki64(b, SX_K_SUBTOTAL_MINOR, subtotal);
    sxp_jb_ki64(b, SX_K_DISCOUNT_MINOR, discount);
    sxp_jb_ki64(b, SX_K_SHIPPING_MINOR, shipping);
    sxp_jb_ki64(b, SX_K_TAX_MINOR, tax);
    sxp_jb_ki64(b, SX_K_TOTAL_MINOR, total);
    (void)disc_tax;                    /* already out of total_paid_tax_incl - excl */
    if ((rc = put_raw(b, cx, o)) != SX_OK)
        return rc;
    sxp_jb_obj_end(b);
    return finish(b, cx, where);
}
