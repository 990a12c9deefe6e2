/*
 * PrestaShop Webservice XML to the JSON shape of output_format=JSON (platforms.md 3.2), and the
 * shop-local naive times. Pure functions: no I/O, no network, no libc time zones; the unit test
 * (tests/unit/test_presta_xml.c) and the fuzz target (tests/fuzz/fuzz_prestashop_xml.c) run
 * them on the sandbox's answers and on arbitrary bytes.
 *
 * Parsing: libxml2, XML_PARSE_NONET | XML_PARSE_NOBLANKS, no XML_PARSE_NOENT, no DTD loading,
 * no error printing. A DOCTYPE is refused when the parser reaches it, before its internal
 * subset is read (the SAX internalSubset callback stops the parser), so no entity is ever
 * declared, let alone expanded ("billion laughs"). Bounds: PRESTA_XML_MAX input bytes,
 * PRESTA_XML_DEPTH element levels (<prestashop> is level 1), PRESTA_MAX_ITEMS element children
 * per element; the JSON writer adds its own (SXP_BUF_MAX bytes, SXP_JB_DEPTH = 16 levels, and
 * each XML level adds at most one JSON level, so 16 is the effective depth bound). Every
 * failure is SX_E_PROTOCOL with a sentence in *why. The
 * whole tree is checked before anything is written, and on any failure `out` is put back as
 * it was: nothing half-written.
 *
 * Shape, as the sandbox (sandbox/presta.c) and PrestaShop write it with output_format=JSON:
 *  - <prestashop><customers><customer>..</customer>..</customers></prestashop>
 *      -> {"customers":[{..},..]}; a list is an element whose element children all share one
 *    name, not its own, each either an empty element with an id attribute (a list without
 *    display: <customer id="1" xlink:href=".."/> -> {"id":1}) or a record (element children
 *    not all <language>). <errors><error>..</error></errors> is such a list.
 *  - an empty list (<customers/>) -> the bare document [] (what PrestaShop answers);
 *  - <prestashop><customer>..</customer></prestashop> (GET /api/customers/1) -> {"customer":{..}};
 *  - a field's text (CDATA or not, entities of XML itself decoded) -> a JSON string, "" when
 *    empty; except the record's own "id" (and "code" in an <errors> item), a JSON number when
 *    it is a plain decimal integer, as PrestaShop writes them;
 *  - a field whose children are all <language id=".."> -> [{"id":"1","value":".."},..];
 *  - <associations> -> an object; each of its children (<order_rows nodeType=..>) -> an array
 *    of its items as objects of strings ("id" stays a string there); an association with no
 *    items (<combinations nodeType="combination" api="combinations"/>) is left out, as is an
 *    empty <associations/>, as PrestaShop's JSON does;
 *  - any other element with element children -> an object of them;
 *  - attributes are dropped (xlink:href, nodeType, api, virtualEntity, ..) except the id of a
 *    list item without fields and of a <language>.
 *  - /api/ (the resource list): <api shopName=".."><customers xlink:href=".." get="true"
 *    put="false" .../>..</api> -> {"customers":{"get":true,"put":false,..},..}: exactly what
 *    the JSON answer is (no "api" wrapper, booleans for "true"/"false", other plain attributes
 *    as strings). The shop name is dropped because the JSON answer has none; a reader of
 *    permissions reads the same document whichever format the shop speaks. The children of a
 *    resource (<description>, <schema>) are ignored.
 * Not covered: ?schema=blank|synopsis documents (converted by the same rules, which differ
 * from the JSON answer for empty multilingual fields), and duplicate element names in one
 * record (written as duplicate JSON keys; json-c keeps the last).
 */
#include "presta_internal.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define PRESTA_DAY_MS        86400000LL
#define PRESTA_MAX_OFFSET    (18 * 60)                  /* minutes; UTC-18:00..UTC+18:00 */
/* 0001-01-01 00:00:00 and 9999-12-31 23:59:59.999 UTC in ms */
#define PRESTA_MS_MIN        (-62135596800000LL)
#define PRESTA_MS_MAX        (253402300799999LL)

