/*
 * WooCommerce imitation: seeded records and their wc/v3 JSON representation (platforms.md 2.2).
 * Records live in arrays sorted by id (ids only grow), so lookups are binary searches. Dates
 * come in pairs: date_x is site-local without an offset, date_x_gmt is GMT without an offset.
 * Money is a decimal string except line_items[].price, which is a number.
 */
#include "woo.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seeded data spans 2024; one merchant bulk edit gives ~12% of records one date_modified. */
#define SEED_T0     1704067200LL
#define SEED_SPAN   (365LL * 86400)
#define SEED_BULK_T (SEED_T0 + 350LL * 86400 + 12 * 3600)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const first_names[] = {
    "Zoë", "Łukasz", "José", "Søren", "Anaïs", "Nguyễn Văn", "Mike", "Sarah", "O'Brien",
    "Jürgen", "Chloé", "Björk", "Ana María", "Dmitrij", "Yūki", "李", "Fatima", "Émile",
    "Grace", "Oluwaseun", "Ingrid", "Mateo", "Amélie", "Kateřina", "Ğökhan",
};
static const char *const last_names[] = {
    "Müller", "Smith", "García", "Nowak", "O'Connor", "Dubois", "Østergaard", "Rossi",
    "Schröder", "Nakamura", "王", "Fernández", "Jones", "Dvořák", "Łęcka", "Yılmaz",
    "\"Quotes\" Ltd", "van der Berg", "Ñúñez", "Håkansson",
};
struct place {
    const char *city, *state, *country, *phone_prefix;
};
static const struct place places[] = {
    {"Ottawa", "ON", "CA", "+1 613"},       {"New York", "NY", "US", "+1 212"},
    {"Austin", "TX", "US", "+1 512"},       {"München", "BY", "DE", "+49 89"},
    {"Kraków", "", "PL", "+48 12"},         {"Paris", "", "FR", "+33 1"},
    {"London", "", "GB", "+44 20"},         {"Tōkyō", "JP13", "JP", "+81 3"},
    {"São Paulo", "SP", "BR", "+55 11"},    {"Zürich", "ZH", "CH", "+41 44"},
};
static const char *const other_currencies[] = {"EUR", "GBP", "CAD", "JPY", "CHF"};
static const char *const adjectives[] = {
    "Classic", "Organic", "Handmade", "Vintage", "Ultra", "Eco", "Deluxe", "Mini", "Großes",
    "Café", "Ärmellos", "Smørrebrød", "Nordic", "Tiny 🙂",
};
static const char *const nouns[] = {
    "T-Shirt", "Mug", "Notebook", "Lamp", "Backpack", "Candle", "Sneakers", "Scarf", "Teapot",
    "Poster", "Hoodie", "Chair", "Plant Pot",
};
static const char *const categories[] = {"Clothing", "Home & Garden", "Stationery", "Décor"};
static const char *const sizes[] = {"S", "M", "L", "XL"};
struct taxdef {
    int         bp;
    const char *label;
    const char *code;
    int64_t     rate_id;
};
static const struct taxdef taxes[] = {
    {0, "Zero rate", "ZERO-1", 1},   {500, "GST", "CA-GST-1", 2}, {700, "VAT", "CH-VAT-1", 3},
    {1000, "Tax", "US-NY-TAX-1", 4}, {2000, "VAT", "GB-VAT-1", 5}, {2300, "VAT", "PL-VAT-1", 6},
};
struct paydef {
    const char *id, *title;
};
static const struct paydef payments[] = {
    {"bacs", "Direct bank transfer"}, {"cod", "Cash on delivery"},
    {"stripe", "Credit Card (Stripe)"}, {"ppcp-gateway", "PayPal"},
};

char *
woo_dup(struct woo_state *st, const char *s)
{
    return sbx_arena_strdup(st->arena, s != NULL ? s : "");
}

static char *
fmt(struct woo_state *st, const char *f, ...) __attribute__((format(printf, 2, 3)));

static char *
fmt(struct woo_state *st, const char *f, ...)
{
    va_list ap;
    char    buf[512];

    va_start(ap, f);
    vsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return woo_dup(st, buf);
}

static const char *
pick(struct sbx_rng *r, const char *const *arr, size_t n)
{
    return arr[sbx_rng_below(r, n)];
}

static bool
chance(struct sbx_rng *r, unsigned pct)
{
    return sbx_rng_below(r, 100) < pct;
}

static void *
grow(void *arr, size_t n, size_t *cap, size_t item)
{
    void  *p;
    size_t ncap;

    if (n < *cap)
        return arr;
    ncap = *cap ? *cap * 2 : 64;
    p = realloc(arr, ncap * item);
    if (p == NULL)
        return NULL;
    memset((char *)p + *cap * item, 0, (ncap - *cap) * item);
    *cap = ncap;
    return p;
}

/* ------------------------------------------------------------------ builders */

static void
fill_addr(struct woo_state *st, struct sbx_rng *r, struct woo_addr *a, const char *fn,
          const char *ln, const char *email, bool billing)
{
    const struct place *pl = &places[sbx_rng_below(r, NELEM(places))];

    a->first_name = woo_dup(st, fn);
    a->last_name = woo_dup(st, ln);
    a->company = woo_dup(st, chance(r, 15) ? "Société Anonyme & Co" : "");
    a->address_1 = fmt(st, "%u %s", (unsigned)(1 + sbx_rng_below(r, 400)),
                       chance(r, 50) ? "Main Street" : "Rue de l'Église");
    a->address_2 = woo_dup(st, chance(r, 10) ? "Apt 4 — rear" : "");
    a->city = woo_dup(st, pl->city);
    a->state = woo_dup(st, pl->state);
    a->postcode = fmt(st, "%05u", (unsigned)sbx_rng_below(r, 99999));
    a->country = woo_dup(st, pl->country);
    a->email = woo_dup(st, billing ? email : "");
    a->phone = billing ? fmt(st, "%s %07u", pl->phone_prefix,
                             (unsigned)sbx_rng_below(r, 9999999))
                       : woo_dup(st, "");
}

