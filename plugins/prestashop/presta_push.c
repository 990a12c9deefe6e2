/*
 * PrestaShop connector: export of customers and products (platforms.md 3.2). Writes are XML
 * built with libxml2 from the shop's own documents: an update starts from the record as the
 * shop returns it (GET <resource>/<id>), so every field the shop requires keeps its value and
 * PUT replaces the record with only our fields changed; a create starts from `?schema=blank`.
 * The answer is the record as written, whose id and date_upd go to the mapping store.
 *
 * Products: the name (in language_id, and in every language still empty on a create, where
 * link_rewrite, the URL slug the shop requires, is made from it), the description, the
 * active flag, and, for a simple product (no combinations in the shop), the reference and
 * tax-excluded price of its only variant. Then, on an update:
 *  - a simple product: the variant's `stock` goes to the product's stock_available
 *    (id_product_attribute 0);
 *  - a product with combinations: each canonical variant whose external_id is
 *    "<product>-<combination>" (presta_map.c's variant ids) writes its combination's `price`
 *    (an impact: the variant's tax-excluded price minus the product's base price, as the
 *    import reads the base) and `reference` (the SKU), and its `stock` to the combination's
 *    stock_available. The product's own price and reference are left alone.
 * A variant without `stock` leaves the shop's stock alone (not tracked, MODEL.md 4). The
 * shop's combinations and stock_availables are read in one listing each (filter[id_product],
 * the import's order: the first stock_available of an attribute is the one, as in the
 * import); only the records whose values differ are rewritten (GET, then PUT), so a product
 * whose stock and combinations are unchanged costs those reads and no writes but its own PUT.
 * They are written BEFORE the product's PUT: its answer's date_upd is the last write of the
 * push, so the import that reads the product back recognises the whole push as ours.
 * A refusal of any of these writes fails the push with a sentence naming the record
 * ("PrestaShop refused stock_available 12 of product 3: ..."), so the engine logs or retries it.
 *
 * On a create (POST), the shop makes the product's stock_available itself (it cannot be
 * POSTed); the variant's stock is then written to it. If that write fails, the push fails
 * with res->external_id set: the engine keeps the mapping (without a content hash), so its
 * retry updates the product just created, stock included, instead of creating another.
 *
 * Not done: creating combinations from Simplix (a product with several variants cannot be
 * created, and a variant Simplix adds to an existing product is not written: PrestaShop
 * needs its attributes); a canonical variant whose combination is gone from the shop is left
 * out (the next import archives it); a product without a stock_available for an attribute
 * keeps no stock (logged); per-shop stock in a multishop (the first entry is written, as the
 * import reads it). Money is written exactly from minor units (money_text, no floating
 * point) with six decimals, PrestaShop's own format.
 */
#include "presta_internal.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* A stock beyond this is refused: the import reads no more (presta_map.c PRESTA_MAX_QTY). */
#define PUSH_MAX_QTY    100000000
/* "-92233720368547758.080000": sign, 20 digits, point, six decimals, NUL. */
#define MONEY_TEXT_MAX  32

/* GET <api>/<rest>[?query] as XML, parsed (no network, no entities). `what` names the record
 * in the failure sentences (NULL: `rest`). */
static int
xml_get(sx_ctx *cx, const char *rest, const char *query, const char *what, xmlDocPtr *out)
{
    const sx_host_api  *h = cx->host;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    const char         *url = presta_url(cx, rest);
    int                 rc;

    *out = NULL;
    if (url == NULL)
        return SX_E_LIMIT;
    hr.url = sx_cstr(url);
    hr.query = sx_cstr(query != NULL ? query : "");
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_NOT_FOUND)
        return h->fail(cx, rc, "PrestaShop has no %s any more", what != NULL ? what : rest);
    if (rc != SX_OK)
        return rc;
    if (resp->body.len == 0 || resp->body.len > PRESTA_XML_MAX ||
        (*out = xmlReadMemory(resp->body.ptr, (int)resp->body.len, NULL, "UTF-8",
                              XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                              XML_PARSE_NOWARNING)) == NULL)
        return h->fail(cx, SX_E_TRANSIENT, "PrestaShop's %s answer is not XML",
                       what != NULL ? what : rest);
    return SX_OK;
}

static xmlNodePtr
child(xmlNodePtr parent, const char *name)
{
    xmlNodePtr c;

    for (c = parent != NULL ? parent->children : NULL; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
            return c;
    }
    return NULL;
}

/* The <resource> element under <prestashop>. */
static xmlNodePtr
record_of(xmlDocPtr doc, const char *single)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);

    if (root == NULL || xmlStrcmp(root->name, BAD_CAST "prestashop") != 0)
        return NULL;
    return child(root, single);
}