/* What a field's number-looking text becomes. */
enum num_rule {
    NUM_NONE,          /* every text is a string */
    NUM_ID,            /* a record: "id" as a number */
    NUM_ERROR,         /* an <errors> item: "code" and "id" as numbers */
};

struct conv {
    struct sxp_buf *out;
    const char     *why;
};

/* ---- the tree ------------------------------------------------------------------------------- */

static int
is_elem(const xmlNode *n)
{
    return n != NULL && n->type == XML_ELEMENT_NODE;
}

static const char *
name_of(const xmlNode *n)
{
    return (const char *)n->name;
}

static int
name_is(const xmlNode *n, const char *s)
{
    return strcmp(name_of(n), s) == 0;
}

static xmlNode *
first_elem(const xmlNode *n)
{
    xmlNode *c;

    for (c = n->children; c != NULL && !is_elem(c); c = c->next)
        ;
    return c;
}

static xmlNode *
next_elem(const xmlNode *n)
{
    xmlNode *c;

    for (c = n->next; c != NULL && !is_elem(c); c = c->next)
        ;
    return c;
}

/* A plain (namespace-less) attribute's value, or NULL. */
static const char *
attr_of(const xmlNode *n, const char *name)
{
    const xmlAttr *a;

    for (a = n->properties; a != NULL; a = a->next) {
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0 && a->children != NULL &&
            a->children->type == XML_TEXT_NODE && a->children->next == NULL)
            return (const char *)a->children->content;
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0 && a->children == NULL)
            return "";
    }
    return NULL;
}

/* An element name is written as a JSON key as it is: it must need no escaping. XML names
 * never do, but the writer's keys are raw, so this is checked rather than assumed. */
static int
key_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (*p == '\0')
        return 0;
    for (; *p != '\0'; p++) {
        if (*p < 0x20 || *p == '"' || *p == '\\')
            return 0;
    }
    return 1;
}

/* Depth, fan-out and names, checked before anything is written. */
static int
check_tree(struct conv *c, const xmlNode *n, unsigned depth)
{
    const xmlNode *k;
    size_t         count = 0;

    if (depth > PRESTA_XML_DEPTH) {
        c->why = "the XML nests deeper than PRESTA_XML_DEPTH (32) levels";
        return SX_E_PROTOCOL;
    }
    if (!key_ok(name_of(n))) {
        c->why = "an XML element name cannot be a JSON key";
        return SX_E_PROTOCOL;
    }
    for (k = first_elem(n); k != NULL; k = next_elem(k)) {
        if (++count > PRESTA_MAX_ITEMS) {
            c->why = "an XML element has more than PRESTA_MAX_ITEMS (2000) children";
            return SX_E_PROTOCOL;
        }
        if (check_tree(c, k, depth + 1) != SX_OK)
            return SX_E_PROTOCOL;
    }
    return SX_OK;
}

/* The element's own text: its text and CDATA children joined (comments and PIs skipped).
 * Points into the tree, or into the call arena when there are several pieces. */
static int
text_of(struct conv *c, const xmlNode *n, sx_str *out)
{
    const xmlNode *k;
    const xmlNode *only = NULL;
    size_t         pieces = 0, len = 0, at = 0;
    char          *p;

    for (k = n->children; k != NULL; k = k->next) {
        if (k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) {
            only = k;
            pieces++;
            len += k->content != NULL ? strlen((const char *)k->content) : 0;
        }
    }
    if (pieces == 0) {
        *out = SX_STR("");
        return SX_OK;
    }
    if (pieces == 1) {
        out->ptr = only->content != NULL ? (const char *)only->content : "";
        out->len = len;
        return SX_OK;
    }
    p = c->out->cx->host->alloc(c->out->cx, len + 1);
    if (p == NULL) {
        c->why = "out of memory joining an element's text";
        return SX_E_PROTOCOL;
    }
    for (k = n->children; k != NULL; k = k->next) {
        if ((k->type == XML_TEXT_NODE || k->type == XML_CDATA_SECTION_NODE) &&
            k->content != NULL) {
            size_t l = strlen((const char *)k->content);

            memcpy(p + at, k->content, l);
            at += l;
        }
    }
    p[at] = '\0';
    out->ptr = p;
    out->len = at;
    return SX_OK;
}

