/*
 * Fuzz target: the SDK's header-only text helpers (sdk/include/simplix/sx_util.h) that
 * connectors run on platform data: sx_money_parse, sx_json_quote, sx_currency_exponent.
 *
 * sx_money_parse runs on the whole input for every exponent 0-3 (and the refused -1 and 7),
 * with round 0 and 1, against an independent reference parser (128-bit arithmetic):
 *   - whatever it accepts, the reference accepts with the same value;
 *   - whatever the reference accepts below 10^17 in magnitude, it accepts (it may refuse
 *     values near INT64_MAX: its overflow check is conservative, which is fine);
 *   - round 1 accepts everything round 0 does, with the same value.
 *
 * sx_json_quote runs on the whole input into buffers of many sizes, tiny to large, each
 * followed by guard bytes:
 *   - it never writes past `cap`;
 *   - 0 when the input is not valid UTF-8 or the literal and its NUL do not fit; otherwise
 *     exactly the literal's length (no slack: a buffer of needed + 1 bytes is enough);
 *   - on success the output is a JSON string literal ("..." with only \" \\ \u00XX escapes
 *     and no raw control character), NUL-terminated, that decodes back to the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <simplix/sx_util.h>

#include "core/buf.h"
#include "fuzz_check.h"

#define GUARD_LEN  16
#define GUARD_BYTE 0xa5

typedef __int128 i128;

/* Reference: the documented grammar ("  -12.50"), exact value in minor units, or -1. */
static int
ref_money(const uint8_t *s, size_t len, int exp, int round, i128 *out)
{
    const i128 huge = (i128)1000000000 * 1000000000 * 1000000000;   /* 10^27: saturate */
    size_t     i = 0;
    i128       v = 0;
    int        neg = 0, digits = 0, frac = 0, seen_dot = 0, up = 0, extra = 0;

    if (len == 0 || len > 40 || exp < 0 || exp > 6)
        return -1;
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    for (; i < len; i++) {
        if (s[i] == '.') {
            if (seen_dot)
                return -1;
            seen_dot = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return -1;
        digits++;
        if (seen_dot && frac == exp) {
            if (extra == 0 && s[i] >= '5')
                up = 1;
            extra++;
            if (s[i] != '0' && !round)
                return -1;
            continue;
        }
        if (v < huge)
            v = v * 10 + (s[i] - '0');
        if (seen_dot)
            frac++;
    }
    if (digits == 0)
        return -1;
    for (; frac < exp; frac++) {
        if (v < huge)
            v *= 10;
    }
    if (up && round)
        v++;
    *out = neg ? -v : v;
    return 0;
}

static void
check_money(const uint8_t *data, size_t size)
{
    sx_str s = { (const char *)data, size };
    int    exp, round;

    for (exp = 0; exp <= 3; exp++) {
        int64_t got[2] = { 0, 0 };
        int     rc[2];

        for (round = 0; round <= 1; round++) {
            i128 want = 0;
            int  ref = ref_money(data, size, exp, round, &want);

            rc[round] = sx_money_parse(s, exp, round, &got[round]);
            FUZZ_CHECK(rc[round] == SX_OK || rc[round] == SX_E_INVALID);
            if (rc[round] == SX_OK) {
                FUZZ_CHECK(ref == 0);
                FUZZ_CHECK((i128)got[round] == want);
            } else if (ref == 0) {
                /* Refusing is fine only near the int64 limits. */
                FUZZ_CHECK(want >= (i128)100000000000000000LL ||
                           want <= -(i128)100000000000000000LL);
            }
        }
        if (rc[0] == SX_OK)
            FUZZ_CHECK(rc[1] == SX_OK && got[1] == got[0]);
    }
    {
        int64_t v;

        FUZZ_CHECK(sx_money_parse(s, -1, 1, &v) == SX_E_INVALID);
        FUZZ_CHECK(sx_money_parse(s, 7, 1, &v) == SX_E_INVALID);
    }
    if (size >= 3) {
        int e = sx_currency_exponent((sx_str){ (const char *)data, 3 });

        FUZZ_CHECK(e == 0 || e == 2 || e == 3);
    }
}

/* Whole input is valid UTF-8 (the SDK's own sequence check, applied to every position). */
static int
utf8_valid(const uint8_t *s, size_t len)
{
    size_t i = 0, n;

    while (i < len) {
        n = sx_utf8_seq_len(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* Bytes of the literal for `s`, quotes included, NUL excluded. */
static size_t
quoted_len(const uint8_t *s, size_t len)
{
    size_t i, n = 2;

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            n += 2;
        else if (s[i] < 0x20)
            n += 6;
        else
            n += 1;
    }
    return n;
}

/* Decode the JSON string literal out[0..n) and compare it with the input. */
static void
check_literal(const char *out, size_t n, const uint8_t *data, size_t size)
{
    size_t i, k = 0;

    FUZZ_CHECK(n >= 2 && out[0] == '"' && out[n - 1] == '"' && out[n] == '\0');
    for (i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)out[i];
        unsigned char d;

        FUZZ_CHECK(c >= 0x20 && c != '"');
        if (c != '\\') {
            d = c;
        } else {
            FUZZ_CHECK(i + 1 < n - 1);
            c = (unsigned char)out[++i];
            if (c == '"' || c == '\\' || c == '/') {
                d = c;
            } else {
                int h[4], j;

                FUZZ_CHECK(c == 'u' && i + 4 < n - 1);
                for (j = 0; j < 4; j++) {
                    h[j] = hub_hex_digit(out[i + 1 + j]);
                    FUZZ_CHECK(h[j] >= 0);
                }
                /* Only control characters are escaped this way. */
                FUZZ_CHECK(h[0] == 0 && h[1] == 0 && h[2] <= 1);
                d = (unsigned char)(h[2] << 4 | h[3]);
                i += 4;
            }
        }
        FUZZ_CHECK(k < size && data[k] == d);
        k++;
    }
    FUZZ_CHECK(k == size);
}

static void
quote_into(const uint8_t *data, size_t size, size_t cap, size_t need)
{
    sx_str s = { (const char *)data, size };
    char  *buf = malloc(cap + GUARD_LEN);
    size_t n, i;

    FUZZ_CHECK(buf != NULL);
    memset(buf, GUARD_BYTE, cap + GUARD_LEN);
    n = sx_json_quote(s, buf, cap);
    for (i = cap; i < cap + GUARD_LEN; i++)
        FUZZ_CHECK((unsigned char)buf[i] == GUARD_BYTE);
    if (cap < need + 1 || !utf8_valid(data, size))
        FUZZ_CHECK(n == 0);
    else
        FUZZ_CHECK(n == need);
    if (n != 0) {
        FUZZ_CHECK(n == need && n < cap);
        check_literal(buf, n, data, size);
    }
    free(buf);
}

static void
check_quote(const uint8_t *data, size_t size)
{
    size_t need = quoted_len(data, size);
    size_t caps[] = { 0, 1, 2, 3, 4, 5, 8, 16, 64, need, need + 1, need + 2, need + 5,
                      need + 6, need + 7, need + 64, 6 * size + 3 };
    size_t i;

    for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        quote_into(data, size, caps[i], need);
    /* NULL with length 0 is the empty string (sx_abi.h). */
    {
        char buf[8];

        FUZZ_CHECK(sx_json_quote((sx_str){ NULL, 0 }, buf, sizeof(buf)) == 2);
        FUZZ_CHECK(strcmp(buf, "\"\"") == 0);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_money(data, size);
    check_quote(data, size);
    return 0;
}
