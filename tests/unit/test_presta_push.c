/*
 * The PrestaShop connector's export (plugins/prestashop/presta_push.c), compiled in with the
 * XML converter (presta_xml.c) and run through the real host services table inside a
 * hub_call, with the table's http() replaced by a fake shop: a list of routes (method, path,
 * query -> status, XML body) and a log of every request the push made, bodies included.
 *
 * Covered: money in minor units to PrestaShop's six-decimal text and the combination price
 * impact (exact, negative, rounded base); the stock of a simple product; the combinations of a
 * product (price impact, reference, stock) written before the product's own PUT, and only
 * when they differ from the shop's values; a refusal of one of these writes failing the push
 * with a sentence naming the record; a create writing the stock of the row the shop made.
 * The shapes are the sandbox's (sandbox/presta.c) and platforms.md 3.2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "plugin/hostapi.h"

#include "../../plugins/common/sxp.c"
#include "../../plugins/prestashop/presta_xml.c"
#include "../../plugins/prestashop/presta_push.c"

/* presta.c's, which this test does not compile in. */
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

/* presta.c's read-back, which this test does not compile in: what it answers is set by the
 * test, and each call is counted. Default (begin): SX_E_NOT_FOUND. */
static int         rb_rc;
static const char *rb_canon;
static int64_t     rb_ms;
static int         rb_calls;
static uint32_t    rb_entity;
static int64_t     rb_id;

int
presta_read_back(sx_ctx *cx, uint32_t entity, int64_t id, sx_str *canon, int64_t *updated_ms)
{
    (void)cx;
    rb_calls++;
    rb_entity = entity;
    rb_id = id;
    if (rb_rc != SX_OK)
        return rb_rc;
    *canon = sx_cstr(rb_canon);
    *updated_ms = rb_ms;
    return SX_OK;
}

/* ---- the fake shop ------------------------------------------------------------------------- */

#define API       "http://shop.test/api/"
#define PS(x)     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop>" x "</prestashop>"
#define MAX_ROUTE 32
#define MAX_LOG   64

struct route {
    uint32_t    method;
    const char *rest;          /* after API */
    const char *query;         /* exact, or NULL for any */
    int         status;
    const char *body;
};

struct logged {
    uint32_t method;
    char     rest[128];
    char     query[160];
    char    *body;             /* malloc'd copy, or NULL */
};

static struct hub_call    call;
static sx_host_api        fake;
static const sx_host_api *h;
static struct presta_inst inst;
static struct route       routes[MAX_ROUTE];
static size_t             n_routes;
static struct logged      reqs[MAX_LOG];
static size_t             n_reqs;

static void
route(uint32_t method, const char *rest, const char *query, int status, const char *body)
{
    REQUIRE(n_routes < MAX_ROUTE);
    routes[n_routes++] = (struct route){ method, rest, query, status, body };
}

static int
fake_http(sx_ctx *cx, const sx_http_req *req, const sx_http_resp **out)
{
    struct logged *l;
    sx_http_resp  *r;
    size_t         i, len;
    char          *body;

    *out = NULL;
    REQUIRE(n_reqs < MAX_LOG);
    REQUIRE(req->url.len > strlen(API) && memcmp(req->url.ptr, API, strlen(API)) == 0);
    l = &reqs[n_reqs++];
    l->method = req->method;
    snprintf(l->rest, sizeof(l->rest), "%.*s", (int)(req->url.len - strlen(API)),
             req->url.ptr + strlen(API));
    snprintf(l->query, sizeof(l->query), "%.*s", (int)req->query.len,
             req->query.ptr != NULL ? req->query.ptr : "");
    l->body = NULL;
    if (req->body.len > 0) {
        l->body = malloc(req->body.len + 1);
        REQUIRE(l->body != NULL);
        memcpy(l->body, req->body.ptr, req->body.len);
        l->body[req->body.len] = '\0';
    }
    for (i = 0; i < n_routes; i++) {
        const struct route *rt = &routes[i];

        if (rt->method == req->method && strcmp(rt->rest, l->rest) == 0 &&
            (rt->query == NULL || strcmp(rt->query, l->query) == 0))
            break;
    }
    r = cx->host->alloc(cx, sizeof(*r));
    REQUIRE(r != NULL);
    memset(r, 0, sizeof(*r));
    r->status = i < n_routes ? (uint32_t)routes[i].status : 404;
    len = i < n_routes ? strlen(routes[i].body) : 0;
    body = cx->host->alloc(cx, len + 1);
    REQUIRE(body != NULL);
    memcpy(body, i < n_routes ? routes[i].body : "", len + 1);
    r->body = (sx_str){ body, len };
    *out = r;
    switch (r->status) {
    case 200: case 201:
        return SX_OK;
    case 401:
        return SX_E_AUTH;
    case 404:
        return SX_E_NOT_FOUND;
    default:
        return r->status >= 500 ? SX_E_TRANSIENT : SX_E_REJECTED;
    }
}

