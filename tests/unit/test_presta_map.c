/*
 * The PrestaShop connector's pure mapping (plugins/prestashop/presta_map.c), compiled in and
 * run through the real host services table (hub_host_api()) inside a hub_call with no
 * instance and no database: JSON, time, arena and fail() are the hub's own.
 *
 * The records are shaped like the sandbox's (sandbox/presta_data.c, output_format=JSON) and
 * platforms.md 3: ids as integers on the record and strings elsewhere, every value a string,
 * money with six decimals, multilingual fields as [{"id":"1","value":".."}], order rows in
 * associations, naive shop-local times. Fixtures are written with ' for " (see Q()); text
 * apostrophes are typographic.
 *
 * presta_local_ms lives in presta_xml.c (libxml2). When that file exists at configure time,
 * tests/CMakeLists.txt defines SX_TEST_HAVE_PRESTA_XML and links libxml2, and the real one is
 * tested; otherwise a test-local conversion stands in for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jpath.h"
#include "plugin/hostapi.h"

#include "../../plugins/common/sxp.c"
#include "../../plugins/prestashop/presta_map.c"

#ifdef SX_TEST_HAVE_PRESTA_XML
#include "../../plugins/prestashop/presta_xml.c"
#else
/* Stand-in: "YYYY-MM-DD HH:MM:SS" at `utc_offset_min` east of UTC -> ms UTC. */
static int
two(const char *p, int *out)
{
    if (p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9')
        return 0;
    *out = (p[0] - '0') * 10 + (p[1] - '0');
    return 1;
}

int
presta_local_ms(sx_str text, int utc_offset_min, int64_t *out)
{
    static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    const char      *s = text.ptr;
    int              c, yy, mo, d, hh, mi, ss, leap;
    int64_t          y, era, yoe, doy, doe, days;

    if (s == NULL || text.len != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' ||
        s[13] != ':' || s[16] != ':' || !two(s, &c) || !two(s + 2, &yy) || !two(s + 5, &mo) ||
        !two(s + 8, &d) || !two(s + 11, &hh) || !two(s + 14, &mi) || !two(s + 17, &ss))
        return SX_E_INVALID;
    y = c * 100 + yy;
    leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
        hh > 23 || mi > 59 || ss > 59)
        return SX_E_INVALID;
    /* days from civil (H. Hinnant) */
    y -= mo <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    days = era * 146097 + doe - 719468;
    *out = ((days * 86400 + hh * 3600 + mi * 60 + ss) - (int64_t)utc_offset_min * 60) * 1000;
    return SX_OK;
}
#endif

static struct hub_call    call;
static const sx_host_api *h;
static const char        *last_text;     /* the last canonical record a mapping produced */

static void
begin(void)
{
    hub_call_begin(&call, NULL, NULL);
    h = call.cx.host;
}

static void
end(void)
{
    hub_call_end(&call);
}

/* Fixture text with ' for ", in the call arena. */
static const char *
Q(const char *text)
{
    size_t i, n = strlen(text);
    char  *s = h->alloc(&call.cx, n + 1);

    REQUIRE(s != NULL);
    for (i = 0; i <= n; i++)
        s[i] = text[i] == '\'' ? '"' : text[i];
    return s;
}

static const sx_json *
jparse(const char *text)
{
    const sx_json *j = NULL;

    if (text == NULL)
        return NULL;
    REQUIRE(h->json_parse(&call.cx, sx_cstr(Q(text)), &j) == SX_OK);
    return j;
}

static int
B(const sx_json *j, const char *path)
{
    int v = -1;

    if (h->json_bool(at(j, path), &v) != SX_OK)
        return -1;
    return v;
}

/* The parsed canonical record of a mapping (NULL on failure, the code in *rc_out). */
static const sx_json *
done(int rc, struct sxp_buf *b, int *rc_out)
{
    sx_str out;

    if (rc_out != NULL)
        *rc_out = rc;
    if (rc != SX_OK)
        return NULL;
    REQUIRE(sxp_buf_done(b, &out) == SX_OK);
    last_text = out.ptr;
    return jparse(out.ptr);
}

static const sx_json *
customer(const char *rec, const char *addrs, const char *countries, int off, int *rc)
{
    struct sxp_buf b;

    sxp_buf_init(&b, &call.cx);
    return done(presta_map_customer(&call.cx, jparse(rec), jparse(addrs), jparse(countries), 1,
                                    off, &b), &b, rc);
}

static const sx_json *
product_opts(const char *rec, const char *combs, const char *stocks, const char *values,
             const char *groups, const char *cur, int lang, int off, int *rc)
{
    struct sxp_buf b;

    sxp_buf_init(&b, &call.cx);
    return done(presta_map_product(&call.cx, jparse(rec), jparse(combs), jparse(stocks),
                                   jparse(values), jparse(groups), sx_cstr(cur), lang, off,
                                   &b), &b, rc);
}

static const sx_json *
product(const char *rec, const char *combs, const char *stocks, const char *cur, int lang,
        int off, int *rc)
{
    return product_opts(rec, combs, stocks, NULL, NULL, cur, lang, off, rc);
}

static const sx_json *
order_slips(const char *rec, const char *details, const char *slips, const char *cur, int off,
            int *rc)
{
    struct sxp_buf b;

    sxp_buf_init(&b, &call.cx);
    return done(presta_map_order(&call.cx, jparse(rec), jparse(details), jparse(slips),
                                 sx_cstr(cur), off, &b), &b, rc);
}

static const sx_json *
order(const char *rec, const char *details, const char *cur, int off, int *rc)
{
    return order_slips(rec, details, NULL, cur, off, rc);
}

/* ---- helpers --------------------------------------------------------------------------------- */

static void
test_lang_text(void)
{
    const sx_json *j;
    sx_str         s;

    begin();
    j = jparse("{'name':[{'id':'1','value':'Nordic Lamp'},{'id':'2','value':'Lampe nordique'}],"
              "'half':[{'id':'1','value':'Mug'},{'id':'2','value':''}],"
              "'plain':'Just text','empty':'','none':[],'num':5,"
              "'one':{'id':'2','value':'Théière'},'intid':[{'id':3,'value':'Tres'}]}");
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "name"), 2, &s));
    CHECK_MEM_EQ("Lampe nordique", 14, s.ptr, s.len);
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "name"), 1, &s));
    CHECK_MEM_EQ("Nordic Lamp", 11, s.ptr, s.len);
    /* A language the field does not have, or has empty: the first. */
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "name"), 7, &s));
    CHECK_MEM_EQ("Nordic Lamp", 11, s.ptr, s.len);
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "half"), 2, &s));
    CHECK_MEM_EQ("Mug", 3, s.ptr, s.len);
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "plain"), 2, &s));
    CHECK_MEM_EQ("Just text", 9, s.ptr, s.len);
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "one"), 1, &s));
    CHECK_MEM_EQ("Théière", strlen("Théière"), s.ptr, s.len);
    CHECK_EQ(SX_OK, presta_lang_text(&call.cx, h->json_get(j, "intid"), 3, &s));
    CHECK_MEM_EQ("Tres", 4, s.ptr, s.len);
    CHECK_EQ(SX_E_NOT_FOUND, presta_lang_text(&call.cx, h->json_get(j, "empty"), 1, &s));
    CHECK_EQ(SX_E_NOT_FOUND, presta_lang_text(&call.cx, h->json_get(j, "none"), 1, &s));
    CHECK_EQ(SX_E_NOT_FOUND, presta_lang_text(&call.cx, h->json_get(j, "num"), 1, &s));
    CHECK_EQ(SX_E_NOT_FOUND, presta_lang_text(&call.cx, h->json_get(j, "absent"), 1, &s));
    CHECK_EQ(SX_E_NOT_FOUND, presta_lang_text(&call.cx, NULL, 1, &s));
    end();
}

