/*
 * Outbox: webhook deliveries from the sandbox to a subscriber, with the libevent evhttp client
 * (never blocking the loop), a whole-attempt deadline and a retry schedule scaled by
 * --time-scale. Only plain http:// to a loopback address is ever contacted: the sandbox must
 * never reach a real host.
 */
#include "sbx_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

struct sbx_delivery {
    struct sbx_platform      *p;
    struct sbx_delivery      *next;
    char                     *url;
    char                     *host;
    char                     *path;       /* path?query */
    int                       port;
    struct sbx_kv            *headers;
    size_t                    nheaders;
    void                     *body;
    size_t                    body_len;
    char                     *content_type;
    char                     *label;
    double                   *delays;
    size_t                    nretries;
    int                       attempt;    /* attempts started */
    int                       timeout_ms;
    sbx_delivery_cb           cb;
    void                     *arg;
    uint64_t                  group;
    struct event             *timer;      /* next attempt */
    struct event             *deadline;   /* current attempt */
    struct evhttp_connection *conn;
    struct evhttp_request    *req;
    bool                      in_flight;
    bool                      in_cb;      /* its callback is running: not to be freed */
};

static void attempt_start(evutil_socket_t fd, short what, void *arg);

const char *
sbx_delivery_label(const struct sbx_delivery *d)
{
    return d->label;
}

uint64_t
sbx_delivery_group(const struct sbx_delivery *d)
{
    return d->group;
}

static void
conn_free_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evhttp_connection_free(arg);
}

/* Connections are freed from a fresh loop turn, never from inside their own callback. */
static void
conn_release(struct sbx_delivery *d)
{
    if (d->conn == NULL)
        return;
    if (event_base_once(sbx_base(d->p->sbx), -1, EV_TIMEOUT, conn_free_cb, d->conn, NULL) < 0)
        evhttp_connection_free(d->conn);
    d->conn = NULL;
}

static void
delivery_free(struct sbx_delivery *d)
{
    struct sbx_delivery **pp;
    size_t                i;

    for (pp = &d->p->sbx->deliveries; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == d) {
            *pp = d->next;
            break;
        }
    }
    if (d->in_flight && d->req != NULL)
        evhttp_cancel_request(d->req);
    conn_release(d);
    if (d->timer != NULL)
        event_free(d->timer);
    if (d->deadline != NULL)
        event_free(d->deadline);
    for (i = 0; i < d->nheaders; i++) {
        free((char *)d->headers[i].key);
        free((char *)d->headers[i].value);
    }
    free(d->headers);
    free(d->body);
    free(d->url);
    free(d->host);
    free(d->path);
    free(d->content_type);
    free(d->label);
    free(d->delays);
    free(d);
}

static void
attempt_done(struct sbx_delivery *d, int status, const char *error)
{
    bool           ok = status >= 200 && status < 300;
    bool           final;
    bool           cancel = false;
    struct timeval tv;
    double         delay;

    d->in_flight = false;
    d->req = NULL;
    evtimer_del(d->deadline);
    conn_release(d);
    final = ok || (size_t)d->attempt > d->nretries;
    sbx_log_delivery(d->p->sbx, d->p, d->label, d->url, d->attempt, status, ok, final,
                     ok ? NULL : (error != NULL ? error : "non-2xx answer"));
    if (d->cb != NULL) {
        d->in_cb = true;
        cancel = d->cb(d->arg, d, d->attempt, ok, status, final);
        d->in_cb = false;
    }
    if (final || cancel) {
        delivery_free(d);
        return;
    }
    delay = d->delays[d->attempt - 1] / d->p->sbx->cfg.time_scale;
    if (delay < 0)
        delay = 0;
    tv.tv_sec = (time_t)delay;
    tv.tv_usec = (suseconds_t)((delay - (double)tv.tv_sec) * 1e6);
    evtimer_add(d->timer, &tv);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
    struct sbx_delivery *d = arg;
    int                  status = req != NULL ? evhttp_request_get_response_code(req) : 0;

    if (!d->in_flight)
        return;
    attempt_done(d, status, status == 0 ? "connection failed" : NULL);
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sbx_delivery *d = arg;

    (void)fd;
    (void)what;
    /* The whole attempt took too long (Shopify: 5 s): cancel, which calls no callback. */
    if (d->req != NULL)
        evhttp_cancel_request(d->req);
    d->req = NULL;
    attempt_done(d, 0, "timeout");
}