static void
fill_customer(struct woo_state *st, struct sbx_rng *r, struct woo_customer *c, int64_t created,
              int64_t modified)
{
    const char *fn = pick(r, first_names, NELEM(first_names));
    const char *ln = pick(r, last_names, NELEM(last_names));

    memset(c, 0, sizeof(*c));
    c->id = st->next_customer_id++;
    c->created = created;
    c->modified = modified;
    c->first_name = woo_dup(st, fn);
    c->last_name = woo_dup(st, ln);
    /* Awkward data: a few imported customers have no email. */
    if (chance(r, 3))
        c->email = woo_dup(st, "");
    else
        c->email = fmt(st, "customer%" PRId64 "@example.com", c->id);
    c->username = fmt(st, "customer%" PRId64, c->id);
    fill_addr(st, r, &c->billing, fn, ln, c->email, true);
    if (chance(r, 70)) {
        fill_addr(st, r, &c->shipping, fn, ln, "", false);
    } else {
        /* No shipping address yet: every member empty, as WooCommerce writes it. */
        c->shipping.first_name = c->shipping.last_name = c->shipping.company = woo_dup(st, "");
        c->shipping.address_1 = c->shipping.address_2 = c->shipping.city = c->shipping.first_name;
        c->shipping.state = c->shipping.postcode = c->shipping.country = c->shipping.first_name;
        c->shipping.email = c->shipping.phone = c->shipping.first_name;
    }
}

static int
add_variation(struct woo_state *st, struct woo_product *pr, const char *option, int64_t price)
{
    struct woo_variation *v;

    pr->vars = grow(pr->vars, pr->nvars, &pr->cap_vars, sizeof(*pr->vars));
    if (pr->vars == NULL)
        return -1;
    v = &pr->vars[pr->nvars++];
    v->id = st->next_post_id++;
    v->created = pr->created;
    v->modified = pr->modified;
    v->option = option;
    v->sku = fmt(st, "%s-%s", pr->sku, option);
    v->regular = price;
    v->manage_stock = true;
    v->stock = (int64_t)(v->id % 37) - 3;
    return 0;
}

static int
fill_product(struct woo_state *st, struct sbx_rng *r, struct woo_product *pr, int64_t created,
             int64_t modified, size_t nvars)
{
    const char *adj = pick(r, adjectives, NELEM(adjectives));
    const char *noun = pick(r, nouns, NELEM(nouns));
    size_t      i;
    unsigned    k;

    memset(pr, 0, sizeof(*pr));
    pr->id = st->next_post_id++;
    pr->created = created;
    pr->modified = modified;
    pr->name = fmt(st, "%s %s", adj, noun);
    pr->slug = fmt(st, "product-%" PRId64, pr->id);
    pr->sku = fmt(st, "WOO-%06" PRId64, pr->id);
    pr->description = woo_dup(st, chance(r, 20) ? "<p>Hand-finished — “quoted” & <b>bold</b></p>"
                                                : "<p>A fine product.</p>");
    pr->type = nvars > 0 ? "variable" : "simple";
    k = (unsigned)sbx_rng_below(r, 100);
    pr->status = k < 90 ? "publish" : k < 96 ? "draft" : "private";
    k = (unsigned)sbx_rng_below(r, 100);
    pr->tax_status = k < 85 ? "taxable" : k < 93 ? "shipping" : "none";
    pr->tax_class = chance(r, 15) ? "reduced-rate" : "";
    pr->category = pick(r, categories, NELEM(categories));
    pr->regular = 199 + (int64_t)sbx_rng_below(r, 20000);
    pr->sale = chance(r, 15) ? pr->regular * 8 / 10 : 0;
    if (nvars > 0) {
        pr->attr_name = "Size";
        for (i = 0; i < nvars && i < NELEM(sizes); i++) {
            if (add_variation(st, pr, sizes[i], pr->regular + (int64_t)i * 100) < 0)
                return -1;
        }
    } else {
        pr->manage_stock = chance(r, 70);
        pr->stock = pr->manage_stock ? (int64_t)sbx_rng_below(r, 124) - 3 : 0;
    }
    return 0;
}

static int64_t
pct_of(int64_t cents, int bp)
{
    /* Half-up rounding of cents * bp / 10000. */
    return (cents * bp + 5000) / 10000;
}

void
woo_order_recompute(struct woo_order *o)
{
    size_t i;

    for (i = 0; i < o->nlines; i++) {
        struct woo_line *l = &o->lines[i];

        l->total = l->subtotal - pct_of(l->subtotal, o->coupon != NULL ? o->coupon_pct * 100 : 0);
        l->subtotal_tax = pct_of(l->subtotal, o->tax_rate_bp);
        l->total_tax = pct_of(l->total, o->tax_rate_bp);
    }
    o->ship_tax = pct_of(o->ship_total, o->tax_rate_bp);
}

int64_t
woo_order_total(const struct woo_order *o)
{
    int64_t t = o->ship_total + o->ship_tax;
    size_t  i;

    for (i = 0; i < o->nlines; i++)
        t += o->lines[i].total + o->lines[i].total_tax;
    return t;
}

int64_t
woo_order_refunded(const struct woo_order *o)
{
    int64_t t = 0;
    size_t  i;

    for (i = 0; i < o->nrefunds; i++)
        t += o->refunds[i].amount;
    return t;
}

