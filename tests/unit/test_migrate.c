/*
 * host/db/migrate and host/migrations: a fresh database gets every table, a second run is a
 * no-op, an edited migration is refused, a failing one is rolled back, two hubs migrating at
 * once apply each file once; and the schema itself: the outbox triggers tag the origin of an
 * import's changes, mappings and webhook events are unique where the sync engine relies on it.
 */
#include "check.h"
#include "testdb.h"

#include "core/buf.h"
#include "core/log.h"
#include "db/db.h"
#include "db/migrate.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static struct testdb tdb;
static struct hub_db db;
static char          tmpdir[256];

/* First column of the first row as a long long; -1 on error or no row (error printed). */
static long long
q1(const char *sql)
{
    struct hub_error err;
    PGresult        *res;
    long long        v = -1;

    if (hub_db_query(&db, sql, 0, NULL, &res, &err) < 0) {
        fprintf(stderr, "query failed: %s\n  %s\n", sql, err.msg);
        return -1;
    }
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static int
ex(const char *sql, struct hub_error *err)
{
    return hub_db_exec(&db, sql, err);
}

static int
count_sql_files(const char *dir)
{
    DIR           *d = opendir(dir);
    struct dirent *de;
    int            n = 0;

    if (d == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);

        if (len > 4 && strcmp(de->d_name + len - 4, ".sql") == 0)
            n++;
    }
    closedir(d);
    return n;
}

static void
write_file(const char *name, const char *content)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(content, f);
    fclose(f);
}

static void
remove_file(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    unlink(path);
}

static void
test_dir_lookup(void)
{
    struct stat st;

    setenv("SX_MIGRATIONS_DIR", "/some/where", 1);
    CHECK_STR_EQ("/some/where", hub_migrations_dir());
    unsetenv("SX_MIGRATIONS_DIR");
    /* in the build tree, the source folder */
    CHECK_STR_EQ(SX_SOURCE_DIR "/host/migrations", hub_migrations_dir());
    CHECK(stat(hub_migrations_dir(), &st) == 0 && S_ISDIR(st.st_mode));
}