static void
attempt_start(evutil_socket_t fd, short what, void *arg)
{
    struct sbx_delivery *d = arg;
    struct evkeyvalq    *h;
    struct timeval       tv;
    char                 hostport[300];
    size_t               i;

    (void)fd;
    (void)what;
    d->attempt++;
    d->conn = evhttp_connection_base_new(sbx_base(d->p->sbx), NULL, d->host,
                                         (unsigned short)d->port);
    if (d->conn == NULL) {
        attempt_done(d, 0, "cannot create connection");
        return;
    }
    evhttp_connection_set_retries(d->conn, 0);
    tv.tv_sec = d->timeout_ms / 1000;
    tv.tv_usec = (d->timeout_ms % 1000) * 1000;
    evhttp_connection_set_timeout_tv(d->conn, &tv);
    d->req = evhttp_request_new(request_cb, d);
    if (d->req == NULL) {
        attempt_done(d, 0, "cannot create request");
        return;
    }
    h = evhttp_request_get_output_headers(d->req);
    snprintf(hostport, sizeof(hostport), "%s:%d", d->host, d->port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "Content-Type", d->content_type);
    evhttp_add_header(h, "User-Agent", "simplix-sandbox/" SBX_VERSION);
    evhttp_add_header(h, "Connection", "close");
    for (i = 0; i < d->nheaders; i++)
        evhttp_add_header(h, d->headers[i].key, d->headers[i].value);
    evbuffer_add(evhttp_request_get_output_buffer(d->req), d->body, d->body_len);
    d->in_flight = true;
    evtimer_add(d->deadline, &tv);
    if (evhttp_make_request(d->conn, d->req, EVHTTP_REQ_POST, d->path) < 0) {
        /* evhttp frees the request on failure */
        d->req = NULL;
        attempt_done(d, 0, "cannot send request");
    }
}

/* Accepts http://HOST[:PORT][/path] with HOST one of 127.x.x.x, localhost, [::1]. */
static int
parse_loopback_url(const char *url, char **host, int *port, char **path)
{
    struct evhttp_uri *u;
    const char        *scheme;
    const char        *h;
    const char        *pq;
    const char        *q;
    int                rc = -1;

    u = evhttp_uri_parse(url);
    if (u == NULL)
        return -1;
    scheme = evhttp_uri_get_scheme(u);
    h = evhttp_uri_get_host(u);
    if (scheme == NULL || strcmp(scheme, "http") != 0 || h == NULL)
        goto out;
    if (strncmp(h, "127.", 4) != 0 && strcmp(h, "localhost") != 0 && strcmp(h, "[::1]") != 0 &&
        strcmp(h, "::1") != 0)
        goto out;
    *port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
    pq = evhttp_uri_get_path(u);
    q = evhttp_uri_get_query(u);
    if (pq == NULL || pq[0] == '\0')
        pq = "/";
    *host = strdup(strcmp(h, "localhost") == 0 ? "127.0.0.1" : h);
    if (q != NULL) {
        size_t n = strlen(pq) + strlen(q) + 2;

        *path = malloc(n);
        if (*path != NULL)
            snprintf(*path, n, "%s?%s", pq, q);
    } else {
        *path = strdup(pq);
    }
    if (*host == NULL || *path == NULL) {
        free(*host);
        free(*path);
        goto out;
    }
    rc = 0;
out:
    evhttp_uri_free(u);
    return rc;
}

