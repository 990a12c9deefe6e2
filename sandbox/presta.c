/*
 * PrestaShop imitation: the Webservice under /api/ (platforms.md 3.1-3.3). Key as the Basic
 * user (empty password) or ?ws_key=; XML by default (written and parsed with libxml2), JSON
 * with output_format=JSON (or io_format, or the Output-Format/Io-Format headers);
 * display=full|[a,b], filter[field]=[x|y] / [x,y] / [x] / [x]% / %[x] / %[x]% / value,
 * date=1 required for date filters (400 otherwise), sort=[f_ASC,g_DESC], limit=N or
 * limit=offset,count (no total: a short page ends), ?schema=blank|synopsis, POST (create)
 * and PUT (update) of XML bodies validated against the resource's fields, DELETE. No webhooks.
 */
#include "presta.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlwriter.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define PS_MAX_FILTERS 16
#define PS_MAX_SORT    8

/* ------------------------------------------------------------------ options, lifecycle */

static int
opt_key(struct sbx_platform *p, const char *v)
{
    struct ps_state *st = p->state;

    if (strlen(v) == 0 || strlen(v) >= sizeof(st->key)) {
        fprintf(stderr, "--presta-key: 1 to %zu characters\n", sizeof(st->key) - 1);
        return -1;
    }
    snprintf(st->key, sizeof(st->key), "%s", v);
    return 0;
}

static int
opt_offset(struct sbx_platform *p, const char *v)
{
    struct ps_state *st = p->state;
    int64_t          t;
    char             buf[48];

    if ((v[0] != '+' && v[0] != '-') || strlen(v) != 6 ||
        snprintf(buf, sizeof(buf), "2024-01-01T00:00:00%s", v) >= (int)sizeof(buf) ||
        sbx_time_parse(buf, 0, &t) < 0) {
        fprintf(stderr, "--presta-utc-offset: expected +HH:MM or -HH:MM\n");
        return -1;
    }
    st->utc_offset_min = (int)((1704067200LL - t) / 60);
    return 0;
}

static const struct sbx_option presta_options[] = {
    {"presta-key", "KEY",
     "Webservice key, Basic user or ?ws_key= (default UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX, the "
     "devdocs example)", opt_key},
    {"presta-utc-offset", "+HH:MM",
     "shop time zone of the naive date_add/date_upd values (default +01:00)", opt_offset},
    {NULL, NULL, NULL, NULL}
};

static int
presta_create(struct sbx_platform *p)
{
    struct ps_state *st = calloc(1, sizeof(*st));

    if (st == NULL)
        return -1;
    snprintf(st->key, sizeof(st->key), "UCCLLQ9N2ARSHWCXLT74KUKSSK34BFKX");
    st->utc_offset_min = 60;
    ps_init_schema(st);
    p->state = st;
    return 0;
}

static int
presta_start(struct sbx_platform *p)
{
    return ps_seed(p, p->state);
}

static void
presta_destroy(struct sbx_platform *p)
{
    struct ps_state *st = p->state;

    if (st == NULL)
        return;
    ps_free_data(st);
    free(st);
    p->state = NULL;
}

static int
presta_reset(struct sbx_platform *p)
{
    ps_free_data(p->state);
    return ps_seed(p, p->state);
}

static void
presta_state(struct sbx_platform *p, struct sbx_jw *w)
{
    struct ps_state *st = p->state;
    size_t           i;
    size_t           j;
    size_t           live;

    sbx_jw_ki64(w, "utc_offset_min", st->utc_offset_min);
    for (i = 0; i < PS_NRES; i++) {
        for (j = 0, live = 0; j < st->res[i].nrows; j++)
            live += !st->res[i].rows[j].gone;
        sbx_jw_ki64(w, st->res[i].name, (int64_t)live);
    }
}

/* ------------------------------------------------------------------ output */

struct out {
    struct sbx_platform *p;
    struct ps_state     *st;
    struct sbx_resp     *resp;
    bool                 json;
    xmlBufferPtr         xbuf;
    xmlTextWriterPtr     xw;
    struct sbx_jw        jw;
};

static int
out_begin(struct out *o)
{
    if (o->json) {
        sbx_resp_header(o->resp, "Content-Type", "application/json;charset=utf-8");
        sbx_jw_init(&o->jw, o->resp->body);
        return 0;
    }
    sbx_resp_header(o->resp, "Content-Type", "text/xml;charset=utf-8");
    o->xbuf = xmlBufferCreate();
    if (o->xbuf == NULL)
        return -1;
    o->xw = xmlNewTextWriterMemory(o->xbuf, 0);
    if (o->xw == NULL) {
        xmlBufferFree(o->xbuf);
        o->xbuf = NULL;
        return -1;
    }
    xmlTextWriterStartDocument(o->xw, "1.0", "UTF-8", NULL);
    xmlTextWriterStartElement(o->xw, BAD_CAST "prestashop");
    xmlTextWriterWriteAttribute(o->xw, BAD_CAST "xmlns:xlink",
                                BAD_CAST "http://www.w3.org/1999/xlink");
    return 0;
}

static void
out_end(struct out *o)
{
    if (o->json) {
        sbx_jw_flush(&o->jw);
        return;
    }
    xmlTextWriterEndDocument(o->xw);
    xmlFreeTextWriter(o->xw);
    o->xw = NULL;
    evbuffer_add(o->resp->body, xmlBufferContent(o->xbuf), (size_t)xmlBufferLength(o->xbuf));
    xmlBufferFree(o->xbuf);
    o->xbuf = NULL;
}

/* The Webservice's error document: <errors><error><code/><message/></error></errors>. */
static void
ps_error(struct sbx_platform *p, struct ps_state *st, struct sbx_resp *resp, bool json,
         int status, int code, const char *msg)
{
    struct out o = {p, st, resp, json, NULL, NULL, {0}};

    evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
    resp->status = status;
    if (out_begin(&o) < 0) {
        sbx_resp_printf(resp, "error");
        return;
    }
    if (json) {
        sbx_jw_obj(&o.jw);
        sbx_jw_key(&o.jw, "errors");
        sbx_jw_arr(&o.jw);
        sbx_jw_obj(&o.jw);
        sbx_jw_ki64(&o.jw, "code", code);
        sbx_jw_kstr(&o.jw, "message", msg);
        sbx_jw_obj_end(&o.jw);
        sbx_jw_arr_end(&o.jw);
        sbx_jw_obj_end(&o.jw);
    } else {
        char c[16];

        snprintf(c, sizeof(c), "%d", code);
        xmlTextWriterStartElement(o.xw, BAD_CAST "errors");
        xmlTextWriterStartElement(o.xw, BAD_CAST "error");
        xmlTextWriterStartElement(o.xw, BAD_CAST "code");
        xmlTextWriterWriteCDATA(o.xw, BAD_CAST c);
        xmlTextWriterEndElement(o.xw);
        xmlTextWriterStartElement(o.xw, BAD_CAST "message");
        xmlTextWriterWriteCDATA(o.xw, BAD_CAST msg);
        xmlTextWriterEndElement(o.xw);
        xmlTextWriterEndElement(o.xw);
        xmlTextWriterEndElement(o.xw);
    }
    out_end(&o);
}

static void
xml_cdata(xmlTextWriterPtr xw, const char *s)
{
    /* "]]>" inside a value would end the section: split it as PHP's writers do. */
    const char *hit = strstr(s, "]]>");

    if (hit == NULL) {
        xmlTextWriterWriteCDATA(xw, BAD_CAST s);
        return;
    }
    xmlTextWriterWriteString(xw, BAD_CAST s);
}

static void
xml_href(struct out *o, const char *res, const char *id)
{
    char buf[160];

    snprintf(buf, sizeof(buf), "%s/api/%s/%s", o->p->base_url, res, id);
    xmlTextWriterWriteAttribute(o->xw, BAD_CAST "xlink:href", BAD_CAST buf);
}

static void
xml_field(struct out *o, const struct ps_res *r, const struct ps_row *row, size_t i,
          bool blank)
{
    const struct ps_field *f = &r->f[i];
    char                   idbuf[24];
    const char            *v;

    xmlTextWriterStartElement(o->xw, BAD_CAST f->name);
    if (f->ml) {
        int l;

        for (l = 1; l <= 2; l++) {
            snprintf(idbuf, sizeof(idbuf), "%d", l);
            xmlTextWriterStartElement(o->xw, BAD_CAST "language");
            xmlTextWriterWriteAttribute(o->xw, BAD_CAST "id", BAD_CAST idbuf);
            if (!blank) {
                xml_href(o, "languages", idbuf);
                xml_cdata(o->xw, l == 1 ? ps_v(o->st, r, row, i) : ps_v2(o->st, r, row, i));
            }
            xmlTextWriterEndElement(o->xw);
        }
        xmlTextWriterEndElement(o->xw);
        return;
    }
    if (blank) {
        xmlTextWriterEndElement(o->xw);
        return;
    }
    if (f->type == PS_ID) {
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, row->id);
        v = idbuf;
    } else {
        v = ps_v(o->st, r, row, i);
    }
    if (f->link != NULL && v[0] != '\0' && strcmp(v, "0") != 0)
        xml_href(o, f->link, v);
    xml_cdata(o->xw, v);
    xmlTextWriterEndElement(o->xw);
}