static void
test_fresh_apply(void)
{
    static const char *const tables[] = {
        "organizations", "users", "companies", "products", "invoices", "invoice_lines",
        "payments", "integrations", "integration_sync_logs", "integration_mappings",
        "integration_webhook_events", "shopify_shops", "woocommerce_stores", "oauth_states",
        "connector_state", "integration_secrets", "outbox", "api_tokens",
        "installed_packages", "package_events", "rate_limit_buckets", "jobs",
        "schema_migrations"
    };
    struct hub_error err;
    const char      *dir = hub_migrations_dir();
    int              applied = -1, nfiles = count_sql_files(dir);
    size_t           i;
    char             sql[256];

    REQUIRE(nfiles >= 4);
    hub_error_clear(&err);
    CHECK_EQ(0, hub_migrate(&db, dir, &applied, &err));
    if (applied != nfiles)
        fprintf(stderr, "  %s\n", err.msg);
    CHECK_EQ(nfiles, applied);
    CHECK_EQ(nfiles, q1("SELECT count(*) FROM schema_migrations"));
    CHECK_EQ(1, q1("SELECT min(version) FROM schema_migrations"));
    CHECK_EQ(0, q1("SELECT count(*) FROM schema_migrations WHERE checksum !~ '^[0-9a-f]{64}$' "
                   "OR applied_at IS NULL OR name NOT LIKE '%.sql'"));
    for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        snprintf(sql, sizeof(sql), "SELECT (to_regclass('public.%s') IS NOT NULL)::int",
                 tables[i]);
        if (q1(sql) != 1)
            CHECK_FAIL_AT(__FILE__, __LINE__, "table %s missing", tables[i]);
        else
            check_passed++;
    }
    /* money is never a float: no real/double column outside the rate limiter */
    CHECK_EQ(0, q1("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                   "'public' AND data_type IN ('real', 'double precision', 'money')"));
    /* every timestamp is timestamptz */
    CHECK_EQ(0, q1("SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                   "'public' AND data_type = 'timestamp without time zone'"));

    /* again: nothing to do */
    applied = -1;
    CHECK_EQ(0, hub_migrate(&db, dir, &applied, &err));
    CHECK_EQ(0, applied);
    CHECK_EQ(nfiles, q1("SELECT count(*) FROM schema_migrations"));
    /* NULL dir means hub_migrations_dir() */
    CHECK_EQ(0, hub_migrate(&db, NULL, &applied, &err));
    CHECK_EQ(0, applied);
}

static void
test_checksum_and_failures(void)
{
    struct testdb    t2;
    struct hub_db    saved = db;
    struct hub_error err;
    int              applied = -1;

    snprintf(tmpdir, sizeof(tmpdir), "%s/sx_test_migrate_%ld",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp", (long)getpid());
    REQUIRE(mkdir(tmpdir, 0700) == 0);
    testdb_create(&t2, "migrate_synth");
    REQUIRE(hub_db_connect(&db, t2.conninfo, &err) == 0);

    write_file("0001_first.sql", "CREATE TABLE t1 (x int);\nINSERT INTO t1 VALUES (1);\n");
    write_file("0002_second.sql", "CREATE TABLE t2 (x int);");
    write_file("README.md", "not a migration");
    CHECK_EQ(0, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_EQ(2, applied);
    CHECK_EQ(1, q1("SELECT count(*) FROM t1"));

    /* an applied file was edited: refused, naming the file, nothing else applied */
    write_file("0001_first.sql", "CREATE TABLE t1 (x int, y int);\n");
    write_file("0003_third.sql", "CREATE TABLE t3 (x int);");
    CHECK_EQ(HUB_E_CONFIG, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_EQ(0, applied);
    CHECK_STR_HAS(err.msg, "0001_first.sql");
    CHECK_STR_HAS(err.msg, "changed after it was applied");
    CHECK_EQ(0, q1("SELECT (to_regclass('t3') IS NOT NULL)::int"));
    write_file("0001_first.sql", "CREATE TABLE t1 (x int);\nINSERT INTO t1 VALUES (1);\n");
    CHECK_EQ(0, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_EQ(1, applied);

    /* a failing migration is rolled back whole and reported; earlier ones stay */
    write_file("0004_broken.sql", "CREATE TABLE t4 (x int);\nSELECT 1/0;\n");
    write_file("0005_after.sql", "CREATE TABLE t5 (x int);");
    CHECK_EQ(HUB_E_DB, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_EQ(0, applied);
    CHECK_STR_HAS(err.msg, "0004_broken.sql");
    CHECK_STR_HAS(err.msg, "division by zero");
    CHECK_EQ(0, q1("SELECT (to_regclass('t4') IS NOT NULL)::int"));
    CHECK_EQ(0, q1("SELECT (to_regclass('t5') IS NOT NULL)::int"));
    CHECK_EQ(3, q1("SELECT count(*) FROM schema_migrations"));
    CHECK_EQ(PQTRANS_IDLE, PQtransactionStatus(db.conn));
    write_file("0004_broken.sql", "CREATE TABLE t4 (x int);\n");
    /* gaps in the numbering are fine */
    remove_file("0005_after.sql");
    write_file("0010_later.sql", "CREATE TABLE t10 (x int);");
    CHECK_EQ(0, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_EQ(2, applied);
    CHECK_EQ(10, q1("SELECT max(version) FROM schema_migrations"));

    /* bad names and duplicates are configuration errors, before anything runs */
    write_file("11_short.sql", "SELECT 1;");
    CHECK_EQ(HUB_E_CONFIG, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_STR_HAS(err.msg, "11_short.sql");
    remove_file("11_short.sql");
    write_file("0011_Bad-Name.sql", "SELECT 1;");
    CHECK_EQ(HUB_E_CONFIG, hub_migrate(&db, tmpdir, &applied, &err));
    remove_file("0011_Bad-Name.sql");
    write_file("0002_again.sql", "SELECT 1;");
    CHECK_EQ(HUB_E_CONFIG, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_STR_HAS(err.msg, "same number");
    remove_file("0002_again.sql");
    CHECK_EQ(HUB_E_CONFIG, hub_migrate(&db, "/nonexistent/migrations", &applied, &err));
    CHECK_STR_HAS(err.msg, "/nonexistent/migrations");

    /* a version the database has but this hub does not ship: a warning, not an error */
    remove_file("0010_later.sql");
    CHECK_EQ(0, hub_migrate(&db, tmpdir, &applied, &err));
    CHECK_EQ(0, applied);

    /* refused inside a caller's transaction */
    REQUIRE(hub_db_begin(&db, &err) == 0);
    CHECK_EQ(HUB_E_INVALID, hub_migrate(&db, tmpdir, &applied, &err));
    hub_db_rollback(&db);

    remove_file("0001_first.sql");
    remove_file("0002_second.sql");
    remove_file("0003_third.sql");
    remove_file("0004_broken.sql");
    remove_file("README.md");
    rmdir(tmpdir);
    hub_db_close(&db);
    db = saved;
    testdb_drop(&t2);
}

struct racer {
    const char      *conninfo;
    int              rc;
    int              applied;
    struct hub_error err;
};

static void *
race(void *arg)
{
    struct racer *r = arg;
    struct hub_db conn;

    r->rc = hub_db_connect(&conn, r->conninfo, &r->err);
    if (r->rc == 0) {
        r->rc = hub_migrate(&conn, hub_migrations_dir(), &r->applied, &r->err);
        hub_db_close(&conn);
    }
    return NULL;
}

static void
test_two_hubs_at_once(void)
{
    struct testdb t3;
    struct racer  r[4];
    pthread_t     th[4];
    int           i, total = 0, nfiles = count_sql_files(hub_migrations_dir());

    testdb_create(&t3, "migrate_race");
    for (i = 0; i < 4; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        r[i].conninfo = t3.conninfo;
        REQUIRE(pthread_create(&th[i], NULL, race, &r[i]) == 0);
    }
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (r[i].rc != 0)
            fprintf(stderr, "  hub %d: %s\n", i, r[i].err.msg);
        CHECK_EQ(0, r[i].rc);
        total += r[i].applied;
    }
    /* each file applied exactly once, whoever did it */
    CHECK_EQ(nfiles, total);
    CHECK_EQ(nfiles, testdb_scalar(&t3, "SELECT count(*) FROM schema_migrations"));
    testdb_drop(&t3);
}

static void
test_outbox_origin(void)
{
    struct hub_error err;
    long long        org, integ, company, product;
    char             sql[512];

    REQUIRE(ex("INSERT INTO organizations (name) VALUES ('Acme')", &err) == 0);
    org = q1("SELECT max(id) FROM organizations");
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name, "
             "status, auth_type) VALUES (%lld, 'shopify', 'Shop', 'ACTIVE', 'oauth2_code')", org);
    REQUIRE(ex(sql, &err) == 0);
    integ = q1("SELECT max(id) FROM integrations");
    REQUIRE(ex("DELETE FROM outbox", &err) == 0);

    /* a change made in Simplix: no origin */
    snprintf(sql, sizeof(sql), "INSERT INTO companies (organization_id, name, email) VALUES "
             "(%lld, 'Jane Ltd', 'jane@example.com')", org);
    CHECK_EQ(0, ex(sql, &err));
    company = q1("SELECT max(id) FROM companies");
    CHECK_EQ(1, q1("SELECT count(*) FROM outbox"));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE entity = 'customer' AND "
             "op = 'upsert' AND origin_integration_id IS NULL AND internal_id = %lld AND "
             "organization_id = %lld AND payload->>'email' = 'jane@example.com'", company, org);
    CHECK_EQ(1, q1(sql));

    /* an import of integration `integ`: tagged with it */
    CHECK_EQ(0, ex("BEGIN", &err));
    snprintf(sql, sizeof(sql), "SELECT set_config('simplix.origin_integration', '%lld', true)",
             integ);
    CHECK_EQ(0, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO products (organization_id, name, sku, price_minor, "
             "currency, stock, origin_integration_id, external_data) VALUES (%lld, 'Mug', "
             "'MUG-1', 1250, 'EUR', 3, %lld, '{\"big\": \"platform record\"}')", org, integ);
    CHECK_EQ(0, ex(sql, &err));
    product = q1("SELECT max(id) FROM products");
    snprintf(sql, sizeof(sql), "UPDATE companies SET phone = '+1 555' WHERE id = %lld", company);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(0, ex("COMMIT", &err));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE origin_integration_id = %lld",
             integ);
    CHECK_EQ(2, q1(sql));
    /* An import's own change carries no payload (0013): only its identity and origin. */
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE entity = 'product' AND "
             "internal_id = %lld AND op = 'upsert' AND payload IS NULL", product);
    CHECK_EQ(1, q1(sql));

    /* SET LOCAL ended with the transaction: the next change is untagged again */
    snprintf(sql, sizeof(sql), "UPDATE products SET stock = 2 WHERE id = %lld", product);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(1, q1("SELECT count(*) FROM outbox WHERE entity = 'product' AND "
                   "origin_integration_id IS NULL"));

    /* an UPDATE that changes nothing is not a change (and does not touch updated_at) */
    snprintf(sql, sizeof(sql), "SELECT extract(epoch FROM updated_at) * 1000000 FROM products "
             "WHERE id = %lld", product);
    {
        long long before = q1(sql), n = q1("SELECT count(*) FROM outbox");
        char      upd[256];

        snprintf(upd, sizeof(upd), "UPDATE products SET stock = 2 WHERE id = %lld", product);
        CHECK_EQ(0, ex(upd, &err));
        CHECK_EQ(n, q1("SELECT count(*) FROM outbox"));
        CHECK_EQ(before, q1(sql));
        /* a real change bumps updated_at */
        snprintf(upd, sizeof(upd), "UPDATE products SET stock = 1 WHERE id = %lld", product);
        CHECK_EQ(0, ex(upd, &err));
        CHECK(q1(sql) > before);
    }

    /* delete */
    snprintf(sql, sizeof(sql), "DELETE FROM companies WHERE id = %lld", company);
    CHECK_EQ(0, ex(sql, &err));
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM outbox WHERE op = 'delete' AND "
             "entity = 'customer' AND internal_id = %lld", company);
    CHECK_EQ(1, q1(sql));

    /* a malformed tag fails the statement instead of mis-tagging */
    CHECK_EQ(0, ex("BEGIN", &err));
    CHECK_EQ(0, ex("SELECT set_config('simplix.origin_integration', 'abc', true)", &err));
    snprintf(sql, sizeof(sql), "INSERT INTO companies (organization_id, name) VALUES "
             "(%lld, 'X')", org);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));
    CHECK_STR_HAS(err.msg, "22P02");
    hub_db_rollback(&db);

    /* the export worker is woken by NOTIFY simplix_outbox with the organization id */
    {
        PGnotify *note;
        char      want[32];

        CHECK_EQ(0, ex("LISTEN simplix_outbox", &err));
        snprintf(sql, sizeof(sql), "INSERT INTO companies (organization_id, name) VALUES "
                 "(%lld, 'Notified')", org);
        CHECK_EQ(0, ex(sql, &err));
        CHECK_EQ(1, PQconsumeInput(db.conn));
        note = PQnotifies(db.conn);
        CHECK(note != NULL);
        if (note != NULL) {
            snprintf(want, sizeof(want), "%lld", org);
            CHECK_STR_EQ("simplix_outbox", note->relname);
            CHECK_STR_EQ(want, note->extra);
            PQfreemem(note);
        }
        CHECK_EQ(0, ex("UNLISTEN simplix_outbox", &err));
    }

    /* invoices are not exported through the outbox */
    snprintf(sql, sizeof(sql), "INSERT INTO invoices (organization_id, currency, total_minor) "
             "VALUES (%lld, 'EUR', 100)", org);
    {
        long long n = q1("SELECT count(*) FROM outbox");

        CHECK_EQ(0, ex(sql, &err));
        CHECK_EQ(n, q1("SELECT count(*) FROM outbox"));
    }
}

static void
test_unique_constraints(void)
{
    struct hub_error err;
    long long        org, a, b;
    char             sql[512];
    PGresult        *res;

    org = q1("SELECT min(id) FROM organizations");
    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "VALUES (%lld, 'woocommerce', 'A'), (%lld, 'woocommerce', 'B')", org, org);
    REQUIRE(ex(sql, &err) == 0);
    b = q1("SELECT max(id) FROM integrations");
    a = b - 1;

    /* mappings: one external record <-> one internal row, per integration and entity */
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id, content_hash) VALUES (%lld, 'product', 10, 'ext-1', "
             "'h')", a);
    CHECK_EQ(0, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id) VALUES (%lld, 'product', 11, 'ext-1')", a);
    CHECK_EQ(HUB_E_CONFLICT, ex(sql, &err));
    CHECK_STR_HAS(err.msg, "integration_mappings_external");
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id) VALUES (%lld, 'product', 10, 'ext-2')", a);
    CHECK_EQ(HUB_E_CONFLICT, ex(sql, &err));
    CHECK_STR_HAS(err.msg, "integration_mappings_internal");
    /* same ids under another entity or another integration are different records */
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id) VALUES (%lld, 'customer', 10, 'ext-1'), "
             "(%lld, 'product', 10, 'ext-1')", a, b);
    CHECK_EQ(0, ex(sql, &err));
    /* the upsert the sync engine uses */
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id, content_hash) VALUES (%lld, 'product', 10, 'ext-1', "
             "'h2') ON CONFLICT (integration_id, entity, external_id) DO UPDATE SET "
             "content_hash = EXCLUDED.content_hash", a);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(1, q1("SELECT count(*) FROM integration_mappings WHERE content_hash = 'h2'"));

    /* webhook events: one row per (integration, delivery id) */
    snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
             "platform, topic, delivery_id, body, source_ip) VALUES (%lld, 'woocommerce', "
             "'product.updated', 'd-1', '\\x7b7d', '127.0.0.1')", a);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(HUB_E_CONFLICT, ex(sql, &err));
    CHECK_STR_HAS(err.msg, "23505");
    snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
             "platform, delivery_id, body) VALUES (%lld, 'woocommerce', 'd-1', '\\x00') "
             "ON CONFLICT (integration_id, delivery_id) DO NOTHING RETURNING id", a);
    CHECK_EQ(0, hub_db_query(&db, sql, 0, NULL, &res, &err));
    CHECK_EQ(0, PQntuples(res));
    PQclear(res);
    snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
             "platform, delivery_id, body) VALUES (%lld, 'woocommerce', 'd-1', '\\x00')", b);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(2, q1("SELECT count(*) FROM integration_webhook_events WHERE status = 'PENDING' "
                   "AND attempts = 0 AND next_attempt_at <= now()"));
    /* a delivery id is required (the receiver substitutes the body's hash) */
    snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
             "platform, body) VALUES (%lld, 'x', '\\x00')", a);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));
    snprintf(sql, sizeof(sql), "UPDATE integration_webhook_events SET status = 'DONE' "
             "WHERE integration_id = %lld", a);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));
    CHECK_STR_HAS(err.msg, "23514");

    /* one shop per integration, one integration per shop */
    snprintf(sql, sizeof(sql), "INSERT INTO shopify_shops (integration_id, shop_domain, "
             "access_token) VALUES (%lld, 'a.myshopify.com', '\\x01')", a);
    CHECK_EQ(0, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO shopify_shops (integration_id, shop_domain) "
             "VALUES (%lld, 'a.myshopify.com')", b);
    CHECK_EQ(HUB_E_CONFLICT, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO shopify_shops (integration_id, shop_domain) "
             "VALUES (%lld, 'A.myshopify.com')", b);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));                       /* lowercase only */
}

