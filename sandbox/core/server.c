/*
 * Request dispatch of simplix-sandbox: builds a `struct sbx_req`, logs it, serves the control
 * API under /_sandbox/, applies fault rules, calls the platform module and sends its answer
 * (possibly delayed, truncated, malformed or dropped).
 */
#include "sbx_int.h"

#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/http_struct.h>
#include <json-c/json.h>

#define MAX_BODY (16 * 1024 * 1024)

/* ------------------------------------------------------------------ clock */

static int64_t
real_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
sbx_now_ms(const struct sbx *s)
{
    if (s->clock_frozen)
        return s->clock_frozen_ms;
    return real_ms() + s->clock_offset_ms;
}

int64_t
sbx_now(const struct sbx *s)
{
    int64_t ms = sbx_now_ms(s);

    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

const struct sbx_config *
sbx_config(const struct sbx *s)
{
    return &s->cfg;
}

struct event_base *
sbx_base(const struct sbx *s)
{
    return s->base;
}

/* ------------------------------------------------------------------ request helpers */

const char *
sbx_req_header(const struct sbx_req *req, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(req->ev), name);
}

const char *
sbx_req_query(const struct sbx_req *req, const char *key)
{
    size_t i;

    for (i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) == 0)
            return req->query[i].value;
    }
    return NULL;
}

size_t
sbx_req_query_count(const struct sbx_req *req, const char *key)
{
    size_t i;
    size_t n = 0;

    for (i = 0; i < req->nquery; i++) {
        if (strcmp(req->query[i].key, key) == 0)
            n++;
    }
    return n;
}

struct json_object *
sbx_req_json(const struct sbx_req *req)
{
    struct json_tokener *tok;
    struct json_object  *obj;

    if (req->body_len == 0 || req->body_len > INT32_MAX)
        return NULL;
    tok = json_tokener_new();
    if (tok == NULL)
        return NULL;
    obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
    if (obj != NULL && json_tokener_get_parse_end(tok) != req->body_len) {
        /* Trailing garbage after a complete value: not JSON. */
        size_t i;

        for (i = json_tokener_get_parse_end(tok); i < req->body_len; i++) {
            if (req->body[i] != ' ' && req->body[i] != '\n' && req->body[i] != '\r' &&
                req->body[i] != '\t') {
                json_object_put(obj);
                obj = NULL;
                break;
            }
        }
    }
    json_tokener_free(tok);
    return obj;
}

void
sbx_resp_header(struct sbx_resp *resp, const char *name, const char *value)
{
    evhttp_remove_header(resp->headers, name);
    evhttp_add_header(resp->headers, name, value);
}

void
sbx_resp_json(struct sbx_resp *resp, int status, const char *json)
{
    resp->status = status;
    evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
    evbuffer_add(resp->body, json, strlen(json));
    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
}

