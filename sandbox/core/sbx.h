/*
 * simplix-sandbox core: the module interface every platform imitation is written against.
 *
 * A platform module (sandbox/shopify*.c, sandbox/woo*.c, sandbox/presta*.c, ...) defines one
 * `struct sbx_platform_ops` and registers it with SBX_PLATFORM_REGISTER(ops) at file scope.
 * The core then:
 *   - adds `--<name>-port N` and the module's own options to the command line and --help;
 *   - binds an evhttp listener on 127.0.0.1 for it and writes it into the ready file;
 *   - records every request in the request log, serves the control API under /_sandbox/ on
 *     the platform's port, applies the fault rules, and only then calls ops->handle();
 *   - sends the `struct sbx_resp` the handler filled (possibly delayed, truncated, malformed
 *     or dropped by a fault rule);
 *   - delivers outgoing webhooks through the outbox (sbx_outbox_post) with retry schedules.
 *
 * Modules never call evhttp_send_reply themselves, never block the loop, and keep all their
 * state in p->state. Nothing here links against the hub (hubcore): the sandbox imitates the
 * platforms independently of the code it tests.
 *
 * Threading: single-threaded, everything runs on the libevent loop of `struct sbx`.
 */
#ifndef SBX_H
#define SBX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define SBX_VERSION "0.1.0"

struct sbx;
struct sbx_platform;
struct sbx_arena;
struct sbx_jw;

/* ------------------------------------------------------------------ requests / responses */

enum sbx_method {
    SBX_GET = 1,
    SBX_POST,
    SBX_PUT,
    SBX_DELETE,
    SBX_PATCH,
    SBX_HEAD,
    SBX_OPTIONS,
    SBX_OTHER
};

struct sbx_kv {
    const char *key;
    const char *value;
};

/* One incoming request. Everything it points to lives until the response is sent. */
struct sbx_req {
    struct sbx_platform   *platform;
    struct evhttp_request *ev;          /* for headers and anything the helpers lack */
    enum sbx_method        method;
    const char            *method_name; /* "GET", ... */
    const char            *uri;         /* raw request-target: path?query */
    const char            *path;        /* path, percent-decoded, no query */
    struct sbx_kv         *query;       /* decoded query parameters, in order, duplicates kept */
    size_t                 nquery;
    const char            *body;        /* raw body bytes, NUL-terminated (NUL not counted) */
    size_t                 body_len;
    struct sbx_arena      *arena;       /* per-request arena, freed after the reply */
    uint64_t               seq;         /* request-log sequence number */
};

/* What a handler fills; the core sends it. */
struct sbx_resp {
    int                status;          /* 200 unless set */
    struct evkeyvalq  *headers;         /* output headers of the evhttp request */
    struct evbuffer   *body;
    bool               no_fault;        /* set by the core for control answers */
    const char        *fault_applied;   /* set by the core: name of the fault used, or NULL */
};

struct json_object;
/*
 * Parse the request body as JSON (json-c). Returns a new reference the caller puts, or NULL
 * when the body is empty or not JSON (nothing is written to any response).
 */
struct json_object *sbx_req_json(const struct sbx_req *req);