static void
json_field(struct out *o, const struct ps_res *r, const struct ps_row *row, size_t i)
{
    const struct ps_field *f = &r->f[i];

    if (f->type == PS_ID) {
        sbx_jw_ki64(&o->jw, "id", row->id);
        return;
    }
    if (f->ml) {
        /* platforms.md 3.2: [{"id":"1","value":".."}] */
        sbx_jw_key(&o->jw, f->name);
        sbx_jw_arr(&o->jw);
        sbx_jw_obj(&o->jw);
        sbx_jw_kstr(&o->jw, "id", "1");
        sbx_jw_kstr(&o->jw, "value", ps_v(o->st, r, row, i));
        sbx_jw_obj_end(&o->jw);
        sbx_jw_obj(&o->jw);
        sbx_jw_kstr(&o->jw, "id", "2");
        sbx_jw_kstr(&o->jw, "value", ps_v2(o->st, r, row, i));
        sbx_jw_obj_end(&o->jw);
        sbx_jw_arr_end(&o->jw);
        return;
    }
    sbx_jw_kstr(&o->jw, f->name, ps_v(o->st, r, row, i));
}

/* Child rows of an association: the seeded range plus rows created later. */
static void
assoc_rows(const struct ps_state *st, struct ps_res *child, const struct ps_row *parent, int which, const char *fk,
           struct ps_row **out, size_t cap, size_t *n)
{
    int    fi = ps_field_index(child, fk);
    char   idbuf[24];
    size_t i;

    *n = 0;
    if (fi < 0)
        return;
    for (i = parent->a_first[which]; i < parent->a_first[which] + parent->a_n[which] &&
                                     i < child->nrows && *n < cap; i++) {
        if (!child->rows[i].gone)
            out[(*n)++] = &child->rows[i];
    }
    snprintf(idbuf, sizeof(idbuf), "%" PRId64, parent->id);
    for (i = child->seeded; i < child->nrows && *n < cap; i++) {
        if (!child->rows[i].gone && strcmp(ps_v(st, child, &child->rows[i], (size_t)fi),
                                           idbuf) == 0)
            out[(*n)++] = &child->rows[i];
    }
}

/*
 * A combination's associations: its option values by id, <product_option_values
 * nodeType="product_option_value" api="product_option_values"> of <product_option_value
 * xlink:href=".."><id>..</id></product_option_value> in XML, [{"id":".."}] in JSON. JSON
 * leaves an association without items out (and then <associations> itself).
 */
static void
write_option_values(struct out *o, const struct ps_row *row)
{
    const struct ps_links *l = &o->st->links;
    size_t                 i;
    size_t                 n = row->a_first[0] + (size_t)row->a_n[0] <= l->npav ? row->a_n[0] : 0;
    char                   idbuf[24];

    if (o->json) {
        if (n == 0)
            return;
        sbx_jw_key(&o->jw, "associations");
        sbx_jw_obj(&o->jw);
        sbx_jw_key(&o->jw, "product_option_values");
        sbx_jw_arr(&o->jw);
        for (i = 0; i < n; i++) {
            snprintf(idbuf, sizeof(idbuf), "%" PRId64, l->pav[row->a_first[0] + i]);
            sbx_jw_obj(&o->jw);
            sbx_jw_kstr(&o->jw, "id", idbuf);
            sbx_jw_obj_end(&o->jw);
        }
        sbx_jw_arr_end(&o->jw);
        sbx_jw_obj_end(&o->jw);
        return;
    }
    xmlTextWriterStartElement(o->xw, BAD_CAST "associations");
    xmlTextWriterStartElement(o->xw, BAD_CAST "product_option_values");
    xmlTextWriterWriteAttribute(o->xw, BAD_CAST "nodeType", BAD_CAST "product_option_value");
    xmlTextWriterWriteAttribute(o->xw, BAD_CAST "api", BAD_CAST "product_option_values");
    for (i = 0; i < n; i++) {
        snprintf(idbuf, sizeof(idbuf), "%" PRId64, l->pav[row->a_first[0] + i]);
        xmlTextWriterStartElement(o->xw, BAD_CAST "product_option_value");
        xml_href(o, "product_option_values", idbuf);
        xmlTextWriterStartElement(o->xw, BAD_CAST "id");
        xml_cdata(o->xw, idbuf);
        xmlTextWriterEndElement(o->xw);
        xmlTextWriterEndElement(o->xw);
    }
    xmlTextWriterEndElement(o->xw);
    xmlTextWriterEndElement(o->xw);
}

/*
 * A slip's lines (OrderSlip's virtual entity order_slip_details: id is the slip's own id,
 * as getWsOrderSlipDetails selects it), in XML and JSON; none for a slip made through POST.
 */
static void
write_slip_details(struct out *o, const struct ps_row *row)
{
    static const char *const cols[] = {"id", "id_order_detail", "product_quantity",
                                       "amount_tax_excl", "amount_tax_incl"};
    const struct ps_links   *l = &o->st->links;
    size_t                   i;
    size_t                   k;
    size_t                   n = row->a_first[0] + (size_t)row->a_n[0] <= l->nsl ? row->a_n[0] : 0;
    char                     v[3][24];

    if (o->json && n == 0)
        return;
    if (o->json) {
        sbx_jw_key(&o->jw, "associations");
        sbx_jw_obj(&o->jw);
        sbx_jw_key(&o->jw, "order_slip_details");
        sbx_jw_arr(&o->jw);
    } else {
        xmlTextWriterStartElement(o->xw, BAD_CAST "associations");
        xmlTextWriterStartElement(o->xw, BAD_CAST "order_slip_details");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "nodeType", BAD_CAST "order_slip_detail");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "virtualEntity", BAD_CAST "true");
    }
    for (i = 0; i < n; i++) {
        const struct ps_slip_line *e = &l->sl[row->a_first[0] + i];
        const char                *vals[5];

        snprintf(v[0], sizeof(v[0]), "%" PRId64, row->id);
        snprintf(v[1], sizeof(v[1]), "%" PRId64, e->id_order_detail);
        snprintf(v[2], sizeof(v[2]), "%" PRId64, e->qty);
        vals[0] = v[0];
        vals[1] = v[1];
        vals[2] = v[2];
        vals[3] = ps_str(o->st, e->excl);
        vals[4] = ps_str(o->st, e->incl);
        if (o->json) {
            sbx_jw_obj(&o->jw);
            for (k = 0; k < NELEM(cols); k++)
                sbx_jw_kstr(&o->jw, cols[k], vals[k]);
            sbx_jw_obj_end(&o->jw);
            continue;
        }
        xmlTextWriterStartElement(o->xw, BAD_CAST "order_slip_detail");
        for (k = 0; k < NELEM(cols); k++) {
            xmlTextWriterStartElement(o->xw, BAD_CAST cols[k]);
            xml_cdata(o->xw, vals[k]);
            xmlTextWriterEndElement(o->xw);
        }
        xmlTextWriterEndElement(o->xw);
    }
    if (o->json) {
        sbx_jw_arr_end(&o->jw);
        sbx_jw_obj_end(&o->jw);
    } else {
        xmlTextWriterEndElement(o->xw);
        xmlTextWriterEndElement(o->xw);
    }
}