static void
test_engine_tables(void)
{
    struct hub_error err;
    long long        org, integ;
    char             sql[512];

    org = q1("SELECT min(id) FROM organizations");
    integ = q1("SELECT min(id) FROM integrations");

    /* api tokens: hashed, 32 bytes, unique; operator tokens and only they are org-less */
    snprintf(sql, sizeof(sql), "INSERT INTO api_tokens (organization_id, name, role, "
             "token_hash, prefix) VALUES (%lld, 'ci', 'admin', sha256('tok1'), 'sxh_ab')", org);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(HUB_E_CONFLICT, ex(sql, &err));
    CHECK_EQ(0, ex("INSERT INTO api_tokens (organization_id, name, role, token_hash, prefix) "
                   "VALUES (NULL, 'root', 'operator', sha256('tok2'), 'sxh_cd')", &err));
    CHECK_EQ(HUB_E_DB, ex("INSERT INTO api_tokens (organization_id, name, role, token_hash, "
                          "prefix) VALUES (NULL, 'x', 'admin', sha256('tok3'), 'sxh_ef')", &err));
    CHECK_STR_HAS(err.msg, "api_tokens_operator_scope");
    CHECK_EQ(HUB_E_DB, ex("INSERT INTO api_tokens (organization_id, name, role, token_hash, "
                          "prefix) VALUES (NULL, 'x', 'operator', '\\x00', 'p')", &err));

    /* oauth states hold a SHA-256 hex, never the raw nonce */
    snprintf(sql, sizeof(sql), "INSERT INTO oauth_states (state, integration_id, "
             "organization_id, redirect_uri, expires_at) VALUES (encode(sha256('nonce'), "
             "'hex'), %lld, %lld, 'https://hub/oauth/callback', now() + interval '10 min')",
             integ, org);
    CHECK_EQ(0, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO oauth_states (state, integration_id, "
             "organization_id, redirect_uri, expires_at) VALUES ('raw-nonce', %lld, %lld, "
             "'https://hub/cb', now() + interval '10 min')", integ, org);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));
    /* single use: the consuming UPDATE matches once */
    CHECK_EQ(1, q1("WITH u AS (UPDATE oauth_states SET used_at = now() WHERE state = "
                   "encode(sha256('nonce'), 'hex') AND used_at IS NULL AND expires_at > now() "
                   "RETURNING 1) SELECT count(*) FROM u"));
    CHECK_EQ(0, q1("WITH u AS (UPDATE oauth_states SET used_at = now() WHERE state = "
                   "encode(sha256('nonce'), 'hex') AND used_at IS NULL AND expires_at > now() "
                   "RETURNING 1) SELECT count(*) FROM u"));

    /* one active package version per connector */
    CHECK_EQ(0, ex("INSERT INTO installed_packages (connector_id, version, publisher, sha256, "
                   "path, status) VALUES ('shopify', '1.0.0', 'simplix', repeat('a', 64), "
                   "'/p/1', 'active'), ('shopify', '1.1.0', 'simplix', repeat('b', 64), "
                   "'/p/2', 'installed')", &err));
    CHECK_EQ(HUB_E_CONFLICT, ex("UPDATE installed_packages SET status = 'active' WHERE "
                                "version = '1.1.0'", &err));

    /* connector state and secrets are per integration, cascade with it */
    snprintf(sql, sizeof(sql), "INSERT INTO connector_state (integration_id, key, value) "
             "VALUES (%lld, 'cursor.product', 'abc')", integ);
    CHECK_EQ(0, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO integration_secrets (integration_id, key, value, "
             "key_id) VALUES (%lld, 'refresh_token', '\\x01', 'k1')", integ);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(HUB_E_CONFLICT, ex(sql, &err));

    /* money columns are integers: a fractional amount is refused, not rounded silently */
    snprintf(sql, sizeof(sql), "INSERT INTO payments (organization_id, amount_minor, currency) "
             "VALUES (%lld, '12.5', 'EUR')", org);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));
    snprintf(sql, sizeof(sql), "INSERT INTO payments (organization_id, amount_minor, currency) "
             "VALUES (%lld, 1250, 'eur')", org);
    CHECK_EQ(HUB_E_DB, ex(sql, &err));

    /* deleting an organization takes its integrations and their rows with it */
    snprintf(sql, sizeof(sql), "DELETE FROM organizations WHERE id = %lld", org);
    CHECK_EQ(0, ex(sql, &err));
    CHECK_EQ(0, q1("SELECT count(*) FROM integrations"));
    CHECK_EQ(0, q1("SELECT count(*) FROM integration_mappings"));
    CHECK_EQ(0, q1("SELECT count(*) FROM connector_state"));
    CHECK_EQ(0, q1("SELECT count(*) FROM api_tokens WHERE organization_id IS NOT NULL"));
}

