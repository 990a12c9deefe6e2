/*
 * Outbound HTTP: one exchange through a libcurl easy handle (hub_http_exchange), and the
 * composed call with rate limiting and retries (hub_http_send, in net/retry.h).
 *
 * Shapes follow the SDK (sx_host.h) so the plugin-facing http() service is a thin mapping:
 * methods are the SX_HTTP_* values, headers are sx_http_header arrays, a response's
 * headers/body point into a caller-supplied arena, exactly like sx_http_resp.
 *
 * Safety defaults: TLS peer and host verification always on (only the CA bundle can be
 * changed, for tests); redirects off; http and https only; every size bounded (body, header
 * count, header bytes); a response over a bound is refused with HUB_E_LIMIT, never cut.
 *
 * Threads: a client is thread-safe. It keeps a small pool of idle easy handles (connection
 * reuse, TLS session and DNS caches) that any thread may take for one exchange.
 * hub_http_global_init() must run once in main() before any thread uses a client; plugins
 * never call curl_global_init.
 */
#ifndef HUB_NET_HTTP_CLIENT_H
#define HUB_NET_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <simplix/sx_host.h>

#include "core/arena.h"
#include "core/error.h"

/* Methods: the SDK's values. */
enum {
    HUB_HTTP_GET    = SX_HTTP_GET,
    HUB_HTTP_POST   = SX_HTTP_POST,
    HUB_HTTP_PUT    = SX_HTTP_PUT,
    HUB_HTTP_PATCH  = SX_HTTP_PATCH,
    HUB_HTTP_DELETE = SX_HTTP_DELETE,
    HUB_HTTP_HEAD   = SX_HTTP_HEAD
};

/* struct hub_http_req.flags */
enum {
    /* The request must not be repeated once it may have reached the server (a create without
     * an idempotency key). hub_http_send retries it only when it provably never left. */
    HUB_HTTP_NON_IDEMPOTENT = 1u << 0,
    /* Off by default; at most max_redirects. Refused (HUB_E_INVALID) together with any
     * header hub_http_header_is_secret() flags: curl would send it to the new host. */
    HUB_HTTP_FOLLOW_REDIRECTS = 1u << 1,
    HUB_HTTP_NO_RETRY = 1u << 2            /* one attempt only (SX_HTTP_NO_RETRY) */
};

#define HUB_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define HUB_HTTP_DEFAULT_TIMEOUT_MS         30000
#define HUB_HTTP_DEFAULT_MAX_BODY           (16u * 1024 * 1024)
#define HUB_HTTP_DEFAULT_MAX_HEADERS        100
#define HUB_HTTP_DEFAULT_MAX_HEADER_BYTES   (64u * 1024)
#define HUB_HTTP_MAX_REQ_HEADERS            64        /* headers a caller may send */
#define HUB_HTTP_MAX_URL                    8192
#define HUB_HTTP_DEFAULT_MAX_REDIRECTS      3

struct hub_http_req {
    int                   method;           /* HUB_HTTP_* */
    uint32_t              flags;            /* HUB_HTTP_NON_IDEMPOTENT | ... */
    sx_str                url;              /* absolute http:// or https:// URL */
    sx_str                query;            /* encoded, without '?', appended; may be empty */
    const sx_http_header *headers;          /* n_headers entries; no CR, LF or NUL in them */
    size_t                n_headers;
    sx_str                body;             /* may be empty */
    /* Content-Type for a body: empty = "application/json" unless a header sets it. */
    sx_str                content_type;
    uint32_t              connect_timeout_ms;   /* 0 = client default */
    uint32_t              timeout_ms;           /* whole exchange; 0 = client default */
    size_t                max_body;             /* response bytes; 0 = client default */
    uint32_t              max_redirects;        /* with FOLLOW_REDIRECTS; 0 = default 3 */
    /* hub_http_send only: called before every attempt after the first, to refresh what must
     * change per attempt (an OAuth 1.0a nonce and timestamp). It may replace r->query and
     * r->headers with memory that outlives the call; a negative return (HUB_E_*) ends the
     * call with that code. NULL = the request is sent as it is. */
    int                 (*resign)(void *ctx, struct hub_http_req *r);
    void                 *resign_ctx;
};

struct hub_http_timing {
    int64_t connect_us;     /* TCP (and TLS) connected, from the start */
    int64_t first_byte_us;  /* first response byte */
    int64_t total_us;
};