static void
write_assoc(struct out *o, enum ps_res_id rid, const struct ps_row *row)
{
    struct ps_state *st = o->st;
    struct ps_row   *kids[256];
    size_t           n;
    size_t           i;
    size_t           k;
    char             idbuf[24];

    if (rid == PS_COMBINATIONS) {
        write_option_values(o, row);
        return;
    }
    if (rid == PS_ORDER_SLIPS) {
        write_slip_details(o, row);
        return;
    }
    if (rid == PS_PRODUCTS) {
        struct ps_res *co = &st->res[PS_COMBINATIONS];
        struct ps_res *sa = &st->res[PS_STOCK];
        int            ipa = ps_field_index(sa, "id_product_attribute");

        if (o->json) {
            sbx_jw_key(&o->jw, "associations");
            sbx_jw_obj(&o->jw);
            assoc_rows(st, co, row, 0, "id_product", kids, NELEM(kids), &n);
            if (n > 0) {
                sbx_jw_key(&o->jw, "combinations");
                sbx_jw_arr(&o->jw);
                for (i = 0; i < n; i++) {
                    snprintf(idbuf, sizeof(idbuf), "%" PRId64, kids[i]->id);
                    sbx_jw_obj(&o->jw);
                    sbx_jw_kstr(&o->jw, "id", idbuf);
                    sbx_jw_obj_end(&o->jw);
                }
                sbx_jw_arr_end(&o->jw);
            }
            assoc_rows(st, sa, row, 1, "id_product", kids, NELEM(kids), &n);
            sbx_jw_key(&o->jw, "stock_availables");
            sbx_jw_arr(&o->jw);
            for (i = 0; i < n; i++) {
                snprintf(idbuf, sizeof(idbuf), "%" PRId64, kids[i]->id);
                sbx_jw_obj(&o->jw);
                sbx_jw_kstr(&o->jw, "id", idbuf);
                sbx_jw_kstr(&o->jw, "id_product_attribute", ps_v(st, sa, kids[i], (size_t)ipa));
                sbx_jw_obj_end(&o->jw);
            }
            sbx_jw_arr_end(&o->jw);
            sbx_jw_obj_end(&o->jw);
            return;
        }
        xmlTextWriterStartElement(o->xw, BAD_CAST "associations");
        xmlTextWriterStartElement(o->xw, BAD_CAST "combinations");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "nodeType", BAD_CAST "combination");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "api", BAD_CAST "combinations");
        assoc_rows(st, co, row, 0, "id_product", kids, NELEM(kids), &n);
        for (i = 0; i < n; i++) {
            snprintf(idbuf, sizeof(idbuf), "%" PRId64, kids[i]->id);
            xmlTextWriterStartElement(o->xw, BAD_CAST "combination");
            xml_href(o, "combinations", idbuf);
            xmlTextWriterStartElement(o->xw, BAD_CAST "id");
            xml_cdata(o->xw, idbuf);
            xmlTextWriterEndElement(o->xw);
            xmlTextWriterEndElement(o->xw);
        }
        xmlTextWriterEndElement(o->xw);
        xmlTextWriterStartElement(o->xw, BAD_CAST "stock_availables");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "nodeType", BAD_CAST "stock_available");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "api", BAD_CAST "stock_availables");
        assoc_rows(st, sa, row, 1, "id_product", kids, NELEM(kids), &n);
        for (i = 0; i < n; i++) {
            snprintf(idbuf, sizeof(idbuf), "%" PRId64, kids[i]->id);
            xmlTextWriterStartElement(o->xw, BAD_CAST "stock_available");
            xml_href(o, "stock_availables", idbuf);
            xmlTextWriterStartElement(o->xw, BAD_CAST "id");
            xml_cdata(o->xw, idbuf);
            xmlTextWriterEndElement(o->xw);
            xmlTextWriterStartElement(o->xw, BAD_CAST "id_product_attribute");
            xml_cdata(o->xw, ps_v(st, sa, kids[i], (size_t)ipa));
            xmlTextWriterEndElement(o->xw);
            xmlTextWriterEndElement(o->xw);
        }
        xmlTextWriterEndElement(o->xw);
        xmlTextWriterEndElement(o->xw);
        return;
    }
    if (rid == PS_ORDERS) {
        static const char *const cols[] = {
            "product_id", "product_attribute_id", "product_quantity", "product_name",
            "product_reference", "product_price", "unit_price_tax_incl", "unit_price_tax_excl"};
        struct ps_res *od = &st->res[PS_ORDER_DETAILS];

        assoc_rows(st, od, row, 0, "id_order", kids, NELEM(kids), &n);
        if (o->json) {
            sbx_jw_key(&o->jw, "associations");
            sbx_jw_obj(&o->jw);
            sbx_jw_key(&o->jw, "order_rows");
            sbx_jw_arr(&o->jw);
            for (i = 0; i < n; i++) {
                snprintf(idbuf, sizeof(idbuf), "%" PRId64, kids[i]->id);
                sbx_jw_obj(&o->jw);
                sbx_jw_kstr(&o->jw, "id", idbuf);
                for (k = 0; k < NELEM(cols); k++)
                    sbx_jw_kstr(&o->jw, cols[k], ps_v(st, od, kids[i], (size_t)ps_field_index(od, cols[k])));
                sbx_jw_obj_end(&o->jw);
            }
            sbx_jw_arr_end(&o->jw);
            sbx_jw_obj_end(&o->jw);
            return;
        }
        xmlTextWriterStartElement(o->xw, BAD_CAST "associations");
        xmlTextWriterStartElement(o->xw, BAD_CAST "order_rows");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "nodeType", BAD_CAST "order_row");
        xmlTextWriterWriteAttribute(o->xw, BAD_CAST "virtualEntity", BAD_CAST "true");
        for (i = 0; i < n; i++) {
            snprintf(idbuf, sizeof(idbuf), "%" PRId64, kids[i]->id);
            xmlTextWriterStartElement(o->xw, BAD_CAST "order_row");
            xmlTextWriterStartElement(o->xw, BAD_CAST "id");
            xml_cdata(o->xw, idbuf);
            xmlTextWriterEndElement(o->xw);
            for (k = 0; k < NELEM(cols); k++) {
                xmlTextWriterStartElement(o->xw, BAD_CAST cols[k]);
                xml_cdata(o->xw, ps_v(st, od, kids[i], (size_t)ps_field_index(od, cols[k])));
                xmlTextWriterEndElement(o->xw);
            }
            xmlTextWriterEndElement(o->xw);
        }
        xmlTextWriterEndElement(o->xw);
        xmlTextWriterEndElement(o->xw);
    }
}

/* One record; `mask` selects fields (NULL: all, with associations). */
static void
write_record(struct out *o, enum ps_res_id rid, const struct ps_row *row, const bool *mask,
             bool blank)
{
    const struct ps_res *r = &o->st->res[rid];
    size_t               i;

    if (o->json) {
        sbx_jw_obj(&o->jw);
        for (i = 0; i < r->nf; i++) {
            if (mask == NULL || mask[i])
                json_field(o, r, row, i);
        }
        if (mask == NULL)
            write_assoc(o, rid, row);
        sbx_jw_obj_end(&o->jw);
        return;
    }
    xmlTextWriterStartElement(o->xw, BAD_CAST r->single);
    for (i = 0; i < r->nf; i++) {
        if (mask == NULL || mask[i])
            xml_field(o, r, row, i, blank);
    }
    if (mask == NULL && !blank)
        write_assoc(o, rid, row);
    xmlTextWriterEndElement(o->xw);
}

/* ------------------------------------------------------------------ queries */

struct filter {
    int          field;
    char         kind;          /* '=' any of vals, '[' interval, 'p' prefix, 's' suffix, 'c' */
    const char  *fixed[2];
    const char **vals;          /* `fixed`, or every value of [a|b|..] (arena): no cap, as
                                   PrestaShop's own (a page's joins OR 100 ids and more) */
    size_t       nvals;
};

struct sortkey {
    int  field;
    bool desc;
};

static bool
numeric(enum ps_type t)
{
    return t == PS_ID || t == PS_INT || t == PS_BOOL || t == PS_MONEY;
}

static const char *
row_val(const struct ps_state *st, const struct ps_res *r, const struct ps_row *row, int i,
        char *buf, size_t cap)
{
    if (r->f[i].type == PS_ID) {
        snprintf(buf, cap, "%" PRId64, row->id);
        return buf;
    }
    return ps_v(st, r, row, (size_t)i);
}

static int
cmp_vals(enum ps_type t, const char *a, const char *b)
{
    if (numeric(t)) {
        char  *ea;
        char  *eb;
        double x = strtod(a, &ea);
        double y = strtod(b, &eb);

        if (*ea == '\0' && *eb == '\0' && a[0] != '\0' && b[0] != '\0')
            return x < y ? -1 : x > y ? 1 : 0;
    }
    return strcmp(a, b);
}

static bool
filter_match(const struct ps_state *st, const struct ps_res *r, const struct ps_row *row,
             const struct filter *f)
{
    char        buf[24];
    const char *v = row_val(st, r, row, f->field, buf, sizeof(buf));
    const char *v2 = r->f[f->field].ml && r->vals2 != NULL
                   ? ps_v2(st, r, row, (size_t)f->field) : NULL;
    size_t      i;
    int         pass;

    for (pass = 0; pass < 2; pass++, v = v2) {
        if (v == NULL)
            break;
        switch (f->kind) {
        case '[':
            if (cmp_vals(r->f[f->field].type, v, f->vals[0]) >= 0 &&
                cmp_vals(r->f[f->field].type, v, f->vals[1]) <= 0)
                return true;
            break;
        case 'p':
            if (strncasecmp(v, f->vals[0], strlen(f->vals[0])) == 0)
                return true;
            break;
        case 's': {
            size_t lv = strlen(v);
            size_t lf = strlen(f->vals[0]);

            if (lv >= lf && strcasecmp(v + lv - lf, f->vals[0]) == 0)
                return true;
            break;
        }
        case 'c': {
            /* Case-insensitive ASCII "contains". */
            size_t lf = strlen(f->vals[0]);
            size_t k;

            for (k = 0; v[k] != '\0'; k++) {
                if (strncasecmp(v + k, f->vals[0], lf) == 0)
                    return true;
            }
            break;
        }
        default:
            for (i = 0; i < f->nvals; i++) {
                if (numeric(r->f[f->field].type) ? cmp_vals(r->f[f->field].type, v,
                                                             f->vals[i]) == 0
                                                 : strcasecmp(v, f->vals[i]) == 0)
                    return true;
            }
        }
    }
    return false;
}

