/*
 * The webhook pipeline end to end (host/webhook): real PostgreSQL, real sockets, the Shopify
 * connector's translate(), the shared worker pool. Covers: the published Shopify HMAC vector,
 * a signed delivery durable before its 200 and applied to the Simplix tables, a duplicate
 * answered 200 and stored once, tampered / forged / missing signatures 401, unknown
 * integration and wrong platform 404, oversized 413 (nothing stored for any refusal), 200
 * concurrent deliveries group-committed, order of arrival per record with parallelism across
 * records (a record's row locked elsewhere holds back only its own events), an event that keeps failing retried then FAILED,
 * replay, and a connector's own timestamped scheme (SX_SIG_CUSTOM, tests/unit/fixtures/
 * fx_stamped.c): the published Stripe vector reproduced, then refused as a replay far outside
 * the window; a fresh delivery stored and applied; a 10-minute-old replay, a tampered
 * timestamp, a forged and a missing signature refused with nothing stored.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/crypto.h"
#include "db/migrate.h"
#include "http/server.h"
#include "net/http_client.h"
#include "plugin/hostapi.h"
#include "queue/worker.h"
#include "sync/engine.h"
#include "testdb.h"
#include "webhook/webhook.h"

#define SECRET "whsec-test-0123456789"

static struct testdb               db;
static struct hub_db               conn;
static struct hub_crypto_keyring   keys;
static struct hub_plugins          plugins;
static struct event_base          *base;
static struct hub_http_server     *srv;
static struct hub_webhook         *wh;
static struct hub_sync            *sync_engine;
static struct hub_worker_pool     *pool;
static pthread_t                   loop_thread;
static int                         port;
static long long                   integ;

static void *
loop_main(void *arg)
{
    (void)arg;
    event_base_loop(base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void
sign(const char *secret, const char *body, size_t len, char *out, size_t cap)
{
    uint8_t mac[32];

    REQUIRE(hub_crypto_hmac_sha256(secret, strlen(secret), body, len, mac) == 0);
    REQUIRE(hub_crypto_b64_encode(mac, 32, HUB_B64_STD, out, cap, NULL) == 0);
}

/* POST and return the status (-1 on a socket error). `hdrs` are extra "Name: value\r\n" lines. */
static int
post(const char *path, const char *hdrs, const char *body, size_t len)
{
    struct sockaddr_in sa;
    char               head[2048], resp[4096];
    size_t             got = 0;
    ssize_t            r;
    int                fd, status = -1;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n", path, len, hdrs);
    if (write(fd, head, strlen(head)) < 0 || (len > 0 && write(fd, body, len) < 0)) {
        close(fd);
        return -1;
    }
    while (got < sizeof(resp) - 1 && (r = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    close(fd);
    if (got > 12 && strncmp(resp, "HTTP/1.1 ", 9) == 0)
        status = atoi(resp + 9);
    return status;
}

static int
post_shopify(long long id, const char *platform, const char *topic, const char *event_id,
             const char *body, const char *hmac)
{
    char path[128], hdrs[1024];

    snprintf(path, sizeof(path), "/api/webhooks/%s/%lld", platform, id);
    snprintf(hdrs, sizeof(hdrs), "X-Shopify-Topic: %s\r\nX-Shopify-Event-Id: %s\r\n"
             "X-Shopify-Shop-Domain: wh-test.myshopify.com\r\n%s%s%s", topic, event_id,
             hmac != NULL ? "X-Shopify-Hmac-Sha256: " : "", hmac != NULL ? hmac : "",
             hmac != NULL ? "\r\n" : "");
    return post(path, hdrs, body, strlen(body));
}

static long long
events(void)
{
    return testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events");
}

/* Wait until `sql` returns `want` (up to 30 s). */
static long long
wait_scalar(const char *sql, long long want)
{
    long long v = -1;
    int       i;

    for (i = 0; i < 600; i++) {
        v = testdb_scalar(&db, sql);
        if (v == want)
            return v;
        usleep(50 * 1000);
    }
    return v;
}

/* The published vector (shopify-api-js validate.test.ts), checked with the hub's primitives
 * exactly as the route does. */
static void
test_vector(void)
{
    char out[64];

    sign("test_secret_key", "{\"foo\": \"bar\"}", 14, out, sizeof(out));
    CHECK_STR_EQ("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=", out);
}

static const char *CUSTOMER =
    "{\"id\":7001,\"email\":\"ada@example.com\",\"first_name\":\"Ada\",\"last_name\":\"Lovelace\","
    "\"created_at\":\"2024-01-01T10:00:00Z\",\"updated_at\":\"2024-02-01T10:00:00Z\","
    "\"default_address\":{\"id\":1,\"company\":\"Analytical Engines\"}}";

static void
test_delivery_stored_and_processed(void)
{
    char hmac[64];

    sign(SECRET, CUSTOMER, strlen(CUSTOMER), hmac, sizeof(hmac));
    CHECK_EQ(200, post_shopify(integ, "shopify", "customers/update", "ev-1", CUSTOMER, hmac));
    /* Durable before the 200: the row is there the moment the answer arrived. */
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events WHERE "
                              "delivery_id = 'ev-1' AND topic = 'customers/update' AND "
                              "signature IS NOT NULL AND source_ip = '127.0.0.1' AND "
                              "headers ? 'X-Shopify-Topic' AND octet_length(body) > 100"));
    CHECK_EQ(1, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "delivery_id = 'ev-1' AND status = 'PROCESSED'", 1));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM companies WHERE "
                              "email = 'ada@example.com'"));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_mappings WHERE "
                              "entity = 'customer' AND external_id = '7001'"));

    /* The same delivery again: 200, stored once. */
    CHECK_EQ(200, post_shopify(integ, "shopify", "customers/update", "ev-1", CUSTOMER, hmac));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events WHERE "
                              "delivery_id = 'ev-1'"));
}

