/*
 * bench_apply: how fast the engine writes imported records (Simplix rows + mappings committed),
 * against the seed's per-record algorithm (per record: one SELECT of the mapping, one INSERT of
 * the row, one INSERT of the mapping, each committed on its own), in the same run, on the same
 * database. Prints records per second for both and the ratio. Figures, not assertions.
 *
 *   bench_apply [--records N] [--entity customer|product|order] [--baseline N]
 *
 * The database: a private one created from TEST_DATABASE_URL (as the tests do) and dropped.
 * The engine side goes through hub_sync_apply_page() in pages of 250, one transaction per page
 * with the cursor update a real run makes; the records are canonical JSON as a connector emits.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "check.h"
#include "db/migrate.h"
#include "sync/apply.h"
#include "testdb.h"

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
make_record(const char *entity, int i, char *out, size_t cap)
{
    if (strcmp(entity, "customer") == 0)
        return snprintf(out, cap,
                        "{\"external_id\":\"%d\",\"updated_at\":\"2024-03-01T10:%02d:%02dZ\","
                        "\"email\":\"customer%d@example.com\",\"first_name\":\"Ada\","
                        "\"last_name\":\"Lovelace %d\",\"phone\":\"+14155550%03d\","
                        "\"currency\":\"EUR\",\"tags\":[\"vip\",\"b2b\"],\"addresses\":[{\"kind\":"
                        "\"billing\",\"line1\":\"%d Main St\",\"city\":\"Lyon\",\"postal_code\":"
                        "\"69001\",\"country_code\":\"FR\"}],\"raw\":{\"id\":%d,\"note\":"
                        "\"imported by the benchmark\"}}",
                        i, (i / 60) % 60, i % 60, i, i, i % 1000, i, i);
    if (strcmp(entity, "product") == 0)
        return snprintf(out, cap,
                        "{\"external_id\":\"%d\",\"updated_at\":\"2024-03-01T10:00:00Z\","
                        "\"title\":\"Product %d\",\"vendor\":\"Acme\",\"status\":\"active\","
                        "\"currency\":\"EUR\",\"variants\":[{\"external_id\":\"%d1\",\"sku\":"
                        "\"SKU-%d-S\",\"title\":\"S\",\"price_minor\":1999,\"stock\":7,\"position\":1},"
                        "{\"external_id\":\"%d2\",\"sku\":\"SKU-%d-M\",\"title\":\"M\","
                        "\"price_minor\":2199,\"stock\":3,\"position\":2}],\"raw\":{\"id\":%d}}",
                        i, i, i, i, i, i, i);
    return snprintf(out, cap,
                    "{\"external_id\":\"%d\",\"updated_at\":\"2024-03-01T10:00:00Z\","
                    "\"number\":\"#%d\",\"status\":\"open\",\"financial_status\":\"paid\","
                    "\"currency\":\"EUR\",\"customer\":{\"external_id\":\"%d\"},"
                    "\"lines\":[{\"external_id\":\"%d1\",\"title\":\"Product A\",\"quantity\":2,"
                    "\"unit_price_minor\":1999,\"tax_minor\":800,\"taxes\":[{\"title\":\"VAT\","
                    "\"rate_ppm\":200000,\"amount_minor\":800}]},{\"external_id\":\"%d2\","
                    "\"title\":\"Product B\",\"quantity\":1,\"unit_price_minor\":500}],"
                    "\"shipping\":[{\"title\":\"Post\",\"amount_minor\":490}],"
                    "\"subtotal_minor\":4498,\"shipping_minor\":490,\"tax_minor\":800,"
                    "\"total_minor\":5788,\"raw\":{\"id\":%d}}", i, 1000 + i, i % 500, i, i, i);
}

/* The seed's algorithm, per record. Customers only: the shape is what matters. */
static double
baseline(struct hub_db *db, int n, struct hub_error *err)
{
    double t0 = now_s();
    int    i;

    for (i = 0; i < n; i++) {
        char        ext[24], name[64], email[64], id[24];
        const char *p[4];
        PGresult   *res = NULL;

        snprintf(ext, sizeof(ext), "b%d", i);
        snprintf(name, sizeof(name), "Ada Lovelace %d", i);
        snprintf(email, sizeof(email), "seed%d@example.com", i);
        p[0] = ext;
        if (hub_db_query(db, "SELECT internal_id FROM integration_mappings WHERE integration_id "
                         "= 1 AND entity = 'customer' AND external_id = $1", 1, p, &res, err) < 0)
            return -1;
        if (PQntuples(res) == 0) {
            PQclear(res);
            p[0] = name;
            p[1] = email;
            if (hub_db_query(db, "INSERT INTO companies (organization_id, name, email) VALUES "
                             "(1, $1, $2) RETURNING id", 2, p, &res, err) < 0)
                return -1;
            snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
            p[0] = id;
            p[1] = ext;
            if (hub_db_query(db, "INSERT INTO integration_mappings (integration_id, entity, "
                             "internal_id, external_id) VALUES (1, 'customer', $1, $2)", 2, p,
                             NULL, err) < 0)
                return -1;
        } else {
            PQclear(res);
        }
    }
    return now_s() - t0;
}

