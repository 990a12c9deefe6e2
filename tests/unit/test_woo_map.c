/*
 * The WooCommerce connector's pure mapping (plugins/woocommerce/woo_map.c), compiled in and
 * run through the real host services table (hub_host_api()) inside a hub_call with no
 * instance and no database: JSON, time, arena and fail() are the hub's own.
 *
 * The WooCommerce records are shaped like the sandbox's (sandbox/woo_data.c) and
 * platforms.md 2.2: *_gmt times without offset, money as decimal strings, refunds[] with
 * negative totals, guest orders with customer_id 0, rate_percent as a number.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jpath.h"
#include "plugin/hostapi.h"

#include "../../plugins/common/sxp.c"
#include "../../plugins/woocommerce/woo_map.c"

static struct hub_call    call;
static const sx_host_api *h;
static const char        *last_text;     /* the last canonical record map() produced */

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

static const sx_json *
parse(const char *text)
{
    const sx_json *j = NULL;

    REQUIRE(h->json_parse(&call.cx, sx_cstr(text), &j) == SX_OK);
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

/* Run a mapping, return the parsed canonical record (NULL on failure, rc in *rc). */
enum { CUSTOMER, PRODUCT, ORDER };

static const sx_json *
map(int what, const char *rec, const char *variations, const char *currency, int *rc_out)
{
    struct sxp_buf b;
    sx_str         out;
    int            rc;

    sxp_buf_init(&b, &call.cx);
    switch (what) {
    case CUSTOMER:
        rc = woo_map_customer(&call.cx, parse(rec), &b);
        break;
    case PRODUCT:
        rc = woo_map_product(&call.cx, parse(rec), variations ? parse(variations) : NULL,
                             sx_cstr(currency), &b);
        break;
    default:
        rc = woo_map_order(&call.cx, parse(rec), &b);
        break;
    }
    if (rc_out != NULL)
        *rc_out = rc;
    if (rc != SX_OK)
        return NULL;
    REQUIRE(sxp_buf_done(&b, &out) == SX_OK);
    last_text = out.ptr;
    return parse(out.ptr);
}

/* ---- customers ------------------------------------------------------------------------------- */

#define CUSTOMER_25                                                                            \
    "{\"id\":25,\"date_created\":\"2024-02-01T11:00:00\",\"date_created_gmt\":"                \
    "\"2024-02-01T10:00:00\",\"date_modified\":\"2024-03-05T13:30:00\",\"date_modified_gmt\":" \
    "\"2024-03-05T12:30:00\",\"email\":\"customer25@example.com\",\"first_name\":\"Zoë\","     \
    "\"last_name\":\"Müller\",\"role\":\"customer\",\"username\":\"customer25\","              \
    "\"billing\":{\"first_name\":\"Zoë\",\"last_name\":\"Müller\",\"company\":"                \
    "\"Société Anonyme & Co\",\"address_1\":\"12 Main Street\",\"address_2\":"                \
    "\"Apt 4 — rear\",\"city\":\"München\",\"state\":\"BY\",\"postcode\":\"80331\","           \
    "\"country\":\"de\",\"email\":\"customer25@example.com\",\"phone\":\"+49 89 1234567\"},"   \
    "\"shipping\":{\"first_name\":\"Zoë\",\"last_name\":\"Müller\",\"company\":\"\","          \
    "\"address_1\":\"3 Rue de l'Église\",\"address_2\":\"\",\"city\":\"Paris\",\"state\":"     \
    "\"\",\"postcode\":\"75001\",\"country\":\"FR\",\"phone\":\"\"},"                          \
    "\"is_paying_customer\":true,\"meta_data\":[]}"

static void
test_customer_with_addresses(void)
{
    const sx_json *c;

    begin();
    c = map(CUSTOMER, CUSTOMER_25, NULL, NULL, NULL);
    REQUIRE(c != NULL);
    CHECK_STR_EQ("25", S(c, "external_id"));
    CHECK_STR_EQ("2024-03-05T12:30:00Z", S(c, "updated_at"));
    CHECK_STR_EQ("2024-02-01T10:00:00Z", S(c, "created_at"));
    CHECK_STR_EQ("customer25@example.com", S(c, "email"));
    CHECK_STR_EQ("Zoë", S(c, "first_name"));
    CHECK_STR_EQ("Müller", S(c, "last_name"));
    CHECK_STR_EQ("Société Anonyme & Co", S(c, "company_name"));
    CHECK_STR_EQ("+49 89 1234567", S(c, "phone"));
    CHECK_EQ(2, h->json_length(at(c, "addresses")));
    CHECK_STR_EQ("billing", S(c, "addresses.0.kind"));
    CHECK_STR_EQ("12 Main Street", S(c, "addresses.0.line1"));
    CHECK_STR_EQ("Apt 4 — rear", S(c, "addresses.0.line2"));
    CHECK_STR_EQ("München", S(c, "addresses.0.city"));
    CHECK_STR_EQ("BY", S(c, "addresses.0.region"));
    CHECK_STR_EQ("80331", S(c, "addresses.0.postal_code"));
    CHECK_STR_EQ("DE", S(c, "addresses.0.country_code"));
    CHECK_STR_EQ("Société Anonyme & Co", S(c, "addresses.0.company_name"));
    CHECK_STR_EQ("shipping", S(c, "addresses.1.kind"));
    CHECK_STR_EQ("(absent)", S(c, "addresses.1.line2"));
    CHECK_STR_EQ("(absent)", S(c, "addresses.1.region"));
    CHECK_STR_EQ("(absent)", S(c, "addresses.1.email"));
    CHECK_STR_EQ("FR", S(c, "addresses.1.country_code"));
    CHECK_EQ(25, I(c, "raw.id"));
    end();
}

static void
test_customer_from_billing_only(void)
{
    const sx_json *c;
    int            rc;

    begin();
    /* An imported account with nothing but a billing email; no shipping address; never
     * modified (date_modified_gmt null: the creation time then). */
    c = map(CUSTOMER, "{\"id\":31,\"date_created_gmt\":\"2024-01-02T03:04:05\","
                      "\"date_modified_gmt\":null,\"email\":\"\",\"first_name\":\"\","
                      "\"last_name\":\"\",\"billing\":{\"first_name\":\"\",\"last_name\":\"\","
                      "\"company\":\"\",\"address_1\":\"\",\"city\":\"\",\"postcode\":\"\","
                      "\"country\":\"\",\"email\":\"only@example.net\",\"phone\":\"\"},"
                      "\"shipping\":{\"first_name\":\"\",\"address_1\":\"\",\"city\":\"\","
                      "\"postcode\":\"\",\"country\":\"\"}}",
            NULL, NULL, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(c != NULL);
    CHECK_STR_EQ("31", S(c, "external_id"));
    CHECK_STR_EQ("2024-01-02T03:04:05Z", S(c, "updated_at"));
    CHECK_STR_EQ("only@example.net", S(c, "email"));
    CHECK_STR_HAS(last_text, "\"first_name\":null");
    CHECK_STR_HAS(last_text, "\"company_name\":null");
    CHECK_STR_HAS(last_text, "\"phone\":null");
    CHECK_EQ(SX_JSON_ARRAY, h->json_type(at(c, "addresses")));
    CHECK_EQ(0, h->json_length(at(c, "addresses")));

    /* Nothing at all to name the company by: refused, naming the customer. */
    c = map(CUSTOMER, "{\"id\":77,\"date_modified_gmt\":\"2024-01-02T03:04:05\","
                      "\"email\":\"\",\"first_name\":\"\",\"last_name\":\"\","
                      "\"billing\":{\"email\":\"\",\"company\":\"\"}}",
            NULL, NULL, &rc);
    CHECK(c == NULL);
    CHECK_EQ(SX_E_REJECTED, rc);
    CHECK_STR_HAS(call.err.msg, "customer 77");

    /* No times at all, a bad time, an id that is no id. */
    CHECK(map(CUSTOMER, "{\"id\":78,\"email\":\"a@b.c\"}", NULL, NULL, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "78");
    CHECK(map(CUSTOMER, "{\"id\":79,\"email\":\"a@b.c\",\"date_modified_gmt\":\"yesterday\"}",
              NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "unreadable date_modified_gmt");
    CHECK(map(CUSTOMER, "{\"id\":\"x1\",\"email\":\"a@b.c\"}", NULL, NULL, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK(map(CUSTOMER, "[1]", NULL, NULL, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    end();
}

static void
test_pure_helpers(void)
{
    const sx_json *j;
    int64_t        ms = 0, ppm = -1;
    sx_str         id;

    begin();
    j = parse("{\"a\":\"2024-03-01T15:00:00\",\"b\":\"2024-03-01T15:00:00.250\","
              "\"c\":\"2024-03-01T16:00:00+01:00\",\"d\":null,\"e\":\"2024-02-30T00:00:00\","
              "\"f\":5,\"g\":\"\"}");
    CHECK_EQ(SX_OK, woo_gmt_ms(&call.cx, h->json_get(j, "a"), &ms));
    CHECK_EQ(1709305200000LL, ms);
    CHECK_EQ(SX_OK, woo_gmt_ms(&call.cx, h->json_get(j, "b"), &ms));
    CHECK_EQ(1709305200250LL, ms);
    CHECK_EQ(SX_OK, woo_gmt_ms(&call.cx, h->json_get(j, "c"), &ms));
    CHECK_EQ(1709305200000LL, ms);
    CHECK_EQ(SX_E_NOT_FOUND, woo_gmt_ms(&call.cx, h->json_get(j, "d"), &ms));
    CHECK_EQ(SX_E_NOT_FOUND, woo_gmt_ms(&call.cx, h->json_get(j, "absent"), &ms));
    CHECK_EQ(SX_E_NOT_FOUND, woo_gmt_ms(&call.cx, h->json_get(j, "g"), &ms));
    CHECK_EQ(SX_E_INVALID, woo_gmt_ms(&call.cx, h->json_get(j, "e"), &ms));
    CHECK_EQ(SX_E_INVALID, woo_gmt_ms(&call.cx, h->json_get(j, "f"), &ms));

    CHECK_EQ(SX_OK, woo_record_id(&call.cx, parse("{\"id\":\"1234\"}"), &id));
    CHECK_MEM_EQ("1234", 4, id.ptr, id.len);
    CHECK_EQ(SX_OK, woo_record_id(&call.cx, parse("{\"id\":9007199254740993}"), &id));
    CHECK_MEM_EQ("9007199254740993", 16, id.ptr, id.len);
    CHECK_EQ(SX_E_PROTOCOL, woo_record_id(&call.cx, parse("{\"id\":0}"), &id));
    CHECK_EQ(SX_E_PROTOCOL, woo_record_id(&call.cx, parse("{\"id\":-4}"), &id));
    CHECK_EQ(SX_OK, woo_record_modified(&call.cx, parse("{\"id\":1,\"date_modified_gmt\":null,"
                                                        "\"date_created_gmt\":"
                                                        "\"2024-03-01T15:00:00\"}"), &ms));
    CHECK_EQ(1709305200000LL, ms);

    /* rate_percent: a number or a string, exactly (no double). */
    CHECK_EQ(SX_OK, percent_ppm(&call.cx, h->json_at(parse("[20]"), 0), &ppm));
    CHECK_EQ(200000, ppm);
    CHECK_EQ(SX_OK, percent_ppm(&call.cx, h->json_at(parse("[8.875]"), 0), &ppm));
    CHECK_EQ(88750, ppm);
    CHECK_EQ(SX_OK, percent_ppm(&call.cx, h->json_at(parse("[\"5.5000\"]"), 0), &ppm));
    CHECK_EQ(55000, ppm);
    CHECK_EQ(SX_OK, percent_ppm(&call.cx, h->json_at(parse("[2.5e1]"), 0), &ppm));
    CHECK_EQ(250000, ppm);
    CHECK_EQ(SX_OK, percent_ppm(&call.cx, h->json_at(parse("[null]"), 0), &ppm));
    CHECK_EQ(0, ppm);
    CHECK_EQ(SX_E_INVALID, percent_ppm(&call.cx, h->json_at(parse("[\"-5\"]"), 0), &ppm));
    CHECK_EQ(SX_E_INVALID, percent_ppm(&call.cx, h->json_at(parse("[\"5e\"]"), 0), &ppm));
    CHECK_EQ(SX_E_INVALID, percent_ppm(&call.cx, h->json_at(parse("[\"abc\"]"), 0), &ppm));
    CHECK_EQ(SX_E_INVALID, percent_ppm(&call.cx, h->json_at(parse("[true]"), 0), &ppm));

    CHECK_STR_EQ("customers", woo_path(SX_ENTITY_CUSTOMER));
    CHECK_STR_EQ("products", woo_path(SX_ENTITY_PRODUCT));
    CHECK_STR_EQ("orders", woo_path(SX_ENTITY_ORDER));
    CHECK(woo_path(SX_ENTITY_PAYMENT) == NULL);
    end();
}

/* ---- products -------------------------------------------------------------------------------- */

static void
test_simple_product_with_stock(void)
{
    const sx_json *p;

    begin();
    p = map(PRODUCT, "{\"id\":101,\"name\":\"Classic Mug\",\"slug\":\"product-101\","
                     "\"date_created_gmt\":\"2024-01-05T10:00:00\",\"date_modified_gmt\":"
                     "\"2024-03-02T08:30:00\",\"type\":\"simple\",\"status\":\"publish\","
                     "\"description\":\"<p>A fine product.</p>\",\"sku\":\"WOO-000101\","
                     "\"price\":\"20.00\",\"regular_price\":\"25.00\",\"sale_price\":\"20.00\","
                     "\"tax_status\":\"taxable\",\"manage_stock\":true,\"stock_quantity\":12,"
                     "\"tags\":[{\"id\":5,\"name\":\"summer\",\"slug\":\"summer\"}],"
                     "\"variations\":[]}",
            NULL, "USD", NULL);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("101", S(p, "external_id"));
    CHECK_STR_EQ("2024-03-02T08:30:00Z", S(p, "updated_at"));
    CHECK_STR_EQ("2024-01-05T10:00:00Z", S(p, "created_at"));
    CHECK_STR_EQ("Classic Mug", S(p, "title"));
    CHECK_STR_EQ("<p>A fine product.</p>", S(p, "description"));
    CHECK_STR_EQ("active", S(p, "status"));
    CHECK_STR_EQ("USD", S(p, "currency"));
    CHECK_STR_EQ("summer", S(p, "tags.0"));
    CHECK_EQ(1, h->json_length(at(p, "variants")));
    CHECK_STR_EQ("101", S(p, "variants.0.external_id"));
    CHECK_STR_EQ("(absent)", S(p, "variants.0.title"));
    CHECK_STR_EQ("WOO-000101", S(p, "variants.0.sku"));
    CHECK_EQ(2000, I(p, "variants.0.price_minor"));
    CHECK_EQ(1, B(p, "variants.0.taxable"));
    CHECK_EQ(12, I(p, "variants.0.stock"));
    CHECK_EQ(1, I(p, "variants.0.position"));
    CHECK_EQ(101, I(p, "raw.id"));
    end();
}

#define VARIABLE_200                                                                           \
    "{\"id\":200,\"name\":\"Tiny 🙂 Hoodie\",\"date_created_gmt\":\"2024-01-05T10:00:00\","   \
    "\"date_modified_gmt\":\"2024-03-02T08:30:00\",\"type\":\"variable\",\"status\":"          \
    "\"private\",\"description\":\"\",\"sku\":\"WOO-000200\",\"price\":\"30.00\","             \
    "\"regular_price\":\"\",\"tax_status\":\"none\",\"manage_stock\":true,"                    \
    "\"stock_quantity\":40,\"tags\":[],\"variations\":[201,202]}"

static void
test_variable_product(void)
{
    const sx_json *p;
    int            rc;

    begin();
    p = map(PRODUCT, VARIABLE_200,
            "[{\"id\":201,\"name\":\"Tiny 🙂 Hoodie - S\",\"date_modified_gmt\":"
            "\"2024-03-03T09:00:00\",\"sku\":\"WOO-000200-S\",\"price\":\"30.00\","
            "\"regular_price\":\"30.00\",\"sale_price\":\"\",\"tax_status\":\"taxable\","
            "\"manage_stock\":true,\"stock_quantity\":5,"
            "\"attributes\":[{\"id\":0,\"name\":\"Size\",\"option\":\"S\"}]},"
            "{\"id\":202,\"sku\":\"WOO-000200-M\",\"price\":\"\",\"regular_price\":\"31.00\","
            "\"manage_stock\":\"parent\",\"stock_quantity\":null,\"tax_status\":\"parent\","
            "\"attributes\":[{\"name\":\"Size\",\"option\":\"M\"},"
            "{\"name\":\"Colour\",\"option\":\"Red\"}]}]",
            "USD", &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("draft", S(p, "status"));
    CHECK_STR_HAS(last_text, "\"description\":null");
    CHECK_EQ(SX_JSON_ARRAY, h->json_type(at(p, "tags")));
    CHECK_EQ(0, h->json_length(at(p, "tags")));
    CHECK_EQ(2, h->json_length(at(p, "variants")));
    CHECK_STR_EQ("201", S(p, "variants.0.external_id"));
    CHECK_STR_EQ("2024-03-03T09:00:00Z", S(p, "variants.0.updated_at"));
    CHECK_STR_EQ("S", S(p, "variants.0.title"));
    CHECK_STR_EQ("WOO-000200-S", S(p, "variants.0.sku"));
    CHECK_EQ(3000, I(p, "variants.0.price_minor"));
    CHECK_EQ(1, B(p, "variants.0.taxable"));
    CHECK_EQ(5, I(p, "variants.0.stock"));
    CHECK_EQ(1, I(p, "variants.0.position"));
    CHECK_STR_EQ("202", S(p, "variants.1.external_id"));
    CHECK_STR_EQ("(absent)", S(p, "variants.1.updated_at"));
    CHECK_STR_EQ("M / Red", S(p, "variants.1.title"));
    CHECK_EQ(3100, I(p, "variants.1.price_minor"));   /* price "": regular_price */
    CHECK_EQ(0, B(p, "variants.1.taxable"));          /* the parent's "none" */
    CHECK_EQ(40, I(p, "variants.1.stock"));           /* the parent's stock */
    CHECK_EQ(2, I(p, "variants.1.position"));

    /* A variable product without variations yet: one variant with the product's id. */
    p = map(PRODUCT, VARIABLE_200, "[]", "USD", &rc);
    REQUIRE(p != NULL);
    CHECK_EQ(1, h->json_length(at(p, "variants")));
    CHECK_STR_EQ("200", S(p, "variants.0.external_id"));
    CHECK_EQ(3000, I(p, "variants.0.price_minor"));

    /* Broken variations. */
    CHECK(map(PRODUCT, VARIABLE_200, "{\"id\":1}", "USD", &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK(map(PRODUCT, VARIABLE_200, "[{\"sku\":\"x\"}]", "USD", &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 200 has a variation without an id");
    CHECK(map(PRODUCT, VARIABLE_200, "[{\"id\":9,\"price\":\"1,5\"}]", "USD", &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 200 variation 9 has an unreadable price \"1,5\"");
    end();
}

static void
test_product_prices(void)
{
    const sx_json *p;
    struct sxp_buf b;
    char           big[64 * 1024];
    size_t         len, i;
    int            rc;

    begin();
    /* Grouped product: no price of its own. Not managed: no stock. */
    p = map(PRODUCT, "{\"id\":300,\"name\":\"Gift set\",\"type\":\"grouped\",\"status\":"
                     "\"draft\",\"date_modified_gmt\":\"2024-03-02T08:30:00\",\"price\":\"\","
                     "\"regular_price\":\"\",\"manage_stock\":false,\"stock_quantity\":null,"
                     "\"tax_status\":\"shipping\"}",
            NULL, "USD", &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("draft", S(p, "status"));
    CHECK_EQ(0, I(p, "variants.0.price_minor"));
    CHECK(at(p, "variants.0.stock") == NULL);
    CHECK_EQ(1, B(p, "variants.0.taxable"));

    /* JPY has no decimals; trash is archived. */
    p = map(PRODUCT, "{\"id\":301,\"name\":\"Teapot\",\"status\":\"trash\",\"date_modified_gmt\":"
                     "\"2024-03-02T08:30:00\",\"price\":\"1500\",\"tax_status\":\"none\"}",
            NULL, "JPY", &rc);
    REQUIRE(p != NULL);
    CHECK_STR_EQ("archived", S(p, "status"));
    CHECK_STR_EQ("JPY", S(p, "currency"));
    CHECK_EQ(1500, I(p, "variants.0.price_minor"));
    CHECK_EQ(0, B(p, "variants.0.taxable"));

    CHECK(map(PRODUCT, "{\"id\":302,\"name\":\"x\",\"date_modified_gmt\":"
                       "\"2024-03-02T08:30:00\",\"price\":\"-1.00\"}", NULL, "USD", &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "product 302 has a negative price");
    CHECK(map(PRODUCT, "{\"id\":303,\"name\":\"\",\"date_modified_gmt\":"
                       "\"2024-03-02T08:30:00\"}", NULL, "USD", &rc) == NULL);
    CHECK_EQ(SX_E_REJECTED, rc);
    CHECK_STR_HAS(call.err.msg, "product 303 has no name");
    CHECK(map(PRODUCT, "{\"id\":304,\"name\":\"x\",\"date_modified_gmt\":"
                       "\"2024-03-02T08:30:00\"}", NULL, "usd", &rc) == NULL);
    CHECK_EQ(SX_E_INVALID, rc);

    /* More variations than the bound: a clear refusal, not a truncation. */
    len = (size_t)snprintf(big, sizeof(big), "[");
    for (i = 0; i <= WOO_MAX_VARIATIONS; i++)
        len += (size_t)snprintf(big + len, sizeof(big) - len, "%s{\"id\":%zu}", i ? "," : "",
                                i + 1);
    snprintf(big + len, sizeof(big) - len, "]");
    sxp_buf_init(&b, &call.cx);
    CHECK_EQ(SX_E_LIMIT, woo_map_product(&call.cx, parse(VARIABLE_200), parse(big),
                                         SX_STR("USD"), &b));
    CHECK_STR_HAS(call.err.msg, "501 variations, more than 500");
    end();
}

/* ---- orders ---------------------------------------------------------------------------------- */

/* Two products, a fee, VAT 20 %, a 10 % coupon, flat-rate shipping and a partial refund.
 *   lines:  2 x 25.00 = 50.00 - 5.00 = 45.00 (tax 9.00); 3 items for 31.00 - 3.10 = 27.90
 *           (tax 5.58); fee 2.00 (tax 0.40)
 *   total:  45.00 + 27.90 + 2.00 + shipping 5.00 + tax (14.98 + 1.00) = 95.88 */
#define ORDER_5001(status, incl)                                                               \
    "{\"id\":5001,\"parent_id\":0,\"status\":\"" status "\",\"currency\":\"USD\","            \
    "\"prices_include_tax\":" incl ",\"date_created\":\"2024-03-01T16:00:00\","                \
    "\"date_created_gmt\":\"2024-03-01T15:00:00\",\"date_modified_gmt\":"                      \
    "\"2024-03-05T12:10:00\",\"discount_total\":\"8.10\",\"discount_tax\":\"1.62\","           \
    "\"shipping_total\":\"5.00\",\"shipping_tax\":\"1.00\",\"cart_tax\":\"14.98\","            \
    "\"total\":\"95.88\",\"total_tax\":\"15.98\",\"customer_id\":25,"                           \
    "\"billing\":{\"first_name\":\"Ada\",\"last_name\":\"O'Brien\",\"company\":\"\","          \
    "\"address_1\":\"350 Fifth Avenue\",\"address_2\":\"\",\"city\":\"New York\",\"state\":"   \
    "\"NY\",\"postcode\":\"10118\",\"country\":\"US\",\"email\":\"ada@example.com\","          \
    "\"phone\":\"+1 212 5550100\"},\"shipping\":{\"first_name\":\"\",\"last_name\":\"\","      \
    "\"company\":\"\",\"address_1\":\"\",\"address_2\":\"\",\"city\":\"\",\"state\":\"\","     \
    "\"postcode\":\"\",\"country\":\"\",\"phone\":\"\"},\"payment_method\":\"stripe\","        \
    "\"customer_note\":\"Please leave at the door 🚪\",\"date_paid_gmt\":"                     \
    "\"2024-03-01T15:01:00\",\"date_completed_gmt\":\"2024-03-05T12:10:00\","                  \
    "\"number\":\"5001\",\"line_items\":[{\"id\":11,\"name\":\"Classic Mug\","                 \
    "\"product_id\":101,\"variation_id\":0,\"quantity\":2,\"tax_class\":\"\",\"subtotal\":"    \
    "\"50.00\",\"subtotal_tax\":\"10.00\",\"total\":\"45.00\",\"total_tax\":\"9.00\","         \
    "\"taxes\":[{\"id\":5,\"total\":\"9.00\",\"subtotal\":\"10.00\"}],\"meta_data\":[],"       \
    "\"sku\":\"WOO-000101\",\"price\":22.5},{\"id\":12,\"name\":\"Tiny 🙂 Hoodie - M\","       \
    "\"product_id\":200,\"variation_id\":202,\"quantity\":3,\"subtotal\":\"31.00\","           \
    "\"subtotal_tax\":\"6.20\",\"total\":\"27.90\",\"total_tax\":\"5.58\",\"taxes\":"          \
    "[{\"id\":5,\"total\":\"5.58\",\"subtotal\":\"6.2\"},{\"id\":99,\"total\":\"0.00\"}],"     \
    "\"sku\":\"WOO-000200-M\",\"price\":9.3}],\"tax_lines\":[{\"id\":50011,\"rate_code\":"     \
    "\"GB-VAT-1\",\"rate_id\":5,\"label\":\"VAT\",\"compound\":false,\"tax_total\":\"14.98\"," \
    "\"shipping_tax_total\":\"1.00\",\"rate_percent\":20,\"meta_data\":[]}],"                  \
    "\"shipping_lines\":[{\"id\":50012,\"method_title\":\"Flat rate\",\"method_id\":"          \
    "\"flat_rate\",\"instance_id\":\"1\",\"total\":\"5.00\",\"total_tax\":\"1.00\",\"taxes\":" \
    "[{\"id\":5,\"total\":\"1.00\",\"subtotal\":\"\"}]}],\"fee_lines\":[{\"id\":14,\"name\":"  \
    "\"Gift wrap\",\"tax_class\":\"\",\"tax_status\":\"taxable\",\"total\":\"2.00\","          \
    "\"total_tax\":\"0.40\",\"taxes\":[{\"id\":5,\"total\":\"0.40\",\"subtotal\":\"\"}]}],"    \
    "\"coupon_lines\":[{\"id\":50013,\"code\":\"save10\",\"discount\":\"8.10\","               \
    "\"discount_tax\":\"1.62\"}],\"refunds\":[{\"id\":5100,\"reason\":\"Damaged in transit\"," \
    "\"total\":\"-10.00\"},{\"id\":5101,\"reason\":\"\",\"total\":\"0.00\"}]}"

static void
test_order_usd(void)
{
    const sx_json *o;
    int            rc;

    begin();
    o = map(ORDER, ORDER_5001("completed", "false"), NULL, NULL, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("5001", S(o, "external_id"));
    CHECK_STR_EQ("2024-03-05T12:10:00Z", S(o, "updated_at"));
    CHECK_STR_EQ("2024-03-01T15:00:00Z", S(o, "created_at"));
    CHECK_STR_EQ("5001", S(o, "number"));
    CHECK_STR_EQ("completed", S(o, "status"));
    CHECK_STR_EQ("partially_refunded", S(o, "financial_status"));
    CHECK_STR_EQ("(absent)", S(o, "cancelled_at"));
    CHECK_STR_EQ("USD", S(o, "currency"));
    CHECK_EQ(0, B(o, "taxes_included"));
    CHECK_STR_EQ("25", S(o, "customer.external_id"));
    CHECK_STR_EQ("ada@example.com", S(o, "customer.email"));
    CHECK_STR_EQ("Ada", S(o, "customer.first_name"));
    CHECK_STR_EQ("O'Brien", S(o, "customer.last_name"));
    CHECK_STR_EQ("(absent)", S(o, "customer.company_name"));
    CHECK_STR_EQ("+1 212 5550100", S(o, "customer.phone"));
    CHECK_STR_EQ("350 Fifth Avenue", S(o, "billing_address.line1"));
    CHECK_STR_EQ("US", S(o, "billing_address.country_code"));
    CHECK_STR_EQ("(absent)", S(o, "billing_address.kind"));
    CHECK(at(o, "shipping_address") == NULL);     /* an empty address is not sent */
    CHECK_STR_EQ("Please leave at the door 🚪", S(o, "note"));

    CHECK_EQ(3, h->json_length(at(o, "lines")));
    CHECK_STR_EQ("11", S(o, "lines.0.external_id"));
    CHECK_STR_EQ("101", S(o, "lines.0.product_external_id"));
    CHECK_STR_EQ("101", S(o, "lines.0.variant_external_id"));
    CHECK_STR_EQ("WOO-000101", S(o, "lines.0.sku"));
    CHECK_STR_EQ("Classic Mug", S(o, "lines.0.title"));
    CHECK_EQ(2, I(o, "lines.0.quantity"));
    CHECK_EQ(2500, I(o, "lines.0.unit_price_minor"));
    CHECK_EQ(500, I(o, "lines.0.discount_minor"));
    CHECK_EQ(900, I(o, "lines.0.tax_minor"));
    CHECK_EQ(4500, I(o, "lines.0.total_minor"));
    CHECK_EQ(1, h->json_length(at(o, "lines.0.taxes")));
    CHECK_STR_EQ("VAT", S(o, "lines.0.taxes.0.title"));
    CHECK_EQ(200000, I(o, "lines.0.taxes.0.rate_ppm"));
    CHECK_EQ(900, I(o, "lines.0.taxes.0.amount_minor"));
    CHECK_STR_EQ("200", S(o, "lines.1.product_external_id"));
    CHECK_STR_EQ("202", S(o, "lines.1.variant_external_id"));
    CHECK_EQ(3, I(o, "lines.1.quantity"));
    CHECK_EQ(1033, I(o, "lines.1.unit_price_minor"));     /* 31.00 / 3, rounded */
    CHECK_EQ(310, I(o, "lines.1.discount_minor"));
    CHECK_EQ(558, I(o, "lines.1.tax_minor"));
    CHECK_EQ(2790, I(o, "lines.1.total_minor"));
    CHECK_EQ(1, h->json_length(at(o, "lines.1.taxes")));  /* rate 99 is not on the order */
    CHECK_STR_EQ("14", S(o, "lines.2.external_id"));      /* the fee */
    CHECK_STR_EQ("Gift wrap", S(o, "lines.2.title"));
    CHECK(at(o, "lines.2.product_external_id") == NULL);
    CHECK_EQ(1, I(o, "lines.2.quantity"));
    CHECK_EQ(200, I(o, "lines.2.unit_price_minor"));
    CHECK_EQ(40, I(o, "lines.2.tax_minor"));
    CHECK_EQ(200, I(o, "lines.2.total_minor"));
    CHECK_EQ(40, I(o, "lines.2.taxes.0.amount_minor"));

    CHECK_EQ(1, h->json_length(at(o, "taxes")));
    CHECK_STR_EQ("VAT", S(o, "taxes.0.title"));
    CHECK_EQ(200000, I(o, "taxes.0.rate_ppm"));
    CHECK_EQ(1598, I(o, "taxes.0.amount_minor"));
    CHECK_EQ(1, h->json_length(at(o, "discounts")));
    CHECK_STR_EQ("save10", S(o, "discounts.0.code"));
    CHECK_EQ(810, I(o, "discounts.0.amount_minor"));
    CHECK_STR_EQ("Flat rate", S(o, "shipping.0.title"));
    CHECK_EQ(500, I(o, "shipping.0.amount_minor"));
    CHECK_EQ(100, I(o, "shipping.0.tax_minor"));
    CHECK_EQ(1, h->json_length(at(o, "refunds")));         /* the 0.00 one gave nothing */
    CHECK_STR_EQ("5100", S(o, "refunds.0.external_id"));
    CHECK_EQ(1000, I(o, "refunds.0.amount_minor"));
    CHECK_STR_EQ("Damaged in transit", S(o, "refunds.0.note"));
    CHECK(at(o, "refunds.0.created_at") == NULL);

    CHECK_EQ(8300, I(o, "subtotal_minor"));
    CHECK_EQ(810, I(o, "discount_minor"));
    CHECK_EQ(500, I(o, "shipping_minor"));
    CHECK_EQ(1598, I(o, "tax_minor"));
    CHECK_EQ(9588, I(o, "total_minor"));
    CHECK_EQ(1000, I(o, "refunded_minor"));
    /* MODEL.md 5: subtotal - discount + shipping + tax = total. */
    CHECK_EQ(I(o, "total_minor"), I(o, "subtotal_minor") - I(o, "discount_minor") +
                                  I(o, "shipping_minor") + I(o, "tax_minor"));
    CHECK_EQ(5001, I(o, "raw.id"));

    /* The same order with prices including tax: unit prices, discounts and shipping carry
     * their tax, the total stays WooCommerce's, and the equation still holds. */
    o = map(ORDER, ORDER_5001("completed", "true"), NULL, NULL, &rc);
    REQUIRE(o != NULL);
    CHECK_EQ(1, B(o, "taxes_included"));
    CHECK_EQ(3000, I(o, "lines.0.unit_price_minor"));
    CHECK_EQ(600, I(o, "lines.0.discount_minor"));
    CHECK_EQ(5400, I(o, "lines.0.total_minor"));
    CHECK_EQ(1240, I(o, "lines.1.unit_price_minor"));     /* 37.20 / 3 */
    CHECK_EQ(240, I(o, "lines.2.unit_price_minor"));
    CHECK_EQ(972, I(o, "discounts.0.amount_minor"));
    CHECK_EQ(600, I(o, "shipping.0.amount_minor"));
    CHECK_EQ(9960, I(o, "subtotal_minor"));
    CHECK_EQ(972, I(o, "discount_minor"));
    CHECK_EQ(600, I(o, "shipping_minor"));
    CHECK_EQ(1598, I(o, "tax_minor"));
    CHECK_EQ(9588, I(o, "total_minor"));
    CHECK_EQ(I(o, "total_minor"),
             I(o, "subtotal_minor") - I(o, "discount_minor") + I(o, "shipping_minor"));
    end();
}

static void
test_order_jpy_guest_negative_fee(void)
{
    const sx_json *o;
    int            rc;

    begin();
    /* JPY: no decimals (a store set to 0 decimals writes "1500"; one set to 2 "500.00").
     * A guest (customer_id 0) and a negative fee used as a discount. */
    o = map(ORDER, "{\"id\":6001,\"status\":\"processing\",\"currency\":\"JPY\","
                   "\"prices_include_tax\":false,\"date_created_gmt\":\"2024-06-01T00:00:00\","
                   "\"date_modified_gmt\":\"2024-06-01T00:05:00\",\"date_paid_gmt\":null,"
                   "\"customer_id\":0,\"billing\":{\"first_name\":\"Yūki\",\"last_name\":"
                   "\"Nakamura\",\"email\":\"guest@example.net\",\"city\":\"Tōkyō\","
                   "\"state\":\"JP13\",\"country\":\"JP\"},\"discount_total\":\"0\","
                   "\"shipping_total\":\"500.00\",\"total_tax\":\"195\",\"total\":\"2145\","
                   "\"number\":6001,\"line_items\":[{\"id\":21,\"name\":\"Mug\","
                   "\"product_id\":0,\"variation_id\":0,\"quantity\":\"3\",\"subtotal\":"
                   "\"1500\",\"subtotal_tax\":\"150\",\"total\":\"1500\",\"total_tax\":"
                   "\"150\",\"taxes\":[{\"id\":7,\"total\":\"150\"}],\"price\":500}],"
                   "\"fee_lines\":[{\"id\":22,\"name\":\"Loyalty\",\"total\":\"-50\","
                   "\"total_tax\":\"-5\"}],\"tax_lines\":[{\"rate_id\":7,\"label\":"
                   "\"Consumption tax\",\"rate_percent\":10,\"tax_total\":\"145\","
                   "\"shipping_tax_total\":\"50\"}],\"shipping_lines\":[{\"method_id\":"
                   "\"flat_rate\",\"method_title\":\"\",\"total\":\"500\",\"total_tax\":"
                   "\"50\"}],\"coupon_lines\":[],\"refunds\":[]}",
            NULL, NULL, &rc);
    CHECK_EQ(SX_OK, rc);
    REQUIRE(o != NULL);
    CHECK_STR_EQ("JPY", S(o, "currency"));
    CHECK_STR_EQ("6001", S(o, "number"));
    CHECK_STR_EQ("open", S(o, "status"));
    CHECK_STR_EQ("paid", S(o, "financial_status"));       /* processing */
    CHECK_STR_EQ("(absent)", S(o, "customer.external_id"));
    CHECK_STR_EQ("guest@example.net", S(o, "customer.email"));
    CHECK_STR_EQ("JP", S(o, "billing_address.country_code"));
    CHECK(at(o, "lines.0.product_external_id") == NULL);
    CHECK(at(o, "lines.0.variant_external_id") == NULL);
    CHECK_EQ(3, I(o, "lines.0.quantity"));
    CHECK_EQ(500, I(o, "lines.0.unit_price_minor"));
    CHECK_EQ(1, h->json_length(at(o, "lines")));          /* the negative fee is no line */
    CHECK_EQ(100000, I(o, "lines.0.taxes.0.rate_ppm"));
    CHECK_STR_EQ("Loyalty", S(o, "discounts.0.title"));
    CHECK_EQ(50, I(o, "discounts.0.amount_minor"));
    CHECK_STR_EQ("flat_rate", S(o, "shipping.0.title"));
    CHECK_EQ(500, I(o, "shipping.0.amount_minor"));
    CHECK_EQ(1500, I(o, "subtotal_minor"));
    CHECK_EQ(50, I(o, "discount_minor"));
    CHECK_EQ(500, I(o, "shipping_minor"));
    CHECK_EQ(195, I(o, "tax_minor"));
    CHECK_EQ(2145, I(o, "total_minor"));
    CHECK_EQ(0, I(o, "refunded_minor"));
    CHECK_EQ(I(o, "total_minor"), I(o, "subtotal_minor") - I(o, "discount_minor") +
                                  I(o, "shipping_minor") + I(o, "tax_minor"));

    /* The sandbox writes JPY amounts with two decimals: rounded half away from zero. */
    o = map(ORDER, "{\"id\":6002,\"status\":\"pending\",\"currency\":\"JPY\","
                   "\"date_modified_gmt\":\"2024-06-01T00:05:00\",\"total\":\"12.50\","
                   "\"line_items\":[]}", NULL, NULL, &rc);
    REQUIRE(o != NULL);
    CHECK_EQ(13, I(o, "total_minor"));
    CHECK_STR_EQ("pending", S(o, "financial_status"));
    CHECK(at(o, "customer") == NULL);
    end();
}

/* One order in `status` (with date_paid_gmt `paid`, refunds `refunds`): status and payment. */
static void
check_status(const char *status, const char *paid, const char *refunds, const char *want,
             const char *want_fin)
{
    char           rec[1024];
    const sx_json *o;
    int            rc;

    snprintf(rec, sizeof(rec), "{\"id\":7000,\"status\":\"%s\",\"currency\":\"EUR\","
             "\"date_created_gmt\":\"2024-05-01T10:00:00\",\"date_modified_gmt\":"
             "\"2024-05-02T11:00:00\",\"date_paid_gmt\":%s,\"total\":\"40.00\","
             "\"line_items\":[],\"refunds\":%s}", status, paid, refunds);
    o = map(ORDER, rec, NULL, NULL, &rc);
    CHECK_EQ(SX_OK, rc);
    if (o == NULL)
        return;
    CHECK_STR_EQ(want, S(o, "status"));
    CHECK_STR_EQ(want_fin, S(o, "financial_status"));
    if (strcmp(want, "cancelled") == 0)
        CHECK_STR_EQ("2024-05-02T11:00:00Z", S(o, "cancelled_at"));
    else
        CHECK_STR_EQ("(absent)", S(o, "cancelled_at"));
}

static void
test_order_statuses(void)
{
    const char *paid = "\"2024-05-01T10:01:00\"";

    begin();
    check_status("cancelled", "null", "[]", "cancelled", "voided");
    check_status("failed", "null", "[]", "cancelled", "voided");
    check_status("trash", "null", "[]", "cancelled", "voided");
    check_status("cancelled", paid, "[]", "cancelled", "paid");
    check_status("refunded", paid, "[{\"id\":7100,\"total\":\"-40.00\"}]", "completed",
                 "refunded");
    check_status("completed", paid, "[{\"id\":7100,\"total\":\"-40.00\"}]", "completed",
                 "refunded");
    check_status("completed", paid, "[{\"id\":7100,\"total\":\"-4.00\"}]", "completed",
                 "partially_refunded");
    check_status("completed", "null", "[]", "completed", "paid");
    check_status("processing", "null", "[]", "open", "paid");
    check_status("on-hold", "null", "[]", "open", "pending");
    check_status("pending", "null", "[]", "open", "pending");
    check_status("pending", paid, "[]", "open", "paid");
    check_status("checkout-draft", "null", "[]", "draft", "pending");
    check_status("wc-shipped", paid, "[]", "open", "paid");   /* a plugin's own status */
    end();
}

static void
test_order_refusals(void)
{
    char   big[96 * 1024];
    size_t len, i;
    int    rc;

    begin();
    /* A money string that is no amount: refused with the order, the line and the value. */
    CHECK(map(ORDER, "{\"id\":7001,\"status\":\"pending\",\"currency\":\"USD\","
                     "\"date_modified_gmt\":\"2024-05-02T11:00:00\",\"line_items\":[{\"id\":1,"
                     "\"quantity\":1,\"subtotal\":\"12,50\",\"total\":\"12.50\"}]}",
              NULL, NULL, &rc) == NULL);
    CHECK_EQ(SX_E_PROTOCOL, rc);
    CHECK_STR_HAS(call.err.msg, "order 7001 line item 1 has an unreadable subtotal \"12,50\"");
    CHECK(map(ORDER, "{\"id\":7002,\"currency\":\"USD\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\",\"total\":\"1e3\"}", NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 7002 has an unreadable total \"1e3\"");
    CHECK(map(ORDER, "{\"id\":7003,\"currency\":\"USD\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\",\"total\":[1]}", NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 7003 has an unreadable total");
    CHECK(map(ORDER, "{\"id\":7004,\"currency\":\"USD\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\",\"line_items\":[{\"id\":1,\"quantity\":0,"
                     "\"subtotal\":\"1.00\",\"total\":\"1.00\"}]}", NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 7004 line item 1 has no usable quantity");
    CHECK(map(ORDER, "{\"id\":7005,\"currency\":\"US\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\"}", NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 7005 has no valid currency");
    CHECK(map(ORDER, "{\"id\":7006,\"currency\":\"USD\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\",\"tax_lines\":[{\"rate_id\":1,"
                     "\"rate_percent\":\"x\"}]}", NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 7006 has a tax line with an unreadable rate_percent");
    CHECK(map(ORDER, "{\"id\":7007,\"currency\":\"USD\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\",\"line_items\":[{\"id\":1,\"quantity\":1,"
                     "\"subtotal\":\"90000000000000000\",\"total\":\"1\"},{\"id\":2,"
                     "\"quantity\":1,\"subtotal\":\"90000000000000000\",\"total\":\"1\"}]}",
              NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "order 7007 has line amounts out of range");
    CHECK(map(ORDER, "{\"id\":7008,\"currency\":\"USD\",\"date_modified_gmt\":"
                     "\"2024-05-02T11:00:00\",\"line_items\":[{\"id\":1,\"quantity\":1,"
                     "\"subtotal\":\"\\u00ff\\u0000\",\"total\":\"1\"}]}",
              NULL, NULL, &rc) == NULL);
    CHECK_STR_HAS(call.err.msg, "has an unreadable subtotal (not a decimal amount)");

    /* More line items than the bound. */
    len = (size_t)snprintf(big, sizeof(big), "{\"id\":7009,\"currency\":\"USD\","
                           "\"date_modified_gmt\":\"2024-05-02T11:00:00\",\"line_items\":[");
    for (i = 0; i <= WOO_MAX_ITEMS; i++)
        len += (size_t)snprintf(big + len, sizeof(big) - len, "%s{\"id\":%zu}", i ? "," : "",
                                i + 1);
    snprintf(big + len, sizeof(big) - len, "]}");
    CHECK(map(ORDER, big, NULL, NULL, &rc) == NULL);
    CHECK_EQ(SX_E_LIMIT, rc);
    CHECK_STR_HAS(call.err.msg, "order 7009 has 1001 line_items, more than 1000");
    end();
}

/* ---- push bodies ----------------------------------------------------------------------------- */

static const char *
body(int (*fn)(sx_ctx *, const sx_json *, struct sxp_buf *), const char *canon, int *rc)
{
    struct sxp_buf b;
    sx_str         out;

    sxp_buf_init(&b, &call.cx);
    *rc = fn(&call.cx, parse(canon), &b);
    if (*rc != SX_OK)
        return "(failed)";
    REQUIRE(sxp_buf_done(&b, &out) == SX_OK);
    return out.ptr;
}

static const char *
variation_body(const char *canon, const char *cur, int *rc)
{
    struct sxp_buf b;
    sx_str         out;

    sxp_buf_init(&b, &call.cx);
    *rc = woo_variation_body(&call.cx, parse(canon), sx_cstr(cur), &b);
    if (*rc != SX_OK)
        return "(failed)";
    REQUIRE(sxp_buf_done(&b, &out) == SX_OK);
    return out.ptr;
}

static void
test_push_bodies(void)
{
    int rc;

    begin();
    /* (last_name and line2 are null: through the hub's JSON they read as absent.) */
    CHECK_STR_EQ("{\"email\":\"ada@example.com\",\"first_name\":\"Ada\","
                 "\"billing\":{\"first_name\":\"Ada\",\"company\":\"Analytical Engines\","
                 "\"address_1\":\"12 St James's Square\",\"city\":\"London\","
                 "\"postcode\":\"SW1Y 4JH\",\"country\":\"GB\",\"phone\":\"+442071234567\"},"
                 "\"shipping\":{\"address_1\":\"1 Dock Road\",\"country\":\"GB\"}}",
                 body(woo_customer_body,
                      "{\"external_id\":\"25\",\"email\":\"ada@example.com\",\"first_name\":"
                      "\"Ada\",\"last_name\":null,\"company_name\":\"Analytical Engines\","
                      "\"phone\":\"+442071234567\",\"tags\":[\"vip\"],\"addresses\":["
                      "{\"kind\":\"shipping\",\"line1\":\"1 Dock Road\",\"country_code\":\"GB\"},"
                      "{\"kind\":\"billing\",\"first_name\":\"Ada\",\"company_name\":\"Old\","
                      "\"line1\":\"12 St James's Square\",\"line2\":null,\"city\":\"London\","
                      "\"postal_code\":\"SW1Y 4JH\",\"country_code\":\"GB\",\"phone\":\"+1\"}]}",
                      &rc));
    CHECK_EQ(SX_OK, rc);
    /* Only what the canonical says; an empty email leaves the login alone; the company
     * alone still goes to billing. */
    CHECK_STR_EQ("{\"first_name\":\"\",\"billing\":{\"company\":\"\"}}",
                 body(woo_customer_body, "{\"email\":\"\",\"first_name\":\"\","
                                         "\"company_name\":\"\"}", &rc));
    CHECK_STR_EQ("{}", body(woo_customer_body, "{\"addresses\":[]}", &rc));
    CHECK_STR_EQ("(failed)", body(woo_customer_body, "{\"first_name\":7}", &rc));
    CHECK_EQ(SX_E_INVALID, rc);
    CHECK_STR_EQ("(failed)", body(woo_customer_body, "{\"addresses\":[1]}", &rc));
    CHECK_STR_EQ("(failed)", body(woo_customer_body, "{\"addresses\":{}}", &rc));

    /* One variant: its fields on the product; 2500 USD is "25.00". */
    CHECK_STR_EQ("{\"name\":\"Linen shirt\",\"description\":\"<p>Washed linen.</p>\","
                 "\"status\":\"publish\",\"sku\":\"LIN-WHT-M\",\"regular_price\":\"25.00\","
                 "\"manage_stock\":true,\"stock_quantity\":12,\"tax_status\":\"taxable\"}",
                 body(woo_product_body,
                      "{\"external_id\":\"101\",\"title\":\"Linen shirt\",\"description\":"
                      "\"<p>Washed linen.</p>\",\"status\":\"active\",\"currency\":\"USD\","
                      "\"tags\":[\"summer\"],\"variants\":[{\"external_id\":\"101\",\"sku\":"
                      "\"LIN-WHT-M\",\"price_minor\":2500,\"taxable\":true,\"stock\":12,"
                      "\"position\":1}]}", &rc));
    CHECK_EQ(SX_OK, rc);
    /* JPY has no decimals; archived is private; no stock: stock left as it is. */
    CHECK_STR_EQ("{\"name\":\"Teapot\",\"status\":\"private\",\"regular_price\":\"1500\","
                 "\"tax_status\":\"none\"}",
                 body(woo_product_body,
                      "{\"title\":\"Teapot\",\"status\":\"archived\",\"currency\":\"JPY\","
                      "\"variants\":[{\"price_minor\":1500,\"stock\":null,\"taxable\":false}]}",
                      &rc));
    /* Several variants: the parent's fields only. */
    CHECK_STR_EQ("{\"name\":\"Hoodie\",\"status\":\"draft\"}",
                 body(woo_product_body,
                      "{\"title\":\"Hoodie\",\"status\":\"draft\",\"currency\":\"USD\","
                      "\"variants\":[{\"price_minor\":1},{\"price_minor\":2}]}", &rc));
    CHECK_STR_EQ("(failed)", body(woo_product_body, "{\"status\":\"deleted\"}", &rc));
    CHECK_EQ(SX_E_INVALID, rc);
    CHECK_STR_HAS(call.err.msg, "deleted");
    CHECK_STR_EQ("(failed)", body(woo_product_body, "{\"variants\":{}}", &rc));
    CHECK_STR_EQ("(failed)", body(woo_product_body, "{\"currency\":\"usd\",\"variants\":"
                                                    "[{\"price_minor\":1}]}", &rc));
    CHECK_STR_EQ("(failed)", body(woo_product_body, "{\"currency\":\"USD\",\"variants\":"
                                                    "[{\"price_minor\":-1}]}", &rc));
    CHECK_STR_EQ("(failed)", body(woo_product_body, "{\"currency\":\"USD\",\"variants\":"
                                                    "[{\"price_minor\":\"25.00\"}]}", &rc));

    CHECK_STR_EQ("{\"id\":202,\"sku\":\"WOO-000200-M\",\"regular_price\":\"31.00\","
                 "\"manage_stock\":true,\"stock_quantity\":-2}",
                 variation_body("{\"external_id\":\"202\",\"title\":\"M\",\"sku\":"
                                "\"WOO-000200-M\",\"price_minor\":3100,\"stock\":-2}", "USD",
                                &rc));
    CHECK_STR_EQ("{\"regular_price\":\"12.345\"}",
                 variation_body("{\"price_minor\":12345}", "KWD", &rc));
    CHECK_STR_EQ("{\"regular_price\":\"0.05\"}",
                 variation_body("{\"price_minor\":5}", "EUR", &rc));
    CHECK_STR_EQ("(failed)", variation_body("{\"external_id\":\"abc\"}", "USD", &rc));
    CHECK_EQ(SX_E_INVALID, rc);
    CHECK_STR_HAS(call.err.msg, "abc");
    CHECK_STR_EQ("(failed)", variation_body("{\"price_minor\":1}", "", &rc));
    end();
}

int
main(void)
{
    RUN_TEST(test_pure_helpers);
    RUN_TEST(test_customer_with_addresses);
    RUN_TEST(test_customer_from_billing_only);
    RUN_TEST(test_simple_product_with_stock);
    RUN_TEST(test_variable_product);
    RUN_TEST(test_product_prices);
    RUN_TEST(test_order_usd);
    RUN_TEST(test_order_jpy_guest_negative_fee);
    RUN_TEST(test_order_statuses);
    RUN_TEST(test_order_refusals);
    RUN_TEST(test_push_bodies);
    return check_report();
}
