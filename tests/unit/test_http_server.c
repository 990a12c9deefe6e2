/*
 * The hub's HTTP front over real sockets on a free loopback port: routing with parameters,
 * 404/405 with JSON error bodies, body-size and header-count limits, and request metrics.
 */
#include <arpa/inet.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "core/metrics.h"
#include "http/server.h"

static struct event_base      *base;
static struct hub_http_server *server;
static int                     port;

static int
h_echo_params(struct hub_http_ctx *ctx, void *arg)
{
    struct hub_buf b;
    size_t         len;

    (void)arg;
    hub_buf_init(&b, 4096);
    hub_buf_printf(&b, "{\"platform\":\"%s\",\"id\":\"%s\",\"body_len\":%zu}",
                   hub_http_param(ctx, "platform"), hub_http_param(ctx, "integration_id"),
                   (hub_http_body(ctx, &len), len));
    hub_http_reply_json(ctx, 200, &b);
    hub_buf_free(&b);
    return 0;
}

static int
h_hello(struct hub_http_ctx *ctx, void *arg)
{
    (void)arg;
    hub_http_reply(ctx, 200, "text/plain", "hello", 5);
    return 0;
}

static void *
loop_main(void *arg)
{
    (void)arg;
    event_base_dispatch(base);
    return NULL;
}

/* Send raw bytes, read the whole answer (the server closes or we time out after 2 s). */
static void
roundtrip(const char *req, size_t len, char *out, size_t cap)
{
    struct sockaddr_in sa;
    struct timeval     tv = { 2, 0 };
    size_t             got = 0;
    ssize_t            n;
    int                fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    out[0] = '\0';
    REQUIRE(fd >= 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    REQUIRE(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    while (len > 0) {
        n = write(fd, req, len);
        if (n <= 0)
            break;
        req += n;
        len -= (size_t)n;
    }
    while (got + 1 < cap && (n = read(fd, out + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fd);
}

static void
test_routes_and_params(void)
{
    char out[8192];
    const char *req = "POST /api/webhooks/shopify/42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Content-Length: 5\r\n\r\nhello";

    roundtrip(req, strlen(req), out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 200");
    CHECK_STR_HAS(out, "{\"platform\":\"shopify\",\"id\":\"42\",\"body_len\":5}");
    CHECK_STR_HAS(out, "Content-Type: application/json");

    /* Percent-encoded parameters are decoded. */
    req = "POST /api/webhooks/my%5Fshop/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          "Content-Length: 0\r\n\r\n";
    roundtrip(req, strlen(req), out, sizeof(out));
    CHECK_STR_HAS(out, "\"platform\":\"my_shop\"");

    req = "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    roundtrip(req, strlen(req), out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 200");
    CHECK_STR_HAS(out, "hello");
}

static void
test_errors_are_json(void)
{
    char        out[8192];
    const char *req = "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    roundtrip(req, strlen(req), out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 404");
    CHECK_STR_HAS(out, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such endpoint\"}}");

    req = "DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    roundtrip(req, strlen(req), out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 405");
    CHECK_STR_HAS(out, "\"code\":\"method_not_allowed\"");

    /* A parameter segment cannot be empty. */
    req = "POST /api/webhooks//42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
          "Content-Length: 0\r\n\r\n";
    roundtrip(req, strlen(req), out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 404");
}

static void
test_limits(void)
{
    char   out[8192], *big;
    size_t i, n;

    /* 70 headers > the limit of 64: 431 with a JSON body. */
    big = malloc(16384);
    REQUIRE(big != NULL);
    n = (size_t)snprintf(big, 16384, "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (i = 0; i < 70; i++)
        n += (size_t)snprintf(big + n, 16384 - n, "X-H%zu: v\r\n", i);
    n += (size_t)snprintf(big + n, 16384 - n, "\r\n");
    roundtrip(big, n, out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 431");
    CHECK_STR_HAS(out, "\"code\":\"too_many_headers\"");
    free(big);

    /* A body over the 4 KiB limit is refused by evhttp (413) before any handler runs. */
    big = malloc(8192 + 256);
    REQUIRE(big != NULL);
    n = (size_t)snprintf(big, 256, "POST /api/webhooks/shopify/1 HTTP/1.1\r\nHost: x\r\n"
                         "Connection: close\r\nContent-Length: 8192\r\n\r\n");
    memset(big + n, 'a', 8192);
    roundtrip(big, n + 8192, out, sizeof(out));
    CHECK_STR_HAS(out, "HTTP/1.1 413");
    CHECK(strstr(out, "body_len") == NULL);
    free(big);
}

static void
test_metrics_counted(void)
{
    struct hub_buf b;

    hub_buf_init(&b, 1 << 20);
    CHECK_EQ(0, hub_metrics_render(&b));
    CHECK_STR_HAS(b.data, "# TYPE simplix_http_requests_total counter");
    CHECK_STR_HAS(b.data, "simplix_http_requests_total{method=\"GET\",code=\"404\"} 1");
    CHECK_STR_HAS(b.data, "simplix_http_requests_total{method=\"POST\",code=\"200\"} 2");
    CHECK_STR_HAS(b.data, "simplix_http_request_seconds_bucket{le=\"+Inf\"}");
    hub_buf_free(&b);
}

int
main(void)
{
    struct hub_http_limits lim = { 4096, 8192, 64 };
    struct hub_error       err;
    pthread_t              t;

    evthread_use_pthreads();
    base = event_base_new();
    server = hub_http_server_new(base, &lim, &err);
    REQUIRE(server != NULL);
    REQUIRE(hub_http_route(server, HUB_M_POST, "/api/webhooks/{platform}/{integration_id}",
                           h_echo_params, NULL) == 0);
    REQUIRE(hub_http_route(server, HUB_M_GET, "/hello", h_hello, NULL) == 0);
    REQUIRE(hub_http_server_listen(server, "127.0.0.1", 0, &port, &err) == 0);
    REQUIRE(port > 0);
    pthread_create(&t, NULL, loop_main, NULL);

    RUN_TEST(test_routes_and_params);
    RUN_TEST(test_errors_are_json);
    RUN_TEST(test_limits);
    RUN_TEST(test_metrics_counted);

    event_base_loopbreak(base);
    pthread_join(t, NULL);
    hub_http_server_free(server);
    event_base_free(base);
    return check_report();
}
