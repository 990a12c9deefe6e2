/*
 * Internal to the PrestaShop connector (Webservice API): the pieces shared by its files, and
 * the pure functions the unit tests and the fuzz target (tests/fuzz/fuzz_prestashop_xml.c) call.
 * Nothing here is exported from prestashop.so; only sx_connector_entry is.
 *
 * Shape: every read is turned into ONE JSON shape, the one PrestaShop itself writes with
 * output_format=JSON (values as strings; multilingual fields as [{"id":"1","value":".."}];
 * associations as {"associations":{"order_rows":[{...}],...}}; a list as
 * {"customers":[{...}]}; an empty list as []). XML answers (the default, and the only format
 * of old shops) are converted to that shape by presta_xml_to_json (libxml2, no network, no
 * entities), so the mapping reads one shape. Wire facts: ../shared/platforms.md section 3.
 */
#ifndef PRESTA_INTERNAL_H
#define PRESTA_INTERNAL_H

#include <simplix/simplix.h>

#include <stddef.h>
#include <stdint.h>

#include "../common/sxp.h"

#define PRESTA_MAX_PAGE      100            /* records per page we ask for */
#define PRESTA_MAX_ITEMS     2000           /* bound on any array read from the shop */
#define PRESTA_XML_MAX       (32u * 1024 * 1024)
#define PRESTA_XML_DEPTH     32

/* Per-instance state. */
struct presta_inst {
    char    origin[512];     /* "https://shop.example" */
    char    api[600];        /* origin + "/api" */
    int     json;            /* 1: ask output_format=JSON; 0: read XML (converted) */
    int     lang_id;         /* the language whose texts Simplix gets (default 1) */
    int     utc_offset_min;  /* the shop's time zone, minutes east of UTC (date_upd is local) */
};

/*
 * Convert a PrestaShop Webservice XML document (<prestashop>...</prestashop>) to the JSON shape
 * of output_format=JSON, written with `out`. Bounded (PRESTA_XML_MAX bytes, PRESTA_XML_DEPTH
 * levels, PRESTA_MAX_ITEMS children per element); no DTD, no entity expansion, no network.
 * SX_OK, or SX_E_PROTOCOL with a sentence in *why (static) for malformed or unexpected XML.
 */
int presta_xml_to_json(const char *xml, size_t len, struct sxp_buf *out, const char **why);

/* "2024-01-20 21:27:22" in the shop's time zone (offset minutes east of UTC) -> ms UTC. */
int presta_local_ms(sx_str text, int utc_offset_min, int64_t *out);
/* ms UTC -> "YYYY-MM-DD HH:MM:SS" shop-local into out[20]. */
void presta_local_format(int64_t ms, int utc_offset_min, char out[20]);

/* ---- mapping (PrestaShop JSON shape -> canonical), presta_map.c ---------------------------- */

/* The text of a multilingual field in `lang_id` (falling back to the first language), or of a
 * plain string field. SX_OK or SX_E_NOT_FOUND. */
int presta_lang_text(sx_ctx *cx, const sx_json *field, int lang_id, sx_str *out);

/*
 * One record as one canonical record (sdk/MODEL.md) in `out`; SX_OK or a code after fail().
 *  - customer: `addresses` = array of the customer's address objects (may be NULL); country
 *    ids resolved through `countries` (id -> ISO code object {"<id>":"FR",...}, may be NULL).
 *  - product: `combinations` = array of its combinations (NULL for a simple product),
 *    `stocks` = array of its stock_availables; `currency` the shop's default currency.
 *    `option_values` = product_option_values records (display=full; may hold other
 *    products' values, may be NULL) naming the combinations' associations.
 *    product_option_values: a variant's title is its values' names in `lang_id` ("Red / L"),
 *    ordered by the position of their group in `option_groups` (product_options records
 *    with id and position; NULL: the combination's order); the values used, with every
 *    language, are kept in the product's raw as "product_option_values". A combination
 *    whose values have no name keeps its reference as title.
 *  - order: `details` = its order_details (tax rates), `slips` = its order_slip records
 *    (NULL: not read; a page's slips may be handed whole), each a refund of its products
 *    and shipping tax included, their sum refunded_minor, and financial_status
 *    partially_refunded or refunded (when they reach the total) for a paid order;
 *    `currency` the ISO code of the order's id_currency.
 * Every other language of a multilingual field is kept in "raw".
 */
int presta_map_customer(sx_ctx *cx, const sx_json *c, const sx_json *addresses,
                        const sx_json *countries, int lang_id, int utc_offset_min,
                        struct sxp_buf *out);
int presta_map_product(sx_ctx *cx, const sx_json *p, const sx_json *combinations,
                       const sx_json *stocks, const sx_json *option_values,
                       const sx_json *option_groups, sx_str currency, int lang_id,
                       int utc_offset_min, struct sxp_buf *out);
int presta_map_order(sx_ctx *cx, const sx_json *o, const sx_json *details,
                     const sx_json *slips, sx_str currency, int utc_offset_min,
                     struct sxp_buf *out);

/* Add `id` to the ascending set ids[0..*n) of at most `cap` ids (binary search, no
 * duplicates): 1, or 0 when the set is full and `id` not in it. */
int presta_id_set_add(int64_t *ids, size_t *n, size_t cap, int64_t id);

/* "<api>/<rest>" in the call arena, or NULL (presta.c). */
const char *presta_url(sx_ctx *cx, const char *rest);

/*
 * Record `id` of `entity` read back as the import reads it (the same query, joins and
 * mapping, presta.c): its canonical text in *canon (call arena) and its date_upd in
 * *updated_ms. SX_OK, SX_E_NOT_FOUND, or the read's failure. The export hands it to the
 * engine as the push's record, whose hash tells the push's echo from an edit made in the
 * same second (docs/SYNC.md).
 */
int presta_read_back(sx_ctx *cx, uint32_t entity, int64_t id, sx_str *canon,
                     int64_t *updated_ms);

/* ---- export (presta_push.c): XML built from the shop's own documents ---------------------- */

int presta_push_customer(sx_ctx *cx, sx_str canonical_json, sx_push_res *res);
int presta_push_product(sx_ctx *cx, sx_str canonical_json, sx_push_res *res);

#endif /* PRESTA_INTERNAL_H */
