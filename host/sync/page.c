/*
 * The engine's page (apply.h): the records a connector emits, checked, decoded and hashed as
 * they arrive; the advisory lock of each record that every writer takes; and the refresh of
 * the mapping table's statistics. The application of a page to the Simplix tables is apply.c.
 */
#include "sync/apply.h"
#include "core/jscan.h"
#include "core/log.h"
#include "crypto/crypto.h"
#include "plugin/hostapi.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the page --------------------------------------------------------------------------------- */

/* "YYYY-MM-DDTHH:MM:SS[.f...]Z", the form the model requires (and SQL's sx_time accepts). */
static int
time_is_canonical(const char *s)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t            i;

    for (i = 0; i < sizeof(shape) - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    if (s[i] == '.') {
        size_t f = 0;

        for (i++; s[i] >= '0' && s[i] <= '9'; i++)
            f++;
        if (f == 0 || f > 9)
            return 0;
    }
    return s[i] == 'Z' && s[i + 1] == '\0';
}

void
hub_sync_page_init(struct hub_sync_page *page)
{
    memset(page, 0, sizeof(*page));
}

void
hub_sync_page_reset(struct hub_sync_page *page)
{
    size_t i;

    for (i = 0; i < page->n; i++) {
        free(page->recs[i].ext);
        free(page->recs[i].json);
    }
    page->n = 0;
    page->bytes = 0;
    page->max_upd_ms = 0;
}

void
hub_sync_page_free(struct hub_sync_page *page)
{
    hub_sync_page_reset(page);
    free(page->recs);
    memset(page, 0, sizeof(*page));
}

int
hub_sync_page_copy_rec(struct hub_sync_page *page, const struct hub_sync_rec *rec,
                       struct hub_error *err)
{
    struct hub_sync_rec *r;

