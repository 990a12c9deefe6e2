/* Clock, time and crypto services of the host table. */
#include "plugin/api_internal.h"
#include "core/buf.h"
#include "core/log.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* ---- clock and time -------------------------------------------------------------------------- */

int64_t
hub_api_now_ms(sx_ctx *cx)
{
    struct hub_call *call = CALL_OF(cx);
    struct timespec  ts;

    if (call->inst != NULL && call->inst->rt->now_ms != NULL)
        return call->inst->rt->now_ms(call->inst->rt->now_ctx);
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
digits(const char *s, size_t n, int *out)
{
    size_t i;
    int    v = 0;

    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int
hub_time_parse(const char *s, size_t len, int64_t *out_ms)
{
    struct tm tm;
    int       y, mo, d, h = 0, mi = 0, sec = 0, ms = 0, off = 0, oh, om;
    size_t    i = 10;
    time_t    t;

    if (s == NULL || len < 10 || len > 64)
        return SX_E_INVALID;
    if (digits(s, 4, &y) < 0 || s[4] != '-' || digits(s + 5, 2, &mo) < 0 || s[7] != '-' ||
        digits(s + 8, 2, &d) < 0)
        return SX_E_INVALID;
    if (len > 10) {
        if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || len < 19)
            return SX_E_INVALID;
        if (digits(s + 11, 2, &h) < 0 || s[13] != ':' || digits(s + 14, 2, &mi) < 0 ||
            s[16] != ':' || digits(s + 17, 2, &sec) < 0)
            return SX_E_INVALID;
        i = 19;
        if (i < len && s[i] == '.') {
            int scale = 100;

            i++;
            if (i >= len || s[i] < '0' || s[i] > '9')
                return SX_E_INVALID;
            for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
                ms += (s[i] - '0') * scale;
                scale /= 10;                     /* digits past milliseconds are dropped */
            }
        }
        if (i < len) {
            if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == len) {
                i++;
            } else if (s[i] == '+' || s[i] == '-') {
                int sign = s[i] == '-' ? -1 : 1;

                if (len - i == 6 && s[i + 3] == ':') {
                    if (digits(s + i + 1, 2, &oh) < 0 || digits(s + i + 4, 2, &om) < 0)
                        return SX_E_INVALID;
                } else if (len - i == 5) {
                    if (digits(s + i + 1, 2, &oh) < 0 || digits(s + i + 3, 2, &om) < 0)
                        return SX_E_INVALID;
                } else if (len - i == 3) {
                    if (digits(s + i + 1, 2, &oh) < 0)
                        return SX_E_INVALID;
                    om = 0;
                } else {
                    return SX_E_INVALID;
                }
                if (oh > 23 || om > 59)
                    return SX_E_INVALID;
                off = sign * (oh * 3600 + om * 60);
                i = len;
            } else {
                return SX_E_INVALID;
            }
        }
    }
    if (i != len || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return SX_E_INVALID;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return SX_E_INVALID;
    /* timegm normalizes 31 February into March: refuse what was not a real date. */
    {
        struct tm back;

        gmtime_r(&t, &back);
        if (back.tm_mday != d || back.tm_mon != mo - 1)
            return SX_E_INVALID;
    }
    *out_ms = ((int64_t)t - off) * 1000 + ms;
    return SX_OK;
}

int
hub_api_time_parse(sx_str text, int64_t *out_ms)
{
    return hub_time_parse(text.ptr, text.len, out_ms);
}

int
hub_api_time_format(sx_ctx *cx, int64_t ms, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    struct tm        tm;
    time_t           t = (time_t)(ms / 1000);
    char            *buf;

    if (ms < 0 || gmtime_r(&t, &tm) == NULL)
        return SX_E_INVALID;
    buf = hub_arena_alloc(&call->arena, 32);
    if (buf == NULL)
        return SX_E_LIMIT;
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out->ptr = buf;
    out->len = strlen(buf);
    return SX_OK;
}

/* ---- crypto helpers -------------------------------------------------------------------------- */

int
hub_api_hmac_sha256(sx_str key, sx_str msg, uint8_t out[32])
{
    return hub_crypto_hmac_sha256(key.ptr != NULL ? key.ptr : "", key.len,
                                  msg.ptr != NULL ? msg.ptr : "", msg.len, out) < 0 ?
           SX_E_INTERNAL : SX_OK;
}

int
hub_api_consttime_eq(sx_str a, sx_str b)
{
    return hub_crypto_consttime_eq(a.ptr != NULL ? a.ptr : "", a.len,
                                   b.ptr != NULL ? b.ptr : "", b.len);
}

int
hub_api_base64_encode(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    size_t           cap = hub_crypto_b64_encoded_len(len, HUB_B64_STD) + 1, n = 0;
    char            *buf = hub_arena_alloc(&call->arena, cap);

    if (buf == NULL)
        return SX_E_LIMIT;
    if (hub_crypto_b64_encode(data, len, HUB_B64_STD, buf, cap, &n) < 0)
        return SX_E_INTERNAL;
    out->ptr = buf;
    out->len = n;
    return SX_OK;
}

int
hub_api_hex_encode(sx_ctx *cx, const uint8_t *data, size_t len, sx_str *out)
{
    struct hub_call *call = CALL_OF(cx);
    char            *buf;

    if (len > HUB_JSON_MAX_BYTES)
        return SX_E_LIMIT;
    buf = hub_arena_alloc(&call->arena, len * 2 + 1);
    if (buf == NULL)
        return SX_E_LIMIT;
    if (hub_crypto_hex_encode(data, len, buf, len * 2 + 1) < 0)
        return SX_E_INTERNAL;
    out->ptr = buf;
    out->len = len * 2;
    return SX_OK;
}

int
hub_api_random_bytes(uint8_t *out, size_t len)
{
    return hub_crypto_random(out, len) < 0 ? SX_E_INTERNAL : SX_OK;
}

