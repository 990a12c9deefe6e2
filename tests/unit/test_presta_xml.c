/*
 * The PrestaShop connector's XML converter and shop-local times (plugins/prestashop/
 * presta_xml.c), compiled in and run through the real host services table inside a hub_call
 * with no instance and no database.
 *
 * Fixtures (tests/unit/fixtures/presta/NAME.xml and NAME.json) are the sandbox's answers to
 * the same request without and with output_format=JSON (build/bin/simplix-sandbox --only
 * presta --seed 1; lists with display=full&limit=0,2 or 1,2): the converted XML must equal
 * the JSON, objects compared without regard to key order, numbers and strings told apart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "plugin/hostapi.h"

#include "../../plugins/common/sxp.c"
#include "../../plugins/prestashop/presta_xml.c"

#define FIXTURES SX_SOURCE_DIR "/tests/unit/fixtures/presta/"

static struct hub_call call;

static void
begin(void)
{
    hub_call_begin(&call, NULL, NULL);
}

static void
end(void)
{
    hub_call_end(&call);
}

static char *
slurp(const char *name, size_t *len)
{
    char   path[512];
    FILE  *f;
    char  *buf;
    long   n;

    snprintf(path, sizeof(path), "%s%s", FIXTURES, name);
    f = fopen(path, "rb");
    REQUIRE(f != NULL);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    REQUIRE(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    REQUIRE(buf != NULL);
    REQUIRE(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Convert; the JSON text (malloc'ed) or NULL with *rc and *why. */
static char *
convert(const char *xml, size_t len, int *rc_out, const char **why)
{
    struct sxp_buf b;
    sx_str         out;
    char          *s = NULL;
    int            rc;

    begin();
    sxp_buf_init(&b, &call.cx);
    *why = NULL;
    rc = presta_xml_to_json(xml, len, &b, why);
    if (rc == SX_OK && (rc = sxp_buf_done(&b, &out)) == SX_OK) {
        s = malloc(out.len + 1);
        REQUIRE(s != NULL);
        memcpy(s, out.ptr, out.len);
        s[out.len] = '\0';
    }
    end();
    *rc_out = rc;
    return s;
}

static char *
convert_ok(const char *xml)
{
    const char *why;
    int         rc;
    char       *s = convert(xml, strlen(xml), &rc, &why);

    if (rc != SX_OK)
        fprintf(stderr, "  conversion failed (%d): %s\n  %s\n", rc, why ? why : "?", xml);
    CHECK_EQ(SX_OK, rc);
    return s;
}

/* Deep equality; objects without regard to key order, ints and strings distinct. */
static int
json_same(json_object *a, json_object *b, char *path, size_t cap)
{
    size_t plen = strlen(path);
    size_t i;

    if (json_object_get_type(a) != json_object_get_type(b))
        return 0;
    switch (json_object_get_type(a)) {
    case json_type_null:
        return 1;
    case json_type_boolean:
        return json_object_get_boolean(a) == json_object_get_boolean(b);
    case json_type_int:
        return json_object_get_int64(a) == json_object_get_int64(b);
    case json_type_double:
        return json_object_get_double(a) == json_object_get_double(b);
    case json_type_string:
        return json_object_get_string_len(a) == json_object_get_string_len(b) &&
               memcmp(json_object_get_string(a), json_object_get_string(b),
                      (size_t)json_object_get_string_len(a)) == 0;
    case json_type_array:
        if (json_object_array_length(a) != json_object_array_length(b))
            return 0;
        for (i = 0; i < json_object_array_length(a); i++) {
            snprintf(path + plen, cap - plen, ".%zu", i);
            if (!json_same(json_object_array_get_idx(a, i), json_object_array_get_idx(b, i),
                           path, cap))
                return 0;
        }
        path[plen] = '\0';
        return 1;
    case json_type_object: {
        json_object_iter it;

        if (json_object_object_length(a) != json_object_object_length(b))
            return 0;
        json_object_object_foreachC(a, it) {
            json_object *o;

            snprintf(path + plen, cap - plen, ".%s", it.key);
            if (!json_object_object_get_ex(b, it.key, &o) || !json_same(it.val, o, path, cap))
                return 0;
        }
        path[plen] = '\0';
        return 1;
    }
    }
    return 0;
}

