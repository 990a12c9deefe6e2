/*
 * The admin API (host/api) over real sockets on a free loopback port, with a real PostgreSQL
 * behind the defer pool, the template connector from SX_PLUGIN_DIR and two organizations.
 *
 * Proved here: 401 without, with a malformed, an unknown or a revoked token; every route of
 * the route table walked with another organization's admin token answers 404 for org A's
 * resources (and the lists show none of A's rows); every write with a read-only token answers
 * 403; operator tokens get 403 on organization resources; create answers 201 with Location and
 * credentials are sealed and never in any response body (every body is grepped); PATCH, pause,
 * resume, test, oauth/start, syncs (enqueue 202, list, one run with progress), mappings,
 * health, soft delete; pagination of 25 companies by 10 sees each once; an Idempotency-Key
 * replay answers the same job and body, another body with the same key 422; the OpenAPI
 * document parses and names every registered route and method. Webhook events (rows inserted
 * here, their headers and body carrying the secret): list with the status filter and
 * pagination, one event, never headers or body; replay of one event and of a time range puts
 * back only this integration's events (another organization's event id answers 404), bad
 * bodies 422. Operator routes (/organizations): list with counts, create 201 + Location, one;
 * organization tokens 403 on them (the walks cover that too).
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"
#include "api/api.h"
#include "core/log.h"
#include "db/migrate.h"
#include "net/http_client.h"
#include "plugin/hostapi.h"

#define SECRET "SECRET-api-key-7f3a9c"

static struct testdb           tdb;
static struct hub_db           conn;
static struct event_base      *base;
static struct hub_http_server *server;
static int                     port;
static char tok_a[HUB_API_TOKEN_SIZE], tok_ro[HUB_API_TOKEN_SIZE], tok_b[HUB_API_TOKEN_SIZE];
static char tok_op[HUB_API_TOKEN_SIZE], tok_rev[HUB_API_TOKEN_SIZE];
static long long org_a, org_b, integ_a, integ_b, log_a, ev_a1, ev_a2, ev_a3, ev_b;
static int  n_responses, n_leaks;

struct answer {
    int  status;
    char headers[4096];
    char body[262144];
};

static void *
loop_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

/* PostgreSQL's json text has blanks around ':' and after ','; the checks below are written
 * compact (the test data has no ", " or " : " inside strings). */