static void
field_list(const struct ps_res *r, bool dates, char *buf, size_t cap)
{
    size_t i;
    size_t len = 0;

    buf[0] = '\0';
    for (i = 0; i < r->nf && len < cap; i++) {
        if (!dates && r->f[i].type == PS_DATE)
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s\"%s\"", len ? ", " : "",
                                r->f[i].name);
    }
}

/* Splits "[a|b]" / "[a,b]" / "[a]%" ... into the filter; values point into the arena. */
static int
parse_filter(struct sbx_req *req, const char *raw, struct filter *f)
{
    size_t len = strlen(raw);
    char  *s;
    char  *inner;
    char  *end;
    char   sep;

    f->kind = '=';
    f->vals = f->fixed;
    f->nvals = 0;
    if (len == 0 || raw[0] != '[') {
        if (len > 0 && raw[0] == '%' && raw[1] == '[') {
            s = sbx_arena_strdup(req->arena, raw + 2);
            if (s == NULL)
                return -1;
            end = strrchr(s, ']');
            if (end == NULL)
                return -1;
            f->kind = end[1] == '%' ? 'c' : 's';
            *end = '\0';
            f->vals[f->nvals++] = s;
            return 0;
        }
        f->vals[f->nvals++] = raw;
        return 0;
    }
    s = sbx_arena_strdup(req->arena, raw + 1);
    if (s == NULL)
        return -1;
    end = strrchr(s, ']');
    if (end == NULL)
        return -1;
    if (end[1] == '%') {
        f->kind = 'p';
        *end = '\0';
        f->vals[f->nvals++] = s;
        return 0;
    }
    if (end[1] != '\0')
        return -1;
    *end = '\0';
    sep = strchr(s, '|') != NULL ? '|' : strchr(s, ',') != NULL ? ',' : '\0';
    if (sep == ',') {
        f->kind = '[';
        inner = strchr(s, ',');
        *inner = '\0';
        f->vals[0] = s;
        f->vals[1] = inner + 1;
        f->nvals = 2;
        return 0;
    }
    if (sep == '|') {
        size_t n = 1;

        for (inner = s; (inner = strchr(inner, '|')) != NULL; inner++)
            n++;
        f->vals = sbx_arena_alloc(req->arena, n * sizeof(*f->vals));
        if (f->vals == NULL)
            return -1;
    }
    while (s != NULL) {
        inner = sep ? strchr(s, sep) : NULL;
        if (inner != NULL)
            *inner++ = '\0';
        f->vals[f->nvals++] = s;
        s = inner;
    }
    return 0;
}

static const struct ps_state *sort_st;
static const struct ps_res *sort_res;
static const struct sortkey *sort_keys;
static size_t sort_n;

static int
row_cmp(const void *a, const void *b)
{
    const struct ps_row *x = *(const struct ps_row *const *)a;
    const struct ps_row *y = *(const struct ps_row *const *)b;
    size_t               i;
    char                 b1[24];
    char                 b2[24];

    for (i = 0; i < sort_n; i++) {
        int c = cmp_vals(sort_res->f[sort_keys[i].field].type,
                         row_val(sort_st, sort_res, x, sort_keys[i].field, b1, sizeof(b1)),
                         row_val(sort_st, sort_res, y, sort_keys[i].field, b2, sizeof(b2)));

        if (c != 0)
            return sort_keys[i].desc ? -c : c;
    }
    return x->id < y->id ? -1 : x->id > y->id ? 1 : 0;
}

static int
parse_sort(const struct ps_res *r, struct sbx_req *req, const char *raw, struct sortkey *keys,
           size_t *n)
{
    char *s = sbx_arena_strdup(req->arena, raw);
    char *tok;
    char *next;
    char *us;
    int   fi;

    *n = 0;
    if (s == NULL)
        return -1;
    if (s[0] == '[') {
        size_t l = strlen(s);

        if (l < 2 || s[l - 1] != ']')
            return -1;
        s[l - 1] = '\0';
        s++;
    }
    for (tok = s; tok != NULL && *n < PS_MAX_SORT; tok = next) {
        next = strchr(tok, ',');
        if (next != NULL)
            *next++ = '\0';
        us = strrchr(tok, '_');
        if (us == NULL || (strcmp(us, "_ASC") != 0 && strcmp(us, "_DESC") != 0))
            return -1;
        keys[*n].desc = strcmp(us, "_DESC") == 0;
        *us = '\0';
        fi = ps_field_index(r, tok);
        if (fi < 0)
            return -1;
        keys[*n].field = fi;
        (*n)++;
    }
    return 0;
}

static void
list(struct sbx_platform *p, struct ps_state *st, struct sbx_req *req, struct sbx_resp *resp,
     enum ps_res_id rid, bool json)
{
    struct ps_res  *r = &st->res[rid];
    struct filter   filters[PS_MAX_FILTERS];
    size_t          nfilters = 0;
    struct sortkey  keys[PS_MAX_SORT];
    size_t          nkeys = 0;
    const char     *display = sbx_req_query(req, "display");
    const char     *limit = sbx_req_query(req, "limit");
    const char     *sort = sbx_req_query(req, "sort");
    const char     *date = sbx_req_query(req, "date");
    bool            dates = date != NULL && strcmp(date, "1") == 0;
    bool           *mask = NULL;
    bool            full = false;
    int64_t         off = 0;
    int64_t         cnt = -1;
    struct ps_row **rows;
    size_t          n = 0;
    size_t          i;
    size_t          j;
    char            msg[2048];
    char            names[1536];
    struct out      o = {p, st, resp, json, NULL, NULL, {0}};
    int             mode = 0;       /* 0 generic, 1 by id, 2 by (date_upd, id) */
    bool            rev = false;

    /* filter[field]=...: unknown fields, and date fields without date=1, are refused. */
    for (i = 0; i < req->nquery; i++) {
        const char *k = req->query[i].key;
        size_t      kl = strlen(k);
        char        fname[64];
        int         fi;

        if (strncmp(k, "filter[", 7) != 0 || kl < 9 || k[kl - 1] != ']')
            continue;
        if (kl - 8 >= sizeof(fname) || nfilters >= PS_MAX_FILTERS) {
            ps_error(p, st, resp, json, 400, 32, "This filter does not exist.");
            return;
        }
        memcpy(fname, k + 7, kl - 8);
        fname[kl - 8] = '\0';
        fi = ps_field_index(r, fname);
        if (fi < 0 || (r->f[fi].type == PS_DATE && !dates)) {
            field_list(r, dates, names, sizeof(names));
            snprintf(msg, sizeof(msg), "This filter does not exist. Did you mean: \"%s\"? The "
                     "full list is: %s", r->f[0].name, names);
            ps_error(p, st, resp, json, 400, 32, msg);
            return;
        }
        filters[nfilters].field = fi;
        if (parse_filter(req, req->query[i].value, &filters[nfilters]) < 0) {
            ps_error(p, st, resp, json, 400, 31, "The filter value is malformed.");
            return;
        }
        nfilters++;
    }
    if (sort != NULL && parse_sort(r, req, sort, keys, &nkeys) < 0) {
        field_list(r, true, names, sizeof(names));
        snprintf(msg, sizeof(msg), "Unable to filter by this field. However, these are "
                 "available: %s", names);
        ps_error(p, st, resp, json, 400, 37, msg);
        return;
    }
    if (limit != NULL) {
        const char *comma = strchr(limit, ',');
        char        a[24];

        if (comma != NULL) {
            if ((size_t)(comma - limit) >= sizeof(a)) {
                ps_error(p, st, resp, json, 400, 47, "The limit value is not valid.");
                return;
            }
            memcpy(a, limit, (size_t)(comma - limit));
            a[comma - limit] = '\0';
            if (sbx_parse_i64(a, 0, INT32_MAX, &off) < 0 ||
                sbx_parse_i64(comma + 1, 0, INT32_MAX, &cnt) < 0) {
                ps_error(p, st, resp, json, 400, 47, "The limit value is not valid.");
                return;
            }
        } else if (sbx_parse_i64(limit, 0, INT32_MAX, &cnt) < 0) {
            ps_error(p, st, resp, json, 400, 47, "The limit value is not valid.");
            return;
        }
    }
    if (display != NULL && strcmp(display, "full") == 0) {
        full = true;
    } else if (display != NULL) {
        size_t dl = strlen(display);
        char  *d;
        char  *tok;
        char  *next;

        mask = sbx_arena_alloc(req->arena, r->nf * sizeof(*mask));
        d = sbx_arena_strdup(req->arena, display);
        if (mask == NULL || d == NULL || dl < 2 || d[0] != '[' || d[dl - 1] != ']') {
            ps_error(p, st, resp, json, 400, 35, "The display value is not valid.");
            return;
        }
        memset(mask, 0, r->nf * sizeof(*mask));
        d[dl - 1] = '\0';
        for (tok = d + 1; tok != NULL; tok = next) {
            int fi;

            next = strchr(tok, ',');
            if (next != NULL)
                *next++ = '\0';
            fi = ps_field_index(r, tok);
            if (fi < 0) {
                field_list(r, true, names, sizeof(names));
                snprintf(msg, sizeof(msg), "Unable to display this field \"%s\". However, "
                         "these are available: %s", tok, names);
                ps_error(p, st, resp, json, 400, 35, msg);
                return;
            }
            mask[fi] = true;
        }
    }