static int
fill_order(struct woo_state *st, struct sbx_rng *r, struct woo_order *o, int64_t created,
           int64_t modified)
{
    const struct taxdef  *tx = &taxes[sbx_rng_below(r, NELEM(taxes))];
    const struct paydef  *pay = &payments[sbx_rng_below(r, NELEM(payments))];
    struct woo_customer  *c = NULL;
    const char           *fn;
    const char           *ln;
    const char           *email;
    char                  key[24];
    size_t                i;
    unsigned              k;

    memset(o, 0, sizeof(*o));
    o->id = st->next_order_id++;
    o->created = created;
    o->modified = modified;
    sbx_rng_token(r, "wc_order_", 13, key, sizeof(key));
    snprintf(o->order_key, sizeof(o->order_key), "%s", key);
    if (st->ncustomers > 0 && chance(r, 85)) {
        c = &st->customers[sbx_rng_below(r, st->ncustomers)];
        if (c->deleted || c->created > created)
            c = NULL;
    }
    o->customer_id = c != NULL ? c->id : 0;
    fn = c != NULL ? c->first_name : pick(r, first_names, NELEM(first_names));
    ln = c != NULL ? c->last_name : pick(r, last_names, NELEM(last_names));
    /* Awkward data: guest checkouts without an email (phone orders). */
    email = c != NULL ? c->email : chance(r, 8) ? "" : "guest@example.net";
    fill_addr(st, r, &o->billing, fn, ln, email, true);
    fill_addr(st, r, &o->shipping, fn, ln, "", false);
    o->currency = chance(r, 70) ? st->currency
                                : pick(r, other_currencies, NELEM(other_currencies));
    o->prices_include_tax = chance(r, 30);
    o->payment_method = pay->id;
    o->payment_title = pay->title;
    o->transaction_id = woo_dup(st, strcmp(pay->id, "stripe") == 0 ? "ch_3Pq0sandbox" : "");
    o->note = woo_dup(st, chance(r, 10) ? "Please leave at the door 🚪" : "");
    o->tax_rate_bp = tx->bp;
    o->tax_label = tx->label;
    o->tax_code = tx->code;
    o->tax_rate_id = tx->rate_id;
    o->nlines = 1 + sbx_rng_below(r, 4);
    o->lines = sbx_arena_alloc(st->arena, o->nlines * sizeof(*o->lines));
    if (o->lines == NULL)
        return -1;
    memset(o->lines, 0, o->nlines * sizeof(*o->lines));
    for (i = 0; i < o->nlines; i++) {
        struct woo_line    *l = &o->lines[i];
        struct woo_product *pr = st->nproducts > 0
                                     ? &st->products[sbx_rng_below(r, st->nproducts)]
                                     : NULL;
        int64_t             unit = 999;

        l->id = st->next_item_id++;
        l->quantity = 1 + (int64_t)sbx_rng_below(r, 3);
        if (pr != NULL) {
            l->product_id = pr->id;
            l->name = pr->name;
            l->sku = pr->sku;
            unit = pr->sale ? pr->sale : pr->regular;
            if (pr->nvars > 0) {
                struct woo_variation *v = &pr->vars[sbx_rng_below(r, pr->nvars)];

                l->variation_id = v->id;
                l->sku = v->sku;
                l->name = fmt(st, "%s - %s", pr->name, v->option);
                unit = v->regular;
            }
        } else {
            l->name = woo_dup(st, "Custom item");
            l->sku = woo_dup(st, "");
        }
        l->subtotal = unit * l->quantity;
    }
    if (chance(r, 20)) {
        static const int pcts[] = {10, 15, 25};

        o->coupon_pct = pcts[sbx_rng_below(r, 3)];
        o->coupon = fmt(st, "SAVE%d", o->coupon_pct);
    }
    if (chance(r, 75)) {
        o->ship_title = "Flat rate";
        o->ship_method = "flat_rate";
        o->ship_total = 500 + (int64_t)sbx_rng_below(r, 1000);
    } else {
        o->ship_title = "Free shipping";
        o->ship_method = "free_shipping";
    }
    woo_order_recompute(o);

    k = (unsigned)sbx_rng_below(r, 100);
    o->status = k < 45 ? "completed" : k < 70 ? "processing" : k < 75 ? "on-hold"
              : k < 83 ? "pending" : k < 89 ? "cancelled" : k < 93 ? "refunded"
              : k < 96 ? "failed" : "completed";
    if (strcmp(o->status, "completed") == 0 || strcmp(o->status, "processing") == 0 ||
        strcmp(o->status, "refunded") == 0) {
        o->paid = created + 60;
        if (o->paid > modified)
            o->paid = modified;
    }
    if (strcmp(o->status, "completed") == 0)
        o->completed = modified;
    if (strcmp(o->status, "refunded") == 0) {
        if (woo_add_refund(st, o, woo_order_total(o), -1, 0, "Order fully refunded",
                           modified) < 0)
            return -1;
    } else if (strcmp(o->status, "completed") == 0 && chance(r, 12)) {
        if (woo_add_refund(st, o, o->lines[0].total / o->lines[0].quantity +
                           pct_of(o->lines[0].total / o->lines[0].quantity, o->tax_rate_bp),
                           0, 1, chance(r, 50) ? "Damaged in transit" : "", modified) < 0)
            return -1;
    }
    return 0;
}

int
woo_add_refund(struct woo_state *st, struct woo_order *o, int64_t amount, int line,
               int64_t qty, const char *reason, int64_t now)
{
    struct woo_refund *rf;

    o->refunds = grow(o->refunds, o->nrefunds, &o->cap_refunds, sizeof(*o->refunds));
    if (o->refunds == NULL)
        return -1;
    rf = &o->refunds[o->nrefunds++];
    memset(rf, 0, sizeof(*rf));
    rf->id = st->next_order_id++;
    rf->created = now;
    rf->reason = woo_dup(st, reason);
    rf->amount = amount;
    rf->line = line;
    rf->quantity = qty;
    return 0;
}

