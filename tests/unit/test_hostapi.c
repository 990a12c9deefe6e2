/*
 * The host services, end to end with a real connector: the SDK's template connector (loaded
 * from build/plugins/template.so) talks to an "Acme" HTTP server running in this process on a
 * free loopback port, through the hub's instance/call machinery, real libcurl, the rate
 * limiter, retries, secrets sealed in PostgreSQL and state in PostgreSQL.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/log.h"
#include "db/migrate.h"
#include "plugin/hostapi.h"
#include "testdb.h"

#define API_KEY "sk_test_9f8e7d6c5b4a"

/* ---- the fake Acme platform ----------------------------------------------------------------- */

static struct event_base *acme_base;
static struct evhttp      *acme_http;
static int                acme_port;
static atomic_int         acme_429_left;      /* answer 429 this many times on page 2 */
static atomic_int         acme_calls;
static char               acme_last_query[512];
static char               acme_last_key[128];
static pthread_mutex_t    acme_lock = PTHREAD_MUTEX_INITIALIZER;

static void
acme_reply(struct evhttp_request *req, int code, const char *body)
{
    struct evbuffer *b = evbuffer_new();

    evbuffer_add(b, body, strlen(body));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
}

static void
acme_handler(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char              *path = evhttp_uri_get_path(uri);
    const char              *query = evhttp_uri_get_query(uri);
    const char              *key = evhttp_find_header(evhttp_request_get_input_headers(req),
                                                      "X-Api-Key");

    (void)arg;
    atomic_fetch_add(&acme_calls, 1);
    pthread_mutex_lock(&acme_lock);
    snprintf(acme_last_query, sizeof(acme_last_query), "%s", query ? query : "");
    snprintf(acme_last_key, sizeof(acme_last_key), "%s", key ? key : "");
    pthread_mutex_unlock(&acme_lock);
    if (key == NULL || strcmp(key, API_KEY) != 0) {
        acme_reply(req, 401, "{\"error\":\"bad key\"}");
        return;
    }
    if (strcmp(path, "/api/me") == 0) {
        acme_reply(req, 200, "{\"account\":\"acme-1\"}");
        return;
    }
    if (strcmp(path, "/api/customers") == 0 && query != NULL && strstr(query, "page=2") != NULL) {
        if (atomic_fetch_sub(&acme_429_left, 1) > 0) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "0.2");
            acme_reply(req, 429, "{\"error\":\"slow down\"}");
            return;
        }
        acme_reply(req, 200, "{\"customers\":["
                   "{\"id\":\"c4\",\"email\":\"d@x.io\",\"name\":\"Dörte \\\"D\\\"\","
                   "\"updated_at\":\"2024-03-01T10:00:00Z\"},"
                   "{\"id\":\"c5\",\"name\":\"No Mail\",\"updated_at\":\"2024-03-01T10:00:00Z\"}"
                   "],\"next_page\":null}");
        return;
    }
    if (strcmp(path, "/api/customers") == 0) {
        acme_reply(req, 200, "{\"customers\":["
                   "{\"id\":\"c1\",\"email\":\"a@x.io\",\"name\":\"Ada\","
                   "\"updated_at\":\"2024-02-01T10:00:00+02:00\"},"
                   "{\"id\":\"c2\",\"email\":\"b@x.io\",\"name\":\"Bob\","
                   "\"updated_at\":\"2024-02-02T10:00:00Z\"},"
                   "{\"id\":\"c3\",\"email\":\"c@x.io\",\"name\":\"張偉\","
                   "\"updated_at\":\"2024-02-03T10:00:00Z\"}],\"next_page\":2}");
        return;
    }
    if (strcmp(path, "/api/garbage") == 0) {
        acme_reply(req, 200, "{\"customers\": [ {\"id\": ");
        return;
    }
    acme_reply(req, 404, "{}");
}

static void *
acme_main(void *arg)
{
    (void)arg;
    event_base_dispatch(acme_base);
    return NULL;
}

