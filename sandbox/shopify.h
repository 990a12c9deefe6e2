/*
 * Shopify imitation (REST Admin API, OAuth app install, webhooks): shared definitions of the
 * shopify*.c files. Facts followed are cited as platforms.md section 1.x.
 */
#ifndef SBX_SHOPIFY_H
#define SBX_SHOPIFY_H

#include "sbx.h"

#define SHP_MAX_LIMIT      250      /* platforms.md 1.4 */
#define SHP_DEFAULT_LIMIT  50
#define SHP_WEBHOOK_TRIES  8        /* platforms.md 1.7: 8 tries over 4 h */
#define SHP_MAX_TOKENS     4096

struct shp_addr {
    int64_t     id;
    char       *address1;
    const char *city;
    const char *province;
    const char *province_code;
    const char *country;
    const char *country_code;
    char       *zip;
};

struct shp_customer {
    int64_t         id;
    int64_t         created_at;
    int64_t         updated_at;
    char           *first_name;
    char           *last_name;
    char           *email;          /* NULL: no email (awkward data) */
    char           *phone;
    char           *tags;
    char           *note;
    const char     *currency;
    const char     *state;
    bool            verified_email;
    bool            tax_exempt;
    bool            deleted;
    bool            has_addr;
    struct shp_addr addr;
};

struct shp_variant {
    int64_t id;
    int64_t inventory_item_id;
    int64_t created_at;
    int64_t updated_at;
    int64_t inventory_updated_at;
    char   *title;
    char   *sku;
    char   *barcode;
    int64_t price;                  /* cents */
    int64_t compare_at;             /* cents, 0 = null */
    int64_t inventory_quantity;
    int     position;
    int     grams;
    bool    taxable;
};

struct shp_product {
    int64_t             id;
    int64_t             created_at;
    int64_t             updated_at;
    int64_t             published_at;
    char               *title;
    char               *body_html;
    char               *vendor;
    char               *product_type;
    char               *handle;
    char               *tags;
    const char         *status;     /* active draft archived */
    const char         *option_name;
    struct shp_variant *variants;
    size_t              nvariants;
    bool                deleted;
};

struct shp_line {
    int64_t id;
    int64_t product_id;
    int64_t variant_id;
    char   *title;
    char   *variant_title;
    char   *sku;
    char   *vendor;
    int     quantity;
    int     refunded;
    int     fulfilled;
    int64_t price;                  /* unit price, cents, shop currency */
    int64_t discount;               /* discount allocated to the line, cents */
    int64_t tax;                    /* cents */
    bool    taxable;
};

struct shp_refund_line {
    int     line;                   /* index into order lines */
    int     quantity;
    int64_t subtotal;
    int64_t tax;
    int64_t id;
};

struct shp_refund {
    int64_t                id;
    int64_t                created_at;
    char                  *note;
    struct shp_refund_line items[4];
    int                    nitems;
    int64_t                amount;
    int64_t                transaction_id;
};

struct shp_order {
    int64_t            id;
    int64_t            number;
    int64_t            created_at;
    int64_t            updated_at;
    int64_t            processed_at;
    int64_t            closed_at;
    int64_t            cancelled_at;
    int64_t            customer_id;     /* 0: guest checkout */
    char              *email;
    char              *phone;
    char              *note;
    char              *tags;
    const char        *cancel_reason;
    const char        *presentment_currency;
    int64_t            rate_micro;      /* presentment units per shop unit, x1e6 */
    const char        *financial_status;
    const char        *fulfillment_status;  /* NULL, partial, fulfilled */
    const char        *gateway;
    bool               taxes_included;
    bool               test;
    bool               deleted;
    struct shp_line   *lines;
    size_t             nlines;
    char              *discount_code;       /* NULL: no discount */
    bool               discount_pct;
    int64_t            discount_value;      /* percent x100, or cents */
    int64_t            discount_total;
    const char        *tax_title;
    int                tax_rate_bp;         /* basis points x10: 2000 = 20.00% ... see seed */
    const char        *ship_title;
    int64_t            ship_price;
    int64_t            ship_tax;
    struct shp_refund *refunds;
    size_t             nrefunds;
    struct shp_addr    addr;
    char              *addr_first;
    char              *addr_last;
};

struct shp_sub {
    int64_t id;
    char   *topic;
    char   *address;
    char   *fields;                 /* comma list or NULL */
    char   *api_version;
    int64_t created_at;
    int64_t updated_at;
    int     consecutive_failures;
    int64_t deliveries_ok;
    int64_t deliveries_failed;
};

struct shp_token {
    char    value[64];
    char    scope[512];
    int64_t expires_at;             /* 0 = never */
    bool    online;
    bool    revoked;
    double  bucket_level;           /* leaky bucket, platforms.md 1.6 */
    int64_t bucket_t_us;
};

struct shp_code {
    char    code[40];
    char    scope[512];
    int64_t issued_at;
    bool    online;
    bool    used;
};