void
sbx_resp_printf(struct sbx_resp *resp, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    evbuffer_add_vprintf(resp->body, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------ logs */

static char *
dup_capped(const char *s, size_t len, size_t cap)
{
    char *p;

    if (len > cap)
        len = cap;
    p = malloc(len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static struct log_entry *
log_push(struct sbx *s, const struct sbx_req *req)
{
    struct log_entry *e = &s->log[req->seq % s->log_cap];

    free(e->uri);
    free(e->body);
    memset(e, 0, sizeof(*e));
    e->seq = req->seq;
    e->t_ms = sbx_now_ms(s);
    e->platform = req->platform->ops->name;
    snprintf(e->method, sizeof(e->method), "%s", req->method_name);
    e->uri = dup_capped(req->uri, strlen(req->uri), 2048);
    e->body = req->body_len > 0 ? dup_capped(req->body, req->body_len, SBX_LOG_BODY_CAP) : NULL;
    e->body_len = req->body_len;
    return e;
}

void
sbx_log_delivery(struct sbx *s, struct sbx_platform *p, const char *label, const char *url,
                 int attempt, int status, bool ok, bool final, const char *error)
{
    uint64_t           seq = s->next_dseq++;
    struct dlog_entry *e = &s->dlog[seq % s->dlog_cap];

    free(e->label);
    free(e->url);
    memset(e, 0, sizeof(*e));
    e->seq = seq;
    e->t_ms = sbx_now_ms(s);
    e->platform = p->ops->name;
    e->label = dup_capped(label ? label : "", label ? strlen(label) : 0, 256);
    e->url = dup_capped(url, strlen(url), 1024);
    e->attempt = attempt;
    e->status = status;
    e->ok = ok;
    e->final = final;
    snprintf(e->error, sizeof(e->error), "%s", error ? error : "");
    if (s->cfg.verbose)
        fprintf(stderr, "[%s] deliver %s -> %s attempt %d: %d%s%s\n", p->ops->name,
                e->label ? e->label : "", url, attempt, status, error ? " " : "",
                error ? error : "");
}

/* ------------------------------------------------------------------ faults */

static const char *const fault_kinds[] = {
    "5xx", "429", "slow", "drop", "truncate", "malformed", NULL
};

static const char *
fault_kind_canon(const char *k)
{
    size_t i;

    for (i = 0; fault_kinds[i] != NULL; i++) {
        if (strcmp(fault_kinds[i], k) == 0)
            return fault_kinds[i];
    }
    return NULL;
}

void
sbx_faults_clear(struct sbx_platform *p)
{
    size_t i;

    for (i = 0; i < p->faults->n; i++)
        free(p->faults->rules[i].path);
    p->faults->n = 0;
    p->faults->generation++;
    /* Re-seed so that a given rule set fires on the same requests every run. */
    sbx_rng_init(&p->faults->rng, p->sbx->cfg.seed, p->ops->name, p->faults->generation);
}

static int
fault_add(struct sbx_platform *p, const struct fault_rule *r, char *errbuf, size_t errcap)
{
    struct fault_rule *dst;

    if (p->faults->n >= SBX_MAX_FAULTS) {
        snprintf(errbuf, errcap, "too many fault rules (max %d)", SBX_MAX_FAULTS);
        return -1;
    }
    dst = &p->faults->rules[p->faults->n++];
    *dst = *r;
    if (r->path != NULL) {
        dst->path = strdup(r->path);
        if (dst->path == NULL) {
            p->faults->n--;
            snprintf(errbuf, errcap, "out of memory");
            return -1;
        }
    }
    return 0;
}

static void
fault_defaults(struct fault_rule *r)
{
    memset(r, 0, sizeof(*r));
    r->remaining = -1;
    r->status = 503;
    r->delay_ms = 3000;
}

/* --fault PLATFORM:KIND:RATE[:PATH_GLOB] */
int
sbx_fault_parse_cli(struct sbx *s, const char *spec)
{
    struct fault_rule r;
    char              buf[512];
    char             *kind;
    char             *rate;
    char             *path;
    char             *end;
    char              err[128];
    size_t            i;
    const char       *canon;

    if (strlen(spec) >= sizeof(buf)) {
        fprintf(stderr, "--fault: spec too long\n");
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    kind = strchr(buf, ':');
    if (kind == NULL)
        goto bad;
    *kind++ = '\0';
    rate = strchr(kind, ':');
    if (rate == NULL)
        goto bad;
    *rate++ = '\0';
    path = strchr(rate, ':');
    if (path != NULL)
        *path++ = '\0';
    fault_defaults(&r);
    canon = fault_kind_canon(kind);
    if (canon == NULL)
        goto bad;
    snprintf(r.kind, sizeof(r.kind), "%s", canon);
    errno = 0;
    r.rate = strtod(rate, &end);
    if (errno != 0 || *end != '\0' || r.rate < 0 || r.rate > 1)
        goto bad;
    r.path = path;
    for (i = 0; i < s->nplatforms; i++) {
        if (strcmp(s->platforms[i].ops->name, buf) == 0) {
            if (fault_add(&s->platforms[i], &r, err, sizeof(err)) < 0) {
                fprintf(stderr, "--fault %s: %s\n", spec, err);
                return -1;
            }
            return 0;
        }
    }
    fprintf(stderr, "--fault %s: unknown platform '%s'\n", spec, buf);
    return -1;
bad:
    fprintf(stderr, "--fault %s: expected PLATFORM:KIND:RATE[:PATH_GLOB], KIND one of "
                    "5xx 429 slow drop truncate malformed, RATE in [0,1]\n", spec);
    return -1;
}

static const struct fault_rule *
fault_decide(struct sbx_platform *p, const struct sbx_req *req)
{
    struct sbx_fault_rules *fr = p->faults;
    struct fault_rule      *hit = NULL;
    struct fault_rule      *r;
    size_t                  i;
    bool                    fire;
    double                  u;

    for (i = 0; i < fr->n; i++) {
        r = &fr->rules[i];
        if (r->method[0] != '\0' && strcmp(r->method, req->method_name) != 0)
            continue;
        if (r->path != NULL && fnmatch(r->path, req->path, 0) != 0)
            continue;
        r->matched++;
        /* One draw per matching rule and request keeps the sequence reproducible. */
        u = sbx_rng_unit(&fr->rng);
        if (r->every > 0)
            fire = r->matched % (uint64_t)r->every == 0;
        else
            fire = u < r->rate;
        if (!fire || r->remaining == 0 || hit != NULL)
            continue;
        if (r->remaining > 0)
            r->remaining--;
        r->fired++;
        hit = r;
    }
    return hit;
}

static void
generic_fault_reply(struct sbx_platform *p, struct sbx_req *req, const char *kind, int status,
                    struct sbx_resp *resp)
{
    if (p->ops->fault_reply != NULL) {
        p->ops->fault_reply(p, req, kind, status, resp);
        return;
    }
    if (strcmp(kind, "429") == 0) {
        sbx_resp_header(resp, "Retry-After", "2");
        sbx_resp_json(resp, 429, "{\"errors\":\"Too Many Requests\"}");
        return;
    }
    sbx_resp_json(resp, status, "{\"errors\":\"Internal Server Error\"}");
}

/* ------------------------------------------------------------------ sending, delayed replies */

struct pending_reply {
    struct sbx                *s;
    struct evhttp_request     *ev;
    struct evhttp_connection  *evcon;
    struct event              *timer;
    struct evbuffer           *body;
    int                        status;
    const char                *kind;     /* "slow", "drop", "truncate" */
    struct pending_reply      *next;
};

static void
pending_unlink(struct sbx *s, struct pending_reply *pr)
{
    struct pending_reply **pp;

    for (pp = &s->pending; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == pr) {
            *pp = pr->next;
            return;
        }
    }
}

static void
pending_free(struct pending_reply *pr)
{
    pending_unlink(pr->s, pr);
    if (pr->timer != NULL)
        event_free(pr->timer);
    if (pr->body != NULL)
        evbuffer_free(pr->body);
    free(pr);
}

static void
pending_conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct pending_reply *pr = arg;

    /* The client went away while we waited: libevent frees the request itself. */
    (void)evcon;
    pending_free(pr);
}

static void
send_truncated(struct pending_reply *pr)
{
    struct evbuffer   *raw;
    struct evkeyval   *h;
    struct evkeyvalq  *hdrs = evhttp_request_get_output_headers(pr->ev);
    struct bufferevent *bev;
    size_t             full = evbuffer_get_length(pr->body);
    size_t             len;
    ssize_t            w;
    evutil_socket_t    fd;
    unsigned char     *data;

    /*
     * Announce the full Content-Length, send half of the body and close: the client sees a
     * body cut short, which evhttp itself never produces.
     */
    raw = evbuffer_new();
    if (raw == NULL)
        return;
    evbuffer_add_printf(raw, "HTTP/1.1 %d OK\r\n", pr->status);
    TAILQ_FOREACH(h, hdrs, next) {
        if (evutil_ascii_strcasecmp(h->key, "Content-Length") == 0 ||
            evutil_ascii_strcasecmp(h->key, "Connection") == 0)
            continue;
        evbuffer_add_printf(raw, "%s: %s\r\n", h->key, h->value);
    }
    evbuffer_add_printf(raw, "Content-Length: %zu\r\nConnection: close\r\n\r\n", full);
    evbuffer_add(raw, evbuffer_pullup(pr->body, -1), full / 2);
    len = evbuffer_get_length(raw);
    data = evbuffer_pullup(raw, -1);
    bev = evhttp_connection_get_bufferevent(pr->evcon);
    fd = bev != NULL ? bufferevent_getfd(bev) : -1;
    if (fd >= 0) {
        w = send(fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)w;    /* a short write only truncates further, which is the point */
    }
    evbuffer_free(raw);
}

static void
pending_fire(evutil_socket_t fd, short what, void *arg)
{
    struct pending_reply     *pr = arg;
    struct evhttp_connection *evcon = pr->evcon;

    (void)fd;
    (void)what;
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    if (strcmp(pr->kind, "slow") == 0) {
        evhttp_send_reply(pr->ev, pr->status, NULL, pr->body);
        pending_free(pr);
        return;
    }
    if (strcmp(pr->kind, "truncate") == 0)
        send_truncated(pr);
    pending_free(pr);
    /* drop and truncate: close the connection under the request. */
    evhttp_connection_free(evcon);
}

static int
pending_start(struct sbx *s, struct evhttp_request *ev, struct sbx_resp *resp,
              const char *kind, int delay_ms)
{
    struct pending_reply *pr;
    struct timeval        tv;

    pr = calloc(1, sizeof(*pr));
    if (pr == NULL)
        return -1;
    pr->s = s;
    pr->ev = ev;
    pr->evcon = evhttp_request_get_connection(ev);
    pr->body = resp->body;
    pr->status = resp->status;
    pr->kind = kind;
    pr->timer = evtimer_new(s->base, pending_fire, pr);
    if (pr->timer == NULL || pr->evcon == NULL) {
        if (pr->timer != NULL)
            event_free(pr->timer);
        free(pr);
        return -1;
    }
    resp->body = NULL;
    pr->next = s->pending;
    s->pending = pr;
    evhttp_connection_set_closecb(pr->evcon, pending_conn_closed, pr);
    tv.tv_sec = delay_ms / 1000;
    tv.tv_usec = (delay_ms % 1000) * 1000;
    evtimer_add(pr->timer, &tv);
    return 0;
}

/* ------------------------------------------------------------------ control API (core part) */

static void
write_log_entry(struct sbx_jw *w, const struct log_entry *e)
{
    sbx_jw_obj(w);
    sbx_jw_key(w, "seq");
    sbx_jw_u64(w, e->seq);
    sbx_jw_ki64(w, "t_ms", e->t_ms);
    sbx_jw_kstr(w, "platform", e->platform);
    sbx_jw_kstr(w, "method", e->method);
    sbx_jw_kstr(w, "uri", e->uri);
    sbx_jw_ki64(w, "status", e->status);
    sbx_jw_kstr(w, "fault", e->fault);
    sbx_jw_ki64(w, "duration_us", e->dur_us);
    sbx_jw_ki64(w, "body_len", (int64_t)e->body_len);
    sbx_jw_kstr(w, "body", e->body);
    sbx_jw_obj_end(w);
}

static void
ctl_requests(struct sbx *s, struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    struct sbx_jw w;
    int64_t       since = 0;
    int64_t       limit = 1000;
    const char   *all = sbx_req_query(req, "all");
    uint64_t      first;
    uint64_t      seq;
    size_t        n = 0;

    if (req->method == SBX_DELETE) {
        /* Forget the log: entries below next_seq are simply no longer reported. */
        for (seq = 0; seq < s->log_cap; seq++) {
            free(s->log[seq].uri);
            free(s->log[seq].body);
            memset(&s->log[seq], 0, sizeof(s->log[seq]));
        }
        sbx_resp_json(resp, 200, "{\"ok\":true}");
        return;
    }
    if (sbx_req_query(req, "since") != NULL &&
        sbx_parse_i64(sbx_req_query(req, "since"), 0, INT64_MAX, &since) < 0) {
        sbx_resp_json(resp, 400, "{\"error\":\"since must be a request sequence number\"}");
        return;
    }
    if (sbx_req_query(req, "limit") != NULL &&
        sbx_parse_i64(sbx_req_query(req, "limit"), 1, 100000, &limit) < 0) {
        sbx_resp_json(resp, 400, "{\"error\":\"limit must be 1..100000\"}");
        return;
    }
    first = s->next_seq > s->log_cap ? s->next_seq - s->log_cap : 0;
    if ((uint64_t)since > first)
        first = (uint64_t)since;
    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, "next_seq");
    sbx_jw_u64(&w, s->next_seq);
    sbx_jw_key(&w, "requests");
    sbx_jw_arr(&w);
    for (seq = first; seq < s->next_seq && n < (uint64_t)limit; seq++) {
        const struct log_entry *e = &s->log[seq % s->log_cap];

        if (e->seq != seq || e->uri == NULL)
            continue;
        /* The log of a port shows its own platform unless ?all=1. */
        if ((all == NULL || strcmp(all, "1") != 0) && strcmp(e->platform, p->ops->name) != 0)
            continue;
        /* Control calls are logged too but hidden unless asked for. */
        if (sbx_req_query(req, "control") == NULL && strncmp(e->uri, "/_sandbox", 9) == 0)
            continue;
        write_log_entry(&w, e);
        n++;
    }
    sbx_jw_arr_end(&w);
    sbx_jw_obj_end(&w);
}

static void
ctl_deliveries(struct sbx *s, struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    struct sbx_jw w;
    int64_t       since = 0;
    uint64_t      first;
    uint64_t      seq;

    if (sbx_req_query(req, "since") != NULL &&
        sbx_parse_i64(sbx_req_query(req, "since"), 0, INT64_MAX, &since) < 0) {
        sbx_resp_json(resp, 400, "{\"error\":\"since must be a sequence number\"}");
        return;
    }
    first = s->next_dseq > s->dlog_cap ? s->next_dseq - s->dlog_cap : 0;
    if ((uint64_t)since > first)
        first = (uint64_t)since;
    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, "next_seq");
    sbx_jw_u64(&w, s->next_dseq);
    sbx_jw_key(&w, "pending");
    sbx_jw_u64(&w, sbx_outbox_pending(p));
    sbx_jw_key(&w, "deliveries");
    sbx_jw_arr(&w);
    for (seq = first; seq < s->next_dseq; seq++) {
        const struct dlog_entry *e = &s->dlog[seq % s->dlog_cap];

        if (e->seq != seq || e->url == NULL || strcmp(e->platform, p->ops->name) != 0)
            continue;
        sbx_jw_obj(&w);
        sbx_jw_key(&w, "seq");
        sbx_jw_u64(&w, e->seq);
        sbx_jw_ki64(&w, "t_ms", e->t_ms);
        sbx_jw_kstr(&w, "label", e->label);
        sbx_jw_kstr(&w, "url", e->url);
        sbx_jw_ki64(&w, "attempt", e->attempt);
        sbx_jw_ki64(&w, "status", e->status);
        sbx_jw_kbool(&w, "ok", e->ok);
        sbx_jw_kbool(&w, "final", e->final);
        sbx_jw_kstr(&w, "error", e->error[0] ? e->error : NULL);
        sbx_jw_obj_end(&w);
    }
    sbx_jw_arr_end(&w);
    sbx_jw_obj_end(&w);
}

static void
write_clock(struct sbx *s, struct sbx_resp *resp)
{
    struct sbx_jw w;
    char          iso[40];

    sbx_time_format(sbx_now(s), 0, true, iso, sizeof(iso));
    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "now", iso);
    sbx_jw_ki64(&w, "now_ms", sbx_now_ms(s));
    sbx_jw_kbool(&w, "frozen", s->clock_frozen);
    sbx_jw_ki64(&w, "offset_ms", s->clock_frozen ? sbx_now_ms(s) - real_ms() : s->clock_offset_ms);
    sbx_jw_obj_end(&w);
}