static pthread_t
acme_start(void)
{
    struct evhttp              *http;
    struct evhttp_bound_socket *sock;
    struct sockaddr_storage     ss;
    socklen_t                   sl = sizeof(ss);
    pthread_t                   t;

    evthread_use_pthreads();
    acme_base = event_base_new();
    http = evhttp_new(acme_base);
    acme_http = http;
    evhttp_set_gencb(http, acme_handler, NULL);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    REQUIRE(sock != NULL);
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&ss, &sl);
    acme_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    pthread_create(&t, NULL, acme_main, NULL);
    return t;
}

/* ---- fixtures ------------------------------------------------------------------------------- */

static struct testdb              db;
static struct hub_db              conn;
static struct hub_runtime         rt;
static struct hub_plugins         plugins;
static struct hub_crypto_keyring  keys;
static int64_t                    integration_id;

struct emitted {
    int  n;
    char ids[16][64];
    char last[2048];
};

static int
collect(struct hub_call *call, uint32_t entity, sx_str json, void *arg)
{
    struct emitted  *e = arg;
    const sx_json   *doc;
    sx_str           id;
    const sx_host_api *h = call->cx.host;

    CHECK_EQ(SX_ENTITY_CUSTOMER, entity);
    /* The record the plugin produced must be valid canonical JSON with an id. */
    CHECK_EQ(SX_OK, h->json_parse(&call->cx, json, &doc));
    CHECK_EQ(SX_OK, h->json_string(h->json_get(doc, SX_K_EXTERNAL_ID), &id));
    if (e->n < 16)
        snprintf(e->ids[e->n], sizeof(e->ids[0]), "%.*s", (int)id.len, id.ptr);
    snprintf(e->last, sizeof(e->last), "%.*s", (int)json.len, json.ptr);
    e->n++;
    return SX_OK;
}

