/*
 * The Shopify connector (build/plugins/shopify.so) end to end against the Shopify sandbox
 * (build/bin/simplix-sandbox, started here as a child on a free port), through the hub's
 * instance/call machinery: real libcurl, the shared rate limiter, host retries, secrets
 * sealed in PostgreSQL and connector state in PostgreSQL (fixture of test_hostapi.c).
 *
 * What it proves: test_connection (good and bad token); full listings of customers,
 * products and orders paged by Link until has_more=0, exactly the sandbox's count.json,
 * no duplicate id; updated_at_min incremental after merchant edits; canonical fields
 * (minor units, UTC times, tags arrays, variants, order totals); push create and update;
 * OAuth authorize URL, a real sandbox redirect exchanged, tampered hmac, stale timestamp;
 * refresh with rotating refresh tokens and a dead grant; webhook subscription, real signed
 * deliveries translated (customers/update, orders/delete, refunds/create), app/uninstalled;
 * 5 % 5xx and 429 faults with every customer listed exactly once. The wire parsers
 * (Link, call limit, shop domain, tax rates) are also tested directly.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/log.h"
#include "db/migrate.h"
#include "plugin/hostapi.h"
#include "testdb.h"

/* The pure parsers, compiled in to be tested directly (they are hidden in shopify.so). */
#include "../../plugins/common/sxp.c"
#include "../../plugins/shopify/shopify_util.c"

#define SHOP          "sandbox-shop.myshopify.com"
#define API_KEY       "sandbox-api-key"
#define API_SECRET    "sandbox-api-secret"
#define TOKEN         "shpat_sandbox"
#define N_CUSTOMERS   300
#define N_PRODUCTS    120
#define N_ORDERS      400

static struct testdb             db;
static struct hub_db             conn;
static struct hub_runtime        rt;
static struct hub_plugins        plugins;
static struct hub_crypto_keyring keys;
static int64_t                   integration_id;
static pid_t                     sbx_pid = -1;
static int                       sbx_port;
static char                      sbx_url[64];
static char                      ready_path[64];
static struct hub_instance      *inst;

/* ---- a tiny blocking HTTP/1.1 client for the sandbox (control API, counts, redirects) ---- */

struct reply {
    int    status;
    char  *head;          /* status line and headers, NUL-terminated */
    char  *body;          /* NUL-terminated */
    size_t body_len;
};

