/*
 * Rate limiter tests, in virtual time (an injected clock whose sleep advances it) except the
 * concurrency tests, which need real threads blocking on the condition variable.
 */
#include "check.h"

#include "core/error.h"
#include "net/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

/* ---- virtual clock --------------------------------------------------------------------- */

struct vclock {
    _Atomic int64_t now;
};

static int64_t
vclock_now(void *ctx)
{
    return atomic_load(&((struct vclock *)ctx)->now);
}

static void
vclock_sleep(void *ctx, int64_t ms)
{
    if (ms > 0)
        atomic_fetch_add(&((struct vclock *)ctx)->now, ms);
}

static void
vclock_init(struct vclock *vc, struct hub_clock *clock, int64_t start)
{
    atomic_store(&vc->now, start);
    clock->now_ms = vclock_now;
    clock->sleep_ms = vclock_sleep;
    clock->ctx = vc;
}

/* ---- simulated platform bucket (Shopify REST: capacity 40, leaks 2/s) -------------------
 * Written independently of the limiter, in doubles, and reporting its level rounded DOWN:
 * the least favourable reading of "32/40" for a client. */

struct sim_bucket {
    double  capacity;
    double  leak_per_ms;
    double  level;
    int64_t at;
    int     n_ok;
    int     n_429;
};

static void
sim_init(struct sim_bucket *s, double capacity, double leak_per_s, int64_t now)
{
    s->capacity = capacity;
    s->leak_per_ms = leak_per_s / 1000.0;
    s->level = 0;
    s->at = now;
    s->n_ok = 0;
    s->n_429 = 0;
}

/* One request arrives at `now`: 200 (used reported in *used) or 429. */
static int
sim_request(struct sim_bucket *s, int64_t now, uint32_t *used)
{
    s->level -= (double)(now - s->at) * s->leak_per_ms;
    if (s->level < 0)
        s->level = 0;
    s->at = now;
    if (s->level + 1.0 > s->capacity + 1e-9) {
        s->n_429++;
        *used = (uint32_t)s->level;
        return 429;
    }
    s->level += 1.0;
    s->n_ok++;
    *used = (uint32_t)s->level;
    return 200;
}

/* One paced request through the limiter: acquire, 25 ms to the platform, 25 ms back, observe,
 * release. Returns the HTTP status the simulation gave. */
static int
paced_request(struct hub_rate_limiter *lim, struct vclock *vc, struct sim_bucket *sim,
              int64_t *out_arrival)
{
    struct hub_error err;
    uint32_t         used = 0;
    int              status;

    REQUIRE(hub_rate_acquire(lim, 0, NULL, &err) == 0);
    vclock_sleep(vc, 25);
    *out_arrival = vclock_now(vc);
    status = sim_request(sim, *out_arrival, &used);
    vclock_sleep(vc, 25);
    hub_rate_observe(lim, used, (uint32_t)sim->capacity);
    hub_rate_release(lim);
    return status;
}

/* ---- pure state ------------------------------------------------------------------------- */

static void
test_state_math(void)
{
    struct hub_rate_policy p = { HUB_RATE_LEAKY, 40, 2000, 0, 0 };
    struct hub_rate_state  st;
    int                    i;

    hub_rate_state_init(&st, &p, 1000);
    for (i = 0; i < 40; i++)
        CHECK_EQ(0, hub_rate_state_take(&st, 1000));
    CHECK_EQ(40, hub_rate_state_level(&st, 1000));
    CHECK_EQ(500, hub_rate_state_take(&st, 1000));       /* one unit leaks in 500 ms */
    CHECK_EQ(1, hub_rate_state_take(&st, 1499));
    CHECK_EQ(0, hub_rate_state_take(&st, 1500));
    CHECK_EQ(40, hub_rate_state_level(&st, 1500));
    CHECK_EQ(0, hub_rate_state_level(&st, 1500 + 20000)); /* empties, never negative */

    /* headroom keeps requests free below the capacity */
    p.headroom = 5;
    hub_rate_state_init(&st, &p, 0);
    for (i = 0; i < 35; i++)
        CHECK_EQ(0, hub_rate_state_take(&st, 0));
    CHECK_EQ(500, hub_rate_state_take(&st, 0));

    /* a clock going backwards leaks nothing and breaks nothing */
    CHECK(hub_rate_state_take(&st, -100000) > 0);

    /* penalty: blocks even with room, never shortened */
    hub_rate_state_init(&st, &p, 0);
    hub_rate_state_penalize(&st, 0, 2000);
    hub_rate_state_penalize(&st, 0, 500);
    CHECK_EQ(2000, hub_rate_state_take(&st, 0));
    CHECK_EQ(1, hub_rate_state_take(&st, 1999));
    CHECK_EQ(0, hub_rate_state_take(&st, 2000));
    hub_rate_state_penalize(&st, INT64_MAX - 10, INT64_MAX);    /* saturates */
    CHECK_EQ(INT64_MAX, st.blocked_until_ms);
}

