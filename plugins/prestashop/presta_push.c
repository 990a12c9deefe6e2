/*
 * PrestaShop connector: export of customers and products (platforms.md 3.2). Writes are XML
 * built with libxml2 from the shop's own documents: an update starts from the record as the
 * shop returns it (GET <resource>/<id>), so every field the shop requires keeps its value and
 * PUT replaces the record with only our fields changed; a create starts from `?schema=blank`.
 * The answer is the record as written, whose id and date_upd go to the mapping store.
 *
 * Products: the name (in language_id, and in every language still empty on a create), the
 * description, the reference, the tax-excluded price and the active flag of the product
 * itself. A product with combinations is written as its parent only (prices of combinations
 * are impacts; they are not exported yet), and stock (stock_availables) is not exported.
 */
#include "presta_internal.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* GET <api>/<rest>[?query] as XML, parsed (no network, no entities). */
static int
xml_get(sx_ctx *cx, const char *rest, const char *query, xmlDocPtr *out)
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
        return h->fail(cx, rc, "PrestaShop has no %s any more", rest);
    if (rc != SX_OK)
        return rc;
    if (resp->body.len == 0 || resp->body.len > PRESTA_XML_MAX ||
        (*out = xmlReadMemory(resp->body.ptr, (int)resp->body.len, NULL, "UTF-8",
                              XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                              XML_PARSE_NOWARNING)) == NULL)
        return h->fail(cx, SX_E_TRANSIENT, "PrestaShop's %s answer is not XML", rest);
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

/* Serialize `doc` and send it; parse the answer into the JSON shape (*rec = the record). */
static int
xml_send(sx_ctx *cx, uint32_t method, const char *rest, xmlDocPtr doc, const char *single,
         const sx_json **rec)
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
        return h->fail(cx, SX_E_NOMEM, "cannot write the %s XML", single);
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
            return h->fail(cx, rc, "PrestaShop refused the %s: " SX_STR_FMT, single,
                           SX_STR_ARG(msg));
        return h->fail(cx, rc, "PrestaShop refused the %s", single);
    }
    if (rc != SX_OK)
        return rc;
    sxp_buf_init(&conv, cx);
    if (presta_xml_to_json(resp->body.ptr, resp->body.len, &conv, &why) != SX_OK ||
        sxp_buf_done(&conv, &text) != SX_OK || h->json_parse(cx, text, &doc_json) != SX_OK ||
        h->json_type(*rec = h->json_get(doc_json, single)) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop answered the %s write without the "
                       "record (%s)", single, why != NULL ? why : "no record");
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
        rc = xml_get(cx, rest, NULL, &doc);
    } else {
        rc = xml_get(cx, "customers", "schema=blank", &doc);
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
                  id.len > 0 ? rest : "customers", doc, "customer", &rec);
    xmlFreeDoc(doc);
    if (rc != SX_OK)
        return rc;
    return result(cx, rec, res);
}

/* minor units -> PrestaShop's decimal string with `exp` decimals ("19.990000" style: 6). */
static sx_str
price_text(sx_ctx *cx, int64_t minor, int exp)
{
    char   *s = cx->host->alloc(cx, 40);
    int64_t div = 1;
    int     i;

    if (s == NULL)
        return SX_STR_NULL;
    for (i = 0; i < exp; i++)
        div *= 10;
    if (exp == 0)
        snprintf(s, 40, "%lld.000000", (long long)minor);
    else
        snprintf(s, 40, "%lld.%0*lld", (long long)(minor / div), exp,
                 (long long)((minor < 0 ? -minor : minor) % div));
    return sx_cstr(s);
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
    int64_t             price;
    char                rest[64];
    int                 rc, create;

    if (h->json_parse(cx, json, &canon) != SX_OK || h->json_type(canon) != SX_JSON_OBJECT)
        return h->fail(cx, SX_E_INVALID, "the canonical product is not a JSON object");
    if ((rc = canon_id(cx, canon, &id)) != SX_OK)
        return rc;
    create = id.len == 0;
    variants = h->json_get(canon, SX_K_VARIANTS);
    if (create && h->json_length(variants) > 1)
        return h->fail(cx, SX_E_REJECTED, "a product with %zu variants cannot be created from "
                       "Simplix: PrestaShop needs its attributes; create it in the shop, then "
                       "it syncs", h->json_length(variants));
    if (create) {
        rc = xml_get(cx, "products", "schema=blank", &doc);
    } else {
        snprintf(rest, sizeof(rest), "products/%.*s", (int)id.len, id.ptr);
        rc = xml_get(cx, rest, NULL, &doc);
    }
    if (rc != SX_OK)
        return rc;
    el = record_of(doc, "product");
    if (el == NULL) {
        xmlFreeDoc(doc);
        return h->fail(cx, SX_E_PROTOCOL, "PrestaShop's product document has no <product>");
    }
    rc = SX_OK;
    if (h->json_string(h->json_get(canon, SX_K_TITLE), &v) == SX_OK && v.len > 0)
        rc = set_lang(el, "name", st->lang_id, v, create);
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_DESCRIPTION), &v) == SX_OK &&
        child(el, "description") != NULL)
        rc = set_lang(el, "description", st->lang_id, v, 0);
    if (rc == SX_OK && h->json_string(h->json_get(canon, SX_K_STATUS), &v) == SX_OK)
        rc = set_text(el, "active", sx_str_eq_cstr(v, "active") ? SX_STR("1") : SX_STR("0"));
    /* The product's own price and reference come from its only variant. */
    v0 = h->json_length(variants) == 1 ? h->json_at(variants, 0) : NULL;
    if (rc == SX_OK && v0 != NULL && h->json_int64(h->json_get(v0, SX_K_PRICE_MINOR), &price) ==
        SX_OK) {
        if (price < 0)
            rc = h->fail(cx, SX_E_REJECTED, "a negative price cannot be exported");
        else if (h->json_string(h->json_get(canon, SX_K_CURRENCY), &cur) != SX_OK ||
                 sx_currency_exponent(cur) < 0)
            rc = h->fail(cx, SX_E_INVALID, "the product has no currency");
        else
            rc = set_text(el, "price", price_text(cx, price, sx_currency_exponent(cur)));
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
    rc = xml_send(cx, create ? SX_HTTP_POST : SX_HTTP_PUT, create ? "products" : rest, doc,
                  "product", &rec);
    xmlFreeDoc(doc);
    if (rc != SX_OK)
        return rc;
    return result(cx, rec, res);
}
