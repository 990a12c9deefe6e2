#include "net/ratelimit.h"

#include "core/clock.h"
#include "core/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REG_BUCKETS      4096     /* hash heads; chains stay short up to the account cap */
#define SLOT_SLICE_MS    10       /* real-time slice when waiting for a slot on a fake clock */

/* ---- clocks ------------------------------------------------------------------------------ */

static int64_t
mono_now(void *ctx)
{
    (void)ctx;
    return hub_clock_ms(CLOCK_MONOTONIC);
}

static int64_t
wall_now(void *ctx)
{
    (void)ctx;
    return hub_clock_ms(CLOCK_REALTIME);
}

static void
real_sleep(void *ctx, int64_t ms)
{
    struct timespec ts;

    (void)ctx;
    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        continue;
}

static const struct hub_clock system_clock = { mono_now, real_sleep, NULL };
static const struct hub_clock wall_clock = { wall_now, real_sleep, NULL };

const struct hub_clock *
hub_clock_system(void)
{
    return &system_clock;
}

const struct hub_clock *
hub_clock_wall(void)
{
    return &wall_clock;
}

/* ---- state (pure) ------------------------------------------------------------------------- */

void
hub_rate_state_init(struct hub_rate_state *st, const struct hub_rate_policy *policy,
                    int64_t now_ms)
{
    memset(st, 0, sizeof(*st));
    st->kind = policy->kind;
    st->capacity = policy->capacity;
    st->rate_milli = policy->rate_milli;
    st->headroom = policy->headroom;
    st->level_u = 0;
    st->level_at_ms = now_ms;
    st->blocked_until_ms = 0;
}

/* Let the bucket leak up to `now_ms`. A clock that went backwards (or another host's clock
 * ahead of ours, with a shared store) leaks nothing rather than filling the bucket. */
static void
state_drain(struct hub_rate_state *st, int64_t now_ms)
{
    int64_t dt;

    if (now_ms <= st->level_at_ms)
        return;
    dt = now_ms - st->level_at_ms;
    st->level_at_ms = now_ms;
    if (st->rate_milli == 0 || st->level_u <= 0) {
        st->level_u = 0;
        return;
    }
    /* rate_milli requests per 1000 s is exactly rate_milli level units per ms */
    if (dt >= st->level_u / (int64_t)st->rate_milli + 1)
        st->level_u = 0;
    else
        st->level_u -= dt * (int64_t)st->rate_milli;
    if (st->level_u < 0)
        st->level_u = 0;
}

/* The highest level at which one more request still fits. */
static int64_t
state_limit_u(const struct hub_rate_state *st)
{
    uint32_t usable;

    usable = st->capacity > st->headroom ? st->capacity - st->headroom : 1;
    return (int64_t)usable * HUB_RATE_UNIT;
}

int64_t
hub_rate_state_take(struct hub_rate_state *st, int64_t now_ms)
{
    int64_t over;

    if (st->blocked_until_ms > now_ms)
        return st->blocked_until_ms - now_ms;
    if (st->kind == HUB_RATE_NONE || st->capacity == 0 || st->rate_milli == 0)
        return 0;
    state_drain(st, now_ms);
    over = st->level_u + HUB_RATE_UNIT - state_limit_u(st);
    if (over <= 0) {
        st->level_u += HUB_RATE_UNIT;
        return 0;
    }
    return (over + st->rate_milli - 1) / st->rate_milli;
}