/* Refresh-token family: platforms.md 1.2, rotation with the previous one valid until the new
 * one is first used. */
struct shp_refresh {
    char    current[64];
    char    previous[64];           /* "" when none */
    bool    current_used;
    char    scope[512];
    int64_t expires_at;
};

struct shp_state {
    /* configuration */
    char        shop_domain[128];
    char        shop_name[128];
    char        api_key[128];
    char        api_secret[128];
    char        static_token[128];
    const char *currency;
    int         utc_offset_min;
    double      bucket_size;
    double      leak_rate;
    bool        expiring_tokens;
    int         token_ttl_s;
    int64_t     refresh_ttl_s;
    char        default_version[16];

    /* data */
    struct shp_customer *customers;
    size_t               ncustomers;
    size_t               cap_customers;
    struct shp_product  *products;
    size_t               nproducts;
    size_t               cap_products;
    struct shp_order    *orders;
    size_t               norders;
    size_t               cap_orders;
    struct shp_sub      *subs;
    size_t               nsubs;
    size_t               cap_subs;

    int64_t next_customer_id;
    int64_t next_product_id;
    int64_t next_variant_id;
    int64_t next_order_id;
    int64_t next_order_number;
    int64_t next_line_id;
    int64_t next_misc_id;
    int64_t next_sub_id;
    uint64_t next_event_id;

    /* auth */
    struct shp_token   *tokens;
    size_t              ntokens;
    struct shp_code    *codes;
    size_t              ncodes;
    struct shp_refresh *refresh;
    size_t              nrefresh;
    struct shp_token    static_tok;

    struct sbx_rng rng;             /* live changes: new records, tokens */
    uint64_t       page_key;        /* signs page_info */
};

/* shopify_data.c */
int  shp_seed(struct sbx_platform *p, struct shp_state *st);
void shp_free_data(struct shp_state *st);
struct shp_customer *shp_find_customer(struct shp_state *st, int64_t id);
struct shp_product  *shp_find_product(struct shp_state *st, int64_t id);
struct shp_order    *shp_find_order(struct shp_state *st, int64_t id);
struct shp_variant  *shp_find_variant(struct shp_state *st, int64_t id, struct shp_product **out);
void shp_render_customer(struct sbx_jw *w, struct shp_state *st, const struct shp_customer *c);
void shp_render_product(struct sbx_jw *w, struct shp_state *st, const struct shp_product *pr);
void shp_render_order(struct sbx_jw *w, struct shp_state *st, const struct shp_order *o);
void shp_render_refund(struct sbx_jw *w, struct shp_state *st, const struct shp_order *o,
                       const struct shp_refund *r);
void shp_render_shop(struct sbx_jw *w, struct shp_state *st);
struct shp_customer *shp_new_customer(struct shp_state *st, int64_t now);
struct shp_product  *shp_new_product(struct shp_state *st, int64_t now, size_t nvariants);
struct shp_order    *shp_new_order(struct shp_state *st, int64_t now);
void shp_order_recompute(struct shp_order *o);
int  shp_order_refund(struct shp_state *st, struct shp_order *o, int line, int qty, int64_t now);
char *shp_strdup(const char *s);

/* shopify_api.c */
void shp_handle_api(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
                    struct sbx_resp *resp, const char *version, const char *rest);

/* shopify_oauth.c */
void shp_handle_oauth(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
                      struct sbx_resp *resp, const char *what);
struct shp_token *shp_token_lookup(struct shp_state *st, const char *value, int64_t now);
void shp_free_auth(struct shp_state *st);
void shp_expire_tokens(struct shp_state *st, int64_t now);
void shp_revoke_tokens(struct shp_state *st);
/* Signs `params` (key/value pairs, any order) the way platforms.md 1.2 describes; out = hex. */
void shp_oauth_hmac(const char *secret, const struct sbx_kv *params, size_t n, char out[65]);

/* shopify_webhooks.c */
enum shp_kind { SHP_CUSTOMER, SHP_PRODUCT, SHP_ORDER, SHP_REFUND, SHP_INVENTORY, SHP_SHOP,
                SHP_DELETED };
void shp_emit(struct sbx_platform *p, struct shp_state *st, const char *topic,
              enum shp_kind kind, const void *record, const void *extra);
void shp_handle_webhooks_api(struct sbx_platform *p, struct shp_state *st, struct sbx_req *req,
                             struct sbx_resp *resp, const char *version, const char *rest);
bool shp_topic_valid(const char *topic);
void shp_free_subs(struct shp_state *st);
void shp_render_sub(struct sbx_jw *w, struct shp_state *st, const struct shp_sub *s,
                    bool extras);

/* shopify.c */
void shp_json_headers(struct sbx_resp *resp);
void shp_error(struct sbx_resp *resp, int status, const char *errors_json);

#endif /* SBX_SHOPIFY_H */
