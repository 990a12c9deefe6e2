/*
 * The OAuth manager (DESIGN.md 1 and 8): single-use authorization states, the callback (state
 * first, then the connector's own checks and the code exchange), tokens sealed at rest, and
 * refresh before expiry with ONE refresh at a time per integration across threads and hub
 * processes.
 *
 * Where things live
 *   oauth_states (0003)          SHA-256 hex of the nonce sent as `state`, never the nonce;
 *                                integration, organization, redirect_uri, expires_at (10 min),
 *                                used_at (set once, in the transaction that stores the tokens).
 *   integration_secrets (0003)   "access_token", "refresh_token": sealed by hub_secret_store
 *                                (AD "integration_secrets:<id>:<key>"); what the host applies
 *                                to every request of the connector (sx_auth_ops.token_key).
 *   oauth_tokens (0012)          expires_at, refresh_expires_at, scopes, generation (+1 per
 *                                stored pair), refresh_count, dead_at (refresh refused).
 *   shopify_shops (0002)         for platform "shopify" only: shop_domain (the callback's
 *                                signed `shop`), access_token and refresh_token sealed with
 *                                hub_crypto_seal_ad under the associated data
 *                                    "shopify_shops.access_token:<integration_id>"
 *                                    "shopify_shops.refresh_token:<integration_id>"
 *                                (see HUB_OAUTH_SHOPIFY_AD_*), token_expires_at,
 *                                refresh_token_expires_at, scopes, and shop_name, email,
 *                                currency, timezone, plan, country_code from
 *                                sx_token.account_json when present ({"shop":{...}} or the
 *                                shop object itself; Shopify's shop.json field names).
 *
 * The refresh protocol (hub_oauth_ensure_fresh)
 *   1. Read oauth_tokens: nothing due -> done (no lock, no transaction).
 *   2. BEGIN; pg_advisory_xact_lock(hashtext('oauth_refresh'), id mod 2^31): one refresher
 *      per integration in the whole cluster (a collision of two ids only serializes them).
 *   3. Re-read under the lock: another worker or hub may have refreshed while we waited ->
 *      COMMIT, done (the new token is already in integration_secrets).
 *   4. auth->refresh() in a call on the same connection, so the connector reads the CURRENT
 *      refresh token (rotating tokens: an old one may already be dead).
 *   5. New pair + expiry + shopify_shops in the same transaction; COMMIT releases the lock.
 *   SX_E_AUTH from refresh() is a dead grant: integrations.status = 'ERROR', last_error_message
 *   "<Display name> refused the refresh token: reconnect the shop|integration in Simplix
 *   (OAuth)", oauth_tokens.dead_at set; later calls answer HUB_E_AUTH without asking the
 *   platform again until an administrator reconnects (a new code exchange).
 *   Any other failure rolls back and is returned; the caller retries later.
 *
 * Threads: every function takes the calling thread's own struct hub_db (outside any
 * transaction) and may block on the database and on the platform; never call them on the
 * event loop (the callback route runs them on a hub_http_defer pool thread).
 */
#ifndef HUB_OAUTH_OAUTH_H
#define HUB_OAUTH_OAUTH_H

#include <stddef.h>
#include <stdint.h>

#include <simplix/simplix.h>

#include "core/error.h"
#include "crypto/crypto.h"
#include "db/db.h"
#include "http/defer.h"
#include "http/server.h"
#include "plugin/hostapi.h"
#include "plugin/loader.h"

#define HUB_OAUTH_CALLBACK_PATH     "/oauth/callback"
#define HUB_OAUTH_STATE_TTL_S       600          /* an authorize link is valid 10 minutes */
#define HUB_OAUTH_REFRESH_MARGIN_S  300          /* refresh when expiring within 5 minutes */
#define HUB_OAUTH_PURGE_KEEP_S      86400        /* used/expired states kept 1 day */
#define HUB_OAUTH_MAX_PARAMS        64           /* callback query parameters */
#define HUB_OAUTH_MAX_QUERY         8192         /* callback query bytes */
#define HUB_OAUTH_MAX_URL           8192         /* authorize URL a connector may build */
#define HUB_OAUTH_MAX_TOKEN         16384        /* access or refresh token bytes */
#define HUB_OAUTH_SHOPIFY_AD_ACCESS  "shopify_shops.access_token:"   /* + integration id */
#define HUB_OAUTH_SHOPIFY_AD_REFRESH "shopify_shops.refresh_token:"  /* + integration id */
#define HUB_OAUTH_WOO_AD_KEY         "woocommerce_stores.consumer_key:"     /* + id */
#define HUB_OAUTH_WOO_AD_SECRET      "woocommerce_stores.consumer_secret:"  /* + id */
#define HUB_OAUTH_MAX_KEYS_BODY      16384        /* a key delivery POSTed to the callback */