static struct hub_instance *
open_template(const char *base_url)
{
    struct hub_instance *inst = NULL;
    struct hub_error     err;
    char                 cfg[300];

    snprintf(cfg, sizeof(cfg), "{\"base_url\":\"%s\"}", base_url);
    if (hub_instance_open(&rt, &plugins, "template", integration_id, cfg, NULL, &conn, &inst,
                          &err) < 0)
        fprintf(stderr, "open: %s\n", err.msg);
    return inst;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void
test_secret_sealed_at_rest(void)
{
    struct hub_error err;
    char            *val = NULL, sql[256];
    size_t           len = 0;

    REQUIRE(hub_secret_store(&conn, &keys, integration_id, "api_key", API_KEY, strlen(API_KEY),
                             &err) == 0);
    CHECK_EQ(0, hub_secret_load(&conn, &keys, integration_id, "api_key", &val, &len, &err));
    CHECK_MEM_EQ(API_KEY, strlen(API_KEY), val, len);
    hub_crypto_free_secret(val, len);
    /* The plaintext appears nowhere in the table. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM integration_secrets WHERE "
             "position('%s'::bytea in value) > 0", API_KEY);
    CHECK_EQ(0, testdb_scalar(&db, sql));
    CHECK_EQ(1, testdb_scalar(&db, "SELECT count(*) FROM integration_secrets WHERE key_id = 'k1'"));
    /* A blob moved to another integration does not open (bound to id and key). */
    CHECK_EQ(HUB_E_NOT_FOUND, hub_secret_load(&conn, &keys, integration_id + 1, "api_key", &val,
                                              &len, &err));
}

static void
test_connection_and_auth(void)
{
    struct hub_instance *inst;
    struct hub_error     err;
    char                 url[64];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", acme_port);
    inst = open_template(url);
    REQUIRE(inst != NULL);
    CHECK_STR_HAS(inst->account, "template:http://127.0.0.1:");
    CHECK_EQ(0, hub_instance_test_connection(inst, &conn, &err));
    CHECK_STR_EQ(API_KEY, acme_last_key);          /* the host applied the sealed key */

    /* A wrong key: the connector's own sentence comes back. */
    {
        struct hub_error e2;

        REQUIRE(hub_secret_store(&conn, &keys, integration_id, "api_key", "wrong-key-123", 13,
                                 &e2) == 0);
        CHECK_EQ(SX_E_AUTH, hub_instance_test_connection(inst, &conn, &err));
        CHECK_STR_EQ("Acme refused the API key: check it in Acme's settings", err.msg);
        REQUIRE(hub_secret_store(&conn, &keys, integration_id, "api_key", API_KEY,
                                 strlen(API_KEY), &e2) == 0);
    }
    hub_instance_close(inst);
}

static void
test_list_pages_cursor_and_retry(void)
{
    struct hub_instance *inst;
    struct hub_error     err;
    struct emitted       e;
    char                 url[64], cursor[256];
    int                  more = 0, calls;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", acme_port);
    inst = open_template(url);
    REQUIRE(inst != NULL);

    memset(&e, 0, sizeof(e));
    CHECK_EQ(0, hub_instance_list(inst, &conn, SX_ENTITY_CUSTOMER, "", 0, 50, collect, &e,
                                  cursor, sizeof(cursor), &more, &err));
    CHECK_EQ(3, e.n);
    CHECK_STR_EQ("c1", e.ids[0]);
    CHECK_STR_EQ("c3", e.ids[2]);
    CHECK_STR_HAS(e.last, "\"company_name\":\"張偉\"");
    CHECK_EQ(1, more);
    CHECK_STR_EQ("2", cursor);
    CHECK_STR_EQ("page=1&per_page=50", acme_last_query);

    /* Page 2 answers 429 twice with Retry-After: the host waits and retries. */
    atomic_store(&acme_429_left, 2);
    calls = atomic_load(&acme_calls);
    memset(&e, 0, sizeof(e));
    CHECK_EQ(0, hub_instance_list(inst, &conn, SX_ENTITY_CUSTOMER, cursor, 0, 500, collect, &e,
                                  cursor, sizeof(cursor), &more, &err));
    CHECK_EQ(3, atomic_load(&acme_calls) - calls);
    CHECK_EQ(2, e.n);
    CHECK_STR_HAS(e.last, "\"email\":\"\"");       /* missing email stays an empty string */
    CHECK_EQ(0, more);
    CHECK_STR_EQ("", cursor);
    CHECK_STR_HAS(acme_last_query, "per_page=100"); /* clamped by the connector */

    /* Incremental: updated_since reaches the platform as RFC 3339 UTC. */
    memset(&e, 0, sizeof(e));
    CHECK_EQ(0, hub_instance_list(inst, &conn, SX_ENTITY_CUSTOMER, "", 1709287200000LL, 10,
                                  collect, &e, cursor, sizeof(cursor), &more, &err));
    CHECK_STR_HAS(acme_last_query, "updated_since=2024-03-01T10:00:00Z");

    /* A cursor the plugin cannot read is refused with its message. */
    CHECK_EQ(SX_E_INVALID, hub_instance_list(inst, &conn, SX_ENTITY_CUSTOMER, "{oops", 0, 10,
                                             collect, &e, cursor, sizeof(cursor), &more, &err));
    CHECK_STR_HAS(err.msg, "bad cursor {oops");
    /* An entity the connector does not declare. */
    CHECK_EQ(HUB_E_UNSUPPORTED, hub_instance_list(inst, &conn, SX_ENTITY_ORDER, "", 0, 10,
                                                  collect, &e, cursor, sizeof(cursor), &more,
                                                  &err));
    hub_instance_close(inst);
}

static void
test_transport_failures(void)
{
    struct hub_instance *inst;
    struct hub_error     err;
    struct emitted       e;
    char                 cursor[256];
    int                  more;

    /* Nothing listens on port 1: transient after the retries, with a message. */
    rt.http_max_attempts = 2;
    inst = open_template("http://127.0.0.1:1");
    REQUIRE(inst != NULL);
    memset(&e, 0, sizeof(e));
    CHECK_EQ(SX_E_TRANSIENT, hub_instance_list(inst, &conn, SX_ENTITY_CUSTOMER, "", 0, 10,
                                               collect, &e, cursor, sizeof(cursor), &more,
                                               &err));
    CHECK(err.msg[0] != '\0');
    CHECK_EQ(0, e.n);
    hub_instance_close(inst);
    rt.http_max_attempts = 0;
}

/* Direct use of the table inside a call: state, JSON limits, time, crypto helpers, redaction. */
static void
test_services_in_a_call(void)
{
    struct hub_instance *inst;
    struct hub_call      call;
    const sx_host_api   *h = hub_host_api();
    const sx_json       *doc;
    sx_str               v, t;
    int64_t              ms = 0;
    uint8_t              mac[32];
    char                 url[64], deep[400], logpath[] = "/tmp/sx_hostapi_log_XXXXXX";
    char                 logbuf[4096];
    int                  i, fd;
    ssize_t              n;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d", acme_port);
    inst = open_template(url);
    REQUIRE(inst != NULL);
    hub_call_begin(&call, inst, &conn);

    CHECK_EQ(SX_E_NOT_FOUND, h->state_get(&call.cx, "cursor.customers", &v));
    CHECK_EQ(SX_OK, h->state_set(&call.cx, "cursor.customers", SX_STR("a\0b")));
    CHECK_EQ(SX_OK, h->state_get(&call.cx, "cursor.customers", &v));
    CHECK_MEM_EQ("a\0b", 3, v.ptr, v.len);          /* binary-safe */
    CHECK_EQ(SX_E_INVALID, h->state_set(&call.cx, "", SX_STR("x")));

    CHECK_EQ(SX_OK, h->config_get(&call.cx, "base_url", &v));
    CHECK_MEM_EQ(url, strlen(url), v.ptr, v.len);
    CHECK_EQ(SX_E_NOT_FOUND, h->config_get(&call.cx, "nope", &v));

    CHECK_EQ(SX_E_PROTOCOL, h->json_parse(&call.cx, SX_STR("{\"a\":"), &doc));
    CHECK_EQ(SX_E_PROTOCOL, h->json_parse(&call.cx, SX_STR("{} trailing"), &doc));
    CHECK_EQ(SX_OK, h->json_parse(&call.cx, SX_STR("42"), &doc));
    CHECK_EQ(SX_OK, h->json_int64(doc, &ms));
    CHECK_EQ(42, ms);
    CHECK_EQ(SX_E_PROTOCOL, h->json_parse(&call.cx, SX_STR("4 2"), &doc));
    for (i = 0; i < 200; i++)
        deep[i] = '[';
    for (i = 200; i < 400; i++)
        deep[i] = ']';
    CHECK_EQ(SX_E_LIMIT, h->json_parse(&call.cx, (sx_str){ deep, 400 }, &doc));
    CHECK_EQ(SX_OK, h->json_parse(&call.cx, SX_STR("{\"n\":\"123\",\"b\":true,\"a\":[1,2]}"),
                                  &doc));
    CHECK_EQ(SX_OK, h->json_int64(h->json_get(doc, "n"), &ms));
    CHECK_EQ(123, ms);
    CHECK_EQ(2, h->json_length(h->json_get(doc, "a")));
    CHECK_EQ(SX_JSON_ABSENT, h->json_type(h->json_get(doc, "zz")));
    CHECK_EQ(SX_OK, h->json_text(&call.cx, h->json_get(doc, "a"), &t));
    CHECK_MEM_EQ("[1,2]", 5, t.ptr, t.len);

    CHECK_EQ(SX_OK, h->time_parse(SX_STR("2024-03-01T10:00:00-05:00"), &ms));
    CHECK_EQ(1709305200000LL, ms);
    CHECK_EQ(SX_OK, h->time_parse(SX_STR("2024-03-01T15:00:00.037339943Z"), &ms));
    CHECK_EQ(1709305200037LL, ms);
    CHECK_EQ(SX_OK, h->time_parse(SX_STR("2024-03-01 15:00:00"), &ms));
    CHECK_EQ(1709305200000LL, ms);
    CHECK_EQ(SX_E_INVALID, h->time_parse(SX_STR("2024-02-31T00:00:00Z"), &ms));
    CHECK_EQ(SX_E_INVALID, h->time_parse(SX_STR("yesterday"), &ms));
    CHECK_EQ(SX_OK, h->time_format(&call.cx, 1709305200000LL, &t));
    CHECK_MEM_EQ("2024-03-01T15:00:00Z", 20, t.ptr, t.len);

    /* Shopify's published webhook vector (shared/vectors/shopify.json). */
    CHECK_EQ(SX_OK, h->hmac_sha256(SX_STR("test_secret_key"), SX_STR("{\"foo\": \"bar\"}"), mac));
    CHECK_EQ(SX_OK, h->base64_encode(&call.cx, mac, 32, &t));
    CHECK_MEM_EQ("B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=", 44, t.ptr, t.len);
    CHECK_EQ(1, h->consttime_eq(SX_STR("abc"), SX_STR("abc")));
    CHECK_EQ(0, h->consttime_eq(SX_STR("abc"), SX_STR("abd")));

    /* A secret read through the table is redacted from every later log line. */
    CHECK_EQ(SX_OK, h->secret_get(&call.cx, "api_key", &v));
    fd = mkstemp(logpath);
    REQUIRE(fd >= 0);
    hub_log_set_fd(fd);
    h->log(&call.cx, SX_LOG_WARN, "calling with key %.*s", (int)v.len, v.ptr);
    hub_log_set_fd(2);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, logbuf, sizeof(logbuf) - 1);
    logbuf[n > 0 ? n : 0] = '\0';
    close(fd);
    unlink(logpath);
    CHECK_STR_HAS(logbuf, "calling with key [REDACTED]");
    CHECK(strstr(logbuf, API_KEY) == NULL);
    CHECK_STR_HAS(logbuf, "\"connector\":\"template\"");

    /* emit outside list() is refused with a reason. */
    CHECK_EQ(SX_E_UNSUPPORTED, h->emit(&call.cx, SX_ENTITY_CUSTOMER, SX_STR("{}")));
    CHECK_STR_HAS(call.err.msg, "emit() called outside list()");

    hub_call_end(&call);
    hub_instance_close(inst);
}