static void
test_local_time(void)
{
    int64_t ms = 0;

    begin();
    /* The shop's offset east of UTC is taken away, across midnight, month and year. */
    CHECK_EQ(SX_OK, presta_local_ms(SX_STR("2024-03-01 16:00:00"), 60, &ms));
    CHECK_EQ(1709305200000LL, ms);                         /* 2024-03-01T15:00:00Z */
    CHECK_EQ(SX_OK, presta_local_ms(SX_STR("2024-01-01 00:30:00"), 60, &ms));
    CHECK_EQ(1704065400000LL, ms);                         /* 2023-12-31T23:30:00Z */
    CHECK_EQ(SX_OK, presta_local_ms(SX_STR("2024-02-29 21:15:00"), -300, &ms));
    CHECK_EQ(1709259300000LL, ms);                         /* 2024-03-01T02:15:00Z */
    CHECK_EQ(SX_OK, presta_local_ms(SX_STR("2024-03-01 15:00:00"), 0, &ms));
    CHECK_EQ(1709305200000LL, ms);
    CHECK(presta_local_ms(SX_STR("2024-02-30 00:00:00"), 0, &ms) != SX_OK);
    CHECK(presta_local_ms(SX_STR("yesterday"), 0, &ms) != SX_OK);
    end();
}

/* ---- customers ------------------------------------------------------------------------------- */

#define CUSTOMER_1                                                                             \
    "{'id':1,'id_default_group':'3','id_lang':'1','deleted':'0','lastname':'Nowak',"           \
    "'firstname':'Yūki','email':'customer1@example.org','company':'','siret':'','ape':'',"     \
    "'note':'','active':'1','is_guest':'0','date_add':'2024-01-01 00:30:00',"                   \
    "'date_upd':'2024-01-20 21:27:22'}"

#define ADDRESSES_1                                                                            \
    "[{'id':1,'id_customer':'1','id_country':'8','id_state':'0','alias':'Mon adresse',"       \
    "'company':'Nowak & Fils','lastname':'Nowak','firstname':'Yūki','vat_number':"            \
    "'FR40303265045','address1':'1 rue de l’Église','address2':'Bât. B','postcode':'74243',"  \
    "'city':'Paris','phone':'+33 1 74402688','phone_mobile':'','deleted':'0'},"                 \
    "{'id':9,'id_customer':'1','id_country':'3','company':'','lastname':'Nowak','firstname':"  \
    "'Yūki','vat_number':'','address1':'old street','postcode':'1','city':'Gone',"            \
    "'deleted':'1'},"                                                                           \
    "{'id':12,'id_customer':'2','id_country':'8','address1':'not hers','city':'Paris'},"       \
    "{'id':14,'id_customer':'1','id_country':'14','id_state':'0','company':'','lastname':"     \
    "'Nowak','firstname':'Yūki','vat_number':'','address1':'ul. Długa 5','address2':'',"      \
    "'postcode':'31-147','city':'Kraków','phone':'','phone_mobile':'+48 600 100 200',"         \
    "'deleted':'0'},"                                                                           \
    "{'id':15,'id_customer':'1','id_country':'99','address1':'','city':'','postcode':''}]"

