/*
 * Deferred HTTP replies (host/http/defer.h) over real sockets on a free loopback port, with a
 * real PostgreSQL behind the pool threads: many concurrent deferred requests each answered
 * with their own result, the bounded queue answering 503 at once when full, a client that
 * hangs up while its job runs, and shutdown with requests in flight (drained, or cancelled
 * with 503 when out of time).
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "testdb.h"
#include "http/defer.h"
#include "http/server.h"

static struct testdb           tdb;
static struct event_base      *base;
static struct hub_http_server *server;
static int                     port;

/* One pool per scenario, all created before the loop runs. */
static struct hub_http_defer_pool *pool_many, *pool_full, *pool_drain, *pool_cancel;

/* The gate the queue-full scenario's jobs wait at. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t  gate_cond = PTHREAD_COND_INITIALIZER;
static int             gate_open;

static atomic_int      jobs_run;

/* ---- a blocking HTTP client ------------------------------------------------------------------ */

struct answer {
    int  status;
    char body[4096];
};

static int
connect_port(void)
{
    struct sockaddr_in sa;
    struct timeval     tv = { 20, 0 };
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

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
    return fd;
}

static int
send_all(int fd, const char *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One request on its own connection; the whole answer parsed into `a`. 0 or -1. */
static int
request(const char *method, const char *target, const char *extra_headers, const char *body,
        struct answer *a)
{
    char    req[2048], resp[16384];
    size_t  got = 0;
    ssize_t n;
    int     fd;
    char   *sep;

    a->status = 0;
    a->body[0] = '\0';
    fd = connect_port();
    if (fd < 0)
        return -1;
    snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
             "%sContent-Length: %zu\r\n\r\n%s", method, target,
             extra_headers != NULL ? extra_headers : "", body != NULL ? strlen(body) : 0,
             body != NULL ? body : "");
    if (send_all(fd, req, strlen(req)) < 0) {
        close(fd);
        return -1;
    }
    while (got < sizeof(resp) - 1) {
        n = read(fd, resp + got, sizeof(resp) - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    resp[got] = '\0';
    if (sscanf(resp, "HTTP/1.%*d %d", &a->status) != 1)
        return -1;
    sep = strstr(resp, "\r\n\r\n");
    if (sep != NULL)
        snprintf(a->body, sizeof(a->body), "%s", sep + 4);
    return 0;
}

/* ---- handlers -------------------------------------------------------------------------------- */

/* GET|POST /double/{n}: the database doubles n; the header and the body must arrive too. */
static void
job_double(struct hub_http_job *job, void *arg)
{
    const char    *n = hub_http_job_param(job, "n");
    const char    *hdr = hub_http_job_header(job, "x-num");
    const char    *params[1];
    const unsigned char *body;
    size_t         len;
    PGresult      *res = NULL;
    struct hub_error err;
    char           out[256];
    const char    *q = hub_http_job_query(job);

    (void)arg;
    atomic_fetch_add(&jobs_run, 1);
    if (q != NULL && strstr(q, "sleep=1") != NULL)
        usleep(300 * 1000);
    body = hub_http_job_body(job, &len);
    if (n == NULL || hdr == NULL || strcmp(n, hdr) != 0 || len != strlen(n) + 2 ||
        memcmp(body, "n=", 2) != 0 || strcmp((const char *)body + 2, n) != 0) {
        hub_http_job_reply_error(job, 400, "mismatch", "param, header and body disagree");
        return;
    }
    params[0] = n;
    if (hub_db_query(hub_http_job_db(job), "SELECT ($1::int * 2)::text", 1, params, &res,
                     &err) < 0) {
        hub_http_job_reply_error(job, 500, "db", "%s", err.msg);
        return;
    }
    snprintf(out, sizeof(out), "{\"n\":%s,\"double\":%s}", n, PQgetvalue(res, 0, 0));
    PQclear(res);
    hub_http_job_add_header(job, "X-Deferred", "yes");
    hub_http_job_reply(job, 200, "application/json", out, strlen(out));
}

static int
h_double(struct hub_http_ctx *ctx, void *arg)
{
    return hub_http_defer(arg, ctx, job_double, NULL);
}

/* GET /gated: waits at the gate, then answers "through". */
static void
job_gated(struct hub_http_job *job, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    hub_http_job_reply(job, 200, "text/plain", "through", 7);
}

static int
h_gated(struct hub_http_ctx *ctx, void *arg)
{
    return hub_http_defer(arg, ctx, job_gated, NULL);
}

/* GET /slow: 500 ms on the database, then "slow done". */
static void
job_slow(struct hub_http_job *job, void *arg)
{
    struct hub_error err;

    (void)arg;
    if (hub_db_exec(hub_http_job_db(job), "SELECT pg_sleep(0.5)", &err) < 0) {
        hub_http_job_reply_error(job, 500, "db", "%s", err.msg);
        return;
    }
    hub_http_job_reply(job, 200, "text/plain", "slow done", 9);
}

static int
h_slow(struct hub_http_ctx *ctx, void *arg)
{
    return hub_http_defer(arg, ctx, job_slow, NULL);
}

/* POST /stop/{pool}?timeout=T: stops that pool on the loop thread, as the daemon will. */
static int
h_stop(struct hub_http_ctx *ctx, void *arg)
{
    const char *which = hub_http_param(ctx, "pool");
    int         timeout = -1;

    (void)arg;
    if (ctx->query != NULL)
        sscanf(ctx->query, "timeout=%d", &timeout);
    hub_http_defer_pool_stop(strcmp(which, "drain") == 0 ? pool_drain : pool_cancel, timeout);
    hub_http_reply(ctx, 200, "text/plain", "stopped", 7);
    return 0;
}

static void *
loop_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

/* ---- scenarios ------------------------------------------------------------------------------- */

#define CLIENTS      8
#define PER_CLIENT   40

static void *
client_many(void *arg)
{
    int           id = (int)(intptr_t)arg, i, bad = 0;
    struct answer a;

    for (i = 0; i < PER_CLIENT; i++) {
        int  n = id * 1000 + i;
        char target[64], hdr[64], body[32], want[128];

        snprintf(target, sizeof(target), "/double/%d", n);
        snprintf(hdr, sizeof(hdr), "X-Num: %d\r\n", n);
        snprintf(body, sizeof(body), "n=%d", n);
        snprintf(want, sizeof(want), "{\"n\":%d,\"double\":%d}", n, 2 * n);
        if (request("POST", target, hdr, body, &a) < 0 || a.status != 200 ||
            strcmp(a.body, want) != 0) {
            if (bad++ < 3)
                fprintf(stderr, "client %d request %d: %d %s\n", id, n, a.status, a.body);
        }
    }
    return (void *)(intptr_t)bad;
}

static void
test_many_concurrent(void)
{
    pthread_t                   t[CLIENTS];
    struct hub_http_defer_stats st;
    void                       *bad;
    long                        total_bad = 0;
    int                         i;

    for (i = 0; i < CLIENTS; i++)
        pthread_create(&t[i], NULL, client_many, (void *)(intptr_t)(i + 1));
    for (i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], &bad);
        total_bad += (long)(intptr_t)bad;
    }
    CHECK_EQ(0, total_bad);
    hub_http_defer_pool_stats(pool_many, &st);
    CHECK_EQ(CLIENTS * PER_CLIENT, st.done);
    CHECK_EQ(0, st.refused_full);
    CHECK_EQ(0, st.queued);
    CHECK_EQ(0, st.running);
}