static void
ctl_clock(struct sbx *s, struct sbx_req *req, struct sbx_resp *resp)
{
    struct json_object *body;
    struct json_object *v;
    int64_t             target_ms;
    int64_t             t;
    bool                have_target = false;

    if (req->method == SBX_GET) {
        write_clock(s, resp);
        return;
    }
    if (req->method != SBX_POST) {
        sbx_resp_json(resp, 405, "{\"error\":\"GET or POST\"}");
        return;
    }
    body = sbx_req_json(req);
    if (body == NULL || !json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        sbx_resp_json(resp, 400, "{\"error\":\"body must be a JSON object: {now|now_ms|advance_s"
                                 "|frozen|real}\"}");
        return;
    }
    target_ms = sbx_now_ms(s);
    if (json_object_object_get_ex(body, "real", &v) && json_object_get_boolean(v)) {
        s->clock_frozen = false;
        s->clock_offset_ms = 0;
        target_ms = real_ms();
    }
    if (json_object_object_get_ex(body, "now", &v)) {
        if (sbx_time_parse(json_object_get_string(v), 0, &t) < 0) {
            json_object_put(body);
            sbx_resp_json(resp, 400, "{\"error\":\"now must be ISO-8601\"}");
            return;
        }
        target_ms = t * 1000;
        have_target = true;
    }
    if (json_object_object_get_ex(body, "now_ms", &v)) {
        target_ms = json_object_get_int64(v);
        have_target = true;
    }
    if (json_object_object_get_ex(body, "advance_s", &v)) {
        target_ms += (int64_t)(json_object_get_double(v) * 1000.0);
        have_target = true;
    }
    if (json_object_object_get_ex(body, "frozen", &v))
        s->clock_frozen = json_object_get_boolean(v);
    if (s->clock_frozen) {
        s->clock_frozen_ms = target_ms;
    } else {
        s->clock_offset_ms = target_ms - real_ms();
    }
    (void)have_target;
    json_object_put(body);
    write_clock(s, resp);
}

