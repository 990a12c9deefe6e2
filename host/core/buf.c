#include "core/buf.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hub_buf_init(struct hub_buf *b, size_t cap)
{
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    b->cap = cap;
}

void
hub_buf_free(struct hub_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
}

void
hub_buf_reset(struct hub_buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

static int
buf_reserve(struct hub_buf *b, size_t extra)
{
    size_t want, n;
    char  *p;

    if (extra > b->cap || b->len > b->cap - extra)
        return HUB_E_LIMIT;
    want = b->len + extra + 1;
    if (want <= b->alloc)
        return 0;
    n = b->alloc ? b->alloc : 256;
    while (n < want)
        n *= 2;
    if (n > b->cap + 1)
        n = b->cap + 1;
    p = realloc(b->data, n);
    if (p == NULL)
        return HUB_E_NOMEM;
    b->data = p;
    b->alloc = n;
    return 0;
}

int
hub_buf_append(struct hub_buf *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);

    if (rc < 0)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int
hub_buf_puts(struct hub_buf *b, const char *s)
{
    return hub_buf_append(b, s, strlen(s));
}

int
hub_buf_vprintf(struct hub_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int     n, rc;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return HUB_E_INVALID;
    rc = buf_reserve(b, (size_t)n);
    if (rc < 0)
        return rc;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
hub_buf_printf(struct hub_buf *b, const char *fmt, ...)
{
    va_list ap;
    int     rc;

    va_start(ap, fmt);
    rc = hub_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int
hub_buf_json_str(struct hub_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t            i, start = 0;
    int               rc;
    char              esc[7];

    rc = hub_buf_append(b, "\"", 1);
    for (i = 0; rc == 0 && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char   *rep = NULL;
        size_t        replen = 2;

        switch (c) {
        case '"':  rep = "\\\""; break;
        case '\\': rep = "\\\\"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                esc[0] = '\\';
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                rep = esc;
                replen = 6;
            }
        }
        if (rep == NULL)
            continue;
        rc = hub_buf_append(b, s + start, i - start);
        if (rc == 0)
            rc = hub_buf_append(b, rep, replen);
        start = i + 1;
    }
    if (rc == 0)
        rc = hub_buf_append(b, s + start, len - start);
    if (rc == 0)
        rc = hub_buf_append(b, "\"", 1);
    return rc;
}

char *
hub_buf_steal(struct hub_buf *b, size_t *len)
{
    char *p = b->data;

    if (len != NULL)
        *len = b->len;
    b->data = NULL;
    b->len = 0;
    b->alloc = 0;
    return p;
}

int
hub_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