static void
compact(char *s)
{
    char *w = s, *r = s;

    while (*r != '\0') {
        if (r[0] == ' ' && r[1] == ':' && r[2] == ' ') {
            *w++ = ':';
            r += 3;
        } else if ((r[0] == ',' || r[0] == '{') && r[1] == ' ') {
            *w++ = r[0];
            r += 2;
        } else if (r[0] == ' ' && r[1] == '}') {
            r++;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
}

/* One request on its own connection. `token` NULL: no Authorization. */
static int
request(const char *method, const char *target, const char *token, const char *extra,
        const char *body, struct answer *a)
{
    static char        resp[300000];
    char               req[8192], auth[128] = "";
    struct sockaddr_in sa;
    struct timeval     tv = { 20, 0 };
    size_t             got = 0;
    ssize_t            n;
    char              *sep;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

    a->status = 0;
    a->body[0] = a->headers[0] = '\0';
    if (fd < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    if (token != NULL)
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "%s%sContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", method,
             target, auth, extra != NULL ? extra : "", body != NULL ? strlen(body) : 0,
             body != NULL ? body : "");
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    while (got < sizeof(resp) - 1 && (n = read(fd, resp + got, sizeof(resp) - 1 - got)) > 0)
        got += (size_t)n;
    close(fd);
    resp[got] = '\0';
    sscanf(resp, "HTTP/1.%*d %d", &a->status);
    sep = strstr(resp, "\r\n\r\n");
    snprintf(a->headers, sizeof(a->headers), "%.*s", sep != NULL ? (int)(sep - resp) : 0, resp);
    snprintf(a->body, sizeof(a->body), "%s", sep != NULL ? sep + 4 : "");
    compact(a->body);
    n_responses++;
    if (strstr(resp, SECRET) != NULL) {
        n_leaks++;
        fprintf(stderr, "LEAK in %s %s: %s\n", method, target, resp);
    }
    return 0;
}

static long long
json_int(const char *body, const char *key)
{
    json_object *o = json_tokener_parse(body), *v;
    long long    r = -1;

    if (o != NULL && json_object_object_get_ex(o, key, &v))
        r = json_object_get_int64(v);
    json_object_put(o);
    return r;
}

static void
fill(const char *pattern, long long id, long long log_id, char *out, size_t cap)
{
    char        tmp[512];
    const char *p;

    snprintf(out, cap, "%s", pattern);
    while ((p = strstr(out, "{id}")) != NULL) {
        snprintf(tmp, sizeof(tmp), "%.*s%lld%s", (int)(p - out), out, id, p + 4);
        snprintf(out, cap, "%s", tmp);
    }
    while ((p = strstr(out, "{log_id}")) != NULL) {
        snprintf(tmp, sizeof(tmp), "%.*s%lld%s", (int)(p - out), out, log_id, p + 8);
        snprintf(out, cap, "%s", tmp);
    }
    while ((p = strstr(out, "{event_id}")) != NULL) {
        snprintf(tmp, sizeof(tmp), "%.*s%lld%s", (int)(p - out), out, ev_a1, p + 10);
        snprintf(out, cap, "%s", tmp);
    }
    while ((p = strstr(out, "{org_id}")) != NULL) {
        snprintf(tmp, sizeof(tmp), "%.*s%lld%s", (int)(p - out), out, org_a, p + 8);
        snprintf(out, cap, "%s", tmp);
    }
}

/* The operator's routes: organization tokens get 403 there. */
static int
operator_route(const char *pattern)
{
    return strncmp(pattern, "/api/v1/organizations", 21) == 0 ||
           strncmp(pattern, "/api/v1/marketplace", 19) == 0;
}

static const struct {
    int         m;
    const char *name;
    const char *body;
} methods[] = {
    { HUB_M_GET, "GET", NULL },
    { HUB_M_POST, "POST", "{\"entity\":\"customer\",\"name\":\"x\",\"platform\":\"template\"}" },
    { HUB_M_PATCH, "PATCH", "{\"name\":\"stolen\"}" },
    { HUB_M_DELETE, "DELETE", NULL },
};

static void
test_auth(void)
{
    static struct answer a;

    REQUIRE(request("GET", "/api/v1/integrations", NULL, NULL, NULL, &a) == 0);
    CHECK_EQ(401, a.status);
    CHECK_STR_HAS(a.body, "\"code\":\"unauthorized\"");
    CHECK_STR_HAS(a.body, "\"details\":null");
    request("GET", "/api/v1/integrations", "sxk_short", NULL, NULL, &a);
    CHECK_EQ(401, a.status);
    request("GET", "/api/v1/integrations", "sxk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
            NULL, &a);
    CHECK_EQ(401, a.status);
    request("GET", "/api/v1/integrations", tok_rev, NULL, NULL, &a);
    CHECK_EQ(401, a.status);
    request("GET", "/api/v1/integrations", tok_a, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT "
                              "NULL AND role = 'admin' AND organization_id IS NOT NULL AND "
                              "name = 'a-admin'"));
    /* The operator has no organization resources; connectors are for everyone. */
    request("GET", "/api/v1/integrations", tok_op, NULL, NULL, &a);
    CHECK_EQ(403, a.status);
    request("GET", "/api/v1/connectors", tok_op, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    /* Public document, no token needed. */
    request("GET", "/api/v1/openapi.json", NULL, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
}

static void
test_create_and_read(void)
{
    static struct answer a;
    char                 target[256], loc[256];

    request("GET", "/api/v1/connectors", tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"template\"");
    request("POST", "/api/v1/integrations", tok_a, NULL, "{\"platform\":\"nope\",\"name\":\"x\"}",
            &a);
    CHECK_EQ(422, a.status);
    CHECK_STR_HAS(a.body, "unknown_connector");
    request("POST", "/api/v1/integrations", tok_a, NULL, "{not json", &a);
    CHECK_EQ(400, a.status);
    request("POST", "/api/v1/integrations", tok_a, NULL,
            "{\"platform\":\"template\",\"name\":\"Acme\",\"config\":{\"base_url\":"
            "\"http://127.0.0.1:1\"},\"sync_settings\":{\"entities\":[\"customer\"]},"
            "\"credentials\":{\"api_key\":\"" SECRET "\"}}", &a);
    CHECK_EQ(201, a.status);
    integ_a = json_int(a.body, "id");
    REQUIRE(integ_a > 0);
    snprintf(loc, sizeof(loc), "Location: /api/v1/integrations/%lld", integ_a);
    CHECK_STR_HAS(a.headers, loc);
    CHECK_STR_HAS(a.body, "\"credentials_set\":[\"api_key\"]");
    CHECK_STR_HAS(a.body, "\"status\":\"ACTIVE\"");
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM integration_secrets WHERE key = "
                              "'api_key' AND position('" SECRET "'::bytea IN value) = 0"));

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"name\":\"Acme\"");
    request("PATCH", target, tok_a, NULL, "{\"name\":\"Acme 2\",\"credentials\":{\"api_key\":\""
            SECRET "\"}}", &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"name\":\"Acme 2\"");
    request("GET", "/api/v1/integrations?limit=5", tok_a, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"Acme 2\"");

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/pause", integ_a);
    request("POST", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"status\":\"PAUSED\"");
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/resume", integ_a);
    request("POST", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"status\":\"ACTIVE\"");

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/test", integ_a);
    request("POST", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"ok\":false");
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/oauth/start", integ_a);
    request("POST", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(409, a.status);
    CHECK_STR_HAS(a.body, "not_oauth");
}

static void
seed(void)
{
    char sql[1024];
    int  i;

    for (i = 0; i < 25; i++) {
        snprintf(sql, sizeof(sql), "INSERT INTO companies (organization_id, name) VALUES (%lld, "
                 "'A company %02d')", org_a, i);
        REQUIRE(testdb_exec(&tdb, sql) == 0);
    }
    snprintf(sql, sizeof(sql), "INSERT INTO companies (organization_id, name) VALUES (%lld, "
             "'B company')", org_b);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO products (organization_id, name, currency) VALUES "
             "(%lld, 'A product', 'EUR'); INSERT INTO invoices (organization_id, number, currency, "
             "total_minor) VALUES (%lld, 'A-INV-1', 'EUR', 1234)", org_a, org_a);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integration_sync_logs (integration_id, entity, "
             "direction, type, status, processed, pages, finished_at) VALUES (%lld, 'customer', "
             "'import', 'full', 'COMPLETED', 40, 2, now()); INSERT INTO integration_mappings "
             "(integration_id, entity, internal_id, external_id) VALUES (%lld, 'customer', 1, "
             "'ext-1')", integ_a, integ_a);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    log_a = testdb_scalar(&tdb, "SELECT max(id) FROM integration_sync_logs");
    /* Webhook events: headers and body carry the secret, which no answer may show. */
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name, "
             "status, auth_type) VALUES (%lld, 'template', 'B shop', 'ACTIVE', 'api_key')", org_b);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    integ_b = testdb_scalar(&tdb, "SELECT max(id) FROM integrations");
    snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
             "platform, topic, delivery_id, headers, body, signature, status, attempts, "
             "last_error, received_at, processed_at) VALUES "
             "(%lld, 'template', 'orders/create', 'd-1', '{\"X-Sig\":\"" SECRET "\"}', "
             "'" SECRET "', '" SECRET "', 'PROCESSED', 1, NULL, '2026-01-10T10:00:00Z', "
             "'2026-01-10T10:00:01Z'), "
             "(%lld, 'template', 'orders/updated', 'd-2', '{}', '" SECRET "', NULL, 'FAILED', 5, "
             "'boom', '2026-01-11T10:00:00Z', NULL), "
             "(%lld, 'template', 'orders/paid', 'd-3', '{}', '" SECRET "', NULL, 'PENDING', 0, "
             "NULL, '2026-01-12T10:00:00Z', NULL), "
             "(%lld, 'template', 'orders/create', 'd-b', '{}', '" SECRET "', NULL, 'FAILED', 5, "
             "'b', '2026-01-11T10:00:00Z', NULL)", integ_a, integ_a, integ_a, integ_b);
    REQUIRE(testdb_exec(&tdb, sql) == 0);
    ev_a1 = testdb_scalar(&tdb, "SELECT id FROM integration_webhook_events WHERE delivery_id = "
                          "'d-1'");
    ev_a2 = testdb_scalar(&tdb, "SELECT id FROM integration_webhook_events WHERE delivery_id = "
                          "'d-2'");
    ev_a3 = testdb_scalar(&tdb, "SELECT id FROM integration_webhook_events WHERE delivery_id = "
                          "'d-3'");
    ev_b = testdb_scalar(&tdb, "SELECT id FROM integration_webhook_events WHERE delivery_id = "
                         "'d-b'");
}