static void
test_refusals(void)
{
    struct hub_webhook_stats st;
    char      hmac[64], forged[64], path[128], *big;
    long long before = events();
    size_t    n = 100 * 1024;

    sign(SECRET, CUSTOMER, strlen(CUSTOMER), hmac, sizeof(hmac));
    sign("not-the-secret", CUSTOMER, strlen(CUSTOMER), forged, sizeof(forged));
    /* tampered: the body changed after signing */
    CHECK_EQ(401, post_shopify(integ, "shopify", "customers/update", "ev-t",
                               "{\"id\":7001,\"email\":\"evil@example.com\"}", hmac));
    CHECK_EQ(401, post_shopify(integ, "shopify", "customers/update", "ev-f", CUSTOMER, forged));
    CHECK_EQ(401, post_shopify(integ, "shopify", "customers/update", "ev-m", CUSTOMER, NULL));
    CHECK_EQ(401, post_shopify(integ, "shopify", "customers/update", "ev-g", CUSTOMER, "garbage"));
    CHECK_EQ(404, post_shopify(987654, "shopify", "customers/update", "ev-u", CUSTOMER, hmac));
    CHECK_EQ(404, post_shopify(integ, "woocommerce", "customers/update", "ev-w", CUSTOMER, hmac));
    big = malloc(n + 1);
    REQUIRE(big != NULL);
    memset(big, 'x', n);
    big[n] = '\0';
    snprintf(path, sizeof(path), "/api/webhooks/shopify/%lld", integ);
    CHECK_EQ(413, post(path, "X-Shopify-Hmac-Sha256: x\r\n", big, n));
    free(big);
    CHECK_EQ(before, events());
    hub_webhook_get_stats(wh, &st);
    CHECK_GE(st.rejected_signature, 4);
    CHECK_GE(st.rejected_unknown, 2);
    CHECK_GE(st.rejected_size, 1);
}

/* ---- a custom, timestamped scheme (fx_stamped: Stripe's t=,v1= over "<t>." + body) ------- */

static long long integ_stamped;

