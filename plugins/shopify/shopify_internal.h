/*
 * Internal to the Shopify connector: the pieces shared by its source files, and the parsers
 * the unit test and the fuzz target (tests/fuzz/fuzz_shopify.c) call directly. Nothing here
 * is exported from shopify.so (hidden visibility); only sx_connector_entry is.
 *
 * Wire facts cited as "platforms.md 1.x" are from the shared platforms.md (../shared/platforms.md beside the repository) section 1.
 */
#ifndef SHOPIFY_INTERNAL_H
#define SHOPIFY_INTERNAL_H

#include <simplix/simplix.h>

#include "../common/sxp.h"

#include <stddef.h>
#include <stdint.h>

#define SHP_MAX_LIMIT        250              /* platforms.md 1.4: limit <= 250 */
#define SHP_DEFAULT_VERSION  "2024-10"
#define SHP_MAX_ITEMS        1000             /* bound on any array read from Shopify */
#define SHP_LINK_MAX         (64u * 1024)     /* a Link header longer than this is refused */
#define SHP_CURSOR_MAX       4096             /* longest page_info we carry as a cursor */
#define SHP_OAUTH_SKEW_MS    90000            /* shopify-api-js: 90 s either way (1.2) */

/* Per-instance state (one integration = one shop). Calls on one instance are serialized by
 * the host, so no lock. Allocated in instance_new, freed in instance_free. */
struct shp_inst {
    char shop[256];          /* "x.myshopify.com", validated */
    char origin[512];        /* "https://x.myshopify.com" or the base_url override */
    char version[16];        /* "2024-10" */
    char currency[4];        /* the shop's currency, "" until read from shop.json */
};

/* ---- pure parsers (no host call; fuzzed) --------------------------------------------------- */

/*
 * Find rel="next" in a Link header the way shopify-api-js does (split on ", ", then
 * <url>; rel="x") and return its page_info parameter, borrowed from `link`.
 * SX_OK; SX_E_NOT_FOUND when there is no next page; SX_E_PROTOCOL when the header is
 * malformed, too long, or the next URL has no usable page_info.
 */
int shp_link_next(sx_str link, sx_str *page_info);

/* "32/40" -> 32, 40. SX_OK or SX_E_PROTOCOL. */
int shp_call_limit_parse(sx_str v, uint32_t *used, uint32_t *limit);

/* platforms.md 1.2: ^[a-zA-Z0-9][a-zA-Z0-9\-_]*\.myshopify\.com$ */
int shp_domain_valid(sx_str shop);

/* page_info as we send it back: [A-Za-z0-9%._~+=-], 1..SHP_CURSOR_MAX bytes. */
int shp_cursor_valid(sx_str cursor);

/* Split Shopify's "a, b ,c" tag string into a JSON array of strings. */
void shp_jb_tags(struct sxp_buf *b, sx_str tags);

/* ---- mapping (platform JSON -> canonical JSON), shopify_map.c ------------------------------ */

/* One Shopify customer / product / order object as one canonical record in `out`. Return
 * SX_OK, or a code after cx->host->fail() explained it. `currency` is the shop's currency
 * (products carry none of their own). */
int shp_map_customer(sx_ctx *cx, const sx_json *c, struct sxp_buf *out);
int shp_map_product(sx_ctx *cx, const sx_json *p, sx_str currency, struct sxp_buf *out);
int shp_map_order(sx_ctx *cx, const sx_json *o, struct sxp_buf *out);
int shp_map_entity(sx_ctx *cx, uint32_t entity, const sx_json *rec, sx_str currency,
                   struct sxp_buf *out);

/* The platform id of `rec` ("id", a number or a string of digits) as a decimal string in the
 * call arena. SX_OK or SX_E_PROTOCOL (after fail()). */
int shp_record_id(sx_ctx *cx, const sx_json *rec, sx_str *out);

/* Parse a list page body ({"customers":[...]}) and emit every record through h->emit().
 * *n_out = records emitted. */
int shp_page_emit(sx_ctx *cx, uint32_t entity, sx_str body, sx_str currency, size_t *n_out);

/* The JSON root key of an entity's list ("customers") and single record ("customer"). */
const char *shp_plural(uint32_t entity);
const char *shp_singular(uint32_t entity);

/* ---- canonical -> Shopify request bodies (push), shopify_map.c ----------------------------- */

int shp_customer_body(sx_ctx *cx, const sx_json *canon, sx_str id, struct sxp_buf *out);
int shp_product_body(sx_ctx *cx, const sx_json *canon, sx_str id, struct sxp_buf *out);

/* ---- OAuth callback (shopify_auth.c) ------------------------------------------------------- */

/* The message Shopify signs in an OAuth callback: every parameter but hmac and signature,
 * sorted by key (byte order), form-encoded, joined with '&'. *hmac = the hmac parameter
 * (empty when absent). The message lives in the call arena. */
int shp_oauth_message(sx_ctx *cx, const sx_kv *params, uint32_t n, sx_str *msg, sx_str *hmac);

/* ---- shared helpers of the connector (shopify.c) ------------------------------------------- */

/* h->http plus the X-Shopify-Shop-Api-Call-Limit report to the host's limiter. */
int shp_http(sx_ctx *cx, const sx_http_req *req, const sx_http_resp **resp);
/* Absolute URL of "/admin/api/{v}/<rest>" for this shop (call arena), or NULL (fail() set). */
const char *shp_api_url(sx_ctx *cx, const char *rest);
/* The shop's currency, read once from shop.json (or config "currency") and cached. */
int shp_shop_currency(sx_ctx *cx, sx_str *out);
/* The Shopify error text of a refused request ("errors" member, compact), for messages. */
sx_str shp_errors_text(sx_ctx *cx, const sx_http_resp *resp);

extern const sx_auth_ops    shp_auth_ops;
extern const sx_webhook_ops shp_webhook_ops;

#endif /* SHOPIFY_INTERNAL_H */