static void
test_events(void)
{
    static struct answer a;
    char                 target[256], want[128], cursor[128];
    json_object         *o, *v;

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"delivery_id\":\"d-1\"");
    CHECK_STR_HAS(a.body, "\"topic\":\"orders/updated\"");
    CHECK_STR_HAS(a.body, "\"last_error\":\"boom\"");
    CHECK_STR_HAS(a.body, "\"attempts\":5");
    CHECK(strstr(a.body, "d-b") == NULL);
    CHECK(strstr(a.body, "headers") == NULL);
    CHECK(strstr(a.body, "\"body\"") == NULL);
    CHECK(strstr(a.body, "signature") == NULL);
    /* Newest first. */
    CHECK(strstr(a.body, "d-3") != NULL && strstr(a.body, "d-3") < strstr(a.body, "d-1"));
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events?status=FAILED", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "d-2");
    CHECK(strstr(a.body, "d-1") == NULL && strstr(a.body, "d-3") == NULL);
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events?status=nope", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(400, a.status);
    /* Pagination: 2 then 1. */
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events?limit=2", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    o = json_tokener_parse(a.body);
    REQUIRE(o != NULL && json_object_object_get_ex(o, "next_cursor", &v) &&
            json_object_is_type(v, json_type_string));
    snprintf(cursor, sizeof(cursor), "%s", json_object_get_string(v));
    json_object_put(o);
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events?limit=2&cursor=%s",
             integ_a, cursor);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "d-1");
    CHECK_STR_HAS(a.body, "\"next_cursor\":null");

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/%lld", integ_a, ev_a2);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    snprintf(want, sizeof(want), "\"id\":%lld", ev_a2);
    CHECK_STR_HAS(a.body, want);
    CHECK_STR_HAS(a.body, "\"status\":\"FAILED\"");
    CHECK(strstr(a.body, "headers") == NULL);
    /* B's event through A's integration, and A's event through B's integration: 404. */
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/%lld", integ_a, ev_b);
    request("GET", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(404, a.status);
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/%lld", integ_b, ev_a2);
    request("GET", target, tok_b, NULL, NULL, &a);
    CHECK_EQ(404, a.status);
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/replay", integ_a);
    request("GET", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(404, a.status);

    /* Replay one event. */
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/replay", integ_a);
    snprintf(want, sizeof(want), "{\"event_id\":%lld}", ev_a2);
    request("POST", target, tok_a, NULL, want, &a);
    CHECK_EQ(202, a.status);
    CHECK_STR_HAS(a.body, "\"replayed\":1");
    snprintf(want, sizeof(want), "SELECT count(*) FROM integration_webhook_events WHERE id = "
             "%lld AND status = 'PENDING' AND attempts = 0", ev_a2);
    CHECK_EQ(1, testdb_scalar(&tdb, want));
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM jobs WHERE kind = 'webhook.process'"));
    /* Another organization's event id through A's integration: 404, B's event untouched. */
    snprintf(want, sizeof(want), "{\"event_id\":%lld}", ev_b);
    request("POST", target, tok_a, NULL, want, &a);
    CHECK_EQ(404, a.status);
    /* A range: d-1 (Jan 10) and d-2 (Jan 11), not d-3 (Jan 12), not B's. */
    request("POST", target, tok_a, NULL, "{\"since\":\"2026-01-10T00:00:00Z\",\"until\":"
            "\"2026-01-12T00:00:00+00:00\"}", &a);
    CHECK_EQ(202, a.status);
    CHECK_STR_HAS(a.body, "\"replayed\":2");
    snprintf(want, sizeof(want), "SELECT count(*) FROM integration_webhook_events WHERE id = "
             "%lld AND status = 'PENDING' AND processed_at IS NULL", ev_a1);
    CHECK_EQ(1, testdb_scalar(&tdb, want));
    snprintf(want, sizeof(want), "SELECT count(*) FROM integration_webhook_events WHERE id = "
             "%lld AND status = 'FAILED' AND attempts = 5", ev_b);
    CHECK_EQ(1, testdb_scalar(&tdb, want));
    request("POST", target, tok_a, NULL, "{\"since\":\"2030-01-01T00:00:00.5Z\"}", &a);
    CHECK_EQ(202, a.status);
    CHECK_STR_HAS(a.body, "\"replayed\":0");
    /* Bad bodies. */
    request("POST", target, tok_a, NULL, "{}", &a);
    CHECK_EQ(422, a.status);
    request("POST", target, tok_a, NULL, "{\"event_id\":1,\"since\":\"2026-01-10T00:00:00Z\"}",
            &a);
    CHECK_EQ(422, a.status);
    request("POST", target, tok_a, NULL, "{\"event_id\":\"1\"}", &a);
    CHECK_EQ(422, a.status);
    request("POST", target, tok_a, NULL, "{\"since\":\"yesterday\"}", &a);
    CHECK_EQ(422, a.status);
    request("POST", target, tok_a, NULL, "{\"since\":\"2026-02-31T00:00:00Z\"}", &a);
    CHECK_EQ(422, a.status);
    request("POST", target, tok_a, NULL, "{\"since\":\"2026-01-10T00:00:00\"}", &a);
    CHECK_EQ(422, a.status);
    /* Read-only and operator tokens may not replay; B's token sees no such integration. */
    request("POST", target, tok_ro, NULL, "{\"since\":\"2026-01-10T00:00:00Z\"}", &a);
    CHECK_EQ(403, a.status);
    request("POST", target, tok_op, NULL, "{\"since\":\"2026-01-10T00:00:00Z\"}", &a);
    CHECK_EQ(403, a.status);
    request("POST", target, tok_b, NULL, "{\"since\":\"2026-01-10T00:00:00Z\"}", &a);
    CHECK_EQ(404, a.status);
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/replay", integ_b);
    request("POST", target, tok_a, NULL, "{\"since\":\"2026-01-10T00:00:00Z\"}", &a);
    CHECK_EQ(404, a.status);
    snprintf(want, sizeof(want), "SELECT count(*) FROM integration_webhook_events WHERE id = "
             "%lld AND status = 'FAILED'", ev_b);
    CHECK_EQ(1, testdb_scalar(&tdb, want));
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events/%lld", integ_a, ev_a3);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"topic\":\"orders/paid\"");
}