/* Seeded times: in id order, with bursts sharing one second and the bulk-edit second. */
static void
seed_times(struct sbx_rng *r, size_t i, size_t n, int64_t *prev, int64_t *created,
           int64_t *modified)
{
    int64_t t = SEED_T0 + (int64_t)((double)i * (double)SEED_SPAN / (double)(n ? n : 1));

    if (i > 0 && chance(r, 5))
        t = *prev;      /* a burst: several records created in the same second */
    if (t < *prev)
        t = *prev;
    *prev = t;
    *created = t;
    *modified = t + (int64_t)sbx_rng_below(r, 20 * 86400);
    if (*modified > SEED_T0 + SEED_SPAN)
        *modified = SEED_T0 + SEED_SPAN;
    if (chance(r, 12) && t < SEED_BULK_T)
        *modified = SEED_BULK_T;
}

int
woo_seed(struct sbx_platform *p, struct woo_state *st)
{
    const struct sbx_config *cfg = sbx_config(p->sbx);
    struct sbx_rng           r;
    int64_t                  prev;
    int64_t                  created;
    int64_t                  modified;
    size_t                   i;

    st->arena = sbx_arena_new();
    if (st->arena == NULL)
        return -1;
    st->next_customer_id = 2;       /* user 1 is the shop admin */
    st->next_post_id = 100;
    st->next_order_id = 5000;
    st->next_item_id = 1;
    st->next_hook_id = 1;
    sbx_rng_init(&st->rng, cfg->seed, "woo-live", 0);

    sbx_rng_init(&r, cfg->seed, "woo-customers", 0);
    st->customers = calloc(cfg->customers ? cfg->customers : 1, sizeof(*st->customers));
    if (st->customers == NULL)
        return -1;
    st->cap_customers = cfg->customers ? cfg->customers : 1;
    for (i = 0, prev = 0; i < cfg->customers; i++) {
        struct woo_customer *c = &st->customers[st->ncustomers++];

        seed_times(&r, i, cfg->customers, &prev, &created, &modified);
        fill_customer(st, &r, c, created, modified);
        c->paying = chance(&r, 60);
        c->deleted = chance(&r, 2);
    }

    sbx_rng_init(&r, cfg->seed, "woo-products", 0);
    st->products = calloc(cfg->products ? cfg->products : 1, sizeof(*st->products));
    if (st->products == NULL)
        return -1;
    st->cap_products = cfg->products ? cfg->products : 1;
    for (i = 0, prev = 0; i < cfg->products; i++) {
        struct woo_product *pr = &st->products[st->nproducts++];

        seed_times(&r, i, cfg->products, &prev, &created, &modified);
        if (fill_product(st, &r, pr, created, modified,
                         chance(&r, 35) ? 2 + sbx_rng_below(&r, 3) : 0) < 0)
            return -1;
        pr->deleted = chance(&r, 2);
    }

    sbx_rng_init(&r, cfg->seed, "woo-orders", 0);
    st->orders = calloc(cfg->orders ? cfg->orders : 1, sizeof(*st->orders));
    if (st->orders == NULL)
        return -1;
    st->cap_orders = cfg->orders ? cfg->orders : 1;
    for (i = 0, prev = 0; i < cfg->orders; i++) {
        struct woo_order *o = &st->orders[st->norders++];

        seed_times(&r, i, cfg->orders, &prev, &created, &modified);
        if (fill_order(st, &r, o, created, modified) < 0)
            return -1;
        o->deleted = chance(&r, 1);
    }
    return 0;
}

void
woo_free_data(struct woo_state *st)
{
    size_t i;

    for (i = 0; i < st->nproducts; i++)
        free(st->products[i].vars);
    for (i = 0; i < st->norders; i++)
        free(st->orders[i].refunds);
    free(st->customers);
    free(st->products);
    free(st->orders);
    free(st->hooks);
    st->customers = NULL;
    st->products = NULL;
    st->orders = NULL;
    st->hooks = NULL;
    st->ncustomers = st->nproducts = st->norders = st->nhooks = 0;
    for (i = 0; i < 3 * 8; i++) {
        free(st->sorted[i / 8][i % 8]);
        st->sorted[i / 8][i % 8] = NULL;
    }
    st->data_gen++;
    st->cap_customers = st->cap_products = st->cap_orders = st->cap_hooks = 0;
    if (st->arena != NULL)
        sbx_arena_free(st->arena);
    st->arena = NULL;
}

/* ------------------------------------------------------------------ lookups, new records */

#define BSEARCH_BY_ID(arr, n, want)                 \
    do {                                            \
        size_t lo = 0;                              \
        size_t hi = (n);                            \
        while (lo < hi) {                           \
            size_t mid = lo + (hi - lo) / 2;        \
            if ((arr)[mid].id < (want))             \
                lo = mid + 1;                       \
            else                                    \
                hi = mid;                           \
        }                                           \
        if (lo < (n) && (arr)[lo].id == (want))     \
            return &(arr)[lo];                      \
        return NULL;                                \
    } while (0)

struct woo_customer *
woo_find_customer(struct woo_state *st, int64_t id)
{
    BSEARCH_BY_ID(st->customers, st->ncustomers, id);
}

struct woo_product *
woo_find_product(struct woo_state *st, int64_t id)
{
    BSEARCH_BY_ID(st->products, st->nproducts, id);
}

struct woo_order *
woo_find_order(struct woo_state *st, int64_t id)
{
    BSEARCH_BY_ID(st->orders, st->norders, id);
}

struct woo_customer *
woo_new_customer(struct woo_state *st, int64_t now)
{
    struct woo_customer *c;

    st->customers = grow(st->customers, st->ncustomers, &st->cap_customers,
                         sizeof(*st->customers));
    if (st->customers == NULL)
        return NULL;
    c = &st->customers[st->ncustomers++];
    fill_customer(st, &st->rng, c, now, now);
    return c;
}

