/*
 * Shared by the first-party connectors (linked statically into each .so, hidden): a bounded
 * JSON writer over the host's call arena, form encoding, and an exact decimal-to-ppm parser
 * for tax rates. No I/O; everything with outside input is bounded and fuzzed (fuzz_shopify,
 * fuzz_woocommerce).
 */
#include "sxp.h"

#include <stdio.h>
#include <string.h>

static int
sxp_is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ---- JSON writer ----------------------------------------------------------------------------- */

void
sxp_buf_init(struct sxp_buf *b, sx_ctx *cx)
{
    memset(b, 0, sizeof(*b));
    b->cx = cx;
}

/* Make room for `need` more bytes plus a NUL. The arena never frees, so the old block is
 * simply abandoned; doubling keeps the waste under the final size. */
static int
buf_reserve(struct sxp_buf *b, size_t need)
{
    size_t cap;
    char  *p;

    if (b->rc != SX_OK)
        return 0;
    if (need > SXP_BUF_MAX || b->len + need + 1 > SXP_BUF_MAX) {
        b->rc = SX_E_LIMIT;
        return 0;
    }
    if (b->len + need + 1 <= b->cap)
        return 1;
    cap = b->cap ? b->cap : 1024;
    while (cap < b->len + need + 1)
        cap *= 2;
    if (cap > SXP_BUF_MAX)
        cap = SXP_BUF_MAX;
    p = b->cx->host->alloc(b->cx, cap);
    if (p == NULL) {
        b->rc = SX_E_LIMIT;
        return 0;
    }
    if (b->len > 0)
        memcpy(p, b->p, b->len);
    b->p = p;
    b->cap = cap;
    return 1;
}

void
sxp_buf_raw(struct sxp_buf *b, const char *s, size_t len)
{
    if (!buf_reserve(b, len))
        return;
    if (len > 0)
        memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

/* A value is about to be written: a comma first when it follows another array element. */
static void
jb_value(struct sxp_buf *b)
{
    if (b->depth > 0 && b->is_arr[b->depth - 1]) {
        if (b->has[b->depth - 1])
            sxp_buf_raw(b, ",", 1);
        b->has[b->depth - 1] = 1;
    }
}

static void
jb_open(struct sxp_buf *b, char c, int arr)
{
    jb_value(b);
    if (b->depth >= SXP_JB_DEPTH) {
        if (b->rc == SX_OK)
            b->rc = SX_E_LIMIT;
        return;
    }
    sxp_buf_raw(b, &c, 1);
    b->is_arr[b->depth] = (uint8_t)arr;
    b->has[b->depth] = 0;
    b->depth++;
}

static void
jb_close(struct sxp_buf *b, char c)
{
    if (b->depth == 0) {
        if (b->rc == SX_OK)
            b->rc = SX_E_INTERNAL;
        return;
    }
    b->depth--;
    sxp_buf_raw(b, &c, 1);
}

void
sxp_jb_obj(struct sxp_buf *b)
{
    jb_open(b, '{', 0);
}

void
sxp_jb_obj_end(struct sxp_buf *b)
{
    jb_close(b, '}');
}

void
sxp_jb_arr(struct sxp_buf *b)
{
    jb_open(b, '[', 1);
}

void
sxp_jb_arr_end(struct sxp_buf *b)
{
    jb_close(b, ']');
}

void
sxp_jb_key(struct sxp_buf *b, const char *key)
{
    if (b->depth > 0) {
        if (b->has[b->depth - 1])
            sxp_buf_raw(b, ",", 1);
        b->has[b->depth - 1] = 1;
    }
    sxp_buf_raw(b, "\"", 1);
    sxp_buf_raw(b, key, strlen(key));
    sxp_buf_raw(b, "\":", 2);
}

void
sxp_jb_str(struct sxp_buf *b, sx_str s)
{
    size_t need, n;

    jb_value(b);
    if (s.len > SXP_BUF_MAX / 6) {
        if (b->rc == SX_OK)
            b->rc = SX_E_LIMIT;
        return;
    }
    need = s.len * 6 + 3;                  /* worst case: every byte as \u00XX, quotes, NUL */
    if (!buf_reserve(b, need))
        return;
    n = sx_json_quote(s, b->p + b->len, b->cap - b->len);
    if (n == 0) {
        /* The only way it fails with enough room: not valid UTF-8. */
        if (b->rc == SX_OK)
            b->rc = SX_E_PROTOCOL;
        return;
    }
    b->len += n;
}

void
sxp_jb_i64(struct sxp_buf *b, int64_t v)
{
    char num[32];
    int  n = snprintf(num, sizeof(num), "%lld", (long long)v);

    jb_value(b);
    sxp_buf_raw(b, num, (size_t)n);
}

void
sxp_jb_bool(struct sxp_buf *b, int v)
{
    jb_value(b);
    if (v)
        sxp_buf_raw(b, "true", 4);
    else
        sxp_buf_raw(b, "false", 5);
}

void
sxp_jb_null(struct sxp_buf *b)
{
    jb_value(b);
    sxp_buf_raw(b, "null", 4);
}

void
sxp_jb_json(struct sxp_buf *b, sx_str json)
{
    jb_value(b);
    sxp_buf_raw(b, json.ptr, json.len);
}

int
sxp_buf_done(struct sxp_buf *b, sx_str *out)
{
    if (b->rc != SX_OK)
        return b->rc;
    if (b->depth != 0 || b->len == 0)
        return SX_E_INTERNAL;
    out->ptr = b->p;
    out->len = b->len;
    return SX_OK;
}

int
sxp_rate_ppm(sx_str t, int64_t *out)
{
    const char *p = t.ptr, *end = t.ptr + t.len;
    char        digits[64];
    size_t      nd = 0;
    long        point = 0, exp = 0, shift;
    int         seen_dot = 0, any = 0, eneg = 0, edigits = 0;
    int64_t     v = 0;
    long        i;
    int         round_up = 0;

    if (t.ptr == NULL || t.len == 0 || t.len > 40)
        return SX_E_INVALID;
    if (*p == '-' || *p == '+') {
        if (*p == '-')
            return SX_E_INVALID;       /* a negative tax rate is not a rate */
        p++;
    }
    /* Mantissa: keep up to 40 significant digits, note where the point is. */
    for (; p < end && ((*p >= '0' && *p <= '9') || *p == '.'); p++) {
        if (*p == '.') {
            if (seen_dot)
                return SX_E_INVALID;
            seen_dot = 1;
            continue;
        }
        any = 1;
        if (nd == 0 && *p == '0') {
            if (seen_dot)
                point--;               /* leading zeros after the point shift the scale */
            continue;
        }
        if (nd >= sizeof(digits))
            return SX_E_INVALID;
        digits[nd++] = *p;
        if (!seen_dot)
            point++;
    }
    if (!any)
        return SX_E_INVALID;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '-' || *p == '+')) {
            eneg = *p == '-';
            p++;
        }
        for (; p < end && *p >= '0' && *p <= '9'; p++) {
            if (++edigits > 3)
                return SX_E_INVALID;
            exp = exp * 10 + (*p - '0');
        }
        if (edigits == 0)
            return SX_E_INVALID;
        if (eneg)
            exp = -exp;
    }
    if (p != end)
        return SX_E_INVALID;
    /* value = 0.d1d2d3... * 10^(point + exp); ppm = value * 10^6. */
    shift = point + exp + 6;           /* how many of the digits are before the ppm point */
    if (nd == 0) {
        *out = 0;
        return SX_OK;
    }
    if (shift > 12)
        return SX_E_INVALID;           /* a rate above 10^6 (100,000,000 %) is nonsense */
    for (i = 0; i < shift; i++)
        v = v * 10 + ((size_t)i < nd ? digits[i] - '0' : 0);
    /* Half up on the first dropped digit (a rate is never negative). */
    if (shift >= 0 && (size_t)shift < nd && digits[shift] >= '5')
        round_up = 1;
    *out = v + round_up;
    return SX_OK;
}

