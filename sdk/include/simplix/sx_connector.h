/*
 * The connector descriptor: what a plugin tells the host about itself, and the callbacks the
 * host calls. A plugin exports exactly one symbol, sx_connector_entry(), returning a pointer to
 * a static const sx_connector (use SX_CONNECTOR_DEFINE).
 *
 * The host reads only `hdr` first, refuses a major it does not serve or a newer minor, copies
 * `struct_size` bytes into a zero-filled copy of its own, and validates every field before
 * the plugin is marked loaded (docs/SDK.md lists the refusals and their sentences).
 */
#ifndef SIMPLIX_SX_CONNECTOR_H
#define SIMPLIX_SX_CONNECTOR_H

#include "sx_abi.h"
#include "sx_host.h"
#include "sx_model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Auth kinds (sx_connector.auth_kind). */
enum {
    SX_AUTH_NONE               = 0,
    SX_AUTH_OAUTH2_CODE        = 1,
    SX_AUTH_CLIENT_CREDENTIALS = 2,
    SX_AUTH_API_KEY            = 3,
    SX_AUTH_BASIC              = 4
};

/* Capabilities (sx_connector.caps, bit set). */
enum {
    SX_CAP_WEBHOOKS    = 1u << 0,   /* webhook ops present */
    SX_CAP_INCREMENTAL = 1u << 1,   /* list() honours updated_since_ms */
    SX_CAP_DELETES     = 1u << 2    /* list() can report deleted records */
};

/* Config field kinds and flags (declarative, like Fluent Bit's config_map). */
enum {
    SX_CFG_STRING = 1,
    SX_CFG_SECRET = 2,    /* stored encrypted, write-only in the admin API, read via secret_get */
    SX_CFG_URL    = 3,
    SX_CFG_INT    = 4,
    SX_CFG_BOOL   = 5
};
enum {
    SX_CFG_REQUIRED = 1u << 0
};

typedef struct sx_config_field {
    const char *key;         /* "shop_domain": [a-z0-9_]+; a NULL key ends the table */
    uint32_t    kind;        /* SX_CFG_* */
    uint32_t    flags;       /* SX_CFG_REQUIRED, ... */
    const char *help;        /* shown in the admin UI */
} sx_config_field;

/* ---- Import / export ---------------------------------------------------------------------- */