/* Replace an element's content with `value` as CDATA (creating the element when absent). */
static int
set_text(xmlNodePtr rec, const char *name, sx_str value)
{
    xmlNodePtr el = child(rec, name), cd;

    if (el == NULL && (el = xmlNewChild(rec, NULL, BAD_CAST name, NULL)) == NULL)
        return SX_E_NOMEM;
    while (el->children != NULL) {
        xmlNodePtr c = el->children;

        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    cd = xmlNewCDataBlock(el->doc, BAD_CAST value.ptr, (int)value.len);
    if (cd == NULL)
        return SX_E_NOMEM;
    xmlAddChild(el, cd);
    return SX_OK;
}

/* A multilingual field: `value` in language `lang` (and, with `fill_empty`, in every language
 * that has no text yet: the shop requires its default language). */
static int
set_lang(xmlNodePtr rec, const char *name, int lang, sx_str value, int fill_empty)
{
    xmlNodePtr el = child(rec, name), l;
    char       want[16];
    int        done = 0;

    if (el == NULL)
        return SX_E_NOT_FOUND;
    snprintf(want, sizeof(want), "%d", lang);
    for (l = el->children; l != NULL; l = l->next) {
        xmlChar *id, *text;
        int      mine, empty;

        if (l->type != XML_ELEMENT_NODE || xmlStrcmp(l->name, BAD_CAST "language") != 0)
            continue;
        id = xmlGetProp(l, BAD_CAST "id");
        text = xmlNodeGetContent(l);
        mine = id != NULL && xmlStrcmp(id, BAD_CAST want) == 0;
        empty = text == NULL || text[0] == '\0';
        xmlFree(id);
        xmlFree(text);
        if (mine || (fill_empty && empty)) {
            xmlNodePtr cd;

            while (l->children != NULL) {
                xmlNodePtr c = l->children;

                xmlUnlinkNode(c);
                xmlFreeNode(c);
            }
            cd = xmlNewCDataBlock(l->doc, BAD_CAST value.ptr, (int)value.len);
            if (cd == NULL)
                return SX_E_NOMEM;
            xmlAddChild(l, cd);
            done |= mine;
        }
    }
    if (!done) {
        /* The shop lists no such language in this record: add it. */
        xmlNodePtr cd;

        l = xmlNewChild(el, NULL, BAD_CAST "language", NULL);
        if (l == NULL || xmlNewProp(l, BAD_CAST "id", BAD_CAST want) == NULL)
            return SX_E_NOMEM;
        cd = xmlNewCDataBlock(l->doc, BAD_CAST value.ptr, (int)value.len);
        if (cd == NULL)
            return SX_E_NOMEM;
        xmlAddChild(l, cd);
    }
    return SX_OK;
}

/* Serialize `doc` and send it; parse the answer into the JSON shape (*rec = the record).
 * `what` names the record in the failure sentences ("the product", "stock_available 12 of
 * product 3"). */
static int
xml_send(sx_ctx *cx, uint32_t method, const char *rest, xmlDocPtr doc, const char *single,
         const char *what, const sx_json **rec)
{
    const sx_host_api  *h = cx->host;
    const sx_http_resp *resp = NULL;
    sx_http_req         hr = SX_HTTP_REQ_INIT;
    struct sxp_buf      conv;
    const sx_json      *doc_json;
    xmlChar            *mem = NULL;
    const char         *why = NULL, *url = presta_url(cx, rest);
    sx_str              text, msg;
    char               *body;
    int                 len = 0, rc;

    if (url == NULL)
        return SX_E_LIMIT;
    xmlDocDumpMemoryEnc(doc, &mem, &len, "UTF-8");
    if (mem == NULL || len <= 0)
        return h->fail(cx, SX_E_NOMEM, "cannot write the XML of %s", what);
    body = h->alloc(cx, (size_t)len + 1);
    if (body == NULL) {
        xmlFree(mem);
        return SX_E_LIMIT;
    }
    memcpy(body, mem, (size_t)len);
    xmlFree(mem);
    hr.method = method;
    hr.url = sx_cstr(url);
    hr.body = (sx_str){ body, (size_t)len };
    hr.content_type = SX_STR("application/xml");
    if (method == SX_HTTP_POST)
        hr.flags = SX_HTTP_NO_RETRY;        /* a resent create would duplicate */
    rc = h->http(cx, &hr, &resp);
    if (rc == SX_E_REJECTED && resp != NULL) {
        /* <errors><error><code>85</code><message>Validation error: ...</message></error> */
        sxp_buf_init(&conv, cx);
        if (presta_xml_to_json(resp->body.ptr, resp->body.len, &conv, &why) == SX_OK &&
            sxp_buf_done(&conv, &text) == SX_OK && h->json_parse(cx, text, &doc_json) == SX_OK &&
            h->json_string(h->json_get(h->json_at(h->json_get(doc_json, "errors"), 0),
                                       "message"), &msg) == SX_OK)
            return h->fail(cx, rc, "PrestaShop refused %s: " SX_STR_FMT, what,
                           SX_STR_ARG(msg));
        return h->fail(cx, rc, "PrestaShop refused %s (HTTP %u)", what, resp->status);
    }
    if (rc == SX_E_NOT_FOUND)
        return h->fail(cx, rc, "PrestaShop answered 404 Not Found to the write of %s", what);
    if (rc != SX_OK)
        return rc;
    sxp_buf_init(&conv, cx);
    if (presta_xml_to_json(resp->body.ptr, resp->body.len, &conv, &why) != SX_OK ||
        sxp_buf_done(&conv, &text) != SX_OK || h->json_parse(cx, text, &doc_json) != SX_OK ||
        h->json_type(*rec = h->json_get(doc_json, single)) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop answered the write of %s without the "
                       "record (%s)", what, why != NULL ? why : "no record");
    return SX_OK;
}

static int
result(sx_ctx *cx, const sx_json *rec, sx_push_res *res)
{
    const sx_host_api  *h = cx->host;
    struct presta_inst *st = cx->state;
    sx_str              d;
    int64_t             id;
    char               *ids;

    if (h->json_int64(h->json_get(rec, "id"), &id) != SX_OK || id <= 0)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop's written record has no id");
    ids = h->alloc(cx, 24);
    if (ids == NULL)
        return SX_E_LIMIT;
    snprintf(ids, 24, "%lld", (long long)id);
    res->external_id = sx_cstr(ids);
    if (h->json_string(h->json_get(rec, "date_upd"), &d) == SX_OK)
        (void)presta_local_ms(d, st->utc_offset_min, &res->external_updated_at);
    return SX_OK;
}

/*
 * The record as the import will read it, handed to the engine with the push's result so that
 * it can tell the push coming back from a merchant's edit made within the same second
 * (PrestaShop keeps date_upd to the second). Read after the push's last write; kept only when
 * its date_upd is the one that write answered: a later one means the record changed since,
 * and the import will take that change for an edit anyway. A failed read costs nothing but
 * that distinction (the engine then takes any record with the push's time for its echo), so
 * it is logged and the push stands.
 */
static int text_int(const char *s, size_t len, int64_t *out);

static void
read_back(sx_ctx *cx, uint32_t entity, sx_push_res *res)
{
    const sx_host_api *h = cx->host;
    sx_str             canon;
    int64_t            id, ms = 0;
    int                rc;

    if (!text_int(res->external_id.ptr, res->external_id.len, &id) || id <= 0)
        return;
    rc = presta_read_back(cx, entity, id, &canon, &ms);
    if (rc != SX_OK) {
        h->log(cx, SX_LOG_WARN, "PrestaShop: %s %lld was written but could not be read back "
               "(%s); an edit made in the shop within the same second would be taken for "
               "this push's echo", sx_entity_name(entity), (long long)id, sx_status_name(rc));
        return;
    }
    if (ms == res->external_updated_at)
        res->canonical_json = canon;
}

/* The canonical external_id: absent (create) or a PrestaShop id. */
static int
canon_id(sx_ctx *cx, const sx_json *canon, sx_str *id)
{
    const sx_host_api *h = cx->host;
    size_t             i;

    *id = SX_STR_NULL;
    if (h->json_type(h->json_get(canon, SX_K_EXTERNAL_ID)) != SX_JSON_STRING)
        return SX_OK;
    (void)h->json_string(h->json_get(canon, SX_K_EXTERNAL_ID), id);
    for (i = 0; i < id->len; i++) {
        if (id->ptr[i] < '0' || id->ptr[i] > '9' || id->len > 19)
            return h->fail(cx, SX_E_INVALID, "external_id \"" SX_STR_FMT "\" is not a "
                           "PrestaShop id", SX_STR_ARG(*id));
    }
    return SX_OK;
}

int
presta_push_customer(sx_ctx *cx, sx_str json, sx_push_res *res)
{
    const sx_host_api *h = cx->host;
    const sx_json     *canon, *rec;
    xmlDocPtr          doc = NULL;
    xmlNodePtr         el;
    sx_str             id, v;
    char               rest[64];
    int                rc;

    if (h->json_parse(cx, json, &canon) != SX_OK || h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "the canonical customer is not a JSON object");
    if ((rc = canon_id(cx, canon, &id)) != SX_OK)
        return rc;
    if (id.len > 0) {
        snprintf(rest, sizeof(rest), "customers/%.*s", (int)id.len, id.ptr);
        rc = xml_get(cx, rest, NULL, NULL, &doc);
    } else {
        rc = xml_get(cx, "customers", "schema=blank", NULL, &doc);
    }
    if (rc != SX_OK)
        return rc;
    el = record_of(doc, "customer");
    if (el == NULL) {
        xmlFreeDoc(doc);
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop's customer document has no <customer>");
    }
    rc = SX_OK;
    if (h->json_string(h->json_get(canon, SX_K_FIRST_NAME), &v) == SX_OK && v.len > 0)
        rc = set_text(el, "firstname", v);
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_LAST_NAME), &v) == SX_OK &&
        v.len > 0)
        rc = set_text(el, "lastname", v);
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_EMAIL), &v) == SX_OK && v.len > 0)
        rc = set_text(el, "email", v);
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_COMPANY_NAME), &v) == SX_OK)
        rc = set_text(el, "company", v);
    if (rc == SX_OK && id.len == 0) {
        /* A new customer: the shop requires a password (the customer resets it) and names. */
        uint8_t rnd[16];
        sx_str  hex;

        if (h->json_string(h->json_get(canon, SX_K_EMAIL), &v) != SX_OK || v.len == 0)
            rc = h->fail(cx, SX_E_REJECTED, "PrestaShop needs an email to create a customer");
        else if (h->random_bytes(rnd, sizeof(rnd)) != SX_OK ||
                 h->hex_encode(cx, rnd, sizeof(rnd), &hex) != SX_OK)
            rc = h->fail(cx, SX_E_INTERNAL, "no random password");
        else
            rc = set_text(el, "passwd", hex);
        if (rc == SX_OK) {
            xmlChar *fn = xmlNodeGetContent(child(el, "firstname"));
            xmlChar *ln = xmlNodeGetContent(child(el, "lastname"));

            if (fn == NULL || fn[0] == '\0')
                rc = set_text(el, "firstname", SX_STR("-"));
            if (rc == SX_OK && (ln == NULL || ln[0] == '\0'))
                rc = set_text(el, "lastname", SX_STR("-"));
            xmlFree(fn);
            xmlFree(ln);
        }
        if (rc == SX_OK)
            rc = set_text(el, "active", SX_STR("1"));
        /* Only the Webservice sets the id on a create. */
        if (rc == SX_OK && child(el, "id") != NULL) {
            xmlNodePtr idn = child(el, "id");

            xmlUnlinkNode(idn);
            xmlFreeNode(idn);
        }
    }
    if (rc != SX_OK) {
        xmlFreeDoc(doc);
        return rc == SX_E_NOMEM ? h->fail(cx, rc, "out of memory") : rc;
    }
    rc = xml_send(cx, id.len > 0 ? SX_HTTP_PUT : SX_HTTP_POST,
                  id.len > 0 ? rest : "customers", doc, "customer", "the customer", &rec);
    xmlFreeDoc(doc);
    if (rc != SX_OK || (rc = result(cx, rec, res)) != SX_OK)
        return rc;
    read_back(cx, SX_ENTITY_CUSTOMER, res);
    return SX_OK;
}

