/*
 * PrestaShop imitation: resource definitions (the fields of each ObjectModel the Webservice
 * exposes, platforms.md 3.2) and deterministic seeded data: unicode names, customers without
 * email, soft-deleted customers (deleted=1, still listed), hard-deleted products (404), several
 * currencies, taxes, discounts, refunded orders, and bursts sharing one date_upd second;
 * option groups and values naming the combinations, credit slips (order_slip) of refunded and
 * a few paid orders, each from a random stream of its own so the data before them is as it was.
 */
#include "presta.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SEED_T0     1704067200LL
#define SEED_SPAN   (365LL * 86400)
#define SEED_BULK_T (SEED_T0 + 350LL * 86400 + 12 * 3600)

/* ------------------------------------------------------------------ schema */

static const struct ps_field f_languages[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"name", PS_STR, false, true, 32, NULL, false},
    {"iso_code", PS_STR, false, true, 2, NULL, false},
    {"locale", PS_STR, false, false, 5, NULL, false},
    {"language_code", PS_STR, false, false, 5, NULL, false},
    {"active", PS_BOOL, false, false, 0, NULL, false},
    {"is_rtl", PS_BOOL, false, false, 0, NULL, false},
    {"date_format_lite", PS_STR, false, true, 32, NULL, false},
    {"date_format_full", PS_STR, false, true, 32, NULL, false},
};
static const struct ps_field f_currencies[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"name", PS_STR, false, true, 64, NULL, false},
    {"iso_code", PS_STR, false, true, 3, NULL, false},
    {"conversion_rate", PS_MONEY, false, true, 0, NULL, false},
    {"deleted", PS_BOOL, false, false, 0, NULL, false},
    {"active", PS_BOOL, false, false, 0, NULL, false},
};
static const struct ps_field f_customers[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_default_group", PS_INT, false, false, 0, NULL, false},
    {"id_lang", PS_INT, false, false, 0, "languages", false},
    {"newsletter_date_add", PS_STR, false, false, 0, NULL, false},
    {"ip_registration_newsletter", PS_STR, false, false, 15, NULL, false},
    {"last_passwd_gen", PS_STR, false, false, 0, NULL, true},
    {"secure_key", PS_STR, false, false, 32, NULL, true},
    {"deleted", PS_BOOL, false, false, 0, NULL, false},
    {"passwd", PS_STR, false, true, 255, NULL, false},
    {"lastname", PS_STR, false, true, 255, NULL, false},
    {"firstname", PS_STR, false, true, 255, NULL, false},
    {"email", PS_EMAIL, false, true, 255, NULL, false},
    {"id_gender", PS_INT, false, false, 0, NULL, false},
    {"birthday", PS_STR, false, false, 0, NULL, false},
    {"newsletter", PS_BOOL, false, false, 0, NULL, false},
    {"optin", PS_BOOL, false, false, 0, NULL, false},
    {"website", PS_STR, false, false, 128, NULL, false},
    {"company", PS_STR, false, false, 255, NULL, false},
    {"siret", PS_STR, false, false, 14, NULL, false},
    {"ape", PS_STR, false, false, 6, NULL, false},
    {"outstanding_allow_amount", PS_MONEY, false, false, 0, NULL, false},
    {"show_public_prices", PS_BOOL, false, false, 0, NULL, false},
    {"id_risk", PS_INT, false, false, 0, NULL, false},
    {"max_payment_days", PS_INT, false, false, 0, NULL, false},
    {"active", PS_BOOL, false, false, 0, NULL, false},
    {"note", PS_STR, false, false, 65000, NULL, false},
    {"is_guest", PS_BOOL, false, false, 0, NULL, false},
    {"id_shop", PS_INT, false, false, 0, NULL, false},
    {"id_shop_group", PS_INT, false, false, 0, NULL, false},
    {"date_add", PS_DATE, false, false, 0, NULL, true},
    {"date_upd", PS_DATE, false, false, 0, NULL, true},
};
static const struct ps_field f_addresses[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_customer", PS_INT, false, false, 0, "customers", false},
    {"id_manufacturer", PS_INT, false, false, 0, NULL, false},
    {"id_supplier", PS_INT, false, false, 0, NULL, false},
    {"id_warehouse", PS_INT, false, false, 0, NULL, false},
    {"id_country", PS_INT, false, true, 0, NULL, false},
    {"id_state", PS_INT, false, false, 0, NULL, false},
    {"alias", PS_STR, false, true, 32, NULL, false},
    {"company", PS_STR, false, false, 255, NULL, false},
    {"lastname", PS_STR, false, true, 255, NULL, false},
    {"firstname", PS_STR, false, true, 255, NULL, false},
    {"vat_number", PS_STR, false, false, 32, NULL, false},
    {"address1", PS_STR, false, true, 128, NULL, false},
    {"address2", PS_STR, false, false, 128, NULL, false},
    {"postcode", PS_STR, false, false, 12, NULL, false},
    {"city", PS_STR, false, true, 64, NULL, false},
    {"other", PS_STR, false, false, 300, NULL, false},
    {"phone", PS_STR, false, false, 32, NULL, false},
    {"phone_mobile", PS_STR, false, false, 32, NULL, false},
    {"dni", PS_STR, false, false, 16, NULL, false},
    {"deleted", PS_BOOL, false, false, 0, NULL, false},
    {"date_add", PS_DATE, false, false, 0, NULL, true},
    {"date_upd", PS_DATE, false, false, 0, NULL, true},
};
static const struct ps_field f_products[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_manufacturer", PS_INT, false, false, 0, NULL, false},
    {"id_supplier", PS_INT, false, false, 0, NULL, false},
    {"id_category_default", PS_INT, false, false, 0, NULL, false},
    {"new", PS_STR, false, false, 0, NULL, true},
    {"id_default_combination", PS_INT, false, false, 0, "combinations", true},
    {"id_tax_rules_group", PS_INT, false, false, 0, NULL, false},
    {"type", PS_STR, false, false, 0, NULL, false},
    {"reference", PS_STR, false, false, 64, NULL, false},
    {"ean13", PS_STR, false, false, 13, NULL, false},
    {"mpn", PS_STR, false, false, 40, NULL, false},
    {"price", PS_MONEY, false, true, 0, NULL, false},
    {"wholesale_price", PS_MONEY, false, false, 0, NULL, false},
    {"active", PS_BOOL, false, false, 0, NULL, false},
    {"state", PS_INT, false, false, 0, NULL, false},
    {"product_type", PS_STR, false, false, 32, NULL, false},
    {"name", PS_STR, true, true, 128, NULL, false},
    {"description", PS_STR, true, false, 21844, NULL, false},
    {"link_rewrite", PS_STR, true, true, 128, NULL, false},
    {"date_add", PS_DATE, false, false, 0, NULL, true},
    {"date_upd", PS_DATE, false, false, 0, NULL, true},
};
static const struct ps_field f_combinations[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_product", PS_INT, false, true, 0, "products", false},
    {"reference", PS_STR, false, false, 64, NULL, false},
    {"ean13", PS_STR, false, false, 13, NULL, false},
    {"price", PS_MONEY, false, false, 0, NULL, false},
    {"weight", PS_MONEY, false, false, 0, NULL, false},
    {"default_on", PS_BOOL, false, false, 0, NULL, false},
    {"minimal_quantity", PS_INT, false, true, 0, NULL, false},
};
static const struct ps_field f_stock[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_product", PS_INT, false, true, 0, "products", false},
    {"id_product_attribute", PS_INT, false, true, 0, "combinations", false},
    {"id_shop", PS_INT, false, false, 0, NULL, false},
    {"id_shop_group", PS_INT, false, false, 0, NULL, false},
    {"quantity", PS_INT, false, true, 0, NULL, false},
    {"depends_on_stock", PS_BOOL, false, true, 0, NULL, false},
    {"out_of_stock", PS_INT, false, true, 0, NULL, false},
    {"location", PS_STR, false, false, 255, NULL, false},
};
static const struct ps_field f_orders[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_address_delivery", PS_INT, false, true, 0, "addresses", false},
    {"id_address_invoice", PS_INT, false, true, 0, "addresses", false},
    {"id_cart", PS_INT, false, true, 0, NULL, false},
    {"id_currency", PS_INT, false, true, 0, "currencies", false},
    {"id_lang", PS_INT, false, true, 0, "languages", false},
    {"id_customer", PS_INT, false, true, 0, "customers", false},
    {"id_carrier", PS_INT, false, true, 0, NULL, false},
    {"current_state", PS_INT, false, false, 0, NULL, false},
    {"module", PS_STR, false, true, 255, NULL, false},
    {"invoice_number", PS_INT, false, false, 0, NULL, false},
    {"invoice_date", PS_STR, false, false, 0, NULL, false},
    {"delivery_number", PS_INT, false, false, 0, NULL, false},
    {"delivery_date", PS_STR, false, false, 0, NULL, false},
    {"valid", PS_BOOL, false, false, 0, NULL, false},
    {"date_add", PS_DATE, false, false, 0, NULL, true},
    {"date_upd", PS_DATE, false, false, 0, NULL, true},
    {"shipping_number", PS_STR, false, false, 64, NULL, false},
    {"id_shop_group", PS_INT, false, false, 0, NULL, false},
    {"id_shop", PS_INT, false, false, 0, NULL, false},
    {"secure_key", PS_STR, false, false, 32, NULL, false},
    {"payment", PS_STR, false, true, 255, NULL, false},
    {"recyclable", PS_BOOL, false, false, 0, NULL, false},
    {"gift", PS_BOOL, false, false, 0, NULL, false},
    {"gift_message", PS_STR, false, false, 0, NULL, false},
    {"mobile_theme", PS_BOOL, false, false, 0, NULL, false},
    {"total_discounts", PS_MONEY, false, false, 0, NULL, false},
    {"total_discounts_tax_incl", PS_MONEY, false, false, 0, NULL, false},
    {"total_discounts_tax_excl", PS_MONEY, false, false, 0, NULL, false},
    {"total_paid", PS_MONEY, false, true, 0, NULL, false},
    {"total_paid_tax_incl", PS_MONEY, false, false, 0, NULL, false},
    {"total_paid_tax_excl", PS_MONEY, false, false, 0, NULL, false},
    {"total_paid_real", PS_MONEY, false, true, 0, NULL, false},
    {"total_products", PS_MONEY, false, true, 0, NULL, false},
    {"total_products_wt", PS_MONEY, false, true, 0, NULL, false},
    {"total_shipping", PS_MONEY, false, false, 0, NULL, false},
    {"total_shipping_tax_incl", PS_MONEY, false, false, 0, NULL, false},
    {"total_shipping_tax_excl", PS_MONEY, false, false, 0, NULL, false},
    {"carrier_tax_rate", PS_MONEY, false, false, 0, NULL, false},
    {"total_wrapping", PS_MONEY, false, false, 0, NULL, false},
    {"total_wrapping_tax_incl", PS_MONEY, false, false, 0, NULL, false},
    {"total_wrapping_tax_excl", PS_MONEY, false, false, 0, NULL, false},
    {"round_mode", PS_INT, false, false, 0, NULL, false},
    {"round_type", PS_INT, false, false, 0, NULL, false},
    {"conversion_rate", PS_MONEY, false, true, 0, NULL, false},
    {"reference", PS_STR, false, false, 9, NULL, false},
};
static const struct ps_field f_details[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_order", PS_INT, false, true, 0, "orders", false},
    {"product_id", PS_INT, false, false, 0, "products", false},
    {"product_attribute_id", PS_INT, false, false, 0, "combinations", false},
    {"product_quantity", PS_INT, false, true, 0, NULL, false},
    {"product_name", PS_STR, false, true, 0, NULL, false},
    {"product_reference", PS_STR, false, false, 64, NULL, false},
    {"product_price", PS_MONEY, false, true, 0, NULL, false},
    {"tax_rate", PS_MONEY, false, false, 0, NULL, false},
    {"unit_price_tax_incl", PS_MONEY, false, false, 0, NULL, false},
    {"unit_price_tax_excl", PS_MONEY, false, false, 0, NULL, false},
    {"total_price_tax_incl", PS_MONEY, false, false, 0, NULL, false},
    {"total_price_tax_excl", PS_MONEY, false, false, 0, NULL, false},
    {"product_quantity_refunded", PS_INT, false, false, 0, NULL, false},
};
/* Attribute groups (AttributeGroup): "Size", "Color". */
static const struct ps_field f_options[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"is_color_group", PS_BOOL, false, false, 0, NULL, false},
    {"group_type", PS_STR, false, true, 32, NULL, false},
    {"position", PS_INT, false, false, 0, NULL, false},
    {"name", PS_STR, true, true, 128, NULL, false},
    {"public_name", PS_STR, true, true, 64, NULL, false},
};
/* Attributes (ProductAttribute): "L" of "Size", "Red" of "Color". */
static const struct ps_field f_option_values[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_attribute_group", PS_INT, false, true, 0, "product_options", false},
    {"color", PS_STR, false, false, 32, NULL, false},
    {"position", PS_INT, false, false, 0, NULL, false},
    {"name", PS_STR, true, true, 128, NULL, false},
};
/* Credit slips (OrderSlip): partial and full refunds of an order. */
static const struct ps_field f_slips[] = {
    {"id", PS_ID, false, false, 0, NULL, true},
    {"id_customer", PS_INT, false, true, 0, "customers", false},
    {"id_order", PS_INT, false, true, 0, "orders", false},
    {"conversion_rate", PS_MONEY, false, true, 0, NULL, false},
    {"total_products_tax_excl", PS_MONEY, false, true, 0, NULL, false},
    {"total_products_tax_incl", PS_MONEY, false, true, 0, NULL, false},
    {"total_shipping_tax_excl", PS_MONEY, false, true, 0, NULL, false},
    {"total_shipping_tax_incl", PS_MONEY, false, true, 0, NULL, false},
    {"amount", PS_MONEY, false, false, 0, NULL, false},
    {"shipping_cost", PS_BOOL, false, false, 0, NULL, false},
    {"shipping_cost_amount", PS_MONEY, false, false, 0, NULL, false},
    {"partial", PS_BOOL, false, false, 0, NULL, false},
    {"date_add", PS_DATE, false, false, 0, NULL, true},
    {"date_upd", PS_DATE, false, false, 0, NULL, true},
    {"order_slip_type", PS_INT, false, false, 0, NULL, false},
};