static void
write_faults(struct sbx_platform *p, struct sbx_resp *resp)
{
    struct sbx_jw w;
    size_t        i;

    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_key(&w, "rules");
    sbx_jw_arr(&w);
    for (i = 0; i < p->faults->n; i++) {
        const struct fault_rule *r = &p->faults->rules[i];

        sbx_jw_obj(&w);
        sbx_jw_kstr(&w, "kind", r->kind);
        sbx_jw_key(&w, "rate");
        sbx_jw_dbl(&w, r->rate);
        sbx_jw_ki64(&w, "every", r->every);
        sbx_jw_ki64(&w, "remaining", r->remaining);
        sbx_jw_kstr(&w, "path", r->path);
        sbx_jw_kstr(&w, "method", r->method[0] ? r->method : NULL);
        sbx_jw_ki64(&w, "status", r->status);
        sbx_jw_ki64(&w, "delay_ms", r->delay_ms);
        sbx_jw_ki64(&w, "matched", (int64_t)r->matched);
        sbx_jw_ki64(&w, "fired", (int64_t)r->fired);
        sbx_jw_obj_end(&w);
    }
    sbx_jw_arr_end(&w);
    sbx_jw_obj_end(&w);
}

static int
fault_from_json(struct json_object *o, struct fault_rule *r, char *err, size_t errcap)
{
    struct json_object *v;
    const char         *canon;

    fault_defaults(r);
    if (!json_object_is_type(o, json_type_object)) {
        snprintf(err, errcap, "each rule must be an object");
        return -1;
    }
    if (!json_object_object_get_ex(o, "kind", &v) ||
        (canon = fault_kind_canon(json_object_get_string(v))) == NULL) {
        snprintf(err, errcap, "kind must be one of 5xx 429 slow drop truncate malformed");
        return -1;
    }
    snprintf(r->kind, sizeof(r->kind), "%s", canon);
    if (json_object_object_get_ex(o, "rate", &v))
        r->rate = json_object_get_double(v);
    else
        r->rate = 1.0;
    if (r->rate < 0 || r->rate > 1) {
        snprintf(err, errcap, "rate must be in [0,1]");
        return -1;
    }
    if (json_object_object_get_ex(o, "every", &v))
        r->every = json_object_get_int64(v);
    if (json_object_object_get_ex(o, "count", &v))
        r->remaining = json_object_get_int64(v);
    if (json_object_object_get_ex(o, "path", &v) && json_object_is_type(v, json_type_string))
        r->path = (char *)json_object_get_string(v);
    if (json_object_object_get_ex(o, "method", &v) && json_object_is_type(v, json_type_string))
        snprintf(r->method, sizeof(r->method), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "status", &v))
        r->status = json_object_get_int(v);
    if (r->status < 100 || r->status > 599) {
        snprintf(err, errcap, "status must be an HTTP status");
        return -1;
    }
    if (json_object_object_get_ex(o, "delay_ms", &v))
        r->delay_ms = json_object_get_int(v);
    if (r->delay_ms < 0 || r->delay_ms > 600000) {
        snprintf(err, errcap, "delay_ms must be 0..600000");
        return -1;
    }
    if (r->every < 0) {
        snprintf(err, errcap, "every must be >= 0");
        return -1;
    }
    return 0;
}