static int active;

static void
end(void)
{
    if (active)
        hub_call_end(&call);
    active = 0;
}

/* A new call (ending the one before), a fresh fake shop and request log. */
static void
begin(void)
{
    size_t i;

    end();
    hub_call_begin(&call, NULL, NULL);
    active = 1;
    fake = *hub_host_api();
    fake.http = fake_http;
    call.cx.host = &fake;
    h = &fake;
    memset(&inst, 0, sizeof(inst));
    snprintf(inst.api, sizeof(inst.api), "http://shop.test/api");
    inst.lang_id = 1;
    inst.utc_offset_min = 60;
    call.cx.state = &inst;
    n_routes = 0;
    rb_rc = SX_E_NOT_FOUND;
    rb_canon = NULL;
    rb_ms = 0;
    rb_calls = 0;
    rb_entity = 0;
    rb_id = 0;
    for (i = 0; i < n_reqs; i++) {
        free(reqs[i].body);
        reqs[i].body = NULL;
    }
    n_reqs = 0;
}

/* "GET products/5" style summary of request i. */
static const char *
req_line(size_t i)
{
    static char line[320];

    if (i >= n_reqs)
        return "(none)";
    snprintf(line, sizeof(line), "%s %s%s%s",
             reqs[i].method == SX_HTTP_GET ? "GET" : reqs[i].method == SX_HTTP_PUT ? "PUT"
             : reqs[i].method == SX_HTTP_POST ? "POST" : "?", reqs[i].rest,
             reqs[i].query[0] ? "?" : "", reqs[i].query);
    return line;
}