    /*
     * Row order: by id (no sort, or id first) and by (date_upd, id) come from the indexes:
     * a date_upd interval is a binary search, the page a walk. Any other sort is done here.
     */
    if (r->indexed && nkeys == 0) {
        mode = 1;
    } else if (r->indexed && r->f[keys[0].field].type == PS_ID) {
        mode = 1;
        rev = keys[0].desc;
    } else if (r->indexed && r->f_upd >= 0 && keys[0].field == r->f_upd) {
        bool id2 = nkeys >= 2 && r->f[keys[1].field].type == PS_ID;

        if (!keys[0].desc && (nkeys == 1 || (id2 && !keys[1].desc))) {
            mode = 2;
        } else if (keys[0].desc && id2 && keys[1].desc) {
            mode = 2;
            rev = true;
        }
    }
    if (mode != 0) {
        const uint32_t *seq = mode == 2 ? r->by_upd : r->by_id;
        bool            used[PS_MAX_FILTERS];
        size_t          lo = 0;
        size_t          hi = r->nlive;
        size_t          nrest = 0;
        size_t          cap;
        size_t          k;
        int64_t         skipped = 0;

        for (j = 0; j < nfilters; j++) {
            used[j] = mode == 2 && filters[j].field == r->f_upd && filters[j].kind == '[';
            if (used[j]) {
                size_t a = ps_upd_bound(st, r, filters[j].vals[0], false);
                size_t b = ps_upd_bound(st, r, filters[j].vals[1], true);

                lo = a > lo ? a : lo;
                hi = b < hi ? b : hi;
            }
            nrest += !used[j];
        }
        if (hi < lo)
            hi = lo;
        cap = hi - lo;
        if (cnt >= 0 && (size_t)cnt < cap)
            cap = (size_t)cnt;
        rows = malloc((cap + 1) * sizeof(*rows));
        if (rows == NULL) {
            ps_error(p, st, resp, json, 500, 1, "Out of memory");
            return;
        }
        k = nrest == 0 ? ((size_t)off < hi - lo ? (size_t)off : hi - lo) : 0;
        for (; k < hi - lo && n < cap; k++) {
            struct ps_row *row = &r->rows[seq[rev ? hi - 1 - k : lo + k]];

            if (nrest > 0) {
                for (j = 0; j < nfilters && (used[j] || filter_match(st, r, row, &filters[j]));
                     j++)
                    ;
                if (j < nfilters)
                    continue;
                if (skipped < off) {
                    skipped++;
                    continue;
                }
            }
            rows[n++] = row;
        }
        off = 0;
        cnt = (int64_t)n;
    } else {
        rows = malloc((r->nrows + 1) * sizeof(*rows));
        if (rows == NULL) {
            ps_error(p, st, resp, json, 500, 1, "Out of memory");
            return;
        }
        for (i = 0; i < r->nrows; i++) {
            const struct ps_row *row = &r->rows[i];

            if (row->gone)
                continue;
            for (j = 0; j < nfilters && filter_match(st, r, row, &filters[j]); j++)
                ;
            if (j == nfilters)
                rows[n++] = &r->rows[i];
        }
        if (nkeys > 0) {
            sort_st = st;
            sort_res = r;
            sort_keys = keys;
            sort_n = nkeys;
            qsort(rows, n, sizeof(*rows), row_cmp);
        }
        /* platforms.md 3.3: no total; the client stops on a short page. */
        if ((size_t)off > n)
            off = (int64_t)n;
        if (cnt < 0 || (size_t)(off + cnt) > n)
            cnt = (int64_t)n - off;
    }
    if (out_begin(&o) < 0) {
        free(rows);
        ps_error(p, st, resp, json, 500, 1, "Out of memory");
        return;
    }
    if (json) {
        if (cnt == 0) {
            /* The Webservice answers an empty JSON list as a bare []. */
            sbx_jw_arr(&o.jw);
            sbx_jw_arr_end(&o.jw);
        } else {
            sbx_jw_obj(&o.jw);
            sbx_jw_key(&o.jw, r->nodes);
            sbx_jw_arr(&o.jw);
            for (i = (size_t)off; i < (size_t)(off + cnt); i++) {
                if (full || mask != NULL) {
                    write_record(&o, rid, rows[i], mask, false);
                } else {
                    sbx_jw_obj(&o.jw);
                    sbx_jw_ki64(&o.jw, "id", rows[i]->id);
                    sbx_jw_obj_end(&o.jw);
                }
            }
            sbx_jw_arr_end(&o.jw);
            sbx_jw_obj_end(&o.jw);
        }
    } else {
        xmlTextWriterStartElement(o.xw, BAD_CAST r->nodes);
        for (i = (size_t)off; i < (size_t)(off + cnt); i++) {
            if (full || mask != NULL) {
                write_record(&o, rid, rows[i], mask, false);
            } else {
                char idbuf[24];

                snprintf(idbuf, sizeof(idbuf), "%" PRId64, rows[i]->id);
                xmlTextWriterStartElement(o.xw, BAD_CAST r->single);
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "id", BAD_CAST idbuf);
                xml_href(&o, r->name, idbuf);
                xmlTextWriterEndElement(o.xw);
            }
        }
        xmlTextWriterEndElement(o.xw);
    }
    out_end(&o);
    free(rows);
}

static const char *
format_of(const struct ps_field *f)
{
    switch (f->type) {
    case PS_ID:
    case PS_INT:
        return "isUnsignedId";
    case PS_BOOL:
        return "isBool";
    case PS_MONEY:
        return "isPrice";
    case PS_DATE:
        return "isDate";
    case PS_EMAIL:
        return "isEmail";
    default:
        return "isGenericName";
    }
}

static void
schema(struct sbx_platform *p, struct ps_state *st, struct sbx_resp *resp, enum ps_res_id rid,
       bool json, bool synopsis)
{
    struct ps_res *r = &st->res[rid];
    struct out     o = {p, st, resp, json, NULL, NULL, {0}};
    size_t         i;
    char           num[16];

    if (out_begin(&o) < 0)
        return;
    if (json) {
        sbx_jw_obj(&o.jw);
        sbx_jw_key(&o.jw, r->single);
        sbx_jw_obj(&o.jw);
        for (i = 0; i < r->nf; i++) {
            if (synopsis) {
                sbx_jw_key(&o.jw, r->f[i].name);
                sbx_jw_obj(&o.jw);
                sbx_jw_kstr(&o.jw, "format", format_of(&r->f[i]));
                if (r->f[i].required)
                    sbx_jw_kstr(&o.jw, "required", "true");
                if (r->f[i].max > 0) {
                    snprintf(num, sizeof(num), "%d", r->f[i].max);
                    sbx_jw_kstr(&o.jw, "maxSize", num);
                }
                if (r->f[i].readonly)
                    sbx_jw_kstr(&o.jw, "read_only", "true");
                sbx_jw_obj_end(&o.jw);
            } else {
                sbx_jw_kstr(&o.jw, r->f[i].name, "");
            }
        }
        sbx_jw_obj_end(&o.jw);
        sbx_jw_obj_end(&o.jw);
        out_end(&o);
        return;
    }
    xmlTextWriterStartElement(o.xw, BAD_CAST r->single);
    for (i = 0; i < r->nf; i++) {
        xmlTextWriterStartElement(o.xw, BAD_CAST r->f[i].name);
        if (synopsis) {
            if (r->f[i].required)
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "required", BAD_CAST "true");
            if (r->f[i].max > 0) {
                snprintf(num, sizeof(num), "%d", r->f[i].max);
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "maxSize", BAD_CAST num);
            }
            if (r->f[i].readonly)
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "read_only", BAD_CAST "true");
            xmlTextWriterWriteAttribute(o.xw, BAD_CAST "format", BAD_CAST format_of(&r->f[i]));
        }
        if (r->f[i].ml) {
            int l;

            for (l = 1; l <= 2; l++) {
                snprintf(num, sizeof(num), "%d", l);
                xmlTextWriterStartElement(o.xw, BAD_CAST "language");
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "id", BAD_CAST num);
                xmlTextWriterEndElement(o.xw);
            }
        }
        xmlTextWriterEndElement(o.xw);
    }
    if (rid == PS_PRODUCTS || rid == PS_ORDERS || rid == PS_COMBINATIONS ||
        rid == PS_ORDER_SLIPS) {
        xmlTextWriterStartElement(o.xw, BAD_CAST "associations");
        xmlTextWriterEndElement(o.xw);
    }
    xmlTextWriterEndElement(o.xw);
    out_end(&o);
}