void
ps_init_schema(struct ps_state *st)
{
    static const struct {
        const char            *name;
        const char            *single;
        const struct ps_field *f;
        size_t                 nf;
        bool                   post;
        bool                   put;
    } defs[PS_NRES] = {
        {"languages", "language", f_languages, NELEM(f_languages), false, false},
        {"currencies", "currency", f_currencies, NELEM(f_currencies), false, false},
        {"customers", "customer", f_customers, NELEM(f_customers), true, true},
        {"addresses", "address", f_addresses, NELEM(f_addresses), true, true},
        {"products", "product", f_products, NELEM(f_products), true, true},
        {"combinations", "combination", f_combinations, NELEM(f_combinations), true, true},
        /* platforms.md 3.2: stock_availables can be PUT but not POSTed. */
        {"stock_availables", "stock_available", f_stock, NELEM(f_stock), false, true},
        {"orders", "order", f_orders, NELEM(f_orders), false, true},
        {"order_details", "order_detail", f_details, NELEM(f_details), false, true},
        {"product_options", "product_option", f_options, NELEM(f_options), true, true},
        {"product_option_values", "product_option_value", f_option_values,
         NELEM(f_option_values), true, true},
        /* platforms.md 3.2: the URL's resource is singular; the list is <order_slips>. */
        {"order_slip", "order_slip", f_slips, NELEM(f_slips), true, true},
    };
    size_t i;
    size_t k;

    for (i = 0; i < PS_NRES; i++) {
        st->res[i].name = defs[i].name;
        st->res[i].nodes = i == PS_ORDER_SLIPS ? "order_slips" : defs[i].name;
        st->res[i].single = defs[i].single;
        st->res[i].f = defs[i].f;
        st->res[i].nf = defs[i].nf;
        st->res[i].can_post = defs[i].post;
        st->res[i].can_put = defs[i].put;
        st->res[i].has_ml = false;
        for (k = 0; k < defs[i].nf; k++)
            st->res[i].has_ml = st->res[i].has_ml || defs[i].f[k].ml;
        st->res[i].f_upd = ps_field_index(&st->res[i], "date_upd");
    }
}