static void
reply_free(struct reply *r)
{
    free(r->head);
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static int
connect_port(int port)
{
    struct sockaddr_in sa;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int
http_do(const char *method, const char *path, const char *body, int with_token,
        struct reply *r)
{
    char    req[8192], *buf = NULL, *sep;
    size_t  len = 0, cap = 0, blen = body ? strlen(body) : 0;
    ssize_t n;
    int     fd, hl;

    memset(r, 0, sizeof(*r));
    fd = connect_port(sbx_port);
    if (fd < 0)
        return -1;
    hl = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                  method, path, sbx_port, blen,
                  with_token ? "X-Shopify-Access-Token: " TOKEN "\r\n" : "");
    if (write(fd, req, (size_t)hl) != hl || (blen > 0 && write(fd, body, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    for (;;) {
        if (len + 65536 + 1 > cap) {
            cap = cap ? cap * 2 : 131072;
            buf = realloc(buf, cap);
        }
        n = read(fd, buf + len, cap - len - 1);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (buf == NULL)
        return -1;
    buf[len] = '\0';
    sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL || sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) {
        free(buf);
        return -1;
    }
    r->head = strndup(buf, (size_t)(sep - buf));
    r->body_len = len - (size_t)(sep + 4 - buf);
    r->body = malloc(r->body_len + 1);
    memcpy(r->body, sep + 4, r->body_len);
    r->body[r->body_len] = '\0';
    free(buf);
    return 0;
}

/* Header value from a reply head (case-insensitive name), copied into out. */
static int
reply_header(const struct reply *r, const char *name, char *out, size_t cap)
{
    const char *p = r->head;
    size_t      nl = strlen(name);

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1, *e;

            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(out, cap, "%.*s", (int)(e ? (size_t)(e - v) : strlen(v)), v);
            return 0;
        }
    }
    return -1;
}

static long long
api_count(const char *resource, const char *query)
{
    struct reply r;
    char         path[256];
    const char  *c;
    long long    n = -1;

    snprintf(path, sizeof(path), "/admin/api/2024-10/%s/count.json%s%s", resource,
             query ? "?" : "", query ? query : "");
    if (http_do("GET", path, NULL, 1, &r) == 0 && r.status == 200 &&
        (c = strstr(r.body, "\"count\":")) != NULL)
        n = strtoll(c + 8, NULL, 10);
    reply_free(&r);
    return n;
}

static int
control(const char *method, const char *path, const char *body, struct reply *out)
{
    struct reply r;
    char         full[512];
    int          st;

    snprintf(full, sizeof(full), "/_sandbox/%s", path);
    if (http_do(method, full, body, 0, &r) < 0)
        return -1;
    st = r.status;
    if (out != NULL)
        *out = r;
    else
        reply_free(&r);
    return st;
}

/* ---- the sandbox child ---------------------------------------------------------------------- */

static void
sandbox_start(void)
{
    char        bin[4096], buf[512];
    const char *p;
    int         i;
    FILE       *f;

    snprintf(bin, sizeof(bin), "%s/../bin/simplix-sandbox", SX_PLUGIN_DIR);
    if (access(bin, X_OK) != 0)
        check_skip("simplix-sandbox is not built (cmake --build ... --target simplix-sandbox)");
    snprintf(ready_path, sizeof(ready_path), "/tmp/sx_shopify_ready_%ld.json", (long)getpid());
    unlink(ready_path);
    sbx_pid = fork();
    REQUIRE(sbx_pid >= 0);
    if (sbx_pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);

        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl(bin, bin, "--only", "shopify", "--shopify-port", "0", "--ready-file", ready_path,
              "--seed", "7", "--customers", "300", "--products", "120", "--orders", "400",
              "--shopify-shop", SHOP, "--shopify-api-key", API_KEY, "--shopify-api-secret",
              API_SECRET, "--shopify-access-token", TOKEN, "--shopify-expiring-tokens",
              (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200; i++) {
        f = fopen(ready_path, "r");
        if (f != NULL) {
            size_t n = fread(buf, 1, sizeof(buf) - 1, f);

            fclose(f);
            buf[n] = '\0';
            if (strstr(buf, "\"pid\"") != NULL)
                break;
        }
        usleep(50000);
    }
    REQUIRE(i < 200);
    p = strstr(buf, "\"shopify\":\"http://127.0.0.1:");
    REQUIRE(p != NULL);
    sbx_port = atoi(p + strlen("\"shopify\":\"http://127.0.0.1:"));
    REQUIRE(sbx_port > 0);
    snprintf(sbx_url, sizeof(sbx_url), "http://127.0.0.1:%d", sbx_port);
}

static void
sandbox_stop(void)
{
    int status;

    if (sbx_pid > 0) {
        kill(sbx_pid, SIGTERM);
        waitpid(sbx_pid, &status, 0);
        sbx_pid = -1;
    }
    unlink(ready_path);
}

/* ---- helpers ------------------------------------------------------------------------------- */

static void
store_secret(const char *key, const char *value)
{
    struct hub_error err;

    REQUIRE(hub_secret_store(&conn, &keys, integration_id, key, value, strlen(value), &err) == 0);
}

static struct hub_instance *
open_shopify(void)
{
    struct hub_instance *in = NULL;
    struct hub_error     err;
    char                 cfg[512];

    snprintf(cfg, sizeof(cfg), "{\"shop_domain\":\"%s\",\"base_url\":\"%s\",\"client_id\":\"%s\"}",
             SHOP, sbx_url, API_KEY);
    if (hub_instance_open(&rt, &plugins, "shopify", integration_id, cfg, NULL, &conn, &in,
                          &err) < 0)
        fprintf(stderr, "open: %s\n", err.msg);
    return in;
}

static int64_t
real_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Everything emitted by a listing, and checks run on each record as it comes. */
struct seen {
    uint32_t entity;
    size_t   n, cap;
    char   **ids;
    int      bad;                   /* records failing an invariant */
    int      with_refunds, with_discounts, with_tags, cancelled, incl, with_stock, multi_var;
    int64_t  ppm_seen;
    char     first[256];
};

static void
seen_free(struct seen *s)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        free(s->ids[i]);
    free(s->ids);
    memset(s, 0, sizeof(*s));
}

static int
is_utc(sx_str t)
{
    return t.len == 20 && t.ptr[4] == '-' && t.ptr[10] == 'T' && t.ptr[19] == 'Z';
}

static int64_t
jint(const sx_host_api *h, const sx_json *o, const char *k)
{
    int64_t v = -999999;

    (void)h->json_int64(h->json_get(o, k), &v);
    return v;
}

static void
check_order(struct seen *s, const sx_host_api *h, const sx_json *o)
{
    int64_t sub = jint(h, o, SX_K_SUBTOTAL_MINOR), disc = jint(h, o, SX_K_DISCOUNT_MINOR);
    int64_t ship = jint(h, o, SX_K_SHIPPING_MINOR), tax = jint(h, o, SX_K_TAX_MINOR);
    int64_t tot = jint(h, o, SX_K_TOTAL_MINOR), ref = jint(h, o, SX_K_REFUNDED_MINOR);
    int64_t lines = 0, taxes = 0, refs = 0, discs = 0;
    const sx_json *a;
    sx_str   st;
    int      incl = 0;
    size_t   i;

    (void)h->json_bool(h->json_get(o, SX_K_TAXES_INCLUDED), &incl);
    if (sub - disc + ship + (incl ? 0 : tax) != tot) {
        s->bad++;
        fprintf(stderr, "order totals: %lld - %lld + %lld + %lld != %lld (incl %d)\n",
                (long long)sub, (long long)disc, (long long)ship, (long long)tax,
                (long long)tot, incl);
    }
    a = h->json_get(o, SX_K_LINES);
    for (i = 0; i < h->json_length(a); i++)
        lines += jint(h, h->json_at(a, i), SX_K_QUANTITY) *
                 jint(h, h->json_at(a, i), SX_K_UNIT_PRICE_MINOR);
    a = h->json_get(o, SX_K_TAXES);
    for (i = 0; i < h->json_length(a); i++) {
        taxes += jint(h, h->json_at(a, i), SX_K_AMOUNT_MINOR);
        if (jint(h, h->json_at(a, i), SX_K_RATE_PPM) > 0)
            s->ppm_seen = jint(h, h->json_at(a, i), SX_K_RATE_PPM);
    }
    a = h->json_get(o, SX_K_REFUNDS);
    for (i = 0; i < h->json_length(a); i++)
        refs += jint(h, h->json_at(a, i), SX_K_AMOUNT_MINOR);
    a = h->json_get(o, SX_K_DISCOUNTS);
    for (i = 0; i < h->json_length(a); i++)
        discs += jint(h, h->json_at(a, i), SX_K_AMOUNT_MINOR);
    if (lines != sub || taxes != tax || refs != ref || discs != disc) {
        s->bad++;
        fprintf(stderr, "order sums: lines %lld/%lld taxes %lld/%lld refunds %lld/%lld "
                "discounts %lld/%lld\n", (long long)lines, (long long)sub, (long long)taxes,
                (long long)tax, (long long)refs, (long long)ref, (long long)discs,
                (long long)disc);
    }
    s->with_refunds += ref > 0;
    s->with_discounts += disc > 0;
    s->incl += incl;
    if (h->json_string(h->json_get(o, SX_K_STATUS), &st) == SX_OK &&
        sx_str_eq_cstr(st, "cancelled")) {
        s->cancelled++;
        if (h->json_string(h->json_get(o, SX_K_CANCELLED_AT), &st) != SX_OK || !is_utc(st))
            s->bad++;
    }
    if (h->json_string(h->json_get(o, SX_K_FINANCIAL_STATUS), &st) != SX_OK)
        s->bad++;
}

static int
collect(struct hub_call *call, uint32_t entity, sx_str json, void *arg)
{
    struct seen       *s = arg;
    const sx_host_api *h = call->cx.host;
    const sx_json     *doc, *v;
    sx_str             id, t;
    size_t             i;

    if (entity != s->entity) {
        s->bad++;
        return SX_OK;
    }
    if (h->json_parse(&call->cx, json, &doc) != SX_OK ||
        h->json_string(h->json_get(doc, SX_K_EXTERNAL_ID), &id) != SX_OK ||
        h->json_string(h->json_get(doc, SX_K_UPDATED_AT), &t) != SX_OK || !is_utc(t) ||
        h->json_type(h->json_get(doc, SX_K_RAW)) != SX_JSON_OBJECT) {
        s->bad++;
        fprintf(stderr, "bad record: %.300s\n", json.ptr);
        return SX_OK;
    }
    if (s->n == 0)
        snprintf(s->first, sizeof(s->first), "%.*s", (int)id.len, id.ptr);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->ids = realloc(s->ids, s->cap * sizeof(*s->ids));
    }
    s->ids[s->n++] = strndup(id.ptr, id.len);
    if (entity == SX_ENTITY_CUSTOMER) {
        v = h->json_get(doc, SX_K_TAGS);
        if (h->json_type(v) != SX_JSON_ARRAY)
            s->bad++;
        s->with_tags += h->json_length(v) > 0;
    } else if (entity == SX_ENTITY_PRODUCT) {
        v = h->json_get(doc, SX_K_VARIANTS);
        if (h->json_length(v) < 1 ||
            h->json_string(h->json_get(doc, SX_K_CURRENCY), &t) != SX_OK ||
            !sx_str_eq_cstr(t, "USD"))
            s->bad++;
        s->multi_var += h->json_length(v) > 1;
        for (i = 0; i < h->json_length(v); i++) {
            if (h->json_type(h->json_get(h->json_at(v, i), SX_K_PRICE_MINOR)) != SX_JSON_INT)
                s->bad++;
            s->with_stock += h->json_get(h->json_at(v, i), SX_K_STOCK) != NULL;
        }
    } else if (entity == SX_ENTITY_ORDER) {
        check_order(s, h, doc);
    }
    return SX_OK;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t
count_dups(struct seen *s)
{
    size_t i, d = 0;

    qsort(s->ids, s->n, sizeof(*s->ids), cmp_str);
    for (i = 1; i < s->n; i++)
        d += strcmp(s->ids[i - 1], s->ids[i]) == 0;
    return d;
}

/* Page `entity` to the end; returns the number of pages, -1 on a failure. */
static int
list_all(uint32_t entity, uint32_t page_size, int64_t since, struct seen *s)
{
    struct hub_error err;
    char             cursor[8192] = "";
    int              more = 1, pages = 0, rc;

    s->entity = entity;
    while (more) {
        rc = hub_instance_list(inst, &conn, entity, cursor, since, page_size, collect, s,
                               cursor, sizeof(cursor), &more, &err);
        if (rc != 0) {
            fprintf(stderr, "list %s page %d: %s\n", sx_entity_name(entity), pages, err.msg);
            return -1;
        }
        if (++pages > 1000)
            return -1;
    }
    return pages;
}

/* ---- tests: pure parsers -------------------------------------------------------------------- */

static void
test_parsers(void)
{
    sx_str   pi;
    uint32_t used, lim;
    int64_t  ppm;

    CHECK_EQ(SX_OK, shp_link_next(SX_STR("<https://x/a?page_info=abc>; rel=\"next\""), &pi));
    CHECK_MEM_EQ("abc", 3, pi.ptr, pi.len);
    CHECK_EQ(SX_OK, shp_link_next(SX_STR("<https://s.myshopify.com/admin/api/2024-10/orders.json"
                                         "?limit=50&page_info=p1>; rel=\"previous\", "
                                         "<https://s.myshopify.com/admin/api/2024-10/orders.json"
                                         "?limit=50&page_info=n2&x=1>; rel=\"next\""), &pi));
    CHECK_MEM_EQ("n2", 2, pi.ptr, pi.len);
    CHECK_EQ(SX_E_NOT_FOUND, shp_link_next(SX_STR("<https://x/a?page_info=p>; rel=\"previous\""),
                                           &pi));
    CHECK_EQ(SX_E_NOT_FOUND, shp_link_next(SX_STR(""), &pi));
    CHECK_EQ(SX_E_PROTOCOL, shp_link_next(SX_STR("<unterminated"), &pi));
    CHECK_EQ(SX_E_PROTOCOL, shp_link_next(SX_STR("<https://x/a?limit=1>; rel=\"next\""), &pi));
    CHECK_EQ(SX_E_PROTOCOL, shp_link_next(SX_STR("<https://x/a?page_info=a b>; rel=\"next\""),
                                          &pi));

    CHECK_EQ(SX_OK, shp_call_limit_parse(SX_STR("32/40"), &used, &lim));
    CHECK_EQ(32, used);
    CHECK_EQ(40, lim);
    CHECK_EQ(SX_E_PROTOCOL, shp_call_limit_parse(SX_STR("32/"), &used, &lim));
    CHECK_EQ(SX_E_PROTOCOL, shp_call_limit_parse(SX_STR("x/40"), &used, &lim));
    CHECK_EQ(SX_E_PROTOCOL, shp_call_limit_parse(SX_STR("1/0"), &used, &lim));

    CHECK(shp_domain_valid(SX_STR("my-shop_1.myshopify.com")));
    CHECK(!shp_domain_valid(SX_STR("-shop.myshopify.com")));
    CHECK(!shp_domain_valid(SX_STR("evil.com")));
    CHECK(!shp_domain_valid(SX_STR("a.b.myshopify.com")));
    CHECK(!shp_domain_valid(SX_STR(".myshopify.com")));
    CHECK(!shp_domain_valid(SX_STR("shop.myshopify.com.evil.com")));

    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("0.2"), &ppm));
    CHECK_EQ(200000, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("0.08875"), &ppm));
    CHECK_EQ(88750, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("0.05"), &ppm));
    CHECK_EQ(50000, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("0"), &ppm));
    CHECK_EQ(0, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("1"), &ppm));
    CHECK_EQ(1000000, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("5e-2"), &ppm));
    CHECK_EQ(50000, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("0.0000005"), &ppm));   /* half a ppm rounds up */
    CHECK_EQ(1, ppm);
    CHECK_EQ(SX_OK, sxp_rate_ppm(SX_STR("0.12345649"), &ppm));
    CHECK_EQ(123456, ppm);
    CHECK_EQ(SX_E_INVALID, sxp_rate_ppm(SX_STR("-0.2"), &ppm));
    CHECK_EQ(SX_E_INVALID, sxp_rate_ppm(SX_STR("abc"), &ppm));
    CHECK_EQ(SX_E_INVALID, sxp_rate_ppm(SX_STR("1e99"), &ppm));
}