static void
test_operator(void)
{
    static struct answer a;
    char                 target[256], loc[128];
    long long            id;

    request("GET", "/api/v1/organizations", tok_op, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"name\":\"Org A\"");
    CHECK_STR_HAS(a.body, "\"name\":\"Org B\"");
    CHECK_STR_HAS(a.body, "\"integrations\":1");
    request("GET", "/api/v1/organizations?limit=1", tok_op, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK(strstr(a.body, "Org B") == NULL);
    CHECK(strstr(a.body, "\"next_cursor\":null") == NULL);
    request("POST", "/api/v1/organizations", tok_op, NULL, "{\"name\":\"Org C\","
            "\"currency\":\"USD\"}", &a);
    CHECK_EQ(201, a.status);
    id = json_int(a.body, "id");
    CHECK(id > org_b);
    CHECK_STR_HAS(a.body, "\"currency\":\"USD\"");
    CHECK_STR_HAS(a.body, "\"integrations\":0");
    snprintf(loc, sizeof(loc), "Location: /api/v1/organizations/%lld", id);
    CHECK_STR_HAS(a.headers, loc);
    snprintf(target, sizeof(target), "/api/v1/organizations/%lld", id);
    request("GET", target, tok_op, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "Org C");
    request("GET", "/api/v1/organizations/999999999", tok_op, NULL, NULL, &a);
    CHECK_EQ(404, a.status);
    request("POST", "/api/v1/organizations", tok_op, NULL, "{\"currency\":\"USD\"}", &a);
    CHECK_EQ(422, a.status);
    request("POST", "/api/v1/organizations", tok_op, NULL, "{\"name\":\"x\",\"currency\":"
            "\"usd\"}", &a);
    CHECK_EQ(422, a.status);
    /* Organization tokens: 403, and nothing created. */
    request("GET", "/api/v1/organizations", tok_a, NULL, NULL, &a);
    CHECK_EQ(403, a.status);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(403, a.status);
    request("POST", "/api/v1/organizations", tok_a, NULL, "{\"name\":\"Org D\"}", &a);
    CHECK_EQ(403, a.status);
    CHECK_EQ(0, testdb_scalar(&tdb, "SELECT count(*) FROM organizations WHERE name = 'Org D'"));
    /* The operator still has no organization resources. */
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/events", integ_a);
    request("GET", target, tok_op, NULL, NULL, &a);
    CHECK_EQ(403, a.status);
}

static void
test_resources(void)
{
    static struct answer a;
    char                 target[256];

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/syncs", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"processed\":40");
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/syncs/%lld", integ_a, log_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"pages\":2");
    CHECK_STR_HAS(a.body, "\"rate\":");
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/mappings?entity=customer",
             integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"external_id\":\"ext-1\"");
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/mappings?entity=order", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_STR_HAS(a.body, "\"data\":[]");
    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/health", integ_a);
    request("GET", target, tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "\"recent_runs\":1");
    CHECK_STR_HAS(a.body, "\"recent_success_rate\":1");
    CHECK_STR_HAS(a.body, "\"mappings\":{\"customer\":1}");
    request("GET", "/api/v1/invoices", tok_ro, NULL, NULL, &a);
    CHECK_EQ(200, a.status);
    CHECK_STR_HAS(a.body, "A-INV-1");
    request("GET", "/api/v1/products", tok_ro, NULL, NULL, &a);
    CHECK_STR_HAS(a.body, "A product");
    request("GET", "/api/v1/companies?limit=0", tok_ro, NULL, NULL, &a);
    CHECK_EQ(400, a.status);
    request("GET", "/api/v1/companies?cursor=garbage!", tok_ro, NULL, NULL, &a);
    CHECK_EQ(400, a.status);
}

