/*
 * Shopify connector: the JSON writer over the call arena and the pure parsers of Shopify's
 * wire formats (Link header, call-limit header, shop domain, tax rates, tags, form encoding).
 * No I/O here; everything with outside input is bounded and fuzzed (tests/fuzz/fuzz_shopify.c).
 */
#include "shopify_internal.h"

#include <stdio.h>
#include <string.h>

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

void
shp_jb_tags(struct sxp_buf *b, sx_str tags)
{
    const char *p = tags.ptr, *end = tags.ptr + tags.len, *comma, *s, *e;
    size_t      n = 0;

    sxp_jb_arr(b);
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
            sxp_jb_str(b, (sx_str){ s, (size_t)(e - s) });
        }
        p = comma != NULL ? comma + 1 : end;
    }
    sxp_jb_arr_end(b);
}
