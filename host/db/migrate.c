#include "db/migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "crypto/crypto.h"

#define MIGRATION_NAME_MAX 128

struct migration {
    int    version;
    char   name[MIGRATION_NAME_MAX];        /* file name, "0003_engine.sql" */
    char   checksum[65];                    /* SHA-256 hex of the content */
    char  *sql;                             /* content, NUL-terminated; owned */
    size_t len;
};

struct migration_set {
    struct migration *items;
    size_t            n;
    size_t            alloc;
};

/* HUB_MIGRATE_LOCK_KEY in decimal. Transaction-scoped, so a hub that dies mid-migration
 * releases it with its connection. */
static const char lock_sql[] = "SELECT pg_advisory_xact_lock(6005629634120337735)";
_Static_assert(HUB_MIGRATE_LOCK_KEY == INT64_C(6005629634120337735), "lock key mismatch");

const char *
hub_migrations_dir(void)
{
    const char *env = getenv("SX_MIGRATIONS_DIR");
    struct stat st;

    if (env != NULL && env[0] != '\0')
        return env;
#ifdef SX_SOURCE_DIR
    if (stat(SX_SOURCE_DIR "/host/migrations", &st) == 0 && S_ISDIR(st.st_mode))
        return SX_SOURCE_DIR "/host/migrations";
#endif
#ifdef SX_MIGRATIONS_INSTALL_DIR
    return SX_MIGRATIONS_INSTALL_DIR;
#else
    return "/usr/local/share/simplix-hub/migrations";
#endif
}

static void
set_free(struct migration_set *set)
{
    size_t i;

    for (i = 0; i < set->n; i++)
        free(set->items[i].sql);
    free(set->items);
    memset(set, 0, sizeof(*set));
}

/*
 * "0003_engine.sql" -> 3. Returns 1 for a migration name, 0 for a file that is not SQL (ignored),
 * -1 for a *.sql file whose name does not follow the rule.
 */
static int
parse_name(const char *name, int *version)
{
    size_t len = strlen(name);
    size_t i;

    if (len < 4 || strcmp(name + len - 4, ".sql") != 0)
        return 0;
    if (len >= MIGRATION_NAME_MAX || len < 10)      /* "0001_x.sql" is the shortest */
        return -1;
    for (i = 0; i < 4; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
    }
    if (name[4] != '_')
        return -1;
    for (i = 5; i < len - 4; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return -1;
    }
    *version = (name[0] - '0') * 1000 + (name[1] - '0') * 100 + (name[2] - '0') * 10 +
               (name[3] - '0');
    return 1;
}

static int
read_file(const char *path, char **out, size_t *out_len, struct hub_error *err)
{
    struct stat st;
    char       *data;
    size_t      len = 0;
    int         fd, rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hub_error_set(err, HUB_E_IO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        rc = hub_error_set(err, HUB_E_CONFIG, "%s: not a regular file", path);
        goto close_fd;
    }
    if (st.st_size > HUB_MIGRATE_MAX_FILE) {
        rc = hub_error_set(err, HUB_E_LIMIT, "%s: larger than %d bytes", path,
                           HUB_MIGRATE_MAX_FILE);
        goto close_fd;
    }
    data = malloc((size_t)st.st_size + 1);
    if (data == NULL) {
        rc = hub_error_set(err, HUB_E_NOMEM, "%s: out of memory", path);
        goto close_fd;
    }
    /* Read what fstat announced; a file that changes under us is caught by the checksum. */
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, data + len, (size_t)st.st_size - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = hub_error_set(err, HUB_E_IO, "%s: %s", path, strerror(errno));
            free(data);
            goto close_fd;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    data[len] = '\0';
    if (memchr(data, '\0', len) != NULL) {
        rc = hub_error_set(err, HUB_E_CONFIG, "%s: contains a NUL byte", path);
        free(data);
        goto close_fd;
    }
    close(fd);
    *out = data;
    *out_len = len;
    return 0;

close_fd:
    close(fd);
    return rc;
}

static int
cmp_version(const void *a, const void *b)
{
    const struct migration *x = a, *y = b;

    return (x->version > y->version) - (x->version < y->version);
}