static void
test_pagination(void)
{
    static struct answer a;
    char                 target[256], cursor[128] = "";
    int                  seen[26] = { 0 }, pages = 0, total = 0, i;

    for (;;) {
        json_object *o, *data, *next;

        snprintf(target, sizeof(target), "/api/v1/companies?limit=10%s%s",
                 cursor[0] ? "&cursor=" : "", cursor);
        REQUIRE(request("GET", target, tok_a, NULL, NULL, &a) == 0);
        CHECK_EQ(200, a.status);
        o = json_tokener_parse(a.body);
        REQUIRE(o != NULL && json_object_object_get_ex(o, "data", &data));
        for (i = 0; i < (int)json_object_array_length(data); i++) {
            json_object *name;
            int          k = -1;

            json_object_object_get_ex(json_object_array_get_idx(data, i), "name", &name);
            if (sscanf(json_object_get_string(name), "A company %d", &k) == 1 && k >= 0 && k < 25)
                seen[k]++;
            else
                seen[25]++;
            total++;
        }
        pages++;
        json_object_object_get_ex(o, "next_cursor", &next);
        if (next == NULL || json_object_is_type(next, json_type_null)) {
            json_object_put(o);
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", json_object_get_string(next));
        json_object_put(o);
        REQUIRE(pages < 10);
    }
    CHECK_EQ(3, pages);
    CHECK_EQ(25, total);
    for (i = 0; i < 25; i++)
        CHECK_EQ(1, seen[i]);
    CHECK_EQ(0, seen[25]);     /* nothing of organization B */
}

static void
test_idempotency(void)
{
    static struct answer a, b;
    char                 target[256];
    long long            job;

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld/syncs", integ_a);
    request("POST", target, tok_a, "Idempotency-Key: run-1\r\n",
            "{\"entity\":\"customer\",\"mode\":\"full\"}", &a);
    CHECK_EQ(202, a.status);
    job = json_int(a.body, "job_id");
    CHECK(job > 0);
    CHECK_STR_HAS(a.headers, "Location: /api/v1/integrations/");
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM jobs WHERE kind = 'sync.import'"));
    /* The queued job is finished by hand so a new enqueue would be a NEW job. */
    REQUIRE(testdb_exec(&tdb, "UPDATE jobs SET status = 'done', dedupe_key = NULL") == 0);
    request("POST", target, tok_a, "Idempotency-Key: run-1\r\n",
            "{\"entity\":\"customer\",\"mode\":\"full\"}", &b);
    CHECK_EQ(202, b.status);
    CHECK_EQ(job, json_int(b.body, "job_id"));
    CHECK_STR_EQ(a.body, b.body);
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM jobs WHERE kind = 'sync.import'"));
    request("POST", target, tok_a, "Idempotency-Key: run-1\r\n",
            "{\"entity\":\"product\",\"mode\":\"full\"}", &b);
    CHECK_EQ(422, b.status);
    CHECK_STR_HAS(b.body, "idempotency_key_reused");
    /* Without a key: a new job. */
    request("POST", target, tok_a, NULL, "{\"entity\":\"customer\"}", &b);
    CHECK_EQ(202, b.status);
    CHECK_NE(job, json_int(b.body, "job_id"));
    request("POST", target, tok_a, NULL, "{\"entity\":\"planet\"}", &b);
    CHECK_EQ(422, b.status);
}

/* Every route, every method, with B's admin token and A's ids: 404; lists: none of A's rows. */
static void
test_cross_org(void)
{
    static struct answer       a;
    const struct hub_api_route *routes;
    char                        target[512];
    size_t                      n, i, m;

    routes = hub_api_routes(&n);
    for (i = 0; i < n; i++) {
        for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            if (!(routes[i].methods & methods[m].m))
                continue;
            fill(routes[i].pattern, integ_a, log_a, target, sizeof(target));
            REQUIRE(request(methods[m].name, target, tok_b, NULL, methods[m].body, &a) == 0);
            if (operator_route(routes[i].pattern)) {
                if (a.status != 403)
                    fprintf(stderr, "  %s %s -> %d %s\n", methods[m].name, target, a.status,
                            a.body);
                CHECK_EQ(403, a.status);
                CHECK(strstr(a.body, "Org A") == NULL);
            } else if (strstr(routes[i].pattern, "{id}") != NULL) {
                if (a.status != 404)
                    fprintf(stderr, "  %s %s -> %d %s\n", methods[m].name, target, a.status,
                            a.body);
                CHECK_EQ(404, a.status);
                CHECK_STR_HAS(a.body, "\"code\":\"not_found\"");
            } else {
                CHECK(a.status == 200 || a.status == 201);
                CHECK(strstr(a.body, "A company 0") == NULL);
                CHECK(strstr(a.body, "A-INV-1") == NULL);
                CHECK(strstr(a.body, "Acme 2") == NULL);
            }
        }
    }
    /* A's integration is untouched by all that. */
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM integrations WHERE name = 'Acme 2' "
                              "AND deleted_at IS NULL AND status = 'ACTIVE'"));
}