/* hex(HMAC-SHA256(secret, "<t>." + body)) */
static void
sign_stamped(const char *secret, long long t, const char *body, char out[65])
{
    char    msg[8192];
    uint8_t mac[32];
    int     n = snprintf(msg, sizeof(msg), "%lld.%s", t, body);

    REQUIRE(n > 0 && (size_t)n < sizeof(msg));
    REQUIRE(hub_crypto_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac) == 0);
    REQUIRE(hub_crypto_hex_encode(mac, 32, out, 65) == 0);
}

static int
post_stamped(const char *event_id, const char *sig_header, const char *body, size_t len)
{
    char path[128], hdrs[1024];

    snprintf(path, sizeof(path), "/api/webhooks/fx_stamped/%lld", integ_stamped);
    snprintf(hdrs, sizeof(hdrs), "X-Stamp-Topic: customer.updated\r\nX-Stamp-Id: %s\r\n%s%s%s",
             event_id, sig_header != NULL ? "X-Stamp-Signature: " : "",
             sig_header != NULL ? sig_header : "", sig_header != NULL ? "\r\n" : "");
    return post(path, hdrs, body, len);
}

/* The published vector of ../shared/vectors/stripe.json (stripe-dotnet): t=1533204620 and
 * its 484-byte body, whose v1 the hub's primitives reproduce. */
static const char *STRIPE_SECRET = "webhook_secret";
static const char *STRIPE_SIG =
    "t=1533204620,v1=2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7,"
    "v0=63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef";
static const char *STRIPE_B64 =
    "ewogICJpZCI6ICJldnRfMTIzIiwKICAib2JqZWN0IjogImV2ZW50IiwKICAiYWNjb3VudCI6ICJhY2N0XzEyMyIsCiAg"
    "ImFwaV92ZXJzaW9uIjogIjIwMTctMDUtMjUiLAogICJjcmVhdGVkIjogMTUzMzIwNDYyMCwKICAiZGF0YSI6IHsKICAg"
    "ICJvYmplY3QiOiB7CiAgICAgICJpZCI6ICJjdXNfMTIzIiwKICAgICAgIm9iamVjdCI6ICJjdXN0b21lciIsCiAgICAg"
    "ICJjcmVhdGVkIjogMTIzNDU2Nzg5LAogICAgICAiZW1haWwiOiAidGVzdEBzdHJpcGUuY29tIiwKICAgICAgImxpdmVt"
    "b2RlIjogZmFsc2UsCiAgICAgICJtZXRhZGF0YSI6IHt9CiAgICB9CiAgfSwKICAibGl2ZW1vZGUiOiBmYWxzZSwKICAi"
    "cGVuZGluZ193ZWJob29rcyI6IDEsCiAgInJlcXVlc3QiOiB7CiAgICAiaWQiOiAicmVxXzEyMyIsCiAgICAiaWRlbXBv"
    "dGVuY3lfa2V5IjogImlkZW1wb3RlbmN5LWtleS0xMjMiCiAgfSwKICAidHlwZSI6ICJjdXN0b21lci5jcmVhdGVkIgp9"
    "Cg==";