struct woo_product *
woo_new_product(struct woo_state *st, int64_t now, size_t nvars)
{
    struct woo_product *pr;

    st->products = grow(st->products, st->nproducts, &st->cap_products,
                        sizeof(*st->products));
    if (st->products == NULL)
        return NULL;
    pr = &st->products[st->nproducts++];
    if (fill_product(st, &st->rng, pr, now, now, nvars) < 0)
        return NULL;
    pr->status = "publish";
    return pr;
}

struct woo_order *
woo_new_order(struct woo_state *st, int64_t now)
{
    struct woo_order *o;

    st->orders = grow(st->orders, st->norders, &st->cap_orders, sizeof(*st->orders));
    if (st->orders == NULL)
        return NULL;
    o = &st->orders[st->norders++];
    if (fill_order(st, &st->rng, o, now, now) < 0)
        return NULL;
    /* A fresh checkout: paid and processing, nothing refunded yet. */
    o->status = "processing";
    o->paid = now;
    o->completed = 0;
    o->nrefunds = 0;
    return o;
}

/* ------------------------------------------------------------------ rendering */

static void
jw_local(struct sbx_jw *w, int64_t t, int offset_min)
{
    char buf[40];

    if (t == 0) {
        sbx_jw_null(w);
        return;
    }
    if (sbx_time_format(t, offset_min, false, buf, sizeof(buf)) < 19) {
        sbx_jw_null(w);
        return;
    }
    sbx_jw_strn(w, buf, 19);    /* WordPress writes no offset */
}

void
woo_jw_dates(struct sbx_jw *w, struct woo_state *st, const char *key, int64_t t)
{
    char k[64];

    sbx_jw_key(w, key);
    jw_local(w, t, st->utc_offset_min);
    snprintf(k, sizeof(k), "%s_gmt", key);
    sbx_jw_key(w, k);
    jw_local(w, t, 0);
}

static void
render_addr(struct sbx_jw *w, const char *key, const struct woo_addr *a, bool billing)
{
    sbx_jw_key(w, key);
    sbx_jw_obj(w);
    sbx_jw_kstr(w, "first_name", a->first_name);
    sbx_jw_kstr(w, "last_name", a->last_name);
    sbx_jw_kstr(w, "company", a->company);
    sbx_jw_kstr(w, "address_1", a->address_1);
    sbx_jw_kstr(w, "address_2", a->address_2);
    sbx_jw_kstr(w, "city", a->city);
    sbx_jw_kstr(w, "state", a->state);
    sbx_jw_kstr(w, "postcode", a->postcode);
    sbx_jw_kstr(w, "country", a->country);
    if (billing)
        sbx_jw_kstr(w, "email", a->email);
    sbx_jw_kstr(w, "phone", a->phone);
    sbx_jw_obj_end(w);
}

static void
empty_arr(struct sbx_jw *w, const char *key)
{
    sbx_jw_key(w, key);
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
}

static void
links(struct sbx_jw *w, struct woo_state *st, const char *self, const char *collection)
{
    char buf[256];

    sbx_jw_key(w, "_links");
    sbx_jw_obj(w);
    sbx_jw_key(w, "self");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    snprintf(buf, sizeof(buf), "%s/wp-json/wc/v3/%s", st->base_url, self);
    sbx_jw_kstr(w, "href", buf);
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "collection");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    snprintf(buf, sizeof(buf), "%s/wp-json/wc/v3/%s", st->base_url, collection);
    sbx_jw_kstr(w, "href", buf);
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    sbx_jw_obj_end(w);
}

void
woo_render_customer(struct sbx_jw *w, struct woo_state *st, const struct woo_customer *c)
{
    char self[64];

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", c->id);
    woo_jw_dates(w, st, "date_created", c->created);
    woo_jw_dates(w, st, "date_modified", c->modified);
    sbx_jw_kstr(w, "email", c->email);
    sbx_jw_kstr(w, "first_name", c->first_name);
    sbx_jw_kstr(w, "last_name", c->last_name);
    sbx_jw_kstr(w, "role", "customer");
    sbx_jw_kstr(w, "username", c->username);
    render_addr(w, "billing", &c->billing, true);
    render_addr(w, "shipping", &c->shipping, false);
    sbx_jw_kbool(w, "is_paying_customer", c->paying);
    sbx_jw_kstr(w, "avatar_url", "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g");
    empty_arr(w, "meta_data");
    snprintf(self, sizeof(self), "customers/%" PRId64, c->id);
    links(w, st, self, "customers");
    sbx_jw_obj_end(w);
}

static const char *
stock_status(bool manage, int64_t stock)
{
    return !manage || stock > 0 ? "instock" : "outofstock";
}