static void
test_readonly(void)
{
    static struct answer       a;
    const struct hub_api_route *routes;
    char                        target[512];
    size_t                      n, i, m;

    routes = hub_api_routes(&n);
    for (i = 0; i < n; i++) {
        for (m = 1; m < sizeof(methods) / sizeof(methods[0]); m++) {
            if (!(routes[i].methods & methods[m].m))
                continue;
            fill(routes[i].pattern, integ_a, log_a, target, sizeof(target));
            REQUIRE(request(methods[m].name, target, tok_ro, NULL, methods[m].body, &a) == 0);
            if (a.status != 403)
                fprintf(stderr, "  %s %s -> %d\n", methods[m].name, target, a.status);
            CHECK_EQ(403, a.status);
        }
    }
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM integrations WHERE name = 'Acme 2' "
                              "AND deleted_at IS NULL"));
}

static void
test_openapi(void)
{
    static struct answer       a;
    const struct hub_api_route *routes;
    json_object                *doc, *paths, *item, *op;
    size_t                      n, i, m;
    const char                 *names[] = { "get", "post", "patch", "delete" };

    REQUIRE(request("GET", "/api/v1/openapi.json", NULL, NULL, NULL, &a) == 0);
    CHECK_EQ(200, a.status);
    doc = json_tokener_parse(a.body);
    REQUIRE(doc != NULL);
    REQUIRE(json_object_object_get_ex(doc, "paths", &paths));
    CHECK(json_object_object_get_ex(doc, "openapi", &op) &&
          strcmp(json_object_get_string(op), "3.1.0") == 0);
    routes = hub_api_routes(&n);
    CHECK_EQ(n, json_object_object_length(paths));
    for (i = 0; i < n; i++) {
        if (!json_object_object_get_ex(paths, routes[i].pattern, &item)) {
            CHECK_FAIL_AT(__FILE__, __LINE__, "route %s not in the document", routes[i].pattern);
            continue;
        }
        for (m = 0; m < 4; m++) {
            int has = json_object_object_get_ex(item, names[m], &op);

            if (has != !!(routes[i].methods & methods[m].m))
                CHECK_FAIL_AT(__FILE__, __LINE__, "%s %s: document %d, routes %d", names[m],
                              routes[i].pattern, has, !!(routes[i].methods & methods[m].m));
            else
                check_passed++;
        }
    }
    json_object_put(doc);
}

