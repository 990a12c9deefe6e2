/*
 * Shopify imitation: seeded records and their REST JSON representation (platforms.md 1.3).
 * Records live in arrays sorted by id (ids only grow), so lookups are binary searches and
 * cursor pages resume in O(log n).
 */
#include "shopify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Seeded data spans 2024-01-01T00:00:00Z .. +365 days; records are created in id order. */
#define SEED_T0      1704067200LL
#define SEED_SPAN    (365LL * 86400)
/* One merchant bulk edit: many records share this updated_at second (awkward data). */
#define SEED_BULK_T  (SEED_T0 + 350LL * 86400 + 12 * 3600)

static const char *const first_names[] = {
    "Zoë", "Łukasz", "José", "Søren", "Anaïs", "Nguyễn Văn", "Mike", "Sarah", "O'Brien",
    "Jürgen", "Chloé", "Björk", "Ana María", "Dmitrij", "Yūki", "李", "Fatima", "Émile",
    "Grace", "Oluwaseun", "Ingrid", "Mateo", "Aiyana", "Noah", "Amélie", "Henrik", "Priya",
    "Tomás", "Kateřina", "Ğökhan",
};
static const char *const last_names[] = {
    "Müller", "Smith", "García", "Nowak", "O'Connor", "Dubois", "Østergaard", "Rossi",
    "Kowalczyk", "Schröder", "Nakamura", "王", "Fernández", "Jones", "Dvořák", "Łęcka",
    "Yılmaz", "Brown", "\"Quotes\" Ltd", "van der Berg", "Ñúñez", "Håkansson",
};
struct place {
    const char *city, *province, *province_code, *country, *country_code;
};
static const struct place places[] = {
    {"Ottawa", "Ontario", "ON", "Canada", "CA"},
    {"New York", "New York", "NY", "United States", "US"},
    {"Austin", "Texas", "TX", "United States", "US"},
    {"München", "Bavaria", "BY", "Germany", "DE"},
    {"Kraków", NULL, NULL, "Poland", "PL"},
    {"Paris", NULL, NULL, "France", "FR"},
    {"London", "England", "ENG", "United Kingdom", "GB"},
    {"Tōkyō", "Tokyo", "JP-13", "Japan", "JP"},
    {"São Paulo", "São Paulo", "SP", "Brazil", "BR"},
    {"Zürich", "Zürich", "ZH", "Switzerland", "CH"},
};
struct cur {
    const char *code;
    int64_t     rate_micro;     /* per 1 USD */
};
static const struct cur currencies[] = {
    {"USD", 1000000}, {"EUR", 920000}, {"GBP", 790000}, {"CAD", 1360000}, {"JPY", 149000000},
    {"CHF", 880000},
};
static const char *const adjectives[] = {
    "Classic", "Organic", "Handmade", "Vintage", "Ultra", "Eco", "Deluxe", "Mini", "Großes",
    "Café", "Ärmellos", "Smørrebrød", "Nordic", "Tiny 🙂",
};
static const char *const nouns[] = {
    "T-Shirt", "Mug", "Notebook", "Lamp", "Backpack", "Candle", "Sneakers", "Scarf", "Teapot",
    "Poster", "Gift Card", "Hoodie", "Chair", "Plant Pot",
};
static const char *const vendors[] = {
    "Acme Co", "Nordlys", "Société Générale du Thé", "Kōgei", "Blue & Green",
};
static const char *const sizes[] = {"S", "M", "L", "XL"};
static const char *const tags_pool[] = {
    "", "vip", "wholesale", "newsletter", "vip, wholesale", "b2b", "émigré", "returning",
};
static const char *const gateways[] = {"shopify_payments", "manual", "paypal", "bogus"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

char *
shp_strdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static char *
fmt_dup(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *
fmt_dup(const char *fmt, ...)
{
    va_list ap;
    char    buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return strdup(buf);
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

/* ------------------------------------------------------------------ growth */

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
fill_customer(struct shp_state *st, struct sbx_rng *r, struct shp_customer *c, int64_t created,
              int64_t updated)
{
    const struct place *pl = &places[sbx_rng_below(r, NELEM(places))];
    const char         *fn = pick(r, first_names, NELEM(first_names));
    const char         *ln = pick(r, last_names, NELEM(last_names));

    c->id = st->next_customer_id;
    st->next_customer_id += 1 + (int64_t)sbx_rng_below(r, 997);
    c->created_at = created;
    c->updated_at = updated;
    c->first_name = strdup(fn);
    c->last_name = strdup(ln);
    /* 8% have no email at all (POS and phone customers): awkward data. */
    if (!chance(r, 8))
        c->email = fmt_dup("customer%" PRId64 "@example.%s", c->id % 1000000,
                           chance(r, 50) ? "com" : "org");
    c->phone = chance(r, 40) ? fmt_dup("+1613555%04u", (unsigned)sbx_rng_below(r, 10000))
                             : NULL;
    c->tags = strdup(pick(r, tags_pool, NELEM(tags_pool)));
    c->note = chance(r, 10) ? strdup("Prefers invoices by post — \"no e-mail\"") : NULL;
    c->currency = currencies[sbx_rng_below(r, NELEM(currencies))].code;
    c->state = chance(r, 70) ? "enabled" : (chance(r, 50) ? "disabled" : "invited");
    c->verified_email = c->email != NULL && chance(r, 90);
    c->tax_exempt = chance(r, 5);
    c->has_addr = chance(r, 92);
    if (c->has_addr) {
        c->addr.id = st->next_misc_id++;
        c->addr.address1 = fmt_dup("%u Rue de l'Église", 1 + (unsigned)sbx_rng_below(r, 200));
        c->addr.city = pl->city;
        c->addr.province = pl->province;
        c->addr.province_code = pl->province_code;
        c->addr.country = pl->country;
        c->addr.country_code = pl->country_code;
        c->addr.zip = fmt_dup("%05u", (unsigned)sbx_rng_below(r, 99999));
    }
}

static void
fill_product(struct shp_state *st, struct sbx_rng *r, struct shp_product *pr, int64_t created,
             int64_t updated, size_t nvar)
{
    const char *adj = pick(r, adjectives, NELEM(adjectives));
    const char *noun = pick(r, nouns, NELEM(nouns));
    size_t      i;
    int64_t     base_price = 199 + (int64_t)sbx_rng_below(r, 20000);
    uint64_t    st_pick;

    pr->id = st->next_product_id;
    st->next_product_id += 1 + (int64_t)sbx_rng_below(r, 997);
    pr->created_at = created;
    pr->updated_at = updated;
    pr->title = fmt_dup("%s %s", adj, noun);
    pr->body_html = fmt_dup("<p>%s %s, made with care &amp; <strong>love</strong>.</p>", adj,
                            noun);
    pr->vendor = strdup(pick(r, vendors, NELEM(vendors)));
    pr->product_type = strdup(noun);
    pr->handle = fmt_dup("product-%" PRId64, pr->id % 100000000);
    pr->tags = strdup(pick(r, tags_pool, NELEM(tags_pool)));
    st_pick = sbx_rng_below(r, 100);
    pr->status = st_pick < 80 ? "active" : (st_pick < 93 ? "draft" : "archived");
    pr->published_at = strcmp(pr->status, "active") == 0 ? created : 0;
    pr->option_name = nvar > 1 ? "Size" : "Title";
    pr->variants = calloc(nvar, sizeof(*pr->variants));
    if (pr->variants == NULL)
        return;
    pr->nvariants = nvar;
    for (i = 0; i < nvar; i++) {
        struct shp_variant *v = &pr->variants[i];

        v->id = st->next_variant_id;
        st->next_variant_id += 1 + (int64_t)sbx_rng_below(r, 97);
        v->inventory_item_id = v->id + 2000000000000LL;
        v->created_at = created;
        v->updated_at = updated;
        v->inventory_updated_at = updated;
        v->title = strdup(nvar > 1 ? sizes[i % NELEM(sizes)] : "Default Title");
        v->sku = chance(r, 90) ? fmt_dup("SKU-%" PRId64 "-%zu", pr->id % 1000000, i) : strdup("");
        v->barcode = chance(r, 50) ? fmt_dup("%013" PRId64, (int64_t)(v->id % 10000000000000LL)) : NULL;
        v->price = base_price + (int64_t)i * 100;
        v->compare_at = chance(r, 20) ? v->price + 500 : 0;
        /* Stock can be zero or negative (oversold): awkward data. */
        v->inventory_quantity = (int64_t)sbx_rng_below(r, 120) - 10;
        v->position = (int)i + 1;
        v->grams = (int)sbx_rng_below(r, 3000);
        v->taxable = !chance(r, 10);
    }
}

void
shp_order_recompute(struct shp_order *o)
{
    int64_t items = 0;
    int64_t left;
    size_t  i;

    for (i = 0; i < o->nlines; i++)
        items += o->lines[i].price * o->lines[i].quantity;
    if (o->discount_code == NULL)
        o->discount_total = 0;
    else if (o->discount_pct)
        o->discount_total = items * o->discount_value / 10000;
    else
        o->discount_total = o->discount_value < items ? o->discount_value : items;
    /* Allocate the discount to lines pro rata; the last line takes the rounding rest. */
    left = o->discount_total;
    for (i = 0; i < o->nlines; i++) {
        struct shp_line *l = &o->lines[i];
        int64_t          gross = l->price * l->quantity;
        int64_t          net;

        if (i + 1 == o->nlines)
            l->discount = left;
        else
            l->discount = items > 0 ? o->discount_total * gross / items : 0;
        left -= l->discount;
        net = gross - l->discount;
        if (!l->taxable)
            l->tax = 0;
        else if (o->taxes_included)     /* prices are gross: tax is the included part */
            l->tax = (net * o->tax_rate_bp + (10000 + o->tax_rate_bp) / 2) /
                     (10000 + o->tax_rate_bp);
        else
            l->tax = (net * o->tax_rate_bp + 5000) / 10000;
    }
    o->ship_tax = o->taxes_included
        ? (o->ship_price * o->tax_rate_bp) / (10000 + o->tax_rate_bp)
        : (o->ship_price * o->tax_rate_bp + 5000) / 10000;
}

static int64_t
order_items_total(const struct shp_order *o)
{
    int64_t t = 0;
    size_t  i;

    for (i = 0; i < o->nlines; i++)
        t += o->lines[i].price * o->lines[i].quantity;
    return t;
}

static int64_t
order_tax_total(const struct shp_order *o)
{
    int64_t t = o->ship_tax;
    size_t  i;

    for (i = 0; i < o->nlines; i++)
        t += o->lines[i].tax;
    return t;
}

static int64_t
order_total(const struct shp_order *o)
{
    int64_t sub = order_items_total(o) - o->discount_total;

    return sub + o->ship_price + (o->taxes_included ? 0 : order_tax_total(o));
}

static int64_t
order_refunded(const struct shp_order *o)
{
    int64_t t = 0;
    size_t  i;

    for (i = 0; i < o->nrefunds; i++)
        t += o->refunds[i].amount;
    return t;
}

int
shp_order_refund(struct shp_state *st, struct shp_order *o, int line, int qty, int64_t now)
{
    struct shp_refund *r;
    struct shp_refund *nr;
    struct shp_line   *l;
    int64_t            sub;
    int64_t            tax;

    if (line < 0 || (size_t)line >= o->nlines)
        return -1;
    l = &o->lines[line];
    if (qty <= 0 || qty > l->quantity - l->refunded)
        return -1;
    nr = realloc(o->refunds, (o->nrefunds + 1) * sizeof(*nr));
    if (nr == NULL)
        return -1;
    o->refunds = nr;
    r = &o->refunds[o->nrefunds++];
    memset(r, 0, sizeof(*r));
    r->id = st->next_misc_id++;
    r->transaction_id = st->next_misc_id++;
    r->created_at = now;
    r->note = strdup(chance(&st->rng, 50) ? "Damaged in transit" : "Client a changé d'avis");
    sub = (l->price * l->quantity - l->discount) * qty / l->quantity;
    tax = l->tax * qty / l->quantity;
    r->items[0].line = line;
    r->items[0].quantity = qty;
    r->items[0].subtotal = sub;
    r->items[0].tax = tax;
    r->items[0].id = st->next_misc_id++;
    r->nitems = 1;
    r->amount = sub + (o->taxes_included ? 0 : tax);
    l->refunded += qty;
    o->financial_status = order_refunded(o) >= order_total(o) ? "refunded" : "partially_refunded";
    o->updated_at = now;
    return 0;
}

static void
fill_order(struct shp_state *st, struct sbx_rng *r, struct shp_order *o, int64_t created,
           int64_t updated)
{
    size_t              i;
    size_t              nl = 1 + (size_t)sbx_rng_below(r, 4);
    uint64_t            fs;
    const struct cur   *cu;
    struct shp_customer *c = NULL;

    o->id = st->next_order_id;
    st->next_order_id += 1 + (int64_t)sbx_rng_below(r, 997);
    o->number = st->next_order_number++;
    o->created_at = created;
    o->processed_at = created;
    o->updated_at = updated;
    if (st->ncustomers > 0 && !chance(r, 6)) {
        c = &st->customers[sbx_rng_below(r, st->ncustomers)];
        o->customer_id = c->id;
        o->email = shp_strdup(c->email);
        o->phone = shp_strdup(c->phone);
    } else if (chance(r, 50)) {
        o->email = fmt_dup("guest%" PRId64 "@example.net", o->number);
    }
    o->addr_first = strdup(c != NULL ? c->first_name : pick(r, first_names, NELEM(first_names)));
    o->addr_last = strdup(c != NULL ? c->last_name : pick(r, last_names, NELEM(last_names)));
    {
        const struct place *pl = &places[sbx_rng_below(r, NELEM(places))];

        o->addr.address1 = fmt_dup("%u Main Street", 1 + (unsigned)sbx_rng_below(r, 999));
        o->addr.city = pl->city;
        o->addr.province = pl->province;
        o->addr.province_code = pl->province_code;
        o->addr.country = pl->country;
        o->addr.country_code = pl->country_code;
        o->addr.zip = fmt_dup("%05u", (unsigned)sbx_rng_below(r, 99999));
    }
    /* Several presentment currencies; amounts stay in the shop currency (platforms.md 1.3). */
    cu = chance(r, 60) ? &currencies[0] : &currencies[sbx_rng_below(r, NELEM(currencies))];
    o->presentment_currency = cu->code;
    o->rate_micro = cu->rate_micro;
    o->gateway = pick(r, gateways, NELEM(gateways));
    o->taxes_included = chance(r, 30);
    o->test = chance(r, 2);
    o->note = chance(r, 15) ? strdup("Bitte mit Rechnung — merci 🙏") : NULL;
    o->tags = strdup(pick(r, tags_pool, NELEM(tags_pool)));
    {
        static const int         rates[] = {0, 500, 825, 1300, 1900, 2000, 2300};
        static const char *const titles[] = {"Tax", "GST", "State Tax", "HST", "MwSt", "TVA",
                                             "VAT"};
        size_t                   k = sbx_rng_below(r, NELEM(rates));

        o->tax_rate_bp = rates[k];
        o->tax_title = titles[k];
    }
    o->lines = calloc(nl, sizeof(*o->lines));
    if (o->lines == NULL)
        return;
    o->nlines = nl;
    for (i = 0; i < nl; i++) {
        struct shp_line    *l = &o->lines[i];
        struct shp_product *pr;
        struct shp_variant *v;

        l->id = st->next_line_id;
        st->next_line_id += 1 + (int64_t)sbx_rng_below(r, 97);
        l->quantity = 1 + (int)sbx_rng_below(r, 5);
        if (st->nproducts > 0 && !chance(r, 3)) {
            pr = &st->products[sbx_rng_below(r, st->nproducts)];
            v = &pr->variants[sbx_rng_below(r, pr->nvariants)];
            l->product_id = pr->id;
            l->variant_id = v->id;
            l->title = strdup(pr->title);
            l->variant_title = pr->nvariants > 1 ? strdup(v->title) : NULL;
            l->sku = strdup(v->sku);
            l->vendor = strdup(pr->vendor);
            l->price = v->price;
            l->taxable = v->taxable;
        } else {
            /* Custom line item: no product behind it. */
            l->title = strdup("Custom engraving ✍️");
            l->sku = strdup("");
            l->price = 500 + (int64_t)sbx_rng_below(r, 2000);
            l->taxable = true;
        }
    }
    if (chance(r, 25)) {
        o->discount_pct = chance(r, 60);
        o->discount_code = strdup(o->discount_pct ? "WELCOME10" : "FIVEOFF");
        o->discount_value = o->discount_pct ? 1000 : 500;
    }
    if (chance(r, 85)) {
        o->ship_title = chance(r, 50) ? "Standard Shipping" : "Express — 24h";
        o->ship_price = chance(r, 20) ? 0 : 499 + (int64_t)sbx_rng_below(r, 1500);
    }
    shp_order_recompute(o);

    fs = sbx_rng_below(r, 100);
    if (fs < 70)
        o->financial_status = "paid";
    else if (fs < 78)
        o->financial_status = "pending";
    else if (fs < 84)
        o->financial_status = "authorized";
    else if (fs < 87)
        o->financial_status = "partially_paid";
    else if (fs < 90)
        o->financial_status = "voided";
    else
        o->financial_status = "paid";   /* refunded below */
    if (strcmp(o->financial_status, "paid") == 0) {
        uint64_t ff = sbx_rng_below(r, 100);

        if (ff < 55) {
            o->fulfillment_status = "fulfilled";
            for (i = 0; i < nl; i++)
                o->lines[i].fulfilled = o->lines[i].quantity;
        } else if (ff < 65 && nl > 1) {
            o->fulfillment_status = "partial";
            o->lines[0].fulfilled = o->lines[0].quantity;
        }
    }
    if (fs >= 90) {
        /* Refunds: one line partially or the whole order. */
        int64_t rt = created + 86400 * (1 + (int64_t)sbx_rng_below(r, 20));

        if (rt > updated)
            rt = updated;
        if (fs >= 95) {
            for (i = 0; i < nl; i++)
                shp_order_refund(st, o, (int)i, o->lines[i].quantity, rt);
        } else {
            shp_order_refund(st, o, 0, 1, rt);
        }
        o->updated_at = updated;
    }
    if (strcmp(o->financial_status, "voided") == 0 || (fs >= 95 && chance(r, 50))) {
        o->cancelled_at = created + 3600;
        o->cancel_reason = chance(r, 50) ? "customer" : "inventory";
        o->closed_at = o->cancelled_at;
    } else if (o->fulfillment_status != NULL && strcmp(o->fulfillment_status, "fulfilled") == 0 &&
               chance(r, 60)) {
        o->closed_at = created + 86400 * 3;
    }
    if (o->closed_at > o->updated_at)
        o->updated_at = o->closed_at;
}

/* ------------------------------------------------------------------ seeding */

static void
seed_times(struct sbx_rng *r, size_t i, size_t n, int64_t *created, int64_t *updated)
{
    int64_t c = SEED_T0 + (n > 0 ? (int64_t)((double)SEED_SPAN * (double)i / (double)n) : 0);
    int64_t u;

    /* Bursts: neighbours share a created_at second now and then. */
    if (i % 7 == 3)
        c -= c % 60;
    u = c + (int64_t)sbx_rng_below(r, 30 * 86400);
    if (chance(r, 12))
        u = SEED_BULK_T;        /* the merchant's bulk edit */
    if (u < c)
        u = c;
    if (u > SEED_T0 + SEED_SPAN + 30 * 86400)
        u = SEED_T0 + SEED_SPAN + 30 * 86400;
    *created = c;
    *updated = u;
}

int
shp_seed(struct sbx_platform *p, struct shp_state *st)
{
    const struct sbx_config *cfg = sbx_config(p->sbx);
    struct sbx_rng           r;
    size_t                   i;
    int64_t                  c;
    int64_t                  u;

    st->next_customer_id = 6100000000000LL;
    st->next_product_id = 7400000000000LL;
    st->next_variant_id = 41000000000000LL;
    st->next_order_id = 5500000000000LL;
    st->next_order_number = 1001;
    st->next_line_id = 13000000000000LL;
    st->next_misc_id = 900000000000LL;
    st->next_sub_id = 1100000000000LL;
    st->next_event_id = 1;
    sbx_rng_init(&st->rng, cfg->seed, "shopify-live", 0);
    sbx_rng_init(&r, cfg->seed, "shopify-page-key", 0);
    st->page_key = sbx_rng_next(&r);

    st->customers = calloc(cfg->customers + 1, sizeof(*st->customers));
    st->products = calloc(cfg->products + 1, sizeof(*st->products));
    st->orders = calloc(cfg->orders + 1, sizeof(*st->orders));
    if (st->customers == NULL || st->products == NULL || st->orders == NULL)
        return -1;
    st->cap_customers = cfg->customers + 1;
    st->cap_products = cfg->products + 1;
    st->cap_orders = cfg->orders + 1;

    sbx_rng_init(&r, cfg->seed, "shopify-customers", 0);
    for (i = 0; i < cfg->customers; i++) {
        seed_times(&r, i, cfg->customers, &c, &u);
        fill_customer(st, &r, &st->customers[i], c, u);
        st->customers[i].deleted = chance(&r, 2);
        st->ncustomers++;
    }
    sbx_rng_init(&r, cfg->seed, "shopify-products", 0);
    for (i = 0; i < cfg->products; i++) {
        seed_times(&r, i, cfg->products, &c, &u);
        fill_product(st, &r, &st->products[i], c, u, 1 + (size_t)sbx_rng_below(&r, 4));
        if (st->products[i].variants == NULL)
            return -1;
        st->products[i].deleted = chance(&r, 2);
        st->nproducts++;
    }
    sbx_rng_init(&r, cfg->seed, "shopify-orders", 0);
    for (i = 0; i < cfg->orders; i++) {
        seed_times(&r, i, cfg->orders, &c, &u);
        fill_order(st, &r, &st->orders[i], c, u);
        if (st->orders[i].lines == NULL)
            return -1;
        st->orders[i].deleted = chance(&r, 1);
        st->norders++;
    }
    return 0;
}

struct shp_customer *
shp_new_customer(struct shp_state *st, int64_t now)
{
    struct shp_customer *c;

    st->customers = grow(st->customers, st->ncustomers, &st->cap_customers,
                         sizeof(*st->customers));
    if (st->customers == NULL)
        return NULL;
    c = &st->customers[st->ncustomers++];
    fill_customer(st, &st->rng, c, now, now);
    return c;
}

struct shp_product *
shp_new_product(struct shp_state *st, int64_t now, size_t nvariants)
{
    struct shp_product *pr;

    st->products = grow(st->products, st->nproducts, &st->cap_products, sizeof(*st->products));
    if (st->products == NULL)
        return NULL;
    pr = &st->products[st->nproducts];
    fill_product(st, &st->rng, pr, now, now, nvariants);
    if (pr->variants == NULL)
        return NULL;
    st->nproducts++;
    return pr;
}

struct shp_order *
shp_new_order(struct shp_state *st, int64_t now)
{
    struct shp_order *o;

    st->orders = grow(st->orders, st->norders, &st->cap_orders, sizeof(*st->orders));
    if (st->orders == NULL)
        return NULL;
    o = &st->orders[st->norders];
    fill_order(st, &st->rng, o, now, now);
    if (o->lines == NULL)
        return NULL;
    /* A fresh order is open: undo any seeded closing, refund or cancellation. */
    o->closed_at = 0;
    o->cancelled_at = 0;
    o->cancel_reason = NULL;
    o->updated_at = now;
    st->norders++;
    return o;
}

static void
free_addr(struct shp_addr *a)
{
    free(a->address1);
    free(a->zip);
}

void
shp_free_data(struct shp_state *st)
{
    size_t i;
    size_t k;

    for (i = 0; i < st->ncustomers; i++) {
        struct shp_customer *c = &st->customers[i];

        free(c->first_name);
        free(c->last_name);
        free(c->email);
        free(c->phone);
        free(c->tags);
        free(c->note);
        free_addr(&c->addr);
    }
    free(st->customers);
    for (i = 0; i < st->nproducts; i++) {
        struct shp_product *pr = &st->products[i];

        free(pr->title);
        free(pr->body_html);
        free(pr->vendor);
        free(pr->product_type);
        free(pr->handle);
        free(pr->tags);
        for (k = 0; k < pr->nvariants; k++) {
            free(pr->variants[k].title);
            free(pr->variants[k].sku);
            free(pr->variants[k].barcode);
        }
        free(pr->variants);
    }
    free(st->products);
    for (i = 0; i < st->norders; i++) {
        struct shp_order *o = &st->orders[i];

        free(o->email);
        free(o->phone);
        free(o->note);
        free(o->tags);
        free(o->discount_code);
        free(o->addr_first);
        free(o->addr_last);
        free_addr(&o->addr);
        for (k = 0; k < o->nlines; k++) {
            free(o->lines[k].title);
            free(o->lines[k].variant_title);
            free(o->lines[k].sku);
            free(o->lines[k].vendor);
        }
        free(o->lines);
        for (k = 0; k < o->nrefunds; k++)
            free(o->refunds[k].note);
        free(o->refunds);
    }
    free(st->orders);
    st->customers = NULL;
    st->products = NULL;
    st->orders = NULL;
    st->ncustomers = st->nproducts = st->norders = 0;
    st->cap_customers = st->cap_products = st->cap_orders = 0;
}

/* ------------------------------------------------------------------ lookups */

#define BSEARCH_BY_ID(arr, n, id)                                                   \
    do {                                                                            \
        size_t lo_ = 0, hi_ = (n);                                                  \
        while (lo_ < hi_) {                                                         \
            size_t mid_ = lo_ + (hi_ - lo_) / 2;                                    \
            if ((arr)[mid_].id < (id))                                              \
                lo_ = mid_ + 1;                                                     \
            else                                                                    \
                hi_ = mid_;                                                         \
        }                                                                           \
        if (lo_ < (n) && (arr)[lo_].id == (id))                                     \
            return &(arr)[lo_];                                                     \
        return NULL;                                                                \
    } while (0)

struct shp_customer *
shp_find_customer(struct shp_state *st, int64_t id)
{
    BSEARCH_BY_ID(st->customers, st->ncustomers, id);
}

struct shp_product *
shp_find_product(struct shp_state *st, int64_t id)
{
    BSEARCH_BY_ID(st->products, st->nproducts, id);
}

struct shp_order *
shp_find_order(struct shp_state *st, int64_t id)
{
    BSEARCH_BY_ID(st->orders, st->norders, id);
}

struct shp_variant *
shp_find_variant(struct shp_state *st, int64_t id, struct shp_product **out)
{
    size_t i;
    size_t k;

    /* Variant ids grow with product ids: binary search on the first variant of each. */
    size_t lo = 0;
    size_t hi = st->nproducts;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (st->products[mid].nvariants > 0 && st->products[mid].variants[0].id <= id)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (i = lo > 0 ? lo - 1 : 0; i < st->nproducts && i <= lo; i++) {
        for (k = 0; k < st->products[i].nvariants; k++) {
            if (st->products[i].variants[k].id == id) {
                if (out != NULL)
                    *out = &st->products[i];
                return &st->products[i].variants[k];
            }
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ rendering */

static void
gid(struct sbx_jw *w, const char *type, int64_t id)
{
    char buf[96];

    snprintf(buf, sizeof(buf), "gid://shopify/%s/%" PRId64, type, id);
    sbx_jw_kstr(w, "admin_graphql_api_id", buf);
}

static void
money_set(struct sbx_jw *w, struct shp_state *st, const char *key, int64_t cents,
          const char *pcur, int64_t rate_micro)
{
    int64_t pres;

    /* presentment = shop * rate(presentment) / rate(shop); shop currency assumed at table rate */
    pres = (int64_t)((double)cents * (double)rate_micro / 1e6 + (cents >= 0 ? 0.5 : -0.5));
    sbx_jw_key(w, key);
    sbx_jw_obj(w);
    sbx_jw_key(w, "shop_money");
    sbx_jw_obj(w);
    sbx_jw_kmoney(w, "amount", cents);
    sbx_jw_kstr(w, "currency_code", st->currency);
    sbx_jw_obj_end(w);
    sbx_jw_key(w, "presentment_money");
    sbx_jw_obj(w);
    sbx_jw_kmoney(w, "amount", pres);
    sbx_jw_kstr(w, "currency_code", pcur);
    sbx_jw_obj_end(w);
    sbx_jw_obj_end(w);
}

static void
rate_str(struct sbx_jw *w, const char *key, int bp)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%d.%04d", bp / 10000, bp % 10000);
    sbx_jw_key(w, key);
    sbx_jw_raw(w, buf);
}

static void
render_addr(struct sbx_jw *w, const struct shp_addr *a, const char *first, const char *last,
            const char *phone, int64_t customer_id, bool with_ids)
{
    char name[256];

    sbx_jw_obj(w);
    if (with_ids) {
        sbx_jw_ki64(w, "id", a->id);
        sbx_jw_ki64(w, "customer_id", customer_id);
    }
    sbx_jw_kstr(w, "first_name", first);
    sbx_jw_kstr(w, "last_name", last);
    sbx_jw_kstr(w, "company", NULL);
    sbx_jw_kstr(w, "address1", a->address1);
    sbx_jw_kstr(w, "address2", NULL);
    sbx_jw_kstr(w, "city", a->city);
    sbx_jw_kstr(w, "province", a->province);
    sbx_jw_kstr(w, "country", a->country);
    sbx_jw_kstr(w, "zip", a->zip);
    sbx_jw_kstr(w, "phone", phone);
    snprintf(name, sizeof(name), "%s %s", first ? first : "", last ? last : "");
    sbx_jw_kstr(w, "name", name);
    sbx_jw_kstr(w, "province_code", a->province_code);
    sbx_jw_kstr(w, "country_code", a->country_code);
    sbx_jw_kstr(w, "country_name", a->country);
    if (with_ids)
        sbx_jw_kbool(w, "default", true);
    sbx_jw_obj_end(w);
}

void
shp_render_customer(struct sbx_jw *w, struct shp_state *st, const struct shp_customer *c)
{
    int off = st->utc_offset_min;

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", c->id);
    sbx_jw_kstr(w, "email", c->email);
    sbx_jw_ktime(w, "created_at", c->created_at, off);
    sbx_jw_ktime(w, "updated_at", c->updated_at, off);
    sbx_jw_kstr(w, "first_name", c->first_name);
    sbx_jw_kstr(w, "last_name", c->last_name);
    /* Since 2022 these are not reliable in REST (platforms.md 1.3): served as zero. */
    sbx_jw_ki64(w, "orders_count", 0);
    sbx_jw_kstr(w, "state", c->state);
    sbx_jw_kstr(w, "total_spent", "0.00");
    sbx_jw_knull(w, "last_order_id");
    sbx_jw_kstr(w, "note", c->note);
    sbx_jw_kbool(w, "verified_email", c->verified_email);
    sbx_jw_knull(w, "multipass_identifier");
    sbx_jw_kbool(w, "tax_exempt", c->tax_exempt);
    sbx_jw_kstr(w, "tags", c->tags);
    sbx_jw_knull(w, "last_order_name");
    sbx_jw_kstr(w, "currency", c->currency);
    sbx_jw_kstr(w, "phone", c->phone);
    sbx_jw_key(w, "addresses");
    sbx_jw_arr(w);
    if (c->has_addr)
        render_addr(w, &c->addr, c->first_name, c->last_name, c->phone, c->id, true);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "tax_exemptions");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "email_marketing_consent");
    if (c->email != NULL) {
        sbx_jw_obj(w);
        sbx_jw_kstr(w, "state", c->verified_email ? "subscribed" : "not_subscribed");
        sbx_jw_kstr(w, "opt_in_level", "single_opt_in");
        sbx_jw_knull(w, "consent_updated_at");
        sbx_jw_obj_end(w);
    } else {
        sbx_jw_null(w);
    }
    sbx_jw_key(w, "sms_marketing_consent");
    sbx_jw_null(w);
    gid(w, "Customer", c->id);
    sbx_jw_key(w, "default_address");
    if (c->has_addr)
        render_addr(w, &c->addr, c->first_name, c->last_name, c->phone, c->id, true);
    else
        sbx_jw_null(w);
    sbx_jw_obj_end(w);
}

void
shp_render_product(struct sbx_jw *w, struct shp_state *st, const struct shp_product *pr)
{
    int    off = st->utc_offset_min;
    size_t i;

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", pr->id);
    sbx_jw_kstr(w, "title", pr->title);
    sbx_jw_kstr(w, "body_html", pr->body_html);
    sbx_jw_kstr(w, "vendor", pr->vendor);
    sbx_jw_kstr(w, "product_type", pr->product_type);
    sbx_jw_ktime(w, "created_at", pr->created_at, off);
    sbx_jw_kstr(w, "handle", pr->handle);
    sbx_jw_ktime(w, "updated_at", pr->updated_at, off);
    sbx_jw_ktime(w, "published_at", pr->published_at, off);
    sbx_jw_knull(w, "template_suffix");
    sbx_jw_kstr(w, "published_scope", "global");
    sbx_jw_kstr(w, "tags", pr->tags);
    sbx_jw_kstr(w, "status", pr->status);
    gid(w, "Product", pr->id);
    sbx_jw_key(w, "variants");
    sbx_jw_arr(w);
    for (i = 0; i < pr->nvariants; i++) {
        const struct shp_variant *v = &pr->variants[i];

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", v->id);
        sbx_jw_ki64(w, "product_id", pr->id);
        sbx_jw_kstr(w, "title", v->title);
        sbx_jw_kmoney(w, "price", v->price);
        sbx_jw_ki64(w, "position", v->position);
        sbx_jw_kstr(w, "inventory_policy", "deny");
        sbx_jw_key(w, "compare_at_price");
        if (v->compare_at > 0)
            sbx_jw_money(w, v->compare_at);
        else
            sbx_jw_null(w);
        sbx_jw_kstr(w, "option1", v->title);
        sbx_jw_knull(w, "option2");
        sbx_jw_knull(w, "option3");
        sbx_jw_ktime(w, "created_at", v->created_at, off);
        sbx_jw_ktime(w, "updated_at", v->updated_at, off);
        sbx_jw_kbool(w, "taxable", v->taxable);
        sbx_jw_kstr(w, "barcode", v->barcode);
        sbx_jw_kstr(w, "fulfillment_service", "manual");
        sbx_jw_ki64(w, "grams", v->grams);
        sbx_jw_kstr(w, "inventory_management", "shopify");
        sbx_jw_kbool(w, "requires_shipping", true);
        sbx_jw_kstr(w, "sku", v->sku);
        sbx_jw_key(w, "weight");
        sbx_jw_dbl(w, v->grams / 1000.0);
        sbx_jw_kstr(w, "weight_unit", "kg");
        sbx_jw_ki64(w, "inventory_item_id", v->inventory_item_id);
        sbx_jw_ki64(w, "inventory_quantity", v->inventory_quantity);
        sbx_jw_ki64(w, "old_inventory_quantity", v->inventory_quantity);
        gid(w, "ProductVariant", v->id);
        sbx_jw_knull(w, "image_id");
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "options");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", pr->id + 1);
    sbx_jw_ki64(w, "product_id", pr->id);
    sbx_jw_kstr(w, "name", pr->option_name);
    sbx_jw_ki64(w, "position", 1);
    sbx_jw_key(w, "values");
    sbx_jw_arr(w);
    for (i = 0; i < pr->nvariants; i++)
        sbx_jw_str(w, pr->variants[i].title);
    sbx_jw_arr_end(w);
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "images");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    sbx_jw_knull(w, "image");
    sbx_jw_obj_end(w);
}

static void
render_tax_line(struct sbx_jw *w, struct shp_state *st, const struct shp_order *o, int64_t tax)
{
    sbx_jw_obj(w);
    sbx_jw_kmoney(w, "price", tax);
    rate_str(w, "rate", o->tax_rate_bp);
    sbx_jw_kstr(w, "title", o->tax_title);
    money_set(w, st, "price_set", tax, o->presentment_currency, o->rate_micro);
    sbx_jw_kbool(w, "channel_liable", false);
    sbx_jw_obj_end(w);
}

void
shp_render_refund(struct sbx_jw *w, struct shp_state *st, const struct shp_order *o,
                  const struct shp_refund *r)
{
    int off = st->utc_offset_min;
    int i;

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", r->id);
    sbx_jw_ki64(w, "order_id", o->id);
    sbx_jw_ktime(w, "created_at", r->created_at, off);
    sbx_jw_kstr(w, "note", r->note);
    sbx_jw_knull(w, "user_id");
    sbx_jw_ktime(w, "processed_at", r->created_at, off);
    sbx_jw_kbool(w, "restock", true);
    gid(w, "Refund", r->id);
    sbx_jw_key(w, "refund_line_items");
    sbx_jw_arr(w);
    for (i = 0; i < r->nitems; i++) {
        const struct shp_refund_line *rl = &r->items[i];
        const struct shp_line        *l = &o->lines[rl->line];

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", rl->id);
        sbx_jw_ki64(w, "line_item_id", l->id);
        sbx_jw_ki64(w, "quantity", rl->quantity);
        sbx_jw_kstr(w, "restock_type", "return");
        sbx_jw_key(w, "subtotal");
        sbx_jw_dbl(w, (double)rl->subtotal / 100.0);
        money_set(w, st, "subtotal_set", rl->subtotal, o->presentment_currency, o->rate_micro);
        sbx_jw_key(w, "total_tax");
        sbx_jw_dbl(w, (double)rl->tax / 100.0);
        money_set(w, st, "total_tax_set", rl->tax, o->presentment_currency, o->rate_micro);
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "transactions");
    sbx_jw_arr(w);
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", r->transaction_id);
    sbx_jw_ki64(w, "order_id", o->id);
    sbx_jw_kstr(w, "kind", "refund");
    sbx_jw_kstr(w, "gateway", o->gateway);
    sbx_jw_kstr(w, "status", "success");
    sbx_jw_kmoney(w, "amount", r->amount);
    sbx_jw_kstr(w, "currency", st->currency);
    sbx_jw_ktime(w, "created_at", r->created_at, off);
    sbx_jw_obj_end(w);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "order_adjustments");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    sbx_jw_obj_end(w);
}

void
shp_render_order(struct sbx_jw *w, struct shp_state *st, const struct shp_order *o)
{
    int                  off = st->utc_offset_min;
    int64_t              items = order_items_total(o);
    int64_t              tax = order_tax_total(o);
    int64_t              total = order_total(o);
    int64_t              refunded = order_refunded(o);
    const char          *pc = o->presentment_currency;
    int64_t              rm = o->rate_micro;
    struct shp_customer *c = o->customer_id ? shp_find_customer(st, o->customer_id) : NULL;
    char                 name[32];
    char                 buf[64];
    size_t               i;

    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", o->id);
    gid(w, "Order", o->id);
    sbx_jw_knull(w, "app_id");
    sbx_jw_kbool(w, "buyer_accepts_marketing", false);
    sbx_jw_kstr(w, "cancel_reason", o->cancel_reason);
    sbx_jw_ktime(w, "cancelled_at", o->cancelled_at, off);
    sbx_jw_ktime(w, "closed_at", o->closed_at, off);
    sbx_jw_kbool(w, "confirmed", true);
    sbx_jw_kstr(w, "contact_email", o->email);
    sbx_jw_ktime(w, "created_at", o->created_at, off);
    sbx_jw_kstr(w, "currency", st->currency);
    sbx_jw_kmoney(w, "current_subtotal_price", items - o->discount_total - refunded);
    sbx_jw_kmoney(w, "current_total_discounts", o->discount_total);
    sbx_jw_kmoney(w, "current_total_price", total - refunded);
    sbx_jw_kmoney(w, "current_total_tax", tax);
    sbx_jw_key(w, "discount_codes");
    sbx_jw_arr(w);
    if (o->discount_code != NULL) {
        sbx_jw_obj(w);
        sbx_jw_kstr(w, "code", o->discount_code);
        sbx_jw_kmoney(w, "amount", o->discount_total);
        sbx_jw_kstr(w, "type", o->discount_pct ? "percentage" : "fixed_amount");
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "discount_applications");
    sbx_jw_arr(w);
    if (o->discount_code != NULL) {
        sbx_jw_obj(w);
        sbx_jw_kstr(w, "target_type", "line_item");
        sbx_jw_kstr(w, "type", "discount_code");
        if (o->discount_pct) {
            snprintf(buf, sizeof(buf), "%" PRId64 ".%02" PRId64, o->discount_value / 100,
                     o->discount_value % 100);
            sbx_jw_kstr(w, "value", buf);
            sbx_jw_kstr(w, "value_type", "percentage");
        } else {
            sbx_jw_kmoney(w, "value", o->discount_value);
            sbx_jw_kstr(w, "value_type", "fixed_amount");
        }
        sbx_jw_kstr(w, "allocation_method", "across");
        sbx_jw_kstr(w, "target_selection", "all");
        sbx_jw_kstr(w, "code", o->discount_code);
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_kstr(w, "email", o->email);
    sbx_jw_kbool(w, "estimated_taxes", false);
    sbx_jw_kstr(w, "financial_status", o->financial_status);
    sbx_jw_kstr(w, "fulfillment_status", o->fulfillment_status);
    sbx_jw_kstr(w, "gateway", o->gateway);
    snprintf(name, sizeof(name), "#%" PRId64, o->number);
    sbx_jw_kstr(w, "name", name);
    sbx_jw_kstr(w, "note", o->note);
    sbx_jw_key(w, "note_attributes");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    sbx_jw_ki64(w, "number", o->number - 1000);
    sbx_jw_ki64(w, "order_number", o->number);
    sbx_jw_key(w, "payment_gateway_names");
    sbx_jw_arr(w);
    sbx_jw_str(w, o->gateway);
    sbx_jw_arr_end(w);
    sbx_jw_kstr(w, "phone", o->phone);
    sbx_jw_kstr(w, "presentment_currency", pc);
    sbx_jw_ktime(w, "processed_at", o->processed_at, off);
    sbx_jw_kstr(w, "source_name", "web");
    sbx_jw_kmoney(w, "subtotal_price", items - o->discount_total);
    money_set(w, st, "subtotal_price_set", items - o->discount_total, pc, rm);
    sbx_jw_kstr(w, "tags", o->tags);
    sbx_jw_key(w, "tax_lines");
    sbx_jw_arr(w);
    if (o->tax_rate_bp > 0)
        render_tax_line(w, st, o, tax);
    sbx_jw_arr_end(w);
    sbx_jw_kbool(w, "taxes_included", o->taxes_included);
    sbx_jw_kbool(w, "test", o->test);
    sbx_jw_kmoney(w, "total_discounts", o->discount_total);
    money_set(w, st, "total_discounts_set", o->discount_total, pc, rm);
    sbx_jw_kmoney(w, "total_line_items_price", items);
    money_set(w, st, "total_line_items_price_set", items, pc, rm);
    sbx_jw_kmoney(w, "total_outstanding",
                  strcmp(o->financial_status, "paid") == 0 ||
                  strcmp(o->financial_status, "refunded") == 0 ||
                  strcmp(o->financial_status, "partially_refunded") == 0 ||
                  strcmp(o->financial_status, "voided") == 0 ? 0 : total);
    sbx_jw_kmoney(w, "total_price", total);
    money_set(w, st, "total_price_set", total, pc, rm);
    money_set(w, st, "total_shipping_price_set", o->ship_price, pc, rm);
    sbx_jw_kmoney(w, "total_tax", tax);
    money_set(w, st, "total_tax_set", tax, pc, rm);
    sbx_jw_ki64(w, "total_weight", 0);
    sbx_jw_ktime(w, "updated_at", o->updated_at, off);
    sbx_jw_knull(w, "user_id");
    sbx_jw_key(w, "billing_address");
    render_addr(w, &o->addr, o->addr_first, o->addr_last, o->phone, 0, false);
    sbx_jw_key(w, "customer");
    if (c != NULL) {
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", c->id);
        sbx_jw_kstr(w, "email", c->email);
        sbx_jw_ktime(w, "created_at", c->created_at, off);
        sbx_jw_ktime(w, "updated_at", c->updated_at, off);
        sbx_jw_kstr(w, "first_name", c->first_name);
        sbx_jw_kstr(w, "last_name", c->last_name);
        sbx_jw_kstr(w, "state", c->state);
        sbx_jw_kstr(w, "note", c->note);
        sbx_jw_kbool(w, "verified_email", c->verified_email);
        sbx_jw_kbool(w, "tax_exempt", c->tax_exempt);
        sbx_jw_kstr(w, "phone", c->phone);
        sbx_jw_kstr(w, "tags", c->tags);
        sbx_jw_kstr(w, "currency", c->currency);
        gid(w, "Customer", c->id);
        sbx_jw_obj_end(w);
    } else {
        sbx_jw_null(w);
    }
    sbx_jw_key(w, "fulfillments");
    sbx_jw_arr(w);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "line_items");
    sbx_jw_arr(w);
    for (i = 0; i < o->nlines; i++) {
        const struct shp_line *l = &o->lines[i];
        char                   lname[512];

        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", l->id);
        gid(w, "LineItem", l->id);
        sbx_jw_ki64(w, "current_quantity", l->quantity - l->refunded);
        sbx_jw_ki64(w, "fulfillable_quantity",
                    o->cancelled_at ? 0 : l->quantity - l->refunded - l->fulfilled > 0
                                          ? l->quantity - l->refunded - l->fulfilled : 0);
        sbx_jw_kstr(w, "fulfillment_service", "manual");
        sbx_jw_kstr(w, "fulfillment_status", l->fulfilled >= l->quantity ? "fulfilled" : NULL);
        sbx_jw_kbool(w, "gift_card", false);
        sbx_jw_ki64(w, "grams", 0);
        if (l->variant_title != NULL)
            snprintf(lname, sizeof(lname), "%s - %s", l->title, l->variant_title);
        else
            snprintf(lname, sizeof(lname), "%s", l->title);
        sbx_jw_kstr(w, "name", lname);
        sbx_jw_kmoney(w, "price", l->price);
        money_set(w, st, "price_set", l->price, pc, rm);
        sbx_jw_kbool(w, "product_exists", l->product_id != 0);
        sbx_jw_key(w, "product_id");
        if (l->product_id != 0)
            sbx_jw_i64(w, l->product_id);
        else
            sbx_jw_null(w);
        sbx_jw_key(w, "properties");
        sbx_jw_arr(w);
        sbx_jw_arr_end(w);
        sbx_jw_ki64(w, "quantity", l->quantity);
        sbx_jw_kbool(w, "requires_shipping", l->product_id != 0);
        sbx_jw_kstr(w, "sku", l->sku);
        sbx_jw_kbool(w, "taxable", l->taxable);
        sbx_jw_kstr(w, "title", l->title);
        sbx_jw_kmoney(w, "total_discount", 0);
        money_set(w, st, "total_discount_set", 0, pc, rm);
        sbx_jw_key(w, "variant_id");
        if (l->variant_id != 0)
            sbx_jw_i64(w, l->variant_id);
        else
            sbx_jw_null(w);
        sbx_jw_kstr(w, "variant_inventory_management", l->variant_id ? "shopify" : NULL);
        sbx_jw_kstr(w, "variant_title", l->variant_title);
        sbx_jw_kstr(w, "vendor", l->vendor);
        sbx_jw_key(w, "tax_lines");
        sbx_jw_arr(w);
        if (o->tax_rate_bp > 0 && l->taxable)
            render_tax_line(w, st, o, l->tax);
        sbx_jw_arr_end(w);
        sbx_jw_key(w, "duties");
        sbx_jw_arr(w);
        sbx_jw_arr_end(w);
        sbx_jw_key(w, "discount_allocations");
        sbx_jw_arr(w);
        if (l->discount > 0) {
            sbx_jw_obj(w);
            sbx_jw_kmoney(w, "amount", l->discount);
            money_set(w, st, "amount_set", l->discount, pc, rm);
            sbx_jw_ki64(w, "discount_application_index", 0);
            sbx_jw_obj_end(w);
        }
        sbx_jw_arr_end(w);
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "payment_terms");
    sbx_jw_null(w);
    sbx_jw_key(w, "refunds");
    sbx_jw_arr(w);
    for (i = 0; i < o->nrefunds; i++)
        shp_render_refund(w, st, o, &o->refunds[i]);
    sbx_jw_arr_end(w);
    sbx_jw_key(w, "shipping_address");
    if (o->ship_title != NULL)
        render_addr(w, &o->addr, o->addr_first, o->addr_last, o->phone, 0, false);
    else
        sbx_jw_null(w);
    sbx_jw_key(w, "shipping_lines");
    sbx_jw_arr(w);
    if (o->ship_title != NULL) {
        sbx_jw_obj(w);
        sbx_jw_ki64(w, "id", o->id + 7);
        sbx_jw_kstr(w, "code", o->ship_title);
        sbx_jw_kmoney(w, "discounted_price", o->ship_price);
        sbx_jw_kmoney(w, "price", o->ship_price);
        money_set(w, st, "price_set", o->ship_price, pc, rm);
        sbx_jw_kstr(w, "source", "shopify");
        sbx_jw_kstr(w, "title", o->ship_title);
        sbx_jw_key(w, "tax_lines");
        sbx_jw_arr(w);
        if (o->tax_rate_bp > 0 && o->ship_tax > 0)
            render_tax_line(w, st, o, o->ship_tax);
        sbx_jw_arr_end(w);
        sbx_jw_key(w, "discount_allocations");
        sbx_jw_arr(w);
        sbx_jw_arr_end(w);
        sbx_jw_obj_end(w);
    }
    sbx_jw_arr_end(w);
    sbx_jw_obj_end(w);
}

void
shp_render_shop(struct sbx_jw *w, struct shp_state *st)
{
    int  off = st->utc_offset_min;
    char tz[96];
    int  a = off < 0 ? -off : off;

    snprintf(tz, sizeof(tz), "(GMT%c%02d:%02d) Sandbox Time", off < 0 ? '-' : '+', a / 60,
             a % 60);
    sbx_jw_obj(w);
    sbx_jw_ki64(w, "id", 548380009);
    sbx_jw_kstr(w, "name", st->shop_name);
    sbx_jw_kstr(w, "email", "merchant@example.com");
    sbx_jw_kstr(w, "domain", st->shop_domain);
    sbx_jw_kstr(w, "province", "Ontario");
    sbx_jw_kstr(w, "country", "CA");
    sbx_jw_kstr(w, "address1", "1 Sandbox Way");
    sbx_jw_kstr(w, "zip", "K1A 0B1");
    sbx_jw_kstr(w, "city", "Ottawa");
    sbx_jw_kstr(w, "phone", "+16135550100");
    sbx_jw_ktime(w, "created_at", SEED_T0 - 86400 * 30, off);
    sbx_jw_ktime(w, "updated_at", SEED_T0, off);
    sbx_jw_kstr(w, "country_code", "CA");
    sbx_jw_kstr(w, "country_name", "Canada");
    sbx_jw_kstr(w, "currency", st->currency);
    sbx_jw_kstr(w, "customer_email", "merchant@example.com");
    sbx_jw_kstr(w, "timezone", tz);
    sbx_jw_kstr(w, "iana_timezone", off == -300 ? "America/Bogota" : "Etc/Unknown");
    sbx_jw_kstr(w, "shop_owner", "Sandbox Merchant");
    sbx_jw_kstr(w, "money_format", "${{amount}}");
    sbx_jw_kstr(w, "weight_unit", "kg");
    sbx_jw_kstr(w, "province_code", "ON");
    sbx_jw_kbool(w, "taxes_included", false);
    sbx_jw_knull(w, "tax_shipping");
    sbx_jw_kbool(w, "county_taxes", true);
    sbx_jw_kstr(w, "plan_display_name", "Basic");
    sbx_jw_kstr(w, "plan_name", "basic");
    sbx_jw_kstr(w, "myshopify_domain", st->shop_domain);
    sbx_jw_key(w, "enabled_presentment_currencies");
    sbx_jw_arr(w);
    {
        size_t i;

        for (i = 0; i < NELEM(currencies); i++)
            sbx_jw_str(w, currencies[i].code);
    }
    sbx_jw_arr_end(w);
    sbx_jw_kstr(w, "primary_locale", "en");
    sbx_jw_obj_end(w);
}
