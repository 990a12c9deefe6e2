/*
 * WooCommerce imitation (REST API wc/v3, webhooks, /wc-auth/v1/authorize): shared definitions
 * of the woo*.c files. Facts followed are cited as platforms.md section 2.x.
 *
 * Every string of a record lives in the module's data arena (st->arena): records are never
 * freed one by one, the arena goes away at reset and exit. Single-threaded (the loop).
 */
#ifndef SBX_WOO_H
#define SBX_WOO_H

#include "sbx.h"

#define WOO_MAX_PER_PAGE     100    /* platforms.md 2.3, enforced by WordPress REST */
#define WOO_DEFAULT_PER_PAGE 10
#define WOO_BATCH_MAX        100    /* platforms.md 2.2 [D] */
#define WOO_OAUTH_WINDOW_S   (15 * 60)  /* platforms.md 2.1: +-15 min, nonces kept 15 min */
#define WOO_MAX_KEYS         256
#define WOO_MAX_NONCES       4096
#define WOO_WC_VERSION       "9.4.2"
#define WOO_WP_VERSION       "6.7.1"

struct woo_addr {
    char       *first_name;
    char       *last_name;
    char       *company;
    char       *address_1;
    char       *address_2;
    char       *city;
    char       *state;
    char       *postcode;
    char       *country;
    char       *email;          /* billing only */
    char       *phone;
};

struct woo_customer {
    int64_t         id;
    int64_t         created;    /* Unix seconds (GMT) */
    int64_t         modified;
    char           *email;      /* "" possible on old imports: awkward data */
    char           *first_name;
    char           *last_name;
    char           *username;
    bool            paying;
    bool            deleted;
    struct woo_addr billing;
    struct woo_addr shipping;
};

struct woo_variation {
    int64_t     id;
    int64_t     created;
    int64_t     modified;
    char       *sku;
    const char *option;         /* attribute option, e.g. "M" */
    int64_t     regular;        /* cents */
    int64_t     sale;           /* cents, 0 = not on sale */
    int64_t     stock;
    bool        manage_stock;
    bool        deleted;
};

struct woo_product {
    int64_t               id;
    int64_t               created;
    int64_t               modified;
    char                 *name;
    char                 *slug;
    char                 *sku;
    char                 *description;
    const char           *type;         /* simple variable */
    const char           *status;       /* publish draft private trash */
    const char           *tax_status;   /* taxable shipping none */
    const char           *tax_class;    /* "" reduced-rate zero-rate */
    const char           *category;
    const char           *attr_name;    /* variable products: "Size" */
    int64_t               regular;
    int64_t               sale;
    int64_t               stock;
    bool                  manage_stock;
    bool                  deleted;
    struct woo_variation *vars;
    size_t                nvars;
    size_t                cap_vars;
};

struct woo_line {
    int64_t id;
    int64_t product_id;
    int64_t variation_id;
    char   *name;
    char   *sku;
    int64_t quantity;
    int64_t subtotal;           /* cents, before coupon, excluding tax */
    int64_t subtotal_tax;
    int64_t total;              /* after coupon */
    int64_t total_tax;
};

struct woo_refund {
    int64_t id;
    int64_t created;
    char   *reason;
    int64_t amount;             /* cents, positive */
    int     line;               /* refunded line index or -1 */
    int64_t quantity;
};

struct woo_order {
    int64_t            id;
    int64_t            created;
    int64_t            modified;
    int64_t            paid;        /* 0 = null */
    int64_t            completed;
    int64_t            customer_id; /* 0: guest */
    char               order_key[32];
    const char        *status;
    const char        *currency;
    const char        *payment_method;
    const char        *payment_title;
    char              *transaction_id;
    char              *note;
    bool               prices_include_tax;
    bool               deleted;
    struct woo_addr    billing;
    struct woo_addr    shipping;
    struct woo_line   *lines;
    size_t             nlines;
    char              *coupon;      /* NULL: none */
    int                coupon_pct;  /* percent off the lines */
    int                tax_rate_bp; /* basis points: 2000 = 20 % */
    const char        *tax_label;
    const char        *tax_code;
    int64_t            tax_rate_id;
    const char        *ship_title;
    const char        *ship_method;
    int64_t            ship_total;
    int64_t            ship_tax;
    struct woo_refund *refunds;
    size_t             nrefunds;
    size_t             cap_refunds;
};

struct woo_hook {
    int64_t     id;
    char       *name;
    char       *topic;
    char       *url;
    char       *secret;
    const char *status;         /* active paused disabled */
    int         failures;       /* failure_count */
    int64_t     created;
    int64_t     modified;
    int64_t     ok;
    int64_t     failed;
    bool        deleted;
};

struct woo_key {
    int64_t     id;
    char        ck[48];
    char        cs[48];
    const char *permissions;    /* read write read_write */
    char        app[64];
    /* platforms.md 2.1: used nonces with their timestamps, per key */
    char      (*nonces)[48];
    int64_t    *nonce_ts;
    size_t      nnonces;
};

struct woo_auth_ticket {
    int64_t id;
    char    return_url[512];
    char    user_id[256];
    int     callback_status;    /* 0 pending, HTTP status, -1 no answer */
    bool    done;
    int     polls;
};

struct woo_state {
    /* configuration */
    char    ck[48];
    char    cs[48];
    int     utc_offset_min;     /* site time zone (fixed offset) */
    int     max_failures;       /* woocommerce_max_webhook_delivery_failures */
    bool    old_store;          /* ignores modified_after/modified_before (pre-5.x stores) */
    const char *currency;
    const char *base_url;       /* home_url(): the sandbox's http://127.0.0.1:PORT */