static void
ctl_faults(struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    struct json_object *body;
    struct json_object *rules;
    struct fault_rule   r;
    char                err[160];
    char                msg[256];
    size_t              i;
    size_t              n;

    if (req->method == SBX_GET) {
        write_faults(p, resp);
        return;
    }
    if (req->method == SBX_DELETE) {
        sbx_faults_clear(p);
        write_faults(p, resp);
        return;
    }
    if (req->method != SBX_POST && req->method != SBX_PUT) {
        sbx_resp_json(resp, 405, "{\"error\":\"GET, POST (add), PUT (replace) or DELETE\"}");
        return;
    }
    body = sbx_req_json(req);
    if (body == NULL) {
        sbx_resp_json(resp, 400, "{\"error\":\"body must be JSON: a rule or {\\\"rules\\\":[...]}\"}");
        return;
    }
    if (!json_object_object_get_ex(body, "rules", &rules))
        rules = NULL;
    if (req->method == SBX_PUT)
        sbx_faults_clear(p);
    n = rules != NULL && json_object_is_type(rules, json_type_array)
        ? json_object_array_length(rules) : 1;
    for (i = 0; i < n; i++) {
        struct json_object *o = rules != NULL ? json_object_array_get_idx(rules, i) : body;

        if (fault_from_json(o, &r, err, sizeof(err)) < 0 ||
            fault_add(p, &r, err, sizeof(err)) < 0) {
            json_object_put(body);
            snprintf(msg, sizeof(msg), "{\"error\":\"rule %zu: %s\"}", i, err);
            sbx_resp_json(resp, 400, msg);
            return;
        }
    }
    json_object_put(body);
    write_faults(p, resp);
}

