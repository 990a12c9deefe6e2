#include "net/retry.h"

#include "core/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRY_AFTER_MAX_LEN  128
#define LOG_URL_MAX          512

/* ---- parsers of outside input ------------------------------------------------------------ */

struct cur {
    const char *p;
    const char *end;
};

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static void
skip_ows(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int
expect(struct cur *c, char ch)
{
    if (c->p >= c->end || *c->p != ch)
        return -1;
    c->p++;
    return 0;
}

/* Exactly `n` digits. */
static int
digits_n(struct cur *c, int n, int *out)
{
    int v = 0, i;

    if (c->end - c->p < n)
        return -1;
    for (i = 0; i < n; i++) {
        if (!is_digit(c->p[i]))
            return -1;
        v = v * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *out = v;
    return 0;
}

/* Letters up to a non-letter, at most `cap` of them. Returns the count, -1 when none. */
static int
alpha(struct cur *c, const char **out, int cap)
{
    const char *s = c->p;

    while (c->p < c->end && c->p - s <= cap &&
           ((*c->p >= 'a' && *c->p <= 'z') || (*c->p >= 'A' && *c->p <= 'Z')))
        c->p++;
    if (c->p == s || c->p - s > cap)
        return -1;
    *out = s;
    return (int)(c->p - s);
}

static int
month_index(const char *s, int len)
{
    static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int i;

    if (len != 3)
        return -1;
    for (i = 0; i < 12; i++) {
        if (memcmp(names + i * 3, s, 3) == 0)
            return i + 1;
    }
    return -1;
}

static int
weekday_ok(const char *s, int len)
{
    static const char *const longn[] = {
        "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
    };
    int i;

    for (i = 0; i < 7; i++) {
        if ((len == 3 && memcmp(longn[i], s, 3) == 0) ||
            ((size_t)len == strlen(longn[i]) && memcmp(longn[i], s, (size_t)len) == 0))
            return 1;
    }
    return 0;
}

static int
hms(struct cur *c, int *h, int *m, int *s)
{
    if (digits_n(c, 2, h) < 0 || expect(c, ':') < 0 || digits_n(c, 2, m) < 0 ||
        expect(c, ':') < 0 || digits_n(c, 2, s) < 0)
        return -1;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
days_in_month(int y, int m)
{
    static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int
hub_http_parse_http_date(const char *s, size_t len, int64_t *out_unix_ms)
{
    struct cur  c = { s, s + len };
    const char *w, *mon;
    int         wl, ml, day = 0, month, year = 0, h, mi, sec;

    if (s == NULL || len > RETRY_AFTER_MAX_LEN)
        return HUB_E_INVALID;
    skip_ows(&c);
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    wl = alpha(&c, &w, 9);
    if (wl < 0 || !weekday_ok(w, wl))
        return HUB_E_INVALID;
    if (c.p < c.end && *c.p == ',') {
        c.p++;
        if (expect(&c, ' ') < 0 || digits_n(&c, 2, &day) < 0)
            return HUB_E_INVALID;
        if (c.p < c.end && *c.p == ' ') {
            /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
            c.p++;
            ml = alpha(&c, &mon, 3);
            if (ml < 0 || expect(&c, ' ') < 0 || digits_n(&c, 4, &year) < 0)
                return HUB_E_INVALID;
        } else {
            /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            if (expect(&c, '-') < 0)
                return HUB_E_INVALID;
            ml = alpha(&c, &mon, 3);
            if (ml < 0 || expect(&c, '-') < 0 || digits_n(&c, 2, &year) < 0)
                return HUB_E_INVALID;
            /* two-digit years: RFC 9110 5.6.7 says "more than 50 years in the future is the
             * past century"; at this code's lifetime 70 is that pivot */
            year += year < 70 ? 2000 : 1900;
        }
        if (expect(&c, ' ') < 0 || hms(&c, &h, &mi, &sec) < 0 || expect(&c, ' ') < 0 ||
            c.end - c.p != 3 || memcmp(c.p, "GMT", 3) != 0)
            return HUB_E_INVALID;
    } else {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (expect(&c, ' ') < 0)
            return HUB_E_INVALID;
        ml = alpha(&c, &mon, 3);
        if (ml < 0 || expect(&c, ' ') < 0)
            return HUB_E_INVALID;
        if (c.p < c.end && *c.p == ' ') {
            c.p++;
            if (digits_n(&c, 1, &day) < 0)
                return HUB_E_INVALID;
        } else if (digits_n(&c, 2, &day) < 0) {
            return HUB_E_INVALID;
        }
        if (expect(&c, ' ') < 0 || hms(&c, &h, &mi, &sec) < 0 || expect(&c, ' ') < 0 ||
            digits_n(&c, 4, &year) < 0 || c.p != c.end)
            return HUB_E_INVALID;
    }
    month = month_index(mon, ml);
    if (month < 0 || year < 1900 || day < 1 || day > days_in_month(year, month) || h > 23 ||
        mi > 59 || sec > 60)
        return HUB_E_INVALID;
    if (sec == 60)
        sec = 59;                    /* a leap second: close enough for a retry delay */
    *out_unix_ms = ((days_from_civil(year, month, day) * 24 + h) * 60 + mi) * 60000 +
                   (int64_t)sec * 1000;
    return 0;
}

int
hub_http_parse_retry_after(const char *s, size_t len, int64_t now_unix_ms, int64_t *out_ms)
{
    struct cur c;
    int64_t    secs = 0, frac = 0, at;
    int        nd = 0, nf = 0, saturated = 0, round_up = 0;

    if (s == NULL || len == 0 || len > RETRY_AFTER_MAX_LEN)
        return HUB_E_INVALID;
    c.p = s;
    c.end = s + len;
    skip_ows(&c);
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (c.p == c.end)
        return HUB_E_INVALID;
    if (!is_digit(*c.p) && *c.p != '.') {
        if (hub_http_parse_http_date(c.p, (size_t)(c.end - c.p), &at) < 0)
            return HUB_E_INVALID;
        *out_ms = at > now_unix_ms ? at - now_unix_ms : 0;
        return 0;
    }
    while (c.p < c.end && is_digit(*c.p)) {
        if (secs > HUB_RETRY_AFTER_SATURATE_MS / 1000)
            saturated = 1;
        else
            secs = secs * 10 + (*c.p - '0');
        nd++;
        c.p++;
    }
    if (c.p < c.end && *c.p == '.') {
        c.p++;
        while (c.p < c.end && is_digit(*c.p)) {
            if (nf < 3)
                frac = frac * 10 + (*c.p - '0');
            else if (*c.p != '0')
                round_up = 1;
            nf++;
            c.p++;
        }
    }
    if (c.p != c.end || nd + nf == 0)
        return HUB_E_INVALID;
    while (nf < 3) {
        frac *= 10;
        nf++;
    }
    if (saturated || secs > HUB_RETRY_AFTER_SATURATE_MS / 1000)
        *out_ms = HUB_RETRY_AFTER_SATURATE_MS;
    else
        *out_ms = secs * 1000 + frac + round_up;
    return 0;
}

static int
parse_u32_digits(struct cur *c, uint32_t *out)
{
    uint32_t v = 0;
    int      n = 0;

    while (c->p < c->end && is_digit(*c->p)) {
        if (n == 9)
            return -1;
        v = v * 10 + (uint32_t)(*c->p - '0');
        n++;
        c->p++;
    }
    if (n == 0)
        return -1;
    *out = v;
    return 0;
}

int
hub_http_parse_call_limit(const char *s, size_t len, uint32_t *out_used, uint32_t *out_limit)
{
    struct cur c;
    uint32_t   used, limit;

    if (s == NULL || len == 0 || len > 64)
        return HUB_E_INVALID;
    c.p = s;
    c.end = s + len;
    skip_ows(&c);
    if (parse_u32_digits(&c, &used) < 0)
        return HUB_E_INVALID;
    skip_ows(&c);
    if (expect(&c, '/') < 0)
        return HUB_E_INVALID;
    skip_ows(&c);
    if (parse_u32_digits(&c, &limit) < 0)
        return HUB_E_INVALID;
    skip_ows(&c);
    if (c.p != c.end || limit == 0)
        return HUB_E_INVALID;
    *out_used = used;
    *out_limit = limit;
    return 0;
}

/* ---- backoff --------------------------------------------------------------------------------- */

int64_t
hub_retry_backoff_ms(const struct hub_retry_policy *policy, uint32_t retry, uint64_t rnd)
{
    int64_t  base = HUB_RETRY_DEFAULT_BASE_MS, cap = HUB_RETRY_DEFAULT_CAP_MS, ceil;
    uint32_t i;

    if (policy != NULL && policy->base_ms > 0)
        base = policy->base_ms;
    if (policy != NULL && policy->cap_ms > 0)
        cap = policy->cap_ms;
    ceil = base < cap ? base : cap;
    for (i = 1; i < retry && ceil < cap; i++)
        ceil = ceil > cap / 2 ? cap : ceil * 2;
    return (int64_t)(rnd % (uint64_t)(ceil + 1));
}

/* Per-thread splitmix64: jitter only has to decorrelate clients, not be secret. */
static uint64_t
default_random(void *ctx)
{
    static _Thread_local uint64_t state;
    static atomic_uint_fast64_t   salt = 0x9e3779b97f4a7c15u;
    struct timespec               ts;
    uint64_t                      z;

    (void)ctx;
    if (state == 0) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^
                (uint64_t)(uintptr_t)&state ^ atomic_fetch_add(&salt, 0x9e3779b97f4a7c15u);
        if (state == 0)
            state = 1;
    }
    state += 0x9e3779b97f4a7c15u;
    z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ---- the composed call ----------------------------------------------------------------------- */

/* Copy a response into the caller's arena (the attempt lived in a scratch arena, so failed
 * attempts do not pile up in the caller's). */
static int
resp_copy(struct hub_arena *arena, const struct hub_http_resp *src, struct hub_http_resp *dst)
{
    sx_http_header *h = NULL;
    char           *body;
    size_t          i;

    *dst = *src;
    if (src->n_headers > 0) {
        h = hub_arena_alloc(arena, src->n_headers * sizeof(*h));
        if (h == NULL)
            return HUB_E_NOMEM;
        for (i = 0; i < src->n_headers; i++) {
            char *n = hub_arena_strndup(arena, src->headers[i].name.ptr,
                                        src->headers[i].name.len);
            char *v = hub_arena_strndup(arena, src->headers[i].value.ptr,
                                        src->headers[i].value.len);

            if (n == NULL || v == NULL)
                return HUB_E_NOMEM;
            h[i].name.ptr = n;
            h[i].name.len = src->headers[i].name.len;
            h[i].value.ptr = v;
            h[i].value.len = src->headers[i].value.len;
        }
    }
    dst->headers = h;
    body = hub_arena_strndup(arena, src->body.ptr != NULL ? src->body.ptr : "", src->body.len);
    if (body == NULL)
        return HUB_E_NOMEM;
    dst->body.ptr = body;
    return 0;
}

static int
retryable(int rc)
{
    return rc == HUB_E_TRANSIENT || rc == HUB_E_RATE_LIMITED;
}

int
hub_http_send(struct hub_http_client *client, struct hub_rate_registry *limiter,
              const char *account, const struct hub_http_req *req,
              const struct hub_retry_policy *policy, struct hub_arena *arena,
              struct hub_http_resp *out, struct hub_error *err)
{
    struct hub_retry_policy  defaults;
    const struct hub_clock  *clock;
    struct hub_rate_limiter *lim = NULL;
    struct hub_http_req      r;
    struct hub_http_resp     cur;
    struct hub_arena         scratch;
    struct hub_error         aerr;
    const char              *m = hub_http_method_name(req->method);
    char                     logurl[LOG_URL_MAX];
    uint32_t                 max_attempts, attempt, used, limit, n_exchanges = 0;
    int64_t                  start, deadline, now, waited, delay, ra, total_waited = 0;
    int64_t                  total_backoff = 0, last_ra = -1, timeout;
    int                      rc, crc, capped = 0, penalized, have_resp = 0;
    sx_str                   v;

    if (policy == NULL) {
        memset(&defaults, 0, sizeof(defaults));
        policy = &defaults;
    }
    memset(out, 0, sizeof(*out));
    out->retry_after_ms = -1;
    hub_http_url_for_log(req->url, logurl, sizeof(logurl));
    if (limiter != NULL && account != NULL) {
        lim = hub_rate_get(limiter, account, err);
        if (lim == NULL)
            return err != NULL ? err->code : HUB_E_INVALID;
        clock = hub_rate_registry_clock(limiter);
    } else {
        clock = policy->clock != NULL ? policy->clock : hub_clock_system();
    }
    max_attempts = policy->max_attempts != 0 ? policy->max_attempts
                                             : HUB_RETRY_DEFAULT_MAX_ATTEMPTS;
    if (max_attempts > HUB_RETRY_MAX_ATTEMPTS)
        max_attempts = HUB_RETRY_MAX_ATTEMPTS;
    if (req->flags & HUB_HTTP_NO_RETRY)
        max_attempts = 1;
    start = clock->now_ms(clock->ctx);
    deadline = start + (policy->total_timeout_ms > 0 ? policy->total_timeout_ms
                                                     : HUB_RETRY_DEFAULT_TOTAL_MS);
    memset(&cur, 0, sizeof(cur));
    hub_arena_init(&scratch, 0);

    for (attempt = 1;; attempt++) {
        if (lim != NULL) {
            rc = hub_rate_acquire(lim, deadline, &waited, &aerr);
            total_waited += waited;
            if (rc < 0) {
                if (have_resp)
                    rc = hub_error_set(err, rc, "%s %s: %s (after %u attempts)", m, logurl,
                                       aerr.msg, attempt - 1);
                else
                    rc = hub_error_set(err, rc, "%s %s: %s", m, logurl, aerr.msg);
                break;
            }
        }
        now = clock->now_ms(clock->ctx);
        r = *req;
        timeout = r.timeout_ms != 0 ? r.timeout_ms : hub_http_client_timeout_ms(client);
        if (deadline - now < timeout)
            timeout = deadline - now;
        if (timeout < 1)
            timeout = 1;
        r.timeout_ms = (uint32_t)timeout;

        if (attempt > 1 && req->resign != NULL) {
            rc = req->resign(req->resign_ctx, &r);
            if (rc < 0) {
                rc = hub_error_set(err, rc, "%s %s: signing attempt %u failed", m, logurl,
                                   attempt);
                break;
            }
        }
        /* the previous attempt's response is no longer needed */
        hub_arena_destroy(&scratch);
        rc = hub_http_exchange(client, &r, &scratch, &cur, &aerr);
        have_resp = 1;
        n_exchanges++;
        if (lim != NULL) {
            if (policy->call_limit_header != NULL && cur.status > 0 &&
                hub_http_resp_header(&cur, policy->call_limit_header, &v) == 0 &&
                hub_http_parse_call_limit(v.ptr, v.len, &used, &limit) == 0)
                hub_rate_observe(lim, used, limit);
            hub_rate_release(lim);
        }
        if (rc == 0 || !retryable(rc)) {
            if (rc < 0)
                hub_error_set(err, rc, "%s", aerr.msg);
            break;
        }
        if (attempt >= max_attempts) {
            rc = hub_error_set(err, rc, "%s (after %u attempt%s)", aerr.msg, attempt,
                               attempt == 1 ? "" : "s");
            break;
        }
        /* A 429 is the platform refusing the request before processing it, so even a
         * non-idempotent create may be sent again; anything else may have been applied. */
        if ((req->flags & HUB_HTTP_NON_IDEMPOTENT) && cur.request_sent &&
            rc != HUB_E_RATE_LIMITED) {
            rc = hub_error_set(err, rc, "%s (not retried: non-idempotent request may have "
                               "been processed)", aerr.msg);
            break;
        }

        /* Retry-After (429, 503) replaces our backoff; bounded by the policy */
        delay = -1;
        if ((cur.status == 429 || cur.status == 503) &&
            hub_http_resp_header(&cur, "Retry-After", &v) == 0) {
            if (hub_http_parse_retry_after(v.ptr, v.len, hub_clock_wall()->now_ms(NULL),
                                           &ra) == 0) {
                int64_t max_ra = policy->max_retry_after_ms > 0
                                 ? policy->max_retry_after_ms : HUB_RETRY_DEFAULT_MAX_RETRY_AFTER;

                if (ra > max_ra) {
                    hub_log_warn("net.http", "%s %s%s%s: Retry-After of %lld ms capped to "
                                 "%lld ms", m, logurl, lim != NULL ? " account " : "",
                                 lim != NULL ? account : "", (long long)ra, (long long)max_ra);
                    ra = max_ra;
                    capped = 1;
                }
                delay = ra;
                last_ra = ra;
            } else {
                hub_log_warn("net.http", "%s %s: unreadable Retry-After (%zu bytes); using "
                             "backoff", m, logurl, v.len);
            }
        }
        if (delay < 0) {
            delay = hub_retry_backoff_ms(policy, attempt,
                                         policy->random != NULL
                                         ? policy->random(policy->random_ctx)
                                         : default_random(NULL));
        }
        now = clock->now_ms(clock->ctx);
        penalized = rc == HUB_E_RATE_LIMITED && lim != NULL;
        if (penalized) {
            /* every thread of the account waits, not only this one; acquire does the wait */
            hub_rate_penalize(lim, delay);
        }
        if (delay >= deadline - now) {
            rc = hub_error_set(err, rc, "%s (gave up after %u attempt%s: next in %lld ms "
                               "would pass the %lld ms deadline)", aerr.msg, attempt,
                               attempt == 1 ? "" : "s", (long long)delay,
                               (long long)(deadline - start));
            break;
        }
        hub_log_warn("net.http", "%s %s%s%s: %s: attempt %u/%u, retry in %lld ms%s", m,
                     logurl, lim != NULL ? " account " : "", lim != NULL ? account : "",
                     hub_error_name(rc), attempt, max_attempts, (long long)delay,
                     penalized ? " (account paused)" : "");
        if (!penalized) {
            clock->sleep_ms(clock->ctx, delay);
            total_backoff += delay;
        }
    }

    if (have_resp) {
        crc = resp_copy(arena, &cur, out);
        if (crc < 0) {
            memset(out, 0, sizeof(*out));
            rc = hub_error_set(err, crc, "%s %s: out of memory copying the response", m,
                               logurl);
        }
    }
    out->attempts = n_exchanges;
    out->rate_waited_ms = total_waited;
    out->backoff_ms = total_backoff;
    out->retry_after_ms = last_ra;
    out->retry_after_capped = capped;
    hub_arena_destroy(&scratch);
    return rc;
}
