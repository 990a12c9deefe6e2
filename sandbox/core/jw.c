/*
 * Streaming JSON writer (see sbx.h). Output is compact; strings are escaped per RFC 8259 with
 * UTF-8 passed through unchanged, and '/' is not escaped (as Shopify's Rails encoder does not).
 */
#include "sbx.h"

#include <inttypes.h>
#include <stdio.h>
#include <stddef.h>
#include <string.h>

void
sbx_jw_flush(struct sbx_jw *w)
{
    if (w->blen > 0)
        evbuffer_add(w->out, w->buf, w->blen);
    w->blen = 0;
}

/* evbuffer_add per token is the hot spot of a 250-order page: stage locally instead. */
static void
jw_put(struct sbx_jw *w, const void *data, size_t len)
{
    if (w->blen + len > sizeof(w->buf)) {
        sbx_jw_flush(w);
        if (len > sizeof(w->buf)) {
            evbuffer_add(w->out, data, len);
            return;
        }
    }
    memcpy(w->buf + w->blen, data, len);
    w->blen += len;
}

void
sbx_jw_init(struct sbx_jw *w, struct evbuffer *out)
{
    memset(w, 0, offsetof(struct sbx_jw, buf));
    w->out = out;
    w->skip_depth = -1;
    w->filter_depth = -1;
}

void
sbx_jw_set_filter(struct sbx_jw *w, const char *fields, int depth)
{
    if (fields == NULL || fields[0] == '\0') {
        w->filter = NULL;
        w->filter_depth = -1;
        return;
    }
    w->filter = fields;
    w->filter_depth = depth;
}

static bool
field_allowed(const char *list, const char *key)
{
    size_t      klen = strlen(key);
    const char *p = list;
    const char *end;
    const char *s;
    const char *e;

    /* Comma-separated, blanks around names tolerated ("id, email"). */
    while (*p != '\0') {
        end = strchr(p, ',');
        if (end == NULL)
            end = p + strlen(p);
        s = p;
        e = end;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        if ((size_t)(e - s) == klen && memcmp(s, key, klen) == 0)
            return true;
        p = *end == ',' ? end + 1 : end;
    }
    return false;
}

/* Called before every value or key; false when output is being suppressed. */
static bool
jw_live(struct sbx_jw *w)
{
    return w->skip_depth < 0;
}

static void
jw_comma(struct sbx_jw *w)
{
    if (w->depth > 0 && w->depth < SBX_JW_MAX_DEPTH) {
        if (w->need_comma[w->depth])
            jw_put(w, ",", 1);
        w->need_comma[w->depth] = true;
    }
}

/* A scalar value finished at the current depth: end a skip that began at this depth. */
static void
jw_value_done(struct sbx_jw *w)
{
    if (w->skip_depth >= 0 && w->skip_depth == w->depth)
        w->skip_depth = -1;
    if (w->depth == 0)
        sbx_jw_flush(w);
}

/* A value right after its key takes no comma: the key wrote it. */
static void
jw_value_prefix(struct sbx_jw *w)
{
    if (w->depth > 0 && w->depth < SBX_JW_MAX_DEPTH && w->key_pending[w->depth]) {
        w->key_pending[w->depth] = false;
        return;
    }
    jw_comma(w);
}

void
sbx_jw_obj(struct sbx_jw *w)
{
    if (jw_live(w)) {
        jw_value_prefix(w);
        jw_put(w, "{", 1);
    }
    w->depth++;
    if (w->depth < SBX_JW_MAX_DEPTH) {
        w->need_comma[w->depth] = false;
        w->key_pending[w->depth] = false;
    }
}

void
sbx_jw_obj_end(struct sbx_jw *w)
{
    w->depth--;
    if (jw_live(w))
        jw_put(w, "}", 1);
    jw_value_done(w);
}

void
sbx_jw_arr(struct sbx_jw *w)
{
    if (jw_live(w)) {
        jw_value_prefix(w);
        jw_put(w, "[", 1);
    }
    w->depth++;
    if (w->depth < SBX_JW_MAX_DEPTH) {
        w->need_comma[w->depth] = false;
        w->key_pending[w->depth] = false;
    }
}

void
sbx_jw_arr_end(struct sbx_jw *w)
{
    w->depth--;
    if (jw_live(w))
        jw_put(w, "]", 1);
    jw_value_done(w);
}