/* ---- money ----------------------------------------------------------------------------------- */

/*
 * `minor` units of a currency with `exp` decimals (0..6) as PrestaShop writes money: six
 * decimals, "-12.340000". Exact for every int64_t (no floating point). SX_OK, or SX_E_INVALID
 * for an exponent outside 0..6. Pure; writes out[MONEY_TEXT_MAX].
 */
static int
money_text(int64_t minor, int exp, char out[MONEY_TEXT_MAX])
{
    uint64_t mag, div = 1, frac;
    int      i;

    if (exp < 0 || exp > 6)
        return SX_E_INVALID;
    for (i = 0; i < exp; i++)
        div *= 10;
    mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    frac = mag % div;
    for (i = exp; i < 6; i++)
        frac *= 10;
    snprintf(out, MONEY_TEXT_MAX, "%s%llu.%06llu", minor < 0 ? "-" : "",
             (unsigned long long)(mag / div), (unsigned long long)frac);
    return SX_OK;
}

/*
 * The price impact, in minor units, that gives a combination the full price `price` on a
 * product whose base price is `base` (PrestaShop's decimal text): price - base, the base read
 * as the import reads it (presta_map.c: sx_money_parse, rounded half away from zero to the
 * currency), so the import's base + impact is `price` again. SX_OK, SX_E_INVALID (the base
 * is not a decimal) or SX_E_LIMIT (out of range). Pure.
 */
