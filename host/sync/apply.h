/*
 * Applying one page of canonical records to the Simplix tables and the mapping store, set-based:
 * a fixed handful of statements per page whatever its size (classify against the mappings,
 * allocate ids, insert, update, upsert mappings), never one round trip per record.
 *
 * The caller owns the transaction: it begins it, calls hub_sync_apply_page(), writes the
 * cursor and the run's counters, and commits, so a page and its cursor land together or not
 * at all. Every change is tagged with the integration as its origin (the outbox triggers read
 * `simplix.origin_integration`), so the export side never sends an import back where it
 * came from.
 *
 * Decisions per record (DESIGN.md 6):
 *   - unknown external id                      -> created, mapping recorded
 *   - same content hash as the mapping         -> skipped (nothing changed)
 *   - older updated_at than the mapping        -> skipped (a stale copy arrived late)
 *   - Simplix row changed since the last sync  -> conflict: the later updated_at wins, and the
 *     and the platform's copy changed too         decision goes to the run's details
 *   - deleted on the platform                  -> archived / voided / marked, mapping kept
 *   - otherwise                                -> updated
 * A page whose set-based statements fail is retried record by record (each in a savepoint), so
 * one bad record is logged with its external id and reason and the others still land.
 *
 * Concurrency: a page first takes the advisory lock of each of its records (see
 * hub_sync_lock_records), so an import page, a webhook batch and a sweep that carry the same
 * record apply it one after the other, and the later one classifies it against the mapping
 * the earlier one committed (without it, two transactions could both create it).
 */
#ifndef HUB_SYNC_APPLY_H
#define HUB_SYNC_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "db/db.h"

/* One record a connector emitted, checked and hashed by hub_sync_page_add(). */
struct hub_sync_rec {
    char    *ext;          /* external id */
    char    *json;         /* the canonical record as emitted (raw included) */
    size_t   json_len;
    char     hash[65];     /* SHA-256 hex of the record without "raw" */
    int64_t  upd_ms;       /* its updated_at */
    int      deleted;
};

struct hub_sync_page {
    struct hub_sync_rec *recs;
    size_t               n;
    size_t               cap;
    size_t               bytes;
    int64_t              max_upd_ms;
};

struct hub_sync_counts {
    int64_t processed;
    int64_t created;
    int64_t updated;
    int64_t skipped;
    int64_t failed;
    int64_t conflicts;
    int64_t deleted;      /* marked deleted on the platform (counted apart from updated) */
};

#define HUB_SYNC_PAGE_MAX_RECORDS  5000
#define HUB_SYNC_PAGE_MAX_BYTES    (64u * 1024 * 1024)
#define HUB_SYNC_MAX_MEMBERS       512    /* members of a record, or of a variant, read */
/* ISO 4217's code for "no currency": a product or invoice whose currency is missing or not
 * an ISO code gets it (the tables accept only ^[A-Z]{3}$). */
#define HUB_SYNC_NO_CURRENCY       "XXX"

void hub_sync_page_init(struct hub_sync_page *page);
void hub_sync_page_reset(struct hub_sync_page *page);
void hub_sync_page_free(struct hub_sync_page *page);

/*
 * Check one emitted record (a JSON object with a non-empty string external_id and an RFC 3339
 * updated_at), hash it and keep a copy. A record that fails the check is not kept: the return
 * is HUB_E_INVALID with the reason in `err` (the caller counts it as failed and goes on);
 * HUB_E_LIMIT when the page is over its bounds.
 */
int  hub_sync_page_add(struct hub_sync_page *page, const char *json, size_t len,
                       struct hub_error *err);

/* The hash hub_sync_page_add() gives one record (64 hex digits, into out[65]): 0, or the
 * error that refused the record. */
int  hub_sync_record_hash(const char *json, size_t len, char out[65], struct hub_error *err);
/*
 * Append a copy of `rec` (a record another page already checked and hashed) to `page`.
 * 0; HUB_E_LIMIT when the page is over its bounds; HUB_E_NOMEM.
 */
int  hub_sync_page_copy_rec(struct hub_sync_page *page, const struct hub_sync_rec *rec,
                            struct hub_error *err);

/*
 * The transaction-level advisory lock (HUB_SYNC_RECORD_LOCK_CLASS, hash of integration,
 * entity, external id) of every record of pages[0..n_pages) (entities[i] names page i), taken
 * in ascending order in one statement, so that takers never wait on each other in a cycle.
 * hub_sync_apply_page() takes the locks of its page itself; the webhook processing takes
 * them earlier, while it claims a batch, to keep order of arrival per record. 0 or HUB_E_DB.
 */
#define HUB_SYNC_RECORD_LOCK_CLASS "21336"
int  hub_sync_lock_records(struct hub_db *db, int64_t integration_id,
                           const char *const *entities, struct hub_sync_page *const *pages,
                           size_t n_pages, struct hub_error *err);

/* The same lock for one record (the export, when it records the id a push returned). */
int  hub_sync_lock_one(struct hub_db *db, int64_t integration_id, const char *entity,
                       const char *external_id, struct hub_error *err);

/*
 * Apply `page` of `entity` ("customer", "product", "order") for the integration, inside the
 * caller's transaction. Adds to `counts`; appends one JSON object per failure or conflict to
 * `details` (the elements of a JSON array, comma-separated, without brackets).
 * Returns 0, or HUB_E_DB when the database itself failed (the caller rolls back and retries).
 */
int  hub_sync_apply_page(struct hub_db *db, int64_t integration_id, int64_t organization_id,
                         const char *entity, struct hub_sync_page *page,
                         struct hub_sync_counts *counts, struct hub_buf *details,
                         struct hub_error *err);

/*
 * After a commit that applied `n` records (outside any transaction): the planner's view of
 * integration_mappings is refreshed when it has gone stale. Autovacuum analyzes a table at
 * most once a minute; a new installation or a first import grows the mappings faster, and
 * until then the per-record lookups may be planned for a nearly empty table. Every
 * HUB_SYNC_STATS_EVERY records applied by this process, one statement checks the table's
 * changes since its last ANALYZE and runs one when they exceed a fifth of it (and 1,000
 * rows), under a try-lock so that several hubs do not analyze together. Best effort: a
 * failure is logged at debug level and ignored.
 */
#define HUB_SYNC_STATS_EVERY      2000
#define HUB_SYNC_STATS_LOCK_CLASS "21337"
void hub_sync_stats_tick(struct hub_db *db, size_t n);

#endif