static void
test_timestamped_scheme(void)
{
    struct hub_webhook_stats st0, st;
    struct hub_plugin       *fx = NULL;
    struct hub_error         err;
    uint8_t                  body[1024];
    size_t                   blen = 0;
    char                     hex[65], hdr[256], sql[512];
    long long                now = (long long)time(NULL), before;
    const char              *fresh = "{\"external_id\":\"st-1\",\"email\":\"stamp@example.com\","
                                     "\"first_name\":\"Stamped\",\"updated_at\":"
                                     "\"2024-03-01T10:00:00Z\"}";

    REQUIRE(hub_plugin_load(SX_STAMPED_SO, NULL, &fx, &err) == 0);
    hub_plugins_replace(&plugins, fx);
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name, "
             "status) SELECT min(id), 'fx_stamped', 'Stamped', 'ACTIVE' FROM organizations");
    REQUIRE(testdb_exec(&db, sql) == 0);
    integ_stamped = testdb_scalar(&db, "SELECT max(id) FROM integrations");
    REQUIRE(hub_secret_store(&conn, &keys, integ_stamped, "webhook_secret", STRIPE_SECRET,
                             strlen(STRIPE_SECRET), &err) == 0);

    /* The vector: the hub's HMAC reproduces its v1. */
    REQUIRE(hub_crypto_b64_decode(STRIPE_B64, strlen(STRIPE_B64), HUB_B64_STD, body,
                                  sizeof(body), &blen, &err) == 0);
    CHECK_EQ(484, (long long)blen);
    body[blen] = '\0';
    sign_stamped(STRIPE_SECRET, 1533204620LL, (const char *)body, hex);
    CHECK_STR_EQ("2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7", hex);

    hub_webhook_get_stats(wh, &st0);
    before = events();
    /* The vector as delivered in 2018: correctly signed, but replayed far too late. */
    CHECK_EQ(401, post_stamped("st-vec", STRIPE_SIG, (const char *)body, blen));
    /* A delivery signed now: stored, then applied. */
    sign_stamped(STRIPE_SECRET, now, fresh, hex);
    snprintf(hdr, sizeof(hdr), "t=%lld,v1=%s", now, hex);
    CHECK_EQ(200, post_stamped("st-ok", hdr, fresh, strlen(fresh)));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events WHERE "
                              "delivery_id = 'st-ok'"));
    CHECK_EQ(1, wait_scalar("SELECT count(*) FROM companies WHERE email = 'stamp@example.com'",
                            1));
    /* The same body and signature 10 minutes old: a replay outside the 300 s window. */
    sign_stamped(STRIPE_SECRET, now - 600, fresh, hex);
    snprintf(hdr, sizeof(hdr), "t=%lld,v1=%s", now - 600, hex);
    CHECK_EQ(401, post_stamped("st-old", hdr, fresh, strlen(fresh)));
    /* Tampered (the timestamp changed after signing), forged (another secret), missing. */
    sign_stamped(STRIPE_SECRET, now - 600, fresh, hex);
    snprintf(hdr, sizeof(hdr), "t=%lld,v1=%s", now, hex);
    CHECK_EQ(401, post_stamped("st-tampered", hdr, fresh, strlen(fresh)));
    sign_stamped("another_secret", now, fresh, hex);
    snprintf(hdr, sizeof(hdr), "t=%lld,v1=%s", now, hex);
    CHECK_EQ(401, post_stamped("st-forged", hdr, fresh, strlen(fresh)));
    CHECK_EQ(401, post_stamped("st-missing", NULL, fresh, strlen(fresh)));
    /* Only the good one was stored. */
    CHECK_EQ(before + 1, events());
    hub_webhook_get_stats(wh, &st);
    CHECK_GE(st.rejected_signature - st0.rejected_signature, 5);
}

#define CONC 200

static void *
conc_main(void *arg)
{
    long  i = (long)(intptr_t)arg;
    char  body[128], ev[32], hmac[64];
    int  *status = malloc(sizeof(int));

    snprintf(body, sizeof(body), "{\"inventory_item_id\":%ld,\"available\":1}", i);
    snprintf(ev, sizeof(ev), "conc-%ld", i);
    sign(SECRET, body, strlen(body), hmac, sizeof(hmac));
    *status = post_shopify(integ, "shopify", "inventory_levels/update", ev, body, hmac);
    return status;
}

static void
test_concurrent_group_commit(void)
{
    struct hub_webhook_stats a, b;
    pthread_t                th[CONC];
    long                     i;
    int                      ok = 0;

    hub_webhook_get_stats(wh, &a);
    for (i = 0; i < CONC; i++)
        REQUIRE(pthread_create(&th[i], NULL, conc_main, (void *)(intptr_t)i) == 0);
    for (i = 0; i < CONC; i++) {
        void *r;

        pthread_join(th[i], &r);
        if (r != NULL && *(int *)r == 200)
            ok++;
        free(r);
    }
    hub_webhook_get_stats(wh, &b);
    CHECK_EQ(CONC, ok);
    CHECK_EQ(CONC, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events WHERE "
                                 "delivery_id LIKE 'conc-%'"));
    fprintf(stderr, "  %d deliveries in %llu transactions\n", CONC,
            (unsigned long long)(b.commits - a.commits));
    CHECK_LE(b.commits - a.commits, CONC / 2);
    CHECK_EQ(CONC, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                               "delivery_id LIKE 'conc-%' AND status = 'PROCESSED'", CONC));
}