/* "0" or 1..18 digits without a leading zero: a JSON number PrestaShop would write. */
static int
plain_uint(sx_str s, int64_t *out)
{
    int64_t v = 0;
    size_t  i;

    if (s.len == 0 || s.len > 18 || (s.len > 1 && s.ptr[0] == '0'))
        return 0;
    for (i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return 0;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = v;
    return 1;
}

static void
put_text(struct sxp_buf *b, sx_str s, int as_number)
{
    int64_t v;

    if (as_number && plain_uint(s, &v))
        sxp_jb_i64(b, v);
    else
        sxp_jb_str(b, s);
}

static int
is_number_key(const char *key, enum num_rule rule)
{
    if (rule == NUM_ID)
        return strcmp(key, "id") == 0;
    if (rule == NUM_ERROR)
        return strcmp(key, "id") == 0 || strcmp(key, "code") == 0;
    return 0;
}

/* Every element child is a <language>. */
static int
all_language(const xmlNode *n)
{
    const xmlNode *k = first_elem(n);

    if (k == NULL)
        return 0;
    for (; k != NULL; k = next_elem(k)) {
        if (!name_is(k, "language"))
            return 0;
    }
    return 1;
}

/* ---- writing -------------------------------------------------------------------------------- */

static int write_record(struct conv *c, const xmlNode *n, enum num_rule rule, int assoc);

/* [{"id":"1","value":".."},..] */
static int
write_languages(struct conv *c, const xmlNode *n)
{
    const xmlNode *k;
    const char    *id;
    sx_str         s;
    int            rc;

    sxp_jb_arr(c->out);
    for (k = first_elem(n); k != NULL; k = next_elem(k)) {
        if (first_elem(k) != NULL) {
            c->why = "a <language> element holds elements, not text";
            return SX_E_PROTOCOL;
        }
        id = attr_of(k, "id");
        if (id == NULL) {
            c->why = "a <language> element has no id attribute";
            return SX_E_PROTOCOL;
        }
        if ((rc = text_of(c, k, &s)) != SX_OK)
            return rc;
        sxp_jb_obj(c->out);
        sxp_jb_key(c->out, "id");
        sxp_jb_str(c->out, sx_cstr(id));
        sxp_jb_key(c->out, "value");
        sxp_jb_str(c->out, s);
        sxp_jb_obj_end(c->out);
    }
    sxp_jb_arr_end(c->out);
    return SX_OK;
}

/* The items of an association (or of any list below a record): an array of objects. */
static int
write_items(struct conv *c, const xmlNode *n)
{
    const xmlNode *k;
    int            rc;

    sxp_jb_arr(c->out);
    for (k = first_elem(n); k != NULL; k = next_elem(k)) {
        if ((rc = write_record(c, k, NUM_NONE, 0)) != SX_OK)
            return rc;
    }
    sxp_jb_arr_end(c->out);
    return SX_OK;
}

/*
 * One field's value. `in_assoc`: the field is a child of <associations>, so a list. Fields
 * that are left out (empty associations) never reach here: see skipped().
 */
static int
write_value(struct conv *c, const xmlNode *f, int as_number, int in_assoc)
{
    sx_str s;
    int    rc;

    if (first_elem(f) == NULL) {
        if ((rc = text_of(c, f, &s)) != SX_OK)
            return rc;
        put_text(c->out, s, as_number);
        return SX_OK;
    }
    if (in_assoc || attr_of(f, "nodeType") != NULL)
        return write_items(c, f);
    if (all_language(f))
        return write_languages(c, f);
    return write_record(c, f, NUM_NONE, name_is(f, "associations"));
}

/* An association without items, or an empty <associations/>: PrestaShop's JSON leaves them
 * out. */
static int
skipped(const xmlNode *f, int in_assoc)
{
    if (first_elem(f) != NULL)
        return 0;
    return in_assoc || attr_of(f, "nodeType") != NULL || name_is(f, "associations");
}

/* An element as an object of its element children; an element without children but with an
 * id attribute (a list item without display) as {"id":..}. */
static int
write_record(struct conv *c, const xmlNode *n, enum num_rule rule, int assoc)
{
    const xmlNode *f;
    const char    *id;
    int            rc;

    sxp_jb_obj(c->out);
    f = first_elem(n);
    if (f == NULL) {
        id = attr_of(n, "id");
        if (id != NULL) {
            sxp_jb_key(c->out, "id");
            put_text(c->out, sx_cstr(id), rule != NUM_NONE);
        }
    }
    for (; f != NULL; f = next_elem(f)) {
        if (skipped(f, assoc))
            continue;
        sxp_jb_key(c->out, name_of(f));
        rc = write_value(c, f, is_number_key(name_of(f), rule), assoc);
        if (rc != SX_OK)
            return rc;
    }
    sxp_jb_obj_end(c->out);
    return SX_OK;
}

/* A list of records (see the top comment): every element child has one name, not the
 * element's own, and is an id-only item or a record. No children at all: an empty list. */
static int
is_list(const xmlNode *n)
{
    const xmlNode *k = first_elem(n);
    const char    *item;

    if (k == NULL)
        return 1;
    item = name_of(k);
    if (strcmp(item, name_of(n)) == 0)
        return 0;
    for (; k != NULL; k = next_elem(k)) {
        if (strcmp(name_of(k), item) != 0)
            return 0;
        if (first_elem(k) == NULL ? attr_of(k, "id") == NULL : all_language(k))
            return 0;
    }
    return 1;
}

/* /api/: {"customers":{"get":true,..},..} (see the top comment). */
static int
write_api(struct conv *c, const xmlNode *api)
{
    const xmlNode *r;
    const xmlAttr *a;
    sx_str         v;

    sxp_jb_obj(c->out);
    for (r = first_elem(api); r != NULL; r = next_elem(r)) {
        sxp_jb_key(c->out, name_of(r));
        sxp_jb_obj(c->out);
        for (a = r->properties; a != NULL; a = a->next) {
            const char *an = (const char *)a->name;

            if (a->ns != NULL || strchr(an, ':') != NULL || !key_ok(an))
                continue;
            v = SX_STR("");
            if (a->children != NULL && a->children->type == XML_TEXT_NODE &&
                a->children->next == NULL && a->children->content != NULL)
                v = sx_cstr((const char *)a->children->content);
            sxp_jb_key(c->out, an);
            if (sx_str_eq_cstr(v, "true") || sx_str_eq_cstr(v, "false"))
                sxp_jb_bool(c->out, sx_str_eq_cstr(v, "true"));
            else
                sxp_jb_str(c->out, v);
        }
        sxp_jb_obj_end(c->out);
    }
    sxp_jb_obj_end(c->out);
    return SX_OK;
}

/* One child of <prestashop>: a list, a single record, or the /api/ resource list. */
static int
write_top(struct conv *c, const xmlNode *k)
{
    const xmlNode *item;
    enum num_rule  rule = name_is(k, "errors") ? NUM_ERROR : NUM_ID;
    int            rc;

    if (name_is(k, "api"))
        return write_api(c, k);
    if (!is_list(k))
        return write_record(c, k, NUM_ID, 0);
    sxp_jb_arr(c->out);
    for (item = first_elem(k); item != NULL; item = next_elem(item)) {
        if ((rc = write_record(c, item, rule, 0)) != SX_OK)
            return rc;
    }
    sxp_jb_arr_end(c->out);
    return SX_OK;
}

static int
write_doc(struct conv *c, const xmlNode *root)
{
    const xmlNode *k = first_elem(root);
    int            rc;

    if (next_elem(k) == NULL && name_is(k, "api"))
        return write_api(c, k);
    if (next_elem(k) == NULL && first_elem(k) == NULL && is_list(k) && !name_is(k, "api")) {
        sxp_jb_arr(c->out);                  /* PrestaShop's empty list: [] */
        sxp_jb_arr_end(c->out);
        return SX_OK;
    }
    sxp_jb_obj(c->out);
    for (; k != NULL; k = next_elem(k)) {
        sxp_jb_key(c->out, name_of(k));
        if ((rc = write_top(c, k)) != SX_OK)
            return rc;
    }
    sxp_jb_obj_end(c->out);
    return SX_OK;
}

/* ---- parsing -------------------------------------------------------------------------------- */

/* SAX: the parser met <!DOCTYPE; stop before the internal subset is read. */
static void
refuse_doctype(void *ctx, const xmlChar *name, const xmlChar *external_id,
               const xmlChar *system_id)
{
    xmlParserCtxtPtr pc = ctx;

    (void)name;
    (void)external_id;
    (void)system_id;
    pc->_private = (void *)pc;               /* any non-NULL: "a DOCTYPE was seen" */
    xmlStopParser(pc);
}

/* libxml2's messages that XML_PARSE_NOERROR does not reach (the encoding layer's) would go
 * to the hub's stderr: the answer's fault is reported once, as a sentence, by the caller. */
static void
quiet(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

static int
parse(const char *xml, size_t len, xmlDocPtr *out, const char **why)
{
    xmlGenericErrorFunc old_fn;
    void               *old_ctx;
    xmlParserCtxtPtr    pc;
    xmlDocPtr           doc;
    int                 doctype;

    *out = NULL;
    xmlInitParser();
    pc = xmlNewParserCtxt();
    if (pc == NULL) {
        *why = "out of memory starting the XML parser";
        return SX_E_PROTOCOL;
    }
    pc->_private = NULL;
    pc->sax->internalSubset = refuse_doctype;
    /* The generic error handler is per thread in libxml2: set for this parse only. */
    old_fn = xmlGenericError;
    old_ctx = xmlGenericErrorContext;
    xmlSetGenericErrorFunc(NULL, quiet);
    doc = xmlCtxtReadMemory(pc, xml, (int)len, NULL, NULL,
                            XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                            XML_PARSE_NOWARNING);
    xmlSetGenericErrorFunc(old_ctx, old_fn);
    doctype = pc->_private != NULL;
    xmlFreeParserCtxt(pc);
    if (doctype || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL))) {
        xmlFreeDoc(doc);
        *why = "the XML has a DOCTYPE (refused: no DTD, no entities)";
        return SX_E_PROTOCOL;
    }
    if (doc == NULL) {
        *why = "the XML is not well-formed";
        return SX_E_PROTOCOL;
    }
    *out = doc;
    return SX_OK;
}