/* Host-filled request for one page. Allocated by the host at its full size. */
typedef struct sx_list_req {
    sx_header hdr;
    uint32_t  entity;           /* SX_ENTITY_* this call is for */
    uint32_t  page_size;        /* the engine's wish; the connector clamps to the platform max */
    sx_str    cursor;           /* empty = first page; else what the previous call returned */
    int64_t   updated_since_ms; /* 0 = full sync; else inclusive lower bound (overlap applied) */
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_list_req;

/* Plugin-filled result of one page. Records go out through host->emit() during the call. */
typedef struct sx_list_res {
    sx_header hdr;              /* host sets it; the plugin only fills the fields below */
    sx_str    next_cursor;      /* opaque; the host copies it; empty = no more pages */
    uint32_t  has_more;         /* 1 when another page exists (next_cursor set) */
    uint32_t  reserved;
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_list_res;

/* Plugin-filled result of one push. */
typedef struct sx_push_res {
    sx_header hdr;
    sx_str    external_id;          /* the platform's id of the created/updated record */
    int64_t   external_updated_at;  /* ms UTC, the platform's updated_at after the write, or 0 */
    sx_str    canonical_json;       /* optional: the record as the platform now has it */
    /* ---- ABI 1.1 and later: append below, never above ---- */
    /* push_batch() only: SX_OK when this record was written, else its SX_E_* status, with
     * `error` saying why (the host copies it). Ignored by push(). */
    int32_t   status;
    uint32_t  reserved;
    sx_str    error;
} sx_push_res;

typedef struct sx_entity_ops {
    sx_header   hdr;                  /* SX_HEADER_INIT(sx_entity_ops) */
    uint32_t    entity;               /* SX_ENTITY_* */
    uint32_t    directions;           /* SX_DIR_IMPORT | SX_DIR_EXPORT */
    /* One page. req->cursor.len == 0 means "first page". Required with SX_DIR_IMPORT. */
    int (*list)(sx_ctx *cx, const sx_list_req *req, sx_list_res *res);
    /* Create (no "external_id" in the JSON) or update one record. Required with
     * SX_DIR_EXPORT, NULL otherwise. */
    int (*push)(sx_ctx *cx, sx_str canonical_json, sx_push_res *res);
    /* ---- ABI 1.1 and later: append below, never above ---- */
    /* Optional (ABI 1.1): write up to `max_batch` records in one platform request
     * (WooCommerce's /batch). in[i] is what push() would get; the plugin fills every res[i],
     * with res[i].status per record. Returns SX_OK when the batch request went through (even
     * if some records were refused: their res[i].status says so), or a status for the whole
     * batch (nothing written, or not known: the host retries the records later). The host
     * never puts two changes of one record in a batch. Requires push; max_batch 2..1000. */
    uint32_t    max_batch;
    uint32_t    reserved;
    int (*push_batch)(sx_ctx *cx, const sx_str *in, uint32_t n, sx_push_res *res);
    /* ---- ABI 1.2 ---- */
    /* Optional (ABI 1.2): one page of the ids of EVERY record of this entity that exists on
     * the platform now (the deletion sweep, for platforms that send no delete events and
     * whose listings omit deleted records). Emit {"external_id":"..."} per record through
     * host->emit(); other keys are ignored. Use a stable order with a keyset cursor (ids
     * after the last one of the previous page), never an offset: a record deleted during
     * the sweep must not shift a live one out of the listing. req->updated_since_ms is 0.
     * The host marks deleted, after a complete listing only, what its mapping store has
     * and the listing lacks. Requires list. */
    int (*list_ids)(sx_ctx *cx, const sx_list_req *req, sx_list_res *res);
} sx_entity_ops;

/* ---- Auth ----------------------------------------------------------------------------------- */

/* How the host applies credentials to every request (sx_auth_ops.apply). */
enum {
    SX_APPLY_NONE    = 0,
    SX_APPLY_BEARER  = 1,   /* Authorization: Bearer <secret token_key> */
    SX_APPLY_HEADER  = 2,   /* <header_name>: <secret token_key> */
    SX_APPLY_BASIC   = 3,   /* Authorization: Basic base64(<user_key>:<pass_key>) */
    SX_APPLY_CUSTOM  = 4    /* the plugin's sign() callback adds what it needs */
};

/* Tokens from a code exchange or refresh; plugin-filled, the host encrypts and stores them. */
typedef struct sx_token {
    sx_header hdr;
    sx_str    access_token;
    sx_str    refresh_token;        /* empty when the platform gives none */
    int64_t   expires_in_s;         /* 0 = does not expire */
    int64_t   refresh_expires_in_s; /* 0 = unknown or does not expire */
    sx_str    scope;
    sx_str    account_json;         /* optional JSON: shop details etc., kept with the token */
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_token;

typedef struct sx_kv {
    sx_str key;
    sx_str value;
} sx_kv;

typedef struct sx_auth_ops {
    sx_header   hdr;                /* SX_HEADER_INIT(sx_auth_ops) */
    uint32_t    apply;              /* SX_APPLY_* */
    uint32_t    reserved;
    const char *header_name;        /* SX_APPLY_HEADER: "X-Shopify-Access-Token" */
    const char *token_key;          /* secret holding the token: "access_token" */
    const char *user_key;           /* SX_APPLY_BASIC: secret or config key for the user */
    const char *pass_key;           /* SX_APPLY_BASIC: secret key for the password, may be NULL */

    /* SX_APPLY_CUSTOM: add auth to a copy of the request before each attempt (so timestamps
     * and nonces are fresh). The plugin may replace out->query/headers with call-arena
     * memory. */
    int (*sign)(sx_ctx *cx, const sx_http_req *in, sx_http_req *out);

    /* SX_AUTH_OAUTH2_CODE (or SX_AUTH_API_KEY with a browser key flow): build the URL the
     * administrator's browser goes to. `state` is the host's single-use nonce; `redirect_uri`
     * the host's callback, which takes a GET (browser) or a POST of JSON (keys delivered by
     * the platform). *url in the call arena. */
    int (*authorize_url)(sx_ctx *cx, sx_str state, sx_str redirect_uri, sx_str *url);

    /* SX_AUTH_OAUTH2_CODE: check the callback (state already checked by the host), exchange
     * the code. `params` are the decoded query parameters of the callback. */
    int (*exchange_code)(sx_ctx *cx, const sx_kv *params, uint32_t n_params,
                         sx_str redirect_uri, sx_token *out);

    /* Refresh an expiring token; NULL when tokens never expire. The host serializes refreshes
     * per integration across threads and processes, and persists *out atomically. */
    int (*refresh)(sx_ctx *cx, sx_token *out);
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_auth_ops;

/* ---- Webhooks ------------------------------------------------------------------------------- */

/* Signature schemes the host verifies for the plugin (sx_webhook_ops.sig_scheme). */
enum {
    SX_SIG_CUSTOM            = 0,   /* the plugin's verify() does it */
    SX_SIG_HMAC_SHA256_B64   = 1,   /* base64(HMAC-SHA256(secret, body)): Shopify, WooCommerce */
    SX_SIG_HMAC_SHA256_HEX   = 2,   /* hex(HMAC-SHA256(secret, body)) */
    SX_SIG_HMAC_URL_BODY_B64 = 3    /* base64(HMAC-SHA256(secret, notification_url + body)):
                                       Square */
};

/* A received delivery, host-filled; everything is borrowed for the duration of the call. */
typedef struct sx_webhook_req {
    sx_header             hdr;
    const sx_http_header *headers;
    uint32_t              n_headers;
    uint32_t              reserved;
    sx_str                body;       /* the raw bytes, exactly as received */
    sx_str                url;        /* the public URL the platform posted to */
    sx_str                topic;      /* from topic_header, when declared */
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_webhook_req;

typedef struct sx_webhook_ops {
    sx_header   hdr;                  /* SX_HEADER_INIT(sx_webhook_ops) */
    uint32_t    sig_scheme;           /* SX_SIG_*; SX_SIG_CUSTOM requires verify() */
    uint32_t    timestamp_tolerance_s;/* 0 = the platform signs no timestamp */
    const char *sig_header;           /* "X-Shopify-Hmac-Sha256" */
    const char *secret_key;           /* secret holding the signing key: "webhook_secret" */
    const char *dedupe_header;        /* "X-Shopify-Event-Id": the delivery's idempotency key */
    const char *topic_header;         /* "X-Shopify-Topic" */

    /* Extra or custom verification (timestamps, RSA). SX_OK, SX_E_SIGNATURE or SX_E_STALE. */
    int (*verify)(sx_ctx *cx, const sx_webhook_req *req);

    /* Turn a verified delivery into canonical changes via host->emit_change(). A delivery
     * that carries nothing to apply (a ping) returns SX_OK having emitted nothing. */
    int (*translate)(sx_ctx *cx, const sx_webhook_req *req);

    /* Create the platform subscriptions for `callback_url`; remember their ids with
     * state_set. Remove them again. */
    int (*subscribe)(sx_ctx *cx, sx_str callback_url);
    int (*unsubscribe)(sx_ctx *cx);
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_webhook_ops;

/* ---- The descriptor ------------------------------------------------------------------------- */

typedef struct sx_connector {
    sx_header               hdr;          /* SX_HEADER_INIT(sx_connector) */
    const char             *id;           /* "shopify": [a-z0-9_]+, equals the file name */
    const char             *display_name;
    const char             *version;      /* the connector's own semver "1.2.3" */
    const char             *license;
    uint32_t                auth_kind;    /* SX_AUTH_* */
    uint32_t                caps;         /* SX_CAP_* */
    const sx_config_field  *config;       /* NULL-key-terminated; may be NULL */
    const sx_entity_ops   **entities;     /* NULL-terminated, at least one */
    const sx_auth_ops      *auth;         /* required unless auth_kind == SX_AUTH_NONE */
    const sx_webhook_ops   *webhook;      /* required with SX_CAP_WEBHOOKS, else NULL */

    /* Instance = one integration of one organization. The plugin owns *state. Optional. */
    int  (*instance_new)(sx_ctx *cx, void **state);
    void (*instance_free)(void *state);
    /* Required: one cheap authenticated call; fail() says what is wrong. */
    int  (*test_connection)(sx_ctx *cx);
    /* ---- ABI 1.1 and later: append below, never above ---- */
} sx_connector;

/* The only exported symbol. A function, not data: dlsym is only portable for functions, which
 * is why PostgreSQL's magic block is a function too. Pure: no side effects. */
typedef const sx_connector *(*sx_entry_fn)(void);
#define SX_ENTRY_SYMBOL "sx_connector_entry"

#define SX_CONNECTOR_DEFINE(desc)                                       \
    SX_EXPORT const sx_connector *sx_connector_entry(void);            \
    const sx_connector *sx_connector_entry(void) { return &(desc); }

#ifdef __cplusplus
}
#endif

#endif /* SIMPLIX_SX_CONNECTOR_H */