/* Fixture text with ' for ", in the call arena. */
static sx_str
Q(const char *text)
{
    size_t i, n = strlen(text);
    char  *s = h->alloc(&call.cx, n + 1);

    REQUIRE(s != NULL);
    for (i = 0; i <= n; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    return (sx_str){ s, n };
}

static int
push(const char *canon, sx_push_res *res)
{
    memset(res, 0, sizeof(*res));
    res->hdr.abi_version = SX_ABI_VERSION;
    res->hdr.struct_size = sizeof(*res);
    return presta_push_product(&call.cx, Q(canon), res);
}

/* ---- the shop's records -------------------------------------------------------------------- */

#define COMB_LIST_Q  "display=full&filter[id_product]=[5]&limit=0,2000"

/* Product 5: base price 144.79, combinations 1 (impact 0) and 2 (impact 1.50). */
#define PRODUCT5(date)                                                                          \
    PS("<product><id><![CDATA[5]]></id><type><![CDATA[combinations]]></type>"                   \
       "<reference><![CDATA[PS-000005]]></reference><price><![CDATA[144.790000]]></price>"      \
       "<active><![CDATA[1]]></active><name><language id=\"1\"><![CDATA[Organic Lamp]]>"        \
       "</language></name><date_upd><![CDATA[" date "]]></date_upd><associations>"              \
       "<combinations><combination><id><![CDATA[1]]></id></combination><combination><id>"      \
       "<![CDATA[2]]></id></combination></combinations><stock_availables><stock_available>"   \
       "<id><![CDATA[5]]></id><id_product_attribute><![CDATA[0]]></id_product_attribute>"      \
       "</stock_available></stock_availables></associations></product>")

#define COMB2                                                                                   \
    "<combination><id><![CDATA[2]]></id><id_product><![CDATA[5]]></id_product><reference>"     \
    "<![CDATA[PS-000005-1]]></reference><price><![CDATA[1.500000]]></price>"                    \
    "<minimal_quantity><![CDATA[1]]></minimal_quantity></combination>"

static const char comb_list5[] =
    PS("<combinations><combination><id><![CDATA[1]]></id><id_product><![CDATA[5]]></id_product>"
       "<reference><![CDATA[PS-000005-0]]></reference><price><![CDATA[0.000000]]></price>"
       "<minimal_quantity><![CDATA[1]]></minimal_quantity></combination>" COMB2
       "</combinations>");

#define STOCK(id, pid, attr, qty)                                                               \
    "<stock_available><id><![CDATA[" id "]]></id><id_product><![CDATA[" pid "]]></id_product>" \
    "<id_product_attribute><![CDATA[" attr "]]></id_product_attribute><id_shop><![CDATA[1]]>"  \
    "</id_shop><quantity><![CDATA[" qty "]]></quantity><depends_on_stock><![CDATA[0]]>"        \
    "</depends_on_stock><out_of_stock><![CDATA[2]]></out_of_stock></stock_available>"

static const char stock_list5[] =
    PS("<stock_availables>" STOCK("5", "5", "0", "0") STOCK("6", "5", "1", "1")
       STOCK("7", "5", "2", "28") "</stock_availables>");

static void
shop_product5(void)
{
    route(SX_HTTP_GET, "products/5", NULL, 200, PRODUCT5("2024-12-16 13:00:00"));
    route(SX_HTTP_PUT, "products/5", NULL, 200, PRODUCT5("2025-01-02 10:00:00"));
    route(SX_HTTP_GET, "combinations", COMB_LIST_Q, 200, comb_list5);
    route(SX_HTTP_GET, "combinations/2", NULL, 200, PS(COMB2));
    route(SX_HTTP_PUT, "combinations/2", NULL, 200, PS(COMB2));
    route(SX_HTTP_GET, "stock_availables", COMB_LIST_Q, 200, stock_list5);
    route(SX_HTTP_GET, "stock_availables/7", NULL, 200, PS(STOCK("7", "5", "2", "28")));
}

/* ---- pure helpers ---------------------------------------------------------------------------- */

static void
test_money_text(void)
{
    char t[MONEY_TEXT_MAX];

    CHECK_EQ(SX_OK, money_text(4242, 2, t));
    CHECK_STR_EQ("42.420000", t);
    CHECK_EQ(SX_OK, money_text(0, 2, t));
    CHECK_STR_EQ("0.000000", t);
    CHECK_EQ(SX_OK, money_text(-5, 2, t));            /* below one unit: the sign stays */
    CHECK_STR_EQ("-0.050000", t);
    CHECK_EQ(SX_OK, money_text(-14329, 2, t));
    CHECK_STR_EQ("-143.290000", t);
    CHECK_EQ(SX_OK, money_text(1234, 0, t));          /* JPY */
    CHECK_STR_EQ("1234.000000", t);
    CHECK_EQ(SX_OK, money_text(1, 3, t));             /* KWD */
    CHECK_STR_EQ("0.001000", t);
    CHECK_EQ(SX_OK, money_text(INT64_MIN, 2, t));
    CHECK_STR_EQ("-92233720368547758.080000", t);
    CHECK_EQ(SX_OK, money_text(INT64_MAX, 6, t));
    CHECK_STR_EQ("9223372036854.775807", t);
    CHECK_EQ(SX_E_INVALID, money_text(1, 7, t));
    CHECK_EQ(SX_E_INVALID, money_text(1, -1, t));
}

static void
test_impact(void)
{
    int64_t v = 0;
    char    t[MONEY_TEXT_MAX];

    CHECK_EQ(SX_OK, impact_minor(14629, SX_STR("144.790000"), 2, &v));
    CHECK_EQ(150, v);
    CHECK_EQ(SX_OK, impact_minor(150, SX_STR("144.790000"), 2, &v));
    CHECK_EQ(-14329, v);
    /* A base with more decimals than the currency is read as the import reads it (rounded
     * half away from zero), so base + impact is the price again on the way back. */
    CHECK_EQ(SX_OK, impact_minor(1900, SX_STR("16.666667"), 2, &v));
    CHECK_EQ(233, v);
    CHECK_EQ(SX_OK, impact_minor(1900, SX_STR("16.665000"), 2, &v));
    CHECK_EQ(233, v);
    CHECK_EQ(SX_OK, impact_minor(1900, SX_STR("16.664999"), 2, &v));
    CHECK_EQ(234, v);
    CHECK_EQ(SX_OK, impact_minor(100, SX_STR("100"), 0, &v));
    CHECK_EQ(0, v);
    CHECK_EQ(SX_OK, money_text(233, 2, t));
    CHECK_STR_EQ("2.330000", t);
    CHECK_EQ(SX_E_INVALID, impact_minor(1, SX_STR(""), 2, &v));
    CHECK_EQ(SX_E_INVALID, impact_minor(1, SX_STR("12,50"), 2, &v));
    CHECK_EQ(SX_E_LIMIT, impact_minor(INT64_MIN, SX_STR("1.00"), 2, &v));
}

static void
test_ids(void)
{
    int64_t c = 0;

    CHECK_EQ(1, combination_of(SX_STR("5-12"), SX_STR("5"), &c));
    CHECK_EQ(12, c);
    CHECK_EQ(0, combination_of(SX_STR("55-1"), SX_STR("5"), &c));
    CHECK_EQ(0, combination_of(SX_STR("5"), SX_STR("5"), &c));
    CHECK_EQ(0, combination_of(SX_STR("5-"), SX_STR("5"), &c));
    CHECK_EQ(0, combination_of(SX_STR("5-0"), SX_STR("5"), &c));
    CHECK_EQ(0, combination_of(SX_STR("5--1"), SX_STR("5"), &c));
    CHECK_EQ(0, combination_of(SX_STR("5-1x"), SX_STR("5"), &c));
    CHECK_EQ(0, combination_of(SX_STR("5-12"), SX_STR(""), &c));
    {
        char slug[16];

        CHECK_STR_EQ("zo-s-lamp-2", slug_of(SX_STR("  Zo\xc3\xab's LAMP #2 "), slug, 16).ptr);
        CHECK_STR_EQ("product", slug_of(SX_STR("\xe6\x9d\x8e"), slug, 16).ptr);
        CHECK_STR_EQ("abcdefghijklmno", slug_of(SX_STR("abcdefghijklmnopq"), slug, 16).ptr);
    }
    CHECK_EQ(1, text_int("-3", 2, &c));
    CHECK_EQ(-3, c);
    CHECK_EQ(0, text_int("", 0, &c));
    CHECK_EQ(0, text_int("-", 1, &c));
    CHECK_EQ(0, text_int("1234567890123456789", 19, &c));
}

/* ---- pushes against the fake shop ------------------------------------------------------------ */

static void
test_combinations_written_before_the_product(void)
{
    sx_push_res res;

    begin();
    shop_product5();
    route(SX_HTTP_PUT, "stock_availables/7", NULL, 200, PS(STOCK("7", "5", "2", "55")));
    /* 5-1 as the shop has it (144.79 + 0, reference, stock 1); 5-2 repriced below the base
     * (a negative impact), a new SKU and stock; a variant of another product and one made in
     * Simplix are not the shop's combinations. */
    CHECK_EQ(SX_OK, push("{'external_id':'5','title':'Organic Lamp','status':'active',"
                         "'currency':'EUR','variants':["
                         "{'external_id':'5-1','sku':'PS-000005-0','price_minor':14479,'stock':1},"
                         "{'external_id':'5-2','sku':'NEW-REF','price_minor':150,'stock':55},"
                         "{'external_id':'9-3','price_minor':1,'stock':2},"
                         "{'sku':'SIMPLIX-ONLY','price_minor':100}]}", &res));
    CHECK_EQ(8, n_reqs);
    CHECK_STR_EQ("GET products/5", req_line(0));
    CHECK_STR_EQ("GET combinations?" COMB_LIST_Q, req_line(1));
    CHECK_STR_EQ("GET stock_availables?" COMB_LIST_Q, req_line(2));
    CHECK_STR_EQ("GET combinations/2", req_line(3));
    CHECK_STR_EQ("PUT combinations/2", req_line(4));
    CHECK_STR_EQ("GET stock_availables/7", req_line(5));
    CHECK_STR_EQ("PUT stock_availables/7", req_line(6));
    CHECK_STR_EQ("PUT products/5", req_line(7));        /* last: its date_upd is the push's */
    CHECK_STR_HAS(reqs[4].body, "<price><![CDATA[-143.290000]]></price>");
    CHECK_STR_HAS(reqs[4].body, "<reference><![CDATA[NEW-REF]]></reference>");
    CHECK_STR_HAS(reqs[4].body, "<minimal_quantity><![CDATA[1]]></minimal_quantity>");
    CHECK_STR_HAS(reqs[6].body, "<quantity><![CDATA[55]]></quantity>");
    CHECK_STR_HAS(reqs[6].body, "<out_of_stock><![CDATA[2]]></out_of_stock>");
    /* The product keeps its base price and reference. */
    CHECK_STR_HAS(reqs[7].body, "<price><![CDATA[144.790000]]></price>");
    CHECK_STR_HAS(reqs[7].body, "<reference><![CDATA[PS-000005]]></reference>");
    CHECK_MEM_EQ("5", 1, res.external_id.ptr, res.external_id.len);
    CHECK_EQ(1735808400000LL, res.external_updated_at);  /* 2025-01-02 10:00:00 at +01:00 */
    end();
}

static void
test_unchanged_costs_no_writes(void)
{
    sx_push_res res;
    size_t      i;

    begin();
    shop_product5();
    CHECK_EQ(SX_OK, push("{'external_id':'5','title':'Organic Lamp','currency':'EUR',"
                         "'variants':["
                         "{'external_id':'5-1','sku':'PS-000005-0','price_minor':14479,'stock':1},"
                         "{'external_id':'5-2','sku':'PS-000005-1','price_minor':14629,"
                         "'stock':28}]}", &res));
    CHECK_EQ(4, n_reqs);
    for (i = 0; i + 1 < n_reqs; i++)
        CHECK_EQ(SX_HTTP_GET, reqs[i].method);
    CHECK_STR_EQ("PUT products/5", req_line(3));
    /* No stock in Simplix (not tracked), no SKU: the shop's are left alone, not even read. */
    begin();
    shop_product5();
    CHECK_EQ(SX_OK, push("{'external_id':'5','title':'Organic Lamp','currency':'EUR',"
                         "'variants':[{'external_id':'5-2','price_minor':14629}]}", &res));
    CHECK_EQ(3, n_reqs);
    CHECK_STR_EQ("GET combinations?" COMB_LIST_Q, req_line(1));
    CHECK_STR_EQ("PUT products/5", req_line(2));
    end();
}

#define PRODUCT3                                                                                \
    PS("<product><id><![CDATA[3]]></id><reference><![CDATA[PS-000003]]></reference>"           \
       "<price><![CDATA[10.000000]]></price><active><![CDATA[1]]></active><name>"              \
       "<language id=\"1\"><![CDATA[Lamp]]></language></name><date_upd>"                      \
       "<![CDATA[2024-12-16 13:00:00]]></date_upd><associations><combinations/>"              \
       "<stock_availables><stock_available><id><![CDATA[3]]></id><id_product_attribute>"      \
       "<![CDATA[0]]></id_product_attribute></stock_available></stock_availables>"            \
       "</associations></product>")
#define P3_Q "display=full&filter[id_product]=[3]&limit=0,2000"
#define CUSTOMER9                                                                               \
    PS("<customer><id><![CDATA[9]]></id><firstname><![CDATA[Ada]]></firstname><lastname>"      \
       "<![CDATA[Lovelace]]></lastname><email><![CDATA[ada@example.com]]></email><company/>"    \
       "<active><![CDATA[1]]></active><date_upd><![CDATA[2024-12-16 13:00:00]]></date_upd>"    \
       "</customer>")

static void
test_simple_product_stock(void)
{
    sx_push_res res;

    begin();
    route(SX_HTTP_GET, "products/3", NULL, 200, PRODUCT3);
    route(SX_HTTP_PUT, "products/3", NULL, 200, PRODUCT3);
    route(SX_HTTP_GET, "stock_availables", P3_Q, 200,
          PS("<stock_availables>" STOCK("3", "3", "0", "81") "</stock_availables>"));
    route(SX_HTTP_GET, "stock_availables/3", NULL, 200, PS(STOCK("3", "3", "0", "81")));
    route(SX_HTTP_PUT, "stock_availables/3", NULL, 200, PS(STOCK("3", "3", "0", "-4")));
    CHECK_EQ(SX_OK, push("{'external_id':'3','title':'Lamp','currency':'EUR','variants':"
                         "[{'external_id':'3','sku':'PS-000003','price_minor':1999,"
                         "'stock':-4}]}", &res));
    CHECK_EQ(5, n_reqs);
    CHECK_STR_EQ("GET stock_availables?" P3_Q, req_line(1));
    CHECK_STR_EQ("PUT stock_availables/3", req_line(3));
    CHECK_STR_HAS(reqs[3].body, "<quantity><![CDATA[-4]]></quantity>");   /* oversold */
    CHECK_STR_EQ("PUT products/3", req_line(4));
    CHECK_STR_HAS(reqs[4].body, "<price><![CDATA[19.990000]]></price>");
    /* The same stock: read, not written. */
    begin();
    route(SX_HTTP_GET, "products/3", NULL, 200, PRODUCT3);
    route(SX_HTTP_PUT, "products/3", NULL, 200, PRODUCT3);
    route(SX_HTTP_GET, "stock_availables", P3_Q, 200,
          PS("<stock_availables>" STOCK("3", "3", "0", "81") "</stock_availables>"));
    CHECK_EQ(SX_OK, push("{'external_id':'3','title':'Lamp','currency':'EUR','variants':"
                         "[{'external_id':'3','price_minor':1999,'stock':81}]}", &res));
    CHECK_EQ(3, n_reqs);
    CHECK_STR_EQ("PUT products/3", req_line(2));
    /* A stock PrestaShop cannot hold is refused before anything is written. */
    begin();
    route(SX_HTTP_GET, "products/3", NULL, 200, PRODUCT3);
    route(SX_HTTP_GET, "stock_availables", P3_Q, 200,
          PS("<stock_availables>" STOCK("3", "3", "0", "81") "</stock_availables>"));
    CHECK_EQ(SX_E_REJECTED, push("{'external_id':'3','title':'Lamp','currency':'EUR',"
                                 "'variants':[{'external_id':'3','price_minor':1999,"
                                 "'stock':5000000000}]}", &res));
    CHECK_STR_HAS(call.err.msg, "a stock of 5000000000 cannot be exported");
    CHECK_EQ(2, n_reqs);
    end();
}

static void
test_refused_write_fails_the_push(void)
{
    sx_push_res res;
    size_t      i;

    /* The Webservice's validation error: the push fails naming the record, and the product
     * is not written. */
    begin();
    route(SX_HTTP_PUT, "stock_availables/7", NULL, 400,
          PS("<errors><error><code><![CDATA[85]]></code><message><![CDATA[Validation error: "
             "\"Property StockAvailable->quantity is not valid\"]]></message></error></errors>"));
    shop_product5();
    CHECK_EQ(SX_E_REJECTED, push("{'external_id':'5','title':'Organic Lamp','currency':'EUR',"
                                 "'variants':[{'external_id':'5-2','price_minor':14629,"
                                 "'stock':55}]}", &res));
    CHECK_STR_HAS(call.err.msg, "PrestaShop refused stock_available 7 of product 5, "
                                "combination 2: Validation error");
    for (i = 0; i < n_reqs; i++)
        CHECK(strcmp(req_line(i), "PUT products/5") != 0);
    /* A refusal without the Webservice's XML (a proxy's page). */
    begin();
    route(SX_HTTP_PUT, "combinations/2", NULL, 400, "<html><body>Bad Request</body></html>");
    shop_product5();
    CHECK_EQ(SX_E_REJECTED, push("{'external_id':'5','title':'Organic Lamp','currency':'EUR',"
                                 "'variants':[{'external_id':'5-2','sku':'X'}]}", &res));
    CHECK_STR_HAS(call.err.msg, "PrestaShop refused combination 2 of product 5 (HTTP 400)");
    /* A key without PUT on stock_availables. */
    begin();
    route(SX_HTTP_PUT, "stock_availables/7", NULL, 401, PS(""));
    shop_product5();
    CHECK_EQ(SX_E_AUTH, push("{'external_id':'5','title':'Organic Lamp','currency':'EUR',"
                             "'variants':[{'external_id':'5-2','stock':3}]}", &res));
    CHECK_STR_HAS(call.err.msg, "PrestaShop refused the Webservice key for stock_available 7 "
                                "of product 5, combination 2: give it GET and PUT on "
                                "stock_availables");
    /* A combination deleted in the shop since: left out (the import archives the variant). */
    begin();
    route(SX_HTTP_GET, "combinations", COMB_LIST_Q, 200, PS("<combinations/>"));
    shop_product5();
    CHECK_EQ(SX_OK, push("{'external_id':'5','title':'Organic Lamp','currency':'EUR',"
                         "'variants':[{'external_id':'5-2','price_minor':1,'stock':3}]}", &res));
    CHECK_EQ(3, n_reqs);
    CHECK_STR_EQ("PUT products/5", req_line(2));
    end();
}

#define BLANK                                                                                   \
    PS("<product><id></id><reference></reference><price></price><active></active><name>"       \
       "<language id=\"1\"></language><language id=\"2\"></language></name><link_rewrite>"    \
       "<language id=\"1\"></language><language id=\"2\"></language></link_rewrite>"         \
       "<date_upd></date_upd><associations>"                                                   \
       "<combinations><combination><id></id></combination></combinations><stock_availables>"  \
       "<stock_available><id></id><id_product_attribute></id_product_attribute>"              \
       "</stock_available></stock_availables></associations></product>")
#define P77                                                                                     \
    PS("<product><id><![CDATA[77]]></id><reference><![CDATA[NEW-1]]></reference><price>"       \
       "<![CDATA[12.340000]]></price><date_upd><![CDATA[2025-01-02 10:00:00]]></date_upd>"     \
       "</product>")
#define P77_Q "display=full&filter[id_product]=[77]&limit=0,2000"

static void
test_create_sets_the_stock(void)
{
    static const char canon[] = "{'title':'New lamp','currency':'EUR','status':'active',"
                                "'variants':[{'sku':'NEW-1','price_minor':1234,'stock':33}]}";
    sx_push_res res;

    begin();
    route(SX_HTTP_GET, "products", "schema=blank", 200, BLANK);
    route(SX_HTTP_POST, "products", NULL, 201, P77);
    route(SX_HTTP_GET, "stock_availables", P77_Q, 200,
          PS("<stock_availables>" STOCK("88", "77", "0", "0") "</stock_availables>"));
    route(SX_HTTP_GET, "stock_availables/88", NULL, 200, PS(STOCK("88", "77", "0", "0")));
    route(SX_HTTP_PUT, "stock_availables/88", NULL, 200, PS(STOCK("88", "77", "0", "33")));
    CHECK_EQ(SX_OK, push(canon, &res));
    CHECK_EQ(5, n_reqs);
    CHECK_STR_EQ("POST products", req_line(1));
    CHECK_STR_HAS(reqs[1].body, "<price><![CDATA[12.340000]]></price>");
    CHECK_STR_HAS(reqs[1].body, "<link_rewrite><language id=\"1\"><![CDATA[new-lamp]]>"
                                "</language><language id=\"2\"><![CDATA[new-lamp]]>");
    CHECK(strstr(reqs[1].body, "<product><id") == NULL);   /* the shop gives the id */
    CHECK_STR_EQ("GET stock_availables?" P77_Q, req_line(2));
    CHECK_STR_EQ("PUT stock_availables/88", req_line(4));
    CHECK_STR_HAS(reqs[4].body, "<quantity><![CDATA[33]]></quantity>");
    CHECK_MEM_EQ("77", 2, res.external_id.ptr, res.external_id.len);
    CHECK_EQ(1735808400000LL, res.external_updated_at);
    CHECK_EQ(1, rb_calls);                  /* read back after the stock, its last write */
    CHECK_EQ(77, rb_id);
    /* The stock refused after the product was made: the push fails with the stock's own
     * refusal, and still names the product it created (the engine keeps that mapping, so its
     * retry updates product 77 instead of creating a second one). */
    begin();
    route(SX_HTTP_GET, "products", "schema=blank", 200, BLANK);
    route(SX_HTTP_POST, "products", NULL, 201, P77);
    route(SX_HTTP_GET, "stock_availables", P77_Q, 200,
          PS("<stock_availables>" STOCK("88", "77", "0", "0") "</stock_availables>"));
    route(SX_HTTP_GET, "stock_availables/88", NULL, 200, PS(STOCK("88", "77", "0", "0")));
    route(SX_HTTP_PUT, "stock_availables/88", NULL, 400, "<html>no</html>");
    CHECK(push(canon, &res) < 0);
    CHECK_STR_HAS(call.err.msg, "PrestaShop refused stock_available 88 of product 77");
    CHECK_MEM_EQ("77", 2, res.external_id.ptr, res.external_id.len);
    CHECK_EQ(5, n_reqs);
    CHECK_EQ(0, rb_calls);
    end();
}

/* A new call whose shop has record `rest` (GET answers `doc`, PUT answers `put_status` with
 * it), and whose read-back answers `rc` with `canon` dated `ms`. */
static void
read_back_shop(const char *rest, const char *doc, int put_status, int rc, const char *canon,
               int64_t ms)
{
    begin();
    route(SX_HTTP_GET, rest, NULL, 200, doc);
    route(SX_HTTP_PUT, rest, NULL, put_status, put_status == 200 ? doc : "<html>down</html>");
    rb_rc = rc;
    rb_canon = canon;
    rb_ms = ms;
}

/*
 * After its last write, a push reads the record back as the import will (presta_read_back)
 * and hands it to the engine, which tells the push's echo from a same-second edit by it; only
 * when the record still has the date_upd the write answered. A read that fails leaves the
 * push done, without the record. A refused write reads nothing back.
 */
static void
test_read_back(void)
{
    static const char canon3[] = "{'external_id':'3','title':'Lamp','currency':'EUR',"
                                 "'variants':[{'external_id':'3','price_minor':1999}]}";
    static const char back[] = "{\"external_id\":\"3\",\"title\":\"Lamp\"}";
    sx_push_res res;
    int64_t     written;

    REQUIRE(presta_local_ms(SX_STR("2024-12-16 13:00:00"), 60, &written) == SX_OK);
    /* The record as written: handed over. */
    read_back_shop("products/3", PRODUCT3, 200, SX_OK, back, written);
    CHECK_EQ(SX_OK, push(canon3, &res));
    CHECK_EQ(written, res.external_updated_at);
    CHECK_EQ(1, rb_calls);
    CHECK_EQ(SX_ENTITY_PRODUCT, rb_entity);
    CHECK_EQ(3, rb_id);
    CHECK_MEM_EQ(back, strlen(back), res.canonical_json.ptr, res.canonical_json.len);
    /* Changed since the write (a later date_upd): not handed over, the import will see an
     * edit by its time. */
    read_back_shop("products/3", PRODUCT3, 200, SX_OK, back, written + 1000);
    CHECK_EQ(SX_OK, push(canon3, &res));
    CHECK_EQ(1, rb_calls);
    CHECK_EQ(0, res.canonical_json.len);
    /* The read fails: the push stands, without the record. */
    read_back_shop("products/3", PRODUCT3, 200, SX_E_TRANSIENT, NULL, 0);
    CHECK_EQ(SX_OK, push(canon3, &res));
    CHECK_EQ(1, rb_calls);
    CHECK_EQ(0, res.canonical_json.len);
    CHECK_MEM_EQ("3", 1, res.external_id.ptr, res.external_id.len);
    /* A refused write: nothing read back. */
    read_back_shop("products/3", PRODUCT3, 500, SX_OK, back, written);
    CHECK(push(canon3, &res) < 0);
    CHECK_EQ(0, rb_calls);
    /* A customer: read back as a customer. */
    read_back_shop("customers/9", CUSTOMER9, 200, SX_OK, back, written);
    memset(&res, 0, sizeof(res));
    res.hdr.abi_version = SX_ABI_VERSION;
    res.hdr.struct_size = sizeof(res);
    CHECK_EQ(SX_OK, presta_push_customer(&call.cx, Q("{'external_id':'9','first_name':'Ada',"
                                                     "'email':'ada@example.com'}"), &res));
    CHECK_STR_EQ("PUT customers/9", req_line(1));
    CHECK_EQ(1, rb_calls);
    CHECK_EQ(SX_ENTITY_CUSTOMER, rb_entity);
    CHECK_EQ(9, rb_id);
    CHECK_MEM_EQ(back, strlen(back), res.canonical_json.ptr, res.canonical_json.len);
    end();
}

int
main(void)
{
    xmlInitParser();
    RUN_TEST(test_money_text);
    RUN_TEST(test_impact);
    RUN_TEST(test_ids);
    RUN_TEST(test_combinations_written_before_the_product);
    RUN_TEST(test_unchanged_costs_no_writes);
    RUN_TEST(test_simple_product_stock);
    RUN_TEST(test_refused_write_fails_the_push);
    RUN_TEST(test_create_sets_the_stock);
    RUN_TEST(test_read_back);
    begin();                            /* frees the last request bodies */
    end();
    return check_report();
}
