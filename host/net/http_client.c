#include "net/http_client.h"

#include "core/buf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef SX_HUB_VERSION
#define SX_HUB_VERSION "0"
#endif

#define DEFAULT_IDLE_HANDLES  8
#define ERR_BODY_SNIPPET      200     /* bytes of an error body quoted in err->msg */
#define URL_LOG_MAX           512

struct hub_http_client {
    pthread_mutex_t mu;               /* idle pool */
    CURL          **idle;
    uint32_t        n_idle;
    uint32_t        max_idle;
    char           *ca_file;
    char           *user_agent;
    uint32_t        connect_timeout_ms;
    uint32_t        timeout_ms;
    size_t          max_body;
    uint32_t        max_headers;
    size_t          max_header_bytes;
    int             https_only;
};

/* Why a callback stopped the transfer (curl only says CURLE_WRITE_ERROR). */
enum {
    ABORT_NONE = 0,
    ABORT_BODY_LIMIT,
    ABORT_HEADER_COUNT,
    ABORT_HEADER_BYTES,
    ABORT_HEADER_SYNTAX,
    ABORT_NOMEM
};

struct xfer {
    struct hub_arena *arena;
    struct hub_buf    body;
    sx_http_header   *headers;
    size_t            n_headers;
    size_t            alloc_headers;
    size_t            max_headers;
    size_t            header_bytes;
    size_t            max_header_bytes;
    int               abort_reason;
};

/* ---- global ------------------------------------------------------------------------------ */

int
hub_http_global_init(struct hub_error *err)
{
    CURLcode rc;

    rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return hub_error_set(err, HUB_E_INTERNAL, "curl_global_init: %s", curl_easy_strerror(rc));
    return 0;
}

void
hub_http_global_cleanup(void)
{
    curl_global_cleanup();
}

/* ---- client --------------------------------------------------------------------------------- */

int
hub_http_client_new(const struct hub_http_client_opts *opts, struct hub_http_client **out,
                    struct hub_error *err)
{
    struct hub_http_client_opts none;
    struct hub_http_client     *c;
    int                         rc;

    if (opts == NULL) {
        memset(&none, 0, sizeof(none));
        opts = &none;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "http client: out of memory");
    c->max_idle = opts->max_idle_handles != 0 ? opts->max_idle_handles : DEFAULT_IDLE_HANDLES;
    c->idle = calloc(c->max_idle, sizeof(*c->idle));
    if (c->idle == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "http client: out of memory");
        goto free_c;
    }
    if (opts->ca_file != NULL) {
        c->ca_file = strdup(opts->ca_file);
        if (c->ca_file == NULL) {
            rc = hub_error_set(err, HUB_E_NOMEM, "http client: out of memory");
            goto free_idle;
        }
    }
    c->user_agent = strdup(opts->user_agent != NULL ? opts->user_agent
                                                    : "simplix-hub/" SX_HUB_VERSION);
    if (c->user_agent == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "http client: out of memory");
        goto free_ca;
    }
    c->connect_timeout_ms = opts->connect_timeout_ms != 0 ? opts->connect_timeout_ms
                                                          : HUB_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    c->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : HUB_HTTP_DEFAULT_TIMEOUT_MS;
    c->max_body = opts->max_body != 0 ? opts->max_body : HUB_HTTP_DEFAULT_MAX_BODY;
    c->max_headers = opts->max_headers != 0 ? opts->max_headers : HUB_HTTP_DEFAULT_MAX_HEADERS;
    c->max_header_bytes = opts->max_header_bytes != 0 ? opts->max_header_bytes
                                                      : HUB_HTTP_DEFAULT_MAX_HEADER_BYTES;
    c->https_only = opts->https_only;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;

free_ca:
    free(c->ca_file);
free_idle:
    free(c->idle);
free_c:
    free(c);
    return rc;
}

void
hub_http_client_free(struct hub_http_client *c)
{
    uint32_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->n_idle; i++)
        curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->mu);
    free(c->idle);
    free(c->ca_file);
    free(c->user_agent);
    free(c);
}

uint32_t
hub_http_client_timeout_ms(const struct hub_http_client *c)
{
    return c->timeout_ms;
}

