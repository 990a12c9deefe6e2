/*
 * The admin API (/api/v1): what the Simplix UI and administrators use to enable and watch the
 * integrations of ONE organization. docs/API.md describes every route; GET /api/v1/openapi.json
 * serves the same as an OpenAPI 3.1 document.
 *
 * Security model
 *   - Authorization: Bearer sxk_<43 base64url chars>. Only the SHA-256 of a token is stored
 *     (api_tokens, 0003); a token belongs to one organization with a role (admin, readonly)
 *     or to the hub itself (operator: no organization). Missing, unknown, revoked or expired
 *     tokens answer 401; readonly tokens answer 403 to every method but GET; operator tokens
 *     answer 403 on organization resources (they have none); the operator routes
 *     (/organizations) answer 403 to every organization token.
 *   - Every statement is filtered by the token's organization. A resource of another
 *     organization answers 404, exactly like one that does not exist.
 *   - Credentials are write-only: sealed with hub_secret_store, never selected again. Webhook
 *     events are listed without their headers, body or signature.
 *   - Idempotency-Key on a POST: the first answer (< 500) is stored for 24 h per organization
 *     (api_idempotency_keys, 0016); the same key with the same method, path and body gets the
 *     same status, Location and body again; with another request it answers 422. Operator
 *     routes (no organization) ignore the header.
 *
 * Threads: the route handlers run on the event loop and only hand the request to the defer
 * pool; authentication and every query run on a pool thread with its own connection.
 */
#ifndef HUB_API_API_H
#define HUB_API_API_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "http/defer.h"
#include "http/server.h"
#include "plugin/loader.h"

struct hub_sync;
struct hub_runtime;

#define HUB_API_PREFIX        "/api/v1"
#define HUB_API_ROUTES_MAX    32
#define HUB_API_LIMIT_DEFAULT 25
#define HUB_API_LIMIT_MAX     100
#define HUB_API_TOKEN_PREFIX  "sxk_"
/* "sxk_" + base64url (no padding) of 32 bytes + NUL */
#define HUB_API_TOKEN_LEN     (4 + 43)
#define HUB_API_TOKEN_SIZE    (HUB_API_TOKEN_LEN + 1)

struct hub_api_ctx;

/* One route as registered (also what the OpenAPI test compares against). */
struct hub_api_route {
    int         methods;               /* HUB_M_* */
    const char *pattern;               /* "/api/v1/integrations/{id}" */
};

/* What hub_api_register binds to each route (storage inside the context, no allocation). */
struct hub_api_binding {
    struct hub_api_ctx *ctx;
    size_t              route;         /* index into the route table */
};

/*
 * Filled by the daemon before hub_api_register; borrowed for the server's life (the defer
 * pool keeps pointers into it until it is stopped).
 */
struct hub_api_ctx {
    struct hub_http_defer_pool      *defer;      /* required */
    struct hub_plugins              *plugins;    /* required */
    struct hub_sync                 *sync;       /* NULL: test/oauth/start answer 503 */
    struct hub_runtime              *rt;         /* NULL: hub_sync_runtime(sync) */
    const struct hub_crypto_keyring *keys;       /* seals credentials */
    const char                      *public_url; /* OAuth redirect base */
    const char                      *marketplace_dir;   /* NULL: marketplace routes 503 */
    const char                      *marketplace_trust; /* NULL: <dir>/trusted-keys.json */
    const char                      *plugin_dir;
    /* private */
    struct hub_api_binding           bindings[HUB_API_ROUTES_MAX];
};

/*
 * Add every /api/v1 route to `s`. Call before the loop runs. 0, HUB_E_INVALID (no defer pool
 * or plugins) or HUB_E_LIMIT (router full).
 */
int  hub_api_register(struct hub_http_server *s, struct hub_api_ctx *ctx);

/* The route table (static) and its size. */
const struct hub_api_route *hub_api_routes(size_t *n);

/* The OpenAPI 3.1 document (static, NUL-terminated). */
const char *hub_api_openapi_json(void);

/*
 * Create a token: `org_id` > 0 with role "admin" or "readonly", or org_id 0 with role
 * "operator". Writes the token (shown once, never stored) into `out_token` and its row id into
 * *out_id (may be NULL). 0, HUB_E_INVALID, HUB_E_CRYPTO or HUB_E_DB.
 */
int  hub_api_token_create(struct hub_db *db, int64_t org_id, const char *role, const char *name,
                          char out_token[HUB_API_TOKEN_SIZE], int64_t *out_id,
                          struct hub_error *err);

/* The CLI: `simplix-hub token create|list|revoke ...` (argv[0] == "token"). Exit code. */
int  hub_cli_tokens(int argc, char **argv);

#endif