static void
test_client_hangs_up(void)
{
    struct answer a;
    const char   *req = "POST /double/7?sleep=1 HTTP/1.1\r\nHost: x\r\nX-Num: 7\r\n"
                        "Content-Length: 3\r\n\r\nn=7";
    int           fd, before = atomic_load(&jobs_run), i;

    /* The client leaves while its job sleeps; the late reply must land nowhere, safely. */
    fd = connect_port();
    REQUIRE(fd >= 0);
    REQUIRE(send_all(fd, req, strlen(req)) == 0);
    for (i = 0; i < 200 && atomic_load(&jobs_run) == before; i++)
        usleep(5000);
    close(fd);
    usleep(500 * 1000);                 /* the job finishes and its reply is delivered */
    CHECK_EQ(0, request("POST", "/double/8", "X-Num: 8\r\n", "n=8", &a));
    CHECK_EQ(200, a.status);
    CHECK_STR_EQ("{\"n\":8,\"double\":16}", a.body);
}

struct bg {
    pthread_t     t;
    const char   *target;
    struct answer a;
    int           rc;
};

static void *
bg_main(void *p)
{
    struct bg *b = p;

    b->rc = request("GET", b->target, NULL, NULL, &b->a);
    return NULL;
}

static void
bg_start(struct bg *b, const char *target)
{
    memset(b, 0, sizeof(*b));
    b->target = target;
    pthread_create(&b->t, NULL, bg_main, b);
}