void
sxp_form_encode(struct sxp_buf *b, sx_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t            i;

    for (i = 0; i < s.len && b->rc == SX_OK; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char          esc[3];

        if (sxp_is_alnum((char)c) || c == '*' || c == '-' || c == '.' || c == '_') {
            sxp_buf_raw(b, (const char *)&c, 1);
        } else if (c == ' ') {
            sxp_buf_raw(b, "+", 1);
        } else {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 15];
            sxp_buf_raw(b, esc, 3);
        }
    }
}


/* ---- reading a platform record ------------------------------------------------------------ */

int
sxp_get_str(const sx_host_api *h, const sx_json *o, const char *key, sx_str *out)
{
    return h->json_string(h->json_get(o, key), out) == SX_OK;
}

int
sxp_get_nonempty(const sx_host_api *h, const sx_json *o, const char *key, sx_str *out)
{
    return sxp_get_str(h, o, key, out) && out->len > 0;
}

void
sxp_jb_kstr(struct sxp_buf *b, const char *key, sx_str s)
{
    sxp_jb_key(b, key);
    sxp_jb_str(b, s);
}

void
sxp_jb_ki64(struct sxp_buf *b, const char *key, int64_t v)
{
    sxp_jb_key(b, key);
    sxp_jb_i64(b, v);
}

void
sxp_copy_str(struct sxp_buf *b, const sx_host_api *h, const sx_json *o, const char *pkey,
             const char *ckey)
{
    const sx_json *v = h->json_get(o, pkey);
    sx_str         s;

    if (h->json_string(v, &s) == SX_OK && s.len > 0) {
        sxp_jb_kstr(b, ckey, s);
    } else if (h->json_type(v) == SX_JSON_NULL || h->json_type(v) == SX_JSON_STRING) {
        sxp_jb_key(b, ckey);
        sxp_jb_null(b);
    }
}

void
sxp_put_str(struct sxp_buf *b, const sx_host_api *h, const sx_json *o, const char *pkey,
            const char *ckey)
{
    sx_str s;

    if (sxp_get_nonempty(h, o, pkey, &s))
        sxp_jb_kstr(b, ckey, s);
}