static void
test_state_observe(void)
{
    struct hub_rate_policy p = { HUB_RATE_LEAKY, 40, 2000, 0, 0 };
    struct hub_rate_state  st;

    /* raise: the platform counts more than we do (another client used the account) */
    hub_rate_state_init(&st, &p, 0);
    hub_rate_state_observe(&st, 0, 38, 40, 0);
    CHECK_EQ(39, hub_rate_state_level(&st, 0));   /* 38.999: rounding-down margin */
    CHECK_EQ(0, hub_rate_state_take(&st, 0));
    CHECK(hub_rate_state_take(&st, 0) > 0);

    /* lower: down to what the platform says plus our other requests in flight */
    hub_rate_state_init(&st, &p, 0);
    while (hub_rate_state_take(&st, 0) == 0)
        continue;
    hub_rate_state_observe(&st, 0, 10, 40, 3);
    CHECK_EQ(14, hub_rate_state_level(&st, 0));
    hub_rate_state_observe(&st, 0, 0, 40, 0);
    CHECK_EQ(1, hub_rate_state_level(&st, 0));

    /* a bigger bucket (Shopify Plus: 400 @ 20/s) scales the leak */
    hub_rate_state_init(&st, &p, 0);
    hub_rate_state_observe(&st, 0, 1, 400, 0);
    CHECK_EQ(400, st.capacity);
    CHECK_EQ(20000, st.rate_milli);
    /* a token bucket adopts the size, keeps its rate */
    p.kind = HUB_RATE_TOKEN;
    hub_rate_state_init(&st, &p, 0);
    hub_rate_state_observe(&st, 0, 1, 100, 0);
    CHECK_EQ(100, st.capacity);
    CHECK_EQ(2000, st.rate_milli);
    /* limit 0 is ignored */
    hub_rate_state_observe(&st, 0, 5, 0, 0);
    CHECK_EQ(100, st.capacity);
}

/* ---- registry, virtual time ------------------------------------------------------------- */

static void
test_token_bucket(void)
{
    struct vclock             vc;
    struct hub_clock          clock;
    struct hub_rate_registry *reg;
    struct hub_rate_limiter  *lim;
    struct hub_rate_policy    p = { HUB_RATE_TOKEN, 5, 1000, 0, 0 };   /* 5, refill 1/s */
    struct hub_error          err;
    int64_t                   waited;
    int                       i;

    vclock_init(&vc, &clock, 1000000);
    REQUIRE(hub_rate_registry_new(&clock, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "stripe:acct_1", &p, &err) == 0);
    lim = hub_rate_get(reg, "stripe:acct_1", &err);
    REQUIRE(lim != NULL);
    CHECK_STR_EQ("stripe:acct_1", hub_rate_account(lim));

    for (i = 0; i < 5; i++) {
        CHECK_EQ(0, hub_rate_acquire(lim, 0, &waited, &err));
        CHECK_EQ(0, waited);
        hub_rate_release(lim);
    }
    /* empty: a deadline too close fails at once, without waiting */
    CHECK_EQ(HUB_E_RATE_LIMITED, hub_rate_acquire(lim, vclock_now(&vc) + 999, &waited, &err));
    CHECK_EQ(0, waited);
    CHECK_STR_HAS(err.msg, "after the deadline");
    CHECK_EQ(1000000, vclock_now(&vc));
    /* the 6th token comes after 1 s */
    CHECK_EQ(0, hub_rate_acquire(lim, vclock_now(&vc) + 1000, &waited, &err));
    CHECK_EQ(1000, waited);
    hub_rate_release(lim);
    /* 10 s idle refills only up to the capacity */
    vclock_sleep(&vc, 10000);
    for (i = 0; i < 5; i++) {
        CHECK_EQ(0, hub_rate_acquire(lim, 0, &waited, &err));
        CHECK_EQ(0, waited);
        hub_rate_release(lim);
    }
    CHECK_EQ(0, hub_rate_acquire(lim, 0, &waited, &err));
    CHECK_EQ(1000, waited);
    hub_rate_release(lim);

    /* bad input */
    CHECK_EQ(HUB_E_INVALID, hub_rate_configure(reg, "", &p, &err));
    CHECK_EQ(HUB_E_INVALID, hub_rate_configure(reg, "has space", &p, &err));
    p.rate_milli = 0;
    CHECK_EQ(HUB_E_INVALID, hub_rate_configure(reg, "x:y", &p, &err));
    CHECK(hub_rate_get(reg, NULL, &err) == NULL);
    hub_rate_registry_free(reg);
}