int
presta_xml_to_json(const char *xml, size_t len, struct sxp_buf *out, const char **why)
{
    struct sxp_buf saved = *out;
    struct conv    c = { out, NULL };
    xmlDocPtr      doc;
    xmlNode       *root;
    int            rc;

    *why = NULL;
    if (xml == NULL || len == 0) {
        *why = "the answer is empty, not XML";
        return SX_E_PROTOCOL;
    }
    if (len > PRESTA_XML_MAX) {
        *why = "the XML is larger than PRESTA_XML_MAX (32 MiB)";
        return SX_E_PROTOCOL;
    }
    if ((rc = parse(xml, len, &doc, why)) != SX_OK)
        return rc;
    root = xmlDocGetRootElement(doc);
    if (root == NULL || !name_is(root, "prestashop")) {
        c.why = "the XML's root element is not <prestashop>";
        rc = SX_E_PROTOCOL;
        goto free_doc;
    }
    if (first_elem(root) == NULL) {
        c.why = "<prestashop> holds no element";
        rc = SX_E_PROTOCOL;
        goto free_doc;
    }
    if ((rc = check_tree(&c, root, 1)) != SX_OK)
        goto free_doc;
    rc = write_doc(&c, root);
    if (rc == SX_OK && out->rc != SX_OK) {
        c.why = out->rc == SX_E_LIMIT ? "the converted JSON is too large or nests deeper than "
                                        "the writer's SXP_JB_DEPTH (16) levels"
                                      : "the XML's text is not valid UTF-8";
        rc = SX_E_PROTOCOL;
    }
    if (rc != SX_OK)
        rc = SX_E_PROTOCOL;                 /* the contract: one code, the sentence says why */
free_doc:
    xmlFreeDoc(doc);
    if (rc != SX_OK) {
        /* Nothing half-written: the writer as it was (its bytes may have moved to a larger
         * arena block; the old ones are still a prefix of the new). */
        out->len = saved.len;
        out->rc = saved.rc;
        out->depth = saved.depth;
        memcpy(out->is_arr, saved.is_arr, sizeof(out->is_arr));
        memcpy(out->has, saved.has, sizeof(out->has));
        if (out->p != NULL)
            out->p[out->len] = '\0';
        *why = c.why != NULL ? c.why : "the XML could not be converted";
    }
    return rc;
}