int
main(int argc, char **argv)
{
    struct testdb          tdb;
    struct hub_db          db;
    struct hub_error       err;
    struct hub_sync_page   page;
    struct hub_sync_counts counts;
    struct hub_buf         details;
    struct rusage          ru;
    const char            *entity = "customer";
    char                   rec[2048];
    int                    n = 100000, nbase = 5000, i, applied, len;
    double                 t0, engine_s, base_s;

    for (i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--records") == 0)
            n = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--entity") == 0)
            entity = argv[i + 1];
        else if (strcmp(argv[i], "--baseline") == 0)
            nbase = atoi(argv[i + 1]);
    }
    if (n < 1 || nbase < 0) {
        fprintf(stderr, "usage: bench_apply [--records N] [--entity customer|product|order] "
                "[--baseline N]\n");
        return 2;
    }
    testdb_create(&tdb, "bench_apply");
    if (hub_db_connect(&db, tdb.conninfo, &err) < 0 ||
        hub_migrate(&db, hub_migrations_dir(), &applied, &err) < 0 ||
        hub_db_exec(&db, "INSERT INTO organizations (name) VALUES ('Bench'); "
                    "INSERT INTO integrations (organization_id, platform, name, status) "
                    "VALUES (1, 'bench', 'Bench', 'ACTIVE'); "
                    "INSERT INTO sync_state (integration_id, entity, direction) VALUES "
                    "(1, 'customer', 'import')", &err) < 0) {
        fprintf(stderr, "bench_apply: %s\n", err.msg);
        testdb_drop(&tdb);
        return 1;
    }

    hub_sync_page_init(&page);
    hub_buf_init(&details, 1 << 20);
    memset(&counts, 0, sizeof(counts));
    t0 = now_s();
    for (i = 0; i < n;) {
        int k;

        hub_sync_page_reset(&page);
        for (k = 0; k < 250 && i < n; k++, i++) {
            len = make_record(entity, i, rec, sizeof(rec));
            if (hub_sync_page_add(&page, rec, (size_t)len, &err) < 0) {
                fprintf(stderr, "bench_apply: %s\n", err.msg);
                return 1;
            }
        }
        if (hub_db_begin(&db, &err) < 0 ||
            hub_sync_apply_page(&db, 1, 1, entity, &page, &counts, &details, &err) < 0 ||
            /* The page's cursor, as the engine writes it (engine.c). */
            hub_db_exec(&db, "UPDATE sync_state SET run_cursor = 'page', updated_at = now() "
                        "WHERE integration_id = 1", &err) < 0 ||
            hub_db_commit(&db, &err) < 0) {
            fprintf(stderr, "bench_apply: %s\n", err.msg);
            return 1;
        }
        hub_buf_reset(&details);
    }
    engine_s = now_s() - t0;
    base_s = nbase > 0 ? baseline(&db, nbase, &err) : 0;
    getrusage(RUSAGE_SELF, &ru);

    printf("bench_apply: %d %s records, pages of 250, synchronous_commit=on\n", n, entity);
    printf("  engine (set-based, one transaction per page): %.2f s, %.0f records/s "
           "(%" PRId64 " created, %" PRId64 " failed)\n", engine_s, n / engine_s,
           counts.created, counts.failed);
    if (nbase > 0 && base_s > 0)
        printf("  seed algorithm (per record: SELECT + INSERT + INSERT, autocommit): %d records "
               "in %.2f s, %.0f records/s\n  ratio: %.1fx\n", nbase, base_s, nbase / base_s,
               (n / engine_s) / (nbase / base_s));
    printf("  max RSS of this process: %ld MB\n", ru.ru_maxrss / 1024);
    hub_sync_page_free(&page);
    hub_buf_free(&details);
    hub_db_close(&db);
    testdb_drop(&tdb);
    return counts.failed == 0 ? 0 : 1;
}