/* ---- tests against the sandbox -------------------------------------------------------------- */

static void
test_connection(void)
{
    struct hub_error err;

    CHECK_EQ(0, hub_instance_test_connection(inst, &conn, &err));
    store_secret("access_token", "shpat_not_a_real_token");
    CHECK_EQ(SX_E_AUTH, hub_instance_test_connection(inst, &conn, &err));
    CHECK_STR_HAS(err.msg, "Shopify refused the access token for " SHOP ": reconnect the shop");
    store_secret("access_token", TOKEN);
    CHECK_EQ(0, hub_instance_test_connection(inst, &conn, &err));
}

static void
test_full_listings(void)
{
    struct seen s;
    int         pages;

    memset(&s, 0, sizeof(s));
    pages = list_all(SX_ENTITY_CUSTOMER, 50, 0, &s);
    CHECK_EQ(api_count("customers", NULL), (long long)s.n);
    CHECK_GE((long long)s.n, N_CUSTOMERS * 9 / 10);        /* ~1-2 % are deleted */
    CHECK_EQ((long long)(s.n + 49) / 50, pages);
    CHECK_EQ(0, count_dups(&s));
    CHECK_EQ(0, s.bad);
    CHECK_GE(s.with_tags, 1);
    seen_free(&s);

    /* Default page size (250), and a tiny one for a few pages. */
    memset(&s, 0, sizeof(s));
    pages = list_all(SX_ENTITY_PRODUCT, 0, 0, &s);
    CHECK_EQ(api_count("products", NULL), (long long)s.n);
    CHECK_EQ(1, pages);
    CHECK_EQ(0, count_dups(&s));
    CHECK_EQ(0, s.bad);
    CHECK_GE(s.multi_var, 1);
    CHECK_GE(s.with_stock, 1);
    seen_free(&s);

    memset(&s, 0, sizeof(s));
    pages = list_all(SX_ENTITY_ORDER, 250, 0, &s);
    CHECK_EQ(api_count("orders", "status=any"), (long long)s.n);
    CHECK_GE((long long)s.n, N_ORDERS * 9 / 10);
    CHECK_EQ(2, pages);
    CHECK_EQ(0, count_dups(&s));
    CHECK_EQ(0, s.bad);
    CHECK_GE(s.with_refunds, 1);
    CHECK_GE(s.with_discounts, 1);
    CHECK_GE(s.cancelled, 1);
    CHECK_GE(s.incl, 1);
    CHECK_GE(s.ppm_seen, 1);
    seen_free(&s);
}

/* Captures the canonical JSON of every record of one page. */
struct capture {
    char   *json[8];
    size_t  n;
};

static int
capture(struct hub_call *call, uint32_t entity, sx_str json, void *arg)
{
    struct capture *c = arg;

    (void)call;
    (void)entity;
    if (c->n < 8)
        c->json[c->n++] = strndup(json.ptr, json.len);
    return SX_OK;
}

static void
capture_free(struct capture *c)
{
    size_t i;

    for (i = 0; i < c->n; i++)
        free(c->json[i]);
    memset(c, 0, sizeof(*c));
}