void
hub_rate_state_observe(struct hub_rate_state *st, int64_t now_ms, uint32_t used,
                       uint32_t limit, uint32_t others_in_flight)
{
    int64_t  used_u, upper_u;
    uint64_t rate;

    if (limit == 0 || st->kind == HUB_RATE_NONE)
        return;
    state_drain(st, now_ms);
    if (limit != st->capacity) {
        /* Shopify scales the leak with the bucket: 40 @ 2/s, 80 @ 4/s, 400 @ 20/s
         * (platforms.md 1.6). A token bucket's report says nothing about its rate. */
        if (st->kind == HUB_RATE_LEAKY && st->capacity > 0) {
            rate = (uint64_t)st->rate_milli * limit / st->capacity;
            if (rate < 1)
                rate = 1;
            if (rate > UINT32_MAX)
                rate = UINT32_MAX;
            st->rate_milli = (uint32_t)rate;
        }
        st->capacity = limit;
    }
    if (used > limit)
        used = limit;
    /* The platform reports whole requests and does not say how it rounds: read "32" as up to
     * 32.999, so a report rounded down never lets us send into a full bucket. */
    used_u = (int64_t)used * HUB_RATE_UNIT + (HUB_RATE_UNIT - 1);
    if (used_u >= st->level_u) {
        /* someone else (another process, an earlier run) used the account: trust the platform */
        st->level_u = used_u;
    } else {
        /* The platform counts less than we do: it leaks faster or has not seen our other
         * requests in flight yet. Come down, but keep those in-flight requests counted. */
        upper_u = used_u + (int64_t)others_in_flight * HUB_RATE_UNIT;
        if (upper_u < st->level_u)
            st->level_u = upper_u;
    }
}

void
hub_rate_state_penalize(struct hub_rate_state *st, int64_t now_ms, int64_t retry_after_ms)
{
    int64_t until;

    if (retry_after_ms < 0)
        retry_after_ms = 0;
    if (retry_after_ms > INT64_MAX - now_ms)
        until = INT64_MAX;
    else
        until = now_ms + retry_after_ms;
    if (until > st->blocked_until_ms)
        st->blocked_until_ms = until;
}

uint32_t
hub_rate_state_level(const struct hub_rate_state *st, int64_t now_ms)
{
    struct hub_rate_state tmp = *st;

    state_drain(&tmp, now_ms);
    return (uint32_t)((tmp.level_u + HUB_RATE_UNIT - 1) / HUB_RATE_UNIT);
}

/* ---- registry ------------------------------------------------------------------------------ */

struct hub_rate_limiter {
    struct hub_rate_limiter  *next;          /* hash chain */
    struct hub_rate_registry *reg;
    pthread_mutex_t           mu;
    pthread_cond_t            cv;            /* CLOCK_MONOTONIC */
    struct hub_rate_state     st;
    uint32_t                  max_concurrency;
    uint32_t                  in_flight;
    char                      account[];
};

struct hub_rate_registry {
    pthread_mutex_t              mu;          /* the table only */
    const struct hub_clock      *clock;
    const struct hub_rate_store *store;
    int                          real_time;   /* clock is one of ours: use timed cond waits */
    size_t                       n;
    struct hub_rate_limiter     *heads[REG_BUCKETS];
};

int
hub_rate_registry_new(const struct hub_clock *clock, const struct hub_rate_store *store,
                      struct hub_rate_registry **out, struct hub_error *err)
{
    struct hub_rate_registry *reg;

    if (clock == NULL)
        clock = hub_clock_system();
    if (clock->now_ms == NULL || clock->sleep_ms == NULL)
        return hub_error_set(err, HUB_E_INVALID, "rate limit: clock without now_ms or sleep_ms");
    if (store != NULL && store->update == NULL)
        return hub_error_set(err, HUB_E_INVALID, "rate limit: store without update()");
    reg = calloc(1, sizeof(*reg));
    if (reg == NULL)
        return hub_error_set(err, HUB_E_NOMEM, "rate limit: out of memory");
    pthread_mutex_init(&reg->mu, NULL);
    reg->clock = clock;
    reg->store = store;
    reg->real_time = clock == &system_clock || clock == &wall_clock;
    *out = reg;
    return 0;
}

void
hub_rate_registry_free(struct hub_rate_registry *reg)
{
    struct hub_rate_limiter *lim, *next;
    size_t                   i;

    if (reg == NULL)
        return;
    for (i = 0; i < REG_BUCKETS; i++) {
        for (lim = reg->heads[i]; lim != NULL; lim = next) {
            next = lim->next;
            pthread_cond_destroy(&lim->cv);
            pthread_mutex_destroy(&lim->mu);
            free(lim);
        }
    }
    pthread_mutex_destroy(&reg->mu);
    free(reg);
}