static int
post_customer(const char *ev, long id, const char *email, const char *updated_at)
{
    char body[512], hmac[64];

    snprintf(body, sizeof(body), "{\"id\":%ld,\"email\":\"%s\",\"first_name\":\"K\","
             "\"last_name\":\"Key\",\"created_at\":\"2024-01-01T10:00:00Z\","
             "\"updated_at\":\"%s\"}", id, email, updated_at);
    sign(SECRET, body, strlen(body), hmac, sizeof(hmac));
    return post_shopify(integ, "shopify", "customers/update", ev, body, hmac);
}

static long long
processed(const char *ev)
{
    char sql[256];

    snprintf(sql, sizeof(sql), "SELECT count(*) FROM integration_webhook_events WHERE "
             "delivery_id = '%s' AND status = 'PROCESSED'", ev);
    return testdb_scalar(&db, sql);
}

/* A second session of the test database that ran `sql` (a lock taken and held); PQfinish
 * ends it. */
static PGconn *
holding(const char *sql)
{
    PGconn   *c = PQconnectdb(db.conninfo);
    PGresult *r;

    REQUIRE(PQstatus(c) == CONNECTION_OK);
    r = PQexec(c, sql);
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    PQclear(r);
    return c;
}

/*
 * Order per record, parallelism across records. The Simplix row of customer 8001 is locked by
 * another session, so the worker applying its update waits. Meanwhile an event of another
 * customer is applied by the other worker (with one lock per integration it would wait too);
 * a second update of 8001 waits for the first, and both land in order of arrival once the row
 * is released.
 */
static void
test_order_per_key(void)
{
    PGconn   *blocker;
    PGresult *r;
    char      sql[256];
    long long company;

    CHECK_EQ(200, post_customer("key-a0", 8001, "a0@example.com", "2024-05-01T10:00:00Z"));
    CHECK_EQ(1, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "delivery_id = 'key-a0' AND status = 'PROCESSED'", 1));
    company = testdb_scalar(&db, "SELECT internal_id FROM integration_mappings WHERE "
                            "entity = 'customer' AND external_id = '8001'");
    REQUIRE(company > 0);
    snprintf(sql, sizeof(sql), "BEGIN; SELECT 1 FROM companies WHERE id = %lld FOR UPDATE",
             company);
    blocker = holding(sql);

    CHECK_EQ(200, post_customer("key-a1", 8001, "a1@example.com", "2024-05-01T11:00:00Z"));
    usleep(400 * 1000);
    CHECK_EQ(0, processed("key-a1"));
    CHECK_EQ(200, post_customer("key-b1", 8002, "b1@example.com", "2024-05-01T11:00:00Z"));
    CHECK_EQ(1, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "delivery_id = 'key-b1' AND status = 'PROCESSED'", 1));
    CHECK_EQ(0, processed("key-a1"));
    CHECK_EQ(200, post_customer("key-a2", 8001, "a2@example.com", "2024-05-01T12:00:00Z"));
    usleep(400 * 1000);
    CHECK_EQ(0, processed("key-a1"));
    CHECK_EQ(0, processed("key-a2"));

    r = PQexec(blocker, "COMMIT");
    PQclear(r);
    PQfinish(blocker);
    CHECK_EQ(2, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "delivery_id IN ('key-a1', 'key-a2') AND status = 'PROCESSED'", 2));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events a, "
                              "integration_webhook_events b WHERE a.delivery_id = 'key-a1' AND "
                              "b.delivery_id = 'key-a2' AND a.processed_at < b.processed_at"));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM companies WHERE id = %lld AND "
             "email = 'a2@example.com'", company);
    CHECK_EQ(1, testdb_scalar(&db, sql));
    CHECK_EQ(0, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events WHERE "
                              "delivery_id LIKE 'key-%' AND status <> 'PROCESSED'"));
}

