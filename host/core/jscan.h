/*
 * A validating JSON scanner that allocates nothing: it checks that a text is one JSON object
 * (RFC 8259, strict: no comments, no trailing commas, no raw control characters in strings,
 * bounded nesting) and lists the spans of its top-level members, without building a tree.
 *
 * The sync engine reads a handful of top-level fields of every record a connector emits
 * (external_id, updated_at, ...) and hashes the record without its "raw" member. Parsing the
 * whole record with json-c for that cost more than the connector's own mapping (the record
 * carries the platform's copy, several KB); this scanner reads it once, in place.
 *
 * Bytes >= 0x80 are passed through as they are (UTF-8 is PostgreSQL's to check).
 */
#ifndef HUB_CORE_JSCAN_H
#define HUB_CORE_JSCAN_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

enum hub_jscan_type {
    HUB_JSCAN_STRING = 's',
    HUB_JSCAN_NUMBER = 'n',
    HUB_JSCAN_OBJECT = 'o',
    HUB_JSCAN_ARRAY = 'a',
    HUB_JSCAN_TRUE = 't',
    HUB_JSCAN_FALSE = 'f',
    HUB_JSCAN_NULL = 'z',
};

/* One top-level member (or array element). Spans point into the scanned text. */
struct hub_jscan_member {
    const char *start;      /* the member's first byte: the key's opening quote */
    const char *key;        /* the key between its quotes, escapes not decoded */
    size_t      key_len;
    const char *val;        /* the value's text (a string with its quotes) */
    size_t      val_len;
    int         key_escaped; /* the key contains a backslash escape */
    int         type;       /* enum hub_jscan_type */
};

/*
 * Check that text[0..len) is exactly one JSON object, nested at most max_depth deep, with
 * whitespace allowed around it, and list its top-level members in m[0..cap) in text order.
 * 0 with *n set; HUB_E_INVALID with the reason and the byte offset; HUB_E_LIMIT when the
 * object has more than cap members.
 */
int hub_jscan_object(const char *text, size_t len, int max_depth, struct hub_jscan_member *m,
                     size_t cap, size_t *n, struct hub_error *err);

/* The same for one JSON array: its elements in m[0..cap) (key NULL, start == val). */
int hub_jscan_array(const char *text, size_t len, int max_depth, struct hub_jscan_member *m,
                    size_t cap, size_t *n, struct hub_error *err);

/*
 * Decode a string value (its text with the quotes, as listed by hub_jscan_object) into out,
 * NUL-terminated. The number of bytes written without the NUL, or -1 when it does not fit
 * in cap - 1 bytes or decodes to a NUL byte (\u0000). Surrogate pairs become one UTF-8
 * sequence; a lone surrogate becomes U+FFFD, as json-c does.
 */
ssize_t hub_jscan_string(const char *val, size_t val_len, char *out, size_t cap);

/* The last member named `key` (json-c keeps the last of duplicate keys), or NULL. Keys
 * written with escapes are decoded before the comparison. */
const struct hub_jscan_member *hub_jscan_find(const struct hub_jscan_member *m, size_t n,
                                              const char *key);

/* The string member `key` decoded into out (cap bytes): 0, or -1 when absent, not a string,
 * too long or holding \u0000. */
int hub_jscan_find_str(const struct hub_jscan_member *m, size_t n, const char *key, char *out,
                       size_t cap);

#endif