static void
test_canonical_order(void)
{
    struct hub_error   err;
    struct capture     c;
    struct reply       r;
    struct hub_call    call;
    const sx_host_api *h = hub_host_api();
    const sx_json     *doc, *o, *canon;
    char               cursor[8192], path[128];
    sx_str             s, id;
    int64_t            minor;
    int                more;

    memset(&c, 0, sizeof(c));
    REQUIRE(hub_instance_list(inst, &conn, SX_ENTITY_ORDER, "", 0, 1, capture, &c, cursor,
                              sizeof(cursor), &more, &err) == 0);
    REQUIRE(c.n == 1);
    hub_call_begin(&call, inst, &conn);
    REQUIRE(h->json_parse(&call.cx, sx_cstr(c.json[0]), &canon) == SX_OK);
    REQUIRE(h->json_string(h->json_get(canon, SX_K_EXTERNAL_ID), &id) == SX_OK);
    snprintf(path, sizeof(path), "/admin/api/2024-10/orders/%.*s.json", (int)id.len, id.ptr);
    REQUIRE(http_do("GET", path, NULL, 1, &r) == 0 && r.status == 200);
    REQUIRE(h->json_parse(&call.cx, (sx_str){ r.body, r.body_len }, &doc) == SX_OK);
    o = h->json_get(doc, "order");

    /* Money: the platform's decimal string, in minor units. */
    REQUIRE(h->json_string(h->json_get(o, "total_price"), &s) == SX_OK);
    REQUIRE(sx_money_parse(s, 2, 0, &minor) == SX_OK);
    CHECK_EQ(minor, jint(h, canon, SX_K_TOTAL_MINOR));
    REQUIRE(h->json_string(h->json_get(o, "total_line_items_price"), &s) == SX_OK);
    REQUIRE(sx_money_parse(s, 2, 0, &minor) == SX_OK);
    CHECK_EQ(minor, jint(h, canon, SX_K_SUBTOTAL_MINOR));
    /* Number, currency. */
    REQUIRE(h->json_string(h->json_get(o, "name"), &s) == SX_OK);
    {
        sx_str n2;

        CHECK_EQ(SX_OK, h->json_string(h->json_get(canon, SX_K_NUMBER), &n2));
        CHECK(sx_str_eq(s, n2));
        CHECK_EQ(SX_OK, h->json_string(h->json_get(canon, SX_K_CURRENCY), &n2));
        CHECK(sx_str_eq_cstr(n2, "USD"));
    }
    /* Times: the platform's carry the shop's offset; ours are the same instant in UTC. */
    REQUIRE(h->json_string(h->json_get(o, "updated_at"), &s) == SX_OK);
    CHECK(s.ptr[s.len - 1] != 'Z');
    {
        int64_t a, b;
        sx_str  u;

        REQUIRE(h->json_string(h->json_get(canon, SX_K_UPDATED_AT), &u) == SX_OK);
        CHECK(is_utc(u));
        CHECK_EQ(SX_OK, h->time_parse(s, &a));
        CHECK_EQ(SX_OK, h->time_parse(u, &b));
        CHECK_EQ(a, b);
    }
    /* Lines carry product and variant ids as strings, and their own taxes in ppm. */
    {
        const sx_json *lines = h->json_get(canon, SX_K_LINES);
        const sx_json *li = h->json_at(lines, 0);

        CHECK_EQ(h->json_length(h->json_get(o, "line_items")), h->json_length(lines));
        CHECK_EQ(SX_JSON_STRING, h->json_type(h->json_get(li, SX_K_EXTERNAL_ID)));
        CHECK_GE(jint(h, li, SX_K_QUANTITY), 1);
        CHECK_EQ(jint(h, li, SX_K_QUANTITY) * jint(h, li, SX_K_UNIT_PRICE_MINOR) -
                 jint(h, li, SX_K_DISCOUNT_MINOR), jint(h, li, SX_K_TOTAL_MINOR));
    }
    hub_call_end(&call);
    reply_free(&r);
    capture_free(&c);
}

static void
test_canonical_customer_product(void)
{
    struct hub_error err;
    struct capture   c;
    char             cursor[8192];
    int              more;

    memset(&c, 0, sizeof(c));
    REQUIRE(hub_instance_list(inst, &conn, SX_ENTITY_CUSTOMER, "", 0, 2, capture, &c, cursor,
                              sizeof(cursor), &more, &err) == 0);
    REQUIRE(c.n == 2);
    /* Seed 7: the first customer (Shopify order: oldest first). */
    CHECK_STR_HAS(c.json[0], "\"external_id\":\"");
    CHECK_STR_HAS(c.json[0], "\"created_at\":\"2024-01-01T00:00:00Z\"");  /* -05:00 -> UTC */
    CHECK_STR_HAS(c.json[0], "\"tags\":[\"");
    CHECK_STR_HAS(c.json[0], "\"addresses\":[{\"kind\":\"billing\"");
    CHECK_STR_HAS(c.json[0], "\"country_code\":\"");
    CHECK_STR_HAS(c.json[0], "\"raw\":{\"id\":");
    CHECK_STR_HAS(c.json[1], "\"email\":null");             /* no email: explicitly empty */
    capture_free(&c);

    memset(&c, 0, sizeof(c));
    REQUIRE(hub_instance_list(inst, &conn, SX_ENTITY_PRODUCT, "", 0, 1, capture, &c, cursor,
                              sizeof(cursor), &more, &err) == 0);
    REQUIRE(c.n == 1);
    CHECK_STR_HAS(c.json[0], "\"currency\":\"USD\"");
    CHECK_STR_HAS(c.json[0], "\"variants\":[{\"external_id\":\"");
    CHECK_STR_HAS(c.json[0], "\"price_minor\":2069");       /* "20.69" */
    CHECK_STR_HAS(c.json[0], "\"stock\":1,");
    CHECK_STR_HAS(c.json[0], "\"position\":1}");
    CHECK_STR_HAS(c.json[0], "\"sku\":\"SKU-0-0\"");
    capture_free(&c);
}

static void
test_incremental(void)
{
    struct seen  s;
    struct reply r;
    char         a[32], b[32], path[64];
    int64_t      since;
    size_t       i;
    int          found_a = 0, found_b = 0;

    /* Two customers from the listing, edited by the merchant after `since`. */
    memset(&s, 0, sizeof(s));
    REQUIRE(list_all(SX_ENTITY_CUSTOMER, 250, 0, &s) > 0);
    REQUIRE(s.n > 10);
    snprintf(a, sizeof(a), "%s", s.ids[3]);
    snprintf(b, sizeof(b), "%s", s.ids[7]);
    seen_free(&s);
    since = real_now_ms() / 1000 * 1000 - 1000;   /* second-granular, inclusive */
    snprintf(path, sizeof(path), "customers/%s", a);
    CHECK_EQ(200, control("POST", path, "", &r));
    reply_free(&r);
    snprintf(path, sizeof(path), "customers/%s", b);
    CHECK_EQ(200, control("POST", path, "{\"note\":\"edited by the merchant\"}", &r));
    reply_free(&r);

    memset(&s, 0, sizeof(s));
    CHECK_EQ(1, list_all(SX_ENTITY_CUSTOMER, 50, since, &s));
    CHECK_EQ(2, (long long)s.n);
    for (i = 0; i < s.n; i++) {
        found_a |= strcmp(s.ids[i], a) == 0;
        found_b |= strcmp(s.ids[i], b) == 0;
    }
    CHECK(found_a && found_b);
    seen_free(&s);

    /* Nothing changed in the future. */
    memset(&s, 0, sizeof(s));
    CHECK_EQ(1, list_all(SX_ENTITY_CUSTOMER, 50, real_now_ms() + 3600000, &s));
    CHECK_EQ(0, (long long)s.n);
    seen_free(&s);
}

static int
push(uint32_t entity, const char *json, char *ext_id, size_t cap, char *canon, size_t ccap)
{
    const sx_entity_ops *ops = hub_plugin_entity(inst->plugin, entity);
    struct hub_call      call;
    sx_push_res          res;
    int                  rc;

    REQUIRE(ops != NULL && ops->push != NULL);
    memset(&res, 0, sizeof(res));
    res.hdr.abi_version = SX_ABI_VERSION;
    res.hdr.struct_size = sizeof(res);
    hub_call_begin(&call, inst, &conn);
    rc = ops->push(&call.cx, sx_cstr(json), &res);
    rc = hub_call_result(&call, rc, "push()");
    if (rc == 0) {
        snprintf(ext_id, cap, "%.*s", (int)res.external_id.len, res.external_id.ptr);
        snprintf(canon, ccap, "%.*s", (int)res.canonical_json.len, res.canonical_json.ptr);
        CHECK(res.external_updated_at > 0);
    } else {
        snprintf(canon, ccap, "%s", call.err.msg);
    }
    hub_call_end(&call);
    return rc;
}