/*
 * Arrival order within one batch, across a change in the ids' digit count. Twelve updates of
 * one customer share one updated_at, so the one kept is the last to arrive. They are queued
 * while another session holds the integration's claim lock, so one batch takes them all, with
 * ids across a power of ten (96..107 for 100): ordered as text ("100" < "96"), the batch
 * would keep the update with id 99.
 */
static void
test_arrival_order_in_batch(void)
{
    PGconn   *holder;
    PGresult *r;
    char      sql[256], ev[32], email[64];
    long long last, pow10;
    int       i;

    /* The next ids: the four below a power of ten and the eight from it. */
    last = testdb_scalar(&db, "SELECT coalesce(max(id), 0) FROM integration_webhook_events");
    for (pow10 = 10; pow10 < last + 6; pow10 *= 10)
        ;
    snprintf(sql, sizeof(sql), "SELECT setval(pg_get_serial_sequence("
             "'integration_webhook_events', 'id'), %lld)", pow10 - 5);
    REQUIRE(testdb_scalar(&db, sql) == pow10 - 5);
    snprintf(sql, sizeof(sql), "SELECT pg_advisory_lock(21335, (%lld %% 2147483648)::int)",
             integ);
    holder = holding(sql);
    for (i = 0; i < 12; i++) {
        snprintf(ev, sizeof(ev), "arr-%d", i);
        snprintf(email, sizeof(email), "arr%d@example.com", i);
        CHECK_EQ(200, post_customer(ev, 8101, email, "2024-06-01T10:00:00Z"));
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM integration_webhook_events WHERE "
             "(delivery_id = 'arr-0' AND id = %lld) OR (delivery_id = 'arr-11' AND id = %lld)",
             pow10 - 4, pow10 + 7);
    CHECK_EQ(2, testdb_scalar(&db, sql));
    r = PQexec(holder, "SELECT pg_advisory_unlock_all()");
    PQclear(r);
    PQfinish(holder);
    CHECK_EQ(12, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                             "delivery_id LIKE 'arr-%' AND status = 'PROCESSED'", 12));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM companies c JOIN integration_mappings "
                              "m ON m.internal_id = c.id AND m.entity = 'customer' AND "
                              "m.external_id = '8101' WHERE c.email = 'arr11@example.com'"));
}

static void
test_retry_failed_replay(void)
{
    struct hub_webhook_filter f;
    struct hub_error          err;
    const char               *bad = "{\"id\": not json";
    char                      hmac[64], sql[256];
    long long                 id;
    int64_t                   n = 0;

    sign(SECRET, bad, strlen(bad), hmac, sizeof(hmac));
    CHECK_EQ(200, post_shopify(integ, "shopify", "customers/update", "ev-bad", bad, hmac));
    CHECK_EQ(1, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "delivery_id = 'ev-bad' AND status = 'FAILED'", 1));
    CHECK_EQ(3, testdb_scalar(&db, "SELECT attempts FROM integration_webhook_events WHERE "
                              "delivery_id = 'ev-bad'"));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_webhook_events WHERE "
                              "delivery_id = 'ev-bad' AND length(last_error) > 0"));
    id = testdb_scalar(&db, "SELECT id FROM integration_webhook_events WHERE "
                       "delivery_id = 'ev-bad'");
    /* The cause is fixed (here: the stored payload is corrected), then the event replayed. */
    snprintf(sql, sizeof(sql), "UPDATE integration_webhook_events SET body = convert_to("
             "'{\"id\":7002,\"email\":\"grace@example.com\",\"updated_at\":"
             "\"2024-03-01T10:00:00Z\"}', 'UTF8') WHERE id = %lld", id);
    REQUIRE(testdb_exec(&db, sql) == 0);
    memset(&f, 0, sizeof(f));
    CHECK_EQ(HUB_E_INVALID, hub_webhook_replay(&conn, &f, &n, &err));
    f.event_id = id;
    CHECK_EQ(0, hub_webhook_replay(&conn, &f, &n, &err));
    CHECK_EQ(1, n);
    CHECK_EQ(1, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "delivery_id = 'ev-bad' AND status = 'PROCESSED'", 1));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM companies WHERE "
                              "email = 'grace@example.com'"));
    /* Replay by integration puts everything of it back, and it all settles again. */
    memset(&f, 0, sizeof(f));
    f.integration_id = integ;
    CHECK_EQ(0, hub_webhook_replay(&conn, &f, &n, &err));
    CHECK_EQ(events(), n);
    CHECK_EQ(0, wait_scalar("SELECT count(*) FROM integration_webhook_events WHERE "
                            "status <> 'PROCESSED'", 0));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM companies WHERE "
                              "email = 'ada@example.com'"));
}