/* Wait until the pool shows `running` and `queued` (5 s at most). */
static int
wait_stats(struct hub_http_defer_pool *pool, unsigned running, unsigned queued)
{
    struct hub_http_defer_stats st;
    int                         i;

    for (i = 0; i < 1000; i++) {
        hub_http_defer_pool_stats(pool, &st);
        if (st.running == running && st.queued == queued)
            return 1;
        usleep(5000);
    }
    fprintf(stderr, "stats: running %u queued %u, wanted %u %u\n", st.running, st.queued,
            running, queued);
    return 0;
}

static void
test_queue_full(void)
{
    struct bg                   b[3];
    struct answer               a;
    struct hub_http_defer_stats st;
    int                         i;

    /* 1 thread, queue of 2: one job at the gate, two waiting, the fourth is refused. */
    bg_start(&b[0], "/gated");
    REQUIRE(wait_stats(pool_full, 1, 0));
    bg_start(&b[1], "/gated");
    bg_start(&b[2], "/gated");
    REQUIRE(wait_stats(pool_full, 1, 2));
    CHECK_EQ(0, request("GET", "/gated", NULL, NULL, &a));
    CHECK_EQ(503, a.status);
    CHECK_STR_HAS(a.body, "\"code\":\"overloaded\"");
    pthread_mutex_lock(&gate_lock);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    for (i = 0; i < 3; i++) {
        pthread_join(b[i].t, NULL);
        CHECK_EQ(0, b[i].rc);
        CHECK_EQ(200, b[i].a.status);
        CHECK_STR_EQ("through", b[i].a.body);
    }
    hub_http_defer_pool_stats(pool_full, &st);
    CHECK_EQ(1, st.refused_full);
    CHECK_EQ(4, st.done + st.refused_full);
}

/* Shutdown with 2 jobs running and 4 queued. `timeout`: -1 drains all (6 x 200); 0 runs only
 * what had started (2 x 200, 4 x 503 shutting_down). */
static void
shutdown_scenario(struct hub_http_defer_pool *pool, const char *route, const char *stop,
                  int expect_ok)
{
    struct bg     b[6];
    struct answer a;
    int           i, ok = 0, refused = 0;

    for (i = 0; i < 6; i++)
        bg_start(&b[i], route);
    REQUIRE(wait_stats(pool, 2, 4));
    CHECK_EQ(0, request("POST", stop, NULL, NULL, &a));
    CHECK_EQ(200, a.status);
    for (i = 0; i < 6; i++) {
        pthread_join(b[i].t, NULL);
        CHECK_EQ(0, b[i].rc);
        if (b[i].a.status == 200 && strcmp(b[i].a.body, "slow done") == 0)
            ok++;
        else if (b[i].a.status == 503 && strstr(b[i].a.body, "shutting_down") != NULL)
            refused++;
        else
            fprintf(stderr, "unexpected answer %d %s\n", b[i].a.status, b[i].a.body);
    }
    CHECK_EQ(expect_ok, ok);
    CHECK_EQ(6 - expect_ok, refused);
    /* After the stop, new requests are refused at once. */
    CHECK_EQ(0, request("GET", route, NULL, NULL, &a));
    CHECK_EQ(503, a.status);
    CHECK_STR_HAS(a.body, "shutting_down");
}

