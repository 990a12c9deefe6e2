/*
 * PrestaShop imitation (Webservice API under /api/): shared definitions of the presta*.c
 * files. Facts followed are cited as platforms.md section 3.x.
 *
 * Every resource is a table of string-valued fields described by `struct ps_field`, which is
 * what the Webservice itself does (ObjectModel::$definition): one generic path renders XML and
 * JSON, applies display/filter/sort/limit, answers ?schema= and validates POST/PUT bodies.
 * Strings live in the module's arena (freed at reset and exit). Single-threaded (the loop).
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

struct ps_row {
    int64_t      id;
    const char **v;             /* one per field; v[0] (id) unused */
    const char **v2;            /* second language of ml fields, NULL when none */
    bool         gone;          /* hard-deleted: 404, absent from lists */
    size_t       a_first[2];    /* association ranges in the child tables (seeded rows) */
    uint32_t     a_n[2];
};

enum ps_res_id { PS_LANGUAGES, PS_CURRENCIES, PS_CUSTOMERS, PS_ADDRESSES, PS_PRODUCTS,
                 PS_COMBINATIONS, PS_STOCK, PS_ORDERS, PS_ORDER_DETAILS, PS_NRES };

struct ps_res {
    const char            *name;        /* "customers" */
    const char            *single;      /* "customer" */
    const struct ps_field *f;
    size_t                 nf;
    bool                   can_post;
    bool                   can_put;
    struct ps_row         *rows;
    size_t                 nrows;
    size_t                 cap;
    size_t                 seeded;      /* rows created by the seed (associations by range) */
    int64_t                next_id;
};

struct ps_state {
    char              key[64];
    int               utc_offset_min;   /* shop time zone: naive local date_add/date_upd */
    struct sbx_arena *arena;
    struct ps_res     res[PS_NRES];
};

/* presta_data.c */
void        ps_init_schema(struct ps_state *st);
int         ps_seed(struct sbx_platform *p, struct ps_state *st);
void        ps_free_data(struct ps_state *st);
struct ps_row *ps_find(struct ps_res *r, int64_t id);
struct ps_row *ps_new_row(struct ps_state *st, struct ps_res *r);
int         ps_field_index(const struct ps_res *r, const char *name);
/* "YYYY-MM-DD HH:MM:SS" in the shop's zone, from the arena. */
const char *ps_local_time(struct ps_state *st, int64_t t);

#endif /* SBX_PRESTA_H */