/* First value of header `name` (case-insensitive) or NULL. */
const char *sbx_req_header(const struct sbx_req *req, const char *name);
/* First value of query parameter `key` or NULL. */
const char *sbx_req_query(const struct sbx_req *req, const char *key);
/* Number of query parameters named `key`. */
size_t      sbx_req_query_count(const struct sbx_req *req, const char *key);
/* Set (replace) an output header. */
void        sbx_resp_header(struct sbx_resp *resp, const char *name, const char *value);
/* Set status and a JSON body (copied verbatim) with Content-Type application/json. */
void        sbx_resp_json(struct sbx_resp *resp, int status, const char *json);
/* Printf into the body. */
void        sbx_resp_printf(struct sbx_resp *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ arena */

/* Bump allocator; memory lives until sbx_arena_free(). Returns NULL on OOM. */
struct sbx_arena *sbx_arena_new(void);
void              sbx_arena_free(struct sbx_arena *a);
void             *sbx_arena_alloc(struct sbx_arena *a, size_t len);
char             *sbx_arena_strndup(struct sbx_arena *a, const char *s, size_t len);
char             *sbx_arena_strdup(struct sbx_arena *a, const char *s);
char             *sbx_arena_printf(struct sbx_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ platforms */

/* A module option: --<name> VALUE. `set` returns 0, or -1 after printing why to stderr. */
struct sbx_option {
    const char *name;                   /* full option name without "--", e.g. "shopify-bucket" */
    const char *metavar;                /* NULL for a flag (set() then gets "1") */
    const char *help;
    int (*set)(struct sbx_platform *p, const char *value);
};

struct sbx_platform_ops {
    const char              *name;      /* "shopify": --shopify-port, ready-file key */
    const char              *title;     /* for --help */
    const struct sbx_option *options;   /* terminated by {NULL}; may be NULL */

    /* Allocate p->state with defaults, before options are parsed. 0 or -1. */
    int  (*create)(struct sbx_platform *p);
    /* Options parsed: seed the data (sbx_config(p->sbx)). 0 or -1. */
    int  (*start)(struct sbx_platform *p);
    /* Serve one API request (anything not under /_sandbox/). */
    void (*handle)(struct sbx_platform *p, struct sbx_req *req, struct sbx_resp *resp);
    /*
     * Platform part of the control API: `action` is the path after "/_sandbox/" for paths
     * the core does not serve itself. Return 0 when handled, -1 for "no such action" (the core
     * answers 404).
     */
    int  (*control)(struct sbx_platform *p, const char *action, struct sbx_req *req,
                    struct sbx_resp *resp);
    /* Write the members of a JSON object describing the state (counts, subscriptions...). */
    void (*state)(struct sbx_platform *p, struct sbx_jw *w);
    /* Drop every change and re-seed, as at start. 0 or -1. */
    int  (*reset)(struct sbx_platform *p);
    /* Optional: shape a fault answer the platform's way (429 headers, 5xx body). */
    void (*fault_reply)(struct sbx_platform *p, struct sbx_req *req, const char *kind,
                        int status, struct sbx_resp *resp);
    /* Free p->state. */
    void (*destroy)(struct sbx_platform *p);
};

struct sbx_fault_rules;

struct sbx_platform {
    const struct sbx_platform_ops *ops;
    struct sbx                    *sbx;
    void                          *state;        /* the module's */
    int                            port;         /* requested (0 = any), then bound */
    bool                           enabled;
    struct evhttp                 *http;
    struct evhttp_bound_socket    *bound;
    struct sbx_fault_rules        *faults;
    char                           base_url[64]; /* "http://127.0.0.1:PORT" */
};

/* Called by SBX_PLATFORM_REGISTER before main(); at most 16 platforms. */
void sbx_platform_register(const struct sbx_platform_ops *ops);

#define SBX_PLATFORM_REGISTER(ops)                                                  \
    static void __attribute__((constructor)) sbx_register_##ops(void)              \
    {                                                                               \
        sbx_platform_register(&(ops));                                              \
    }

/* ------------------------------------------------------------------ configuration, clock */

struct sbx_config {
    uint64_t seed;
    size_t   customers;
    size_t   products;
    size_t   orders;
    double   time_scale;        /* webhook retry delays are divided by this */
    bool     verbose;
};

const struct sbx_config *sbx_config(const struct sbx *s);
struct event_base       *sbx_base(const struct sbx *s);

/* The sandbox clock (settable through the control API): Unix seconds / milliseconds. */
int64_t sbx_now(const struct sbx *s);
int64_t sbx_now_ms(const struct sbx *s);

/* ------------------------------------------------------------------ deterministic randomness */

struct sbx_rng {
    uint64_t s[4];
};

/* Seed a stream from (seed, name, index): the same triple always gives the same numbers. */
void     sbx_rng_init(struct sbx_rng *r, uint64_t seed, const char *name, uint64_t index);
uint64_t sbx_rng_next(struct sbx_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t sbx_rng_below(struct sbx_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double   sbx_rng_unit(struct sbx_rng *r);
/* Random token of `len` chars from [a-z0-9] after `prefix`, into out (cap bytes). */
void     sbx_rng_token(struct sbx_rng *r, const char *prefix, size_t len, char *out, size_t cap);

/* ------------------------------------------------------------------ encoding, crypto, time */

void   sbx_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                       unsigned char out[32]);
void   sbx_sha256(const void *msg, size_t len, unsigned char out[32]);
/* Standard base64 with padding; returns the length written (NUL-terminated), 0 if cap short. */
size_t sbx_b64_encode(const void *in, size_t len, char *out, size_t cap);
/* base64url without padding. */
size_t sbx_b64url_encode(const void *in, size_t len, char *out, size_t cap);
/* Decodes base64 or base64url (padding optional); returns bytes written or -1. */
long   sbx_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap);
/* Lowercase hex; out needs 2*len+1. */
void   sbx_hex_encode(const void *in, size_t len, char *out);
/* Constant-time comparison of two strings (lengths compared first). */
bool   sbx_str_eq_ct(const char *a, const char *b);
/* application/x-www-form-urlencoded as URLSearchParams writes it (space -> '+'). */
void   sbx_form_encode(struct evbuffer *out, const char *s);

/*
 * ISO-8601 with an explicit offset: "2024-03-01T10:00:00-05:00" (offset_min = -300),
 * "Z" form when use_z and offset 0. Returns chars written (NUL-terminated), 0 on error.
 */
size_t sbx_time_format(int64_t t, int offset_min, bool use_z, char *out, size_t cap);
/* Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM|±HHMM)"; a missing offset
 * means `default_offset_min`. 0 or -1. */
int    sbx_time_parse(const char *s, int default_offset_min, int64_t *out);

/* Strict decimal parse of a whole string into int64 within [min, max]. 0 or -1. */
int    sbx_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Decimal money "12.34" -> 1234 minor units (2 decimals). 0 or -1. */
int    sbx_parse_money(const char *s, int64_t *out_cents);

/* ------------------------------------------------------------------ JSON writer */

/*
 * Streaming JSON writer into an evbuffer: no intermediate tree, so pages of 250 orders cost
 * one pass. Commas are handled by the writer. An optional top-level field filter (Shopify
 * `fields=`) skips members of objects at `filter_depth` whose key is not listed.
 */
#define SBX_JW_MAX_DEPTH 32

struct sbx_jw {
    struct evbuffer *out;
    int              depth;
    bool             need_comma[SBX_JW_MAX_DEPTH];
    bool             key_pending[SBX_JW_MAX_DEPTH];
    int              skip_depth;       /* >= 0 while a filtered-out value is being skipped */
    int              filter_depth;     /* depth of the objects filtered, or -1 */
    const char      *filter;           /* comma-separated allowed keys, or NULL */
    size_t           blen;             /* staged bytes, flushed when a top value ends */
    char             buf[16384];
};

void sbx_jw_init(struct sbx_jw *w, struct evbuffer *out);
/* Output is staged and flushed when a top-level value is complete (or by this call). */
void sbx_jw_flush(struct sbx_jw *w);
/* Filter members of objects opened at `depth` (1 = the top-level object's members). */
void sbx_jw_set_filter(struct sbx_jw *w, const char *fields, int depth);
void sbx_jw_obj(struct sbx_jw *w);
void sbx_jw_obj_end(struct sbx_jw *w);
void sbx_jw_arr(struct sbx_jw *w);
void sbx_jw_arr_end(struct sbx_jw *w);
void sbx_jw_key(struct sbx_jw *w, const char *key);
void sbx_jw_str(struct sbx_jw *w, const char *s);            /* NULL writes null */
void sbx_jw_strn(struct sbx_jw *w, const char *s, size_t len);
void sbx_jw_i64(struct sbx_jw *w, int64_t v);
void sbx_jw_u64(struct sbx_jw *w, uint64_t v);
void sbx_jw_dbl(struct sbx_jw *w, double v);
void sbx_jw_bool(struct sbx_jw *w, bool v);
void sbx_jw_null(struct sbx_jw *w);
void sbx_jw_raw(struct sbx_jw *w, const char *json);         /* a complete JSON value */
/* Money in minor units as a decimal string "12.34". */
void sbx_jw_money(struct sbx_jw *w, int64_t cents);
/* Timestamp via sbx_time_format, or null when t == 0. */
void sbx_jw_time(struct sbx_jw *w, int64_t t, int offset_min);
/* Shorthands: key + value. */
void sbx_jw_kstr(struct sbx_jw *w, const char *k, const char *s);
void sbx_jw_ki64(struct sbx_jw *w, const char *k, int64_t v);
void sbx_jw_kbool(struct sbx_jw *w, const char *k, bool v);
void sbx_jw_knull(struct sbx_jw *w, const char *k);
void sbx_jw_kmoney(struct sbx_jw *w, const char *k, int64_t cents);
void sbx_jw_ktime(struct sbx_jw *w, const char *k, int64_t t, int offset_min);

/* ------------------------------------------------------------------ outbox (webhooks out) */

struct sbx_delivery;

/*
 * Called after every attempt: ok is true for a 2xx answer, status is the HTTP status (0 when
 * no answer: refused, timeout, reset). `final` is true when no retry remains. Return true to
 * cancel the remaining retries (e.g. the subscription was just deleted).
 */
typedef bool (*sbx_delivery_cb)(void *arg, const struct sbx_delivery *d, int attempt, bool ok,
                                int status, bool final);

struct sbx_delivery_spec {
    const char          *url;           /* http://127.0.0.1|localhost|[::1]:port/path only */
    const struct sbx_kv *headers;
    size_t               nheaders;
    const void          *body;
    size_t               body_len;
    const char          *content_type;
    const char          *label;         /* for the deliveries log, e.g. the topic */
    const double        *retry_delays_s;/* delay before attempt 2, 3, ... (scaled) */
    size_t               nretries;
    int                  timeout_ms;    /* whole attempt: connect, send, answer */
    sbx_delivery_cb      cb;            /* may be NULL */
    void                *arg;           /* handed to cb; the module keeps it alive */
    uint64_t             group;         /* lets a module cancel all deliveries of one group */
};

/* Queue a delivery (first attempt right away, on the loop). Copies everything. 0 or -1. */
int  sbx_outbox_post(struct sbx_platform *p, const struct sbx_delivery_spec *spec);
/* Cancel pending retries of a group (no callbacks). Returns how many were dropped. */
size_t sbx_outbox_cancel_group(struct sbx_platform *p, uint64_t group);
/* Run every pending retry of `p` now (control: trigger deliveries). Returns how many. */
size_t sbx_outbox_flush(struct sbx_platform *p);
/* Pending deliveries of p. */
size_t sbx_outbox_pending(struct sbx_platform *p);
/* The delivery's label and group, for callbacks. */
const char *sbx_delivery_label(const struct sbx_delivery *d);
uint64_t    sbx_delivery_group(const struct sbx_delivery *d);

#endif /* SBX_H */