static void
ctl_state(struct sbx *s, struct sbx_platform *p, struct sbx_resp *resp)
{
    struct sbx_jw w;
    char          iso[40];

    sbx_time_format(sbx_now(s), 0, true, iso, sizeof(iso));
    sbx_resp_header(resp, "Content-Type", "application/json; charset=utf-8");
    sbx_jw_init(&w, resp->body);
    sbx_jw_obj(&w);
    sbx_jw_kstr(&w, "platform", p->ops->name);
    sbx_jw_kstr(&w, "base_url", p->base_url);
    sbx_jw_key(&w, "seed");
    sbx_jw_u64(&w, s->cfg.seed);
    sbx_jw_kstr(&w, "clock", iso);
    sbx_jw_key(&w, "requests_total");
    sbx_jw_u64(&w, s->next_seq);
    sbx_jw_key(&w, "outbox_pending");
    sbx_jw_u64(&w, sbx_outbox_pending(p));
    sbx_jw_key(&w, "fault_rules");
    sbx_jw_u64(&w, p->faults->n);
    if (p->ops->state != NULL)
        p->ops->state(p, &w);
    sbx_jw_obj_end(&w);
}

static const char ctl_index[] =
    "{\"endpoints\":["
    "\"GET /_sandbox/health\","
    "\"GET /_sandbox/state\","
    "\"POST /_sandbox/reset\","
    "\"GET|POST /_sandbox/clock\","
    "\"GET|POST|PUT|DELETE /_sandbox/faults\","
    "\"GET|DELETE /_sandbox/requests?since=SEQ&limit=N&all=1&control=1\","
    "\"GET /_sandbox/deliveries?since=SEQ\","
    "\"POST /_sandbox/deliveries/flush\""
    "],\"platform_actions\":\"see docs/SANDBOX.md\"}";