static void
test_delete(void)
{
    static struct answer a;
    char                 target[256];

    snprintf(target, sizeof(target), "/api/v1/integrations/%lld", integ_a);
    request("DELETE", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(204, a.status);
    request("GET", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(404, a.status);
    request("DELETE", target, tok_a, NULL, NULL, &a);
    CHECK_EQ(404, a.status);
    CHECK_EQ(1, testdb_scalar(&tdb, "SELECT count(*) FROM integrations WHERE deleted_at IS NOT "
                              "NULL"));
}

int
main(void)
{
    struct hub_http_limits      lim = { 0, 0, 0 };
    struct hub_http_defer_opts  o;
    struct hub_http_defer_pool *pool = NULL;
    struct hub_crypto_keyring   keys;
    struct hub_plugins          plugins;
    struct hub_runtime          rt;
    struct hub_api_ctx         *ctx;
    struct hub_error            err;
    pthread_t                   loop;
    uint8_t                     key[HUB_CRYPTO_KEY_LEN];
    size_t                      loaded = 0, refused = 0;
    int                         applied = 0;
    char                        sql[256];

    testdb_create(&tdb, "api");
    REQUIRE(evthread_use_pthreads() == 0);
    REQUIRE(hub_db_connect(&conn, tdb.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(testdb_exec(&tdb, "INSERT INTO organizations (name) VALUES ('Org A'), ('Org B')") == 0);
    org_a = testdb_scalar(&tdb, "SELECT min(id) FROM organizations");
    org_b = testdb_scalar(&tdb, "SELECT max(id) FROM organizations");
    REQUIRE(hub_api_token_create(&conn, org_a, "admin", "a-admin", tok_a, NULL, &err) == 0);
    REQUIRE(hub_api_token_create(&conn, org_a, "readonly", "a-ro", tok_ro, NULL, &err) == 0);
    REQUIRE(hub_api_token_create(&conn, org_b, "admin", "b-admin", tok_b, NULL, &err) == 0);
    REQUIRE(hub_api_token_create(&conn, 0, "operator", "op", tok_op, NULL, &err) == 0);
    REQUIRE(hub_api_token_create(&conn, org_a, "admin", "revoked", tok_rev, NULL, &err) == 0);
    CHECK(hub_api_token_create(&conn, org_a, "operator", "x", tok_rev, NULL, &err) < 0);
    REQUIRE(hub_api_token_create(&conn, org_a, "admin", "revoked", tok_rev, NULL, &err) == 0);
    REQUIRE(testdb_exec(&tdb, "UPDATE api_tokens SET revoked_at = now() WHERE name = "
                        "'revoked'") == 0);
    CHECK_EQ(0, testdb_scalar(&tdb, "SELECT count(*) FROM api_tokens WHERE position(prefix IN "
                              "encode(token_hash, 'escape')) > 0 AND length(prefix) > 12"));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM api_tokens WHERE prefix = '%.12s'", tok_a);
    CHECK_EQ(1, testdb_scalar(&tdb, sql));

    memset(key, 7, sizeof(key));
    memset(&keys, 0, sizeof(keys));
    REQUIRE(hub_crypto_keyring_add(&keys, "k1", key, 1, &err) == 0);
    REQUIRE(hub_http_global_init(&err) == 0);
    memset(&rt, 0, sizeof(rt));
    rt.keys = &keys;
    rt.http_max_attempts = 1;
    rt.http_deadline_ms = 3000;
    REQUIRE(hub_http_client_new(NULL, &rt.http, &err) == 0);
    REQUIRE(hub_rate_registry_new(NULL, NULL, &rt.rates, &err) == 0);
    hub_plugins_init(&plugins);
    REQUIRE(hub_plugins_load_dir(&plugins, SX_PLUGIN_DIR, &loaded, &refused, &err) == 0);
    REQUIRE(loaded >= 1);

    base = event_base_new();
    REQUIRE(base != NULL);
    server = hub_http_server_new(base, &lim, &err);
    REQUIRE(server != NULL);
    REQUIRE(hub_http_server_listen(server, "127.0.0.1", 0, &port, &err) == 0);
    memset(&o, 0, sizeof(o));
    o.conninfo = tdb.conninfo;
    o.threads = 2;
    REQUIRE(hub_http_defer_pool_new(base, &o, &pool, &err) == 0);
    ctx = calloc(1, sizeof(*ctx));
    REQUIRE(ctx != NULL);
    ctx->defer = pool;
    ctx->plugins = &plugins;
    ctx->rt = &rt;
    ctx->keys = &keys;
    ctx->public_url = "https://hub.example";
    REQUIRE(hub_api_register(server, ctx) == 0);
    REQUIRE(pthread_create(&loop, NULL, loop_main, NULL) == 0);

    RUN_TEST(test_auth);
    RUN_TEST(test_create_and_read);
    seed();
    RUN_TEST(test_resources);
    RUN_TEST(test_events);
    RUN_TEST(test_pagination);
    RUN_TEST(test_idempotency);
    RUN_TEST(test_cross_org);
    RUN_TEST(test_readonly);
    RUN_TEST(test_openapi);
    RUN_TEST(test_operator);
    RUN_TEST(test_delete);
    CHECK(n_responses > 50);
    CHECK_EQ(0, n_leaks);

    event_base_loopexit(base, NULL);
    pthread_join(loop, NULL);
    hub_http_defer_pool_free(pool);
    hub_http_server_free(server);
    event_base_free(base);
    free(ctx);
    hub_plugins_destroy(&plugins);
    hub_rate_registry_free(rt.rates);
    hub_http_client_free(rt.http);
    hub_http_global_cleanup();
    hub_crypto_keyring_wipe(&keys);
    hub_log_redact_clear();
    hub_db_close(&conn);
    testdb_drop(&tdb);
    return check_report();
}