    if (page->n >= HUB_SYNC_PAGE_MAX_RECORDS ||
        page->bytes + rec->json_len > HUB_SYNC_PAGE_MAX_BYTES)
        return hub_error_set(err, HUB_E_LIMIT, "page over %d records or %u bytes",
                             HUB_SYNC_PAGE_MAX_RECORDS, HUB_SYNC_PAGE_MAX_BYTES);
    if (page->n == page->cap) {
        size_t               ncap = page->cap ? page->cap * 2 : 64;
        struct hub_sync_rec *nr = realloc(page->recs, ncap * sizeof(*nr));

        if (nr == NULL)
            return hub_error_set(err, HUB_E_NOMEM, "out of memory");
        page->recs = nr;
        page->cap = ncap;
    }
    r = &page->recs[page->n];
    *r = *rec;
    r->ext = strdup(rec->ext);
    r->json = malloc(rec->json_len + 1);
    if (r->ext == NULL || r->json == NULL) {
        free(r->ext);
        free(r->json);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    memcpy(r->json, rec->json, rec->json_len + 1);
    page->n++;
    page->bytes += rec->json_len;
    if (rec->upd_ms > page->max_upd_ms)
        page->max_upd_ms = rec->upd_ms;
    return 0;
}

/*
 * The record is read in place by the scanner (core/jscan.h), not parsed into a tree: it is
 * checked as strict JSON, its few top-level fields are decoded, and it is hashed as the text
 * of its members without "raw", in the order the connector wrote them.
 */
int
hub_sync_page_add(struct hub_sync_page *page, const char *json, size_t len, struct hub_error *err)
{
    static const char *const times[] = { "created_at", "cancelled_at", "paid_at" };
    struct hub_jscan_member *m;
    const struct hub_jscan_member *v;
    struct hub_sync_rec     *r;
    struct hub_error         serr;
    char                     ext[520], upd[72], stack[16384], *text;
    size_t                   n = 0, i, t, tlen = 0;
    uint8_t                  digest[32];
    int64_t                  upd_ms, ms;
    int                      rc;

    if (page->n >= HUB_SYNC_PAGE_MAX_RECORDS || page->bytes + len > HUB_SYNC_PAGE_MAX_BYTES)
        return hub_error_set(err, HUB_E_LIMIT, "page over %d records or %u bytes",
                             HUB_SYNC_PAGE_MAX_RECORDS, HUB_SYNC_PAGE_MAX_BYTES);
    m = malloc(HUB_SYNC_MAX_MEMBERS * sizeof(*m));
    if (m == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    if (hub_jscan_object(json, len, HUB_JSON_MAX_DEPTH, m, HUB_SYNC_MAX_MEMBERS, &n, &serr) < 0) {
        free(m);
        return hub_error_set(err, HUB_E_INVALID, "record is not a JSON object (%s)", serr.msg);
    }
    if (hub_jscan_find_str(m, n, "external_id", ext, sizeof(ext)) < 0 || ext[0] == '\0' ||
        strlen(ext) > 512) {
        free(m);
        return hub_error_set(err, HUB_E_INVALID, "record without a string external_id "
                             "(1-512 bytes)");
    }
    if (hub_jscan_find_str(m, n, "updated_at", upd, sizeof(upd)) < 0 ||
        hub_time_parse(upd, strlen(upd), &upd_ms) != 0) {
        free(m);
        return hub_error_set(err, HUB_E_INVALID, "record %s: updated_at missing or not RFC 3339",
                             ext);
    }
    /* Every other time the SQL side reads must be valid too (it casts without a net). */
    for (t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
        char tv[72];

        v = hub_jscan_find(m, n, times[t]);
        if (v != NULL && v->type != HUB_JSCAN_NULL &&
            (hub_jscan_find_str(m, n, times[t], tv, sizeof(tv)) < 0 ||
             hub_time_parse(tv, strlen(tv), &ms) != 0 || !time_is_canonical(tv))) {
            free(m);
            return hub_error_set(err, HUB_E_INVALID, "record %s: %s is not an RFC 3339 UTC "
                                 "time", ext, times[t]);
        }
    }

    if (page->n == page->cap) {
        size_t               ncap = page->cap ? page->cap * 2 : 64;
        struct hub_sync_rec *nr = realloc(page->recs, ncap * sizeof(*nr));

        if (nr == NULL) {
            free(m);
            return hub_error_set(err, HUB_E_NOMEM, "out of memory");
        }
        page->recs = nr;
        page->cap = ncap;
    }
    r = &page->recs[page->n];
    memset(r, 0, sizeof(*r));
    r->ext = strdup(ext);
    r->json = malloc(len + 1);
    text = len + 2 <= sizeof(stack) ? stack : malloc(len + 2);
    if (r->ext == NULL || r->json == NULL || text == NULL) {
        free(r->ext);
        free(r->json);
        if (text != stack)
            free(text);
        free(m);
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    }
    memcpy(r->json, json, len);
    r->json[len] = '\0';
    r->json_len = len;
    r->upd_ms = upd_ms;
    v = hub_jscan_find(m, n, "deleted");
    r->deleted = v != NULL && v->type == HUB_JSCAN_TRUE;
    /* The hash ignores "raw": the platform's own copy may carry noise the model does not. */
    text[tlen++] = '{';
    for (i = 0; i < n; i++) {
        size_t mlen = (size_t)(m[i].val + m[i].val_len - m[i].start);

        if (hub_jscan_find(&m[i], 1, "raw") != NULL)
            continue;
        if (tlen > 1)
            text[tlen++] = ',';
        memcpy(text + tlen, m[i].start, mlen);
        tlen += mlen;
    }
    text[tlen++] = '}';
    rc = hub_crypto_sha256(text, tlen, digest);
    if (text != stack)
        free(text);
    free(m);
    if (rc != 0) {
        free(r->ext);
        free(r->json);
        return hub_error_set(err, HUB_E_INTERNAL, "sha-256 failed");
    }
    hub_crypto_hex_encode(digest, sizeof(digest), r->hash, sizeof(r->hash));
    if (upd_ms > page->max_upd_ms)
        page->max_upd_ms = upd_ms;
    page->bytes += len;
    page->n++;
    return 0;
}

int
hub_sync_record_hash(const char *json, size_t len, char out[65], struct hub_error *err)
{
    struct hub_sync_page pg;
    int                  rc;

    out[0] = '\0';
    hub_sync_page_init(&pg);
    rc = hub_sync_page_add(&pg, json, len, err);
    if (rc == 0)
        snprintf(out, 65, "%s", pg.recs[0].hash);
    hub_sync_page_free(&pg);
    return rc;
}

/* ---- record locks ------------------------------------------------------------------------ */

/* FNV-1a of (integration, entity name, external id). A collision only serializes two
 * unrelated records. */
static uint32_t
record_key(int64_t integration_id, const char *entity, const char *ext)
{
    uint32_t h = 2166136261u;
    uint64_t v = (uint64_t)integration_id;
    int      i;

    for (i = 0; i < 8; i++, v >>= 8) {
        h ^= (uint32_t)(v & 0xff);
        h *= 16777619u;
    }
    for (; *entity != '\0'; entity++) {
        h ^= (unsigned char)*entity;
        h *= 16777619u;
    }
    h ^= 0xff;                          /* separator: ("ab", "c") differs from ("a", "bc") */
    h *= 16777619u;
    for (; *ext != '\0'; ext++) {
        h ^= (unsigned char)*ext;
        h *= 16777619u;
    }
    return h;
}

static int
cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

int
hub_sync_lock_records(struct hub_db *db, int64_t integration_id, const char *const *entities,
                      struct hub_sync_page *const *pages, size_t n_pages, struct hub_error *err)
{
    struct hub_buf b;
    const char    *p[1];
    uint32_t      *k;
    size_t         total = 0, m = 0, i, j;
    int            rc;

    for (i = 0; i < n_pages; i++)
        total += pages[i] != NULL ? pages[i]->n : 0;
    if (total == 0)
        return 0;
    k = malloc(total * sizeof(*k));
    if (k == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    for (i = 0; i < n_pages; i++) {
        for (j = 0; pages[i] != NULL && j < pages[i]->n; j++)
            k[m++] = record_key(integration_id, entities[i], pages[i]->recs[j].ext);
    }
    qsort(k, m, sizeof(*k), cmp_u32);
    hub_buf_init(&b, 16 * (m + 1));
    hub_buf_puts(&b, "{");
    for (i = 0; i < m; i++) {
        if (i > 0 && k[i] == k[i - 1])
            continue;
        hub_buf_printf(&b, "%s%d", b.len > 1 ? "," : "", (int32_t)k[i]);
    }
    hub_buf_puts(&b, "}");
    free(k);
    if (b.data == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "out of memory");
    p[0] = b.data;
    rc = hub_db_query(db, "SELECT count(pg_advisory_xact_lock(" HUB_SYNC_RECORD_LOCK_CLASS
                      ", k)) FROM unnest($1::int[]) AS k", 1, p, NULL, err);
    hub_buf_free(&b);
    return rc;
}

int
hub_sync_lock_one(struct hub_db *db, int64_t integration_id, const char *entity,
                  const char *external_id, struct hub_error *err)
{
    struct hub_sync_rec   rec;
    struct hub_sync_page  one;
    struct hub_sync_page *pages[1] = { &one };

    memset(&rec, 0, sizeof(rec));
    memset(&one, 0, sizeof(one));
    rec.ext = (char *)external_id;      /* read only */
    one.recs = &rec;
    one.n = 1;
    return hub_sync_lock_records(db, integration_id, &entity, pages, 1, err);
}

/* ---- planner statistics ------------------------------------------------------------------- */

static atomic_ullong stats_applied;     /* records applied by this process */

void
hub_sync_stats_tick(struct hub_db *db, size_t n)
{
    struct hub_error err;
    unsigned long long before;

    if (n == 0)
        return;
    before = atomic_fetch_add(&stats_applied, n);
    if (before / HUB_SYNC_STATS_EVERY == (before + n) / HUB_SYNC_STATS_EVERY && before != 0)
        return;
    /* In one statement, so that the try-lock is the transaction's and ends with it. */
    if (hub_db_exec(db,
                    "DO $sx$ BEGIN"
                    " IF pg_try_advisory_xact_lock(" HUB_SYNC_STATS_LOCK_CLASS ", 1) AND"
                    "    (SELECT s.n_mod_since_analyze > 1000 + 0.2 * greatest(c.reltuples, 0)"
                    "       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
                    "      WHERE s.relid = 'integration_mappings'::regclass) THEN"
                    "   ANALYZE integration_mappings;"
                    " END IF;"
                    " END $sx$", &err) < 0)
        hub_log_debug("sync", "statistics refresh of integration_mappings: %s", err.msg);
}