/* ------------------------------------------------------------------ writes (XML bodies) */

static size_t
utf8_len(const char *s)
{
    size_t n = 0;

    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static bool
valid_value(const struct ps_field *f, const char *v)
{
    int64_t x;

    if (v[0] == '\0')
        return true;
    switch (f->type) {
    case PS_ID:
    case PS_INT:
        return sbx_parse_i64(v, -2147483648LL, INT64_MAX / 2, &x) == 0;
    case PS_BOOL:
        return strcmp(v, "0") == 0 || strcmp(v, "1") == 0;
    case PS_MONEY: {
        char *end;

        (void)strtod(v, &end);
        return *end == '\0';
    }
    case PS_EMAIL: {
        const char *at = strchr(v, '@');

        return at != NULL && at != v && strchr(at, '.') != NULL && strchr(v, ' ') == NULL;
    }
    default:
        return f->max == 0 || utf8_len(v) <= (size_t)f->max;
    }
}

/* The text of an element, interned. */
static uint32_t
node_text(struct ps_state *st, xmlNodePtr n)
{
    xmlChar *c = xmlNodeGetContent(n);
    uint32_t id = ps_intern(st, c != NULL ? (const char *)c : "");

    xmlFree(c);
    return id;
}

/*
 * Applies the <resource> element of a POST/PUT body to the values v (and v2, the second
 * language, or NULL), a scratch copy of a row. Returns 0, or -1 with the Webservice's error
 * set.
 */
static int
apply_xml(struct sbx_platform *p, struct ps_state *st, struct sbx_req *req,
          struct sbx_resp *resp, bool json, enum ps_res_id rid, uint32_t *v, uint32_t *v2,
          bool put, int64_t want_id)
{
    struct ps_res *r = &st->res[rid];
    xmlDocPtr      doc;
    xmlNodePtr     root;
    xmlNodePtr     el;
    xmlNodePtr     c;
    bool           seen_id = false;
    char           msg[512];
    size_t         i;
    int            rc = -1;

    if (req->body_len == 0) {
        ps_error(p, st, resp, json, 400, 66, "Bad XML: the body is empty.");
        return -1;
    }
    /* No network, no entity expansion: outside input. */
    doc = xmlReadMemory(req->body, (int)req->body_len, NULL, "UTF-8",
                        XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (doc == NULL) {
        ps_error(p, st, resp, json, 400, 127, "HTTP XML response is not parsable");
        return -1;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL || xmlStrcmp(root->name, BAD_CAST "prestashop") != 0) {
        ps_error(p, st, resp, json, 400, 127, "HTTP XML response is not parsable");
        goto out;
    }
    for (el = root->children; el != NULL && el->type != XML_ELEMENT_NODE; el = el->next)
        ;
    if (el == NULL || xmlStrcmp(el->name, BAD_CAST r->single) != 0) {
        snprintf(msg, sizeof(msg), "Bad XML: the <%s> element is missing.", r->single);
        ps_error(p, st, resp, json, 400, 66, msg);
        goto out;
    }
    for (c = el->children; c != NULL; c = c->next) {
        int fi;

        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(c->name, BAD_CAST "associations") == 0)
            continue;
        fi = ps_field_index(r, (const char *)c->name);
        if (fi < 0) {
            snprintf(msg, sizeof(msg), "parameter \"%.100s\" not found", (const char *)c->name);
            ps_error(p, st, resp, json, 400, 90, msg);
            goto out;
        }
        if (r->f[fi].type == PS_ID) {
            const char *idv = ps_str(st, node_text(st, c));
            int64_t     id;

            if (!put && idv[0] != '\0') {
                ps_error(p, st, resp, json, 400, 46, "id is forbidden when adding a new "
                                                     "resource");
                goto out;
            }
            if (put && (sbx_parse_i64(idv, 1, INT64_MAX, &id) < 0 || id != want_id)) {
                ps_error(p, st, resp, json, 400, 89, "id is invalid when modifying a resource");
                goto out;
            }
            seen_id = put;
            continue;
        }
        if (r->f[fi].readonly)
            continue;
        if (r->f[fi].ml) {
            xmlNodePtr l;

            for (l = c->children; l != NULL; l = l->next) {
                xmlChar *lid;
                uint32_t lv;

                if (l->type != XML_ELEMENT_NODE || xmlStrcmp(l->name, BAD_CAST "language"))
                    continue;
                lid = xmlGetProp(l, BAD_CAST "id");
                lv = node_text(st, l);
                if (lid != NULL && xmlStrcmp(lid, BAD_CAST "1") == 0)
                    v[fi] = lv;
                else if (lid != NULL && xmlStrcmp(lid, BAD_CAST "2") == 0 && v2 != NULL)
                    v2[fi] = lv;
                xmlFree(lid);
            }
            continue;
        }
        v[fi] = node_text(st, c);
    }
    if (put && !seen_id) {
        ps_error(p, st, resp, json, 400, 41, "id is required when modifying a resource");
        goto out;
    }
    for (i = 1; i < r->nf; i++) {
        const struct ps_field *f = &r->f[i];
        char                   cls[48];

        snprintf(cls, sizeof(cls), "%s", r->single);
        if (cls[0] >= 'a' && cls[0] <= 'z')
            cls[0] = (char)(cls[0] - 'a' + 'A');
        if (f->required && !f->readonly && v[i] == 0) {
            snprintf(msg, sizeof(msg), "Validation error: \"Property %s->%s is empty.\"", cls,
                     f->name);
            ps_error(p, st, resp, json, 400, 85, msg);
            goto out;
        }
        if (!valid_value(f, ps_str(st, v[i])) ||
            (f->ml && v2 != NULL && !valid_value(f, ps_str(st, v2[i])))) {
            snprintf(msg, sizeof(msg), "Validation error: \"Property %s->%s is not valid\"",
                     cls, f->name);
            ps_error(p, st, resp, json, 400, 85, msg);
            goto out;
        }
    }
    rc = 0;
out:
    xmlFreeDoc(doc);
    return rc;
}

static void
reply_record(struct sbx_platform *p, struct ps_state *st, struct sbx_resp *resp, bool json,
             enum ps_res_id rid, const struct ps_row *row, int status)
{
    struct out o = {p, st, resp, json, NULL, NULL, {0}};

    resp->status = status;
    if (out_begin(&o) < 0)
        return;
    if (json) {
        sbx_jw_obj(&o.jw);
        sbx_jw_key(&o.jw, st->res[rid].single);
    }
    write_record(&o, rid, row, NULL, false);
    if (json)
        sbx_jw_obj_end(&o.jw);
    out_end(&o);
}

static void
touch(struct ps_state *st, struct ps_res *r, struct ps_row *row, int64_t now, bool create)
{
    int ia = ps_field_index(r, "date_add");

    if (create && ia >= 0)
        ps_set_str(st, r, row, (size_t)ia, ps_local_time(st, now));
    if (r->f_upd >= 0)
        ps_set_str(st, r, row, (size_t)r->f_upd, ps_local_time(st, now));
}

static void
write_op(struct sbx_platform *p, struct ps_state *st, struct sbx_req *req,
         struct sbx_resp *resp, bool json, enum ps_res_id rid, int64_t id, enum sbx_method m)
{
    struct ps_res *r = &st->res[rid];
    int64_t        now = sbx_now(p->sbx);
    struct ps_row *row;
    size_t         vbytes = r->nf * sizeof(uint32_t);
    uint32_t      *v = sbx_arena_alloc(req->arena, vbytes);
    uint32_t      *v2 = sbx_arena_alloc(req->arena, vbytes);
    size_t         i;
    char           num[24];

    if (v == NULL || v2 == NULL) {
        ps_error(p, st, resp, json, 500, 1, "Out of memory");
        return;
    }
    if (m == SBX_POST) {
        int pw = ps_field_index(r, "passwd");

        if (!r->can_post || id != 0) {
            ps_error(p, st, resp, json, 405, 2, "Method Not Allowed");
            return;
        }
        memset(v, 0, vbytes);
        memset(v2, 0, vbytes);
        if (apply_xml(p, st, req, resp, json, rid, v, v2, false, 0) < 0)
            return;
        row = ps_new_row(st, r);
        if (row == NULL) {
            ps_error(p, st, resp, json, 500, 1, "Out of memory");
            return;
        }
        /* Defaults the ObjectModel fills in; the password is stored hashed. */
        for (i = 1; i < r->nf; i++) {
            if (v[i] == 0 && numeric(r->f[i].type))
                v[i] = ps_intern(st, "0");
        }
        if (pw >= 0) {
            unsigned char h[32];
            char          hex[65];
            char          hashed[80];
            const char   *pv = ps_str(st, v[pw]);

            sbx_sha256(pv, strlen(pv), h);
            sbx_hex_encode(h, 32, hex);
            snprintf(hashed, sizeof(hashed), "$2y$10$%.53s", hex);
            v[pw] = ps_intern(st, hashed);
        }
        for (i = 1; i < r->nf; i++) {
            ps_set_id(st, r, row, i, v[i]);
            ps_set2_id(r, row, i, v2[i]);
        }
        touch(st, r, row, now, true);
        if (rid == PS_ORDER_SLIPS) {
            /*
             * A slip changes what the order is worth to its merchant: the sandbox bumps the
             * order's date_upd so an incremental read sees it. Real PrestaShop does not always
             * (platforms.md 3.3: writing an order's rows does not always bump date_upd; a slip
             * made by a module or a direct insert never does); the periodic reconcile run and
             * a full re-read heal those orders.
             */
            struct ps_res *orr = &st->res[PS_ORDERS];
            int64_t        oid = 0;
            struct ps_row *order;

            (void)sbx_parse_i64(ps_v(st, r, row, (size_t)ps_field_index(r, "id_order")), 1,
                                INT64_MAX, &oid);
            order = oid > 0 ? ps_find(orr, oid) : NULL;
            if (order != NULL && !order->gone)
                touch(st, orr, order, now, false);
        }
        if (rid == PS_PRODUCTS || rid == PS_COMBINATIONS) {
            /* The shop creates the stock_available row with the product or combination. */
            struct ps_res *sa = &st->res[PS_STOCK];
            struct ps_row *s;
            int64_t        row_id = row->id;
            uint32_t       pid = 0;

            if (rid == PS_COMBINATIONS)
                pid = r->vals[ps_pos(r, row) * r->nf + (size_t)ps_field_index(r, "id_product")];
            s = ps_new_row(st, sa);
            if (s != NULL) {
                snprintf(num, sizeof(num), "%" PRId64, row_id);
                if (rid == PS_PRODUCTS) {
                    ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "id_product"), num);
                    ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "id_product_attribute"),
                               "0");
                } else {
                    ps_set_id(st, sa, s, (size_t)ps_field_index(sa, "id_product"), pid);
                    ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "id_product_attribute"),
                               num);
                }
                ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "quantity"), "0");
                ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "depends_on_stock"), "0");
                ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "out_of_stock"), "2");
                ps_set_str(st, sa, s, (size_t)ps_field_index(sa, "id_shop"), "1");
            }
        }
        reply_record(p, st, resp, json, rid, row, 201);
        return;
    }
    row = id > 0 ? ps_find(r, id) : NULL;
    if (row == NULL || row->gone) {
        ps_error(p, st, resp, json, 404, 87, "Invalid ID");
        return;
    }
    if (m == SBX_DELETE) {
        int di = ps_field_index(r, "deleted");

        /* Customers and addresses are soft-deleted (deleted=1), the rest removed. */
        if ((rid == PS_CUSTOMERS || rid == PS_ADDRESSES) && di >= 0) {
            ps_set_str(st, r, row, (size_t)di, "1");
            touch(st, r, row, now, false);
        } else {
            ps_set_gone(st, r, row);
        }
        resp->status = 200;
        return;
    }
    if (!r->can_put) {
        ps_error(p, st, resp, json, 405, 2, "Method Not Allowed");
        return;
    }
    memcpy(v, &r->vals[ps_pos(r, row) * r->nf], vbytes);
    if (r->vals2 != NULL)
        memcpy(v2, &r->vals2[ps_pos(r, row) * r->nf], vbytes);
    if (apply_xml(p, st, req, resp, json, rid, v, r->vals2 != NULL ? v2 : NULL, true, id) < 0)
        return;
    for (i = 1; i < r->nf; i++) {
        ps_set_id(st, r, row, i, v[i]);
        ps_set2_id(r, row, i, v2[i]);
    }
    touch(st, r, row, now, false);
    reply_record(p, st, resp, json, rid, row, 200);
}

