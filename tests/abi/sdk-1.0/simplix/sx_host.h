/*
 * The host services: the only way a connector reaches the world.
 *
 * The host hands a pointer to one sx_host_api table in every call context (cx->host). A
 * connector never links against host symbols; it calls through this table, so a unit test can
 * pass a fake table and a future out-of-process runner can pass a proxy.
 *
 * Ownership, once (details next to each function):
 *  - what the host passes in (sx_str, responses, JSON views, config, secrets) is borrowed and
 *    lives until the callback that received it returns;
 *  - memory from alloc() lives in the call arena and is freed by the host when the callback
 *    returns;
 *  - what the plugin gives the host (emit, fail, state_set, cursors, ids) is copied by the host
 *    before the function returns; the plugin may reuse or free its memory at once.
 * The host never frees plugin memory, the plugin never frees host memory, and nothing
 * borrowed outlives the callback.
 *
 * Threading: calls for one instance are serialized by the host; different instances may run
 * at the same time on different threads. Every service here is safe to call from any callback
 * of the instance, on the thread that called the plugin.
 */
#ifndef SIMPLIX_SX_HOST_H
#define SIMPLIX_SX_HOST_H

#include "sx_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sx_host_api sx_host_api;
typedef struct sx_json     sx_json;        /* host-owned JSON node, opaque, call-arena */

/* Per-call context. The host embeds it as the first member of its own per-call struct. */
typedef struct sx_ctx {
    sx_header          hdr;
    const sx_host_api *host;      /* the same for the life of the process */
    void              *state;     /* what instance_new returned; NULL before it */
} sx_ctx;

/* HTTP methods (uint32_t). */
enum {
    SX_HTTP_GET    = 1,
    SX_HTTP_POST   = 2,
    SX_HTTP_PUT    = 3,
    SX_HTTP_PATCH  = 4,
    SX_HTTP_DELETE = 5,
    SX_HTTP_HEAD   = 6
};

/* sx_http_req.flags */
enum {
    SX_HTTP_NO_AUTH    = 1u << 0,   /* do not apply the integration's credentials */
    SX_HTTP_NO_RETRY   = 1u << 1,   /* one attempt only (non-idempotent create without a key) */
    SX_HTTP_RAW_STATUS = 1u << 2    /* return 4xx/5xx responses as SX_OK; caller reads status */
};

typedef struct sx_http_header {
    sx_str name;
    sx_str value;
} sx_http_header;

/* A request the plugin builds (its memory; the host copies what it keeps). */
typedef struct sx_http_req {
    sx_header             hdr;            /* SX_HEADER_INIT(sx_http_req) */
    uint32_t              method;         /* SX_HTTP_* */
    uint32_t              flags;          /* SX_HTTP_NO_AUTH | ... */
    /* "https://host/path" absolute, or "/path" relative to the integration's base_url. */
    sx_str                url;
    sx_str                query;          /* already encoded, without '?'; may be empty */
    const sx_http_header *headers;        /* n_headers entries */
    uint32_t              n_headers;
    uint32_t              timeout_ms;     /* 0 = host default */
    sx_str                body;
    sx_str                content_type;   /* "application/json" when empty and body is set */
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_http_req;

#define SX_HTTP_REQ_INIT  { SX_HEADER_INIT(sx_http_req), SX_HTTP_GET, 0, { NULL, 0 }, \
                            { NULL, 0 }, NULL, 0, 0, { NULL, 0 }, { NULL, 0 } }

