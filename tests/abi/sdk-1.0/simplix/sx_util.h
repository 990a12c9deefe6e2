/*
 * Header-only helpers for plugin authors: no host symbol, no ABI surface. Everything here is
 * `static inline`, works on caller memory and allocates nothing.
 */
#ifndef SIMPLIX_SX_UTIL_H
#define SIMPLIX_SX_UTIL_H

#include <string.h>
#include "sx_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* sx_str from a NUL-terminated string (NULL gives the empty string). */
static inline sx_str
sx_cstr(const char *s)
{
    sx_str r = { s, s != NULL ? strlen(s) : 0 };
    return r;
}

static inline int
sx_str_eq(sx_str a, sx_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int
sx_str_eq_cstr(sx_str a, const char *b)
{
    return sx_str_eq(a, sx_cstr(b));
}

/* Minor-unit exponent of an ISO 4217 currency (2 unless listed). */
static inline int
sx_currency_exponent(sx_str cur)
{
    static const char zero[][4] = { "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW",
                                    "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF" };
    static const char three[][4] = { "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND" };
    size_t i;

    if (cur.len != 3)
        return 2;
    for (i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
        if (memcmp(cur.ptr, zero[i], 3) == 0)
            return 0;
    }
    for (i = 0; i < sizeof(three) / sizeof(three[0]); i++) {
        if (memcmp(cur.ptr, three[i], 3) == 0)
            return 3;
    }
    return 2;
}

/*
 * Parse a decimal string ("19.99", "-0.5", "19.990000", "12") into minor units with `exp`
 * decimals, never through a double. Extra decimals must be zeros, or the value is rounded half
 * away from zero when `round` is 1 (PrestaShop's "19.990000" is exact; tax amounts may need
 * rounding). Returns SX_OK, or SX_E_INVALID for anything that is not a bounded decimal.
 */
static inline int
sx_money_parse(sx_str s, int exp, int round, int64_t *out)
{
    const char *p = s.ptr, *end = s.ptr + s.len;
    int64_t     v = 0;
    int         neg = 0, digits = 0, frac = 0, roundup = 0, seen_dot = 0;

    if (s.ptr == NULL || s.len == 0 || s.len > 40 || exp < 0 || exp > 6)
        return SX_E_INVALID;
    while (p < end && *p == ' ')
        p++;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = (*p == '-');
        p++;
    }
    for (; p < end; p++) {
        if (*p == '.' && !seen_dot) {
            seen_dot = 1;
            continue;
        }
        if (*p < '0' || *p > '9')
            return SX_E_INVALID;
        digits++;
        if (seen_dot && frac >= exp) {
            /* A digit beyond the currency's precision. */
            if (frac == exp && *p >= '5')
                roundup = 1;
            if (*p != '0' && !round)
                return SX_E_INVALID;
            frac++;
            continue;
        }
        if (v > (INT64_MAX - 9) / 10)
            return SX_E_INVALID;
        v = v * 10 + (*p - '0');
        if (seen_dot)
            frac++;
    }
    if (digits == 0)
        return SX_E_INVALID;
    if (frac > exp)
        frac = exp;
    for (; frac < exp; frac++) {
        if (v > INT64_MAX / 10)
            return SX_E_INVALID;
        v *= 10;
    }
    if (roundup && round)
        v++;
    *out = neg ? -v : v;
    return SX_OK;
}

/*
 * Write `s` as a JSON string literal (quotes included) into out[0..cap). Returns the length
 * written (excluding the NUL), or 0 when it does not fit (nothing usable is written then).
 */
static inline size_t
sx_json_quote(sx_str s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t            i, o = 0;

    if (cap < 3)
        return 0;
    out[o++] = '"';
    for (i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];

        if (o + 7 >= cap)
            return 0;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    if (o + 2 > cap)
        return 0;
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

#ifdef __cplusplus
}
#endif

#endif /* SIMPLIX_SX_UTIL_H */