/* ------------------------------------------------------------------ routing, auth */

static bool
wants_json(struct sbx_req *req)
{
    const char *v = sbx_req_query(req, "output_format");

    if (v == NULL)
        v = sbx_req_query(req, "io_format");
    if (v == NULL)
        v = sbx_req_header(req, "Output-Format");
    if (v == NULL)
        v = sbx_req_header(req, "Io-Format");
    return v != NULL && strcasecmp(v, "JSON") == 0;
}

static int
authenticate(struct ps_state *st, struct sbx_req *req, const char **why)
{
    const char   *k = sbx_req_query(req, "ws_key");
    const char   *h = sbx_req_header(req, "Authorization");
    unsigned char dec[256];
    long          len;
    char         *colon;

    if (k == NULL && h != NULL && strncasecmp(h, "Basic ", 6) == 0) {
        len = sbx_b64_decode(h + 6, strlen(h + 6), dec, sizeof(dec) - 1);
        if (len > 0) {
            dec[len] = '\0';
            colon = strchr((char *)dec, ':');
            if (colon != NULL)
                *colon = '\0';
            k = (const char *)dec;
        }
    }
    if (k == NULL || k[0] == '\0') {
        *why = "Authentication key is empty";
        return -1;
    }
    if (!sbx_str_eq_ct(k, st->key)) {
        *why = "Invalid authentication key";
        return -1;
    }
    return 0;
}