/* The value of a counter without labels in the rendered metrics; -1 when absent. */
static long long
metric_value(const char *name)
{
    struct hub_buf b;
    const char    *p;
    long long      v = -1;
    size_t         len = strlen(name);

    hub_buf_init(&b, 4 * 1024 * 1024);
    if (hub_metrics_render(&b) == 0 && b.data != NULL) {
        for (p = b.data; (p = strstr(p, name)) != NULL; p += len) {
            if ((p == b.data || p[-1] == '\n') && p[len] == ' ') {
                v = strtoll(p + len + 1, NULL, 10);
                break;
            }
        }
    }
    hub_buf_free(&b);
    return v < 0 ? 0 : v;
}

/*
 * Processing yields to a burst of deliveries to its hub (the receiver marks one when its
 * writer takes 16 or more at once), and only while it is less than yield_lag_ms behind: a
 * sustained overload is not starved. hub_webhook_process_job() is driven directly, on an
 * event stored without a job, so that the pool does not take it first.
 */
static void
test_yield_to_burst(void)
{
    struct hub_webhook_proc_cfg cfg;
    struct hub_error            err;
    _Atomic int64_t             busy_until = INT64_MAX;
    uint64_t                    processed = 0, retried = 0, failed = 0;
    long long                   y0;
    char                        sql[512];
    int                         i;

    memset(&cfg, 0, sizeof(cfg));
    cfg.plugins = &plugins;
    cfg.sync = sync_engine;
    cfg.public_url = "http://127.0.0.1:9";
    cfg.max_attempts = 3;
    cfg.backoff_base_ms = 1000;
    cfg.backoff_cap_ms = 60000;
    cfg.busy_until_ms = &busy_until;
    for (i = 0; i < 4; i++) {
        /* 0: a burst and a fresh event; 1: the event is older than the bound; 2: no burst;
         * 3: yielding switched off */
        snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
                 "platform, topic, delivery_id, headers, body, received_at) SELECT "
                 "integration_id, platform, topic, 'yield-%d', headers, body, now() - "
                 "interval '%d s' FROM integration_webhook_events WHERE delivery_id = 'key-b1'",
                 i, i == 1 ? 120 : 0);
        REQUIRE(testdb_exec(&db, sql) == 0);
        cfg.yield_lag_ms = i == 3 ? 0 : 60000;
        busy_until = i == 2 ? 0 : INT64_MAX;
        y0 = metric_value("simplix_webhook_processing_yields_total");
        processed = 0;
        CHECK_EQ(0, hub_webhook_process_job(&cfg, &conn, integ, &processed, &retried, &failed,
                                            &err));
        CHECK_EQ(1, processed);
        /* a pause of 10 steps before each batch: the event's, then the empty claim's; 10
         * only when the event showed processing 2 minutes behind; none without a burst */
        CHECK_EQ(i == 0 ? 20 : i == 1 ? 10 : 0,
                 metric_value("simplix_webhook_processing_yields_total") - y0);
    }
}