static void
jw_escaped(struct sbx_jw *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t            start = 0;
    size_t            i;
    unsigned char     c;
    char              esc[6];

    jw_put(out, "\"", 1);
    for (i = 0; i < len; i++) {
        c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if (i > start)
            jw_put(out, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"':
            jw_put(out, "\\\"", 2);
            break;
        case '\\':
            jw_put(out, "\\\\", 2);
            break;
        case '\n':
            jw_put(out, "\\n", 2);
            break;
        case '\r':
            jw_put(out, "\\r", 2);
            break;
        case '\t':
            jw_put(out, "\\t", 2);
            break;
        default:
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            jw_put(out, esc, 6);
            break;
        }
    }
    if (len > start)
        jw_put(out, s + start, len - start);
    jw_put(out, "\"", 1);
}

void
sbx_jw_key(struct sbx_jw *w, const char *key)
{
    if (!jw_live(w))
        return;
    if (w->filter != NULL && w->depth == w->filter_depth && !field_allowed(w->filter, key)) {
        w->skip_depth = w->depth;
        return;
    }
    jw_comma(w);
    jw_escaped(w, key, strlen(key));
    jw_put(w, ":", 1);
    if (w->depth < SBX_JW_MAX_DEPTH)
        w->key_pending[w->depth] = true;
}

void
sbx_jw_strn(struct sbx_jw *w, const char *s, size_t len)
{
    if (jw_live(w)) {
        jw_value_prefix(w);
        jw_escaped(w, s, len);
    }
    jw_value_done(w);
}

void
sbx_jw_str(struct sbx_jw *w, const char *s)
{
    if (s == NULL) {
        sbx_jw_null(w);
        return;
    }
    sbx_jw_strn(w, s, strlen(s));
}

void
sbx_jw_raw(struct sbx_jw *w, const char *json)
{
    if (jw_live(w)) {
        jw_value_prefix(w);
        jw_put(w, json, strlen(json));
    }
    jw_value_done(w);
}

void
sbx_jw_i64(struct sbx_jw *w, int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    sbx_jw_raw(w, buf);
}

void
sbx_jw_u64(struct sbx_jw *w, uint64_t v)
{
    char buf[32];

    snprintf(buf, sizeof(buf), "%" PRIu64, v);
    sbx_jw_raw(w, buf);
}

void
sbx_jw_dbl(struct sbx_jw *w, double v)
{
    char buf[48];

    snprintf(buf, sizeof(buf), "%.6g", v);
    sbx_jw_raw(w, buf);
}

void
sbx_jw_bool(struct sbx_jw *w, bool v)
{
    sbx_jw_raw(w, v ? "true" : "false");
}

void
sbx_jw_null(struct sbx_jw *w)
{
    sbx_jw_raw(w, "null");
}

void
sbx_jw_money(struct sbx_jw *w, int64_t cents)
{
    char     buf[40];
    uint64_t a = cents < 0 ? (uint64_t)(-(cents + 1)) + 1 : (uint64_t)cents;

    snprintf(buf, sizeof(buf), "%s%" PRIu64 ".%02u", cents < 0 ? "-" : "", a / 100,
             (unsigned)(a % 100));
    sbx_jw_str(w, buf);
}

void
sbx_jw_time(struct sbx_jw *w, int64_t t, int offset_min)
{
    char buf[40];

    if (t == 0) {
        sbx_jw_null(w);
        return;
    }
    if (sbx_time_format(t, offset_min, false, buf, sizeof(buf)) == 0) {
        sbx_jw_null(w);
        return;
    }
    sbx_jw_str(w, buf);
}

void
sbx_jw_kstr(struct sbx_jw *w, const char *k, const char *s)
{
    sbx_jw_key(w, k);
    sbx_jw_str(w, s);
}

void
sbx_jw_ki64(struct sbx_jw *w, const char *k, int64_t v)
{
    sbx_jw_key(w, k);
    sbx_jw_i64(w, v);
}

void
sbx_jw_kbool(struct sbx_jw *w, const char *k, bool v)
{
    sbx_jw_key(w, k);
    sbx_jw_bool(w, v);
}

void
sbx_jw_knull(struct sbx_jw *w, const char *k)
{
    sbx_jw_key(w, k);
    sbx_jw_null(w);
}

void
sbx_jw_kmoney(struct sbx_jw *w, const char *k, int64_t cents)
{
    sbx_jw_key(w, k);
    sbx_jw_money(w, cents);
}

void
sbx_jw_ktime(struct sbx_jw *w, const char *k, int64_t t, int offset_min)
{
    sbx_jw_key(w, k);
    sbx_jw_time(w, t, offset_min);
}