/* List, read and checksum the folder's migrations, sorted by version. */
static int
load_dir(const char *dir, struct migration_set *set, struct hub_error *err)
{
    DIR           *d;
    struct dirent *de;
    char           path[4096];
    int            rc = 0;
    size_t         i;

    d = opendir(dir);
    if (d == NULL)
        return hub_error_set(err, errno == ENOENT ? HUB_E_CONFIG : HUB_E_IO,
                             "migrations folder %s: %s (set SX_MIGRATIONS_DIR)", dir,
                             strerror(errno));
    for (;;) {
        struct migration *m;
        int               version = 0, kind, n;

        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            if (errno != 0)
                rc = hub_error_set(err, HUB_E_IO, "migrations folder %s: %s", dir,
                                   strerror(errno));
            break;
        }
        kind = parse_name(de->d_name, &version);
        if (kind == 0)
            continue;
        if (kind < 0) {
            rc = hub_error_set(err, HUB_E_CONFIG, "migrations folder %s: '%s' is not named "
                               "NNNN_name.sql (four digits, '_', [a-z0-9_])", dir, de->d_name);
            break;
        }
        if (set->n >= HUB_MIGRATE_MAX_FILES) {
            rc = hub_error_set(err, HUB_E_LIMIT, "migrations folder %s: more than %d files",
                               dir, HUB_MIGRATE_MAX_FILES);
            break;
        }
        if (set->n == set->alloc) {
            size_t            na = set->alloc ? set->alloc * 2 : 16;
            struct migration *items = realloc(set->items, na * sizeof(*items));

            if (items == NULL) {
                rc = hub_error_set(err, HUB_E_NOMEM, "migrations: out of memory");
                break;
            }
            set->items = items;
            set->alloc = na;
        }
        m = &set->items[set->n];
        memset(m, 0, sizeof(*m));
        m->version = version;
        /* parse_name() checked the length fits. */
        memcpy(m->name, de->d_name, strlen(de->d_name) + 1);
        n = snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof(path)) {
            rc = hub_error_set(err, HUB_E_CONFIG, "migrations folder path too long");
            break;
        }
        rc = read_file(path, &m->sql, &m->len, err);
        if (rc < 0)
            break;
        set->n++;
        rc = hub_crypto_sha256_hex(m->sql, m->len, m->checksum);
        if (rc < 0) {
            rc = hub_error_set(err, HUB_E_CRYPTO, "%s: cannot compute its checksum", path);
            break;
        }
    }
    closedir(d);
    if (rc < 0)
        return rc;
    qsort(set->items, set->n, sizeof(set->items[0]), cmp_version);
    for (i = 1; i < set->n; i++) {
        if (set->items[i].version == set->items[i - 1].version)
            return hub_error_set(err, HUB_E_CONFIG, "migrations folder %s: %s and %s have the "
                                 "same number", dir, set->items[i - 1].name,
                                 set->items[i].name);
    }
    return 0;
}

static const struct migration *
set_find(const struct migration_set *set, int version)
{
    struct migration key;

    key.version = version;
    return bsearch(&key, set->items, set->n, sizeof(set->items[0]), cmp_version);
}

static int
checksum_changed(const struct migration *m, const char *recorded, struct hub_error *err)
{
    return hub_error_set(err, HUB_E_CONFIG, "migration %s was changed after it was applied "
                         "(checksum %.12s... in schema_migrations, %.12s... on disk); restore "
                         "the released file and put the change in a new migration",
                         m->name, recorded, m->checksum);
}

/* Begin a transaction holding the migration lock, quietly (no NOTICEs from IF NOT EXISTS). */
static int
begin_locked(struct hub_db *db, struct hub_error *err)
{
    int rc;

    rc = hub_db_begin(db, err);
    if (rc < 0)
        return rc;
    rc = hub_db_exec(db, lock_sql, err);
    if (rc == 0)
        rc = hub_db_exec(db, "SET LOCAL client_min_messages = warning", err);
    if (rc < 0) {
        hub_db_rollback(db);
        return hub_error_prefix(err, "migrations: taking the migration lock");
    }
    return 0;
}

static int
bootstrap(struct hub_db *db, struct hub_error *err)
{
    int rc;

    rc = begin_locked(db, err);
    if (rc < 0)
        return rc;
    rc = hub_db_exec(db,
                     "CREATE TABLE IF NOT EXISTS schema_migrations ("
                     " version    integer     PRIMARY KEY,"
                     " name       text        NOT NULL,"
                     " checksum   text        NOT NULL,"
                     " applied_at timestamptz NOT NULL DEFAULT now())", err);
    if (rc == 0)
        rc = hub_db_commit(db, err);
    if (rc < 0) {
        hub_db_rollback(db);
        return hub_error_prefix(err, "migrations: creating schema_migrations");
    }
    return 0;
}

