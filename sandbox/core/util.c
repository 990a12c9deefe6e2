/*
 * Small helpers of the sandbox core: arena, seeded randomness, encodings, HMAC, time.
 */
#include "sbx.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

/* ------------------------------------------------------------------ arena */

#define ARENA_BLOCK 8192

struct arena_block {
    struct arena_block *next;
    size_t              used;
    size_t              cap;
    unsigned char       data[];
};

struct sbx_arena {
    struct arena_block *head;
};

struct sbx_arena *
sbx_arena_new(void)
{
    return calloc(1, sizeof(struct sbx_arena));
}

void
sbx_arena_free(struct sbx_arena *a)
{
    struct arena_block *b;
    struct arena_block *next;

    if (a == NULL)
        return;
    for (b = a->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(a);
}

void *
sbx_arena_alloc(struct sbx_arena *a, size_t len)
{
    struct arena_block *b;
    size_t              cap;
    void               *p;

    len = (len + 15) & ~(size_t)15;
    b = a->head;
    if (b == NULL || b->cap - b->used < len) {
        cap = len > ARENA_BLOCK ? len : ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (b == NULL)
            return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = a->head;
        a->head = b;
    }
    p = b->data + b->used;
    b->used += len;
    return p;
}

char *
sbx_arena_strndup(struct sbx_arena *a, const char *s, size_t len)
{
    char *p;

    p = sbx_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
sbx_arena_strdup(struct sbx_arena *a, const char *s)
{
    return sbx_arena_strndup(a, s, strlen(s));
}

char *
sbx_arena_printf(struct sbx_arena *a, const char *fmt, ...)
{
    va_list ap;
    int     n;
    char   *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    p = sbx_arena_alloc(a, (size_t)n + 1);
    if (p == NULL)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

/* ------------------------------------------------------------------ rng (xoshiro256**) */

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z;

    *x += 0x9e3779b97f4a7c15ULL;
    z = *x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void
sbx_rng_init(struct sbx_rng *r, uint64_t seed, const char *name, uint64_t index)
{
    uint64_t x;
    size_t   i;

    /* FNV-1a over the stream name keeps streams independent of each other. */
    x = 1469598103934665603ULL;
    for (i = 0; name != NULL && name[i] != '\0'; i++) {
        x ^= (unsigned char)name[i];
        x *= 1099511628211ULL;
    }
    x ^= seed * 0x9e3779b97f4a7c15ULL;
    x ^= index * 0xc2b2ae3d27d4eb4fULL;
    for (i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
sbx_rng_next(struct sbx_rng *r)
{
    uint64_t *s = r->s;
    uint64_t  result;
    uint64_t  t;

    result = rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t
sbx_rng_below(struct sbx_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    return sbx_rng_next(r) % n;
}

double
sbx_rng_unit(struct sbx_rng *r)
{
    return (double)(sbx_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

void
sbx_rng_token(struct sbx_rng *r, const char *prefix, size_t len, char *out, size_t cap)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    size_t            n;
    size_t            i;

    if (cap == 0)
        return;
    n = strlen(prefix);
    if (n >= cap)
        n = cap - 1;
    memcpy(out, prefix, n);
    for (i = 0; i < len && n + 1 < cap; i++)
        out[n++] = alphabet[sbx_rng_below(r, sizeof(alphabet) - 1)];
    out[n] = '\0';
}

/* ------------------------------------------------------------------ crypto, encodings */

void
sbx_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                unsigned char out[32])
{
    unsigned int outlen = 32;

    HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &outlen);
}

void
sbx_sha256(const void *msg, size_t len, unsigned char out[32])
{
    SHA256(msg, len, out);
}

static size_t
b64_encode_with(const void *in, size_t len, char *out, size_t cap, const char *alpha, bool pad)
{
    const unsigned char *p = in;
    size_t               n = 0;
    size_t               i;
    uint32_t             v;

    if (cap < ((len + 2) / 3) * 4 + 1)
        return 0;
    for (i = 0; i + 2 < len; i += 3) {
        v = ((uint32_t)p[i] << 16) | ((uint32_t)p[i + 1] << 8) | p[i + 2];
        out[n++] = alpha[(v >> 18) & 63];
        out[n++] = alpha[(v >> 12) & 63];
        out[n++] = alpha[(v >> 6) & 63];
        out[n++] = alpha[v & 63];
    }
    if (i < len) {
        v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        out[n++] = alpha[(v >> 18) & 63];
        out[n++] = alpha[(v >> 12) & 63];
        if (i + 1 < len)
            out[n++] = alpha[(v >> 6) & 63];
        else if (pad)
            out[n++] = '=';
        if (pad)
            out[n++] = '=';
    }
    out[n] = '\0';
    return n;
}

size_t
sbx_b64_encode(const void *in, size_t len, char *out, size_t cap)
{
    return b64_encode_with(in, len, out, cap,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

size_t
sbx_b64url_encode(const void *in, size_t len, char *out, size_t cap)
{
    return b64_encode_with(in, len, out, cap,
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

static int
b64_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long
sbx_b64_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    uint32_t v = 0;
    int      bits = 0;
    size_t   n = 0;
    size_t   i;
    int      d;

    while (len > 0 && in[len - 1] == '=')
        len--;
    for (i = 0; i < len; i++) {
        d = b64_val((unsigned char)in[i]);
        if (d < 0)
            return -1;
        v = (v << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return -1;
            out[n++] = (unsigned char)((v >> bits) & 0xff);
        }
    }
    return (long)n;
}

void
sbx_hex_encode(const void *in, size_t len, char *out)
{
    static const char    hex[] = "0123456789abcdef";
    const unsigned char *p = in;
    size_t               i;

    for (i = 0; i < len; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * len] = '\0';
}

bool
sbx_str_eq_ct(const char *a, const char *b)
{
    size_t        la = strlen(a);
    size_t        lb = strlen(b);
    unsigned char d = 0;
    size_t        i;

    if (la != lb)
        return false;
    for (i = 0; i < la; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

void
sbx_form_encode(struct evbuffer *out, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char     c;
    char              esc[3];

    /* URLSearchParams leaves *-._ and alphanumerics alone and writes a space as '+'. */
    for (; *s != '\0'; s++) {
        c = (unsigned char)*s;
        if (isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
            evbuffer_add(out, s, 1);
        } else if (c == ' ') {
            evbuffer_add(out, "+", 1);
        } else {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 15];
            evbuffer_add(out, esc, 3);
        }
    }
}

/* ------------------------------------------------------------------ time */

size_t
sbx_time_format(int64_t t, int offset_min, bool use_z, char *out, size_t cap)
{
    struct tm tm;
    time_t    local;
    size_t    n;
    int       off;
    int       w;

    local = (time_t)(t + (int64_t)offset_min * 60);
    if (gmtime_r(&local, &tm) == NULL)
        return 0;
    n = strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n == 0)
        return 0;
    if (use_z && offset_min == 0) {
        w = snprintf(out + n, cap - n, "Z");
    } else {
        off = offset_min < 0 ? -offset_min : offset_min;
        w = snprintf(out + n, cap - n, "%c%02d:%02d", offset_min < 0 ? '-' : '+', off / 60,
                     off % 60);
    }
    if (w < 0 || (size_t)w >= cap - n)
        return 0;
    return n + (size_t)w;
}

static int
take_digits(const char **p, int count, int *out)
{
    int v = 0;
    int i;

    for (i = 0; i < count; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += count;
    *out = v;
    return 0;
}

static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t  era;
    unsigned yoe;
    unsigned doy;
    unsigned doe;

    /* Howard Hinnant's algorithm: proleptic Gregorian, no timezone database involved. */
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int
sbx_time_parse(const char *s, int default_offset_min, int64_t *out)
{
    int     y, mo, d, h = 0, mi = 0, se = 0, oh, om;
    int     offset = default_offset_min;
    int     sign;
    int64_t t;

    if (s == NULL)
        return -1;
    if (take_digits(&s, 4, &y) < 0 || *s++ != '-' || take_digits(&s, 2, &mo) < 0 ||
        *s++ != '-' || take_digits(&s, 2, &d) < 0)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    if (*s == 'T' || *s == ' ') {
        s++;
        if (take_digits(&s, 2, &h) < 0 || *s++ != ':' || take_digits(&s, 2, &mi) < 0)
            return -1;
        if (*s == ':') {
            s++;
            if (take_digits(&s, 2, &se) < 0)
                return -1;
        }
        if (*s == '.') {
            s++;
            while (isdigit((unsigned char)*s))
                s++;
        }
        if (h > 23 || mi > 59 || se > 60)
            return -1;
        if (*s == 'Z' || *s == 'z') {
            offset = 0;
            s++;
        } else if (*s == '+' || *s == '-') {
            sign = *s == '-' ? -1 : 1;
            s++;
            if (take_digits(&s, 2, &oh) < 0)
                return -1;
            if (*s == ':')
                s++;
            if (take_digits(&s, 2, &om) < 0)
                return -1;
            offset = sign * (oh * 60 + om);
        }
    }
    if (*s != '\0')
        return -1;
    t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    *out = t - (int64_t)offset * 60;
    return 0;
}

/* ------------------------------------------------------------------ numbers */

int
sbx_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char     *end;
    long long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
sbx_parse_money(const char *s, int64_t *out_cents)
{
    int64_t whole = 0;
    int64_t frac = 0;
    int     nfrac = 0;
    int     sign = 1;
    int     ndig = 0;

    if (s == NULL)
        return -1;
    if (*s == '-') {
        sign = -1;
        s++;
    }
    while (isdigit((unsigned char)*s)) {
        if (++ndig > 15)
            return -1;
        whole = whole * 10 + (*s++ - '0');
    }
    if (*s == '.') {
        s++;
        while (isdigit((unsigned char)*s)) {
            if (nfrac < 2) {
                frac = frac * 10 + (*s - '0');
                nfrac++;
            } else if (*s != '0') {
                return -1;      /* more precision than cents: refuse rather than round */
            }
            s++;
        }
    }
    if (*s != '\0' || (ndig == 0 && nfrac == 0))
        return -1;
    while (nfrac < 2) {
        frac *= 10;
        nfrac++;
    }
    *out_cents = sign * (whole * 100 + frac);
    return 0;
}
