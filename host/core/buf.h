/*
 * Bounded growable byte buffer (curl's dynbuf): refuses to grow past its cap, so outside input
 * can never make it unbounded. Always NUL-terminated after a successful append.
 */
#ifndef HUB_CORE_BUF_H
#define HUB_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct hub_buf {
    char  *data;     /* NULL until the first append; owned, freed by hub_buf_free */
    size_t len;
    size_t alloc;
    size_t cap;      /* maximum len; appends beyond it fail with HUB_E_LIMIT */
};

void hub_buf_init(struct hub_buf *b, size_t cap);
void hub_buf_free(struct hub_buf *b);
void hub_buf_reset(struct hub_buf *b);            /* len = 0, keeps the memory */
/* 0, HUB_E_LIMIT (over cap, nothing appended) or HUB_E_NOMEM. */
int  hub_buf_append(struct hub_buf *b, const void *data, size_t len);
int  hub_buf_puts(struct hub_buf *b, const char *s);
int  hub_buf_printf(struct hub_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int  hub_buf_vprintf(struct hub_buf *b, const char *fmt, va_list ap);
/* Append `s` as a JSON string literal, quotes included, escaping as RFC 8259 requires. */
int  hub_buf_json_str(struct hub_buf *b, const char *s, size_t len);
/* The value of one hex digit (either case), or -1. */
int  hub_hex_digit(int c);
/* Take ownership of the data (caller frees with free()); the buffer becomes empty. */
char *hub_buf_steal(struct hub_buf *b, size_t *len);

#endif