static int
impact_minor(int64_t price, sx_str base, int exp, int64_t *out)
{
    int64_t b;

    if (sx_money_parse(base, exp, 1, &b) != SX_OK)
        return SX_E_INVALID;
    if (__builtin_sub_overflow(price, b, out))
        return SX_E_LIMIT;
    return SX_OK;
}

/* A decimal integer ("12", "-3", at most 18 digits): 1 with *out set, else 0. Pure. */
static int
text_int(const char *s, size_t len, int64_t *out)
{
    int64_t v = 0;
    size_t  i = 0;
    int     neg = 0;

    if (len > 0 && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == len || len - i > 18)
        return 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return 1;
}

/*
 * The combination id of a canonical variant id "<pid>-<combination>" (presta_map.c's ids for
 * the combinations of product `pid`): 1 with *cid set, 0 for any other id. Pure.
 */
static int
combination_of(sx_str ext, sx_str pid, int64_t *cid)
{
    if (pid.len == 0 || ext.len <= pid.len + 1 || memcmp(ext.ptr, pid.ptr, pid.len) != 0 ||
        ext.ptr[pid.len] != '-')
        return 0;
    return text_int(ext.ptr + pid.len + 1, ext.len - pid.len - 1, cid) && *cid > 0;
}

/*
 * A product's link_rewrite (its URL slug, which PrestaShop requires) from its title, into
 * out[cap]: ASCII letters and digits in lower case, every other run of bytes one '-', at
 * most cap - 1 bytes; "product" when nothing is left. Pure.
 */