const struct hub_clock *
hub_rate_registry_clock(const struct hub_rate_registry *reg)
{
    return reg->clock;
}

static int64_t
reg_now(const struct hub_rate_registry *reg)
{
    return reg->clock->now_ms(reg->clock->ctx);
}

static int
account_check(const char *account, size_t *out_len, struct hub_error *err)
{
    size_t i, len;

    if (account == NULL)
        return hub_error_set(err, HUB_E_INVALID, "rate limit: no account");
    len = strnlen(account, HUB_RATE_ACCOUNT_MAX + 1);
    if (len == 0 || len > HUB_RATE_ACCOUNT_MAX)
        return hub_error_set(err, HUB_E_INVALID, "rate limit: account key of %zu bytes "
                             "(1..%d allowed)", len, HUB_RATE_ACCOUNT_MAX);
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)account[i];

        if (c <= 0x20 || c >= 0x7f)
            return hub_error_set(err, HUB_E_INVALID, "rate limit: account key has byte 0x%02x "
                                 "at %zu", c, i);
    }
    *out_len = len;
    return 0;
}

static uint32_t
hash_account(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    size_t   i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* Find or create; called with reg->mu held. */
static struct hub_rate_limiter *
reg_lookup_locked(struct hub_rate_registry *reg, const char *account, size_t len,
                  struct hub_error *err)
{
    struct hub_rate_limiter *lim;
    struct hub_rate_policy   none = { HUB_RATE_NONE, 0, 0, 0, 0 };
    pthread_condattr_t       ca;
    uint32_t                 b;

    b = hash_account(account, len) % REG_BUCKETS;
    for (lim = reg->heads[b]; lim != NULL; lim = lim->next) {
        if (strcmp(lim->account, account) == 0)
            return lim;
    }
    if (reg->n >= HUB_RATE_MAX_ACCOUNTS) {
        hub_error_set(err, HUB_E_LIMIT, "rate limit: more than %d accounts",
                      HUB_RATE_MAX_ACCOUNTS);
        return NULL;
    }
    lim = calloc(1, sizeof(*lim) + len + 1);
    if (lim == NULL) {
        hub_error_set(err, HUB_E_NOMEM, "rate limit: out of memory");
        return NULL;
    }
    memcpy(lim->account, account, len);
    lim->reg = reg;
    pthread_mutex_init(&lim->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&lim->cv, &ca);
    pthread_condattr_destroy(&ca);
    hub_rate_state_init(&lim->st, &none, reg_now(reg));
    lim->max_concurrency = HUB_RATE_DEFAULT_CONCURRENCY;
    lim->next = reg->heads[b];
    reg->heads[b] = lim;
    reg->n++;
    return lim;
}

struct hub_rate_limiter *
hub_rate_get(struct hub_rate_registry *reg, const char *account, struct hub_error *err)
{
    struct hub_rate_limiter *lim;
    size_t                   len = 0;

    if (account_check(account, &len, err) < 0)
        return NULL;
    pthread_mutex_lock(&reg->mu);
    lim = reg_lookup_locked(reg, account, len, err);
    pthread_mutex_unlock(&reg->mu);
    return lim;
}

int
hub_rate_configure(struct hub_rate_registry *reg, const char *account,
                   const struct hub_rate_policy *policy, struct hub_error *err)
{
    struct hub_rate_limiter *lim;
    int64_t                  blocked;

    if (policy == NULL || policy->kind < HUB_RATE_NONE || policy->kind > HUB_RATE_LEAKY)
        return hub_error_set(err, HUB_E_INVALID, "rate limit %s: unknown policy kind %d",
                             account != NULL ? account : "?", policy != NULL ? policy->kind : -1);
    if (policy->kind != HUB_RATE_NONE && (policy->capacity == 0 || policy->rate_milli == 0))
        return hub_error_set(err, HUB_E_INVALID, "rate limit %s: capacity %u and rate %u/1000s "
                             "must be positive", account != NULL ? account : "?",
                             policy->capacity, policy->rate_milli);
    if (policy->max_concurrency > HUB_RATE_MAX_CONCURRENCY)
        return hub_error_set(err, HUB_E_INVALID, "rate limit %s: max_concurrency %u > %d",
                             account != NULL ? account : "?", policy->max_concurrency,
                             HUB_RATE_MAX_CONCURRENCY);
    lim = hub_rate_get(reg, account, err);
    if (lim == NULL)
        return err != NULL ? err->code : HUB_E_INVALID;

    pthread_mutex_lock(&lim->mu);
    if (lim->st.kind != policy->kind || lim->st.capacity != policy->capacity ||
        lim->st.rate_milli != policy->rate_milli) {
        blocked = lim->st.blocked_until_ms;
        hub_rate_state_init(&lim->st, policy, reg_now(reg));
        lim->st.blocked_until_ms = blocked;
    }
    lim->st.headroom = policy->headroom;
    lim->max_concurrency = policy->max_concurrency != 0 ? policy->max_concurrency
                                                        : HUB_RATE_DEFAULT_CONCURRENCY;
    pthread_cond_broadcast(&lim->cv);
    pthread_mutex_unlock(&lim->mu);
    return 0;
}

/* ---- state changes, local or through the shared store ---------------------------------- */

struct take_arg {
    int64_t now;
};

struct observe_arg {
    int64_t  now;
    uint32_t used, limit, others;
};

struct penalize_arg {
    int64_t now, ms;
};

static int64_t
take_fn(struct hub_rate_state *st, void *arg)
{
    return hub_rate_state_take(st, ((struct take_arg *)arg)->now);
}

static int64_t
observe_fn(struct hub_rate_state *st, void *arg)
{
    struct observe_arg *a = arg;

    hub_rate_state_observe(st, a->now, a->used, a->limit, a->others);
    return 0;
}

static int64_t
penalize_fn(struct hub_rate_state *st, void *arg)
{
    struct penalize_arg *a = arg;

    hub_rate_state_penalize(st, a->now, a->ms);
    return 0;
}

/* Apply fn with lim->mu held. A failing store degrades to the local copy, loudly: pacing on
 * stale data beats stopping every sync because the database hiccupped. */
static int64_t
lim_update(struct hub_rate_limiter *lim, hub_rate_update_fn fn, void *arg)
{
    const struct hub_rate_store *store = lim->reg->store;
    struct hub_error             err = { 0, "" };
    int64_t                      result = 0;
    int                          rc;

    if (store != NULL) {
        rc = store->update(store->ctx, lim->account, fn, arg, &lim->st, &result, &err);
        if (rc == 0)
            return result;
        hub_log_warn("ratelimit", "%s: shared store failed (%s: %s); using local state",
                     lim->account, hub_error_name(rc), err.msg);
    }
    return fn(&lim->st, arg);
}

/* Wait with lim->mu held, for `wait_ms` of clock time (> 0) or, when wait_ms < 0, for a
 * wake-up (slot freed) but not past `deadline_ms` (0 = none). */
static void
lim_wait(struct hub_rate_limiter *lim, int64_t now, int64_t wait_ms, int64_t deadline_ms)
{
    struct hub_rate_registry *reg = lim->reg;
    struct timespec           ts;
    int64_t                   ms, abs_ms;

    if (!reg->real_time && wait_ms > 0) {
        /* virtual time: let the clock move; nobody can wake us early in a simulation */
        pthread_mutex_unlock(&lim->mu);
        reg->clock->sleep_ms(reg->clock->ctx, wait_ms);
        pthread_mutex_lock(&lim->mu);
        return;
    }
    if (wait_ms > 0)
        ms = wait_ms;
    else if (deadline_ms != 0)
        ms = deadline_ms - now;
    else
        ms = -1;
    if (!reg->real_time && (ms < 0 || ms > SLOT_SLICE_MS))
        ms = SLOT_SLICE_MS;
    if (ms < 0) {
        pthread_cond_wait(&lim->cv, &lim->mu);
        return;
    }
    abs_ms = hub_clock_ms(CLOCK_MONOTONIC) + ms;
    ts.tv_sec = abs_ms / 1000;
    ts.tv_nsec = (abs_ms % 1000) * 1000000;
    pthread_cond_timedwait(&lim->cv, &lim->mu, &ts);
}

int
hub_rate_acquire(struct hub_rate_limiter *lim, int64_t deadline_ms, int64_t *out_waited_ms,
                 struct hub_error *err)
{
    struct hub_rate_registry *reg = lim->reg;
    struct take_arg           ta;
    int64_t                   start, now, wait;
    int                       rc;

    pthread_mutex_lock(&lim->mu);
    start = reg_now(reg);
    for (;;) {
        now = reg_now(reg);
        if (lim->in_flight < lim->max_concurrency) {
            ta.now = now;
            wait = lim_update(lim, take_fn, &ta);
            if (wait <= 0) {
                lim->in_flight++;
                rc = 0;
                break;
            }
        } else {
            wait = -1;              /* until a slot is released */
        }
        if (deadline_ms != 0 && (now >= deadline_ms || (wait > 0 && wait > deadline_ms - now))) {
            if (wait < 0)
                rc = hub_error_set(err, HUB_E_RATE_LIMITED, "rate limit %s: %u requests in "
                                   "flight (cap %u) until the deadline", lim->account,
                                   lim->in_flight, lim->max_concurrency);
            else
                rc = hub_error_set(err, HUB_E_RATE_LIMITED, "rate limit %s: next request "
                                   "allowed in %lld ms, after the deadline (%lld ms left)",
                                   lim->account, (long long)wait,
                                   (long long)(deadline_ms > now ? deadline_ms - now : 0));
            break;
        }
        lim_wait(lim, now, wait, deadline_ms);
    }
    if (out_waited_ms != NULL)
        *out_waited_ms = reg_now(reg) - start;
    pthread_mutex_unlock(&lim->mu);
    return rc;
}

int
hub_rate_acquire_account(struct hub_rate_registry *reg, const char *account,
                         int64_t deadline_ms, int64_t *out_waited_ms, struct hub_error *err)
{
    struct hub_rate_limiter *lim;

    lim = hub_rate_get(reg, account, err);
    if (lim == NULL)
        return err != NULL ? err->code : HUB_E_INVALID;
    return hub_rate_acquire(lim, deadline_ms, out_waited_ms, err);
}

void
hub_rate_release(struct hub_rate_limiter *lim)
{
    pthread_mutex_lock(&lim->mu);
    if (lim->in_flight > 0)
        lim->in_flight--;
    pthread_cond_broadcast(&lim->cv);
    pthread_mutex_unlock(&lim->mu);
}

void
hub_rate_observe(struct hub_rate_limiter *lim, uint32_t used, uint32_t limit)
{
    struct observe_arg oa;

    pthread_mutex_lock(&lim->mu);
    oa.now = reg_now(lim->reg);
    oa.used = used;
    oa.limit = limit;
    /* the caller observes the answer to one of its in-flight requests */
    oa.others = lim->in_flight > 0 ? lim->in_flight - 1 : 0;
    lim_update(lim, observe_fn, &oa);
    pthread_cond_broadcast(&lim->cv);
    pthread_mutex_unlock(&lim->mu);
}

void
hub_rate_penalize(struct hub_rate_limiter *lim, int64_t retry_after_ms)
{
    struct penalize_arg pa;

    pthread_mutex_lock(&lim->mu);
    pa.now = reg_now(lim->reg);
    pa.ms = retry_after_ms;
    lim_update(lim, penalize_fn, &pa);
    pthread_cond_broadcast(&lim->cv);
    pthread_mutex_unlock(&lim->mu);
}

void
hub_rate_snapshot(struct hub_rate_limiter *lim, struct hub_rate_state *out_state,
                  uint32_t *out_in_flight)
{
    pthread_mutex_lock(&lim->mu);
    if (out_state != NULL)
        *out_state = lim->st;
    if (out_in_flight != NULL)
        *out_in_flight = lim->in_flight;
    pthread_mutex_unlock(&lim->mu);
}

const char *
hub_rate_account(const struct hub_rate_limiter *lim)
{
    return lim->account;
}
