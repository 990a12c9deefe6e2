/*
 * Retries and the composed HTTP call: limiter -> exchange -> classify -> back off -> again.
 *
 * Backoff is exponential with FULL jitter (AWS architecture blog, "Exponential Backoff And
 * Jitter"): before retry n (1, 2, ...) sleep random(0, min(cap, base * 2^(n-1))).
 * A Retry-After on a 429 or 503 replaces the backoff (seconds, fractional seconds as Shopify
 * sends "2.0", or an HTTP-date); above the policy's maximum it is capped and reported; absent
 * or unreadable, the own backoff applies (platforms.md 1.6: Shopify 429s without Retry-After).
 */
#ifndef HUB_NET_RETRY_H
#define HUB_NET_RETRY_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/error.h"
#include "net/http_client.h"
#include "net/ratelimit.h"

#define HUB_RETRY_DEFAULT_MAX_ATTEMPTS    4
#define HUB_RETRY_DEFAULT_BASE_MS         500
#define HUB_RETRY_DEFAULT_CAP_MS          30000
#define HUB_RETRY_DEFAULT_MAX_RETRY_AFTER 60000
#define HUB_RETRY_DEFAULT_TOTAL_MS        120000
#define HUB_RETRY_MAX_ATTEMPTS            20
/* delay-seconds beyond this are read as "this much" (saturated), then capped by the policy */
#define HUB_RETRY_AFTER_SATURATE_MS       ((int64_t)1000000000 * 1000)

struct hub_retry_policy {
    uint32_t    max_attempts;        /* attempts in all, first included; 0 = default (4) */
    int64_t     base_ms;             /* 0 = 500 */
    int64_t     cap_ms;              /* largest backoff; 0 = 30000 */
    int64_t     max_retry_after_ms;  /* larger Retry-After values are capped; 0 = 60000 */
    int64_t     total_timeout_ms;    /* the whole call, waits included; 0 = 120000 */
    /* Response header whose "used/limit" value feeds hub_rate_observe(), e.g.
     * "X-Shopify-Shop-Api-Call-Limit"; NULL = none (the connector may observe itself). */
    const char *call_limit_header;
    /* Time source for sleeps and the deadline when no limiter is passed; with a limiter
     * its registry's clock is used. NULL = hub_clock_system(). */
    const struct hub_clock *clock;
    /* Random source for the jitter (tests); NULL = a per-thread PRNG. */
    uint64_t  (*random)(void *ctx);
    void       *random_ctx;
};

/*
 * The composed call: for each attempt, wait for the account's limiter (when `limiter` and
 * `account` are given), run one exchange, feed the call-limit header to the limiter, and
 * retry HUB_E_TRANSIENT and HUB_E_RATE_LIMITED outcomes until success, a non-retryable
 * outcome, max_attempts or the total deadline. A 429 penalizes the whole account for the
 * Retry-After (so every thread of it waits), other retries sleep here.
 * A request with HUB_HTTP_NON_IDEMPOTENT is retried only when the previous attempt provably
 * never reached the server, or was answered 429 (refused before processing);
 * HUB_HTTP_NO_RETRY makes one attempt.
 * Each retry is logged at warn ("net.http"), with the URL without its query and no header
 * values. `policy` may be NULL for defaults.
 * Returns what the last exchange returned (see hub_http_exchange), or HUB_E_RATE_LIMITED
 * when the limiter could not let the request go before the deadline. *out is filled (in
 * `arena`) whenever a response arrived, with attempts, waits and the Retry-After seen.
 * Thread-safe as far as its arguments are (client and limiter are; the arena is not).
 */
int hub_http_send(struct hub_http_client *client, struct hub_rate_registry *limiter,
                  const char *account, const struct hub_http_req *req,
                  const struct hub_retry_policy *policy, struct hub_arena *arena,
                  struct hub_http_resp *out, struct hub_error *err);

/* Full-jitter backoff before retry `retry` (1 = first retry): a value in
 * [0, min(cap, base * 2^(retry-1))] drawn from `rnd`. Pure. */
int64_t hub_retry_backoff_ms(const struct hub_retry_policy *policy, uint32_t retry,
                             uint64_t rnd);

/*
 * Parse a Retry-After value (RFC 9110 10.2.3) into a delay in ms from `now_unix_ms`:
 * delay-seconds, also fractional ("2.0", "0.25"; sub-millisecond rounds up), or an HTTP-date
 * (IMF-fixdate, RFC 850 or asctime form; a past date gives 0). Surrounding spaces are allowed;
 * anything else (signs, exponents, units, garbage, empty) is HUB_E_INVALID. Huge values
 * saturate at HUB_RETRY_AFTER_SATURATE_MS. `s` need not be NUL-terminated; len <= 128.
 */
int hub_http_parse_retry_after(const char *s, size_t len, int64_t now_unix_ms,
                               int64_t *out_ms);

/* Parse an HTTP-date into Unix milliseconds. 0 or HUB_E_INVALID. */
int hub_http_parse_http_date(const char *s, size_t len, int64_t *out_unix_ms);

/* Parse a call-limit value "32/40" (Shopify X-Shopify-Shop-Api-Call-Limit): used and limit,
 * up to 9 digits each, limit > 0, optional spaces around the parts. 0 or HUB_E_INVALID. */
int hub_http_parse_call_limit(const char *s, size_t len, uint32_t *out_used,
                              uint32_t *out_limit);

#endif