    /* data */
    struct sbx_arena    *arena;
    struct woo_customer *customers;
    size_t               ncustomers, cap_customers;
    struct woo_product  *products;
    size_t               nproducts, cap_products;
    struct woo_order    *orders;
    size_t               norders, cap_orders;
    struct woo_hook     *hooks;
    size_t               nhooks, cap_hooks;
    struct woo_key       keys[WOO_MAX_KEYS];
    size_t               nkeys;
    struct woo_auth_ticket tickets[64];
    size_t               ntickets;

    /*
     * Sorted orders of the lists (woo_api.c): row indexes of every record of an entity
     * ([0] customers, [1] products, [2] orders) ascending by (orderby key, id), built on
     * first use and rebuilt when data_gen moved (every write request, control call, reset)
     * or the record count changed. A page is then a walk, not a sort.
     */
    uint32_t *sorted[3][8];
    size_t    sorted_n[3][8];
    uint64_t  sorted_gen[3][8];
    uint64_t  data_gen;

    int64_t next_customer_id;
    int64_t next_post_id;       /* products and variations share WordPress post ids */
    int64_t next_order_id;
    int64_t next_item_id;
    int64_t next_hook_id;
    int64_t next_key_id;
    struct sbx_rng rng;         /* live changes */
};

/* woo_data.c */
int   woo_seed(struct sbx_platform *p, struct woo_state *st);
void  woo_free_data(struct woo_state *st);
char *woo_dup(struct woo_state *st, const char *s);
struct woo_customer *woo_find_customer(struct woo_state *st, int64_t id);
struct woo_product  *woo_find_product(struct woo_state *st, int64_t id);
struct woo_order    *woo_find_order(struct woo_state *st, int64_t id);
struct woo_customer *woo_new_customer(struct woo_state *st, int64_t now);
struct woo_product  *woo_new_product(struct woo_state *st, int64_t now, size_t nvars);
struct woo_order    *woo_new_order(struct woo_state *st, int64_t now);
void  woo_order_recompute(struct woo_order *o);
int64_t woo_order_total(const struct woo_order *o);
int64_t woo_order_refunded(const struct woo_order *o);
void  woo_render_customer(struct sbx_jw *w, struct woo_state *st, const struct woo_customer *c);
void  woo_render_product(struct sbx_jw *w, struct woo_state *st, const struct woo_product *pr);
void  woo_render_variation(struct sbx_jw *w, struct woo_state *st, const struct woo_product *pr,
                           const struct woo_variation *v);
void  woo_render_order(struct sbx_jw *w, struct woo_state *st, const struct woo_order *o);
void  woo_render_refund(struct sbx_jw *w, struct woo_state *st, const struct woo_order *o,
                        const struct woo_refund *r);
/* "date_x" (site-local, no offset) and "date_x_gmt" (GMT, no offset), null when t == 0. */
void  woo_jw_dates(struct sbx_jw *w, struct woo_state *st, const char *key, int64_t t);

/* woo_api.c */
void woo_handle_api(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                    struct sbx_resp *resp, const char *route);
void woo_error(struct sbx_resp *resp, int status, const char *code, const char *message);
void woo_json_headers(struct sbx_resp *resp);
/* Last value of a query parameter: PHP's $_GET keeps the last of duplicated keys. */
const char *woo_q(const struct sbx_req *req, const char *key);
int  woo_apply_customer(struct woo_state *st, struct woo_customer *c, struct json_object *o,
                        bool create, struct sbx_resp *resp);
int  woo_apply_product(struct woo_state *st, struct woo_product *pr, struct json_object *o,
                       struct sbx_resp *resp);
int  woo_apply_order(struct woo_state *st, struct woo_order *o, struct json_object *in,
                     struct sbx_resp *resp);
int  woo_add_refund(struct woo_state *st, struct woo_order *o, int64_t amount, int line,
                    int64_t qty, const char *reason, int64_t now);

/* woo_auth.c */
/* 0 when the request is authenticated (writes allowed in *can_write), else the 401 is set. */
int  woo_authenticate(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                      struct sbx_resp *resp, bool *can_write);
/* The OAuth 1.0a signature WooCommerce computes for this request (base64), platforms.md 2.1. */
int  woo_oauth_signature(struct woo_state *st, const char *method, const char *url,
                         const struct sbx_kv *params, size_t n, const char *secret,
                         const char *sig_method, char *out, size_t cap,
                         struct sbx_arena *arena);
void woo_handle_wc_auth(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                        struct sbx_resp *resp, const char *what);
struct woo_key *woo_add_key(struct woo_state *st, const char *ck, const char *cs,
                            const char *perm, const char *app);

/* woo_hooks.c */
enum woo_kind { WOO_CUSTOMER, WOO_PRODUCT, WOO_ORDER };
/* Fire `resource.event` (e.g. WOO_ORDER, "updated") to every active matching webhook. */
void woo_emit(struct sbx_platform *p, struct woo_state *st, enum woo_kind kind,
              const char *event, const void *record);
void woo_handle_hooks_api(struct sbx_platform *p, struct woo_state *st, struct sbx_req *req,
                          struct sbx_resp *resp, const char *rest, bool can_write);
void woo_render_hook(struct sbx_jw *w, struct woo_state *st, const struct woo_hook *h,
                     bool extras);
/* PHP json_encode() escaping (\/ and \uXXXX) of a UTF-8 JSON text into out. 0 or -1. */
int  woo_php_json(const unsigned char *in, size_t len, struct evbuffer *out);
void woo_hook_signature(const char *secret, const void *body, size_t len, char out[64]);

#endif /* SBX_WOO_H */