int
main(void)
{
    struct hub_error err;
    uint8_t          key[HUB_CRYPTO_KEY_LEN];
    size_t           loaded = 0, refused = 0;
    int              applied = 0;
    pthread_t        acme;
    char             sql[512];

    testdb_create(&db, "hostapi");
    REQUIRE(hub_db_connect(&conn, db.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(testdb_exec(&db, "INSERT INTO organizations (name) VALUES ('Org A')") == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "SELECT id, 'template', 'Acme' FROM organizations LIMIT 1");
    REQUIRE(testdb_exec(&db, sql) == 0);
    integration_id = testdb_scalar(&db, "SELECT max(id) FROM integrations");
    REQUIRE(integration_id > 0);

    memset(key, 7, sizeof(key));
    REQUIRE(hub_crypto_keyring_add(&keys, "k1", key, 1, &err) == 0);
    REQUIRE(hub_http_global_init(&err) == 0);
    memset(&rt, 0, sizeof(rt));
    REQUIRE(hub_http_client_new(NULL, &rt.http, &err) == 0);
    REQUIRE(hub_rate_registry_new(NULL, NULL, &rt.rates, &err) == 0);
    rt.keys = &keys;
    hub_plugins_init(&plugins);
    REQUIRE(hub_plugins_load_dir(&plugins, SX_PLUGIN_DIR, &loaded, &refused, &err) == 0);
    REQUIRE(loaded >= 1);
    acme = acme_start();

    RUN_TEST(test_secret_sealed_at_rest);
    RUN_TEST(test_connection_and_auth);
    RUN_TEST(test_list_pages_cursor_and_retry);
    RUN_TEST(test_transport_failures);
    RUN_TEST(test_services_in_a_call);

    event_base_loopbreak(acme_base);
    pthread_join(acme, NULL);
    evhttp_free(acme_http);
    event_base_free(acme_base);
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