/* Every applied migration we know must still have its checksum. */
static int
verify_applied(struct hub_db *db, const struct migration_set *set, struct hub_error *err)
{
    PGresult *res;
    int       i, n, rc = 0;

    rc = hub_db_query(db, "SELECT version, name, checksum FROM schema_migrations "
                      "ORDER BY version", 0, NULL, &res, err);
    if (rc < 0)
        return hub_error_prefix(err, "migrations: reading schema_migrations");
    n = PQntuples(res);
    for (i = 0; i < n; i++) {
        const struct migration *m;
        long                    v = strtol(PQgetvalue(res, i, 0), NULL, 10);

        m = set_find(set, (int)v);
        if (m == NULL) {
            hub_log_warn("migrate", "the database has migration %ld (%s), which this hub does "
                         "not ship; a newer hub has migrated it", v, PQgetvalue(res, i, 1));
            continue;
        }
        if (strcmp(m->checksum, PQgetvalue(res, i, 2)) != 0) {
            rc = checksum_changed(m, PQgetvalue(res, i, 2), err);
            break;
        }
    }
    PQclear(res);
    return rc;
}

/* Apply one migration if nobody has; *did = 1 when this call applied it. */
static int
apply_one(struct hub_db *db, const struct migration *m, int *did, struct hub_error *err)
{
    char        version[16];
    const char *params[3];
    PGresult   *res;
    int         rc;

    *did = 0;
    snprintf(version, sizeof(version), "%d", m->version);
    rc = begin_locked(db, err);
    if (rc < 0)
        return rc;
    /* Under the lock: another hub may have applied it while we waited. */
    params[0] = version;
    rc = hub_db_query(db, "SELECT checksum FROM schema_migrations WHERE version = $1", 1,
                      params, &res, err);
    if (rc < 0) {
        hub_error_prefix(err, "migration %s", m->name);
        goto rollback;
    }
    if (PQntuples(res) > 0) {
        if (strcmp(PQgetvalue(res, 0, 0), m->checksum) != 0)
            rc = checksum_changed(m, PQgetvalue(res, 0, 0), err);
        PQclear(res);
        if (rc < 0)
            goto rollback;
        hub_db_rollback(db);
        return 0;
    }
    PQclear(res);

    /* No parameters: PQexec, which runs every statement of the file. */
    rc = hub_db_exec(db, m->sql, err);
    if (rc < 0) {
        rc = HUB_E_DB;
        hub_error_prefix(err, "migration %s failed (rolled back)", m->name);
        if (err != NULL)
            err->code = HUB_E_DB;
        goto rollback;
    }
    params[1] = m->name;
    params[2] = m->checksum;
    rc = hub_db_query(db, "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                      "VALUES ($1, $2, $3, now())", 3, params, NULL, err);
    if (rc == 0)
        rc = hub_db_commit(db, err);
    if (rc < 0) {
        hub_error_prefix(err, "migration %s: recording it", m->name);
        goto rollback;
    }
    *did = 1;
    return 0;

rollback:
    hub_db_rollback(db);
    return rc;
}

int
hub_migrate(struct hub_db *db, const char *dir, int *applied, struct hub_error *err)
{
    struct migration_set set;
    size_t               i;
    int                  n = 0, did, rc;

    memset(&set, 0, sizeof(set));
    if (applied != NULL)
        *applied = 0;
    if (dir == NULL)
        dir = hub_migrations_dir();
    if (db->conn == NULL)
        return hub_error_set(err, HUB_E_DB, "migrations: database connection is closed");
    if (PQtransactionStatus(db->conn) != PQTRANS_IDLE)
        return hub_error_set(err, HUB_E_INVALID, "migrations: the connection is inside a "
                             "transaction");
    rc = load_dir(dir, &set, err);
    if (rc < 0)
        goto out;
    rc = bootstrap(db, err);
    if (rc < 0)
        goto out;
    /* Refuse before touching anything if a released migration was edited. */
    rc = verify_applied(db, &set, err);
    if (rc < 0)
        goto out;
    for (i = 0; i < set.n; i++) {
        rc = apply_one(db, &set.items[i], &did, err);
        if (rc < 0)
            goto out;
        if (did) {
            n++;
            hub_log_info("migrate", "applied %s", set.items[i].name);
        }
    }
out:
    if (applied != NULL)
        *applied = n;
    set_free(&set);
    return rc;
}