static void
check_same_json(const char *what, const char *got, const char *want)
{
    json_object *a = json_tokener_parse(got);
    json_object *b = json_tokener_parse(want);
    char         path[512] = "$";

    CHECK(a != NULL);
    CHECK(b != NULL);
    if (a != NULL && b != NULL && !json_same(a, b, path, sizeof(path)))
        CHECK_FAIL_AT(__FILE__, __LINE__, "%s: converted XML differs from the JSON at %s\n"
                      "  got  %.600s\n  want %.600s", what, path, got, want);
    else
        check_passed++;
    json_object_put(a);
    json_object_put(b);
}

/* ---- the sandbox's answers -------------------------------------------------------------- */

static void
test_fixtures(void)
{
    static const char *const names[] = {
        "customers", "addresses", "products", "combinations", "stock_availables", "orders",
        "order_details", "currencies", "countries", "languages",                /* lists */
        "product_option_values", "product_options", "order_slip",
        "customer_1", "product_3", "order_1",                                    /* single */
        "customers_ids", "products_name", "empty", "error", "api",
    };
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char        fx[128], fj[128];
        size_t      xl, jl;
        char       *xml, *json, *got;
        const char *why;
        int         rc;

        snprintf(fx, sizeof(fx), "%s.xml", names[i]);
        snprintf(fj, sizeof(fj), "%s.json", names[i]);
        xml = slurp(fx, &xl);
        json = slurp(fj, &jl);
        got = convert(xml, xl, &rc, &why);
        if (rc != SX_OK)
            fprintf(stderr, "  %s: %d %s\n", names[i], rc, why ? why : "?");
        CHECK_EQ(SX_OK, rc);
        if (got != NULL)
            check_same_json(names[i], got, json);
        free(xml);
        free(json);
        free(got);
    }
}

/* The empty list is the bare [] PrestaShop answers; an id-only list has numeric ids. */
static void
test_empty_and_ids(void)
{
    char *s;

    s = convert_ok("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<prestashop "
                   "xmlns:xlink=\"http://www.w3.org/1999/xlink\"><orders/></prestashop>");
    CHECK_STR_EQ("[]", s);
    free(s);
    s = convert_ok("<prestashop><orders></orders></prestashop>");
    CHECK_STR_EQ("[]", s);
    free(s);
    s = convert_ok("<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\"><orders>"
                   "<order id=\"7\" xlink:href=\"http://x/api/orders/7\"/></orders></prestashop>");
    CHECK_STR_EQ("{\"orders\":[{\"id\":7}]}", s);
    free(s);
    /* an id that is not a plain integer stays a string */
    s = convert_ok("<prestashop><orders><order><id>007</id></order><order><id>x</id></order>"
                   "</orders></prestashop>");
    CHECK_STR_EQ("{\"orders\":[{\"id\":\"007\"},{\"id\":\"x\"}]}", s);
    free(s);
}

