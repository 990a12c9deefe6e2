/*
 * The hub's HTTP front on libevent's evhttp: a small router with path parameters, request
 * limits (body size, header bytes and header count), JSON error bodies, request metrics and
 * access logs. Handlers run on the event-loop thread and must not block: anything slow goes
 * to a worker thread or the job queue.
 */
#ifndef HUB_HTTP_SERVER_H
#define HUB_HTTP_SERVER_H

#include <event2/event.h>
#include <event2/http.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

#define HUB_ROUTE_PARAMS_MAX 8
#define HUB_ROUTES_MAX       128

enum {
    HUB_M_GET    = 1 << 0,
    HUB_M_POST   = 1 << 1,
    HUB_M_PUT    = 1 << 2,
    HUB_M_PATCH  = 1 << 3,
    HUB_M_DELETE = 1 << 4,
    HUB_M_HEAD   = 1 << 5
};

struct hub_http_server;

/* One request as a handler sees it. Everything lives until the handler returns, except that
 * a handler may keep `req` to answer later (evhttp semantics) if it says so by returning 1. */
struct hub_http_ctx {
    struct hub_http_server *server;
    struct evhttp_request  *req;
    int                     method;                 /* HUB_M_* */
    const char             *path;                   /* decoded path, no query */
    const char             *query;                  /* raw query or NULL */
    size_t                  n_params;
    const char             *param_names[HUB_ROUTE_PARAMS_MAX];
    char                   *param_values[HUB_ROUTE_PARAMS_MAX];  /* decoded */
    const char             *peer;                   /* client address */
};

/* A handler answers (hub_http_reply_*) and returns 0, or returns 1 when it will answer later
 * from another callback (it then owns ctx->req until it replies). */
typedef int (*hub_http_handler)(struct hub_http_ctx *ctx, void *arg);

struct hub_http_limits {
    size_t max_body_bytes;
    size_t max_header_bytes;
    int    max_headers;
};

/* Create a server on `base`. Returns NULL with `err` set. */
struct hub_http_server *hub_http_server_new(struct event_base *base,
                                            const struct hub_http_limits *limits,
                                            struct hub_error *err);
void hub_http_server_free(struct hub_http_server *s);
/* Bind host:port (port 0 = any free port). *bound_port receives the actual port. */
int  hub_http_server_listen(struct hub_http_server *s, const char *host, int port,
                            int *bound_port, struct hub_error *err);
/* Stop accepting new connections (graceful shutdown); open requests still complete. */
void hub_http_server_stop_accepting(struct hub_http_server *s);
/*
 * Add a route. `pattern` is a path whose segments may be "{name}" parameters, and may end with
 * "/\*" (slash, star) to match any rest: "/api/webhooks/{platform}/{integration_id}". Routes are matched in
 * the order added; a path that matches with a method not in `methods` answers 405.
 */
int  hub_http_route(struct hub_http_server *s, int methods, const char *pattern,
                    hub_http_handler fn, void *arg);

/* Parameter by name, or NULL. */
const char *hub_http_param(const struct hub_http_ctx *ctx, const char *name);
/* Request header by name (case-insensitive), or NULL. */
const char *hub_http_header(const struct hub_http_ctx *ctx, const char *name);
/* The request body (not NUL-terminated); *len is its size. Bounded by the server's limit. */
const unsigned char *hub_http_body(const struct hub_http_ctx *ctx, size_t *len);

/* Replies. `body` is copied. */
void hub_http_reply(struct hub_http_ctx *ctx, int status, const char *content_type,
                    const void *body, size_t len);
void hub_http_reply_json(struct hub_http_ctx *ctx, int status, const struct hub_buf *json);
/* {"error":{"code":"<code>","message":"<message>"}} */
void hub_http_reply_error(struct hub_http_ctx *ctx, int status, const char *code,
                          const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Same, for code paths that only hold the evhttp request (deferred replies). */
void hub_http_send_error(struct evhttp_request *req, int status, const char *code,
                         const char *message);

#endif
