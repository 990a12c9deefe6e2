/*
 * Rate limiting per platform account ("shopify:shop.myshopify.com").
 *
 * A registry holds one limiter per account. A limiter combines:
 *  - a bucket (token bucket or leaky bucket: `capacity` requests, `rate_milli` requests per
 *    1000 s) that paces requests proactively, so that a long backfill runs at the platform's
 *    rate instead of bouncing off 429s;
 *  - a cap on requests in flight for the account;
 *  - a penalty: after a 429 with Retry-After the account is blocked until then;
 *  - observe(): the platform's own report of its bucket (Shopify's
 *    X-Shopify-Shop-Api-Call-Limit "32/40") re-syncs the local copy.
 *
 * Token bucket and leaky bucket are the same meter seen from two sides (the token count is
 * capacity minus the leaky bucket's level); both are kept as a level that rises by one per
 * request and drains at the rate. They differ in what the platform reports: a leaky bucket
 * (Shopify REST, platforms.md 1.6) reports how full it is and scales its rate with its size
 * (40 @ 2/s, 80 @ 4/s, 400 @ 20/s), so observe() with another `limit` scales the rate too; a
 * token bucket's observe() adopts the limit as capacity and keeps the configured rate.
 *
 * Time comes from a struct hub_clock (milliseconds), so tests run in virtual time.
 *
 * Sharing between hub processes (DESIGN.md 6, "the rate limit of a platform account is
 * shared between processes through the database"): the bucket is a plain value
 * (struct hub_rate_state) changed only by pure functions (hub_rate_state_*). A registry built
 * with a struct hub_rate_store runs every change through store->update(), which must apply
 * the function to the shared copy atomically. The PostgreSQL store is meant to be:
 *
 *     CREATE TABLE rate_limit_buckets (
 *         account        text PRIMARY KEY,      -- "shopify:shop.myshopify.com"
 *         level_u        bigint NOT NULL,       -- level in 1e-6 requests
 *         level_at_ms    bigint NOT NULL,       -- when level_u was computed (epoch ms)
 *         blocked_until  bigint NOT NULL,       -- epoch ms; 0 = not blocked
 *         capacity       integer NOT NULL,
 *         rate_milli     integer NOT NULL,
 *         updated_at     timestamptz NOT NULL DEFAULT now());
 *
 *     BEGIN; SELECT ... FROM rate_limit_buckets WHERE account = $1 FOR UPDATE;
 *     (INSERT the caller's local state when absent); fn(&state); UPDATE ...; COMMIT;
 *
 * With a store the clock must be wall-clock epoch milliseconds agreed between hosts (NTP).
 * The in-flight count stays per process (a process cannot know another's crashes); the
 * per-account concurrency cap is therefore per process.
 *
 * Thread rules: every function here is thread-safe. A limiter pointer from hub_rate_get()
 * lives as long as the registry.
 */
#ifndef HUB_NET_RATELIMIT_H
#define HUB_NET_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* ---- clock ---------------------------------------------------------------------------- */

/*
 * An injectable clock. now_ms: milliseconds on any fixed origin (monotonic for the system
 * clock; must be epoch milliseconds when a shared store is used). sleep_ms: block the calling
 * thread for `ms` milliseconds of this clock (a virtual clock advances its time instead).
 * Both must be thread-safe.
 */
struct hub_clock {
    int64_t (*now_ms)(void *ctx);
    void    (*sleep_ms)(void *ctx, int64_t ms);
    void     *ctx;
};

/* The process clock: CLOCK_MONOTONIC milliseconds and nanosleep. A static object. */
const struct hub_clock *hub_clock_system(void);
/* Wall clock (CLOCK_REALTIME, epoch ms) and nanosleep; for shared stores and HTTP dates. */
const struct hub_clock *hub_clock_wall(void);

/* ---- policy and state ------------------------------------------------------------------ */

enum {
    HUB_RATE_NONE   = 0,        /* no pacing; penalties and the concurrency cap still apply */
    HUB_RATE_TOKEN  = 1,        /* values equal SX_RATE_TOKEN_BUCKET / SX_RATE_LEAKY_BUCKET */
    HUB_RATE_LEAKY  = 2
};

#define HUB_RATE_DEFAULT_CONCURRENCY 4
#define HUB_RATE_MAX_CONCURRENCY     1024
#define HUB_RATE_ACCOUNT_MAX         255     /* bytes of an account key */
#define HUB_RATE_MAX_ACCOUNTS        100000  /* limiters per registry */
#define HUB_RATE_UNIT                1000000 /* one request, in level units */

/* Same fields and meaning as sx_rate_policy, so the SDK mapping is a copy. */
struct hub_rate_policy {
    int      kind;              /* HUB_RATE_* */
    uint32_t capacity;          /* burst, in requests (>= 1 unless kind is NONE) */
    uint32_t rate_milli;        /* requests per 1000 seconds: 2/s = 2000 (>= 1 unless NONE) */
    uint32_t max_concurrency;   /* requests in flight; 0 = HUB_RATE_DEFAULT_CONCURRENCY */
    uint32_t headroom;          /* requests kept free below the capacity */
};

/* The bucket, as a plain value (what a shared store persists). */
struct hub_rate_state {
    int      kind;
    uint32_t capacity;
    uint32_t rate_milli;
    uint32_t headroom;
    int64_t  level_u;           /* requests in the bucket, in 1/HUB_RATE_UNIT */
    int64_t  level_at_ms;       /* clock time level_u refers to */
    int64_t  blocked_until_ms;  /* penalty: no request before this (0 = none) */
};