static CURL *
handle_take(struct hub_http_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->n_idle > 0)
        h = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->mu);
    if (h == NULL)
        h = curl_easy_init();
    return h;
}

/* Reset keeps the handle's live connections, TLS sessions and DNS cache for the next use. */
static void
handle_give_back(struct hub_http_client *c, CURL *h)
{
    curl_easy_reset(h);
    pthread_mutex_lock(&c->mu);
    if (c->n_idle < c->max_idle) {
        c->idle[c->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h != NULL)
        curl_easy_cleanup(h);
}

/* ---- small helpers ------------------------------------------------------------------------ */

const char *
hub_http_method_name(int method)
{
    switch (method) {
    case HUB_HTTP_GET:    return "GET";
    case HUB_HTTP_POST:   return "POST";
    case HUB_HTTP_PUT:    return "PUT";
    case HUB_HTTP_PATCH:  return "PATCH";
    case HUB_HTTP_DELETE: return "DELETE";
    case HUB_HTTP_HEAD:   return "HEAD";
    default:              return "?";
    }
}

int
hub_http_status_code(int status)
{
    if (status >= 100 && status < 400)
        return 0;
    switch (status) {
    case 401:
    case 403:
        return HUB_E_AUTH;
    case 404:
    case 410:
        return HUB_E_NOT_FOUND;
    case 408:
        return HUB_E_TRANSIENT;
    case 409:
        return HUB_E_CONFLICT;
    case 429:
        return HUB_E_RATE_LIMITED;
    case 501:
        return HUB_E_UNSUPPORTED;
    default:
        break;
    }
    if (status >= 400 && status < 500)
        return HUB_E_REJECTED;
    if (status >= 500 && status < 600)
        return HUB_E_TRANSIENT;
    return HUB_E_PROTOCOL;
}

static int
ci_contains(const char *s, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;

    if (n > len)
        return 0;
    for (i = 0; i + n <= len; i++) {
        if (strncasecmp(s + i, needle, n) == 0)
            return 1;
    }
    return 0;
}

static int
ci_equal(const char *s, size_t len, const char *lit)
{
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

int
hub_http_header_is_secret(const char *name, size_t len)
{
    static const char *const exact[] = {
        "authorization", "proxy-authorization", "cookie", "set-cookie",
        "x-shopify-access-token"
    };
    static const char *const parts[] = {
        "token", "secret", "key", "signature", "password", "auth", "hmac"
    };
    size_t i;

    for (i = 0; i < sizeof(exact) / sizeof(exact[0]); i++) {
        if (ci_equal(name, len, exact[i]))
            return 1;
    }
    for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        if (ci_contains(name, len, parts[i]))
            return 1;
    }
    return 0;
}

void
hub_http_url_for_log(sx_str url, char *out, size_t cap)
{
    const char *p = url.ptr != NULL ? url.ptr : "";
    size_t      len = url.len, i, scheme_end = 0, auth_start, auth_end, path_end, at;
    int         n;

    if (cap == 0)
        return;
    out[0] = '\0';
    for (i = 0; i + 2 < len; i++) {
        if (p[i] == ':' && p[i + 1] == '/' && p[i + 2] == '/') {
            scheme_end = i;
            break;
        }
        if (p[i] == '/' || p[i] == '?')
            break;
    }
    if (scheme_end == 0) {
        /* not absolute: keep the path part only */
        for (path_end = 0; path_end < len && p[path_end] != '?' && p[path_end] != '#';
             path_end++)
            continue;
        snprintf(out, cap, "%.*s", (int)(path_end < 400 ? path_end : 400), p);
        return;
    }
    auth_start = scheme_end + 3;
    for (auth_end = auth_start; auth_end < len; auth_end++) {
        if (p[auth_end] == '/' || p[auth_end] == '?' || p[auth_end] == '#')
            break;
    }
    /* user:password@host: drop the userinfo */
    at = auth_start;
    for (i = auth_start; i < auth_end; i++) {
        if (p[i] == '@')
            at = i + 1;
    }
    for (path_end = auth_end; path_end < len; path_end++) {
        if (p[path_end] == '?' || p[path_end] == '#')
            break;
    }
    n = snprintf(out, cap, "%.*s://%.*s%.*s", (int)(scheme_end < 16 ? scheme_end : 16), p,
                 (int)(auth_end - at < 256 ? auth_end - at : 256), p + at,
                 (int)(path_end - auth_end < 400 ? path_end - auth_end : 400), p + auth_end);
    (void)n;
}

int
hub_http_resp_header(const struct hub_http_resp *resp, const char *name, sx_str *out)
{
    size_t i, len = strlen(name);

    for (i = 0; i < resp->n_headers; i++) {
        if (resp->headers[i].name.len == len &&
            strncasecmp(resp->headers[i].name.ptr, name, len) == 0) {
            *out = resp->headers[i].value;
            return 0;
        }
    }
    return HUB_E_NOT_FOUND;
}

/* ---- request validation ------------------------------------------------------------------ */

static int
is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
url_chars_ok(sx_str s)
{
    size_t i;

    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];

        if (c <= 0x20 || c >= 0x7f)
            return 0;
    }
    return 1;
}