static sx_str
slug_of(sx_str title, char *out, size_t cap)
{
    size_t i, n = 0;

    for (i = 0; i < title.len && n + 1 < cap; i++) {
        char c = title.ptr[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[n++] = c;
        else if (n > 0 && out[n - 1] != '-')
            out[n++] = '-';
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    if (n == 0)
        n = (size_t)snprintf(out, cap, "product");
    out[n] = '\0';
    return (sx_str){ out, n };
}

/* ---- reading the shop's records (XML trees) -------------------------------------------------- */

/* The integer text of `rec`'s child `name`: 1 with *out set, else 0. */
static int
field_int(xmlNodePtr rec, const char *name, int64_t *out)
{
    xmlNodePtr el = child(rec, name);
    xmlChar   *t;
    int        ok;

    if (el == NULL || (t = xmlNodeGetContent(el)) == NULL)
        return 0;
    ok = text_int((const char *)t, strlen((const char *)t), out);
    xmlFree(t);
    return ok;
}

/* The text of `rec`'s child `name` in the call arena ("" when absent). SX_OK or SX_E_LIMIT. */
static int
field_text(sx_ctx *cx, xmlNodePtr rec, const char *name, sx_str *out)
{
    xmlNodePtr el = child(rec, name);
    xmlChar   *t;
    size_t     len;
    char      *s;

    *out = SX_STR("");
    if (el == NULL || (t = xmlNodeGetContent(el)) == NULL)
        return SX_OK;
    len = strlen((const char *)t);
    s = cx->host->alloc(cx, len + 1);
    if (s == NULL) {
        xmlFree(t);
        return SX_E_LIMIT;
    }
    memcpy(s, t, len + 1);
    xmlFree(t);
    *out = (sx_str){ s, len };
    return SX_OK;
}

/* The product has combinations: associations/combinations lists one with an id (a
 * `?schema=blank` template lists an empty one). */
static int
has_combinations(xmlNodePtr prod)
{
    xmlNodePtr list = child(child(prod, "associations"), "combinations"), c;
    int64_t    id;
    size_t     n = 0;

    for (c = list != NULL ? list->children : NULL; c != NULL && n < PRESTA_MAX_ITEMS;
         c = c->next, n++) {
        if (c->type == XML_ELEMENT_NODE && field_int(c, "id", &id) && id > 0)
            return 1;
    }
    return 0;
}

/* The records of `resource` that belong to product `pid`, as the import lists them
 * (display=full, filter[id_product]): *doc to free with xmlFreeDoc, *list its <resource>. */
static int
product_list(sx_ctx *cx, const char *resource, int64_t pid, xmlDocPtr *doc, xmlNodePtr *list)
{
    const sx_host_api *h = cx->host;
    char               q[96];
    int                rc;

    snprintf(q, sizeof(q), "display=full&filter[id_product]=[%lld]&limit=0,%d", (long long)pid,
             PRESTA_MAX_ITEMS);
    rc = xml_get(cx, resource, q, NULL, doc);
    if (rc != SX_OK)
        return rc;
    *list = record_of(*doc, resource);
    if (*list == NULL) {
        xmlFreeDoc(*doc);
        *doc = NULL;
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop's %s of product %lld have no <%s>",
                       resource, (long long)pid, resource);
    }
    return SX_OK;
}

/* The first record of `list` whose `key` is `want` and whose id_product, when it says one, is
 * `pid` (the import's rule: the first stock_available of an attribute is the one). */
static xmlNodePtr
find_in(xmlNodePtr list, const char *key, int64_t want, int64_t pid)
{
    xmlNodePtr r;
    int64_t    v;
    size_t     n = 0;

    for (r = list->children; r != NULL && n < PRESTA_MAX_ITEMS; r = r->next) {
        if (r->type != XML_ELEMENT_NODE)
            continue;
        n++;
        if (!field_int(r, key, &v) || v != want)
            continue;
        if (field_int(r, "id_product", &v) && v != pid)
            continue;
        return r;
    }
    return NULL;
}

/* ---- writing the product's stock and combinations -------------------------------------------- */

/*
 * Rewrite a record the shop already has: GET <resource>/<id>, the `n` fields set, PUT back
 * (the shop's own document keeps every field it requires). `what` names the record in every
 * failure sentence ("stock_available 12 of product 3"). SX_OK or a code after fail().
 */
static int
put_fields(sx_ctx *cx, const char *resource, const char *single, int64_t id, const char *what,
           const char *const *names, const sx_str *values, size_t n)
{
    const sx_host_api *h = cx->host;
    const sx_json     *rec;
    xmlDocPtr          doc = NULL;
    xmlNodePtr         el;
    char               rest[64];
    size_t             i;
    int                rc;

    snprintf(rest, sizeof(rest), "%s/%lld", resource, (long long)id);
    rc = xml_get(cx, rest, NULL, what, &doc);
    if (rc == SX_OK) {
        el = record_of(doc, single);
        if (el == NULL) {
            xmlFreeDoc(doc);
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop's document of %s has no <%s>", what,
                           single);
        }
        for (i = 0; i < n && rc == SX_OK; i++)
            rc = set_text(el, names[i], values[i]);
        if (rc != SX_OK) {
            xmlFreeDoc(doc);
            return h->fail(cx, rc, "out of memory writing %s", what);
        }
        rc = xml_send(cx, SX_HTTP_PUT, rest, doc, single, what, &rec);
        xmlFreeDoc(doc);
    }
    if (rc == SX_E_AUTH)
        return h->fail(cx, rc, "PrestaShop refused the Webservice key for %s: give it GET and "
                       "PUT on %s", what, resource);
    return rc;
}

