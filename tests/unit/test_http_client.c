/*
 * HTTP client and retry tests against a real HTTP server: libevent evhttp on 127.0.0.1, on a
 * port the kernel picks (bind to port 0), running on its own thread inside this process.
 *
 * Server paths:
 *   /echo                 200, echoes method, X-Test, Content-Type and body; call-limit 39/40
 *   /big?n=N[&chunked=1]  N bytes ('a'), with Content-Length or chunked
 *   /many?n=N             N extra response headers
 *   /slow?ms=M            answers after M ms
 *   /status?key=K&code=C&fail=F[&ra=V]
 *                         the first F calls for key K answer C (with Retry-After V), then 200;
 *                         arrival times per key are recorded
 */
#include "check.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/log.h"
#include "net/http_client.h"
#include "net/ratelimit.h"
#include "net/retry.h"

#include <simplix/sx_util.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the server ---------------------------------------------------------------------------- */

#define MAX_KEYS     32
#define MAX_ARRIVALS 16

struct key_stat {
    char    key[32];
    int     calls;
    int64_t arrival_ms[MAX_ARRIVALS];
};

static struct {
    struct event_base *base;
    struct evhttp     *http;
    pthread_t          thread;
    int                port;
    pthread_mutex_t    mu;
    struct key_stat    keys[MAX_KEYS];
    atomic_int         slow_pending;
    /* /shop: a Shopify-style leaky bucket (capacity 5, leaks 10/s) */
    double             shop_level;
    int64_t            shop_at;
    int                shop_ok;
    int                shop_429;
} srv;

#define SHOP_CAPACITY 5
#define SHOP_LEAK_PER_S 10.0

static int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long
param_long(struct evkeyvalq *q, const char *name, long dflt)
{
    const char *v = evhttp_find_header(q, name);
    char       *end;
    long        n;

    if (v == NULL)
        return dflt;
    n = strtol(v, &end, 10);
    return *end == '\0' ? n : dflt;
}

/* Count a call for `key`; returns the number of calls including this one. */
static int
key_hit(const char *key)
{
    int i, n = 0;

    pthread_mutex_lock(&srv.mu);
    for (i = 0; i < MAX_KEYS; i++) {
        if (srv.keys[i].key[0] == '\0')
            snprintf(srv.keys[i].key, sizeof(srv.keys[i].key), "%s", key);
        if (strcmp(srv.keys[i].key, key) == 0) {
            if (srv.keys[i].calls < MAX_ARRIVALS)
                srv.keys[i].arrival_ms[srv.keys[i].calls] = mono_ms();
            n = ++srv.keys[i].calls;
            break;
        }
    }
    pthread_mutex_unlock(&srv.mu);
    return n;
}

static int
key_calls(const char *key, int64_t *arrivals, int max)
{
    int i, j, n = 0;

    pthread_mutex_lock(&srv.mu);
    for (i = 0; i < MAX_KEYS; i++) {
        if (strcmp(srv.keys[i].key, key) == 0) {
            n = srv.keys[i].calls;
            for (j = 0; arrivals != NULL && j < n && j < max && j < MAX_ARRIVALS; j++)
                arrivals[j] = srv.keys[i].arrival_ms[j];
            break;
        }
    }
    pthread_mutex_unlock(&srv.mu);
    return n;
}

static void
slow_reply(evutil_socket_t fd, short what, void *arg)
{
    struct evhttp_request *req = arg;
    struct evbuffer       *b = evbuffer_new();

    (void)fd;
    (void)what;
    evbuffer_add_printf(b, "slow");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
    atomic_fetch_sub(&srv.slow_pending, 1);
}

static void
on_request(struct evhttp_request *req, void *arg)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char              *path = evhttp_uri_get_path(uri);
    const char              *query = evhttp_uri_get_query(uri);
    struct evkeyvalq        *out = evhttp_request_get_output_headers(req);
    struct evkeyvalq        *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq         q;
    struct evbuffer         *b = evbuffer_new();
    struct evbuffer         *body_in = evhttp_request_get_input_buffer(req);
    const char              *v;
    long                     n, i, code, fail;
    int                      calls;
    char                     name[32];

    (void)arg;
    /* initialises q even for an empty query */
    evhttp_parse_query_str(query != NULL ? query : "", &q);
    if (path == NULL)
        path = "/";

    if (strcmp(path, "/echo") == 0) {
        static const char *methods[] = { "GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS",
                                         "TRACE", "CONNECT", "PATCH" };
        enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
        const char          *mname = "?";

        for (i = 0; i < 9; i++) {
            if (cmd == (enum evhttp_cmd_type)(1 << i))
                mname = methods[i];
        }
        evbuffer_add_printf(b, "method=%s\n", mname);
        v = evhttp_find_header(in, "X-Test");
        evbuffer_add_printf(b, "x-test=%s\n", v != NULL ? v : "(none)");
        v = evhttp_find_header(in, "Content-Type");
        evbuffer_add_printf(b, "content-type=%s\n", v != NULL ? v : "(none)");
        v = evhttp_find_header(in, "Content-Length");
        evbuffer_add_printf(b, "content-length=%s\n", v != NULL ? v : "(none)");
        evbuffer_add_printf(b, "query=%s\nbody=", query != NULL ? query : "");
        evbuffer_add_buffer(b, body_in);
        v = evhttp_find_header(in, "X-Test");
        evhttp_add_header(out, "X-Echo-Test", v != NULL ? v : "");
        evhttp_add_header(out, "X-Shopify-Shop-Api-Call-Limit", "39/40");
        evhttp_send_reply(req, 200, "OK", b);
    } else if (strcmp(path, "/shop") == 0) {
        int64_t now = mono_ms();
        int     over;
        char    cl[32];

        pthread_mutex_lock(&srv.mu);
        if (srv.shop_at != 0)
            srv.shop_level -= (double)(now - srv.shop_at) * SHOP_LEAK_PER_S / 1000.0;
        if (srv.shop_level < 0)
            srv.shop_level = 0;
        srv.shop_at = now;
        over = srv.shop_level + 1.0 > SHOP_CAPACITY + 1e-9;
        if (over)
            srv.shop_429++;
        else {
            srv.shop_level += 1.0;
            srv.shop_ok++;
        }
        /* reported rounded down, the least favourable reading for the client */
        snprintf(cl, sizeof(cl), "%d/%d", (int)srv.shop_level, SHOP_CAPACITY);
        pthread_mutex_unlock(&srv.mu);
        evhttp_add_header(out, "X-Shopify-Shop-Api-Call-Limit", cl);
        if (over) {
            evhttp_add_header(out, "Retry-After", "1.0");
            evbuffer_add_printf(b, "{\"errors\":\"Exceeded 2 calls per second\"}");
            evhttp_send_reply(req, 429, "Too Many Requests", b);
        } else {
            evbuffer_add_printf(b, "{\"orders\":[]}");
            evhttp_send_reply(req, 200, "OK", b);
        }
    } else if (strcmp(path, "/big") == 0) {
        n = param_long(&q, "n", 0);
        for (i = 0; i < n; i++)
            evbuffer_add(b, "a", 1);
        if (param_long(&q, "chunked", 0)) {
            evhttp_send_reply_start(req, 200, "OK");
            evhttp_send_reply_chunk(req, b);
            evhttp_send_reply_end(req);
        } else {
            evhttp_send_reply(req, 200, "OK", b);
        }
    } else if (strcmp(path, "/many") == 0) {
        n = param_long(&q, "n", 0);
        for (i = 0; i < n; i++) {
            snprintf(name, sizeof(name), "X-H-%ld", i);
            evhttp_add_header(out, name, "v");
        }
        evhttp_send_reply(req, 200, "OK", b);
    } else if (strcmp(path, "/slow") == 0) {
        struct timeval tv;

        n = param_long(&q, "ms", 100);
        tv.tv_sec = n / 1000;
        tv.tv_usec = (n % 1000) * 1000;
        atomic_fetch_add(&srv.slow_pending, 1);
        event_base_once(srv.base, -1, EV_TIMEOUT, slow_reply, req, &tv);
    } else if (strcmp(path, "/status") == 0) {
        v = evhttp_find_header(&q, "key");
        calls = key_hit(v != NULL ? v : "default");
        code = param_long(&q, "code", 500);
        fail = param_long(&q, "fail", 1);
        if (calls <= fail) {
            v = evhttp_find_header(&q, "ra");
            if (v != NULL)
                evhttp_add_header(out, "Retry-After", v);
            evbuffer_add_printf(b, "{\"errors\":\"failing %d of %ld\"}", calls, fail);
            evhttp_send_reply(req, (int)code, "Failing", b);
        } else {
            evbuffer_add_printf(b, "ok after %d", calls);
            evhttp_send_reply(req, 200, "OK", b);
        }
    } else {
        evhttp_send_reply(req, 404, "Not Found", b);
    }
    evhttp_clear_headers(&q);
    evbuffer_free(b);
}

