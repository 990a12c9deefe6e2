/*
 * The host side of the SDK: the sx_host_api table, connector instances (one per integration)
 * and the call contexts every plugin callback runs in.
 *
 * A call (struct hub_call) owns an arena; everything the host hands the plugin during the
 * call lives there and is freed when the call ends, together with every JSON tree parsed.
 * Calls on one instance are serialized by the instance's mutex; different instances run in
 * parallel on worker threads. Persistence (state, secrets) goes through the worker thread's
 * own database connection passed to each call.
 */
#ifndef HUB_PLUGIN_HOSTAPI_H
#define HUB_PLUGIN_HOSTAPI_H

#include <pthread.h>
#include <stdint.h>

#include <simplix/simplix.h>

#include "core/arena.h"
#include "core/error.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "net/http_client.h"
#include "net/ratelimit.h"
#include "plugin/loader.h"

#define HUB_CALL_ARENA_CAP   (256u * 1024 * 1024)   /* memory one plugin call may hold */
#define HUB_JSON_MAX_DEPTH   64
#define HUB_JSON_MAX_BYTES   (64u * 1024 * 1024)
#define HUB_STATE_MAX_BYTES  (64u * 1024)

/* What every instance of the process shares. Fields are borrowed, owned by the daemon. */
struct hub_runtime {
    struct hub_http_client          *http;
    struct hub_rate_registry        *rates;
    const struct hub_crypto_keyring *keys;
    /* The connector-visible clock (epoch ms); NULL = real time. Tests inject one. */
    int64_t                        (*now_ms)(void *ctx);
    void                            *now_ctx;
    uint32_t                         http_max_attempts;   /* 0 = retry.h default (4) */
    uint32_t                         http_deadline_ms;    /* whole call incl. retries; 0 = 120 s */
};

/* One connector instance = one integration. */
struct hub_instance {
    struct hub_runtime *rt;
    struct hub_plugins *reg;
    struct hub_plugin  *plugin;          /* a reference held for the instance's life */
    int64_t             integration_id;
    char                account[HUB_RATE_ACCOUNT_MAX + 1];   /* "<connector>:<account>" */
    void               *config;          /* json_object *, owned */
    void               *state;           /* what instance_new returned */
    pthread_mutex_t     lock;            /* serializes calls on this instance */
};

struct hub_call;
/* Sink for records a list() emits: return SX_OK or an SX_E_* to stop the page. */
typedef int (*hub_emit_fn)(struct hub_call *call, uint32_t entity, sx_str canonical_json,
                           void *arg);
/* Sink for webhook changes. */
typedef int (*hub_change_fn)(struct hub_call *call, uint32_t entity, uint32_t op,
                             sx_str external_id, sx_str canonical_json, void *arg);

struct hub_call {
    sx_ctx               cx;             /* first member: the plugin sees only this */
    struct hub_instance *inst;
    struct hub_db       *db;             /* may be NULL: state/secrets then fail SX_E_UNSUPPORTED */
    struct hub_arena     arena;
    struct hub_error     err;            /* the reason of the last fail() or host failure */
    void               **json_roots;     /* parsed trees to release at the end */
    size_t               n_json_roots;
    size_t               cap_json_roots;
    hub_emit_fn          emit;
    hub_change_fn        change;
    void                *sink_arg;
    uint32_t             emitted;
};

/* The table handed to every plugin. Static, process-wide. */
const sx_host_api *hub_host_api(void);

/*
 * Open the instance of integration `integration_id` with connector `connector_id` from `reg`
 * (holding a reference, so a hot swap does not unload it under us). `config_json` is the
 * integration's config object (copied); `account` identifies the platform account for the
 * shared rate limiter ("shop.myshopify.com"); NULL derives it from config base_url or the
 * integration id. Calls the plugin's instance_new. *out is closed with hub_instance_close.
 */
int  hub_instance_open(struct hub_runtime *rt, struct hub_plugins *reg, const char *connector_id,
                       int64_t integration_id, const char *config_json, const char *account,
                       struct hub_db *db, struct hub_instance **out, struct hub_error *err);
void hub_instance_close(struct hub_instance *inst);

/* Begin a call on `inst` (locks the instance) and end it (frees the arena and JSON, unlocks). */
void hub_call_begin(struct hub_call *call, struct hub_instance *inst, struct hub_db *db);
void hub_call_end(struct hub_call *call);
/* After a plugin returned `rc` < 0: make sure call->err holds a message and return rc. */
int  hub_call_result(struct hub_call *call, int rc, const char *what);

/* Convenience wrappers that run one callback in its own call. */
int  hub_instance_test_connection(struct hub_instance *inst, struct hub_db *db,
                                  struct hub_error *err);

/* One page of `entity`: records go to `emit`; the next cursor is copied into `next_cursor`
 * (cap bytes, NUL-terminated; "" when there are no more pages). */
int  hub_instance_list(struct hub_instance *inst, struct hub_db *db, uint32_t entity,
                       const char *cursor, int64_t updated_since_ms, uint32_t page_size,
                       hub_emit_fn emit, void *arg, char *next_cursor, size_t cap,
                       int *has_more, struct hub_error *err);
/* One page of the ids of every `entity` record (the connector's list_ids, ABI 1.2): same
 * contract; HUB_E_UNSUPPORTED when the connector has none. */
int  hub_instance_list_ids(struct hub_instance *inst, struct hub_db *db, uint32_t entity,
                           const char *cursor, uint32_t page_size, hub_emit_fn emit,
                           void *arg, char *next_cursor, size_t cap, int *has_more,
                           struct hub_error *err);

/* Secrets of an integration, sealed with the master key (AES-256-GCM, bound to the
 * integration id and key name). Used by the host services and by the admin API. */
int  hub_secret_store(struct hub_db *db, const struct hub_crypto_keyring *keys,
                      int64_t integration_id, const char *key, const void *value, size_t len,
                      struct hub_error *err);
/* *out is malloc'd, NUL-terminated; free with hub_crypto_free_secret(*out, *len). */
int  hub_secret_load(struct hub_db *db, const struct hub_crypto_keyring *keys,
                     int64_t integration_id, const char *key, char **out, size_t *len,
                     struct hub_error *err);

/* RFC 3339 / ISO 8601 -> epoch ms (the time_parse service; exposed for tests and fuzzing). */
int  hub_time_parse(const char *s, size_t len, int64_t *out_ms);
/* HUB_E_* -> SX_E_* for codes that cross the boundary. */
int  hub_to_sx_status(int hub_code);

#endif