static void
test_leaky_backfill(void)
{
    struct vclock             vc;
    struct hub_clock          clock;
    struct hub_rate_registry *reg;
    struct hub_rate_limiter  *lim;
    struct hub_rate_policy    p = { HUB_RATE_LEAKY, 40, 2000, 1, 0 };
    struct sim_bucket         sim;
    struct hub_error          err;
    int64_t                   start, arrival = 0, elapsed, minimum;
    int                       i, n = 400;

    vclock_init(&vc, &clock, 5000000);
    REQUIRE(hub_rate_registry_new(&clock, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "shopify:shop.myshopify.com", &p, &err) == 0);
    lim = hub_rate_get(reg, "shopify:shop.myshopify.com", &err);
    REQUIRE(lim != NULL);
    start = vclock_now(&vc);
    sim_init(&sim, 40, 2.0, start);
    for (i = 0; i < n; i++)
        paced_request(lim, &vc, &sim, &arrival);
    elapsed = arrival - start;
    /* the platform itself cannot take 400 requests faster than the bucket plus the leak */
    minimum = (int64_t)(n - 40) * 1000 / 2;
    fprintf(stderr, "  backfill: %d requests, %d x 200, %d x 429, last arrival %lld ms, "
            "theoretical minimum %lld ms, ratio %.4f\n", n, sim.n_ok, sim.n_429,
            (long long)elapsed, (long long)minimum, (double)elapsed / (double)minimum);
    CHECK_EQ(0, sim.n_429);
    CHECK_EQ(n, sim.n_ok);
    CHECK_GE(elapsed, minimum);
    CHECK_LE(elapsed * 100, minimum * 105);
    hub_rate_registry_free(reg);
}

static void
test_observe_resync(void)
{
    struct vclock             vc;
    struct hub_clock          clock;
    struct hub_rate_registry *reg;
    struct hub_rate_limiter  *lim;
    struct hub_rate_policy    p = { HUB_RATE_LEAKY, 40, 2000, 0, 0 };
    struct hub_rate_state     st;
    struct sim_bucket         sim;
    struct hub_error          err;
    int64_t                   arrival;
    uint32_t                  used;
    int                       i;

    vclock_init(&vc, &clock, 0);
    REQUIRE(hub_rate_registry_new(&clock, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "shopify:busy.myshopify.com", &p, &err) == 0);
    lim = hub_rate_get(reg, "shopify:busy.myshopify.com", &err);
    REQUIRE(lim != NULL);

    /* another client (a previous run, another app install) filled the bucket to 37 */
    sim_init(&sim, 40, 2.0, 0);
    for (i = 0; i < 37; i++)
        sim_request(&sim, 0, &used);
    sim.n_ok = 0;
    CHECK_EQ(200, paced_request(lim, &vc, &sim, &arrival));
    hub_rate_snapshot(lim, &st, NULL);
    CHECK_GE(hub_rate_state_level(&st, vclock_now(&vc)), 37);     /* re-synced upwards */
    for (i = 0; i < 60; i++)
        paced_request(lim, &vc, &sim, &arrival);
    CHECK_EQ(0, sim.n_429);
    CHECK_EQ(61, sim.n_ok);
    /* without observe() the same start would have hit 429s: prove the test can fail */
    {
        struct hub_rate_registry *reg2;
        struct hub_rate_limiter  *lim2;
        int                       n429 = 0;

        REQUIRE(hub_rate_registry_new(&clock, NULL, &reg2, &err) == 0);
        REQUIRE(hub_rate_configure(reg2, "a:b", &p, &err) == 0);
        lim2 = hub_rate_get(reg2, "a:b", &err);
        sim_init(&sim, 40, 2.0, vclock_now(&vc));
        for (i = 0; i < 37; i++)
            sim_request(&sim, vclock_now(&vc), &used);
        for (i = 0; i < 20; i++) {
            REQUIRE(hub_rate_acquire(lim2, 0, NULL, &err) == 0);
            if (sim_request(&sim, vclock_now(&vc), &used) == 429)
                n429++;
            hub_rate_release(lim2);
        }
        CHECK_GE(n429, 10);
        hub_rate_registry_free(reg2);
    }
    hub_rate_registry_free(reg);
}