static void *
server_main(void *arg)
{
    (void)arg;
    event_base_dispatch(srv.base);
    return NULL;
}

static void
server_start(void)
{
    struct evhttp_bound_socket *bs;
    struct sockaddr_in          sin;
    socklen_t                   slen = sizeof(sin);

    REQUIRE(evthread_use_pthreads() == 0);
    pthread_mutex_init(&srv.mu, NULL);
    srv.base = event_base_new();
    REQUIRE(srv.base != NULL);
    srv.http = evhttp_new(srv.base);
    REQUIRE(srv.http != NULL);
    evhttp_set_allowed_methods(srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(srv.http, on_request, NULL);
    bs = evhttp_bind_socket_with_handle(srv.http, "127.0.0.1", 0);
    REQUIRE(bs != NULL);
    REQUIRE(getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &slen) == 0);
    srv.port = ntohs(sin.sin_port);
    REQUIRE(pthread_create(&srv.thread, NULL, server_main, NULL) == 0);
}

static void
server_stop(void)
{
    int64_t until = mono_ms() + 5000;

    /* let delayed replies go out, so no request is left half-answered */
    while (atomic_load(&srv.slow_pending) > 0 && mono_ms() < until)
        usleep(10000);
    event_base_loopbreak(srv.base);
    pthread_join(srv.thread, NULL);
    evhttp_free(srv.http);
    event_base_free(srv.base);
    pthread_mutex_destroy(&srv.mu);
}

/* A port nobody listens on: bind, read the port, close. */
static int
dead_port(void)
{
    struct sockaddr_in sin;
    socklen_t          slen = sizeof(sin);
    int                fd, port;

    fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&sin, &slen) == 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static struct hub_http_client *client;
static char                    urlbuf[8][256];
static int                     urlslot;

static sx_str
url(const char *path_and_query)
{
    char *u = urlbuf[urlslot++ % 8];

    snprintf(u, sizeof(urlbuf[0]), "http://127.0.0.1:%d%s", srv.port, path_and_query);
    return sx_cstr(u);
}

static struct hub_http_req
req_get(const char *path)
{
    struct hub_http_req r;

    memset(&r, 0, sizeof(r));
    r.method = HUB_HTTP_GET;
    r.url = url(path);
    return r;
}

/* A fast policy for tests: small backoff, few attempts. */
static struct hub_retry_policy
fast_policy(void)
{
    struct hub_retry_policy p;

    memset(&p, 0, sizeof(p));
    p.max_attempts = 3;
    p.base_ms = 10;
    p.cap_ms = 50;
    p.total_timeout_ms = 10000;
    return p;
}

/* ---- exchange ------------------------------------------------------------------------------ */

