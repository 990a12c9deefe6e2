/*
 * Fuzz target: the response-header parsers of host/net that read what platforms send:
 * hub_http_parse_retry_after (delay-seconds, fractional seconds, three HTTP-date forms),
 * hub_http_parse_http_date, hub_http_parse_call_limit ("32/40"), plus the log helpers that
 * see outside text (hub_http_header_is_secret, hub_http_url_for_log).
 *
 * Invariants checked on the whole input:
 *   - no crash, no read past `size` (the input is an exact-size copy), deterministic results;
 *   - Retry-After: a success gives 0 <= ms; an input of 1..9 plain digits gives digits*1000;
 *     surrounding spaces change nothing;
 *   - HTTP-date: a success formats back (IMF-fixdate, gmtime_r) to a date that parses to the
 *     same instant;
 *   - call limit: a success has limit > 0, both below 10^9, and "%u/%u" of them parses back
 *     to the same pair; failure leaves the outputs untouched;
 *   - url_for_log never writes past its buffer and always NUL-terminates.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "net/http_client.h"
#include "net/retry.h"

#include "fuzz_check.h"

#define NOW_MS  ((int64_t)1700000000000)   /* fixed "now": results must not depend on time */

static void
check_retry_after(const char *s, size_t len)
{
    int64_t ms = -7, ms2 = -7, v = 0;
    char    padded[160];
    size_t  i;
    int     rc, rc2, all_digits = len >= 1 && len <= 9;

    rc = hub_http_parse_retry_after(s, len, NOW_MS, &ms);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_INVALID);
    rc2 = hub_http_parse_retry_after(s, len, NOW_MS, &ms2);
    FUZZ_CHECK(rc == rc2);
    if (rc == 0) {
        FUZZ_CHECK(ms >= 0);
        FUZZ_CHECK(ms == ms2);
    } else {
        FUZZ_CHECK(ms == -7);
    }
    for (i = 0; i < len && all_digits; i++) {
        if (s[i] < '0' || s[i] > '9')
            all_digits = 0;
        else
            v = v * 10 + (s[i] - '0');
    }
    if (all_digits) {
        FUZZ_CHECK(rc == 0);
        FUZZ_CHECK(ms == v * 1000);
    }
    if (len + 2 <= 128) {
        padded[0] = ' ';
        memcpy(padded + 1, s, len);
        padded[len + 1] = '\t';
        rc2 = hub_http_parse_retry_after(padded, len + 2, NOW_MS, &ms2);
        FUZZ_CHECK(rc2 == rc);
        if (rc == 0)
            FUZZ_CHECK(ms2 == ms);
    }
}

static void
check_http_date(const char *s, size_t len)
{
    int64_t   at = -7, again = -7;
    time_t    t;
    struct tm tm;
    char      buf[64];
    size_t    n;
    int       rc;

    rc = hub_http_parse_http_date(s, len, &at);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_INVALID);
    if (rc != 0)
        return;
    FUZZ_CHECK(at % 1000 == 0);
    t = (time_t)(at / 1000);
    FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
    n = strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    FUZZ_CHECK(n > 0);
    FUZZ_CHECK(hub_http_parse_http_date(buf, n, &again) == 0);
    FUZZ_CHECK(again == at);
}

static void
check_call_limit(const char *s, size_t len)
{
    uint32_t used = 77, limit = 77, u2 = 0, l2 = 0;
    char     buf[32];
    int      rc, n;

    rc = hub_http_parse_call_limit(s, len, &used, &limit);
    FUZZ_CHECK(rc == 0 || rc == HUB_E_INVALID);
    if (rc != 0) {
        FUZZ_CHECK(used == 77 && limit == 77);
        return;
    }
    FUZZ_CHECK(limit > 0);
    FUZZ_CHECK(used < 1000000000u && limit < 1000000000u);
    n = snprintf(buf, sizeof(buf), "%u/%u", used, limit);
    FUZZ_CHECK(n > 0 && (size_t)n < sizeof(buf));
    FUZZ_CHECK(hub_http_parse_call_limit(buf, (size_t)n, &u2, &l2) == 0);
    FUZZ_CHECK(u2 == used && l2 == limit);
}

static void
check_log_helpers(const char *s, size_t len)
{
    char   out[80 + 8];
    sx_str url = { s, len };
    int    secret;

    memset(out, 0x5a, sizeof(out));
    hub_http_url_for_log(url, out, 80);
    FUZZ_CHECK(memchr(out, '\0', 80) != NULL);
    FUZZ_CHECK((unsigned char)out[80] == 0x5a);
    secret = hub_http_header_is_secret(s, len);
    FUZZ_CHECK(secret == 0 || secret == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;

    check_retry_after(s, size);
    check_http_date(s, size);
    check_call_limit(s, size);
    check_log_helpers(s, size);
    return 0;
}