static int
req_check(const struct hub_http_client *c, const struct hub_http_req *req, const char *logurl,
          struct hub_error *err)
{
    const char *m = hub_http_method_name(req->method);
    size_t      i, j;

    if (strcmp(m, "?") == 0)
        return hub_error_set(err, HUB_E_INVALID, "http: unknown method %d", req->method);
    if (req->url.ptr == NULL || req->url.len == 0)
        return hub_error_set(err, HUB_E_INVALID, "http %s: empty URL", m);
    if (req->url.len + req->query.len + 1 > HUB_HTTP_MAX_URL)
        return hub_error_set(err, HUB_E_INVALID, "http %s %s: URL of %zu bytes > %d", m, logurl,
                             req->url.len + req->query.len + 1, HUB_HTTP_MAX_URL);
    if (!url_chars_ok(req->url) || (req->query.len > 0 && !url_chars_ok(req->query)))
        return hub_error_set(err, HUB_E_INVALID, "http %s %s: URL has spaces or control bytes",
                             m, logurl);
    if (req->url.len >= 8 && strncasecmp(req->url.ptr, "https://", 8) == 0) {
        /* fine */
    } else if (req->url.len >= 7 && strncasecmp(req->url.ptr, "http://", 7) == 0) {
        if (c->https_only)
            return hub_error_set(err, HUB_E_INVALID, "http %s %s: plain http refused "
                                 "(https only)", m, logurl);
    } else {
        return hub_error_set(err, HUB_E_INVALID, "http %s %s: not an absolute http(s) URL",
                             m, logurl);
    }
    if (req->n_headers > HUB_HTTP_MAX_REQ_HEADERS)
        return hub_error_set(err, HUB_E_INVALID, "http %s %s: %zu request headers > %d", m,
                             logurl, req->n_headers, HUB_HTTP_MAX_REQ_HEADERS);
    if (req->n_headers > 0 && req->headers == NULL)
        return hub_error_set(err, HUB_E_INVALID, "http %s %s: headers missing", m, logurl);
    if (req->body.len > 0 && req->body.ptr == NULL)
        return hub_error_set(err, HUB_E_INVALID, "http %s %s: body missing", m, logurl);
    for (i = 0; i < req->n_headers; i++) {
        sx_str n = req->headers[i].name, v = req->headers[i].value;

        if (n.len == 0 || n.len > 256 || n.ptr == NULL)
            return hub_error_set(err, HUB_E_INVALID, "http %s %s: header %zu: bad name length",
                                 m, logurl, i);
        for (j = 0; j < n.len; j++) {
            if (!is_tchar((unsigned char)n.ptr[j]))
                return hub_error_set(err, HUB_E_INVALID, "http %s %s: header %zu: bad byte "
                                     "in name", m, logurl, i);
        }
        if (v.len > 8192 || (v.len > 0 && v.ptr == NULL))
            return hub_error_set(err, HUB_E_INVALID, "http %s %s: header %.*s: bad value",
                                 m, logurl, (int)n.len, n.ptr);
        /* curl re-sends custom headers to wherever a redirect points (only Authorization is
         * held back), so a credential must never ride on a followed request */
        if ((req->flags & HUB_HTTP_FOLLOW_REDIRECTS) && hub_http_header_is_secret(n.ptr, n.len))
            return hub_error_set(err, HUB_E_INVALID, "http %s %s: header %.*s carries a "
                                 "credential; not allowed with redirects followed", m, logurl,
                                 (int)n.len, n.ptr);
        for (j = 0; j < v.len; j++) {
            /* CR/LF/NUL would let a value inject headers */
            if (v.ptr[j] == '\r' || v.ptr[j] == '\n' || v.ptr[j] == '\0')
                return hub_error_set(err, HUB_E_INVALID, "http %s %s: header %.*s: CR, LF or "
                                     "NUL in value", m, logurl, (int)n.len, n.ptr);
        }
    }
    return 0;
}