static void
test_get_post(void)
{
    struct hub_arena     a;
    struct hub_http_req  r = req_get("/echo");
    struct hub_http_resp resp;
    struct hub_error     err;
    sx_http_header       h[2] = { { SX_STR("X-Test"), SX_STR("hello world") },
                                  { SX_STR("X-Empty"), SX_STR("") } };
    sx_str               v;

    hub_arena_init(&a, 0);
    r.headers = h;
    r.n_headers = 2;
    r.query = sx_cstr("a=1&b=two");
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(200, resp.status);
    CHECK_STR_HAS(resp.body.ptr, "method=GET\n");
    CHECK_STR_HAS(resp.body.ptr, "x-test=hello world\n");
    CHECK_STR_HAS(resp.body.ptr, "query=a=1&b=two\n");
    CHECK_EQ(strlen(resp.body.ptr), resp.body.len);
    CHECK_EQ(0, hub_http_resp_header(&resp, "x-echo-test", &v));      /* case-insensitive */
    CHECK_MEM_EQ("hello world", 11, v.ptr, v.len);
    CHECK_EQ(0, hub_http_resp_header(&resp, "X-SHOPIFY-SHOP-API-CALL-LIMIT", &v));
    CHECK_MEM_EQ("39/40", 5, v.ptr, v.len);
    CHECK_EQ(HUB_E_NOT_FOUND, hub_http_resp_header(&resp, "X-Absent", &v));
    CHECK(resp.n_headers >= 3);
    CHECK(resp.timing.total_us > 0);
    CHECK(resp.timing.first_byte_us <= resp.timing.total_us);
    CHECK_EQ(1, resp.request_sent);

    /* POST with a JSON body: Content-Type defaults to application/json */
    r.method = HUB_HTTP_POST;
    r.query = SX_STR_NULL;
    r.body = SX_STR("{\"customer\":{\"email\":\"a@b.c\"}}");
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(resp.body.ptr, "method=POST\n");
    CHECK_STR_HAS(resp.body.ptr, "content-type=application/json\n");
    CHECK_STR_HAS(resp.body.ptr, "body={\"customer\":{\"email\":\"a@b.c\"}}");

    /* form body with an explicit content type */
    r.body = SX_STR("grant_type=authorization_code&code=x");
    r.content_type = SX_STR("application/x-www-form-urlencoded");
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(resp.body.ptr, "content-type=application/x-www-form-urlencoded\n");

    /* PUT without a body still says Content-Length: 0; DELETE; PATCH */
    memset(&r, 0, sizeof(r));
    r.method = HUB_HTTP_PUT;
    r.url = url("/echo");
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(resp.body.ptr, "method=PUT\n");
    CHECK_STR_HAS(resp.body.ptr, "content-length=0\n");
    r.method = HUB_HTTP_DELETE;
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(resp.body.ptr, "method=DELETE\n");
    r.method = HUB_HTTP_PATCH;
    r.body = SX_STR("{}");
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(resp.body.ptr, "method=PATCH\n");
    r.method = HUB_HTTP_HEAD;
    r.body = SX_STR_NULL;
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(200, resp.status);
    CHECK_EQ(0, resp.body.len);
    hub_arena_destroy(&a);
}

static void
test_status_mapping(void)
{
    static const struct { int status, code; } map[] = {
        { 200, 0 }, { 201, 0 }, { 204, 0 }, { 301, 0 }, { 304, 0 },
        { 400, HUB_E_REJECTED }, { 401, HUB_E_AUTH }, { 403, HUB_E_AUTH },
        { 404, HUB_E_NOT_FOUND }, { 410, HUB_E_NOT_FOUND }, { 408, HUB_E_TRANSIENT },
        { 409, HUB_E_CONFLICT }, { 422, HUB_E_REJECTED }, { 429, HUB_E_RATE_LIMITED },
        { 500, HUB_E_TRANSIENT }, { 501, HUB_E_UNSUPPORTED }, { 502, HUB_E_TRANSIENT },
        { 503, HUB_E_TRANSIENT }, { 504, HUB_E_TRANSIENT }, { 600, HUB_E_PROTOCOL },
        { 0, HUB_E_PROTOCOL }
    };
    struct hub_arena     a;
    struct hub_http_req  r;
    struct hub_http_resp resp;
    struct hub_error     err;
    size_t               i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        CHECK_EQ(map[i].code, hub_http_status_code(map[i].status));

    /* real responses: code, status and body kept, message readable */
    hub_arena_init(&a, 0);
    r = req_get("/status?key=map401&code=401&fail=1");
    CHECK_EQ(HUB_E_AUTH, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(401, resp.status);
    CHECK_STR_HAS(resp.body.ptr, "failing 1 of 1");
    CHECK_STR_HAS(err.msg, "HTTP 401");
    CHECK_STR_HAS(err.msg, "/status");
    CHECK(strstr(err.msg, "key=map401") == NULL);           /* no query in messages */
    r = req_get("/status?key=map422&code=422&fail=1");
    CHECK_EQ(HUB_E_REJECTED, hub_http_exchange(client, &r, &a, &resp, &err));
    r = req_get("/nowhere");
    CHECK_EQ(HUB_E_NOT_FOUND, hub_http_exchange(client, &r, &a, &resp, &err));
    r = req_get("/status?key=map503&code=503&fail=1");
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(503, resp.status);
    hub_arena_destroy(&a);
}

static void
test_size_caps(void)
{
    struct hub_http_client_opts o;
    struct hub_http_client     *small;
    struct hub_arena            a;
    struct hub_http_req         r;
    struct hub_http_resp        resp;
    struct hub_error            err;

    hub_arena_init(&a, 0);
    /* exactly at the cap: fine */
    r = req_get("/big?n=1000");
    r.max_body = 1000;
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(1000, resp.body.len);
    /* one byte over, with Content-Length: refused before reading */
    r = req_get("/big?n=1001");
    r.max_body = 1000;
    CHECK_EQ(HUB_E_LIMIT, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "refused, not truncated");
    CHECK_EQ(0, resp.body.len);
    /* chunked (no length known): refused while reading, never cut */
    r = req_get("/big?n=100000&chunked=1");
    r.max_body = 1000;
    CHECK_EQ(HUB_E_LIMIT, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "over 1000 bytes");
    CHECK_EQ(0, resp.body.len);
    r = req_get("/big?n=100000&chunked=1");
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(100000, resp.body.len);

    /* header count and header bytes */
    memset(&o, 0, sizeof(o));
    o.max_headers = 20;
    o.max_header_bytes = 4096;
    REQUIRE(hub_http_client_new(&o, &small, &err) == 0);
    r = req_get("/many?n=10");
    CHECK_EQ(0, hub_http_exchange(small, &r, &a, &resp, &err));
    r = req_get("/many?n=30");
    CHECK_EQ(HUB_E_LIMIT, hub_http_exchange(small, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "more than 20 response headers");
    o.max_headers = 1000;
    o.max_header_bytes = 2048;
    hub_http_client_free(small);
    REQUIRE(hub_http_client_new(&o, &small, &err) == 0);
    r = req_get("/many?n=300");
    CHECK_EQ(HUB_E_LIMIT, hub_http_exchange(small, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "headers over 2048 bytes");
    hub_http_client_free(small);

    /* the caller's arena cap is honoured too */
    hub_arena_destroy(&a);
    hub_arena_init(&a, 64 * 1024);
    r = req_get("/big?n=200000");
    CHECK_EQ(HUB_E_NOMEM, hub_http_exchange(client, &r, &a, &resp, &err));
    hub_arena_destroy(&a);
}

static void
test_timeout_and_refused(void)
{
    struct hub_arena     a;
    struct hub_http_req  r;
    struct hub_http_resp resp;
    struct hub_error     err;
    char                 u[128];
    int64_t              t0, dt;

    hub_arena_init(&a, 0);
    r = req_get("/slow?ms=1500");
    r.timeout_ms = 200;
    t0 = mono_ms();
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_exchange(client, &r, &a, &resp, &err));
    dt = mono_ms() - t0;
    fprintf(stderr, "  timeout 200 ms: returned after %lld ms: %s\n", (long long)dt, err.msg);
    CHECK_GE(dt, 190);
    CHECK_LE(dt, 1000);
    CHECK_EQ(0, resp.status);
    CHECK_EQ(1, resp.request_sent);          /* connected and sent: may have been processed */
    CHECK_STR_HAS(err.msg, "/slow");

    snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", dead_port());
    memset(&r, 0, sizeof(r));
    r.method = HUB_HTTP_POST;
    r.url = sx_cstr(u);
    r.body = SX_STR("{}");
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_EQ(0, resp.status);
    CHECK_EQ(0, resp.request_sent);          /* refused: provably never sent */
    fprintf(stderr, "  refused: %s\n", err.msg);
    hub_arena_destroy(&a);
}

static void
test_invalid_requests(void)
{
    struct hub_http_client_opts o;
    struct hub_http_client     *strict;
    struct hub_arena            a;
    struct hub_http_req         r;
    struct hub_http_resp        resp;
    struct hub_error            err;
    sx_http_header              inj = { SX_STR("X-Test"), SX_STR("a\r\nX-Evil: 1") };
    sx_http_header              badname = { SX_STR("X Bad"), SX_STR("v") };
    sx_http_header              tok = { SX_STR("X-Shopify-Access-Token"), SX_STR("shpat_x") };

    hub_arena_init(&a, 0);
    r = req_get("/echo");
    r.headers = &inj;
    r.n_headers = 1;
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "CR, LF or NUL");
    r.headers = &badname;
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));
    r = req_get("/echo");
    r.url = SX_STR("ftp://127.0.0.1/x");
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));
    r.url = SX_STR("/relative/path");
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));
    r.url = SX_STR("http://127.0.0.1/a b");
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));
    r = req_get("/echo");
    r.headers = &tok;
    r.n_headers = 1;
    r.flags = HUB_HTTP_FOLLOW_REDIRECTS;
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "credential");
    CHECK(strstr(err.msg, "shpat_") == NULL);
    r.flags = 0;
    CHECK_EQ(0, hub_http_exchange(client, &r, &a, &resp, &err));
    r = req_get("/echo");
    r.method = 99;
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(client, &r, &a, &resp, &err));

    /* https only refuses plain http; a bad CA bundle is a TLS error, not a retryable one */
    memset(&o, 0, sizeof(o));
    o.https_only = 1;
    o.ca_file = "/nonexistent/ca.pem";
    REQUIRE(hub_http_client_new(&o, &strict, &err) == 0);
    r = req_get("/echo");
    CHECK_EQ(HUB_E_INVALID, hub_http_exchange(strict, &r, &a, &resp, &err));
    CHECK_STR_HAS(err.msg, "https only");
    {
        char u[128];

        snprintf(u, sizeof(u), "https://127.0.0.1:%d/echo", srv.port);
        r.url = sx_cstr(u);
        CHECK_EQ(HUB_E_CRYPTO, hub_http_exchange(strict, &r, &a, &resp, &err));
        CHECK_EQ(0, resp.request_sent);
        fprintf(stderr, "  bad CA: %s\n", err.msg);
    }
    hub_http_client_free(strict);
    hub_arena_destroy(&a);
}