/* ---- shop-local times ----------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int
days_in_month(int64_t y, int m)
{
    static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dim[m - 1];
}

/* `n` digits at s as a number, or -1. */
static int
digits(const char *s, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
presta_local_ms(sx_str text, int utc_offset_min, int64_t *out)
{
    const char *s = text.ptr;
    int         y, mo, d, h, mi, se;
    int64_t     days;

    if (s == NULL || text.len != 19 || utc_offset_min < -PRESTA_MAX_OFFSET ||
        utc_offset_min > PRESTA_MAX_OFFSET)
        return SX_E_INVALID;
    if (memcmp(s, "0000-00-00 00:00:00", 19) == 0)
        return SX_E_NOT_FOUND;              /* PrestaShop's "no date" */
    if (s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
        return SX_E_INVALID;
    y = digits(s, 4);
    mo = digits(s + 5, 2);
    d = digits(s + 8, 2);
    h = digits(s + 11, 2);
    mi = digits(s + 14, 2);
    se = digits(s + 17, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h < 0 || h > 23 ||
        mi < 0 || mi > 59 || se < 0 || se > 59)
        return SX_E_INVALID;
    days = days_from_civil(y, mo, d);
    *out = days * PRESTA_DAY_MS + ((int64_t)h * 3600 + mi * 60 + se) * 1000 -
           (int64_t)utc_offset_min * 60000;
    return SX_OK;
}

void
presta_local_format(int64_t ms, int utc_offset_min, char out[20])
{
    int64_t local, days, rem, y;
    int     m, d, sec;

    if (utc_offset_min < -PRESTA_MAX_OFFSET || utc_offset_min > PRESTA_MAX_OFFSET)
        utc_offset_min = 0;
    /* Outside years 0001..9999 (shop-local) there is no such text: PrestaShop's "no date". */
    if (ms < PRESTA_MS_MIN - PRESTA_DAY_MS || ms > PRESTA_MS_MAX + PRESTA_DAY_MS) {
        memcpy(out, "0000-00-00 00:00:00", 20);
        return;
    }
    local = ms + (int64_t)utc_offset_min * 60000;
    days = local / PRESTA_DAY_MS;
    rem = local % PRESTA_DAY_MS;
    if (rem < 0) {
        rem += PRESTA_DAY_MS;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999) {
        memcpy(out, "0000-00-00 00:00:00", 20);
        return;
    }
    sec = (int)(rem / 1000);
    out[0] = (char)('0' + y / 1000);
    out[1] = (char)('0' + y / 100 % 10);
    out[2] = (char)('0' + y / 10 % 10);
    out[3] = (char)('0' + y % 10);
    out[4] = '-';
    out[5] = (char)('0' + m / 10);
    out[6] = (char)('0' + m % 10);
    out[7] = '-';
    out[8] = (char)('0' + d / 10);
    out[9] = (char)('0' + d % 10);
    out[10] = ' ';
    out[11] = (char)('0' + sec / 36000);
    out[12] = (char)('0' + sec / 3600 % 10);
    out[13] = ':';
    out[14] = (char)('0' + sec / 600 % 6);
    out[15] = (char)('0' + sec / 60 % 10);
    out[16] = ':';
    out[17] = (char)('0' + sec % 60 / 10);
    out[18] = (char)('0' + sec % 10);
    out[19] = '\0';
}
