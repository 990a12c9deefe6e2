/*
 * Reading canonical records in connector mapping tests: a member by a dotted path
 * ("lines.1.taxes.0.rate_ppm": object keys and array indexes) through the host's JSON views.
 * A test defines `h` (the host table) and uses at(), I() and S().
 */
#ifndef SX_TEST_JPATH_H
#define SX_TEST_JPATH_H

#include <simplix/simplix.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ABSENT_I64 (-987654321LL)

static inline const sx_json *
jpath_at(const sx_host_api *hh, const sx_json *j, const char *path)
{
    char        key[64];
    const char *p = path;

    while (j != NULL && *p != '\0') {
        size_t n = strcspn(p, ".");

        snprintf(key, sizeof(key), "%.*s", (int)n, p);
        if (hh->json_type(j) == SX_JSON_ARRAY)
            j = hh->json_at(j, (size_t)strtoul(key, NULL, 10));
        else
            j = hh->json_get(j, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return j;
}

/* An integer member, or ABSENT_I64. */
static inline long long
jpath_i64(const sx_host_api *hh, const sx_json *j, const char *path)
{
    const sx_json *v = jpath_at(hh, j, path);
    int64_t        x;

    if (hh->json_type(v) != SX_JSON_INT || hh->json_int64(v, &x) != SX_OK)
        return ABSENT_I64;
    return x;
}

/* A string member as C text ("(absent)", "(null)", "(not a string)" otherwise). The hub's
 * json_get answers NULL for a member whose value is null (json-c keeps null as a NULL
 * pointer), so a null reads as "(absent)": check nulls in the record's text. */
static inline const char *
jpath_str(const sx_host_api *hh, const sx_json *j, const char *path)
{
    static char    bufs[8][512];
    static int     next;
    const sx_json *v = jpath_at(hh, j, path);
    sx_str         s;
    char          *out = bufs[next++ % 8];

    if (v == NULL)
        return "(absent)";
    if (hh->json_type(v) == SX_JSON_NULL)
        return "(null)";
    if (hh->json_string(v, &s) != SX_OK)
        return "(not a string)";
    snprintf(out, 512, SX_STR_FMT, SX_STR_ARG(s));
    return out;
}

#define at(j, path) jpath_at(h, (j), (path))
#define I(j, path)  jpath_i64(h, (j), (path))
#define S(j, path)  jpath_str(h, (j), (path))

#endif
