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

/* Length of the UTF-8 sequence starting at p[0..n), or 0 when it is not valid UTF-8
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static inline size_t
sx_utf8_seq_len(const unsigned char *p, size_t n)
{
    uint32_t cp;
    size_t   len, i;

    if (n == 0)
        return 0;
    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2;
        cp = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3;
        cp = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/*
 * Write `s` as a JSON string literal (quotes included, NUL-terminated) into out[0..cap).
 * Returns the length written (excluding the NUL), or 0 when it does not fit or `s` is not
 * valid UTF-8 (nothing usable is written then). Control characters are escaped as \uXXXX.
 */
static inline size_t
sx_json_quote(sx_str s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.ptr;
    size_t               i = 0, o = 0, n;

    if (cap < 3 || (s.len > 0 && s.ptr == NULL))
        return 0;
    out[o++] = '"';
    while (i < s.len) {
        unsigned char c = p[i];

        if (c == '"' || c == '\\') {
            if (cap - o < 2 + 2)             /* the escape, then closing quote and NUL */
                return 0;
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c < 0x20) {
            if (cap - o < 6 + 2)
                return 0;
            out[o++] = '\\';
            out[o++] = 'u';
            out[o++] = '0';
            out[o++] = '0';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
            i++;
        } else {
            n = sx_utf8_seq_len(p + i, s.len - i);
            if (n == 0 || cap - o < n + 2)
                return 0;
            memcpy(out + o, p + i, n);
            o += n;
            i += n;
        }
    }
    if (cap - o < 2)
        return 0;
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

#ifdef __cplusplus
}
#endif

#endif /* SIMPLIX_SX_UTIL_H */
