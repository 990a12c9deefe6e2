/*
 * Schema migrations (DESIGN.md 4): numbered SQL files `NNNN_name.sql` in one folder, applied
 * in order of their number, each once, each in a transaction of its own, tracked in
 *
 *     schema_migrations(version int PRIMARY KEY, name text, checksum text, applied_at timestamptz)
 *
 * with the SHA-256 hex of the file. An applied file whose content changed is refused: a
 * migration, once released, is never edited; write a new one.
 *
 * Several hubs may start at once against one database: each migration transaction first takes
 * a transaction-scoped advisory lock (pg_advisory_xact_lock, HUB_MIGRATE_LOCK_KEY), then checks
 * schema_migrations again, so each file runs exactly once and a hub that waited finds the work
 * done. The lock goes with the transaction, so a hub that dies mid-way releases it.
 *
 * Rules for migration files: plain SQL, several statements allowed, no BEGIN/COMMIT of their
 * own, nothing that cannot run inside a transaction (CREATE INDEX CONCURRENTLY, VACUUM).
 * Names: four digits, '_', [a-z0-9_], ".sql" ("0003_engine.sql"); any other *.sql file in the
 * folder is an error (rather than a migration silently skipped); other files are ignored.
 */
#ifndef HUB_DB_MIGRATE_H
#define HUB_DB_MIGRATE_H

#include <stdint.h>

#include "core/error.h"
#include "db/db.h"

/* Key of the advisory lock every migration transaction takes ("SXHUBMIG"). */
#define HUB_MIGRATE_LOCK_KEY    INT64_C(0x53584855424d4947)
#define HUB_MIGRATE_MAX_FILES   1000
#define HUB_MIGRATE_MAX_FILE    (4 * 1024 * 1024)

/*
 * Apply every migration of `dir` not yet applied to `db`, in order. `*applied` (may be NULL)
 * gets how many were applied by this call (0 when the schema was current). Stops at the first
 * failure: the failed file's transaction is rolled back, earlier ones stay applied.
 * Errors (with the file named in `err`): HUB_E_CONFIG (bad folder or file name, duplicate
 * number, an applied file that changed), HUB_E_IO, HUB_E_LIMIT, HUB_E_DB (the SQL failed).
 * A version recorded in the database but absent from `dir` (a newer hub migrated) is logged
 * as a warning, not an error. `db` must not be inside a transaction.
 */
int hub_migrate(struct hub_db *db, const char *dir, int *applied, struct hub_error *err);

/*
 * The migrations folder: $SX_MIGRATIONS_DIR when set, else the source tree's host/migrations
 * when it exists (development builds), else /usr/local/share/simplix-hub/migrations.
 * Returns a string that lives as long as the process (or the environment variable).
 */
const char *hub_migrations_dir(void);

#endif