static void
control(struct sbx *s, struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp)
{
    const char *action = req->path + strlen("/_sandbox");
    char        msg[160];

    if (*action == '/')
        action++;
    if (*action == '\0') {
        sbx_resp_json(resp, 200, ctl_index);
    } else if (strcmp(action, "health") == 0) {
        snprintf(msg, sizeof(msg), "{\"ok\":true,\"platform\":\"%s\"}", p->ops->name);
        sbx_resp_json(resp, 200, msg);
    } else if (strcmp(action, "state") == 0) {
        ctl_state(s, p, resp);
    } else if (strcmp(action, "reset") == 0 && req->method == SBX_POST) {
        sbx_outbox_drop_platform(p);
        sbx_faults_clear(p);
        if (p->ops->reset != NULL && p->ops->reset(p) < 0) {
            sbx_resp_json(resp, 500, "{\"error\":\"reset failed\"}");
            return;
        }
        sbx_resp_json(resp, 200, "{\"ok\":true}");
    } else if (strcmp(action, "clock") == 0) {
        ctl_clock(s, req, resp);
    } else if (strcmp(action, "faults") == 0) {
        ctl_faults(p, req, resp);
    } else if (strcmp(action, "requests") == 0) {
        ctl_requests(s, p, req, resp);
    } else if (strcmp(action, "deliveries") == 0 && req->method == SBX_GET) {
        ctl_deliveries(s, p, req, resp);
    } else if (strcmp(action, "deliveries/flush") == 0 && req->method == SBX_POST) {
        snprintf(msg, sizeof(msg), "{\"ok\":true,\"flushed\":%zu}", sbx_outbox_flush(p));
        sbx_resp_json(resp, 200, msg);
    } else if (p->ops->control == NULL || p->ops->control(p, action, req, resp) < 0) {
        evbuffer_drain(resp->body, evbuffer_get_length(resp->body));
        snprintf(msg, sizeof(msg), "{\"error\":\"no control action %s %.80s\"}",
                 req->method_name, action);
        sbx_resp_json(resp, 404, msg);
    }
}

/* ------------------------------------------------------------------ dispatch */

static enum sbx_method
method_of(struct evhttp_request *ev, const char **name)
{
    switch (evhttp_request_get_command(ev)) {
    case EVHTTP_REQ_GET:
        *name = "GET";
        return SBX_GET;
    case EVHTTP_REQ_POST:
        *name = "POST";
        return SBX_POST;
    case EVHTTP_REQ_PUT:
        *name = "PUT";
        return SBX_PUT;
    case EVHTTP_REQ_DELETE:
        *name = "DELETE";
        return SBX_DELETE;
    case EVHTTP_REQ_PATCH:
        *name = "PATCH";
        return SBX_PATCH;
    case EVHTTP_REQ_HEAD:
        *name = "HEAD";
        return SBX_HEAD;
    case EVHTTP_REQ_OPTIONS:
        *name = "OPTIONS";
        return SBX_OPTIONS;
    default:
        *name = "OTHER";
        return SBX_OTHER;
    }
}

static int
build_req(struct sbx_platform *p, struct evhttp_request *ev, struct sbx_req *req)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
    const char              *raw_path;
    const char              *raw_query;
    struct evkeyvalq         q;
    struct evkeyval         *kv;
    struct evbuffer         *in;
    char                    *decoded;
    size_t                   n = 0;
    size_t                   len;

    memset(req, 0, sizeof(*req));
    req->platform = p;
    req->ev = ev;
    req->arena = sbx_arena_new();
    if (req->arena == NULL)
        return -1;
    req->method = method_of(ev, &req->method_name);
    req->uri = evhttp_request_get_uri(ev);
    raw_path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    raw_query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    if (raw_path == NULL || raw_path[0] == '\0')
        raw_path = "/";
    decoded = evhttp_uridecode(raw_path, 0, &len);
    if (decoded == NULL)
        return -1;
    req->path = sbx_arena_strndup(req->arena, decoded, len);
    free(decoded);
    if (req->path == NULL)
        return -1;

    TAILQ_INIT(&q);
    if (raw_query != NULL && raw_query[0] != '\0') {
        if (evhttp_parse_query_str(raw_query, &q) < 0) {
            evhttp_clear_headers(&q);
            return -2;
        }
    }
    TAILQ_FOREACH(kv, &q, next) {
        n++;
    }
    req->query = sbx_arena_alloc(req->arena, (n + 1) * sizeof(*req->query));
    if (req->query == NULL) {
        evhttp_clear_headers(&q);
        return -1;
    }
    n = 0;
    TAILQ_FOREACH(kv, &q, next) {
        req->query[n].key = sbx_arena_strdup(req->arena, kv->key);
        req->query[n].value = sbx_arena_strdup(req->arena, kv->value);
        n++;
    }
    req->nquery = n;
    evhttp_clear_headers(&q);

    in = evhttp_request_get_input_buffer(ev);
    len = evbuffer_get_length(in);
    if (len > MAX_BODY)
        return -3;
    req->body = sbx_arena_alloc(req->arena, len + 1);
    if (req->body == NULL)
        return -1;
    evbuffer_copyout(in, (char *)req->body, len);
    ((char *)req->body)[len] = '\0';
    req->body_len = len;
    return 0;
}

