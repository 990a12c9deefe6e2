/*
 * Shopify connector: the JSON writer over the call arena and the pure parsers of Shopify's
 * wire formats (Link header, call-limit header, shop domain, tax rates, tags, form encoding).
 * No I/O here; everything with outside input is bounded and fuzzed (tests/fuzz/fuzz_shopify.c).
 */
#include "shopify_internal.h"

#include <stdio.h>
#include <string.h>

/* ---- JSON writer ----------------------------------------------------------------------------- */

void
shp_buf_init(struct shp_buf *b, sx_ctx *cx)
{
    memset(b, 0, sizeof(*b));
    b->cx = cx;
}

/* Make room for `need` more bytes plus a NUL. The arena never frees, so the old block is
 * simply abandoned; doubling keeps the waste under the final size. */
static int
buf_reserve(struct shp_buf *b, size_t need)
{
    size_t cap;
    char  *p;

    if (b->rc != SX_OK)
        return 0;
    if (need > SHP_BUF_MAX || b->len + need + 1 > SHP_BUF_MAX) {
        b->rc = SX_E_LIMIT;
        return 0;
    }
    if (b->len + need + 1 <= b->cap)
        return 1;
    cap = b->cap ? b->cap : 1024;
    while (cap < b->len + need + 1)
        cap *= 2;
    if (cap > SHP_BUF_MAX)
        cap = SHP_BUF_MAX;
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
shp_buf_raw(struct shp_buf *b, const char *s, size_t len)
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
jb_value(struct shp_buf *b)
{
    if (b->depth > 0 && b->is_arr[b->depth - 1]) {
        if (b->has[b->depth - 1])
            shp_buf_raw(b, ",", 1);
        b->has[b->depth - 1] = 1;
    }
}

static void
jb_open(struct shp_buf *b, char c, int arr)
{
    jb_value(b);
    if (b->depth >= SHP_JB_DEPTH) {
        if (b->rc == SX_OK)
            b->rc = SX_E_LIMIT;
        return;
    }
    shp_buf_raw(b, &c, 1);
    b->is_arr[b->depth] = (uint8_t)arr;
    b->has[b->depth] = 0;
    b->depth++;
}

static void
jb_close(struct shp_buf *b, char c)
{
    if (b->depth == 0) {
        if (b->rc == SX_OK)
            b->rc = SX_E_INTERNAL;
        return;
    }
    b->depth--;
    shp_buf_raw(b, &c, 1);
}

void
shp_jb_obj(struct shp_buf *b)
{
    jb_open(b, '{', 0);
}

void
shp_jb_obj_end(struct shp_buf *b)
{
    jb_close(b, '}');
}

void
shp_jb_arr(struct shp_buf *b)
{
    jb_open(b, '[', 1);
}

void
shp_jb_arr_end(struct shp_buf *b)
{
    jb_close(b, ']');
}

void
shp_jb_key(struct shp_buf *b, const char *key)
{
    if (b->depth > 0) {
        if (b->has[b->depth - 1])
            shp_buf_raw(b, ",", 1);
        b->has[b->depth - 1] = 1;
    }
    shp_buf_raw(b, "\"", 1);
    shp_buf_raw(b, key, strlen(key));
    shp_buf_raw(b, "\":", 2);
}

void
shp_jb_str(struct shp_buf *b, sx_str s)
{
    size_t need, n;

    jb_value(b);
    if (s.len > SHP_BUF_MAX / 6) {
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
shp_jb_i64(struct shp_buf *b, int64_t v)
{
    char num[32];
    int  n = snprintf(num, sizeof(num), "%lld", (long long)v);

    jb_value(b);
    shp_buf_raw(b, num, (size_t)n);
}

void
shp_jb_bool(struct shp_buf *b, int v)
{
    jb_value(b);
    if (v)
        shp_buf_raw(b, "true", 4);
    else
        shp_buf_raw(b, "false", 5);
}

void
shp_jb_null(struct shp_buf *b)
{
    jb_value(b);
    shp_buf_raw(b, "null", 4);
}

void
shp_jb_json(struct shp_buf *b, sx_str json)
{
    jb_value(b);
    shp_buf_raw(b, json.ptr, json.len);
}

int
shp_buf_done(struct shp_buf *b, sx_str *out)
{
    if (b->rc != SX_OK)
        return b->rc;
    if (b->depth != 0 || b->len == 0)
        return SX_E_INTERNAL;
    out->ptr = b->p;
    out->len = b->len;
    return SX_OK;
}

/* ---- Link header ------------------------------------------------------------------------------ */

static const char *
find_mem(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
    size_t i;

    if (nlen == 0 || hlen < nlen)
        return NULL;
    for (i = 0; i + nlen <= hlen; i++) {
        if (hay[i] == needle[0] && memcmp(hay + i, needle, nlen) == 0)
            return hay + i;
    }
    return NULL;
}

int
shp_cursor_valid(sx_str c)
{
    size_t i;

    if (c.ptr == NULL || c.len == 0 || c.len > SHP_CURSOR_MAX)
        return 0;
    for (i = 0; i < c.len; i++) {
        char ch = c.ptr[i];

        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '%' || ch == '.' || ch == '_' || ch == '~' || ch == '+' || ch == '=' ||
              ch == '-'))
            return 0;
    }
    return 1;
}

/* page_info=... from the query of `url`, borrowed. */
static int
url_page_info(sx_str url, sx_str *out)
{
    const char *q = memchr(url.ptr, '?', url.len);
    const char *end = url.ptr + url.len, *p, *v, *amp;

    if (q == NULL)
        return SX_E_PROTOCOL;
    /* Drop a fragment, if any. */
    p = memchr(q, '#', (size_t)(end - q));
    if (p != NULL)
        end = p;
    p = q + 1;
    while (p < end) {
        amp = memchr(p, '&', (size_t)(end - p));
        if (amp == NULL)
            amp = end;
        if ((size_t)(amp - p) > 10 && memcmp(p, "page_info=", 10) == 0) {
            v = p + 10;
            out->ptr = v;
            out->len = (size_t)(amp - v);
            return shp_cursor_valid(*out) ? SX_OK : SX_E_PROTOCOL;
        }
        p = amp + 1;
    }
    return SX_E_PROTOCOL;
}

int
shp_link_next(sx_str link, sx_str *page_info)
{
    const char *p, *end, *part_end, *lt, *gt, *rel, *q;
    size_t      parts = 0;

    page_info->ptr = NULL;
    page_info->len = 0;
    if (link.ptr == NULL || link.len == 0)
        return SX_E_NOT_FOUND;
    if (link.len > SHP_LINK_MAX)
        return SX_E_PROTOCOL;
    p = link.ptr;
    end = link.ptr + link.len;
    /* shopify-api-js: header.split(', '), then /<([^<]+)>; rel="([^"]+)"/ on each part. */
    while (p < end) {
        if (++parts > 64)
            return SX_E_PROTOCOL;
        part_end = find_mem(p, (size_t)(end - p), ", ", 2);
        if (part_end == NULL)
            part_end = end;
        lt = memchr(p, '<', (size_t)(part_end - p));
        if (lt == NULL)
            return SX_E_PROTOCOL;
        /* [^<]+ is greedy: the URL runs to the last '>; rel="' with no '<' in between. */
        gt = NULL;
        for (q = lt + 1; q < part_end && *q != '<'; q++) {
            if (*q == '>' && (size_t)(part_end - q) >= 8 && memcmp(q, ">; rel=\"", 8) == 0)
                gt = q;
        }
        if (gt == NULL || gt == lt + 1)
            return SX_E_PROTOCOL;
        rel = gt + 8;
        q = memchr(rel, '"', (size_t)(part_end - rel));
        if (q == NULL || q == rel)
            return SX_E_PROTOCOL;
        if ((size_t)(q - rel) == 4 && memcmp(rel, "next", 4) == 0)
            return url_page_info((sx_str){ lt + 1, (size_t)(gt - lt - 1) }, page_info);
        p = part_end == end ? end : part_end + 2;
    }
    return SX_E_NOT_FOUND;
}

/* ---- small formats ---------------------------------------------------------------------------- */

static int
parse_u32(const char *p, const char *end, uint32_t *out)
{
    uint64_t v = 0;

    if (p >= end || end - p > 9)
        return 0;
    for (; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = (uint32_t)v;
    return 1;
}

int
shp_call_limit_parse(sx_str v, uint32_t *used, uint32_t *limit)
{
    const char *slash, *b = v.ptr, *e = v.ptr + v.len;

    if (v.ptr == NULL || v.len == 0 || v.len > 32)
        return SX_E_PROTOCOL;
    while (b < e && *b == ' ')
        b++;
    while (e > b && e[-1] == ' ')
        e--;
    slash = memchr(b, '/', (size_t)(e - b));
    if (slash == NULL || !parse_u32(b, slash, used) || !parse_u32(slash + 1, e, limit) ||
        *limit == 0)
        return SX_E_PROTOCOL;
    return SX_OK;
}

static int
is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

int
shp_domain_valid(sx_str shop)
{
    static const char suffix[] = ".myshopify.com";
    const size_t      slen = sizeof(suffix) - 1;
    size_t            i, n;

    if (shop.ptr == NULL || shop.len <= slen || shop.len > 255)
        return 0;
    n = shop.len - slen;
    if (memcmp(shop.ptr + n, suffix, slen) != 0)
        return 0;
    if (!is_alnum(shop.ptr[0]))
        return 0;
    for (i = 1; i < n; i++) {
        if (!is_alnum(shop.ptr[i]) && shop.ptr[i] != '-' && shop.ptr[i] != '_')
            return 0;
    }
    return 1;
}

int
shp_rate_ppm(sx_str t, int64_t *out)
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
shp_form_encode(struct shp_buf *b, sx_str s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t            i;

    for (i = 0; i < s.len && b->rc == SX_OK; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        char          esc[3];

        if (is_alnum((char)c) || c == '*' || c == '-' || c == '.' || c == '_') {
            shp_buf_raw(b, (const char *)&c, 1);
        } else if (c == ' ') {
            shp_buf_raw(b, "+", 1);
        } else {
            esc[0] = '%';
            esc[1] = hex[c >> 4];
            esc[2] = hex[c & 15];
            shp_buf_raw(b, esc, 3);
        }
    }
}

void
shp_jb_tags(struct shp_buf *b, sx_str tags)
{
    const char *p = tags.ptr, *end = tags.ptr + tags.len, *comma, *s, *e;
    size_t      n = 0;

    shp_jb_arr(b);
    while (p != NULL && p < end && b->rc == SX_OK) {
        comma = memchr(p, ',', (size_t)(end - p));
        e = comma != NULL ? comma : end;
        s = p;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            if (++n > SHP_MAX_ITEMS) {
                b->rc = SX_E_LIMIT;
                break;
            }
            shp_jb_str(b, (sx_str){ s, (size_t)(e - s) });
        }
        p = comma != NULL ? comma + 1 : end;
    }
    shp_jb_arr_end(b);
}