int
ps_field_index(const struct ps_res *r, const char *name)
{
    size_t i;

    for (i = 0; i < r->nf; i++) {
        if (strcmp(r->f[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* ------------------------------------------------------------------ strings */

#define PS_CHUNK (1024 * 1024)

static uint32_t
str_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    /* FNV's low bits are weak for strings differing at the end (dates): mix (murmur3). */
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

static int
strtab_grow(struct ps_strtab *t)
{
    uint32_t  nmask = t->mask ? t->mask * 2 + 1 : 4095;
    uint32_t *ns = calloc((size_t)nmask + 1, sizeof(*ns));
    uint32_t  i;

    if (ns == NULL)
        return -1;
    for (i = 1; i < t->n; i++) {
        uint32_t h = str_hash(t->s[i]) & nmask;

        while (ns[h] != 0)
            h = (h + 1) & nmask;
        ns[h] = i;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = nmask;
    return 0;
}

static char *
strtab_copy(struct ps_strtab *t, const char *s, size_t len)
{
    char *d;

    if (t->nchunks == 0 || t->chunk_cap - t->chunk_used < len + 1) {
        size_t cap = len + 1 > PS_CHUNK ? len + 1 : PS_CHUNK;
        char **nc = realloc(t->chunks, (t->nchunks + 1) * sizeof(*nc));

        if (nc == NULL)
            return NULL;
        t->chunks = nc;
        t->chunks[t->nchunks] = malloc(cap);
        if (t->chunks[t->nchunks] == NULL)
            return NULL;
        t->nchunks++;
        t->chunk_used = 0;
        t->chunk_cap = cap;
    }
    d = t->chunks[t->nchunks - 1] + t->chunk_used;
    memcpy(d, s, len + 1);
    t->chunk_used += len + 1;
    return d;
}

/*
 * A small direct-mapped cache of recent strings in front of the table: most values are a
 * few constants ("0", "1", "0.000000"), and the big table's slots are cache misses.
 */
#define PS_FRONT 16384
static uint32_t front_hash[PS_FRONT];
static uint32_t front_id[PS_FRONT];

uint32_t
ps_intern(struct ps_state *st, const char *s)
{
    struct ps_strtab *t = &st->strs;
    uint32_t          hash;
    uint32_t          h;
    uint32_t          id;
    uint32_t          fi;

    if (s == NULL || s[0] == '\0')
        return 0;
    hash = str_hash(s);
    fi = hash % PS_FRONT;
    if (front_id[fi] != 0 && front_hash[fi] == hash && strcmp(t->s[front_id[fi]], s) == 0)
        return front_id[fi];
    if (((size_t)t->n + 1) * 2 > (size_t)t->mask && strtab_grow(t) < 0)
        return 0;
    for (h = hash & t->mask; (id = t->slots[h]) != 0; h = (h + 1) & t->mask) {
        if (strcmp(t->s[id], s) == 0) {
            front_hash[fi] = hash;
            front_id[fi] = id;
            return id;
        }
    }
    if (t->n >= t->cap) {
        uint32_t     ncap = t->cap * 2;
        const char **ns = realloc(t->s, ncap * sizeof(*ns));

        if (ns == NULL)
            return 0;
        t->s = ns;
        t->cap = ncap;
    }
    t->s[t->n] = strtab_copy(t, s, strlen(s));
    if (t->s[t->n] == NULL)
        return 0;
    t->slots[h] = t->n;
    return t->n++;
}

static int
strtab_init(struct ps_strtab *t)
{
    memset(t, 0, sizeof(*t));
    t->cap = 1024;
    t->s = malloc(t->cap * sizeof(*t->s));
    if (t->s == NULL)
        return -1;
    t->s[0] = "";
    t->n = 1;
    memset(front_id, 0, sizeof(front_id));
    return strtab_grow(t);
}

static void
strtab_free(struct ps_strtab *t)
{
    size_t i;

    for (i = 0; i < t->nchunks; i++)
        free(t->chunks[i]);
    free(t->chunks);
    free(t->s);
    free(t->slots);
    memset(t, 0, sizeof(*t));
    memset(front_id, 0, sizeof(front_id));
}

/* ------------------------------------------------------------------ rows */

struct ps_row *
ps_find(struct ps_res *r, int64_t id)
{
    size_t lo = 0;
    size_t hi = r->nrows;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (r->rows[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->nrows && r->rows[lo].id == id)
        return &r->rows[lo];
    return NULL;
}

/* (date_upd, id) order of two row positions. */
static int
upd_cmp(const struct ps_state *st, const struct ps_res *r, uint32_t a, uint32_t b)
{
    int c = strcmp(st->strs.s[r->vals[(size_t)a * r->nf + (size_t)r->f_upd]],
                   st->strs.s[r->vals[(size_t)b * r->nf + (size_t)r->f_upd]]);

    if (c != 0)
        return c;
    return r->rows[a].id < r->rows[b].id ? -1 : r->rows[a].id > r->rows[b].id;
}

/* First position in by_upd not before row position `pos` (by its current key). */
static size_t
upd_lower(const struct ps_state *st, const struct ps_res *r, uint32_t pos)
{
    size_t lo = 0;
    size_t hi = r->nlive;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (upd_cmp(st, r, r->by_upd[mid], pos) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t
ps_upd_bound(const struct ps_state *st, const struct ps_res *r, const char *s, bool strict)
{
    size_t lo = 0;
    size_t hi = r->nlive;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int    c = strcmp(st->strs.s[r->vals[(size_t)r->by_upd[mid] * r->nf +
                                             (size_t)r->f_upd]], s);

        if (strict ? c <= 0 : c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void
upd_remove(struct ps_state *st, struct ps_res *r, uint32_t pos)
{
    size_t k = upd_lower(st, r, pos);

    if (k < r->nlive && r->by_upd[k] == pos)
        memmove(&r->by_upd[k], &r->by_upd[k + 1], (r->nlive - k - 1) * sizeof(*r->by_upd));
}

static void
upd_insert(struct ps_state *st, struct ps_res *r, uint32_t pos, size_t n_before)
{
    /* by_upd holds n_before entries; room for one more is there. */
    size_t lo = 0;
    size_t hi = n_before;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (upd_cmp(st, r, r->by_upd[mid], pos) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&r->by_upd[lo + 1], &r->by_upd[lo], (n_before - lo) * sizeof(*r->by_upd));
    r->by_upd[lo] = pos;
}

static int
idx_reserve(struct ps_res *r, size_t n)
{
    size_t    ncap;
    uint32_t *a;
    uint32_t *b;

    if (n <= r->idx_cap)
        return 0;
    ncap = r->idx_cap ? r->idx_cap * 2 : 64;
    while (ncap < n)
        ncap *= 2;
    a = realloc(r->by_id, ncap * sizeof(*a));
    if (a == NULL)
        return -1;
    r->by_id = a;
    b = realloc(r->by_upd, ncap * sizeof(*b));
    if (b == NULL)
        return -1;
    r->by_upd = b;
    r->idx_cap = ncap;
    return 0;
}

static const struct ps_state *qs_st;
static const struct ps_res   *qs_res;

static int
qs_upd_cmp(const void *a, const void *b)
{
    return upd_cmp(qs_st, qs_res, *(const uint32_t *)a, *(const uint32_t *)b);
}

int
ps_reindex(struct ps_state *st, struct ps_res *r)
{
    size_t i;

    r->indexed = false;
    if (idx_reserve(r, r->nrows + 1) < 0)
        return -1;
    r->nlive = 0;
    for (i = 0; i < r->nrows; i++) {
        if (!r->rows[i].gone)
            r->by_id[r->nlive++] = (uint32_t)i;
    }
    if (r->f_upd >= 0) {
        memcpy(r->by_upd, r->by_id, r->nlive * sizeof(*r->by_upd));
        qs_st = st;
        qs_res = r;
        qsort(r->by_upd, r->nlive, sizeof(*r->by_upd), qs_upd_cmp);
    }
    r->indexed = true;
    return 0;
}

void
ps_set_id(struct ps_state *st, struct ps_res *r, struct ps_row *row, size_t i, uint32_t sid)
{
    size_t    pos = ps_pos(r, row);
    uint32_t *slot = &r->vals[pos * r->nf + i];

    if (*slot == sid)
        return;
    if (r->indexed && (int)i == r->f_upd && !row->gone) {
        upd_remove(st, r, (uint32_t)pos);
        *slot = sid;
        upd_insert(st, r, (uint32_t)pos, r->nlive - 1);
        return;
    }
    *slot = sid;
}

void
ps_set_str(struct ps_state *st, struct ps_res *r, struct ps_row *row, size_t i, const char *s)
{
    ps_set_id(st, r, row, i, ps_intern(st, s));
}

void
ps_set2_id(struct ps_res *r, struct ps_row *row, size_t i, uint32_t sid)
{
    if (r->vals2 != NULL)
        r->vals2[ps_pos(r, row) * r->nf + i] = sid;
}

void
ps_set_gone(struct ps_state *st, struct ps_res *r, struct ps_row *row)
{
    size_t pos = ps_pos(r, row);
    size_t lo = 0;
    size_t hi = r->nlive;

    if (row->gone)
        return;
    if (!r->indexed) {
        row->gone = true;
        return;
    }
    /* by_id: binary search on the id; by_upd: on the (still intact) key. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (r->rows[r->by_id[mid]].id < row->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < r->nlive && r->by_id[lo] == pos)
        memmove(&r->by_id[lo], &r->by_id[lo + 1], (r->nlive - lo - 1) * sizeof(*r->by_id));
    if (r->f_upd >= 0)
        upd_remove(st, r, (uint32_t)pos);
    r->nlive--;
    row->gone = true;
}

struct ps_row *
ps_new_row(struct ps_state *st, struct ps_res *r)
{
    struct ps_row *row;
    size_t         pos;

    if (r->nrows >= r->cap) {
        size_t         ncap = r->cap ? r->cap * 2 : 64;
        struct ps_row *n = realloc(r->rows, ncap * sizeof(*n));
        uint32_t      *v;

        if (n == NULL)
            return NULL;
        r->rows = n;
        v = realloc(r->vals, ncap * r->nf * sizeof(*v));
        if (v == NULL)
            return NULL;
        r->vals = v;
        if (r->has_ml) {
            v = realloc(r->vals2, ncap * r->nf * sizeof(*v));
            if (v == NULL)
                return NULL;
            r->vals2 = v;
        }
        r->cap = ncap;
    }
    if (r->indexed && idx_reserve(r, r->nlive + 1) < 0)
        return NULL;
    pos = r->nrows;
    row = &r->rows[pos];
    memset(row, 0, sizeof(*row));
    memset(&r->vals[pos * r->nf], 0, r->nf * sizeof(*r->vals));
    if (r->vals2 != NULL)
        memset(&r->vals2[pos * r->nf], 0, r->nf * sizeof(*r->vals2));
    row->id = ++r->next_id;
    r->nrows++;
    if (r->indexed) {
        /* Ids only grow: the end of by_id. date_upd is "" until set. */
        r->by_id[r->nlive] = (uint32_t)pos;
        if (r->f_upd >= 0)
            upd_insert(st, r, (uint32_t)pos, r->nlive);
        r->nlive++;
    }
    return row;
}

const char *
ps_local_time(struct ps_state *st, int64_t t)
{
    char buf[40];

    if (sbx_time_format(t, st->utc_offset_min, false, buf, sizeof(buf)) < 19)
        return "0000-00-00 00:00:00";
    buf[10] = ' ';
    buf[19] = '\0';
    return ps_str(st, ps_intern(st, buf));
}

static void
set(struct ps_state *st, struct ps_res *r, struct ps_row *row, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ps_field_index memoised by (resource, name pointer): the seed names fields by literals. */
static int
seed_field(const struct ps_res *r, const char *field)
{
    static const struct ps_res *m_r[256];
    static const char          *m_f[256];
    static int                  m_i[256];
    size_t                      k = (((uintptr_t)field >> 3) ^ ((uintptr_t)r >> 4)) % 256;

    if (m_r[k] != r || m_f[k] != field) {
        m_r[k] = r;
        m_f[k] = field;
        m_i[k] = ps_field_index(r, field);
    }
    return m_i[k];
}

static void
set(struct ps_state *st, struct ps_res *r, struct ps_row *row, const char *field,
    const char *fmt, ...)
{
    int     i = seed_field(r, field);
    va_list ap;
    char    buf[512];

    if (i < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    ps_set_str(st, r, row, (size_t)i, buf);
}

static void
set_ml(struct ps_state *st, struct ps_res *r, struct ps_row *row, const char *field,
       const char *en, const char *fr)
{
    int i = ps_field_index(r, field);

    if (i < 0 || r->vals2 == NULL)
        return;
    ps_set_str(st, r, row, (size_t)i, en);
    ps_set2_id(r, row, (size_t)i, ps_intern(st, fr));
}

static void
money(char *buf, size_t cap, int64_t cents)
{
    snprintf(buf, cap, "%s%" PRId64 ".%02" PRId64 "0000", cents < 0 ? "-" : "",
             (cents < 0 ? -cents : cents) / 100, (cents < 0 ? -cents : cents) % 100);
}

/* ------------------------------------------------------------------ seed */

static const char *const first_names[] = {
    "Zoë", "Łukasz", "José", "Søren", "Anaïs", "Nguyễn Văn", "Mike", "Sarah", "Jürgen",
    "Chloé", "Björk", "Yūki", "李", "Émile", "Kateřina", "Ğökhan",
};
static const char *const last_names[] = {
    "Müller", "Smith", "García", "Nowak", "Dubois", "Østergaard", "Rossi", "Schröder",
    "Nakamura", "王", "Dvořák", "Łęcka", "Yılmaz", "van der Berg", "Ñúñez", "Håkansson",
};
static const char *const nouns_en[] = {"T-Shirt", "Mug", "Notebook", "Lamp", "Scarf", "Teapot"};
static const char *const nouns_fr[] = {"T-shirt", "Tasse", "Carnet", "Lampe", "Écharpe",
                                       "Théière"};
static const char *const adj_en[] = {"Classic", "Organic", "Vintage", "Tiny 🙂", "Nordic"};
static const char *const adj_fr[] = {"classique", "bio", "rétro", "minuscule 🙂", "nordique"};

static bool
chance(struct sbx_rng *r, unsigned pct)
{
    return sbx_rng_below(r, 100) < pct;
}

static void
seed_times(struct sbx_rng *r, size_t i, size_t n, int64_t *prev, int64_t *add, int64_t *upd)
{
    int64_t t = SEED_T0 + (int64_t)((double)i * (double)SEED_SPAN / (double)(n ? n : 1));

    if (i > 0 && chance(r, 5))
        t = *prev;
    if (t < *prev)
        t = *prev;
    *prev = t;
    *add = t;
    *upd = t + (int64_t)sbx_rng_below(r, 20 * 86400);
    if (*upd > SEED_T0 + SEED_SPAN)
        *upd = SEED_T0 + SEED_SPAN;
    if (chance(r, 12) && t < SEED_BULK_T)
        *upd = SEED_BULK_T;     /* a merchant's bulk edit: one date_upd second */
}

static int
seed_fixed(struct ps_state *st)
{
    struct ps_res *L = &st->res[PS_LANGUAGES];
    struct ps_res *C = &st->res[PS_CURRENCIES];
    struct ps_row *row;
    static const char *const cur[][3] = {
        {"Euro", "EUR", "1.000000"}, {"US Dollar", "USD", "1.087000"},
        {"British Pound", "GBP", "0.858000"}, {"Złoty", "PLN", "4.320000"},
    };
    size_t i;

    row = ps_new_row(st, L);
    if (row == NULL)
        return -1;
    set(st, L, row, "name", "English (English)");
    set(st, L, row, "iso_code", "en");
    set(st, L, row, "locale", "en-US");
    set(st, L, row, "language_code", "en-us");
    set(st, L, row, "active", "1");
    set(st, L, row, "is_rtl", "0");
    set(st, L, row, "date_format_lite", "m/d/Y");
    set(st, L, row, "date_format_full", "m/d/Y H:i:s");
    row = ps_new_row(st, L);
    if (row == NULL)
        return -1;
    set(st, L, row, "name", "Français (French)");
    set(st, L, row, "iso_code", "fr");
    set(st, L, row, "locale", "fr-FR");
    set(st, L, row, "language_code", "fr");
    set(st, L, row, "active", "1");
    set(st, L, row, "is_rtl", "0");
    set(st, L, row, "date_format_lite", "d/m/Y");
    set(st, L, row, "date_format_full", "d/m/Y H:i:s");
    for (i = 0; i < NELEM(cur); i++) {
        row = ps_new_row(st, C);
        if (row == NULL)
            return -1;
        set(st, C, row, "name", "%s", cur[i][0]);
        set(st, C, row, "iso_code", "%s", cur[i][1]);
        set(st, C, row, "conversion_rate", "%s", cur[i][2]);
        set(st, C, row, "deleted", "0");
        set(st, C, row, "active", "1");
    }
    return 0;
}

/* ------------------------------------------------------------------ links */

static int
link_value(struct ps_state *st, int64_t id)
{
    struct ps_links *l = &st->links;

    if (l->npav == l->cap_pav) {
        size_t   ncap = l->cap_pav ? l->cap_pav * 2 : 256;
        int64_t *n = realloc(l->pav, ncap * sizeof(*n));

        if (n == NULL)
            return -1;
        l->pav = n;
        l->cap_pav = ncap;
    }
    l->pav[l->npav++] = id;
    return 0;
}

static int
link_slip_line(struct ps_state *st, int64_t detail, int64_t qty, const char *excl,
               const char *incl)
{
    struct ps_links     *l = &st->links;
    struct ps_slip_line *e;

    if (l->nsl == l->cap_sl) {
        size_t               ncap = l->cap_sl ? l->cap_sl * 2 : 64;
        struct ps_slip_line *n = realloc(l->sl, ncap * sizeof(*n));

        if (n == NULL)
            return -1;
        l->sl = n;
        l->cap_sl = ncap;
    }
    e = &l->sl[l->nsl++];
    e->id_order_detail = detail;
    e->qty = qty;
    e->excl = ps_intern(st, excl);
    e->incl = ps_intern(st, incl);
    return 0;
}

/* A seeded field by name (the name is a literal of this file). */
static const char *
fv(const struct ps_state *st, const struct ps_res *r, const struct ps_row *row,
   const char *field)
{
    int i = seed_field(r, field);

    return i < 0 ? "" : ps_v(st, r, row, (size_t)i);
}

/* ------------------------------------------------------------------ option values */

/*
 * Two attribute groups, their values in both languages. Size (group 1) is listed after Color
 * (group 2) by position, so a combination's values, which the Webservice gives by id (sizes
 * first), are not in the order a title shows them: "Red / L".
 */
static const char *const size_en[] = {"S", "M", "L", "XL"};
static const char *const size_fr[] = {"P", "M", "G", "TG"};
static const char *const color_en[] = {"Red", "Blue", "Green", "Black", "White"};
static const char *const color_fr[] = {"Rouge", "Bleu", "Vert", "Noir", "Blanc"};
static const char *const color_hex[] = {"#E84C3D", "#5D9CEC", "#A0D468", "#434A54",
                                        "#FFFFFF"};

static int
seed_options(struct ps_state *st, int64_t size_ids[], int64_t color_ids[])
{
    struct ps_res *G = &st->res[PS_OPTIONS];
    struct ps_res *V = &st->res[PS_OPTION_VALUES];
    struct ps_row *size, *color, *v;
    size_t         i;

    size = ps_new_row(st, G);
    color = ps_new_row(st, G);
    if (size == NULL || color == NULL)
        return -1;
    set(st, G, size, "is_color_group", "0");
    set(st, G, size, "group_type", "select");
    set(st, G, size, "position", "1");
    set_ml(st, G, size, "name", "Size", "Taille");
    set_ml(st, G, size, "public_name", "Size", "Taille");
    set(st, G, color, "is_color_group", "1");
    set(st, G, color, "group_type", "color");
    set(st, G, color, "position", "0");
    set_ml(st, G, color, "name", "Color", "Couleur");
    set_ml(st, G, color, "public_name", "Color", "Couleur");
    for (i = 0; i < NELEM(size_en); i++) {
        v = ps_new_row(st, V);
        if (v == NULL)
            return -1;
        set(st, V, v, "id_attribute_group", "%" PRId64, size->id);
        set(st, V, v, "position", "%zu", i);
        set_ml(st, V, v, "name", size_en[i], size_fr[i]);
        size_ids[i] = v->id;
    }
    for (i = 0; i < NELEM(color_en); i++) {
        v = ps_new_row(st, V);
        if (v == NULL)
            return -1;
        set(st, V, v, "id_attribute_group", "%" PRId64, color->id);
        set(st, V, v, "color", "%s", color_hex[i]);
        set(st, V, v, "position", "%zu", i);
        set_ml(st, V, v, "name", color_en[i], color_fr[i]);
        color_ids[i] = v->id;
    }
    return 0;
}

/* Every seeded combination gets its option values: a color, and a size unless the product
 * varies by color alone; no two combinations of a product share both. */
static int
seed_combination_values(struct ps_state *st, uint64_t seed)
{
    struct ps_res *PR = &st->res[PS_PRODUCTS];
    struct ps_res *CO = &st->res[PS_COMBINATIONS];
    int64_t        size_ids[NELEM(size_en)];
    int64_t        color_ids[NELEM(color_en)];
    struct sbx_rng r;
    size_t         i;
    size_t         k;

    if (seed_options(st, size_ids, color_ids) < 0)
        return -1;
    sbx_rng_init(&r, seed, "presta-options", 0);
    for (i = 0; i < PR->nrows; i++) {
        const struct ps_row *pr = &PR->rows[i];
        bool                 color_only = chance(&r, 25);
        size_t               c0 = sbx_rng_below(&r, NELEM(color_en));
        size_t               s0 = sbx_rng_below(&r, NELEM(size_en));

        for (k = 0; k < pr->a_n[0] && pr->a_first[0] + k < CO->nrows; k++) {
            struct ps_row *c = &CO->rows[pr->a_first[0] + k];

            c->a_first[0] = (uint32_t)st->links.npav;
            /* By id, as PrestaShop lists them: the size (lower ids) first. */
            if (!color_only &&
                link_value(st, size_ids[(s0 + k) % NELEM(size_en)]) < 0)
                return -1;
            if (link_value(st, color_ids[(c0 + (color_only ? k : k / 2)) %
                                         NELEM(color_en)]) < 0)
                return -1;
            c->a_n[0] = (uint32_t)(st->links.npav - c->a_first[0]);
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ order slips */

/* A slip refunding `prod` and `ship` (cents, tax excluded and included) of order `o`. */
static struct ps_row *
new_slip(struct ps_state *st, const struct ps_row *o, int64_t prod_excl, int64_t prod_incl,
         int64_t ship_excl, int64_t ship_incl, bool partial)
{
    struct ps_res *OR = &st->res[PS_ORDERS];
    struct ps_res *SL = &st->res[PS_ORDER_SLIPS];
    struct ps_row *s = ps_new_row(st, SL);
    char           m[48];

    if (s == NULL)
        return NULL;
    set(st, SL, s, "id_customer", "%s", fv(st, OR, o, "id_customer"));
    set(st, SL, s, "id_order", "%" PRId64, o->id);
    set(st, SL, s, "conversion_rate", "%s", fv(st, OR, o, "conversion_rate"));
    money(m, sizeof(m), prod_excl);
    set(st, SL, s, "total_products_tax_excl", "%s", m);
    money(m, sizeof(m), prod_incl);
    set(st, SL, s, "total_products_tax_incl", "%s", m);
    set(st, SL, s, "amount", "%s", m);
    money(m, sizeof(m), ship_excl);
    set(st, SL, s, "total_shipping_tax_excl", "%s", m);
    money(m, sizeof(m), ship_incl);
    set(st, SL, s, "total_shipping_tax_incl", "%s", m);
    set(st, SL, s, "shipping_cost_amount", "%s", m);
    set(st, SL, s, "shipping_cost", "%d", ship_incl > 0 ? 1 : 0);
    set(st, SL, s, "partial", "%d", partial ? 1 : 0);
    set(st, SL, s, "order_slip_type", "0");
    /* Issued at the order's last change. */
    set(st, SL, s, "date_add", "%s", fv(st, OR, o, "date_upd"));
    set(st, SL, s, "date_upd", "%s", fv(st, OR, o, "date_upd"));
    s->a_first[0] = (uint32_t)st->links.nsl;
    return s;
}

/*
 * Credit slips: most refunded orders (state 7) have one for the whole amount paid; a few
 * paid orders have a partial one (one unit of their first line) or a full one without the
 * state saying so.
 */
static int
seed_slips(struct ps_state *st, uint64_t seed)
{
    struct ps_res *OR = &st->res[PS_ORDERS];
    struct ps_res *OD = &st->res[PS_ORDER_DETAILS];
    struct sbx_rng r;
    size_t         i;
    size_t         k;

    sbx_rng_init(&r, seed, "presta-slips", 0);
    for (i = 0; i < OR->nrows; i++) {
        const struct ps_row *o = &OR->rows[i];
        int64_t              state = 0;
        int64_t              paid_excl = 0, paid_incl = 0, ship_excl = 0, ship_incl = 0;
        bool                 paid, full, part;
        struct ps_row       *s;

        (void)sbx_parse_i64(fv(st, OR, o, "current_state"), 0, 1000, &state);
        paid = state >= 2 && state <= 5;
        full = state == 7 ? chance(&r, 70) : paid && chance(&r, 2);
        part = !full && paid && chance(&r, 8);
        if ((!full && !part) || o->a_n[0] == 0 || o->a_first[0] >= OD->nrows)
            continue;
        if (sbx_parse_money(fv(st, OR, o, "total_paid_tax_excl"), &paid_excl) < 0 ||
            sbx_parse_money(fv(st, OR, o, "total_paid_tax_incl"), &paid_incl) < 0 ||
            sbx_parse_money(fv(st, OR, o, "total_shipping_tax_excl"), &ship_excl) < 0 ||
            sbx_parse_money(fv(st, OR, o, "total_shipping_tax_incl"), &ship_incl) < 0)
            continue;
        if (part) {
            const struct ps_row *d = &OD->rows[o->a_first[0]];
            int64_t              ue = 0, ui = 0;

            if (sbx_parse_money(fv(st, OD, d, "unit_price_tax_excl"), &ue) < 0 ||
                sbx_parse_money(fv(st, OD, d, "unit_price_tax_incl"), &ui) < 0)
                continue;
            s = new_slip(st, o, ue, ui, 0, 0, true);
            if (s == NULL || link_slip_line(st, d->id, 1, fv(st, OD, d, "unit_price_tax_excl"),
                                            fv(st, OD, d, "unit_price_tax_incl")) < 0)
                return -1;
        } else {
            s = new_slip(st, o, paid_excl - ship_excl, paid_incl - ship_incl, ship_excl,
                         ship_incl, false);
            if (s == NULL)
                return -1;
            for (k = 0; k < o->a_n[0] && o->a_first[0] + k < OD->nrows; k++) {
                const struct ps_row *d = &OD->rows[o->a_first[0] + k];
                int64_t              q = 1;

                (void)sbx_parse_i64(fv(st, OD, d, "product_quantity"), 1, 1000000, &q);
                if (link_slip_line(st, d->id, q, fv(st, OD, d, "total_price_tax_excl"),
                                   fv(st, OD, d, "total_price_tax_incl")) < 0)
                    return -1;
            }
        }
        s->a_n[0] = (uint32_t)(st->links.nsl - s->a_first[0]);
    }
    return 0;
}

int
ps_seed(struct sbx_platform *p, struct ps_state *st)
{
    const struct sbx_config *cfg = sbx_config(p->sbx);
    struct ps_res           *CU = &st->res[PS_CUSTOMERS];
    struct ps_res           *AD = &st->res[PS_ADDRESSES];
    struct ps_res           *PR = &st->res[PS_PRODUCTS];
    struct ps_res           *CO = &st->res[PS_COMBINATIONS];
    struct ps_res           *SA = &st->res[PS_STOCK];
    struct ps_res           *OR = &st->res[PS_ORDERS];
    struct ps_res           *OD = &st->res[PS_ORDER_DETAILS];
    struct sbx_rng           r;
    int64_t                  prev;
    int64_t                  add;
    int64_t                  upd;
    size_t                   i;
    size_t                   k;
    char                     m[48];

    if (strtab_init(&st->strs) < 0 || seed_fixed(st) < 0)
        return -1;

    sbx_rng_init(&r, cfg->seed, "presta-customers", 0);
    for (i = 0, prev = 0; i < cfg->customers; i++) {
        struct ps_row *c = ps_new_row(st, CU);
        struct ps_row *a;
        const char    *fn = first_names[sbx_rng_below(&r, NELEM(first_names))];
        const char    *ln = last_names[sbx_rng_below(&r, NELEM(last_names))];
        char           key[40];

        if (c == NULL)
            return -1;
        seed_times(&r, i, cfg->customers, &prev, &add, &upd);
        set(st, CU, c, "id_default_group", "3");
        set(st, CU, c, "id_lang", "%d", chance(&r, 30) ? 2 : 1);
        set(st, CU, c, "newsletter_date_add", "0000-00-00 00:00:00");
        set(st, CU, c, "last_passwd_gen", "%s", ps_local_time(st, add));
        sbx_rng_token(&r, "", 32, key, sizeof(key));
        set(st, CU, c, "secure_key", "%s", key);
        /* platforms.md 3.3: deleted customers are soft-deleted (deleted=1) and still listed. */
        set(st, CU, c, "deleted", "%d", chance(&r, 2) ? 1 : 0);
        set(st, CU, c, "passwd", "$2y$10$sandboxsandboxsandboxsOe2Q1gL8lY0p9qk1Wm3J3g7pF0h9X6");
        set(st, CU, c, "lastname", "%s", ln);
        set(st, CU, c, "firstname", "%s", fn);
        /* Awkward data: imported customers without an email. */
        if (chance(&r, 3))
            set(st, CU, c, "email", "%s", "");
        else
            set(st, CU, c, "email", "customer%" PRId64 "@example.org", c->id);
        set(st, CU, c, "id_gender", "%d", (int)sbx_rng_below(&r, 3));
        set(st, CU, c, "birthday", chance(&r, 50) ? "1985-07-14" : "0000-00-00");
        set(st, CU, c, "newsletter", "%d", chance(&r, 30) ? 1 : 0);
        set(st, CU, c, "optin", "0");
        set(st, CU, c, "company", "%s", chance(&r, 10) ? "Société Générale du Thé" : "");
        set(st, CU, c, "outstanding_allow_amount", "0.000000");
        set(st, CU, c, "show_public_prices", "0");
        set(st, CU, c, "id_risk", "0");
        set(st, CU, c, "max_payment_days", "0");
        set(st, CU, c, "active", "1");
        set(st, CU, c, "note", "%s", chance(&r, 5) ? "VIP — « très important »" : "");
        set(st, CU, c, "is_guest", "%d", chance(&r, 10) ? 1 : 0);
        set(st, CU, c, "id_shop", "1");
        set(st, CU, c, "id_shop_group", "1");
        set(st, CU, c, "date_add", "%s", ps_local_time(st, add));
        set(st, CU, c, "date_upd", "%s", ps_local_time(st, upd));
        if (chance(&r, 85)) {
            a = ps_new_row(st, AD);
            if (a == NULL)
                return -1;
            set(st, AD, a, "id_customer", "%" PRId64, c->id);
            set(st, AD, a, "id_manufacturer", "0");
            set(st, AD, a, "id_supplier", "0");
            set(st, AD, a, "id_warehouse", "0");
            set(st, AD, a, "id_country", "%d", chance(&r, 50) ? 8 : 14);
            set(st, AD, a, "id_state", "0");
            set(st, AD, a, "alias", "Mon adresse");
            set(st, AD, a, "lastname", "%s", ln);
            set(st, AD, a, "firstname", "%s", fn);
            set(st, AD, a, "address1", "%u rue de l'Église", (unsigned)(1 + i % 300));
            set(st, AD, a, "postcode", "%05u", (unsigned)sbx_rng_below(&r, 99999));
            set(st, AD, a, "city", "%s", chance(&r, 50) ? "Paris" : "Kraków");
            set(st, AD, a, "phone", "+33 1 %08u", (unsigned)sbx_rng_below(&r, 99999999));
            set(st, AD, a, "deleted", "0");
            set(st, AD, a, "date_add", "%s", ps_local_time(st, add));
            set(st, AD, a, "date_upd", "%s", ps_local_time(st, upd));
        }
    }

    sbx_rng_init(&r, cfg->seed, "presta-products", 0);
    for (i = 0, prev = 0; i < cfg->products; i++) {
        struct ps_row *pr = ps_new_row(st, PR);
        size_t         a = sbx_rng_below(&r, NELEM(adj_en));
        size_t         n = sbx_rng_below(&r, NELEM(nouns_en));
        size_t         ncomb = chance(&r, 35) ? 2 + sbx_rng_below(&r, 3) : 0;
        int64_t        price = 199 + (int64_t)sbx_rng_below(&r, 20000);
        char           en[128];
        char           fr[128];
        struct ps_row *s;

        if (pr == NULL)
            return -1;
        seed_times(&r, i, cfg->products, &prev, &add, &upd);
        snprintf(en, sizeof(en), "%s %s", adj_en[a], nouns_en[n]);
        snprintf(fr, sizeof(fr), "%s %s", nouns_fr[n], adj_fr[a]);
        set(st, PR, pr, "id_manufacturer", "0");
        set(st, PR, pr, "id_supplier", "0");
        set(st, PR, pr, "id_category_default", "%d", 2 + (int)(i % 5));
        set(st, PR, pr, "id_tax_rules_group", "%d", chance(&r, 80) ? 1 : 2);
        set(st, PR, pr, "type", "%s", ncomb ? "combinations" : "simple");
        set(st, PR, pr, "reference", "PS-%06" PRId64, pr->id);
        set(st, PR, pr, "ean13", "%s", chance(&r, 50) ? "4006381333931" : "");
        /* platforms.md 3.2: price is the tax-excluded base. */
        money(m, sizeof(m), price);
        set(st, PR, pr, "price", "%s", m);
        money(m, sizeof(m), price / 2);
        set(st, PR, pr, "wholesale_price", "%s", m);
        set(st, PR, pr, "active", "%d", chance(&r, 92) ? 1 : 0);
        set(st, PR, pr, "state", "1");
        set(st, PR, pr, "product_type", "%s", ncomb ? "combinations" : "standard");
        set_ml(st, PR, pr, "name", en, fr);
        set_ml(st, PR, pr, "description", "<p>A fine product &amp; more.</p>",
               "<p>Un produit « soigné ».</p>");
        snprintf(en, sizeof(en), "product-%" PRId64, pr->id);
        snprintf(fr, sizeof(fr), "produit-%" PRId64, pr->id);
        set_ml(st, PR, pr, "link_rewrite", en, fr);
        set(st, PR, pr, "date_add", "%s", ps_local_time(st, add));
        set(st, PR, pr, "date_upd", "%s", ps_local_time(st, upd));
        pr->a_first[0] = (uint32_t)CO->nrows;
        pr->a_n[0] = (uint32_t)ncomb;
        pr->a_first[1] = (uint32_t)SA->nrows;
        pr->a_n[1] = (uint32_t)(ncomb + 1);
        s = ps_new_row(st, SA);
        if (s == NULL)
            return -1;
        set(st, SA, s, "id_product", "%" PRId64, pr->id);
        set(st, SA, s, "id_product_attribute", "0");
        set(st, SA, s, "id_shop", "1");
        set(st, SA, s, "id_shop_group", "0");
        set(st, SA, s, "quantity", "%d", ncomb ? 0 : (int)sbx_rng_below(&r, 120) - 3);
        set(st, SA, s, "depends_on_stock", "0");
        set(st, SA, s, "out_of_stock", "2");
        for (k = 0; k < ncomb; k++) {
            struct ps_row *c = ps_new_row(st, CO);

            if (c == NULL)
                return -1;
            set(st, CO, c, "id_product", "%" PRId64, pr->id);
            set(st, CO, c, "reference", "PS-%06" PRId64 "-%zu", pr->id, k);
            money(m, sizeof(m), (int64_t)k * 150);
            set(st, CO, c, "price", "%s", m);       /* an impact on the base price */
            set(st, CO, c, "weight", "0.000000");
            set(st, CO, c, "default_on", "%s", k == 0 ? "1" : "");
            set(st, CO, c, "minimal_quantity", "1");
            if (k == 0) {
                int i2 = ps_field_index(PR, "id_default_combination");

                set(st, PR, pr, PR->f[i2].name, "%" PRId64, c->id);
            }
            s = ps_new_row(st, SA);
            if (s == NULL)
                return -1;
            set(st, SA, s, "id_product", "%" PRId64, pr->id);
            set(st, SA, s, "id_product_attribute", "%" PRId64, c->id);
            set(st, SA, s, "id_shop", "1");
            set(st, SA, s, "id_shop_group", "0");
            set(st, SA, s, "quantity", "%d", (int)sbx_rng_below(&r, 40) - 2);
            set(st, SA, s, "depends_on_stock", "0");
            set(st, SA, s, "out_of_stock", "2");
        }
        if (ncomb == 0)
            set(st, PR, pr, "id_default_combination", "0");
        pr->gone = chance(&r, 2);
    }

    sbx_rng_init(&r, cfg->seed, "presta-orders", 0);
    for (i = 0, prev = 0; i < cfg->orders; i++) {
        struct ps_row *o = ps_new_row(st, OR);
        int64_t        cur = chance(&r, 70) ? 1 : 2 + (int64_t)sbx_rng_below(&r, 3);
        int            tax_bp = chance(&r, 80) ? 2000 : 550;
        int64_t        products = 0;
        int64_t        ship = chance(&r, 70) ? 699 : 0;
        int64_t        disc = 0;
        size_t         nl = 1 + sbx_rng_below(&r, 3);
        int64_t        cid = 0;
        int64_t        aid = 0;
        static const int states[] = {2, 3, 4, 5, 5, 5, 6, 7, 8, 10};
        int            state = states[sbx_rng_below(&r, NELEM(states))];
        char           ref[40];

        if (o == NULL)
            return -1;
        seed_times(&r, i, cfg->orders, &prev, &add, &upd);
        if (CU->nrows > 0)
            cid = CU->rows[sbx_rng_below(&r, CU->nrows)].id;
        if (AD->nrows > 0)
            aid = AD->rows[sbx_rng_below(&r, AD->nrows)].id;
        o->a_first[0] = (uint32_t)OD->nrows;
        o->a_n[0] = (uint32_t)nl;
        for (k = 0; k < nl; k++) {
            struct ps_row *d = ps_new_row(st, OD);
            struct ps_row *pr = PR->nrows ? &PR->rows[sbx_rng_below(&r, PR->nrows)] : NULL;
            int64_t        unit = 999;
            int64_t        qty = 1 + (int64_t)sbx_rng_below(&r, 3);

            if (d == NULL)
                return -1;
            if (pr != NULL)
                sbx_parse_money(ps_v(st, PR, pr, (size_t)ps_field_index(PR, "price")), &unit);
            set(st, OD, d, "id_order", "%" PRId64, o->id);
            set(st, OD, d, "product_id", "%" PRId64, pr ? pr->id : 0);
            set(st, OD, d, "product_attribute_id", "0");
            if (pr && pr->a_n[0])
                set(st, OD, d, "product_attribute_id", "%" PRId64, CO->rows[pr->a_first[0]].id);
            set(st, OD, d, "product_quantity", "%" PRId64, qty);
            set(st, OD, d, "product_name", "%s",
                pr ? ps_v(st, PR, pr, (size_t)ps_field_index(PR, "name")) : "Article");
            set(st, OD, d, "product_reference", "%s",
                pr ? ps_v(st, PR, pr, (size_t)ps_field_index(PR, "reference")) : "");
            money(m, sizeof(m), unit);
            set(st, OD, d, "product_price", "%s", m);
            set(st, OD, d, "unit_price_tax_excl", "%s", m);
            set(st, OD, d, "tax_rate", "%d.%03d", tax_bp / 100, (tax_bp % 100) * 10);
            money(m, sizeof(m), unit + (unit * tax_bp + 5000) / 10000);
            set(st, OD, d, "unit_price_tax_incl", "%s", m);
            money(m, sizeof(m), unit * qty);
            set(st, OD, d, "total_price_tax_excl", "%s", m);
            money(m, sizeof(m), (unit + (unit * tax_bp + 5000) / 10000) * qty);
            set(st, OD, d, "total_price_tax_incl", "%s", m);
            set(st, OD, d, "product_quantity_refunded", "%s", state == 7 ? "1" : "0");
            products += unit * qty;
        }
        if (chance(&r, 20))
            disc = products / 10;       /* a cart rule (voucher) */
        {
            int64_t excl = products - disc + ship;
            int64_t incl = excl + (excl * tax_bp + 5000) / 10000;

            set(st, OR, o, "id_address_delivery", "%" PRId64, aid);
            set(st, OR, o, "id_address_invoice", "%" PRId64, aid);
            set(st, OR, o, "id_cart", "%" PRId64, o->id + 100);
            set(st, OR, o, "id_currency", "%" PRId64, cur);
            set(st, OR, o, "id_lang", "%d", chance(&r, 30) ? 2 : 1);
            set(st, OR, o, "id_customer", "%" PRId64, cid);
            set(st, OR, o, "id_carrier", "%d", ship ? 2 : 1);
            set(st, OR, o, "current_state", "%d", state);
            set(st, OR, o, "module", "%s", chance(&r, 50) ? "ps_wirepayment" : "ps_checkpayment");
            set(st, OR, o, "invoice_number", "%s", state == 8 || state == 10 ? "0" : "1");
            set(st, OR, o, "invoice_date", "%s", ps_local_time(st, add));
            set(st, OR, o, "delivery_number", "0");
            set(st, OR, o, "delivery_date", "0000-00-00 00:00:00");
            set(st, OR, o, "valid", "%d", state == 6 || state == 8 || state == 10 ? 0 : 1);
            set(st, OR, o, "date_add", "%s", ps_local_time(st, add));
            set(st, OR, o, "date_upd", "%s", ps_local_time(st, upd));
            set(st, OR, o, "id_shop_group", "1");
            set(st, OR, o, "id_shop", "1");
            set(st, OR, o, "payment", "%s", chance(&r, 50) ? "Virement bancaire" : "Chèque");
            set(st, OR, o, "recyclable", "0");
            set(st, OR, o, "gift", "0");
            set(st, OR, o, "mobile_theme", "0");
            money(m, sizeof(m), disc);
            set(st, OR, o, "total_discounts", "%s", m);
            set(st, OR, o, "total_discounts_tax_excl", "%s", m);
            money(m, sizeof(m), disc + (disc * tax_bp + 5000) / 10000);
            set(st, OR, o, "total_discounts_tax_incl", "%s", m);
            money(m, sizeof(m), incl);
            set(st, OR, o, "total_paid", "%s", m);
            set(st, OR, o, "total_paid_tax_incl", "%s", m);
            money(m, sizeof(m), state == 7 || state == 6 || state == 8 ? 0 : incl);
            set(st, OR, o, "total_paid_real", "%s", m);
            money(m, sizeof(m), excl);
            set(st, OR, o, "total_paid_tax_excl", "%s", m);
            money(m, sizeof(m), products);
            set(st, OR, o, "total_products", "%s", m);
            money(m, sizeof(m), products + (products * tax_bp + 5000) / 10000);
            set(st, OR, o, "total_products_wt", "%s", m);
            money(m, sizeof(m), ship + (ship * tax_bp + 5000) / 10000);
            set(st, OR, o, "total_shipping", "%s", m);
            set(st, OR, o, "total_shipping_tax_incl", "%s", m);
            money(m, sizeof(m), ship);
            set(st, OR, o, "total_shipping_tax_excl", "%s", m);
            set(st, OR, o, "carrier_tax_rate", "%d.%03d", tax_bp / 100, (tax_bp % 100) * 10);
            set(st, OR, o, "total_wrapping", "0.000000");
            set(st, OR, o, "total_wrapping_tax_incl", "0.000000");
            set(st, OR, o, "total_wrapping_tax_excl", "0.000000");
            set(st, OR, o, "round_mode", "2");
            set(st, OR, o, "round_type", "2");
            set(st, OR, o, "conversion_rate", "%s", cur == 1 ? "1.000000" : cur == 2
                                                    ? "1.087000" : cur == 3 ? "0.858000"
                                                                            : "4.320000");
            sbx_rng_token(&r, "", 9, ref, sizeof(ref));
            for (k = 0; ref[k] != '\0'; k++) {
                if (ref[k] >= 'a' && ref[k] <= 'z')
                    ref[k] = (char)(ref[k] - 'a' + 'A');
            }
            set(st, OR, o, "reference", "%s", ref);
            sbx_rng_token(&r, "", 32, ref, sizeof(ref));
            set(st, OR, o, "secure_key", "%s", ref);
        }
    }
    /* Streams of their own: the data above is what it was before these existed. */
    if (seed_combination_values(st, cfg->seed) < 0 || seed_slips(st, cfg->seed) < 0)
        return -1;
    for (i = 0; i < PS_NRES; i++) {
        st->res[i].seeded = st->res[i].nrows;
        if (st->res[i].nrows >= UINT32_MAX || ps_reindex(st, &st->res[i]) < 0)
            return -1;
    }
    return 0;
}

void
ps_free_data(struct ps_state *st)
{
    size_t i;

    for (i = 0; i < PS_NRES; i++) {
        struct ps_res *r = &st->res[i];

        free(r->rows);
        free(r->vals);
        free(r->vals2);
        free(r->by_id);
        free(r->by_upd);
        r->rows = NULL;
        r->vals = r->vals2 = r->by_id = r->by_upd = NULL;
        r->nrows = r->cap = r->seeded = r->nlive = r->idx_cap = 0;
        r->indexed = false;
        r->next_id = 0;
    }
    free(st->links.pav);
    free(st->links.sl);
    memset(&st->links, 0, sizeof(st->links));
    strtab_free(&st->strs);
}