/* Decoded query parameters of a callback, in the order received (duplicates kept). */
struct hub_oauth_params {
    size_t n;
    sx_kv  kv[HUB_OAUTH_MAX_PARAMS];   /* NUL-terminated strings inside `store` */
    char  *store;                      /* owned */
};

/*
 * Parse a raw query string ("a=1&b=x%20y"): '+' and %XX decoded, NUL bytes, bad escapes,
 * empty names, more than HUB_OAUTH_MAX_PARAMS parameters or HUB_OAUTH_MAX_QUERY bytes refused
 * with HUB_E_INVALID / HUB_E_LIMIT. NULL or "" gives zero parameters. Free with
 * hub_oauth_params_free (also after a failure). Thread-safe, no I/O.
 */
int  hub_oauth_params_parse(const char *query, struct hub_oauth_params *out,
                            struct hub_error *err);
void hub_oauth_params_free(struct hub_oauth_params *p);
/* First value of `key`, NUL-terminated and borrowed from `p`, or NULL. */
const char *hub_oauth_param(const struct hub_oauth_params *p, const char *key);

/*
 * Begin connecting integration `integration_id`: a fresh 32-byte random nonce (64 hex digits)
 * is the `state`; its SHA-256 hex is stored in oauth_states with the integration, its
 * organization, redirect_uri = `public_url` (no trailing slash needed) + "/oauth/callback" and
 * an expiry 10 minutes away. The connector (integrations.platform) builds the URL with
 * sx_auth_ops.authorize_url in a call. On success *authorize_url is malloc'd (caller frees).
 * Errors: HUB_E_NOT_FOUND (no such live integration, connector not loaded), HUB_E_UNSUPPORTED
 * (connector does not use OAuth), HUB_E_INVALID (public_url), HUB_E_PLUGIN / SX codes (the
 * connector failed), HUB_E_DB.
 */
int  hub_oauth_start(struct hub_db *db, struct hub_runtime *rt, struct hub_plugins *plugins,
                     int64_t integration_id, const char *public_url, char **authorize_url,
                     struct hub_error *err);

/*
 * Complete a connection from the platform's redirect. In one transaction:
 *   UPDATE oauth_states SET used_at = now() WHERE state = sha256(state param) AND used_at IS
 *   NULL AND expires_at > now() RETURNING ... (a concurrent second callback waits on the row
 *   and then finds it used), a constant-time compare of the stored hash, the connector's
 *   exchange_code with ALL decoded parameters and the stored redirect_uri (it checks its own
 *   signature, shop pattern and timestamp, then exchanges the code), then the tokens and the
 *   integration (status 'ACTIVE', last error cleared) as described above; COMMIT.
 * Any failure rolls everything back, so the state is consumed only by a successful callback.
 * *integration_id is set as soon as the state is known (also on a later failure), else 0.
 * Errors, each with its own sentence in `err`:
 *   HUB_E_INVALID    no `state` parameter / malformed
 *   HUB_E_NOT_FOUND  unknown state (never issued here, or purged)
 *   HUB_E_CONFLICT   state already used
 *   HUB_E_STALE      state expired, or the platform's signed timestamp is too old (connector)
 *   HUB_E_SIGNATURE  the callback's signature (hmac) is wrong (connector)
 *   HUB_E_REJECTED   the shop is already connected to another integration; the platform
 *                    refused the code (connector); the integration was deleted
 *   other SX codes from the connector, HUB_E_DB, HUB_E_CRYPTO
 * hub_oauth_http_status() turns these into the HTTP status of the callback page.
 */