/* ---- retries --------------------------------------------------------------------------------- */

static void
test_retry_5xx_then_success(void)
{
    struct hub_retry_policy p = fast_policy();
    struct hub_arena        a;
    struct hub_http_req     r = req_get("/status?key=flaky&code=503&fail=2");
    struct hub_http_resp    resp;
    struct hub_error        err;

    hub_arena_init(&a, 0);
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(200, resp.status);
    CHECK_EQ(3, resp.attempts);
    CHECK_EQ(3, key_calls("flaky", NULL, 0));
    CHECK_STR_HAS(resp.body.ptr, "ok after 3");
    CHECK_LE(resp.backoff_ms, 10 + 20);

    /* always failing: gives up after max_attempts with the last status */
    r = req_get("/status?key=down&code=502&fail=100");
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(502, resp.status);
    CHECK_EQ(3, resp.attempts);
    CHECK_EQ(3, key_calls("down", NULL, 0));
    CHECK_STR_HAS(err.msg, "after 3 attempts");

    /* not retryable: one attempt */
    r = req_get("/status?key=gone&code=404&fail=100");
    CHECK_EQ(HUB_E_NOT_FOUND, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(1, resp.attempts);
    CHECK_EQ(1, key_calls("gone", NULL, 0));

    /* NO_RETRY: one attempt */
    r = req_get("/status?key=noretry&code=503&fail=100");
    r.flags = HUB_HTTP_NO_RETRY;
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(1, key_calls("noretry", NULL, 0));
    hub_arena_destroy(&a);
}

static void
test_retry_429_retry_after(void)
{
    struct hub_retry_policy   p = fast_policy();
    struct hub_rate_registry *reg;
    struct hub_rate_limiter  *lim;
    struct hub_rate_state     st;
    struct hub_arena          a;
    struct hub_http_req       r;
    struct hub_http_resp      resp;
    struct hub_error          err;
    int64_t                   arr[4], t0, gap;

    hub_arena_init(&a, 0);
    /* without a limiter: this thread sleeps the Retry-After (fractional, Shopify style) */
    r = req_get("/status?key=ra1&code=429&fail=1&ra=0.3");
    t0 = mono_ms();
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(2, resp.attempts);
    CHECK_EQ(300, resp.retry_after_ms);
    CHECK_EQ(300, resp.backoff_ms);
    CHECK_EQ(0, resp.retry_after_capped);
    CHECK_EQ(2, key_calls("ra1", arr, 4));
    gap = arr[1] - arr[0];
    fprintf(stderr, "  429 Retry-After 0.3 (no limiter): server saw the retry %lld ms later, "
            "call took %lld ms\n", (long long)gap, (long long)(mono_ms() - t0));
    CHECK_GE(gap, 295);
    CHECK_LE(gap, 800);

    /* with a limiter: the account is paused, the wait happens in acquire */
    REQUIRE(hub_rate_registry_new(NULL, NULL, &reg, &err) == 0);
    r = req_get("/status?key=ra2&code=429&fail=1&ra=1");
    CHECK_EQ(0, hub_http_send(client, reg, "shopify:ra.myshopify.com", &r, &p, &a, &resp, &err));
    CHECK_EQ(2, resp.attempts);
    CHECK_EQ(1000, resp.retry_after_ms);
    CHECK_EQ(0, resp.backoff_ms);
    CHECK_GE(resp.rate_waited_ms, 990);
    CHECK_EQ(2, key_calls("ra2", arr, 4));
    gap = arr[1] - arr[0];
    fprintf(stderr, "  429 Retry-After 1 (limiter): waited %lld ms in the limiter, server gap "
            "%lld ms\n", (long long)resp.rate_waited_ms, (long long)gap);
    CHECK_GE(gap, 995);
    CHECK_LE(gap, 1500);
    lim = hub_rate_get(reg, "shopify:ra.myshopify.com", &err);
    REQUIRE(lim != NULL);
    hub_rate_snapshot(lim, &st, NULL);
    CHECK(st.blocked_until_ms > 0);

    /* Retry-After above the policy maximum: capped and reported */
    p.max_retry_after_ms = 150;
    r = req_get("/status?key=ra3&code=429&fail=1&ra=3600");
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(1, resp.retry_after_capped);
    CHECK_EQ(150, resp.retry_after_ms);
    CHECK_EQ(2, key_calls("ra3", arr, 4));
    CHECK_GE(arr[1] - arr[0], 145);
    CHECK_LE(arr[1] - arr[0], 700);

    /* absent or garbage Retry-After: own backoff (bounded by cap 50 ms) */
    p.max_retry_after_ms = 0;
    r = req_get("/status?key=ra4&code=429&fail=2");
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(3, resp.attempts);
    CHECK_EQ(-1, resp.retry_after_ms);
    CHECK_LE(resp.backoff_ms, 10 + 20);
    r = req_get("/status?key=ra5&code=429&fail=1&ra=soon");
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(2, resp.attempts);
    CHECK_EQ(-1, resp.retry_after_ms);

    /* 503 with Retry-After is honoured too */
    r = req_get("/status?key=ra6&code=503&fail=1&ra=0.2");
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(200, resp.retry_after_ms);

    /* a Retry-After beyond the total deadline: give up now instead of sleeping in vain */
    p.total_timeout_ms = 500;
    r = req_get("/status?key=ra7&code=429&fail=5&ra=5");
    t0 = mono_ms();
    CHECK_EQ(HUB_E_RATE_LIMITED, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_LE(mono_ms() - t0, 400);
    CHECK_EQ(1, resp.attempts);
    CHECK_EQ(429, resp.status);
    CHECK_STR_HAS(err.msg, "deadline");
    /* with the limiter, giving up still pauses the account, and the next call on it
     * refuses at once instead of waiting past its deadline */
    r = req_get("/status?key=ra8&code=429&fail=5&ra=5");
    CHECK_EQ(HUB_E_RATE_LIMITED, hub_http_send(client, reg, "woo:paused", &r, &p, &a, &resp,
                                               &err));
    CHECK_EQ(1, key_calls("ra8", NULL, 0));
    r = req_get("/echo");
    t0 = mono_ms();
    CHECK_EQ(HUB_E_RATE_LIMITED, hub_http_send(client, reg, "woo:paused", &r, &p, &a, &resp,
                                               &err));
    CHECK_LE(mono_ms() - t0, 200);
    CHECK_EQ(0, resp.attempts);
    CHECK_EQ(0, resp.status);
    CHECK_STR_HAS(err.msg, "after the deadline");
    hub_rate_registry_free(reg);
    hub_arena_destroy(&a);
}

static void
test_non_idempotent(void)
{
    struct hub_retry_policy p = fast_policy();
    struct hub_arena        a;
    struct hub_http_req     r;
    struct hub_http_resp    resp;
    struct hub_error        err;
    char                    u[128];

    hub_arena_init(&a, 0);
    memset(&r, 0, sizeof(r));
    r.method = HUB_HTTP_POST;
    r.url = url("/status?key=create&code=500&fail=100");
    r.body = SX_STR("{\"order\":{}}");
    r.flags = HUB_HTTP_NON_IDEMPOTENT;
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(1, resp.attempts);
    CHECK_EQ(1, key_calls("create", NULL, 0));
    CHECK_STR_HAS(err.msg, "not retried");

    /* a 429 is a refusal before processing: even a create is sent again */
    r.url = url("/status?key=create429&code=429&fail=1&ra=0");
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(2, key_calls("create429", NULL, 0));

    /* a timeout after sending: not repeated */
    r.url = url("/slow?ms=600");
    r.timeout_ms = 100;
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(1, resp.attempts);
    r.timeout_ms = 0;

    /* the same idempotent request is retried */
    r.url = url("/status?key=update&code=500&fail=100");
    r.flags = 0;
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(3, key_calls("update", NULL, 0));

    /* refused connections never reached anyone: retried even when non-idempotent */
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", dead_port());
    r.url = sx_cstr(u);
    r.flags = HUB_HTTP_NON_IDEMPOTENT;
    CHECK_EQ(HUB_E_TRANSIENT, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    CHECK_EQ(3, resp.attempts);
    CHECK_STR_HAS(err.msg, "after 3 attempts");
    hub_arena_destroy(&a);
}

static void
test_call_limit_feeds_limiter(void)
{
    struct hub_retry_policy   p = fast_policy();
    struct hub_rate_registry *reg;
    struct hub_rate_limiter  *lim;
    struct hub_rate_policy    rp = { HUB_RATE_LEAKY, 40, 2000, 0, 0 };
    struct hub_rate_state     st;
    struct hub_arena          a;
    struct hub_http_req       r = req_get("/echo");
    struct hub_http_resp      resp;
    struct hub_error          err;
    uint32_t                  in_flight = 99;

    hub_arena_init(&a, 0);
    REQUIRE(hub_rate_registry_new(NULL, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "shopify:cl.myshopify.com", &rp, &err) == 0);
    p.call_limit_header = "X-Shopify-Shop-Api-Call-Limit";
    CHECK_EQ(0, hub_http_send(client, reg, "shopify:cl.myshopify.com", &r, &p, &a, &resp, &err));
    lim = hub_rate_get(reg, "shopify:cl.myshopify.com", &err);
    REQUIRE(lim != NULL);
    hub_rate_snapshot(lim, &st, &in_flight);
    CHECK_EQ(0, in_flight);                                 /* released */
    CHECK_GE(hub_rate_state_level(&st, hub_clock_system()->now_ms(NULL)), 39);
    hub_rate_registry_free(reg);
    hub_arena_destroy(&a);
}

/* Retries are logged; secrets in headers and the query never are. */
static void
test_retry_log_has_no_secrets(void)
{
    struct hub_retry_policy p = fast_policy();
    struct hub_arena        a;
    struct hub_http_req     r;
    struct hub_http_resp    resp;
    struct hub_error        err;
    sx_http_header          h[3] = {
        { SX_STR("Authorization"), SX_STR("Bearer sekr1t-bearer-value") },
        { SX_STR("X-Shopify-Access-Token"), SX_STR("shpat_0123456789abcdef") },
        { SX_STR("X-Test"), SX_STR("harmless") }
    };
    char                    path[] = "/tmp/test_http_log_XXXXXX";
    char                    logtext[16384];
    ssize_t                 n;
    int                     fd;

    fd = mkstemp(path);
    REQUIRE(fd >= 0);
    unlink(path);
    hub_log_set_fd(fd);
    hub_arena_init(&a, 0);
    r = req_get("/status?key=logged&code=503&fail=1&consumer_secret=cs_query_secret");
    r.headers = h;
    r.n_headers = 3;
    CHECK_EQ(0, hub_http_send(client, NULL, NULL, &r, &p, &a, &resp, &err));
    hub_log_set_fd(2);
    REQUIRE(lseek(fd, 0, SEEK_SET) == 0);
    n = read(fd, logtext, sizeof(logtext) - 1);
    close(fd);
    REQUIRE(n > 0);
    logtext[n] = '\0';
    CHECK_STR_HAS(logtext, "retry in");
    CHECK_STR_HAS(logtext, "/status");
    CHECK(strstr(logtext, "sekr1t") == NULL);
    CHECK(strstr(logtext, "shpat_") == NULL);
    CHECK(strstr(logtext, "cs_query_secret") == NULL);
    CHECK(strstr(logtext, "harmless") == NULL);
    hub_arena_destroy(&a);
}

/* Paced end to end, in real time: the server keeps a leaky bucket of 5 leaking 10/s and
 * answers 429 past it; the client's limiter knows the policy and reads the call-limit
 * header. A serial backfill must see no 429 and take about (n - 5) / 10 s. */
static void
test_paced_backfill_real_http(void)
{
    struct hub_retry_policy   p = fast_policy();
    struct hub_rate_registry *reg;
    struct hub_rate_policy    rp = { HUB_RATE_LEAKY, SHOP_CAPACITY, 10000, 0, 0 };
    struct hub_arena          a;
    struct hub_http_req       r = req_get("/shop");
    struct hub_http_resp      resp;
    struct hub_error          err;
    int64_t                   t0, elapsed, minimum;
    int                       i, n = 30, failures = 0;

    REQUIRE(hub_rate_registry_new(NULL, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "shopify:paced.myshopify.com", &rp, &err) == 0);
    p.call_limit_header = "X-Shopify-Shop-Api-Call-Limit";
    p.max_attempts = 1;                 /* a 429 would show as a failure, not be hidden */
    pthread_mutex_lock(&srv.mu);
    srv.shop_level = 0;
    srv.shop_at = 0;
    srv.shop_ok = 0;
    srv.shop_429 = 0;
    pthread_mutex_unlock(&srv.mu);
    t0 = mono_ms();
    for (i = 0; i < n; i++) {
        hub_arena_init(&a, 0);
        if (hub_http_send(client, reg, "shopify:paced.myshopify.com", &r, &p, &a, &resp,
                          &err) != 0)
            failures++;
        hub_arena_destroy(&a);
    }
    elapsed = mono_ms() - t0;
    minimum = (int64_t)(n - SHOP_CAPACITY) * 100;
    fprintf(stderr, "  real-time backfill: %d requests, %d x 429, %lld ms (minimum %lld ms, "
            "ratio %.3f)\n", n, srv.shop_429, (long long)elapsed, (long long)minimum,
            (double)elapsed / (double)minimum);
    CHECK_EQ(0, failures);
    CHECK_EQ(0, srv.shop_429);
    CHECK_EQ(n, srv.shop_ok);
    CHECK_GE(elapsed, minimum - 20);
    CHECK_LE(elapsed, minimum * 3 / 2);
    hub_rate_registry_free(reg);
}

/* One client and one limiter shared by many threads: the handle pool and the concurrency
 * cap hold up, every request succeeds. */
struct mt_ctx {
    struct hub_rate_registry *reg;
    atomic_int                ok;
    atomic_int                failed;
};

static void *
mt_worker(void *arg)
{
    struct mt_ctx          *c = arg;
    struct hub_retry_policy p = fast_policy();
    struct hub_arena        a;
    struct hub_http_req     r;
    struct hub_http_resp    resp;
    struct hub_error        err;
    char                    u[128];
    int                     i;

    snprintf(u, sizeof(u), "http://127.0.0.1:%d/echo", srv.port);
    memset(&r, 0, sizeof(r));
    r.method = HUB_HTTP_POST;
    r.url = sx_cstr(u);
    r.body = SX_STR("{\"n\":1}");
    for (i = 0; i < 25; i++) {
        hub_arena_init(&a, 0);
        if (hub_http_send(client, c->reg, "woocommerce:mt.example", &r, &p, &a, &resp,
                          &err) == 0 && strstr(resp.body.ptr, "body={\"n\":1}") != NULL)
            atomic_fetch_add(&c->ok, 1);
        else
            atomic_fetch_add(&c->failed, 1);
        hub_arena_destroy(&a);
    }
    return NULL;
}

static void
test_threads_share_client(void)
{
    struct hub_rate_policy  rp = { HUB_RATE_NONE, 0, 0, 3, 0 };
    struct hub_rate_limiter *lim;
    struct mt_ctx           c;
    struct hub_error        err;
    pthread_t               th[8];
    uint32_t                in_flight = 99;
    int                     i;

    memset(&c, 0, sizeof(c));
    REQUIRE(hub_rate_registry_new(NULL, NULL, &c.reg, &err) == 0);
    REQUIRE(hub_rate_configure(c.reg, "woocommerce:mt.example", &rp, &err) == 0);
    for (i = 0; i < 8; i++)
        REQUIRE(pthread_create(&th[i], NULL, mt_worker, &c) == 0);
    for (i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(200, atomic_load(&c.ok));
    CHECK_EQ(0, atomic_load(&c.failed));
    lim = hub_rate_get(c.reg, "woocommerce:mt.example", &err);
    REQUIRE(lim != NULL);
    hub_rate_snapshot(lim, NULL, &in_flight);
    CHECK_EQ(0, in_flight);
    hub_rate_registry_free(c.reg);
}

/* ---- parsers and helpers (no network) ------------------------------------------------------- */

static int64_t
ra(const char *s, int64_t now)
{
    int64_t ms = -12345;

    if (hub_http_parse_retry_after(s, strlen(s), now, &ms) != 0)
        return -1;
    return ms;
}

static void
test_parse_retry_after(void)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s */
    const int64_t date = 784111777000;
    char          big[300];
    int64_t       ms;

    CHECK_EQ(2000, ra("2", 0));
    CHECK_EQ(2000, ra("2.0", 0));                 /* Shopify */
    CHECK_EQ(250, ra(" 0.25 ", 0));
    CHECK_EQ(1500, ra("1.5", 0));
    CHECK_EQ(1000, ra("1.", 0));
    CHECK_EQ(500, ra(".5", 0));
    CHECK_EQ(1, ra("0.0001", 0));                 /* sub-millisecond rounds up */
    CHECK_EQ(123, ra("0.1230000", 0));
    CHECK_EQ(0, ra("0", 0));
    CHECK_EQ(120000, ra("\t120\t", 0));
    CHECK_EQ(HUB_RETRY_AFTER_SATURATE_MS, ra("99999999999999999999999999", 0));
    CHECK_EQ(HUB_RETRY_AFTER_SATURATE_MS, ra("1000000001", 0));
    CHECK_EQ(-1, ra("", 0));
    CHECK_EQ(-1, ra("   ", 0));
    CHECK_EQ(-1, ra(".", 0));
    CHECK_EQ(-1, ra("-1", 0));
    CHECK_EQ(-1, ra("+1", 0));
    CHECK_EQ(-1, ra("1e3", 0));
    CHECK_EQ(-1, ra("2s", 0));
    CHECK_EQ(-1, ra("1 2", 0));
    CHECK_EQ(-1, ra("1.2.3", 0));
    CHECK_EQ(-1, ra("0x10", 0));
    CHECK_EQ(-1, ra("soon", 0));
    CHECK_EQ(-1, hub_http_parse_retry_after("1\0" "5", 3, 0, &ms) == 0 ? 0 : -1);
    CHECK_EQ(-1, hub_http_parse_retry_after(NULL, 0, 0, &ms) == 0 ? 0 : -1);
    memset(big, '1', sizeof(big));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_retry_after(big, sizeof(big), 0, &ms));

    /* HTTP-dates, three forms */
    CHECK_EQ(5000, ra("Sun, 06 Nov 1994 08:49:37 GMT", date - 5000));
    CHECK_EQ(0, ra("Sun, 06 Nov 1994 08:49:37 GMT", date + 5000));     /* past: now */
    CHECK_EQ(5000, ra("Sunday, 06-Nov-94 08:49:37 GMT", date - 5000));
    CHECK_EQ(5000, ra("Sun Nov  6 08:49:37 1994", date - 5000));
    CHECK_EQ(1000, ra("  Wed, 21 Oct 2015 07:28:00 GMT ", 1445412479000));
    CHECK_EQ(0, hub_http_parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT", 29, &ms));
    CHECK_EQ(0, ms);
    CHECK_EQ(0, hub_http_parse_http_date("Tue, 29 Feb 2000 23:59:59 GMT", 29, &ms));
    CHECK_EQ(951868799000, ms);
    CHECK_EQ(0, hub_http_parse_http_date("Sun, 06 Nov 1994 08:49:60 GMT", 29, &ms));
    CHECK_EQ(-1, ra("Sun, 31 Feb 1994 08:49:37 GMT", 0));                /* no such day */
    CHECK_EQ(-1, ra("Sun, 29 Feb 1900 08:49:37 GMT", 0));                /* not leap */
    CHECK_EQ(-1, ra("Sun, 06 Nov 1994 08:49:37 UTC", 0));
    CHECK_EQ(-1, ra("Sun, 06 Nov 1994 24:00:00 GMT", 0));
    CHECK_EQ(-1, ra("Sun, 06 Foo 1994 08:49:37 GMT", 0));
    CHECK_EQ(-1, ra("Sun, 6 Nov 1994 08:49:37 GMT", 0));
    CHECK_EQ(-1, ra("Sun, 06 Nov 1994 08:49:37 GMT extra", 0));
    CHECK_EQ(-1, ra("Sun, 06 Nov 1994 08:49", 0));
    CHECK_EQ(-1, ra("Xyz, 06 Nov 1994 08:49:37 GMT", 0));
    CHECK_EQ(-1, ra("Sun Nov  6 08:49:37 1994 GMT", 0));
    CHECK_EQ(-1, ra("Sun", 0));
    CHECK_EQ(-1, ra("Sun,", 0));
}

static void
test_parse_call_limit(void)
{
    uint32_t used = 7, limit = 7;

    CHECK_EQ(0, hub_http_parse_call_limit("32/40", 5, &used, &limit));
    CHECK_EQ(32, used);
    CHECK_EQ(40, limit);
    CHECK_EQ(0, hub_http_parse_call_limit(" 1 / 400 ", 9, &used, &limit));
    CHECK_EQ(1, used);
    CHECK_EQ(400, limit);
    CHECK_EQ(0, hub_http_parse_call_limit("0/40", 4, &used, &limit));
    CHECK_EQ(0, hub_http_parse_call_limit("999999999/999999999", 19, &used, &limit));
    CHECK_EQ(999999999, used);
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("1/0", 3, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("/40", 3, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("32/", 3, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("32", 2, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("32/40/1", 7, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("-1/40", 5, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("a/b", 3, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("1234567890/40", 13, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("3 2/40", 6, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("", 0, &used, &limit));
    CHECK_EQ(HUB_E_INVALID, hub_http_parse_call_limit("32/40\0", 6, &used, &limit));
    CHECK_EQ(999999999, used);                     /* untouched on failure */
}

static uint64_t
fixed_rnd(void *ctx)
{
    return *(uint64_t *)ctx;
}

static void
test_backoff_full_jitter(void)
{
    struct hub_retry_policy p;
    uint64_t                x;
    int64_t                 b, sum = 0, max = 0, min = INT64_MAX;
    uint32_t                i;
    int                     k;

    memset(&p, 0, sizeof(p));
    p.base_ms = 100;
    p.cap_ms = 1000;
    /* the top of the range is base * 2^(n-1), then the cap */
    CHECK_EQ(100, hub_retry_backoff_ms(&p, 1, 100));
    CHECK_EQ(200, hub_retry_backoff_ms(&p, 2, 200));
    CHECK_EQ(400, hub_retry_backoff_ms(&p, 3, 400));
    CHECK_EQ(800, hub_retry_backoff_ms(&p, 4, 800));
    CHECK_EQ(1000, hub_retry_backoff_ms(&p, 5, 1000));
    CHECK_EQ(1000, hub_retry_backoff_ms(&p, 60, 1000));          /* no overflow */
    CHECK_EQ(0, hub_retry_backoff_ms(&p, 3, 0));                  /* full jitter reaches 0 */
    for (i = 1; i < 70; i++) {
        x = UINT64_MAX;
        b = hub_retry_backoff_ms(&p, i, x);
        CHECK(b >= 0 && b <= 1000);
    }
    /* well-spread inputs cover [0, ceiling] with a mean near half of it */
    for (k = 0; k < 4000; k++) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        x = (uint64_t)k * 0x9e3779b97f4a7c15u ^ (uint64_t)ts.tv_nsec;
        x ^= x >> 29;
        x *= 0xbf58476d1ce4e5b9u;
        x ^= x >> 32;
        b = hub_retry_backoff_ms(&p, 4, x);
        sum += b;
        if (b > max)
            max = b;
        if (b < min)
            min = b;
    }
    CHECK_LE(max, 800);
    CHECK_GE(max, 700);
    CHECK_LE(min, 100);
    CHECK_GE(sum / 4000, 340);
    CHECK_LE(sum / 4000, 460);
    x = 5;
    p.random = fixed_rnd;
    p.random_ctx = &x;
    CHECK_EQ(5, hub_retry_backoff_ms(&p, 1, fixed_rnd(&x)));
}

static void
test_secret_names_and_log_urls(void)
{
    char out[256];

    CHECK_EQ(1, hub_http_header_is_secret("Authorization", 13));
    CHECK_EQ(1, hub_http_header_is_secret("authorization", 13));
    CHECK_EQ(1, hub_http_header_is_secret("X-Shopify-Access-Token", 22));
    CHECK_EQ(1, hub_http_header_is_secret("X-Api-Key", 9));
    CHECK_EQ(1, hub_http_header_is_secret("X-WC-Webhook-Signature", 22));
    CHECK_EQ(1, hub_http_header_is_secret("Cookie", 6));
    CHECK_EQ(1, hub_http_header_is_secret("X-Client-Secret", 15));
    CHECK_EQ(1, hub_http_header_is_secret("X-Shopify-Hmac-Sha256", 21));
    CHECK_EQ(0, hub_http_header_is_secret("Content-Type", 12));
    CHECK_EQ(0, hub_http_header_is_secret("X-Shopify-Shop-Api-Call-Limit", 29));
    CHECK_EQ(0, hub_http_header_is_secret("Retry-After", 11));

    hub_http_url_for_log(SX_STR("https://user:pw@shop.example/wp-json/wc/v3/orders?"
                                "consumer_key=ck_1&consumer_secret=cs_2"), out, sizeof(out));
    CHECK_STR_EQ("https://shop.example/wp-json/wc/v3/orders", out);
    hub_http_url_for_log(SX_STR("http://127.0.0.1:8080/a#frag"), out, sizeof(out));
    CHECK_STR_EQ("http://127.0.0.1:8080/a", out);
    hub_http_url_for_log(SX_STR("https://h?x=1"), out, sizeof(out));
    CHECK_STR_EQ("https://h", out);
    hub_http_url_for_log(SX_STR("/admin/api/orders.json?page_info=abc"), out, sizeof(out));
    CHECK_STR_EQ("/admin/api/orders.json", out);
    hub_http_url_for_log(SX_STR("https://h/p"), out, 4);
    CHECK_STR_EQ("htt", out);
    CHECK_STR_EQ("PATCH", hub_http_method_name(HUB_HTTP_PATCH));
}

int
main(void)
{
    struct hub_error err;

    REQUIRE(hub_http_global_init(&err) == 0);
    hub_log_set_json(0);
    server_start();
    REQUIRE(hub_http_client_new(NULL, &client, &err) == 0);

    RUN_TEST(test_parse_retry_after);
    RUN_TEST(test_parse_call_limit);
    RUN_TEST(test_backoff_full_jitter);
    RUN_TEST(test_secret_names_and_log_urls);
    RUN_TEST(test_get_post);
    RUN_TEST(test_status_mapping);
    RUN_TEST(test_size_caps);
    RUN_TEST(test_timeout_and_refused);
    RUN_TEST(test_invalid_requests);
    RUN_TEST(test_retry_5xx_then_success);
    RUN_TEST(test_retry_429_retry_after);
    RUN_TEST(test_non_idempotent);
    RUN_TEST(test_call_limit_feeds_limiter);
    RUN_TEST(test_retry_log_has_no_secrets);
    RUN_TEST(test_paced_backfill_real_http);
    RUN_TEST(test_threads_share_client);

    hub_http_client_free(client);
    server_stop();
    hub_http_global_cleanup();
    return check_report();
}