/* ---- callbacks ----------------------------------------------------------------------------- */

static int
headers_push(struct xfer *x, const char *name, size_t nlen, const char *value, size_t vlen)
{
    sx_http_header *grown;
    size_t          alloc;
    char           *n, *v;

    if (x->n_headers >= x->max_headers) {
        x->abort_reason = ABORT_HEADER_COUNT;
        return -1;
    }
    if (x->n_headers == x->alloc_headers) {
        alloc = x->alloc_headers == 0 ? 16 : x->alloc_headers * 2;
        if (alloc > x->max_headers)
            alloc = x->max_headers;
        grown = hub_arena_alloc(x->arena, alloc * sizeof(*grown));
        if (grown == NULL) {
            x->abort_reason = ABORT_NOMEM;
            return -1;
        }
        if (x->n_headers > 0)
            memcpy(grown, x->headers, x->n_headers * sizeof(*grown));
        x->headers = grown;
        x->alloc_headers = alloc;
    }
    n = hub_arena_strndup(x->arena, name, nlen);
    v = hub_arena_strndup(x->arena, value, vlen);
    if (n == NULL || v == NULL) {
        x->abort_reason = ABORT_NOMEM;
        return -1;
    }
    x->headers[x->n_headers].name.ptr = n;
    x->headers[x->n_headers].name.len = nlen;
    x->headers[x->n_headers].value.ptr = v;
    x->headers[x->n_headers].value.len = vlen;
    x->n_headers++;
    return 0;
}

static size_t
on_header(char *data, size_t size, size_t nitems, void *userdata)
{
    struct xfer *x = userdata;
    size_t       len = size * nitems, colon, vs, ve;
    const char  *prev;
    char        *joined;
    size_t       plen;

    x->header_bytes += len;
    if (x->header_bytes > x->max_header_bytes) {
        x->abort_reason = ABORT_HEADER_BYTES;
        return 0;
    }
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len == 0)
        return size * nitems;                    /* end of one header block */
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        /* a new response (after 1xx or a followed redirect): keep only the last block */
        x->n_headers = 0;
        return size * nitems;
    }
    if (data[0] == ' ' || data[0] == '\t') {
        /* obsolete line folding (RFC 9112 5.2): join to the previous value with one space */
        if (x->n_headers == 0) {
            x->abort_reason = ABORT_HEADER_SYNTAX;
            return 0;
        }
        for (vs = 0; vs < len && (data[vs] == ' ' || data[vs] == '\t'); vs++)
            continue;
        prev = x->headers[x->n_headers - 1].value.ptr;
        plen = x->headers[x->n_headers - 1].value.len;
        joined = hub_arena_alloc(x->arena, plen + 1 + (len - vs) + 1);
        if (joined == NULL) {
            x->abort_reason = ABORT_NOMEM;
            return 0;
        }
        memcpy(joined, prev, plen);
        joined[plen] = ' ';
        memcpy(joined + plen + 1, data + vs, len - vs);
        x->headers[x->n_headers - 1].value.ptr = joined;
        x->headers[x->n_headers - 1].value.len = plen + 1 + (len - vs);
        return size * nitems;
    }
    for (colon = 0; colon < len && data[colon] != ':'; colon++)
        continue;
    if (colon == 0 || colon == len) {
        x->abort_reason = ABORT_HEADER_SYNTAX;
        return 0;
    }
    for (vs = colon + 1; vs < len && (data[vs] == ' ' || data[vs] == '\t'); vs++)
        continue;
    for (ve = len; ve > vs && (data[ve - 1] == ' ' || data[ve - 1] == '\t'); ve--)
        continue;
    if (headers_push(x, data, colon, data + vs, ve - vs) < 0)
        return 0;
    return size * nitems;
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct xfer *x = userdata;
    size_t       len = size * nmemb;
    int          rc;

    rc = hub_buf_append(&x->body, data, len);
    if (rc == HUB_E_LIMIT) {
        x->abort_reason = ABORT_BODY_LIMIT;
        return 0;
    }
    if (rc < 0) {
        x->abort_reason = ABORT_NOMEM;
        return 0;
    }
    return len;
}