/*
 * The stock of product `pid` (combination `attr`, 0 for the product itself) set to `qty` in
 * its stock_available from `stocks` when the shop's quantity differs. A product the shop keeps
 * no stock_available for is left alone, logged (platforms.md 3.2: none can be POSTed).
 */
static int
write_stock(sx_ctx *cx, xmlNodePtr stocks, int64_t pid, int64_t attr, int64_t qty)
{
    static const char *const names[] = { "quantity" };
    const sx_host_api       *h = cx->host;
    xmlNodePtr               sa;
    int64_t                  cur, sid;
    char                     what[96], num[24];
    sx_str                   val;

    if (qty < -PUSH_MAX_QTY || qty > PUSH_MAX_QTY)
        return h->fail(cx, SX_E_REJECTED, "a stock of %lld cannot be exported to PrestaShop "
                       "(at most %d)", (long long)qty, PUSH_MAX_QTY);
    sa = find_in(stocks, "id_product_attribute", attr, pid);
    if (sa == NULL) {
        h->log(cx, SX_LOG_WARN, "PrestaShop product %lld has no stock_available for "
               "combination %lld: its stock is not exported", (long long)pid, (long long)attr);
        return SX_OK;
    }
    if (field_int(sa, "quantity", &cur) && cur == qty)
        return SX_OK;                          /* unchanged: no write */
    if (!field_int(sa, "id", &sid) || sid <= 0)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop lists a stock_available of product %lld "
                       "without an id", (long long)pid);
    if (attr == 0)
        snprintf(what, sizeof(what), "stock_available %lld of product %lld", (long long)sid,
                 (long long)pid);
    else
        snprintf(what, sizeof(what), "stock_available %lld of product %lld, combination %lld",
                 (long long)sid, (long long)pid, (long long)attr);
    snprintf(num, sizeof(num), "%lld", (long long)qty);
    val = sx_cstr(num);
    return put_fields(cx, "stock_availables", "stock_available", sid, what, names, &val, 1);
}

/* One canonical variant onto combination `comb` (as the shop lists it) of product `pid`:
 * the price impact on `base` (the product's price text) and the reference, when they differ. */
static int
write_combination(sx_ctx *cx, xmlNodePtr comb, const sx_json *v, int64_t pid, int64_t cid,
                  sx_str base, int exp)
{
    const sx_host_api *h = cx->host;
    const char        *names[2];
    sx_str             vals[2], cur, sku;
    char               what[80], text[MONEY_TEXT_MAX];
    int64_t            price, impact, now;
    size_t             n = 0;
    int                rc;

    snprintf(what, sizeof(what), "combination %lld of product %lld", (long long)cid,
             (long long)pid);
    if (h->json_int64(h->json_get(v, SX_K_PRICE_MINOR), &price) == SX_OK) {
        if (price < 0)
            return h->fail(cx, SX_E_REJECTED, "a negative price cannot be exported (%s)", what);
        if (exp < 0)
            return h->fail(cx, SX_E_INVALID, "the product has no currency");
        rc = impact_minor(price, base, exp, &impact);
        if (rc == SX_E_INVALID)
            return h->fail(cx, SX_E_PROTOCOL, "PrestaShop product %lld has an unreadable price",
                           (long long)pid);
        if (rc != SX_OK || money_text(impact, exp, text) != SX_OK)
            return h->fail(cx, SX_E_REJECTED, "the price of %s is out of range", what);
        if ((rc = field_text(cx, comb, "price", &cur)) != SX_OK)
            return rc;
        /* The same amount written differently ("1.5", "1.500000") is no change. */
        if (sx_money_parse(cur, exp, 1, &now) != SX_OK || now != impact) {
            names[n] = "price";
            vals[n++] = sx_cstr(text);
        }
    }
    if (h->json_string(h->json_get(v, SX_K_SKU), &sku) == SX_OK) {
        if ((rc = field_text(cx, comb, "reference", &cur)) != SX_OK)
            return rc;
        if (!sx_str_eq(cur, sku)) {
            names[n] = "reference";
            vals[n++] = sku;
        }
    }
    if (n == 0)
        return SX_OK;                          /* unchanged: no write */
    return put_fields(cx, "combinations", "combination", cid, what, names, vals, n);
}

