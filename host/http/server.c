#include "http/server.h"
#include "core/log.h"
#include "core/metrics.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PATTERN_MAX 256

struct route {
    int              methods;
    char             pattern[PATTERN_MAX];
    hub_http_handler fn;
    void            *arg;
};

struct hub_http_server {
    struct event_base             *base;
    struct evhttp                 *http;
    struct evhttp_bound_socket    *sock;
    struct hub_http_limits         limits;
    struct route                   routes[HUB_ROUTES_MAX];
    size_t                         n_routes;
};

static int
method_of(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:    return HUB_M_GET;
    case EVHTTP_REQ_POST:   return HUB_M_POST;
    case EVHTTP_REQ_PUT:    return HUB_M_PUT;
    case EVHTTP_REQ_PATCH:  return HUB_M_PATCH;
    case EVHTTP_REQ_DELETE: return HUB_M_DELETE;
    case EVHTTP_REQ_HEAD:   return HUB_M_HEAD;
    default:                return 0;
    }
}

static const char *
method_name(int m)
{
    switch (m) {
    case HUB_M_GET:    return "GET";
    case HUB_M_POST:   return "POST";
    case HUB_M_PUT:    return "PUT";
    case HUB_M_PATCH:  return "PATCH";
    case HUB_M_DELETE: return "DELETE";
    case HUB_M_HEAD:   return "HEAD";
    default:           return "OTHER";
    }
}

static void
add_common_headers(struct evhttp_request *req, const char *content_type)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    if (content_type != NULL)
        evhttp_add_header(h, "Content-Type", content_type);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
}

void
hub_http_send_error(struct evhttp_request *req, int status, const char *code,
                    const char *message)
{
    struct evbuffer *b = evbuffer_new();
    struct hub_buf   j;

    hub_buf_init(&j, 8192);
    hub_buf_puts(&j, "{\"error\":{\"code\":");
    hub_buf_json_str(&j, code, strlen(code));
    hub_buf_puts(&j, ",\"message\":");
    hub_buf_json_str(&j, message, strlen(message));
    hub_buf_puts(&j, "}}\n");
    add_common_headers(req, "application/json");
    if (b != NULL && j.data != NULL)
        evbuffer_add(b, j.data, j.len);
    evhttp_send_reply(req, status, NULL, b);
    if (b != NULL)
        evbuffer_free(b);
    hub_buf_free(&j);
}

void
hub_http_reply(struct hub_http_ctx *ctx, int status, const char *content_type, const void *body,
               size_t len)
{
    struct evbuffer *b = evbuffer_new();

    add_common_headers(ctx->req, content_type);
    if (b != NULL && len > 0)
        evbuffer_add(b, body, len);
    evhttp_send_reply(ctx->req, status, NULL, b);
    if (b != NULL)
        evbuffer_free(b);
}

void
hub_http_reply_json(struct hub_http_ctx *ctx, int status, const struct hub_buf *json)
{
    hub_http_reply(ctx, status, "application/json", json->data, json->len);
}

void
hub_http_reply_error(struct hub_http_ctx *ctx, int status, const char *code, const char *fmt,
                     ...)
{
    char    msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hub_http_send_error(ctx->req, status, code, msg);
}

const char *
hub_http_param(const struct hub_http_ctx *ctx, const char *name)
{
    size_t i;

    for (i = 0; i < ctx->n_params; i++) {
        if (strcmp(ctx->param_names[i], name) == 0)
            return ctx->param_values[i];
    }
    return NULL;
}

const char *
hub_http_header(const struct hub_http_ctx *ctx, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(ctx->req), name);
}

const unsigned char *
hub_http_body(const struct hub_http_ctx *ctx, size_t *len)
{
    struct evbuffer *b = evhttp_request_get_input_buffer(ctx->req);

    *len = evbuffer_get_length(b);
    if (*len == 0)
        return (const unsigned char *)"";
    return evbuffer_pullup(b, -1);
}

/*
 * Match `path` against `pattern`, capturing parameters into ctx (values point into `scratch`,
 * decoded). Returns 1 on a match.
 */