static void
test_shutdown_drains(void)
{
    shutdown_scenario(pool_drain, "/slow/drain", "/stop/drain?timeout=-1", 6);
}

static void
test_shutdown_out_of_time(void)
{
    shutdown_scenario(pool_cancel, "/slow/cancel", "/stop/cancel?timeout=0", 2);
}

static void
test_refuses_bad_options(void)
{
    struct hub_http_defer_opts  o = { .conninfo = "host=127.0.0.1 port=1 connect_timeout=2",
                                      .threads = 2 };
    struct hub_http_defer_pool *p = NULL;
    struct hub_error            err;

    CHECK_EQ(HUB_E_DB, hub_http_defer_pool_new(base, &o, &p, &err));
    CHECK(p == NULL);
    CHECK_STR_HAS(err.msg, "deferred HTTP pool, connection 1");
    o.conninfo = tdb.conninfo;
    o.threads = HUB_DEFER_THREADS_MAX + 1;
    CHECK_EQ(HUB_E_CONFIG, hub_http_defer_pool_new(base, &o, &p, &err));
}

int
main(void)
{
    struct hub_http_limits     lim = { 0, 0, 0 };
    struct hub_http_defer_opts o;
    struct hub_error           err;
    pthread_t                  loop;

    testdb_create(&tdb, "defer");
    REQUIRE(evthread_use_pthreads() == 0);
    base = event_base_new();
    REQUIRE(base != NULL);
    server = hub_http_server_new(base, &lim, &err);
    REQUIRE(server != NULL);
    REQUIRE(hub_http_server_listen(server, "127.0.0.1", 0, &port, &err) == 0);

    memset(&o, 0, sizeof(o));
    o.conninfo = tdb.conninfo;
    o.threads = 3;
    o.queue_max = 1000;
    REQUIRE(hub_http_defer_pool_new(base, &o, &pool_many, &err) == 0);
    o.threads = 1;
    o.queue_max = 2;
    REQUIRE(hub_http_defer_pool_new(base, &o, &pool_full, &err) == 0);
    o.threads = 2;
    o.queue_max = 100;
    REQUIRE(hub_http_defer_pool_new(base, &o, &pool_drain, &err) == 0);
    REQUIRE(hub_http_defer_pool_new(base, &o, &pool_cancel, &err) == 0);

    REQUIRE(hub_http_route(server, HUB_M_GET | HUB_M_POST, "/double/{n}", h_double,
                           pool_many) == 0);
    REQUIRE(hub_http_route(server, HUB_M_GET, "/gated", h_gated, pool_full) == 0);
    REQUIRE(hub_http_route(server, HUB_M_GET, "/slow/drain", h_slow, pool_drain) == 0);
    REQUIRE(hub_http_route(server, HUB_M_GET, "/slow/cancel", h_slow, pool_cancel) == 0);
    REQUIRE(hub_http_route(server, HUB_M_POST, "/stop/{pool}", h_stop, NULL) == 0);
    REQUIRE(pthread_create(&loop, NULL, loop_main, NULL) == 0);

    RUN_TEST(test_many_concurrent);
    RUN_TEST(test_client_hangs_up);
    RUN_TEST(test_queue_full);
    RUN_TEST(test_shutdown_drains);
    RUN_TEST(test_shutdown_out_of_time);
    RUN_TEST(test_refuses_bad_options);

    event_base_loopexit(base, NULL);
    pthread_join(loop, NULL);
    hub_http_defer_pool_free(pool_many);
    hub_http_defer_pool_free(pool_full);
    hub_http_defer_pool_free(pool_drain);
    hub_http_defer_pool_free(pool_cancel);
    hub_http_server_free(server);
    event_base_free(base);
    testdb_drop(&tdb);
    return check_report();
}