/* The listings of one product's records, read when first needed. */
struct shop_lists {
    xmlDocPtr  comb_doc, stock_doc;
    xmlNodePtr combs, stocks;
};

static int
need_stocks(sx_ctx *cx, struct shop_lists *l, int64_t pid)
{
    if (l->stock_doc != NULL)
        return SX_OK;
    return product_list(cx, "stock_availables", pid, &l->stock_doc, &l->stocks);
}

static int
need_combs(sx_ctx *cx, struct shop_lists *l, int64_t pid)
{
    if (l->comb_doc != NULL)
        return SX_OK;
    return product_list(cx, "combinations", pid, &l->comb_doc, &l->combs);
}

/*
 * The stock and combinations of product `pid` (its id text `id`, its document `prod` as the
 * shop has it) from the canonical `variants`. `combos`: the shop's product has combinations;
 * `exp` the currency's exponent (-1 when unknown). SX_OK or a code after fail().
 */
static int
push_variants(sx_ctx *cx, sx_str id, int64_t pid, xmlNodePtr prod, const sx_json *variants,
              int combos, int exp)
{
    const sx_host_api *h = cx->host;
    struct shop_lists  l = { NULL, NULL, NULL, NULL };
    size_t             i, n = h->json_length(variants);
    sx_str             base = SX_STR_NULL, ext;
    int64_t            qty, cid;
    int                rc = SX_OK;

    if (n > PRESTA_MAX_ITEMS)
        return h->fail(cx, SX_E_REJECTED, "a product with %zu variants is more than the "
                       "PrestaShop connector writes (%d)", n, PRESTA_MAX_ITEMS);
    if (!combos) {
        /* A simple product: its only variant's stock is the product's (attribute 0). */
        const sx_json *v0 = n == 1 ? h->json_at(variants, 0) : NULL;

        if (v0 != NULL && h->json_int64(h->json_get(v0, SX_K_STOCK), &qty) == SX_OK &&
            (rc = need_stocks(cx, &l, pid)) == SX_OK)
            rc = write_stock(cx, l.stocks, pid, 0, qty);
        goto out;
    }
    if ((rc = field_text(cx, prod, "price", &base)) != SX_OK)
        goto out;
    for (i = 0; i < n && rc == SX_OK; i++) {
        const sx_json *v = h->json_at(variants, i);
        xmlNodePtr     comb;

        if (h->json_string(h->json_get(v, SX_K_EXTERNAL_ID), &ext) != SX_OK ||
            !combination_of(ext, id, &cid))
            continue;                          /* not one of the shop's combinations */
        if ((rc = need_combs(cx, &l, pid)) != SX_OK)
            break;
        comb = find_in(l.combs, "id", cid, pid);
        if (comb == NULL)
            continue;                          /* gone from the shop: the import archives it */
        rc = write_combination(cx, comb, v, pid, cid, base, exp);
        if (rc == SX_OK && h->json_int64(h->json_get(v, SX_K_STOCK), &qty) == SX_OK &&
            (rc = need_stocks(cx, &l, pid)) == SX_OK)
            rc = write_stock(cx, l.stocks, pid, cid, qty);
    }
out:
    xmlFreeDoc(l.comb_doc);
    xmlFreeDoc(l.stock_doc);
    return rc;
}