struct hub_http_resp {
    int                    status;       /* HTTP status; 0 when no response arrived */
    sx_http_header        *headers;      /* n_headers, names as received, NUL-terminated */
    size_t                 n_headers;
    sx_str                 body;         /* NUL-terminated (len excludes it) */
    struct hub_http_timing timing;       /* of the last attempt */
    /* 1 when the request may have reached the server (bytes were sent or the connection was
     * up); 0 when it provably did not (refused, DNS, TLS handshake). */
    int                    request_sent;
    /* Filled by hub_http_send (0 after a bare exchange): */
    uint32_t               attempts;
    int64_t                rate_waited_ms;     /* total wait in the account's limiter */
    int64_t                backoff_ms;         /* total sleep between attempts */
    int64_t                retry_after_ms;     /* last Retry-After honoured, -1 when none */
    int                    retry_after_capped; /* a Retry-After was above the policy's max */
};

struct hub_http_client_opts {
    const char *ca_file;              /* CA bundle; NULL = system default. Tests only. */
    const char *user_agent;           /* NULL = "simplix-hub/<version>" */
    uint32_t    connect_timeout_ms;   /* 0 = HUB_HTTP_DEFAULT_CONNECT_TIMEOUT_MS */
    uint32_t    timeout_ms;           /* 0 = HUB_HTTP_DEFAULT_TIMEOUT_MS */
    size_t      max_body;             /* 0 = HUB_HTTP_DEFAULT_MAX_BODY */
    uint32_t    max_headers;          /* 0 = HUB_HTTP_DEFAULT_MAX_HEADERS */
    size_t      max_header_bytes;     /* 0 = HUB_HTTP_DEFAULT_MAX_HEADER_BYTES */
    uint32_t    max_idle_handles;     /* pooled easy handles; 0 = 8 */
    int         https_only;           /* refuse http:// URLs */
};

struct hub_http_client;

/* Once per process, from main(), before threads start (curl_global_init). 0 or HUB_E_INTERNAL. */
int  hub_http_global_init(struct hub_error *err);
void hub_http_global_cleanup(void);

/* A client; `opts` may be NULL for defaults (copied). Free with hub_http_client_free(). */
int  hub_http_client_new(const struct hub_http_client_opts *opts, struct hub_http_client **out,
                         struct hub_error *err);
/* No exchange may be running on it. */
void hub_http_client_free(struct hub_http_client *c);
/* The client's default total timeout per exchange, in ms. */
uint32_t hub_http_client_timeout_ms(const struct hub_http_client *c);

/*
 * One exchange, no retry, no rate limit. Fills *out (zeroed first) whenever a response
 * arrived, with every byte in `arena` (freed with the arena). Returns:
 *   0                    2xx and 3xx
 *   HUB_E_TRANSIENT      network error, timeout, 408, 5xx except 501
 *   HUB_E_RATE_LIMITED   429
 *   HUB_E_AUTH           401, 403
 *   HUB_E_NOT_FOUND      404, 410
 *   HUB_E_CONFLICT       409
 *   HUB_E_REJECTED       other 4xx (400, 422, ...)
 *   HUB_E_UNSUPPORTED    501
 *   HUB_E_LIMIT          response body, header count or header bytes over the bound
 *   HUB_E_INVALID        bad request (URL, method, header with CR/LF, too many headers)
 *   HUB_E_CRYPTO         TLS certificate verification failed
 *   HUB_E_NOMEM          out of memory (arena cap included)
 * `err` gets a message naming the method, the URL without its query (which may carry
 * credentials) and the cause; never a header value.
 */
int  hub_http_exchange(struct hub_http_client *c, const struct hub_http_req *req,
                       struct hub_arena *arena, struct hub_http_resp *out,
                       struct hub_error *err);

/* The HUB_E_* an HTTP status maps to (0 for 1xx-3xx), as listed above. */
int  hub_http_status_code(int status);

/* Find a response header, case-insensitively (the first one). 0 with *out set, or
 * HUB_E_NOT_FOUND. */
int  hub_http_resp_header(const struct hub_http_resp *resp, const char *name, sx_str *out);

/* 1 when a header's value must never be logged: Authorization, Proxy-Authorization, Cookie,
 * Set-Cookie, X-Shopify-Access-Token and any name containing "token", "secret", "key",
 * "signature", "password" or "auth" (case-insensitive). */
int  hub_http_header_is_secret(const char *name, size_t len);

/* "METHOD" name of a HUB_HTTP_* value ("GET"); "?" when unknown. */
const char *hub_http_method_name(int method);

/* Copy "scheme://host[:port]/path" of `url` (no query, no fragment, no userinfo) into `out`
 * for logs. Always NUL-terminates when cap > 0. */
void hub_http_url_for_log(sx_str url, char *out, size_t cap);

#endif
