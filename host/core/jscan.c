/* The allocation-free JSON scanner; see jscan.h. */
#include "core/jscan.h"
#include "core/buf.h"

#include <string.h>

struct scan {
    const char *p;
    const char *end;
    const char *text;
    int         max_depth;
    const char *why;
};

static int
fail(struct scan *s, const char *why)
{
    if (s->why == NULL)
        s->why = why;
    return -1;
}

static void
skip_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

/* The code unit of the four hex digits at p (before end), or -1 when they are not there. */
static long
hex4(const char *p, const char *end)
{
    long v = 0;
    int  i, d;

    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        if ((d = hub_hex_digit((unsigned char)p[i])) < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* s->p at the opening quote; leaves s->p after the closing one. *escaped: a backslash seen. */
static int
scan_string(struct scan *s, int *escaped)
{
    s->p++;
    while (s->p < s->end) {
        unsigned char c = (unsigned char)*s->p;

        if (c == '"') {
            s->p++;
            return 0;
        }
        if (c < 0x20)
            return fail(s, "raw control character in a string");
        if (c == '\\') {
            if (escaped != NULL)
                *escaped = 1;
            if (s->end - s->p < 2)
                return fail(s, "unterminated string");
            switch (s->p[1]) {
            case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
                s->p += 2;
                break;
            case 'u':
                if (hex4(s->p + 2, s->end) < 0)
                    return fail(s, "bad \\u escape");
                s->p += 6;
                break;
            default:
                return fail(s, "bad escape in a string");
            }
            continue;
        }
        s->p++;
    }
    return fail(s, "unterminated string");
}

static int
digits(struct scan *s)
{
    const char *b = s->p;

    while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
        s->p++;
    return s->p > b ? 0 : fail(s, "bad number");
}

static int
scan_number(struct scan *s)
{
    if (*s->p == '-')
        s->p++;
    if (s->p >= s->end)
        return fail(s, "bad number");
    if (*s->p == '0') {
        s->p++;
    } else if (digits(s) < 0) {
        return -1;
    }
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (digits(s) < 0)
            return -1;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (digits(s) < 0)
            return -1;
    }
    return 0;
}

static int
literal(struct scan *s, const char *word, size_t n)
{
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    return 0;
}

static int scan_value(struct scan *s, int depth, int *type);

/* Object or array body after its opening bracket, members listed when m != NULL. */
static int
scan_container(struct scan *s, int depth, int is_object, struct hub_jscan_member *m,
               size_t cap, size_t *n, int *over)
{
    char close = is_object ? '}' : ']';
    int  type;

    if (depth > s->max_depth)
        return fail(s, "nested too deep");
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == close) {
        s->p++;
        return 0;
    }
    for (;;) {
        struct hub_jscan_member mem;

        skip_ws(s);
        if (s->p >= s->end)
            return fail(s, "unexpected end");
        memset(&mem, 0, sizeof(mem));
        mem.start = s->p;
        if (is_object) {
            if (*s->p != '"')
                return fail(s, "expected a key");
            mem.key = s->p + 1;
            if (scan_string(s, &mem.key_escaped) < 0)
                return -1;
            mem.key_len = (size_t)(s->p - 1 - mem.key);
            skip_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return fail(s, "expected ':'");
            s->p++;
            skip_ws(s);
        }
        mem.val = s->p;
        if (scan_value(s, depth, &type) < 0)
            return -1;
        mem.val_len = (size_t)(s->p - mem.val);
        mem.type = type;
        if (m != NULL) {
            if (*n < cap)
                m[*n] = mem;
            else
                *over = 1;
            (*n)++;
        }
        skip_ws(s);
        if (s->p >= s->end)
            return fail(s, "unexpected end");
        if (*s->p == ',') {
            s->p++;
            continue;
        }
        if (*s->p == close) {
            s->p++;
            return 0;
        }
        return fail(s, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int
scan_value(struct scan *s, int depth, int *type)
{
    if (s->p >= s->end)
        return fail(s, "unexpected end");
    switch (*s->p) {
    case '{':
        *type = HUB_JSCAN_OBJECT;
        return scan_container(s, depth + 1, 1, NULL, 0, NULL, NULL);
    case '[':
        *type = HUB_JSCAN_ARRAY;
        return scan_container(s, depth + 1, 0, NULL, 0, NULL, NULL);
    case '"':
        *type = HUB_JSCAN_STRING;
        return scan_string(s, NULL);
    case 't':
        *type = HUB_JSCAN_TRUE;
        return literal(s, "true", 4);
    case 'f':
        *type = HUB_JSCAN_FALSE;
        return literal(s, "false", 5);
    case 'n':
        *type = HUB_JSCAN_NULL;
        return literal(s, "null", 4);
    default:
        *type = HUB_JSCAN_NUMBER;
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return scan_number(s);
        return fail(s, "unexpected character");
    }
}

static int
scan_top(const char *text, size_t len, int max_depth, int is_object, struct hub_jscan_member *m,
         size_t cap, size_t *n, struct hub_error *err)
{
    struct scan s;
    int         over = 0;

    *n = 0;
    s.text = text;
    s.p = text;
    s.end = text + len;
    s.max_depth = max_depth;
    s.why = NULL;
    skip_ws(&s);
    if (s.p >= s.end || *s.p != (is_object ? '{' : '['))
        return hub_error_set(err, HUB_E_INVALID, is_object ? "not a JSON object"
                                                           : "not a JSON array");
    if (scan_container(&s, 1, is_object, m, cap, n, &over) < 0)
        return hub_error_set(err, HUB_E_INVALID, "invalid JSON at byte %zu: %s",
                             (size_t)(s.p - text), s.why != NULL ? s.why : "?");
    skip_ws(&s);
    if (s.p != s.end)
        return hub_error_set(err, HUB_E_INVALID, "invalid JSON at byte %zu: text after the "
                             "%s", (size_t)(s.p - text), is_object ? "object" : "array");
    if (over)
        return hub_error_set(err, HUB_E_LIMIT, "JSON %s with more than %zu %s",
                             is_object ? "object" : "array", cap,
                             is_object ? "members" : "elements");
    return 0;
}

int
hub_jscan_object(const char *text, size_t len, int max_depth, struct hub_jscan_member *m,
                 size_t cap, size_t *n, struct hub_error *err)
{
    return scan_top(text, len, max_depth, 1, m, cap, n, err);
}

int
hub_jscan_array(const char *text, size_t len, int max_depth, struct hub_jscan_member *m,
                size_t cap, size_t *n, struct hub_error *err)
{
    return scan_top(text, len, max_depth, 0, m, cap, n, err);
}

static size_t
put_utf8(char *out, long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

ssize_t
hub_jscan_string(const char *val, size_t val_len, char *out, size_t cap)
{
    const char *p, *end;
    size_t      o = 0;

    if (cap == 0 || val_len < 2 || val[0] != '"' || val[val_len - 1] != '"')
        return -1;
    p = val + 1;
    end = val + val_len - 1;
    while (p < end) {
        char   tmp[4];
        size_t k = 1;
        long   cp;

        if (*p != '\\') {
            tmp[0] = *p++;
        } else if (p + 1 >= end) {
            return -1;
        } else if (p[1] != 'u') {
            switch (p[1]) {
            case 'b': tmp[0] = '\b'; break;
            case 'f': tmp[0] = '\f'; break;
            case 'n': tmp[0] = '\n'; break;
            case 'r': tmp[0] = '\r'; break;
            case 't': tmp[0] = '\t'; break;
            case '"': case '\\': case '/': tmp[0] = p[1]; break;
            default: return -1;
            }
            p += 2;
        } else {
            long lo;

            if ((cp = hex4(p + 2, end)) < 0)
                return -1;
            p += 6;
            if (cp >= 0xd800 && cp <= 0xdbff && end - p >= 6 && p[0] == '\\' && p[1] == 'u' &&
                (lo = hex4(p + 2, end)) >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            } else if (cp >= 0xd800 && cp <= 0xdfff) {
                cp = 0xfffd;
            }
            if (cp == 0)
                return -1;
            k = put_utf8(tmp, cp);
        }
        if (o + k >= cap)
            return -1;
        memcpy(out + o, tmp, k);
        o += k;
    }
    out[o] = '\0';
    return (ssize_t)o;
}

const struct hub_jscan_member *
hub_jscan_find(const struct hub_jscan_member *m, size_t n, const char *key)
{
    size_t klen = strlen(key), i;

    for (i = n; i-- > 0;) {
        if (!m[i].key_escaped) {
            if (m[i].key_len == klen && memcmp(m[i].key, key, klen) == 0)
                return &m[i];
        } else {
            char    buf[256];
            ssize_t got = hub_jscan_string(m[i].key - 1, m[i].key_len + 2, buf, sizeof(buf));

            if (got == (ssize_t)klen && memcmp(buf, key, klen) == 0)
                return &m[i];
        }
    }
    return NULL;
}

int
hub_jscan_find_str(const struct hub_jscan_member *m, size_t n, const char *key, char *out,
                   size_t cap)
{
    const struct hub_jscan_member *v = hub_jscan_find(m, n, key);

    if (v == NULL || v->type != HUB_JSCAN_STRING)
        return -1;
    return hub_jscan_string(v->val, v->val_len, out, cap) < 0 ? -1 : 0;
}