static void
presta_handle(struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    struct ps_state *st = p->state;
    bool             json = wants_json(req);
    const char      *path = req->path;
    const char      *why = NULL;
    const char      *m = sbx_req_query(req, "ps_method");
    enum sbx_method  method = req->method;
    const char      *slash;
    char             name[32];
    size_t           i;
    int64_t          id = 0;
    const char      *sc;

    sbx_resp_header(resp, "X-Powered-By", "PrestaShop Webservice");
    sbx_resp_header(resp, "Execution-Time", "0.004");
    if (strncmp(path, "/api", 4) != 0 || (path[4] != '\0' && path[4] != '/')) {
        resp->status = 404;
        sbx_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
        sbx_resp_printf(resp, "<html><body><h1>404 Page not found</h1></body></html>");
        return;
    }
    if (authenticate(st, req, &why) < 0) {
        sbx_resp_header(resp, "WWW-Authenticate", "Basic realm=\"Welcome to PrestaShop "
                        "Webservice, please enter the authentication key as the login. No "
                        "password required.\"");
        ps_error(p, st, resp, json, 401, why[0] == 'A' ? 17 : 18, why);
        return;
    }
    sbx_resp_header(resp, "PSWS-Version", PS_VERSION);
    if (m != NULL) {
        method = strcmp(m, "GET") == 0 ? SBX_GET : strcmp(m, "POST") == 0 ? SBX_POST
               : strcmp(m, "PUT") == 0 ? SBX_PUT : strcmp(m, "DELETE") == 0 ? SBX_DELETE
               : strcmp(m, "HEAD") == 0 ? SBX_HEAD : method;
    }
    path += 4;
    if (*path == '/')
        path++;
    if (*path == '\0') {
        /* The resource list the key may use. */
        struct out o = {p, st, resp, json, NULL, NULL, {0}};

        if (out_begin(&o) < 0)
            return;
        if (json) {
            sbx_jw_obj(&o.jw);
            for (i = 0; i < PS_NRES; i++) {
                sbx_jw_key(&o.jw, st->res[i].name);
                sbx_jw_obj(&o.jw);
                sbx_jw_kbool(&o.jw, "get", !(st->deny[i] & PS_DENY_GET));
                sbx_jw_kbool(&o.jw, "put", st->res[i].can_put && !(st->deny[i] & PS_DENY_PUT));
                sbx_jw_kbool(&o.jw, "post",
                             st->res[i].can_post && !(st->deny[i] & PS_DENY_POST));
                sbx_jw_kbool(&o.jw, "delete",
                             st->res[i].can_put && !(st->deny[i] & PS_DENY_DELETE));
                sbx_jw_kbool(&o.jw, "head", true);
                sbx_jw_obj_end(&o.jw);
            }
            sbx_jw_obj_end(&o.jw);
        } else {
            char href[128];

            xmlTextWriterStartElement(o.xw, BAD_CAST "api");
            snprintf(href, sizeof(href), "%s/api/", p->base_url);
            xmlTextWriterWriteAttribute(o.xw, BAD_CAST "shopName",
                                        BAD_CAST "Sandbox Boutique — Café & Co");
            for (i = 0; i < PS_NRES; i++) {
                char h2[160];

                snprintf(h2, sizeof(h2), "%s%s", href, st->res[i].name);
                xmlTextWriterStartElement(o.xw, BAD_CAST st->res[i].name);
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "xlink:href", BAD_CAST h2);
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "get", BAD_CAST(
                    !(st->deny[i] & PS_DENY_GET) ? "true" : "false"));
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "put", BAD_CAST(
                    st->res[i].can_put && !(st->deny[i] & PS_DENY_PUT) ? "true" : "false"));
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "post", BAD_CAST(
                    st->res[i].can_post && !(st->deny[i] & PS_DENY_POST) ? "true" : "false"));
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "delete", BAD_CAST(
                    st->res[i].can_put && !(st->deny[i] & PS_DENY_DELETE) ? "true" : "false"));
                xmlTextWriterWriteAttribute(o.xw, BAD_CAST "head", BAD_CAST "true");
                xmlTextWriterEndElement(o.xw);
            }
            xmlTextWriterEndElement(o.xw);
        }
        out_end(&o);
        return;
    }
    slash = strchr(path, '/');
    if ((slash != NULL ? (size_t)(slash - path) : strlen(path)) >= sizeof(name)) {
        ps_error(p, st, resp, json, 400, 16, "Resource of type does not exists");
        return;
    }
    snprintf(name, sizeof(name), "%.*s",
             (int)(slash != NULL ? (size_t)(slash - path) : strlen(path)), path);
    for (i = 0; i < PS_NRES && strcmp(st->res[i].name, name) != 0; i++)
        ;
    if (i == PS_NRES) {
        char msg[96];

        snprintf(msg, sizeof(msg), "Resource of type \"%s\" does not exists. Did you mean: "
                 "\"customers\"?", name);
        ps_error(p, st, resp, json, 400, 16, msg);
        return;
    }
    if (slash != NULL && slash[1] != '\0' &&
        sbx_parse_i64(slash + 1, 1, INT64_MAX, &id) < 0) {
        ps_error(p, st, resp, json, 400, 87, "Invalid ID");
        return;
    }
    {
        uint8_t need = method == SBX_GET || method == SBX_HEAD ? PS_DENY_GET
                     : method == SBX_PUT ? PS_DENY_PUT : method == SBX_POST ? PS_DENY_POST
                     : method == SBX_DELETE ? PS_DENY_DELETE : 0;

        if (st->deny[i] & need) {
            char msg[128];

            snprintf(msg, sizeof(msg), "Resource of type \"%s\" is not allowed with this "
                     "authentication key", st->res[i].name);
            ps_error(p, st, resp, json, 401, 23, msg);
            return;
        }
    }
    sc = sbx_req_query(req, "schema");
    if (method == SBX_GET || method == SBX_HEAD) {
        if (sc != NULL && id == 0) {
            if (strcmp(sc, "blank") != 0 && strcmp(sc, "synopsis") != 0) {
                ps_error(p, st, resp, json, 400, 95, "Please select a schema of type "
                                                     "'synopsis' to get the whole schema "
                                                     "informations or 'blank' to get an "
                                                     "empty schema");
                return;
            }
            schema(p, st, resp, (enum ps_res_id)i, json, strcmp(sc, "synopsis") == 0);
            return;
        }
        if (id == 0) {
            list(p, st, req, resp, (enum ps_res_id)i, json);
        } else {
            struct ps_row *row = ps_find(&st->res[i], id);

            if (row == NULL || row->gone) {
                char msg[96];

                snprintf(msg, sizeof(msg), "Id(s) not exists: %" PRId64, id);
                ps_error(p, st, resp, json, 404, 87, msg);
                return;
            }
            reply_record(p, st, resp, json, (enum ps_res_id)i, row, 200);
        }
        if (method == SBX_HEAD)
            evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
        return;
    }
    if ((method == SBX_PUT || method == SBX_DELETE || method == SBX_PATCH) && id == 0) {
        ps_error(p, st, resp, json, 400, 40, "You have to set an id");
        return;
    }
    write_op(p, st, req, resp, json, (enum ps_res_id)i, id,
             method == SBX_PATCH ? SBX_PUT : method);
}

/* A PHP host failing: HTML error pages. */
static void
presta_fault_reply(struct sbx_platform *p, struct sbx_req *req, const char *kind, int status,
                   struct sbx_resp *resp)
{
    (void)p;
    (void)req;
    if (strcmp(kind, "429") == 0) {
        status = 429;
        sbx_resp_header(resp, "Retry-After", "2");
    }
    resp->status = status;
    sbx_resp_header(resp, "Content-Type", "text/html; charset=iso-8859-1");
    sbx_resp_printf(resp, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>"
                    "<title>%d Error</title></head><body><h1>Error %d</h1><p>The server "
                    "encountered an error.</p><hr><address>Apache Server</address></body>"
                    "</html>\n", status, status);
}

static int
presta_control(struct sbx_platform *p, const char *action, struct sbx_req *req,
               struct sbx_resp *resp)
{
    struct ps_state *st = p->state;

    /* Merchant edit in the back office: bumps date_upd of N records of an entity. */
    if (strcmp(action, "bulk-touch") == 0 && req->method == SBX_POST) {
        const char *e = sbx_req_query(req, "entity");
        const char *c = sbx_req_query(req, "count");
        int64_t     n = 100;
        size_t      i;
        size_t      k;
        int64_t     done = 0;

        if (c != NULL && sbx_parse_i64(c, 0, INT32_MAX, &n) < 0)
            n = 100;
        for (i = 0; i < PS_NRES; i++) {
            if (strcmp(st->res[i].name, e != NULL ? e : "orders") == 0)
                break;
        }
        if (i == PS_NRES || ps_field_index(&st->res[i], "date_upd") < 0) {
            sbx_resp_json(resp, 400, "{\"error\":\"entity with date_upd: customers, "
                                     "addresses, products, orders\"}");
            return 0;
        }
        /* Many rows at once: the date_upd index is rebuilt once, not kept row by row. */
        st->res[i].indexed = false;
        for (k = 0; k < st->res[i].nrows && done < n; k++) {
            if (!st->res[i].rows[k].gone) {
                touch(st, &st->res[i], &st->res[i].rows[k], sbx_now(p->sbx), false);
                done++;
            }
        }
        if (ps_reindex(st, &st->res[i]) < 0) {
            sbx_resp_json(resp, 500, "{\"error\":\"out of memory\"}");
            return 0;
        }
        sbx_resp_header(resp, "Content-Type", "application/json");
        sbx_resp_printf(resp, "{\"ok\":true,\"touched\":%" PRId64 ",\"date_upd\":\"%s\"}",
                        done, ps_local_time(st, sbx_now(p->sbx)));
        return 0;
    }
    /* The key's permissions: deny=orders:get,customers:put+post (empty: everything allowed). */
    if (strcmp(action, "permissions") == 0 && req->method == SBX_POST) {
        const char *d = sbx_req_query(req, "deny");
        uint8_t     deny[PS_NRES];
        char        buf[512], *save = NULL, *tok;
        size_t      i;

        memset(deny, 0, sizeof(deny));
        if (d != NULL && strlen(d) >= sizeof(buf)) {
            sbx_resp_json(resp, 400, "{\"error\":\"deny is too long\"}");
            return 0;
        }
        snprintf(buf, sizeof(buf), "%s", d != NULL ? d : "");
        for (tok = strtok_r(buf, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
            char *colon = strchr(tok, ':'), *m, *msave = NULL;

            if (colon == NULL)
                goto bad;
            *colon = '\0';
            for (i = 0; i < PS_NRES && strcmp(st->res[i].name, tok) != 0; i++)
                ;
            if (i == PS_NRES)
                goto bad;
            for (m = strtok_r(colon + 1, "+", &msave); m != NULL; m = strtok_r(NULL, "+", &msave))
                deny[i] |= strcmp(m, "get") == 0 ? PS_DENY_GET : strcmp(m, "put") == 0 ?
                           PS_DENY_PUT : strcmp(m, "post") == 0 ? PS_DENY_POST :
                           strcmp(m, "delete") == 0 ? PS_DENY_DELETE : 0;
        }
        memcpy(st->deny, deny, sizeof(deny));
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        return 0;
bad:
        sbx_resp_json(resp, 400, "{\"error\":\"deny=<resource>:<get|put|post|delete>[+...],...\"}");
        return 0;
    }
    return -1;
}

static const struct sbx_platform_ops presta_ops = {
    .name = "presta",
    .title = "PrestaShop Webservice API (XML and JSON), no webhooks",
    .options = presta_options,
    .create = presta_create,
    .start = presta_start,
    .handle = presta_handle,
    .control = presta_control,
    .state = presta_state,
    .reset = presta_reset,
    .fault_reply = presta_fault_reply,
    .destroy = presta_destroy,
};
SBX_PLATFORM_REGISTER(presta_ops)
