/*
 * Two limiter registries (standing for two hub processes), each with its own PostgreSQL store
 * connection, share one platform account's bucket through rate_limit_buckets: what one takes,
 * the other sees; a 429 penalty reaches both; together they pace at the account's rate, not
 * at twice it (which is what two unshared limiters would do).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "db/migrate.h"
#include "net/ratelimit_pg.h"
#include "testdb.h"

#define ACCOUNT_1 "shopify:shared.myshopify.com"
#define ACCOUNT_2 "shopify:paced.myshopify.com"

static struct hub_rate_registry *reg_a, *reg_b;
static const char               *account = ACCOUNT_1;

static int64_t
wall_ms(void)
{
    return hub_clock_wall()->now_ms(hub_clock_wall()->ctx);
}

static void
configure(struct hub_rate_registry *reg, uint32_t cap, uint32_t rate_milli)
{
    struct hub_rate_policy pol = { HUB_RATE_LEAKY, cap, rate_milli, 16, 0 };
    struct hub_error       err;

    REQUIRE(hub_rate_configure(reg, account, &pol, &err) == 0);
}

static int
take(struct hub_rate_registry *reg, int64_t within_ms)
{
    struct hub_rate_limiter *lim;
    struct hub_error         err;
    int                      rc;

    lim = hub_rate_get(reg, account, &err);
    REQUIRE(lim != NULL);
    rc = hub_rate_acquire(lim, within_ms >= 0 ? wall_ms() + within_ms : 0, NULL, &err);
    if (rc == 0)
        hub_rate_release(lim);
    return rc;
}

static void
test_what_one_takes_the_other_sees(const struct testdb *db)
{
    int i;

    configure(reg_a, 5, 100);               /* 5 burst, 0.1/s: nothing drains during the test */
    configure(reg_b, 5, 100);
    for (i = 0; i < 5; i++)
        CHECK_EQ(0, take(reg_a, 50));
    CHECK_EQ(HUB_E_RATE_LIMITED, take(reg_b, 50));   /* B sees A's five */
    CHECK_EQ(HUB_E_RATE_LIMITED, take(reg_a, 50));
    CHECK_EQ(1, testdb_scalar(db, "SELECT count(*) FROM rate_limit_buckets WHERE account = '"
                              ACCOUNT_1 "' AND level_u >= 4900000"));
}

static void
test_penalty_is_shared(void)
{
    struct hub_error err;

    configure(reg_a, 50, 1000000);          /* a new policy: plenty of room */
    configure(reg_b, 50, 1000000);
    CHECK_EQ(0, take(reg_b, 200));
    hub_rate_penalize(hub_rate_get(reg_a, account, &err), 2000);   /* A got a 429 */
    CHECK_EQ(HUB_E_RATE_LIMITED, take(reg_b, 300));                /* B waits too */
}

struct burst {
    struct hub_rate_registry *reg;
    int                       n;
    int                       failed;
};

static void *
burst_main(void *arg)
{
    struct burst *b = arg;
    int           i;

    for (i = 0; i < b->n; i++) {
        if (take(b->reg, -1) != 0)
            b->failed++;
    }
    return NULL;
}

/* 2 x 20 requests on a bucket of 2 leaking 20/s: at least (40 - 2) / 20 = 1.9 s together.
 * Two unshared limiters would each finish in about 0.9 s. */
static void
test_pacing_is_shared(void)
{
    struct burst    a = { reg_a, 20, 0 }, b = { reg_b, 20, 0 };
    pthread_t       ta, tb;
    struct timespec t0, t1;
    double          elapsed;

    account = ACCOUNT_2;                    /* the other account is still penalized */
    configure(reg_a, 2, 20000);
    configure(reg_b, 2, 20000);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_create(&ta, NULL, burst_main, &a);
    pthread_create(&tb, NULL, burst_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    elapsed = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  40 requests through two registries: %.2f s (shared minimum 1.90 s)\n",
            elapsed);
    CHECK_EQ(0, a.failed + b.failed);
    CHECK(elapsed >= 1.85);
    CHECK(elapsed < 1.90 * 1.25);
}

int
main(void)
{
    struct testdb       db;
    struct hub_db       conn;
    struct hub_error    err;
    struct hub_rate_pg *pa, *pb;
    int                 applied;

    testdb_create(&db, "ratelimit_pg");
    REQUIRE(hub_db_connect(&conn, db.conninfo, &err) == 0);
    REQUIRE(hub_migrate(&conn, hub_migrations_dir(), &applied, &err) == 0);
    REQUIRE(hub_rate_pg_new(db.conninfo, &pa, &err) == 0);
    REQUIRE(hub_rate_pg_new(db.conninfo, &pb, &err) == 0);
    REQUIRE(hub_rate_registry_new(hub_clock_wall(), hub_rate_pg_store(pa), &reg_a, &err) == 0);
    REQUIRE(hub_rate_registry_new(hub_clock_wall(), hub_rate_pg_store(pb), &reg_b, &err) == 0);

    check_current = "test_what_one_takes_the_other_sees";
    test_what_one_takes_the_other_sees(&db);
    RUN_TEST(test_penalty_is_shared);
    RUN_TEST(test_pacing_is_shared);

    hub_rate_registry_free(reg_a);
    hub_rate_registry_free(reg_b);
    hub_rate_pg_free(pa);
    hub_rate_pg_free(pb);
    hub_db_close(&conn);
    testdb_drop(&db);
    return check_report();
}