static void
test_push_customer_and_product(void)
{
    struct reply r;
    char         id[64], canon[65536], json[1024], path[128];

    CHECK_EQ(0, push(SX_ENTITY_CUSTOMER,
                     "{\"first_name\":\"Zoë\",\"last_name\":\"Pushed\","
                     "\"email\":\"zoe.pushed@example.com\",\"note\":\"from Simplix\","
                     "\"tags\":[\"wholesale\",\"vip\"],\"tax_exempt\":true,"
                     "\"addresses\":[{\"kind\":\"billing\",\"line1\":\"1 Rue\",\"city\":\"Paris\","
                     "\"postal_code\":\"75001\",\"country_code\":\"FR\"}]}",
                     id, sizeof(id), canon, sizeof(canon)));
    CHECK(id[0] >= '1' && id[0] <= '9');
    CHECK_STR_HAS(canon, "\"email\":\"zoe.pushed@example.com\"");
    CHECK_STR_HAS(canon, "\"tags\":[\"wholesale\",\"vip\"]");
    snprintf(path, sizeof(path), "/admin/api/2024-10/customers/%s.json", id);
    REQUIRE(http_do("GET", path, NULL, 1, &r) == 0);
    CHECK_EQ(200, r.status);
    CHECK_STR_HAS(r.body, "\"email\":\"zoe.pushed@example.com\"");
    CHECK_STR_HAS(r.body, "\"tags\":\"wholesale, vip\"");
    CHECK_STR_HAS(r.body, "\"first_name\":\"Zoë\"");
    reply_free(&r);

    /* Update by external id. */
    snprintf(json, sizeof(json), "{\"external_id\":\"%s\",\"note\":\"updated in Simplix\","
             "\"tags\":[\"retail\"]}", id);
    CHECK_EQ(0, push(SX_ENTITY_CUSTOMER, json, id, sizeof(id), canon, sizeof(canon)));
    REQUIRE(http_do("GET", path, NULL, 1, &r) == 0);
    CHECK_STR_HAS(r.body, "\"note\":\"updated in Simplix\"");
    CHECK_STR_HAS(r.body, "\"tags\":\"retail\"");
    CHECK_STR_HAS(r.body, "\"email\":\"zoe.pushed@example.com\"");   /* untouched */
    reply_free(&r);

    /* Shopify's validation comes back as SX_E_REJECTED with its words. */
    CHECK_EQ(SX_E_REJECTED, push(SX_ENTITY_CUSTOMER, "{\"email\":\"zoe.pushed@example.com\","
                                 "\"last_name\":\"Twin\"}", id, sizeof(id), canon,
                                 sizeof(canon)));
    CHECK_STR_HAS(canon, "has already been taken");
    /* An update of a record Shopify does not have. */
    CHECK_EQ(SX_E_NOT_FOUND, push(SX_ENTITY_CUSTOMER, "{\"external_id\":\"1\",\"note\":\"x\"}",
                                  id, sizeof(id), canon, sizeof(canon)));

    /* A product with two variants, prices in minor units. */
    CHECK_EQ(0, push(SX_ENTITY_PRODUCT,
                     "{\"title\":\"Pushed mug\",\"currency\":\"USD\",\"status\":\"draft\","
                     "\"variants\":[{\"title\":\"Small\",\"sku\":\"PM-S\",\"price_minor\":1999},"
                     "{\"title\":\"Large\",\"sku\":\"PM-L\",\"price_minor\":2500}]}",
                     id, sizeof(id), canon, sizeof(canon)));
    CHECK_STR_HAS(canon, "\"price_minor\":1999");
    snprintf(path, sizeof(path), "/admin/api/2024-10/products/%s.json", id);
    REQUIRE(http_do("GET", path, NULL, 1, &r) == 0);
    CHECK_EQ(200, r.status);
    CHECK_STR_HAS(r.body, "\"price\":\"19.99\"");
    CHECK_STR_HAS(r.body, "\"price\":\"25.00\"");
    CHECK_STR_HAS(r.body, "\"status\":\"draft\"");
    reply_free(&r);
    CHECK_EQ(SX_E_REJECTED, push(SX_ENTITY_PRODUCT, "{\"title\":\"Euro\",\"currency\":\"EUR\","
                                 "\"variants\":[{\"price_minor\":100}]}", id, sizeof(id), canon,
                                 sizeof(canon)));
}

/* ---- OAuth ----------------------------------------------------------------------------------- */

static int
hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
           c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Form-decode `q` (a=b&c=d) in place into kv pairs. */