/* A fresh (empty) state for `policy` at time `now_ms`. */
void    hub_rate_state_init(struct hub_rate_state *st, const struct hub_rate_policy *policy,
                            int64_t now_ms);
/* Take one request at `now_ms` if allowed: returns 0 and updates the state; otherwise leaves
 * it unchanged and returns how many ms to wait before it may be allowed (> 0). */
int64_t hub_rate_state_take(struct hub_rate_state *st, int64_t now_ms);
/* Re-sync from the platform's report: `used` of `limit`; `others_in_flight` = requests sent
 * but not yet answered, which the platform may not have counted yet. */
void    hub_rate_state_observe(struct hub_rate_state *st, int64_t now_ms, uint32_t used,
                               uint32_t limit, uint32_t others_in_flight);
/* Block until now_ms + retry_after_ms (never shortens an existing block). */
void    hub_rate_state_penalize(struct hub_rate_state *st, int64_t now_ms,
                                int64_t retry_after_ms);
/* The level drained to `now_ms`, in whole requests rounded up (for logs and tests). */
uint32_t hub_rate_state_level(const struct hub_rate_state *st, int64_t now_ms);

/* ---- shared store seam ----------------------------------------------------------------- */

/* A change to a state; returns a value the caller wants back (e.g. the wait from take). */
typedef int64_t (*hub_rate_update_fn)(struct hub_rate_state *st, void *arg);

struct hub_rate_store {
    /*
     * Atomically: load the shared state of `account` (or, when there is none, start from
     * *io_state), apply fn(state, arg), store it, copy it to *io_state and put fn's result in
     * *out_result. Returns 0 or a negative HUB_E_* with `err` set (the limiter then falls back
     * to its local copy and logs it). Called with the limiter's mutex held.
     */
    int   (*update)(void *ctx, const char *account, hub_rate_update_fn fn, void *arg,
                    struct hub_rate_state *io_state, int64_t *out_result,
                    struct hub_error *err);
    void  *ctx;
};

/* ---- registry ---------------------------------------------------------------------------- */

struct hub_rate_registry;
struct hub_rate_limiter;

/*
 * Create a registry. `clock` NULL = hub_clock_system(); `store` NULL = state in this process
 * only. Both are borrowed and must outlive the registry. Free with hub_rate_registry_free().
 */
int  hub_rate_registry_new(const struct hub_clock *clock, const struct hub_rate_store *store,
                           struct hub_rate_registry **out, struct hub_error *err);
/* Free every limiter. No thread may be inside any hub_rate_* call on it. */
void hub_rate_registry_free(struct hub_rate_registry *reg);
const struct hub_clock *hub_rate_registry_clock(const struct hub_rate_registry *reg);

/*
 * Set (or change) the policy of `account`, creating its limiter. Changing the kind, capacity
 * or rate restarts the bucket empty; in-flight requests and penalties are kept.
 * HUB_E_INVALID for a bad policy or account, HUB_E_LIMIT past HUB_RATE_MAX_ACCOUNTS.
 */
int  hub_rate_configure(struct hub_rate_registry *reg, const char *account,
                        const struct hub_rate_policy *policy, struct hub_error *err);

/* The limiter of `account`, created with HUB_RATE_NONE when unknown. NULL with `err` set on a
 * bad account name, out of memory or past the account limit. Lives as long as `reg`. */
struct hub_rate_limiter *hub_rate_get(struct hub_rate_registry *reg, const char *account,
                                      struct hub_error *err);

/*
 * Wait until one request may go for this account: the penalty is over, a slot under the
 * concurrency cap is free and the bucket has room; then take the slot and the bucket unit.
 * `deadline_ms` is a time on the registry's clock (0 = none). Returns 0 with *out_waited_ms
 * (may be NULL) set to the time waited; HUB_E_RATE_LIMITED when the deadline would pass
 * first (nothing taken; *out_waited_ms still set). Every successful acquire must be followed
 * by one hub_rate_release().
 * Waits on a condition variable, woken by releases, penalties and observations. With an
 * injected clock, waits for time call clock->sleep_ms and waits for a slot use real-time
 * slices of at most 10 ms, rechecking the clock.
 */
int  hub_rate_acquire(struct hub_rate_limiter *lim, int64_t deadline_ms,
                      int64_t *out_waited_ms, struct hub_error *err);
int  hub_rate_acquire_account(struct hub_rate_registry *reg, const char *account,
                              int64_t deadline_ms, int64_t *out_waited_ms,
                              struct hub_error *err);
/* Give back the in-flight slot taken by a successful acquire. */
void hub_rate_release(struct hub_rate_limiter *lim);
/* Re-sync the bucket from the platform's report ("32/40": used 32, limit 40). */
void hub_rate_observe(struct hub_rate_limiter *lim, uint32_t used, uint32_t limit);
/* Block the account for `retry_after_ms` from now (a 429's Retry-After). */
void hub_rate_penalize(struct hub_rate_limiter *lim, int64_t retry_after_ms);

/* A copy of the current state and the in-flight count (tests, metrics). */
void hub_rate_snapshot(struct hub_rate_limiter *lim, struct hub_rate_state *out_state,
                       uint32_t *out_in_flight);
const char *hub_rate_account(const struct hub_rate_limiter *lim);

#endif