static int
route_match(const char *pattern, const char *path, struct hub_http_ctx *ctx, char *scratch,
            size_t cap)
{
    const char *p = pattern, *s = path;
    size_t      used = 0;

    ctx->n_params = 0;
    while (*p != '\0') {
        if (p[0] == '/' && p[1] == '*' && p[2] == '\0')
            return *s == '/' || *s == '\0';
        if (*p == '{') {
            const char *close = strchr(p, '}');
            size_t      vlen = strcspn(s, "/");
            char       *dec;
            size_t      declen;

            if (close == NULL || vlen == 0 || ctx->n_params >= HUB_ROUTE_PARAMS_MAX)
                return 0;
            if (used + (size_t)(close - p) + vlen + 2 > cap)
                return 0;
            /* Name: copied into scratch so it is NUL-terminated. */
            memcpy(scratch + used, p + 1, (size_t)(close - p - 1));
            scratch[used + (size_t)(close - p - 1)] = '\0';
            ctx->param_names[ctx->n_params] = scratch + used;
            used += (size_t)(close - p);
            memcpy(scratch + used, s, vlen);
            scratch[used + vlen] = '\0';
            dec = evhttp_uridecode(scratch + used, 0, &declen);
            if (dec == NULL)
                return 0;
            if (declen > vlen || memchr(dec, '\0', declen) != NULL) {
                free(dec);
                return 0;
            }
            memcpy(scratch + used, dec, declen + 1);
            free(dec);
            ctx->param_values[ctx->n_params++] = scratch + used;
            used += vlen + 1;
            p = close + 1;
            s += vlen;
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == '\0';
}

static int
count_headers(struct evhttp_request *req)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct evkeyval  *kv;
    int               n = 0;

    for (kv = h->tqh_first; kv != NULL && n < 100000; kv = kv->next.tqe_next)
        n++;
    return n;
}

static void
dispatch(struct evhttp_request *req, void *arg)
{
    struct hub_http_server *s = arg;
    struct hub_http_ctx     ctx;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    char                    scratch[2048], peer[64] = "?";
    const char             *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    struct timespec         t0, t1;
    size_t                  i;
    int                     status = 0, path_matched = 0, rc;
    char                    labels[96];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(&ctx, 0, sizeof(ctx));
    ctx.server = s;
    ctx.req = req;
    ctx.method = method_of(evhttp_request_get_command(req));
    ctx.path = path != NULL && path[0] != '\0' ? path : "/";
    ctx.query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    if (conn != NULL) {
        const char *addr = NULL;
        ev_uint16_t port = 0;

        evhttp_connection_get_peer(conn, (char **)&addr, &port);
        if (addr != NULL)
            snprintf(peer, sizeof(peer), "%s", addr);
    }
    ctx.peer = peer;

    if (count_headers(req) > s->limits.max_headers) {
        hub_http_send_error(req, 431, "too_many_headers", "request has too many header fields");
        status = 431;
        goto done;
    }
    if (ctx.method == 0) {
        hub_http_send_error(req, 405, "method_not_allowed", "method not supported");
        status = 405;
        goto done;
    }
    for (i = 0; i < s->n_routes; i++) {
        struct route *r = &s->routes[i];

        if (!route_match(r->pattern, ctx.path, &ctx, scratch, sizeof(scratch)))
            continue;
        path_matched = 1;
        if (!(r->methods & ctx.method))
            continue;
        rc = r->fn(&ctx, r->arg);
        status = rc == 1 ? 0 : evhttp_request_get_response_code(req);
        goto done;
    }
    if (path_matched) {
        hub_http_send_error(req, 405, "method_not_allowed", "method not allowed on this path");
        status = 405;
    } else {
        hub_http_send_error(req, 404, "not_found", "no such endpoint");
        status = 404;
    }
done:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snprintf(labels, sizeof(labels), "method=\"%s\",code=\"%d\"", method_name(ctx.method),
             status);
    hub_metric_inc("simplix_http_requests_total", labels, "HTTP requests answered by the hub");
    hub_metric_observe_us(hub_metric_get(HUB_METRIC_HISTOGRAM, "simplix_http_request_seconds",
                                         "", "Time to answer an HTTP request"),
                          (t1.tv_sec - t0.tv_sec) * 1000000LL +
                          (t1.tv_nsec - t0.tv_nsec) / 1000);
    hub_log_debug("http", "%s %s -> %d (%s)", method_name(ctx.method), ctx.path, status, peer);
}

struct hub_http_server *
hub_http_server_new(struct event_base *base, const struct hub_http_limits *limits,
                    struct hub_error *err)
{
    struct hub_http_server *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        hub_error_set(err, HUB_E_NOMEM, "out of memory");
        return NULL;
    }
    s->base = base;
    s->limits = *limits;
    if (s->limits.max_headers <= 0)
        s->limits.max_headers = 64;
    if (s->limits.max_header_bytes == 0)
        s->limits.max_header_bytes = 16 * 1024;
    if (s->limits.max_body_bytes == 0)
        s->limits.max_body_bytes = 1024 * 1024;
    s->http = evhttp_new(base);
    if (s->http == NULL) {
        free(s);
        hub_error_set(err, HUB_E_NOMEM, "cannot create the HTTP server");
        return NULL;
    }
    evhttp_set_max_body_size(s->http, (ev_ssize_t)s->limits.max_body_bytes);
    evhttp_set_max_headers_size(s->http, (ev_ssize_t)s->limits.max_header_bytes);
    evhttp_set_timeout(s->http, 30);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_PUT |
                               EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(s->http, dispatch, s);
    return s;
}

void
hub_http_server_free(struct hub_http_server *s)
{
    if (s == NULL)
        return;
    evhttp_free(s->http);
    free(s);
}

int
hub_http_server_listen(struct hub_http_server *s, const char *host, int port, int *bound_port,
                       struct hub_error *err)
{
    struct sockaddr_storage ss;
    socklen_t               sl = sizeof(ss);
    evutil_socket_t         fd;

    s->sock = evhttp_bind_socket_with_handle(s->http, host, (ev_uint16_t)port);
    if (s->sock == NULL)
        return hub_error_set(err, HUB_E_IO, "cannot listen on %s:%d (in use, or not an address "
                             "of this machine)", host, port);
    fd = evhttp_bound_socket_get_fd(s->sock);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET)
            *bound_port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *bound_port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            *bound_port = port;
    } else {
        *bound_port = port;
    }
    return 0;
}

void
hub_http_server_stop_accepting(struct hub_http_server *s)
{
    if (s->sock != NULL) {
        evhttp_del_accept_socket(s->http, s->sock);
        s->sock = NULL;
    }
}

int
hub_http_route(struct hub_http_server *s, int methods, const char *pattern, hub_http_handler fn,
               void *arg)
{
    struct route *r;

    if (s->n_routes >= HUB_ROUTES_MAX || strlen(pattern) >= PATTERN_MAX)
        return HUB_E_LIMIT;
    r = &s->routes[s->n_routes++];
    r->methods = methods;
    snprintf(r->pattern, sizeof(r->pattern), "%s", pattern);
    r->fn = fn;
    r->arg = arg;
    return 0;
}
