/*
 * PrestaShop imitation (Webservice API under /api/): shared definitions of the presta*.c
 * files. Facts followed are cited as platforms.md section 3.x.
 *
 * Every resource is a table of string-valued fields described by `struct ps_field`, which is
 * what the Webservice itself does (ObjectModel::$definition): one generic path renders XML and
 * JSON, applies display/filter/sort/limit, answers ?schema= and validates POST/PUT bodies.
 * Single-threaded (the loop).
 */
#ifndef SBX_PRESTA_H
#define SBX_PRESTA_H

#include "sbx.h"

#define PS_VERSION "8.1.7"

enum ps_type { PS_ID, PS_INT, PS_BOOL, PS_MONEY, PS_STR, PS_DATE, PS_EMAIL };

struct ps_field {
    const char  *name;
    enum ps_type type;
    bool         ml;            /* multilingual: <language id="1">..</language> */
    bool         required;
    int          max;           /* maxSize, 0 = none */
    const char  *link;          /* resource an id points to (xlink:href), or NULL */
    bool         readonly;      /* set by the shop, ignored in writes */
};

/*
 * Values are interned: every distinct string is stored once in the module's string table and
 * a field holds its 32-bit id (0 is ""). A resource keeps its values in one flat array,
 * nrows * nf ids, row-major (vals2: the second language of multilingual fields).
 */
struct ps_row {
    int64_t      id;
    uint32_t     a_first[2];    /* association ranges in the child tables (seeded rows) */
    uint32_t     a_n[2];
    bool         gone;          /* hard-deleted: 404, absent from lists */
};

enum ps_res_id { PS_LANGUAGES, PS_CURRENCIES, PS_CUSTOMERS, PS_ADDRESSES, PS_PRODUCTS,
                 PS_COMBINATIONS, PS_STOCK, PS_ORDERS, PS_ORDER_DETAILS, PS_OPTIONS,
                 PS_OPTION_VALUES, PS_ORDER_SLIPS, PS_NRES };

struct ps_res {
    const char            *name;        /* "customers": the URL's resource */
    const char            *nodes;       /* the list's element (objectsNodeName): the name,
                                           except "order_slips" for order_slip */
    const char            *single;      /* "customer" */
    const struct ps_field *f;
    size_t                 nf;
    bool                   can_post;
    bool                   can_put;
    bool                   has_ml;      /* some field is multilingual: vals2 is kept */
    int                    f_upd;       /* index of date_upd, -1 when none */
    struct ps_row         *rows;        /* by ascending id (ids only grow) */
    uint32_t              *vals;        /* nrows * nf string ids */
    uint32_t              *vals2;       /* same for the second language, or NULL */
    size_t                 nrows;
    size_t                 cap;
    size_t                 seeded;      /* rows created by the seed (associations by range) */
    int64_t                next_id;
    /*
     * Indexes of the live (not gone) rows, as row positions: by id, and by (date_upd, id)
     * ascending. Maintained on every write once `indexed` (after the seed), so a sorted,
     * date-filtered page is a binary search and a walk.
     */
    bool                   indexed;
    uint32_t              *by_id;
    uint32_t              *by_upd;
    size_t                 nlive;
    size_t                 idx_cap;
};

struct ps_strtab {
    const char **s;             /* id -> string (stable: strings never move) */
    uint32_t     n;
    uint32_t     cap;
    uint32_t    *slots;         /* open addressing, 0 = empty (id 0, "", is never stored) */
    uint32_t     mask;
    char       **chunks;        /* string storage */
    size_t       nchunks;
    size_t       chunk_used;
    size_t       chunk_cap;
};

/* One line of an order slip (PrestaShop's order_slip_detail table): amounts interned. */
struct ps_slip_line {
    int64_t  id_order_detail;
    int64_t  qty;
    uint32_t excl;
    uint32_t incl;
};

/*
 * Links the Webservice shows only as associations, with no resource of their own: the option
 * values of a combination (product_attribute_combination) and the lines of an order slip
 * (order_slip_detail). A combination's or a slip's row has its range here in a_first[0] and
 * a_n[0]; rows created through POST have none.
 */
struct ps_links {
    int64_t             *pav;           /* option value ids, by combination range */
    size_t               npav;
    size_t               cap_pav;
    struct ps_slip_line *sl;            /* slip lines, by slip range */
    size_t               nsl;
    size_t               cap_sl;
};

struct ps_state {
    char              key[64];
    int               utc_offset_min;   /* shop time zone: naive local date_add/date_upd */
    struct ps_strtab  strs;
    struct ps_res     res[PS_NRES];
    struct ps_links   links;
    /* What the key may not do per resource (POST /_sandbox/permissions?deny=...): PS_DENY_*
     * bits. The /api listing says so, and such a request answers 401 like PrestaShop. */
    uint8_t           deny[PS_NRES];
};
enum { PS_DENY_GET = 1, PS_DENY_PUT = 2, PS_DENY_POST = 4, PS_DENY_DELETE = 8 };

/* presta_data.c */
void        ps_init_schema(struct ps_state *st);
int         ps_seed(struct sbx_platform *p, struct ps_state *st);
void        ps_free_data(struct ps_state *st);
struct ps_row *ps_find(struct ps_res *r, int64_t id);
struct ps_row *ps_new_row(struct ps_state *st, struct ps_res *r);
int         ps_field_index(const struct ps_res *r, const char *name);
/* "YYYY-MM-DD HH:MM:SS" in the shop's zone (interned, stable). */
const char *ps_local_time(struct ps_state *st, int64_t t);
/* The id of the interned copy of s (0 for "" and when out of memory). */
uint32_t    ps_intern(struct ps_state *st, const char *s);

static inline const char *
ps_str(const struct ps_state *st, uint32_t id)
{
    return st->strs.s[id];
}

static inline size_t
ps_pos(const struct ps_res *r, const struct ps_row *row)
{
    return (size_t)(row - r->rows);
}

/* Field i of a row (first language for multilingual fields); "" for the id field. */
static inline const char *
ps_v(const struct ps_state *st, const struct ps_res *r, const struct ps_row *row, size_t i)
{
    return st->strs.s[r->vals[ps_pos(r, row) * r->nf + i]];
}

/* Second language of field i, "" when the resource has none. */
static inline const char *
ps_v2(const struct ps_state *st, const struct ps_res *r, const struct ps_row *row, size_t i)
{
    return r->vals2 != NULL ? st->strs.s[r->vals2[ps_pos(r, row) * r->nf + i]] : "";
}

/* Sets field i (an interned id); keeps the date_upd index in order. */
void        ps_set_id(struct ps_state *st, struct ps_res *r, struct ps_row *row, size_t i,
                      uint32_t sid);
void        ps_set_str(struct ps_state *st, struct ps_res *r, struct ps_row *row, size_t i,
                       const char *s);
void        ps_set2_id(struct ps_res *r, struct ps_row *row, size_t i, uint32_t sid);
/* Hard delete: gone, out of the indexes. */
void        ps_set_gone(struct ps_state *st, struct ps_res *r, struct ps_row *row);
/* Rebuilds both indexes of r from the rows (sets `indexed`). 0 or -1. */
int         ps_reindex(struct ps_state *st, struct ps_res *r);
/* Position in by_upd of the first live row whose date_upd is >= s (strict: > s). */
size_t      ps_upd_bound(const struct ps_state *st, const struct ps_res *r, const char *s,
                         bool strict);

#endif /* SBX_PRESTA_H */