static void
test_multilingual(void)
{
    char *s;

    /* CDATA or not, entities decoded, text split by a comment joined, empty language "" */
    s = convert_ok("<prestashop xmlns:xlink=\"http://www.w3.org/1999/xlink\"><product>"
                   "<id><![CDATA[5]]></id>"
                   "<name><language id=\"1\" xlink:href=\"http://x/api/languages/1\">"
                   "<![CDATA[Tea & <b>cups</b>]]></language>"
                   "<language id=\"2\">Th&#233; &amp; <!-- c -->tasses</language>"
                   "<language id=\"3\"/></name>"
                   "<price>1.5</price></product></prestashop>");
    check_same_json("multilingual", s,
                    "{\"product\":{\"id\":5,\"name\":[{\"id\":\"1\",\"value\":\"Tea & <b>cups"
                    "</b>\"},{\"id\":\"2\",\"value\":\"Th\xc3\xa9 & tasses\"},{\"id\":\"3\","
                    "\"value\":\"\"}],\"price\":\"1.5\"}}");
    free(s);
    /* a list of products with display=[id,name]: still a list, not a multilingual field */
    s = convert_ok("<prestashop><products><product><name><language id=\"1\">A</language>"
                   "</name></product></products></prestashop>");
    check_same_json("list of ml", s,
                    "{\"products\":[{\"name\":[{\"id\":\"1\",\"value\":\"A\"}]}]}");
    free(s);
    /* one product with display=[name]: a record whose only field is multilingual */
    s = convert_ok("<prestashop><product><name><language id=\"1\">A</language></name>"
                   "</product></prestashop>");
    check_same_json("single ml", s, "{\"product\":{\"name\":[{\"id\":\"1\",\"value\":\"A\"}]}}");
    free(s);
}

static void
test_associations(void)
{
    char *s;

    s = convert_ok("<prestashop><order><id>1</id><associations>"
                   "<order_rows nodeType=\"order_row\" virtualEntity=\"true\">"
                   "<order_row><id>3</id><product_name><![CDATA[Mug]]></product_name></order_row>"
                   "<order_row><id>4</id><product_name>Cup</product_name></order_row>"
                   "</order_rows>"
                   "<combinations nodeType=\"combination\" api=\"combinations\"/>"
                   "<categories><category><id>2</id></category></categories>"
                   "</associations></order></prestashop>");
    check_same_json("associations", s,
                    "{\"order\":{\"id\":1,\"associations\":{\"order_rows\":[{\"id\":\"3\","
                    "\"product_name\":\"Mug\"},{\"id\":\"4\",\"product_name\":\"Cup\"}],"
                    "\"categories\":[{\"id\":\"2\"}]}}}");
    free(s);
    /* an empty <associations/> is left out */
    s = convert_ok("<prestashop><product><id>1</id><associations/></product></prestashop>");
    CHECK_STR_EQ("{\"product\":{\"id\":1}}", s);
    free(s);
}

/* ---- refusals: a sentence, and the writer as it was --------------------------------------- */

static void
check_refused(const char *what, const char *xml, size_t len, const char *why_has)
{
    struct sxp_buf b;
    sx_str         out = SX_STR("");
    const char    *why = NULL;
    int            rc;

    begin();
    sxp_buf_init(&b, &call.cx);
    sxp_jb_arr(&b);
    sxp_jb_str(&b, SX_STR("before"));
    rc = presta_xml_to_json(xml, len, &b, &why);
    if (rc != SX_E_PROTOCOL)
        CHECK_FAIL_AT(__FILE__, __LINE__, "%s: rc %d, not SX_E_PROTOCOL", what, rc);
    else
        check_passed++;
    CHECK(why != NULL && strlen(why) > 10);
    if (why != NULL && why_has != NULL && strstr(why, why_has) == NULL)
        CHECK_FAIL_AT(__FILE__, __LINE__, "%s: why \"%s\" lacks \"%s\"", what, why, why_has);
    /* nothing half-written: the array goes on as if the call never happened */
    CHECK_EQ(SX_OK, b.rc);
    CHECK_EQ(1, b.depth);
    sxp_jb_str(&b, SX_STR("after"));
    sxp_jb_arr_end(&b);
    CHECK_EQ(SX_OK, sxp_buf_done(&b, &out));
    CHECK_MEM_EQ("[\"before\",\"after\"]", 18, out.ptr, out.len);
    end();
}

#define REFUSED(what, xml, has) check_refused((what), (xml), strlen(xml), (has))

