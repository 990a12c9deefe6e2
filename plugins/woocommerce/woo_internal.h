/*
 * Internal to the WooCommerce connector: the pieces shared by its source files, and the pure
 * functions the unit test and the fuzz target (tests/fuzz/fuzz_woocommerce.c) call directly.
 * Nothing here is exported from woocommerce.so (hidden visibility); only sx_connector_entry is.
 *
 * Wire facts cited as "platforms.md 2.x" are from the shared platforms.md (../shared/platforms.md
 * beside the repository), section 2.
 */
#ifndef WOO_INTERNAL_H
#define WOO_INTERNAL_H

#include <simplix/simplix.h>

#include <stddef.h>
#include <stdint.h>

#include "../common/sxp.h"

#define WOO_MAX_PER_PAGE      100            /* platforms.md 2.3: per_page <= 100 */
#define WOO_MAX_ITEMS         1000           /* bound on any array read from WooCommerce */
#define WOO_MAX_VARIATIONS    500            /* variations fetched per variable product */
#define WOO_CURSOR_MAX        512
#define WOO_DEFAULT_CONCURRENCY 4            /* requests in flight per store (a setting) */
#define WOO_OAUTH_MAX_PARAMS  64

/* Per-instance state (one integration = one store). Calls on one instance are serialized by
 * the host, so no lock. */
struct woo_inst {
    char origin[512];        /* "https://store.example" without a trailing slash */
    char api[600];           /* origin + "/wp-json/wc/v3" */
    int  https;              /* 1: Basic auth; 0: OAuth 1.0a one-legged (platforms.md 2.1) */
    int  query_auth;         /* 1: consumer_key/consumer_secret as query (server strips
                                Authorization); only over https */
    char currency[4];        /* the store's currency, "" until read from system_status */
};

/* ---- pure helpers (no host call except through the arena; fuzzed) ------------------------ */

/* RFC 3986 percent-encoding (PHP rawurlencode): unreserved kept, everything else %XX. */
void woo_rawurlencode(struct sxp_buf *b, sx_str s);

/*
 * The OAuth 1.0a signature base string WooCommerce rebuilds (platforms.md 2.1):
 *   METHOD & rawurlencode(url without query) & rawurlencode(k1=v1&k2=v2...)
 * where the parameters are every query parameter of the request plus the oauth_* ones,
 * decoded, sorted by key with strcmp (then by value), each key and value rawurlencoded.
 * `query` is the request's encoded query (may be empty); `oauth` holds the oauth_* pairs
 * (unencoded). The result lives in the call arena.
 */
int woo_oauth_base_string(sx_ctx *cx, const char *method, sx_str url, sx_str query,
                          const sx_kv *oauth, size_t n_oauth, sx_str *out);

/* "1234" (a JSON int or a string of digits) -> "1234" in the call arena. */
int woo_record_id(sx_ctx *cx, const sx_json *rec, sx_str *out);

/* A WooCommerce GMT time without offset ("2024-03-01T15:00:00", the *_gmt fields) -> ms UTC.
 * SX_OK, SX_E_NOT_FOUND (absent or null), SX_E_INVALID. */
int woo_gmt_ms(sx_ctx *cx, const sx_json *v, int64_t *out);

/* The record's date_modified_gmt (falling back to date_created_gmt) as ms UTC. */
int woo_record_modified(sx_ctx *cx, const sx_json *rec, int64_t *out);

/* ---- mapping (platform JSON -> canonical JSON), woo_map.c ---------------------------------- */

/*
 * One WooCommerce record as one canonical record (sdk/MODEL.md) in `out`. SX_OK, or a code
 * after cx->host->fail() explained it (the record's id in the message).
 *  - customer: billing/shipping become addresses; the billing company is company_name.
 *  - product: `variations` is the array from /products/{id}/variations for a variable
 *    product (each a sellable variant), NULL otherwise (one variant whose external_id is the
 *    product's). `currency` is the store's (products carry none).
 *  - order: line items, taxes, coupons, shipping, fees, refunds, statuses, totals in minor
 *    units of the order's own currency.
 */
int woo_map_customer(sx_ctx *cx, const sx_json *c, struct sxp_buf *out);
int woo_map_product(sx_ctx *cx, const sx_json *p, const sx_json *variations, sx_str currency,
                    struct sxp_buf *out);
int woo_map_order(sx_ctx *cx, const sx_json *o, struct sxp_buf *out);

/* ---- canonical -> WooCommerce request bodies (push), woo_map.c ----------------------------- */

/* The JSON object to POST (create) or PUT (update) for a canonical customer / product. The
 * object has no "id"; the caller adds it for batch updates. A product with several variants
 * is written as its parent fields only (the variations go through woo_variation_body). */
int woo_customer_body(sx_ctx *cx, const sx_json *canon, struct sxp_buf *out);
int woo_product_body(sx_ctx *cx, const sx_json *canon, struct sxp_buf *out);
/* One canonical variant as a variation update ({"id":..,"sku":..,"regular_price":..,...}). */
int woo_variation_body(sx_ctx *cx, const sx_json *variant, sx_str currency,
                       struct sxp_buf *out);

/* The JSON root path of an entity's list ("customers", "products", "orders"). */
const char *woo_path(uint32_t entity);

/* ---- shared helpers of the connector (woo.c) ----------------------------------------------- */

/* Absolute URL of "<api>/<rest>" (call arena), or NULL. */
const char *woo_api_url(sx_ctx *cx, const char *rest);
/* The store's currency (config "currency", else system_status), cached. */
int woo_store_currency(sx_ctx *cx, sx_str *out);
/* WooCommerce's error sentence of a refused request ("message", "code"), for messages. */
sx_str woo_error_text(sx_ctx *cx, const sx_http_resp *resp);
/* What system_status says about the store, kept in the state "store" as JSON (*account). */
int woo_note_store(sx_ctx *cx, sx_str body, sx_str *account);
/* Map one record of `entity`, fetching a variable product's variations. */
int woo_map_record(sx_ctx *cx, uint32_t entity, const sx_json *rec, struct sxp_buf *out);
/* Fetch every variation of product `id` (one or more pages); *out is a JSON array. */
int woo_fetch_variations(sx_ctx *cx, sx_str id, const sx_json **out);

extern const sx_auth_ops    woo_auth_ops;
extern const sx_webhook_ops woo_webhook_ops;

#endif /* WOO_INTERNAL_H */