int
main(void)
{
    struct hub_webhook_opts  wo;
    struct hub_sync_opts     so;
    struct hub_worker_config wc;
    struct hub_http_limits   lim = { 4 * 1024 * 1024, 64 * 1024, 100 };
    struct hub_error         err;
    uint8_t                  key[32];
    size_t                   loaded = 0, refused = 0;
    int                      applied = 0;
    char                     sql[1024];

    signal(SIGPIPE, SIG_IGN);
    hub_log_set_level(HUB_LOG_ERROR);
    RUN_TEST(test_vector);

    testdb_create(&db, "webhook");
    REQUIRE(hub_db_connect(&conn, db.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(testdb_exec(&db, "INSERT INTO organizations (name) VALUES ('Org W')") == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name, status,"
             " config) SELECT id, 'shopify', 'Webhook shop', 'ACTIVE', '{\"shop_domain\":"
             "\"wh-test.myshopify.com\",\"base_url\":\"http://127.0.0.1:9\"}' FROM organizations");
    REQUIRE(testdb_exec(&db, sql) == 0);
    integ = testdb_scalar(&db, "SELECT max(id) FROM integrations");
    REQUIRE(integ > 0);
    memset(key, 7, sizeof(key));
    REQUIRE(hub_crypto_keyring_add(&keys, "k1", key, 1, &err) == 0);
    REQUIRE(hub_secret_store(&conn, &keys, integ, "webhook_secret", SECRET, strlen(SECRET),
                             &err) == 0);
    REQUIRE(hub_http_global_init(&err) == 0);
    hub_plugins_init(&plugins);
    REQUIRE(hub_plugins_load_dir(&plugins, SX_PLUGIN_DIR, &loaded, &refused, &err) == 0);

    memset(&so, 0, sizeof(so));
    so.conninfo = db.conninfo;
    so.plugins = &plugins;
    so.keys = &keys;
    REQUIRE(hub_sync_new(&so, &sync_engine, &err) == 0);

    REQUIRE(evthread_use_pthreads() == 0);
    base = event_base_new();
    REQUIRE(base != NULL);
    srv = hub_http_server_new(base, &lim, &err);
    REQUIRE(srv != NULL);
    REQUIRE(hub_http_server_listen(srv, "127.0.0.1", 0, &port, &err) == 0);
    memset(&wo, 0, sizeof(wo));
    wo.base = base;
    wo.http = srv;
    wo.conninfo = db.conninfo;
    wo.plugins = &plugins;
    wo.keys = &keys;
    wo.sync = sync_engine;
    wo.public_url = "http://127.0.0.1";
    wo.max_body = 64 * 1024;
    wo.max_attempts = 3;
    wo.backoff_base_ms = 20;
    wo.backoff_cap_ms = 100;
    if (hub_webhook_start(&wo, &wh, &err) < 0) {
        fprintf(stderr, "webhook start: %s\n", err.msg);
        REQUIRE(0);
    }
    memset(&wc, 0, sizeof(wc));
    wc.conninfo = db.conninfo;
    wc.threads = 2;
    wc.poll_ms = 100;
    wc.backoff_base_ms = 20;
    REQUIRE(hub_worker_pool_create(&wc, &pool, &err) == 0);
    REQUIRE(hub_webhook_register_jobs(wh, pool, &err) == 0);
    REQUIRE(hub_worker_pool_start(pool, &err) == 0);
    REQUIRE(pthread_create(&loop_thread, NULL, loop_main, NULL) == 0);

    RUN_TEST(test_delivery_stored_and_processed);
    RUN_TEST(test_refusals);
    RUN_TEST(test_concurrent_group_commit);
    RUN_TEST(test_order_per_key);
    RUN_TEST(test_yield_to_burst);
    RUN_TEST(test_arrival_order_in_batch);
    RUN_TEST(test_retry_failed_replay);
    RUN_TEST(test_timestamped_scheme);

    hub_worker_pool_stop(pool, 2000, NULL);
    hub_worker_pool_free(pool);
    event_base_loopbreak(base);
    pthread_join(loop_thread, NULL);
    hub_webhook_stop(wh, 1000);
    hub_webhook_free(wh);
    hub_http_server_free(srv);
    event_base_free(base);
    hub_sync_free(sync_engine);
    hub_plugins_destroy(&plugins);
    hub_crypto_keyring_wipe(&keys);
    hub_db_close(&conn);
    testdb_drop(&db);
    return check_report();
}