/* The plan of a statement as one string (caller frees); NULL on error. */
static char *
plan_of(const char *sql)
{
    struct hub_error err;
    struct hub_buf   b;
    PGresult        *res;
    char            *out;
    char             q[2048];

    snprintf(q, sizeof(q), "EXPLAIN %s", sql);
    if (hub_db_query(&db, q, 0, NULL, &res, &err) < 0) {
        fprintf(stderr, "explain failed: %s\n", err.msg);
        return NULL;
    }
    hub_buf_init(&b, 1 << 20);
    for (int i = 0; i < PQntuples(res); i++) {
        hub_buf_puts(&b, PQgetvalue(res, i, 0));
        hub_buf_puts(&b, "\n");
    }
    PQclear(res);
    out = hub_buf_steal(&b, NULL);
    hub_buf_free(&b);
    return out;
}

/* The plan of `sql` names `needle` (printed whole when it does not). */
static void
plan_has(const char *sql, const char *needle)
{
    char *plan = plan_of(sql);

    REQUIRE(plan != NULL);
    CHECK_STR_HAS(plan, needle);
    free(plan);
}

/* An integration with 20,000 mappings per entity (external ids PREFIX-n) and 20,000
 * processed webhook events, then `pending` pending ones (delivery ids p-20001...). */