int  hub_oauth_callback(struct hub_db *db, struct hub_runtime *rt, struct hub_plugins *plugins,
                        const struct hub_crypto_keyring *keys,
                        const struct hub_oauth_params *params, int64_t *integration_id,
                        struct hub_error *err);

/* 400 for what the browser or the platform's redirect got wrong, 502 when the platform
 * failed, 500 for the hub's own failures. */
/*
 * WooCommerce: (re)write the integration's woocommerce_stores row from its secrets
 * consumer_key/consumer_secret (sealed again under HUB_OAUTH_WOO_AD_*), its config store_url
 * and what the connector read from system_status (its state "store": versions, currency,
 * time zone). `permissions` may be NULL (kept). Nothing happens before the keys exist. Runs
 * in the caller's transaction, if any.
 */
int  hub_oauth_woo_store_save(struct hub_db *db, const struct hub_crypto_keyring *keys,
                              int64_t id, const char *permissions, struct hub_error *err);

int  hub_oauth_http_status(int rc);

/*
 * Make sure the access token of `inst` (an instance of its integration) does not expire within
 * `margin_s` seconds (< 0: HUB_OAUTH_REFRESH_MARGIN_S), refreshing it with the protocol above.
 * 0 when fresh (already, by us, or by another worker/hub), including integrations without
 * oauth_tokens or whose tokens never expire. HUB_E_AUTH with the reconnect sentence for a dead
 * grant; HUB_E_UNSUPPORTED when tokens expire but the connector cannot refresh; the
 * connector's code (HUB_E_TRANSIENT, ...) otherwise. `db` is the calling worker's connection
 * (also used for the call, so the connector's secret_get sees the current tokens).
 */
int  hub_oauth_ensure_fresh(struct hub_db *db, struct hub_runtime *rt, struct hub_instance *inst,
                            int margin_s, struct hub_error *err);

/*
 * After the platform refused a token that should be valid (401): refresh unless another
 * refresher already replaced generation `seen_generation` (read with hub_oauth_token_info
 * before the failing request), in which case the new token is simply used. Same locking and
 * errors as hub_oauth_ensure_fresh.
 */
int  hub_oauth_refresh_if_generation(struct hub_db *db, struct hub_runtime *rt,
                                     struct hub_instance *inst, int64_t seen_generation,
                                     struct hub_error *err);

struct hub_oauth_token_info {
    int     present;            /* an oauth_tokens row exists */
    int64_t generation;
    int64_t expires_at_ms;      /* 0 = does not expire */
    int     dead;               /* refresh refused: reconnect needed */
    int64_t refresh_count;
};
int  hub_oauth_token_info(struct hub_db *db, int64_t integration_id,
                          struct hub_oauth_token_info *out, struct hub_error *err);

/*
 * Delete states that expired more than `keep_s` seconds ago (< 0: HUB_OAUTH_PURGE_KEEP_S), used
 * or not. Until then a replayed link still gets "already used"/"expired" rather than
 * "unknown". *n_deleted (may be NULL) gets the count. For the scheduler.
 */
int  hub_oauth_purge_states(struct hub_db *db, int keep_s, int64_t *n_deleted,
                            struct hub_error *err);

/* What the callback route needs; filled by the daemon, borrowed for the server's life. */
struct hub_oauth_ctx {
    struct hub_runtime              *rt;
    struct hub_plugins              *plugins;
    const struct hub_crypto_keyring *keys;
    struct hub_http_defer_pool      *defer;    /* runs the callback off the event loop */
};

/*
 * Add GET /oauth/callback (public: authenticated only by its single-use state). The request
 * goes to ctx->defer, runs hub_oauth_callback on a pool thread and answers a small HTML page:
 * 200 "Connected <shop domain or integration name>", or hub_oauth_http_status() with the
 * sentence (5xx: a generic sentence; the details go to the log). Never echoes the query, the
 * code or a token. 0 or HUB_E_LIMIT (router full).
 */
int  hub_oauth_register_routes(struct hub_http_server *s, struct hub_oauth_ctx *ctx);

#endif