/* ---- the exchange ------------------------------------------------------------------------- */

static int
has_header(const struct hub_http_req *req, const char *name)
{
    size_t i;

    for (i = 0; i < req->n_headers; i++) {
        if (ci_equal(req->headers[i].name.ptr, req->headers[i].name.len, name))
            return 1;
    }
    return 0;
}

static int
build_headers(const struct hub_http_req *req, struct hub_arena *arena,
              struct curl_slist **out, const char *m, const char *logurl,
              struct hub_error *err)
{
    struct curl_slist *list = NULL, *next;
    char              *line;
    size_t             i;

    for (i = 0; i < req->n_headers; i++) {
        const sx_http_header *h = &req->headers[i];

        /* curl sends "Name;" as an empty header; "Name:" would remove it */
        if (h->value.len == 0)
            line = hub_arena_printf(arena, "%.*s;", (int)h->name.len, h->name.ptr);
        else
            line = hub_arena_printf(arena, "%.*s: %.*s", (int)h->name.len, h->name.ptr,
                                    (int)h->value.len, h->value.ptr);
        if (line == NULL)
            goto nomem;
        next = curl_slist_append(list, line);
        if (next == NULL)
            goto nomem;
        list = next;
    }
    if (req->body.len > 0 && !has_header(req, "content-type")) {
        if (req->content_type.len > 0)
            line = hub_arena_printf(arena, "Content-Type: %.*s", (int)req->content_type.len,
                                    req->content_type.ptr);
        else
            line = hub_arena_strdup(arena, "Content-Type: application/json");
        if (line == NULL)
            goto nomem;
        next = curl_slist_append(list, line);
        if (next == NULL)
            goto nomem;
        list = next;
    }
    /* no "Expect: 100-continue": a second round trip, and some servers never answer it */
    next = curl_slist_append(list, "Expect:");
    if (next == NULL)
        goto nomem;
    list = next;
    *out = list;
    return 0;

nomem:
    curl_slist_free_all(list);
    return hub_error_set(err, HUB_E_NOMEM, "http %s %s: out of memory building headers", m,
                         logurl);
}