static uint32_t
parse_query(char *q, sx_kv *kv, uint32_t cap)
{
    uint32_t n = 0;
    char    *p = q;

    while (p != NULL && *p != '\0' && n < cap) {
        char *amp = strchr(p, '&'), *eq, *r, *w;

        if (amp != NULL)
            *amp = '\0';
        eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
            for (r = w = eq + 1; *r; r++) {
                if (*r == '+') {
                    *w++ = ' ';
                } else if (*r == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
                    *w++ = (char)(hexval(r[1]) * 16 + hexval(r[2]));
                    r += 2;
                } else {
                    *w++ = *r;
                }
            }
            *w = '\0';
            kv[n].key = sx_cstr(p);
            kv[n].value = sx_cstr(eq + 1);
            n++;
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    return n;
}

static int
call_authorize_url(const char *state, const char *redirect, char *out, size_t cap)
{
    struct hub_call call;
    sx_str          url = SX_STR_NULL;
    int             rc;

    hub_call_begin(&call, inst, &conn);
    rc = inst->plugin->auth.authorize_url(&call.cx, sx_cstr(state), sx_cstr(redirect), &url);
    snprintf(out, cap, "%.*s", (int)url.len, url.ptr ? url.ptr : "");
    hub_call_end(&call);
    return rc;
}

static int
call_exchange(const sx_kv *kv, uint32_t n, char *token, size_t tcap, char *refresh, size_t rcap,
              char *msg, size_t mcap)
{
    struct hub_call call;
    sx_token        tok;
    int             rc;

    memset(&tok, 0, sizeof(tok));
    tok.hdr.abi_version = SX_ABI_VERSION;
    tok.hdr.struct_size = sizeof(tok);
    hub_call_begin(&call, inst, &conn);
    rc = inst->plugin->auth.exchange_code(&call.cx, kv, n, SX_STR("http://127.0.0.1:9/cb"), &tok);
    rc = hub_call_result(&call, rc, "exchange_code()");
    if (rc == 0) {
        snprintf(token, tcap, "%.*s", (int)tok.access_token.len, tok.access_token.ptr);
        snprintf(refresh, rcap, "%.*s", (int)tok.refresh_token.len,
                 tok.refresh_token.ptr ? tok.refresh_token.ptr : "");
        snprintf(msg, mcap, "scope=%.*s expires=%lld account=%.*s", (int)tok.scope.len,
                 tok.scope.ptr ? tok.scope.ptr : "", (long long)tok.expires_in_s,
                 (int)tok.account_json.len, tok.account_json.ptr ? tok.account_json.ptr : "");
    } else {
        snprintf(msg, mcap, "%s", call.err.msg);
    }
    hub_call_end(&call);
    return rc;
}

/* Drive the sandbox's authorize endpoint like a browser; the callback query in `q`. */
static void
authorize_redirect(const char *state, char *q, size_t cap)
{
    struct reply r;
    char         url[2048], loc[2048];
    const char  *path;

    REQUIRE(call_authorize_url(state, "http://127.0.0.1:9/cb", url, sizeof(url)) == 0);
    path = strstr(url, "/admin/oauth/authorize");
    REQUIRE(path != NULL);
    REQUIRE(http_do("GET", path, NULL, 0, &r) == 0);
    CHECK_EQ(302, r.status);
    REQUIRE(reply_header(&r, "Location", loc, sizeof(loc)) == 0);
    reply_free(&r);
    REQUIRE(strncmp(loc, "http://127.0.0.1:9/cb?", 22) == 0);
    snprintf(q, cap, "%s", loc + 22);
}

static void
test_oauth(void)
{
    char  url[2048], q[2048], token[256], refresh[256], msg[2048], expect[512];
    sx_kv kv[16];
    uint32_t n, i;

    CHECK_EQ(0, call_authorize_url("st-123 x", "http://127.0.0.1:9/cb?a=1", url, sizeof(url)));
    snprintf(expect, sizeof(expect), "%s/admin/oauth/authorize?client_id=" API_KEY
             "&scope=read_customers%%2Cwrite_customers%%2Cread_products%%2Cwrite_products"
             "%%2Cread_orders%%2Cread_inventory&redirect_uri=http%%3A%%2F%%2F127.0.0.1%%3A9"
             "%%2Fcb%%3Fa%%3D1&state=st-123+x", sbx_url);
    CHECK_STR_EQ(expect, url);

    /* A real redirect, exchanged. */
    authorize_redirect("nonce-1", q, sizeof(q));
    n = parse_query(q, kv, 16);
    CHECK_EQ(6, n);
    CHECK_EQ(0, call_exchange(kv, n, token, sizeof(token), refresh, sizeof(refresh), msg,
                              sizeof(msg)));
    CHECK(strncmp(token, "shpat_", 6) == 0);
    CHECK_STR_HAS(msg, "scope=read_customers,write_customers");
    CHECK_STR_HAS(msg, "expires=3");                        /* expiring mode: ~3600 s */
    CHECK_STR_HAS(msg, "\"myshopify_domain\":\"" SHOP "\"");
    CHECK(strncmp(refresh, "shprt_", 6) == 0);
    /* The code is single use. */
    CHECK_EQ(SX_E_AUTH, call_exchange(kv, n, token, sizeof(token), refresh, sizeof(refresh), msg,
                                      sizeof(msg)));

    /* A tampered hmac. */
    authorize_redirect("nonce-2", q, sizeof(q));
    n = parse_query(q, kv, 16);
    for (i = 0; i < n; i++) {
        if (sx_str_eq_cstr(kv[i].key, "hmac"))
            ((char *)kv[i].value.ptr)[0] = kv[i].value.ptr[0] == 'a' ? 'b' : 'a';
    }
    CHECK_EQ(SX_E_SIGNATURE, call_exchange(kv, n, token, sizeof(token), refresh,
                                           sizeof(refresh), msg, sizeof(msg)));
    CHECK_STR_HAS(msg, "hmac does not match");
    /* A changed parameter breaks the signature just as well. */
    authorize_redirect("nonce-3", q, sizeof(q));
    n = parse_query(q, kv, 16);
    for (i = 0; i < n; i++) {
        if (sx_str_eq_cstr(kv[i].key, "state"))
            kv[i].value = SX_STR("nonce-4");
    }
    CHECK_EQ(SX_E_SIGNATURE, call_exchange(kv, n, token, sizeof(token), refresh,
                                           sizeof(refresh), msg, sizeof(msg)));

    /* A correctly signed callback that is too old: signed by the sandbox itself. */
    {
        struct reply r;
        char         body[512], hm[80];
        const char  *p;
        long long    ts = real_now_ms() / 1000 - 600;

        snprintf(body, sizeof(body), "code=abc&host=eA&shop=" SHOP "&state=s&timestamp=%lld", ts);
        REQUIRE(control("POST", "oauth/sign-query", body, &r) == 200);
        p = strstr(r.body, "\"hmac\":\"");
        REQUIRE(p != NULL);
        snprintf(hm, sizeof(hm), "%.64s", p + 8);
        reply_free(&r);
        snprintf(q, sizeof(q), "code=abc&hmac=%s&host=eA&shop=" SHOP "&state=s&timestamp=%lld",
                 hm, ts);
        n = parse_query(q, kv, 16);
        CHECK_EQ(SX_E_STALE, call_exchange(kv, n, token, sizeof(token), refresh,
                                           sizeof(refresh), msg, sizeof(msg)));
        CHECK_STR_HAS(msg, "600 s old");
        /* The same, signed, for another shop: refused by the domain rules. */
        snprintf(body, sizeof(body), "code=abc&shop=evil.example.com&timestamp=%lld", ts + 600);
        REQUIRE(control("POST", "oauth/sign-query", body, &r) == 200);
        p = strstr(r.body, "\"hmac\":\"");
        REQUIRE(p != NULL);
        snprintf(hm, sizeof(hm), "%.64s", p + 8);
        reply_free(&r);
        snprintf(q, sizeof(q), "code=abc&hmac=%s&shop=evil.example.com&timestamp=%lld", hm,
                 ts + 600);
        n = parse_query(q, kv, 16);
        CHECK_EQ(SX_E_SIGNATURE, call_exchange(kv, n, token, sizeof(token), refresh,
                                               sizeof(refresh), msg, sizeof(msg)));
        CHECK_STR_HAS(msg, "myshopify.com");
    }
}

static int
call_refresh(char *token, size_t tcap, char *refresh, size_t rcap, char *msg, size_t mcap)
{
    struct hub_call call;
    sx_token        tok;
    int             rc;

    memset(&tok, 0, sizeof(tok));
    tok.hdr.abi_version = SX_ABI_VERSION;
    tok.hdr.struct_size = sizeof(tok);
    hub_call_begin(&call, inst, &conn);
    rc = inst->plugin->auth.refresh(&call.cx, &tok);
    rc = hub_call_result(&call, rc, "refresh()");
    if (rc == 0) {
        snprintf(token, tcap, "%.*s", (int)tok.access_token.len, tok.access_token.ptr);
        snprintf(refresh, rcap, "%.*s", (int)tok.refresh_token.len, tok.refresh_token.ptr);
        snprintf(msg, mcap, "expires=%lld refresh_expires=%lld", (long long)tok.expires_in_s,
                 (long long)tok.refresh_expires_in_s);
    } else {
        snprintf(msg, mcap, "%s", call.err.msg);
    }
    hub_call_end(&call);
    return rc;
}

static void
test_refresh_rotation(void)
{
    struct hub_error err;
    char             q[2048], a1[256], r1[256], a2[256], r2[256], a3[256], r3[256], msg[2048];
    sx_kv            kv[16];
    uint32_t         n;

    authorize_redirect("nonce-refresh", q, sizeof(q));
    n = parse_query(q, kv, 16);
    REQUIRE(call_exchange(kv, n, a1, sizeof(a1), r1, sizeof(r1), msg, sizeof(msg)) == 0);
    store_secret("access_token", a1);
    store_secret("refresh_token", r1);
    CHECK_EQ(0, hub_instance_test_connection(inst, &conn, &err));

    /* The sandbox expires every expiring token: refused, then refreshed. */
    CHECK_EQ(200, control("POST", "tokens/expire", "", NULL));
    CHECK_EQ(SX_E_AUTH, hub_instance_test_connection(inst, &conn, &err));
    CHECK_EQ(0, call_refresh(a2, sizeof(a2), r2, sizeof(r2), msg, sizeof(msg)));
    CHECK_STR_HAS(msg, "expires=3");
    CHECK(strcmp(a1, a2) != 0);
    CHECK(strcmp(r1, r2) != 0);                      /* the refresh token rotates */
    store_secret("access_token", a2);
    store_secret("refresh_token", r2);
    CHECK_EQ(0, hub_instance_test_connection(inst, &conn, &err));

    /* Once r2 is used, r1 is dead: invalid_grant, and the admin is told to reconnect. */
    CHECK_EQ(0, call_refresh(a3, sizeof(a3), r3, sizeof(r3), msg, sizeof(msg)));
    CHECK(strcmp(r2, r3) != 0);
    store_secret("refresh_token", r1);
    CHECK_EQ(SX_E_AUTH, call_refresh(a3, sizeof(a3), r3, sizeof(r3), msg, sizeof(msg)));
    CHECK_STR_HAS(msg, "invalid_grant");
    CHECK_STR_HAS(msg, "reconnect the shop");

    store_secret("access_token", TOKEN);
    store_secret("refresh_token", "");
    CHECK_EQ(SX_E_AUTH, call_refresh(a3, sizeof(a3), r3, sizeof(r3), msg, sizeof(msg)));
    CHECK_STR_HAS(msg, "no refresh token");
    CHECK_EQ(0, hub_instance_test_connection(inst, &conn, &err));
}

/* ---- webhooks -------------------------------------------------------------------------------- */

struct delivery {
    char   topic[64];
    char   hmac[128];
    char   event_id[128];
    char  *body;
    size_t len;
};

static int wh_listen_fd = -1;
static int wh_port;

static void
wh_listen(void)
{
    struct sockaddr_in sa;
    socklen_t          sl = sizeof(sa);
    int                one = 1;

    wh_listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(wh_listen_fd >= 0);
    setsockopt(wh_listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(wh_listen_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(listen(wh_listen_fd, 16) == 0);
    getsockname(wh_listen_fd, (struct sockaddr *)&sa, &sl);
    wh_port = ntohs(sa.sin_port);
}

static void
hdr_copy(const char *head, const char *name, char *out, size_t cap)
{
    struct reply r;

    memset(&r, 0, sizeof(r));
    r.head = (char *)head;
    out[0] = '\0';
    (void)reply_header(&r, name, out, cap);
}

/* Accept one delivery (within 10 s), answer 200, keep its topic, signature and body. */
static int
wh_accept(struct delivery *d)
{
    struct pollfd pfd = { wh_listen_fd, POLLIN, 0 };
    char         *buf = malloc(1 << 20), *sep, head[8192], cl[32];
    size_t        len = 0, need = 0;
    ssize_t       n;
    int           fd;

    memset(d, 0, sizeof(*d));
    if (poll(&pfd, 1, 10000) <= 0) {
        free(buf);
        return -1;
    }
    fd = accept(wh_listen_fd, NULL, NULL);
    if (fd < 0) {
        free(buf);
        return -1;
    }
    while (len < (1 << 20) - 1) {
        struct pollfd rp = { fd, POLLIN, 0 };

        if (poll(&rp, 1, 5000) <= 0)
            break;
        n = read(fd, buf + len, (1 << 20) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        sep = strstr(buf, "\r\n\r\n");
        if (sep != NULL) {
            snprintf(head, sizeof(head), "\r\n%.*s", (int)(sep - buf), buf);
            hdr_copy(head, "Content-Length", cl, sizeof(cl));
            need = (size_t)(sep + 4 - buf) + (size_t)strtoul(cl, NULL, 10);
            if (len >= need)
                break;
        }
    }
    (void)!write(fd, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 58);
    close(fd);
    sep = strstr(buf, "\r\n\r\n");
    if (sep == NULL || len < need) {
        free(buf);
        return -1;
    }
    hdr_copy(head, "X-Shopify-Topic", d->topic, sizeof(d->topic));
    hdr_copy(head, "X-Shopify-Hmac-Sha256", d->hmac, sizeof(d->hmac));
    hdr_copy(head, "X-Shopify-Event-Id", d->event_id, sizeof(d->event_id));
    d->len = need - (size_t)(sep + 4 - buf);
    d->body = malloc(d->len + 1);
    memcpy(d->body, sep + 4, d->len);
    d->body[d->len] = '\0';
    free(buf);
    return 0;
}

/* Wait for a delivery of `topic` (others are answered and dropped). */
static int
wh_wait(const char *topic, struct delivery *d)
{
    int i;

    for (i = 0; i < 20; i++) {
        if (wh_accept(d) < 0)
            return -1;
        if (strcmp(d->topic, topic) == 0)
            return 0;
        free(d->body);
    }
    return -1;
}

struct changes {
    int  n;
    int  entity[8];
    int  op[8];
    char id[8][64];
    char *json[8];
};

static void
changes_free(struct changes *c)
{
    int i;

    for (i = 0; i < c->n && i < 8; i++)
        free(c->json[i]);
    memset(c, 0, sizeof(*c));
}

static int
change_sink(struct hub_call *call, uint32_t entity, uint32_t op, sx_str id, sx_str json,
            void *arg)
{
    struct changes *c = arg;

    (void)call;
    if (c->n < 8) {
        c->entity[c->n] = (int)entity;
        c->op[c->n] = (int)op;
        snprintf(c->id[c->n], sizeof(c->id[0]), "%.*s", (int)id.len, id.ptr);
        c->json[c->n] = strndup(json.ptr ? json.ptr : "", json.len);
    }
    c->n++;
    return SX_OK;
}

/* Verify the delivery's signature the way the host's B64 scheme does, then translate it. */
static int
translate(const struct delivery *d, struct changes *c, char *msg, size_t mcap)
{
    struct hub_call    call;
    const sx_host_api *h = hub_host_api();
    sx_webhook_req     req;
    sx_http_header     hdrs[2];
    sx_str             secret, b64;
    uint8_t            mac[32];
    int                rc;

    changes_free(c);
    memset(&req, 0, sizeof(req));
    req.hdr.abi_version = SX_ABI_VERSION;
    req.hdr.struct_size = sizeof(req);
    hdrs[0].name = SX_STR("X-Shopify-Topic");
    hdrs[0].value = sx_cstr(d->topic);
    hdrs[1].name = SX_STR("X-Shopify-Event-Id");
    hdrs[1].value = sx_cstr(d->event_id);
    req.headers = hdrs;
    req.n_headers = 2;
    req.body = (sx_str){ d->body, d->len };
    req.topic = sx_cstr(d->topic);
    hub_call_begin(&call, inst, &conn);
    if (d->hmac[0] != '\0') {
        /* The secret named by secret_key (webhook_secret: the client secret's copy). */
        REQUIRE(h->secret_get(&call.cx, inst->plugin->webhook.secret_key, &secret) == SX_OK);
        REQUIRE(h->hmac_sha256(secret, req.body, mac) == SX_OK);
        REQUIRE(h->base64_encode(&call.cx, mac, 32, &b64) == SX_OK);
        CHECK_MEM_EQ(d->hmac, strlen(d->hmac), b64.ptr, b64.len);
    }
    call.change = change_sink;
    call.sink_arg = c;
    rc = inst->plugin->webhook.translate(&call.cx, &req);
    rc = hub_call_result(&call, rc, "translate()");
    snprintf(msg, mcap, "%s", rc < 0 ? call.err.msg : "");
    hub_call_end(&call);
    return rc;
}

static int
call_sub(const char *url)
{
    struct hub_call call;
    int             rc;

    hub_call_begin(&call, inst, &conn);
    rc = url != NULL ? inst->plugin->webhook.subscribe(&call.cx, sx_cstr(url))
                     : inst->plugin->webhook.unsubscribe(&call.cx);
    rc = hub_call_result(&call, rc, "subscribe()");
    if (rc < 0)
        fprintf(stderr, "subscribe: %s\n", call.err.msg);
    hub_call_end(&call);
    return rc;
}

static void
test_webhooks(void)
{
    struct delivery d;
    struct changes  c = { 0 };
    struct seen     s;
    char            cb[128], path[128], msg[1024], cust[32], order[32], order2[32];

    memset(&s, 0, sizeof(s));
    REQUIRE(list_all(SX_ENTITY_ORDER, 250, 0, &s) > 0);
    REQUIRE(s.n > 20);
    snprintf(order, sizeof(order), "%s", s.ids[5]);
    snprintf(order2, sizeof(order2), "%s", s.ids[11]);
    seen_free(&s);
    memset(&s, 0, sizeof(s));
    REQUIRE(list_all(SX_ENTITY_CUSTOMER, 250, 0, &s) > 0);
    snprintf(cust, sizeof(cust), "%s", s.ids[9]);
    seen_free(&s);

    wh_listen();
    snprintf(cb, sizeof(cb), "http://127.0.0.1:%d/webhooks/shopify", wh_port);
    REQUIRE(call_sub(cb) == 0);
    CHECK_EQ(14, api_count("webhooks", NULL));
    /* Subscribing again replaces, never duplicates. */
    REQUIRE(call_sub(cb) == 0);
    CHECK_EQ(14, api_count("webhooks", NULL));

    /* customers/update from a merchant edit: one UPSERT of the whole customer. */
    snprintf(path, sizeof(path), "customers/%s", cust);
    REQUIRE(control("POST", path, "{\"note\":\"hook me\"}", NULL) == 200);
    REQUIRE(wh_wait("customers/update", &d) == 0);
    CHECK(d.event_id[0] != '\0');
    CHECK_EQ(0, translate(&d, &c, msg, sizeof(msg)));
    CHECK_EQ(1, c.n);
    CHECK_EQ(SX_ENTITY_CUSTOMER, c.entity[0]);
    CHECK_EQ(SX_OP_UPSERT, c.op[0]);
    CHECK_STR_EQ(cust, c.id[0]);
    CHECK_STR_HAS(c.json[0], "\"note\":\"hook me\"");
    free(d.body);

    /* refunds/create: the refund alone is not enough; the order is fetched and upserted. */
    snprintf(path, sizeof(path), "orders/%s/refund", order2);
    if (control("POST", path, "{\"line\":0,\"quantity\":1}", NULL) == 200) {
        REQUIRE(wh_wait("refunds/create", &d) == 0);
        CHECK_EQ(0, translate(&d, &c, msg, sizeof(msg)));
        CHECK_EQ(1, c.n);
        CHECK_EQ(SX_ENTITY_ORDER, c.entity[0]);
        CHECK_EQ(SX_OP_UPSERT, c.op[0]);
        CHECK_STR_EQ(order2, c.id[0]);
        CHECK_STR_HAS(c.json[0], "\"refunds\":[{");
        free(d.body);
    }

    /* orders/delete: a DELETE with the id only. */
    snprintf(path, sizeof(path), "orders/%s", order);
    REQUIRE(control("DELETE", path, NULL, NULL) == 200);
    REQUIRE(wh_wait("orders/delete", &d) == 0);
    CHECK_EQ(0, translate(&d, &c, msg, sizeof(msg)));
    CHECK_EQ(1, c.n);
    CHECK_EQ(SX_ENTITY_ORDER, c.entity[0]);
    CHECK_EQ(SX_OP_DELETE, c.op[0]);
    CHECK_STR_EQ(order, c.id[0]);
    free(d.body);

    /* app/uninstalled: nothing to apply, the integration must be reconnected. */
    memset(&d, 0, sizeof(d));
    snprintf(d.topic, sizeof(d.topic), "app/uninstalled");
    d.body = strdup("{\"id\":548380009,\"domain\":\"" SHOP "\"}");
    d.len = strlen(d.body);
    CHECK_EQ(SX_E_AUTH, translate(&d, &c, msg, sizeof(msg)));
    CHECK_STR_EQ("the app was uninstalled from " SHOP ": reconnect the shop from the "
                 "integration's page to resume syncing", msg);
    CHECK_EQ(0, c.n);
    free(d.body);
    /* A privacy topic and garbage. */
    snprintf(d.topic, sizeof(d.topic), "shop/redact");
    d.body = strdup("{}");
    d.len = 2;
    CHECK_EQ(0, translate(&d, &c, msg, sizeof(msg)));
    CHECK_EQ(0, c.n);
    free(d.body);
    snprintf(d.topic, sizeof(d.topic), "orders/updated");
    d.body = strdup("{\"id\": 12, \"currency\"");
    d.len = strlen(d.body);
    CHECK_EQ(SX_E_PROTOCOL, translate(&d, &c, msg, sizeof(msg)));
    free(d.body);

    changes_free(&c);
    REQUIRE(call_sub(NULL) == 0);
    CHECK_EQ(0, api_count("webhooks", NULL));
    close(wh_listen_fd);
}

/* ---- faults ---------------------------------------------------------------------------------- */

static void
test_faults(void)
{
    struct seen s;
    struct reply r;
    int          pages, faults = 0;
    const char  *p;

    REQUIRE(control("POST", "faults", "{\"rules\":["
                    "{\"kind\":\"5xx\",\"rate\":0.05,\"path\":\"/admin/api/*/customers.json\"},"
                    "{\"kind\":\"429\",\"rate\":0.05,\"path\":\"/admin/api/*/customers.json\"}]}",
                    NULL) == 200);
    REQUIRE(control("DELETE", "requests", NULL, NULL) >= 200);
    memset(&s, 0, sizeof(s));
    pages = list_all(SX_ENTITY_CUSTOMER, 10, 0, &s);
    CHECK_GE(pages, 25);
    CHECK_EQ(api_count("customers", NULL), (long long)s.n);
    CHECK_EQ(0, count_dups(&s));
    CHECK_EQ(0, s.bad);
    seen_free(&s);
    /* The faults did happen (the host retried them). */
    if (control("GET", "requests?limit=1000", NULL, &r) == 200) {
        for (p = r.body; (p = strstr(p, "\"fault\":\"")) != NULL; p += 9)
            faults++;
        reply_free(&r);
    }
    CHECK_GE(faults, 1);
    CHECK_EQ(200, control("DELETE", "faults", NULL, NULL));
}

int
main(void)
{
    struct hub_error err;
    uint8_t          key[HUB_CRYPTO_KEY_LEN];
    size_t           loaded = 0, refused = 0;
    int              applied = 0;
    char             sql[512];

    signal(SIGPIPE, SIG_IGN);
    RUN_TEST(test_parsers);

    testdb_create(&db, "shopify");
    REQUIRE(hub_db_connect(&conn, db.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(testdb_exec(&db, "INSERT INTO organizations (name) VALUES ('Org S')") == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "SELECT id, 'shopify', 'Sandbox shop' FROM organizations LIMIT 1");
    REQUIRE(testdb_exec(&db, sql) == 0);
    integration_id = testdb_scalar(&db, "SELECT max(id) FROM integrations");
    REQUIRE(integration_id > 0);

    memset(key, 9, sizeof(key));
    REQUIRE(hub_crypto_keyring_add(&keys, "k1", key, 1, &err) == 0);
    REQUIRE(hub_http_global_init(&err) == 0);
    memset(&rt, 0, sizeof(rt));
    REQUIRE(hub_http_client_new(NULL, &rt.http, &err) == 0);
    REQUIRE(hub_rate_registry_new(NULL, NULL, &rt.rates, &err) == 0);
    rt.keys = &keys;
    hub_plugins_init(&plugins);
    REQUIRE(hub_plugins_load_dir(&plugins, SX_PLUGIN_DIR, &loaded, &refused, &err) == 0);

    sandbox_start();
    atexit(sandbox_stop);             /* a failed REQUIRE must not leave the child running */
    store_secret("access_token", TOKEN);
    store_secret("client_secret", API_SECRET);
    inst = open_shopify();
    if (inst == NULL) {
        sandbox_stop();
        REQUIRE(inst != NULL);
    }

    RUN_TEST(test_connection);
    RUN_TEST(test_full_listings);
    RUN_TEST(test_canonical_order);
    RUN_TEST(test_canonical_customer_product);
    RUN_TEST(test_incremental);
    RUN_TEST(test_push_customer_and_product);
    RUN_TEST(test_oauth);
    RUN_TEST(test_refresh_rotation);
    RUN_TEST(test_webhooks);
    RUN_TEST(test_faults);

    hub_instance_close(inst);
    sandbox_stop();
    hub_plugins_destroy(&plugins);
    hub_rate_registry_free(rt.rates);
    hub_http_client_free(rt.http);
    hub_http_global_cleanup();
    hub_crypto_keyring_wipe(&keys);
    hub_log_redact_clear();
    hub_db_close(&conn);
    testdb_drop(&db);
    return check_report();
}