static void
test_penalize(void)
{
    struct vclock             vc;
    struct hub_clock          clock;
    struct hub_rate_registry *reg;
    struct hub_rate_limiter  *lim;
    struct hub_error          err;
    int64_t                   waited;

    vclock_init(&vc, &clock, 100);
    REQUIRE(hub_rate_registry_new(&clock, NULL, &reg, &err) == 0);
    /* an unconfigured account still honours penalties */
    lim = hub_rate_get(reg, "woocommerce:shop.example", &err);
    REQUIRE(lim != NULL);
    CHECK_EQ(0, hub_rate_acquire(lim, 0, &waited, &err));
    CHECK_EQ(0, waited);
    hub_rate_release(lim);

    hub_rate_penalize(lim, 1500);
    CHECK_EQ(HUB_E_RATE_LIMITED, hub_rate_acquire(lim, vclock_now(&vc) + 1000, &waited, &err));
    CHECK_EQ(100, vclock_now(&vc));
    CHECK_EQ(0, hub_rate_acquire_account(reg, "woocommerce:shop.example", 0, &waited, &err));
    CHECK_EQ(1500, waited);
    hub_rate_release(lim);
    CHECK_EQ(0, hub_rate_acquire(lim, 0, &waited, &err));
    CHECK_EQ(0, waited);
    hub_rate_release(lim);
    hub_rate_registry_free(reg);
}

/* ---- shared store seam: two "processes" share one bucket --------------------------------- */

struct fake_store {
    pthread_mutex_t       mu;
    int                   have;
    struct hub_rate_state st;
    int                   calls;
};

static int
fake_update(void *ctx, const char *account, hub_rate_update_fn fn, void *arg,
            struct hub_rate_state *io_state, int64_t *out_result, struct hub_error *err)
{
    struct fake_store *fs = ctx;

    (void)account;
    (void)err;
    pthread_mutex_lock(&fs->mu);
    if (!fs->have) {
        fs->st = *io_state;
        fs->have = 1;
    }
    *out_result = fn(&fs->st, arg);
    *io_state = fs->st;
    fs->calls++;
    pthread_mutex_unlock(&fs->mu);
    return 0;
}

static void
test_shared_store(void)
{
    struct vclock             vc;
    struct hub_clock          clock;
    struct fake_store         fs;
    struct hub_rate_store     store = { fake_update, &fs };
    struct hub_rate_registry *reg[2];
    struct hub_rate_limiter  *lim[2];
    struct hub_rate_policy    p = { HUB_RATE_LEAKY, 40, 2000, 0, 0 };
    struct sim_bucket         sim;
    struct hub_error          err;
    int64_t                   start, arrival = 0;
    int                       i, n = 200;

    memset(&fs, 0, sizeof(fs));
    pthread_mutex_init(&fs.mu, NULL);
    vclock_init(&vc, &clock, 1700000000000);
    for (i = 0; i < 2; i++) {
        REQUIRE(hub_rate_registry_new(&clock, &store, &reg[i], &err) == 0);
        REQUIRE(hub_rate_configure(reg[i], "shopify:shared.myshopify.com", &p, &err) == 0);
        lim[i] = hub_rate_get(reg[i], "shopify:shared.myshopify.com", &err);
        REQUIRE(lim[i] != NULL);
    }
    start = vclock_now(&vc);
    sim_init(&sim, 40, 2.0, start);
    /* the two processes interleave; neither observes the platform, so only the shared
     * bucket keeps them from overflowing it together */
    for (i = 0; i < n; i++) {
        REQUIRE(hub_rate_acquire(lim[i % 2], 0, NULL, &err) == 0);
        arrival = vclock_now(&vc);
        {
            uint32_t used;

            sim_request(&sim, arrival, &used);
        }
        hub_rate_release(lim[i % 2]);
    }
    CHECK_EQ(0, sim.n_429);
    CHECK_GE(arrival - start, (int64_t)(n - 40) * 500);
    CHECK_LE((arrival - start) * 100, (int64_t)(n - 40) * 500 * 105);
    CHECK_GE(fs.calls, n);
    for (i = 0; i < 2; i++)
        hub_rate_registry_free(reg[i]);
    pthread_mutex_destroy(&fs.mu);
}

/* ---- concurrency cap, real threads ------------------------------------------------------- */

struct conc_ctx {
    struct hub_rate_limiter *lim;
    atomic_int               in_flight;
    atomic_int               max_seen;
    atomic_int               done;
    atomic_int               errors;
};