void
sbx_http_cb(struct evhttp_request *ev, void *arg)
{
    struct sbx_platform     *p = arg;
    struct sbx              *s = p->sbx;
    struct sbx_req           req;
    struct sbx_resp          resp;
    struct log_entry        *le;
    const struct fault_rule *fault = NULL;
    int64_t                  t0 = mono_us();
    int                      rc;
    bool                     is_control;
    int                      delay = 0;

    memset(&resp, 0, sizeof(resp));
    resp.status = 200;
    resp.headers = evhttp_request_get_output_headers(ev);
    resp.body = evbuffer_new();
    if (resp.body == NULL) {
        evhttp_send_error(ev, 500, "out of memory");
        return;
    }
    rc = build_req(p, ev, &req);
    req.seq = s->next_seq++;
    if (rc < 0) {
        evhttp_send_error(ev, rc == -3 ? 413 : 400, rc == -3 ? "body too large" : "bad request");
        evbuffer_free(resp.body);
        sbx_arena_free(req.arena);
        return;
    }
    le = log_push(s, &req);

    is_control = strncmp(req.path, "/_sandbox", 9) == 0 &&
                 (req.path[9] == '\0' || req.path[9] == '/');
    if (is_control) {
        resp.no_fault = true;
        control(s, p, &req, &resp);
    } else {
        fault = fault_decide(p, &req);
        if (fault != NULL && (strcmp(fault->kind, "5xx") == 0 ||
                              strcmp(fault->kind, "429") == 0)) {
            generic_fault_reply(p, &req, fault->kind,
                                strcmp(fault->kind, "429") == 0 ? 429 : fault->status, &resp);
        } else {
            p->ops->handle(p, &req, &resp);
        }
        if (fault != NULL && strcmp(fault->kind, "malformed") == 0) {
            /* Keep the status and headers, ruin the body: half of it plus non-JSON. */
            size_t len = evbuffer_get_length(resp.body);

            evbuffer_drain(resp.body, len - len / 2);
            evbuffer_add_printf(resp.body, "<html><body>upstream error</body>");
        }
    }
    if (fault != NULL)
        resp.fault_applied = fault->kind;

    le->status = resp.status;
    le->fault = resp.fault_applied;
    le->dur_us = mono_us() - t0;
    if (s->cfg.verbose)
        fprintf(stderr, "[%s] #%" PRIu64 " %s %s -> %d%s%s\n", p->ops->name, req.seq,
                req.method_name, req.uri, resp.status, fault ? " fault=" : "",
                fault ? fault->kind : "");

    if (fault != NULL && (strcmp(fault->kind, "slow") == 0 ||
                          strcmp(fault->kind, "drop") == 0 ||
                          strcmp(fault->kind, "truncate") == 0)) {
        delay = strcmp(fault->kind, "slow") == 0 ? fault->delay_ms : 0;
        if (pending_start(s, ev, &resp, fault->kind, delay) == 0) {
            sbx_arena_free(req.arena);
            return;
        }
    }
    evhttp_send_reply(ev, resp.status, NULL, resp.body);
    evbuffer_free(resp.body);
    sbx_arena_free(req.arena);
}

void
sbx_server_free(struct sbx *s)
{
    size_t i;

    while (s->pending != NULL) {
        evhttp_connection_set_closecb(s->pending->evcon, NULL, NULL);
        pending_free(s->pending);
    }
    for (i = 0; s->log != NULL && i < s->log_cap; i++) {
        free(s->log[i].uri);
        free(s->log[i].body);
    }
    free(s->log);
    for (i = 0; s->dlog != NULL && i < s->dlog_cap; i++) {
        free(s->dlog[i].label);
        free(s->dlog[i].url);
    }
    free(s->dlog);
}