int
presta_push_product(sx_ctx *cx, sx_str json, sx_push_res *res)
{
    const sx_host_api  *h = cx->host;
    struct presta_inst *st = cx->state;
    const sx_json      *canon, *rec, *variants, *v0;
    xmlDocPtr           doc = NULL;
    xmlNodePtr          el;
    sx_str              id, v, cur;
    int64_t             price, pid = 0, qty;
    char                rest[64], text[MONEY_TEXT_MAX], slug[129];
    int                 rc, create, combos, exp = -1;

    if (h->json_parse(cx, json, &canon) != SX_OK || h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "the canonical product is not a JSON object");
    if ((rc = canon_id(cx, canon, &id)) != SX_OK)
        return rc;
    create = id.len == 0;
    if (!create && (!text_int(id.ptr, id.len, &pid) || pid <= 0))
        return h->fail(cx, SX_E_INVALID, "external_id \"" SX_STR_FMT "\" is not a PrestaShop "
                       "id", SX_STR_ARG(id));
    variants = h->json_get(canon, SX_K_VARIANTS);
    if (create && h->json_length(variants) > 1)
        return h->fail(cx, SX_E_REJECTED, "a product with %zu variants cannot be created from "
                       "Simplix: PrestaShop needs its attributes; create it in the shop, then "
                       "it syncs", h->json_length(variants));
    if (h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur) == SX_OK && cur.len == 3)
        exp = sx_currency_exponent(cur);
    if (create) {
        rc = xml_get(cx, "products", "schema=blank", NULL, &doc);
    } else {
        snprintf(rest, sizeof(rest), "products/%.*s", (int)id.len, id.ptr);
        rc = xml_get(cx, rest, NULL, NULL, &doc);
    }
    if (rc != SX_OK)
        return rc;
    el = record_of(doc, "product");
    if (el == NULL) {
        xmlFreeDoc(doc);
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop's product document has no <product>");
    }
    combos = !create && has_combinations(el);
    rc = SX_OK;
    if (h->json_string(h->json_get(canon, SX_K_TITLE), &v) == SX_OK && v.len > 0) {
        rc = set_lang(el, "name", st->lang_id, v, create);
        /* A new product needs its URL slug in every language (an empty one is refused). */
        if (rc == SX_OK && create && child(el, "link_rewrite") != NULL)
            rc = set_lang(el, "link_rewrite", st->lang_id, slug_of(v, slug, sizeof(slug)), 1);
    }
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_DESCRIPTION), &v) == SX_OK &&
        child(el, "description") != NULL)
        rc = set_lang(el, "description", st->lang_id, v, 0);
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_STATUS), &v) == SX_OK)
        rc = set_text(el, "active", sx_str_eq_cstr(v, "active") ? SX_STR("1") : SX_STR("0"));
    /* A simple product's own price and reference come from its only variant; a product with
     * combinations keeps its base price (the variants' prices are the combinations' impacts
     * on it, written by push_variants). */
    v0 = !combos && h->json_length(variants) == 1 ? h->json_at(variants, 0) : NULL;
    if (rc == SX_OK && v0 != NULL && h->json_int64(h->json_get(v0, SX_K_PRICE_MINOR), &price) ==
        SX_OK) {
        if (price < 0)
            rc = h->fail(cx, SX_E_REJECTED, "a negative price cannot be exported");
        else if (exp < 0)
            rc = h->fail(cx, SX_E_INVALID, "the product has no currency");
        else if (money_text(price, exp, text) != SX_OK)
            rc = h->fail(cx, SX_E_INVALID, "the product's currency has no usable exponent");
        else
            rc = set_text(el, "price", sx_cstr(text));
    }
    if (rc == SX_OK && v0 != NULL && h->json_string(h->json_get(v0, SX_K_SKU), &v) == SX_OK)
        rc = set_text(el, "reference", v);
    if (rc == SX_OK && create && child(el, "id") != NULL) {
        xmlNodePtr idn = child(el, "id");

        xmlUnlinkNode(idn);
        xmlFreeNode(idn);
    }
    if (rc != SX_OK) {
        xmlFreeDoc(doc);
        return rc == SX_E_NOMEM ? h->fail(cx, rc, "out of memory") : rc;
    }
    /* An update: stock and combinations first, so the product's PUT is the push's last write
     * and its date_upd the one the import will read back. */
    if (!create && (rc = push_variants(cx, id, pid, el, variants, combos, exp)) != SX_OK) {
        xmlFreeDoc(doc);
        return rc;
    }
    rc = xml_send(cx, create ? SX_HTTP_POST : SX_HTTP_PUT, create ? "products" : rest, doc,
                  "product", "the product", &rec);
    xmlFreeDoc(doc);
    if (rc != SX_OK)
        return rc;
    if ((rc = result(cx, rec, res)) != SX_OK)
        return rc;
    if (!create) {
        read_back(cx, SX_ENTITY_PRODUCT, res);
        return SX_OK;
    }
    /* A create: the shop made the product's stock_available (quantity 0); the stock goes
     * there. The product exists now: a failure fails the push with res->external_id set,
     * which the engine keeps as the mapping (its retry is an update, not a second create). */
    if (v0 != NULL && h->json_int64(h->json_get(v0, SX_K_STOCK), &qty) == SX_OK &&
        text_int(res->external_id.ptr, res->external_id.len, &pid)) {
        struct shop_lists l = { NULL, NULL, NULL, NULL };
        int               src = need_stocks(cx, &l, pid);

        if (src == SX_OK)
            src = write_stock(cx, l.stocks, pid, 0, qty);
        xmlFreeDoc(l.stock_doc);
        if (src != SX_OK) {
            /* write_stock's own sentence (naming the stock_available) is the push's error. */
            h->log(cx, SX_LOG_WARN, "PrestaShop product %lld was created but its stock (%lld) "
                   "was not written (%s); the engine keeps the mapping and the retry writes it",
                   (long long)pid, (long long)qty, sx_status_name(src));
            return src;
        }
    }
    read_back(cx, SX_ENTITY_PRODUCT, res);
    return SX_OK;
}