static int
setopt_all(struct hub_http_client *c, CURL *h, const struct hub_http_req *req, const char *url,
           struct curl_slist *headers, struct xfer *x, char *errbuf, size_t max_body)
{
    const char *m = hub_http_method_name(req->method);
    const char *protos = c->https_only ? "https" : "http,https";
    const char *body = req->body.ptr != NULL ? req->body.ptr : "";
    CURLcode    rc = CURLE_OK;

#define SETOPT(opt, val) do { if (rc == CURLE_OK) rc = curl_easy_setopt(h, opt, val); } while (0)
    SETOPT(CURLOPT_URL, url);
    SETOPT(CURLOPT_NOSIGNAL, 1L);
    SETOPT(CURLOPT_ERRORBUFFER, errbuf);
    SETOPT(CURLOPT_PROTOCOLS_STR, protos);
    SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, protos);
    if (req->flags & HUB_HTTP_FOLLOW_REDIRECTS) {
        SETOPT(CURLOPT_FOLLOWLOCATION, 1L);
        SETOPT(CURLOPT_MAXREDIRS, (long)(req->max_redirects != 0
                                         ? req->max_redirects
                                         : HUB_HTTP_DEFAULT_MAX_REDIRECTS));
    } else {
        SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    }
    /* TLS verification is not an option (DESIGN.md 8); only the trust store may change */
    SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    if (c->ca_file != NULL)
        SETOPT(CURLOPT_CAINFO, c->ca_file);
    SETOPT(CURLOPT_CONNECTTIMEOUT_MS,
           (long)(req->connect_timeout_ms != 0 ? req->connect_timeout_ms
                                               : c->connect_timeout_ms));
    SETOPT(CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms != 0 ? req->timeout_ms : c->timeout_ms));
    SETOPT(CURLOPT_USERAGENT, c->user_agent);
    SETOPT(CURLOPT_HTTPHEADER, headers);
    SETOPT(CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(CURLOPT_HEADERDATA, x);
    SETOPT(CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(CURLOPT_WRITEDATA, x);
    /* refuses early when Content-Length is over; on_body enforces it for chunked bodies */
    SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_body);
    SETOPT(CURLOPT_ACCEPT_ENCODING, "");
    SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);

    switch (req->method) {
    case HUB_HTTP_GET:
        SETOPT(CURLOPT_HTTPGET, 1L);
        break;
    case HUB_HTTP_HEAD:
        SETOPT(CURLOPT_NOBODY, 1L);
        break;
    case HUB_HTTP_POST:
        SETOPT(CURLOPT_POST, 1L);
        break;
    default:
        SETOPT(CURLOPT_CUSTOMREQUEST, m);
        break;
    }
    /* POST, PUT and PATCH always carry a body (Content-Length: 0 when empty); others when set */
    if (req->body.len > 0 || req->method == HUB_HTTP_POST || req->method == HUB_HTTP_PUT ||
        req->method == HUB_HTTP_PATCH) {
        SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body.len);
        SETOPT(CURLOPT_POSTFIELDS, body);
        if (req->method == HUB_HTTP_GET)
            SETOPT(CURLOPT_CUSTOMREQUEST, "GET");
    }
#undef SETOPT
    return rc == CURLE_OK ? 0 : -1;
}

/* Could the request have reached the server? Only failures before the request was written
 * prove it did not. */
static int
request_maybe_sent(CURLcode cc, int status, curl_off_t connect_us, curl_off_t pretransfer_us)
{
    if (status > 0)
        return 1;
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_FAILED_INIT:
        return 0;
    case CURLE_OPERATION_TIMEDOUT:
        return connect_us > 0 || pretransfer_us > 0;
    default:
        return 1;
    }
}

static int
curl_code_map(CURLcode cc)
{
    switch (cc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return HUB_E_INVALID;
    case CURLE_OUT_OF_MEMORY:
        return HUB_E_NOMEM;
    case CURLE_FILESIZE_EXCEEDED:
        return HUB_E_LIMIT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return HUB_E_CRYPTO;
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WEIRD_SERVER_REPLY:
        return HUB_E_PROTOCOL;
    default:
        /* timeouts, resets, refused, DNS, empty replies: the network, try again later */
        return HUB_E_TRANSIENT;
    }
}

/* Printable snippet of a body for an error message. */
static void
snippet(const char *p, size_t len, char *out, size_t cap)
{
    size_t i, n = len < cap - 1 ? len : cap - 1;

    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];

        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
    }
    out[n] = '\0';
}

int
hub_http_exchange(struct hub_http_client *c, const struct hub_http_req *req,
                  struct hub_arena *arena, struct hub_http_resp *out, struct hub_error *err)
{
    const char        *m = hub_http_method_name(req->method);
    char               logurl[URL_LOG_MAX];
    char               errbuf[CURL_ERROR_SIZE];
    char               snip[ERR_BODY_SNIPPET + 1];
    struct curl_slist *headers = NULL;
    struct xfer        x;
    CURL              *h;
    CURLcode           cc;
    curl_off_t         t_connect = 0, t_pre = 0, t_first = 0, t_total = 0;
    long               status = 0;
    size_t             max_body;
    char              *url, *body;
    int                rc;

    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    hub_http_url_for_log(req->url, logurl, sizeof(logurl));
    rc = req_check(c, req, logurl, err);
    if (rc < 0)
        return rc;
    max_body = req->max_body != 0 ? req->max_body : c->max_body;