static void *
conc_worker(void *arg)
{
    struct conc_ctx *c = arg;
    struct hub_error err;
    int              i, cur, max;

    for (i = 0; i < 20; i++) {
        if (hub_rate_acquire(c->lim, 0, NULL, &err) != 0) {
            atomic_fetch_add(&c->errors, 1);
            continue;
        }
        cur = atomic_fetch_add(&c->in_flight, 1) + 1;
        max = atomic_load(&c->max_seen);
        while (cur > max && !atomic_compare_exchange_weak(&c->max_seen, &max, cur))
            continue;
        usleep(1000);
        atomic_fetch_sub(&c->in_flight, 1);
        atomic_fetch_add(&c->done, 1);
        hub_rate_release(c->lim);
    }
    return NULL;
}

struct release_later {
    struct hub_rate_limiter *lim;
    int                      ms;
};

static void *
release_later_fn(void *arg)
{
    struct release_later *r = arg;

    usleep((useconds_t)r->ms * 1000);
    hub_rate_release(r->lim);
    return NULL;
}

static void
test_concurrency_cap(void)
{
    struct hub_rate_registry *reg;
    struct hub_rate_policy    p = { HUB_RATE_NONE, 0, 0, 3, 0 };
    struct hub_error          err;
    struct conc_ctx           c;
    struct release_later      rl;
    pthread_t                 th[12];
    int64_t                   waited, now;
    int                       i;

    REQUIRE(hub_rate_registry_new(NULL, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "square:merchant", &p, &err) == 0);
    memset(&c, 0, sizeof(c));
    c.lim = hub_rate_get(reg, "square:merchant", &err);
    REQUIRE(c.lim != NULL);
    for (i = 0; i < 12; i++)
        REQUIRE(pthread_create(&th[i], NULL, conc_worker, &c) == 0);
    for (i = 0; i < 12; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(240, atomic_load(&c.done));
    CHECK_EQ(0, atomic_load(&c.errors));
    CHECK_EQ(3, atomic_load(&c.max_seen));

    /* all slots held: a waiter with a deadline gives up at the deadline */
    for (i = 0; i < 3; i++)
        REQUIRE(hub_rate_acquire(c.lim, 0, NULL, &err) == 0);
    now = hub_clock_system()->now_ms(NULL);
    CHECK_EQ(HUB_E_RATE_LIMITED, hub_rate_acquire(c.lim, now + 60, &waited, &err));
    CHECK_GE(waited, 59);
    CHECK_LE(waited, 500);
    CHECK_STR_HAS(err.msg, "in flight");
    /* a release from another thread wakes the waiter (condition variable, not polling) */
    rl.lim = c.lim;
    rl.ms = 50;
    REQUIRE(pthread_create(&th[0], NULL, release_later_fn, &rl) == 0);
    now = hub_clock_system()->now_ms(NULL);
    CHECK_EQ(0, hub_rate_acquire(c.lim, now + 5000, &waited, &err));
    CHECK_GE(waited, 45);
    CHECK_LE(waited, 1000);
    pthread_join(th[0], NULL);
    for (i = 0; i < 3; i++)
        hub_rate_release(c.lim);
    hub_rate_registry_free(reg);
}

/* The same cap on a virtual clock: slot waits block on the condition variable too. */
static void
test_concurrency_cap_virtual(void)
{
    struct vclock             vc;
    struct hub_clock          clock;
    struct hub_rate_registry *reg;
    struct hub_rate_policy    p = { HUB_RATE_TOKEN, 1000, 1000000, 2, 0 };
    struct hub_error          err;
    struct conc_ctx           c;
    pthread_t                 th[6];
    int                       i;

    vclock_init(&vc, &clock, 0);
    REQUIRE(hub_rate_registry_new(&clock, NULL, &reg, &err) == 0);
    REQUIRE(hub_rate_configure(reg, "paypal:merchant", &p, &err) == 0);
    memset(&c, 0, sizeof(c));
    c.lim = hub_rate_get(reg, "paypal:merchant", &err);
    REQUIRE(c.lim != NULL);
    for (i = 0; i < 6; i++)
        REQUIRE(pthread_create(&th[i], NULL, conc_worker, &c) == 0);
    for (i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ(120, atomic_load(&c.done));
    CHECK_EQ(2, atomic_load(&c.max_seen));
    hub_rate_registry_free(reg);
}

int
main(void)
{
    RUN_TEST(test_state_math);
    RUN_TEST(test_state_observe);
    RUN_TEST(test_token_bucket);
    RUN_TEST(test_leaky_backfill);
    RUN_TEST(test_observe_resync);
    RUN_TEST(test_penalize);
    RUN_TEST(test_shared_store);
    RUN_TEST(test_concurrency_cap);
    RUN_TEST(test_concurrency_cap_virtual);
    return check_report();
}