static void
test_customer_with_addresses(void)
{
    const sx_json *c;
    int            rc;

    begin();
    /* A shop at +01:00: 2024-01-01 00:30 local is the day before in UTC. */
    c = customer(CUSTOMER_1, ADDRESSES_1, "{'8':'FR','14':'pl','3':'BE'}", 60, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(c != NULL);
    CHECK_STR_EQ("1", S(c, "external_id"));
    CHECK_STR_EQ("2024-01-20T20:27:22Z", S(c, "updated_at"));
    CHECK_STR_EQ("2023-12-31T23:30:00Z", S(c, "created_at"));
    CHECK_STR_EQ("customer1@example.org", S(c, "email"));
    CHECK_STR_EQ("Yūki", S(c, "first_name"));
    CHECK_STR_EQ("Nowak", S(c, "last_name"));
    CHECK_STR_HAS(last_text, "\"company_name\":null");
    CHECK_STR_HAS(last_text, "\"note\":null");
    /* siret empty: the billing address's VAT number. */
    CHECK_STR_EQ("FR40303265045", S(c, "tax_id"));
    CHECK(at(c, "deleted") == NULL);
    /* The deleted address, another customer's and an empty one are left out. */
    CHECK_EQ(2, h->json_length(at(c, "addresses")));
    CHECK_STR_EQ("billing", S(c, "addresses.0.kind"));
    CHECK_STR_EQ("Yūki", S(c, "addresses.0.first_name"));
    CHECK_STR_EQ("Nowak", S(c, "addresses.0.last_name"));
    CHECK_STR_EQ("Nowak & Fils", S(c, "addresses.0.company_name"));
    CHECK_STR_EQ("1 rue de l’Église", S(c, "addresses.0.line1"));
    CHECK_STR_EQ("Bât. B", S(c, "addresses.0.line2"));
    CHECK_STR_EQ("Paris", S(c, "addresses.0.city"));
    CHECK_STR_EQ("74243", S(c, "addresses.0.postal_code"));
    CHECK_STR_EQ("FR", S(c, "addresses.0.country_code"));
    CHECK_STR_EQ("+33 1 74402688", S(c, "addresses.0.phone"));
    CHECK_STR_EQ("other", S(c, "addresses.1.kind"));
    CHECK_STR_EQ("ul. Długa 5", S(c, "addresses.1.line1"));
    CHECK_STR_EQ("(absent)", S(c, "addresses.1.line2"));
    CHECK_STR_EQ("(absent)", S(c, "addresses.1.company_name"));
    CHECK_STR_EQ("31-147", S(c, "addresses.1.postal_code"));
    CHECK_STR_EQ("PL", S(c, "addresses.1.country_code"));
    CHECK_STR_EQ("+48 600 100 200", S(c, "addresses.1.phone"));
    CHECK_EQ(1, I(c, "raw.id"));
    CHECK_STR_EQ("2024-01-20 21:27:22", S(c, "raw.date_upd"));

    /* No countries table: no country code. No address list: no addresses key. A siret. */
    c = customer(CUSTOMER_1, "[" "{'id':1,'id_customer':'1','id_country':'8','address1':'x'}"
                             "]", NULL, 0, &rc);
    REQUIRE(c != NULL);
    CHECK_STR_EQ("(absent)", S(c, "addresses.0.country_code"));
    CHECK_STR_EQ("2024-01-20T21:27:22Z", S(c, "updated_at"));
    c = customer("{'id':5,'firstname':'','lastname':'','email':'','company':'ACME SARL',"
                 "'siret':'73282932000074','date_add':'2024-01-02 03:04:05',"
                 "'date_upd':'0000-00-00 00:00:00'}", NULL, NULL, 0, &rc);
    REQUIRE(c != NULL);
    CHECK(at(c, "addresses") == NULL);
    CHECK_STR_EQ("ACME SARL", S(c, "company_name"));
    CHECK_STR_EQ("73282932000074", S(c, "tax_id"));
    CHECK_STR_EQ("2024-01-02T03:04:05Z", S(c, "updated_at"));   /* never updated: date_add */
    CHECK_STR_HAS(last_text, "\"email\":null");
    end();
}

static void
test_customer_deleted_and_refused(void)
{
    const sx_json *c;
    int            rc;

    begin();
    /* platforms.md 3.3: soft-deleted, still listed. Only the required keys. */
    c = customer("{'id':7,'deleted':'1','lastname':'Rossi','firstname':'Sarah','email':"
                 "'customer7@example.org','date_add':'2024-01-15 15:24:00','date_upd':"
                 "'2024-03-02 00:10:00'}", ADDRESSES_1, NULL, -300, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(c != NULL);
    CHECK_STR_EQ("{\"external_id\":\"7\",\"updated_at\":\"2024-03-02T05:10:00Z\","
                 "\"deleted\":true}", last_text);

    /* Nothing to name it by. */
    CHECK(customer("{'id':8,'email':'','firstname':'','lastname':'','company':'',"
                   "'date_upd':'2024-01-02 03:04:05'}", NULL, NULL, 0, &rc) == NULL);
    CHECK_EQ(SX_E_REJECTED, rc);
    CHECK_STR_HAS(call.err.msg, "customer 8");
    /* No time, a bad time, no id, not an object, addresses that are no list. */
    CHECK(customer("{'id':9,'email':'a@b.c'}", NULL, NULL, 0, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "customer 9 has neither date_upd nor date_add");
    CHECK(customer("{'id':10,'email':'a@b.c','date_upd':'2024-13-01 00:00:00'}", NULL, NULL, 0,
                   &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "customer 10 has an unreadable date_upd");
    CHECK(customer("{'id':11,'email':'a@b.c','date_upd':'2024-01-02 03:04:05','date_add':5}",
                   NULL, NULL, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "customer 11 has an unreadable date_add");
    CHECK(customer("{'id':'x1','email':'a@b.c'}", NULL, NULL, 0, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK(customer("{'id':0,'email':'a@b.c'}", NULL, NULL, 0, &rc) == NULL);
    CHECK(customer("[1]", NULL, NULL, 0, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK(customer(CUSTOMER_1, "{'id':1}", NULL, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "customer 1: addresses is not a list");
    end();
}

/* ---- products -------------------------------------------------------------------------------- */

#define PRODUCT_3                                                                              \
    "{'id':3,'id_manufacturer':'0','id_default_combination':'0','id_tax_rules_group':'1',"    \
    "'type':'simple','reference':'PS-000003','ean13':'4006381333931','price':'63.300000',"    \
    "'wholesale_price':'31.650000','active':'1','product_type':'standard',"                    \
    "'name':[{'id':'1','value':'Tiny 🙂 Teapot'},{'id':'2','value':'Théière minuscule 🙂'}],"   \
    "'description':[{'id':'1','value':'<p>A fine product &amp; more.</p>'},"                   \
    "{'id':'2','value':'<p>Un produit « soigné ».</p>'}],"                                     \
    "'date_add':'2024-01-01 01:00:00','date_upd':'2024-01-02 21:03:03',"                       \
    "'associations':{'stock_availables':[{'id':'10','id_product_attribute':'0'}]}}"

static void
test_simple_product_with_stock(void)
{
    const sx_json *p;
    int            rc;

    begin();
    p = product(PRODUCT_3, NULL,
                "[{'id':10,'id_product':'3','id_product_attribute':'0','id_shop':'1',"
                "'quantity':'67','depends_on_stock':'0','out_of_stock':'2'}]",
                "EUR", 1, 60, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("3", S(p, "external_id"));
    CHECK_STR_EQ("2024-01-02T20:03:03Z", S(p, "updated_at"));
    CHECK_STR_EQ("2024-01-01T00:00:00Z", S(p, "created_at"));
    CHECK_STR_EQ("Tiny 🙂 Teapot", S(p, "title"));
    CHECK_STR_EQ("<p>A fine product &amp; more.</p>", S(p, "description"));
    CHECK_STR_EQ("active", S(p, "status"));
    CHECK_STR_EQ("EUR", S(p, "currency"));
    CHECK_EQ(1, h->json_length(at(p, "variants")));
    CHECK_STR_EQ("3", S(p, "variants.0.external_id"));
    CHECK_STR_EQ("(absent)", S(p, "variants.0.title"));
    CHECK_STR_EQ("PS-000003", S(p, "variants.0.sku"));
    CHECK_STR_EQ("4006381333931", S(p, "variants.0.barcode"));
    CHECK_EQ(6330, I(p, "variants.0.price_minor"));
    CHECK_EQ(1, B(p, "variants.0.taxable"));
    CHECK_EQ(67, I(p, "variants.0.stock"));
    CHECK_EQ(1, I(p, "variants.0.position"));
    /* The other language stays in raw. */
    CHECK_STR_EQ("Théière minuscule 🙂", S(p, "raw.name.1.value"));

    /* Language 2; inactive is a draft; no stock entry: stock not tracked (absent); no tax. */
    p = product("{'id':4,'active':'0','id_tax_rules_group':'0','price':'9.990000',"
                "'reference':'','ean13':'','name':[{'id':'1','value':'Mug'},"
                "{'id':'2','value':'Tasse'}],'description':[{'id':'1','value':''}],"
                "'date_upd':'2024-01-02 21:03:03'}", "[]", "[]", "EUR", 2, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("Tasse", S(p, "title"));
    CHECK_STR_EQ("draft", S(p, "status"));
    CHECK_STR_HAS(last_text, "\"description\":null");
    CHECK_STR_EQ("4", S(p, "variants.0.external_id"));
    CHECK_EQ(999, I(p, "variants.0.price_minor"));
    CHECK(at(p, "variants.0.stock") == NULL);
    CHECK(at(p, "variants.0.sku") == NULL);
    CHECK_EQ(0, B(p, "variants.0.taxable"));
    end();
}

#define PRODUCT_1                                                                              \
    "{'id':1,'id_default_combination':'1','id_tax_rules_group':'1','type':'combinations',"    \
    "'reference':'PS-000001','ean13':'4006381333931','price':'120.990000','active':'1',"      \
    "'product_type':'combinations','name':[{'id':'1','value':'Nordic Lamp'},"                 \
    "{'id':'2','value':'Lampe nordique'}],'description':[{'id':'1','value':'<p>Lamp</p>'},"   \
    "{'id':'2','value':'<p>Lampe</p>'}],'date_add':'2024-01-01 01:00:00',"                      \
    "'date_upd':'2024-01-04 17:19:44','associations':{'combinations':[{'id':'1'},{'id':'2'}],"  \
    "'stock_availables':[{'id':'1','id_product_attribute':'0'},"                               \
    "{'id':'2','id_product_attribute':'1'},{'id':'3','id_product_attribute':'2'}]}}"

#define COMBINATIONS_1                                                                         \
    "[{'id':1,'id_product':'1','reference':'PS-000001-0','ean13':'','price':'0.000000',"      \
    "'default_on':'1','associations':{'product_option_values':[{'id':'3','name':"              \
    "[{'id':'1','value':'White'},{'id':'2','value':'Blanc'}]},{'id':'7','name':"               \
    "[{'id':'1','value':'L'}]}]}},"                                                             \
    "{'id':2,'id_product':'1','reference':'PS-000001-1','ean13':'4006381333948',"              \
    "'price':'-20.500000','default_on':'','associations':{'product_option_values':"           \
    "[{'id':'4'}]}}]"

#define STOCKS_1                                                                               \
    "[{'id':1,'id_product':'1','id_product_attribute':'0','quantity':'0'},"                    \
    "{'id':2,'id_product':'1','id_product_attribute':'1','quantity':'33'},"                    \
    "{'id':3,'id_product':'1','id_product_attribute':'2','quantity':'-2'},"                    \
    "{'id':9,'id_product':'5','id_product_attribute':'2','quantity':'500'}]"

static void
test_product_with_combinations(void)
{
    const sx_json *p;
    int            rc;

    begin();
    p = product(PRODUCT_1, COMBINATIONS_1, STOCKS_1, "EUR", 2, 60, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("1", S(p, "external_id"));
    CHECK_STR_EQ("Lampe nordique", S(p, "title"));
    CHECK_STR_EQ("<p>Lampe</p>", S(p, "description"));
    CHECK_EQ(2, h->json_length(at(p, "variants")));
    /* Variant ids are combination ids: unique in the shop, and order rows' attribute ids. */
    CHECK_STR_EQ("1-1", S(p, "variants.0.external_id"));
    CHECK_STR_EQ("Blanc / L", S(p, "variants.0.title"));
    CHECK_STR_EQ("PS-000001-0", S(p, "variants.0.sku"));
    CHECK(at(p, "variants.0.barcode") == NULL);
    CHECK_EQ(12099, I(p, "variants.0.price_minor"));          /* base + 0 */
    CHECK_EQ(33, I(p, "variants.0.stock"));
    CHECK_EQ(1, I(p, "variants.0.position"));
    CHECK_EQ(1, B(p, "variants.0.taxable"));
    CHECK_STR_EQ("1-2", S(p, "variants.1.external_id"));
    CHECK_STR_EQ("PS-000001-1", S(p, "variants.1.title"));   /* option values without names */
    CHECK_STR_EQ("4006381333948", S(p, "variants.1.barcode"));
    CHECK_EQ(10049, I(p, "variants.1.price_minor"));          /* 120.99 - 20.50 */
    CHECK_EQ(-2, I(p, "variants.1.stock"));                   /* oversold */
    CHECK_EQ(2, I(p, "variants.1.position"));
    CHECK_STR_EQ("Nordic Lamp", S(p, "raw.name.0.value"));

    /* Impacts below the base price, a combination of another product, twice the same. */
    CHECK(product(PRODUCT_1, "[{'id':5,'id_product':'1','price':'-121.000000'}]", NULL,
                  "EUR", 1, 0, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "product 1 combination 5 has a price impact below");
    CHECK(product(PRODUCT_1, "[{'id':5,'id_product':'2','price':'1.000000'}]", NULL, "EUR", 1,
                  0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 1 combination 5 belongs to product 2");
    CHECK(product(PRODUCT_1, "[{'id':5,'price':'1'},{'id':5,'price':'2'}]", NULL, "EUR", 1, 0,
                  &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "combination 5 is listed twice");
    CHECK(product(PRODUCT_1, "[{'price':'1'}]", NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 1 has a combination without an id");
    CHECK(product(PRODUCT_1, "[{'id':6,'price':'1,5'}]", NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 1 combination 6 has an unreadable price \"1,5\"");
    CHECK(product(PRODUCT_1, COMBINATIONS_1, "[{'id_product':'1','id_product_attribute':'2',"
                  "'quantity':'lots'}]", "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 1 combination 2 has an unreadable quantity");
    end();
}

static void
test_product_prices_and_refusals(void)
{
    const sx_json *p;
    char          *big;
    size_t         len, i, cap = 64 * 1024;
    int            rc;

    begin();
    /* Six decimals rounded half away from zero to the currency's exponent; JPY has none. */
    p = product("{'id':20,'name':'Teapot','price':'1500.000000','date_upd':"
                "'2024-01-02 21:03:03'}", NULL, NULL, "JPY", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_EQ(1500, I(p, "variants.0.price_minor"));
    p = product("{'id':21,'name':'Teapot','price':'16.658333','date_upd':"
                "'2024-01-02 21:03:03'}", NULL, NULL, "EUR", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_EQ(1666, I(p, "variants.0.price_minor"));
    p = product("{'id':22,'name':'Teapot','price':'1.234500','date_upd':"
                "'2024-01-02 21:03:03'}", NULL, NULL, "KWD", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_EQ(1235, I(p, "variants.0.price_minor"));

    /* Bad money is refused, naming the product and the field. */
    CHECK(product("{'id':23,'name':'x','price':'19,99','date_upd':'2024-01-02 21:03:03'}",
                  NULL, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "product 23 has an unreadable price \"19,99\" (not a decimal "
                                "amount)");
    CHECK(product("{'id':24,'name':'x','price':19.99,'date_upd':'2024-01-02 21:03:03'}",
                  NULL, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 24 has an unreadable price");
    CHECK(product("{'id':25,'name':'x','price':'-1.000000','date_upd':'2024-01-02 21:03:03'}",
                  NULL, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 25 has a negative price");
    CHECK(product("{'id':26,'name':'x','date_upd':'2024-01-02 21:03:03'}", NULL, NULL, "EUR",
                  1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 26 has no price");
    CHECK(product("{'id':27,'name':'x','price':'99999999999999999999.000000','date_upd':"
                  "'2024-01-02 21:03:03'}", NULL, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 27 has an unreadable price");
    CHECK(product("{'id':28,'name':[{'id':'1','value':''}],'price':'1','date_upd':"
                  "'2024-01-02 21:03:03'}", NULL, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_EQ(SX_E_REJECTED, rc);
    CHECK_STR_HAS(call.err.msg, "product 28 has no name");
    CHECK(product("{'id':29,'name':'x','price':'1','date_upd':'2024-01-02 21:03:03'}", NULL,
                  NULL, "eur", 1, 0, &rc) == NULL);
    CHECK_EQ(SX_E_INVALID, rc);
    CHECK(product(PRODUCT_3, "{'id':1}", NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 3: combinations is not a list");
    CHECK(product(PRODUCT_3, NULL, "[5]", "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 3 has a stock_available that is not an object");

    /* More combinations than the bound: a clear refusal, not a truncation. */
    big = h->alloc(&call.cx, cap);
    REQUIRE(big != NULL);
    len = (size_t)snprintf(big, cap, "[");
    for (i = 0; i <= PRESTA_MAX_ITEMS; i++)
        len += (size_t)snprintf(big + len, cap - len, "%s{'id':%zu}", i ? "," : "", i + 1);
    snprintf(big + len, cap - len, "]");
    CHECK(product(PRODUCT_3, big, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_EQ(SX_E_LIMIT, rc);
    CHECK_STR_HAS(call.err.msg, "product 3 has 2001 combinations, more than 2000");
    end();
}

/* ---- orders ---------------------------------------------------------------------------------- */

/* EUR, VAT 5.5 %, a cart rule and a carrier, two rows (one a combination).
 *   rows:     1 x 30.49 (tax 1.68) + 2 x 122.49 = 244.98 (tax 13.47) = 275.47
 *   totals:   275.47 - 3.04 + 6.99 = 279.42 excl; 294.79 incl; tax 15.37 */
#define ORDER_5(state, upd)                                                                    \
    "{'id':5,'id_address_delivery':'32','id_address_invoice':'32','id_cart':'105',"           \
    "'id_currency':'1','id_lang':'1','id_customer':'20','id_carrier':'2','current_state':'"   \
    state "','module':'ps_wirepayment','valid':'1','date_add':'2024-02-29 21:15:00',"         \
    "'date_upd':'" upd "','payment':'Chèque','total_discounts':'3.040000',"                    \
    "'total_discounts_tax_incl':'3.210000','total_discounts_tax_excl':'3.040000',"             \
    "'total_paid':'294.790000','total_paid_tax_incl':'294.790000',"                            \
    "'total_paid_tax_excl':'279.420000','total_paid_real':'294.790000',"                       \
    "'total_products':'275.470000','total_products_wt':'290.620000',"                          \
    "'total_shipping':'7.370000','total_shipping_tax_incl':'7.370000',"                        \
    "'total_shipping_tax_excl':'6.990000','carrier_tax_rate':'5.500',"                         \
    "'total_wrapping':'0.000000','total_wrapping_tax_incl':'0.000000',"                        \
    "'total_wrapping_tax_excl':'0.000000','round_mode':'2','round_type':'2',"                  \
    "'conversion_rate':'1.000000','reference':'4JJHOS624','associations':{'order_rows':["      \
    "{'id':'8','product_id':'8','product_attribute_id':'0','product_quantity':'1',"            \
    "'product_name':'Nordic Lamp','product_reference':'PS-000008','product_price':"           \
    "'30.490000','unit_price_tax_incl':'32.170000','unit_price_tax_excl':'30.490000'},"        \
    "{'id':'9','product_id':'1','product_attribute_id':'2','product_quantity':'2',"            \
    "'product_name':'Nordic Lamp - Blanc','product_reference':'PS-000001-1','product_price':" \
    "'122.490000','unit_price_tax_incl':'129.230000','unit_price_tax_excl':'122.490000'}]}}"

#define ORDER_5_PAID ORDER_5("2", "2024-03-01 23:59:59")

/* Details of order 5 (row 9's detail found by product and attribute) and one of order 6. */
#define DETAILS_5                                                                              \
    "[{'id':77,'id_order':'6','product_id':'1','product_attribute_id':'2',"                    \
    "'product_quantity':'1','tax_rate':'20.000','total_price_tax_incl':'146.990000',"          \
    "'total_price_tax_excl':'122.490000'},"                                                     \
    "{'id':8,'id_order':'5','product_id':'8','product_attribute_id':'0','product_quantity':"   \
    "'1','tax_rate':'5.500','unit_price_tax_incl':'32.170000','unit_price_tax_excl':"         \
    "'30.490000','total_price_tax_incl':'32.170000','total_price_tax_excl':'30.490000'},"      \
    "{'id':99,'id_order':'5','product_id':'1','product_attribute_id':'2','product_quantity':" \
    "'2','tax_rate':'5.500','total_price_tax_incl':'258.450000','total_price_tax_excl':"      \
    "'244.980000'}]"

static void
test_order(void)
{
    const sx_json *o;
    int            rc;

    begin();
    /* A shop at -05:00: 21:15 on 29 February is 02:15 on 1 March in UTC. */
    o = order(ORDER_5("2", "2024-03-01 23:59:59"), DETAILS_5, "EUR", -300, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("5", S(o, "external_id"));
    CHECK_STR_EQ("2024-03-02T04:59:59Z", S(o, "updated_at"));
    CHECK_STR_EQ("2024-03-01T02:15:00Z", S(o, "created_at"));
    CHECK_STR_EQ("4JJHOS624", S(o, "number"));
    CHECK_STR_EQ("open", S(o, "status"));
    CHECK_STR_EQ("paid", S(o, "financial_status"));
    CHECK(at(o, "cancelled_at") == NULL);
    CHECK_STR_EQ("EUR", S(o, "currency"));
    CHECK_EQ(0, B(o, "taxes_included"));
    CHECK_STR_EQ("20", S(o, "customer.external_id"));
    CHECK_EQ(2, h->json_length(at(o, "lines")));
    CHECK_STR_EQ("8", S(o, "lines.0.external_id"));
    CHECK_STR_EQ("8", S(o, "lines.0.product_external_id"));
    CHECK_STR_EQ("8", S(o, "lines.0.variant_external_id"));    /* simple: the product */
    CHECK_STR_EQ("PS-000008", S(o, "lines.0.sku"));
    CHECK_STR_EQ("Nordic Lamp", S(o, "lines.0.title"));
    CHECK_EQ(1, I(o, "lines.0.quantity"));
    CHECK_EQ(3049, I(o, "lines.0.unit_price_minor"));
    CHECK_EQ(3049, I(o, "lines.0.total_minor"));
    CHECK_EQ(168, I(o, "lines.0.tax_minor"));
    CHECK_EQ(55000, I(o, "lines.0.taxes.0.rate_ppm"));
    CHECK_EQ(168, I(o, "lines.0.taxes.0.amount_minor"));
    CHECK_STR_EQ("9", S(o, "lines.1.external_id"));
    CHECK_STR_EQ("1", S(o, "lines.1.product_external_id"));
    CHECK_STR_EQ("1-2", S(o, "lines.1.variant_external_id"));  /* the combination */
    CHECK_EQ(2, I(o, "lines.1.quantity"));
    CHECK_EQ(12249, I(o, "lines.1.unit_price_minor"));
    CHECK_EQ(24498, I(o, "lines.1.total_minor"));
    CHECK_EQ(1347, I(o, "lines.1.tax_minor"));                 /* not order 6's detail */
    CHECK_EQ(55000, I(o, "lines.1.taxes.0.rate_ppm"));
    CHECK_EQ(1, h->json_length(at(o, "discounts")));
    CHECK_STR_HAS(last_text, "\"discounts\":[{\"code\":null,");
    CHECK_EQ(304, I(o, "discounts.0.amount_minor"));
    CHECK_EQ(1, h->json_length(at(o, "shipping")));
    CHECK_EQ(699, I(o, "shipping.0.amount_minor"));
    CHECK_EQ(38, I(o, "shipping.0.tax_minor"));
    CHECK_EQ(27547, I(o, "subtotal_minor"));
    CHECK_EQ(304, I(o, "discount_minor"));
    CHECK_EQ(699, I(o, "shipping_minor"));
    CHECK_EQ(1537, I(o, "tax_minor"));
    CHECK_EQ(29479, I(o, "total_minor"));
    CHECK_EQ(27547 - 304 + 699 + 1537, I(o, "total_minor"));
    CHECK(at(o, "refunds") == NULL);
    CHECK(at(o, "refunded_minor") == NULL);
    CHECK_STR_EQ("Chèque", S(o, "raw.payment"));

    /* Without details: no taxes on the lines, the order's tax still given. */
    o = order(ORDER_5("4", "2024-03-01 23:59:59"), NULL, "EUR", 0, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("completed", S(o, "status"));
    CHECK(at(o, "lines.0.tax_minor") == NULL);
    CHECK(at(o, "lines.0.taxes") == NULL);
    CHECK_EQ(1537, I(o, "tax_minor"));
    end();
}

static void
test_order_states(void)
{
    static const struct {
        const char *state, *status, *fin;
    } t[] = {
        { "1", "open", "pending" },      { "2", "open", "paid" },
        { "3", "open", "paid" },         { "4", "completed", "paid" },
        { "5", "completed", "paid" },    { "6", "cancelled", "voided" },
        { "7", "completed", "refunded" }, { "8", "cancelled", "voided" },
        { "9", "open", "paid" },         { "10", "open", "pending" },
        { "11", "open", "paid" },        { "12", "open", "pending" },
        { "13", "open", "pending" },     { "42", "open", "paid" },    /* valid "1" */
    };
    const sx_json *o;
    char           rec[8192];
    size_t         i;
    int            rc;

    begin();
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(rec, sizeof(rec), ORDER_5("%s", "2024-03-01 23:59:59"), t[i].state);
        o = order(rec, DETAILS_5, "EUR", 60, &rc);
        REQUIRE(o != NULL);
        CHECK_STR_EQ(t[i].status, S(o, "status"));
        CHECK_STR_EQ(t[i].fin, S(o, "financial_status"));
    }

    /* Cancelled: when, by the last change. */
    o = order(ORDER_5("6", "2024-01-01 00:10:00"), DETAILS_5, "EUR", 60, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("2023-12-31T23:10:00Z", S(o, "cancelled_at"));
    CHECK(at(o, "refunds") == NULL);

    /* Refunded: the whole total given back, once, with a stable id. */
    o = order(ORDER_5("7", "2024-03-05 13:10:00"), DETAILS_5, "EUR", 60, &rc);
    REQUIRE(o != NULL);
    CHECK(at(o, "cancelled_at") == NULL);
    CHECK_EQ(1, h->json_length(at(o, "refunds")));
    CHECK_STR_EQ("5-refund", S(o, "refunds.0.external_id"));
    CHECK_EQ(29479, I(o, "refunds.0.amount_minor"));
    CHECK_STR_EQ("2024-03-05T12:10:00Z", S(o, "refunds.0.created_at"));
    CHECK_EQ(29479, I(o, "refunded_minor"));

    /* A state of the shop's own, not valid: pending. */
    snprintf(rec, sizeof(rec), "%s", ORDER_5("42", "2024-03-01 23:59:59"));
    memcpy(strstr(rec, "'valid':'1'"), "'valid':'0'", 11);
    o = order(rec, NULL, "EUR", 0, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("pending", S(o, "financial_status"));
    end();
}

/* Replace the first `from` of ORDER_5 by `to` and map it. */
static const sx_json *
order_with(const char *from, const char *to, const char *details, int *rc)
{
    char        rec[8192];
    const char *base = ORDER_5_PAID, *p = strstr(base, from);

    REQUIRE(p != NULL);
    snprintf(rec, sizeof(rec), "%.*s%s%s", (int)(p - base), base, to, p + strlen(from));
    return order(rec, details, "EUR", 0, rc);
}

static void
test_order_refusals(void)
{
    const sx_json *o;
    int            rc;

    begin();
    /* Bad money, named with the order, the row and the field. */
    CHECK(order_with("'unit_price_tax_excl':'30.490000'", "'unit_price_tax_excl':'30,49'",
                     DETAILS_5, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "order 5 row 8 has an unreadable unit_price_tax_excl \"30,49\" "
                                "(not a decimal amount)");
    CHECK(order_with("'total_paid_tax_incl':'294.790000'", "'total_paid_tax_incl':'1e3'",
                     DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has an unreadable total_paid_tax_incl \"1e3\"");
    CHECK(order_with("'total_products':'275.470000'", "'total_products':''", DETAILS_5, &rc) ==
          NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has no total_products");
    CHECK(order_with("'total_shipping_tax_excl':'6.990000'", "'total_shipping_tax_excl':"
                     "'-6.990000'", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has a negative total_shipping_tax_excl");
    CHECK(order_with("'total_paid_tax_incl':'294.790000'", "'total_paid_tax_incl':"
                     "'100.000000'", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has total_paid_tax_incl below total_paid_tax_excl");
    CHECK(order_with("'total_paid_tax_incl':'294.790000'", "'total_paid_tax_incl':"
                     "'92233720368547758.08'", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has an unreadable total_paid_tax_incl");
    CHECK(order_with("'product_quantity':'2'", "'product_quantity':'0'", DETAILS_5, &rc) ==
          NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 row 9 has no usable product_quantity");
    /* 90071992547409.91 x 200 does not fit in 64 bits. */
    CHECK(order_with("'product_quantity':'2','product_name':'Nordic Lamp - Blanc','product_"
                     "reference':'PS-000001-1','product_price':'122.490000','unit_price_tax_"
                     "incl':'129.230000','unit_price_tax_excl':'122.490000'",
                     "'product_quantity':'20000','product_name':'x','unit_price_tax_excl':"
                     "'900719925474099.000000'", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 row 9 has an amount out of range");
    CHECK(order_with("'id':'8','product_id'", "'product_id'", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has an order row without an id");
    CHECK(order_with("'current_state':'2'", "'current_state':'x'", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has no readable current_state");
    CHECK(order_with("'order_rows':[", "'order_rows':'x','y':[", DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5: order_rows is not a list");
    CHECK(order_with("'date_add':'2024-02-29 21:15:00'", "'date_add':'2024-02-30 21:15:00'",
                     DETAILS_5, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has an unreadable date_add");

    /* Bad details: a tax rate that is no rate, totals the wrong way round. */
    CHECK(order(ORDER_5_PAID, "[{'id':8,'id_order':'5','tax_rate':'20 %',"
                "'total_price_tax_incl':'1','total_price_tax_excl':'1'}]", "EUR", 0, &rc) ==
          NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 row 8 order_detail has an unreadable tax_rate");
    CHECK(order(ORDER_5_PAID, "[{'id':8,'id_order':'5','tax_rate':'-5.500',"
                "'total_price_tax_incl':'1','total_price_tax_excl':'1'}]", "EUR", 0, &rc) ==
          NULL);
    CHECK_STR_HAS(call.err.msg, "unreadable tax_rate");
    CHECK(order(ORDER_5_PAID, "[{'id':8,'id_order':'5','tax_rate':'5.500',"
                "'total_price_tax_incl':'1.000000','total_price_tax_excl':'2.000000'}]", "EUR",
                0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 row 8 order_detail has total_price_tax_incl below "
                                "total_price_tax_excl");
    CHECK(order(ORDER_5_PAID, "{'id':8}", "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5: order_details is not a list");

    /* A currency that is none. */
    CHECK(order(ORDER_5_PAID, NULL, "", 0, &rc) == NULL);
    CHECK_EQ(SX_E_INVALID, rc);
    CHECK_STR_HAS(call.err.msg, "order 5");

    /* No discount, no shipping: empty lists; a guest-less order without a customer id. */
    o = order_with("'total_discounts_tax_incl':'3.210000','total_discounts_tax_excl':'3.040000'",
                   "'total_discounts_tax_incl':'0.000000','total_discounts_tax_excl':"
                   "'0.000000'", NULL, &rc);
    REQUIRE(o != NULL);
    CHECK_EQ(SX_JSON_ARRAY, h->json_type(at(o, "discounts")));
    CHECK_EQ(0, h->json_length(at(o, "discounts")));
    CHECK_EQ(0, I(o, "discount_minor"));
    o = order_with("'id_customer':'20'", "'id_customer':'0'", NULL, &rc);
    REQUIRE(o != NULL);
    CHECK(at(o, "customer") == NULL);
    end();
}

/* ---- option values (variant titles) ------------------------------------------------------ */

/* As the Webservice gives them: a combination's associations carry only ids, sizes (lower ids)
 * before colors; combination 3 names a value the shop did not return. */
#define COMBINATIONS_IDS                                                                       \
    "[{'id':1,'id_product':'1','reference':'PS-000001-0','price':'0.000000',"                  \
    "'associations':{'product_option_values':[{'id':'7'},{'id':'3'}]}},"                        \
    "{'id':2,'id_product':'1','reference':'PS-000001-1','price':'1.500000',"                    \
    "'associations':{'product_option_values':[{'id':'4'}]}},"                                   \
    "{'id':3,'id_product':'1','reference':'PS-000001-2','price':'0.000000',"                    \
    "'associations':{'product_option_values':[{'id':'99'}]}},"                                  \
    "{'id':4,'id_product':'1','reference':'PS-000001-3','price':'0.000000'}]"

/* product_option_values, display=full: another product's value (8), a garbled record, a
 * value untranslated in French, and 7 listed twice (the first wins). */
#define OPTION_VALUES                                                                          \
    "[{'id':8,'id_attribute_group':'1','position':'0','name':[{'id':'1','value':'S'},"        \
    "{'id':'2','value':'P'}]},"                                                                 \
    "{'id':7,'id_attribute_group':'1','color':'','position':'2','name':"                       \
    "[{'id':'1','value':'L'},{'id':'2','value':'G'}]},"                                         \
    "'garbled',{'name':'no id'},"                                                               \
    "{'id':3,'id_attribute_group':'2','color':'#ffffff','position':'4','name':"                \
    "[{'id':'1','value':'White'},{'id':'2','value':'Blanc'}]},"                                 \
    "{'id':4,'id_attribute_group':'2','color':'#5D9CEC','position':'1','name':"                \
    "[{'id':'1','value':'Blue'},{'id':'2','value':''}]},"                                       \
    "{'id':7,'id_attribute_group':'1','name':[{'id':'1','value':'Duplicate'}]}]"

/* product_options, display=[id,position]: Color (2) is shown before Size (1). */
#define OPTION_GROUPS "[{'id':1,'position':'1'},{'id':2,'position':'0'},{'id':'x'}]"

static void
test_option_titles(void)
{
    const sx_json *p;
    int            rc;

    begin();
    p = product_opts(PRODUCT_1, COMBINATIONS_IDS, STOCKS_1, OPTION_VALUES, OPTION_GROUPS,
                     "EUR", 1, 60, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(p != NULL);
    CHECK_EQ(4, h->json_length(at(p, "variants")));
    /* By the groups' positions, not the association's order. */
    CHECK_STR_EQ("White / L", S(p, "variants.0.title"));
    CHECK_STR_EQ("Blue", S(p, "variants.1.title"));
    /* A value the shop did not return, no values at all: the reference, as before. */
    CHECK_STR_EQ("PS-000001-2", S(p, "variants.2.title"));
    CHECK_STR_EQ("PS-000001-3", S(p, "variants.3.title"));
    CHECK_STR_EQ("1-1", S(p, "variants.0.external_id"));
    CHECK_EQ(12099, I(p, "variants.0.price_minor"));
    /* Every language of the values used stays in the product's raw, by id; the record's
     * own members are still there. */
    CHECK_EQ(3, h->json_length(at(p, "raw.product_option_values")));
    CHECK_EQ(3, I(p, "raw.product_option_values.0.id"));
    CHECK_STR_EQ("Blanc", S(p, "raw.product_option_values.0.name.1.value"));
    CHECK_STR_EQ("#ffffff", S(p, "raw.product_option_values.0.color"));
    CHECK_EQ(4, I(p, "raw.product_option_values.1.id"));
    CHECK_EQ(7, I(p, "raw.product_option_values.2.id"));
    CHECK_STR_EQ("G", S(p, "raw.product_option_values.2.name.1.value"));
    CHECK_STR_HAS(last_text, "\"value\":\"L\"");
    CHECK(strstr(last_text, "Duplicate") == NULL);
    CHECK(strstr(last_text, "\"value\":\"P\"") == NULL);       /* value 8 names no variant */
    CHECK_EQ(1, I(p, "raw.id"));
    CHECK_STR_EQ("Lampe nordique", S(p, "raw.name.1.value"));
    CHECK_STR_EQ("1", S(p, "raw.associations.combinations.0.id"));

    /* The integration's language; an untranslated value falls back to the first. */
    p = product_opts(PRODUCT_1, COMBINATIONS_IDS, NULL, OPTION_VALUES, OPTION_GROUPS, "EUR",
                     2, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("Blanc / G", S(p, "variants.0.title"));
    CHECK_STR_EQ("Blue", S(p, "variants.1.title"));

    /* Without the groups (a key that may not read product_options): the shop's order. */
    p = product_opts(PRODUCT_1, COMBINATIONS_IDS, NULL, OPTION_VALUES, NULL, "EUR", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("L / White", S(p, "variants.0.title"));

    /* Without the values (a key that may not read product_option_values): references, and
     * nothing added to raw. */
    p = product_opts(PRODUCT_1, COMBINATIONS_IDS, NULL, NULL, OPTION_GROUPS, "EUR", 1, 0, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("PS-000001-0", S(p, "variants.0.title"));
    CHECK_STR_EQ("PS-000001-1", S(p, "variants.1.title"));
    CHECK(at(p, "raw.product_option_values") == NULL);
    p = product_opts(PRODUCT_1, COMBINATIONS_IDS, NULL, "[]", "[]", "EUR", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("PS-000001-0", S(p, "variants.0.title"));

    /* A simple product ignores the values; one without a reference has no title. */
    p = product_opts(PRODUCT_3, NULL, NULL, OPTION_VALUES, OPTION_GROUPS, "EUR", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("(absent)", S(p, "variants.0.title"));
    CHECK(at(p, "raw.product_option_values") == NULL);
    p = product_opts(PRODUCT_1, "[{'id':9,'id_product':'1','price':'0.000000',"
                     "'associations':{'product_option_values':[{'id':'55'}]}}]", NULL,
                     OPTION_VALUES, OPTION_GROUPS, "EUR", 1, 0, &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("(absent)", S(p, "variants.0.title"));

    /* Values that are no list, and associations that are none, are refused. */
    CHECK(product_opts(PRODUCT_1, COMBINATIONS_IDS, NULL, "{'id':3}", NULL, "EUR", 1, 0,
                       &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "product 1: product_option_values is not a list");
    CHECK(product_opts(PRODUCT_1, "[{'id':9,'id_product':'1','price':'0.000000',"
                       "'associations':{'product_option_values':{'id':'3'}}}]", NULL,
                       OPTION_VALUES, NULL, "EUR", 1, 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 1 combination 9: product_option_values is not a list");
    end();
}

/* ---- order slips (refunds) ---------------------------------------------------------------- */

#define SLIP(id, order, prod, ship, date)                                                      \
    "{'id':" id ",'id_customer':'20','id_order':'" order "','conversion_rate':'1.000000',"     \
    "'total_products_tax_excl':'0.000000','total_products_tax_incl':'" prod "',"              \
    "'total_shipping_tax_excl':'0.000000','total_shipping_tax_incl':'" ship "',"              \
    "'amount':'" prod "','shipping_cost':'0','shipping_cost_amount':'" ship "',"              \
    "'partial':'1','date_add':'" date "','date_upd':'" date "','order_slip_type':'0',"         \
    "'associations':{'order_slip_details':[{'id':'" id "','id_order_detail':'8',"              \
    "'product_quantity':'1','amount_tax_excl':'30.490000','amount_tax_incl':'32.170000'}]}}"

static void
test_order_slips(void)
{
    const sx_json *o;
    int            rc;

    begin();
    /* One unit of row 8 given back; another order's slip and an empty one left out. */
    o = order_slips(ORDER_5_PAID, DETAILS_5,
                    "[" SLIP("3", "5", "32.170000", "0.000000", "2024-03-03 10:00:00") ","
                    SLIP("4", "6", "10.000000", "0.000000", "2024-03-03 10:00:00") ","
                    SLIP("5", "5", "0.000000", "0.000000", "2024-03-04 10:00:00") "]",
                    "EUR", 60, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("open", S(o, "status"));
    CHECK_STR_EQ("partially_refunded", S(o, "financial_status"));
    CHECK_EQ(1, h->json_length(at(o, "refunds")));
    CHECK_STR_EQ("3", S(o, "refunds.0.external_id"));
    CHECK_EQ(3217, I(o, "refunds.0.amount_minor"));
    CHECK_STR_EQ("2024-03-03T09:00:00Z", S(o, "refunds.0.created_at"));
    CHECK_EQ(3217, I(o, "refunded_minor"));
    CHECK_EQ(29479, I(o, "total_minor"));

    /* Two slips, products and shipping tax included, reaching the total: refunded. */
    o = order_slips(ORDER_5_PAID, NULL,
                    "[" SLIP("3", "5", "100.000000", "0.000000", "2024-03-03 10:00:00") ","
                    SLIP("6", "5", "187.420000", "7.370000", "2024-03-05 10:00:00") "]",
                    "EUR", 0, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("refunded", S(o, "financial_status"));
    CHECK_EQ(2, h->json_length(at(o, "refunds")));
    CHECK_EQ(10000, I(o, "refunds.0.amount_minor"));
    CHECK_EQ(19479, I(o, "refunds.1.amount_minor"));
    CHECK_STR_EQ("6", S(o, "refunds.1.external_id"));
    CHECK_EQ(29479, I(o, "refunded_minor"));

    /* A slip of PrestaShop 1.5: no totals, its amount and shipping_cost_amount. */
    o = order_slips(ORDER_5_PAID, NULL, "[{'id':7,'id_order':'5','amount':'20.000000',"
                    "'shipping_cost_amount':'7.370000','date_add':'2024-03-03 10:00:00'}]",
                    "EUR", 0, &rc);
    REQUIRE(o != NULL);
    CHECK_EQ(2737, I(o, "refunds.0.amount_minor"));
    CHECK_STR_EQ("partially_refunded", S(o, "financial_status"));

    /* Slips read, none: nothing refunded; the Refunded state without slips is still one
     * refund of the whole. */
    o = order_slips(ORDER_5_PAID, NULL, "[]", "EUR", 0, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("paid", S(o, "financial_status"));
    CHECK(at(o, "refunds") == NULL);
    CHECK(at(o, "refunded_minor") == NULL);
    o = order_slips(ORDER_5("7", "2024-03-05 13:10:00"), NULL, "[]", "EUR", 60, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("5-refund", S(o, "refunds.0.external_id"));
    CHECK_EQ(29479, I(o, "refunded_minor"));
    /* Refunded state with a partial slip: the merchant's word, the slip's money. */
    o = order_slips(ORDER_5("7", "2024-03-05 13:10:00"), NULL,
                    "[" SLIP("3", "5", "32.170000", "0.000000", "2024-03-03 10:00:00") "]",
                    "EUR", 60, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("refunded", S(o, "financial_status"));
    CHECK_EQ(1, h->json_length(at(o, "refunds")));
    CHECK_STR_EQ("3", S(o, "refunds.0.external_id"));
    CHECK_EQ(3217, I(o, "refunded_minor"));
    /* Cancelled and unpaid orders keep their state's word; the money still shows. */
    o = order_slips(ORDER_5("6", "2024-03-05 13:10:00"), NULL,
                    "[" SLIP("3", "5", "32.170000", "0.000000", "2024-03-03 10:00:00") "]",
                    "EUR", 60, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("cancelled", S(o, "status"));
    CHECK_STR_EQ("voided", S(o, "financial_status"));
    CHECK_EQ(3217, I(o, "refunded_minor"));
    o = order_slips(ORDER_5("1", "2024-03-05 13:10:00"), NULL,
                    "[" SLIP("3", "5", "32.170000", "0.000000", "2024-03-03 10:00:00") "]",
                    "EUR", 60, &rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("pending", S(o, "financial_status"));

    /* Refusals, naming the order and the slip. */
    CHECK(order_slips(ORDER_5_PAID, NULL, "[{'id_order':'5','amount':'1.000000'}]", "EUR", 0,
                      &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "order 5 has an order slip without an id");
    CHECK(order_slips(ORDER_5_PAID, NULL, "['x']", "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 has an order slip without an id");
    CHECK(order_slips(ORDER_5_PAID, NULL,
                      "[" SLIP("3", "5", "1.000000", "0.000000", "2024-03-03 10:00:00") ","
                      SLIP("3", "5", "1.000000", "0.000000", "2024-03-03 10:00:00") "]",
                      "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 order slip 3 is listed twice");
    CHECK(order_slips(ORDER_5_PAID, NULL,
                      "[" SLIP("3", "5", "1,00", "0.000000", "2024-03-03 10:00:00") "]",
                      "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 order slip 3 has an unreadable total_products_tax_incl "
                                "\"1,00\"");
    CHECK(order_slips(ORDER_5_PAID, NULL,
                      "[" SLIP("3", "5", "-1.000000", "0.000000", "2024-03-03 10:00:00") "]",
                      "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 order slip 3 has a negative total_products_tax_incl");
    CHECK(order_slips(ORDER_5_PAID, NULL,
                      "[" SLIP("3", "5", "1.000000", "0.000000", "2024-02-30 10:00:00") "]",
                      "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 order slip 3 has an unreadable date_add");
    CHECK(order_slips(ORDER_5_PAID, NULL,
                      "[" SLIP("3", "5", "90000000000000000.00", "0.000000", "2024-03-03 "
                      "10:00:00") "," SLIP("4", "5", "90000000000000000.00", "0.000000",
                      "2024-03-03 10:00:00") "]", "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5 order slip 4 has an amount out of range");
    CHECK(order_slips(ORDER_5_PAID, NULL, "{'id':3}", "EUR", 0, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 5: order slips is not a list");
    end();
}

int
main(void)
{
    RUN_TEST(test_lang_text);
    RUN_TEST(test_local_time);
    RUN_TEST(test_customer_with_addresses);
    RUN_TEST(test_customer_deleted_and_refused);
    RUN_TEST(test_simple_product_with_stock);
    RUN_TEST(test_product_with_combinations);
    RUN_TEST(test_product_prices_and_refusals);
    RUN_TEST(test_order);
    RUN_TEST(test_order_states);
    RUN_TEST(test_order_refusals);
    RUN_TEST(test_option_titles);
    RUN_TEST(test_order_slips);
    return check_report();
}