void
woo_render_product(struct sbx_jw *w, struct woo_state *st, const struct woo_product *pr)
{
    char    buf[256];
    int64_t price = pr->sale ? pr->sale : pr->regular;
    bool    variable = pr->nvars > 0;
    size_t  i;

    if (variable) {
        price = pr->vars[0].regular;
        for (i = 1; i < pr->nvars; i++) {
            if (!pr->vars[i].deleted && pr->vars[i].regular < price)
                price = pr->vars[i].regular;
        }
    }
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", pr->id);
    sbx_jw_kstr(w, "name", pr->name);
    sbx_jw_kstr(w, "slug", pr->slug);
    snprintf(buf, sizeof(buf), "%s/product/%s/", st->base_url, pr->slug);
    sbx_jw_kstr(w, "permalink", buf);
    woo_jw_dates(w, st, "date_created", pr->created);
    woo_jw_dates(w, st, "date_modified", pr->modified);
    sbx_jw_kstr(w, "type", pr->type);
    sbx_jw_kstr(w, "status", pr->status);
    sbx_jw_kbool(w, "featured", false);
    sbx_jw_kstr(w, "catalog_visibility", "visible");
    sbx_jw_kstr(w, "description", pr->description);
    sbx_jw_kstr(w, "short_description", "");
    sbx_jw_kstr(w, "sku", pr->sku);
    sbx_jw_kmoney(w, "price", price);
    if (variable) {
        sbx_jw_kstr(w, "regular_price", "");
        sbx_jw_kstr(w, "sale_price", "");
    } else {
        sbx_jw_kmoney(w, "regular_price", pr->regular);
        if (pr->sale)
            sbx_jw_kmoney(w, "sale_price", pr->sale);
        else
            sbx_jw_kstr(w, "sale_price", "");
    }
    woo_jw_dates(w, st, "date_on_sale_from", 0);
    woo_jw_dates(w, st, "date_on_sale_to", 0);
    sbx_jw_kbool(w, "on_sale", !variable && pr->sale != 0);
    sbx_jw_kbool(w, "purchasable", true);
    sbx_jw_ki64(w, "total_sales", 0);
    sbx_jw_kbool(w, "virtual", false);
    sbx_jw_kbool(w, "downloadable", false);
    empty_arr(w, "downloads");
    sbx_jw_ki64(w, "download_limit", -1);
    sbx_jw_ki64(w, "download_expiry", -1);
    sbx_jw_kstr(w, "external_url", "");
    sbx_jw_kstr(w, "button_text", "");
    sbx_jw_kstr(w, "tax_status", pr->tax_status);
    sbx_jw_kstr(w, "tax_class", pr->tax_class);
    sbx_jw_kbool(w, "manage_stock", pr->manage_stock);
    if (pr->manage_stock)
        sbx_jw_ki64(w, "stock_quantity", pr->stock);
    else
        sbx_jw_knull(w, "stock_quantity");
    sbx_jw_kstr(w, "stock_status", variable ? "instock"
                                            : stock_status(pr->manage_stock, pr->stock));
    sbx_jw_kstr(w, "backorders", "no");
    sbx_jw_kbool(w, "backorders_allowed", false);
    sbx_jw_kbool(w, "backordered", false);
    sbx_jw_knull(w, "low_stock_amount");
    sbx_jw_kbool(w, "sold_individually", false);
    sbx_jw_kstr(w, "weight", "");
    sbx_jw_key(w, "dimensions");
    sbx_jw_obj(w);
    sbx_jw_kstr(w, "length", "");
    sbx_jw_kstr(w, "width", "");
    sbx_jw_kstr(w, "height", "");
    sbx_jw_obj_end(w);
    sbx_jw_kbool(w, "shipping_required", true);
    sbx_jw_kbool(w, "shipping_taxable", strcmp(pr->tax_status, "none") != 0);
    sbx_jw_kstr(w, "shipping_class", "");
    sbx_jw_ki64(w, "shipping_class_id", 0);
    sbx_jw_kbool(w, "reviews_allowed", true);
    sbx_jw_kstr(w, "average_rating", "0.00");
    sbx_jw_ki64(w, "rating_count", 0);
    empty_arr(w, "upsell_ids");
    empty_arr(w, "cross_sell_ids");
    sbx_jw_ki64(w, "parent_id", 0);
    sbx_jw_kstr(w, "purchase_note", "");
    sbx_jw_key(w, "categories");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", 15 + (int64_t)(pr->category[0] % 7));
    sbx_jw_kstr(w, "name", pr->category);
    sbx_jw_kstr(w, "slug", "category");
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    empty_arr(w, "tags");
    empty_arr(w, "images");
    sbx_jw_key(w, "attributes");
    sbx_jw_arr(w);
    if (variable) {
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", 0);
        sbx_jw_kstr(w, "name", pr->attr_name);
        sbx_jw_ki64(w, "position", 0);
        sbx_jw_kbool(w, "visible", true);
        sbx_jw_kbool(w, "variation", true);
        sbx_jw_key(w, "options");
        sbx_jw_arr(w);
        for (i = 0; i < pr->nvars; i++) {
            if (!pr->vars[i].deleted)
                sbx_jw_str(w, pr->vars[i].option);
        }
        sbx_jw_arr_end(w);
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    empty_arr(w, "default_attributes");
    sbx_jw_key(w, "variations");
    sbx_jw_arr(w);
    for (i = 0; i < pr->nvars; i++) {
        if (!pr->vars[i].deleted)
            sbx_jw_i64(w, pr->vars[i].id);
    }
    sbx_jw_arr_end(w);
    empty_arr(w, "grouped_products");
    sbx_jw_ki64(w, "menu_order", 0);
    snprintf(buf, sizeof(buf), "<span class=\"woocommerce-Price-amount amount\">%" PRId64
             ".%02" PRId64 "</span>", price / 100, price % 100);
    sbx_jw_kstr(w, "price_html", buf);
    empty_arr(w, "related_ids");
    empty_arr(w, "meta_data");
    snprintf(buf, sizeof(buf), "products/%" PRId64, pr->id);
    links(w, st, buf, "products");
    sbx_jw_obj_end(w);
}

void
woo_render_variation(struct sbx_jw *w, struct woo_state *st, const struct woo_product *pr,
                     const struct woo_variation *v)
{
    char buf[256];

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", v->id);
    snprintf(buf, sizeof(buf), "%s - %s", pr->name, v->option);
    sbx_jw_kstr(w, "name", buf);
    sbx_jw_kstr(w, "type", "variation");
    woo_jw_dates(w, st, "date_created", v->created);
    woo_jw_dates(w, st, "date_modified", v->modified);
    sbx_jw_kstr(w, "description", "");
    snprintf(buf, sizeof(buf), "%s/product/%s/?attribute_size=%s", st->base_url, pr->slug,
             v->option);
    sbx_jw_kstr(w, "permalink", buf);
    sbx_jw_kstr(w, "sku", v->sku);
    sbx_jw_kmoney(w, "price", v->sale ? v->sale : v->regular);
    sbx_jw_kmoney(w, "regular_price", v->regular);
    if (v->sale)
        sbx_jw_kmoney(w, "sale_price", v->sale);
    else
        sbx_jw_kstr(w, "sale_price", "");
    sbx_jw_kbool(w, "on_sale", v->sale != 0);
    sbx_jw_kstr(w, "status", "publish");
    sbx_jw_kbool(w, "purchasable", true);
    sbx_jw_kbool(w, "virtual", false);
    sbx_jw_kbool(w, "downloadable", false);
    sbx_jw_kstr(w, "tax_status", pr->tax_status);
    sbx_jw_kstr(w, "tax_class", pr->tax_class);
    sbx_jw_kbool(w, "manage_stock", v->manage_stock);
    if (v->manage_stock)
        sbx_jw_ki64(w, "stock_quantity", v->stock);
    else
        sbx_jw_knull(w, "stock_quantity");
    sbx_jw_kstr(w, "stock_status", stock_status(v->manage_stock, v->stock));
    sbx_jw_kstr(w, "backorders", "no");
    sbx_jw_kbool(w, "backorders_allowed", false);
    sbx_jw_kbool(w, "backordered", false);
    sbx_jw_kstr(w, "weight", "");
    sbx_jw_kstr(w, "shipping_class", "");
    sbx_jw_knull(w, "image");
    sbx_jw_key(w, "attributes");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", 0);
    sbx_jw_kstr(w, "name", pr->attr_name != NULL ? pr->attr_name : "Size");
    sbx_jw_kstr(w, "option", v->option);
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    sbx_jw_ki64(w, "menu_order", 0);
    sbx_jw_ki64(w, "parent_id", pr->id);
    empty_arr(w, "meta_data");
    snprintf(buf, sizeof(buf), "products/%" PRId64 "/variations/%" PRId64, pr->id, v->id);
    {
        char coll[96];

        snprintf(coll, sizeof(coll), "products/%" PRId64 "/variations", pr->id);
        links(w, st, buf, coll);
    }
    sbx_jw_obj_end(w);
}

static void
taxes_arr(struct sbx_jw *w, const struct woo_order *o, int64_t total, int64_t subtotal,
          bool with_subtotal)
{
    sbx_jw_key(w, "taxes");
    sbx_jw_arr(w);
    if (o->tax_rate_bp > 0) {
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", o->tax_rate_id);
        sbx_jw_kmoney(w, "total", total);
        if (with_subtotal)
            sbx_jw_kmoney(w, "subtotal", subtotal);
        else
            sbx_jw_kstr(w, "subtotal", "");
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
}

void
woo_render_order(struct sbx_jw *w, struct woo_state *st, const struct woo_order *o)
{
    int64_t cart_tax = 0;
    int64_t discount = 0;
    int64_t discount_tax = 0;
    char    buf[256];
    size_t  i;

    for (i = 0; i < o->nlines; i++) {
        cart_tax += o->lines[i].total_tax;
        discount += o->lines[i].subtotal - o->lines[i].total;
        discount_tax += o->lines[i].subtotal_tax - o->lines[i].total_tax;
    }
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", o->id);
    sbx_jw_ki64(w, "parent_id", 0);
    sbx_jw_kstr(w, "status", o->status);
    sbx_jw_kstr(w, "currency", o->currency);
    sbx_jw_kstr(w, "version", WOO_WC_VERSION);
    sbx_jw_kbool(w, "prices_include_tax", o->prices_include_tax);
    woo_jw_dates(w, st, "date_created", o->created);
    woo_jw_dates(w, st, "date_modified", o->modified);
    sbx_jw_kmoney(w, "discount_total", discount);
    sbx_jw_kmoney(w, "discount_tax", discount_tax);
    sbx_jw_kmoney(w, "shipping_total", o->ship_total);
    sbx_jw_kmoney(w, "shipping_tax", o->ship_tax);
    sbx_jw_kmoney(w, "cart_tax", cart_tax);
    sbx_jw_kmoney(w, "total", woo_order_total(o));
    sbx_jw_kmoney(w, "total_tax", cart_tax + o->ship_tax);
    sbx_jw_ki64(w, "customer_id", o->customer_id);
    sbx_jw_kstr(w, "order_key", o->order_key);
    render_addr(w, "billing", &o->billing, true);
    render_addr(w, "shipping", &o->shipping, false);
    sbx_jw_kstr(w, "payment_method", o->payment_method);
    sbx_jw_kstr(w, "payment_method_title", o->payment_title);
    sbx_jw_kstr(w, "transaction_id", o->transaction_id);
    sbx_jw_kstr(w, "customer_ip_address", "");
    sbx_jw_kstr(w, "customer_user_agent", "");
    sbx_jw_kstr(w, "created_via", "checkout");
    sbx_jw_kstr(w, "customer_note", o->note);
    woo_jw_dates(w, st, "date_completed", o->completed);
    woo_jw_dates(w, st, "date_paid", o->paid);
    sbx_jw_kstr(w, "cart_hash", "");
    snprintf(buf, sizeof(buf), "%" PRId64, o->id);
    sbx_jw_kstr(w, "number", buf);
    empty_arr(w, "meta_data");
    sbx_jw_key(w, "line_items");
    sbx_jw_arr(w);
    for (i = 0; i < o->nlines; i++) {
        const struct woo_line *l = &o->lines[i];

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", l->id);
        sbx_jw_kstr(w, "name", l->name);
        sbx_jw_ki64(w, "product_id", l->product_id);
        sbx_jw_ki64(w, "variation_id", l->variation_id);
        sbx_jw_ki64(w, "quantity", l->quantity);
        sbx_jw_kstr(w, "tax_class", "");
        sbx_jw_kmoney(w, "subtotal", l->subtotal);
        sbx_jw_kmoney(w, "subtotal_tax", l->subtotal_tax);
        sbx_jw_kmoney(w, "total", l->total);
        sbx_jw_kmoney(w, "total_tax", l->total_tax);
        taxes_arr(w, o, l->total_tax, l->subtotal_tax, true);
        empty_arr(w, "meta_data");
        sbx_jw_kstr(w, "sku", l->sku);
        /* platforms.md 2.2: the one money field written as a number. */
        sbx_jw_key(w, "price");
        sbx_jw_dbl(w, l->quantity > 0 ? (double)l->total / 100.0 / (double)l->quantity : 0);
        sbx_jw_key(w, "image");
        sbx_jw_obj(w);
        sbx_jw_kstr(w, "id", "");
        sbx_jw_kstr(w, "src", "");
        sbx_jw_obj_end(w);
        sbx_jw_knull(w, "parent_name");
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "tax_lines");
    sbx_jw_arr(w);
    if (o->tax_rate_bp > 0) {
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", o->id * 10 + 1);
        sbx_jw_kstr(w, "rate_code", o->tax_code);
        sbx_jw_ki64(w, "rate_id", o->tax_rate_id);
        sbx_jw_kstr(w, "label", o->tax_label);
        sbx_jw_kbool(w, "compound", false);
        sbx_jw_kmoney(w, "tax_total", cart_tax);
        sbx_jw_kmoney(w, "shipping_tax_total", o->ship_tax);
        sbx_jw_key(w, "rate_percent");
        sbx_jw_dbl(w, o->tax_rate_bp / 100.0);
        empty_arr(w, "meta_data");
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "shipping_lines");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", o->id * 10 + 2);
    sbx_jw_kstr(w, "method_title", o->ship_title);
    sbx_jw_kstr(w, "method_id", o->ship_method);
    sbx_jw_kstr(w, "instance_id", "1");
    sbx_jw_kmoney(w, "total", o->ship_total);
    sbx_jw_kmoney(w, "total_tax", o->ship_tax);
    taxes_arr(w, o, o->ship_tax, 0, false);
    empty_arr(w, "meta_data");
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    empty_arr(w, "fee_lines");
    sbx_jw_key(w, "coupon_lines");
    sbx_jw_arr(w);
    if (o->coupon != NULL) {
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", o->id * 10 + 3);
        sbx_jw_kstr(w, "code", o->coupon);
        sbx_jw_kmoney(w, "discount", discount);
        sbx_jw_kmoney(w, "discount_tax", discount_tax);
        empty_arr(w, "meta_data");
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "refunds");
    sbx_jw_arr(w);
    for (i = o->nrefunds; i > 0; i--) {
        const struct woo_refund *rf = &o->refunds[i - 1];

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", rf->id);
        sbx_jw_kstr(w, "reason", rf->reason);
        sbx_jw_kmoney(w, "total", -rf->amount);     /* negative, as WooCommerce writes it */
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    snprintf(buf, sizeof(buf), "%s/checkout/order-pay/%" PRId64 "/?pay_for_order=true&key=%s",
             st->base_url, o->id, o->order_key);
    sbx_jw_kstr(w, "payment_url", buf);
    sbx_jw_kbool(w, "is_editable", strcmp(o->status, "pending") == 0 ||
                                   strcmp(o->status, "on-hold") == 0);
    sbx_jw_kbool(w, "needs_payment", strcmp(o->status, "pending") == 0 ||
                                     strcmp(o->status, "failed") == 0);
    sbx_jw_kbool(w, "needs_processing", true);
    sbx_jw_kstr(w, "currency_symbol", strcmp(o->currency, "EUR") == 0   ? "€"
                                      : strcmp(o->currency, "GBP") == 0 ? "£"
                                      : strcmp(o->currency, "JPY") == 0 ? "¥"
                                      : strcmp(o->currency, "CHF") == 0 ? "CHF"
                                                                        : "$");
    snprintf(buf, sizeof(buf), "orders/%" PRId64, o->id);
    links(w, st, buf, "orders");
    sbx_jw_obj_end(w);
}

void
woo_render_refund(struct sbx_jw *w, struct woo_state *st, const struct woo_order *o,
                  const struct woo_refund *r)
{
    char self[96];
    char coll[96];

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", r->id);
    woo_jw_dates(w, st, "date_created", r->created);
    sbx_jw_kmoney(w, "amount", r->amount);
    sbx_jw_kstr(w, "reason", r->reason);
    sbx_jw_ki64(w, "refunded_by", 1);
    sbx_jw_kbool(w, "refunded_payment", false);
    empty_arr(w, "meta_data");
    sbx_jw_key(w, "line_items");
    sbx_jw_arr(w);
    if (r->line >= 0 && (size_t)r->line < o->nlines) {
        const struct woo_line *l = &o->lines[r->line];
        int64_t                unit = l->quantity > 0 ? l->total / l->quantity : 0;

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", r->id * 10 + 1);
        sbx_jw_kstr(w, "name", l->name);
        sbx_jw_ki64(w, "product_id", l->product_id);
        sbx_jw_ki64(w, "variation_id", l->variation_id);
        sbx_jw_ki64(w, "quantity", -r->quantity);
        sbx_jw_kmoney(w, "subtotal", -unit * r->quantity);
        sbx_jw_kmoney(w, "total", -unit * r->quantity);
        sbx_jw_kstr(w, "sku", l->sku);
        sbx_jw_key(w, "price");
        sbx_jw_dbl(w, -(double)unit / 100.0);
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    snprintf(self, sizeof(self), "orders/%" PRId64 "/refunds/%" PRId64, o->id, r->id);
    snprintf(coll, sizeof(coll), "orders/%" PRId64 "/refunds", o->id);
    links(w, st, self, coll);
    sbx_jw_obj_end(w);
}