static void
test_malformed(void)
{
    size_t xl;
    char  *xml = slurp("orders.xml", &xl);
    char  *big;

    check_refused("truncated", xml, xl / 2, "well-formed");
    check_refused("truncated at the end", xml, xl - 3, "well-formed");
    free(xml);
    REFUSED("mismatched", "<prestashop><customers><customer><id>1</id></customers></customer>"
                          "</prestashop>", "well-formed");
    REFUSED("unclosed", "<prestashop><customers>", "well-formed");
    REFUSED("undefined entity", "<prestashop><c><id>&foo;</id></c></prestashop>", "well-formed");
    REFUSED("not XML", "{\"customers\":[]}", "well-formed");
    REFUSED("html", "<html><body><h1>Error 500</h1></body></html>", "<prestashop>");
    REFUSED("empty prestashop", "<prestashop/>", "no element");
    REFUSED("whitespace", "   ", "well-formed");
    check_refused("empty", "", 0, "empty");
    check_refused("NULL", NULL, 0, "empty");
    REFUSED("two roots", "<prestashop><a/></prestashop><prestashop/>", "well-formed");
    REFUSED("a record that is not UTF-8 by its own declaration",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><prestashop><c>\xff\xfe</c></prestashop>",
            "well-formed");
    REFUSED("billion laughs",
            "<?xml version=\"1.0\"?>\n<!DOCTYPE prestashop [\n"
            " <!ENTITY lol \"lol\">\n"
            " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
            " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"
            " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
            " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
            " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"
            " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"
            " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"
            " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"
            " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"
            "]>\n<prestashop><customer><id>1</id><note>&lol9;</note></customer></prestashop>",
            "DOCTYPE");
    REFUSED("external entity",
            "<!DOCTYPE prestashop [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            "<prestashop><customer><note>&x;</note></customer></prestashop>", "DOCTYPE");
    REFUSED("bare DOCTYPE", "<!DOCTYPE prestashop><prestashop><c><id>1</id></c></prestashop>",
            "DOCTYPE");
    REFUSED("external DTD",
            "<!DOCTYPE prestashop SYSTEM \"http://127.0.0.1:1/x.dtd\"><prestashop><c/>"
            "</prestashop>", "DOCTYPE");
    /* a CDATA holding "<!DOCTYPE html>" is text, not a DOCTYPE */
    {
        char *s = convert_ok("<prestashop><product><id>1</id><description><language id=\"1\">"
                             "<![CDATA[<!DOCTYPE html><p>x</p>]]></language></description>"
                             "</product></prestashop>");

        CHECK_STR_HAS(s, "<!DOCTYPE html>");
        free(s);
    }
    /* the size bound is checked before a byte is read */
    big = malloc(16);
    REQUIRE(big != NULL);
    memcpy(big, "<prestashop/>", 14);
    check_refused("too large", big, (size_t)PRESTA_XML_MAX + 1, "PRESTA_XML_MAX");
    free(big);
}

/* <prestashop><a><a>...: `levels` elements deep in all. */
static char *
nested(unsigned levels)
{
    size_t   cap = 32 + levels * 8;
    char    *s = malloc(cap);
    size_t   n = 0;
    unsigned i;

    REQUIRE(s != NULL);
    n += (size_t)snprintf(s + n, cap - n, "<prestashop>");
    for (i = 1; i < levels; i++)
        n += (size_t)snprintf(s + n, cap - n, "<a>");
    n += (size_t)snprintf(s + n, cap - n, "x");
    for (i = 1; i < levels; i++)
        n += (size_t)snprintf(s + n, cap - n, "</a>");
    snprintf(s + n, cap - n, "</prestashop>");
    return s;
}

static void
test_bounds(void)
{
    char       *s, *j;
    size_t      cap = 64 + (size_t)(PRESTA_MAX_ITEMS + 1) * 24, n;
    unsigned    i;

    /* depth: PRESTA_XML_DEPTH levels pass the tree check, one more does not; the JSON
     * writer's 16 levels bound the output first. */
    s = nested(10);
    free(convert_ok(s));
    free(s);
    s = nested(PRESTA_XML_DEPTH + 1);
    REFUSED("too deep", s, "PRESTA_XML_DEPTH");
    free(s);
    s = nested(PRESTA_XML_DEPTH);
    REFUSED("deeper than the writer", s, "SXP_JB_DEPTH");
    free(s);
    s = nested(5000);
    REFUSED("much too deep", s, NULL);
    free(s);

    /* children: PRESTA_MAX_ITEMS pass, one more does not */
    s = malloc(cap);
    REQUIRE(s != NULL);
    n = (size_t)snprintf(s, cap, "<prestashop><customers>");
    for (i = 1; i <= PRESTA_MAX_ITEMS; i++)
        n += (size_t)snprintf(s + n, cap - n, "<customer id=\"%u\"/>", i);
    snprintf(s + n, cap - n, "</customers></prestashop>");
    j = convert_ok(s);
    CHECK(j != NULL && strstr(j, "{\"id\":2000}]}") != NULL);
    free(j);
    snprintf(s + n, cap - n, "<customer id=\"2001\"/></customers></prestashop>");
    REFUSED("too many children", s, "PRESTA_MAX_ITEMS");
    free(s);
}

/* ---- shop-local times ------------------------------------------------------------------ */

static void
check_time(const char *local, int off, long long want_ms)
{
    int64_t ms = 0;
    char    back[20];
    int     rc = presta_local_ms(sx_cstr(local), off, &ms);

    if (rc != SX_OK || ms != want_ms)
        CHECK_FAIL_AT(__FILE__, __LINE__, "%s at %+d: rc %d, %lld ms, want %lld", local, off,
                      rc, (long long)ms, want_ms);
    else
        check_passed++;
    presta_local_format(want_ms, off, back);
    CHECK_STR_EQ(local, back);
}

static void
test_times(void)
{
    static const char *const bad[] = {
        "", "2024-01-20", "2024-01-20T21:27:22", "2024-01-20 21:27:22Z",
        "2024-01-20 21:27:2", "2024-1-20 21:27:22 ", "2024-13-01 00:00:00",
        "2024-00-10 00:00:00", "2024-01-00 00:00:00", "2024-01-32 00:00:00",
        "2023-02-29 00:00:00", "1900-02-29 00:00:00", "2024-04-31 00:00:00",
        "2024-01-20 24:00:00", "2024-01-20 23:60:00", "2024-01-20 23:59:60",
        "0000-01-01 00:00:00", "2024/01/20 21:27:22", "2024-01-20 21.27.22",
        "+024-01-20 21:27:22", "2024-01-20 -1:27:22", "２024-01-20 21:27:2",
        "0000-00-00 00:00:01",
    };
    int64_t ms;
    char    out[20];
    size_t  i;

    /* platforms.md 3.3: the shop's offset; the sandbox's default +01:00 */
    check_time("2024-01-20 21:27:22", 60, 1705782442000LL);
    check_time("2024-01-20 21:27:22", 0, 1705786042000LL);
    check_time("2024-01-20 21:27:22", -300, 1705804042000LL);
    check_time("2024-01-20 21:27:22", 330, 1705766242000LL);
    /* day, month and year boundaries crossed by the offset */
    check_time("2024-01-01 00:30:00", 60, 1704065400000LL);        /* 2023-12-31 23:30Z */
    check_time("2023-12-31 19:00:00", -300, 1704067200000LL);      /* 2024-01-01 00:00Z */
    check_time("2024-01-01 05:29:59", 330, 1704067199000LL);       /* 2023-12-31 23:59:59Z */
    check_time("2024-03-01 00:00:00", 60, 1709247600000LL);        /* leap day before */
    check_time("2024-02-29 23:59:59", 0, 1709251199000LL);
    check_time("2024-02-29 19:00:00", -300, 1709251200000LL);      /* 2024-03-01 00:00Z */
    check_time("2000-02-29 12:00:00", 330, 951805800000LL);        /* 400-year leap */
    check_time("2100-03-01 00:00:00", 0, 4107542400000LL);         /* 2100 not leap */
    check_time("1970-01-01 00:00:00", 0, 0);
    check_time("1969-12-31 19:00:00", -300, 0);
    check_time("1969-12-31 23:59:59", 0, -1000);
    check_time("0001-01-01 00:00:00", 0, PRESTA_MS_MIN);
    check_time("9999-12-31 23:59:59", 0, PRESTA_MS_MAX - 999);
    /* month ends */
    check_time("2023-04-30 23:59:59", 0, 1682899199000LL);
    check_time("2023-05-01 00:00:00", 0, 1682899200000LL);

    /* milliseconds are dropped on the way out */
    presta_local_format(1705782442999LL, 60, out);
    CHECK_STR_EQ("2024-01-20 21:27:22", out);
    presta_local_format(-1, 0, out);
    CHECK_STR_EQ("1969-12-31 23:59:59", out);
    /* outside 0001..9999: PrestaShop's "no date" */
    presta_local_format(INT64_MAX, 60, out);
    CHECK_STR_EQ("0000-00-00 00:00:00", out);
    presta_local_format(INT64_MIN, -300, out);
    CHECK_STR_EQ("0000-00-00 00:00:00", out);
    presta_local_format(PRESTA_MS_MAX + 1, 0, out);
    CHECK_STR_EQ("0000-00-00 00:00:00", out);
    presta_local_format(PRESTA_MS_MIN, -60, out);
    CHECK_STR_EQ("0000-00-00 00:00:00", out);

    CHECK_EQ(SX_E_NOT_FOUND, presta_local_ms(SX_STR("0000-00-00 00:00:00"), 60, &ms));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = presta_local_ms(sx_cstr(bad[i]), 60, &ms);

        if (rc != SX_E_INVALID)
            CHECK_FAIL_AT(__FILE__, __LINE__, "\"%s\" gave %d, not SX_E_INVALID", bad[i], rc);
        else
            check_passed++;
    }
    CHECK_EQ(SX_E_INVALID, presta_local_ms((sx_str){ NULL, 19 }, 60, &ms));
    CHECK_EQ(SX_E_INVALID, presta_local_ms((sx_str){ "2024-01-20 21:27:22\0", 20 }, 60, &ms));
    CHECK_EQ(SX_E_INVALID, presta_local_ms(SX_STR("2024-01-20 21:27:22"), 24 * 60, &ms));
    CHECK_EQ(SX_E_INVALID, presta_local_ms(SX_STR("2024-01-20 21:27:22"), -19 * 60, &ms));
    /* the round trip over a year of hours at each offset */
    {
        static const int offs[] = { 60, -300, 330, 0, -720, 840 };
        int64_t          t, back;
        size_t           k;

        for (k = 0; k < sizeof(offs) / sizeof(offs[0]); k++) {
            int ok = 1;

            for (t = 1704067200000LL - 86400000LL; t < 1735689600000LL + 86400000LL;
                 t += 3600000LL + 1000) {
                presta_local_format(t, offs[k], out);
                if (presta_local_ms(sx_cstr(out), offs[k], &back) != SX_OK || back != t) {
                    ok = 0;
                    fprintf(stderr, "  round trip %lld at %d: %s -> %lld\n", (long long)t,
                            offs[k], out, (long long)back);
                    break;
                }
            }
            CHECK(ok);
        }
    }
}

int
main(void)
{
    RUN_TEST(test_fixtures);
    RUN_TEST(test_empty_and_ids);
    RUN_TEST(test_multilingual);
    RUN_TEST(test_associations);
    RUN_TEST(test_malformed);
    RUN_TEST(test_bounds);
    RUN_TEST(test_times);
    xmlCleanupParser();
    return check_report();
}