int
sbx_outbox_post(struct sbx_platform *p, const struct sbx_delivery_spec *spec)
{
    struct sbx_delivery *d;
    struct timeval       now = {0, 0};
    size_t               i;

    d = calloc(1, sizeof(*d));
    if (d == NULL)
        return -1;
    d->p = p;
    d->url = strdup(spec->url);
    d->label = strdup(spec->label != NULL ? spec->label : "");
    d->content_type = strdup(spec->content_type != NULL ? spec->content_type
                                                        : "application/json");
    d->body = malloc(spec->body_len + 1);
    d->headers = calloc(spec->nheaders + 1, sizeof(*d->headers));
    d->delays = calloc(spec->nretries + 1, sizeof(double));
    d->timer = evtimer_new(sbx_base(p->sbx), attempt_start, d);
    d->deadline = evtimer_new(sbx_base(p->sbx), deadline_cb, d);
    if (d->url == NULL || d->label == NULL || d->content_type == NULL || d->body == NULL ||
        d->headers == NULL || d->delays == NULL || d->timer == NULL || d->deadline == NULL)
        goto fail;
    memcpy(d->body, spec->body, spec->body_len);
    d->body_len = spec->body_len;
    for (i = 0; i < spec->nheaders; i++) {
        d->headers[i].key = strdup(spec->headers[i].key);
        d->headers[i].value = strdup(spec->headers[i].value);
        d->nheaders++;
        if (d->headers[i].key == NULL || d->headers[i].value == NULL)
            goto fail;
    }
    for (i = 0; i < spec->nretries; i++)
        d->delays[i] = spec->retry_delays_s[i];
    d->nretries = spec->nretries;
    d->timeout_ms = spec->timeout_ms > 0 ? spec->timeout_ms : 5000;
    d->cb = spec->cb;
    d->arg = spec->arg;
    d->group = spec->group;
    d->next = p->sbx->deliveries;
    p->sbx->deliveries = d;
    if (parse_loopback_url(spec->url, &d->host, &d->port, &d->path) < 0) {
        /* Not a loopback http URL: every attempt fails without any traffic. */
        d->attempt = (int)d->nretries + 1;
        sbx_log_delivery(p->sbx, p, d->label, d->url, 1, 0, false, true,
                         "refused: only http://127.0.0.1 or localhost");
        if (d->cb != NULL)
            d->cb(d->arg, d, 1, false, 0, true);
        delivery_free(d);
        return 0;
    }
    evtimer_add(d->timer, &now);
    return 0;
fail:
    delivery_free(d);
    return -1;
}

size_t
sbx_outbox_cancel_group(struct sbx_platform *p, uint64_t group)
{
    struct sbx_delivery *d;
    struct sbx_delivery *next;
    size_t               n = 0;

    for (d = p->sbx->deliveries; d != NULL; d = next) {
        next = d->next;
        if (d->p == p && d->group == group && !d->in_flight && !d->in_cb) {
            delivery_free(d);
            n++;
        }
    }
    return n;
}

size_t
sbx_outbox_flush(struct sbx_platform *p)
{
    struct sbx_delivery *d;
    size_t               n = 0;

    for (d = p->sbx->deliveries; d != NULL; d = d->next) {
        if (d->p == p && !d->in_flight && evtimer_pending(d->timer, NULL)) {
            evtimer_del(d->timer);
            event_active(d->timer, EV_TIMEOUT, 0);
            n++;
        }
    }
    return n;
}

size_t
sbx_outbox_pending(struct sbx_platform *p)
{
    struct sbx_delivery *d;
    size_t               n = 0;

    for (d = p->sbx->deliveries; d != NULL; d = d->next) {
        if (d->p == p)
            n++;
    }
    return n;
}

void
sbx_outbox_drop_platform(struct sbx_platform *p)
{
    struct sbx_delivery *d;
    struct sbx_delivery *next;

    for (d = p->sbx->deliveries; d != NULL; d = next) {
        next = d->next;
        if (d->p == p)
            delivery_free(d);
    }
}

void
sbx_outbox_free_all(struct sbx *s)
{
    while (s->deliveries != NULL)
        delivery_free(s->deliveries);
}