    if (req->query.len > 0)
        url = hub_arena_printf(arena, "%.*s%c%.*s", (int)req->url.len, req->url.ptr,
                               memchr(req->url.ptr, '?', req->url.len) != NULL ? '&' : '?',
                               (int)req->query.len, req->query.ptr);
    else
        url = hub_arena_strndup(arena, req->url.ptr, req->url.len);
    if (url == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "http %s %s: out of memory", m, logurl);
    rc = build_headers(req, arena, &headers, m, logurl, err);
    if (rc < 0)
        return rc;

    memset(&x, 0, sizeof(x));
    x.arena = arena;
    x.max_headers = c->max_headers;
    x.max_header_bytes = c->max_header_bytes;
    hub_buf_init(&x.body, max_body);

    h = handle_take(c);
    if (h == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "http %s %s: curl_easy_init failed", m, logurl);
        goto free_headers;
    }
    errbuf[0] = '\0';
    if (setopt_all(c, h, req, url, headers, &x, errbuf, max_body) < 0) {
        rc = hub_error_set(err, HUB_E_INTERNAL, "http %s %s: curl option refused", m, logurl);
        goto give_back;
    }

    cc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_CONNECT_TIME_T, &t_connect);
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &t_pre);
    curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &t_first);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &t_total);
    out->timing.connect_us = t_connect;
    out->timing.first_byte_us = t_first;
    out->timing.total_us = t_total;
    out->request_sent = request_maybe_sent(cc, (int)status, t_connect, t_pre);
    out->status = (int)status;
    out->headers = x.headers;
    out->n_headers = x.n_headers;
    out->body.ptr = "";

    if (cc != CURLE_OK) {
        switch (x.abort_reason) {
        case ABORT_BODY_LIMIT:
            rc = hub_error_set(err, HUB_E_LIMIT, "http %s %s: response body over %zu bytes "
                               "(refused, not truncated)", m, logurl, max_body);
            break;
        case ABORT_HEADER_COUNT:
            rc = hub_error_set(err, HUB_E_LIMIT, "http %s %s: more than %zu response headers",
                               m, logurl, x.max_headers);
            break;
        case ABORT_HEADER_BYTES:
            rc = hub_error_set(err, HUB_E_LIMIT, "http %s %s: response headers over %zu bytes",
                               m, logurl, x.max_header_bytes);
            break;
        case ABORT_HEADER_SYNTAX:
            rc = hub_error_set(err, HUB_E_PROTOCOL, "http %s %s: malformed response header "
                               "line", m, logurl);
            break;
        case ABORT_NOMEM:
            rc = hub_error_set(err, HUB_E_NOMEM, "http %s %s: out of memory for the response",
                               m, logurl);
            break;
        default:
            rc = curl_code_map(cc);
            if (cc == CURLE_FILESIZE_EXCEEDED)
                rc = hub_error_set(err, rc, "http %s %s: response body over %zu bytes "
                                   "(refused, not truncated)", m, logurl, max_body);
            else
                rc = hub_error_set(err, rc, "http %s %s: %s", m, logurl,
                                   errbuf[0] != '\0' ? errbuf : curl_easy_strerror(cc));
            break;
        }
        goto give_back;
    }

    body = hub_arena_strndup(arena, x.body.data != NULL ? x.body.data : "", x.body.len);
    if (body == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "http %s %s: out of memory for a %zu-byte body",
                           m, logurl, x.body.len);
        goto give_back;
    }
    out->body.ptr = body;
    out->body.len = x.body.len;
    rc = hub_http_status_code((int)status);
    if (rc < 0) {
        snippet(body, x.body.len, snip, sizeof(snip));
        rc = hub_error_set(err, rc, "http %s %s: HTTP %ld%s%s", m, logurl, status,
                           snip[0] != '\0' ? ": " : "", snip);
    }

give_back:
    handle_give_back(c, h);
free_headers:
    curl_slist_free_all(headers);
    hub_buf_free(&x.body);
    return rc;
}