static long long
plans_integration(long long org, const char *name, const char *prefix, const char *entities,
                  int pending)
{
    struct hub_error err;
    char             sql[1024];
    long long        integ;

    snprintf(sql, sizeof(sql), "INSERT INTO integrations (organization_id, platform, name) "
             "VALUES (%lld, 'shopify', '%s') RETURNING id", org, name);
    integ = q1(sql);
    REQUIRE(integ > 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integration_mappings (integration_id, entity, "
             "internal_id, external_id) SELECT %lld, e, g, '%s-' || g FROM generate_series(1, "
             "20000) g, unnest(ARRAY[%s]) e", integ, prefix, entities);
    REQUIRE(ex(sql, &err) == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO integration_webhook_events (integration_id, "
             "platform, delivery_id, body, status) SELECT %lld, 'shopify', '%s' || g, "
             "'\\x7b7d', CASE WHEN g <= 20000 THEN 'PROCESSED' ELSE 'PENDING' END "
             "FROM generate_series(1, %d) g", integ, pending > 0 ? "p-" : "o-",
             20000 + pending);
    REQUIRE(ex(sql, &err) == 0);
    return integ;
}

/*
 * The lookups that run for every record and every delivery keep their index when the
 * statistics are stale, as they are right after a new integration's first records: the
 * table's statistics were gathered before any of them, so the planner believes the
 * integration has about one mapping. With the old reverse constraint (integration_id, entity,
 * internal_id) it walked all of them for each probe; with the old (status, next_attempt_at)
 * index the webhook claim sorted or walked the whole table.
 */
static void
test_lookup_plans(void)
{
    struct hub_error err;
    char             sql[1024], *plan;
    long long        org, integ;

    REQUIRE(ex("ALTER TABLE integration_mappings SET (autovacuum_enabled = false)", &err) == 0);
    REQUIRE(ex("ALTER TABLE integration_webhook_events SET (autovacuum_enabled = false)",
               &err) == 0);
    org = q1("INSERT INTO organizations (name) VALUES ('Plans') RETURNING id");
    /* an integration that has been running: its mappings and events are in the statistics */
    integ = plans_integration(org, "Older", "o", "'customer', 'product'", 0);
    REQUIRE(ex("ANALYZE integration_mappings", &err) == 0);
    REQUIRE(ex("ANALYZE integration_webhook_events", &err) == 0);
    /* a new one, whose first records arrive before the statistics count them */
    integ = plans_integration(org, "Plans", "c", "'customer'", 100);

    /* the engine's probe by platform id (apply.c: classify) */
    snprintf(sql, sizeof(sql), "SELECT d.ord, m.internal_id FROM jsonb_array_elements_text("
             "'[\"c-5\",\"c-6\"]'::jsonb) WITH ORDINALITY d(ext, ord) LEFT JOIN LATERAL "
             "(SELECT x.internal_id FROM integration_mappings x WHERE x.integration_id = %lld "
             "AND x.entity = 'customer' AND x.external_id = d.ext LIMIT 1) m ON true", integ);
    plan = plan_of(sql);
    REQUIRE(plan != NULL);
    CHECK_STR_HAS(plan, "integration_mappings_external");
    CHECK(strstr(plan, "Filter: (external_id") == NULL);    /* a seek, not a walk */
    if (strstr(plan, "Filter: (external_id") != NULL)
        fprintf(stderr, "%s", plan);
    free(plan);

    /* the first pending event of an integration (webhook_process.c: the claim's start) */
    snprintf(sql, sizeof(sql), "SELECT min(id) FROM integration_webhook_events WHERE "
             "integration_id = %lld AND status = 'PENDING'", integ);
    plan_has(sql, "integration_webhook_events_pending");
    CHECK_EQ(q1("SELECT id FROM integration_webhook_events WHERE delivery_id = 'p-20001'"),
             q1(sql));
    /* The engine's page statements (apply.c) reach rows by id and check the organization
     * as "organization_id + 0": a new organization's thousands of rows, not yet in the
     * statistics, are not walked for each page. */
    REQUIRE(ex("ALTER TABLE companies SET (autovacuum_enabled = false)", &err) == 0);
    REQUIRE(ex("ALTER TABLE products SET (autovacuum_enabled = false)", &err) == 0);
    REQUIRE(ex("ANALYZE companies", &err) == 0);
    REQUIRE(ex("ANALYZE products", &err) == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO companies (organization_id, name) SELECT %lld, "
             "'c' || g FROM generate_series(1, 20000) g", org);
    REQUIRE(ex(sql, &err) == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO products (organization_id, name, price_minor, "
             "currency) SELECT %lld, 'p' || g, 100, 'USD' FROM generate_series(1, 5000) g", org);
    REQUIRE(ex(sql, &err) == 0);
    snprintf(sql, sizeof(sql), "INSERT INTO products (organization_id, parent_id, name, "
             "price_minor, currency) SELECT %lld, p.id, 'v', 100, 'USD' FROM products p, "
             "generate_series(1, 3) WHERE p.organization_id = %lld AND p.parent_id IS NULL",
             org, org);
    REQUIRE(ex(sql, &err) == 0);
    snprintf(sql, sizeof(sql), "UPDATE companies c SET name = 'x' FROM (SELECT (e)::bigint "
             "AS i FROM jsonb_array_elements_text('[1,2,3]'::jsonb) e) x WHERE c.id = x.i AND "
             "c.organization_id + 0 = %lld", org);
    plan_has(sql, "Index Scan using companies_pkey");
    snprintf(sql, sizeof(sql), "UPDATE products p SET status = 'archived' WHERE p.parent_id = "
             "ANY (ARRAY(SELECT (e)::bigint FROM jsonb_array_elements_text('[1,2]'::jsonb) e)) "
             "AND p.organization_id + 0 = %lld AND p.status <> 'archived'", org);
    plan_has(sql, "Index Cond: (parent_id = ANY");
    REQUIRE(ex("ALTER TABLE companies RESET (autovacuum_enabled)", &err) == 0);
    REQUIRE(ex("ALTER TABLE products RESET (autovacuum_enabled)", &err) == 0);
    REQUIRE(ex("ALTER TABLE integration_mappings RESET (autovacuum_enabled)", &err) == 0);
    REQUIRE(ex("ALTER TABLE integration_webhook_events RESET (autovacuum_enabled)", &err) == 0);
}

/*
 * sx_int without a regular expression (0024) against the regex it replaced (0014), over a
 * table of JSON values: numbers (integral, fractional, exponents, the 18-digit bounds, -0,
 * huge), strings (signs, spaces, other digits, 18 and 19 digits, empty), and every other
 * type; then 20,000 generated values. Not one may differ.
 */
static void
test_sx_int_matches_regex(void)
{
    static const char cases[] =
        "SELECT count(*) FROM (VALUES ('0'), ('7'), ('-7'), ('-0'), ('1.0'), ('1.5'), "
        "('-1.5'), ('1e3'), ('1E+2'), ('0.5e1'), ('1e-2'), ('2.50e2'), ('1e18'), ('-1e18'), "
        "('999999999999999999'), ('-999999999999999999'), ('1000000000000000000'), "
        "('-1000000000000000000'), ('123456789012345678901234567890'), ('1e400'), "
        "('\"12\"'), ('\"-12\"'), ('\"+12\"'), ('\" 12\"'), ('\"12 \"'), ('\"1e3\"'), "
        "('\"\"'), ('\"-\"'), ('\"--1\"'), ('\"-0\"'), ('\"007\"'), ('\"1.0\"'), "
        "('\"0x1F\"'), ('\"\\u0661\\u0662\"'), ('\"12\\n\"'), ('\"999999999999999999\"'), "
        "('\"-999999999999999999\"'), ('\"1000000000000000000\"'), "
        "('\"0000000000000000001\"'), ('\"abc\"'), ('true'), ('false'), ('null'), "
        "('{}'), ('[]'), ('[1]'), ('{\"a\": 1}')) c(t), LATERAL (SELECT t::jsonb AS v) x "
        "WHERE sx_int(v) IS DISTINCT FROM substring(v #>> '{}' FROM '^-?[0-9]{1,18}$')::bigint";

    CHECK_EQ(0, q1(cases));
    CHECK_EQ(0, q1("SELECT count(*) FROM (SELECT sx_int(NULL::jsonb) AS r) x WHERE r IS NOT "
                   "NULL"));
    CHECK_EQ(0, q1("SELECT count(*) FROM (SELECT CASE g % 6 "
                   "  WHEN 0 THEN to_jsonb(((random() - 0.5) * 10 ^ (g % 19))::bigint::numeric "
                   "    / (10 ^ (g % 3))::numeric) "
                   "  WHEN 1 THEN to_jsonb(((random() - 0.5) * 10 ^ (g % 23))::numeric) "
                   "  WHEN 2 THEN to_jsonb(((random() - 0.5) * 10 ^ (g % 19))::bigint::text) "
                   "  WHEN 3 THEN to_jsonb(CASE WHEN g % 5 = 0 THEN '-' ELSE '' END || "
                   "    repeat('9', g % 22)) "
                   "  WHEN 4 THEN ((1 + g % 9)::text || repeat('0', g % 21))::jsonb "
                   "  ELSE to_jsonb(substr(md5(g::text), 1, g % 20)) END AS v "
                   "  FROM generate_series(1, 20000) g) x "
                   "WHERE sx_int(v) IS DISTINCT FROM substring(v #>> '{}' FROM "
                   "'^-?[0-9]{1,18}$')::bigint"));
    /* Still inlined: the plan of an engine-shaped expression has the CASE, not a call. */
    {
        struct hub_error err;
        char            *plan;

        REQUIRE(ex("CREATE TABLE IF NOT EXISTS sx_int_probe (r jsonb)", &err) == 0);
        plan = plan_of("VERBOSE SELECT sx_int(r->'variants'->0->'price_minor'), "
                       "sx_int(r->'total_minor') FROM sx_int_probe");
        REQUIRE(plan != NULL);
        CHECK(strstr(plan, "sx_int(") == NULL);
        CHECK_STR_HAS(plan, "jsonb_typeof");
        free(plan);
    }
}

int
main(void)
{
    struct hub_error err;

    hub_log_set_level(HUB_LOG_WARN);
    testdb_create(&tdb, "migrate");
    if (hub_db_connect(&db, tdb.conninfo, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        testdb_drop(&tdb);
        return 1;
    }
    RUN_TEST(test_dir_lookup);
    RUN_TEST(test_fresh_apply);
    RUN_TEST(test_checksum_and_failures);
    RUN_TEST(test_two_hubs_at_once);
    RUN_TEST(test_outbox_origin);
    RUN_TEST(test_unique_constraints);
    RUN_TEST(test_engine_tables);
    RUN_TEST(test_lookup_plans);
    RUN_TEST(test_sx_int_matches_regex);
    hub_db_close(&db);
    testdb_drop(&tdb);
    return check_report();
}