/* A response the host returns; everything it points to lives in the call arena. */
typedef struct sx_http_resp {
    sx_header             hdr;
    uint32_t              status;         /* HTTP status */
    uint32_t              n_headers;
    const sx_http_header *headers;        /* names as received; use http_header() to look up */
    sx_str                body;           /* NUL-terminated for convenience (len excludes it) */
    uint32_t              attempts;       /* how many attempts the host made */
    uint32_t              reserved;
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_http_resp;

/* Rate-limit policy for the integration's platform account (sx_host_api.rate_configure). */
enum {
    SX_RATE_NONE         = 0,
    SX_RATE_TOKEN_BUCKET = 1,   /* `capacity` tokens, refilled at `rate_milli`/1000 per second */
    SX_RATE_LEAKY_BUCKET = 2    /* Shopify REST: bucket of `capacity`, leaks rate per second */
};

typedef struct sx_rate_policy {
    sx_header hdr;                /* SX_HEADER_INIT(sx_rate_policy) */
    uint32_t  kind;               /* SX_RATE_* */
    uint32_t  capacity;           /* burst size, in requests */
    uint32_t  rate_milli;         /* requests per 1000 seconds (2/s = 2000) */
    uint32_t  max_concurrency;    /* requests in flight per account; 0 = host default */
    /* Keep this many requests of headroom below the platform's reported limit. */
    uint32_t  headroom;
    uint32_t  reserved;
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_rate_policy;

/* JSON node types (json_type). */
enum {
    SX_JSON_NULL   = 0,
    SX_JSON_BOOL   = 1,
    SX_JSON_INT    = 2,
    SX_JSON_DOUBLE = 3,
    SX_JSON_STRING = 4,
    SX_JSON_ARRAY  = 5,
    SX_JSON_OBJECT = 6,
    SX_JSON_ABSENT = 7          /* what json_type(NULL) answers */
};

struct sx_host_api {
    sx_header hdr;

    /* ---- ABI 1.0 ---- */

    /* Log one line for this integration. The host adds the integration, connector and call;
     * every secret the host knows of (credentials, tokens) is redacted from the text. */
    void (*log)(sx_ctx *cx, uint32_t level, const char *fmt, ...) SX_PRINTF(3, 4);

    /* Record why this call failed and return `code`, so that `return h->fail(...)` reads well.
     * The host copies the message; it is what an administrator sees. */
    int  (*fail)(sx_ctx *cx, int code, const char *fmt, ...) SX_PRINTF(3, 4);

    /* Call arena: zeroed memory that lives until the callback returns, then the host frees all
     * of it. Returns NULL only when the arena limit is hit (the call then fails SX_E_LIMIT). */
    void *(*alloc)(sx_ctx *cx, size_t size);

    /* One HTTP exchange. The host applies auth, the account's rate limiter, timeouts, TLS
     * verification, a response size cap and retries with backoff and jitter (honouring
     * Retry-After). Returns SX_OK with *resp set for 2xx/3xx (any status with
     * SX_HTTP_RAW_STATUS); otherwise a status code derived from the outcome (401/403 ->
     * SX_E_AUTH, 404 -> SX_E_NOT_FOUND, 409 -> SX_E_CONFLICT, 400/422 -> SX_E_REJECTED,
     * 429 after retries -> SX_E_RATE_LIMITED, 5xx/network after retries -> SX_E_TRANSIENT),
     * with *resp still set when a response arrived. *resp lives in the call arena. */
    int  (*http)(sx_ctx *cx, const sx_http_req *req, const sx_http_resp **resp);

    /* Find a response header by name, case-insensitively. SX_OK or SX_E_NOT_FOUND. */
    int  (*http_header)(const sx_http_resp *resp, const char *name, sx_str *out);

    /* Configure the limiter of this integration's platform account; shared by every call of
     * every instance using the same (connector, account). Call from instance_new. */
    int  (*rate_configure)(sx_ctx *cx, const sx_rate_policy *policy);

    /* Tell the limiter what the platform said about the account's usage: `used` of `limit`
     * (Shopify's "32/40"). The host paces the next requests from it. */
    int  (*rate_observe)(sx_ctx *cx, uint32_t used, uint32_t limit);

    /* JSON: a host-owned tree in the call arena (depth and size bounded by the host);
     * accessors return borrowed views that live as long as the tree. */
    int  (*json_parse)(sx_ctx *cx, sx_str text, const sx_json **out);
    const sx_json *(*json_get)(const sx_json *obj, const char *key);   /* NULL if absent */
    uint32_t (*json_type)(const sx_json *v);                           /* SX_JSON_* */
    size_t (*json_length)(const sx_json *arr);                         /* 0 unless array */
    const sx_json *(*json_at)(const sx_json *arr, size_t index);       /* NULL past the end */
    int  (*json_string)(const sx_json *v, sx_str *out);   /* SX_E_INVALID unless a string */
    int  (*json_int64)(const sx_json *v, int64_t *out);   /* ints, and strings of digits */
    int  (*json_bool)(const sx_json *v, int *out);
    /* Serialize a node (compact). The text lives in the call arena. */
    int  (*json_text)(sx_ctx *cx, const sx_json *v, sx_str *out);

    /* Hand one canonical record (JSON text, see sx_model.h) of `entity` to the sync engine
     * during list(). The host copies it. */
    int  (*emit)(sx_ctx *cx, uint32_t entity, sx_str canonical_json);

    /* Hand one change to the engine during webhook translation: SX_OP_UPSERT with a canonical
     * record, or SX_OP_DELETE with only the external id (canonical_json may be empty). */
    int  (*emit_change)(sx_ctx *cx, uint32_t entity, uint32_t op, sx_str external_id,
                        sx_str canonical_json);

    /* Small per-integration state (cursors, webhook ids), persisted by the host.
     * state_get returns a call-arena copy, or SX_E_NOT_FOUND. Values up to 64 KiB. */
    int  (*state_get)(sx_ctx *cx, const char *key, sx_str *out);
    int  (*state_set)(sx_ctx *cx, const char *key, sx_str value);

    /* The integration's configuration and decrypted secrets (call-arena copies), or
     * SX_E_NOT_FOUND. Secrets read here are redacted from every log line. */
    int  (*config_get)(sx_ctx *cx, const char *key, sx_str *out);
    int  (*secret_get)(sx_ctx *cx, const char *key, sx_str *out);
    /* Store a secret (encrypted at rest), e.g. a token the platform rotated. */
    int  (*secret_set)(sx_ctx *cx, const char *key, sx_str value);

    /* The clock, milliseconds since the Unix epoch, UTC (injectable in tests). */
    int64_t (*now_ms)(sx_ctx *cx);

    /* Time helpers: parse RFC 3339 / ISO 8601 with any offset (fractions allowed) into
     * milliseconds UTC; format milliseconds as "YYYY-MM-DDTHH:MM:SSZ" (call arena). */
    int  (*time_parse)(sx_str text, int64_t *out_ms);
    int  (*time_format)(sx_ctx *cx, int64_t ms, sx_str *out);

    /* Cryptographic helpers for webhook and callback verification. */
    int  (*hmac_sha256)(sx_str key, sx_str msg, uint8_t out[32]);
    int  (*consttime_eq)(sx_str a, sx_str b);                 /* 1 when equal, else 0 */
    int  (*base64_encode)(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out);
    int  (*hex_encode)(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out);
    /* Fill `out` with `len` cryptographically random bytes. */
    int  (*random_bytes)(uint8_t *out, size_t len);

    /* ---- ABI 1.1 and later: append below, never above ---- */
};

/* "Is this service there?" (Redis's RMAPI_FUNC_SUPPORTED, made size-aware). */
#define SX_HOST_HAS(h, fn) \
    ((size_t)(h)->hdr.struct_size >= SX_SIZE_THROUGH(sx_host_api, fn) && (h)->fn != NULL)

#ifdef __cplusplus
}
#endif

#endif /* SIMPLIX_SX_HOST_H */
